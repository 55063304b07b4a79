/* Structures, professionals, patients and médecin-traitant declarations,
 * parameter sets, eligibility and enrolment — through the API on a real
 * database — and, at the end, no clear NIR anywhere in the dump or the logs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check_main.h"
#include "harness.h"

static struct h_db db;
static struct h_srv srv;
static char nat[64];
static long counter = 500;

/* Every NIR sent to a51d is appended to a file (tests run in child processes),
 * to search the dump and the logs for them at the end. */
static char nir_file[600];

static void remember_nir(const char *nir)
{
	FILE *f = fopen(nir_file, "a");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "%.13s\n", nir); /* the 13 digits before the key suffice */
	fclose(f);
}

static json_t *call(const char *method, const char *path, const char *body, int want)
{
	int st;
	json_t *j = h_api_json(srv.port, method, path, nat, body, &st);

	ck_assert_msg(st == want, "%s %s: %d, expected %d: %s", method, path, st, want,
		      j ? json_dumps(j, JSON_COMPACT) : "(not JSON)");
	return j;
}

static long id_of(json_t *j)
{
	long id = (long)json_integer_value(json_object_get(j, "id"));

	json_decref(j);
	return id;
}

/* The field of the first error of a problem. */
static const char *first_field(const json_t *j)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field"));
}

static bool has_error_on(const json_t *j, const char *field)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(j, "errors"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0)
			return true;
	return false;
}

static long structure(const char *kind, const char *legal_form)
{
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"kind\":\"%s\",\"name\":\"Team %ld\",\"region\":\"84\",\"commune\":\"38185\",\"legal_form\":\"%s\"}",
		 kind, counter++, legal_form);
	return id_of(call("POST", "/v1/structures", body, 201));
}

static void member(long sid, const char *profession, long n, const char *start, const char *end, char rpps[12])
{
	char path[64], body[256];

	h_rpps(n, rpps);
	snprintf(path, sizeof(path), "/v1/structures/%ld/members", sid);
	snprintf(body, sizeof(body),
		 "{\"rpps\":\"%s\",\"profession\":\"%s\",\"last_name\":\"L%ld\",\"first_name\":\"F\","
		 "\"start_on\":\"%s\"%s%s%s}",
		 rpps, profession, n, start, end ? ",\"end_on\":\"" : "", end ? end : "", end ? "\"" : "");
	json_decref(call("POST", path, body, 201));
}

/* A patient of the structure with its médecin traitant. extra is appended to the body. */
static long patient(long sid, int sex, int year, int month, const char *gp, const char *mt_start, const char *extra)
{
	char path[64], body[512], nir[16];
	long pid;

	h_nir(sex, year % 100, month, "38", 185, (int)(counter++ % 1000), nir);
	remember_nir(nir);
	snprintf(path, sizeof(path), "/v1/structures/%ld/patients", sid);
	snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"%04d-%02d\"%s}", nir, year, month, extra ? extra : "");
	pid = id_of(call("POST", path, body, 201));
	if (gp) {
		snprintf(path, sizeof(path), "/v1/structures/%ld/mt-declarations", sid);
		snprintf(body, sizeof(body), "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"%s\"}", pid, gp,
			 mt_start);
		json_decref(call("POST", path, body, 201));
	}
	return pid;
}

static void up(void)
{
	h_db_create(&db, "ref");
	h_srv_start(&srv, db.url, NULL);
	h_token_cli(db.url, "national", "national", false, nat);
	snprintf(nir_file, sizeof(nir_file), "%s.nirs", srv.log);
	unlink(nir_file);
}

/* After every test: the NIRs used must be nowhere, neither in the database nor in the logs. */
static void down(void)
{
	char dump[600], needles[1024][16];
	const char *list[1024];
	size_t n = 0;
	FILE *f;

	snprintf(dump, sizeof(dump), "%s.dump.sql", srv.log);
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_pg_dump(&db, dump);
	f = fopen(nir_file, "r");
	ck_assert_ptr_nonnull(f);
	while (n < 1024 && fgets(needles[n], sizeof(needles[n]), f)) {
		needles[n][strcspn(needles[n], "\n")] = '\0';
		list[n] = needles[n];
		n++;
	}
	fclose(f);
	ck_assert_uint_gt(n, 10);
	h_assert_file_lacks(dump, list, n);
	h_assert_file_lacks(srv.log, list, n);
	h_db_drop(&db);
}

START_TEST(structure_identifiers_checked)
{
	json_t *j;
	int st;

	j = h_api_json(srv.port, "POST", "/v1/structures", nat,
		       "{\"kind\":\"MSP\",\"name\":\"x\",\"region\":\"84\",\"commune\":\"38185\",\"legal_form\":\"SISA\","
		       "\"siret\":\"73282932000079\",\"siren\":\"12345\",\"finess\":\"38X123456\"}",
		       &st);
	ck_assert_int_eq(st, 422);
	ck_assert(has_error_on(j, "siret"));
	ck_assert(has_error_on(j, "siren"));
	ck_assert(has_error_on(j, "finess"));
	json_decref(j);
	/* every fault at once, including unknown and missing fields */
	j = h_api_json(srv.port, "POST", "/v1/structures", nat, "{\"kind\":\"HOSPITAL\",\"colour\":\"red\"}", &st);
	ck_assert_int_eq(st, 422);
	ck_assert(has_error_on(j, "kind") && has_error_on(j, "colour") && has_error_on(j, "name") &&
		  has_error_on(j, "region") && has_error_on(j, "commune") && has_error_on(j, "legal_form"));
	json_decref(j);
	/* a commune outside the region */
	j = h_api_json(srv.port, "POST", "/v1/structures", nat,
		       "{\"kind\":\"MSP\",\"name\":\"x\",\"region\":\"84\",\"commune\":\"75101\",\"legal_form\":\"SISA\"}",
		       &st);
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(first_field(j), "commune");
	json_decref(j);
	/* the La Poste SIRET rule, a SIREN derived from the SIRET, Corsica */
	j = call("POST", "/v1/structures",
		 "{\"kind\":\"CDS\",\"name\":\"CDS Ajaccio\",\"region\":\"94\",\"commune\":\"2A004\","
		 "\"legal_form\":\"ASSOCIATION\",\"siret\":\"73282932000074\"}",
		 201);
	ck_assert_str_eq(json_string_value(json_object_get(j, "siren")), "732829320");
	json_decref(j);
	/* a FINESS whose check digit fails is kept, with a warning (the rule is unconfirmed) */
	j = call("POST", "/v1/structures",
		 "{\"kind\":\"ES\",\"name\":\"CH\",\"region\":\"84\",\"commune\":\"69123\",\"legal_form\":\"EPS\","
		 "\"finess\":\"690781811\"}",
		 201);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "warnings"), 0), "field")),
			 "finess");
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/structures", nat,
		       "{\"kind\":\"ES\",\"name\":\"CH bis\",\"region\":\"84\",\"commune\":\"69123\",\"legal_form\":\"EPS\","
		       "\"finess\":\"690781811\"}",
		       &st);
	ck_assert_int_eq(st, 409); /* FINESS is unique */
	json_decref(j);
	/* bad JSON names line and column */
	j = h_api_json(srv.port, "POST", "/v1/structures", nat, "{\"kind\":\n \"MSP\",,}", &st);
	ck_assert_int_eq(st, 400);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "line")), 2);
	json_decref(j);
}
END_TEST

START_TEST(structure_update_and_close)
{
	long sid = structure("MSP", "SISA");
	char path[64], hdr[64];
	struct h_resp r;
	json_t *j;
	int st;

	snprintf(path, sizeof(path), "/v1/structures/%ld", sid);
	snprintf(hdr, sizeof(hdr), "If-Match: \"1\"\r\n");
	ck_assert_int_eq(h_api(srv.port, "PATCH", path, nat, "{\"name\":\"Renamed\",\"siret\":null,\"region\":\"11\"}",
			       hdr, &r), 0);
	ck_assert_int_eq(r.status, 422); /* region cannot change */
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "PATCH", path, nat, "{\"name\":\"Renamed\",\"opened_on\":\"2019-09-01\"}", hdr,
			       &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert(strstr(r.head, "ETag: \"2\""));
	h_resp_free(&r);
	j = call("GET", path, NULL, 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "Renamed");
	ck_assert_str_eq(json_string_value(json_object_get(j, "opened_on")), "2019-09-01");
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/structures/%ld/close", sid);
	j = h_api_json(srv.port, "POST", path, nat, "{\"closed_on\":\"2019-01-01\"}", &st);
	ck_assert_int_eq(st, 422); /* before the opening */
	json_decref(j);
	j = call("POST", path, "{\"closed_on\":\"2024-12-31\"}", 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "closed_on")), "2024-12-31");
	json_decref(j);
	j = h_api_json(srv.port, "POST", path, nat, "{\"closed_on\":\"2025-01-31\"}", &st);
	ck_assert_int_eq(st, 409);
	json_decref(j);
	/* filters */
	j = call("GET", "/v1/structures?region=84&kind=MSP&limit=1", NULL, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 1);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "next")));
	ck_assert(strstr(json_string_value(json_object_get(j, "next")), "region=84&kind=MSP&limit=1&cursor="));
	json_decref(j);
	j = h_api_json(srv.port, "GET", "/v1/structures?kind=HOSPITAL&limit=0", nat, NULL, &st);
	ck_assert_int_eq(st, 422);
	ck_assert(has_error_on(j, "kind") && has_error_on(j, "limit"));
	json_decref(j);
}
END_TEST

START_TEST(members_and_professionals)
{
	long sid = structure("MSP", "SISA"), other = structure("CDS", "ASSOCIATION");
	char rpps[12], path[96], hdr[64], bad[12];
	struct h_resp r;
	json_t *j;
	int st;

	member(sid, "MG", 41000001, "2022-01-01", NULL, rpps);
	snprintf(path, sizeof(path), "/v1/structures/%ld/members", sid);
	/* overlapping period in the same structure */
	{
		char body[256];
		snprintf(body, sizeof(body), "{\"rpps\":\"%s\",\"profession\":\"MG\",\"last_name\":\"A\",\"first_name\":\"B\","
					     "\"start_on\":\"2023-01-01\"}", rpps);
		j = h_api_json(srv.port, "POST", path, nat, body, &st);
		ck_assert_int_eq(st, 409);
		json_decref(j);
	}
	/* the same professional in a second structure */
	{
		char body[256], path2[96];
		snprintf(path2, sizeof(path2), "/v1/structures/%ld/members", other);
		snprintf(body, sizeof(body), "{\"rpps\":\"%s\",\"profession\":\"MG\",\"last_name\":\"L41000001\","
					     "\"first_name\":\"F\",\"start_on\":\"2023-01-01\",\"fte\":0.4}", rpps);
		json_decref(call("POST", path2, body, 201));
	}
	snprintf(path, sizeof(path), "/v1/professionals/%s", rpps);
	j = call("GET", path, NULL, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "memberships")), 2);
	json_decref(j);
	snprintf(bad, sizeof(bad), "%.10s%c", rpps, rpps[10] == '9' ? '0' : rpps[10] + 1);
	snprintf(path, sizeof(path), "/v1/professionals/%s", bad);
	j = h_api_json(srv.port, "GET", path, nat, NULL, &st);
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(first_field(j), "rpps");
	json_decref(j);
	/* ending a membership: If-Match, end before start refused */
	snprintf(path, sizeof(path), "/v1/structures/%ld/members?on=2022-06-01", sid);
	j = call("GET", path, NULL, 200);
	{
		long mid = (long)json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id"));
		json_decref(j);
		snprintf(path, sizeof(path), "/v1/structures/%ld/members/%ld", sid, mid);
	}
	snprintf(hdr, sizeof(hdr), "If-Match: \"1\"\r\n");
	ck_assert_int_eq(h_api(srv.port, "PATCH", path, nat, "{\"end_on\":\"2021-01-01\"}", hdr, &r), 0);
	ck_assert_int_eq(r.status, 422);
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "PATCH", path, nat, "{\"end_on\":\"2023-06-30\"}", hdr, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "PATCH", path, nat, "{\"end_on\":\"2023-07-31\"}", hdr, &r), 0);
	ck_assert_int_eq(r.status, 412);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/structures/%ld/members?on=2024-01-01", sid);
	j = call("GET", path, NULL, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
}
END_TEST

START_TEST(patients_are_pseudonymised)
{
	long sid = structure("MSP", "SISA"), other = structure("MSP", "SISA");
	char path[96], body[512], nir[16], spaced[32], bad[16];
	struct h_resp r;
	long pid, pid2;
	json_t *j;
	int st;

	h_nir(2, 75, 12, "2B", 33, 18, nir);
	remember_nir(nir);
	snprintf(path, sizeof(path), "/v1/structures/%ld/patients", sid);
	snprintf(body, sizeof(body),
		 "{\"nir\":\"%s\",\"birth\":\"1975-12\",\"commune\":\"2B033\",\"c2s\":true,"
		 "\"ald\":[{\"code\":8,\"start_on\":\"2019-05-01\"},{\"code\":15,\"start_on\":\"2021-01-01\","
		 "\"end_on\":\"2022-01-01\"}]}", nir);
	ck_assert_int_eq(h_api(srv.port, "POST", path, nat, body, NULL, &r), 0);
	ck_assert_int_eq(r.status, 201);
	ck_assert_ptr_null(strstr(r.body, nir));
	ck_assert_ptr_null(strstr(r.head, nir));
	j = h_json(&r);
	h_resp_free(&r);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "pseudonym"))), 64);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "sex")), 2); /* from the NIR */
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ald")), 2);
	pid = id_of(j);

	/* the same person sent again (with spaces, as printed on the card) is the same record */
	snprintf(spaced, sizeof(spaced), "%.1s %.2s %.2s %.2s %.3s %.3s %.2s", nir, nir + 1, nir + 3, nir + 5, nir + 7,
		 nir + 10, nir + 13);
	snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"1975-12\"}", spaced);
	j = call("POST", path, body, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), pid);
	json_decref(j);
	/* another structure declaring the same person links it */
	snprintf(path, sizeof(path), "/v1/structures/%ld/patients", other);
	pid2 = id_of(call("POST", path, body, 200));
	ck_assert_int_eq(pid, pid2);
	/* lookup by NIR, without putting it in a URL */
	snprintf(path, sizeof(path), "/v1/structures/%ld/patients/lookup", other);
	snprintf(body, sizeof(body), "{\"nir\":\"%s\"}", nir);
	ck_assert_int_eq(id_of(call("POST", path, body, 200)), pid);

	/* a wrong key, a birth year that contradicts the NIR: 422, and the reason never quotes it */
	memcpy(bad, nir, 13);
	{
		unsigned key = (unsigned)(atoi(nir + 13) % 97) + 1; /* 1..97: any key but the right one */
		bad[13] = (char)('0' + key / 10);
		bad[14] = (char)('0' + key % 10);
		bad[15] = '\0';
	}
	remember_nir(bad);
	snprintf(path, sizeof(path), "/v1/structures/%ld/patients", sid);
	snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"1975-12\"}", bad);
	ck_assert_int_eq(h_api(srv.port, "POST", path, nat, body, NULL, &r), 0);
	ck_assert_int_eq(r.status, 422);
	ck_assert(strstr(r.body, "\"field\":\"nir\""));
	ck_assert_ptr_null(strstr(r.body, bad));
	ck_assert_ptr_null(strstr(r.body, "1275"));
	h_resp_free(&r);
	snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"1976-12\",\"sex\":1}", nir);
	j = h_api_json(srv.port, "POST", path, nat, body, &st);
	ck_assert_int_eq(st, 422);
	ck_assert(has_error_on(j, "birth") && has_error_on(j, "sex"));
	json_decref(j);
	j = h_api_json(srv.port, "POST", path, nat, "{\"nir\":\"1850578006084\",\"birth\":\"1985\"}", &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	/* ALD codes and dates checked */
	h_nir(1, 80, 1, "38", 185, 999, nir);
	remember_nir(nir);
	snprintf(body, sizeof(body), "{\"nir\":\"%s\",\"birth\":\"1980-01\",\"ald\":[{\"code\":33,\"start_on\":\"x\"}]}",
		 nir);
	j = h_api_json(srv.port, "POST", path, nat, body, &st);
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(first_field(j), "ald[0]");
	json_decref(j);

	/* a structure's token sees its patients only */
	{
		char scope[32], tok[64];
		snprintf(scope, sizeof(scope), "structure:%ld", structure("MSP", "SISA"));
		h_token_cli(db.url, "foreign", scope, true, tok);
		snprintf(path, sizeof(path), "/v1/structures/%ld/patients/%ld", sid, pid);
		ck_assert_int_eq(h_api(srv.port, "GET", path, tok, NULL, NULL, &r), 0);
		ck_assert_int_eq(r.status, 404);
		h_resp_free(&r);
	}
	snprintf(path, sizeof(path), "/v1/structures/%ld/patients?limit=1", sid);
	j = call("GET", path, NULL, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 1);
	json_decref(j);
}
END_TEST

START_TEST(mt_declarations_follow_each_other)
{
	long sid = structure("MSP", "SISA");
	char gp1[12], gp2[12], path[96], body[256];
	long pid;
	json_t *j;
	int st;

	member(sid, "MG", 42000001, "2020-01-01", NULL, gp1);
	member(sid, "MG", 42000002, "2020-01-01", NULL, gp2);
	pid = patient(sid, 1, 1950, 6, gp1, "2021-01-01", NULL);
	snprintf(path, sizeof(path), "/v1/structures/%ld/mt-declarations", sid);
	/* a change of GP ends the previous declaration the day before */
	snprintf(body, sizeof(body), "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"2023-07-15\"}", pid, gp2);
	json_decref(call("POST", path, body, 201));
	snprintf(path, sizeof(path), "/v1/structures/%ld/mt-declarations?patient_id=%ld", sid, pid);
	j = call("GET", path, NULL, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "end_on")),
			 "2023-07-14");
	json_decref(j);
	/* a declaration inside an existing one's period conflicts */
	snprintf(path, sizeof(path), "/v1/structures/%ld/mt-declarations", sid);
	snprintf(body, sizeof(body),
		 "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"2022-01-01\",\"end_on\":\"2022-02-01\"}", pid, gp2);
	j = h_api_json(srv.port, "POST", path, nat, body, &st);
	ck_assert_int_eq(st, 409);
	json_decref(j);
	/* a patient of another structure cannot be declared here */
	{
		long other = structure("MSP", "SISA");
		long foreign = patient(other, 2, 1960, 2, NULL, NULL, NULL);
		snprintf(body, sizeof(body), "{\"patient_id\":%ld,\"gp_rpps\":\"%s\",\"start_on\":\"2024-01-01\"}",
			 foreign, gp1);
		j = h_api_json(srv.port, "POST", path, nat, body, &st);
		ck_assert_int_eq(st, 422);
		ck_assert_str_eq(first_field(j), "patient_id");
		json_decref(j);
	}
}
END_TEST

/* A PEPS parameter set for tests: the 2024 seed with a patientèle minimum of 3. */
static void low_threshold_peps(void)
{
	json_t *list = call("GET", "/v1/parameter-sets?experiment=PEPS&year=2024", NULL, 200), *set, *body;
	char path[64], *text;
	long id = (long)json_integer_value(json_object_get(json_array_get(json_object_get(list, "items"), 0), "id"));
	int st;

	json_decref(list);
	snprintf(path, sizeof(path), "/v1/parameter-sets/%ld", id);
	set = call("GET", path, NULL, 200);
	body = json_deep_copy(json_object_get(set, "body"));
	json_decref(set);
	json_object_set_new(json_object_get(json_object_get(body, "parameters"), "eligibility.min_patients"), "value",
			    json_integer(3));
	text = json_dumps(body, JSON_COMPACT);
	set = call("POST", "/v1/parameter-sets", text, 201);
	ck_assert_int_ge(json_integer_value(json_object_get(set, "version")), 2);
	json_decref(set);
	/* the same body again is refused: versions are distinct */
	set = h_api_json(srv.port, "POST", "/v1/parameter-sets", nat, text, &st);
	ck_assert_int_eq(st, 409);
	json_decref(set);
	free(text);
	json_decref(body);
}

START_TEST(parameter_sets_are_versioned)
{
	json_t *j;
	int st;

	j = call("GET", "/v1/parameter-sets", NULL, 200);
	ck_assert_uint_ge(json_array_size(json_object_get(j, "items")), 6);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/parameter-sets", nat,
		       "{\"experiment\":\"PEPS\",\"year\":2024,\"label\":\"\",\"parameters\":{\"eligibility.min_gp\":"
		       "{\"value\":\"three\",\"tag\":\"X\"}}}",
		       &st);
	ck_assert_int_eq(st, 422);
	ck_assert(has_error_on(j, "label"));
	ck_assert(has_error_on(j, "parameters.eligibility.min_gp.value"));
	ck_assert(has_error_on(j, "parameters.eligibility.min_gp.tag"));
	ck_assert(has_error_on(j, "parameters.eligibility.min_patients"));
	json_decref(j);
	/* versions are never edited in place, even in SQL */
	{
		PGconn *pg = h_db_connect(&db);
		h_sql1(pg, "UPDATE parameter_sets SET label = 'tampered'");
		ck_assert_int_eq(atoi(h_sql1(pg, "SELECT count(*) FROM parameter_sets WHERE label = 'tampered'")), 0);
		PQfinish(pg);
	}
}
END_TEST

START_TEST(eligibility_and_enrolment)
{
	long sid = structure("MSP", "SISA");
	char gps[3][12], nurse[12], leaver[12], path[128];
	json_t *j, *crit;
	int st;
	size_t i;

	low_threshold_peps();
	for (int k = 0; k < 3; k++)
		member(sid, "MG", 43000001 + k, "2020-01-01", NULL, gps[k]);
	member(sid, "IDE", 43000011, "2020-01-01", NULL, nurse);
	member(sid, "IDE", 43000012, "2020-01-01", "2023-12-31", leaver); /* gone before 2024 */
	/* patients on 2024-03-01: */
	patient(sid, 1, 1950, 1, gps[0], "2020-01-01", NULL);                 /* 74: elderly */
	patient(sid, 2, 1959, 3, gps[1], "2020-01-01", NULL);                 /* turns 65 on 2024-03-01: elderly */
	patient(sid, 2, 1959, 4, gps[1], "2020-01-01", NULL);                 /* 64: not yet */
	patient(sid, 1, 1970, 5, gps[2], "2020-01-01",
		",\"ald\":[{\"code\":15,\"start_on\":\"2022-01-01\"}]");      /* 53 with Alzheimer: elderly option */
	patient(sid, 1, 1965, 5, gps[2], "2020-01-01",
		",\"ald\":[{\"code\":8,\"start_on\":\"2021-01-01\"}]");       /* diabetic */
	patient(sid, 2, 1940, 1, gps[0], "2020-01-01", ",\"death_date\":\"2023-11-02\""); /* dead: not counted */
	patient(sid, 2, 1945, 1, gps[0], "2024-06-01", NULL);                 /* declared later */
	patient(sid, 1, 1980, 1, NULL, NULL, ",\"ame\":true");               /* no MT here */

	snprintf(path, sizeof(path), "/v1/structures/%ld/eligibility?experiment=PEPS&option=elderly&on=2024-03-01", sid);
	j = call("GET", path, NULL, 200);
	json_array_foreach(json_object_get(j, "criteria"), i, crit) {
		const char *code = json_string_value(json_object_get(crit, "code"));
		long m = (long)json_integer_value(json_object_get(crit, "measured"));
		if (strcmp(code, "peps.min_team_size") == 0)
			ck_assert_int_eq(m, 4); /* 3 MG + 1 IDE still there */
		if (strcmp(code, "peps.min_patients") == 0)
			ck_assert_int_eq(m, 3);
	}
	ck_assert(json_is_false(json_object_get(j, "eligible")));
	ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(j, "parameter_set"), "version")), 2);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/structures/%ld/eligibility?experiment=PEPS&option=diabetic&on=2024-03-01", sid);
	j = call("GET", path, NULL, 200);
	json_array_foreach(json_object_get(j, "criteria"), i, crit)
		if (strcmp(json_string_value(json_object_get(crit, "code")), "peps.min_patients") == 0)
			ck_assert_int_eq(json_integer_value(json_object_get(crit, "measured")), 1);
	json_decref(j);

	/* enrolling below the team size: 422 listing the unmet criterion, measured vs required */
	snprintf(path, sizeof(path), "/v1/structures/%ld/enrolments", sid);
	j = h_api_json(srv.port, "POST", path, nat,
		       "{\"experiment\":\"PEPS\",\"option\":\"elderly\",\"start_on\":\"2024-03-01\"}", &st);
	ck_assert_int_eq(st, 422);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "errors")), 1);
	ck_assert_str_eq(first_field(j), "peps.min_team_size");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0),
									"reason")), "measured 4, required >= 5"));
	ck_assert(json_is_object(json_object_get(j, "eligibility")));
	json_decref(j);

	member(sid, "IDE", 43000013, "2024-01-15", NULL, nurse);
	j = call("POST", path, "{\"experiment\":\"PEPS\",\"option\":\"elderly\",\"start_on\":\"2024-03-01\"}", 201);
	ck_assert_str_eq(json_string_value(json_object_get(j, "current_phase")), "preparation");
	ck_assert(json_is_true(json_object_get(json_object_get(j, "eligibility"), "eligible")));
	{
		long eid = (long)json_integer_value(json_object_get(j, "id"));
		char p2[160];
		json_decref(j);
		j = h_api_json(srv.port, "POST", path, nat,
			       "{\"experiment\":\"PEPS\",\"option\":\"elderly\",\"start_on\":\"2024-04-01\"}", &st);
		ck_assert_int_eq(st, 409);
		json_decref(j);
		snprintf(p2, sizeof(p2), "/v1/structures/%ld/enrolments/%ld/phases", sid, eid);
		j = h_api_json(srv.port, "POST", p2, nat, "{\"phase\":\"prospective\",\"start_on\":\"2025-01-01\"}", &st);
		ck_assert_int_eq(st, 422); /* phases are not skipped */
		ck_assert(strstr(json_string_value(json_object_get(j, "detail")), "retrospective"));
		json_decref(j);
		j = h_api_json(srv.port, "POST", p2, nat, "{\"phase\":\"retrospective\",\"start_on\":\"2024-02-01\"}", &st);
		ck_assert_int_eq(st, 422); /* nor back-dated */
		json_decref(j);
		json_decref(call("POST", p2, "{\"phase\":\"retrospective\",\"start_on\":\"2025-01-01\"}", 200));
		snprintf(p2, sizeof(p2), "/v1/structures/%ld/enrolments/%ld/withdrawal", sid, eid);
		j = call("POST", p2, "{\"on\":\"2025-06-30\",\"reason\":\"team split\"}", 200);
		ck_assert_str_eq(json_string_value(json_object_get(j, "withdrawn_on")), "2025-06-30");
		ck_assert_uint_eq(json_array_size(json_object_get(j, "phases")), 2); /* the history stays */
		json_decref(j);
		snprintf(p2, sizeof(p2), "/v1/structures?experiment=PEPS");
		j = call("GET", p2, NULL, 200);
		json_array_foreach(json_object_get(j, "items"), i, crit)
			ck_assert_int_ne(json_integer_value(json_object_get(crit, "id")), sid);
		json_decref(j);
	}
	/* wrong option for the experiment, unknown experiment */
	j = h_api_json(srv.port, "POST", path, nat, "{\"experiment\":\"EDS\",\"option\":\"whole\",\"start_on\":\"2024-03-01\"}",
		       &st);
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(first_field(j), "option");
	json_decref(j);
	/* EDS needs a health establishment with a FINESS: both unmet, both listed */
	j = h_api_json(srv.port, "POST", path, nat, "{\"experiment\":\"EDS\",\"option\":\"PTH\",\"start_on\":\"2024-03-01\"}",
		       &st);
	ck_assert_int_eq(st, 422);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "errors")), 2);
	json_decref(j);
	/* IPEP: more than 5 000 MT patients */
	j = h_api_json(srv.port, "POST", path, nat, "{\"experiment\":\"IPEP\",\"start_on\":\"2024-03-01\"}", &st);
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(first_field(j), "ipep.min_patients");
	json_decref(j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("referentials");
	TCase *t = tcase_create("referentials");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, structure_identifiers_checked);
	tcase_add_test(t, structure_update_and_close);
	tcase_add_test(t, members_and_professionals);
	tcase_add_test(t, patients_are_pseudonymised);
	tcase_add_test(t, mt_declarations_follow_each_other);
	tcase_add_test(t, parameter_sets_are_versioned);
	tcase_add_test(t, eligibility_and_enrolment);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
