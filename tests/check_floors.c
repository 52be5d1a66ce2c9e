/*
 * check_floors.c - unit tests for lib/floors.c: every key, defaults,
 * types, bounds, unknown keys with hints, nested paths, all errors at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "floors.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Parse JSON text; the test fails on bad JSON (a bug in the test). */
static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	ck_assert_msg(v != NULL, "bad test JSON: %s", jerr.text);
	return v;
}

/* Does some message of d contain needle? */
static bool
has_msg(const struct diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], needle) != NULL)
			return true;
	return false;
}

START_TEST(test_every_key)
{
	json_t *v = load("{\"require_one_box\": true, \"min_bake\": \"1h\","
	                 " \"min_one_box_bake\": \"30m\","
	                 " \"require_fault_alarm\": true,"
	                 " \"require_latency_alarm\": true,"
	                 " \"max_regions_early_waves\": 2,"
	                 " \"require_review\": true}");
	struct pipeline_floors f;
	struct diag d = {0};

	ck_assert_int_eq(floors_from_json(v, "f.yaml", &f, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert(f.require_one_box);
	ck_assert_int_eq(f.min_bake_ms, 3600000);
	ck_assert_int_eq(f.min_one_box_bake_ms, 1800000);
	ck_assert(f.require_fault_alarm);
	ck_assert(f.require_latency_alarm);
	ck_assert_int_eq(f.max_regions_early_waves, 2);
	ck_assert(f.require_review);
	json_decref(v);
}
END_TEST

START_TEST(test_empty_means_no_floor)
{
	const char *texts[] = {"{}", "null"};

	for (size_t i = 0; i < N(texts); i++) {
		json_t *v = load(texts[i]);
		struct pipeline_floors f, zero = {0};
		struct diag d = {0};

		memset(&f, 0xff, sizeof(f));
		ck_assert_int_eq(floors_from_json(v, "f", &f, &d), 0);
		ck_assert_uint_eq(d.n, 0);
		ck_assert(memcmp(&f, &zero, sizeof(f)) == 0);
		json_decref(v);
	}
}
END_TEST

START_TEST(test_false_and_zero)
{
	json_t *v = load("{\"require_one_box\": false, \"min_bake\": \"0s\","
	                 " \"max_regions_early_waves\": 0}");
	struct pipeline_floors f;
	struct diag d = {0};

	ck_assert_int_eq(floors_from_json(v, "f", &f, &d), 0);
	ck_assert(!f.require_one_box);
	ck_assert_int_eq(f.min_bake_ms, 0);
	ck_assert_int_eq(f.max_regions_early_waves, 0);
	json_decref(v);
}
END_TEST

static const struct {
	const char *json;
	const char *msg; /* substring of the one message expected */
} bad[] = {
    {"[]", "f.yaml: must be a mapping"},
    {"{\"require_one_box\": \"yes\"}",
        "f.yaml:require_one_box: must be a boolean"},
    {"{\"require_review\": 1}", "f.yaml:require_review: must be a boolean"},
    {"{\"min_bake\": 3600}", "f.yaml:min_bake: must be a duration"},
    {"{\"min_bake\": \"1 hour\"}", "f.yaml:min_bake: bad duration"},
    {"{\"min_bake\": \"8d\"}", "f.yaml:min_bake: 8d is out of range 0s..7d"},
    {"{\"min_one_box_bake\": \"25h\"}",
        "f.yaml:min_one_box_bake: 25h is out of range 0s..1d"},
    {"{\"max_regions_early_waves\": \"2\"}",
        "f.yaml:max_regions_early_waves: must be an integer"},
    {"{\"max_regions_early_waves\": 2.5}",
        "f.yaml:max_regions_early_waves: must be an integer"},
    {"{\"max_regions_early_waves\": -1}",
        "f.yaml:max_regions_early_waves: -1 is out of range 0..50"},
    {"{\"max_regions_early_waves\": 51}",
        "f.yaml:max_regions_early_waves: 51 is out of range 0..50"},
    {"{\"min_bak\": \"1h\"}",
        "f.yaml:min_bak: unknown key (did you mean \"min_bake\"?)"},
    {"{\"require_one_box_please\": true}",
        "f.yaml:require_one_box_please: unknown key"},
};

START_TEST(test_bad)
{
	json_t *v = load(bad[_i].json);
	struct pipeline_floors f;
	struct diag d = {0};

	ck_assert_int_eq(floors_from_json(v, "f.yaml", &f, &d), -1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_msg(strstr(d.msgs[0], bad[_i].msg) != NULL,
	    "%s: got \"%s\", want \"%s\"", bad[_i].json, d.msgs[0],
	    bad[_i].msg);
	diag_clear(&d);
	json_decref(v);
}
END_TEST

START_TEST(test_all_errors_at_once)
{
	json_t *v = load("{\"require_one_box\": 1, \"min_bake\": \"x\","
	                 " \"bogus\": 1, \"require_review\": true}");
	struct pipeline_floors f;
	struct diag d = {0};

	ck_assert_int_eq(floors_from_json(v, "f", &f, &d), -1);
	ck_assert_uint_eq(d.n, 3);
	ck_assert(has_msg(&d, "f:require_one_box:"));
	ck_assert(has_msg(&d, "f:min_bake:"));
	ck_assert(has_msg(&d, "f:bogus: unknown key"));
	ck_assert(f.require_review); /* good keys still applied */
	diag_clear(&d);
	json_decref(v);
}
END_TEST

START_TEST(test_prefix)
{
	json_t *v = load("{\"min_bake\": true}");
	json_t *w = load("7");
	struct pipeline_floors f;
	struct diag d = {0};

	ck_assert_int_eq(
	    floors_from_json_at(v, "gantryd.conf", "safety_floors", &f, &d),
	    -1);
	ck_assert(has_msg(&d, "gantryd.conf:safety_floors.min_bake: must be"));
	ck_assert_int_eq(
	    floors_from_json_at(w, "gantryd.conf", "safety_floors", &f, &d),
	    -1);
	ck_assert(has_msg(&d, "gantryd.conf:safety_floors: must be a mapping"));
	diag_clear(&d);
	ck_assert_int_eq(floors_from_json_at(v, "c", "", &f, &d), -1);
	ck_assert(has_msg(&d, "c:min_bake: must be"));
	diag_clear(&d);
	json_decref(v);
	json_decref(w);
}
END_TEST

START_TEST(test_key_names)
{
	size_t n = 0;

	while (floors_key_name(n) != NULL)
		n++;
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(floors_key_name(0), "require_one_box");
	/* Every listed name is accepted with a value of its type. */
	for (size_t i = 0; i < n; i++) {
		const char *k = floors_key_name(i);
		json_t *v = json_object();
		struct pipeline_floors f;
		struct diag d = {0};

		if (strncmp(k, "require_", 8) == 0)
			json_object_set_new(v, k, json_true());
		else if (strncmp(k, "min_", 4) == 0)
			json_object_set_new(v, k, json_string("1m"));
		else
			json_object_set_new(v, k, json_integer(1));
		ck_assert_msg(floors_from_json(v, "f", &f, &d) == 0,
		    "key %s: %s", k, d.n ? d.msgs[0] : "");
		json_decref(v);
	}
}
END_TEST

static Suite *
floors_suite(void)
{
	Suite *s = suite_create("floors");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_empty_means_no_floor);
	tcase_add_test(tc, test_false_and_zero);
	tcase_add_loop_test(tc, test_bad, 0, N(bad));
	tcase_add_test(tc, test_all_errors_at_once);
	tcase_add_test(tc, test_prefix);
	tcase_add_test(tc, test_key_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(floors_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
