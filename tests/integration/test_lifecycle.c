/* a51d's life: start-up refusals, migrations (concurrent, changed, status),
 * graceful shutdown with a request in flight, PostgreSQL restarted under it,
 * and back-pressure when every connection is busy. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"

START_TEST(bad_configuration_stops_startup)
{
	static const struct { const char *env, *needle; } bad[] = {
		{ "A51_HTTP_THREADS=0", "A51_HTTP_THREADS must be an integer between 1 and 256" },
		{ "A51_MAX_BODY=huge", "A51_MAX_BODY must be a positive size" },
		{ "A51_LISTEN=nowhere", "listen address must be host:port" },
		{ "A51_LOG_LEVEL=loud", "A51_LOG_LEVEL must be one of" },
	};
	char out[4096];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *env[] = { bad[i].env, NULL };
		const char *argv[] = { "serve", NULL };
		int rc = h_run_a51d(argv, env, out, sizeof(out));
		ck_assert_msg(rc == 2, "%s: exit %d", bad[i].env, rc);
		ck_assert_msg(strstr(out, bad[i].needle), "%s: got \"%s\"", bad[i].env, out);
	}
	{
		const char *env[] = { "A51_MODE=production", "A51_PSEUDO_KEY=", NULL };
		const char *argv[] = { "serve", NULL };
		ck_assert_int_eq(h_run_a51d(argv, env, out, sizeof(out)), 2);
		ck_assert(strstr(out, "A51_PSEUDO_KEY"));
	}
	{
		const char *argv[] = { "serve", "--db-pool", "zero", NULL };
		ck_assert_int_eq(h_run_a51d(argv, NULL, out, sizeof(out)), 2);
		ck_assert(strstr(out, "--db-pool must be an integer"));
	}
	{
		const char *argv[] = { "--version", NULL };
		ck_assert_int_eq(h_run_a51d(argv, NULL, out, sizeof(out)), 0);
		ck_assert(strncmp(out, "a51d ", 5) == 0);
	}
	{
		const char *argv[] = { "frobnicate", NULL };
		ck_assert_int_eq(h_run_a51d(argv, NULL, out, sizeof(out)), 2);
	}
}
END_TEST

START_TEST(concurrent_migrations_apply_once)
{
	struct h_db db;
	char env_url[600], out[4096];
	const char *env[] = { env_url, NULL };
	const char *argv[] = { "migrate", NULL };
	pid_t kids[4];
	PGconn *pg;
	char want[16];

	h_db_create(&db, "migr");
	snprintf(env_url, sizeof(env_url), "A51_DATABASE_URL=%s", db.url);
	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(h_run_a51d(argv, env, NULL, 0));
	}
	for (int i = 0; i < 4; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a concurrent migrate failed");
	}
	pg = h_db_connect(&db);
	snprintf(want, sizeof(want), "%s", h_sql1(pg, "SELECT count(*) FROM schema_migrations"));
	ck_assert_str_eq(want, h_sql1(pg, "SELECT count(DISTINCT version) FROM schema_migrations"));
	ck_assert_str_eq(h_sql1(pg, "SELECT min(version) FROM schema_migrations"), "1");

	/* status lists every migration as applied */
	{
		const char *sargv[] = { "migrate", "--status", NULL };
		ck_assert_int_eq(h_run_a51d(sargv, env, out, sizeof(out)), 0);
		ck_assert_msg(strstr(out, "0001_init.sql") && strstr(out, "applied") &&
				      !strstr(out, " pending\n") /* the state column, not a file name */, "%s",
			      out);
	}
	/* a migration edited after it was applied is a hard error, for migrate and serve */
	h_sql1(pg, "UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1");
	ck_assert_int_eq(h_run_a51d(argv, env, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "0001_init.sql was changed after it was applied"), "%s", out);
	{
		const char *sargv[] = { "migrate", "--status", NULL };
		ck_assert_int_eq(h_run_a51d(sargv, env, out, sizeof(out)), 0);
		ck_assert(strstr(out, "CHANGED AFTER APPLY"));
		const char *vargv[] = { "serve", NULL };
		ck_assert_int_eq(h_run_a51d(vargv, env, out, sizeof(out)), 1);
	}
	PQfinish(pg);
	h_db_drop(&db);
}
END_TEST

START_TEST(graceful_shutdown_finishes_in_flight)
{
	struct h_db db;
	struct h_srv srv;
	struct h_conn c, late;
	struct h_resp r;
	const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello";
	int status;

	h_db_create(&db, "shutdown");
	h_srv_start(&srv, db.url, NULL);
	/* a request whose body is half sent is in flight */
	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, sizeof(head) - 1), 0);
	usleep(100000);
	kill(srv.pid, SIGTERM);
	usleep(300000);
	/* no new connections once the signal is taken */
	ck_assert_int_ne(h_conn_open(&late, srv.port), 0);
	/* the one in flight completes */
	ck_assert_int_eq(h_conn_send(&c, "world", 5), 0);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	h_conn_close(&c);
	ck_assert_int_eq(waitpid(srv.pid, &status, 0), srv.pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	srv.pid = 0;
	ck_assert(h_log_contains(&srv, "\"event\":\"serve.stopped\""));
	h_db_drop(&db);
}
END_TEST

START_TEST(postgres_restart_under_running_server)
{
	struct h_cluster cl = { 0 };
	struct h_srv srv;
	struct h_resp r;
	char retry[16], token[64];
	uint64_t t0;
	int st = 0;

	h_cluster_start(&cl, "restart");
	h_srv_start(&srv, cl.url, NULL);
	h_token_cli(cl.url, "probe", "national", true, token);
	ck_assert_int_eq(h_get(srv.port, "/readyz", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);

	h_cluster_stop(&cl);
	t0 = h_now_ms();
	do {
		ck_assert_int_eq(h_get(srv.port, "/readyz", NULL, &r), 0);
		st = r.status;
		if (st == 503) {
			ck_assert(strstr(r.body, "\"database\":\"unreachable\""));
			ck_assert_ptr_nonnull(h_header(&r, "Retry-After", retry, sizeof(retry)));
		}
		h_resp_free(&r);
	} while (st != 503 && h_now_ms() - t0 < 5000);
	ck_assert_int_eq(st, 503);
	/* data routes answer 503 too, quickly, with Retry-After */
	t0 = h_now_ms();
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/84", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(h_header(&r, "Retry-After", retry, sizeof(retry)));
	ck_assert_uint_lt(h_now_ms() - t0, 3000);
	h_resp_free(&r);

	h_cluster_start(&cl, "restart");
	t0 = h_now_ms();
	do {
		usleep(100000);
		ck_assert_int_eq(h_get(srv.port, "/readyz", NULL, &r), 0);
		st = r.status;
		h_resp_free(&r);
	} while (st != 200 && h_now_ms() - t0 < 5000);
	ck_assert_msg(st == 200, "/readyz still %d 5 s after PostgreSQL came back", st);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/84", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	ck_assert_int_eq(h_srv_stop(&srv), 0); /* same process all along, and it exits cleanly */
	h_cluster_destroy(&cl);
}
END_TEST

/* One connection, held by a request blocked on a lock: the next request gets
 * 503 + Retry-After after the acquire timeout; with a statement timeout, the
 * blocked one gets 504. */
START_TEST(pool_saturation_and_statement_timeout)
{
	static const char *const env[] = { "A51_DB_POOL=1", "A51_HTTP_THREADS=4", "A51_DB_ACQUIRE_TIMEOUT_MS=200",
					   "A51_STATEMENT_TIMEOUT_MS=1500", NULL };
	struct h_db db;
	struct h_srv srv;
	struct h_conn blocked;
	struct h_resp r;
	char req[256], retry[16], token[64];
	PGconn *locker;
	uint64_t t0;

	h_db_create(&db, "busy");
	h_srv_start(&srv, db.url, env);
	h_token_cli(db.url, "probe", "national", true, token);
	snprintf(req, sizeof(req), "GET /v1/regions/84 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
		 token);
	/* the token is looked up once here, and cached: the guard needs no connection below */
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	locker = h_db_connect(&db);
	h_sql1(locker, "BEGIN");
	h_sql1(locker, "LOCK TABLE regions IN ACCESS EXCLUSIVE MODE");

	ck_assert_int_eq(h_conn_open(&blocked, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&blocked, req, strlen(req)), 0);
	usleep(200000);
	t0 = h_now_ms();
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/11", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert(strstr(r.body, "/problems/database-unavailable"));
	ck_assert_str_eq(h_header(&r, "Retry-After", retry, sizeof(retry)), "1");
	ck_assert_uint_lt(h_now_ms() - t0, 1000);
	h_resp_free(&r);

	ck_assert_int_eq(h_conn_read(&blocked, &r, false, 5000), 0);
	ck_assert_int_eq(r.status, 504);
	ck_assert(strstr(r.body, "/problems/timeout"));
	h_resp_free(&r);
	h_conn_close(&blocked);
	h_sql1(locker, "ROLLBACK");
	PQfinish(locker);

	ck_assert_int_eq(h_get(srv.port, "/metrics", NULL, &r), 0);
	ck_assert(strstr(r.body, "a51_db_pool_timeouts_total 1"));
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/84", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}
END_TEST

/* A second a51d on a port in use stops at once, naming the address: it must
 * not quietly share the port (SO_REUSEPORT) and take half the requests. */
START_TEST(port_in_use_stops_startup)
{
	struct h_db db;
	struct h_srv srv;
	char listen[64], url[600], out[4096];

	h_db_create(&db, "port");
	h_srv_start(&srv, db.url, NULL);
	snprintf(listen, sizeof(listen), "A51_LISTEN=127.0.0.1:%u", srv.port);
	snprintf(url, sizeof(url), "A51_DATABASE_URL=%s", db.url);
	{
		const char *argv[] = { "serve", NULL };
		const char *env[] = { listen, url, "A51_MODE=test", NULL };
		ck_assert_int_eq(h_run_a51d(argv, env, out, sizeof(out)), 1);
		ck_assert_msg(strstr(out, "A51_LISTEN") || strstr(out, "cannot listen"), "%s", out);
	}
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *t = tcase_create("lifecycle");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, bad_configuration_stops_startup);
	tcase_add_test(t, concurrent_migrations_apply_once);
	tcase_add_test(t, graceful_shutdown_finishes_in_flight);
	tcase_add_test(t, postgres_restart_under_running_server);
	tcase_add_test(t, pool_saturation_and_statement_timeout);
	tcase_add_test(t, port_in_use_stops_startup);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
