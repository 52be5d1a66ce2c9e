/*
 * output_text.c - gantryctl's text renderer: validation errors one per
 * line ("file:path: message") with a summary on stderr, and plans as a
 * timeline of steps with offsets, UTC times, groups and targets.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "output.h"

/* Targets shown in full up to this many; beyond, the first few + count. */
#define TARGETS_SHOWN 4

static int
text_file(struct output_ctx *ctx, const struct output_file *f)
{
	for (size_t i = 0; i < f->diag->n; i++)
		fprintf(ctx->out, "%s\n", f->diag->msgs[i]);
	if (f->diag->dropped > 0)
		fprintf(ctx->out, "%s: %zu more error%s not shown\n", f->file,
		    f->diag->dropped, f->diag->dropped == 1 ? "" : "s");
	if (!f->valid && f->diag->n == 0 && f->diag->dropped == 0)
		fprintf(ctx->out, "%s: invalid\n", f->file);
	return 0;
}

static int
text_files_end(struct output_ctx *ctx, size_t nfiles, size_t ninvalid)
{
	fprintf(ctx->err, "%zu file%s, %zu invalid\n", nfiles,
	    nfiles == 1 ? "" : "s", ninvalid);
	return 0;
}

/* "2026-11-30 17:00Z", with seconds when secs is set. */
static void
fmt_time(int64_t t, bool secs, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, len, "%" PRId64, t);
		return;
	}
	strftime(
	    buf, len, secs ? "%Y-%m-%d %H:%M:%SZ" : "%Y-%m-%d %H:%MZ", &tm);
}

/* "+HH:MM" (or "+HH:MM:SS") from start; hours are not wrapped at 24. */
static void
fmt_offset(int64_t d, bool secs, char *buf, size_t len)
{
	const char *sign = d < 0 ? "-" : "+";

	if (d < 0)
		d = -d;
	if (secs)
		snprintf(buf, len, "%s%02" PRId64 ":%02" PRId64 ":%02" PRId64,
		    sign, d / 3600, d / 60 % 60, d % 60);
	else
		snprintf(buf, len, "%s%02" PRId64 ":%02" PRId64, sign, d / 3600,
		    d / 60 % 60);
}

/* "h1 h2 h3 h4", or "h1 h2 h3 … (+5)" past TARGETS_SHOWN. */
static void
fmt_targets(const struct plan_step *s, char *buf, size_t len)
{
	size_t shown =
	    s->ntargets > TARGETS_SHOWN ? TARGETS_SHOWN - 1 : s->ntargets;
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < shown && off < len; i++)
		off += (size_t)snprintf(
		    buf + off, len - off, "%s%s", i ? " " : "", s->targets[i]);
	if (shown < s->ntargets && off < len)
		snprintf(buf + off, len - off, " \xe2\x80\xa6 (+%zu)",
		    s->ntargets - shown);
}

struct row {
	char offset[32];
	char when[32];
	char kind[32];
	char took[32];
	char targets[1024];
};

static size_t
max_len(size_t a, const char *s)
{
	size_t l = s ? strlen(s) : 1;

	return l > a ? l : a;
}

/* One timeline line, padded to the column widths, no trailing blanks. */
static void
print_row(FILE *out, size_t woff, const char *off, size_t wtime,
    const char *when, size_t wstage, const char *stage, size_t wkind,
    const char *kind, size_t wgroup, const char *group, size_t wtook,
    const char *took, const char *targets)
{
	char line[2048];
	size_t n;

	snprintf(line, sizeof(line), "%-*s  %-*s  %-*s  %-*s  %-*s  %*s  %s",
	    (int)woff, off, (int)wtime, when, (int)wstage, stage, (int)wkind,
	    kind, (int)wgroup, group, (int)wtook, took, targets);
	n = strlen(line);
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	fprintf(out, "%s\n", line);
}

static int
text_plan(struct output_ctx *ctx, const struct output_plan *op)
{
	const struct plan *p = op->plan;
	struct row *rows = NULL;
	size_t wstage = 5, wkind = 4, wgroup = 5, wtook = 5, woff = 6;
	size_t wtime;
	bool secs = (p->start % 60) != 0 || (p->end % 60) != 0;
	char a[32], b[32];

	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].start % 60 != 0 || p->steps[i].end % 60 != 0)
			secs = true;
	wtime = secs ? 20 : 17; /* "2026-11-30 17:00:00Z" */
	rows = calloc(p->nsteps ? p->nsteps : 1, sizeof(*rows));
	if (rows == NULL)
		return -1;
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct plan_step *s = &p->steps[i];
		struct row *r = &rows[i];

		fmt_offset(
		    s->start - p->start, secs, r->offset, sizeof(r->offset));
		fmt_time(s->start, secs, r->when, sizeof(r->when));
		if (s->kind == PLAN_BATCH && s->batch > 0)
			snprintf(r->kind, sizeof(r->kind), "%s %d",
			    plan_step_kind_name(s->kind), s->batch);
		else
			snprintf(r->kind, sizeof(r->kind), "%s",
			    plan_step_kind_name(s->kind));
		duration_format(
		    (s->end - s->start) * 1000, r->took, sizeof(r->took));
		fmt_targets(s, r->targets, sizeof(r->targets));
		woff = max_len(woff, r->offset);
		wstage = max_len(wstage, s->stage);
		wkind = max_len(wkind, r->kind);
		wgroup = max_len(wgroup, s->group);
		wtook = max_len(wtook, r->took);
	}

	fprintf(ctx->out, "pipeline  %s (%s)\n", op->pipeline, op->file);
	fprintf(ctx->out, "version   sha256:%s\n", op->sha256);
	fmt_time(p->start, secs, a, sizeof(a));
	fprintf(ctx->out, "start     %s\n", a);
	if (p->production_end != 0) {
		fmt_time(p->production_end, secs, a, sizeof(a));
		fmt_offset(p->production_end - p->start, secs, b, sizeof(b));
		fprintf(ctx->out, "ETA       100%% of production at %s (%s)\n",
		    a, b);
	} else {
		fprintf(ctx->out, "ETA       no production stage\n");
	}
	fmt_time(p->end, secs, a, sizeof(a));
	fmt_offset(p->end - p->start, secs, b, sizeof(b));
	fprintf(ctx->out, "end       %s (%s)\n\n", a, b);

	print_row(ctx->out, woff, "OFFSET", wtime, "TIME (UTC)", wstage,
	    "STAGE", wkind, "STEP", wgroup, "GROUP", wtook, "TAKES", "TARGETS");
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct plan_step *s = &p->steps[i];
		const struct row *r = &rows[i];

		print_row(ctx->out, woff, r->offset, wtime, r->when, wstage,
		    s->stage, wkind, r->kind, wgroup, s->group ? s->group : "-",
		    wtook, r->took, r->targets);
	}
	free(rows);
	return 0;
}

static int text_error(struct output_ctx *ctx, const char *code, const char *fmt,
    ...) PRINTFLIKE(3, 4);

static int
text_error(struct output_ctx *ctx, const char *code, const char *fmt, ...)
{
	va_list ap;

	(void)code;
	fprintf(ctx->err, "gantryctl: ");
	va_start(ap, fmt);
	vfprintf(ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->err);
	return 0;
}

const struct output output_text = {
    .name = "text",
    .file = text_file,
    .files_end = text_files_end,
    .plan = text_plan,
    .error = text_error,
};
