/* EDS runs through the API on synthetic data whose episodes are known by
 * construction (a51d synth: hip and knee replacements and colectomies at the
 * region's establishment, 7% through the emergency department, 3% by
 * transfer, deaths in the stay, a similar intervention 200 days before for
 * some, total colectomies, re-admissions, chemotherapy sessions). Models of
 * episodes are fitted on the reference; runs are checked against SQL written
 * from the rules, not from the code: triggers, exclusions by reason, window
 * costs, complications; then items, segments, targets and reconciliation
 * adding up, both directions of risk with and without the safeguards
 * binding, the same bytes on a re-run, CSV, tenancy and batches. */
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
static char nat[64], ars[64], ars_other[64], etok[64], other_tok[64], dir[512], finess[16];
static long es, other, pset_tight, pset_loose;

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

static long long sqll(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long sqll(const char *fmt, ...)
{
	char q[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	return strtoll(h_sqlf(&db, "%s", q), NULL, 10);
}

static json_t *run_job(const char *tok, const char *body, const char *path)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", path, tok, body, &st);
	long id;

	ck_assert_msg(st == 202, "POST %s %s: %d %s", path, body, st, json_dumps(j, JSON_COMPACT));
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return h_wait_job(srv.port, nat, id, 300);
}

static json_t *eds_run(const char *tok, const char *body)
{
	char path[64];
	json_t *job, *run;
	int st;

	snprintf(path, sizeof(path), "/v1/structures/%ld/eds/runs", es);
	job = run_job(tok, body, path);
	ck_assert_msg(strcmp(json_string_value(json_object_get(job, "status")), "succeeded") == 0, "%s",
		      json_dumps(job, JSON_COMPACT));
	run = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), nat,
			 NULL, &st);
	ck_assert_int_eq(st, 200);
	json_decref(job);
	return run;
}

static long structure(const char *body)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", "/v1/structures", nat, body, &st);
	long id = (long)json_integer_value(json_object_get(j, "id"));

	ck_assert_msg(st == 201, "structure: %d %s", st, json_dumps(j, JSON_COMPACT));
	json_decref(j);
	return id;
}

/* The synthetic establishment S010 with its data. */
static long load_establishment(void)
{
	char path[600], line[65536], route[64], *body;
	FILE *f;
	long id = 0;

	snprintf(path, sizeof(path), "%s/structures.ndjson", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *s = json_loads(line, 0, &je), *b;
		if (strcmp(json_string_value(json_object_get(s, "kind")), "ES") == 0) {
			b = json_pack("{s:s,s:O,s:O,s:O,s:O,s:O}", "kind", "ES", "name", json_object_get(s, "name"), "region",
				      json_object_get(s, "region"), "commune", json_object_get(s, "commune"), "legal_form",
				      json_object_get(s, "legal_form"), "finess", json_object_get(s, "finess"));
			snprintf(finess, sizeof(finess), "%s", json_string_value(json_object_get(s, "finess")));
			body = json_dumps(b, 0);
			id = structure(body);
			snprintf(path, sizeof(path), "%s/structures/%s", dir, json_string_value(json_object_get(s, "ref")));
			free(body);
			json_decref(b);
			json_decref(s);
			break;
		}
		json_decref(s);
	}
	fclose(f);
	ck_assert_int_gt(id, 0);
	snprintf(route, sizeof(route), "/v1/structures/%ld/uploads", id);
	for (int k = 0; k < 4; k++) {
		static const char *const kinds[] = { "patients", "claims", "stays", "questionnaires" };
		char file[700];
		snprintf(file, sizeof(file), "%s/%s.csv", path, kinds[k]);
		if (access(file, R_OK) == 0)
			h_upload_csv(srv.port, nat, route, kinds[k], file);
	}
	return id;
}

/* A parameter set of a year: the 2024 values with some changed. */
static long parameter_set(const char *label, int year, const char *changes)
{
	int st;
	json_t *ps = api("GET", nat, NULL, &st, "/v1/parameter-sets/%s",
			 h_sqlf(&db, "SELECT min(id) FROM parameter_sets WHERE experiment = 'EDS' AND year = 2024"));
	json_t *copy = json_deep_copy(json_object_get(ps, "body")), *edits, *v, *j;
	json_error_t je;
	const char *key;
	char *text;
	long id;

	edits = json_loads(changes, 0, &je);
	ck_assert_ptr_nonnull(edits);
	json_object_foreach(edits, key, v)
		json_object_set(json_object_get(json_object_get(copy, "parameters"), key), "value", v);
	json_decref(edits);
	json_object_set_new(copy, "label", json_string(label));
	json_object_set_new(copy, "year", json_integer(year));
	text = json_dumps(copy, 0);
	j = h_api_json(srv.port, "POST", "/v1/parameter-sets", nat, text, &st);
	ck_assert_msg(st == 201, "%d %s", st, json_dumps(j, JSON_COMPACT));
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	json_decref(copy);
	json_decref(ps);
	free(text);
	return id;
}

static void fit(const char *body)
{
	json_t *job = run_job(nat, body, "/v1/risk-models");

	ck_assert_msg(strcmp(json_string_value(json_object_get(job, "status")), "succeeded") == 0, "%s",
		      json_dumps(job, JSON_COMPACT));
	json_decref(job);
}

static void up(void)
{
	char cmd[2048], path[600], scope[48], body[256];
	json_t *j;
	int st;

	h_db_create(&db, "eds");
	h_srv_start(&srv, db.url, (const char *const[]){ "A51_WORKERS=2", NULL });
	h_token_cli(db.url, "national", "national", false, nat);
	snprintf(dir, sizeof(dir), "%s/eds-synth", getenv("A51_TEST_VARDIR") ? getenv("A51_TEST_VARDIR") : "/tmp");
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && '%s' synth --patients 4000 --structures 10 --year 2024 --years 2 --reference 15000"
		 " --seed 13 --surgery-rate 10 --out '%s' >/dev/null 2>&1",
		 dir, getenv("A51D_BIN"), dir);
	ck_assert_int_eq(system(cmd), 0);
	for (int k = 0; k < 3; k++) {
		static const char *const kinds[] = { "patients", "claims", "stays" };
		snprintf(path, sizeof(path), "%s/reference/%s.csv", dir, kinds[k]);
		h_upload_csv(srv.port, nat, "/v1/reference/uploads", kinds[k], path);
	}
	es = load_establishment();
	other = structure("{\"kind\":\"ES\",\"name\":\"Clinique sans FINESS\",\"region\":\"84\",\"commune\":\"69123\","
			  "\"legal_form\":\"SAS\"}");
	parameter_set("EDS 2023 (test: the 2024 values)", 2023, "{}");
	/* enrolled in hips from before the year, retrospective over all of it; knees with no financial impact */
	for (int k = 0; k < 2; k++) {
		snprintf(body, sizeof(body), "{\"experiment\":\"EDS\",\"option\":\"%s\",\"start_on\":\"2023-09-01\"}",
			 k ? "PTG" : "PTH");
		j = api("POST", nat, body, &st, "/v1/structures/%ld/enrolments", es);
		ck_assert_msg(st == 201, "enrol: %d %s", st, json_dumps(j, JSON_COMPACT));
		if (k == 0) {
			json_t *p = api("POST", nat, "{\"phase\":\"retrospective\",\"start_on\":\"2023-12-01\"}", &st,
					"/v1/structures/%ld/enrolments/%lld/phases", es,
					(long long)json_integer_value(json_object_get(j, "id")));
			ck_assert_msg(st == 201 || st == 200, "phase: %d %s", st, json_dumps(p, JSON_COMPACT));
			json_decref(p);
		}
		json_decref(j);
	}
	fit("{\"name\":\"eds-pth\",\"year\":2024,\"target\":\"episode\",\"episode_option\":\"PTH\",\"terms\":[\"age_sex\","
	    "\"ald_groups\",\"c2s\"],\"method\":\"log_ols\"}");
	fit("{\"name\":\"eds-ptg\",\"year\":2024,\"target\":\"episode\",\"episode_option\":\"PTG\",\"terms\":[\"ald_groups\","
	    "\"c2s\"],\"method\":\"glm_gamma\"}");
	pset_tight = parameter_set("EDS 2024 (test: two-sided, everything shared, tight safeguards, quality envelope)", 2024,
				   "{\"reconciliation.gain_share\": 1, \"reconciliation.loss_share\": 1,"
				   " \"reconciliation.stop_gain\": 0.001, \"reconciliation.stop_loss\": 0.001,"
				   " \"quality.envelope_share\": 0.02}");
	pset_loose = parameter_set("EDS 2024 (test: two-sided, no binding safeguard)", 2024,
				   "{\"reconciliation.stop_gain\": 1, \"reconciliation.stop_loss\": 1}");
	h_token_api(srv.port, nat, "ars:84", ars);
	h_token_api(srv.port, nat, "ars:11", ars_other);
	snprintf(scope, sizeof(scope), "structure:%ld", es);
	h_token_api(srv.port, nat, scope, etok);
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

static long long resi(const json_t *run, const char *a, const char *b)
{
	return json_integer_value(res(run, a, b));
}

START_TEST(episode_models_learn_from_reference_episodes)
{
	int st;
	json_t *m = api("GET", nat, NULL, &st, "/v1/risk-models/%s",
			h_sqlf(&db, "SELECT max(id) FROM risk_models WHERE name = 'eds-pth'")), *ep;
	long long triggers;

	ck_assert_int_eq(st, 200);
	ep = json_object_get(json_object_get(m, "stats"), "episodes");
	/* every 2024 hip trigger of the reference is an episode */
	triggers = sqll("SELECT count(*) FROM stays WHERE dataset = 0 AND field = 'MCO' AND ghm LIKE '08C48%%'"
			" AND admission_date BETWEEN '2024-01-01' AND '2024-12-31'");
	ck_assert_int_gt(triggers, 100);
	ck_assert_int_eq(json_integer_value(json_object_get(ep, "episodes")), triggers);
	ck_assert_int_eq(json_integer_value(json_object_get(ep, "included")),
			 json_integer_value(json_object_get(json_object_get(m, "stats"), "patients")));
	/* the complications forfait: their cost over the included episodes */
	ck_assert_int_eq(json_integer_value(json_object_get(ep, "complications_forfait_cents")),
			 llround((double)json_integer_value(json_object_get(ep, "complication_cents")) /
				 (double)json_integer_value(json_object_get(ep, "included"))));
	ck_assert(json_is_number(json_object_get(json_object_get(ep, "reference_indicators"), "COMPL")));
	/* an episode model scores no patient-year */
	{
		json_t *j = api("POST", nat, "{\"reference\":true}", &st, "/v1/risk-models/%lld/score-runs",
				(long long)json_integer_value(json_object_get(m, "id")));
		ck_assert_int_eq(st, 422);
		json_decref(j);
	}
	json_decref(m);
	/* definitions of episode models are checked */
	{
		json_t *j = api("POST", nat, "{\"name\":\"x\",\"year\":2024,\"target\":\"episode\",\"terms\":[\"deprivation\"],"
					     "\"method\":\"ols\"}", &st, "/v1/risk-models");
		char *t = json_dumps(j, JSON_COMPACT);
		ck_assert_int_eq(st, 422);
		ck_assert_ptr_nonnull(strstr(t, "episode_option"));
		ck_assert_ptr_nonnull(strstr(t, "deprivation"));
		free(t);
		json_decref(j);
	}
}
END_TEST

/* Triggers, exclusions and window costs, recomputed in SQL from the rules. */
#define TRIGGERS(root)                                                                                     \
	"SELECT s.patient_id, s.stay_id, s.admission_date AS adm, s.discharge_date AS dis, s.entry_mode, s.provenance," \
	" s.exit_mode, p.death_date FROM stays s JOIN patients p ON p.id = s.patient_id WHERE s.dataset = %ld"          \
	" AND s.field = 'MCO' AND s.ghm LIKE '" root "%%' AND s.finess = '%s'"                                         \
	" AND s.admission_date BETWEEN '2024-01-01' AND '2024-12-31'"

START_TEST(official_run_against_the_rules)
{
	json_t *run = eds_run(nat, "{\"year\":2024,\"option\":\"PTH\"}");
	long id = (long)json_integer_value(json_object_get(run, "id"));
	long long built = json_integer_value(json_object_get(run, "episodes"));
	long long included = json_integer_value(json_object_get(run, "included"));

	ck_assert_str_eq(json_string_value(json_object_get(run, "phase")), "retrospective");
	ck_assert_str_eq(json_string_value(json_object_get(run, "option")), "PTH");
	ck_assert(json_is_false(json_object_get(run, "what_if")));
	ck_assert_int_eq(built, sqll("SELECT count(*) FROM (" TRIGGERS("08C48") ") t", es, finess));
	ck_assert_int_gt(included, 20);
	/* exclusions, each with its reason */
	ck_assert_int_eq(resi(run, "episodes", "included"), included);
	ck_assert_int_eq(json_integer_value(json_object_get(res(run, "episodes", "excluded"), "emergency")),
			 sqll("SELECT count(*) FROM (" TRIGGERS("08C48") ") t WHERE provenance = '5'", es, finess));
	ck_assert_int_eq(json_integer_value(json_object_get(res(run, "episodes", "excluded"), "not_from_home")),
			 sqll("SELECT count(*) FROM (" TRIGGERS("08C48") ") t WHERE entry_mode <> '8'", es, finess));
	ck_assert_int_eq(json_integer_value(json_object_get(res(run, "episodes", "excluded"), "death")),
			 sqll("SELECT count(*) FROM (" TRIGGERS("08C48") ") t WHERE exit_mode = '9'", es, finess));
	ck_assert_int_eq(json_integer_value(json_object_get(res(run, "episodes", "excluded"), "prior_intervention")),
			 sqll("SELECT count(*) FROM (" TRIGGERS("08C48") ") t WHERE EXISTS (SELECT 1 FROM stays o WHERE"
			      " o.dataset = %ld AND o.patient_id = t.patient_id AND o.field = 'MCO' AND o.ghm LIKE '08C48%%'"
			      " AND o.admission_date < t.adm AND o.admission_date >= t.adm - 365)", es, finess, es));
	ck_assert_int_eq(included, sqll("SELECT count(*) FROM (" TRIGGERS("08C48") ") t WHERE provenance IS DISTINCT"
					" FROM '5' AND entry_mode = '8' AND exit_mode <> '9' AND NOT EXISTS (SELECT 1 FROM"
					" stays o WHERE o.dataset = %ld AND o.patient_id = t.patient_id AND o.field = 'MCO'"
					" AND o.ghm LIKE '08C48%%' AND o.admission_date < t.adm AND o.admission_date >="
					" t.adm - 365)", es, finess, es));
	ck_assert_int_eq(sqll("SELECT count(*) FROM eds_episodes WHERE run_id = %ld AND NOT included", id), built - included);
	/* the cost of each episode alone in its patient's history: every claim and stay of its window,
	 * 60 days before admission to 90 after discharge (or death) */
	ck_assert_str_eq(h_sqlf(&db, "WITH t AS (" TRIGGERS("08C48") "), alone AS (SELECT * FROM t WHERE (SELECT count(*) FROM"
			      " stays o WHERE o.dataset = %ld AND o.patient_id = t.patient_id AND o.field = 'MCO' AND"
			      " left(o.ghm, 5) IN ('08C48', '08C24', '06C04')) = 1),"
			      " w AS (SELECT a.*, a.adm - 60 AS f, least(a.dis + 90, coalesce(a.death_date, a.dis + 90)) AS l"
			      " FROM alone a), cost AS (SELECT w.stay_id, (SELECT coalesce(sum(c.base_cents), 0) FROM claims c"
			      " WHERE c.dataset = %ld AND c.patient_id = w.patient_id AND c.care_date BETWEEN w.f AND w.l)"
			      " + (SELECT coalesce(sum(s.amount_cents), 0) FROM stays s WHERE s.dataset = %ld AND"
			      " s.patient_id = w.patient_id AND s.admission_date BETWEEN w.f AND w.l) AS cents,"
			      " (SELECT count(*) FROM stays s WHERE s.dataset = %ld AND s.patient_id = w.patient_id AND"
			      " s.field = 'MCO' AND s.admission_date > w.dis AND s.admission_date <= w.l AND s.ghm NOT LIKE"
			      " '28Z%%') AS compl FROM w)"
			      " SELECT count(*) FILTER (WHERE e.actual_cents <> cost.cents OR e.complications <> cost.compl)"
			      " || '/' || count(*) FROM cost JOIN eds_episodes e ON e.trigger_stay_id = cost.stay_id"
			      " AND e.run_id = %ld", es, finess, es, es, es, es, id),
			 h_sqlf(&db, "SELECT '0/' || count(*) FROM (" TRIGGERS("08C48") ") t WHERE (SELECT count(*) FROM stays o WHERE"
			      " o.dataset = %ld AND o.patient_id = t.patient_id AND o.field = 'MCO' AND left(o.ghm, 5) IN"
			      " ('08C48', '08C24', '06C04')) = 1", es, finess, es));
	ck_assert_int_gt(sqll("SELECT count(*) FROM (" TRIGGERS("08C48") ") t WHERE (SELECT count(*) FROM stays o WHERE"
			      " o.dataset = %ld AND o.patient_id = t.patient_id AND o.field = 'MCO' AND left(o.ghm, 5) IN"
			      " ('08C48', '08C24', '06C04')) = 1", es, finess, es), 20);
	/* items add up to their episode, segments to its columns, episodes to the run */
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM eds_episodes e WHERE e.run_id = %ld AND e.actual_cents <> (SELECT"
			      " coalesce(sum(i.cents), 0) FROM eds_items i WHERE i.run_id = e.run_id AND i.no = e.no)", id), "0");
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM eds_episodes e WHERE e.run_id = %ld AND e.actual_cents <> e.pre_cents"
			      " + e.index_cents + e.post_cents + e.complication_cents", id), "0");
	ck_assert_int_eq(resi(run, "reconciliation", "actual_cents"),
			 sqll("SELECT sum(actual_cents) FROM eds_episodes WHERE run_id = %ld AND included", id));
	ck_assert_int_eq(resi(run, "reconciliation", "target_cents"),
			 sqll("SELECT sum(target_cents) FROM eds_episodes WHERE run_id = %ld AND included", id));
	ck_assert_int_eq(resi(run, "reconciliation", "target_cents"),
			 resi(run, "reconciliation", "expected_cents") + resi(run, "reconciliation", "complications_forfait_cents"));
	/* retrospective: a gain is half shared, a loss costs the establishment nothing */
	{
		long long gap = resi(run, "reconciliation", "gap_cents");
		ck_assert_int_eq(gap, resi(run, "reconciliation", "target_cents") - resi(run, "reconciliation", "actual_cents"));
		ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")), gap > 0 ? llround(gap * 0.5) : 0);
	}
	json_decref(run);
}
END_TEST

/* Two-sided risk both ways: with everything shared and tight safeguards the
 * result is the safeguard, with loose ones the shared gap. */
START_TEST(two_sided_with_safeguards_binding_and_not)
{
	char body[160];
	json_t *run;
	long long target, gap;

	snprintf(body, sizeof(body), "{\"year\":2024,\"option\":\"PTH\",\"what_if\":true,\"phase\":\"two_sided\","
		 "\"parameter_set_id\":%ld}", pset_tight);
	run = eds_run(etok, body);
	ck_assert(json_is_true(json_object_get(run, "what_if")));
	ck_assert(json_is_true(res(run, "reconciliation", "two_sided")));
	target = resi(run, "reconciliation", "target_cents");
	gap = resi(run, "reconciliation", "gap_cents");
	ck_assert_int_eq(resi(run, "reconciliation", "shared_cents"), gap);
	ck_assert_int_eq(resi(run, "reconciliation", "bounded_cents"), gap > 0 ? llround(target * 0.001) : -llround(target * 0.001));
	ck_assert_int_eq(resi(run, "reconciliation", "quality_cents"),
			 llround(target * 0.02 * json_number_value(res(run, "quality", "score"))));
	ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")),
			 resi(run, "reconciliation", "bounded_cents") + resi(run, "reconciliation", "quality_cents"));
	json_decref(run);
	snprintf(body, sizeof(body), "{\"year\":2024,\"option\":\"PTH\",\"what_if\":true,\"phase\":\"two_sided\","
		 "\"parameter_set_id\":%ld}", pset_loose);
	run = eds_run(etok, body);
	ck_assert_int_eq(resi(run, "reconciliation", "gap_cents"), gap);
	ck_assert_int_eq(resi(run, "reconciliation", "bounded_cents"), llround(gap * 0.5));
	ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")), llround(gap * 0.5));
	json_decref(run);
	/* no financial impact: a report */
	run = eds_run(etok, "{\"year\":2024,\"option\":\"PTG\",\"what_if\":true}");
	ck_assert_str_eq(json_string_value(json_object_get(run, "phase")), "no_financial_impact");
	ck_assert_int_eq(json_integer_value(json_object_get(run, "total_cents")), 0);
	ck_assert_int_gt(resi(run, "reconciliation", "target_cents"), 0);
	json_decref(run);
}
END_TEST

START_TEST(episodes_pages_detail_and_csv)
{
	long id = strtol(h_sqlf(&db, "SELECT max(id) FROM eds_runs WHERE option = 'PTH' AND NOT what_if"), NULL, 10);
	int st;
	json_t *page, *e, *seg;
	long long n;

	page = api("GET", etok, NULL, &st, "/v1/eds/runs/%ld/episodes?included=false&reason=emergency", id);
	ck_assert_int_eq(st, 200);
	n = (long long)json_array_size(json_object_get(page, "items"));
	ck_assert_int_eq(n, sqll("SELECT count(*) FROM eds_episodes WHERE run_id = %ld AND exclusions LIKE '%%emergency%%'",
				 id));
	if (n)
		ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(json_object_get(page, "items"),
											      0),
								      "exclusions"),
							  0)),
				 "emergency");
	json_decref(page);
	page = api("GET", etok, NULL, &st, "/v1/eds/runs/%ld/episodes?complications=true&limit=2", id);
	ck_assert_int_eq(st, 200);
	e = json_array_get(json_object_get(page, "items"), 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_gt(json_integer_value(json_object_get(e, "complications")), 0);
	/* one episode: its stays and claims by segment, summing to its columns */
	e = api("GET", etok, NULL, &st, "%s", json_string_value(json_object_get(e, "url")));
	ck_assert_int_eq(st, 200);
	seg = json_object_get(e, "segments");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(seg, "pre"), "cents")),
			 json_integer_value(json_object_get(e, "pre_cents")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(seg, "complication"), "cents")),
			 json_integer_value(json_object_get(e, "complication_cents")));
	ck_assert_int_gt(json_array_size(json_object_get(json_object_get(seg, "complication"), "items")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(seg, "index"),
											  "items"),
								    0),
						   "kind")),
			 "stay");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "gap_cents")),
			 json_integer_value(json_object_get(e, "target_cents")) - json_integer_value(json_object_get(e, "actual_cents")));
	json_decref(e);
	json_decref(page);
	/* all of them as CSV */
	{
		struct h_resp r;
		char path[96];
		int lines = 0;
		snprintf(path, sizeof(path), "/v1/eds/runs/%ld/episodes?format=csv", id);
		ck_assert_int_eq(h_api(srv.port, "GET", path, etok, NULL, NULL, &r), 0);
		ck_assert_int_eq(r.status, 200);
		for (size_t i = 0; i < r.body_len; i++)
			lines += r.body[i] == '\n';
		ck_assert_int_eq(lines, 1 + sqll("SELECT count(*) FROM eds_episodes WHERE run_id = %ld", id));
		ck_assert(strncmp(r.body, "no;patient_id;", 14) == 0);
		h_resp_free(&r);
	}
	/* a reason an included episode cannot have; an unknown one */
	page = api("GET", etok, NULL, &st, "/v1/eds/runs/%ld/episodes?included=true&reason=death", id);
	ck_assert_int_eq(st, 422);
	json_decref(page);
	page = api("GET", etok, NULL, &st, "/v1/eds/runs/%ld/episodes?reason=boredom", id);
	ck_assert_int_eq(st, 422);
	json_decref(page);
	page = api("GET", etok, NULL, &st, "/v1/eds/runs/%ld/episodes/99999", id);
	ck_assert_int_eq(st, 404);
	json_decref(page);
}
END_TEST

START_TEST(rerun_same_bytes_and_current)
{
	json_t *a = eds_run(ars, "{\"year\":2024,\"option\":\"PTH\"}"), *b = eds_run(ars, "{\"year\":2024,\"option\":\"PTH\"}");
	json_t *list;
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
	ck_assert_str_eq(h_sqlf(&db, "SELECT count(*) FROM (SELECT no, patient_id, included, exclusions, expected_cents,"
			      " target_cents, actual_cents FROM eds_episodes WHERE run_id = %lld EXCEPT SELECT no, patient_id,"
			      " included, exclusions, expected_cents, target_cents, actual_cents FROM eds_episodes WHERE"
			      " run_id = %lld) d", (long long)json_integer_value(json_object_get(a, "id")),
			      (long long)json_integer_value(json_object_get(b, "id"))),
			 "0");
	ck_assert(json_is_true(json_object_get(b, "current")));
	list = api("GET", etok, NULL, &st, "/v1/eds/runs?current=true&option=PTH");
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(list, "items")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(list, "items"), 0), "id")),
			 json_integer_value(json_object_get(b, "id")));
	json_decref(list);
	/* by phase: exactly the runs of that phase; an unknown one is named */
	list = api("GET", nat, NULL, &st, "/v1/eds/runs?phase=two_sided&limit=500");
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq((long long)json_array_size(json_object_get(list, "items")),
			 sqll("SELECT count(*) FROM eds_runs WHERE phase = 'two_sided'"));
	ck_assert_int_gt(json_array_size(json_object_get(list, "items")), 0);
	json_decref(list);
	list = api("GET", nat, NULL, &st, "/v1/eds/runs?phase=phase9");
	ck_assert_int_eq(st, 422);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(list, "errors"), 0), "field")),
			 "phase");
	json_decref(list);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(tenancy_and_refusals)
{
	int st;
	long id = strtol(h_sqlf(&db, "SELECT max(id) FROM eds_runs"), NULL, 10);
	json_t *j;
	char *t;

	j = api("GET", other_tok, NULL, &st, "/v1/eds/runs/%ld", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("GET", ars_other, NULL, &st, "/v1/eds/runs/%ld/episodes", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("GET", other_tok, NULL, &st, "/v1/eds/runs/%ld/episodes/1", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	/* official runs are the payer's; the option is required; a phase needs a what-if */
	j = api("POST", etok, "{\"year\":2024,\"option\":\"PTH\"}", &st, "/v1/structures/%ld/eds/runs", es);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = api("POST", nat, "{\"year\":2024}", &st, "/v1/structures/%ld/eds/runs", es);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = api("POST", nat, "{\"year\":2024,\"option\":\"PTH\",\"phase\":\"two_sided\"}", &st,
		"/v1/structures/%ld/eds/runs", es);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	/* no model of colectomies yet: the option is refused, naming it */
	j = api("POST", nat, "{\"year\":2024,\"option\":\"COLECTOMY\",\"what_if\":true}", &st,
		"/v1/structures/%ld/eds/runs", es);
	ck_assert_int_eq(st, 422);
	t = json_dumps(j, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(t, "eds-colectomy"));
	free(t);
	json_decref(j);
	/* not enrolled in this option: no official run */
	j = api("POST", nat, "{\"year\":2024,\"option\":\"PTG\"}", &st, "/v1/structures/%ld/eds/runs", other);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	/* an establishment with no FINESS: its what-if fails, saying why */
	{
		char path[64];
		json_t *job;
		snprintf(path, sizeof(path), "/v1/structures/%ld/eds/runs", other);
		job = run_job(nat, "{\"year\":2024,\"option\":\"PTH\",\"what_if\":true}", path);
		ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "failed");
		ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(job, "error")), "FINESS"));
		json_decref(job);
	}
}
END_TEST

START_TEST(batch_of_a_region)
{
	int st;
	json_t *job = run_job(ars, "{\"year\":2024}", "/v1/eds/runs"), *b, *sum;

	ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
	b = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), ars, NULL,
		       &st);
	ck_assert_int_eq(st, 200);
	sum = json_object_get(b, "summary");
	/* the two enrolments of the establishment, one run each */
	ck_assert_int_eq(json_array_size(json_object_get(sum, "runs")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(sum, "skipped")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "total_cents")),
			 json_integer_value(json_object_get(json_array_get(json_object_get(sum, "runs"), 0), "total_cents")) +
				 json_integer_value(json_object_get(json_array_get(json_object_get(sum, "runs"), 1), "total_cents")));
	{
		/* the batch links to its runs */
		char want[64];
		snprintf(want, sizeof(want), "/v1/eds/runs?batch_id=%lld", (long long)json_integer_value(json_object_get(b, "id")));
		ck_assert_str_eq(json_string_value(json_object_get(b, "runs_url")), want);
	}
	json_decref(b);
	b = h_api_json(srv.port, "GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), ars_other,
		       NULL, &st);
	ck_assert_int_eq(st, 404);
	json_decref(b);
	json_decref(job);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("eds_runs");
	TCase *tc = tcase_create("eds_runs");

	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, episode_models_learn_from_reference_episodes);
	tcase_add_test(tc, official_run_against_the_rules);
	tcase_add_test(tc, two_sided_with_safeguards_binding_and_not);
	tcase_add_test(tc, episodes_pages_detail_and_csv);
	tcase_add_test(tc, rerun_same_bytes_and_current);
	tcase_add_test(tc, tenancy_and_refusals);
	tcase_add_test(tc, batch_of_a_region);
	suite_add_tcase(s, tc);
	return s;
}

/* Without fork: the tests build on what the previous ones stored. */
int main(void)
{
	return h_run_nofork(suite());
}
