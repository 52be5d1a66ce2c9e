/*
 * pg.h - one asynchronous PostgreSQL connection owned by the loop.
 *
 * Non-blocking connect (PQconnectStartParams + PQconnectPoll, with our own
 * connect timer since libpq ignores connect_timeout there), queries sent
 * one at a time from a FIFO with a client-side deadline, automatic
 * reconnect with exponential backoff (100 ms doubling to 10 s).  No call
 * here ever blocks the loop.
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
 * such statements per connection (more go unnamed). */
int pg_query_prepared(struct pg *pg, const char *sql, int nparams,
    const char *const *params, pg_result_cb cb, void *arg) MUSTCHECK;
int pg_query_simple(
    struct pg *pg, const char *sql, pg_result_cb cb, void *arg) MUSTCHECK;

bool pg_is_up(const struct pg *pg);
const char *pg_last_error(const struct pg *pg);
unsigned long pg_reconnects(const struct pg *pg);

/* Drop the connection now and reconnect after the backoff: used when the
 * caller sees a result that means the session is unusable. */
void pg_reset(struct pg *pg, const char *why);

#endif /* GANTRYD_PG_H */
