/* Who may do what: every route x every kind of caller x own / other tenant,
 * token lifecycle (revocation seen at once despite the cache, expiry), the
 * audit trail and its scoping, optimistic concurrency. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"

/* The matrix rows carry their path templates as printf formats. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

enum { NONE, NAT, NAT_RO, ARS, ARS_RO, ARS_OTHER, S1, S1_RO, S2, NROLES };
static const char *const role_names[NROLES] = { "no token", "national", "national read-only", "ARS 84",
						"ARS 84 read-only", "ARS 11", "structure S1", "structure S1 read-only",
						"structure S2" };

static struct h_db db;
static struct h_srv srv;
static char tok[NROLES][64];
static long s1, s2, member, patient, decl, enrol;
static char s1_path[64], member_rpps[12], patient_nir[16];
static long counter = 100;

static long create(const char *path, const char *body)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", path, tok[NAT], body, &st);
	long id;

	ck_assert_msg(st == 201, "POST %s: %d", path, st);
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

static long new_structure(const char *kind, const char *region, const char *commune)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"kind\":\"%s\",\"name\":\"Structure %ld\",\"region\":\"%s\",\"commune\":\"%s\","
		 "\"legal_form\":\"%s\"%s}",
		 kind, counter++, region, commune, strcmp(kind, "ES") == 0 ? "EPS" : "SISA",
		 strcmp(kind, "ES") == 0 ? "" : "");
	return create("/v1/structures", body);
}

static long new_token(const char *scope)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"name\":\"t%ld\",\"scope\":\"%s\"}", counter++, scope);
	return create("/v1/tokens", body);
}

static long new_enrolment(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/enrolments", s1_path);
	return create(path, "{\"experiment\":\"EDS\",\"option\":\"PTH\",\"start_on\":\"2024-02-01\"}");
}

static void withdraw(long e)
{
	char path[128];
	int st;
	json_t *j;

	snprintf(path, sizeof(path), "%s/enrolments/%ld/withdrawal", s1_path, e);
	j = h_api_json(srv.port, "POST", path, tok[NAT], "{\"on\":\"2024-12-31\",\"reason\":\"test\"}", &st);
	ck_assert_int_eq(st, 200);
	json_decref(j);
}

static void up(void)
{
	char body[512], scope[64];
	int st;
	json_t *j;

	h_db_create(&db, "access");
	h_srv_start(&srv, db.url, NULL);
	h_token_cli(db.url, "national", "national", false, tok[NAT]);
	h_token_cli(db.url, "national-ro", "national", true, tok[NAT_RO]);
	/* S1: a health establishment in Auvergne-Rhône-Alpes (84); S2 in Île-de-France (11) */
	s1 = create("/v1/structures", "{\"kind\":\"ES\",\"name\":\"Clinique du Parc\",\"finess\":\"690781810\","
				      "\"region\":\"84\",\"commune\":\"69381\",\"legal_form\":\"ESPIC\"}");
	s2 = new_structure("MSP", "11", "75101");
	snprintf(s1_path, sizeof(s1_path), "/v1/structures/%ld", s1);
	{
		static const struct { int role; const char *scope; bool write; } grants[] = {
			{ ARS, "ars:84", true }, { ARS_RO, "ars:84", false }, { ARS_OTHER, "ars:11", true },
		};
		for (size_t i = 0; i < 3; i++) {
			snprintf(body, sizeof(body), "{\"name\":\"g%zu\",\"scope\":\"%s\",\"write\":%s}", i,
				 grants[i].scope, grants[i].write ? "true" : "false");
			j = h_api_json(srv.port, "POST", "/v1/tokens", tok[NAT], body, &st);
			ck_assert_int_eq(st, 201);
			snprintf(tok[grants[i].role], 64, "%s", json_string_value(json_object_get(j, "token")));
			json_decref(j);
		}
	}
	snprintf(scope, sizeof(scope), "structure:%ld", s1);
	h_token_cli(db.url, "s1", scope, false, tok[S1]);
	h_token_cli(db.url, "s1-ro", scope, true, tok[S1_RO]);
	snprintf(scope, sizeof(scope), "structure:%ld", s2);
	h_token_cli(db.url, "s2", scope, false, tok[S2]);

	h_rpps(20000001, member_rpps);
	snprintf(body, sizeof(body), "{\"rpps\":\"%s\",\"profession\":\"MG\",\"last_name\":\"Martin\","
				     "\"first_name\":\"Claire\",\"start_on\":\"2022-01-01\"}", member_rpps);
	{
		char path[96];
		snprintf(path, sizeof(path), "%s/members", s1_path);
		member = create(path, body);
		h_nir(2, 61, 4, "69", 123, 45, patient_nir);
		snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"1961-04\"}", patient_nir);
		snprintf(path, sizeof(path), "%s/patients", s1_path);
		patient = create(path, body);
		snprintf(body, sizeof(body), "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"2022-03-01\"}",
			 patient, member_rpps);
		snprintf(path, sizeof(path), "%s/mt-declarations", s1_path);
		decl = create(path, body);
	}
	enrol = new_enrolment();
	withdraw(enrol); /* rows below create fresh ones; this one stays readable */
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}

/* ---- the matrix ---- */

enum row_kind {
	R_PLAIN, R_TOKEN_REVOKE, R_STRUCT_CLOSE, R_STRUCT_PATCH, R_MEMBER_ADD, R_MEMBER_PATCH, R_PATIENT_ADD,
	R_MT_ADD, R_ENROL, R_PHASE, R_WITHDRAW, R_PSET
};

struct row {
	int kind;
	const char *method;
	const char *path;       /* %s = /v1/structures/S1 where present */
	const char *body;
	int expect[NROLES];
};

#define READ_S1 { 401, 200, 200, 200, 200, 404, 200, 200, 404 }
#define WRITE_S1(ok) { 401, ok, 403, ok, 403, 404, ok, 403, 404 }
#define ANY_TOKEN { 401, 200, 200, 200, 200, 200, 200, 200, 200 }

static const struct row rows[] = {
	{ R_PLAIN, "GET", "/v1/regions", NULL, ANY_TOKEN },
	{ R_PLAIN, "GET", "/v1/regions/84", NULL, ANY_TOKEN },
	{ R_PLAIN, "POST", "/v1/tokens", "{\"name\":\"m\",\"scope\":\"structure:%ld\"}",
	  { 401, 201, 403, 201, 403, 422, 403, 403, 403 } },
	{ R_PLAIN, "GET", "/v1/tokens", NULL, { 401, 200, 200, 200, 200, 200, 403, 403, 403 } },
	{ R_TOKEN_REVOKE, "DELETE", "/v1/tokens/%ld", NULL, { 401, 200, 403, 200, 403, 404, 403, 403, 403 } },
	{ R_PLAIN, "POST", "/v1/structures",
	  "{\"kind\":\"MSP\",\"name\":\"MSP Nouvelle\",\"region\":\"84\",\"commune\":\"69123\",\"legal_form\":\"SISA\"}",
	  { 401, 201, 403, 201, 403, 403, 403, 403, 403 } },
	{ R_PLAIN, "GET", "/v1/structures", NULL, ANY_TOKEN },
	{ R_PLAIN, "GET", "%s", NULL, READ_S1 },
	{ R_STRUCT_PATCH, "PATCH", "%s", "{\"name\":\"Clinique du Parc (renamed)\"}", WRITE_S1(200) },
	{ R_STRUCT_CLOSE, "POST", "/v1/structures/%ld/close", "{\"closed_on\":\"2025-12-31\"}",
	  { 401, 200, 403, 200, 403, 404, 403, 403, 403 } },
	{ R_MEMBER_ADD, "POST", "%s/members", NULL, WRITE_S1(201) },
	{ R_PLAIN, "GET", "%s/members", NULL, READ_S1 },
	{ R_MEMBER_PATCH, "PATCH", "%s/members/%ld", "{\"fte\":0.8}", WRITE_S1(200) },
	{ R_PLAIN, "GET", "/v1/professionals/%s", NULL, READ_S1 },
	{ R_PATIENT_ADD, "POST", "%s/patients", NULL, WRITE_S1(201) },
	{ R_PLAIN, "GET", "%s/patients", NULL, READ_S1 },
	{ R_PLAIN, "POST", "%s/patients/lookup", "{\"nir\":\"%s\"}", READ_S1 },
	{ R_PLAIN, "GET", "%s/patients/%ld", NULL, READ_S1 },
	{ R_MT_ADD, "POST", "%s/mt-declarations", NULL, WRITE_S1(201) },
	{ R_PLAIN, "GET", "%s/mt-declarations", NULL, READ_S1 },
	{ R_PLAIN, "GET", "%s/mt-declarations/%ld", NULL, READ_S1 },
	{ R_PLAIN, "GET", "%s/eligibility?experiment=EDS&option=PTH&on=2024-02-01", NULL, READ_S1 },
	{ R_ENROL, "POST", "%s/enrolments", "{\"experiment\":\"EDS\",\"option\":\"PTG\",\"start_on\":\"2024-03-01\"}",
	  WRITE_S1(201) },
	{ R_PLAIN, "GET", "%s/enrolments", NULL, READ_S1 },
	{ R_PLAIN, "GET", "%s/enrolments/%ld", NULL, READ_S1 },
	{ R_PHASE, "POST", "%s/enrolments/%ld/phases", "{\"phase\":\"retrospective\",\"start_on\":\"2024-06-01\"}",
	  { 401, 200, 403, 200, 403, 404, 403, 403, 403 } },
	{ R_WITHDRAW, "POST", "%s/enrolments/%ld/withdrawal", "{\"on\":\"2024-04-01\",\"reason\":\"test\"}",
	  WRITE_S1(200) },
	{ R_PLAIN, "GET", "/v1/parameter-sets", NULL, ANY_TOKEN },
	{ R_PLAIN, "GET", "/v1/parameter-sets/1", NULL, ANY_TOKEN },
	{ R_PSET, "POST", "/v1/parameter-sets", NULL, { 401, 201, 403, 403, 403, 403, 403, 403, 403 } },
	{ R_PLAIN, "GET", "/v1/audit", NULL, { 401, 200, 200, 200, 200, 200, 403, 403, 403 } },
	/* jobs and models that exist are in test_riskmodels.c; here, the guard's part */
	{ R_PLAIN, "GET", "/v1/jobs", NULL, ANY_TOKEN },
	{ R_PLAIN, "GET", "/v1/jobs/999999", NULL, { 401, 404, 404, 404, 404, 404, 404, 404, 404 } },
	{ R_PLAIN, "DELETE", "/v1/jobs/999999", NULL, { 401, 404, 403, 404, 403, 404, 404, 403, 404 } },
	{ R_PLAIN, "GET", "/v1/risk-models", NULL, ANY_TOKEN },
	{ R_PLAIN, "GET", "/v1/risk-models/999999", NULL, { 401, 404, 404, 404, 404, 404, 404, 404, 404 } },
	{ R_PLAIN, "POST", "/v1/risk-models", "{\"name\":\"m\"}", { 401, 422, 403, 422, 403, 422, 403, 403, 403 } },
	{ R_PLAIN, "POST", "/v1/risk-models/999999/scores", "{\"profiles\":[{\"sex\":1,\"age\":40}]}",
	  { 401, 404, 404, 404, 404, 404, 404, 404, 404 } },
	{ R_PLAIN, "GET", "/v1/risk-models/999999/scores?reference=true", NULL,
	  { 401, 404, 404, 404, 404, 404, 404, 404, 404 } },
	{ R_PLAIN, "GET", "/v1/risk-models/999999/scores/1?reference=true", NULL,
	  { 401, 404, 404, 404, 404, 404, 404, 404, 404 } },
	{ R_PLAIN, "POST", "/v1/risk-models/999999/score-runs", "{\"reference\":true}",
	  { 401, 404, 403, 422, 403, 422, 422, 403, 422 } },
};

static char *pset_body(void)
{
	int st;
	json_t *j = h_api_json(srv.port, "GET", "/v1/parameter-sets/1", tok[NAT], NULL, &st), *body;
	char *text;

	ck_assert_int_eq(st, 200);
	body = json_incref(json_object_get(j, "body"));
	json_decref(j);
	json_object_set_new(body, "label", json_sprintf("variant %ld", counter++));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}

static const char *current_etag(const char *path, char out[32])
{
	struct h_resp r;

	ck_assert_int_eq(h_api(srv.port, "GET", path, tok[NAT], NULL, NULL, &r), 0);
	ck_assert_ptr_nonnull(h_header(&r, "ETag", out, 32));
	h_resp_free(&r);
	return out;
}

START_TEST(authorization_matrix)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		for (int role = 0; role < NROLES; role++) {
			char path[256], body[1024] = "", headers[128] = "", rpps[12], nir[16], etag[32];
			const char *b = w->body;
			char *pset = NULL; /* a parameter set's body outgrows any fixed buffer */
			long fresh = 0;
			struct h_resp r;

			switch (w->kind) {
			case R_TOKEN_REVOKE:
				fresh = new_token("ars:84");
				snprintf(path, sizeof(path), w->path, fresh);
				break;
			case R_STRUCT_CLOSE:
				fresh = new_structure("MSP", "84", "69123");
				snprintf(path, sizeof(path), w->path, fresh);
				break;
			case R_STRUCT_PATCH:
				snprintf(path, sizeof(path), w->path, s1_path);
				snprintf(headers, sizeof(headers), "If-Match: %s\r\n", current_etag(path, etag));
				break;
			case R_MEMBER_PATCH:
				snprintf(path, sizeof(path), w->path, s1_path, member);
				{
					char list[96];
					/* the membership's ETag: read it from the list */
					int st;
					json_t *j;
					snprintf(list, sizeof(list), "%s/members", s1_path);
					j = h_api_json(srv.port, "GET", list, tok[NAT], NULL, &st);
					snprintf(headers, sizeof(headers), "If-Match: \"%lld\"\r\n",
						 (long long)json_integer_value(json_object_get(
							 json_array_get(json_object_get(j, "items"), 0), "version")));
					json_decref(j);
				}
				break;
			case R_MEMBER_ADD:
				snprintf(path, sizeof(path), w->path, s1_path);
				h_rpps(30000000 + counter++, rpps);
				snprintf(body, sizeof(body),
					 "{\"rpps\":\"%s\",\"profession\":\"IDE\",\"last_name\":\"N\",\"first_name\":\"P\","
					 "\"start_on\":\"2023-01-01\"}", rpps);
				b = body;
				break;
			case R_PATIENT_ADD:
				snprintf(path, sizeof(path), w->path, s1_path);
				h_nir(1, 70, 5, "69", 381, (int)(counter++ % 1000), nir);
				snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"1970-05\"}", nir);
				b = body;
				break;
			case R_MT_ADD:
				snprintf(path, sizeof(path), w->path, s1_path);
				{
					long day = counter++;
					snprintf(body, sizeof(body),
						 "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"2023-%02ld-%02ld\"}",
						 patient, member_rpps, 1 + (day / 28) % 12, 1 + day % 28);
				}
				b = body;
				break;
			case R_PHASE:
			case R_WITHDRAW:
				fresh = new_enrolment();
				snprintf(path, sizeof(path), w->path, s1_path, fresh);
				break;
			case R_PSET:
				snprintf(path, sizeof(path), "%s", w->path);
				b = pset = pset_body();
				break;
			default:
				if (strstr(w->path, "%s/patients/lookup")) {
					snprintf(path, sizeof(path), w->path, s1_path);
					snprintf(body, sizeof(body), w->body, patient_nir);
					b = body;
				} else if (strstr(w->path, "/v1/professionals/")) {
					snprintf(path, sizeof(path), w->path, member_rpps);
				} else if (strstr(w->path, "/v1/tokens") && w->body) {
					snprintf(path, sizeof(path), "%s", w->path);
					snprintf(body, sizeof(body), w->body, s1);
					b = body;
				} else if (strstr(w->path, "%s/patients/%ld")) {
					snprintf(path, sizeof(path), w->path, s1_path, patient);
				} else if (strstr(w->path, "%s/mt-declarations/%ld")) {
					snprintf(path, sizeof(path), w->path, s1_path, decl);
				} else if (strstr(w->path, "%s/enrolments/%ld")) {
					snprintf(path, sizeof(path), w->path, s1_path, enrol);
				} else {
					snprintf(path, sizeof(path), w->path, s1_path);
				}
			}
			ck_assert_int_eq(h_api(srv.port, w->method, path, role == NONE ? NULL : tok[role], b,
					       headers[0] ? headers : NULL, &r), 0);
			ck_assert_msg(r.status == w->expect[role], "%s %s as %s: %d, expected %d (%s)", w->method, path,
				      role_names[role], r.status, w->expect[role], r.body);
			free(pset);
			if (r.status == 401)
				ck_assert_ptr_nonnull(strstr(r.head, "WWW-Authenticate: Bearer"));
			/* keep the fixture reusable: a new live enrolment is withdrawn again */
			if (w->kind == R_ENROL && r.status == 201) {
				json_t *j = h_json(&r);
				withdraw((long)json_integer_value(json_object_get(j, "id")));
				json_decref(j);
			}
			if ((w->kind == R_PHASE || w->kind == R_WITHDRAW) && r.status != 200 && fresh)
				withdraw(fresh);
			if (w->kind == R_PHASE && r.status == 200)
				withdraw(fresh);
			h_resp_free(&r);
		}
	}
}
END_TEST

START_TEST(lists_are_scoped)
{
	static const struct { int role; int min, max; } want[] = {
		{ NAT, 2, 1000 }, { ARS_OTHER, 1, 1000 }, { S1, 1, 1 }, { S2, 1, 1 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int st;
		json_t *j = h_api_json(srv.port, "GET", "/v1/structures?limit=500", tok[want[i].role], NULL, &st), *it;
		size_t k, n = json_array_size(json_object_get(j, "items"));

		ck_assert_int_eq(st, 200);
		ck_assert_msg(n >= (size_t)want[i].min && n <= (size_t)want[i].max, "%s sees %zu structures",
			      role_names[want[i].role], n);
		json_array_foreach(json_object_get(j, "items"), k, it) {
			const char *region = json_string_value(json_object_get(it, "region"));
			long id = (long)json_integer_value(json_object_get(it, "id"));
			if (want[i].role == ARS_OTHER)
				ck_assert_str_eq(region, "11");
			if (want[i].role == S1)
				ck_assert_int_eq(id, s1);
			if (want[i].role == S2)
				ck_assert_int_eq(id, s2);
		}
		json_decref(j);
	}
}
END_TEST

START_TEST(revocation_is_immediate_despite_the_cache)
{
	char body[128], token[64];
	int st;
	long id;
	json_t *j;
	struct h_resp r;
	uint64_t t0;

	snprintf(body, sizeof(body), "{\"name\":\"victim\",\"scope\":\"structure:%ld\"}", s1);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[ARS], body, &st);
	ck_assert_int_eq(st, 201);
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(j, "token")));
	id = (long)json_integer_value(json_object_get(j, "id"));
	ck_assert(strncmp(token, "a51_", 4) == 0 && strlen(token) == 47);
	json_decref(j);
	/* never shown again */
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/tokens", tok[NAT], NULL, NULL, &r), 0);
	ck_assert_ptr_null(strstr(r.body, token));
	ck_assert_ptr_nonnull(strstr(r.body, "\"prefix\":\"a51_"));
	h_resp_free(&r);
	for (int i = 0; i < 3; i++) { /* now cached */
		ck_assert_int_eq(h_api(srv.port, "GET", s1_path, token, NULL, NULL, &r), 0);
		ck_assert_int_eq(r.status, 200);
		h_resp_free(&r);
	}
	snprintf(body, sizeof(body), "/v1/tokens/%ld", id);
	j = h_api_json(srv.port, "DELETE", body, tok[NAT], NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "revoked_at")));
	json_decref(j);
	t0 = h_now_ms();
	do {
		ck_assert_int_eq(h_api(srv.port, "GET", s1_path, token, NULL, NULL, &r), 0);
		st = r.status;
		h_resp_free(&r);
	} while (st != 401 && h_now_ms() - t0 < 1000);
	ck_assert_msg(st == 401, "a revoked token still works after 1 s");
}
END_TEST

START_TEST(expired_and_malformed_tokens)
{
	char token[64], sql[256];
	PGconn *pg = h_db_connect(&db);
	struct h_resp r;

	h_token_cli(db.url, "short-lived", "national", true, token);
	snprintf(sql, sizeof(sql), "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE prefix = '%.12s'",
		 token);
	h_sql1(pg, sql);
	PQfinish(pg);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert(strstr(r.head, "error=\"invalid_token\""));
	h_resp_free(&r);
	ck_assert_int_eq(h_get(srv.port, "/v1/regions", "Authorization: Basic YTpi\r\n", &r), 0);
	ck_assert_int_eq(r.status, 401);
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", "a51_short", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	h_resp_free(&r);
	/* well-formed but unknown */
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", "a51_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
			       NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	h_resp_free(&r);
}
END_TEST

START_TEST(grants_follow_the_region)
{
	char body[160];
	int st;
	json_t *j;

	/* an ARS grants its own region and its structures, nothing else */
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[ARS], "{\"name\":\"x\",\"scope\":\"ars:11\"}", &st);
	ck_assert_int_eq(st, 403);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[ARS], "{\"name\":\"x\",\"scope\":\"national\"}", &st);
	ck_assert_int_eq(st, 403);
	json_decref(j);
	snprintf(body, sizeof(body), "{\"name\":\"x\",\"scope\":\"structure:%ld\"}", s2);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[ARS], body, &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[NAT], "{\"name\":\"x\",\"scope\":\"ars:99\"}", &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[NAT], "{\"name\":\"x\",\"scope\":\"galaxy\"}", &st);
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field")),
			 "scope");
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/tokens", tok[NAT],
		       "{\"name\":\"x\",\"scope\":\"national\",\"expires_on\":\"2001-01-01\"}", &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	/* what an ARS lists: its region's tokens only */
	j = h_api_json(srv.port, "GET", "/v1/tokens", tok[ARS_OTHER], NULL, &st);
	{
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(j, "items"), i, t) {
			const char *scope = json_string_value(json_object_get(t, "scope"));
			char mine[32];
			snprintf(mine, sizeof(mine), "structure:%ld", s2);
			ck_assert_msg(strcmp(scope, "ars:11") == 0 || strcmp(scope, mine) == 0, "ARS 11 sees %s", scope);
		}
	}
	json_decref(j);
}
END_TEST

START_TEST(audit_trail)
{
	char path[160], rid[32] = "audit-probe-1";
	struct h_resp r;
	int st;
	long sid;
	json_t *j, *row;

	ck_assert_int_eq(h_api(srv.port, "POST", "/v1/structures", tok[ARS],
			       "{\"kind\":\"CDS\",\"name\":\"CDS Audit\",\"region\":\"84\",\"commune\":\"69123\","
			       "\"legal_form\":\"ASSOCIATION\"}",
			       "X-Request-Id: audit-probe-1\r\n", &r), 0);
	ck_assert_int_eq(r.status, 201);
	j = h_json(&r);
	sid = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	h_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/audit?resource_type=structure&resource_id=%ld", sid);
	j = h_api_json(srv.port, "GET", path, tok[ARS], NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 1);
	row = json_array_get(json_object_get(j, "items"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(row, "action")), "create");
	ck_assert_str_eq(json_string_value(json_object_get(row, "scope")), "ars:84");
	ck_assert_str_eq(json_string_value(json_object_get(row, "request_id")), rid);
	ck_assert(json_integer_value(json_object_get(row, "token_id")) > 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "after"), "name")), "CDS Audit");
	json_decref(j);
	/* another region's ARS does not see it */
	j = h_api_json(srv.port, "GET", path, tok[ARS_OTHER], NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	/* pages: newest first, `next` continues */
	j = h_api_json(srv.port, "GET", "/v1/audit?limit=2", tok[NAT], NULL, &st);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 2);
	{
		long first = (long)json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id"));
		long second = (long)json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 1), "id"));
		json_t *j2;
		ck_assert_int_gt(first, second);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "next")));
		j2 = h_api_json(srv.port, "GET", json_string_value(json_object_get(j, "next")), tok[NAT], NULL, &st);
		ck_assert_int_eq(st, 200);
		ck_assert_int_lt(json_integer_value(json_object_get(json_array_get(json_object_get(j2, "items"), 0), "id")),
				 second);
		json_decref(j2);
	}
	json_decref(j);
	/* patients leave no identity in the trail */
	j = h_api_json(srv.port, "GET", "/v1/audit?resource_type=patient", tok[NAT], NULL, &st);
	ck_assert_uint_gt(json_array_size(json_object_get(j, "items")), 0);
	{
		char *text = json_dumps(j, 0);
		ck_assert_ptr_null(strstr(text, "birth"));
		ck_assert_ptr_null(strstr(text, "pseudonym"));
		ck_assert_ptr_null(strstr(text, patient_nir));
		free(text);
	}
	json_decref(j);
	j = h_api_json(srv.port, "GET", "/v1/audit?since=yesterday", tok[NAT], NULL, &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
}
END_TEST

START_TEST(concurrent_updates_one_wins)
{
	char etag[32];
	pid_t kids[2];
	int wins = 0, losses = 0;

	current_etag(s1_path, etag);
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char headers[64], body[96];
			struct h_resp r;
			snprintf(headers, sizeof(headers), "If-Match: %s\r\n", etag);
			snprintf(body, sizeof(body), "{\"name\":\"Racing %d\"}", i);
			if (h_api(srv.port, "PATCH", s1_path, tok[NAT], body, headers, &r) != 0)
				_exit(2);
			_exit(r.status == 200 ? 0 : r.status == 412 ? 1 : 3);
		}
	}
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		ck_assert(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			wins++;
		else if (WEXITSTATUS(st) == 1)
			losses++;
	}
	ck_assert_int_eq(wins, 1);
	ck_assert_int_eq(losses, 1);
	{
		struct h_resp r;
		ck_assert_int_eq(h_api(srv.port, "PATCH", s1_path, tok[NAT], "{\"name\":\"x\"}", NULL, &r), 0);
		ck_assert_int_eq(r.status, 428);
		h_resp_free(&r);
		ck_assert_int_eq(h_api(srv.port, "PATCH", s1_path, tok[NAT], "{\"name\":\"x\"}", "If-Match: *\r\n", &r),
				 0);
		ck_assert_int_eq(r.status, 412);
		h_resp_free(&r);
	}
}
END_TEST

START_TEST(cli_token_list_and_revoke)
{
	char token[64], env_url[600], out[8192], id[16] = "";
	const char *env[] = { env_url, NULL };
	const char *list[] = { "token", "list", NULL };
	struct h_resp r;
	char *line;

	snprintf(env_url, sizeof(env_url), "A51_DATABASE_URL=%s", db.url);
	h_token_cli(db.url, "operator-probe", "ars:84", true, token);
	ck_assert_int_eq(h_run_a51d(list, env, out, sizeof(out)), 0);
	line = strstr(out, "operator-probe");
	ck_assert_msg(line != NULL, "%s", out);
	ck_assert_ptr_null(strstr(out, token)); /* listed by prefix, never in full */
	while (line > out && line[-1] != '\n')
		line--;
	sscanf(line, "%15s", id);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", token, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	{
		const char *revoke[] = { "token", "revoke", id, NULL };
		ck_assert_int_eq(h_run_a51d(revoke, env, out, sizeof(out)), 0);
	}
	{
		uint64_t t0 = h_now_ms();
		int st;
		do {
			ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions", token, NULL, NULL, &r), 0);
			st = r.status;
			h_resp_free(&r);
		} while (st != 401 && h_now_ms() - t0 < 1000);
		ck_assert_int_eq(st, 401);
	}
	{
		const char *bad[] = { "token", "create", "--name", "x", "--scope", "ars:8", NULL };
		ck_assert_int_eq(h_run_a51d(bad, env, out, sizeof(out)), 2);
		ck_assert(strstr(out, "scope must be"));
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("access");
	TCase *t = tcase_create("access");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, authorization_matrix);
	tcase_add_test(t, lists_are_scoped);
	tcase_add_test(t, revocation_is_immediate_despite_the_cache);
	tcase_add_test(t, expired_and_malformed_tokens);
	tcase_add_test(t, grants_follow_the_region);
	tcase_add_test(t, audit_trail);
	tcase_add_test(t, concurrent_updates_one_wins);
	tcase_add_test(t, cli_token_list_and_revoke);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
