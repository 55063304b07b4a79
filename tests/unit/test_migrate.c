/* db/migrate: the rules that need no database — ordering, naming, checksums. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "a51/migrate.h"
#include "a51/util.h"
#include "common/check_main.h"

#define M(v, name, sql) { v, name, sql, sizeof(sql) - 1 }

static const struct migration good[] = {
	M(1, "0001_init.sql", "CREATE TABLE a (x int);"),
	M(2, "0002_more.sql", "CREATE TABLE b (y int);"),
	M(3, "0003_index.sql", "CREATE INDEX ON b (y);"),
};

static void applied_from(const struct migration *m, size_t n, struct migration_applied *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i].version = m[i].version;
		snprintf(out[i].name, sizeof(out[i].name), "%s", m[i].name);
		migration_checksum(&m[i], out[i].checksum);
	}
}

START_TEST(sequence_rules)
{
	static const struct migration gap[] = { M(1, "0001_a.sql", "x"), M(3, "0003_b.sql", "y") };
	static const struct migration late_start[] = { M(2, "0002_a.sql", "x") };
	static const struct migration misnamed[] = { M(1, "0002_a.sql", "x") };
	static const struct migration no_ext[] = { M(1, "0001_abcd", "x") };
	struct a51_error err = { 0 };

	ck_assert_int_eq(migrate_check_sequence(good, 3, &err), 0);
	ck_assert_int_eq(migrate_check_sequence(good, 0, &err), 0);
	ck_assert_int_eq(migrate_check_sequence(gap, 2, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "0003_b.sql");
	ck_assert_int_eq(migrate_check_sequence(late_start, 1, &err), A51_EINVAL);
	ck_assert_int_eq(migrate_check_sequence(misnamed, 1, &err), A51_EINVAL);
	ck_assert_int_eq(migrate_check_sequence(no_ext, 1, &err), A51_EINVAL);
}
END_TEST

START_TEST(plan_fresh_partial_complete)
{
	struct migration_applied a[3];
	struct a51_error err = { 0 };
	size_t pending, ahead;

	applied_from(good, 3, a);
	ck_assert_int_eq(migrate_plan(good, 3, a, 0, &pending, &ahead, &err), 0);
	ck_assert_uint_eq(pending, 0);
	ck_assert_int_eq(migrate_plan(good, 3, a, 2, &pending, &ahead, &err), 0);
	ck_assert_uint_eq(pending, 2);
	ck_assert_int_eq(migrate_plan(good, 3, a, 3, &pending, &ahead, &err), 0);
	ck_assert_uint_eq(pending, 3);
	ck_assert_uint_eq(ahead, 0);
}
END_TEST

START_TEST(changed_migration_is_hard_error)
{
	static const struct migration edited[] = {
		M(1, "0001_init.sql", "CREATE TABLE a (x bigint);"),
		M(2, "0002_more.sql", "CREATE TABLE b (y int);"),
	};
	struct migration_applied a[2];
	struct a51_error err = { 0 };
	size_t pending, ahead;

	applied_from(good, 2, a);
	ck_assert_int_eq(migrate_plan(edited, 2, a, 2, &pending, &ahead, &err), A51_ECONFLICT);
	ck_assert_str_eq(err.field, "0001_init.sql");
	ck_assert(strstr(err.message, "changed after it was applied"));
}
END_TEST

START_TEST(database_ahead_is_tolerated)
{
	struct migration_applied a[3];
	struct a51_error err = { 0 };
	size_t pending, ahead;

	applied_from(good, 3, a);
	ck_assert_int_eq(migrate_plan(good, 2, a, 3, &pending, &ahead, &err), 0);
	ck_assert_uint_eq(pending, 2);
	ck_assert_uint_eq(ahead, 1);
}
END_TEST

START_TEST(hole_in_applied_is_error)
{
	struct migration_applied a[3];
	struct a51_error err = { 0 };
	size_t pending, ahead;

	applied_from(good, 3, a);
	a[1] = a[2]; /* recorded 1 and 3 but not 2 */
	ck_assert_int_eq(migrate_plan(good, 3, a, 2, &pending, &ahead, &err), A51_EINVAL);
}
END_TEST

START_TEST(checksum_is_sha256_of_text)
{
	char sum[65];

	migration_checksum(&good[0], sum);
	ck_assert_uint_eq(strlen(sum), 64);
	/* sha256("CREATE TABLE a (x int);") */
	ck_assert_str_eq(sum, "7d07418dd6e81578e9226978cba7b3c356efcc91fd7c9e06cf1b8f1cc4ce5f35");
}
END_TEST

START_TEST(embedded_migrations_are_well_formed)
{
	struct a51_error err = { 0 };

	ck_assert_uint_ge(a51_migrations_count, 1);
	ck_assert_msg(migrate_check_sequence(a51_migrations, a51_migrations_count, &err) == 0, "%s", err.message);
	for (size_t i = 0; i < a51_migrations_count; i++)
		ck_assert_uint_eq(strlen(a51_migrations[i].sql), a51_migrations[i].len);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *t = tcase_create("migrate");

	tcase_add_test(t, sequence_rules);
	tcase_add_test(t, plan_fresh_partial_complete);
	tcase_add_test(t, changed_migration_is_hard_error);
	tcase_add_test(t, database_ahead_is_tolerated);
	tcase_add_test(t, hole_in_applied_is_error);
	tcase_add_test(t, checksum_is_sha256_of_text);
	tcase_add_test(t, embedded_migrations_are_well_formed);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
