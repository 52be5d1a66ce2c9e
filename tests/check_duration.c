/*
 * check_duration.c - unit tests for lib/duration.c: duration syntax (units,
 * order, overflow), the format/parse round trip, and byte sizes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "duration.h"

static const struct {
	const char *text;
	int64_t ms;
} good_durations[] = {
    {"90s", 90000},
    {"30m", 1800000},
    {"1h30m", 5400000},
    {"500ms", 500},
    {"1d", 86400000},
    {"1h0m", 3600000},
    {"0s", 0},
    {"0ms", 0},
    {"1d2h3m4s5ms", 93784005},
    {"1m1ms", 60001},
    {"007s", 7000},
    {"106751991167d", 106751991167LL * 86400000},
    {"9223372036854775807ms", INT64_MAX},
};

START_TEST(test_duration_good)
{
	struct gantry_error err = {0};
	int64_t ms = -1;

	ck_assert_msg(duration_parse(good_durations[_i].text, &ms, &err) == 0,
	    "duration_parse(\"%s\") failed: %s", good_durations[_i].text,
	    err.msg);
	ck_assert_msg(ms == good_durations[_i].ms,
	    "duration_parse(\"%s\") = %lld, want %lld", good_durations[_i].text,
	    (long long)ms, (long long)good_durations[_i].ms);
}
END_TEST

static const struct {
	const char *text;
	const char *what; /* substring of the message */
} bad_durations[] = {
    {"", "empty duration"},
    {"10", "missing unit"},
    {"1x", "unexpected unit"},
    {"1m1h", "unexpected unit"},
    {"1s1s", "unexpected unit"},
    {"1ms1s", "unexpected unit"},
    {"1h1h", "unexpected unit"},
    {"-1s", "bad duration \"-1s\""},
    {"+1s", "bad duration"},
    {"1.5h", "missing unit"},
    {" 1s", "bad duration"},
    {"1s ", "bad duration"},
    {"1 s", "missing unit"},
    {"1S", "unexpected unit"},
    {"1H", "unexpected unit"},
    {"s", "bad duration"},
    {"1h30", "bad duration"},
    {"9999999999999999999s", "bad duration"},
    {"9223372036854775808ms", "bad duration"},
    {"106751991168d", "too large"},
    {"9223372036854776s", "too large"},
    {"106751991167d1d", "unexpected unit"},
    {"106751991167d23h59m59s808ms", "too large"},
};

START_TEST(test_duration_bad)
{
	struct gantry_error err = {0};
	int64_t ms = 4242;

	ck_assert_msg(duration_parse(bad_durations[_i].text, &ms, &err) == -1,
	    "duration_parse(\"%s\") unexpectedly succeeded",
	    bad_durations[_i].text);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_msg(strstr(err.msg, bad_durations[_i].what) != NULL,
	    "message \"%s\" lacks \"%s\"", err.msg, bad_durations[_i].what);
	ck_assert_msg(
	    ms == 4242, "*out_ms changed to %lld on error", (long long)ms);
}
END_TEST

START_TEST(test_duration_null)
{
	struct gantry_error err = {0};
	int64_t ms = 7;

	ck_assert_int_eq(duration_parse(NULL, &ms, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_int_eq(ms, 7);
	/* err may be NULL. */
	ck_assert_int_eq(duration_parse("1q", &ms, NULL), -1);
	ck_assert_int_eq(ms, 7);
}
END_TEST

static const struct {
	const char *text;
	const char *canonical;
} round_trips[] = {
    {"90s", "1m30s"},
    {"30m", "30m"},
    {"1h30m", "1h30m"},
    {"500ms", "500ms"},
    {"1d", "1d"},
    {"1h0m", "1h"},
    {"0s", "0s"},
    {"0ms", "0s"},
    {"3600s", "1h"},
    {"1500ms", "1s500ms"},
    {"25h", "1d1h"},
    {"1d2h3m4s5ms", "1d2h3m4s5ms"},
    {"86400001ms", "1d1ms"},
    {"9223372036854775807ms", "106751991167d7h12m55s807ms"},
};

START_TEST(test_duration_round_trip)
{
	struct gantry_error err = {0};
	char buf[64], buf2[64];
	int64_t ms = -1, again = -1;

	ck_assert_msg(duration_parse(round_trips[_i].text, &ms, &err) == 0,
	    "duration_parse(\"%s\") failed: %s", round_trips[_i].text, err.msg);
	ck_assert_ptr_eq(duration_format(ms, buf, sizeof(buf)), buf);
	ck_assert_str_eq(buf, round_trips[_i].canonical);
	/* The canonical form parses back to the same value and is stable. */
	ck_assert_msg(duration_parse(buf, &again, &err) == 0,
	    "canonical \"%s\" does not parse: %s", buf, err.msg);
	ck_assert_int_eq(again, ms);
	duration_format(again, buf2, sizeof(buf2));
	ck_assert_str_eq(buf2, buf);
}
END_TEST

START_TEST(test_duration_format_edges)
{
	char buf[16];

	ck_assert_str_eq(duration_format(-5, buf, sizeof(buf)), "0s");
	ck_assert_str_eq(duration_format(1, buf, sizeof(buf)), "1ms");
	ck_assert_str_eq(duration_format(61000, buf, sizeof(buf)), "1m1s");
	/* Truncated output is still NUL-terminated within len. */
	memset(buf, 'X', sizeof(buf));
	duration_format(93784005, buf, 5);
	ck_assert_uint_lt(strlen(buf), 5);
	ck_assert_int_eq(buf[5], 'X');
	ck_assert_int_eq(strncmp(buf, "1d2h", strlen(buf)), 0);
	/* len 0 writes nothing. */
	buf[0] = 'Y';
	ck_assert_ptr_eq(duration_format(1000, buf, 0), buf);
	ck_assert_int_eq(buf[0], 'Y');
}
END_TEST

static const struct {
	const char *text;
	int64_t bytes;
} good_sizes[] = {
    {"1048576", 1048576},
    {"0", 0},
    {"1KiB", 1024},
    {"512KiB", 524288},
    {"1MiB", 1048576},
    {"2GiB", 2147483648LL},
    {"10B", 10},
    {"9223372036854775807", INT64_MAX},
    {"8589934591GiB", 8589934591LL * 1073741824LL},
};

START_TEST(test_size_good)
{
	struct gantry_error err = {0};
	int64_t n = -1;

	ck_assert_msg(size_parse(good_sizes[_i].text, &n, &err) == 0,
	    "size_parse(\"%s\") failed: %s", good_sizes[_i].text, err.msg);
	ck_assert_msg(n == good_sizes[_i].bytes, "size_parse(\"%s\") = %lld",
	    good_sizes[_i].text, (long long)n);
}
END_TEST

static const char *const bad_sizes[] = {
    "1 MiB",
    "1mb",
    "1MB",
    "1kib",
    "1K",
    "",
    "-1",
    "+1",
    " 1",
    "1 ",
    "MiB",
    "1.5MiB",
    "1MiBx",
    "9223372036854775808",
    "99999999999999999999",
    "8589934592GiB",
    "9007199254740992KiB",
};

START_TEST(test_size_bad)
{
	struct gantry_error err = {0};
	int64_t n = 99;

	ck_assert_msg(size_parse(bad_sizes[_i], &n, &err) == -1,
	    "size_parse(\"%s\") unexpectedly succeeded", bad_sizes[_i]);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_msg(strstr(err.msg, bad_sizes[_i]) != NULL,
	    "message \"%s\" does not quote the input", err.msg);
	ck_assert_int_eq(n, 99);
}
END_TEST

START_TEST(test_size_overflow_message)
{
	struct gantry_error err = {0};
	int64_t n = 0;

	ck_assert_int_eq(size_parse("8589934592GiB", &n, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "too large"));
	ck_assert_int_eq(size_parse("1mb", &n, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad size \"1mb\""));
	ck_assert_int_eq(size_parse(NULL, &n, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
}
END_TEST

#define N(a) (sizeof(a) / sizeof((a)[0]))

static Suite *
duration_suite(void)
{
	Suite *s = suite_create("duration");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_duration_good, 0, N(good_durations));
	tcase_add_loop_test(tc, test_duration_bad, 0, N(bad_durations));
	tcase_add_test(tc, test_duration_null);
	tcase_add_loop_test(tc, test_duration_round_trip, 0, N(round_trips));
	tcase_add_test(tc, test_duration_format_edges);
	tcase_add_loop_test(tc, test_size_good, 0, N(good_sizes));
	tcase_add_loop_test(tc, test_size_bad, 0, N(bad_sizes));
	tcase_add_test(tc, test_size_overflow_message);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(duration_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
