/*
 * router.c - segment-by-segment path matching (router.h).
 */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Match one pattern; on success fill m's params. */
static bool
pattern_match(const char *pat, const char *path, struct route_match *m)
{
	m->nparams = 0;
	while (*pat != '\0' && *path != '\0') {
		if (*pat != '/' || *path != '/')
			return false;
		pat++;
		path++;
		const char *pe = strchr(pat, '/');
		const char *se = strchr(path, '/');
		size_t plen = pe ? (size_t)(pe - pat) : strlen(pat);
		size_t slen = se ? (size_t)(se - path) : strlen(path);

		if (plen >= 3 && pat[0] == '{' && pat[plen - 2] == '*' &&
		    pat[plen - 1] == '}' && pat[plen] == '\0') {
			/* {name*}: the rest of the path, slashes included */
			size_t nlen = plen - 3, rlen = strlen(path);

			if (rlen == 0 || rlen >= ROUTER_PARAM_MAX ||
			    m->nparams == ROUTER_MAX_PARAMS ||
			    nlen >= sizeof(m->names[0]))
				return false;
			memcpy(m->names[m->nparams], pat + 1, nlen);
			m->names[m->nparams][nlen] = '\0';
			memcpy(m->values[m->nparams], path, rlen + 1);
			m->nparams++;
			return true;
		}
		if (plen >= 2 && pat[0] == '{' && pat[plen - 1] == '}') {
			size_t nlen = plen - 2;

			if (slen == 0 || slen >= ROUTER_PARAM_MAX ||
			    m->nparams == ROUTER_MAX_PARAMS ||
			    nlen >= sizeof(m->names[0]))
				return false;
			memcpy(m->names[m->nparams], pat + 1, nlen);
			m->names[m->nparams][nlen] = '\0';
			memcpy(m->values[m->nparams], path, slen);
			m->values[m->nparams][slen] = '\0';
			m->nparams++;
		} else if (plen != slen || memcmp(pat, path, plen) != 0) {
			return false;
		}
		pat += plen;
		path += slen;
	}
	return *pat == '\0' && *path == '\0';
}

int
router_match(const struct route *routes, size_t n, const char *method,
    const char *path, struct route_match *m, struct gantry_error *err)
{
	char allowed[128] = "";
	size_t off = 0;
	bool path_seen = false;

	for (size_t i = 0; i < n; i++) {
		if (!pattern_match(routes[i].pattern, path, m))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			m->route = &routes[i];
			return 0;
		}
		path_seen = true;
		if (off < sizeof(allowed))
			off += (size_t)snprintf(allowed + off,
			    sizeof(allowed) - off, "%s%s", off ? ", " : "",
			    routes[i].method);
	}
	m->route = NULL;
	m->nparams = 0;
	if (path_seen)
		return gantry_error_set(err, GANTRY_EMETHOD,
		    "method %s is not allowed on %s (allowed: %s)", method,
		    path, allowed);
	return gantry_error_set(
	    err, GANTRY_ENOENT, "no such endpoint: %s", path);
}

const char *
router_param(const struct route_match *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (strcmp(m->names[i], name) == 0)
			return m->values[i];
	return NULL;
}
