/*
 * check_apierr.c - unit tests for lib/apierr.c, lib/error.c and lib/diag.c:
 * the API error body shape, the code -> name/status table, details from a
 * struct diag (with its dropped count), invalid UTF-8, and "did you mean".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "apierr.h"
#include "diag.h"
#include "error.h"

/* Check j is {"error": {"code": code, "message": msg, "details": [...]}}
 * with exactly those three keys; return the details array (borrowed). */
static json_t *
assert_shape(json_t *j, const char *code, const char *msg)
{
	json_t *e, *details;

	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_object(j));
	ck_assert_uint_eq(json_object_size(j), 1);
	e = json_object_get(j, "error");
	ck_assert(json_is_object(e));
	ck_assert_uint_eq(json_object_size(e), 3);
	ck_assert(json_is_string(json_object_get(e, "code")));
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")), code);
	ck_assert(json_is_string(json_object_get(e, "message")));
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")), msg);
	details = json_object_get(e, "details");
	ck_assert(json_is_array(details));
	return details;
}

START_TEST(test_shape_no_details)
{
	json_t *j = apierr_json(GANTRY_ENOENT, "no such pipeline: web", NULL);
	json_t *details = assert_shape(j, "not_found", "no such pipeline: web");

	ck_assert_uint_eq(json_array_size(details), 0);
	json_decref(j);
}
END_TEST

START_TEST(test_null_message)
{
	json_t *j = apierr_json(GANTRY_EINTERNAL, NULL, NULL);

	assert_shape(j, "internal", "");
	json_decref(j);
}
END_TEST

START_TEST(test_body_exact)
{
	char *s = apierr_body(GANTRY_ETOOBIG, "body over 1048576 bytes", NULL);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s,
	    "{\"error\":{\"code\":\"payload_too_large\","
	    "\"message\":\"body over 1048576 bytes\","
	    "\"details\":[]}}");
	free(s);
}
END_TEST

START_TEST(test_body_escapes)
{
	char *s = apierr_body(GANTRY_EINVAL, "bad \"x\"\n\\", NULL);
	json_error_t jerr;
	json_t *j;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(
	    strstr(s, "\"message\":\"bad \\\"x\\\"\\n\\\\\""));
	j = json_loads(s, 0, &jerr);
	assert_shape(j, "invalid_request", "bad \"x\"\n\\");
	json_decref(j);
	free(s);
}
END_TEST

static const struct {
	enum gantry_err code;
	const char *name;
	int status;
} codes[] = {
    {GANTRY_OK, "ok", 200},
    {GANTRY_EINVAL, "invalid_request", 400},
    {GANTRY_EAUTH, "unauthorized", 401},
    {GANTRY_EPERM, "forbidden", 403},
    {GANTRY_ENOENT, "not_found", 404},
    {GANTRY_EMETHOD, "method_not_allowed", 405},
    {GANTRY_ECONFLICT, "conflict", 409},
    {GANTRY_ETOOBIG, "payload_too_large", 413},
    {GANTRY_EMEDIA, "unsupported_media_type", 415},
    {GANTRY_EINVALID, "invalid_definition", 422},
    {GANTRY_EBUSY, "too_many_requests", 429},
    {GANTRY_EINTERNAL, "internal", 500},
    {GANTRY_EUNAVAIL, "unavailable", 503},
    {GANTRY_ENOMEM, "out_of_memory", 500},
};

START_TEST(test_code_table)
{
	json_t *j;

	ck_assert_str_eq(gantry_err_name(codes[_i].code), codes[_i].name);
	ck_assert_int_eq(
	    gantry_err_http_status(codes[_i].code), codes[_i].status);
	j = apierr_json(codes[_i].code, "m", NULL);
	assert_shape(j, codes[_i].name, "m");
	json_decref(j);
}
END_TEST

START_TEST(test_code_out_of_range)
{
	ck_assert_str_eq(gantry_err_name((enum gantry_err)99), "internal");
	ck_assert_int_eq(gantry_err_http_status((enum gantry_err)99), 500);
	ck_assert_str_eq(gantry_err_name((enum gantry_err) - 1), "internal");
	ck_assert_int_eq(gantry_err_http_status((enum gantry_err) - 1), 500);
}
END_TEST

START_TEST(test_details_from_diag)
{
	struct diag d = {0};
	json_t *j, *details;

	diag_add(&d, "web.yaml", "steps[0].image", "required key is missing");
	diag_add(&d, "web.yaml", NULL, "must be a mapping");
	diag_add(&d, NULL, "replicas", "%d is out of range", 0);
	diag_add(&d, NULL, NULL, "plain");
	diag_add(&d, "", "", "empty parts");
	ck_assert_uint_eq(d.n, 5);
	j = apierr_json(GANTRY_EINVALID, "pipeline web is invalid", &d);
	details =
	    assert_shape(j, "invalid_definition", "pipeline web is invalid");
	ck_assert_uint_eq(json_array_size(details), 5);
	ck_assert_str_eq(json_string_value(json_array_get(details, 0)),
	    "web.yaml:steps[0].image: required key is missing");
	ck_assert_str_eq(json_string_value(json_array_get(details, 1)),
	    "web.yaml: must be a mapping");
	ck_assert_str_eq(json_string_value(json_array_get(details, 2)),
	    "replicas: 0 is out of range");
	ck_assert_str_eq(
	    json_string_value(json_array_get(details, 3)), "plain");
	ck_assert_str_eq(
	    json_string_value(json_array_get(details, 4)), "empty parts");
	json_decref(j);
	/* The diag is copied, not taken: still intact and freeable. */
	ck_assert_uint_eq(d.n, 5);
	ck_assert_str_eq(d.msgs[3], "plain");
	diag_clear(&d);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(d.dropped, 0);
	ck_assert_ptr_null(d.msgs);
	/* An empty diag gives an empty list. */
	j = apierr_json(GANTRY_EINVALID, "x", &d);
	ck_assert_uint_eq(
	    json_array_size(assert_shape(j, "invalid_definition", "x")), 0);
	json_decref(j);
}
END_TEST

START_TEST(test_details_dropped)
{
	struct diag d = {0};
	json_t *j, *details;

	for (int i = 0; i < DIAG_MAX + 7; i++)
		diag_add(&d, "f", "k", "problem %d", i);
	ck_assert_uint_eq(d.n, DIAG_MAX);
	ck_assert_uint_eq(d.dropped, 7);
	j = apierr_json(GANTRY_EINVALID, "too many", &d);
	details = assert_shape(j, "invalid_definition", "too many");
	ck_assert_uint_eq(json_array_size(details), DIAG_MAX + 1);
	ck_assert_str_eq(
	    json_string_value(json_array_get(details, 0)), "f:k: problem 0");
	ck_assert_str_eq(
	    json_string_value(json_array_get(details, DIAG_MAX - 1)),
	    "f:k: problem 199");
	ck_assert_str_eq(json_string_value(json_array_get(details, DIAG_MAX)),
	    "... and 7 more");
	json_decref(j);
	diag_clear(&d);
	ck_assert_uint_eq(d.dropped, 0);
}
END_TEST

START_TEST(test_invalid_utf8_message)
{
	struct diag d = {0};
	json_t *j, *details;
	char *s;

	diag_add(&d, "f", "k", "kept");
	j = apierr_json(GANTRY_EINVAL, "bad \xff byte", &d);
	details = assert_shape(
	    j, "invalid_request", "(error message was not valid UTF-8)");
	ck_assert_uint_eq(json_array_size(details), 1);
	ck_assert_str_eq(
	    json_string_value(json_array_get(details, 0)), "f:k: kept");
	json_decref(j);
	/* Truncated multi-byte sequence, and the serialised form. */
	s = apierr_body(GANTRY_EINVAL, "caf\xc3", NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s,
	    "{\"error\":{\"code\":\"invalid_request\","
	    "\"message\":\"(error message was not valid "
	    "UTF-8)\",\"details\":[]}}");
	free(s);
	diag_clear(&d);
	/* Valid multi-byte UTF-8 is kept. */
	j = apierr_json(GANTRY_EINVAL, "caf\xc3\xa9", NULL);
	assert_shape(j, "invalid_request", "caf\xc3\xa9");
	json_decref(j);
}
END_TEST

START_TEST(test_diag_add_truncates)
{
	struct diag d = {0};
	char big[2000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	diag_add(&d, "file", "path", "%s", big);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_lt(strlen(d.msgs[0]), 1024);
	ck_assert_int_eq(strncmp(d.msgs[0], "file:path: xxx", 14), 0);
	diag_clear(&d);
}
END_TEST

START_TEST(test_diag_suggest)
{
	static const char *const keys[] = {
	    "listen", "database", "log_level", "max_body", "tokens", NULL};
	static const char *const none[] = {NULL};

	ck_assert_str_eq(diag_suggest("databse", keys), "database");
	ck_assert_str_eq(diag_suggest("databaes", keys), "database");
	ck_assert_str_eq(diag_suggest("listne", keys), "listen");
	ck_assert_str_eq(diag_suggest("token", keys), "tokens");
	ck_assert_str_eq(diag_suggest("loglevel", keys), "log_level");
	ck_assert_str_eq(diag_suggest("Database", keys), "database");
	ck_assert_ptr_null(diag_suggest("xyz", keys));
	ck_assert_ptr_null(diag_suggest("", keys));
	ck_assert_ptr_null(diag_suggest("databasexyz", keys));
	ck_assert_ptr_null(diag_suggest("databse", none));
	/* Two edits are allowed only when that is under half the word. */
	ck_assert_ptr_null(diag_suggest("tokn", keys));
	ck_assert_str_eq(diag_suggest("tokes", keys), "tokens");
	/* An exact match is distance 0. */
	ck_assert_str_eq(diag_suggest("tokens", keys), "tokens");
	/* Words of 64 bytes or more never match. */
	{
		char longw[80];

		memset(longw, 'a', sizeof(longw) - 1);
		longw[sizeof(longw) - 1] = '\0';
		ck_assert_ptr_null(diag_suggest(longw, keys));
	}
}
END_TEST

START_TEST(test_error_set_clear)
{
	struct gantry_error err = {0};
	char big[GANTRY_ERROR_MSG * 2];

	ck_assert_int_eq(
	    gantry_error_set(&err, GANTRY_EBUSY, "slow down %d", 5), -1);
	ck_assert_int_eq(err.code, GANTRY_EBUSY);
	ck_assert_str_eq(err.msg, "slow down 5");
	gantry_error_clear(&err);
	ck_assert_int_eq(err.code, GANTRY_OK);
	ck_assert_str_eq(err.msg, "");
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(gantry_error_set(&err, GANTRY_EINVAL, "%s", big), -1);
	ck_assert_uint_eq(strlen(err.msg), GANTRY_ERROR_MSG - 1);
	ck_assert_int_eq(gantry_error_set(NULL, GANTRY_EINVAL, "x"), -1);
	gantry_error_clear(NULL);
}
END_TEST

static Suite *
apierr_suite(void)
{
	Suite *s = suite_create("apierr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_shape_no_details);
	tcase_add_test(tc, test_null_message);
	tcase_add_test(tc, test_body_exact);
	tcase_add_test(tc, test_body_escapes);
	tcase_add_loop_test(
	    tc, test_code_table, 0, sizeof(codes) / sizeof(codes[0]));
	tcase_add_test(tc, test_code_out_of_range);
	tcase_add_test(tc, test_details_from_diag);
	tcase_add_test(tc, test_details_dropped);
	tcase_add_test(tc, test_invalid_utf8_message);
	tcase_add_test(tc, test_diag_add_truncates);
	tcase_add_test(tc, test_diag_suggest);
	tcase_add_test(tc, test_error_set_clear);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(apierr_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
