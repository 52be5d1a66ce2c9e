/*
 * alarms.c - alarm watchers (alarms.h): one watcher per defined alarm,
 * each with its own timer at its period; samples from Prometheus (httpc)
 * or a probe hook (hookrun), states pushed from outside, verdicts from
 * lib/alarm.h, state changes handed to the engine.
 */
#include "alarms.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "engine.h"
#include "gantryd.h"
#include "hookrun.h"
#include "httpc.h"
#include "log.h"
#include "pg.h"
#include "pgtext.h"
#include "pipelines.h"
#include "prom.h"

#define ALARMS_BUCKETS 256 /* hash buckets of watchers */

struct watch;

/* One sample of one side of a relative alarm, or of a plain alarm. */
struct probe {
	struct watch *w;
	struct rel *rel; /* NULL: the watcher's own sample */
	int side; /* relative: 0 one-box, 1 fleet */
	struct httpc_call *call;
	struct hook *hook;
	int64_t at; /* ms when the sample was asked for */
};

/* A relative alarm judged for one execution's one-box bake. */
struct rel {
	int64_t execution;
	char *stage;
	struct alarm_series *side[2]; /* one-box, fleet */
	double pending[2];
	int waiting; /* samples of this round not answered yet */
	int64_t round_at;
	struct probe *probes[2];
	enum alarm_state state;
	char reason[256];
	json_t *detail;
	int64_t since, observed;
	bool fired;
	bool seen; /* still in a one-box bake at the last tick */
	struct rel *next;
};

struct watch {
	struct alarms *a;
	char *scope, *name;
	struct alarm_def def; /* copy; strings owned */
	char *dir; /* command probes run from here */
	bool global; /* sampled on its own (not only per one-box) */
	struct alarm_series *series;
	enum alarm_state state;
	char reason[256];
	json_t *detail;
	int64_t since, observed;
	struct event *tick;
	struct probe *probe; /* the sample in flight */
	struct rel *rels;
	bool keep; /* alarms_sync() mark */
	bool failing; /* its last sample failed (logged once) */
	struct watch *next; /* bucket chain */
	struct watch *all; /* every watcher */
};

struct alarms {
	struct gantryd *d;
	struct httpc *http; /* borrowed: d->httpc */
	struct watch *buckets[ALARMS_BUCKETS];
	struct watch *all;
	json_t *stored; /* pushed states loaded: {"scope\tname": {...}} */
	struct event *ev_sync;
	struct watch **orgs; /* the org-wide watchers (scope ""), rebuilt by
				alarms_sync(): the scheduler asks about them
				for every waiting execution */
	size_t norgs;
	uint64_t samples, source_errors;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a of scope, a separator and name. */
static uint32_t
name_hash(const char *scope, const char *name)
{
	uint32_t h = 2166136261u;

	for (const char *c = scope; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	h = (h ^ 0x1f) * 16777619u;
	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return h;
}

static unsigned
bucket_of(const char *scope, const char *name)
{
	return name_hash(scope, name) % ALARMS_BUCKETS;
}

static struct watch *
watch_find(const struct alarms *a, const char *scope, const char *name)
{
	for (struct watch *w = a->buckets[bucket_of(scope, name)]; w != NULL;
	     w = w->next)
		if (strcmp(w->scope, scope) == 0 && strcmp(w->name, name) == 0)
			return w;
	return NULL;
}

static void
view_of(const struct watch *w, struct alarm_view *v)
{
	v->scope = w->scope;
	v->name = w->name;
	v->def = &w->def;
	v->state = w->state;
	v->reason = w->reason;
	v->detail = w->detail;
	v->since = w->since;
	v->observed = w->observed;
}

static const char *
source_name(enum alarm_source s)
{
	switch (s) {
	case ALARM_SRC_PROMETHEUS:
		return "prometheus";
	case ALARM_SRC_COMMAND:
		return "command";
	case ALARM_SRC_PUSH:
		return "push";
	}
	return "unknown";
}

/* --- probes ---------------------------------------------------------------*/

static void probe_done(struct probe *p, double value, const char *error);

static void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	if (p->call != NULL)
		httpc_cancel(p->call);
	if (p->hook != NULL)
		hookrun_kill(p->hook); /* its callback sees p->w == NULL */
	else
		free(p);
}

static void
http_answered(const struct httpc_response *r, void *arg)
{
	struct probe *p = arg;
	struct gantry_error err = {0};
	double v = NAN;
	bool missing = false;
	char why[300];

	p->call = NULL;
	if (r->error != NULL) {
		snprintf(why, sizeof(why), "%s", r->error);
		probe_done(p, NAN, why);
	} else if (r->status != 200) {
		snprintf(
		    why, sizeof(why), "prometheus answered HTTP %d", r->status);
		probe_done(p, NAN, why);
	} else if (prom_parse_value(r->body, r->len, &v, &missing, &err) < 0) {
		probe_done(p, NAN, err.msg);
	} else {
		probe_done(p, missing ? NAN : v, NULL);
	}
}

/* Replace every {{target}} of q with with. */
static char *
replace_target(const char *q, const char *with)
{
	size_t n = 0, wl = strlen(with);
	const char *s;
	char *out, *o;

	for (s = q; (s = strstr(s, "{{target}}")) != NULL; s += 10)
		n++;
	out = malloc(strlen(q) + n * wl + 1);
	if (out == NULL)
		return NULL;
	for (o = out, s = q; *s;) {
		if (strncmp(s, "{{target}}", 10) == 0) {
			memcpy(o, with, wl);
			o += wl;
			s += 10;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static int
probe_prometheus(struct probe *p, const char *const *targets, size_t ntargets)
{
	struct alarms *a = p->w->a;
	const struct gantry_config *cfg = a->d->cfg;
	struct gantry_error err = {0};
	struct httpc_request req = {0};
	char *expr, *url;

	if (cfg->prometheus == NULL) {
		probe_done(p, NAN,
		    "no Prometheus server: set prometheus in the daemon "
		    "config");
		return -1;
	}
	if (a->http == NULL) {
		probe_done(p, NAN, "the HTTP client could not start");
		return -1;
	}
	if (!p->w->def.relative)
		expr = strdup(p->w->def.query);
	else if (targets != NULL)
		expr = prom_expand_targets(p->w->def.query, targets, ntargets);
	else
		expr = replace_target(p->w->def.query, ".+");
	url = expr != NULL ? prom_query_url(cfg->prometheus, expr, 0) : NULL;
	free(expr);
	if (url == NULL) {
		probe_done(p, NAN, "out of memory");
		return -1;
	}
	req.method = "GET";
	req.url = url;
	req.timeout_ms = cfg->metric_timeout_ms;
	req.max_body = 1024 * 1024;
	req.attempts = 1;
	p->call = httpc_request(a->http, &req, http_answered, p, &err);
	free(url);
	if (p->call == NULL) {
		probe_done(p, NAN, err.msg);
		return -1;
	}
	return 0;
}

static void
hook_answered(struct hook *h, const struct hook_result *r, void *arg)
{
	struct probe *p = arg;
	char why[300], *end;
	double v;

	(void)h;
	p->hook = NULL;
	if (p->w == NULL) { /* its watcher went away */
		free(p);
		return;
	}
	if (r->status != 0) {
		snprintf(why, sizeof(why), "probe %s %s %d%s%s",
		    p->w->def.query,
		    r->timed_out ? "timed out, status" : "exited", r->status,
		    r->why ? ": " : "", r->why ? r->why : "");
		probe_done(p, NAN, why);
		return;
	}
	errno = 0;
	v = r->out != NULL ? strtod(r->out, &end) : 0;
	if (r->out == NULL || end == r->out || errno != 0) {
		snprintf(why, sizeof(why), "probe %s printed no number",
		    p->w->def.query);
		probe_done(p, NAN, why);
		return;
	}
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if ((size_t)(end - r->out) != r->out_len) {
		snprintf(why, sizeof(why),
		    "probe %s printed more than one number", p->w->def.query);
		probe_done(p, NAN, why);
		return;
	}
	probe_done(p, isfinite(v) ? v : NAN, NULL);
}

static int
probe_command(struct probe *p, const char *const *targets, size_t ntargets)
{
	struct watch *w = p->w;
	struct hookrun *hr = engine_hookrun(w->a->d->engine);
	char path[4096], *env[8], targ[4096], label[256];
	struct hook_spec spec = {0};
	size_t off = 0;
	int k = 0;

	if (hr == NULL) {
		probe_done(p, NAN, "no hook runner");
		return -1;
	}
	if (w->def.query[0] == '/' || w->dir == NULL)
		snprintf(path, sizeof(path), "%s", w->def.query);
	else
		snprintf(path, sizeof(path), "%s/%s", w->dir, w->def.query);
	targ[0] = '\0';
	for (size_t i = 0; targets != NULL && i < ntargets; i++)
		off += (size_t)snprintf(targ + off,
		    off < sizeof(targ) ? sizeof(targ) - off : 0, "%s%s",
		    i ? "," : "", targets[i]);
	if (asprintf(&env[k++], "PATH=/usr/local/bin:/usr/bin:/bin") < 0 ||
	    asprintf(&env[k++], "HOME=%s", w->a->d->cfg->state_dir) < 0 ||
	    asprintf(&env[k++], "GANTRY_ALARM=%s", w->name) < 0 ||
	    asprintf(&env[k++], "GANTRY_PIPELINE=%s", w->scope) < 0 ||
	    asprintf(&env[k++], "GANTRY_TARGETS=%s", targ) < 0 ||
	    asprintf(&env[k++], "GANTRY_ROLE=%s",
	        targets == NULL ? "all"
	                        : (p->side == 0 ? "one-box" : "fleet")) < 0) {
		for (int i = 0; i < k - 1; i++)
			free(env[i]);
		probe_done(p, NAN, "out of memory");
		return -1;
	}
	env[k] = NULL;
	snprintf(label, sizeof(label), "alarm %s%s%s", w->scope,
	    w->scope[0] ? ":" : "", w->name);
	spec.path = path;
	spec.cwd = w->dir;
	spec.env = env;
	spec.timeout_ms = w->a->d->cfg->metric_timeout_ms;
	spec.label = label;
	p->hook = hookrun_start(hr, &spec, hook_answered, NULL, p);
	for (int i = 0; i < k; i++)
		free(env[i]);
	if (p->hook == NULL) {
		probe_done(p, NAN, "out of memory");
		return -1;
	}
	return 0;
}

/* Ask for one sample (targets: relative sides; NULL the plain alarm). */
static struct probe *
probe_start(struct watch *w, struct rel *rel, int side,
    const char *const *targets, size_t ntargets)
{
	struct probe *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->w = w;
	p->rel = rel;
	p->side = side;
	p->at = now_ms();
	if (rel != NULL)
		rel->probes[side] = p;
	else
		w->probe = p;
	if (w->def.source == ALARM_SRC_PROMETHEUS)
		(void)probe_prometheus(p, targets, ntargets);
	else
		(void)probe_command(p, targets, ntargets);
	return p;
}

/* --- verdicts -------------------------------------------------------------*/

/* The history of alarm states (table alarm_transitions), with the
 * datapoints each change was decided on.  Written on the side: the
 * history is for people; what executions did is in their own events. */
static void
record_transition(const struct watch *w, enum alarm_state was)
{
	static const char sql[] =
	    "INSERT INTO alarm_transitions (scope, name, old_state, new_state,"
	    " reason, datapoints, at)"
	    " VALUES ($1, $2, $3, $4, $5, $6::jsonb,"
	    " to_timestamp($7::bigint / 1000.0))";
	char *detail = w->detail ? json_dumps(w->detail, JSON_COMPACT) : NULL;
	char at[24];
	const char *params[7] = {w->scope[0] ? w->scope : "org", w->name,
	    alarm_state_name(was), alarm_state_name(w->state), w->reason,
	    detail, at};

	snprintf(at, sizeof(at), "%" PRId64, w->observed);
	if (pg_is_up(w->a->d->pg) &&
	    pg_query(w->a->d->pg, sql, 7, params, NULL, NULL) < 0)
		log_debug("alarm.history_skipped", "alarm=%s", w->name);
	free(detail);
}

static void
set_state(struct watch *w, enum alarm_state st, const char *reason,
    json_t *detail, int64_t observed)
{
	enum alarm_state was = w->state;
	struct alarm_view v;

	json_decref(w->detail);
	w->detail = detail;
	snprintf(w->reason, sizeof(w->reason), "%s", reason);
	w->observed = observed;
	if (st == was)
		return;
	w->state = st;
	w->since = observed;
	log_info("alarm.state", "scope=%s alarm=%s from=%s to=%s reason=\"%s\"",
	    w->scope[0] ? w->scope : "(org)", w->name, alarm_state_name(was),
	    alarm_state_name(st), w->reason);
	record_transition(w, was);
	view_of(w, &v);
	engine_alarm_changed(w->a->d->engine, &v);
}

static void
judge(struct watch *w, int64_t at)
{
	struct alarm_verdict v;
	struct gantry_error err = {0};

	if (alarm_evaluate(&w->def, w->series, 0, &v, &err) < 0) {
		set_state(w, ALARM_INSUFFICIENT_DATA, err.msg, NULL, at);
		return;
	}
	set_state(w, v.state, v.reason,
	    alarm_verdict_to_json(&w->def, &v, w->series), at);
}

static void
judge_rel(struct watch *w, struct rel *r, int64_t at)
{
	struct alarm_verdict v;
	struct gantry_error err = {0};
	struct alarm_view view;

	if (alarm_evaluate_relative(&w->def, r->side[0], r->side[1], &v, &err) <
	    0) {
		snprintf(r->reason, sizeof(r->reason), "%s", err.msg);
		r->state = ALARM_INSUFFICIENT_DATA;
		return;
	}
	json_decref(r->detail);
	r->detail = alarm_verdict_to_json(&w->def, &v, r->side[0]);
	if (r->detail != NULL)
		json_object_set_new(r->detail, "stage", json_string(r->stage));
	snprintf(r->reason, sizeof(r->reason), "%s", v.reason);
	r->observed = at;
	if (v.state != r->state)
		r->since = at;
	r->state = v.state;
	if (v.state != ALARM_ALARM || r->fired)
		return;
	r->fired = true;
	log_info("alarm.relative",
	    "pipeline=%s alarm=%s execution=%" PRId64 " stage=%s reason=\"%s\"",
	    w->scope, w->name, r->execution, r->stage, r->reason);
	view.scope = w->scope;
	view.name = w->name;
	view.def = &w->def;
	view.state = r->state;
	view.reason = r->reason;
	view.detail = r->detail;
	view.since = r->since;
	view.observed = r->observed;
	engine_alarm_fired_at(w->a->d->engine, r->execution, &view);
}

static void
probe_done(struct probe *p, double value, const char *error)
{
	struct watch *w = p->w;
	struct alarms *a = w->a;
	int64_t at = p->at;

	a->samples++;
	if (error != NULL) {
		char labels[300], esc[200];

		a->source_errors++;
		snprintf(labels, sizeof(labels), "alarm=\"%s\"",
		    metrics_escape(w->name, esc, sizeof(esc)));
		(void)metrics_add(a->d->metrics,
		    "gantry_alarm_source_errors_total", labels, 1);
		/* logged when it starts failing and when it recovers, not
		 * every period: the counter says how often */
		if (!w->failing)
			log_warn("alarm.source_failed",
			    "scope=%s alarm=%s source=%s error=\"%s\"",
			    w->scope[0] ? w->scope : "(org)", w->name,
			    source_name(w->def.source), error);
		w->failing = true;
	} else if (w->failing) {
		w->failing = false;
		log_info("alarm.source_recovered", "scope=%s alarm=%s",
		    w->scope[0] ? w->scope : "(org)", w->name);
	}
	if (p->rel != NULL) {
		struct rel *r = p->rel;

		r->probes[p->side] = NULL;
		r->pending[p->side] = error != NULL ? NAN : value;
		if (--r->waiting == 0) {
			alarm_series_push(
			    r->side[0], r->round_at, r->pending[0]);
			alarm_series_push(
			    r->side[1], r->round_at, r->pending[1]);
			judge_rel(w, r, r->round_at);
		}
	} else {
		w->probe = NULL;
		alarm_series_push(w->series, at, error != NULL ? NAN : value);
		judge(w, at);
	}
	free(p);
}

/* --- relative rounds --------------------------------------------------------*/

static void
rel_free(struct rel *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->probes[i] != NULL) {
			r->probes[i]->w = NULL;
			probe_free(r->probes[i]);
		}
		alarm_series_free(r->side[i]);
	}
	json_decref(r->detail);
	free(r->stage);
	free(r);
}

struct rel_scan {
	struct watch *w;
	int64_t at;
};

static void
rel_each(int64_t execution, const char *stage, const char *onebox,
    const char *const *fleet, size_t nfleet, void *arg)
{
	struct rel_scan *sc = arg;
	struct watch *w = sc->w;
	struct rel *r;

	for (r = w->rels; r != NULL; r = r->next)
		if (r->execution == execution && strcmp(r->stage, stage) == 0)
			break;
	if (r == NULL) {
		size_t cap = alarm_series_capacity(&w->def);

		if ((r = calloc(1, sizeof(*r))) == NULL ||
		    (r->stage = strdup(stage)) == NULL ||
		    (r->side[0] = alarm_series_new(cap)) == NULL ||
		    (r->side[1] = alarm_series_new(cap)) == NULL) {
			if (r != NULL)
				rel_free(r);
			return;
		}
		r->execution = execution;
		r->state = ALARM_INSUFFICIENT_DATA;
		snprintf(r->reason, sizeof(r->reason), "not sampled yet");
		r->since = sc->at;
		r->next = w->rels;
		w->rels = r;
	}
	r->seen = true;
	if (r->waiting > 0 || nfleet == 0)
		return; /* the last round is still out; nothing to compare */
	r->waiting = 2;
	r->round_at = sc->at;
	(void)probe_start(w, r, 0, &onebox, 1);
	(void)probe_start(w, r, 1, fleet, nfleet);
}

static void
rel_round(struct watch *w, int64_t at)
{
	struct rel_scan sc = {w, at};
	struct rel **pp;

	for (struct rel *r = w->rels; r != NULL; r = r->next)
		r->seen = false;
	engine_onebox_bakes(w->a->d->engine, w->scope, w->name, rel_each, &sc);
	for (pp = &w->rels; *pp != NULL;) {
		struct rel *r = *pp;

		if (!r->seen) {
			*pp = r->next;
			rel_free(r);
		} else {
			pp = &r->next;
		}
	}
}

/* --- watchers -----------------------------------------------------------------*/

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	int64_t at = now_ms();
	struct timeval tv;

	(void)fd;
	(void)what;
	tv.tv_sec = w->def.period_ms / 1000;
	tv.tv_usec = (w->def.period_ms % 1000) * 1000;
	evtimer_add(w->tick, &tv); /* the next one */
	if (w->def.relative && w->scope[0] != '\0')
		rel_round(w, at);
	if (!w->global)
		return;
	if (w->probe != NULL) {
		/* the last sample is still out: this one is missing */
		alarm_series_push(w->series, at, NAN);
		judge(w, at);
		return;
	}
	(void)probe_start(w, NULL, 0, NULL, 0);
}

static void
watch_free(struct watch *w)
{
	struct rel *r, *next;

	if (w == NULL)
		return;
	if (w->tick != NULL)
		event_free(w->tick);
	if (w->probe != NULL) {
		w->probe->w = NULL;
		probe_free(w->probe);
	}
	for (r = w->rels; r != NULL; r = next) {
		next = r->next;
		rel_free(r);
	}
	alarm_series_free(w->series);
	json_decref(w->detail);
	free(w->def.name);
	free(w->def.query);
	free(w->scope);
	free(w->name);
	free(w->dir);
	free(w);
}

static bool
def_same(const struct alarm_def *x, const struct alarm_def *y)
{
	return x->source == y->source && x->kind == y->kind &&
	    ((x->query == NULL && y->query == NULL) ||
	        (x->query != NULL && y->query != NULL &&
	            strcmp(x->query, y->query) == 0)) &&
	    x->above == y->above && x->threshold == y->threshold &&
	    x->has_threshold == y->has_threshold &&
	    x->period_ms == y->period_ms && x->m == y->m && x->n == y->n &&
	    x->factor == y->factor && x->baseline_ms == y->baseline_ms &&
	    x->missing_data_ok == y->missing_data_ok &&
	    x->relative == y->relative;
}

/* A pushed state loaded from the database, if any. */
static void
apply_stored(struct alarms *a, struct watch *w)
{
	char key[512];
	json_t *s;
	enum alarm_state st;

	snprintf(key, sizeof(key), "%s\t%s", w->scope, w->name);
	s = a->stored ? json_object_get(a->stored, key) : NULL;
	if (s == NULL ||
	    !alarm_state_parse(
	        json_string_value(json_object_get(s, "state")), &st))
		return;
	w->state = st;
	snprintf(w->reason, sizeof(w->reason), "%s",
	    json_string_value(json_object_get(s, "reason"))
	        ? json_string_value(json_object_get(s, "reason"))
	        : "");
	w->since = w->observed =
	    (int64_t)json_integer_value(json_object_get(s, "at"));
	json_decref(w->detail);
	w->detail = json_deep_copy(s);
}

static void
watch_one(struct alarms *a, const char *scope, const struct alarm_def *def,
    const char *dir)
{
	struct watch *w = watch_find(a, scope, def->name);
	struct timeval tv;
	unsigned b;

	if (w != NULL && def_same(&w->def, def)) {
		w->keep = true;
		free(w->dir);
		w->dir = dir ? strdup(dir) : NULL;
		return;
	}
	if (w != NULL) { /* changed: start over (unlinked below) */
		w->keep = false;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return;
	w->a = a;
	w->def = *def;
	w->def.name = strdup(def->name);
	w->def.query = def->query ? strdup(def->query) : NULL;
	w->scope = strdup(scope);
	w->name = strdup(def->name);
	w->dir = dir ? strdup(dir) : NULL;
	w->keep = true;
	w->since = w->observed = now_ms();
	if (w->def.name == NULL || w->scope == NULL || w->name == NULL ||
	    (def->query != NULL && w->def.query == NULL)) {
		watch_free(w);
		return;
	}
	if (def->source == ALARM_SRC_PUSH) {
		w->state = ALARM_OK;
		snprintf(w->reason, sizeof(w->reason),
		    "%s: no state pushed yet", w->name);
		apply_stored(a, w);
	} else {
		w->global = !def->relative || def->has_threshold;
		w->state = ALARM_INSUFFICIENT_DATA;
		snprintf(w->reason, sizeof(w->reason), "%s: not sampled yet",
		    w->name);
		w->series = alarm_series_new(alarm_series_capacity(def));
		w->tick = evtimer_new(a->d->base, tick, w);
		if (w->series == NULL || w->tick == NULL) {
			watch_free(w);
			return;
		}
		/* The first sample at an offset within the period that
		 * depends on the alarm's name: a thousand alarms defined at
		 * once do not all sample in the same instant every period
		 * (bench/alarms: that stalled the loop for 250 ms). */
		{
			int64_t off =
			    (int64_t)(name_hash(w->scope, w->name) % 1000) *
			    def->period_ms / 1000;

			tv.tv_sec = off / 1000;
			tv.tv_usec = (off % 1000) * 1000;
			evtimer_add(w->tick, &tv);
		}
	}
	b = bucket_of(w->scope, w->name);
	/* newest first in its bucket: watch_find() sees it before an old
	 * one being replaced, which sync removes */
	w->next = a->buckets[b];
	a->buckets[b] = w;
	w->all = a->all;
	a->all = w;
}

static char *
dir_of(const char *file)
{
	const char *slash = file ? strrchr(file, '/') : NULL;

	if (file == NULL)
		return NULL;
	if (slash == NULL)
		return strdup(".");
	return strndup(file, (size_t)(slash - file));
}

void
alarms_sync(struct alarms *a)
{
	const struct gantry_config *cfg = a->d->cfg;
	struct watch **pp, *w;
	const char *name;
	size_t i;
	char *cdir = dir_of(a->d->config_path);

	for (w = a->all; w != NULL; w = w->all)
		w->keep = false;
	for (i = 0; i < cfg->nalarms; i++)
		watch_one(a, "", &cfg->alarms[i], cdir);
	free(cdir);
	for (i = 0; (name = pipelines_name_at(a->d->pipelines, i)) != NULL;
	     i++) {
		const struct pipeline *p;
		char *dir;
		int version;

		if ((p = pipelines_current(a->d->pipelines, name, &version)) ==
		    NULL)
			continue;
		dir = dir_of(pipelines_file_of(a->d->pipelines, name));
		for (size_t k = 0; k < p->nalarms; k++)
			watch_one(a, name, &p->alarms[k], dir);
		free(dir);
	}
	/* drop what is no longer defined (or was replaced) */
	for (unsigned b = 0; b < ALARMS_BUCKETS; b++)
		for (pp = &a->buckets[b]; *pp != NULL;)
			if (!(*pp)->keep)
				*pp = (*pp)->next;
			else
				pp = &(*pp)->next;
	for (pp = &a->all; *pp != NULL;) {
		w = *pp;
		if (!w->keep) {
			*pp = w->all;
			watch_free(w);
		} else {
			pp = &w->all;
		}
	}
	free(a->orgs);
	a->orgs = NULL;
	a->norgs = 0;
	for (w = a->all; w != NULL; w = w->all)
		a->norgs += w->scope[0] == '\0';
	if (a->norgs > 0 &&
	    (a->orgs = calloc(a->norgs, sizeof(*a->orgs))) == NULL) {
		log_err("alarm.sync_failed", "error=\"out of memory\"");
		a->norgs = 0;
		return;
	}
	a->norgs = 0;
	for (w = a->all; w != NULL; w = w->all)
		if (w->scope[0] == '\0')
			a->orgs[a->norgs++] = w;
}

/* --- pushed states ---------------------------------------------------------*/

static void
stored_loaded(PGresult *res, const char *errmsg, void *arg)
{
	struct alarms *a = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("alarm.load_failed", "error=\"%s\"",
		    errmsg ? errmsg : "no result");
		return;
	}
	json_decref(a->stored);
	a->stored = json_object();
	for (int i = 0; a->stored != NULL && i < PQntuples(res); i++) {
		char key[512];

		snprintf(key, sizeof(key), "%s\t%s", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1));
		json_object_set_new(a->stored, key,
		    json_pack("{s:s, s:s, s:s, s:s, s:I}", "alarm",
		        PQgetvalue(res, i, 1), "state", PQgetvalue(res, i, 2),
		        "reason", PQgetvalue(res, i, 3), "source",
		        PQgetvalue(res, i, 4), "at",
		        (json_int_t)strtoll(PQgetvalue(res, i, 5), NULL, 10)));
	}
	for (struct watch *w = a->all; w != NULL; w = w->all)
		if (w->def.source == ALARM_SRC_PUSH) {
			enum alarm_state was = w->state;

			apply_stored(a, w);
			if (w->state != was) {
				struct alarm_view v;

				view_of(w, &v);
				engine_alarm_changed(a->d->engine, &v);
			}
		}
}

void
alarms_db_ready(struct alarms *a)
{
	static const char sql[] =
	    "SELECT CASE scope WHEN 'org' THEN '' ELSE scope END, name, state,"
	    " coalesce(reason, ''), coalesce(source, ''),"
	    " (extract(epoch FROM updated_at) * 1000)::bigint FROM alarms";

	if (pg_query(a->d->pg, sql, 0, NULL, stored_loaded, a) < 0)
		log_warn("alarm.load_failed", "error=\"database unavailable\"");
}

struct push_job {
	struct alarms *a;
	struct watch **ws; /* matched watchers, by update */
	size_t *of; /* which update each matched watcher takes */
	size_t nws;
	struct alarm_push *v; /* copies */
	size_t n;
	json_t *ignored;
	char *source;
	int64_t at;
	alarms_reply_cb cb;
	void *arg;
};

static void
push_job_free(struct push_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free((char *)j->v[i].name);
		free((char *)j->v[i].reason);
	}
	free(j->v);
	free(j->ws);
	free(j->of);
	json_decref(j->ignored);
	free(j->source);
	free(j);
}

static void
push_stored(PGresult *res, const char *errmsg, void *arg)
{
	struct push_job *j = arg;
	struct alarms *a = j->a;
	json_t *updated = json_array();

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		/* 503: the database is away, retry; 500: it refused */
		j->cb(res == NULL ? 503 : 500,
		    json_pack("{s:{s:s, s:s}}", "error", "code",
		        res == NULL ? "unavailable" : "internal", "message",
		        errmsg ? errmsg : "database unavailable"),
		    j->arg);
		json_decref(updated);
		push_job_free(j);
		return;
	}
	for (size_t i = 0; i < j->nws; i++) {
		const struct alarm_push *p = &j->v[j->of[i]];
		struct watch *w;

		/* the watcher may have gone with a reload meanwhile */
		for (w = a->all; w != NULL && w != j->ws[i]; w = w->all)
			;
		if (w == NULL)
			continue;
		set_state(w, p->state, p->reason ? p->reason : "",
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "alarm",
		        w->name, "state", alarm_state_name(p->state), "reason",
		        p->reason ? p->reason : "", "rule", "pushed", "source",
		        j->source, "at", (json_int_t)j->at),
		    j->at);
		json_array_append_new(updated,
		    json_pack("{s:s, s:s, s:s}", "scope", w->scope, "alarm",
		        w->name, "state", alarm_state_name(w->state)));
	}
	j->cb(200,
	    json_pack("{s:o, s:O}", "updated", updated, "ignored", j->ignored),
	    j->arg);
	push_job_free(j);
}

/*
 * Update i names watcher w.  A watcher takes one state per push: an
 * Alertmanager group may carry several alerts for one alarm (one per
 * instance, some firing, some resolved), and the alarm is firing when
 * any of them is -- the first firing update wins, else the first one.
 */
static int
push_match(struct push_job *j, struct watch *w, size_t i)
{
	size_t *of;
	struct watch **ws;

	for (size_t k = 0; k < j->nws; k++)
		if (j->ws[k] == w) {
			if (j->v[i].state == ALARM_ALARM &&
			    j->v[j->of[k]].state != ALARM_ALARM)
				j->of[k] = i;
			return 0;
		}
	/* room for 4, then doubled each time it is full (4, 8, 16, ...) */
	if (j->nws == 0 || (j->nws >= 4 && (j->nws & (j->nws - 1)) == 0)) {
		size_t ncap = j->nws ? j->nws * 2 : 4;

		if ((ws = realloc(j->ws, ncap * sizeof(*ws))) == NULL)
			return -1;
		j->ws = ws;
		if ((of = realloc(j->of, ncap * sizeof(*of))) == NULL)
			return -1;
		j->of = of;
	}
	j->ws[j->nws] = w;
	j->of[j->nws++] = i;
	return 0;
}

static bool
push_matches(const struct watch *w, const char *name)
{
	const char *colon = strchr(name, ':');

	if (colon == NULL)
		return strcmp(w->name, name) == 0;
	return strlen(w->scope) == (size_t)(colon - name) &&
	    strncmp(w->scope, name, (size_t)(colon - name)) == 0 &&
	    strcmp(w->name, colon + 1) == 0;
}

static void
reply_error(alarms_reply_cb cb, void *arg, int status, const char *code,
    const char *msg)
{
	cb(status,
	    json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg),
	    arg);
}

void
alarms_push(struct alarms *a, const struct alarm_push *v, size_t n,
    const char *source, bool ignore_unknown, alarms_reply_cb cb, void *arg)
{
	static const char sql[] =
	    "INSERT INTO alarms (scope, name, state, reason, source,"
	    " updated_at)"
	    " SELECT CASE s WHEN '' THEN 'org' ELSE s END, n, st, r, $5, now()"
	    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
	    " AS u(s, n, st, r)"
	    " ON CONFLICT (scope, name) DO UPDATE SET state = excluded.state,"
	    " reason = excluded.reason, source = excluded.source,"
	    " updated_at = excluded.updated_at";
	struct push_job *j = calloc(1, sizeof(*j));
	const char **arr[4] = {NULL};
	char *lit[4] = {NULL};
	const char *params[5];
	char msg[600];

	if (j == NULL) {
		reply_error(cb, arg, 500, "internal", "out of memory");
		return;
	}
	j->a = a;
	j->cb = cb;
	j->arg = arg;
	j->at = now_ms();
	j->source = strdup(source);
	j->ignored = json_array();
	j->v = calloc(n ? n : 1, sizeof(*j->v));
	if (j->source == NULL || j->ignored == NULL || j->v == NULL) {
		push_job_free(j);
		reply_error(cb, arg, 500, "internal", "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t found = 0, evaluated = 0;

		j->v[i].name = strdup(v[i].name);
		j->v[i].reason = v[i].reason ? strdup(v[i].reason) : NULL;
		j->v[i].state = v[i].state;
		j->n++;
		for (struct watch *w = a->all; w != NULL; w = w->all) {
			if (!push_matches(w, v[i].name))
				continue;
			if (w->def.source != ALARM_SRC_PUSH) {
				evaluated++;
				continue;
			}
			if (push_match(j, w, i) < 0) {
				push_job_free(j);
				reply_error(
				    cb, arg, 500, "internal", "out of memory");
				return;
			}
			found++;
		}
		if (found > 0)
			continue;
		if (ignore_unknown) {
			json_array_append_new(
			    j->ignored, json_string(v[i].name));
			continue;
		}
		if (evaluated > 0) {
			snprintf(msg, sizeof(msg),
			    "alarm %s is evaluated by gantry from its source; "
			    "only push alarms (push: true) take a pushed state",
			    v[i].name);
			reply_error(cb, arg, 409, "conflict", msg);
		} else {
			snprintf(msg, sizeof(msg),
			    "no push alarm named %s (name it NAME or "
			    "PIPELINE:NAME; GET /v1/alarms lists them)",
			    v[i].name);
			reply_error(cb, arg, 404, "not_found", msg);
		}
		push_job_free(j);
		return;
	}
	for (int k = 0; k < 4; k++)
		arr[k] = calloc(j->nws ? j->nws : 1, sizeof(*arr[k]));
	for (size_t i = 0; arr[0] && arr[1] && arr[2] && arr[3] && i < j->nws;
	     i++) {
		const struct alarm_push *p = &j->v[j->of[i]];

		arr[0][i] = j->ws[i]->scope;
		arr[1][i] = j->ws[i]->name;
		arr[2][i] = alarm_state_name(p->state);
		arr[3][i] = p->reason;
	}
	for (int k = 0; k < 4; k++) {
		lit[k] = arr[k] ? pgtext_array(arr[k], j->nws) : NULL;
		params[k] = lit[k];
		free(arr[k]);
	}
	params[4] = source;
	if (lit[0] == NULL || lit[1] == NULL || lit[2] == NULL ||
	    lit[3] == NULL ||
	    pg_query(a->d->pg, sql, 5, params, push_stored, j) < 0)
		push_stored(NULL, "database unavailable", j);
	for (int k = 0; k < 4; k++)
		free(lit[k]);
}

/* --- queries ---------------------------------------------------------------*/

bool
alarms_get(const struct alarms *a, const char *pipeline, const char *name,
    struct alarm_view *out)
{
	const struct watch *w = watch_find(a, pipeline, name);

	if (w == NULL)
		w = watch_find(a, "", name);
	if (w == NULL)
		return false;
	view_of(w, out);
	return true;
}

bool
alarms_get_relative(const struct alarms *a, int64_t execution,
    const char *stage, const char *name, struct alarm_view *out)
{
	for (const struct watch *w = a->all; w != NULL; w = w->all) {
		if (!w->def.relative || strcmp(w->name, name) != 0)
			continue;
		for (const struct rel *r = w->rels; r != NULL; r = r->next)
			if (r->execution == execution &&
			    strcmp(r->stage, stage) == 0) {
				out->scope = w->scope;
				out->name = w->name;
				out->def = &w->def;
				out->state = r->state;
				out->reason = r->reason;
				out->detail = r->detail;
				out->since = r->since;
				out->observed = r->observed;
				return true;
			}
	}
	return false;
}

size_t
alarms_org_firing(const struct alarms *a, struct alarm_view *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < a->norgs; i++)
		if (a->orgs[i]->state == ALARM_ALARM) {
			if (n < max)
				view_of(a->orgs[i], &out[n]);
			n++;
		}
	return n;
}

json_t *
alarms_list_json(const struct alarms *a)
{
	json_t *arr = json_array();

	for (const struct watch *w = a->all; arr != NULL && w != NULL;
	     w = w->all) {
		json_t *o =
		    json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:I, s:O}",
		        "scope", w->scope[0] ? "pipeline" : "org", "pipeline",
		        w->scope[0] ? json_string(w->scope) : json_null(),
		        "name", w->name, "source", source_name(w->def.source),
		        "state", alarm_state_name(w->state), "reason",
		        w->reason, "since", (json_int_t)w->since, "detail",
		        w->detail ? w->detail : json_null());

		if (o != NULL && w->rels != NULL) {
			json_t *rels = json_array();

			for (const struct rel *r = w->rels; r != NULL;
			     r = r->next)
				json_array_append_new(rels,
				    json_pack("{s:I, s:s, s:s, s:s}",
				        "execution", (json_int_t)r->execution,
				        "stage", r->stage, "state",
				        alarm_state_name(r->state), "reason",
				        r->reason));
			json_object_set_new(o, "one_box", rels);
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

uint64_t
alarms_samples(const struct alarms *a)
{
	return a->samples;
}

unsigned
alarms_firing(const struct alarms *a)
{
	unsigned n = 0;

	for (const struct watch *w = a->all; w != NULL; w = w->all)
		n += w->state == ALARM_ALARM;
	return n;
}

uint64_t
alarms_source_errors(const struct alarms *a)
{
	return a->source_errors;
}

static void
sync_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	alarms_sync(arg);
}

void
alarms_sync_soon(struct alarms *a)
{
	if (a->ev_sync != NULL)
		event_active(a->ev_sync, EV_TIMEOUT, 0);
	else
		alarms_sync(a);
}

struct alarms *
alarms_new(struct gantryd *d)
{
	struct alarms *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->d = d;
	a->ev_sync = event_new(d->base, -1, 0, sync_cb, a);
	a->http = d->httpc;
	return a;
}

void
alarms_free(struct alarms *a)
{
	struct watch *w, *next;

	if (a == NULL)
		return;
	for (w = a->all; w != NULL; w = next) {
		next = w->all;
		watch_free(w);
	}
	if (a->ev_sync != NULL)
		event_free(a->ev_sync);
	json_decref(a->stored);
	free(a->orgs);
	free(a);
}
