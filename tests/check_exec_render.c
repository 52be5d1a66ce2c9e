/*
 * check_exec_render.c - unit tests for cli/exec_render.c on hand-written
 * JSON in the formats of /v1 (exec-json): the tree with progress bars,
 * bake countdowns, blockers and elapsed times; cutting to a width; one
 * line per transition; the history table; exit statuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "exec_render.h"

/* 2025-11-30 17:00:00Z, and 62 minutes later. */
#define T0 1764522000000LL
#define NOW (T0 + 62 * 60000LL)

/* A running execution in the middle of a deploy stage. */
static const char tree_running[] =
    "{\"id\": 12, \"pipeline\": \"orders-app\", \"pipeline_version\": 3,"
    " \"revision\": \"abc123def4567890\", \"state\": \"running\","
    " \"paused_from\": null, \"pause_requested\": false,"
    " \"artifact\": {\"uri\": \"s3://builds/orders-app.tar.gz\","
    "  \"sha256\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\","
    "  \"signature\": null},"
    " \"seq\": 17, \"stage\": 1, \"stage_started\": true,"
    " \"rolling_back_all\": false, \"final_state\": null,"
    " \"reason\": \"ship the new checkout\", \"created_at\": 1764522000000,"
    " \"finished_at\": 0, \"notify_seq\": 0, \"blockers\": [],"
    " \"stages\": ["
    "  {\"name\": \"build\", \"state\": \"succeeded\", \"batch\": 0,"
    "   \"one_box_done\": false, \"bake_until\": 0, \"test_attempts\": 0,"
    "   \"test_running\": false, \"started_at\": 1764522000000,"
    "   \"finished_at\": 1764522130000, \"reason\": null, \"targets\": []},"
    "  {\"name\": \"prod/wave-1\", \"state\": \"deploying\", \"batch\": 2,"
    "   \"one_box_done\": true, \"bake_until\": 0, \"test_attempts\": 0,"
    "   \"test_running\": false, \"started_at\": 1764522130000,"
    "   \"finished_at\": 0, \"reason\": null, \"targets\": ["
    "    {\"name\": \"h1\", \"group\": \"eu-north-1/az1\","
    "     \"state\": \"deployed\", \"touched\": true, \"previous\": \"s1\","
    "     \"deploy_attempts\": 1, \"rollback_attempts\": 0,"
    "     \"hook_running\": false, \"kill_sent\": false,"
    "     \"started_at\": 1764522130000, \"finished_at\": 1764522190000},"
    "    {\"name\": \"h2\", \"group\": \"eu-north-1/az1\","
    "     \"state\": \"deployed\", \"started_at\": 1764522130000,"
    "     \"finished_at\": 1764522190000},"
    "    {\"name\": \"h3\", \"group\": \"eu-north-1/az2\","
    "     \"state\": \"deploying\", \"hook_running\": true,"
    "     \"started_at\": 1764522190000, \"finished_at\": 0},"
    "    {\"name\": \"h4\", \"group\": \"eu-north-1/az2\","
    "     \"state\": \"failed\", \"deploy_attempts\": 2,"
    "     \"started_at\": 1764522190000, \"finished_at\": 1764522250000}]},"
    "  {\"name\": \"prod/wave-2\", \"state\": \"pending\", \"batch\": 0,"
    "   \"bake_until\": 0, \"started_at\": 0, \"finished_at\": 0,"
    "   \"reason\": null, \"targets\": ["
    "    {\"name\": \"h5\", \"group\": \"us-east-1/az1\","
    "     \"state\": \"pending\"}]}],"
    " \"stuck\": false}";

static const char *const want_running[] = {
    "execution 12  orders-app v3  revision abc123def4567890",
    "state     running, stage 2/3 prod/wave-1, elapsed 1h02m",
    "artifact  s3://builds/orders-app.tar.gz sha256:9f86d081884c",
    "reason    ship the new checkout",
    "  build        succeeded  took 2m10s",
    "> prod/wave-1  deploying  [##########..........] 2/4 targets, 1/2 "
    "groups, batch 2, 1 failed, for 59m50s",
    "               failed: h4",
    "  prod/wave-2  pending    [....................] 0/1 targets, 0/1 "
    "groups",
};

/* Paused while baking, with blockers: one with an end, one without. */
static const char tree_baking[] =
    "{\"id\": 7, \"pipeline\": \"orders-config\", \"pipeline_version\": 1,"
    " \"revision\": \"r7\", \"state\": \"paused\","
    " \"paused_from\": \"blocked\", \"pause_requested\": false,"
    " \"artifact\": {\"uri\": null, \"sha256\": null, \"signature\": null},"
    " \"stage\": 0, \"final_state\": null, \"reason\": null,"
    " \"created_at\": 1764522000000, \"finished_at\": 0,"
    " \"blockers\": ["
    "  {\"kind\": \"window\", \"reason\": \"outside the allow window\","
    "   \"until\": 1764533000000},"
    "  {\"kind\": \"alarm\", \"reason\": \"errors above 1%\","
    "   \"until\": 0}],"
    " \"stages\": ["
    "  {\"name\": \"canary\", \"state\": \"baking\","
    "   \"bake_until\": 1764528130000, \"test_running\": true,"
    "   \"test_attempts\": 2, \"started_at\": 1764522000000,"
    "   \"finished_at\": 0, \"reason\": \"bake after one-box\","
    "   \"targets\": [{\"name\": \"c1\", \"group\": \"g\","
    "                 \"state\": \"deployed\"}]}],"
    " \"stuck\": true}";

static const char *const want_baking[] = {
    "execution 7  orders-config v1  revision r7",
    "state     paused (from blocked), STUCK, stage 1/1 canary, elapsed "
    "1h02m",
    "blocked   window: outside the allow window (until 2025-11-30 "
    "20:03:20Z, in 2h01m)",
    "          alarm: errors above 1%",
    "> canary  baking   [####################] 1/1 targets, 1/1 groups, "
    "bake 40m10s left, tests running (attempt 2), for 1h02m",
    "          bake after one-box",
};

/* Ended: rolled back after a failure; no stage is current. */
static const char tree_done[] =
    "{\"id\": 3, \"pipeline\": \"p\", \"pipeline_version\": 2,"
    " \"revision\": \"r\", \"state\": \"rolled_back\", \"stage\": 0,"
    " \"final_state\": \"rolled_back\", \"reason\": \"aborted by bob\","
    " \"created_at\": 1764522000000, \"finished_at\": 1764525600000,"
    " \"blockers\": [],"
    " \"stages\": [{\"name\": \"s\", \"state\": \"rolled_back\","
    "   \"started_at\": 1764522000000, \"finished_at\": 1764525000000,"
    "   \"targets\": [{\"name\": \"a\", \"group\": \"g1\","
    "                  \"state\": \"rolled_back\"},"
    "                 {\"name\": \"b\", \"group\": \"g2\","
    "                  \"state\": \"rolled_back\"}]}]}";

static const char *const want_done[] = {
    "execution 3  p v2  revision r",
    "state     rolled_back, took 1h00m",
    "reason    aborted by bob",
    ("  s      rolled_back  [....................] 0/2 targets, 0/2 "
     "groups, 2 rolled back, took 50m00s"),
};

/* Rolled back by an alarm during the one-box bake, after an override
 * let its stage start: the decisions say why. */
static const char tree_alarmed[] =
    "{\"id\": 42, \"pipeline\": \"guarded\", \"pipeline_version\": 1,"
    " \"revision\": \"bad2\", \"state\": \"rolled_back\","
    " \"reason\": \"alarm errors: errors: 0.034 > 0.01 in 3 of the last 5 "
    "datapoints\","
    " \"created_at\": 1764522000000, \"finished_at\": 1764525600000,"
    " \"blockers\": [],"
    " \"overrides\": [{\"stage\": \"canary\", \"blocker\": "
    "\"alarm:site-down\","
    "  \"actor\": \"token:oncall\", \"reason\": \"status page is wrong\","
    "  \"at\": 1764522060000, \"expires\": 1764522660000, \"used\": true}],"
    " \"decisions\": ["
    "  {\"at\": 1764522060000, \"stage\": \"canary\", \"kind\": \"override\","
    "   \"subject\": \"alarm:site-down\", \"reason\": \"status page red "
    "overridden by token:oncall: status page is wrong\", \"detail\": null},"
    "  {\"at\": 1764522184000, \"stage\": \"canary\", \"kind\": \"alarm\","
    "   \"subject\": \"errors\", \"reason\": \"alarm errors: errors: 0.034 > "
    "0.01 in 3 of the last 5 datapoints\","
    "   \"detail\": {\"alarm\": \"errors\", \"state\": \"alarm\","
    "    \"rule\": \"above 0.01 in 3/5 datapoints\", \"threshold\": 0.01,"
    "    \"datapoints\": [{\"at\": 1, \"value\": 0.002},"
    "     {\"at\": 2, \"value\": 0.034}, {\"at\": 3, \"value\": 0.041},"
    "     {\"at\": 4, \"value\": null}, {\"at\": 5, \"value\": 0.05}]}}],"
    " \"stages\": [{\"name\": \"canary\", \"state\": \"rolled_back\","
    "   \"started_at\": 1764522060000, \"finished_at\": 1764522300000}]}";

static const char *const want_alarmed[] = {
    "execution 42  guarded v1  revision bad2",
    "state     rolled_back, took 1h00m",
    "reason    alarm errors: errors: 0.034 > 0.01 in 3 of the last 5 "
    "datapoints",
    "override  alarm:site-down on canary by token:oncall at 17:01:00Z, "
    "used: status page is wrong",
    "  canary  rolled_back  took 4m00s",
    "decision  override alarm:site-down at 17:01:00Z on canary: status "
    "page red overridden by token:oncall: status page is wrong",
    "          alarm errors at 17:03:04Z on canary: errors: 0.034 > 0.01 "
    "in 3 of the last 5 datapoints",
    "            datapoints 0.002 0.034 0.041 - 0.05; rule above 0.01 in "
    "3/5 datapoints",
};

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	ck_assert_msg(v != NULL, "test JSON: line %d: %s", e.line, e.text);
	return v;
}

static void
check_lines(const struct exec_lines *l, const char *const *want, size_t n)
{
	for (size_t i = 0; i < l->n && i < n; i++)
		ck_assert_str_eq(l->v[i], want[i]);
	ck_assert_uint_eq(l->n, n);
}

#define NWANT(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_tree_running)
{
	struct exec_lines l = {0};
	json_t *t = load(tree_running);

	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	check_lines(&l, want_running, NWANT(want_running));
	exec_lines_clear(&l);
	json_decref(t);
}
END_TEST

START_TEST(test_tree_baking)
{
	struct exec_lines l = {0};
	json_t *t = load(tree_baking);

	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	check_lines(&l, want_baking, NWANT(want_baking));
	exec_lines_clear(&l);
	/* The countdown moves with now, and stops at the end. */
	ck_assert_int_eq(exec_render_tree(t, NOW + 40 * 60000, 0, &l), 0);
	ck_assert_ptr_nonnull(strstr(l.v[4], "bake 10s left"));
	exec_lines_clear(&l);
	ck_assert_int_eq(exec_render_tree(t, NOW + 41 * 60000, 0, &l), 0);
	ck_assert_ptr_null(strstr(l.v[4], "bake"));
	exec_lines_clear(&l);
	json_decref(t);
}
END_TEST

START_TEST(test_tree_done)
{
	struct exec_lines l = {0};
	json_t *t = load(tree_done);

	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	check_lines(&l, want_done, NWANT(want_done));
	exec_lines_clear(&l);
	/* a dry run says so on its first line */
	json_object_set_new(t, "dry_run", json_true());
	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, NWANT(want_done));
	ck_assert_ptr_nonnull(strstr(l.v[0], want_done[0]));
	ck_assert_ptr_nonnull(strstr(l.v[0], "  (dry run)"));
	exec_lines_clear(&l);
	json_decref(t);
}
END_TEST

/* At a width, lines are cut to it, and the bar shrinks to fit. */
START_TEST(test_tree_width)
{
	struct exec_lines l = {0};
	json_t *t = load(tree_running);

	ck_assert_int_eq(exec_render_tree(t, NOW, 60, &l), 0);
	ck_assert_uint_eq(l.n, NWANT(want_running));
	for (size_t i = 0; i < l.n; i++)
		ck_assert_uint_le(strlen(l.v[i]), 60);
	ck_assert_str_eq(l.v[5],
	    "> prod/wave-1  deploying  [##...] 2/4 targets, 1/2 groups...");
	ck_assert_str_eq(l.v[2],
	    "artifact  s3://builds/orders-app.tar.gz sha256:9f86d081884c");
	exec_lines_clear(&l);
	json_decref(t);
}
END_TEST

/* Whatever the server sends, no failure: "?" where a value is missing,
 * and no control characters reach the terminal. */
START_TEST(test_tree_tolerant)
{
	struct exec_lines l = {0};
	json_t *t = load("{\"stages\": [{\"targets\": [{}]}, 3],"
	                 " \"blockers\": [null],"
	                 " \"reason\": \"a\\u001b[2Jb\\nc\"}");

	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	ck_assert_str_eq(l.v[0], "execution 0  ? v0  revision ?");
	ck_assert_str_eq(l.v[1], "state     ?, stage 1/2 ?");
	ck_assert_str_eq(l.v[2], "reason    a?[2Jb?c");
	ck_assert_str_eq(l.v[3], "blocked   ?: (no reason given)");
	ck_assert_str_eq(l.v[4],
	    "> ?      ?        [....................] 0/1 targets, 0/1 "
	    "groups");
	ck_assert_str_eq(l.v[5], "  ?      ?");
	ck_assert_uint_eq(l.n, 6);
	exec_lines_clear(&l);
	json_decref(t);
	t = json_null();
	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 2);
	exec_lines_clear(&l);
	json_decref(t);
}
END_TEST

/* Cutting counts columns, not bytes, and never splits a character. */
START_TEST(test_tree_utf8)
{
	struct exec_lines l = {0};
	json_t *t = load("{\"id\": 1, \"pipeline\": \"\xc3\xa9t\xc3\xa9\","
	                 " \"pipeline_version\": 1, \"revision\": \"r\","
	                 " \"stages\": [{\"name\": \"\xc3\xa9\xc3\xa9\","
	                 " \"state\": \"pending\"}, {\"name\": \"abcdef\","
	                 " \"state\": \"pending\"}]}");

	ck_assert_int_eq(exec_render_tree(t, NOW, 14, &l), 0);
	ck_assert_str_eq(l.v[0], "execution 1...");
	ck_assert_str_eq(l.v[3], "  abcdef  p...");
	exec_lines_clear(&l);
	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	ck_assert_str_eq(
	    l.v[0], "execution 1  \xc3\xa9t\xc3\xa9 v1  revision r");
	ck_assert_str_eq(l.v[2], "> \xc3\xa9\xc3\xa9      pending");
	exec_lines_clear(&l);
	json_decref(t);
	/* A cut inside multi-byte characters. */
	t = load("{\"id\": 1, \"pipeline\": "
	         "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}");
	ck_assert_int_eq(exec_render_tree(t, NOW, 17, &l), 0);
	ck_assert_str_eq(l.v[0], "execution 1  \xc3\xa9...");
	exec_lines_clear(&l);
	json_decref(t);
}
END_TEST

START_TEST(test_event_line)
{
	struct exec_lines l = {0};
	json_t *tree = load(tree_running), *msg;

	msg = json_pack("{s:i, s:s, s:{s:s, s:s, s:i, s:i, s:n}, s:s, s:O}",
	    "seq", 18, "kind", "hook-finished", "data", "kind", "hook-finished",
	    "step", "prod/wave-1:h3:deploy", "attempt", 1, "status", 0,
	    "reason", "at", "2025-11-30T17:02:03Z", "execution", tree);
	ck_assert_ptr_nonnull(msg);
	ck_assert_int_eq(exec_render_event(msg, 0, &l), 0);
	ck_assert_str_eq(l.v[0],
	    "2025-11-30T17:02:03Z #18 hook-finished "
	    "step=prod/wave-1:h3:deploy attempt=1 status=0 -> running, "
	    "prod/wave-1 deploying 2/4");
	json_decref(msg);

	msg = load("{\"seq\": 5, \"kind\": \"abort\", \"at\": \"T\","
	           " \"data\": {\"kind\": \"abort\", \"actor\": \"alice\","
	           " \"reason\": \"bad \\\"canary\\\"\", \"other\": \"\","
	           " \"targets\": {\"h1\": \"v1\", \"h2\": null, \"h3\": null,"
	           "  \"h4\": \"x\", \"h5\": null},"
	           " \"blockers\": [{\"kind\": \"window\"},"
	           "  {\"kind\": \"alarm\"}], \"x\": [1, {\"y\": true}]},"
	           " \"execution\": null}");
	ck_assert_int_eq(exec_render_event(msg, 0, &l), 0);
	ck_assert_str_eq(l.v[1],
	    "T #5 abort actor=alice reason=\"bad \\\"canary\\\"\" other=\"\" "
	    "targets=h1,h2,h3,h4,+1 blockers=window,alarm "
	    "x=[1,{\"y\":true}]");
	json_decref(msg);

	/* Terminal: the state, no stage. */
	json_object_set_new(tree, "state", json_string("succeeded"));
	msg = json_pack("{s:i, s:s, s:{}, s:s, s:O}", "seq", 30, "kind",
	    "hook-finished", "data", "at", "T", "execution", tree);
	ck_assert_int_eq(exec_render_event(msg, 0, &l), 0);
	ck_assert_str_eq(l.v[2], "T #30 hook-finished -> succeeded");
	ck_assert_int_eq(exec_render_event(msg, 12, &l), 0);
	ck_assert_str_eq(l.v[3], "T #30 hoo...");
	ck_assert_uint_eq(l.n, 4);
	json_decref(msg);
	json_decref(tree);
	exec_lines_clear(&l);
}
END_TEST

START_TEST(test_history)
{
	struct exec_lines l = {0};
	json_t *list = load(
	    "{\"executions\": ["
	    " {\"id\": 12, \"pipeline\": \"orders-app\","
	    "  \"pipeline_version\": 3, \"revision\": \"abc123def4567890\","
	    "  \"state\": \"running\", \"reason\": \"ship it\","
	    "  \"created_at\": 1764522000000, \"finished_at\": 0},"
	    " {\"id\": 9, \"pipeline\": \"orders-infra\","
	    "  \"pipeline_version\": 11, \"revision\": \"ffe1\","
	    "  \"state\": \"rolled_back\", \"reason\": null,"
	    "  \"created_at\": 1764422000000, \"finished_at\": 1764429000000}],"
	    " \"next_cursor\": null}");

	ck_assert_int_eq(exec_render_history(list, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.v[0],
	    "ID  PIPELINE      VER  REVISION      STATE        CREATED (UTC)  "
	    "       TOOK   REASON");
	ck_assert_str_eq(l.v[1],
	    "12  orders-app      3  abc123def456  running      2025-11-30 "
	    "17:00:00Z  1h02m  ship it");
	ck_assert_str_eq(l.v[2],
	    " 9  orders-infra   11  ffe1          rolled_back  2025-11-29 "
	    "13:13:20Z  1h56m");
	exec_lines_clear(&l);
	json_decref(list);

	/* A dry run: its state says so. */
	list = load("{\"executions\": [{\"id\": 13, \"pipeline\": \"a\","
	            " \"pipeline_version\": 1, \"revision\": \"r\","
	            " \"state\": \"succeeded\", \"dry_run\": true,"
	            " \"created_at\": 1764522000000, \"finished_at\": 0}],"
	            " \"next_cursor\": null}");
	ck_assert_int_eq(exec_render_history(list, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_ptr_nonnull(strstr(l.v[1], "  succeeded (dry run)  "));
	exec_lines_clear(&l);
	json_decref(list);

	/* No executions: the header alone. */
	list = load("{\"executions\": [], \"next_cursor\": null}");
	ck_assert_int_eq(exec_render_history(list, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 1);
	exec_lines_clear(&l);
	json_decref(list);
}
END_TEST

START_TEST(test_tree_alarmed)
{
	struct exec_lines l = {0};
	json_t *t = load(tree_alarmed);

	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	check_lines(&l, want_alarmed, NWANT(want_alarmed));
	exec_lines_clear(&l);
	/* A day later the decisions show their date. */
	ck_assert_int_eq(exec_render_tree(t, NOW + 86400000LL, 0, &l), 0);
	ck_assert_str_eq(l.v[6],
	    "          alarm errors at 2025-11-30 17:03:04Z on canary: "
	    "errors: 0.034 > 0.01 in 3 of the last 5 datapoints");
	exec_lines_clear(&l);
	json_decref(t);
}
END_TEST

/* Blocked: each overridable blocker with the id override takes, a hint
 * once; an override not used yet says when it lapses; many datapoints
 * are cut to the last 12; a decision without detail has no second line. */
START_TEST(test_tree_blocked)
{
	struct exec_lines l = {0};
	json_t *t = load(
	    "{\"id\": 7, \"pipeline\": \"plain\", \"pipeline_version\": 2,"
	    " \"revision\": \"r\", \"state\": \"blocked\", \"stage\": 1,"
	    " \"created_at\": 1764525600000,"
	    " \"blockers\": ["
	    "  {\"kind\": \"alarm\", \"reason\": \"site-down: status page "
	    "red\","
	    "   \"until\": 0, \"id\": \"alarm:site-down\"},"
	    "  {\"kind\": \"hold\", \"reason\": \"hold 3 on service shop: "
	    "incident 4711\", \"until\": 0, \"id\": \"hold:3\"},"
	    "  {\"kind\": \"busy\", \"reason\": \"p1 is deployed by 6\","
	    "   \"until\": 0, \"id\": null}],"
	    " \"overrides\": [{\"stage\": \"web\", \"blocker\": \"alarm:x\","
	    "  \"actor\": \"token:oncall\", \"reason\": \"fix\","
	    "  \"at\": 1764525660000, \"expires\": 1764526260000,"
	    "  \"used\": false},"
	    "  {\"stage\": \"web\", \"blocker\": \"alarm:y\", \"at\": 1,"
	    "   \"expires\": 2, \"used\": false}],"
	    " \"decisions\": [{\"at\": 1764525700000, \"kind\": "
	    "\"bake_passed\","
	    "  \"stage\": \"build\", \"subject\": null,"
	    "  \"reason\": \"bake of stage build passed: no alarm fired\","
	    "  \"detail\": {\"datapoints\": "
	    "[0,1,2,3,4,5,6,7,8,9,10,11,12,13]}}],"
	    " \"stages\": [{\"name\": \"build\", \"state\": \"succeeded\"},"
	    "  {\"name\": \"web\", \"state\": \"blocked\"}]}");
	json_t *pts = json_object_get(
	    json_object_get(
	        json_array_get(json_object_get(t, "decisions"), 0), "detail"),
	    "datapoints");

	for (size_t i = 0; i < json_array_size(pts); i++)
		json_array_set_new(pts, i,
		    json_pack("{s:I, s:f}", "at", (json_int_t)i, "value",
		        (double)i / 4));
	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	ck_assert_str_eq(l.v[2],
	    "blocked   alarm: site-down: status page red [7:alarm:site-down]");
	ck_assert_str_eq(l.v[3],
	    "          hold: hold 3 on service shop: incident 4711 [7:hold:3]");
	ck_assert_str_eq(l.v[4], "          busy: p1 is deployed by 6");
	ck_assert_str_eq(l.v[5],
	    "          (gantryctl override ID --reason TEXT lets the stage "
	    "start despite one)");
	ck_assert_str_eq(l.v[6],
	    "override  alarm:x on web by token:oncall at 18:01:00Z, unused, "
	    "expires in 9m00s: fix");
	ck_assert_str_eq(l.v[7],
	    "          alarm:y on web by ? at 1970-01-01 00:00:00Z, expired "
	    "unused: (no reason given)");
	ck_assert_str_eq(l.v[10],
	    "decision  bake passed at 18:01:40Z on build: bake of stage build "
	    "passed: no alarm fired");
	ck_assert_str_eq(l.v[11],
	    "            datapoints (2 earlier) 0.5 0.75 1 1.25 1.5 1.75 2 "
	    "2.25 "
	    "2.5 2.75 3 3.25");
	ck_assert_uint_eq(l.n, 12);
	exec_lines_clear(&l);
	json_decref(t);
	/* A pushed alarm's decision: who pushed it. */
	t = load("{\"decisions\": [{\"at\": 1764525700000, \"kind\": \"alarm\","
	         " \"subject\": \"errors\", \"stage\": \"canary\","
	         " \"reason\": \"alarm errors: 5xx ratio 0.034 > 0.01\","
	         " \"detail\": {\"rule\": \"pushed\", \"reason\": \"5xx\","
	         "  \"source\": \"alertmanager (token:am)\"}}]}");
	ck_assert_int_eq(exec_render_tree(t, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_str_eq(l.v[2],
	    "decision  alarm errors at 18:01:40Z on canary: 5xx ratio 0.034 > "
	    "0.01");
	ck_assert_str_eq(
	    l.v[3], "            pushed by alertmanager (token:am)");
	exec_lines_clear(&l);
	json_decref(t);
}
END_TEST

START_TEST(test_alarms)
{
	struct exec_lines l = {0};
	json_t *list = load(
	    "{\"alarms\": ["
	    " {\"scope\": \"org\", \"pipeline\": null, \"name\": \"site-down\","
	    "  \"source\": \"push\", \"state\": \"alarm\","
	    "  \"reason\": \"status page red\", \"since\": 1764525540000,"
	    "  \"detail\": null},"
	    " {\"scope\": \"pipeline\", \"pipeline\": \"orders-app\","
	    "  \"name\": \"errors\", \"source\": \"prometheus\","
	    "  \"state\": \"insufficient_data\", \"reason\": \"\","
	    "  \"since\": 0, \"detail\": null,"
	    "  \"one_box\": [{\"execution\": 12, \"stage\": \"prod/wave-1\","
	    "   \"state\": \"ok\", \"reason\": \"0.9x the fleet\"}]}]}");

	ck_assert_int_eq(exec_render_alarms(list, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_str_eq(l.v[0],
	    "SCOPE       NAME       SOURCE      STATE              SINCE      "
	    "REASON");
	ck_assert_str_eq(l.v[1],
	    "org         site-down  push        alarm              3m00s ago  "
	    "status page red");
	ck_assert_str_eq(
	    l.v[2], "orders-app  errors     prometheus  insufficient_data  -");
	ck_assert_str_eq(l.v[3],
	    "    one-box of execution 12 stage prod/wave-1: ok: 0.9x the "
	    "fleet");
	exec_lines_clear(&l);
	json_decref(list);
	list = load("{\"alarms\": []}");
	ck_assert_int_eq(exec_render_alarms(list, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.v[0], "no alarms are defined");
	exec_lines_clear(&l);
	json_decref(list);
}
END_TEST

START_TEST(test_blockers)
{
	struct exec_lines l = {0};
	json_t *doc = load(
	    "{\"blockers\": ["
	    " {\"id\": \"42:alarm:site-down\", \"execution\": 42,"
	    "  \"pipeline\": \"plain\", \"stage\": \"web\", \"kind\": "
	    "\"alarm\","
	    "  \"reason\": \"site-down: status page red\", \"until\": null,"
	    "  \"overridable\": true},"
	    " {\"id\": \"43:window\", \"execution\": 43,"
	    "  \"pipeline\": \"nightly\", \"stage\": \"db\","
	    "  \"kind\": \"window\", \"reason\": \"outside the allow window\","
	    "  \"until\": 1764533000000, \"overridable\": false}],"
	    " \"holds\": [{\"id\": 3, \"scope\": \"service\", \"name\": "
	    "\"shop\","
	    "  \"reason\": \"incident 4711\", \"actor\": \"token:deployer\","
	    "  \"created_at\": 1764525600000},"
	    " {\"id\": 4, \"scope\": \"all\", \"name\": null,"
	    "  \"reason\": \"freeze\", \"actor\": \"token:admin\","
	    "  \"created_at\": 1764525700000}],"
	    " \"alarms\": [{\"name\": \"site-down\", \"pipeline\": null},"
	    "  {\"name\": \"errors\", \"pipeline\": \"guarded\"}]}");

	ck_assert_int_eq(exec_render_blockers(doc, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 9);
	ck_assert_str_eq(l.v[0],
	    "ID                  EXECUTION  PIPELINE  STAGE  KIND    UNTIL     "
	    "            OVERRIDABLE  REASON");
	ck_assert_str_eq(l.v[1],
	    "42:alarm:site-down  42         plain     web    alarm   -         "
	    "            yes          site-down: status page red");
	ck_assert_str_eq(l.v[2],
	    "43:window           43         nightly   db     window  20:03:20Z "
	    "(in 2h01m)  no           outside the allow window");
	ck_assert_str_eq(l.v[3], "");
	ck_assert_str_eq(
	    l.v[4], "HOLD  SCOPE    NAME  SINCE      BY              REASON");
	ck_assert_str_eq(l.v[5],
	    "3     service  shop  2m00s ago  token:deployer  incident 4711");
	ck_assert_str_eq(
	    l.v[6], "4     all      -     20s ago    token:admin     freeze");
	ck_assert_str_eq(l.v[7], "");
	ck_assert_str_eq(l.v[8], "firing: site-down, guarded:errors");
	exec_lines_clear(&l);
	json_decref(doc);

	doc = load("{\"blockers\": [], \"holds\": [], \"alarms\": []}");
	ck_assert_int_eq(exec_render_blockers(doc, NOW, 0, &l), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.v[0], "no execution is blocked");
	ck_assert_str_eq(l.v[1], "");
	ck_assert_str_eq(l.v[2], "no holds");
	exec_lines_clear(&l);
	json_decref(doc);
}
END_TEST

START_TEST(test_ago)
{
	char buf[48];

	ck_assert_str_eq(exec_render_ago(0, NOW, buf, sizeof(buf)), "-");
	ck_assert_str_eq(
	    exec_render_ago(NOW - 180000, NOW, buf, sizeof(buf)), "3m00s ago");
	ck_assert_str_eq(
	    exec_render_ago(NOW + 42000, NOW, buf, sizeof(buf)), "in 42s");
	ck_assert_str_eq(exec_render_ago(NOW, NOW, buf, sizeof(buf)), "0s ago");
}
END_TEST

START_TEST(test_bar)
{
	char buf[64];

	ck_assert_str_eq(
	    exec_render_bar(0, 4, 8, buf, sizeof(buf)), "[........]");
	ck_assert_str_eq(
	    exec_render_bar(1, 4, 8, buf, sizeof(buf)), "[##......]");
	ck_assert_str_eq(
	    exec_render_bar(3, 4, 8, buf, sizeof(buf)), "[######..]");
	ck_assert_str_eq(
	    exec_render_bar(4, 4, 8, buf, sizeof(buf)), "[########]");
	ck_assert_str_eq(
	    exec_render_bar(9, 4, 8, buf, sizeof(buf)), "[########]");
	ck_assert_str_eq(exec_render_bar(0, 0, 3, buf, sizeof(buf)), "[...]");
	ck_assert_str_eq(exec_render_bar(1, 3, 0, buf, sizeof(buf)), "[.]");
	/* 99 of 100 is not shown full. */
	ck_assert_str_eq(
	    exec_render_bar(99, 100, 10, buf, sizeof(buf)), "[#########.]");
	ck_assert_str_eq(exec_render_bar(4, 4, 8, buf, 5), "[###");
}
END_TEST

START_TEST(test_duration)
{
	static const struct {
		long long ms;
		const char *want;
	} cases[] = {
	    {-5000, "0s"},
	    {0, "0s"},
	    {999, "0s"},
	    {42000, "42s"},
	    {60000, "1m00s"},
	    {725000, "12m05s"},
	    {3599999, "59m59s"},
	    {3600000, "1h00m"},
	    {3720000, "1h02m"},
	    {86399000, "23h59m"},
	    {86400000, "1d00h"},
	    {183600000, "2d03h"},
	};
	char buf[32];

	for (size_t i = 0; i < NWANT(cases); i++)
		ck_assert_str_eq(
		    exec_render_duration(cases[i].ms, buf, sizeof(buf)),
		    cases[i].want);
}
END_TEST

START_TEST(test_exit_status)
{
	ck_assert_int_eq(exec_render_exit_status("succeeded"), 0);
	ck_assert_int_eq(exec_render_exit_status("rolled_back"), 1);
	ck_assert_int_eq(exec_render_exit_status("failed"), 1);
	ck_assert_int_eq(exec_render_exit_status("aborted"), 1);
	ck_assert_int_eq(exec_render_exit_status("rejected"), 1);
	ck_assert_int_eq(exec_render_exit_status("superseded"), 1);
	ck_assert_int_eq(exec_render_exit_status("running"), -1);
	ck_assert_int_eq(exec_render_exit_status("rolling_back"), -1);
	ck_assert_int_eq(exec_render_exit_status("paused"), -1);
	ck_assert_int_eq(exec_render_exit_status(NULL), -1);
	ck_assert(exec_render_is_terminal("superseded"));
	ck_assert(!exec_render_is_terminal("queued"));
}
END_TEST

static Suite *
exec_render_suite(void)
{
	Suite *s = suite_create("exec_render");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_tree_running);
	tcase_add_test(tc, test_tree_baking);
	tcase_add_test(tc, test_tree_done);
	tcase_add_test(tc, test_tree_width);
	tcase_add_test(tc, test_tree_tolerant);
	tcase_add_test(tc, test_tree_utf8);
	tcase_add_test(tc, test_event_line);
	tcase_add_test(tc, test_history);
	tcase_add_test(tc, test_tree_alarmed);
	tcase_add_test(tc, test_tree_blocked);
	tcase_add_test(tc, test_alarms);
	tcase_add_test(tc, test_blockers);
	tcase_add_test(tc, test_ago);
	tcase_add_test(tc, test_bar);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_exit_status);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(exec_render_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
