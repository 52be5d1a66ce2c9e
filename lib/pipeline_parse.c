/*
 * pipeline_parse.c - validate a merged pipeline document (a JSON tree; the
 * grammar is gantry-pipeline(5)) and build a struct pipeline from it.
 * Every problem of the file goes to diag with the path of the offending
 * node; a broken node's dependent checks (references into it, safety
 * floors on it) are skipped, never guessed.
 *
 * Map of the grammar to the code: top-level keys -> parse_top(), source
 * -> parse_source(), hooks -> parse_hooks(), alarms -> parse_alarm(),
 * windows -> parse_windows(), stages -> parse_stage() (common keys, then
 * per type: parse_groups(), parse_regions(), parse_wave_sizes()), the
 * cross-stage rules and safety floors -> stage_rules() / stage_floors().
 */
#include "pipeline.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "window.h"

#define PLEN 320 /* a diag path; longer ones are truncated */

#define NAME_MAX_LEN 63
#define TARGET_MAX_LEN 255
#define MAX_STAGES 100
#define MAX_GROUPS 100
#define MAX_TARGETS 1000
#define MAX_REGIONS 50
#define MAX_AZS 100
#define MAX_BATCH 100000

#define SEC 1000LL
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

/* Everything one parse needs; the tree and diag are borrowed. */
struct pctx {
	const char *file;
	struct diag *diag;
	const struct pipeline_floors *floors;
	const struct pipeline_io *io;
	struct pipeline *p;
	/* The top-level hooks / alarms mappings (borrowed), so references
	 * can be checked by name even when a definition's value is bad.
	 * *_known is false when the key itself is broken (not a mapping):
	 * then references are not checked at all. */
	const json_t *hooks;
	bool hooks_known;
	const json_t *alarms;
	bool alarms_known;
	json_t *stage_names; /* name -> index, for duplicates */
	long build_at; /* index of the first build stage, or -1 */
	bool has_production;
};

static void report(struct pctx *c, const char *path, const char *fmt, ...)
    PRINTFLIKE(3, 4);

static void
report(struct pctx *c, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(c->diag, c->file, path, "%s", msg);
}

/* out = base.key (or key when base is empty); out must not alias base. */
static void
path_key(char *out, const char *base, const char *key)
{
	snprintf(out, PLEN, "%s%s%s", base, *base ? "." : "", key);
}

/* out = base[i] */
static void
path_idx(char *out, const char *base, size_t i)
{
	snprintf(out, PLEN, "%s[%zu]", base, i);
}

static bool
in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static void
report_unknown(
    struct pctx *c, const char *base, const char *key, const char *const *ok)
{
	const char *hint = diag_suggest(key, ok);
	char path[PLEN];

	path_key(path, base, key);
	report(c, path, "unknown key%s%s%s", hint ? " (did you mean \"" : "",
	    hint ? hint : "", hint ? "\"?)" : "");
}

/* Report every key of obj (a mapping) that is not in allowed. */
static void
check_keys(struct pctx *c, const json_t *obj, const char *path,
    const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v)
	{
		if (!in_list(k, allowed))
			report_unknown(c, path, k, allowed);
	}
}

/* obj.key, reporting "required key is missing" when required and absent. */
static const json_t *
member(struct pctx *c, const json_t *obj, const char *base, const char *key,
    bool required)
{
	const json_t *v = json_object_get(obj, key);
	char path[PLEN];

	if (v == NULL && required) {
		path_key(path, base, key);
		report(c, path, "required key is missing");
	}
	return v;
}

static char *
dup_str(struct pctx *c, const char *path, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		report(c, path, "out of memory");
	return d;
}

static void *
alloc_array(struct pctx *c, const char *path, size_t n, size_t size)
{
	void *a = calloc(n ? n : 1, size);

	if (a == NULL)
		report(c, path, "out of memory");
	return a;
}

/* --- scalar values ------------------------------------------------------ */

/* A non-empty string without NUL bytes. */
static bool
want_string(struct pctx *c, const json_t *v, const char *path, const char **out)
{
	if (!json_is_string(v)) {
		report(c, path, "must be a string");
		return false;
	}
	if (json_string_length(v) == 0) {
		report(c, path, "must not be empty");
		return false;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		report(c, path, "must not contain NUL characters");
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* [a-z0-9][a-z0-9-]*, at most 63 characters. */
static bool
name_ok(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_LEN || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		        (ch == '-' && i > 0)))
			return false;
	}
	return true;
}

static void
report_bad_name(struct pctx *c, const char *path, const char *s)
{
	report(c, path,
	    "bad name \"%s\" (a-z, 0-9 and '-', starting with a letter or "
	    "digit, at most %d characters)",
	    s, NAME_MAX_LEN);
}

static bool
want_name(struct pctx *c, const json_t *v, const char *path, const char **out)
{
	if (!json_is_string(v)) {
		report(c, path, "must be a string");
		return false;
	}
	if (!name_ok(json_string_value(v), json_string_length(v))) {
		report_bad_name(c, path, json_string_value(v));
		return false;
	}
	*out = json_string_value(v);
	return true;
}

static bool
want_bool(struct pctx *c, const json_t *v, const char *path, bool *out)
{
	if (!json_is_boolean(v)) {
		report(c, path, "must be a boolean");
		return false;
	}
	*out = json_is_true(v);
	return true;
}

static bool
want_int(struct pctx *c, const json_t *v, const char *path, int64_t min,
    int64_t max, int64_t *out)
{
	int64_t n;

	if (!json_is_integer(v)) {
		report(c, path, "must be an integer");
		return false;
	}
	n = (int64_t)json_integer_value(v);
	if (n < min || n > max) {
		report(c, path,
		    "%" PRId64 " is out of range %" PRId64 "..%" PRId64, n, min,
		    max);
		return false;
	}
	*out = n;
	return true;
}

static bool
want_number(struct pctx *c, const json_t *v, const char *path, double *out)
{
	if (!json_is_number(v)) {
		report(c, path, "must be a number");
		return false;
	}
	*out = json_number_value(v);
	return true;
}

/* A duration string in [min, max]; the integer 0 is accepted as "0s". */
static bool
want_duration(struct pctx *c, const json_t *v, const char *path, int64_t min,
    int64_t max, int64_t *out)
{
	struct gantry_error err;
	char a[32], b[32], d[32];
	int64_t ms;

	if (json_is_integer(v) && json_integer_value(v) == 0) {
		ms = 0;
	} else if (!json_is_string(v)) {
		report(c, path, "must be a duration such as 5s or 1m30s");
		return false;
	} else if (strlen(json_string_value(v)) != json_string_length(v)) {
		report(c, path, "must not contain NUL characters");
		return false;
	} else if (duration_parse(json_string_value(v), &ms, &err) < 0) {
		report(c, path, "%s", err.msg);
		return false;
	}
	if (ms < min || ms > max) {
		report(c, path, "%s is out of range %s..%s",
		    json_is_string(v) ? json_string_value(v)
		                      : duration_format(ms, d, sizeof(d)),
		    duration_format(min, a, sizeof(a)),
		    duration_format(max, b, sizeof(b)));
		return false;
	}
	*out = ms;
	return true;
}

/* One of names[] (NULL-terminated); msg says what is expected. */
static bool
want_enum(struct pctx *c, const json_t *v, const char *path,
    const char *const *names, const char *msg, int *out)
{
	if (json_is_string(v))
		for (int i = 0; names[i] != NULL; i++)
			if (strcmp(json_string_value(v), names[i]) == 0 &&
			    strlen(names[i]) == json_string_length(v)) {
				*out = i;
				return true;
			}
	report(c, path, "%s", msg);
	return false;
}

static bool
want_mapping(struct pctx *c, const json_t *v, const char *path)
{
	if (!json_is_object(v)) {
		report(c, path, "must be a mapping");
		return false;
	}
	return true;
}

/* A list of min..max items. */
static bool
want_list(
    struct pctx *c, const json_t *v, const char *path, size_t min, size_t max)
{
	size_t n;

	if (!json_is_array(v)) {
		report(c, path, "must be a list");
		return false;
	}
	n = json_array_size(v);
	if (n < min || n > max) {
		report(
		    c, path, "must have %zu..%zu items (has %zu)", min, max, n);
		return false;
	}
	return true;
}

/* A hook reference: a path (contains '/') or a key of hooks. */
static bool
want_hookref(struct pctx *c, const json_t *v, const char *path, char **out)
{
	const char *s;

	if (!want_string(c, v, path, &s))
		return false;
	if (strchr(s, '/') == NULL && c->hooks_known &&
	    json_object_get(c->hooks, s) == NULL) {
		report(c, path, "undefined hook \"%s\"", s);
		return false;
	}
	*out = dup_str(c, path, s);
	return *out != NULL;
}

/* 1..255 printable characters, no whitespace (UTF-8 bytes allowed). */
static bool
target_ok(const char *s, size_t len)
{
	if (len == 0 || len > TARGET_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

/* RFC 3339 date-time: 2026-12-24T00:00:00Z, fraction optional and
 * dropped, offset Z or +hh:mm / -hh:mm.  Seconds since the epoch. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool
parse_rfc3339(const char *s, int64_t *out)
{
	static const int mdays[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	const char *p;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return false;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		p += 6;
	} else {
		return false;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || se > 60)
		return false;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	    sign * (oh * 3600 + om * 60);
	return true;
}

static bool
want_time(struct pctx *c, const json_t *v, const char *path, int64_t *out)
{
	if (!json_is_string(v)) {
		report(c, path, "must be a string");
		return false;
	}
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    !parse_rfc3339(json_string_value(v), out)) {
		report(c, path,
		    "bad timestamp \"%s\" (expected RFC 3339 such as "
		    "2026-12-24T00:00:00Z or 2026-12-24T09:00:00+01:00)",
		    json_string_value(v));
		return false;
	}
	return true;
}

/* --- windows ------------------------------------------------------------ */

static void
parse_allow(
    struct pctx *c, const json_t *v, const char *path, struct window_allow *a)
{
	static const char *const keys[] = {
	    "rrule", "duration", "timezone", NULL};
	char kp[PLEN], why[256];
	const json_t *f;
	const char *s;

	if (!want_mapping(c, v, path))
		return;
	check_keys(c, v, path, keys);
	path_key(kp, path, "rrule");
	if ((f = member(c, v, path, "rrule", true)) != NULL &&
	    want_string(c, f, kp, &s)) {
		if (window_check_rrule(s, why, sizeof(why)) < 0)
			report(c, kp, "%s", why);
		else
			a->rrule = dup_str(c, kp, s);
	}
	path_key(kp, path, "duration");
	if ((f = member(c, v, path, "duration", true)) != NULL)
		(void)want_duration(c, f, kp, MINUTE, 7 * DAY, &a->duration_ms);
	path_key(kp, path, "timezone");
	if ((f = member(c, v, path, "timezone", true)) != NULL &&
	    want_string(c, f, kp, &s)) {
		if (window_check_timezone(s, why, sizeof(why)) < 0)
			report(c, kp, "%s", why);
		else
			a->timezone = dup_str(c, kp, s);
	}
}

static void
parse_deny(
    struct pctx *c, const json_t *v, const char *path, struct window_deny *d)
{
	static const char *const keys[] = {"calendar", NULL};
	char kp[PLEN], why[256];
	const json_t *f;
	const char *s;
	char *text = NULL;
	size_t len = 0;

	if (!want_mapping(c, v, path))
		return;
	check_keys(c, v, path, keys);
	path_key(kp, path, "calendar");
	if ((f = member(c, v, path, "calendar", true)) == NULL ||
	    !want_string(c, f, kp, &s))
		return;
	if ((d->calendar = dup_str(c, kp, s)) == NULL || c->io == NULL ||
	    c->io->read == NULL)
		return;
	why[0] = '\0';
	if (c->io->read(c->io->ctx, c->file, s, &text, &len, why, sizeof(why)) <
	        0 ||
	    text == NULL) {
		free(text);
		report(c, kp, "cannot read calendar: %s",
		    why[0] ? why : "unknown error");
		return;
	}
	d->ics = text; /* takes ownership */
	if (window_check_ics(text, why, sizeof(why)) < 0)
		report(c, kp, "%s: %s", s, why);
}

static void
parse_freeze(
    struct pctx *c, const json_t *v, const char *path, struct window_freeze *fz)
{
	static const char *const keys[] = {"from", "to", "reason", NULL};
	char kp[PLEN];
	const json_t *f;
	const char *s;
	bool from_ok = false, to_ok = false;

	if (!want_mapping(c, v, path))
		return;
	check_keys(c, v, path, keys);
	path_key(kp, path, "from");
	if ((f = member(c, v, path, "from", true)) != NULL)
		from_ok = want_time(c, f, kp, &fz->from);
	path_key(kp, path, "to");
	if ((f = member(c, v, path, "to", true)) != NULL)
		to_ok = want_time(c, f, kp, &fz->to);
	path_key(kp, path, "reason");
	if ((f = member(c, v, path, "reason", true)) != NULL &&
	    want_string(c, f, kp, &s))
		fz->reason = dup_str(c, kp, s);
	if (from_ok && to_ok && fz->from >= fz->to)
		report(c, path, "from must be before to");
}

static void
parse_windows(
    struct pctx *c, const json_t *v, const char *path, struct windows *w)
{
	static const char *const keys[] = {"allow", "deny", "freeze", NULL};
	char kp[PLEN], ip[PLEN];
	const json_t *f, *item;
	size_t i;

	if (!want_mapping(c, v, path))
		return;
	check_keys(c, v, path, keys);

	path_key(kp, path, "allow");
	if ((f = member(c, v, path, "allow", false)) != NULL &&
	    want_list(c, f, kp, 0, SIZE_MAX) &&
	    (w->allow = alloc_array(
	         c, kp, json_array_size(f), sizeof(*w->allow))) != NULL)
		json_array_foreach(f, i, item)
		{
			path_idx(ip, kp, i);
			w->nallow++;
			parse_allow(c, item, ip, &w->allow[i]);
		}

	path_key(kp, path, "deny");
	if ((f = member(c, v, path, "deny", false)) != NULL &&
	    want_list(c, f, kp, 0, SIZE_MAX) &&
	    (w->deny = alloc_array(
	         c, kp, json_array_size(f), sizeof(*w->deny))) != NULL)
		json_array_foreach(f, i, item)
		{
			path_idx(ip, kp, i);
			w->ndeny++;
			parse_deny(c, item, ip, &w->deny[i]);
		}

	path_key(kp, path, "freeze");
	if ((f = member(c, v, path, "freeze", false)) != NULL &&
	    want_list(c, f, kp, 0, SIZE_MAX) &&
	    (w->freeze = alloc_array(
	         c, kp, json_array_size(f), sizeof(*w->freeze))) != NULL)
		json_array_foreach(f, i, item)
		{
			path_idx(ip, kp, i);
			w->nfreeze++;
			parse_freeze(c, item, ip, &w->freeze[i]);
		}
}

/* --- top level: source, review, hooks, signing, alarms ------------------ */

static const char *const source_kinds[] = {"application", "infrastructure",
    "os-patches", "config", "static-assets", NULL};
#define SOURCE_MSG                                                             \
	"must be one of application, infrastructure, os-patches, config, "     \
	"static-assets"

/* "owner/name" or a URL (scheme://...), without whitespace. */
static bool
repository_ok(const char *s)
{
	const char *slash = strchr(s, '/');

	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return false;
	if (strstr(s, "://") != NULL)
		return strstr(s, "://") != s && strstr(s, "://")[3] != '\0';
	return slash != NULL && slash != s && slash[1] != '\0' &&
	    strchr(slash + 1, '/') == NULL;
}

static void
parse_source(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = {
	    "kind", "repository", "branch", NULL};
	const json_t *f;
	const char *s;
	int k;

	if (json_is_string(v)) {
		if (want_enum(c, v, "source", source_kinds, SOURCE_MSG, &k))
			c->p->source = (enum pipeline_source_kind)k;
		return;
	}
	if (!json_is_object(v)) {
		report(c, "source", "must be a string or a mapping");
		return;
	}
	check_keys(c, v, "source", keys);
	if ((f = member(c, v, "source", "kind", true)) != NULL &&
	    want_enum(c, f, "source.kind", source_kinds, SOURCE_MSG, &k))
		c->p->source = (enum pipeline_source_kind)k;
	if ((f = member(c, v, "source", "repository", false)) != NULL &&
	    want_string(c, f, "source.repository", &s)) {
		if (!repository_ok(s))
			report(c, "source.repository",
			    "must be \"owner/name\" or a URL");
		else
			c->p->repository = dup_str(c, "source.repository", s);
	}
	if ((f = member(c, v, "source", "branch", false)) != NULL &&
	    want_string(c, f, "source.branch", &s)) {
		free(c->p->branch);
		c->p->branch = dup_str(c, "source.branch", s);
	}
}

/* Returns whether review.required is known (parsed or defaulted). */
static bool
parse_review(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = {
	    "required", "min_approvals", "wait", NULL};
	const json_t *f;
	bool ok = true;
	int64_t n;

	if (!want_mapping(c, v, "review"))
		return false;
	check_keys(c, v, "review", keys);
	if ((f = member(c, v, "review", "required", false)) != NULL)
		ok = want_bool(c, f, "review.required", &c->p->review_required);
	if ((f = member(c, v, "review", "min_approvals", false)) != NULL &&
	    want_int(c, f, "review.min_approvals", 1, 10, &n))
		c->p->review_min_approvals = (int)n;
	if ((f = member(c, v, "review", "wait", false)) != NULL)
		(void)want_duration(
		    c, f, "review.wait", 0, 7 * DAY, &c->p->review_wait_ms);
	return ok;
}

/* notifications: {webhook: URL, timeout: DURATION} */
static void
parse_notifications(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = {"webhook", "timeout", NULL};
	const json_t *f;
	const char *s;

	if (!want_mapping(c, v, "notifications"))
		return;
	check_keys(c, v, "notifications", keys);
	if ((f = member(c, v, "notifications", "webhook", true)) != NULL &&
	    want_string(c, f, "notifications.webhook", &s)) {
		if (strncmp(s, "http://", 7) != 0 &&
		    strncmp(s, "https://", 8) != 0)
			report(c, "notifications.webhook",
			    "must be an http:// or https:// URL");
		else
			c->p->notify_webhook =
			    dup_str(c, "notifications.webhook", s);
	}
	if ((f = member(c, v, "notifications", "timeout", false)) != NULL)
		(void)want_duration(c, f, "notifications.timeout", SEC,
		    5 * MINUTE, &c->p->notify_timeout_ms);
}

static void
parse_hooks(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = {"command", "timeout", NULL};
	char hp[PLEN], kp[PLEN];
	const char *name, *s;
	json_t *h;

	c->hooks_known = false;
	if (!want_mapping(c, v, "hooks"))
		return;
	c->hooks = v;
	c->hooks_known = true;
	c->p->hooks =
	    alloc_array(c, "hooks", json_object_size(v), sizeof(*c->p->hooks));
	if (c->p->hooks == NULL)
		return;
	json_object_foreach((json_t *)v, name, h)
	{
		struct pipeline_hook *hk = &c->p->hooks[c->p->nhooks++];
		const json_t *f;

		path_key(hp, "hooks", name);
		if (!name_ok(name, strlen(name)))
			report_bad_name(c, hp, name);
		else
			hk->name = dup_str(c, hp, name);
		if (json_is_string(h)) {
			if (want_string(c, h, hp, &s))
				hk->command = dup_str(c, hp, s);
			continue;
		}
		if (!json_is_object(h)) {
			report(c, hp, "must be a string or a mapping");
			continue;
		}
		check_keys(c, h, hp, keys);
		path_key(kp, hp, "command");
		if ((f = member(c, h, hp, "command", true)) != NULL &&
		    want_string(c, f, kp, &s))
			hk->command = dup_str(c, kp, s);
		path_key(kp, hp, "timeout");
		if ((f = member(c, h, hp, "timeout", false)) != NULL)
			(void)want_duration(
			    c, f, kp, SEC, DAY, &hk->timeout_ms);
	}
}

static void
parse_signing(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = {"public_key", NULL};
	const json_t *f;
	const char *s;

	if (!want_mapping(c, v, "signing"))
		return;
	check_keys(c, v, "signing", keys);
	if ((f = member(c, v, "signing", "public_key", true)) != NULL &&
	    want_string(c, f, "signing.public_key", &s))
		c->p->signing_public_key = dup_str(c, "signing.public_key", s);
}

/* "M/N" with 1 <= M <= N <= 100. */
static bool
parse_datapoints(const json_t *v, int *m, int *n)
{
	const char *s;
	int a = 0, b = 0, i = 0, j;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	while (i < 4 && s[i] >= '0' && s[i] <= '9')
		a = a * 10 + (s[i++] - '0');
	if (i == 0 || i == 4 || s[i] != '/')
		return false;
	j = ++i;
	while (i - j < 4 && s[i] >= '0' && s[i] <= '9')
		b = b * 10 + (s[i++] - '0');
	if (i == j || i - j == 4 || s[i] != '\0' ||
	    (size_t)i != json_string_length(v))
		return false;
	if (a < 1 || a > b || b > 100)
		return false;
	*m = a;
	*n = b;
	return true;
}

static void
parse_anomaly(
    struct pctx *c, const json_t *v, const char *path, struct alarm_def *a)
{
	static const char *const keys[] = {"spike", "baseline", NULL};
	char kp[PLEN];
	const json_t *f;

	if (json_is_string(v) &&
	    strcmp(json_string_value(v), "drop-to-zero") == 0 &&
	    json_string_length(v) == strlen("drop-to-zero")) {
		a->kind = ALARM_DROP_TO_ZERO;
		return;
	}
	if (!json_is_object(v)) {
		report(c, path,
		    "must be drop-to-zero or a mapping {spike: FACTOR, "
		    "baseline: DURATION}");
		return;
	}
	a->kind = ALARM_SPIKE;
	check_keys(c, v, path, keys);
	path_key(kp, path, "spike");
	if ((f = member(c, v, path, "spike", true)) != NULL &&
	    want_number(c, f, kp, &a->factor) && !(a->factor > 1))
		report(c, kp, "spike factor must be greater than 1");
	path_key(kp, path, "baseline");
	if ((f = member(c, v, path, "baseline", false)) != NULL)
		(void)want_duration(c, f, kp, MINUTE, DAY, &a->baseline_ms);
}

static void
parse_alarm(
    struct pctx *c, const json_t *v, const char *path, struct alarm_def *a)
{
	static const char *const keys[] = {"prometheus", "command", "push",
	    "above", "below", "period", "datapoints", "anomaly",
	    "insufficient_data", "factor", NULL};
	static const char *const not_push[] = {"above", "below", "anomaly",
	    "period", "datapoints", "factor", NULL};
	static const char *const insufficient[] = {"fail", "pass", NULL};
	const json_t *prom, *cmd, *push, *above, *below, *anom, *f;
	char kp[PLEN];
	const char *s;
	int nsrc, k;
	bool push_src;

	a->period_ms = 30 * SEC;
	a->m = a->n = 1;
	a->baseline_ms = 30 * MINUTE;
	a->kind = ALARM_THRESHOLD;
	if (!want_mapping(c, v, path))
		return;
	check_keys(c, v, path, keys);
	prom = member(c, v, path, "prometheus", false);
	cmd = member(c, v, path, "command", false);
	push = member(c, v, path, "push", false);
	nsrc = (prom != NULL) + (cmd != NULL) + (push != NULL);
	if (nsrc == 0)
		report(c, path,
		    "alarm needs a source: prometheus, command or push");
	else if (nsrc > 1)
		report(c, path,
		    "prometheus, command and push are exclusive (one source "
		    "per alarm)");
	push_src = nsrc == 1 && push != NULL;

	path_key(kp, path, "prometheus");
	if (prom && want_string(c, prom, kp, &s)) {
		a->source = ALARM_SRC_PROMETHEUS;
		free(a->query);
		a->query = dup_str(c, kp, s);
	}
	path_key(kp, path, "command");
	if (cmd && want_string(c, cmd, kp, &s)) {
		a->source = ALARM_SRC_COMMAND;
		free(a->query);
		a->query = dup_str(c, kp, s);
	}
	path_key(kp, path, "push");
	if (push != NULL) {
		if (json_is_false(push))
			report(c, kp, "must be true (or left out)");
		else if (json_is_true(push))
			a->source = ALARM_SRC_PUSH;
		else
			report(c, kp, "must be a boolean");
	}

	above = member(c, v, path, "above", false);
	below = member(c, v, path, "below", false);
	path_key(kp, path, "above");
	if (above && want_number(c, above, kp, &a->threshold))
		a->above = true;
	path_key(kp, path, "below");
	if (below && want_number(c, below, kp, &a->threshold))
		a->above = false;
	if (above && below)
		report(c, path, "above and below are exclusive");
	a->has_threshold = above != NULL || below != NULL;
	if (a->query != NULL && a->source != ALARM_SRC_PUSH &&
	    strstr(a->query, "{{target}}") != NULL) {
		a->relative = true;
		a->factor = 2.0;
	}
	path_key(kp, path, "factor");
	if ((f = member(c, v, path, "factor", false)) != NULL) {
		if (!a->relative)
			report(c, kp,
			    "factor is for relative alarms: the query must "
			    "hold {{target}}");
		else if (want_number(c, f, kp, &a->factor) && !(a->factor > 1))
			report(c, kp, "factor must be greater than 1");
	}
	path_key(kp, path, "period");
	if ((f = member(c, v, path, "period", false)) != NULL)
		(void)want_duration(c, f, kp, SEC, HOUR, &a->period_ms);
	path_key(kp, path, "datapoints");
	if ((f = member(c, v, path, "datapoints", false)) != NULL &&
	    !parse_datapoints(f, &a->m, &a->n))
		report(c, kp, "datapoints must be M/N with 1 <= M <= N <= 100");
	anom = member(c, v, path, "anomaly", false);
	path_key(kp, path, "anomaly");
	if (anom)
		parse_anomaly(c, anom, kp, a);
	path_key(kp, path, "insufficient_data");
	if ((f = member(c, v, path, "insufficient_data", false)) != NULL &&
	    want_enum(c, f, kp, insufficient, "must be fail or pass", &k))
		a->missing_data_ok = k == 1;

	if (push_src) {
		a->kind = ALARM_STATE;
		for (size_t i = 0; not_push[i] != NULL; i++)
			if (json_object_get(v, not_push[i]) != NULL) {
				path_key(kp, path, not_push[i]);
				report(c, kp,
				    "not valid for a push alarm (its state "
				    "is pushed)");
			}
	} else if (nsrc == 1) {
		if ((above || below) && anom &&
		    !(a->kind == ALARM_SPIKE && above && !below))
			report(c, path,
			    "threshold (above/below) and anomaly are "
			    "exclusive (except above: as the floor of a "
			    "spike)");
		else if (a->relative && anom)
			report(c, path,
			    "a relative alarm ({{target}} in its query) "
			    "cannot be an anomaly");
		else if (!above && !below && !anom && !a->relative)
			report(c, path,
			    "alarm needs a threshold (above/below) or an "
			    "anomaly");
	}
}

static void
parse_alarms(struct pctx *c, const json_t *v)
{
	char ap[PLEN];
	const char *name;
	json_t *a;

	c->alarms_known = false;
	if (!want_mapping(c, v, "alarms"))
		return;
	c->alarms = v;
	c->alarms_known = true;
	c->p->alarms = alloc_array(
	    c, "alarms", json_object_size(v), sizeof(*c->p->alarms));
	if (c->p->alarms == NULL)
		return;
	json_object_foreach((json_t *)v, name, a)
	{
		struct alarm_def *def = &c->p->alarms[c->p->nalarms++];

		path_key(ap, "alarms", name);
		if (!name_ok(name, strlen(name)))
			report_bad_name(c, ap, name);
		else
			def->name = dup_str(c, ap, name);
		parse_alarm(c, a, ap, def);
	}
}

/* --- stages ------------------------------------------------------------- */

#define T_BUILD (1u << STAGE_BUILD)
#define T_TEST (1u << STAGE_TEST)
#define T_DEPLOY (1u << STAGE_DEPLOY)
#define T_WAVES (1u << STAGE_WAVES)
#define T_ALL (T_BUILD | T_TEST | T_DEPLOY | T_WAVES)

static const struct stage_key {
	const char *name;
	unsigned types;
} stage_keys[] = {
    {"name", T_ALL},
    {"type", T_ALL},
    {"timeout", T_ALL},
    {"windows", T_ALL},
    {"command", T_TEST},
    {"groups", T_DEPLOY},
    {"regions", T_WAVES},
    {"wave_sizes", T_WAVES},
    {"sequential", T_DEPLOY | T_WAVES},
    {"one_box", T_DEPLOY | T_WAVES},
    {"rolling", T_DEPLOY | T_WAVES},
    {"bake", T_DEPLOY | T_WAVES},
    {"alarms", T_DEPLOY | T_WAVES},
    {"tests", T_DEPLOY | T_WAVES},
    {"production", T_DEPLOY},
};
#define NSTAGE_KEYS (sizeof(stage_keys) / sizeof(stage_keys[0]))

static const char *const stage_types[] = {
    "build", "test", "deploy", "waves", NULL};

/* What parsed cleanly in one stage: the safety floors look only at
 * those parts (a broken node was already reported). */
struct stage_ok {
	bool one_box, bake, alarms, regions, wave_sizes;
};

/* A target list (1..1000) into g->targets, checking uniqueness within
 * the stage through seen (target -> path of its first use). */
static void
parse_targets(struct pctx *c, const json_t *v, const char *path,
    struct stage_group *g, json_t *seen)
{
	char tp[PLEN];
	const json_t *t;
	size_t i;

	if (!want_list(c, v, path, 1, MAX_TARGETS))
		return;
	g->targets = alloc_array(c, path, json_array_size(v), sizeof(char *));
	if (g->targets == NULL)
		return;
	json_array_foreach(v, i, t)
	{
		const char *s;
		const json_t *prev;

		path_idx(tp, path, i);
		if (!json_is_string(t)) {
			report(c, tp, "must be a string");
			continue;
		}
		s = json_string_value(t);
		if (!target_ok(s, json_string_length(t))) {
			report(c, tp,
			    "bad target \"%s\" (1..%d printable characters, "
			    "no whitespace)",
			    s, TARGET_MAX_LEN);
			continue;
		}
		if ((prev = json_object_get(seen, s)) != NULL) {
			report(c, tp, "duplicate target \"%s\" (also %s)", s,
			    json_string_value(prev));
			continue;
		}
		json_object_set_new(seen, s, json_string(tp));
		if ((g->targets[g->ntargets] = dup_str(c, tp, s)) != NULL)
			g->ntargets++;
	}
}

static void
parse_groups(struct pctx *c, const json_t *v, const char *path,
    struct stage *st, json_t *seen)
{
	static const char *const keys[] = {"name", "targets", NULL};
	char gp[PLEN], kp[PLEN];
	const json_t *g, *f;
	json_t *names;
	const char *s;
	size_t i;

	if (!want_list(c, v, path, 1, MAX_GROUPS))
		return;
	st->groups =
	    alloc_array(c, path, json_array_size(v), sizeof(*st->groups));
	if (st->groups == NULL || (names = json_object()) == NULL)
		return;
	json_array_foreach(v, i, g)
	{
		struct stage_group *gr = &st->groups[st->ngroups++];

		path_idx(gp, path, i);
		if (!want_mapping(c, g, gp))
			continue;
		check_keys(c, g, gp, keys);
		path_key(kp, gp, "name");
		if ((f = member(c, g, gp, "name", true)) != NULL &&
		    want_name(c, f, kp, &s)) {
			const json_t *prev = json_object_get(names, s);

			if (prev != NULL)
				report(c, kp,
				    "duplicate group name \"%s\" (also %s)", s,
				    json_string_value(prev));
			else
				json_object_set_new(names, s, json_string(gp));
			gr->name = dup_str(c, kp, s);
		}
		path_key(kp, gp, "targets");
		if ((f = member(c, g, gp, "targets", true)) != NULL)
			parse_targets(c, f, kp, gr, seen);
	}
	json_decref(names);
}

static bool
parse_regions(struct pctx *c, const json_t *v, const char *path,
    struct stage *st, json_t *seen)
{
	static const char *const keys[] = {"name", "azs", NULL};
	char rp[PLEN], kp[PLEN], ap[PLEN];
	const json_t *r, *f;
	json_t *names;
	const char *s;
	size_t i;
	bool ok = true;

	if (!want_list(c, v, path, 1, MAX_REGIONS))
		return false;
	st->regions =
	    alloc_array(c, path, json_array_size(v), sizeof(*st->regions));
	if (st->regions == NULL || (names = json_object()) == NULL)
		return false;
	json_array_foreach(v, i, r)
	{
		struct region *rg = &st->regions[st->nregions++];
		const char *az;
		json_t *t;

		path_idx(rp, path, i);
		if (!want_mapping(c, r, rp)) {
			ok = false;
			continue;
		}
		check_keys(c, r, rp, keys);
		path_key(kp, rp, "name");
		if ((f = member(c, r, rp, "name", true)) != NULL &&
		    want_name(c, f, kp, &s)) {
			const json_t *prev = json_object_get(names, s);

			if (prev != NULL)
				report(c, kp,
				    "duplicate region name \"%s\" (also %s)", s,
				    json_string_value(prev));
			else
				json_object_set_new(names, s, json_string(rp));
			rg->name = dup_str(c, kp, s);
		}
		path_key(kp, rp, "azs");
		if ((f = member(c, r, rp, "azs", true)) == NULL ||
		    !want_mapping(c, f, kp)) {
			ok = false;
			continue;
		}
		if (json_object_size(f) == 0 || json_object_size(f) > MAX_AZS) {
			report(c, kp, "must have 1..%d AZs (has %zu)", MAX_AZS,
			    json_object_size(f));
			ok = false;
			continue;
		}
		rg->azs =
		    alloc_array(c, kp, json_object_size(f), sizeof(*rg->azs));
		if (rg->azs == NULL)
			continue;
		json_object_foreach((json_t *)f, az, t)
		{
			struct stage_group *g = &rg->azs[rg->nazs++];

			path_key(ap, kp, az);
			if (!name_ok(az, strlen(az)))
				report_bad_name(c, ap, az);
			else
				g->name = dup_str(c, ap, az);
			parse_targets(c, t, ap, g, seen);
		}
	}
	json_decref(names);
	return ok;
}

static bool
parse_wave_sizes(
    struct pctx *c, const json_t *v, const char *path, struct stage *st)
{
	char ip[PLEN];
	const json_t *w;
	size_t i, n;
	bool ok = true;

	if (!want_list(c, v, path, 1, MAX_REGIONS))
		return false;
	n = json_array_size(v);
	st->wave_sizes = alloc_array(c, path, n, sizeof(int));
	if (st->wave_sizes == NULL)
		return false;
	json_array_foreach(v, i, w)
	{
		path_idx(ip, path, i);
		st->nwave_sizes++;
		if (json_is_string(w) &&
		    strcmp(json_string_value(w), "rest") == 0 &&
		    json_string_length(w) == 4) {
			st->wave_sizes[i] = WAVE_REST;
			if (i + 1 != n) {
				report(c, ip,
				    "\"rest\" may only be the last item");
				ok = false;
			}
		} else if (json_is_integer(w) && json_integer_value(w) >= 1 &&
		    json_integer_value(w) <= MAX_REGIONS) {
			st->wave_sizes[i] = (int)json_integer_value(w);
		} else {
			report(c, ip, "must be an integer 1..%d or \"rest\"",
			    MAX_REGIONS);
			ok = false;
		}
	}
	return ok;
}

/* The wave_sizes sum against the regions. */
static void
check_wave_cover(struct pctx *c, const char *path, const struct stage *st)
{
	size_t sum = 0;
	bool rest = false;

	for (size_t i = 0; i < st->nwave_sizes; i++) {
		if (st->wave_sizes[i] == WAVE_REST)
			rest = true;
		else
			sum += (size_t)st->wave_sizes[i];
	}
	if (!rest && sum != st->nregions)
		report(c, path,
		    "wave_sizes cover %zu regions but %zu are listed", sum,
		    st->nregions);
	else if (rest && sum >= st->nregions)
		report(c, path,
		    "wave_sizes cover %zu regions before \"rest\" but %zu "
		    "are listed (rest must cover at least 1)",
		    sum, st->nregions);
}

static void
parse_one_box(struct pctx *c, const json_t *v, const char *path,
    struct stage *st, bool *ok)
{
	static const char *const keys[] = {"bake", "max_traffic_share", NULL};
	char kp[PLEN];
	const json_t *f;
	double share;

	*ok = false;
	if (json_is_false(v)) {
		st->one_box = false;
		*ok = true;
		return;
	}
	if (!json_is_object(v)) {
		report(c, path, "must be a mapping or false");
		return;
	}
	st->one_box = true;
	*ok = true;
	check_keys(c, v, path, keys);
	path_key(kp, path, "bake");
	if ((f = member(c, v, path, "bake", false)) != NULL &&
	    !want_duration(c, f, kp, 0, DAY, &st->one_box_bake_ms))
		*ok = false;
	path_key(kp, path, "max_traffic_share");
	if ((f = member(c, v, path, "max_traffic_share", false)) != NULL &&
	    want_number(c, f, kp, &share)) {
		if (!(share > 0 && share <= 1))
			report(c, kp, "must be greater than 0 and at most 1");
		else
			st->one_box_max_traffic_share = share;
	}
}

static void
parse_rolling(
    struct pctx *c, const json_t *v, const char *path, struct stage *st)
{
	static const char *const keys[] = {"batch", NULL};
	char kp[PLEN];
	const json_t *f;

	if (!want_mapping(c, v, path))
		return;
	check_keys(c, v, path, keys);
	path_key(kp, path, "batch");
	if ((f = member(c, v, path, "batch", false)) == NULL)
		return;
	if (json_is_integer(f)) {
		int64_t n;

		if (want_int(c, f, kp, 1, MAX_BATCH, &n)) {
			st->batch = (int)n;
			st->batch_percent = false;
		}
		return;
	}
	if (json_is_string(f)) {
		const char *s = json_string_value(f);
		size_t len = json_string_length(f), i = 0;
		int pct = 0;

		while (i < len && i < 9 && s[i] >= '0' && s[i] <= '9')
			pct = pct * 10 + (s[i++] - '0');
		if (i > 0 && i + 1 == len && s[i] == '%') {
			if (pct < 1 || pct > 100) {
				report(
				    c, kp, "%s is out of range 1%%..100%%", s);
			} else {
				st->batch = pct;
				st->batch_percent = true;
			}
			return;
		}
	}
	report(c, kp, "must be an integer >= 1 or a percentage such as 25%%");
}

static bool
parse_stage_alarms(
    struct pctx *c, const json_t *v, const char *path, struct stage *st)
{
	char ip[PLEN];
	const json_t *a;
	size_t i;
	bool ok = true;

	if (!want_list(c, v, path, 0, SIZE_MAX))
		return false;
	st->alarms = alloc_array(c, path, json_array_size(v), sizeof(char *));
	if (st->alarms == NULL)
		return false;
	json_array_foreach(v, i, a)
	{
		const char *s;

		path_idx(ip, path, i);
		if (!want_string(c, a, ip, &s)) {
			ok = false;
			continue;
		}
		if (c->alarms_known && json_object_get(c->alarms, s) == NULL) {
			report(c, ip, "undefined alarm \"%s\"", s);
			ok = false;
			continue;
		}
		if ((st->alarms[st->nalarms] = dup_str(c, ip, s)) != NULL)
			st->nalarms++;
	}
	return ok;
}

static bool
has_alarm_like(const struct stage *st, const char *a, const char *b)
{
	for (size_t i = 0; i < st->nalarms; i++)
		if (strstr(st->alarms[i], a) != NULL ||
		    (b != NULL && strstr(st->alarms[i], b) != NULL))
			return true;
	return false;
}

static void
report_alarm_floor(struct pctx *c, const char *path, const struct stage *st,
    const char *floor, const char *what)
{
	char list[512];
	size_t off = 0;

	list[0] = '\0';
	for (size_t i = 0; i < st->nalarms && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i ? ", " : "", st->alarms[i]);
	report(c, path, "safety floor %s: no %s alarm among [%s]", floor, what,
	    list);
}

/* Safety floors on a production stage (deploy with production: true, or
 * waves), only on the parts that parsed cleanly. */
static void
stage_floors(struct pctx *c, const char *path, const struct stage *st,
    const struct stage_ok *ok)
{
	const struct pipeline_floors *fl = c->floors;
	char kp[PLEN], ip[PLEN], a[32], b[32];

	if (fl->require_one_box && ok->one_box && !st->one_box)
		report(c, path,
		    "safety floor require_one_box: a production stage needs "
		    "a one_box");
	if (fl->min_bake_ms > 0 && ok->bake && st->bake_ms < fl->min_bake_ms) {
		path_key(kp, path, "bake");
		report(c, kp, "safety floor min_bake: %s is below the floor %s",
		    duration_format(st->bake_ms, a, sizeof(a)),
		    duration_format(fl->min_bake_ms, b, sizeof(b)));
	}
	if (fl->min_one_box_bake_ms > 0 && ok->one_box && st->one_box &&
	    st->one_box_bake_ms < fl->min_one_box_bake_ms) {
		path_key(kp, path, "one_box.bake");
		report(c, kp,
		    "safety floor min_one_box_bake: %s is below the floor %s",
		    duration_format(st->one_box_bake_ms, a, sizeof(a)),
		    duration_format(fl->min_one_box_bake_ms, b, sizeof(b)));
	}
	path_key(kp, path, "alarms");
	if (fl->require_fault_alarm && ok->alarms &&
	    !has_alarm_like(st, "error", "fault"))
		report_alarm_floor(c, kp, st, "require_fault_alarm", "fault");
	if (fl->require_latency_alarm && ok->alarms &&
	    !has_alarm_like(st, "latency", NULL))
		report_alarm_floor(
		    c, kp, st, "require_latency_alarm", "latency");
	if (fl->max_regions_early_waves > 0 && st->type == STAGE_WAVES &&
	    ok->wave_sizes) {
		size_t before = 0;

		path_key(kp, path, "wave_sizes");
		for (size_t w = 0; w < st->nwave_sizes && w < 2; w++) {
			size_t size;

			if (st->wave_sizes[w] != WAVE_REST)
				size = (size_t)st->wave_sizes[w];
			else if (ok->regions && st->nregions > before)
				size = st->nregions - before;
			else
				break;
			before += size;
			if (size > (size_t)fl->max_regions_early_waves) {
				path_idx(ip, kp, w);
				report(c, ip,
				    "safety floor max_regions_early_waves: %zu "
				    "regions exceeds %d",
				    size, fl->max_regions_early_waves);
			}
		}
	}
}

/* Rules that tie a stage to the pipeline: hooks it needs, where a build
 * stage may be, unique names. */
static void
stage_rules(struct pctx *c, const char *path, size_t i, const struct stage *st)
{
	if (c->hooks_known && st->type == STAGE_BUILD &&
	    json_object_get(c->hooks, "build") == NULL)
		report(c, path, "a build stage needs hooks.build");
	if (c->hooks_known &&
	    (st->type == STAGE_DEPLOY || st->type == STAGE_WAVES)) {
		if (json_object_get(c->hooks, "deploy") == NULL)
			report(c, path, "a %s stage needs hooks.deploy",
			    stage_type_name(st->type));
		if (json_object_get(c->hooks, "rollback") == NULL)
			report(c, path, "a %s stage needs hooks.rollback",
			    stage_type_name(st->type));
	}
	if (st->type == STAGE_BUILD) {
		if (c->build_at >= 0)
			report(c, path,
			    "a pipeline has at most one build stage (also "
			    "stages[%ld])",
			    c->build_at);
		else if (i != 0)
			report(
			    c, path, "the build stage must be the first stage");
		if (c->build_at < 0)
			c->build_at = (long)i;
	}
}

/* v.key, or NULL when key is not valid for the stage types in mask (it
 * was reported as such, and its value is not looked at). */
static const json_t *
stage_member(struct pctx *c, const json_t *v, const char *path, const char *key,
    unsigned mask, bool required)
{
	for (size_t j = 0; j < NSTAGE_KEYS; j++)
		if (strcmp(stage_keys[j].name, key) == 0 &&
		    (stage_keys[j].types & mask) == 0)
			return NULL;
	return member(c, v, path, key, required);
}

static void
parse_stage(struct pctx *c, const json_t *v, const char *path, size_t idx,
    struct stage *st)
{
	const char *hints[NSTAGE_KEYS + 1];
	struct stage_ok ok = {true, true, true, false, false};
	char kp[PLEN];
	const json_t *f, *tv;
	json_t *seen = NULL, *x;
	const char *k, *s;
	unsigned mask = T_ALL;
	bool type_ok = false;
	int t = -1;
	size_t nh = 0;

	st->sequential = true;
	st->batch = 1;
	if (!want_mapping(c, v, path))
		return;

	/* Unknown keys first (in the file's order); which are valid
	 * depends on the type, when it can be told. */
	tv = json_object_get(v, "type");
	for (int j = 0; json_is_string(tv) && stage_types[j]; j++)
		if (strcmp(json_string_value(tv), stage_types[j]) == 0)
			t = j;
	if (t >= 0)
		mask = 1u << t;
	for (size_t j = 0; j < NSTAGE_KEYS; j++)
		if (stage_keys[j].types & mask)
			hints[nh++] = stage_keys[j].name;
	hints[nh] = NULL;
	json_object_foreach((json_t *)v, k, x)
	{
		size_t j;

		if (in_list(k, hints))
			continue;
		for (j = 0; j < NSTAGE_KEYS; j++)
			if (strcmp(k, stage_keys[j].name) == 0)
				break;
		if (j < NSTAGE_KEYS)
			report(c, path,
			    "key \"%s\" is not valid for a %s stage", k,
			    stage_types[t]);
		else
			report_unknown(c, path, k, hints);
	}

	path_key(kp, path, "name");
	if ((f = member(c, v, path, "name", true)) != NULL &&
	    want_name(c, f, kp, &s)) {
		const json_t *prev = json_object_get(c->stage_names, s);

		if (prev != NULL)
			report(c, kp,
			    "duplicate stage name \"%s\" (also "
			    "stages[%" JSON_INTEGER_FORMAT "])",
			    s, json_integer_value(prev));
		else
			json_object_set_new(
			    c->stage_names, s, json_integer((json_int_t)idx));
		st->name = dup_str(c, kp, s);
	}
	path_key(kp, path, "type");
	if ((f = member(c, v, path, "type", true)) != NULL &&
	    want_enum(c, f, kp, stage_types,
	        "must be one of build, test, deploy, waves", &t)) {
		st->type = (enum stage_type)t;
		type_ok = true;
	}
	path_key(kp, path, "timeout");
	if ((f = member(c, v, path, "timeout", false)) != NULL)
		(void)want_duration(c, f, kp, SEC, DAY, &st->timeout_ms);
	path_key(kp, path, "windows");
	if ((f = member(c, v, path, "windows", false)) != NULL)
		parse_windows(c, f, kp, &st->windows);

	/* Type-specific keys (only those valid for the type; with an
	 * unknown type every key's value is checked, nothing required). */
	path_key(kp, path, "command");
	if ((f = stage_member(c, v, path, "command", mask,
	         type_ok && t == STAGE_TEST)) != NULL)
		(void)want_hookref(c, f, kp, &st->command);
	if ((seen = json_object()) == NULL) {
		report(c, path, "out of memory");
		return;
	}
	path_key(kp, path, "groups");
	if ((f = stage_member(c, v, path, "groups", mask,
	         type_ok && t == STAGE_DEPLOY)) != NULL)
		parse_groups(c, f, kp, st, seen);
	path_key(kp, path, "regions");
	if ((f = stage_member(c, v, path, "regions", mask,
	         type_ok && t == STAGE_WAVES)) != NULL)
		ok.regions = parse_regions(c, f, kp, st, seen);
	json_decref(seen);
	path_key(kp, path, "wave_sizes");
	if ((f = stage_member(c, v, path, "wave_sizes", mask,
	         type_ok && t == STAGE_WAVES)) != NULL) {
		ok.wave_sizes = parse_wave_sizes(c, f, kp, st);
		if (ok.wave_sizes && ok.regions)
			check_wave_cover(c, kp, st);
	}
	path_key(kp, path, "sequential");
	if ((f = stage_member(c, v, path, "sequential", mask, false)) != NULL)
		(void)want_bool(c, f, kp, &st->sequential);
	path_key(kp, path, "one_box");
	if ((f = stage_member(c, v, path, "one_box", mask, false)) != NULL)
		parse_one_box(c, f, kp, st, &ok.one_box);
	path_key(kp, path, "rolling");
	if ((f = stage_member(c, v, path, "rolling", mask, false)) != NULL)
		parse_rolling(c, f, kp, st);
	path_key(kp, path, "bake");
	if ((f = stage_member(c, v, path, "bake", mask, false)) != NULL)
		ok.bake = want_duration(c, f, kp, 0, 7 * DAY, &st->bake_ms);
	path_key(kp, path, "alarms");
	if ((f = stage_member(c, v, path, "alarms", mask, false)) != NULL)
		ok.alarms = parse_stage_alarms(c, f, kp, st);
	path_key(kp, path, "tests");
	if ((f = stage_member(c, v, path, "tests", mask, false)) != NULL)
		(void)want_hookref(c, f, kp, &st->tests);
	path_key(kp, path, "production");
	if ((f = stage_member(c, v, path, "production", mask, false)) != NULL)
		(void)want_bool(c, f, kp, &st->production);

	if (!type_ok)
		return;
	if (st->type == STAGE_WAVES)
		st->production = true;
	stage_rules(c, path, idx, st);
	if (st->production) {
		c->has_production = true;
		if (c->floors != NULL)
			stage_floors(c, path, st, &ok);
	}
}

static void
parse_stages(struct pctx *c, const json_t *v)
{
	char sp[PLEN];
	const json_t *s;
	size_t i;

	if (!want_list(c, v, "stages", 1, MAX_STAGES))
		return;
	c->p->stages =
	    alloc_array(c, "stages", json_array_size(v), sizeof(*c->p->stages));
	if (c->p->stages == NULL)
		return;
	if ((c->stage_names = json_object()) == NULL) {
		report(c, "stages", "out of memory");
		return;
	}
	json_array_foreach(v, i, s)
	{
		path_idx(sp, "stages", i);
		c->p->nstages++;
		parse_stage(c, s, sp, i, &c->p->stages[i]);
	}
	json_decref(c->stage_names);
	c->stage_names = NULL;
}

static const char *const top_keys[] = {"pipeline", "service", "source",
    "review", "concurrency", "hooks", "hook_timeout", "signing", "alarms",
    "windows", "notifications", "stages", NULL};

static void
parse_top(struct pctx *c, const json_t *doc)
{
	static const char *const concurrency[] = {"supersede", "queue", NULL};
	struct pipeline *p = c->p;
	const json_t *v;
	const char *k, *s;
	json_t *x;
	bool review_known = true;
	int e;

	json_object_foreach((json_t *)doc, k, x)
	{
		if (strcmp(k, "template") == 0)
			report(c, k,
			    json_object_get(doc, "pipeline")
			        ? "pipeline and template are exclusive"
			        : "a template is validated only through a "
			          "pipeline that extends it");
		else if (strcmp(k, "extends") == 0)
			report(c, k,
			    "must be resolved (merged) before validation");
		else if (!in_list(k, top_keys))
			report_unknown(c, "", k, top_keys);
	}

	if ((v = json_object_get(doc, "pipeline")) == NULL) {
		if (json_object_get(doc, "template") == NULL)
			report(c, NULL,
			    "file must name a pipeline (pipeline: NAME) or a "
			    "template (template: NAME)");
	} else if (want_name(c, v, "pipeline", &s)) {
		p->name = dup_str(c, "pipeline", s);
	}
	if ((v = member(c, doc, "", "service", true)) != NULL &&
	    want_name(c, v, "service", &s))
		p->service = dup_str(c, "service", s);
	if ((v = member(c, doc, "", "source", true)) != NULL)
		parse_source(c, v);
	if ((v = member(c, doc, "", "review", false)) != NULL)
		review_known = parse_review(c, v);
	if ((v = member(c, doc, "", "notifications", false)) != NULL)
		parse_notifications(c, v);
	if ((v = member(c, doc, "", "concurrency", false)) != NULL &&
	    want_enum(c, v, "concurrency", concurrency,
	        "must be supersede or queue", &e))
		p->concurrency = (enum pipeline_concurrency)e;
	if ((v = member(c, doc, "", "hooks", false)) != NULL)
		parse_hooks(c, v);
	if ((v = member(c, doc, "", "hook_timeout", false)) != NULL)
		(void)want_duration(
		    c, v, "hook_timeout", SEC, DAY, &p->hook_timeout_ms);
	if ((v = member(c, doc, "", "signing", false)) != NULL)
		parse_signing(c, v);
	if ((v = member(c, doc, "", "alarms", false)) != NULL)
		parse_alarms(c, v);
	if ((v = member(c, doc, "", "windows", false)) != NULL)
		parse_windows(c, v, "windows", &p->windows);
	if ((v = member(c, doc, "", "stages", true)) != NULL)
		parse_stages(c, v);

	if (c->floors != NULL && c->floors->require_review &&
	    c->has_production && review_known && !p->review_required)
		report(c, "review.required",
		    "safety floor require_review: a pipeline with production "
		    "stages needs review.required: true");
}

int
pipeline_parse_alarms(const json_t *v, const char *file, struct alarm_def **out,
    size_t *n, struct diag *diag)
{
	struct pctx c = {0};
	struct pipeline p = {0};
	size_t before = diag->n + diag->dropped;

	*out = NULL;
	*n = 0;
	c.file = file;
	c.diag = diag;
	c.p = &p;
	parse_alarms(&c, v);
	if (diag->n + diag->dropped != before) {
		alarm_defs_free(p.alarms, p.nalarms);
		return -1;
	}
	*out = p.alarms;
	*n = p.nalarms;
	return 0;
}

struct pipeline *
pipeline_parse(const json_t *doc, const char *file,
    const struct pipeline_floors *floors, const struct pipeline_io *io,
    struct diag *diag)
{
	struct pctx c = {0};
	size_t before;

	if (diag == NULL)
		return NULL;
	c.file = file;
	c.diag = diag;
	c.floors = floors;
	c.io = io;
	c.hooks_known = true; /* absent: {} */
	c.alarms_known = true;
	c.build_at = -1;
	before = diag->n + diag->dropped;
	if (!json_is_object(doc)) {
		report(&c, NULL, "a pipeline file must be a mapping of keys");
		return NULL;
	}
	if ((c.p = calloc(1, sizeof(*c.p))) == NULL ||
	    (c.p->branch = strdup("main")) == NULL) {
		report(&c, NULL, "out of memory");
		pipeline_free(c.p);
		return NULL;
	}
	c.p->source = SOURCE_APPLICATION;
	c.p->review_required = true;
	c.p->review_min_approvals = 1;
	c.p->review_wait_ms = 10 * MINUTE;
	c.p->notify_timeout_ms = 10 * SEC;
	c.p->concurrency = CONCURRENCY_SUPERSEDE;
	c.p->hook_timeout_ms = 10 * MINUTE;
	parse_top(&c, doc);
	if (diag->n + diag->dropped != before) {
		pipeline_free(c.p);
		return NULL;
	}
	return c.p;
}
