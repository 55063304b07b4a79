/* Uploads against the rules found in review: faults the database finds are
 * saved like the others; an Idempotency-Key is bound to its request; NDJSON
 * amounts are exact and member names match in any case; uploads follow the
 * single-record routes' rules (patients, médecin-traitant declarations, audit
 * trail); a chunked body over the limit is a 413 the client receives; dry runs
 * and aborted uploads are recorded as what they were; FINESS keys, ALD
 * counts and NIR keys are checked without echoing a NIR's key; and commune
 * deprivation, reference data that names no patient, goes through the same
 * pipeline into the reference dataset only. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"

#define MAX_UPLOAD (24u << 20)
#define CLAIMS_HEADER "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n"

static struct h_db db;
static struct h_srv srv;
static char nat[64], s1tok[64], arstok[64], natro[64];
static long s1, s2;
static char nir_file[600];
static char nirs[12][16];
static char gp[12], gp2[12];

static void remember(const char *nir)
{
	FILE *f = fopen(nir_file, "a");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "%.13s\n", nir);
	fclose(f);
}

static long make_structure(const char *name)
{
	char body[256];
	int st;
	json_t *j;
	long id;

	snprintf(body, sizeof(body),
		 "{\"kind\":\"MSP\",\"name\":\"%s\",\"region\":\"84\",\"commune\":\"69123\",\"legal_form\":\"SISA\"}",
		 name);
	j = h_api_json(srv.port, "POST", "/v1/structures", nat, body, &st);
	ck_assert_int_eq(st, 201);
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

/* POSTs body to path (a structure's or the reference upload route, with its
 * query); the whole answer in *r (freed by the caller), its JSON returned. */
static json_t *post(const char *path, const char *ctype, const char *body, size_t len, const char *extra,
		    const char *token, struct h_resp *r)
{
	char headers[512];

	snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\nContent-Type: %s\r\n%s", token ? token : nat,
		 ctype, extra ? extra : "");
	ck_assert_int_eq(h_call(srv.port, "POST", path, headers, body, len, r), 0);
	return h_json(r);
}

static json_t *upload(long sid, const char *kind, const char *ctype, const char *body, const char *extra, int *status)
{
	char path[128];
	struct h_resp r;
	json_t *j;

	if (sid)
		snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=%s", sid, kind);
	else
		snprintf(path, sizeof(path), "/v1/reference/uploads?kind=%s", kind);
	j = post(path, ctype, body, strlen(body), extra, NULL, &r);
	*status = r.status;
	h_resp_free(&r);
	return j;
}

static json_t *csv(long sid, const char *kind, const char *body, int *status)
{
	return upload(sid, kind, "text/csv", body, NULL, status);
}

/* A CSV body to path, as token (NULL: national), the whole answer in *r. */
static json_t *post_as(const char *path, const char *body, const char *extra, const char *token, struct h_resp *r)
{
	return post(path, "text/csv", body, strlen(body), extra, token, r);
}

static const char *sql1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sql1(const char *fmt, ...)
{
	char q[1024];
	PGconn *pg = h_db_connect(&db);
	static char out[512];
	const char *v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	v = h_sql1(pg, q);
	snprintf(out, sizeof(out), "%s", v ? v : "(null)");
	PQfinish(pg);
	return out;
}

static void assert_error(json_t *j, size_t n, long line, const char *column, const char *reason)
{
	json_t *e = json_array_get(json_object_get(j, "errors"), n);

	ck_assert_msg(e != NULL, "no error %zu in %s", n, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "line")), line);
	if (column)
		ck_assert_str_eq(json_string_value(json_object_get(e, "column")), column);
	ck_assert_msg(strstr(json_string_value(json_object_get(e, "reason")), reason), "reason \"%s\" lacks \"%s\"",
		      json_string_value(json_object_get(e, "reason")), reason);
}

static long upload_id(json_t *j)
{
	json_t *u = json_object_get(j, "upload");

	return (long)json_integer_value(json_object_get(u ? u : j, "id"));
}

static long count_of(json_t *j, const char *name)
{
	return (long)json_integer_value(json_object_get(j, name));
}

/* A patient of sid by NIR, through the route that keeps the NIR out of URLs. */
static json_t *lookup(long sid, const char *nir)
{
	char path[96], body[64];
	int st;
	json_t *j;

	snprintf(path, sizeof(path), "/v1/structures/%ld/patients/lookup", sid);
	snprintf(body, sizeof(body), "{\"nir\":\"%s\"}", nir);
	j = h_api_json(srv.port, "POST", path, nat, body, &st);
	ck_assert_msg(st == 200, "lookup: %d", st);
	return j;
}

static void up(void)
{
	char scope[32], body[2048];
	int st;
	json_t *j;

	h_db_create(&db, "uploads_rules");
	h_srv_start(&srv, db.url, (const char *const[]){ "A51_MAX_UPLOAD=24m", NULL });
	h_token_cli(db.url, "national", "national", false, nat);
	snprintf(nir_file, sizeof(nir_file), "%s.nirs", srv.log);
	unlink(nir_file);
	s1 = make_structure("MSP rules");
	s2 = make_structure("MSP neighbour");
	snprintf(scope, sizeof(scope), "structure:%ld", s1);
	h_token_cli(db.url, "s1", scope, false, s1tok);
	h_token_cli(db.url, "ars", "ars:84", false, arstok);
	h_token_cli(db.url, "national-ro", "national", true, natro);
	h_rpps(2, gp);
	h_rpps(3, gp2);
	for (int i = 0; i < 12; i++) {
		h_nir(1 + i % 2, 50 + i, 1 + i, "69", 381, 200 + i, nirs[i]);
		remember(nirs[i]);
	}
	/* nirs[0..5] are patients of S1; nirs[1] has no commune */
	snprintf(body, sizeof(body),
		 "nir;birth;sex;commune;c2s;ame;death_date;ald\n"
		 "%s;1950-01;1;69381;oui;non;;8/2019-05-01\n"
		 "%s;1951-02;;;non;non;;\n"
		 "%s;1952-03;;69381;non;non;;\n"
		 "%s;1953-04;;69381;non;non;;\n"
		 "%s;1954-05;;69381;non;non;;\n"
		 "%s;1955-06;;69381;non;non;;\n",
		 nirs[0], nirs[1], nirs[2], nirs[3], nirs[4], nirs[5]);
	j = csv(s1, "patients", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
}

static void down(void)
{
	char dump[600], needles[64][16];
	const char *list[64];
	size_t n = 0;
	FILE *f;

	snprintf(dump, sizeof(dump), "%s.dump.sql", srv.log);
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_pg_dump(&db, dump);
	f = fopen(nir_file, "r");
	ck_assert_ptr_nonnull(f);
	while (n < 64 && fgets(needles[n], sizeof(needles[n]), f)) {
		needles[n][strcspn(needles[n], "\n")] = '\0';
		list[n] = needles[n];
		n++;
	}
	fclose(f);
	h_assert_file_lacks(dump, list, n);
	h_assert_file_lacks(srv.log, list, n);
	h_db_drop(&db);
}

/* ---- 1. faults found by the database are saved ---- */

START_TEST(duplicate_keys_are_saved_like_other_errors)
{
	char body[1024], path[96];
	int st;
	long id;
	json_t *j, *items;

	snprintf(body, sizeof(body), CLAIMS_HEADER "D1,%s,2024-06-01,%s,G,1,26.50,18.55\n"
		 "D2,%s,2024-06-02,%s,G,1,26.50,18.55\nD1,%s,2024-06-03,%s,G,1,26.50,18.55\n",
		 nirs[2], gp, nirs[2], gp, nirs[2], gp);
	j = csv(s1, "claims", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 4, "claim_id", "repeats the record of line 2");
	id = upload_id(j);
	ck_assert_int_eq(count_of(json_object_get(j, "upload"), "errors_count"), 1);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/uploads/%ld/errors", id);
	j = h_api_json(srv.port, "GET", path, nat, NULL, &st);
	ck_assert_int_eq(st, 200);
	items = json_object_get(j, "items");
	ck_assert_uint_eq(json_array_size(items), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "line")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "reason")),
			 "repeats the record of line 2");
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT errors_count || '/' || (SELECT count(*) FROM upload_errors WHERE upload_id = %ld)"
			      " FROM uploads WHERE id = %ld", id, id), "1/1");
	/* patients always go through staging: the same NIR twice */
	snprintf(body, sizeof(body), "nir;birth\n%s;1952-03\n%s;1953-04\n%s;1952-03\n", nirs[2], nirs[3], nirs[2]);
	j = csv(s1, "patients", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 4, "nir", "repeats the record of line 2");
	id = upload_id(j);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT string_agg(line || ':' || col || ':' || reason, ',') FROM upload_errors"
			      " WHERE upload_id = %ld", id), "4:nir:repeats the record of line 2");
}
END_TEST

/* ---- 2. an Idempotency-Key is bound to its request ---- */

static void assert_key_reused(struct h_resp *r, json_t *j)
{
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);

	ck_assert_msg(r->status == 422, "%d %s", r->status, r->body);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "/problems/idempotency-key-reused");
	ck_assert_str_eq(json_string_value(json_object_get(e, "field")), "Idempotency-Key");
	ck_assert_ptr_null(strstr(r->head, "Idempotent-Replayed"));
}

START_TEST(idempotency_key_is_bound_to_its_request)
{
	char body[512], other[512], path[128], loc1[96], loc2[96];
	struct h_resp r;
	json_t *j;

	snprintf(body, sizeof(body), CLAIMS_HEADER "I1,%s,2024-04-05,%s,G,1,26.50,18.55\n", nirs[2], gp);
	snprintf(other, sizeof(other), CLAIMS_HEADER "I2,%s,2024-04-06,%s,G,1,26.50,18.55\n", nirs[2], gp);
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims", s1);
	j = post(path, "text/csv", body, strlen(body), "Idempotency-Key: fp-1\r\n", NULL, &r);
	ck_assert_int_eq(r.status, 201);
	ck_assert_ptr_nonnull(h_header(&r, "Location", loc1, sizeof(loc1)));
	json_decref(j);
	h_resp_free(&r);
	/* the same request: the first answer, with its Location */
	j = post(path, "text/csv", body, strlen(body), "Idempotency-Key: fp-1\r\n", NULL, &r);
	ck_assert_int_eq(r.status, 201);
	ck_assert(strstr(r.head, "Idempotent-Replayed: true"));
	ck_assert_ptr_nonnull(h_header(&r, "Location", loc2, sizeof(loc2)));
	ck_assert_str_eq(loc1, loc2);
	json_decref(j);
	h_resp_free(&r);
	/* another kind, dry-run flag, dataset or Content-Type: refused before the body */
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=questionnaires", s1);
	j = post(path, "text/csv", body, strlen(body), "Idempotency-Key: fp-1\r\n", NULL, &r);
	assert_key_reused(&r, j);
	json_decref(j);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims&dry_run=true", s1);
	j = post(path, "text/csv", body, strlen(body), "Idempotency-Key: fp-1\r\n", NULL, &r);
	assert_key_reused(&r, j);
	json_decref(j);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims", s2);
	j = post(path, "text/csv", body, strlen(body), "Idempotency-Key: fp-1\r\n", NULL, &r);
	assert_key_reused(&r, j);
	json_decref(j);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims", s1);
	j = post(path, "text/csv; charset=windows-1252", body, strlen(body), "Idempotency-Key: fp-1\r\n", NULL, &r);
	assert_key_reused(&r, j);
	json_decref(j);
	h_resp_free(&r);
	/* the same request with another body: known after the body, and nothing stored */
	j = post(path, "text/csv", other, strlen(other), "Idempotency-Key: fp-1\r\n", NULL, &r);
	assert_key_reused(&r, j);
	ck_assert(strstr(json_string_value(json_object_get(j, "detail")), "SHA-256"));
	json_decref(j);
	h_resp_free(&r);
	ck_assert_str_eq(sql1("SELECT count(*) FROM claims WHERE dataset = %ld AND claim_id = 'I2'", s1), "0");
	ck_assert_str_eq(sql1("SELECT count(*) FROM uploads WHERE idempotency_key = 'fp-1' AND %d > 0", 1), "1");
	/* a charset named otherwise is the same request */
	j = post(path, "text/csv; charset=UTF8", body, strlen(body), "Idempotency-Key: fp-1\r\n", NULL, &r);
	ck_assert_int_eq(r.status, 201);
	ck_assert(strstr(r.head, "Idempotent-Replayed: true"));
	json_decref(j);
	h_resp_free(&r);
}
END_TEST

/* A key whose upload is still being received: 409, which replays nothing. The
 * upload, cut off, is then recorded with what was seen of it. */
START_TEST(key_in_progress_and_aborted_upload)
{
	char head[512], row[256], path[128];
	struct h_conn c;
	struct h_resp r;
	json_t *j;
	int tries = 0;

	snprintf(head, sizeof(head),
		 "POST /v1/structures/%ld/uploads?kind=claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: text/csv\r\nIdempotency-Key: busy-1\r\nContent-Length: 100000\r\n\r\n" CLAIMS_HEADER,
		 s1, nat);
	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, strlen(head)), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(row, sizeof(row), "B%d,%s,2024-05-01,%s,G,1,26.50,18.55\n", i, nirs[2], gp);
		ck_assert_int_eq(h_conn_send(&c, row, strlen(row)), 0);
	}
	while (strcmp(sql1("SELECT count(*) FROM uploads WHERE idempotency_key = 'busy-1' AND status = 'receiving'"
			   " AND %d > 0", 1), "1") != 0 && tries++ < 100)
		usleep(20000);
	usleep(200000); /* the rows are read */
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims", s1);
	j = post(path, "text/csv", CLAIMS_HEADER, strlen(CLAIMS_HEADER), "Idempotency-Key: busy-1\r\n", NULL, &r);
	ck_assert_int_eq(r.status, 409);
	ck_assert_ptr_null(strstr(r.head, "Idempotent-Replayed"));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field")),
			 "Idempotency-Key");
	json_decref(j);
	h_resp_free(&r);
	h_conn_close(&c);
	tries = 0;
	while (strcmp(sql1("SELECT status FROM uploads WHERE idempotency_key = 'busy-1' AND %d > 0", 1), "aborted") != 0 &&
	       tries++ < 100)
		usleep(20000);
	/* what was seen: 11 lines (header and 10 rows), no answer, no checksum of a partial body */
	ck_assert_str_eq(sql1("SELECT status || '/' || lines || '/' || records || '/' || http_status || '/' ||"
			      " coalesce(sha256, 'null') || '/' || (bytes > 0) FROM uploads"
			      " WHERE idempotency_key = 'busy-1' AND %d > 0", 1),
			 "aborted/11/10/499/null/true");
	ck_assert_str_eq(sql1("SELECT count(*) FROM claims WHERE dataset = %ld AND claim_id LIKE 'B%%'", s1), "0");
}
END_TEST

/* ---- 3. NDJSON: exact amounts, names in any case ---- */

START_TEST(ndjson_amounts_are_exact_and_names_match_in_any_case)
{
	char body[1024];
	int st;
	json_t *j;

	snprintf(body, sizeof(body),
		 "{\"claim_id\":\"N0\",\"nir\":\"%s\",\"care_date\":\"2024-04-02\",\"act_code\":\"G\",\"quantity\":1,"
		 "\"base_amount\":30.005,\"reimbursed_amount\":\"18.55\"}\n",
		 nirs[2]);
	j = upload(s1, "claims", "application/x-ndjson", body, NULL, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 1, "base_amount", "more than 2 decimals");
	json_decref(j);
	snprintf(body, sizeof(body),
		 "{\"claim_id\":\"N0\",\"nir\":\"%s\",\"care_date\":\"2024-04-02\",\"act_code\":\"G\",\"quantity\":1,"
		 "\"base_amount\":1e2,\"reimbursed_amount\":\"18.55\"}\n",
		 nirs[2]);
	j = upload(s1, "claims", "application/x-ndjson", body, NULL, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 1, "base_amount", "unexpected character");
	json_decref(j);
	/* names in any case, a name written with an escape, numbers of up to 2 decimals */
	snprintf(body, sizeof(body),
		 "{\"Claim_ID\":\"N1\",\"NIR\":\"%s\",\"Care_Date\":\"2024-04-02\",\"ACT_CODE\":\"G\",\"Quantity\":1,"
		 "\"Base_Amount\":30,\"reimbursed_amount\":12.5}\n"
		 "{\"claim_id\":\"N2\",\"nir\":\"%s\",\"care_date\":\"2024-04-03\",\"act_code\":\"BIO\",\"quantity\":2,"
		 "\"\\u0062ase_amount\":12.25,\"reimbursed_amount\": 7.2 }\n",
		 nirs[2], nirs[2]);
	j = upload(s1, "claims", "application/x-ndjson", body, NULL, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT string_agg(claim_id || ':' || base_cents || ':' || reimbursed_cents, ','"
			      " ORDER BY claim_id) FROM claims WHERE dataset = %ld AND claim_id LIKE 'N%%'", s1),
			 "N1:3000:1250,N2:1225:720");
	/* the same column twice, in two cases */
	snprintf(body, sizeof(body),
		 "{\"claim_id\":\"N3\",\"nir\":\"%s\",\"NIR\":\"%s\",\"care_date\":\"2024-04-02\",\"act_code\":\"G\","
		 "\"quantity\":1,\"base_amount\":1,\"reimbursed_amount\":1}\n",
		 nirs[2], nirs[2]);
	j = upload(s1, "claims", "application/x-ndjson", body, NULL, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 1, NULL, "repeated");
	{
		char *text = json_dumps(j, JSON_COMPACT);
		ck_assert_ptr_null(strstr(text, nirs[2])); /* a NIR is never echoed */
		free(text);
	}
	json_decref(j);
}
END_TEST

/* ---- 4. uploads follow the single-record routes ---- */

START_TEST(known_patients_keep_their_record)
{
	char body[2048];
	int st;
	long id;
	json_t *j;

	/* the reference population holds nirs[0] (fully known: nothing to fill in),
	 * nirs[1] (no commune, no death date: filled in) and a new nirs[6] */
	snprintf(body, sizeof(body),
		 "nir;birth;commune;c2s;ame;death_date;ald\n"
		 "%s;1950-01;38185;non;oui;;15/2020-01-01\n"
		 "%s;1951-02;69123;non;non;2024-03-01;\n"
		 "%s;1956-07;69123;non;non;;\n",
		 nirs[0], nirs[1], nirs[6]);
	j = csv(0, "patients", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(count_of(j, "inserted"), 1);
	ck_assert_int_eq(count_of(j, "updated"), 1);
	ck_assert_int_eq(count_of(j, "unchanged"), 1);
	json_decref(j);
	j = lookup(s1, nirs[0]);
	ck_assert_str_eq(json_string_value(json_object_get(j, "commune")), "69381");
	ck_assert(json_is_true(json_object_get(j, "c2s")));
	ck_assert(json_is_false(json_object_get(j, "ame")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ald")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "ald"), 0), "code")), 8);
	json_decref(j);
	j = lookup(s1, nirs[1]);
	ck_assert_str_eq(json_string_value(json_object_get(j, "commune")), "69123");
	ck_assert_str_eq(json_string_value(json_object_get(j, "death_date")), "2024-03-01");
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) FROM reference_patients WHERE %d > 0", 1), "3");
	/* and the other way: a structure's file leaves the record as it is, and links the patient */
	snprintf(body, sizeof(body), "nir;birth;commune;c2s;ald\n%s;1950-01;13055;non;\n", nirs[0]);
	j = csv(s2, "patients", body, &st);
	ck_assert_int_eq(st, 201);
	ck_assert_int_eq(count_of(j, "unchanged"), 1);
	id = upload_id(j);
	json_decref(j);
	j = lookup(s2, nirs[0]);
	ck_assert_str_eq(json_string_value(json_object_get(j, "commune")), "69381");
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT unchanged FROM (SELECT records - inserted - updated AS unchanged FROM uploads"
			      " WHERE id = %ld) u", id), "1");
}
END_TEST

START_TEST(declarations_follow_the_route_rules)
{
	char body[1024], path[96], req[160];
	int st;
	long pid;
	json_t *j;

	/* nirs[3] is a patient of S2 too */
	snprintf(body, sizeof(body), "nir;birth\n%s;1953-04\n", nirs[3]);
	j = csv(s2, "patients", body, &st);
	ck_assert_int_eq(st, 201);
	json_decref(j);
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2020-01-01,\n%s,%s,2021-01-01,\n", nirs[2], gp,
		 nirs[3], gp);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(count_of(j, "inserted"), 2);
	json_decref(j);
	/* a new declaration ends the running one the day before it starts */
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2024-01-01,\n", nirs[2], gp2);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_int_eq(st, 201);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT end_on FROM mt_declarations WHERE start_on = '2020-01-01' AND %d > 0", 1),
			 "2023-12-31");
	/* one that meets another is refused, with its line */
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2022-03-01,2022-06-30\n", nirs[2], gp);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 2, "start_on", "covers part of that period");
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) FROM mt_declarations WHERE start_on = '2022-03-01' AND %d > 0", 1), "0");
	/* two of the file that meet */
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2010-01-01,2012-12-31\n%s,%s,2012-06-01,2013-01-01\n",
		 nirs[2], gp, nirs[2], gp);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 3, "start_on", "overlaps the declaration of line 2");
	json_decref(j);
	/* sent again as stored: left alone */
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2020-01-01,\n%s,%s,2024-01-01,\n", nirs[2], gp,
		 nirs[2], gp2);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(count_of(j, "inserted"), 0);
	ck_assert_int_eq(count_of(j, "updated"), 0);
	ck_assert_int_eq(count_of(j, "unchanged"), 2);
	json_decref(j);
	/* its own declaration, changed: replaced */
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2024-01-01,2024-06-30\n", nirs[2], gp2);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_int_eq(st, 201);
	ck_assert_int_eq(count_of(j, "updated"), 1);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT end_on FROM mt_declarations WHERE start_on = '2024-01-01' AND %d > 0", 1),
			 "2024-06-30");
	/* another structure's declaration is never replaced... */
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2021-01-01,2021-12-31\n", nirs[3], gp2);
	j = csv(s2, "mt_declarations", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 2, "start_on", "it is not replaced");
	json_decref(j);
	snprintf(req, sizeof(req), "%s/running", gp);
	ck_assert_str_eq(sql1("SELECT gp_rpps || '/' || coalesce(end_on::text, 'running') FROM mt_declarations"
			      " WHERE start_on = '2021-01-01' AND %d > 0", 1),
			 req);
	/* ...but a later one ends it, as on the route */
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2025-01-01,\n", nirs[3], gp2);
	j = csv(s2, "mt_declarations", body, &st);
	ck_assert_int_eq(st, 201);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT end_on FROM mt_declarations WHERE start_on = '2021-01-01' AND %d > 0", 1),
			 "2024-12-31");
	/* a declaration recorded by the route is not replaced by an upload either */
	j = lookup(s1, nirs[4]);
	pid = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/structures/%ld/mt-declarations", s1);
	snprintf(req, sizeof(req), "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"2019-05-01\"}", pid, gp);
	j = h_api_json(srv.port, "POST", path, nat, req, &st);
	ck_assert_int_eq(st, 201);
	json_decref(j);
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2019-05-01,\n", nirs[4], gp2);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 2, "start_on", "it is not replaced");
	json_decref(j);
	snprintf(body, sizeof(body), "nir,gp_rpps,start_on,end_on\n%s,%s,2019-05-01,\n", nirs[4], gp);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_int_eq(st, 201);
	ck_assert_int_eq(count_of(j, "unchanged"), 1);
	json_decref(j);
}
END_TEST

START_TEST(one_audit_row_per_accepted_upload)
{
	char body[512], path[128], want[64];
	int st;
	long id;
	json_t *j;
	struct h_resp r;

	snprintf(body, sizeof(body), CLAIMS_HEADER "A1,%s,2024-07-01,%s,G,1,26.50,18.55\n", nirs[5], gp);
	j = upload(s1, "claims", "text/csv", body, NULL, &st);
	ck_assert_int_eq(st, 201);
	id = upload_id(j);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) || '/' || min(structure_id) || '/' || min(region) || '/' ||"
			      " min(after->>'kind') || '/' || min(after->>'records') || '/' || min(after->>'inserted')"
			      " FROM audit_log WHERE action = 'upload' AND resource_type = 'upload' AND resource_id = '%ld'",
			      id),
			 (snprintf(want, sizeof(want), "1/%ld/84/claims/1/1", s1), want));
	/* none for a rejected upload, nor for a dry run */
	j = csv(s1, "claims", CLAIMS_HEADER "A2,x,2024-07-01,,G,1,1,1\n", &st);
	ck_assert_int_eq(st, 422);
	id = upload_id(j);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) FROM audit_log WHERE resource_type = 'upload' AND resource_id = '%ld'", id),
			 "0");
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims&dry_run=true", s1);
	j = post(path, "text/csv", body, strlen(body), NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	id = upload_id(j);
	json_decref(j);
	h_resp_free(&r);
	ck_assert_str_eq(sql1("SELECT count(*) FROM audit_log WHERE resource_type = 'upload' AND resource_id = '%ld'", id),
			 "0");
}
END_TEST

/* ---- 5, 6, 8. limits, dry runs, answers given before the body ends ---- */

START_TEST(chunked_body_over_the_limit_is_a_413)
{
	static char chunk[1 << 16];
	char head[512], sz[16];
	struct h_conn c;
	struct h_resp r;
	size_t sent = 0, total = MAX_UPLOAD + (20u << 20); /* well past the server's 16 MiB drop bound */

	memset(chunk, 'x', sizeof(chunk));
	snprintf(head, sizeof(head),
		 "POST /v1/structures/%ld/uploads?kind=claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\nIdempotency-Key: huge-1\r\n\r\n",
		 s1, nat);
	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, strlen(head)), 0);
	snprintf(sz, sizeof(sz), "%zx\r\n", sizeof(chunk));
	while (sent < total) {
		ck_assert_int_eq(h_conn_send(&c, sz, strlen(sz)), 0);
		ck_assert_int_eq(h_conn_send(&c, chunk, sizeof(chunk)), 0);
		ck_assert_int_eq(h_conn_send(&c, "\r\n", 2), 0);
		sent += sizeof(chunk);
	}
	ck_assert_int_eq(h_conn_send(&c, "0\r\n\r\n", 5), 0);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 30000), 0);
	ck_assert_int_eq(r.status, 413);
	ck_assert(strstr(r.body, "/problems/payload-too-large"));
	h_resp_free(&r);
	h_conn_close(&c);
	ck_assert_str_eq(sql1("SELECT status || '/' || http_status || '/' || (sha256 IS NOT NULL) FROM uploads"
			      " WHERE idempotency_key = 'huge-1' AND %d > 0", 1),
			 "rejected/413/true");
}
END_TEST

START_TEST(dry_run_is_recorded_as_validated)
{
	char body[512], path[128];
	struct h_resp r;
	long id;
	json_t *j;

	snprintf(body, sizeof(body), CLAIMS_HEADER "V1,%s,2024-04-01,%s,G,1,26.50,18.55\n", nirs[2], gp);
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims&dry_run=true", s1);
	j = post(path, "text/csv", body, strlen(body), NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "validated");
	id = upload_id(j);
	json_decref(j);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/uploads/%ld", id);
	j = h_api_json(srv.port, "GET", path, nat, NULL, &(int){ 0 });
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "validated");
	ck_assert_int_eq(count_of(j, "http_status"), 200);
	json_decref(j);
}
END_TEST

/* Sends head and body without waiting for an answer (send failures ignored,
 * as a client that has not read yet), then reads the answer. */
static void send_blind(const char *head, const char *body, size_t len, struct h_resp *r)
{
	struct h_conn c;

	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, strlen(head)), 0);
	for (size_t o = 0; o < len; o += 1 << 16)
		if (h_conn_send(&c, body + o, len - o < (1 << 16) ? len - o : 1 << 16) < 0)
			break;
	ck_assert_int_eq(h_conn_read(&c, r, false, 30000), 0);
	h_conn_close(&c);
}

START_TEST(answers_reach_a_client_that_sends_everything_first)
{
	size_t n = 20u << 20;
	char *big = malloc(MAX_UPLOAD + (8u << 20)), head[512];
	struct h_resp r;
	json_t *j;

	ck_assert_ptr_nonnull(big);
	/* a file rejected at its header, 20 MiB long */
	memcpy(big, "colour\n", 7);
	for (size_t i = 7; i + 1 < MAX_UPLOAD + (8u << 20); i += 2) {
		big[i] = 'x';
		big[i + 1] = '\n';
	}
	snprintf(head, sizeof(head),
		 "POST /v1/structures/%ld/uploads?kind=claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: text/csv\r\nIdempotency-Key: big-1\r\nContent-Length: %zu\r\n\r\n",
		 s1, nat, n);
	send_blind(head, big, n, &r);
	ck_assert_int_eq(r.status, 422);
	h_resp_free(&r);
	/* the retry is answered once its body is read: the first answer... */
	send_blind(head, big, n, &r);
	ck_assert_int_eq(r.status, 422);
	ck_assert(strstr(r.head, "Idempotent-Replayed: true"));
	h_resp_free(&r);
	/* ...or, for another body of the same length, the refusal of the key */
	big[n - 2] = 'y';
	send_blind(head, big, n, &r);
	j = h_json(&r);
	assert_key_reused(&r, j);
	json_decref(j);
	h_resp_free(&r);
	/* decided from the headers (Content-Length over the limit): answered at once */
	snprintf(head, sizeof(head),
		 "POST /v1/structures/%ld/uploads?kind=claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: text/csv\r\nContent-Length: %u\r\n\r\n",
		 s1, nat, MAX_UPLOAD + (8u << 20));
	send_blind(head, big, MAX_UPLOAD + (8u << 20), &r);
	ck_assert_int_eq(r.status, 413);
	h_resp_free(&r);
	free(big);
}
END_TEST

/* ---- 9. FINESS keys, ALD counts, NIR keys ---- */

START_TEST(finess_key_ald_count_and_nir_key)
{
	char body[2048], ald[512], badnir[16];
	size_t o = 0;
	int st;
	json_t *j, *w;

	/* a FINESS whose key fails the Luhn rule is kept, with a warning, as on the structures route */
	snprintf(body, sizeof(body),
		 "stay_id,finess,nir,field,admission_date,discharge_date,ghm,entry_mode,provenance,exit_mode,"
		 "destination,main_diagnosis,procedure,amount\n"
		 "F1,690781811,%s,SSR,2024-02-05,2024-02-25,,7,1,8,,,,6000\n"
		 "F2,690781810,%s,SSR,2024-03-05,2024-03-25,,7,1,8,,,,6000\n",
		 nirs[2], nirs[2]);
	j = csv(s1, "stays", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(count_of(j, "warnings_count"), 1);
	w = json_array_get(json_object_get(j, "warnings"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(w, "line")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(w, "column")), "finess");
	ck_assert(strstr(json_string_value(json_object_get(w, "reason")), "Luhn"));
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) FROM stays WHERE dataset = %ld AND finess = '690781811'", s1), "1");
	/* at most 32 ALD: 32 pass, 33 do not */
	for (int k = 1; k <= 32; k++)
		o += (size_t)snprintf(ald + o, sizeof(ald) - o, "%s%d/2001-01-01", k > 1 ? "|" : "", k);
	snprintf(body, sizeof(body), "nir;birth;ald\n%s;1957-08;%s\n", nirs[7], ald);
	j = csv(s1, "patients", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	snprintf(body, sizeof(body), "nir;birth;ald\n%s;1958-09;%s|1/2002-01-01\n", nirs[8], ald);
	j = csv(s1, "patients", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 2, "ald", "at most 32 ALD");
	json_decref(j);
	/* a wrong NIR key: neither the key found nor the one expected is told */
	memcpy(badnir, nirs[2], 16);
	badnir[14] = badnir[14] == '9' ? '0' : (char)(badnir[14] + 1);
	remember(badnir);
	snprintf(body, sizeof(body), CLAIMS_HEADER "K1,%s,2024-04-05,%s,G,1,26.50,18.55\n", badnir, gp);
	j = csv(s1, "claims", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 2, "nir", "");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "reason")),
			 "the key (last 2 digits) does not match the first 13 characters");
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "value"));
	json_decref(j);
}
END_TEST

/* ---- 10. deprivation: reference data, no patient ---- */

#define DEPRIVATION_ROWS                                                                                \
	"SELECT coalesce(string_agg(commune || ':' || quintile || ':' || coalesce(score::text, 'null'), ','" \
	" ORDER BY commune), 'none') FROM commune_deprivation WHERE commune LIKE '%s'"

START_TEST(deprivation_stored_exactly_and_replaced)
{
	char path[128], want[64];
	struct h_resp r;
	long id, id2;
	int st;
	json_t *j;

	/* `;` and decimal commas, a Corsican commune, an empty score, scores of 6
	 * decimals that a float would round, negative ones, trailing zeros kept */
	j = csv(0, "deprivation",
		"commune;quintile;score\n"
		"01001;1;-1,234567\n"
		"01002;5;12345678,123456\n"
		"2A004;3;\n"
		"01003; 2 ;0.50\n"
		"01004;4;-0\n",
		&st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "deprivation");
	ck_assert_int_eq(count_of(j, "records"), 5);
	ck_assert_int_eq(count_of(j, "inserted"), 5);
	ck_assert_int_eq(count_of(j, "updated"), 0);
	id = upload_id(j);
	json_decref(j);
	ck_assert_str_eq(sql1(DEPRIVATION_ROWS " OR commune = '2A004'", "01%"),
			 "01001:1:-1.234567,01002:5:12345678.123456,01003:2:0.50,01004:4:0,2A004:3:null");
	ck_assert_str_eq(sql1("SELECT count(*) FROM commune_deprivation WHERE upload_id = %ld", id), "5");
	/* one audit row, of the reference dataset (no structure, no region) */
	ck_assert_str_eq(sql1("SELECT count(*) || '/' || coalesce(min(structure_id)::text, 'null') || '/' ||"
			      " coalesce(min(region), 'null') || '/' || min(after->>'kind') || '/' || min(after->>'inserted')"
			      " FROM audit_log WHERE action = 'upload' AND resource_id = '%ld'", id),
			 "1/null/null/deprivation/5");
	ck_assert_str_eq(sql1("SELECT dataset || '/' || (structure_id IS NULL) || '/' || status FROM uploads"
			      " WHERE id = %ld", id),
			 "0/true/succeeded");
	/* sent again: a known commune's row is replaced (an empty score too), a new one added */
	j = upload(0, "deprivation", "application/x-ndjson",
		   "{\"commune\":\"01001\",\"quintile\":2,\"score\":0.000001}\n"
		   "{\"Commune\":\"2A004\",\"quintile\":\"4\",\"score\":-3.5}\n"
		   "{\"commune\":\"01002\",\"quintile\":5,\"score\":null}\n"
		   "{\"commune\":\"01005\",\"quintile\":1}\n",
		   NULL, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(count_of(j, "inserted"), 1);
	ck_assert_int_eq(count_of(j, "updated"), 3);
	id2 = upload_id(j);
	json_decref(j);
	ck_assert_str_eq(sql1(DEPRIVATION_ROWS " OR commune = '2A004'", "01%"),
			 "01001:2:0.000001,01002:5:null,01003:2:0.50,01004:4:0,01005:1:null,2A004:4:-3.5");
	snprintf(want, sizeof(want), "%ld/2,%ld/4", id, id2);
	ck_assert_str_eq(sql1("SELECT string_agg(upload_id || '/' || n, ',' ORDER BY upload_id) FROM"
			      " (SELECT upload_id, count(*) AS n FROM commune_deprivation"
			      " WHERE commune LIKE '01%%' OR commune = '2A004' GROUP BY 1) t WHERE %d > 0", 1),
			 want);
	/* a dry run checks and undoes; a retry with its key is the first answer, stored once */
	j = post_as("/v1/reference/uploads?kind=deprivation&dry_run=true", "commune,quintile\n01001,5\n", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "validated");
	ck_assert_int_eq(count_of(j, "updated"), 1);
	json_decref(j);
	h_resp_free(&r);
	ck_assert_str_eq(sql1("SELECT quintile FROM commune_deprivation WHERE commune = '%s'", "01001"), "2");
	snprintf(path, sizeof(path), "/v1/reference/uploads?kind=deprivation");
	for (int k = 0; k < 2; k++) {
		j = post_as(path, "commune,quintile\n01006,3\n", "Idempotency-Key: dep-1\r\n", NULL, &r);
		ck_assert_int_eq(r.status, 201);
		ck_assert(!k || strstr(r.head, "Idempotent-Replayed: true"));
		ck_assert_int_eq(count_of(j, "inserted"), 1);
		json_decref(j);
		h_resp_free(&r);
	}
	ck_assert_str_eq(sql1("SELECT count(*) FROM uploads WHERE idempotency_key = 'dep-1' AND %d > 0", 1), "1");
	ck_assert_str_eq(sql1(DEPRIVATION_ROWS, "01006"), "01006:3:null");
}
END_TEST

START_TEST(deprivation_bad_lines_store_nothing)
{
	static const struct { const char *line, *column, *reason; } bad[] = {
		{ "6912;3;1", "commune", "INSEE commune code" },
		{ "2C004;3;1", "commune", "INSEE commune code" },
		{ "02001;0;1", "quintile", "from 1 to 5" },
		{ "02002;6;1", "quintile", "from 1 to 5" },
		{ "02003;x;1", "quintile", "from 1 to 5" },
		{ "02004;3;abc", "score", "decimal number" },
		{ "02005;3;1e3", "score", "decimal number" },
		{ "02006;3;1,2345678", "score", "more than 6 decimals" },
		{ "02007;3;inf", "score", "decimal number" },
		{ "02008;;1", "quintile", "required" },
		{ ";3;1", "commune", "required" },
	};
	enum { NBAD = sizeof(bad) / sizeof(bad[0]) };
	char body[1024];
	size_t o;
	int st;
	long id;
	json_t *j;

	/* every class, each on its own line after a good one: each named, nothing stored */
	o = (size_t)snprintf(body, sizeof(body), "commune;quintile;score\n02000;1;0\n");
 for (size_t i = 0; i < NBAD; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "%s\n", bad[i].line);
	j = csv(0, "deprivation", body, &st);
	ck_assert_int_eq(st, 422);
	ck_assert_int_eq(count_of(json_object_get(j, "upload"), "errors_count"), (long)NBAD);
	for (size_t i = 0; i < NBAD; i++)
		assert_error(j, i, (long)i + 3, bad[i].column, bad[i].reason);
	/* a commune is echoed, as any value but a NIR */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "value")),
			 "6912");
	id = upload_id(j);
	json_decref(j);
	ck_assert_str_eq(sql1(DEPRIVATION_ROWS, "02%"), "none");
	ck_assert_str_eq(sql1("SELECT status || '/' || errors_count || '/' || (SELECT count(*) FROM upload_errors"
			      " WHERE upload_id = %ld) FROM uploads WHERE id = %ld", id, id),
			 "rejected/11/11");
	/* a commune twice in one file, on the direct path (a new commune) and through
	 * staging (one already stored): the later line, nothing stored */
	j = csv(0, "deprivation", "commune,quintile\n03001,1\n03002,2\n03001,3\n", &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 4, "commune", "repeats the record of line 2");
	ck_assert_int_eq(count_of(json_object_get(j, "upload"), "errors_count"), 1);
	json_decref(j);
	ck_assert_str_eq(sql1(DEPRIVATION_ROWS, "03%"), "none");
	j = csv(0, "deprivation", "commune,quintile\n03003,1\n", &st);
	ck_assert_int_eq(st, 201);
	json_decref(j);
	j = csv(0, "deprivation", "commune,quintile\n03004,1\n03003,4\n03003,5\n", &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 4, "commune", "repeats the record of line 3");
	json_decref(j);
	ck_assert_str_eq(sql1(DEPRIVATION_ROWS, "03%"), "03003:1:null");
	/* the header: a NIR column is unknown to this kind, and commune is required */
	j = csv(0, "deprivation", "nir,quintile\nx,1\n", &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 1, "nir", "unknown column");
	assert_error(j, 1, 1, "commune", "required column missing");
	json_decref(j);
}
END_TEST

START_TEST(deprivation_is_national_reference_data)
{
	static const char good[] = "commune,quintile\n04001,1\n";
	const char *tokens[3] = { s1tok, arstok, natro };
	char path[128];
	struct h_resp r;
	json_t *j, *e;

	/* a structure's dataset does not take it, whoever asks: 422 on kind, before the body */
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=deprivation", s1);
	for (int k = 0; k < 2; k++) {
		j = post_as(path, good, NULL, k ? s1tok : NULL, &r);
		ck_assert_msg(r.status == 422, "%d %s", r.status, r.body);
		e = json_array_get(json_object_get(j, "errors"), 0);
		ck_assert_str_eq(json_string_value(json_object_get(e, "field")), "kind");
		ck_assert_str_eq(json_string_value(json_object_get(e, "reason")),
				 "deprivation is reference data: upload it to /v1/reference/uploads");
		json_decref(j);
		h_resp_free(&r);
	}
	/* the kinds a structure's route lists leave it out; the reference route's name it */
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=fdep", s1);
	j = post_as(path, good, NULL, NULL, &r);
	e = json_array_get(json_object_get(j, "errors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "reason")),
			 "must be patients, mt_declarations, claims, stays or questionnaires");
	json_decref(j);
	h_resp_free(&r);
	j = post_as("/v1/reference/uploads?kind=fdep", good, NULL, NULL, &r);
	e = json_array_get(json_object_get(j, "errors"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "reason")),
			 "must be patients, mt_declarations, claims, stays, questionnaires or deprivation");
	json_decref(j);
	h_resp_free(&r);
	/* the reference route is for read-write national tokens: 403 for a
	 * structure's, an ARS's, and a read-only national token */
	for (int k = 0; k < 3; k++) {
		j = post_as("/v1/reference/uploads?kind=deprivation", good, NULL, tokens[k], &r);
		ck_assert_msg(r.status == 403, "token %d: %d", k, r.status);
		ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "/problems/forbidden");
		json_decref(j);
		h_resp_free(&r);
	}
	ck_assert_str_eq(sql1(DEPRIVATION_ROWS, "04%"), "none");
	ck_assert_str_eq(sql1("SELECT count(*) FROM uploads WHERE kind = 'deprivation' AND dataset <> %d", 0), "0");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("uploads_rules");
	TCase *t = tcase_create("uploads_rules");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, duplicate_keys_are_saved_like_other_errors);
	tcase_add_test(t, idempotency_key_is_bound_to_its_request);
	tcase_add_test(t, key_in_progress_and_aborted_upload);
	tcase_add_test(t, ndjson_amounts_are_exact_and_names_match_in_any_case);
	tcase_add_test(t, known_patients_keep_their_record);
	tcase_add_test(t, declarations_follow_the_route_rules);
	tcase_add_test(t, one_audit_row_per_accepted_upload);
	tcase_add_test(t, chunked_body_over_the_limit_is_a_413);
	tcase_add_test(t, dry_run_is_recorded_as_validated);
	tcase_add_test(t, answers_reach_a_client_that_sends_everything_first);
	tcase_add_test(t, finess_key_ald_count_and_nir_key);
	tcase_add_test(t, deprivation_stored_exactly_and_replaced);
	tcase_add_test(t, deprivation_bad_lines_store_nothing);
	tcase_add_test(t, deprivation_is_national_reference_data);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
