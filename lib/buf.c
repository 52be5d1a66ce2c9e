/*
 * buf.c - the growable byte buffer of buf.h.  Capacity starts at
 * BUF_MIN_CAP and doubles; every size computation is checked for
 * overflow, and a failed append leaves the content untouched.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_MIN_CAP 64

/* Make room for n more bytes plus the NUL.  Returns 0, or -1 with the
 * matching flag set (the content untouched). */
static int
buf_grow(struct buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom || b->toobig)
		return -1;
	if (n > SIZE_MAX - 1 - b->len) {
		b->oom = true;
		return -1;
	}
	if (b->max != 0 && b->len + n > b->max) {
		b->toobig = true;
		return -1;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->s, cap)) == NULL) {
		b->oom = true;
		return -1;
	}
	b->s = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int
buf_putc(struct buf *b, char ch)
{
	return buf_append(b, &ch, 1);
}

static int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->oom || b->toobig)
		return -1;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->oom = true;
		return -1;
	}
	if (buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_append(b, p, n) < 0)
		return; /* recorded in the flags */
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(b, fmt, ap) < 0) {
		/* recorded in the flags */
	}
	va_end(ap);
}

bool
buf_failed(const struct buf *b)
{
	return b->oom || b->toobig;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		n = b->len;
	} else {
		memmove(b->s, b->s + n, b->len - n);
	}
	b->len -= n;
	if (b->s != NULL)
		b->s[b->len] = '\0';
}

char *
buf_take(struct buf *b, size_t *len)
{
	char *s = b->s;
	size_t n = b->len;

	if (b->oom) {
		free(s);
		s = NULL;
		n = 0;
	} else if (s == NULL) {
		s = strdup("");
	}
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = b->toobig = false;
	if (len != NULL)
		*len = s != NULL ? n : 0;
	return s;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
	b->oom = b->toobig = false;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = b->toobig = false;
}
