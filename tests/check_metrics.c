/*
 * check_metrics.c - unit tests for lib/metrics.c: defining families, the
 * add/set/observe rules per type, label escaping, and the exact Prometheus
 * text rendering (HELP/TYPE, series, cumulative histogram buckets).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "metrics.h"

static struct metrics *m;

static void
setup(void)
{
	m = metrics_new();
	ck_assert_ptr_nonnull(m);
}

static void
teardown(void)
{
	metrics_free(m);
	m = NULL;
}

/* Render m and compare with want exactly. */
static void
assert_render(const char *want)
{
	size_t len = 12345;
	char *got = metrics_render(m, &len);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(len, strlen(want));
	free(got);
}

/* Render m and check that want is one whole line of it. */
static void
assert_line(const char *want)
{
	size_t len = 0, wl = strlen(want);
	char *got = metrics_render(m, &len);
	const char *p;
	int found = 0;

	ck_assert_ptr_nonnull(got);
	for (p = got; (p = strstr(p, want)) != NULL; p++)
		if ((p == got || p[-1] == '\n') && p[wl] == '\n')
			found = 1;
	ck_assert_msg(found, "no line \"%s\" in:\n%s", want, got);
	free(got);
}

static const double buckets[] = {0.5, 1, 2.5};

START_TEST(test_empty_registry)
{
	assert_render("");
	metrics_free(NULL);
}
END_TEST

START_TEST(test_counter)
{
	ck_assert_int_eq(metrics_define(m, "gantry_requests_total",
	                     METRICS_COUNTER, "Requests served.", NULL, 0),
	    0);
	/* Defined but never touched: only the header. */
	assert_render("# HELP gantry_requests_total Requests served.\n"
	              "# TYPE gantry_requests_total counter\n");
	ck_assert_int_eq(metrics_add(m, "gantry_requests_total",
	                     "route=\"/healthz\",method=\"GET\"", 1),
	    0);
	ck_assert_int_eq(metrics_add(m, "gantry_requests_total",
	                     "route=\"/healthz\",method=\"GET\"", 2),
	    0);
	ck_assert_int_eq(metrics_add(m, "gantry_requests_total",
	                     "route=\"/v1/pipelines\",method=\"GET\"", 1),
	    0);
	assert_render("# HELP gantry_requests_total Requests served.\n"
	              "# TYPE gantry_requests_total counter\n"
	              "gantry_requests_total{route=\"/healthz\","
	              "method=\"GET\"} 3\n"
	              "gantry_requests_total{route=\"/v1/pipelines\","
	              "method=\"GET\"} 1\n");
}
END_TEST

START_TEST(test_no_labels)
{
	ck_assert_int_eq(
	    metrics_define(m, "up_total", METRICS_COUNTER, "Up.", NULL, 0), 0);
	/* NULL and "" are the same, unlabelled, series. */
	ck_assert_int_eq(metrics_add(m, "up_total", NULL, 1), 0);
	ck_assert_int_eq(metrics_add(m, "up_total", "", 1.5), 0);
	assert_render("# HELP up_total Up.\n"
	              "# TYPE up_total counter\n"
	              "up_total 2.5\n");
}
END_TEST

START_TEST(test_gauge)
{
	ck_assert_int_eq(metrics_define(m, "gantry_executions_running",
	                     METRICS_GAUGE, "Executions in progress.", NULL, 0),
	    0);
	ck_assert_int_eq(
	    metrics_set(m, "gantry_executions_running", NULL, 5), 0);
	ck_assert_int_eq(
	    metrics_set(m, "gantry_executions_running", NULL, 2), 0);
	assert_line("gantry_executions_running 2");
	/* add works on a gauge, down as well as up. */
	ck_assert_int_eq(
	    metrics_add(m, "gantry_executions_running", NULL, -0.5), 0);
	assert_render("# HELP gantry_executions_running Executions in "
	              "progress.\n"
	              "# TYPE gantry_executions_running gauge\n"
	              "gantry_executions_running 1.5\n");
	ck_assert_int_eq(
	    metrics_set(m, "gantry_executions_running", "pool=\"db\"", -3), 0);
	assert_line("gantry_executions_running{pool=\"db\"} -3");
	ck_assert_int_eq(
	    metrics_set(m, "gantry_executions_running", NULL, 1e21), 0);
	assert_line("gantry_executions_running 1e+21");
}
END_TEST

START_TEST(test_set_on_counter)
{
	ck_assert_int_eq(metrics_define(m, "pg_queries_total", METRICS_COUNTER,
	                     "Queries.", NULL, 0),
	    0);
	ck_assert_int_eq(metrics_add(m, "pg_queries_total", NULL, 4), 0);
	ck_assert_int_eq(metrics_set(m, "pg_queries_total", NULL, 100), 0);
	assert_line("pg_queries_total 100");
	ck_assert_int_eq(metrics_add(m, "pg_queries_total", NULL, 1), 0);
	assert_line("pg_queries_total 101");
	assert_line("# TYPE pg_queries_total counter");
}
END_TEST

START_TEST(test_histogram)
{
	ck_assert_int_eq(metrics_define(m, "gantry_request_seconds",
	                     METRICS_HISTOGRAM, "Request latency.", buckets, 3),
	    0);
	ck_assert_int_eq(
	    metrics_observe(m, "gantry_request_seconds", "route=\"/x\"", 0.25),
	    0);
	/* A bucket's bound is inclusive. */
	ck_assert_int_eq(
	    metrics_observe(m, "gantry_request_seconds", "route=\"/x\"", 0.5),
	    0);
	ck_assert_int_eq(
	    metrics_observe(m, "gantry_request_seconds", "route=\"/x\"", 0.75),
	    0);
	ck_assert_int_eq(
	    metrics_observe(m, "gantry_request_seconds", "route=\"/x\"", 3), 0);
	assert_render(
	    "# HELP gantry_request_seconds Request latency.\n"
	    "# TYPE gantry_request_seconds histogram\n"
	    "gantry_request_seconds_bucket{route=\"/x\",le=\"0.5\"} 2\n"
	    "gantry_request_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
	    "gantry_request_seconds_bucket{route=\"/x\",le=\"2.5\"} 3\n"
	    "gantry_request_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
	    "gantry_request_seconds_sum{route=\"/x\"} 4.5\n"
	    "gantry_request_seconds_count{route=\"/x\"} 4\n");
}
END_TEST

START_TEST(test_histogram_no_labels)
{
	ck_assert_int_eq(
	    metrics_define(m, "lat", METRICS_HISTOGRAM, "L.", buckets, 3), 0);
	ck_assert_int_eq(metrics_observe(m, "lat", NULL, 2), 0);
	ck_assert_int_eq(metrics_observe(m, "lat", "", 100), 0);
	assert_render("# HELP lat L.\n"
	              "# TYPE lat histogram\n"
	              "lat_bucket{le=\"0.5\"} 0\n"
	              "lat_bucket{le=\"1\"} 0\n"
	              "lat_bucket{le=\"2.5\"} 1\n"
	              "lat_bucket{le=\"+Inf\"} 2\n"
	              "lat_sum 102\n"
	              "lat_count 2\n");
}
END_TEST

START_TEST(test_histogram_series_are_separate)
{
	ck_assert_int_eq(
	    metrics_define(m, "lat", METRICS_HISTOGRAM, "L.", buckets, 3), 0);
	ck_assert_int_eq(metrics_observe(m, "lat", "a=\"1\"", 0.1), 0);
	ck_assert_int_eq(metrics_observe(m, "lat", "a=\"2\"", 1), 0);
	ck_assert_int_eq(metrics_observe(m, "lat", "a=\"2\"", 1), 0);
	assert_line("lat_bucket{a=\"1\",le=\"0.5\"} 1");
	assert_line("lat_bucket{a=\"1\",le=\"+Inf\"} 1");
	assert_line("lat_count{a=\"1\"} 1");
	assert_line("lat_bucket{a=\"2\",le=\"0.5\"} 0");
	assert_line("lat_bucket{a=\"2\",le=\"1\"} 2");
	assert_line("lat_bucket{a=\"2\",le=\"+Inf\"} 2");
	assert_line("lat_sum{a=\"2\"} 2");
	assert_line("lat_count{a=\"2\"} 2");
}
END_TEST

START_TEST(test_families_in_definition_order)
{
	ck_assert_int_eq(
	    metrics_define(m, "b_total", METRICS_COUNTER, "B.", NULL, 0), 0);
	ck_assert_int_eq(
	    metrics_define(m, "a", METRICS_GAUGE, "A.", NULL, 0), 0);
	ck_assert_int_eq(metrics_set(m, "a", NULL, 1), 0);
	ck_assert_int_eq(metrics_add(m, "b_total", NULL, 1), 0);
	assert_render("# HELP b_total B.\n"
	              "# TYPE b_total counter\n"
	              "b_total 1\n"
	              "# HELP a A.\n"
	              "# TYPE a gauge\n"
	              "a 1\n");
}
END_TEST

START_TEST(test_undefined_name)
{
	ck_assert_int_eq(metrics_add(m, "nope", NULL, 1), -1);
	ck_assert_int_eq(metrics_set(m, "nope", NULL, 1), -1);
	ck_assert_int_eq(metrics_observe(m, "nope", NULL, 1), -1);
	ck_assert_int_eq(
	    metrics_define(m, "yes_total", METRICS_COUNTER, "Y.", NULL, 0), 0);
	ck_assert_int_eq(metrics_add(m, "yes", NULL, 1), -1);
	ck_assert_int_eq(metrics_add(m, "yes_total_x", NULL, 1), -1);
	/* Nothing was created by the failed calls. */
	assert_render("# HELP yes_total Y.\n"
	              "# TYPE yes_total counter\n");
}
END_TEST

START_TEST(test_type_mismatch)
{
	ck_assert_int_eq(
	    metrics_define(m, "c_total", METRICS_COUNTER, "C.", NULL, 0), 0);
	ck_assert_int_eq(
	    metrics_define(m, "g", METRICS_GAUGE, "G.", NULL, 0), 0);
	ck_assert_int_eq(
	    metrics_define(m, "h", METRICS_HISTOGRAM, "H.", buckets, 3), 0);
	ck_assert_int_eq(metrics_observe(m, "c_total", NULL, 1), -1);
	ck_assert_int_eq(metrics_observe(m, "g", NULL, 1), -1);
	ck_assert_int_eq(metrics_add(m, "h", NULL, 1), -1);
	ck_assert_int_eq(metrics_set(m, "h", NULL, 1), -1);
	assert_render("# HELP c_total C.\n# TYPE c_total counter\n"
	              "# HELP g G.\n# TYPE g gauge\n"
	              "# HELP h H.\n# TYPE h histogram\n");
}
END_TEST

START_TEST(test_duplicate_define)
{
	ck_assert_int_eq(
	    metrics_define(m, "x_total", METRICS_COUNTER, "X.", NULL, 0), 0);
	ck_assert_int_eq(
	    metrics_define(m, "x_total", METRICS_COUNTER, "X.", NULL, 0), -1);
	ck_assert_int_eq(
	    metrics_define(m, "x_total", METRICS_GAUGE, "X2.", NULL, 0), -1);
	ck_assert_int_eq(
	    metrics_define(m, "x_total", METRICS_HISTOGRAM, "X3.", buckets, 3),
	    -1);
	/* The original stays a counter. */
	ck_assert_int_eq(metrics_add(m, "x_total", NULL, 1), 0);
	assert_render("# HELP x_total X.\n# TYPE x_total counter\n"
	              "x_total 1\n");
}
END_TEST

START_TEST(test_bad_buckets)
{
	static const double same[] = {1, 1};
	static const double down[] = {0.5, 2, 1};
	double with_nan[] = {1, NAN};
	double many[25];

	ck_assert_int_eq(
	    metrics_define(m, "h1", METRICS_HISTOGRAM, "H.", same, 2), -1);
	ck_assert_int_eq(
	    metrics_define(m, "h2", METRICS_HISTOGRAM, "H.", down, 3), -1);
	ck_assert_int_eq(
	    metrics_define(m, "h3", METRICS_HISTOGRAM, "H.", with_nan, 2), -1);
	ck_assert_int_eq(
	    metrics_define(m, "h4", METRICS_HISTOGRAM, "H.", NULL, 0), -1);
	for (size_t i = 0; i < 25; i++)
		many[i] = (double)i + 1;
	ck_assert_int_eq(
	    metrics_define(m, "h5", METRICS_HISTOGRAM, "H.", many, 25), -1);
	/* None of them was registered. */
	ck_assert_int_eq(metrics_observe(m, "h1", NULL, 1), -1);
	ck_assert_int_eq(metrics_observe(m, "h2", NULL, 1), -1);
	ck_assert_int_eq(metrics_observe(m, "h5", NULL, 1), -1);
	assert_render("");
	/* Exactly 24 buckets is fine, and the name is free again. */
	ck_assert_int_eq(
	    metrics_define(m, "h5", METRICS_HISTOGRAM, "H.", many, 24), 0);
	ck_assert_int_eq(metrics_observe(m, "h5", NULL, 24), 0);
	assert_line("h5_bucket{le=\"23\"} 0");
	assert_line("h5_bucket{le=\"24\"} 1");
	assert_line("h5_bucket{le=\"+Inf\"} 1");
	/* Negative bounds are fine as long as they increase. */
	{
		static const double neg[] = {-1, 0, 1};

		ck_assert_int_eq(
		    metrics_define(m, "h6", METRICS_HISTOGRAM, "H.", neg, 3),
		    0);
		ck_assert_int_eq(metrics_observe(m, "h6", NULL, -2), 0);
		assert_line("h6_bucket{le=\"-1\"} 1");
		assert_line("h6_bucket{le=\"1\"} 1");
		assert_line("h6_sum -2");
	}
}
END_TEST

START_TEST(test_buckets_copied)
{
	double b[] = {1, 2};

	ck_assert_int_eq(
	    metrics_define(m, "h", METRICS_HISTOGRAM, "H.", b, 2), 0);
	b[0] = 100;
	b[1] = 200;
	ck_assert_int_eq(metrics_observe(m, "h", NULL, 1.5), 0);
	assert_line("h_bucket{le=\"1\"} 0");
	assert_line("h_bucket{le=\"2\"} 1");
}
END_TEST

START_TEST(test_decimal_bounds_render_short)
{
	static const double b[] = {0.005, 0.1, 0.25};

	ck_assert_int_eq(
	    metrics_define(m, "h", METRICS_HISTOGRAM, "H.", b, 3), 0);
	ck_assert_int_eq(metrics_observe(m, "h", NULL, 0.1), 0);
	ck_assert_int_eq(metrics_observe(m, "h", NULL, 0.2), 0);
	assert_render("# HELP h H.\n"
	              "# TYPE h histogram\n"
	              "h_bucket{le=\"0.005\"} 0\n"
	              "h_bucket{le=\"0.1\"} 1\n"
	              "h_bucket{le=\"0.25\"} 2\n"
	              "h_bucket{le=\"+Inf\"} 2\n"
	              "h_sum 0.3\n"
	              "h_count 2\n");
}
END_TEST

START_TEST(test_escape)
{
	char out[64];

	ck_assert_str_eq(
	    metrics_escape("plain /v1/x", out, sizeof(out)), "plain /v1/x");
	ck_assert_ptr_eq(metrics_escape("a", out, sizeof(out)), out);
	ck_assert_str_eq(
	    metrics_escape("say \"hi\"", out, sizeof(out)), "say \\\"hi\\\"");
	ck_assert_str_eq(
	    metrics_escape("C:\\dir", out, sizeof(out)), "C:\\\\dir");
	ck_assert_str_eq(
	    metrics_escape("two\nlines", out, sizeof(out)), "two\\nlines");
	ck_assert_str_eq(
	    metrics_escape("\"\\\n", out, sizeof(out)), "\\\"\\\\\\n");
	ck_assert_str_eq(metrics_escape("", out, sizeof(out)), "");
	/* Tabs and UTF-8 pass through. */
	ck_assert_str_eq(
	    metrics_escape("t\tb \xc3\xa9", out, sizeof(out)), "t\tb \xc3\xa9");
}
END_TEST

START_TEST(test_escape_truncates_safely)
{
	char out[8];

	/* Never more than len bytes, always terminated, never half an
	 * escape pair. */
	for (size_t len = 1; len <= sizeof(out); len++) {
		size_t n;

		memset(out, 'X', sizeof(out));
		metrics_escape("\"\"\"\"\"\"", out, len);
		n = strnlen(out, len);
		ck_assert_uint_lt(n, len);
		ck_assert_uint_eq(n % 2, 0);
		for (size_t i = len; i < sizeof(out); i++)
			ck_assert_int_eq(out[i], 'X');
	}
	out[0] = 'Y';
	ck_assert_ptr_eq(metrics_escape("abc", out, 0), out);
	ck_assert_int_eq(out[0], 'Y');
}
END_TEST

START_TEST(test_escaped_labels_render)
{
	char v[64], labels[96];

	ck_assert_int_eq(
	    metrics_define(m, "e_total", METRICS_COUNTER, "E.", NULL, 0), 0);
	metrics_escape("a\"b\\c\nd", v, sizeof(v));
	snprintf(labels, sizeof(labels), "path=\"%s\"", v);
	ck_assert_int_eq(metrics_add(m, "e_total", labels, 1), 0);
	assert_line("e_total{path=\"a\\\"b\\\\c\\nd\"} 1");
}
END_TEST

START_TEST(test_render_grows)
{
	/* Enough series to outgrow the initial render buffer. */
	char labels[64];
	char *out;
	size_t len = 0;

	ck_assert_int_eq(
	    metrics_define(m, "big_total", METRICS_COUNTER, "Big.", NULL, 0),
	    0);
	for (int i = 0; i < 500; i++) {
		snprintf(labels, sizeof(labels), "id=\"%d\"", i);
		ck_assert_int_eq(metrics_add(m, "big_total", labels, i), 0);
	}
	out = metrics_render(m, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_gt(len, 4096);
	ck_assert_uint_eq(len, strlen(out));
	ck_assert_ptr_nonnull(strstr(out, "\nbig_total{id=\"0\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nbig_total{id=\"499\"} 499\n"));
	free(out);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty_registry);
	tcase_add_test(tc, test_counter);
	tcase_add_test(tc, test_no_labels);
	tcase_add_test(tc, test_gauge);
	tcase_add_test(tc, test_set_on_counter);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_histogram_no_labels);
	tcase_add_test(tc, test_histogram_series_are_separate);
	tcase_add_test(tc, test_families_in_definition_order);
	tcase_add_test(tc, test_undefined_name);
	tcase_add_test(tc, test_type_mismatch);
	tcase_add_test(tc, test_duplicate_define);
	tcase_add_test(tc, test_bad_buckets);
	tcase_add_test(tc, test_buckets_copied);
	tcase_add_test(tc, test_decimal_bounds_render_short);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_escape_truncates_safely);
	tcase_add_test(tc, test_escaped_labels_render);
	tcase_add_test(tc, test_render_grows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
