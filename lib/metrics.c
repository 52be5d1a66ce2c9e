/*
 * metrics.c - the Prometheus text format registry (metrics.h).  Families
 * and series live in small arrays: gantryd exports tens of series, and a
 * linear scan over them costs less than the request it counts.
 */
#include "metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define METRICS_MAX_BUCKETS 24

struct series {
	char *labels;
	double value; /* counter/gauge; histogram sum */
	unsigned long long count; /* histogram observations */
	unsigned long long *bucket_counts; /* histogram, cumulative */
};

struct family {
	char *name;
	char *help;
	enum metrics_type type;
	double buckets[METRICS_MAX_BUCKETS];
	size_t nbuckets;
	struct series *series;
	size_t nseries;
};

struct metrics {
	struct family *fams;
	size_t nfams;
};

struct metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nfams; i++) {
		struct family *f = &m->fams[i];

		for (size_t j = 0; j < f->nseries; j++) {
			free(f->series[j].labels);
			free(f->series[j].bucket_counts);
		}
		free(f->series);
		free(f->name);
		free(f->help);
	}
	free(m->fams);
	free(m);
}

static struct family *
family_find(const struct metrics *m, const char *name)
{
	for (size_t i = 0; i < m->nfams; i++)
		if (strcmp(m->fams[i].name, name) == 0)
			return &m->fams[i];
	return NULL;
}

int
metrics_define(struct metrics *m, const char *name, enum metrics_type t,
    const char *help, const double *buckets, size_t nbuckets)
{
	struct family *grown, *f;

	if (family_find(m, name) != NULL || nbuckets > METRICS_MAX_BUCKETS ||
	    (t == METRICS_HISTOGRAM && nbuckets == 0))
		return -1;
	for (size_t i = 0; i < nbuckets; i++)
		if (!isfinite(buckets[i]) ||
		    (i > 0 && !(buckets[i] > buckets[i - 1])))
			return -1;
	grown = realloc(m->fams, (m->nfams + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	m->fams = grown;
	f = &m->fams[m->nfams];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->help = strdup(help);
	if (f->name == NULL || f->help == NULL) {
		free(f->name);
		free(f->help);
		return -1;
	}
	f->type = t;
	if (nbuckets)
		memcpy(f->buckets, buckets, nbuckets * sizeof(double));
	f->nbuckets = nbuckets;
	m->nfams++;
	return 0;
}

static struct series *
series_get(struct metrics *m, const char *name, const char *labels,
    enum metrics_type want)
{
	struct family *f = family_find(m, name);
	struct series *grown, *s;

	if (labels == NULL)
		labels = "";
	if (f == NULL || f->type != want)
		return NULL;
	for (size_t i = 0; i < f->nseries; i++)
		if (strcmp(f->series[i].labels, labels) == 0)
			return &f->series[i];
	grown = realloc(f->series, (f->nseries + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	f->series = grown;
	s = &f->series[f->nseries];
	memset(s, 0, sizeof(*s));
	s->labels = strdup(labels);
	if (f->type == METRICS_HISTOGRAM)
		s->bucket_counts =
		    calloc(f->nbuckets, sizeof(*s->bucket_counts));
	if (s->labels == NULL ||
	    (f->type == METRICS_HISTOGRAM && s->bucket_counts == NULL)) {
		free(s->labels);
		free(s->bucket_counts);
		return NULL;
	}
	f->nseries++;
	return s;
}

int
metrics_add(struct metrics *m, const char *name, const char *labels, double v)
{
	struct series *s = series_get(m, name, labels, METRICS_COUNTER);

	if (s == NULL)
		s = series_get(m, name, labels, METRICS_GAUGE);
	if (s == NULL)
		return -1;
	s->value += v;
	return 0;
}

int
metrics_set(struct metrics *m, const char *name, const char *labels, double v)
{
	struct series *s = series_get(m, name, labels, METRICS_GAUGE);

	if (s == NULL) /* a counter mirrored from a source that counts */
		s = series_get(m, name, labels, METRICS_COUNTER);
	if (s == NULL)
		return -1;
	s->value = v;
	return 0;
}

int
metrics_observe(
    struct metrics *m, const char *name, const char *labels, double v)
{
	struct series *s = series_get(m, name, labels, METRICS_HISTOGRAM);
	const struct family *f = family_find(m, name);

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < f->nbuckets; i++)
		if (v <= f->buckets[i])
			s->bucket_counts[i]++;
	s->count++;
	s->value += v;
	return 0;
}

char *
metrics_escape(const char *value, char *out, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return out;
	for (const char *p = value; *p != '\0' && o + 1 < len; p++) {
		bool two = *p == '\\' || *p == '"' || *p == '\n';

		if (two && o + 2 >= len)
			break;
		if (*p == '\\' || *p == '"') {
			out[o++] = '\\';
			out[o++] = *p;
		} else if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

static void
fmt_value(double v, char *buf, size_t len)
{
	if (isinf(v))
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	else if (isnan(v))
		snprintf(buf, len, "NaN");
	else
		snprintf(buf, len, "%.15g", v);
}

char *
metrics_render(const struct metrics *m, size_t *len)
{
	static const char *type_names[] = {"counter", "gauge", "histogram"};
	struct buf o = {0};
	char val[64], le[64];

	for (size_t i = 0; i < m->nfams; i++) {
		const struct family *f = &m->fams[i];

		buf_addf(&o, "# HELP %s ", f->name);
		for (const char *h = f->help; *h != '\0'; h++) {
			if (*h == '\\')
				buf_adds(&o, "\\\\");
			else if (*h == '\n')
				buf_adds(&o, "\\n");
			else
				buf_add(&o, h, 1);
		}
		buf_addf(&o, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
		for (size_t j = 0; j < f->nseries; j++) {
			const struct series *s = &f->series[j];
			const char *l = s->labels;
			const char *sep = *l ? "," : "";

			if (f->type != METRICS_HISTOGRAM) {
				fmt_value(s->value, val, sizeof(val));
				buf_addf(&o, "%s%s%s%s %s\n", f->name,
				    *l ? "{" : "", l, *l ? "}" : "", val);
				continue;
			}
			for (size_t b = 0; b < f->nbuckets; b++) {
				fmt_value(f->buckets[b], le, sizeof(le));
				buf_addf(&o, "%s_bucket{%s%sle=\"%s\"} %llu\n",
				    f->name, l, sep, le, s->bucket_counts[b]);
			}
			buf_addf(&o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
			    f->name, l, sep, s->count);
			fmt_value(s->value, val, sizeof(val));
			buf_addf(&o, "%s_sum%s%s%s %s\n", f->name,
			    *l ? "{" : "", l, *l ? "}" : "", val);
			buf_addf(&o, "%s_count%s%s%s %llu\n", f->name,
			    *l ? "{" : "", l, *l ? "}" : "", s->count);
		}
	}
	return buf_take(&o, len);
}
