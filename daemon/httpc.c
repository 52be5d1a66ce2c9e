/*
 * httpc.c - the asynchronous HTTP(S) client of httpc.h.  Each attempt is
 * one evhttp_connection over our own bufferevent (plain, or OpenSSL with
 * SNI and host verification), closed when the attempt ends.  evhttp's
 * callbacks only record what happened and activate the call's "done"
 * event: connections are freed, retries armed and user callbacks run
 * from that event, never inside evhttp's own callback chain (STYLE.md 14)
 * and never inside httpc_request().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "httpc.h"
#include "log.h"

#define HEADERS_MAX (64 * 1024) /* response header bytes */
#define ERROR_MAX 256

struct httpc {
	struct event_base *base; /* borrowed */
	struct evdns_base *dns;
	SSL_CTX *ssl_ctx;
	struct httpc_call *calls; /* every call not yet finished */
	bool closing; /* in httpc_free() */
};

enum call_phase {
	CALL_RUNNING, /* an attempt is in flight; timer = its deadline */
	CALL_ENDED, /* the attempt ended; done is active */
	CALL_BACKOFF, /* waiting to retry; timer = the backoff */
};

struct httpc_call {
	struct httpc *c;
	struct httpc_call *prev, *next;
	httpc_cb cb;
	void *arg;

	/* The request, copied. */
	enum evhttp_cmd_type method;
	bool https;
	char *host; /* to connect to, for SNI and verification */
	char *host_header; /* Host: as written in the URL */
	int port;
	char *target; /* path?query */
	char *content_type;
	char *body;
	size_t len;
	char **hnames, **hvalues;
	size_t nheaders;
	int64_t timeout_ms;
	size_t max_body;
	int attempts;

	/* The current attempt. */
	int attempt; /* 1-based */
	enum call_phase phase;
	struct evhttp_connection *evcon;
	struct bufferevent *bev; /* owned by evcon */
	struct event *timer;
	struct event *done;
	int req_error; /* enum evhttp_request_error, or -1 */
	long tls_verify; /* X509_V_ERR_* seen while verifying, or 0 */

	/* What the attempt ended with. */
	int status;
	char *rbody;
	size_t rlen;
	bool failed, retryable;
	char error[ERROR_MAX];
	bool in_cb;
};

static void call_start_attempt(struct httpc_call *call);

/* --- client ---------------------------------------------------------------- */

/* Remember the first certificate error of a handshake; the SSL object's
 * own verify result does not survive evhttp resetting the connection. */
static int
verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl;
	struct httpc_call *call;

	if (ok)
		return ok;
	ssl =
	    X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	call = ssl ? SSL_get_app_data(ssl) : NULL;
	if (call != NULL && call->tls_verify == 0)
		call->tls_verify = X509_STORE_CTX_get_error(x);
	return ok;
}

struct httpc *
httpc_new(
    struct event_base *base, const char *ca_file, struct gantry_error *err)
{
	struct httpc *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		return NULL;
	}
	c->base = base;
	c->dns = evdns_base_new(base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS |
	        EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (c->dns == NULL) {
		gantry_error_set(err, GANTRY_EINTERNAL,
		    "cannot set up the DNS resolver (/etc/resolv.conf)");
		goto fail;
	}
	if ((c->ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		gantry_error_set(
		    err, GANTRY_ENOMEM, "cannot create a TLS context");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, verify_cb);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ssl_ctx, ca_file, NULL) !=
		    1) {
			gantry_error_set(err, GANTRY_EINVAL, "CA file %s: %s",
			    ca_file,
			    ERR_reason_error_string(ERR_peek_last_error()));
			ERR_clear_error();
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ssl_ctx) != 1) {
		gantry_error_set(err, GANTRY_EINTERNAL,
		    "cannot load the system trust store");
		ERR_clear_error();
		goto fail;
	}
	return c;
fail:
	httpc_free(c);
	return NULL;
}

/* --- calls ----------------------------------------------------------------- */

static void
call_unlink(struct httpc_call *call)
{
	struct httpc *c = call->c;

	if (call->prev != NULL)
		call->prev->next = call->next;
	else if (c->calls == call)
		c->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
}

/* Close the attempt's connection; pending evhttp requests are freed
 * without their callbacks.  Never from inside an evhttp callback. */
static void
call_close(struct httpc_call *call)
{
	if (call->evcon != NULL)
		evhttp_connection_free(call->evcon);
	call->evcon = NULL;
	call->bev = NULL;
	if (call->timer != NULL)
		evtimer_del(call->timer);
	if (call->done != NULL)
		event_del(call->done);
}

static void
call_free(struct httpc_call *call)
{
	call_close(call);
	if (call->timer != NULL)
		event_free(call->timer);
	if (call->done != NULL)
		event_free(call->done);
	free(call->host);
	free(call->host_header);
	free(call->target);
	free(call->content_type);
	free(call->body);
	for (size_t i = 0; i < call->nheaders; i++) {
		free(call->hnames[i]);
		free(call->hvalues[i]);
	}
	free(call->hnames);
	free(call->hvalues);
	free(call->rbody);
	free(call);
}

/* Report the outcome and free the call. */
static void
call_finish(struct httpc_call *call)
{
	struct httpc_response r = {0};

	call_close(call);
	call_unlink(call);
	r.attempts = call->attempt;
	if (call->failed) {
		r.error = call->error;
	} else {
		r.status = call->status;
		r.body = call->rbody;
		r.len = call->rlen;
	}
	call->in_cb = true;
	call->cb(&r, call->arg);
	call_free(call);
}

/* The attempt ended with an error.  Only records; see call_ended(). */
static void PRINTFLIKE(3, 4)
    call_fail(struct httpc_call *call, bool retryable, const char *fmt, ...)
{
	va_list ap;

	call->failed = true;
	call->retryable = retryable;
	call->status = 0;
	va_start(ap, fmt);
	vsnprintf(call->error, sizeof(call->error), fmt, ap);
	va_end(ap);
}

static int64_t
backoff_ms(int attempt)
{
	int64_t ms = HTTPC_BACKOFF_FIRST_MS;

	for (int i = 1; i < attempt && ms < HTTPC_BACKOFF_CAP_MS; i++)
		ms *= 2;
	return ms < HTTPC_BACKOFF_CAP_MS ? ms : HTTPC_BACKOFF_CAP_MS;
}

static struct timeval
ms_tv(int64_t ms)
{
	struct timeval tv = {
	    (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	return tv;
}

/* From the loop, after an attempt ended: retry or finish. */
static void
call_ended(struct httpc_call *call)
{
	struct timeval tv;
	int64_t ms;

	call_close(call);
	if (!call->retryable || call->attempt >= call->attempts) {
		call_finish(call);
		return;
	}
	ms = backoff_ms(call->attempt);
	if (log_enabled(LOG_LVL_INFO)) {
		char q[ERROR_MAX + 16], st[32];

		snprintf(st, sizeof(st), "status %d", call->status);
		log_info("httpc.retry",
		    "host=%s port=%d attempt=%d of=%d in_ms=%" PRId64 " why=%s",
		    call->host, call->port, call->attempt, call->attempts, ms,
		    log_quote(call->failed ? call->error : st, q, sizeof(q)));
	}
	free(call->rbody);
	call->rbody = NULL;
	call->rlen = 0;
	call->phase = CALL_BACKOFF;
	tv = ms_tv(ms);
	evtimer_add(call->timer, &tv);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	call_ended(arg);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpc_call *call = arg;

	(void)fd;
	(void)what;
	if (call->phase == CALL_BACKOFF) {
		call_start_attempt(call);
		return;
	}
	if (call->phase != CALL_RUNNING)
		return;
	call_fail(
	    call, true, "timed out after %" PRId64 " ms", call->timeout_ms);
	call_ended(call);
}

/* Mark the attempt over; the rest happens in done_cb, from the loop. */
static void
attempt_over(struct httpc_call *call)
{
	call->phase = CALL_ENDED;
	evtimer_del(call->timer);
	event_active(call->done, EV_TIMEOUT, 0);
}

/* Why an attempt got no response, from what evhttp, the bufferevent and
 * OpenSSL left behind. */
static void
describe_failure(struct httpc_call *call, int saved_errno)
{
	unsigned long ssl_err = 0;
	int dns_err = 0;

	if (call->bev != NULL) {
		dns_err = bufferevent_socket_get_dns_error(call->bev);
		if (call->https)
			ssl_err = bufferevent_get_openssl_error(call->bev);
	}
	switch (call->req_error) {
	case EVREQ_HTTP_TIMEOUT:
		call_fail(call, true, "timed out after %" PRId64 " ms",
		    call->timeout_ms);
		return;
	case EVREQ_HTTP_DATA_TOO_LONG:
		call_fail(call, false,
		    "response over the size limit (body over %zu or headers "
		    "over %d bytes)",
		    call->max_body, HEADERS_MAX);
		return;
	case EVREQ_HTTP_INVALID_HEADER:
		call_fail(call, false, "malformed response from %s:%d",
		    call->host, call->port);
		return;
	default:
		break;
	}
	if (dns_err != 0)
		call_fail(call, true, "cannot resolve %s: %s", call->host,
		    evutil_gai_strerror(dns_err));
	else if (call->tls_verify != 0)
		call_fail(call, false, "TLS certificate of %s:%d: %s",
		    call->host, call->port,
		    X509_verify_cert_error_string(call->tls_verify));
	else if (ssl_err != 0)
		call_fail(call, true, "TLS with %s:%d: %s", call->host,
		    call->port,
		    ERR_reason_error_string(ssl_err)
		        ? ERR_reason_error_string(ssl_err)
		        : "handshake failed");
	else if (call->req_error == EVREQ_HTTP_EOF)
		call_fail(call, true,
		    "%s:%d closed the connection before a complete response",
		    call->host, call->port);
	else if (saved_errno != 0 && saved_errno != EINPROGRESS &&
	    saved_errno != EAGAIN)
		call_fail(call, true, "connect to %s:%d: %s", call->host,
		    call->port, strerror(saved_errno));
	else
		call_fail(call, true, "connection to %s:%d failed", call->host,
		    call->port);
}

/* evhttp: the request failed; the request callback follows at once. */
static void
req_error_cb(enum evhttp_request_error e, void *arg)
{
	struct httpc_call *call = arg;

	if (call->phase == CALL_RUNNING)
		call->req_error = (int)e;
}

/* evhttp: a response (req with a status), or a failure (req NULL or
 * status 0).  req is freed by evhttp after we return: copy the body. */
static void
req_done_cb(struct evhttp_request *req, void *arg)
{
	struct httpc_call *call = arg;
	int saved_errno = errno;
	struct evbuffer *in;
	size_t n;

	if (call->phase != CALL_RUNNING)
		return;
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		/* libevent 2.1 fails a refused connect through
		 * evhttp_connection_cb_cleanup(): the request callback gets
		 * the request with status 0 and no error callback, and errno
		 * is what shutdown() on the unconnected socket left behind
		 * (ENOTCONN).  Other errors come through the error callback
		 * with errno restored. */
		if (req != NULL && call->req_error == -1 &&
		    saved_errno == ENOTCONN)
			saved_errno = ECONNREFUSED;
		describe_failure(call, saved_errno);
		attempt_over(call);
		return;
	}
	call->status = evhttp_request_get_response_code(req);
	call->failed = false;
	call->retryable = call->status >= 500 || call->status == 429;
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	if (n > call->max_body) {
		call_fail(call, false, "response body over %zu bytes",
		    call->max_body);
	} else if ((call->rbody = malloc(n + 1)) == NULL) {
		call_fail(call, false, "out of memory for a %zu byte body", n);
	} else {
		if (n > 0 && evbuffer_remove(in, call->rbody, n) != (int)n)
			call_fail(call, false, "cannot read the response body");
		call->rbody[n] = '\0';
		call->rlen = n;
	}
	attempt_over(call);
}

static bool
is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* A TLS bufferevent for call->host, verified against the context's
 * trust store and the host name (or IP address). */
static struct bufferevent *
tls_bev(struct httpc_call *call)
{
	struct httpc *c = call->c;
	struct bufferevent *bev;
	X509_VERIFY_PARAM *vp;
	SSL *ssl;
	bool ip = is_ip_literal(call->host);

	if ((ssl = SSL_new(c->ssl_ctx)) == NULL)
		return NULL;
	SSL_set_app_data(ssl, call);
	vp = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(
	    vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((!ip && SSL_set_tlsext_host_name(ssl, call->host) != 1) ||
	    (!ip && X509_VERIFY_PARAM_set1_host(vp, call->host, 0) != 1) ||
	    (ip && X509_VERIFY_PARAM_set1_ip_asc(vp, call->host) != 1)) {
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* Servers often close without close_notify after a response whose
	 * end is the end of the connection; evhttp checks lengths. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Start attempt call->attempt + 1.  Failures to even start end the
 * attempt like any other error (through done, from the loop). */
static void
call_start_attempt(struct httpc_call *call)
{
	struct httpc *c = call->c;
	struct evhttp_request *req = NULL;
	struct evkeyvalq *h;
	struct timeval tv = ms_tv(call->timeout_ms);
	char len[32];

	call->attempt++;
	call->phase = CALL_RUNNING;
	call->req_error = -1;
	call->tls_verify = 0;
	call->failed = call->retryable = false;
	call->status = 0;
	call->error[0] = '\0';
	ERR_clear_error();

	call->bev = call->https
	    ? tls_bev(call)
	    : bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (call->bev == NULL) {
		call_fail(call, false, "cannot create a %s connection",
		    call->https ? "TLS" : "TCP");
		goto fail;
	}
	call->evcon = evhttp_connection_base_bufferevent_new(
	    c->base, c->dns, call->bev, call->host, (unsigned short)call->port);
	if (call->evcon == NULL) {
		bufferevent_free(call->bev);
		call->bev = NULL;
		call_fail(call, false, "cannot create an HTTP connection");
		goto fail;
	}
	evhttp_connection_set_timeout_tv(call->evcon, &tv);
	evhttp_connection_set_max_body_size(
	    call->evcon, (ev_ssize_t)call->max_body);
	evhttp_connection_set_max_headers_size(call->evcon, HEADERS_MAX);
	evhttp_connection_set_retries(call->evcon, 0);
	if ((req = evhttp_request_new(req_done_cb, call)) == NULL) {
		call_fail(call, false, "out of memory");
		goto fail;
	}
	evhttp_request_set_error_cb(req, req_error_cb);
	h = evhttp_request_get_output_headers(req);
	snprintf(len, sizeof(len), "%zu", call->len);
	if (evhttp_add_header(h, "Host", call->host_header) < 0 ||
	    evhttp_add_header(h, "User-Agent", "gantry/" PACKAGE_VERSION) < 0 ||
	    evhttp_add_header(h, "Connection", "close") < 0 ||
	    (call->content_type != NULL &&
	        evhttp_add_header(h, "Content-Type", call->content_type) < 0) ||
	    ((call->len > 0 || call->method == EVHTTP_REQ_POST ||
	         call->method == EVHTTP_REQ_PUT) &&
	        evhttp_add_header(h, "Content-Length", len) < 0))
		goto oom;
	for (size_t i = 0; i < call->nheaders; i++)
		if (evhttp_add_header(h, call->hnames[i], call->hvalues[i]) < 0)
			goto oom;
	if (call->len > 0 &&
	    evbuffer_add(evhttp_request_get_output_buffer(req), call->body,
	        call->len) < 0)
		goto oom;
	/* evhttp may fail the request (and call req_done_cb) from inside
	 * this call; req_done_cb only records it. */
	if (evhttp_make_request(call->evcon, req, call->method, call->target) <
	    0) {
		req =
		    NULL; /* evhttp freed it, or evhttp_connection_free will */
		if (call->phase == CALL_RUNNING)
			call_fail(call, true,
			    "cannot send the request to %s:%d", call->host,
			    call->port);
		goto fail;
	}
	if (call->phase == CALL_RUNNING)
		evtimer_add(call->timer, &tv);
	return;
oom:
	call_fail(call, false, "out of memory");
	evhttp_request_free(req);
fail:
	attempt_over(call);
}

/* Split "Name: value" into copies; false on a bad header. */
static bool
split_header(const char *line, char **name, char **value)
{
	const char *colon = strchr(line, ':');
	const char *v;

	*name = *value = NULL;
	if (colon == NULL || colon == line || strpbrk(line, "\r\n") != NULL)
		return false;
	for (const char *p = line; p < colon; p++)
		if (*p <= ' ' || *p >= 127)
			return false;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	*name = strndup(line, (size_t)(colon - line));
	*value = strdup(v);
	return true;
}

static const char *const reserved_headers[] = {
    "Host", "Content-Length", "Connection", "Transfer-Encoding", NULL};

/* Parse and copy the URL into call; -1 with err. */
static int
call_set_url(struct httpc_call *call, const char *url, struct gantry_error *err)
{
	struct evhttp_uri *u = NULL;
	const char *scheme, *host, *path, *query;
	size_t hl, tl;
	int rc = -1;

	if (url == NULL || (u = evhttp_uri_parse(url)) == NULL) {
		gantry_error_set(err, GANTRY_EINVAL, "bad URL \"%.200s\"",
		    url ? url : "(null)");
		goto out;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (scheme == NULL ||
	    (strcasecmp(scheme, "http") != 0 &&
	        strcasecmp(scheme, "https") != 0)) {
		gantry_error_set(err, GANTRY_EINVAL,
		    "URL \"%.200s\": the scheme must be http or https", url);
		goto out;
	}
	if (host == NULL || *host == '\0' || strcmp(host, "[]") == 0) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "URL \"%.200s\": no host", url);
		goto out;
	}
	if (evhttp_uri_get_userinfo(u) != NULL) {
		gantry_error_set(err, GANTRY_EINVAL,
		    "URL \"%.200s\": credentials in a URL are not supported; "
		    "send an Authorization header",
		    url);
		goto out;
	}
	call->https = strcasecmp(scheme, "https") == 0;
	call->port = evhttp_uri_get_port(u);
	if (call->port == 0 || call->port > 65535) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "URL \"%.200s\": bad port", url);
		goto out;
	}
	hl = strlen(host);
	if (host[0] == '[' && host[hl - 1] == ']')
		call->host = strndup(host + 1, hl - 2);
	else
		call->host = strdup(host);
	if (call->port < 0) {
		call->port = call->https ? 443 : 80;
		call->host_header = strdup(host);
	} else if ((call->host_header = malloc(hl + 8)) != NULL) {
		snprintf(call->host_header, hl + 8, "%s:%d", host, call->port);
	}
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	if (path == NULL || *path == '\0')
		path = "/";
	tl = strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
	if ((call->target = malloc(tl)) != NULL)
		snprintf(call->target, tl, "%s%s%s", path, query ? "?" : "",
		    query ? query : "");
	if (call->host == NULL || call->host_header == NULL ||
	    call->target == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (u != NULL)
		evhttp_uri_free(u);
	return rc;
}

static int
call_set_method(
    struct httpc_call *call, const char *m, struct gantry_error *err)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type type;
	} methods[] = {{"GET", EVHTTP_REQ_GET}, {"POST", EVHTTP_REQ_POST},
	    {"PUT", EVHTTP_REQ_PUT}, {"DELETE", EVHTTP_REQ_DELETE},
	    {"HEAD", EVHTTP_REQ_HEAD}};

	for (size_t i = 0;
	     m != NULL && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i].name) == 0) {
			call->method = methods[i].type;
			return 0;
		}
	return gantry_error_set(
	    err, GANTRY_EINVAL, "unsupported method %.20s", m ? m : "(null)");
}

static int
call_set_headers(struct httpc_call *call, const char *const *headers,
    struct gantry_error *err)
{
	size_t n = 0;

	while (headers != NULL && headers[n] != NULL)
		n++;
	if (n == 0)
		return 0;
	call->hnames = calloc(n, sizeof(char *));
	call->hvalues = calloc(n, sizeof(char *));
	if (call->hnames == NULL || call->hvalues == NULL)
		return gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		bool ok = split_header(
		    headers[i], &call->hnames[i], &call->hvalues[i]);

		call->nheaders = i + 1;
		if (!ok)
			return gantry_error_set(err, GANTRY_EINVAL,
			    "bad header \"%.100s\": want \"Name: value\" on "
			    "one line",
			    headers[i]);
		if (call->hnames[i] == NULL || call->hvalues[i] == NULL)
			return gantry_error_set(
			    err, GANTRY_ENOMEM, "out of memory");
		for (size_t r = 0; reserved_headers[r] != NULL; r++)
			if (strcasecmp(call->hnames[i], reserved_headers[r]) ==
			    0)
				return gantry_error_set(err, GANTRY_EINVAL,
				    "header %s is set by the client",
				    reserved_headers[r]);
	}
	return 0;
}

struct httpc_call *
httpc_request(struct httpc *c, const struct httpc_request *req, httpc_cb cb,
    void *arg, struct gantry_error *err)
{
	struct httpc_call *call;

	if (c->closing) {
		gantry_error_set(
		    err, GANTRY_EUNAVAIL, "the HTTP client is shutting down");
		return NULL;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		return NULL;
	}
	call->c = c;
	call->cb = cb;
	call->arg = arg;
	call->timeout_ms =
	    req->timeout_ms > 0 ? req->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS;
	call->max_body =
	    req->max_body > 0 ? req->max_body : HTTPC_DEFAULT_MAX_BODY;
	call->attempts = req->attempts < 1 ? 1 : req->attempts;
	if (call->attempts > HTTPC_MAX_ATTEMPTS)
		call->attempts = HTTPC_MAX_ATTEMPTS;
	if (call_set_method(call, req->method, err) < 0 ||
	    call_set_url(call, req->url, err) < 0 ||
	    call_set_headers(call, req->headers, err) < 0)
		goto fail;
	if (req->len > 0 && req->body == NULL) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "a body length without a body");
		goto fail;
	}
	if ((req->content_type != NULL &&
	        ((call->content_type = strdup(req->content_type)) == NULL)) ||
	    (req->len > 0 && (call->body = malloc(req->len)) == NULL)) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		goto fail;
	}
	if (req->len > 0)
		memcpy(call->body, req->body, req->len);
	call->len = req->len;
	call->timer = evtimer_new(c->base, timer_cb, call);
	call->done = event_new(c->base, -1, 0, done_cb, call);
	if (call->timer == NULL || call->done == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		goto fail;
	}
	call->next = c->calls;
	if (c->calls != NULL)
		c->calls->prev = call;
	c->calls = call;
	call_start_attempt(call);
	return call;
fail:
	call_free(call);
	return NULL;
}

void
httpc_cancel(struct httpc_call *call)
{
	if (call == NULL || call->in_cb)
		return;
	call_unlink(call);
	call_free(call);
}

void
httpc_free(struct httpc *c)
{
	if (c == NULL)
		return;
	c->closing = true;
	while (c->calls != NULL) {
		struct httpc_call *call = c->calls;

		call_close(call);
		call_fail(call, false,
		    "cancelled: the HTTP client is shutting "
		    "down");
		call_finish(call);
	}
	if (c->dns != NULL)
		evdns_base_free(c->dns, 1);
	SSL_CTX_free(c->ssl_ctx);
	free(c);
}
