/*
 * exec_render.c - executions as text (exec_render.h).  Every line is
 * built in a small string builder, then cut to the width by columns
 * (UTF-8 aware).  The JSON is the server's: a key that is missing or of
 * another type shows as "?" or is left out, so a newer server never
 * breaks an older gantryctl.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec_render.h"

#define NAME_COLS_MAX 28 /* stage names wider than this are not padded */
#define BAR_INNER_MAX 20
#define BAR_INNER_MIN 5
#define FAILED_SHOWN 4 /* failed targets named per stage */
#define EVENT_TARGETS_SHOWN 4
#define REVISION_COLS 12

/* A growable string. */
struct sb {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_addf(struct sb *b, const char *fmt, ...) PRINTFLIKE(2, 3);

static void
sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void
sb_addf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	sb_addn(b, s, (size_t)n);
	free(s);
}

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
sb_pad(struct sb *b, const char *s, size_t w)
{
	size_t c = cols(s);

	sb_add(b, s);
	for (; c < w; c++)
		sb_addn(b, " ", 1);
}

/* Control characters from the server would move the cursor: show '?'. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* End the line in b: trailing blanks dropped, cut to width, appended to
 * out (which takes the string).  b is emptied; -1 when out of memory. */
static int
sb_line(struct sb *b, int width, struct exec_lines *out)
{
	char *line;

	if (b->s == NULL)
		sb_addn(b, "", 0);
	if (b->oom)
		goto oom;
	line = b->s;
	sanitize(line);
	while (b->len > 0 && line[b->len - 1] == ' ')
		line[--b->len] = '\0';
	if (width > 0 && cols(line) > (size_t)width) {
		size_t keep = width > 3 ? (size_t)width - 3 : (size_t)width;
		size_t off = col_offset(line, keep);

		if (width > 3)
			memcpy(line + off, "...", 4);
		else
			line[off] = '\0';
	}
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 32;
		char **v = realloc(out->v, cap * sizeof(*v));

		if (v == NULL)
			goto oom;
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] = line;
	*b = (struct sb){0};
	return 0;
oom:
	free(b->s);
	*b = (struct sb){0};
	return -1;
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
state_line(struct sb *b, const json_t *tree, int64_t now)
{
	const char *state = jstr_or(tree, "state", "?");
	const char *final = jstr(tree, "final_state");
	const json_t *stages = json_object_get(tree, "stages");
	int64_t cur = jint(tree, "stage"), created = jint(tree, "created_at");
	int64_t finished = jint(tree, "finished_at");
	bool terminal = exec_render_is_terminal(state);
	char d[32];

	sb_addf(b, "state     %s", state);
	if (strcmp(state, "paused") == 0 && jstr(tree, "paused_from"))
		sb_addf(b, " (from %s)", jstr(tree, "paused_from"));
	if (jbool(tree, "pause_requested"))
		sb_add(b, ", pause requested");
	if (!terminal && final != NULL)
		sb_addf(b, ", to end %s", final);
	if (jbool(tree, "rolling_back_all"))
		sb_add(b, ", rolling back every stage");
	if (jbool(tree, "stuck"))
		sb_add(b, ", STUCK");
	if (!terminal && cur >= 0 && (size_t)cur < json_array_size(stages))
		sb_addf(b, ", stage %" PRId64 "/%zu %s", cur + 1,
		    json_array_size(stages),
		    jstr_or(json_array_get(stages, (size_t)cur), "name", "?"));
	if (created > 0) {
		if (terminal && finished > 0)
			sb_addf(b, ", took %s",
			    exec_render_duration(
			        finished - created, d, sizeof(d)));
		else if (!terminal)
			sb_addf(b, ", elapsed %s",
			    exec_render_duration(now - created, d, sizeof(d)));
	}
}

static int
blocker_lines(
    const json_t *tree, int64_t now, int width, struct exec_lines *out)
{
	const json_t *bl;
	struct sb b = {0};
	size_t i;
	char t[32], d[32];

	json_array_foreach(json_object_get(tree, "blockers"), i, bl)
	{
		int64_t until = jint(bl, "until");

		sb_add(&b, i == 0 ? "blocked   " : "          ");
		sb_addf(&b, "%s: %s", jstr_or(bl, "kind", "?"),
		    jstr_or(bl, "reason", "(no reason given)"));
		if (until > 0 && until > now)
			sb_addf(&b, " (until %s, in %s)",
			    fmt_time(until, t, sizeof(t)),
			    exec_render_duration(until - now, d, sizeof(d)));
		else if (until > 0)
			sb_addf(
			    &b, " (until %s)", fmt_time(until, t, sizeof(t)));
		if (sb_line(&b, width, out) < 0)
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
	struct sb b = {0};
	const char *sep = "";
	char bar[BAR_INNER_MAX + 3], d[32];

	sb_add(&b, current ? "> " : "  ");
	sb_pad(&b, jstr_or(st, "name", "?"), namew);
	sb_add(&b, "  ");
	sb_pad(&b, state, statew);
	sb_add(&b, "  ");
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
		sb_addf(&b, "%s %zu/%zu targets, %zu/%zu groups",
		    exec_render_bar(
		        t.deployed, t.total, inner, bar, sizeof(bar)),
		    t.deployed, t.total, t.groups_done, t.groups);
		if (jint(st, "batch") > 0 && strcmp(state, "deploying") == 0)
			sb_addf(&b, ", batch %" PRId64, jint(st, "batch"));
		if (t.failed > 0)
			sb_addf(&b, ", %zu failed", t.failed);
		if (t.rolled_back > 0)
			sb_addf(&b, ", %zu rolled back", t.rolled_back);
		sep = ", ";
	}
	if (bake > now && fin == 0 && !stage_is_over(state)) {
		sb_addf(&b, "%sbake %s left", sep,
		    exec_render_duration(bake - now, d, sizeof(d)));
		sep = ", ";
	}
	if (jbool(st, "test_running")) {
		sb_addf(&b, "%stests running", sep);
		if (jint(st, "test_attempts") > 1)
			sb_addf(&b, " (attempt %" PRId64 ")",
			    jint(st, "test_attempts"));
		sep = ", ";
	}
	if (started > 0) {
		if (fin > 0)
			sb_addf(&b, "%stook %s", sep,
			    exec_render_duration(fin - started, d, sizeof(d)));
		else
			sb_addf(&b, "%sfor %s", sep,
			    exec_render_duration(now - started, d, sizeof(d)));
	}
	if (sb_line(&b, width, out) < 0)
		return -1;

	if (jstr(st, "reason") != NULL) {
		sb_addf(&b, "  %*s  %s", (int)namew, "", jstr(st, "reason"));
		if (sb_line(&b, width, out) < 0)
			return -1;
	}
	if (json_array_size(targets) > 0) {
		struct sb names = {0};
		const json_t *ti;
		size_t i, nfailed = 0;

		json_array_foreach(targets, i, ti)
		{
			if (!target_is(ti, "failed"))
				continue;
			if (nfailed < FAILED_SHOWN)
				sb_addf(&names, "%s%s", nfailed ? ", " : "",
				    jstr_or(ti, "name", "?"));
			nfailed++;
		}
		if (nfailed > FAILED_SHOWN)
			sb_addf(&names, ", +%zu more", nfailed - FAILED_SHOWN);
		if (nfailed > 0) {
			sb_addf(&b, "  %*s  failed: %s", (int)namew, "",
			    names.s != NULL ? names.s : "");
			if (names.oom)
				b.oom = true;
		}
		free(names.s);
		if (nfailed > 0 && sb_line(&b, width, out) < 0)
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
	struct sb b = {0};

	sb_addf(&b, "execution %" PRId64 "  %s v%" PRId64 "  revision %s",
	    jint(tree, "id"), jstr_or(tree, "pipeline", "?"),
	    jint(tree, "pipeline_version"), jstr_or(tree, "revision", "?"));
	if (sb_line(&b, width, out) < 0)
		return -1;
	state_line(&b, tree, now_ms);
	if (sb_line(&b, width, out) < 0)
		return -1;
	if (jstr(art, "uri") != NULL) {
		sb_addf(&b, "artifact  %s", jstr(art, "uri"));
		if (jstr(art, "sha256") != NULL)
			sb_addf(&b, " sha256:%.12s", jstr(art, "sha256"));
		if (jstr(art, "signature") != NULL)
			sb_add(&b, ", signed");
		if (sb_line(&b, width, out) < 0)
			return -1;
	}
	if (jstr(tree, "reason") != NULL) {
		sb_addf(&b, "reason    %s", jstr(tree, "reason"));
		if (sb_line(&b, width, out) < 0)
			return -1;
	}
	if (blocker_lines(tree, now_ms, width, out) < 0)
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
	return 0;
}

/* --- one transition -------------------------------------------------------- */

/* key=value for one field of an event's data. */
static void
event_field(struct sb *b, const char *key, const json_t *v)
{
	const json_t *x;
	const char *k;
	size_t i, n = 0;
	char *s;

	if (json_is_null(v))
		return;
	sb_addf(b, " %s=", key);
	if (json_is_string(v)) {
		const char *str = json_string_value(v);

		if (*str != '\0' && strpbrk(str, " \"=") == NULL) {
			sb_add(b, str);
			return;
		}
	} else if (json_is_object(v) && strcmp(key, "targets") == 0) {
		json_object_foreach((json_t *)v, k, x)
		{
			if (n < EVENT_TARGETS_SHOWN)
				sb_addf(b, "%s%s", n ? "," : "", k);
			n++;
		}
		if (n > EVENT_TARGETS_SHOWN)
			sb_addf(b, ",+%zu", n - EVENT_TARGETS_SHOWN);
		return;
	} else if (json_is_array(v) && strcmp(key, "blockers") == 0) {
		json_array_foreach(v, i, x)
		    sb_addf(b, "%s%s", i ? "," : "", jstr_or(x, "kind", "?"));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL) {
		b->oom = true;
		return;
	}
	sb_add(b, s);
	free(s);
}

int
exec_render_event(const json_t *msg, int width, struct exec_lines *out)
{
	const json_t *data = json_object_get(msg, "data");
	const json_t *tree = json_object_get(msg, "execution");
	const json_t *v;
	const char *key;
	struct sb b = {0};

	sb_addf(&b, "%s #%" PRId64 " %s", jstr_or(msg, "at", "?"),
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

		sb_addf(&b, " -> %s", state);
		if (!exec_render_is_terminal(state) && cur >= 0)
			st = json_array_get(stages, (size_t)cur);
		if (st != NULL) {
			const json_t *targets = json_object_get(st, "targets");

			sb_addf(&b, ", %s %s", jstr_or(st, "name", "?"),
			    jstr_or(st, "state", "?"));
			if (json_array_size(targets) > 0) {
				struct tally t;

				tally_targets(targets, &t);
				sb_addf(&b, " %zu/%zu", t.deployed, t.total);
			}
		}
	}
	return sb_line(&b, width, out);
}

/* --- history ------------------------------------------------------------- */

struct hrow {
	char id[24], ver[24], rev[REVISION_COLS + 4], created[32], took[32];
	const char *pipeline, *state, *reason;
};

int
exec_render_history(
    const json_t *list, int64_t now_ms, int width, struct exec_lines *out)
{
	const json_t *execs = json_object_get(list, "executions"), *x;
	size_t n = json_array_size(execs), i;
	size_t wid = 2, wpipe = 8, wver = 3, wrev = 8, wstate = 5, wtook = 4;
	struct hrow *rows = calloc(n ? n : 1, sizeof(*rows));
	struct sb b = {0};
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
		r->state = jstr_or(x, "state", "?");
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
			sb_add(&b, " ");
		sb_add(&b, r ? r->id : "ID");
		sb_add(&b, "  ");
		sb_pad(&b, r ? r->pipeline : "PIPELINE", wpipe);
		sb_add(&b, "  ");
		c = cols(r ? r->ver : "VER");
		for (; c < wver; c++)
			sb_add(&b, " ");
		sb_add(&b, r ? r->ver : "VER");
		sb_add(&b, "  ");
		sb_pad(&b, r ? r->rev : "REVISION", wrev);
		sb_add(&b, "  ");
		sb_pad(&b, r ? r->state : "STATE", wstate);
		sb_add(&b, "  ");
		sb_pad(&b, r ? r->created : "CREATED (UTC)", 20);
		sb_add(&b, "  ");
		sb_pad(&b, r ? r->took : "TOOK", wtook);
		sb_add(&b, "  ");
		sb_add(&b, r ? r->reason : "REASON");
		if (sb_line(&b, width, out) < 0)
			goto out;
	}
	rc = 0;
out:
	free(rows);
	return rc;
}
