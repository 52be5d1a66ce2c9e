/*
 * alarms.h - alarm watchers (SPEC.md sections 2, 5): every alarm defined
 * now -- org-wide ones from the daemon config (scope ""), each pipeline's
 * from its current version (scope: the pipeline) -- has a state here.
 *
 *   prometheus  an instant query every period (daemon/httpc.h, with the
 *               metric_timeout), parsed by lib/prom.h;
 *   command     a probe hook every period that prints one number;
 *   push        PUT /v1/alarms/NAME/state or the Alertmanager receiver;
 *               stored in the alarms table so a restart keeps an open alarm.
 *
 * Samples go into a bounded series and are judged by lib/alarm.h; a source
 * that fails (timeout, HTTP error, bad payload, probe exit != 0) yields a
 * missing datapoint, is logged and counted (gantry_alarm_source_errors_total)
 * and never blocks anything.  Every state change goes to the engine
 * (engine_alarm_changed), which fires it at the executions it guards and
 * re-runs the scheduler (alarms block stage starts).
 *
 * Relative alarms ({{target}} in the query) are also judged per execution
 * during a one-box bake: the one-box against the rest of the stage's
 * targets, sampled at the same moment (engine_alarm_fired_at).
 *
 * Push alarms start `ok` until something is pushed: a silent Alertmanager
 * means no alert.  Evaluated alarms start `insufficient_data`.
 */
#ifndef GANTRYD_ALARMS_H
#define GANTRYD_ALARMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alarm.h"
#include "pipeline.h"

struct gantryd;
struct alarms;

/* A view of one alarm's state; everything borrowed from the watcher (valid
 * until the next loop turn that samples or syncs). */
struct alarm_view {
	const char *scope; /* "" org-wide, else the pipeline */
	const char *name;
	const struct alarm_def *def;
	enum alarm_state state;
	const char *reason;
	const json_t *detail; /* the last decision record, or NULL */
	int64_t since; /* ms: in this state since */
	int64_t observed; /* ms: the sample or push that set it */
};

struct alarms *alarms_new(struct gantryd *d);
void alarms_free(struct alarms *a);

/* Watch what is defined now (after start, a reload, a pipeline change):
 * new alarms start, removed ones stop, changed ones restart their series. */
void alarms_sync(struct alarms *a);
/* The same at the end of this loop turn (many changes, one sync). */
void alarms_sync_soon(struct alarms *a);

/* The database is up: load the pushed states. */
void alarms_db_ready(struct alarms *a);

/* Alarm `name` as pipeline sees it: its own, else the org-wide one.
 * false when neither exists. */
bool alarms_get(const struct alarms *a, const char *pipeline, const char *name,
    struct alarm_view *out);

/* A relative alarm's verdict for one execution's one-box bake of stage;
 * false when it was never sampled for it. */
bool alarms_get_relative(const struct alarms *a, int64_t execution,
    const char *stage, const char *name, struct alarm_view *out);

/* Org-wide alarms now in `alarm`, up to max of them; returns the count of
 * all of them. */
size_t alarms_org_firing(
    const struct alarms *a, struct alarm_view *out, size_t max);

/* GET /v1/alarms: [{scope, pipeline, name, source, state, reason, since,
 * detail}] (new reference). */
json_t *alarms_list_json(const struct alarms *a);

/* One pushed state: name is "NAME" (every push alarm so named: the
 * org-wide one and each pipeline's) or "PIPELINE:NAME". */
struct alarm_push {
	const char *name;
	enum alarm_state state;
	const char *reason;
};

/*
 * Set pushed states: stored first (table alarms), then applied and
 * handed to the engine; cb gets (200, {"updated": [...], "ignored": [...]}).
 * A name that matches no alarm: 404, nothing stored (with ignore_unknown
 * it is listed under "ignored" instead: the Alertmanager receiver); one
 * that names an evaluated alarm: 409.  503 when the database is down.
 */
typedef void (*alarms_reply_cb)(int status, json_t *body, void *arg);
void alarms_push(struct alarms *a, const struct alarm_push *v, size_t n,
    const char *source, bool ignore_unknown, alarms_reply_cb cb, void *arg);

/* Counters for /metrics. */
uint64_t alarms_samples(const struct alarms *a);
unsigned alarms_firing(const struct alarms *a);
uint64_t alarms_source_errors(const struct alarms *a);

#endif /* GANTRYD_ALARMS_H */
