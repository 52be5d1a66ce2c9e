/*
 * pipeline.h - the pipeline model (SPEC.md sections 2-3, gantry-pipeline(5)):
 * what a validated pipeline file means, as plain C structs.  Built by
 * pipeline_parse() from a JSON tree whose `extends` was already resolved
 * (merge.h); expanded by waves.h; planned by plan.h; executed by the engine.
 *
 * Every duration is int64_t milliseconds; every instant int64_t seconds
 * since the epoch (UTC).  Strings are owned by the struct that holds them;
 * pipeline_free() releases everything.
 */
#ifndef GANTRY_PIPELINE_H
#define GANTRY_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "diag.h"
#include "error.h"

enum pipeline_source_kind {
	SOURCE_APPLICATION,
	SOURCE_INFRASTRUCTURE,
	SOURCE_OS_PATCHES,
	SOURCE_CONFIG,
	SOURCE_STATIC_ASSETS,
};

enum pipeline_concurrency {
	CONCURRENCY_SUPERSEDE, /* newest waiting execution wins (default) */
	CONCURRENCY_QUEUE, /* waiting executions go in order */
};

enum stage_type {
	STAGE_BUILD,
	STAGE_TEST,
	STAGE_DEPLOY,
	STAGE_WAVES, /* only before expansion (waves.h) */
};

/* hooks: {NAME: PATH} or {NAME: {command: PATH, timeout: DURATION}}.
 * Standard names: build, deploy, rollback, test, notify; others may be
 * referenced by name from stages (tests:, command:). */
struct pipeline_hook {
	char *name;
	char *command; /* as written: relative to the pipeline file */
	int64_t timeout_ms; /* 0: the pipeline's hook_timeout */
};

enum alarm_source {
	ALARM_SRC_PROMETHEUS, /* `prometheus: QUERY` */
	ALARM_SRC_COMMAND, /* `command: PATH` printing one number */
	ALARM_SRC_PUSH, /* `push: true`: PUT /v1/alarms/NAME/state */
};

enum alarm_kind {
	ALARM_THRESHOLD, /* above/below, datapoints M/N */
	ALARM_DROP_TO_ZERO, /* anomaly: drop-to-zero */
	ALARM_SPIKE, /* anomaly: {spike: FACTOR, baseline: DURATION} */
	ALARM_STATE, /* push alarms: state set from outside */
};

struct alarm_def {
	char *name;
	enum alarm_source source;
	char *query; /* prometheus expression or command path; NULL (push) */
	enum alarm_kind kind;
	bool above; /* threshold: true above, false below */
	double threshold; /* threshold value */
	int64_t period_ms; /* sampling period, default 30s */
	int m, n; /* datapoints M/N to breach, default 1/1 */
	double factor; /* spike factor; relative canary factor */
	bool relative; /* the query holds {{target}}: during a one-box bake
			  the one-box is judged against the rest of the
			  stage's targets (factor: how much worse, default 2) */
	bool has_threshold; /* above/below given */
	int64_t baseline_ms; /* spike baseline window, default 30m */
	bool missing_data_ok; /* `insufficient_data: pass`; default
				     false: no data never passes a bake */
};

/* windows.allow[]: {rrule, duration, timezone} */
struct window_allow {
	char *rrule; /* RFC 5545 RRULE, without DTSTART */
	int64_t duration_ms;
	char *timezone; /* IANA name */
};

/* windows.deny[]: {calendar: PATH} (an .ics file) */
struct window_deny {
	char *calendar; /* as written, relative to the pipeline file */
	char *ics; /* the file's text, loaded through pipeline_io */
};

/* windows.freeze[]: {from: RFC3339, to: RFC3339, reason} */
struct window_freeze {
	int64_t from, to; /* [from, to) */
	char *reason;
};

struct windows {
	struct window_allow *allow;
	size_t nallow;
	struct window_deny *deny;
	size_t ndeny;
	struct window_freeze *freeze;
	size_t nfreeze;
};

struct stage_group {
	char *name;
	char **targets;
	size_t ntargets;
};

struct region {
	char *name;
	struct stage_group *azs; /* one group per AZ, in the file's order */
	size_t nazs;
};

struct stage {
	char *name;
	enum stage_type type;

	/* deploy (and, before expansion, waves) */
	struct stage_group *groups;
	size_t ngroups;
	bool sequential; /* deploy groups one after another (default true) */
	bool one_box; /* first target alone, then one_box_bake */
	int64_t one_box_bake_ms;
	double one_box_max_traffic_share; /* 0: unset */
	bool batch_percent; /* rolling.batch is a percentage */
	int batch; /* targets per batch, or percent */
	int64_t bake_ms;
	char **alarms; /* names from pipeline alarms (or org-wide) */
	size_t nalarms;
	struct windows windows;
	bool production; /* counts for safety floors; waves imply it */
	char *tests; /* deploy: test hook run after the bake */

	/* test */
	char *command; /* hook name or path */

	int64_t timeout_ms; /* 0: the pipeline's hook_timeout */

	/* waves (before expansion) */
	struct region *regions;
	size_t nregions;
	int *wave_sizes; /* regions per wave; WAVE_REST for the remainder */
	size_t nwave_sizes;

	/* after expansion: which waves stage this came from, wave number */
	char *waves_of;
	int wave;
};

#define WAVE_REST (-1)

struct pipeline {
	char *name;
	char *service;
	enum pipeline_source_kind source;
	char *repository; /* source.repository, for webhook triggers */
	char *branch; /* source.branch, default "main" */
	bool review_required;
	int review_min_approvals; /* default 1 */
	int64_t review_wait_ms; /* how long a missing approval blocks before
				   the execution is rejected; default 10m */
	char *notify_webhook; /* notifications.webhook: URL, or NULL */
	int64_t notify_timeout_ms; /* per attempt, default 10s */
	enum pipeline_concurrency concurrency;
	struct pipeline_hook *hooks;
	size_t nhooks;
	int64_t hook_timeout_ms; /* default 10m */
	char *signing_public_key; /* path, NULL if unset */
	struct alarm_def *alarms;
	size_t nalarms;
	struct windows windows;
	struct stage *stages;
	size_t nstages;
};

/*
 * Organisation-wide safety floors from the daemon config (all optional;
 * 0 / false means "no floor").  They apply to production deploy stages
 * (`production: true`, and every stage a waves stage expands to).
 */
struct pipeline_floors {
	bool require_one_box;
	int64_t min_bake_ms;
	int64_t min_one_box_bake_ms;
	bool require_fault_alarm; /* an alarm named or tagged as faults */
	bool require_latency_alarm; /* an alarm named or tagged as latency */
	int max_regions_early_waves; /* waves 1-2 at most N regions */
	bool require_review;
};

/* Free p and everything it holds; NULL is a no-op. */
void pipeline_free(struct pipeline *p);

/* Free n alarm definitions and the array. */
void alarm_defs_free(struct alarm_def *v, size_t n);

/*
 * Parse an `alarms` mapping on its own (the daemon config's org-wide
 * alarms use the pipeline grammar): problems go to diag as
 * "file:alarms.NAME.key: message".  0 with *out (caller frees with
 * alarm_defs_free) or -1.
 */
int pipeline_parse_alarms(const json_t *v, const char *file,
    struct alarm_def **out, size_t *n, struct diag *diag) MUSTCHECK;

/* Names for enums as written in files. */
const char *pipeline_source_name(enum pipeline_source_kind k);
const char *stage_type_name(enum stage_type t);

/* The hook named name, or NULL. */
const struct pipeline_hook *pipeline_hook_find(
    const struct pipeline *p, const char *name);
const struct alarm_def *pipeline_alarm_find(
    const struct pipeline *p, const char *name);

/*
 * Parse a pipeline document whose `extends` chain was already merged
 * (merge.h) into a new struct pipeline.  Every problem is added to diag as
 * "file:path: message" with paths like `stages[3].groups[0].targets[2]`,
 * all at once.  floors may be NULL.  calendars: deny-window .ics texts are
 * fetched through io (may be NULL: then calendars are only checked to be
 * strings).  Returns NULL when diag received any message.
 */
struct pipeline_io {
	/* Read relpath (relative to the directory of `file`) into a new
	 * NUL-terminated buffer; -1 with why filled on failure. */
	int (*read)(void *ctx, const char *file, const char *relpath,
	    char **text, size_t *len, char *why, size_t whylen);
	void *ctx;
};

struct pipeline *pipeline_parse(const json_t *doc, const char *file,
    const struct pipeline_floors *floors, const struct pipeline_io *io,
    struct diag *diag);

#endif /* GANTRY_PIPELINE_H */
