/*
 * alarm.h - pure alarm evaluation (SPEC.md sections 2, 3 and promise 4 of
 * section 5): a bounded series of samples in, a verdict (ok, alarm,
 * insufficient_data) with its reason and a JSON decision record out.  The
 * daemon samples the metric (prometheus, command) every period_ms and
 * pushes the value here; nothing in this module reads a clock or a metric.
 *
 * No data is never good news.  A missing datapoint (NaN: the query
 * returned nothing, the command failed, the sample was late) never
 * breaches and never counts as passing:
 *
 * Threshold (above/below X, datapoints M/N).  The evaluation window is the
 *   newest N samples (fewer while the series is shorter; the samples not
 *   yet taken count as missing).  A present sample breaches when its value
 *   is > X (above) or < X (below).
 *     ALARM              when at least M samples breach;
 *     OK                 when at least N - M + 1 samples are present and
 *                        pass, i.e. even if every missing sample had
 *                        breached the alarm could not have fired;
 *     INSUFFICIENT_DATA  otherwise.
 *   Example, 3/5: OK needs 3 present, passing datapoints: [ok ok ok - -]
 *   is OK, [ok ok - - -] is insufficient data, [hi hi ok ok -] is
 *   insufficient data too (the missing one may have been the third
 *   breach).  With 1/1 a single missing sample is insufficient data.
 *
 * drop-to-zero.  The baseline is the median of the present samples in the
 *   baseline window (see alarm_evaluate()); none there is
 *   INSUFFICIENT_DATA ("no baseline").  A baseline median of 0 is OK: there
 *   was no traffic before either.  Otherwise a sample is "zero" when it is
 *   0 (or below) OR MISSING: a request count that vanished is zero
 *   traffic, so here a missing sample counts as zero and does breach.
 *   ALARM when at least M of the newest N samples are zero; OK when
 *   N - M + 1 are non-zero; INSUFFICIENT_DATA otherwise (the series is
 *   shorter than N).
 *
 * spike (factor F, baseline B).  The baseline is the median (not the mean:
 *   one outlier in the baseline does not move it) of the present samples
 *   in the baseline window; none there is INSUFFICIENT_DATA.  The limit is
 *   F x baseline; a sample breaches when value > limit and, when the alarm
 *   also has a threshold, value > threshold (a floor, so that 3 x 0.0001
 *   errors is not a spike).  With a zero baseline and no floor any value
 *   > 0 is a spike.  M of N and missing data as for thresholds.
 *
 * Relative (canary, {{target}} in the query).  The one-box and the fleet
 *   are sampled at the same moments and paired by index from the newest
 *   backwards.  A pair breaches when the one-box is worse than factor x
 *   the fleet: for an `above` alarm (or one without a threshold)
 *   onebox > factor x fleet, for a `below` alarm onebox < fleet / factor;
 *   when the alarm has a threshold, the one-box must also be beyond it (a
 *   floor: 0.0002 vs 0.0001 errors is not an alarm).  A pair with either
 *   side missing is a missing datapoint.  M of N and missing data as for
 *   thresholds.
 *
 * Push alarms (ALARM_STATE) have their state set from outside and cannot
 * be evaluated here.  `insufficient_data: pass` (def->missing_data_ok) does
 * not change the verdict; alarm_verdict_passes() applies it.
 */
#ifndef GANTRY_ALARM_H
#define GANTRY_ALARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "pipeline.h"

/* Hard cap on a series' capacity (a day of 1s samples, with room). */
#define ALARM_SERIES_MAX (128 * 1024)

/* Extra samples alarm_series_capacity() keeps beyond N + the baseline. */
#define ALARM_SERIES_SLACK 4

enum alarm_state {
	ALARM_OK,
	ALARM_ALARM,
	ALARM_INSUFFICIENT_DATA,
};

/* "ok", "alarm", "insufficient_data"; "unknown" for a bad value. */
const char *alarm_state_name(enum alarm_state s);

/* The state named s (exactly as alarm_state_name() spells it) in *out;
 * false, *out untouched, for anything else (NULL included). */
bool alarm_state_parse(const char *s, enum alarm_state *out);

struct alarm_point {
	int64_t at; /* ms */
	double value; /* NAN: missing */
};

/* A bounded history of samples, oldest first, for one alarm (a ring
 * buffer).  Opaque. */
struct alarm_series;

/* A series holding at most capacity samples (1..ALARM_SERIES_MAX); NULL
 * when capacity is out of range or allocation fails.  Caller frees with
 * alarm_series_free(). */
struct alarm_series *alarm_series_new(size_t capacity);

/* Free s; NULL is a no-op. */
void alarm_series_free(struct alarm_series *s);

/* Append a sample at `at` (ms); value NAN records a missing datapoint.
 * When the series is full the oldest sample is dropped.  Samples are
 * expected in time order; the series does not sort them. */
void alarm_series_push(struct alarm_series *s, int64_t at, double value);

/* Number of samples held (<= capacity). */
size_t alarm_series_len(const struct alarm_series *s);

/* The i-th sample, 0 = oldest; NULL when i >= alarm_series_len(s).
 * Borrowed until the next alarm_series_push() or alarm_series_free(). */
const struct alarm_point *alarm_series_at(
    const struct alarm_series *s, size_t i);

/* The capacity an alarm needs: N samples, plus its baseline window in
 * samples (baseline_ms / period_ms, rounded up) for anomalies, plus
 * ALARM_SERIES_SLACK; clamped to ALARM_SERIES_MAX.  A period_ms <= 0 is
 * taken as the default 30s. */
size_t alarm_series_capacity(const struct alarm_def *def);

struct alarm_verdict {
	enum alarm_state state;
	int breaching; /* datapoints in the window that breach */
	int present; /* non-missing datapoints in the window */
	int window; /* datapoints considered (<= N) */
	double last; /* last datapoint (NAN when missing) */
	double limit; /* the value compared against: threshold, factor x
			 baseline, factor x fleet (newest pair); 0 for
			 drop-to-zero; NAN when there is none */
	double baseline; /* anomaly: baseline median; relative: the fleet's
			    newest value; NAN otherwise */
	bool relative; /* from alarm_evaluate_relative(): one-box vs fleet */
	char reason[256]; /* "errors: 0.034 > 0.01 in 3 of the last 5
			     datapoints"; always NUL-terminated, truncated
			     on a UTF-8 character boundary */
};

/*
 * Evaluate def over s into *out (see the top of this file).  baseline_end
 * (ms): for anomalies the baseline is the samples in
 * [baseline_end - def->baseline_ms, baseline_end) (the pre-deployment
 * window); 0 means "the window just before the evaluation window", i.e.
 * the samples older than the evaluation window and at most baseline_ms
 * older than its first sample.  The evaluation window is the newest N
 * samples.  A relative alarm evaluated here (outside a one-box bake) is
 * judged by its threshold alone.
 *
 * Fails with GANTRY_EINVAL for a push alarm (ALARM_STATE), a threshold
 * alarm without a threshold, bad M/N (not 1 <= M <= N), a spike factor
 * that is not a positive number, or a NaN threshold; with GANTRY_ENOMEM
 * when the baseline median cannot be computed.  *out is filled only on
 * success.  s is borrowed.
 */
int alarm_evaluate(const struct alarm_def *def, const struct alarm_series *s,
    int64_t baseline_end, struct alarm_verdict *out,
    struct gantry_error *err) MUSTCHECK;

/*
 * Evaluate a relative (canary) alarm: the one-box series against the fleet
 * series, paired by index from the newest backwards (see the top of this
 * file); the window is the newest min(N, both lengths) pairs.  Fails with
 * GANTRY_EINVAL for an anomaly or push alarm, bad M/N, a factor that is
 * not a positive number or a NaN threshold.  *out is filled only on
 * success.  Both series are borrowed.
 */
int alarm_evaluate_relative(const struct alarm_def *def,
    const struct alarm_series *onebox, const struct alarm_series *fleet,
    struct alarm_verdict *out, struct gantry_error *err) MUSTCHECK;

/* Does v let a bake go on?  True for OK, and for INSUFFICIENT_DATA only
 * when the alarm says `insufficient_data: pass` (def->missing_data_ok). */
bool alarm_verdict_passes(
    const struct alarm_def *def, const struct alarm_verdict *v);

/*
 * The decision record of v, a new reference (caller json_decref()s it),
 * NULL when allocation fails:
 *   {"alarm", "state", "reason", "rule", "threshold" (when the alarm has
 *    one), "limit", "baseline", "datapoints": [{"at", "value"}...],
 *    "breaching", "present", "window"}
 * rule is a human rule string: "above 0.01 in 3/5 datapoints",
 * "drop-to-zero", "spike x3 over a 30m baseline", "one-box above 2x the
 * fleet".  datapoints is the evaluation window (the newest v->window
 * samples of s, oldest first); a missing value, and a NaN limit or
 * baseline, is JSON null.  s is the series evaluated (the one-box for a
 * relative alarm) and is borrowed.
 */
json_t *alarm_verdict_to_json(const struct alarm_def *def,
    const struct alarm_verdict *v, const struct alarm_series *s);

#endif /* GANTRY_ALARM_H */
