/*
 * config.h - gantryd's configuration (gantryd.conf(5)) as a plain struct,
 * built from an already-parsed YAML/JSON tree by one declarative key table
 * that also drives defaults, reload rules and the docs check.
 */
#ifndef GANTRY_CONFIG_H
#define GANTRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth.h"
#include "diag.h"
#include "error.h"
#include "pipeline.h"

enum config_log_level {
	CONFIG_LOG_ERROR = 0,
	CONFIG_LOG_WARN,
	CONFIG_LOG_INFO,
	CONFIG_LOG_DEBUG,
};

struct gantry_config {
	char *listen; /* as written: "127.0.0.1:8080" or "systemd" */
	char *listen_host; /* parsed host, NULL for systemd */
	int listen_port; /* parsed port, 0 for systemd */
	bool listen_systemd; /* take the socket from socket activation */
	char *database; /* libpq connection string */
	int log_level; /* enum config_log_level */
	char *pipelines_dir;
	int64_t max_body; /* bytes */
	int64_t max_connections;
	int64_t db_connect_timeout_ms;
	int64_t db_statement_timeout_ms;
	int64_t db_commit_connections; /* group commits spread over them */
	char *state_dir; /* artifacts, build outputs, hook HOME */
	int64_t max_hooks; /* hooks running at once */
	char *signing_key; /* Ed25519 PEM private key signing builds */
	char *user; /* drop to this user when started as root */
	bool allow_root;
	struct auth_token *tokens;
	size_t ntokens;
	struct pipeline_floors floors; /* safety_floors (floors.h) */
	struct alarm_def *alarms; /* org-wide alarms: block every pipeline */
	size_t nalarms;
	char *prometheus; /* base URL of the Prometheus server, or NULL */
	int64_t metric_timeout_ms; /* a Prometheus query or probe command */
	int64_t override_max_ms; /* longest expiry of an override */
	char *alertmanager_label; /* label naming the gantry alarm */
	char *github_secret; /* webhook HMAC secret, NULL: receiver off */
	char *gitlab_token; /* X-Gitlab-Token, NULL: receiver off */
	char *gerrit_token; /* bearer or ?token=, NULL: receiver off */
	char *public_url; /* how users reach gantryd, for links */
};

/* A config with every default set (database unset).  Caller frees with
 * config_free(); NULL on allocation failure. */
struct gantry_config *config_new(void);
void config_free(struct gantry_config *cfg);

/*
 * Build a config from root (borrowed).  Every problem is appended to diag
 * as "file:key: message" (file names the source for messages only).
 * Returns a new config (caller frees) when there was no problem, else NULL.
 */
struct gantry_config *config_from_json(
    const json_t *root, const char *file, struct diag *diag);

/*
 * Names of the keys whose value differs between old and new but which
 * cannot change without a restart, written into buf as "a, b"; returns the
 * number of such keys.
 */
size_t config_restart_needed(const struct gantry_config *old,
    const struct gantry_config *new_cfg, char *buf, size_t len);

/* The i-th key name, NULL past the last (for docs checks). */
const char *config_key_name(size_t i);

const char *config_log_level_name(int level);

#endif /* GANTRY_CONFIG_H */
