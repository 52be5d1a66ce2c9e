/*
 * sse.c - the text/event-stream parser of sse.h, after the WHATWG HTML
 * standard's "Parsing an event stream": split lines on CRLF, LF or CR,
 * interpret fields, dispatch on an empty line.  The parser keeps the line
 * being read across feeds, so any chunking gives the same events.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"

struct sse_parser {
	sse_event_cb cb;
	void *arg;
	size_t max_event;
	struct buf line; /* the line being read */
	struct buf data; /* data lines so far, each followed by '\n' */
	struct buf event; /* the event type so far */
	struct buf last_id; /* the last event ID buffer */
	long retry_ms;
	bool cr_pending; /* the last byte was '\r': skip one '\n' */
	unsigned bom_seen; /* bytes of a leading BOM matched; 3 = done */
};

static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};

/* Replace b's content with n bytes of s. */
static int
set_bytes(struct buf *b, const char *s, size_t n)
{
	buf_reset(b);
	return buf_append(b, s, n);
}

struct sse_parser *
sse_parser_new(size_t max_event, sse_event_cb cb, void *arg)
{
	struct sse_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->cb = cb;
	p->arg = arg;
	p->max_event = max_event ? max_event : SSE_MAX_EVENT_DEFAULT;
	p->retry_ms = -1;
	return p;
}

void
sse_parser_free(struct sse_parser *p)
{
	if (p == NULL)
		return;
	buf_free(&p->line);
	buf_free(&p->data);
	buf_free(&p->event);
	buf_free(&p->last_id);
	free(p);
}

const char *
sse_parser_last_id(const struct sse_parser *p)
{
	return p->last_id.s != NULL ? p->last_id.s : "";
}

long
sse_parser_retry_ms(const struct sse_parser *p)
{
	return p->retry_ms;
}

void
sse_parser_reset(struct sse_parser *p)
{
	buf_reset(&p->line);
	buf_reset(&p->data);
	buf_reset(&p->event);
	p->cr_pending = false;
	p->bom_seen = 0;
}

/* An empty line: hand the event to the callback, then start anew. */
static int
dispatch(struct sse_parser *p)
{
	struct sse_event ev;
	int rc;

	if (p->data.len == 0) {
		buf_reset(&p->event);
		return 0;
	}
	p->data.s[--p->data.len] = '\0'; /* the last line's '\n' */
	ev.id = sse_parser_last_id(p);
	ev.event = p->event.len > 0 ? p->event.s : "message";
	ev.data = p->data.s;
	ev.data_len = p->data.len;
	rc = p->cb != NULL ? p->cb(&ev, p->arg) : 0;
	buf_reset(&p->data);
	buf_reset(&p->event);
	return rc;
}

/* "retry": only ASCII digits count; huge values are clamped. */
static void
set_retry(struct sse_parser *p, const char *v, size_t n)
{
	long ms = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return;
		if (ms < 86400000L)
			ms = ms * 10 + (v[i] - '0');
	}
	p->retry_ms = ms > 86400000L ? 86400000L : ms;
}

/* A complete line (without its end) is in p->line. */
static int
process_line(struct sse_parser *p, struct gantry_error *err)
{
	const char *line = p->line.s, *colon, *value;
	size_t n = p->line.len, flen, vlen;
	int rc = 0;

	if (n == 0)
		return dispatch(p);
	if (line[0] == ':')
		goto out; /* a comment (servers send them as keep-alives) */
	colon = memchr(line, ':', n);
	if (colon != NULL) {
		flen = (size_t)(colon - line);
		value = colon + 1;
		vlen = n - flen - 1;
		if (vlen > 0 && value[0] == ' ') {
			value++;
			vlen--;
		}
	} else {
		flen = n;
		value = line + n;
		vlen = 0;
	}
	if (flen == 4 && memcmp(line, "data", 4) == 0) {
		if (buf_append(&p->data, value, vlen) < 0 ||
		    buf_append(&p->data, "\n", 1) < 0)
			rc = gantry_error_set(
			    err, GANTRY_ENOMEM, "out of memory");
	} else if (flen == 5 && memcmp(line, "event", 5) == 0) {
		if (set_bytes(&p->event, value, vlen) < 0)
			rc = gantry_error_set(
			    err, GANTRY_ENOMEM, "out of memory");
	} else if (flen == 2 && memcmp(line, "id", 2) == 0) {
		if (memchr(value, '\0', vlen) == NULL &&
		    set_bytes(&p->last_id, value, vlen) < 0)
			rc = gantry_error_set(
			    err, GANTRY_ENOMEM, "out of memory");
	} else if (flen == 5 && memcmp(line, "retry", 5) == 0) {
		set_retry(p, value, vlen);
	}
out:
	buf_reset(&p->line);
	return rc;
}

/* Append n line bytes, within the cap. */
static int
line_append(
    struct sse_parser *p, const char *s, size_t n, struct gantry_error *err)
{
	if (p->line.len + n + p->data.len > p->max_event)
		return gantry_error_set(err, GANTRY_ETOOBIG,
		    "event stream: an event is larger than %zu bytes",
		    p->max_event);
	if (buf_append(&p->line, s, n) < 0)
		return gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
	return 0;
}

int
sse_parser_feed(
    struct sse_parser *p, const char *buf, size_t len, struct gantry_error *err)
{
	size_t i = 0;
	int rc;

	/* A BOM may itself be split over feeds: match it byte by byte. */
	while (p->bom_seen < 3 && i < len) {
		if ((unsigned char)buf[i] == bom[p->bom_seen]) {
			p->bom_seen++;
			i++;
			continue;
		}
		/* Not a BOM after all: the matched bytes are line bytes. */
		if (p->bom_seen > 0 &&
		    line_append(p, (const char *)bom, p->bom_seen, err) < 0)
			return -1;
		p->bom_seen = 3;
	}
	while (i < len) {
		size_t run = i;

		if (p->cr_pending) {
			p->cr_pending = false;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		while (run < len && buf[run] != '\r' && buf[run] != '\n')
			run++;
		if (run > i && line_append(p, buf + i, run - i, err) < 0)
			return -1;
		if (run == len)
			break;
		p->cr_pending = buf[run] == '\r';
		i = run + 1;
		rc = process_line(p, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}
