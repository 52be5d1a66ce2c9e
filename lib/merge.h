/*
 * merge.h - pipeline inheritance: `extends: TEMPLATE` deep-merges the
 * template under the document (SPEC.md section 3).  Mappings merge key by
 * key, recursively; a list or a scalar in the document replaces the
 * template's.  Templates may extend templates; cycles and missing
 * templates are errors.
 */
#ifndef GANTRY_MERGE_H
#define GANTRY_MERGE_H

#include <jansson.h>

#include "diag.h"

/* A new tree: a deep copy of base with overlay merged over it.  NULL only
 * on allocation failure.  Both arguments are borrowed. */
json_t *merge_deep(const json_t *base, const json_t *overlay);

/* Find a template document by name: returns it (borrowed) and its file
 * name in *file, or NULL when there is no such template. */
typedef const json_t *(*merge_lookup_cb)(
    void *ctx, const char *name, const char **file);

/*
 * Resolve doc's `extends` chain through lookup and return the merged
 * document, a new reference without the keys `extends` and `template`.
 * Errors go to diag as "file:extends: ..." (the file whose `extends` is
 * wrong): not a string, no template of that name (with a did-you-mean
 * hint from template_names, which may be NULL), a cycle
 * ("extends cycle: a -> b -> a"), a chain deeper than 16.  Returns NULL
 * after any error, and NULL with no message on allocation failure.
 */
json_t *merge_resolve(const json_t *doc, const char *file,
    merge_lookup_cb lookup, void *ctx, const char *const *template_names,
    struct diag *diag);

#endif /* GANTRY_MERGE_H */
