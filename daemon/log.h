/*
 * log.h - one line per event on stderr: `ts=... level=info event=NAME
 * key=value ...`.  The timestamp is left out under journald (which adds
 * its own), detected by $JOURNAL_STREAM.  The level is checked before any
 * formatting happens.
 */
#ifndef GANTRYD_LOG_H
#define GANTRYD_LOG_H

#include <stdbool.h>

#include "error.h"

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(void);
void log_set_level(int level);
bool log_enabled(int level);

/* event is a dotted name ("http.listen"); fmt renders key=value pairs. */
void log_msg(int level, const char *event, const char *fmt, ...)
    PRINTFLIKE(3, 4);

#define log_err(ev, ...) log_msg(LOG_LVL_ERROR, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_msg(LOG_LVL_WARN, ev, __VA_ARGS__)
#define log_info(ev, ...)                                                      \
	do {                                                                   \
		if (log_enabled(LOG_LVL_INFO))                                 \
			log_msg(LOG_LVL_INFO, ev, __VA_ARGS__);                \
	} while (0)
#define log_debug(ev, ...)                                                     \
	do {                                                                   \
		if (log_enabled(LOG_LVL_DEBUG))                                \
			log_msg(LOG_LVL_DEBUG, ev, __VA_ARGS__);               \
	} while (0)

/* Log at error level and exit(1).  Startup failures and broken
 * invariants only, never bad peer input. */
void fatal(const char *event, const char *fmt, ...) PRINTFLIKE(2, 3)
    __attribute__((noreturn));

/* Quote a value for key="value" output: escapes \ and " and control
 * characters into buf (always NUL-terminated); returns buf. */
const char *log_quote(const char *s, char *buf, unsigned len);

#endif /* GANTRYD_LOG_H */
