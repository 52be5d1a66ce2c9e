/*
 * check_prom.c - unit tests for lib/prom.c: instant-query URLs (base
 * forms, percent-encoding of a realistic PromQL expression, the time
 * parameter), {{target}} expansion with names that need escaping in each
 * kind of PromQL string, query responses as Prometheus sends them, and
 * Alertmanager webhook payloads.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "prom.h"

/* --- prom_query_url ------------------------------------------------------ */

START_TEST(test_url_encoding)
{
	const char *expr =
	    "sum(rate(http_requests_total{job=\"orders\",code=~\"5..\"}[1m]))"
	    " / sum(rate(http_requests_total{job=\"orders\"}[1m])) > 0.5";
	char *u = prom_query_url("http://prom:9090", expr, 0);

	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u,
	    "http://prom:9090/api/v1/query?query="
	    "sum%28rate%28http_requests_total%7Bjob%3D%22orders%22%2C"
	    "code%3D~%225..%22%7D%5B1m%5D%29%29%20%2F%20sum%28rate%28"
	    "http_requests_total%7Bjob%3D%22orders%22%7D%5B1m%5D%29%29"
	    "%20%3E%200.5");
	free(u);

	/* Non-ASCII bytes, '+', '&', '#', '%' and '\' are encoded too. */
	u = prom_query_url("http://p", "a+b&c#d%e\\f\xc3\xa9", 0);
	ck_assert_str_eq(
	    u, "http://p/api/v1/query?query=a%2Bb%26c%23d%25e%5Cf%C3%A9");
	free(u);
}
END_TEST

START_TEST(test_url_base_and_time)
{
	char *u;

	u = prom_query_url("https://mon.example.com/prometheus/", "up", 0);
	ck_assert_str_eq(
	    u, "https://mon.example.com/prometheus/api/v1/query?query=up");
	free(u);
	u = prom_query_url("http://h:9090//", "up", 1700000000123LL);
	ck_assert_str_eq(
	    u, "http://h:9090/api/v1/query?query=up&time=1700000000.123");
	free(u);
	u = prom_query_url("http://h", "up", 5);
	ck_assert_str_eq(u, "http://h/api/v1/query?query=up&time=0.005");
	free(u);
	u = prom_query_url("http://h", "up", 1700000000000LL);
	ck_assert_str_eq(
	    u, "http://h/api/v1/query?query=up&time=1700000000.000");
	free(u);
}
END_TEST

/* --- prom_expand_targets ------------------------------------------------- */

START_TEST(test_expand_double_quotes)
{
	const char *t[] = {"a-1", "b.2", "web(3)+x", "q\"uote", "back\\slash"};
	char *s = prom_expand_targets(
	    "max(rate(errors{instance=~\"{{target}}\"}[1m]))", t, 5);

	ck_assert_ptr_nonnull(s);
	/* Regex escape (one backslash) written in a "..." literal (each
	 * backslash doubled); the quote gets a PromQL escape only. */
	ck_assert_str_eq(s,
	    "max(rate(errors{instance=~\"a-1|b\\\\.2|web\\\\(3\\\\)\\\\+x|"
	    "q\\\"uote|back\\\\\\\\slash\"}[1m]))");
	free(s);
}
END_TEST

START_TEST(test_expand_every_placeholder)
{
	const char *t[] = {"x.y"};
	char *s =
	    prom_expand_targets("a{i=~\"{{target}}\"} / b{i!~\"{{target}}\"}"
	                        " {{targe}}",
	        t, 1);

	ck_assert_str_eq(s, "a{i=~\"x\\\\.y\"} / b{i!~\"x\\\\.y\"} {{targe}}");
	free(s);
	/* No placeholder: the expression comes back unchanged. */
	s = prom_expand_targets("up", t, 1);
	ck_assert_str_eq(s, "up");
	free(s);
}
END_TEST

START_TEST(test_expand_quote_kinds)
{
	const char *t[] = {"it's.x", "a\"b"};
	char *s;

	/* Single quotes: ' is escaped, " is not. */
	s = prom_expand_targets("up{i=~'{{target}}'}", t, 2);
	ck_assert_str_eq(s, "up{i=~'it\\'s\\\\.x|a\"b'}");
	free(s);
	/* A raw string: one backslash, no quote escapes. */
	s = prom_expand_targets("up{i=~`{{target}}`}", t, 2);
	ck_assert_str_eq(s, "up{i=~`it's\\.x|a\"b`}");
	free(s);
	/* An escaped quote before the placeholder does not end the string. */
	s = prom_expand_targets("up{a=\"x\\\"\",i=~\"{{target}}\"}", t, 1);
	ck_assert_str_eq(s, "up{a=\"x\\\"\",i=~\"it's\\\\.x\"}");
	free(s);
}
END_TEST

START_TEST(test_expand_refusals)
{
	const char *t[] = {"ok", "bad`tick"};

	ck_assert_ptr_null(prom_expand_targets("up{i=~\"{{target}}\"}", t, 0));
	ck_assert_ptr_null(prom_expand_targets("up{i=~`{{target}}`}", t, 2));
}
END_TEST

/* --- prom_parse_value ---------------------------------------------------- */

static int
parse(const char *body, double *v, bool *missing, struct gantry_error *err)
{
	gantry_error_clear(err);
	return prom_parse_value(body, strlen(body), v, missing, err);
}

START_TEST(test_value_vector)
{
	const char *body =
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":[{\"metric\":{\"job\":\"orders\"},"
	    "\"value\":[1700000000.123,\"0.034\"]}]},"
	    "\"stats\":{\"timings\":{}}}";
	struct gantry_error err;
	double v = 0;
	bool missing = true;

	ck_assert_int_eq(parse(body, &v, &missing, &err), 0);
	ck_assert(!missing);
	ck_assert_double_eq_tol(v, 0.034, 1e-12);
}
END_TEST

START_TEST(test_value_scalar)
{
	struct gantry_error err;
	double v = 0;
	bool missing = true;

	ck_assert_int_eq(parse("{\"status\":\"success\",\"data\":{"
	                       "\"resultType\":\"scalar\","
	                       "\"result\":[1700000000,\"-12.5e1\"]}}",
	                     &v, &missing, &err),
	    0);
	ck_assert(!missing);
	ck_assert_double_eq(v, -125.0);
}
END_TEST

START_TEST(test_value_missing)
{
	const char *bodies[] = {
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":[]}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":[{\"metric\":{},\"value\":[1700000000.5,\"NaN\"]}]}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":[{\"metric\":{},\"value\":[1700000000.5,\"+Inf\"]}]}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
	    "\"result\":[1700000000.5,\"-Inf\"]}}",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct gantry_error err;
		double v = 1;
		bool missing = false;

		ck_assert_msg(parse(bodies[i], &v, &missing, &err) == 0,
		    "body %zu: %s", i, err.msg);
		ck_assert_msg(missing, "body %zu", i);
		ck_assert(isnan(v));
	}
}
END_TEST

START_TEST(test_value_many_series)
{
	struct gantry_error err;
	double v;
	bool missing;

	ck_assert_int_eq(
	    parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	          "\"result\":["
	          "{\"metric\":{\"instance\":\"a:9100\"},\"value\":[1,\"1\"]},"
	          "{\"metric\":{\"instance\":\"b:9100\"},\"value\":[1,\"2\"]},"
	          "{\"metric\":{\"instance\":\"c:9100\"},\"value\":[1,\"3\"]}"
	          "]}}",
	        &v, &missing, &err),
	    -1);
	ck_assert_int_eq(err.code, GANTRY_EINVALID);
	ck_assert_str_eq(err.msg,
	    "query returned 3 series; an alarm needs one (wrap it in sum() or "
	    "max())");
}
END_TEST

START_TEST(test_value_error_response)
{
	struct gantry_error err;
	double v;
	bool missing;

	ck_assert_int_eq(
	    parse("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
	          "\"invalid parameter \\\"query\\\": 1:5: parse error: "
	          "unexpected end of input\"}",
	        &v, &missing, &err),
	    -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_str_eq(err.msg,
	    "bad_data: invalid parameter \"query\": 1:5: parse error: "
	    "unexpected end of input");
}
END_TEST

START_TEST(test_value_malformed)
{
	const char *bodies[] = {
	    "",
	    "<html>502 Bad Gateway</html>",
	    "[]",
	    "{\"data\":{}}",
	    "{\"status\":\"success\"}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
	    "\"result\":[]}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":{}}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":[{\"metric\":{}}]}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":[{\"value\":[1,0.5]}]}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":[{\"value\":[1,\"0.5x\"]}]}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
	    "\"result\":[{\"value\":[1,\"\"]}]}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
	    "\"result\":[1]}}",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct gantry_error err;
		double v;
		bool missing;

		ck_assert_msg(parse(bodies[i], &v, &missing, &err) == -1,
		    "body %zu parsed", i);
		ck_assert_int_eq(err.code, GANTRY_EINVAL);
		ck_assert(err.msg[0] != '\0');
	}
}
END_TEST

/* --- prom_parse_alertmanager --------------------------------------------- */

static const char am_body[] =
    "{\"receiver\":\"gantry\",\"status\":\"firing\",\"alerts\":["
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"HighErrorRate\","
    "\"gantry_alarm\":\"orders-errors\",\"severity\":\"page\"},"
    "\"annotations\":{\"summary\":\"5xx ratio above 1%\","
    "\"description\":\"long text\"},"
    "\"startsAt\":\"2024-03-07T17:30:00.000Z\","
    "\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"http://prom:9090/graph?g0.expr=x\","
    "\"fingerprint\":\"c3a1f0e2b4d5a6b7\"},"
    "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"LatencyP99\"},"
    "\"annotations\":{\"description\":\"p99 over 500ms\"},"
    "\"startsAt\":\"2024-03-07T17:00:00Z\","
    "\"endsAt\":\"2024-03-07T17:20:00Z\",\"fingerprint\":\"0f1e2d3c\"},"
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"TrafficDrop\","
    "\"team\":\"orders\"},\"annotations\":{},"
    "\"startsAt\":\"2024-03-07T17:31:00Z\","
    "\"endsAt\":\"0001-01-01T00:00:00Z\"}"
    "],\"groupLabels\":{\"alertname\":\"HighErrorRate\"},"
    "\"commonLabels\":{},\"commonAnnotations\":{},"
    "\"externalURL\":\"http://am:9093\",\"version\":\"4\","
    "\"groupKey\":\"{}:{alertname=\\\"HighErrorRate\\\"}\","
    "\"truncatedAlerts\":0}";

START_TEST(test_am_alerts)
{
	struct gantry_error err;
	struct prom_alert *a;
	size_t n;

	ck_assert_int_eq(prom_parse_alertmanager(
	                     am_body, strlen(am_body), NULL, &a, &n, &err),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(a[0].alarm, "orders-errors");
	ck_assert(a[0].firing);
	ck_assert_str_eq(a[0].reason, "5xx ratio above 1%");
	ck_assert_str_eq(a[0].fingerprint, "c3a1f0e2b4d5a6b7");
	/* No gantry_alarm label: alertname; description as the reason. */
	ck_assert_str_eq(a[1].alarm, "LatencyP99");
	ck_assert(!a[1].firing);
	ck_assert_str_eq(a[1].reason, "p99 over 500ms");
	ck_assert_str_eq(a[1].fingerprint, "0f1e2d3c");
	/* No annotations, no fingerprint. */
	ck_assert_str_eq(a[2].alarm, "TrafficDrop");
	ck_assert(a[2].firing);
	ck_assert_str_eq(a[2].reason, "TrafficDrop firing");
	ck_assert_str_eq(a[2].fingerprint, "");
	prom_alerts_free(a, n);
}
END_TEST

START_TEST(test_am_custom_label)
{
	struct gantry_error err;
	struct prom_alert *a;
	size_t n;

	ck_assert_int_eq(prom_parse_alertmanager(
	                     am_body, strlen(am_body), "team", &a, &n, &err),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(a[0].alarm, "HighErrorRate"); /* no team: fallback */
	ck_assert_str_eq(a[2].alarm, "orders");
	prom_alerts_free(a, n);
}
END_TEST

START_TEST(test_am_errors)
{
	static const struct {
		const char *body, *msg;
	} cases[] = {
	    {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\","
	     "\"labels\":{\"alertname\":\"A\"}},{\"status\":\"firing\","
	     "\"annotations\":{}}]}",
	        "alerts[1].labels: missing (an object of labels)"},
	    {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\","
	     "\"labels\":{\"severity\":\"page\"}}]}",
	        "alerts[0].labels: no gantry_alarm or alertname label"},
	    {"{\"version\":\"4\",\"alerts\":[{\"status\":\"pending\","
	     "\"labels\":{\"alertname\":\"A\"}}]}",
	        "alerts[0].status: must be \"firing\" or \"resolved\""},
	    {"{\"version\":\"4\",\"alerts\":[7]}",
	        "alerts[0]: expected an object"},
	    {"{\"version\":\"4\"}", "alerts: missing (an array of alerts)"},
	    {"{\"version\":\"3\",\"alerts\":[]}",
	        "version: \"3\" is not supported (only \"4\")"},
	    {"[1,2]", "webhook body: expected an object"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gantry_error err;
		struct prom_alert *a = (void *)1;
		size_t n = 9;

		gantry_error_clear(&err);
		ck_assert_int_eq(prom_parse_alertmanager(cases[i].body,
		                     strlen(cases[i].body), NULL, &a, &n, &err),
		    -1);
		ck_assert_ptr_null(a);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(err.code, GANTRY_EINVAL);
		ck_assert_str_eq(err.msg, cases[i].msg);
	}
}
END_TEST

START_TEST(test_am_garbage_and_empty)
{
	struct gantry_error err;
	struct prom_alert *a;
	size_t n;
	const char *empty = "{\"version\":\"4\",\"status\":\"resolved\","
	                    "\"alerts\":[]}";

	ck_assert_int_eq(
	    prom_parse_alertmanager("{\"alerts\":[", 11, NULL, &a, &n, &err),
	    -1);
	ck_assert_int_eq(err.code, GANTRY_EINVAL);
	ck_assert_int_eq(
	    prom_parse_alertmanager(empty, strlen(empty), NULL, &a, &n, &err),
	    0);
	ck_assert_uint_eq(n, 0);
	prom_alerts_free(a, n);
}
END_TEST

static Suite *
prom_suite(void)
{
	Suite *s = suite_create("prom");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_url_encoding);
	tcase_add_test(tc, test_url_base_and_time);
	tcase_add_test(tc, test_expand_double_quotes);
	tcase_add_test(tc, test_expand_every_placeholder);
	tcase_add_test(tc, test_expand_quote_kinds);
	tcase_add_test(tc, test_expand_refusals);
	tcase_add_test(tc, test_value_vector);
	tcase_add_test(tc, test_value_scalar);
	tcase_add_test(tc, test_value_missing);
	tcase_add_test(tc, test_value_many_series);
	tcase_add_test(tc, test_value_error_response);
	tcase_add_test(tc, test_value_malformed);
	tcase_add_test(tc, test_am_alerts);
	tcase_add_test(tc, test_am_custom_label);
	tcase_add_test(tc, test_am_errors);
	tcase_add_test(tc, test_am_garbage_and_empty);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(prom_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
