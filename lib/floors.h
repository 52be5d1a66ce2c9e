/*
 * floors.h - organisation-wide safety floors (struct pipeline_floors,
 * pipeline.h) from a parsed YAML/JSON mapping: the daemon's
 * `safety_floors:` config key and `gantryctl validate --floors FILE`
 * share this one parser, so both enforce the same thing.
 */
#ifndef GANTRY_FLOORS_H
#define GANTRY_FLOORS_H

#include <jansson.h>

#include "diag.h"
#include "error.h"
#include "pipeline.h"

/*
 * Fill *floors from v (borrowed), a mapping with the optional keys
 * require_one_box, require_fault_alarm, require_latency_alarm,
 * require_review (booleans), min_bake (duration 0..7d),
 * min_one_box_bake (duration 0..24h) and max_regions_early_waves
 * (integer 0..50; 0: no floor).  Absent keys mean "no floor"; JSON null
 * for v means no floors at all.  *floors is zeroed first.
 *
 * Every problem is appended to diag as "file:KEY: message" (all at once,
 * unknown keys with a did-you-mean hint).  Returns 0 when there was none,
 * -1 otherwise (*floors then holds the keys that were good); a caller
 * that only looks at diag may ignore the result.
 */
int floors_from_json(const json_t *v, const char *file,
    struct pipeline_floors *floors, struct diag *diag);

/*
 * The same, with every message's path prefixed by prefix and a dot
 * ("safety_floors.min_bake"), for a floors mapping nested in a larger
 * file.  prefix may be NULL or "" (then like floors_from_json()).
 */
int floors_from_json_at(const json_t *v, const char *file, const char *prefix,
    struct pipeline_floors *floors, struct diag *diag);

/* The i-th key name, NULL past the last (for docs checks). */
const char *floors_key_name(size_t i);

#endif /* GANTRY_FLOORS_H */
