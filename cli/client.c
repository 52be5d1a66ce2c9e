/*
 * client.c - the HTTP side of gantryctl (client.h) over a libcurl easy
 * handle: requests with capped bodies and fixed timeouts, and event
 * streams fed to lib/sse.c as the bytes arrive.  Messages name the server
 * so "cannot reach" says where gantryctl looked.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "client.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define USER_AGENT "gantryctl/" PACKAGE_VERSION

static bool
has_line_break(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

struct client *
client_new(const char *server, const char *token, char *err, size_t errlen)
{
	struct client *c = NULL;
	size_t n;

	if (strncasecmp(server, "http://", 7) != 0 &&
	    strncasecmp(server, "https://", 8) != 0) {
		snprintf(err, errlen,
		    "server \"%s\" is not an http:// or https:// URL", server);
		return NULL;
	}
	if (has_line_break(server) || has_line_break(token)) {
		snprintf(err, errlen,
		    "the server URL or token has a line "
		    "break");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto oom;
	c->connect_timeout_ms = CLIENT_CONNECT_TIMEOUT_MS;
	c->request_timeout_ms = CLIENT_REQUEST_TIMEOUT_MS;
	c->server = strdup(server);
	if (c->server == NULL)
		goto oom;
	n = strlen(c->server);
	while (n > 0 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	if (token != NULL && *token != '\0' &&
	    (c->token = strdup(token)) == NULL)
		goto oom;
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		goto oom;
	return c;
oom:
	snprintf(err, errlen, "out of memory");
	client_free(c);
	if (c == NULL)
		curl_global_cleanup();
	return NULL;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->server);
	free(c->token);
	free(c);
	curl_global_cleanup();
}

char *
client_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return out;
}

/* The headers every exchange sends, plus extra (may be NULL). */
static struct curl_slist *
base_headers(const struct client *c, const char *accept, bool *oom)
{
	struct curl_slist *h = NULL, *t;
	char line[4096];

	snprintf(line, sizeof(line), "Accept: %s", accept);
	t = curl_slist_append(h, line);
	if (t == NULL)
		goto oom;
	h = t;
	if (c->token != NULL) {
		char *auth = NULL;

		if (asprintf(&auth, "Authorization: Bearer %s", c->token) < 0)
			goto oom;
		t = curl_slist_append(h, auth);
		free(auth);
		if (t == NULL)
			goto oom;
		h = t;
	}
	return h;
oom:
	*oom = true;
	curl_slist_free_all(h);
	return NULL;
}

static bool
add_header(struct curl_slist **h, const char *name, const char *value)
{
	struct curl_slist *t;
	char *line = NULL;

	if (asprintf(&line, "%s: %s", name, value) < 0)
		return false;
	t = curl_slist_append(*h, line);
	free(line);
	if (t == NULL)
		return false;
	*h = t;
	return true;
}

/* Options common to requests and streams. */
static char *
setup(struct client *c, const char *path, struct curl_slist *headers,
    char *errbuf)
{
	CURL *h = c->curl;
	char *url = NULL;

	if (asprintf(&url, "%s%s", c->server, path) < 0)
		return NULL;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	errbuf[0] = '\0';
	return url;
}

/* "cannot reach gantryd at URL: why" */
static void
transport_error(const struct client *c, CURLcode rc, const char *errbuf,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot reach gantryd at %s: %s", c->server,
	    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
}

static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	return buf_append(b, ptr, size * nmemb) < 0 ? 0 : size * nmemb;
}

int
client_request(struct client *c, const char *method, const char *path,
    const char *ctype, const char *body, size_t len, const char *idem_key,
    long *status, char **resp, size_t *resp_len, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL;
	struct buf b = {.max = CLIENT_MAX_RESPONSE};
	bool oom = false;
	char *url = NULL;
	CURLcode rc;
	int ret = -1;

	*status = 0;
	*resp = NULL;
	*resp_len = 0;
	if (has_line_break(idem_key) || has_line_break(ctype)) {
		snprintf(err, errlen, "a header value has a line break");
		return -1;
	}
	headers = base_headers(c, "application/json", &oom);
	if (oom ||
	    (body != NULL && ctype != NULL &&
	        !add_header(&headers, "Content-Type", ctype)) ||
	    (idem_key != NULL &&
	        !add_header(&headers, "Idempotency-Key", idem_key)))
		goto oom;
	url = setup(c, path, headers, errbuf);
	if (url == NULL)
		goto oom;
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->request_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
	if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
		if (body != NULL || strcmp(method, "POST") == 0) {
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)(body != NULL ? len : 0));
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS,
			    body != NULL ? body : "");
		}
	}
	rc = curl_easy_perform(c->curl);
	if (b.toobig) {
		snprintf(err, errlen,
		    "%s %s%s: the response is larger than %u bytes", method,
		    c->server, path, CLIENT_MAX_RESPONSE);
		goto out;
	}
	if (b.oom)
		goto oom;
	if (rc != CURLE_OK) {
		transport_error(c, rc, errbuf, err, errlen);
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	if ((*resp = buf_take(&b, resp_len)) == NULL)
		goto oom;
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	buf_free(&b);
	free(url);
	curl_slist_free_all(headers);
	return ret;
}

/* State of one stream exchange. */
struct stream {
	CURL *h;
	struct sse_parser *p;
	client_tick_cb tick;
	void *arg;
	time_t last_tick;
	bool checked; /* the status and type were looked at */
	bool is_stream; /* a 2xx text/event-stream */
	bool not_stream; /* a 2xx of another type */
	bool stopped; /* a callback closed it */
	bool parse_failed;
	struct gantry_error perr;
	struct buf err_body; /* the body of a non-2xx answer, capped */
};

static void
stream_check(struct stream *s)
{
	const char *type = NULL;
	long code = 0;

	s->checked = true;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(s->h, CURLINFO_CONTENT_TYPE, &type);
	if (code / 100 != 2)
		return;
	if (type != NULL && strncasecmp(type, "text/event-stream", 17) == 0)
		s->is_stream = true;
	else
		s->not_stream = true;
}

static size_t
write_stream(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct stream *s = arg;
	size_t n = size * nmemb;
	int rc;

	if (!s->checked)
		stream_check(s);
	if (s->not_stream)
		return 0;
	if (!s->is_stream) {
		if (buf_append(&s->err_body, ptr, n) < 0 && s->err_body.oom)
			return 0;
		return n; /* a too big one is cut */
	}
	rc = sse_parser_feed(s->p, ptr, n, &s->perr);
	if (rc < 0) {
		s->parse_failed = true;
		return 0;
	}
	if (rc != 0) {
		s->stopped = true;
		return 0;
	}
	return n;
}

static int
xferinfo_stream(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct stream *s = arg;
	time_t now = time(NULL);

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (s->tick == NULL || now == s->last_tick)
		return 0;
	s->last_tick = now;
	if (s->tick(s->arg) != 0) {
		s->stopped = true;
		return 1;
	}
	return 0;
}

int
client_stream(struct client *c, const char *path, const char *last_event_id,
    sse_event_cb cb, void *arg, client_tick_cb tick, long *status, char **resp,
    size_t *resp_len, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL;
	struct stream s = {
	    .tick = tick, .arg = arg, .err_body = {.max = CLIENT_MAX_RESPONSE}};
	bool oom = false;
	char *url = NULL;
	CURLcode rc;
	int ret = -1;

	*status = 0;
	*resp = NULL;
	*resp_len = 0;
	if (has_line_break(last_event_id)) {
		snprintf(err, errlen, "the last event ID has a line break");
		return -2;
	}
	s.h = c->curl;
	s.p = sse_parser_new(CLIENT_MAX_EVENT, cb, arg);
	headers = base_headers(c, "text/event-stream", &oom);
	if (s.p == NULL || oom ||
	    !add_header(&headers, "Cache-Control", "no-cache") ||
	    (last_event_id != NULL && *last_event_id != '\0' &&
	        !add_header(&headers, "Last-Event-ID", last_event_id)))
		goto oom;
	url = setup(c, path, headers, errbuf);
	if (url == NULL)
		goto oom;
	curl_easy_setopt(s.h, CURLOPT_WRITEFUNCTION, write_stream);
	curl_easy_setopt(s.h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s.h, CURLOPT_XFERINFOFUNCTION, xferinfo_stream);
	curl_easy_setopt(s.h, CURLOPT_XFERINFODATA, &s);
	curl_easy_setopt(s.h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(s.h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(s.h, CURLOPT_TCP_KEEPINTVL, 10L);
	rc = curl_easy_perform(s.h);
	curl_easy_getinfo(s.h, CURLINFO_RESPONSE_CODE, status);
	if (s.stopped) {
		ret = 0;
		goto out;
	}
	ret = -2;
	if (s.parse_failed) {
		snprintf(err, errlen, "%s%s: %s", c->server, path, s.perr.msg);
		goto out;
	}
	if (s.not_stream) {
		snprintf(err, errlen,
		    "%s%s: the server did not answer with an event stream",
		    c->server, path);
		goto out;
	}
	ret = -1;
	if (s.err_body.oom)
		goto oom;
	if (rc != CURLE_OK) {
		if (*status / 100 == 2)
			snprintf(err, errlen,
			    "the event stream from %s broke: %s", c->server,
			    errbuf[0] != '\0' ? errbuf
			                      : curl_easy_strerror(rc));
		else
			transport_error(c, rc, errbuf, err, errlen);
		goto out;
	}
	if (!s.is_stream && (*resp = buf_take(&s.err_body, resp_len)) == NULL)
		goto oom;
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
	ret = -2;
out:
	buf_free(&s.err_body);
	sse_parser_free(s.p);
	free(url);
	curl_slist_free_all(headers);
	return ret;
}
