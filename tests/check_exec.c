/*
 * check_exec.c - unit tests for lib/exec.c and lib/exec_json.c: the
 * execution state machine driven through every transition family by a
 * tiny simulated daemon (it runs the intents: hooks finish, timers fire,
 * stages may start), a randomized run over fixed seeds checking the
 * invariants after every step and replaying the event log, and the JSON
 * of snapshots and events (round trips, malformed input).  The pipeline
 * is built by hand: build, beta (deploy: 2 groups x 3 targets, one-box
 * with bake, batches of 2, bake, tests), integ (test), prod (deploy: not
 * sequential, 50% batches).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "exec.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- the definition -------------------------------------------------------- */

static char *beta1[] = {"a1", "a2", "a3"}, *beta2[] = {"b1", "b2", "b3"};
static char *prod1[] = {"p1", "p2"}, *prod2[] = {"p3", "p4"};
static struct stage_group beta_groups[] = {
    {"eu/az1", beta1, 3}, {"eu/az2", beta2, 3}};
static struct stage_group prod_groups[] = {
    {"us-1", prod1, 2}, {"us-2", prod2, 2}};
static struct pipeline_hook hooks[] = {
    {"deploy", "hooks/deploy", 30000},
    {"rollback", "hooks/rollback", 0},
    {"smoke", "hooks/smoke", 0},
    {"notify", "hooks/notify", 7000},
};
static struct pipeline pipe_def = {.name = "orders",
    .hooks = hooks,
    .nhooks = N(hooks),
    .hook_timeout_ms = 600000};

#define ONE_BOX_BAKE 60000
#define BAKE 120000

static char *beta_alarms[] = {"errors"};
static char *prod_alarms[] = {"errors", "latency"};

static struct stage stages_def[] = {
    {.name = "build", .type = STAGE_BUILD},
    {.name = "beta",
        .type = STAGE_DEPLOY,
        .groups = beta_groups,
        .ngroups = 2,
        .sequential = true,
        .one_box = true,
        .one_box_bake_ms = ONE_BOX_BAKE,
        .batch = 2,
        .bake_ms = BAKE,
        .alarms = beta_alarms,
        .nalarms = 1,
        .tests = "smoke"},
    {.name = "integ",
        .type = STAGE_TEST,
        .command = "integration",
        .timeout_ms = 5000},
    {.name = "prod",
        .type = STAGE_DEPLOY,
        .groups = prod_groups,
        .ngroups = 2,
        .sequential = false,
        .batch_percent = true,
        .batch = 50,
        .alarms = prod_alarms,
        .nalarms = 2,
        .timeout_ms = 90000},
};
static const struct exec_def def = {&pipe_def, stages_def, N(stages_def)};

#define T0 1700000000000LL

/* --- the simulated daemon -------------------------------------------------- */

struct proc {
	char *step;
	int attempt;
	bool killed;
};

struct timer {
	char *name;
	int64_t deadline;
};

struct version {
	char *target;
	char *version; /* NULL: none */
};

struct sim {
	struct exec *x;
	const char *artifact; /* given at trigger, or NULL */
	bool dry_run; /* hooks report no artifact; replay sets the flag */
	int64_t now;
	json_t *log; /* [{"at": ms, "event": {...}}] */
	json_t *trace; /* ["run STEP ATTEMPT", "kill STEP", ...] */
	struct exec_intents last; /* the last step's intents */
	struct proc procs[64];
	size_t nprocs;
	struct timer timers[16];
	size_t ntimers;
	bool waiting;
	struct version vers[16];
	size_t nvers;
	/* harness-level invariants */
	char *prev[8][8]; /* previous of each target once its stage started */
	bool prev_known[8];
	bool bake_fired[8];
	int64_t applied; /* events applied (exec_new counts one) */
};

static char *
xstrdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	ck_assert(s == NULL || d != NULL);
	return d;
}

static const char *
world_version(struct sim *s, const char *target)
{
	for (size_t i = 0; i < s->nvers; i++)
		if (strcmp(s->vers[i].target, target) == 0)
			return s->vers[i].version;
	return NULL;
}

static void
world_set(struct sim *s, const char *target, const char *version)
{
	for (size_t i = 0; i < s->nvers; i++)
		if (strcmp(s->vers[i].target, target) == 0) {
			free(s->vers[i].version);
			s->vers[i].version = xstrdup(version);
			return;
		}
	ck_assert_uint_lt(s->nvers, N(s->vers));
	s->vers[s->nvers].target = xstrdup(target);
	s->vers[s->nvers++].version = xstrdup(version);
}

static void
sim_init(struct sim *s, const char *artifact)
{
	static const char *names[] = {
	    "a1", "a2", "a3", "b1", "b2", "b3", "p1", "p2", "p3"};

	memset(s, 0, sizeof(*s));
	s->now = T0;
	s->artifact = artifact;
	s->x = exec_new(12, &def, "orders", 3, "abc123",
	    artifact ? "s3://a" : NULL, artifact, artifact ? "sig" : NULL,
	    s->now);
	ck_assert_ptr_nonnull(s->x);
	s->log = json_array();
	s->trace = json_array();
	s->waiting = true; /* a new execution waits for its first stage */
	s->applied = 1;
	for (size_t i = 0; i < N(names); i++) { /* p4: never deployed */
		char v[32];

		snprintf(v, sizeof(v), "old-%s", names[i]);
		world_set(s, names[i], v);
	}
}

static void
sim_forget(struct sim *s)
{
	for (size_t i = 0; i < s->nprocs; i++)
		free(s->procs[i].step);
	for (size_t i = 0; i < s->ntimers; i++)
		free(s->timers[i].name);
	s->nprocs = s->ntimers = 0;
	s->waiting = false;
}

static void
sim_free(struct sim *s)
{
	sim_forget(s);
	for (size_t i = 0; i < s->nvers; i++) {
		free(s->vers[i].target);
		free(s->vers[i].version);
	}
	for (size_t i = 0; i < 8; i++)
		for (size_t j = 0; j < 8; j++)
			free(s->prev[i][j]);
	exec_intents_clear(&s->last);
	exec_free(s->x);
	json_decref(s->log);
	json_decref(s->trace);
}

static struct proc *
proc_find(struct sim *s, const char *step)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (strcmp(s->procs[i].step, step) == 0)
			return &s->procs[i];
	return NULL;
}

static void
proc_remove(struct sim *s, struct proc *p)
{
	size_t i = (size_t)(p - s->procs);

	free(p->step);
	memmove(
	    &s->procs[i], &s->procs[i + 1], (s->nprocs - i - 1) * sizeof(*p));
	s->nprocs--;
}

static void
timer_remove(struct sim *s, size_t i)
{
	free(s->timers[i].name);
	memmove(&s->timers[i], &s->timers[i + 1],
	    (s->ntimers - i - 1) * sizeof(s->timers[0]));
	s->ntimers--;
}

static void
tracef(struct sim *s, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(s->trace, json_string(buf));
}

/* Position of line in the trace, or -1. */
static int
traced(struct sim *s, const char *line)
{
	for (size_t i = 0; i < json_array_size(s->trace); i++)
		if (strcmp(json_string_value(json_array_get(s->trace, i)),
		        line) == 0)
			return (int)i;
	return -1;
}

/* Carry out the last step's intents, as the daemon would. */
static void
sim_intents(struct sim *s)
{
	for (size_t i = 0; i < s->last.n; i++) {
		const struct exec_intent *it = &s->last.v[i];
		struct proc *p;

		switch (it->kind) {
		case IN_RUN_HOOK:
			ck_assert_ptr_nonnull(it->step);
			ck_assert_int_ge(it->attempt, 1);
			ck_assert_ptr_nonnull(it->action);
			tracef(s, "run %s %d", it->step, it->attempt);
			if ((p = proc_find(s, it->step)) != NULL) {
				/* a new attempt: the old one is gone */
				ck_assert_int_gt(it->attempt, p->attempt);
				proc_remove(s, p);
			}
			ck_assert_uint_lt(s->nprocs, N(s->procs));
			s->procs[s->nprocs++] = (struct proc){
			    xstrdup(it->step), it->attempt, false};
			break;
		case IN_KILL_HOOK:
			tracef(s, "kill %s", it->step);
			if ((p = proc_find(s, it->step)) != NULL) {
				p->killed = true;
			} else { /* after a restart: a leftover process */
				ck_assert_uint_lt(s->nprocs, N(s->procs));
				s->procs[s->nprocs++] = (struct proc){
				    xstrdup(it->step), it->attempt, true};
			}
			break;
		case IN_ARM_TIMER:
			tracef(s, "arm %s", it->timer);
			for (size_t t = 0; t < s->ntimers; t++)
				if (strcmp(s->timers[t].name, it->timer) == 0)
					timer_remove(s, t--);
			ck_assert_uint_lt(s->ntimers, N(s->timers));
			s->timers[s->ntimers++] =
			    (struct timer){xstrdup(it->timer), it->deadline};
			break;
		case IN_CANCEL_TIMER:
			tracef(s, "cancel %s", it->timer);
			for (size_t t = 0; t < s->ntimers; t++)
				if (strcmp(s->timers[t].name, it->timer) == 0)
					timer_remove(s, t--);
			break;
		case IN_WAIT_STAGE:
			tracef(s, "wait %s", it->stage);
			s->waiting = true;
			break;
		case IN_SET_VERSION:
			tracef(s, "set %s %s", it->target,
			    it->version ? it->version : "-");
			world_set(s, it->target, it->version);
			break;
		case IN_NOTIFY:
			tracef(s, "notify %s", it->reason);
			break;
		case IN_FINISHED:
			tracef(s, "finished %s", exec_state_name(s->x->state));
			break;
		}
	}
}

static json_t *
without_seq(const struct exec *x)
{
	json_t *j = exec_to_json(x);

	ck_assert_ptr_nonnull(j);
	json_object_del(j, "seq");
	return j;
}

/* Harness-level invariants across one step (before: the snapshot). */
static void
sim_check_step(struct sim *s, const json_t *before, enum exec_state was,
    const struct exec_event *ev)
{
	struct exec *x = s->x;
	struct gantry_error err = {0};

	ck_assert_msg(exec_check_invariants(x, &def, &err) == 0, "%s after %s",
	    err.msg, exec_event_name(ev->kind));
	ck_assert_int_eq(x->seq, s->applied);
	/* terminal states absorb everything but rollback of a success */
	if (exec_is_terminal(was) &&
	    !(was == EXEC_SUCCEEDED && ev->kind == EV_ROLLBACK)) {
		json_t *after = exec_to_json(x);

		json_object_set(after, "seq", json_object_get(before, "seq"));
		ck_assert_msg(json_equal(before, after),
		    "a terminal execution changed on %s",
		    exec_event_name(ev->kind));
		ck_assert_uint_eq(s->last.n, 0);
		json_decref(after);
	}
	for (size_t i = 0; i < x->nstages; i++) {
		struct exec_stage *st = &x->stages[i];
		const json_t *bst =
		    json_array_get(json_object_get(before, "stages"), i);
		const char *bstate =
		    json_string_value(json_object_get(bst, "state"));

		/* a stage starts only on stage-may-start */
		if ((strcmp(bstate, "pending") == 0 ||
		        strcmp(bstate, "blocked") == 0) &&
		    st->state != SST_PENDING && st->state != SST_BLOCKED &&
		    st->state != SST_CANCELLED)
			ck_assert_int_eq(ev->kind, EV_STAGE_MAY_START);
		/* previous: recorded at the start, never changed */
		if (st->started_at != 0 && !s->prev_known[i]) {
			s->prev_known[i] = true;
			for (size_t t = 0; t < st->ntargets; t++)
				s->prev[i][t] =
				    xstrdup(st->targets[t].previous);
		} else if (s->prev_known[i]) {
			for (size_t t = 0; t < st->ntargets; t++) {
				const char *a = s->prev[i][t],
				           *b = st->targets[t].previous;

				ck_assert(
				    a == b || (a && b && strcmp(a, b) == 0));
			}
		}
		/* promotion only after the bake timer fired */
		if (st->state == SST_SUCCEEDED &&
		    strcmp(bstate, "succeeded") != 0 &&
		    def.stages[i].bake_ms > 0)
			ck_assert_msg(
			    s->bake_fired[i], "%s promoted unbaked", st->name);
		/* no deploy starts in a stage rolling back */
		if (strcmp(bstate, "rolling_back") == 0 ||
		    st->state == SST_ROLLING_BACK)
			for (size_t t = 0; t < st->ntargets; t++) {
				const json_t *bt = json_array_get(
				    json_object_get(bst, "targets"), t);

				ck_assert_int_eq(st->targets[t].deploy_attempts,
				    json_integer_value(json_object_get(
				        bt, "deploy_attempts")));
			}
	}
	for (size_t i = 0; i < s->last.n; i++) {
		const struct exec_intent *it = &s->last.v[i];

		if (it->kind != IN_RUN_HOOK ||
		    strcmp(it->action, "deploy") != 0)
			continue;
		for (size_t k = 0; k < x->nstages; k++)
			if (strcmp(x->stages[k].name, it->stage) == 0)
				ck_assert_msg(
				    x->stages[k].state == SST_DEPLOYING,
				    "deploy %s while %s", it->step,
				    stage_state_name(x->stages[k].state));
	}
}

/* What exec_write()/exec_event_write() wrote is exactly jansson's
 * compact text for the same values (escapes, key order, separators). */
static void
assert_canonical(const struct exec *x, const struct exec_event *ev)
{
	struct buf b = {0};
	json_t *j;
	char *d;

	if (ev != NULL)
		ck_assert(exec_event_write(&b, ev));
	else
		exec_write(&b, x);
	ck_assert(!buf_failed(&b));
	j = json_loadb(b.s, b.len, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", b.s);
	d = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(b.s, d);
	free(d);
	json_decref(j);
	buf_free(&b);
}

/*
 * Apply ev at s->now: on success log it, run the intents, check every
 * invariant; on failure check that nothing changed.  Returns exec_step's
 * result, with err's code in *code.
 */
static int
sim_step_code(struct sim *s, const struct exec_event *ev, enum gantry_err *code)
{
	struct gantry_error err = {0};
	json_t *full = exec_to_json(s->x);
	enum exec_state was = s->x->state;
	int64_t bake_until[8] = {0};
	int rc;

	for (size_t i = 0; i < s->x->nstages; i++)
		bake_until[i] = s->x->stages[i].bake_until;
	exec_intents_clear(&s->last);
	rc = exec_step(s->x, &def, ev, s->now, &s->last, &err);
	if (code != NULL)
		*code = err.code;
	if (rc < 0) {
		json_t *after = exec_to_json(s->x);

		ck_assert_msg(json_equal(full, after), "failed step changed x");
		ck_assert_uint_eq(s->last.n, 0);
		json_decref(after);
	} else {
		json_t *rec = json_pack("{s:I, s:o}", "at", (json_int_t)s->now,
		    "event", exec_event_to_json(ev));

		ck_assert_ptr_nonnull(rec);
		json_array_append_new(s->log, rec);
		s->applied++;
		if (s->applied % 4 == 0) { /* a sample: the runs are long */
			assert_canonical(s->x, NULL);
			assert_canonical(NULL, ev);
		}
		if (ev->kind == EV_TIMER_FIRED)
			for (size_t i = 0; i < s->x->nstages; i++) {
				char name[64];

				snprintf(name, sizeof(name), "%s:bake",
				    s->x->stages[i].name);
				if (bake_until[i] != 0 &&
				    s->x->stages[i].bake_until == 0 &&
				    strcmp(ev->timer, name) == 0 &&
				    s->now >= bake_until[i])
					s->bake_fired[i] = true;
			}
		if (ev->kind == EV_RESTARTED)
			sim_forget(s);
		if (ev->kind == EV_STAGE_MAY_START)
			s->waiting = false;
		sim_intents(s);
		sim_check_step(s, full, was, ev);
	}
	json_decref(full);
	return rc;
}

static void
sim_step(struct sim *s, const struct exec_event *ev)
{
	struct gantry_error err = {0};

	if (sim_step_code(s, ev, &err.code) < 0)
		ck_abort_msg("%s refused (%d)", exec_event_name(ev->kind),
		    (int)err.code);
}

/* A request the state does not allow: 409, x unchanged. */
static void
sim_conflict(struct sim *s, enum exec_event_kind kind)
{
	struct exec_event ev = {.kind = kind, .actor = "ann", .reason = "r"};
	enum gantry_err code = GANTRY_OK;
	int64_t seq = s->x->seq;

	ck_assert_int_eq(sim_step_code(s, &ev, &code), -1);
	ck_assert_int_eq(code, GANTRY_ECONFLICT);
	ck_assert_int_eq(s->x->seq, seq);
}

static void
sim_request(struct sim *s, enum exec_event_kind kind)
{
	struct exec_event ev = {.kind = kind, .actor = "ann", .reason = "r"};

	sim_step(s, &ev);
}

/* EV_STAGE_MAY_START with the world's version of each target. */
static void
sim_may_start(struct sim *s)
{
	const char *names[16], *versions[16];
	struct exec_event ev = {.kind = EV_STAGE_MAY_START};
	size_t n = 0;

	for (size_t i = 0; i < s->nvers; i++) {
		names[n] = s->vers[i].target;
		versions[n++] = s->vers[i].version;
	}
	ev.target_names = names;
	ev.target_versions = versions;
	ev.ntarget_versions = n;
	sim_step(s, &ev);
}

static void
sim_blocked(struct sim *s, const char *why)
{
	struct exec_blocker b = {
	    "window", (char *)why, s->now + 1000, "window"};
	struct exec_event ev = {
	    .kind = EV_BLOCKED, .blockers = &b, .nblockers = 1};

	sim_step(s, &ev);
}

/* The outcome of a step (status < 0: timed out). */
static void
sim_outcome(struct sim *s, const char *step, int attempt, int status)
{
	struct exec_event ev = {
	    .kind = status < 0 ? EV_HOOK_TIMED_OUT : EV_HOOK_FINISHED,
	    .step = step,
	    .attempt = attempt,
	    .status = status < 0 ? 0 : status};

	if (strcmp(step, "build") == 0 && status == 0 && !s->dry_run) {
		ev.artifact_sha256 = "sha-new";
		ev.artifact_uri = "s3://new";
		ev.artifact_signature = "sig-new";
	}
	sim_step(s, &ev);
}

/* Let the running process of step end with status. */
static void
sim_finish(struct sim *s, const char *step, int status)
{
	struct proc *p = proc_find(s, step);
	char *name;
	int attempt;

	ck_assert_msg(p != NULL, "%s is not running", step);
	name = xstrdup(p->step);
	attempt = p->attempt;
	proc_remove(s, p);
	sim_outcome(s, name, attempt, status);
	free(name);
}

static void
sim_fire(struct sim *s, size_t i)
{
	struct exec_event ev = {.kind = EV_TIMER_FIRED};
	char *name = xstrdup(s->timers[i].name);

	if (s->now < s->timers[i].deadline)
		s->now = s->timers[i].deadline;
	timer_remove(s, i);
	ev.timer = name;
	sim_step(s, &ev);
	free(name);
}

/*
 * One thing the daemon would do next: finish the oldest process (0, or
 * 143 when it was killed), else fire the earliest timer, else start the
 * waiting stage.  false: nothing to do.
 */
static bool
sim_next(struct sim *s)
{
	if (exec_is_terminal(s->x->state))
		return false;
	if (s->nprocs > 0) {
		s->now += 1000;
		sim_finish(s, s->procs[0].step, s->procs[0].killed ? 143 : 0);
		return true;
	}
	if (s->ntimers > 0) {
		size_t best = 0;

		for (size_t i = 1; i < s->ntimers; i++)
			if (s->timers[i].deadline < s->timers[best].deadline)
				best = i;
		sim_fire(s, best);
		return true;
	}
	if (s->waiting && s->x->state != EXEC_PAUSED) {
		s->now += 10;
		sim_may_start(s);
		return true;
	}
	return false;
}

static void
sim_drain(struct sim *s)
{
	for (int i = 0; i < 1000 && sim_next(s); i++)
		;
}

/* Run until step is running (started by an intent). */
static void
sim_until_running(struct sim *s, const char *step)
{
	for (int i = 0; i < 1000 && proc_find(s, step) == NULL; i++)
		ck_assert_msg(sim_next(s), "%s never started", step);
	ck_assert_ptr_nonnull(proc_find(s, step));
}

static const struct exec_stage *
stage_of(const struct exec *x, const char *name)
{
	for (size_t i = 0; i < x->nstages; i++)
		if (strcmp(x->stages[i].name, name) == 0)
			return &x->stages[i];
	ck_abort_msg("no stage %s", name);
	return NULL;
}

static const struct exec_target *
target_of(const struct exec *x, const char *stage, const char *name)
{
	const struct exec_stage *s = stage_of(x, stage);

	for (size_t i = 0; i < s->ntargets; i++)
		if (strcmp(s->targets[i].name, name) == 0)
			return &s->targets[i];
	ck_abort_msg("no target %s:%s", stage, name);
	return NULL;
}

static bool
has_intent(const struct sim *s, enum exec_intent_kind kind, const char *step)
{
	for (size_t i = 0; i < s->last.n; i++)
		if (s->last.v[i].kind == kind &&
		    (step == NULL ||
		        (s->last.v[i].step != NULL &&
		            strcmp(s->last.v[i].step, step) == 0) ||
		        (s->last.v[i].timer != NULL &&
		            strcmp(s->last.v[i].timer, step) == 0)))
			return true;
	return false;
}

/* Replay the log from exec_new through JSON: the same snapshot. */
static void
sim_replay(struct sim *s)
{
	struct exec *y = exec_new(12, &def, "orders", 3, "abc123",
	    s->artifact ? "s3://a" : NULL, s->artifact,
	    s->artifact ? "sig" : NULL, T0);
	json_t *a, *b;
	struct gantry_error err = {0};
	char *text = json_dumps(s->log, 0);
	json_t *log = json_loads(text, 0, NULL);
	struct exec *z;

	ck_assert_ptr_nonnull(y);
	y->dry_run = s->dry_run; /* set at trigger, beside exec_new */

	ck_assert_ptr_nonnull(log);
	free(text);
	for (size_t i = 0; i < json_array_size(log); i++) {
		const json_t *rec = json_array_get(log, i);
		struct exec_event ev;
		struct exec_intents in = {0};
		json_t *again;

		ck_assert_int_eq(exec_event_from_json(
		                     json_object_get(rec, "event"), &ev, &err),
		    0);
		again = exec_event_to_json(&ev);
		ck_assert(json_equal(again, json_object_get(rec, "event")));
		json_decref(again);
		ck_assert_msg(
		    exec_step(y, &def, &ev,
		        json_integer_value(json_object_get(rec, "at")), &in,
		        &err) == 0,
		    "replay %zu: %s", i, err.msg);
		exec_intents_clear(&in);
		exec_event_release(&ev);
	}
	a = exec_to_json(s->x);
	b = exec_to_json(y);
	ck_assert_msg(json_equal(a, b), "replay differs");
	/* and the snapshot round-trips */
	z = exec_from_json(a, &err);
	ck_assert_msg(z != NULL, "%s", err.msg);
	json_decref(b);
	b = exec_to_json(z);
	ck_assert(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	json_decref(log);
	exec_free(y);
	exec_free(z);
}

/* --- layout and names ------------------------------------------------------ */

START_TEST(test_new_layout)
{
	struct sim s;
	const struct exec_stage *beta;
	struct gantry_error err = {0};

	sim_init(&s, NULL);
	ck_assert_int_eq(s.x->state, EXEC_QUEUED);
	ck_assert_int_eq(s.x->seq, 1); /* exec_new applied "triggered" */
	ck_assert_uint_eq(s.x->stage, 0);
	ck_assert(!s.x->stage_started);
	ck_assert_int_eq(s.x->created_at, T0);
	ck_assert_uint_eq(s.x->nstages, 4);
	ck_assert_uint_eq(s.x->stages[0].ntargets, 0);
	ck_assert_uint_eq(s.x->stages[2].ntargets, 0);
	beta = stage_of(s.x, "beta");
	ck_assert_uint_eq(beta->ntargets, 6);
	ck_assert_str_eq(beta->targets[0].name, "a1");
	ck_assert_str_eq(beta->targets[0].group, "eu/az1");
	ck_assert_str_eq(beta->targets[5].name, "b3");
	ck_assert_str_eq(beta->targets[5].group, "eu/az2");
	for (size_t i = 0; i < s.x->nstages; i++)
		ck_assert_int_eq(s.x->stages[i].state, SST_PENDING);
	ck_assert_ptr_null(s.x->artifact_sha256);
	ck_assert_int_eq(exec_check_invariants(s.x, &def, &err), 0);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

START_TEST(test_names)
{
	static const char *xs[] = {"queued", "running", "blocked", "paused",
	    "rolling_back", "rolled_back", "succeeded", "failed", "aborted",
	    "rejected", "superseded"};
	static const char *ss[] = {"pending", "blocked", "deploying", "baking",
	    "testing", "succeeded", "failed", "rolling_back", "rolled_back",
	    "skipped", "cancelled"};
	static const char *ts[] = {"pending", "deploying", "deployed", "failed",
	    "rolling_back", "rolled_back"};
	static const char *es[] = {"triggered", "stage-may-start", "blocked",
	    "hook-finished", "hook-timed-out", "timer-fired", "alarm-fired",
	    "alarm-cleared", "abort", "rollback", "pause", "resume",
	    "superseded", "rejected", "restarted"};

	for (size_t i = 0; i < N(xs); i++) {
		ck_assert_str_eq(exec_state_name((enum exec_state)i), xs[i]);
		ck_assert(exec_is_terminal((enum exec_state)i) ==
		    (i >= EXEC_ROLLED_BACK));
	}
	for (size_t i = 0; i < N(ss); i++)
		ck_assert_str_eq(stage_state_name((enum stage_state)i), ss[i]);
	for (size_t i = 0; i < N(ts); i++)
		ck_assert_str_eq(
		    target_state_name((enum target_state)i), ts[i]);
	for (size_t i = 0; i < N(es); i++)
		ck_assert_str_eq(
		    exec_event_name((enum exec_event_kind)i), es[i]);
	ck_assert_str_eq(exec_state_name((enum exec_state)99), "unknown");
}
END_TEST

/* --- the happy path --------------------------------------------------------- */

/* The order of the trace lines given, each after the one before. */
static void
check_order(struct sim *s, const char *const *lines, size_t n)
{
	int last = -1;

	for (size_t i = 0; i < n; i++) {
		int at = traced(s, lines[i]);

		ck_assert_msg(at >= 0, "never: %s", lines[i]);
		ck_assert_msg(at > last, "out of order: %s", lines[i]);
		last = at;
	}
}

START_TEST(test_happy_path)
{
	static const char *order[] = {
	    "run build 1",
	    "wait beta",
	    "run beta:a1:deploy 1", /* one-box alone */
	    "set a1 sha-new",
	    "arm beta:one-box-bake",
	    "run beta:a2:deploy 1", /* group 1: 2 left, batch 2 */
	    "run beta:a3:deploy 1",
	    "run beta:b1:deploy 1", /* group 2: 3, batches of 2 */
	    "run beta:b2:deploy 1",
	    "run beta:b3:deploy 1",
	    "arm beta:bake",
	    "run beta:tests 1",
	    "wait integ",
	    "run integ:test 1",
	    "wait prod",
	    "run prod:p1:deploy 1", /* not sequential: 50% of 4 = 2 */
	    "run prod:p2:deploy 1",
	    "run prod:p3:deploy 1",
	    "run prod:p4:deploy 1",
	    "finished succeeded",
	};
	struct sim s;

	sim_init(&s, NULL);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	check_order(&s, order, N(order));
	/* a batch starts only when the one before is done */
	ck_assert_int_gt(
	    traced(&s, "run beta:b1:deploy 1"), traced(&s, "set a3 sha-new"));
	ck_assert_int_gt(
	    traced(&s, "run beta:b3:deploy 1"), traced(&s, "set b2 sha-new"));
	ck_assert_int_lt(
	    traced(&s, "run beta:b2:deploy 1"), traced(&s, "set b1 sha-new"));
	ck_assert_int_gt(
	    traced(&s, "run prod:p3:deploy 1"), traced(&s, "set p2 sha-new"));
	ck_assert_str_eq(s.x->artifact_sha256, "sha-new");
	ck_assert_str_eq(s.x->artifact_uri, "s3://new");
	ck_assert_str_eq(s.x->artifact_signature, "sig-new");
	for (size_t i = 0; i < s.x->nstages; i++) {
		ck_assert_int_eq(s.x->stages[i].state, SST_SUCCEEDED);
		for (size_t t = 0; t < s.x->stages[i].ntargets; t++) {
			const struct exec_target *tg =
			    &s.x->stages[i].targets[t];

			ck_assert_int_eq(tg->state, TST_DEPLOYED);
			ck_assert_int_eq(tg->deploy_attempts, 1);
			ck_assert_str_eq(
			    world_version(&s, tg->name), "sha-new");
		}
	}
	ck_assert_int_eq(stage_of(s.x, "beta")->batch, 3);
	ck_assert_int_eq(stage_of(s.x, "prod")->batch, 2);
	ck_assert(stage_of(s.x, "beta")->one_box_done);
	ck_assert_str_eq(target_of(s.x, "beta", "a2")->previous, "old-a2");
	ck_assert_ptr_null(target_of(s.x, "prod", "p4")->previous);
	ck_assert_int_ne(s.x->finished_at, 0);
	/* 1 + build, beta: may-start, 6 deploys, 2 timers, tests; integ:
	 * may-start, test; prod: may-start, 4 deploys */
	ck_assert_int_eq(s.x->seq, 1 + 2 + 10 + 2 + 5);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* Hook intents carry what the hook needs (SPEC.md section 4). */
START_TEST(test_hook_intents)
{
	struct sim s;
	const struct exec_intent *it = NULL;

	sim_init(&s, NULL);
	sim_may_start(&s);
	ck_assert_uint_eq(s.last.n, 1);
	it = &s.last.v[0];
	ck_assert_int_eq(it->kind, IN_RUN_HOOK);
	ck_assert_str_eq(it->step, "build");
	ck_assert_str_eq(it->hook, "build");
	ck_assert_str_eq(it->action, "build");
	ck_assert_int_eq(it->timeout_ms, 600000);
	sim_finish(&s, "build", 0);
	ck_assert(has_intent(&s, IN_WAIT_STAGE, NULL));
	ck_assert_str_eq(s.last.v[0].stage, "beta");
	sim_may_start(&s);
	ck_assert_uint_eq(s.last.n, 1);
	it = &s.last.v[0];
	ck_assert_str_eq(it->step, "beta:a1:deploy");
	ck_assert_int_eq(it->attempt, 1);
	ck_assert_str_eq(it->hook, "deploy");
	ck_assert_str_eq(it->action, "deploy");
	ck_assert_str_eq(it->stage, "beta");
	ck_assert_str_eq(it->group, "eu/az1");
	ck_assert_str_eq(it->target, "a1");
	ck_assert_str_eq(it->version, "sha-new");
	ck_assert_str_eq(it->previous, "old-a1");
	ck_assert_int_eq(it->timeout_ms, 30000); /* the deploy hook's */
	s.now += 5000;
	sim_finish(&s, "beta:a1:deploy", 0);
	ck_assert_uint_eq(s.last.n, 2);
	ck_assert_int_eq(s.last.v[0].kind, IN_SET_VERSION);
	ck_assert_str_eq(s.last.v[0].target, "a1");
	ck_assert_str_eq(s.last.v[0].version, "sha-new");
	ck_assert_int_eq(s.last.v[1].kind, IN_ARM_TIMER);
	ck_assert_str_eq(s.last.v[1].timer, "beta:one-box-bake");
	ck_assert_int_eq(s.last.v[1].deadline, s.now + ONE_BOX_BAKE);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_BAKING);
	sim_until_running(&s, "beta:tests");
	it = &s.last.v[0];
	ck_assert_str_eq(it->step, "beta:tests");
	ck_assert_str_eq(it->hook, "smoke");
	ck_assert_str_eq(it->action, "test");
	ck_assert_int_eq(it->timeout_ms, 600000);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_TESTING);
	sim_until_running(&s, "integ:test");
	ck_assert_str_eq(s.last.v[0].hook, "integration");
	ck_assert_int_eq(s.last.v[0].timeout_ms, 5000);
	sim_until_running(&s, "prod:p1:deploy");
	ck_assert_int_eq(s.last.v[0].timeout_ms, 90000);
	ck_assert_str_eq(s.last.v[0].previous, "old-p1");
	ck_assert_str_eq(s.last.v[0].group, "us-1");
	sim_free(&s);
}
END_TEST

/* Given an artifact at trigger, the build stage is skipped. */
START_TEST(test_artifact_given)
{
	struct sim s;

	sim_init(&s, "sha-given");
	sim_may_start(&s);
	ck_assert_int_eq(s.x->stages[0].state, SST_SKIPPED);
	ck_assert_uint_eq(s.x->stage, 1);
	ck_assert(!s.x->stage_started);
	ck_assert(has_intent(&s, IN_WAIT_STAGE, NULL));
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	ck_assert_int_eq(s.x->stages[0].state, SST_SKIPPED);
	ck_assert_str_eq(world_version(&s, "b3"), "sha-given");
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* A dry run: the build reports no artifact and that is fine, every step
 * runs through the machine, and no target version is ever recorded. */
START_TEST(test_dry_run)
{
	struct sim s;

	sim_init(&s, NULL);
	s.dry_run = s.x->dry_run = true;
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	ck_assert_ptr_null(s.x->artifact_sha256);
	ck_assert_int_eq(s.x->stages[0].state, SST_SUCCEEDED);
	ck_assert_int_ge(traced(&s, "run beta:b3:deploy 1"), 0);
	ck_assert_int_ge(traced(&s, "run prod:p4:deploy 1"), 0);
	ck_assert_int_ge(traced(&s, "arm beta:bake"), 0);
	for (size_t i = 0; i < json_array_size(s.trace); i++)
		ck_assert_msg(
		    strncmp(json_string_value(json_array_get(s.trace, i)),
		        "set ", 4) != 0,
		    "a dry run recorded a version: %s",
		    json_string_value(json_array_get(s.trace, i)));
	ck_assert_str_eq(world_version(&s, "a1"), "old-a1");
	ck_assert_str_eq(target_of(s.x, "beta", "a1")->previous, "old-a1");
	ck_assert_int_eq(target_of(s.x, "prod", "p4")->state, TST_DEPLOYED);
	sim_replay(&s);
	sim_free(&s);

	/* rolled back on abort like any execution: still nothing recorded */
	sim_init(&s, NULL);
	s.dry_run = s.x->dry_run = true;
	sim_until_running(&s, "beta:a2:deploy");
	sim_request(&s, EV_ABORT);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ABORTED);
	ck_assert_int_ge(traced(&s, "run beta:a1:rollback 1"), 0);
	ck_assert_int_lt(traced(&s, "set a1 old-a1"), 0);
	ck_assert_str_eq(world_version(&s, "a1"), "old-a1");
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* dry_run is in the snapshot; a snapshot written before dry runs existed
 * (no key) reads as a real execution; a non-boolean is refused. */
START_TEST(test_dry_run_json)
{
	struct sim s;
	struct gantry_error err = {0};
	struct exec *x;
	json_t *j, *k;

	sim_init(&s, NULL);
	s.dry_run = s.x->dry_run = true;
	sim_until_running(&s, "beta:a1:deploy");
	j = exec_to_json(s.x);
	ck_assert(json_is_true(json_object_get(j, "dry_run")));
	x = exec_from_json(j, &err);
	ck_assert_msg(x != NULL, "%s", err.msg);
	ck_assert(x->dry_run);
	k = exec_to_json(x);
	ck_assert(json_equal(j, k));
	json_decref(k);
	exec_free(x);
	json_object_del(j, "dry_run");
	x = exec_from_json(j, &err);
	ck_assert_msg(x != NULL, "%s", err.msg);
	ck_assert(!x->dry_run);
	exec_free(x);
	json_object_set_new(j, "dry_run", json_string("yes"));
	ck_assert_ptr_null(exec_from_json(j, &err));
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "dry_run"));
	json_decref(j);
	sim_free(&s);
}
END_TEST

/* --- blocking --------------------------------------------------------------- */

START_TEST(test_blocked)
{
	struct sim s;

	sim_init(&s, "sha-given");
	sim_blocked(&s, "window shut");
	ck_assert_int_eq(s.x->state, EXEC_BLOCKED);
	ck_assert_uint_eq(s.x->nblockers, 1);
	ck_assert_str_eq(s.x->blockers[0].kind, "window");
	ck_assert_str_eq(s.x->blockers[0].reason, "window shut");
	ck_assert_int_eq(s.x->stages[0].state, SST_BLOCKED);
	ck_assert(!s.x->stage_started);
	/* becoming blocked is notified, once */
	ck_assert_uint_eq(s.last.n, 1);
	ck_assert_int_eq(s.last.v[0].kind, IN_NOTIFY);
	ck_assert_str_eq(
	    s.last.v[0].reason, "blocked: stage build: window shut");
	/* replaced, not appended */
	sim_blocked(&s, "freeze");
	ck_assert_uint_eq(s.last.n, 0);
	ck_assert_uint_eq(s.x->nblockers, 1);
	ck_assert_str_eq(s.x->blockers[0].reason, "freeze");
	sim_may_start(&s); /* build skipped */
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	ck_assert_uint_eq(s.x->nblockers, 0);
	/* blocked between stages */
	sim_blocked(&s, "hold");
	ck_assert_int_eq(s.x->state, EXEC_BLOCKED);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_BLOCKED);
	/* an outcome or timer while blocked changes nothing */
	sim_outcome(&s, "beta:a1:deploy", 1, 0);
	ck_assert_int_eq(s.x->state, EXEC_BLOCKED);
	sim_may_start(&s);
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_DEPLOYING);
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:a1:deploy"));
	/* blocked / may-start once the stage runs: ignored */
	sim_blocked(&s, "late");
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	ck_assert_uint_eq(s.x->nblockers, 0);
	sim_may_start(&s);
	ck_assert_uint_eq(s.last.n, 0);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* --- failures and rollbacks ------------------------------------------------- */

/*
 * b1 fails while b2 (same batch) runs: b2 is killed and rolled back once
 * its outcome arrives; a1..a3 and b1 roll back at once; b3 never deploys.
 */
START_TEST(test_deploy_failure)
{
	static const char *touched[] = {"a1", "a2", "a3", "b1", "b2"};
	struct sim s;
	const struct exec_target *b3;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:b2:deploy");
	ck_assert_ptr_nonnull(proc_find(&s, "beta:b1:deploy"));
	sim_finish(&s, "beta:b1:deploy", 3);
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	ck_assert_int_eq(s.x->final_state, EXEC_ROLLED_BACK);
	ck_assert_str_eq(
	    s.x->reason, "stage beta: target b1: deploy exit status 3");
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_ROLLING_BACK);
	ck_assert(has_intent(&s, IN_KILL_HOOK, "beta:b2:deploy"));
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:a1:rollback"));
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:b1:rollback"));
	ck_assert(!has_intent(&s, IN_RUN_HOOK, "beta:b2:rollback"));
	ck_assert(has_intent(&s, IN_NOTIFY, NULL));
	ck_assert(target_of(s.x, "beta", "b2")->kill_sent);
	ck_assert(target_of(s.x, "beta", "b2")->hook_running);
	/* the rollback hook gets the old version back */
	for (size_t i = 0; i < s.last.n; i++)
		if (s.last.v[i].kind == IN_RUN_HOOK &&
		    strcmp(s.last.v[i].step, "beta:a2:rollback") == 0) {
			ck_assert_str_eq(s.last.v[i].version, "old-a2");
			ck_assert_str_eq(s.last.v[i].previous, "sha-given");
			ck_assert_str_eq(s.last.v[i].action, "rollback");
			ck_assert_str_eq(s.last.v[i].hook, "rollback");
		}
	/* b2 dies of the kill: now it rolls back */
	sim_finish(&s, "beta:b2:deploy", 143);
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:b2:rollback"));
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ROLLED_BACK);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_ROLLED_BACK);
	for (size_t i = 0; i < N(touched); i++) {
		const struct exec_target *t =
		    target_of(s.x, "beta", touched[i]);
		char old[16];

		snprintf(old, sizeof(old), "old-%s", touched[i]);
		ck_assert_int_eq(t->state, TST_ROLLED_BACK);
		ck_assert_int_eq(t->rollback_attempts, 1);
		ck_assert_str_eq(world_version(&s, touched[i]), old);
	}
	b3 = target_of(s.x, "beta", "b3");
	ck_assert_int_eq(b3->state, TST_PENDING);
	ck_assert(!b3->touched);
	ck_assert_int_eq(b3->deploy_attempts, 0);
	ck_assert_int_lt(traced(&s, "run beta:b3:deploy 1"), 0);
	ck_assert_int_eq(stage_of(s.x, "integ")->state, SST_CANCELLED);
	ck_assert_int_eq(stage_of(s.x, "prod")->state, SST_CANCELLED);
	ck_assert_int_ge(traced(&s, "finished rolled_back"), 0);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* A rollback that fails: FAILED, naming exactly the targets left
 * unknown. */
START_TEST(test_rollback_failure)
{
	struct sim s;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a3:deploy");
	sim_finish(&s, "beta:a3:deploy", -1); /* timed out */
	ck_assert_str_eq(
	    s.x->reason, "stage beta: target a3: deploy timed out");
	ck_assert(has_intent(&s, IN_KILL_HOOK, "beta:a2:deploy"));
	sim_finish(&s, "beta:a1:rollback", 1);
	sim_finish(&s, "beta:a3:rollback", -1);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_FAILED);
	ck_assert_str_eq(s.x->reason,
	    "stage beta: target a3: deploy timed out; rollback failed, in an "
	    "unknown state: beta:a1, beta:a3");
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_FAILED);
	ck_assert_int_eq(target_of(s.x, "beta", "a1")->state, TST_FAILED);
	ck_assert_int_eq(target_of(s.x, "beta", "a2")->state, TST_ROLLED_BACK);
	ck_assert_int_eq(target_of(s.x, "beta", "a3")->state, TST_FAILED);
	ck_assert_int_eq(target_of(s.x, "beta", "b1")->state, TST_PENDING);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* Abort during a batch: running hooks are killed, their rollback waits
 * for their outcome; ends ABORTED. */
START_TEST(test_abort_during_batch)
{
	struct sim s;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a3:deploy");
	sim_request(&s, EV_ABORT);
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	ck_assert_int_eq(s.x->final_state, EXEC_ABORTED);
	ck_assert_str_eq(s.x->reason, "aborted by ann: r");
	ck_assert(has_intent(&s, IN_KILL_HOOK, "beta:a2:deploy"));
	ck_assert(has_intent(&s, IN_KILL_HOOK, "beta:a3:deploy"));
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:a1:rollback"));
	ck_assert(!has_intent(&s, IN_RUN_HOOK, "beta:a2:rollback"));
	ck_assert(!has_intent(&s, IN_RUN_HOOK, "beta:a3:rollback"));
	/* the rollback of a1 ends first: still waiting for a2, a3 */
	sim_finish(&s, "beta:a1:rollback", 0);
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	/* a2 finished (successfully) before the kill reached it */
	sim_finish(&s, "beta:a2:deploy", 0);
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:a2:rollback"));
	ck_assert(!has_intent(&s, IN_SET_VERSION, NULL));
	/* abort again: already stopping */
	sim_conflict(&s, EV_ABORT);
	sim_conflict(&s, EV_PAUSE);
	sim_finish(&s, "beta:a3:deploy", 143);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ABORTED);
	ck_assert_int_eq(target_of(s.x, "beta", "a3")->state, TST_ROLLED_BACK);
	ck_assert_int_eq(target_of(s.x, "beta", "b1")->state, TST_PENDING);
	sim_conflict(&s, EV_ABORT);
	sim_conflict(&s, EV_ROLLBACK);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* Abort while waiting, before anything was deployed: ABORTED at once. */
START_TEST(test_abort_queued)
{
	struct sim s;

	sim_init(&s, NULL);
	sim_request(&s, EV_ABORT);
	ck_assert_int_eq(s.x->state, EXEC_ABORTED);
	ck_assert(has_intent(&s, IN_FINISHED, NULL));
	ck_assert(has_intent(&s, IN_NOTIFY, NULL));
	for (size_t i = 0; i < s.x->nstages; i++)
		ck_assert_int_eq(s.x->stages[i].state, SST_CANCELLED);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* An alarm during the bake rolls the stage back (the timer cancelled);
 * an alarm while waiting between stages is only recorded. */
START_TEST(test_alarm)
{
	struct sim s;
	struct exec_event alarm = {
	    .kind = EV_ALARM_FIRED, .alarm = "errors", .reason = "5xx > 1%"};
	struct exec_event cleared = {
	    .kind = EV_ALARM_CLEARED, .alarm = "errors"};

	sim_init(&s, "sha-given");
	sim_step(&s, &alarm); /* waiting for build: ignored */
	ck_assert_int_eq(s.x->state, EXEC_QUEUED);
	ck_assert_int_eq(s.x->seq, 2);
	sim_until_running(&s, "beta:a1:deploy");
	sim_next(&s);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_BAKING);
	sim_step(&s, &alarm);
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	ck_assert_str_eq(s.x->reason, "alarm errors: 5xx > 1%");
	ck_assert(has_intent(&s, IN_CANCEL_TIMER, "beta:one-box-bake"));
	ck_assert_int_eq(stage_of(s.x, "beta")->bake_until, 0);
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:a1:rollback"));
	sim_step(&s, &alarm); /* already rolling back */
	sim_step(&s, &cleared);
	ck_assert_uint_eq(s.last.n, 0);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ROLLED_BACK);
	ck_assert_int_eq(s.ntimers, 0);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* A failing build: FAILED, nothing to roll back.  A failing test stage:
 * FAILED, the deployed beta stays (not rolled back automatically). */
START_TEST(test_build_and_test_failures)
{
	struct sim s;

	sim_init(&s, NULL);
	sim_until_running(&s, "build");
	sim_finish(&s, "build", 2);
	ck_assert_int_eq(s.x->state, EXEC_FAILED);
	ck_assert_str_eq(
	    s.x->reason, "build stage build failed: exit status 2");
	ck_assert_int_eq(s.x->stages[0].state, SST_FAILED);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_CANCELLED);
	ck_assert(has_intent(&s, IN_FINISHED, NULL));
	sim_replay(&s);
	sim_free(&s);

	/* a build that reports no artifact did not build */
	sim_init(&s, NULL);
	sim_until_running(&s, "build");
	{
		struct exec_event ev = {.kind = EV_HOOK_FINISHED,
		    .step = "build",
		    .attempt = 1,
		    .status = 0};

		sim_step(&s, &ev);
	}
	ck_assert_int_eq(s.x->state, EXEC_FAILED);
	ck_assert_str_eq(
	    s.x->reason, "build stage build failed: no artifact reported");
	sim_free(&s);

	sim_init(&s, "sha-given");
	sim_until_running(&s, "integ:test");
	sim_finish(&s, "integ:test", 1);
	ck_assert_int_eq(s.x->state, EXEC_FAILED);
	ck_assert_str_eq(s.x->reason, "test stage integ failed: exit status 1");
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_SUCCEEDED);
	ck_assert_int_eq(stage_of(s.x, "integ")->state, SST_FAILED);
	ck_assert_int_eq(stage_of(s.x, "prod")->state, SST_CANCELLED);
	ck_assert_str_eq(world_version(&s, "a1"), "sha-given");
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* A failing tests hook of a deploy stage rolls that stage back. */
START_TEST(test_stage_tests_failure)
{
	struct sim s;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:tests");
	sim_finish(&s, "beta:tests", 1);
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	ck_assert_str_eq(
	    s.x->reason, "stage beta: tests failed: exit status 1");
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ROLLED_BACK);
	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(
		    stage_of(s.x, "beta")->targets[i].state, TST_ROLLED_BACK);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* Rollback while running prod: prod's in-flight batch, then beta. */
START_TEST(test_rollback_running)
{
	struct sim s;
	int prod_done, beta_first;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "prod:p2:deploy");
	sim_request(&s, EV_ROLLBACK);
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	ck_assert(s.x->rolling_back_all);
	ck_assert(has_intent(&s, IN_KILL_HOOK, "prod:p1:deploy"));
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_SUCCEEDED);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ROLLED_BACK);
	ck_assert_int_eq(stage_of(s.x, "prod")->state, SST_ROLLED_BACK);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_ROLLED_BACK);
	ck_assert_int_eq(stage_of(s.x, "integ")->state, SST_SUCCEEDED);
	prod_done = traced(&s, "set p2 old-p2");
	beta_first = traced(&s, "run beta:a1:rollback 1");
	ck_assert_int_ge(prod_done, 0);
	ck_assert_int_gt(beta_first, prod_done);
	ck_assert_int_eq(target_of(s.x, "prod", "p3")->state, TST_PENDING);
	ck_assert_str_eq(world_version(&s, "b3"), "old-b3");
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* Rollback of a succeeded execution: the one way out of a terminal
 * state; every deployed stage in reverse order, no bakes, no tests. */
START_TEST(test_rollback_succeeded)
{
	struct sim s;

	sim_init(&s, NULL);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	json_array_clear(s.trace);
	sim_request(&s, EV_ROLLBACK);
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	ck_assert_int_eq(s.x->finished_at, 0);
	ck_assert_int_eq(stage_of(s.x, "prod")->state, SST_ROLLING_BACK);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_SUCCEEDED);
	ck_assert(has_intent(&s, IN_RUN_HOOK, "prod:p4:rollback"));
	for (size_t i = 0; i < s.last.n; i++)
		if (s.last.v[i].kind == IN_RUN_HOOK &&
		    strcmp(s.last.v[i].step, "prod:p4:rollback") == 0)
			ck_assert_ptr_null(s.last.v[i].version); /* none */
	sim_conflict(&s, EV_ROLLBACK); /* already everything */
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ROLLED_BACK);
	ck_assert_int_lt(traced(&s, "arm beta:bake"), 0);
	ck_assert_int_lt(traced(&s, "run beta:tests 2"), 0);
	ck_assert_int_gt(traced(&s, "run beta:a1:rollback 1"),
	    traced(&s, "run prod:p1:rollback 1"));
	ck_assert_int_eq(stage_of(s.x, "build")->state, SST_SUCCEEDED);
	ck_assert_str_eq(world_version(&s, "a1"), "old-a1");
	ck_assert_ptr_null(world_version(&s, "p4"));
	sim_conflict(&s, EV_ROLLBACK); /* rolled back: terminal */
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* --- pause and resume ------------------------------------------------------- */

START_TEST(test_pause_resume)
{
	struct sim s;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a3:deploy");
	sim_request(&s, EV_PAUSE);
	ck_assert_int_eq(s.x->state, EXEC_PAUSED);
	ck_assert_int_eq(s.x->paused_from, EXEC_RUNNING);
	ck_assert(s.x->pause_requested);
	sim_conflict(&s, EV_PAUSE);
	/* running hooks go on; no new batch starts */
	sim_finish(&s, "beta:a2:deploy", 0);
	sim_finish(&s, "beta:a3:deploy", 0);
	ck_assert(has_intent(&s, IN_SET_VERSION, NULL));
	ck_assert(!has_intent(&s, IN_RUN_HOOK, NULL));
	ck_assert_uint_eq(s.nprocs, 0);
	sim_request(&s, EV_RESUME);
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:b1:deploy"));
	sim_conflict(&s, EV_RESUME);
	/* a timer firing while paused is remembered */
	sim_until_running(&s, "beta:b3:deploy");
	sim_next(&s);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_BAKING);
	sim_request(&s, EV_PAUSE);
	sim_next(&s); /* the bake timer */
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_BAKING);
	ck_assert_int_eq(stage_of(s.x, "beta")->bake_until, 0);
	ck_assert_uint_eq(s.last.n, 0);
	s.now += 3600000;
	sim_request(&s, EV_RESUME);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_TESTING);
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:tests"));
	/* paused while waiting: may-start starts nothing, resume asks */
	sim_next(&s);
	ck_assert(s.waiting);
	sim_request(&s, EV_PAUSE);
	sim_blocked(&s, "hold");
	ck_assert_int_eq(s.x->paused_from, EXEC_BLOCKED);
	sim_may_start(&s);
	ck_assert_int_eq(s.x->state, EXEC_PAUSED);
	ck_assert_int_eq(s.x->paused_from, EXEC_RUNNING);
	ck_assert(!s.x->stage_started);
	ck_assert_uint_eq(s.last.n, 0);
	sim_request(&s, EV_RESUME);
	ck_assert(has_intent(&s, IN_WAIT_STAGE, NULL));
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* A failure while paused still rolls back at once. */
START_TEST(test_pause_failure)
{
	struct sim s;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a3:deploy");
	sim_request(&s, EV_PAUSE);
	sim_finish(&s, "beta:a2:deploy", 9);
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	ck_assert(!s.x->pause_requested);
	sim_conflict(&s, EV_RESUME);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ROLLED_BACK);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* --- supersede, reject, conflicts ------------------------------------------- */

START_TEST(test_supersede_reject)
{
	struct sim s;
	struct exec_event sup = {.kind = EV_SUPERSEDED, .other = 13};
	struct exec_event rej = {.kind = EV_REJECTED, .reason = "bad sig"};
	enum gantry_err code;

	sim_init(&s, NULL);
	sim_step(&s, &sup);
	ck_assert_int_eq(s.x->state, EXEC_SUPERSEDED);
	ck_assert_str_eq(s.x->reason, "superseded by execution 13");
	ck_assert(has_intent(&s, IN_FINISHED, NULL));
	sim_replay(&s);
	sim_free(&s);

	sim_init(&s, NULL);
	sim_blocked(&s, "window");
	sim_step(&s, &rej);
	ck_assert_int_eq(s.x->state, EXEC_REJECTED);
	ck_assert_str_eq(s.x->reason, "rejected: bad sig");
	ck_assert_uint_eq(s.x->nblockers, 0);
	sim_free(&s);

	/* the review gate: after the build, before any deploy */
	sim_init(&s, NULL);
	sim_until_running(&s, "build");
	sim_next(&s); /* the build finishes; beta waits */
	ck_assert(!s.x->stage_started);
	ck_assert_uint_eq(s.x->stage, 1);
	sim_step(&s, &rej);
	ck_assert_int_eq(s.x->state, EXEC_REJECTED);
	ck_assert_int_eq(stage_of(s.x, "build")->state, SST_SUCCEEDED);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_CANCELLED);
	sim_replay(&s);
	sim_free(&s);

	/* after a stage started: 409, unchanged */
	sim_init(&s, NULL);
	sim_may_start(&s);
	ck_assert_int_eq(sim_step_code(&s, &sup, &code), -1);
	ck_assert_int_eq(code, GANTRY_ECONFLICT);
	ck_assert_int_eq(sim_step_code(&s, &rej, &code), -1);
	ck_assert_int_eq(code, GANTRY_ECONFLICT);
	ck_assert_int_eq(s.x->seq, 2);
	sim_free(&s);
}
END_TEST

START_TEST(test_conflicts)
{
	struct sim s;

	sim_init(&s, "sha-given");
	sim_conflict(&s, EV_RESUME);
	sim_request(&s, EV_PAUSE); /* queued can pause */
	ck_assert_int_eq(s.x->paused_from, EXEC_QUEUED);
	sim_conflict(&s, EV_PAUSE);
	sim_request(&s, EV_RESUME);
	ck_assert_int_eq(s.x->state, EXEC_QUEUED);
	ck_assert(has_intent(&s, IN_WAIT_STAGE, NULL));
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	sim_conflict(&s, EV_ABORT);
	sim_conflict(&s, EV_PAUSE);
	sim_conflict(&s, EV_RESUME);
	{
		struct exec_event sup = {.kind = EV_SUPERSEDED, .other = 1};
		enum gantry_err code;

		ck_assert_int_eq(sim_step_code(&s, &sup, &code), -1);
		ck_assert_int_eq(code, GANTRY_ECONFLICT);
	}
	/* other events on a terminal execution: recorded, ignored */
	sim_request(&s, EV_RESTARTED);
	ck_assert_uint_eq(s.last.n, 0);
	sim_may_start(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* Malformed events and a definition that does not fit: EINVAL. */
START_TEST(test_einval)
{
	struct sim s;
	struct gantry_error err = {0};
	struct exec_intents in = {0};
	struct exec_event trig = {.kind = EV_TRIGGERED};
	struct exec_event nostep = {.kind = EV_HOOK_FINISHED};
	struct exec_event notimer = {.kind = EV_TIMER_FIRED};
	struct exec_event noblock = {.kind = EV_BLOCKED};
	struct exec_event bad = {.kind = (enum exec_event_kind)77};
	struct exec_def other = {&pipe_def, stages_def, 2};

	sim_init(&s, NULL);
	ck_assert_int_eq(exec_step(s.x, &def, &trig, T0, &in, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_int_eq(exec_step(s.x, &def, &nostep, T0, &in, &err), -1);
	ck_assert_int_eq(exec_step(s.x, &def, &notimer, T0, &in, &err), -1);
	ck_assert_int_eq(exec_step(s.x, &def, &noblock, T0, &in, &err), -1);
	ck_assert_int_eq(exec_step(s.x, &def, &bad, T0, &in, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_int_eq(exec_step(s.x, &other, &nostep, T0, &in, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_int_eq(exec_check_invariants(s.x, &other, &err), -1);
	ck_assert_int_eq(s.x->seq, 1);
	ck_assert_uint_eq(in.n, 0);
	sim_free(&s);
}
END_TEST

/* --- stale outcomes and restarts -------------------------------------------- */

START_TEST(test_stale_outcomes)
{
	struct sim s;
	json_t *before, *after;
	int64_t seq;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a3:deploy");
	before = without_seq(s.x);
	seq = s.x->seq;
	sim_outcome(&s, "beta:a2:deploy", 2, 1); /* a future attempt */
	sim_outcome(&s, "beta:a2:deploy", 0, 1); /* an older one */
	sim_outcome(&s, "beta:a1:deploy", 1, 1); /* done already */
	sim_outcome(&s, "beta:a2:rollback", 1, 1); /* not running */
	sim_outcome(&s, "beta:zz:deploy", 1, 1); /* no such target */
	sim_outcome(&s, "nope", 1, 1);
	sim_outcome(&s, "beta:tests", 1, 1);
	sim_outcome(&s, "build", 1, 1);
	{
		struct exec_event t = {
		    .kind = EV_TIMER_FIRED, .timer = "beta:bake"};

		sim_step(&s, &t);
	}
	after = without_seq(s.x);
	ck_assert(json_equal(before, after));
	ck_assert_int_eq(s.x->seq, seq + 9);
	json_decref(before);
	json_decref(after);
	/* the real outcome counts once: a duplicate is ignored */
	sim_outcome(&s, "beta:a2:deploy", 1, 0);
	ck_assert_int_eq(target_of(s.x, "beta", "a2")->state, TST_DEPLOYED);
	sim_outcome(&s, "beta:a2:deploy", 1, 1);
	ck_assert_int_eq(target_of(s.x, "beta", "a2")->state, TST_DEPLOYED);
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	proc_remove(&s, proc_find(&s, "beta:a2:deploy"));
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* An early timer is armed again for its deadline. */
START_TEST(test_early_timer)
{
	struct sim s;
	struct exec_event t = {
	    .kind = EV_TIMER_FIRED, .timer = "beta:one-box-bake"};
	int64_t deadline;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a1:deploy");
	sim_next(&s);
	deadline = stage_of(s.x, "beta")->bake_until;
	ck_assert_int_ne(deadline, 0);
	s.now = deadline - 1;
	sim_step(&s, &t);
	ck_assert_int_eq(stage_of(s.x, "beta")->bake_until, deadline);
	ck_assert(has_intent(&s, IN_ARM_TIMER, "beta:one-box-bake"));
	ck_assert_int_eq(s.last.v[0].deadline, deadline);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

START_TEST(test_restart)
{
	struct sim s;
	int64_t deadline;

	/* during a batch: re-run with attempt + 1 */
	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a3:deploy");
	sim_request(&s, EV_RESTARTED);
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:a2:deploy"));
	ck_assert_int_eq(target_of(s.x, "beta", "a2")->deploy_attempts, 2);
	ck_assert_int_eq(proc_find(&s, "beta:a2:deploy")->attempt, 2);
	ck_assert_int_eq(s.last.n, 2);
	/* the first attempt's outcome is ignored */
	sim_outcome(&s, "beta:a2:deploy", 1, 1);
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	ck_assert_int_eq(target_of(s.x, "beta", "a2")->state, TST_DEPLOYING);
	/* while baking: the timer again, same deadline */
	sim_until_running(&s, "beta:b3:deploy");
	sim_next(&s);
	deadline = stage_of(s.x, "beta")->bake_until;
	sim_request(&s, EV_RESTARTED);
	ck_assert_uint_eq(s.last.n, 1);
	ck_assert_int_eq(s.last.v[0].kind, IN_ARM_TIMER);
	ck_assert_str_eq(s.last.v[0].timer, "beta:bake");
	ck_assert_int_eq(s.last.v[0].deadline, deadline);
	/* while waiting: ask for the stage again */
	sim_until_running(&s, "beta:tests");
	sim_next(&s);
	ck_assert(s.waiting);
	sim_request(&s, EV_RESTARTED);
	ck_assert_uint_eq(s.last.n, 1);
	ck_assert_int_eq(s.last.v[0].kind, IN_WAIT_STAGE);
	ck_assert_str_eq(s.last.v[0].stage, "integ");
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	ck_assert_int_eq(stage_of(s.x, "beta")->test_attempts, 1);
	sim_replay(&s);
	sim_free(&s);

	/* during a rollback: killed hooks are killed again */
	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a3:deploy");
	sim_request(&s, EV_ABORT);
	sim_request(&s, EV_RESTARTED);
	ck_assert(has_intent(&s, IN_KILL_HOOK, "beta:a2:deploy"));
	ck_assert(has_intent(&s, IN_RUN_HOOK, "beta:a1:rollback"));
	ck_assert_int_eq(target_of(s.x, "beta", "a1")->rollback_attempts, 2);
	ck_assert_int_eq(target_of(s.x, "beta", "a2")->deploy_attempts, 1);
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ABORTED);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* --- randomized --------------------------------------------------------------*/

static uint64_t
rnd(uint64_t *st)
{
	uint64_t x = *st;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

static unsigned
pick(uint64_t *st, unsigned n)
{
	return (unsigned)(rnd(st) % n);
}

/* One random thing happening to the execution. */
static void
random_event(struct sim *s, uint64_t *r, unsigned fail_pct, bool calm)
{
	static const char *garbage[] = {"beta:a1:deploy", "beta:b3:rollback",
	    "prod:p1:deploy", "integ:test", "build", "beta:tests", "x:y:z", "",
	    "beta:", "beta:a1:", "prod:tests"};
	static const enum exec_event_kind requests[] = {EV_ABORT, EV_ROLLBACK,
	    EV_PAUSE, EV_RESUME, EV_SUPERSEDED, EV_REJECTED};
	unsigned what = pick(r, 100);

	s->now += pick(r, 5000);
	if (what < 45 && s->nprocs > 0) {
		struct proc *p = &s->procs[pick(r, (unsigned)s->nprocs)];
		int status = 0;
		unsigned roll = pick(r, 100);

		if (p->killed)
			status = roll < 80 ? 143 : 0;
		else if (roll < fail_pct)
			status = pick(r, 2) ? -1 : 1 + (int)pick(r, 3);
		sim_finish(s, p->step, status);
	} else if (what < 60 && s->ntimers > 0) {
		size_t i = pick(r, (unsigned)s->ntimers);

		if (pick(r, 5) == 0) { /* early: armed again */
			struct exec_event ev = {
			    .kind = EV_TIMER_FIRED, .timer = s->timers[i].name};

			sim_step(s, &ev);
		} else {
			sim_fire(s, i);
		}
	} else if (what < 72 && s->waiting) {
		if (pick(r, 4) == 0)
			sim_blocked(s, "window");
		else
			sim_may_start(s);
	} else if (what < 78) {
		struct exec_event ev = {
		    .kind = pick(r, 2) ? EV_HOOK_FINISHED : EV_HOOK_TIMED_OUT,
		    .step = garbage[pick(r, N(garbage))],
		    .attempt = (int)pick(r, 4),
		    .status = (int)pick(r, 3)};

		sim_step(s, &ev);
	} else if (what < 82 && !calm) {
		struct exec_event ev = {
		    .kind = pick(r, 3) ? EV_ALARM_FIRED : EV_ALARM_CLEARED,
		    .alarm = "errors",
		    .reason = "high"};

		sim_step(s, &ev);
	} else if (what < 86) {
		struct exec_event ev = {.kind = EV_RESTARTED};

		sim_step(s, &ev);
	} else if (what < 88) {
		struct exec_event ev = {
		    .kind = EV_TIMER_FIRED, .timer = garbage[pick(r, 3)]};

		sim_step(s, &ev);
	} else {
		enum exec_event_kind k = requests[pick(r, N(requests))];
		struct exec_event ev = {.kind = k,
		    .actor = "rnd",
		    .reason = "because",
		    .other = 99};
		enum gantry_err code = GANTRY_OK;

		/* aborts and rollbacks are rarer than pause/resume */
		if ((k == EV_ABORT || k == EV_ROLLBACK || k == EV_SUPERSEDED ||
		        k == EV_REJECTED) &&
		    (calm || pick(r, 3) != 0))
			k = EV_PAUSE + pick(r, 2), ev.kind = k;
		if (sim_step_code(s, &ev, &code) < 0)
			ck_assert_int_eq(code, GANTRY_ECONFLICT);
	}
}

START_TEST(test_randomized)
{
	unsigned outcomes[EXEC_SUPERSEDED + 1] = {0};
	/* GANTRY_EXEC_SEEDS lowers the count for slow runs (valgrind). */
	const char *env = getenv("GANTRY_EXEC_SEEDS");
	uint64_t seeds = env && atoi(env) > 0 ? (uint64_t)atoi(env) : 200;

	for (uint64_t seed = 1; seed <= seeds; seed++) {
		uint64_t r = seed * 0x9E3779B97F4A7C15ULL;
		struct sim s;
		/* calm seeds: no alarms, aborts, rollbacks or failures, so
		 * that some runs get all the way through */
		bool calm = seed % 4 == 0;
		unsigned fail_pct = (unsigned[]){0, 2, 5, 15}[seed % 4];

		sim_init(&s, seed % 3 == 0 ? "sha-given" : NULL);
		for (int i = 0; i < 300; i++)
			random_event(&s, &r, fail_pct, calm);
		/* then let it finish: nothing is ever stuck */
		for (int i = 0; i < 2000 && !exec_is_terminal(s.x->state);
		     i++) {
			if (s.x->state == EXEC_PAUSED) {
				sim_request(&s, EV_RESUME);
				continue;
			}
			ck_assert_msg(sim_next(&s),
			    "seed %llu: stuck %s at stage %zu",
			    (unsigned long long)seed,
			    exec_state_name(s.x->state), s.x->stage);
		}
		ck_assert_msg(exec_is_terminal(s.x->state), "seed %llu",
		    (unsigned long long)seed);
		ck_assert_uint_eq(s.nprocs, 0);
		outcomes[s.x->state]++;
		sim_replay(&s);
		sim_free(&s);
	}
	/* the seeds reach the interesting ends */
	if (seeds < 200)
		return; /* too few seeds to promise every ending */
	ck_assert_uint_gt(outcomes[EXEC_SUCCEEDED], 0);
	ck_assert_uint_gt(outcomes[EXEC_ROLLED_BACK], 0);
	ck_assert_uint_gt(outcomes[EXEC_ABORTED], 0);
	ck_assert_uint_gt(outcomes[EXEC_FAILED], 0);
}
END_TEST

/* An alarm matters only for stages that list it; one guarding a stage
 * that already succeeded rolls back every deployed stage, and the
 * decision keeps the datapoints it was made on. */
START_TEST(test_alarm_scope)
{
	struct sim s;
	json_t *detail = json_pack(
	    "{s:s, s:[f, f]}", "rule", "above 0.01", "datapoints", 0.02, 0.03);
	struct exec_event latency = {
	    .kind = EV_ALARM_FIRED, .alarm = "latency", .reason = "p99 2s"};
	struct exec_event errors = {.kind = EV_ALARM_FIRED,
	    .alarm = "errors",
	    .reason = "0.03 > 0.01",
	    .detail = detail};

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a1:deploy");
	sim_next(&s);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_BAKING);
	sim_step(&s, &latency); /* beta does not watch latency */
	ck_assert_int_eq(s.x->state, EXEC_RUNNING);
	ck_assert_uint_eq(s.x->ndecisions, 0);
	sim_until_running(&s, "integ:test");
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_SUCCEEDED);
	ck_assert_uint_eq(s.x->ndecisions, 2); /* both bakes passed */
	ck_assert_str_eq(s.x->decisions[0].kind, "bake_passed");
	sim_step(&s, &errors); /* beta watches errors until the end */
	ck_assert_int_eq(s.x->state, EXEC_ROLLING_BACK);
	ck_assert(s.x->rolling_back_all);
	ck_assert_uint_eq(s.x->ndecisions, 3);
	ck_assert_str_eq(s.x->decisions[2].kind, "alarm");
	ck_assert_str_eq(s.x->decisions[2].subject, "errors");
	ck_assert_str_eq(s.x->decisions[2].stage, "beta");
	ck_assert(json_equal(s.x->decisions[2].detail, detail));
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_ROLLED_BACK);
	ck_assert_int_eq(stage_of(s.x, "beta")->state, SST_ROLLED_BACK);
	ck_assert_str_eq(target_of(s.x, "beta", "a1")->previous, "old-a1");
	sim_replay(&s);
	sim_free(&s);
	json_decref(detail);
}
END_TEST

/* An override names one blocker of the waiting stage, expires, is
 * notified and recorded, and is used up by the stage start. */
START_TEST(test_override)
{
	struct sim s;
	struct exec_blocker b[2] = {
	    {"alarm", "errors: 0.03 > 0.01", 0, "alarm:errors"},
	    {"queue", "waiting behind 4", 0, NULL}};
	struct exec_event blocked = {
	    .kind = EV_BLOCKED, .blockers = b, .nblockers = 2};
	struct exec_event ov = {.kind = EV_OVERRIDE,
	    .blocker = "alarm:nope",
	    .actor = "token:oncall",
	    .reason = "known noisy"};
	enum gantry_err code;

	sim_init(&s, "sha-given");
	sim_step(&s, &blocked);
	ck_assert_int_eq(s.x->state, EXEC_BLOCKED);
	ov.expires = s.now + 60000;
	ck_assert_int_eq(sim_step_code(&s, &ov, &code), -1); /* no such */
	ck_assert_int_eq(code, GANTRY_ECONFLICT);
	ov.blocker = "alarm:errors";
	ov.expires = s.now; /* already expired */
	ck_assert_int_eq(sim_step_code(&s, &ov, &code), -1);
	ck_assert_int_eq(code, GANTRY_ECONFLICT);
	ov.expires = s.now + 60000;
	sim_step(&s, &ov);
	ck_assert_uint_eq(s.x->noverrides, 1);
	ck_assert_str_eq(s.x->overrides[0].stage, "build");
	ck_assert_str_eq(s.x->overrides[0].actor, "token:oncall");
	ck_assert(!s.x->overrides[0].used);
	/* matching: this stage, this blocker, until it expires */
	ck_assert_ptr_eq(
	    exec_override_active(s.x, "build", "alarm:errors", s.now + 59999),
	    &s.x->overrides[0]);
	ck_assert_ptr_null(
	    exec_override_active(s.x, "build", "alarm:errors", s.now + 60000));
	ck_assert_ptr_null(
	    exec_override_active(s.x, "beta", "alarm:errors", s.now));
	ck_assert_ptr_null(exec_override_active(s.x, "build", "window", s.now));
	ck_assert(has_intent(&s, IN_NOTIFY, NULL));
	ck_assert_str_eq(s.x->decisions[0].kind, "override");
	ck_assert_int_eq(s.x->state, EXEC_BLOCKED); /* the daemon decides */
	sim_may_start(&s);
	ck_assert(s.x->overrides[0].used);
	ck_assert_ptr_null(
	    exec_override_active(s.x, "build", "alarm:errors", s.now));
	sim_drain(&s);
	ck_assert_int_eq(s.x->state, EXEC_SUCCEEDED);
	sim_replay(&s);
	sim_free(&s);
}
END_TEST

/* --- JSON --------------------------------------------------------------------*/

START_TEST(test_json_shape)
{
	struct sim s;
	json_t *j, *st, *t;
	const char *keys[] = {"id", "pipeline", "pipeline_version", "revision",
	    "state", "paused_from", "pause_requested", "artifact", "seq",
	    "stage", "stage_started", "rolling_back_all", "final_state",
	    "reason", "created_at", "finished_at", "notify_seq", "dry_run",
	    "blockers", "overrides", "decisions", "stages"};
	const char *key;
	json_t *v;
	size_t i = 0;

	sim_init(&s, "sha-given");
	sim_until_running(&s, "beta:a1:deploy");
	j = exec_to_json(s.x);
	json_object_foreach(j, key, v)
	{
		ck_assert_uint_lt(i, N(keys));
		ck_assert_str_eq(key, keys[i++]);
	}
	ck_assert_uint_eq(i, N(keys));
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "state")), "running");
	ck_assert(json_is_null(json_object_get(j, "final_state")));
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(j, "artifact"), "sha256")),
	    "sha-given");
	st = json_array_get(json_object_get(j, "stages"), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(st, "name")), "beta");
	ck_assert_str_eq(
	    json_string_value(json_object_get(st, "state")), "deploying");
	t = json_array_get(json_object_get(st, "targets"), 0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(t, "group")), "eu/az1");
	ck_assert_str_eq(
	    json_string_value(json_object_get(t, "previous")), "old-a1");
	ck_assert(json_is_true(json_object_get(t, "hook_running")));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(t, "started_at")), s.now);
	json_decref(j);
	sim_free(&s);
	{
		/* A new execution's text starts {"id":0, : the trigger
		 * statement splices the id it draws in there. */
		struct exec *z = exec_new(
		    0, &def, "orders", 3, "abc123", NULL, NULL, NULL, T0);
		struct buf b = {0};

		ck_assert_ptr_nonnull(z);
		exec_write(&b, z);
		ck_assert(!buf_failed(&b));
		ck_assert_int_eq(
		    strncmp(b.s, "{\"id\":0,\"pipeline\":", 19), 0);
		buf_free(&b);
		exec_free(z);
	}
}
END_TEST

/* Every key deleted, or given the wrong type: rejected with an error. */
static void
mutate_all(json_t *root, json_t *node)
{
	const char *key;
	json_t *v;

	if (json_is_array(node)) {
		for (size_t i = 0; i < json_array_size(node); i++)
			mutate_all(root, json_array_get(node, i));
		return;
	}
	if (!json_is_object(node))
		return;
	char *keys[32];
	size_t n = 0;

	json_object_foreach(node, key, v)
	{
		ck_assert_uint_lt(n, N(keys));
		keys[n++] = strdup(key);
	}
	for (size_t i = 0; i < n; i++) {
		char *k = keys[i];
		json_t *keep = json_incref(json_object_get(node, k));
		struct gantry_error err = {0};
		struct exec *x;
		/* keys snapshots written before them lack */
		bool optional = strcmp(k, "overrides") == 0 ||
		    strcmp(k, "dry_run") == 0 || strcmp(k, "decisions") == 0 ||
		    strcmp(k, "detail") == 0 ||
		    (node != root && strcmp(k, "id") == 0);

		ck_assert_ptr_nonnull(k);
		json_object_del(node, k);
		x = exec_from_json(root, &err);
		if (optional) {
			ck_assert_msg(
			    x != NULL, "refused without %s: %s", k, err.msg);
			exec_free(x);
			x = NULL;
		}
		ck_assert_msg(optional || x == NULL, "accepted without %s", k);
		ck_assert(optional || err.code == GANTRY_EINVAL);
		json_object_set_new(node, k,
		    json_is_array(keep) ? json_object() : json_array());
		x = exec_from_json(root, &err);
		if (strcmp(k, "detail") == 0) { /* any JSON */
			exec_free(x);
			x = NULL;
		}
		ck_assert_msg(x == NULL, "accepted a bad %s", k);
		json_object_set(node, k, keep);
		mutate_all(root, keep);
		json_decref(keep);
		free(k);
	}
}

START_TEST(test_json_malformed)
{
	struct sim s;
	json_t *j;
	struct gantry_error err = {0};
	static const char *bad[] = {
	    "null", "[]", "1", "\"x\"", "{}", "{\"id\": 1}"};

	for (size_t i = 0; i < N(bad); i++) {
		json_t *b = json_loads(bad[i], JSON_DECODE_ANY, NULL);

		ck_assert_ptr_null(exec_from_json(b, &err));
		ck_assert_int_eq(err.code, GANTRY_EINVAL);
		json_decref(b);
	}
	sim_init(&s, "sha-given");
	sim_blocked(&s, "window");
	sim_may_start(&s);
	sim_until_running(&s, "beta:a2:deploy");
	sim_request(&s, EV_ABORT);
	j = exec_to_json(s.x);
	mutate_all(j, j);
	/* bad names and ranges */
	{
		json_t *c = json_deep_copy(j);
		struct exec *x;

		json_object_set_new(c, "state", json_string("dancing"));
		ck_assert_ptr_null(exec_from_json(c, &err));
		json_object_set_new(c, "state", json_string("running"));
		json_object_set_new(c, "stage", json_integer(4));
		ck_assert_ptr_null(exec_from_json(c, &err));
		json_object_set_new(c, "stage", json_integer(-1));
		ck_assert_ptr_null(exec_from_json(c, &err));
		json_object_set_new(c, "stage", json_integer(3));
		json_object_set_new(c, "final_state", json_string("x"));
		ck_assert_ptr_null(exec_from_json(c, &err));
		json_object_set_new(c, "final_state", json_null());
		x = exec_from_json(c, &err);
		ck_assert_ptr_nonnull(x);
		ck_assert_int_eq(x->final_state, EXEC_QUEUED);
		exec_free(x);
		json_decref(c);
	}
	json_decref(j);
	sim_free(&s);
}
END_TEST

START_TEST(test_event_json)
{
	const char *names[] = {"h1", "h2"}, *versions[] = {"v1", NULL};
	struct exec_blocker b = {"window", "shut", 5, "window"};
	struct exec_event evs[] = {
	    {.kind = EV_TRIGGERED, .actor = "ann", .reason = "go"},
	    {.kind = EV_STAGE_MAY_START,
	        .target_names = names,
	        .target_versions = versions,
	        .ntarget_versions = 2},
	    {.kind = EV_STAGE_MAY_START},
	    {.kind = EV_BLOCKED, .blockers = &b, .nblockers = 1},
	    {.kind = EV_HOOK_FINISHED,
	        .step = "build",
	        .attempt = 2,
	        .status = 0,
	        .artifact_sha256 = "s",
	        .artifact_uri = "u",
	        .artifact_signature = "g"},
	    {.kind = EV_HOOK_FINISHED,
	        .step = "p:h:deploy",
	        .attempt = 1,
	        .status = 143},
	    {.kind = EV_HOOK_TIMED_OUT, .step = "p:h:deploy", .attempt = 3},
	    {.kind = EV_TIMER_FIRED, .timer = "p:bake"},
	    {.kind = EV_ALARM_FIRED, .alarm = "a", .reason = "r"},
	    {.kind = EV_ALARM_CLEARED, .alarm = "a"},
	    {.kind = EV_ABORT, .actor = "ann", .reason = "r"},
	    {.kind = EV_ROLLBACK, .actor = "ann", .reason = "r"},
	    {.kind = EV_PAUSE, .actor = "ann"},
	    {.kind = EV_RESUME},
	    {.kind = EV_SUPERSEDED, .other = 77},
	    {.kind = EV_REJECTED, .reason = "sig"},
	    {.kind = EV_RESTARTED},
	    {.kind = EV_OVERRIDE,
	        .blocker = "alarm:a",
	        .expires = 99,
	        .actor = "ann",
	        .reason = "r"},
	};
	static const char *bad[] = {"null", "{}", "{\"kind\": 3}",
	    "{\"kind\": \"dance\"}", "{\"kind\": \"hook-finished\"}",
	    "{\"kind\": \"hook-finished\", \"step\": \"s\", \"attempt\": 1}",
	    "{\"kind\": \"hook-finished\", \"step\": 1, \"attempt\": 1, "
	    "\"status\": 0}",
	    "{\"kind\": \"hook-timed-out\", \"step\": \"s\", \"attempt\": "
	    "\"1\"}",
	    "{\"kind\": \"timer-fired\"}", "{\"kind\": \"alarm-fired\"}",
	    "{\"kind\": \"blocked\", \"blockers\": []}",
	    "{\"kind\": \"blocked\", \"blockers\": [{\"kind\": 1}]}",
	    "{\"kind\": \"blocked\", \"blockers\": [1]}",
	    "{\"kind\": \"stage-may-start\", \"targets\": []}",
	    "{\"kind\": \"stage-may-start\", \"targets\": {\"h\": 1}}",
	    "{\"kind\": \"superseded\"}",
	    "{\"kind\": \"abort\", \"reason\": 5}",
	    "{\"kind\": \"hook-finished\", \"step\": \"s\", \"attempt\": 1, "
	    "\"status\": 0, \"artifact_sha256\": 1}"};
	struct gantry_error err = {0};

	for (size_t i = 0; i < N(evs); i++) {
		json_t *j = exec_event_to_json(&evs[i]), *again;
		struct exec_event ev;

		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(json_string_value(json_object_get(j, "kind")),
		    exec_event_name(evs[i].kind));
		ck_assert_int_eq(exec_event_from_json(j, &ev, &err), 0);
		ck_assert_int_eq(ev.kind, evs[i].kind);
		again = exec_event_to_json(&ev);
		ck_assert(json_equal(j, again));
		exec_event_release(&ev);
		json_decref(again);
		json_decref(j);
	}
	/* only the fields the kind uses */
	{
		json_t *j = exec_event_to_json(&evs[6]);

		ck_assert_uint_eq(json_object_size(j), 3);
		ck_assert_ptr_null(json_object_get(j, "status"));
		json_decref(j);
		j = exec_event_to_json(&evs[5]);
		ck_assert_ptr_null(json_object_get(j, "artifact_sha256"));
		json_decref(j);
		j = exec_event_to_json(&evs[1]);
		ck_assert(json_is_null(
		    json_object_get(json_object_get(j, "targets"), "h2")));
		json_decref(j);
	}
	for (size_t i = 0; i < N(bad); i++) {
		json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		struct exec_event ev;

		ck_assert_ptr_nonnull(j);
		ck_assert_msg(exec_event_from_json(j, &ev, &err) == -1,
		    "accepted %s", bad[i]);
		ck_assert_int_eq(err.code, GANTRY_EINVAL);
		exec_event_release(&ev);
		json_decref(j);
	}
}
END_TEST

static Suite *
exec_suite(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("core");
	TCase *slow = tcase_create("randomized");

	tcase_add_test(tc, test_new_layout);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_happy_path);
	tcase_add_test(tc, test_hook_intents);
	tcase_add_test(tc, test_artifact_given);
	tcase_add_test(tc, test_dry_run);
	tcase_add_test(tc, test_dry_run_json);
	tcase_add_test(tc, test_blocked);
	tcase_add_test(tc, test_deploy_failure);
	tcase_add_test(tc, test_rollback_failure);
	tcase_add_test(tc, test_abort_during_batch);
	tcase_add_test(tc, test_abort_queued);
	tcase_add_test(tc, test_alarm);
	tcase_add_test(tc, test_alarm_scope);
	tcase_add_test(tc, test_override);
	tcase_add_test(tc, test_build_and_test_failures);
	tcase_add_test(tc, test_stage_tests_failure);
	tcase_add_test(tc, test_rollback_running);
	tcase_add_test(tc, test_rollback_succeeded);
	tcase_add_test(tc, test_pause_resume);
	tcase_add_test(tc, test_pause_failure);
	tcase_add_test(tc, test_supersede_reject);
	tcase_add_test(tc, test_conflicts);
	tcase_add_test(tc, test_einval);
	tcase_add_test(tc, test_stale_outcomes);
	tcase_add_test(tc, test_early_timer);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_json_shape);
	tcase_add_test(tc, test_json_malformed);
	tcase_add_test(tc, test_event_json);
	suite_add_tcase(s, tc);
	tcase_add_test(slow, test_randomized);
	tcase_set_timeout(slow, 300);
	suite_add_tcase(s, slow);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(exec_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
