/*
 * pgarray.h - one-dimensional arrays in PostgreSQL's binary format (what
 * array_send writes and array_recv reads), built in C for binary query
 * parameters: a batch of rows goes to the server as one array per column
 * (unnest($1::bigint[], $2::text[], ...)) that it reads without parsing
 * any text, where a JSON array of objects costs a lexer pass per byte.
 *
 * Built element by element into a buf (buf.h); failures are the buf's
 * sticky ones and show in pga_finish().  Integers go big-endian, as the
 * protocol has them.  Element types are the server's OIDs below; the
 * server refuses an array whose element type is not the parameter's.
 */
#ifndef GANTRY_PGARRAY_H
#define GANTRY_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum pga_type {
	PGA_BOOL = 16,
	PGA_BYTEA = 17,
	PGA_INT8 = 20,
	PGA_INT4 = 23,
	PGA_TEXT = 25,
	PGA_JSON = 114,
	PGA_JSONB = 3802,
};

struct pgarray {
	struct buf b; /* header (filled by pga_finish), then elements */
	enum pga_type type;
	int32_t n;
	bool hasnull;
};

/* An empty array of elements of type t (a zeroed struct is not ready). */
void pga_init(struct pgarray *a, enum pga_type t);

void pga_int8(struct pgarray *a, int64_t v);
void pga_int4(struct pgarray *a, int32_t v);
void pga_bool(struct pgarray *a, bool v);
void pga_null(struct pgarray *a);

/* A text, bytea or json element: its n bytes as they are.  For jsonb,
 * the format's version byte is put in front.  Text and JSON must be
 * valid UTF-8 (the server checks). */
void pga_bytes(struct pgarray *a, const void *p, size_t n);

/* pga_bytes() of a C string, or pga_null() for NULL. */
void pga_str(struct pgarray *a, const char *s);

/* The binary value: the array's bytes in a new buffer (caller frees),
 * their count in *len; NULL when out of memory or past the format's
 * limits.  a is left empty (pga_init() again to reuse it). */
char *pga_finish(struct pgarray *a, size_t *len);

/* Free what a holds. */
void pga_free(struct pgarray *a);

#endif /* GANTRY_PGARRAY_H */
