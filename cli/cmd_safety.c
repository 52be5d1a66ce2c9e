/*
 * cmd_safety.c - gantryctl's commands for the safeguards (cmd_safety.h):
 * what is blocked and why, alarms and their states, overriding one
 * blocker, putting and lifting holds.  The operands and options are
 * checked here before anything is sent, so a typo at 3 a.m. is a usage
 * error (exit 2), not a request; the answers are shown through a view
 * (text tables from exec_render.c, or the server's JSON as received).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "cmd_run.h"
#include "cmd_safety.h"
#include "duration.h"
#include "exec_render.h"

/* How the answers are shown; raw is the body as received. */
struct safety_view {
	int (*alarms)(
	    struct run *r, const json_t *doc, const char *raw, size_t len);
	int (*blockers)(
	    struct run *r, const json_t *doc, const char *raw, size_t len);
	/* The execution tree after an override of blocker (EXEC:BLOCKER). */
	int (*override)(struct run *r, const char *blocker, const json_t *tree,
	    const char *raw, size_t len);
	/* The hold put (hold) or lifted (unhold). */
	int (*hold)(
	    struct run *r, const json_t *hold, const char *raw, size_t len);
	/* {"updated": [{scope, alarm, state}], "ignored": [...]} */
	int (*alarm_state)(
	    struct run *r, const json_t *doc, const char *raw, size_t len);
};

/* --- text view -------------------------------------------------------------- */

static const char *
str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* Render with fn at the terminal's width, print, free. */
static int
text_table(struct run *r, const json_t *doc,
    int (*fn)(const json_t *, int64_t, int, struct exec_lines *))
{
	struct exec_lines l = {0};
	int rc = fn(doc, run_now_ms(), run_term_width(), &l);

	run_print_lines(r->out, &l);
	exec_lines_clear(&l);
	return rc;
}

static int
text_alarms(struct run *r, const json_t *doc, const char *raw, size_t len)
{
	(void)raw;
	(void)len;
	return text_table(r, doc, exec_render_alarms);
}

static int
text_blockers(struct run *r, const json_t *doc, const char *raw, size_t len)
{
	(void)raw;
	(void)len;
	return text_table(r, doc, exec_render_blockers);
}

/* "execution 42: alarm:site-down overridden by token:oncall, expires in
 * 10m00s unless used; state blocked" */
static int
text_override(struct run *r, const char *blocker, const json_t *tree,
    const char *raw, size_t len)
{
	const char *colon = strchr(blocker, ':');
	const char *what = colon != NULL ? colon + 1 : blocker;
	const json_t *o, *mine = NULL;
	size_t i;
	char d[32];

	(void)raw;
	(void)len;
	/* The newest override of that blocker is the one just made. */
	json_array_foreach(json_object_get(tree, "overrides"), i, o)
	{
		const char *b =
		    json_string_value(json_object_get(o, "blocker"));

		if (b != NULL && strcmp(b, what) == 0)
			mine = o;
	}
	fprintf(r->out, "execution %" JSON_INTEGER_FORMAT ": ",
	    json_integer_value(json_object_get(tree, "id")));
	run_put_clean(r->out, what);
	fputs(" overridden", r->out);
	if (mine != NULL) {
		json_int_t exp =
		    json_integer_value(json_object_get(mine, "expires"));

		fputs(" by ", r->out);
		run_put_clean(r->out, str_or(mine, "actor", "?"));
		if (json_is_true(json_object_get(mine, "used")))
			fputs(", used", r->out);
		else
			fprintf(r->out, ", expires in %s unless used",
			    exec_render_duration(
			        (int64_t)exp - run_now_ms(), d, sizeof(d)));
	}
	fprintf(r->out, "; state %s\n", str_or(tree, "state", "?"));
	return 0;
}

/* "hold 3 put on service shop (gantryctl unhold 3 lifts it)", or
 * "hold 3 on service shop lifted". */
static int
text_hold(struct run *r, const json_t *hold, const char *raw, size_t len)
{
	json_int_t id = json_integer_value(json_object_get(hold, "id"));
	const char *name = str_or(hold, "name", NULL);
	bool put = strcmp(r->cmd, "hold") == 0;

	(void)raw;
	(void)len;
	fprintf(r->out, "hold %" JSON_INTEGER_FORMAT " %s", id,
	    put ? "put on " : "on ");
	run_put_clean(r->out, str_or(hold, "scope", "?"));
	if (name != NULL) {
		fputc(' ', r->out);
		run_put_clean(r->out, name);
	}
	if (put)
		fprintf(r->out,
		    " (gantryctl unhold %" JSON_INTEGER_FORMAT " lifts it)\n",
		    id);
	else
		fputs(" lifted\n", r->out);
	return 0;
}

static int
text_alarm_state(struct run *r, const json_t *doc, const char *raw, size_t len)
{
	const json_t *u;
	size_t i;

	(void)raw;
	(void)len;
	json_array_foreach(json_object_get(doc, "updated"), i, u)
	{
		const char *scope = str_or(u, "scope", "");

		fputs("alarm ", r->out);
		if (*scope != '\0') {
			run_put_clean(r->out, scope);
			fputc(':', r->out);
		}
		run_put_clean(r->out, str_or(u, "alarm", "?"));
		fputs(" is ", r->out);
		run_put_clean(r->out, str_or(u, "state", "?"));
		fputc('\n', r->out);
	}
	return 0;
}

static const struct safety_view view_text = {
    .alarms = text_alarms,
    .blockers = text_blockers,
    .override = text_override,
    .hold = text_hold,
    .alarm_state = text_alarm_state,
};

/* --- json view: the server's JSON as received ------------------------------ */

static int
json_doc(struct run *r, const json_t *doc, const char *raw, size_t len)
{
	(void)doc;
	run_put_raw(r->out, raw, len);
	return 0;
}

static int
json_override(struct run *r, const char *blocker, const json_t *tree,
    const char *raw, size_t len)
{
	(void)blocker;
	return json_doc(r, tree, raw, len);
}

static const struct safety_view view_json = {
    .alarms = json_doc,
    .blockers = json_doc,
    .override = json_override,
    .hold = json_doc,
    .alarm_state = json_doc,
};

static const struct safety_view *
view_of(const struct run *r)
{
	return r->o->json ? &view_json : &view_text;
}

/* --- the commands ------------------------------------------------------------- */

/* A number of at most 19 digits (it goes into a path). */
static bool
all_digits(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 19 && s[n] == '\0';
}

static bool
has_reason(const struct run *r)
{
	return r->o->reason != NULL && r->o->reason[0] != '\0';
}

/* GET path and show the answer with show. */
static int
get_and_show(struct run *r, const char *path,
    int (*show)(struct run *, const json_t *, const char *, size_t))
{
	json_t *doc = NULL;
	char *raw = NULL;
	size_t len;
	long status;
	int rc;

	rc = run_request(r, "GET", path, NULL, &status, &doc, &raw, &len);
	if (rc == EXIT_OK && show(r, doc, raw, len) < 0)
		rc = EXIT_FAIL;
	json_decref(doc);
	free(raw);
	return rc;
}

int
cmd_safety_alarms(struct run *r, int nargs, char *const *args)
{
	(void)args;
	if (nargs != 0)
		return run_usage_error(r, "takes no operands");
	return get_and_show(r, "/v1/alarms", view_of(r)->alarms);
}

int
cmd_safety_blockers(struct run *r, int nargs, char *const *args)
{
	(void)args;
	if (nargs != 0)
		return run_usage_error(r, "takes no operands");
	return get_and_show(r, "/v1/blockers", view_of(r)->blockers);
}

/* body = {"reason": --reason} when given, else {}; NULL when out of
 * memory or the reason is not UTF-8 (after a message). */
static json_t *
reason_body(struct run *r)
{
	json_t *body = r->o->reason != NULL
	    ? json_pack("{s:s}", "reason", r->o->reason)
	    : json_object();

	if (body == NULL)
		fprintf(r->err,
		    "gantryctl: out of memory, or the reason is not "
		    "UTF-8\n");
	return body;
}

int
cmd_safety_override(struct run *r, int nargs, char *const *args)
{
	struct gantry_error gerr = {0};
	json_t *body = NULL, *doc = NULL, *exp = NULL;
	char *id = NULL, *path = NULL, *raw = NULL;
	const char *colon;
	size_t len;
	long status;
	int64_t ms;
	int rc = EXIT_USAGE;

	if (nargs != 1)
		return run_usage_error(r,
		    "give one blocker ID, as gantryctl blockers lists it "
		    "(e.g. 42:alarm:errors)");
	colon = strchr(args[0], ':');
	if (colon == NULL || colon == args[0] || colon[1] == '\0' ||
	    strspn(args[0], "0123456789") != (size_t)(colon - args[0]))
		return run_usage_error(r,
		    "\"%s\" is not a blocker ID: EXECUTION:BLOCKER, as "
		    "gantryctl blockers lists it (e.g. 42:alarm:errors)",
		    args[0]);
	if (!has_reason(r))
		return run_usage_error(
		    r, "--reason is required: it goes to the audit log");
	if (r->o->expires_in != NULL) {
		const char *e = r->o->expires_in;

		if (all_digits(e) && strlen(e) <= 12)
			exp = json_integer(strtoll(e, NULL, 10));
		else if (duration_parse(e, &ms, &gerr) == 0 && ms > 0)
			exp = json_string(e);
		else
			return run_usage_error(r,
			    "--expires-in: \"%s\" is not a duration such as "
			    "30m or 1h, or seconds",
			    e);
	}
	body = reason_body(r);
	id = client_escape(args[0]);
	if (body == NULL || id == NULL ||
	    (exp != NULL && json_object_set(body, "expires_in", exp) < 0) ||
	    asprintf(&path, "/v1/blockers/%s/override", id) < 0) {
		path = NULL;
		goto out;
	}
	rc = run_request(r, "POST", path, body, &status, &doc, &raw, &len);
	if (rc == EXIT_OK &&
	    view_of(r)->override(r, args[0], doc, raw, len) < 0)
		rc = EXIT_FAIL;
out:
	json_decref(exp);
	json_decref(body);
	json_decref(doc);
	free(id);
	free(path);
	free(raw);
	return rc;
}

int
cmd_safety_hold(struct run *r, int nargs, char *const *args)
{
	json_t *body = NULL, *doc = NULL;
	char *raw = NULL;
	size_t len;
	long status;
	int rc;

	if (nargs < 1 ||
	    (strcmp(args[0], "all") != 0 && strcmp(args[0], "service") != 0 &&
	        strcmp(args[0], "pipeline") != 0))
		return run_usage_error(
		    r, "give what to hold: all, service NAME or pipeline NAME");
	if (strcmp(args[0], "all") == 0 ? nargs != 1 : nargs != 2)
		return run_usage_error(r, "%s",
		    strcmp(args[0], "all") == 0
		        ? "hold all takes no NAME"
		        : "give one NAME: hold service NAME or hold pipeline "
		          "NAME");
	if (!has_reason(r))
		return run_usage_error(
		    r, "--reason is required: it goes to the audit log");
	body = nargs == 2
	    ? json_pack("{s:s, s:s, s:s}", "scope", args[0], "name", args[1],
	          "reason", r->o->reason)
	    : json_pack("{s:s, s:s}", "scope", args[0], "reason", r->o->reason);
	if (body == NULL) {
		fprintf(r->err,
		    "gantryctl: out of memory, or a value is not UTF-8\n");
		return EXIT_USAGE;
	}
	rc = run_request(
	    r, "POST", "/v1/holds", body, &status, &doc, &raw, &len);
	if (rc == EXIT_OK && view_of(r)->hold(r, doc, raw, len) < 0)
		rc = EXIT_FAIL;
	json_decref(body);
	json_decref(doc);
	free(raw);
	return rc;
}

int
cmd_safety_unhold(struct run *r, int nargs, char *const *args)
{
	json_t *body, *doc = NULL;
	char *path = NULL, *raw = NULL;
	size_t len;
	long status;
	int rc;

	if (nargs != 1 || !all_digits(args[0]))
		return run_usage_error(r,
		    "give one hold ID (a number, as gantryctl blockers "
		    "lists it)");
	body = reason_body(r);
	if (body == NULL)
		return EXIT_USAGE;
	if (asprintf(&path, "/v1/holds/%s", args[0]) < 0) {
		json_decref(body);
		return EXIT_FAIL;
	}
	rc = run_request(r, "DELETE", path, body, &status, &doc, &raw, &len);
	if (rc == EXIT_OK && view_of(r)->hold(r, doc, raw, len) < 0)
		rc = EXIT_FAIL;
	json_decref(body);
	json_decref(doc);
	free(path);
	free(raw);
	return rc;
}

int
cmd_safety_alarm_state(struct run *r, int nargs, char *const *args)
{
	json_t *body = NULL, *doc = NULL;
	char *name = NULL, *path = NULL, *raw = NULL;
	size_t len;
	long status;
	int rc = EXIT_USAGE;

	if (nargs != 2)
		return run_usage_error(
		    r, "give an alarm NAME (or PIPELINE:NAME) and a STATE");
	if (strcmp(args[1], "ok") != 0 && strcmp(args[1], "alarm") != 0 &&
	    strcmp(args[1], "insufficient_data") != 0)
		return run_usage_error(r,
		    "STATE must be ok, alarm or insufficient_data, not "
		    "\"%s\"",
		    args[1]);
	body = reason_body(r);
	name = client_escape(args[0]);
	if (body == NULL || name == NULL ||
	    json_object_set_new(body, "state", json_string(args[1])) < 0 ||
	    asprintf(&path, "/v1/alarms/%s/state", name) < 0) {
		path = NULL;
		goto out;
	}
	rc = run_request(r, "PUT", path, body, &status, &doc, &raw, &len);
	if (rc == EXIT_OK && view_of(r)->alarm_state(r, doc, raw, len) < 0)
		rc = EXIT_FAIL;
out:
	json_decref(body);
	json_decref(doc);
	free(name);
	free(path);
	free(raw);
	return rc;
}
