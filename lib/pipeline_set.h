/*
 * pipeline_set.h - compile a set of pipeline and template files (already
 * read into memory by the caller) into validated pipelines: parse each
 * file (YAML or JSON by extension), resolve `extends` across the set
 * (merge.h), validate (pipeline.h), and compute each pipeline's version
 * identity: the SHA-256 of its canonical JSON (the merged document,
 * keys sorted, compact).  Pure: the caller does the file I/O.
 */
#ifndef GANTRY_PIPELINE_SET_H
#define GANTRY_PIPELINE_SET_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "diag.h"
#include "pipeline.h"

#define PIPELINE_FILE_MAX (1024 * 1024)

struct pipeline_file {
	const char *path; /* for messages, and to tell YAML from JSON */
	const char *text;
	size_t len;
};

struct pipeline_compiled {
	char *path;
	char *name; /* pipeline: or template: value, NULL if unreadable */
	bool is_template;
	json_t *doc; /* pipelines: the merged document; templates: as read */
	char *canonical; /* json_dumps(doc, sorted, compact) */
	char sha256[65]; /* hex of SHA-256(canonical) */
	struct pipeline *p; /* NULL when the file is invalid */
	struct diag diag; /* every problem of this file */
};

/*
 * Compile files[0..n).  *out gets one entry per file, in the same order
 * (caller frees with pipeline_set_free()).  Two pipelines or two
 * templates with the same name are both invalid.  Returns the number of
 * invalid pipeline files (templates with errors count too), or -1 on
 * allocation failure.
 */
int pipeline_compile_files(const struct pipeline_file *files, size_t n,
    const struct pipeline_floors *floors, const struct pipeline_io *io,
    struct pipeline_compiled **out);

/*
 * Compile one pipeline document given as text (an API PUT body:
 * `is_yaml` selects the parser), with templates taken from a compiled
 * set (borrowed; may be NULL).  Fills *out (caller releases its contents
 * with pipeline_compiled_clear(out, 1)).
 * Returns 0 when valid, 1 when invalid (see out->diag), -1 on OOM.
 */
int pipeline_compile_text(const char *path, const char *text, size_t len,
    bool is_yaml, const struct pipeline_compiled *set, size_t nset,
    const struct pipeline_floors *floors, const struct pipeline_io *io,
    struct pipeline_compiled *out);

/* Free the contents of c[0..n) (leaving them zeroed), not the array. */
void pipeline_compiled_clear(struct pipeline_compiled *c, size_t n);
/* Free the contents and the array made by pipeline_compile_files(). */
void pipeline_set_free(struct pipeline_compiled *set, size_t n);

/* Does path name a pipeline file (.yaml, .yml, .json)? */
bool pipeline_file_is_candidate(const char *path);

#endif /* GANTRY_PIPELINE_SET_H */
