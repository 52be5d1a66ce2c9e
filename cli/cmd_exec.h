/*
 * cmd_exec.h - gantryctl's commands that talk to gantryd (gantryctl(1)):
 * trigger, status, watch, abort, rollback, pause, resume, logs, history,
 * and those of cmd_safety.h (alarms, alarm-state, blockers, override,
 * hold, unhold).  gantryctl.c parses the options; these run the command.
 */
#ifndef GANTRY_CMD_EXEC_H
#define GANTRY_CMD_EXEC_H

#include <stdbool.h>

/* The options of the remote commands, all borrowed from argv; NULL or
 * false when not given. */
struct exec_opts {
	const char *server; /* --server */
	const char *token; /* --token */
	bool json; /* --output json */
	const char *revision; /* trigger */
	const char *artifact_uri, *artifact_sha256, *artifact_signature;
	const char *idempotency_key;
	bool watch;
	bool dry_run; /* trigger --dry-run */
	const char
	    *reason; /* trigger, abort, rollback, pause, resume, override,
			       hold, unhold, alarm-state */
	const char *expires_in; /* override */
	const char *attempt; /* logs */
	const char *pipeline, *state, *limit; /* history */
	bool all;
};

/* Is name one of the commands of this module? */
bool cmd_exec_is_command(const char *name);

/*
 * Run command name with its options and operands (args[0..nargs), after
 * the options).  Returns the exit status: 0 success; 1 an error from the
 * server, or watch seeing the execution end other than succeeded; 2 a
 * usage error, an unreadable config file, or no answer from the server.
 */
int cmd_exec_run(
    const char *name, const struct exec_opts *o, int nargs, char *const *args);

#endif /* GANTRY_CMD_EXEC_H */
