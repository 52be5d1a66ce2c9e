/*
 * diag.h - a list of validation messages, so every mistake of a file is
 * reported at once ("file:path: message"), plus a "did you mean" helper.
 */
#ifndef GANTRY_DIAG_H
#define GANTRY_DIAG_H

#include <stddef.h>

#include "error.h"

#define DIAG_MAX 200 /* further messages are counted, not kept */

struct diag {
	char **msgs;
	size_t n;
	size_t dropped; /* messages past DIAG_MAX */
};

/* Append "file:path: message" (file or path may be NULL or empty and are
 * then left out).  Allocation failure is recorded as a dropped message. */
void diag_add(struct diag *d, const char *file, const char *path,
    const char *fmt, ...) PRINTFLIKE(4, 5);

/* Free every message; the struct itself is the caller's.  Leaves it empty. */
void diag_clear(struct diag *d);

/* The candidate closest to word (edit distance at most 2 and less than
 * half its length), or NULL.  candidates ends with a NULL entry. */
const char *diag_suggest(const char *word, const char *const *candidates);

#endif /* GANTRY_DIAG_H */
