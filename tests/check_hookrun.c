/*
 * check_hookrun.c - tests for daemon/hookrun.c with real /bin/sh hooks
 * written to a mkdtemp directory: exit statuses, signals, the exact
 * environment, cwd and relative paths, capture caps, timeouts (TERM, then
 * KILL after the grace), background children, concurrency and the FIFO
 * queue, kills, spawn failures, signal dispositions in the child, and
 * hookrun_free with hooks in flight.  Each test owns its event_base.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "hookrun.h"
#include "log.h"

#define CAPTURE (64 * 1024)

static char *const default_env[] = {"PATH=/usr/bin:/bin", "HOME=/tmp", NULL};

/* What a done callback saw, copied out of the borrowed result. */
struct res {
	bool done;
	int status;
	bool timed_out, killed;
	char *why;
	char *out, *err;
	size_t out_len, err_len;
	bool out_truncated, err_truncated;
	pid_t pid;
	int64_t started_ms, finished_ms;
	double done_at; /* monotonic seconds */
	int started_calls;
	pid_t started_pid;
	bool started_after_done;
	unsigned running_at_start; /* hookrun_running() in started */
	struct hookrun *hr;
	struct res *shared; /* concurrency bookkeeping */
	unsigned max_seen;
	unsigned ndone;
};

static char tmpdir[64];
/* Under valgrind, glibc's posix_spawn cannot report exec failures (no
 * shared-memory vfork): the child exits 127 instead. */
static bool under_valgrind;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/check_hookrun.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	log_set_level(LOG_LVL_WARN);
}

static void
teardown(void)
{
	nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* Write tmpdir/name with body after a #!/bin/sh line; returns the path
 * (static buffer, one at a time). */
static const char *
script(const char *name, const char *body, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static void
on_started(struct hook *h, pid_t pid, void *arg)
{
	struct res *r = arg;

	(void)h;
	r->started_calls++;
	r->started_pid = pid;
	if (r->done)
		r->started_after_done = true;
	if (r->hr != NULL)
		r->running_at_start = hookrun_running(r->hr);
	if (r->shared != NULL && r->running_at_start > r->shared->max_seen)
		r->shared->max_seen = r->running_at_start;
}

static void
on_done(struct hook *h, const struct hook_result *hr, void *arg)
{
	struct res *r = arg;

	(void)h;
	ck_assert(!r->done);
	r->done = true;
	r->done_at = mono();
	r->status = hr->status;
	r->timed_out = hr->timed_out;
	r->killed = hr->killed;
	r->why = hr->why != NULL ? strdup(hr->why) : NULL;
	r->out = malloc(hr->out_len + 1);
	memcpy(r->out, hr->out, hr->out_len);
	r->out[hr->out_len] = '\0';
	r->out_len = hr->out_len;
	r->out_truncated = hr->out_truncated;
	r->err = malloc(hr->err_len + 1);
	memcpy(r->err, hr->err, hr->err_len);
	r->err[hr->err_len] = '\0';
	r->err_len = hr->err_len;
	r->err_truncated = hr->err_truncated;
	r->pid = hr->pid;
	r->started_ms = hr->started_ms;
	r->finished_ms = hr->finished_ms;
	if (r->shared != NULL)
		r->shared->ndone++;
}

static void
res_clear(struct res *r)
{
	free(r->why);
	free(r->out);
	free(r->err);
}

/* Run the loop until *flag or `limit` seconds passed. */
static void
loop_until(struct event_base *base, const bool *flag, double limit)
{
	double end = mono() + limit;
	struct timeval tick = {0, 20000};

	while (!*flag && mono() < end) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
}

static void
loop_for(struct event_base *base, double secs)
{
	struct timeval tv = {
	    (time_t)secs, (suseconds_t)((secs - (double)(time_t)secs) * 1e6)};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run one hook to the end on a fresh runner; fills r. */
static void
run_hook(const struct hook_spec *spec, size_t capture, struct res *r)
{
	struct event_base *base = event_base_new();
	struct hookrun *hr;

	ck_assert_ptr_nonnull(base);
	hr = hookrun_new(base, 4, capture);
	ck_assert_ptr_nonnull(hr);
	memset(r, 0, sizeof(*r));
	r->hr = hr;
	ck_assert_ptr_nonnull(hookrun_start(hr, spec, on_done, on_started, r));
	loop_until(base, &r->done, 20);
	ck_assert_msg(r->done, "hook did not finish");
	ck_assert_uint_eq(hookrun_running(hr), 0);
	ck_assert_uint_eq(hookrun_queued(hr), 0);
	hookrun_free(hr);
	event_base_free(base);
}

static void
run_script(const char *body, size_t capture, struct res *r)
{
	struct hook_spec spec = {0};

	spec.path = script("hook", body, 0755);
	spec.env = default_env;
	spec.label = "test";
	run_hook(&spec, capture, r);
}

START_TEST(test_exit_codes)
{
	struct res r;

	run_script("exit 0", CAPTURE, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert(!r.timed_out && !r.killed);
	ck_assert_ptr_null(r.why);
	ck_assert_int_gt(r.pid, 0);
	ck_assert_int_eq(r.started_calls, 1);
	ck_assert_int_eq(r.started_pid, r.pid);
	ck_assert(!r.started_after_done);
	ck_assert_int_gt(r.started_ms, 0);
	ck_assert_int_ge(r.finished_ms, r.started_ms);
	res_clear(&r);

	run_script("exit 3", CAPTURE, &r);
	ck_assert_int_eq(r.status, 3);
	res_clear(&r);
}
END_TEST

START_TEST(test_killed_by_signal)
{
	struct res r;

	run_script("kill -9 $$", CAPTURE, &r);
	ck_assert_int_eq(r.status, 128 + 9);
	ck_assert(!r.timed_out && !r.killed);
	res_clear(&r);
}
END_TEST

START_TEST(test_env_exact)
{
	struct hook_spec spec = {0};
	char *const env[] = {"PATH=/usr/bin:/bin", "HOME=/var/lib/gantry",
	    "GANTRY_X=a b=c", NULL};
	struct res r;

	char *saved = getenv("LD_PRELOAD");

	saved = saved != NULL ? strdup(saved) : NULL;
	ck_assert_int_eq(setenv("LD_PRELOAD", "/nonexistent/x.so", 1), 0);
	ck_assert_int_eq(setenv("GANTRY_LEAK", "1", 1), 0);
	/* The exec'd shell's own environment, exactly as given to exec. */
	spec.path = script("env", "tr '\\0' '\\n' < /proc/$$/environ", 0755);
	spec.env = env;
	run_hook(&spec, CAPTURE, &r);
	if (saved != NULL)
		setenv("LD_PRELOAD", saved, 1);
	else
		unsetenv("LD_PRELOAD");
	free(saved);
	unsetenv("GANTRY_LEAK");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
	    "PATH=/usr/bin:/bin\nHOME=/var/lib/gantry\nGANTRY_X=a b=c\n");
	ck_assert_str_eq(r.err, "");
	res_clear(&r);
}
END_TEST

START_TEST(test_cwd_and_relative_path)
{
	struct hook_spec spec = {0};
	char *const argv[] = {"rel.sh", "one", "two words", NULL};
	char sub[4096], real[4096], expect[4200];
	struct res r;

	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	script("sub/rel.sh", "pwd; echo \"$1|$2|$#\"", 0755);
	ck_assert_ptr_nonnull(realpath(sub, real));
	spec.path = "rel.sh";
	spec.argv = argv;
	spec.cwd = sub;
	spec.env = default_env;
	run_hook(&spec, CAPTURE, &r);
	ck_assert_int_eq(r.status, 0);
	snprintf(expect, sizeof(expect), "%s\none|two words|2\n", real);
	ck_assert_str_eq(r.out, expect);
	res_clear(&r);
}
END_TEST

START_TEST(test_stdout_stderr)
{
	struct res r;

	run_script("echo to-out; echo to-err >&2; echo more-out; read x; "
	           "echo \"stdin=[$x]\"",
	    CAPTURE, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "to-out\nmore-out\nstdin=[]\n");
	ck_assert_str_eq(r.err, "to-err\n");
	ck_assert(!r.out_truncated && !r.err_truncated);
	res_clear(&r);
}
END_TEST

/* seq 1 n as the test expects it. */
static char *
seq_text(int n, size_t *len)
{
	size_t cap = (size_t)n * 8 + 1, o = 0;
	char *s = malloc(cap);
	int i;

	for (i = 1; i <= n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%d\n", i);
	*len = o;
	return s;
}

START_TEST(test_capture_keeps_last_bytes)
{
	/* Small cap, several wraps of the ring; a large stream (many reads);
	 * exactly the cap (not truncated). */
	static const struct {
		int n;
		size_t cap;
	} cases[] = {
	    {300, 100}, {50000, 1000}, {50000, 7}, {10, 21}, {100000, 65536}};
	size_t len, i;
	struct res r;
	char body[128];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *want = seq_text(cases[i].n, &len);
		size_t keep = len < cases[i].cap ? len : cases[i].cap;

		snprintf(body, sizeof(body), "seq 1 %d; seq 1 %d >&2",
		    cases[i].n, cases[i].n);
		run_script(body, cases[i].cap, &r);
		ck_assert_int_eq(r.status, 0);
		ck_assert_uint_eq(r.out_len, keep);
		ck_assert_uint_eq(r.err_len, keep);
		ck_assert_msg(memcmp(r.out, want + len - keep, keep) == 0,
		    "case %zu: stdout is not the last %zu bytes", i, keep);
		ck_assert(memcmp(r.err, want + len - keep, keep) == 0);
		ck_assert_int_eq(r.out_truncated, len > cases[i].cap);
		ck_assert_int_eq(r.err_truncated, len > cases[i].cap);
		free(want);
		res_clear(&r);
	}
}
END_TEST

START_TEST(test_capture_zero)
{
	struct res r;

	run_script("echo hi", 0, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.out_len, 0);
	ck_assert(r.out_truncated);
	ck_assert_uint_eq(r.err_len, 0);
	ck_assert(!r.err_truncated);
	res_clear(&r);
}
END_TEST

START_TEST(test_timeout)
{
	struct hook_spec spec = {0};
	struct res r;
	double t0;

	spec.path = script("slow", "echo begun; sleep 100", 0755);
	spec.env = default_env;
	spec.timeout_ms = 300;
	t0 = mono();
	run_hook(&spec, CAPTURE, &r);
	ck_assert(r.timed_out);
	ck_assert(!r.killed);
	ck_assert_int_eq(r.status, 128 + SIGTERM);
	ck_assert_str_eq(r.out, "begun\n");
	ck_assert_msg(r.done_at - t0 >= 0.28 && r.done_at - t0 < 1.5,
	    "finished after %.3f s", r.done_at - t0);
	res_clear(&r);
}
END_TEST

START_TEST(test_timeout_term_ignored)
{
	struct hook_spec spec = {0};
	struct res r;
	double t0;

	spec.path = script("stubborn", "trap '' TERM; sleep 100", 0755);
	spec.env = default_env;
	spec.timeout_ms = 200;
	t0 = mono();
	run_hook(&spec, CAPTURE, &r);
	ck_assert(r.timed_out);
	ck_assert_int_eq(r.status, 128 + SIGKILL);
	/* 0.2 s timeout + 2 s grace */
	ck_assert_msg(r.done_at - t0 >= 2.15 && r.done_at - t0 < 4.0,
	    "finished after %.3f s", r.done_at - t0);
	res_clear(&r);
}
END_TEST

START_TEST(test_background_child_killed)
{
	struct res r;
	double t0 = mono();

	run_script("sleep 5 & echo done; exit 0", CAPTURE, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "done\n");
	ck_assert_msg(
	    r.done_at - t0 < 2.0, "finished after %.3f s", r.done_at - t0);
	res_clear(&r);
}
END_TEST

START_TEST(test_drain_timeout)
{
	struct res r;
	double t0 = mono();

	/* setsid escapes the group kill and keeps stdout open: the hook
	 * ends by the drain timer, not by EOF. */
	run_script("setsid sleep 3 & echo done", CAPTURE, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "done\n");
	ck_assert_msg(
	    r.done_at - t0 < 1.5, "finished after %.3f s", r.done_at - t0);
	res_clear(&r);
}
END_TEST

START_TEST(test_concurrency)
{
	struct event_base *base = event_base_new();
	struct hookrun *hr = hookrun_new(base, 2, CAPTURE);
	struct hook_spec spec = {0};
	struct res rs[5], shared;
	double t0 = mono();
	int i;

	memset(rs, 0, sizeof(rs));
	memset(&shared, 0, sizeof(shared));
	spec.path = script("nap", "sleep 0.3", 0755);
	spec.env = default_env;
	for (i = 0; i < 5; i++) {
		rs[i].hr = hr;
		rs[i].shared = &shared;
		ck_assert_ptr_nonnull(
		    hookrun_start(hr, &spec, on_done, on_started, &rs[i]));
		ck_assert_uint_le(hookrun_running(hr), 2);
		/* started runs from the loop, not inside hookrun_start */
		ck_assert_int_eq(rs[i].started_calls, 0);
	}
	ck_assert_uint_eq(hookrun_running(hr), 2);
	ck_assert_uint_eq(hookrun_queued(hr), 3);
	while (shared.ndone < 5 && mono() - t0 < 20)
		loop_for(base, 0.02);
	ck_assert_uint_eq(shared.ndone, 5);
	ck_assert_uint_le(shared.max_seen, 2);
	ck_assert_uint_ge(shared.max_seen, 1);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(rs[i].status, 0);
		ck_assert_int_eq(rs[i].started_calls, 1);
		if (i > 0) /* FIFO */
			ck_assert_int_le(
			    rs[i - 1].started_ms, rs[i].started_ms);
		res_clear(&rs[i]);
	}
	/* Three rounds of 0.3 s at two at a time. */
	ck_assert_msg(
	    mono() - t0 >= 0.85, "all done after %.3f s", mono() - t0);
	ck_assert_uint_eq(hookrun_running(hr), 0);
	hookrun_free(hr);
	event_base_free(base);
}
END_TEST

START_TEST(test_set_max_running)
{
	struct event_base *base = event_base_new();
	struct hookrun *hr = hookrun_new(base, 0, CAPTURE);
	struct hook_spec spec = {0};
	struct res rs[3], shared;
	int i;

	memset(rs, 0, sizeof(rs));
	memset(&shared, 0, sizeof(shared));
	spec.path = script("quick", "exit 7", 0755);
	spec.env = default_env;
	for (i = 0; i < 3; i++) {
		rs[i].shared = &shared;
		hookrun_start(hr, &spec, on_done, NULL, &rs[i]);
	}
	loop_for(base, 0.1);
	ck_assert_uint_eq(hookrun_running(hr), 0);
	ck_assert_uint_eq(hookrun_queued(hr), 3);
	hookrun_set_max_running(hr, 2);
	ck_assert_uint_eq(hookrun_running(hr), 2);
	ck_assert_uint_eq(hookrun_queued(hr), 1);
	while (shared.ndone < 3)
		loop_for(base, 0.02);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(rs[i].status, 7);
		res_clear(&rs[i]);
	}
	hookrun_free(hr);
	event_base_free(base);
}
END_TEST

static void
kill_on_start(struct hook *h, pid_t pid, void *arg)
{
	on_started(h, pid, arg);
	hookrun_kill(h);
}

START_TEST(test_kill_running)
{
	struct event_base *base = event_base_new();
	struct hookrun *hr = hookrun_new(base, 2, CAPTURE);
	struct hook_spec spec = {0};
	struct res r = {0};
	double t0 = mono();

	spec.path = script("long", "sleep 100 & sleep 100; exit 0", 0755);
	spec.env = default_env;
	ck_assert_ptr_nonnull(
	    hookrun_start(hr, &spec, on_done, kill_on_start, &r));
	loop_until(base, &r.done, 10);
	ck_assert(r.done);
	ck_assert(r.killed);
	ck_assert(!r.timed_out);
	ck_assert_int_eq(r.status, 128 + SIGTERM);
	ck_assert_msg(r.done_at - t0 < 1.5, "after %.3f s", r.done_at - t0);
	/* The whole group is gone. */
	loop_for(base, 0.1);
	ck_assert_int_eq(kill(-r.pid, 0), -1);
	res_clear(&r);
	hookrun_free(hr);
	event_base_free(base);
}
END_TEST

START_TEST(test_kill_queued)
{
	struct event_base *base = event_base_new();
	struct hookrun *hr = hookrun_new(base, 1, CAPTURE);
	struct hook_spec spec = {0};
	struct res a = {0}, b = {0};
	struct hook *hb;

	spec.path = script("nap", "sleep 0.2; echo a", 0755);
	spec.env = default_env;
	ck_assert_ptr_nonnull(hookrun_start(hr, &spec, on_done, NULL, &a));
	hb = hookrun_start(hr, &spec, on_done, on_started, &b);
	ck_assert_ptr_nonnull(hb);
	ck_assert_uint_eq(hookrun_running(hr), 1);
	ck_assert_uint_eq(hookrun_queued(hr), 1);
	hookrun_kill(hb);
	ck_assert(!b.done); /* from the loop, not inside hookrun_kill */
	ck_assert_uint_eq(hookrun_queued(hr), 0);
	loop_until(base, &a.done, 10);
	ck_assert(b.done);
	ck_assert(b.killed);
	ck_assert_int_eq(b.status, -1);
	ck_assert_int_eq(b.pid, 0);
	ck_assert_int_eq(b.started_calls, 0);
	ck_assert(a.done);
	ck_assert_int_eq(a.status, 0);
	ck_assert_str_eq(a.out, "a\n");
	ck_assert(!a.killed);
	res_clear(&a);
	res_clear(&b);
	hookrun_free(hr);
	event_base_free(base);
}
END_TEST

START_TEST(test_spawn_failure)
{
	struct event_base *base = event_base_new();
	struct hookrun *hr = hookrun_new(base, 2, CAPTURE);
	struct hook_spec spec = {0};
	struct res a = {0}, b = {0}, c = {0};
	char missing[256];

	spec.env = default_env;
	snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
	spec.path = missing;
	ck_assert_ptr_nonnull(
	    hookrun_start(hr, &spec, on_done, on_started, &a));
	ck_assert(!a.done); /* asynchronous */
	spec.path = script("noexec", "exit 0", 0644);
	ck_assert_ptr_nonnull(
	    hookrun_start(hr, &spec, on_done, on_started, &b));
	spec.path = "/bin/true";
	spec.cwd = missing;
	ck_assert_ptr_nonnull(
	    hookrun_start(hr, &spec, on_done, on_started, &c));
	ck_assert(!b.done && !c.done);
	if (under_valgrind) {
		loop_until(base, &c.done, 10);
		ck_assert(a.done && b.done && c.done);
		ck_assert(a.status != 0 && b.status != 0 && c.status != 0);
		goto out;
	}
	ck_assert_uint_eq(hookrun_running(hr), 0);
	loop_until(base, &c.done, 5);
	ck_assert(a.done && b.done && c.done);
	ck_assert_int_eq(a.status, -1);
	ck_assert_int_eq(a.pid, 0);
	ck_assert_int_eq(a.started_calls, 0);
	ck_assert_ptr_nonnull(a.why);
	ck_assert_msg(strstr(a.why, missing) != NULL &&
	        strstr(a.why, "No such file") != NULL,
	    "why: %s", a.why);
	ck_assert_int_eq(b.status, -1);
	ck_assert_msg(strstr(b.why, "noexec") != NULL &&
	        strstr(b.why, "Permission denied") != NULL,
	    "why: %s", b.why);
	ck_assert_int_eq(c.status, -1);
	ck_assert_msg(strstr(c.why, missing) != NULL, "why: %s", c.why);
out:
	res_clear(&a);
	res_clear(&b);
	res_clear(&c);
	hookrun_free(hr);
	event_base_free(base);
}
END_TEST

START_TEST(test_child_signal_defaults)
{
	struct res r;
	unsigned long long ign = ~0ULL, blk = ~0ULL;
	sigset_t set;
	char *p;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	run_script("grep -E '^Sig(Ign|Blk)' /proc/self/status", CAPTURE, &r);
	ck_assert_int_eq(r.status, 0);
	p = strstr(r.out, "SigIgn:");
	ck_assert_ptr_nonnull(p);
	ign = strtoull(p + 7, NULL, 16);
	p = strstr(r.out, "SigBlk:");
	ck_assert_ptr_nonnull(p);
	blk = strtoull(p + 7, NULL, 16);
	ck_assert_msg((ign & 0x1000) == 0, "SIGPIPE ignored: %s", r.out);
	/* glibc's posix_spawn leaves its two internal signals (32 and 33,
	 * SIGCANCEL and SIGSETXID) ignored in the child, whatever the
	 * flags (measured on glibc 2.36); everything else is default. */
	ck_assert_msg(
	    (ign & ~0x180000000ULL) == 0, "ignored signals: %s", r.out);
	ck_assert_msg(blk == 0, "blocked signals: %s", r.out);
	res_clear(&r);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}
END_TEST

START_TEST(test_free_with_hooks_in_flight)
{
	struct event_base *base = event_base_new();
	struct hookrun *hr = hookrun_new(base, 2, CAPTURE);
	struct hook_spec spec = {0};
	struct res rs[3];
	int i, st;

	memset(rs, 0, sizeof(rs));
	spec.path = script("long", "echo up; sleep 100", 0755);
	spec.env = default_env;
	for (i = 0; i < 3; i++)
		hookrun_start(hr, &spec, on_done, on_started, &rs[i]);
	loop_for(base, 0.2);
	ck_assert_int_eq(rs[0].started_calls, 1);
	ck_assert_int_eq(rs[1].started_calls, 1);
	ck_assert(!rs[0].done && !rs[1].done && !rs[2].done);
	hookrun_free(hr);
	for (i = 0; i < 3; i++) {
		ck_assert(rs[i].done);
		ck_assert_int_eq(rs[i].status, -1);
		ck_assert_str_eq(rs[i].why, "shutting down");
	}
	ck_assert_int_gt(rs[0].pid, 0);
	ck_assert_int_eq(rs[2].pid, 0);
	ck_assert_int_eq(rs[2].started_calls, 0);
	/* The leaders were SIGKILLed (if hookrun_free did not reap them). */
	for (i = 0; i < 2; i++) {
		pid_t p = waitpid(rs[i].pid, &st, 0);

		if (p == rs[i].pid)
			ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		else
			ck_assert_int_eq(errno, ECHILD);
		res_clear(&rs[i]);
	}
	res_clear(&rs[2]);
	event_base_free(base);
}
END_TEST

/* hookrun_free from inside a done callback: the rest still gets its
 * callbacks and nothing is used after free (ASan/valgrind). */
struct free_ctx {
	struct hookrun *hr;
	struct res r[2];
};

static void
free_in_done(struct hook *h, const struct hook_result *r, void *arg)
{
	struct free_ctx *c = arg;

	on_done(h, r, &c->r[0]);
	hookrun_free(c->hr);
}

START_TEST(test_free_from_callback)
{
	struct event_base *base = event_base_new();
	struct free_ctx c;
	struct hook_spec spec = {0};

	memset(&c, 0, sizeof(c));
	c.hr = hookrun_new(base, 2, CAPTURE);
	spec.env = default_env;
	spec.path = script("fast", "exit 0", 0755);
	hookrun_start(c.hr, &spec, free_in_done, NULL, &c);
	spec.path = script("slow", "sleep 100", 0755);
	hookrun_start(c.hr, &spec, on_done, on_started, &c.r[1]);
	loop_until(base, &c.r[1].done, 10);
	ck_assert(c.r[0].done && c.r[1].done);
	ck_assert_int_eq(c.r[0].status, 0);
	ck_assert_int_eq(c.r[1].status, -1);
	res_clear(&c.r[0]);
	res_clear(&c.r[1]);
	event_base_free(base);
}
END_TEST

/* A done callback that starts the next hook (how steps chain). */
struct chain {
	struct hookrun *hr;
	struct hook_spec spec;
	int left;
	bool all_done;
	int statuses;
};

static void
chain_done(struct hook *h, const struct hook_result *r, void *arg)
{
	struct chain *c = arg;

	(void)h;
	c->statuses += r->status;
	if (--c->left == 0)
		c->all_done = true;
	else
		ck_assert_ptr_nonnull(
		    hookrun_start(c->hr, &c->spec, chain_done, NULL, c));
}

START_TEST(test_start_from_done)
{
	struct event_base *base = event_base_new();
	struct chain c;

	memset(&c, 0, sizeof(c));
	c.hr = hookrun_new(base, 1, CAPTURE);
	c.spec.path = script("one", "exit 1", 0755);
	c.spec.env = default_env;
	c.left = 5;
	hookrun_start(c.hr, &c.spec, chain_done, NULL, &c);
	loop_until(base, &c.all_done, 10);
	ck_assert(c.all_done);
	ck_assert_int_eq(c.statuses, 5);
	hookrun_free(c.hr);
	event_base_free(base);
}
END_TEST

START_TEST(test_kill_group)
{
	struct event_base *base = event_base_new();
	struct hookrun *hr = hookrun_new(base, 1, CAPTURE);
	char *argv[] = {"sh", "-c", "trap '' TERM; sleep 100", NULL};
	posix_spawnattr_t at;
	double t0;
	pid_t pid;

	/* A leftover group: its leader ignores TERM. */
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	ck_assert_int_eq(
	    posix_spawn(&pid, "/bin/sh", NULL, &at, argv, default_env), 0);
	posix_spawnattr_destroy(&at);
	loop_for(base, 0.1);
	t0 = mono();
	hookrun_kill_group(pid);
	/* Reaped by hookrun's SIGCHLD handler as an unknown pid. */
	while (kill(pid, 0) == 0 && mono() - t0 < 5)
		loop_for(base, 0.05);
	ck_assert_int_eq(kill(pid, 0), -1);
	ck_assert_msg(mono() - t0 >= 1.9, "died after %.3f s", mono() - t0);
	hookrun_kill_group(pid); /* gone: nothing happens */
	/* One runner per process. */
	ck_assert_ptr_null(hookrun_new(base, 1, CAPTURE));
	hookrun_free(hr);
	hr = hookrun_new(base, 1, CAPTURE);
	ck_assert_ptr_nonnull(hr);
	hookrun_free(hr);
	event_base_free(base);
}
END_TEST

static Suite *
hookrun_suite(void)
{
	Suite *s = suite_create("hookrun");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exit_codes);
	tcase_add_test(tc, test_killed_by_signal);
	tcase_add_test(tc, test_env_exact);
	tcase_add_test(tc, test_cwd_and_relative_path);
	tcase_add_test(tc, test_stdout_stderr);
	tcase_add_test(tc, test_capture_keeps_last_bytes);
	tcase_add_test(tc, test_capture_zero);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_term_ignored);
	tcase_add_test(tc, test_background_child_killed);
	tcase_add_test(tc, test_drain_timeout);
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_set_max_running);
	tcase_add_test(tc, test_kill_running);
	tcase_add_test(tc, test_kill_queued);
	tcase_add_test(tc, test_spawn_failure);
	tcase_add_test(tc, test_child_signal_defaults);
	tcase_add_test(tc, test_free_with_hooks_in_flight);
	tcase_add_test(tc, test_free_from_callback);
	tcase_add_test(tc, test_start_from_done);
	tcase_add_test(tc, test_kill_group);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hookrun_suite());
	const char *preload = getenv("LD_PRELOAD");
	int failed;

	under_valgrind = preload != NULL && strstr(preload, "vgpreload");

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
