/*
 * webhooks.c - acting on code review webhook deliveries (webhooks.h).
 */
#include "webhooks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "engine.h"
#include "gantryd.h"
#include "log.h"
#include "pg.h"
#include "pipelines.h"

struct job {
	struct gantryd *d;
	char *source, *delivery;
	json_t *event; /* the normalised event */
	json_t *triggered; /* [{pipeline, status, execution | error}] */
	int pending; /* triggers not answered yet */
	bool failed; /* a trigger hit the database being down */
	webhooks_reply_cb cb;
	void *arg;
};

static void
job_free(struct job *j)
{
	free(j->source);
	free(j->delivery);
	json_decref(j->event);
	json_decref(j->triggered);
	free(j);
}

static void
fail(struct job *j, const char *why)
{
	log_warn("webhook.failed", "source=%s delivery=%s error=\"%s\"",
	    j->source, j->delivery, why);
	j->cb(503,
	    json_pack("{s:{s:s, s:s}}", "error", "code", "unavailable",
	        "message", why),
	    j->arg);
	job_free(j);
}

static void
recorded(PGresult *res, const char *errmsg, void *arg)
{
	struct job *j = arg;
	json_t *body;

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		fail(j, errmsg ? errmsg : "the delivery was not recorded");
		return;
	}
	body =
	    json_pack("{s:s, s:s, s:O, s:O}", "source", j->source, "delivery",
	        j->delivery, "event", j->event, "triggered", j->triggered);
	log_info("webhook.processed",
	    "source=%s delivery=%s kind=%s triggered=%zu", j->source,
	    j->delivery, json_string_value(json_object_get(j->event, "kind")),
	    json_array_size(j->triggered));
	j->cb(202, body, j->arg);
	job_free(j);
}

/* The work is done: remember the delivery and what it did. */
static void
record(struct job *j)
{
	static const char sql[] =
	    "INSERT INTO webhook_deliveries (source, delivery_id, event,"
	    " outcome) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING";
	char *outcome = json_dumps(json_pack("{s:O, s:O}", "event", j->event,
	                               "triggered", j->triggered),
	    JSON_COMPACT);
	const char *params[4] = {j->source, j->delivery,
	    json_string_value(json_object_get(j->event, "kind")), outcome};

	if (outcome == NULL) {
		fail(j, "out of memory");
		return;
	}
	if (pg_query(j->d->pg, sql, 4, params, recorded, j) < 0)
		recorded(NULL, "database unavailable", j);
	free(outcome);
}

struct trig {
	struct job *j;
	char *pipeline;
};

static void
triggered(int status, json_t *body, void *arg)
{
	struct trig *t = arg;
	struct job *j = t->j;
	json_t *err =
	    json_object_get(json_object_get(body, "error"), "message");
	json_t *id = json_object_get(body, "id");

	if (status == 503)
		j->failed = true;
	json_array_append_new(j->triggered,
	    json_pack("{s:s, s:i, s:O, s:O}", "pipeline", t->pipeline, "status",
	        status, "execution", id ? id : json_null(), "error",
	        err ? err : json_null()));
	json_decref(body);
	free(t->pipeline);
	free(t);
	if (--j->pending > 0)
		return;
	if (j->failed)
		fail(j, "the database is unavailable: retry the delivery");
	else
		record(j);
}

/* A commit landed: trigger every pipeline that follows the branch. */
static void
on_push(struct job *j, const struct webhook_event *ev)
{
	struct gantryd *d = j->d;
	const char *name;
	char key[300], reason[600];
	size_t n = 0;

	snprintf(key, sizeof(key), "webhook:%s:%s", j->source, j->delivery);
	snprintf(reason, sizeof(reason), "%spush of %.12s to %s of %s by %s",
	    ev->forced ? "force " : "", ev->revision, ev->branch,
	    ev->repository, ev->author ? ev->author : "unknown");
	/* count first: a trigger may answer before the loop ends */
	j->pending = 1;
	for (size_t i = 0; (name = pipelines_name_at(d->pipelines, i)) != NULL;
	     i++) {
		const struct pipeline *p =
		    pipelines_current(d->pipelines, name, NULL);
		struct engine_trigger t = {0};
		struct trig *tr;
		char actor[64];

		if (p == NULL || p->repository == NULL ||
		    strcmp(p->repository, ev->repository) != 0 ||
		    strcmp(p->branch ? p->branch : "main", ev->branch) != 0)
			continue;
		if ((tr = calloc(1, sizeof(*tr))) == NULL ||
		    (tr->pipeline = strdup(name)) == NULL) {
			free(tr);
			continue;
		}
		tr->j = j;
		snprintf(actor, sizeof(actor), "webhook:%s", j->source);
		t.pipeline = name;
		t.revision = ev->revision;
		t.reason = reason;
		t.actor = actor;
		t.idempotency_key = key;
		j->pending++;
		n++;
		engine_trigger(d->engine, &t, triggered, tr);
	}
	if (n == 0)
		log_info("webhook.no_pipeline",
		    "source=%s repository=%s branch=%s", j->source,
		    ev->repository, ev->branch);
	if (--j->pending == 0) {
		if (j->failed)
			fail(j,
			    "the database is unavailable: retry the "
			    "delivery");
		else
			record(j);
	}
}

static void
stored(PGresult *res, const char *errmsg, void *arg)
{
	struct job *j = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		fail(j, errmsg ? errmsg : "the review was not recorded");
		return;
	}
	engine_review_changed(j->d->engine);
	record(j);
}

static void
on_review(struct job *j, const struct webhook_event *ev)
{
	static const char approval[] =
	    "INSERT INTO approvals (repository, revision, reviewer, author,"
	    " source, state, change_id, reviewer_id, author_id)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
	static const char merge[] =
	    "INSERT INTO review_merges (repository, revision, head_revision,"
	    " change_id, author, author_id, source)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
	int rc;

	if (ev->kind == WEBHOOK_MERGED) {
		const char *params[7] = {ev->repository, ev->revision,
		    ev->head_revision, ev->change, ev->author, ev->author_id,
		    j->source};

		rc = pg_query(j->d->pg, merge, 7, params, stored, j);
	} else {
		const char *params[9] = {ev->repository, ev->revision,
		    ev->reviewer, ev->author, j->source,
		    ev->kind == WEBHOOK_APPROVED ? "approved" : "dismissed",
		    ev->change, ev->reviewer_id, ev->author_id};

		if (ev->reviewer == NULL || ev->revision == NULL) {
			record(j); /* nothing to record */
			return;
		}
		rc = pg_query(j->d->pg, approval, 9, params, stored, j);
	}
	if (rc < 0)
		stored(NULL, "database unavailable", j);
}

struct seen_job {
	struct job *j;
	struct webhook_event ev; /* the parts we need, copied */
};

static void
seen_checked(PGresult *res, const char *errmsg, void *arg)
{
	struct seen_job *s = arg;
	struct job *j = s->j;
	json_error_t jerr;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		webhook_event_clear(&s->ev);
		free(s);
		fail(j, errmsg ? errmsg : "database unavailable");
		return;
	}
	if (PQntuples(res) > 0) {
		json_t *outcome = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);

		log_info("webhook.duplicate", "source=%s delivery=%s",
		    j->source, j->delivery);
		j->cb(200,
		    json_pack("{s:s, s:s, s:b, s:o}", "source", j->source,
		        "delivery", j->delivery, "duplicate", true, "outcome",
		        outcome ? outcome : json_null()),
		    j->arg);
		job_free(j);
	} else if (s->ev.kind == WEBHOOK_PUSH) {
		on_push(j, &s->ev);
	} else if (s->ev.kind == WEBHOOK_IGNORED) {
		record(j);
	} else {
		on_review(j, &s->ev);
	}
	webhook_event_clear(&s->ev);
	free(s);
}

static char *
dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

void
webhooks_handle(struct gantryd *d, const char *delivery,
    const struct webhook_event *ev, webhooks_reply_cb cb, void *arg)
{
	static const char sql[] =
	    "SELECT coalesce(outcome, '{}')::text FROM webhook_deliveries"
	    " WHERE source = $1 AND delivery_id = $2";
	struct job *j = calloc(1, sizeof(*j));
	struct seen_job *s = calloc(1, sizeof(*s));
	const char *params[2];

	if (j == NULL || s == NULL) {
		free(j);
		free(s);
		cb(500,
		    json_pack("{s:{s:s, s:s}}", "error", "code", "internal",
		        "message", "out of memory"),
		    arg);
		return;
	}
	j->d = d;
	j->cb = cb;
	j->arg = arg;
	j->source = strdup(webhook_source_name(ev->source));
	j->delivery = strdup(delivery);
	j->event = webhook_event_to_json(ev);
	j->triggered = json_array();
	s->j = j;
	s->ev.source = ev->source;
	s->ev.kind = ev->kind;
	s->ev.forced = ev->forced;
	s->ev.repository = dup0(ev->repository);
	s->ev.branch = dup0(ev->branch);
	s->ev.revision = dup0(ev->revision);
	s->ev.head_revision = dup0(ev->head_revision);
	s->ev.change = dup0(ev->change);
	s->ev.author = dup0(ev->author);
	s->ev.author_id = dup0(ev->author_id);
	s->ev.reviewer = dup0(ev->reviewer);
	s->ev.reviewer_id = dup0(ev->reviewer_id);
	if (j->source == NULL || j->delivery == NULL || j->event == NULL ||
	    j->triggered == NULL) {
		webhook_event_clear(&s->ev);
		free(s);
		fail(j, "out of memory");
		return;
	}
	params[0] = j->source;
	params[1] = j->delivery;
	if (pg_query(d->pg, sql, 2, params, seen_checked, s) < 0)
		seen_checked(NULL, "database unavailable", s);
}
