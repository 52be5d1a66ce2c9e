/*
 * sse.h - a parser for Server-Sent Events (the text/event-stream format of
 * the WHATWG HTML standard, "Server-sent events", section "Parsing an event
 * stream").  Bytes go in as they arrive, in chunks of any size; a callback
 * gets each complete event.  No I/O: the caller owns the connection.
 */
#ifndef GANTRY_SSE_H
#define GANTRY_SSE_H

#include <stddef.h>

#include "error.h"

/* Default cap on one event (its data plus the line being read). */
#define SSE_MAX_EVENT_DEFAULT (16u * 1024 * 1024)

/* One dispatched event; every pointer is borrowed for the callback only. */
struct sse_event {
	const char *id; /* the last event ID so far ("" when none) */
	const char *event; /* the event type; "message" when not given */
	const char *data; /* data lines joined by '\n', NUL-terminated */
	size_t data_len;
};

/* Called once per event.  Return 0 to go on; any other value stops
 * sse_parser_feed(), which returns that value. */
typedef int (*sse_event_cb)(const struct sse_event *ev, void *arg);

struct sse_parser;

/*
 * A parser that calls cb(ev, arg) per event.  max_event caps the bytes of
 * one event's data plus the line being read (0: SSE_MAX_EVENT_DEFAULT).
 * Returns NULL when out of memory; caller frees with sse_parser_free().
 */
struct sse_parser *sse_parser_new(
    size_t max_event, sse_event_cb cb, void *arg) MUSTCHECK;

/* Free p; NULL is a no-op. */
void sse_parser_free(struct sse_parser *p);

/*
 * Feed len bytes of the stream (buf borrowed for the call; may be NULL
 * when len is 0).  Lines end in "\r\n", "\n" or "\r", also when a chunk
 * boundary splits a "\r\n"; a leading UTF-8 BOM is skipped; lines that
 * start with ':' are comments; "data" lines accumulate, "event" sets the
 * type, "id" sets the last event ID (unless it contains a NUL), "retry"
 * with only digits sets the reconnection time; other fields are ignored.
 * An empty line dispatches the event (nothing when no data line came).
 *
 * Returns 0 when every byte was consumed, a callback's non-zero value when
 * it stopped the parser (the rest of buf is dropped), or -1 with err set
 * (GANTRY_ETOOBIG past max_event, GANTRY_ENOMEM); after -1 the parser
 * must be freed.  err may be NULL.
 */
int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len,
    struct gantry_error *err) MUSTCHECK;

/* The last event ID seen ("" when none); borrowed until the next feed. */
const char *sse_parser_last_id(const struct sse_parser *p);

/* The reconnection time the server asked for in ms, or -1 if none. */
long sse_parser_retry_ms(const struct sse_parser *p);

/* Forget a partial line and event (after a dropped connection) but keep
 * the last event ID and retry, as a reconnecting client must. */
void sse_parser_reset(struct sse_parser *p);

#endif /* GANTRY_SSE_H */
