/*
 * check_waves.c - unit tests for lib/waves.c: the expansion of a waves
 * stage against a golden file (tests/data/waves/prod.golden), exact and
 * "rest" wave sizes, determinism, and that expanded and copied stages
 * share no memory with the pipeline they came from.  Pipelines are built
 * by hand here (not parsed), and freed here without pipeline_free().
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "waves.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- building pipelines by hand ------------------------------------------- */

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Split a comma-separated list into a new string vector. */
static char **
split(const char *list, size_t *n)
{
	char *copy = xstrdup(list), *save = NULL, *tok;
	char **v = xcalloc(strlen(list) + 1, sizeof(char *));

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		v[(*n)++] = xstrdup(tok);
	free(copy);
	return v;
}

/* Groups from "NAME=t1,t2 NAME=t3": one group per space-separated item. */
static struct stage_group *
groups(const char *spec, size_t *n)
{
	char *copy = xstrdup(spec), *save = NULL, *tok;
	struct stage_group *g = xcalloc(strlen(spec) + 1, sizeof(*g));

	*n = 0;
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		ck_assert_ptr_nonnull(eq);
		*eq = '\0';
		g[*n].name = xstrdup(tok);
		g[*n].targets = split(eq + 1, &g[*n].ntargets);
		(*n)++;
	}
	free(copy);
	return g;
}

/* Regions from "REGION AZ=t1,t2 AZ=t3" strings, NULL-terminated. */
static struct region *
regions(size_t *n, const char *const *specs)
{
	struct region *r;

	for (*n = 0; specs[*n] != NULL; (*n)++)
		;
	r = xcalloc(*n, sizeof(*r));
	for (size_t i = 0; i < *n; i++) {
		const char *sp = strchr(specs[i], ' ');

		ck_assert_ptr_nonnull(sp);
		r[i].name = xstrdup(specs[i]);
		r[i].name[sp - specs[i]] = '\0';
		r[i].azs = groups(sp + 1, &r[i].nazs);
	}
	return r;
}

static int *
sizes(size_t n, const int *v)
{
	int *s = xcalloc(n, sizeof(int));

	memcpy(s, v, n * sizeof(int));
	return s;
}

/* windows with one entry of each kind, tagged so copies can be told. */
static void
fill_windows(struct windows *w, const char *tag)
{
	char buf[128];

	w->allow = xcalloc(2, sizeof(*w->allow));
	w->nallow = 2;
	w->allow[0].rrule = xstrdup("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9");
	w->allow[0].duration_ms = 7 * 3600000LL;
	w->allow[0].timezone = xstrdup("America/Los_Angeles");
	snprintf(buf, sizeof(buf), "FREQ=DAILY;BYHOUR=14;X-TAG=%s", tag);
	w->allow[1].rrule = xstrdup(buf);
	w->allow[1].duration_ms = 3600000LL;
	w->allow[1].timezone = xstrdup("Europe/Stockholm");
	w->deny = xcalloc(1, sizeof(*w->deny));
	w->ndeny = 1;
	w->deny[0].calendar = xstrdup("calendars/freeze.ics");
	snprintf(buf, sizeof(buf), "BEGIN:VCALENDAR\r\nX-TAG:%s\r\n", tag);
	w->deny[0].ics = xstrdup(buf);
	w->freeze = xcalloc(1, sizeof(*w->freeze));
	w->nfreeze = 1;
	w->freeze[0].from = 1798070400; /* 2026-12-24T00:00:00Z */
	w->freeze[0].to = 1798243200;
	snprintf(buf, sizeof(buf), "holidays (%s)", tag);
	w->freeze[0].reason = xstrdup(buf);
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
free_groups(struct stage_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].name);
		free_strv(g[i].targets, g[i].ntargets);
	}
	free(g);
}

/* The test's own release of a hand-built stage (independent of
 * stages_free, so a field stages_free forgot shows up as a leak). */
static void
free_stage(struct stage *s)
{
	free(s->name);
	free_groups(s->groups, s->ngroups);
	free_strv(s->alarms, s->nalarms);
	for (size_t i = 0; i < s->windows.nallow; i++) {
		free(s->windows.allow[i].rrule);
		free(s->windows.allow[i].timezone);
	}
	free(s->windows.allow);
	for (size_t i = 0; i < s->windows.ndeny; i++) {
		free(s->windows.deny[i].calendar);
		free(s->windows.deny[i].ics);
	}
	free(s->windows.deny);
	for (size_t i = 0; i < s->windows.nfreeze; i++)
		free(s->windows.freeze[i].reason);
	free(s->windows.freeze);
	free(s->tests);
	free(s->command);
	for (size_t i = 0; i < s->nregions; i++) {
		free(s->regions[i].name);
		free_groups(s->regions[i].azs, s->regions[i].nazs);
	}
	free(s->regions);
	free(s->wave_sizes);
	free(s->waves_of);
	memset(s, 0, sizeof(*s));
}

static void
free_pipeline(struct pipeline *p)
{
	for (size_t i = 0; i < p->nstages; i++)
		free_stage(&p->stages[i]);
	free(p->stages);
	free(p->name);
	free(p);
}

static const char *const prod_regions[] = {
    "eu-north-1 az1=h1,h2 az2=h3,h4",
    "us-east-1 az1=use1-a1,use1-a2 az2=use1-b1 az3=use1-c1,use1-c2",
    "us-west-2 az1=usw2-a1 az2=usw2-b1,usw2-b2",
    "ap-south-1 az1=aps1-a1,aps1-a2,aps1-a3",
    "sa-east-1 az1=sae1-a1 az2=sae1-b1",
    NULL,
};

/* A waves stage "prod" over the given regions and sizes, with every
 * field a wave copies set to something recognisable. */
static void
fill_waves(
    struct stage *s, const char *const *specs, size_t nsizes, const int *ws)
{
	s->name = xstrdup("prod");
	s->type = STAGE_WAVES;
	s->regions = regions(&s->nregions, specs);
	s->wave_sizes = sizes(nsizes, ws);
	s->nwave_sizes = nsizes;
	s->sequential = true;
	s->one_box = true;
	s->one_box_bake_ms = 3600000;
	s->one_box_max_traffic_share = 0.1;
	s->batch_percent = true;
	s->batch = 25;
	s->bake_ms = 3600000;
	s->alarms = split("errors,latency,traffic,faults", &s->nalarms);
	fill_windows(&s->windows, "prod");
	s->production = false; /* as parsed: waves imply it on expansion */
	s->tests = xstrdup("hooks/smoke");
	s->timeout_ms = 20 * 60000;
}

/* build, gamma (deploy), zeta (test), then prod (waves). */
static struct pipeline *
make_pipeline(const char *const *specs, size_t nsizes, const int *ws)
{
	struct pipeline *p = xcalloc(1, sizeof(*p));
	struct stage *s;

	p->name = xstrdup("orders-api");
	p->nstages = 4;
	p->stages = s = xcalloc(p->nstages, sizeof(*s));

	s[0].name = xstrdup("build");
	s[0].type = STAGE_BUILD;

	s[1].name = xstrdup("gamma");
	s[1].type = STAGE_DEPLOY;
	s[1].groups = groups(
	    "us-east-1=g-use1-a,g-use1-b eu-west-1=g-euw1-a", &s[1].ngroups);
	s[1].sequential = true;
	s[1].one_box = true;
	s[1].one_box_bake_ms = 30 * 60000;
	s[1].batch = 1;
	s[1].bake_ms = 30 * 60000;
	s[1].alarms = split("errors,latency,canary", &s[1].nalarms);
	fill_windows(&s[1].windows, "gamma");
	s[1].tests = xstrdup("hooks/e2e");

	s[2].name = xstrdup("zeta");
	s[2].type = STAGE_TEST;
	s[2].command = xstrdup("hooks/backcompat");
	s[2].timeout_ms = 5 * 60000;

	fill_waves(&s[3], specs, nsizes, ws);
	return p;
}

static struct pipeline *
make_prod(void)
{
	static const int ws[] = {1, 1, 2, WAVE_REST};

	return make_pipeline(prod_regions, N(ws), ws);
}

/* --- rendering ------------------------------------------------------------ */

static const char *
bool_str(bool b)
{
	return b ? "true" : "false";
}

/* One line per stage: name, sequential, then " | GROUP: t1 t2 ...". */
static void
render_line(FILE *f, const struct stage *s)
{
	fprintf(f, "%s sequential=%s", s->name, bool_str(s->sequential));
	for (size_t g = 0; g < s->ngroups; g++) {
		fprintf(f, " | %s:", s->groups[g].name);
		for (size_t t = 0; t < s->groups[g].ntargets; t++)
			fprintf(f, " %s", s->groups[g].targets[t]);
	}
	fputc('\n', f);
}

/* Every field, below the line, so that two renders equal means equal
 * stages (used for copies and determinism). */
static void
render_detail(FILE *f, const struct stage *s)
{
	const struct windows *w = &s->windows;

	render_line(f, s);
	fprintf(f,
	    "  type=%d production=%s wave=%d waves_of=%s one_box=%s "
	    "one_box_bake=%lld share=%g batch=%d%s bake=%lld timeout=%lld "
	    "tests=%s command=%s\n",
	    (int)s->type, bool_str(s->production), s->wave,
	    s->waves_of ? s->waves_of : "-", bool_str(s->one_box),
	    (long long)s->one_box_bake_ms, s->one_box_max_traffic_share,
	    s->batch, s->batch_percent ? "%" : "", (long long)s->bake_ms,
	    (long long)s->timeout_ms, s->tests ? s->tests : "-",
	    s->command ? s->command : "-");
	fprintf(f, "  alarms:");
	for (size_t i = 0; i < s->nalarms; i++)
		fprintf(f, " %s", s->alarms[i]);
	fputc('\n', f);
	for (size_t i = 0; i < w->nallow; i++)
		fprintf(f, "  allow %s %lld %s\n", w->allow[i].rrule,
		    (long long)w->allow[i].duration_ms, w->allow[i].timezone);
	for (size_t i = 0; i < w->ndeny; i++)
		fprintf(f, "  deny %s %s\n", w->deny[i].calendar,
		    w->deny[i].ics ? w->deny[i].ics : "-");
	for (size_t i = 0; i < w->nfreeze; i++)
		fprintf(f, "  freeze %lld %lld %s\n",
		    (long long)w->freeze[i].from, (long long)w->freeze[i].to,
		    w->freeze[i].reason);
	for (size_t i = 0; i < s->nregions; i++) {
		fprintf(f, "  region %s", s->regions[i].name);
		for (size_t a = 0; a < s->regions[i].nazs; a++) {
			const struct stage_group *az = &s->regions[i].azs[a];

			fprintf(f, " %s:", az->name);
			for (size_t t = 0; t < az->ntargets; t++)
				fprintf(
				    f, "%s%s", t ? "," : "", az->targets[t]);
		}
		fputc('\n', f);
	}
	if (s->nwave_sizes > 0) {
		fprintf(f, "  wave_sizes:");
		for (size_t i = 0; i < s->nwave_sizes; i++)
			fprintf(f, " %d", s->wave_sizes[i]);
		fputc('\n', f);
	}
}

/* The stages as text (caller frees). */
static char *
render(const struct stage *st, size_t n, bool detail)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < n; i++) {
		if (detail)
			render_detail(f, &st[i]);
		else
			render_line(f, &st[i]);
	}
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static char *
read_golden(const char *name)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	char *buf;
	long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/waves/%s",
	    top && *top ? top : ".", name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_ge(len, 0);
	rewind(f);
	buf = xcalloc((size_t)len + 1, 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

/* Expand p, which must succeed. */
static struct stage *
expand(const struct pipeline *p, size_t *n)
{
	struct gantry_error err = {0};
	struct stage *st = NULL;

	ck_assert_msg(
	    waves_expand(p, &st, n, &err) == 0, "expand: %s", err.msg);
	ck_assert_ptr_nonnull(st);
	return st;
}

/* Expand the pipeline with the given waves stage; the prod lines only
 * (the three stages before it are the same every time) must be want. */
static void
assert_waves(
    const char *const *specs, size_t nsizes, const int *ws, const char *want)
{
	struct pipeline *p = make_pipeline(specs, nsizes, ws);
	size_t n;
	struct stage *st = expand(p, &n);
	char *got;

	ck_assert_uint_eq(n, 3 + nsizes);
	got = render(st + 3, n - 3, false);
	ck_assert_msg(strcmp(got, want) == 0, "got:\n%s\nwant:\n%s", got, want);
	free(got);
	stages_free(st, n);
	free_pipeline(p);
}

/* --- tests ---------------------------------------------------------------- */

START_TEST(test_golden_prod)
{
	struct pipeline *p = make_prod();
	size_t n;
	struct stage *st = expand(p, &n);
	char *got = render(st, n, false);
	char *want = read_golden("prod.golden");

	ck_assert_uint_eq(n, 7);
	ck_assert_msg(strcmp(got, want) == 0, "got:\n%s\nwant:\n%s", got, want);
	free(got);
	free(want);
	stages_free(st, n);
	free_pipeline(p);
}
END_TEST

/* Every wave carries the waves stage's settings, and none of the waves
 * bookkeeping of the source (regions, wave_sizes). */
START_TEST(test_wave_fields)
{
	struct pipeline *p = make_prod();
	const struct stage *w = &p->stages[3];
	size_t n;
	struct stage *st = expand(p, &n);
	char *a, *b;

	for (size_t k = 3; k < n; k++) {
		const struct stage *s = &st[k];

		ck_assert_int_eq(s->type, STAGE_DEPLOY);
		ck_assert(s->production);
		ck_assert_int_eq(s->wave, (int)k - 2);
		ck_assert_str_eq(s->waves_of, "prod");
		ck_assert(s->one_box);
		ck_assert_int_eq(s->one_box_bake_ms, 3600000);
		ck_assert(s->one_box_max_traffic_share == 0.1);
		ck_assert(s->batch_percent);
		ck_assert_int_eq(s->batch, 25);
		ck_assert_int_eq(s->bake_ms, 3600000);
		ck_assert_int_eq(s->timeout_ms, 20 * 60000);
		ck_assert_str_eq(s->tests, "hooks/smoke");
		ck_assert_ptr_ne(s->tests, w->tests);
		ck_assert_ptr_null(s->command);
		ck_assert_uint_eq(s->nalarms, 4);
		ck_assert_ptr_ne(s->alarms, w->alarms);
		for (size_t i = 0; i < s->nalarms; i++) {
			ck_assert_str_eq(s->alarms[i], w->alarms[i]);
			ck_assert_ptr_ne(s->alarms[i], w->alarms[i]);
		}
		ck_assert_uint_eq(s->windows.nallow, 2);
		ck_assert_uint_eq(s->windows.ndeny, 1);
		ck_assert_uint_eq(s->windows.nfreeze, 1);
		ck_assert_ptr_ne(s->windows.allow, w->windows.allow);
		ck_assert_ptr_ne(
		    s->windows.allow[1].rrule, w->windows.allow[1].rrule);
		ck_assert_str_eq(s->windows.allow[1].rrule,
		    "FREQ=DAILY;BYHOUR=14;X-TAG=prod");
		ck_assert_str_eq(s->windows.deny[0].ics,
		    "BEGIN:VCALENDAR\r\nX-TAG:prod\r\n");
		ck_assert_ptr_ne(
		    s->windows.deny[0].ics, w->windows.deny[0].ics);
		ck_assert_str_eq(
		    s->windows.freeze[0].reason, "holidays (prod)");
		ck_assert_int_eq(s->windows.freeze[0].to, 1798243200);
		ck_assert_ptr_null(s->regions);
		ck_assert_uint_eq(s->nregions, 0);
		ck_assert_ptr_null(s->wave_sizes);
		ck_assert_uint_eq(s->nwave_sizes, 0);
	}
	/* the stages before the waves are exact copies */
	for (size_t k = 0; k < 3; k++) {
		a = render(&p->stages[k], 1, true);
		b = render(&st[k], 1, true);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
		ck_assert_ptr_ne(st[k].name, p->stages[k].name);
	}
	ck_assert_ptr_null(st[0].waves_of);
	ck_assert_int_eq(st[0].wave, 0);
	stages_free(st, n);
	free_pipeline(p);
}
END_TEST

/* Wave 2 still goes AZ by AZ even when it is the last ("rest") wave. */
START_TEST(test_two_then_rest)
{
	static const int ws[] = {2, WAVE_REST};

	assert_waves(prod_regions + 2, N(ws), ws,
	    "prod/wave-1 sequential=true | us-west-2/az1: usw2-a1 | "
	    "us-west-2/az2: usw2-b1 usw2-b2 | ap-south-1/az1: aps1-a1 "
	    "aps1-a2 aps1-a3\n"
	    "prod/wave-2 sequential=true | sa-east-1/az1: sae1-a1 | "
	    "sa-east-1/az2: sae1-b1\n");
}
END_TEST

/* Sizes that add up exactly, no "rest": wave 3 is per region. */
START_TEST(test_exact_ones)
{
	static const int ws[] = {1, 1, 1};

	assert_waves(prod_regions + 2, N(ws), ws,
	    "prod/wave-1 sequential=true | us-west-2/az1: usw2-a1 | "
	    "us-west-2/az2: usw2-b1 usw2-b2\n"
	    "prod/wave-2 sequential=true | ap-south-1/az1: aps1-a1 aps1-a2 "
	    "aps1-a3\n"
	    "prod/wave-3 sequential=false | sa-east-1: sae1-a1 sae1-b1\n");
}
END_TEST

/* One wave covering everything. */
START_TEST(test_rest_only)
{
	static const int ws[] = {WAVE_REST};

	assert_waves(prod_regions + 3, N(ws), ws,
	    "prod/wave-1 sequential=true | ap-south-1/az1: aps1-a1 aps1-a2 "
	    "aps1-a3 | sa-east-1/az1: sae1-a1 | sa-east-1/az2: sae1-b1\n");
}
END_TEST

/* Many later waves: each per region, in parallel, in order. */
START_TEST(test_five_waves)
{
	static const int ws[] = {1, 1, 1, 1, 1};

	assert_waves(prod_regions, N(ws), ws,
	    "prod/wave-1 sequential=true | eu-north-1/az1: h1 h2 | "
	    "eu-north-1/az2: h3 h4\n"
	    "prod/wave-2 sequential=true | us-east-1/az1: use1-a1 use1-a2 | "
	    "us-east-1/az2: use1-b1 | us-east-1/az3: use1-c1 use1-c2\n"
	    "prod/wave-3 sequential=false | us-west-2: usw2-a1 usw2-b1 "
	    "usw2-b2\n"
	    "prod/wave-4 sequential=false | ap-south-1: aps1-a1 aps1-a2 "
	    "aps1-a3\n"
	    "prod/wave-5 sequential=false | sa-east-1: sae1-a1 sae1-b1\n");
}
END_TEST

/* Two waves stages in one pipeline expand independently, in place. */
START_TEST(test_two_waves_stages)
{
	static const int ws[] = {1, WAVE_REST}, rest[] = {WAVE_REST};
	struct pipeline *p = make_pipeline(prod_regions + 3, N(ws), ws);
	struct stage *grown;
	size_t n;
	struct stage *st;
	char *got;

	/* append a second waves stage "late" after prod */
	grown = realloc(p->stages, 5 * sizeof(*grown));
	ck_assert_ptr_nonnull(grown);
	p->stages = grown;
	memset(&p->stages[4], 0, sizeof(p->stages[4]));
	fill_waves(&p->stages[4], prod_regions + 3, N(rest), rest);
	free(p->stages[4].name);
	p->stages[4].name = xstrdup("late");
	p->nstages = 5;
	st = expand(p, &n);
	ck_assert_uint_eq(n, 6);
	got = render(st, n, false);
	ck_assert_str_eq(got,
	    "build sequential=false\n"
	    "gamma sequential=true | us-east-1: g-use1-a g-use1-b | "
	    "eu-west-1: g-euw1-a\n"
	    "zeta sequential=false\n"
	    "prod/wave-1 sequential=true | ap-south-1/az1: aps1-a1 aps1-a2 "
	    "aps1-a3\n"
	    "prod/wave-2 sequential=true | sa-east-1/az1: sae1-a1 | "
	    "sa-east-1/az2: sae1-b1\n"
	    "late/wave-1 sequential=true | ap-south-1/az1: aps1-a1 aps1-a2 "
	    "aps1-a3 | sa-east-1/az1: sae1-a1 | sa-east-1/az2: sae1-b1\n");
	free(got);
	ck_assert_str_eq(st[4].waves_of, "prod");
	ck_assert_int_eq(st[4].wave, 2);
	ck_assert_str_eq(st[5].waves_of, "late");
	ck_assert_int_eq(st[5].wave, 1);
	stages_free(st, n);
	free_pipeline(p);
}
END_TEST

START_TEST(test_deterministic)
{
	struct pipeline *p = make_prod();
	size_t n1, n2;
	struct stage *a = expand(p, &n1);
	struct stage *b = expand(p, &n2);
	char *ta = render(a, n1, true), *tb = render(b, n2, true);

	ck_assert_uint_eq(n1, n2);
	ck_assert_str_eq(ta, tb);
	/* two expansions share nothing either */
	for (size_t i = 0; i < n1; i++) {
		ck_assert_ptr_ne(a[i].name, b[i].name);
		if (a[i].ngroups > 0) {
			ck_assert_ptr_ne(a[i].groups, b[i].groups);
			ck_assert_ptr_ne(a[i].groups[0].targets[0],
			    b[i].groups[0].targets[0]);
		}
	}
	free(ta);
	free(tb);
	stages_free(a, n1);
	stages_free(b, n2);
	free_pipeline(p);
}
END_TEST

/* Free the pipeline, then read every field of the expansion (ASan or
 * valgrind would catch a shared pointer). */
START_TEST(test_independent_of_pipeline)
{
	struct pipeline *p = make_prod();
	size_t n;
	struct stage *st = expand(p, &n);
	char *before = render(st, n, true), *after;

	free_pipeline(p);
	after = render(st, n, true);
	ck_assert_str_eq(before, after);
	/* and the source's strings are not what the copy points to */
	ck_assert_ptr_nonnull(strstr(after, "X-TAG=prod"));
	ck_assert_ptr_nonnull(strstr(after, "holidays (gamma)"));
	free(before);
	free(after);
	stages_free(st, n);
}
END_TEST

/* stage_copy copies every field, regions and wave_sizes included. */
START_TEST(test_stage_copy_full)
{
	static const int ws[] = {1, 1, 2, WAVE_REST};
	struct stage src = {0}, dst;
	char *before, *after;

	fill_waves(&src, prod_regions, N(ws), ws);
	src.groups = groups("a=x,y b=z", &src.ngroups);
	src.command = xstrdup("hooks/cmd");
	src.waves_of = xstrdup("origin");
	src.wave = 7;
	src.production = true;
	memset(&dst, 0xa5, sizeof(dst));
	ck_assert_int_eq(stage_copy(&dst, &src), 0);
	before = render(&src, 1, true);
	ck_assert_ptr_nonnull(strstr(before, "wave_sizes: 1 1 2 -1"));
	ck_assert_ptr_nonnull(strstr(before, "region ap-south-1"));
	ck_assert_ptr_ne(dst.regions, src.regions);
	ck_assert_ptr_ne(
	    dst.regions[1].azs[2].targets[1], src.regions[1].azs[2].targets[1]);
	ck_assert_ptr_ne(dst.wave_sizes, src.wave_sizes);
	free_stage(&src);
	after = render(&dst, 1, true);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* stages_free on a heap copy frees everything (leak check) */
	{
		struct stage *heap = xcalloc(1, sizeof(*heap));

		*heap = dst;
		stages_free(heap, 1);
	}
}
END_TEST

/* An empty stage copies to an empty stage: no allocations for empty
 * arrays, NULL strings stay NULL. */
START_TEST(test_stage_copy_empty)
{
	struct stage src = {0}, *dst = xcalloc(1, sizeof(*dst));

	src.type = STAGE_BUILD;
	ck_assert_int_eq(stage_copy(dst, &src), 0);
	ck_assert_ptr_null(dst->name);
	ck_assert_ptr_null(dst->groups);
	ck_assert_ptr_null(dst->alarms);
	ck_assert_ptr_null(dst->windows.allow);
	ck_assert_ptr_null(dst->windows.deny);
	ck_assert_ptr_null(dst->windows.freeze);
	ck_assert_ptr_null(dst->regions);
	ck_assert_ptr_null(dst->wave_sizes);
	ck_assert_int_eq(dst->type, STAGE_BUILD);
	stages_free(dst, 1);
	stages_free(NULL, 0);
}
END_TEST

/* Without waves stages the expansion is a plain copy. */
START_TEST(test_no_waves)
{
	struct pipeline *p = make_prod();
	size_t n;
	struct stage *st;
	char *a, *b;

	free_stage(&p->stages[3]);
	p->nstages = 3;
	st = expand(p, &n);
	ck_assert_uint_eq(n, 3);
	a = render(p->stages, p->nstages, true);
	b = render(st, n, true);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	stages_free(st, n);
	free_pipeline(p);
}
END_TEST

/* Sizes that do not cover the regions cannot come out of pipeline_parse;
 * if they do anyway, expansion refuses rather than guess. */
static const struct {
	size_t nregions_skip; /* regions from prod_regions + skip */
	size_t n;
	int ws[4];
} broken_sizes[] = {
    {0, 3, {1, 1, 1}}, /* 5 regions, 3 covered */
    {3, 3, {1, 1, 1}}, /* 2 regions, 3 asked for */
    {3, 3, {1, 1, WAVE_REST}}, /* rest covers none */
    {0, 2, {0, WAVE_REST}}, /* a zero-size wave */
};

START_TEST(test_broken_sizes)
{
	struct pipeline *p =
	    make_pipeline(prod_regions + broken_sizes[_i].nregions_skip,
	        broken_sizes[_i].n, broken_sizes[_i].ws);
	struct gantry_error err = {0};
	struct stage *st = (struct stage *)1;
	size_t n = 99;

	ck_assert_int_eq(waves_expand(p, &st, &n, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EINTERNAL);
	ck_assert_str_eq(err.msg,
	    p->stages[3].nregions == 5
	        ? "stage prod: wave_sizes do not cover its 5 regions"
	        : "stage prod: wave_sizes do not cover its 2 regions");
	ck_assert_ptr_null(st);
	ck_assert_uint_eq(n, 0);
	free_pipeline(p);
}
END_TEST

static Suite *
waves_suite(void)
{
	Suite *s = suite_create("waves");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_golden_prod);
	tcase_add_test(tc, test_wave_fields);
	tcase_add_test(tc, test_two_then_rest);
	tcase_add_test(tc, test_exact_ones);
	tcase_add_test(tc, test_rest_only);
	tcase_add_test(tc, test_five_waves);
	tcase_add_test(tc, test_two_waves_stages);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_independent_of_pipeline);
	tcase_add_test(tc, test_stage_copy_full);
	tcase_add_test(tc, test_stage_copy_empty);
	tcase_add_test(tc, test_no_waves);
	tcase_add_loop_test(tc, test_broken_sizes, 0, N(broken_sizes));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(waves_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
