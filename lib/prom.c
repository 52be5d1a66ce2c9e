/*
 * prom.c - the Prometheus and Alertmanager formats of prom.h.  Query
 * responses follow https://prometheus.io/docs/prometheus/latest/querying/api/
 * (instant queries: {"status", "data": {"resultType", "result"}}, samples
 * as [unix_seconds, "value"]); webhooks follow Alertmanager's
 * webhook_config payload, version "4".
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "prom.h"

/* RFC 3986 unreserved characters stay; everything else is %XX. */
static void
add_encoded(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			buf_add(b, s, 1);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			buf_add(b, e, 3);
		}
	}
}

char *
prom_query_url(const char *base, const char *expr, int64_t at_ms)
{
	struct buf b = {0};
	size_t blen = strlen(base);

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	buf_add(&b, base, blen);
	buf_adds(&b, "/api/v1/query?query=");
	add_encoded(&b, expr);
	if (at_ms > 0)
		buf_addf(&b, "&time=%" PRId64 ".%03" PRId64, at_ms / 1000,
		    at_ms % 1000);
	return buf_take(&b, NULL);
}

/* Characters with a meaning in RE2 syntax, escaped with a backslash. */
static bool
regex_special(char ch)
{
	return ch != '\0' && strchr(".+*?()[]{}|^$\\", ch) != NULL;
}

/* Append name as a regex literal, written for a PromQL string literal
 * opened by quote ('"', '\'' or '`'; 0 outside any string, written as for
 * '"').  Returns false when the name cannot be written there. */
static bool
add_target(struct buf *b, const char *name, char quote)
{
	bool raw = quote == '`';

	for (const char *p = name; *p != '\0'; p++) {
		if (raw && *p == '`')
			return false;
		if (regex_special(*p))
			buf_add(b, raw ? "\\" : "\\\\", raw ? 1 : 2);
		if (!raw && (*p == (quote ? quote : '"') || *p == '\\'))
			buf_add(b, "\\", 1);
		buf_add(b, p, 1);
	}
	return true;
}

char *
prom_expand_targets(const char *expr, const char *const *targets, size_t n)
{
	static const char ph[] = "{{target}}";
	struct buf b = {0};
	char quote = 0; /* the string literal we are in, or 0 */

	if (n == 0)
		return NULL;
	for (const char *p = expr; *p != '\0';) {
		if (strncmp(p, ph, sizeof(ph) - 1) == 0) {
			for (size_t i = 0; i < n; i++) {
				if (i > 0)
					buf_add(&b, "|", 1);
				if (!add_target(&b, targets[i], quote)) {
					buf_free(&b);
					return NULL;
				}
			}
			p += sizeof(ph) - 1;
			continue;
		}
		if (quote == 0 && (*p == '"' || *p == '\'' || *p == '`')) {
			quote = *p;
		} else if (quote != 0 && quote != '`' && *p == '\\' &&
		    p[1] != '\0') {
			buf_add(&b, p, 2); /* an escape: skip what it escapes */
			p += 2;
			continue;
		} else if (quote != 0 && *p == quote) {
			quote = 0;
		}
		buf_add(&b, p++, 1);
	}
	return buf_take(&b, NULL);
}

/* Parse a sample [ts, "value"] into *value / *missing. */
static int
parse_sample(json_t *s, const char *what, double *value, bool *missing,
    struct gantry_error *err)
{
	json_t *v;
	const char *txt;
	char *end;
	double d;

	if (!json_is_array(s) || json_array_size(s) != 2 ||
	    !json_is_number(json_array_get(s, 0)) ||
	    !json_is_string(v = json_array_get(s, 1)))
		return gantry_error_set(err, GANTRY_EINVAL,
		    "%s: expected a sample [timestamp, \"value\"]", what);
	txt = json_string_value(v);
	errno = 0;
	d = strtod(txt, &end);
	if (*txt == '\0' || *end != '\0' || (errno == ERANGE && !isinf(d)))
		return gantry_error_set(err, GANTRY_EINVAL,
		    "%s: sample value \"%.40s\" is not a number", what, txt);
	if (isnan(d) || isinf(d)) {
		*value = NAN;
		*missing = true;
	} else {
		*value = d;
		*missing = false;
	}
	return 0;
}

int
prom_parse_value(const char *body, size_t len, double *value, bool *missing,
    struct gantry_error *err)
{
	json_error_t jerr;
	json_t *root, *data, *result;
	const char *status, *type;
	int rc = -1;

	*value = NAN;
	*missing = false;
	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "query response is not JSON: %s (line %d)", jerr.text,
		    jerr.line);
	if (!json_is_object(root) ||
	    (status = json_string_value(json_object_get(root, "status"))) ==
	        NULL) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "query response has no status");
		goto out;
	}
	if (strcmp(status, "success") != 0) {
		const char *et =
		    json_string_value(json_object_get(root, "errorType"));
		const char *e =
		    json_string_value(json_object_get(root, "error"));

		gantry_error_set(err, GANTRY_EINVAL, "%s: %s", et ? et : status,
		    e ? e : "(no error message)");
		goto out;
	}
	data = json_object_get(root, "data");
	type = json_string_value(json_object_get(data, "resultType"));
	result = json_object_get(data, "result");
	if (type == NULL || result == NULL) {
		gantry_error_set(err, GANTRY_EINVAL,
		    "query response has no data.resultType or data.result");
		goto out;
	}
	if (strcmp(type, "scalar") == 0) {
		rc = parse_sample(result, "data.result", value, missing, err);
		goto out;
	}
	if (strcmp(type, "vector") != 0) {
		gantry_error_set(err, GANTRY_EINVAL,
		    "query returned a %.20s; an alarm needs an instant vector "
		    "or a scalar",
		    type);
		goto out;
	}
	if (!json_is_array(result)) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "data.result: expected an array");
		goto out;
	}
	if (json_array_size(result) == 0) {
		*missing = true;
		rc = 0;
		goto out;
	}
	if (json_array_size(result) > 1) {
		gantry_error_set(err, GANTRY_EINVALID,
		    "query returned %zu series; an alarm needs one (wrap it "
		    "in sum() or max())",
		    json_array_size(result));
		goto out;
	}
	rc = parse_sample(json_object_get(json_array_get(result, 0), "value"),
	    "data.result[0].value", value, missing, err);
out:
	json_decref(root);
	return rc;
}

void
prom_alerts_free(struct prom_alert *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].alarm);
		free(v[i].reason);
		free(v[i].fingerprint);
	}
	free(v);
}

/* A non-empty string member of obj, or NULL. */
static const char *
nonempty(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

/* Fill a from alerts[i]; -1 with err naming the path. */
static int
parse_alert(json_t *al, size_t i, const char *label, struct prom_alert *a,
    struct gantry_error *err)
{
	json_t *labels, *ann;
	const char *status, *name, *alertname, *reason, *fp;

	if (!json_is_object(al))
		return gantry_error_set(
		    err, GANTRY_EINVAL, "alerts[%zu]: expected an object", i);
	status = json_string_value(json_object_get(al, "status"));
	if (status == NULL ||
	    (strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0))
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alerts[%zu].status: must be \"firing\" or \"resolved\"",
		    i);
	labels = json_object_get(al, "labels");
	if (!json_is_object(labels))
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alerts[%zu].labels: missing (an object of labels)", i);
	alertname = nonempty(labels, "alertname");
	if ((name = nonempty(labels, label)) == NULL)
		name = alertname;
	if (name == NULL)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "alerts[%zu].labels: no %s or alertname label", i, label);
	ann = json_object_get(al, "annotations");
	if ((reason = nonempty(ann, "summary")) == NULL)
		reason = nonempty(ann, "description");
	fp = json_string_value(json_object_get(al, "fingerprint"));
	a->firing = strcmp(status, "firing") == 0;
	a->alarm = strdup(name);
	a->fingerprint = strdup(fp ? fp : "");
	if (reason != NULL) {
		a->reason = strdup(reason);
	} else {
		const char *an = alertname ? alertname : name;
		size_t rl = strlen(an) + sizeof(" resolved");

		if ((a->reason = malloc(rl)) != NULL)
			snprintf(a->reason, rl, "%s %s", an, status);
	}
	if (a->alarm == NULL || a->fingerprint == NULL || a->reason == NULL)
		return gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
	return 0;
}

int
prom_parse_alertmanager(const char *body, size_t len, const char *label,
    struct prom_alert **out, size_t *n, struct gantry_error *err)
{
	json_error_t jerr;
	json_t *root, *alerts;
	const char *version;
	struct prom_alert *v = NULL;
	size_t count = 0, i;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (label == NULL)
		label = "gantry_alarm";
	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL)
		return gantry_error_set(err, GANTRY_EINVAL,
		    "webhook body is not JSON: %s (line %d)", jerr.text,
		    jerr.line);
	if (!json_is_object(root)) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "webhook body: expected an object");
		goto out;
	}
	version = json_string_value(json_object_get(root, "version"));
	if (version != NULL && strcmp(version, "4") != 0) {
		gantry_error_set(err, GANTRY_EINVAL,
		    "version: \"%.20s\" is not supported (only \"4\")",
		    version);
		goto out;
	}
	alerts = json_object_get(root, "alerts");
	if (!json_is_array(alerts)) {
		gantry_error_set(
		    err, GANTRY_EINVAL, "alerts: missing (an array of alerts)");
		goto out;
	}
	count = json_array_size(alerts);
	if (count > PROM_ALERTS_MAX) {
		gantry_error_set(err, GANTRY_EINVAL,
		    "alerts: %zu alerts, at most %d in one notification", count,
		    PROM_ALERTS_MAX);
		goto out;
	}
	if (count > 0 && (v = calloc(count, sizeof(*v))) == NULL) {
		gantry_error_set(err, GANTRY_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < count; i++)
		if (parse_alert(
		        json_array_get(alerts, i), i, label, &v[i], err) < 0)
			goto out;
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	prom_alerts_free(v, count);
	json_decref(root);
	return rc;
}
