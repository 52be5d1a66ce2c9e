/*
 * plan.c - a pipeline's steps in order with their earliest start and end
 * (plan.h): windows gate each stage's start (window_next_open over the
 * pipeline's and the stage's windows), hooks take an assumed time, bakes
 * take theirs, a batch deploys its targets in parallel.
 */
#include "plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "window.h"

/* Durations are milliseconds, instants seconds: round a step's length up,
 * so an ETA is never early. */
static int64_t
ms_to_s(int64_t ms)
{
	if (ms <= 0)
		return 0;
	return ms / 1000 + (ms % 1000 != 0);
}

/* A plan being built, and the instant the next step may start. */
struct builder {
	struct plan *plan;
	size_t cap;
	int64_t now;
	struct gantry_error *err;
};

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

static void
step_clear(struct plan_step *st)
{
	free(st->stage);
	free(st->group);
	for (size_t i = 0; i < st->ntargets; i++)
		free(st->targets[i]);
	free(st->targets);
}

/*
 * Append a step of kind lasting len seconds from b->now, and move b->now
 * to its end.  group and targets (ntargets of them) are copied.
 */
static int
add_step(struct builder *b, enum plan_step_kind kind, const char *stage,
    const char *group, char *const *targets, size_t ntargets, int batch,
    int64_t len)
{
	struct plan *p = b->plan;
	struct plan_step st = {0};
	bool fail = false;

	if (p->nsteps == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 16;
		struct plan_step *n = realloc(p->steps, ncap * sizeof(*n));

		if (n == NULL)
			goto nomem;
		p->steps = n;
		b->cap = ncap;
	}
	st.kind = kind;
	st.batch = batch;
	st.start = b->now;
	st.end = b->now + len;
	st.stage = dup_or_null(stage, &fail);
	st.group = dup_or_null(group, &fail);
	if (ntargets > 0) {
		st.targets = calloc(ntargets, sizeof(*st.targets));
		if (st.targets == NULL)
			fail = true;
		else
			st.ntargets = ntargets;
		for (size_t i = 0; i < st.ntargets; i++)
			st.targets[i] = dup_or_null(targets[i], &fail);
	}
	if (fail) {
		step_clear(&st);
		goto nomem;
	}
	p->steps[p->nsteps++] = st;
	b->now = st.end;
	return 0;
nomem:
	return gantry_error_set(b->err, GANTRY_ENOMEM, "out of memory");
}

/* A target of a deploy stage, with the group it belongs to. */
struct pool_item {
	char *target; /* borrowed from the stage */
	const char *group;
};

/* Targets in one batch of n remaining: a count, or a percentage of n
 * rounded up; at least 1. */
static size_t
batch_size(const struct stage *s, size_t n)
{
	size_t k;

	if (s->batch_percent)
		k = ((size_t)(s->batch > 0 ? s->batch : 1) * n + 99) / 100;
	else
		k = s->batch > 0 ? (size_t)s->batch : 1;
	return k > 0 ? k : 1;
}

/*
 * Split items into batches of batch_size(n) and add one PLAN_BATCH step
 * each (group: the group all its targets share, else NULL).  *batchno
 * counts batches across the stage.
 */
static int
add_batches(struct builder *b, const struct stage *s,
    const struct pool_item *items, size_t n, int64_t hook, int *batchno)
{
	size_t size = batch_size(s, n);
	char **names = NULL;
	int rc = -1;

	if (n == 0)
		return 0;
	names = calloc(size, sizeof(*names));
	if (names == NULL)
		return gantry_error_set(b->err, GANTRY_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i += size) {
		size_t k = n - i < size ? n - i : size;
		const char *group = items[i].group;

		for (size_t j = 0; j < k; j++) {
			names[j] = items[i + j].target;
			if (group != NULL &&
			    strcmp(group, items[i + j].group) != 0)
				group = NULL;
		}
		if (add_step(b, PLAN_BATCH, s->name, group, names, k,
		        ++*batchno, hook) < 0)
			goto out;
	}
	rc = 0;
out:
	free(names);
	return rc;
}

/*
 * A deploy stage: one-box (the first target of the first group) and its
 * bake, then rolling batches group by group (sequential) or over one pool
 * of every remaining target in group order, then the bake and the tests.
 */
static int
plan_deploy(struct builder *b, const struct stage *s, int64_t hook)
{
	struct pool_item *items = NULL;
	size_t nitems = 0, total = 0;
	bool one_box = false;
	int batchno = 0;
	int rc = -1;

	for (size_t g = 0; g < s->ngroups; g++)
		total += s->groups[g].ntargets;
	if (s->one_box && s->ngroups > 0 && s->groups[0].ntargets > 0) {
		one_box = true;
		if (add_step(b, PLAN_ONE_BOX, s->name, s->groups[0].name,
		        s->groups[0].targets, 1, 0, hook) < 0)
			goto out;
		if (s->one_box_bake_ms > 0 &&
		    add_step(b, PLAN_ONE_BOX_BAKE, s->name, NULL, NULL, 0, 0,
		        ms_to_s(s->one_box_bake_ms)) < 0)
			goto out;
	}
	if (total > 0 && (items = calloc(total, sizeof(*items))) == NULL) {
		gantry_error_set(b->err, GANTRY_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t g = 0; g < s->ngroups; g++) {
		const struct stage_group *gr = &s->groups[g];
		size_t first = nitems;

		for (size_t i = (one_box && g == 0) ? 1 : 0; i < gr->ntargets;
		     i++)
			items[nitems++] =
			    (struct pool_item){gr->targets[i], gr->name};
		if (s->sequential &&
		    add_batches(b, s, items + first, nitems - first, hook,
		        &batchno) < 0)
			goto out;
	}
	if (!s->sequential &&
	    add_batches(b, s, items, nitems, hook, &batchno) < 0)
		goto out;
	if (s->bake_ms > 0 &&
	    add_step(b, PLAN_BAKE, s->name, NULL, NULL, 0, 0,
	        ms_to_s(s->bake_ms)) < 0)
		goto out;
	if (s->tests != NULL &&
	    add_step(b, PLAN_STAGE_TESTS, s->name, NULL, NULL, 0, 0, hook) < 0)
		goto out;
	rc = 0;
out:
	free(items);
	return rc;
}

/* Wait for the pipeline's and the stage's windows, when they are shut. */
static int
plan_wait(struct builder *b, const struct pipeline *p, const struct stage *s)
{
	const struct windows *ws[] = {&p->windows, &s->windows};
	struct gantry_error werr = {0};
	int64_t when;

	if (window_next_open(ws, 2, b->now, &when, &werr) < 0)
		return gantry_error_set(b->err,
		    werr.code != GANTRY_OK ? werr.code : GANTRY_EINTERNAL,
		    "stage \"%s\": %s", s->name, werr.msg);
	if (when > b->now)
		return add_step(b, PLAN_WAIT_WINDOW, s->name, NULL, NULL, 0, 0,
		    when - b->now);
	return 0;
}

struct plan *
plan_build(const struct pipeline *p, const struct stage *stages, size_t nstages,
    int64_t start, const struct plan_assume *assume, struct gantry_error *err)
{
	struct builder b = {0};
	int64_t hook = assume != NULL ? ms_to_s(assume->hook_ms) : 0;

	b.err = err;
	b.now = start;
	b.plan = calloc(1, sizeof(*b.plan));
	if (b.plan == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		return NULL;
	}
	b.plan->start = start;
	for (size_t i = 0; i < nstages; i++) {
		const struct stage *s = &stages[i];
		int rc;

		if (plan_wait(&b, p, s) < 0)
			goto fail;
		switch (s->type) {
		case STAGE_BUILD:
			rc = add_step(
			    &b, PLAN_BUILD, s->name, NULL, NULL, 0, 0, hook);
			break;
		case STAGE_TEST:
			rc = add_step(
			    &b, PLAN_TEST, s->name, NULL, NULL, 0, 0, hook);
			break;
		case STAGE_DEPLOY:
			rc = plan_deploy(&b, s, hook);
			break;
		default:
			rc = gantry_error_set(err, GANTRY_EINVAL,
			    "stage \"%s\": waves stages must be expanded "
			    "before planning",
			    s->name);
			break;
		}
		if (rc < 0)
			goto fail;
		if (s->production)
			b.plan->production_end = b.now;
	}
	b.plan->end = b.now;
	return b.plan;
fail:
	plan_free(b.plan);
	return NULL;
}

void
plan_free(struct plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->nsteps; i++)
		step_clear(&plan->steps[i]);
	free(plan->steps);
	free(plan);
}

const char *
plan_step_kind_name(enum plan_step_kind k)
{
	switch (k) {
	case PLAN_WAIT_WINDOW:
		return "wait-window";
	case PLAN_BUILD:
		return "build";
	case PLAN_TEST:
		return "test";
	case PLAN_ONE_BOX:
		return "one-box";
	case PLAN_ONE_BOX_BAKE:
		return "one-box-bake";
	case PLAN_BATCH:
		return "batch";
	case PLAN_BAKE:
		return "bake";
	case PLAN_STAGE_TESTS:
		return "stage-tests";
	}
	return "unknown";
}

/* A new JSON string of t in RFC 3339 UTC ("2026-11-26T09:00:00Z"). */
static json_t *
json_time(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return json_string(buf);
}

/*
 * One step: {"kind": "batch", "stage": "gamma", "group": "us-east-1"
 * (only when about one group), "targets": [...] (one-box and batch),
 * "batch": 2 (batches only), "start": RFC3339, "end": RFC3339,
 * "duration": seconds}.
 */
static json_t *
step_to_json(const struct plan_step *st)
{
	json_t *o = json_object(), *ts;
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(
	    o, "kind", json_string(plan_step_kind_name(st->kind)));
	bad |= json_object_set_new(o, "stage", json_string(st->stage));
	if (st->group != NULL)
		bad |= json_object_set_new(o, "group", json_string(st->group));
	if (st->kind == PLAN_ONE_BOX || st->kind == PLAN_BATCH) {
		ts = json_array();
		bad |= json_object_set_new(o, "targets", ts);
		for (size_t i = 0; ts != NULL && i < st->ntargets; i++)
			bad |= json_array_append_new(
			    ts, json_string(st->targets[i]));
	}
	if (st->batch > 0)
		bad |= json_object_set_new(o, "batch", json_integer(st->batch));
	bad |= json_object_set_new(o, "start", json_time(st->start));
	bad |= json_object_set_new(o, "end", json_time(st->end));
	bad |= json_object_set_new(
	    o, "duration", json_integer(st->end - st->start));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
plan_to_json(const struct plan *plan)
{
	json_t *o = json_object(), *steps = json_array();
	int bad = 0;

	if (o == NULL || steps == NULL) {
		json_decref(o);
		json_decref(steps);
		return NULL;
	}
	bad |= json_object_set_new(o, "start", json_time(plan->start));
	bad |= json_object_set_new(o, "end", json_time(plan->end));
	bad |= json_object_set_new(o, "production_end",
	    plan->production_end != 0 ? json_time(plan->production_end)
	                              : json_null());
	bad |= json_object_set_new(o, "steps", steps);
	for (size_t i = 0; !bad && i < plan->nsteps; i++)
		bad |=
		    json_array_append_new(steps, step_to_json(&plan->steps[i]));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
