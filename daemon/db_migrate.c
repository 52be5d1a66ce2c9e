/*
 * db_migrate.c - the migration runner (db_migrate.h).
 *
 * Steps, each one query on the loop's connection:
 *   lock -> create schema_migrations -> read applied versions ->
 *   for each pending: BEGIN; <file>; INSERT version; COMMIT ->
 *   unlock.
 * A failed migration is rolled back by PostgreSQL (the failed transaction
 * block is ended with ROLLBACK) and reported as fatal; the database stays
 * as it was before that file.
 */
#include "db_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migration.h"

/* Arbitrary constant key for pg_advisory_lock: "gantry" in ASCII. */
#define MIGRATE_LOCK_KEY "106765124150905"

struct migrate_run {
	struct pg *pg;
	db_migrate_cb cb;
	void *arg;
	size_t next; /* index into gantry_migrations */
	char why[512];
};

static void step_lock(PGresult *res, const char *errmsg, void *arg);
static void step_table(PGresult *res, const char *errmsg, void *arg);
static void step_applied(PGresult *res, const char *errmsg, void *arg);
static void step_migrated(PGresult *res, const char *errmsg, void *arg);
static void step_rolled_back(PGresult *res, const char *errmsg, void *arg);
static void step_unlocked(PGresult *res, const char *errmsg, void *arg);

int
db_migrate_latest(void)
{
	return (int)gantry_migrations_count;
}

static void
finish(struct migrate_run *r, bool ok, bool fatal, const char *why)
{
	r->cb(ok, ok ? (int)gantry_migrations_count : 0, fatal, why, r->arg);
	free(r);
}

/* Connection-level failure: not fatal, the next connect retries. */
static bool
failed(
    struct migrate_run *r, PGresult *res, const char *errmsg, const char *step)
{
	char why[512];

	if (res != NULL && PQresultStatus(res) != PGRES_FATAL_ERROR)
		return false;
	snprintf(why, sizeof(why), "%s: %s", step,
	    errmsg ? errmsg : "unknown error");
	finish(r, false, false, why);
	return true;
}

static void
send_or_fail(
    struct migrate_run *r, const char *sql, pg_result_cb cb, bool simple)
{
	int rc = simple ? pg_query_simple(r->pg, sql, cb, r)
	                : pg_query(r->pg, sql, 0, NULL, cb, r);

	if (rc < 0)
		finish(r, false, false, "database connection lost");
}

void
db_migrate_run(struct pg *pg, db_migrate_cb cb, void *arg)
{
	struct migrate_run *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		cb(false, 0, true, "out of memory", arg);
		return;
	}
	r->pg = pg;
	r->cb = cb;
	r->arg = arg;
	send_or_fail(r, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
	    step_lock, false);
}

static void
step_lock(PGresult *res, const char *errmsg, void *arg)
{
	struct migrate_run *r = arg;

	if (failed(r, res, errmsg, "taking the migration lock"))
		return;
	send_or_fail(r,
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version integer PRIMARY KEY,"
	    " name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())",
	    step_table, false);
}

static void
step_table(PGresult *res, const char *errmsg, void *arg)
{
	struct migrate_run *r = arg;

	if (failed(r, res, errmsg, "creating schema_migrations"))
		return;
	send_or_fail(r, "SELECT version FROM schema_migrations ORDER BY 1",
	    step_applied, false);
}

static void
apply_next(struct migrate_run *r)
{
	const struct migration *m;
	char *sql;
	size_t len;

	if (r->next >= gantry_migrations_count) {
		send_or_fail(r,
		    "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")",
		    step_unlocked, false);
		return;
	}
	m = &gantry_migrations[r->next];
	len = strlen(m->sql) + strlen(m->name) + 256;
	sql = malloc(len);
	if (sql == NULL) {
		finish(r, false, true, "out of memory");
		return;
	}
	/* The name comes from a file name checked by scripts/embed-sql
	 * ([a-z0-9_]), never from input. */
	snprintf(sql, len,
	    "BEGIN;\n%s\n;\nINSERT INTO schema_migrations (version, name) "
	    "VALUES (%d, '%s');\nCOMMIT;",
	    m->sql, m->version, m->name);
	log_info("db.migrate", "version=%d file=%s", m->version, m->file);
	send_or_fail(r, sql, step_migrated, true);
	free(sql);
}

static void
step_applied(PGresult *res, const char *errmsg, void *arg)
{
	struct migrate_run *r = arg;
	struct gantry_error err;
	int *applied;
	int n;

	if (failed(r, res, errmsg, "reading schema_migrations"))
		return;
	n = PQntuples(res);
	applied = calloc((size_t)n + 1, sizeof(int));
	if (applied == NULL) {
		finish(r, false, true, "out of memory");
		return;
	}
	for (int i = 0; i < n; i++)
		applied[i] = atoi(PQgetvalue(res, i, 0));
	if (migration_plan(gantry_migrations, gantry_migrations_count, applied,
	        (size_t)n, &r->next, &err) < 0) {
		free(applied);
		finish(r, false, true, err.msg);
		return;
	}
	free(applied);
	apply_next(r);
}

static void
step_migrated(PGresult *res, const char *errmsg, void *arg)
{
	struct migrate_run *r = arg;
	const struct migration *m = &gantry_migrations[r->next];

	if (res == NULL) {
		failed(r, res, errmsg, "applying a migration");
		return;
	}
	if (PQresultStatus(res) == PGRES_FATAL_ERROR) {
		const char *line =
		    PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);

		snprintf(r->why, sizeof(r->why), "migration %s failed%s%s: %s",
		    m->file, line ? " at character " : "", line ? line : "",
		    errmsg ? errmsg : "unknown error");
		/* End the failed transaction block; nothing was committed. */
		send_or_fail(r, "ROLLBACK", step_rolled_back, true);
		return;
	}
	r->next++;
	apply_next(r);
}

static void
step_rolled_back(PGresult *res, const char *errmsg, void *arg)
{
	struct migrate_run *r = arg;
	char why[512];

	snprintf(why, sizeof(why), "%s", r->why);
	finish(r, false, true, why);
}

static void
step_unlocked(PGresult *res, const char *errmsg, void *arg)
{
	struct migrate_run *r = arg;

	if (failed(r, res, errmsg, "releasing the migration lock"))
		return;
	finish(r, true, false, NULL);
}
