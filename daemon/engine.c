/*
 * engine.c - the durable execution engine (engine.h).
 *
 * Flow of one event:
 *   input (hook outcome, timer, API request, scheduler decision)
 *     -> exec_step() on the execution in memory (pure)
 *     -> the event and its intents wait in the execution's pending lists
 *     -> at the end of the loop turn, flush(): the pending events,
 *        snapshots and target versions of EVERY execution that moved go
 *        into one SQL statement (one transaction, one WAL flush)
 *     -> once committed: the intents run (spawn hooks, kill hooks, arm
 *        timers, ask the scheduler), API callers get their answer.
 * Nothing runs before the transition that asked for it is committed; a
 * failed batch is put back in front of the pending lists, in order, and
 * sent again when the database is back.
 */
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "alarms.h"
#include "gantryd.h"
#include "holds.h"
#include "hookrun.h"
#include "httpc.h"
#include "jsonw.h"
#include "pgarray.h"
#include "log.h"
#include "pg.h"
#include "pipeline_set.h"
#include "pipelines.h"
#include "sign.h"
#include "waves.h"
#include "window.h"

#define ENGINE_STUCK_CHECK_S 5
#define ENGINE_CAPTURE (1024 * 1024)
#define ENGINE_MAX_HOOKS 64
/* Group commit: executions per transaction, transactions in flight. */
#define ENGINE_BATCH_EXECS 128
#define ENGINE_BATCHES_INFLIGHT 8 /* over all commit connections */
#define ENGINE_COMMIT_PG_MAX 16 /* db_commit_connections' maximum */

struct eng_exec;

/* A pipeline version, compiled and expanded; shared by its executions. */
struct eng_def {
	char *pipeline;
	int version;
	struct pipeline *p;
	struct stage *stages;
	size_t nstages;
	char *dir; /* hooks and calendars are relative to it */
	unsigned refs;
	struct eng_def *next;
};

struct eng_timer {
	char *name;
	struct event *ev;
	struct eng_exec *owner;
	struct eng_timer *next;
};

struct eng_hook {
	char *step;
	int attempt;
	bool notify; /* fire and forget: no outcome fed back */
	struct hook *h;
	struct eng_exec *owner;
	char *out_path; /* build: $GANTRY_OUT */
	/* a dry run's step (h NULL, no process): its completion, due on
	 * the next loop turn; killed before it; its stdout */
	struct event *dry;
	bool dry_killed;
	char *dry_out;
	struct eng_hook *next;
};

/* An API caller waiting for the execution's next commit. */
struct eng_waiter {
	engine_reply_cb cb;
	void *arg;
	int status;
	struct eng_waiter *next;
};

struct eng_exec {
	struct engine *eng;
	struct exec *x;
	struct eng_def *def;
	struct exec_def xdef;
	/* events waiting to be stored, framed (event_frame()): seq, kind
	 * and data as JSON text, written once */
	struct buf pend_events;
	json_t *pend_versions; /* [{pipeline, target, version, execution}] */
	/* [{sha256, uri, signature, signed_by}] its builds stored: written
	 * by the batch whose snapshot first names them */
	json_t *pend_artifacts;
	struct exec_intents pend_intents;
	struct eng_waiter *pend_waiters;
	/* the batch in flight */
	struct buf fl_events;
	json_t *fl_versions, *fl_artifacts;
	struct exec_intents fl_intents;
	struct eng_waiter *fl_waiters;
	bool in_flight;
	bool broken; /* a batch was refused by the database: stopped */
	struct eng_timer *timers;
	struct eng_hook *hooks;
	bool waiting; /* asked for its stage (IN_WAIT_STAGE) */
	bool starting; /* stage-may-start decided, versions loading */
	int64_t held_stage; /* index of the stage slot it holds, -1 none */
	int64_t alarm_observed; /* ms: an alarm fired at it, rollback hook
				   not spawned yet (latency histogram) */
	enum {
		REVIEW_UNKNOWN, /* not checked (or approvals changed) */
		REVIEW_CHECKING, /* the query is out */
		REVIEW_APPROVED, /* stays: checked once per execution */
		REVIEW_MISSING,
	} review;
	char *review_reason; /* REVIEW_MISSING: why */
	char *tree_text; /* exec_to_json() serialised; NULL: stale */
	size_t tree_len;
	struct eng_exec *next;
};

struct engine_watch {
	int64_t id;
	engine_watch_cb cb;
	void *arg;
	struct engine_watch *next;
};

/* A hook's captured output waiting to be stored (hook_outputs). */
struct eng_output {
	int64_t execution;
	char *step;
	int attempt;
	char *out, *err;
	size_t out_len, err_len;
	bool out_trunc, err_trunc;
	int status;
	int64_t t0, t1; /* ms */
	struct eng_output *next;
};

struct engine {
	struct gantryd *d;
	json_t *pend_runs; /* hook runs to store */
	struct eng_output *pend_out, **pend_out_tail; /* outputs to store */
	struct buf scratch; /* an event's or snapshot's text being written */
	struct engine_watch *watches;
	struct eng_exec *execs;
	struct eng_def *defs;
	struct hookrun *hr;
	struct event *ev_flush, *ev_sched, *ev_stuck, *ev_wake, *ev_leftover;
	/* Triggers waiting for their INSERT, and the batch in flight: all
	 * the triggers of a loop turn share one statement (group commit). */
	struct trigger_job *trig_head, **trig_tail, *trig_fl;
	struct event *ev_trig;
	/* Stage starts of one scheduler pass: their targets' versions are
	 * read by one statement. */
	struct pgarray start_i, start_pipeline,
	    start_target; /* a row a target */
	int64_t *start_ids;
	size_t nstart, capstart;
	int64_t leftover_since; /* ms; 0 before the first TERM */
	unsigned inflight; /* commit batches sent, not answered yet */
	unsigned conn_inflight[ENGINE_COMMIT_PG_MAX]; /* ... per connection */
	bool resched; /* run the scheduler after the next commit */
	bool loaded;
	bool loading;
	unsigned stuck;
	uint64_t transitions, batches;
	int64_t wake_at; /* ms of the scheduler's next window check */
	char *state_dir;
	struct sign_key *key; /* signs built artifacts; NULL: unsigned */
};

static void flush_soon(struct engine *e);
static char *read_small(
    const char *path, size_t *len, char *why, size_t whylen);
static void sched_soon(struct engine *e);
static void wake_at(struct engine *e, int64_t when);
static void run_intents(struct eng_exec *ee, struct exec_intents *in);
static void hook_free(struct eng_hook *eh);
static void apply(struct eng_exec *ee, const struct exec_event *ev);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- definitions ----------------------------------------------------------- */

static void
def_unref(struct engine *e, struct eng_def *def)
{
	struct eng_def **pp;

	if (def == NULL || --def->refs > 0)
		return;
	for (pp = &e->defs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == def) {
			*pp = def->next;
			break;
		}
	stages_free(def->stages, def->nstages);
	pipeline_free(def->p);
	free(def->pipeline);
	free(def->dir);
	free(def);
}

static struct eng_def *
def_find(struct engine *e, const char *pipeline, int version)
{
	for (struct eng_def *def = e->defs; def != NULL; def = def->next)
		if (def->version == version &&
		    strcmp(def->pipeline, pipeline) == 0) {
			def->refs++;
			return def;
		}
	return NULL;
}

/* Compile a stored definition (canonical JSON) into a shared def. */
static struct eng_def *
def_from_text(struct engine *e, const char *pipeline, int version,
    const char *json_text, const char *source_file, char *why, size_t len)
{
	struct eng_def *def = def_find(e, pipeline, version);
	struct pipeline_compiled c;
	struct gantry_error err;
	char path[1024];
	const char *slash;

	if (def != NULL)
		return def;
	if (source_file != NULL)
		snprintf(path, sizeof(path), "%s", source_file);
	else
		snprintf(path, sizeof(path), "%s/%s.json",
		    e->d->cfg->pipelines_dir, pipeline);
	if (pipeline_compile_text(path, json_text, strlen(json_text), false,
	        NULL, 0, NULL, &pipelines_io, &c) != 0 ||
	    c.p == NULL) {
		snprintf(why, len,
		    "stored definition of %s version %d does not "
		    "compile: %s",
		    pipeline, version,
		    c.diag.n ? c.diag.msgs[0] : "out of memory");
		pipeline_compiled_clear(&c, 1);
		return NULL;
	}
	def = calloc(1, sizeof(*def));
	if (def == NULL) {
		pipeline_compiled_clear(&c, 1);
		snprintf(why, len, "out of memory");
		return NULL;
	}
	def->pipeline = strdup(pipeline);
	def->version = version;
	def->p = c.p;
	c.p = NULL;
	pipeline_compiled_clear(&c, 1);
	slash = strrchr(path, '/');
	def->dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (waves_expand(def->p, &def->stages, &def->nstages, &err) < 0) {
		snprintf(why, len, "%s", err.msg);
		pipeline_free(def->p);
		free(def->pipeline);
		free(def->dir);
		free(def);
		return NULL;
	}
	def->refs = 1;
	def->next = e->defs;
	e->defs = def;
	return def;
}

/* --- executions in memory ---------------------------------------------- */

static struct eng_exec *
exec_find(struct engine *e, int64_t id)
{
	for (struct eng_exec *ee = e->execs; ee != NULL; ee = ee->next)
		if (ee->x->id == id)
			return ee;
	return NULL;
}

static struct eng_exec *
ee_new(struct engine *e, struct exec *x, struct eng_def *def)
{
	struct eng_exec *ee = calloc(1, sizeof(*ee));

	if (ee == NULL)
		return NULL;
	ee->eng = e;
	ee->x = x;
	ee->def = def;
	ee->xdef.p = def->p;
	ee->xdef.stages = def->stages;
	ee->xdef.nstages = def->nstages;
	ee->pend_versions = json_array();
	ee->pend_artifacts = json_array();
	ee->held_stage = -1;
	ee->next = e->execs;
	e->execs = ee;
	return ee;
}

static void
timer_free(struct eng_timer *t)
{
	event_free(t->ev);
	free(t->name);
	free(t);
}

static void
waiters_reply(struct eng_waiter *w, int status, struct eng_exec *ee)
{
	while (w != NULL) {
		struct eng_waiter *next = w->next;
		json_t *body = ee ? exec_to_json(ee->x) : NULL;

		if (status >= 300) {
			json_decref(body);
			body = json_pack("{s:{s:s, s:s, s:[]}}", "error",
			    "code", "unavailable", "message",
			    "the transition could not be stored", "details");
		}
		w->cb(status >= 300 ? status : w->status, body, w->arg);
		free(w);
		w = next;
	}
}

/* Release the stage slot and target locks of ee (held_stage). */
static void
release_stage(struct eng_exec *ee)
{
	if (ee->held_stage < 0)
		return;
	ee->held_stage = -1;
	sched_soon(ee->eng);
}

static void
ee_free(struct eng_exec *ee)
{
	struct engine *e = ee->eng;
	struct eng_exec **pp;

	for (pp = &e->execs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ee) {
			*pp = ee->next;
			break;
		}
	while (ee->timers != NULL) {
		struct eng_timer *t = ee->timers;

		ee->timers = t->next;
		timer_free(t);
	}
	while (ee->hooks != NULL) {
		struct eng_hook *h = ee->hooks;

		ee->hooks = h->next;
		h->owner = NULL; /* outcomes of dying hooks are dropped */
		if (h->dry != NULL) /* no process: nothing will call back */
			hook_free(h);
	}
	waiters_reply(ee->pend_waiters, 503, NULL);
	waiters_reply(ee->fl_waiters, 503, NULL);
	buf_free(&ee->pend_events);
	json_decref(ee->pend_versions);
	json_decref(ee->pend_artifacts);
	buf_free(&ee->fl_events);
	json_decref(ee->fl_versions);
	json_decref(ee->fl_artifacts);
	exec_intents_clear(&ee->pend_intents);
	exec_intents_clear(&ee->fl_intents);
	exec_free(ee->x);
	def_unref(e, ee->def);
	free(ee->tree_text);
	free(ee->review_reason);
	free(ee);
}

/* --- applying events --------------------------------------------------- */

/* Move every intent of src to the end of dst. */
static int
intents_append(struct exec_intents *dst, struct exec_intents *src)
{
	if (src->n == 0)
		return 0;
	if (dst->n + src->n > dst->cap) {
		size_t cap = dst->n + src->n + 8;
		struct exec_intent *v = realloc(dst->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		dst->v = v;
		dst->cap = cap;
	}
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	src->n = 0;
	return 0;
}

/*
 * An event waiting in ee->pend_events: int64 seq, int32 kind, uint32
 * length, then its data (JSON text).  Frames are self-delimiting, so a
 * batch put back is its bytes in front of what came meanwhile.
 */
static bool
event_frame(struct buf *b, int64_t seq, enum exec_event_kind kind,
    const struct buf *data)
{
	char h[16];
	int32_t k = (int32_t)kind;
	uint32_t n = (uint32_t)data->len;
	size_t len = b->len;

	memcpy(h, &seq, 8);
	memcpy(h + 8, &k, 4);
	memcpy(h + 12, &n, 4);
	buf_add(b, h, sizeof(h));
	buf_add(b, data->s, data->len);
	if (buf_failed(b)) {
		/* drop the half frame and keep what was there */
		b->oom = b->toobig = false;
		b->len = len;
		return false;
	}
	return true;
}

/* The frame at *off of b; moves *off past it.  False at the end. */
static bool
event_unframe(const struct buf *b, size_t *off, int64_t *seq,
    enum exec_event_kind *kind, const char **data, uint32_t *len)
{
	int32_t k;

	if (*off + 16 > b->len)
		return false;
	memcpy(seq, b->s + *off, 8);
	memcpy(&k, b->s + *off + 8, 4);
	memcpy(len, b->s + *off + 12, 4);
	*kind = (enum exec_event_kind)k;
	*data = b->s + *off + 16;
	*off += 16 + *len;
	return true;
}

/*
 * Apply one event: the machine moves, the event and the intents wait for
 * the next flush.  Target versions to record in the same transaction are
 * taken from IN_SET_VERSION intents now.
 */
static int
apply_status(
    struct eng_exec *ee, const struct exec_event *ev, struct gantry_error *err)
{
	struct exec_intents out = {0};
	struct buf *data = &ee->eng->scratch;

	if (ee->broken)
		return gantry_error_set(err, GANTRY_EUNAVAIL,
		    "execution %" PRId64 " is stopped: a transition could "
		    "not be stored (see the log)",
		    ee->x->id);
	if (exec_step(ee->x, &ee->xdef, ev, now_ms(), &out, err) < 0) {
		exec_intents_clear(&out);
		return -1;
	}
	free(ee->tree_text);
	ee->tree_text = NULL;
	buf_reset(data);
	if (!exec_event_write(data, ev) || buf_failed(data) ||
	    !event_frame(&ee->pend_events, ee->x->seq, ev->kind, data)) {
		/* The machine moved but its event cannot be stored: stop
		 * this execution rather than lose a step. */
		ee->broken = true;
		log_err("engine.execution_stopped",
		    "execution=%" PRId64 " error=\"event %s cannot be "
		    "encoded\"",
		    ee->x->id, exec_event_name(ev->kind));
	}
	for (size_t i = 0; i < out.n; i++) {
		const struct exec_intent *in = &out.v[i];

		if (in->kind != IN_SET_VERSION)
			continue;
		json_array_append_new(ee->pend_versions,
		    json_pack("{s:s, s:s, s:s?, s:I}", "pipeline",
		        ee->x->pipeline, "target", in->target, "version",
		        in->version, "execution", (json_int_t)ee->x->id));
	}
	if (intents_append(&ee->pend_intents, &out) < 0) {
		exec_intents_clear(&out);
		return gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
	}
	exec_intents_clear(&out);
	ee->eng->transitions++;
	flush_soon(ee->eng);
	return 0;
}

static void
apply(struct eng_exec *ee, const struct exec_event *ev)
{
	struct gantry_error err;

	if (apply_status(ee, ev, &err) < 0 && err.code != GANTRY_ECONFLICT)
		log_warn("engine.event_refused",
		    "execution=%" PRId64 " event=%s error=\"%s\"", ee->x->id,
		    exec_event_name(ev->kind), err.msg);
}

/* --- group commit ------------------------------------------------------- */

/*
 * The group commit's statement, prepared once per session.  The rows of
 * executions, events and hook outputs come as binary arrays, one per
 * column (pgarray.h), which the server reads without parsing text; only
 * the snapshots and event data are JSON text, checked once each.  The
 * rare target versions and hook runs come as JSON arrays.  Parameters:
 *   $1-$7    executions: id, state, seq, reason, artifact_sha256,
 *            finished, snapshot
 *   $8-$11   events: execution, seq, kind, data
 *   $12      target versions (JSON)    $13  hook runs (JSON)
 *   $14-$23  hook outputs: execution, step, attempt, out, err,
 *            out_trunc, err_trunc, status, t0, t1 (ms)
 *   $24      artifacts built (JSON), in the batch whose snapshot first
 *            names them: the snapshot's reference is checked at the end
 *            of the statement, when they are there, whatever connection
 *            the batch went on
 * The UPDATE reaches executions by its primary key (= ANY ($1)): joined
 * on the unnested rows alone, whose size the planner does not know, it
 * may scan the whole table for every batch.
 */
static const char flush_sql[] =
    "WITH ar AS ("
    " INSERT INTO artifacts (sha256, uri, signature, signed_by)"
    " SELECT a.sha256, a.uri, a.signature, a.signed_by"
    " FROM json_to_recordset($24::json) AS a(sha256 text, uri text,"
    "  signature text, signed_by text)"
    " ON CONFLICT (sha256) DO NOTHING RETURNING 1),"
    " up AS ("
    " UPDATE executions AS x SET snapshot = s.snapshot,"
    "  state = s.state, last_seq = s.seq, reason = s.reason,"
    "  artifact_sha256 = coalesce(s.artifact_sha256, x.artifact_sha256),"
    "  updated_at = now(),"
    "  finished_at = CASE WHEN s.finished"
    "   THEN coalesce(x.finished_at, now()) END"
    " FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[],"
    "  $5::text[], $6::boolean[], $7::json[]) AS s(id, state, seq, reason,"
    "  artifact_sha256, finished, snapshot)"
    " WHERE x.id = s.id AND x.id = ANY ($1::bigint[])"
    " AND x.last_seq < s.seq"
    " RETURNING x.id),"
    /* events only with their execution's update (sql/007) */
    " ev AS ("
    " INSERT INTO execution_events (execution, seq, kind, data, at)"
    " SELECT e.execution, e.seq, e.kind, e.data, now()"
    " FROM unnest($8::bigint[], $9::bigint[], $10::text[], $11::jsonb[])"
    "  AS e(execution, seq, kind, data)"
    " JOIN up ON up.id = e.execution" /* so never twice: no ON CONFLICT */
    " RETURNING 1),"
    " tv AS ("
    " INSERT INTO target_versions (pipeline, target, version, execution,"
    "  updated_at)"
    " SELECT t.pipeline, t.target, t.version, t.execution, now()"
    " FROM json_to_recordset($12::json) AS t(pipeline text, target text,"
    "  version text, execution bigint)"
    " ON CONFLICT (pipeline, target) DO UPDATE SET"
    "  version = EXCLUDED.version, execution = EXCLUDED.execution,"
    "  updated_at = now() RETURNING 1)"
    " , hr AS ("
    " INSERT INTO hook_runs (execution, step, attempt, pid)"
    " SELECT r.execution, r.step, r.attempt, r.pid"
    " FROM json_to_recordset($13::json)"
    "  AS r(execution bigint, step text, attempt int, pid int)"
    " WHERE EXISTS (SELECT 1 FROM executions AS x WHERE x.id = r.execution)"
    " ON CONFLICT DO NOTHING RETURNING 1),"
    " ho AS ("
    " INSERT INTO hook_outputs (execution, step, attempt, stream, content,"
    "  truncated, exit_status, started_at, finished_at)"
    " SELECT o.execution, o.step, o.attempt, s.stream,"
    "  CASE s.stream WHEN 'stdout' THEN o.out ELSE o.err END,"
    "  CASE s.stream WHEN 'stdout' THEN o.out_trunc ELSE o.err_trunc END,"
    "  o.status, to_timestamp(o.t0 / 1000.0), to_timestamp(o.t1 / 1000.0)"
    " FROM unnest($14::bigint[], $15::text[], $16::int[], $17::bytea[],"
    "  $18::bytea[], $19::boolean[], $20::boolean[], $21::int[],"
    "  $22::bigint[], $23::bigint[]) AS o(execution, step, attempt, out,"
    "  err, out_trunc, err_trunc, status, t0, t1)"
    " CROSS JOIN (VALUES ('stdout'), ('stderr')) AS s(stream)"
    " WHERE (s.stream = 'stdout' OR length(o.err) > 0)" /* stdout: status */
    " AND EXISTS (SELECT 1 FROM executions AS x WHERE x.id = o.execution)"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM up),"
    " (SELECT count(*) FROM tv), (SELECT count(*) FROM hr),"
    " (SELECT count(*) FROM ho) + (SELECT count(*) FROM ar),"
    /* executions of the batch that have no row: stopped (flush_done) */
    " (SELECT coalesce(array_agg(i.id), '{}') FROM unnest($1::bigint[])"
    "  AS i(id) WHERE NOT EXISTS"
    "  (SELECT 1 FROM executions AS x WHERE x.id = i.id))";

/* Keep only the last version per (pipeline, target): one statement may
 * not update a row twice. */
static void
versions_dedupe(json_t *all)
{
	size_t n = json_array_size(all);

	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(all, i);

		for (size_t j = i + 1; j < n; j++) {
			json_t *b = json_array_get(all, j);

			if (json_equal(json_object_get(a, "pipeline"),
			        json_object_get(b, "pipeline")) &&
			    json_equal(json_object_get(a, "target"),
			        json_object_get(b, "target"))) {
				json_array_remove(all, i);
				n--;
				i--;
				break;
			}
		}
	}
}

/* Watchers of ee get its committed event rows (the text of
 * ee->fl_events, parsed only when someone watches) and its tree. */
static void
notify_watchers(struct engine *e, struct eng_exec *ee)
{
	struct engine_watch *w, *next;
	json_t *tree = NULL, *events = NULL;

	for (w = e->watches; w != NULL; w = next) {
		next = w->next; /* a callback may unwatch itself */
		if (w->id != ee->x->id)
			continue;
		if (tree == NULL) {
			struct buf b = {0};
			size_t off = 0;
			int64_t seq;
			enum exec_event_kind kind;
			const char *data;
			uint32_t len;

			jw_open(&b, '[');
			while (event_unframe(
			    &ee->fl_events, &off, &seq, &kind, &data, &len)) {
				jw_open(&b, '{');
				jw_kint(&b, "execution", ee->x->id);
				jw_kint(&b, "seq", seq);
				jw_kstr(&b, "kind", exec_event_name(kind));
				jw_key(&b, "data");
				jw_raw(&b, data, len);
				jw_close(&b, '}');
			}
			jw_close(&b, ']');
			events = buf_failed(&b)
			    ? NULL
			    : json_loadb(b.s, b.len, 0, NULL);
			buf_free(&b);
			tree = exec_to_json(ee->x);
			if (events == NULL || tree == NULL) {
				log_err("engine.watch_failed",
				    "execution=%" PRId64 " error=\"out of "
				    "memory\"",
				    ee->x->id);
				break;
			}
		}
		w->cb(events, tree, exec_is_terminal(ee->x->state), w->arg);
	}
	json_decref(events);
	json_decref(tree);
}

struct engine_watch *
engine_watch(struct engine *e, int64_t id, engine_watch_cb cb, void *arg)
{
	struct engine_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->id = id;
	w->cb = cb;
	w->arg = arg;
	w->next = e->watches;
	e->watches = w;
	return w;
}

void
engine_unwatch(struct engine *e, struct engine_watch *w)
{
	struct engine_watch **pp;

	for (pp = &e->watches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			free(w);
			return;
		}
}

/* One transaction of the group commit: the executions whose pending
 * transitions it carries (each in at most one batch at a time, so its
 * events stay in order) and the hook runs/outputs riding along. */
struct eng_batch {
	struct engine *e;
	size_t conn; /* 0: d->pg, i: d->commit_pg[i - 1] */
	struct eng_exec **v;
	size_t n;
	json_t *runs;
	struct eng_output *outputs;
};

static void
outputs_free(struct eng_output *o)
{
	while (o != NULL) {
		struct eng_output *next = o->next;

		free(o->step);
		free(o->out);
		free(o->err);
		free(o);
		o = next;
	}
}

/* The rows *fl of a batch that did not commit go back in front of those
 * that came meanwhile (*pend); *fl is left NULL. */
static void
rows_back(json_t **fl, json_t **pend)
{
	json_array_extend(*fl, *pend);
	json_decref(*pend);
	*pend = *fl;
	*fl = NULL;
}

/* Put a batch that did not commit back in front of what came meanwhile,
 * in order; refused (not a connection problem): a bug or a constraint,
 * the executions stop loudly rather than loop. */
static void
batch_requeue(struct eng_exec *ee, bool refused, const char *errmsg)
{
	struct eng_waiter *w;

	if (ee->pend_events.len > 0)
		buf_add(&ee->fl_events, ee->pend_events.s, ee->pend_events.len);
	buf_free(&ee->pend_events);
	ee->pend_events = ee->fl_events;
	memset(&ee->fl_events, 0, sizeof(ee->fl_events));
	if (buf_failed(&ee->pend_events) && !refused) {
		refused = true; /* out of memory: do not send half of it */
		errmsg = "out of memory putting a batch back";
	}
	rows_back(&ee->fl_versions, &ee->pend_versions);
	rows_back(&ee->fl_artifacts, &ee->pend_artifacts);
	(void)intents_append(&ee->fl_intents, &ee->pend_intents);
	exec_intents_clear(&ee->pend_intents);
	ee->pend_intents = ee->fl_intents;
	memset(&ee->fl_intents, 0, sizeof(ee->fl_intents));
	w = ee->fl_waiters;
	if (w != NULL) {
		while (w->next != NULL)
			w = w->next;
		w->next = ee->pend_waiters;
		ee->pend_waiters = ee->fl_waiters;
	}
	ee->fl_waiters = NULL;
	if (refused) {
		ee->broken = true;
		waiters_reply(ee->pend_waiters, 503, ee);
		ee->pend_waiters = NULL;
		log_err("engine.execution_stopped",
		    "execution=%" PRId64 " error=\"%s\"", ee->x->id,
		    errmsg ? errmsg : "");
	}
}

/* Whether id is in a PostgreSQL array of integers ("{4,17}"). */
static bool
id_listed(const char *array, int64_t id)
{
	const char *p = array;

	while (p != NULL && *p != '\0') {
		char *end;
		long long v;

		if (*p == '{' || *p == ',' || *p == '}') {
			p++;
			continue;
		}
		v = strtoll(p, &end, 10);
		if (end == p)
			return false;
		if (v == id)
			return true;
		p = end;
	}
	return false;
}

static void
flush_done(PGresult *res, const char *errmsg, void *arg)
{
	struct eng_batch *b = arg;
	struct engine *e = b->e;
	bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQnfields(res) == 6;
	bool refused = res != NULL && !ok;

	e->inflight--;
	e->conn_inflight[b->conn]--;
	if (ok || refused) {
		/* refused: rows that cannot be stored must not block
		 * transitions forever */
		json_decref(b->runs);
		outputs_free(b->outputs);
	} else {
		json_array_extend(b->runs, e->pend_runs);
		json_decref(e->pend_runs);
		e->pend_runs = b->runs;
		if (b->outputs != NULL) {
			/* back in front of those that came meanwhile */
			struct eng_output *last = b->outputs;

			while (last->next != NULL)
				last = last->next;
			last->next = e->pend_out;
			if (e->pend_out == NULL)
				e->pend_out_tail = &last->next;
			e->pend_out = b->outputs;
		}
	}
	if (ok)
		e->batches++;
	else
		log_warn("engine.flush_failed", "error=\"%s\" retry=%s",
		    errmsg ? errmsg : "no result", refused ? "no" : "yes");
	for (size_t i = 0; i < b->n; i++) {
		struct eng_exec *ee = b->v[i];
		struct exec_intents in;
		struct eng_waiter *w;

		ee->in_flight = false;
		if (!ok) {
			batch_requeue(ee, refused, errmsg);
			continue;
		}
		if (id_listed(PQgetvalue(res, 0, 5), ee->x->id)) {
			batch_requeue(
			    ee, true, "its row is missing from executions");
			continue;
		}
		notify_watchers(e, ee);
		buf_free(&ee->fl_events);
		json_decref(ee->fl_versions);
		json_decref(ee->fl_artifacts);
		ee->fl_versions = ee->fl_artifacts = NULL;
		in = ee->fl_intents;
		memset(&ee->fl_intents, 0, sizeof(ee->fl_intents));
		w = ee->fl_waiters;
		ee->fl_waiters = NULL;
		run_intents(ee, &in);
		exec_intents_clear(&in);
		free(in.v);
		waiters_reply(w, 0, ee);
	}
	/* Executions that ended and have nothing left in memory go. */
	for (size_t i = 0; i < b->n; i++) {
		struct eng_exec *ee = b->v[i];

		if (exec_is_terminal(ee->x->state) && !ee->in_flight &&
		    ee->pend_events.len == 0 && ee->hooks == NULL &&
		    ee->timers == NULL && ee->pend_waiters == NULL) {
			release_stage(ee);
			ee_free(ee);
		}
	}
	free(b->v);
	free(b);
	if (ok && e->resched) {
		e->resched = false;
		sched_soon(e);
	}
	/* What waits (this batch too, when its connection dropped) goes on
	 * whichever connection is up; with none, flush() waits for one. */
	flush_soon(e);
}

/* The batch's columns, in the statement's parameter order ($1...). */
enum {
	C_ID,
	C_STATE,
	C_SEQ,
	C_REASON,
	C_SHA,
	C_FINISHED,
	C_SNAPSHOT,
	C_EV_EXEC,
	C_EV_SEQ,
	C_EV_KIND,
	C_EV_DATA,
	C_VERSIONS, /* JSON text */
	C_RUNS, /* JSON text */
	C_O_EXEC,
	C_O_STEP,
	C_O_ATTEMPT,
	C_O_OUT,
	C_O_ERR,
	C_O_OUT_TRUNC,
	C_O_ERR_TRUNC,
	C_O_STATUS,
	C_O_T0,
	C_O_T1,
	C_ARTIFACTS, /* JSON text */
	C_N
};

/* The element type of each binary column (0: a JSON text parameter). */
static const enum pga_type col_type[C_N] = {
    [C_ID] = PGA_INT8,
    [C_STATE] = PGA_TEXT,
    [C_SEQ] = PGA_INT8,
    [C_REASON] = PGA_TEXT,
    [C_SHA] = PGA_TEXT,
    [C_FINISHED] = PGA_BOOL,
    [C_SNAPSHOT] = PGA_JSON,
    [C_EV_EXEC] = PGA_INT8,
    [C_EV_SEQ] = PGA_INT8,
    [C_EV_KIND] = PGA_TEXT,
    [C_EV_DATA] = PGA_JSONB,
    [C_O_EXEC] = PGA_INT8,
    [C_O_STEP] = PGA_TEXT,
    [C_O_ATTEMPT] = PGA_INT4,
    [C_O_OUT] = PGA_BYTEA,
    [C_O_ERR] = PGA_BYTEA,
    [C_O_OUT_TRUNC] = PGA_BOOL,
    [C_O_ERR_TRUNC] = PGA_BOOL,
    [C_O_STATUS] = PGA_INT4,
    [C_O_T0] = PGA_INT8,
    [C_O_T1] = PGA_INT8,
};

/* One execution's row and its events into the columns. */
static void
batch_add(struct engine *e, struct pgarray *c, const struct eng_exec *ee)
{
	const struct exec *x = ee->x;
	size_t off = 0;
	int64_t seq;
	enum exec_event_kind kind;
	const char *data;
	uint32_t len;

	pga_int8(&c[C_ID], x->id);
	pga_str(&c[C_STATE], exec_state_name(x->state));
	pga_int8(&c[C_SEQ], x->seq);
	pga_str(&c[C_REASON], x->reason);
	pga_str(&c[C_SHA], x->artifact_sha256);
	pga_bool(&c[C_FINISHED], exec_is_terminal(x->state));
	buf_reset(&e->scratch);
	exec_write(&e->scratch, x);
	if (buf_failed(&e->scratch))
		c[C_SNAPSHOT].b.oom = true; /* the batch fails: sent again */
	else
		pga_bytes(&c[C_SNAPSHOT], e->scratch.s, e->scratch.len);
	while (event_unframe(&ee->fl_events, &off, &seq, &kind, &data, &len)) {
		pga_int8(&c[C_EV_EXEC], x->id);
		pga_int8(&c[C_EV_SEQ], seq);
		pga_str(&c[C_EV_KIND], exec_event_name(kind));
		pga_bytes(&c[C_EV_DATA], data, len);
	}
}

static void
batch_add_output(struct pgarray *c, const struct eng_output *o)
{
	pga_int8(&c[C_O_EXEC], o->execution);
	pga_str(&c[C_O_STEP], o->step);
	pga_int4(&c[C_O_ATTEMPT], o->attempt);
	pga_bytes(&c[C_O_OUT], o->out, o->out_len);
	pga_bytes(&c[C_O_ERR], o->err, o->err_len);
	pga_bool(&c[C_O_OUT_TRUNC], o->out_trunc);
	pga_bool(&c[C_O_ERR_TRUNC], o->err_trunc);
	pga_int4(&c[C_O_STATUS], o->status);
	pga_int8(&c[C_O_T0], o->t0);
	pga_int8(&c[C_O_T1], o->t1);
}

/* The commit connection i: 0 the main one, then db_commit_connections. */
static struct pg *
commit_conn(const struct engine *e, size_t i)
{
	return i == 0 ? e->d->pg : e->d->commit_pg[i - 1];
}

/* The connection that is up with the fewest batches in flight, or -1. */
static int
commit_pick(const struct engine *e)
{
	size_t n = 1 + e->d->ncommit_pg;
	int best = -1;

	if (n > ENGINE_COMMIT_PG_MAX)
		n = ENGINE_COMMIT_PG_MAX;
	for (size_t i = 0; i < n; i++)
		if (pg_is_up(commit_conn(e, i)) &&
		    (best < 0 || e->conn_inflight[i] < e->conn_inflight[best]))
			best = (int)i;
	return best;
}

/* Send one batch on connection conn: up to ENGINE_BATCH_EXECS executions
 * from *cursor on, and (first) the hook runs and outputs waiting.
 * Returns false when there was nothing to send. */
static bool
batch_send(struct engine *e, size_t conn, struct eng_exec **cursor)
{
	struct eng_batch *b = calloc(1, sizeof(*b));
	struct pgarray c[C_N];
	json_t *versions = json_array(), *artifacts = json_array();
	char *val[C_N] = {NULL};
	int lengths[C_N] = {0}, formats[C_N] = {0};
	bool sent = false, bad = false;

	for (size_t i = 0; i < C_N; i++)
		pga_init(&c[i], col_type[i]);
	if (b == NULL || versions == NULL || artifacts == NULL ||
	    (b->v = calloc(ENGINE_BATCH_EXECS, sizeof(*b->v))) == NULL)
		goto out;
	b->e = e;
	b->conn = conn;
	for (; *cursor != NULL && b->n < ENGINE_BATCH_EXECS;
	     *cursor = (*cursor)->next) {
		struct eng_exec *ee = *cursor;

		if (ee->in_flight || ee->broken || ee->pend_events.len == 0)
			continue;
		ee->in_flight = true;
		ee->fl_events = ee->pend_events;
		memset(&ee->pend_events, 0, sizeof(ee->pend_events));
		ee->fl_versions = ee->pend_versions;
		ee->pend_versions = json_array();
		ee->fl_artifacts = ee->pend_artifacts;
		ee->pend_artifacts = json_array();
		ee->fl_intents = ee->pend_intents;
		memset(&ee->pend_intents, 0, sizeof(ee->pend_intents));
		ee->fl_waiters = ee->pend_waiters;
		ee->pend_waiters = NULL;
		json_array_extend(versions, ee->fl_versions);
		json_array_extend(artifacts, ee->fl_artifacts);
		batch_add(e, c, ee);
		b->v[b->n++] = ee;
	}
	if (b->n == 0 && json_array_size(e->pend_runs) == 0 &&
	    e->pend_out == NULL)
		goto out;
	/* Hook runs and outputs ride along in the same transaction. */
	b->runs = e->pend_runs;
	e->pend_runs = json_array();
	b->outputs = e->pend_out;
	e->pend_out = NULL;
	e->pend_out_tail = &e->pend_out;
	for (const struct eng_output *o = b->outputs; o != NULL; o = o->next)
		batch_add_output(c, o);
	versions_dedupe(versions);
	for (size_t i = 0; i < C_N; i++) {
		size_t len = 0;

		if (col_type[i] == 0) {
			val[i] = json_dumps(i == C_VERSIONS ? versions
			        : i == C_RUNS               ? b->runs
			                                    : artifacts,
			    JSON_COMPACT);
			pga_free(&c[i]);
		} else {
			val[i] = pga_finish(&c[i], &len);
			formats[i] = 1;
			lengths[i] = (int)len;
			if (len > INT_MAX)
				bad = true;
		}
		bad |= val[i] == NULL;
	}
	e->inflight++;
	e->conn_inflight[conn]++;
	sent = true;
	if (bad ||
	    pg_query_prepared_bin(commit_conn(e, conn), flush_sql, C_N,
	        (const char *const *)val, lengths, formats, flush_done, b) < 0)
		flush_done(NULL, "database unavailable", b);
	b = NULL;
out:
	if (b != NULL) {
		free(b->v);
		free(b);
	}
	for (size_t i = 0; i < C_N; i++) {
		pga_free(&c[i]);
		free(val[i]);
	}
	json_decref(versions);
	json_decref(artifacts);
	return sent;
}

/*
 * Send what is pending, in batches of at most ENGINE_BATCH_EXECS
 * executions with up to ENGINE_BATCHES_INFLIGHT of them in the
 * connection's pipeline at once: each is its own transaction (one WAL
 * flush for its executions), and gantryd prepares the next batch, and
 * carries out the intents of a committed one, while PostgreSQL works on
 * the one before.
 */
static void
flush(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct eng_exec *cursor;
	int conn;

	if (!e->d->schema_current)
		return; /* engine_db_ready() flushes again */
	cursor = e->execs;
	while (e->inflight < ENGINE_BATCHES_INFLIGHT &&
	    (conn = commit_pick(e)) >= 0 &&
	    batch_send(e, (size_t)conn, &cursor))
		;
}

static void
flush_soon(struct engine *e)
{
	event_active(e->ev_flush, EV_TIMEOUT, 0);
}

/* --- hooks -------------------------------------------------------------- */

static char *
envvar(const char *k, const char *v)
{
	char *s = NULL;

	if (asprintf(&s, "%s=%s", k, v ? v : "") < 0)
		return NULL;
	return s;
}

static void hook_done(struct hook *h, const struct hook_result *r, void *arg);
static void hook_started(struct hook *h, pid_t pid, void *arg);
static void dry_start(struct eng_exec *ee, struct eng_hook *eh,
    const struct exec_intent *in, const char *path);

/* Hash and store a built artifact: the file at path. */
static int
store_artifact(struct eng_exec *ee, const char *path, char sha[65], char **uri,
    char *why, size_t len)
{
	unsigned char md[32], buf[65536];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char dst[PATH_MAX];
	int in = -1, out = -1, rc = -1;
	ssize_t n;
	int64_t size = 0;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || ctx == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		snprintf(why, len, "the build left no artifact at %s: %s", path,
		    strerror(errno));
		goto out;
	}
	snprintf(dst, sizeof(dst), "%s/artifacts/.incoming-%" PRId64,
	    ee->eng->state_dir, ee->x->id);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		snprintf(why, len, "cannot write %s: %s", dst, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1 ||
		    write(out, buf, (size_t)n) != n) {
			snprintf(why, len, "cannot store the artifact");
			goto out;
		}
		size += n;
	}
	if (n < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		snprintf(why, len, "cannot read the artifact");
		goto out;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	{
		char final[PATH_MAX];

		snprintf(final, sizeof(final), "%s/artifacts/%s",
		    ee->eng->state_dir, sha);
		if (rename(dst, final) < 0) {
			snprintf(why, len, "cannot store the artifact: %s",
			    strerror(errno));
			goto out;
		}
		if (asprintf(uri, "file://%s", final) < 0)
			goto out;
	}
	log_info("artifact.stored",
	    "execution=%" PRId64 " sha256=%s bytes=%" PRId64, ee->x->id, sha,
	    size);
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static void
run_hook(struct eng_exec *ee, const struct exec_intent *in)
{
	struct engine *e = ee->eng;
	const struct pipeline_hook *ph = NULL;
	struct hook_spec spec;
	char *env[24];
	size_t ne = 0;
	char attempt[16], idbuf[24], label[512], path[PATH_MAX];
	const char *cmd = in->hook;
	struct eng_hook *eh;
	bool notify = in->kind == IN_NOTIFY;
	int64_t timeout = in->timeout_ms;

	if (cmd != NULL && strchr(cmd, '/') == NULL) {
		ph = pipeline_hook_find(ee->def->p, cmd);
		if (ph == NULL) {
			if (!notify)
				log_warn("hook.undefined",
				    "execution=%" PRId64 " hook=%s", ee->x->id,
				    cmd);
			return;
		}
		cmd = ph->command;
		if (timeout == 0)
			timeout = ph->timeout_ms;
	}
	if (cmd == NULL)
		return;
	if (timeout == 0)
		timeout = ee->def->p->hook_timeout_ms;
	if (cmd[0] == '/')
		snprintf(path, sizeof(path), "%s", cmd);
	else
		snprintf(path, sizeof(path), "%s/%s", ee->def->dir, cmd);
	eh = calloc(1, sizeof(*eh));
	if (eh == NULL)
		return;
	eh->step = strdup(in->step ? in->step : "notify");
	eh->attempt = in->attempt;
	eh->notify = notify;
	eh->owner = ee;
	if (ee->x->dry_run) {
		dry_start(ee, eh, in, path);
		return;
	}
	snprintf(
	    attempt, sizeof(attempt), "%d", in->attempt > 0 ? in->attempt : 1);
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, ee->x->id);
	env[ne++] = envvar("PATH",
	    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env[ne++] = envvar("HOME", e->state_dir);
	env[ne++] = envvar("GANTRY_EXECUTION", idbuf);
	env[ne++] = envvar("GANTRY_PIPELINE", ee->x->pipeline);
	env[ne++] = envvar("GANTRY_STAGE", in->stage);
	env[ne++] = envvar("GANTRY_GROUP", in->group);
	env[ne++] = envvar("GANTRY_TARGET", in->target);
	env[ne++] = envvar("GANTRY_ACTION",
	    in->action ? in->action : (notify ? "notify" : ""));
	env[ne++] = envvar("GANTRY_REVISION", ee->x->revision);
	env[ne++] = envvar("GANTRY_ARTIFACT", ee->x->artifact_uri);
	env[ne++] = envvar("GANTRY_ARTIFACT_SHA256", ee->x->artifact_sha256);
	/* a rollback to nothing (the target's first deploy) says so: an
	 * empty GANTRY_VERSION, never the release being removed */
	env[ne++] = envvar("GANTRY_VERSION",
	    in->version != NULL ? in->version
	        : in->action != NULL && strcmp(in->action, "rollback") == 0
	        ? NULL
	        : ee->x->artifact_sha256);
	env[ne++] = envvar("GANTRY_PREVIOUS_VERSION", in->previous);
	env[ne++] = envvar("GANTRY_ATTEMPT", attempt);
	env[ne++] = envvar("GANTRY_STEP", eh->step);
	if (notify)
		env[ne++] = envvar("GANTRY_REASON", in->reason);
	if (in->action != NULL && strcmp(in->action, "build") == 0) {
		char out[PATH_MAX];

		snprintf(out, sizeof(out), "%s/builds/%" PRId64 "-%d.out",
		    e->state_dir, ee->x->id, in->attempt);
		eh->out_path = strdup(out);
		env[ne++] = envvar("GANTRY_OUT", out);
	}
	env[ne] = NULL;
	snprintf(label, sizeof(label), "%" PRId64 " %s#%d", ee->x->id, eh->step,
	    in->attempt);
	memset(&spec, 0, sizeof(spec));
	spec.path = path;
	spec.cwd = ee->def->dir;
	spec.env = env;
	spec.timeout_ms = timeout;
	spec.label = label;
	eh->next = ee->hooks;
	ee->hooks = eh;
	eh->h = hookrun_start(e->hr, &spec, hook_done, hook_started, eh);
	for (size_t i = 0; i < ne; i++)
		free(env[i]);
	if (eh->h == NULL)
		log_err("hook.start_failed", "label=\"%s\"", label);
}

/* Free an eng_hook that is no longer (or never was) in its owner's list. */
static void
hook_free(struct eng_hook *eh)
{
	if (eh->dry != NULL)
		event_free(eh->dry);
	free(eh->dry_out);
	free(eh->step);
	free(eh->out_path);
	free(eh);
}

static void
hook_unlink(struct eng_hook *eh)
{
	struct eng_exec *ee = eh->owner;
	struct eng_hook **pp;

	if (ee == NULL)
		return;
	for (pp = &ee->hooks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == eh) {
			*pp = eh->next;
			break;
		}
}

/*
 * A dry run's step spawns nothing: it finishes with exit status 0 on the
 * next loop turn (never inside run_hook(), like a real hook), through
 * hook_started() and hook_done() as a real one does, so its event, its
 * output (saying what was not run) and the metrics take the same path.
 * A build stores no artifact; a deploy fetches and checks none.
 */
static void
dry_done(evutil_socket_t fd, short what, void *arg)
{
	struct eng_hook *eh = arg;
	struct hook_result r;
	static const char killed[] = "dry run: killed before it finished\n";

	memset(&r, 0, sizeof(r));
	r.status = eh->dry_killed ? 128 + SIGTERM : 0;
	r.killed = eh->dry_killed;
	r.out = eh->dry_out;
	r.out_len = strlen(eh->dry_out);
	r.err = eh->dry_killed ? killed : "";
	r.err_len = eh->dry_killed ? strlen(killed) : 0;
	r.started_ms = r.finished_ms = now_ms();
	hook_started(NULL, 0, eh);
	hook_done(NULL, &r, eh);
}

static void
dry_start(struct eng_exec *ee, struct eng_hook *eh,
    const struct exec_intent *in, const char *path)
{
	static const struct timeval now = {0, 0};
	const char *action = in->action ? in->action : "hook";
	const char *note = "";
	int rc;

	if (strcmp(action, "deploy") == 0)
		note = "; no artifact was fetched or verified";
	else if (strcmp(action, "build") == 0)
		note = "; nothing was built, no artifact stored";
	if (in->target != NULL)
		rc =
		    asprintf(&eh->dry_out, "dry run: %s of %s not run (%s)%s\n",
		        action, in->target, path, note);
	else
		rc = asprintf(&eh->dry_out,
		    "dry run: %s of stage %s not run (%s)%s\n", action,
		    in->stage ? in->stage : "-", path, note);
	if (rc < 0)
		eh->dry_out = NULL;
	eh->dry = evtimer_new(ee->eng->d->base, dry_done, eh);
	if (eh->step == NULL || eh->dry_out == NULL || eh->dry == NULL) {
		log_err("hook.start_failed",
		    "execution=%" PRId64 " step=%s dry_run=yes", ee->x->id,
		    in->step ? in->step : "-");
		hook_free(eh);
		return;
	}
	eh->next = ee->hooks;
	ee->hooks = eh;
	evtimer_add(eh->dry, &now);
}

/* Kill a step: TERM then KILL its process group; a dry run's step ends
 * as killed when its completion comes (this loop turn). */
static void
hook_kill(struct eng_hook *eh)
{
	if (eh->h != NULL)
		hookrun_kill(eh->h);
	else
		eh->dry_killed = true;
}

static void
hook_started(struct hook *h, pid_t pid, void *arg)
{
	struct eng_hook *eh = arg;

	if (eh->owner == NULL || eh->notify)
		return;
	if (eh->owner->alarm_observed != 0 && strlen(eh->step) > 9 &&
	    strcmp(eh->step + strlen(eh->step) - 9, ":rollback") == 0) {
		/* SPEC promise 3: from the alarm seen to the rollback */
		(void)metrics_observe(eh->owner->eng->d->metrics,
		    "gantry_alarm_rollback_seconds", NULL,
		    (double)(now_ms() - eh->owner->alarm_observed) / 1000.0);
		eh->owner->alarm_observed = 0;
	}
	if (pid <= 0)
		return; /* a dry run's step: no process to find after a crash */
	json_array_append_new(eh->owner->eng->pend_runs,
	    json_pack("{s:I, s:s, s:i, s:i}", "execution",
	        (json_int_t)eh->owner->x->id, "step", eh->step, "attempt",
	        eh->attempt > 0 ? eh->attempt : 1, "pid", (int)pid));
}

/* Keep the hook's output with the step (bounded by the capture size):
 * it rides along with the next group commit. */
static void
store_output(
    struct eng_exec *ee, struct eng_hook *eh, const struct hook_result *r)
{
	struct engine *e = ee->eng;
	struct eng_output *o = calloc(1, sizeof(*o));

	if (o != NULL) {
		o->step = strdup(eh->step);
		o->out = malloc(r->out_len + 1);
		o->err = malloc(r->err_len + 1);
	}
	if (o == NULL || o->step == NULL || o->out == NULL || o->err == NULL) {
		log_err("engine.output_lost",
		    "execution=%" PRId64 " step=%s error=\"out of memory\"",
		    ee->x->id, eh->step);
		outputs_free(o);
		return;
	}
	o->execution = ee->x->id;
	o->attempt = eh->attempt > 0 ? eh->attempt : 1;
	memcpy(o->out, r->out, r->out_len);
	o->out_len = r->out_len;
	memcpy(o->err, r->err, r->err_len);
	o->err_len = r->err_len;
	o->out_trunc = r->out_truncated;
	o->err_trunc = r->err_truncated;
	o->status = r->status;
	o->t0 = r->started_ms;
	o->t1 = r->finished_ms;
	*e->pend_out_tail = o;
	e->pend_out_tail = &o->next;
}

static void
hook_done(struct hook *h, const struct hook_result *r, void *arg)
{
	struct eng_hook *eh = arg;
	struct eng_exec *ee = eh->owner;
	struct exec_event ev;
	char sha[65] = "", why[512] = "";
	char *uri = NULL, *sig = NULL;

	hook_unlink(eh);
	if (ee == NULL || eh->notify)
		goto out;
	store_output(ee, eh, r);
	memset(&ev, 0, sizeof(ev));
	ev.kind = r->timed_out ? EV_HOOK_TIMED_OUT : EV_HOOK_FINISHED;
	ev.step = eh->step;
	ev.attempt = eh->attempt;
	ev.status = r->status;
	if (r->status < 0 && r->why != NULL)
		log_warn("hook.spawn_failed",
		    "execution=%" PRId64 " step=%s why=\"%s\"", ee->x->id,
		    eh->step, r->why);
	if (eh->out_path != NULL && r->status == 0 && !r->timed_out) {
		if (store_artifact(
		        ee, eh->out_path, sha, &uri, why, sizeof(why)) < 0) {
			log_warn("artifact.failed",
			    "execution=%" PRId64 " why=\"%s\"", ee->x->id, why);
			ev.status = 1;
			ev.reason = why;
		} else {
			struct gantry_error serr;
			const char *params[4] = {sha, uri, NULL, NULL};

			if (ee->eng->key != NULL) {
				sig = sign_digest(ee->eng->key, sha, &serr);
				if (sig == NULL)
					log_warn("artifact.sign_failed",
					    "sha256=%s why=\"%s\"", sha,
					    serr.msg);
				params[2] = sig;
				params[3] = sig ? "gantryd" : NULL;
				ev.artifact_signature = sig;
			}
			/* Written with the transition that names it. */
			if (json_array_append_new(ee->pend_artifacts,
			        json_pack("{s:s, s:s, s:s?, s:s?}", "sha256",
			            params[0], "uri", params[1], "signature",
			            params[2], "signed_by", params[3])) < 0)
				log_warn(
				    "artifact.not_recorded", "sha256=%s", sha);
			ev.artifact_sha256 = sha;
			ev.artifact_uri = uri;
		}
	}
	apply(ee, &ev);
out:
	free(uri);
	free(sig);
	hook_free(eh);
}

static struct eng_hook *
hook_find(struct eng_exec *ee, const char *step)
{
	for (struct eng_hook *h = ee->hooks; h != NULL; h = h->next)
		if (!h->notify && strcmp(h->step, step) == 0)
			return h;
	return NULL;
}

/* --- timers --------------------------------------------------------------- */

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void
fire_alarm(struct eng_exec *ee, const char *name, const char *reason,
    const json_t *detail, int64_t observed)
{
	struct exec_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_ALARM_FIRED;
	ev.alarm = name;
	ev.reason = reason;
	ev.detail = detail;
	if (ee->alarm_observed == 0)
		ee->alarm_observed = observed;
	apply(ee, &ev);
}

/*
 * The end of a bake is a go/no-go decision (SPEC promises 3 and 4): every
 * alarm the stage lists must be ok -- an open alarm, or insufficient data
 * (unless the alarm says `insufficient_data: pass`), fails the bake and
 * rolls the stage back.  Relative alarms are judged by the one-box's
 * verdict at the end of a one-box bake.  Returns true when the bake
 * failed (an alarm event was applied); otherwise *detail gets the
 * verdicts the bake passed on.
 */
static bool
bake_gate(struct eng_exec *ee, const char *timer, json_t **detail)
{
	struct engine *e = ee->eng;
	const struct exec *x = ee->x;
	const struct stage *st;
	const struct exec_stage *s;
	bool one_box = ends_with(timer, ":one-box-bake");
	json_t *verdicts;

	*detail = NULL;
	if (!x->stage_started || x->stage >= x->nstages || e->d->alarms == NULL)
		return false;
	st = &ee->def->stages[x->stage];
	s = &x->stages[x->stage];
	if (s->state != SST_BAKING || s->bake_until == 0 ||
	    now_ms() < s->bake_until || st->nalarms == 0)
		return false;
	verdicts = json_array();
	for (size_t i = 0; i < st->nalarms; i++) {
		const struct alarm_def *def =
		    pipeline_alarm_find(ee->def->p, st->alarms[i]);
		struct alarm_view v;
		bool have;
		char why[512];

		if (def != NULL && def->relative && one_box) {
			have = alarms_get_relative(
			    e->d->alarms, x->id, s->name, st->alarms[i], &v);
		} else if (def != NULL && def->relative &&
		    !def->has_threshold) {
			continue; /* judged only against a one-box */
		} else {
			have = alarms_get(
			    e->d->alarms, x->pipeline, st->alarms[i], &v);
		}
		if (!have) {
			snprintf(why, sizeof(why),
			    "no datapoint at the end of the %s",
			    one_box ? "one-box bake" : "bake");
			if (def != NULL && def->missing_data_ok)
				continue;
			fire_alarm(ee, st->alarms[i], why, NULL, now_ms());
			json_decref(verdicts);
			return true;
		}
		if (v.state == ALARM_ALARM ||
		    (v.state == ALARM_INSUFFICIENT_DATA &&
		        !v.def->missing_data_ok)) {
			snprintf(why, sizeof(why), "%s%s",
			    v.state == ALARM_ALARM ? ""
			                           : "insufficient data at "
			                             "the end of the bake: ",
			    v.reason);
			fire_alarm(ee, st->alarms[i], why, v.detail, now_ms());
			json_decref(verdicts);
			return true;
		}
		json_array_append_new(verdicts,
		    v.detail != NULL
		        ? json_deep_copy(v.detail)
		        : json_pack("{s:s, s:s, s:s}", "alarm", v.name, "state",
		              alarm_state_name(v.state), "reason", v.reason));
	}
	*detail = json_pack("{s:o}", "alarms", verdicts);
	return false;
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct eng_timer *t = arg;
	struct eng_exec *ee = t->owner;
	struct eng_timer **pp;
	struct exec_event ev;
	json_t *detail = NULL;

	for (pp = &ee->timers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	if ((ends_with(t->name, ":bake") ||
	        ends_with(t->name, ":one-box-bake")) &&
	    bake_gate(ee, t->name, &detail)) {
		timer_free(t);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_TIMER_FIRED;
	ev.timer = t->name;
	ev.detail = detail;
	apply(ee, &ev);
	json_decref(detail);
	timer_free(t);
}

static void
timer_cancel(struct eng_exec *ee, const char *name)
{
	struct eng_timer **pp;

	for (pp = &ee->timers; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0) {
			struct eng_timer *t = *pp;

			*pp = t->next;
			timer_free(t);
			return;
		}
}

static void
timer_arm(struct eng_exec *ee, const char *name, int64_t deadline)
{
	struct eng_timer *t;
	struct timeval tv;
	int64_t wait;

	/* libevent counts the timeout from the loop's cached clock, which
	 * lags the real one by however long this turn has run so far (a big
	 * batch: many ms), so count from that same cached time: a timer
	 * that woke before its deadline would be re-armed, one more event.
	 * +1 ms for rounding. */
	if (event_base_gettimeofday_cached(ee->eng->d->base, &tv) < 0)
		wait = deadline - now_ms() + 1;
	else
		wait = deadline -
		    ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000) + 1;

	timer_cancel(ee, name);
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return;
	t->name = strdup(name);
	t->owner = ee;
	t->ev = evtimer_new(ee->eng->d->base, timer_fired, t);
	if (wait < 0)
		wait = 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(t->ev, &tv);
	t->next = ee->timers;
	ee->timers = t;
}

/* --- intents ---------------------------------------------------------- */

/* --- notification webhooks ------------------------------------------------ */

static void
notified(const struct httpc_response *r, void *arg)
{
	struct engine *e = arg;
	bool ok = r->error == NULL && r->status >= 200 && r->status < 300;

	(void)metrics_add(e->d->metrics, "gantry_notifications_total",
	    ok ? "outcome=\"sent\"" : "outcome=\"failed\"", 1);
	if (!ok)
		log_warn("notify.webhook_failed",
		    "status=%d attempts=%d error=\"%s\"", r->status,
		    r->attempts, r->error ? r->error : "HTTP error");
}

/*
 * The pipeline's notifications.webhook gets a JSON message when an
 * execution becomes blocked, is overridden, or ends: sent from the loop,
 * retried (5 attempts, backoff) with a timeout; a failure is logged and
 * counted, never waited for.
 */
static void
notify_webhook(struct eng_exec *ee, const struct exec_intent *it)
{
	static const char *const outcomes[] = {"blocked", "override",
	    "succeeded", "rolled_back", "failed", "aborted", "rejected",
	    "superseded", NULL};
	struct engine *e = ee->eng;
	const struct pipeline *p = ee->def->p;
	struct httpc_request req = {0};
	struct gantry_error err = {0};
	const char *outcome = it->outcome, *reason = it->reason;
	char link[600], at[32];
	json_t *msg;
	char *body;
	size_t k;
	time_t now = time(NULL);
	struct tm tm;

	if (p->notify_webhook == NULL || e->d->httpc == NULL ||
	    outcome == NULL || reason == NULL)
		return;
	for (k = 0; outcomes[k] != NULL && strcmp(outcomes[k], outcome); k++)
		;
	if (outcomes[k] == NULL)
		return; /* rolling_back and the like: the end will say */
	/* the hook's text is "OUTCOME: WHY"; the message has them apart */
	reason += strlen(outcome);
	reason += strncmp(reason, ": ", 2) == 0 ? 2 : 0;
	if (e->d->cfg->public_url != NULL)
		snprintf(link, sizeof(link), "%s/v1/executions/%" PRId64,
		    e->d->cfg->public_url, ee->x->id);
	gmtime_r(&now, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	msg = json_pack("{s:I, s:s, s:i, s:s, s:o, s:s, s:s, s:o, s:s}",
	    "execution", (json_int_t)ee->x->id, "pipeline", ee->x->pipeline,
	    "pipeline_version", ee->x->pipeline_version, "revision",
	    ee->x->revision, "stage",
	    it->stage ? json_string(it->stage) : json_null(), "outcome",
	    outcome, "reason", reason, "link",
	    e->d->cfg->public_url ? json_string(link) : json_null(), "at", at);
	body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (body == NULL)
		return;
	req.method = "POST";
	req.url = p->notify_webhook;
	req.content_type = "application/json";
	req.body = body;
	req.len = strlen(body);
	req.timeout_ms = p->notify_timeout_ms;
	req.attempts = 5;
	if (httpc_request(e->d->httpc, &req, notified, e, &err) == NULL) {
		(void)metrics_add(e->d->metrics, "gantry_notifications_total",
		    "outcome=\"failed\"", 1);
		log_warn("notify.webhook_failed", "error=\"%s\"", err.msg);
	}
	free(body);
}

static void
run_intents(struct eng_exec *ee, struct exec_intents *in)
{
	for (size_t i = 0; i < in->n; i++) {
		struct exec_intent *it = &in->v[i];
		struct eng_hook *h;

		switch (it->kind) {
		case IN_RUN_HOOK:
			run_hook(ee, it);
			break;
		case IN_NOTIFY:
			if (ee->x->dry_run)
				break; /* a rehearsal pages nobody */
			run_hook(ee, it);
			notify_webhook(ee, it);
			break;
		case IN_KILL_HOOK:
			h = hook_find(ee, it->step);
			if (h != NULL && (h->h != NULL || h->dry != NULL)) {
				hook_kill(h);
			} else {
				/* Not running here: it died with an earlier
				 * gantryd (whose leftovers were killed before
				 * anything resumed).  Record it as killed, so
				 * what waits for it goes on; a stale outcome
				 * is ignored by the machine. */
				struct exec_event ev;

				memset(&ev, 0, sizeof(ev));
				ev.kind = EV_HOOK_FINISHED;
				ev.step = it->step;
				ev.attempt = it->attempt;
				ev.status = 128 + 9;
				ev.reason = "the hook was not running any more";
				apply(ee, &ev);
			}
			break;
		case IN_ARM_TIMER:
			timer_arm(ee, it->timer, it->deadline);
			break;
		case IN_CANCEL_TIMER:
			timer_cancel(ee, it->timer);
			break;
		case IN_WAIT_STAGE:
			ee->waiting = true;
			sched_soon(ee->eng);
			break;
		case IN_SET_VERSION:
			break; /* written with the transition */
		case IN_FINISHED:
			log_info("execution.finished",
			    "execution=%" PRId64 " pipeline=%s state=%s",
			    ee->x->id, ee->x->pipeline,
			    exec_state_name(ee->x->state));
			ee->waiting = false;
			release_stage(ee);
			break;
		}
	}
	/* A stage that ended frees its slot for the next execution. */
	if (ee->held_stage >= 0 &&
	    ((size_t)ee->held_stage != ee->x->stage ||
	        exec_is_terminal(ee->x->state)))
		release_stage(ee);
}

/* --- scheduler ----------------------------------------------------------- */

/* Another pipeline's execution holding a stage that shares a target.
 * A dry run touches no target: it never holds one, nor waits for one. */
static struct eng_exec *
target_holder(struct engine *e, const struct eng_exec *me,
    const struct exec_stage *st, const char **target)
{
	if (me->x->dry_run)
		return NULL;
	for (struct eng_exec *o = e->execs; o != NULL; o = o->next) {
		const struct exec_stage *os;

		if (o == me || o->held_stage < 0 || o->x->dry_run ||
		    strcmp(o->x->pipeline, me->x->pipeline) == 0)
			continue;
		os = &o->x->stages[o->held_stage];
		for (size_t i = 0; i < st->ntargets; i++)
			for (size_t j = 0; j < os->ntargets; j++)
				if (strcmp(st->targets[i].name,
				        os->targets[j].name) == 0) {
					*target = st->targets[i].name;
					return o;
				}
	}
	return NULL;
}

/* An execution a callback looks up again by id (it may be gone). */
struct start_job {
	struct engine *e;
	int64_t id;
};

struct start_batch {
	struct engine *e;
	size_t n;
	int64_t ids[]; /* row i of the batch is execution ids[i] */
};

/* The versions of execution id's stage targets are known (n rows of
 * name, version), or could not be read (ok == false). */
static void
stage_versions(
    struct engine *e, int64_t id, bool ok, PGresult *res, int row, int n)
{
	struct eng_exec *ee = exec_find(e, id);
	const char **names = NULL, **vers = NULL;
	struct exec_event ev;

	if (ee == NULL)
		return;
	ee->starting = false;
	if (!ok) {
		/* Try again when the database answers. */
		ee->held_stage = -1;
		ee->waiting = true;
		sched_soon(ee->eng);
		return;
	}
	names = calloc((size_t)n + 1, sizeof(*names));
	vers = calloc((size_t)n + 1, sizeof(*vers));
	for (int i = 0; names && vers && i < n; i++) {
		names[i] = PQgetvalue(res, row + i, 1);
		vers[i] = PQgetisnull(res, row + i, 2)
		    ? NULL
		    : PQgetvalue(res, row + i, 2);
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_STAGE_MAY_START;
	ev.target_names = names;
	ev.target_versions = vers;
	ev.ntarget_versions = names && vers ? (size_t)n : 0;
	ee->waiting = false;
	apply(ee, &ev);
	free(names);
	free(vers);
}

static void
versions_loaded(PGresult *res, const char *errmsg, void *arg)
{
	struct start_batch *b = arg;
	bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
	int rows = ok ? PQntuples(res) : 0, r = 0;

	for (size_t i = 0; i < b->n; i++) {
		int n = 0;

		while (r + n < rows &&
		    strtoull(PQgetvalue(res, r + n, 0), NULL, 10) == i)
			n++;
		stage_versions(b->e, b->ids[i], ok, res, r, n);
		r += n;
	}
	free(b);
}

/* One statement for the stage starts of a scheduler pass: rows ordered
 * by start, then by target as listed. */
static void
starts_send(struct engine *e)
{
	static const char sql[] =
	    "SELECT t.i, t.name, v.version"
	    " FROM unnest($1::int[], $2::text[], $3::text[]) WITH ORDINALITY"
	    "  AS t(i, pipeline, name, o)"
	    " LEFT JOIN target_versions AS v"
	    " ON v.pipeline = t.pipeline AND v.target = t.name"
	    " ORDER BY t.o";
	struct start_batch *b;
	char *val[3];
	size_t len[3] = {0};
	int lengths[3], formats[3] = {1, 1, 1};
	bool bad;

	if (e->nstart == 0)
		return;
	b = malloc(sizeof(*b) + e->nstart * sizeof(b->ids[0]));
	/* one row a target: the start it belongs to, its pipeline, name */
	val[0] = pga_finish(&e->start_i, &len[0]);
	val[1] = pga_finish(&e->start_pipeline, &len[1]);
	val[2] = pga_finish(&e->start_target, &len[2]);
	pga_init(&e->start_i, PGA_INT4);
	pga_init(&e->start_pipeline, PGA_TEXT);
	pga_init(&e->start_target, PGA_TEXT);
	bad = val[0] == NULL || val[1] == NULL || val[2] == NULL;
	for (int i = 0; i < 3; i++) {
		bad |= len[i] > INT_MAX;
		lengths[i] = (int)len[i];
	}
	if (b == NULL || bad) {
		/* every start is retried by the next pass */
		for (size_t i = 0; i < e->nstart; i++)
			stage_versions(e, e->start_ids[i], false, NULL, 0, 0);
		e->nstart = 0;
		free(b);
		for (int i = 0; i < 3; i++)
			free(val[i]);
		return;
	}
	b->e = e;
	b->n = e->nstart;
	memcpy(b->ids, e->start_ids, e->nstart * sizeof(b->ids[0]));
	e->nstart = 0;
	if (pg_query_prepared_bin(e->d->pg, sql, 3, (const char *const *)val,
	        lengths, formats, versions_loaded, b) < 0)
		versions_loaded(NULL, "database unavailable", b);
	for (int i = 0; i < 3; i++)
		free(val[i]);
}

static bool
str_same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static bool
blockers_equal(const struct exec *x, const struct exec_blocker *b, size_t n)
{
	if (x->state != EXEC_BLOCKED || x->nblockers != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!str_same(x->blockers[i].kind, b[i].kind) ||
		    !str_same(x->blockers[i].reason, b[i].reason) ||
		    !str_same(x->blockers[i].id, b[i].id))
			return false;
	return true;
}

/*
 * The blockers of a stage start that an override can lift (SPEC section
 * 5): open alarms the stage lists and open org-wide alarms, and holds
 * (these two only for deploy stages: a build or a test touches no
 * target), the pipeline's and the stage's windows.  Each has an id
 * ("alarm:NAME", "window", "hold:ID"); one with an unused, unexpired
 * override for this stage is left out.
 */
#define ENGINE_MAX_BLOCKERS 16

struct blist {
	struct exec_blocker v[ENGINE_MAX_BLOCKERS];
	char reason[ENGINE_MAX_BLOCKERS][512];
	char id[ENGINE_MAX_BLOCKERS][160];
	size_t n;
	const struct exec *x;
	int64_t now;
	int64_t wake; /* ms: re-check then (a window opens, an override
			 expires); 0 none */
};

static bool
overridden(const struct blist *bl, const char *id)
{
	return exec_override_active(bl->x, bl->x->stages[bl->x->stage].name, id,
	           bl->now) != NULL;
}

static void PRINTFLIKE(5, 6) blist_add(struct blist *bl, const char *kind,
    const char *id, int64_t until, const char *fmt, ...)
{
	va_list ap;
	size_t i = bl->n;

	if (id != NULL) {
		const struct exec_override *o = exec_override_active(
		    bl->x, bl->x->stages[bl->x->stage].name, id, bl->now);

		if (o != NULL) {
			/* come back when the override expires */
			if (bl->wake == 0 || o->expires < bl->wake)
				bl->wake = o->expires;
			return;
		}
	}
	if (i >= ENGINE_MAX_BLOCKERS)
		return;
	for (size_t k = 0; id != NULL && k < i; k++)
		if (strcmp(bl->id[k], id) == 0)
			return; /* the same alarm listed twice */
	va_start(ap, fmt);
	vsnprintf(bl->reason[i], sizeof(bl->reason[i]), fmt, ap);
	va_end(ap);
	snprintf(bl->id[i], sizeof(bl->id[i]), "%s", id ? id : "");
	bl->v[i].kind = (char *)kind;
	bl->v[i].reason = bl->reason[i];
	bl->v[i].until = until;
	bl->v[i].id = id != NULL ? bl->id[i] : NULL;
	bl->n++;
}

static void
hold_blocks(const struct hold *h, void *arg)
{
	struct blist *bl = arg;
	char id[48];

	snprintf(id, sizeof(id), "hold:%" PRId64, h->id);
	blist_add(bl, "hold", id, 0, "hold %" PRId64 " on %s%s%s by %s: %s",
	    h->id, strcmp(h->scope, "all") == 0 ? "every pipeline" : h->scope,
	    h->name ? " " : "", h->name ? h->name : "", h->actor, h->reason);
}

static void review_check(struct eng_exec *ee);

/*
 * The review gate (pipeline review.required) before a deploy stage: the
 * revision must be approved by review.min_approvals reviewers other than
 * its author (gantry_review_status(), from webhook events).  While it is
 * not, the stage is blocked by "review" (an admin may override it); after
 * review.wait from the trigger, the execution is rejected.  Returns false
 * when the decision must wait (the check is out, or it was rejected).
 */
static bool
review_gate(struct eng_exec *ee, const struct stage *st, struct blist *bl)
{
	const struct pipeline *p = ee->def->p;
	int64_t deadline;

	if (st->type != STAGE_DEPLOY || !p->review_required ||
	    ee->review == REVIEW_APPROVED || overridden(bl, "review"))
		return true;
	if (ee->review == REVIEW_UNKNOWN)
		review_check(ee);
	if (ee->review != REVIEW_MISSING)
		return false;
	deadline = ee->x->created_at + p->review_wait_ms;
	if (bl->now >= deadline) {
		struct exec_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.kind = EV_REJECTED;
		ev.actor = "review gate";
		ev.reason = ee->review_reason;
		apply(ee, &ev);
		return false;
	}
	blist_add(bl, "review", "review", deadline, "%s", ee->review_reason);
	if (bl->wake == 0 || deadline < bl->wake)
		bl->wake = deadline;
	return true;
}

static void
review_checked(PGresult *res, const char *errmsg, void *arg)
{
	struct start_job *job = arg;
	struct engine *e = job->e;
	struct eng_exec *ee = exec_find(e, job->id);
	const struct pipeline *p;
	int approved, self;
	char *why = NULL;

	free(job);
	if (ee == NULL || ee->review != REVIEW_CHECKING)
		return;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		log_warn("review.check_failed",
		    "execution=%" PRId64 " error=\"%s\"", ee->x->id,
		    errmsg ? errmsg : "no result");
		ee->review = REVIEW_UNKNOWN;
		wake_at(e, now_ms() + 1000); /* try again */
		return;
	}
	p = ee->def->p;
	approved = atoi(PQgetvalue(res, 0, 0));
	self = atoi(PQgetvalue(res, 0, 2));
	if (approved >= p->review_min_approvals) {
		ee->review = REVIEW_APPROVED;
		log_info("review.approved",
		    "execution=%" PRId64 " revision=%s reviewers=\"%s\"",
		    ee->x->id, ee->x->revision, PQgetvalue(res, 0, 1));
	} else {
		if (asprintf(&why,
		        "revision %s%s%s has %d of the %d approvals it needs "
		        "from a reviewer other than its author%s",
		        ee->x->revision, p->repository ? " of " : "",
		        p->repository ? p->repository : "", approved,
		        p->review_min_approvals,
		        self > 0 ? " (its author's own approval does not "
		                   "count)"
		                 : "") < 0)
			why = NULL;
		free(ee->review_reason);
		ee->review_reason = why;
		ee->review = why != NULL ? REVIEW_MISSING : REVIEW_UNKNOWN;
	}
	sched_soon(e);
}

static void
review_check(struct eng_exec *ee)
{
	static const char sql[] = "SELECT approved, reviewers, self_approved"
	                          " FROM gantry_review_status($1, $2)";
	struct start_job *job = calloc(1, sizeof(*job));
	const char *params[2] = {ee->def->p->repository, ee->x->revision};

	if (job == NULL)
		return;
	job->e = ee->eng;
	job->id = ee->x->id;
	ee->review = REVIEW_CHECKING;
	if (pg_query(ee->eng->d->pg, sql, 2, params, review_checked, job) < 0)
		review_checked(NULL, "database unavailable", job);
}

void
engine_review_changed(struct engine *e)
{
	for (struct eng_exec *ee = e->execs; ee != NULL; ee = ee->next)
		if (ee->review == REVIEW_MISSING)
			ee->review = REVIEW_UNKNOWN;
	sched_soon(e);
}

/* Every blocker of the stage start, in bl; -1: decide later. */
static int
collect_blockers(struct eng_exec *ee, const struct stage *st, struct blist *bl)
{
	struct engine *e = ee->eng;
	const struct exec *x = ee->x;
	const struct windows *w[2] = {&ee->def->p->windows, &st->windows};
	struct gantry_error err;
	char reason[512], id[160];
	bool open = true;

	bl->n = 0;
	bl->x = x;
	bl->now = now_ms();
	bl->wake = 0;
	if (!review_gate(ee, st, bl))
		return -1;
	if (st->type == STAGE_DEPLOY && e->d->alarms != NULL) {
		struct alarm_view v[ENGINE_MAX_BLOCKERS];
		size_t n;

		for (size_t i = 0; i < st->nalarms; i++)
			if (alarms_get(e->d->alarms, x->pipeline, st->alarms[i],
			        &v[0]) &&
			    v[0].state == ALARM_ALARM) {
				snprintf(id, sizeof(id), "alarm:%s", v[0].name);
				blist_add(bl, "alarm", id, 0, "alarm %s: %s",
				    v[0].name, v[0].reason);
			}
		n = alarms_org_firing(e->d->alarms, v, ENGINE_MAX_BLOCKERS);
		for (size_t i = 0; i < n && i < ENGINE_MAX_BLOCKERS; i++) {
			snprintf(id, sizeof(id), "alarm:%s", v[i].name);
			blist_add(bl, "alarm", id, 0, "org-wide alarm %s: %s",
			    v[i].name, v[i].reason);
		}
	}
	if (st->type == STAGE_DEPLOY && e->d->holds != NULL)
		holds_each(e->d->holds, ee->def->p->service, x->pipeline,
		    hold_blocks, bl);
	if (window_is_open(w, 2, bl->now / 1000, &open, reason, sizeof(reason),
	        &err) < 0) {
		blist_add(bl, "window", "window", 0,
		    "windows cannot be evaluated: %s", err.msg);
	} else if (!open) {
		int64_t when = 0;

		if (window_next_open(w, 2, bl->now / 1000, &when, &err) == 0) {
			when *= 1000;
			if (bl->wake == 0 || when < bl->wake)
				bl->wake = when;
		}
		blist_add(bl, "window", "window", when, "%s", reason);
	}
	if (bl->wake != 0)
		wake_at(e, bl->wake);
	return (int)bl->n;
}

/* Block with every blocker of bl (when they changed). */
static void
block_list(struct eng_exec *ee, const struct blist *bl)
{
	struct exec_event ev;

	if (blockers_equal(ee->x, bl->v, bl->n))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_BLOCKED;
	ev.blockers = bl->v;
	ev.nblockers = bl->n;
	apply(ee, &ev);
}

static void
block(struct eng_exec *ee, const char *kind, const char *reason, int64_t until)
{
	struct exec_blocker b = {(char *)kind, (char *)reason, until, NULL};
	struct exec_event ev;

	if (blockers_equal(ee->x, &b, 1))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_BLOCKED;
	ev.blockers = &b;
	ev.nblockers = 1;
	apply(ee, &ev);
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	e->wake_at = 0;
	sched_soon(e);
}

static void
wake_at(struct engine *e, int64_t when)
{
	int64_t wait;
	struct timeval tv;

	if (e->wake_at != 0 && e->wake_at <= when)
		return;
	e->wake_at = when;
	wait = when - now_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(e->ev_wake, &tv);
}

/*
 * Per scheduler pass: for each (pipeline, stage name), who holds the slot
 * and which is the oldest execution waiting for it.  Built once per pass
 * in O(n), so a pass over thousands of waiting executions stays linear.
 */
struct sched_slot {
	const char *pipeline, *stage; /* borrowed from the executions */
	struct eng_exec *holder;
	struct eng_exec *first_waiter;
};

struct sched_index {
	struct sched_slot *v;
	size_t cap; /* a power of two */
};

static struct sched_slot *
slot_get(struct sched_index *ix, const char *pipeline, const char *stage)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (const char *c = pipeline; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	h = (h ^ 0x1f) * 1099511628211ULL;
	for (const char *c = stage; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	for (i = h & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
		struct sched_slot *sl = &ix->v[i];

		if (sl->pipeline == NULL) {
			sl->pipeline = pipeline;
			sl->stage = stage;
			return sl;
		}
		if (strcmp(sl->pipeline, pipeline) == 0 &&
		    strcmp(sl->stage, stage) == 0)
			return sl;
	}
}

/* Decide for one waiting execution: supersede, block, or start. */
static void
sched_one(struct engine *e, struct eng_exec *ee, struct sched_index *ix)
{
	struct exec *x = ee->x;
	const struct stage *st;
	const struct exec_stage *xst;
	struct eng_exec *o;
	const char *target = NULL;
	struct sched_slot *slot;
	char reason[512];
	struct blist bl;

	if (x->stage >= x->nstages || exec_is_terminal(x->state) ||
	    ee->in_flight || ee->pend_events.len > 0)
		return; /* decide on committed state only */
	st = &ee->def->stages[x->stage];
	xst = &x->stages[x->stage];
	/* supersede: a newer execution waits for the first stage too */
	if (ee->def->p->concurrency == CONCURRENCY_SUPERSEDE && x->stage == 0 &&
	    !x->stage_started) {
		for (o = e->execs; o != NULL; o = o->next) {
			if (o != ee && o->x->id > x->id && o->waiting &&
			    o->x->stage == 0 && !o->x->stage_started &&
			    strcmp(o->x->pipeline, x->pipeline) == 0) {
				struct exec_event ev;
				char by[96];

				memset(&ev, 0, sizeof(ev));
				ev.kind = EV_SUPERSEDED;
				ev.other = o->x->id;
				snprintf(by, sizeof(by),
				    "superseded by execution %" PRId64,
				    o->x->id);
				ev.reason = by;
				ee->waiting = false;
				apply(ee, &ev);
				return;
			}
		}
	}
	slot = slot_get(ix, x->pipeline, xst->name);
	o = slot->holder;
	if (o != NULL && o != ee) {
		snprintf(reason, sizeof(reason),
		    "stage %s is occupied by execution %" PRId64, xst->name,
		    o->x->id);
		block(ee, "queue", reason, 0);
		return;
	}
	/* queue: an older execution waiting for the same stage goes first */
	o = slot->first_waiter;
	if (o != NULL && o != ee) {
		snprintf(reason, sizeof(reason),
		    "waiting behind execution %" PRId64 " for stage %s",
		    o->x->id, xst->name);
		block(ee, "queue", reason, 0);
		return;
	}
	o = target_holder(e, ee, xst, &target);
	if (o != NULL) {
		snprintf(reason, sizeof(reason),
		    "target %s is busy: execution %" PRId64 " of pipeline %s "
		    "holds it",
		    target, o->x->id, o->x->pipeline);
		block(ee, "busy", reason, 0);
		return;
	}
	switch (collect_blockers(ee, st, &bl)) {
	case -1:
		return; /* decided when the review check answers */
	case 0:
		break;
	default:
		block_list(ee, &bl);
		return;
	}
	/* Start: hold the slot and the targets; their versions are read
	 * for the whole pass at once (starts_send). */
	{
		if (e->nstart == e->capstart) {
			size_t cap = e->capstart ? 2 * e->capstart : 64;
			int64_t *v = realloc(e->start_ids, cap * sizeof(*v));

			if (v != NULL) {
				e->start_ids = v;
				e->capstart = cap;
			}
		}
		if (e->nstart == e->capstart)
			return; /* out of memory: still waiting, next pass */
		for (size_t i = 0; i < xst->ntargets; i++) {
			pga_int4(&e->start_i, (int32_t)e->nstart);
			pga_str(&e->start_pipeline, x->pipeline);
			pga_str(&e->start_target, xst->targets[i].name);
		}
		e->start_ids[e->nstart++] = x->id;
		ee->held_stage = (int64_t)x->stage;
		ee->starting = true;
		ee->waiting = false;
		slot->holder = ee;
	}
}

static int
cmp_exec_id(const void *a, const void *b)
{
	int64_t x = (*(struct eng_exec *const *)a)->x->id;
	int64_t y = (*(struct eng_exec *const *)b)->x->id;

	return x < y ? -1 : x > y;
}

static void
sched(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct eng_exec **order;
	struct sched_index ix;
	size_t n = 0, k = 0;

	if (!e->d->schema_current)
		return;
	for (struct eng_exec *ee = e->execs; ee != NULL; ee = ee->next)
		n++;
	order = calloc(n ? n : 1, sizeof(*order));
	if (order == NULL)
		return;
	/* Oldest first, so queues keep their order. */
	for (struct eng_exec *ee = e->execs; ee != NULL; ee = ee->next)
		if (ee->waiting && !ee->starting)
			order[k++] = ee;
	qsort(order, k, sizeof(*order), cmp_exec_id);
	ix.cap = 16;
	while (ix.cap < 4 * (n + 1)) /* at most 2n keys: load <= 1/2 */
		ix.cap *= 2;
	ix.v = calloc(ix.cap, sizeof(*ix.v));
	if (ix.v == NULL) {
		free(order);
		return;
	}
	for (struct eng_exec *ee = e->execs; ee != NULL; ee = ee->next)
		if (ee->held_stage >= 0)
			slot_get(&ix, ee->x->pipeline,
			    ee->x->stages[ee->held_stage].name)
			    ->holder = ee;
	for (size_t i = 0; i < k; i++) {
		struct exec *x = order[i]->x;
		struct sched_slot *sl;

		if (x->stage >= x->nstages || exec_is_terminal(x->state))
			continue;
		sl = slot_get(&ix, x->pipeline, x->stages[x->stage].name);
		if (sl->first_waiter == NULL)
			sl->first_waiter = order[i];
	}
	/* sched_one() never frees an execution (that happens after a
	 * commit), so every entry stays valid through the loop. */
	for (size_t i = 0; i < k; i++)
		if (order[i]->waiting && !order[i]->starting)
			sched_one(e, order[i], &ix);
	starts_send(e);
	free(ix.v);
	free(order);
}

static void
sched_soon(struct engine *e)
{
	event_active(e->ev_sched, EV_TIMEOUT, 0);
}

/* --- stuck detection -------------------------------------------------------- */

static void
stuck_check(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	unsigned stuck = 0;

	for (struct eng_exec *ee = e->execs; ee != NULL; ee = ee->next) {
		const struct exec *x = ee->x;

		if (exec_is_terminal(x->state) || ee->in_flight ||
		    ee->pend_events.len > 0 || ee->timers || ee->hooks ||
		    ee->waiting || ee->starting || x->state == EXEC_PAUSED ||
		    x->state == EXEC_BLOCKED)
			continue;
		stuck++;
		log_err("execution.stuck",
		    "execution=%" PRId64 " state=%s stage=%zu", x->id,
		    exec_state_name(x->state), x->stage);
	}
	e->stuck = stuck;
}

/* --- startup: resume what was running ---------------------------------- */

/*
 * Leftover hooks of an earlier gantryd (killed or crashed): processes
 * whose environment has GANTRY_EXECUTION and our HOME (= state_dir).
 * Their process groups are TERMed, KILLed after a grace period, and
 * nothing resumes until every one is gone, so no new attempt of a step
 * ever runs beside an older one (SPEC.md section 5, promise 2).
 * Zombies count as gone.  Found through /proc, not through recorded
 * pids, so a hook whose pid was never recorded is found too.
 */
#define LEFTOVER_GRACE_MS 1000
#define LEFTOVER_GIVE_UP_MS 10000

/* Read /proc/PID/NAME into buf (NUL-terminated); its length or -1. */
static ssize_t
proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len >= 0)
		buf[len] = '\0';
	return len;
}

static size_t
leftover_groups(const char *home, pid_t *out, size_t max)
{
	char want_home[PATH_MAX + 8], buf[16384];
	size_t n = 0, hlen;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (d == NULL)
		return 0;
	snprintf(want_home, sizeof(want_home), "HOME=%s", home);
	hlen = strlen(want_home) + 1; /* with the NUL */
	while ((de = readdir(d)) != NULL && n < max) {
		pid_t pid = (pid_t)atoi(de->d_name);
		bool has_exec = false, has_home = false;
		char state = 0, *rp;
		int pgrp = 0;
		ssize_t len;

		if (pid <= 1 || pid == getpid())
			continue;
		if ((len = proc_read(pid, "environ", buf, sizeof(buf))) <= 0)
			continue;
		for (ssize_t off = 0; off < len;
		     off += (ssize_t)strlen(buf + off) + 1) {
			if (strncmp(buf + off, "GANTRY_EXECUTION=", 17) == 0)
				has_exec = true;
			if ((size_t)(len - off) >= hlen &&
			    memcmp(buf + off, want_home, hlen) == 0)
				has_home = true;
		}
		if (!has_exec || !has_home)
			continue;
		if ((len = proc_read(pid, "stat", buf, sizeof(buf))) <= 0)
			continue;
		rp = strrchr(buf, ')'); /* comm may hold spaces */
		if (rp == NULL ||
		    sscanf(rp + 1, " %c %*d %d", &state, &pgrp) != 2 ||
		    state == 'Z' || pgrp <= 1)
			continue;
		for (size_t i = 0; i <= n; i++) {
			if (i == n) {
				out[n++] = (pid_t)pgrp;
				break;
			}
			if (out[i] == (pid_t)pgrp)
				break;
		}
	}
	closedir(d);
	return n;
}

static void load_executions(struct engine *e);

static void
leftovers_poll(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	pid_t groups[256];
	size_t n = leftover_groups(e->state_dir, groups, 256);
	int64_t waited = e->leftover_since ? now_ms() - e->leftover_since : 0;
	struct timeval tv = {0, 50000};

	if (n == 0) {
		if (waited > 0)
			log_info("engine.leftovers_gone", "ms=%lld",
			    (long long)waited);
		load_executions(e);
		return;
	}
	if (waited >= LEFTOVER_GIVE_UP_MS) {
		log_err("engine.leftovers_survive",
		    "groups=%zu msg=\"hooks of an earlier gantryd survive "
		    "SIGKILL; resuming anyway\"",
		    n);
		load_executions(e);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int sig = waited >= LEFTOVER_GRACE_MS || e->leftover_since == 0
		    ? (e->leftover_since == 0 ? SIGTERM : SIGKILL)
		    : 0;

		if (sig != 0) {
			log_warn("hook.leftover_kill", "pgid=%d signal=%s",
			    (int)groups[i], sig == SIGTERM ? "TERM" : "KILL");
			(void)kill(-groups[i], sig);
		}
	}
	if (e->leftover_since == 0)
		e->leftover_since = now_ms();
	evtimer_add(e->ev_leftover, &tv);
}

static void
loaded(PGresult *res, const char *errmsg, void *arg)
{
	struct engine *e = arg;
	int n;

	e->loading = false;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("engine.load_failed", "error=\"%s\"",
		    errmsg ? errmsg : "no result");
		return; /* engine_db_ready() tries again */
	}
	e->loaded = true;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		json_error_t jerr;
		struct gantry_error err;
		json_t *snap = json_loads(PQgetvalue(res, i, 1), 0, &jerr);
		struct exec *x = snap ? exec_from_json(snap, &err) : NULL;
		char why[512];
		struct eng_def *def;
		struct eng_exec *ee;
		struct exec_event ev;

		json_decref(snap);
		if (x == NULL) {
			log_err("engine.snapshot_invalid", "execution=%s",
			    PQgetvalue(res, i, 0));
			continue;
		}
		def = def_from_text(e, x->pipeline, x->pipeline_version,
		    PQgetvalue(res, i, 2),
		    PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3), why,
		    sizeof(why));
		if (def == NULL) {
			log_err("engine.definition_invalid",
			    "execution=%" PRId64 " error=\"%s\"", x->id, why);
			exec_free(x);
			continue;
		}
		ee = ee_new(e, x, def);
		if (ee == NULL) {
			exec_free(x);
			def_unref(e, def);
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.kind = EV_RESTARTED;
		apply(ee, &ev);
		log_info("execution.resumed",
		    "execution=%" PRId64 " pipeline=%s state=%s", x->id,
		    x->pipeline, exec_state_name(x->state));
	}
	flush_soon(e);
}

void
engine_db_ready(struct engine *e)
{
	if (!e->loaded && !e->loading) {
		e->loading = true;
		e->leftover_since = 0;
		leftovers_poll(-1, 0, e); /* then load_executions() */
	}
	flush_soon(e);
	sched_soon(e);
}

void
engine_commit_ready(struct engine *e)
{
	flush_soon(e);
}

static void
load_executions(struct engine *e)
{
	static const char load[] =
	    "SELECT x.id, x.snapshot::text, v.definition::text, p.source_file"
	    " FROM executions x JOIN pipeline_versions v"
	    " ON v.pipeline = x.pipeline AND v.version = x.pipeline_version"
	    " JOIN pipelines p ON p.name = x.pipeline"
	    " WHERE x.finished_at IS NULL ORDER BY x.id";

	if (pg_query(e->d->pg, load, 0, NULL, loaded, e) < 0)
		e->loading = false; /* the next engine_db_ready() retries */
}

/* --- API ------------------------------------------------------------------ */

static void
reply_error(engine_reply_cb cb, void *arg, int status, const char *code,
    const char *msg)
{
	cb(status,
	    json_pack("{s:{s:s, s:s, s:[]}}", "error", "code", code, "message",
	        msg, "details"),
	    arg);
}

static void
wait_commit(struct eng_exec *ee, int status, engine_reply_cb cb, void *arg)
{
	struct eng_waiter *w = calloc(1, sizeof(*w)), **pp;

	if (w == NULL) {
		reply_error(cb, arg, 500, "internal", "out of memory");
		return;
	}
	w->cb = cb;
	w->arg = arg;
	w->status = status;
	for (pp = &ee->pend_waiters; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
	flush_soon(ee->eng);
}

struct trigger_job {
	struct trigger_job *next; /* in the queue or the batch */
	struct engine *e;
	struct eng_def *def;
	char *pipeline, *revision, *uri, *sha, *sig, *actor, *key, *reason;
	int version;
	bool alone; /* its batch was refused: retried in a batch of one */
	/* The new execution (id 0 until its row exists): its first snapshot
	 * and its "triggered" event (seq 1) are stored with the row. */
	struct exec *x;
	engine_reply_cb cb;
	void *arg;
};

static void
trigger_job_free(struct trigger_job *j)
{
	free(j->pipeline);
	free(j->revision);
	free(j->uri);
	free(j->sha);
	free(j->sig);
	free(j->actor);
	free(j->key);
	free(j->reason);
	exec_free(j->x);
	free(j);
}

static void
existing_loaded(PGresult *res, const char *errmsg, void *arg)
{
	struct trigger_job *j = arg;
	json_error_t jerr;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1)
		reply_error(j->cb, j->arg, 503, "unavailable",
		    errmsg ? errmsg : "cannot read the execution");
	else
		j->cb(200, json_loads(PQgetvalue(res, 0, 0), 0, &jerr), j->arg);
	def_unref(j->e, j->def);
	trigger_job_free(j);
}

/* An artifact built elsewhere must carry a signature that verifies
 * against the pipeline's signing.public_key (relative to its file). */
static int
verify_external(const struct eng_def *def, const char *sha, const char *sig,
    char *why, size_t len)
{
	const char *rel = def->p->signing_public_key;
	struct gantry_error err;
	struct sign_key *k;
	char path[PATH_MAX], rwhy[300];
	size_t plen = 0;
	char *pem;
	int rc;

	if (rel[0] == '/')
		snprintf(path, sizeof(path), "%s", rel);
	else
		snprintf(path, sizeof(path), "%s/%s", def->dir, rel);
	pem = read_small(path, &plen, rwhy, sizeof(rwhy));
	if (pem == NULL) {
		snprintf(why, len, "cannot read signing.public_key %s", rwhy);
		return -1;
	}
	k = sign_key_load(pem, plen, 0, &err);
	free(pem);
	if (k == NULL) {
		snprintf(why, len, "signing.public_key %s: %s", path, err.msg);
		return -1;
	}
	rc = sign_verify(k, sha, sig, &err);
	sign_key_free(k);
	if (rc < 0)
		snprintf(why, len, "artifact %.12s rejected: %s", sha, err.msg);
	return rc;
}

static void
trigger_failed(struct trigger_job *j, bool refused, const char *errmsg)
{
	char msg[600];

	snprintf(msg, sizeof(msg), "cannot create the execution: %s",
	    errmsg ? errmsg : "no result");
	reply_error(j->cb, j->arg, refused ? 500 : 503,
	    refused ? "internal" : "unavailable", msg);
	def_unref(j->e, j->def);
	trigger_job_free(j);
}

/* The row of job j is stored as execution id (created, or the one its
 * Idempotency-Key already named). */
static void
inserted(struct trigger_job *j, int64_t id, bool created)
{
	struct engine *e = j->e;
	struct exec *x;
	struct eng_exec *ee;
	char why[512];

	if (!created) {
		/* A known Idempotency-Key: answer with that execution. */
		struct eng_exec *live = exec_find(e, id);
		char idbuf[24];
		const char *params[1] = {idbuf};

		if (live != NULL) {
			j->cb(200, exec_to_json(live->x), j->arg);
			def_unref(e, j->def);
			trigger_job_free(j);
			return;
		}
		snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
		if (pg_query(e->d->pg,
		        "SELECT snapshot::text FROM executions WHERE id = $1",
		        1, params, existing_loaded, j) < 0)
			existing_loaded(NULL, "database unavailable", j);
		return;
	}
	x = j->x;
	j->x = NULL;
	x->id = id;
	ee = ee_new(e, x, j->def);
	if (ee == NULL) {
		exec_free(x);
		def_unref(e, j->def);
		reply_error(j->cb, j->arg, 500, "internal", "out of memory");
		trigger_job_free(j);
		return;
	}
	/* exec_new counts as the "triggered" event, seq 1: stored with the
	 * row, committed by now. */
	e->transitions++;
	log_info("execution.triggered",
	    "execution=%" PRId64 " pipeline=%s version=%d revision=%s", id,
	    x->pipeline, x->pipeline_version, x->revision);
	if (j->sha != NULL && j->def->p->signing_public_key != NULL &&
	    verify_external(j->def, j->sha, j->sig, why, sizeof(why)) < 0) {
		struct exec_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.kind = EV_REJECTED;
		ev.reason = why;
		log_warn("execution.rejected",
		    "execution=%" PRId64 " why=\"%s\"", id, why);
		apply(ee, &ev);
		wait_commit(ee, 201, j->cb, j->arg);
	} else {
		/* The machine asks for its first stage from exec_new's
		 * state: the daemon asks on its behalf. */
		struct exec_intent wait;
		struct exec_intents in = {&wait, 1, 1};

		memset(&wait, 0, sizeof(wait));
		wait.kind = IN_WAIT_STAGE;
		run_intents(ee, &in);
		j->cb(201, exec_to_json(x), j->arg);
	}
	trigger_job_free(j);
}

/* One statement per batch of triggers.  Ids are drawn first so each row
 * maps back to its job; a key already stored (or seen earlier in the same
 * batch) answers with that execution instead.  The stored key is looked
 * up per row through its index: a join would let the planner scan all of
 * executions for every batch. */
static const char trigger_sql[] =
    "WITH j AS MATERIALIZED (SELECT j.*,"
    "  nextval(pg_get_serial_sequence('executions', 'id')) AS id"
    " FROM json_to_recordset($1::json) AS j(i int, pipeline text,"
    "  version int, revision text, actor text, sha text, uri text,"
    "  sig text, key text, reason text, dry_run boolean, state text,"
    "  snap json)),"
    " a AS (INSERT INTO artifacts (sha256, uri, signature)"
    " SELECT DISTINCT ON (sha) sha, uri, sig FROM j WHERE sha IS NOT NULL"
    " ORDER BY sha, i ON CONFLICT (sha256) DO NOTHING RETURNING 1),"
    " ins AS (INSERT INTO executions (id, pipeline, pipeline_version,"
    "  revision, artifact_sha256, triggered_by, idempotency_key, reason,"
    "  snapshot, dry_run, state, last_seq) OVERRIDING SYSTEM VALUE"
    " SELECT id, pipeline, version, revision, sha, actor, key, reason,"
    "  ('{\"id\":' || id || substr(snap::text, 8))::json, dry_run,"
    "  state, 1"
    " FROM j, (SELECT count(*) FROM a) AS force_a ORDER BY i"
    " ON CONFLICT (pipeline, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL DO NOTHING"
    " RETURNING id, pipeline, idempotency_key),"
    " ev AS (INSERT INTO execution_events (execution, seq, kind, data)"
    " SELECT id, 1, 'triggered', '{\"kind\":\"triggered\"}' FROM ins"
    " RETURNING 1),"
    " au AS (INSERT INTO audit_log (actor, action, object, reason, data)"
    " SELECT j.actor, 'execution.trigger', j.pipeline, j.reason,"
    "  jsonb_build_object('execution', j.id, 'revision', j.revision,"
    "  'dry_run', j.dry_run)"
    " FROM j JOIN ins ON ins.id = j.id RETURNING 1)"
    " SELECT j.i, coalesce(mine.id, twin.id,"
    "  CASE WHEN mine.id IS NULL AND twin.id IS NULL THEN"
    "  (SELECT o.id FROM executions AS o WHERE o.pipeline = j.pipeline"
    "  AND o.idempotency_key = j.key) END),"
    "  mine.id IS NOT NULL, (SELECT count(*) FROM au)"
    " FROM j LEFT JOIN ins AS mine ON mine.id = j.id"
    " LEFT JOIN ins AS twin ON mine.id IS NULL"
    "  AND twin.pipeline = j.pipeline AND twin.idempotency_key = j.key"
    " ORDER BY j.i";

#define TRIGGER_BATCH_MAX 512

static void
trigger_done(PGresult *res, const char *errmsg, void *arg)
{
	struct engine *e = arg;
	struct trigger_job *batch = e->trig_fl, *j, *next, **byi;
	size_t n = 0, i;
	bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;

	e->trig_fl = NULL;
	for (j = batch; j != NULL; j = j->next)
		n++;
	/* Only a refused statement is retried: one that committed is never
	 * sent again (a job its rows do not name fails below). */
	if (!ok && res != NULL && n > 1) {
		/* A statement the server refused: one bad row must not fail
		 * its neighbours.  Retry each alone, in order, ahead of the
		 * queue. */
		struct trigger_job **tail = &batch;

		log_warn("trigger.batch_refused", "triggers=%zu error=\"%s\"",
		    n, errmsg ? errmsg : "");
		for (j = batch; j != NULL; j = j->next) {
			j->alone = true;
			tail = &j->next;
		}
		*tail = e->trig_head;
		if (e->trig_head == NULL)
			e->trig_tail = tail;
		e->trig_head = batch;
		event_active(e->ev_trig, EV_TIMEOUT, 0);
		return;
	}
	byi = ok ? calloc(n, sizeof(*byi)) : NULL;
	if (ok && byi == NULL) {
		ok = false;
		errmsg = "out of memory";
	}
	i = 0;
	for (j = batch; j != NULL; j = j->next)
		if (byi != NULL)
			byi[i++] = j;
	if (!ok) {
		for (j = batch; j != NULL; j = next) {
			next = j->next;
			trigger_failed(j, res != NULL, errmsg);
		}
	} else {
		for (int r = 0; r < PQntuples(res); r++) {
			long k = strtol(PQgetvalue(res, r, 0), NULL, 10);

			if (k < 0 || (size_t)k >= n || byi[k] == NULL)
				continue;
			j = byi[k];
			byi[k] = NULL;
			if (PQgetisnull(res, r, 1))
				trigger_failed(j, true,
				    "the Idempotency-Key names no execution");
			else
				inserted(j,
				    strtoll(PQgetvalue(res, r, 1), NULL, 10),
				    PQgetvalue(res, r, 2)[0] == 't');
		}
		for (i = 0; i < n; i++)
			if (byi[i] != NULL)
				trigger_failed(byi[i], true,
				    "the batch lost this trigger");
	}
	free(byi);
	if (e->trig_head != NULL)
		event_active(e->ev_trig, EV_TIMEOUT, 0);
}

/* Send the queued triggers as one statement (the next batch waits for
 * this one: its rows and ours would otherwise race for the same keys). */
/* One row of the trigger statement's $1.  snap is the execution's first
 * snapshot, written with id 0: exec_write() puts the id first, so the
 * statement splices the drawn id in as text. */
static void
trigger_row(struct buf *b, const struct trigger_job *j, size_t i)
{
	jw_open(b, '{');
	jw_kint(b, "i", (int64_t)i);
	jw_kstr(b, "pipeline", j->pipeline);
	jw_kint(b, "version", j->version);
	jw_kstr(b, "revision", j->revision);
	jw_kstr(b, "actor", j->actor);
	jw_kstr(b, "sha", j->sha);
	jw_kstr(b, "uri", j->uri);
	jw_kstr(b, "sig", j->sig);
	jw_kstr(b, "key", j->key);
	jw_kstr(b, "reason", j->reason);
	jw_kbool(b, "dry_run", j->x->dry_run);
	jw_kstr(b, "state", exec_state_name(j->x->state));
	jw_key(b, "snap");
	exec_write(b, j->x);
	jw_close(b, '}');
}

static void
trigger_flush(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct trigger_job *j, **tail;
	struct buf rows = {0};
	char *text;
	size_t n = 0;

	if (e->trig_fl != NULL || e->trig_head == NULL)
		return;
	jw_open(&rows, '[');
	tail = &e->trig_fl;
	while ((j = e->trig_head) != NULL && n < TRIGGER_BATCH_MAX &&
	    (n == 0 || !j->alone)) {
		e->trig_head = j->next;
		j->next = NULL;
		*tail = j;
		tail = &j->next;
		trigger_row(&rows, j, n);
		n++;
		if (j->alone)
			break;
	}
	jw_close(&rows, ']');
	if (e->trig_head == NULL)
		e->trig_tail = &e->trig_head;
	text = buf_take(&rows, NULL);
	if (text == NULL ||
	    pg_query_prepared(e->d->pg, trigger_sql, 1,
	        (const char *const *)&text, trigger_done, e) < 0)
		trigger_done(NULL, "database unavailable", e);
	free(text);
}

void
engine_trigger(struct engine *e, const struct engine_trigger *t,
    engine_reply_cb cb, void *arg)
{
	const struct pipeline *p;
	struct trigger_job *j;
	int version = 0;
	char why[512];

	if (!e->d->schema_current || !pg_is_up(e->d->pg)) {
		reply_error(
		    cb, arg, 503, "unavailable", "database unavailable");
		return;
	}
	p = pipelines_current(e->d->pipelines, t->pipeline, &version);
	if (p == NULL || version == 0) {
		snprintf(why, sizeof(why),
		    "no pipeline named \"%s\" with a stored good version",
		    t->pipeline);
		reply_error(cb, arg, 404, "not_found", why);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(cb, arg, 500, "internal", "out of memory");
		return;
	}
	j->e = e;
	j->cb = cb;
	j->arg = arg;
	j->version = version;
	j->pipeline = strdup(t->pipeline);
	j->revision = strdup(t->revision);
	j->uri = t->artifact_uri ? strdup(t->artifact_uri) : NULL;
	j->sha = t->artifact_sha256 ? strdup(t->artifact_sha256) : NULL;
	j->sig = t->artifact_signature ? strdup(t->artifact_signature) : NULL;
	j->actor = strdup(t->actor);
	j->key = t->idempotency_key ? strdup(t->idempotency_key) : NULL;
	j->reason = t->reason ? strdup(t->reason) : NULL;
	/* The definition the execution runs: the stored current version,
	 * compiled once per version and shared. */
	j->def = def_find(e, t->pipeline, version);
	if (j->def == NULL) {
		const char *file =
		    pipelines_file_of(e->d->pipelines, t->pipeline);
		json_t *doc = pipelines_get_json(e->d->pipelines, t->pipeline);
		char *text = doc
		    ? json_dumps(json_object_get(doc, "definition"),
		          JSON_SORT_KEYS | JSON_COMPACT)
		    : NULL;

		snprintf(why, sizeof(why), "cannot serialise the definition");
		j->def = text ? def_from_text(e, t->pipeline, version, text,
		                    file, why, sizeof(why))
		              : NULL;
		free(text);
		json_decref(doc);
	}
	if (j->def == NULL) {
		reply_error(cb, arg, 500, "internal", why);
		trigger_job_free(j);
		return;
	}
	j->x = j->pipeline != NULL && j->revision != NULL
	    ? exec_new(0,
	          &(struct exec_def){
	              j->def->p, j->def->stages, j->def->nstages},
	          j->pipeline, j->version, j->revision, j->uri, j->sha, j->sig,
	          now_ms())
	    : NULL;
	if (j->x != NULL)
		j->x->dry_run = t->dry_run;
	if (j->x == NULL || j->pipeline == NULL || j->revision == NULL ||
	    j->actor == NULL || (t->artifact_uri && j->uri == NULL) ||
	    (t->artifact_sha256 && j->sha == NULL) ||
	    (t->artifact_signature && j->sig == NULL) ||
	    (t->idempotency_key && j->key == NULL) ||
	    (t->reason && j->reason == NULL)) {
		reply_error(cb, arg, 500, "internal", "out of memory");
		def_unref(e, j->def);
		trigger_job_free(j);
		return;
	}
	*e->trig_tail = j;
	e->trig_tail = &j->next;
	event_active(e->ev_trig, EV_TIMEOUT, 0);
}

static void
request_apply(struct eng_exec *ee, enum exec_event_kind kind, const char *actor,
    const char *reason, engine_reply_cb cb, void *arg)
{
	struct engine *e = ee->eng;
	struct exec_event ev;
	struct gantry_error err;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.actor = actor;
	ev.reason = reason;
	if (apply_status(ee, &ev, &err) < 0) {
		reply_error(cb, arg, gantry_err_http_status(err.code),
		    gantry_err_name(err.code), err.msg);
		return;
	}
	{
		static const char sql[] = "INSERT INTO audit_log (actor, "
		                          "action, object, reason, data)"
		                          " VALUES ($1, $2, $3, $4, NULL)";
		char action[64], object[32];
		const char *params[4] = {actor, action, object, reason};

		snprintf(action, sizeof(action), "execution.%s",
		    exec_event_name(kind));
		snprintf(object, sizeof(object), "%" PRId64, ee->x->id);
		if (pg_query(e->d->pg, sql, 4, params, NULL, NULL) < 0)
			log_warn("audit.write_failed", "action=%s", action);
	}
	wait_commit(ee, 202, cb, arg);
}

struct revive_job {
	struct engine *e;
	int64_t id;
	enum exec_event_kind kind;
	char *actor, *reason;
	engine_reply_cb cb;
	void *arg;
};

/* A finished execution read back from the database: a rollback of a
 * succeeded one brings it back to life; anything else is a conflict. */
static void
revived(PGresult *res, const char *errmsg, void *arg)
{
	struct revive_job *j = arg;
	struct engine *e = j->e;
	struct eng_exec *ee;
	struct gantry_error err;
	json_error_t jerr;
	struct exec *x = NULL;
	struct eng_def *def;
	json_t *snap;
	char msg[600];

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		reply_error(j->cb, j->arg, 503, "unavailable",
		    errmsg ? errmsg : "database unavailable");
		goto out;
	}
	if (PQntuples(res) == 0) {
		snprintf(msg, sizeof(msg), "no execution %" PRId64, j->id);
		reply_error(j->cb, j->arg, 404, "not_found", msg);
		goto out;
	}
	if ((ee = exec_find(e, j->id)) != NULL) {
		/* It came back meanwhile (a restart resumed it). */
		request_apply(ee, j->kind, j->actor, j->reason, j->cb, j->arg);
		goto out;
	}
	snap = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
	x = snap ? exec_from_json(snap, &err) : NULL;
	json_decref(snap);
	if (x == NULL) {
		reply_error(j->cb, j->arg, 500, "internal",
		    "the stored snapshot does not load");
		goto out;
	}
	if (j->kind != EV_ROLLBACK || x->state != EXEC_SUCCEEDED) {
		snprintf(msg, sizeof(msg),
		    "execution %" PRId64 " is %s: %s is not possible", j->id,
		    exec_state_name(x->state), exec_event_name(j->kind));
		reply_error(j->cb, j->arg, 409, "conflict", msg);
		exec_free(x);
		goto out;
	}
	def = def_from_text(e, x->pipeline, x->pipeline_version,
	    PQgetvalue(res, 0, 1),
	    PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2), msg,
	    sizeof(msg));
	ee = def ? ee_new(e, x, def) : NULL;
	if (ee == NULL) {
		if (def != NULL)
			def_unref(e, def);
		exec_free(x);
		reply_error(j->cb, j->arg, 500, "internal", msg);
		goto out;
	}
	request_apply(ee, j->kind, j->actor, j->reason, j->cb, j->arg);
out:
	free(j->actor);
	free(j->reason);
	free(j);
}

void
engine_request(struct engine *e, int64_t id, enum exec_event_kind kind,
    const char *actor, const char *reason, engine_reply_cb cb, void *arg)
{
	static const char sql[] =
	    "SELECT x.snapshot::text, v.definition::text, p.source_file"
	    " FROM executions x JOIN pipeline_versions v"
	    " ON v.pipeline = x.pipeline AND v.version = x.pipeline_version"
	    " JOIN pipelines p ON p.name = x.pipeline WHERE x.id = $1";
	struct eng_exec *ee = exec_find(e, id);
	struct revive_job *j;
	char idbuf[24];
	const char *params[1] = {idbuf};

	if (ee != NULL) {
		request_apply(ee, kind, actor, reason, cb, arg);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(cb, arg, 500, "internal", "out of memory");
		return;
	}
	j->e = e;
	j->id = id;
	j->kind = kind;
	j->actor = actor ? strdup(actor) : NULL;
	j->reason = reason ? strdup(reason) : NULL;
	j->cb = cb;
	j->arg = arg;
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	if (pg_query(e->d->pg, sql, 1, params, revived, j) < 0)
		revived(NULL, "database unavailable", j);
}

/* --- safeguards: overrides, alarms, blockers ----------------------------- */

void
engine_override(struct engine *e, int64_t id, const char *blocker,
    int64_t expires, const char *actor, const char *reason, engine_reply_cb cb,
    void *arg)
{
	struct eng_exec *ee = exec_find(e, id);
	struct exec_event ev;
	struct gantry_error err;
	char msg[160];

	if (ee == NULL) {
		snprintf(msg, sizeof(msg),
		    "execution %" PRId64 " is not waiting for anything", id);
		reply_error(cb, arg, 404, "not_found", msg);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_OVERRIDE;
	ev.blocker = blocker;
	ev.expires = expires;
	ev.actor = actor;
	ev.reason = reason;
	if (apply_status(ee, &ev, &err) < 0) {
		reply_error(cb, arg, gantry_err_http_status(err.code),
		    gantry_err_name(err.code), err.msg);
		return;
	}
	{
		static const char sql[] =
		    "INSERT INTO audit_log (actor, action, object, reason, "
		    "data)"
		    " VALUES ($1, 'execution.override', $2, $3,"
		    " jsonb_build_object('blocker', $4::text, 'stage', "
		    "$5::text,"
		    " 'expires', to_timestamp($6::bigint / 1000.0)))";
		char object[32], exp[32];
		const char *params[6] = {actor, object, reason, blocker,
		    ee->x->stages[ee->x->stage].name, exp};

		snprintf(object, sizeof(object), "%" PRId64, id);
		snprintf(exp, sizeof(exp), "%" PRId64, expires);
		if (pg_query(e->d->pg, sql, 6, params, NULL, NULL) < 0)
			log_warn(
			    "audit.write_failed", "action=execution.override");
	}
	log_info("execution.override",
	    "execution=%" PRId64 " blocker=%s actor=%s", id, blocker, actor);
	e->resched = true;
	wait_commit(ee, 202, cb, arg);
}

json_t *
engine_blockers_json(struct engine *e)
{
	json_t *a = json_array();

	for (struct eng_exec *ee = e->execs; a != NULL && ee != NULL;
	     ee = ee->next) {
		const struct exec *x = ee->x;
		enum exec_state st =
		    x->state == EXEC_PAUSED ? x->paused_from : x->state;

		if (st != EXEC_BLOCKED || x->stage >= x->nstages)
			continue;
		for (size_t i = 0; i < x->nblockers; i++) {
			const struct exec_blocker *b = &x->blockers[i];
			char id[200];

			snprintf(id, sizeof(id), "%" PRId64 ":%s", x->id,
			    b->id ? b->id : b->kind);
			json_array_append_new(a,
			    json_pack(
			        "{s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:b}",
			        "id", id, "execution", (json_int_t)x->id,
			        "pipeline", x->pipeline, "stage",
			        x->stages[x->stage].name, "kind", b->kind,
			        "reason", b->reason ? b->reason : "", "until",
			        b->until ? json_integer((json_int_t)b->until)
			                 : json_null(),
			        "overridable", b->id != NULL));
		}
	}
	return a;
}

void
engine_reschedule(struct engine *e)
{
	sched_soon(e);
}

/* Has x deployed a stage that alarm guards (in flight or succeeded)? */
static bool
guards_deployed(const struct eng_exec *ee, const char *alarm)
{
	const struct exec *x = ee->x;

	if (x->state != EXEC_RUNNING && x->state != EXEC_BLOCKED &&
	    x->state != EXEC_PAUSED)
		return false;
	for (size_t si = 0; si < x->nstages; si++) {
		const struct stage *st = &ee->def->stages[si];
		enum stage_state ss = x->stages[si].state;
		bool listed = false;

		if (st->type != STAGE_DEPLOY)
			continue;
		for (size_t k = 0; k < st->nalarms && !listed; k++)
			listed = strcmp(st->alarms[k], alarm) == 0;
		if (listed &&
		    (ss == SST_SUCCEEDED ||
		        (si == x->stage && x->stage_started &&
		            (ss == SST_DEPLOYING || ss == SST_BAKING ||
		                ss == SST_TESTING))))
			return true;
	}
	return false;
}

void
engine_alarm_changed(struct engine *e, const struct alarm_view *v)
{
	if (v->state == ALARM_ALARM)
		for (struct eng_exec *ee = e->execs; ee != NULL;
		     ee = ee->next) {
			if (v->scope[0] != '\0'
			        ? strcmp(ee->x->pipeline, v->scope) != 0
			        : pipeline_alarm_find(ee->def->p, v->name) !=
			            NULL)
				continue; /* not this alarm for it */
			if (guards_deployed(ee, v->name))
				fire_alarm(ee, v->name, v->reason, v->detail,
				    v->observed);
		}
	sched_soon(e);
}

void
engine_alarm_fired_at(struct engine *e, int64_t id, const struct alarm_view *v)
{
	struct eng_exec *ee = exec_find(e, id);

	if (ee != NULL && guards_deployed(ee, v->name))
		fire_alarm(ee, v->name, v->reason, v->detail, v->observed);
}

void
engine_onebox_bakes(struct engine *e, const char *pipeline, const char *alarm,
    engine_onebox_cb cb, void *arg)
{
	for (struct eng_exec *ee = e->execs; ee != NULL; ee = ee->next) {
		const struct exec *x = ee->x;
		const struct stage *st;
		const struct exec_stage *s;
		const char **fleet;
		bool listed = false;

		if (strcmp(x->pipeline, pipeline) != 0 ||
		    (x->state != EXEC_RUNNING && x->state != EXEC_PAUSED) ||
		    !x->stage_started || x->stage >= x->nstages)
			continue;
		st = &ee->def->stages[x->stage];
		s = &x->stages[x->stage];
		if (st->type != STAGE_DEPLOY || !st->one_box ||
		    s->one_box_done || s->state != SST_BAKING ||
		    s->ntargets < 1)
			continue;
		for (size_t k = 0; k < st->nalarms && !listed; k++)
			listed = strcmp(st->alarms[k], alarm) == 0;
		if (!listed)
			continue;
		fleet = calloc(s->ntargets, sizeof(*fleet));
		if (fleet == NULL)
			continue;
		for (size_t i = 1; i < s->ntargets; i++)
			fleet[i - 1] = s->targets[i].name;
		cb(x->id, s->name, s->targets[0].name, fleet, s->ntargets - 1,
		    arg);
		free(fleet);
	}
}

struct hookrun *
engine_hookrun(struct engine *e)
{
	return e->hr;
}

char *
engine_tree_text(struct engine *e, int64_t id, size_t *len)
{
	struct eng_exec *ee = exec_find(e, id);
	char *copy;

	if (ee == NULL)
		return NULL;
	if (ee->tree_text == NULL) {
		struct buf b = {0};

		exec_write(&b, ee->x);
		ee->tree_text = buf_take(&b, &ee->tree_len);
		if (ee->tree_text == NULL)
			return NULL;
	}
	copy = malloc(ee->tree_len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, ee->tree_text, ee->tree_len + 1);
	*len = ee->tree_len;
	return copy;
}

json_t *
engine_tree(struct engine *e, int64_t id)
{
	struct eng_exec *ee = exec_find(e, id);

	return ee ? exec_to_json(ee->x) : NULL;
}

unsigned
engine_live(const struct engine *e)
{
	unsigned n = 0;

	for (struct eng_exec *ee = e->execs; ee != NULL; ee = ee->next)
		n++;
	return n;
}

unsigned
engine_stuck(const struct engine *e)
{
	return e->stuck;
}

unsigned
engine_hooks_running(const struct engine *e)
{
	return hookrun_running(e->hr);
}

uint64_t
engine_transitions(const struct engine *e)
{
	return e->transitions;
}

uint64_t
engine_batches(const struct engine *e)
{
	return e->batches;
}

/* --- lifetime --------------------------------------------------------------- */

/* Read a small file (keys) into a new NUL-terminated buffer. */
static char *
read_small(const char *path, size_t *len, char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (f == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = calloc(1, 65537);
	*len = buf ? fread(buf, 1, 65536, f) : 0;
	fclose(f);
	if (buf == NULL)
		snprintf(why, whylen, "out of memory");
	return buf;
}

struct engine *
engine_new(struct gantryd *d)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct timeval tv = {ENGINE_STUCK_CHECK_S, 0};
	char path[PATH_MAX];

	if (e == NULL)
		return NULL;
	e->d = d;
	e->state_dir = strdup(d->cfg->state_dir);
	e->hr =
	    hookrun_new(d->base, (unsigned)d->cfg->max_hooks, ENGINE_CAPTURE);
	e->ev_flush = event_new(d->base, -1, 0, flush, e);
	e->ev_trig = event_new(d->base, -1, 0, trigger_flush, e);
	pga_init(&e->start_i, PGA_INT4);
	pga_init(&e->start_pipeline, PGA_TEXT);
	pga_init(&e->start_target, PGA_TEXT);
	e->trig_tail = &e->trig_head;
	e->ev_sched = event_new(d->base, -1, 0, sched, e);
	e->pend_runs = json_array();
	e->pend_out_tail = &e->pend_out;
	e->ev_wake = evtimer_new(d->base, wake_cb, e);
	e->ev_leftover = evtimer_new(d->base, leftovers_poll, e);
	e->ev_stuck = event_new(d->base, -1, EV_PERSIST, stuck_check, e);
	if (e->state_dir == NULL || e->hr == NULL || e->ev_flush == NULL ||
	    e->ev_trig == NULL || e->ev_sched == NULL || e->ev_wake == NULL ||
	    e->ev_stuck == NULL || e->ev_leftover == NULL) {
		engine_free(e);
		return NULL;
	}
	event_add(e->ev_stuck, &tv);
	if (d->cfg->signing_key != NULL) {
		struct gantry_error err;
		char why[512];
		size_t len = 0;
		char *pem =
		    read_small(d->cfg->signing_key, &len, why, sizeof(why));

		e->key = pem ? sign_key_load(pem, len, 1, &err) : NULL;
		free(pem);
		if (e->key == NULL) {
			log_err("engine.signing_key", "file=%s error=\"%s\"",
			    d->cfg->signing_key, pem ? err.msg : why);
			engine_free(e);
			return NULL;
		}
	}
	snprintf(path, sizeof(path), "%s/artifacts", e->state_dir);
	(void)mkdir(e->state_dir, 0750);
	(void)mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/builds", e->state_dir);
	(void)mkdir(path, 0750);
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	/* Triggers never sent: their requests went with the HTTP server. */
	while (e->trig_head != NULL) {
		struct trigger_job *j = e->trig_head;

		e->trig_head = j->next;
		def_unref(e, j->def);
		trigger_job_free(j);
	}
	while (e->execs != NULL)
		ee_free(e->execs);
	hookrun_free(e->hr);
	if (e->ev_flush)
		event_free(e->ev_flush);
	if (e->ev_trig)
		event_free(e->ev_trig);
	pga_free(&e->start_i);
	pga_free(&e->start_pipeline);
	pga_free(&e->start_target);
	free(e->start_ids);
	if (e->ev_sched)
		event_free(e->ev_sched);
	if (e->ev_wake)
		event_free(e->ev_wake);
	if (e->ev_leftover)
		event_free(e->ev_leftover);
	if (e->ev_stuck)
		event_free(e->ev_stuck);
	while (e->defs != NULL) {
		e->defs->refs = 1;
		def_unref(e, e->defs);
	}
	while (e->watches != NULL)
		engine_unwatch(e, e->watches);
	sign_key_free(e->key);
	json_decref(e->pend_runs);
	outputs_free(e->pend_out);
	buf_free(&e->scratch);
	free(e->state_dir);
	free(e);
}
