/*
 * yaml_load.c - YAML text to a jansson tree, built on libyaml's event API.
 *
 * A stack of open containers receives nodes as events arrive; plain scalars
 * are typed per the YAML 1.2 core schema (spec 1.2.2, section 10.3.2);
 * aliases are deep copies, limited by a node budget (PLATFORM.md section 5).
 */
#include "yaml_load.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* Longest piece of input quoted back in an error message. */
#define QUOTE_MAX 40

#define TAG_PREFIX "tag:yaml.org,2002:"

enum scalar_kind {
	KIND_IMPLICIT, /* plain, untagged: resolve by the core schema */
	KIND_STR,
	KIND_INT,
	KIND_FLOAT,
	KIND_BOOL,
	KIND_NULL,
	KIND_BAD, /* a tag we do not support */
};

struct frame {
	json_t *node; /* open array or object (owned) */
	char *anchor; /* its anchor, registered when it closes, or NULL */
	char *key; /* mapping only: pending key (owned) or NULL */
	size_t key_len;
};

struct loader {
	yaml_parser_t parser;
	const char *buf;
	size_t len;
	struct frame stack[YAML_LOAD_MAX_DEPTH];
	int depth;
	json_t *anchors; /* anchor name -> completed value */
	json_t *root;
	size_t nodes;
	struct gantry_error *err;
};

static int fail_at(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
    PRINTFLIKE(3, 4);

static int
fail_at(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
	char what[GANTRY_ERROR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return gantry_error_set(ld->err, GANTRY_EINVAL,
	    "line %zu, column %zu: %s", mark.line + 1, mark.column + 1, what);
}

static int
fail_nomem(struct loader *ld)
{
	return gantry_error_set(
	    ld->err, GANTRY_ENOMEM, "out of memory while loading YAML");
}

/* libyaml reader errors (bad UTF-8, control characters) carry only a byte
 * offset: turn it into a line and a (byte) column of our own. */
static int
fail_parser(struct loader *ld)
{
	yaml_parser_t *p = &ld->parser;
	yaml_mark_t mark = p->problem_mark;
	const char *problem = p->problem ? p->problem : "unknown error";
	size_t i;

	if (p->error == YAML_MEMORY_ERROR)
		return fail_nomem(ld);
	if (p->error == YAML_READER_ERROR) {
		memset(&mark, 0, sizeof(mark));
		for (i = 0; i < p->problem_offset && i < ld->len; i++) {
			if (ld->buf[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else {
				mark.column++;
			}
		}
	}
	if (p->context == NULL)
		return fail_at(ld, mark, "%s", problem);
	return fail_at(ld, mark, "%s (%s at line %zu)", problem, p->context,
	    p->context_mark.line + 1);
}

/* Map an explicit tag to the kind it forces.  "!" is the non-specific tag
 * of a quoted scalar: a string. */
static enum scalar_kind
tag_kind(const yaml_char_t *utag)
{
	const char *tag = (const char *)utag;
	static const struct {
		const char *name;
		enum scalar_kind kind;
	} known[] = {
	    {"str", KIND_STR},
	    {"int", KIND_INT},
	    {"float", KIND_FLOAT},
	    {"bool", KIND_BOOL},
	    {"null", KIND_NULL},
	};
	size_t i;

	if (tag == NULL)
		return KIND_IMPLICIT;
	if (strcmp(tag, "!") == 0)
		return KIND_STR;
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return KIND_BAD;
	tag += strlen(TAG_PREFIX);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(tag, known[i].name) == 0)
			return known[i].kind;
	return KIND_BAD;
}

/* Containers accept no tag, "!", or their own core tag. */
static bool
container_tag_ok(const yaml_char_t *utag, const char *own)
{
	const char *tag = (const char *)utag;

	if (tag == NULL || strcmp(tag, "!") == 0)
		return true;
	return strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 &&
	    strcmp(tag + strlen(TAG_PREFIX), own) == 0;
}

static bool
text_is(const char *s, size_t len, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strlen(*words) == len && memcmp(s, *words, len) == 0)
			return true;
	return false;
}

static const char *const null_words[] = {"null", "Null", "NULL", "~", NULL};
static const char *const true_words[] = {"true", "True", "TRUE", NULL};
static const char *const false_words[] = {"false", "False", "FALSE", NULL};
static const char *const inf_words[] = {".inf", ".Inf", ".INF", "+.inf",
    "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL};

static int
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/*
 * Core schema integers: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+.
 * Returns 1 and sets *out when s is one that fits int64, 0 when s is not an
 * integer, -1 when it is one but out of range.
 */
static int
parse_int(const char *s, size_t len, int64_t *out)
{
	uint64_t mag = 0, limit = INT64_MAX;
	unsigned base = 10;
	bool neg = false, range = true;
	size_t i = 0;
	int d;

	if (len > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
		base = s[1] == 'o' ? 8 : 16;
		i = 2;
	} else if (len > 1 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		limit = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
		i = 1;
	}
	if (i == len)
		return 0;
	for (; i < len; i++) {
		d = digit_value(s[i]);
		if (d >= (int)base)
			return 0;
		if (mag > (limit - (unsigned)d) / base)
			range = false;
		else
			mag = mag * base + (unsigned)d;
	}
	if (!range)
		return -1;
	if (neg)
		*out =
		    mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	else
		*out = (int64_t)mag;
	return 1;
}

static size_t
skip_digits(const char *s, size_t i, size_t len)
{
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* Core schema floats:
 * [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool
is_float(const char *s, size_t len)
{
	size_t i = 0, j;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i < len && s[i] == '.') {
		j = skip_digits(s, i + 1, len);
		if (j == i + 1)
			return false;
		i = j;
	} else {
		j = skip_digits(s, i, len);
		if (j == i)
			return false;
		i = j;
		if (i < len && s[i] == '.')
			i = skip_digits(s, i + 1, len);
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		j = skip_digits(s, i, len);
		if (j == i)
			return false;
		i = j;
	}
	return i == len;
}

/* Type one scalar.  Returns a new reference, or NULL with the error set. */
static json_t *
scalar_value(struct loader *ld, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	int qlen = len > QUOTE_MAX ? QUOTE_MAX : (int)len;
	enum scalar_kind kind = tag_kind(ev->data.scalar.tag);
	bool implicit = kind == KIND_IMPLICIT;
	const char *tname = implicit ? "" : (const char *)ev->data.scalar.tag;
	json_t *v;
	int64_t i = 0;
	double d;
	int rc;

	if (kind == KIND_BAD) {
		fail_at(ld, ev->start_mark, "unsupported tag \"%s\"", tname);
		return NULL;
	}
	if (implicit && ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		kind = KIND_STR;
	if (kind == KIND_STR)
		goto string;

	if ((implicit || kind == KIND_NULL) &&
	    (len == 0 || text_is(s, len, null_words)))
		return json_null();
	if (implicit || kind == KIND_BOOL) {
		if (text_is(s, len, true_words))
			return json_true();
		if (text_is(s, len, false_words))
			return json_false();
	}
	if (implicit || kind == KIND_INT || kind == KIND_FLOAT) {
		rc = parse_int(s, len, &i);
		if (rc < 0 && kind != KIND_FLOAT) {
			fail_at(ld, ev->start_mark,
			    "integer %.*s does not fit in 64 bits", qlen, s);
			return NULL;
		}
		if (rc > 0 && kind != KIND_FLOAT)
			return json_integer(i);
	}
	if (implicit || kind == KIND_FLOAT) {
		if (text_is(s, len, inf_words)) {
			fail_at(ld, ev->start_mark,
			    "%.*s cannot be represented in JSON", qlen, s);
			return NULL;
		}
		if (is_float(s, len)) {
			/* s is NUL-terminated by libyaml; is_float() has
			 * vetted it, so strtod() reads exactly len bytes. */
			d = strtod(s, NULL);
			if (!isfinite(d)) {
				fail_at(ld, ev->start_mark,
				    "%.*s cannot be represented in JSON", qlen,
				    s);
				return NULL;
			}
			return json_real(d);
		}
	}
	if (!implicit) {
		fail_at(ld, ev->start_mark, "invalid !!%s value \"%.*s\"",
		    tname + strlen(TAG_PREFIX), qlen, s);
		return NULL;
	}
string:
	v = json_stringn(s, len);
	if (v == NULL)
		fail_nomem(ld);
	return v;
}

/* Count the nodes of v (stopping once past cap) and its container depth. */
static void
measure(const json_t *v, size_t cap, size_t *nodes, int level, int *depth)
{
	const char *key;
	json_t *child;
	size_t i;

	(*nodes)++;
	if (!json_is_array(v) && !json_is_object(v))
		return;
	if (level + 1 > *depth)
		*depth = level + 1;
	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			if (*nodes > cap)
				return;
			measure(child, cap, nodes, level + 1, depth);
		}
	} else {
		json_object_foreach((json_t *)v, key, child)
		{
			if (*nodes > cap)
				return;
			measure(child, cap, nodes, level + 1, depth);
		}
	}
}

static int
count_node(struct loader *ld, yaml_mark_t mark)
{
	if (++ld->nodes > YAML_LOAD_MAX_NODES)
		return fail_at(ld, mark, "document has more than %d nodes",
		    YAML_LOAD_MAX_NODES);
	return 0;
}

static int
register_anchor(struct loader *ld, const char *anchor, json_t *v)
{
	if (anchor == NULL)
		return 0;
	if (json_object_set(ld->anchors, anchor, v) < 0)
		return fail_nomem(ld);
	return 0;
}

/* Put a completed node (new reference, always consumed) where it belongs:
 * the root, the end of the open sequence, or under the pending key. */
static int
place_value(struct loader *ld, json_t *v, const char *anchor)
{
	struct frame *top;

	if (register_anchor(ld, anchor, v) < 0) {
		json_decref(v);
		return -1;
	}
	if (ld->depth == 0) {
		json_decref(ld->root);
		ld->root = v;
		return 0;
	}
	top = &ld->stack[ld->depth - 1];
	if (json_is_array(top->node)) {
		if (json_array_append_new(top->node, v) < 0)
			return fail_nomem(ld);
		return 0;
	}
	if (json_object_setn_new(top->node, top->key, top->key_len, v) < 0) {
		free(top->key);
		top->key = NULL;
		return fail_nomem(ld);
	}
	free(top->key);
	top->key = NULL;
	return 0;
}

/* Is the open container on top a mapping that waits for a key? */
static bool
wants_key(const struct loader *ld)
{
	const struct frame *top;

	if (ld->depth == 0)
		return false;
	top = &ld->stack[ld->depth - 1];
	return json_is_object(top->node) && top->key == NULL;
}

static int
set_key(struct loader *ld, const char *s, size_t len, yaml_mark_t mark)
{
	struct frame *top = &ld->stack[ld->depth - 1];
	int qlen = len > QUOTE_MAX ? QUOTE_MAX : (int)len;

	if (json_object_getn(top->node, s, len) != NULL)
		return fail_at(ld, mark, "duplicate key \"%.*s\"", qlen, s);
	top->key = malloc(len + 1);
	if (top->key == NULL)
		return fail_nomem(ld);
	memcpy(top->key, s, len);
	top->key[len] = '\0';
	top->key_len = len;
	return 0;
}

static int
on_scalar(struct loader *ld, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	json_t *v;

	if (count_node(ld, ev->start_mark) < 0)
		return -1;
	if (!wants_key(ld)) {
		v = scalar_value(ld, ev);
		if (v == NULL)
			return -1;
		return place_value(ld, v, anchor);
	}
	/* A key: its text, whatever it looks like. */
	if (tag_kind(ev->data.scalar.tag) == KIND_BAD)
		return fail_at(ld, ev->start_mark, "unsupported tag \"%s\"",
		    (const char *)ev->data.scalar.tag);
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && len == 2 &&
	    memcmp(s, "<<", 2) == 0)
		return fail_at(
		    ld, ev->start_mark, "merge keys (<<) are not supported");
	if (anchor != NULL) {
		v = json_stringn(s, len);
		if (v == NULL || register_anchor(ld, anchor, v) < 0) {
			json_decref(v);
			return fail_nomem(ld);
		}
		json_decref(v);
	}
	return set_key(ld, s, len, ev->start_mark);
}

static int
on_alias(struct loader *ld, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	size_t nodes = 0;
	json_t *target, *copy;
	int depth = 0, i;

	target = json_object_get(ld->anchors, name);
	if (target == NULL) {
		for (i = 0; i < ld->depth; i++)
			if (ld->stack[i].anchor != NULL &&
			    strcmp(ld->stack[i].anchor, name) == 0)
				return fail_at(ld, ev->start_mark,
				    "alias *%s refers to a node that contains "
				    "it",
				    name);
		return fail_at(ld, ev->start_mark, "unknown alias *%s", name);
	}
	if (wants_key(ld)) {
		if (!json_is_string(target))
			return fail_at(ld, ev->start_mark,
			    "alias *%s used as a key is not a string", name);
		if (count_node(ld, ev->start_mark) < 0)
			return -1;
		return set_key(ld, json_string_value(target),
		    json_string_length(target), ev->start_mark);
	}
	measure(target, YAML_LOAD_MAX_NODES - ld->nodes, &nodes, 0, &depth);
	if (nodes > YAML_LOAD_MAX_NODES - ld->nodes)
		return fail_at(ld, ev->start_mark,
		    "alias *%s expands the document past %d nodes", name,
		    YAML_LOAD_MAX_NODES);
	if (ld->depth + depth > YAML_LOAD_MAX_DEPTH)
		return fail_at(ld, ev->start_mark,
		    "alias *%s nests deeper than %d levels", name,
		    YAML_LOAD_MAX_DEPTH);
	ld->nodes += nodes;
	copy = json_deep_copy(target);
	if (copy == NULL)
		return fail_nomem(ld);
	return place_value(ld, copy, NULL);
}

static int
on_start(struct loader *ld, const yaml_event_t *ev)
{
	bool mapping = ev->type == YAML_MAPPING_START_EVENT;
	const yaml_char_t *tag =
	    mapping ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	const yaml_char_t *anchor = mapping ? ev->data.mapping_start.anchor
	                                    : ev->data.sequence_start.anchor;
	struct frame *f;

	if (wants_key(ld))
		return fail_at(ld, ev->start_mark,
		    "a %s cannot be a mapping key (complex keys are not "
		    "supported)",
		    mapping ? "mapping" : "sequence");
	if (!container_tag_ok(tag, mapping ? "map" : "seq"))
		return fail_at(ld, ev->start_mark, "unsupported tag \"%s\"",
		    (const char *)tag);
	if (ld->depth == YAML_LOAD_MAX_DEPTH)
		return fail_at(ld, ev->start_mark,
		    "nesting deeper than %d levels", YAML_LOAD_MAX_DEPTH);
	if (count_node(ld, ev->start_mark) < 0)
		return -1;
	f = &ld->stack[ld->depth];
	memset(f, 0, sizeof(*f));
	f->node = mapping ? json_object() : json_array();
	if (f->node == NULL)
		return fail_nomem(ld);
	if (anchor != NULL) {
		f->anchor = strdup((const char *)anchor);
		if (f->anchor == NULL) {
			json_decref(f->node);
			return fail_nomem(ld);
		}
	}
	ld->depth++;
	return 0;
}

static int
on_end(struct loader *ld)
{
	struct frame f = ld->stack[--ld->depth];
	int rc;

	rc = place_value(ld, f.node, f.anchor);
	free(f.anchor);
	free(f.key);
	return rc;
}

/* Handle one event; *done is set at the end of the stream. */
static int
on_event(struct loader *ld, const yaml_event_t *ev, int *docs, bool *done)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			return fail_at(ld, ev->start_mark,
			    "expected a single YAML document");
		return 0;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(ld, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(ld, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_start(ld, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_end(ld);
	default:
		return 0;
	}
}

json_t *
yaml_load(const char *buf, size_t len, struct gantry_error *err)
{
	struct loader ld;
	yaml_event_t ev;
	bool have_ev = false, done = false;
	json_t *result = NULL;
	int docs = 0;

	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	ld.buf = buf != NULL ? buf : "";
	ld.len = buf != NULL ? len : 0;
	if (!yaml_parser_initialize(&ld.parser)) {
		fail_nomem(&ld);
		return NULL;
	}
	yaml_parser_set_input_string(
	    &ld.parser, (const unsigned char *)ld.buf, ld.len);
	ld.anchors = json_object();
	if (ld.anchors == NULL) {
		fail_nomem(&ld);
		goto out;
	}
	while (!done) {
		if (!yaml_parser_parse(&ld.parser, &ev)) {
			fail_parser(&ld);
			goto out;
		}
		have_ev = true;
		if (on_event(&ld, &ev, &docs, &done) < 0)
			goto out;
		yaml_event_delete(&ev);
		have_ev = false;
	}
	result = ld.root != NULL ? ld.root : json_null();
	ld.root = NULL;
out:
	if (have_ev)
		yaml_event_delete(&ev);
	while (ld.depth > 0) {
		ld.depth--;
		json_decref(ld.stack[ld.depth].node);
		free(ld.stack[ld.depth].anchor);
		free(ld.stack[ld.depth].key);
	}
	json_decref(ld.root);
	json_decref(ld.anchors);
	yaml_parser_delete(&ld.parser);
	return result;
}
