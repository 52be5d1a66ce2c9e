/*
 * hookrun.c - hooks as child processes of the loop (hookrun.h, SPEC.md
 * section 4, PLATFORM.md section 9).
 *
 * Hook life: QUEUED (FIFO) -> RUNNING (spawned; pipes read by persistent
 * EV_READ events; optional timeout) -> DONE (leader reaped and both pipes
 * at EOF, or the drain timer passed) -> its callbacks run from the notify
 * event -> freed.  Callbacks never run inside hookrun_start(),
 * hookrun_kill() or hookrun_set_max_running(): started and done are both
 * delivered from hr->ev_notify, in order, so a caller may start or kill
 * hooks from any callback.  Only hookrun_free() runs callbacks itself.
 *
 * Reaping: one SIGCHLD signal event runs waitpid(-1, WNOHANG) until empty;
 * pids that are not a running hook's leader (orphans reparented to us as
 * subreaper, the rest of a killed group) are reaped and ignored.  When a
 * leader is reaped the rest of its group gets SIGKILL at once, so a
 * background grandchild holding the pipes cannot delay the hook.
 */
#include "hookrun.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HOOK_GRACE_MS 2000 /* TERM -> KILL */
#define HOOK_DRAIN_MS 200 /* leader exited -> stop waiting for EOF */
#define HOOK_READ_CHUNK 32768

enum hook_state { HOOK_QUEUED, HOOK_RUNNING, HOOK_DONE };

/* The last cap bytes of a stream: appended linearly until full, then a
 * ring whose oldest byte is at head; capbuf_flatten() makes it linear. */
struct capbuf {
	char *buf;
	size_t alloc, len, head;
	bool truncated;
};

struct hook {
	struct hookrun *hr;
	enum hook_state state;
	TAILQ_ENTRY(hook) link; /* queue, running or (DONE) nowhere */
	TAILQ_ENTRY(hook) nlink; /* notify list */
	bool in_notify;
	bool started_pending; /* started callback not delivered yet */

	/* the spec, copied */
	char *path, *exec_path, *cwd, *label;
	char **argv, **env;
	int64_t timeout_ms;
	hook_done_cb done;
	hook_started_cb started;
	void *arg;

	pid_t pid; /* leader == pgid; 0 before spawn */
	int fd[2]; /* read ends of stdout, stderr; -1 once at EOF */
	struct event *ev_read[2];
	struct event *ev_timeout, *ev_grace, *ev_drain;
	struct capbuf cap[2];
	bool exited; /* leader reaped */
	int wstatus;
	bool term_sent, timed_out, killed;
	int status; /* final, set by finish */
	char *why;
	int64_t started_ms, finished_ms;
};
TAILQ_HEAD(hooklist, hook);

/* A leftover group from an earlier gantryd, TERMed, waiting for KILL. */
struct kill_group {
	pid_t pgid;
	struct event *ev;
	LIST_ENTRY(kill_group) link;
};

struct hookrun {
	struct event_base *base;
	unsigned max_running;
	size_t capture;
	struct event *ev_chld, *ev_notify;
	struct hooklist queue, running, notify;
	unsigned nrunning, nqueued;
	LIST_HEAD(, kill_group) kill_groups;
	unsigned dispatching; /* inside notify_cb */
	bool closing; /* hookrun_free() in progress */
	bool free_pending; /* hookrun_free() called from a callback */
};

/* The one runner of this process (hookrun.h): hookrun_kill_group() arms
 * its timers here. */
static struct hookrun *live_runner;

static void finish(struct hook *h, int status);
static void pump(struct hookrun *hr);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval
ms_tv(int64_t ms)
{
	struct timeval tv = {
	    (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	return tv;
}

/* --- capture buffers ------------------------------------------------------ */

static void
capbuf_append(struct capbuf *c, size_t cap, const char *p, size_t n)
{
	size_t k;

	if (n == 0)
		return;
	if (cap == 0) {
		c->truncated = true;
		return;
	}
	if (c->len + n > cap) {
		c->truncated = true;
		if (c->alloc < cap) {
			char *nb = realloc(c->buf, cap);

			if (nb == NULL)
				return; /* keep what we have, drop this */
			c->buf = nb;
			c->alloc = cap;
		}
	} else if (c->len + n > c->alloc) {
		size_t na = c->alloc ? c->alloc : 4096;
		char *nb;

		while (na < c->len + n)
			na *= 2;
		if (na > cap)
			na = cap;
		nb = realloc(c->buf, na);
		if (nb == NULL) {
			c->truncated = true;
			return;
		}
		c->buf = nb;
		c->alloc = na;
	}
	if (n >= cap) {
		memcpy(c->buf, p + (n - cap), cap);
		c->len = cap;
		c->head = 0;
		return;
	}
	if (c->len < cap) { /* linear part: fill up to cap */
		k = cap - c->len < n ? cap - c->len : n;
		memcpy(c->buf + c->len, p, k);
		c->len += k;
		p += k;
		n -= k;
	}
	while (n > 0) { /* full: overwrite the oldest bytes at head */
		k = cap - c->head < n ? cap - c->head : n;
		memcpy(c->buf + c->head, p, k);
		c->head = (c->head + k) % cap;
		p += k;
		n -= k;
	}
}

static void
reverse(char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		char t = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

/* Rotate the ring so the oldest byte comes first (in place). */
static void
capbuf_flatten(struct capbuf *c)
{
	if (c->head == 0)
		return;
	reverse(c->buf, c->head);
	reverse(c->buf + c->head, c->len - c->head);
	reverse(c->buf, c->len);
	c->head = 0;
}

/* --- hooks ----------------------------------------------------------------- */

static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static char **
strv_dup(char *const *v)
{
	size_t n = 0, i;
	char **c;

	while (v != NULL && v[n] != NULL)
		n++;
	c = calloc(n + 1, sizeof(*c));
	if (c == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		if (c[i] == NULL) {
			strv_free(c);
			return NULL;
		}
	}
	return c;
}

static void
hook_close_io(struct hook *h)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (h->ev_read[i] != NULL) {
			event_free(h->ev_read[i]);
			h->ev_read[i] = NULL;
		}
		if (h->fd[i] >= 0) {
			close(h->fd[i]);
			h->fd[i] = -1;
		}
	}
	if (h->ev_timeout != NULL) {
		event_free(h->ev_timeout);
		h->ev_timeout = NULL;
	}
	if (h->ev_grace != NULL) {
		event_free(h->ev_grace);
		h->ev_grace = NULL;
	}
	if (h->ev_drain != NULL) {
		event_free(h->ev_drain);
		h->ev_drain = NULL;
	}
}

static void
hook_free(struct hook *h)
{
	int i;

	hook_close_io(h);
	for (i = 0; i < 2; i++)
		free(h->cap[i].buf);
	free(h->path);
	free(h->exec_path);
	free(h->cwd);
	free(h->label);
	strv_free(h->argv);
	strv_free(h->env);
	free(h->why);
	free(h);
}

static const char *
hook_label(const struct hook *h, char *q, unsigned len)
{
	return log_quote(h->label != NULL ? h->label : h->path, q, len);
}

static void
notify_later(struct hook *h)
{
	struct hookrun *hr = h->hr;

	if (!h->in_notify) {
		TAILQ_INSERT_TAIL(&hr->notify, h, nlink);
		h->in_notify = true;
	}
	event_active(hr->ev_notify, EV_TIMEOUT, 0);
}

/* Run h's done callback and free it. */
static void
deliver_done(struct hook *h)
{
	struct hook_result r = {0};

	capbuf_flatten(&h->cap[0]);
	capbuf_flatten(&h->cap[1]);
	r.status = h->status;
	r.timed_out = h->timed_out;
	r.killed = h->killed;
	r.why = h->why;
	r.out = h->cap[0].buf != NULL ? h->cap[0].buf : "";
	r.out_len = h->cap[0].len;
	r.out_truncated = h->cap[0].truncated;
	r.err = h->cap[1].buf != NULL ? h->cap[1].buf : "";
	r.err_len = h->cap[1].len;
	r.err_truncated = h->cap[1].truncated;
	r.pid = h->pid;
	r.started_ms = h->started_ms;
	r.finished_ms = h->finished_ms;
	if (h->done != NULL)
		h->done(h, &r, h->arg);
	hook_free(h);
}

/* A hook that never ran (queued and dropped, or spawn failed). */
static void
fail_unstarted(struct hook *h, bool killed)
{
	h->state = HOOK_DONE;
	h->status = -1;
	h->killed = killed;
	h->finished_ms = now_ms();
	notify_later(h);
}

static void
signal_group(struct hook *h, int sig)
{
	if (h->pid > 1 && kill(-h->pid, sig) == -1 && errno != ESRCH)
		log_warn("hook.kill_failed", "pgid=%ld sig=%d error=\"%s\"",
		    (long)h->pid, sig, strerror(errno));
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	char q[256];

	(void)fd;
	(void)what;
	if (h->exited)
		return;
	log_warn("hook.kill", "label=%s pid=%ld grace_ms=%d",
	    hook_label(h, q, sizeof(q)), (long)h->pid, HOOK_GRACE_MS);
	signal_group(h, SIGKILL);
}

/* TERM the group, KILL after the grace period (once). */
static void
terminate(struct hook *h)
{
	struct timeval tv = ms_tv(HOOK_GRACE_MS);

	if (h->term_sent || h->exited)
		return;
	h->term_sent = true;
	signal_group(h, SIGTERM);
	h->ev_grace = evtimer_new(h->hr->base, grace_cb, h);
	if (h->ev_grace == NULL || evtimer_add(h->ev_grace, &tv) == -1)
		signal_group(h, SIGKILL); /* no timer: no grace */
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	char q[256];

	(void)fd;
	(void)what;
	if (h->exited)
		return;
	log_warn("hook.timeout", "label=%s pid=%ld timeout_ms=%lld",
	    hook_label(h, q, sizeof(q)), (long)h->pid,
	    (long long)h->timeout_ms);
	h->timed_out = true;
	terminate(h);
}

/* 0..255, or 128+N for a death by signal N. */
static int
exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

static void
maybe_finish(struct hook *h)
{
	if (h->exited && h->fd[0] < 0 && h->fd[1] < 0)
		finish(h, exit_status(h->wstatus));
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	int i = fd == h->fd[0] ? 0 : 1;
	char buf[HOOK_READ_CHUNK];
	ssize_t n;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		capbuf_append(&h->cap[i], h->hr->capture, buf, (size_t)n);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		char q[256];

		log_warn("hook.read_failed", "label=%s stream=%s error=\"%s\"",
		    hook_label(h, q, sizeof(q)), i == 0 ? "stdout" : "stderr",
		    strerror(errno));
	}
	/* EOF (or a broken pipe): stop reading this stream. */
	event_free(h->ev_read[i]);
	h->ev_read[i] = NULL;
	close(h->fd[i]);
	h->fd[i] = -1;
	maybe_finish(h);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < 2; i++) {
		if (h->ev_read[i] != NULL) {
			event_free(h->ev_read[i]);
			h->ev_read[i] = NULL;
		}
		if (h->fd[i] >= 0) {
			close(h->fd[i]);
			h->fd[i] = -1;
		}
	}
	maybe_finish(h);
}

/* The leader of h was reaped with wait status st. */
static void
leader_exited(struct hook *h, int st)
{
	struct timeval tv = ms_tv(HOOK_DRAIN_MS);

	h->exited = true;
	h->wstatus = st;
	/* The rest of the group (background children holding the pipes). */
	signal_group(h, SIGKILL);
	if (h->ev_timeout != NULL)
		evtimer_del(h->ev_timeout);
	if (h->ev_grace != NULL)
		evtimer_del(h->ev_grace);
	if (h->fd[0] < 0 && h->fd[1] < 0) {
		maybe_finish(h);
		return;
	}
	h->ev_drain = evtimer_new(h->hr->base, drain_cb, h);
	if (h->ev_drain == NULL || evtimer_add(h->ev_drain, &tv) == -1)
		drain_cb(-1, 0, h);
}

static void
sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct hookrun *hr = arg;
	struct hook *h;
	pid_t p;
	int st;

	(void)sig;
	(void)what;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		TAILQ_FOREACH(h, &hr->running, link)
		{
			if (h->pid == p && !h->exited)
				break;
		}
		if (h == NULL) {
			log_debug("hook.reap_unknown", "pid=%ld", (long)p);
			continue;
		}
		leader_exited(h, st);
	}
}

/* h is over: release its process resources, count it out, queue its done
 * callback, start the next queued hook. */
static void
finish(struct hook *h, int status)
{
	struct hookrun *hr = h->hr;
	char q[256];

	hook_close_io(h);
	TAILQ_REMOVE(&hr->running, h, link);
	hr->nrunning--;
	h->state = HOOK_DONE;
	h->status = status;
	h->finished_ms = now_ms();
	log_debug("hook.finish",
	    "label=%s pid=%ld status=%d ms=%lld timed_out=%d killed=%d "
	    "out_bytes=%zu err_bytes=%zu",
	    hook_label(h, q, sizeof(q)), (long)h->pid, status,
	    (long long)(h->finished_ms - h->started_ms), h->timed_out,
	    h->killed, h->cap[0].len, h->cap[1].len);
	notify_later(h);
	pump(hr);
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Spawn h (state QUEUED, off every list).  0: running; -1: h->why set. */
static int
spawn(struct hook *h)
{
	struct hookrun *hr = h->hr;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t empty, all;
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	bool fa_init = false, at_init = false;
	char why[512];
	int rc = -1, e, i;
	pid_t pid;

	why[0] = '\0';
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1 ||
	    set_nonblock(out[0]) == -1 || set_nonblock(err[0]) == -1) {
		snprintf(why, sizeof(why), "cannot run %s: pipe: %s", h->path,
		    strerror(errno));
		goto out;
	}
	sigemptyset(&empty);
	sigfillset(&all);
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		goto spawn_err;
	fa_init = true;
	if ((e = posix_spawnattr_init(&at)) != 0)
		goto spawn_err;
	at_init = true;
	if ((e = posix_spawnattr_setflags(&at,
	         POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	             POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (e = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
	    (e = posix_spawnattr_setsigmask(&at, &empty)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(&at, &all)) != 0)
		goto spawn_err;
	if ((e = posix_spawn_file_actions_addopen(
	         &fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, err[1], 2)) != 0 ||
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		goto spawn_err;
	if (h->cwd != NULL &&
	    (e = posix_spawn_file_actions_addchdir_np(&fa, h->cwd)) != 0)
		goto spawn_err;
	e = posix_spawn(&pid, h->exec_path, &fa, &at, h->argv, h->env);
	if (e != 0)
		goto spawn_err;

	h->pid = pid;
	h->started_ms = now_ms();
	h->fd[0] = out[0];
	h->fd[1] = err[0];
	out[0] = err[0] = -1;
	h->state = HOOK_RUNNING;
	TAILQ_INSERT_TAIL(&hr->running, h, link);
	hr->nrunning++;
	for (i = 0; i < 2; i++) {
		h->ev_read[i] = event_new(
		    hr->base, h->fd[i], EV_READ | EV_PERSIST, read_cb, h);
		if (h->ev_read[i] == NULL ||
		    event_add(h->ev_read[i], NULL) == -1) {
			/* Cannot read it: treat as EOF, the hook still runs. */
			log_warn("hook.event_failed", "pid=%ld", (long)pid);
			if (h->ev_read[i] != NULL)
				event_free(h->ev_read[i]);
			h->ev_read[i] = NULL;
			close(h->fd[i]);
			h->fd[i] = -1;
		}
	}
	if (h->timeout_ms > 0) {
		struct timeval tv = ms_tv(h->timeout_ms);

		h->ev_timeout = evtimer_new(hr->base, timeout_cb, h);
		if (h->ev_timeout == NULL ||
		    evtimer_add(h->ev_timeout, &tv) == -1)
			log_warn("hook.event_failed", "pid=%ld what=timeout",
			    (long)pid);
	}
	if (log_enabled(LOG_LVL_DEBUG)) {
		char q[256], q2[512];

		log_debug("hook.start", "label=%s pid=%ld path=%s",
		    hook_label(h, q, sizeof(q)), (long)pid,
		    log_quote(h->exec_path, q2, sizeof(q2)));
	}
	h->started_pending = h->started != NULL;
	if (h->started_pending)
		notify_later(h);
	rc = 0;
	goto out;

spawn_err:
	if (h->cwd != NULL)
		snprintf(why, sizeof(why), "cannot run %s (cwd %s): %s",
		    h->exec_path, h->cwd, strerror(e));
	else
		snprintf(why, sizeof(why), "cannot run %s: %s", h->exec_path,
		    strerror(e));
out:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (at_init)
		posix_spawnattr_destroy(&at);
	for (i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (rc == -1) {
		char q[256], q2[600];

		log_warn("hook.spawn_failed", "label=%s why=%s",
		    hook_label(h, q, sizeof(q)),
		    log_quote(why, q2, sizeof(q2)));
		h->why = strdup(why);
	}
	return rc;
}

/* Start queued hooks while there are free slots. */
static void
pump(struct hookrun *hr)
{
	struct hook *h;

	while (!hr->closing && hr->nrunning < hr->max_running &&
	    (h = TAILQ_FIRST(&hr->queue)) != NULL) {
		TAILQ_REMOVE(&hr->queue, h, link);
		hr->nqueued--;
		if (spawn(h) == -1)
			fail_unstarted(h, false);
	}
}

static void really_free(struct hookrun *hr);

/* Deliver pending started and done callbacks, oldest first. */
static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hookrun *hr = arg;
	struct hook *h;

	(void)fd;
	(void)what;
	hr->dispatching++;
	while (!hr->free_pending && (h = TAILQ_FIRST(&hr->notify)) != NULL) {
		TAILQ_REMOVE(&hr->notify, h, nlink);
		h->in_notify = false;
		if (h->started_pending) {
			h->started_pending = false;
			if (h->state == HOOK_DONE) { /* done goes right after */
				TAILQ_INSERT_HEAD(&hr->notify, h, nlink);
				h->in_notify = true;
			}
			h->started(h, h->pid, h->arg);
			continue;
		}
		if (h->state == HOOK_DONE)
			deliver_done(h);
	}
	hr->dispatching--;
	if (hr->free_pending && hr->dispatching == 0)
		really_free(hr);
}

/* --- public ---------------------------------------------------------------- */

struct hookrun *
hookrun_new(struct event_base *base, unsigned max_running, size_t capture)
{
	struct hookrun *hr;

	if (live_runner != NULL) {
		log_err(
		    "hook.runner_exists", "reason=\"one hookrun per process\"");
		return NULL;
	}
	if ((hr = calloc(1, sizeof(*hr))) == NULL)
		return NULL;
	hr->base = base;
	hr->max_running = max_running;
	hr->capture = capture;
	TAILQ_INIT(&hr->queue);
	TAILQ_INIT(&hr->running);
	TAILQ_INIT(&hr->notify);
	LIST_INIT(&hr->kill_groups);
	hr->ev_chld = evsignal_new(base, SIGCHLD, sigchld_cb, hr);
	hr->ev_notify = event_new(base, -1, 0, notify_cb, hr);
	if (hr->ev_chld == NULL || hr->ev_notify == NULL ||
	    evsignal_add(hr->ev_chld, NULL) == -1) {
		if (hr->ev_chld != NULL)
			event_free(hr->ev_chld);
		if (hr->ev_notify != NULL)
			event_free(hr->ev_notify);
		free(hr);
		return NULL;
	}
	/* Orphans of hooks (e.g. `setsid cmd &`) come back to us. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("hook.subreaper", "error=\"%s\"", strerror(errno));
	live_runner = hr;
	return hr;
}

static void
really_free(struct hookrun *hr)
{
	event_free(hr->ev_chld);
	event_free(hr->ev_notify);
	free(hr);
}

void
hookrun_free(struct hookrun *hr)
{
	struct kill_group *kg;
	struct hook *h;

	if (hr == NULL || hr->closing)
		return;
	hr->closing = true;
	if (live_runner == hr)
		live_runner = NULL;
	while ((kg = LIST_FIRST(&hr->kill_groups)) != NULL) {
		kill(-kg->pgid, SIGKILL);
		LIST_REMOVE(kg, link);
		event_free(kg->ev);
		free(kg);
	}
	TAILQ_FOREACH(h, &hr->running, link)
	{
		if (!h->exited)
			signal_group(h, SIGKILL);
	}
	/* Reap what has died already; the rest is reaped by whoever
	 * inherits it (we are exiting, or the zombies wait). */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	/* Callbacks may start (queued, then dropped below) or kill hooks. */
	for (;;) {
		if ((h = TAILQ_FIRST(&hr->notify)) != NULL) {
			TAILQ_REMOVE(&hr->notify, h, nlink);
			h->in_notify = false;
			if (h->started_pending) {
				h->started_pending = false;
				if (h->state == HOOK_DONE) {
					TAILQ_INSERT_HEAD(
					    &hr->notify, h, nlink);
					h->in_notify = true;
				}
				h->started(h, h->pid, h->arg);
			} else if (h->state == HOOK_DONE) {
				deliver_done(h);
			}
		} else if ((h = TAILQ_FIRST(&hr->running)) != NULL) {
			hook_close_io(h);
			TAILQ_REMOVE(&hr->running, h, link);
			hr->nrunning--;
			if (h->in_notify) {
				TAILQ_REMOVE(&hr->notify, h, nlink);
				h->in_notify = false;
			}
			h->state = HOOK_DONE;
			if (h->exited) { /* exited, was draining its pipes */
				h->status = exit_status(h->wstatus);
			} else {
				h->status = -1;
				h->why = strdup("shutting down");
			}
			h->finished_ms = now_ms();
			deliver_done(h);
		} else if ((h = TAILQ_FIRST(&hr->queue)) != NULL) {
			TAILQ_REMOVE(&hr->queue, h, link);
			hr->nqueued--;
			h->state = HOOK_DONE;
			h->status = -1;
			h->why = strdup("shutting down");
			h->finished_ms = now_ms();
			deliver_done(h);
		} else {
			break;
		}
	}
	if (hr->dispatching > 0)
		hr->free_pending = true; /* notify_cb frees it on return */
	else
		really_free(hr);
}

void
hookrun_set_max_running(struct hookrun *hr, unsigned max_running)
{
	hr->max_running = max_running;
	pump(hr);
}

struct hook *
hookrun_start(struct hookrun *hr, const struct hook_spec *spec,
    hook_done_cb done, hook_started_cb started, void *arg)
{
	struct hook *h = calloc(1, sizeof(*h));
	char *const no_env[] = {NULL};

	if (h == NULL)
		return NULL;
	h->hr = hr;
	h->fd[0] = h->fd[1] = -1;
	h->timeout_ms = spec->timeout_ms;
	h->done = done;
	h->started = started;
	h->arg = arg;
	h->path = strdup(spec->path);
	h->env = strv_dup(spec->env != NULL ? spec->env : no_env);
	if (h->path == NULL || h->env == NULL)
		goto fail;
	if (spec->label != NULL && (h->label = strdup(spec->label)) == NULL)
		goto fail;
	if (spec->argv != NULL && (h->argv = strv_dup(spec->argv)) == NULL)
		goto fail;
	if (spec->cwd != NULL && (h->cwd = strdup(spec->cwd)) == NULL)
		goto fail;
	if (spec->path[0] != '/' && spec->cwd != NULL) {
		if (asprintf(&h->exec_path, "%s/%s", spec->cwd, spec->path) ==
		    -1) {
			h->exec_path = NULL;
			goto fail;
		}
	} else if ((h->exec_path = strdup(spec->path)) == NULL) {
		goto fail;
	}
	if (h->argv == NULL) {
		char *const self[] = {h->path, NULL};

		if ((h->argv = strv_dup(self)) == NULL)
			goto fail;
	}
	h->state = HOOK_QUEUED;
	TAILQ_INSERT_TAIL(&hr->queue, h, link);
	hr->nqueued++;
	pump(hr);
	return h;
fail:
	hook_free(h);
	return NULL;
}

void
hookrun_kill(struct hook *h)
{
	struct hookrun *hr = h->hr;
	char q[256];

	switch (h->state) {
	case HOOK_QUEUED:
		TAILQ_REMOVE(&hr->queue, h, link);
		hr->nqueued--;
		log_debug(
		    "hook.dropped", "label=%s", hook_label(h, q, sizeof(q)));
		fail_unstarted(h, true);
		break;
	case HOOK_RUNNING:
		if (h->exited)
			break; /* already over, draining its pipes */
		log_debug("hook.kill", "label=%s pid=%ld",
		    hook_label(h, q, sizeof(q)), (long)h->pid);
		h->killed = true;
		terminate(h);
		break;
	case HOOK_DONE:
		break; /* done not delivered yet: nothing to kill */
	}
}

static void
kill_group_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kill_group *kg = arg;

	(void)fd;
	(void)what;
	if (kill(-kg->pgid, SIGKILL) == 0)
		log_info("hook.leftover_killed", "pgid=%ld", (long)kg->pgid);
	LIST_REMOVE(kg, link);
	event_free(kg->ev);
	free(kg);
}

void
hookrun_kill_group(pid_t pgid)
{
	struct hookrun *hr = live_runner;
	struct timeval tv = ms_tv(HOOK_GRACE_MS);
	struct kill_group *kg;

	/* kill(-1) and kill(0) would hit far more than one hook. */
	if (pgid <= 1 || pgid == getpgrp()) {
		log_warn("hook.kill_group_refused", "pgid=%ld", (long)pgid);
		return;
	}
	if (kill(-pgid, SIGTERM) == -1) {
		if (errno != ESRCH)
			log_warn("hook.kill_failed", "pgid=%ld error=\"%s\"",
			    (long)pgid, strerror(errno));
		return;
	}
	log_info("hook.leftover_term", "pgid=%ld", (long)pgid);
	kg = hr != NULL ? calloc(1, sizeof(*kg)) : NULL;
	if (kg == NULL ||
	    (kg->ev = evtimer_new(hr->base, kill_group_cb, kg)) == NULL ||
	    evtimer_add(kg->ev, &tv) == -1) {
		kill(-pgid, SIGKILL);
		if (kg != NULL && kg->ev != NULL)
			event_free(kg->ev);
		free(kg);
		return;
	}
	kg->pgid = pgid;
	LIST_INSERT_HEAD(&hr->kill_groups, kg, link);
}

unsigned
hookrun_running(const struct hookrun *hr)
{
	return hr->nrunning;
}

unsigned
hookrun_queued(const struct hookrun *hr)
{
	return hr->nqueued;
}
