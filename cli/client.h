/*
 * client.h - gantryctl's HTTP client for the gantryd REST API (libcurl):
 * one request with a JSON body and a capped response, or a Server-Sent
 * Events stream parsed by lib/sse.h.  The client knows nothing of the
 * API's paths or documents; cmd_exec.c does.
 */
#ifndef GANTRY_CLIENT_H
#define GANTRY_CLIENT_H

#include <stddef.h>

#include "error.h"
#include "sse.h"

/* Timeouts: connecting, and a whole request (streams have none). */
#define CLIENT_CONNECT_TIMEOUT_MS 5000L
#define CLIENT_REQUEST_TIMEOUT_MS 30000L
/* Cap on a response body; bigger ones fail the request. */
#define CLIENT_MAX_RESPONSE (64u * 1024 * 1024)
/* Cap on one event of a stream (a tree with thousands of targets). */
#define CLIENT_MAX_EVENT (16u * 1024 * 1024)

struct client {
	char *server; /* base URL, no trailing '/' (owned) */
	char *token; /* bearer token; NULL: none (owned) */
	long connect_timeout_ms;
	long request_timeout_ms;
	void *curl; /* the CURL easy handle, reused for keep-alive */
};

/* Called about once a second while a stream is open (and idle); return
 * non-zero to close the stream. */
typedef int (*client_tick_cb)(void *arg);

/*
 * A client of the server at server (http:// or https://, a trailing '/'
 * dropped) with token (NULL or "": no Authorization header); both are
 * copied.  NULL with err set when server is not an http(s) URL or on
 * failure.  Caller frees with client_free().
 */
struct client *client_new(
    const char *server, const char *token, char *err, size_t errlen) MUSTCHECK;

/* Free c; NULL is a no-op. */
void client_free(struct client *c);

/*
 * Send method path (path starts with '/', already escaped) with body
 * (len bytes, borrowed; NULL for none) of type ctype, and Idempotency-Key
 * idem_key when not NULL.  On return 0 the server answered: *status is
 * the HTTP status and *resp a NUL-terminated copy of the body of
 * *resp_len bytes (caller frees), whatever the status.  On -1 there was
 * no answer (cannot connect, timeout, body over CLIENT_MAX_RESPONSE, out
 * of memory): err says why, naming the server, and *resp is NULL.
 */
int client_request(struct client *c, const char *method, const char *path,
    const char *ctype, const char *body, size_t len, const char *idem_key,
    long *status, char **resp, size_t *resp_len, char *err,
    size_t errlen) MUSTCHECK;

/*
 * GET path as an event stream (Accept: text/event-stream), sending
 * Last-Event-ID: last_event_id when not NULL or "", and call cb(ev, arg)
 * per event (a non-zero return closes the stream) and tick(arg) about
 * once a second (NULL: none).  No timeout but the connect one; TCP
 * keep-alives find a dead peer.
 *
 * Returns 0 when the exchange ended cleanly: with *status 200 the server
 * closed the stream or a callback closed it; with another status, *resp
 * holds the error body (caller frees).  Returns -1 with err set when there
 * was no answer (*status 0) or the stream broke (*status 200): worth a
 * reconnect with the last ID.  Returns -2 with err set when reconnecting
 * will not help: a 2xx that is not text/event-stream, an event over
 * CLIENT_MAX_EVENT, out of memory.
 */
int client_stream(struct client *c, const char *path, const char *last_event_id,
    sse_event_cb cb, void *arg, client_tick_cb tick, long *status, char **resp,
    size_t *resp_len, char *err, size_t errlen) MUSTCHECK;

/* s percent-encoded as one path segment (all but A-Z a-z 0-9 - . _ ~),
 * or NULL when out of memory; caller frees. */
char *client_escape(const char *s) MUSTCHECK;

#endif /* GANTRY_CLIENT_H */
