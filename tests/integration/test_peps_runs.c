/* PEPS runs through the API on synthetic data: a region's structures loaded
 * through the upload API, enrolled in PEPS at different phases, a national
 * risk model fitted; then simulation, retrospective and prospective runs
 * checked against an independent SQL computation (covered days day by day,
 * fidelisation, fee-for-service), lines adding up to totals, the same bytes
 * on a re-run, what-ifs, the cap, batches, splits and who sees what. */
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
static char nat[64], ars[64], ars_other[64], stok[3][64], dir[512];
static long sid[3]; /* S004 (preparation), S007 (retrospective), S008 (prospective) */

static void upload(const char *route, const char *kind, const char *file)
{
	if (access(file, R_OK) == 0)
		h_upload_csv(srv.port, nat, route, kind, file);
}

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

static json_t *wait_job(long id)
{
	return h_wait_job(srv.port, nat, id, 120);
}

/* Submits, waits, and answers the finished job. */
static json_t *run_job(const char *tok, const char *body, const char *path)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", path, tok, body, &st), *done;
	long id;

	ck_assert_msg(st == 202, "POST %s: %d %s", body, st, json_dumps(j, JSON_COMPACT));
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	done = wait_job(id);
	return done;
}

/* Runs and answers the stored run. */
static json_t *peps_run(long s, const char *tok, const char *body)
{
	char path[64];
	json_t *job, *run;
	int st;

	snprintf(path, sizeof(path), "/v1/structures/%ld/peps/runs", s);
	job = run_job(tok, body, path);

	ck_assert_msg(strcmp(json_string_value(json_object_get(job, "status")), "succeeded") == 0, "%s",
		      json_dumps(job, JSON_COMPACT));
	run = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), nat,
			 NULL, &st);
	ck_assert_int_eq(st, 200);
	json_decref(job);
	return run;
}

static void token(const char *scope, char out[64])
{
	h_token_api(srv.port, nat, scope, out);
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
		json_t *s = json_loads(line, 0, &je), *body, *m;
		size_t i;
		int st;
		if (strcmp(json_string_value(json_object_get(s, "ref")), ref) != 0) {
			json_decref(s);
			continue;
		}
		body = json_pack("{s:O,s:O,s:O,s:O,s:O}", "kind", json_object_get(s, "kind"), "name",
				 json_object_get(s, "name"), "region", json_object_get(s, "region"), "commune",
				 json_object_get(s, "commune"), "legal_form", json_object_get(s, "legal_form"));
		{
			char *text = json_dumps(body, 0);
			json_t *j = h_api_json(srv.port, "POST", "/v1/structures", nat, text, &st);
			ck_assert_msg(st == 201, "structure %s: %d", ref, st);
			id = (long)json_integer_value(json_object_get(j, "id"));
			json_decref(j);
			free(text);
		}
		json_array_foreach(json_object_get(s, "members"), i, m) {
			char *text = json_dumps(m, 0);
			json_t *j = api("POST", nat, text, &st, "/v1/structures/%ld/members", id);
			ck_assert_msg(st == 201 || st == 409, "member of %s: %d", ref, st);
			json_decref(j);
			free(text);
		}
		json_decref(body);
		json_decref(s);
	}
	fclose(f);
	ck_assert_int_gt(id, 0);
	snprintf(route, sizeof(route), "/v1/structures/%ld/uploads", id);
	for (int k = 0; k < 4; k++) {
		static const char *const kinds[] = { "patients", "mt_declarations", "claims", "stays" };
		snprintf(path, sizeof(path), "%s/structures/%s/%s.csv", dir, ref, kinds[k]);
		upload(route, kinds[k], path);
	}
	return id;
}

static long enrol(long s, const char *phases)
{
	int st;
	/* enrolled, and in its phase, before 2024 begins: 2024's runs are of that phase */
	json_t *j = api("POST", nat, "{\"experiment\":\"PEPS\",\"option\":\"whole\",\"start_on\":\"2023-12-28\"}", &st,
			"/v1/structures/%ld/enrolments", s);
	long e = (long)json_integer_value(json_object_get(j, "id"));
	int day = 29;

	ck_assert_msg(st == 201, "enrol %ld: %d %s", s, st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	for (const char *p = phases; p && *p;) {
		char phase[32], body[128];
		size_t n = strcspn(p, ",");
		snprintf(phase, sizeof(phase), "%.*s", (int)n, p);
		snprintf(body, sizeof(body), "{\"phase\":\"%s\",\"start_on\":\"2023-12-%02d\"}", phase, day++);
		j = api("POST", nat, body, &st, "/v1/structures/%ld/enrolments/%ld/phases", s, e);
		ck_assert_msg(st == 200, "phase %s: %d %s", phase, st, json_dumps(j, JSON_COMPACT));
		json_decref(j);
		p += n + (p[n] == ',');
	}
	return e;
}

static void up(void)
{
	char cmd[2048], path[600];
	json_t *job;

	h_db_create(&db, "peps");
	h_srv_start(&srv, db.url, (const char *const[]){ "A51_WORKERS=2", NULL });
	h_token_cli(db.url, "national", "national", false, nat);
	snprintf(dir, sizeof(dir), "%s/peps-synth", getenv("A51_TEST_VARDIR") ? getenv("A51_TEST_VARDIR") : "/tmp");
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && '%s' synth --patients 4000 --structures 10 --year 2024 --years 2 --reference 6000"
		 " --seed 13 --out '%s' >/dev/null 2>&1",
		 dir, getenv("A51D_BIN"), dir);
	ck_assert_int_eq(system(cmd), 0);
	for (int k = 0; k < 4; k++) {
		static const char *const kinds[] = { "deprivation", "patients", "claims", "stays" };
		snprintf(path, sizeof(path), "%s/reference/%s.csv", dir, kinds[k]);
		upload("/v1/reference/uploads", kinds[k], path);
	}
	{
		/* the teams enrol at the end of 2023: a 2023 parameter set, the 2024 one's values */
		int st;
		json_t *ps = api("GET", nat, NULL, &st, "/v1/parameter-sets/%s",
				 h_sqlf(&db, "SELECT max(id) FROM parameter_sets WHERE experiment = 'PEPS' AND year = 2024"));
		json_t *body = json_deep_copy(json_object_get(ps, "body")), *j;
		char *text;
		json_object_set_new(body, "year", json_integer(2023));
		json_object_set_new(body, "label", json_string("PEPS 2023 (test: the 2024 values)"));
		text = json_dumps(body, 0);
		j = h_api_json(srv.port, "POST", "/v1/parameter-sets", nat, text, &st);
		ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
		json_decref(j);
		json_decref(ps);
		json_decref(body);
		free(text);
	}
	sid[0] = load_structure("S004");
	sid[1] = load_structure("S007");
	sid[2] = load_structure("S008");
	enrol(sid[0], NULL);
	enrol(sid[1], "retrospective");
	enrol(sid[2], "retrospective,prospective");
	job = run_job(nat, "{\"name\":\"peps-gp\",\"year\":2024,\"target\":\"peps_perimeter\",\"terms\":[\"age_sex\","
			   "\"ald_groups\",\"c2s\",\"ame\",\"n_chronic\"],\"method\":\"wls\"}",
		      "/v1/risk-models");
	ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
	json_decref(job);
	token("ars:84", ars);
	token("ars:11", ars_other);
	for (int k = 0; k < 3; k++) {
		char scope[48];
		snprintf(scope, sizeof(scope), "structure:%ld", sid[k]);
		token(scope, stok[k]);
	}
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}

static const json_t *res(const json_t *run, const char *key)
{
	return json_object_get(json_object_get(run, "result"), key);
}

/* ---- the independent computation ---- */

/* Covered days of 2024, day by day: a declaration to a GP member that day,
 * the patient born and alive that day (option whole, AME included). */
#define COVERED_DAYS                                                                                           \
	"WITH days AS (SELECT d::date AS d FROM generate_series('2024-01-01'::date, '2024-12-31', '1 day') d),"     \
	" mg AS (SELECT p.rpps, m.start_on, m.end_on FROM memberships m JOIN professionals p ON p.id ="            \
	"  m.professional_id WHERE m.structure_id = %ld AND p.profession = 'MG'),"                                  \
	" cand AS (SELECT DISTINCT d.patient_id FROM mt_declarations d JOIN mg ON mg.rpps = d.gp_rpps),"           \
	" cov AS (SELECT pt.id, days.d FROM cand JOIN patients pt ON pt.id = cand.patient_id CROSS JOIN days"       \
	"  WHERE make_date(pt.birth_year, coalesce(pt.birth_month, 1), 1) <= days.d"                                \
	"  AND (pt.death_date IS NULL OR pt.death_date >= days.d)"                                                  \
	"  AND EXISTS (SELECT 1 FROM mt_declarations x JOIN mg ON mg.rpps = x.gp_rpps WHERE x.patient_id = pt.id"   \
	"   AND x.start_on <= days.d AND (x.end_on IS NULL OR x.end_on >= days.d) AND mg.start_on <= days.d"        \
	"   AND (mg.end_on IS NULL OR mg.end_on >= days.d)))"

START_TEST(simulation_matches_an_independent_computation)
{
	json_t *run = peps_run(sid[0], nat, "{\"year\":2024,\"phase\":\"simulation\"}");
	long id = (long)json_integer_value(json_object_get(run, "id"));
	char want[1 << 16], got[1 << 16];
	double fid;

	ck_assert_str_eq(json_string_value(json_object_get(run, "phase")), "simulation");
	ck_assert(json_is_false(json_object_get(run, "what_if")));
	ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")), 0); /* nothing paid */
	ck_assert_int_eq(json_array_size(json_object_get(run, "schedule")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(run, "patients")), 200);
	/* who is covered, and for how many days: day by day in SQL */
	snprintf(want, sizeof(want), "%s", h_sqlf(&db, COVERED_DAYS " SELECT string_agg(id || ':' || n, ',' ORDER BY id) FROM"
						 " (SELECT id, count(*) AS n FROM cov GROUP BY id) x", sid[0]));
	snprintf(got, sizeof(got), "%s", h_sqlf(&db, "SELECT string_agg(patient_id || ':' || covered_days, ',' ORDER BY"
					      " patient_id) FROM peps_lines WHERE run_id = %ld", id));
	ck_assert_int_gt(strlen(want), 100);
	ck_assert_msg(strcmp(want, got) == 0, "covered days differ:\n%.300s\n%.300s", want, got);
	/* the team's fidelisation: its members' share of the covered patients' perimeter care */
	fid = strtod(h_sqlf(&db, "WITH t AS (SELECT p.rpps, m.start_on, m.end_on FROM memberships m JOIN professionals p ON"
			  " p.id = m.professional_id WHERE m.structure_id = %ld)"
			  " SELECT (sum(c.base_cents) FILTER (WHERE EXISTS (SELECT 1 FROM t WHERE t.rpps = c.rpps AND"
			  " t.start_on <= c.care_date AND (t.end_on IS NULL OR t.end_on >= c.care_date))))::float8"
			  " / sum(c.base_cents) FROM claims c JOIN peps_lines l ON l.patient_id = c.patient_id"
			  " AND l.run_id = %ld WHERE c.dataset = %ld AND c.care_date BETWEEN '2024-01-01' AND '2024-12-31'"
			  " AND c.act_code IN ('G','GS','VG','VGS','TCG','MCG','MU','MD','GL1','GL2','GL3')",
			  sid[0], id, sid[0]), NULL);
	ck_assert_msg(fabs(fid - json_number_value(res(run, "fidelisation"))) < 1e-9, "%.12f vs %.12f", fid,
		      json_number_value(res(run, "fidelisation")));
	ck_assert(fid > 0.3 && fid < 1);
	/* the fee-for-service the team billed on those patients, on covered days */
	{
		const char *ffs = h_sqlf(&db, COVERED_DAYS ", t AS (SELECT p.rpps, m.start_on, m.end_on FROM memberships m JOIN"
				       " professionals p ON p.id = m.professional_id WHERE m.structure_id = %ld)"
				       " SELECT coalesce(sum(c.base_cents), 0) FROM claims c JOIN cov ON cov.id = c.patient_id"
				       " AND cov.d = c.care_date WHERE c.dataset = %ld AND c.act_code IN ('G','GS','VG','VGS',"
				       "'TCG','MCG','MU','MD','GL1','GL2','GL3') AND EXISTS (SELECT 1 FROM t WHERE t.rpps ="
				       " c.rpps AND t.start_on <= c.care_date AND (t.end_on IS NULL OR t.end_on >= c.care_date))",
				       sid[0], sid[0], sid[0]);
		ck_assert_int_eq(strtoll(ffs, NULL, 10),
				 json_integer_value(json_object_get(res(run, "ffs"), "total_cents")));
	}
	/* lines add up to the forfait, which adds up by quarter */
	ck_assert_int_eq(strtoll(h_sqlf(&db, "SELECT sum(amount_cents) FROM peps_lines WHERE run_id = %ld", id), NULL, 10),
			 json_integer_value(res(run, "forfait_cents")));
	{
		long long q = 0;
		size_t i;
		json_t *v;
		json_array_foreach(res(run, "forfait_by_quarter"), i, v)
			q += json_integer_value(v);
		ck_assert_int_eq(q, json_integer_value(res(run, "forfait_cents")));
	}
	/* and each line is base x fidelisation x coefficients x days: recomputed from its own figures */
	{
		const char *drift = h_sqlf(&db, "SELECT max(abs(earned_cents - base_cents * fidelisation * 1.05 * covered_days"
					 " / 366.0)) FROM peps_lines WHERE run_id = %ld", id);
		ck_assert_msg(strtod(drift, NULL) < 1.0, "a line drifts by %s cents", drift);
	}
	json_decref(run);
}
END_TEST

/* Same inputs, same run: the digest and every line are the same bytes. */
START_TEST(rerun_gives_the_same_bytes)
{
	json_t *a = peps_run(sid[0], nat, "{\"year\":2024,\"phase\":\"simulation\"}");
	json_t *b = peps_run(sid[0], nat, "{\"year\":2024,\"phase\":\"simulation\"}");
	long ia = (long)json_integer_value(json_object_get(a, "id")), ib = (long)json_integer_value(json_object_get(b, "id"));
	char la[65], lb[65];

	ck_assert_int_ne(ia, ib);
	ck_assert_str_eq(json_string_value(json_object_get(a, "inputs_digest")),
			 json_string_value(json_object_get(b, "inputs_digest")));
	snprintf(la, sizeof(la), "%s", h_sqlf(&db, "SELECT md5(string_agg(l::text, '|' ORDER BY patient_id)) FROM (SELECT"
					    " patient_id, base_cents, fidelisation, earned_cents, amount_cents FROM"
					    " peps_lines WHERE run_id = %ld) l", ia));
	snprintf(lb, sizeof(lb), "%s", h_sqlf(&db, "SELECT md5(string_agg(l::text, '|' ORDER BY patient_id)) FROM (SELECT"
					    " patient_id, base_cents, fidelisation, earned_cents, amount_cents FROM"
					    " peps_lines WHERE run_id = %ld) l", ib));
	ck_assert_str_eq(la, lb);
	{
		char *ra = json_dumps(json_object_get(a, "result"), JSON_COMPACT | JSON_SORT_KEYS);
		char *rb = json_dumps(json_object_get(b, "result"), JSON_COMPACT | JSON_SORT_KEYS);
		ck_assert_str_eq(ra, rb);
		free(ra);
		free(rb);
	}
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(phases_are_checked_and_paid)
{
	int st;
	json_t *j, *run, *it;
	size_t i;
	long long sum = 0;

	/* in preparation, only a simulation is official */
	j = api("POST", nat, "{\"year\":2024,\"phase\":\"prospective\"}", &st, "/v1/structures/%ld/peps/runs", sid[0]);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	/* retrospective: fee-for-service went on; the bonus is what the forfait beats it by */
	run = peps_run(sid[1], ars, "{\"year\":2024,\"phase\":\"retrospective\"}");
	{
		long long forfait = json_integer_value(res(run, "forfait_cents"));
		long long ffs = json_integer_value(json_object_get(res(run, "ffs"), "total_cents"));
		const json_t *item = json_array_get(json_object_get(run, "schedule"), 0);
		ck_assert_int_eq(json_array_size(json_object_get(run, "schedule")), 1);
		ck_assert_str_eq(json_string_value(json_object_get(item, "kind")), "bonus");
		ck_assert_str_eq(json_string_value(json_object_get(item, "due_on")), "2025-03-31");
		ck_assert_int_eq(json_integer_value(json_object_get(item, "cents")), forfait > ffs ? forfait - ffs : 0);
		ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")),
				 json_integer_value(json_object_get(item, "cents")));
		ck_assert_int_eq(strtoll(h_sqlf(&db, "SELECT coalesce(sum(amount_cents), 0) FROM peps_lines WHERE run_id = %lld",
					      (long long)json_integer_value(json_object_get(run, "id"))), NULL, 10),
				 json_integer_value(json_object_get(run, "total_cents")));
	}
	json_decref(run);
	/* prospective: four instalments, then the adjustment to what was earned */
	run = peps_run(sid[2], nat, "{\"year\":2024,\"phase\":\"prospective\"}");
	ck_assert_int_eq(json_array_size(json_object_get(run, "schedule")), 5);
	json_array_foreach(json_object_get(run, "schedule"), i, it) {
		sum += json_integer_value(json_object_get(it, "cents"));
		if (i < 4) {
			char due[16];
			snprintf(due, sizeof(due), "2024-%02d-16", (int)(3 * i + 1));
			ck_assert_str_eq(json_string_value(json_object_get(it, "kind")), "instalment");
			ck_assert_str_eq(json_string_value(json_object_get(it, "due_on")), due);
			ck_assert_int_gt(json_integer_value(json_object_get(it, "cents")), 0);
		}
	}
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(run, "schedule"), 4), "kind")),
			 "adjustment");
	ck_assert_int_eq(sum, json_integer_value(json_object_get(run, "total_cents")));
	ck_assert_int_eq(sum, json_integer_value(res(run, "forfait_cents")));
	ck_assert_int_eq(strtoll(h_sqlf(&db, "SELECT sum(amount_cents) FROM peps_lines WHERE run_id = %lld",
				      (long long)json_integer_value(json_object_get(run, "id"))), NULL, 10), sum);
	/* the cap of the arrêté of 2022: at most 1.2 x the year before's fee-for-service */
	if (json_is_true(json_object_get(res(run, "cap"), "applied")))
		ck_assert_int_le(json_integer_value(res(run, "forfait_cents")),
				 json_integer_value(json_object_get(res(run, "cap"), "cap_cents")));
	json_decref(run);
	/* one quarter's instalment alone, about the patients covered in it */
	run = peps_run(sid[2], nat, "{\"year\":2024,\"quarter\":2,\"phase\":\"prospective\"}");
	ck_assert_int_eq(json_array_size(json_object_get(run, "schedule")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(run, "schedule"), 0), "quarter")), 2);
	ck_assert_int_eq(strtoll(h_sqlf(&db, "SELECT sum(amount_cents) FROM peps_lines WHERE run_id = %lld",
				      (long long)json_integer_value(json_object_get(run, "id"))), NULL, 10),
			 json_integer_value(json_object_get(run, "total_cents")));
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM peps_lines WHERE run_id = %lld AND covered_days = 0",
			      (long long)json_integer_value(json_object_get(run, "id"))), "0");
	{
		/* the year run that follows settles what that quarter run paid, as it paid it */
		long long q2 = json_integer_value(json_object_get(json_array_get(json_object_get(run, "schedule"), 0), "cents"));
		json_t *year = peps_run(sid[2], nat, "{\"year\":2024,\"phase\":\"prospective\"}"), *cur;
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(year, "schedule"), 1),
								    "cents")), q2);
		ck_assert_int_eq(json_integer_value(json_array_get(res(year, "instalments_paid_before"), 0)), 2);
		/* of the two official year runs, the later one counts */
		ck_assert(json_is_true(json_object_get(year, "current")));
		cur = api("GET", nat, NULL, &st, "/v1/peps/runs?structure_id=%ld&phase=prospective&current=true", sid[2]);
		ck_assert_int_eq(json_array_size(json_object_get(cur, "items")), 2); /* the year, and Q2 */
		json_decref(cur);
		json_decref(year);
	}
	json_decref(run);
}
END_TEST

/* A structure runs what-ifs of its own: another option, another parameter
 * set; they are flagged and kept apart from official runs. */
START_TEST(what_ifs_stay_apart)
{
	int st;
	json_t *j, *run;
	long pid;

	j = api("POST", stok[0], "{\"year\":2024,\"phase\":\"simulation\"}", &st, "/v1/structures/%ld/peps/runs", sid[0]);
	ck_assert_int_eq(st, 422); /* official runs are the payer's */
	json_decref(j);
	j = api("POST", stok[0], "{\"year\":2024,\"phase\":\"simulation\",\"what_if\":true}", &st,
		"/v1/structures/%ld/peps/runs", sid[1]);
	ck_assert_int_eq(st, 404); /* not its structure */
	json_decref(j);
	run = peps_run(sid[0], stok[0], "{\"year\":2024,\"phase\":\"prospective\",\"what_if\":true,\"option\":\"elderly\"}");
	ck_assert(json_is_true(json_object_get(run, "what_if")));
	ck_assert_str_eq(json_string_value(json_object_get(run, "option")), "elderly");
	/* the elderly are fewer than the whole patientèle */
	ck_assert_int_lt(json_integer_value(json_object_get(run, "patients")),
			 strtoll(h_sqlf(&db, "SELECT patients FROM peps_runs WHERE structure_id = %ld AND NOT what_if ORDER BY id"
				      " LIMIT 1", sid[0]), NULL, 10));
	json_decref(run);
	/* official lists leave what-ifs out */
	j = api("GET", stok[0], NULL, &st, "/v1/peps/runs?what_if=false&structure_id=%ld", sid[0]);
	ck_assert_int_eq(st, 200);
	{
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(j, "items"), i, it)
			ck_assert(json_is_false(json_object_get(it, "what_if")));
	}
	json_decref(j);
	/* a parameter set with no cap headroom: the cap binds at last year's fee-for-service */
	pid = h_param_set_variant(srv.port, nat,
				  strtol(h_sqlf(&db, "SELECT max(id) FROM parameter_sets WHERE experiment = 'PEPS' AND year = 2024"),
					 NULL, 10),
				  "PEPS 2024, no cap headroom (test)", 0, "{\"cap.rate\": 0.0, \"quality.bonus_rate\": 0.5}");
	{
		char req[256];
		snprintf(req, sizeof(req), "{\"year\":2024,\"phase\":\"prospective\",\"what_if\":true,\"parameter_set_id\":%ld}",
			 pid);
		run = peps_run(sid[2], nat, req);
	}
	ck_assert(json_is_true(json_object_get(res(run, "cap"), "applied")));
	ck_assert_int_eq(json_integer_value(res(run, "forfait_cents")),
			 json_integer_value(json_object_get(res(run, "cap"), "prior_ffs_cents")));
	ck_assert_int_gt(json_integer_value(json_object_get(res(run, "cap"), "effect_cents")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(res(run, "parameter_set"), "id")), pid);
	json_decref(run);
	/* a set naming a model nobody fitted: the 422 names the PEPS key that holds the name (a year
	 * no run takes by default) */
	pid = h_param_set_variant(srv.port, nat, pid, "PEPS, a model never fitted (test)", 2022,
				  "{\"forfait.risk_model\": \"never-fitted\"}");
	{
		char req[256];
		snprintf(req, sizeof(req), "{\"year\":2024,\"phase\":\"prospective\",\"what_if\":true,\"parameter_set_id\":%ld}",
			 pid);
		j = api("POST", nat, req, &st, "/v1/structures/%ld/peps/runs", sid[2]);
	}
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field")),
			 "forfait.risk_model");
	json_decref(j);
}
END_TEST

START_TEST(tenancy_of_runs)
{
	int st;
	long id = strtol(h_sqlf(&db, "SELECT max(id) FROM peps_runs WHERE structure_id = %ld AND NOT what_if", sid[0]), NULL, 10);
	json_t *j;

	ck_assert_int_gt(id, 0);
	j = api("GET", stok[0], NULL, &st, "/v1/peps/runs/%ld", id);
	ck_assert_int_eq(st, 200);
	json_decref(j);
	j = api("GET", stok[1], NULL, &st, "/v1/peps/runs/%ld", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("GET", stok[1], NULL, &st, "/v1/peps/runs/%ld/lines", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("GET", ars_other, NULL, &st, "/v1/peps/runs/%ld", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("GET", ars, NULL, &st, "/v1/peps/runs/%ld", id);
	ck_assert_int_eq(st, 200);
	{
		/* the run links to its lines and its distribution */
		char want[64];
		snprintf(want, sizeof(want), "/v1/peps/runs/%ld/lines", id);
		ck_assert_str_eq(json_string_value(json_object_get(j, "lines_url")), want);
		snprintf(want, sizeof(want), "/v1/peps/runs/%ld/distribution", id);
		ck_assert_str_eq(json_string_value(json_object_get(j, "distribution_url")), want);
	}
	json_decref(j);
	j = api("GET", stok[1], NULL, &st, "/v1/peps/runs?limit=500");
	ck_assert_int_eq(st, 200);
	{
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(j, "items"), i, it)
			ck_assert_int_eq(json_integer_value(json_object_get(it, "structure_id")), sid[1]);
	}
	json_decref(j);
	/* lines page and CSV agree */
	{
		struct h_resp r;
		char path[128], auth[128];
		long long csv_sum = 0;
		snprintf(path, sizeof(path), "/v1/peps/runs/%ld/lines?format=csv", id);
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", stok[0]);
		ck_assert_int_eq(h_get(srv.port, path, auth, &r), 0);
		ck_assert_int_eq(r.status, 200);
		ck_assert_ptr_nonnull(strstr(r.head, "text/csv"));
		/* the last column of every line after the header */
		for (char *save = NULL, *line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (line != r.body)
				csv_sum += strtoll(strrchr(line, ';') + 1, NULL, 10);
		h_resp_free(&r);
		ck_assert_int_eq(csv_sum, strtoll(h_sqlf(&db, "SELECT sum(amount_cents) FROM peps_lines WHERE run_id = %ld", id),
						  NULL, 10));
	}
}
END_TEST

/* The team splits a paid run between its members; shares add up to the total. */
START_TEST(distribution_proposals_and_split)
{
	int st;
	long id = strtol(h_sqlf(&db, "SELECT max(id) FROM peps_runs WHERE structure_id = %ld AND NOT what_if AND quarter IS NULL"
			      " AND phase = 'prospective'", sid[2]), NULL, 10);
	json_t *j, *it;
	size_t i;
	long long total, sum = 0;
	char body[8192];
	size_t len = 0;

	j = api("GET", stok[2], NULL, &st, "/v1/peps/runs/%ld/distribution?key=fte", id);
	ck_assert_msg(st == 200, "%d %s", st, json_dumps(j, JSON_COMPACT));
	total = json_integer_value(json_object_get(j, "total_cents"));
	ck_assert_int_gt(total, 0);
	ck_assert(json_is_null(json_object_get(j, "recorded")));
	len += (size_t)snprintf(body + len, sizeof(body) - len, "{\"key\":\"fte\",\"shares\":[");
	json_array_foreach(json_object_get(j, "proposal"), i, it) {
		sum += json_integer_value(json_object_get(it, "cents"));
		len += (size_t)snprintf(body + len, sizeof(body) - len, "%s{\"rpps\":\"%s\",\"cents\":%lld}", i ? "," : "",
					json_string_value(json_object_get(it, "rpps")),
					(long long)json_integer_value(json_object_get(it, "cents")));
	}
	snprintf(body + len, sizeof(body) - len, "]}");
	ck_assert_int_eq(sum, total);
	json_decref(j);
	/* a wrong total, a stranger: refused */
	j = api("PUT", stok[2], "{\"shares\":[{\"rpps\":\"10000000017\",\"cents\":1}]}", &st,
		"/v1/peps/runs/%ld/distribution", id);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = api("PUT", stok[1], body, &st, "/v1/peps/runs/%ld/distribution", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("PUT", stok[2], body, &st, "/v1/peps/runs/%ld/distribution", id);
	ck_assert_msg(st == 200, "%d %s", st, json_dumps(j, JSON_COMPACT));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "total_cents")), total);
	json_decref(j);
	j = api("GET", stok[2], NULL, &st, "/v1/peps/runs/%ld/distribution?key=equal", id);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "recorded"), "version")), 1);
	json_decref(j);
	/* the split's trace carries the run's region and structure: its ARS sees it */
	{
		char traced[64]; /* h_sqlf's answer lives until its next call */
		snprintf(traced, sizeof(traced), "%s", h_sqlf(&db, "SELECT region || ':' || structure_id FROM audit_log"
							    " WHERE action = 'split' AND resource_type = 'peps_run'"
							    " AND resource_id = '%ld'", id));
		ck_assert_str_eq(traced, h_sqlf(&db, "SELECT region || ':' || structure_id FROM peps_runs WHERE id = %ld",
						 id));
	}
	/* a what-if has nothing to split */
	id = strtol(h_sqlf(&db, "SELECT max(id) FROM peps_runs WHERE what_if AND structure_id = %ld", sid[2]), NULL, 10);
	j = api("PUT", nat, body, &st, "/v1/peps/runs/%ld/distribution", id);
	ck_assert_int_eq(st, 422);
	json_decref(j);
}
END_TEST

/* An ARS runs its region's enrolled structures in one job. */
START_TEST(batch_of_a_region)
{
	int st;
	json_t *job = run_job(ars, "{\"year\":2024,\"phase\":\"simulation\"}", "/v1/peps/runs"), *j;
	long batch;

	ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
	batch = (long)json_integer_value(json_object_get(json_object_get(job, "result"), "id"));
	{
		char want[64];
		snprintf(want, sizeof(want), "/v1/peps/batches/%ld", batch);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(job, "result"), "type")), "peps_batch");
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(job, "result"), "url")), want);
	}
	j = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), ars,
		       NULL, &st);
	json_decref(job);
	ck_assert_int_eq(st, 200);
	/* what the batch did, and what it skipped and why */
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "summary"), "runs")), 1);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "summary"), "skipped")), 2);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(j,
		"summary"), "skipped"), 0), "reason")), "phase"));
	json_decref(j);
	j = api("GET", stok[0], NULL, &st, "/v1/peps/batches/%ld", batch);
	ck_assert_int_eq(st, 403); /* batches are the payer's */
	json_decref(j);
	j = api("GET", ars, NULL, &st, "/v1/peps/runs?batch_id=%ld", batch);
	ck_assert_int_eq(st, 200);
	/* the one structure in preparation is run; the two in later phases are listed as skipped */
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 0),
							   "structure_id")), sid[0]);
	json_decref(j);

	/* the other region's ARS sees nothing of it */
	j = api("GET", ars_other, NULL, &st, "/v1/peps/runs?batch_id=%ld", batch);
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	j = api("POST", ars, "{\"year\":2024,\"phase\":\"simulation\",\"region\":\"11\"}", &st, "/v1/peps/runs");
	ck_assert_int_eq(st, 422);
	json_decref(j);
}
END_TEST

START_TEST(runs_are_immutable)
{
	long id = strtol(h_sqlf(&db, "SELECT max(id) FROM peps_runs"), NULL, 10);

	h_sqlf(&db, "UPDATE peps_runs SET total_cents = 1 WHERE id = %ld", id);
	h_sqlf(&db, "DELETE FROM peps_lines WHERE run_id = %ld", id);
	ck_assert_str_ne(h_sqlf(&db, "SELECT total_cents FROM peps_runs WHERE id = %ld", id), "1");
	ck_assert_str_ne(h_sqlf(&db, "SELECT count(*) FROM peps_lines WHERE run_id = %ld", id), "0");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("peps_runs");
	TCase *tc = tcase_create("peps_runs");

	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, simulation_matches_an_independent_computation);
	tcase_add_test(tc, rerun_gives_the_same_bytes);
	tcase_add_test(tc, phases_are_checked_and_paid);
	tcase_add_test(tc, what_ifs_stay_apart);
	tcase_add_test(tc, tenancy_of_runs);
	tcase_add_test(tc, distribution_proposals_and_split);
	tcase_add_test(tc, batch_of_a_region);
	tcase_add_test(tc, runs_are_immutable);
	suite_add_tcase(s, tc);
	return s;
}

/* Without fork: the tests build on the runs the previous ones made. */
int main(void)
{
	return h_run_nofork(suite());
}
