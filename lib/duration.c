/*
 * duration.c - parse and format durations and byte sizes (duration.h).
 */
#include "duration.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *unit;
	int64_t ms;
} units[] = {
    {"d", 86400000},
    {"h", 3600000},
    {"m", 60000},
    {"s", 1000},
    {"ms", 1},
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

/* Read a decimal integer at *p; -1 when none or on overflow. */
static int
read_uint(const char **p, int64_t *out)
{
	int64_t v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

int
duration_parse(const char *s, int64_t *out_ms, struct gantry_error *err)
{
	const char *p = s;
	int64_t total = 0;
	size_t next_unit = 0;

	if (s == NULL || *s == '\0')
		return gantry_error_set(err, GANTRY_EINVAL,
		    "empty duration (expected e.g. 90s, 30m, 1h30m)");
	while (*p != '\0') {
		int64_t v;
		size_t ulen = 0, u;

		if (read_uint(&p, &v) < 0)
			return gantry_error_set(err, GANTRY_EINVAL,
			    "bad duration \"%s\" (expected e.g. 90s, 30m, "
			    "1h30m, 500ms)",
			    s);
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		for (u = next_unit; u < NUNITS; u++)
			if (strlen(units[u].unit) == ulen &&
			    strncmp(units[u].unit, p, ulen) == 0)
				break;
		if (ulen == 0 || u == NUNITS)
			return gantry_error_set(err, GANTRY_EINVAL,
			    "bad duration \"%s\": %s (units d, h, m, s, ms, "
			    "largest first, each once)",
			    s, ulen == 0 ? "missing unit" : "unexpected unit");
		if (v > INT64_MAX / units[u].ms ||
		    total > INT64_MAX - v * units[u].ms)
			return gantry_error_set(err, GANTRY_EINVAL,
			    "duration \"%s\" is too large", s);
		total += v * units[u].ms;
		next_unit = u + 1;
		p += ulen;
	}
	*out_ms = total;
	return 0;
}

char *
duration_format(int64_t ms, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ms <= 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (size_t u = 0; u < NUNITS && off < len; u++) {
		int64_t n = ms / units[u].ms;

		if (n == 0)
			continue;
		off += (size_t)snprintf(
		    buf + off, len - off, "%" PRId64 "%s", n, units[u].unit);
		ms -= n * units[u].ms;
	}
	return buf;
}

int
size_parse(const char *s, int64_t *out_bytes, struct gantry_error *err)
{
	static const struct {
		const char *unit;
		int64_t mult;
	} sunits[] = {
	    {"", 1},
	    {"B", 1},
	    {"KiB", 1024},
	    {"MiB", 1024 * 1024},
	    {"GiB", 1024LL * 1024 * 1024},
	};
	const char *p = s;
	int64_t v;

	if (s == NULL || read_uint(&p, &v) < 0)
		goto bad;
	for (size_t i = 0; i < sizeof(sunits) / sizeof(sunits[0]); i++) {
		if (strcmp(p, sunits[i].unit) != 0)
			continue;
		if (v > INT64_MAX / sunits[i].mult)
			return gantry_error_set(
			    err, GANTRY_EINVAL, "size \"%s\" is too large", s);
		*out_bytes = v * sunits[i].mult;
		return 0;
	}
bad:
	return gantry_error_set(err, GANTRY_EINVAL,
	    "bad size \"%s\" (expected bytes or e.g. 512KiB, 1MiB)",
	    s ? s : "");
}
