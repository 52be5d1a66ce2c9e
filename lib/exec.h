/*
 * exec.h - the execution state machine (SPEC.md section 5), pure:
 *
 *     exec_step(state, definition, event, now) -> state', intents
 *
 * No I/O, no clock, no globals.  The daemon persists every transition
 * (the event, the new snapshot) before it carries out the intents, so
 * replaying an execution's events through exec_step() from exec_new()
 * reproduces its stored snapshot exactly (exec_to_json() equal).
 *
 * The definition is the pipeline version the execution started with,
 * with waves expanded (struct exec_def); it never changes under an
 * execution.
 *
 * A "step" is one hook run about one thing, named by a stable string:
 *   "build", "STAGE:test", "STAGE:tests", "STAGE:TARGET:deploy",
 *   "STAGE:TARGET:rollback", "notify:SEQ".
 * Each run of a step has an attempt number (1, 2, ... after crashes).
 * Outcomes for a step that is not running, or for an older attempt, are
 * ignored (recorded as ignored): at most one outcome per step counts.
 */
#ifndef GANTRY_EXEC_H
#define GANTRY_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "pipeline.h"

enum exec_state {
	EXEC_QUEUED, /* waiting for its first stage */
	EXEC_RUNNING,
	EXEC_BLOCKED, /* the next stage may not start: see blockers */
	EXEC_PAUSED, /* no new step starts until resumed */
	EXEC_ROLLING_BACK,
	EXEC_ROLLED_BACK, /* terminal */
	EXEC_SUCCEEDED, /* terminal */
	EXEC_FAILED, /* terminal: a rollback failed too */
	EXEC_ABORTED, /* terminal: aborted on request, rolled back */
	EXEC_REJECTED, /* terminal: before running (review, signature) */
	EXEC_SUPERSEDED, /* terminal: a newer waiting execution won */
};

enum stage_state {
	SST_PENDING,
	SST_BLOCKED,
	SST_DEPLOYING,
	SST_BAKING,
	SST_TESTING,
	SST_SUCCEEDED,
	SST_FAILED,
	SST_ROLLING_BACK,
	SST_ROLLED_BACK,
	SST_SKIPPED,
	SST_CANCELLED,
};

enum target_state {
	TST_PENDING,
	TST_DEPLOYING,
	TST_DEPLOYED,
	TST_FAILED,
	TST_ROLLING_BACK,
	TST_ROLLED_BACK,
};

struct exec_target {
	char *name;
	char *group;
	enum target_state state;
	bool touched; /* a deploy hook was started: may have it */
	char *previous; /* version before this execution touched it;
				 NULL: none known (first deploy) */
	int deploy_attempts; /* attempts started for the deploy step */
	int rollback_attempts;
	bool hook_running; /* a hook of this target is running */
	bool kill_sent; /* its hook was told to die */
	int64_t started_at, finished_at; /* ms; 0 unset */
};

struct exec_stage {
	char *name;
	enum stage_state state;
	struct exec_target *targets;
	size_t ntargets;
	int batch; /* batches started so far */
	bool one_box_done; /* the one-box deployed and baked */
	int64_t bake_until; /* ms; 0 when not baking */
	int test_attempts;
	bool test_running;
	int64_t started_at, finished_at;
	char *reason; /* why it failed / was rolled back */
};

/* One blocker reason, given by the daemon (windows, busy targets, holds,
 * alarms, review): the machine only records them. */
struct exec_blocker {
	char *kind; /* "window", "busy", "queue", "hold", "alarm", "review" */
	char *reason;
	int64_t until; /* ms when known to clear by itself; 0 unknown */
	char *id; /* what an override names: "alarm:NAME", "window",
		     "hold:ID", "review"; NULL: not overridable (queue,
		     busy) */
};

/* An override (EV_OVERRIDE): the current stage may start despite the
 * blocker named `blocker`, once, until `expires` (ms). */
struct exec_override {
	char *stage;
	char *blocker; /* an exec_blocker id */
	char *actor, *reason;
	int64_t at, expires;
	bool used; /* the stage started under it */
};

/* A go/no-go decision, with what produced it (SPEC promise: "why did it
 * roll back?" is answered on the execution). */
struct exec_decision {
	int64_t at;
	char *stage; /* NULL: not about one stage */
	char *kind; /* "alarm", "bake_passed", "override" */
	char *subject; /* alarm name, blocker id */
	char *reason;
	json_t *detail; /* datapoints, rule, threshold (immutable; may be
			   NULL) */
};

/* At most this many decisions are kept per execution (the first ones:
 * the one that stopped a rollout is among them). */
#define EXEC_MAX_DECISIONS 64

struct exec {
	int64_t id;
	char *pipeline;
	int pipeline_version;
	char *revision;
	char *artifact_uri;
	char *artifact_sha256; /* NULL until built (or given) */
	char *artifact_signature;
	enum exec_state state;
	enum exec_state paused_from; /* state to resume to */
	bool pause_requested;
	int64_t seq; /* events applied so far */
	size_t stage; /* index of the current / next stage */
	bool stage_started; /* the current stage has begun */
	struct exec_stage *stages;
	size_t nstages;
	struct exec_blocker *blockers;
	size_t nblockers;
	struct exec_override *overrides;
	size_t noverrides;
	struct exec_decision *decisions;
	size_t ndecisions;
	bool rolling_back_all; /* a rollback request: all deployed stages */
	enum exec_state final_state; /* terminal state once rollbacks end */
	char *reason; /* why it ended (or is rolling back) */
	int64_t created_at, finished_at;
	int notify_seq;
	bool dry_run; /* a rehearsal: the daemon runs no deploy, rollback,
			 build or test hook (each step finishes with exit 0
			 at once) and records no target version; a build
			 reports no artifact, and that is fine */
};

/* What an execution runs: the stored pipeline version, waves expanded. */
struct exec_def {
	const struct pipeline *p;
	const struct stage *stages; /* expanded (waves.h) */
	size_t nstages;
};

enum exec_event_kind {
	EV_TRIGGERED, /* creates the execution (exec_new) */
	EV_STAGE_MAY_START, /* the daemon: no blocker for x->stage */
	EV_BLOCKED, /* the daemon: blockers for x->stage */
	EV_HOOK_FINISHED, /* step, attempt, exit status */
	EV_HOOK_TIMED_OUT, /* step, attempt */
	EV_TIMER_FIRED, /* timer name */
	EV_ALARM_FIRED, /* alarm name, reason */
	EV_ALARM_CLEARED, /* alarm name */
	EV_ABORT, /* actor, reason */
	EV_ROLLBACK, /* actor, reason */
	EV_PAUSE, /* actor, reason */
	EV_RESUME, /* actor, reason */
	EV_SUPERSEDED, /* by execution id */
	EV_REJECTED, /* reason (bad signature, review) */
	EV_RESTARTED, /* gantryd restarted: re-run every running
				 step with attempt + 1, re-arm timers,
				 re-request the stage */
	EV_OVERRIDE, /* blocker id, expires, actor, reason */
};
#define EV_LAST EV_OVERRIDE

struct exec_event {
	enum exec_event_kind kind;
	const char *step; /* hook events */
	int attempt; /* hook events */
	int status; /* EV_HOOK_FINISHED: exit status, or
				     128+signal when killed */
	const char *timer; /* EV_TIMER_FIRED */
	const char *alarm; /* alarm events */
	const char *actor; /* requests */
	const char *reason;
	int64_t other; /* EV_SUPERSEDED: by which execution */
	/* EV_HOOK_FINISHED of "build": the artifact gantry stored */
	const char *artifact_sha256, *artifact_uri, *artifact_signature;
	/* EV_STAGE_MAY_START: each target's current version (NULL: none) */
	const char *const *target_names;
	const char *const *target_versions;
	size_t ntarget_versions;
	/* EV_BLOCKED */
	const struct exec_blocker *blockers;
	size_t nblockers;
	/* EV_OVERRIDE */
	const char *blocker;
	int64_t expires; /* ms */
	/* EV_ALARM_FIRED, EV_TIMER_FIRED (a bake's end): what the decision
	 * was made on (borrowed) */
	const json_t *detail;
};

enum exec_intent_kind {
	IN_RUN_HOOK, /* spawn hook `hook` for step, attempt */
	IN_KILL_HOOK, /* TERM then KILL the step's process group */
	IN_ARM_TIMER, /* timer name at deadline (ms) */
	IN_CANCEL_TIMER, /* timer name */
	IN_WAIT_STAGE, /* ask the daemon for EV_STAGE_MAY_START */
	IN_SET_VERSION, /* record target's deployed version (with the
			     transition, in the same transaction); never
			     for a dry run */
	IN_NOTIFY, /* run the notify hook / webhooks: kind, reason */
	IN_FINISHED, /* the execution reached a terminal state */
};

struct exec_intent {
	enum exec_intent_kind kind;
	char *step;
	int attempt;
	char *hook; /* hook name: build, deploy, rollback, test, notify,
			   or a path (stage tests / test command) */
	char *action; /* GANTRY_ACTION: build|deploy|rollback|test|notify */
	char *stage, *group, *target;
	char *version; /* GANTRY_VERSION: artifact sha256 */
	char *previous; /* GANTRY_PREVIOUS_VERSION */
	int64_t timeout_ms;
	char *timer;
	int64_t deadline; /* ms */
	char *reason;
	const char *outcome; /* IN_NOTIFY: the state entered, "blocked" or
				"override" (static); reason starts with it */
};

struct exec_intents {
	struct exec_intent *v;
	size_t n, cap;
};

/* A new execution in EXEC_QUEUED for def (stages and targets laid out,
 * all pending).  artifact_* may be NULL (built by the build stage). */
struct exec *exec_new(int64_t id, const struct exec_def *def,
    const char *pipeline, int version, const char *revision,
    const char *artifact_uri, const char *artifact_sha256,
    const char *artifact_signature, int64_t now);
void exec_free(struct exec *x);

/*
 * Apply ev at now.  Appends what to do to out (the caller runs them
 * after persisting).  x->seq grows by one for every event, also for an
 * ignored one.  Fails (x unchanged, nothing appended) only on allocation
 * failure (GANTRY_ENOMEM), an event that cannot belong to this execution
 * (GANTRY_EINVAL), or a request the state does not allow (GANTRY_ECONFLICT:
 * abort/rollback/pause/resume/superseded/rejected; answer 409, persist
 * nothing).
 */
int exec_step(struct exec *x, const struct exec_def *def,
    const struct exec_event *ev, int64_t now, struct exec_intents *out,
    struct gantry_error *err) MUSTCHECK;

void exec_intents_clear(struct exec_intents *in);

/* The override that lets stage start despite blocker at now: not used
 * yet, not expired (expires > now); NULL when there is none. */
const struct exec_override *exec_override_active(
    const struct exec *x, const char *stage, const char *blocker, int64_t now);

bool exec_is_terminal(enum exec_state s);
const char *exec_state_name(enum exec_state s);
const char *stage_state_name(enum stage_state s);
const char *target_state_name(enum target_state s);
const char *exec_event_name(enum exec_event_kind k);

/* Snapshot: every field, stable key order; exec_from_json(exec_to_json(x))
 * reproduces x.  exec_write() appends it as compact JSON text to b (the
 * one encoder: exec_to_json() parses its text; check buf_failed(b)). */
void exec_write(struct buf *b, const struct exec *x);
json_t *exec_to_json(const struct exec *x);
struct exec *exec_from_json(const json_t *j, struct gantry_error *err);

/* Events as stored in execution_events.data; round-trips through
 * exec_event_from_json (which borrows strings from j: keep j alive). */
json_t *exec_event_to_json(const struct exec_event *ev);
/* The same as text appended to b; false for an event that cannot be
 * encoded (unknown kind, unnamed target). */
bool exec_event_write(struct buf *b, const struct exec_event *ev);
int exec_event_from_json(
    const json_t *j, struct exec_event *ev, struct gantry_error *err) MUSTCHECK;
/* Free the arrays exec_event_from_json() allocated for ev (targets,
 * blockers; the strings stay j's) and zero ev.  Only for events it
 * filled (it leaves ev zeroed on failure, so calling this is safe). */
void exec_event_release(struct exec_event *ev);

/* The invariants of SPEC.md section 5, checked after every step by the
 * tests (and by the daemon in debug builds): 0 or -1 with err naming the
 * broken invariant. */
int exec_check_invariants(const struct exec *x, const struct exec_def *def,
    struct gantry_error *err) MUSTCHECK;

#endif /* GANTRY_EXEC_H */
