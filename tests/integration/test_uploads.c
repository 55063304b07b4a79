/* Bulk uploads through the API: every kind stored exactly, every class of bad
 * line rejected with its line, column and reason and nothing stored, encodings,
 * NDJSON, dry runs, idempotent retries, a client that disconnects, re-sent data,
 * limits and tenancy — and no clear NIR in the dump or the logs afterwards. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"

static struct h_db db;
static struct h_srv srv;
static char nat[64], s1tok[64];
static long s1, s2;
static char nir_file[600];
static const char *gp = "10000000017";

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

/* POSTs a body to a structure's (or the reference) upload route. */
static json_t *upload(long sid, const char *kind, const char *ctype, const char *body, size_t len,
		      const char *extra_headers, const char *token, int *status, struct h_resp *keep)
{
	char path[128], headers[512];
	struct h_resp r;
	json_t *j;

	if (sid)
		snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=%s", sid, kind);
	else
		snprintf(path, sizeof(path), "/v1/reference/uploads?kind=%s", kind);
	snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\nContent-Type: %s\r\n%s", token ? token : nat,
		 ctype, extra_headers ? extra_headers : "");
	ck_assert_int_eq(h_call(srv.port, "POST", path, headers, body, len, &r), 0);
	*status = r.status;
	j = h_json(&r);
	if (keep)
		*keep = r;
	else
		h_resp_free(&r);
	return j;
}

static json_t *csv(long sid, const char *kind, const char *body, int *status)
{
	return upload(sid, kind, "text/csv", body, strlen(body), NULL, NULL, status, NULL);
}

static const char *sql1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sql1(const char *fmt, ...)
{
	char q[512];
	PGconn *pg = h_db_connect(&db);
	static char out[256];
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

/* The nth error of a rejected upload: line, column, reason substring. */
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

static char nirs[8][16];

static void up(void)
{
	char scope[32], body[2048];
	int st;
	json_t *j;

	h_db_create(&db, "uploads");
	h_srv_start(&srv, db.url, (const char *const[]){ "A51_MAX_UPLOAD=200k", NULL });
	h_token_cli(db.url, "national", "national", false, nat);
	snprintf(nir_file, sizeof(nir_file), "%s.nirs", srv.log);
	unlink(nir_file);
	s1 = make_structure("MSP upload");
	s2 = make_structure("MSP other");
	snprintf(scope, sizeof(scope), "structure:%ld", s1);
	h_token_cli(db.url, "s1", scope, false, s1tok);
	for (int i = 0; i < 8; i++) {
		h_nir(1 + i % 2, 40 + i, 1 + i, "69", 381, 100 + i, nirs[i]);
		remember(nirs[i]);
	}
	/* five patients of S1 (the last two only in the reference population) */
	snprintf(body, sizeof(body),
		 "nir;birth;sex;commune;c2s;ame;death_date;ald\n"
		 "%s;1940-01;1;69381;non;non;;8/2019-05-01\n"
		 "%s;1941-02;;69381;oui;non;;\n"
		 "%s;1942-03;1;38185;0;0;2024-02-10;15/2020-01-01/2023-12-31|8/2021-06-01\n"
		 "%s;1943-04;2;;;;;\n",
		 nirs[0], nirs[1], nirs[2], nirs[3]);
	j = csv(s1, "patients", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "inserted")), 4);
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

START_TEST(patients_stored_exactly)
{
	/* the ALD list was parsed, the sex taken from the NIR, the death date kept */
	ck_assert_str_eq(sql1("SELECT count(*) FROM patient_links WHERE structure_id = %ld", s1), "4");
	ck_assert_str_eq(sql1("SELECT string_agg(ald || ':' || start_on || ':' || coalesce(end_on::text, '-'), ','"
			      " ORDER BY ald) FROM patient_ald a JOIN patient_links l USING (patient_id)"
			      " WHERE l.structure_id = %ld", s1),
			 "8:2019-05-01:-,8:2021-06-01:-,15:2020-01-01:2023-12-31");
	ck_assert_str_eq(sql1("SELECT string_agg(sex::text || c2s::text, ',' ORDER BY birth_year) FROM patients p"
			      " JOIN patient_links l ON l.patient_id = p.id WHERE l.structure_id = %ld", s1),
			 "1false,2true,1false,2false");
	ck_assert_str_eq(sql1("SELECT count(*) FROM patients WHERE death_date = '2024-02-10' AND %ld > 0", 1L), "1");
}
END_TEST

START_TEST(claims_stored_exactly_and_replaced_on_resend)
{
	char body[2048];
	int st;
	json_t *j;

	snprintf(body, sizeof(body),
		 "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount,extra_fees\n"
		 "A1,%s,2024-01-05,%s,G,1,26.50,18.55,\n"
		 "A2,%s,05/02/2024,%s,VG,1,\"36,50\",25.55,5\n"
		 "A3,%s,2024-03-01,,PHA,1,1 234.56,802.46,\n"
		 "A4,%s,2024-03-02,,NEKA020,1,500,500,0\n",
		 nirs[0], gp, nirs[1], gp, nirs[2], nirs[3]);
	j = csv(s1, "claims", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "inserted")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 4);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "sha256"))), 64);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) || '/' || sum(base_cents) || '/' || sum(reimbursed_cents) || '/' ||"
			      " sum(extra_fees_cents) FROM claims WHERE dataset = %ld", s1),
			 "4/179756/134656/500");
	/* the same lines again, one changed: replaced, never duplicated */
	snprintf(body, sizeof(body),
		 "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n"
		 "A1,%s,2024-01-05,%s,G,1,30.00,21.00\n",
		 nirs[0], gp);
	j = csv(s1, "claims", body, &st);
	ck_assert_int_eq(st, 201);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "updated")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "inserted")), 0);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) || '/' || sum(base_cents) FROM claims WHERE dataset = %ld", s1),
			 "4/180106");
}
END_TEST

START_TEST(other_kinds)
{
	char body[4096];
	int st;
	json_t *j;

	snprintf(body, sizeof(body),
		 "nir,gp_rpps,start_on,end_on\n%s,%s,2020-01-01,2023-06-30\n%s,%s,2023-07-01,\n%s,%s,2021-01-01,\n",
		 nirs[0], gp, nirs[0], gp, nirs[1], gp);
	j = csv(s1, "mt_declarations", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) FROM mt_declarations d JOIN patient_links l USING (patient_id)"
			      " WHERE l.structure_id = %ld", s1), "3");
	snprintf(body, sizeof(body),
		 "stay_id,finess,nir,field,admission_date,discharge_date,ghm,entry_mode,provenance,exit_mode,"
		 "destination,main_diagnosis,procedure,amount\n"
		 "H1,690781810,%s,MCO,2024-02-01,2024-02-05,08C481,8,,7,2,M16.1,NEKA020,8123.45\n"
		 "H2,690781810,%s,SSR,2024-02-05,2024-02-25,,7,1,8,,,,6000\n",
		 nirs[0], nirs[0]);
	j = csv(s1, "stays", body, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT string_agg(field || ghm::text || main_diagnosis::text, ',') FROM stays"
			      " WHERE dataset = %ld AND field = 'MCO'", s1), "MCO08C481M161");
	ck_assert_str_eq(sql1("SELECT sum(amount_cents) FROM stays WHERE dataset = %ld", s1), "1412345");
	snprintf(body, sizeof(body),
		 "questionnaire;nir;answered_on;item;answer\nIPEP-EXP;%s;2024-05-01;1;4\nIPEP-EXP;%s;2024-05-01;2;3\n",
		 nirs[1], nirs[1]);
	j = csv(s1, "questionnaires", body, &st);
	ck_assert_int_eq(st, 201);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT sum(answer) FROM questionnaire_answers WHERE dataset = %ld", s1), "7");
}
END_TEST

/* Each class of bad line, alone in an otherwise good file: 422, the right line,
 * column and reason, and nothing stored. */
START_TEST(each_bad_line_rejects_the_file)
{
	static const struct { const char *row; const char *column; const char *reason; } bad[] = {
		{ "B1,{N0},2024-02-30,{GP},G,1,26.50,18.55,", "care_date", "day" },
		{ "B1,{N0},2024-02-01,{GP},G,1,-26.50,18.55,", "base_amount", "negative" },
		{ "B1,{N0},2024-02-01,{GP},XYZ,1,26.50,18.55,", "act_code", "unknown act code" },
		{ "B1,{NB},2024-02-01,{GP},G,1,26.50,18.55,", "nir", "the key (last 2 digits) does not match" },
		{ "B1,{N0},2024-02-01,{GP},G,1,26.50,30.00,", "reimbursed_amount", "more than the base" },
		{ "B1,{N0},2024-02-01,{GP},G,1,26.505,18.55,", "base_amount", "decimals" },
		{ "B1,{N0},2024-02-01,{GP},G,1,26.50", NULL, "fields where the header has 9" },
		{ "B1,{N0},\"2024-02-01,{GP},G,1,26.50,18.55,", NULL, "quot" },
		{ "B1,{N0},2024-02-01,{GP},G\xff,1,26.50,18.55,", NULL, "UTF-8" },
		{ "B1,{NX},2024-02-01,{GP},G,1,26.50,18.55,", "nir", "unknown patient" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char row[512], body[2048], badnir[16], unknown[16];
		const char *p = bad[i].row;
		size_t o = 0;
		int st;
		json_t *j;

		memcpy(badnir, nirs[0], 13);
		{
			unsigned key = (unsigned)(atoi(nirs[0] + 13) % 97) + 1; /* any key but the right one */
			badnir[13] = (char)('0' + key / 10);
			badnir[14] = (char)('0' + key % 10);
			badnir[15] = '\0';
		}
		h_nir(2, 99, 12, "69", 999, 999, unknown);
		remember(unknown);
		remember(badnir);
		while (*p && o < sizeof(row) - 20) {
			if (strncmp(p, "{N0}", 4) == 0)
				o += (size_t)snprintf(row + o, sizeof(row) - o, "%s", nirs[0]), p += 4;
			else if (strncmp(p, "{NB}", 4) == 0)
				o += (size_t)snprintf(row + o, sizeof(row) - o, "%s", badnir), p += 4;
			else if (strncmp(p, "{NX}", 4) == 0)
				o += (size_t)snprintf(row + o, sizeof(row) - o, "%s", unknown), p += 4;
			else if (strncmp(p, "{GP}", 4) == 0)
				o += (size_t)snprintf(row + o, sizeof(row) - o, "%s", gp), p += 4;
			else
				row[o++] = *p++;
		}
		row[o] = '\0';
		snprintf(body, sizeof(body),
			 "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount,extra_fees\n"
			 "G1,%s,2024-01-10,%s,G,1,26.50,18.55,\n%s\nG2,%s,2024-01-11,%s,G,1,26.50,18.55,\n",
			 nirs[1], gp, row, nirs[1], gp);
		j = csv(s2 == 0 ? s1 : s1, "claims", body, &st);
		ck_assert_msg(st == 422, "case %zu: %d", i, st);
		assert_error(j, 0, 3, bad[i].column, bad[i].reason);
		ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "/problems/validation");
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "upload"), "status")), "rejected");
		/* a NIR is never echoed */
		{
			char *text = json_dumps(j, JSON_COMPACT);
			ck_assert_ptr_null(strstr(text, badnir));
			free(text);
		}
		json_decref(j);
		ck_assert_str_eq(sql1("SELECT count(*) FROM claims WHERE dataset = %ld AND claim_id LIKE 'G%%'", s1), "0");
	}
}
END_TEST

START_TEST(header_faults)
{
	int st;
	json_t *j = csv(s1, "claims", "claim_id,nir,care_date,colour\nx,y,z,w\n", &st);

	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "column")),
			 "colour");
	{
		char *text = json_dumps(j, 0);
		ck_assert(strstr(text, "required column missing"));
		free(text);
	}
	json_decref(j);
	j = csv(s1, "claims", "", &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = csv(s1, "galaxies", "a\n1\n", &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
}
END_TEST

START_TEST(windows_1252_and_ndjson)
{
	char body[1024];
	int st;
	json_t *j;

	/* "Fé€" in windows-1252: 0x46 0xE9 0x80 */
	snprintf(body, sizeof(body),
		 "claim_id;nir;care_date;rpps;act_code;quantity;base_amount;reimbursed_amount\n"
		 "F\xe9\x80-1;%s;2024-04-01;%s;G;1;26,50;18,55\n",
		 nirs[1], gp);
	j = upload(s1, "claims", "text/csv; charset=windows-1252", body, strlen(body), NULL, NULL, &st, NULL);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT claim_id FROM claims WHERE dataset = %ld AND claim_id LIKE 'F%%'", s1), "Fé€-1");
	j = upload(s1, "claims", "text/csv; charset=ebcdic", body, strlen(body), NULL, NULL, &st, NULL);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	snprintf(body, sizeof(body),
		 "{\"claim_id\":\"J1\",\"nir\":\"%s\",\"care_date\":\"2024-04-02\",\"rpps\":\"%s\",\"act_code\":\"G\","
		 "\"quantity\":1,\"base_amount\":26.5,\"reimbursed_amount\":\"18.55\"}\n\n"
		 "{\"claim_id\":\"J2\",\"nir\":\"%s\",\"care_date\":\"2024-04-03\",\"act_code\":\"BIO\",\"quantity\":2,"
		 "\"base_amount\":12,\"reimbursed_amount\":7.2}\n",
		 nirs[1], gp, nirs[1]);
	j = upload(s1, "claims", "application/x-ndjson", body, strlen(body), NULL, NULL, &st, NULL);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 2);
	json_decref(j);
	j = upload(s1, "claims", "application/x-ndjson", "{\"claim_id\":\"J3\",\"planet\":1}\n[1]\n", 33, NULL, NULL,
		   &st, NULL);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 1, "planet", "unknown field");
	assert_error(j, 1, 2, NULL, "not a JSON object");
	json_decref(j);
}
END_TEST

START_TEST(dry_run_stores_nothing)
{
	char body[512], before[32];
	int st;
	json_t *j;

	snprintf(before, sizeof(before), "%s", sql1("SELECT count(*) FROM claims WHERE dataset = %ld", s1));
	snprintf(body, sizeof(body),
		 "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n"
		 "D1,%s,2024-04-01,%s,G,1,26.50,18.55\n",
		 nirs[1], gp);
	{
		char path[128];
		struct h_resp r;
		snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?kind=claims&dry_run=true", s1);
		ck_assert_int_eq(h_call(srv.port, "POST", path,
					"Authorization: Bearer placeholder\r\nContent-Type: text/csv\r\n", body, 0, &r), 0);
		h_resp_free(&r);
		{
			char h[256];
			snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nContent-Type: text/csv\r\n", nat);
			ck_assert_int_eq(h_call(srv.port, "POST", path, h, body, strlen(body), &r), 0);
		}
		st = r.status;
		j = h_json(&r);
		h_resp_free(&r);
	}
	ck_assert_int_eq(st, 200);
	ck_assert(json_is_true(json_object_get(j, "dry_run")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "validated");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "inserted")), 1);
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) FROM claims WHERE dataset = %ld", s1), before);
}
END_TEST

START_TEST(idempotent_retry)
{
	char body[512], before[32];
	struct h_resp r;
	int st, st2;
	json_t *j, *j2;

	snprintf(body, sizeof(body),
		 "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n"
		 "K1,%s,2024-04-05,%s,G,1,26.50,18.55\n",
		 nirs[1], gp);
	j = upload(s1, "claims", "text/csv", body, strlen(body), "Idempotency-Key: batch-2024-04\r\n", NULL, &st, NULL);
	ck_assert_int_eq(st, 201);
	snprintf(before, sizeof(before), "%s", sql1("SELECT count(*) FROM claims WHERE dataset = %ld", s1));
	j2 = upload(s1, "claims", "text/csv", body, strlen(body), "Idempotency-Key: batch-2024-04\r\n", NULL, &st2, &r);
	ck_assert_int_eq(st2, 201);
	ck_assert(strstr(r.head, "Idempotent-Replayed: true"));
	h_resp_free(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), json_integer_value(json_object_get(j2, "id")));
	ck_assert_str_eq(sql1("SELECT count(*) FROM claims WHERE dataset = %ld", s1), before);
	ck_assert_str_eq(sql1("SELECT count(*) FROM uploads WHERE idempotency_key = 'batch-2024-04' AND %ld > 0", 1L),
			 "1");
	json_decref(j);
	json_decref(j2);
	/* a rejected upload is replayed as rejected too */
	j = upload(s1, "claims", "text/csv", "claim_id\nx\n", 11, "Idempotency-Key: bad-1\r\n", NULL, &st, NULL);
	j2 = upload(s1, "claims", "text/csv", "claim_id\nx\n", 11, "Idempotency-Key: bad-1\r\n", NULL, &st2, NULL);
	ck_assert_int_eq(st, 422);
	ck_assert_int_eq(st2, 422);
	json_decref(j);
	json_decref(j2);
}
END_TEST

START_TEST(disconnect_leaves_nothing)
{
	char head[512], row[256];
	struct h_conn c;
	int st;
	json_t *j;
	char before[32];

	snprintf(before, sizeof(before), "%s", sql1("SELECT count(*) FROM claims WHERE dataset = %ld", s1));
	snprintf(head, sizeof(head),
		 "POST /v1/structures/%ld/uploads?kind=claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: text/csv\r\nIdempotency-Key: cut-1\r\nContent-Length: 100000\r\n\r\n"
		 "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n",
		 s1, nat);
	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, strlen(head)), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(row, sizeof(row), "C%d,%s,2024-05-01,%s,G,1,26.50,18.55\n", i, nirs[1], gp);
		ck_assert_int_eq(h_conn_send(&c, row, strlen(row)), 0);
	}
	usleep(200000);
	h_conn_close(&c); /* gone mid-body */
	usleep(500000);
	ck_assert_str_eq(sql1("SELECT count(*) FROM claims WHERE dataset = %ld", s1), before);
	ck_assert_str_eq(sql1("SELECT status FROM uploads WHERE idempotency_key = 'cut-1' AND dataset = %ld", s1),
			 "aborted");
	/* the retry with the same key goes through */
	{
		char body[8192];
		size_t o = (size_t)snprintf(body, sizeof(body),
					    "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n");
		for (int i = 0; i < 50; i++)
			o += (size_t)snprintf(body + o, sizeof(body) - o, "C%d,%s,2024-05-01,%s,G,1,26.50,18.55\n", i,
					      nirs[1], gp);
		j = upload(s1, "claims", "text/csv", body, o, "Idempotency-Key: cut-1\r\n", NULL, &st, NULL);
	}
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "inserted")), 50);
	json_decref(j);
}
END_TEST

START_TEST(duplicates_within_a_file)
{
	char body[1024];
	int st;
	json_t *j;

	snprintf(body, sizeof(body),
		 "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n"
		 "Z1,%s,2024-06-01,%s,G,1,26.50,18.55\nZ2,%s,2024-06-02,%s,G,1,26.50,18.55\n"
		 "Z1,%s,2024-06-03,%s,G,1,26.50,18.55\n",
		 nirs[1], gp, nirs[1], gp, nirs[1], gp);
	j = csv(s1, "claims", body, &st);
	ck_assert_int_eq(st, 422);
	assert_error(j, 0, 4, "claim_id", "repeats the record of line 2");
	json_decref(j);
	ck_assert_str_eq(sql1("SELECT count(*) FROM claims WHERE dataset = %ld AND claim_id LIKE 'Z%%'", s1), "0");
}
END_TEST

START_TEST(limits_and_tenancy)
{
	char *big, head[512];
	size_t n = 250000;
	int st;
	json_t *j;
	struct h_conn c;
	struct h_resp r;

	/* another structure's dataset: 404, not 403 */
	j = upload(s2, "claims", "text/csv", "claim_id\n", 9, NULL, s1tok, &st, NULL);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	/* over A51_MAX_UPLOAD (200k) by Content-Length: 413 before reading */
	big = malloc(n);
	memset(big, 'x', n);
	j = upload(s1, "claims", "text/csv", big, n, NULL, NULL, &st, NULL);
	ck_assert_int_eq(st, 413);
	json_decref(j);
	/* and chunked, counted as it comes */
	snprintf(head, sizeof(head),
		 "POST /v1/structures/%ld/uploads?kind=claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n",
		 s1, nat);
	ck_assert_int_eq(h_conn_open(&c, srv.port), 0);
	ck_assert_int_eq(h_conn_send(&c, head, strlen(head)), 0);
	for (int i = 0; i < 5; i++) {
		char sz[16];
		snprintf(sz, sizeof(sz), "%x\r\n", 60000);
		h_conn_send(&c, sz, strlen(sz));
		h_conn_send(&c, big, 60000);
		h_conn_send(&c, "\r\n", 2);
	}
	h_conn_send(&c, "0\r\n\r\n", 5);
	ck_assert_int_eq(h_conn_read(&c, &r, false, 10000), 0);
	ck_assert_int_eq(r.status, 413);
	ck_assert(strstr(r.body, "exceeds the upload limit"));
	h_resp_free(&r);
	h_conn_close(&c);
	free(big);
	/* the reference population is national */
	j = upload(0, "patients", "text/csv", "nir,birth\n", 10, NULL, s1tok, &st, NULL);
	ck_assert_int_eq(st, 403);
	json_decref(j);
}
END_TEST

START_TEST(upload_records_and_error_lists)
{
	char body[16384], path[128];
	size_t o;
	int st;
	long id;
	json_t *j;
	struct h_resp r;

	o = (size_t)snprintf(body, sizeof(body), "claim_id,nir,care_date,rpps,act_code,quantity,base_amount,reimbursed_amount\n");
	for (int i = 0; i < 120; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "E%d,%s,2024-13-01,%s,G,1,1,1\n", i, nirs[1], gp);
	j = csv(s1, "claims", body, &st);
	ck_assert_int_eq(st, 422);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "errors")), 100); /* the first 100 in the answer */
	id = (long)json_integer_value(json_object_get(json_object_get(j, "upload"), "id"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "upload"), "errors_count")), 120);
	json_decref(j);
	/* all of them, by pages and as a CSV file */
	snprintf(path, sizeof(path), "/v1/uploads/%ld/errors?limit=100", id);
	j = h_api_json(srv.port, "GET", path, nat, NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 100);
	{
		json_t *j2 = h_api_json(srv.port, "GET", json_string_value(json_object_get(j, "next")), nat, NULL, &st);
		ck_assert_uint_eq(json_array_size(json_object_get(j2, "items")), 20);
		json_decref(j2);
	}
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/uploads/%ld/errors?format=csv", id);
	ck_assert_int_eq(h_api(srv.port, "GET", path, nat, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert(strstr(r.head, "text/csv"));
	ck_assert(strstr(r.body, "line;column;value;reason"));
	{
		int lines = 0;
		for (const char *p = r.body; (p = strchr(p, '\n')); p++)
			lines++;
		ck_assert_int_eq(lines, 121);
	}
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/uploads/%ld", id);
	j = h_api_json(srv.port, "GET", path, s1tok, NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "rejected");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 120);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/structures/%ld/uploads?limit=2", s1);
	j = h_api_json(srv.port, "GET", path, s1tok, NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 2);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "next")));
	json_decref(j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("uploads");
	TCase *t = tcase_create("uploads");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, patients_stored_exactly);
	tcase_add_test(t, claims_stored_exactly_and_replaced_on_resend);
	tcase_add_test(t, other_kinds);
	tcase_add_test(t, each_bad_line_rejects_the_file);
	tcase_add_test(t, header_faults);
	tcase_add_test(t, windows_1252_and_ndjson);
	tcase_add_test(t, dry_run_stores_nothing);
	tcase_add_test(t, idempotent_retry);
	tcase_add_test(t, disconnect_leaves_nothing);
	tcase_add_test(t, duplicates_within_a_file);
	tcase_add_test(t, limits_and_tenancy);
	tcase_add_test(t, upload_records_and_error_lists);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
