/*
 * check_yaml_load.c - unit tests for lib/yaml_load.c: core-schema scalar
 * typing, containers, aliases and their budget, and every error with its
 * position.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "yaml_load.h"

/* Load yaml and compare with the JSON text want. */
static void
assert_loads(const char *yaml, const char *want)
{
	struct gantry_error err = {0};
	json_error_t jerr;
	json_t *got, *exp;
	char *dump;

	exp = json_loads(want, JSON_DECODE_ANY, &jerr);
	ck_assert_msg(exp != NULL, "bad expectation %s: %s", want, jerr.text);
	got = yaml_load(yaml, strlen(yaml), &err);
	ck_assert_msg(
	    got != NULL, "yaml_load(\"%s\") failed: %s", yaml, err.msg);
	dump = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
	ck_assert_msg(json_equal(got, exp), "yaml_load(\"%s\") = %s, want %s",
	    yaml, dump, want);
	free(dump);
	json_decref(got);
	json_decref(exp);
}

/* Load yaml, expect failure whose message starts with prefix (a position)
 * and contains what. */
static void
assert_fails(const char *yaml, const char *prefix, const char *what)
{
	struct gantry_error err = {0};
	json_t *got;

	got = yaml_load(yaml, strlen(yaml), &err);
	ck_assert_msg(
	    got == NULL, "yaml_load(\"%s\") unexpectedly succeeded", yaml);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0,
	    "message \"%s\" does not start with \"%s\"", err.msg, prefix);
	ck_assert_msg(strstr(err.msg, what) != NULL,
	    "message \"%s\" lacks \"%s\"", err.msg, what);
}

static const struct {
	const char *yaml;
	const char *json;
} scalar_table[] = {
    /* null */
    {"null", "null"},
    {"Null", "null"},
    {"NULL", "null"},
    {"~", "null"},
    {"", "null"},
    {"nULL", "\"nULL\""},
    /* bool: 1.2 core only, yes/no/on/off stay strings */
    {"true", "true"},
    {"True", "true"},
    {"TRUE", "true"},
    {"false", "false"},
    {"FALSE", "false"},
    {"yes", "\"yes\""},
    {"no", "\"no\""},
    {"NO", "\"NO\""},
    {"on", "\"on\""},
    {"off", "\"off\""},
    /* int */
    {"0", "0"},
    {"42", "42"},
    {"-42", "-42"},
    {"+7", "7"},
    {"01234", "1234"},
    {"0x1F", "31"},
    {"0o17", "15"},
    {"9223372036854775807", "9223372036854775807"},
    {"-9223372036854775808", "-9223372036854775808"},
    {"0x7fffffffffffffff", "9223372036854775807"},
    {"-0x1F", "\"-0x1F\""},
    {"0x", "\"0x\""},
    {"0o8", "\"0o8\""},
    {"1_000", "\"1_000\""},
    {"0b101", "\"0b101\""},
    /* float */
    {"1.5", "1.5"},
    {"1.10", "1.1"},
    {"1e3", "1000.0"},
    {"-1.5e-3", "-0.0015"},
    {".5", "0.5"},
    {"2.", "2.0"},
    {"1e", "\"1e\""},
    {".", "\".\""},
    /* strings */
    {"hello world", "\"hello world\""},
    {"\"quoted\"", "\"quoted\""},
    {"\"123\"", "\"123\""},
    {"'true'", "\"true\""},
    {"''", "\"\""},
    {"\"null\"", "\"null\""},
    {"2024-01-01", "\"2024-01-01\""},
    {"\"a\\tb\"", "\"a\\tb\""},
    /* explicit tags */
    {"!!str 123", "\"123\""},
    {"!!str true", "\"true\""},
    {"!!str", "\"\""},
    {"! 123", "\"123\""},
    {"!!int \"42\"", "42"},
    {"!!int 0x10", "16"},
    {"!!float 1", "1.0"},
    {"!!float '2.5'", "2.5"},
    {"!!bool 'false'", "false"},
    {"!!null ''", "null"},
    {"!!null ~", "null"},
};

START_TEST(test_scalar_table)
{
	char yaml[128], json[128];

	snprintf(yaml, sizeof(yaml), "v: %s\n", scalar_table[_i].yaml);
	snprintf(json, sizeof(json), "{\"v\": %s}", scalar_table[_i].json);
	assert_loads(yaml, json);
}
END_TEST

START_TEST(test_top_level_scalar)
{
	assert_loads("42", "42");
	assert_loads("hello", "\"hello\"");
	assert_loads("--- true\n", "true");
}
END_TEST

START_TEST(test_keys_are_text)
{
	assert_loads("1: a\n", "{\"1\": \"a\"}");
	assert_loads("null: a\n~: b\n", "{\"null\": \"a\", \"~\": \"b\"}");
	assert_loads(
	    "true: x\n0x10: y\n", "{\"true\": \"x\", \"0x10\": \"y\"}");
	assert_loads("? |\n  block\n: v\n", "{\"block\\n\": \"v\"}");
	assert_loads("'<<': x\n", "{\"<<\": \"x\"}");
	assert_loads("99999999999999999999999: big\n.inf: x\n",
	    "{\"99999999999999999999999\": \"big\", \".inf\": \"x\"}");
}
END_TEST

START_TEST(test_nested_block)
{
	assert_loads("name: web\n"
	             "replicas: 3\n"
	             "env:\n"
	             "  PORT: \"8080\"\n"
	             "  DEBUG: false\n"
	             "hosts:\n"
	             "  - a.example\n"
	             "  - b.example\n"
	             "checks:\n"
	             "  - path: /health\n"
	             "    every: 5\n"
	             "  - - 1\n"
	             "    - [2, 3]\n",
	    "{\"name\": \"web\", \"replicas\": 3,"
	    " \"env\": {\"PORT\": \"8080\", \"DEBUG\": false},"
	    " \"hosts\": [\"a.example\", \"b.example\"],"
	    " \"checks\": [{\"path\": \"/health\", \"every\": 5},"
	    " [1, [2, 3]]]}");
}
END_TEST

START_TEST(test_flow_style)
{
	assert_loads("{a: 1, b: [x, 'y', \"z\"], c: {}, d: []}",
	    "{\"a\": 1, \"b\": [\"x\", \"y\", \"z\"], \"c\": {}, \"d\": []}");
	assert_loads("[1, 1.5, true, null, ~, str]",
	    "[1, 1.5, true, null, null, \"str\"]");
	assert_loads("[a: 1]", "[{\"a\": 1}]");
	assert_loads("!!map {a: !!seq [1]}", "{\"a\": [1]}");
}
END_TEST

START_TEST(test_block_scalars)
{
	assert_loads("lit: |\n  line 1\n  line 2\n",
	    "{\"lit\": \"line 1\\nline 2\\n\"}");
	assert_loads("fold: >\n  one\n  two\n\n  three\n",
	    "{\"fold\": \"one two\\nthree\\n\"}");
	assert_loads("strip: |-\n  42\n", "{\"strip\": \"42\"}");
	assert_loads("keep: |+\n  true\n\n", "{\"keep\": \"true\\n\\n\"}");
}
END_TEST

START_TEST(test_aliases)
{
	assert_loads("base: &b {image: web, port: 80}\n"
	             "copy: *b\n"
	             "s: &s hello\n"
	             "list: &l [1, *s]\n"
	             "again: [*l, *s]\n",
	    "{\"base\": {\"image\": \"web\", \"port\": 80},"
	    " \"copy\": {\"image\": \"web\", \"port\": 80},"
	    " \"s\": \"hello\", \"list\": [1, \"hello\"],"
	    " \"again\": [[1, \"hello\"], \"hello\"]}");
	/* A key may carry an anchor, and an alias to a string may be a key. */
	assert_loads("&k name: x\nother: {*k : y}\n",
	    "{\"name\": \"x\", \"other\": {\"name\": \"y\"}}");
	assert_fails("&k name: x\n*k : y\n",
	    "line 2, column 1: ", "duplicate key \"name\"");
}
END_TEST

START_TEST(test_alias_copies_are_independent)
{
	struct gantry_error err = {0};
	const char *y = "a: &x {k: 1}\nb: *x\n";
	json_t *v;

	v = yaml_load(y, strlen(y), &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_ne(json_object_get(v, "a"), json_object_get(v, "b"));
	json_object_set_new(json_object_get(v, "b"), "k", json_integer(2));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(v, "a"), "k")),
	    1);
	json_decref(v);
}
END_TEST

START_TEST(test_billion_laughs)
{
	assert_fails("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
	             "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	             "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	             "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	             "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	             "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	             "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	             "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	             "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
	    "line 6, column ", "past 100000 nodes");
}
END_TEST

START_TEST(test_node_budget_without_aliases)
{
	size_t n = 3 * (YAML_LOAD_MAX_NODES + 1), i;
	struct gantry_error err = {0};
	char *y = malloc(n + 2);
	json_t *v;

	ck_assert_ptr_nonnull(y);
	y[0] = '[';
	for (i = 0; i <= YAML_LOAD_MAX_NODES; i++)
		memcpy(y + 1 + 3 * i, "1, ", 3);
	y[n] = ']';
	v = yaml_load(y, n + 1, &err);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(strstr(err.msg, "more than 100000 nodes"));
	free(y);
}
END_TEST

START_TEST(test_duplicate_key)
{
	assert_fails(
	    "a: 1\nb: 2\na: 3\n", "line 3, column 1: ", "duplicate key \"a\"");
	assert_fails("top:\n  x: 1\n  y: 2\n  x: 3\n",
	    "line 4, column 3: ", "duplicate key \"x\"");
	assert_fails(
	    "{a: 1, 'a': 2}", "line 1, column 8: ", "duplicate key \"a\"");
	/* The same key in sibling mappings is fine. */
	assert_loads("- a: 1\n- a: 2\n", "[{\"a\": 1}, {\"a\": 2}]");
}
END_TEST

START_TEST(test_merge_key_rejected)
{
	assert_fails("base: &b {a: 1}\nweb:\n  <<: *b\n  c: 2\n",
	    "line 3, column 3: ", "merge keys (<<) are not supported");
}
END_TEST

START_TEST(test_complex_key_rejected)
{
	assert_fails("? [a, b]\n: c\n",
	    "line 1, column 3: ", "complex keys are not supported");
	assert_fails("x: 1\n? {k: v}\n: c\n",
	    "line 2, column 3: ", "a mapping cannot be a mapping key");
	assert_fails("n: &n 5\n*n : v\n",
	    "line 2, column 1: ", "alias *n used as a key is not a string");
}
END_TEST

START_TEST(test_tab_indentation)
{
	assert_fails("a:\n\tb: 1\n", "line 2, column 1: ",
	    "found character that cannot start any token");
}
END_TEST

START_TEST(test_parse_error_context)
{
	assert_fails(
	    "a: [1, 2\nb: 3\n", "line ", "(while parsing a flow sequence");
	assert_fails("a: 1\n b: 2\n", "line 2, column ", "mapping values");
}
END_TEST

START_TEST(test_two_documents)
{
	assert_fails("a: 1\n---\nb: 2\n",
	    "line 2, column 1: ", "expected a single YAML document");
	assert_fails("--- 1\n--- 2\n",
	    "line 2, column 1: ", "expected a single YAML document");
	/* A single document with markers is fine. */
	assert_loads("---\na: 1\n...\n", "{\"a\": 1}");
}
END_TEST

START_TEST(test_empty_document)
{
	struct gantry_error err = {0};
	json_t *v;

	assert_loads("", "null");
	assert_loads("# only a comment\n\n   # and another\n", "null");
	assert_loads("---\n", "null");
	assert_loads("--- ~\n...\n", "null");
	v = yaml_load(NULL, 0, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert(json_is_null(v));
	json_decref(v);
}
END_TEST

START_TEST(test_int_overflow)
{
	assert_fails("n: 9223372036854775808\n",
	    "line 1, column 4: ", "does not fit in 64 bits");
	assert_fails("n: -9223372036854775809\n",
	    "line 1, column 4: ", "does not fit in 64 bits");
	assert_fails("n: 0x8000000000000000\n",
	    "line 1, column 4: ", "does not fit in 64 bits");
	assert_fails("n: !!int 0o7777777777777777777777\n",
	    "line 1, column 4: ", "does not fit in 64 bits");
	/* Too big for an int, but an explicit float is fine. */
	assert_loads("n: !!float 18446744073709551616\n",
	    "{\"n\": 18446744073709551616.0}");
}
END_TEST

START_TEST(test_inf_nan_rejected)
{
	assert_fails("x: .inf\n",
	    "line 1, column 4: ", ".inf cannot be represented in JSON");
	assert_fails("x: -.Inf\n",
	    "line 1, column 4: ", "cannot be represented in JSON");
	assert_fails(
	    "x: .NaN\n", "line 1, column 4: ", "cannot be represented in JSON");
	assert_fails("x: 1e999\n",
	    "line 1, column 4: ", "cannot be represented in JSON");
	assert_fails("x: !!float .nan\n",
	    "line 1, column 4: ", "cannot be represented in JSON");
	/* Quoted, they are just strings. */
	assert_loads("x: '.inf'\n", "{\"x\": \".inf\"}");
}
END_TEST

static char *
nested(int levels)
{
	char *s = malloc(2 * (size_t)levels + 1);
	int i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < levels; i++) {
		s[i] = '[';
		s[levels + i] = ']';
	}
	s[2 * levels] = '\0';
	return s;
}

START_TEST(test_deep_nesting)
{
	struct gantry_error err = {0};
	char *ok = nested(YAML_LOAD_MAX_DEPTH);
	char *deep = nested(YAML_LOAD_MAX_DEPTH + 1);
	json_t *v;

	v = yaml_load(ok, strlen(ok), &err);
	ck_assert_msg(v != NULL, "%s", err.msg);
	json_decref(v);
	assert_fails(deep, "line 1, column 65: ", "nesting deeper than 64");
	free(ok);
	free(deep);
}
END_TEST

START_TEST(test_deep_nesting_through_alias)
{
	char *inner = nested(40);
	char *y = malloc(strlen(inner) + 64);

	ck_assert_ptr_nonnull(y);
	sprintf(y,
	    "a: &a %s\nb: "
	    "[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	    inner);
	assert_fails(
	    y, "line 2, column 29: ", "alias *a nests deeper than 64 levels");
	free(inner);
	free(y);
}
END_TEST

START_TEST(test_unknown_alias)
{
	assert_fails(
	    "a: 1\nb: *nope\n", "line 2, column 4: ", "unknown alias *nope");
	assert_fails("a: &a [1, *a]\n", "line 1, column 11: ",
	    "alias *a refers to a node that contains it");
}
END_TEST

START_TEST(test_tags)
{
	assert_fails("x: !!binary aGVsbG8=\n", "line 1, column 4: ",
	    "unsupported tag \"tag:yaml.org,2002:binary\"");
	assert_fails("x: !custom 1\n",
	    "line 1, column 4: ", "unsupported tag \"!custom\"");
	assert_fails(
	    "x: !!set {a: ~}\n", "line 1, column 4: ", "unsupported tag");
	assert_fails("x: !!map [1]\n", "line 1, column 4: ", "unsupported tag");
	assert_fails(
	    "!!timestamp k: v\n", "line 1, column 1: ", "unsupported tag");
	assert_fails("x: !!int abc\n",
	    "line 1, column 4: ", "invalid !!int value \"abc\"");
	assert_fails(
	    "x: !!int 1.5\n", "line 1, column 4: ", "invalid !!int value");
	assert_fails("x: !!bool yes\n",
	    "line 1, column 4: ", "invalid !!bool value \"yes\"");
	assert_fails(
	    "x: !!null nil\n", "line 1, column 4: ", "invalid !!null value");
	assert_fails(
	    "x: !!float abc\n", "line 1, column 4: ", "invalid !!float value");
}
END_TEST

START_TEST(test_bad_utf8_position)
{
	assert_fails("a: ok\nb: \xff\n", "line 2, column 4: ", "UTF-8");
}
END_TEST

START_TEST(test_buffer_is_not_string)
{
	struct gantry_error err = {0};
	const char buf[] = {'a', ':', ' ', '1', '2', 'x', 'y'};
	json_t *v;

	v = yaml_load(buf, 5, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "a")), 12);
	json_decref(v);
}
END_TEST

START_TEST(test_embedded_nul)
{
	struct gantry_error err = {0};
	const char *y = "\"a\\0b\": \"c\\0d\"\n";
	json_t *v, *s;

	v = yaml_load(y, strlen(y), &err);
	ck_assert_msg(v != NULL, "%s", err.msg);
	s = json_object_getn(v, "a\0b", 3);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(json_string_length(s), 3);
	ck_assert_mem_eq(json_string_value(s), "c\0d", 3);
	json_decref(v);
}
END_TEST

START_TEST(test_null_err)
{
	const char *y = "[";

	ck_assert_ptr_null(yaml_load(y, strlen(y), NULL));
}
END_TEST

static Suite *
yaml_load_suite(void)
{
	Suite *s = suite_create("yaml_load");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_scalar_table, 0,
	    sizeof(scalar_table) / sizeof(scalar_table[0]));
	tcase_add_test(tc, test_top_level_scalar);
	tcase_add_test(tc, test_keys_are_text);
	tcase_add_test(tc, test_nested_block);
	tcase_add_test(tc, test_flow_style);
	tcase_add_test(tc, test_block_scalars);
	tcase_add_test(tc, test_aliases);
	tcase_add_test(tc, test_alias_copies_are_independent);
	tcase_add_test(tc, test_billion_laughs);
	tcase_add_test(tc, test_node_budget_without_aliases);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_merge_key_rejected);
	tcase_add_test(tc, test_complex_key_rejected);
	tcase_add_test(tc, test_tab_indentation);
	tcase_add_test(tc, test_parse_error_context);
	tcase_add_test(tc, test_two_documents);
	tcase_add_test(tc, test_empty_document);
	tcase_add_test(tc, test_int_overflow);
	tcase_add_test(tc, test_inf_nan_rejected);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_deep_nesting_through_alias);
	tcase_add_test(tc, test_unknown_alias);
	tcase_add_test(tc, test_tags);
	tcase_add_test(tc, test_bad_utf8_position);
	tcase_add_test(tc, test_buffer_is_not_string);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_null_err);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(yaml_load_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
