/*
 * yaml_load.h - turn one YAML document into a jansson tree (YAML 1.2 core
 * schema for plain scalars), with positions in every error.
 */
#ifndef GANTRY_YAML_LOAD_H
#define GANTRY_YAML_LOAD_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

/* Hard caps: containers open at once, and nodes produced in total (alias
 * expansions included), so a "billion laughs" document is refused. */
#define YAML_LOAD_MAX_DEPTH 64
#define YAML_LOAD_MAX_NODES 100000

/*
 * Parse one YAML document (YAML 1.2 core schema for plain scalars) from
 * buf[0..len).  buf is borrowed for the duration of the call and need not be
 * NUL-terminated; buf may be NULL when len is 0.
 *
 * Plain scalars resolve to null, bool, integer (must fit int64) or real;
 * quoted and block scalars are strings; the tags !!str, !!int, !!float,
 * !!bool, !!null, !!map and !!seq are honoured, any other tag is an error.
 * Mapping keys are always the key's text.  An empty stream gives JSON null.
 *
 * Returns a new reference (the caller frees it with json_decref()), or NULL
 * with err filled: code GANTRY_EINVAL and a message "line L, column C: what
 * is wrong" (1-based) for bad input, GANTRY_ENOMEM when allocation fails.
 * err may be NULL.
 */
json_t *yaml_load(
    const char *buf, size_t len, struct gantry_error *err) MUSTCHECK;

#endif /* GANTRY_YAML_LOAD_H */
