/*
 * pg.h - one asynchronous PostgreSQL connection owned by the loop.
 *
 * Non-blocking connect (PQconnectStartParams + PQconnectPoll, with our own
 * connect timer since libpq ignores connect_timeout there), automatic
 * reconnect with exponential backoff (100 ms doubling to 10 s).  No call
 * here ever blocks the loop.
 *
 * Queries run in the order they were queued and their callbacks run in
 * that same order, exactly once each.  Extended-protocol queries
 * (pg_query, pg_query_prepared, and the PREPARE the latter queues ahead of
 * a statement's first use on a connection) are pipelined (libpq pipeline
 * mode): up to 64 are in flight at once, each followed by its own Sync, so
 * each is still its own implicit transaction and one failing affects no
 * other.  A simple-protocol string (pg_query_simple) waits until nothing
 * is in flight, runs alone with pipeline mode off, and the queries queued
 * behind it wait until it is done.
 *
 * Each query in flight has a client-side deadline (statement_timeout plus
 * a margin) counted from when the server starts on it, i.e. when the query
 * before it completed.  When it passes, the connection is reset: every
 * query in flight or queued then gets res == NULL and an errmsg.
 */
#ifndef GANTRYD_PG_H
#define GANTRYD_PG_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "error.h"

struct pg;

/*
 * Called once per query.  res is the query's last result (borrowed: freed
 * after the callback returns) or NULL when the connection failed or the
 * deadline passed; errmsg then says why.  For a query that failed in the
 * server, res has status PGRES_FATAL_ERROR and errmsg is its message.
 */
typedef void (*pg_result_cb)(PGresult *res, const char *errmsg, void *arg);

/* Connection state changes: up == true once connected and set up. */
typedef void (*pg_state_cb)(struct pg *pg, bool up, const char *why, void *arg);

/* A connection for conninfo (copied).  Does not connect until
 * pg_start().  Caller frees with pg_free(). */
struct pg *pg_new(struct event_base *base, const char *conninfo,
    int64_t connect_timeout_ms, int64_t statement_timeout_ms,
    pg_state_cb state_cb, void *arg);
void pg_start(struct pg *pg);

/* Close the connection, fail every queued query (callbacks run), free. */
void pg_free(struct pg *pg);

/*
 * Queue a query with text parameters (copied; NULL entries are SQL NULL)
 * on the extended protocol, or with simple == true a string of several
 * statements on the simple protocol (nparams must be 0).  Fails with
 * GANTRY_EUNAVAIL when not connected: callers answer 503 or retry later.
 */
int pg_query(struct pg *pg, const char *sql, int nparams,
    const char *const *params, pg_result_cb cb, void *arg) MUSTCHECK;
/* The same, as a statement prepared once per connection (parsed and
 * planned once, not per call): for the hot statements.  sql must have
 * static storage duration, its address names the statement; at most 32
 * such statements per connection (more go unnamed).  When the PREPARE
 * fails (bad SQL), the queries already queued on it fail in the server
 * ("prepared statement ... does not exist") and the first call after the
 * failure was seen prepares again. */
int pg_query_prepared(struct pg *pg, const char *sql, int nparams,
    const char *const *params, pg_result_cb cb, void *arg) MUSTCHECK;
/* pg_query_prepared() with binary parameters: formats[i] == 1 sends
 * params[i] as lengths[i] bytes in its type's binary format (they may hold
 * NULs; the SQL must name the type, $1::bigint[]), 0 as text (lengths[i]
 * unused). */
int pg_query_prepared_bin(struct pg *pg, const char *sql, int nparams,
    const char *const *params, const int *lengths, const int *formats,
    pg_result_cb cb, void *arg) MUSTCHECK;
int pg_query_simple(
    struct pg *pg, const char *sql, pg_result_cb cb, void *arg) MUSTCHECK;

/* The application_name the server shows for the connection unless the
 * conninfo names one (default "gantryd"); set before pg_start(), or it
 * applies from the next reconnect. */
void pg_set_app_name(struct pg *pg, const char *name);

bool pg_is_up(const struct pg *pg);
const char *pg_last_error(const struct pg *pg);
unsigned long pg_reconnects(const struct pg *pg);

/* Drop the connection now and reconnect after the backoff: used when the
 * caller sees a result that means the session is unusable. */
void pg_reset(struct pg *pg, const char *why);

#endif /* GANTRYD_PG_H */
