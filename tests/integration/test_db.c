/* db/pool against a real PostgreSQL: bounded acquisition, rollback on release,
 * reconnection after a lost link, error mapping, prepared statements. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a51/db.h"
#include "common/check_main.h"
#include "harness.h"

static struct h_db db;

static void up(void)
{
	PGconn *pg;

	h_db_create(&db, "db");
	pg = h_db_connect(&db);
	h_sql1(pg, "CREATE TABLE t (id int PRIMARY KEY, v int CHECK (v >= 0))");
	PQfinish(pg);
}

static void down(void)
{
	h_db_drop(&db);
}

static struct db_pool *pool(int size, int acquire_ms, int stmt_timeout_ms)
{
	struct db_pool_config c = { .url = db.url, .size = size, .acquire_timeout_ms = acquire_ms,
				    .statement_timeout_ms = stmt_timeout_ms, .connect_timeout_s = 2,
				    .application_name = "a51-test" };
	struct a51_error err = { 0 };
	struct db_pool *p = db_pool_new(&c, &err);

	ck_assert_msg(p != NULL, "%s", err.message);
	return p;
}

static const struct db_stmt Q_PID = { "test_pid", "SELECT pg_backend_pid()", 0 };
static const struct db_stmt Q_INSERT = { "test_insert", "INSERT INTO t (id, v) VALUES ($1, $2)", 2 };
static const struct db_stmt Q_COUNT = { "test_count", "SELECT count(*) FROM t", 0 };
static const struct db_stmt Q_SLEEP = { "test_sleep", "SELECT pg_sleep(2)", 0 };

static long scalar(struct db_conn *c, const struct db_stmt *st)
{
	struct a51_error err = { 0 };
	PGresult *res = db_exec(c, st, NULL, &err);
	long v;

	ck_assert_msg(res != NULL, "%s", err.message);
	v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

START_TEST(acquire_times_out_when_exhausted)
{
	struct db_pool *p = pool(1, 150, 0);
	struct a51_error err = { 0 };
	struct db_conn *a = db_acquire(p, &err), *b;
	struct db_pool_stats st;
	uint64_t t0;

	ck_assert_ptr_nonnull(a);
	t0 = h_now_ms();
	b = db_acquire(p, &err);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(err.code, A51_EUNAVAIL);
	ck_assert_uint_ge(h_now_ms() - t0, 140);
	ck_assert_uint_lt(h_now_ms() - t0, 1500);
	db_pool_stats(p, &st);
	ck_assert_int_eq(st.size, 1);
	ck_assert_int_eq(st.in_use, 1);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.waits, 1);
	db_release(p, a);
	b = db_acquire(p, &err);
	ck_assert_ptr_nonnull(b);
	db_release(p, b);
	db_pool_free(p);
}
END_TEST

START_TEST(open_transaction_rolled_back_on_release)
{
	struct db_pool *p = pool(1, 1000, 0);
	struct a51_error err = { 0 };
	struct db_conn *c = db_acquire(p, &err);
	const char *params[] = { "1", "5" };
	PGresult *res;

	ck_assert_int_eq(db_begin(c, &err), 0);
	res = db_exec(c, &Q_INSERT, params, &err);
	ck_assert_ptr_nonnull(res);
	PQclear(res);
	db_release(p, c); /* forgot to commit */
	c = db_acquire(p, &err);
	ck_assert_int_eq(PQtransactionStatus(db_pg(c)), PQTRANS_IDLE);
	ck_assert_int_eq(scalar(c, &Q_COUNT), 0);
	/* a transaction left in error is cleared the same way */
	ck_assert_int_eq(db_begin(c, &err), 0);
	ck_assert_int_ne(db_run(c, "SELECT 1/0", &err), 0);
	db_release(p, c);
	c = db_acquire(p, &err);
	ck_assert_int_eq(scalar(c, &Q_COUNT), 0);
	db_release(p, c);
	db_pool_free(p);
}
END_TEST

START_TEST(lost_connection_is_reconnected)
{
	struct db_pool *p = pool(1, 1000, 0);
	struct a51_error err = { 0 };
	struct db_conn *c = db_acquire(p, &err);
	long pid1 = scalar(c, &Q_PID), pid2;
	PGconn *admin = h_db_connect(&db);
	char sql[96];

	db_release(p, c);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld)", pid1);
	ck_assert_str_eq(h_sql1(admin, sql), "t");
	PQfinish(admin);
	usleep(100000);
	/* the pooled link is dead; the first statement after acquire reconnects,
	 * re-prepares and answers */
	c = db_acquire(p, &err);
	ck_assert_ptr_nonnull(c);
	pid2 = scalar(c, &Q_PID);
	ck_assert_int_ne(pid1, pid2);
	db_release(p, c);
	db_pool_free(p);
}
END_TEST

START_TEST(errors_are_classified)
{
	struct db_pool *p = pool(1, 1000, 200);
	struct a51_error err = { 0 };
	struct db_conn *c = db_acquire(p, &err);
	const char *ok[] = { "10", "1" }, *neg[] = { "11", "-1" };
	PGresult *res;

	res = db_exec(c, &Q_INSERT, ok, &err);
	ck_assert_ptr_nonnull(res);
	PQclear(res);
	ck_assert_ptr_null(db_exec(c, &Q_INSERT, ok, &err));
	ck_assert_int_eq(err.code, A51_ECONFLICT);
	ck_assert_str_eq(err.sqlstate, "23505");
	ck_assert_ptr_null(db_exec(c, &Q_INSERT, neg, &err));
	ck_assert_int_eq(err.code, A51_EINVAL);
	ck_assert_ptr_null(db_exec(c, &Q_SLEEP, NULL, &err));
	ck_assert_int_eq(err.code, A51_ETIMEOUT);
	/* and the connection is still usable */
	ck_assert_int_eq(scalar(c, &Q_COUNT), 1);
	db_release(p, c);
	db_pool_free(p);
}
END_TEST

START_TEST(commit_of_failed_transaction_fails)
{
	struct db_pool *p = pool(1, 1000, 0);
	struct a51_error err = { 0 };
	struct db_conn *c = db_acquire(p, &err);

	ck_assert_int_eq(db_begin(c, &err), 0);
	ck_assert_int_ne(db_run(c, "SELECT 1/0", &err), 0);
	ck_assert_int_ne(db_commit(c, &err), 0);
	ck_assert(strstr(err.message, "rolled back"));
	db_release(p, c);
	db_pool_free(p);
}
END_TEST

START_TEST(unreachable_database_fails_fast)
{
	struct db_pool_config cfg = { .url = "postgresql:///nope?host=/nonexistent&port=1", .size = 2,
				      .acquire_timeout_ms = 1000, .statement_timeout_ms = 0,
				      .connect_timeout_s = 2, .application_name = "t" };
	struct a51_error err = { 0 };
	struct db_pool *p = db_pool_new(&cfg, &err);
	uint64_t t0 = h_now_ms();

	ck_assert_ptr_null(db_acquire(p, &err));
	ck_assert_int_eq(err.code, A51_EUNAVAIL);
	ck_assert_ptr_null(db_acquire(p, &err));
	ck_assert_uint_lt(h_now_ms() - t0, 500);
	db_pool_free(p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("db");
	TCase *t = tcase_create("db");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, acquire_times_out_when_exhausted);
	tcase_add_test(t, open_transaction_rolled_back_on_release);
	tcase_add_test(t, lost_connection_is_reconnected);
	tcase_add_test(t, errors_are_classified);
	tcase_add_test(t, commit_of_failed_transaction_fails);
	tcase_add_test(t, unreachable_database_fails_fast);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
