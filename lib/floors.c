/*
 * floors.c - safety floors from a YAML/JSON mapping (floors.h).  One key
 * table (name, type, field, bounds) drives parsing and the docs check.
 */
#include "floors.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

enum floor_type {
	FT_BOOL,
	FT_DURATION,
	FT_INT,
};

struct floor_key {
	const char *name;
	enum floor_type type;
	size_t off;
	int64_t min, max; /* FT_DURATION (ms), FT_INT */
};

#define OFF(f) offsetof(struct pipeline_floors, f)
#define DAY_MS (86400LL * 1000)

static const struct floor_key floor_keys[] = {
    {"require_one_box", FT_BOOL, OFF(require_one_box), 0, 0},
    {"min_bake", FT_DURATION, OFF(min_bake_ms), 0, 7 * DAY_MS},
    {"min_one_box_bake", FT_DURATION, OFF(min_one_box_bake_ms), 0, DAY_MS},
    {"require_fault_alarm", FT_BOOL, OFF(require_fault_alarm), 0, 0},
    {"require_latency_alarm", FT_BOOL, OFF(require_latency_alarm), 0, 0},
    {"max_regions_early_waves", FT_INT, OFF(max_regions_early_waves), 0, 50},
    {"require_review", FT_BOOL, OFF(require_review), 0, 0},
};
#define NFLOOR_KEYS (sizeof(floor_keys) / sizeof(floor_keys[0]))

const char *
floors_key_name(size_t i)
{
	return i < NFLOOR_KEYS ? floor_keys[i].name : NULL;
}

/* Apply one key; false after a message. */
static bool
apply(const struct floor_key *k, const json_t *v, const char *file,
    const char *path, struct pipeline_floors *floors, struct diag *diag)
{
	char *field = (char *)floors + k->off;
	struct gantry_error err;
	char a[32], b[32];
	int64_t n;

	switch (k->type) {
	case FT_BOOL:
		if (!json_is_boolean(v)) {
			diag_add(diag, file, path, "must be a boolean");
			return false;
		}
		*(bool *)(void *)field = json_is_true(v);
		return true;
	case FT_DURATION:
		if (!json_is_string(v)) {
			diag_add(diag, file, path,
			    "must be a duration such as 30m or 1h30m");
			return false;
		}
		if (duration_parse(json_string_value(v), &n, &err) < 0) {
			diag_add(diag, file, path, "%s", err.msg);
			return false;
		}
		if (n < k->min || n > k->max) {
			diag_add(diag, file, path, "%s is out of range %s..%s",
			    json_string_value(v),
			    duration_format(k->min, a, sizeof(a)),
			    duration_format(k->max, b, sizeof(b)));
			return false;
		}
		*(int64_t *)(void *)field = n;
		return true;
	case FT_INT:
		if (!json_is_integer(v)) {
			diag_add(diag, file, path, "must be an integer");
			return false;
		}
		n = json_integer_value(v);
		if (n < k->min || n > k->max) {
			diag_add(diag, file, path,
			    "%lld is out of range %lld..%lld", (long long)n,
			    (long long)k->min, (long long)k->max);
			return false;
		}
		*(int *)(void *)field = (int)n;
		return true;
	}
	return false;
}

int
floors_from_json_at(const json_t *v, const char *file, const char *prefix,
    struct pipeline_floors *floors, struct diag *diag)
{
	const char *names[NFLOOR_KEYS + 1];
	bool ok = true;
	const char *key;
	char path[256];
	json_t *val;

	memset(floors, 0, sizeof(*floors));
	if (prefix != NULL && *prefix == '\0')
		prefix = NULL;
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		diag_add(diag, file, prefix, "must be a mapping");
		return -1;
	}
	for (size_t i = 0; i <= NFLOOR_KEYS; i++)
		names[i] = floors_key_name(i);
	json_object_foreach((json_t *)v, key, val)
	{
		const struct floor_key *k = NULL;

		snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "",
		    prefix ? "." : "", key);
		for (size_t i = 0; i < NFLOOR_KEYS; i++)
			if (strcmp(key, floor_keys[i].name) == 0)
				k = &floor_keys[i];
		if (k == NULL) {
			const char *hint = diag_suggest(key, names);

			if (hint != NULL)
				diag_add(diag, file, path,
				    "unknown key (did you mean \"%s\"?)", hint);
			else
				diag_add(diag, file, path, "unknown key");
			ok = false;
			continue;
		}
		ok &= apply(k, val, file, path, floors, diag);
	}
	return ok ? 0 : -1;
}

int
floors_from_json(const json_t *v, const char *file,
    struct pipeline_floors *floors, struct diag *diag)
{
	return floors_from_json_at(v, file, NULL, floors, diag);
}
