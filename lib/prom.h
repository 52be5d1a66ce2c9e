/*
 * prom.h - the Prometheus HTTP API formats gantry speaks, as pure text
 * functions: the URL of an instant query (/api/v1/query), the expansion of
 * {{target}} in a relative alarm's query, the parse of a query response
 * into one value, and the parse of an Alertmanager webhook (version 4).
 * No I/O: daemon/ sends the URL and hands the body back here.
 */
#ifndef GANTRY_PROM_H
#define GANTRY_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The URL of an instant query: base + "/api/v1/query?query=" + expr
 * percent-encoded (RFC 3986: everything but ALPHA DIGIT - . _ ~ becomes
 * %XX), plus "&time=SECONDS.MMM" when at_ms > 0.  base is the server's
 * URL, possibly with a path prefix ("http://h:9090/prom") and a trailing
 * "/".  Returns a malloc'd string the caller frees, or NULL when out of
 * memory. */
char *prom_query_url(const char *base, const char *expr, int64_t at_ms);

/* Replace every "{{target}}" in expr with a regex alternation matching
 * exactly the n names ("a-1|b\\.2"): each name is regex-escaped (. + * ?
 * ( ) [ ] { } | ^ $ \ get a backslash), then escaped for the PromQL
 * string literal the placeholder sits in, found by scanning expr: inside
 * "..." (and outside any string) backslashes and " are escaped, inside
 * '...' backslashes and ', inside `...` (raw) nothing is.  Returns a
 * malloc'd string the caller frees; NULL when out of memory, when n == 0
 * (an empty alternation would match series without the label), or when a
 * name cannot be written in a raw string (it holds a backquote). */
char *prom_expand_targets(
    const char *expr, const char *const *targets, size_t n);

/* Parse an /api/v1/query response body into one value.
 *  - status "success", resultType "vector" with exactly one sample, or
 *    "scalar": *value is the sample, *missing = false, returns 0;
 *  - an empty vector, or a sample "NaN", "+Inf" or "-Inf": *value = NAN,
 *    *missing = true, returns 0.  No data is never good news: the caller
 *    counts it as a missing datapoint, not as a value below a threshold;
 *  - a vector of N > 1 series: -1 with GANTRY_EINVALID, "query returned N
 *    series; an alarm needs one (wrap it in sum() or max())";
 *  - status "error": -1 with GANTRY_EINVAL, "errorType: error";
 *  - anything else (not JSON, other result types, a bad sample): -1 with
 *    GANTRY_EINVAL naming what is wrong. */
int prom_parse_value(const char *body, size_t len, double *value, bool *missing,
    struct gantry_error *err) MUSTCHECK;

/* One alert of an Alertmanager webhook notification. */
struct prom_alert {
	char *alarm; /* labels[label], falling back to labels.alertname */
	bool firing; /* status "firing"; false: "resolved" */
	char *reason; /* annotations.summary, else annotations.description,
			 else "ALERTNAME firing" / "ALERTNAME resolved" */
	char *fingerprint; /* "" when the sender gave none */
};

/* At most this many alerts in one notification. */
#define PROM_ALERTS_MAX 10000

/* Parse an Alertmanager webhook body (version "4": {"version", "status",
 * "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt",
 * "fingerprint"}, ...], "groupLabels", "commonLabels", ...}).  label names
 * the label that holds the gantry alarm name; NULL means "gantry_alarm".
 * On success *out is a malloc'd array of *n alerts that the caller frees
 * with prom_alerts_free() (*out may be NULL when *n == 0).  On error -1
 * with GANTRY_EINVAL and a message naming the path ("alerts[1].labels:
 * ..."); *out and *n are then NULL and 0. */
int prom_parse_alertmanager(const char *body, size_t len, const char *label,
    struct prom_alert **out, size_t *n, struct gantry_error *err) MUSTCHECK;

/* Free what prom_parse_alertmanager() returned; (NULL, 0) is a no-op. */
void prom_alerts_free(struct prom_alert *v, size_t n);

#endif /* GANTRY_PROM_H */
