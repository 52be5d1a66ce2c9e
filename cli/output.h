/*
 * output.h - how gantryctl shows its results: one renderer per --output
 * format (text for people, json for programs) behind one struct of
 * function pointers, so the commands in gantryctl.c never format.
 */
#ifndef GANTRY_OUTPUT_H
#define GANTRY_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "diag.h"
#include "error.h"
#include "plan.h"

/* Where a renderer writes, and what it accumulates between calls. */
struct output_ctx {
	FILE *out; /* results */
	FILE *err; /* summaries and messages for people */
	json_t *acc; /* json renderer: results so far (owned) */
};

/* The outcome of validating one file named on the command line. */
struct output_file {
	const char *file; /* as named on the command line */
	const char *pipeline; /* pipeline or template name; NULL: unknown */
	bool is_template;
	const char *sha256; /* version; NULL for templates and invalid */
	bool valid;
	const struct diag *diag; /* borrowed: "file:path: message" lines */
};

/* A plan to show (borrowed for the call). */
struct output_plan {
	const char *file;
	const char *pipeline;
	const char *sha256;
	const struct plan *plan;
};

struct output {
	const char *name; /* as given to --output */
	/* One validated file; called in command-line order. */
	int (*file)(struct output_ctx *ctx, const struct output_file *f);
	/* After the last file: nfiles checked, ninvalid of them invalid. */
	int (*files_end)(
	    struct output_ctx *ctx, size_t nfiles, size_t ninvalid);
	int (*plan)(struct output_ctx *ctx, const struct output_plan *p);
	/* A failure that is not about a file's content (plan_build). */
	int (*error)(struct output_ctx *ctx, const char *code, const char *fmt,
	    ...) PRINTFLIKE(3, 4);
};

extern const struct output output_text;
extern const struct output output_json;

/* Release what a renderer accumulated in ctx. */
void output_ctx_clear(struct output_ctx *ctx);

#endif /* GANTRY_OUTPUT_H */
