/*
 * sdnotify.h - systemd notifications (Type=notify): READY, RELOADING,
 * STOPPING, STATUS and the watchdog keep-alive.  Every call is a no-op
 * when not run under systemd (no $NOTIFY_SOCKET).
 */
#ifndef GANTRYD_SDNOTIFY_H
#define GANTRYD_SDNOTIFY_H

#include <event2/event.h>

void sdnotify_ready(const char *status);
void sdnotify_reloading(void);
void sdnotify_stopping(void);
void sdnotify_status(const char *status);

/* Arm a timer that sends WATCHDOG=1 at half of WatchdogSec when systemd
 * asked for a watchdog; returns the event (caller frees) or NULL. */
struct event *sdnotify_watchdog_start(struct event_base *base);

#endif /* GANTRYD_SDNOTIFY_H */
