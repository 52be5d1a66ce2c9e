/*
 * check_router.c - unit tests for lib/router.c: exact and {param} matching,
 * 404 versus 405 with the allowed methods, and the edges of a segment
 * (trailing slash, empty and over-long parameters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "auth.h"
#include "router.h"

static int h_health, h_list, h_get, h_put, h_abort, h_step;

static const struct route routes[] = {
    {"GET", "/healthz", AUTH_NONE, NULL, &h_health},
    {"GET", "/v1/pipelines", AUTH_READ, NULL, &h_list},
    {"GET", "/v1/pipelines/{name}", AUTH_READ, NULL, &h_get},
    {"PUT", "/v1/pipelines/{name}", AUTH_DEPLOY, "application/yaml", &h_put},
    {"POST", "/v1/executions/{id}/abort", AUTH_OVERRIDE, NULL, &h_abort},
    {"GET", "/v1/executions/{id}/steps/{step}", AUTH_READ, NULL, &h_step},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Match, which must succeed with the route of handler h. */
static void
assert_route(
    const char *method, const char *path, void *h, struct route_match *m)
{
	struct gantry_error err = {0};

	ck_assert_msg(router_match(routes, NROUTES, method, path, m, &err) == 0,
	    "%s %s did not match: %s", method, path, err.msg);
	ck_assert_ptr_nonnull(m->route);
	ck_assert_msg(m->route->handler == h, "%s %s matched %s %s", method,
	    path, m->route->method, m->route->pattern);
	ck_assert_str_eq(m->route->method, method);
}

/* Match, which must fail with code and a message containing what. */
static void
assert_no_route(const char *method, const char *path, enum gantry_err code,
    const char *what)
{
	struct gantry_error err = {0};
	struct route_match m;

	memset(&m, 0xa5, sizeof(m));
	ck_assert_msg(
	    router_match(routes, NROUTES, method, path, &m, &err) == -1,
	    "%s %s unexpectedly matched %s", method, path, m.route->pattern);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strstr(err.msg, what) != NULL,
	    "message \"%s\" lacks \"%s\"", err.msg, what);
	ck_assert_ptr_null(m.route);
	ck_assert_uint_eq(m.nparams, 0);
}

START_TEST(test_static_routes)
{
	struct route_match m;

	assert_route("GET", "/healthz", &h_health, &m);
	ck_assert_uint_eq(m.nparams, 0);
	ck_assert_ptr_null(router_param(&m, "name"));
	ck_assert_uint_eq(m.route->role, AUTH_NONE);
	assert_route("GET", "/v1/pipelines", &h_list, &m);
	ck_assert_uint_eq(m.nparams, 0);
	ck_assert_ptr_eq(m.route, &routes[1]);
}
END_TEST

START_TEST(test_param_routes)
{
	struct route_match m;

	assert_route("GET", "/v1/pipelines/web", &h_get, &m);
	ck_assert_uint_eq(m.nparams, 1);
	ck_assert_str_eq(router_param(&m, "name"), "web");
	ck_assert_ptr_null(router_param(&m, "id"));
	ck_assert_ptr_null(router_param(&m, "nam"));

	assert_route("PUT", "/v1/pipelines/api-v2.prod", &h_put, &m);
	ck_assert_str_eq(router_param(&m, "name"), "api-v2.prod");
	ck_assert_str_eq(m.route->body, "application/yaml");
	ck_assert_uint_eq(m.route->role, AUTH_DEPLOY);

	assert_route("POST", "/v1/executions/42/abort", &h_abort, &m);
	ck_assert_uint_eq(m.nparams, 1);
	ck_assert_str_eq(router_param(&m, "id"), "42");

	assert_route("GET", "/v1/executions/7/steps/build", &h_step, &m);
	ck_assert_uint_eq(m.nparams, 2);
	ck_assert_str_eq(router_param(&m, "id"), "7");
	ck_assert_str_eq(router_param(&m, "step"), "build");
}
END_TEST

START_TEST(test_param_is_a_literal_segment)
{
	struct route_match m;

	/* A value that looks like a pattern or like another route's literal
	 * text is still just the value. */
	assert_route("GET", "/v1/pipelines/{name}", &h_get, &m);
	ck_assert_str_eq(router_param(&m, "name"), "{name}");
	assert_route("GET", "/v1/pipelines/pipelines", &h_get, &m);
	ck_assert_str_eq(router_param(&m, "name"), "pipelines");
	assert_route("POST", "/v1/executions/abort/abort", &h_abort, &m);
	ck_assert_str_eq(router_param(&m, "id"), "abort");
	/* Percent-encoding is not decoded by the router. */
	assert_route("GET", "/v1/pipelines/a%20b", &h_get, &m);
	ck_assert_str_eq(router_param(&m, "name"), "a%20b");
}
END_TEST

START_TEST(test_not_found)
{
	assert_no_route(
	    "GET", "/nope", GANTRY_ENOENT, "no such endpoint: /nope");
	assert_no_route("GET", "/", GANTRY_ENOENT, "no such endpoint: /");
	assert_no_route("GET", "", GANTRY_ENOENT, "no such endpoint");
	assert_no_route("GET", "/v1", GANTRY_ENOENT, "no such endpoint");
	assert_no_route("GET", "/v1/pipeline", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "/v1/pipelinesx", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "/healthz/x", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "/v1/pipelines/web/x", GANTRY_ENOENT, "no such");
	assert_no_route("POST", "/v1/executions/42", GANTRY_ENOENT, "no such");
	assert_no_route(
	    "POST", "/v1/executions/42/abortx", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "healthz", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "/HEALTHZ", GANTRY_ENOENT, "no such");
	/* An unknown path is 404 whatever the method. */
	assert_no_route("DELETE", "/nope", GANTRY_ENOENT, "no such");
}
END_TEST

START_TEST(test_method_not_allowed)
{
	assert_no_route("POST", "/healthz", GANTRY_EMETHOD,
	    "method POST is not allowed on /healthz (allowed: GET)");
	assert_no_route("DELETE", "/v1/pipelines/web", GANTRY_EMETHOD,
	    "method DELETE is not allowed on /v1/pipelines/web "
	    "(allowed: GET, PUT)");
	assert_no_route("GET", "/v1/executions/42/abort", GANTRY_EMETHOD,
	    "(allowed: POST)");
	assert_no_route(
	    "PUT", "/v1/pipelines", GANTRY_EMETHOD, "(allowed: GET)");
	/* Methods are case-sensitive. */
	assert_no_route("get", "/healthz", GANTRY_EMETHOD, "(allowed: GET)");
}
END_TEST

START_TEST(test_trailing_slash)
{
	assert_no_route("GET", "/healthz/", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "/v1/pipelines/", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "/v1/pipelines/web/", GANTRY_ENOENT, "no such");
	assert_no_route(
	    "POST", "/v1/executions/1/abort/", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "//healthz", GANTRY_ENOENT, "no such");
	assert_no_route("GET", "/v1//pipelines", GANTRY_ENOENT, "no such");
}
END_TEST

START_TEST(test_empty_param)
{
	assert_no_route(
	    "POST", "/v1/executions//abort", GANTRY_ENOENT, "no such");
	assert_no_route(
	    "GET", "/v1/executions//steps/x", GANTRY_ENOENT, "no such");
	assert_no_route(
	    "GET", "/v1/executions/1/steps/", GANTRY_ENOENT, "no such");
}
END_TEST

START_TEST(test_long_param)
{
	char path[ROUTER_PARAM_MAX + 64];
	char name[ROUTER_PARAM_MAX + 1];
	struct route_match m;

	/* The longest value that fits: ROUTER_PARAM_MAX - 1 bytes. */
	memset(name, 'a', ROUTER_PARAM_MAX - 1);
	name[ROUTER_PARAM_MAX - 1] = '\0';
	snprintf(path, sizeof(path), "/v1/pipelines/%s", name);
	assert_route("GET", path, &h_get, &m);
	ck_assert_str_eq(router_param(&m, "name"), name);
	ck_assert_uint_eq(
	    strlen(router_param(&m, "name")), ROUTER_PARAM_MAX - 1);
	/* One more byte is rejected, not truncated. */
	memset(name, 'a', ROUTER_PARAM_MAX);
	name[ROUTER_PARAM_MAX] = '\0';
	snprintf(path, sizeof(path), "/v1/pipelines/%s", name);
	assert_no_route("GET", path, GANTRY_ENOENT, "no such endpoint");
	snprintf(path, sizeof(path), "/v1/executions/%s/abort", name);
	assert_no_route("POST", path, GANTRY_ENOENT, "no such endpoint");
}
END_TEST

START_TEST(test_allowed_list_truncated_safely)
{
	/* Many methods on one path: the allowed list is cut, not overrun. */
	static const char *const methods[] = {"GETTTTTTTTTTTTTTTTTTTTTTTT",
	    "PUTTTTTTTTTTTTTTTTTTTTTTTT", "POSTTTTTTTTTTTTTTTTTTTTTTT",
	    "PATCHHHHHHHHHHHHHHHHHHHHHH", "DELETEEEEEEEEEEEEEEEEEEEEE",
	    "OPTIONSSSSSSSSSSSSSSSSSSSS", "HEADDDDDDDDDDDDDDDDDDDDDDD"};
	struct route many[7];
	struct gantry_error err = {0};
	struct route_match m;

	for (size_t i = 0; i < 7; i++)
		many[i] =
		    (struct route){methods[i], "/x", AUTH_NONE, NULL, NULL};
	ck_assert_int_eq(router_match(many, 7, "GET", "/x", &m, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_EMETHOD);
	ck_assert_ptr_nonnull(strstr(err.msg, "(allowed: GETTTT"));
	ck_assert_uint_lt(strlen(err.msg), sizeof(err.msg));
	/* The last route still matches its own method. */
	ck_assert_int_eq(router_match(many, 7, methods[6], "/x", &m, &err), 0);
	ck_assert_ptr_eq(m.route, &many[6]);
}
END_TEST

START_TEST(test_first_matching_route_wins)
{
	static const struct route r[] = {
	    {"GET", "/a/{x}", AUTH_READ, NULL, &h_get},
	    {"GET", "/a/b", AUTH_READ, NULL, &h_list},
	};
	struct gantry_error err = {0};
	struct route_match m;

	ck_assert_int_eq(router_match(r, 2, "GET", "/a/b", &m, &err), 0);
	ck_assert_ptr_eq(m.route, &r[0]);
	ck_assert_str_eq(router_param(&m, "x"), "b");
	/* An empty table matches nothing. */
	ck_assert_int_eq(router_match(r, 0, "GET", "/a/b", &m, &err), -1);
	ck_assert_int_eq(err.code, GANTRY_ENOENT);
}
END_TEST

START_TEST(test_params_do_not_leak_between_routes)
{
	/* A route that matched the path but not the method must not leave
	 * its params behind for the route that finally matches. */
	static const struct route r[] = {
	    {"PUT", "/p/{a}", AUTH_READ, NULL, &h_put},
	    {"GET", "/p/x", AUTH_READ, NULL, &h_get},
	};
	struct gantry_error err = {0};
	struct route_match m;

	ck_assert_int_eq(router_match(r, 2, "GET", "/p/x", &m, &err), 0);
	ck_assert_ptr_eq(m.route, &r[1]);
	ck_assert_uint_eq(m.nparams, 0);
	ck_assert_ptr_null(router_param(&m, "a"));
}
END_TEST

START_TEST(test_null_err)
{
	struct route_match m;

	ck_assert_int_eq(
	    router_match(routes, NROUTES, "GET", "/nope", &m, NULL), -1);
	ck_assert_int_eq(
	    router_match(routes, NROUTES, "POST", "/healthz", &m, NULL), -1);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_static_routes);
	tcase_add_test(tc, test_param_routes);
	tcase_add_test(tc, test_param_is_a_literal_segment);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_trailing_slash);
	tcase_add_test(tc, test_empty_param);
	tcase_add_test(tc, test_long_param);
	tcase_add_test(tc, test_allowed_list_truncated_safely);
	tcase_add_test(tc, test_first_matching_route_wins);
	tcase_add_test(tc, test_params_do_not_leak_between_routes);
	tcase_add_test(tc, test_null_err);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(router_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
