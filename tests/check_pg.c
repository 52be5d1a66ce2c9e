/*
 * check_pg.c - tests for daemon/pg.c against a real PostgreSQL (the
 * conninfo comes from $GANTRY_TEST_PG; tests/integration_pg.sh starts a
 * private cluster and runs this): FIFO order of callbacks with more
 * queries queued than fit in the pipeline, one failing query aborting no
 * other (each has its own Sync), a simple-protocol string between
 * pipelined queries, the client-side deadline resetting the connection
 * with queries in flight, and the server ending the session; named
 * prepared statements used by many queries of one pipeline, a PREPARE
 * that fails (its queries fail, the next use prepares again), and queries
 * queued from inside callbacks; binary array parameters (pgarray.h) of
 * every element type the engine sends, NULLs, bytes that are not text,
 * empty arrays, read back by the server.  Each test owns its event_base
 * and its connection.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <event2/event.h>

#include "log.h"
#include "pg.h"
#include "pgarray.h"

#define NQ 300 /* more than the pipeline holds (64) */

/* One query's outcome, copied out of the borrowed result. */
struct got {
	bool done;
	int order; /* position among all callbacks, from 1 */
	ExecStatusType status;
	bool null_res;
	char value[256];
	char errmsg[256];
};

struct fix {
	struct event_base *base;
	struct pg *pg;
	struct event *guard;
	int ups, downs;
	int ncb;
	int want; /* break the loop when ncb reaches it (0: never) */
	bool want_up; /* break the loop at the next "up" */
};

static struct fix F;

struct slot {
	struct got *g;
};

static void
on_state(struct pg *pg, bool up, const char *why, void *arg)
{
	struct fix *f = arg;

	if (up) {
		f->ups++;
		if (f->want_up)
			event_base_loopbreak(f->base);
	} else {
		f->downs++;
	}
}

static void
on_result(PGresult *res, const char *errmsg, void *arg)
{
	struct got *g = arg;

	ck_assert_msg(!g->done, "a callback ran twice");
	g->done = true;
	g->order = ++F.ncb;
	g->null_res = res == NULL;
	if (res != NULL) {
		g->status = PQresultStatus(res);
		if (g->status == PGRES_TUPLES_OK && PQntuples(res) > 0)
			snprintf(g->value, sizeof(g->value), "%s",
			    PQgetvalue(res, 0, 0));
	}
	if (errmsg != NULL)
		snprintf(g->errmsg, sizeof(g->errmsg), "%s", errmsg);
	if (F.want > 0 && F.ncb >= F.want)
		event_base_loopbreak(F.base);
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	ck_abort_msg("the test did not finish in time");
}

static void
run(int seconds)
{
	struct timeval tv = {seconds, 0};

	evtimer_add(F.guard, &tv);
	event_base_dispatch(F.base);
	evtimer_del(F.guard);
}

/* A connected pg with the given server-side statement timeout. */
static void
setup_with(int64_t statement_timeout_ms)
{
	const char *conn = getenv("GANTRY_TEST_PG");

	ck_assert_msg(conn != NULL, "GANTRY_TEST_PG is not set");
	memset(&F, 0, sizeof(F));
	log_init();
	log_set_level(LOG_LVL_ERROR);
	F.base = event_base_new();
	F.guard = evtimer_new(F.base, on_guard, NULL);
	F.pg = pg_new(F.base, conn, 5000, statement_timeout_ms, on_state, &F);
	ck_assert_ptr_nonnull(F.pg);
	F.want_up = true;
	pg_start(F.pg);
	run(20);
	F.want_up = false;
	ck_assert(pg_is_up(F.pg));
}

static void
teardown(void)
{
	pg_free(F.pg);
	event_free(F.guard);
	event_base_free(F.base);
}

static void
query_int(const char *sql, int v, struct got *g)
{
	char buf[16];
	const char *params[1] = {buf};

	snprintf(buf, sizeof(buf), "%d", v);
	ck_assert_int_eq(pg_query(F.pg, sql, 1, params, on_result, g), 0);
}

START_TEST(test_fifo_order)
{
	static struct got g[NQ];

	memset(g, 0, sizeof(g));
	setup_with(10000);
	for (int i = 0; i < NQ; i++)
		query_int("SELECT $1::int", i, &g[i]);
	F.want = NQ;
	run(20);
	for (int i = 0; i < NQ; i++) {
		char want[16];

		snprintf(want, sizeof(want), "%d", i);
		ck_assert(g[i].done);
		ck_assert_int_eq(g[i].order, i + 1);
		ck_assert_int_eq(g[i].status, PGRES_TUPLES_OK);
		ck_assert_str_eq(g[i].value, want);
	}
	teardown();
}
END_TEST

/* Each query is its own transaction: a failure in the middle of the
 * pipeline aborts neither the ones before nor the ones after it. */
START_TEST(test_error_isolated)
{
	static struct got g[8];
	const char *none[1] = {NULL};

	memset(g, 0, sizeof(g));
	setup_with(10000);
	ck_assert_int_eq(pg_query_simple(F.pg,
	                     "DROP TABLE IF EXISTS pg_iso;"
	                     " CREATE TABLE pg_iso (v int NOT NULL)",
	                     on_result, &g[0]),
	    0);
	query_int("INSERT INTO pg_iso VALUES ($1)", 1, &g[1]);
	ck_assert_int_eq(pg_query(F.pg, "INSERT INTO pg_iso VALUES ($1::int)",
	                     1, none, on_result, &g[2]),
	    0);
	query_int("INSERT INTO pg_iso VALUES ($1)", 3, &g[3]);
	query_int("SELECT 1 / ($1::int - 4)", 4, &g[4]);
	query_int("INSERT INTO pg_iso VALUES ($1)", 5, &g[5]);
	query_int("SELECT string_agg(v::text, ',' ORDER BY v) FROM pg_iso"
	          " WHERE v < $1",
	    100, &g[6]);
	F.want = 7;
	run(20);
	ck_assert_int_eq(g[0].status, PGRES_COMMAND_OK);
	ck_assert_int_eq(g[1].status, PGRES_COMMAND_OK);
	ck_assert_int_eq(g[2].status, PGRES_FATAL_ERROR);
	ck_assert_ptr_nonnull(strstr(g[2].errmsg, "null value"));
	ck_assert_int_eq(g[3].status, PGRES_COMMAND_OK);
	ck_assert_int_eq(g[4].status, PGRES_FATAL_ERROR);
	ck_assert_ptr_nonnull(strstr(g[4].errmsg, "division by zero"));
	ck_assert_int_eq(g[5].status, PGRES_COMMAND_OK);
	ck_assert_str_eq(g[6].value, "1,3,5");
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(g[i].order, i + 1);
	teardown();
}
END_TEST

/* A simple-protocol string queued between pipelined queries runs after
 * the ones before it and before the ones after it, which see its
 * effects; a failing one leaves the session usable. */
START_TEST(test_simple_between)
{
	static struct got g[3 * NQ];
	int n = 0, ids[3];

	memset(g, 0, sizeof(g));
	setup_with(10000);
	for (int i = 0; i < 100; i++)
		query_int("SELECT count(*) + $1 FROM pg_class WHERE false", i,
		    &g[n++]);
	ids[0] = n;
	ck_assert_int_eq(pg_query_simple(F.pg,
	                     "DROP TABLE IF EXISTS pg_mid;"
	                     " CREATE TABLE pg_mid (v int);"
	                     " INSERT INTO pg_mid VALUES (42)",
	                     on_result, &g[n++]),
	    0);
	for (int i = 0; i < 100; i++)
		query_int("SELECT v + $1 FROM pg_mid", i, &g[n++]);
	ids[1] = n;
	ck_assert_int_eq(pg_query_simple(F.pg, "BEGIN; SELECT 1/0; COMMIT;",
	                     on_result, &g[n++]),
	    0);
	ids[2] = n;
	ck_assert_int_eq(
	    pg_query_simple(F.pg, "ROLLBACK", on_result, &g[n++]), 0);
	for (int i = 0; i < 100; i++)
		query_int("SELECT v * $1 FROM pg_mid", i, &g[n++]);
	F.want = n;
	run(30);
	for (int i = 0; i < n; i++) {
		ck_assert(g[i].done);
		ck_assert_int_eq(g[i].order, i + 1);
	}
	for (int i = 0; i < 100; i++) {
		char want[16];

		snprintf(want, sizeof(want), "%d", i);
		ck_assert_str_eq(g[i].value, want);
		snprintf(want, sizeof(want), "%d", 42 + i);
		ck_assert_str_eq(g[ids[0] + 1 + i].value, want);
		snprintf(want, sizeof(want), "%d", 42 * i);
		ck_assert_str_eq(g[ids[2] + 1 + i].value, want);
	}
	ck_assert_int_eq(g[ids[0]].status, PGRES_COMMAND_OK);
	ck_assert_int_eq(g[ids[1]].status, PGRES_FATAL_ERROR);
	ck_assert_int_eq(g[ids[2]].status, PGRES_COMMAND_OK);
	teardown();
}
END_TEST

/* The server never answers in time (its own timeout is turned off for
 * the session): the client deadline resets the connection, every query
 * in flight or queued gets NULL and a reason, and pg reconnects. */
START_TEST(test_deadline_resets)
{
	static struct got g[NQ];
	int n = 0;
	double t0, t1;
	struct timespec ts;

	memset(g, 0, sizeof(g));
	setup_with(100); /* deadline: 100 ms + the 5 s margin */
	query_int("SELECT $1::int", 1, &g[n++]);
	ck_assert_int_eq(pg_query_simple(F.pg, "SET statement_timeout = 0",
	                     on_result, &g[n++]),
	    0);
	query_int("SELECT $1::int FROM pg_sleep(30)", 2, &g[n++]);
	for (int i = 0; i < 100; i++)
		query_int("SELECT $1::int", i, &g[n++]);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec + ts.tv_nsec / 1e9;
	F.want = n;
	run(20);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t1 = ts.tv_sec + ts.tv_nsec / 1e9;
	ck_assert_str_eq(g[0].value, "1");
	ck_assert_int_eq(g[1].status, PGRES_COMMAND_OK);
	for (int i = 2; i < n; i++) {
		ck_assert(g[i].done);
		ck_assert_int_eq(g[i].order, i + 1);
		ck_assert(g[i].null_res);
		ck_assert_ptr_nonnull(strstr(g[i].errmsg, "timed out"));
	}
	ck_assert_msg(
	    t1 - t0 > 4.5 && t1 - t0 < 10, "reset after %.1f s", t1 - t0);
	ck_assert(!pg_is_up(F.pg));
	ck_assert_int_eq(F.downs, 1);
	/* Back after the backoff, with a fresh session. */
	F.want_up = true;
	run(20);
	ck_assert(pg_is_up(F.pg));
	memset(g, 0, sizeof(g));
	F.ncb = 0;
	F.want = 1;
	query_int("SELECT $1::int", 7, &g[0]);
	run(20);
	ck_assert_str_eq(g[0].value, "7");
	ck_assert_uint_eq(pg_reconnects(F.pg), 1);
	teardown();
}
END_TEST

/* The server ends the session with queries in flight and queued: the
 * ones answered before keep their results, all later ones get NULL. */
START_TEST(test_server_ends_session)
{
	static struct got g[NQ];
	int n = 0;

	memset(g, 0, sizeof(g));
	setup_with(10000);
	for (int i = 0; i < 10; i++)
		query_int("SELECT $1::int", i, &g[n++]);
	query_int("SELECT pg_terminate_backend(pg_backend_pid()) AND $1 > 0", 1,
	    &g[n++]);
	/* Sending can already see the closed socket (slow runs, valgrind):
	 * then the connection is down and queueing fails fast. */
	for (int i = 0; i < 100; i++) {
		char buf[16];
		const char *params[1] = {buf};

		snprintf(buf, sizeof(buf), "%d", i);
		if (pg_query(F.pg, "SELECT $1::int", 1, params, on_result,
		        &g[n]) < 0) {
			ck_assert(!pg_is_up(F.pg));
			break;
		}
		n++;
	}
	F.want = n;
	if (F.ncb < n)
		run(20);
	for (int i = 0; i < n; i++) {
		ck_assert(g[i].done);
		ck_assert_int_eq(g[i].order, i + 1);
	}
	/* Answered before the end; a send that meets the closed socket first
	 * drops the connection before those answers are read (slow runs). */
	for (int i = 0; i < 10; i++)
		ck_assert_msg(g[i].status == PGRES_TUPLES_OK ||
		        (g[i].null_res &&
		            strstr(g[i].errmsg, "connection lost")),
		    "query %d before the end: %s", i, g[i].errmsg);
	for (int i = 11; i < n; i++) {
		ck_assert(g[i].null_res);
		ck_assert_ptr_nonnull(strstr(g[i].errmsg, "connection lost"));
	}
	ck_assert_int_eq(F.downs, 1);
	F.want_up = true;
	run(20);
	ck_assert(pg_is_up(F.pg));
	teardown();
}
END_TEST

static void
query_prep_int(const char *sql, int v, struct got *g)
{
	char buf[16];
	const char *params[1] = {buf};

	snprintf(buf, sizeof(buf), "%d", v);
	ck_assert_int_eq(
	    pg_query_prepared(F.pg, sql, 1, params, on_result, g), 0);
}

static const char sql_plus[] = "SELECT $1::int + 1000";
static const char sql_times[] = "SELECT $1::int * 2";
static const char sql_later[] = "SELECT v + $1::int FROM pg_later";

/* Two named statements used by many queries queued at once (more than the
 * pipeline holds), between unnamed ones: each PREPARE is one pipelined item
 * ahead of its first use, prepared once, and every result is right and in
 * order. */
START_TEST(test_prepared_pipelined)
{
	static struct got g[NQ + 1];
	int n = 0;

	memset(g, 0, sizeof(g));
	setup_with(10000);
	for (int i = 0; i < NQ / 3; i++) {
		query_prep_int(sql_plus, i, &g[n++]);
		query_int("SELECT $1::int", i, &g[n++]);
		query_prep_int(sql_times, i, &g[n++]);
	}
	ck_assert_int_eq(
	    pg_query(F.pg,
	        "SELECT count(*) FROM pg_prepared_statements"
	        " WHERE name LIKE $1",
	        1, (const char *const[]){"g%"}, on_result, &g[n++]),
	    0);
	F.want = n;
	run(20);
	for (int i = 0; i < NQ / 3; i++) {
		char want[16];

		for (int k = 0; k < 3; k++) {
			ck_assert(g[3 * i + k].done);
			ck_assert_int_eq(g[3 * i + k].order, 3 * i + k + 1);
			ck_assert_int_eq(g[3 * i + k].status, PGRES_TUPLES_OK);
		}
		snprintf(want, sizeof(want), "%d", i + 1000);
		ck_assert_str_eq(g[3 * i].value, want);
		snprintf(want, sizeof(want), "%d", i);
		ck_assert_str_eq(g[3 * i + 1].value, want);
		snprintf(want, sizeof(want), "%d", i * 2);
		ck_assert_str_eq(g[3 * i + 2].value, want);
	}
	ck_assert_str_eq(g[n - 1].value, "2");
	teardown();
}
END_TEST

/* A PREPARE that fails (its table does not exist yet): the queries queued
 * on it fail with an error, the ones around them are untouched (the
 * pipeline stays in step), and once the failure was seen the next use
 * prepares again and, the table now there, succeeds. */
START_TEST(test_prepare_fails)
{
	static struct got g[16];
	int n = 0;

	memset(g, 0, sizeof(g));
	setup_with(10000);
	ck_assert_int_eq(pg_query_simple(F.pg, "DROP TABLE IF EXISTS pg_later",
	                     on_result, &g[n++]),
	    0);
	query_int("SELECT $1::int", 1, &g[n++]);
	query_prep_int(sql_later, 2, &g[n++]); /* PREPARE fails */
	query_int("SELECT $1::int", 3, &g[n++]);
	query_prep_int(sql_later, 4, &g[n++]); /* same, still named */
	query_prep_int(sql_plus, 5, &g[n++]); /* another statement */
	query_int("SELECT $1::int", 6, &g[n++]);
	F.want = n;
	run(20);
	for (int i = 0; i < n; i++) {
		ck_assert(g[i].done);
		ck_assert_int_eq(g[i].order, i + 1);
		ck_assert(!g[i].null_res);
	}
	ck_assert_str_eq(g[1].value, "1");
	ck_assert_int_eq(g[2].status, PGRES_FATAL_ERROR);
	ck_assert_msg(g[2].errmsg[0] != '\0', "no error message");
	ck_assert_str_eq(g[3].value, "3");
	ck_assert_int_eq(g[4].status, PGRES_FATAL_ERROR);
	ck_assert_msg(g[4].errmsg[0] != '\0', "no error message");
	ck_assert_str_eq(g[5].value, "1005");
	ck_assert_str_eq(g[6].value, "6");
	ck_assert(pg_is_up(F.pg));
	ck_assert_int_eq(F.downs, 0);

	/* The table appears; the same statement is prepared anew. */
	memset(g, 0, sizeof(g));
	F.ncb = 0;
	n = 0;
	ck_assert_int_eq(pg_query_simple(F.pg,
	                     "CREATE TABLE pg_later (v int);"
	                     " INSERT INTO pg_later VALUES (40)",
	                     on_result, &g[n++]),
	    0);
	query_prep_int(sql_later, 2, &g[n++]);
	query_prep_int(sql_later, 3, &g[n++]);
	query_prep_int(sql_plus, 7, &g[n++]);
	F.want = n;
	run(20);
	ck_assert_int_eq(g[0].status, PGRES_COMMAND_OK);
	ck_assert_str_eq(g[1].value, "42");
	ck_assert_str_eq(g[2].value, "43");
	ck_assert_str_eq(g[3].value, "1007");
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(g[i].order, i + 1);
	ck_assert_int_eq(F.downs, 0);
	teardown();
}
END_TEST

/* Callbacks that queue: each pipelined result queues a simple-protocol
 * string (pipeline mode is left right after the Sync just read) and a
 * prepared query; everything completes once, in queue order. */
#define NCHAIN 20
static struct got chain[3 * NCHAIN];
static int chain_n;

static void
on_chain(PGresult *res, const char *errmsg, void *arg)
{
	struct got *g = arg;
	int i = (int)(g - chain);

	on_result(res, errmsg, arg);
	if (i >= NCHAIN)
		return;
	ck_assert_int_eq(pg_query_simple(F.pg, "SELECT 1; SELECT 2", on_result,
	                     &chain[chain_n++]),
	    0);
	query_prep_int(sql_plus, i, &chain[chain_n++]);
}

START_TEST(test_queue_from_callback)
{
	memset(chain, 0, sizeof(chain));
	setup_with(10000);
	chain_n = NCHAIN;
	for (int i = 0; i < NCHAIN; i++) {
		char buf[16];
		const char *params[1] = {buf};

		snprintf(buf, sizeof(buf), "%d", i);
		ck_assert_int_eq(pg_query(F.pg, "SELECT $1::int", 1, params,
		                     on_chain, &chain[i]),
		    0);
	}
	F.want = 3 * NCHAIN;
	run(20);
	ck_assert_int_eq(chain_n, 3 * NCHAIN);
	for (int i = 0; i < NCHAIN; i++) {
		char want[16];

		ck_assert_int_eq(chain[i].order, i + 1);
		snprintf(want, sizeof(want), "%d", i);
		ck_assert_str_eq(chain[i].value, want);
		/* queued by the i-th callback: simple, then prepared */
		ck_assert_str_eq(chain[NCHAIN + 2 * i].value, "2");
		snprintf(want, sizeof(want), "%d", i + 1000);
		ck_assert_str_eq(chain[NCHAIN + 2 * i + 1].value, want);
	}
	for (int i = NCHAIN; i < 3 * NCHAIN; i++)
		ck_assert_int_eq(chain[i].order, i + 1);
	ck_assert_int_eq(F.downs, 0);
	teardown();
}
END_TEST

/* Binary arrays (lib/pgarray) as the server reads them: each column
 * unnested and printed back as text, row by row. */
START_TEST(test_binary_arrays)
{
	static const char sql[] =
	    "SELECT string_agg(concat_ws('|', a, b, coalesce(c, '-'), d,"
	    " e::text, f::text, encode(g, 'hex'), h), ';' ORDER BY a)"
	    " FROM unnest($1::bigint[], $2::int[], $3::text[], $4::boolean[],"
	    " $5::json[], $6::jsonb[], $7::bytea[], $8::text[])"
	    " AS t(a, b, c, d, e, f, g, h)";
	static const enum pga_type types[8] = {PGA_INT8, PGA_INT4, PGA_TEXT,
	    PGA_BOOL, PGA_JSON, PGA_JSONB, PGA_BYTEA, PGA_TEXT};
	struct pgarray c[8];
	char *val[8];
	int len[8], fmt[8];
	struct got g[2];
	size_t n;

	memset(g, 0, sizeof(g));
	setup_with(10000);
	for (int i = 0; i < 8; i++)
		pga_init(&c[i], types[i]);
	pga_int8(&c[0], INT64_MIN);
	pga_int8(&c[0], 5000000000LL);
	pga_int4(&c[1], -7);
	pga_int4(&c[1], INT32_MAX);
	pga_str(&c[2], "caf\xc3\xa9 \"q\"");
	pga_str(&c[2], NULL);
	pga_bool(&c[3], true);
	pga_bool(&c[3], false);
	pga_str(&c[4], "{\"b\": [1, 2]}");
	pga_str(&c[4], "null");
	pga_str(&c[5], "{\"z\":1,\"a\":\"x\"}");
	pga_str(&c[5], "[]");
	pga_bytes(&c[6], "\0\1\xff", 3);
	pga_bytes(&c[6], "", 0);
	pga_str(&c[7], "");
	pga_str(&c[7], "end");
	for (int i = 0; i < 8; i++) {
		val[i] = pga_finish(&c[i], &n);
		ck_assert_ptr_nonnull(val[i]);
		len[i] = (int)n;
		fmt[i] = 1;
	}
	ck_assert_int_eq(
	    pg_query_prepared_bin(F.pg, sql, 8, (const char *const *)val, len,
	        fmt, on_result, &g[0]),
	    0);
	/* empty arrays: no rows */
	for (int i = 0; i < 8; i++) {
		free(val[i]);
		pga_init(&c[i], types[i]);
		val[i] = pga_finish(&c[i], &n);
		ck_assert_ptr_nonnull(val[i]);
		len[i] = (int)n;
	}
	ck_assert_int_eq(
	    pg_query_prepared_bin(F.pg, sql, 8, (const char *const *)val, len,
	        fmt, on_result, &g[1]),
	    0);
	F.want = 2;
	run(20);
	ck_assert_msg(g[0].status == PGRES_TUPLES_OK, "%s", g[0].errmsg);
	ck_assert_str_eq(g[0].value,
	    "-9223372036854775808|-7|caf\xc3\xa9 \"q\"|t|{\"b\": [1, 2]}|"
	    "{\"a\": \"x\", \"z\": 1}|0001ff|;"
	    "5000000000|2147483647|-|f|null|[]||end");
	ck_assert_int_eq(g[1].status, PGRES_TUPLES_OK);
	ck_assert_str_eq(g[1].value, "");
	for (int i = 0; i < 8; i++)
		free(val[i]);
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pg");
	TCase *tc = tcase_create("pipeline");
	SRunner *sr;
	int nf;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fifo_order);
	tcase_add_test(tc, test_error_isolated);
	tcase_add_test(tc, test_simple_between);
	tcase_add_test(tc, test_deadline_resets);
	tcase_add_test(tc, test_server_ends_session);
	tcase_add_test(tc, test_prepared_pipelined);
	tcase_add_test(tc, test_prepare_fails);
	tcase_add_test(tc, test_queue_from_callback);
	tcase_add_test(tc, test_binary_arrays);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
