/*
 * api.c - REST handlers (api.h).
 *
 * Every request: route (404/405) -> authenticate (401) and authorise
 * (403) -> check the body's length (413) and media type (415) -> read the
 * body -> one handler call -> render.  Errors are built by one helper from
 * a code and a message (http_reply_error).
 */
#include "api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include <libpq-fe.h>
#include <openssl/sha.h>

#include "alarms.h"
#include "auth.h"
#include "db_migrate.h"
#include "duration.h"
#include "engine.h"
#include "holds.h"
#include "log.h"
#include "pg.h"
#include "pipelines.h"
#include "prom.h"
#include "router.h"
#include "webhook.h"
#include "webhooks.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define DB_REQUEST_DEADLINE_MS 10000

struct sse;

struct api_ctx {
	struct gantryd *d;
	struct sse *sse; /* GET .../events as text/event-stream */
	struct route_match match;
	const char *route_label;
	char token_name[AUTH_NAME_MAX];
	unsigned token_roles;
};

typedef void (*api_handler)(struct api_ctx *ctx, struct http_req *req);

/* Who did it, for the audit log: "token:NAME". */
static const char *
actor_of(const struct api_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "token:%s", ctx->token_name);
	return buf;
}

static void h_healthz(struct api_ctx *ctx, struct http_req *req);
static void h_readyz(struct api_ctx *ctx, struct http_req *req);
static void h_metrics(struct api_ctx *ctx, struct http_req *req);
static void h_audit(struct api_ctx *ctx, struct http_req *req);
static void h_reload(struct api_ctx *ctx, struct http_req *req);
static void h_pipelines(struct api_ctx *ctx, struct http_req *req);
static void h_pipeline_get(struct api_ctx *ctx, struct http_req *req);
static void h_pipeline_put(struct api_ctx *ctx, struct http_req *req);
static void h_trigger(struct api_ctx *ctx, struct http_req *req);
static void h_executions(struct api_ctx *ctx, struct http_req *req);
static void h_execution(struct api_ctx *ctx, struct http_req *req);
static void h_events(struct api_ctx *ctx, struct http_req *req);
static void h_logs(struct api_ctx *ctx, struct http_req *req);
static void h_abort(struct api_ctx *ctx, struct http_req *req);
static void h_rollback(struct api_ctx *ctx, struct http_req *req);
static void h_pause(struct api_ctx *ctx, struct http_req *req);
static void h_resume(struct api_ctx *ctx, struct http_req *req);
static void h_alarms(struct api_ctx *ctx, struct http_req *req);
static void h_alarm_state(struct api_ctx *ctx, struct http_req *req);
static void h_alertmanager(struct api_ctx *ctx, struct http_req *req);
static void h_blockers(struct api_ctx *ctx, struct http_req *req);
static void h_override(struct api_ctx *ctx, struct http_req *req);
static void h_holds(struct api_ctx *ctx, struct http_req *req);
static void h_hold_put(struct api_ctx *ctx, struct http_req *req);
static void h_hold_lift(struct api_ctx *ctx, struct http_req *req);
static void h_hook_github(struct api_ctx *ctx, struct http_req *req);
static void h_hook_gitlab(struct api_ctx *ctx, struct http_req *req);
static void h_hook_gerrit(struct api_ctx *ctx, struct http_req *req);

#define MEDIA_JSON "application/json"
#define MEDIA_JSON_YAML                                                        \
	"application/json,application/yaml,application/x-yaml,text/yaml"

static const struct route routes[] = {
    {"GET", "/healthz", AUTH_NONE, NULL, (void *)h_healthz},
    {"GET", "/readyz", AUTH_NONE, NULL, (void *)h_readyz},
    {"GET", "/metrics", AUTH_NONE, NULL, (void *)h_metrics},
    {"GET", "/v1/audit", AUTH_READ, NULL, (void *)h_audit},
    {"POST", "/v1/reload", AUTH_ADMIN, MEDIA_JSON, (void *)h_reload},
    {"GET", "/v1/pipelines", AUTH_READ, NULL, (void *)h_pipelines},
    {"GET", "/v1/pipelines/{name}", AUTH_READ, NULL, (void *)h_pipeline_get},
    {"PUT", "/v1/pipelines/{name}", AUTH_ADMIN, MEDIA_JSON_YAML,
        (void *)h_pipeline_put},
    {"POST", "/v1/pipelines/{name}/executions", AUTH_DEPLOY, MEDIA_JSON,
        (void *)h_trigger},
    {"GET", "/v1/executions", AUTH_READ, NULL, (void *)h_executions},
    {"GET", "/v1/executions/{id}", AUTH_READ, NULL, (void *)h_execution},
    {"GET", "/v1/executions/{id}/events", AUTH_READ, NULL, (void *)h_events},
    {"GET", "/v1/executions/{id}/logs/{step*}", AUTH_READ, NULL,
        (void *)h_logs},
    {"POST", "/v1/executions/{id}/abort", AUTH_DEPLOY, MEDIA_JSON,
        (void *)h_abort},
    {"POST", "/v1/executions/{id}/rollback", AUTH_DEPLOY, MEDIA_JSON,
        (void *)h_rollback},
    {"POST", "/v1/executions/{id}/pause", AUTH_DEPLOY, MEDIA_JSON,
        (void *)h_pause},
    {"POST", "/v1/executions/{id}/resume", AUTH_DEPLOY, MEDIA_JSON,
        (void *)h_resume},
    {"GET", "/v1/alarms", AUTH_READ, NULL, (void *)h_alarms},
    {"PUT", "/v1/alarms/{name}/state", AUTH_DEPLOY, MEDIA_JSON,
        (void *)h_alarm_state},
    {"POST", "/v1/hooks/alertmanager", AUTH_DEPLOY, MEDIA_JSON,
        (void *)h_alertmanager},
    {"GET", "/v1/blockers", AUTH_READ, NULL, (void *)h_blockers},
    {"POST", "/v1/blockers/{id}/override", AUTH_OVERRIDE, MEDIA_JSON,
        (void *)h_override},
    {"GET", "/v1/holds", AUTH_READ, NULL, (void *)h_holds},
    {"POST", "/v1/holds", AUTH_DEPLOY, MEDIA_JSON, (void *)h_hold_put},
    {"DELETE", "/v1/holds/{id}", AUTH_DEPLOY, MEDIA_JSON, (void *)h_hold_lift},
    /* signed or token-checked by the handler, before anything is parsed */
    {"POST", "/v1/hooks/github", AUTH_NONE, MEDIA_JSON, (void *)h_hook_github},
    {"POST", "/v1/hooks/gitlab", AUTH_NONE, MEDIA_JSON, (void *)h_hook_gitlab},
    {"POST", "/v1/hooks/gerrit", AUTH_NONE, MEDIA_JSON, (void *)h_hook_gerrit},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

int
api_metrics_init(struct gantryd *d)
{
	struct metrics *m = d->metrics;
	char labels[128];

	if (metrics_define(m, "gantry_http_requests_total", METRICS_COUNTER,
	        "HTTP requests answered, by route pattern, method and status.",
	        NULL, 0) < 0 ||
	    metrics_define(m, "gantry_http_request_duration_seconds",
	        METRICS_HISTOGRAM,
	        "Time from request headers to the response, by route pattern.",
	        latency_buckets,
	        sizeof(latency_buckets) / sizeof(latency_buckets[0])) < 0 ||
	    metrics_define(m, "gantry_db_up", METRICS_GAUGE,
	        "1 while the database connection is up and set up.", NULL,
	        0) < 0 ||
	    metrics_define(m, "gantry_db_reconnects_total", METRICS_COUNTER,
	        "Database connection attempts after the first.", NULL, 0) < 0 ||
	    metrics_define(m, "gantry_schema_version", METRICS_GAUGE,
	        "Schema migration version applied (0 until migrated).", NULL,
	        0) < 0 ||
	    metrics_define(m, "gantry_schema_current", METRICS_GAUGE,
	        "1 when every migration of this binary is applied.", NULL,
	        0) < 0 ||
	    metrics_define(m, "gantry_executions_live", METRICS_GAUGE,
	        "Executions in memory (not terminal, or finishing).", NULL,
	        0) < 0 ||
	    metrics_define(m, "gantry_executions_stuck", METRICS_GAUGE,
	        "Executions neither terminal nor waiting on anything.", NULL,
	        0) < 0 ||
	    metrics_define(m, "gantry_hooks_running", METRICS_GAUGE,
	        "Hook processes running now.", NULL, 0) < 0 ||
	    metrics_define(m, "gantry_transitions_total", METRICS_COUNTER,
	        "State machine transitions applied.", NULL, 0) < 0 ||
	    metrics_define(m, "gantry_commit_batches_total", METRICS_COUNTER,
	        "Group-committed transactions of transitions.", NULL, 0) < 0 ||
	    metrics_define(m, "gantry_alarm_rollback_seconds",
	        METRICS_HISTOGRAM,
	        "From an alarm seen firing at an execution to its first "
	        "rollback hook spawned.",
	        latency_buckets,
	        sizeof(latency_buckets) / sizeof(latency_buckets[0])) < 0 ||
	    metrics_define(m, "gantry_alarm_source_errors_total",
	        METRICS_COUNTER,
	        "Alarm samples that failed (timeout, HTTP error, bad payload, "
	        "probe failure), by alarm.",
	        NULL, 0) < 0 ||
	    metrics_define(m, "gantry_alarm_samples_total", METRICS_COUNTER,
	        "Alarm samples taken (Prometheus queries, probe runs).", NULL,
	        0) < 0 ||
	    metrics_define(m, "gantry_alarms_firing", METRICS_GAUGE,
	        "Alarms in state alarm now.", NULL, 0) < 0 ||
	    metrics_define(m, "gantry_webhook_deliveries_total",
	        METRICS_COUNTER,
	        "Code review webhook deliveries accepted, by source and kind.",
	        NULL, 0) < 0 ||
	    metrics_define(m, "gantry_webhook_rejected_total", METRICS_COUNTER,
	        "Code review webhook deliveries refused (bad signature or "
	        "token), by source.",
	        NULL, 0) < 0 ||
	    metrics_define(m, "gantry_notifications_total", METRICS_COUNTER,
	        "Notification webhooks, by outcome (sent, failed).", NULL,
	        0) < 0 ||
	    metrics_define(m, "gantry_build_info", METRICS_GAUGE,
	        "Build information; the value is always 1.", NULL, 0) < 0)
		return -1;
	snprintf(labels, sizeof(labels), "version=\"%s\"", PACKAGE_VERSION);
	return metrics_set(m, "gantry_build_info", labels, 1);
}

/* Does the Content-Type header name one of the comma-separated media
 * types in want?  "application/json; charset=utf-8" matches
 * "application/json". */
static bool
media_type_is(const char *header, const char *want)
{
	if (header == NULL)
		return false;
	while (*header == ' ')
		header++;
	while (*want != '\0') {
		const char *comma = strchr(want, ',');
		size_t n = comma ? (size_t)(comma - want) : strlen(want);

		if (strncasecmp(header, want, n) == 0 &&
		    (header[n] == '\0' || header[n] == ';' || header[n] == ' '))
			return true;
		want += n + (comma ? 1 : 0);
	}
	return false;
}

static void
on_headers(struct http_req *req, void *arg)
{
	struct gantryd *d = arg;
	struct api_ctx *ctx = calloc(1, sizeof(*ctx));
	const struct route *r;
	const struct auth_token *tok;
	struct gantry_error err;
	int64_t clen;
	bool has_body;

	if (ctx == NULL) {
		http_reply_error(req, GANTRY_ENOMEM, "out of memory", NULL);
		return;
	}
	ctx->d = d;
	ctx->route_label = "unmatched";
	http_req_set_data(req, ctx);
	if (router_match(routes, NROUTES, http_req_method(req),
	        http_req_path(req), &ctx->match, &err) < 0) {
		http_reply_error(req, err.code, err.msg, NULL);
		return;
	}
	r = ctx->match.route;
	ctx->route_label = r->pattern;
	if (r->role != AUTH_NONE) {
		tok = auth_authenticate(d->cfg->tokens, d->cfg->ntokens,
		    http_req_header(req, "Authorization"), &err);
		if (tok == NULL) {
			http_reply_error(req, err.code, err.msg, NULL);
			return;
		}
		snprintf(
		    ctx->token_name, sizeof(ctx->token_name), "%s", tok->name);
		ctx->token_roles = tok->roles;
		if (!auth_has_role(tok, (enum auth_role)r->role)) {
			char msg[160];

			snprintf(msg, sizeof(msg),
			    "token \"%s\" lacks the role %s needed for %s %s",
			    tok->name, auth_role_name((enum auth_role)r->role),
			    r->method, r->pattern);
			http_reply_error(req, GANTRY_EPERM, msg, NULL);
			return;
		}
	}
	clen = http_req_content_length(req);
	has_body =
	    clen > 0 || http_req_header(req, "Transfer-Encoding") != NULL;
	if (!has_body)
		return;
	if (r->body == NULL) {
		http_reply_error(req, GANTRY_EMEDIA,
		    "this endpoint takes no request body", NULL);
		return;
	}
	if (!media_type_is(http_req_header(req, "Content-Type"), r->body)) {
		char msg[160];

		snprintf(msg, sizeof(msg), "Content-Type must be one of: %s",
		    r->body);
		http_reply_error(req, GANTRY_EMEDIA, msg, NULL);
		return;
	}
	if (clen > (int64_t)http_req_max_body(req)) {
		char msg[128];

		snprintf(msg, sizeof(msg),
		    "request body is larger than max_body (%zu bytes)",
		    http_req_max_body(req));
		http_reply_error(req, GANTRY_ETOOBIG, msg, NULL);
	}
}

static void
on_request(struct http_req *req, void *arg)
{
	struct api_ctx *ctx = http_req_data(req);

	if (ctx == NULL || ctx->match.route == NULL)
		return; /* answered in on_headers */
	((api_handler)ctx->match.route->handler)(ctx, req);
}

static void sse_closed(struct sse *sse);

static void
on_complete(struct http_req *req, void *arg)
{
	struct gantryd *d = arg;
	struct api_ctx *ctx = http_req_data(req);
	const char *route = ctx ? ctx->route_label : "unmatched";
	char labels[256];
	double secs = http_req_elapsed(req);

	snprintf(labels, sizeof(labels),
	    "route=\"%s\",method=\"%s\",status=\"%d\"", route,
	    ctx && ctx->match.route ? ctx->match.route->method : "other",
	    http_req_status(req));
	metrics_add(d->metrics, "gantry_http_requests_total", labels, 1);
	snprintf(labels, sizeof(labels), "route=\"%s\"", route);
	metrics_observe(
	    d->metrics, "gantry_http_request_duration_seconds", labels, secs);
	if (log_enabled(LOG_LVL_DEBUG)) {
		char q[300];

		log_debug("http.request",
		    "method=%s path=%s status=%d ms=%.3f token=%s",
		    ctx && ctx->match.route ? ctx->match.route->method : "-",
		    log_quote(http_req_path(req), q, sizeof(q)),
		    http_req_status(req), secs * 1000,
		    ctx && ctx->token_name[0] ? ctx->token_name : "-");
	}
	http_req_set_data(req, NULL);
	if (ctx != NULL && ctx->sse != NULL)
		sse_closed(ctx->sse);
	free(ctx);
}

void
api_hooks(struct gantryd *d, struct http_hooks *hooks)
{
	hooks->on_headers = on_headers;
	hooks->on_request = on_request;
	hooks->on_complete = on_complete;
	hooks->arg = d;
}

/* --- handlers -------------------------------------------------------------- */

static void
h_healthz(struct api_ctx *ctx, struct http_req *req)
{
	static const char body[] = "{\"status\":\"ok\"}";

	http_reply_static(req, 200, "application/json", body, sizeof(body) - 1);
}

/* Why the daemon is not ready, or NULL when the database should be. */
static const char *
not_ready_reason(struct gantryd *d, char *buf, size_t len)
{
	if (d->draining)
		return "gantryd is shutting down";
	if (!pg_is_up(d->pg)) {
		snprintf(
		    buf, len, "database unreachable: %s", pg_last_error(d->pg));
		return buf;
	}
	if (!d->schema_current) {
		snprintf(buf, len, "%s",
		    d->schema_error[0] ? d->schema_error
		                       : "schema migrations not applied yet");
		return buf;
	}
	return NULL;
}

/*
 * Send one query for req and answer later: the request is suspended
 * (with a deadline) and cb (which gets req, holding a reference it must
 * drop with http_req_unref()) replies; 503 at once when the database
 * cannot take the query.
 */
static void
db_send(struct api_ctx *ctx, struct http_req *req, const char *sql, int nparams,
    const char *const *params, pg_result_cb cb)
{
	http_req_ref(req);
	if (pg_query(ctx->d->pg, sql, nparams, params, cb, req) < 0) {
		http_req_unref(req);
		http_reply_error(
		    req, GANTRY_EUNAVAIL, "database unreachable", NULL);
		return;
	}
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
}

/*
 * After a query answering req: when it failed, reply (503 when the
 * connection broke, 500 when the server refused the query) naming what
 * was being done, and return true.
 */
static bool
db_failed(
    struct http_req *req, PGresult *res, const char *errmsg, const char *what)
{
	char msg[600];

	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
		return false;
	snprintf(msg, sizeof(msg), "%s failed: %s", what,
	    errmsg ? errmsg : "no result");
	http_reply_error(
	    req, res ? GANTRY_EINTERNAL : GANTRY_EUNAVAIL, msg, NULL);
	return true;
}

static void
readyz_done(PGresult *res, const char *errmsg, void *arg)
{
	struct http_req *req = arg;
	struct api_ctx *ctx = http_req_data(req);

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		char msg[400];

		snprintf(msg, sizeof(msg), "database check failed: %s",
		    errmsg ? errmsg : "no result");
		http_reply_error(req, GANTRY_EUNAVAIL, msg, NULL);
	} else if (ctx != NULL) {
		http_reply_json(req, 200,
		    json_pack("{s:s, s:i}", "status", "ready", "schema_version",
		        ctx->d->schema_version));
	}
	http_req_unref(req);
}

static void
h_readyz(struct api_ctx *ctx, struct http_req *req)
{
	char buf[400];
	const char *why = not_ready_reason(ctx->d, buf, sizeof(buf));

	if (why != NULL) {
		http_reply_error(req, GANTRY_EUNAVAIL, why, NULL);
		return;
	}
	http_req_ref(req);
	if (pg_query(ctx->d->pg, "SELECT 1", 0, NULL, readyz_done, req) < 0) {
		http_req_unref(req);
		http_reply_error(
		    req, GANTRY_EUNAVAIL, "database unreachable", NULL);
		return;
	}
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
}

static void
h_metrics(struct api_ctx *ctx, struct http_req *req)
{
	struct gantryd *d = ctx->d;
	size_t len = 0;
	char *text;

	metrics_set(d->metrics, "gantry_db_up", NULL, pg_is_up(d->pg));
	metrics_set(
	    d->metrics, "gantry_schema_version", NULL, d->schema_version);
	metrics_set(
	    d->metrics, "gantry_schema_current", NULL, d->schema_current);
	metrics_set(d->metrics, "gantry_db_reconnects_total", NULL,
	    (double)pg_reconnects(d->pg));
	if (d->engine != NULL) {
		metrics_set(d->metrics, "gantry_executions_live", NULL,
		    engine_live(d->engine));
		metrics_set(d->metrics, "gantry_executions_stuck", NULL,
		    engine_stuck(d->engine));
		metrics_set(d->metrics, "gantry_hooks_running", NULL,
		    engine_hooks_running(d->engine));
		metrics_set(d->metrics, "gantry_transitions_total", NULL,
		    (double)engine_transitions(d->engine));
		metrics_set(d->metrics, "gantry_commit_batches_total", NULL,
		    (double)engine_batches(d->engine));
	}
	if (d->alarms != NULL) {
		metrics_set(d->metrics, "gantry_alarm_samples_total", NULL,
		    (double)alarms_samples(d->alarms));
		metrics_set(d->metrics, "gantry_alarms_firing", NULL,
		    (double)alarms_firing(d->alarms));
	}
	text = metrics_render(d->metrics, &len);
	if (text == NULL) {
		http_reply_error(req, GANTRY_ENOMEM, "out of memory", NULL);
		return;
	}
	http_reply_buf(
	    req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* Answer 503 when the database cannot serve a request now. */
static bool
db_unavailable(struct api_ctx *ctx, struct http_req *req)
{
	char buf[400];
	const char *why = not_ready_reason(ctx->d, buf, sizeof(buf));

	if (why == NULL)
		return false;
	http_reply_error(req, GANTRY_EUNAVAIL, why, NULL);
	return true;
}

/* Parse a query parameter as an integer in [min, max]; def when absent. */
static int
query_int(struct http_req *req, const char *name, long long min, long long max,
    long long def, long long *out)
{
	const char *v = http_req_query(req, name);
	char *end;
	long long n;
	char msg[160];

	if (v == NULL) {
		*out = def;
		return 0;
	}
	n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < min || n > max) {
		snprintf(msg, sizeof(msg),
		    "query parameter %s must be an integer in %lld..%lld", name,
		    min, max);
		http_reply_error(req, GANTRY_EINVAL, msg, NULL);
		return -1;
	}
	*out = n;
	return 0;
}

static void
audit_done(PGresult *res, const char *errmsg, void *arg)
{
	struct http_req *req = arg;
	json_error_t jerr;
	json_t *entries;

	if (db_failed(req, res, errmsg, "reading the audit log")) {
		http_req_unref(req);
		return;
	}
	entries = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
	if (entries == NULL) {
		http_reply_error(req, GANTRY_EINTERNAL,
		    "the audit log query returned bad JSON", NULL);
	} else {
		const char *next =
		    PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);

		http_reply_json(req, 200,
		    json_pack("{s:o, s:s?}", "entries", entries, "next_cursor",
		        next));
	}
	http_req_unref(req);
}

static void
h_audit(struct api_ctx *ctx, struct http_req *req)
{
	/* Newest first; the cursor is the id below which to continue. */
	static const char sql[] =
	    "WITH page AS ("
	    " SELECT id, at, actor, action, object, reason, data"
	    " FROM audit_log WHERE ($1::bigint IS NULL OR id < $1::bigint)"
	    " ORDER BY id DESC LIMIT $2::int)"
	    " SELECT coalesce(json_agg(json_build_object("
	    "  'id', id, 'at', at, 'actor', actor, 'action', action,"
	    "  'object', object, 'reason', reason, 'data', data)"
	    "  ORDER BY id DESC), '[]'::json)::text,"
	    " CASE WHEN count(*) = $2::int THEN min(id)::text END"
	    " FROM page";
	long long limit, before;
	char limit_s[24], before_s[24];
	const char *params[2];

	if (query_int(req, "limit", 1, 1000, 100, &limit) < 0 ||
	    query_int(req, "cursor", 1, INT64_MAX, 0, &before) < 0)
		return;
	if (db_unavailable(ctx, req))
		return;
	snprintf(limit_s, sizeof(limit_s), "%lld", limit);
	snprintf(before_s, sizeof(before_s), "%lld", before);
	params[0] = before > 0 ? before_s : NULL;
	params[1] = limit_s;
	db_send(ctx, req, sql, 2, params, audit_done);
}

struct reload_job {
	struct http_req *req;
	json_t *reply;
};

static void
reload_audited(PGresult *res, const char *errmsg, void *arg)
{
	struct reload_job *job = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		char q[400];

		log_warn("audit.write_failed", "action=reload error=%s",
		    log_quote(errmsg ? errmsg : "no result", q, sizeof(q)));
		json_object_set_new(job->reply, "audit_error",
		    json_string(errmsg ? errmsg : "no result"));
	}
	http_reply_json(job->req, 200, job->reply);
	http_req_unref(job->req);
	free(job);
}

/* "database, listen" -> ["database", "listen"] */
static json_t *
restart_list(const char *keys)
{
	json_t *list = json_array();
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", keys);
	for (char *k = strtok_r(buf, ", ", &save); k != NULL;
	     k = strtok_r(NULL, ", ", &save))
		json_array_append_new(list, json_string(k));
	return list;
}

static void
h_reload(struct api_ctx *ctx, struct http_req *req)
{
	static const char sql[] =
	    "INSERT INTO audit_log (actor, action, object, reason, data)"
	    " VALUES ($1, 'reload', 'config', $2, $3::jsonb)";
	struct diag diag = {0};
	char restart[256], actor[96];
	const char *reason = NULL;
	const char *params[3];
	struct reload_job *job;
	json_t *body = NULL, *data, *pipes = NULL;
	json_error_t jerr;
	size_t len;
	const char *raw = http_req_body(req, &len);
	char *data_s;

	if (len > 0) {
		body = json_loadb(raw, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(body)) {
			char msg[300];

			snprintf(msg, sizeof(msg),
			    "body must be a JSON object {\"reason\": ...}: %s",
			    body ? "not an object" : jerr.text);
			json_decref(body);
			http_reply_error(req, GANTRY_EINVAL, msg, NULL);
			return;
		}
		reason = json_string_value(json_object_get(body, "reason"));
	}
	if (db_unavailable(ctx, req)) {
		json_decref(body);
		return;
	}
	if (gantryd_reload(ctx->d, &diag, restart, sizeof(restart), &pipes) <
	    0) {
		http_reply_error(req, GANTRY_EINVALID,
		    "the configuration file is invalid; the running "
		    "configuration was kept",
		    &diag);
		diag_clear(&diag);
		json_decref(body);
		return;
	}
	diag_clear(&diag);
	job = calloc(1, sizeof(*job));
	data = json_pack("{s:o}", "restart_needed", restart_list(restart));
	data_s = data ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	if (job == NULL || data_s == NULL) {
		json_decref(pipes);
		free(job);
		free(data_s);
		json_decref(body);
		http_reply_error(req, GANTRY_ENOMEM, "out of memory", NULL);
		return;
	}
	job->req = req;
	job->reply = json_pack("{s:b, s:o, s:o}", "reloaded", 1,
	    "restart_needed", restart_list(restart), "pipelines",
	    pipes ? pipes : json_null());
	pipes = NULL;
	actor_of(ctx, actor, sizeof(actor));
	params[0] = actor;
	params[1] = reason;
	params[2] = data_s;
	http_req_ref(req);
	if (pg_query(ctx->d->pg, sql, 3, params, reload_audited, job) < 0) {
		reload_audited(NULL, "database unreachable", job);
	} else {
		http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
	}
	free(data_s);
	json_decref(body);
}

/* --- pipelines ---------------------------------------------------------- */

static void
h_pipelines(struct api_ctx *ctx, struct http_req *req)
{
	http_reply_json(req, 200, pipelines_list_json(ctx->d->pipelines));
}

static void
version_done(PGresult *res, const char *errmsg, void *arg)
{
	struct http_req *req = arg;
	json_error_t jerr;
	json_t *def;

	if (db_failed(req, res, errmsg, "reading the version")) {
		/* answered */
	} else if (PQntuples(res) == 0) {
		http_reply_error(req, GANTRY_ENOENT,
		    "no such version of this pipeline", NULL);
	} else {
		def = json_loads(PQgetvalue(res, 0, 3), 0, &jerr);
		http_reply_json(req, 200,
		    json_pack("{s:s, s:i, s:s, s:s, s:s, s:o}", "name",
		        PQgetvalue(res, 0, 0), "version",
		        atoi(PQgetvalue(res, 0, 1)), "sha256",
		        PQgetvalue(res, 0, 2), "created_by",
		        PQgetvalue(res, 0, 4), "created_at",
		        PQgetvalue(res, 0, 5), "definition",
		        def ? def : json_null()));
	}
	http_req_unref(req);
}

static void
h_pipeline_get(struct api_ctx *ctx, struct http_req *req)
{
	static const char sql[] =
	    "SELECT pipeline, version, sha256, definition::text, created_by,"
	    " to_char(created_at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " FROM pipeline_versions WHERE pipeline = $1 AND version = $2";
	const char *name = router_param(&ctx->match, "name");
	long long version;
	char vs[24];
	const char *params[2];
	json_t *j;

	if (query_int(req, "version", 1, INT32_MAX, 0, &version) < 0)
		return;
	if (version == 0) {
		j = pipelines_get_json(ctx->d->pipelines, name);
		if (j == NULL) {
			char msg[400];

			snprintf(
			    msg, sizeof(msg), "no pipeline named \"%s\"", name);
			http_reply_error(req, GANTRY_ENOENT, msg, NULL);
			return;
		}
		http_reply_json(req, 200, j);
		return;
	}
	if (db_unavailable(ctx, req))
		return;
	snprintf(vs, sizeof(vs), "%lld", version);
	params[0] = name;
	params[1] = vs;
	db_send(ctx, req, sql, 2, params, version_done);
}

static void
put_stored(int version, bool created, const char *why, void *arg)
{
	struct http_req *req = arg;
	struct api_ctx *ctx = http_req_data(req);
	const char *name = ctx ? router_param(&ctx->match, "name") : "";

	if (version == 0) {
		char msg[600];

		snprintf(msg, sizeof(msg), "storing the pipeline failed: %s",
		    why ? why : "unknown error");
		http_reply_error(req, GANTRY_EUNAVAIL, msg, NULL);
	} else if (ctx != NULL) {
		http_reply_json(req, created ? 201 : 200,
		    json_pack("{s:s, s:i, s:b}", "name", name, "version",
		        version, "created", created));
	}
	http_req_unref(req);
}

static void
h_pipeline_put(struct api_ctx *ctx, struct http_req *req)
{
	const char *name = router_param(&ctx->match, "name");
	const char *ctype = http_req_header(req, "Content-Type");
	const struct pipeline_compiled *set;
	struct pipeline_compiled c;
	const char *file, *body;
	size_t nset, len;
	char path[300], actor[96];
	int rc;

	if (db_unavailable(ctx, req))
		return;
	file = pipelines_file_of(ctx->d->pipelines, name);
	if (file != NULL) {
		char msg[600];

		snprintf(msg, sizeof(msg),
		    "pipeline \"%s\" is defined by the file %s in "
		    "pipelines_dir: change the file and reload instead",
		    name, file);
		http_reply_error(req, GANTRY_ECONFLICT, msg, NULL);
		return;
	}
	body = http_req_body(req, &len);
	set = pipelines_dir_set(ctx->d->pipelines, &nset);
	snprintf(path, sizeof(path), "PUT /v1/pipelines/%s", name);
	rc = pipeline_compile_text(path, body, len,
	    !media_type_is(ctype, MEDIA_JSON), set, nset, &ctx->d->cfg->floors,
	    NULL, &c);
	if (rc < 0) {
		pipeline_compiled_clear(&c, 1);
		http_reply_error(req, GANTRY_ENOMEM, "out of memory", NULL);
		return;
	}
	if (rc == 0 && strcmp(c.name, name) != 0) {
		diag_add(&c.diag, path, "pipeline",
		    "the name in the body (\"%s\") differs from the URL "
		    "(\"%s\")",
		    c.name, name);
		rc = 1;
	}
	if (rc > 0 && c.name == NULL) {
		/* Not even a pipeline document: bad input, not a bad
		 * definition. */
		http_reply_error(req, GANTRY_EINVAL,
		    "the body is not a pipeline document", &c.diag);
		pipeline_compiled_clear(&c, 1);
		return;
	}
	if (rc > 0) {
		http_reply_error(req, GANTRY_EINVALID,
		    "the pipeline definition is invalid", &c.diag);
		pipeline_compiled_clear(&c, 1);
		return;
	}
	actor_of(ctx, actor, sizeof(actor));
	http_req_ref(req);
	pipelines_store(ctx->d->pipelines, &c, actor, put_stored, req);
	pipeline_compiled_clear(&c, 1);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS); /* no-op if answered */
}

/* --- executions ---------------------------------------------------------- */

/* The body as a JSON object (empty body: an empty object); NULL after
 * replying 400. */
static json_t *
body_object(struct http_req *req)
{
	json_error_t jerr;
	size_t len;
	const char *raw = http_req_body(req, &len);
	json_t *j;

	if (len == 0)
		return json_object();
	j = json_loadb(raw, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		char msg[300];

		snprintf(msg, sizeof(msg), "body must be a JSON object: %s",
		    j ? "not an object" : jerr.text);
		json_decref(j);
		http_reply_error(req, GANTRY_EINVAL, msg, NULL);
		return NULL;
	}
	return j;
}

/* An optional string member; -1 after replying 400 when it is not one. */
static int
member_string(struct http_req *req, const json_t *obj, const char *key,
    size_t max, const char **out)
{
	const json_t *v = json_object_get(obj, key);
	char msg[160];

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max) {
		snprintf(msg, sizeof(msg),
		    "%s must be a string of 1..%zu "
		    "characters",
		    key, max);
		http_reply_error(req, GANTRY_EINVAL, msg, NULL);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* The body's "reason" (1..2000 characters); -1 after replying 400 when
 * it is malformed, or missing while required (it goes to the audit
 * log). */
static int
member_reason(struct http_req *req, const json_t *body, bool required,
    const char **reason)
{
	if (member_string(req, body, "reason", 2000, reason) < 0)
		return -1;
	if (required && *reason == NULL) {
		http_reply_error(req, GANTRY_EINVAL,
		    "reason is required: it goes to the audit log", NULL);
		return -1;
	}
	return 0;
}

static void
engine_replied(int status, json_t *body, void *arg)
{
	struct http_req *req = arg;

	http_reply_json(req, status, body);
	http_req_unref(req);
}

static void
h_trigger(struct api_ctx *ctx, struct http_req *req)
{
	struct engine_trigger t;
	json_t *body = body_object(req), *art, *dry;
	char actor[96];
	const char *idem = http_req_header(req, "Idempotency-Key");

	if (body == NULL)
		return;
	memset(&t, 0, sizeof(t));
	t.pipeline = router_param(&ctx->match, "name");
	if (member_string(req, body, "revision", 200, &t.revision) < 0 ||
	    member_string(req, body, "reason", 2000, &t.reason) < 0)
		goto out;
	if (t.revision == NULL) {
		http_reply_error(req, GANTRY_EINVAL,
		    "revision is required (the commit to deploy)", NULL);
		goto out;
	}
	dry = json_object_get(body, "dry_run");
	if (dry != NULL && !json_is_null(dry) && !json_is_boolean(dry)) {
		http_reply_error(
		    req, GANTRY_EINVAL, "dry_run must be true or false", NULL);
		goto out;
	}
	t.dry_run = json_is_true(dry);
	art = json_object_get(body, "artifact");
	if (art != NULL && !json_is_null(art)) {
		const char *sha = NULL;

		if (!json_is_object(art) ||
		    member_string(req, art, "uri", 2000, &t.artifact_uri) < 0 ||
		    member_string(req, art, "sha256", 64, &sha) < 0 ||
		    member_string(req, art, "signature", 2000,
		        &t.artifact_signature) < 0) {
			if (!json_is_object(art))
				http_reply_error(req, GANTRY_EINVAL,
				    "artifact must be an object {uri, sha256, "
				    "signature}",
				    NULL);
			goto out;
		}
		if (t.artifact_uri == NULL || sha == NULL ||
		    strspn(sha, "0123456789abcdef") != 64) {
			http_reply_error(req, GANTRY_EINVAL,
			    "artifact needs uri and sha256 (64 lowercase hex "
			    "digits)",
			    NULL);
			goto out;
		}
		t.artifact_sha256 = sha;
	}
	if (idem != NULL && (strlen(idem) == 0 || strlen(idem) > 200)) {
		http_reply_error(req, GANTRY_EINVAL,
		    "Idempotency-Key must have 1..200 characters", NULL);
		goto out;
	}
	t.idempotency_key = idem;
	actor_of(ctx, actor, sizeof(actor));
	t.actor = actor;
	http_req_ref(req);
	engine_trigger(ctx->d->engine, &t, engine_replied, req);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
out:
	json_decref(body);
}

static int
path_id(struct api_ctx *ctx, struct http_req *req, int64_t *id)
{
	const char *s = router_param(&ctx->match, "id");
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0) {
		/* the path names what the id is of: /v1/executions/{id}... or
		 * /v1/holds/{id} */
		http_reply_error(req, GANTRY_EINVAL,
		    strncmp(http_req_path(req), "/v1/holds/", 10) == 0
		        ? "hold id must be a positive integer"
		        : "execution id must be a positive integer",
		    NULL);
		return -1;
	}
	*id = v;
	return 0;
}

static void
request(struct api_ctx *ctx, struct http_req *req, enum exec_event_kind k,
    bool need_reason)
{
	json_t *body = body_object(req);
	const char *reason = NULL;
	char actor[96];
	int64_t id;

	if (body == NULL)
		return;
	if (path_id(ctx, req, &id) < 0 ||
	    member_reason(req, body, need_reason, &reason) < 0)
		goto out;
	http_req_ref(req);
	engine_request(ctx->d->engine, id, k,
	    actor_of(ctx, actor, sizeof(actor)), reason, engine_replied, req);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
out:
	json_decref(body);
}

static void
h_abort(struct api_ctx *ctx, struct http_req *req)
{
	request(ctx, req, EV_ABORT, true);
}

static void
h_rollback(struct api_ctx *ctx, struct http_req *req)
{
	request(ctx, req, EV_ROLLBACK, true);
}

static void
h_pause(struct api_ctx *ctx, struct http_req *req)
{
	request(ctx, req, EV_PAUSE, false);
}

static void
h_resume(struct api_ctx *ctx, struct http_req *req)
{
	request(ctx, req, EV_RESUME, false);
}

/* One-row, one-column JSON text result -> reply 200 (or 404 on none). */
static void
json_row_done(PGresult *res, const char *errmsg, void *arg)
{
	struct http_req *req = arg;
	json_error_t jerr;

	if (db_failed(req, res, errmsg, "the query")) {
		/* answered */
	} else if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		http_reply_error(req, GANTRY_ENOENT, "no such execution", NULL);
	} else {
		json_t *j = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);

		if (j == NULL)
			http_reply_error(req, GANTRY_EINTERNAL,
			    "the database returned bad JSON", NULL);
		else
			http_reply_json(req, 200, j);
	}
	http_req_unref(req);
}

static void
db_json(struct api_ctx *ctx, struct http_req *req, const char *sql, int nparams,
    const char *const *params)
{
	if (db_unavailable(ctx, req))
		return;
	db_send(ctx, req, sql, nparams, params, json_row_done);
}

/* A stored snapshot, rendered through the machine's own encoder so the
 * tree looks the same whether the execution is live or finished. */
static void
snapshot_done(PGresult *res, const char *errmsg, void *arg)
{
	struct http_req *req = arg;
	struct gantry_error err;
	json_error_t jerr;
	json_t *j;
	struct exec *x;

	if (db_failed(req, res, errmsg, "reading the execution")) {
		/* answered */
	} else if (PQntuples(res) == 0) {
		http_reply_error(req, GANTRY_ENOENT, "no such execution", NULL);
	} else {
		j = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
		x = j ? exec_from_json(j, &err) : NULL;
		json_decref(j);
		if (x == NULL)
			http_reply_error(req, GANTRY_EINTERNAL,
			    "the stored snapshot does not load", NULL);
		else
			http_reply_json(req, 200, exec_to_json(x));
		exec_free(x);
	}
	http_req_unref(req);
}

static void
h_execution(struct api_ctx *ctx, struct http_req *req)
{
	static const char sql[] =
	    "SELECT snapshot::text FROM executions WHERE id = $1";
	char idbuf[24];
	const char *params[1] = {idbuf};
	size_t len = 0;
	char *text;
	int64_t id;

	if (path_id(ctx, req, &id) < 0)
		return;
	text = engine_tree_text(ctx->d->engine, id, &len);
	if (text != NULL) {
		http_reply_buf(req, 200, "application/json", text, len);
		return;
	}
	if (db_unavailable(ctx, req))
		return;
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	db_send(ctx, req, sql, 1, params, snapshot_done);
}

/* --- live event stream (SSE) -------------------------------------------- */

#define SSE_KEEPALIVE_S 15

struct sse {
	struct api_ctx *ctx; /* NULL once the client is gone */
	struct http_req *req;
	struct gantryd *d;
	int64_t id;
	int64_t last_seq;
	bool replayed;
	bool query_pending;
	bool ended;
	json_t *buffered; /* live batches seen before the replay was sent */
	struct engine_watch *watch;
	struct event *keepalive;
};

static bool
wants_sse(struct http_req *req)
{
	const char *a = http_req_header(req, "Accept");

	return a != NULL && strstr(a, "text/event-stream") != NULL;
}

static void
sse_free_if_done(struct sse *sse)
{
	if (sse->ctx != NULL || sse->query_pending)
		return;
	if (sse->watch != NULL)
		engine_unwatch(sse->d->engine, sse->watch);
	if (sse->keepalive != NULL)
		event_free(sse->keepalive);
	json_decref(sse->buffered);
	http_req_unref(sse->req);
	free(sse);
}

static void
sse_closed(struct sse *sse)
{
	sse->ctx = NULL;
	sse->ended = true;
	sse_free_if_done(sse);
}

static void
rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One SSE message for one event; tree may be NULL. */
static void
sse_send(struct sse *sse, json_int_t seq, const char *kind, json_t *data,
    const char *at, json_t *tree)
{
	json_t *msg = json_pack("{s:I, s:s, s:O, s:s, s:O}", "seq", seq, "kind",
	    kind, "data", data ? data : json_null(), "at", at, "execution",
	    tree ? tree : json_null());
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	char *frame = NULL;

	json_decref(msg);
	if (text != NULL &&
	    asprintf(&frame, "id: %lld\nevent: transition\ndata: %s\n\n",
	        (long long)seq, text) > 0 &&
	    http_stream_write(sse->req, frame, strlen(frame)) < 0)
		sse->ended = true;
	free(text);
	free(frame);
	if (seq > sse->last_seq)
		sse->last_seq = seq;
}

static void
sse_end(struct sse *sse)
{
	sse->ended = true;
	http_stream_end(sse->req);
}

/* Live batch of committed events (or one buffered earlier). */
static void
sse_live(
    struct sse *sse, const json_t *events, const json_t *tree, bool terminal)
{
	size_t i, last = json_array_size(events);
	json_t *ev;
	char at[32];

	if (sse->ended)
		return;
	rfc3339_now(at, sizeof(at));
	json_array_foreach(events, i, ev)
	{
		json_int_t seq = json_integer_value(json_object_get(ev, "seq"));

		if (seq <= sse->last_seq)
			continue;
		sse_send(sse, seq,
		    json_string_value(json_object_get(ev, "kind")),
		    json_object_get(ev, "data"), at,
		    i + 1 == last ? (json_t *)tree : NULL);
	}
	if (terminal)
		sse_end(sse);
}

static void
sse_watch_cb(const json_t *events, const json_t *tree, bool terminal, void *arg)
{
	struct sse *sse = arg;

	if (!sse->replayed) {
		json_array_append_new(sse->buffered,
		    json_pack("{s:O, s:O, s:b}", "events", events, "tree", tree,
		        "terminal", terminal));
		return;
	}
	sse_live(sse, events, tree, terminal);
}

static void
sse_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct sse *sse = arg;
	static const char ping[] = ": keepalive\n\n";

	if (!sse->ended &&
	    http_stream_write(sse->req, ping, sizeof(ping) - 1) < 0)
		sse->ended = true;
}

static void
sse_replay(PGresult *res, const char *errmsg, void *arg)
{
	struct sse *sse = arg;
	json_error_t jerr;
	json_t *events, *tree = NULL, *ev;
	struct gantry_error err;
	bool terminal;
	size_t i, n;

	sse->query_pending = false;
	if (sse->ctx == NULL) {
		sse_free_if_done(sse);
		return;
	}
	if (db_failed(sse->req, res, errmsg, "reading the event log"))
		return;
	if (PQntuples(res) == 0) {
		http_reply_error(
		    sse->req, GANTRY_ENOENT, "no such execution", NULL);
		return;
	}
	if (http_stream_start(sse->req, 200, "text/event-stream") < 0)
		return;
	terminal = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	tree = engine_tree(sse->d->engine, sse->id);
	if (tree == NULL) {
		json_t *snap = json_loads(PQgetvalue(res, 0, 1), 0, &jerr);
		struct exec *x = snap ? exec_from_json(snap, &err) : NULL;

		tree = x ? exec_to_json(x) : NULL;
		exec_free(x);
		json_decref(snap);
	}
	events = json_loads(PQgetvalue(res, 0, 2), 0, &jerr);
	n = json_array_size(events);
	json_array_foreach(events, i, ev)
	{
		sse_send(sse, json_integer_value(json_object_get(ev, "seq")),
		    json_string_value(json_object_get(ev, "kind")),
		    json_object_get(ev, "data"),
		    json_string_value(json_object_get(ev, "at")),
		    i + 1 == n ? tree : NULL);
	}
	json_decref(events);
	json_decref(tree);
	sse->replayed = true;
	json_array_foreach(sse->buffered, i, ev) sse_live(sse,
	    json_object_get(ev, "events"), json_object_get(ev, "tree"),
	    json_is_true(json_object_get(ev, "terminal")));
	json_array_clear(sse->buffered);
	if (terminal)
		sse_end(sse);
}

static void
sse_start(struct api_ctx *ctx, struct http_req *req, int64_t id)
{
	static const char sql[] =
	    "SELECT (x.finished_at IS NOT NULL)::text, x.snapshot::text,"
	    " coalesce(json_agg(json_build_object('seq', e.seq, 'kind', e.kind,"
	    " 'data', e.data, 'at', to_char(e.at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) ORDER BY e.seq)"
	    " FILTER (WHERE e.seq IS NOT NULL), '[]'::json)::text"
	    " FROM executions x LEFT JOIN execution_events e"
	    " ON e.execution = x.id AND e.seq > $2::bigint"
	    " WHERE x.id = $1 GROUP BY x.id";
	const char *lei = http_req_header(req, "Last-Event-ID");
	struct timeval tv = {SSE_KEEPALIVE_S, 0};
	char idbuf[24], seqbuf[24];
	const char *params[2] = {idbuf, seqbuf};
	struct sse *sse;

	if (db_unavailable(ctx, req))
		return;
	sse = calloc(1, sizeof(*sse));
	if (sse == NULL) {
		http_reply_error(req, GANTRY_ENOMEM, "out of memory", NULL);
		return;
	}
	sse->ctx = ctx;
	sse->req = req;
	sse->d = ctx->d;
	sse->id = id;
	sse->last_seq = lei ? strtoll(lei, NULL, 10) : 0;
	if (sse->last_seq < 0)
		sse->last_seq = 0;
	sse->buffered = json_array();
	sse->watch = engine_watch(ctx->d->engine, id, sse_watch_cb, sse);
	sse->keepalive =
	    event_new(ctx->d->base, -1, EV_PERSIST, sse_keepalive, sse);
	http_req_ref(req);
	ctx->sse = sse;
	if (sse->keepalive != NULL)
		event_add(sse->keepalive, &tv);
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	snprintf(seqbuf, sizeof(seqbuf), "%lld", (long long)sse->last_seq);
	sse->query_pending = true;
	if (pg_query(ctx->d->pg, sql, 2, params, sse_replay, sse) < 0) {
		sse->query_pending = false;
		http_reply_error(
		    req, GANTRY_EUNAVAIL, "database unreachable", NULL);
		return;
	}
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
}

static void
h_events(struct api_ctx *ctx, struct http_req *req)
{
	static const char sql[] =
	    "SELECT CASE WHEN EXISTS (SELECT 1 FROM executions WHERE id = $1)"
	    " THEN json_build_object('events', coalesce(json_agg("
	    " json_build_object('seq', seq, 'kind', kind, 'data', data,"
	    " 'at', at) ORDER BY seq), '[]'::json))::text END"
	    " FROM execution_events WHERE execution = $1";
	char idbuf[24];
	const char *params[1] = {idbuf};
	int64_t id;

	if (path_id(ctx, req, &id) < 0)
		return;
	if (wants_sse(req)) {
		sse_start(ctx, req, id);
		return;
	}
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	db_json(ctx, req, sql, 1, params);
}

/* Hook output as a JSON string: bytes that are not UTF-8 become U+FFFD. */
static json_t *
output_string(const char *hex)
{
	size_t n = strlen(hex) / 2, o = 0;
	unsigned char *raw = malloc(n + 1);
	char *txt = malloc(n * 3 + 1);
	json_t *j;

	if (raw == NULL || txt == NULL) {
		free(raw);
		free(txt);
		return json_string("");
	}
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		sscanf(hex + 2 * i, "%2x", &v);
		raw[i] = (unsigned char)v;
	}
	for (size_t i = 0; i < n;) {
		size_t len = raw[i] < 0x80 ? 1
		    : (raw[i] >> 5) == 6   ? 2
		    : (raw[i] >> 4) == 14  ? 3
		    : (raw[i] >> 3) == 30  ? 4
		                           : 0;
		bool ok = len > 0 && i + len <= n;

		for (size_t k = 1; ok && k < len; k++)
			ok = (raw[i + k] & 0xc0) == 0x80;
		if (ok && len == 1 && raw[i] == 0)
			ok = false;
		if (ok) {
			/* overlong forms and surrogates: ask jansson */
			json_t *probe =
			    json_stringn((const char *)raw + i, len);

			ok = probe != NULL;
			json_decref(probe);
		}
		if (ok) {
			memcpy(txt + o, raw + i, len);
			o += len;
			i += len;
		} else {
			memcpy(txt + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	j = json_stringn(txt, o);
	free(raw);
	free(txt);
	return j ? j : json_string("");
}

static void
logs_done(PGresult *res, const char *errmsg, void *arg)
{
	struct http_req *req = arg;
	struct api_ctx *ctx = http_req_data(req);
	json_t *attempts, *cur = NULL;
	int last = 0;

	if (db_failed(req, res, errmsg, "reading the hook output")) {
		http_req_unref(req);
		return;
	}
	if (PQntuples(res) == 0 || ctx == NULL) {
		http_reply_error(req, GANTRY_ENOENT,
		    "no output recorded for this step", NULL);
		http_req_unref(req);
		return;
	}
	attempts = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		int attempt = atoi(PQgetvalue(res, i, 0));
		const char *stream = PQgetvalue(res, i, 1);

		if (cur == NULL || attempt != last) {
			cur = json_pack("{s:i, s:o, s:s, s:s}", "attempt",
			    attempt, "exit_status",
			    PQgetisnull(res, i, 4)
			        ? json_null()
			        : json_integer(atoi(PQgetvalue(res, i, 4))),
			    "started_at", PQgetvalue(res, i, 5), "finished_at",
			    PQgetvalue(res, i, 6));
			json_object_set_new(cur, "truncated", json_false());
			/* an empty stream is not stored */
			json_object_set_new(cur, "stdout", json_string(""));
			json_object_set_new(cur, "stderr", json_string(""));
			json_array_append_new(attempts, cur);
			last = attempt;
		}
		/* bytea arrives as \x<hex> */
		json_object_set_new(
		    cur, stream, output_string(PQgetvalue(res, i, 2) + 2));
		if (PQgetvalue(res, i, 3)[0] == 't')
			json_object_set_new(cur, "truncated", json_true());
	}
	http_reply_json(req, 200,
	    json_pack("{s:s, s:o}", "step", router_param(&ctx->match, "step"),
	        "attempts", attempts));
	http_req_unref(req);
}

static void
h_logs(struct api_ctx *ctx, struct http_req *req)
{
	static const char sql[] =
	    "SELECT attempt, stream, content, truncated, exit_status,"
	    " to_char(started_at AT TIME ZONE 'UTC',"
	    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
	    " to_char(finished_at AT TIME ZONE 'UTC',"
	    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
	    " FROM hook_outputs WHERE execution = $1 AND step = $2"
	    " ORDER BY attempt, stream";
	char idbuf[24];
	const char *params[2] = {idbuf, router_param(&ctx->match, "step")};
	int64_t id;

	if (path_id(ctx, req, &id) < 0 || db_unavailable(ctx, req))
		return;
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	db_send(ctx, req, sql, 2, params, logs_done);
}

static void
h_executions(struct api_ctx *ctx, struct http_req *req)
{
	static const char sql[] =
	    "WITH page AS (SELECT id, pipeline, pipeline_version, revision,"
	    " state, reason, created_at, finished_at, dry_run FROM executions"
	    " WHERE ($1::text IS NULL OR pipeline = $1)"
	    " AND ($2::text IS NULL OR state = $2)"
	    " AND ($5::boolean IS NULL OR dry_run = $5::boolean)"
	    " AND ($3::bigint IS NULL OR id < $3::bigint)"
	    " ORDER BY id DESC LIMIT $4::int)"
	    " SELECT json_build_object('executions', coalesce(json_agg(page"
	    " ORDER BY id DESC), '[]'::json), 'next_cursor',"
	    " CASE WHEN count(*) = $4::int THEN min(id)::text END)::text"
	    " FROM page";
	long long limit, cursor;
	char lim[24], cur[24];
	const char *params[5];
	const char *dry = http_req_query(req, "dry_run");

	if (query_int(req, "limit", 1, 1000, 50, &limit) < 0 ||
	    query_int(req, "cursor", 1, INT64_MAX, 0, &cursor) < 0)
		return;
	if (dry != NULL && strcmp(dry, "true") != 0 &&
	    strcmp(dry, "false") != 0) {
		http_reply_error(
		    req, GANTRY_EINVAL, "dry_run must be true or false", NULL);
		return;
	}
	snprintf(lim, sizeof(lim), "%lld", limit);
	snprintf(cur, sizeof(cur), "%lld", cursor);
	params[0] = http_req_query(req, "pipeline");
	params[1] = http_req_query(req, "state");
	params[2] = cursor > 0 ? cur : NULL;
	params[3] = lim;
	params[4] = dry;
	db_json(ctx, req, sql, 5, params);
}

/* --- safeguards: alarms, blockers, overrides, holds ----------------------- */

static int64_t
now_ms_api(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
h_alarms(struct api_ctx *ctx, struct http_req *req)
{
	http_reply_json(req, 200,
	    json_pack("{s:o}", "alarms", alarms_list_json(ctx->d->alarms)));
}

static void
h_alarm_state(struct api_ctx *ctx, struct http_req *req)
{
	json_t *body = body_object(req);
	const char *state = NULL, *reason = NULL;
	struct alarm_push p;
	char source[96];

	if (body == NULL)
		return;
	if (member_string(req, body, "state", 32, &state) < 0 ||
	    member_string(req, body, "reason", 2000, &reason) < 0)
		goto out;
	p.name = router_param(&ctx->match, "name");
	p.reason = reason;
	if (state == NULL || !alarm_state_parse(state, &p.state)) {
		http_reply_error(req, GANTRY_EINVAL,
		    "state must be one of ok, alarm, insufficient_data", NULL);
		goto out;
	}
	actor_of(ctx, source, sizeof(source));
	http_req_ref(req);
	alarms_push(ctx->d->alarms, &p, 1, source, false, engine_replied, req);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
out:
	json_decref(body);
}

static void
h_alertmanager(struct api_ctx *ctx, struct http_req *req)
{
	struct prom_alert *alerts = NULL;
	struct alarm_push *p = NULL;
	struct gantry_error err = {0};
	size_t len, n = 0;
	const char *raw = http_req_body(req, &len);
	char source[96];

	if (prom_parse_alertmanager(raw, len, ctx->d->cfg->alertmanager_label,
	        &alerts, &n, &err) < 0) {
		http_reply_error(req, GANTRY_EINVAL, err.msg, NULL);
		return;
	}
	p = calloc(n ? n : 1, sizeof(*p));
	if (p == NULL) {
		prom_alerts_free(alerts, n);
		http_reply_error(req, GANTRY_ENOMEM, "out of memory", NULL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *r;

		/* a resolved alert still carries the summary it fired with:
		 * say it is over, so an ok alarm does not read as a fault */
		if (!alerts[i].firing &&
		    asprintf(&r, "resolved in Alertmanager (was: %s)",
		        alerts[i].reason ? alerts[i].reason : "") >= 0) {
			free(alerts[i].reason);
			alerts[i].reason = r;
		}
		p[i].name = alerts[i].alarm;
		p[i].state = alerts[i].firing ? ALARM_ALARM : ALARM_OK;
		p[i].reason = alerts[i].reason;
	}
	snprintf(
	    source, sizeof(source), "alertmanager (token:%s)", ctx->token_name);
	http_req_ref(req);
	alarms_push(ctx->d->alarms, p, n, source, true, engine_replied, req);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
	free(p);
	prom_alerts_free(alerts, n);
}

static void
h_blockers(struct api_ctx *ctx, struct http_req *req)
{
	json_t *firing = json_array();
	json_t *all = alarms_list_json(ctx->d->alarms);
	size_t i;
	json_t *a;

	json_array_foreach(all, i, a)
	{
		const char *st = json_string_value(json_object_get(a, "state"));

		if (st != NULL && strcmp(st, "alarm") == 0)
			json_array_append(firing, a);
	}
	json_decref(all);
	http_reply_json(req, 200,
	    json_pack("{s:o, s:o, s:o}", "blockers",
	        engine_blockers_json(ctx->d->engine), "holds",
	        holds_list_json(ctx->d->holds), "alarms", firing));
}

/* expires_in: a duration ("30m") or seconds; default and cap from the
 * config (override_max). */
static int
expiry_of(
    struct api_ctx *ctx, struct http_req *req, const json_t *body, int64_t *ms)
{
	const json_t *v = json_object_get(body, "expires_in");
	int64_t max = ctx->d->cfg->override_max_ms;
	struct gantry_error err = {0};
	char msg[200];

	*ms = max < 3600000 ? max : 3600000;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) <= INT64_MAX / 1000) {
		*ms = (int64_t)json_integer_value(v) * 1000;
	} else if (!json_is_string(v) ||
	    duration_parse(json_string_value(v), ms, &err) < 0 || *ms <= 0) {
		http_reply_error(req, GANTRY_EINVAL,
		    "expires_in must be a duration such as 30m, or seconds",
		    NULL);
		return -1;
	}
	if (*ms > max) {
		char d[32];

		duration_format(max, d, sizeof(d));
		snprintf(msg, sizeof(msg),
		    "expires_in is longer than override_max (%s)", d);
		http_reply_error(req, GANTRY_EINVAL, msg, NULL);
		return -1;
	}
	return 0;
}

static void
h_override(struct api_ctx *ctx, struct http_req *req)
{
	json_t *body = body_object(req);
	const char *id = router_param(&ctx->match, "id");
	const char *reason = NULL, *blocker;
	char actor[96], *end;
	long long exec;
	int64_t ms;

	if (body == NULL)
		return;
	if (member_reason(req, body, true, &reason) < 0 ||
	    expiry_of(ctx, req, body, &ms) < 0)
		goto out;
	exec = strtoll(id, &end, 10);
	if (end == id || *end != ':' || exec <= 0 || end[1] == '\0') {
		http_reply_error(req, GANTRY_EINVAL,
		    "a blocker id is EXECUTION:BLOCKER, as GET /v1/blockers "
		    "lists it (e.g. 42:alarm:errors)",
		    NULL);
		goto out;
	}
	blocker = end + 1;
	if (strncmp(blocker, "review", 6) == 0 &&
	    !(ctx->token_roles & AUTH_ADMIN)) {
		http_reply_error(req, GANTRY_EPERM,
		    "overriding the review gate needs the admin role", NULL);
		goto out;
	}
	actor_of(ctx, actor, sizeof(actor));
	http_req_ref(req);
	engine_override(ctx->d->engine, exec, blocker, now_ms_api() + ms, actor,
	    reason, engine_replied, req);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
out:
	json_decref(body);
}

static void
h_holds(struct api_ctx *ctx, struct http_req *req)
{
	http_reply_json(req, 200,
	    json_pack("{s:o}", "holds", holds_list_json(ctx->d->holds)));
}

static void
h_hold_put(struct api_ctx *ctx, struct http_req *req)
{
	json_t *body = body_object(req);
	const char *scope = NULL, *name = NULL, *reason = NULL;
	char actor[96];

	if (body == NULL)
		return;
	if (member_string(req, body, "scope", 16, &scope) < 0 ||
	    member_string(req, body, "name", 200, &name) < 0 ||
	    member_reason(req, body, false, &reason) < 0)
		goto out;
	if (scope == NULL)
		scope = name == NULL ? "all" : NULL;
	if (scope == NULL ||
	    (strcmp(scope, "all") != 0 && strcmp(scope, "service") != 0 &&
	        strcmp(scope, "pipeline") != 0)) {
		http_reply_error(req, GANTRY_EINVAL,
		    "scope must be one of all, service, pipeline", NULL);
		goto out;
	}
	if ((strcmp(scope, "all") == 0) != (name == NULL)) {
		http_reply_error(req, GANTRY_EINVAL,
		    strcmp(scope, "all") == 0
		        ? "a hold on all takes no name"
		        : "a hold on a service or pipeline needs its name",
		    NULL);
		goto out;
	}
	if (member_reason(req, body, true, &reason) < 0)
		goto out;
	actor_of(ctx, actor, sizeof(actor));
	http_req_ref(req);
	holds_put(
	    ctx->d->holds, scope, name, reason, actor, engine_replied, req);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
out:
	json_decref(body);
}

static void
h_hold_lift(struct api_ctx *ctx, struct http_req *req)
{
	json_t *body = body_object(req);
	const char *reason = NULL;
	char actor[96];
	int64_t id;

	if (body == NULL)
		return;
	if (path_id(ctx, req, &id) < 0 ||
	    member_string(req, body, "reason", 2000, &reason) < 0)
		goto out;
	actor_of(ctx, actor, sizeof(actor));
	http_req_ref(req);
	holds_lift(ctx->d->holds, id, reason, actor, engine_replied, req);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
out:
	json_decref(body);
}

/* --- code review webhooks ---------------------------------------------------- */

static void
webhook_rejected(struct api_ctx *ctx, struct http_req *req,
    enum webhook_source src, const char *msg)
{
	char labels[64];

	snprintf(
	    labels, sizeof(labels), "source=\"%s\"", webhook_source_name(src));
	(void)metrics_add(
	    ctx->d->metrics, "gantry_webhook_rejected_total", labels, 1);
	log_warn("webhook.rejected", "source=%s why=\"%s\"",
	    webhook_source_name(src), msg);
	http_reply_error(req, GANTRY_EAUTH, msg, NULL);
}

/*
 * POST /v1/hooks/{github,gitlab,gerrit}: verify first (GitHub: the
 * X-Hub-Signature-256 HMAC of the raw body with github_secret; GitLab:
 * X-Gitlab-Token equal to gitlab_token; Gerrit: "Authorization: Bearer
 * gerrit_token" or ?token=gerrit_token, since the webhooks plugin cannot
 * sign), then parse, then act (webhooks.c).  The delivery id is
 * X-GitHub-Delivery / X-Gitlab-Event-UUID, else the body's SHA-256.
 */
static void
webhook_receive(
    struct api_ctx *ctx, struct http_req *req, enum webhook_source src)
{
	const struct gantry_config *cfg = ctx->d->cfg;
	const char *secret, *type = NULL, *delivery = NULL, *given;
	struct webhook_event ev;
	struct gantry_error err = {0};
	char msg[300], hex[65], labels[96];
	unsigned char md[32];
	size_t len;
	const char *body = http_req_body(req, &len);
	bool ok;

	secret = src == WEBHOOK_GITHUB ? cfg->github_secret
	    : src == WEBHOOK_GITLAB    ? cfg->gitlab_token
	                               : cfg->gerrit_token;
	if (secret == NULL) {
		snprintf(msg, sizeof(msg),
		    "the %s receiver is off: set %s in gantryd.conf",
		    webhook_source_name(src),
		    src == WEBHOOK_GITHUB       ? "github_secret"
		        : src == WEBHOOK_GITLAB ? "gitlab_token"
		                                : "gerrit_token");
		http_reply_error(req, GANTRY_ENOENT, msg, NULL);
		return;
	}
	switch (src) {
	case WEBHOOK_GITHUB:
		ok = webhook_verify_github(secret, body, len,
		    http_req_header(req, "X-Hub-Signature-256"));
		type = http_req_header(req, "X-GitHub-Event");
		delivery = http_req_header(req, "X-GitHub-Delivery");
		break;
	case WEBHOOK_GITLAB:
		ok = webhook_verify_token(
		    secret, http_req_header(req, "X-Gitlab-Token"));
		type = http_req_header(req, "X-Gitlab-Event");
		delivery = http_req_header(req, "X-Gitlab-Event-UUID");
		if (delivery == NULL)
			delivery = http_req_header(req, "Idempotency-Key");
		break;
	default:
		given = http_req_header(req, "Authorization");
		if (given != NULL && strncasecmp(given, "Bearer ", 7) == 0)
			given += 7;
		else
			given = http_req_query(req, "token");
		ok = webhook_verify_token(secret, given);
		break;
	}
	if (!ok) {
		webhook_rejected(ctx, req, src,
		    src == WEBHOOK_GITHUB
		        ? "X-Hub-Signature-256 does not match the body signed "
		          "with github_secret"
		        : "the webhook token does not match");
		return;
	}
	if (webhook_parse(src, type, body, len, &ev, &err) < 0) {
		http_reply_error(req, GANTRY_EINVAL, err.msg, NULL);
		return;
	}
	if (delivery == NULL || delivery[0] == '\0' || strlen(delivery) > 200) {
		SHA256((const unsigned char *)body, len, md);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		delivery = hex;
	}
	snprintf(labels, sizeof(labels), "source=\"%s\",kind=\"%s\"",
	    webhook_source_name(src), webhook_kind_name(ev.kind));
	(void)metrics_add(
	    ctx->d->metrics, "gantry_webhook_deliveries_total", labels, 1);
	http_req_ref(req);
	webhooks_handle(ctx->d, delivery, &ev, engine_replied, req);
	http_req_suspend(req, DB_REQUEST_DEADLINE_MS);
	webhook_event_clear(&ev);
}

static void
h_hook_github(struct api_ctx *ctx, struct http_req *req)
{
	webhook_receive(ctx, req, WEBHOOK_GITHUB);
}

static void
h_hook_gitlab(struct api_ctx *ctx, struct http_req *req)
{
	webhook_receive(ctx, req, WEBHOOK_GITLAB);
}

static void
h_hook_gerrit(struct api_ctx *ctx, struct http_req *req)
{
	webhook_receive(ctx, req, WEBHOOK_GERRIT);
}
