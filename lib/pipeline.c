/*
 * pipeline.c - the pipeline model (pipeline.h): freeing, enum names and
 * lookups.  The validator that builds a struct pipeline from a file lives
 * in pipeline_parse.c.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

static const char *const source_names[] = {
    [SOURCE_APPLICATION] = "application",
    [SOURCE_INFRASTRUCTURE] = "infrastructure",
    [SOURCE_OS_PATCHES] = "os-patches",
    [SOURCE_CONFIG] = "config",
    [SOURCE_STATIC_ASSETS] = "static-assets",
};

static const char *const stage_type_names[] = {
    [STAGE_BUILD] = "build",
    [STAGE_TEST] = "test",
    [STAGE_DEPLOY] = "deploy",
    [STAGE_WAVES] = "waves",
};

const char *
pipeline_source_name(enum pipeline_source_kind k)
{
	if ((size_t)k >= sizeof(source_names) / sizeof(source_names[0]))
		return "unknown";
	return source_names[k];
}

const char *
stage_type_name(enum stage_type t)
{
	if ((size_t)t >= sizeof(stage_type_names) / sizeof(stage_type_names[0]))
		return "unknown";
	return stage_type_names[t];
}

const struct pipeline_hook *
pipeline_hook_find(const struct pipeline *p, const char *name)
{
	if (p == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < p->nhooks; i++)
		if (p->hooks[i].name && strcmp(p->hooks[i].name, name) == 0)
			return &p->hooks[i];
	return NULL;
}

void
alarm_defs_free(struct alarm_def *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].query);
	}
	free(v);
}

const struct alarm_def *
pipeline_alarm_find(const struct pipeline *p, const char *name)
{
	if (p == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < p->nalarms; i++)
		if (p->alarms[i].name && strcmp(p->alarms[i].name, name) == 0)
			return &p->alarms[i];
	return NULL;
}

static void
windows_free(struct windows *w)
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
}

static void
group_free(struct stage_group *g)
{
	free(g->name);
	for (size_t i = 0; i < g->ntargets; i++)
		free(g->targets[i]);
	free(g->targets);
}

static void
stage_free(struct stage *s)
{
	free(s->name);
	for (size_t i = 0; i < s->ngroups; i++)
		group_free(&s->groups[i]);
	free(s->groups);
	for (size_t i = 0; i < s->nalarms; i++)
		free(s->alarms[i]);
	free(s->alarms);
	windows_free(&s->windows);
	free(s->tests);
	free(s->command);
	for (size_t i = 0; i < s->nregions; i++) {
		free(s->regions[i].name);
		for (size_t j = 0; j < s->regions[i].nazs; j++)
			group_free(&s->regions[i].azs[j]);
		free(s->regions[i].azs);
	}
	free(s->regions);
	free(s->wave_sizes);
	free(s->waves_of);
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->service);
	free(p->repository);
	free(p->branch);
	for (size_t i = 0; i < p->nhooks; i++) {
		free(p->hooks[i].name);
		free(p->hooks[i].command);
	}
	free(p->hooks);
	free(p->signing_public_key);
	free(p->notify_webhook);
	alarm_defs_free(p->alarms, p->nalarms);
	windows_free(&p->windows);
	for (size_t i = 0; i < p->nstages; i++)
		stage_free(&p->stages[i]);
	free(p->stages);
	free(p);
}
