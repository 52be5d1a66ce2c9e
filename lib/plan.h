/*
 * plan.h - what a pipeline WILL do: every step in order with its earliest
 * start and end, given a start instant and assumed hook durations, and the
 * ETA of 100% of production (`gantryctl plan`, GET .../plan).
 *
 * Steps, per expanded stage (waves.h) in order:
 *   wait-window (when the stage may not start yet: until the windows of
 *   the pipeline and the stage are open) -> build | test (one hook) |
 *   deploy: one-box (first target of the first group) -> one-box bake ->
 *   rolling batches (group by group when sequential; one pool across
 *   groups otherwise) -> bake -> the stage's tests hook.
 * A deploy or test hook takes `hook` time; a batch deploys its targets in
 * parallel, so it takes one hook time.  Pure: no clock, no I/O.
 */
#ifndef GANTRY_PLAN_H
#define GANTRY_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "pipeline.h"

enum plan_step_kind {
	PLAN_WAIT_WINDOW,
	PLAN_BUILD,
	PLAN_TEST,
	PLAN_ONE_BOX,
	PLAN_ONE_BOX_BAKE,
	PLAN_BATCH,
	PLAN_BAKE,
	PLAN_STAGE_TESTS,
};

struct plan_step {
	enum plan_step_kind kind;
	char *stage;
	char *group; /* NULL when not about one group */
	char **targets; /* the targets this step deploys (one-box, batch) */
	size_t ntargets;
	int batch; /* 1-based batch number within the stage, 0 otherwise */
	int64_t start, end; /* seconds since the epoch */
};

struct plan {
	struct plan_step *steps;
	size_t nsteps;
	int64_t start;
	int64_t end; /* the last step's end */
	int64_t production_end; /* last production stage's end; 0: none */
};

struct plan_assume {
	int64_t hook_ms; /* every hook (build, test, deploy) takes this */
};

/*
 * Plan p's expanded stages (waves_expand()) from start.  Returns a new
 * plan (caller frees with plan_free()) or NULL with err set (a window
 * that never opens within the horizon: GANTRY_ENOENT naming the stage).
 */
struct plan *plan_build(const struct pipeline *p, const struct stage *stages,
    size_t nstages, int64_t start, const struct plan_assume *assume,
    struct gantry_error *err);
void plan_free(struct plan *plan);

const char *plan_step_kind_name(enum plan_step_kind k);

/* {"start": RFC3339, "end": ..., "production_end": ..., "steps": [...]} */
json_t *plan_to_json(const struct plan *plan);

#endif /* GANTRY_PLAN_H */
