/*
 * pipelines.h - the daemon's registry of pipelines: loaded from every file
 * of pipelines_dir (at start, SIGHUP, POST /v1/reload) or PUT over the API,
 * each accepted definition stored once as an immutable version in
 * PostgreSQL before it becomes current.  A file that fails validation
 * never replaces the last good version of its pipeline; its errors are
 * logged and kept for GET /v1/pipelines.
 */
#ifndef GANTRYD_PIPELINES_H
#define GANTRYD_PIPELINES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pipeline.h"
#include "pipeline_set.h"

struct gantryd;
struct pipelines;

/* Reads calendars relative to the pipeline file (blocking file reads:
 * used at load and reload only). */
extern const struct pipeline_io pipelines_io;

struct pipelines *pipelines_new(struct gantryd *d);
void pipelines_free(struct pipelines *ps);

/* Re-read pipelines_dir and compile it.  Valid changed pipelines are
 * stored (now, or when the database comes back).  Returns a summary
 * {"files", "valid", "invalid", "errors": [...]} (new reference). */
json_t *pipelines_load_dir(struct pipelines *ps);

/* Store whatever is waiting for the database (after a reconnect). */
void pipelines_sync(struct pipelines *ps);

/* GET /v1/pipelines body (new reference). */
json_t *pipelines_list_json(const struct pipelines *ps);

/* GET /v1/pipelines/{name} body for the current version, or NULL. */
json_t *pipelines_get_json(const struct pipelines *ps, const char *name);

/* The name of the i-th known pipeline, NULL past the last. */
const char *pipelines_name_at(const struct pipelines *ps, size_t i);

/* The current good definition, or NULL. */
const struct pipeline *pipelines_current(
    const struct pipelines *ps, const char *name, int *version);

/* Is name defined by a file of pipelines_dir (so PUT must not own it)? */
const char *pipelines_file_of(const struct pipelines *ps, const char *name);

/* The compiled set of the last directory load (templates for PUT). */
const struct pipeline_compiled *pipelines_dir_set(
    const struct pipelines *ps, size_t *n);

/*
 * Take a compiled, valid definition of name (its contents are moved out;
 * *c is left cleared) and store it; cb runs once with the stored version
 * and whether it was new, or version 0 and why on failure.
 */
typedef void (*pipelines_store_cb)(
    int version, bool created, const char *why, void *arg);
void pipelines_store(struct pipelines *ps, struct pipeline_compiled *c,
    const char *actor, pipelines_store_cb cb, void *arg);

#endif /* GANTRYD_PIPELINES_H */
