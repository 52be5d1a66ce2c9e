/*
 * check_pgarray.c - unit tests for lib/pgarray.c: the exact bytes of the
 * binary array format (header, dimension, big-endian elements, NULLs,
 * jsonb's version byte, the empty array) and sticky failures.  That the
 * server reads them back is tests/check_pg.c's test_binary_arrays.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "pgarray.h"

static void
assert_bytes(const char *got, size_t n, const unsigned char *want, size_t wn)
{
	ck_assert_uint_eq(n, wn);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg((unsigned char)got[i] == want[i],
		    "byte %zu: %02x, want %02x", i, (unsigned char)got[i],
		    want[i]);
}

START_TEST(test_int8_and_null)
{
	static const unsigned char want[] = {
	    0, 0, 0, 1, /* ndim */
	    0, 0, 0, 1, /* has NULLs */
	    0, 0, 0, 20, /* int8 */
	    0, 0, 0, 2, 0, 0, 0, 1, /* 2 elements from 1 */
	    0, 0, 0, 8, 0x80, 0, 0, 0, 0, 0, 0, 1, /* INT64_MIN + 1 */
	    0xff, 0xff, 0xff, 0xff, /* NULL */
	};
	struct pgarray a;
	size_t n;
	char *s;

	pga_init(&a, PGA_INT8);
	pga_int8(&a, INT64_MIN + 1);
	pga_null(&a);
	s = pga_finish(&a, &n);
	ck_assert_ptr_nonnull(s);
	assert_bytes(s, n, want, sizeof(want));
	free(s);
}
END_TEST

START_TEST(test_text_bool_int4_jsonb)
{
	static const unsigned char text[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	    25, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 'a', 0, 'b'};
	static const unsigned char jsonb[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
	    0x0e, 0xda, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 1, '[', ']'};
	static const unsigned char mixed[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	    16, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0};
	static const unsigned char int4[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	    23, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe};
	struct pgarray a;
	size_t n;
	char *s;

	pga_init(&a, PGA_TEXT);
	pga_bytes(&a, "a\0b", 3);
	s = pga_finish(&a, &n);
	assert_bytes(s, n, text, sizeof(text));
	free(s);
	pga_init(&a, PGA_JSONB);
	pga_str(&a, "[]");
	s = pga_finish(&a, &n);
	assert_bytes(s, n, jsonb, sizeof(jsonb));
	free(s);
	pga_init(&a, PGA_BOOL);
	pga_bool(&a, true);
	pga_bool(&a, false);
	s = pga_finish(&a, &n);
	assert_bytes(s, n, mixed, sizeof(mixed));
	free(s);
	pga_init(&a, PGA_INT4);
	pga_int4(&a, -2);
	s = pga_finish(&a, &n);
	assert_bytes(s, n, int4, sizeof(int4));
	free(s);
}
END_TEST

START_TEST(test_empty)
{
	static const unsigned char want[] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17};
	struct pgarray a;
	size_t n;
	char *s;

	pga_init(&a, PGA_BYTEA);
	s = pga_finish(&a, &n);
	assert_bytes(s, n, want, sizeof(want));
	free(s);
}
END_TEST

START_TEST(test_failure)
{
	struct pgarray a;
	size_t n = 99;

	pga_init(&a, PGA_TEXT);
	a.b.max = 24; /* the header and one short element */
	pga_str(&a, "ok");
	pga_str(&a, "this one does not fit");
	pga_str(&a, "x");
	ck_assert_ptr_null(pga_finish(&a, &n));
	ck_assert_uint_eq(n, 99);
	pga_free(&a); /* harmless after finish */
}
END_TEST

static Suite *
pgarray_suite(void)
{
	Suite *s = suite_create("pgarray");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_int8_and_null);
	tcase_add_test(tc, test_text_bool_int4_jsonb);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pgarray_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
