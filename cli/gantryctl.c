/*
 * gantryctl.c - the gantry command line tool (gantryctl(1)).  Offline
 * commands: `validate` checks pipeline files as gantryd would load them,
 * `plan` prints what a pipeline will do and when.  It links the pure lib/
 * and does the I/O itself: reading files, the clock, output (through the
 * renderers of output.h).  The commands that talk to gantryd (trigger,
 * status, watch, ... in cmd_exec.c; alarms, blockers, override, hold,
 * ... in cmd_safety.c) have their options parsed here, with the others,
 * from one table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd_exec.h"
#include "diag.h"
#include "duration.h"
#include "floors.h"
#include "output.h"
#include "pipeline.h"
#include "pipeline_set.h"
#include "plan.h"
#include "waves.h"
#include "yaml_load.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

/* Exit statuses (gantryctl(1)). */
#define EXIT_OK 0
#define EXIT_INVALID 1
#define EXIT_USAGE 2

#define DEFAULT_ASSUME_HOOK_MS (2 * 60 * 1000)

/* One file of the set handed to pipeline_compile_files(). */
struct entry {
	char *path; /* as shown in messages */
	char *real; /* realpath, to read each file once */
	char *text;
	size_t len;
};

/* A FILE named on the command line: in the set, or unreadable. */
struct named {
	const char *arg;
	ssize_t index; /* into the set; -1 when unreadable */
	struct diag diag; /* the read error, when unreadable */
};

struct fileset {
	struct entry *e;
	size_t n, cap;
	struct named *named;
	size_t nnamed;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: gantryctl validate [--output text|json] [--floors FILE] "
	    "FILE...\n"
	    "       gantryctl plan [--output text|json] [--start TIME]\n"
	    "                      [--assume-hook DURATION] FILE\n"
	    "       gantryctl trigger PIPELINE --revision REV "
	    "[--artifact-uri URI\n"
	    "                      --artifact-sha256 HEX "
	    "[--artifact-signature SIG]]\n"
	    "                      [--reason TEXT] [--idempotency-key KEY] "
	    "[--watch]\n"
	    "                      [--dry-run]\n"
	    "       gantryctl status ID\n"
	    "       gantryctl watch ID\n"
	    "       gantryctl abort|rollback ID --reason TEXT\n"
	    "       gantryctl pause|resume ID [--reason TEXT]\n"
	    "       gantryctl logs ID STEP [--attempt N]\n"
	    "       gantryctl history [--pipeline NAME] [--state STATE] "
	    "[--limit N] [--all]\n"
	    "       gantryctl alarms\n"
	    "       gantryctl alarm-state NAME STATE [--reason TEXT]\n"
	    "       gantryctl blockers\n"
	    "       gantryctl override BLOCKER-ID --reason TEXT "
	    "[--expires-in DURATION]\n"
	    "       gantryctl hold all|service NAME|pipeline NAME "
	    "--reason TEXT\n"
	    "       gantryctl unhold ID [--reason TEXT]\n"
	    "       gantryctl --help | --version\n"
	    "\n"
	    "The commands from trigger on talk to gantryd and also take\n"
	    "[--server URL] [--token TOKEN] [--output text|json].\n"
	    "\n"
	    "commands:\n"
	    "  validate   check pipeline files offline (templates are read "
	    "from each\n"
	    "             file's directory); exit 0 when all are valid, 1 "
	    "if not\n"
	    "  plan       print a pipeline's steps and the time each would "
	    "start,\n"
	    "             and the ETA of 100%% of production\n"
	    "  trigger    start an execution of PIPELINE at revision REV\n"
	    "  status     show an execution: stages, progress, blockers\n"
	    "  watch      follow an execution live until it ends; exit 0 "
	    "when it\n"
	    "             succeeded, 1 when it ended otherwise\n"
	    "  abort      stop an execution and roll back what it deployed\n"
	    "  rollback   roll an execution back\n"
	    "  pause      pause an execution; resume goes on\n"
	    "  logs       print a hook step's stdout, then its stderr\n"
	    "             (STEP as prod/wave-1:h1:deploy)\n"
	    "  history    list executions, newest first\n"
	    "  alarms     list the alarms: scope, source, state, since when, "
	    "why\n"
	    "  alarm-state  push STATE (ok, alarm, insufficient_data) to a "
	    "push\n"
	    "             alarm NAME (PIPELINE:NAME for a pipeline's)\n"
	    "  blockers   what keeps executions from going on: each "
	    "blocker with\n"
	    "             the BLOCKER-ID override takes, then the holds\n"
	    "  override   let the waiting stage start once despite one "
	    "blocker\n"
	    "             (BLOCKER-ID as EXECUTION:BLOCKER, e.g. "
	    "42:alarm:errors)\n"
	    "  hold       stop new stages from starting: of everything, a "
	    "service\n"
	    "             or a pipeline; prints the hold's ID\n"
	    "  unhold     lift hold ID\n"
	    "\n"
	    "options:\n"
	    "  -o, --output text|json     output format (default text)\n"
	    "  -f, --floors FILE          safety floors to enforce "
	    "(YAML/JSON mapping)\n"
	    "  -s, --start TIME           plan start: RFC 3339 "
	    "(2026-11-30T09:00:00Z,\n"
	    "                             2026-11-30T10:00:00+01:00) or now "
	    "(default)\n"
	    "  -a, --assume-hook DURATION how long every hook takes "
	    "(default 2m)\n"
	    "      --server URL           gantryd's address (default "
	    "$GANTRY_SERVER,\n"
	    "                             server: of "
	    "~/.config/gantry/gantryctl.conf,\n"
	    "                             then http://127.0.0.1:8080)\n"
	    "      --token TOKEN          API token (default $GANTRY_TOKEN, "
	    "then token:\n"
	    "                             of that file)\n"
	    "      --revision REV         (trigger) the revision to deploy\n"
	    "      --artifact-uri URI     (trigger) the build artifact, with\n"
	    "      --artifact-sha256 HEX  its SHA-256 and\n"
	    "      --artifact-signature SIG  its signature (optional)\n"
	    "      --reason TEXT          why, for the audit log (trigger, "
	    "abort,\n"
	    "                             rollback, pause, resume, override, "
	    "hold,\n"
	    "                             unhold, alarm-state)\n"
	    "      --expires-in DURATION  (override) unused, it lapses after "
	    "DURATION\n"
	    "                             (30m, 2h, or seconds; default 1h, "
	    "at most\n"
	    "                             gantryd's override_max)\n"
	    "      --idempotency-key KEY  (trigger) a retry with the same key "
	    "starts\n"
	    "                             nothing new\n"
	    "      --watch                (trigger) then watch the execution\n"
	    "      --dry-run              (trigger) rehearse: blockers, bakes "
	    "and\n"
	    "                             alarms as usual, but no build, "
	    "deploy,\n"
	    "                             rollback, test or notify hook runs "
	    "and\n"
	    "                             no target version is recorded\n"
	    "      --attempt N            (logs) which attempt (default the "
	    "latest)\n"
	    "      --pipeline NAME        (history) only this pipeline\n"
	    "      --state STATE          (history) only executions in STATE\n"
	    "      --limit N              (history) at most N per page\n"
	    "      --all                  (history) follow every page\n"
	    "  -h, --help                 this help\n"
	    "  -V, --version              print the version\n"
	    "\n"
	    "See gantryctl(1) and gantry-pipeline(5).\n");
}

/*
 * Read path into a new NUL-terminated buffer of at most max bytes.
 * 0 ok; -1 with a message in why (errno text, "is a directory", or
 * "larger than N bytes").
 */
static int
read_capped(const char *path, size_t max, char **text, size_t *len, char *why,
    size_t whylen)
{
	char *buf = NULL;
	size_t n = 0;
	struct stat st;
	int fd, rc = -1;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "cannot read: is a directory");
		goto out;
	}
	buf = malloc(max + 2);
	if (buf == NULL) {
		snprintf(why, whylen, "cannot read: out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(
			    why, whylen, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			snprintf(why, whylen, "larger than %zu bytes", max);
			goto out;
		}
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* The directory part of path ("." when none); caller frees. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* pipeline_io.read: relpath relative to the directory of file. */
static int
io_read(void *ctx, const char *file, const char *relpath, char **text,
    size_t *len, char *why, size_t whylen)
{
	char *dir = NULL, *full = NULL;
	int rc;

	(void)ctx;
	if (relpath[0] == '/') {
		full = strdup(relpath);
	} else {
		dir = dir_of(file);
		if (dir != NULL && asprintf(&full, "%s/%s", dir, relpath) < 0)
			full = NULL;
	}
	free(dir);
	if (full == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	rc = read_capped(full, PIPELINE_FILE_MAX, text, len, why, whylen);
	/* why reads "cannot read: ..."; the parser adds its own prefix. */
	if (rc < 0 && strncmp(why, "cannot read: ", 13) == 0)
		memmove(why, why + 13, strlen(why + 13) + 1);
	free(full);
	return rc;
}

static void
fileset_free(struct fileset *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->e[i].path);
		free(fs->e[i].real);
		free(fs->e[i].text);
	}
	free(fs->e);
	for (size_t i = 0; i < fs->nnamed; i++)
		diag_clear(&fs->named[i].diag);
	free(fs->named);
	memset(fs, 0, sizeof(*fs));
}

static ssize_t
fileset_find(const struct fileset *fs, const char *real)
{
	for (size_t i = 0; i < fs->n; i++)
		if (strcmp(fs->e[i].real, real) == 0)
			return (ssize_t)i;
	return -1;
}

/* Append an entry; takes ownership of path, real and text. */
static int
fileset_add(struct fileset *fs, char *path, char *real, char *text, size_t len)
{
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 16;
		struct entry *e = realloc(fs->e, cap * sizeof(*e));

		if (e == NULL) {
			free(path);
			free(real);
			free(text);
			return -1;
		}
		fs->e = e;
		fs->cap = cap;
	}
	fs->e[fs->n++] = (struct entry){path, real, text, len};
	return 0;
}

/*
 * Should a file of a named file's directory join the set?  Templates
 * (and files that do not parse: they name nothing) do; other pipelines
 * do not, so validating one file never fails on a sibling that happens
 * to use the same pipeline name.
 */
static bool
sibling_wanted(const char *path, const char *text, size_t len)
{
	size_t plen = strlen(path);
	json_t *doc;
	bool want;

	if (plen > 5 && strcmp(path + plen - 5, ".json") == 0)
		doc = json_loadb(text, len, 0, NULL);
	else
		doc = yaml_load(text, len, NULL);
	want = !json_is_object(doc) ||
	    json_object_get(doc, "template") != NULL ||
	    json_object_get(doc, "pipeline") == NULL;
	json_decref(doc);
	return want;
}

/* Add the templates of dir (sorted, so runs are reproducible). */
static int
fileset_add_dir(struct fileset *fs, const char *dir)
{
	struct dirent **names = NULL;
	int n, rc = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return 0; /* the named file's own read reports problems */
	for (int i = 0; i < n; i++) {
		char *path = NULL, *real = NULL, *text = NULL;
		char why[256];
		size_t len;

		if (rc < 0 || !pipeline_file_is_candidate(names[i]->d_name))
			goto next;
		if (strcmp(dir, ".") == 0)
			path = strdup(names[i]->d_name);
		else if (asprintf(&path, "%s%s%s", dir,
		             dir[strlen(dir) - 1] == '/' ? "" : "/",
		             names[i]->d_name) < 0)
			path = NULL;
		if (path == NULL) {
			rc = -1;
			goto next;
		}
		real = realpath(path, NULL);
		if (real == NULL || fileset_find(fs, real) >= 0)
			goto next;
		if (read_capped(path, PIPELINE_FILE_MAX, &text, &len, why,
		        sizeof(why)) < 0)
			goto next;
		if (!sibling_wanted(path, text, len))
			goto next;
		rc = fileset_add(fs, path, real, text, len);
		path = real = text = NULL;
	next:
		free(path);
		free(real);
		free(text);
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * The set for args: every named file (an unreadable one is recorded with
 * its error instead), then the templates of their directories.  -1 only
 * on allocation failure.
 */
static int
fileset_build(struct fileset *fs, char *const *args, size_t nargs)
{
	memset(fs, 0, sizeof(*fs));
	fs->named = calloc(nargs ? nargs : 1, sizeof(*fs->named));
	if (fs->named == NULL)
		return -1;
	for (size_t i = 0; i < nargs; i++) {
		struct named *nm = &fs->named[fs->nnamed];
		char *path = NULL, *real = NULL, *text = NULL;
		char why[256];
		size_t len;

		nm->arg = args[i];
		nm->index = -1;
		real = realpath(args[i], NULL);
		if (real != NULL && fileset_find(fs, real) >= 0) {
			free(real); /* named twice: report it once */
			continue;
		}
		fs->nnamed++;
		if (read_capped(args[i], PIPELINE_FILE_MAX, &text, &len, why,
		        sizeof(why)) < 0) {
			diag_add(&nm->diag, args[i], NULL, "%s", why);
			free(real);
			continue;
		}
		if (real == NULL && (real = strdup(args[i])) == NULL) {
			free(text);
			return -1;
		}
		path = strdup(args[i]);
		if (path == NULL || fileset_add(fs, path, real, text, len) < 0)
			return -1;
		nm->index = (ssize_t)fs->n - 1;
	}
	for (size_t i = 0; i < fs->nnamed; i++) {
		char *dir;
		bool seen = false;

		if (fs->named[i].index < 0)
			continue;
		dir = dir_of(fs->named[i].arg);
		if (dir == NULL)
			return -1;
		for (size_t j = 0; j < i && !seen; j++) {
			char *other;

			if (fs->named[j].index < 0)
				continue;
			other = dir_of(fs->named[j].arg);
			seen = other != NULL && strcmp(other, dir) == 0;
			free(other);
		}
		if (!seen && fileset_add_dir(fs, dir) < 0) {
			free(dir);
			return -1;
		}
		free(dir);
	}
	return 0;
}

/* Compile the set; *out has one entry per set entry.  -1 on OOM. */
static int
fileset_compile(const struct fileset *fs, const struct pipeline_floors *floors,
    struct pipeline_compiled **out)
{
	struct pipeline_io io = {io_read, NULL};
	struct pipeline_file *files;
	int rc;

	files = calloc(fs->n ? fs->n : 1, sizeof(*files));
	if (files == NULL)
		return -1;
	for (size_t i = 0; i < fs->n; i++)
		files[i] = (struct pipeline_file){
		    fs->e[i].path, fs->e[i].text, fs->e[i].len};
	rc = pipeline_compile_files(files, fs->n, floors, &io, out);
	free(files);
	return rc < 0 ? -1 : 0;
}

static bool
compiled_valid(const struct pipeline_compiled *c)
{
	return c->diag.n == 0 && c->diag.dropped == 0 &&
	    (c->is_template || c->p != NULL);
}

/* Show the named files' results; returns how many are invalid. */
static size_t
report_named(const struct output *o, struct output_ctx *ctx,
    const struct fileset *fs, const struct pipeline_compiled *set)
{
	size_t ninvalid = 0;

	for (size_t i = 0; i < fs->nnamed; i++) {
		const struct named *nm = &fs->named[i];
		struct output_file f = {.file = nm->arg, .diag = &nm->diag};

		if (nm->index >= 0) {
			const struct pipeline_compiled *c = &set[nm->index];

			f.pipeline = c->name;
			f.is_template = c->is_template;
			f.valid = compiled_valid(c);
			f.sha256 = c->is_template ? NULL : c->sha256;
			f.diag = &c->diag;
		}
		if (!f.valid)
			ninvalid++;
		o->file(ctx, &f);
	}
	o->files_end(ctx, fs->nnamed, ninvalid);
	return ninvalid;
}

/* Load --floors FILE: a floors mapping, or a gantryd.conf whose
 * safety_floors key holds one.  Problems go to stderr. */
static int
load_floors(const char *file, struct pipeline_floors *floors)
{
	struct gantry_error err = {0};
	struct diag d = {0};
	const json_t *v;
	json_t *doc = NULL;
	char *text = NULL;
	char why[256];
	size_t len, flen = strlen(file);
	int rc = -1;

	if (read_capped(
	        file, PIPELINE_FILE_MAX, &text, &len, why, sizeof(why)) < 0) {
		fprintf(stderr, "gantryctl: %s: %s\n", file, why);
		return -1;
	}
	if (flen > 5 && strcmp(file + flen - 5, ".json") == 0) {
		json_error_t jerr;

		doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		if (doc == NULL)
			gantry_error_set(&err, GANTRY_EINVAL,
			    "line %d, column %d: %s", jerr.line, jerr.column,
			    jerr.text);
	} else {
		doc = yaml_load(text, len, &err);
	}
	if (doc == NULL) {
		fprintf(stderr, "gantryctl: %s: %s\n", file, err.msg);
		goto out;
	}
	v = doc;
	if (json_is_object(doc) && json_object_get(doc, "safety_floors"))
		v = json_object_get(doc, "safety_floors");
	rc = floors_from_json_at(
	    v, file, v == doc ? NULL : "safety_floors", floors, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
out:
	diag_clear(&d);
	json_decref(doc);
	free(text);
	return rc;
}

/*
 * RFC 3339 with seconds: 2026-11-30T09:00:00Z, 2026-11-30T10:00:00+01:00
 * (fractions of a second are accepted and dropped), or "now".
 */
static int
parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0, sign = 0;
	struct tm tm = {0};
	const char *p;
	time_t t;

	if (strcmp(s, "now") == 0) {
		*out = (int64_t)time(NULL);
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 ||
	    (s[10] != 'T' && s[10] != 't'))
		return -1;
	n = 0;
	if (sscanf(s + 11, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 &&
	    sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && n == 5) {
		sign = *p == '+' ? 1 : -1;
		if (oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec > 59 ? 59 : sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != d)
		return -1; /* 2026-02-30 normalised into March */
	*out = (int64_t)t - sign * (oh * 3600 + om * 60);
	return 0;
}

static const struct output *
output_by_name(const char *name)
{
	if (strcmp(name, "text") == 0)
		return &output_text;
	if (strcmp(name, "json") == 0)
		return &output_json;
	return NULL;
}

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"floors", required_argument, NULL, 'f'},
    {"start", required_argument, NULL, 's'},
    {"assume-hook", required_argument, NULL, 'a'},
    /* Long only: the letters are not in the short option string. */
    {"server", required_argument, NULL, 'S'},
    {"token", required_argument, NULL, 'T'},
    {"revision", required_argument, NULL, 'r'},
    {"artifact-uri", required_argument, NULL, 'U'},
    {"artifact-sha256", required_argument, NULL, 'H'},
    {"artifact-signature", required_argument, NULL, 'G'},
    {"reason", required_argument, NULL, 'R'},
    {"idempotency-key", required_argument, NULL, 'K'},
    {"watch", no_argument, NULL, 'w'},
    {"dry-run", no_argument, NULL, 'D'},
    {"attempt", required_argument, NULL, 'n'},
    {"pipeline", required_argument, NULL, 'P'},
    {"state", required_argument, NULL, 'X'},
    {"limit", required_argument, NULL, 'L'},
    {"all", no_argument, NULL, 'A'},
    {"expires-in", required_argument, NULL, 'E'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

struct opts {
	const struct output *out;
	const char *floors_file;
	const char *start;
	const char *assume_hook;
	struct exec_opts x; /* the remote commands' */
};

/* The options each remote command takes, by the letters above. */
static const struct {
	const char *cmd;
	const char *allowed;
} remote_options[] = {
    {"trigger", "oSTrUHGRKwD"},
    {"status", "oST"},
    {"watch", "oST"},
    {"abort", "oSTR"},
    {"rollback", "oSTR"},
    {"pause", "oSTR"},
    {"resume", "oSTR"},
    {"logs", "oSTn"},
    {"history", "oSTPXLA"},
    {"alarms", "oST"},
    {"alarm-state", "oSTR"},
    {"blockers", "oST"},
    {"override", "oSTRE"},
    {"hold", "oSTR"},
    {"unhold", "oSTR"},
};

/* Options of a command; which letters it takes is in allowed.  Returns
 * -1 after a usage message, 1 when --help was shown, else 0. */
static int
parse_opts(int argc, char **argv, const char *allowed, struct opts *o)
{
	int c, li = -1;

	o->out = &output_text;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(
	            argc, argv, ":o:f:s:a:hV", long_options, &li)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c != '?' && c != ':' && strchr(allowed, c) == NULL) {
			/* argv[optind - 1] may be the option's argument. */
			if (li >= 0)
				fprintf(stderr,
				    "gantryctl %s: --%s: option "
				    "not valid for this command\n",
				    argv[0], long_options[li].name);
			else
				fprintf(stderr,
				    "gantryctl %s: -%c: option "
				    "not valid for this command\n",
				    argv[0], c);
			usage(stderr);
			return -1;
		}
		li = -1;
		if (c == '?' || c == ':') {
			fprintf(stderr, "gantryctl %s: %s: %s\n", argv[0],
			    argv[optind - 1],
			    c == '?' ? "unknown option" : "missing argument");
			usage(stderr);
			return -1;
		}
		switch (c) {
		case 'o':
			o->out = output_by_name(optarg);
			if (o->out == NULL) {
				fprintf(stderr,
				    "gantryctl %s: --output must be text or "
				    "json, not \"%s\"\n",
				    argv[0], optarg);
				return -1;
			}
			break;
		case 'f':
			o->floors_file = optarg;
			break;
		case 's':
			o->start = optarg;
			break;
		case 'a':
			o->assume_hook = optarg;
			break;
		case 'S':
			o->x.server = optarg;
			break;
		case 'T':
			o->x.token = optarg;
			break;
		case 'r':
			o->x.revision = optarg;
			break;
		case 'U':
			o->x.artifact_uri = optarg;
			break;
		case 'H':
			o->x.artifact_sha256 = optarg;
			break;
		case 'G':
			o->x.artifact_signature = optarg;
			break;
		case 'R':
			o->x.reason = optarg;
			break;
		case 'K':
			o->x.idempotency_key = optarg;
			break;
		case 'w':
			o->x.watch = true;
			break;
		case 'D':
			o->x.dry_run = true;
			break;
		case 'n':
			o->x.attempt = optarg;
			break;
		case 'P':
			o->x.pipeline = optarg;
			break;
		case 'X':
			o->x.state = optarg;
			break;
		case 'L':
			o->x.limit = optarg;
			break;
		case 'A':
			o->x.all = true;
			break;
		case 'E':
			o->x.expires_in = optarg;
			break;
		}
	}
	return 0;
}

static int
cmd_validate(int argc, char **argv)
{
	struct output_ctx ctx = {stdout, stderr, NULL};
	struct pipeline_compiled *set = NULL;
	struct pipeline_floors floors = {0};
	struct fileset fs;
	struct opts o = {0};
	size_t ninvalid;
	int rc;

	rc = parse_opts(argc, argv, "of", &o);
	if (rc != 0)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (optind >= argc) {
		fprintf(stderr, "gantryctl validate: no FILE given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.floors_file != NULL && load_floors(o.floors_file, &floors) < 0)
		return EXIT_USAGE;
	if (fileset_build(&fs, argv + optind, (size_t)(argc - optind)) < 0 ||
	    fileset_compile(&fs, &floors, &set) < 0) {
		fprintf(stderr, "gantryctl: out of memory\n");
		fileset_free(&fs);
		return EXIT_INVALID;
	}
	ninvalid = report_named(o.out, &ctx, &fs, set);
	pipeline_set_free(set, fs.n);
	fileset_free(&fs);
	output_ctx_clear(&ctx);
	return ninvalid > 0 ? EXIT_INVALID : EXIT_OK;
}

static int
cmd_plan(int argc, char **argv)
{
	struct output_ctx ctx = {stdout, stderr, NULL};
	struct plan_assume assume = {DEFAULT_ASSUME_HOOK_MS};
	struct pipeline_compiled *set = NULL;
	struct gantry_error err = {0};
	const struct pipeline_compiled *c;
	struct stage *stages = NULL;
	struct plan *plan = NULL;
	struct fileset fs = {0};
	struct opts o = {0};
	size_t nstages = 0;
	int64_t start;
	int rc;

	rc = parse_opts(argc, argv, "osa", &o);
	if (rc != 0)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (argc - optind != 1) {
		fprintf(stderr, "gantryctl plan: %s\n",
		    optind >= argc ? "no FILE given" : "give exactly one FILE");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (parse_time(o.start ? o.start : "now", &start) < 0) {
		fprintf(stderr,
		    "gantryctl plan: --start: bad time \"%s\" (expected "
		    "RFC 3339 such as 2026-11-30T09:00:00Z or "
		    "2026-11-30T10:00:00+01:00, or now)\n",
		    o.start);
		return EXIT_USAGE;
	}
	if (o.assume_hook != NULL &&
	    duration_parse(o.assume_hook, &assume.hook_ms, &err) < 0) {
		fprintf(stderr, "gantryctl plan: --assume-hook: %s\n", err.msg);
		return EXIT_USAGE;
	}
	rc = EXIT_INVALID;
	if (fileset_build(&fs, argv + optind, 1) < 0 ||
	    fileset_compile(&fs, NULL, &set) < 0) {
		o.out->error(&ctx, "internal", "out of memory");
		goto out;
	}
	c = fs.named[0].index >= 0 ? &set[fs.named[0].index] : NULL;
	if (c == NULL || !compiled_valid(c)) {
		report_named(o.out, &ctx, &fs, set);
		goto out;
	}
	if (c->is_template) {
		o.out->error(&ctx, "invalid_request",
		    "%s: template \"%s\" is not a pipeline: plan a pipeline "
		    "that extends it",
		    fs.named[0].arg, c->name);
		goto out;
	}
	if (waves_expand(c->p, &stages, &nstages, &err) < 0) {
		o.out->error(&ctx, gantry_err_name(err.code), "%s: %s",
		    fs.named[0].arg, err.msg);
		goto out;
	}
	plan = plan_build(c->p, stages, nstages, start, &assume, &err);
	if (plan == NULL) {
		o.out->error(&ctx, gantry_err_name(err.code), "%s: %s",
		    fs.named[0].arg, err.msg);
		goto out;
	}
	if (o.out->plan(&ctx,
	        &(struct output_plan){
	            fs.named[0].arg, c->name, c->sha256, plan}) < 0) {
		fprintf(stderr, "gantryctl: cannot write the plan\n");
		goto out;
	}
	rc = EXIT_OK;
out:
	plan_free(plan);
	stages_free(stages, nstages);
	pipeline_set_free(set, fs.n);
	fileset_free(&fs);
	output_ctx_clear(&ctx);
	return rc;
}

/* A command that talks to gantryd (cmd_exec.c). */
static int
cmd_remote(int argc, char **argv)
{
	const char *allowed = NULL;
	struct opts o = {0};
	int rc;

	for (size_t i = 0;
	     i < sizeof(remote_options) / sizeof(remote_options[0]); i++)
		if (strcmp(argv[0], remote_options[i].cmd) == 0)
			allowed = remote_options[i].allowed;
	if (allowed == NULL)
		return EXIT_USAGE;
	rc = parse_opts(argc, argv, allowed, &o);
	if (rc != 0)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	o.x.json = o.out == &output_json;
	return cmd_exec_run(argv[0], &o.x, argc - optind, argv + optind);
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("gantryctl %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "validate") == 0)
		rc = cmd_validate(argc - 1, argv + 1);
	else if (strcmp(argv[1], "plan") == 0)
		rc = cmd_plan(argc - 1, argv + 1);
	else if (cmd_exec_is_command(argv[1]))
		rc = cmd_remote(argc - 1, argv + 1);
	else {
		fprintf(stderr, "gantryctl: unknown command \"%s\"\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gantryctl: cannot write output: %s\n",
		    strerror(errno));
		return EXIT_INVALID;
	}
	return rc;
}
