/*
 * http.h - libmicrohttpd driven from the libevent loop (one thread).
 *
 * MHD runs in external-epoll mode: its epoll fd is a persistent libevent
 * read event, MHD_get_timeout() is honoured after every MHD_run(), and a
 * "kick" event runs MHD after any resume (MHD 0.9.75 does not wake the
 * loop by itself: PLATFORM.md 1).  A request can be answered later from
 * any loop callback: suspended requests carry their own deadline, and are
 * counted so a drain can wait for them.
 */
#ifndef GANTRYD_HTTP_H
#define GANTRYD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "diag.h"
#include "error.h"

struct http_server;
struct http_req;

struct http_hooks {
	/* Headers are in: route, authenticate, check type and length.  May
	 * reply (an error); otherwise the body is read next. */
	void (*on_headers)(struct http_req *req, void *arg);
	/* The body is complete: handle.  Must reply now or suspend. */
	void (*on_request)(struct http_req *req, void *arg);
	/* The exchange is over (sent, or the connection closed). */
	void (*on_complete)(struct http_req *req, void *arg);
	void *arg;
};

/* Serve on listen_fd (takes ownership).  NULL with err on failure. */
struct http_server *http_server_new(struct event_base *base, int listen_fd,
    unsigned max_connections, const struct http_hooks *hooks,
    struct gantry_error *err);
/* Stop accepting new connections; in-flight requests go on. */
void http_server_quiesce(struct http_server *s);
/* Requests begun and not complete yet. */
unsigned http_server_inflight(const struct http_server *s);
/* Answer every suspended request with 503 now (before a hard stop). */
void http_server_abort_suspended(struct http_server *s, const char *why);
/* Stop MHD and free; aborts suspended requests first. */
void http_server_free(struct http_server *s);
void http_server_set_max_body(struct http_server *s, size_t max_body);

/* Create a listening TCP socket; -1 with err. */
int http_listen_socket(const char *host, int port, int *bound_port,
    struct gantry_error *err) MUSTCHECK;

/* Request accessors; strings are borrowed until on_complete. */
const char *http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req);
const char *http_req_header(const struct http_req *req, const char *name);
const char *http_req_query(const struct http_req *req, const char *name);
const char *http_req_body(const struct http_req *req, size_t *len);
int64_t http_req_content_length(const struct http_req *req); /* -1 none */
size_t http_req_max_body(const struct http_req *req);
double http_req_elapsed(const struct http_req *req); /* seconds */
int http_req_status(const struct http_req *req); /* 0 until replied */
bool http_req_replied(const struct http_req *req);
void http_req_set_data(struct http_req *req, void *data);
void *http_req_data(const struct http_req *req);

/*
 * Replies.  Each takes ownership of what it is given and is ignored (what
 * it was given is freed) when the request was already answered or its
 * connection has gone.  The JSON variants serialise compactly.
 */
void http_reply_json(struct http_req *req, int status, json_t *body);
void http_reply_buf(
    struct http_req *req, int status, const char *ctype, char *buf, size_t len);
void http_reply_static(struct http_req *req, int status, const char *ctype,
    const char *buf, size_t len);
void http_reply_error(struct http_req *req, enum gantry_err code,
    const char *message, const struct diag *details);

/*
 * Keep the request open after on_request returns: it is answered later by
 * a reply from a loop callback, or with 503 when deadline_ms passes.
 * Callers that pass req to a callback take a reference first.
 */
void http_req_suspend(struct http_req *req, int64_t deadline_ms);
void http_req_ref(struct http_req *req);
void http_req_unref(struct http_req *req);

/*
 * Streaming responses (server-sent events).  http_stream_start() answers
 * with status and a body of unknown length (inside on_request, instead
 * of a reply); http_stream_write() appends bytes (copied; at most
 * HTTP_STREAM_MAX waiting, beyond which the client is dropped) and
 * wakes the connection; http_stream_end() finishes the body.  The stream
 * lives until http_stream_end() or the client goes (on_complete).
 */
#define HTTP_STREAM_MAX (8 * 1024 * 1024)
int http_stream_start(
    struct http_req *req, int status, const char *ctype) MUSTCHECK;
int http_stream_write(struct http_req *req, const char *buf, size_t len);
void http_stream_end(struct http_req *req);
bool http_stream_open(const struct http_req *req);

#endif /* GANTRYD_HTTP_H */
