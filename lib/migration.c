/*
 * migration.c - decide which embedded migrations a database still needs
 * (see migration.h).  Versions form one line 1..N; the database must hold
 * a prefix 1..K of it.
 */
#include "migration.h"

#include <stdbool.h>

static bool
applied_has(const int *applied, size_t napplied, int version)
{
	for (size_t i = 0; i < napplied; i++)
		if (applied[i] == version)
			return true;
	return false;
}

int
migration_plan(const struct migration *known, size_t nknown, const int *applied,
    size_t napplied, size_t *first_pending, struct gantry_error *err)
{
	size_t k;

	for (k = 0; k < nknown; k++) {
		if (known[k].version != (int)k + 1)
			return gantry_error_set(err, GANTRY_EINTERNAL,
			    "embedded migration %s has version %d, expected "
			    "%zu",
			    known[k].file, known[k].version, k + 1);
	}
	for (size_t i = 0; i < napplied; i++) {
		if (applied[i] < 1 || (size_t)applied[i] > nknown)
			return gantry_error_set(err, GANTRY_ECONFLICT,
			    "database schema has migration %d but this gantryd "
			    "knows migrations 1..%zu only: the database is "
			    "newer "
			    "than this binary",
			    applied[i], nknown);
	}
	/* The applied set must be exactly 1..K. */
	for (k = 0; k < nknown; k++)
		if (!applied_has(applied, napplied, known[k].version))
			break;
	for (size_t j = k; j < nknown; j++)
		if (applied_has(applied, napplied, known[j].version))
			return gantry_error_set(err, GANTRY_ECONFLICT,
			    "database schema has migration %d but not %d: "
			    "the migration history diverged",
			    known[j].version, known[k].version);
	*first_pending = k;
	return 0;
}
