/*
 * httpc.h - outgoing HTTP(S) on the daemon's libevent loop, for
 * Prometheus instant queries and notification webhooks.  Built on
 * libevent's evhttp client with an evdns base (names resolve without
 * blocking) and libevent_openssl for https:// (system trust store or a
 * given CA file, SNI, hostname or IP verification).  One connection per
 * attempt, closed afterwards; a whole-attempt deadline; retries with
 * backoff on connection errors, timeouts, 5xx and 429.
 */
#ifndef GANTRYD_HTTPC_H
#define GANTRYD_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "error.h"

struct httpc; /* one per daemon: event base, DNS base, TLS context */
struct httpc_call; /* one request in flight, retries included */

/* Create the client on base (borrowed until httpc_free()).  ca_file: a
 * PEM file of trusted CA certificates used instead of the system trust
 * store; NULL for the system store.  Returns NULL with err filled when
 * the DNS base or TLS context cannot be set up (a bad ca_file). */
struct httpc *httpc_new(
    struct event_base *base, const char *ca_file, struct gantry_error *err);

/* Cancel everything in flight: each call's callback runs first, from
 * inside httpc_free(), with status 0 and an error; then the client is
 * freed.  A callback may cancel other calls but may not start new ones
 * (httpc_request() fails while the client is being freed).  NULL is a
 * no-op. */
void httpc_free(struct httpc *c);

/* What a call ended with; borrowed for the callback only (copy what you
 * keep).  On a response (any status, after the last attempt): status and
 * body, error NULL.  Otherwise status 0, body NULL and error says why
 * ("connect to prom:9090: Connection refused", "timed out after 5000
 * ms", "response body over 1048576 bytes", TLS verification failures). */
struct httpc_response {
	int status; /* HTTP status; 0 when there was no (usable) response */
	const char *body; /* NUL-terminated for convenience; may hold NULs */
	size_t len;
	const char *error; /* NULL on a response */
	int attempts; /* attempts made, >= 1 */
};

typedef void (*httpc_cb)(const struct httpc_response *r, void *arg);

#define HTTPC_DEFAULT_TIMEOUT_MS 10000
#define HTTPC_DEFAULT_MAX_BODY (1024 * 1024)
#define HTTPC_MAX_ATTEMPTS 20
#define HTTPC_BACKOFF_FIRST_MS 500
#define HTTPC_BACKOFF_CAP_MS 30000

/* A request; everything is copied by httpc_request(). */
struct httpc_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" or "HEAD" */
	const char *url; /* http:// or https://, with port, path, query */
	const char *content_type; /* NULL: none sent */
	const char *body; /* may be NULL when len is 0 */
	size_t len;
	const char *const
	    *headers; /* "Name: value", NULL-terminated, or NULL */
	int64_t timeout_ms; /* per attempt, from connect to the last body
			       byte; 0: HTTPC_DEFAULT_TIMEOUT_MS */
	size_t max_body; /* larger responses fail; 0: HTTPC_DEFAULT_MAX_BODY */
	int attempts; /* 1 (or 0) = no retry; up to HTTPC_MAX_ATTEMPTS.
			 Retried: connection and TLS errors, timeouts, 5xx
			 and 429, after HTTPC_BACKOFF_FIRST_MS doubling up to
			 HTTPC_BACKOFF_CAP_MS.  Not retried: other statuses,
			 an oversized or malformed response. */
};

/* Start a request.  cb runs exactly once, later, from the loop (never
 * from inside httpc_request()), unless the call is cancelled first.
 * Returns a handle for httpc_cancel(), valid until cb starts; or NULL
 * with err filled (GANTRY_EINVAL for a bad URL, method or header;
 * GANTRY_ENOMEM) and then cb never runs. */
struct httpc_call *httpc_request(struct httpc *c,
    const struct httpc_request *req, httpc_cb cb, void *arg,
    struct gantry_error *err);

/* Cancel a call: its connection is closed and cb never runs.  Calling it
 * from the call's own callback is a harmless no-op; after the callback
 * returned the handle is gone and must not be used. */
void httpc_cancel(struct httpc_call *call);

#endif /* GANTRYD_HTTPC_H */
