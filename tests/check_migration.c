/*
 * check_migration.c - unit tests for lib/migration.c: which embedded
 * migrations a database still needs, and the refusals (database newer than
 * the binary, diverged history, broken embedded list).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "migration.h"

static const struct migration known[] = {
    {1, "a", "001_a.sql", "CREATE TABLE a (id int);"},
    {2, "b", "002_b.sql", "CREATE TABLE b (id int);"},
    {3, "c", "003_c.sql", "CREATE TABLE c (id int);"},
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

/* Plan, which must succeed with *first_pending == want. */
static void
assert_plan(const int *applied, size_t napplied, size_t want)
{
	struct gantry_error err = {0};
	size_t first = 999;

	ck_assert_msg(
	    migration_plan(known, NKNOWN, applied, napplied, &first, &err) == 0,
	    "migration_plan failed: %s", err.msg);
	ck_assert_uint_eq(first, want);
}

/* Plan over list, which must fail with code and a message containing
 * what, leaving *first_pending alone. */
static void
assert_refused(const struct migration *list, size_t n, const int *applied,
    size_t napplied, enum gantry_err code, const char *what)
{
	struct gantry_error err = {0};
	size_t first = 999;

	ck_assert_int_eq(
	    migration_plan(list, n, applied, napplied, &first, &err), -1);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strstr(err.msg, what) != NULL,
	    "message \"%s\" lacks \"%s\"", err.msg, what);
	ck_assert_uint_eq(first, 999);
}

START_TEST(test_fresh_database)
{
	assert_plan(NULL, 0, 0);
}
END_TEST

START_TEST(test_partly_applied)
{
	static const int a1[] = {1};
	static const int a12[] = {1, 2};

	assert_plan(a1, 1, 1);
	assert_plan(a12, 2, 2);
}
END_TEST

START_TEST(test_current)
{
	static const int a123[] = {1, 2, 3};

	assert_plan(a123, 3, NKNOWN);
}
END_TEST

START_TEST(test_applied_any_order)
{
	static const int a321[] = {3, 1, 2};
	static const int a21[] = {2, 1};
	static const int dup[] = {1, 1, 2};

	assert_plan(a321, 3, 3);
	assert_plan(a21, 2, 2);
	assert_plan(dup, 3, 2);
}
END_TEST

START_TEST(test_database_newer)
{
	static const int a1234[] = {1, 2, 3, 4};
	static const int a4[] = {4};
	static const int a99[] = {1, 99};

	assert_refused(known, NKNOWN, a1234, 4, GANTRY_ECONFLICT,
	    "database schema has migration 4 but this gantryd knows "
	    "migrations 1..3 only");
	assert_refused(known, NKNOWN, a1234, 4, GANTRY_ECONFLICT, "newer");
	assert_refused(known, NKNOWN, a4, 1, GANTRY_ECONFLICT, "newer");
	assert_refused(known, NKNOWN, a99, 2, GANTRY_ECONFLICT, "migration 99");
}
END_TEST

START_TEST(test_bad_applied_versions)
{
	static const int zero[] = {0};
	static const int neg[] = {1, -1};
	static const int one[] = {1};

	assert_refused(known, NKNOWN, zero, 1, GANTRY_ECONFLICT, "migration 0");
	assert_refused(known, NKNOWN, neg, 2, GANTRY_ECONFLICT, "migration -1");
	/* A binary with no migrations facing a database that has some. */
	assert_refused(known, 0, one, 1, GANTRY_ECONFLICT, "newer");
}
END_TEST

START_TEST(test_gap)
{
	static const int a13[] = {1, 3};
	static const int a3[] = {3};
	static const int a2[] = {2};
	static const int a23[] = {2, 3};

	assert_refused(known, NKNOWN, a13, 2, GANTRY_ECONFLICT,
	    "database schema has migration 3 but not 2: the migration history "
	    "diverged");
	assert_refused(known, NKNOWN, a3, 1, GANTRY_ECONFLICT,
	    "has migration 3 but not 1");
	assert_refused(known, NKNOWN, a2, 1, GANTRY_ECONFLICT,
	    "has migration 2 but not 1");
	assert_refused(known, NKNOWN, a23, 2, GANTRY_ECONFLICT, "diverged");
}
END_TEST

START_TEST(test_broken_embedded_list)
{
	static const struct migration gap[] = {
	    {1, "a", "001_a.sql", ""},
	    {3, "c", "003_c.sql", ""},
	};
	static const struct migration from_zero[] = {
	    {0, "z", "000_z.sql", ""},
	};
	static const struct migration dup[] = {
	    {1, "a", "001_a.sql", ""},
	    {1, "a2", "001_a2.sql", ""},
	};
	static const struct migration unsorted[] = {
	    {2, "b", "002_b.sql", ""},
	    {1, "a", "001_a.sql", ""},
	};
	static const int a1[] = {1};

	assert_refused(gap, 2, NULL, 0, GANTRY_EINTERNAL,
	    "embedded migration 003_c.sql has version 3, expected 2");
	/* The embedded list is checked before the database is looked at. */
	assert_refused(gap, 2, a1, 1, GANTRY_EINTERNAL, "003_c.sql");
	assert_refused(from_zero, 1, NULL, 0, GANTRY_EINTERNAL,
	    "000_z.sql has version 0, expected 1");
	assert_refused(dup, 2, NULL, 0, GANTRY_EINTERNAL,
	    "001_a2.sql has version 1, expected 2");
	assert_refused(unsorted, 2, NULL, 0, GANTRY_EINTERNAL,
	    "002_b.sql has version 2, expected 1");
}
END_TEST

START_TEST(test_empty_embedded_list)
{
	struct gantry_error err = {0};
	size_t first = 999;

	ck_assert_int_eq(migration_plan(known, 0, NULL, 0, &first, &err), 0);
	ck_assert_uint_eq(first, 0);
}
END_TEST

START_TEST(test_null_err)
{
	static const int a13[] = {1, 3};
	size_t first = 999;

	ck_assert_int_eq(
	    migration_plan(known, NKNOWN, a13, 2, &first, NULL), -1);
	ck_assert_uint_eq(first, 999);
}
END_TEST

static Suite *
migration_suite(void)
{
	Suite *s = suite_create("migration");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fresh_database);
	tcase_add_test(tc, test_partly_applied);
	tcase_add_test(tc, test_current);
	tcase_add_test(tc, test_applied_any_order);
	tcase_add_test(tc, test_database_newer);
	tcase_add_test(tc, test_bad_applied_versions);
	tcase_add_test(tc, test_gap);
	tcase_add_test(tc, test_broken_embedded_list);
	tcase_add_test(tc, test_empty_embedded_list);
	tcase_add_test(tc, test_null_err);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(migration_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
