/*
 * config.c - gantryd.conf(5): one key table (name, type, default,
 * reloadable, bounds) drives parsing, defaults and reload decisions.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "floors.h"
#include "pipeline.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

enum key_type {
	KT_STRING,
	KT_LISTEN,
	KT_LOGLEVEL,
	KT_SIZE,
	KT_INT,
	KT_DURATION,
	KT_BOOL,
	KT_TOKENS,
	KT_FLOORS,
	KT_ALARMS,
	KT_URL, /* a string starting with http:// or https:// */
};

struct key {
	const char *name;
	enum key_type type;
	size_t off;
	const char *def; /* default as written in a config file; NULL: none */
	bool required;
	bool reloadable;
	int64_t min, max; /* for KT_SIZE, KT_INT, KT_DURATION */
};

#define OFF(f) offsetof(struct gantry_config, f)

static const struct key keys[] = {
    {"listen", KT_LISTEN, OFF(listen), "127.0.0.1:8080", false, false, 0, 0},
    {"database", KT_STRING, OFF(database), NULL, true, false, 0, 0},
    {"log_level", KT_LOGLEVEL, OFF(log_level), "info", false, true, 0, 0},
    {"pipelines_dir", KT_STRING, OFF(pipelines_dir),
        SYSCONFDIR "/gantry/pipelines", false, true, 0, 0},
    {"max_body", KT_SIZE, OFF(max_body), "1MiB", false, true, 1024,
        64 * 1024 * 1024},
    {"max_connections", KT_INT, OFF(max_connections), "4000", false, false, 16,
        100000},
    {"db_connect_timeout", KT_DURATION, OFF(db_connect_timeout_ms), "5s", false,
        false, 100, 600000},
    {"db_statement_timeout", KT_DURATION, OFF(db_statement_timeout_ms), "30s",
        false, false, 100, 3600000},
    {"db_commit_connections", KT_INT, OFF(db_commit_connections), "2", false,
        false, 1, 16},
    {"state_dir", KT_STRING, OFF(state_dir), "/var/lib/gantry", false, false, 0,
        0},
    {"max_hooks", KT_INT, OFF(max_hooks), "64", false, false, 1, 10000},
    {"signing_key", KT_STRING, OFF(signing_key), NULL, false, false, 0, 0},
    {"user", KT_STRING, OFF(user), NULL, false, false, 0, 0},
    {"allow_root", KT_BOOL, OFF(allow_root), "false", false, false, 0, 0},
    {"tokens", KT_TOKENS, OFF(tokens), NULL, false, true, 0, 0},
    {"safety_floors", KT_FLOORS, OFF(floors), NULL, false, true, 0, 0},
    {"alarms", KT_ALARMS, OFF(alarms), NULL, false, true, 0, 0},
    {"prometheus", KT_URL, OFF(prometheus), NULL, false, true, 0, 0},
    {"metric_timeout", KT_DURATION, OFF(metric_timeout_ms), "5s", false, true,
        100, 300000},
    {"override_max", KT_DURATION, OFF(override_max_ms), "1h", false, true,
        60000, 7LL * 86400000},
    {"alertmanager_label", KT_STRING, OFF(alertmanager_label), "gantry_alarm",
        false, true, 0, 0},
    {"github_secret", KT_STRING, OFF(github_secret), NULL, false, true, 0, 0},
    {"gitlab_token", KT_STRING, OFF(gitlab_token), NULL, false, true, 0, 0},
    {"gerrit_token", KT_STRING, OFF(gerrit_token), NULL, false, true, 0, 0},
    {"public_url", KT_URL, OFF(public_url), NULL, false, true, 0, 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const log_levels[] = {
    "error", "warn", "info", "debug", NULL};

const char *
config_log_level_name(int level)
{
	if (level < 0 || level > CONFIG_LOG_DEBUG)
		return "info";
	return log_levels[level];
}

const char *
config_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

#define FIELD(cfg, k, type) ((type *)((char *)(cfg) + (k)->off))

/* Split "host:port" or "[v6]:port"; 0 ok. */
static int
parse_listen(const char *s, struct gantry_config *cfg, char *why, size_t len)
{
	const char *colon;
	char *end;
	long port;
	size_t hlen;
	const char *host = s;

	if (strcmp(s, "systemd") == 0) {
		cfg->listen_systemd = true;
		cfg->listen_port = 0;
		return 0;
	}
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':') {
			snprintf(why, len, "expected [ADDRESS]:PORT");
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || strchr(s, ':') != colon) {
			snprintf(why, len,
			    "expected HOST:PORT, [ADDRESS]:PORT or systemd");
			return -1;
		}
		hlen = (size_t)(colon - s);
	}
	port = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end != '\0' || port < 0 ||
	    port > 65535) {
		snprintf(why, len, "port must be 0..65535");
		return -1;
	}
	if (hlen == 0) {
		snprintf(why, len, "missing host (use 0.0.0.0 for all)");
		return -1;
	}
	cfg->listen_host = strndup(host, hlen);
	cfg->listen_port = (int)port;
	cfg->listen_systemd = false;
	return cfg->listen_host ? 0 : -1;
}

static void
parse_tokens(const json_t *v, struct gantry_config *cfg, const char *file,
    struct diag *diag)
{
	static const char *const tkeys[] = {"name", "sha256", "roles", NULL};
	size_t i, n;
	const json_t *t;

	if (!json_is_array(v)) {
		diag_add(diag, file, "tokens",
		    "must be a list of "
		    "{name, sha256, roles}");
		return;
	}
	n = json_array_size(v);
	free(cfg->tokens);
	cfg->tokens = calloc(n ? n : 1, sizeof(*cfg->tokens));
	cfg->ntokens = 0;
	if (cfg->tokens == NULL) {
		diag_add(diag, file, "tokens", "out of memory");
		return;
	}
	json_array_foreach(v, i, t)
	{
		struct auth_token *tok = &cfg->tokens[cfg->ntokens];
		char path[64];
		const char *k;
		json_t *f;
		bool ok = true;

		snprintf(path, sizeof(path), "tokens[%zu]", i);
		if (!json_is_object(t)) {
			diag_add(diag, file, path,
			    "must be a mapping {name, sha256, roles}");
			continue;
		}
		json_object_foreach((json_t *)t, k, f)
		{
			bool known = false;

			for (size_t j = 0; tkeys[j]; j++)
				known |= strcmp(k, tkeys[j]) == 0;
			if (!known) {
				const char *hint = diag_suggest(k, tkeys);

				diag_add(diag, file, path,
				    "unknown key \"%s\"%s%s%s", k,
				    hint ? " (did you mean \"" : "",
				    hint ? hint : "", hint ? "\"?)" : "");
				ok = false;
			}
		}
		f = json_object_get(t, "name");
		if (!json_is_string(f) || json_string_length(f) == 0 ||
		    json_string_length(f) >= AUTH_NAME_MAX) {
			diag_add(diag, file, path,
			    "name: required string of 1..%d characters",
			    AUTH_NAME_MAX - 1);
			ok = false;
		} else {
			snprintf(tok->name, sizeof(tok->name), "%s",
			    json_string_value(f));
			for (size_t j = 0; j < cfg->ntokens; j++)
				if (strcmp(cfg->tokens[j].name, tok->name) ==
				    0) {
					diag_add(diag, file, path,
					    "name: duplicate token name "
					    "\"%s\"",
					    tok->name);
					ok = false;
				}
		}
		f = json_object_get(t, "sha256");
		if (!json_is_string(f) ||
		    auth_hex_decode32(json_string_value(f), tok->sha256) < 0) {
			diag_add(diag, file, path,
			    "sha256: required, the 64 hex digits of the "
			    "token's SHA-256 (printf %%s TOKEN | sha256sum)");
			ok = false;
		}
		f = json_object_get(t, "roles");
		tok->roles = 0;
		if (!json_is_array(f) || json_array_size(f) == 0) {
			diag_add(diag, file, path,
			    "roles: required, a non-empty list of read, "
			    "deploy, override, admin");
			ok = false;
		} else {
			size_t ri;
			json_t *r;

			json_array_foreach(f, ri, r)
			{
				unsigned bit = json_is_string(r)
				    ? auth_role_parse(json_string_value(r))
				    : 0;

				if (bit == 0) {
					diag_add(diag, file, path,
					    "roles[%zu]: unknown role (one of "
					    "read, deploy, override, admin)",
					    ri);
					ok = false;
				}
				tok->roles |= bit;
			}
		}
		if (ok)
			cfg->ntokens++;
	}
}

/* Apply one key's value (a JSON value, or a default string wrapped in a
 * JSON string) to cfg.  Problems go to diag. */
static void
apply_key(const struct key *k, const json_t *v, struct gantry_config *cfg,
    const char *file, struct diag *diag)
{
	struct gantry_error err;
	char why[256];
	int64_t n;

	switch (k->type) {
	case KT_URL:
		if (json_is_string(v) &&
		    strncmp(json_string_value(v), "http://", 7) != 0 &&
		    strncmp(json_string_value(v), "https://", 8) != 0) {
			diag_add(diag, file, k->name,
			    "must be an http:// or https:// URL, such as "
			    "http://127.0.0.1:9090");
			return;
		}
		/* FALLTHROUGH */
	case KT_STRING:
		if (!json_is_string(v) || json_string_length(v) == 0) {
			diag_add(
			    diag, file, k->name, "must be a non-empty string");
			return;
		}
		free(*FIELD(cfg, k, char *));
		*FIELD(cfg, k, char *) = strdup(json_string_value(v));
		if (*FIELD(cfg, k, char *) == NULL)
			diag_add(diag, file, k->name, "out of memory");
		return;
	case KT_LISTEN:
		if (!json_is_string(v)) {
			diag_add(diag, file, k->name, "must be a string");
			return;
		}
		free(cfg->listen_host);
		cfg->listen_host = NULL;
		if (parse_listen(json_string_value(v), cfg, why, sizeof(why)) <
		    0) {
			diag_add(diag, file, k->name, "\"%s\": %s",
			    json_string_value(v), why);
			return;
		}
		free(cfg->listen);
		cfg->listen = strdup(json_string_value(v));
		return;
	case KT_LOGLEVEL:
		for (int i = 0; json_is_string(v) && log_levels[i]; i++)
			if (strcmp(json_string_value(v), log_levels[i]) == 0) {
				cfg->log_level = i;
				return;
			}
		diag_add(diag, file, k->name,
		    "must be one of error, warn, info, debug");
		return;
	case KT_BOOL:
		if (!json_is_boolean(v)) {
			diag_add(diag, file, k->name, "must be true or false");
			return;
		}
		*FIELD(cfg, k, bool) = json_is_true(v);
		return;
	case KT_SIZE:
	case KT_INT:
	case KT_DURATION:
		if (json_is_integer(v) && k->type != KT_DURATION) {
			n = json_integer_value(v);
		} else if (json_is_string(v) && k->type == KT_SIZE) {
			if (size_parse(json_string_value(v), &n, &err) < 0) {
				diag_add(diag, file, k->name, "%s", err.msg);
				return;
			}
		} else if (json_is_string(v) && k->type == KT_DURATION) {
			if (duration_parse(json_string_value(v), &n, &err) <
			    0) {
				diag_add(diag, file, k->name, "%s", err.msg);
				return;
			}
		} else {
			diag_add(diag, file, k->name, "must be %s",
			    k->type == KT_DURATION
			        ? "a duration such as 5s or 1m30s"
			        : (k->type == KT_SIZE
			                  ? "a size such as 1048576 or 1MiB"
			                  : "an integer"));
			return;
		}
		if (n < k->min || n > k->max) {
			diag_add(diag, file, k->name,
			    "%lld is out of range %lld..%lld%s", (long long)n,
			    (long long)k->min, (long long)k->max,
			    k->type == KT_DURATION
			        ? " ms"
			        : (k->type == KT_SIZE ? " bytes" : ""));
			return;
		}
		*FIELD(cfg, k, int64_t) = n;
		return;
	case KT_TOKENS:
		parse_tokens(v, cfg, file, diag);
		return;
	case KT_FLOORS:
		(void)floors_from_json_at(v, file, k->name, &cfg->floors, diag);
		return;
	case KT_ALARMS:
		alarm_defs_free(cfg->alarms, cfg->nalarms);
		cfg->alarms = NULL;
		cfg->nalarms = 0;
		if (pipeline_parse_alarms(
		        v, file, &cfg->alarms, &cfg->nalarms, diag) < 0)
			return;
		for (size_t i = 0; i < cfg->nalarms; i++)
			if (cfg->alarms[i].relative)
				diag_add(diag, file, k->name,
				    "%s: an org-wide alarm cannot be relative "
				    "({{target}}): it watches no stage",
				    cfg->alarms[i].name);
		return;
	}
}

struct gantry_config *
config_new(void)
{
	struct gantry_config *cfg = calloc(1, sizeof(*cfg));
	struct diag d = {0};

	if (cfg == NULL)
		return NULL;
	for (size_t i = 0; i < NKEYS; i++) {
		json_t *v;

		if (keys[i].def == NULL)
			continue;
		if (keys[i].type == KT_BOOL)
			v = json_boolean(strcmp(keys[i].def, "true") == 0);
		else if (keys[i].type == KT_INT)
			v = json_integer(strtoll(keys[i].def, NULL, 10));
		else
			v = json_string(keys[i].def);
		apply_key(&keys[i], v, cfg, NULL, &d);
		json_decref(v);
	}
	if (d.n > 0 || d.dropped > 0 || cfg->listen == NULL ||
	    cfg->pipelines_dir == NULL) {
		diag_clear(&d);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
config_free(struct gantry_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->listen);
	free(cfg->listen_host);
	free(cfg->database);
	free(cfg->pipelines_dir);
	free(cfg->user);
	free(cfg->state_dir);
	free(cfg->signing_key);
	free(cfg->tokens);
	alarm_defs_free(cfg->alarms, cfg->nalarms);
	free(cfg->prometheus);
	free(cfg->alertmanager_label);
	free(cfg->github_secret);
	free(cfg->gitlab_token);
	free(cfg->gerrit_token);
	free(cfg->public_url);
	free(cfg);
}

struct gantry_config *
config_from_json(const json_t *root, const char *file, struct diag *diag)
{
	struct gantry_config *cfg;
	const char *names[NKEYS + 1];
	size_t before = diag->n + diag->dropped;
	const char *name;
	json_t *v;

	if (!json_is_object(root)) {
		diag_add(diag, file, NULL,
		    "the configuration must be a mapping of keys "
		    "(see gantryd.conf(5))");
		return NULL;
	}
	for (size_t i = 0; i <= NKEYS; i++)
		names[i] = config_key_name(i);
	cfg = config_new();
	if (cfg == NULL) {
		diag_add(diag, file, NULL, "out of memory");
		return NULL;
	}
	json_object_foreach((json_t *)root, name, v)
	{
		size_t i;

		for (i = 0; i < NKEYS; i++)
			if (strcmp(name, keys[i].name) == 0)
				break;
		if (i == NKEYS) {
			const char *hint = diag_suggest(name, names);

			diag_add(diag, file, name, "unknown key%s%s%s",
			    hint ? " (did you mean \"" : "", hint ? hint : "",
			    hint ? "\"?)" : "");
			continue;
		}
		apply_key(&keys[i], v, cfg, file, diag);
	}
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].required &&
		    json_object_get(root, keys[i].name) == NULL)
			diag_add(diag, file, keys[i].name,
			    "required key is "
			    "missing");
	if (diag->n + diag->dropped != before) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static bool
key_equal(const struct key *k, const struct gantry_config *a,
    const struct gantry_config *b)
{
	switch (k->type) {
	case KT_STRING:
	case KT_URL:
	case KT_LISTEN: {
		const char *x = *FIELD(a, k, char *), *y = *FIELD(b, k, char *);

		if (x == NULL || y == NULL)
			return x == y;
		return strcmp(x, y) == 0;
	}
	case KT_LOGLEVEL:
		return a->log_level == b->log_level;
	case KT_BOOL:
		return *FIELD(a, k, bool) == *FIELD(b, k, bool);
	case KT_SIZE:
	case KT_INT:
	case KT_DURATION:
		return *FIELD(a, k, int64_t) == *FIELD(b, k, int64_t);
	case KT_FLOORS:
		return memcmp(&a->floors, &b->floors, sizeof(a->floors)) == 0;
	case KT_ALARMS:
		return false; /* reloadable: never asked */
	case KT_TOKENS:
		return a->ntokens == b->ntokens &&
		    (a->ntokens == 0 ||
		        memcmp(a->tokens, b->tokens,
		            a->ntokens * sizeof(*a->tokens)) == 0);
	}
	return false;
}

size_t
config_restart_needed(const struct gantry_config *old,
    const struct gantry_config *new_cfg, char *buf, size_t len)
{
	size_t count = 0, off = 0;

	if (len > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].reloadable || key_equal(&keys[i], old, new_cfg))
			continue;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    count ? ", " : "", keys[i].name);
		count++;
	}
	return count;
}
