/*
 * pipeline_set.c - compile pipeline and template files (pipeline_set.h):
 * read -> classify (pipeline: / template:) -> detect duplicate names ->
 * resolve extends through the set's valid templates -> validate -> hash
 * the canonical JSON.
 */
#include "pipeline_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "merge.h"
#include "yaml_load.h"

struct lookup_ctx {
	const struct pipeline_compiled *set;
	size_t n;
};

bool
pipeline_file_is_candidate(const char *path)
{
	size_t len = strlen(path);
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (base[0] == '.')
		return false; /* editor swap files, hidden files */
	return (len > 5 && strcmp(path + len - 5, ".yaml") == 0) ||
	    (len > 4 && strcmp(path + len - 4, ".yml") == 0) ||
	    (len > 5 && strcmp(path + len - 5, ".json") == 0);
}

static bool
is_json_path(const char *path)
{
	size_t len = strlen(path);

	return len > 5 && strcmp(path + len - 5, ".json") == 0;
}

/* Parse text as YAML or JSON; NULL with a message in diag. */
static json_t *
load_text(const char *path, const char *text, size_t len, bool yaml,
    struct diag *diag)
{
	struct gantry_error err;
	json_error_t jerr;
	json_t *doc;

	if (len > PIPELINE_FILE_MAX) {
		diag_add(diag, path, NULL, "larger than %d bytes",
		    PIPELINE_FILE_MAX);
		return NULL;
	}
	if (!yaml) {
		doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		if (doc == NULL)
			diag_add(diag, path, NULL, "line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
		return doc;
	}
	doc = yaml_load(text, len, &err);
	if (doc == NULL)
		diag_add(diag, path, NULL, "%s", err.msg);
	return doc;
}

/* Fill c->name and c->is_template from doc; false after an error. */
static bool
classify(struct pipeline_compiled *c, const json_t *doc)
{
	const json_t *pn, *tn;

	if (!json_is_object(doc)) {
		diag_add(&c->diag, c->path, NULL,
		    "a pipeline file must be a mapping of keys "
		    "(see gantry-pipeline(5))");
		return false;
	}
	pn = json_object_get(doc, "pipeline");
	tn = json_object_get(doc, "template");
	if (pn != NULL && tn != NULL) {
		diag_add(&c->diag, c->path, "template",
		    "pipeline and template are exclusive");
		return false;
	}
	if (pn == NULL && tn == NULL) {
		diag_add(&c->diag, c->path, NULL,
		    "file must name a pipeline (pipeline: NAME) or a template "
		    "(template: NAME)");
		return false;
	}
	c->is_template = tn != NULL;
	if (!json_is_string(c->is_template ? tn : pn)) {
		diag_add(&c->diag, c->path,
		    c->is_template ? "template" : "pipeline",
		    "must be a string");
		return false;
	}
	c->name = strdup(json_string_value(c->is_template ? tn : pn));
	return c->name != NULL;
}

static const json_t *
lookup_template(void *ctx, const char *name, const char **file)
{
	const struct lookup_ctx *lc = ctx;

	for (size_t i = 0; i < lc->n; i++) {
		const struct pipeline_compiled *c = &lc->set[i];

		if (c->is_template && c->doc != NULL && c->name != NULL &&
		    strcmp(c->name, name) == 0) {
			*file = c->path;
			return c->doc;
		}
	}
	return NULL;
}

static void
sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1)
		return;
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Resolve, validate and hash one pipeline entry whose doc is as read. */
static int
finish_pipeline(struct pipeline_compiled *c, const struct lookup_ctx *lc,
    const char *const *names, const struct pipeline_floors *floors,
    const struct pipeline_io *io)
{
	json_t *merged;

	merged = merge_resolve(
	    c->doc, c->path, lookup_template, (void *)lc, names, &c->diag);
	json_decref(c->doc);
	c->doc = merged;
	if (merged == NULL)
		return c->diag.n > 0 ? 0 : -1;
	c->canonical = json_dumps(merged, JSON_SORT_KEYS | JSON_COMPACT);
	if (c->canonical == NULL)
		return -1;
	sha256_hex(c->canonical, c->sha256);
	c->p = pipeline_parse(merged, c->path, floors, io, &c->diag);
	return 0;
}

/* NULL-terminated names of the valid templates of set (for hints). */
static const char **
template_names(const struct pipeline_compiled *set, size_t n)
{
	const char **names = calloc(n + 1, sizeof(*names));
	size_t k = 0;

	if (names == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (set[i].is_template && set[i].doc != NULL && set[i].name)
			names[k++] = set[i].name;
	return names;
}

int
pipeline_compile_files(const struct pipeline_file *files, size_t n,
    const struct pipeline_floors *floors, const struct pipeline_io *io,
    struct pipeline_compiled **out)
{
	struct pipeline_compiled *set = calloc(n ? n : 1, sizeof(*set));
	struct lookup_ctx lc = {set, n};
	const char **names = NULL;
	int invalid = 0;

	*out = NULL;
	if (set == NULL)
		return -1;
	/* Pass 1: read and classify every file. */
	for (size_t i = 0; i < n; i++) {
		struct pipeline_compiled *c = &set[i];
		json_t *doc;

		c->path = strdup(files[i].path);
		if (c->path == NULL)
			goto oom;
		doc = load_text(c->path, files[i].text, files[i].len,
		    !is_json_path(c->path), &c->diag);
		if (doc != NULL && classify(c, doc))
			c->doc = doc;
		else
			json_decref(doc);
	}
	/* Pass 2: duplicate names make every copy invalid. */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			if (i == j || set[i].name == NULL ||
			    set[j].name == NULL ||
			    set[i].is_template != set[j].is_template ||
			    strcmp(set[i].name, set[j].name) != 0)
				continue;
			diag_add(&set[i].diag, set[i].path,
			    set[i].is_template ? "template" : "pipeline",
			    "duplicate %s name \"%s\" (also in %s)",
			    set[i].is_template ? "template" : "pipeline",
			    set[i].name, set[j].path);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (set[i].diag.n > 0 && set[i].doc != NULL) {
			json_decref(set[i].doc);
			set[i].doc = NULL;
		}
	/* Pass 3: pipelines, against the valid templates. */
	names = template_names(set, n);
	if (names == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct pipeline_compiled *c = &set[i];

		if (c->doc != NULL && !c->is_template &&
		    finish_pipeline(c, &lc, names, floors, io) < 0)
			goto oom;
		if (c->diag.n > 0 || c->diag.dropped > 0)
			invalid++;
	}
	free(names);
	*out = set;
	return invalid;
oom:
	free(names);
	pipeline_set_free(set, n);
	return -1;
}

int
pipeline_compile_text(const char *path, const char *text, size_t len,
    bool is_yaml, const struct pipeline_compiled *set, size_t nset,
    const struct pipeline_floors *floors, const struct pipeline_io *io,
    struct pipeline_compiled *out)
{
	struct lookup_ctx lc = {set, set ? nset : 0};
	const char **names;
	json_t *doc;
	int rc;

	memset(out, 0, sizeof(*out));
	out->path = strdup(path);
	if (out->path == NULL)
		return -1;
	doc = load_text(path, text, len, is_yaml, &out->diag);
	if (doc == NULL)
		return 1;
	if (!classify(out, doc)) {
		json_decref(doc);
		return 1;
	}
	if (out->is_template) {
		json_decref(doc);
		diag_add(&out->diag, path, "template",
		    "only pipelines can be stored this way, not templates");
		return 1;
	}
	out->doc = doc;
	names = template_names(set, lc.n);
	if (names == NULL)
		return -1;
	rc = finish_pipeline(out, &lc, names, floors, io);
	free(names);
	if (rc < 0)
		return -1;
	return out->p != NULL && out->diag.n == 0 ? 0 : 1;
}

void
pipeline_set_free(struct pipeline_compiled *set, size_t n)
{
	pipeline_compiled_clear(set, n);
	free(set);
}

void
pipeline_compiled_clear(struct pipeline_compiled *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].path);
		free(c[i].name);
		json_decref(c[i].doc);
		free(c[i].canonical);
		pipeline_free(c[i].p);
		diag_clear(&c[i].diag);
		memset(&c[i], 0, sizeof(c[i]));
	}
}
