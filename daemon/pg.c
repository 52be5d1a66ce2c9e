/*
 * pg.c - the asynchronous PostgreSQL connection (pg.h).
 *
 * States: IDLE -> CONNECTING -> SETUP (session settings) -> UP; any
 * failure -> BACKOFF -> CONNECTING.  Queries wait in a FIFO (queue) and
 * move to a second one (sent) when written to the server: up to
 * PG_PIPELINE_MAX extended-protocol items in libpq pipeline mode, each
 * followed by its own Sync, or one simple-protocol string alone with
 * pipeline mode off.  An item is a query or the PREPARE of a named
 * statement, queued just ahead of the statement's first use on the
 * connection.  Results come back in send order and complete the head of
 * sent.  When the connection is lost every query's callback runs with
 * res == NULL, after both lists were detached, so a callback may queue
 * again (it then fails fast with GANTRY_EUNAVAIL).
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "log.h"

/* configure.ac still accepts libpq 13, which has no pipeline mode. */
#ifndef LIBPQ_HAS_PIPELINING
#error "daemon/pg.c needs libpq >= 14 (pipeline mode)"
#endif

#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 10000
#define PG_DEADLINE_MARGIN_MS 5000
#define PG_PREP_MAX 32 /* named statements per connection */
/* Items in flight at once: bounds the memory libpq holds for one
 * connection and the work lost when it drops. */
#define PG_PIPELINE_MAX 64

enum pg_state { PG_IDLE, PG_BACKOFF, PG_CONNECTING, PG_SETUP, PG_UP };

struct pg_q {
	TAILQ_ENTRY(pg_q) link;
	char *sql;
	char **params;
	int nparams;
	int *lengths, *formats; /* NULL: all text */
	bool simple;
	bool pipelined; /* sent in pipeline mode: completes at its Sync */
	bool ended; /* pipelined: the NULL after its results was seen */
	bool setup; /* session setup: failure drops the connection */
	bool prepare; /* PREPARE of statement `stmt` (no callback) */
	int stmt; /* >= 0: the named statement gN this runs or prepares */
	pg_result_cb cb; /* NULL: nobody waits for the result */
	void *arg;
	PGresult *res; /* the latest result kept while draining */
};
TAILQ_HEAD(pg_qlist, pg_q);

struct pg {
	struct event_base *base;
	char *conninfo;
	char app_name[64]; /* fallback_application_name */
	int64_t connect_timeout_ms, statement_timeout_ms;
	pg_state_cb state_cb;
	void *state_arg;

	enum pg_state state;
	PGconn *conn;
	struct event *ev_sock; /* connect steps, then persistent read */
	struct event *ev_write; /* pending flush */
	struct event *ev_timer; /* connect timeout, backoff, deadline */
	int64_t backoff_ms;
	unsigned long reconnects;
	char last_error[256];
	struct pg_qlist queue; /* not sent yet */
	struct pg_qlist sent; /* in flight, oldest first */
	int inflight; /* length of sent */
	bool pipeline; /* the connection is in pipeline mode */
	/* Statements prepared on this connection, by the address of their
	 * static SQL text: prep[i] is named "gI".  Cleared on connect. */
	const char *prep[PG_PREP_MAX];
	int nprep;
};

static void pg_connect_step(evutil_socket_t fd, short what, void *arg);
static void pg_timer_cb(evutil_socket_t fd, short what, void *arg);
static void pg_send_more(struct pg *pg);

static void
set_error(struct pg *pg, const char *why)
{
	size_t n;

	snprintf(pg->last_error, sizeof(pg->last_error), "%s",
	    why ? why : "unknown error");
	/* libpq messages end with a newline: drop it for one-line logs. */
	n = strlen(pg->last_error);
	while (n > 0 &&
	    (pg->last_error[n - 1] == '\n' || pg->last_error[n - 1] == ' '))
		pg->last_error[--n] = '\0';
	for (char *p = pg->last_error; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

static void
timer_arm(struct pg *pg, int64_t ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(pg->ev_timer, &tv);
}

static void
q_free(struct pg_q *q)
{
	if (q == NULL)
		return;
	for (int i = 0; i < q->nparams; i++)
		free(q->params[i]);
	free(q->params);
	free(q->lengths);
	free(q->formats);
	free(q->sql);
	PQclear(q->res);
	free(q);
}

/* Detach both lists and fail every query on them, oldest first. */
static void
fail_all(struct pg *pg, const char *why)
{
	struct pg_qlist failed;
	struct pg_q *q;

	TAILQ_INIT(&failed);
	TAILQ_CONCAT(&failed, &pg->sent, link);
	TAILQ_CONCAT(&failed, &pg->queue, link);
	pg->inflight = 0;
	while ((q = TAILQ_FIRST(&failed)) != NULL) {
		TAILQ_REMOVE(&failed, q, link);
		if (q->cb != NULL)
			q->cb(NULL, why, q->arg);
		q_free(q);
	}
}

static void
close_conn(struct pg *pg)
{
	if (pg->ev_sock != NULL) {
		event_free(pg->ev_sock);
		pg->ev_sock = NULL;
	}
	event_del(pg->ev_write);
	evtimer_del(pg->ev_timer);
	if (pg->conn != NULL) {
		PQfinish(pg->conn);
		pg->conn = NULL;
	}
	pg->pipeline = false;
	/* a new session knows no prepared statement */
	memset(pg->prep, 0, sizeof(pg->prep));
	pg->nprep = 0;
}

/* The connection failed or was lost: fail the queue, back off, retry. */
static void
conn_lost(struct pg *pg, const char *why)
{
	bool was_up = pg->state == PG_UP;
	char msg[300];

	set_error(pg, why);
	close_conn(pg);
	pg->state = PG_BACKOFF;
	if (was_up) {
		log_warn("db.down", "error=%s",
		    log_quote(pg->last_error, msg, sizeof(msg)));
		pg->backoff_ms = PG_BACKOFF_MIN_MS;
	} else {
		log_warn("db.connect_failed", "retry_ms=%lld error=%s",
		    (long long)pg->backoff_ms,
		    log_quote(pg->last_error, msg, sizeof(msg)));
	}
	timer_arm(pg, pg->backoff_ms);
	pg->backoff_ms *= 2;
	if (pg->backoff_ms > PG_BACKOFF_MAX_MS)
		pg->backoff_ms = PG_BACKOFF_MAX_MS;
	snprintf(
	    msg, sizeof(msg), "database connection lost: %s", pg->last_error);
	fail_all(pg, msg);
	if (was_up && pg->state_cb != NULL)
		pg->state_cb(pg, false, pg->last_error, pg->state_arg);
}

/* Server notices (e.g. "relation already exists, skipping") go to the
 * log at debug level instead of libpq's default of stderr. */
static void
notice_cb(void *arg, const char *message)
{
	char q[600], line[512];
	size_t n;

	snprintf(line, sizeof(line), "%s", message);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("db.notice", "msg=%s", log_quote(line, q, sizeof(q)));
}

static void
conn_begin(struct pg *pg)
{
	static const char *const kw[] = {
	    "dbname", "fallback_application_name", NULL};
	const char *vals[] = {pg->conninfo, pg->app_name, NULL};

	pg->state = PG_CONNECTING;
	pg->reconnects++;
	pg->conn = PQconnectStartParams(kw, vals, 1);
	if (pg->conn == NULL) {
		conn_lost(pg, "out of memory");
		return;
	}
	PQsetNoticeProcessor(pg->conn, notice_cb, pg);
	/* A unix-socket connect can fail at once (PLATFORM.md 2.2). */
	if (PQstatus(pg->conn) == CONNECTION_BAD) {
		conn_lost(pg, PQerrorMessage(pg->conn));
		return;
	}
	timer_arm(pg, pg->connect_timeout_ms);
	pg_connect_step(-1, EV_WRITE, pg);
}

/* Wait for fd readiness as PQconnectPoll asked; the socket may change
 * between steps, so the event is made anew each time. */
static void
watch_connect(struct pg *pg, short what)
{
	int fd = PQsocket(pg->conn);

	if (pg->ev_sock != NULL)
		event_free(pg->ev_sock);
	pg->ev_sock = event_new(pg->base, fd, what, pg_connect_step, pg);
	if (pg->ev_sock == NULL || event_add(pg->ev_sock, NULL) < 0)
		conn_lost(pg, "cannot watch the database socket");
}

/*
 * The head of the in-flight list is complete: deliver its result.  Returns
 * false when the connection is gone (a callback reset it, or session setup
 * failed): the caller must stop touching the connection.
 */
static bool
complete(struct pg *pg, struct pg_q *q)
{
	TAILQ_REMOVE(&pg->sent, q, link);
	pg->inflight--;
	/* The next item's deadline runs from now, when the server starts on
	 * it (the one before it held the backend until now). */
	if (pg->inflight > 0)
		timer_arm(pg, pg->statement_timeout_ms + PG_DEADLINE_MARGIN_MS);
	else
		evtimer_del(pg->ev_timer);
	if (q->prepare) {
		if (q->res == NULL ||
		    PQresultStatus(q->res) != PGRES_COMMAND_OK) {
			char why[600];

			/* The queries sent behind it fail with "does not
			 * exist"; the next use prepares again (its PREPARE
			 * goes behind them in the FIFO). */
			pg->prep[q->stmt] = NULL;
			log_warn("db.prepare_failed", "error=%s",
			    log_quote(q->res ? PQresultErrorMessage(q->res)
			                     : "no result",
			        why, sizeof(why)));
		}
	} else if (q->cb != NULL) {
		const char *em = NULL;

		if (q->res == NULL)
			em = "query returned no result";
		else if (PQresultStatus(q->res) == PGRES_FATAL_ERROR)
			em = PQresultErrorMessage(q->res);
		q->cb(q->res, em, q->arg);
	} else if (q->setup &&
	    (q->res == NULL || PQresultStatus(q->res) != PGRES_COMMAND_OK)) {
		char why[300];

		snprintf(why, sizeof(why), "session setup failed: %s",
		    q->res ? PQresultErrorMessage(q->res) : "no result");
		q_free(q);
		conn_lost(pg, why);
		return false;
	} else if (q->res != NULL &&
	    PQresultStatus(q->res) == PGRES_FATAL_ERROR) {
		char why[600];

		log_warn("db.query_failed", "error=%s",
		    log_quote(PQresultErrorMessage(q->res), why, sizeof(why)));
	}
	q_free(q);
	if (pg->conn == NULL)
		return false; /* a callback reset the connection */
	if (pg->state == PG_SETUP) {
		pg->state = PG_UP;
		pg->backoff_ms = PG_BACKOFF_MIN_MS;
		log_info("db.up", "reconnects=%lu", pg->reconnects - 1);
		if (pg->state_cb != NULL)
			pg->state_cb(pg, true, NULL, pg->state_arg);
		if (pg->conn == NULL)
			return false;
	}
	return true;
}

/*
 * Results arrive in the order the items were sent.  In pipeline mode an
 * item (query or PREPARE) yields its result, a NULL, then the
 * PGRES_PIPELINE_SYNC of its own Sync (no NULL after that); it completes
 * at its Sync.  Outside pipeline mode (a simple-protocol string) it
 * completes at the NULL.  A NULL while the head has no result yet means
 * nothing is ready: libpq reports an idle pipeline that way.  Everything
 * libpq has already read is drained here, since no new read event fires
 * for buffered results.
 */
static void
pg_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *pg = arg;
	struct pg_q *q;
	PGnotify *n;

	if (PQconsumeInput(pg->conn) == 0) {
		conn_lost(pg, PQerrorMessage(pg->conn));
		return;
	}
	while (!PQisBusy(pg->conn)) {
		PGresult *r;

		/* libpq dropped the socket while parsing (PQisBusy is then
		 * false for good): never spin on it. */
		if (PQstatus(pg->conn) == CONNECTION_BAD) {
			conn_lost(pg, PQerrorMessage(pg->conn));
			return;
		}
		r = PQgetResult(pg->conn);
		q = TAILQ_FIRST(&pg->sent);
		if (r == NULL) {
			if (q == NULL)
				break; /* idle: a notice or a notification */
			if (q->pipelined) {
				if (q->res == NULL || q->ended)
					break; /* nothing ready yet */
				q->ended = true; /* its Sync comes next */
				continue;
			}
			if (!complete(pg, q))
				return;
			continue;
		}
		switch (PQresultStatus(r)) {
		case PGRES_PIPELINE_SYNC:
			PQclear(r);
			if (q == NULL || !q->pipelined) {
				conn_lost(pg, "unexpected pipeline sync");
				return;
			}
			if (!complete(pg, q))
				return;
			continue;
		case PGRES_PIPELINE_ABORTED:
			/* Every item has its own Sync, so an error cannot
			 * abort another one: we are out of step. */
			PQclear(r);
			conn_lost(pg, "pipeline aborted (out of step)");
			return;
		default:
			break;
		}
		if (q == NULL) {
			PQclear(r); /* not ours: nothing is in flight */
			continue;
		}
		/* Keep the first error, else the last result. */
		if (q->res != NULL &&
		    PQresultStatus(q->res) == PGRES_FATAL_ERROR) {
			PQclear(r);
		} else {
			PQclear(q->res);
			q->res = r;
		}
	}
	/* Drop notifications for now: nothing LISTENs yet. */
	while ((n = PQnotifies(pg->conn)) != NULL)
		PQfreemem(n);
	/* A simple-protocol query may have waited for the pipeline to drain,
	 * or a full pipeline made room. */
	pg_send_more(pg);
}

static void
pg_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *pg = arg;
	int rc = PQflush(pg->conn);

	if (rc < 0)
		conn_lost(pg, PQerrorMessage(pg->conn));
	else if (rc == 1)
		event_add(pg->ev_write, NULL);
}

static void
pg_connect_step(evutil_socket_t fd, short what, void *arg)
{
	struct pg *pg = arg;
	struct pg_q *setup;
	char sql[96];

	switch (PQconnectPoll(pg->conn)) {
	case PGRES_POLLING_READING:
		watch_connect(pg, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		watch_connect(pg, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		conn_lost(pg, PQerrorMessage(pg->conn));
		return;
	}
	evtimer_del(pg->ev_timer);
	if (PQsetnonblocking(pg->conn, 1) != 0) {
		conn_lost(pg, PQerrorMessage(pg->conn));
		return;
	}
	event_free(pg->ev_sock);
	pg->ev_sock = event_new(
	    pg->base, PQsocket(pg->conn), EV_READ | EV_PERSIST, pg_read_cb, pg);
	event_assign(pg->ev_write, pg->base, PQsocket(pg->conn), EV_WRITE,
	    pg_write_cb, pg);
	if (pg->ev_sock == NULL || event_add(pg->ev_sock, NULL) < 0) {
		conn_lost(pg, "cannot watch the database socket");
		return;
	}
	/* Session settings go first, ahead of anything queued. */
	setup = calloc(1, sizeof(*setup));
	snprintf(sql, sizeof(sql), "SET statement_timeout = %lld",
	    (long long)pg->statement_timeout_ms);
	if (setup == NULL || (setup->sql = strdup(sql)) == NULL) {
		free(setup);
		conn_lost(pg, "out of memory");
		return;
	}
	setup->simple = true;
	setup->setup = true;
	setup->stmt = -1;
	TAILQ_INSERT_HEAD(&pg->queue, setup, link);
	pg->state = PG_SETUP;
	pg_send_more(pg);
}

/* Write one extended-protocol item into the pipeline, with its own Sync:
 * it is then its own implicit transaction and its failure aborts no other
 * item.  Returns libpq's 1 (ok) or 0. */
static int
send_pipelined(struct pg *pg, struct pg_q *q)
{
	char name[16] = "";
	int ok;

	if (q->stmt >= 0)
		snprintf(name, sizeof(name), "g%d", q->stmt);
	if (q->prepare)
		ok = PQsendPrepare(pg->conn, name, q->sql, 0, NULL);
	else if (q->stmt >= 0)
		ok = PQsendQueryPrepared(pg->conn, name, q->nparams,
		    (const char *const *)q->params, q->lengths, q->formats, 0);
	else
		ok = PQsendQueryParams(pg->conn, q->sql, q->nparams, NULL,
		    (const char *const *)q->params, q->lengths, q->formats, 0);
	/* libpq 15's PQpipelineSync also flushes what it can. */
	return ok && PQpipelineSync(pg->conn);
}

/*
 * Send queued items, in FIFO order, while the pipeline has room.  A
 * simple-protocol string (several statements) is not allowed in pipeline
 * mode: it waits until nothing is in flight, runs with pipeline mode off
 * and alone; the items behind it wait for it.
 */
static void
pg_send_more(struct pg *pg)
{
	struct pg_q *q;
	bool sent = false;
	int ok, rc;

	while (pg->conn != NULL && (q = TAILQ_FIRST(&pg->queue)) != NULL) {
		if (q->simple) {
			if (pg->inflight > 0)
				break;
			if (pg->pipeline) {
				if (PQexitPipelineMode(pg->conn) != 1) {
					conn_lost(pg, PQerrorMessage(pg->conn));
					return;
				}
				pg->pipeline = false;
			}
			ok = PQsendQuery(pg->conn, q->sql);
		} else {
			if (!pg->pipeline) {
				if (pg->inflight > 0)
					break; /* a simple-protocol query runs */
				if (PQenterPipelineMode(pg->conn) != 1) {
					conn_lost(pg, PQerrorMessage(pg->conn));
					return;
				}
				pg->pipeline = true;
			}
			if (pg->inflight >= PG_PIPELINE_MAX)
				break;
			q->pipelined = true;
			ok = send_pipelined(pg, q);
		}
		if (!ok) {
			conn_lost(pg, PQerrorMessage(pg->conn));
			return;
		}
		TAILQ_REMOVE(&pg->queue, q, link);
		TAILQ_INSERT_TAIL(&pg->sent, q, link);
		if (pg->inflight++ == 0)
			timer_arm(pg,
			    pg->statement_timeout_ms + PG_DEADLINE_MARGIN_MS);
		sent = true;
	}
	if (!sent)
		return;
	rc = PQflush(pg->conn);
	if (rc < 0)
		conn_lost(pg, PQerrorMessage(pg->conn));
	else if (rc == 1)
		event_add(pg->ev_write, NULL);
}

static void
pg_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *pg = arg;

	switch (pg->state) {
	case PG_BACKOFF:
		conn_begin(pg);
		break;
	case PG_CONNECTING:
		conn_lost(pg, "connect timed out");
		break;
	case PG_SETUP:
	case PG_UP:
		conn_lost(pg, "query timed out (no answer from the server)");
		break;
	case PG_IDLE:
		break;
	}
}

struct pg *
pg_new(struct event_base *base, const char *conninfo,
    int64_t connect_timeout_ms, int64_t statement_timeout_ms,
    pg_state_cb state_cb, void *arg)
{
	struct pg *pg = calloc(1, sizeof(*pg));

	if (pg == NULL)
		return NULL;
	pg->base = base;
	pg->conninfo = strdup(conninfo);
	snprintf(pg->app_name, sizeof(pg->app_name), "gantryd");
	pg->connect_timeout_ms = connect_timeout_ms;
	pg->statement_timeout_ms = statement_timeout_ms;
	pg->state_cb = state_cb;
	pg->state_arg = arg;
	pg->backoff_ms = PG_BACKOFF_MIN_MS;
	pg->ev_timer = evtimer_new(base, pg_timer_cb, pg);
	pg->ev_write = event_new(base, -1, 0, NULL, NULL);
	TAILQ_INIT(&pg->queue);
	TAILQ_INIT(&pg->sent);
	snprintf(pg->last_error, sizeof(pg->last_error), "not connected yet");
	if (pg->conninfo == NULL || pg->ev_timer == NULL ||
	    pg->ev_write == NULL) {
		pg_free(pg);
		return NULL;
	}
	return pg;
}

void
pg_start(struct pg *pg)
{
	if (pg->state == PG_IDLE)
		conn_begin(pg);
}

void
pg_set_app_name(struct pg *pg, const char *name)
{
	snprintf(pg->app_name, sizeof(pg->app_name), "%s", name);
}

void
pg_free(struct pg *pg)
{
	if (pg == NULL)
		return;
	pg->state_cb = NULL;
	close_conn(pg);
	fail_all(pg, "gantryd is shutting down");
	if (pg->ev_timer != NULL)
		event_free(pg->ev_timer);
	if (pg->ev_write != NULL)
		event_free(pg->ev_write);
	free(pg->conninfo);
	free(pg);
}

/* The name index of sql's prepared statement on this connection, queueing
 * its PREPARE first if it has none yet; -1 when the table is full (the
 * query then goes unnamed). */
static int
stmt_of(struct pg *pg, const char *sql)
{
	struct pg_q *q;
	int i;

	for (i = 0; i < pg->nprep; i++)
		if (pg->prep[i] == sql)
			return i;
	for (i = 0; i < PG_PREP_MAX && pg->prep[i] != NULL; i++)
		;
	if (i == PG_PREP_MAX || (q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	if ((q->sql = strdup(sql)) == NULL) {
		free(q);
		return -1;
	}
	q->prepare = true;
	q->stmt = i;
	pg->prep[i] = sql;
	if (i >= pg->nprep)
		pg->nprep = i + 1;
	TAILQ_INSERT_TAIL(&pg->queue, q, link);
	return i;
}

static int
enqueue(struct pg *pg, const char *sql, bool simple, bool named, int nparams,
    const char *const *params, const int *lengths, const int *formats,
    pg_result_cb cb, void *arg)
{
	struct pg_q *q;

	if (pg->state != PG_UP)
		return -1;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -1;
	q->stmt = -1;
	q->sql = strdup(sql);
	q->simple = simple;
	q->cb = cb;
	q->arg = arg;
	if (nparams > 0) {
		q->params = calloc((size_t)nparams, sizeof(char *));
		if (q->params == NULL) {
			q_free(q);
			return -1;
		}
		q->nparams = nparams;
		if (formats != NULL) {
			q->lengths = calloc((size_t)nparams, sizeof(int));
			q->formats = calloc((size_t)nparams, sizeof(int));
			if (q->lengths == NULL || q->formats == NULL) {
				q_free(q);
				return -1;
			}
		}
		for (int i = 0; i < nparams; i++) {
			bool bin = formats != NULL && formats[i] == 1;

			if (params[i] == NULL)
				continue;
			if (bin) {
				size_t n = (size_t)lengths[i];

				q->formats[i] = 1;
				q->lengths[i] = lengths[i];
				q->params[i] = malloc(n > 0 ? n : 1);
				if (q->params[i] != NULL)
					memcpy(q->params[i], params[i], n);
			} else
				q->params[i] = strdup(params[i]);
			if (q->params[i] == NULL) {
				q_free(q);
				return -1;
			}
		}
	}
	if (q->sql == NULL) {
		q_free(q);
		return -1;
	}
	if (named)
		q->stmt = stmt_of(pg, sql);
	TAILQ_INSERT_TAIL(&pg->queue, q, link);
	pg_send_more(pg);
	return 0;
}

int
pg_query(struct pg *pg, const char *sql, int nparams, const char *const *params,
    pg_result_cb cb, void *arg)
{
	return enqueue(
	    pg, sql, false, false, nparams, params, NULL, NULL, cb, arg);
}

int
pg_query_prepared(struct pg *pg, const char *sql, int nparams,
    const char *const *params, pg_result_cb cb, void *arg)
{
	return enqueue(
	    pg, sql, false, true, nparams, params, NULL, NULL, cb, arg);
}

int
pg_query_prepared_bin(struct pg *pg, const char *sql, int nparams,
    const char *const *params, const int *lengths, const int *formats,
    pg_result_cb cb, void *arg)
{
	return enqueue(
	    pg, sql, false, true, nparams, params, lengths, formats, cb, arg);
}

int
pg_query_simple(struct pg *pg, const char *sql, pg_result_cb cb, void *arg)
{
	return enqueue(pg, sql, true, false, 0, NULL, NULL, NULL, cb, arg);
}

bool
pg_is_up(const struct pg *pg)
{
	return pg->state == PG_UP;
}

const char *
pg_last_error(const struct pg *pg)
{
	return pg->last_error;
}

unsigned long
pg_reconnects(const struct pg *pg)
{
	return pg->reconnects > 0 ? pg->reconnects - 1 : 0;
}

void
pg_reset(struct pg *pg, const char *why)
{
	if (pg->state == PG_UP || pg->state == PG_SETUP ||
	    pg->state == PG_CONNECTING)
		conn_lost(pg, why);
}
