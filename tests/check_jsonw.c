/*
 * check_jsonw.c - unit tests for lib/jsonw.c: the text equals what
 * jansson's json_dumps(JSON_COMPACT) writes for the same values (every
 * ASCII byte, multi-byte UTF-8, integers at their limits, nesting and
 * separators, embedded jansson values), bytes that are not UTF-8 become
 * U+FFFD and the text still parses, and failures are the buf's sticky
 * ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "jsonw.h"

/* jansson's text for one value. */
static char *
dumped(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	ck_assert_ptr_nonnull(s);
	json_decref(j);
	return s;
}

static void
assert_str_as_jansson(const char *s, size_t n)
{
	struct buf b = {0};
	char *want = dumped(json_stringn(s, n));

	jw_strn(&b, s, n);
	ck_assert(!buf_failed(&b));
	ck_assert_str_eq(b.s, want);
	free(want);
	buf_free(&b);
}

START_TEST(test_every_ascii_byte)
{
	char all[128];

	for (int c = 1; c < 128; c++) {
		char one = (char)c;

		assert_str_as_jansson(&one, 1);
		all[c - 1] = one;
	}
	assert_str_as_jansson(all, 127);
	assert_str_as_jansson("", 0);
	assert_str_as_jansson("a\0b", 3); /* an embedded NUL: \u0000 */
}
END_TEST

START_TEST(test_utf8_kept)
{
	static const char *const v[] = {
	    "caf\xc3\xa9", /* 2 bytes */
	    "\xe2\x82\xac 10", /* 3 bytes */
	    "\xf0\x9f\x9a\x80 launch", /* 4 bytes */
	    "\xef\xbf\xbf\xf4\x8f\xbf\xbf", /* U+FFFF, U+10FFFF */
	    "mixed \"q\" \\ /path\t\xc3\xa9\n",
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_str_as_jansson(v[i], strlen(v[i]));
}
END_TEST

START_TEST(test_invalid_utf8_replaced)
{
	static const char *const v[] = {
	    "\xff", /* never valid */
	    "a\xc3", /* truncated */
	    "\xc0\xaf", /* overlong '/' */
	    "\xed\xa0\x80", /* a surrogate */
	    "\xf4\x90\x80\x80", /* past U+10FFFF */
	    "\xe2\x28\xa1", /* bad continuation */
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct buf b = {0};
		json_t *j;
		json_error_t je;

		jw_str(&b, v[i]);
		ck_assert(!buf_failed(&b));
		ck_assert_msg(
		    strstr(b.s, "\\uFFFD") != NULL, "%zu: %s", i, b.s);
		j = json_loads(b.s, JSON_DECODE_ANY, &je);
		ck_assert_msg(j != NULL, "%zu: %s: %s", i, b.s, je.text);
		json_decref(j);
		buf_free(&b);
	}
}
END_TEST

START_TEST(test_integers)
{
	static const int64_t v[] = {
	    0, 1, -1, 9, 10, -10, 1234567890123, INT64_MAX, INT64_MIN};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct buf b = {0};
		char *want = dumped(json_integer((json_int_t)v[i]));

		jw_int(&b, v[i]);
		ck_assert_str_eq(b.s, want);
		free(want);
		buf_free(&b);
	}
}
END_TEST

START_TEST(test_nesting_and_separators)
{
	struct buf b = {0};
	json_t *detail = json_pack(
	    "{s:[i, s, n], s:{s:b}}", "points", 1, "two", "rule", "ok", 1);
	char *want;

	jw_open(&b, '{');
	jw_key(&b, "a");
	jw_open(&b, '[');
	jw_int(&b, 1);
	jw_open(&b, '{');
	jw_key(&b, "b");
	jw_null(&b);
	jw_close(&b, '}');
	jw_open(&b, '[');
	jw_close(&b, ']');
	jw_bool(&b, false);
	jw_str(&b, NULL);
	jw_close(&b, ']');
	jw_key(&b, "c");
	jw_open(&b, '{');
	jw_close(&b, '}');
	jw_key(&b, "d");
	jw_json(&b, detail);
	jw_key(&b, "e");
	jw_json(&b, NULL);
	jw_key(&b, "f");
	jw_raw(&b, "{\"x\":[]}", 8);
	jw_key(&b, "g");
	jw_bool(&b, true);
	jw_close(&b, '}');
	want = dumped(json_pack("{s:[i, {s:n}, [], b, n], s:{}, s:O, s:n, "
	                        "s:{s:[]}, s:b}",
	    "a", 1, "b", 0, "c", "d", detail, "e", "f", "x", "g", 1));
	ck_assert_str_eq(b.s, want);
	free(want);
	json_decref(detail);
	buf_free(&b);
}
END_TEST

START_TEST(test_failure_sticky)
{
	struct buf b = {.max = 8};
	size_t len;

	jw_open(&b, '[');
	jw_str(&b, "more than eight bytes");
	ck_assert(buf_failed(&b));
	len = b.len;
	ck_assert_uint_le(len, 8);
	jw_close(&b, ']');
	jw_int(&b, 1);
	ck_assert(buf_failed(&b));
	ck_assert_uint_eq(b.len, len); /* nothing appended after the failure */
	buf_free(&b);
}
END_TEST

static Suite *
jsonw_suite(void)
{
	Suite *s = suite_create("jsonw");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_ascii_byte);
	tcase_add_test(tc, test_utf8_kept);
	tcase_add_test(tc, test_invalid_utf8_replaced);
	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_nesting_and_separators);
	tcase_add_test(tc, test_failure_sticky);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jsonw_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
