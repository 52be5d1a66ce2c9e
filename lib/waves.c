/*
 * waves.c - expand `type: waves` stages into deploy stages NAME/wave-K
 * (waves.h, SPEC.md section 3), and deep-copy / free stages.  Every
 * string and array of an expanded stage is its own copy, so the result
 * outlives the pipeline it came from.
 */
#include "waves.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Waves up to this number go one AZ at a time (SPEC.md section 3). */
#define WAVES_PER_AZ 2

/* --- freeing -------------------------------------------------------------- */

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
groups_free(struct stage_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].name);
		strv_free(g[i].targets, g[i].ntargets);
	}
	free(g);
}

static void
windows_clear(struct windows *w)
{
	for (size_t i = 0; i < w->nallow; i++) {
		free(w->allow[i].rrule);
		free(w->allow[i].timezone);
	}
	free(w->allow);
	for (size_t i = 0; i < w->ndeny; i++) {
		free(w->deny[i].calendar);
		free(w->deny[i].ics);
	}
	free(w->deny);
	for (size_t i = 0; i < w->nfreeze; i++)
		free(w->freeze[i].reason);
	free(w->freeze);
	memset(w, 0, sizeof(*w));
}

/* Free everything s holds (every pointer field of struct stage) and zero
 * it; a zeroed stage is a no-op. */
static void
stage_clear(struct stage *s)
{
	free(s->name);
	groups_free(s->groups, s->ngroups);
	strv_free(s->alarms, s->nalarms);
	windows_clear(&s->windows);
	free(s->tests);
	free(s->command);
	for (size_t i = 0; i < s->nregions; i++) {
		free(s->regions[i].name);
		groups_free(s->regions[i].azs, s->regions[i].nazs);
	}
	free(s->regions);
	free(s->wave_sizes);
	free(s->waves_of);
	memset(s, 0, sizeof(*s));
}

void
stages_free(struct stage *stages, size_t n)
{
	if (stages == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		stage_clear(&stages[i]);
	free(stages);
}

/* --- copying -------------------------------------------------------------- */

/*
 * The copy helpers below store a zeroed array and its count in the
 * destination before filling it, so that on failure whatever was built so
 * far is released by stage_clear() like any other stage.
 */

/* *dst = a copy of src (NULL stays NULL); -1 on allocation failure. */
static int
str_copy(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst == NULL ? -1 : 0;
}

/* calloc that returns NULL (and succeeds) for n == 0. */
static int
array_new(void **out, size_t n, size_t size)
{
	*out = NULL;
	if (n == 0)
		return 0;
	*out = calloc(n, size);
	return *out == NULL ? -1 : 0;
}

static int
strv_copy(char ***dst, size_t *ndst, char *const *src, size_t n)
{
	void *v;

	*dst = NULL;
	*ndst = 0;
	if (array_new(&v, n, sizeof(char *)) < 0)
		return -1;
	*dst = v;
	*ndst = n;
	for (size_t i = 0; i < n; i++)
		if (str_copy(&(*dst)[i], src[i]) < 0)
			return -1;
	return 0;
}

static int
groups_copy(struct stage_group **dst, size_t *ndst,
    const struct stage_group *src, size_t n)
{
	void *v;

	*dst = NULL;
	*ndst = 0;
	if (array_new(&v, n, sizeof(struct stage_group)) < 0)
		return -1;
	*dst = v;
	*ndst = n;
	for (size_t i = 0; i < n; i++)
		if (str_copy(&(*dst)[i].name, src[i].name) < 0 ||
		    strv_copy(&(*dst)[i].targets, &(*dst)[i].ntargets,
		        src[i].targets, src[i].ntargets) < 0)
			return -1;
	return 0;
}

static int
windows_copy(struct windows *dst, const struct windows *src)
{
	void *v;

	memset(dst, 0, sizeof(*dst));
	if (array_new(&v, src->nallow, sizeof(*src->allow)) < 0)
		return -1;
	dst->allow = v;
	dst->nallow = src->nallow;
	for (size_t i = 0; i < src->nallow; i++) {
		dst->allow[i].duration_ms = src->allow[i].duration_ms;
		if (str_copy(&dst->allow[i].rrule, src->allow[i].rrule) < 0 ||
		    str_copy(&dst->allow[i].timezone, src->allow[i].timezone) <
		        0)
			return -1;
	}
	if (array_new(&v, src->ndeny, sizeof(*src->deny)) < 0)
		return -1;
	dst->deny = v;
	dst->ndeny = src->ndeny;
	for (size_t i = 0; i < src->ndeny; i++)
		if (str_copy(&dst->deny[i].calendar, src->deny[i].calendar) <
		        0 ||
		    str_copy(&dst->deny[i].ics, src->deny[i].ics) < 0)
			return -1;
	if (array_new(&v, src->nfreeze, sizeof(*src->freeze)) < 0)
		return -1;
	dst->freeze = v;
	dst->nfreeze = src->nfreeze;
	for (size_t i = 0; i < src->nfreeze; i++) {
		dst->freeze[i].from = src->freeze[i].from;
		dst->freeze[i].to = src->freeze[i].to;
		if (str_copy(&dst->freeze[i].reason, src->freeze[i].reason) < 0)
			return -1;
	}
	return 0;
}

static int
regions_copy(
    struct region **dst, size_t *ndst, const struct region *src, size_t n)
{
	void *v;

	*dst = NULL;
	*ndst = 0;
	if (array_new(&v, n, sizeof(struct region)) < 0)
		return -1;
	*dst = v;
	*ndst = n;
	for (size_t i = 0; i < n; i++)
		if (str_copy(&(*dst)[i].name, src[i].name) < 0 ||
		    groups_copy(&(*dst)[i].azs, &(*dst)[i].nazs, src[i].azs,
		        src[i].nazs) < 0)
			return -1;
	return 0;
}

/* The fields an expanded wave shares with its waves stage (everything
 * but name, groups, sequential, regions, wave_sizes and the wave
 * bookkeeping), copied into a zeroed t. */
static int
stage_copy_common(struct stage *t, const struct stage *src)
{
	t->one_box = src->one_box;
	t->one_box_bake_ms = src->one_box_bake_ms;
	t->one_box_max_traffic_share = src->one_box_max_traffic_share;
	t->batch_percent = src->batch_percent;
	t->batch = src->batch;
	t->bake_ms = src->bake_ms;
	t->timeout_ms = src->timeout_ms;
	if (strv_copy(&t->alarms, &t->nalarms, src->alarms, src->nalarms) < 0 ||
	    windows_copy(&t->windows, &src->windows) < 0 ||
	    str_copy(&t->tests, src->tests) < 0)
		return -1;
	return 0;
}

int
stage_copy(struct stage *dst, const struct stage *src)
{
	struct stage t = {0};
	void *v;

	t.type = src->type;
	t.sequential = src->sequential;
	t.production = src->production;
	t.wave = src->wave;
	if (stage_copy_common(&t, src) < 0 ||
	    str_copy(&t.name, src->name) < 0 ||
	    groups_copy(&t.groups, &t.ngroups, src->groups, src->ngroups) < 0 ||
	    str_copy(&t.command, src->command) < 0 ||
	    regions_copy(&t.regions, &t.nregions, src->regions, src->nregions) <
	        0 ||
	    str_copy(&t.waves_of, src->waves_of) < 0)
		goto fail;
	if (array_new(&v, src->nwave_sizes, sizeof(int)) < 0)
		goto fail;
	t.wave_sizes = v;
	t.nwave_sizes = src->nwave_sizes;
	if (src->nwave_sizes > 0)
		memcpy(t.wave_sizes, src->wave_sizes,
		    src->nwave_sizes * sizeof(int));
	*dst = t;
	return 0;
fail:
	stage_clear(&t);
	return -1;
}

/* --- expansion ------------------------------------------------------------ */

/*
 * Regions per wave of a waves stage, into sizes[] (nwave_sizes entries):
 * WAVE_REST becomes the remainder.  pipeline_parse() guarantees the sizes
 * cover the regions exactly; -1 if they do not (a broken invariant).
 */
static int
wave_region_counts(const struct stage *w, size_t *sizes)
{
	size_t left = w->nregions;

	for (size_t k = 0; k < w->nwave_sizes; k++) {
		int ws = w->wave_sizes[k];
		size_t n = ws == WAVE_REST ? left : (size_t)(ws > 0 ? ws : 0);

		if (n == 0 || n > left)
			return -1;
		sizes[k] = n;
		left -= n;
	}
	return left == 0 ? 0 : -1;
}

/* Group for one AZ of region r (waves 1 and 2): "REGION/AZ". */
static int
group_for_az(
    struct stage_group *g, const struct region *r, const struct stage_group *az)
{
	if (asprintf(&g->name, "%s/%s", r->name, az->name) < 0) {
		g->name = NULL;
		return -1;
	}
	return strv_copy(&g->targets, &g->ntargets, az->targets, az->ntargets);
}

/* Group for a whole region (waves 3 on): all its AZs' targets, AZ order. */
static int
group_for_region(struct stage_group *g, const struct region *r)
{
	size_t n = 0, k = 0;
	void *v;

	if (str_copy(&g->name, r->name) < 0)
		return -1;
	for (size_t i = 0; i < r->nazs; i++)
		n += r->azs[i].ntargets;
	if (array_new(&v, n, sizeof(char *)) < 0)
		return -1;
	g->targets = v;
	g->ntargets = n;
	for (size_t i = 0; i < r->nazs; i++)
		for (size_t j = 0; j < r->azs[i].ntargets; j++)
			if (str_copy(&g->targets[k++], r->azs[i].targets[j]) <
			    0)
				return -1;
	return 0;
}

/* Build wave number `wave` (1-based) of w into the zeroed t, covering
 * the regions [first, first + count). */
static int
wave_build(struct stage *t, const struct stage *w, int wave, size_t first,
    size_t count)
{
	bool per_az = wave <= WAVES_PER_AZ;
	size_t ngroups = 0, gi = 0;
	void *v;

	t->type = STAGE_DEPLOY;
	t->production = true;
	t->wave = wave;
	t->sequential = per_az;
	if (asprintf(&t->name, "%s/wave-%d", w->name, wave) < 0) {
		t->name = NULL;
		return -1;
	}
	if (str_copy(&t->waves_of, w->name) < 0 || stage_copy_common(t, w) < 0)
		return -1;
	for (size_t i = first; i < first + count; i++)
		ngroups += per_az ? w->regions[i].nazs : 1;
	if (array_new(&v, ngroups, sizeof(struct stage_group)) < 0)
		return -1;
	t->groups = v;
	t->ngroups = ngroups;
	for (size_t i = first; i < first + count; i++) {
		const struct region *r = &w->regions[i];

		if (!per_az) {
			if (group_for_region(&t->groups[gi++], r) < 0)
				return -1;
			continue;
		}
		for (size_t a = 0; a < r->nazs; a++)
			if (group_for_az(&t->groups[gi++], r, &r->azs[a]) < 0)
				return -1;
	}
	return 0;
}

/* Record an allocation failure while expanding. */
static void
expand_nomem(struct gantry_error *err)
{
	gantry_error_set(err, GANTRY_ENOMEM, "out of memory expanding waves");
}

int
waves_expand(const struct pipeline *p, struct stage **out, size_t *nout,
    struct gantry_error *err)
{
	struct stage *st = NULL;
	size_t *sizes = NULL;
	size_t total = 0, k = 0;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < p->nstages; i++)
		total += p->stages[i].type == STAGE_WAVES
		    ? p->stages[i].nwave_sizes
		    : 1;
	/* at least one element, so that an empty pipeline is not ENOMEM */
	st = calloc(total ? total : 1, sizeof(*st));
	if (st == NULL) {
		expand_nomem(err);
		goto out;
	}
	for (size_t i = 0; i < p->nstages; i++) {
		const struct stage *s = &p->stages[i];
		size_t first = 0;

		if (s->type != STAGE_WAVES) {
			if (stage_copy(&st[k++], s) < 0) {
				expand_nomem(err);
				goto out;
			}
			continue;
		}
		free(sizes);
		sizes =
		    calloc(s->nwave_sizes ? s->nwave_sizes : 1, sizeof(*sizes));
		if (sizes == NULL) {
			expand_nomem(err);
			goto out;
		}
		if (wave_region_counts(s, sizes) < 0) {
			gantry_error_set(err, GANTRY_EINTERNAL,
			    "stage %s: wave_sizes do not cover its %zu "
			    "regions",
			    s->name, s->nregions);
			goto out;
		}
		for (size_t w = 0; w < s->nwave_sizes; w++) {
			if (wave_build(
			        &st[k++], s, (int)w + 1, first, sizes[w]) < 0) {
				expand_nomem(err);
				goto out;
			}
			first += sizes[w];
		}
	}
	*out = st;
	*nout = total;
	st = NULL;
	rc = 0;
out:
	/* on failure st is zeroed past what was built: free all of it */
	stages_free(st, total);
	free(sizes);
	return rc;
}
