/*
 * check_plan.c - unit tests for lib/plan.c: step order and exact start/end
 * instants for build/deploy/test stages, one-box and bakes, batch sizes
 * (count and percentage, sequential groups or one pool), waiting for
 * windows (pipeline and stage), production_end, and plan_to_json.
 *
 * Pipelines and stages are built by hand in C (no parser); expected
 * instants are written in UTC and worked out in the comments.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>

#include "plan.h"

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
#define MIN_S 60
#define HOUR_S 3600

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Seconds since the epoch of a UTC date and time. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

/* Build a plan that must succeed. */
static struct plan *
build(const struct pipeline *p, const struct stage *st, size_t n, int64_t start,
    int64_t hook_ms)
{
	struct plan_assume a = {hook_ms};
	struct gantry_error err = {0};
	struct plan *plan = plan_build(p, st, n, start, &a, &err);

	ck_assert_msg(plan != NULL, "plan_build failed: %s", err.msg);
	return plan;
}

/* Check step i: kind, stage, group (NULL: none), start and end. */
static void
check_step(const struct plan *plan, size_t i, enum plan_step_kind kind,
    const char *stage, const char *group, int64_t start, int64_t end)
{
	const struct plan_step *st;

	ck_assert_msg(
	    i < plan->nsteps, "no step %zu (%zu steps)", i, plan->nsteps);
	st = &plan->steps[i];
	ck_assert_msg(st->kind == kind, "step %zu: kind %s, want %s", i,
	    plan_step_kind_name(st->kind), plan_step_kind_name(kind));
	ck_assert_str_eq(st->stage, stage);
	if (group == NULL)
		ck_assert_msg(st->group == NULL,
		    "step %zu: group %s, want none", i, st->group);
	else
		ck_assert_msg(
		    st->group != NULL && strcmp(st->group, group) == 0,
		    "step %zu: group %s, want %s", i,
		    st->group ? st->group : "(none)", group);
	ck_assert_msg(st->start == start, "step %zu: start %lld, want %lld", i,
	    (long long)st->start, (long long)start);
	ck_assert_msg(st->end == end, "step %zu: end %lld, want %lld", i,
	    (long long)st->end, (long long)end);
}

/* Check the targets and batch number of step i; want is a NULL-ended
 * list. */
static void
check_targets(
    const struct plan *plan, size_t i, int batch, const char *const *want)
{
	const struct plan_step *st = &plan->steps[i];
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	ck_assert_int_eq(st->batch, batch);
	ck_assert_msg(st->ntargets == n, "step %zu: %zu targets, want %zu", i,
	    st->ntargets, n);
	for (size_t j = 0; j < n; j++)
		ck_assert_str_eq(st->targets[j], want[j]);
}

#define T(...) ((const char *const[]){__VA_ARGS__, NULL})

static char *g1_targets[] = {"a1", "a2", "a3"};
static char *g2_targets[] = {"b1", "b2", "b3"};
static struct stage_group two_groups[] = {
    {"us-east-1", g1_targets, 3},
    {"eu-west-1", g2_targets, 3},
};

/*
 * build -> gamma (deploy: 2 groups of 3, one-box bake 30m, batch 2, bake
 * 1h, tests) -> zeta (test), hooks 10m, from Thu 2026-11-26 09:00Z, no
 * windows:
 *   build            09:00-09:10
 *   one-box a1       09:10-09:20   (us-east-1)
 *   one-box-bake     09:20-09:50
 *   batch 1 a2,a3    09:50-10:00   (us-east-1: 2 left after the one-box)
 *   batch 2 b1,b2    10:00-10:10   (eu-west-1)
 *   batch 3 b3       10:10-10:20
 *   bake             10:20-11:20
 *   stage-tests      11:20-11:30   -> production_end 11:30
 *   test zeta        11:30-11:40   -> end
 */
static struct stage three_stages[] = {
    {.name = "build", .type = STAGE_BUILD},
    {.name = "gamma",
        .type = STAGE_DEPLOY,
        .groups = two_groups,
        .ngroups = 2,
        .sequential = true,
        .one_box = true,
        .one_box_bake_ms = 30 * MIN_MS,
        .batch = 2,
        .bake_ms = HOUR_MS,
        .production = true,
        .tests = "hooks/functional"},
    {.name = "zeta", .type = STAGE_TEST, .command = "hooks/backcompat"},
};

START_TEST(test_three_stages)
{
	struct pipeline p = {.name = "orders"};
	int64_t t0 = utc(2026, 11, 26, 9, 0, 0);
	struct plan *plan = build(&p, three_stages, 3, t0, 10 * MIN_MS);

	ck_assert_uint_eq(plan->nsteps, 9);
	check_step(plan, 0, PLAN_BUILD, "build", NULL, t0, t0 + 10 * MIN_S);
	check_step(plan, 1, PLAN_ONE_BOX, "gamma", "us-east-1", t0 + 10 * MIN_S,
	    t0 + 20 * MIN_S);
	check_targets(plan, 1, 0, T("a1"));
	check_step(plan, 2, PLAN_ONE_BOX_BAKE, "gamma", NULL, t0 + 20 * MIN_S,
	    t0 + 50 * MIN_S);
	check_step(plan, 3, PLAN_BATCH, "gamma", "us-east-1", t0 + 50 * MIN_S,
	    t0 + 60 * MIN_S);
	check_targets(plan, 3, 1, T("a2", "a3"));
	check_step(plan, 4, PLAN_BATCH, "gamma", "eu-west-1", t0 + 60 * MIN_S,
	    t0 + 70 * MIN_S);
	check_targets(plan, 4, 2, T("b1", "b2"));
	check_step(plan, 5, PLAN_BATCH, "gamma", "eu-west-1", t0 + 70 * MIN_S,
	    t0 + 80 * MIN_S);
	check_targets(plan, 5, 3, T("b3"));
	check_step(plan, 6, PLAN_BAKE, "gamma", NULL, t0 + 80 * MIN_S,
	    t0 + 140 * MIN_S);
	check_step(plan, 7, PLAN_STAGE_TESTS, "gamma", NULL, t0 + 140 * MIN_S,
	    t0 + 150 * MIN_S);
	check_step(plan, 8, PLAN_TEST, "zeta", NULL, t0 + 150 * MIN_S,
	    t0 + 160 * MIN_S);
	ck_assert_int_eq(plan->start, t0);
	ck_assert_int_eq(plan->production_end, utc(2026, 11, 26, 11, 30, 0));
	ck_assert_int_eq(plan->end, utc(2026, 11, 26, 11, 40, 0));
	ck_assert_uint_eq(plan->steps[0].ntargets, 0);
	ck_assert_ptr_null(plan->steps[0].targets);
	/* targets are copies, not the stage's strings */
	ck_assert_ptr_ne(plan->steps[1].targets[0], g1_targets[0]);
	plan_free(plan);
}
END_TEST

/*
 * 25%: one group of 9 with a one-box (no bake: no one-box-bake step) ->
 * 8 remain, ceil(25% of 8) = 2 -> 4 batches of 2.  Then 10 targets and
 * no one-box: ceil(2.5) = 3 -> 3, 3, 3, 1.  Hooks 1500 ms count as 2 s
 * (rounded up); bake 0: no bake step; no tests: no stage-tests step.
 */
START_TEST(test_percent_batches)
{
	static char *nine[] = {
	    "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"};
	static char *ten[] = {
	    "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10"};
	struct stage_group g9 = {"az1", nine, 9}, g10 = {"az2", ten, 10};
	struct stage st[] = {
	    {.name = "w1",
	        .type = STAGE_DEPLOY,
	        .groups = &g9,
	        .ngroups = 1,
	        .sequential = true,
	        .one_box = true,
	        .batch_percent = true,
	        .batch = 25},
	    {.name = "w2",
	        .type = STAGE_DEPLOY,
	        .groups = &g10,
	        .ngroups = 1,
	        .sequential = true,
	        .batch_percent = true,
	        .batch = 25},
	};
	struct pipeline p = {.name = "orders"};
	int64_t t0 = 1000000000;
	struct plan *plan = build(&p, st, 2, t0, 1500);

	ck_assert_uint_eq(plan->nsteps, 1 + 4 + 4);
	check_step(plan, 0, PLAN_ONE_BOX, "w1", "az1", t0, t0 + 2);
	check_targets(plan, 0, 0, T("h1"));
	check_step(plan, 1, PLAN_BATCH, "w1", "az1", t0 + 2, t0 + 4);
	check_targets(plan, 1, 1, T("h2", "h3"));
	check_targets(plan, 2, 2, T("h4", "h5"));
	check_targets(plan, 3, 3, T("h6", "h7"));
	check_step(plan, 4, PLAN_BATCH, "w1", "az1", t0 + 8, t0 + 10);
	check_targets(plan, 4, 4, T("h8", "h9"));
	check_step(plan, 5, PLAN_BATCH, "w2", "az2", t0 + 10, t0 + 12);
	check_targets(plan, 5, 1, T("k1", "k2", "k3"));
	check_targets(plan, 6, 2, T("k4", "k5", "k6"));
	check_targets(plan, 7, 3, T("k7", "k8", "k9"));
	check_step(plan, 8, PLAN_BATCH, "w2", "az2", t0 + 16, t0 + 18);
	check_targets(plan, 8, 4, T("k10"));
	ck_assert_int_eq(plan->end, t0 + 18);
	ck_assert_int_eq(plan->production_end, 0);
	plan_free(plan);
}
END_TEST

/*
 * Sequential with a percentage per group: groups of 4 and 7 at 30% ->
 * ceil(1.2) = 2 (2, 2), then ceil(2.1) = 3 (3, 3, 1).  A 100% batch is
 * the whole group.
 */
START_TEST(test_percent_per_group)
{
	static char *four[] = {"a1", "a2", "a3", "a4"};
	static char *seven[] = {"b1", "b2", "b3", "b4", "b5", "b6", "b7"};
	struct stage_group gs[] = {{"g1", four, 4}, {"g2", seven, 7}};
	struct stage st = {.name = "s",
	    .type = STAGE_DEPLOY,
	    .groups = gs,
	    .ngroups = 2,
	    .sequential = true,
	    .batch_percent = true,
	    .batch = 30};
	struct pipeline p = {.name = "orders"};
	struct plan *plan = build(&p, &st, 1, 0, 60 * 1000);

	ck_assert_uint_eq(plan->nsteps, 5);
	check_targets(plan, 0, 1, T("a1", "a2"));
	check_targets(plan, 1, 2, T("a3", "a4"));
	check_targets(plan, 2, 3, T("b1", "b2", "b3"));
	check_targets(plan, 3, 4, T("b4", "b5", "b6"));
	check_step(plan, 4, PLAN_BATCH, "s", "g2", 240, 300);
	check_targets(plan, 4, 5, T("b7"));
	plan_free(plan);

	st.batch = 100;
	plan = build(&p, &st, 1, 0, 60 * 1000);
	ck_assert_uint_eq(plan->nsteps, 2);
	check_targets(plan, 0, 1, T("a1", "a2", "a3", "a4"));
	check_targets(plan, 1, 2, T("b1", "b2", "b3", "b4", "b5", "b6", "b7"));
	plan_free(plan);
}
END_TEST

/*
 * Not sequential: one pool across groups in group order.  Groups
 * us-east-1 [a1 a2 a3], eu-west-1 [b1 b2 b3], one-box a1, batch 3 ->
 * [a2 a3 b1] (mixed: no group), [b2 b3] (eu-west-1).  With 50% of the
 * 5-target pool -> ceil(2.5) = 3, the same batches.
 */
START_TEST(test_not_sequential)
{
	struct stage st = {.name = "prod",
	    .type = STAGE_DEPLOY,
	    .groups = two_groups,
	    .ngroups = 2,
	    .sequential = false,
	    .one_box = true,
	    .one_box_bake_ms = 15 * MIN_MS,
	    .batch = 3,
	    .bake_ms = 30 * MIN_MS,
	    .production = true};
	struct pipeline p = {.name = "orders"};
	int64_t t0 = utc(2026, 6, 1, 12, 0, 0);
	struct plan *plan;

	for (int pass = 0; pass < 2; pass++) {
		plan = build(&p, &st, 1, t0, 5 * MIN_MS);
		ck_assert_uint_eq(plan->nsteps, 5);
		check_step(plan, 0, PLAN_ONE_BOX, "prod", "us-east-1", t0,
		    t0 + 5 * MIN_S);
		check_step(plan, 1, PLAN_ONE_BOX_BAKE, "prod", NULL,
		    t0 + 5 * MIN_S, t0 + 20 * MIN_S);
		check_step(plan, 2, PLAN_BATCH, "prod", NULL, t0 + 20 * MIN_S,
		    t0 + 25 * MIN_S);
		check_targets(plan, 2, 1, T("a2", "a3", "b1"));
		check_step(plan, 3, PLAN_BATCH, "prod", "eu-west-1",
		    t0 + 25 * MIN_S, t0 + 30 * MIN_S);
		check_targets(plan, 3, 2, T("b2", "b3"));
		check_step(plan, 4, PLAN_BAKE, "prod", NULL, t0 + 30 * MIN_S,
		    t0 + 60 * MIN_S);
		ck_assert_int_eq(plan->production_end, t0 + HOUR_S);
		ck_assert_int_eq(plan->end, t0 + HOUR_S);
		plan_free(plan);
		st.batch_percent = true;
		st.batch = 50;
	}

	/* batch 2 over the pool: [a2 a3] us-east-1, [b1 b2], [b3] */
	st.batch_percent = false;
	st.batch = 2;
	st.one_box_bake_ms = 0;
	st.bake_ms = 0;
	plan = build(&p, &st, 1, t0, 5 * MIN_MS);
	ck_assert_uint_eq(plan->nsteps, 4);
	check_step(plan, 1, PLAN_BATCH, "prod", "us-east-1", t0 + 5 * MIN_S,
	    t0 + 10 * MIN_S);
	check_step(plan, 2, PLAN_BATCH, "prod", "eu-west-1", t0 + 10 * MIN_S,
	    t0 + 15 * MIN_S);
	check_targets(plan, 2, 2, T("b1", "b2"));
	check_targets(plan, 3, 3, T("b3"));
	plan_free(plan);
}
END_TEST

/* A one-box on a stage whose only target it is: nothing left to batch. */
START_TEST(test_one_box_only_target)
{
	static char *one[] = {"solo"};
	struct stage_group g = {"g", one, 1};
	struct stage st = {.name = "s",
	    .type = STAGE_DEPLOY,
	    .groups = &g,
	    .ngroups = 1,
	    .sequential = true,
	    .one_box = true,
	    .one_box_bake_ms = 1000,
	    .batch = 1,
	    .tests = "e2e"};
	struct pipeline p = {.name = "orders"};
	struct plan *plan = build(&p, &st, 1, 100, 10 * 1000);

	ck_assert_uint_eq(plan->nsteps, 3);
	check_step(plan, 0, PLAN_ONE_BOX, "s", "g", 100, 110);
	check_step(plan, 1, PLAN_ONE_BOX_BAKE, "s", NULL, 110, 111);
	check_step(plan, 2, PLAN_STAGE_TESTS, "s", NULL, 111, 121);
	plan_free(plan);
}
END_TEST

#define LA "America/Los_Angeles"
#define WEEKDAYS_9 "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9"

/*
 * The pipeline allows weekdays 09:00 + 7h in LA.  Starting Sat 2026-11-28
 * 12:00Z, the build waits until Mon 11-30 09:00 PST = 17:00Z, builds for
 * 10m; the deploy stage (gated by the pipeline's windows too, open at
 * 17:10Z) runs its one target 17:10-17:20Z; the test stage has its own
 * window, Tuesdays 10:00 + 2h LA, so it waits until Tue 12-01 10:00 PST =
 * 18:00Z and runs 18:00-18:10Z.
 */
START_TEST(test_wait_for_windows)
{
	static char *one[] = {"t1"};
	struct stage_group g = {"g", one, 1};
	struct window_allow pa = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	struct window_allow sa = {
	    "FREQ=WEEKLY;BYDAY=TU;BYHOUR=10", 2 * HOUR_MS, LA};
	struct pipeline p = {.name = "orders"};
	struct stage st[] = {
	    {.name = "build", .type = STAGE_BUILD},
	    {.name = "alpha",
	        .type = STAGE_DEPLOY,
	        .groups = &g,
	        .ngroups = 1,
	        .sequential = true,
	        .batch = 1,
	        .production = true},
	    {.name = "zeta", .type = STAGE_TEST, .command = "x"},
	};
	int64_t t0 = utc(2026, 11, 28, 12, 0, 0);
	int64_t mon9 = utc(2026, 11, 30, 17, 0, 0);
	int64_t tue10 = utc(2026, 12, 1, 18, 0, 0);
	struct plan *plan;

	p.windows.allow = &pa;
	p.windows.nallow = 1;
	st[2].windows.allow = &sa;
	st[2].windows.nallow = 1;
	plan = build(&p, st, 3, t0, 10 * MIN_MS);
	ck_assert_uint_eq(plan->nsteps, 5);
	check_step(plan, 0, PLAN_WAIT_WINDOW, "build", NULL, t0, mon9);
	check_step(plan, 1, PLAN_BUILD, "build", NULL, mon9, mon9 + 600);
	check_step(plan, 2, PLAN_BATCH, "alpha", "g", mon9 + 600, mon9 + 1200);
	check_step(plan, 3, PLAN_WAIT_WINDOW, "zeta", NULL, mon9 + 1200, tue10);
	check_step(plan, 4, PLAN_TEST, "zeta", NULL, tue10, tue10 + 600);
	ck_assert_int_eq(plan->production_end, mon9 + 1200);
	ck_assert_int_eq(plan->end, tue10 + 600);
	plan_free(plan);
}
END_TEST

/*
 * A window gates only the start of a stage: from Mon 2026-11-30 15:50 PST
 * (23:50Z), a 30m stage starts at once and ends at 00:20Z, past the
 * window's 16:00 PST end; the next stage then waits until Tue 09:00 PST
 * (12-01 17:00Z).
 */
START_TEST(test_window_gates_only_the_start)
{
	static char *one[] = {"t1"};
	struct stage_group g = {"g", one, 1};
	struct window_allow pa = {WEEKDAYS_9, 7 * HOUR_MS, LA};
	struct pipeline p = {.name = "orders"};
	struct stage st[] = {
	    {.name = "a",
	        .type = STAGE_DEPLOY,
	        .groups = &g,
	        .ngroups = 1,
	        .sequential = true,
	        .batch = 1},
	    {.name = "b", .type = STAGE_TEST, .command = "x"},
	};
	int64_t t0 = utc(2026, 11, 30, 23, 50, 0);
	struct plan *plan;

	p.windows.allow = &pa;
	p.windows.nallow = 1;
	plan = build(&p, st, 2, t0, 30 * MIN_MS);
	ck_assert_uint_eq(plan->nsteps, 3);
	check_step(plan, 0, PLAN_BATCH, "a", "g", t0, t0 + 1800);
	check_step(plan, 1, PLAN_WAIT_WINDOW, "b", NULL, t0 + 1800,
	    utc(2026, 12, 1, 17, 0, 0));
	check_step(plan, 2, PLAN_TEST, "b", NULL, utc(2026, 12, 1, 17, 0, 0),
	    utc(2026, 12, 1, 17, 30, 0));
	plan_free(plan);
}
END_TEST

/* A window that never opens: NULL, GANTRY_ENOENT naming the stage. */
START_TEST(test_window_never_opens)
{
	struct window_freeze f = {0, INT64_MAX / 2, "forever"};
	struct pipeline p = {.name = "orders"};
	struct stage st[] = {
	    {.name = "build", .type = STAGE_BUILD},
	    {.name = "late", .type = STAGE_TEST, .command = "x"},
	};
	struct plan_assume a = {60 * 1000};
	struct gantry_error err = {0};

	st[1].windows.freeze = &f;
	st[1].windows.nfreeze = 1;
	ck_assert_ptr_null(plan_build(&p, st, 2, 1000, &a, &err));
	ck_assert_int_eq(err.code, GANTRY_ENOENT);
	ck_assert_msg(strstr(err.msg, "stage \"late\"") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_unexpanded_waves)
{
	struct pipeline p = {.name = "orders"};
	struct stage st = {.name = "prod", .type = STAGE_WAVES};
	struct plan_assume a = {60 * 1000};
	struct gantry_error err = {0};

	ck_assert_ptr_null(plan_build(&p, &st, 1, 1000, &a, &err));
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_msg(strstr(err.msg, "expanded") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_empty_plan)
{
	struct pipeline p = {.name = "orders"};
	struct plan *plan = build(&p, NULL, 0, 77, 1000);
	json_t *j;

	ck_assert_uint_eq(plan->nsteps, 0);
	ck_assert_int_eq(plan->start, 77);
	ck_assert_int_eq(plan->end, 77);
	j = plan_to_json(plan);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_null(json_object_get(j, "production_end")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "steps")), 0);
	json_decref(j);
	plan_free(plan);
	plan_free(NULL);
}
END_TEST

START_TEST(test_to_json)
{
	struct pipeline p = {.name = "orders"};
	int64_t t0 = utc(2026, 11, 26, 9, 0, 0);
	struct plan *plan = build(&p, three_stages, 3, t0, 10 * MIN_MS);
	json_t *j = plan_to_json(plan), *steps, *s;
	char *text;

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "start")),
	    "2026-11-26T09:00:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(j, "end")),
	    "2026-11-26T11:40:00Z");
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "production_end")),
	    "2026-11-26T11:30:00Z");
	steps = json_object_get(j, "steps");
	ck_assert_uint_eq(json_array_size(steps), 9);

	s = json_array_get(steps, 0);
	text = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(text,
	    "{\"duration\":600,\"end\":\"2026-11-26T09:10:00Z\","
	    "\"kind\":\"build\",\"stage\":\"build\","
	    "\"start\":\"2026-11-26T09:00:00Z\"}");
	free(text);

	s = json_array_get(steps, 3);
	text = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(text,
	    "{\"batch\":1,\"duration\":600,\"end\":\"2026-11-26T10:00:00Z\","
	    "\"group\":\"us-east-1\",\"kind\":\"batch\",\"stage\":\"gamma\","
	    "\"start\":\"2026-11-26T09:50:00Z\",\"targets\":[\"a2\",\"a3\"]}");
	free(text);

	s = json_array_get(steps, 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(s, "kind")), "one-box");
	ck_assert_uint_eq(json_array_size(json_object_get(s, "targets")), 1);
	s = json_array_get(steps, 6);
	ck_assert_str_eq(json_string_value(json_object_get(s, "kind")), "bake");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(s, "duration")), 3600);
	ck_assert_ptr_null(json_object_get(s, "targets"));
	ck_assert_ptr_null(json_object_get(s, "group"));
	json_decref(j);
	plan_free(plan);
}
END_TEST

START_TEST(test_kind_names)
{
	static const struct {
		enum plan_step_kind k;
		const char *name;
	} names[] = {
	    {PLAN_WAIT_WINDOW, "wait-window"},
	    {PLAN_BUILD, "build"},
	    {PLAN_TEST, "test"},
	    {PLAN_ONE_BOX, "one-box"},
	    {PLAN_ONE_BOX_BAKE, "one-box-bake"},
	    {PLAN_BATCH, "batch"},
	    {PLAN_BAKE, "bake"},
	    {PLAN_STAGE_TESTS, "stage-tests"},
	};

	for (size_t i = 0; i < N(names); i++)
		ck_assert_str_eq(
		    plan_step_kind_name(names[i].k), names[i].name);
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_three_stages);
	tcase_add_test(tc, test_percent_batches);
	tcase_add_test(tc, test_percent_per_group);
	tcase_add_test(tc, test_not_sequential);
	tcase_add_test(tc, test_one_box_only_target);
	tcase_add_test(tc, test_wait_for_windows);
	tcase_add_test(tc, test_window_gates_only_the_start);
	tcase_add_test(tc, test_window_never_opens);
	tcase_add_test(tc, test_unexpanded_waves);
	tcase_add_test(tc, test_empty_plan);
	tcase_add_test(tc, test_to_json);
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(plan_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
