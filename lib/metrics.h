/*
 * metrics.h - a small registry of counters, gauges and histograms rendered
 * in the Prometheus text exposition format (version 0.0.4).  Series are
 * identified by metric name plus a pre-rendered label string such as
 * `route="/healthz",method="GET"`; callers keep label values bounded.
 */
#ifndef GANTRY_METRICS_H
#define GANTRY_METRICS_H

#include <stddef.h>

#include "error.h"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics;

/* A new, empty registry; caller frees with metrics_free(). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * Declare a metric family once before using it.  For histograms, buckets
 * (upper bounds, increasing, +Inf implied) are copied; otherwise NULL.
 */
int metrics_define(struct metrics *m, const char *name, enum metrics_type t,
    const char *help, const double *buckets, size_t nbuckets) MUSTCHECK;

/* Add v to a counter (or gauge), set a gauge (or a counter mirrored from
 * a source that counts), observe v in a histogram.  labels may
 * be NULL or "" for none.  Fail only on an undefined name, a type mismatch
 * or allocation failure. */
int metrics_add(
    struct metrics *m, const char *name, const char *labels, double v);
int metrics_set(
    struct metrics *m, const char *name, const char *labels, double v);
int metrics_observe(
    struct metrics *m, const char *name, const char *labels, double v);

/* Escape a label value (\\, \", \n) into out; returns out. */
char *metrics_escape(const char *value, char *out, size_t len);

/* Render every family; caller frees the result.  *len gets its length. */
char *metrics_render(const struct metrics *m, size_t *len);

#endif /* GANTRY_METRICS_H */
