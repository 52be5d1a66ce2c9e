/*
 * main.c - gantryd: startup order, signals, the loop, drain and exit.
 *
 * Startup: parse options -> load and validate the config -> open the
 * listen socket (or take systemd's) -> drop root -> detach unless
 * --foreground -> event loop: signals, HTTP, database connection ->
 * migrations on every (re)connect -> READY=1.  SIGHUP reloads what can be
 * reloaded; SIGTERM/SIGINT drain (stop accepting, finish in-flight
 * requests), a second one stops at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "api.h"
#include "config_load.h"
#include "db_migrate.h"
#include "alarms.h"
#include "engine.h"
#include "holds.h"
#include "httpc.h"
#include "gantryd.h"
#include "http.h"
#include "log.h"
#include "pg.h"
#include "pipelines.h"
#include "sdnotify.h"

/* PACKAGE_VERSION comes from configure's -D flags. */
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define DRAIN_MAX_SECONDS 10.0
#define MIGRATE_ONLY_DEADLINE_S 60

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: gantryd --config FILE [--foreground] [--migrate-only]\n"
	    "               [--check-config] [--version] [--help]\n"
	    "\n"
	    "  -c, --config FILE   configuration file (gantryd.conf(5))\n"
	    "  -f, --foreground    stay in the foreground (use under "
	    "systemd)\n"
	    "  -m, --migrate-only  apply database migrations, then exit\n"
	    "  -n, --check-config  validate the configuration, then exit\n"
	    "  -V, --version       print the version, then exit\n"
	    "  -h, --help          print this help, then exit\n"
	    "\n"
	    "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration "
	    "error.\n"
	    "See gantryd(8) and gantryd.conf(5).\n");
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
apply_log_level(const struct gantry_config *cfg)
{
	log_set_level(cfg->log_level);
}

int
gantryd_reload(struct gantryd *d, struct diag *diag, char *restart,
    size_t restart_len, json_t **pipelines)
{
	struct gantry_config *cfg = config_load_file(d->config_path, diag);
	size_t n;

	if (cfg == NULL) {
		for (size_t i = 0; i < diag->n; i++) {
			char q[1100];

			log_err("config.invalid", "error=%s",
			    log_quote(diag->msgs[i], q, sizeof(q)));
		}
		log_err("config.reload_failed",
		    "file=%s errors=%zu kept=running", d->config_path,
		    diag->n + diag->dropped);
		return -1;
	}
	n = config_restart_needed(d->cfg, cfg, restart, restart_len);
	if (n > 0)
		log_warn("config.restart_needed", "keys=\"%s\"", restart);
	config_free(d->cfg);
	d->cfg = cfg;
	apply_log_level(cfg);
	if (d->http != NULL)
		http_server_set_max_body(d->http, (size_t)cfg->max_body);
	log_info("config.reloaded", "file=%s tokens=%zu log_level=%s",
	    d->config_path, cfg->ntokens,
	    config_log_level_name(cfg->log_level));
	if (d->alarms != NULL)
		alarms_sync_soon(d->alarms); /* org-wide alarms */
	if (d->pipelines != NULL) {
		json_t *summary = pipelines_load_dir(d->pipelines);

		if (pipelines != NULL)
			*pipelines = summary;
		else
			json_decref(summary);
	}
	return 0;
}

/* --- shutdown --------------------------------------------------------------- */

static void
stop_now(struct gantryd *d)
{
	event_base_loopexit(d->base, NULL);
}

static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct gantryd *d = arg;
	unsigned inflight = d->http ? http_server_inflight(d->http) : 0;

	if (inflight == 0) {
		log_info("shutdown.drained", "seconds=%.3f",
		    mono_now() - d->drain_started);
		stop_now(d);
		return;
	}
	if (mono_now() - d->drain_started > DRAIN_MAX_SECONDS) {
		log_warn("shutdown.drain_timeout", "inflight=%u", inflight);
		http_server_abort_suspended(
		    d->http, "gantryd is shutting down");
		stop_now(d);
	}
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct gantryd *d = arg;
	struct timeval tv = {0, 20000};

	if (d->draining) {
		log_warn("shutdown.immediate", "signal=%d", (int)sig);
		if (d->http != NULL)
			http_server_abort_suspended(
			    d->http, "gantryd is shutting down");
		stop_now(d);
		return;
	}
	d->draining = true;
	d->drain_started = mono_now();
	sdnotify_stopping();
	log_info("shutdown.drain", "signal=%d inflight=%u", (int)sig,
	    d->http ? http_server_inflight(d->http) : 0);
	if (d->http == NULL) {
		stop_now(d);
		return;
	}
	http_server_quiesce(d->http);
	d->ev_drain = event_new(d->base, -1, EV_PERSIST, drain_check, d);
	if (d->ev_drain == NULL || event_add(d->ev_drain, &tv) < 0)
		stop_now(d);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct gantryd *d = arg;
	struct diag diag = {0};
	char restart[256];

	sdnotify_reloading();
	log_info("config.reload", "file=%s trigger=SIGHUP", d->config_path);
	(void)gantryd_reload(d, &diag, restart, sizeof(restart), NULL);
	diag_clear(&diag);
	sdnotify_ready("reloaded");
}

/* --- database --------------------------------------------------------------- */

static void
migrated(bool ok, int version, bool fatal_err, const char *why, void *arg)
{
	struct gantryd *d = arg;
	char q[600];

	d->migrating = false;
	if (ok) {
		d->schema_current = true;
		d->schema_version = version;
		d->schema_error[0] = '\0';
		log_info("db.schema_current", "version=%d", version);
		if (d->migrate_only) {
			d->exit_code = 0;
			stop_now(d);
			return;
		}
		pipelines_sync(d->pipelines);
		if (d->holds != NULL)
			holds_db_ready(d->holds);
		if (d->alarms != NULL)
			alarms_db_ready(d->alarms);
		if (d->engine != NULL)
			engine_db_ready(d->engine);
		if (!d->ready_notified) {
			d->ready_notified = true;
			sdnotify_ready("serving");
		}
		return;
	}
	snprintf(d->schema_error, sizeof(d->schema_error), "%s", why);
	if (!fatal_err) {
		/* The connection broke: the next connect runs again. */
		log_warn("db.migrate_interrupted", "error=%s",
		    log_quote(why, q, sizeof(q)));
		return;
	}
	d->schema_current = false;
	log_err("db.migrate_failed", "error=%s", log_quote(why, q, sizeof(q)));
	d->exit_code = 1;
	if (d->http != NULL)
		http_server_abort_suspended(d->http, why);
	stop_now(d);
}

static void
db_state(struct pg *pg, bool up, const char *why, void *arg)
{
	struct gantryd *d = arg;

	if (!up)
		return; /* pg.c logged it; readyz reports it */
	if (!d->migrating) {
		d->migrating = true;
		db_migrate_run(pg, migrated, d);
	}
}

/* A group-commit connection came up (or went): the engine sends what
 * waits once the schema is current. */
static void
commit_db_state(struct pg *pg, bool up, const char *why, void *arg)
{
	struct gantryd *d = arg;

	if (up && d->schema_current && d->engine != NULL)
		engine_commit_ready(d->engine);
}

static void
migrate_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct gantryd *d = arg;
	char q[400];

	log_err("db.migrate_failed", "error=%s",
	    log_quote(pg_last_error(d->pg), q, sizeof(q)));
	d->exit_code = 1;
	stop_now(d);
}

/* --- privileges and process ---------------------------------------------- */

static int
drop_privileges(const struct gantry_config *cfg)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (cfg->user == NULL) {
		if (cfg->allow_root) {
			log_warn("privileges.root",
			    "msg=\"running as root (allow_root: true)\"");
			return 0;
		}
		log_err("privileges.root",
		    "msg=\"refusing to run as root: set user: or "
		    "allow_root: true in the config\"");
		return -1;
	}
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		log_err("privileges.user", "user=%s msg=\"no such user\"",
		    cfg->user);
		return -1;
	}
	if (setgroups(0, NULL) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		log_err("privileges.drop", "user=%s error=\"%s\"", cfg->user,
		    strerror(errno));
		return -1;
	}
	if (setresuid(0, 0, 0) == 0 || geteuid() == 0) {
		log_err("privileges.drop",
		    "user=%s error=\"could regain root\"", cfg->user);
		return -1;
	}
	log_info(
	    "privileges.dropped", "user=%s uid=%d", cfg->user, (int)pw->pw_uid);
	return 0;
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

static int
open_listener(struct gantryd *d)
{
	struct gantry_error err;
	int fd;

	if (d->cfg->listen_systemd) {
		int n = sd_listen_fds(1);

		if (n < 1) {
			log_err("http.listen",
			    "error=\"listen: systemd but no socket was "
			    "passed (sd_listen_fds=%d)\"",
			    n);
			return -1;
		}
		fd = SD_LISTEN_FDS_START;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		log_info("http.listen", "socket=systemd fd=%d", fd);
		return fd;
	}
	fd = http_listen_socket(
	    d->cfg->listen_host, d->cfg->listen_port, &d->bound_port, &err);
	if (fd < 0) {
		char q[600];

		log_err("http.listen", "error=%s",
		    log_quote(err.msg, q, sizeof(q)));
		return -1;
	}
	log_info("http.listen", "addr=%s port=%d", d->cfg->listen_host,
	    d->bound_port);
	return fd;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"migrate-only", no_argument, NULL, 'm'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct gantryd d;
	struct diag diag = {0};
	struct http_hooks hooks;
	struct gantry_error err;
	bool foreground = false, check_only = false;
	int ch, listen_fd = -1;

	memset(&d, 0, sizeof(d));
	log_init();
	while ((ch = getopt_long(argc, argv, "c:fmnVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'm':
			d.migrate_only = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'V':
			printf("gantryd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || d.config_path == NULL) {
		fprintf(stderr, "gantryd: %s\n",
		    optind != argc ? "unexpected argument"
		                   : "--config FILE is required");
		usage(stderr);
		return 2;
	}
	d.cfg = config_load_file(d.config_path, &diag);
	if (d.cfg == NULL) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.msgs[i]);
		if (diag.dropped)
			fprintf(
			    stderr, "... and %zu more errors\n", diag.dropped);
		diag_clear(&diag);
		return 2;
	}
	if (check_only) {
		printf("%s: configuration ok\n", d.config_path);
		config_free(d.cfg);
		return 0;
	}
	apply_log_level(d.cfg);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	if (!d.migrate_only) {
		listen_fd = open_listener(&d);
		if (listen_fd < 0) {
			config_free(d.cfg);
			return 1;
		}
	}
	if (drop_privileges(d.cfg) < 0) {
		config_free(d.cfg);
		return 2;
	}
	if (!foreground && !d.migrate_only && detach() < 0)
		fatal("daemon.detach", "error=\"%s\"", strerror(errno));

	{
		/* Precise timers: with the default coarse monotonic clock
		 * (~4 ms steps) a bake's timer wakes early and the machine
		 * must re-arm it, one more transition each time. */
		struct event_config *ec = event_config_new();

		if (ec != NULL)
			event_config_set_flag(
			    ec, EVENT_BASE_FLAG_PRECISE_TIMER);
		d.base = ec != NULL ? event_base_new_with_config(ec) : NULL;
		if (ec != NULL)
			event_config_free(ec);
	}
	d.metrics = metrics_new();
	if (d.base == NULL || d.metrics == NULL || api_metrics_init(&d) < 0)
		fatal("daemon.init", "error=\"out of memory\"");
	d.ev_term = evsignal_new(d.base, SIGTERM, on_stop_signal, &d);
	d.ev_int = evsignal_new(d.base, SIGINT, on_stop_signal, &d);
	d.ev_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	if (d.ev_term == NULL || d.ev_int == NULL || d.ev_hup == NULL ||
	    event_add(d.ev_term, NULL) < 0 || event_add(d.ev_int, NULL) < 0 ||
	    event_add(d.ev_hup, NULL) < 0)
		fatal("daemon.init", "error=\"cannot install signal events\"");

	d.pg = pg_new(d.base, d.cfg->database, d.cfg->db_connect_timeout_ms,
	    d.cfg->db_statement_timeout_ms, db_state, &d);
	if (d.pg == NULL)
		fatal("daemon.init", "error=\"out of memory\"");
	if (!d.migrate_only && d.cfg->db_commit_connections > 1) {
		d.ncommit_pg = (size_t)d.cfg->db_commit_connections - 1;
		d.commit_pg = calloc(d.ncommit_pg, sizeof(*d.commit_pg));
		for (size_t i = 0; d.commit_pg != NULL && i < d.ncommit_pg;
		     i++) {
			d.commit_pg[i] = pg_new(d.base, d.cfg->database,
			    d.cfg->db_connect_timeout_ms,
			    d.cfg->db_statement_timeout_ms, commit_db_state,
			    &d);
			if (d.commit_pg[i] == NULL)
				break;
			/* told apart from the main one in pg_stat_activity */
			pg_set_app_name(d.commit_pg[i], "gantryd-commit");
		}
		if (d.commit_pg == NULL ||
		    d.commit_pg[d.ncommit_pg - 1] == NULL)
			fatal("daemon.init", "error=\"out of memory\"");
	}

	if (d.migrate_only) {
		struct timeval tv = {MIGRATE_ONLY_DEADLINE_S, 0};

		d.exit_code = 1;
		d.ev_deadline = evtimer_new(d.base, migrate_deadline, &d);
		if (d.ev_deadline == NULL ||
		    evtimer_add(d.ev_deadline, &tv) < 0)
			fatal("daemon.init", "error=\"cannot arm timer\"");
	} else {
		api_hooks(&d, &hooks);
		d.http = http_server_new(d.base, listen_fd,
		    (unsigned)d.cfg->max_connections, &hooks, &err);
		if (d.http == NULL)
			fatal("http.start", "error=\"%s\"", err.msg);
		http_server_set_max_body(d.http, (size_t)d.cfg->max_body);
		d.ev_watchdog = sdnotify_watchdog_start(d.base);
		d.pipelines = pipelines_new(&d);
		if (d.pipelines == NULL)
			fatal("daemon.init", "error=\"out of memory\"");
		json_decref(pipelines_load_dir(d.pipelines));
		d.engine = engine_new(&d);
		if (d.engine == NULL)
			fatal("daemon.init",
			    "error=\"cannot start the engine (state_dir %s)\"",
			    d.cfg->state_dir);
		d.httpc = httpc_new(d.base, NULL, &err);
		if (d.httpc == NULL)
			log_warn("httpc.init_failed",
			    "error=\"%s\" effect=\"no Prometheus queries, no "
			    "notification webhooks\"",
			    err.msg);
		d.holds = holds_new(&d);
		d.alarms = alarms_new(&d);
		if (d.holds == NULL || d.alarms == NULL)
			fatal("daemon.init", "error=\"out of memory\"");
		alarms_sync(d.alarms);
	}
	log_info("daemon.start", "version=%s pid=%d migrations=%d",
	    PACKAGE_VERSION, (int)getpid(), db_migrate_latest());
	pg_start(d.pg);
	for (size_t i = 0; i < d.ncommit_pg; i++)
		pg_start(d.commit_pg[i]);

	event_base_dispatch(d.base);

	/* Teardown in reverse; debug builds stay leak-free (STYLE 16). */
	http_server_free(d.http);
	pg_free(d.pg); /* failed queries' callbacks still find alarms, holds */
	for (size_t i = 0; i < d.ncommit_pg; i++)
		pg_free(d.commit_pg[i]); /* ... and the engine */
	free(d.commit_pg);
	alarms_free(d.alarms);
	holds_free(d.holds);
	if (d.httpc != NULL)
		httpc_free(d.httpc); /* notification callbacks run first */
	engine_free(d.engine);
	pipelines_free(d.pipelines);
	if (d.ev_drain != NULL)
		event_free(d.ev_drain);
	if (d.ev_deadline != NULL)
		event_free(d.ev_deadline);
	if (d.ev_watchdog != NULL)
		event_free(d.ev_watchdog);
	event_free(d.ev_term);
	event_free(d.ev_int);
	event_free(d.ev_hup);
	metrics_free(d.metrics);
	event_base_free(d.base);
	config_free(d.cfg);
	log_info("daemon.exit", "status=%d", d.exit_code);
	return d.exit_code;
}
