/* a51d as a client sees it: one real process on a throwaway database. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"

static struct h_db db;
static struct h_srv srv;
static char token[64];

static void up(void)
{
	static const char *const env[] = { "A51_MAX_BODY=1k", NULL };

	h_db_create(&db, "server");
	h_srv_start(&srv, db.url, env);
	h_token_cli(db.url, "reader", "national", true, token);
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}

static void assert_problem(const struct h_resp *r, int status, const char *type)
{
	char ct[128], want[96];
	json_t *j = h_json(r);

	ck_assert_int_eq(r->status, status);
	ck_assert_ptr_nonnull(h_header(r, "Content-Type", ct, sizeof(ct)));
	ck_assert_str_eq(ct, "application/problem+json");
	ck_assert_msg(j != NULL, "problem body is not JSON: %s", r->body);
	snprintf(want, sizeof(want), "/problems/%s", type);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), want);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), status);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "title")));
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "detail")));
	ck_assert(strncmp(json_string_value(json_object_get(j, "instance")), "urn:a51:request:", 16) == 0);
	json_decref(j);
}

START_TEST(healthz_and_request_ids)
{
	struct h_resp r;
	char id[80];

	ck_assert_int_eq(h_get(srv.port, "/healthz", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
	ck_assert_ptr_nonnull(h_header(&r, "X-Request-Id", id, sizeof(id)));
	ck_assert_uint_gt(strlen(id), 8);
	h_resp_free(&r);

	ck_assert_int_eq(h_get(srv.port, "/healthz", "X-Request-Id: trace-42.a:b_c\r\n", &r), 0);
	ck_assert_str_eq(h_header(&r, "X-Request-Id", id, sizeof(id)), "trace-42.a:b_c");
	h_resp_free(&r);

	/* an id with characters that could forge a log line is replaced */
	ck_assert_int_eq(h_get(srv.port, "/healthz", "X-Request-Id: a\"b}{\r\n", &r), 0);
	ck_assert_str_ne(h_header(&r, "X-Request-Id", id, sizeof(id)), "a\"b}{");
	h_resp_free(&r);
	ck_assert(h_log_contains(&srv, "\"request_id\":\"trace-42.a:b_c\""));
}
END_TEST

START_TEST(keep_alive_is_kept)
{
	struct h_conn c;
	struct h_resp r;
	const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	const char bad[] = "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";

	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(h_conn_send(&c, req, sizeof(req) - 1), 0);
		ck_assert_int_eq(h_conn_read(&c, &r, false, 5000), 0);
		ck_assert_int_eq(r.status, 200);
		ck_assert(!r.closed);
		h_resp_free(&r);
	}
	/* an error answered from the headers alone keeps the connection too */
	ck_assert_int_eq(h_conn_send(&c, bad, sizeof(bad) - 1), 0);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 5000), 0);
	ck_assert_int_eq(r.status, 404);
	ck_assert(!r.closed);
	h_resp_free(&r);
	ck_assert_int_eq(h_conn_send(&c, req, sizeof(req) - 1), 0);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	h_conn_close(&c);
}
END_TEST

START_TEST(unknown_path_404_and_wrong_method_405)
{
	struct h_resp r;
	char allow[64];

	ck_assert_int_eq(h_get(srv.port, "/v1/nothing-here", NULL, &r), 0);
	assert_problem(&r, 404, "not-found");
	h_resp_free(&r);
	ck_assert_int_eq(h_get(srv.port, "/healthz/", NULL, &r), 0);
	assert_problem(&r, 404, "not-found");
	h_resp_free(&r);

	ck_assert_int_eq(h_call(srv.port, "DELETE", "/healthz", NULL, NULL, 0, &r), 0);
	assert_problem(&r, 405, "method-not-allowed");
	ck_assert_str_eq(h_header(&r, "Allow", allow, sizeof(allow)), "GET, HEAD");
	h_resp_free(&r);
	ck_assert_int_eq(h_call(srv.port, "BREW", "/v1/regions", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 405);
	h_resp_free(&r);
}
END_TEST

START_TEST(head_has_headers_only)
{
	struct h_resp r;
	char len[16];

	ck_assert_int_eq(h_call(srv.port, "HEAD", "/healthz", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(h_header(&r, "Content-Length", len, sizeof(len)), "15");
	ck_assert_uint_eq(r.body_len, 0);
	h_resp_free(&r);
}
END_TEST

START_TEST(oversized_body_413_before_reading)
{
	struct h_conn c;
	struct h_resp r;
	const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n";
	uint64_t t0 = h_now_ms();

	/* Only the headers are sent: the answer must not wait for the 10 MB. */
	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, req, sizeof(req) - 1), 0);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 5000), 0);
	assert_problem(&r, 413, "payload-too-large");
	ck_assert(r.closed);
	ck_assert_uint_lt(h_now_ms() - t0, 2000);
	h_resp_free(&r);
	h_conn_close(&c);
}
END_TEST

START_TEST(chunked_body_counted_per_chunk)
{
	struct h_conn c;
	struct h_resp r;
	char chunk[600];
	const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
	int n;

	/* Three chunks of 512 bytes: the third crosses the 1 KiB limit. */
	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, sizeof(head) - 1), 0);
	for (int i = 0; i < 3; i++) {
		n = snprintf(chunk, sizeof(chunk), "200\r\n");
		memset(chunk + n, 'x', 512);
		memcpy(chunk + n + 512, "\r\n", 2);
		if (h_conn_send(&c, chunk, (size_t)n + 514) < 0)
			break;
	}
	h_conn_send(&c, "0\r\n\r\n", 5);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 5000), 0);
	assert_problem(&r, 413, "payload-too-large");
	h_resp_free(&r);
	h_conn_close(&c);

	/* within the limit, a chunked body on a route that takes none is ignored */
	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, sizeof(head) - 1), 0);
	ck_assert_int_eq(h_conn_send(&c, "5\r\nhello\r\n0\r\n\r\n", 15), 0);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	h_conn_close(&c);
}
END_TEST

START_TEST(readyz_when_current)
{
	struct h_resp r;
	json_t *j;

	ck_assert_int_eq(h_get(srv.port, "/readyz", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	j = h_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ready");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "schema")), "current");
	json_decref(j);
	h_resp_free(&r);
}
END_TEST

START_TEST(readyz_on_changed_migration)
{
	struct h_resp r;
	json_t *j;
	PGconn *pg = h_db_connect(&db);

	h_sql1(pg, "UPDATE schema_migrations SET checksum = 'x' || checksum WHERE version = 1");
	ck_assert_int_eq(h_get(srv.port, "/readyz", NULL, &r), 0);
	assert_problem(&r, 503, "not-ready");
	j = h_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "checks"), "schema")), "mismatch");
	ck_assert(strstr(json_string_value(json_object_get(j, "detail")), "changed after it was applied"));
	json_decref(j);
	h_resp_free(&r);
	h_sql1(pg, "UPDATE schema_migrations SET checksum = substr(checksum, 2) WHERE version = 1");
	PQfinish(pg);
	ck_assert_int_eq(h_get(srv.port, "/readyz", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
}
END_TEST

START_TEST(metrics_exposition)
{
	struct h_resp r;

	ck_assert_int_eq(h_get(srv.port, "/healthz", NULL, &r), 0);
	h_resp_free(&r);
	ck_assert_int_eq(h_get(srv.port, "/no/such/thing", NULL, &r), 0);
	h_resp_free(&r);
	ck_assert_int_eq(h_get(srv.port, "/metrics", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.body, "a51_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"2xx\"} "),
		      "%s", r.body);
	ck_assert(strstr(r.body, "a51_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\","
				 "status=\"2xx\",le=\"0.001\"}"));
	ck_assert(strstr(r.body, "a51_http_requests_total{method=\"\",route=\"unmatched\",status=\"4xx\"}"));
	ck_assert(strstr(r.body, "a51_http_problems_total{status=\"404\"}"));
	ck_assert(strstr(r.body, "\na51_db_pool_size "));
	ck_assert(strstr(r.body, "\na51_db_pool_in_use "));
	ck_assert(strstr(r.body, "\na51_db_pool_waits_total "));
	ck_assert(strstr(r.body, "\nprocess_resident_memory_bytes "));
	h_resp_free(&r);
}
END_TEST

START_TEST(openapi_served)
{
	struct h_resp r;
	json_t *j;

	ck_assert_int_eq(h_get(srv.port, "/openapi.json", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	j = h_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "openapi")), "3.1.0");
	ck_assert_ptr_nonnull(json_object_get(json_object_get(j, "paths"), "/readyz"));
	json_decref(j);
	h_resp_free(&r);
	ck_assert_int_eq(h_get(srv.port, "/problems/payload-too-large", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert(strstr(r.body, "\"status\":413"));
	h_resp_free(&r);
}
END_TEST

START_TEST(regions_read)
{
	struct h_resp r;
	json_t *j;

	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/84", NULL, NULL, NULL, &r), 0);
	assert_problem(&r, 401, "unauthorized");
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/84", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	j = h_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "Auvergne-Rhône-Alpes");
	json_decref(j);
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/99", token, NULL, NULL, &r), 0);
	assert_problem(&r, 404, "not-found");
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/8x", token, NULL, NULL, &r), 0);
	assert_problem(&r, 422, "validation");
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", token, NULL, NULL, &r), 0);
	j = h_json(&r);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 18);
	json_decref(j);
	h_resp_free(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("server");
	TCase *t = tcase_create("server");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, healthz_and_request_ids);
	tcase_add_test(t, keep_alive_is_kept);
	tcase_add_test(t, unknown_path_404_and_wrong_method_405);
	tcase_add_test(t, head_has_headers_only);
	tcase_add_test(t, oversized_body_413_before_reading);
	tcase_add_test(t, chunked_body_counted_per_chunk);
	tcase_add_test(t, readyz_when_current);
	tcase_add_test(t, readyz_on_changed_migration);
	tcase_add_test(t, metrics_exposition);
	tcase_add_test(t, openapi_served);
	tcase_add_test(t, regions_read);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
