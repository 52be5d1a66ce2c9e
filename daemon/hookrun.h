/*
 * hookrun.h - run hooks (SPEC.md section 4) from the loop: posix_spawn in
 * a new process group, argv only, an explicit environment, a working
 * directory, a timeout (TERM to the group, then KILL after a grace
 * period), stdout/stderr captured through the loop (the last N bytes of
 * each stream), SIGCHLD handled as a libevent signal event.  At most
 * max_running hooks run at once; the rest wait in FIFO order.
 *
 * A hook is finished when its leader exited and its pipes reached EOF (or
 * a short drain timeout passed); then the rest of its process group is
 * killed.  gantryd sets itself as child subreaper so orphans come back
 * to it; unknown pids from waitpid() are reaped and ignored.
 */
#ifndef GANTRYD_HOOKRUN_H
#define GANTRYD_HOOKRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

struct hookrun;
struct hook;

struct hook_spec {
	const char *path; /* executable: absolute, or relative to cwd */
	char *const *argv; /* NULL: { path, NULL } */
	const char *cwd; /* working directory; NULL: inherit */
	char *const *env; /* NULL-terminated KEY=VALUE (copied) */
	int64_t timeout_ms; /* 0: no timeout */
	const char *label; /* for logs, e.g. "12 prod/wave-1:h1:deploy" */
};

struct hook_result {
	int status; /* exit status 0..255; 128+N when killed by
				signal N; -1 when it could not start */
	bool timed_out; /* killed because the timeout passed */
	bool killed; /* killed by hookrun_kill() */
	char *why; /* spawn failure reason, or NULL */
	const char *out; /* captured stdout (last capture bytes) */
	size_t out_len;
	bool out_truncated;
	const char *err; /* captured stderr */
	size_t err_len;
	bool err_truncated;
	pid_t pid; /* 0 if it never started */
	int64_t started_ms, finished_ms; /* CLOCK_REALTIME ms */
};

/* Called once per hook, from the loop; r is borrowed for the call.  h is
 * freed when the callback returns: do not keep or use it afterwards.  It
 * may start, kill or free (hookrun_free) from inside. */
typedef void (*hook_done_cb)(
    struct hook *h, const struct hook_result *r, void *arg);
/* Optional: called when the hook's process is spawned (for recording its
 * pid so a restarted gantryd can kill a leftover group).  Like done, it
 * runs from a loop event, never inside hookrun_start(), and always before
 * done. */
typedef void (*hook_started_cb)(struct hook *h, pid_t pid, void *arg);

/* A runner on base; capture is the per-stream byte cap (e.g. 1 MiB).
 * One runner per process (it reaps every child with waitpid(-1) and owns
 * SIGCHLD): while one exists, another hookrun_new() returns NULL. */
struct hookrun *hookrun_new(
    struct event_base *base, unsigned max_running, size_t capture);
/* Kill every running hook's group, drop the queue (their callbacks run
 * with status -1, why "shutting down"), free. */
void hookrun_free(struct hookrun *hr);
/* Takes effect at once: queued hooks start if there are free slots now;
 * lowering it kills nothing.  0 starts nothing (hooks stay queued). */
void hookrun_set_max_running(struct hookrun *hr, unsigned max_running);

/* Start (or queue) a hook.  spec is copied.  The timeout counts from the
 * spawn, not from queueing.  A spawn failure is reported through done
 * (status -1, why), from the loop, never inside this call.  The returned handle is valid
 * until done runs (then freed by hookrun).  NULL only on OOM. */
struct hook *hookrun_start(struct hookrun *hr, const struct hook_spec *spec,
    hook_done_cb done, hook_started_cb started, void *arg);

/* TERM the hook's group now, KILL after the grace period; a queued hook is
 * dropped (done runs with killed = true, status -1). */
void hookrun_kill(struct hook *h);

/* Kill a leftover process group from an earlier gantryd (by its leader's
 * pid), if it still exists: TERM now, KILL after the grace period (a timer
 * on the live runner's base; without a runner, or at hookrun_free, the
 * KILL goes at once).  pgid <= 1 and our own group are refused. */
void hookrun_kill_group(pid_t pgid);

unsigned hookrun_running(const struct hookrun *hr);
unsigned hookrun_queued(const struct hookrun *hr);

#endif /* GANTRYD_HOOKRUN_H */
