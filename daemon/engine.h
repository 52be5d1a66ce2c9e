/*
 * engine.h - the durable execution engine: drives lib/exec.h's pure state
 * machine from the loop, persists every transition (event + snapshot) to
 * PostgreSQL before carrying out its intents, group-committing the
 * transitions of every execution that moved in one loop turn into one
 * statement (one transaction, one WAL flush), runs hooks (hookrun.h),
 * arms timers, schedules stages (one execution per stage of a pipeline;
 * queue or supersede; targets shared between pipelines are never touched
 * by two at once; windows block a stage from starting), and picks up every
 * non-terminal execution after a restart.
 */
#ifndef GANTRYD_ENGINE_H
#define GANTRYD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "exec.h"

struct gantryd;
struct engine;

struct engine *engine_new(struct gantryd *d);
void engine_free(struct engine *e);

/* The database is up and migrated: load and resume executions (once),
 * and flush whatever waits. */
void engine_db_ready(struct engine *e);
/* A group-commit connection (db_commit_connections) is up: flush. */
void engine_commit_ready(struct engine *e);

/* Called with (http status, body) once the request is done: the body is
 * a new reference the callback takes. */
typedef void (*engine_reply_cb)(int status, json_t *body, void *arg);

struct engine_trigger {
	const char *pipeline;
	const char *revision;
	const char *artifact_uri, *artifact_sha256, *artifact_signature;
	const char *reason;
	const char *actor;
	const char *idempotency_key;
	bool dry_run; /* rehearse: no hook spawned, no target version */
};

/* Create an execution of the pipeline's current version; replies 201 with
 * the tree once its first transition is committed (200 and the existing
 * execution for a known Idempotency-Key; 404/409/422/503 with a reason). */
void engine_trigger(struct engine *e, const struct engine_trigger *t,
    engine_reply_cb cb, void *arg);

/* abort / rollback / pause / resume: 202 with the tree once committed;
 * 409 when the state does not allow it; 404 unknown. */
void engine_request(struct engine *e, int64_t id, enum exec_event_kind kind,
    const char *actor, const char *reason, engine_reply_cb cb, void *arg);

/* The tree of a live execution (new reference), or NULL when it is not in
 * memory (finished long ago: read it from the database). */
json_t *engine_tree(struct engine *e, int64_t id);

/*
 * Follow an execution's committed transitions: cb runs after every
 * committed batch that holds events of execution id, with those events
 * (borrowed: [{execution, seq, kind, data}]), the tree after them
 * (borrowed) and whether the execution is terminal.  Returns a handle for
 * engine_unwatch(), NULL on OOM.
 */
typedef void (*engine_watch_cb)(
    const json_t *events, const json_t *tree, bool terminal, void *arg);
struct engine_watch *engine_watch(
    struct engine *e, int64_t id, engine_watch_cb cb, void *arg);
void engine_unwatch(struct engine *e, struct engine_watch *w);

/* The same tree serialised (a copy the caller frees), from a cache that
 * each transition invalidates; NULL when not in memory. */
char *engine_tree_text(struct engine *e, int64_t id, size_t *len);

/* Let execution id's waiting stage start despite one of its blockers
 * (blocker: its id on the execution, "alarm:errors"), once, until
 * expires (ms): 202 with the tree once committed (and audited); 404
 * unknown execution; 409 when it waits for no stage or has no such
 * blocker. */
void engine_override(struct engine *e, int64_t id, const char *blocker,
    int64_t expires, const char *actor, const char *reason, engine_reply_cb cb,
    void *arg);

/* GET /v1/blockers: every blocked execution's blockers, each with its
 * public id "EXECUTION:BLOCKER" (new reference). */
json_t *engine_blockers_json(struct engine *e);

/* Approvals or merges were recorded: re-check the review gate of the
 * executions it blocks. */
void engine_review_changed(struct engine *e);

/* Blockers may have changed (a hold, an alarm): re-run the scheduler. */
void engine_reschedule(struct engine *e);

struct alarm_view;

/* An alarm changed state (alarms.h): fire it at every live execution
 * that deployed a stage it guards, and re-run the scheduler. */
void engine_alarm_changed(struct engine *e, const struct alarm_view *v);

/* A relative alarm fired for execution id's one-box. */
void engine_alarm_fired_at(
    struct engine *e, int64_t id, const struct alarm_view *v);

/* Every execution of pipeline in a one-box bake of a stage that alarm
 * guards: cb(execution, stage, one-box target, the stage's other
 * targets). */
typedef void (*engine_onebox_cb)(int64_t execution, const char *stage,
    const char *onebox, const char *const *fleet, size_t nfleet, void *arg);
void engine_onebox_bakes(struct engine *e, const char *pipeline,
    const char *alarm, engine_onebox_cb cb, void *arg);

/* The engine's hook runner (alarm probes share it). */
struct hookrun *engine_hookrun(struct engine *e);

/* Gauges for /metrics. */
unsigned engine_live(const struct engine *e);
unsigned engine_stuck(const struct engine *e);
unsigned engine_hooks_running(const struct engine *e);
uint64_t engine_transitions(const struct engine *e);
uint64_t engine_batches(const struct engine *e);

#endif /* GANTRYD_ENGINE_H */
