/*
 * api.h - the REST API (SPEC.md section 6): the route table, and for each
 * request authenticate -> check body -> one call -> render.
 */
#ifndef GANTRYD_API_H
#define GANTRYD_API_H

#include "gantryd.h"
#include "http.h"

/* Fill hooks for http_server_new() with handlers bound to d. */
void api_hooks(struct gantryd *d, struct http_hooks *hooks);

/* Define gantryd's metric families in d->metrics; -1 on failure. */
int api_metrics_init(struct gantryd *d) MUSTCHECK;

#endif /* GANTRYD_API_H */
