/*
 * duration.h - durations ("90s", "30m", "1h30m", "500ms") as int64_t
 * milliseconds, and byte sizes ("512KiB", "1MiB", "1048576").
 */
#ifndef GANTRY_DURATION_H
#define GANTRY_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * Parse a duration: one or more <integer><unit> parts, units in
 * decreasing order and each at most once, from d, h, m, s, ms ("1h30m",
 * "90s", "250ms", "1d").  No sign, no spaces, no fraction.  Fails with
 * GANTRY_EINVAL on anything else or on overflow; *out_ms unchanged then.
 */
int duration_parse(
    const char *s, int64_t *out_ms, struct gantry_error *err) MUSTCHECK;

/* Format ms as the shortest duration_parse() accepts ("1h30m", "0s").
 * Writes at most len bytes including the NUL; returns buf. */
char *duration_format(int64_t ms, char *buf, size_t len);

/* Parse a size: a plain integer (bytes) or <integer><unit> with unit B,
 * KiB, MiB or GiB.  Fails with GANTRY_EINVAL on anything else. */
int size_parse(
    const char *s, int64_t *out_bytes, struct gantry_error *err) MUSTCHECK;

#endif /* GANTRY_DURATION_H */
