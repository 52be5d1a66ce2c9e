/*
 * pgtext.c - PostgreSQL text-format values (pgtext.h).
 */
#include "pgtext.h"

#include <stdlib.h>
#include <string.h>

char *
pgtext_array(const char *const *v, size_t n)
{
	size_t len = 3;
	char *out, *o;

	for (size_t i = 0; i < n; i++)
		len += v[i] != NULL ? strlen(v[i]) * 2 + 3 : 5;
	if ((out = malloc(len)) == NULL)
		return NULL;
	o = out;
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		if (v[i] == NULL) {
			memcpy(o, "NULL", 4);
			o += 4;
			continue;
		}
		*o++ = '"';
		for (const char *c = v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*o++ = '\\';
			*o++ = *c;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}
