/*
 * check_httpc.c - tests for daemon/httpc.c against evhttp servers on
 * 127.0.0.1 (port 0) in the same event_base: GET and POST, retries on
 * 5xx with their backoff, no retry on 4xx, a handler that never answers
 * (timeout), connection refused, the body cap, cancel, httpc_free with a
 * call in flight, bad requests refused synchronously, and HTTPS with a
 * throwaway self-signed certificate made at test time (trusted through
 * the ca_file option; untrusted; wrong IP address).  No sleeps: the loop
 * runs until the expected callbacks ran, with a 10 s safety net.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "httpc.h"

#define BIG_LEN 100000

/* What one callback saw, copied out of the borrowed response. */
struct res {
	bool done;
	int ncalls;
	int status;
	char *body;
	size_t len;
	char *error;
	int attempts;
	double at; /* monotonic seconds */
};

/* A server: plain or TLS. */
struct srv {
	struct evhttp *http;
	int port;
	SSL_CTX *ctx; /* TLS servers only */
};

static struct {
	struct event_base *base;
	struct srv plain;
	int want, ndone; /* break the loop when ndone reaches want */
	bool safety_fired;
	/* What the server saw. */
	int flaky_hits, always_hits, notfound_hits, hang_hits;
	char method[16], uri[256], host[128], ctype[128], xtest[64];
	char body[256];
} fx;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
copy_hdr(struct evkeyvalq *h, const char *name, char *dst, size_t n)
{
	const char *v = evhttp_find_header(h, name);

	snprintf(dst, n, "%s", v ? v : "");
}

static void
reply(struct evhttp_request *req, int code, const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, "X", b);
	evbuffer_free(b);
}

static void
handler(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);

	(void)arg;
	snprintf(fx.uri, sizeof(fx.uri), "%s", uri);
	copy_hdr(h, "Host", fx.host, sizeof(fx.host));
	if (strncmp(uri, "/ok", 3) == 0) {
		reply(req, 200, "hello", 5);
	} else if (strcmp(uri, "/echo") == 0) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);

		ck_assert_uint_lt(n, sizeof(fx.body));
		evbuffer_copyout(in, fx.body, n);
		fx.body[n] = '\0';
		snprintf(fx.method, sizeof(fx.method), "%s",
		    evhttp_request_get_command(req) == EVHTTP_REQ_POST
		        ? "POST"
		        : "other");
		copy_hdr(h, "Content-Type", fx.ctype, sizeof(fx.ctype));
		copy_hdr(h, "X-Test", fx.xtest, sizeof(fx.xtest));
		reply(req, 201, fx.body, n);
	} else if (strcmp(uri, "/flaky") == 0) {
		if (++fx.flaky_hits <= 2)
			reply(req, 500, "try again", 9);
		else
			reply(req, 200, "finally", 7);
	} else if (strcmp(uri, "/always503") == 0) {
		fx.always_hits++;
		reply(req, 503, "down", 4);
	} else if (strcmp(uri, "/hang") == 0) {
		fx.hang_hits++; /* never answered */
		if (fx.want == 0)
			event_base_loopbreak(fx.base);
	} else if (strcmp(uri, "/big") == 0) {
		char *big = malloc(BIG_LEN);

		memset(big, 'x', BIG_LEN);
		reply(req, 200, big, BIG_LEN);
		free(big);
	} else {
		fx.notfound_hits++;
		reply(req, 404, "no", 2);
	}
}

static struct bufferevent *
tls_bevcb(struct event_base *base, void *arg)
{
	return bufferevent_openssl_socket_new(base, -1, SSL_new(arg),
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static void
srv_start(struct srv *s, SSL_CTX *ctx)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	s->http = evhttp_new(fx.base);
	ck_assert_ptr_nonnull(s->http);
	evhttp_set_gencb(s->http, handler, NULL);
	s->ctx = ctx;
	if (ctx != NULL)
		evhttp_set_bevcb(s->http, tls_bevcb, ctx);
	bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(bs),
	                     (struct sockaddr *)&sin, &sl),
	    0);
	s->port = ntohs(sin.sin_port);
}

static void
srv_stop(struct srv *s)
{
	if (s->http != NULL)
		evhttp_free(s->http);
	SSL_CTX_free(s->ctx);
	memset(s, 0, sizeof(*s));
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	memset(&fx, 0, sizeof(fx));
	fx.base = event_base_new();
	ck_assert_ptr_nonnull(fx.base);
	srv_start(&fx.plain, NULL);
}

static void
teardown(void)
{
	srv_stop(&fx.plain);
	event_base_free(fx.base);
}

static void
res_free(struct res *r)
{
	free(r->body);
	free(r->error);
}

static void
collect(const struct httpc_response *r, void *arg)
{
	struct res *res = arg;

	res->ncalls++;
	res->done = true;
	res->status = r->status;
	res->len = r->len;
	res->body = r->body ? strndup(r->body, r->len) : NULL;
	res->error = r->error ? strdup(r->error) : NULL;
	res->attempts = r->attempts;
	res->at = mono();
	if (r->error == NULL)
		ck_assert_ptr_nonnull(r->body);
	if (++fx.ndone == fx.want)
		event_base_loopbreak(fx.base);
}

static void
safety_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fx.safety_fired = true;
	event_base_loopbreak(fx.base);
}

/* Run the loop until want callbacks ran (or a server handler broke it
 * when want is 0). */
static void
run_until(int want)
{
	struct timeval ten = {10, 0};
	struct event *safety = evtimer_new(fx.base, safety_cb, NULL);

	fx.want = want;
	fx.ndone = 0;
	evtimer_add(safety, &ten);
	event_base_dispatch(fx.base);
	event_free(safety);
	ck_assert_msg(!fx.safety_fired, "loop ran 10 s without finishing");
}

static char *
url(const struct srv *s, const char *path)
{
	static char buf[4][128];
	static int i;
	char *u = buf[i++ % 4];

	snprintf(u, sizeof(buf[0]), "%s://127.0.0.1:%d%s",
	    s->ctx ? "https" : "http", s->port, path);
	return u;
}

/* Start one request and check the callback did not run inside. */
static struct httpc_call *
start(struct httpc *c, const struct httpc_request *req, struct res *res)
{
	struct gantry_error err;
	struct httpc_call *call = httpc_request(c, req, collect, res, &err);

	ck_assert_msg(call != NULL, "httpc_request: %s", err.msg);
	ck_assert_msg(!res->done, "callback ran inside httpc_request()");
	return call;
}

static struct httpc *
client(const char *ca_file)
{
	struct gantry_error err;
	struct httpc *c = httpc_new(fx.base, ca_file, &err);

	ck_assert_msg(c != NULL, "httpc_new: %s", err.msg);
	return c;
}

START_TEST(test_get_ok)
{
	struct httpc *c = client(NULL);
	struct httpc_request rq = {.method = "GET",
	    .url = url(&fx.plain, "/ok?query=up%7Bjob%3D%22x%22%7D&time=1.5")};
	struct res r = {0};
	char host[64];

	start(c, &rq, &r);
	run_until(1);
	ck_assert_int_eq(r.ncalls, 1);
	ck_assert_ptr_null(r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, 5);
	ck_assert_str_eq(r.body, "hello");
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_str_eq(fx.uri, "/ok?query=up%7Bjob%3D%22x%22%7D&time=1.5");
	snprintf(host, sizeof(host), "127.0.0.1:%d", fx.plain.port);
	ck_assert_str_eq(fx.host, host);
	httpc_free(c);
	res_free(&r);
}
END_TEST

START_TEST(test_post_body)
{
	struct httpc *c = client(NULL);
	const char *hdrs[] = {"X-Test:   yes please", NULL};
	const char *body = "{\"text\":\"rollback of orders\",\"n\":1}";
	struct httpc_request rq = {.method = "POST",
	    .url = url(&fx.plain, "/echo"),
	    .content_type = "application/json",
	    .body = body,
	    .len = strlen(body),
	    .headers = hdrs};
	struct res r = {0};

	start(c, &rq, &r);
	run_until(1);
	ck_assert_ptr_null(r.error);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(fx.method, "POST");
	ck_assert_str_eq(fx.ctype, "application/json");
	ck_assert_str_eq(fx.xtest, "yes please");
	ck_assert_str_eq(fx.body, body);
	ck_assert_str_eq(r.body, body);
	httpc_free(c);
	res_free(&r);
}
END_TEST

START_TEST(test_retry_5xx_then_ok)
{
	struct httpc *c = client(NULL);
	struct httpc_request rq = {
	    .method = "GET", .url = url(&fx.plain, "/flaky"), .attempts = 3};
	struct res r = {0};
	double t0 = mono();

	start(c, &rq, &r);
	run_until(1);
	ck_assert_ptr_null(r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "finally");
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_int_eq(fx.flaky_hits, 3);
	/* Backoff 0.5 s, then 1 s. */
	ck_assert_msg(r.at - t0 >= 1.49, "too fast: %.3f s", r.at - t0);
	ck_assert_msg(r.at - t0 < 3.0, "too slow: %.3f s", r.at - t0);
	httpc_free(c);
	res_free(&r);
}
END_TEST

START_TEST(test_retry_exhausted_reports_status)
{
	struct httpc *c = client(NULL);
	struct httpc_request rq = {.method = "GET",
	    .url = url(&fx.plain, "/always503"),
	    .attempts = 2};
	struct res r = {0};

	start(c, &rq, &r);
	run_until(1);
	ck_assert_ptr_null(r.error);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.body, "down");
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_int_eq(fx.always_hits, 2);
	httpc_free(c);
	res_free(&r);
}
END_TEST

START_TEST(test_no_retry_4xx)
{
	struct httpc *c = client(NULL);
	struct httpc_request rq = {
	    .method = "GET", .url = url(&fx.plain, "/nope"), .attempts = 3};
	struct res r = {0};

	start(c, &rq, &r);
	run_until(1);
	ck_assert_int_eq(r.status, 404);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_eq(fx.notfound_hits, 1);
	httpc_free(c);
	res_free(&r);
}
END_TEST

START_TEST(test_timeout)
{
	struct httpc *c = client(NULL);
	struct httpc_request rq = {
	    .method = "GET", .url = url(&fx.plain, "/hang"), .timeout_ms = 300};
	struct res r = {0};
	double t0 = mono();

	start(c, &rq, &r);
	run_until(1);
	ck_assert_int_eq(fx.hang_hits, 1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(r.error);
	ck_assert_str_eq(r.error, "timed out after 300 ms");
	ck_assert_msg(r.at - t0 >= 0.29 && r.at - t0 < 1.5,
	    "timed out after %.3f s", r.at - t0);
	httpc_free(c);
	res_free(&r);
}
END_TEST

/* A port nobody listens on: bind, read the port, close. */
static int
dead_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

START_TEST(test_refused)
{
	struct httpc *c = client(NULL);
	char u[64];
	struct httpc_request rq = {.method = "GET", .url = u};
	struct res r1 = {0}, r2 = {0};
	double t0 = mono();

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", dead_port());
	start(c, &rq, &r1);
	rq.attempts = 2;
	start(c, &rq, &r2);
	run_until(2);
	ck_assert_int_eq(r1.status, 0);
	ck_assert_ptr_nonnull(r1.error);
	ck_assert_msg(
	    strstr(r1.error, "refused") != NULL, "error: %s", r1.error);
	ck_assert_int_eq(r1.attempts, 1);
	ck_assert_int_eq(r2.status, 0);
	ck_assert_int_eq(r2.attempts, 2);
	ck_assert_msg(r2.at - t0 >= 0.49, "retry after %.3f s", r2.at - t0);
	httpc_free(c);
	res_free(&r1);
	res_free(&r2);
}
END_TEST

START_TEST(test_max_body)
{
	struct httpc *c = client(NULL);
	struct httpc_request rq = {.method = "GET",
	    .url = url(&fx.plain, "/big"),
	    .max_body = 1000,
	    .attempts = 3};
	struct res small = {0}, large = {0};

	start(c, &rq, &small);
	rq.max_body = BIG_LEN;
	start(c, &rq, &large);
	run_until(2);
	ck_assert_int_eq(small.status, 0);
	ck_assert_ptr_nonnull(small.error);
	ck_assert_msg(strstr(small.error, "size limit") != NULL ||
	        strstr(small.error, "over 1000 bytes") != NULL,
	    "error: %s", small.error);
	ck_assert_int_eq(small.attempts, 1); /* not retried */
	ck_assert_ptr_null(large.error);
	ck_assert_int_eq(large.status, 200);
	ck_assert_uint_eq(large.len, BIG_LEN);
	httpc_free(c);
	res_free(&small);
	res_free(&large);
}
END_TEST

START_TEST(test_cancel)
{
	struct httpc *c = client(NULL);
	struct httpc_request rq = {
	    .method = "GET", .url = url(&fx.plain, "/ok")};
	struct httpc_request slow = {.method = "GET",
	    .url = url(&fx.plain, "/always503"),
	    .attempts = 3};
	struct res a = {0}, b = {0}, d = {0};
	struct httpc_call *ca, *cd;

	ca = start(c, &rq, &a);
	cd = start(c, &slow, &d);
	start(c, &rq, &b);
	httpc_cancel(ca);
	run_until(1); /* b */
	ck_assert(b.done);
	ck_assert_int_eq(b.status, 200);
	/* d is waiting in its backoff now (or still on its first try):
	 * cancel it there; its retries never reach the server. */
	httpc_cancel(cd);
	{
		int hits = fx.always_hits;
		struct timeval one = {1, 0};

		event_base_loopexit(fx.base, &one);
		event_base_dispatch(fx.base);
		ck_assert_int_le(fx.always_hits, hits);
	}
	ck_assert(!a.done);
	ck_assert(!d.done);
	httpc_free(c);
	ck_assert(!a.done);
	res_free(&b);
}
END_TEST

START_TEST(test_free_in_flight)
{
	struct httpc *c = client(NULL);
	struct httpc_request rq = {
	    .method = "GET", .url = url(&fx.plain, "/hang")};
	struct res r = {0};

	start(c, &rq, &r);
	run_until(0); /* until the server has the request */
	ck_assert_int_eq(fx.hang_hits, 1);
	ck_assert(!r.done);
	httpc_free(c);
	ck_assert_int_eq(r.ncalls, 1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(r.error);
	ck_assert_msg(
	    strstr(r.error, "shutting down") != NULL, "error: %s", r.error);
	res_free(&r);
}
END_TEST

/* A callback that frees the whole client, with another call in flight. */
static struct httpc *free_me;

static void
free_from_cb(const struct httpc_response *r, void *arg)
{
	collect(r, arg);
	httpc_free(free_me);
	free_me = NULL;
}

START_TEST(test_free_from_callback)
{
	struct httpc *c = client(NULL);
	struct httpc_request hang = {
	    .method = "GET", .url = url(&fx.plain, "/hang")};
	struct httpc_request ok = {
	    .method = "GET", .url = url(&fx.plain, "/ok")};
	struct gantry_error err;
	struct res h = {0}, o = {0};

	free_me = c;
	start(c, &hang, &h);
	ck_assert_ptr_nonnull(httpc_request(c, &ok, free_from_cb, &o, &err));
	run_until(2); /* o's callback frees c, which ends h */
	ck_assert_ptr_null(free_me);
	ck_assert_int_eq(o.status, 200);
	ck_assert_int_eq(h.ncalls, 1);
	ck_assert_int_eq(h.status, 0);
	ck_assert_ptr_nonnull(h.error);
	res_free(&h);
	res_free(&o);
}
END_TEST

START_TEST(test_bad_requests)
{
	struct httpc *c = client(NULL);
	const char *bad_urls[] = {"ftp://127.0.0.1/x", "not a url", "http://",
	    "http:///path", "http://user:pw@127.0.0.1/", "http://h:0/",
	    "http://h:99999/", "//127.0.0.1/", NULL};
	const char *bad_headers[][2] = {{"NoColon", NULL},
	    {"X-A: a\r\nX-B: b", NULL}, {"Host: evil", NULL},
	    {"Content-Length: 5", NULL}, {": empty name", NULL},
	    {"Bad Name: x", NULL}};
	struct res r = {0};
	struct gantry_error err;

	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		struct httpc_request rq = {.method = "GET", .url = bad_urls[i]};

		gantry_error_clear(&err);
		ck_assert_msg(httpc_request(c, &rq, collect, &r, &err) == NULL,
		    "accepted %s", bad_urls[i] ? bad_urls[i] : "NULL");
		ck_assert_int_eq(err.code, GANTRY_EINVAL);
	}
	for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]);
	     i++) {
		struct httpc_request rq = {.method = "GET",
		    .url = url(&fx.plain, "/ok"),
		    .headers = bad_headers[i]};

		gantry_error_clear(&err);
		ck_assert_msg(httpc_request(c, &rq, collect, &r, &err) == NULL,
		    "accepted header %s", bad_headers[i][0]);
		ck_assert_int_eq(err.code, GANTRY_EINVAL);
	}
	{
		struct httpc_request rq = {
		    .method = "PATCH", .url = url(&fx.plain, "/ok")};

		ck_assert_ptr_null(httpc_request(c, &rq, collect, &r, &err));
		ck_assert_int_eq(err.code, GANTRY_EINVAL);
	}
	/* Nothing was started: a loop pass runs no callback. */
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(r.ncalls, 0);
	ck_assert_int_eq(fx.notfound_hits, 0);
	httpc_free(c);
	ck_assert_int_eq(r.ncalls, 0);
}
END_TEST

/* --- HTTPS ---------------------------------------------------------------- */

/* A self-signed EC certificate with the given subjectAltName, written as
 * PEM to a temporary file (returned, caller unlinks); *ctx_out gets a
 * server SSL_CTX using it. */
static char *
make_cert(const char *san, SSL_CTX **ctx_out)
{
	static char path[2][64];
	static int i;
	char *p = path[i++ % 2];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	SSL_CTX *ctx;
	FILE *f;
	int fd;

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"gantry test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	ck_assert_ptr_nonnull(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(
	    NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);

	snprintf(p, sizeof(path[0]), "/tmp/check_httpc_XXXXXX");
	fd = mkstemp(p);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);

	ctx = SSL_CTX_new(TLS_server_method());
	ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
	*ctx_out = ctx;
	X509_free(x);
	EVP_PKEY_free(key);
	return p;
}

START_TEST(test_https_ok)
{
	SSL_CTX *sctx;
	char *pem = make_cert("IP:127.0.0.1,DNS:localhost", &sctx);
	struct srv tls = {0};
	struct httpc *c;
	const char *body = "{}";
	struct httpc_request get = {.method = "GET"},
	                     post = {.method = "POST",
	                         .content_type = "application/json",
	                         .body = body,
	                         .len = 2};
	struct res r = {0}, p = {0};

	srv_start(&tls, sctx);
	c = client(pem);
	get.url = url(&tls, "/ok");
	post.url = url(&tls, "/echo");
	start(c, &get, &r);
	start(c, &post, &p);
	run_until(2);
	ck_assert_msg(r.error == NULL, "error: %s", r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello");
	ck_assert_msg(p.error == NULL, "error: %s", p.error);
	ck_assert_int_eq(p.status, 201);
	ck_assert_str_eq(p.body, "{}");
	ck_assert_str_eq(fx.ctype, "application/json");
	httpc_free(c);
	srv_stop(&tls);
	unlink(pem);
	res_free(&r);
	res_free(&p);
}
END_TEST

START_TEST(test_https_untrusted)
{
	SSL_CTX *sctx;
	char *pem = make_cert("IP:127.0.0.1", &sctx);
	struct srv tls = {0};
	struct httpc *c = client(NULL); /* system store: our cert is unknown */
	struct httpc_request rq = {.method = "GET", .attempts = 3};
	struct res r = {0};

	srv_start(&tls, sctx);
	rq.url = url(&tls, "/ok");
	start(c, &rq, &r);
	run_until(1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(r.error);
	ck_assert_msg(strstr(r.error, "TLS certificate") != NULL &&
	        strstr(r.error, "self-signed") != NULL,
	    "error: %s", r.error);
	ck_assert_int_eq(r.attempts, 1); /* not retried */
	httpc_free(c);
	srv_stop(&tls);
	unlink(pem);
	res_free(&r);
}
END_TEST

START_TEST(test_https_wrong_host)
{
	SSL_CTX *sctx;
	char *pem = make_cert("DNS:prom.example.com", &sctx);
	struct srv tls = {0};
	struct httpc *c;
	struct httpc_request rq = {.method = "GET"};
	struct res r = {0};

	srv_start(&tls, sctx);
	c = client(pem); /* trusted, but not for 127.0.0.1 */
	rq.url = url(&tls, "/ok");
	start(c, &rq, &r);
	run_until(1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(r.error);
	ck_assert_msg(
	    strstr(r.error, "mismatch") != NULL, "error: %s", r.error);
	httpc_free(c);
	srv_stop(&tls);
	unlink(pem);
	res_free(&r);
}
END_TEST

START_TEST(test_bad_ca_file)
{
	struct gantry_error err;

	ck_assert_ptr_null(httpc_new(fx.base, "/nonexistent/ca.pem", &err));
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_msg(
	    strstr(err.msg, "/nonexistent/ca.pem") != NULL, "%s", err.msg);
}
END_TEST

static Suite *
httpc_suite(void)
{
	Suite *s = suite_create("httpc");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_get_ok);
	tcase_add_test(tc, test_post_body);
	tcase_add_test(tc, test_retry_5xx_then_ok);
	tcase_add_test(tc, test_retry_exhausted_reports_status);
	tcase_add_test(tc, test_no_retry_4xx);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_max_body);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_free_in_flight);
	tcase_add_test(tc, test_free_from_callback);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_https_ok);
	tcase_add_test(tc, test_https_untrusted);
	tcase_add_test(tc, test_https_wrong_host);
	tcase_add_test(tc, test_bad_ca_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(httpc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
