/*
 * exec_render.h - executions as text for people: the tree of
 * GET /v1/executions/{id} (stages with states, a progress bar of targets
 * and groups per deploy stage, bake countdowns, elapsed times, blockers
 * with their override ids, overrides, and the go/no-go decisions with
 * their datapoints), one line per transition of the event stream, the
 * history table, and the safeguards' tables (alarms, blockers, holds).
 * Pure: the JSON, the time and the width come in, lines go out; the
 * formats are those of /v1 (exec_to_json, exec_event_to_json).
 */
#ifndef GANTRY_EXEC_RENDER_H
#define GANTRY_EXEC_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

/* Lines of text without their '\n'; owned, freed with
 * exec_lines_clear(). */
struct exec_lines {
	char **v;
	size_t n, cap;
};

/* Free every line and empty l (it can be reused). */
void exec_lines_clear(struct exec_lines *l);

/*
 * Append the lines showing tree (borrowed; an execution as served by
 * GET /v1/executions/{id}) at now_ms (ms since the epoch) to out.  Lines
 * longer than width columns are cut, ending in "..."; width <= 0 does not
 * cut.  Missing or mistyped keys show as "?" or are left out, never fail.
 * Returns 0, or -1 when out of memory (out then holds what was done).
 */
int exec_render_tree(const json_t *tree, int64_t now_ms, int width,
    struct exec_lines *out) MUSTCHECK;

/*
 * Append one line for msg (borrowed), a message of the event stream:
 * {"seq", "kind", "data", "at", "execution": tree or null}.  It has the
 * time, the sequence number, the kind and the event's fields, and when
 * the message carries the tree, the execution's state and its current
 * stage.  Returns 0, or -1 when out of memory.
 */
int exec_render_event(
    const json_t *msg, int width, struct exec_lines *out) MUSTCHECK;

/*
 * Append the table of GET /v1/executions (list borrowed:
 * {"executions": [...]}, all pages merged): a header and one row per
 * execution in the order served (newest first), the duration of the
 * unfinished ones up to now_ms.  Returns 0, or -1 when out of memory.
 */
int exec_render_history(const json_t *list, int64_t now_ms, int width,
    struct exec_lines *out) MUSTCHECK;

/*
 * Append the table of GET /v1/alarms (list borrowed: {"alarms": [...]}):
 * a header and one row per alarm: its scope ("org" or the pipeline's
 * name), name, source, state, since when (relative to now_ms) and
 * reason; below a row, one line per one-box comparison it runs.
 * Returns 0, or -1 when out of memory.
 */
int exec_render_alarms(const json_t *list, int64_t now_ms, int width,
    struct exec_lines *out) MUSTCHECK;

/*
 * Append the tables of GET /v1/blockers (doc borrowed: {"blockers",
 * "holds", "alarms"}): the blockers with the id gantryctl override
 * takes, then the active holds, then the names of the firing alarms.
 * Returns 0, or -1 when out of memory.
 */
int exec_render_blockers(const json_t *doc, int64_t now_ms, int width,
    struct exec_lines *out) MUSTCHECK;

/* "3m05s ago" for then_ms before now_ms, "in 3m05s" after, "-" for
 * then_ms <= 0 (never).  Returns buf. */
char *exec_render_ago(int64_t then_ms, int64_t now_ms, char *buf, size_t len);

/* "[#####.....]" with inner columns for done of total; inner < 1 is 1.
 * Writes at most len bytes with the NUL; returns buf. */
char *exec_render_bar(
    size_t done, size_t total, int inner, char *buf, size_t len);

/* A compact duration, at most two units, rounded down: "0s", "42s",
 * "12m05s", "1h02m", "2d03h".  Negative is "0s".  Returns buf. */
char *exec_render_duration(int64_t ms, char *buf, size_t len);

/* Is state (an execution state name) one an execution ends in? */
bool exec_render_is_terminal(const char *state);

/* The exit status gantryctl watch gives for a terminal state: 0 for
 * succeeded, 1 for the others; -1 when state is not terminal. */
int exec_render_exit_status(const char *state);

#endif /* GANTRY_EXEC_RENDER_H */
