/* Risk models end to end: synthetic reference data uploaded through the API,
 * fits run as jobs by the workers of a real a51d, the generator's known
 * coefficients recovered within their confidence intervals, the same bytes on
 * a re-fit and across thread counts, every method, validation, failures with
 * a reason, cancellation, a worker killed mid-fit (kill -9) and its job taken
 * over, scoring with contributions that add up, and who may see what. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct h_db db;
static struct h_srv srv;
static char nat[64], ars[64], ars_other[64], s1tok[64], s2tok[64], dir[512];
static long s1, s2;
static json_t *truth;

static const char *const workers_env[] = { "A51_WORKERS=2", "A51_JOB_LEASE_S=5", NULL };

static void upload(const char *route, const char *kind, const char *file)
{
	h_upload_csv(srv.port, nat, route, kind, file);
}

static long create(const char *path, const char *body, const char *token)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", path, token, body, &st);
	long id;

	ck_assert_msg(st == 201, "POST %s: %d", path, st);
	id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

static void token(const char *scope, char out[64])
{
	h_token_api(srv.port, nat, scope, out);
}

static void up(void)
{
	char cmd[2048], path[600];
	json_error_t jerr;

	h_db_create(&db, "riskmodels");
	h_srv_start(&srv, db.url, workers_env);
	h_token_cli(db.url, "national", "national", false, nat);
	/* a reference population of 20 000 patients and two structures' patientèles */
	snprintf(dir, sizeof(dir), "%s/riskmodels-synth", getenv("A51_TEST_VARDIR") ? getenv("A51_TEST_VARDIR") : "/tmp");
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && '%s' synth --patients 1200 --structures 2 --year 2024 --years 1 --reference 20000"
		 " --seed 11 --out '%s' >/dev/null",
		 dir, getenv("A51D_BIN"), dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/truth.json", dir);
	truth = json_load_file(path, 0, &jerr);
	ck_assert_ptr_nonnull(truth);
	for (int k = 0; k < 4; k++) {
		static const char *const kinds[] = { "deprivation", "patients", "claims", "stays" };
		snprintf(path, sizeof(path), "%s/reference/%s.csv", dir, kinds[k]);
		upload("/v1/reference/uploads", kinds[k], path);
	}
	s1 = create("/v1/structures",
		    "{\"kind\":\"MSP\",\"name\":\"MSP Un\",\"region\":\"84\",\"commune\":\"69123\",\"legal_form\":\"SISA\"}", nat);
	s2 = create("/v1/structures",
		    "{\"kind\":\"MSP\",\"name\":\"MSP Deux\",\"region\":\"84\",\"commune\":\"38185\",\"legal_form\":\"SISA\"}", nat);
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 2; k++) {
			static const char *const kinds[] = { "patients", "claims" };
			char route[64];
			snprintf(route, sizeof(route), "/v1/structures/%ld/uploads", s ? s2 : s1);
			snprintf(path, sizeof(path), "%s/structures/S00%d/%s.csv", dir, s + 1, kinds[k]);
			upload(route, kinds[k], path);
		}
	token("ars:84", ars);
	token("ars:11", ars_other);
	snprintf(cmd, sizeof(cmd), "structure:%ld", s1);
	token(cmd, s1tok);
	snprintf(cmd, sizeof(cmd), "structure:%ld", s2);
	token(cmd, s2tok);
}

static void down(void)
{
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_db_drop(&db);
	json_decref(truth);
}

/* ---- helpers ---- */

static json_t *api(const char *method, const char *path, const char *tok, const char *body, int *st)
{
	return h_api_json(srv.port, method, path, tok, body, st);
}

static json_t *apif(const char *method, const char *tok, const char *body, int *st, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static json_t *apif(const char *method, const char *tok, const char *body, int *st, const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return api(method, path, tok, body, st);
}

/* Submits a fit; answers the job's id after checking the 202 and Location. */
static long submit(uint16_t port, const char *body)
{
	struct h_resp r;
	char loc[64], want[64];
	json_t *j;
	long id;

	ck_assert_int_eq(h_api(port, "POST", "/v1/risk-models", nat, body, NULL, &r), 0);
	ck_assert_msg(r.status == 202, "fit: %d %s", r.status, r.body);
	j = h_json(&r);
	id = (long)json_integer_value(json_object_get(j, "id"));
	snprintf(want, sizeof(want), "/v1/jobs/%ld", id);
	ck_assert_str_eq(h_header(&r, "Location", loc, sizeof(loc)), want);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "queued");
	json_decref(j);
	h_resp_free(&r);
	return id;
}

static json_t *wait_job(uint16_t port, long id, int timeout_s)
{
	return h_wait_job(port, nat, id, timeout_s);
}

/* Fits and answers the stored model. */
static json_t *fit(const char *body)
{
	long id = submit(srv.port, body);
	json_t *job = wait_job(srv.port, id, 120), *model;
	const char *url;
	int st;

	ck_assert_msg(strcmp(json_string_value(json_object_get(job, "status")), "succeeded") == 0, "job %ld: %s", id,
		      json_dumps(job, JSON_COMPACT));
	url = json_string_value(json_object_get(json_object_get(job, "result"), "url"));
	ck_assert_ptr_nonnull(url);
	model = api("GET", url, nat, NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(model, "job_id")), id);
	json_decref(job);
	return model;
}

static const json_t *coef(const json_t *model, const char *term)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(model, "coefficients"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "term")), term) == 0)
			return c;
	return NULL;
}

#define TOWN_WLS                                                                                                 \
	"{\"name\":\"town\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\",\"ald_groups\",\"c2s\"]," \
	"\"method\":\"wls\"}"

/* ---- fitting ---- */

START_TEST(fit_recovers_the_generators_coefficients)
{
	json_t *model = fit(TOWN_WLS), *want = json_object_get(json_object_get(json_object_get(json_object_get(truth,
				"targets"), "town_all"), "by_year"), "2024"), *stats = json_object_get(model, "stats");
	const char *term;
	json_t *v;
	int n = 0, in95 = 0;

	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(json_integer_value(json_object_get(model, "version")), 1);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(model, "inputs_digest"))), 64);
	ck_assert_int_eq(json_array_size(json_object_get(model, "warnings")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(stats, "n")), 19000);
	ck_assert_int_eq(json_integer_value(json_object_get(stats, "p")), 28);
	ck_assert(json_number_value(json_object_get(stats, "r2")) > 0.2);
	ck_assert(json_number_value(json_object_get(stats, "condition_number")) >= 1);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(model, "diagnostics"), "by_decile")), 10);
	/* each coefficient within its 99.9 % HC1 interval, and most within 95 % */
	json_object_foreach(want, term, v) {
		const json_t *c = coef(model, strcmp(term, "intercept") == 0 ? "intercept" : term);
		double est, se;
		if (strcmp(term, "M_25_34") == 0) /* the reference cell: no column */
			continue;
		ck_assert_msg(c != NULL, "no coefficient %s", term);
		est = json_number_value(json_object_get(c, "estimate"));
		se = json_number_value(json_object_get(c, "se_hc1"));
		ck_assert(se > 0);
		ck_assert_msg(fabs(est - json_number_value(v)) < 3.29 * se, "%s: %.1f, truth %.1f, se %.1f", term, est,
			      json_number_value(v), se);
		in95 += fabs(est - json_number_value(v)) < 1.96 * se;
		n++;
	}
	ck_assert_int_ge(n, 26);
	ck_assert_msg(in95 >= n * 85 / 100, "only %d of %d within their 95 %% interval", in95, n);
	/* the whole-population predictive ratio of an OLS fit with intercept is 1 */
	{
		double sp = 0, sa = 0;
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(json_object_get(model, "diagnostics"), "by_decile"), i, g) {
			sp += json_number_value(json_object_get(g, "mean_predicted")) * json_number_value(json_object_get(g, "weight"));
			sa += json_number_value(json_object_get(g, "mean_actual")) * json_number_value(json_object_get(g, "weight"));
		}
		ck_assert_msg(fabs(sp / sa - 1) < 1e-9, "predictive ratio %.12f", sp / sa);
	}
	json_decref(model);
}
END_TEST

/* Same inputs, same bytes: a re-fit is a new version with the same digest and
 * coefficients; one thread or two give the same numbers to 1e-12. */
START_TEST(refit_is_reproducible_across_threads)
{
	json_t *a = fit(TOWN_WLS), *b = fit(TOWN_WLS), *c;
	struct h_srv one;
	char *ca, *cb;
	size_t i;
	json_t *x;

	ck_assert_int_eq(json_integer_value(json_object_get(b, "version")),
			 json_integer_value(json_object_get(a, "version")) + 1);
	ck_assert_str_eq(json_string_value(json_object_get(a, "inputs_digest")),
			 json_string_value(json_object_get(b, "inputs_digest")));
	ca = json_dumps(json_object_get(a, "coefficients"), JSON_COMPACT | JSON_SORT_KEYS);
	cb = json_dumps(json_object_get(b, "coefficients"), JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(ca, cb);
	free(ca);
	free(cb);
	/* a second a51d with one fitting thread takes the next job: stop ours first */
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_srv_start(&one, db.url, (const char *const[]){ "A51_WORKERS=1", "A51_STATS_THREADS=1", NULL });
	{
		uint16_t keep = srv.port;
		srv.port = one.port;
		c = fit(TOWN_WLS);
		srv.port = keep;
	}
	ck_assert_int_eq(h_srv_stop(&one), 0);
	h_srv_start(&srv, db.url, workers_env);
	json_array_foreach(json_object_get(a, "coefficients"), i, x) {
		double e1 = json_number_value(json_object_get(x, "estimate"));
		double e2 = json_number_value(json_object_get(json_array_get(json_object_get(c, "coefficients"), i), "estimate"));
		ck_assert_msg(fabs(e1 - e2) <= 1e-12 * fmax(1.0, fabs(e1)), "%s: %.17g vs %.17g",
			      json_string_value(json_object_get(x, "term")), e1, e2);
	}
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(every_method_fits)
{
	static const char *const bodies[] = {
		"{\"name\":\"m1\",\"year\":2024,\"target\":\"all_care\",\"terms\":[\"age_sex\",\"ald_groups\",\"c2s\",\"ame\","
		"\"n_chronic\"],\"method\":\"ols\",\"truncation\":{\"type\":\"percentile\",\"p\":0.99}}",
		"{\"name\":\"m2\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\",\"ald_groups\",\"c2s\"],"
		"\"method\":\"log_ols\"}",
		"{\"name\":\"m3\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\",\"ald_groups\",\"c2s\"],"
		"\"method\":\"glm_gamma\",\"truncation\":{\"type\":\"winsorize\",\"low\":0.01,\"high\":0.99}}",
		"{\"name\":\"m4\",\"year\":2024,\"target\":\"peps_perimeter\",\"terms\":[\"age_sex\",\"c2s\"],"
		"\"method\":\"glm_poisson\",\"exposure_weights\":true}",
		"{\"name\":\"m5\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\",\"ald_groups\",\"c2s\"],"
		"\"interactions\":[[\"ald_groups\",\"c2s\"]],\"method\":\"ols\"}",
	};
	for (size_t k = 0; k < sizeof(bodies) / sizeof(bodies[0]); k++) {
		json_t *m = fit(bodies[k]), *stats = json_object_get(m, "stats");
		double sp = 0, sa = 0;
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(json_object_get(m, "diagnostics"), "by_decile"), i, g) {
			sp += json_number_value(json_object_get(g, "mean_predicted")) * json_number_value(json_object_get(g, "weight"));
			sa += json_number_value(json_object_get(g, "mean_actual")) * json_number_value(json_object_get(g, "weight"));
		}
		/* every method predicts the population's total within a few per cent;
		 * log-OLS less closely: Duan's smearing is unbiased only when the
		 * log-scale errors have the same variance for everyone */
		ck_assert_msg(fabs(sp / sa - 1) < (k == 1 ? 0.10 : 0.05), "model %zu: predictive ratio %.4f", k, sp / sa);
		ck_assert(json_number_value(json_object_get(stats, "mae_pct")) > 0);
		switch (k) {
		case 0:
			ck_assert_int_gt(json_integer_value(json_object_get(stats, "truncated")), 0);
			ck_assert(json_number_value(json_object_get(stats, "cap")) > 0);
			break;
		case 1:
			ck_assert(json_number_value(json_object_get(stats, "smearing")) > 1);
			break;
		case 2:
		case 3:
			ck_assert(json_is_true(json_object_get(json_object_get(stats, "glm"), "converged")));
			break;
		case 4:
			ck_assert_ptr_nonnull(coef(m, "ald_diabetes:c2s"));
			break;
		}
		json_decref(m);
	}
}
END_TEST

START_TEST(bad_definitions_are_refused_with_every_field)
{
	int st;
	json_t *j = api("POST", "/v1/risk-models", nat,
			"{\"year\":2017,\"target\":\"hospital\",\"terms\":[\"age_sex\",\"income\"],\"method\":\"lasso\","
			"\"truncation\":{\"type\":\"percentile\",\"p\":1.5},\"interactions\":[[\"age_sex\",\"ame\"]],\"colour\":1}",
			&st);
	static const char *const fields[] = { "name", "year", "target", "terms", "method", "truncation.p", "interactions",
					      "colour" };
	char *text = json_dumps(j, JSON_COMPACT);

	ck_assert_int_eq(st, 422);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "\"field\":\"%s\"", fields[i]);
		ck_assert_msg(strstr(text, needle), "%s missing from %s", fields[i], text);
	}
	free(text);
	json_decref(j);
	/* an ARS fits its own region's variant only; structures fit nothing */
	j = api("POST", "/v1/risk-models", ars,
		"{\"name\":\"r\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\"],\"method\":\"ols\",\"region\":\"11\"}",
		&st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = api("POST", "/v1/risk-models", s1tok,
		"{\"name\":\"r\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\"],\"method\":\"ols\"}", &st);
	ck_assert_int_eq(st, 403);
	json_decref(j);
	/* what the job would only find out later is refused now: an unknown region, too many columns */
	j = api("POST", "/v1/risk-models", nat,
		"{\"name\":\"r\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\"],\"method\":\"ols\","
		"\"region\":\"99\"}", &st);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	j = api("POST", "/v1/risk-models", nat,
		"{\"name\":\"r\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\",\"ald_groups\",\"c2s\","
		"\"n_chronic\"],\"method\":\"ols\",\"interactions\":[[\"age_sex\",\"ald_groups\"],[\"age_sex\",\"n_chronic\"],"
		"[\"ald_groups\",\"n_chronic\"],[\"age_sex\",\"c2s\"]]}", &st);
	ck_assert_int_eq(st, 422);
	{
		char *t = json_dumps(j, JSON_COMPACT);
		ck_assert_msg(strstr(t, "too many columns"), "%s", t);
		free(t);
	}
	json_decref(j);
	{
		PGconn *pg = h_db_connect(&db);
		ck_assert_str_eq(h_sql1(pg, "SELECT count(*) FROM jobs WHERE params->'definition'->>'name' = 'r'"), "0");
		PQfinish(pg);
	}
}
END_TEST

START_TEST(failed_fit_gives_a_reason_and_stores_nothing)
{
	long id = submit(srv.port, "{\"name\":\"empty\",\"year\":2019,\"target\":\"town_all\",\"terms\":[\"age_sex\"],"
				   "\"method\":\"ols\"}");
	json_t *job = wait_job(srv.port, id, 60);
	PGconn *pg = h_db_connect(&db);

	ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "failed");
	ck_assert_msg(strstr(json_string_value(json_object_get(job, "error")), "no spending"),
		      "%s", json_string_value(json_object_get(job, "error")));
	ck_assert(json_is_null(json_object_get(job, "result")));
	ck_assert_str_eq(h_sql1(pg, "SELECT count(*) FROM risk_models WHERE name = 'empty'"), "0");
	PQfinish(pg);
	json_decref(job);
}
END_TEST

/* Deprivation of the commune, when provided: quintile 1 is the reference;
 * the generator gives it no effect, so its coefficients are 0 within their
 * intervals, and the diagnostics show a group per quintile. */
START_TEST(deprivation_term)
{
	json_t *m = fit("{\"name\":\"dep\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\","
			"\"ald_groups\",\"c2s\",\"deprivation\"],\"method\":\"wls\"}");
	int quintiles = 0;
	size_t i;
	json_t *g;

	for (int q = 2; q <= 5; q++) {
		char term[32];
		const json_t *c;
		snprintf(term, sizeof(term), "deprivation_q%d", q);
		c = coef(m, term);
		ck_assert_ptr_nonnull(c);
		ck_assert_msg(fabs(json_number_value(json_object_get(c, "estimate"))) <
				      3.29 * json_number_value(json_object_get(c, "se_hc1")),
			      "%s: %.1f", term, json_number_value(json_object_get(c, "estimate")));
	}
	json_array_foreach(json_object_get(json_object_get(m, "diagnostics"), "by_group"), i, g)
		quintiles += strncmp(json_string_value(json_object_get(g, "group")), "deprivation_q", 13) == 0;
	ck_assert_int_eq(quintiles, 5);
	/* every commune of the synthetic population has its quintile: the unknown column is empty */
	ck_assert_int_eq(json_array_size(json_object_get(m, "warnings")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "warnings"), 0)),
			 "term deprivation_unknown dropped: no patient has it (an empty column)");
	json_decref(m);
}
END_TEST

/* A regional variant fits on the region's reference patients only. */
START_TEST(ars_fits_a_regional_variant)
{
	int st;
	json_t *j = h_api_json(srv.port, "POST", "/v1/risk-models", ars,
			       "{\"name\":\"ara\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\",\"c2s\"],"
			       "\"method\":\"ols\",\"region\":\"84\"}", &st);
	long id = (long)json_integer_value(json_object_get(j, "id"));
	json_t *job, *model;

	ck_assert_int_eq(st, 202);
	json_decref(j);
	/* the ARS of another region does not see the job */
	j = apif("GET", ars_other, NULL, &st, "/v1/jobs/%ld", id);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	job = wait_job(srv.port, id, 60);
	ck_assert_str_eq(json_string_value(json_object_get(job, "status")), "succeeded");
	model = api("GET", json_string_value(json_object_get(json_object_get(job, "result"), "url")), ars, NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(json_string_value(json_object_get(model, "region")), "84");
	ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(model, "stats"), "n")), 0);
	json_decref(model);
	json_decref(job);
}
END_TEST

/* ---- jobs: cancel, takeover ---- */

START_TEST(cancel_queued_and_running_jobs)
{
	struct h_srv slow;
	json_t *j;
	long queued, running;
	int st;

	/* no worker here: a job stays queued */
	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_srv_start(&slow, db.url,
		    (const char *const[]){ "A51_WORKERS=0", NULL });
	queued = submit(slow.port, TOWN_WLS);
	j = h_api_json(slow.port, "DELETE", "/v1/jobs/0", nat, NULL, &st);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	{
		char path[64];
		snprintf(path, sizeof(path), "/v1/jobs/%ld", queued);
		j = h_api_json(slow.port, "DELETE", path, s1tok, NULL, &st);
		ck_assert_int_eq(st, 404); /* not the structure's job */
		json_decref(j);
		j = h_api_json(slow.port, "DELETE", path, nat, NULL, &st);
		ck_assert_int_eq(st, 200);
		ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "cancelled");
		json_decref(j);
		j = h_api_json(slow.port, "DELETE", path, nat, NULL, &st);
		ck_assert_int_eq(st, 409);
		json_decref(j);
	}
	{
		/* a structure sees the payer's scoring of it, but may not stop it */
		char body[64], path[64];
		long sj;
		snprintf(body, sizeof(body), "{\"structure_id\":%ld}", s1);
		j = h_api_json(slow.port, "POST", "/v1/risk-models/1/score-runs", nat, body, &st);
		ck_assert_int_eq(st, 202);
		sj = (long)json_integer_value(json_object_get(j, "id"));
		json_decref(j);
		snprintf(path, sizeof(path), "/v1/jobs/%ld", sj);
		j = h_api_json(slow.port, "DELETE", path, s1tok, NULL, &st);
		ck_assert_int_eq(st, 403);
		json_decref(j);
		j = h_api_json(slow.port, "DELETE", path, nat, NULL, &st);
		ck_assert_int_eq(st, 200);
		json_decref(j);
	}
	ck_assert_int_eq(h_srv_stop(&slow), 0);
	/* a slow worker: cancelled while running, it stops at its next checkpoint */
	h_srv_start(&slow, db.url,
		    (const char *const[]){ "A51_WORKERS=1", "A51_MODE=test", "A51_JOB_CHECKPOINT_DELAY_MS=300", "A51_JOB_LEASE_S=5", NULL });
	running = submit(slow.port, TOWN_WLS);
	{
		char path[64];
		uint64_t until = h_now_ms() + 30000;
		snprintf(path, sizeof(path), "/v1/jobs/%ld", running);
		for (;;) {
			j = h_api_json(slow.port, "GET", path, nat, NULL, &st);
			if (strcmp(json_string_value(json_object_get(j, "status")), "running") == 0 &&
			    json_number_value(json_object_get(j, "progress")) > 0.2)
				break;
			ck_assert(h_now_ms() < until);
			json_decref(j);
			usleep(50000);
		}
		ck_assert(json_is_number(json_object_get(j, "eta_s")));
		json_decref(j);
		j = h_api_json(slow.port, "DELETE", path, nat, NULL, &st);
		ck_assert_int_eq(st, 202);
		ck_assert(json_is_true(json_object_get(j, "cancel_requested")));
		json_decref(j);
	}
	j = wait_job(slow.port, running, 30);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "cancelled");
	json_decref(j);
	{
		PGconn *pg = h_db_connect(&db);
		char q[128];
		snprintf(q, sizeof(q), "SELECT count(*) FROM risk_models WHERE job_id IN (%ld, %ld)", queued, running);
		ck_assert_str_eq(h_sql1(pg, q), "0");
		snprintf(q, sizeof(q), "SELECT count(*) FROM audit_log WHERE resource_type = 'job' AND action = 'cancel'");
		ck_assert_str_eq(h_sql1(pg, q), "3");
		PQfinish(pg);
	}
	ck_assert_int_eq(h_srv_stop(&slow), 0);
	h_srv_start(&srv, db.url, workers_env);
}
END_TEST

/* kill -9 of the a51d running a fit: once the lease has expired another a51d
 * takes the job over and finishes it; one model, written once. */
START_TEST(killed_worker_job_is_taken_over)
{
	struct h_srv victim, heir;
	long id;
	json_t *j;
	int st;
	char path[64];
	uint64_t until = h_now_ms() + 30000, t_kill;

	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_srv_start(&victim, db.url,
		    (const char *const[]){ "A51_WORKERS=1", "A51_JOB_LEASE_S=5", "A51_MODE=test",
					   "A51_JOB_CHECKPOINT_DELAY_MS=300", NULL });
	id = submit(victim.port, "{\"name\":\"takeover\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\"],"
				 "\"method\":\"ols\"}");
	snprintf(path, sizeof(path), "/v1/jobs/%ld", id);
	for (;;) {
		j = h_api_json(victim.port, "GET", path, nat, NULL, &st);
		if (json_number_value(json_object_get(j, "progress")) > 0.2)
			break;
		ck_assert(h_now_ms() < until);
		json_decref(j);
		usleep(50000);
	}
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "running");
	json_decref(j);
	kill(victim.pid, SIGKILL);
	waitpid(victim.pid, NULL, 0);
	t_kill = h_now_ms();
	h_srv_start(&heir, db.url, (const char *const[]){ "A51_WORKERS=1", "A51_JOB_LEASE_S=5", NULL });
	j = wait_job(heir.port, id, 60);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "succeeded");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "attempts")), 2);
	/* not before the lease ran out */
	ck_assert_uint_ge(h_now_ms() - t_kill, 3000);
	json_decref(j);
	{
		PGconn *pg = h_db_connect(&db);
		char q[128];
		snprintf(q, sizeof(q), "SELECT count(*) FROM risk_models WHERE name = 'takeover' AND job_id = %ld", id);
		ck_assert_str_eq(h_sql1(pg, q), "1");
		PQfinish(pg);
	}
	ck_assert_int_eq(h_srv_stop(&heir), 0);
	h_srv_start(&srv, db.url, workers_env);
}
END_TEST

/* SIGTERM while a fit runs: the job goes back to the queue at once (no lease
 * to wait for, no attempt spent) and the next a51d runs it. */
START_TEST(stopping_a51d_hands_its_job_back)
{
	struct h_srv a;
	long id;
	json_t *j;
	int st;
	char path[64];
	uint64_t until = h_now_ms() + 30000;

	ck_assert_int_eq(h_srv_stop(&srv), 0);
	h_srv_start(&a, db.url,
		    (const char *const[]){ "A51_WORKERS=1", "A51_MODE=test", "A51_JOB_CHECKPOINT_DELAY_MS=100",
					   "A51_SHUTDOWN_GRACE=0", NULL });
	id = submit(a.port, "{\"name\":\"handback\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\"],"
			    "\"method\":\"ols\"}");
	snprintf(path, sizeof(path), "/v1/jobs/%ld", id);
	for (;;) {
		j = h_api_json(a.port, "GET", path, nat, NULL, &st);
		if (strcmp(json_string_value(json_object_get(j, "status")), "running") == 0)
			break;
		ck_assert(h_now_ms() < until);
		json_decref(j);
		usleep(50000);
	}
	json_decref(j);
	ck_assert_int_eq(h_srv_stop(&a), 0);
	{
		PGconn *pg = h_db_connect(&db);
		char q[128];
		snprintf(q, sizeof(q), "SELECT status || ' ' || attempts FROM jobs WHERE id = %ld", id);
		ck_assert_str_eq(h_sql1(pg, q), "queued 0");
		PQfinish(pg);
	}
	h_srv_start(&srv, db.url, workers_env);
	j = wait_job(srv.port, id, 60);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "succeeded");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "attempts")), 1);
	json_decref(j);
}
END_TEST

/* ---- scoring ---- */

static long model_id(void)
{
	static long id;

	if (!id) {
		json_t *m = fit("{\"name\":\"scoring\",\"year\":2024,\"target\":\"town_all\",\"terms\":[\"age_sex\",\"ald_groups\","
				"\"c2s\",\"ame\",\"n_chronic\"],\"method\":\"ols\"}");
		id = (long)json_integer_value(json_object_get(m, "id"));
		json_decref(m);
	}
	return id;
}

/* The contributions of a score add up to its expected cost, to the cent. */
static void assert_adds_up(const json_t *s)
{
	long long sum = 0;
	size_t i;
	json_t *c;

	ck_assert_int_gt(json_array_size(json_object_get(s, "contributions")), 0);
	json_array_foreach(json_object_get(s, "contributions"), i, c)
		sum += json_integer_value(json_object_get(c, "cents"));
	ck_assert_int_eq(sum, json_integer_value(json_object_get(s, "expected_annual_cents")));
}

START_TEST(score_run_of_a_patientele)
{
	long mid = model_id(), job;
	json_t *j, *it;
	int st;
	size_t i;
	long long total = 0, seen = 0;
	char next[256] = "";

	/* a structure scores its own patientèle, not another's */
	j = apif("POST", s2tok, "{\"structure_id\":0}", &st, "/v1/risk-models/%ld/score-runs", mid);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	{
		char body[64];
		snprintf(body, sizeof(body), "{\"structure_id\":%ld}", s1);
		j = apif("POST", s2tok, body, &st, "/v1/risk-models/%ld/score-runs", mid);
		ck_assert_int_eq(st, 404);
		json_decref(j);
		j = apif("POST", s1tok, body, &st, "/v1/risk-models/%ld/score-runs", mid);
		ck_assert_int_eq(st, 202);
		job = (long)json_integer_value(json_object_get(j, "id"));
		json_decref(j);
	}
	j = wait_job(srv.port, job, 60);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "succeeded");
	json_decref(j);
	/* the structure sees its job; the other structure and the other ARS do not */
	j = apif("GET", s1tok, NULL, &st, "/v1/jobs/%ld", job);
	ck_assert_int_eq(st, 200);
	json_decref(j);
	j = apif("GET", s2tok, NULL, &st, "/v1/jobs/%ld", job);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = apif("GET", ars_other, NULL, &st, "/v1/jobs/%ld", job);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = api("GET", "/v1/jobs", s2tok, NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	/* every page: the items' expected costs add up to the summary's total */
	snprintf(next, sizeof(next), "/v1/risk-models/%ld/scores?structure_id=%ld&limit=100&explain=true", mid, s1);
	for (int page = 0; next[0]; page++) {
		json_t *summary;
		j = api("GET", next, s1tok, NULL, &st);
		ck_assert_int_eq(st, 200);
		summary = json_object_get(j, "summary");
		if (page == 0)
			total = json_integer_value(json_object_get(summary, "total_expected_cents"));
		json_array_foreach(json_object_get(j, "items"), i, it) {
			seen += json_integer_value(json_object_get(it, "expected_annual_cents"));
			assert_adds_up(it);
		}
		snprintf(next, sizeof(next), "%s", json_is_string(json_object_get(j, "next"))
							  ? json_string_value(json_object_get(j, "next")) : "");
		json_decref(j);
	}
	ck_assert_int_gt(total, 0);
	ck_assert_int_eq(seen, total);
	{
		/* the submission is audited, with who asked */
		PGconn *pg = h_db_connect(&db);
		char q[160];
		snprintf(q, sizeof(q), "SELECT count(*) FROM audit_log WHERE resource_type = 'job' AND action = 'submit'"
				       " AND resource_id = '%ld'", job);
		ck_assert_str_eq(h_sql1(pg, q), "1");
		PQfinish(pg);
	}
	{
		/* an empty patientèle is not scored: the job fails and says why */
		long s3 = create("/v1/structures", "{\"kind\":\"MSP\",\"name\":\"MSP Vide\",\"region\":\"84\","
						   "\"commune\":\"69123\",\"legal_form\":\"SISA\"}", nat);
		char body[64];
		long empty;
		snprintf(body, sizeof(body), "{\"structure_id\":%ld}", s3);
		j = apif("POST", nat, body, &st, "/v1/risk-models/%ld/score-runs", mid);
		ck_assert_int_eq(st, 202);
		empty = (long)json_integer_value(json_object_get(j, "id"));
		json_decref(j);
		j = wait_job(srv.port, empty, 60);
		ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "failed");
		ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "nothing to score"));
		json_decref(j);
	}
	/* other tenants do not see the scores */
	j = apif("GET", s2tok, NULL, &st, "/v1/risk-models/%ld/scores?structure_id=%ld", mid, s1);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = apif("GET", ars_other, NULL, &st, "/v1/risk-models/%ld/scores?structure_id=%ld", mid, s1);
	ck_assert_int_eq(st, 404);
	json_decref(j);
	j = apif("GET", ars, NULL, &st, "/v1/risk-models/%ld/scores?structure_id=%ld&limit=1", mid, s1);
	ck_assert_int_eq(st, 200);
	json_decref(j);
}
END_TEST

/* Scoring now: known patients give the same cost as the stored run; profiles
 * are scored from their description; each with parts that add up. */
START_TEST(score_patients_and_profiles_now)
{
	long mid = model_id(), pid, job;
	json_t *j, *stored, *s;
	int st;
	char body[256];

	snprintf(body, sizeof(body), "{\"structure_id\":%ld}", s1);
	j = apif("POST", nat, body, &st, "/v1/risk-models/%ld/score-runs", mid);
	ck_assert_int_eq(st, 202);
	job = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	json_decref(wait_job(srv.port, job, 60));
	j = apif("GET", s1tok, NULL, &st, "/v1/risk-models/%ld/scores?structure_id=%ld&limit=1", mid, s1);
	ck_assert_int_eq(st, 200);
	pid = (long)json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "patient_id"));
	json_decref(j);
	stored = apif("GET", s1tok, NULL, &st, "/v1/risk-models/%ld/scores/%ld?structure_id=%ld", mid, pid, s1);
	ck_assert_int_eq(st, 200);
	assert_adds_up(stored);
	snprintf(body, sizeof(body),
		 "{\"structure_id\":%ld,\"patient_ids\":[%ld],\"profiles\":[{\"sex\":2,\"age\":78,\"ald\":[8,5],\"c2s\":true,"
		 "\"ref\":\"a\"},{\"sex\":1,\"age\":30}]}",
		 s1, pid);
	j = apif("POST", s1tok, body, &st, "/v1/risk-models/%ld/scores", mid);
	ck_assert_msg(st == 200, "%d", st);
	ck_assert_int_eq(json_array_size(json_object_get(j, "scores")), 3);
	for (size_t i = 0; i < 3; i++)
		assert_adds_up(json_array_get(json_object_get(j, "scores"), i));
	s = json_array_get(json_object_get(j, "scores"), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "patient_id")), pid);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "expected_annual_cents")),
			 json_integer_value(json_object_get(stored, "expected_annual_cents")));
	s = json_array_get(json_object_get(j, "scores"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "age_sex")), "F_75_84");
	ck_assert_str_eq(json_string_value(json_object_get(s, "ref")), "a");
	/* the 30-year-old man of the reference cell costs the intercept alone */
	s = json_array_get(json_object_get(j, "scores"), 1);
	ck_assert_int_eq(json_array_size(json_object_get(s, "contributions")), 1);
	json_decref(j);
	json_decref(stored);
	/* a patient of another structure, bad profiles: every fault named */
	snprintf(body, sizeof(body),
		 "{\"structure_id\":%ld,\"patient_ids\":[999999999],\"profiles\":[{\"sex\":3,\"age\":-1,\"ald\":[40]}]}", s1);
	j = apif("POST", s1tok, body, &st, "/v1/risk-models/%ld/scores", mid);
	ck_assert_int_eq(st, 422);
	{
		char *t = json_dumps(j, JSON_COMPACT);
		ck_assert_ptr_nonnull(strstr(t, "profiles[0].sex"));
		ck_assert_ptr_nonnull(strstr(t, "profiles[0].age"));
		ck_assert_ptr_nonnull(strstr(t, "profiles[0].ald"));
		free(t);
	}
	json_decref(j);
	snprintf(body, sizeof(body), "{\"structure_id\":%ld,\"patient_ids\":[999999999]}", s1);
	j = apif("POST", s1tok, body, &st, "/v1/risk-models/%ld/scores", mid);
	ck_assert_int_eq(st, 422);
	json_decref(j);
	snprintf(body, sizeof(body), "{\"structure_id\":%ld,\"profiles\":[{\"sex\":1,\"age\":40}]}", s1);
	j = apif("POST", s1tok, body, &st, "/v1/risk-models/%ld/scores", mid);
	ck_assert_int_eq(st, 422); /* structure_id without patient_ids means a mistake */
	json_decref(j);
	snprintf(body, sizeof(body), "{\"structure_id\":%ld,\"patient_ids\":[%ld]}", s1, pid);
	j = apif("POST", s2tok, body, &st, "/v1/risk-models/%ld/scores", mid);
	ck_assert_int_eq(st, 404);
	json_decref(j);
}
END_TEST

START_TEST(models_are_immutable)
{
	long mid = model_id();
	PGconn *pg = h_db_connect(&db);
	char q[160];

	snprintf(q, sizeof(q), "UPDATE risk_models SET method = 'x' WHERE id = %ld", mid);
	PQclear(PQexec(pg, q));
	snprintf(q, sizeof(q), "DELETE FROM risk_models WHERE id = %ld", mid);
	PQclear(PQexec(pg, q));
	snprintf(q, sizeof(q), "SELECT method FROM risk_models WHERE id = %ld", mid);
	ck_assert_str_eq(h_sql1(pg, q), "ols");
	PQfinish(pg);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("riskmodels");
	TCase *tc = tcase_create("riskmodels");

	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, fit_recovers_the_generators_coefficients);
	tcase_add_test(tc, refit_is_reproducible_across_threads);
	tcase_add_test(tc, every_method_fits);
	tcase_add_test(tc, deprivation_term);
	tcase_add_test(tc, bad_definitions_are_refused_with_every_field);
	tcase_add_test(tc, failed_fit_gives_a_reason_and_stores_nothing);
	tcase_add_test(tc, ars_fits_a_regional_variant);
	tcase_add_test(tc, cancel_queued_and_running_jobs);
	tcase_add_test(tc, killed_worker_job_is_taken_over);
	tcase_add_test(tc, stopping_a51d_hands_its_job_back);
	tcase_add_test(tc, score_run_of_a_patientele);
	tcase_add_test(tc, score_patients_and_profiles_now);
	tcase_add_test(tc, models_are_immutable);
	suite_add_tcase(s, tc);
	return s;
}

/* Without fork: tests stop and start a51d processes, and the next test must
 * see the server the previous one left. */
int main(void)
{
	return h_run_nofork(suite());
}
