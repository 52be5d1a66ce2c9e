/*
 * diag.c - collect validation messages and suggest near-miss keys.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
diag_add(
    struct diag *d, const char *file, const char *path, const char *fmt, ...)
{
	char msg[768], line[1024];
	char **grown;
	va_list ap;

	if (d->n >= DIAG_MAX) {
		d->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s%s%s%s%s", file ? file : "",
	    file && *file ? ":" : "", path ? path : "",
	    path && *path ? ": " : (file && *file ? " " : ""), msg);
	grown = realloc(d->msgs, (d->n + 1) * sizeof(*d->msgs));
	if (grown == NULL) {
		d->dropped++;
		return;
	}
	d->msgs = grown;
	d->msgs[d->n] = strdup(line);
	if (d->msgs[d->n] == NULL) {
		d->dropped++;
		return;
	}
	d->n++;
}

void
diag_clear(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = 0;
	d->dropped = 0;
}

/* Levenshtein distance, capped: words longer than 63 bytes never match. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t prev[64], cur[64];

	if (la >= 64 || lb >= 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t m = del < ins ? del : ins;

			cur[j] = m < sub ? m : sub;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

const char *
diag_suggest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; candidates[i] != NULL; i++) {
		size_t dist = edit_distance(word, candidates[i]);

		if (dist < best_d) {
			best_d = dist;
			best = candidates[i];
		}
	}
	if (best == NULL || best_d > 2 || best_d * 2 >= strlen(word))
		return NULL;
	return best;
}
