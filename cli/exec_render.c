/*
 * exec_render.c - executions as text (exec_render.h).  Every line is
 * built in a struct buf (lib/buf.h), then cut to the width by columns
 * (UTF-8 aware).  The JSON is the server's: a key that is missing or of
 * another type shows as "?" or is left out, so a newer server never
 * breaks an older gantryctl.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "exec_render.h"

#define NAME_COLS_MAX 28 /* stage names wider than this are not padded */
#define BAR_INNER_MAX 20
#define BAR_INNER_MIN 5
#define FAILED_SHOWN 4 /* failed targets named per stage */
#define EVENT_TARGETS_SHOWN 4
#define REVISION_COLS 12
#define DATAPOINTS_SHOWN 12 /* of a decision's detail */

/* Columns of s: UTF-8 continuation bytes take none. */
static size_t
cols(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Byte offset of column c of s (at most strlen(s)). */
static size_t
col_offset(const char *s, size_t c)
{
	size_t i = 0, n = 0;

	for (; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == c)
				break;
			n++;
		}
	}
	return i;
}

/* s, then blanks up to w columns. */
static void
add_pad(struct buf *b, const char *s, size_t w)
{
	size_t c = cols(s);

	buf_adds(b, s);
	for (; c < w; c++)
		buf_add(b, " ", 1);
}

/* Control characters from the server would move the cursor: show '?'. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Append line to out, which takes it; -1 (line not taken) when out of
 * memory. */
static int
lines_push(struct exec_lines *out, char *line)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 32;
		char **v = realloc(out->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] = line;
	return 0;
}

/* End the line in b: trailing blanks dropped, cut to width, appended to
 * out (which takes the string).  b is emptied; -1 when out of memory. */
static int
end_line(struct buf *b, int width, struct exec_lines *out)
{
	size_t len;
	char *line = buf_take(b, &len); /* NULL when b is oom */

	if (line == NULL)
		return -1;
	sanitize(line);
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	if (width > 0 && cols(line) > (size_t)width) {
		size_t keep = width > 3 ? (size_t)width - 3 : (size_t)width;
		size_t off = col_offset(line, keep);

		if (width > 3)
			memcpy(line + off, "...", 4);
		else
			line[off] = '\0';
	}
	if (lines_push(out, line) < 0) {
		free(line);
		return -1;
	}
	return 0;
}

void
exec_lines_clear(struct exec_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct exec_lines){0};
}

/* --- JSON access: tolerant of missing keys ------------------------------ */

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *
jstr_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = jstr(o, key);

	return s != NULL ? s : dflt;
}

static int64_t
jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return 0;
}

static bool
jbool(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* --- small formats ------------------------------------------------------- */

char *
exec_render_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(
		    buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    s / 60 % 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    s / 3600 % 24);
	return buf;
}

char *
exec_render_bar(size_t done, size_t total, int inner, char *buf, size_t len)
{
	size_t w = inner < 1 ? 1 : (size_t)inner, fill, off = 0;

	if (len == 0)
		return buf;
	fill = total == 0 ? 0 : done >= total ? w : done * w / total;
	if (off + 1 < len)
		buf[off++] = '[';
	for (size_t i = 0; i < w && off + 1 < len; i++)
		buf[off++] = i < fill ? '#' : '.';
	if (off + 1 < len)
		buf[off++] = ']';
	buf[off] = '\0';
	return buf;
}

/* "2026-11-30 17:00:05Z" for ms since the epoch. */
static char *
fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "%" PRId64, ms);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

static const char *const terminal_states[] = {
    "succeeded",
    "rolled_back",
    "failed",
    "aborted",
    "rejected",
    "superseded",
};

bool
exec_render_is_terminal(const char *state)
{
	if (state == NULL)
		return false;
	for (size_t i = 0;
	     i < sizeof(terminal_states) / sizeof(terminal_states[0]); i++)
		if (strcmp(state, terminal_states[i]) == 0)
			return true;
	return false;
}

int
exec_render_exit_status(const char *state)
{
	if (!exec_render_is_terminal(state))
		return -1;
	return strcmp(state, "succeeded") == 0 ? 0 : 1;
}

/* --- the tree ------------------------------------------------------------ */

/* What a deploy stage's targets add up to. */
struct tally {
	size_t total, deployed, failed, rolled_back;
	size_t groups, groups_done;
};

static bool
target_is(const json_t *t, const char *state)
{
	const char *s = jstr(t, "state");

	return s != NULL && strcmp(s, state) == 0;
}

static void
tally_targets(const json_t *targets, struct tally *t)
{
	const json_t *ti, *tj;
	size_t i, j;

	*t = (struct tally){0};
	json_array_foreach(targets, i, ti)
	{
		const char *g = jstr_or(ti, "group", "");
		bool first = true, done = true;

		t->total++;
		t->deployed += target_is(ti, "deployed");
		t->failed += target_is(ti, "failed");
		t->rolled_back += target_is(ti, "rolled_back");
		/* A group counts at its first target; done when every target
		 * of it is deployed.  Quadratic, and stages are small. */
		for (j = 0; j < i && first; j++)
			if (strcmp(jstr_or(
			               json_array_get(targets, j), "group", ""),
			        g) == 0)
				first = false;
		if (!first)
			continue;
		t->groups++;
		for (j = i; j < json_array_size(targets); j++) {
			tj = json_array_get(targets, j);
			if (strcmp(jstr_or(tj, "group", ""), g) == 0 &&
			    !target_is(tj, "deployed"))
				done = false;
		}
		t->groups_done += done;
	}
}

/* The second line: state, what qualifies it, the stage, the time. */
static void
state_line(struct buf *b, const json_t *tree, int64_t now)
{
	const char *state = jstr_or(tree, "state", "?");
	const char *final = jstr(tree, "final_state");
	const json_t *stages = json_object_get(tree, "stages");
	int64_t cur = jint(tree, "stage"), created = jint(tree, "created_at");
	int64_t finished = jint(tree, "finished_at");
	bool terminal = exec_render_is_terminal(state);
	char d[32];

	buf_addf(b, "state     %s", state);
	if (strcmp(state, "paused") == 0 && jstr(tree, "paused_from"))
		buf_addf(b, " (from %s)", jstr(tree, "paused_from"));
	if (jbool(tree, "pause_requested"))
		buf_adds(b, ", pause requested");
	if (!terminal && final != NULL)
		buf_addf(b, ", to end %s", final);
	if (jbool(tree, "rolling_back_all"))
		buf_adds(b, ", rolling back every stage");
	if (jbool(tree, "stuck"))
		buf_adds(b, ", STUCK");
	if (!terminal && cur >= 0 && (size_t)cur < json_array_size(stages))
		buf_addf(b, ", stage %" PRId64 "/%zu %s", cur + 1,
		    json_array_size(stages),
		    jstr_or(json_array_get(stages, (size_t)cur), "name", "?"));
	if (created > 0) {
		if (terminal && finished > 0)
			buf_addf(b, ", took %s",
			    exec_render_duration(
			        finished - created, d, sizeof(d)));
		else if (!terminal)
			buf_addf(b, ", elapsed %s",
			    exec_render_duration(now - created, d, sizeof(d)));
	}
}

static int
blocker_lines(
    const json_t *tree, int64_t now, int width, struct exec_lines *out)
{
	const json_t *bl;
	struct buf b = {0};
	bool overridable = false;
	size_t i;
	char t[32], d[32];

	json_array_foreach(json_object_get(tree, "blockers"), i, bl)
	{
		int64_t until = jint(bl, "until");

		buf_adds(&b, i == 0 ? "blocked   " : "          ");
		buf_addf(&b, "%s: %s", jstr_or(bl, "kind", "?"),
		    jstr_or(bl, "reason", "(no reason given)"));
		if (until > 0 && until > now)
			buf_addf(&b, " (until %s, in %s)",
			    fmt_time(until, t, sizeof(t)),
			    exec_render_duration(until - now, d, sizeof(d)));
		else if (until > 0)
			buf_addf(
			    &b, " (until %s)", fmt_time(until, t, sizeof(t)));
		/* The id gantryctl override takes: EXECUTION:BLOCKER. */
		if (jstr(bl, "id") != NULL) {
			buf_addf(&b, " [%" PRId64 ":%s]", jint(tree, "id"),
			    jstr(bl, "id"));
			overridable = true;
		}
		if (end_line(&b, width, out) < 0)
			return -1;
	}
	if (overridable) {
		buf_adds(&b,
		    "          (gantryctl override ID --reason TEXT "
		    "lets the stage start despite one)");
		if (end_line(&b, width, out) < 0)
			return -1;
	}
	return 0;
}

/* "17:03:04Z" on the UTC day of now, else "2025-11-29 17:03:04Z". */
static char *
fmt_when(int64_t ms, int64_t now, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000), n = (time_t)(now / 1000);
	struct tm tm, tn;

	if (gmtime_r(&t, &tm) == NULL || gmtime_r(&n, &tn) == NULL)
		return fmt_time(ms, buf, len);
	if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(buf, len, "%H:%M:%SZ", &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

/* One line per override: where, what, who, when, and whether it is
 * still to be used. */
static int
override_lines(
    const json_t *tree, int64_t now, int width, struct exec_lines *out)
{
	const json_t *o;
	struct buf b = {0};
	size_t i;
	char t[32], d[32];

	json_array_foreach(json_object_get(tree, "overrides"), i, o)
	{
		int64_t exp = jint(o, "expires");

		buf_adds(&b, i == 0 ? "override  " : "          ");
		buf_addf(&b, "%s on %s by %s at %s", jstr_or(o, "blocker", "?"),
		    jstr_or(o, "stage", "?"), jstr_or(o, "actor", "?"),
		    fmt_when(jint(o, "at"), now, t, sizeof(t)));
		if (jbool(o, "used"))
			buf_adds(&b, ", used");
		else if (exp > now)
			buf_addf(&b, ", unused, expires in %s",
			    exec_render_duration(exp - now, d, sizeof(d)));
		else
			buf_adds(&b, ", expired unused");
		buf_addf(&b, ": %s", jstr_or(o, "reason", "(no reason given)"));
		if (end_line(&b, width, out) < 0)
			return -1;
	}
	return 0;
}

/* "0.002 0.034 - 0.05": the datapoints of a decision's detail, the
 * last DATAPOINTS_SHOWN of them; null (missing, NaN) is "-". */
static void
datapoints(struct buf *b, const json_t *pts)
{
	size_t n = json_array_size(pts), i;
	size_t from = n > DATAPOINTS_SHOWN ? n - DATAPOINTS_SHOWN : 0;

	if (from > 0)
		buf_addf(b, "(%zu earlier) ", from);
	for (i = from; i < n; i++) {
		const json_t *v =
		    json_object_get(json_array_get(pts, i), "value");

		if (i > from)
			buf_adds(b, " ");
		if (json_is_number(v))
			buf_addf(b, "%.4g", json_number_value(v));
		else
			buf_adds(b, "-");
	}
}

/*
 * The go/no-go decisions, oldest first: "alarm errors at 17:03:04Z on
 * canary: errors: 0.034 > 0.01 in 3 of the last 5 datapoints", and when
 * the decision kept them, the datapoints and the rule on a line below.
 */
static int
decision_lines(
    const json_t *tree, int64_t now, int width, struct exec_lines *out)
{
	const json_t *dc;
	struct buf b = {0};
	size_t i;
	char t[32];

	json_array_foreach(json_object_get(tree, "decisions"), i, dc)
	{
		const char *kind = jstr_or(dc, "kind", "?");
		const char *subject = jstr(dc, "subject");
		const char *reason = jstr(dc, "reason");
		const json_t *detail = json_object_get(dc, "detail");
		const json_t *pts = json_object_get(detail, "datapoints");
		size_t klen = strlen(kind);

		buf_adds(&b, i == 0 ? "decision  " : "          ");
		for (const char *k = kind; *k != '\0'; k++)
			buf_add(&b, *k == '_' ? " " : k, 1);
		if (subject != NULL)
			buf_addf(&b, " %s", subject);
		buf_addf(
		    &b, " at %s", fmt_when(jint(dc, "at"), now, t, sizeof(t)));
		if (jstr(dc, "stage") != NULL)
			buf_addf(&b, " on %s", jstr(dc, "stage"));
		/* "alarm errors: why" says the kind and subject again. */
		if (reason != NULL && subject != NULL &&
		    strncmp(reason, kind, klen) == 0 && reason[klen] == ' ' &&
		    strncmp(reason + klen + 1, subject, strlen(subject)) == 0 &&
		    strncmp(reason + klen + 1 + strlen(subject), ": ", 2) == 0)
			reason += klen + 1 + strlen(subject) + 2;
		if (reason != NULL)
			buf_addf(&b, ": %s", reason);
		if (end_line(&b, width, out) < 0)
			return -1;
		if (json_array_size(pts) == 0 && jstr(detail, "rule") == NULL)
			continue;
		buf_adds(&b, "           ");
		/* A pushed state has no datapoints: say who pushed it. */
		if (json_array_size(pts) == 0 &&
		    strcmp(jstr(detail, "rule"), "pushed") == 0) {
			buf_addf(&b, " pushed by %s",
			    jstr_or(detail, "source", "?"));
			if (end_line(&b, width, out) < 0)
				return -1;
			continue;
		}
		if (json_array_size(pts) > 0) {
			buf_adds(&b, " datapoints ");
			datapoints(&b, pts);
		}
		if (jstr(detail, "rule") != NULL)
			buf_addf(&b, "%srule %s",
			    json_array_size(pts) > 0 ? "; " : " ",
			    jstr(detail, "rule"));
		if (end_line(&b, width, out) < 0)
			return -1;
	}
	return 0;
}

/* A stage in one of the states it ends in. */
static bool
stage_is_over(const char *state)
{
	static const char *const over[] = {
	    "succeeded",
	    "failed",
	    "rolled_back",
	    "skipped",
	    "cancelled",
	};

	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++)
		if (strcmp(state, over[i]) == 0)
			return true;
	return false;
}

/* One stage: its line, and a line for its reason or failed targets. */
static int
stage_lines(const json_t *st, bool current, size_t namew, size_t statew,
    int64_t now, int width, struct exec_lines *out)
{
	const json_t *targets = json_object_get(st, "targets");
	const char *state = jstr_or(st, "state", "?");
	int64_t started = jint(st, "started_at"), fin = jint(st, "finished_at");
	int64_t bake = jint(st, "bake_until");
	struct buf b = {0};
	const char *sep = "";
	char bar[BAR_INNER_MAX + 3], d[32];

	buf_adds(&b, current ? "> " : "  ");
	add_pad(&b, jstr_or(st, "name", "?"), namew);
	buf_adds(&b, "  ");
	add_pad(&b, state, statew);
	buf_adds(&b, "  ");
	if (json_array_size(targets) > 0) {
		struct tally t;
		int inner = BAR_INNER_MAX;

		/* Room left after the columns and ~40 of counts. */
		if (width > 0) {
			inner = width - (int)(b.len + 40);
			if (inner > BAR_INNER_MAX)
				inner = BAR_INNER_MAX;
			if (inner < BAR_INNER_MIN)
				inner = BAR_INNER_MIN;
		}
		tally_targets(targets, &t);
		buf_addf(&b, "%s %zu/%zu targets, %zu/%zu groups",
		    exec_render_bar(
		        t.deployed, t.total, inner, bar, sizeof(bar)),
		    t.deployed, t.total, t.groups_done, t.groups);
		if (jint(st, "batch") > 0 && strcmp(state, "deploying") == 0)
			buf_addf(&b, ", batch %" PRId64, jint(st, "batch"));
		if (t.failed > 0)
			buf_addf(&b, ", %zu failed", t.failed);
		if (t.rolled_back > 0)
			buf_addf(&b, ", %zu rolled back", t.rolled_back);
		sep = ", ";
	}
	if (bake > now && fin == 0 && !stage_is_over(state)) {
		buf_addf(&b, "%sbake %s left", sep,
		    exec_render_duration(bake - now, d, sizeof(d)));
		sep = ", ";
	}
	if (jbool(st, "test_running")) {
		buf_addf(&b, "%stests running", sep);
		if (jint(st, "test_attempts") > 1)
			buf_addf(&b, " (attempt %" PRId64 ")",
			    jint(st, "test_attempts"));
		sep = ", ";
	}
	if (started > 0) {
		if (fin > 0)
			buf_addf(&b, "%stook %s", sep,
			    exec_render_duration(fin - started, d, sizeof(d)));
		else
			buf_addf(&b, "%sfor %s", sep,
			    exec_render_duration(now - started, d, sizeof(d)));
	}
	if (end_line(&b, width, out) < 0)
		return -1;

	if (jstr(st, "reason") != NULL) {
		buf_addf(&b, "  %*s  %s", (int)namew, "", jstr(st, "reason"));
		if (end_line(&b, width, out) < 0)
			return -1;
	}
	if (json_array_size(targets) > 0) {
		struct buf names = {0};
		const json_t *ti;
		size_t i, nfailed = 0;

		json_array_foreach(targets, i, ti)
		{
			if (!target_is(ti, "failed"))
				continue;
			if (nfailed < FAILED_SHOWN)
				buf_addf(&names, "%s%s", nfailed ? ", " : "",
				    jstr_or(ti, "name", "?"));
			nfailed++;
		}
		if (nfailed > FAILED_SHOWN)
			buf_addf(&names, ", +%zu more", nfailed - FAILED_SHOWN);
		if (nfailed > 0) {
			buf_addf(&b, "  %*s  failed: %s", (int)namew, "",
			    names.s != NULL ? names.s : "");
			if (names.oom)
				b.oom = true;
		}
		buf_free(&names);
		if (nfailed > 0 && end_line(&b, width, out) < 0)
			return -1;
	}
	return 0;
}

int
exec_render_tree(
    const json_t *tree, int64_t now_ms, int width, struct exec_lines *out)
{
	const json_t *stages = json_object_get(tree, "stages");
	const json_t *art = json_object_get(tree, "artifact");
	const json_t *st;
	const char *state = jstr_or(tree, "state", "?");
	size_t namew = 5, statew = 7, i;
	int64_t cur = exec_render_is_terminal(state) ? -1 : jint(tree, "stage");
	struct buf b = {0};

	buf_addf(&b, "execution %" PRId64 "  %s v%" PRId64 "  revision %s",
	    jint(tree, "id"), jstr_or(tree, "pipeline", "?"),
	    jint(tree, "pipeline_version"), jstr_or(tree, "revision", "?"));
	if (jbool(tree, "dry_run"))
		buf_adds(&b, "  (dry run)");
	if (end_line(&b, width, out) < 0)
		return -1;
	state_line(&b, tree, now_ms);
	if (end_line(&b, width, out) < 0)
		return -1;
	if (jstr(art, "uri") != NULL) {
		buf_addf(&b, "artifact  %s", jstr(art, "uri"));
		if (jstr(art, "sha256") != NULL)
			buf_addf(&b, " sha256:%.12s", jstr(art, "sha256"));
		if (jstr(art, "signature") != NULL)
			buf_adds(&b, ", signed");
		if (end_line(&b, width, out) < 0)
			return -1;
	}
	if (jstr(tree, "reason") != NULL) {
		buf_addf(&b, "reason    %s", jstr(tree, "reason"));
		if (end_line(&b, width, out) < 0)
			return -1;
	}
	if (blocker_lines(tree, now_ms, width, out) < 0 ||
	    override_lines(tree, now_ms, width, out) < 0)
		return -1;
	json_array_foreach(stages, i, st)
	{
		size_t n = cols(jstr_or(st, "name", "?"));
		size_t s = cols(jstr_or(st, "state", "?"));

		if (n > namew && n <= NAME_COLS_MAX)
			namew = n;
		if (s > statew)
			statew = s;
	}
	json_array_foreach(stages, i, st)
	{
		if (stage_lines(st, cur >= 0 && (size_t)cur == i, namew, statew,
		        now_ms, width, out) < 0)
			return -1;
	}
	return decision_lines(tree, now_ms, width, out);
}

/* --- one transition -------------------------------------------------------- */

/* key=value for one field of an event's data. */
static void
event_field(struct buf *b, const char *key, const json_t *v)
{
	const json_t *x;
	const char *k;
	size_t i, n = 0;
	char *s;

	if (json_is_null(v))
		return;
	buf_addf(b, " %s=", key);
	if (json_is_string(v)) {
		const char *str = json_string_value(v);

		if (*str != '\0' && strpbrk(str, " \"=") == NULL) {
			buf_adds(b, str);
			return;
		}
	} else if (json_is_object(v) && strcmp(key, "targets") == 0) {
		json_object_foreach((json_t *)v, k, x)
		{
			if (n < EVENT_TARGETS_SHOWN)
				buf_addf(b, "%s%s", n ? "," : "", k);
			n++;
		}
		if (n > EVENT_TARGETS_SHOWN)
			buf_addf(b, ",+%zu", n - EVENT_TARGETS_SHOWN);
		return;
	} else if (json_is_array(v) && strcmp(key, "blockers") == 0) {
		json_array_foreach(v, i, x)
		    buf_addf(b, "%s%s", i ? "," : "", jstr_or(x, "kind", "?"));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL) {
		b->oom = true;
		return;
	}
	buf_adds(b, s);
	free(s);
}

int
exec_render_event(const json_t *msg, int width, struct exec_lines *out)
{
	const json_t *data = json_object_get(msg, "data");
	const json_t *tree = json_object_get(msg, "execution");
	const json_t *v;
	const char *key;
	struct buf b = {0};

	buf_addf(&b, "%s #%" PRId64 " %s", jstr_or(msg, "at", "?"),
	    jint(msg, "seq"), jstr_or(msg, "kind", jstr_or(data, "kind", "?")));
	json_object_foreach((json_t *)data, key, v)
	{
		if (strcmp(key, "kind") != 0)
			event_field(&b, key, v);
	}
	if (json_is_object(tree)) {
		const char *state = jstr_or(tree, "state", "?");
		const json_t *stages = json_object_get(tree, "stages");
		int64_t cur = jint(tree, "stage");
		const json_t *st = NULL;

		buf_addf(&b, " -> %s", state);
		if (!exec_render_is_terminal(state) && cur >= 0)
			st = json_array_get(stages, (size_t)cur);
		if (st != NULL) {
			const json_t *targets = json_object_get(st, "targets");

			buf_addf(&b, ", %s %s", jstr_or(st, "name", "?"),
			    jstr_or(st, "state", "?"));
			if (json_array_size(targets) > 0) {
				struct tally t;

				tally_targets(targets, &t);
				buf_addf(&b, " %zu/%zu", t.deployed, t.total);
			}
		}
	}
	return end_line(&b, width, out);
}

/* --- history ------------------------------------------------------------- */

struct hrow {
	char id[24], ver[24], rev[REVISION_COLS + 4], created[32], took[32];
	char state[48]; /* "succeeded (dry run)" */
	const char *pipeline, *reason;
};

int
exec_render_history(
    const json_t *list, int64_t now_ms, int width, struct exec_lines *out)
{
	const json_t *execs = json_object_get(list, "executions"), *x;
	size_t n = json_array_size(execs), i;
	size_t wid = 2, wpipe = 8, wver = 3, wrev = 8, wstate = 5, wtook = 4;
	struct hrow *rows = calloc(n ? n : 1, sizeof(*rows));
	struct buf b = {0};
	int rc = -1;

	if (rows == NULL)
		return -1;
	json_array_foreach(execs, i, x)
	{
		struct hrow *r = &rows[i];
		const char *rev = jstr_or(x, "revision", "-");
		int64_t created = jint(x, "created_at");
		int64_t fin = jint(x, "finished_at");

		snprintf(r->id, sizeof(r->id), "%" PRId64, jint(x, "id"));
		snprintf(r->ver, sizeof(r->ver), "%" PRId64,
		    jint(x, "pipeline_version"));
		snprintf(r->rev, sizeof(r->rev), "%.*s",
		    (int)col_offset(rev, REVISION_COLS), rev);
		r->pipeline = jstr_or(x, "pipeline", "?");
		snprintf(r->state, sizeof(r->state), "%s%s",
		    jstr_or(x, "state", "?"),
		    jbool(x, "dry_run") ? " (dry run)" : "");
		r->reason = jstr_or(x, "reason", "");
		if (created > 0)
			fmt_time(created, r->created, sizeof(r->created));
		else
			snprintf(r->created, sizeof(r->created), "-");
		if (created > 0)
			exec_render_duration((fin > 0 ? fin : now_ms) - created,
			    r->took, sizeof(r->took));
		else
			snprintf(r->took, sizeof(r->took), "-");
#define WIDEN(w, s)                                                            \
	do {                                                                   \
		if (cols(s) > (w))                                             \
			(w) = cols(s);                                         \
	} while (0)
		WIDEN(wid, r->id);
		WIDEN(wpipe, r->pipeline);
		WIDEN(wver, r->ver);
		WIDEN(wrev, r->rev);
		WIDEN(wstate, r->state);
		WIDEN(wtook, r->took);
#undef WIDEN
	}
	for (i = 0; i <= n; i++) {
		const struct hrow *r = i > 0 ? &rows[i - 1] : NULL;
		size_t c;

		/* ID and VER right-aligned, the rest left. */
		c = cols(r ? r->id : "ID");
		for (; c < wid; c++)
			buf_adds(&b, " ");
		buf_adds(&b, r ? r->id : "ID");
		buf_adds(&b, "  ");
		add_pad(&b, r ? r->pipeline : "PIPELINE", wpipe);
		buf_adds(&b, "  ");
		c = cols(r ? r->ver : "VER");
		for (; c < wver; c++)
			buf_adds(&b, " ");
		buf_adds(&b, r ? r->ver : "VER");
		buf_adds(&b, "  ");
		add_pad(&b, r ? r->rev : "REVISION", wrev);
		buf_adds(&b, "  ");
		add_pad(&b, r ? r->state : "STATE", wstate);
		buf_adds(&b, "  ");
		add_pad(&b, r ? r->created : "CREATED (UTC)", 20);
		buf_adds(&b, "  ");
		add_pad(&b, r ? r->took : "TOOK", wtook);
		buf_adds(&b, "  ");
		buf_adds(&b, r ? r->reason : "REASON");
		if (end_line(&b, width, out) < 0)
			goto out;
	}
	rc = 0;
out:
	free(rows);
	return rc;
}

/* --- tables: alarms, blockers and holds ------------------------------------ */

/* Rows of cells (owned strings), the first row the header. */
struct table {
	size_t ncols, nrows;
	char **cells; /* nrows * ncols */
	bool oom;
};

/* Append a row of t->ncols cells (copied; NULL is "-"). */
static void
table_row(struct table *t, const char *const *row)
{
	char **c;

	if (t->oom)
		return;
	c = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*c));
	if (c == NULL) {
		t->oom = true;
		return;
	}
	t->cells = c;
	c += t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		c[i] = strdup(row[i] != NULL ? row[i] : "-");
		if (c[i] == NULL)
			t->oom = true;
	}
	t->nrows++;
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	*t = (struct table){0};
}

/* The rows, columns padded to their widest cell (the last one not),
 * appended to out; t is freed.  -1 when out of memory. */
static int
table_lines(struct table *t, int width, struct exec_lines *out)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));
	struct buf b = {0};
	int rc = -1;

	if (w == NULL || t->oom)
		goto out;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (cols(t->cells[r * t->ncols + c]) > w[c])
				w[c] = cols(t->cells[r * t->ncols + c]);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			if (c > 0)
				buf_adds(&b, "  ");
			add_pad(&b, t->cells[r * t->ncols + c],
			    c + 1 < t->ncols ? w[c] : 0);
		}
		if (end_line(&b, width, out) < 0)
			goto out;
	}
	rc = 0;
out:
	free(w);
	table_free(t);
	return rc;
}

char *
exec_render_ago(int64_t then_ms, int64_t now_ms, char *buf, size_t len)
{
	char d[32];

	if (then_ms <= 0)
		snprintf(buf, len, "-");
	else if (then_ms > now_ms)
		snprintf(buf, len, "in %s",
		    exec_render_duration(then_ms - now_ms, d, sizeof(d)));
	else
		snprintf(buf, len, "%s ago",
		    exec_render_duration(now_ms - then_ms, d, sizeof(d)));
	return buf;
}

/* One alarm's row; scope is "org" or its pipeline's name. */
static void
alarm_row(struct table *t, const json_t *a, int64_t now)
{
	char since[48];
	const char *row[6];

	row[0] = jstr(a, "pipeline") != NULL ? jstr(a, "pipeline")
	                                     : jstr_or(a, "scope", "?");
	row[1] = jstr_or(a, "name", "?");
	row[2] = jstr_or(a, "source", "?");
	row[3] = jstr_or(a, "state", "?");
	row[4] = exec_render_ago(jint(a, "since"), now, since, sizeof(since));
	row[5] = jstr_or(a, "reason", "");
	table_row(t, row);
}

/* Below an alarm's row: the one-box comparisons it runs, one line each. */
static int
one_box_lines(const json_t *a, int width, struct exec_lines *out)
{
	const json_t *ob;
	struct buf b = {0};
	size_t i;

	json_array_foreach(json_object_get(a, "one_box"), i, ob)
	{
		buf_addf(&b,
		    "    one-box of execution %" PRId64 " stage %s: %s",
		    jint(ob, "execution"), jstr_or(ob, "stage", "?"),
		    jstr_or(ob, "state", "?"));
		if (jstr(ob, "reason") != NULL && *jstr(ob, "reason") != '\0')
			buf_addf(&b, ": %s", jstr(ob, "reason"));
		if (end_line(&b, width, out) < 0)
			return -1;
	}
	return 0;
}

int
exec_render_alarms(
    const json_t *list, int64_t now_ms, int width, struct exec_lines *out)
{
	static const char *const head[] = {
	    "SCOPE", "NAME", "SOURCE", "STATE", "SINCE", "REASON"};
	const json_t *alarms = json_object_get(list, "alarms"), *a;
	struct table t = {.ncols = 6};
	struct exec_lines rows = {0};
	size_t i;
	int rc = -1;

	if (json_array_size(alarms) == 0) {
		struct buf b = {0};

		buf_adds(&b, "no alarms are defined");
		return end_line(&b, width, out);
	}
	table_row(&t, head);
	json_array_foreach(alarms, i, a) alarm_row(&t, a, now_ms);
	if (table_lines(&t, width, &rows) < 0)
		goto out;
	/* The header, then each row with its one-box lines below it. */
	for (i = 0; i < rows.n; i++) {
		if (lines_push(out, rows.v[i]) < 0)
			goto out;
		rows.v[i] = NULL;
		if (i > 0 &&
		    one_box_lines(json_array_get(alarms, i - 1), width, out) <
		        0)
			goto out;
	}
	rc = 0;
out:
	exec_lines_clear(&rows);
	return rc;
}

int
exec_render_blockers(
    const json_t *doc, int64_t now_ms, int width, struct exec_lines *out)
{
	static const char *const bhead[] = {"ID", "EXECUTION", "PIPELINE",
	    "STAGE", "KIND", "UNTIL", "OVERRIDABLE", "REASON"};
	static const char *const hhead[] = {
	    "HOLD", "SCOPE", "NAME", "SINCE", "BY", "REASON"};
	const json_t *blockers = json_object_get(doc, "blockers");
	const json_t *holds = json_object_get(doc, "holds");
	const json_t *firing = json_object_get(doc, "alarms"), *x;
	struct table t = {0};
	struct buf b = {0};
	size_t i;

	if (json_array_size(blockers) == 0) {
		buf_adds(&b, "no execution is blocked");
		if (end_line(&b, width, out) < 0)
			return -1;
	} else {
		t = (struct table){.ncols = 8};
		table_row(&t, bhead);
		json_array_foreach(blockers, i, x)
		{
			char exec[24], until[64], d[32], tm[32];
			int64_t u = jint(x, "until");
			const char *row[8];

			snprintf(exec, sizeof(exec), "%" PRId64,
			    jint(x, "execution"));
			if (u > now_ms)
				snprintf(until, sizeof(until), "%s (in %s)",
				    fmt_when(u, now_ms, tm, sizeof(tm)),
				    exec_render_duration(
				        u - now_ms, d, sizeof(d)));
			else if (u > 0)
				fmt_when(u, now_ms, until, sizeof(until));
			else
				snprintf(until, sizeof(until), "-");
			row[0] = jstr_or(x, "id", "?");
			row[1] = exec;
			row[2] = jstr_or(x, "pipeline", "?");
			row[3] = jstr_or(x, "stage", "?");
			row[4] = jstr_or(x, "kind", "?");
			row[5] = until;
			row[6] = jbool(x, "overridable") ? "yes" : "no";
			row[7] = jstr_or(x, "reason", "");
			table_row(&t, row);
		}
		if (table_lines(&t, width, out) < 0)
			return -1;
	}
	if (end_line(&b, width, out) < 0)
		return -1;
	if (json_array_size(holds) == 0) {
		buf_adds(&b, "no holds");
		if (end_line(&b, width, out) < 0)
			return -1;
	} else {
		t = (struct table){.ncols = 6};
		table_row(&t, hhead);
		json_array_foreach(holds, i, x)
		{
			char id[24], since[48];
			const char *row[6];

			snprintf(id, sizeof(id), "%" PRId64, jint(x, "id"));
			row[0] = id;
			row[1] = jstr_or(x, "scope", "?");
			row[2] = jstr(x, "name");
			row[3] = exec_render_ago(jint(x, "created_at"), now_ms,
			    since, sizeof(since));
			row[4] = jstr_or(x, "actor", "?");
			row[5] = jstr_or(x, "reason", "");
			table_row(&t, row);
		}
		if (table_lines(&t, width, out) < 0)
			return -1;
	}
	if (json_array_size(firing) == 0)
		return 0;
	/* The alarms in state alarm: what blocks the next stages. */
	if (end_line(&b, width, out) < 0)
		return -1;
	buf_adds(&b, "firing:");
	json_array_foreach(firing, i, x)
	{
		buf_addf(&b, "%s ", i > 0 ? "," : "");
		if (jstr(x, "pipeline") != NULL)
			buf_addf(&b, "%s:", jstr(x, "pipeline"));
		buf_adds(&b, jstr_or(x, "name", "?"));
	}
	return end_line(&b, width, out);
}
