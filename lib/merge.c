/*
 * merge.c - pipeline inheritance (merge.h, SPEC.md section 3): deep-merge
 * of JSON trees and resolution of a document's `extends` chain.  The chain
 * is collected first (document, its template, that template's template,
 * ...), checked for errors, then merged from the furthest ancestor down.
 */
#include "merge.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MERGE_MAX_DEPTH 16 /* templates above a document, at most */

/* Merge overlay (an object) into dst (an object) in place: objects merge
 * key by key, any other overlay value replaces with a deep copy.  -1 on
 * allocation failure (dst is then partly merged). */
static int
merge_into(json_t *dst, const json_t *overlay)
{
	const char *key;
	json_t *ov;

	/* json_object_foreach takes a non-const object; overlay is only
	 * read. */
	json_object_foreach((json_t *)overlay, key, ov)
	{
		json_t *dv = json_object_get(dst, key);
		json_t *copy;

		if (json_is_object(dv) && json_is_object(ov)) {
			if (merge_into(dv, ov) < 0)
				return -1;
			continue;
		}
		copy = json_deep_copy(ov);
		if (copy == NULL || json_object_set_new(dst, key, copy) < 0)
			return -1;
	}
	return 0;
}

json_t *
merge_deep(const json_t *base, const json_t *overlay)
{
	json_t *r;

	if (overlay == NULL)
		return json_deep_copy(base);
	if (!json_is_object(base) || !json_is_object(overlay))
		return json_deep_copy(overlay);
	r = json_deep_copy(base);
	if (r == NULL)
		return NULL;
	if (merge_into(r, overlay) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* The string value of doc's key, or NULL. */
static const char *
str_key(const json_t *doc, const char *key)
{
	return json_string_value(json_object_get(doc, key));
}

/* Append " -> name" (or name, first) to buf, truncating. */
static void
cycle_append(char *buf, size_t size, const char *name)
{
	size_t len = strlen(buf);

	if (len < size)
		snprintf(
		    buf + len, size - len, "%s%s", len ? " -> " : "", name);
}

json_t *
merge_resolve(const json_t *doc, const char *file, merge_lookup_cb lookup,
    void *ctx, const char *const *template_names, struct diag *diag)
{
	/* chain[0] is doc; chain[i + 1] is the template chain[i] extends. */
	const json_t *chain[MERGE_MAX_DEPTH + 1];
	const char *files[MERGE_MAX_DEPTH + 1];
	const char *names[MERGE_MAX_DEPTH + 1]; /* for cycle messages */
	size_t n = 1;
	bool doc_is_template = json_is_string(json_object_get(doc, "template"));
	json_t *result = NULL;

	chain[0] = doc;
	files[0] = file;
	names[0] = str_key(doc, "pipeline");
	if (names[0] == NULL)
		names[0] = str_key(doc, "template");
	if (names[0] == NULL)
		names[0] = file ? file : "(document)";

	for (;;) {
		const json_t *cur = chain[n - 1], *next;
		const char *cur_file = files[n - 1], *next_file = NULL;
		json_t *ext = json_object_get(cur, "extends");
		const char *name;
		bool cycle = false;

		if (ext == NULL)
			break;
		if (!json_is_string(ext)) {
			diag_add(diag, cur_file, "extends", "must be a string");
			return NULL;
		}
		name = json_string_value(ext);
		/* A template already in the chain (doc counts only when it is
		 * a template itself: a pipeline may share a template's name). */
		for (size_t i = 0; i < n && !cycle; i++)
			if ((i > 0 || doc_is_template) &&
			    strcmp(names[i], name) == 0)
				cycle = true;
		next = cycle ? NULL : lookup(ctx, name, &next_file);
		for (size_t i = 0; i < n && next != NULL && !cycle; i++)
			if (chain[i] == next)
				cycle = true;
		if (cycle) {
			char buf[512] = "";

			for (size_t i = 0; i < n; i++)
				cycle_append(buf, sizeof(buf), names[i]);
			cycle_append(buf, sizeof(buf), name);
			diag_add(diag, cur_file, "extends", "extends cycle: %s",
			    buf);
			return NULL;
		}
		if (next == NULL) {
			const char *hint = template_names
			    ? diag_suggest(name, template_names)
			    : NULL;

			if (hint != NULL)
				diag_add(diag, cur_file, "extends",
				    "no template named \"%s\" (did you mean "
				    "\"%s\"?)",
				    name, hint);
			else
				diag_add(diag, cur_file, "extends",
				    "no template named \"%s\"", name);
			return NULL;
		}
		if (n > MERGE_MAX_DEPTH) {
			diag_add(diag, cur_file, "extends",
			    "extends chain deeper than %d", MERGE_MAX_DEPTH);
			return NULL;
		}
		chain[n] = next;
		files[n] = next_file ? next_file : name;
		names[n] = name;
		n++;
	}

	/* The furthest ancestor is the base; each descendant goes over it. */
	result = json_deep_copy(chain[n - 1]);
	for (size_t i = n - 1; i-- > 0 && result != NULL;) {
		if (json_is_object(result) && json_is_object(chain[i])) {
			if (merge_into(result, chain[i]) < 0) {
				json_decref(result);
				result = NULL;
			}
		} else {
			json_decref(result);
			result = json_deep_copy(chain[i]);
		}
	}
	/* Allocation failure: NULL without a message (the caller tells it
	 * from a validation error by diag staying unchanged). */
	if (result == NULL)
		return NULL;
	if (json_is_object(result)) {
		json_object_del(result, "extends");
		json_object_del(result, "template");
	}
	return result;
}
