/*
 * jsonw.h - JSON text written straight into a buf (buf.h), without
 * building a jansson tree first: the engine writes a snapshot per
 * execution and an event row per transition for every group commit, and
 * allocating and freeing a tree per snapshot was most of its CPU.
 *
 * The text is byte for byte what json_dumps(..., JSON_COMPACT) gives for
 * the same values (same escapes, no spaces), so either can read or
 * compare the other's output.  Separators are implicit: a key, a value or
 * an opening bracket written after a complete value gets a comma first.
 * Failures are the buf's sticky ones: check buf_failed() once at the end.
 */
#ifndef GANTRY_JSONW_H
#define GANTRY_JSONW_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

/* '{' or '[' (a comma first when it follows a value). */
void jw_open(struct buf *b, char bracket);

/* '}' or ']'. */
void jw_close(struct buf *b, char bracket);

/* "key": (a comma first when it follows a value). */
void jw_key(struct buf *b, const char *key);

/* A string value, escaped as jansson does (\" \\ \b \f \n \r \t, other
 * control characters \u00XX, UTF-8 kept as is); NULL writes null.
 * Bytes that are not valid UTF-8 are written as \uFFFD, so the output is
 * always valid JSON text that PostgreSQL accepts. */
void jw_str(struct buf *b, const char *s);

/* The same, n bytes of s. */
void jw_strn(struct buf *b, const char *s, size_t n);

void jw_int(struct buf *b, int64_t v);
void jw_bool(struct buf *b, bool v);
void jw_null(struct buf *b);

/* "key":value in one call (the value as jw_str, jw_int, jw_bool). */
void jw_kstr(struct buf *b, const char *key, const char *v);
void jw_kint(struct buf *b, const char *key, int64_t v);
void jw_kbool(struct buf *b, const char *key, bool v);

/* A jansson value as json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes
 * it; NULL writes null. */
void jw_json(struct buf *b, const json_t *j);

/* Text that is already JSON (one complete value), as is. */
void jw_raw(struct buf *b, const char *json, size_t n);

#endif /* GANTRY_JSONW_H */
