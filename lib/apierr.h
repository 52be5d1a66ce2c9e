/*
 * apierr.h - the API error body of SPEC.md section 6:
 *   {"error": {"code": "...", "message": "...", "details": [...]}}
 */
#ifndef GANTRY_APIERR_H
#define GANTRY_APIERR_H

#include <jansson.h>

#include "diag.h"
#include "error.h"

/* A new JSON error object for code and message; details (may be NULL) is
 * a list of strings copied from diag. Caller json_decref()s. */
json_t *apierr_json(
    enum gantry_err code, const char *message, const struct diag *details);

/* Same, serialised; caller free()s.  NULL only on allocation failure. */
char *apierr_body(
    enum gantry_err code, const char *message, const struct diag *details);

#endif /* GANTRY_APIERR_H */
