/*
 * gantryd.h - the daemon's one state object, owned by main() and handed to
 * every adapter.  Only the loop thread touches it.
 */
#ifndef GANTRYD_GANTRYD_H
#define GANTRYD_GANTRYD_H

#include <stdbool.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "diag.h"
#include "metrics.h"
#include "pipeline.h"

struct http_server;
struct pg;
struct pipelines;
struct engine;
struct alarms;
struct holds;
struct httpc;

struct gantryd {
	struct event_base *base;
	const char *config_path;
	struct gantry_config *cfg;
	struct http_server *http;
	struct pg *pg;
	/* group commits go over pg and these (db_commit_connections - 1) */
	struct pg **commit_pg;
	size_t ncommit_pg;
	struct metrics *metrics;
	struct pipelines *pipelines;
	struct engine *engine;
	struct alarms *alarms;
	struct httpc *httpc; /* outgoing HTTP: Prometheus, notifications */
	struct holds *holds;
	struct event *ev_term, *ev_int, *ev_hup, *ev_watchdog, *ev_drain;
	struct event *ev_deadline; /* --migrate-only overall deadline */
	bool migrate_only;
	bool draining;
	bool migrating;
	bool schema_current;
	bool ready_notified;
	int schema_version;
	char schema_error[512];
	int exit_code;
	int bound_port;
	double drain_started;
};

/*
 * Re-read the config file and swap in the new config when all of it is
 * valid; otherwise keep the old one.  Problems go to diag; the names of
 * changed keys that need a restart go to restart (may be empty).  Then
 * reload pipelines_dir; *pipelines (may be NULL) gets its summary.
 * Returns 0 when the new config is in force.
 */
int gantryd_reload(struct gantryd *d, struct diag *diag, char *restart,
    size_t restart_len, json_t **pipelines);

#endif /* GANTRYD_GANTRYD_H */
