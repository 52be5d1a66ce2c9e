/*
 * jsonw.c - the JSON writer of jsonw.h.
 */
#include "jsonw.h"

#include <stdlib.h>
#include <string.h>

/* A comma when the text so far ends with a complete value. */
static void
sep(struct buf *b)
{
	if (b->len == 0)
		return;
	switch (b->s[b->len - 1]) {
	case '{':
	case '[':
	case ':':
	case ',':
		return;
	default:
		buf_add(b, ",", 1);
	}
}

void
jw_open(struct buf *b, char bracket)
{
	sep(b);
	buf_add(b, &bracket, 1);
}

void
jw_close(struct buf *b, char bracket)
{
	buf_add(b, &bracket, 1);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * overlong forms, surrogates and code points past U+10FFFF are invalid,
 * as jansson has them. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return len;
}

void
jw_strn(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0;

	sep(b);
	buf_add(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		char esc[7];
		size_t elen = 2, ulen;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80 && (ulen = utf8_len(p + i, n - i)) > 0) {
			i += ulen;
			run += ulen;
			continue;
		}
		buf_add(b, p + i - run, run);
		run = 0;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			if (c >=
			    0x80) { /* not UTF-8: the replacement character */
				memcpy(esc, "\\uFFFD", 6);
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xF];
			}
			elen = 6;
		}
		buf_add(b, esc, elen);
		i++;
	}
	buf_add(b, p + n - run, run);
	buf_add(b, "\"", 1);
}

void
jw_str(struct buf *b, const char *s)
{
	if (s == NULL)
		jw_null(b);
	else
		jw_strn(b, s, strlen(s));
}

void
jw_key(struct buf *b, const char *key)
{
	jw_str(b, key);
	buf_add(b, ":", 1);
}

void
jw_int(struct buf *b, int64_t v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *q = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--q = '-';
	sep(b);
	buf_add(b, q, (size_t)(e - q));
}

void
jw_bool(struct buf *b, bool v)
{
	sep(b);
	if (v)
		buf_add(b, "true", 4);
	else
		buf_add(b, "false", 5);
}

void
jw_null(struct buf *b)
{
	sep(b);
	buf_add(b, "null", 4);
}

void
jw_kstr(struct buf *b, const char *key, const char *v)
{
	jw_key(b, key);
	jw_str(b, v);
}

void
jw_kint(struct buf *b, const char *key, int64_t v)
{
	jw_key(b, key);
	jw_int(b, v);
}

void
jw_kbool(struct buf *b, const char *key, bool v)
{
	jw_key(b, key);
	jw_bool(b, v);
}

void
jw_json(struct buf *b, const json_t *j)
{
	char *s;

	if (j == NULL) {
		jw_null(b);
		return;
	}
	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL) {
		b->oom = true;
		return;
	}
	jw_raw(b, s, strlen(s));
	free(s);
}

void
jw_raw(struct buf *b, const char *json, size_t n)
{
	sep(b);
	buf_add(b, json, n);
}
