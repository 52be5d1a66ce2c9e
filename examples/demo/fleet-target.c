/*
 * fleet-target.c - one "host" of the demo fleet (scripts/demo): a tiny
 * HTTP server on a loopback port that serves the version it was started
 * with, and Prometheus metrics of the requests it pretends to serve.  The
 * demo's deploy hook replaces it with a new process to deploy a new
 * version; its rollback hook puts the previous one back.
 * tests/integration_prometheus.sh scrapes it with a real Prometheus.
 *
 *   fleet-target --port N --version V [--name T] [--pidfile FILE]
 *                [--fail-health] [--error-ratio R]
 *
 *   GET /         200 {"target": "T", "version": "V", "pid": P}
 *   GET /healthz  200 {"status": "ok", "version": "V"}, or 503 with
 *                 "status": "failing" under --fail-health (the demo's
 *                 injected fault: a release that starts but is unhealthy)
 *   GET /metrics  200, Prometheus text format (version 0.0.4):
 *                 http_requests_total{code="200"} and {code="500"},
 *                 counters that grow as if the target served
 *                 FLEET_TARGET_RPS (50) requests a second since it
 *                 started, a share R of them failing with 500 (--error-ratio,
 *                 0 to 1, default 0: a release with a bug); and
 *                 fleet_target_info{version="V"} 1.  The counters start
 *                 at 0 in each new process, as a real server's do.
 *
 * Listens on 127.0.0.1 only; SIGTERM or SIGINT stops it cleanly (the pid
 * file, if any, is removed).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static const char *name = "target";
static const char *version;
static bool fail_health;
static double error_ratio; /* share of requests answered 500, 0..1 */
static struct timespec started; /* CLOCK_MONOTONIC */

/* The requests a second the metrics pretend to serve. */
#define FLEET_TARGET_RPS 50

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: fleet-target --port N --version V [--name T] "
	    "[--pidfile FILE] [--fail-health]\n"
	    "                    [--error-ratio R]\n");
}

/* Names and versions go into JSON unescaped: keep them plain. */
static bool
plain(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s != '\0'; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		        ('0' <= *s && *s <= '9') || strchr("._-", *s) != NULL))
			return false;
	return true;
}

static void reply(struct evhttp_request *req, int code, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *fmt,
    ...)
{
	struct evbuffer *b = evbuffer_new();
	va_list ap;

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	va_start(ap, fmt);
	evbuffer_add_vprintf(b, fmt, ap);
	va_end(ap);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/*
 * GET /metrics: the requests served so far, total = RPS x seconds since
 * the start, of which floor(total x R) failed.  Both counters only grow:
 * floor((n + 1) R) - floor(n R) is 0 or 1 for 0 <= R <= 1.
 */
static void
metrics(struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	struct timespec now;
	unsigned long long total, failed;
	double secs;

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - started.tv_sec) +
	    (double)(now.tv_nsec - started.tv_nsec) / 1e9;
	total = (unsigned long long)(secs * FLEET_TARGET_RPS);
	failed = (unsigned long long)((double)total * error_ratio);
	evbuffer_add_printf(b,
	    "# HELP http_requests_total Requests served, by status code.\n"
	    "# TYPE http_requests_total counter\n"
	    "http_requests_total{code=\"200\"} %llu\n"
	    "http_requests_total{code=\"500\"} %llu\n"
	    "# HELP fleet_target_info The version this target serves.\n"
	    "# TYPE fleet_target_info gauge\n"
	    "fleet_target_info{version=\"%s\"} 1\n",
	    total - failed, failed, version);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	(void)arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		reply(req, 405, "Method Not Allowed",
		    "{\"error\": \"only GET\"}\n");
		return;
	}
	if (path == NULL || strcmp(path, "/") == 0)
		reply(req, HTTP_OK, "OK",
		    "{\"target\": \"%s\", \"version\": \"%s\", \"pid\": %ld}\n",
		    name, version, (long)getpid());
	else if (strcmp(path, "/healthz") == 0 && !fail_health)
		reply(req, HTTP_OK, "OK",
		    "{\"status\": \"ok\", \"version\": \"%s\"}\n", version);
	else if (strcmp(path, "/metrics") == 0)
		metrics(req);
	else if (strcmp(path, "/healthz") == 0)
		reply(req, 503, "Service Unavailable",
		    "{\"status\": \"failing\", \"version\": \"%s\"}\n",
		    version);
	else
		reply(req, HTTP_NOTFOUND, "Not Found",
		    "{\"error\": \"not found\"}\n");
}

/* Remove the pid file unless a newer process has taken it over. */
static void
remove_pidfile(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;

	if (f == NULL)
		return;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid == (long)getpid())
		unlink(path);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"version", required_argument, NULL, 'v'},
	    {"name", required_argument, NULL, 'n'},
	    {"pidfile", required_argument, NULL, 'P'},
	    {"fail-health", no_argument, NULL, 'F'},
	    {"error-ratio", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *pidfile = NULL;
	struct event_base *base;
	struct evhttp *http;
	struct event *sigterm, *sigint;
	long port = -1;
	char *end;
	int c, rc = 1;

	while (
	    (c = getopt_long(argc, argv, "p:v:n:P:Fe:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || port < 1 ||
			    port > 65535) {
				fprintf(stderr, "fleet-target: bad port %s\n",
				    optarg);
				return 2;
			}
			break;
		case 'v':
			version = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'F':
			fail_health = true;
			break;
		case 'e':
			errno = 0;
			error_ratio = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(error_ratio >= 0 && error_ratio <= 1)) {
				fprintf(stderr,
				    "fleet-target: bad error ratio %s "
				    "(0 to 1)\n",
				    optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || port < 0 || version == NULL) {
		usage(stderr);
		return 2;
	}
	if (!plain(version) || !plain(name)) {
		fprintf(stderr,
		    "fleet-target: name and version: 1-64 of [A-Za-z0-9._-]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &started);
	base = event_base_new();
	http = base != NULL ? evhttp_new(base) : NULL;
	sigterm =
	    base != NULL ? evsignal_new(base, SIGTERM, on_signal, base) : NULL;
	sigint =
	    base != NULL ? evsignal_new(base, SIGINT, on_signal, base) : NULL;
	if (http == NULL || sigterm == NULL || sigint == NULL ||
	    evsignal_add(sigterm, NULL) == -1 ||
	    evsignal_add(sigint, NULL) == -1) {
		fprintf(stderr, "fleet-target: cannot set up libevent\n");
		goto out;
	}
	evhttp_set_gencb(http, on_request, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
		fprintf(stderr,
		    "fleet-target: cannot listen on 127.0.0.1:%ld: %s\n", port,
		    strerror(errno));
		goto out;
	}
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");

		if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
		    fclose(f) != 0) {
			fprintf(
			    stderr, "fleet-target: cannot write %s\n", pidfile);
			goto out;
		}
	}
	printf("fleet-target: %s serves %s on 127.0.0.1:%ld (pid %ld)%s\n",
	    name, version, port, (long)getpid(),
	    fail_health ? " with a failing health check" : "");
	if (error_ratio > 0)
		printf("fleet-target: %s fails %g of its requests with 500\n",
		    name, error_ratio);
	fflush(stdout);
	event_base_dispatch(base);
	printf("fleet-target: %s (%s) stopped\n", name, version);
	if (pidfile != NULL)
		remove_pidfile(pidfile);
	rc = 0;
out:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (http != NULL)
		evhttp_free(http);
	if (base != NULL)
		event_base_free(base);
	return rc;
}
