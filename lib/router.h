/*
 * router.h - match a request's method and path against a table of routes
 * with {param} segments ("/v1/pipelines/{name}").  Pure: the table and the
 * handler pointers it carries belong to the caller.
 */
#ifndef GANTRY_ROUTER_H
#define GANTRY_ROUTER_H

#include <stddef.h>

#include "error.h"

#define ROUTER_MAX_PARAMS 4
#define ROUTER_PARAM_MAX 256

struct route {
	const char *method; /* "GET", "POST", ... */
	const char *pattern; /* "/v1/executions/{id}/abort"; also the
				metrics label */
	unsigned role; /* enum auth_role needed; AUTH_NONE = public */
	const char *body; /* accepted body media type, NULL: no body */
	void *handler; /* opaque to the router */
};

struct route_match {
	const struct route *route;
	size_t nparams;
	char names[ROUTER_MAX_PARAMS][32];
	char values[ROUTER_MAX_PARAMS][ROUTER_PARAM_MAX];
};

/*
 * A final segment "{name*}" matches the rest of the path, slashes
 * included (e.g. "/v1/executions/{id}/logs/{step*}").
 *
 * Find the route for method and path (no query string).  On success fills
 * *m (values point into m).  Fails with GANTRY_ENOENT when no pattern
 * matches the path, GANTRY_EMETHOD when a pattern matches but not the
 * method (err->msg then lists the allowed methods).
 */
int router_match(const struct route *routes, size_t n, const char *method,
    const char *path, struct route_match *m,
    struct gantry_error *err) MUSTCHECK;

/* The value of parameter name in m, or NULL. */
const char *router_param(const struct route_match *m, const char *name);

#endif /* GANTRY_ROUTER_H */
