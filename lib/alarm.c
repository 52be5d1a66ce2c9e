/*
 * alarm.c - pure alarm evaluation (alarm.h): a ring buffer of samples and
 * the M-of-N decision for thresholds, drop-to-zero, spikes and relative
 * (one-box vs fleet) alarms.
 *
 * Every kind reduces to the same count over the evaluation window: how
 * many datapoints breach and how many pass (present and not breaching);
 * decide() turns the two counts into a state, and the rest of a kind is
 * what "breach" means for it and how its reason reads.
 */
#include "alarm.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

#define DEFAULT_PERIOD_MS (30 * 1000)

struct alarm_series {
	size_t cap;
	size_t head; /* index of the oldest sample */
	size_t len;
	struct alarm_point pts[];
};

/* --- states --------------------------------------------------------------- */

static const char *const state_names[] = {
    [ALARM_OK] = "ok",
    [ALARM_ALARM] = "alarm",
    [ALARM_INSUFFICIENT_DATA] = "insufficient_data",
};
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *
alarm_state_name(enum alarm_state s)
{
	return (size_t)s < NSTATES ? state_names[s] : "unknown";
}

bool
alarm_state_parse(const char *s, enum alarm_state *out)
{
	if (s == NULL)
		return false;
	for (size_t i = 0; i < NSTATES; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum alarm_state)i;
			return true;
		}
	return false;
}

/* --- the series ----------------------------------------------------------- */

struct alarm_series *
alarm_series_new(size_t capacity)
{
	struct alarm_series *s;

	if (capacity == 0 || capacity > ALARM_SERIES_MAX)
		return NULL;
	s = malloc(sizeof(*s) + capacity * sizeof(s->pts[0]));
	if (s == NULL)
		return NULL;
	s->cap = capacity;
	s->head = 0;
	s->len = 0;
	return s;
}

void
alarm_series_free(struct alarm_series *s)
{
	free(s);
}

void
alarm_series_push(struct alarm_series *s, int64_t at, double value)
{
	struct alarm_point *p;

	if (s->len < s->cap) {
		p = &s->pts[(s->head + s->len) % s->cap];
		s->len++;
	} else {
		/* Full: the new sample takes the oldest one's slot. */
		p = &s->pts[s->head];
		s->head = (s->head + 1) % s->cap;
	}
	p->at = at;
	p->value = value;
}

size_t
alarm_series_len(const struct alarm_series *s)
{
	return s->len;
}

const struct alarm_point *
alarm_series_at(const struct alarm_series *s, size_t i)
{
	if (i >= s->len)
		return NULL;
	return &s->pts[(s->head + i) % s->cap];
}

static bool
is_anomaly(const struct alarm_def *def)
{
	return def->kind == ALARM_DROP_TO_ZERO || def->kind == ALARM_SPIKE;
}

size_t
alarm_series_capacity(const struct alarm_def *def)
{
	int64_t period =
	    def->period_ms > 0 ? def->period_ms : DEFAULT_PERIOD_MS;
	int64_t n = def->n > 0 ? def->n : 1;
	int64_t base = 0;

	if (is_anomaly(def) && def->baseline_ms > 0)
		base = def->baseline_ms / period +
		    (def->baseline_ms % period != 0);
	if (base > ALARM_SERIES_MAX)
		return ALARM_SERIES_MAX;
	n += base + ALARM_SERIES_SLACK;
	return n > ALARM_SERIES_MAX ? ALARM_SERIES_MAX : (size_t)n;
}

/* --- reasons -------------------------------------------------------------- */

static const char *
alarm_name(const struct alarm_def *def)
{
	return def->name != NULL ? def->name : "alarm";
}

/* Cut a string truncated at len bytes back to a UTF-8 character
 * boundary, so a long alarm name never leaves half a character. */
static void
trim_utf8(char *buf, size_t len)
{
	size_t i = len, need;
	unsigned char c;

	while (i > 0 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)buf[i - 1];
	if (c < 0xC0)
		return;
	need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
	if (len - (i - 1) < need)
		buf[i - 1] = '\0';
}

static void reason_set(struct alarm_verdict *v, const char *fmt, ...)
    PRINTFLIKE(2, 3);

static void
reason_set(struct alarm_verdict *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		v->reason[0] = '\0';
	else if ((size_t)n >= sizeof(v->reason))
		trim_utf8(v->reason, sizeof(v->reason) - 1);
}

/* A value for a reason: "%.4g", or "missing" for NaN. */
static const char *
fmt_value(double x, char *buf, size_t len)
{
	if (isnan(x))
		snprintf(buf, len, "missing");
	else
		snprintf(buf, len, "%.4g", x);
	return buf;
}

/* --- the M-of-N decision -------------------------------------------------- */

/*
 * ALARM when at least M datapoints breach; OK when at least N - M + 1 pass
 * (present and not breaching: even if every other datapoint of the N had
 * breached, it could not have fired); INSUFFICIENT_DATA otherwise.
 */
static enum alarm_state
decide(const struct alarm_def *def, int breaching, int passing)
{
	if (breaching >= def->m)
		return ALARM_ALARM;
	if (passing >= def->n - def->m + 1)
		return ALARM_OK;
	return ALARM_INSUFFICIENT_DATA;
}

/* What breaches: beyond limit in the alarm's direction, and beyond floor
 * when there is one. */
struct cmp {
	bool above;
	double limit;
	bool has_floor;
	double floor;
};

static bool
beyond(bool above, double x, double limit)
{
	return above ? x > limit : x < limit;
}

static bool
cmp_breaches(const struct cmp *c, double x)
{
	if (isnan(x) || !beyond(c->above, x, c->limit))
		return false;
	return !c->has_floor || beyond(c->above, x, c->floor);
}

/* Count the evaluation window against c into v; *last_breach is the
 * newest breaching value (NaN when none). */
static void
count_window(const struct alarm_series *s, const struct cmp *c,
    struct alarm_verdict *v, double *last_breach)
{
	size_t len = alarm_series_len(s);

	*last_breach = NAN;
	for (size_t i = len - (size_t)v->window; i < len; i++) {
		double x = alarm_series_at(s, i)->value;

		if (isnan(x))
			continue;
		v->present++;
		if (cmp_breaches(c, x)) {
			v->breaching++;
			*last_breach = x;
		}
	}
}

static int
check_mn(const struct alarm_def *def, struct gantry_error *err)
{
	if (def->m < 1 || def->m > def->n)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alarm %s: datapoints %d/%d: need 1 <= M <= N",
		    alarm_name(def), def->m, def->n);
	if (def->has_threshold && isnan(def->threshold))
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alarm %s: threshold is not a number", alarm_name(def));
	return 0;
}

static int
check_factor(const struct alarm_def *def, struct gantry_error *err)
{
	if (!(def->factor > 0) || isinf(def->factor))
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alarm %s: factor %g must be a positive number",
		    alarm_name(def), def->factor);
	return 0;
}

/* A verdict with the window sized for s and nothing counted yet. */
static void
verdict_init(const struct alarm_def *def, const struct alarm_series *s,
    struct alarm_verdict *v)
{
	size_t len = alarm_series_len(s);

	memset(v, 0, sizeof(*v));
	v->state = ALARM_INSUFFICIENT_DATA;
	v->window = len < (size_t)def->n ? (int)len : def->n;
	v->last = len > 0 ? alarm_series_at(s, len - 1)->value : NAN;
	v->limit = NAN;
	v->baseline = NAN;
}

/* The insufficient-data reason shared by the M-of-N kinds. */
static void
reason_insufficient(
    const struct alarm_def *def, struct alarm_verdict *v, const char *what)
{
	int needs = def->n - def->m + 1;

	if (v->breaching == 0)
		reason_set(v,
		    "%s: only %d of the last %d datapoints present%s "
		    "(needs %d)",
		    alarm_name(def), v->present, def->n, what, needs);
	else
		reason_set(v,
		    "%s: only %d of the last %d datapoints present%s and "
		    "passing, %d breaching (needs %d passing)",
		    alarm_name(def), v->present - v->breaching, def->n, what,
		    v->breaching, needs);
}

/* --- thresholds ----------------------------------------------------------- */

static void
eval_threshold(const struct alarm_def *def, const struct alarm_series *s,
    struct alarm_verdict *v)
{
	struct cmp c = {.above = def->above, .limit = def->threshold};
	const char *op = def->above ? ">" : "<";
	double hit;
	char b[32];

	v->limit = def->threshold;
	count_window(s, &c, v, &hit);
	v->state = decide(def, v->breaching, v->present - v->breaching);
	switch (v->state) {
	case ALARM_ALARM:
		reason_set(v,
		    "%s: %.4g %s %.4g in %d of the last %d datapoints",
		    alarm_name(def), hit, op, def->threshold, v->breaching,
		    def->n);
		break;
	case ALARM_OK:
		reason_set(v,
		    "%s: %d of the last %d datapoints %s %.4g (%d fire it), "
		    "last %s",
		    alarm_name(def), v->breaching, def->n, op, def->threshold,
		    def->m, fmt_value(v->last, b, sizeof(b)));
		break;
	case ALARM_INSUFFICIENT_DATA:
		reason_insufficient(def, v, "");
		break;
	}
}

/* --- anomalies ------------------------------------------------------------ */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The median of the present samples in the baseline window (alarm.h,
 * alarm_evaluate()) in *median, and how many there were in *count (0: no
 * baseline, *median NaN).  v->window must be set.
 */
static int
baseline_median(const struct alarm_def *def, const struct alarm_series *s,
    int64_t baseline_end, const struct alarm_verdict *v, double *median,
    size_t *count, struct gantry_error *err)
{
	size_t len = alarm_series_len(s), end, k = 0;
	int64_t from, to;
	double *vals = NULL;

	*median = NAN;
	*count = 0;
	if (baseline_end != 0) {
		end = len;
		to = baseline_end;
	} else {
		/* Just before the evaluation window. */
		end = len - (size_t)v->window;
		if (v->window == 0 || end == 0)
			return 0;
		to = alarm_series_at(s, end)->at;
	}
	from = to - def->baseline_ms;
	if (end > 0 && (vals = malloc(end * sizeof(*vals))) == NULL)
		return gantry_error_set(err, GANTRY_ENOMEM,
		    "alarm %s: out of memory for the baseline",
		    alarm_name(def));
	for (size_t i = 0; i < end; i++) {
		const struct alarm_point *p = alarm_series_at(s, i);

		if (p->at >= from && p->at < to && !isnan(p->value))
			vals[k++] = p->value;
	}
	if (k > 0) {
		qsort(vals, k, sizeof(*vals), cmp_double);
		*median =
		    k % 2 ? vals[k / 2] : (vals[k / 2 - 1] + vals[k / 2]) / 2;
	}
	*count = k;
	free(vals);
	return 0;
}

static void
reason_no_baseline(const struct alarm_def *def, struct alarm_verdict *v)
{
	char d[32];

	reason_set(v, "%s: no baseline: no datapoint in the %s baseline window",
	    alarm_name(def), duration_format(def->baseline_ms, d, sizeof(d)));
}

/* A drop-to-zero sample breaches when it is 0 (or below) or missing. */
static void
eval_drop_to_zero(const struct alarm_def *def, const struct alarm_series *s,
    double baseline, struct alarm_verdict *v)
{
	size_t len = alarm_series_len(s);
	char b[32];

	v->baseline = baseline;
	v->limit = 0;
	if (!(baseline > 0)) {
		v->state = ALARM_OK;
		reason_set(v,
		    "%s: baseline median is %.4g: there was no traffic "
		    "before either",
		    alarm_name(def), baseline);
		return;
	}
	for (size_t i = len - (size_t)v->window; i < len; i++) {
		double x = alarm_series_at(s, i)->value;

		if (!isnan(x))
			v->present++;
		if (!(x > 0))
			v->breaching++;
	}
	v->state = decide(def, v->breaching, v->window - v->breaching);
	switch (v->state) {
	case ALARM_ALARM:
		reason_set(v,
		    "%s: dropped to zero (baseline median %.4g) in %d of the "
		    "last %d datapoints (missing counts as zero)",
		    alarm_name(def), baseline, v->breaching, def->n);
		break;
	case ALARM_OK:
		reason_set(v,
		    "%s: %d of the last %d datapoints zero or missing (%d fire "
		    "it), baseline median %.4g, last %s",
		    alarm_name(def), v->breaching, def->n, def->m, baseline,
		    fmt_value(v->last, b, sizeof(b)));
		break;
	case ALARM_INSUFFICIENT_DATA:
		reason_set(v,
		    "%s: only %d of the last %d datapoints taken (needs %d "
		    "non-zero)",
		    alarm_name(def), v->window, def->n, def->n - def->m + 1);
		break;
	}
}

static void
eval_spike(const struct alarm_def *def, const struct alarm_series *s,
    double baseline, struct alarm_verdict *v)
{
	struct cmp c = {.above = true,
	    .limit = def->factor * baseline,
	    .has_floor = def->has_threshold,
	    .floor = def->threshold};
	char fl[48] = "", b[32];
	double hit;

	v->baseline = baseline;
	v->limit = c.limit;
	if (def->has_threshold)
		snprintf(fl, sizeof(fl), ", floor %.4g", def->threshold);
	count_window(s, &c, v, &hit);
	v->state = decide(def, v->breaching, v->present - v->breaching);
	switch (v->state) {
	case ALARM_ALARM:
		reason_set(v,
		    "%s: %.4g > %.4g (%gx baseline median %.4g%s) in %d of "
		    "the last %d datapoints",
		    alarm_name(def), hit, c.limit, def->factor, baseline, fl,
		    v->breaching, def->n);
		break;
	case ALARM_OK:
		reason_set(v,
		    "%s: %d of the last %d datapoints > %.4g (%gx baseline "
		    "median %.4g%s; %d fire it), last %s",
		    alarm_name(def), v->breaching, def->n, c.limit, def->factor,
		    baseline, fl, def->m, fmt_value(v->last, b, sizeof(b)));
		break;
	case ALARM_INSUFFICIENT_DATA:
		reason_insufficient(def, v, "");
		break;
	}
}

static int
eval_anomaly(const struct alarm_def *def, const struct alarm_series *s,
    int64_t baseline_end, struct alarm_verdict *v, struct gantry_error *err)
{
	double median;
	size_t nbase;

	if (def->kind == ALARM_SPIKE && check_factor(def, err) == -1)
		return -1;
	if (baseline_median(def, s, baseline_end, v, &median, &nbase, err) ==
	    -1)
		return -1;
	if (nbase == 0) {
		v->state = ALARM_INSUFFICIENT_DATA;
		reason_no_baseline(def, v);
		return 0;
	}
	if (def->kind == ALARM_DROP_TO_ZERO)
		eval_drop_to_zero(def, s, median, v);
	else
		eval_spike(def, s, median, v);
	return 0;
}

int
alarm_evaluate(const struct alarm_def *def, const struct alarm_series *s,
    int64_t baseline_end, struct alarm_verdict *out, struct gantry_error *err)
{
	struct alarm_verdict v;

	if (def == NULL || s == NULL || out == NULL)
		return gantry_error_set(
		    err, GANTRY_EINVAL, "alarm_evaluate: NULL argument");
	if (def->kind == ALARM_STATE)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alarm %s is a push alarm: its state is set from outside, "
		    "it cannot be evaluated",
		    alarm_name(def));
	if (check_mn(def, err) == -1)
		return -1;
	verdict_init(def, s, &v);
	switch (def->kind) {
	case ALARM_THRESHOLD:
		if (!def->has_threshold)
			return gantry_error_set(err, GANTRY_EINVAL,
			    "alarm %s has no threshold%s", alarm_name(def),
			    def->relative ? ": it is judged against the fleet "
			                    "only (alarm_evaluate_relative)"
			                  : "");
		eval_threshold(def, s, &v);
		break;
	case ALARM_DROP_TO_ZERO:
	case ALARM_SPIKE:
		if (eval_anomaly(def, s, baseline_end, &v, err) == -1)
			return -1;
		break;
	default:
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alarm %s: unknown kind %d", alarm_name(def),
		    (int)def->kind);
	}
	*out = v;
	return 0;
}

/* --- relative (one-box vs fleet) ------------------------------------------ */

/* Does the one-box look worse than the fleet?  `above` unless the alarm
 * has a `below` threshold. */
static bool
relative_above(const struct alarm_def *def)
{
	return !def->has_threshold || def->above;
}

static double
relative_limit(const struct alarm_def *def, double fleet)
{
	return relative_above(def) ? def->factor * fleet : fleet / def->factor;
}

int
alarm_evaluate_relative(const struct alarm_def *def,
    const struct alarm_series *onebox, const struct alarm_series *fleet,
    struct alarm_verdict *out, struct gantry_error *err)
{
	struct alarm_verdict v;
	size_t nb, nf, w;
	bool above;
	double hit_box = NAN, hit_fleet = NAN;
	char b1[32], b2[32], fl[48] = "", worse[48];

	if (def == NULL || onebox == NULL || fleet == NULL || out == NULL)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alarm_evaluate_relative: NULL argument");
	if (def->kind != ALARM_THRESHOLD)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alarm %s: only threshold alarms can be relative",
		    alarm_name(def));
	if (check_mn(def, err) == -1 || check_factor(def, err) == -1)
		return -1;
	above = relative_above(def);
	nb = alarm_series_len(onebox);
	nf = alarm_series_len(fleet);
	w = nb < nf ? nb : nf;
	if (w > (size_t)def->n)
		w = (size_t)def->n;

	memset(&v, 0, sizeof(v));
	v.relative = true;
	v.window = (int)w;
	v.last = nb > 0 ? alarm_series_at(onebox, nb - 1)->value : NAN;
	v.baseline = nf > 0 ? alarm_series_at(fleet, nf - 1)->value : NAN;
	v.limit = relative_limit(def, v.baseline);
	/* Pair k: the k-th newest of each series, oldest pair first. */
	for (size_t k = w; k-- > 0;) {
		double x = alarm_series_at(onebox, nb - 1 - k)->value;
		double y = alarm_series_at(fleet, nf - 1 - k)->value;
		struct cmp c = {.above = above,
		    .limit = relative_limit(def, y),
		    .has_floor = def->has_threshold,
		    .floor = def->threshold};

		if (isnan(x) || isnan(y))
			continue;
		v.present++;
		if (cmp_breaches(&c, x)) {
			v.breaching++;
			hit_box = x;
			hit_fleet = y;
		}
	}
	v.state = decide(def, v.breaching, v.present - v.breaching);

	if (def->has_threshold)
		snprintf(fl, sizeof(fl), " and %s %.4g", above ? ">" : "<",
		    def->threshold);
	if (above)
		snprintf(worse, sizeof(worse), "> %gx the fleet", def->factor);
	else
		snprintf(worse, sizeof(worse), "< the fleet / %g", def->factor);
	switch (v.state) {
	case ALARM_ALARM:
		if (above)
			reason_set(&v,
			    "%s: one-box %.4g > %gx fleet %.4g%s in %d of the "
			    "last %d datapoints",
			    alarm_name(def), hit_box, def->factor, hit_fleet,
			    fl, v.breaching, def->n);
		else
			reason_set(&v,
			    "%s: one-box %.4g < fleet %.4g / %g%s in %d of the "
			    "last %d datapoints",
			    alarm_name(def), hit_box, hit_fleet, def->factor,
			    fl, v.breaching, def->n);
		break;
	case ALARM_OK:
		reason_set(&v,
		    "%s: %d of the last %d datapoints with the one-box %s%s "
		    "(%d fire it), last one-box %s vs fleet %s",
		    alarm_name(def), v.breaching, def->n, worse, fl, def->m,
		    fmt_value(v.last, b1, sizeof(b1)),
		    fmt_value(v.baseline, b2, sizeof(b2)));
		break;
	case ALARM_INSUFFICIENT_DATA:
		reason_insufficient(def, &v, " for one-box and fleet");
		break;
	}
	*out = v;
	return 0;
}

bool
alarm_verdict_passes(const struct alarm_def *def, const struct alarm_verdict *v)
{
	if (v->state == ALARM_OK)
		return true;
	return v->state == ALARM_INSUFFICIENT_DATA && def->missing_data_ok;
}

/* --- the decision record -------------------------------------------------- */

/* " in M/N datapoints", or "" for the default 1/1 when quiet_default. */
static void
fmt_mn(const struct alarm_def *def, bool quiet_default, char *buf, size_t len)
{
	if (quiet_default && def->m == 1 && def->n == 1)
		buf[0] = '\0';
	else
		snprintf(buf, len, " in %d/%d datapoints", def->m, def->n);
}

/* The human rule: "above 0.01 in 3/5 datapoints", "drop-to-zero",
 * "spike x3 over a 30m baseline", "one-box above 2x the fleet". */
static void
rule_string(const struct alarm_def *def, const struct alarm_verdict *v,
    char *buf, size_t len)
{
	char mn[48], d[32], fl[48] = "";

	if (def->has_threshold)
		snprintf(fl, sizeof(fl), " and %s %.4g",
		    def->above ? "above" : "below", def->threshold);
	if (v->relative) {
		fmt_mn(def, true, mn, sizeof(mn));
		if (relative_above(def))
			snprintf(buf, len, "one-box above %gx the fleet%s%s",
			    def->factor, fl, mn);
		else
			snprintf(buf, len, "one-box below the fleet / %g%s%s",
			    def->factor, fl, mn);
		return;
	}
	switch (def->kind) {
	case ALARM_THRESHOLD:
		fmt_mn(def, false, mn, sizeof(mn));
		snprintf(buf, len, "%s %.4g%s", def->above ? "above" : "below",
		    def->threshold, mn);
		break;
	case ALARM_DROP_TO_ZERO:
		fmt_mn(def, true, mn, sizeof(mn));
		snprintf(buf, len, "drop-to-zero%s", mn);
		break;
	case ALARM_SPIKE:
		fmt_mn(def, true, mn, sizeof(mn));
		if (def->has_threshold)
			snprintf(
			    fl, sizeof(fl), " and above %.4g", def->threshold);
		snprintf(buf, len, "spike x%g over a %s baseline%s%s",
		    def->factor,
		    duration_format(def->baseline_ms, d, sizeof(d)), fl, mn);
		break;
	default:
		snprintf(buf, len, "pushed state");
		break;
	}
}

/* A JSON number, or null for NaN and infinities (JSON has neither). */
static json_t *
number_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* Set o[k] to the new reference val; false (val released) on failure. */
static bool
set_new(json_t *o, const char *k, json_t *val)
{
	return val != NULL && json_object_set_new(o, k, val) == 0;
}

json_t *
alarm_verdict_to_json(const struct alarm_def *def,
    const struct alarm_verdict *v, const struct alarm_series *s)
{
	json_t *o = NULL, *pts = NULL;
	size_t len = alarm_series_len(s), w = (size_t)v->window;
	char rule[160];
	bool ok = true;

	if (w > len)
		w = len;
	if ((o = json_object()) == NULL || (pts = json_array()) == NULL)
		goto fail;
	for (size_t i = len - w; i < len; i++) {
		const struct alarm_point *p = alarm_series_at(s, i);
		json_t *pt = json_object();

		if (pt == NULL || json_array_append_new(pts, pt) == -1)
			goto fail;
		ok &= set_new(pt, "at", json_integer(p->at));
		ok &= set_new(pt, "value", number_or_null(p->value));
	}
	rule_string(def, v, rule, sizeof(rule));
	ok &= set_new(o, "alarm", json_string(alarm_name(def)));
	ok &= set_new(o, "state", json_string(alarm_state_name(v->state)));
	ok &= set_new(o, "reason", json_string(v->reason));
	ok &= set_new(o, "rule", json_string(rule));
	if (def->has_threshold)
		ok &= set_new(o, "threshold", number_or_null(def->threshold));
	ok &= set_new(o, "limit", number_or_null(v->limit));
	ok &= set_new(o, "baseline", number_or_null(v->baseline));
	ok &= set_new(o, "datapoints", pts);
	pts = NULL; /* moved into o, or released by set_new() */
	ok &= set_new(o, "breaching", json_integer(v->breaching));
	ok &= set_new(o, "present", json_integer(v->present));
	ok &= set_new(o, "window", json_integer(v->window));
	if (!ok)
		goto fail;
	return o;
fail:
	json_decref(pts);
	json_decref(o);
	return NULL;
}
