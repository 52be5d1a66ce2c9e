/*
 * check_window.c - unit tests for lib/window.c: allow rules across both
 * 2026 DST changes in America/Los_Angeles and Europe/Berlin (elapsed-time
 * durations, local times that do not exist or occur twice), freezes, deny
 * calendars (holiday, weekly RRULE with EXDATE, all-day events), several
 * window sets at once, next_open/next_change, and the validation helpers.
 *
 * Every expected instant is written in UTC and worked out by hand in the
 * comment next to it; utc() only turns UTC fields into seconds (timegm),
 * so no time zone logic of the code under test is reused here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "window.h"

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_S 86400

#define LA "America/Los_Angeles"
#define BERLIN "Europe/Berlin"
#define WEEKDAYS_9 "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Seconds since the epoch of a UTC date and time. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static const char *
fmt(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == INT64_MAX)
		snprintf(buf, len, "INT64_MAX");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
	return buf;
}

/* A window set with one allow rule (rule must outlive the set). */
static struct windows
allow1(struct window_allow *rule)
{
	struct windows w = {0};

	w.allow = rule;
	w.nallow = 1;
	return w;
}

static bool
is_open_n(const struct windows *const *w, size_t nw, int64_t t, char *reason,
    size_t rlen)
{
	struct gantry_error err = {0};
	bool open = false;

	ck_assert_msg(window_is_open(w, nw, t, &open, reason, rlen, &err) == 0,
	    "window_is_open failed: %s", err.msg);
	return open;
}

static bool
is_open(const struct windows *w, int64_t t)
{
	const struct windows *ws[] = {w};

	return is_open_n(ws, 1, t, NULL, 0);
}

static int64_t
next_open_n(const struct windows *const *w, size_t nw, int64_t t)
{
	struct gantry_error err = {0};
	int64_t when = -1;

	ck_assert_msg(window_next_open(w, nw, t, &when, &err) == 0,
	    "window_next_open failed: %s", err.msg);
	ck_assert_int_ge(when, t);
	return when;
}

static int64_t
next_open(const struct windows *w, int64_t t)
{
	const struct windows *ws[] = {w};

	return next_open_n(ws, 1, t);
}

static int64_t
next_change_n(const struct windows *const *w, size_t nw, int64_t t)
{
	struct gantry_error err = {0};
	int64_t when = -1;

	ck_assert_msg(window_next_change(w, nw, t, &when, &err) == 0,
	    "window_next_change failed: %s", err.msg);
	return when;
}

static int64_t
next_change(const struct windows *w, int64_t t)
{
	const struct windows *ws[] = {w};

	return next_change_n(ws, 1, t);
}

#define ASSERT_OPEN(w, t, want)                                                \
	do {                                                                   \
		char b_[32];                                                   \
		ck_assert_msg(is_open((w), (t)) == (want),                     \
		    "at %s expected %s", fmt((t), b_, sizeof(b_)),             \
		    (want) ? "open" : "closed");                               \
	} while (0)

#define ASSERT_T(got, want)                                                    \
	do {                                                                   \
		char g_[32], w_[32];                                           \
		int64_t gv_ = (got), wv_ = (want);                             \
		ck_assert_msg(gv_ == wv_, "got %s, want %s",                   \
		    fmt(gv_, g_, sizeof(g_)), fmt(wv_, w_, sizeof(w_)));       \
	} while (0)

/* One probe: an instant and whether the rule is open then. */
struct probe {
	int64_t t;
	bool open;
	const char *what;
};

static void
run_probes(struct window_allow *rule, const struct probe *p, size_t n)
{
	struct windows w = allow1(rule);

	for (size_t i = 0; i < n; i++) {
		char b[32];

		ck_assert_msg(is_open(&w, p[i].t) == p[i].open,
		    "%s (%s): expected %s", p[i].what,
		    fmt(p[i].t, b, sizeof(b)), p[i].open ? "open" : "closed");
	}
}

/* ---- weekday 09:00 + 7h across DST ------------------------------------ */

/*
 * America/Los_Angeles springs forward on Sun 2026-03-08 02:00 PST -> 03:00
 * PDT.  Fri 03-06 is PST (UTC-8): 09:00 = 17:00Z, 16:00 = 03-07 00:00Z.
 * Mon 03-09 is PDT (UTC-7): 09:00 = 16:00Z, 16:00 = 23:00Z.
 */
START_TEST(test_la_spring)
{
	struct window_allow r = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	const struct probe p[] = {
	    {utc(2026, 3, 6, 16, 59, 59), false, "Fri 08:59:59 PST"},
	    {utc(2026, 3, 6, 17, 0, 0), true, "Fri 09:00 PST"},
	    {utc(2026, 3, 6, 23, 59, 59), true, "Fri 15:59:59 PST"},
	    {utc(2026, 3, 7, 0, 0, 0), false, "Fri 16:00 PST"},
	    {utc(2026, 3, 7, 18, 0, 0), false, "Sat 10:00 PST"},
	    {utc(2026, 3, 9, 15, 59, 59), false, "Mon 08:59:59 PDT"},
	    {utc(2026, 3, 9, 16, 0, 0), true, "Mon 09:00 PDT"},
	    {utc(2026, 3, 9, 22, 59, 59), true, "Mon 15:59:59 PDT"},
	    {utc(2026, 3, 9, 23, 0, 0), false, "Mon 16:00 PDT"},
	    /* 17:00Z on Monday is 10:00 PDT: open (it would be 09:00 PST) */
	    {utc(2026, 3, 9, 23, 30, 0), false, "Mon 16:30 PDT"},
	};

	run_probes(&r, p, N(p));
}
END_TEST

/*
 * LA falls back on Sun 2026-11-01 02:00 PDT -> 01:00 PST.  Fri 10-30 is
 * PDT: 09:00 = 16:00Z, 16:00 = 23:00Z.  Mon 11-02 is PST: 09:00 = 17:00Z,
 * 16:00 = 11-03 00:00Z.
 */
START_TEST(test_la_fall)
{
	struct window_allow r = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	const struct probe p[] = {
	    {utc(2026, 10, 30, 15, 59, 59), false, "Fri 08:59:59 PDT"},
	    {utc(2026, 10, 30, 16, 0, 0), true, "Fri 09:00 PDT"},
	    {utc(2026, 10, 30, 22, 59, 59), true, "Fri 15:59:59 PDT"},
	    {utc(2026, 10, 30, 23, 0, 0), false, "Fri 16:00 PDT"},
	    {utc(2026, 11, 2, 16, 0, 0), false, "Mon 08:00 PST"},
	    {utc(2026, 11, 2, 16, 59, 59), false, "Mon 08:59:59 PST"},
	    {utc(2026, 11, 2, 17, 0, 0), true, "Mon 09:00 PST"},
	    {utc(2026, 11, 2, 23, 59, 59), true, "Mon 15:59:59 PST"},
	    {utc(2026, 11, 3, 0, 0, 0), false, "Mon 16:00 PST"},
	};

	run_probes(&r, p, N(p));
}
END_TEST

/*
 * Europe/Berlin springs forward on Sun 2026-03-29 02:00 CET -> 03:00 CEST.
 * Fri 03-27 is CET (UTC+1): 09:00 = 08:00Z, 16:00 = 15:00Z.  Mon 03-30 is
 * CEST (UTC+2): 09:00 = 07:00Z, 16:00 = 14:00Z.
 */
START_TEST(test_berlin_spring)
{
	struct window_allow r = {WEEKDAYS_9, 7 * HOUR_MS, BERLIN};
	const struct probe p[] = {
	    {utc(2026, 3, 27, 7, 59, 59), false, "Fri 08:59:59 CET"},
	    {utc(2026, 3, 27, 8, 0, 0), true, "Fri 09:00 CET"},
	    {utc(2026, 3, 27, 14, 59, 59), true, "Fri 15:59:59 CET"},
	    {utc(2026, 3, 27, 15, 0, 0), false, "Fri 16:00 CET"},
	    {utc(2026, 3, 30, 6, 59, 59), false, "Mon 08:59:59 CEST"},
	    {utc(2026, 3, 30, 7, 0, 0), true, "Mon 09:00 CEST"},
	    {utc(2026, 3, 30, 13, 59, 59), true, "Mon 15:59:59 CEST"},
	    {utc(2026, 3, 30, 14, 0, 0), false, "Mon 16:00 CEST"},
	};

	run_probes(&r, p, N(p));
}
END_TEST

/*
 * Berlin falls back on Sun 2026-10-25 03:00 CEST -> 02:00 CET.  Fri 10-23
 * is CEST: 09:00 = 07:00Z, 16:00 = 14:00Z.  Mon 10-26 is CET: 09:00 =
 * 08:00Z, 16:00 = 15:00Z.
 */
START_TEST(test_berlin_fall)
{
	struct window_allow r = {WEEKDAYS_9, 7 * HOUR_MS, BERLIN};
	const struct probe p[] = {
	    {utc(2026, 10, 23, 6, 59, 59), false, "Fri 08:59:59 CEST"},
	    {utc(2026, 10, 23, 7, 0, 0), true, "Fri 09:00 CEST"},
	    {utc(2026, 10, 23, 13, 59, 59), true, "Fri 15:59:59 CEST"},
	    {utc(2026, 10, 23, 14, 0, 0), false, "Fri 16:00 CEST"},
	    {utc(2026, 10, 26, 7, 59, 59), false, "Mon 08:59:59 CET"},
	    {utc(2026, 10, 26, 8, 0, 0), true, "Mon 09:00 CET"},
	    {utc(2026, 10, 26, 14, 59, 59), true, "Mon 15:59:59 CET"},
	    {utc(2026, 10, 26, 15, 0, 0), false, "Mon 16:00 CET"},
	};

	run_probes(&r, p, N(p));
}
END_TEST

/* ---- a window spanning the change: elapsed seconds --------------------- */

/*
 * FREQ=DAILY;BYHOUR=0 + 7h.  LA 2026-03-08: 00:00 PST = 08:00Z, + 7h
 * elapsed = 15:00Z = 08:00 PDT (wall-clock +7h would end at 07:00 PDT =
 * 14:00Z, so 07:30 PDT = 14:30Z tells the two apart).  LA 2026-11-01:
 * 00:00 PDT = 07:00Z, + 7h = 14:00Z = 06:00 PST (wall clock: 07:00 PST =
 * 15:00Z; 06:30 PST = 14:30Z tells them apart).
 */
START_TEST(test_spanning_change_la)
{
	struct window_allow r = {"FREQ=DAILY;BYHOUR=0", 7 * HOUR_MS, LA};
	const struct probe p[] = {
	    {utc(2026, 3, 8, 7, 59, 59), false, "03-07 23:59:59 PST"},
	    {utc(2026, 3, 8, 8, 0, 0), true, "03-08 00:00 PST"},
	    {utc(2026, 3, 8, 14, 30, 0), true, "03-08 07:30 PDT"},
	    {utc(2026, 3, 8, 14, 59, 59), true, "03-08 07:59:59 PDT"},
	    {utc(2026, 3, 8, 15, 0, 0), false, "03-08 08:00 PDT"},
	    {utc(2026, 11, 1, 6, 59, 59), false, "10-31 23:59:59 PDT"},
	    {utc(2026, 11, 1, 7, 0, 0), true, "11-01 00:00 PDT"},
	    {utc(2026, 11, 1, 13, 59, 59), true, "11-01 05:59:59 PST"},
	    {utc(2026, 11, 1, 14, 0, 0), false, "11-01 06:00 PST"},
	    {utc(2026, 11, 1, 14, 30, 0), false, "11-01 06:30 PST"},
	};

	run_probes(&r, p, N(p));
}
END_TEST

/*
 * Berlin 2026-03-29: 00:00 CET = 03-28 23:00Z, + 7h = 06:00Z = 08:00 CEST.
 * Berlin 2026-10-25: 00:00 CEST = 10-24 22:00Z, + 7h = 05:00Z = 06:00 CET.
 */
START_TEST(test_spanning_change_berlin)
{
	struct window_allow r = {"FREQ=DAILY;BYHOUR=0", 7 * HOUR_MS, BERLIN};
	const struct probe p[] = {
	    {utc(2026, 3, 28, 22, 59, 59), false, "03-28 23:59:59 CET"},
	    {utc(2026, 3, 28, 23, 0, 0), true, "03-29 00:00 CET"},
	    {utc(2026, 3, 29, 5, 30, 0), true, "03-29 07:30 CEST"},
	    {utc(2026, 3, 29, 5, 59, 59), true, "03-29 07:59:59 CEST"},
	    {utc(2026, 3, 29, 6, 0, 0), false, "03-29 08:00 CEST"},
	    {utc(2026, 10, 24, 21, 59, 59), false, "10-24 23:59:59 CEST"},
	    {utc(2026, 10, 24, 22, 0, 0), true, "10-25 00:00 CEST"},
	    {utc(2026, 10, 25, 4, 59, 59), true, "10-25 05:59:59 CET"},
	    {utc(2026, 10, 25, 5, 0, 0), false, "10-25 06:00 CET"},
	    {utc(2026, 10, 25, 5, 30, 0), false, "10-25 06:30 CET"},
	};

	run_probes(&r, p, N(p));
}
END_TEST

/*
 * Local times that do not exist or occur twice resolve as libical does
 * (PLATFORM.md section 6): 02:30 on 2026-03-08 in LA does not exist and
 * becomes 09:30Z (01:30 PST on the wall); 01:30 on 2026-11-01 occurs twice
 * and becomes the later, PST one: 09:30Z.  Neighbouring days: 03-07 02:30
 * PST = 10:30Z, 03-09 02:30 PDT = 09:30Z, 10-31 01:30 PDT = 08:30Z, 11-02
 * 01:30 PST = 09:30Z.
 */
START_TEST(test_nonexistent_and_repeated_local_time)
{
	struct window_allow spring = {
	    "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", HOUR_MS, LA};
	struct window_allow fall = {
	    "FREQ=DAILY;BYHOUR=1;BYMINUTE=30", HOUR_MS, LA};
	const struct probe ps[] = {
	    {utc(2026, 3, 7, 10, 29, 59), false, "03-07 02:29:59 PST"},
	    {utc(2026, 3, 7, 10, 30, 0), true, "03-07 02:30 PST"},
	    {utc(2026, 3, 8, 9, 29, 59), false, "03-08 01:29:59 PST"},
	    {utc(2026, 3, 8, 9, 30, 0), true, "03-08 02:30 (none) = 09:30Z"},
	    {utc(2026, 3, 8, 10, 29, 59), true, "03-08 03:29:59 PDT"},
	    {utc(2026, 3, 8, 10, 30, 0), false, "03-08 03:30 PDT"},
	    {utc(2026, 3, 9, 9, 30, 0), true, "03-09 02:30 PDT"},
	    /* not 03:30 PDT as a zoned libical iterator would say */
	    {utc(2026, 3, 9, 10, 30, 0), false, "03-09 03:30 PDT"},
	};
	const struct probe pf[] = {
	    {utc(2026, 10, 31, 8, 30, 0), true, "10-31 01:30 PDT"},
	    {utc(2026, 11, 1, 8, 30, 0), false, "11-01 01:30 PDT (first)"},
	    {utc(2026, 11, 1, 9, 30, 0), true, "11-01 01:30 PST (second)"},
	    {utc(2026, 11, 1, 10, 29, 59), true, "11-01 02:29:59 PST"},
	    {utc(2026, 11, 1, 10, 30, 0), false, "11-01 02:30 PST"},
	    {utc(2026, 11, 2, 9, 30, 0), true, "11-02 01:30 PST"},
	};

	run_probes(&spring, ps, N(ps));
	run_probes(&fall, pf, N(pf));
}
END_TEST

/* Parts a rule leaves out come from the anchor 2001-01-01T00:00:00 local:
 * weekly on Mondays at midnight. */
START_TEST(test_anchor_defaults)
{
	struct window_allow r = {"FREQ=WEEKLY", HOUR_MS, BERLIN};
	const struct probe p[] = {
	    /* Mon 2026-01-05 00:00 CET = 01-04 23:00Z */
	    {utc(2026, 1, 4, 22, 59, 59), false, "Sun 23:59:59 CET"},
	    {utc(2026, 1, 4, 23, 0, 0), true, "Mon 00:00 CET"},
	    {utc(2026, 1, 4, 23, 59, 59), true, "Mon 00:59:59 CET"},
	    {utc(2026, 1, 5, 0, 0, 0), false, "Mon 01:00 CET"},
	    {utc(2026, 1, 6, 23, 0, 0), false, "Wed 00:00 CET"},
	};

	run_probes(&r, p, N(p));
}
END_TEST

/* ---- next_open, next_change -------------------------------------------- */

/* Fri 2026-03-06 18:00 PST = 03-07 02:00Z; the next opening is Mon 03-09
 * 09:00 PDT = 16:00Z, after the spring change. */
START_TEST(test_next_open_friday_evening)
{
	struct window_allow r = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	struct windows w = allow1(&r);

	ASSERT_T(
	    next_open(&w, utc(2026, 3, 7, 2, 0, 0)), utc(2026, 3, 9, 16, 0, 0));
	/* already open: t itself (Mon 10:00 PDT = 17:00Z) */
	ASSERT_T(next_open(&w, utc(2026, 3, 9, 17, 0, 0)),
	    utc(2026, 3, 9, 17, 0, 0));
	/* Fri 2026-10-30 17:00 PDT = 10-31 00:00Z -> Mon 11-02 09:00 PST =
	 * 17:00Z, after the fall change */
	ASSERT_T(next_open(&w, utc(2026, 10, 31, 0, 0, 0)),
	    utc(2026, 11, 2, 17, 0, 0));
	/* Berlin: Fri 2026-03-27 17:00 CET = 16:00Z -> Mon 03-30 09:00 CEST
	 * = 07:00Z */
	r.timezone = BERLIN;
	ASSERT_T(next_open(&w, utc(2026, 3, 27, 16, 0, 0)),
	    utc(2026, 3, 30, 7, 0, 0));
}
END_TEST

START_TEST(test_next_change)
{
	struct window_allow r = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	struct windows w = allow1(&r);
	struct windows empty = {0};
	struct window_freeze past = {
	    utc(2020, 1, 1, 0, 0, 0), utc(2020, 1, 2, 0, 0, 0), "old"};

	/* Fri 03-06 04:00 PST (12:00Z), closed: opens at 09:00 PST = 17:00Z */
	ASSERT_T(next_change(&w, utc(2026, 3, 6, 12, 0, 0)),
	    utc(2026, 3, 6, 17, 0, 0));
	/* at the opening itself: the next change is its end, 16:00 PST */
	ASSERT_T(next_change(&w, utc(2026, 3, 6, 17, 0, 0)),
	    utc(2026, 3, 7, 0, 0, 0));
	/* Sat 03-07 02:00Z: Mon 09:00 PDT = 03-09 16:00Z */
	ASSERT_T(next_change(&w, utc(2026, 3, 7, 2, 0, 0)),
	    utc(2026, 3, 9, 16, 0, 0));
	/* nothing ever changes */
	ASSERT_T(next_change(&empty, utc(2026, 3, 7, 2, 0, 0)), INT64_MAX);
	empty.freeze = &past;
	empty.nfreeze = 1;
	ASSERT_T(next_change(&empty, utc(2026, 3, 7, 2, 0, 0)), INT64_MAX);
	ASSERT_T(next_change_n(NULL, 0, utc(2026, 3, 7, 2, 0, 0)), INT64_MAX);
}
END_TEST

/* An allow rule whose UNTIL is over never opens again. */
START_TEST(test_next_open_never)
{
	struct window_allow r = {
	    "FREQ=DAILY;BYHOUR=9;UNTIL=20250101T000000Z", HOUR_MS, LA};
	struct windows w = allow1(&r);
	const struct windows *ws[] = {&w};
	struct gantry_error err = {0};
	int64_t when = 42;
	struct window_freeze f = {
	    utc(2026, 1, 1, 0, 0, 0), utc(2028, 1, 1, 0, 0, 0), "long"};
	struct windows frozen = {0};

	ck_assert_int_eq(
	    window_next_open(ws, 1, utc(2026, 1, 1, 0, 0, 0), &when, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "400 days"));
	ck_assert_int_eq(when, 42);
	ASSERT_OPEN(&w, utc(2024, 12, 31, 17, 30, 0), true); /* 09:30 PST */
	ASSERT_OPEN(&w, utc(2025, 1, 1, 17, 30, 0), false);

	/* a freeze longer than the horizon */
	frozen.freeze = &f;
	frozen.nfreeze = 1;
	ws[0] = &frozen;
	ck_assert_int_eq(
	    window_next_open(ws, 1, utc(2026, 1, 1, 0, 0, 0), &when, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_ENOENT);
}
END_TEST

/* UNTIL is an instant (RFC 5545: inclusive); 2024-12-31 09:00 PST is
 * 17:00Z. */
START_TEST(test_until_is_an_instant)
{
	struct window_allow in = {
	    "FREQ=DAILY;BYHOUR=9;UNTIL=20241231T170000Z", HOUR_MS, LA};
	struct window_allow out = {
	    "FREQ=DAILY;BYHOUR=9;UNTIL=20241231T165959Z", HOUR_MS, LA};
	struct windows wi = allow1(&in), wo = allow1(&out);

	ASSERT_OPEN(&wi, utc(2024, 12, 31, 17, 30, 0), true);
	ASSERT_OPEN(&wo, utc(2024, 12, 31, 17, 30, 0), false);
	ASSERT_OPEN(&wo, utc(2024, 12, 30, 17, 30, 0), true);
}
END_TEST

/* A daily rule over most of the horizon: next_open stays cheap. */
START_TEST(test_next_open_long_search)
{
	/* open only on 12-31 from 10:00 Berlin; frozen until 12-30 */
	struct window_allow r = {
	    "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31;BYHOUR=10", HOUR_MS, BERLIN};
	struct window_allow d = {"FREQ=DAILY;BYHOUR=9", 8 * HOUR_MS, LA};
	struct windows a = allow1(&r), b = allow1(&d);
	const struct windows *ws[] = {&a, &b};

	/* 2026-12-31 10:00 CET = 09:00Z; LA daily window 09:00 PST = 17:00Z
	 * .. 01:00Z does not overlap [09:00Z, 10:00Z): never both open on
	 * that day; next year's is beyond the horizon */
	struct gantry_error err = {0};
	int64_t when = 0;

	ASSERT_T(next_open(&a, utc(2026, 1, 2, 0, 0, 0)),
	    utc(2026, 12, 31, 9, 0, 0));
	ck_assert_int_eq(
	    window_next_open(ws, 2, utc(2026, 1, 2, 0, 0, 0), &when, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_ENOENT);
	/* widen LA's to 18h: 12-31 09:00 PST = 17:00Z to 12-31 11:00Z...
	 * the 12-30 occurrence runs 12-30 17:00Z .. 12-31 11:00Z, so both
	 * are open at 12-31 09:00Z */
	d.duration_ms = 18 * HOUR_MS;
	ASSERT_T(next_open_n(ws, 2, utc(2026, 1, 2, 0, 0, 0)),
	    utc(2026, 12, 31, 9, 0, 0));
}
END_TEST

/* ---- freezes ------------------------------------------------------------ */

START_TEST(test_freeze)
{
	struct window_allow r = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	struct window_freeze f[] = {
	    /* all of Mon 2026-03-09 UTC */
	    {utc(2026, 3, 9, 0, 0, 0), utc(2026, 3, 10, 0, 0, 0),
	        "release freeze"},
	};
	struct windows w = allow1(&r);
	struct windows only = {0};
	const struct windows *ws[] = {&w};
	char reason[256];

	w.freeze = f;
	w.nfreeze = 1;
	/* Mon 09:00 PDT = 16:00Z is frozen, [from, to) */
	ASSERT_OPEN(&w, utc(2026, 3, 9, 16, 0, 0), false);
	ck_assert(!is_open_n(
	    ws, 1, utc(2026, 3, 9, 16, 0, 0), reason, sizeof(reason)));
	ck_assert_str_eq(reason,
	    "inside freeze \"release freeze\" until "
	    "2026-03-10T00:00:00Z");
	/* freeze ends at 03-10 00:00Z = Mon 17:00 PDT: the Monday window
	 * (16:00Z..23:00Z) is over, so Friday evening waits until Tue 03-10
	 * 09:00 PDT = 16:00Z */
	ASSERT_T(next_open(&w, utc(2026, 3, 7, 2, 0, 0)),
	    utc(2026, 3, 10, 16, 0, 0));
	ASSERT_T(next_change(&w, utc(2026, 3, 9, 16, 0, 0)),
	    utc(2026, 3, 9, 23, 0, 0));

	/* a set with only a freeze: open outside it, end exclusive */
	only.freeze = f;
	only.nfreeze = 1;
	ASSERT_OPEN(&only, utc(2026, 3, 8, 23, 59, 59), true);
	ASSERT_OPEN(&only, utc(2026, 3, 9, 0, 0, 0), false);
	ASSERT_OPEN(&only, utc(2026, 3, 9, 23, 59, 59), false);
	ASSERT_OPEN(&only, utc(2026, 3, 10, 0, 0, 0), true);
	ASSERT_T(next_open(&only, utc(2026, 3, 9, 5, 0, 0)),
	    utc(2026, 3, 10, 0, 0, 0));
	ASSERT_T(next_change(&only, utc(2026, 3, 8, 5, 0, 0)),
	    utc(2026, 3, 9, 0, 0, 0));
	ASSERT_T(next_change(&only, utc(2026, 3, 9, 5, 0, 0)),
	    utc(2026, 3, 10, 0, 0, 0));
}
END_TEST

START_TEST(test_no_windows_is_open)
{
	struct windows empty = {0};
	const struct windows *ws[] = {&empty, NULL};
	char reason[64] = "junk";

	ASSERT_OPEN(&empty, utc(2026, 3, 9, 0, 0, 0), true);
	ck_assert(is_open_n(ws, 2, 0, reason, sizeof(reason)));
	ck_assert_str_eq(reason, "");
	ck_assert(is_open_n(NULL, 0, 0, NULL, 0));
	ASSERT_T(next_open_n(ws, 2, 12345), 12345);
}
END_TEST

/* ---- deny calendars ----------------------------------------------------- */

/*
 * A holiday freeze in LA time from Thu 2026-12-24 00:00 PST (08:00Z) to
 * Mon 2027-01-04 09:00 PST (17:00Z, exclusive), and a weekly Friday 14:00
 * + 10h freeze from 2026-11-06 (PST after 11-01: 14:00 = 22:00Z, ends
 * Sat 08:00Z) except 11-13.
 */
static const char holiday_ics[] =
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//gantry//test//EN\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:holiday@test\r\n"
    "DTSTAMP:20260101T000000Z\r\n"
    "SUMMARY:Holiday freeze\r\n"
    "DTSTART;TZID=America/Los_Angeles:20261224T000000\r\n"
    "DTEND;TZID=America/Los_Angeles:20270104T090000\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:friday@test\r\n"
    "DTSTAMP:20260101T000000Z\r\n"
    "SUMMARY:Friday afternoon\r\n"
    "DTSTART;TZID=America/Los_Angeles:20261106T140000\r\n"
    "DTEND;TZID=America/Los_Angeles:20261107T000000\r\n"
    "RRULE:FREQ=WEEKLY\r\n"
    "EXDATE;TZID=America/Los_Angeles:20261113T140000\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n";

START_TEST(test_deny_calendar)
{
	struct window_allow r = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	struct window_deny d = {"calendars/freeze.ics", (char *)holiday_ics};
	struct windows w = allow1(&r);
	const struct windows *ws[] = {&w};
	char reason[256];

	w.deny = &d;
	w.ndeny = 1;
	/* Fri 11-06 13:59:59 PST = 21:59:59Z open; 14:00 PST = 22:00Z not */
	ASSERT_OPEN(&w, utc(2026, 11, 6, 21, 59, 59), true);
	ASSERT_OPEN(&w, utc(2026, 11, 6, 22, 0, 0), false);
	ck_assert(!is_open_n(
	    ws, 1, utc(2026, 11, 6, 22, 0, 0), reason, sizeof(reason)));
	ck_assert_str_eq(reason,
	    "inside deny calendar calendars/freeze.ics event \"Friday "
	    "afternoon\" until 2026-11-07T08:00:00Z");
	/* 11-13 is an EXDATE: 14:30 PST = 22:30Z open */
	ASSERT_OPEN(&w, utc(2026, 11, 13, 22, 30, 0), true);
	/* 11-20 again frozen */
	ASSERT_OPEN(&w, utc(2026, 11, 20, 22, 30, 0), false);
	/* Thu 12-24 10:00 PST = 18:00Z inside the holiday */
	ASSERT_OPEN(&w, utc(2026, 12, 24, 18, 0, 0), false);
	/* Wed 12-23 15:59 PST = 23:59Z before it: open */
	ASSERT_OPEN(&w, utc(2026, 12, 23, 23, 59, 0), true);
	/* Mon 2027-01-04: 08:59:59 PST closed (allow), 09:00 PST open */
	ASSERT_OPEN(&w, utc(2027, 1, 4, 16, 59, 59), false);
	ASSERT_OPEN(&w, utc(2027, 1, 4, 17, 0, 0), true);
	ASSERT_T(next_open(&w, utc(2026, 12, 24, 18, 0, 0)),
	    utc(2027, 1, 4, 17, 0, 0));
	/* from inside the Friday freeze (Fri 11-20 22:30Z): Mon 11-23 09:00
	 * PST = 17:00Z */
	ASSERT_T(next_open(&w, utc(2026, 11, 20, 22, 30, 0)),
	    utc(2026, 11, 23, 17, 0, 0));
	/* next change from Fri 11-20 21:00Z (13:00 PST, open): the freeze
	 * at 22:00Z comes before the allow window's end at 11-21 00:00Z */
	ASSERT_T(next_change(&w, utc(2026, 11, 20, 21, 0, 0)),
	    utc(2026, 11, 20, 22, 0, 0));
	ASSERT_T(next_change(&w, utc(2026, 11, 20, 22, 30, 0)),
	    utc(2026, 11, 21, 0, 0, 0));
}
END_TEST

/* The deny calendar alone: the holiday ends at 2027-01-04 17:00Z, and
 * "until" names the end of the event being inside. */
START_TEST(test_deny_only)
{
	struct window_deny d = {"freeze.ics", (char *)holiday_ics};
	struct windows w = {0};

	w.deny = &d;
	w.ndeny = 1;
	ASSERT_OPEN(&w, utc(2026, 12, 24, 7, 59, 59), true);
	ASSERT_OPEN(&w, utc(2026, 12, 24, 8, 0, 0), false);
	ASSERT_OPEN(&w, utc(2027, 1, 4, 16, 59, 59), false);
	ASSERT_OPEN(&w, utc(2027, 1, 4, 17, 0, 0), true);
	ASSERT_T(next_open(&w, utc(2026, 12, 25, 0, 0, 0)),
	    utc(2027, 1, 4, 17, 0, 0));
	/* Fri 11-27 14:00 PST = 22:00Z .. 11-28 08:00Z */
	ASSERT_T(next_change(&w, utc(2026, 11, 27, 12, 0, 0)),
	    utc(2026, 11, 27, 22, 0, 0));
	ASSERT_T(next_open(&w, utc(2026, 11, 27, 22, 0, 0)),
	    utc(2026, 11, 28, 8, 0, 0));
}
END_TEST

/*
 * All-day and floating events are read in UTC (no zone to read them in).
 * DTEND of an all-day event is exclusive: 11-26 only, not 11-27 (libical
 * itself stretches the span to 11-27 23:59:59).  A DTSTART without DTEND
 * on a DATE lasts one day.
 */
START_TEST(test_deny_all_day_and_floating)
{
	static const char ics[] = "BEGIN:VCALENDAR\r\n"
	                          "VERSION:2.0\r\n"
	                          "BEGIN:VEVENT\r\n"
	                          "SUMMARY:Thanksgiving\r\n"
	                          "DTSTART;VALUE=DATE:20261126\r\n"
	                          "DTEND;VALUE=DATE:20261127\r\n"
	                          "END:VEVENT\r\n"
	                          "BEGIN:VEVENT\r\n"
	                          "SUMMARY:Boxing day\r\n"
	                          "DTSTART;VALUE=DATE:20261226\r\n"
	                          "END:VEVENT\r\n"
	                          "BEGIN:VEVENT\r\n"
	                          "SUMMARY:Floating\r\n"
	                          "DTSTART:20261201T100000\r\n"
	                          "DTEND:20261201T120000\r\n"
	                          "END:VEVENT\r\n"
	                          "BEGIN:VEVENT\r\n"
	                          "SUMMARY:Instant\r\n"
	                          "DTSTART:20261202T100000Z\r\n"
	                          "END:VEVENT\r\n"
	                          "END:VCALENDAR\r\n";
	struct window_deny d = {"holidays.ics", (char *)ics};
	struct windows w = {0};

	w.deny = &d;
	w.ndeny = 1;
	ASSERT_OPEN(&w, utc(2026, 11, 25, 23, 59, 59), true);
	ASSERT_OPEN(&w, utc(2026, 11, 26, 0, 0, 0), false);
	ASSERT_OPEN(&w, utc(2026, 11, 26, 23, 59, 59), false);
	ASSERT_OPEN(&w, utc(2026, 11, 27, 0, 0, 0), true);
	ASSERT_OPEN(&w, utc(2026, 12, 26, 12, 0, 0), false);
	ASSERT_OPEN(&w, utc(2026, 12, 27, 0, 0, 0), true);
	ASSERT_OPEN(&w, utc(2026, 12, 1, 9, 59, 59), true);
	ASSERT_OPEN(&w, utc(2026, 12, 1, 10, 0, 0), false);
	ASSERT_OPEN(&w, utc(2026, 12, 1, 12, 0, 0), true);
	ASSERT_OPEN(&w, utc(2026, 12, 2, 10, 0, 0), true);
	ASSERT_T(next_open(&w, utc(2026, 11, 26, 5, 0, 0)),
	    utc(2026, 11, 27, 0, 0, 0));
}
END_TEST

/* A TZID that is not IANA but has its VTIMEZONE in the calendar (what
 * Outlook exports) resolves to that definition. */
START_TEST(test_deny_vtimezone)
{
	static const char ics[] =
	    "BEGIN:VCALENDAR\r\n"
	    "VERSION:2.0\r\n"
	    "BEGIN:VTIMEZONE\r\n"
	    "TZID:Pacific Standard Time\r\n"
	    "BEGIN:STANDARD\r\n"
	    "DTSTART:16011104T020000\r\n"
	    "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n"
	    "TZOFFSETFROM:-0700\r\n"
	    "TZOFFSETTO:-0800\r\n"
	    "END:STANDARD\r\n"
	    "BEGIN:DAYLIGHT\r\n"
	    "DTSTART:16010311T020000\r\n"
	    "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n"
	    "TZOFFSETFROM:-0800\r\n"
	    "TZOFFSETTO:-0700\r\n"
	    "END:DAYLIGHT\r\n"
	    "END:VTIMEZONE\r\n"
	    "BEGIN:VEVENT\r\n"
	    "SUMMARY:Launch\r\n"
	    "DTSTART;TZID=Pacific Standard Time:20260710T090000\r\n"
	    "DTEND;TZID=Pacific Standard Time:20260710T170000\r\n"
	    "END:VEVENT\r\n"
	    "END:VCALENDAR\r\n";
	struct window_deny d = {"launch.ics", (char *)ics};
	struct windows w = {0};
	char why[256];

	ck_assert_int_eq(window_check_ics(ics, why, sizeof(why)), 0);
	w.deny = &d;
	w.ndeny = 1;
	/* 07-10 09:00 PDT = 16:00Z .. 17:00 PDT = 07-11 00:00Z */
	ASSERT_OPEN(&w, utc(2026, 7, 10, 15, 59, 59), true);
	ASSERT_OPEN(&w, utc(2026, 7, 10, 16, 0, 0), false);
	ASSERT_OPEN(&w, utc(2026, 7, 10, 23, 59, 59), false);
	ASSERT_OPEN(&w, utc(2026, 7, 11, 0, 0, 0), true);
}
END_TEST

/* A deny calendar that fails checks is an error, never ignored. */
START_TEST(test_deny_bad_calendar_is_error)
{
	struct window_deny d = {"bad.ics", "garbage"};
	struct window_deny unloaded = {"gone.ics", NULL};
	struct windows w = {0};
	const struct windows *ws[] = {&w};
	struct gantry_error err = {0};
	bool open = true;
	int64_t when;

	w.deny = &d;
	w.ndeny = 1;
	ck_assert_int_eq(window_is_open(ws, 1, 0, &open, NULL, 0, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad.ics"));
	w.deny = &unloaded;
	ck_assert_int_eq(window_next_open(ws, 1, 0, &when, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "gone.ics"));
	ck_assert_int_eq(window_next_change(ws, 1, 0, &when, &err), -1);
}
END_TEST

/* ---- pipeline + stage windows ------------------------------------------ */

/*
 * January 2026 (no DST): LA is UTC-8, Berlin UTC+1.  The pipeline allows
 * weekdays 09:00-16:00 LA = 17:00Z-24:00Z; the stage allows Tue/Thu
 * 13:00-23:00 Berlin = 12:00Z-22:00Z.  Both: Tue/Thu 17:00Z-22:00Z.
 * 2026-01-05 is a Monday.
 */
START_TEST(test_pipeline_and_stage)
{
	struct window_allow pr = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	struct window_allow sr = {
	    "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=13", 10 * HOUR_MS, BERLIN};
	struct windows pw = allow1(&pr), sw = allow1(&sr);
	const struct windows *ws[] = {&pw, &sw};
	char reason[256];

	/* Mon 18:00Z: pipeline open, stage closed */
	ck_assert(is_open(&pw, utc(2026, 1, 5, 18, 0, 0)));
	ck_assert(!is_open_n(
	    ws, 2, utc(2026, 1, 5, 18, 0, 0), reason, sizeof(reason)));
	ck_assert_str_eq(reason,
	    "outside allow window "
	    "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=13 "
	    "(Europe/Berlin)");
	/* Tue 12:30Z: stage open, pipeline closed (04:30 PST) */
	ck_assert(!is_open_n(
	    ws, 2, utc(2026, 1, 6, 12, 30, 0), reason, sizeof(reason)));
	ck_assert_str_eq(reason,
	    "outside allow window " WEEKDAYS_9 " (America/Los_Angeles)");
	ck_assert(is_open_n(ws, 2, utc(2026, 1, 6, 17, 0, 0), NULL, 0));
	ck_assert(is_open_n(ws, 2, utc(2026, 1, 6, 21, 59, 59), NULL, 0));
	ck_assert(!is_open_n(ws, 2, utc(2026, 1, 6, 22, 0, 0), NULL, 0));

	ASSERT_T(next_open_n(ws, 2, utc(2026, 1, 5, 12, 0, 0)),
	    utc(2026, 1, 6, 17, 0, 0));
	/* after Tuesday's: Thursday 01-08 17:00Z */
	ASSERT_T(next_open_n(ws, 2, utc(2026, 1, 6, 22, 0, 0)),
	    utc(2026, 1, 8, 17, 0, 0));
	/* next changes: Tue 12:00Z (stage opens), then 17:00Z, then 22:00Z */
	ASSERT_T(next_change_n(ws, 2, utc(2026, 1, 6, 1, 0, 0)),
	    utc(2026, 1, 6, 12, 0, 0));
	ASSERT_T(next_change_n(ws, 2, utc(2026, 1, 6, 12, 0, 0)),
	    utc(2026, 1, 6, 17, 0, 0));
	ASSERT_T(next_change_n(ws, 2, utc(2026, 1, 6, 17, 30, 0)),
	    utc(2026, 1, 6, 22, 0, 0));
	/* Mon 01-05 18:00Z: the pipeline's ends 01-06 00:00Z, the stage's
	 * opens 01-06 12:00Z */
	ASSERT_T(next_change_n(ws, 2, utc(2026, 1, 5, 18, 0, 0)),
	    utc(2026, 1, 6, 0, 0, 0));
}
END_TEST

/* Two allow rules in one set: open inside either. */
START_TEST(test_two_rules_one_set)
{
	struct window_allow rs[] = {
	    {"FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", HOUR_MS, "UTC"},
	    {"FREQ=WEEKLY;BYDAY=WE;BYHOUR=15", HOUR_MS, "UTC"},
	};
	struct windows w = {0};
	const struct windows *ws[] = {&w};
	char reason[256];

	w.allow = rs;
	w.nallow = 2;
	ASSERT_OPEN(&w, utc(2026, 1, 5, 9, 30, 0), true);
	ASSERT_OPEN(&w, utc(2026, 1, 7, 15, 30, 0), true);
	ck_assert(!is_open_n(
	    ws, 1, utc(2026, 1, 6, 9, 30, 0), reason, sizeof(reason)));
	ck_assert_str_eq(reason,
	    "outside allow windows "
	    "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9 (UTC) and "
	    "1 more");
	ASSERT_T(next_open(&w, utc(2026, 1, 5, 10, 0, 0)),
	    utc(2026, 1, 7, 15, 0, 0));
}
END_TEST

/* ---- validation helpers -------------------------------------------------- */

static const char *const good_tz[] = {
    "America/Los_Angeles", "Europe/Berlin", "UTC", "Asia/Kolkata"};

START_TEST(test_timezone_good)
{
	char why[128] = "";

	ck_assert_int_eq(
	    window_check_timezone(good_tz[_i], why, sizeof(why)), 0);
}
END_TEST

static const char *const bad_tz[] = {"Pacific Standard Time",
    "Mars/Olympus_Mons", "", "america/los_angeles",
    "/freeassociation.sourceforge.net/America/Los_Angeles"};

START_TEST(test_timezone_bad)
{
	char why[256] = "";

	ck_assert_int_eq(
	    window_check_timezone(bad_tz[_i], why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "unknown time zone"));
	ck_assert_int_eq(window_check_timezone(NULL, why, sizeof(why)), -1);
}
END_TEST

static const char *const good_rrule[] = {
    WEEKDAYS_9,
    "FREQ=DAILY;BYHOUR=0",
    "FREQ=DAILY;BYHOUR=9;UNTIL=20261231T000000Z",
    "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=14;BYMINUTE=30",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    "FREQ=HOURLY;BYMINUTE=0",
};

START_TEST(test_rrule_good)
{
	char why[256] = "";

	ck_assert_msg(window_check_rrule(good_rrule[_i], why, sizeof(why)) == 0,
	    "%s: %s", good_rrule[_i], why);
}
END_TEST

static const struct {
	const char *rrule;
	const char *want;
} bad_rrule[] = {
    {"FREQ=DAILY;COUNT=5", "COUNT is not supported in allow rules"},
    {"garbage", "malformed RRULE \"garbage\""},
    {"", "empty RRULE"},
    {"FREQ=DAILY;BYHOUR=25", "malformed RRULE"},
    {"FREQ=DAILY;FOO=1", "malformed RRULE"},
    {"RRULE:FREQ=DAILY", "malformed RRULE"},
    {"FREQ=DAILY;DTSTART=20260101T000000Z", "malformed RRULE"},
    {"FREQ=DAILY;UNTIL=tomorrow", "malformed RRULE"},
    {"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "can never occur"},
    {"FREQ=HOURLY;INTERVAL=4", "INTERVAL is not supported with FREQ=HOURLY"},
    {"FREQ=SECONDLY", "FREQ=SECONDLY is not supported"},
};

START_TEST(test_rrule_bad)
{
	char why[256] = "";

	ck_assert_int_eq(
	    window_check_rrule(bad_rrule[_i].rrule, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, bad_rrule[_i].want) != NULL,
	    "%s: got \"%s\", want \"%s\"", bad_rrule[_i].rrule, why,
	    bad_rrule[_i].want);
}
END_TEST

/* A COUNT rule that slipped past validation is an error at evaluation. */
START_TEST(test_rrule_bad_at_eval)
{
	struct window_allow r = {"FREQ=DAILY;COUNT=5", HOUR_MS, LA};
	struct window_allow z = {"FREQ=DAILY", HOUR_MS, "Nowhere/Else"};
	struct windows w = allow1(&r);
	const struct windows *ws[] = {&w};
	struct gantry_error err = {0};
	bool open;

	ck_assert_int_eq(window_is_open(ws, 1, 0, &open, NULL, 0, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "COUNT"));
	w.allow = &z;
	ck_assert_int_eq(window_is_open(ws, 1, 0, &open, NULL, 0, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "Nowhere/Else"));
}
END_TEST

START_TEST(test_ics_good)
{
	static const char bare[] = "BEGIN:VEVENT\r\n"
	                           "SUMMARY:bare\r\n"
	                           "DTSTART:20261224T100000Z\r\n"
	                           "DTEND:20261224T110000Z\r\n"
	                           "END:VEVENT\r\n";
	char why[256] = "";

	ck_assert_msg(
	    window_check_ics(holiday_ics, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(window_check_ics(bare, why, sizeof(why)) == 0, "%s", why);
}
END_TEST

static const struct {
	const char *ics;
	const char *want;
} bad_ics[] = {
    {"garbage", "not an iCalendar text"},
    {"", "empty calendar"},
    {"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        "calendar has no VEVENT"},
    {"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\n"
     "DTSTART:2026garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "calendar error: Can't parse as DATE-TIME"},
    {"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\n"
     "DTSTART:20261224T100000Z\r\nRRULE:FREQ=SOMETIMES\r\n"
     "END:VEVENT\r\nEND:VCALENDAR\r\n",
        "calendar error"},
    {"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Outlook\r\n"
     "DTSTART;TZID=Pacific Standard Time:20261224T100000\r\n"
     "DTEND;TZID=Pacific Standard Time:20261224T120000\r\n"
     "END:VEVENT\r\nEND:VCALENDAR\r\n",
        "VEVENT \"Outlook\": DTSTART TZID \"Pacific Standard Time\" is not a "
        "known time zone"},
    {"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:ex\r\n"
     "DTSTART:20261224T100000Z\r\nDTEND:20261224T120000Z\r\n"
     "EXDATE;TZID=Mars/Olympus:20261224T100000\r\n"
     "END:VEVENT\r\nEND:VCALENDAR\r\n",
        "EXDATE TZID \"Mars/Olympus\""},
    {"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:nostart\r\n"
     "END:VEVENT\r\nEND:VCALENDAR\r\n",
        "VEVENT \"nostart\" has no DTSTART"},
};

START_TEST(test_ics_bad)
{
	char why[256] = "";

	ck_assert_int_eq(
	    window_check_ics(bad_ics[_i].ics, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, bad_ics[_i].want) != NULL,
	    "ics %d: got \"%s\", want \"%s\"", _i, why, bad_ics[_i].want);
	ck_assert_int_eq(window_check_ics(NULL, why, sizeof(why)), -1);
}
END_TEST

static Suite *
window_suite(void)
{
	Suite *s = suite_create("window");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_la_spring);
	tcase_add_test(tc, test_la_fall);
	tcase_add_test(tc, test_berlin_spring);
	tcase_add_test(tc, test_berlin_fall);
	tcase_add_test(tc, test_spanning_change_la);
	tcase_add_test(tc, test_spanning_change_berlin);
	tcase_add_test(tc, test_nonexistent_and_repeated_local_time);
	tcase_add_test(tc, test_anchor_defaults);
	tcase_add_test(tc, test_next_open_friday_evening);
	tcase_add_test(tc, test_next_change);
	tcase_add_test(tc, test_next_open_never);
	tcase_add_test(tc, test_until_is_an_instant);
	tcase_add_test(tc, test_next_open_long_search);
	tcase_add_test(tc, test_freeze);
	tcase_add_test(tc, test_no_windows_is_open);
	tcase_add_test(tc, test_deny_calendar);
	tcase_add_test(tc, test_deny_only);
	tcase_add_test(tc, test_deny_all_day_and_floating);
	tcase_add_test(tc, test_deny_vtimezone);
	tcase_add_test(tc, test_deny_bad_calendar_is_error);
	tcase_add_test(tc, test_pipeline_and_stage);
	tcase_add_test(tc, test_two_rules_one_set);
	tcase_add_loop_test(tc, test_timezone_good, 0, N(good_tz));
	tcase_add_loop_test(tc, test_timezone_bad, 0, N(bad_tz));
	tcase_add_loop_test(tc, test_rrule_good, 0, N(good_rrule));
	tcase_add_loop_test(tc, test_rrule_bad, 0, N(bad_rrule));
	tcase_add_test(tc, test_rrule_bad_at_eval);
	tcase_add_test(tc, test_ics_good);
	tcase_add_loop_test(tc, test_ics_bad, 0, N(bad_ics));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(window_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
