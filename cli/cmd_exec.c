/*
 * cmd_exec.c - gantryctl's commands against a running gantryd: trigger,
 * status, watch, abort, rollback, pause, resume, logs and history over the
 * /v1 REST API (SPEC.md section 6), and what every remote command shares
 * (cmd_run.h); the safeguards' commands are in cmd_safety.c.  Where the server is and the token come
 * from the options, the environment or ~/.config/gantry/gantryctl.conf.
 * What is shown goes through a view (text or json) of function pointers;
 * the text lines themselves come from exec_render.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "cmd_exec.h"
#include "cmd_run.h"
#include "cmd_safety.h"
#include "exec_render.h"
#include "yaml_load.h"

#define DEFAULT_SERVER "http://127.0.0.1:8080"
#define CONFIG_MAX (64 * 1024)
#define HISTORY_MAX_ROWS 100000 /* --all stops there */
#define WATCH_GIVE_UP_S 60 /* no stream for this long: exit 2 */
#define WATCH_BACKOFF_MAX_S 15

/* A watch in progress. */
struct watch {
	struct run *r;
	const char *id;
	json_t *tree; /* the latest tree (owned); NULL until one came */
	char *last_line; /* the last transition as text (owned) */
	int64_t last_seq; /* the highest seq shown; -1 none */
	char last_id[128]; /* Last-Event-ID for a reconnect */
	size_t drawn; /* lines on the screen from the last redraw */
	bool ended; /* the tree is terminal */
	int failed; /* -1, or the exit status of a failure in a callback */
};

/* How results are shown: text for people, json for programs. */
struct exec_view {
	/* An answer (2xx) to a command: raw as received, doc parsed. */
	int (*answer)(struct run *r, long status, const json_t *doc,
	    const char *raw, size_t len);
	/* The history, all pages merged when list was assembled (raw NULL). */
	int (*history)(
	    struct run *r, const json_t *list, const char *raw, size_t len);
	/* The chosen attempt of a step's logs. */
	int (*logs)(
	    struct run *r, const json_t *attempt, const char *raw, size_t len);
	/* One message of the event stream, not seen before. */
	int (*event)(
	    struct watch *w, const json_t *msg, const char *raw, size_t len);
	/* A second passed with the stream idle. */
	int (*tick)(struct watch *w);
	/* The stream ended before the execution did, and a GET found it
	 * ended: show the tree the GET returned (now in w->tree). */
	int (*ended_by_get)(struct watch *w);
	/* An error answer (>= 300): raw as received. */
	void (*server_error)(
	    struct run *r, long status, const char *raw, size_t len);
};

int64_t
run_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Columns of the terminal on stdout, 0 when not one. */
static int
term_cols(int *rows)
{
	struct winsize ws;

	*rows = 0;
	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
		return 0;
	*rows = ws.ws_row;
	return ws.ws_col;
}

int
run_term_width(void)
{
	int rows;

	return term_cols(&rows);
}

/* Server text must not drive the terminal. */
void
run_put_clean(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc(((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') ||
		            *s == 0x7f
		        ? '?'
		        : *s,
		    f);
}

void
run_put_raw(FILE *f, const char *raw, size_t len)
{
	fwrite(raw, 1, len, f);
	if (len == 0 || raw[len - 1] != '\n')
		fputc('\n', f);
}

/* --- server errors ----------------------------------------------------- */

/*
 * "gantryctl: HTTP 409 conflict: message" and one line per detail, from
 * {"error": {"code", "message", "details": [...]}}; the first line of any
 * other body.
 */
static void
print_server_error(FILE *f, long status, const char *raw, size_t len)
{
	json_t *doc = json_loadb(raw, len, 0, NULL);
	const json_t *e = json_object_get(doc, "error"), *d;
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	size_t i;

	if (code == NULL && msg == NULL) {
		size_t n = strcspn(raw, "\r\n");

		fprintf(f, "gantryctl: HTTP %ld", status);
		if (n > 0) {
			char *first = strndup(raw, n > 300 ? 300 : n);

			fputs(": ", f);
			run_put_clean(f, first != NULL ? first : "");
			free(first);
		}
		fputc('\n', f);
		json_decref(doc);
		return;
	}
	fprintf(f, "gantryctl: HTTP %ld %s: ", status, code ? code : "error");
	run_put_clean(f, msg ? msg : "(no message)");
	fputc('\n', f);
	json_array_foreach(json_object_get(e, "details"), i, d)
	{
		const char *path =
		    json_string_value(json_object_get(d, "path"));
		const char *dm =
		    json_string_value(json_object_get(d, "message"));
		char *s = NULL;

		fputs("  ", f);
		if (json_is_string(d)) {
			run_put_clean(f, json_string_value(d));
		} else if (dm != NULL) {
			if (path != NULL) {
				run_put_clean(f, path);
				fputs(": ", f);
			}
			run_put_clean(f, dm);
		} else if ((s = json_dumps(
		                d, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
			run_put_clean(f, s);
			free(s);
		}
		fputc('\n', f);
	}
	json_decref(doc);
}

/* --- text view ------------------------------------------------------------ */

static const char *
str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

void
run_print_lines(FILE *f, const struct exec_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s\n", l->v[i]);
}

static int
text_answer(
    struct run *r, long status, const json_t *doc, const char *raw, size_t len)
{
	const char *state = json_string_value(json_object_get(doc, "state"));
	json_int_t id = json_integer_value(json_object_get(doc, "id"));
	struct exec_lines l = {0};
	int rc;

	(void)raw;
	(void)len;
	if (strcmp(r->cmd, "status") == 0) {
		int rows, width = term_cols(&rows);

		rc = exec_render_tree(doc, run_now_ms(), width, &l);
		run_print_lines(r->out, &l);
		exec_lines_clear(&l);
		return rc;
	}
	if (strcmp(r->cmd, "trigger") == 0) {
		fprintf(r->out, "execution %" JSON_INTEGER_FORMAT " %s: ", id,
		    status == 200 ? "was already triggered with this "
		                    "idempotency key"
		                  : "triggered");
		run_put_clean(r->out, str_or(doc, "pipeline", "?"));
		fprintf(r->out, " v%" JSON_INTEGER_FORMAT ", revision ",
		    json_integer_value(
		        json_object_get(doc, "pipeline_version")));
		run_put_clean(r->out, str_or(doc, "revision", "?"));
		fprintf(r->out, ", state %s%s\n", state ? state : "?",
		    json_is_true(json_object_get(doc, "dry_run"))
		        ? " (dry run: no hook runs, no target changes)"
		        : "");
		return 0;
	}
	fprintf(r->out, "execution %" JSON_INTEGER_FORMAT ": %s accepted", id,
	    r->cmd);
	if (state != NULL)
		fprintf(r->out, ", state %s", state);
	if (json_is_true(json_object_get(doc, "pause_requested")))
		fputs(", pause requested", r->out);
	fputc('\n', r->out);
	return 0;
}

static int
text_history(struct run *r, const json_t *list, const char *raw, size_t len)
{
	struct exec_lines l = {0};
	int rows, width = term_cols(&rows), rc;

	(void)raw;
	(void)len;
	rc = exec_render_history(list, run_now_ms(), width, &l);
	run_print_lines(r->out, &l);
	exec_lines_clear(&l);
	if (rc == 0 && !r->o->all &&
	    json_is_string(json_object_get(list, "next_cursor")))
		fprintf(r->err,
		    "gantryctl: more executions: add --all to "
		    "list them all\n");
	return rc;
}

/* The step's output: stdout to stdout, then stderr to stderr. */
static int
text_logs(struct run *r, const json_t *a, const char *raw, size_t len)
{
	const json_t *out = json_object_get(a, "stdout");
	const json_t *err = json_object_get(a, "stderr");

	(void)raw;
	(void)len;
	if (json_is_string(out))
		fwrite(
		    json_string_value(out), 1, json_string_length(out), r->out);
	fflush(r->out);
	if (json_is_string(err))
		fwrite(
		    json_string_value(err), 1, json_string_length(err), r->err);
	if (json_is_true(json_object_get(a, "truncated")))
		fprintf(r->err,
		    "gantryctl: gantryd kept only the start of this output\n");
	if (json_is_null(json_object_get(a, "exit_status")))
		fprintf(r->err, "gantryctl: this attempt is still running\n");
	return 0;
}

/* Redraw the tree over the last one; on a terminal only. */
static int
redraw(struct watch *w)
{
	struct exec_lines l = {0};
	int rows, width = term_cols(&rows), rc;
	size_t keep;

	if (w->tree == NULL)
		return 0;
	/* One column spare: a full line would wrap on some terminals. */
	rc = exec_render_tree(
	    w->tree, run_now_ms(), width > 1 ? width - 1 : 0, &l);
	if (rc < 0)
		return -1;
	keep = l.n;
	if (rows > 2 && keep + 2 > (size_t)rows)
		keep = (size_t)rows - 2; /* the rest would scroll away */
	if (w->drawn > 0)
		fprintf(w->r->out, "\r\033[%zuA\033[J", w->drawn);
	for (size_t i = 0; i < keep; i++)
		fprintf(w->r->out, "%s\n", l.v[i]);
	w->drawn = keep;
	if (keep < l.n) {
		fprintf(w->r->out, "  ... %zu more lines\n", l.n - keep);
		w->drawn++;
	}
	if (w->last_line != NULL) {
		fprintf(w->r->out, "last: %s\n", w->last_line);
		w->drawn++;
	}
	fflush(w->r->out);
	exec_lines_clear(&l);
	return 0;
}

static int
text_event(struct watch *w, const json_t *msg, const char *raw, size_t len)
{
	struct exec_lines l = {0};
	int rows, width = w->r->tty ? term_cols(&rows) : 0;

	(void)raw;
	(void)len;
	/* On a terminal it follows "last: " and keeps a column spare. */
	if (exec_render_event(msg, width > 8 ? width - 7 : 0, &l) < 0)
		return -1;
	if (w->r->tty) {
		free(w->last_line);
		w->last_line = l.v[0];
		l.v[0] = NULL;
		if (json_is_object(json_object_get(msg, "execution")) &&
		    redraw(w) < 0) {
			exec_lines_clear(&l);
			return -1;
		}
	} else {
		fprintf(w->r->out, "%s\n", l.v[0]);
		fflush(w->r->out);
	}
	exec_lines_clear(&l);
	return 0;
}

static int
text_tick(struct watch *w)
{
	return w->r->tty ? redraw(w) : 0;
}

static int
text_ended_by_get(struct watch *w)
{
	const char *state =
	    json_string_value(json_object_get(w->tree, "state"));

	if (w->r->tty)
		return redraw(w);
	fprintf(
	    w->r->out, "execution %s ended: %s\n", w->id, state ? state : "?");
	return 0;
}

static void
text_server_error(struct run *r, long status, const char *raw, size_t len)
{
	print_server_error(r->err, status, raw, len);
}

static const struct exec_view view_text = {
    .answer = text_answer,
    .history = text_history,
    .logs = text_logs,
    .event = text_event,
    .tick = text_tick,
    .ended_by_get = text_ended_by_get,
    .server_error = text_server_error,
};

/* --- json view: the server's JSON as received -------------------------- */

static int
json_answer(
    struct run *r, long status, const json_t *doc, const char *raw, size_t len)
{
	(void)status;
	(void)doc;
	run_put_raw(r->out, raw, len);
	return 0;
}

static int
json_history(struct run *r, const json_t *list, const char *raw, size_t len)
{
	if (raw != NULL) {
		run_put_raw(r->out, raw, len);
		return 0;
	}
	if (json_dumpf(list, r->out, JSON_INDENT(2)) < 0)
		return -1;
	fputc('\n', r->out);
	return 0;
}

static int
json_logs(struct run *r, const json_t *a, const char *raw, size_t len)
{
	(void)a;
	run_put_raw(r->out, raw, len);
	return 0;
}

/* Each data line as it came, one per line. */
static int
json_event(struct watch *w, const json_t *msg, const char *raw, size_t len)
{
	(void)msg;
	run_put_raw(w->r->out, raw, len);
	fflush(w->r->out);
	return 0;
}

static int
json_tick(struct watch *w)
{
	(void)w;
	return 0;
}

static int
json_ended_by_get(struct watch *w)
{
	if (json_dumpf(w->tree, w->r->out, JSON_COMPACT) < 0)
		return -1;
	fputc('\n', w->r->out);
	return 0;
}

static void
json_server_error(struct run *r, long status, const char *raw, size_t len)
{
	if (len > 0)
		run_put_raw(r->out, raw, len);
	print_server_error(r->err, status, raw, len);
}

static const struct exec_view view_json = {
    .answer = json_answer,
    .history = json_history,
    .logs = json_logs,
    .event = json_event,
    .tick = json_tick,
    .ended_by_get = json_ended_by_get,
    .server_error = json_server_error,
};

/* --- where the server is --------------------------------------------------- */

/* The config file's path; caller frees.  NULL when there is no home. */
static char *
config_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *p = NULL;

	if (xdg != NULL && xdg[0] == '/') {
		if (asprintf(&p, "%s/gantry/gantryctl.conf", xdg) < 0)
			return NULL;
	} else if (home != NULL && home[0] != '\0') {
		if (asprintf(&p, "%s/.config/gantry/gantryctl.conf", home) < 0)
			return NULL;
	}
	return p;
}

/*
 * Read the config file's server: and token: into *server and *token
 * (new strings, NULL when not set).  A missing file is no error.  -1 after
 * a message on stderr.
 */
static int
config_read(char **server, char **token)
{
	struct gantry_error gerr = {0};
	char *path = config_path(), *text = NULL;
	json_t *doc = NULL;
	const char *keys[] = {"server", "token"};
	char **dst[] = {server, token};
	size_t n = 0;
	FILE *f = NULL;
	int rc = -1;

	*server = *token = NULL;
	if (path == NULL)
		return 0;
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT || errno == ENOTDIR) {
			rc = 0;
			goto out;
		}
		fprintf(stderr, "gantryctl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	text = malloc(CONFIG_MAX + 1);
	if (text == NULL)
		goto out;
	n = fread(text, 1, CONFIG_MAX + 1, f);
	if (ferror(f) || n > CONFIG_MAX) {
		fprintf(stderr, "gantryctl: %s: %s\n", path,
		    ferror(f) ? "cannot read" : "larger than 64 KiB");
		goto out;
	}
	doc = yaml_load(text, n, &gerr);
	if (doc == NULL) {
		fprintf(stderr, "gantryctl: %s: %s\n", path, gerr.msg);
		goto out;
	}
	if (!json_is_object(doc) && !json_is_null(doc)) {
		fprintf(stderr, "gantryctl: %s: expected a mapping\n", path);
		goto out;
	}
	for (size_t i = 0; i < 2; i++) {
		const json_t *v = json_object_get(doc, keys[i]);

		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v)) {
			fprintf(stderr,
			    "gantryctl: %s: %s: expected a string\n", path,
			    keys[i]);
			goto out;
		}
		*dst[i] = strdup(json_string_value(v));
		if (*dst[i] == NULL)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		free(*server);
		free(*token);
		*server = *token = NULL;
	}
	if (f != NULL)
		fclose(f);
	json_decref(doc);
	free(text);
	free(path);
	return rc;
}

static const char *
nonempty_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The client for the options: --server, $GANTRY_SERVER, the config
 * file, the default; --token, $GANTRY_TOKEN, the config file. */
static struct client *
connect_client(const struct exec_opts *o)
{
	const char *server = o->server, *token = o->token;
	char *cserver = NULL, *ctoken = NULL;
	struct client *c = NULL;
	char err[512];

	if (server == NULL)
		server = nonempty_env("GANTRY_SERVER");
	if (token == NULL)
		token = nonempty_env("GANTRY_TOKEN");
	if ((server == NULL || token == NULL) &&
	    config_read(&cserver, &ctoken) < 0)
		return NULL;
	if (server == NULL)
		server = cserver != NULL ? cserver : DEFAULT_SERVER;
	if (token == NULL)
		token = ctoken;
	c = client_new(server, token, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "gantryctl: %s\n", err);
	free(cserver);
	free(ctoken);
	return c;
}

/* --- requests -------------------------------------------------------------- */

/* Connect on first use, after the operands were checked. */
static bool
ensure_client(struct run *r)
{
	if (r->c == NULL)
		r->c = connect_client(r->o);
	return r->c != NULL;
}

/*
 * method path with body (a JSON document, NULL for none); on a 2xx the
 * parsed answer in *doc and the raw one in *raw (caller frees both).
 * Returns EXIT_OK, or the exit status after the message was shown.
 */
static int
request(struct run *r, const char *method, const char *path, const json_t *body,
    const char *idem_key, long *status, json_t **doc, char **raw,
    size_t *rawlen)
{
	char *text = NULL, err[1024];
	json_error_t jerr;
	int rc;

	*doc = NULL;
	*raw = NULL;
	if (!ensure_client(r))
		return EXIT_USAGE;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		fprintf(r->err, "gantryctl: out of memory\n");
		return EXIT_FAIL;
	}
	rc = client_request(r->c, method, path,
	    text ? "application/json" : NULL, text, text ? strlen(text) : 0,
	    idem_key, status, raw, rawlen, err, sizeof(err));
	free(text);
	if (rc < 0) {
		fprintf(r->err, "gantryctl: %s\n", err);
		return EXIT_USAGE;
	}
	if (*status < 200 || *status > 299) {
		r->view->server_error(r, *status, *raw, *rawlen);
		free(*raw);
		*raw = NULL;
		return EXIT_FAIL;
	}
	*doc = json_loadb(*raw, *rawlen, JSON_ALLOW_NUL, &jerr);
	if (*doc == NULL) {
		fprintf(r->err,
		    "gantryctl: %s %s: the answer (HTTP %ld) is not JSON: %s\n",
		    method, path, *status, jerr.text);
		free(*raw);
		*raw = NULL;
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int
run_request(struct run *r, const char *method, const char *path,
    const json_t *body, long *status, json_t **doc, char **raw, size_t *rawlen)
{
	return request(r, method, path, body, NULL, status, doc, raw, rawlen);
}

/* An execution ID: digits only (they go into a path). */
static bool
valid_id(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 19 && s[n] == '\0';
}

/* A positive integer of at most max, or -1. */
static long
parse_count(const char *s, long max)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return -1;
	return v;
}

/* --- watch ----------------------------------------------------------------- */

static int
on_event(const struct sse_event *ev, void *arg)
{
	struct watch *w = arg;
	const json_t *tree;
	json_t *msg;
	json_int_t seq;

	if (ev->data_len == 0)
		return 0;
	msg = json_loadb(ev->data, ev->data_len, 0, NULL);
	if (!json_is_object(msg)) {
		fprintf(w->r->err, "gantryctl: event %s is not a JSON object\n",
		    ev->id);
		json_decref(msg);
		return 0;
	}
	seq = json_integer_value(json_object_get(msg, "seq"));
	snprintf(w->last_id, sizeof(w->last_id), "%s", ev->id);
	if (json_is_integer(json_object_get(msg, "seq")) &&
	    seq <= w->last_seq) {
		json_decref(msg); /* replayed after a reconnect: seen */
		return 0;
	}
	if (json_is_integer(json_object_get(msg, "seq")))
		w->last_seq = seq;
	tree = json_object_get(msg, "execution");
	if (json_is_object(tree)) {
		json_decref(w->tree);
		w->tree = json_incref((json_t *)tree);
	}
	if (w->r->view->event(w, msg, ev->data, ev->data_len) < 0) {
		json_decref(msg);
		w->failed = EXIT_USAGE;
		return 1;
	}
	json_decref(msg);
	if (w->tree != NULL &&
	    exec_render_is_terminal(
	        json_string_value(json_object_get(w->tree, "state")))) {
		w->ended = true;
		return 1;
	}
	return 0;
}

static int
on_tick(void *arg)
{
	struct watch *w = arg;

	return w->r->view->tick(w) < 0 ? 1 : 0;
}

/* The stream ended short: has the execution?  1 yes (w->tree updated),
 * 0 not yet or unknown, -1 with the exit status in w->failed. */
static int
check_ended(struct watch *w, const char *path)
{
	char *raw = NULL, err[1024];
	json_t *doc;
	size_t len;
	long status;
	int rc = 0;

	if (client_request(w->r->c, "GET", path, NULL, NULL, 0, NULL, &status,
	        &raw, &len, err, sizeof(err)) < 0)
		return 0; /* gone for now: the reconnect loop decides */
	if (status < 200 || status > 299) {
		if (status / 100 == 5) {
			free(raw);
			return 0;
		}
		w->r->view->server_error(w->r, status, raw, len);
		free(raw);
		w->failed = EXIT_FAIL;
		return -1;
	}
	doc = json_loadb(raw, len, 0, NULL);
	free(raw);
	if (json_is_object(doc) &&
	    exec_render_is_terminal(
	        json_string_value(json_object_get(doc, "state")))) {
		json_decref(w->tree);
		w->tree = doc;
		doc = NULL;
		w->ended = true;
		rc = 1;
	}
	json_decref(doc);
	return rc;
}

/* Follow execution id until it ends; the exit status of watch. */
static int
watch(struct run *r, const char *id)
{
	struct watch w = {.r = r, .id = id, .last_seq = -1, .failed = -1};
	char *events = NULL, *tree = NULL, err[1024];
	time_t down_since = 0;
	unsigned backoff = 1;
	int rc = EXIT_USAGE;

	if (!ensure_client(r))
		return EXIT_USAGE;
	if (asprintf(&events, "/v1/executions/%s/events", id) < 0 ||
	    asprintf(&tree, "/v1/executions/%s", id) < 0) {
		fprintf(r->err, "gantryctl: out of memory\n");
		goto out;
	}
	for (;;) {
		char *body = NULL;
		size_t len;
		long status;
		int s;

		s = client_stream(r->c, events, w.last_id, on_event, &w,
		    on_tick, &status, &body, &len, err, sizeof(err));
		if (w.failed >= 0) {
			free(body);
			rc = w.failed;
			goto out;
		}
		if (w.ended) {
			free(body);
			break;
		}
		if (s == 0 && status / 100 != 2 && status / 100 != 5) {
			r->view->server_error(
			    r, status, body ? body : "", body ? len : 0);
			free(body);
			rc = EXIT_FAIL;
			goto out;
		}
		free(body);
		if (s == -2 ||
		    (s < 0 && status == 0 && w.last_seq < 0 && w.tree == NULL &&
		        down_since == 0)) {
			/* Not a stream, or never reached: do not insist. */
			fprintf(r->err, "gantryctl: %s\n", err);
			goto out;
		}
		/* The stream ended or broke before the execution did. */
		s = check_ended(&w, tree);
		if (s < 0) {
			rc = w.failed;
			goto out;
		}
		if (s > 0) {
			if (r->view->ended_by_get(&w) < 0)
				goto out;
			break;
		}
		if (status == 200) {
			down_since = 0; /* it was up: start counting anew */
			backoff = 1;
		} else if (down_since == 0) {
			down_since = time(NULL);
		} else if (time(NULL) - down_since > WATCH_GIVE_UP_S) {
			fprintf(r->err,
			    "gantryctl: gave up after %ds without the event "
			    "stream: %s\n",
			    WATCH_GIVE_UP_S, err);
			goto out;
		}
		if (!r->tty && !r->o->json)
			fprintf(r->err, "gantryctl: reconnecting to %s%s\n",
			    r->c->server, events);
		sleep(backoff);
		backoff = backoff * 2 > WATCH_BACKOFF_MAX_S
		    ? WATCH_BACKOFF_MAX_S
		    : backoff * 2;
	}
	rc = exec_render_exit_status(
	    json_string_value(json_object_get(w.tree, "state")));
	if (rc < 0)
		rc = EXIT_USAGE;
out:
	fflush(r->out);
	json_decref(w.tree);
	free(w.last_line);
	free(events);
	free(tree);
	return rc;
}

/* --- the commands ---------------------------------------------------------- */

int
run_usage_error(struct run *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(r->err, "gantryctl %s: ", r->cmd);
	va_start(ap, fmt);
	vfprintf(r->err, fmt, ap);
	va_end(ap);
	fprintf(r->err, " (see gantryctl --help)\n");
	return EXIT_USAGE;
}

static int
cmd_trigger(struct run *r, int nargs, char *const *args)
{
	const struct exec_opts *o = r->o;
	json_t *body = NULL, *doc = NULL;
	char *pipe = NULL, *path = NULL, *raw = NULL, id[32];
	size_t len;
	long status;
	int rc;

	if (nargs != 1)
		return run_usage_error(r, "give exactly one PIPELINE");
	if (o->revision == NULL || o->revision[0] == '\0')
		return run_usage_error(r, "--revision is required");
	if ((o->artifact_uri == NULL) != (o->artifact_sha256 == NULL))
		return run_usage_error(
		    r, "--artifact-uri and --artifact-sha256 go together");
	if (o->artifact_signature != NULL && o->artifact_uri == NULL)
		return run_usage_error(
		    r, "%s", "--artifact-signature needs --artifact-uri");
	body = json_pack("{s:s}", "revision", o->revision);
	if (body != NULL && o->artifact_uri != NULL) {
		json_t *a = json_pack("{s:s, s:s}", "uri", o->artifact_uri,
		    "sha256", o->artifact_sha256);

		if (a != NULL && o->artifact_signature != NULL)
			json_object_set_new(
			    a, "signature", json_string(o->artifact_signature));
		if (a == NULL || json_object_set_new(body, "artifact", a) < 0) {
			json_decref(body);
			body = NULL;
		}
	}
	if (body != NULL && o->dry_run &&
	    json_object_set_new(body, "dry_run", json_true()) < 0) {
		json_decref(body);
		body = NULL;
	}
	if (body != NULL && o->reason != NULL &&
	    json_object_set_new(body, "reason", json_string(o->reason)) < 0) {
		json_decref(body);
		body = NULL;
	}
	pipe = client_escape(args[0]);
	if (body == NULL || pipe == NULL ||
	    asprintf(&path, "/v1/pipelines/%s/executions", pipe) < 0) {
		fprintf(r->err,
		    "gantryctl: out of memory, or a value is not "
		    "UTF-8\n");
		rc = EXIT_USAGE;
		goto out;
	}
	rc = request(r, "POST", path, body, o->idempotency_key, &status, &doc,
	    &raw, &len);
	if (rc != EXIT_OK)
		goto out;
	if (r->view->answer(r, status, doc, raw, len) < 0) {
		rc = EXIT_FAIL;
		goto out;
	}
	if (o->watch) {
		json_t *v = json_object_get(doc, "id");

		if (!json_is_integer(v)) {
			fprintf(r->err,
			    "gantryctl: the answer has no execution id\n");
			rc = EXIT_FAIL;
			goto out;
		}
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		fflush(r->out);
		rc = watch(r, id);
	}
out:
	json_decref(body);
	json_decref(doc);
	free(pipe);
	free(path);
	free(raw);
	return rc;
}

/* One request whose answer the view shows; frees what it made. */
static int
request_answer(
    struct run *r, const char *method, const char *path, json_t *body)
{
	json_t *doc = NULL;
	char *raw = NULL;
	size_t len;
	long status;
	int rc;

	rc = request(r, method, path, body, NULL, &status, &doc, &raw, &len);
	if (rc == EXIT_OK && r->view->answer(r, status, doc, raw, len) < 0)
		rc = EXIT_FAIL;
	json_decref(doc);
	free(raw);
	return rc;
}

static int
cmd_status(struct run *r, int nargs, char *const *args)
{
	char *path = NULL;
	int rc;

	if (nargs != 1 || !valid_id(args[0]))
		return run_usage_error(r, "give one execution ID (a number)");
	if (asprintf(&path, "/v1/executions/%s", args[0]) < 0)
		return EXIT_FAIL;
	rc = request_answer(r, "GET", path, NULL);
	free(path);
	return rc;
}

static int
cmd_watch(struct run *r, int nargs, char *const *args)
{
	if (nargs != 1 || !valid_id(args[0]))
		return run_usage_error(r, "give one execution ID (a number)");
	return watch(r, args[0]);
}

/* abort, rollback, pause, resume */
static int
cmd_control(struct run *r, int nargs, char *const *args)
{
	bool need_reason =
	    strcmp(r->cmd, "abort") == 0 || strcmp(r->cmd, "rollback") == 0;
	json_t *body;
	char *path = NULL;
	int rc;

	if (nargs != 1 || !valid_id(args[0]))
		return run_usage_error(r, "give one execution ID (a number)");
	if (need_reason && (r->o->reason == NULL || r->o->reason[0] == '\0'))
		return run_usage_error(r, "--reason is required");
	body = r->o->reason != NULL ? json_pack("{s:s}", "reason", r->o->reason)
	                            : json_object();
	if (body == NULL ||
	    asprintf(&path, "/v1/executions/%s/%s", args[0], r->cmd) < 0) {
		json_decref(body);
		fprintf(r->err,
		    "gantryctl: out of memory, or the reason is "
		    "not UTF-8\n");
		return EXIT_USAGE;
	}
	rc = request_answer(r, "POST", path, body);
	json_decref(body);
	free(path);
	return rc;
}

static int
cmd_logs(struct run *r, int nargs, char *const *args)
{
	const json_t *attempts, *a, *pick = NULL;
	json_t *doc = NULL;
	char *step = NULL, *path = NULL, *raw = NULL;
	long want = -1, status;
	size_t len, i;
	int rc;

	if (nargs != 2 || !valid_id(args[0]))
		return run_usage_error(r, "give an execution ID and a STEP");
	if (r->o->attempt != NULL &&
	    (want = parse_count(r->o->attempt, 1000000)) < 0)
		return run_usage_error(
		    r, "--attempt: \"%s\" is not a number >= 1", r->o->attempt);
	step = client_escape(args[1]);
	if (step == NULL ||
	    asprintf(&path, "/v1/executions/%s/logs/%s", args[0], step) < 0) {
		free(step);
		return EXIT_FAIL;
	}
	rc = request(r, "GET", path, NULL, NULL, &status, &doc, &raw, &len);
	if (rc != EXIT_OK)
		goto out;
	attempts = json_object_get(doc, "attempts");
	json_array_foreach(attempts, i, a)
	{
		json_int_t n =
		    json_integer_value(json_object_get(a, "attempt"));

		if (want > 0 ? n == want
		             : pick == NULL ||
		            n > json_integer_value(
		                    json_object_get(pick, "attempt")))
			pick = a;
	}
	if (pick == NULL && !r->o->json) {
		if (want > 0)
			fprintf(r->err,
			    "gantryctl: %s %s: no attempt %ld (%zu recorded)\n",
			    args[0], args[1], want, json_array_size(attempts));
		else
			fprintf(r->err,
			    "gantryctl: %s %s: no output recorded\n", args[0],
			    args[1]);
		rc = EXIT_FAIL;
		goto out;
	}
	if (r->view->logs(r, pick, raw, len) < 0)
		rc = EXIT_FAIL;
out:
	json_decref(doc);
	free(step);
	free(path);
	free(raw);
	return rc;
}

/* Append "&key=escaped value" (or "?key=...") to *q. */
static int
query_add(char **q, const char *key, const char *value)
{
	char *esc, *n = NULL;

	if (value == NULL)
		return 0;
	esc = client_escape(value);
	if (esc == NULL ||
	    asprintf(&n, "%s%c%s=%s", *q, strchr(*q, '?') ? '&' : '?', key,
	        esc) < 0) {
		free(esc);
		return -1;
	}
	free(esc);
	free(*q);
	*q = n;
	return 0;
}

static int
cmd_history(struct run *r, int nargs, char *const *args)
{
	json_t *all = NULL, *doc = NULL;
	char *cursor = NULL, *path = NULL, *raw = NULL;
	size_t len;
	long status;
	int rc = EXIT_FAIL;

	(void)args;
	if (nargs != 0)
		return run_usage_error(r, "takes no operands");
	if (r->o->limit != NULL && parse_count(r->o->limit, 1000000) < 0)
		return run_usage_error(
		    r, "--limit: \"%s\" is not a number >= 1", r->o->limit);
	for (;;) {
		const json_t *next;

		free(path);
		path = strdup("/v1/executions");
		if (path == NULL ||
		    query_add(&path, "pipeline", r->o->pipeline) < 0 ||
		    query_add(&path, "state", r->o->state) < 0 ||
		    query_add(&path, "limit", r->o->limit) < 0 ||
		    query_add(&path, "cursor", cursor) < 0)
			goto oom;
		rc = request(
		    r, "GET", path, NULL, NULL, &status, &doc, &raw, &len);
		if (rc != EXIT_OK)
			goto out;
		if (!r->o->all) {
			if (r->view->history(r, doc, raw, len) < 0)
				rc = EXIT_FAIL;
			goto out;
		}
		if (all == NULL) {
			all = json_pack(
			    "{s:[], s:n}", "executions", "next_cursor");
			if (all == NULL)
				goto oom;
		}
		if (json_array_extend(json_object_get(all, "executions"),
		        json_object_get(doc, "executions")) < 0)
			goto oom;
		next = json_object_get(doc, "next_cursor");
		if (!json_is_string(next) ||
		    json_array_size(json_object_get(all, "executions")) >=
		        HISTORY_MAX_ROWS ||
		    (cursor != NULL &&
		        strcmp(cursor, json_string_value(next)) == 0))
			break;
		free(cursor);
		cursor = strdup(json_string_value(next));
		if (cursor == NULL)
			goto oom;
		json_decref(doc);
		doc = NULL;
		free(raw);
		raw = NULL;
	}
	rc = r->view->history(r, all, NULL, 0) < 0 ? EXIT_FAIL : EXIT_OK;
	goto out;
oom:
	fprintf(r->err, "gantryctl: out of memory\n");
	rc = EXIT_FAIL;
out:
	json_decref(all);
	json_decref(doc);
	free(cursor);
	free(path);
	free(raw);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(struct run *r, int nargs, char *const *args);
} commands[] = {
    {"trigger", cmd_trigger},
    {"status", cmd_status},
    {"watch", cmd_watch},
    {"abort", cmd_control},
    {"rollback", cmd_control},
    {"pause", cmd_control},
    {"resume", cmd_control},
    {"logs", cmd_logs},
    {"history", cmd_history},
    {"alarms", cmd_safety_alarms},
    {"alarm-state", cmd_safety_alarm_state},
    {"blockers", cmd_safety_blockers},
    {"override", cmd_safety_override},
    {"hold", cmd_safety_hold},
    {"unhold", cmd_safety_unhold},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

bool
cmd_exec_is_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return true;
	return false;
}

int
cmd_exec_run(
    const char *name, const struct exec_opts *o, int nargs, char *const *args)
{
	struct run r = {
	    .cmd = name,
	    .o = o,
	    .view = o->json ? &view_json : &view_text,
	    .out = stdout,
	    .err = stderr,
	    .tty = isatty(STDOUT_FILENO) == 1,
	};
	int rc = EXIT_USAGE;

	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(name, commands[i].name) != 0)
			continue;
		rc = commands[i].fn(&r, nargs, args);
		client_free(r.c);
		return rc;
	}
	fprintf(stderr, "gantryctl: unknown command \"%s\"\n", name);
	return rc;
}
