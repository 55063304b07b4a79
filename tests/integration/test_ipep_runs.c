/* IPEP runs through the API on synthetic data: a groupement loaded through
 * the upload API and enrolled, a national risk model fitted, quality inputs
 * recorded; then runs checked against an independent SQL computation (the
 * patientèle, exposures and observed spending), lines adding up to totals,
 * the same bytes on a re-run, what-ifs of every phase, batches and tenancy. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct h_db db;
static struct h_srv srv;
static char nat[64], ars[64], ars_other[64], gtok[64], other_tok[64], dir[512];
static long gid, other;

static json_t *api(const char *method, const char *tok, const char *body, int *st, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static json_t *api(const char *method, const char *tok, const char *body, int *st, const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return h_api_json(srv.port, method, path, tok, body, st);
}

static const char *sqlf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sqlf(const char *fmt, ...)
{
	static char out[4096];
	char q[8192];
	PGconn *pg = h_db_connect(&db);
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

/* Submits, waits, answers the finished job. */
static json_t *run_job(const char *tok, const char *body, const char *path)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", path, tok, body, &st), *done;
	long id;

	ck_assert_msg(st == 202, "POST %s %s: %d %s", path, body, st, json_dumps(j, JSON_COMPACT));
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	done = h_wait_job(srv.port, nat, id, 120);
	return done;
}

static json_t *ipep_run(const char *tok, const char *body)
{
	char path[64];
	json_t *job, *run;
	int st;

	snprintf(path, sizeof(path), "/v1/structures/%ld/ipep/runs", gid);
	job = run_job(tok, body, path);
	ck_assert_msg(strcmp(json_string_value(json_object_get(job, "status")), "succeeded") == 0, "%s",
		      json_dumps(job, JSON_COMPACT));
	run = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), nat,
			 NULL, &st);
	ck_assert_int_eq(st, 200);
	json_decref(job);
	return run;
}

/* Creates a synthetic structure, its members and its data; answers its id. */
static long load_structure(const char *ref)
{
	char path[600], line[65536], route[64];
	FILE *f;
	long id = 0;

	snprintf(path, sizeof(path), "%s/structures.ndjson", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *s = json_loads(line, 0, &je), *m;
		size_t i;
		int st;
		if (strcmp(json_string_value(json_object_get(s, "ref")), ref) != 0) {
			json_decref(s);
			continue;
		}
		{
			json_t *body = json_pack("{s:O,s:O,s:O,s:O,s:O}", "kind", json_object_get(s, "kind"), "name",
						 json_object_get(s, "name"), "region", json_object_get(s, "region"), "commune",
						 json_object_get(s, "commune"), "legal_form", json_object_get(s, "legal_form"));
			char *text = json_dumps(body, 0);
			json_t *j = h_api_json(srv.port, "POST", "/v1/structures", nat, text, &st);
			ck_assert_msg(st == 201, "structure %s: %d", ref, st);
			id = (long)json_integer_value(json_object_get(j, "id"));
			json_decref(j);
			json_decref(body);
			free(text);
		}
		json_array_foreach(json_object_get(s, "members"), i, m) {
			char *text = json_dumps(m, 0);
			json_t *j = api("POST", nat, text, &st, "/v1/structures/%ld/members", id);
			ck_assert_msg(st == 201 || st == 409, "member of %s: %d", ref, st);
			json_decref(j);
			free(text);
		}
		json_decref(s);
	}
	fclose(f);
	ck_assert_int_gt(id, 0);
	snprintf(route, sizeof(route), "/v1/structures/%ld/uploads", id);
	for (int k = 0; k < 4; k++) {
		static const char *const kinds[] = { "patients", "mt_declarations", "claims", "stays" };
		snprintf(path, sizeof(path), "%s/structures/%s/%s.csv", dir, ref, kinds[k]);
		if (access(path, R_OK) == 0)
			h_upload_csv(srv.port, nat, route, kinds[k], path);
	}
	return id;
}

/* A parameter set of the experiment for 2023 with the 2024 values, and one
 * for 2024 with some values changed (for what-ifs); answers the latter's id. */
static long parameter_sets(const char *changes)
{
	long seed = strtol(sqlf("SELECT max(id) FROM parameter_sets WHERE experiment = 'IPEP' AND year = 2024"), NULL, 10);

	h_param_set_variant(srv.port, nat, seed, "IPEP 2023 (test: the 2024 values)", 2023, NULL);
	return h_param_set_variant(srv.port, nat, seed, "IPEP 2024 (test: what-if values)", 0, changes);
}

static long whatif_pset;

static void up(void)
{
	char cmd[2048], path[600], scope[48];
	json_t *job, *j;
	int st;

	h_db_create(&db, "ipep");
	h_srv_start(&srv, db.url, (const char *const[]){ "A51_WORKERS=2", NULL });
	h_token_cli(db.url, "national", "national", false, nat);
	snprintf(dir, sizeof(dir), "%s/ipep-synth", getenv("A51_TEST_VARDIR") ? getenv("A51_TEST_VARDIR") : "/tmp");
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && '%s' synth --patients 15000 --structures 10 --year 2024 --years 2 --reference 6000"
		 " --seed 17 --out '%s' >/dev/null 2>&1",
		 dir, getenv("A51D_BIN"), dir);
	ck_assert_int_eq(system(cmd), 0);
	for (int k = 0; k < 4; k++) {
		static const char *const kinds[] = { "deprivation", "patients", "claims", "stays" };
		snprintf(path, sizeof(path), "%s/reference/%s.csv", dir, kinds[k]);
		h_upload_csv(srv.port, nat, "/v1/reference/uploads", kinds[k], path);
	}
	gid = load_structure("S009");
	other = load_structure("S004");
	whatif_pset = parameter_sets("{\"gains.truncate_observed\": false, \"credits.per_groupement_cents\": 5000000,"
				     " \"credits.per_patient_cents\": 100}");
	j = api("POST", nat, "{\"experiment\":\"IPEP\",\"start_on\":\"2023-12-28\"}", &st, "/v1/structures/%ld/enrolments",
		gid);
	ck_assert_msg(st == 201, "enrol: %d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	job = run_job(nat, "{\"name\":\"ipep-all\",\"year\":2024,\"target\":\"all_care\",\"terms\":[\"age_sex\","
			   "\"ald_groups\",\"c2s\",\"ame\",\"n_chronic\"],\"method\":\"wls\",\"truncation\":{\"type\":"
			   "\"percentile\",\"p\":0.99}}",
		      "/v1/risk-models");
	ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
	json_decref(job);
	h_token_api(srv.port, nat, "ars:84", ars);
	h_token_api(srv.port, nat, "ars:11", ars_other);
	snprintf(scope, sizeof(scope), "structure:%ld", gid);
	h_token_api(srv.port, nat, scope, gtok);
	snprintf(scope, sizeof(scope), "structure:%ld", other);
	h_token_api(srv.port, nat, scope, other_tok);
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}

static const json_t *res(const json_t *run, const char *a, const char *b)
{
	return json_object_get(json_object_get(json_object_get(run, "result"), a), b);
}

/* True when the problem j has an error on field whose reason contains part
 * (NULL: any reason). */
static bool has_error(const json_t *j, const char *field, const char *part)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(j, "errors"), i, e) {
		const char *f = json_string_value(json_object_get(e, "field"));
		const char *r = json_string_value(json_object_get(e, "reason"));
		if (f && strcmp(f, field) == 0 && (!part || (r && strstr(r, part))))
			return true;
	}
	return false;
}

static bool server_alive(void)
{
	struct h_resp r;
	bool ok = h_get(srv.port, "/healthz", NULL, &r) == 0 && r.status == 200;

	if (ok)
		h_resp_free(&r);
	return ok;
}

/* The refused PUTs of these tests are all of 2025: none may have left a version. */
static void nothing_recorded_in_2025(void)
{
	ck_assert_str_eq(sqlf("SELECT count(*) FROM ipep_quality_inputs WHERE year = 2025"), "0");
}

#define QUALITY                                                                                               \
	"{\"indicators\":[{\"code\":\"vaccination_65\",\"value\":62,\"previous\":55,\"deciles\":[40,45,50,54,57,60,63,66,"   \
	"70]},{\"code\":\"rh30\",\"decreasing\":true,\"value\":11.5,\"previous\":12.2,\"deciles\":[8,9,10,10.5,11,11.5,12," \
	"13,14]},{\"code\":\"hba1c\",\"a_la_carte\":true,\"value\":null,\"deciles\":[1,2,3,4,5,6,7,8,9]}],"              \
	"\"experience_points\":14,\"respondents\":320}"

START_TEST(quality_inputs_are_checked_and_versioned)
{
	int st;
	json_t *j;
	char *t;

	j = api("PUT", nat, "{\"indicators\":[{\"code\":\"a\",\"deciles\":[3,2,1,4,5,6,7,8,9]},{\"code\":\"a\","
			    "\"deciles\":[1,2,3,4,5,6,7,8,9]},{\"code\":\"b\",\"colour\":1,\"deciles\":[1,2,3,4,5,6,7,8,9]},"
			    "{\"code\":\"c\",\"value\":\"high\",\"deciles\":[1,2,3]}],\"experience_points\":-2}",
		&st, "/v1/structures/%ld/ipep/quality/2024", gid);
	ck_assert_int_eq(st, 422);
	t = json_dumps(j, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(t, "increasing order"));
	ck_assert_ptr_nonnull(strstr(t, "given twice"));
	ck_assert_ptr_nonnull(strstr(t, "colour"));
	ck_assert_ptr_nonnull(strstr(t, "indicators[3]"));
	ck_assert_ptr_nonnull(strstr(t, "experience_points"));
	free(t);
	json_decref(j);
	/* the groupement reads its inputs but the payer writes them */
	j = api("PUT", gtok, QUALITY, &st, "/v1/structures/%ld/ipep/quality/2024", gid);
	ck_assert_int_eq(st, 403);
	json_decref(j);
	for (int v = 1; v <= 2; v++) {
		j = api("PUT", ars, QUALITY, &st, "/v1/structures/%ld/ipep/quality/2024", gid);
		ck_assert_int_eq(st, 201);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), v);
		json_decref(j);
	}
	j = api("GET", gtok, NULL, &st, "/v1/structures/%ld/ipep/quality/2024", gid);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 2);
	json_decref(j);
	j = api("GET", other_tok, NULL, &st, "/v1/structures/%ld/ipep/quality/2024", gid);
	ck_assert_int_eq(st, 404);
	json_decref(j);
}
END_TEST

/* An indicator's code may be missing, not a string, or the indicator not an
 * object: each is a fault named in the 422, and the server keeps serving. */
START_TEST(quality_codes_of_any_type)
{
	static const struct { const char *body, *field; } cases[] = {
		{ "{\"indicators\":[{\"value\":1,\"deciles\":[1,2,3,4,5,6,7,8,9]},"
		  "{\"code\":\"x\",\"value\":1,\"deciles\":[1,2,3,4,5,6,7,8,9]}]}", "indicators[0].code" },
		{ "{\"indicators\":[5,{\"code\":\"x\",\"value\":1,\"deciles\":[1,2,3,4,5,6,7,8,9]}]}", "indicators[0]" },
		{ "{\"indicators\":[{\"code\":5,\"value\":1,\"deciles\":[1,2,3,4,5,6,7,8,9]},"
		  "{\"code\":\"x\",\"value\":1,\"deciles\":[1,2,3,4,5,6,7,8,9]}]}", "indicators[0].code" },
		{ "{\"indicators\":[{\"code\":null,\"deciles\":[1,2,3,4,5,6,7,8,9]},"
		  "{\"code\":\"x\",\"deciles\":[1,2,3,4,5,6,7,8,9]},{\"code\":\"x\",\"deciles\":[1,2,3,4,5,6,7,8,9]}]}",
		  "indicators[0].code" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int st;
		json_t *j = api("PUT", nat, cases[k].body, &st, "/v1/structures/%ld/ipep/quality/2025", gid);
		ck_assert_msg(st == 422, "case %zu: %d", k, st);
		ck_assert_msg(has_error(j, cases[k].field, NULL), "case %zu: %s", k, json_dumps(j, JSON_COMPACT));
		json_decref(j);
		ck_assert_msg(server_alive(), "a51d died on case %zu", k);
	}
	{
		int st;
		json_t *j = api("PUT", nat, cases[3].body, &st, "/v1/structures/%ld/ipep/quality/2025", gid);
		ck_assert(has_error(j, "indicators[2].code", "given twice"));
		json_decref(j);
	}
	nothing_recorded_in_2025();
}
END_TEST

/* Every fault of every indicator at once: a flag that is not a boolean, a
 * value that is not a number, deciles out of order, all in one answer. */
START_TEST(quality_faults_all_at_once)
{
	int st;
	json_t *j = api("PUT", nat,
			"{\"indicators\":[{\"code\":\"a\",\"decreasing\":\"yes\",\"a_la_carte\":1,\"value\":\"high\","
			"\"previous\":\"low\",\"deciles\":[3,2,1,4,5,6,7,8,9]},{\"code\":\"\",\"value\":2,\"deciles\":[1,2]},"
			"{\"code\":\"b\",\"decreasing\":false,\"a_la_carte\":null,\"deciles\":[1,2,3,4,5,6,7,8,9]}]}",
			&st, "/v1/structures/%ld/ipep/quality/2025", gid);

	ck_assert_int_eq(st, 422);
	ck_assert(has_error(j, "indicators[0].decreasing", "true or false"));
	ck_assert(has_error(j, "indicators[0].a_la_carte", "true or false"));
	ck_assert(has_error(j, "indicators[0].value", NULL));
	ck_assert(has_error(j, "indicators[0].previous", NULL));
	ck_assert(has_error(j, "indicators[0].deciles", "increasing order"));
	ck_assert(has_error(j, "indicators[1].code", NULL));
	ck_assert(has_error(j, "indicators[1].deciles", NULL));
	ck_assert_int_eq(json_array_size(json_object_get(j, "errors")), 7);
	json_decref(j);
	nothing_recorded_in_2025();
}
END_TEST

/* A member name longer than a reason holds, in two-byte characters: the
 * reason is cut between characters and the fault is still reported. */
START_TEST(quality_unknown_member_with_a_long_name)
{
	char body[1024], name[420] = "x"; /* then 'é's: the cut falls inside one */
	json_t *j;
	int st;

	for (int k = 0; k < 200; k++)
		memcpy(name + 1 + 2 * k, "\xc3\xa9", 3);
	snprintf(body, sizeof(body), "{\"indicators\":[{\"code\":\"a\",\"deciles\":[1,2,3,4,5,6,7,8,9],\"%s\":1}]}", name);
	j = api("PUT", nat, body, &st, "/v1/structures/%ld/ipep/quality/2025", gid);
	ck_assert_msg(st == 422, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert(has_error(j, "indicators[0]", "unknown member"));
	json_decref(j);
	nothing_recorded_in_2025();
}
END_TEST

/* A version's audit row is the structure's region's, so that the ARS sees it. */
START_TEST(quality_audit_is_the_regions)
{
	int st;
	json_t *j = api("PUT", ars, QUALITY, &st, "/v1/structures/%ld/ipep/quality/2024", gid), *audit;
	long long id = json_integer_value(json_object_get(j, "id"));
	char want[64];

	ck_assert_int_eq(st, 201);
	json_decref(j);
	/* sqlf answers a static buffer: keep the first answer */
	snprintf(want, sizeof(want), "%s", sqlf("SELECT region || ':' || id FROM structures WHERE id = %ld", gid));
	ck_assert_str_eq(sqlf("SELECT coalesce(region, '(null)') || ':' || structure_id FROM audit_log"
			      " WHERE resource_type = 'ipep_quality' AND resource_id = '%lld'", id),
			 want);
	audit = api("GET", ars, NULL, &st, "/v1/audit?resource_type=ipep_quality&resource_id=%lld", id);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(audit, "items")), 1);
	json_decref(audit);
	audit = api("GET", ars_other, NULL, &st, "/v1/audit?resource_type=ipep_quality");
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(audit, "items")), 0);
	json_decref(audit);
}
END_TEST

/* A new version is a 201 with the Location of the year's inputs, where the
 * GET reads it. */
START_TEST(quality_put_has_a_location)
{
	struct h_resp r;
	char path[96], loc[96];
	json_t *j, *got;
	int st;

	snprintf(path, sizeof(path), "/v1/structures/%ld/ipep/quality/2024", gid);
	ck_assert_int_eq(h_api(srv.port, "PUT", path, nat, QUALITY, NULL, &r), 0);
	ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
	ck_assert_ptr_nonnull(h_header(&r, "Location", loc, sizeof(loc)));
	ck_assert_str_eq(loc, path);
	j = h_json(&r);
	h_resp_free(&r);
	got = h_api_json(srv.port, "GET", loc, nat, NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "version")),
			 json_integer_value(json_object_get(j, "version")));
	json_decref(got);
	json_decref(j);
}
END_TEST

START_TEST(official_run_against_an_independent_computation)
{
	json_t *run = ipep_run(nat, "{\"year\":2024}");
	long id = (long)json_integer_value(json_object_get(run, "id"));
	long long patients = json_integer_value(json_object_get(run, "patients"));
	double e1, o1;

	ck_assert_str_eq(json_string_value(json_object_get(run, "phase")), "phase1");
	ck_assert(json_is_false(json_object_get(run, "what_if")));
	/* the patientèle: declared GP a member GP on 31 December, alive that day */
	ck_assert_int_eq(patients, strtoll(sqlf("SELECT count(DISTINCT d.patient_id) FROM mt_declarations d JOIN"
					       " professionals g ON g.rpps = d.gp_rpps AND g.profession = 'MG' JOIN memberships m"
					       " ON m.professional_id = g.id AND m.structure_id = %ld JOIN patients p ON p.id ="
					       " d.patient_id WHERE daterange(m.start_on, m.end_on, '[]') @> '2024-12-31'::date"
					       " AND daterange(d.start_on, d.end_on, '[]') @> '2024-12-31'::date AND"
					       " daterange(make_date(p.birth_year, coalesce(p.birth_month, 1), 1), p.death_date,"
					       " '[]') @> '2024-12-31'::date", gid), NULL, 10));
	ck_assert_int_gt(patients, 5000);
	ck_assert(json_is_true(res(run, "patientele", "eligible")));
	/* phase 1: the quality is scored, the start-up credits are paid (the year's latest set, made in the
	 * fixture: 50 000 EUR and 1 EUR a patient), not the gains */
	ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")), 5000000 + 100 * patients);
	ck_assert_int_eq(json_integer_value(json_object_get(run, "parameter_set_id")), whatif_pset);
	ck_assert(fabs(json_number_value(res(run, "quality", "points")) - (7.5 + 10.0 / 6 + 0 + 14)) < 1e-9);
	ck_assert(json_number_value(res(run, "quality", "max_points")) == 50);
	/* the gains per patient, from the lines: patient-year means of both years */
	e1 = strtod(sqlf("SELECT sum(expected * exposure) / sum(exposure) FROM ipep_lines WHERE run_id = %ld", id), NULL);
	o1 = strtod(sqlf("SELECT sum(observed)::float8 / sum(exposure) FROM ipep_lines WHERE run_id = %ld", id), NULL);
	ck_assert_msg(fabs(e1 - json_number_value(json_array_get(res(run, "gains", "expected_pp"), 1))) < 1.0,
		      "expected %.2f", e1);
	ck_assert_msg(fabs(o1 - json_number_value(json_array_get(res(run, "gains", "observed_pp"), 1))) < 1.0, "observed %.2f",
		      o1);
	ck_assert(fabs(json_number_value(res(run, "gains", "level_gap_pp")) - (e1 - o1)) < 1.0);
	ck_assert_int_eq(strtoll(sqlf("SELECT sum(amount_cents) FROM ipep_lines WHERE run_id = %ld", id), NULL, 10),
			 json_integer_value(json_object_get(run, "total_cents")));
	json_decref(run);
}
END_TEST

/* Without truncation, the observed spending of the year is the groupement's
 * claims and stays of its patients, and each exposure the share of the year
 * alive: both recomputed in SQL. Phases 2 and 3 pay the gains, unmodulated
 * then modulated; phase 1 the credits. */
START_TEST(what_ifs_of_every_phase)
{
	char body[128];
	json_t *run;
	long id;
	long long gains;

	snprintf(body, sizeof(body), "{\"year\":2024,\"what_if\":true,\"phase\":\"phase2\",\"parameter_set_id\":%ld}",
		 whatif_pset);
	run = ipep_run(gtok, body);
	id = (long)json_integer_value(json_object_get(run, "id"));
	ck_assert(json_is_true(json_object_get(run, "what_if")));
	{
		const char *obs = sqlf("WITH pt AS (SELECT patient_id FROM ipep_lines WHERE run_id = %ld)"
				       " SELECT (SELECT coalesce(sum(c.base_cents), 0) FROM claims c JOIN pt USING (patient_id)"
				       "  WHERE c.dataset = %ld AND c.care_date BETWEEN '2024-01-01' AND '2024-12-31')"
				       " + (SELECT coalesce(sum(s.amount_cents), 0) FROM stays s JOIN pt USING (patient_id)"
				       "  WHERE s.dataset = %ld AND s.admission_date BETWEEN '2024-01-01' AND '2024-12-31')",
				       id, gid, gid);
		long long lines = strtoll(sqlf("SELECT sum(observed) FROM ipep_lines WHERE run_id = %ld", id), NULL, 10);
		ck_assert_msg(llabs(strtoll(obs, NULL, 10) - lines) <= json_integer_value(json_object_get(run, "patients")),
			      "observed %s vs %lld", obs, lines);
		ck_assert_str_eq(sqlf("SELECT count(*) FROM ipep_lines l JOIN patients p ON p.id = l.patient_id WHERE"
				      " l.run_id = %ld AND abs(l.exposure - (least(coalesce(p.death_date, '2024-12-31'),"
				      " '2024-12-31') - greatest(make_date(p.birth_year, coalesce(p.birth_month, 1), 1),"
				      " '2024-01-01') + 1) / 366.0) > 1e-6", id), "0");
	}
	gains = json_integer_value(res(run, "gains", "gains_cents"));
	ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")), gains);
	/* the gains are what the formula says from the run's own figures */
	{
		double e = json_number_value(res(run, "gains", "level_gap_pp"));
		double v = json_number_value(res(run, "gains", "evolution_gap_pp"));
		double m = 0.5 * (fmax(0, e) / 3 + 2 * fmax(0, v) / 3);
		ck_assert(llabs(gains - llround(m * (double)json_integer_value(json_object_get(run, "patients")))) <= 1);
	}
	json_decref(run);
	snprintf(body, sizeof(body), "{\"year\":2024,\"what_if\":true,\"phase\":\"phase3\",\"parameter_set_id\":%ld}",
		 whatif_pset);
	run = ipep_run(gtok, body);
	ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")),
			 llround((double)gains * json_number_value(res(run, "quality", "modulation"))));
	json_decref(run);
	snprintf(body, sizeof(body), "{\"year\":2024,\"what_if\":true,\"phase\":\"phase1\",\"parameter_set_id\":%ld}",
		 whatif_pset);
	run = ipep_run(gtok, body);
	ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")),
			 5000000 + 100 * json_integer_value(json_object_get(run, "patients")));
	ck_assert_int_eq(strtoll(sqlf("SELECT sum(amount_cents) FROM ipep_lines WHERE run_id = %lld",
				      (long long)json_integer_value(json_object_get(run, "id"))), NULL, 10),
			 json_integer_value(json_object_get(run, "total_cents")));
	json_decref(run);
}
END_TEST

START_TEST(rerun_same_bytes_and_current)
{
	json_t *a = ipep_run(ars, "{\"year\":2024}"), *b = ipep_run(ars, "{\"year\":2024}"), *list;
	int st;

	ck_assert_str_eq(json_string_value(json_object_get(a, "inputs_digest")),
			 json_string_value(json_object_get(b, "inputs_digest")));
	{
		char *ra = json_dumps(json_object_get(a, "result"), JSON_COMPACT | JSON_SORT_KEYS);
		char *rb = json_dumps(json_object_get(b, "result"), JSON_COMPACT | JSON_SORT_KEYS);
		ck_assert_str_eq(ra, rb);
		free(ra);
		free(rb);
	}
	ck_assert(json_is_true(json_object_get(b, "current")));
	list = api("GET", gtok, NULL, &st, "/v1/ipep/runs?current=true");
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(list, "items")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(list, "items"), 0), "id")),
			 json_integer_value(json_object_get(b, "id")));
	json_decref(list);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* The list filters by phase; an enum parameter with an unknown value is a
 * 422 naming it, every one at once, not a filter silently dropped. */
START_TEST(runs_list_phase_and_enum_faults)
{
	static const struct { const char *query, *field; } bad[] = {
		{ "phase=phase4", "phase" },
		{ "phase=PHASE1", "phase" },
		{ "what_if=yes", "what_if" },
		{ "current=1", "current" },
	};
	json_t *j, *it;
	size_t i;
	int st;

	j = api("GET", nat, NULL, &st, "/v1/ipep/runs?phase=phase3&limit=500");
	ck_assert_int_eq(st, 200);
	ck_assert_int_gt(json_array_size(json_object_get(j, "items")), 0);
	json_array_foreach(json_object_get(j, "items"), i, it)
		ck_assert_str_eq(json_string_value(json_object_get(it, "phase")), "phase3");
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")),
			 strtoll(sqlf("SELECT count(*) FROM ipep_runs WHERE phase = 'phase3'"), NULL, 10));
	json_decref(j);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		j = api("GET", nat, NULL, &st, "/v1/ipep/runs?%s", bad[k].query);
		ck_assert_msg(st == 422, "%s: %d", bad[k].query, st);
		ck_assert_msg(has_error(j, bad[k].field, "must be one of"), "%s: %s", bad[k].query, json_dumps(j, JSON_COMPACT));
		json_decref(j);
	}
	j = api("GET", nat, NULL, &st, "/v1/ipep/runs?phase=x&what_if=x&current=x");
	ck_assert_int_eq(st, 422);
	ck_assert_int_eq(json_array_size(json_object_get(j, "errors")), 3);
	json_decref(j);
	j = api("GET", nat, NULL, &st, "/v1/ipep/runs/%s/lines?format=xml",
		sqlf("SELECT max(id) FROM ipep_runs"));
	ck_assert_int_eq(st, 422);
	ck_assert(has_error(j, "format", "must be one of"));
	json_decref(j);
}
END_TEST

/* A parameter set naming a risk model nobody fitted: the 422 names the IPEP
 * key that holds the name, not PEPS's. */
START_TEST(missing_model_names_the_ipep_key)
{
	/* a year no run takes by default, so the other tests keep the fixture's sets */
	long id = h_param_set_variant(srv.port, nat, whatif_pset, "IPEP (test: a model never fitted)", 2022,
				      "{\"gains.risk_model\": \"never-fitted\"}");
	char body[128];
	json_t *j;
	int st;

	snprintf(body, sizeof(body), "{\"year\":2024,\"what_if\":true,\"parameter_set_id\":%ld}", id);
	j = api("POST", gtok, body, &st, "/v1/structures/%ld/ipep/runs", gid);
	ck_assert_int_eq(st, 422);
	ck_assert_msg(has_error(j, "gains.risk_model", "never-fitted"), "%s", json_dumps(j, JSON_COMPACT));
	json_decref(j);
}
END_TEST

/* A line reads like a PEPS line: the age-sex cell, the ALD groups by name,
 * C2S and AME as booleans, checked against the stored codes; the CSV has
 * the same columns. */
START_TEST(lines_are_readable)
{
	static const char *const groups[] = { "ald_diabetes", "ald_cardio", "ald_cancer", "ald_psych", "ald_neuro",
					      "ald_resp", "ald_other" };
	long id = strtol(sqlf("SELECT max(id) FROM ipep_runs WHERE NOT what_if"), NULL, 10);
	long after = strtol(sqlf("SELECT min(patient_id) - 1 FROM ipep_lines WHERE run_id = %ld AND ald_groups <> 0"
				 " AND flags <> 0", id), NULL, 10);
	struct h_resp r;
	char path[128];
	json_t *j, *it;
	size_t i;
	int st;

	j = api("GET", gtok, NULL, &st, "/v1/ipep/runs/%ld/lines?limit=50&cursor=%ld", id, after);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 50);
	json_array_foreach(json_object_get(j, "items"), i, it) {
		long long pid = json_integer_value(json_object_get(it, "patient_id"));
		unsigned mask = (unsigned)strtoul(sqlf("SELECT ald_groups FROM ipep_lines WHERE run_id = %ld AND patient_id = %lld",
						       id, pid), NULL, 10);
		int flags = (int)strtol(sqlf("SELECT flags FROM ipep_lines WHERE run_id = %ld AND patient_id = %lld", id, pid),
					NULL, 10);
		json_t *g = json_object_get(it, "ald_groups");
		size_t k = 0;
		ck_assert_ptr_null(json_object_get(it, "flags"));
		ck_assert_ptr_null(json_object_get(it, "cell"));
		ck_assert_ptr_null(json_object_get(it, "id"));
		ck_assert(json_is_string(json_object_get(it, "age_sex")));
		ck_assert(json_is_array(g));
		for (unsigned b = 0; b < 7; b++)
			if (mask & (1u << b))
				ck_assert_str_eq(json_string_value(json_array_get(g, k++)), groups[b]);
		ck_assert_int_eq(json_array_size(g), k);
		ck_assert(json_is_boolean(json_object_get(it, "c2s")) && json_is_boolean(json_object_get(it, "ame")));
		ck_assert_int_eq(json_is_true(json_object_get(it, "c2s")), (flags & 1) != 0);
		ck_assert_int_eq(json_is_true(json_object_get(it, "ame")), (flags & 2) != 0);
	}
	ck_assert_int_gt(json_array_size(json_object_get(json_array_get(json_object_get(j, "items"), 0), "ald_groups")), 0);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/ipep/runs/%ld/lines?format=csv&limit=3&cursor=%ld", id, after);
	ck_assert_int_eq(h_api(srv.port, "GET", path, gtok, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strncmp(r.body, "patient_id;age_sex;ald_groups;c2s;ame;expected_prev;expected;observed_prev;observed;"
				      "exposure_prev;exposure;amount_cents\n", 120) == 0, "%s", r.body);
	/* the first line has ALD groups and a flag: names joined by |, booleans as words */
	{
		const char *l1 = strchr(r.body, '\n') + 1;
		ck_assert_ptr_nonnull(strstr(l1, ";ald_"));
		ck_assert_ptr_nonnull(strstr(l1, ";true;"));
	}
	h_resp_free(&r);
}
END_TEST

START_TEST(tenancy_and_refusals)
{
	int st;
	long id = strtol(sqlf("SELECT max(id) FROM ipep_runs"), NULL, 10);
	json_t *j;

	j = api("GET", other_tok, NULL, &st, "/v1/ipep/runs/%ld", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("GET", ars_other, NULL, &st, "/v1/ipep/runs/%ld/lines", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("GET", gtok, NULL, &st, "/v1/ipep/runs/%ld/lines?limit=3", id);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 3);
	ck_assert(json_is_string(json_object_get(j, "next")));
	json_decref(j);
	/* official runs are the payer's; a phase needs a what-if */
	j = api("POST", gtok, "{\"year\":2024}", &st, "/v1/structures/%ld/ipep/runs", gid);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = api("POST", nat, "{\"year\":2024,\"phase\":\"phase3\"}", &st, "/v1/structures/%ld/ipep/runs", gid);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	/* a structure not enrolled has no official run */
	j = api("POST", nat, "{\"year\":2024}", &st, "/v1/structures/%ld/ipep/runs", other);
	ck_assert_int_eq(st, 422);
	json_decref(j);
}
END_TEST

START_TEST(batch_of_a_region)
{
	int st;
	json_t *job = run_job(ars, "{\"year\":2024}", "/v1/ipep/runs"), *b;

	ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
	b = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), ars, NULL,
		       &st);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(b, "summary"), "runs")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(json_object_get(b, "summary"),
										       "runs"), 0), "structure_id")), gid);
	json_decref(b);
	b = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), ars_other,
		       NULL, &st);
	ck_assert_int_eq(st, 404);
	json_decref(b);
	json_decref(job);
}
END_TEST

/* The groupement's claims run from 2023-01-01 into February 2025: 2025 is a
 * year without its data. An official run of it is refused (422 on year); a
 * what-if goes on with a warning; a batch leaves the groupement out, saying
 * why. Every claims upload kept the dataset's span. */
START_TEST(a_year_without_data)
{
	json_t *j, *run, *job, *w;
	size_t i;
	bool warned = false;
	int st;

	ck_assert_str_eq(sqlf("SELECT (SELECT first_on || ' ' || last_on FROM claim_spans WHERE dataset = %ld)"
			      " = (SELECT min(care_date) || ' ' || max(care_date) FROM claims WHERE dataset = %ld)",
			      gid, gid),
			 "t");
	ck_assert_str_eq(sqlf("SELECT first_on FROM claim_spans WHERE dataset = %ld", gid), "2023-01-01");
	j = api("POST", nat, "{\"year\":2025}", &st, "/v1/structures/%ld/ipep/runs", gid);
	ck_assert_msg(st == 422, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_msg(has_error(j, "year", "do not cover 2024-01-01 to 2025-12-31"), "%s", json_dumps(j, JSON_COMPACT));
	json_decref(j);
	run = ipep_run(gtok, "{\"year\":2025,\"what_if\":true}");
	json_array_foreach(json_object_get(json_object_get(run, "result"), "warnings"), i, w)
		warned |= strstr(json_string_value(w), "do not cover 2024-01-01 to 2025-12-31") != NULL;
	ck_assert_msg(warned, "%s", json_dumps(json_object_get(json_object_get(run, "result"), "warnings"), JSON_COMPACT));
	json_decref(run);
	job = run_job(ars, "{\"year\":2025}", "/v1/ipep/runs");
	ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
	j = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), ars, NULL,
		       &st);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "summary"), "runs")), 0);
	w = json_array_get(json_object_get(json_object_get(j, "summary"), "skipped"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(w, "structure_id")), gid);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(w, "reason")), "do not cover"));
	json_decref(j);
	json_decref(job);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ipep_runs");
	TCase *tc = tcase_create("ipep_runs");

	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, quality_inputs_are_checked_and_versioned);
	tcase_add_test(tc, quality_codes_of_any_type);
	tcase_add_test(tc, quality_faults_all_at_once);
	tcase_add_test(tc, quality_unknown_member_with_a_long_name);
	tcase_add_test(tc, quality_audit_is_the_regions);
	tcase_add_test(tc, quality_put_has_a_location);
	tcase_add_test(tc, official_run_against_an_independent_computation);
	tcase_add_test(tc, what_ifs_of_every_phase);
	tcase_add_test(tc, rerun_same_bytes_and_current);
	tcase_add_test(tc, runs_list_phase_and_enum_faults);
	tcase_add_test(tc, missing_model_names_the_ipep_key);
	tcase_add_test(tc, lines_are_readable);
	tcase_add_test(tc, tenancy_and_refusals);
	tcase_add_test(tc, batch_of_a_region);
	tcase_add_test(tc, a_year_without_data);
	suite_add_tcase(s, tc);
	return s;
}

/* Without fork: the tests build on what the previous ones stored. */
int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
