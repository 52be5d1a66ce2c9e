/*
 * window.c - deployment time windows (window.h) on top of libical.  Each
 * call "compiles" the window sets it is given (zones resolved, RRULEs
 * parsed, deny calendars parsed and expanded once over the range the call
 * needs, freezes copied) into plain intervals and iterators, answers the
 * question, and frees everything again: calls are rare (a stage start, a
 * plan), so nothing is cached between calls.
 *
 * Semantics (SPEC.md section 3, PLATFORM.md section 6 and its decisions):
 * - allow: an RRULE expanded from the fixed local DTSTART ANCHOR in the
 *   rule's zone; an occurrence o opens [os, os + duration) where os is o
 *   read as wall-clock time in that zone (icaltime_as_timet_with_zone), so
 *   local times that do not exist or occur twice resolve as libical does,
 *   and the duration is elapsed seconds, even across a DST change.
 * - deny: every VEVENT of the calendar, with its RRULE/RDATE/EXDATE
 *   expanded by icalcomponent_foreach_recurrence, closes [DTSTART, DTEND).
 * - freeze: closes [from, to).
 * An instant is open when every set is open, and a set is open when it is
 * inside one of its allow occurrences (or has no allow rule) and inside
 * none of its deny events and freezes.
 */
#include "window.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libical/ical.h>

/*
 * Every allow rule is expanded from this DTSTART, as wall-clock time in
 * the rule's zone (see anchor()).  2001-01-01 00:00:00 was a Monday and
 * the first day of a month and of a year, so what a rule leaves out
 * defaults to: minute and second 0
 * (BYHOUR=9 means 09:00:00; libical takes missing BYMINUTE/BYSECOND from
 * DTSTART), midnight (FREQ=DAILY), Monday (FREQ=WEEKLY), the 1st
 * (FREQ=MONTHLY) and January 1st (FREQ=YEARLY).  INTERVAL counts from it.
 */
#define ANCHOR "20010101T000000"

/* Iterations of one allow rule per question before giving up. */
#define SCAN_MAX 100000

/* Deny-calendar events expanded per call, over all calendars. */
#define SPANS_MAX 20000

/* Slack before t when moving an iterator: covers the duration plus any
 * UTC offset (always under a day) with room to spare. */
#define SCAN_SLACK_S (2 * 86400)

#define DAY_S 86400

/* One allow rule, ready to expand. */
struct rule {
	const struct window_allow *src; /* borrowed from the caller */
	struct icalrecurrencetype rec;
	icaltimezone *zone; /* libical's builtin cache; never freed */
	int64_t dur; /* elapsed seconds */
};

/* A closed interval [from, to): a freeze or one deny event occurrence. */
struct span {
	int64_t from, to;
	const char *label; /* freeze reason or calendar path; borrowed */
	char *summary; /* deny: the event's SUMMARY (owned), or NULL */
	bool deny;
};

struct wset {
	struct rule *rules;
	size_t nrules;
	struct span *spans;
	size_t nspans, capspans;
};

struct compiled {
	struct wset *sets;
	size_t nsets;
	size_t total_spans;
};

/* What one set looks like at an instant t. */
struct eval {
	bool open;
	int64_t opens_at; /* closed: earliest instant it may open; INT64_MAX */
	int64_t change; /* next instant > t where openness may change */
	const struct span *in_span; /* first span covering t, or NULL */
	int64_t span_end; /* max end of the spans covering t */
	bool allowed; /* inside an allow occurrence (or none) */
};

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Format t as RFC 3339 UTC ("2026-11-26T09:00:00Z") into buf. */
static const char *
fmt_utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%" PRId64, t);
	return buf;
}

static void why_set(char *why, size_t len, const char *fmt, ...)
    PRINTFLIKE(3, 4);

static void
why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* The IANA zone named tz from libical's builtin set (read from the system
 * tz database), or NULL.  "UTC" is libical's own UTC zone. */
static icaltimezone *
zone_lookup(const char *tz)
{
	if (tz == NULL || *tz == '\0')
		return NULL;
	return icaltimezone_get_builtin_timezone(tz);
}

int
window_check_timezone(const char *tz, char *why, size_t len)
{
	if (zone_lookup(tz) == NULL) {
		why_set(why, len,
		    "unknown time zone \"%s\" (expected an IANA name such as "
		    "America/Los_Angeles)",
		    tz != NULL ? tz : "");
		return -1;
	}
	return 0;
}

/*
 * The anchor DTSTART, as floating (zone-less) wall-clock time.  Rules are
 * iterated in wall-clock time and each occurrence is then read in the
 * rule's zone with icaltime_as_timet_with_zone().  Iterating with a zoned
 * DTSTART instead was seen (libical 3.0.16) to move a non-existent 02:30
 * to 03:30 PDT and then to keep 03:30 for the following day too; the
 * floating iteration gives each day its own time, and a non-existent or
 * repeated local time resolves the way icaltime_as_timet_with_zone()
 * documents it (PLATFORM.md section 6: 02:30 -> 01:30 PST, 01:30 twice ->
 * the later one).
 */
static struct icaltimetype
anchor(void)
{
	struct icaltimetype ds = icaltime_from_string(ANCHOR);

	ds.zone = NULL;
	return ds;
}

/* Wall-clock time of t in zone, as a floating time. */
static struct icaltimetype
local_floating(int64_t t, icaltimezone *zone)
{
	struct icaltimetype lt;

	/* PLATFORM.md gotcha: the fields are local but .zone says UTC. */
	lt = icaltime_from_timet_with_zone((time_t)t, 0, zone);
	lt.zone = NULL;
	return lt;
}

/*
 * Parse and check one RRULE into *rec.  Rejected: what libical cannot
 * parse or expand, COUNT (an iterator with COUNT cannot be moved near an
 * instant, and "the first N from 2001" means nothing here), SECONDLY
 * (windows last at least a minute), and INTERVAL > 1 with MINUTELY or
 * HOURLY: moving such an iterator loses its phase (verified: results then
 * depend on the instant asked about); BYHOUR/BYMINUTE say the same thing.
 */
static int
rrule_parse(
    const char *rrule, struct icalrecurrencetype *rec, char *why, size_t len)
{
	icalrecur_iterator *it;

	if (rrule == NULL || *rrule == '\0') {
		why_set(why, len, "empty RRULE");
		return -1;
	}
	icalerror_clear_errno();
	*rec = icalrecurrencetype_from_string(rrule);
	if (rec->freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR) {
		icalerror_clear_errno();
		why_set(why, len,
		    "malformed RRULE \"%s\" (expected e.g. "
		    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9, without DTSTART)",
		    rrule);
		return -1;
	}
	if (rec->count > 0) {
		why_set(why, len, "COUNT is not supported in allow rules");
		return -1;
	}
	if (rec->freq == ICAL_SECONDLY_RECURRENCE) {
		why_set(
		    why, len, "FREQ=SECONDLY is not supported in allow rules");
		return -1;
	}
	if ((rec->freq == ICAL_MINUTELY_RECURRENCE ||
	        rec->freq == ICAL_HOURLY_RECURRENCE) &&
	    rec->interval > 1) {
		why_set(why, len,
		    "INTERVAL is not supported with FREQ=%s in allow rules "
		    "(list the hours or minutes with BYHOUR/BYMINUTE)",
		    rec->freq == ICAL_HOURLY_RECURRENCE ? "HOURLY"
		                                        : "MINUTELY");
		return -1;
	}
	it = icalrecur_iterator_new(*rec, anchor());
	if (it == NULL) {
		icalerror_clear_errno();
		why_set(why, len, "RRULE \"%s\" can never occur", rrule);
		return -1;
	}
	icalrecur_iterator_free(it);
	return 0;
}

int
window_check_rrule(const char *rrule, char *why, size_t len)
{
	struct icalrecurrencetype rec;

	return rrule_parse(rrule, &rec, why, len);
}

/* The text of the first X-LIC-ERROR property under c, or NULL. */
static const char *
first_parse_error(icalcomponent *c)
{
	icalproperty *p;
	icalcomponent *sub;
	const char *msg;

	p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
	if (p != NULL)
		return icalproperty_get_xlicerror(p);
	for (sub = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT);
	     sub != NULL;
	     sub = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
		if ((msg = first_parse_error(sub)) != NULL)
			return msg;
	return NULL;
}

/* The VEVENTs of a parsed text: root itself, the children of a VCALENDAR,
 * or those of each VCALENDAR under an XROOT (several calendars). */
typedef int (*vevent_cb)(icalcomponent *cal, icalcomponent *ev, void *arg);

static int
foreach_vevent(icalcomponent *root, vevent_cb cb, void *arg)
{
	icalcomponent *c, *ev;

	switch (icalcomponent_isa(root)) {
	case ICAL_VEVENT_COMPONENT:
		return cb(NULL, root, arg);
	case ICAL_VCALENDAR_COMPONENT:
		for (ev = icalcomponent_get_first_component(
		         root, ICAL_VEVENT_COMPONENT);
		     ev != NULL; ev = icalcomponent_get_next_component(
		                     root, ICAL_VEVENT_COMPONENT))
			if (cb(root, ev, arg) < 0)
				return -1;
		return 0;
	case ICAL_XROOT_COMPONENT:
		for (c = icalcomponent_get_first_component(
		         root, ICAL_VCALENDAR_COMPONENT);
		     c != NULL; c = icalcomponent_get_next_component(
		                    root, ICAL_VCALENDAR_COMPONENT))
			if (foreach_vevent(c, cb, arg) < 0)
				return -1;
		return 0;
	default:
		return 0;
	}
}

struct ics_check {
	char *why;
	size_t len;
	size_t nevents;
};

/* Does tzid name a zone: a VTIMEZONE of the calendar, or a builtin zone
 * (by IANA name or by libical's own TZID)?  The same places libical looks
 * when it reads the times; anything else would silently become floating
 * time (PLATFORM.md section 6). */
static bool
tzid_resolves(icalcomponent *cal, const char *tzid)
{
	if (tzid == NULL || *tzid == '\0')
		return false;
	if (cal != NULL && icalcomponent_get_timezone(cal, tzid) != NULL)
		return true;
	return icaltimezone_get_builtin_timezone(tzid) != NULL ||
	    icaltimezone_get_builtin_timezone_from_tzid(tzid) != NULL;
}

static int
check_vevent(icalcomponent *cal, icalcomponent *ev, void *arg)
{
	struct ics_check *ck = arg;
	const char *summary = icalcomponent_get_summary(ev);
	icalproperty *p;

	ck->nevents++;
	if (summary == NULL)
		summary = "";
	if (icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY) ==
	    NULL) {
		why_set(
		    ck->why, ck->len, "VEVENT \"%s\" has no DTSTART", summary);
		return -1;
	}
	for (p = icalcomponent_get_first_property(ev, ICAL_ANY_PROPERTY);
	     p != NULL;
	     p = icalcomponent_get_next_property(ev, ICAL_ANY_PROPERTY)) {
		icalparameter *tp;
		const char *tzid;

		tp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
		if (tp == NULL)
			continue;
		tzid = icalparameter_get_tzid(tp);
		if (!tzid_resolves(cal, tzid)) {
			why_set(ck->why, ck->len,
			    "VEVENT \"%s\": %s TZID \"%s\" is not a known time "
			    "zone (use an IANA name or include its VTIMEZONE)",
			    summary, icalproperty_get_property_name(p),
			    tzid != NULL ? tzid : "");
			return -1;
		}
	}
	return 0;
}

/* Check a parsed calendar: no parse errors, at least one VEVENT, each with
 * a DTSTART, and every TZID resolves. */
static int
ics_problems(icalcomponent *root, char *why, size_t len)
{
	struct ics_check ck = {why, len, 0};
	const char *msg;

	if (icalcomponent_count_errors(root) > 0) {
		msg = first_parse_error(root);
		why_set(why, len, "calendar error: %s",
		    msg != NULL ? msg : "unparsable property");
		return -1;
	}
	if (foreach_vevent(root, check_vevent, &ck) < 0)
		return -1;
	if (ck.nevents == 0) {
		why_set(why, len, "calendar has no VEVENT");
		return -1;
	}
	return 0;
}

int
window_check_ics(const char *ics, char *why, size_t len)
{
	icalcomponent *root;
	int rc;

	if (ics == NULL || *ics == '\0') {
		why_set(why, len, "empty calendar");
		return -1;
	}
	root = icalparser_parse_string(ics);
	icalerror_clear_errno();
	if (root == NULL) {
		why_set(why, len, "not an iCalendar text (BEGIN:VCALENDAR)");
		return -1;
	}
	rc = ics_problems(root, why, len);
	icalcomponent_free(root);
	return rc;
}

/* ---- compiling window sets ------------------------------------------- */

static void
compiled_free(struct compiled *c)
{
	for (size_t i = 0; i < c->nsets; i++) {
		struct wset *s = &c->sets[i];

		for (size_t j = 0; j < s->nspans; j++)
			free(s->spans[j].summary);
		free(s->spans);
		free(s->rules);
	}
	free(c->sets);
	c->sets = NULL;
	c->nsets = 0;
}

/* Append a span to s (summary: taken over, freed on failure too). */
static int
span_add(struct compiled *c, struct wset *s, int64_t from, int64_t to,
    const char *label, char *summary, bool deny, struct gantry_error *err)
{
	if (c->total_spans >= SPANS_MAX) {
		free(summary);
		return gantry_error_set(err, GANTRY_EINVALID,
		    "deny calendar %s: more than %d events within %lld days",
		    label, SPANS_MAX, WINDOW_HORIZON_S / DAY_S);
	}
	if (s->nspans == s->capspans) {
		size_t ncap = s->capspans ? s->capspans * 2 : 8;
		struct span *n = realloc(s->spans, ncap * sizeof(*n));

		if (n == NULL) {
			free(summary);
			return gantry_error_set(
			    err, GANTRY_ENOMEM, "out of memory");
		}
		s->spans = n;
		s->capspans = ncap;
	}
	s->spans[s->nspans++] = (struct span){from, to, label, summary, deny};
	c->total_spans++;
	return 0;
}

struct expand {
	struct compiled *c;
	struct wset *set;
	const struct window_deny *deny;
	int64_t date_len; /* > 0: the event is all-day, this long (s) */
	int failed; /* an error was recorded in err */
	struct gantry_error *err;
};

static void
expand_cb(icalcomponent *ev, struct icaltime_span *sp, void *arg)
{
	struct expand *x = arg;
	const char *summary;
	char *copy = NULL;
	int64_t from = sp->start, to = sp->end;

	if (x->failed)
		return;
	/* libical stretches an all-day span to 23:59:59 of its DTEND day;
	 * DTEND is exclusive (RFC 5545 3.6.1), so take the length from the
	 * event itself. */
	if (x->date_len > 0)
		to = from + x->date_len;
	if (to <= from)
		return; /* an instant (DTSTART only): closes nothing */
	summary = icalcomponent_get_summary(ev);
	if (summary != NULL && (copy = strdup(summary)) == NULL) {
		x->failed = 1;
		gantry_error_set(x->err, GANTRY_ENOMEM, "out of memory");
		return;
	}
	if (span_add(x->c, x->set, from, to, x->deny->calendar, copy, true,
	        x->err) < 0)
		x->failed = 1;
}

struct expand_range {
	struct expand *x;
	struct icaltimetype lo, hi;
};

static int
expand_vevent(icalcomponent *cal, icalcomponent *ev, void *arg)
{
	struct expand_range *r = arg;
	struct icaltimetype ds, de;

	(void)cal;
	/*
	 * DATE and floating times: libical reads them as UTC, and so do we.
	 * The product decision reads them in "the configured zone", but a
	 * deny calendar has none (a calendar that needs a zone says so with
	 * TZID, which must resolve: ics_problems()).
	 */
	ds = icalcomponent_get_dtstart(ev);
	r->x->date_len = 0;
	if (ds.is_date) {
		de = icalcomponent_get_dtend(ev);
		if (icaltime_is_null_time(de) || !de.is_date)
			r->x->date_len = DAY_S;
		else
			r->x->date_len =
			    icaltime_as_timet(de) - icaltime_as_timet(ds);
		if (r->x->date_len <= 0)
			r->x->date_len = DAY_S;
	}
	icalcomponent_foreach_recurrence(ev, r->lo, r->hi, expand_cb, r->x);
	icalerror_clear_errno();
	return r->x->failed ? -1 : 0;
}

static int
compile_deny(struct compiled *c, struct wset *s, const struct window_deny *d,
    int64_t lo, int64_t hi, struct gantry_error *err)
{
	icaltimezone *utc = icaltimezone_get_utc_timezone();
	icalcomponent *root = NULL;
	char why[256];
	struct expand x = {c, s, d, 0, 0, err};
	struct expand_range r;
	int rc = -1;

	if (d->ics == NULL) {
		gantry_error_set(err, GANTRY_EINVALID,
		    "deny calendar %s was not loaded", d->calendar);
		goto out;
	}
	root = icalparser_parse_string(d->ics);
	icalerror_clear_errno();
	if (root == NULL) {
		gantry_error_set(err, GANTRY_EINVALID,
		    "deny calendar %s: not an iCalendar text", d->calendar);
		goto out;
	}
	if (ics_problems(root, why, sizeof(why)) < 0) {
		gantry_error_set(err, GANTRY_EINVALID, "deny calendar %s: %s",
		    d->calendar, why);
		goto out;
	}
	r.x = &x;
	r.lo = icaltime_from_timet_with_zone((time_t)lo, 0, utc);
	r.hi = icaltime_from_timet_with_zone((time_t)hi, 0, utc);
	if (foreach_vevent(root, expand_vevent, &r) < 0)
		goto out;
	rc = 0;
out:
	if (root != NULL)
		icalcomponent_free(root);
	return rc;
}

static int
compile_rule(
    struct rule *r, const struct window_allow *a, struct gantry_error *err)
{
	char why[256];

	r->src = a;
	r->zone = zone_lookup(a->timezone);
	if (r->zone == NULL)
		return gantry_error_set(err, GANTRY_EINVALID,
		    "allow window %s: unknown time zone \"%s\"",
		    a->rrule ? a->rrule : "", a->timezone ? a->timezone : "");
	if (rrule_parse(a->rrule, &r->rec, why, sizeof(why)) < 0)
		return gantry_error_set(
		    err, GANTRY_EINVALID, "allow window: %s", why);
	/* A UTC UNTIL is an instant: compare it in the rule's wall-clock
	 * time, like the occurrences (a floating one already is). */
	if (!icaltime_is_null_time(r->rec.until) && !r->rec.until.is_date &&
	    icaltime_is_utc(r->rec.until))
		r->rec.until =
		    local_floating(icaltime_as_timet(r->rec.until), r->zone);
	r->dur = a->duration_ms / 1000;
	return 0;
}

/*
 * Compile the nw sets, expanding deny calendars over [lo, hi] (events
 * overlapping the range, including those that started before lo).
 */
static int
compile(struct compiled *c, const struct windows *const *w, size_t nw,
    int64_t lo, int64_t hi, struct gantry_error *err)
{
	memset(c, 0, sizeof(*c));
	if (nw == 0)
		return 0;
	c->sets = calloc(nw, sizeof(*c->sets));
	if (c->sets == NULL)
		return gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
	c->nsets = nw;
	for (size_t i = 0; i < nw; i++) {
		const struct windows *ws = w[i];
		struct wset *s = &c->sets[i];

		if (ws == NULL)
			continue;
		if (ws->nallow > 0) {
			s->rules = calloc(ws->nallow, sizeof(*s->rules));
			if (s->rules == NULL)
				goto nomem;
			s->nrules = ws->nallow;
		}
		for (size_t j = 0; j < ws->nallow; j++)
			if (compile_rule(&s->rules[j], &ws->allow[j], err) < 0)
				goto fail;
		for (size_t j = 0; j < ws->nfreeze; j++) {
			const struct window_freeze *f = &ws->freeze[j];

			if (f->to > f->from &&
			    span_add(c, s, f->from, f->to, f->reason, NULL,
			        false, err) < 0)
				goto fail;
		}
		for (size_t j = 0; j < ws->ndeny; j++)
			if (compile_deny(c, s, &ws->deny[j], lo, hi, err) < 0)
				goto fail;
	}
	return 0;
nomem:
	gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
fail:
	compiled_free(c);
	return -1;
}

/* ---- evaluating ------------------------------------------------------ */

/* What an allow rule says at t. */
struct scan {
	bool covered; /* some occurrence os <= t < os + dur */
	int64_t cover_end; /* covered: min end of the covering occurrences */
	int64_t next_start; /* first occurrence start > t, or INT64_MAX */
};

/*
 * Walk r's occurrences around t: move the iterator to a little before
 * t - duration (icalrecur_iterator_set_start, allowed since COUNT is
 * rejected), then read occurrences until the first that starts after t.
 */
static int
rule_scan(
    const struct rule *r, int64_t t, struct scan *sc, struct gantry_error *err)
{
	icalrecur_iterator *it;
	struct icaltimetype o;
	int64_t from = t - r->dur - SCAN_SLACK_S;
	int rc = -1;

	sc->covered = false;
	sc->cover_end = INT64_MAX;
	sc->next_start = INT64_MAX;
	it = icalrecur_iterator_new(r->rec, anchor());
	if (it == NULL) {
		icalerror_clear_errno();
		return gantry_error_set(err, GANTRY_EINVALID,
		    "allow window %s: cannot expand", r->src->rrule);
	}
	if (!icalrecur_iterator_set_start(it, local_floating(from, r->zone))) {
		icalerror_clear_errno();
		gantry_error_set(err, GANTRY_EINVALID,
		    "allow window %s: cannot expand near %" PRId64,
		    r->src->rrule, t);
		goto out;
	}
	for (int n = 0;; n++) {
		int64_t os;

		if (n == SCAN_MAX) {
			gantry_error_set(err, GANTRY_EINVALID,
			    "allow window %s: more than %d occurrences to scan",
			    r->src->rrule, SCAN_MAX);
			goto out;
		}
		o = icalrecur_iterator_next(it);
		if (icaltime_is_null_time(o))
			break;
		os = icaltime_as_timet_with_zone(o, r->zone);
		if (os > t) {
			sc->next_start = os;
			break;
		}
		if (t < os + r->dur) {
			sc->covered = true;
			sc->cover_end = min64(sc->cover_end, os + r->dur);
		}
	}
	rc = 0;
out:
	icalrecur_iterator_free(it);
	icalerror_clear_errno();
	return rc;
}

static int
set_eval(
    const struct wset *s, int64_t t, struct eval *e, struct gantry_error *err)
{
	int64_t next_start = INT64_MAX;

	memset(e, 0, sizeof(*e));
	e->change = INT64_MAX;
	e->span_end = INT64_MIN;
	for (size_t i = 0; i < s->nspans; i++) {
		const struct span *sp = &s->spans[i];

		if (sp->from > t) {
			e->change = min64(e->change, sp->from);
		} else if (t < sp->to) {
			if (e->in_span == NULL)
				e->in_span = sp;
			e->span_end = max64(e->span_end, sp->to);
			e->change = min64(e->change, sp->to);
		}
	}
	e->allowed = s->nrules == 0;
	for (size_t i = 0; i < s->nrules; i++) {
		struct scan sc;

		if (rule_scan(&s->rules[i], t, &sc, err) < 0)
			return -1;
		if (sc.covered) {
			e->allowed = true;
			e->change = min64(e->change, sc.cover_end);
		}
		next_start = min64(next_start, sc.next_start);
		e->change = min64(e->change, sc.next_start);
	}
	e->open = e->allowed && e->in_span == NULL;
	if (e->open)
		e->opens_at = t;
	else if (!e->allowed)
		e->opens_at = e->in_span != NULL
		    ? max64(next_start, e->span_end)
		    : next_start;
	else
		e->opens_at = e->span_end;
	return 0;
}

/* Say why set s is closed at t (e from set_eval). */
static void
closed_reason(
    const struct wset *s, const struct eval *e, char *reason, size_t rlen)
{
	char until[32];

	if (reason == NULL || rlen == 0)
		return;
	if (e->in_span != NULL) {
		const struct span *sp = e->in_span;

		fmt_utc(e->span_end, until, sizeof(until));
		if (sp->deny)
			why_set(reason, rlen,
			    "inside deny calendar %s event \"%s\" until %s",
			    sp->label ? sp->label : "",
			    sp->summary ? sp->summary : "", until);
		else
			why_set(reason, rlen, "inside freeze \"%s\" until %s",
			    sp->label ? sp->label : "", until);
		return;
	}
	if (s->nrules == 1)
		why_set(reason, rlen, "outside allow window %s (%s)",
		    s->rules[0].src->rrule, s->rules[0].src->timezone);
	else
		why_set(reason, rlen,
		    "outside allow windows %s (%s) and %zu more",
		    s->rules[0].src->rrule, s->rules[0].src->timezone,
		    s->nrules - 1);
}

int
window_is_open(const struct windows *const *w, size_t nw, int64_t t, bool *open,
    char *reason, size_t rlen, struct gantry_error *err)
{
	struct compiled c;
	int rc = -1;

	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
	if (compile(&c, w, nw, t, t + 1, err) < 0)
		return -1;
	*open = true;
	for (size_t i = 0; i < c.nsets; i++) {
		struct eval e;

		if (set_eval(&c.sets[i], t, &e, err) < 0)
			goto out;
		if (!e.open) {
			*open = false;
			closed_reason(&c.sets[i], &e, reason, rlen);
			break;
		}
	}
	rc = 0;
out:
	compiled_free(&c);
	return rc;
}

/*
 * Start at t; while some set is closed, jump to the latest of the closed
 * sets' earliest possible openings (none can open sooner, and all must be
 * open), and look again.  Each jump passes at least one change, so this
 * ends within the horizon.
 */
int
window_next_open(const struct windows *const *w, size_t nw, int64_t t,
    int64_t *when, struct gantry_error *err)
{
	struct compiled c;
	int64_t cur = t, limit = t + WINDOW_HORIZON_S;
	char at[32];
	int rc = -1;

	if (compile(&c, w, nw, t, limit + 1, err) < 0)
		return -1;
	for (;;) {
		int64_t next = cur;
		bool open = true;

		for (size_t i = 0; i < c.nsets; i++) {
			struct eval e;

			if (set_eval(&c.sets[i], cur, &e, err) < 0)
				goto out;
			if (!e.open) {
				open = false;
				next = max64(next, e.opens_at);
			}
		}
		if (open) {
			*when = cur;
			break;
		}
		if (next > limit || next <= cur) {
			gantry_error_set(err, GANTRY_ENOENT,
			    "no deployment window opens within %lld days of "
			    "%s",
			    WINDOW_HORIZON_S / DAY_S,
			    fmt_utc(t, at, sizeof(at)));
			goto out;
		}
		cur = next;
	}
	rc = 0;
out:
	compiled_free(&c);
	return rc;
}

int
window_next_change(const struct windows *const *w, size_t nw, int64_t t,
    int64_t *when, struct gantry_error *err)
{
	struct compiled c;
	int64_t next = INT64_MAX;
	int rc = -1;

	if (compile(&c, w, nw, t, t + WINDOW_HORIZON_S + 1, err) < 0)
		return -1;
	for (size_t i = 0; i < c.nsets; i++) {
		struct eval e;

		if (set_eval(&c.sets[i], t, &e, err) < 0)
			goto out;
		next = min64(next, e.change);
	}
	*when = next > t + WINDOW_HORIZON_S ? INT64_MAX : next;
	rc = 0;
out:
	compiled_free(&c);
	return rc;
}
