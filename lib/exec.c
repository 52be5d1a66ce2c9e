/*
 * exec.c - the execution state machine of SPEC.md section 5 (exec.h):
 * exec_step(state, definition, event, now) -> state', intents.  Pure: no
 * I/O, no clock, no globals.  Every transition is listed in one table
 * (transitions[] below); each row names the event, the execution states
 * it applies in, and the one function that carries it out.
 *
 * exec_step() works on a copy of the execution and swaps it in only when
 * the whole transition succeeded, so a failure (no memory, a refused
 * request) leaves the caller's execution exactly as it was.
 *
 * The rules, in short (each handler below says its part):
 *  - exec_new() counts as "triggered": seq 1, QUEUED, waiting for stage 0.
 *    Waiting = !stage_started: IN_WAIT_STAGE is emitted whenever a stage
 *    completes and another remains; only stage-may-start starts it.
 *  - deploy stage: one-box, its bake (timer STAGE:one-box-bake), batches
 *    cut as plan.c cuts them, the bake (STAGE:bake), the tests hook.  An
 *    early timer is armed again; promotion needs it fired on time.
 *  - a failed deploy/tests hook, a timeout, an alarm during a deploy stage,
 *    or abort: the in-flight deploy stage rolls back (kills first; a
 *    target's rollback starts once its deploy hook ended).  A failed build
 *    or test stage ends FAILED at once; deployed stages stay (only the
 *    in-flight deploy stage ever rolls back by itself).
 *  - rollback: also every earlier SUCCEEDED deploy stage, in reverse order;
 *    on a SUCCEEDED execution it is the one way out of a terminal state.
 *  - pause: hooks go on, outcomes are recorded, nothing new starts (a bake
 *    timer that fires is remembered as bake_until = 0); failures still roll
 *    back at once.  Resume goes on from there.
 *  - final_state == EXEC_QUEUED means "none" (JSON null).
 */
#include "exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- names ---------------------------------------------------------------- */

const struct exec_override *
exec_override_active(
    const struct exec *x, const char *stage, const char *blocker, int64_t now)
{
	for (size_t i = 0; i < x->noverrides; i++) {
		const struct exec_override *o = &x->overrides[i];

		if (!o->used && o->expires > now &&
		    strcmp(o->stage, stage) == 0 &&
		    strcmp(o->blocker, blocker) == 0)
			return o;
	}
	return NULL;
}

bool
exec_is_terminal(enum exec_state s)
{
	switch (s) {
	case EXEC_ROLLED_BACK:
	case EXEC_SUCCEEDED:
	case EXEC_FAILED:
	case EXEC_ABORTED:
	case EXEC_REJECTED:
	case EXEC_SUPERSEDED:
		return true;
	default:
		return false;
	}
}

const char *
exec_state_name(enum exec_state s)
{
	switch (s) {
	case EXEC_QUEUED:
		return "queued";
	case EXEC_RUNNING:
		return "running";
	case EXEC_BLOCKED:
		return "blocked";
	case EXEC_PAUSED:
		return "paused";
	case EXEC_ROLLING_BACK:
		return "rolling_back";
	case EXEC_ROLLED_BACK:
		return "rolled_back";
	case EXEC_SUCCEEDED:
		return "succeeded";
	case EXEC_FAILED:
		return "failed";
	case EXEC_ABORTED:
		return "aborted";
	case EXEC_REJECTED:
		return "rejected";
	case EXEC_SUPERSEDED:
		return "superseded";
	}
	return "unknown";
}

const char *
stage_state_name(enum stage_state s)
{
	switch (s) {
	case SST_PENDING:
		return "pending";
	case SST_BLOCKED:
		return "blocked";
	case SST_DEPLOYING:
		return "deploying";
	case SST_BAKING:
		return "baking";
	case SST_TESTING:
		return "testing";
	case SST_SUCCEEDED:
		return "succeeded";
	case SST_FAILED:
		return "failed";
	case SST_ROLLING_BACK:
		return "rolling_back";
	case SST_ROLLED_BACK:
		return "rolled_back";
	case SST_SKIPPED:
		return "skipped";
	case SST_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

const char *
target_state_name(enum target_state s)
{
	switch (s) {
	case TST_PENDING:
		return "pending";
	case TST_DEPLOYING:
		return "deploying";
	case TST_DEPLOYED:
		return "deployed";
	case TST_FAILED:
		return "failed";
	case TST_ROLLING_BACK:
		return "rolling_back";
	case TST_ROLLED_BACK:
		return "rolled_back";
	}
	return "unknown";
}

const char *
exec_event_name(enum exec_event_kind k)
{
	switch (k) {
	case EV_TRIGGERED:
		return "triggered";
	case EV_STAGE_MAY_START:
		return "stage-may-start";
	case EV_BLOCKED:
		return "blocked";
	case EV_HOOK_FINISHED:
		return "hook-finished";
	case EV_HOOK_TIMED_OUT:
		return "hook-timed-out";
	case EV_TIMER_FIRED:
		return "timer-fired";
	case EV_ALARM_FIRED:
		return "alarm-fired";
	case EV_ALARM_CLEARED:
		return "alarm-cleared";
	case EV_ABORT:
		return "abort";
	case EV_ROLLBACK:
		return "rollback";
	case EV_PAUSE:
		return "pause";
	case EV_RESUME:
		return "resume";
	case EV_SUPERSEDED:
		return "superseded";
	case EV_REJECTED:
		return "rejected";
	case EV_RESTARTED:
		return "restarted";
	case EV_OVERRIDE:
		return "override";
	}
	return "unknown";
}

/* --- building and freeing ------------------------------------------------- */

static void
blockers_free(struct exec_blocker *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].kind);
		free(b[i].reason);
		free(b[i].id);
	}
	free(b);
}

static void
overrides_free(struct exec_override *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].stage);
		free(o[i].blocker);
		free(o[i].actor);
		free(o[i].reason);
	}
	free(o);
}

static void
decisions_free(struct exec_decision *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].stage);
		free(d[i].kind);
		free(d[i].subject);
		free(d[i].reason);
		json_decref(d[i].detail);
	}
	free(d);
}

static void
stage_clear(struct exec_stage *s)
{
	for (size_t i = 0; i < s->ntargets; i++) {
		free(s->targets[i].name);
		free(s->targets[i].group);
		free(s->targets[i].previous);
	}
	free(s->targets);
	free(s->name);
	free(s->reason);
}

void
exec_free(struct exec *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->nstages; i++)
		stage_clear(&x->stages[i]);
	free(x->stages);
	blockers_free(x->blockers, x->nblockers);
	overrides_free(x->overrides, x->noverrides);
	decisions_free(x->decisions, x->ndecisions);
	free(x->pipeline);
	free(x->revision);
	free(x->artifact_uri);
	free(x->artifact_sha256);
	free(x->artifact_signature);
	free(x->reason);
	free(x);
}

/* strdup that records a failure in *fail instead of returning it. */
static char *
dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = true;
	return d;
}

/*
 * exec_new() counts as applying EV_TRIGGERED: the new execution has
 * seq = 1, and the daemon stores event 1 "triggered" with this snapshot.
 * There is no intent list here: a QUEUED execution is always waiting for
 * its first stage, so the daemon asks for EV_STAGE_MAY_START (as if
 * IN_WAIT_STAGE had been emitted) once the snapshot is stored.
 */
struct exec *
exec_new(int64_t id, const struct exec_def *def, const char *pipeline,
    int version, const char *revision, const char *artifact_uri,
    const char *artifact_sha256, const char *artifact_signature, int64_t now)
{
	struct exec *x = calloc(1, sizeof(*x));
	bool fail = false;

	if (x == NULL)
		return NULL;
	x->id = id;
	x->pipeline = dup_or_null(pipeline, &fail);
	x->pipeline_version = version;
	x->revision = dup_or_null(revision, &fail);
	x->artifact_uri = dup_or_null(artifact_uri, &fail);
	x->artifact_sha256 = dup_or_null(artifact_sha256, &fail);
	x->artifact_signature = dup_or_null(artifact_signature, &fail);
	x->state = EXEC_QUEUED;
	x->paused_from = EXEC_QUEUED;
	x->final_state = EXEC_QUEUED; /* none */
	x->seq = 1;
	x->created_at = now;
	if (def->nstages > 0) {
		x->stages = calloc(def->nstages, sizeof(*x->stages));
		if (x->stages == NULL)
			goto fail;
		x->nstages = def->nstages;
	}
	for (size_t i = 0; i < x->nstages; i++) {
		const struct stage *st = &def->stages[i];
		struct exec_stage *s = &x->stages[i];
		size_t n = 0, k = 0;

		s->name = dup_or_null(st->name, &fail);
		s->state = SST_PENDING;
		if (st->type != STAGE_DEPLOY)
			continue;
		for (size_t g = 0; g < st->ngroups; g++)
			n += st->groups[g].ntargets;
		if (n == 0)
			continue;
		if ((s->targets = calloc(n, sizeof(*s->targets))) == NULL)
			goto fail;
		s->ntargets = n;
		for (size_t g = 0; g < st->ngroups; g++) {
			const struct stage_group *gr = &st->groups[g];

			for (size_t t = 0; t < gr->ntargets; t++, k++) {
				s->targets[k].name =
				    dup_or_null(gr->targets[t], &fail);
				s->targets[k].group =
				    dup_or_null(gr->name, &fail);
			}
		}
	}
	if (fail)
		goto fail;
	return x;
fail:
	exec_free(x);
	return NULL;
}

/* A deep copy of x, or NULL on allocation failure. */
static struct exec *
exec_dup(const struct exec *x)
{
	struct exec *y = calloc(1, sizeof(*y));
	bool fail = false;

	if (y == NULL)
		return NULL;
	*y = *x;
	y->pipeline = dup_or_null(x->pipeline, &fail);
	y->revision = dup_or_null(x->revision, &fail);
	y->artifact_uri = dup_or_null(x->artifact_uri, &fail);
	y->artifact_sha256 = dup_or_null(x->artifact_sha256, &fail);
	y->artifact_signature = dup_or_null(x->artifact_signature, &fail);
	y->reason = dup_or_null(x->reason, &fail);
	y->stages = NULL;
	y->nstages = 0;
	y->blockers = NULL;
	y->nblockers = 0;
	y->overrides = NULL;
	y->noverrides = 0;
	y->decisions = NULL;
	y->ndecisions = 0;
	if (x->nblockers > 0) {
		y->blockers = calloc(x->nblockers, sizeof(*y->blockers));
		if (y->blockers == NULL)
			goto fail;
		y->nblockers = x->nblockers;
		for (size_t i = 0; i < x->nblockers; i++) {
			y->blockers[i].kind =
			    dup_or_null(x->blockers[i].kind, &fail);
			y->blockers[i].reason =
			    dup_or_null(x->blockers[i].reason, &fail);
			y->blockers[i].until = x->blockers[i].until;
			y->blockers[i].id =
			    dup_or_null(x->blockers[i].id, &fail);
		}
	}
	if (x->noverrides > 0) {
		y->overrides = calloc(x->noverrides, sizeof(*y->overrides));
		if (y->overrides == NULL)
			goto fail;
		y->noverrides = x->noverrides;
		for (size_t i = 0; i < x->noverrides; i++) {
			const struct exec_override *o = &x->overrides[i];
			struct exec_override *d = &y->overrides[i];

			*d = *o;
			d->stage = dup_or_null(o->stage, &fail);
			d->blocker = dup_or_null(o->blocker, &fail);
			d->actor = dup_or_null(o->actor, &fail);
			d->reason = dup_or_null(o->reason, &fail);
		}
	}
	if (x->ndecisions > 0) {
		y->decisions = calloc(x->ndecisions, sizeof(*y->decisions));
		if (y->decisions == NULL)
			goto fail;
		y->ndecisions = x->ndecisions;
		for (size_t i = 0; i < x->ndecisions; i++) {
			const struct exec_decision *o = &x->decisions[i];
			struct exec_decision *d = &y->decisions[i];

			*d = *o;
			d->stage = dup_or_null(o->stage, &fail);
			d->kind = dup_or_null(o->kind, &fail);
			d->subject = dup_or_null(o->subject, &fail);
			d->reason = dup_or_null(o->reason, &fail);
			/* details are immutable: shared, not copied */
			d->detail = json_incref(o->detail);
		}
	}
	if (x->nstages > 0) {
		y->stages = calloc(x->nstages, sizeof(*y->stages));
		if (y->stages == NULL)
			goto fail;
		y->nstages = x->nstages;
	}
	for (size_t i = 0; i < x->nstages; i++) {
		const struct exec_stage *s = &x->stages[i];
		struct exec_stage *d = &y->stages[i];

		*d = *s;
		d->targets = NULL;
		d->ntargets = 0;
		d->name = dup_or_null(s->name, &fail);
		d->reason = dup_or_null(s->reason, &fail);
		if (s->ntargets == 0)
			continue;
		if ((d->targets = calloc(s->ntargets, sizeof(*d->targets))) ==
		    NULL)
			goto fail;
		d->ntargets = s->ntargets;
		for (size_t t = 0; t < s->ntargets; t++) {
			d->targets[t] = s->targets[t];
			d->targets[t].name =
			    dup_or_null(s->targets[t].name, &fail);
			d->targets[t].group =
			    dup_or_null(s->targets[t].group, &fail);
			d->targets[t].previous =
			    dup_or_null(s->targets[t].previous, &fail);
		}
	}
	if (fail)
		goto fail;
	return y;
fail:
	exec_free(y);
	return NULL;
}

void
exec_intents_clear(struct exec_intents *in)
{
	if (in == NULL)
		return;
	for (size_t i = 0; i < in->n; i++) {
		struct exec_intent *it = &in->v[i];

		free(it->step);
		free(it->hook);
		free(it->action);
		free(it->stage);
		free(it->group);
		free(it->target);
		free(it->version);
		free(it->previous);
		free(it->timer);
		free(it->reason);
	}
	free(in->v);
	in->v = NULL;
	in->n = in->cap = 0;
}

/* --- one transition in progress ------------------------------------------- */

/*
 * Allocation failures inside a transition set c->oom and the code goes
 * on (it never dereferences what failed); exec_step() then throws the
 * copy away and reports GANTRY_ENOMEM.
 */
struct ctx {
	struct exec *x; /* the copy being changed */
	const struct exec_def *def;
	const struct exec_event *ev;
	int64_t now;
	struct exec_intents *out; /* this transition's intents */
	struct gantry_error *err;
	bool oom;
};

static char *
cdup(struct ctx *c, const char *s)
{
	return dup_or_null(s, &c->oom);
}

static char *PRINTFLIKE(2, 3) cfmt(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		s = NULL;
		c->oom = true;
	}
	va_end(ap);
	return s;
}

/* Replace *dst with a copy of s (s may alias *dst). */
static void
set_str(struct ctx *c, char **dst, const char *s)
{
	char *d = cdup(c, s);

	free(*dst);
	*dst = d;
}

/* Replace *dst with s (takes ownership). */
static void
take_str(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

static struct exec_intent *
intent_add(struct ctx *c, enum exec_intent_kind kind)
{
	struct exec_intents *in = c->out;

	if (in->n == in->cap) {
		size_t ncap = in->cap ? in->cap * 2 : 8;
		struct exec_intent *v = realloc(in->v, ncap * sizeof(*v));

		if (v == NULL) {
			c->oom = true;
			return NULL;
		}
		in->v = v;
		in->cap = ncap;
	}
	memset(&in->v[in->n], 0, sizeof(in->v[0]));
	in->v[in->n].kind = kind;
	return &in->v[in->n++];
}

static const struct stage *
def_stage(const struct ctx *c, size_t si)
{
	return &c->def->stages[si];
}

/* The timeout of a hook: the stage's, else the named hook's, else the
 * pipeline's hook_timeout. */
static int64_t
hook_timeout(
    const struct exec_def *def, const struct stage *st, const char *hook)
{
	const struct pipeline_hook *h;

	if (st != NULL && st->timeout_ms > 0)
		return st->timeout_ms;
	h = pipeline_hook_find(def->p, hook);
	if (h != NULL && h->timeout_ms > 0)
		return h->timeout_ms;
	return def->p != NULL ? def->p->hook_timeout_ms : 0;
}

/* A deploy stage's one-box: the first target of the first group, alone
 * (as in plan.c: only when that group has targets). */
static bool
has_one_box(const struct stage *st)
{
	return st->type == STAGE_DEPLOY && st->one_box && st->ngroups > 0 &&
	    st->groups[0].ntargets > 0;
}

/* Is the stage's BAKING the one-box bake (else the final bake)? */
static bool
one_box_baking(const struct stage *st, const struct exec_stage *s)
{
	return has_one_box(st) && !s->one_box_done;
}

/* Steps and timers, by their stable names (exec.h). */
static char *
stage_hook_step(struct ctx *c, size_t si)
{
	const struct stage *st = def_stage(c, si);

	switch (st->type) {
	case STAGE_BUILD:
		return cdup(c, "build");
	case STAGE_TEST:
		return cfmt(c, "%s:test", st->name);
	default:
		return cfmt(c, "%s:tests", st->name);
	}
}

static char *
target_step(struct ctx *c, size_t si, size_t ti, const char *what)
{
	return cfmt(c, "%s:%s:%s", c->x->stages[si].name,
	    c->x->stages[si].targets[ti].name, what);
}

static char *
bake_timer(struct ctx *c, size_t si)
{
	const struct stage *st = def_stage(c, si);

	return cfmt(c, "%s:%s", st->name,
	    one_box_baking(st, &c->x->stages[si]) ? "one-box-bake" : "bake");
}

/* --- intents ---------------------------------------------------------------*/

static void
emit_wait(struct ctx *c)
{
	struct exec_intent *it = intent_add(c, IN_WAIT_STAGE);

	if (it != NULL && c->x->stage < c->x->nstages)
		it->stage = cdup(c, c->x->stages[c->x->stage].name);
}

static void
emit_kill(struct ctx *c, char *step, int attempt, size_t si)
{
	struct exec_intent *it = intent_add(c, IN_KILL_HOOK);

	if (it == NULL) {
		free(step);
		return;
	}
	it->step = step;
	it->attempt = attempt;
	it->stage = cdup(c, c->x->stages[si].name);
}

static void
emit_timer(struct ctx *c, enum exec_intent_kind kind, size_t si)
{
	struct exec_intent *it = intent_add(c, kind);

	if (it == NULL)
		return;
	it->timer = bake_timer(c, si);
	it->stage = cdup(c, c->x->stages[si].name);
	if (kind == IN_ARM_TIMER)
		it->deadline = c->x->stages[si].bake_until;
}

/* IN_NOTIFY about outcome (static: a state name, "blocked",
 * "override") and why (takes ownership; NULL: none): the notify hook
 * gets "OUTCOME: WHY". */
static void
emit_notify_text(struct ctx *c, const char *outcome, char *why)
{
	struct exec *x = c->x;
	struct exec_intent *it = intent_add(c, IN_NOTIFY);

	x->notify_seq++;
	if (it != NULL) {
		it->step = cfmt(c, "notify:%d", x->notify_seq);
		it->attempt = 1;
		it->hook = cdup(c, "notify");
		it->action = cdup(c, "notify");
		if (x->stage < x->nstages)
			it->stage = cdup(c, x->stages[x->stage].name);
		it->version = cdup(c, x->artifact_sha256);
		it->timeout_ms = hook_timeout(c->def, NULL, "notify");
		it->outcome = outcome;
		it->reason = cfmt(c, "%s%s%s", outcome, why != NULL ? ": " : "",
		    why != NULL ? why : "");
	}
	free(why);
}

/* IN_NOTIFY about the state just entered (x->state), with x->reason. */
static void
emit_notify(struct ctx *c)
{
	emit_notify_text(
	    c, exec_state_name(c->x->state), cdup(c, c->x->reason));
}

/* IN_RUN_HOOK for the stage's own hook (build, test command, tests). */
static void
emit_stage_hook(struct ctx *c, size_t si)
{
	const struct stage *st = def_stage(c, si);
	struct exec_stage *s = &c->x->stages[si];
	struct exec_intent *it = intent_add(c, IN_RUN_HOOK);
	const char *hook, *action;

	switch (st->type) {
	case STAGE_BUILD:
		hook = "build";
		action = "build";
		break;
	case STAGE_TEST:
		hook = st->command;
		action = "test";
		break;
	default:
		hook = st->tests;
		action = "test";
		break;
	}
	if (it == NULL)
		return;
	it->step = stage_hook_step(c, si);
	it->attempt = s->test_attempts;
	it->hook = cdup(c, hook);
	it->action = cdup(c, action);
	it->stage = cdup(c, s->name);
	it->version = cdup(c, c->x->artifact_sha256);
	it->timeout_ms = hook_timeout(c->def, st, hook);
}

/* IN_RUN_HOOK for a target's deploy or rollback (by its state). */
static void
emit_target_hook(struct ctx *c, size_t si, size_t ti)
{
	const struct stage *st = def_stage(c, si);
	struct exec_target *t = &c->x->stages[si].targets[ti];
	bool deploy = t->state == TST_DEPLOYING;
	const char *hook = deploy ? "deploy" : "rollback";
	struct exec_intent *it = intent_add(c, IN_RUN_HOOK);

	if (it == NULL)
		return;
	it->step = target_step(c, si, ti, hook);
	it->attempt = deploy ? t->deploy_attempts : t->rollback_attempts;
	it->hook = cdup(c, hook);
	it->action = cdup(c, hook);
	it->stage = cdup(c, c->x->stages[si].name);
	it->group = cdup(c, t->group);
	it->target = cdup(c, t->name);
	it->version = cdup(c, deploy ? c->x->artifact_sha256 : t->previous);
	it->previous = cdup(c, deploy ? t->previous : c->x->artifact_sha256);
	it->timeout_ms = hook_timeout(c->def, st, hook);
}

static void
emit_set_version(struct ctx *c, size_t si, size_t ti, const char *version)
{
	struct exec_target *t = &c->x->stages[si].targets[ti];
	struct exec_intent *it;

	if (c->x->dry_run)
		return; /* a dry run touched nothing: nothing to record */
	it = intent_add(c, IN_SET_VERSION);
	if (it == NULL)
		return;
	it->stage = cdup(c, c->x->stages[si].name);
	it->group = cdup(c, t->group);
	it->target = cdup(c, t->name);
	it->version = cdup(c, version);
}

/* --- starting steps ------------------------------------------------------- */

static void
start_stage_hook(struct ctx *c, size_t si)
{
	struct exec_stage *s = &c->x->stages[si];

	s->test_attempts++;
	s->test_running = true;
	emit_stage_hook(c, si);
}

static void
start_deploy(struct ctx *c, size_t si, size_t ti)
{
	struct exec_target *t = &c->x->stages[si].targets[ti];

	t->state = TST_DEPLOYING;
	t->touched = true;
	t->deploy_attempts++;
	t->hook_running = true;
	t->kill_sent = false;
	t->started_at = c->now;
	t->finished_at = 0;
	emit_target_hook(c, si, ti);
}

static void
start_rollback(struct ctx *c, size_t si, size_t ti)
{
	struct exec_target *t = &c->x->stages[si].targets[ti];

	t->state = TST_ROLLING_BACK;
	t->rollback_attempts++;
	t->hook_running = true;
	t->kill_sent = false;
	t->finished_at = 0;
	emit_target_hook(c, si, ti);
}

static void
start_bake(struct ctx *c, size_t si, int64_t ms)
{
	struct exec_stage *s = &c->x->stages[si];

	s->state = SST_BAKING;
	s->bake_until = c->now + ms;
	emit_timer(c, IN_ARM_TIMER, si);
}

/* Targets in one batch of a pool of n: a count, or a percentage of n
 * rounded up; at least 1 (the same rule as plan.c). */
static size_t
batch_size(const struct stage *st, size_t n)
{
	size_t k;

	if (st->batch_percent)
		k = ((size_t)(st->batch > 0 ? st->batch : 1) * n + 99) / 100;
	else
		k = st->batch > 0 ? (size_t)st->batch : 1;
	return k > 0 ? k : 1;
}

/*
 * Start the next rolling batch of deploy stage si, as plan.c cuts them:
 * the pool is every target but the one-box, group by group when the
 * stage is sequential (the first group, in order, with a pending target);
 * a batch is the next batch_size(pool) pending targets of the pool.
 * Returns false when no target is pending.
 */
static bool
start_batch(struct ctx *c, size_t si)
{
	const struct stage *st = def_stage(c, si);
	struct exec_stage *s = &c->x->stages[si];
	size_t skip = has_one_box(st) ? 1 : 0;
	size_t lo = skip, hi = s->ntargets, started = 0, size;

	if (st->sequential) {
		size_t off = 0;
		bool found = false;

		for (size_t g = 0; g < st->ngroups && !found; g++) {
			size_t a = off < skip ? skip : off;
			size_t b = off + st->groups[g].ntargets;

			for (size_t i = a; i < b && !found; i++)
				if (s->targets[i].state == TST_PENDING) {
					found = true;
					lo = a;
					hi = b;
				}
			off = b;
		}
		if (!found)
			return false;
	}
	size = batch_size(st, hi > lo ? hi - lo : 0);
	for (size_t i = lo; i < hi && started < size; i++)
		if (s->targets[i].state == TST_PENDING) {
			start_deploy(c, si, i);
			started++;
		}
	if (started > 0)
		s->batch++;
	return started > 0;
}

/* --- ending ---------------------------------------------------------------- */

/* Record a go/no-go decision (takes ownership of reason); the first
 * EXEC_MAX_DECISIONS are kept. */
static void
add_decision(struct ctx *c, const char *stage, const char *kind,
    const char *subject, char *reason, const json_t *detail)
{
	struct exec *x = c->x;
	struct exec_decision *v, *d;

	if (x->ndecisions >= EXEC_MAX_DECISIONS) {
		free(reason);
		return;
	}
	v = realloc(x->decisions, (x->ndecisions + 1) * sizeof(*v));
	if (v == NULL) {
		free(reason);
		c->oom = true;
		return;
	}
	x->decisions = v;
	d = &v[x->ndecisions++];
	memset(d, 0, sizeof(*d));
	d->at = c->now;
	d->stage = cdup(c, stage);
	d->kind = cdup(c, kind);
	d->subject = cdup(c, subject);
	d->reason = reason;
	if (detail != NULL && (d->detail = json_deep_copy(detail)) == NULL)
		c->oom = true;
}

static void
clear_blockers(struct exec *x)
{
	blockers_free(x->blockers, x->nblockers);
	x->blockers = NULL;
	x->nblockers = 0;
	if (!x->stage_started && x->stage < x->nstages &&
	    x->stages[x->stage].state == SST_BLOCKED)
		x->stages[x->stage].state = SST_PENDING;
}

/* Enter terminal state `state` (reason: NULL keeps x->reason): stages
 * that never started are cancelled; notify; IN_FINISHED. */
static void
finish(struct ctx *c, enum exec_state state, char *reason)
{
	struct exec *x = c->x;
	struct exec_intent *it;

	if (reason != NULL)
		take_str(&x->reason, reason);
	clear_blockers(x);
	x->state = state;
	x->pause_requested = false;
	x->finished_at = c->now;
	for (size_t i = 0; i < x->nstages; i++) {
		struct exec_stage *s = &x->stages[i];

		if (s->state == SST_PENDING || s->state == SST_BLOCKED)
			s->state = SST_CANCELLED;
		else if (s->state == SST_CANCELLED && s->finished_at == 0)
			s->finished_at = c->now;
	}
	emit_notify(c);
	if ((it = intent_add(c, IN_FINISHED)) != NULL)
		it->reason = cdup(c, x->reason);
}

/* The current stage succeeded (or was skipped): wait for the next one,
 * or the execution succeeded. */
static void
stage_done(struct ctx *c)
{
	struct exec *x = c->x;

	if (x->stage + 1 < x->nstages) {
		x->stage++;
		x->stage_started = false;
		emit_wait(c);
	} else {
		finish(c, EXEC_SUCCEEDED, NULL);
	}
}

static void
stage_succeeded(struct ctx *c, size_t si)
{
	struct exec_stage *s = &c->x->stages[si];

	s->state = SST_SUCCEEDED;
	s->finished_at = c->now;
}

/* --- moving forward -------------------------------------------------------- */

/*
 * Take deploy stage si as far as it goes now (never while paused):
 *   DEPLOYING: one-box -> one-box bake -> batches -> bake -> tests;
 *   BAKING: wait for the timer (bake_until = 0: it fired);
 *   TESTING: wait for the tests hook (not running: it passed).
 * Nothing starts while a hook of the stage runs.  Returns true when the
 * stage succeeded.
 */
static bool
deploy_advance(struct ctx *c, size_t si)
{
	const struct stage *st = def_stage(c, si);
	struct exec_stage *s = &c->x->stages[si];

	for (;;) {
		switch (s->state) {
		case SST_DEPLOYING:
			for (size_t i = 0; i < s->ntargets; i++)
				if (s->targets[i].hook_running)
					return false;
			if (has_one_box(st)) {
				if (s->targets[0].state == TST_PENDING) {
					start_deploy(c, si, 0);
					return false;
				}
				if (!s->one_box_done) {
					if (st->one_box_bake_ms > 0) {
						start_bake(
						    c, si, st->one_box_bake_ms);
						return false;
					}
					s->one_box_done = true;
				}
			}
			if (start_batch(c, si))
				return false;
			if (st->bake_ms > 0) {
				start_bake(c, si, st->bake_ms);
				return false;
			}
			break;
		case SST_BAKING:
			if (s->bake_until != 0)
				return false;
			if (one_box_baking(st, s)) {
				s->one_box_done = true;
				s->state = SST_DEPLOYING;
				continue;
			}
			break;
		case SST_TESTING:
			if (s->test_running)
				return false;
			stage_succeeded(c, si);
			return true;
		default:
			return false;
		}
		/* every target deployed and baked */
		if (st->tests != NULL) {
			s->state = SST_TESTING;
			start_stage_hook(c, si);
			return false;
		}
		stage_succeeded(c, si);
		return true;
	}
}

/*
 * Move the execution forward from where it stands: run the current
 * stage on, and when it is done, wait for the next (or succeed).  Only
 * in RUNNING: paused, rolling back, waiting and ended executions stay.
 */
static void
advance(struct ctx *c)
{
	struct exec *x = c->x;

	while (x->state == EXEC_RUNNING && x->stage_started) {
		size_t si = x->stage;
		struct exec_stage *s = &x->stages[si];
		bool done;

		switch (def_stage(c, si)->type) {
		case STAGE_BUILD:
		case STAGE_TEST:
			done = s->state == SST_SKIPPED ||
			    ((s->state == SST_DEPLOYING ||
			         s->state == SST_TESTING) &&
			        !s->test_running);
			if (done && s->state != SST_SKIPPED)
				stage_succeeded(c, si);
			break;
		default:
			done = deploy_advance(c, si);
			break;
		}
		if (!done)
			return;
		stage_done(c);
	}
}

/* --- rolling back ---------------------------------------------------------- */

static bool
hooks_running(const struct exec *x)
{
	for (size_t i = 0; i < x->nstages; i++) {
		if (x->stages[i].test_running)
			return true;
		for (size_t t = 0; t < x->stages[i].ntargets; t++)
			if (x->stages[i].targets[t].hook_running)
				return true;
	}
	return false;
}

/*
 * Roll deploy stage si back: cancel its bake timer, kill its running
 * hooks (they keep hook_running until their outcome arrives; a target's
 * rollback starts then), and start the rollback of every touched target
 * that runs nothing.  Untouched targets stay pending: never deployed.
 */
static void
rollback_stage(struct ctx *c, size_t si)
{
	struct exec_stage *s = &c->x->stages[si];

	s->state = SST_ROLLING_BACK;
	set_str(c, &s->reason, c->x->reason);
	if (s->bake_until != 0) {
		emit_timer(c, IN_CANCEL_TIMER, si);
		s->bake_until = 0;
	}
	if (s->test_running)
		emit_kill(c, stage_hook_step(c, si), s->test_attempts, si);
	for (size_t i = 0; i < s->ntargets; i++) {
		struct exec_target *t = &s->targets[i];

		if (t->hook_running) {
			if (!t->kill_sent)
				emit_kill(c, target_step(c, si, i, "deploy"),
				    t->deploy_attempts, si);
			t->kill_sent = true;
		} else if (t->touched) {
			start_rollback(c, si, i);
		}
	}
}

/*
 * Rolling back goes on until no hook runs: then the stage being rolled
 * back ends (ROLLED_BACK, or FAILED when a target's rollback failed);
 * with rolling_back_all the last SUCCEEDED deploy stage is next; when
 * none remains the execution ends: final_state, or FAILED naming every
 * target left in an unknown state.  Returns true when it ended.
 */
static bool
rollback_advance(struct ctx *c)
{
	struct exec *x = c->x;

	for (;;) {
		size_t next = x->nstages;
		char *bad = NULL, *reason;

		if (hooks_running(x))
			return false;
		for (size_t i = 0; i < x->nstages; i++) {
			struct exec_stage *s = &x->stages[i];
			bool failed = false;

			if (s->state != SST_ROLLING_BACK)
				continue;
			for (size_t t = 0; t < s->ntargets; t++)
				if (s->targets[t].state == TST_FAILED)
					failed = true;
			s->state = failed ? SST_FAILED : SST_ROLLED_BACK;
			s->finished_at = c->now;
		}
		for (size_t i = x->nstages; x->rolling_back_all && i-- > 0;)
			if (x->stages[i].state == SST_SUCCEEDED &&
			    def_stage(c, i)->type == STAGE_DEPLOY) {
				next = i;
				break;
			}
		if (next < x->nstages) {
			rollback_stage(c, next);
			continue;
		}
		for (size_t i = 0; i < x->nstages; i++)
			for (size_t t = 0; t < x->stages[i].ntargets; t++) {
				const struct exec_target *tg =
				    &x->stages[i].targets[t];
				char *n;

				if (tg->state != TST_FAILED)
					continue;
				n = cfmt(c, "%s%s%s:%s", bad ? bad : "",
				    bad ? ", " : "", x->stages[i].name,
				    tg->name);
				take_str(&bad, n);
			}
		if (bad == NULL) {
			finish(c, x->final_state, NULL);
			return true;
		}
		reason = cfmt(c, "%s; rollback failed, in an unknown state: %s",
		    x->reason ? x->reason : "rolled back", bad);
		free(bad);
		finish(c, EXEC_FAILED, reason);
		return true;
	}
}

/*
 * Stop going forward and roll back: the in-flight deploy stage (an
 * in-flight build or test stage is cancelled, its hook killed), and with
 * `all` every earlier SUCCEEDED deploy stage, in reverse order.  Ends in
 * final (ROLLED_BACK, ABORTED) unless a rollback fails.  Takes reason.
 * Notifies on entering, unless it ended at once (then finish() did).
 */
static void
begin_rollback(struct ctx *c, enum exec_state final, char *reason, bool all)
{
	struct exec *x = c->x;

	take_str(&x->reason, reason);
	clear_blockers(x);
	x->state = EXEC_ROLLING_BACK;
	x->pause_requested = false;
	x->final_state = final;
	x->rolling_back_all = x->rolling_back_all || all;
	x->finished_at = 0;
	if (x->stage_started && x->stage < x->nstages) {
		size_t si = x->stage;
		struct exec_stage *s = &x->stages[si];

		if (s->state == SST_DEPLOYING || s->state == SST_BAKING ||
		    s->state == SST_TESTING) {
			if (def_stage(c, si)->type == STAGE_DEPLOY) {
				rollback_stage(c, si);
			} else {
				s->state = SST_CANCELLED;
				set_str(c, &s->reason, x->reason);
				if (s->test_running)
					emit_kill(c, stage_hook_step(c, si),
					    s->test_attempts, si);
				else
					s->finished_at = c->now;
			}
		}
	}
	if (!rollback_advance(c))
		emit_notify(c);
}

/* --- the transitions ------------------------------------------------------- */

/* Waiting: no stage of the execution runs, the current one may start. */
static bool
waiting(const struct exec *x)
{
	return !x->stage_started && !exec_is_terminal(x->state) &&
	    x->state != EXEC_ROLLING_BACK;
}

/* The state a waiting execution is in when nothing blocks it. */
static enum exec_state
waiting_state(const struct exec *x)
{
	return x->stage == 0 ? EXEC_QUEUED : EXEC_RUNNING;
}

/* "by ACTOR: REASON" for requests. */
static char *
request_reason(struct ctx *c, const char *what)
{
	const struct exec_event *ev = c->ev;

	return cfmt(c, "%s%s%s%s%s", what, ev->actor ? " by " : "",
	    ev->actor ? ev->actor : "", ev->reason ? ": " : "",
	    ev->reason ? ev->reason : "");
}

static int
refuse(struct ctx *c, const char *why)
{
	return gantry_error_set(c->err, GANTRY_ECONFLICT,
	    "execution %lld is %s: %s", (long long)c->x->id,
	    exec_state_name(c->x->state), why);
}

/* QUEUED, RUNNING, BLOCKED + stage-may-start: start x->stage, recording
 * each target's current version as its previous one. */
static int
on_may_start(struct ctx *c)
{
	struct exec *x = c->x;
	const struct exec_event *ev = c->ev;
	struct exec_stage *s;

	if (!waiting(x))
		return 0; /* stale: the stage already started */
	clear_blockers(x);
	if (x->stage >= x->nstages) { /* no stage at all */
		finish(c, EXEC_SUCCEEDED, NULL);
		return 0;
	}
	s = &x->stages[x->stage];
	x->state = EXEC_RUNNING;
	x->stage_started = true;
	s->started_at = c->now;
	/* an override allows one stage start: this one */
	for (size_t i = 0; i < x->noverrides; i++) {
		struct exec_override *o = &x->overrides[i];

		if (exec_override_active(x, s->name, o->blocker, c->now) == o)
			o->used = true;
	}
	for (size_t i = 0; i < s->ntargets; i++) {
		struct exec_target *t = &s->targets[i];

		if (t->touched || t->previous != NULL)
			continue; /* recorded once, never changed */
		for (size_t k = 0; k < ev->ntarget_versions; k++)
			if (strcmp(ev->target_names[k], t->name) == 0) {
				t->previous = cdup(c, ev->target_versions[k]);
				break;
			}
	}
	switch (def_stage(c, x->stage)->type) {
	case STAGE_BUILD:
		if (x->artifact_sha256 != NULL) {
			s->state = SST_SKIPPED; /* given at trigger */
			s->finished_at = c->now;
		} else {
			s->state = SST_DEPLOYING;
			start_stage_hook(c, x->stage);
		}
		break;
	case STAGE_TEST:
		s->state = SST_TESTING;
		start_stage_hook(c, x->stage);
		break;
	default:
		s->state = SST_DEPLOYING;
		break;
	}
	advance(c);
	return 0;
}

/* PAUSED + stage-may-start: nothing starts; the blockers are gone, and
 * resuming asks for the stage again. */
static int
on_may_start_paused(struct ctx *c)
{
	struct exec *x = c->x;

	if (!waiting(x))
		return 0;
	clear_blockers(x);
	if (x->paused_from == EXEC_BLOCKED)
		x->paused_from = waiting_state(x);
	return 0;
}

/* QUEUED, RUNNING, BLOCKED, PAUSED + blocked: the waiting stage may not
 * start; the blockers replace the earlier ones. */
static int
on_blocked(struct ctx *c)
{
	struct exec *x = c->x;
	const struct exec_event *ev = c->ev;
	struct exec_blocker *b;
	bool was_blocked;

	if (!waiting(x) || x->stage >= x->nstages)
		return 0;
	was_blocked = x->state == EXEC_BLOCKED ||
	    (x->state == EXEC_PAUSED && x->paused_from == EXEC_BLOCKED);
	if ((b = calloc(ev->nblockers, sizeof(*b))) == NULL) {
		c->oom = true;
		return 0;
	}
	for (size_t i = 0; i < ev->nblockers; i++) {
		b[i].kind = cdup(c, ev->blockers[i].kind);
		b[i].reason = cdup(c, ev->blockers[i].reason);
		b[i].until = ev->blockers[i].until;
		b[i].id = cdup(c, ev->blockers[i].id);
	}
	blockers_free(x->blockers, x->nblockers);
	x->blockers = b;
	x->nblockers = ev->nblockers;
	x->stages[x->stage].state = SST_BLOCKED;
	if (x->state == EXEC_PAUSED)
		x->paused_from = EXEC_BLOCKED;
	else
		x->state = EXEC_BLOCKED;
	/* notify when it becomes blocked, not when the reasons change */
	if (!was_blocked && ev->nblockers > 0)
		emit_notify_text(c, "blocked",
		    cfmt(c, "stage %s: %s%s", x->stages[x->stage].name,
		        ev->blockers[0].reason ? ev->blockers[0].reason
		                               : ev->blockers[0].kind,
		        ev->nblockers > 1 ? " (and more)" : ""));
	return 0;
}

/* Which step an outcome is about. */
enum step_kind { STEP_STAGE_HOOK, STEP_DEPLOY, STEP_ROLLBACK };

struct step_ref {
	enum step_kind kind;
	size_t stage, target;
};

/* Find the step named name, among the steps that are running now with
 * this attempt; false: stale or unknown (the outcome is ignored). */
static bool
step_running(
    const struct ctx *c, const char *name, int attempt, struct step_ref *r)
{
	const struct exec *x = c->x;

	for (size_t si = 0; si < x->nstages; si++) {
		const struct stage *st = def_stage(c, si);
		const struct exec_stage *s = &x->stages[si];
		size_t len = strlen(s->name);
		const char *rest;

		if (st->type == STAGE_BUILD && strcmp(name, "build") == 0 &&
		    s->test_running && s->test_attempts == attempt) {
			*r = (struct step_ref){STEP_STAGE_HOOK, si, 0};
			return true;
		}
		if (strncmp(name, s->name, len) != 0 || name[len] != ':')
			continue;
		rest = name + len + 1;
		if (((st->type == STAGE_TEST && strcmp(rest, "test") == 0) ||
		        (st->type == STAGE_DEPLOY &&
		            strcmp(rest, "tests") == 0)) &&
		    s->test_running && s->test_attempts == attempt) {
			*r = (struct step_ref){STEP_STAGE_HOOK, si, 0};
			return true;
		}
		for (size_t ti = 0; ti < s->ntargets; ti++) {
			const struct exec_target *t = &s->targets[ti];
			size_t tl = strlen(t->name);

			if (!t->hook_running ||
			    strncmp(rest, t->name, tl) != 0 || rest[tl] != ':')
				continue;
			if (t->state == TST_DEPLOYING &&
			    strcmp(rest + tl + 1, "deploy") == 0 &&
			    t->deploy_attempts == attempt) {
				*r = (struct step_ref){STEP_DEPLOY, si, ti};
				return true;
			}
			if (t->state == TST_ROLLING_BACK &&
			    strcmp(rest + tl + 1, "rollback") == 0 &&
			    t->rollback_attempts == attempt) {
				*r = (struct step_ref){STEP_ROLLBACK, si, ti};
				return true;
			}
		}
	}
	return false;
}

/* "exit N" / "timed out": how a hook ended. */
static char *
outcome_text(struct ctx *c)
{
	if (c->ev->kind == EV_HOOK_TIMED_OUT)
		return cdup(c, "timed out");
	return cfmt(c, "exit status %d", c->ev->status);
}

/* The outcome of a stage's own hook: build, test command, tests. */
static void
stage_hook_outcome(struct ctx *c, size_t si, bool ok)
{
	struct exec *x = c->x;
	const struct exec_event *ev = c->ev;
	const struct stage *st = def_stage(c, si);
	struct exec_stage *s = &x->stages[si];
	char *how, *reason;

	s->test_running = false;
	if (s->state == SST_CANCELLED || s->state == SST_ROLLING_BACK) {
		if (s->state == SST_CANCELLED) /* killed: it is over */
			s->finished_at = c->now;
		return;
	}
	/* a dry run builds nothing: it goes on without an artifact */
	if (ok && st->type == STAGE_BUILD && ev->artifact_sha256 == NULL &&
	    !x->dry_run) {
		ok = false;
		how = cdup(c, "no artifact reported");
	} else {
		how = outcome_text(c);
	}
	if (ok) {
		if (st->type == STAGE_BUILD) {
			set_str(c, &x->artifact_sha256, ev->artifact_sha256);
			set_str(c, &x->artifact_uri, ev->artifact_uri);
			set_str(
			    c, &x->artifact_signature, ev->artifact_signature);
		}
		free(how);
		advance(c); /* no-op while paused: resume goes on */
		return;
	}
	switch (st->type) {
	case STAGE_BUILD:
		reason = cfmt(
		    c, "build stage %s failed: %s", s->name, how ? how : "");
		break;
	case STAGE_TEST:
		/* Stops the pipeline; the stages deployed before stay (only
		 * an in-flight deploy stage is rolled back by itself). */
		reason = cfmt(
		    c, "test stage %s failed: %s", s->name, how ? how : "");
		break;
	default:
		reason = cfmt(
		    c, "stage %s: tests failed: %s", s->name, how ? how : "");
		free(how);
		begin_rollback(c, EXEC_ROLLED_BACK, reason, false);
		return;
	}
	free(how);
	s->state = SST_FAILED;
	s->finished_at = c->now;
	set_str(c, &s->reason, reason);
	finish(c, EXEC_FAILED, reason);
}

/* The outcome of a target's deploy hook. */
static void
deploy_outcome(struct ctx *c, size_t si, size_t ti, bool ok)
{
	struct exec *x = c->x;
	struct exec_stage *s = &x->stages[si];
	struct exec_target *t = &s->targets[ti];
	char *how, *reason;

	t->hook_running = false;
	t->finished_at = c->now;
	if (s->state == SST_ROLLING_BACK) {
		/* killed (or it ended before the kill): roll it back now.
		 * No IN_SET_VERSION: its rollback is what counts. */
		t->kill_sent = false;
		start_rollback(c, si, ti);
		return;
	}
	if (ok) {
		t->state = TST_DEPLOYED;
		emit_set_version(c, si, ti, x->artifact_sha256);
		advance(c);
		return;
	}
	t->state = TST_FAILED;
	how = outcome_text(c);
	reason = cfmt(c, "stage %s: target %s: deploy %s", s->name, t->name,
	    how ? how : "failed");
	free(how);
	begin_rollback(c, EXEC_ROLLED_BACK, reason, false);
}

/* The outcome of a target's rollback hook: ROLLED_BACK (its version is
 * the previous one again), or FAILED (unknown). */
static void
rollback_outcome(struct ctx *c, size_t si, size_t ti, bool ok)
{
	struct exec_target *t = &c->x->stages[si].targets[ti];

	t->hook_running = false;
	t->finished_at = c->now;
	if (ok) {
		t->state = TST_ROLLED_BACK;
		emit_set_version(c, si, ti, t->previous);
	} else {
		t->state = TST_FAILED;
	}
}

/* RUNNING, PAUSED, ROLLING_BACK + hook-finished | hook-timed-out: the
 * one outcome of a running step's current attempt; others are ignored. */
static int
on_hook_outcome(struct ctx *c)
{
	const struct exec_event *ev = c->ev;
	bool ok = ev->kind == EV_HOOK_FINISHED && ev->status == 0;
	struct step_ref r;

	if (!step_running(c, ev->step, ev->attempt, &r))
		return 0; /* stale, duplicate or unknown: ignored */
	switch (r.kind) {
	case STEP_STAGE_HOOK:
		stage_hook_outcome(c, r.stage, ok);
		break;
	case STEP_DEPLOY:
		deploy_outcome(c, r.stage, r.target, ok);
		break;
	case STEP_ROLLBACK:
		rollback_outcome(c, r.stage, r.target, ok);
		break;
	}
	if (c->x->state == EXEC_ROLLING_BACK)
		rollback_advance(c);
	return 0;
}

/* RUNNING, PAUSED + timer-fired: the armed bake timer of the current
 * stage is over (bake_until = 0).  Early: armed again for its deadline.
 * While paused the stage stays BAKING with bake_until = 0 (remembered);
 * resume goes on. */
static int
on_timer(struct ctx *c)
{
	struct exec *x = c->x;
	struct exec_stage *s;
	char *name;
	bool match;

	if (!x->stage_started || x->stage >= x->nstages)
		return 0;
	s = &x->stages[x->stage];
	if (s->state != SST_BAKING || s->bake_until == 0)
		return 0;
	name = bake_timer(c, x->stage);
	match = name != NULL && strcmp(name, c->ev->timer) == 0;
	free(name);
	if (!match)
		return 0;
	if (c->now < s->bake_until) {
		emit_timer(c, IN_ARM_TIMER, x->stage);
		return 0;
	}
	add_decision(c, s->name, "bake_passed", NULL,
	    cfmt(c, "%s of stage %s passed: no alarm fired",
	        one_box_baking(def_stage(c, x->stage), s) ? "one-box bake"
	                                                  : "bake",
	        s->name),
	    c->ev->detail);
	s->bake_until = 0;
	advance(c);
	return 0;
}

static bool
guarded_by(const struct stage *st, const char *alarm)
{
	for (size_t i = 0; i < st->nalarms; i++)
		if (strcmp(st->alarms[i], alarm) == 0)
			return true;
	return false;
}

/*
 * RUNNING, BLOCKED, PAUSED + alarm-fired (promise 3).  The alarm matters
 * when it guards (is in the `alarms` of) a deploy stage this execution
 * has deployed.  When it guards the stage in flight (deploying, baking,
 * testing), that stage is rolled back: the newest change is the one it
 * watches now, even when it guarded earlier stages too.  When it guards
 * only stages that already succeeded, every deployed stage is rolled
 * back, newest first (the change reached everything after them too).  Ends ROLLED_BACK with the alarm's reason,
 * and the decision is recorded with its datapoints.  An alarm that
 * guards nothing deployed is only recorded (the daemon blocks the next
 * stage with it).
 */
static int
on_alarm(struct ctx *c)
{
	struct exec *x = c->x;
	const char *alarm = c->ev->alarm;
	bool in_flight = false, earlier = false;
	const char *where = NULL;

	if (x->stage_started && x->stage < x->nstages) {
		const struct stage *st = def_stage(c, x->stage);
		const struct exec_stage *s = &x->stages[x->stage];

		in_flight = st->type == STAGE_DEPLOY &&
		    (s->state == SST_DEPLOYING || s->state == SST_BAKING ||
		        s->state == SST_TESTING) &&
		    guarded_by(st, alarm);
		if (in_flight)
			where = s->name;
	}
	for (size_t si = 0; si < x->nstages; si++)
		if (x->stages[si].state == SST_SUCCEEDED &&
		    def_stage(c, si)->type == STAGE_DEPLOY &&
		    guarded_by(def_stage(c, si), alarm)) {
			earlier = true;
			if (where == NULL)
				where = x->stages[si].name;
		}
	if (!in_flight && !earlier)
		return 0;
	add_decision(c, where, "alarm", alarm,
	    cfmt(c, "alarm %s%s%s", alarm, c->ev->reason ? ": " : "",
	        c->ev->reason ? c->ev->reason : ""),
	    c->ev->detail);
	begin_rollback(c, EXEC_ROLLED_BACK,
	    cfmt(c, "alarm %s%s%s", alarm, c->ev->reason ? ": " : "",
	        c->ev->reason ? c->ev->reason : ""),
	    earlier && !in_flight);
	return 0;
}

/*
 * QUEUED, BLOCKED, PAUSED + override: the waiting stage may start despite
 * the blocker it names (one of x->blockers, overridable), once, until
 * ev->expires.  Recorded on the execution, and notified.
 */
static int
on_override(struct ctx *c)
{
	struct exec *x = c->x;
	const struct exec_event *ev = c->ev;
	const struct exec_blocker *b = NULL;
	struct exec_override *v, *o;
	const char *stage;

	if (!waiting(x) || x->stage >= x->nstages)
		return refuse(c, "no stage is waiting to start");
	for (size_t i = 0; i < x->nblockers; i++)
		if (x->blockers[i].id != NULL &&
		    strcmp(x->blockers[i].id, ev->blocker) == 0)
			b = &x->blockers[i];
	if (b == NULL)
		return refuse(c, "no such blocker on its waiting stage");
	if (ev->expires <= c->now)
		return refuse(c, "the override expires before it starts");
	stage = x->stages[x->stage].name;
	v = realloc(x->overrides, (x->noverrides + 1) * sizeof(*v));
	if (v == NULL) {
		c->oom = true;
		return 0;
	}
	x->overrides = v;
	o = &v[x->noverrides++];
	memset(o, 0, sizeof(*o));
	o->stage = cdup(c, stage);
	o->blocker = cdup(c, ev->blocker);
	o->actor = cdup(c, ev->actor);
	o->reason = cdup(c, ev->reason);
	o->at = c->now;
	o->expires = ev->expires;
	add_decision(c, stage, "override", ev->blocker,
	    cfmt(c, "%s overridden by %s: %s", b->reason ? b->reason : b->kind,
	        ev->actor ? ev->actor : "unknown",
	        ev->reason ? ev->reason : ""),
	    NULL);
	emit_notify_text(c, "override",
	    cfmt(c, "stage %s may start despite %s (by %s: %s)", stage,
	        ev->blocker, ev->actor ? ev->actor : "unknown",
	        ev->reason ? ev->reason : ""));
	return 0;
}

/* QUEUED, RUNNING, BLOCKED, PAUSED + abort: roll back the in-flight
 * deploy stage only; ends ABORTED. */
static int
on_abort(struct ctx *c)
{
	begin_rollback(c, EXEC_ABORTED, request_reason(c, "aborted"), false);
	return 0;
}

/* QUEUED, RUNNING, BLOCKED, PAUSED + rollback: the in-flight stage, then
 * every SUCCEEDED deploy stage in reverse order; ends ROLLED_BACK. */
static int
on_rollback(struct ctx *c)
{
	begin_rollback(
	    c, EXEC_ROLLED_BACK, request_reason(c, "rollback requested"), true);
	return 0;
}

/* ROLLING_BACK + rollback: widen a rollback of the in-flight stage to
 * every deployed stage (the final state stays: an abort ends ABORTED). */
static int
on_rollback_widen(struct ctx *c)
{
	if (c->x->rolling_back_all)
		return refuse(c, "already rolling back every stage");
	c->x->rolling_back_all = true;
	return 0;
}

/* SUCCEEDED + rollback: the one way out of a terminal state.  Reopens
 * into ROLLING_BACK and rolls back every deployed stage in reverse order
 * (no bakes, no tests); ends ROLLED_BACK (FAILED if a rollback fails). */
static int
on_rollback_reopen(struct ctx *c)
{
	begin_rollback(
	    c, EXEC_ROLLED_BACK, request_reason(c, "rollback requested"), true);
	return 0;
}

/* QUEUED, RUNNING, BLOCKED + pause: running hooks go on, nothing new
 * starts until resume. */
static int
on_pause(struct ctx *c)
{
	c->x->paused_from = c->x->state;
	c->x->state = EXEC_PAUSED;
	c->x->pause_requested = true;
	return 0;
}

/* PAUSED + resume: back to where it was, and on from there. */
static int
on_resume(struct ctx *c)
{
	struct exec *x = c->x;

	x->state = x->paused_from;
	x->pause_requested = false;
	if (waiting(x))
		emit_wait(c);
	else
		advance(c);
	return 0;
}

/* QUEUED, RUNNING, BLOCKED, PAUSED + superseded: only before any stage
 * started. */
static int
on_supersede(struct ctx *c)
{
	if (c->x->stage != 0 || c->x->stage_started)
		return refuse(c, "a stage already started");
	finish(c, EXEC_SUPERSEDED,
	    cfmt(c, "superseded by execution %lld", (long long)c->ev->other));
	return 0;
}

/* QUEUED, RUNNING, BLOCKED, PAUSED + rejected (bad signature, review
 * gate): only while waiting for a stage and before any target was
 * touched. */
static int
on_reject(struct ctx *c)
{
	const struct exec *x = c->x;

	/* before anything was deployed: between stages, but no target of
	 * any stage touched (the review gate runs before the first deploy
	 * stage, after a build) */
	if (x->stage_started)
		return refuse(c, "a stage already started");
	for (size_t si = 0; si < x->nstages; si++)
		for (size_t ti = 0; ti < x->stages[si].ntargets; ti++)
			if (x->stages[si].targets[ti].touched)
				return refuse(c, "a deploy stage already ran");
	finish(c, EXEC_REJECTED,
	    cfmt(c, "rejected%s%s", c->ev->reason ? ": " : "",
	        c->ev->reason ? c->ev->reason : ""));
	return 0;
}

/*
 * Any live state + restarted: gantryd lost its children and timers.
 * Every running step runs again with attempt + 1 (a step told to die is
 * told again instead, same attempt), every armed timer is armed again for
 * its recorded deadline, and a waiting execution asks for its stage
 * again (unless paused: resume asks).
 */
static int
on_restart(struct ctx *c)
{
	struct exec *x = c->x;

	for (size_t si = 0; si < x->nstages; si++) {
		struct exec_stage *s = &x->stages[si];

		if (s->test_running) {
			if (s->state == SST_CANCELLED ||
			    s->state == SST_ROLLING_BACK)
				emit_kill(c, stage_hook_step(c, si),
				    s->test_attempts, si);
			else
				start_stage_hook(c, si);
		}
		for (size_t ti = 0; ti < s->ntargets; ti++) {
			struct exec_target *t = &s->targets[ti];

			if (!t->hook_running)
				continue;
			if (t->kill_sent) {
				emit_kill(c, target_step(c, si, ti, "deploy"),
				    t->deploy_attempts, si);
				continue;
			}
			if (t->state == TST_DEPLOYING)
				t->deploy_attempts++;
			else
				t->rollback_attempts++;
			emit_target_hook(c, si, ti);
		}
		if (s->state == SST_BAKING && s->bake_until != 0)
			emit_timer(c, IN_ARM_TIMER, si);
	}
	if (waiting(x) && x->state != EXEC_PAUSED)
		emit_wait(c);
	return 0;
}

#define S(st) (1u << (st))
#define WAITING_STATES (S(EXEC_QUEUED) | S(EXEC_RUNNING) | S(EXEC_BLOCKED))
#define LIVE_STATES (WAITING_STATES | S(EXEC_PAUSED) | S(EXEC_ROLLING_BACK))

/*
 * THE TABLE: every transition of an execution.  The first row whose event
 * and state match applies.  No row: a request (abort, rollback, pause,
 * resume, superseded, rejected) is refused with GANTRY_ECONFLICT and x is
 * unchanged (the daemon answers 409 and persists nothing); any other
 * event is recorded (seq + 1) and changes nothing else -- so terminal
 * states absorb everything, except SUCCEEDED + rollback (below), and
 * alarm-cleared is always only recorded (the daemon turns a cleared
 * blocker into stage-may-start).
 */
typedef int (*transition_fn)(struct ctx *c);

static const struct transition {
	enum exec_event_kind event;
	unsigned states; /* S(exec_state) bits */
	transition_fn fn;
} transitions[] = {
    /* starting stages */
    {EV_STAGE_MAY_START, WAITING_STATES, on_may_start},
    {EV_STAGE_MAY_START, S(EXEC_PAUSED), on_may_start_paused},
    {EV_BLOCKED, WAITING_STATES | S(EXEC_PAUSED), on_blocked},
    /* steps ending */
    {EV_HOOK_FINISHED, S(EXEC_RUNNING) | S(EXEC_PAUSED) | S(EXEC_ROLLING_BACK),
        on_hook_outcome},
    {EV_HOOK_TIMED_OUT, S(EXEC_RUNNING) | S(EXEC_PAUSED) | S(EXEC_ROLLING_BACK),
        on_hook_outcome},
    {EV_TIMER_FIRED, S(EXEC_RUNNING) | S(EXEC_PAUSED), on_timer},
    /* stopping */
    {EV_ALARM_FIRED, S(EXEC_RUNNING) | S(EXEC_BLOCKED) | S(EXEC_PAUSED),
        on_alarm},
    {EV_OVERRIDE, WAITING_STATES | S(EXEC_PAUSED), on_override},
    {EV_ABORT, WAITING_STATES | S(EXEC_PAUSED), on_abort},
    {EV_ROLLBACK, WAITING_STATES | S(EXEC_PAUSED), on_rollback},
    {EV_ROLLBACK, S(EXEC_ROLLING_BACK), on_rollback_widen},
    {EV_ROLLBACK, S(EXEC_SUCCEEDED), on_rollback_reopen},
    {EV_SUPERSEDED, WAITING_STATES | S(EXEC_PAUSED), on_supersede},
    {EV_REJECTED, WAITING_STATES | S(EXEC_PAUSED), on_reject},
    /* holding */
    {EV_PAUSE, WAITING_STATES, on_pause},
    {EV_RESUME, S(EXEC_PAUSED), on_resume},
    /* gantryd restarted */
    {EV_RESTARTED, LIVE_STATES, on_restart},
};

static bool
is_request(enum exec_event_kind k)
{
	return k == EV_ABORT || k == EV_ROLLBACK || k == EV_PAUSE ||
	    k == EV_RESUME || k == EV_SUPERSEDED || k == EV_REJECTED ||
	    k == EV_OVERRIDE;
}

/* Does def describe x (exec_new(def) laid it out)? */
static int
check_def(
    const struct exec *x, const struct exec_def *def, struct gantry_error *err)
{
	if (def == NULL || (def->nstages > 0 && def->stages == NULL))
		return gantry_error_set(err, GANTRY_EINVAL, "no definition");
	if (def->nstages != x->nstages)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "execution %lld has %zu stages, its definition %zu",
		    (long long)x->id, x->nstages, def->nstages);
	if (x->nstages > 0 ? x->stage >= x->nstages : x->stage != 0)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "execution %lld: stage %zu out of range", (long long)x->id,
		    x->stage);
	for (size_t i = 0; i < x->nstages; i++) {
		const struct stage *st = &def->stages[i];
		size_t n = 0;

		for (size_t g = 0; st->type == STAGE_DEPLOY && g < st->ngroups;
		     g++)
			n += st->groups[g].ntargets;
		if (st->type == STAGE_WAVES || x->stages[i].ntargets != n ||
		    st->name == NULL ||
		    strcmp(st->name, x->stages[i].name) != 0)
			return gantry_error_set(err, GANTRY_EINVAL,
			    "execution %lld: stage %zu does not match its "
			    "definition",
			    (long long)x->id, i);
	}
	return 0;
}

/* Is ev well-formed? (Not whether it applies: that is the table's.) */
static int
check_event(const struct exec_event *ev, struct gantry_error *err)
{
	const char *name = exec_event_name(ev->kind);

	switch (ev->kind) {
	case EV_TRIGGERED:
		return gantry_error_set(err, GANTRY_EINVAL,
		    "triggered is applied by exec_new(), not exec_step()");
	case EV_STAGE_MAY_START:
		if (ev->ntarget_versions > 0 &&
		    (ev->target_names == NULL || ev->target_versions == NULL))
			goto bad;
		for (size_t i = 0; i < ev->ntarget_versions; i++)
			if (ev->target_names[i] == NULL)
				goto bad;
		return 0;
	case EV_BLOCKED:
		if (ev->nblockers == 0 || ev->blockers == NULL)
			goto bad;
		for (size_t i = 0; i < ev->nblockers; i++)
			if (ev->blockers[i].kind == NULL)
				goto bad;
		return 0;
	case EV_HOOK_FINISHED:
	case EV_HOOK_TIMED_OUT:
		if (ev->step == NULL)
			goto bad;
		return 0;
	case EV_TIMER_FIRED:
		if (ev->timer == NULL)
			goto bad;
		return 0;
	case EV_ALARM_FIRED:
	case EV_ALARM_CLEARED:
		if (ev->alarm == NULL)
			goto bad;
		return 0;
	case EV_ABORT:
	case EV_ROLLBACK:
	case EV_PAUSE:
	case EV_RESUME:
	case EV_SUPERSEDED:
	case EV_REJECTED:
	case EV_RESTARTED:
		return 0;
	case EV_OVERRIDE:
		if (ev->blocker == NULL)
			goto bad;
		return 0;
	}
	return gantry_error_set(
	    err, GANTRY_EINVAL, "unknown event kind %d", (int)ev->kind);
bad:
	return gantry_error_set(err, GANTRY_EINVAL, "malformed %s event", name);
}

/* Append every intent of from to to (moved; from is emptied). */
static int
intents_move(struct exec_intents *to, struct exec_intents *from)
{
	if (from->n == 0)
		return 0;
	if (to->cap - to->n < from->n) {
		size_t ncap = to->n + from->n;
		struct exec_intent *v = realloc(to->v, ncap * sizeof(*v));

		if (v == NULL)
			return -1;
		to->v = v;
		to->cap = ncap;
	}
	memcpy(to->v + to->n, from->v, from->n * sizeof(*from->v));
	to->n += from->n;
	free(from->v);
	from->v = NULL;
	from->n = from->cap = 0;
	return 0;
}

int
exec_step(struct exec *x, const struct exec_def *def,
    const struct exec_event *ev, int64_t now, struct exec_intents *out,
    struct gantry_error *err)
{
	struct exec_intents mine = {0};
	struct ctx c = {0};
	struct exec *y = NULL, tmp;
	const struct transition *row = NULL;

	if (check_def(x, def, err) < 0 || check_event(ev, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]);
	     i++)
		if (transitions[i].event == ev->kind &&
		    (transitions[i].states & S(x->state)) != 0) {
			row = &transitions[i];
			break;
		}
	if (row == NULL && is_request(ev->kind))
		return gantry_error_set(err, GANTRY_ECONFLICT,
		    "execution %lld is %s: %s refused", (long long)x->id,
		    exec_state_name(x->state), exec_event_name(ev->kind));
	if ((y = exec_dup(x)) == NULL)
		goto nomem;
	c = (struct ctx){y, def, ev, now, &mine, err, false};
	if (row != NULL && row->fn(&c) < 0)
		goto fail;
	if (c.oom)
		goto nomem;
	y->seq++;
	if (intents_move(out, &mine) < 0)
		goto nomem;
	tmp = *x;
	*x = *y;
	*y = tmp;
	exec_free(y);
	return 0;
nomem:
	gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
fail:
	exec_intents_clear(&mine);
	exec_free(y);
	return -1;
}

/* --- invariants ------------------------------------------------------------ */

#define CHECK(cond, fmt, ...)                                                  \
	do {                                                                   \
		if (!(cond))                                                   \
			return gantry_error_set(err, GANTRY_EINTERNAL,         \
			    "execution %lld: " fmt, (long long)x->id,          \
			    ##__VA_ARGS__);                                    \
	} while (0)

static bool
stage_in_flight(enum stage_state s)
{
	return s == SST_DEPLOYING || s == SST_BAKING || s == SST_TESTING;
}

/* The invariants of one target of deploy stage s (index si). */
static int
check_target(const struct exec *x, const struct exec_stage *s,
    const struct exec_target *t, struct gantry_error *err)
{
	CHECK(t->touched == (t->deploy_attempts > 0),
	    "%s:%s: touched iff a deploy attempt started", s->name, t->name);
	CHECK(t->touched || t->state == TST_PENDING, "%s:%s: untouched but %s",
	    s->name, t->name, target_state_name(t->state));
	CHECK(t->rollback_attempts == 0 || t->state == TST_ROLLING_BACK ||
	        t->state == TST_ROLLED_BACK || t->state == TST_FAILED,
	    "%s:%s: rolled back but %s", s->name, t->name,
	    target_state_name(t->state));
	CHECK(t->rollback_attempts == 0 || t->touched,
	    "%s:%s: rolled back but never deployed", s->name, t->name);
	CHECK(t->hook_running ==
	        (t->state == TST_DEPLOYING || t->state == TST_ROLLING_BACK),
	    "%s:%s: %s with hook_running %d", s->name, t->name,
	    target_state_name(t->state), t->hook_running);
	CHECK(!t->kill_sent || (t->hook_running && t->state == TST_DEPLOYING),
	    "%s:%s: kill_sent without a running deploy", s->name, t->name);
	/* no target deploys after its stage began rolling back, unless its
	 * hook already ran then (and was told to die) */
	CHECK(!(s->state == SST_ROLLING_BACK || s->state == SST_ROLLED_BACK ||
	          s->state == SST_FAILED || s->state == SST_CANCELLED) ||
	        t->state != TST_DEPLOYING || t->kill_sent,
	    "%s:%s: deploying in a %s stage", s->name, t->name,
	    stage_state_name(s->state));
	CHECK(!stage_in_flight(s->state) || s->state == SST_DEPLOYING ||
	        t->state == TST_PENDING || t->state == TST_DEPLOYED,
	    "%s:%s: %s while the stage is %s", s->name, t->name,
	    target_state_name(t->state), stage_state_name(s->state));
	CHECK(s->state != SST_DEPLOYING ||
	        (t->state != TST_ROLLING_BACK && t->state != TST_ROLLED_BACK &&
	            t->state != TST_FAILED),
	    "%s:%s: %s in a deploying stage", s->name, t->name,
	    target_state_name(t->state));
	CHECK(s->state != SST_SUCCEEDED || t->state == TST_DEPLOYED,
	    "%s:%s: %s in a succeeded stage", s->name, t->name,
	    target_state_name(t->state));
	CHECK(s->state != SST_ROLLED_BACK ||
	        t->state == (t->touched ? TST_ROLLED_BACK : TST_PENDING),
	    "%s:%s: %s in a rolled back stage", s->name, t->name,
	    target_state_name(t->state));
	return 0;
}

/* The invariants of deploy stage si that are about its progress. */
static int
check_deploy_stage(const struct exec *x, const struct stage *st,
    const struct exec_stage *s, struct gantry_error *err)
{
	size_t skip = has_one_box(st) ? 1 : 0;
	bool later_touched = false;

	/* one-box first, then (after its bake) the rest */
	for (size_t i = skip; skip && i < s->ntargets; i++)
		CHECK(!s->targets[i].touched || s->one_box_done,
		    "%s: %s deployed before the one-box was done", s->name,
		    s->targets[i].name);
	CHECK(!s->one_box_done || !skip || s->targets[0].state != TST_PENDING,
	    "%s: one-box done but not deployed", s->name);
	/* sequential: a group starts only after the earlier ones */
	for (size_t g = st->ngroups; st->sequential && g-- > 0;) {
		size_t a = 0, b;
		bool all_done = true, any = false;

		for (size_t h = 0; h < g; h++)
			a += st->groups[h].ntargets;
		b = a + st->groups[g].ntargets;
		for (size_t i = a < skip ? skip : a; i < b; i++) {
			all_done = all_done && s->targets[i].touched &&
			    s->targets[i].state != TST_DEPLOYING;
			any = any || s->targets[i].touched;
		}
		CHECK(!later_touched || all_done ||
		        s->state == SST_ROLLING_BACK ||
		        s->state == SST_ROLLED_BACK || s->state == SST_FAILED,
		    "%s: a later group started before group %zu was done",
		    s->name, g);
		later_touched = later_touched || any;
	}
	/* promotion only after the bakes: the timer(s) fired on time */
	CHECK(s->state != SST_SUCCEEDED ||
	        s->finished_at - s->started_at >=
	            st->bake_ms + (skip ? st->one_box_bake_ms : 0),
	    "%s: succeeded %lld ms after it started, before its bakes", s->name,
	    (long long)(s->finished_at - s->started_at));
	CHECK(s->state != SST_SUCCEEDED || !skip || s->one_box_done,
	    "%s: succeeded without its one-box", s->name);
	CHECK((s->bake_until != 0) <= (s->state == SST_BAKING),
	    "%s: bake_until set while %s", s->name, stage_state_name(s->state));
	CHECK(s->state != SST_BAKING || s->bake_until != 0 ||
	        x->state == EXEC_PAUSED,
	    "%s: baking without a timer", s->name);
	CHECK(s->state != SST_TESTING || st->tests != NULL,
	    "%s: testing without tests", s->name);
	return 0;
}

int
exec_check_invariants(
    const struct exec *x, const struct exec_def *def, struct gantry_error *err)
{
	bool terminal = exec_is_terminal(x->state);
	size_t rolling = 0;

	if (check_def(x, def, err) < 0)
		return -1;
	CHECK(x->seq >= 1, "seq %lld", (long long)x->seq);
	CHECK(x->state <= EXEC_SUPERSEDED, "bad state %d", (int)x->state);
	CHECK(x->state != EXEC_QUEUED || (x->stage == 0 && !x->stage_started),
	    "queued after a stage started");
	CHECK(x->state != EXEC_BLOCKED || !x->stage_started,
	    "blocked while its stage runs");
	CHECK((x->nblockers > 0) ==
	        (x->state == EXEC_BLOCKED ||
	            (x->state == EXEC_PAUSED &&
	                x->paused_from == EXEC_BLOCKED)),
	    "%zu blockers while %s", x->nblockers, exec_state_name(x->state));
	CHECK(x->state != EXEC_PAUSED || x->paused_from == EXEC_QUEUED ||
	        x->paused_from == EXEC_RUNNING ||
	        x->paused_from == EXEC_BLOCKED,
	    "paused from %s", exec_state_name(x->paused_from));
	CHECK(x->pause_requested == (x->state == EXEC_PAUSED),
	    "pause_requested %d while %s", x->pause_requested,
	    exec_state_name(x->state));
	CHECK(x->state != EXEC_ROLLING_BACK ||
	        x->final_state == EXEC_ROLLED_BACK ||
	        x->final_state == EXEC_ABORTED,
	    "rolling back towards %s", exec_state_name(x->final_state));
	CHECK(terminal || x->state == EXEC_ROLLING_BACK ||
	        (!x->rolling_back_all && x->final_state == EXEC_QUEUED),
	    "rollback flags while %s", exec_state_name(x->state));
	CHECK(terminal || x->finished_at == 0, "finished_at set while %s",
	    exec_state_name(x->state));
	CHECK(!terminal || !hooks_running(x), "%s with hooks running",
	    exec_state_name(x->state));
	CHECK(x->state != EXEC_SUCCEEDED || x->nstages == 0 ||
	        x->stage == x->nstages - 1,
	    "succeeded at stage %zu", x->stage);
	for (size_t i = 0; i < x->nstages; i++) {
		const struct stage *st = &def->stages[i];
		const struct exec_stage *s = &x->stages[i];
		bool started =
		    i < x->stage || (i == x->stage && x->stage_started);

		/* a stage starts only by stage-may-start, in order */
		if (!started)
			CHECK(s->state == SST_PENDING ||
			        s->state == SST_CANCELLED ||
			        (s->state == SST_BLOCKED && i == x->stage),
			    "%s: %s before it started", s->name,
			    stage_state_name(s->state));
		else
			CHECK(s->state != SST_PENDING &&
			        s->state != SST_BLOCKED && s->started_at != 0,
			    "%s: started but %s", s->name,
			    stage_state_name(s->state));
		CHECK(s->state != SST_CANCELLED || terminal ||
		        x->state == EXEC_ROLLING_BACK,
		    "%s: cancelled while %s", s->name,
		    exec_state_name(x->state));
		CHECK((s->state == SST_BLOCKED) ==
		        (x->nblockers > 0 && i == x->stage),
		    "%s: stage %s, %zu blockers", s->name,
		    stage_state_name(s->state), x->nblockers);
		CHECK(i >= x->stage || s->state == SST_SUCCEEDED ||
		        s->state == SST_SKIPPED ||
		        s->state == SST_ROLLING_BACK ||
		        s->state == SST_ROLLED_BACK || s->state == SST_FAILED,
		    "%s: %s behind the current stage", s->name,
		    stage_state_name(s->state));
		CHECK(!stage_in_flight(s->state) ||
		        (i == x->stage && x->stage_started &&
		            (x->state == EXEC_RUNNING ||
		                x->state == EXEC_PAUSED)),
		    "%s: %s while the execution is %s", s->name,
		    stage_state_name(s->state), exec_state_name(x->state));
		CHECK(!(i == x->stage && x->stage_started &&
		          (x->state == EXEC_RUNNING ||
		              x->state == EXEC_PAUSED)) ||
		        stage_in_flight(s->state),
		    "%s: %s but the execution runs it", s->name,
		    stage_state_name(s->state));
		CHECK(!s->test_running || stage_in_flight(s->state) ||
		        s->state == SST_CANCELLED ||
		        s->state == SST_ROLLING_BACK,
		    "%s: hook running while %s", s->name,
		    stage_state_name(s->state));
		CHECK(s->state != SST_SKIPPED || st->type == STAGE_BUILD,
		    "%s: skipped", s->name);
		CHECK(s->test_running <= (s->test_attempts > 0),
		    "%s: running without an attempt", s->name);
		if (s->state == SST_ROLLING_BACK)
			rolling++;
		CHECK(x->state == EXEC_ROLLING_BACK ||
		        s->state != SST_ROLLING_BACK,
		    "%s: rolling back while the execution is %s", s->name,
		    exec_state_name(x->state));
		if (st->type != STAGE_DEPLOY) {
			CHECK(s->state != SST_BAKING && s->bake_until == 0 &&
			        s->state != SST_ROLLING_BACK &&
			        s->state != SST_ROLLED_BACK,
			    "%s: %s", s->name, stage_state_name(s->state));
			continue;
		}
		for (size_t t = 0; t < s->ntargets; t++)
			if (check_target(x, s, &s->targets[t], err) < 0)
				return -1;
		if (check_deploy_stage(x, st, s, err) < 0)
			return -1;
	}
	CHECK(rolling <= 1, "%zu stages rolling back at once", rolling);
	CHECK(x->state != EXEC_SUCCEEDED || x->nstages == 0 ||
	        x->stages[x->nstages - 1].state == SST_SUCCEEDED ||
	        x->stages[x->nstages - 1].state == SST_SKIPPED,
	    "succeeded but its last stage is not");
	return 0;
}
