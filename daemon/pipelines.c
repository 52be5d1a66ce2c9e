/*
 * pipelines.c - the pipeline registry (pipelines.h).
 *
 * Each pipeline name has one entry: the current good definition (what new
 * executions run) with its stored version, the errors of its last
 * rejected load, and at most one definition waiting to be stored.  A
 * definition becomes current only after gantry_store_pipeline_version()
 * (sql/002) committed it, so every execution can name a stored version.
 */
#include "pipelines.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "alarms.h"
#include "gantryd.h"
#include "log.h"
#include "pg.h"

struct pipeline_entry {
	char *name;
	char *file; /* source file, NULL when defined over the API */
	int version; /* stored version of p, 0 until stored */
	char sha256[65];
	struct pipeline *p; /* current good definition, NULL if none yet */
	json_t *doc;
	json_t *errors; /* list of strings from the last rejected load */
	bool in_dir; /* seen in the last directory load */
	struct pipeline_compiled pending; /* waiting for the database */
	bool has_pending;
	unsigned long sent_seq, applied_seq;
};

struct pipelines {
	struct gantryd *d;
	struct pipeline_entry *entries;
	size_t n;
	struct pipeline_compiled *set; /* last directory load */
	size_t nset;
	json_t *file_errors; /* files whose pipeline name is unknown */
	unsigned long seq;
};

struct store_job {
	struct pipelines *ps;
	char *name;
	struct pipeline_compiled c;
	unsigned long seq;
	pipelines_store_cb cb;
	void *arg;
};

struct pipelines *
pipelines_new(struct gantryd *d)
{
	struct pipelines *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	ps->d = d;
	ps->file_errors = json_array();
	return ps;
}

static void
entry_clear(struct pipeline_entry *e)
{
	free(e->name);
	free(e->file);
	pipeline_free(e->p);
	json_decref(e->doc);
	json_decref(e->errors);
	pipeline_compiled_clear(&e->pending, 1);
}

void
pipelines_free(struct pipelines *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->n; i++)
		entry_clear(&ps->entries[i]);
	free(ps->entries);
	pipeline_set_free(ps->set, ps->nset);
	json_decref(ps->file_errors);
	free(ps);
}

static struct pipeline_entry *
entry_find(const struct pipelines *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->entries[i].name, name) == 0)
			return &ps->entries[i];
	return NULL;
}

static struct pipeline_entry *
entry_get(struct pipelines *ps, const char *name)
{
	struct pipeline_entry *e = entry_find(ps, name), *grown;

	if (e != NULL)
		return e;
	grown = realloc(ps->entries, (ps->n + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	ps->entries = grown;
	e = &ps->entries[ps->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	if (e->name == NULL)
		return NULL;
	ps->n++;
	return e;
}

/* Move a compiled definition out of src into dst (src left cleared). */
static void
compiled_move(struct pipeline_compiled *dst, struct pipeline_compiled *src)
{
	pipeline_compiled_clear(dst, 1);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

static json_t *
diag_json(const struct diag *dg)
{
	json_t *list = json_array();

	for (size_t i = 0; i < dg->n; i++)
		json_array_append_new(list, json_string(dg->msgs[i]));
	if (dg->dropped > 0) {
		char more[64];

		snprintf(more, sizeof(more), "... and %zu more", dg->dropped);
		json_array_append_new(list, json_string(more));
	}
	return list;
}

/* --- storing ------------------------------------------------------------- */

static void
store_done(PGresult *res, const char *errmsg, void *arg)
{
	struct store_job *job = arg;
	struct pipelines *ps = job->ps;
	struct pipeline_entry *e = entry_find(ps, job->name);
	char q[600];
	int version = 0;
	bool created = false;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		const char *why = errmsg ? errmsg : "no result";

		log_warn("pipeline.store_failed", "pipeline=%s error=%s",
		    job->name, log_quote(why, q, sizeof(q)));
		/* A lost connection retries from pending after reconnect;
		 * a refused definition is an error of the pipeline. */
		if (e != NULL && res == NULL && job->c.path != NULL &&
		    e->file != NULL && !e->has_pending) {
			compiled_move(&e->pending, &job->c);
			e->has_pending = true;
		} else if (e != NULL && res != NULL) {
			json_decref(e->errors);
			e->errors = json_pack("[s]", why);
		}
		if (job->cb != NULL)
			job->cb(0, false, why, job->arg);
		goto out;
	}
	version = atoi(PQgetvalue(res, 0, 0));
	created = PQgetvalue(res, 0, 1)[0] == 't';
	if (e != NULL && job->seq > e->applied_seq) {
		e->applied_seq = job->seq;
		pipeline_free(e->p);
		json_decref(e->doc);
		e->p = job->c.p;
		e->doc = job->c.doc;
		job->c.p = NULL;
		job->c.doc = NULL;
		snprintf(e->sha256, sizeof(e->sha256), "%s", job->c.sha256);
		e->version = version;
		json_decref(e->errors);
		e->errors = NULL;
	}
	log_info("pipeline.current",
	    "pipeline=%s version=%d new=%s sha256=%.12s", job->name, version,
	    created ? "yes" : "no", job->c.sha256);
	if (ps->d->alarms != NULL)
		alarms_sync_soon(ps->d->alarms);
	if (job->cb != NULL)
		job->cb(version, created, NULL, job->arg);
out:
	pipeline_compiled_clear(&job->c, 1);
	free(job->name);
	free(job);
}

static void
store_send(struct pipelines *ps, const char *name, const char *file,
    struct pipeline_compiled *c, const char *actor, pipelines_store_cb cb,
    void *arg)
{
	static const char sql[] =
	    "SELECT version, created FROM gantry_store_pipeline_version("
	    "$1, $2, $3, $4::jsonb, $5)";
	struct pipeline_entry *e = entry_find(ps, name);
	struct store_job *job = calloc(1, sizeof(*job));
	const char *params[5];

	if (job == NULL || (job->name = strdup(name)) == NULL) {
		free(job);
		pipeline_compiled_clear(c, 1);
		if (cb != NULL)
			cb(0, false, "out of memory", arg);
		return;
	}
	job->ps = ps;
	job->cb = cb;
	job->arg = arg;
	job->seq = ++ps->seq;
	if (e != NULL)
		e->sent_seq = job->seq;
	compiled_move(&job->c, c);
	params[0] = name;
	params[1] = file;
	params[2] = job->c.sha256;
	params[3] = job->c.canonical;
	params[4] = actor;
	if (!ps->d->schema_current ||
	    pg_query(ps->d->pg, sql, 5, params, store_done, job) < 0)
		store_done(NULL, "database unavailable", job);
}

void
pipelines_store(struct pipelines *ps, struct pipeline_compiled *c,
    const char *actor, pipelines_store_cb cb, void *arg)
{
	struct pipeline_entry *e = entry_get(ps, c->name);

	if (e == NULL) {
		pipeline_compiled_clear(c, 1);
		cb(0, false, "out of memory", arg);
		return;
	}
	free(e->file);
	e->file = NULL;
	store_send(ps, e->name, NULL, c, actor, cb, arg);
}

void
pipelines_sync(struct pipelines *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->n; i++) {
		struct pipeline_entry *e = &ps->entries[i];
		char actor[300];

		if (!e->has_pending)
			continue;
		e->has_pending = false;
		snprintf(
		    actor, sizeof(actor), "file:%s", e->file ? e->file : "?");
		store_send(
		    ps, e->name, e->file, &e->pending, actor, NULL, NULL);
	}
}

static void
record_error(
    struct pipelines *ps, const char *name, const char *file, const char *error)
{
	static const char sql[] =
	    "SELECT gantry_record_pipeline_error($1, $2, $3)";
	const char *params[3] = {name, file, error};

	if (ps->d->schema_current)
		if (pg_query(ps->d->pg, sql, 3, params, NULL, NULL) < 0)
			log_debug(
			    "pipeline.error_not_recorded", "pipeline=%s", name);
}

/* --- loading the directory -------------------------------------------- */

static int io_read(void *ctx, const char *file, const char *relpath,
    char **text, size_t *len, char *why, size_t whylen);

const struct pipeline_io pipelines_io = {io_read, NULL};

static int
io_read(void *ctx, const char *file, const char *relpath, char **text,
    size_t *len, char *why, size_t whylen)
{
	char path[4096];
	const char *slash = strrchr(file, '/');
	FILE *f;
	char *buf;
	size_t n;

	if (relpath[0] == '/' || slash == NULL)
		snprintf(path, sizeof(path), "%s", relpath);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - file),
		    file, relpath);
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(PIPELINE_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	n = fread(buf, 1, PIPELINE_FILE_MAX + 1, f);
	fclose(f);
	if (n > PIPELINE_FILE_MAX) {
		free(buf);
		snprintf(why, whylen, "%s: larger than %d bytes", path,
		    PIPELINE_FILE_MAX);
		return -1;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every candidate file of dir, sorted by name.  -1 with why. */
static int
read_dir(const char *dir, struct pipeline_file **out, size_t *nout, char *why,
    size_t whylen)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	struct pipeline_file *files;

	*out = NULL;
	*nout = 0;
	if (dh == NULL) {
		snprintf(why, whylen, "cannot open pipelines_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(dh)) != NULL) {
		char **grown;

		if (!pipeline_file_is_candidate(de->d_name))
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (grown == NULL)
			break;
		names = grown;
		if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0)
			break;
		n++;
	}
	closedir(dh);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	files = calloc(n ? n : 1, sizeof(*files));
	for (size_t i = 0; files != NULL && i < n; i++) {
		char *text = NULL;
		size_t len = 0;
		char err[300];

		files[i].path = names[i];
		if (io_read(NULL, "", names[i], &text, &len, err, sizeof(err)) <
		    0) {
			/* An unreadable file compiles as an empty document
			 * and reports why. */
			text = NULL;
			log_warn("pipeline.read_failed", "file=%s error=\"%s\"",
			    names[i], err);
		}
		files[i].text = text ? text : strdup("");
		files[i].len = len;
	}
	free(names);
	*out = files;
	*nout = n;
	return files ? 0 : -1;
}

static void
files_free(struct pipeline_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)files[i].path);
		free((char *)files[i].text);
	}
	free(files);
}

json_t *
pipelines_load_dir(struct pipelines *ps)
{
	const char *dir = ps->d->cfg->pipelines_dir;
	struct pipeline_io io = {io_read, NULL};
	struct pipeline_file *files = NULL;
	struct pipeline_compiled *set = NULL;
	size_t n = 0, valid = 0, invalid = 0;
	json_t *errors = json_array();
	char why[512];
	int rc;

	if (read_dir(dir, &files, &n, why, sizeof(why)) < 0) {
		log_err("pipelines.load_failed", "error=\"%s\"", why);
		json_array_append_new(errors, json_string(why));
		return json_pack("{s:i, s:i, s:i, s:o}", "files", 0, "valid", 0,
		    "invalid", 0, "errors", errors);
	}
	rc = pipeline_compile_files(files, n, &ps->d->cfg->floors, &io, &set);
	if (rc < 0) {
		files_free(files, n);
		json_array_append_new(errors, json_string("out of memory"));
		return json_pack("{s:i, s:i, s:i, s:o}", "files", (int)n,
		    "valid", 0, "invalid", 0, "errors", errors);
	}
	json_array_clear(ps->file_errors);
	for (size_t i = 0; i < ps->n; i++)
		ps->entries[i].in_dir = false;
	for (size_t i = 0; i < n; i++) {
		struct pipeline_compiled *c = &set[i];
		struct pipeline_entry *e;
		char q[1100];

		for (size_t k = 0; k < c->diag.n; k++) {
			log_warn("pipeline.invalid", "error=%s",
			    log_quote(c->diag.msgs[k], q, sizeof(q)));
			json_array_append_new(
			    errors, json_string(c->diag.msgs[k]));
		}
		if (c->is_template) {
			if (c->diag.n > 0)
				invalid++;
			continue;
		}
		if (c->name == NULL) {
			json_array_append_new(ps->file_errors,
			    json_pack("{s:s, s:o}", "file", c->path, "errors",
			        diag_json(&c->diag)));
			invalid++;
			continue;
		}
		e = entry_get(ps, c->name);
		if (e == NULL)
			continue;
		e->in_dir = true;
		free(e->file);
		e->file = strdup(c->path);
		if (c->p == NULL || c->diag.n > 0) {
			json_decref(e->errors);
			e->errors = diag_json(&c->diag);
			record_error(ps, e->name, c->path,
			    c->diag.n ? c->diag.msgs[0] : "invalid");
			invalid++;
			continue;
		}
		valid++;
		json_decref(e->errors);
		e->errors = NULL;
		if (e->version > 0 && strcmp(e->sha256, c->sha256) == 0 &&
		    !e->has_pending)
			continue; /* unchanged: no new version */
		snprintf(why, sizeof(why), "file:%s", c->path);
		e->has_pending = false;
		store_send(ps, e->name, c->path, c, why, NULL, NULL);
	}
	for (size_t i = 0; i < ps->n; i++) {
		struct pipeline_entry *e = &ps->entries[i];

		if (!e->in_dir && e->file != NULL && e->errors == NULL)
			e->errors = json_pack("[s]",
			    "source file is gone; the last good version is "
			    "kept");
	}
	pipeline_set_free(ps->set, ps->nset);
	ps->set = set;
	ps->nset = n;
	files_free(files, n);
	log_info("pipelines.loaded", "dir=%s files=%zu valid=%zu invalid=%zu",
	    dir, n, valid, invalid);
	return json_pack("{s:i, s:i, s:i, s:o}", "files", (int)n, "valid",
	    (int)valid, "invalid", (int)invalid, "errors", errors);
}

/* --- queries --------------------------------------------------------------- */

static json_t *
entry_json(const struct pipeline_entry *e, bool with_definition)
{
	json_t *j =
	    json_pack("{s:s, s:b}", "name", e->name, "valid", e->p != NULL);

	if (e->p != NULL) {
		json_object_set_new(j, "service", json_string(e->p->service));
		json_object_set_new(j, "source",
		    json_string(pipeline_source_name(e->p->source)));
	}
	json_object_set_new(j, "current_version",
	    e->version > 0 ? json_integer(e->version) : json_null());
	json_object_set_new(
	    j, "sha256", e->version > 0 ? json_string(e->sha256) : json_null());
	json_object_set_new(
	    j, "source_file", e->file ? json_string(e->file) : json_null());
	json_object_set_new(
	    j, "errors", e->errors ? json_incref(e->errors) : json_array());
	json_object_set_new(j, "pending", json_boolean(e->has_pending));
	if (with_definition)
		json_object_set_new(j, "definition",
		    e->doc ? json_incref(e->doc) : json_null());
	return j;
}

json_t *
pipelines_list_json(const struct pipelines *ps)
{
	json_t *list = json_array();

	for (size_t i = 0; i < ps->n; i++)
		json_array_append_new(list, entry_json(&ps->entries[i], false));
	return json_pack(
	    "{s:o, s:O}", "pipelines", list, "file_errors", ps->file_errors);
}

json_t *
pipelines_get_json(const struct pipelines *ps, const char *name)
{
	const struct pipeline_entry *e = entry_find(ps, name);

	return e ? entry_json(e, true) : NULL;
}

const char *
pipelines_name_at(const struct pipelines *ps, size_t i)
{
	return i < ps->n ? ps->entries[i].name : NULL;
}

const struct pipeline *
pipelines_current(const struct pipelines *ps, const char *name, int *version)
{
	const struct pipeline_entry *e = entry_find(ps, name);

	if (e == NULL || e->p == NULL)
		return NULL;
	if (version != NULL)
		*version = e->version;
	return e->p;
}

const char *
pipelines_file_of(const struct pipelines *ps, const char *name)
{
	const struct pipeline_entry *e = entry_find(ps, name);

	return e && e->in_dir ? e->file : NULL;
}

const struct pipeline_compiled *
pipelines_dir_set(const struct pipelines *ps, size_t *n)
{
	*n = ps->nset;
	return ps->set;
}
