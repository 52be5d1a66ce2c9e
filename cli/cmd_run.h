/*
 * cmd_run.h - what gantryctl's remote commands share, implemented in
 * cmd_exec.c: one run of a command, its client (connected on first use,
 * from --server/--token, the environment or the config file), a request
 * whose failures are shown as every command shows them, and the exit
 * statuses.  cmd_exec.c and cmd_safety.c build their commands on it.
 */
#ifndef GANTRY_CMD_RUN_H
#define GANTRY_CMD_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cmd_exec.h"
#include "error.h"
#include "exec_render.h"

/* Exit statuses of the remote commands (gantryctl(1)). */
#define EXIT_OK 0
#define EXIT_FAIL 1 /* the server said no */
#define EXIT_USAGE 2 /* bad usage, or no answer from the server */

struct client;
struct exec_view; /* cmd_exec.c's views (text, json) */

/* One run of a command. */
struct run {
	const char *cmd;
	const struct exec_opts *o;
	const struct exec_view *view;
	struct client *c; /* NULL until the first request */
	FILE *out, *err;
	bool tty; /* stdout is a terminal: redraw */
};

/*
 * method path (escaped) with body (borrowed; NULL for none).  On a 2xx,
 * returns EXIT_OK with the parsed answer in *doc and the raw one in *raw
 * (caller frees both).  Otherwise returns the exit status after the
 * message was shown: EXIT_FAIL for an error answer (the body on stdout
 * too with --output json), EXIT_USAGE when there was no answer.
 */
int run_request(struct run *r, const char *method, const char *path,
    const json_t *body, long *status, json_t **doc, char **raw,
    size_t *rawlen) MUSTCHECK;

/* "gantryctl CMD: message (see gantryctl --help)" on stderr; returns
 * EXIT_USAGE. */
int run_usage_error(struct run *r, const char *fmt, ...) PRINTFLIKE(2, 3);

/* raw (len bytes) to f, with a final newline. */
void run_put_raw(FILE *f, const char *raw, size_t len);

/* s to f, control characters but '\n' and '\t' shown as '?'. */
void run_put_clean(FILE *f, const char *s);

/* Each line of l to f. */
void run_print_lines(FILE *f, const struct exec_lines *l);

/* The wall clock, ms since the epoch. */
int64_t run_now_ms(void);

/* Columns of the terminal on stdout, 0 when it is not one. */
int run_term_width(void);

#endif /* GANTRY_CMD_RUN_H */
