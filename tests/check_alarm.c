/*
 * check_alarm.c - unit tests for lib/alarm.c: the ring buffer, M of N with
 * gaps (no data is never good news), drop-to-zero, spikes against a median
 * baseline, relative one-box vs fleet alarms, reasons and the JSON record.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "alarm.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define X NAN /* a missing datapoint */
#define PERIOD 30000 /* ms */
#define T0 1700000000000LL /* ms */

/* An alarm "errors": above (or below) thr in m/n datapoints. */
static struct alarm_def
threshold_def(bool above, double thr, int m, int n)
{
	struct alarm_def d = {
	    .name = (char *)"errors",
	    .kind = ALARM_THRESHOLD,
	    .above = above,
	    .threshold = thr,
	    .has_threshold = true,
	    .period_ms = PERIOD,
	    .m = m,
	    .n = n,
	    .baseline_ms = 30 * 60000,
	};

	return d;
}

/* An anomaly alarm "traffic" of the given kind, 1/1, 30m baseline. */
static struct alarm_def
anomaly_def(enum alarm_kind kind, double factor)
{
	struct alarm_def d = {
	    .name = (char *)"traffic",
	    .kind = kind,
	    .period_ms = PERIOD,
	    .m = 1,
	    .n = 1,
	    .factor = factor,
	    .baseline_ms = 30 * 60000,
	};

	return d;
}

/* A relative alarm "canary", factor 2, 1/1, no threshold. */
static struct alarm_def
relative_def(void)
{
	struct alarm_def d = {
	    .name = (char *)"canary",
	    .kind = ALARM_THRESHOLD,
	    .period_ms = PERIOD,
	    .m = 1,
	    .n = 1,
	    .factor = 2.0,
	    .relative = true,
	    .baseline_ms = 30 * 60000,
	};

	return d;
}

/* A series of n values, one every PERIOD from start; caller frees. */
static struct alarm_series *
series_of(const double *v, size_t n, int64_t start)
{
	struct alarm_series *s = alarm_series_new(n + 8);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i++)
		alarm_series_push(s, start + (int64_t)i * PERIOD, v[i]);
	return s;
}

/* Evaluate and insist it succeeds. */
static struct alarm_verdict
eval_ok(const struct alarm_def *def, const struct alarm_series *s,
    int64_t baseline_end)
{
	struct alarm_verdict v;
	struct gantry_error err = {0};

	ck_assert_msg(alarm_evaluate(def, s, baseline_end, &v, &err) == 0,
	    "alarm_evaluate: %s", err.msg);
	ck_assert_msg(strlen(v.reason) > 0, "empty reason");
	return v;
}

static struct alarm_verdict
eval_relative_ok(const struct alarm_def *def, const struct alarm_series *box,
    const struct alarm_series *fleet)
{
	struct alarm_verdict v;
	struct gantry_error err = {0};

	ck_assert_msg(alarm_evaluate_relative(def, box, fleet, &v, &err) == 0,
	    "alarm_evaluate_relative: %s", err.msg);
	ck_assert_msg(strlen(v.reason) > 0, "empty reason");
	return v;
}

#define ck_assert_reason_has(v, needle)                                        \
	ck_assert_msg(strstr((v).reason, (needle)) != NULL,                    \
	    "reason \"%s\" lacks \"%s\"", (v).reason, (needle))

/* --- states and the series --------------------------------------------- */

START_TEST(test_state_names_round_trip)
{
	enum alarm_state all[] = {
	    ALARM_OK, ALARM_ALARM, ALARM_INSUFFICIENT_DATA};
	const char *names[] = {"ok", "alarm", "insufficient_data"};

	for (size_t i = 0; i < N(all); i++) {
		enum alarm_state back = ALARM_ALARM;

		ck_assert_str_eq(alarm_state_name(all[i]), names[i]);
		if (all[i] == ALARM_ALARM)
			back = ALARM_OK;
		ck_assert(alarm_state_parse(names[i], &back));
		ck_assert_int_eq(back, all[i]);
	}
}
END_TEST

START_TEST(test_state_parse_rejects)
{
	const char *bad[] = {"", "OK", "Alarm", "insufficient", "ok ",
	    "insufficient-data", "alarms"};
	enum alarm_state st = ALARM_ALARM;

	for (size_t i = 0; i < N(bad); i++) {
		ck_assert_msg(!alarm_state_parse(bad[i], &st), "%s", bad[i]);
		ck_assert_int_eq(st, ALARM_ALARM);
	}
	ck_assert(!alarm_state_parse(NULL, &st));
	ck_assert_str_eq(alarm_state_name((enum alarm_state)42), "unknown");
}
END_TEST

START_TEST(test_series_basics)
{
	struct alarm_series *s = alarm_series_new(4);

	ck_assert_ptr_null(alarm_series_new(0));
	ck_assert_ptr_null(alarm_series_new(ALARM_SERIES_MAX + 1));
	alarm_series_free(NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(alarm_series_len(s), 0);
	ck_assert_ptr_null(alarm_series_at(s, 0));
	alarm_series_push(s, 10, 1.5);
	alarm_series_push(s, 20, X);
	ck_assert_uint_eq(alarm_series_len(s), 2);
	ck_assert_int_eq(alarm_series_at(s, 0)->at, 10);
	ck_assert_double_eq(alarm_series_at(s, 0)->value, 1.5);
	ck_assert_int_eq(alarm_series_at(s, 1)->at, 20);
	ck_assert(isnan(alarm_series_at(s, 1)->value));
	ck_assert_ptr_null(alarm_series_at(s, 2));
	alarm_series_free(s);
}
END_TEST

START_TEST(test_series_wraparound)
{
	struct alarm_series *s = alarm_series_new(3);

	/* Push 0..7: only 5, 6, 7 stay, oldest first, across two wraps. */
	for (int i = 0; i < 8; i++)
		alarm_series_push(s, i * 1000, (double)i);
	ck_assert_uint_eq(alarm_series_len(s), 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(alarm_series_at(s, i)->at, (5 + i) * 1000);
		ck_assert_double_eq(alarm_series_at(s, i)->value, 5 + i);
	}
	ck_assert_ptr_null(alarm_series_at(s, 3));
	alarm_series_free(s);
}
END_TEST

START_TEST(test_series_wraparound_evaluates_newest)
{
	/* 3 breaches early, then 5 fine samples; a series of capacity 5
	 * forgot the breaches: OK, over exactly the 5 newest. */
	struct alarm_def d = threshold_def(true, 0.01, 1, 5);
	struct alarm_series *s = alarm_series_new(5);
	struct alarm_verdict v;

	for (int i = 0; i < 8; i++)
		alarm_series_push(s, T0 + i * PERIOD, i < 3 ? 0.5 : 0.001);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_int_eq(v.window, 5);
	ck_assert_int_eq(v.present, 5);
	ck_assert_int_eq(v.breaching, 0);
	/* One more breach lands in the window and fires. */
	alarm_series_push(s, T0 + 8 * PERIOD, 0.5);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_int_eq(v.breaching, 1);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_series_capacity)
{
	struct alarm_def t = threshold_def(true, 1, 3, 5);
	struct alarm_def a = anomaly_def(ALARM_SPIKE, 3);
	struct alarm_def z = anomaly_def(ALARM_DROP_TO_ZERO, 0);

	ck_assert_uint_eq(alarm_series_capacity(&t), 5 + ALARM_SERIES_SLACK);
	/* 30m of 30s samples is 60, plus N = 1. */
	ck_assert_uint_eq(
	    alarm_series_capacity(&a), 1 + 60 + ALARM_SERIES_SLACK);
	z.period_ms = 7 * 60000; /* 30m / 7m rounds up to 5 */
	ck_assert_uint_eq(
	    alarm_series_capacity(&z), 1 + 5 + ALARM_SERIES_SLACK);
	z.period_ms = 0; /* the default 30s */
	ck_assert_uint_eq(
	    alarm_series_capacity(&z), 1 + 60 + ALARM_SERIES_SLACK);
	a.period_ms = 1;
	a.baseline_ms = 86400LL * 1000 * 365;
	ck_assert_uint_eq(alarm_series_capacity(&a), ALARM_SERIES_MAX);
}
END_TEST

/* --- thresholds: M of N ------------------------------------------------- */

#define H 0.05 /* breaches 0.01 */
#define L 0.001 /* passes */

static const struct {
	double v[5];
	enum alarm_state want;
	int breaching, present;
} three_of_five[] = {
    {{L, L, L, L, L}, ALARM_OK, 0, 5},
    {{H, H, H, L, L}, ALARM_ALARM, 3, 5}, /* exactly M */
    {{H, L, H, L, H}, ALARM_ALARM, 3, 5},
    {{H, H, L, L, L}, ALARM_OK, 2, 5}, /* M - 1 */
    {{X, X, X, X, X}, ALARM_INSUFFICIENT_DATA, 0, 0}, /* all missing */
    {{L, L, L, X, X}, ALARM_OK, 0, 3}, /* gaps at the end */
    {{X, X, L, L, L}, ALARM_OK, 0, 3}, /* gaps at the start */
    {{L, X, L, X, L}, ALARM_OK, 0, 3}, /* gaps between */
    {{L, X, X, X, L}, ALARM_INSUFFICIENT_DATA, 0, 2},
    {{X, L, X, L, X}, ALARM_INSUFFICIENT_DATA, 0, 2},
    {{H, X, H, X, H}, ALARM_ALARM, 3, 3}, /* breaches around gaps */
    {{H, H, X, X, X}, ALARM_INSUFFICIENT_DATA, 2, 2},
    /* 2 breach, 2 pass: the missing one may have been the third. */
    {{H, H, X, L, L}, ALARM_INSUFFICIENT_DATA, 2, 4},
    {{0.01, 0.01, 0.01, 0.01, 0.01}, ALARM_OK, 0, 5}, /* > is strict */
};

START_TEST(test_threshold_m_of_n)
{
	struct alarm_def d = threshold_def(true, 0.01, 3, 5);
	struct alarm_series *s = series_of(three_of_five[_i].v, 5, T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_msg(v.state == three_of_five[_i].want,
	    "case %d: state %s, want %s (%s)", _i, alarm_state_name(v.state),
	    alarm_state_name(three_of_five[_i].want), v.reason);
	ck_assert_int_eq(v.breaching, three_of_five[_i].breaching);
	ck_assert_int_eq(v.present, three_of_five[_i].present);
	ck_assert_int_eq(v.window, 5);
	ck_assert_double_eq(v.limit, 0.01);
	ck_assert(isnan(v.baseline));
	alarm_series_free(s);
}
END_TEST

START_TEST(test_threshold_only_newest_n)
{
	/* Old breaches before the newest 3 do not count. */
	const double vals[] = {H, H, H, H, L, L, L};
	struct alarm_def d = threshold_def(true, 0.01, 1, 3);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_int_eq(v.window, 3);
	ck_assert_int_eq(v.breaching, 0);
	ck_assert_double_eq(v.last, L);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_threshold_below)
{
	/* Success rate below 0.99 in 2 of 3. */
	const double fires[] = {0.995, 0.97, 0.98};
	const double fine[] = {0.97, 0.995, 0.999};
	const double gap[] = {0.97, X, 0.999};
	struct alarm_def d = threshold_def(false, 0.99, 2, 3);
	struct alarm_series *s = series_of(fires, 3, T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_int_eq(v.breaching, 2);
	ck_assert_reason_has(v, "errors: 0.98 < 0.99 in 2 of the last 3");
	alarm_series_free(s);

	s = series_of(fine, 3, T0);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_int_eq(v.breaching, 1);
	alarm_series_free(s);

	/* 1 breach, 1 pass, 1 missing: N - M + 1 = 2 passing needed. */
	s = series_of(gap, 3, T0);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_threshold_one_of_one)
{
	const double missing[] = {X};
	const double fine[] = {L};
	const double high[] = {H};
	struct alarm_def d = threshold_def(true, 0.01, 1, 1);
	struct alarm_series *s = series_of(missing, 1, T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert(isnan(v.last));
	ck_assert_str_eq(v.reason,
	    "errors: only 0 of the last 1 datapoints present (needs 1)");
	alarm_series_free(s);
	s = series_of(fine, 1, T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_OK);
	alarm_series_free(s);
	s = series_of(high, 1, T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_ALARM);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_threshold_short_series)
{
	/* 3/5 on fewer than 5 samples: the ones not yet taken are missing. */
	const double three_fine[] = {L, L, L};
	const double two_fine[] = {L, L};
	const double three_high[] = {H, H, H};
	struct alarm_def d = threshold_def(true, 0.01, 3, 5);
	struct alarm_series *s = series_of(three_fine, 3, T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_int_eq(v.window, 3);
	alarm_series_free(s);

	s = series_of(two_fine, 2, T0);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert_int_eq(v.window, 2);
	alarm_series_free(s);

	s = series_of(three_high, 3, T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_ALARM);
	alarm_series_free(s);

	/* An empty series is no data. */
	s = alarm_series_new(5);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert_int_eq(v.window, 0);
	ck_assert(isnan(v.last));
	alarm_series_free(s);
}
END_TEST

START_TEST(test_threshold_reasons)
{
	const double fires[] = {0.02, L, 0.05, 0.034, L};
	const double sparse[] = {X, X, L, X, X};
	struct alarm_def d = threshold_def(true, 0.01, 3, 5);
	struct alarm_series *s = series_of(fires, 5, T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	/* The newest breaching value, the limit, M of N. */
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_str_eq(
	    v.reason, "errors: 0.034 > 0.01 in 3 of the last 5 datapoints");
	alarm_series_free(s);

	s = series_of(sparse, 5, T0);
	v = eval_ok(&d, s, 0);
	ck_assert_str_eq(v.reason,
	    "errors: only 1 of the last 5 datapoints present (needs 3)");
	alarm_series_free(s);
}
END_TEST

START_TEST(test_reason_truncated_on_utf8_boundary)
{
	/* A 302-byte name of 2-byte characters whose cut at 255 bytes
	 * falls after a lead byte. */
	char name[320] = "xx";
	struct alarm_def d = threshold_def(true, 0.01, 1, 1);
	const double vals[] = {H};
	struct alarm_series *s;
	struct alarm_verdict v;
	size_t len;

	for (size_t i = 2; i + 2 < 303; i += 2)
		memcpy(name + i, "\xc3\xa9", 3); /* é and the NUL */
	d.name = name;
	s = series_of(vals, 1, T0);
	v = eval_ok(&d, s, 0);
	len = strlen(v.reason);
	ck_assert_uint_lt(len, sizeof(v.reason));
	ck_assert_uint_eq(len, sizeof(v.reason) - 2);
	/* Ends on a whole character: the last lead byte has its tail. */
	ck_assert_int_eq((unsigned char)v.reason[len - 1], 0xa9);
	ck_assert_int_eq((unsigned char)v.reason[len - 2], 0xc3);
	alarm_series_free(s);
}
END_TEST

/* --- drop-to-zero ------------------------------------------------------- */

/* 4 baseline samples then the evaluation window. */
START_TEST(test_drop_to_zero_fires)
{
	const double vals[] = {120, 130, 110, 125, 0};
	struct alarm_def d = anomaly_def(ALARM_DROP_TO_ZERO, 0);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_double_eq(v.baseline, 122.5); /* median of 4 */
	ck_assert_double_eq(v.limit, 0);
	ck_assert_reason_has(v, "traffic: dropped to zero");
	ck_assert_reason_has(v, "122.5");
	alarm_series_free(s);
}
END_TEST

START_TEST(test_drop_to_zero_missing_counts_as_zero)
{
	/* 2 of 3: one zero and one missing fire it. */
	const double vals[] = {100, 100, 100, 0, 80, X};
	const double fine[] = {100, 100, 100, 90, 80, X};
	struct alarm_def d = anomaly_def(ALARM_DROP_TO_ZERO, 0);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v;

	d.m = 2;
	d.n = 3;
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_int_eq(v.breaching, 2);
	ck_assert_int_eq(v.present, 2);
	ck_assert_reason_has(v, "missing counts as zero");
	alarm_series_free(s);

	/* Only one zero-or-missing: OK. */
	s = series_of(fine, N(fine), T0);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_int_eq(v.breaching, 1);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_drop_to_zero_no_baseline)
{
	const double only_window[] = {0};
	const double nan_baseline[] = {X, X, X, 0};
	const double vals[] = {100, 100, 100, 0};
	struct alarm_def d = anomaly_def(ALARM_DROP_TO_ZERO, 0);
	struct alarm_series *s = series_of(only_window, 1, T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert_reason_has(v, "no baseline");
	ck_assert_reason_has(v, "30m");
	alarm_series_free(s);

	/* A baseline window of missing samples is no baseline either. */
	s = series_of(nan_baseline, N(nan_baseline), T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_INSUFFICIENT_DATA);
	alarm_series_free(s);

	/* An explicit pre-deployment window with no sample in it. */
	s = series_of(vals, N(vals), T0);
	v = eval_ok(&d, s, T0 - 3600000);
	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert(isnan(v.baseline));
	alarm_series_free(s);

	/* An empty series. */
	s = alarm_series_new(4);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_INSUFFICIENT_DATA);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_drop_to_zero_baseline_zero)
{
	const double vals[] = {0, 0, 0, 0};
	const double gone[] = {0, X, 0, X};
	struct alarm_def d = anomaly_def(ALARM_DROP_TO_ZERO, 0);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_double_eq(v.baseline, 0);
	ck_assert_reason_has(v, "no traffic before either");
	alarm_series_free(s);
	s = series_of(gone, N(gone), T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_OK);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_drop_to_zero_traffic_continues)
{
	const double vals[] = {100, 120, 110, 3};
	struct alarm_def d = anomaly_def(ALARM_DROP_TO_ZERO, 0);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	/* Low is not zero: that is for a threshold alarm. */
	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_int_eq(v.breaching, 0);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_drop_to_zero_explicit_baseline_window)
{
	/* Samples at T0 + k*30s.  The baseline is [end - 2m, end) with end
	 * at k = 6: k = 2..5 (10, 10, 10, 10); k = 0, 1 (0, 0) are older
	 * and k = 6.. newer.  Without the explicit end the 30m window
	 * before the evaluation window (k = 0..7) has a median of 5. */
	const double vals[] = {0, 0, 10, 10, 10, 10, 0, 0, 0};
	struct alarm_def d = anomaly_def(ALARM_DROP_TO_ZERO, 0);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v;

	d.baseline_ms = 2 * 60000;
	v = eval_ok(&d, s, T0 + 6 * PERIOD);
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_double_eq(v.baseline, 10);

	d.baseline_ms = 30 * 60000;
	v = eval_ok(&d, s, 0);
	ck_assert_double_eq(v.baseline, 5); /* (0+0+0+0+10+10+10+10)/8 */
	ck_assert_int_eq(v.state, ALARM_ALARM);
	/* The implicit window stops at baseline_ms: 1m before the last. */
	d.baseline_ms = 60000;
	v = eval_ok(&d, s, 0);
	ck_assert_double_eq(v.baseline, 0);
	ck_assert_int_eq(v.state, ALARM_OK);
	alarm_series_free(s);
}
END_TEST

/* --- spikes ------------------------------------------------------------- */

START_TEST(test_spike_median_not_mean)
{
	/* Baseline 1, 1, 1000, 1, 1: the mean (200.8) would hide 10; the
	 * median (1) does not. */
	const double vals[] = {1, 1, 1000, 1, 1, 10};
	struct alarm_def d = anomaly_def(ALARM_SPIKE, 3);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	ck_assert_double_eq(v.baseline, 1);
	ck_assert_double_eq(v.limit, 3);
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_reason_has(v, "traffic: 10 > 3 (3x baseline median 1)");
	ck_assert_reason_has(v, "in 1 of the last 1 datapoints");
	alarm_series_free(s);
}
END_TEST

START_TEST(test_spike_factor)
{
	const double under[] = {2, 2, 2, 5.9};
	const double at[] = {2, 2, 2, 6};
	const double over[] = {2, 2, 2, 6.1};
	struct alarm_def d = anomaly_def(ALARM_SPIKE, 3);
	struct alarm_series *s = series_of(under, 4, T0);

	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_OK);
	alarm_series_free(s);
	s = series_of(at, 4, T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_OK);
	alarm_series_free(s);
	s = series_of(over, 4, T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_ALARM);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_spike_floor)
{
	/* 0.0005 is 5x a 0.0001 baseline but under the 0.001 floor. */
	const double tiny[] = {0.0001, 0.0001, 0.0001, 0.0005};
	const double big[] = {0.0001, 0.0001, 0.0001, 0.002};
	struct alarm_def d = anomaly_def(ALARM_SPIKE, 3);
	struct alarm_series *s = series_of(tiny, 4, T0);
	struct alarm_verdict v;

	d.has_threshold = true;
	d.above = true;
	d.threshold = 0.001;
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_int_eq(v.breaching, 0);
	alarm_series_free(s);
	s = series_of(big, 4, T0);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_reason_has(v, "floor 0.001");
	alarm_series_free(s);
}
END_TEST

START_TEST(test_spike_zero_baseline)
{
	const double some[] = {0, 0, 0, 0.5};
	const double none[] = {0, 0, 0, 0};
	struct alarm_def d = anomaly_def(ALARM_SPIKE, 3);
	struct alarm_series *s = series_of(some, 4, T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	/* No floor: anything above a zero baseline is a spike. */
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_double_eq(v.limit, 0);
	alarm_series_free(s);
	s = series_of(none, 4, T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_OK);
	alarm_series_free(s);

	/* A floor keeps 0.5 from firing. */
	d.has_threshold = true;
	d.above = true;
	d.threshold = 1;
	s = series_of(some, 4, T0);
	ck_assert_int_eq(eval_ok(&d, s, 0).state, ALARM_OK);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_spike_missing_data)
{
	/* 2/3 with one sample present and passing: insufficient. */
	const double vals[] = {2, 2, 2, X, 2, X};
	const double none[] = {X, X, X, 50};
	struct alarm_def d = anomaly_def(ALARM_SPIKE, 3);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v;

	d.m = 2;
	d.n = 3;
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert_int_eq(v.present, 1);
	alarm_series_free(s);

	/* No present baseline sample: no baseline, even for a big value. */
	d.m = d.n = 1;
	s = series_of(none, N(none), T0);
	v = eval_ok(&d, s, 0);
	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert_reason_has(v, "no baseline");
	alarm_series_free(s);
}
END_TEST

/* --- relative (one-box vs fleet) ---------------------------------------- */

/* Evaluate a one-box and a fleet series of one value each. */
static struct alarm_verdict
relative_one(const struct alarm_def *d, double box, double fleet)
{
	struct alarm_series *b = series_of(&box, 1, T0);
	struct alarm_series *f = series_of(&fleet, 1, T0);
	struct alarm_verdict v = eval_relative_ok(d, b, f);

	alarm_series_free(b);
	alarm_series_free(f);
	return v;
}

START_TEST(test_relative_fires_and_passes)
{
	struct alarm_def d = relative_def();
	struct alarm_verdict v = relative_one(&d, 0.03, 0.01);

	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert(v.relative);
	ck_assert_double_eq_tol(v.limit, 0.02, 1e-12);
	ck_assert_double_eq(v.baseline, 0.01);
	ck_assert_reason_has(
	    v, "canary: one-box 0.03 > 2x fleet 0.01 in 1 of the last 1");

	v = relative_one(&d, 0.015, 0.01);
	ck_assert_int_eq(v.state, ALARM_OK);
	ck_assert_int_eq(v.breaching, 0);
	ck_assert_int_eq(v.present, 1);
}
END_TEST

START_TEST(test_relative_floor)
{
	struct alarm_def d = relative_def();

	/* 0.0002 vs 0.0001 is 2x, but under a 0.01 floor. */
	d.has_threshold = true;
	d.above = true;
	d.threshold = 0.01;
	ck_assert_int_eq(relative_one(&d, 0.0003, 0.0001).state, ALARM_OK);
	ck_assert_int_eq(relative_one(&d, 0.03, 0.001).state, ALARM_ALARM);
	/* Beyond the floor but not worse than the fleet: fine too. */
	ck_assert_int_eq(relative_one(&d, 0.03, 0.02).state, ALARM_OK);
}
END_TEST

START_TEST(test_relative_below)
{
	/* Success rate: worse means lower, below fleet / 2 and 0.99. */
	struct alarm_def d = relative_def();
	struct alarm_verdict v;

	d.has_threshold = true;
	d.above = false;
	d.threshold = 0.99;
	v = relative_one(&d, 0.4, 0.98);
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_double_eq(v.limit, 0.49);
	ck_assert_reason_has(v, "one-box 0.4 < fleet 0.98 / 2");
	ck_assert_int_eq(relative_one(&d, 0.6, 0.98).state, ALARM_OK);
	/* Half the fleet, but above the floor: not an alarm. */
	d.threshold = 0.3;
	ck_assert_int_eq(relative_one(&d, 0.4, 0.98).state, ALARM_OK);
}
END_TEST

START_TEST(test_relative_missing_pair)
{
	struct alarm_def d = relative_def();
	struct alarm_verdict v = relative_one(&d, X, 0.01);

	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert_int_eq(v.present, 0);
	ck_assert_reason_has(v, "only 0 of the last 1 datapoints present");
	v = relative_one(&d, 0.5, X);
	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert(isnan(v.limit));
}
END_TEST

START_TEST(test_relative_pairs_from_newest)
{
	/* The fleet has two older samples; pairs line up from the newest:
	 * (0.05, 0.01) (0.05, 0.01) (0.001, 0.01), and one missing. */
	const double box[] = {0.05, 0.05, X, 0.001};
	const double fleet[] = {0.5, 0.5, 0.01, 0.01, 0.01, 0.01};
	struct alarm_def d = relative_def();
	struct alarm_series *b = series_of(box, N(box), T0 + 2 * PERIOD);
	struct alarm_series *f = series_of(fleet, N(fleet), T0);
	struct alarm_verdict v;

	d.m = 2;
	d.n = 5;
	v = eval_relative_ok(&d, b, f);
	ck_assert_int_eq(v.window, 4);
	ck_assert_int_eq(v.present, 3);
	ck_assert_int_eq(v.breaching, 2);
	ck_assert_int_eq(v.state, ALARM_ALARM);
	ck_assert_double_eq(v.last, 0.001);
	alarm_series_free(b);
	alarm_series_free(f);
}
END_TEST

/* --- the decision record ---------------------------------------------- */

START_TEST(test_verdict_json)
{
	const double vals[] = {H, H, X, H, L, H};
	struct alarm_def d = threshold_def(true, 0.01, 3, 5);
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);
	json_t *j = alarm_verdict_to_json(&d, &v, s), *pts, *p;

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "alarm")), "errors");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "state")), "alarm");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "reason")), v.reason);
	ck_assert_str_eq(json_string_value(json_object_get(j, "rule")),
	    "above 0.01 in 3/5 datapoints");
	ck_assert_double_eq(
	    json_real_value(json_object_get(j, "threshold")), 0.01);
	ck_assert_double_eq(json_real_value(json_object_get(j, "limit")), 0.01);
	ck_assert(json_is_null(json_object_get(j, "baseline")));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(j, "breaching")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "present")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "window")), 5);
	/* The evaluation window: the newest 5, oldest first, null = missing. */
	pts = json_object_get(j, "datapoints");
	ck_assert_uint_eq(json_array_size(pts), 5);
	p = json_array_get(pts, 0);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(p, "at")), T0 + PERIOD);
	ck_assert_double_eq(json_real_value(json_object_get(p, "value")), H);
	p = json_array_get(pts, 1);
	ck_assert(json_is_null(json_object_get(p, "value")));
	ck_assert_ptr_nonnull(json_object_get(p, "at"));
	p = json_array_get(pts, 4);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(p, "at")), T0 + 5 * PERIOD);
	json_decref(j);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_verdict_json_rules)
{
	const double vals[] = {1, 1, 1, 1};
	struct alarm_def spike = anomaly_def(ALARM_SPIKE, 3);
	struct alarm_def drop = anomaly_def(ALARM_DROP_TO_ZERO, 0);
	struct alarm_def rel = relative_def();
	struct alarm_series *s = series_of(vals, N(vals), T0);
	struct alarm_verdict v = eval_ok(&spike, s, 0);
	json_t *j = alarm_verdict_to_json(&spike, &v, s);

	ck_assert_str_eq(json_string_value(json_object_get(j, "rule")),
	    "spike x3 over a 30m baseline");
	ck_assert_double_eq(json_real_value(json_object_get(j, "baseline")), 1);
	ck_assert_double_eq(json_real_value(json_object_get(j, "limit")), 3);
	ck_assert_ptr_null(json_object_get(j, "threshold"));
	json_decref(j);

	v = eval_ok(&drop, s, 0);
	j = alarm_verdict_to_json(&drop, &v, s);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "rule")), "drop-to-zero");
	json_decref(j);

	v = eval_relative_ok(&rel, s, s);
	j = alarm_verdict_to_json(&rel, &v, s);
	ck_assert_str_eq(json_string_value(json_object_get(j, "rule")),
	    "one-box above 2x the fleet");
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "ok");
	json_decref(j);
	alarm_series_free(s);
}
END_TEST

/* --- errors and the pass rule ------------------------------------------ */

START_TEST(test_push_alarm_fails)
{
	struct alarm_def d = {.name = (char *)"pager",
	    .source = ALARM_SRC_PUSH,
	    .kind = ALARM_STATE,
	    .m = 1,
	    .n = 1};
	struct alarm_series *s = alarm_series_new(4);
	struct gantry_error err = {0};
	struct alarm_verdict v;

	alarm_series_push(s, T0, 1);
	ck_assert_int_eq(alarm_evaluate(&d, s, 0, &v, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "pager"));
	ck_assert_ptr_nonnull(strstr(err.msg, "push"));
	gantry_error_clear(&err);
	ck_assert_int_eq(alarm_evaluate_relative(&d, s, s, &v, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_bad_definitions)
{
	struct alarm_def bad[5];
	struct alarm_series *s = alarm_series_new(4);
	struct alarm_verdict v;

	alarm_series_push(s, T0, 1);
	bad[0] = threshold_def(true, 0.01, 4, 3); /* M > N */
	bad[1] = threshold_def(true, 0.01, 0, 3); /* M < 1 */
	bad[2] = threshold_def(true, NAN, 1, 1);
	bad[3] = relative_def(); /* no threshold: fleet only */
	bad[4] = anomaly_def(ALARM_SPIKE, 0); /* no factor */
	for (size_t i = 0; i < N(bad); i++) {
		struct gantry_error err = {0};

		ck_assert_msg(alarm_evaluate(&bad[i], s, 0, &v, &err) == -1,
		    "case %zu evaluated", i);
		ck_assert_int_eq(err.code, GANTRY_EINVAL);
		ck_assert_msg(strlen(err.msg) > 0, "case %zu: no message", i);
	}
	/* A relative alarm needs a positive factor and a threshold kind. */
	bad[3].factor = 0;
	ck_assert_int_eq(alarm_evaluate_relative(&bad[3], s, s, &v, NULL), -1);
	ck_assert_int_eq(alarm_evaluate_relative(&bad[4], s, s, &v, NULL), -1);
	alarm_series_free(s);
}
END_TEST

START_TEST(test_verdict_passes)
{
	const double vals[] = {X};
	struct alarm_def d = threshold_def(true, 0.01, 1, 1);
	struct alarm_series *s = series_of(vals, 1, T0);
	struct alarm_verdict v = eval_ok(&d, s, 0);

	/* No data never passes, unless the alarm says so. */
	ck_assert_int_eq(v.state, ALARM_INSUFFICIENT_DATA);
	ck_assert(!alarm_verdict_passes(&d, &v));
	d.missing_data_ok = true;
	ck_assert(alarm_verdict_passes(&d, &v));
	v.state = ALARM_ALARM;
	ck_assert(!alarm_verdict_passes(&d, &v));
	v.state = ALARM_OK;
	d.missing_data_ok = false;
	ck_assert(alarm_verdict_passes(&d, &v));
	alarm_series_free(s);
}
END_TEST

static Suite *
alarm_suite(void)
{
	Suite *s = suite_create("alarm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_state_names_round_trip);
	tcase_add_test(tc, test_state_parse_rejects);
	tcase_add_test(tc, test_series_basics);
	tcase_add_test(tc, test_series_wraparound);
	tcase_add_test(tc, test_series_wraparound_evaluates_newest);
	tcase_add_test(tc, test_series_capacity);
	tcase_add_loop_test(tc, test_threshold_m_of_n, 0, N(three_of_five));
	tcase_add_test(tc, test_threshold_only_newest_n);
	tcase_add_test(tc, test_threshold_below);
	tcase_add_test(tc, test_threshold_one_of_one);
	tcase_add_test(tc, test_threshold_short_series);
	tcase_add_test(tc, test_threshold_reasons);
	tcase_add_test(tc, test_reason_truncated_on_utf8_boundary);
	tcase_add_test(tc, test_drop_to_zero_fires);
	tcase_add_test(tc, test_drop_to_zero_missing_counts_as_zero);
	tcase_add_test(tc, test_drop_to_zero_no_baseline);
	tcase_add_test(tc, test_drop_to_zero_baseline_zero);
	tcase_add_test(tc, test_drop_to_zero_traffic_continues);
	tcase_add_test(tc, test_drop_to_zero_explicit_baseline_window);
	tcase_add_test(tc, test_spike_median_not_mean);
	tcase_add_test(tc, test_spike_factor);
	tcase_add_test(tc, test_spike_floor);
	tcase_add_test(tc, test_spike_zero_baseline);
	tcase_add_test(tc, test_spike_missing_data);
	tcase_add_test(tc, test_relative_fires_and_passes);
	tcase_add_test(tc, test_relative_floor);
	tcase_add_test(tc, test_relative_below);
	tcase_add_test(tc, test_relative_missing_pair);
	tcase_add_test(tc, test_relative_pairs_from_newest);
	tcase_add_test(tc, test_verdict_json);
	tcase_add_test(tc, test_verdict_json_rules);
	tcase_add_test(tc, test_push_alarm_fails);
	tcase_add_test(tc, test_bad_definitions);
	tcase_add_test(tc, test_verdict_passes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(alarm_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
