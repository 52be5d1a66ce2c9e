/*
 * check_config.c - unit tests for lib/config.c: defaults, listen syntax,
 * every kind of key error (each reported as "file:key: message", all at
 * once), tokens, and the restart-needed decision on reload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "config.h"

#define FILE_NAME "test.conf"

/* printf %s s3cret | sha256sum */
#define S3CRET_SHA256                                                          \
	"1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"
#define OTHER_SHA256                                                           \
	"0000000000000000000000000000000000000000000000000000000000000001"

/* Parse the JSON text and build a config from it; diag collects problems. */
static struct gantry_config *
load(const char *text, struct diag *d)
{
	json_error_t jerr;
	json_t *root;
	struct gantry_config *cfg;

	root = json_loads(text, JSON_DECODE_ANY, &jerr);
	ck_assert_msg(root != NULL, "bad test JSON %s: %s", text, jerr.text);
	cfg = config_from_json(root, FILE_NAME, d);
	json_decref(root);
	return cfg;
}

/* Load text, which must succeed without any message. */
static struct gantry_config *
load_ok(const char *text)
{
	struct diag d = {0};
	struct gantry_config *cfg = load(text, &d);

	ck_assert_msg(cfg != NULL, "config %s rejected: %s", text,
	    d.n ? d.msgs[0] : "(no message)");
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(d.dropped, 0);
	diag_clear(&d);
	return cfg;
}

/* Does some message of d contain want? */
static int
diag_has(const struct diag *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], want) != NULL)
			return 1;
	return 0;
}

static void
dump_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  diag[%zu] = %s\n", i, d->msgs[i]);
}

/* Load text, which must fail with exactly nmsgs messages, one of which
 * contains both the prefix "test.conf:<path>: " and what. */
static void
assert_fails(const char *text, size_t nmsgs, const char *path, const char *what)
{
	struct diag d = {0};
	struct gantry_config *cfg = load(text, &d);
	char prefix[128];
	int found = 0;

	snprintf(prefix, sizeof(prefix), FILE_NAME ":%s: ", path);
	if (cfg != NULL)
		config_free(cfg);
	ck_assert_msg(cfg == NULL, "config %s unexpectedly accepted", text);
	for (size_t i = 0; i < d.n; i++)
		if (strncmp(d.msgs[i], prefix, strlen(prefix)) == 0 &&
		    strstr(d.msgs[i], what) != NULL)
			found = 1;
	if (!found || d.n != nmsgs)
		dump_diag(&d);
	ck_assert_msg(
	    found, "config %s: no message \"%s...%s\"", text, prefix, what);
	ck_assert_msg(d.n == nmsgs, "config %s: %zu messages, want %zu", text,
	    d.n, nmsgs);
	diag_clear(&d);
}

START_TEST(test_config_new_defaults)
{
	struct gantry_config *cfg = config_new();

	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->listen, "127.0.0.1:8080");
	ck_assert_str_eq(cfg->listen_host, "127.0.0.1");
	ck_assert_int_eq(cfg->listen_port, 8080);
	ck_assert(!cfg->listen_systemd);
	ck_assert_ptr_null(cfg->database);
	ck_assert_int_eq(cfg->log_level, CONFIG_LOG_INFO);
	ck_assert_str_eq(cfg->pipelines_dir, SYSCONFDIR "/gantry/pipelines");
	ck_assert_int_eq(cfg->max_body, 1048576);
	ck_assert_int_eq(cfg->max_connections, 4000);
	ck_assert_int_eq(cfg->db_connect_timeout_ms, 5000);
	ck_assert_int_eq(cfg->db_statement_timeout_ms, 30000);
	ck_assert_int_eq(cfg->db_commit_connections, 2);
	ck_assert_ptr_null(cfg->user);
	ck_assert(!cfg->allow_root);
	ck_assert_uint_eq(cfg->ntokens, 0);
	config_free(cfg);
	config_free(NULL);
}
END_TEST

START_TEST(test_defaults_from_json)
{
	struct gantry_config *cfg =
	    load_ok("{\"database\": \"dbname=gantry\"}");

	ck_assert_str_eq(cfg->database, "dbname=gantry");
	ck_assert_str_eq(cfg->listen, "127.0.0.1:8080");
	ck_assert_str_eq(cfg->listen_host, "127.0.0.1");
	ck_assert_int_eq(cfg->listen_port, 8080);
	ck_assert(!cfg->listen_systemd);
	ck_assert_int_eq(cfg->log_level, CONFIG_LOG_INFO);
	ck_assert_str_eq(config_log_level_name(cfg->log_level), "info");
	ck_assert_int_eq(cfg->max_body, 1024 * 1024);
	ck_assert_int_eq(cfg->db_connect_timeout_ms, 5000);
	ck_assert_int_eq(cfg->db_statement_timeout_ms, 30000);
	ck_assert_int_eq(cfg->db_commit_connections, 2);
	ck_assert_int_eq(cfg->max_connections, 4000);
	ck_assert_uint_eq(cfg->ntokens, 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_every_key_set)
{
	struct gantry_config *cfg =
	    load_ok("{\"database\": \"host=db\","
	            " \"listen\": \"10.0.0.1:9090\","
	            " \"log_level\": \"debug\","
	            " \"pipelines_dir\": \"/srv/p\","
	            " \"max_body\": \"2MiB\","
	            " \"max_connections\": 16,"
	            " \"db_connect_timeout\": \"100ms\","
	            " \"db_statement_timeout\": \"1h\","
	            " \"db_commit_connections\": 16,"
	            " \"user\": \"gantry\","
	            " \"allow_root\": true,"
	            " \"tokens\": []}");

	ck_assert_str_eq(cfg->database, "host=db");
	ck_assert_str_eq(cfg->listen, "10.0.0.1:9090");
	ck_assert_str_eq(cfg->listen_host, "10.0.0.1");
	ck_assert_int_eq(cfg->listen_port, 9090);
	ck_assert_int_eq(cfg->log_level, CONFIG_LOG_DEBUG);
	ck_assert_str_eq(cfg->pipelines_dir, "/srv/p");
	ck_assert_int_eq(cfg->max_body, 2 * 1024 * 1024);
	ck_assert_int_eq(cfg->max_connections, 16);
	ck_assert_int_eq(cfg->db_connect_timeout_ms, 100);
	ck_assert_int_eq(cfg->db_statement_timeout_ms, 3600000);
	ck_assert_int_eq(cfg->db_commit_connections, 16);
	ck_assert_str_eq(cfg->user, "gantry");
	ck_assert(cfg->allow_root);
	ck_assert_uint_eq(cfg->ntokens, 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_sizes_and_bounds_accepted)
{
	struct gantry_config *cfg;

	cfg = load_ok("{\"database\": \"x\", \"max_body\": 1024,"
	              " \"max_connections\": 100000,"
	              " \"db_connect_timeout\": \"10m\"}");
	ck_assert_int_eq(cfg->max_body, 1024);
	ck_assert_int_eq(cfg->max_connections, 100000);
	ck_assert_int_eq(cfg->db_connect_timeout_ms, 600000);
	config_free(cfg);
	cfg = load_ok("{\"database\": \"x\", \"max_body\": \"64MiB\"}");
	ck_assert_int_eq(cfg->max_body, 64 * 1024 * 1024);
	config_free(cfg);
	cfg = load_ok("{\"database\": \"x\", \"max_body\": \"1KiB\"}");
	ck_assert_int_eq(cfg->max_body, 1024);
	config_free(cfg);
}
END_TEST

START_TEST(test_log_levels)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	char text[128];

	for (int i = 0; i < 4; i++) {
		struct gantry_config *cfg;

		snprintf(text, sizeof(text),
		    "{\"database\": \"x\", \"log_level\": \"%s\"}", names[i]);
		cfg = load_ok(text);
		ck_assert_int_eq(cfg->log_level, i);
		ck_assert_str_eq(config_log_level_name(i), names[i]);
		config_free(cfg);
	}
	ck_assert_str_eq(config_log_level_name(-1), "info");
	ck_assert_str_eq(config_log_level_name(4), "info");
	assert_fails("{\"database\": \"x\", \"log_level\": \"INFO\"}", 1,
	    "log_level", "must be one of error, warn, info, debug");
	assert_fails("{\"database\": \"x\", \"log_level\": \"verbose\"}", 1,
	    "log_level", "must be one of");
}
END_TEST

static const struct {
	const char *listen;
	const char *host; /* NULL: systemd */
	int port;
} good_listen[] = {
    {"[::1]:9000", "::1", 9000},
    {"0.0.0.0:0", "0.0.0.0", 0},
    {"localhost:65535", "localhost", 65535},
    {"[fe80::1%eth0]:443", "fe80::1%eth0", 443},
    {"systemd", NULL, 0},
};

START_TEST(test_listen_good)
{
	struct gantry_config *cfg;
	char text[128];

	snprintf(text, sizeof(text),
	    "{\"database\": \"x\", \"listen\": \"%s\"}",
	    good_listen[_i].listen);
	cfg = load_ok(text);
	ck_assert_str_eq(cfg->listen, good_listen[_i].listen);
	if (good_listen[_i].host == NULL) {
		ck_assert(cfg->listen_systemd);
		ck_assert_ptr_null(cfg->listen_host);
	} else {
		ck_assert(!cfg->listen_systemd);
		ck_assert_str_eq(cfg->listen_host, good_listen[_i].host);
	}
	ck_assert_int_eq(cfg->listen_port, good_listen[_i].port);
	config_free(cfg);
}
END_TEST

static const struct {
	const char *listen;
	const char *what;
} bad_listen[] = {
    {"8080", "expected HOST:PORT, [ADDRESS]:PORT or systemd"},
    {"host:", "port must be 0..65535"},
    {"host:70000", "port must be 0..65535"},
    {"host:65536", "port must be 0..65535"},
    {"host:-1", "port must be 0..65535"},
    {"host: 80", "port must be 0..65535"},
    {"host:+80", "port must be 0..65535"},
    {"host:80x", "port must be 0..65535"},
    {"host:99999999999999999999999", "port must be 0..65535"},
    {":80", "missing host"},
    {"[]:80", "missing host"},
    {"::1:80", "expected HOST:PORT"},
    {"[::1]9000", "expected [ADDRESS]:PORT"},
    {"[::1", "expected [ADDRESS]:PORT"},
    {"[::1]:", "port must be 0..65535"},
    {"", "expected HOST:PORT"},
    {"Systemd", "expected HOST:PORT"},
};

START_TEST(test_listen_bad)
{
	char text[128], what[160];

	snprintf(text, sizeof(text),
	    "{\"database\": \"x\", \"listen\": \"%s\"}", bad_listen[_i].listen);
	/* The message quotes the value, then says what is wrong. */
	snprintf(what, sizeof(what), "\"%s\": %s", bad_listen[_i].listen,
	    bad_listen[_i].what);
	assert_fails(text, 1, "listen", what);
}
END_TEST

START_TEST(test_missing_database)
{
	assert_fails("{}", 1, "database", "required key is missing");
	assert_fails("{\"listen\": \"systemd\"}", 1, "database",
	    "required key is missing");
}
END_TEST

START_TEST(test_not_a_mapping)
{
	struct diag d = {0};

	ck_assert_ptr_null(load("[1, 2]", &d));
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.msgs[0],
	    FILE_NAME ": the configuration must be a "
	              "mapping of keys (see gantryd.conf(5))");
	diag_clear(&d);
	ck_assert_ptr_null(load("\"database\"", &d));
	ck_assert_uint_eq(d.n, 1);
	diag_clear(&d);
}
END_TEST

START_TEST(test_unknown_key_did_you_mean)
{
	/* Misspelt: the hint, and database is then also missing. */
	assert_fails("{\"databse\": \"x\"}", 2, "databse",
	    "unknown key (did you mean \"database\"?)");
	assert_fails(
	    "{\"databse\": \"x\"}", 2, "database", "required key is missing");
	assert_fails("{\"database\": \"x\", \"log_levle\": \"info\"}", 1,
	    "log_levle", "did you mean \"log_level\"?");
	assert_fails("{\"database\": \"x\", \"maxbody\": 1}", 1, "maxbody",
	    "did you mean \"max_body\"?");
}
END_TEST

START_TEST(test_unknown_key_no_hint)
{
	struct diag d = {0};

	ck_assert_ptr_null(load("{\"database\": \"x\", \"colour\": 1}", &d));
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.msgs[0], FILE_NAME ":colour: unknown key");
	diag_clear(&d);
}
END_TEST

START_TEST(test_all_errors_reported)
{
	static const char *const want[] = {
	    FILE_NAME ":listen: \"8080\": expected HOST:PORT",
	    FILE_NAME ":log_level: must be one of",
	    FILE_NAME ":max_body: bad size \"1mb\"",
	    FILE_NAME ":db_connect_timeout: bad duration \"5x\"",
	    FILE_NAME ":allow_root: must be true or false",
	    FILE_NAME ":bogus: unknown key",
	    FILE_NAME ":database: required key is missing",
	};
	struct diag d = {0};

	ck_assert_ptr_null(
	    load("{\"listen\": \"8080\", \"log_level\": \"loud\","
	         " \"max_body\": \"1mb\","
	         " \"db_connect_timeout\": \"5x\","
	         " \"allow_root\": \"yes\", \"bogus\": 1}",
	        &d));
	if (d.n != sizeof(want) / sizeof(want[0]))
		dump_diag(&d);
	ck_assert_uint_eq(d.n, sizeof(want) / sizeof(want[0]));
	ck_assert_uint_eq(d.dropped, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(
		    diag_has(&d, want[i]), "no message \"%s\"", want[i]);
	diag_clear(&d);
}
END_TEST

START_TEST(test_errors_append_to_diag)
{
	struct diag d = {0};
	struct gantry_config *cfg;

	/* A diag already holding messages: a good config still succeeds and
	 * adds nothing; a bad one appends. */
	diag_add(&d, "other.yaml", "x", "earlier problem");
	cfg = load("{\"database\": \"x\"}", &d);
	ck_assert_ptr_nonnull(cfg);
	config_free(cfg);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_null(load("{}", &d));
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.msgs[0], "other.yaml:x: earlier problem");
	ck_assert_str_eq(
	    d.msgs[1], FILE_NAME ":database: required key is missing");
	diag_clear(&d);
}
END_TEST

static const struct {
	const char *json; /* added after "database": "x", */
	const char *key;
	const char *what;
} wrong_types[] = {
    {"\"listen\": 8080", "listen", "must be a string"},
    {"\"pipelines_dir\": 5", "pipelines_dir", "must be a non-empty string"},
    {"\"pipelines_dir\": \"\"", "pipelines_dir", "must be a non-empty string"},
    {"\"user\": null", "user", "must be a non-empty string"},
    {"\"log_level\": 2", "log_level", "must be one of"},
    {"\"max_body\": true", "max_body",
        "must be a size such as 1048576 or 1MiB"},
    {"\"max_body\": 1.5", "max_body", "must be a size"},
    {"\"max_connections\": \"4000\"", "max_connections", "must be an integer"},
    {"\"max_connections\": [16]", "max_connections", "must be an integer"},
    {"\"db_connect_timeout\": 5", "db_connect_timeout",
        "must be a duration such as 5s or 1m30s"},
    {"\"db_statement_timeout\": {}", "db_statement_timeout",
        "must be a duration"},
    {"\"allow_root\": \"true\"", "allow_root", "must be true or false"},
    {"\"allow_root\": 1", "allow_root", "must be true or false"},
    {"\"tokens\": {}", "tokens", "must be a list of {name, sha256, roles}"},
    {"\"tokens\": \"admin\"", "tokens", "must be a list"},
};

START_TEST(test_wrong_types)
{
	char text[256];

	snprintf(text, sizeof(text), "{\"database\": \"x\", %s}",
	    wrong_types[_i].json);
	assert_fails(text, 1, wrong_types[_i].key, wrong_types[_i].what);
}
END_TEST

START_TEST(test_database_wrong_type)
{
	/* Present but wrong: reported once, not also as missing. */
	assert_fails(
	    "{\"database\": 5}", 1, "database", "must be a non-empty string");
	assert_fails("{\"database\": \"\"}", 1, "database",
	    "must be a non-empty string");
}
END_TEST

static const struct {
	const char *json;
	const char *key;
	const char *what;
} out_of_range[] = {
    {"\"max_body\": 1023", "max_body",
        "1023 is out of range 1024..67108864 bytes"},
    {"\"max_body\": \"65MiB\"", "max_body",
        "68157440 is out of range 1024..67108864 bytes"},
    {"\"max_body\": 0", "max_body", "0 is out of range"},
    {"\"max_body\": -1", "max_body", "-1 is out of range"},
    {"\"max_body\": \"67108865\"", "max_body", "is out of range"},
    {"\"max_body\": \"1 MiB\"", "max_body", "bad size \"1 MiB\""},
    {"\"max_connections\": 15", "max_connections",
        "15 is out of range 16..100000"},
    {"\"max_connections\": 100001", "max_connections", "out of range"},
    {"\"db_connect_timeout\": \"99ms\"", "db_connect_timeout",
        "99 is out of range 100..600000 ms"},
    {"\"db_connect_timeout\": \"0s\"", "db_connect_timeout", "out of range"},
    {"\"db_statement_timeout\": \"2h\"", "db_statement_timeout",
        "7200000 is out of range 100..3600000 ms"},
    {"\"db_statement_timeout\": \"1h1ms\"", "db_statement_timeout",
        "out of range"},
    {"\"db_commit_connections\": 0", "db_commit_connections",
        "0 is out of range 1..16"},
    {"\"db_commit_connections\": 17", "db_commit_connections", "out of range"},
};

START_TEST(test_out_of_range)
{
	char text[256];

	snprintf(text, sizeof(text), "{\"database\": \"x\", %s}",
	    out_of_range[_i].json);
	assert_fails(text, 1, out_of_range[_i].key, out_of_range[_i].what);
}
END_TEST

START_TEST(test_tokens_valid)
{
	struct gantry_config *cfg =
	    load_ok("{\"database\": \"x\", \"tokens\": ["
	            "{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256 "\","
	            " \"roles\": [\"deploy\"]},"
	            "{\"name\": \"ops\", \"sha256\": "
	            "\"1EC1C26B50D5D3C58D9583181AF8076655FE00756BF7285940BA3670"
	            "F99FCBA1\","
	            " \"roles\": [\"read\", \"override\", \"admin\"]}]}");

	ck_assert_uint_eq(cfg->ntokens, 2);
	ck_assert_str_eq(cfg->tokens[0].name, "ci");
	ck_assert_uint_eq(cfg->tokens[0].roles, AUTH_DEPLOY);
	ck_assert_uint_eq(cfg->tokens[0].sha256[0], 0x1e);
	ck_assert_uint_eq(cfg->tokens[0].sha256[1], 0xc1);
	ck_assert_uint_eq(cfg->tokens[0].sha256[31], 0xa0);
	ck_assert_str_eq(cfg->tokens[1].name, "ops");
	ck_assert_uint_eq(
	    cfg->tokens[1].roles, AUTH_READ | AUTH_OVERRIDE | AUTH_ADMIN);
	ck_assert_uint_eq(cfg->tokens[1].sha256[31], 0xa1);
	config_free(cfg);
}
END_TEST

#define TOKEN_CFG(tokens) "{\"database\": \"x\", \"tokens\": [" tokens "]}"

START_TEST(test_tokens_bad_sha256)
{
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"abc\","
	                       " \"roles\": [\"read\"]}"),
	    1, "tokens[0]", "sha256: required, the 64 hex digits");
	/* 63 digits, a non-hex digit, not a string, missing. */
	assert_fails(
	    TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" OTHER_SHA256
	              "\", \"roles\": [\"read\"]},"
	              "{\"name\": \"b\", \"sha256\": "
	              "\"1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285"
	              "940ba3670f99fcba\", \"roles\": [\"read\"]}"),
	    1, "tokens[1]", "sha256: required");
	assert_fails(
	    TOKEN_CFG("{\"name\": \"ci\", \"sha256\": "
	              "\"1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285"
	              "940ba3670f99fcbag\", \"roles\": [\"read\"]}"),
	    1, "tokens[0]", "sha256: required");
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": 5,"
	                       " \"roles\": [\"read\"]}"),
	    1, "tokens[0]", "printf %s TOKEN | sha256sum");
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"roles\": [\"read\"]}"), 1,
	    "tokens[0]", "sha256: required");
}
END_TEST

START_TEST(test_tokens_unknown_role)
{
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [\"deploy\", \"root\"]}"),
	    1, "tokens[0]", "roles[1]: unknown role (one of read, deploy,");
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [3, \"Admin\"]}"),
	    2, "tokens[0]", "roles[0]: unknown role");
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [3, \"Admin\"]}"),
	    2, "tokens[0]", "roles[1]: unknown role");
}
END_TEST

START_TEST(test_tokens_duplicate_names)
{
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [\"read\"]},"
	                       "{\"name\": \"ops\", \"sha256\": \"" OTHER_SHA256
	                       "\", \"roles\": [\"admin\"]},"
	                       "{\"name\": \"ci\", \"sha256\": \"" OTHER_SHA256
	                       "\", \"roles\": [\"read\"]}"),
	    1, "tokens[2]", "name: duplicate token name \"ci\"");
}
END_TEST

START_TEST(test_tokens_missing_roles)
{
	assert_fails(
	    TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256 "\"}"),
	    1, "tokens[0]", "roles: required, a non-empty list");
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": []}"),
	    1, "tokens[0]", "roles: required");
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": \"admin\"}"),
	    1, "tokens[0]", "roles: required");
}
END_TEST

START_TEST(test_tokens_bad_name)
{
	assert_fails(TOKEN_CFG("{\"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [\"read\"]}"),
	    1, "tokens[0]", "name: required string of 1..63 characters");
	assert_fails(TOKEN_CFG("{\"name\": \"\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [\"read\"]}"),
	    1, "tokens[0]", "name: required string");
	assert_fails(TOKEN_CFG("{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	                       " \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [\"read\"]}"),
	    1, "tokens[0]", "name: required string");
}
END_TEST

START_TEST(test_tokens_name_63_ok)
{
	struct gantry_config *cfg = load_ok(TOKEN_CFG(
	    "{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    " \"sha256\": \"" S3CRET_SHA256 "\", \"roles\": [\"read\"]}"));

	ck_assert_uint_eq(cfg->ntokens, 1);
	ck_assert_uint_eq(strlen(cfg->tokens[0].name), 63);
	config_free(cfg);
}
END_TEST

START_TEST(test_tokens_unknown_key)
{
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [\"read\"], \"role\": \"x\"}"),
	    1, "tokens[0]", "unknown key \"role\" (did you mean \"roles\"?)");
	assert_fails(TOKEN_CFG("{\"name\": \"ci\", \"sha256\": \"" S3CRET_SHA256
	                       "\", \"roles\": [\"read\"], \"expires\": 1}"),
	    1, "tokens[0]", "unknown key \"expires\"");
}
END_TEST

START_TEST(test_tokens_not_mapping)
{
	assert_fails(TOKEN_CFG("\"s3cret\""), 1, "tokens[0]",
	    "must be a mapping {name, sha256, roles}");
}
END_TEST

START_TEST(test_tokens_several_errors)
{
	/* Every bad token is reported, by index. */
	struct diag d = {0};

	ck_assert_ptr_null(load(TOKEN_CFG("{\"name\": \"a\", \"sha256\": \"x\","
	                                  " \"roles\": [\"read\"]},"
	                                  "{\"name\": \"b\", \"sha256\": "
	                                  "\"" S3CRET_SHA256 "\"},"
	                                  "7"),
	    &d));
	ck_assert_uint_eq(d.n, 3);
	ck_assert(diag_has(&d, FILE_NAME ":tokens[0]: sha256: required"));
	ck_assert(diag_has(&d, FILE_NAME ":tokens[1]: roles: required"));
	ck_assert(diag_has(&d, FILE_NAME ":tokens[2]: must be a mapping"));
	diag_clear(&d);
}
END_TEST

START_TEST(test_restart_needed)
{
	struct gantry_config *a, *b;
	char buf[128];

	a = load_ok("{\"database\": \"host=a\"}");
	/* Same config: nothing. */
	b = load_ok("{\"database\": \"host=a\"}");
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(config_restart_needed(a, b, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	config_free(b);
	/* database cannot be reloaded. */
	b = load_ok("{\"database\": \"host=b\"}");
	ck_assert_uint_eq(config_restart_needed(a, b, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "database");
	config_free(b);
	/* log_level, max_body, pipelines_dir and tokens can. */
	b = load_ok("{\"database\": \"host=a\", \"log_level\": \"debug\","
	            " \"max_body\": 2048, \"pipelines_dir\": \"/p\","
	            " \"tokens\": [{\"name\": \"ci\", \"sha256\": "
	            "\"" S3CRET_SHA256 "\", \"roles\": [\"read\"]}]}");
	ck_assert_uint_eq(config_restart_needed(a, b, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	config_free(b);
	/* Several, in key-table order. */
	b = load_ok("{\"database\": \"host=b\", \"listen\": \"systemd\","
	            " \"max_connections\": 20, \"user\": \"g\","
	            " \"allow_root\": true, \"db_connect_timeout\": \"1s\","
	            " \"db_statement_timeout\": \"1s\"}");
	ck_assert_uint_eq(config_restart_needed(a, b, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf,
	    "listen, database, max_connections, "
	    "db_connect_timeout, db_statement_timeout, "
	    "user, allow_root");
	/* A short buffer is truncated, still NUL-terminated; the count is
	 * still complete. */
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(config_restart_needed(a, b, buf, 10), 7);
	ck_assert_str_eq(buf, "listen, d");
	ck_assert_int_eq(buf[10], 'X');
	ck_assert_uint_eq(config_restart_needed(a, b, NULL, 0), 7);
	config_free(b);
	config_free(a);
}
END_TEST

START_TEST(test_safety_floors)
{
	struct diag d = {0};
	struct gantry_config *cfg;
	json_t *root;

	root = json_loads("{\"database\": \"x\", \"safety_floors\": "
	                  "{\"require_one_box\": true, \"min_bake\": \"1h\", "
	                  "\"max_regions_early_waves\": 2}}",
	    0, NULL);
	cfg = config_from_json(root, "test.conf", &d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert(cfg->floors.require_one_box);
	ck_assert_int_eq(cfg->floors.min_bake_ms, 3600000);
	ck_assert_int_eq(cfg->floors.max_regions_early_waves, 2);
	config_free(cfg);
	json_decref(root);
	root = json_loads("{\"database\": \"x\", \"safety_floors\": "
	                  "{\"min_bak\": \"1h\"}}",
	    0, NULL);
	cfg = config_from_json(root, "test.conf", &d);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_nonnull(
	    strstr(d.msgs[0], "test.conf:safety_floors.min_bak"));
	diag_clear(&d);
	json_decref(root);
}
END_TEST

START_TEST(test_key_names)
{
	static const char *const want[] = {"listen", "database", "log_level",
	    "pipelines_dir", "max_body", "max_connections",
	    "db_connect_timeout", "db_statement_timeout",
	    "db_commit_connections", "state_dir", "max_hooks", "signing_key",
	    "user", "allow_root", "tokens", "safety_floors", "alarms",
	    "prometheus", "metric_timeout", "override_max",
	    "alertmanager_label", "github_secret", "gitlab_token",
	    "gerrit_token", "public_url"};
	size_t n = 0;

	while (config_key_name(n) != NULL) {
		ck_assert_uint_lt(n, sizeof(want) / sizeof(want[0]));
		ck_assert_str_eq(config_key_name(n), want[n]);
		n++;
	}
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	ck_assert_ptr_null(config_key_name(n + 1));
	ck_assert_ptr_null(config_key_name(SIZE_MAX));
}
END_TEST

START_TEST(test_org_alarms)
{
	struct diag d = {0};
	struct gantry_config *cfg = load_ok(
	    "{\"database\": \"x\", \"prometheus\": \"http://127.0.0.1:9090\","
	    " \"override_max\": \"30m\", \"alarms\": {\"site-down\":"
	    " {\"push\": true}, \"errors\": {\"prometheus\": \"sum(x)\","
	    " \"above\": 0.5, \"datapoints\": \"2/3\"}}}");

	ck_assert_uint_eq(cfg->nalarms, 2);
	ck_assert_str_eq(cfg->alarms[0].name, "site-down");
	ck_assert_int_eq(cfg->alarms[0].source, ALARM_SRC_PUSH);
	ck_assert_int_eq(cfg->alarms[1].m, 2);
	ck_assert_int_eq(cfg->alarms[1].n, 3);
	ck_assert_int_eq(cfg->override_max_ms, 30 * 60000);
	ck_assert_int_eq(cfg->metric_timeout_ms, 5000);
	ck_assert_str_eq(cfg->alertmanager_label, "gantry_alarm");
	ck_assert_str_eq(cfg->prometheus, "http://127.0.0.1:9090");
	config_free(cfg);

	cfg = load(
	    "{\"database\": \"x\", \"prometheus\": \"localhost:9090\"}", &d);
	ck_assert_ptr_null(cfg);
	ck_assert(
	    diag_has(&d, "prometheus: must be an http:// or https:// URL"));
	diag_clear(&d);

	/* every problem of the alarms, with its path */
	cfg = load(
	    "{\"database\": \"x\", \"alarms\": {\"a\": {\"above\": 1}}}", &d);
	ck_assert_ptr_null(cfg);
	ck_assert(diag_has(&d, "alarms.a: alarm needs a source"));
	diag_clear(&d);
	cfg = load("{\"database\": \"x\", \"alarms\": {"
	           " \"b\": {\"prometheus\": \"x{i=~\\\"{{target}}\\\"}\","
	           " \"above\": 1}}}",
	    &d);
	ck_assert_ptr_null(cfg);
	ck_assert(diag_has(&d, "b: an org-wide alarm cannot be relative"));
	diag_clear(&d);
}
END_TEST

START_TEST(test_every_key_name_is_accepted)
{
	/* Each table key is known to config_from_json (no "unknown key"). */
	const char *name;

	for (size_t i = 0; (name = config_key_name(i)) != NULL; i++) {
		struct diag d = {0};
		char text[128];
		struct gantry_config *cfg;

		snprintf(text, sizeof(text),
		    "{\"database\": \"x\", \"%s\": null}", name);
		cfg = load(text, &d);
		config_free(cfg);
		ck_assert_msg(
		    !diag_has(&d, "unknown key"), "key %s unknown", name);
		diag_clear(&d);
	}
}
END_TEST

#define N(a) (sizeof(a) / sizeof((a)[0]))

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_config_new_defaults);
	tcase_add_test(tc, test_defaults_from_json);
	tcase_add_test(tc, test_every_key_set);
	tcase_add_test(tc, test_sizes_and_bounds_accepted);
	tcase_add_test(tc, test_log_levels);
	tcase_add_loop_test(tc, test_listen_good, 0, N(good_listen));
	tcase_add_loop_test(tc, test_listen_bad, 0, N(bad_listen));
	tcase_add_test(tc, test_missing_database);
	tcase_add_test(tc, test_not_a_mapping);
	tcase_add_test(tc, test_unknown_key_did_you_mean);
	tcase_add_test(tc, test_unknown_key_no_hint);
	tcase_add_test(tc, test_all_errors_reported);
	tcase_add_test(tc, test_errors_append_to_diag);
	tcase_add_loop_test(tc, test_wrong_types, 0, N(wrong_types));
	tcase_add_test(tc, test_database_wrong_type);
	tcase_add_loop_test(tc, test_out_of_range, 0, N(out_of_range));
	tcase_add_test(tc, test_tokens_valid);
	tcase_add_test(tc, test_tokens_bad_sha256);
	tcase_add_test(tc, test_tokens_unknown_role);
	tcase_add_test(tc, test_tokens_duplicate_names);
	tcase_add_test(tc, test_tokens_missing_roles);
	tcase_add_test(tc, test_tokens_bad_name);
	tcase_add_test(tc, test_tokens_name_63_ok);
	tcase_add_test(tc, test_tokens_unknown_key);
	tcase_add_test(tc, test_tokens_not_mapping);
	tcase_add_test(tc, test_tokens_several_errors);
	tcase_add_test(tc, test_restart_needed);
	tcase_add_test(tc, test_key_names);
	tcase_add_test(tc, test_org_alarms);
	tcase_add_test(tc, test_safety_floors);
	tcase_add_test(tc, test_every_key_name_is_accepted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
