/*
 * holds.h - manual holds ("stop the line", SPEC.md section 2): a blocker
 * on every pipeline, a service, or one pipeline, put and lifted through
 * the API, stored in the holds table (sql/004) and audited in the same
 * statement.  The active ones are kept in memory for the scheduler.
 */
#ifndef GANTRYD_HOLDS_H
#define GANTRYD_HOLDS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct gantryd;
struct holds;

struct hold {
	int64_t id;
	char *scope; /* "all", "service", "pipeline" */
	char *name; /* the service or pipeline; NULL for all */
	char *reason;
	char *actor;
	int64_t created_at; /* ms */
	struct hold *next;
};

struct holds *holds_new(struct gantryd *d);
void holds_free(struct holds *h);

/* The database is up: load the active holds. */
void holds_db_ready(struct holds *h);

/* Call cb for every active hold that applies to pipeline of service. */
void holds_each(const struct holds *h, const char *service,
    const char *pipeline, void (*cb)(const struct hold *, void *), void *arg);

/* [{id, scope, name, reason, actor, created_at}] (new reference). */
json_t *holds_list_json(const struct holds *h);

/* Replies: (status, body) with body a new reference the callback takes. */
typedef void (*holds_reply_cb)(int status, json_t *body, void *arg);

/* Put a hold: 201 with it once stored and audited, then the engine
 * re-evaluates every waiting stage. */
void holds_put(struct holds *h, const char *scope, const char *name,
    const char *reason, const char *actor, holds_reply_cb cb, void *arg);

/* Lift hold id: 200 with it; 404 unknown; 409 already lifted. */
void holds_lift(struct holds *h, int64_t id, const char *reason,
    const char *actor, holds_reply_cb cb, void *arg);

#endif /* GANTRYD_HOLDS_H */
