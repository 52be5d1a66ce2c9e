/*
 * log.c - logfmt-style event lines on stderr (log.h).  The level and the
 * journald flag are the only process-wide state of gantryd's shell.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_level = LOG_LVL_INFO;
static bool log_journal;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_init(void)
{
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void
log_set_level(int level)
{
	if (level >= LOG_LVL_ERROR && level <= LOG_LVL_DEBUG)
		log_level = level;
}

bool
log_enabled(int level)
{
	return level <= log_level;
}

static void
log_vmsg(int level, const char *event, const char *fmt, va_list ap)
{
	char line[2048];
	size_t off = 0;

	if (!log_enabled(level))
		return;
	if (!log_journal) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off +=
		    strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
		off += (size_t)snprintf(line + off, sizeof(line) - off,
		    ".%03ldZ ", ts.tv_nsec / 1000000);
	}
	off += (size_t)snprintf(line + off, sizeof(line) - off,
	    "level=%s event=%s", level_names[level], event);
	if (fmt != NULL && *fmt != '\0' && off + 1 < sizeof(line)) {
		line[off++] = ' ';
		vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	}
	fprintf(stderr, "%s\n", line);
}

void
log_msg(int level, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, event, fmt, ap);
	va_end(ap);
}

void
fatal(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERROR, event, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
log_quote(const char *s, char *buf, unsigned len)
{
	unsigned o = 0;

	if (len < 3) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; s != NULL && *s != '\0' && o + 3 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20) {
			buf[o++] = ' ';
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
