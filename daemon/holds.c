/*
 * holds.c - manual holds (holds.h).
 */
#include "holds.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "engine.h"
#include "gantryd.h"
#include "log.h"
#include "pg.h"

struct holds {
	struct gantryd *d;
	struct hold *active; /* newest first */
};

static void
hold_free(struct hold *x)
{
	if (x == NULL)
		return;
	free(x->scope);
	free(x->name);
	free(x->reason);
	free(x->actor);
	free(x);
}

static void
clear(struct holds *h)
{
	struct hold *x, *next;

	for (x = h->active; x != NULL; x = next) {
		next = x->next;
		hold_free(x);
	}
	h->active = NULL;
}

static json_t *
hold_json(const struct hold *x)
{
	return json_pack("{s:I, s:s, s:o, s:s, s:s, s:I}", "id",
	    (json_int_t)x->id, "scope", x->scope, "name",
	    x->name ? json_string(x->name) : json_null(), "reason", x->reason,
	    "actor", x->actor, "created_at", (json_int_t)x->created_at);
}

/* A hold from a row (id, scope, name, reason, actor, created_at ms). */
static struct hold *
hold_from_row(PGresult *res, int i)
{
	struct hold *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	x->scope = strdup(PQgetvalue(res, i, 1));
	x->name = PQgetisnull(res, i, 2) ? NULL : strdup(PQgetvalue(res, i, 2));
	x->reason = strdup(PQgetvalue(res, i, 3));
	x->actor = strdup(PQgetvalue(res, i, 4));
	x->created_at = strtoll(PQgetvalue(res, i, 5), NULL, 10);
	if (x->scope == NULL || x->reason == NULL || x->actor == NULL ||
	    (!PQgetisnull(res, i, 2) && x->name == NULL)) {
		hold_free(x);
		return NULL;
	}
	return x;
}

#define HOLD_COLUMNS                                                           \
	"id, scope_kind, scope, reason, created_by,"                           \
	" (extract(epoch FROM created_at) * 1000)::bigint"

static void
loaded(PGresult *res, const char *errmsg, void *arg)
{
	struct holds *h = arg;
	struct hold **tail = &h->active;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("hold.load_failed", "error=\"%s\"",
		    errmsg ? errmsg : "no result");
		return;
	}
	clear(h);
	for (int i = 0; i < PQntuples(res); i++) {
		struct hold *x = hold_from_row(res, i);

		if (x == NULL)
			continue;
		*tail = x;
		tail = &x->next;
	}
	engine_reschedule(h->d->engine);
}

void
holds_db_ready(struct holds *h)
{
	static const char sql[] = "SELECT " HOLD_COLUMNS " FROM holds"
	                          " WHERE released_at IS NULL ORDER BY id DESC";

	if (pg_query(h->d->pg, sql, 0, NULL, loaded, h) < 0)
		log_warn("hold.load_failed", "error=\"database unavailable\"");
}

void
holds_each(const struct holds *h, const char *service, const char *pipeline,
    void (*cb)(const struct hold *, void *), void *arg)
{
	for (const struct hold *x = h->active; x != NULL; x = x->next)
		if (strcmp(x->scope, "all") == 0 ||
		    (strcmp(x->scope, "service") == 0 && service != NULL &&
		        strcmp(x->name, service) == 0) ||
		    (strcmp(x->scope, "pipeline") == 0 &&
		        strcmp(x->name, pipeline) == 0))
			cb(x, arg);
}

json_t *
holds_list_json(const struct holds *h)
{
	json_t *a = json_array();

	for (const struct hold *x = h->active; a != NULL && x != NULL;
	     x = x->next)
		json_array_append_new(a, hold_json(x));
	return a;
}

struct job {
	struct holds *h;
	int64_t id;
	holds_reply_cb cb;
	void *arg;
};

static void
reply_error(
    holds_reply_cb cb, void *arg, int status, const char *code, const char *msg)
{
	cb(status,
	    json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg),
	    arg);
}

static void
put_done(PGresult *res, const char *errmsg, void *arg)
{
	struct job *j = arg;
	struct hold *x;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		reply_error(j->cb, j->arg, 503, "unavailable",
		    errmsg ? errmsg : "the hold was not stored");
		free(j);
		return;
	}
	if ((x = hold_from_row(res, 0)) == NULL) {
		reply_error(j->cb, j->arg, 500, "internal", "out of memory");
		free(j);
		return;
	}
	x->next = j->h->active;
	j->h->active = x;
	log_info("hold.put", "id=%" PRId64 " scope=%s name=%s actor=%s", x->id,
	    x->scope, x->name ? x->name : "-", x->actor);
	engine_reschedule(j->h->d->engine);
	j->cb(201, hold_json(x), j->arg);
	free(j);
}

void
holds_put(struct holds *h, const char *scope, const char *name,
    const char *reason, const char *actor, holds_reply_cb cb, void *arg)
{
	static const char sql[] =
	    "WITH h AS (INSERT INTO holds (scope_kind, scope, reason,"
	    " created_by) VALUES ($1, $2, $3, $4) RETURNING *),"
	    " au AS (INSERT INTO audit_log (actor, action, object, reason,"
	    " data) SELECT $4, 'hold.put', 'hold:' || h.id, $3,"
	    " jsonb_build_object('scope', h.scope_kind, 'name', h.scope)"
	    " FROM h)"
	    " SELECT " HOLD_COLUMNS " FROM h";
	struct job *j = calloc(1, sizeof(*j));
	const char *params[4] = {scope, name, reason, actor};

	if (j == NULL) {
		reply_error(cb, arg, 500, "internal", "out of memory");
		return;
	}
	j->h = h;
	j->cb = cb;
	j->arg = arg;
	if (pg_query(h->d->pg, sql, 4, params, put_done, j) < 0)
		put_done(NULL, "database unavailable", j);
}

static void
lift_done(PGresult *res, const char *errmsg, void *arg)
{
	struct job *j = arg;
	struct hold **pp, *x = NULL;
	char msg[128];

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		reply_error(j->cb, j->arg, 503, "unavailable",
		    errmsg ? errmsg : "the hold was not lifted");
		goto out;
	}
	if (PQgetisnull(res, 0, 0)) {
		bool exists = strcmp(PQgetvalue(res, 0, 1), "t") == 0;

		snprintf(msg, sizeof(msg), "hold %" PRId64 " %s", j->id,
		    exists ? "is already lifted" : "does not exist");
		reply_error(j->cb, j->arg, exists ? 409 : 404,
		    exists ? "conflict" : "not_found", msg);
		goto out;
	}
	for (pp = &j->h->active; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->id == j->id) {
			x = *pp;
			*pp = x->next;
			break;
		}
	hold_free(x);
	log_info("hold.lifted", "id=%" PRId64, j->id);
	engine_reschedule(j->h->d->engine);
	{
		json_error_t jerr;
		json_t *body = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);

		j->cb(200, body ? body : json_object(), j->arg);
	}
out:
	free(j);
}

void
holds_lift(struct holds *h, int64_t id, const char *reason, const char *actor,
    holds_reply_cb cb, void *arg)
{
	static const char sql[] =
	    "WITH u AS (UPDATE holds SET released_at = now(),"
	    " released_by = $2 WHERE id = $1 AND released_at IS NULL"
	    " RETURNING *),"
	    " au AS (INSERT INTO audit_log (actor, action, object, reason,"
	    " data) SELECT $2, 'hold.lift', 'hold:' || u.id, $3,"
	    " jsonb_build_object('scope', u.scope_kind, 'name', u.scope)"
	    " FROM u)"
	    " SELECT (SELECT json_build_object('id', id, 'scope', scope_kind,"
	    " 'name', scope, 'reason', reason, 'actor', created_by,"
	    " 'lifted_by', released_by, 'lift_reason', $3::text)::text"
	    " FROM u), EXISTS (SELECT 1 FROM holds WHERE id = $1)";
	struct job *j = calloc(1, sizeof(*j));
	char idbuf[24];
	const char *params[3] = {idbuf, actor, reason};

	if (j == NULL) {
		reply_error(cb, arg, 500, "internal", "out of memory");
		return;
	}
	j->h = h;
	j->id = id;
	j->cb = cb;
	j->arg = arg;
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	if (pg_query(h->d->pg, sql, 3, params, lift_done, j) < 0)
		lift_done(NULL, "database unavailable", j);
}

struct holds *
holds_new(struct gantryd *d)
{
	struct holds *h = calloc(1, sizeof(*h));

	if (h != NULL)
		h->d = d;
	return h;
}

void
holds_free(struct holds *h)
{
	if (h == NULL)
		return;
	clear(h);
	free(h);
}
