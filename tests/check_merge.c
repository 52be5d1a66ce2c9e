/*
 * check_merge.c - unit tests for lib/merge.c: the deep-merge rules
 * (mappings merge, everything else replaces, inputs untouched) and
 * `extends` resolution: chains, template over template, cycles, missing
 * templates with a hint, a non-string extends, the depth limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "merge.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);

	ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, jerr.text);
	return j;
}

/* Is got equal to the JSON text want?  Says what it got when not. */
static void
assert_json(const json_t *got, const char *want)
{
	json_t *w = parse(want);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);

	ck_assert_msg(json_equal(got, w), "got %s, want %s", g, want);
	free(g);
	json_decref(w);
}

/* --- merge_deep ----------------------------------------------------------- */

static const struct {
	const char *base, *overlay, *want;
} merges[] = {
    /* nested mappings merge key by key */
    {"{\"a\": {\"b\": {\"c\": 1, \"d\": 2}, \"e\": 3}, \"f\": 4}",
        "{\"a\": {\"b\": {\"d\": 20, \"x\": 5}}, \"g\": 6}",
        "{\"a\": {\"b\": {\"c\": 1, \"d\": 20, \"x\": 5}, \"e\": 3}, "
        "\"f\": 4, \"g\": 6}"},
    /* lists replace, they are not appended or merged by index */
    {"{\"l\": [1, 2, 3], \"k\": 1}", "{\"l\": [9]}", "{\"l\": [9], \"k\": 1}"},
    {"{\"l\": [{\"a\": 1}]}", "{\"l\": [{\"b\": 2}]}", "{\"l\": [{\"b\": 2}]}"},
    /* scalars replace */
    {"{\"s\": \"old\", \"n\": 1, \"b\": true}",
        "{\"s\": \"new\", \"n\": 2.5, \"b\": false}",
        "{\"s\": \"new\", \"n\": 2.5, \"b\": false}"},
    /* null replaces (it does not delete the key) */
    {"{\"a\": {\"b\": 1}, \"c\": 2}", "{\"a\": null}",
        "{\"a\": null, \"c\": 2}"},
    /* a change of type replaces, both ways */
    {"{\"a\": {\"b\": 1}}", "{\"a\": [1]}", "{\"a\": [1]}"},
    {"{\"a\": [1]}", "{\"a\": {\"b\": 1}}", "{\"a\": {\"b\": 1}}"},
    {"{\"a\": \"x\"}", "{\"a\": {\"b\": 1}}", "{\"a\": {\"b\": 1}}"},
    {"{\"a\": {\"b\": 1}}", "{\"a\": 7}", "{\"a\": 7}"},
    /* empty overlay: a copy of base; empty base: a copy of overlay */
    {"{\"a\": {\"b\": 1}}", "{}", "{\"a\": {\"b\": 1}}"},
    {"{}", "{\"a\": {\"b\": 1}}", "{\"a\": {\"b\": 1}}"},
    /* a non-mapping at the top replaces too */
    {"{\"a\": 1}", "[1, 2]", "[1, 2]"},
    {"[1, 2]", "{\"a\": 1}", "{\"a\": 1}"},
};

START_TEST(test_merge_rules)
{
	json_t *base = parse(merges[_i].base);
	json_t *overlay = parse(merges[_i].overlay);
	json_t *r = merge_deep(base, overlay);

	ck_assert_ptr_nonnull(r);
	assert_json(r, merges[_i].want);
	/* the inputs are unchanged */
	assert_json(base, merges[_i].base);
	assert_json(overlay, merges[_i].overlay);
	json_decref(r);
	json_decref(base);
	json_decref(overlay);
}
END_TEST

/* The result shares no node with either input: changing it (or them)
 * leaves the others alone. */
START_TEST(test_merge_shares_nothing)
{
	const char *btext = "{\"a\": {\"b\": {\"c\": 1}}, \"l\": [1], "
	                    "\"only_base\": {\"x\": [1, {\"y\": 2}]}}";
	const char *otext = "{\"a\": {\"b\": {\"d\": 2}}, \"m\": [{\"z\": 1}], "
	                    "\"only_overlay\": {\"q\": 1}}";
	json_t *base = parse(btext), *overlay = parse(otext);
	json_t *r = merge_deep(base, overlay);

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_ne(json_object_get(r, "a"), json_object_get(base, "a"));
	ck_assert_ptr_ne(json_object_get(r, "only_base"),
	    json_object_get(base, "only_base"));
	ck_assert_ptr_ne(
	    json_object_get(r, "m"), json_object_get(overlay, "m"));
	ck_assert_ptr_ne(json_object_get(r, "only_overlay"),
	    json_object_get(overlay, "only_overlay"));
	/* mutate the result everywhere: inputs unchanged */
	json_object_set_new(json_object_get(json_object_get(r, "a"), "b"), "c",
	    json_integer(99));
	json_array_append_new(json_object_get(r, "l"), json_integer(2));
	json_object_set_new(
	    json_array_get(json_object_get(r, "m"), 0), "z", json_integer(5));
	json_object_set_new(
	    json_array_get(
	        json_object_get(json_object_get(r, "only_base"), "x"), 1),
	    "y", json_integer(7));
	assert_json(base, btext);
	assert_json(overlay, otext);
	/* and the result survives the inputs */
	json_decref(base);
	json_decref(overlay);
	assert_json(r,
	    "{\"a\": {\"b\": {\"c\": 99, \"d\": 2}}, \"l\": [1, 2], "
	    "\"only_base\": {\"x\": [1, {\"y\": 7}]}, "
	    "\"m\": [{\"z\": 5}], \"only_overlay\": {\"q\": 1}}");
	json_decref(r);
}
END_TEST

/* Keys keep the base's order; new keys follow in the overlay's order. */
START_TEST(test_merge_key_order)
{
	json_t *base = parse("{\"z\": 1, \"a\": 2, \"m\": 3}");
	json_t *overlay = parse("{\"q\": 1, \"a\": 5, \"b\": 6}");
	json_t *r = merge_deep(base, overlay);
	char *s = json_dumps(r, JSON_COMPACT);

	ck_assert_str_eq(s, "{\"z\":1,\"a\":5,\"m\":3,\"q\":1,\"b\":6}");
	free(s);
	json_decref(r);
	json_decref(base);
	json_decref(overlay);
}
END_TEST

/* --- merge_resolve -------------------------------------------------------- */

/* A set of template documents keyed by template name, for lookup. */
struct store {
	const char *names[40];
	const char *files[40];
	json_t *docs[40];
	size_t n;
	const char *list[41]; /* names, NULL-terminated, for hints */
	int lookups;
};

static void
store_add(struct store *s, const char *name, const char *file, const char *text)
{
	ck_assert_uint_lt(s->n, N(s->docs));
	s->names[s->n] = name;
	s->files[s->n] = file;
	s->docs[s->n] = parse(text);
	s->list[s->n] = name;
	s->n++;
	s->list[s->n] = NULL;
}

static void
store_free(struct store *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->docs[i]);
}

static const json_t *
store_lookup(void *ctx, const char *name, const char **file)
{
	struct store *s = ctx;

	s->lookups++;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0) {
			*file = s->files[i];
			return s->docs[i];
		}
	return NULL;
}

static void
dump_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  diag[%zu] = %s\n", i, d->msgs[i]);
}

/* Resolve text (file "p.yaml") against s: must succeed, equal want, and
 * leave doc and templates unchanged. */
static void
assert_resolves(struct store *s, const char *text, const char *want)
{
	struct diag d = {0};
	json_t *doc = parse(text);
	json_t *r = merge_resolve(doc, "p.yaml", store_lookup, s, s->list, &d);

	if (r == NULL)
		dump_diag(&d);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(d.n, 0);
	assert_json(r, want);
	assert_json(doc, text);
	json_decref(r);
	json_decref(doc);
	diag_clear(&d);
}

/* Resolve text as file: must fail with exactly the message want. */
static void
assert_resolve_fails(struct store *s, const char *file, const char *text,
    const char *const *names, const char *want)
{
	struct diag d = {0};
	json_t *doc = parse(text);
	json_t *r = merge_resolve(doc, file, store_lookup, s, names, &d);

	if (d.n != 1 || strcmp(d.msgs[0], want) != 0)
		dump_diag(&d);
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.msgs[0], want);
	assert_json(doc, text);
	json_decref(doc);
	diag_clear(&d);
}

START_TEST(test_resolve_no_extends)
{
	struct store s = {0};

	assert_resolves(&s, "{\"pipeline\": \"p\", \"stages\": [1]}",
	    "{\"pipeline\": \"p\", \"stages\": [1]}");
	ck_assert_int_eq(s.lookups, 0);
}
END_TEST

/* pipeline -> a -> b: b is the base, a over it, the pipeline last. */
START_TEST(test_resolve_chain_of_3)
{
	struct store s = {0};

	store_add(&s, "a", "a.yaml",
	    "{\"template\": \"a\", \"extends\": \"b\", "
	    "\"hooks\": {\"deploy\": \"a/deploy\"}, \"x\": \"a\", "
	    "\"review\": {\"required\": false}}");
	store_add(&s, "b", "b.yaml",
	    "{\"template\": \"b\", \"hooks\": {\"build\": \"b/build\", "
	    "\"deploy\": \"b/deploy\"}, \"x\": \"b\", \"y\": \"b\", "
	    "\"stages\": [{\"name\": \"from-b\"}], "
	    "\"concurrency\": \"queue\"}");
	assert_resolves(&s,
	    "{\"pipeline\": \"p\", \"extends\": \"a\", \"x\": \"p\", "
	    "\"hooks\": {\"notify\": \"p/notify\"}, "
	    "\"stages\": [{\"name\": \"mine\"}]}",
	    "{\"pipeline\": \"p\", \"x\": \"p\", \"y\": \"b\", "
	    "\"hooks\": {\"build\": \"b/build\", \"deploy\": \"a/deploy\", "
	    "\"notify\": \"p/notify\"}, \"review\": {\"required\": false}, "
	    "\"stages\": [{\"name\": \"mine\"}], \"concurrency\": \"queue\"}");
	ck_assert_int_eq(s.lookups, 2);
	/* the templates are unchanged */
	assert_json(s.docs[0],
	    "{\"template\": \"a\", \"extends\": \"b\", "
	    "\"hooks\": {\"deploy\": \"a/deploy\"}, "
	    "\"x\": \"a\", \"review\": {\"required\": false}}");
	store_free(&s);
}
END_TEST

/* A template resolved on its own (template extending template): the
 * `template` key is gone from the result along with `extends`. */
START_TEST(test_resolve_template_extends_template)
{
	struct store s = {0};
	struct diag d = {0};
	json_t *r;

	store_add(&s, "base", "base.yaml",
	    "{\"template\": \"base\", \"service\": \"svc\", "
	    "\"review\": {\"required\": true, \"min_approvals\": 1}}");
	store_add(&s, "strict", "strict.yaml",
	    "{\"template\": \"strict\", \"extends\": \"base\", "
	    "\"review\": {\"min_approvals\": 2}}");
	r = merge_resolve(
	    s.docs[1], "strict.yaml", store_lookup, &s, s.list, &d);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(d.n, 0);
	assert_json(r,
	    "{\"service\": \"svc\", "
	    "\"review\": {\"required\": true, \"min_approvals\": 2}}");
	json_decref(r);
	/* and a pipeline on top of both */
	assert_resolves(&s,
	    "{\"pipeline\": \"p\", \"extends\": \"strict\", "
	    "\"review\": {\"required\": false}}",
	    "{\"pipeline\": \"p\", \"service\": \"svc\", "
	    "\"review\": {\"required\": false, \"min_approvals\": 2}}");
	store_free(&s);
}
END_TEST

/* The template key is removed even when only the document has it, and
 * `extends` too. */
START_TEST(test_resolve_removes_template_key)
{
	struct store s = {0};

	store_add(&s, "t", "t.yaml", "{\"template\": \"t\", \"a\": 1}");
	assert_resolves(&s, "{\"template\": \"u\", \"b\": 2}", "{\"b\": 2}");
	assert_resolves(
	    &s, "{\"template\": \"u\", \"extends\": \"t\"}", "{\"a\": 1}");
	assert_resolves(&s, "{\"pipeline\": \"p\", \"extends\": \"t\"}",
	    "{\"pipeline\": \"p\", \"a\": 1}");
	store_free(&s);
}
END_TEST

/* A pipeline may share its name with the template it extends. */
START_TEST(test_resolve_pipeline_named_like_template)
{
	struct store s = {0};

	store_add(&s, "orders", "orders-t.yaml",
	    "{\"template\": \"orders\", \"a\": 1}");
	assert_resolves(&s,
	    "{\"pipeline\": \"orders\", \"extends\": \"orders\"}",
	    "{\"pipeline\": \"orders\", \"a\": 1}");
	store_free(&s);
}
END_TEST

START_TEST(test_resolve_cycle_of_2)
{
	struct store s = {0};

	store_add(
	    &s, "a", "a.yaml", "{\"template\": \"a\", \"extends\": \"b\"}");
	store_add(
	    &s, "b", "b.yaml", "{\"template\": \"b\", \"extends\": \"a\"}");
	/* resolving template a itself: b's extends closes the cycle */
	assert_resolve_fails(&s, "a.yaml",
	    "{\"template\": \"a\", \"extends\": \"b\"}", s.list,
	    "b.yaml:extends: extends cycle: a -> b -> a");
	/* a pipeline above the cycle: the whole chain is named */
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"a\"}", s.list,
	    "b.yaml:extends: extends cycle: p -> a -> b -> a");
	store_free(&s);
}
END_TEST

START_TEST(test_resolve_cycle_of_1)
{
	struct store s = {0};

	store_add(&s, "self", "self.yaml",
	    "{\"template\": \"self\", \"extends\": \"self\"}");
	assert_resolve_fails(&s, "self.yaml",
	    "{\"template\": \"self\", \"extends\": \"self\"}", s.list,
	    "self.yaml:extends: extends cycle: self -> self");
	/* from a pipeline that extends it */
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"self\"}", s.list,
	    "self.yaml:extends: extends cycle: p -> self -> self");
	store_free(&s);
}
END_TEST

/* A document with neither name is named by its file in the message; a
 * cycle is also found by identity when lookup returns the document. */
START_TEST(test_resolve_cycle_by_identity)
{
	struct store s = {0};
	struct diag d = {0};
	json_t *r;

	store_add(&s, "t", "t.yaml", "{\"extends\": \"t\"}");
	r = merge_resolve(s.docs[0], "t.yaml", store_lookup, &s, s.list, &d);
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(
	    d.msgs[0], "t.yaml:extends: extends cycle: t.yaml -> t");
	diag_clear(&d);
	store_free(&s);
}
END_TEST

START_TEST(test_resolve_missing_template)
{
	struct store s = {0};
	static const char *const none[] = {NULL};

	store_add(&s, "service-defaults", "service-defaults.yaml",
	    "{\"template\": \"service-defaults\"}");
	store_add(&s, "other", "other.yaml", "{\"template\": \"other\"}");
	/* near miss: hint */
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"service-defualts\"}", s.list,
	    "p.yaml:extends: no template named \"service-defualts\" "
	    "(did you mean \"service-defaults\"?)");
	/* far off: no hint */
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"zzzzzzzz\"}", s.list,
	    "p.yaml:extends: no template named \"zzzzzzzz\"");
	/* no names given (NULL) or an empty list: no hint */
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"service-defualts\"}", NULL,
	    "p.yaml:extends: no template named \"service-defualts\"");
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"service-defualts\"}", none,
	    "p.yaml:extends: no template named \"service-defualts\"");
	store_free(&s);
}
END_TEST

/* The error names the file whose extends is wrong: here the template's. */
START_TEST(test_resolve_missing_in_template)
{
	struct store s = {0};

	store_add(&s, "a", "tmpl/a.yaml",
	    "{\"template\": \"a\", \"extends\": \"othr\"}");
	store_add(&s, "other", "tmpl/other.yaml", "{\"template\": \"other\"}");
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"a\"}", s.list,
	    "tmpl/a.yaml:extends: no template named \"othr\" "
	    "(did you mean \"other\"?)");
	store_free(&s);
}
END_TEST

static const char *const not_strings[] = {
    "1",
    "true",
    "null",
    "[\"a\"]",
    "{\"name\": \"a\"}",
};

START_TEST(test_resolve_extends_not_string)
{
	struct store s = {0};
	char text[128];

	snprintf(text, sizeof(text), "{\"pipeline\": \"p\", \"extends\": %s}",
	    not_strings[_i]);
	assert_resolve_fails(
	    &s, "p.yaml", text, NULL, "p.yaml:extends: must be a string");
	ck_assert_int_eq(s.lookups, 0);
}
END_TEST

START_TEST(test_resolve_extends_not_string_in_template)
{
	struct store s = {0};

	store_add(&s, "a", "a.yaml", "{\"template\": \"a\", \"extends\": 3}");
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"a\"}", s.list,
	    "a.yaml:extends: must be a string");
	store_free(&s);
}
END_TEST

/* Templates t1 -> t2 -> ... -> tN (tN extends nothing), each setting
 * its own key and overriding "depth". */
static void
add_ladder(struct store *s, int n)
{
	static char names[40][16], files[40][24], texts[40][160];

	for (int i = 1; i <= n; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		snprintf(files[i], sizeof(files[i]), "t%d.yaml", i);
		if (i < n)
			snprintf(texts[i], sizeof(texts[i]),
			    "{\"template\": \"t%d\", \"extends\": \"t%d\", "
			    "\"k%d\": %d, \"depth\": %d}",
			    i, i + 1, i, i, i);
		else
			snprintf(texts[i], sizeof(texts[i]),
			    "{\"template\": \"t%d\", \"k%d\": %d, "
			    "\"depth\": %d}",
			    i, i, i, i);
		store_add(s, names[i], files[i], texts[i]);
	}
}

/* 16 templates above the document is the limit. */
START_TEST(test_resolve_depth_16_ok)
{
	struct store s = {0};
	struct diag d = {0};
	json_t *doc, *r;

	add_ladder(&s, 16);
	doc = parse("{\"pipeline\": \"p\", \"extends\": \"t1\"}");
	r = merge_resolve(doc, "p.yaml", store_lookup, &s, s.list, &d);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(d.n, 0);
	/* the nearest template wins, every ancestor contributes */
	ck_assert_int_eq(json_integer_value(json_object_get(r, "depth")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "k16")), 16);
	ck_assert_uint_eq(json_object_size(r), 18);
	json_decref(r);
	json_decref(doc);
	store_free(&s);
}
END_TEST

START_TEST(test_resolve_depth_17_fails)
{
	struct store s = {0};

	add_ladder(&s, 17);
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"t1\"}", s.list,
	    "t16.yaml:extends: extends chain deeper than 16");
	store_free(&s);
}
END_TEST

/* A longer ladder fails at the same place, without looking further. */
START_TEST(test_resolve_depth_long_ladder)
{
	struct store s = {0};

	add_ladder(&s, 20);
	assert_resolve_fails(&s, "p.yaml",
	    "{\"pipeline\": \"p\", \"extends\": \"t1\"}", s.list,
	    "t16.yaml:extends: extends chain deeper than 16");
	ck_assert_int_eq(s.lookups, 17);
	store_free(&s);
}
END_TEST

static Suite *
merge_suite(void)
{
	Suite *s = suite_create("merge");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_merge_rules, 0, N(merges));
	tcase_add_test(tc, test_merge_shares_nothing);
	tcase_add_test(tc, test_merge_key_order);
	tcase_add_test(tc, test_resolve_no_extends);
	tcase_add_test(tc, test_resolve_chain_of_3);
	tcase_add_test(tc, test_resolve_template_extends_template);
	tcase_add_test(tc, test_resolve_removes_template_key);
	tcase_add_test(tc, test_resolve_pipeline_named_like_template);
	tcase_add_test(tc, test_resolve_cycle_of_2);
	tcase_add_test(tc, test_resolve_cycle_of_1);
	tcase_add_test(tc, test_resolve_cycle_by_identity);
	tcase_add_test(tc, test_resolve_missing_template);
	tcase_add_test(tc, test_resolve_missing_in_template);
	tcase_add_loop_test(
	    tc, test_resolve_extends_not_string, 0, N(not_strings));
	tcase_add_test(tc, test_resolve_extends_not_string_in_template);
	tcase_add_test(tc, test_resolve_depth_16_ok);
	tcase_add_test(tc, test_resolve_depth_17_fails);
	tcase_add_test(tc, test_resolve_depth_long_ladder);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(merge_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
