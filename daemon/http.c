/*
 * http.c - libmicrohttpd inside the libevent loop (http.h).
 *
 * Request life: MHD's first access-handler call creates a struct http_req
 * (one reference, MHD's) and runs hooks.on_headers; body calls append to a
 * capped buffer; the final call runs hooks.on_request, which replies at
 * once or suspends.  A reply to a suspended request queues the response,
 * resumes the connection and activates the kick event so MHD_run() sends
 * it.  MHD's completion callback runs hooks.on_complete and drops MHD's
 * reference; the struct lives on while a pending callback holds another.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "apierr.h"
#include "buf.h"
#include "log.h"

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn; /* NULL once complete */
	unsigned refs;
	const char *method, *path; /* MHD's, valid until complete */
	struct timespec start;
	struct buf body; /* capped at max_body; toobig when passed */
	bool headers_done;
	bool suspended;
	bool replied;
	bool counted;
	int status;
	struct MHD_Response *pending; /* reply made inside a handler call */
	struct event *deadline;
	void *data;
	TAILQ_ENTRY(http_req) susp_link;
	/* streaming responses (SSE) */
	bool streaming;
	bool parked; /* suspended by the reader: no data yet */
	bool stream_end; /* no more data will come */
	struct buf sbuf; /* data not yet taken by MHD */
	TAILQ_ENTRY(http_req) stream_link;
};
TAILQ_HEAD(http_reqlist, http_req);

struct http_server {
	struct event_base *base;
	struct MHD_Daemon *mhd;
	int listen_fd;
	struct event *ev_epoll, *ev_timeout, *ev_kick;
	struct http_hooks hooks;
	size_t max_body;
	unsigned inflight;
	struct http_reqlist suspended;
	struct http_reqlist streams;
	bool quiesced;
};

static void run_mhd(evutil_socket_t fd, short what, void *arg);

static void
rearm(struct http_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(s->mhd, &ms) == MHD_YES) {
		struct timeval tv = {
		    (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

		evtimer_add(s->ev_timeout, &tv);
	} else {
		evtimer_del(s->ev_timeout);
	}
}

static void
run_mhd(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;

	MHD_run(s->mhd);
	rearm(s);
}

static void
kick(struct http_server *s)
{
	event_active(s->ev_kick, EV_TIMEOUT, 0);
}

void
http_req_ref(struct http_req *req)
{
	req->refs++;
}

void
http_req_unref(struct http_req *req)
{
	if (req == NULL || --req->refs > 0)
		return;
	if (req->deadline != NULL)
		event_free(req->deadline);
	if (req->pending != NULL)
		MHD_destroy_response(req->pending);
	buf_free(&req->body);
	buf_free(&req->sbuf);
	free(req);
}

/* Hand resp to MHD now (inside a handler call) or resume (suspended). */
static void
deliver(struct http_req *req, int status, struct MHD_Response *resp)
{
	struct http_server *s = req->srv;

	if (req->replied || req->conn == NULL) {
		MHD_destroy_response(resp);
		return;
	}
	req->replied = true;
	req->status = status;
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (!req->suspended) {
		/* Queued by the access handler when it returns. */
		req->pending = resp;
		return;
	}
	TAILQ_REMOVE(&s->suspended, req, susp_link);
	req->suspended = false;
	evtimer_del(req->deadline);
	if (MHD_queue_response(req->conn, (unsigned)status, resp) != MHD_YES)
		log_warn("http.queue_failed", "status=%d", status);
	MHD_destroy_response(resp);
	MHD_resume_connection(req->conn);
	kick(s);
}

void
http_reply_buf(
    struct http_req *req, int status, const char *ctype, char *buf, size_t len)
{
	struct MHD_Response *resp;

	if (req->replied || req->conn == NULL) {
		free(buf);
		return;
	}
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(buf);
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	deliver(req, status, resp);
}

void
http_reply_static(struct http_req *req, int status, const char *ctype,
    const char *buf, size_t len)
{
	struct MHD_Response *resp;

	if (req->replied || req->conn == NULL)
		return;
	resp = MHD_create_response_from_buffer(
	    len, (void *)buf, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	deliver(req, status, resp);
}

void
http_reply_json(struct http_req *req, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (s == NULL) {
		static const char oom[] =
		    "{\"error\":{\"code\":\"internal\",\"message\":"
		    "\"cannot encode the response\",\"details\":[]}}";

		http_reply_static(
		    req, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	http_reply_buf(req, status, "application/json", s, strlen(s));
}

void
http_reply_error(struct http_req *req, enum gantry_err code,
    const char *message, const struct diag *details)
{
	http_reply_json(req, gantry_err_http_status(code),
	    apierr_json(code, message, details));
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_req *req = arg;

	http_reply_error(
	    req, GANTRY_EUNAVAIL, "the request timed out inside gantryd", NULL);
}

void
http_req_suspend(struct http_req *req, int64_t deadline_ms)
{
	struct timeval tv = {deadline_ms / 1000, (deadline_ms % 1000) * 1000};

	if (req->replied || req->suspended || req->conn == NULL)
		return;
	if (req->deadline == NULL)
		req->deadline = evtimer_new(req->srv->base, deadline_cb, req);
	req->suspended = true;
	TAILQ_INSERT_TAIL(&req->srv->suspended, req, susp_link);
	MHD_suspend_connection(req->conn);
	if (req->deadline != NULL)
		evtimer_add(req->deadline, &tv);
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *req = *con_cls;
	struct MHD_Response *resp;

	if (req == NULL) {
		req = calloc(1, sizeof(*req));
		if (req == NULL)
			return MHD_NO;
		req->srv = s;
		req->conn = conn;
		req->refs = 1;
		req->method = method;
		req->path = url;
		clock_gettime(CLOCK_MONOTONIC, &req->start);
		*con_cls = req;
		s->inflight++;
		req->counted = true;
		if (s->hooks.on_headers != NULL)
			s->hooks.on_headers(req, s->hooks.arg);
		req->headers_done = true;
		if (req->pending == NULL)
			return MHD_YES;
		/* An early error: answer without reading the body. */
	} else if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (req->replied || req->body.toobig)
			return MHD_YES; /* discard */
		req->body.max = s->max_body; /* may change on reload */
		if (buf_append(&req->body, upload_data, n) < 0 && req->body.oom)
			return MHD_NO;
		return MHD_YES; /* toobig: answered once the body is read */
	} else if (!req->replied) {
		if (req->body.toobig) {
			char msg[128];

			snprintf(msg, sizeof(msg),
			    "request body is larger than max_body (%zu bytes)",
			    s->max_body);
			http_reply_error(req, GANTRY_ETOOBIG, msg, NULL);
		} else if (s->hooks.on_request != NULL) {
			s->hooks.on_request(req, s->hooks.arg);
		}
		if (!req->replied && !req->suspended)
			http_reply_error(req, GANTRY_EINTERNAL,
			    "the handler gave no answer", NULL);
		if (req->suspended)
			return MHD_YES;
	}
	if (req->pending == NULL)
		return MHD_YES;
	resp = req->pending;
	req->pending = NULL;
	if (MHD_queue_response(conn, (unsigned)req->status, resp) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	MHD_destroy_response(resp);
	return MHD_YES;
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *req = *con_cls;

	if (req == NULL)
		return;
	*con_cls = NULL;
	if (req->suspended) {
		TAILQ_REMOVE(&s->suspended, req, susp_link);
		req->suspended = false;
	}
	if (req->deadline != NULL)
		evtimer_del(req->deadline);
	if (req->streaming) {
		TAILQ_REMOVE(&s->streams, req, stream_link);
		req->streaming = false;
		req->parked = false;
	}
	if (req->counted)
		s->inflight--;
	if (s->hooks.on_complete != NULL)
		s->hooks.on_complete(req, s->hooks.arg);
	req->conn = NULL;
	http_req_unref(req);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512], q[600];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("http.mhd", "msg=%s", log_quote(msg, q, sizeof(q)));
}

int
http_listen_socket(
    const char *host, int port, int *bound_port, struct gantry_error *err)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[16];
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "cannot resolve listen address %s: %s", host,
		    gai_strerror(rc));
	fd = socket(
	    ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		*bound_port = ntohs(ss.ss_family == AF_INET6
		        ? ((struct sockaddr_in6 *)&ss)->sin6_port
		        : ((struct sockaddr_in *)&ss)->sin_port);
	freeaddrinfo(ai);
	return fd;
fail:
	gantry_error_set(err, GANTRY_EINTERNAL, "cannot listen on %s:%d: %s",
	    host, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

struct http_server *
http_server_new(struct event_base *base, int listen_fd,
    unsigned max_connections, const struct http_hooks *hooks,
    struct gantry_error *err)
{
	struct http_server *s = calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;

	if (s == NULL) {
		close(listen_fd);
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		return NULL;
	}
	s->base = base;
	s->listen_fd = listen_fd;
	s->hooks = *hooks;
	s->max_body = 1024 * 1024;
	TAILQ_INIT(&s->suspended);
	TAILQ_INIT(&s->streams);
	s->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, access_cb, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_NOTIFY_COMPLETED,
	    completed_cb, s, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_CONNECTION_LIMIT, max_connections,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	if (s->mhd == NULL) {
		close(listen_fd);
		free(s);
		gantry_error_set(err, GANTRY_EINTERNAL,
		    "cannot start the HTTP server (libmicrohttpd)");
		return NULL;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	s->ev_epoll =
	    event_new(base, info->epoll_fd, EV_READ | EV_PERSIST, run_mhd, s);
	s->ev_timeout = evtimer_new(base, run_mhd, s);
	s->ev_kick = event_new(base, -1, 0, run_mhd, s);
	if (s->ev_epoll == NULL || s->ev_timeout == NULL ||
	    s->ev_kick == NULL || event_add(s->ev_epoll, NULL) < 0) {
		http_server_free(s);
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		return NULL;
	}
	rearm(s);
	return s;
}

void
http_server_set_max_body(struct http_server *s, size_t max_body)
{
	s->max_body = max_body;
}

void
http_server_quiesce(struct http_server *s)
{
	MHD_socket fd;

	if (s->quiesced)
		return;
	s->quiesced = true;
	fd = MHD_quiesce_daemon(s->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* Live event streams never finish by themselves: end them so the
	 * drain can complete (clients reconnect with Last-Event-ID). */
	{
		struct http_req *req;

		TAILQ_FOREACH(req, &s->streams, stream_link)
		http_stream_end(req);
	}
	kick(s);
}

unsigned
http_server_inflight(const struct http_server *s)
{
	return s->inflight;
}

void
http_server_abort_suspended(struct http_server *s, const char *why)
{
	struct http_req *req;

	while ((req = TAILQ_FIRST(&s->suspended)) != NULL)
		http_reply_error(req, GANTRY_EUNAVAIL, why, NULL);
	TAILQ_FOREACH(req, &s->streams, stream_link)
	http_stream_end(req);
	MHD_run(s->mhd);
}

void
http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	if (s->mhd != NULL) {
		/* MHD aborts if a connection is still suspended (PLATFORM.md
		 * 1.3): answer them all first. */
		http_server_abort_suspended(s, "gantryd is shutting down");
		MHD_stop_daemon(s->mhd);
	}
	if (s->ev_epoll != NULL)
		event_free(s->ev_epoll);
	if (s->ev_timeout != NULL)
		event_free(s->ev_timeout);
	if (s->ev_kick != NULL)
		event_free(s->ev_kick);
	free(s);
}

const char *
http_req_method(const struct http_req *req)
{
	return req->method;
}

const char *
http_req_path(const struct http_req *req)
{
	return req->path;
}

const char *
http_req_header(const struct http_req *req, const char *name)
{
	if (req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
http_req_query(const struct http_req *req, const char *name)
{
	if (req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(
	    req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_req_body(const struct http_req *req, size_t *len)
{
	*len = req->body.len;
	return req->body.s ? req->body.s : "";
}

int64_t
http_req_content_length(const struct http_req *req)
{
	const char *v = http_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	long long n;

	if (v == NULL)
		return -1;
	n = strtoll(v, &end, 10);
	return (*end == '\0' && n >= 0) ? n : -1;
}

size_t
http_req_max_body(const struct http_req *req)
{
	return req->srv->max_body;
}

double
http_req_elapsed(const struct http_req *req)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - req->start.tv_sec) +
	    (double)(now.tv_nsec - req->start.tv_nsec) / 1e9;
}

int
http_req_status(const struct http_req *req)
{
	return req->status;
}

bool
http_req_replied(const struct http_req *req)
{
	return req->replied;
}

void
http_req_set_data(struct http_req *req, void *data)
{
	req->data = data;
}

void *
http_req_data(const struct http_req *req)
{
	return req->data;
}

/* --- streaming responses (SSE) ----------------------------------------- */

/* MHD asks for the next bytes.  With none buffered the connection is
 * suspended here and 0 returned (MHD's prescribed pattern for "no body
 * data yet"); http_stream_write() resumes it. */
static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_req *req = cls;
	size_t n;

	if (req->sbuf.len > 0) {
		n = req->sbuf.len < max ? req->sbuf.len : max;
		memcpy(buf, req->sbuf.s, n);
		buf_consume(&req->sbuf, n);
		return (ssize_t)n;
	}
	if (req->stream_end || req->conn == NULL)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!req->parked) {
		req->parked = true;
		MHD_suspend_connection(req->conn);
	}
	return 0;
}

static void
stream_free(void *cls)
{
	http_req_unref(cls);
}

int
http_stream_start(struct http_req *req, int status, const char *ctype)
{
	struct MHD_Response *resp;

	if (req->replied || req->conn == NULL)
		return -1;
	resp = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 16384, stream_read, req, stream_free);
	if (resp == NULL)
		return -1;
	http_req_ref(req); /* the response's */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	req->streaming = true;
	TAILQ_INSERT_TAIL(&req->srv->streams, req, stream_link);
	deliver(req, status, resp);
	return 0;
}

static void
stream_wake(struct http_req *req)
{
	if (req->parked && req->conn != NULL) {
		req->parked = false;
		MHD_resume_connection(req->conn);
		kick(req->srv);
	}
}

int
http_stream_write(struct http_req *req, const char *buf, size_t len)
{
	if (!req->streaming || req->stream_end || req->conn == NULL)
		return -1;
	/* Over HTTP_STREAM_MAX: a client that does not read, drop it. */
	req->sbuf.max = HTTP_STREAM_MAX;
	if (buf_append(&req->sbuf, buf, len) < 0)
		return -1;
	stream_wake(req);
	return 0;
}

void
http_stream_end(struct http_req *req)
{
	if (!req->streaming || req->stream_end)
		return;
	req->stream_end = true;
	stream_wake(req);
}

bool
http_stream_open(const struct http_req *req)
{
	return req->streaming && !req->stream_end && req->conn != NULL;
}
