/*
 * exec_json.c - executions and their events as JSON (exec.h), exactly as
 * /tmp/gantry-design/exec-json.md lays them out: the snapshot is the API
 * tree and what execution rows store; events are execution_events.data.
 * Decoding is strict (every key of the snapshot, of the right type, with
 * known state names) and never trusts its input.
 */
#include "exec.h"

#include "jsonw.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- encoding -------------------------------------------------------------- */

/*
 * One encoder per type, writing text (jsonw.h); the jansson trees the API
 * hands out are parsed from that text.  Key order is stable: it is the
 * order below.
 */

static void
target_write(struct buf *b, const struct exec_target *t)
{
	jw_open(b, '{');
	jw_kstr(b, "name", t->name);
	jw_kstr(b, "group", t->group);
	jw_kstr(b, "state", target_state_name(t->state));
	jw_kbool(b, "touched", t->touched);
	jw_kstr(b, "previous", t->previous);
	jw_kint(b, "deploy_attempts", t->deploy_attempts);
	jw_kint(b, "rollback_attempts", t->rollback_attempts);
	jw_kbool(b, "hook_running", t->hook_running);
	jw_kbool(b, "kill_sent", t->kill_sent);
	jw_kint(b, "started_at", t->started_at);
	jw_kint(b, "finished_at", t->finished_at);
	jw_close(b, '}');
}

static void
stage_write(struct buf *b, const struct exec_stage *s)
{
	jw_open(b, '{');
	jw_kstr(b, "name", s->name);
	jw_kstr(b, "state", stage_state_name(s->state));
	jw_kint(b, "batch", s->batch);
	jw_kbool(b, "one_box_done", s->one_box_done);
	jw_kint(b, "bake_until", s->bake_until);
	jw_kint(b, "test_attempts", s->test_attempts);
	jw_kbool(b, "test_running", s->test_running);
	jw_kint(b, "started_at", s->started_at);
	jw_kint(b, "finished_at", s->finished_at);
	jw_kstr(b, "reason", s->reason);
	jw_key(b, "targets");
	jw_open(b, '[');
	for (size_t i = 0; i < s->ntargets; i++)
		target_write(b, &s->targets[i]);
	jw_close(b, ']');
	jw_close(b, '}');
}

static void
blockers_write(struct buf *b, const struct exec_blocker *v, size_t n)
{
	jw_open(b, '[');
	for (size_t i = 0; i < n; i++) {
		jw_open(b, '{');
		jw_kstr(b, "kind", v[i].kind);
		jw_kstr(b, "reason", v[i].reason);
		jw_kint(b, "until", v[i].until);
		jw_kstr(b, "id", v[i].id);
		jw_close(b, '}');
	}
	jw_close(b, ']');
}

static void
overrides_write(struct buf *b, const struct exec_override *o, size_t n)
{
	jw_open(b, '[');
	for (size_t i = 0; i < n; i++) {
		jw_open(b, '{');
		jw_kstr(b, "stage", o[i].stage);
		jw_kstr(b, "blocker", o[i].blocker);
		jw_kstr(b, "actor", o[i].actor);
		jw_kstr(b, "reason", o[i].reason);
		jw_kint(b, "at", o[i].at);
		jw_kint(b, "expires", o[i].expires);
		jw_kbool(b, "used", o[i].used);
		jw_close(b, '}');
	}
	jw_close(b, ']');
}

static void
decisions_write(struct buf *b, const struct exec_decision *d, size_t n)
{
	jw_open(b, '[');
	for (size_t i = 0; i < n; i++) {
		jw_open(b, '{');
		jw_kint(b, "at", d[i].at);
		jw_kstr(b, "stage", d[i].stage);
		jw_kstr(b, "kind", d[i].kind);
		jw_kstr(b, "subject", d[i].subject);
		jw_kstr(b, "reason", d[i].reason);
		jw_key(b, "detail");
		jw_json(b, d[i].detail);
		jw_close(b, '}');
	}
	jw_close(b, ']');
}

void
exec_write(struct buf *b, const struct exec *x)
{
	jw_open(b, '{');
	jw_kint(b, "id", x->id);
	jw_kstr(b, "pipeline", x->pipeline);
	jw_kint(b, "pipeline_version", x->pipeline_version);
	jw_kstr(b, "revision", x->revision);
	jw_kstr(b, "state", exec_state_name(x->state));
	jw_kstr(b, "paused_from", exec_state_name(x->paused_from));
	jw_kbool(b, "pause_requested", x->pause_requested);
	jw_key(b, "artifact");
	jw_open(b, '{');
	jw_kstr(b, "uri", x->artifact_uri);
	jw_kstr(b, "sha256", x->artifact_sha256);
	jw_kstr(b, "signature", x->artifact_signature);
	jw_close(b, '}');
	jw_kint(b, "seq", x->seq);
	jw_kint(b, "stage", x->stage);
	jw_kbool(b, "stage_started", x->stage_started);
	jw_kbool(b, "rolling_back_all", x->rolling_back_all);
	/* final_state: EXEC_QUEUED means none (no rollback was started) */
	jw_kstr(b, "final_state",
	    x->final_state == EXEC_QUEUED ? NULL
	                                  : exec_state_name(x->final_state));
	jw_kstr(b, "reason", x->reason);
	jw_kint(b, "created_at", x->created_at);
	jw_kint(b, "finished_at", x->finished_at);
	jw_kint(b, "notify_seq", x->notify_seq);
	jw_kbool(b, "dry_run", x->dry_run);
	jw_key(b, "blockers");
	blockers_write(b, x->blockers, x->nblockers);
	jw_key(b, "overrides");
	overrides_write(b, x->overrides, x->noverrides);
	jw_key(b, "decisions");
	decisions_write(b, x->decisions, x->ndecisions);
	jw_key(b, "stages");
	jw_open(b, '[');
	for (size_t i = 0; i < x->nstages; i++)
		stage_write(b, &x->stages[i]);
	jw_close(b, ']');
	jw_close(b, '}');
}

/* A tree parsed from what write wrote; NULL when out of memory. */
static json_t *
tree_of(struct buf *b)
{
	json_t *j = NULL;

	if (!buf_failed(b))
		j = json_loadb(b->s, b->len, 0, NULL);
	buf_free(b);
	return j;
}

json_t *
exec_to_json(const struct exec *x)
{
	struct buf b = {0};

	exec_write(&b, x);
	return tree_of(&b);
}

/* Which fields each event kind uses (exec-json.md: only those). */
enum {
	F_STEP = 1 << 0,
	F_ATTEMPT = 1 << 1,
	F_STATUS = 1 << 2,
	F_TIMER = 1 << 3,
	F_ALARM = 1 << 4,
	F_ACTOR = 1 << 5,
	F_REASON = 1 << 6,
	F_OTHER = 1 << 7,
	F_ARTIFACT = 1 << 8, /* only when set */
	F_TARGETS = 1 << 9,
	F_BLOCKERS = 1 << 10,
	F_BLOCKER = 1 << 11, /* blocker id + expires */
	F_DETAIL = 1 << 12, /* only when set */
};

static unsigned
event_fields(enum exec_event_kind k)
{
	switch (k) {
	case EV_TRIGGERED:
		return F_ACTOR | F_REASON | F_ARTIFACT;
	case EV_STAGE_MAY_START:
		return F_TARGETS;
	case EV_BLOCKED:
		return F_BLOCKERS;
	case EV_HOOK_FINISHED:
		return F_STEP | F_ATTEMPT | F_STATUS | F_ARTIFACT;
	case EV_HOOK_TIMED_OUT:
		return F_STEP | F_ATTEMPT;
	case EV_TIMER_FIRED:
		return F_TIMER | F_DETAIL;
	case EV_ALARM_FIRED:
		return F_ALARM | F_REASON | F_DETAIL;
	case EV_OVERRIDE:
		return F_BLOCKER | F_ACTOR | F_REASON;
	case EV_ALARM_CLEARED:
		return F_ALARM;
	case EV_ABORT:
	case EV_ROLLBACK:
	case EV_PAUSE:
	case EV_RESUME:
	case EV_REJECTED:
		return F_ACTOR | F_REASON;
	case EV_SUPERSEDED:
		return F_OTHER;
	case EV_RESTARTED:
		return 0;
	}
	return 0;
}

static bool
kind_known(int k)
{
	return k >= EV_TRIGGERED && k <= EV_LAST;
}

bool
exec_event_write(struct buf *b, const struct exec_event *ev)
{
	unsigned f;

	if (!kind_known(ev->kind))
		return false;
	f = event_fields(ev->kind);
	jw_open(b, '{');
	jw_kstr(b, "kind", exec_event_name(ev->kind));
	if (f & F_STEP)
		jw_kstr(b, "step", ev->step);
	if (f & F_ATTEMPT)
		jw_kint(b, "attempt", ev->attempt);
	if (f & F_STATUS)
		jw_kint(b, "status", ev->status);
	if (f & F_TIMER)
		jw_kstr(b, "timer", ev->timer);
	if (f & F_ALARM)
		jw_kstr(b, "alarm", ev->alarm);
	if (f & F_ACTOR)
		jw_kstr(b, "actor", ev->actor);
	if (f & F_REASON)
		jw_kstr(b, "reason", ev->reason);
	if (f & F_OTHER)
		jw_kint(b, "other", ev->other);
	if ((f & F_ARTIFACT) && ev->artifact_sha256 != NULL)
		jw_kstr(b, "artifact_sha256", ev->artifact_sha256);
	if ((f & F_ARTIFACT) && ev->artifact_uri != NULL)
		jw_kstr(b, "artifact_uri", ev->artifact_uri);
	if ((f & F_ARTIFACT) && ev->artifact_signature != NULL)
		jw_kstr(b, "artifact_signature", ev->artifact_signature);
	if (f & F_TARGETS) {
		jw_key(b, "targets");
		jw_open(b, '{');
		for (size_t i = 0; i < ev->ntarget_versions; i++) {
			if (ev->target_names[i] == NULL)
				return false;
			jw_kstr(b, ev->target_names[i], ev->target_versions[i]);
		}
		jw_close(b, '}');
	}
	if (f & F_BLOCKERS) {
		jw_key(b, "blockers");
		blockers_write(b, ev->blockers, ev->nblockers);
	}
	if (f & F_BLOCKER) {
		jw_kstr(b, "blocker", ev->blocker);
		jw_kint(b, "expires", ev->expires);
	}
	if ((f & F_DETAIL) && ev->detail != NULL) {
		jw_key(b, "detail");
		jw_json(b, ev->detail);
	}
	jw_close(b, '}');
	return true;
}

json_t *
exec_event_to_json(const struct exec_event *ev)
{
	struct buf b = {0};

	if (!exec_event_write(&b, ev)) {
		buf_free(&b);
		return NULL;
	}
	return tree_of(&b);
}

/* --- decoding -------------------------------------------------------------- */

/* Where in the document a value is, for error messages. */
struct at {
	const char *what; /* "execution", "stages[2]", ... */
	struct gantry_error *err;
};

static int
bad_field(const struct at *at, const char *key, const char *expected)
{
	return gantry_error_set(at->err, GANTRY_EINVAL, "%s: %s: expected %s",
	    at->what, key, expected);
}

static const json_t *
field(const json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

/* A copy of a string or null member (required). */
static int
get_str(const struct at *at, const json_t *o, const char *key, char **out)
{
	const json_t *v = field(o, key);

	if (json_is_null(v)) {
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return bad_field(at, key, "a string or null");
	if ((*out = strdup(json_string_value(v))) == NULL)
		return gantry_error_set(
		    at->err, GANTRY_ENOMEM, "out of memory");
	return 0;
}

static int
get_i64(const struct at *at, const json_t *o, const char *key, int64_t min,
    int64_t *out)
{
	const json_t *v = field(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min)
		return bad_field(at, key, "an integer");
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int
get_int(
    const struct at *at, const json_t *o, const char *key, int min, int *out)
{
	int64_t v;

	if (get_i64(at, o, key, min, &v) < 0)
		return -1;
	if (v > INT_MAX)
		return bad_field(at, key, "an int");
	*out = (int)v;
	return 0;
}

static int
get_bool(const struct at *at, const json_t *o, const char *key, bool *out)
{
	const json_t *v = field(o, key);

	if (!json_is_boolean(v))
		return bad_field(at, key, "true or false");
	*out = json_is_true(v);
	return 0;
}

/* A state name among n, by names(i). */
static int
get_enum(const struct at *at, const json_t *o, const char *key,
    const char *(*names)(int), int n, int *out)
{
	const json_t *v = field(o, key);
	const char *s = json_string_value(v);

	for (int i = 0; s != NULL && i < n; i++)
		if (strcmp(names(i), s) == 0) {
			*out = i;
			return 0;
		}
	return bad_field(at, key, "a known state name");
}

static const char *
exec_state_at(int i)
{
	return exec_state_name((enum exec_state)i);
}

static const char *
stage_state_at(int i)
{
	return stage_state_name((enum stage_state)i);
}

static const char *
target_state_at(int i)
{
	return target_state_name((enum target_state)i);
}

static const json_t *
get_array(const struct at *at, const json_t *o, const char *key)
{
	const json_t *v = field(o, key);

	if (!json_is_array(v)) {
		bad_field(at, key, "an array");
		return NULL;
	}
	return v;
}

static int
target_from_json(const json_t *j, const char *where, struct exec_target *t,
    struct gantry_error *err)
{
	struct at at = {where, err};
	int st = 0;

	if (!json_is_object(j))
		return gantry_error_set(
		    err, GANTRY_EINVAL, "%s: expected an object", where);
	if (get_str(&at, j, "name", &t->name) < 0 ||
	    get_str(&at, j, "group", &t->group) < 0 ||
	    get_str(&at, j, "previous", &t->previous) < 0 ||
	    get_enum(&at, j, "state", target_state_at, TST_ROLLED_BACK + 1,
	        &st) < 0 ||
	    get_bool(&at, j, "touched", &t->touched) < 0 ||
	    get_int(&at, j, "deploy_attempts", 0, &t->deploy_attempts) < 0 ||
	    get_int(&at, j, "rollback_attempts", 0, &t->rollback_attempts) <
	        0 ||
	    get_bool(&at, j, "hook_running", &t->hook_running) < 0 ||
	    get_bool(&at, j, "kill_sent", &t->kill_sent) < 0 ||
	    get_i64(&at, j, "started_at", 0, &t->started_at) < 0 ||
	    get_i64(&at, j, "finished_at", 0, &t->finished_at) < 0)
		return -1;
	if (t->name == NULL)
		return bad_field(&at, "name", "a string");
	t->state = (enum target_state)st;
	return 0;
}

static int
stage_from_json(const json_t *j, const char *where, struct exec_stage *s,
    struct gantry_error *err)
{
	struct at at = {where, err};
	const json_t *ts;
	int st = 0;

	if (!json_is_object(j))
		return gantry_error_set(
		    err, GANTRY_EINVAL, "%s: expected an object", where);
	if (get_str(&at, j, "name", &s->name) < 0 ||
	    get_str(&at, j, "reason", &s->reason) < 0 ||
	    get_enum(&at, j, "state", stage_state_at, SST_CANCELLED + 1, &st) <
	        0 ||
	    get_int(&at, j, "batch", 0, &s->batch) < 0 ||
	    get_bool(&at, j, "one_box_done", &s->one_box_done) < 0 ||
	    get_i64(&at, j, "bake_until", 0, &s->bake_until) < 0 ||
	    get_int(&at, j, "test_attempts", 0, &s->test_attempts) < 0 ||
	    get_bool(&at, j, "test_running", &s->test_running) < 0 ||
	    get_i64(&at, j, "started_at", 0, &s->started_at) < 0 ||
	    get_i64(&at, j, "finished_at", 0, &s->finished_at) < 0 ||
	    (ts = get_array(&at, j, "targets")) == NULL)
		return -1;
	if (s->name == NULL)
		return bad_field(&at, "name", "a string");
	s->state = (enum stage_state)st;
	if (json_array_size(ts) > 0) {
		s->targets = calloc(json_array_size(ts), sizeof(*s->targets));
		if (s->targets == NULL)
			return gantry_error_set(
			    err, GANTRY_ENOMEM, "out of memory");
		s->ntargets = json_array_size(ts);
	}
	for (size_t i = 0; i < s->ntargets; i++) {
		char w[96];

		snprintf(w, sizeof(w), "%s.targets[%zu]", where, i);
		if (target_from_json(
		        json_array_get(ts, i), w, &s->targets[i], err) < 0)
			return -1;
	}
	return 0;
}

static int
blocker_from_json(const json_t *j, const char *where, struct exec_blocker *b,
    struct gantry_error *err)
{
	struct at at = {where, err};

	if (!json_is_object(j))
		return gantry_error_set(
		    err, GANTRY_EINVAL, "%s: expected an object", where);
	if (get_str(&at, j, "kind", &b->kind) < 0 ||
	    get_str(&at, j, "reason", &b->reason) < 0 ||
	    get_i64(&at, j, "until", 0, &b->until) < 0 ||
	    (field(j, "id") != NULL && get_str(&at, j, "id", &b->id) < 0))
		return -1;
	if (b->kind == NULL)
		return bad_field(&at, "kind", "a string");
	return 0;
}

/* "overrides": absent in snapshots written before overrides existed. */
static int
overrides_from_json(const struct at *at, const json_t *a, struct exec *x)
{
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return bad_field(at, "overrides", "an array");
	if (json_array_size(a) == 0)
		return 0;
	x->overrides = calloc(json_array_size(a), sizeof(*x->overrides));
	if (x->overrides == NULL)
		return gantry_error_set(
		    at->err, GANTRY_ENOMEM, "out of memory");
	x->noverrides = json_array_size(a);
	for (size_t i = 0; i < x->noverrides; i++) {
		const json_t *o = json_array_get(a, i);
		struct exec_override *d = &x->overrides[i];
		char w[64];
		struct at oat = {w, at->err};

		snprintf(w, sizeof(w), "execution.overrides[%zu]", i);
		if (get_str(&oat, o, "stage", &d->stage) < 0 ||
		    get_str(&oat, o, "blocker", &d->blocker) < 0 ||
		    get_str(&oat, o, "actor", &d->actor) < 0 ||
		    get_str(&oat, o, "reason", &d->reason) < 0 ||
		    get_i64(&oat, o, "at", INT64_MIN, &d->at) < 0 ||
		    get_i64(&oat, o, "expires", INT64_MIN, &d->expires) < 0 ||
		    get_bool(&oat, o, "used", &d->used) < 0)
			return -1;
		if (d->stage == NULL || d->blocker == NULL)
			return bad_field(&oat, "stage", "a string");
	}
	return 0;
}

static int
decisions_from_json(const struct at *at, const json_t *a, struct exec *x)
{
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return bad_field(at, "decisions", "an array");
	if (json_array_size(a) == 0)
		return 0;
	x->decisions = calloc(json_array_size(a), sizeof(*x->decisions));
	if (x->decisions == NULL)
		return gantry_error_set(
		    at->err, GANTRY_ENOMEM, "out of memory");
	x->ndecisions = json_array_size(a);
	for (size_t i = 0; i < x->ndecisions; i++) {
		const json_t *o = json_array_get(a, i), *d;
		struct exec_decision *v = &x->decisions[i];
		char w[64];
		struct at dat = {w, at->err};

		snprintf(w, sizeof(w), "execution.decisions[%zu]", i);
		if (get_i64(&dat, o, "at", INT64_MIN, &v->at) < 0 ||
		    get_str(&dat, o, "stage", &v->stage) < 0 ||
		    get_str(&dat, o, "kind", &v->kind) < 0 ||
		    get_str(&dat, o, "subject", &v->subject) < 0 ||
		    get_str(&dat, o, "reason", &v->reason) < 0)
			return -1;
		d = field(o, "detail");
		if (d != NULL && !json_is_null(d) &&
		    (v->detail = json_deep_copy(d)) == NULL)
			return gantry_error_set(
			    at->err, GANTRY_ENOMEM, "out of memory");
	}
	return 0;
}

struct exec *
exec_from_json(const json_t *j, struct gantry_error *err)
{
	struct at at = {"execution", err};
	struct exec *x = NULL;
	const json_t *art, *stages, *blockers, *fs;
	struct at aat = {"execution.artifact", err};
	int64_t stage;
	int st = 0, pf = 0;

	if (!json_is_object(j)) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "execution: expected an object");
		return NULL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		return NULL;
	}
	art = field(j, "artifact");
	if (get_i64(&at, j, "id", INT64_MIN, &x->id) < 0 ||
	    get_str(&at, j, "pipeline", &x->pipeline) < 0 ||
	    get_int(&at, j, "pipeline_version", INT_MIN, &x->pipeline_version) <
	        0 ||
	    get_str(&at, j, "revision", &x->revision) < 0 ||
	    get_enum(&at, j, "state", exec_state_at, EXEC_SUPERSEDED + 1, &st) <
	        0 ||
	    get_enum(&at, j, "paused_from", exec_state_at, EXEC_SUPERSEDED + 1,
	        &pf) < 0 ||
	    get_bool(&at, j, "pause_requested", &x->pause_requested) < 0)
		goto fail;
	if (!json_is_object(art)) {
		bad_field(&at, "artifact", "an object");
		goto fail;
	}
	if (get_str(&aat, art, "uri", &x->artifact_uri) < 0 ||
	    get_str(&aat, art, "sha256", &x->artifact_sha256) < 0 ||
	    get_str(&aat, art, "signature", &x->artifact_signature) < 0 ||
	    get_i64(&at, j, "seq", 0, &x->seq) < 0 ||
	    get_i64(&at, j, "stage", 0, &stage) < 0 ||
	    get_bool(&at, j, "stage_started", &x->stage_started) < 0 ||
	    get_bool(&at, j, "rolling_back_all", &x->rolling_back_all) < 0 ||
	    get_str(&at, j, "reason", &x->reason) < 0 ||
	    get_i64(&at, j, "created_at", INT64_MIN, &x->created_at) < 0 ||
	    get_i64(&at, j, "finished_at", INT64_MIN, &x->finished_at) < 0 ||
	    get_int(&at, j, "notify_seq", 0, &x->notify_seq) < 0 ||
	    (blockers = get_array(&at, j, "blockers")) == NULL ||
	    (stages = get_array(&at, j, "stages")) == NULL)
		goto fail;
	x->state = (enum exec_state)st;
	x->paused_from = (enum exec_state)pf;
	fs = field(j, "final_state");
	if (json_is_null(fs)) {
		x->final_state = EXEC_QUEUED;
	} else if (get_enum(&at, j, "final_state", exec_state_at,
	               EXEC_SUPERSEDED + 1, &st) < 0) {
		goto fail;
	} else {
		x->final_state = (enum exec_state)st;
	}
	if (json_array_size(blockers) > 0) {
		x->blockers =
		    calloc(json_array_size(blockers), sizeof(*x->blockers));
		if (x->blockers == NULL)
			goto nomem;
		x->nblockers = json_array_size(blockers);
	}
	for (size_t i = 0; i < x->nblockers; i++) {
		char w[64];

		snprintf(w, sizeof(w), "execution.blockers[%zu]", i);
		if (blocker_from_json(json_array_get(blockers, i), w,
		        &x->blockers[i], err) < 0)
			goto fail;
	}
	/* "dry_run": absent in snapshots written before dry runs existed
	 * (false) */
	if (field(j, "dry_run") != NULL &&
	    get_bool(&at, j, "dry_run", &x->dry_run) < 0)
		goto fail;
	if (overrides_from_json(&at, field(j, "overrides"), x) < 0 ||
	    decisions_from_json(&at, field(j, "decisions"), x) < 0)
		goto fail;
	if (json_array_size(stages) > 0) {
		x->stages = calloc(json_array_size(stages), sizeof(*x->stages));
		if (x->stages == NULL)
			goto nomem;
		x->nstages = json_array_size(stages);
	}
	for (size_t i = 0; i < x->nstages; i++) {
		char w[64];

		snprintf(w, sizeof(w), "execution.stages[%zu]", i);
		if (stage_from_json(
		        json_array_get(stages, i), w, &x->stages[i], err) < 0)
			goto fail;
	}
	if (x->nstages > 0 ? (uint64_t)stage >= x->nstages : stage != 0) {
		bad_field(&at, "stage", "the index of one of its stages");
		goto fail;
	}
	x->stage = (size_t)stage;
	return x;
nomem:
	gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
fail:
	exec_free(x);
	return NULL;
}

void
exec_event_release(struct exec_event *ev)
{
	if (ev == NULL)
		return;
	free((void *)ev->target_names);
	free((void *)ev->target_versions);
	free((void *)ev->blockers);
	memset(ev, 0, sizeof(*ev));
}

/* A borrowed string or null member, if present (absent: NULL). */
static int
opt_str(const struct at *at, const json_t *o, const char *key, const char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad_field(at, key, "a string or null");
	*out = json_string_value(v);
	return 0;
}

/* A borrowed string member that must be there. */
static int
req_str(const struct at *at, const json_t *o, const char *key, const char **out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return bad_field(at, key, "a string");
	*out = json_string_value(v);
	return 0;
}

static int
event_targets(const struct at *at, const json_t *j, struct exec_event *ev)
{
	const json_t *t = json_object_get(j, "targets"), *v;
	const char **names, **versions, *key;
	size_t n = 0;

	if (t == NULL)
		return 0;
	if (!json_is_object(t))
		return bad_field(at, "targets", "an object");
	if (json_object_size(t) == 0)
		return 0;
	names = calloc(json_object_size(t), sizeof(*names));
	versions = calloc(json_object_size(t), sizeof(*versions));
	ev->target_names = names;
	ev->target_versions = versions;
	if (names == NULL || versions == NULL)
		return gantry_error_set(
		    at->err, GANTRY_ENOMEM, "out of memory");
	json_object_foreach((json_t *)t, key, v)
	{
		if (!json_is_string(v) && !json_is_null(v))
			return bad_field(at, "targets", "versions or null");
		names[n] = key;
		versions[n] = json_string_value(v);
		n++;
	}
	ev->ntarget_versions = n;
	return 0;
}

static int
event_blockers(const struct at *at, const json_t *j, struct exec_event *ev)
{
	const json_t *a = json_object_get(j, "blockers");
	struct exec_blocker *b;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return bad_field(at, "blockers", "a non-empty array");
	if ((b = calloc(json_array_size(a), sizeof(*b))) == NULL)
		return gantry_error_set(
		    at->err, GANTRY_ENOMEM, "out of memory");
	ev->blockers = b;
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i);
		const char *kind, *reason;
		int64_t until;

		if (!json_is_object(o) || req_str(at, o, "kind", &kind) < 0 ||
		    opt_str(at, o, "reason", &reason) < 0 ||
		    get_i64(at, o, "until", 0, &until) < 0)
			return bad_field(at, "blockers",
			    "[{\"kind\", \"reason\", \"until\"}]");
		/* borrowed from j, like every string of the event */
		b[i].kind = (char *)kind;
		b[i].reason = (char *)reason;
		b[i].until = until;
		if (opt_str(at, o, "id", &kind) < 0)
			return bad_field(at, "blockers", "ids as strings");
		b[i].id = (char *)kind;
	}
	ev->nblockers = json_array_size(a);
	return 0;
}

int
exec_event_from_json(
    const json_t *j, struct exec_event *ev, struct gantry_error *err)
{
	struct at at = {"event", err};
	const char *kind;
	unsigned f;
	int k;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(j))
		return gantry_error_set(
		    err, GANTRY_EINVAL, "event: expected an object");
	if (req_str(&at, j, "kind", &kind) < 0)
		return -1;
	for (k = EV_TRIGGERED; k <= EV_LAST; k++)
		if (strcmp(exec_event_name((enum exec_event_kind)k), kind) == 0)
			break;
	if (!kind_known(k))
		return gantry_error_set(
		    err, GANTRY_EINVAL, "event: unknown kind \"%s\"", kind);
	ev->kind = (enum exec_event_kind)k;
	f = event_fields(ev->kind);
	if (((f & F_STEP) && req_str(&at, j, "step", &ev->step) < 0) ||
	    ((f & F_ATTEMPT) &&
	        get_int(&at, j, "attempt", INT_MIN, &ev->attempt) < 0) ||
	    ((f & F_STATUS) &&
	        get_int(&at, j, "status", INT_MIN, &ev->status) < 0) ||
	    ((f & F_TIMER) && req_str(&at, j, "timer", &ev->timer) < 0) ||
	    ((f & F_ALARM) && req_str(&at, j, "alarm", &ev->alarm) < 0) ||
	    ((f & F_ACTOR) && opt_str(&at, j, "actor", &ev->actor) < 0) ||
	    ((f & F_REASON) && opt_str(&at, j, "reason", &ev->reason) < 0) ||
	    ((f & F_OTHER) &&
	        get_i64(&at, j, "other", INT64_MIN, &ev->other) < 0) ||
	    ((f & F_ARTIFACT) &&
	        (opt_str(&at, j, "artifact_sha256", &ev->artifact_sha256) < 0 ||
	            opt_str(&at, j, "artifact_uri", &ev->artifact_uri) < 0 ||
	            opt_str(&at, j, "artifact_signature",
	                &ev->artifact_signature) < 0)) ||
	    ((f & F_TARGETS) && event_targets(&at, j, ev) < 0) ||
	    ((f & F_BLOCKERS) && event_blockers(&at, j, ev) < 0) ||
	    ((f & F_BLOCKER) &&
	        (req_str(&at, j, "blocker", &ev->blocker) < 0 ||
	            get_i64(&at, j, "expires", INT64_MIN, &ev->expires) < 0))) {
		exec_event_release(ev);
		return -1;
	}
	if (f & F_DETAIL) {
		const json_t *d = json_object_get(j, "detail");

		ev->detail = d != NULL && !json_is_null(d) ? d : NULL;
	}
	return 0;
}
