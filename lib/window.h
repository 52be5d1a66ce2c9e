/*
 * window.h - deployment time windows: when a stage may START
 * (SPEC.md section 3, gantry-pipeline(5)).
 *
 * An instant is open when it lies inside at least one allow rule (or there
 * are no allow rules) and inside no deny calendar event and no freeze.
 * Allow rules are an RRULE whose occurrences start at local wall-clock
 * times in an IANA time zone and last `duration` of elapsed time (so a
 * window spanning a DST change is exactly that long); local times that do
 * not exist or occur twice resolve as libical does.  Deny calendars are
 * .ics texts whose VEVENTs (with RRULE/EXDATE) are closed intervals.
 *
 * Uses libical, which reads the system tz database (read-only data); no
 * other I/O, no clock: instants are parameters.
 */
#ifndef GANTRY_WINDOW_H
#define GANTRY_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pipeline.h"

/* How far ahead next-open searches look before giving up (400 days). */
#define WINDOW_HORIZON_S (400LL * 86400)

/* Validation helpers for pipeline_parse(): 0 ok, -1 with why filled. */
int window_check_timezone(const char *tz, char *why, size_t len);
int window_check_rrule(const char *rrule, char *why, size_t len);
int window_check_ics(const char *ics, char *why, size_t len);

/*
 * Is t open under every one of the nw window sets (e.g. the pipeline's and
 * the stage's)?  *reason (may be NULL) says why not, e.g. "outside allow
 * window FREQ=WEEKLY;... (America/Los_Angeles)" or "inside freeze
 * \"holiday\" until 2026-12-28T09:00:00Z".
 */
int window_is_open(const struct windows *const *w, size_t nw, int64_t t,
    bool *open, char *reason, size_t rlen, struct gantry_error *err) MUSTCHECK;

/*
 * The earliest instant >= t at which every window set is open, in *when.
 * Fails with GANTRY_ENOENT when none comes within WINDOW_HORIZON_S.
 */
int window_next_open(const struct windows *const *w, size_t nw, int64_t t,
    int64_t *when, struct gantry_error *err) MUSTCHECK;

/*
 * The next instant > t at which openness may change (a window or freeze
 * starts or ends), for arming a timer; INT64_MAX when nothing changes
 * within the horizon.
 */
int window_next_change(const struct windows *const *w, size_t nw, int64_t t,
    int64_t *when, struct gantry_error *err) MUSTCHECK;

#endif /* GANTRY_WINDOW_H */
