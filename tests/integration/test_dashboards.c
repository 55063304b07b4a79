/* Quality indicators, dashboards and care gaps through the API, on a
 * synthetic region loaded the way `make demo` loads it (scripts/load-demo.py:
 * uploads, enrolments, models, PEPS/IPEP/EDS batches, indicator runs of
 * 2023 and 2024). Indicator values are checked against SQL written from the
 * definitions (not the code's statements): a window function for RH30,
 * PostgreSQL's percentile_cont for the deciles; dashboards against their own
 * parts; care gaps against the values; tenancy and validation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct h_db db;
static struct h_srv srv;
static char nat[64], ars[64], ars_other[64], s1tok[64], s2tok[64];
static long s1, s2, cpts, run23, run24;

#define SQLL(...) strtoll(h_sqlf(&db, __VA_ARGS__), NULL, 10)
#define SQLD(...) strtod(h_sqlf(&db, __VA_ARGS__), NULL)

static json_t *get(const char *tok, int want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static json_t *get(const char *tok, int want, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	int st;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	j = h_api_json(srv.port, "GET", path, tok, NULL, &st);
	ck_assert_msg(st == want, "GET %s: %d, want %d: %s", path, st, want, json_dumps(j, JSON_COMPACT));
	return j;
}

static long run_indicators(const char *tok, int year)
{
	char body[32];
	int st;
	json_t *j, *job;
	long id;

	snprintf(body, sizeof(body), "{\"year\":%d}", year);
	j = h_api_json(srv.port, "POST", "/v1/regions/84/indicators/runs", tok, body, &st);
	ck_assert_msg(st == 202, "%d %s", st, json_dumps(j, JSON_COMPACT));
	job = h_wait_job(srv.port, nat, (long)json_integer_value(json_object_get(j, "id")), 300);
	ck_assert_msg(strcmp(json_string_value(json_object_get(job, "status")), "succeeded") == 0, "%s",
		      json_dumps(job, JSON_COMPACT));
	id = (long)json_integer_value(json_object_get(json_object_get(job, "result"), "id"));
	json_decref(j);
	json_decref(job);
	return id;
}

static void up(void)
{
	char dir[600], cmd[4096], scope[48];

	h_db_create(&db, "dash");
	h_srv_start(&srv, db.url, (const char *const[]){ "A51_WORKERS=2", NULL });
	h_token_cli(db.url, "national", "national", false, nat);
	snprintf(dir, sizeof(dir), "%s/dash-synth", getenv("A51_TEST_VARDIR") ? getenv("A51_TEST_VARDIR") : "/tmp");
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && '%s' synth --patients 8000 --structures 8 --year 2024 --years 2 --reference 8000"
		 " --seed 21 --surgery-rate 5 --out '%s' >/dev/null 2>&1 &&"
		 " python3 '%s/scripts/load-demo.py' http://127.0.0.1:%u %s '%s' >/dev/null 2>&1",
		 dir, getenv("A51D_BIN"), dir, getenv("A51_SOURCE_ROOT"), (unsigned)srv.port, nat, dir);
	ck_assert_int_eq(system(cmd), 0);
	s1 = SQLL("SELECT id FROM structures WHERE name = 'Maison de santé des Coteaux 1'");
	s2 = SQLL("SELECT id FROM structures WHERE name = 'Maison de santé des Coteaux 2'");
	cpts = SQLL("SELECT id FROM structures WHERE kind = 'CPTS'");
	run23 = SQLL("SELECT max(id) FROM indicator_runs WHERE year = 2023");
	run24 = SQLL("SELECT max(id) FROM indicator_runs WHERE year = 2024");
	ck_assert(s1 > 0 && s2 > 0 && cpts > 0 && run23 > 0 && run24 > run23);
	h_token_api(srv.port, nat, "ars:84", ars);
	h_token_api(srv.port, nat, "ars:11", ars_other);
	snprintf(scope, sizeof(scope), "structure:%ld", s1);
	h_token_api(srv.port, nat, scope, s1tok);
	snprintf(scope, sizeof(scope), "structure:%ld", s2);
	h_token_api(srv.port, nat, scope, s2tok);
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
}

/* The médecin-traitant patientèle of structure s on 31 December 2024, alive, as SQL of its own. */
#define PATIENTELE(s)                                                                                            \
	"(SELECT DISTINCT d.patient_id AS pid FROM mt_declarations d JOIN professionals g ON g.rpps = d.gp_rpps"        \
	" AND g.profession = 'MG' JOIN memberships m ON m.professional_id = g.id AND m.structure_id = " s                \
	" AND m.start_on <= '2024-12-31' AND coalesce(m.end_on, '2024-12-31') >= '2024-12-31'"                          \
	" JOIN patients p ON p.id = d.patient_id WHERE d.start_on <= '2024-12-31'"                                      \
	" AND coalesce(d.end_on, '2024-12-31') >= '2024-12-31' AND coalesce(p.death_date, '2025-01-01') > '2024-12-31')"

static void value_of(long run, long sid, const char *code, long long *num, long long *den)
{
	*num = SQLL("SELECT numerator FROM indicator_values WHERE run_id = %ld AND structure_id = %ld AND code = '%s'", run,
		    sid, code);
	*den = SQLL("SELECT denominator FROM indicator_values WHERE run_id = %ld AND structure_id = %ld AND code = '%s'",
		    run, sid, code);
}

START_TEST(values_recomputed_in_sql)
{
	long long num, den;
	char sid[24];

	snprintf(sid, sizeof(sid), "%ld", s1);
	/* diabetes follow-up: ALD 8 during 2024, three BIO claims or more in the year */
	value_of(run24, s1, "DIAB_FOLLOWUP", &num, &den);
	ck_assert_int_gt(den, 20);
	ck_assert_int_eq(den, SQLL("SELECT count(*) FROM " PATIENTELE("%s") " t WHERE EXISTS (SELECT 1 FROM patient_ald a"
				   " WHERE a.patient_id = t.pid AND a.ald = 8 AND a.start_on <= '2024-12-31'"
				   " AND coalesce(a.end_on, '2024-01-01') >= '2024-01-01')", sid));
	ck_assert_int_eq(num, SQLL("SELECT count(*) FROM " PATIENTELE("%s") " t WHERE EXISTS (SELECT 1 FROM patient_ald a"
				   " WHERE a.patient_id = t.pid AND a.ald = 8 AND a.start_on <= '2024-12-31'"
				   " AND coalesce(a.end_on, '2024-01-01') >= '2024-01-01') AND (SELECT count(*) FROM claims c"
				   " WHERE c.dataset = %s AND c.patient_id = t.pid AND c.act_code = 'BIO'"
				   " AND c.care_date >= '2024-01-01' AND c.care_date <= '2024-12-31') >= 3", sid, sid));
	/* RH30, by a window over each patient's stays: the next admission after a discharge */
	value_of(run24, s1, "RH30", &num, &den);
	ck_assert_int_gt(den, 20);
	ck_assert_int_gt(num, 0);
	ck_assert_int_eq(den, SQLL("SELECT count(DISTINCT t.pid) FROM " PATIENTELE("%s") " t JOIN stays s ON s.patient_id = t.pid"
				   " AND s.dataset = %s AND s.field = 'MCO' AND s.discharge_date BETWEEN '2024-01-01' AND"
				   " '2024-12-31' AND s.exit_mode NOT IN ('7', '9') AND coalesce(s.ghm, '') NOT LIKE '28%%'",
				   sid, sid));
	ck_assert_int_eq(num, SQLL("WITH s AS (SELECT s.patient_id, s.admission_date, s.discharge_date, s.exit_mode,"
				   " s.entry_mode FROM stays s WHERE s.dataset = %s AND s.field = 'MCO'"
				   " AND coalesce(s.ghm, '') NOT LIKE '28%%'),"
				   " idx AS (SELECT a.patient_id, a.discharge_date FROM s a WHERE a.discharge_date BETWEEN"
				   " '2024-01-01' AND '2024-12-31' AND a.exit_mode NOT IN ('7', '9'))"
				   " SELECT count(DISTINCT i.patient_id) FROM idx i JOIN " PATIENTELE("%s") " t ON t.pid = i.patient_id"
				   " JOIN s b ON b.patient_id = i.patient_id AND b.entry_mode <> '7'"
				   " AND b.admission_date - i.discharge_date BETWEEN 1 AND 30", sid, sid));
	/* the stored value, its interval, its points and the year before */
	ck_assert_double_eq_tol(SQLD("SELECT value FROM indicator_values WHERE run_id = %ld AND structure_id = %ld AND"
				     " code = 'RH30'", run24, s1), (double)num / (double)den, 1e-15);
	ck_assert_int_eq(SQLL("SELECT count(*) FROM indicator_values WHERE run_id = %ld AND value IS NOT NULL AND NOT"
			      " (ci_low <= value AND value <= ci_high)", run24), 0);
	ck_assert_int_eq(SQLL("SELECT count(*) FROM indicator_values v JOIN indicator_values w ON w.run_id = %ld"
			      " AND w.structure_id = v.structure_id AND w.code = v.code WHERE v.run_id = %ld"
			      " AND v.previous IS DISTINCT FROM w.value", run23, run24), 0);
	ck_assert_int_gt(SQLL("SELECT count(*) FROM indicator_values WHERE run_id = %ld AND previous IS NOT NULL", run24), 0);
	ck_assert_int_eq(SQLL("SELECT count(*) FROM indicator_values WHERE run_id = %ld AND (points < 0 OR points > 10)",
			      run24), 0);
}
END_TEST

/* Deciles of each indicator: percentile_cont (type 7) over the structures
 * with the minimum denominator; targets at the 8th decile (2nd when decreasing). */
START_TEST(deciles_and_targets)
{
	json_t *run = get(ars, 200, "/v1/indicators/runs/%ld", run24), *d;
	long long min_den = json_integer_value(json_object_get(json_object_get(run, "result"), "min_denominator"));
	size_t i;

	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(run, "result"), "indicators")), 8);
	json_array_foreach(json_object_get(json_object_get(run, "result"), "indicators"), i, d) {
		const char *code = json_string_value(json_object_get(d, "code"));
		bool dec = strcmp(json_string_value(json_object_get(d, "direction")), "decreasing") == 0;
		if (json_is_null(json_object_get(d, "deciles")))
			continue;
		for (int k = 0; k < 9; k++)
			ck_assert_double_eq_tol(
				json_number_value(json_array_get(json_object_get(d, "deciles"), (size_t)k)),
				SQLD("SELECT percentile_cont(%d / 10.0) WITHIN GROUP (ORDER BY value) FROM indicator_values"
				     " WHERE run_id = %ld AND code = '%s' AND denominator >= %lld AND denominator > 0",
				     k + 1, run24, code, min_den),
				1e-12);
		/* the API writes 15 significant digits */
		ck_assert_int_eq(SQLL("SELECT count(*) FROM indicator_values WHERE run_id = %ld AND code = '%s' AND"
				      " (target IS NULL OR abs(target - %.17g) > 1e-13)", run24, code,
				      json_number_value(json_array_get(json_object_get(d, "deciles"), dec ? 1 : 7))),
				 0);
	}
	json_decref(run);
}
END_TEST

START_TEST(rerun_gives_the_same_digest)
{
	long again = run_indicators(ars, 2024);

	ck_assert_int_eq(SQLL("SELECT count(*) FROM indicator_runs a JOIN indicator_runs b ON a.digest = b.digest"
			      " WHERE a.id = %ld AND b.id = %ld", again, run24), 1);
	ck_assert_int_eq(SQLL("SELECT count(*) FROM (SELECT structure_id, code, numerator, denominator, value, points"
			      " FROM indicator_values WHERE run_id = %ld EXCEPT SELECT structure_id, code, numerator,"
			      " denominator, value, points FROM indicator_values WHERE run_id = %ld) x", again, run24), 0);
	run24 = again;
}
END_TEST

static long long sum_members(const json_t *arr, const char *member)
{
	long long t = 0;
	size_t i;
	const json_t *x;

	json_array_foreach(arr, i, x) t += json_integer_value(json_object_get(x, member));
	return t;
}

START_TEST(structure_dashboard_adds_up)
{
	json_t *d = get(s1tok, 200, "/v1/structures/%ld/dashboard?year=2024", s1), *ind, *fin, *pat, *it;
	struct h_resp r;
	size_t i, lines = 0;
	bool rh30_trend = false;
	char path[96];

	ind = json_object_get(d, "indicators");
	ck_assert_int_eq(json_integer_value(json_object_get(ind, "run_id")),
			 SQLL("SELECT max(id) FROM indicator_runs WHERE region = '84' AND year = 2024"));
	ck_assert_int_eq(json_array_size(json_object_get(ind, "items")), 8);
	json_array_foreach(json_object_get(ind, "items"), i, it) {
		if (strcmp(json_string_value(json_object_get(it, "code")), "RH30") == 0)
			rh30_trend = json_array_size(json_object_get(it, "trend")) == 2;
		ck_assert(json_is_array(json_object_get(it, "ci")));
	}
	ck_assert(rh30_trend);
	ck_assert_double_eq_tol(json_number_value(json_object_get(ind, "points")),
				SQLD("SELECT sum(points) FROM indicator_values WHERE run_id = (SELECT max(id) FROM"
				     " indicator_runs WHERE year = 2024) AND structure_id = %ld", s1), 1e-9);
	pat = json_object_get(d, "patientele");
	ck_assert_int_gt(json_integer_value(json_object_get(pat, "patients")), 500);
	ck_assert_int_eq(sum_members(json_object_get(pat, "by_age"), "patients"),
			 json_integer_value(json_object_get(pat, "patients")));
	ck_assert_int_eq(json_integer_value(json_object_get(pat, "women")) + json_integer_value(json_object_get(pat, "men")),
			 json_integer_value(json_object_get(pat, "patients")));
	fin = json_object_get(d, "finance");
	ck_assert_int_eq(sum_members(json_object_get(json_object_get(fin, "peps"), "quarters"), "forfait_cents"),
			 json_integer_value(json_object_get(json_object_get(fin, "peps"), "forfait_cents")));
	ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(fin, "peps"), "ffs_cents")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(fin, "spending")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(fin, "spending"), 1), "cents")),
			 SQLL("SELECT (SELECT sum(base_cents) FROM claims WHERE dataset = %ld AND care_date BETWEEN"
			      " '2024-01-01' AND '2024-12-31') + (SELECT coalesce(sum(amount_cents), 0) FROM stays WHERE"
			      " dataset = %ld AND admission_date BETWEEN '2024-01-01' AND '2024-12-31')", s1, s1));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(d, "experiments"), 0), "experiment")),
			 "PEPS");
	ck_assert_int_ge(json_array_size(json_object_get(d, "uploads")), 4);
	json_decref(d);

	/* the same indicators as CSV */
	snprintf(path, sizeof(path), "/v1/structures/%ld/dashboard?year=2024&format=csv", s1);
	ck_assert_int_eq(h_api(srv.port, "GET", path, nat, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.head, "text/csv"));
	ck_assert(strncmp(r.body, "code;label;theme;direction;", 27) == 0);
	for (const char *p = r.body; *p; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, 9);
	h_resp_free(&r);

	/* the groupement's patient experience: respondents as uploaded */
	d = get(nat, 200, "/v1/structures/%ld/dashboard?year=2024", cpts);
	it = json_object_get(d, "experience");
	ck_assert_msg(json_is_object(it), "%s", json_dumps(d, JSON_COMPACT));
	ck_assert_int_eq(json_integer_value(json_object_get(it, "respondents")),
			 SQLL("SELECT count(DISTINCT patient_id) FROM questionnaire_answers WHERE dataset = %ld"
			      " AND questionnaire = 'IPEP-EXP-2024'", cpts));
	ck_assert_uint_eq(json_array_size(json_object_get(it, "dimensions")), 3);
	ck_assert_double_eq_tol(json_number_value(json_object_get(it, "overall")),
				SQLD("SELECT 100 * (avg(answer) - 1) / 3 FROM questionnaire_answers WHERE dataset = %ld"
				     " AND questionnaire = 'IPEP-EXP-2024' AND item BETWEEN 1 AND 30", cpts), 1e-9);
	json_decref(d);
}
END_TEST

START_TEST(region_dashboard)
{
	json_t *d = get(ars, 200, "/v1/regions/84/dashboard?year=2024"), *it, *pay;
	long long peps = 0, ipep = 0, eds = 0;
	struct h_resp r;
	size_t i, lines = 0;

	ck_assert_int_eq(json_array_size(json_object_get(d, "structures")),
			 SQLL("SELECT count(*) FROM structures WHERE region = '84'"));
	ck_assert_int_eq(json_array_size(json_object_get(d, "indicators")), 8);
	json_array_foreach(json_object_get(d, "structures"), i, it) {
		peps += json_integer_value(json_object_get(it, "peps_cents"));
		ipep += json_integer_value(json_object_get(it, "ipep_cents"));
		eds += json_integer_value(json_object_get(it, "eds_cents"));
		if (json_integer_value(json_object_get(it, "id")) == cpts)
			ck_assert_int_eq(json_integer_value(json_object_get(it, "ipep_cents")),
					 SQLL("SELECT coalesce((SELECT total_cents FROM ipep_runs WHERE structure_id = %ld"
					      " AND year = 2024 AND NOT what_if ORDER BY id DESC LIMIT 1), 0)", cpts));
	}
	pay = json_object_get(d, "payments_cents");
	ck_assert_int_eq(json_integer_value(json_object_get(pay, "peps")), peps);
	ck_assert_int_eq(json_integer_value(json_object_get(pay, "ipep")), ipep);
	ck_assert_int_eq(json_integer_value(json_object_get(pay, "eds")), eds);
	ck_assert_int_eq(json_integer_value(json_object_get(pay, "total")), peps + ipep + eds);
	json_decref(d);
	ck_assert_int_eq(h_api(srv.port, "GET", "/v1/regions/84/dashboard?year=2024&format=csv", ars, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, ";RH30;"));
	for (const char *p = r.body; *p; p++)
		lines += *p == '\n';
	ck_assert_int_eq((long long)lines, 1 + SQLL("SELECT count(*) FROM structures WHERE region = '84'"));
	h_resp_free(&r);
	json_decref(get(ars_other, 403, "/v1/regions/84/dashboard?year=2024"));
	json_decref(get(s1tok, 403, "/v1/regions/84/dashboard?year=2024"));
	json_decref(get(ars, 422, "/v1/regions/84/dashboard"));
	json_decref(get(ars, 422, "/v1/regions/8x/dashboard?year=2024"));
}
END_TEST

/* Every patient of DIAB_FOLLOWUP's denominator not in its numerator, once,
 * across pages; each with fewer than three BIO claims in 2024. */
START_TEST(care_gaps_are_the_missing_numerator)
{
	long long num, den, seen = 0;
	char cursor[64] = "", ids[65536] = "0";
	size_t off = 1;
	struct h_resp r;
	size_t lines = 0;

	value_of(run24, s1, "DIAB_FOLLOWUP", &num, &den);
	for (;;) {
		json_t *page = get(s1tok, 200, "/v1/structures/%ld/care-gaps?year=2024&indicator=DIAB_FOLLOWUP&limit=7%s%s",
				   s1, cursor[0] ? "&cursor=" : "", cursor), *it;
		size_t i;
		json_array_foreach(json_object_get(page, "items"), i, it) {
			ck_assert_str_eq(json_string_value(json_object_get(it, "indicator")), "DIAB_FOLLOWUP");
			ck_assert_int_lt(json_integer_value(json_object_get(it, "acts")), 3);
			off += (size_t)snprintf(ids + off, sizeof(ids) - off, ",%lld",
						(long long)json_integer_value(json_object_get(it, "patient_id")));
			seen++;
		}
		if (json_is_null(json_object_get(page, "next_cursor"))) {
			json_decref(page);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(json_object_get(page, "next_cursor")));
		json_decref(page);
	}
	ck_assert_int_eq(seen, den - num);
	ck_assert_int_eq(SQLL("SELECT count(DISTINCT x) FROM unnest(ARRAY[%s]) x WHERE x > 0", ids), seen);
	ck_assert_int_eq(SQLL("SELECT count(*) FROM unnest(ARRAY[%s]) x WHERE x > 0 AND (SELECT count(*) FROM claims c"
			      " WHERE c.dataset = %ld AND c.patient_id = x AND c.act_code = 'BIO' AND c.care_date"
			      " BETWEEN '2024-01-01' AND '2024-12-31') >= 3", ids, s1), 0);
	/* all care-gap indicators as one CSV */
	snprintf(cursor, sizeof(cursor), "/v1/structures/%ld/care-gaps?year=2024&format=csv", s1);
	ck_assert_int_eq(h_api(srv.port, "GET", cursor, s1tok, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	for (const char *p = r.body; *p; p++)
		lines += *p == '\n';
	ck_assert_int_eq((long long)lines - 1,
			 SQLL("SELECT sum(v.denominator - v.numerator) FROM indicator_values v WHERE v.run_id = %ld AND"
			      " v.structure_id = %ld AND v.code IN ('PREV_GP_65', 'DIAB_FOLLOWUP', 'ELDERLY_NURSING',"
			      " 'C2S_FOLLOWUP')", run24, s1));
	h_resp_free(&r);
	json_decref(get(s1tok, 422, "/v1/structures/%ld/care-gaps?year=2024&indicator=RH30", s1));
	json_decref(get(s1tok, 422, "/v1/structures/%ld/care-gaps?year=2024&cursor=x", s1));
	json_decref(get(s1tok, 422, "/v1/structures/%ld/care-gaps", s1));
	json_decref(get(s1tok, 404, "/v1/structures/%ld/care-gaps?year=2024", s2));
}
END_TEST

START_TEST(tenancy_and_validation)
{
	json_t *me = get(s1tok, 200, "/v1/me"), *run, *j;
	size_t i;
	int st;

	ck_assert_str_eq(json_string_value(json_object_get(me, "kind")), "structure");
	ck_assert_int_eq(json_integer_value(json_object_get(me, "structure_id")), s1);
	ck_assert_str_eq(json_string_value(json_object_get(me, "structure_name")), "Maison de santé des Coteaux 1");
	ck_assert_str_eq(json_string_value(json_object_get(me, "region")), "84");
	json_decref(me);
	me = get(ars, 200, "/v1/me");
	ck_assert_str_eq(json_string_value(json_object_get(me, "region")), "84");
	json_decref(me);
	json_decref(get(NULL, 401, "/v1/me"));

	/* a structure reads the run of its region, with its own values only */
	run = get(s1tok, 200, "/v1/indicators/runs/%ld", run24);
	ck_assert_int_eq(json_array_size(json_object_get(run, "values")), 8);
	json_array_foreach(json_object_get(run, "values"), i, j)
		ck_assert_int_eq(json_integer_value(json_object_get(j, "structure_id")), s1);
	json_decref(run);
	json_decref(get(ars_other, 404, "/v1/indicators/runs/%ld", run24));
	json_decref(get(s2tok, 404, "/v1/structures/%ld/dashboard?year=2024", s1));
	json_decref(get(ars, 200, "/v1/regions/84/indicators/runs?year=2024"));
	json_decref(get(ars_other, 403, "/v1/regions/84/indicators/runs"));

	j = h_api_json(srv.port, "POST", "/v1/regions/84/indicators/runs", ars_other, "{\"year\":2024}", &st);
	ck_assert_int_eq(st, 403);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/regions/84/indicators/runs", s1tok, "{\"year\":2024}", &st);
	ck_assert_int_eq(st, 403);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/regions/99/indicators/runs", nat, "{\"year\":2024}", &st);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = h_api_json(srv.port, "POST", "/v1/regions/84/indicators/runs", ars, "{\"year\":2019}", &st);
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field")),
			 "year");
	json_decref(j);

	/* a catalogue with an unknown measure is refused, naming where */
	{
		json_t *ps = get(nat, 200, "/v1/parameter-sets/%s",
				 h_sqlf(&db, "SELECT max(id) FROM parameter_sets WHERE experiment = 'IPEP' AND year = 2024"));
		json_t *body = json_deep_copy(json_object_get(ps, "body")), *cat;
		char *text;
		cat = json_object_get(json_object_get(json_object_get(body, "parameters"), "indicators.catalogue"), "value");
		json_object_set_new(json_object_get(json_array_get(cat, 2), "measure"), "kind", json_string("magic"));
		json_object_set_new(body, "label", json_string("broken catalogue"));
		text = json_dumps(body, 0);
		j = h_api_json(srv.port, "POST", "/v1/parameter-sets", nat, text, &st);
		ck_assert_int_eq(st, 422);
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field")),
				 "parameters.indicators.catalogue.value[2].measure.kind");
		free(text);
		json_decref(j);
		json_decref(body);
		json_decref(ps);
	}
}
END_TEST

/* With A51_DATABASE_REPLICA_URL, dashboards read the replica and the rest the
 * primary: here the "replica" is an empty database, so the structure the
 * primary knows is not found by its dashboard. */
START_TEST(dashboards_read_the_replica)
{
	struct h_db replica;
	struct h_srv two;
	char env_url[1200], env_replica[1200], path[96];
	const char *const migrate[] = { "migrate", NULL };
	const char *menv[2] = { env_url, NULL };
	char out[4096];
	struct h_resp r;

	h_db_create(&replica, "dashrep");
	snprintf(env_url, sizeof(env_url), "A51_DATABASE_URL=%s", replica.url);
	ck_assert_int_eq(h_run_a51d(migrate, menv, out, sizeof(out)), 0);
	snprintf(env_replica, sizeof(env_replica), "A51_DATABASE_REPLICA_URL=%s", replica.url);
	h_srv_start(&two, db.url, (const char *const[]){ env_replica, "A51_WORKERS=0", NULL });
	snprintf(path, sizeof(path), "/v1/structures/%ld", s1);
	ck_assert_int_eq(h_api(two.port, "GET", path, nat, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/structures/%ld/dashboard?year=2024", s1);
	ck_assert_int_eq(h_api(two.port, "GET", path, nat, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 404);
	h_resp_free(&r);
	ck_assert_int_eq(h_api(srv.port, "GET", path, nat, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	h_resp_free(&r);
	ck_assert_int_eq(h_srv_stop(&two), 0);
	h_db_drop(&replica);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dashboards");
	TCase *t = tcase_create("api");

	tcase_add_unchecked_fixture(t, up, down);
	tcase_set_timeout(t, 280);
	tcase_add_test(t, values_recomputed_in_sql);
	tcase_add_test(t, deciles_and_targets);
	tcase_add_test(t, rerun_gives_the_same_digest);
	tcase_add_test(t, structure_dashboard_adds_up);
	tcase_add_test(t, region_dashboard);
	tcase_add_test(t, care_gaps_are_the_missing_numerator);
	tcase_add_test(t, tenancy_and_validation);
	tcase_add_test(t, dashboards_read_the_replica);
	suite_add_tcase(s, t);
	return s;
}

/* Without fork: the fixture is loaded once, and later tests read the re-run. */
int main(void)
{
	return h_run_nofork(suite());
}
