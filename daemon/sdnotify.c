/*
 * sdnotify.c - sd_notify(3) wrappers and the watchdog timer.
 */
#include "sdnotify.h"

#include <stdint.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"

void
sdnotify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "ready");
}

void
sdnotify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	        (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
sdnotify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=draining");
}

void
sdnotify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

struct event *
sdnotify_watchdog_start(struct event_base *base)
{
	uint64_t usec = 0;
	struct event *ev;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return NULL;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
	if (ev == NULL || event_add(ev, &tv) < 0) {
		if (ev != NULL)
			event_free(ev);
		log_warn("systemd.watchdog", "error=\"cannot arm timer\"");
		return NULL;
	}
	log_info(
	    "systemd.watchdog", "interval_us=%llu", (unsigned long long)usec);
	sd_notify(0, "WATCHDOG=1");
	return ev;
}
