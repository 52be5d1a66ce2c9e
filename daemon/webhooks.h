/*
 * webhooks.h - what gantryd does with a verified, parsed code review
 * webhook delivery (lib/webhook.h; the HTTP side, signature and token
 * checks are in api.c):
 *
 *   push              trigger every pipeline whose source.repository and
 *                     source.branch it lands on (each independently, with
 *                     the Idempotency-Key "webhook:SOURCE:DELIVERY");
 *   approved          record the approval (table approvals) for the review
 *   approval_removed  gate, or its dismissal; blocked executions are
 *                     re-checked;
 *   merged            record which change the landed commit merged
 *                     (table review_merges), so approvals of the change
 *                     count for the commit;
 *   ignored           nothing.
 *
 * Each delivery is processed once: a delivery id already recorded in
 * webhook_deliveries is answered 200 with what was done the first time,
 * and nothing runs again.  The delivery row is written after the work
 * succeeded, so a delivery that failed half-way (database down) is done
 * again when the sender retries; triggers are idempotent by key.
 */
#ifndef GANTRYD_WEBHOOKS_H
#define GANTRYD_WEBHOOKS_H

#include <jansson.h>

#include "webhook.h"

struct gantryd;

/* Replies (status, body): 202 processed, 200 a duplicate, 503 database
 * down; body is a new reference the callback takes. */
typedef void (*webhooks_reply_cb)(int status, json_t *body, void *arg);

/* Handle ev (borrowed, copied as needed) of delivery id. */
void webhooks_handle(struct gantryd *d, const char *delivery,
    const struct webhook_event *ev, webhooks_reply_cb cb, void *arg);

#endif /* GANTRYD_WEBHOOKS_H */
