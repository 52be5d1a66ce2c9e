/*
 * pgtext.h - PostgreSQL text-format values built in C, for queries that
 * pass many values as one parameter ($1::text[]).
 */
#ifndef GANTRY_PGTEXT_H
#define GANTRY_PGTEXT_H

#include <stddef.h>

/*
 * A PostgreSQL array literal of text values: {"a","b\"c",NULL}.  Every
 * element is double-quoted with " and \ escaped; a NULL element is SQL
 * NULL.  n == 0 gives {}.  Returns a new string (caller frees), NULL on
 * allocation failure.
 */
char *pgtext_array(const char *const *v, size_t n);

#endif /* GANTRY_PGTEXT_H */
