/*
 * check_buf.c - unit tests for lib/buf.c: appends across growth, long
 * printf output, NUL termination, embedded NULs, the cap, sticky
 * failures, take/reset/consume/free.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"

START_TEST(test_append_growth)
{
	struct buf b = {0};
	char want[1000];

	for (size_t i = 0; i < sizeof(want); i++) {
		want[i] = (char)('a' + i % 26);
		ck_assert_int_eq(buf_append(&b, &want[i], 1), 0);
		ck_assert_uint_eq(b.len, i + 1);
		ck_assert_int_eq(b.s[b.len], '\0');
		ck_assert_uint_gt(b.cap, b.len);
	}
	ck_assert(memcmp(b.s, want, sizeof(want)) == 0);
	ck_assert(!buf_failed(&b));
	buf_free(&b);
	ck_assert_ptr_null(b.s);
	ck_assert_uint_eq(b.len, 0);
	buf_free(NULL);
}
END_TEST

START_TEST(test_empty_append)
{
	struct buf b = {0};

	ck_assert_int_eq(buf_append(&b, NULL, 0), 0);
	ck_assert_ptr_nonnull(b.s);
	ck_assert_str_eq(b.s, "");
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_long)
{
	struct buf b = {0};
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(buf_printf(&b, "<%d>", 42), 0);
	ck_assert_str_eq(b.s, "<42>");
	ck_assert_int_eq(buf_printf(&b, "%s|%s", big, "end"), 0);
	ck_assert_uint_eq(b.len, 4 + 4999 + 4);
	ck_assert_int_eq(strncmp(b.s, "<42>xxx", 7), 0);
	ck_assert_str_eq(b.s + b.len - 4, "|end");
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	ck_assert_uint_eq(b.len, 4 + 4999 + 4);
	buf_free(&b);
}
END_TEST

START_TEST(test_putc_adds)
{
	struct buf b = {0};

	ck_assert_int_eq(buf_putc(&b, 'a'), 0);
	buf_adds(&b, "bc");
	buf_add(&b, "de", 1);
	buf_addf(&b, "%03d", 7);
	ck_assert_str_eq(b.s, "abcd007");
	ck_assert_uint_eq(b.len, 7);
	buf_free(&b);
}
END_TEST

START_TEST(test_embedded_nul)
{
	struct buf b = {0};
	static const char bin[] = {'a', '\0', 'b', '\0', 'c'};
	char *s;
	size_t len = 99;

	ck_assert_int_eq(buf_append(&b, bin, sizeof(bin)), 0);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_int_eq(b.s[5], '\0');
	s = buf_take(&b, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(s, bin, sizeof(bin)) == 0);
	free(s);
}
END_TEST

START_TEST(test_take_reset)
{
	struct buf b = {0};
	char *s;
	size_t len = 99, cap;

	s = buf_take(&b, &len); /* never used: "" */
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
	buf_adds(&b, "hello");
	s = buf_take(&b, NULL);
	ck_assert_str_eq(s, "hello");
	ck_assert_ptr_null(b.s);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	free(s);
	buf_adds(&b, "again");
	cap = b.cap;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_str_eq(b.s, "");
	buf_adds(&b, "x");
	ck_assert_str_eq(b.s, "x");
	buf_free(&b);
}
END_TEST

START_TEST(test_consume)
{
	struct buf b = {0};

	buf_adds(&b, "abcdef");
	buf_consume(&b, 2);
	ck_assert_str_eq(b.s, "cdef");
	ck_assert_uint_eq(b.len, 4);
	buf_consume(&b, 10);
	ck_assert_str_eq(b.s, "");
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	buf_consume(&b, 1); /* on an empty, unallocated buffer */
	ck_assert_ptr_null(b.s);
}
END_TEST

START_TEST(test_max)
{
	struct buf b = {.max = 8};
	char *s;

	ck_assert_int_eq(buf_append(&b, "12345", 5), 0);
	ck_assert_int_eq(buf_printf(&b, "%s", "678"), 0); /* exactly max */
	ck_assert_int_eq(buf_putc(&b, '9'), -1);
	ck_assert(b.toobig);
	ck_assert(!b.oom);
	ck_assert(buf_failed(&b));
	ck_assert_str_eq(b.s, "12345678");
	/* sticky: even a byte that fits is refused */
	buf_reset(&b);
	buf_adds(&b, "1234567");
	ck_assert_int_eq(buf_append(&b, "89", 2), -1);
	ck_assert_int_eq(buf_append(&b, "", 0), -1);
	ck_assert_str_eq(b.s, "1234567");
	buf_addf(&b, "%d", 1);
	ck_assert_str_eq(b.s, "1234567");
	/* a toobig buffer hands over what it holds */
	s = buf_take(&b, NULL);
	ck_assert_str_eq(s, "1234567");
	free(s);
	ck_assert(!b.toobig);
	ck_assert_uint_eq(b.max, 8);
	buf_free(&b);
}
END_TEST

START_TEST(test_oom)
{
	struct buf b = {0};
	char *s;

	buf_adds(&b, "keep");
	/* an absurd size: len + n + 1 overflows size_t */
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 2), -1);
	ck_assert(b.oom);
	ck_assert(!b.toobig);
	ck_assert_str_eq(b.s, "keep");
	ck_assert_uint_eq(b.len, 4);
	/* sticky */
	ck_assert_int_eq(buf_putc(&b, 'y'), -1);
	ck_assert_int_eq(buf_printf(&b, "%d", 1), -1);
	ck_assert_str_eq(b.s, "keep");
	/* take gives NULL and empties the buffer */
	s = buf_take(&b, NULL);
	ck_assert_ptr_null(s);
	ck_assert(!b.oom);
	ck_assert_ptr_null(b.s);
	/* reset clears the flag too */
	buf_adds(&b, "a");
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX), -1);
	ck_assert(b.oom);
	buf_reset(&b);
	ck_assert(!buf_failed(&b));
	ck_assert_int_eq(buf_putc(&b, 'z'), 0);
	ck_assert_str_eq(b.s, "z");
	buf_free(&b);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_growth);
	tcase_add_test(tc, test_empty_append);
	tcase_add_test(tc, test_printf_long);
	tcase_add_test(tc, test_putc_adds);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_take_reset);
	tcase_add_test(tc, test_consume);
	tcase_add_test(tc, test_max);
	tcase_add_test(tc, test_oom);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
