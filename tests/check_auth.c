/*
 * check_auth.c - unit tests for lib/auth.c: bearer token authentication
 * against configured SHA-256 hashes, role implication, role names and the
 * hex decoder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "auth.h"

/* printf %s s3cret | sha256sum */
#define S3CRET_SHA256                                                          \
	"1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"
/* printf %s other | sha256sum */
#define OTHER_SHA256                                                           \
	"d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"

static struct auth_token tokens[3];

static void
setup(void)
{
	memset(tokens, 0, sizeof(tokens));
	snprintf(tokens[0].name, sizeof(tokens[0].name), "ops");
	ck_assert_int_eq(auth_hex_decode32(OTHER_SHA256, tokens[0].sha256), 0);
	tokens[0].roles = AUTH_ADMIN;
	snprintf(tokens[1].name, sizeof(tokens[1].name), "ci");
	ck_assert_int_eq(auth_hex_decode32(S3CRET_SHA256, tokens[1].sha256), 0);
	tokens[1].roles = AUTH_DEPLOY;
	/* A second token with the same hash: the first match wins. */
	snprintf(tokens[2].name, sizeof(tokens[2].name), "ci-copy");
	memcpy(tokens[2].sha256, tokens[1].sha256, 32);
	tokens[2].roles = AUTH_READ;
}

static void
teardown(void)
{
}

static void
assert_authenticates(const char *header, const char *name)
{
	struct gantry_error err = {0};
	const struct auth_token *t;

	t = auth_authenticate(tokens, 3, header, &err);
	ck_assert_msg(t != NULL, "header \"%s\" rejected: %s", header, err.msg);
	ck_assert_str_eq(t->name, name);
}

static void
assert_rejected(const struct auth_token *toks, size_t n, const char *header,
    const char *what)
{
	struct gantry_error err = {0};
	const struct auth_token *t;

	t = auth_authenticate(toks, n, header, &err);
	ck_assert_msg(t == NULL, "header \"%s\" accepted as %s",
	    header ? header : "(null)", t ? t->name : "");
	ck_assert_int_eq(err.code, GANTRY_EAUTH);
	ck_assert_msg(strstr(err.msg, what) != NULL,
	    "message \"%s\" lacks \"%s\"", err.msg, what);
}

START_TEST(test_authenticate_ok)
{
	assert_authenticates("Bearer s3cret", "ci");
	assert_authenticates("bearer s3cret", "ci");
	assert_authenticates("BEARER s3cret", "ci");
	assert_authenticates("Bearer   s3cret", "ci");
	assert_authenticates("Bearer other", "ops");
}
END_TEST

START_TEST(test_authenticate_returns_borrowed)
{
	struct gantry_error err = {0};

	ck_assert_ptr_eq(
	    auth_authenticate(tokens, 3, "Bearer s3cret", &err), &tokens[1]);
	ck_assert_ptr_eq(
	    auth_authenticate(tokens, 3, "Bearer other", &err), &tokens[0]);
	/* Only the first n tokens are searched. */
	ck_assert_ptr_null(auth_authenticate(tokens, 1, "Bearer s3cret", &err));
	ck_assert_int_eq(err.code, GANTRY_EAUTH);
	ck_assert_ptr_eq(
	    auth_authenticate(tokens + 2, 1, "Bearer s3cret", &err),
	    &tokens[2]);
}
END_TEST

START_TEST(test_authenticate_rejects)
{
	assert_rejected(tokens, 3, NULL, "missing Authorization header");
	assert_rejected(tokens, 3, "", "missing Authorization header");
	assert_rejected(tokens, 3, "Basic xyz", "not a Bearer token");
	assert_rejected(tokens, 3, "s3cret", "not a Bearer token");
	assert_rejected(tokens, 3, "Bearer", "not a Bearer token");
	assert_rejected(tokens, 3, "Bearers3cret", "not a Bearer token");
	assert_rejected(tokens, 3, "Bearer ", "empty bearer token");
	assert_rejected(tokens, 3, "Bearer    ", "empty bearer token");
	assert_rejected(tokens, 3, "Bearer nope", "unknown bearer token");
	assert_rejected(tokens, 3, "Bearer S3CRET", "unknown bearer token");
	assert_rejected(tokens, 3, "Bearer s3cret ", "unknown bearer token");
	assert_rejected(tokens, 3, "Bearer s3cre", "unknown bearer token");
	/* No tokens configured at all. */
	assert_rejected(tokens, 0, "Bearer s3cret", "unknown bearer token");
	assert_rejected(NULL, 0, "Bearer s3cret", "unknown bearer token");
}
END_TEST

START_TEST(test_authenticate_null_err)
{
	ck_assert_ptr_null(auth_authenticate(tokens, 3, "Basic xyz", NULL));
	ck_assert_ptr_null(auth_authenticate(tokens, 3, "Bearer x", NULL));
	ck_assert_ptr_nonnull(
	    auth_authenticate(tokens, 3, "Bearer s3cret", NULL));
}
END_TEST

START_TEST(test_roles_admin)
{
	struct auth_token t = {.roles = AUTH_ADMIN};

	ck_assert(auth_has_role(&t, AUTH_NONE));
	ck_assert(auth_has_role(&t, AUTH_READ));
	ck_assert(auth_has_role(&t, AUTH_DEPLOY));
	ck_assert(auth_has_role(&t, AUTH_OVERRIDE));
	ck_assert(auth_has_role(&t, AUTH_ADMIN));
}
END_TEST

START_TEST(test_roles_deploy)
{
	struct auth_token t = {.roles = AUTH_DEPLOY};

	ck_assert(auth_has_role(&t, AUTH_NONE));
	ck_assert(auth_has_role(&t, AUTH_READ));
	ck_assert(auth_has_role(&t, AUTH_DEPLOY));
	ck_assert(!auth_has_role(&t, AUTH_OVERRIDE));
	ck_assert(!auth_has_role(&t, AUTH_ADMIN));
}
END_TEST

START_TEST(test_roles_other)
{
	struct auth_token r = {.roles = AUTH_READ};
	struct auth_token o = {.roles = AUTH_OVERRIDE};
	struct auth_token od = {.roles = AUTH_OVERRIDE | AUTH_DEPLOY};
	struct auth_token none = {.roles = 0};

	ck_assert(auth_has_role(&r, AUTH_READ));
	ck_assert(!auth_has_role(&r, AUTH_DEPLOY));
	ck_assert(!auth_has_role(&r, AUTH_OVERRIDE));
	ck_assert(!auth_has_role(&r, AUTH_ADMIN));
	ck_assert(auth_has_role(&o, AUTH_READ));
	ck_assert(auth_has_role(&o, AUTH_OVERRIDE));
	ck_assert(!auth_has_role(&o, AUTH_DEPLOY));
	ck_assert(!auth_has_role(&o, AUTH_ADMIN));
	ck_assert(auth_has_role(&od, AUTH_DEPLOY));
	ck_assert(auth_has_role(&od, AUTH_OVERRIDE));
	ck_assert(!auth_has_role(&od, AUTH_ADMIN));
	ck_assert(auth_has_role(&none, AUTH_NONE));
	ck_assert(!auth_has_role(&none, AUTH_READ));
	ck_assert(!auth_has_role(&none, AUTH_DEPLOY));
	/* No token: only public routes. */
	ck_assert(auth_has_role(NULL, AUTH_NONE));
	ck_assert(!auth_has_role(NULL, AUTH_READ));
	ck_assert(!auth_has_role(NULL, AUTH_ADMIN));
}
END_TEST

START_TEST(test_role_parse_name)
{
	static const struct {
		const char *name;
		enum auth_role role;
	} table[] = {
	    {"read", AUTH_READ},
	    {"deploy", AUTH_DEPLOY},
	    {"override", AUTH_OVERRIDE},
	    {"admin", AUTH_ADMIN},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ck_assert_uint_eq(
		    auth_role_parse(table[i].name), table[i].role);
		ck_assert_str_eq(auth_role_name(table[i].role), table[i].name);
	}
	ck_assert_uint_eq(auth_role_parse("Admin"), 0);
	ck_assert_uint_eq(auth_role_parse("root"), 0);
	ck_assert_uint_eq(auth_role_parse(""), 0);
	ck_assert_uint_eq(auth_role_parse("read "), 0);
	ck_assert_str_eq(auth_role_name(AUTH_NONE), "none");
	ck_assert_str_eq(auth_role_name(AUTH_READ | AUTH_ADMIN), "none");
}
END_TEST

START_TEST(test_hex_decode)
{
	unsigned char out[32];
	char hex[80];

	ck_assert_int_eq(auth_hex_decode32(S3CRET_SHA256, out), 0);
	ck_assert_uint_eq(out[0], 0x1e);
	ck_assert_uint_eq(out[1], 0xc1);
	ck_assert_uint_eq(out[30], 0xcb);
	ck_assert_uint_eq(out[31], 0xa0);
	/* Upper case decodes to the same bytes. */
	ck_assert_int_eq(auth_hex_decode32("1EC1C26B50D5D3C58D9583181AF807665"
	                                   "5FE00756BF7285940BA3670F99FCBA0",
	                     out),
	    0);
	ck_assert_uint_eq(out[0], 0x1e);
	ck_assert_uint_eq(out[31], 0xa0);
	ck_assert_int_eq(auth_hex_decode32("00000000000000000000000000000000"
	                                   "000000000000000000000000000000fF",
	                     out),
	    0);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(out[31], 0xff);
	/* 63 and 65 digits. */
	snprintf(hex, sizeof(hex), "%.63s", S3CRET_SHA256);
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	snprintf(hex, sizeof(hex), "%s0", S3CRET_SHA256);
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	ck_assert_int_eq(auth_hex_decode32("", out), -1);
	/* Non-hex digits at the start, the middle and the end. */
	snprintf(hex, sizeof(hex), "%s", S3CRET_SHA256);
	hex[0] = 'g';
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	snprintf(hex, sizeof(hex), "%s", S3CRET_SHA256);
	hex[33] = ' ';
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	snprintf(hex, sizeof(hex), "%s", S3CRET_SHA256);
	hex[63] = 'x';
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	snprintf(hex, sizeof(hex), "%s", S3CRET_SHA256);
	hex[10] = '/'; /* just below '0' */
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	hex[10] = ':'; /* just above '9' */
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	hex[10] = 'G';
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	hex[10] = '@';
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
	hex[10] = '`';
	ck_assert_int_eq(auth_hex_decode32(hex, out), -1);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_authenticate_ok);
	tcase_add_test(tc, test_authenticate_returns_borrowed);
	tcase_add_test(tc, test_authenticate_rejects);
	tcase_add_test(tc, test_authenticate_null_err);
	tcase_add_test(tc, test_roles_admin);
	tcase_add_test(tc, test_roles_deploy);
	tcase_add_test(tc, test_roles_other);
	tcase_add_test(tc, test_role_parse_name);
	tcase_add_test(tc, test_hex_decode);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(auth_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
