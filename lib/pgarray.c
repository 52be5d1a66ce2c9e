/*
 * pgarray.c - binary-format PostgreSQL arrays (pgarray.h).
 *
 * Layout (array_send): int32 ndim, int32 flags (1: has NULLs), uint32
 * element type; per dimension int32 size and int32 lower bound (1); then
 * per element int32 length (-1: NULL) and its bytes.  An empty array has
 * ndim 0 and no dimension.
 */
#include "pgarray.h"

#include <stdlib.h>
#include <string.h>

#define PGA_HEADER 20 /* ndim, flags, type, size, lower bound */

static void
put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static void
add32(struct buf *b, uint32_t v)
{
	char p[4];

	put32(p, v);
	buf_add(b, p, 4);
}

void
pga_init(struct pgarray *a, enum pga_type t)
{
	static const char zero[PGA_HEADER];

	memset(a, 0, sizeof(*a));
	a->type = t;
	buf_add(&a->b, zero, sizeof(zero));
}

/* Count one more element; false (the buf failed) past INT32_MAX. */
static bool
count(struct pgarray *a)
{
	if (a->n == INT32_MAX) {
		a->b.toobig = true;
		return false;
	}
	a->n++;
	return true;
}

/* One element of n (<= 8) bytes v, after its length. */
static void
fixed(struct pgarray *a, const char *v, uint32_t n)
{
	char p[12];

	if (!count(a))
		return;
	put32(p, n);
	memcpy(p + 4, v, n);
	buf_add(&a->b, p, 4 + n);
}

void
pga_int8(struct pgarray *a, int64_t v)
{
	char p[8];

	put32(p, (uint32_t)((uint64_t)v >> 32));
	put32(p + 4, (uint32_t)v);
	fixed(a, p, 8);
}

void
pga_int4(struct pgarray *a, int32_t v)
{
	char p[4];

	put32(p, (uint32_t)v);
	fixed(a, p, 4);
}

void
pga_bool(struct pgarray *a, bool v)
{
	char p = v ? 1 : 0;

	fixed(a, &p, 1);
}

void
pga_null(struct pgarray *a)
{
	if (!count(a))
		return;
	a->hasnull = true;
	add32(&a->b, UINT32_MAX); /* -1 */
}

void
pga_bytes(struct pgarray *a, const void *p, size_t n)
{
	size_t total = n + (a->type == PGA_JSONB ? 1 : 0);

	if (total > INT32_MAX) {
		a->b.toobig = true;
		return;
	}
	if (!count(a))
		return;
	add32(&a->b, (uint32_t)total);
	if (a->type == PGA_JSONB)
		buf_add(&a->b, "\1", 1); /* jsonb's binary format version */
	buf_add(&a->b, p, n);
}

void
pga_str(struct pgarray *a, const char *s)
{
	if (s == NULL)
		pga_null(a);
	else
		pga_bytes(a, s, strlen(s));
}

char *
pga_finish(struct pgarray *a, size_t *len)
{
	char *s;
	size_t n;

	if (buf_failed(&a->b)) {
		pga_free(a);
		return NULL;
	}
	if (a->n == 0) {
		/* ndim 0: no dimension, no lower bound */
		put32(a->b.s, 0);
		put32(a->b.s + 4, 0);
		put32(a->b.s + 8, (uint32_t)a->type);
		a->b.len = 12;
		a->b.s[12] = '\0';
	} else {
		put32(a->b.s, 1);
		put32(a->b.s + 4, a->hasnull ? 1 : 0);
		put32(a->b.s + 8, (uint32_t)a->type);
		put32(a->b.s + 12, (uint32_t)a->n);
		put32(a->b.s + 16, 1);
	}
	s = buf_take(&a->b, &n);
	pga_free(a);
	if (s != NULL && len != NULL)
		*len = n;
	return s;
}

void
pga_free(struct pgarray *a)
{
	buf_free(&a->b);
	a->n = 0;
	a->hasnull = false;
}
