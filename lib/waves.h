/*
 * waves.h - expand `type: waves` stages into ordinary deploy stages
 * NAME/wave-1 ... NAME/wave-N (SPEC.md section 3).
 *
 * regions are taken in order; wave_sizes says how many regions each wave
 * covers (WAVE_REST: all that remain).  Waves 1 and 2 deploy one AZ at a
 * time: one group per AZ, named REGION/AZ, sequential.  Later waves deploy
 * their regions in parallel: one group per region (all its AZs' targets),
 * not sequential.  Every expanded stage copies the waves stage's one-box,
 * rolling batch, bake, alarms, windows and tests, has production = true,
 * waves_of = the waves stage's name and wave = its 1-based number.
 * Deterministic: the same pipeline always expands the same way.
 */
#ifndef GANTRY_WAVES_H
#define GANTRY_WAVES_H

#include <stddef.h>

#include "error.h"
#include "pipeline.h"

/*
 * The stages of p with every waves stage replaced by its waves, as a new
 * array (caller frees with stages_free()).  p must have passed
 * pipeline_parse().  Fails only on allocation failure.
 */
int waves_expand(const struct pipeline *p, struct stage **out, size_t *nout,
    struct gantry_error *err) MUSTCHECK;

/* Free an array of n stages and everything they hold. */
void stages_free(struct stage *stages, size_t n);

/* Deep-copy one stage into *dst; -1 on allocation failure. */
int stage_copy(struct stage *dst, const struct stage *src) MUSTCHECK;

#endif /* GANTRY_WAVES_H */
