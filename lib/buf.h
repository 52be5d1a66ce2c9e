/*
 * buf.h - a growable byte buffer: append bytes or printf output, then
 * hand the string over.  The content is always NUL-terminated once
 * anything is stored, so text users can read b->s directly; binary
 * content (embedded NULs) is fine too, b->len counts the bytes.
 */
#ifndef GANTRY_BUF_H
#define GANTRY_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/*
 * Callers embed the struct; zero-initialised it is an empty buffer with no
 * cap.  Set max before the first append to cap the content at max bytes
 * (0: no cap).  s is NULL until the first append; then s[len] == '\0'.
 *
 * Failures are sticky: once an append hits the cap (toobig) or fails to
 * allocate (oom), the content stays as it was before that append and
 * every later append fails too, until buf_reset(), buf_take() or
 * buf_free().  So a builder may ignore the result of each step and look
 * once at the end (buf_failed(), or buf_take() returning NULL on oom).
 */
struct buf {
	char *s;
	size_t len, cap;
	size_t max; /* most bytes the content may hold; 0: no cap */
	bool oom; /* an allocation failed */
	bool toobig; /* an append would have passed max */
};

/* Append n bytes of p (which may hold NULs).  Returns 0, or -1 when the
 * buffer has failed before, the content would pass b->max (sets toobig)
 * or memory runs out (sets oom); the content is then left as it was. */
int buf_append(struct buf *b, const void *p, size_t n) MUSTCHECK;

/* Append one byte; as buf_append(). */
int buf_putc(struct buf *b, char ch) MUSTCHECK;

/* Append printf output; as buf_append(), and an encoding error of the
 * format sets oom. */
int buf_printf(struct buf *b, const char *fmt, ...) PRINTFLIKE(2, 3) MUSTCHECK;

/* buf_append(), a C string's bytes and buf_printf() for builders that
 * check once at the end: a failure only sets the sticky flags (above). */
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) PRINTFLIKE(2, 3);

/* True when an append has failed since the last reset (oom or toobig). */
bool buf_failed(const struct buf *b);

/* Drop the first n bytes (all when n >= len), keeping the memory. */
void buf_consume(struct buf *b, size_t n);

/*
 * Hand the content over as a NUL-terminated string ("" when empty, never
 * NULL unless out of memory); *len (when not NULL) gets its length.  The
 * caller frees it with free().  Returns NULL, freeing the content, when
 * the buffer is oom; a toobig buffer hands over what it holds.  Either
 * way b is left empty (flags cleared, max kept).
 */
char *buf_take(struct buf *b, size_t *len) MUSTCHECK;

/* Empty the buffer and clear the flags, keeping the memory and max. */
void buf_reset(struct buf *b);

/* Free the memory and leave b empty (max kept); b may be NULL. */
void buf_free(struct buf *b);

#endif /* GANTRY_BUF_H */
