/*
 * http_sink.c - a local HTTP receiver for integration tests: every
 * request's body goes to a file, one line per request, so a test can see
 * what gantryd sent (notification webhooks).
 *
 *   http_sink --out FILE --port-file FILE [--fail N]
 *
 * Listens on 127.0.0.1, a port the kernel picks (written to --port-file
 * once listening).  Answers 200, or 503 to the first N requests (--fail)
 * to exercise retries.  Stops on SIGTERM.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static FILE *out;
static int fail_first;

static void
handle(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *body = malloc(n + 1);

	(void)arg;
	if (body == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_remove(in, body, n);
	body[n] = '\0';
	if (fail_first > 0) {
		fail_first--;
		fprintf(out, "# refused %s\n", body);
		fflush(out);
		free(body);
		evhttp_send_error(req, 503, "try again");
		return;
	}
	fprintf(out, "%s\n", body);
	fflush(out);
	free(body);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	const char *out_path = NULL, *port_path = NULL;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct event *sig;
	struct sockaddr_storage ss;
	ev_socklen_t len = sizeof(ss);
	FILE *pf;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--out") == 0)
			out_path = argv[i + 1];
		else if (strcmp(argv[i], "--port-file") == 0)
			port_path = argv[i + 1];
		else if (strcmp(argv[i], "--fail") == 0)
			fail_first = atoi(argv[i + 1]);
	}
	if (out_path == NULL || port_path == NULL) {
		fprintf(stderr,
		    "usage: http_sink --out FILE --port-file FILE "
		    "[--fail N]\n");
		return 2;
	}
	if ((out = fopen(out_path, "a")) == NULL) {
		perror(out_path);
		return 1;
	}
	base = event_base_new();
	http = base ? evhttp_new(base) : NULL;
	sock =
	    http ? evhttp_bind_socket_with_handle(http, "127.0.0.1", 0) : NULL;
	if (sock == NULL) {
		fprintf(stderr, "http_sink: cannot listen\n");
		return 1;
	}
	evhttp_set_gencb(http, handle, NULL);
	getsockname(
	    evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len);
	if ((pf = fopen(port_path, "w")) == NULL) {
		perror(port_path);
		return 1;
	}
	fprintf(pf, "%d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fclose(pf);
	sig = evsignal_new(base, SIGTERM, stop, base);
	event_add(sig, NULL);
	event_base_dispatch(base);
	event_free(sig);
	evhttp_free(http);
	event_base_free(base);
	fclose(out);
	return 0;
}
