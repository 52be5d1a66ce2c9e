/*
 * output_json.c - gantryctl's JSON renderer: one JSON document on stdout
 * per run, for programs (CI gates, dashboards).  Validation results are
 * collected and written at the end as {"files": [...]}; a plan is
 * plan_to_json() plus the pipeline name and version.
 */
#include <stdarg.h>
#include <stdio.h>

#include "output.h"

/* Write v (borrowed) indented, with a final newline. */
static int
dump(struct output_ctx *ctx, const json_t *v)
{
	if (json_dumpf(v, ctx->out, JSON_INDENT(2)) < 0)
		return -1;
	fputc('\n', ctx->out);
	return 0;
}

static json_t *
string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int
json_file(struct output_ctx *ctx, const struct output_file *f)
{
	json_t *o, *errs;

	if (ctx->acc == NULL && (ctx->acc = json_array()) == NULL)
		return -1;
	o = json_object();
	errs = json_array();
	if (o == NULL || errs == NULL) {
		json_decref(o);
		json_decref(errs);
		return -1;
	}
	for (size_t i = 0; i < f->diag->n; i++)
		json_array_append_new(errs, json_string(f->diag->msgs[i]));
	json_object_set_new(o, "file", json_string(f->file));
	json_object_set_new(o, "valid", json_boolean(f->valid));
	json_object_set_new(
	    o, "pipeline", string_or_null(f->is_template ? NULL : f->pipeline));
	if (f->is_template)
		json_object_set_new(o, "template", string_or_null(f->pipeline));
	json_object_set_new(
	    o, "version_sha256", string_or_null(f->valid ? f->sha256 : NULL));
	json_object_set_new(o, "errors", errs);
	if (f->diag->dropped > 0)
		json_object_set_new(o, "errors_dropped",
		    json_integer((json_int_t)f->diag->dropped));
	return json_array_append_new(ctx->acc, o);
}

static int
json_files_end(struct output_ctx *ctx, size_t nfiles, size_t ninvalid)
{
	json_t *doc = json_object();
	int rc;

	if (doc == NULL)
		return -1;
	json_object_set(doc, "files", ctx->acc ? ctx->acc : json_array());
	json_object_set_new(doc, "checked", json_integer((json_int_t)nfiles));
	json_object_set_new(doc, "invalid", json_integer((json_int_t)ninvalid));
	rc = dump(ctx, doc);
	json_decref(doc);
	return rc;
}

static int
json_plan(struct output_ctx *ctx, const struct output_plan *op)
{
	json_t *doc = plan_to_json(op->plan);
	int rc;

	if (doc == NULL)
		return -1;
	json_object_set_new(doc, "pipeline", json_string(op->pipeline));
	json_object_set_new(doc, "version_sha256", json_string(op->sha256));
	json_object_set_new(doc, "file", json_string(op->file));
	rc = dump(ctx, doc);
	json_decref(doc);
	return rc;
}

/* {"error": {"code": "...", "message": "..."}} as the API writes it. */
static int json_error(struct output_ctx *ctx, const char *code, const char *fmt,
    ...) PRINTFLIKE(3, 4);

static int
json_error(struct output_ctx *ctx, const char *code, const char *fmt, ...)
{
	char msg[1024];
	json_t *doc;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	doc = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	if (doc == NULL)
		return -1;
	rc = dump(ctx, doc);
	json_decref(doc);
	return rc;
}

const struct output output_json = {
    .name = "json",
    .file = json_file,
    .files_end = json_files_end,
    .plan = json_plan,
    .error = json_error,
};

void
output_ctx_clear(struct output_ctx *ctx)
{
	json_decref(ctx->acc);
	ctx->acc = NULL;
}
