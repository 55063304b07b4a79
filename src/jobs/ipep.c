/* IPEP runs as jobs: a groupement's year, or every enrolled groupement of a
 * region or of the country in one batch. A run takes the patientèle on the
 * reference day, reads each patient's covariates and spending of both years
 * with the risk model's population query, scores the quality inputs,
 * computes (domain/ipep.c) and writes the run and its lines at once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/app.h"
#include "a51/buf.h"
#include "a51/dates.h"
#include "a51/eligibility.h"
#include "a51/ipep.h"
#include "a51/jobs.h"
#include "a51/money.h"
#include "a51/riskmodel.h"
#include "a51/sha256.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

struct run_args {
	int64_t structure_id, parameter_set_id, batch_id;
	int year, phase;              /* phase: a what-if's; 0: the enrolment's */
	bool what_if;
};

/* Rows of the population query for one year, ordered by patient. */
struct year_rows {
	struct rm_patient *rows;
	size_t n, cap;
};

static int rows_add(void *ctx, const struct rm_patient *pt, struct a51_error *err)
{
	struct year_rows *y = ctx;

	if (y->n == y->cap)
		return a51_error_set(err, A51_EINTERNAL, NULL, "more rows than patients");
	y->rows[y->n++] = *pt;
	return 0;
}

/* The quality inputs as the domain reads them; NULL: none recorded. */
static struct ipep_indicator *indicators_of(const json_t *q, size_t *n)
{
	const json_t *list = json_object_get(q, "indicators"), *k;
	struct ipep_indicator *ind;
	size_t i;

	*n = json_array_size(list);
	if (!(ind = calloc(*n ? *n : 1, sizeof(*ind))))
		return NULL;
	json_array_foreach(list, i, k) {
		const json_t *v = json_object_get(k, "value"), *pv = json_object_get(k, "previous");
		snprintf(ind[i].code, sizeof(ind[i].code), "%s", json_string_value(json_object_get(k, "code")));
		ind[i].a_la_carte = json_is_true(json_object_get(k, "a_la_carte"));
		ind[i].decreasing = json_is_true(json_object_get(k, "decreasing"));
		ind[i].value = json_is_number(v) ? json_number_value(v) : NAN;
		ind[i].previous = json_is_number(pv) ? json_number_value(pv) : NAN;
		for (int d = 0; d < 9; d++)
			ind[i].deciles[d] = json_number_value(json_array_get(json_object_get(k, "deciles"), (size_t)d));
	}
	return ind;
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static int run_groupement(struct job_ctx *ctx, const struct run_args *a, int64_t *run_id, json_t **summary,
			  struct a51_error *err)
{
	struct actor actor = { .caller = &ctx->caller, .request_id = ctx->request_id };
	struct db_conn *c = ctx->db;
	char from[11], to[11], day[11], region[4] = "", digest[65], due[11], claims_from[11], claims_to[11];
	json_t *enrol = NULL, *pset = NULL, *model = NULL, *quality = NULL, *warnings = json_array(), *result = NULL,
	       *scored = json_array();
	struct ipep_params kp;
	struct elig_params ep;
	struct rm_def def;
	struct rm_design d;
	double coef[RM_MAX_COLUMNS], smearing, share[20], x[RM_MAX_COLUMNS], cap = INFINITY;
	int64_t model_id, enrolment_id = 0, *ids = NULL, *lines = NULL;
	size_t n = 0, nind = 0;
	struct year_rows yr[2] = { { 0 }, { 0 } };
	struct ipep_patient *pts = NULL;
	struct ipep_indicator *ind = NULL;
	struct ipep_indicator_score *scores = NULL;
	struct ipep_quality q;
	struct ipep_result res;
	struct sha256 sh;
	uint8_t dg[SHA256_LEN];
	struct buf out;
	int phase = a->phase, rc;

	buf_init(&out);
	sha256_init(&sh);
	date_format(date_from_ymd(a->year, 1, 1), from);
	date_format(date_from_ymd(a->year, 12, 31), to);
	rc = store_enrolment_over(c, a->structure_id, "IPEP", from, to, &enrol, err);
	if (rc == 0) {
		enrolment_id = json_integer_value(json_object_get(enrol, "id"));
		if (!a->what_if) {
			if ((rc = ipep_phase_check(enrol, a->structure_id, from, to, err)) < 0)
				goto out;
			phase = ipep_phase_parse(json_string_value(json_object_get(enrol, "phase")));
		} else if (!phase) {
			phase = ipep_phase_parse(json_string_value(json_object_get(enrol, "phase")));
		}
	} else if (rc != A51_EINVAL || !a->what_if) {
		goto out;
	}
	if (!phase)
		phase = IPEP_PHASE2; /* a what-if of a groupement not enrolled: the gains */
	rc = 0;
	if ((rc = store_structure_region(c, a->structure_id, region, err)) < 0 ||
	    (rc = store_claim_span(c, a->structure_id, claims_from, claims_to, err)) < 0)
		goto out;
	{
		/* spending of days without data would count as none: an official run
		 * is refused (a batch leaves the groupement out), a what-if warned */
		struct a51_error cover = { 0 };
		if (ipep_data_check(a->structure_id, a->year, claims_from, claims_to, &cover) < 0) {
			if (!a->what_if) {
				*err = cover;
				rc = cover.code;
				goto out;
			}
			json_array_append_new(warnings, json_sprintf("%s: the spending of the days without data counts as none",
								     cover.message));
		}
	}
	rc = a->parameter_set_id ? store_param_set_get(c, a->parameter_set_id, &pset, err)
				 : store_param_set_latest(c, "IPEP", a->year, &pset, err);
	if (rc == A51_ENOTFOUND)
		rc = a51_error_set(err, A51_EINVAL, "parameter_set_id", "no IPEP parameter set for %d", a->year);
	if (rc < 0)
		goto out;
	if ((rc = params_read_ipep(json_object_get(pset, "body"), &kp, err)) < 0 ||
	    (rc = params_read_eligibility(json_object_get(pset, "body"), &ep, err)) < 0)
		goto out;
	if ((rc = store_rm_latest(c, "gains.risk_model", kp.risk_model, &model_id, err)) < 0 ||
	    (rc = store_rm_get(c, model_id, &model, err)) < 0 ||
	    (rc = rm_model_load(model, &def, &d, coef, &smearing, share, err)) < 0)
		goto out;
	if (kp.truncate_observed && def.truncation == TRUNC_PERCENTILE &&
	    json_is_number(json_object_get(json_object_get(model, "stats"), "cap")))
		cap = json_number_value(json_object_get(json_object_get(model, "stats"), "cap"));
	/* the patientèle on the reference day */
	date_format(date_from_ymd(a->year, (kp.reference_day[0] - '0') * 10 + (kp.reference_day[1] - '0'),
				  (kp.reference_day[3] - '0') * 10 + (kp.reference_day[4] - '0')), day);
	if ((rc = store_ipep_patientele(c, a->structure_id, day, &ids, &n, err)) < 0)
		goto out;
	sha256_update(&sh, ids, n * sizeof(*ids));
	if (job_progress(ctx, 0.2, "%zu patients in groupement %lld", n, (long long)a->structure_id)) {
		rc = a51_error_set(err, A51_ECANCELED, "job", "cancelled");
		goto out;
	}
	/* the quality inputs of the year, scored */
	rc = store_ipep_quality_get(c, a->structure_id, a->year, &quality, err);
	if (rc == A51_ENOTFOUND) {
		json_array_append_new(warnings, json_sprintf("no quality inputs for %d: the score is 0", a->year));
		rc = 0;
	} else if (rc < 0) {
		goto out;
	}
	ind = indicators_of(quality, &nind);
	scores = calloc(nind ? nind : 1, sizeof(*scores));
	if (!ind || !scores) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	{
		const json_t *e = json_object_get(quality, "experience_points");
		ipep_score(&kp, ind, nind, json_is_number(e) ? json_number_value(e) : -1, scores, &q);
		if (quality && q.experience_missing)
			json_array_append_new(warnings, json_string("no patient-experience results: 0 of its points"));
		for (size_t i = 0; i < nind; i++)
			json_array_append_new(scored, json_pack("{s:s,s:b,s:b,s:o,s:o,s:f,s:f,s:f,s:s}", "code", ind[i].code,
								"a_la_carte", ind[i].a_la_carte, "decreasing",
								ind[i].decreasing, "value", num(ind[i].value), "previous",
								num(ind[i].previous), "target", scores[i].target,
								"intermediate", scores[i].intermediate, "points",
								scores[i].points, "how", scores[i].how));
	}
	/* both years of every patient: covariates, expected cost, observed spending, exposure */
	pts = calloc(n ? n : 1, sizeof(*pts));
	lines = calloc(n ? n : 1, sizeof(*lines));
	for (int y = 0; y < 2; y++) {
		yr[y].rows = malloc(sizeof(struct rm_patient) * (n ? n : 1));
		yr[y].cap = n;
	}
	if (!pts || !lines || !yr[0].rows || !yr[1].rows) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	def.region[0] = '\0';
	for (int y = 0; y < 2; y++) {
		size_t k = 0;
		def.year = a->year - 1 + y;
		if (n && (rc = store_rm_population(c, &def, a->structure_id, ids, n, true, &sh, rows_add, &yr[y], err)) < 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			pts[i].id = ids[i];
			while (k < yr[y].n && yr[y].rows[k].id < ids[i])
				k++;
			if (k < yr[y].n && yr[y].rows[k].id == ids[i]) {
				const struct rm_patient *pt = &yr[y].rows[k];
				rm_design_row(&def, &d, pt, x);
				pts[i].expected[y] = rm_model_predict(&def, coef, d.p, x, smearing,
								      pt->cell >= 0 && pt->cell < 20 ? share[pt->cell] : 1);
				pts[i].exposure[y] = pt->exposure;
				/* observed spending truncated like the model's target, for the time exposed */
				pts[i].observed[y] = fmin(pt->y, cap * pt->exposure);
			}
		}
	}
	if ((rc = ipep_compute(&kp, phase, ep.min_patients_exclusive, pts, n, &q, &res, lines, err)) < 0)
		goto out;
	if (!res.eligible)
		json_array_append_new(warnings, json_sprintf("%d patients: the patientèle must be more than %d; nothing is paid",
							     res.patients, ep.min_patients_exclusive));
	{
		char more[160];
		int len = snprintf(more, sizeof(more), "|pset=%lld|model=%lld|year=%d|phase=%d|quality=%lld",
				   (long long)json_integer_value(json_object_get(pset, "id")), (long long)model_id, a->year,
				   phase, (long long)json_integer_value(json_object_get(quality, "id")));
		sha256_update(&sh, more, (size_t)len);
		sha256_final(&sh, dg);
		util_hex(dg, sizeof(dg), digest);
	}
	date_format(date_from_ymd(a->year + 1, (kp.payment_due[0] - '0') * 10 + (kp.payment_due[1] - '0'),
				  (kp.payment_due[3] - '0') * 10 + (kp.payment_due[4] - '0')), due);
	result = json_pack("{s:{s:s,s:i,s:i,s:b},s:{s:[f,f],s:[f,f],s:[f,f],s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I},"
			   "s:{s:f,s:f,s:f,s:f,s:f,s:b,s:o,s:o},s:s,s:I,s:I,s:I,s:s,s:o,s:o}",
			   "patientele", "reference_day", day, "patients", res.patients, "floor",
			   ep.min_patients_exclusive, "eligible", res.eligible,
			   "gains", "exposure", res.exposure[0], res.exposure[1], "expected_pp", res.expected_pp[0],
			   res.expected_pp[1], "observed_pp", res.observed_pp[0], res.observed_pp[1], "level_gap_pp",
			   res.level_gap_pp, "evolution_gap_pp", res.evolution_gap_pp, "level_floored_pp",
			   res.level_floored_pp, "evolution_floored_pp", res.evolution_floored_pp, "c_ecart", kp.c_ecart,
			   "c_evolution", kp.c_evolution, "c_partage", kp.c_partage, "shared_pp", res.shared_pp,
			   "gains_cents", (json_int_t)res.gains_cents,
			   "quality", "points", q.points, "max_points", q.max_points, "share", q.share, "modulation",
			   q.modulation, "experience_points", q.experience_points, "experience_missing", q.experience_missing,
			   "indicators", scored, "inputs",
			   quality ? json_pack("{s:O,s:O}", "id", json_object_get(quality, "id"), "version",
					       json_object_get(quality, "version"))
				   : json_null(),
			   "phase", ipep_phase_name(phase), "modulated_cents", (json_int_t)res.modulated_cents,
			   "credits_cents", (json_int_t)res.credits_cents, "total_cents", (json_int_t)res.total_cents,
			   "due_on", due, "warnings", warnings, "model",
			   json_pack("{s:I,s:O,s:O,s:o}", "id", (json_int_t)model_id, "name", json_object_get(model, "name"),
				     "version", json_object_get(model, "version"), "observed_cap_cents", num(cap)));
	scored = warnings = NULL;
	if (!result) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	json_object_set_new(result, "parameter_set",
			    json_pack("{s:O,s:O,s:O}", "id", json_object_get(pset, "id"), "year", json_object_get(pset, "year"),
				      "version", json_object_get(pset, "version")));
	{
		struct ipep_run_record r = { .structure_id = a->structure_id, .enrolment_id = enrolment_id,
					     .parameter_set_id = json_integer_value(json_object_get(pset, "id")),
					     .model_id = model_id,
					     .quality_inputs_id = json_integer_value(json_object_get(quality, "id")),
					     .batch_id = a->batch_id, .job_id = ctx->id, .region = region,
					     .phase = ipep_phase_name(phase), .inputs_digest = digest, .code_version = a51_version,
					     .year = a->year, .patients = (int)n, .what_if = a->what_if,
					     .total_cents = res.total_cents, .result = result };
		if ((rc = store_ipep_run_insert(c, &actor, &r, run_id, err)) < 0)
			goto out;
	}
	if ((rc = store_ipep_lines_begin(c, err)) < 0)
		goto out;
	{
		int mode = money_rounding_parse(kp.rounding);
		size_t k[2] = { 0, 0 };
		for (size_t i = 0; i < n; i++) {
			int64_t v[4] = { 0 };
			const struct rm_patient *pt = NULL;
			for (int y = 0; y < 2; y++) {
				while (k[y] < yr[y].n && yr[y].rows[k[y]].id < ids[i])
					k[y]++;
				if (k[y] < yr[y].n && yr[y].rows[k[y]].id == ids[i])
					pt = &yr[y].rows[k[y]]; /* the latest year the patient is in */
				money_round(pts[i].expected[y], mode, &v[y]);
				money_round(pts[i].observed[y], mode, &v[2 + y]);
			}
			buf_printf(&out, "%lld\t%lld\t%d\t%u\t%d\t%lld\t%lld\t%lld\t%lld\t%.6f\t%.6f\t%lld\n", (long long)*run_id,
				   (long long)ids[i], pt ? pt->cell : 0, pt ? pt->ald : 0u,
				   pt ? (pt->c2s | (pt->ame << 1)) : 0, (long long)v[0], (long long)v[1], (long long)v[2],
				   (long long)v[3], pts[i].exposure[0], pts[i].exposure[1], (long long)lines[i]);
			if (out.len >= (1u << 20) || i + 1 == n) {
				if (out.oom) {
					rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
					goto out;
				}
				if ((rc = db_copy_in_put(c, out.data, out.len, err)) < 0)
					goto out;
				out.len = 0;
			}
		}
	}
	if ((rc = db_copy_in_end(c, err)) < 0)
		goto out;
	*summary = json_pack("{s:I,s:I,s:i,s:I,s:I}", "run_id", (json_int_t)*run_id, "structure_id",
			     (json_int_t)a->structure_id, "patients", (int)n, "gains_cents", (json_int_t)res.gains_cents,
			     "total_cents", (json_int_t)res.total_cents);
out:
	json_decref(enrol);
	json_decref(pset);
	json_decref(model);
	json_decref(quality);
	json_decref(warnings);
	json_decref(scored);
	json_decref(result);
	free(ids);
	free(lines);
	free(pts);
	free(ind);
	free(scores);
	free(yr[0].rows);
	free(yr[1].rows);
	buf_release(&out);
	return rc;
}

static void args_of(const json_t *p, struct run_args *a)
{
	memset(a, 0, sizeof(*a));
	a->structure_id = json_integer_value(json_object_get(p, "structure_id"));
	a->parameter_set_id = json_integer_value(json_object_get(p, "parameter_set_id"));
	a->year = (int)json_integer_value(json_object_get(p, "year"));
	a->phase = ipep_phase_parse(json_string_value(json_object_get(p, "phase")));
	a->what_if = json_is_true(json_object_get(p, "what_if"));
}

int job_ipep_run(struct job_ctx *ctx, struct a51_error *err)
{
	struct run_args a;
	json_t *summary = NULL;
	int64_t run_id = 0;
	int rc;

	args_of(ctx->params, &a);
	if ((rc = db_begin(ctx->db, err)) < 0)
		return rc;
	if ((rc = run_groupement(ctx, &a, &run_id, &summary, err)) == 0) {
		struct job_result res = { .type = "ipep_run", .id = run_id };
		snprintf(res.url, sizeof(res.url), "/v1/ipep/runs/%lld", (long long)run_id);
		if ((rc = job_finish_in_tx(ctx, &res, err)) == 0)
			rc = db_commit(ctx->db, err);
	}
	if (rc < 0)
		db_rollback(ctx->db);
	json_decref(summary);
	return rc;
}

/* Every groupement enrolled over the year (of a region, or the country), in
 * one transaction; one that cannot be run is listed with its reason. */
int job_ipep_batch(struct job_ctx *ctx, struct a51_error *err)
{
	struct actor actor = { .caller = &ctx->caller, .request_id = ctx->request_id };
	struct run_args a;
	const char *region = json_string_value(json_object_get(ctx->params, "region"));
	json_t *structures = NULL, *runs = json_array(), *skipped = json_array(), *s;
	char from[11], to[11];
	int64_t batch_id, total = 0;
	size_t i;
	int rc;

	args_of(ctx->params, &a);
	date_format(date_from_ymd(a.year, 1, 1), from);
	date_format(date_from_ymd(a.year, 12, 31), to);
	if ((rc = db_begin(ctx->db, err)) < 0 ||
	    (rc = store_enrolled_over(ctx->db, "IPEP", from, to, region, &structures, err)) < 0 ||
	    (rc = store_batch_insert(ctx->db, &actor, EXP_IPEP, a.year, region, ctx->id, &batch_id, err)) < 0)
		goto out;
	a.batch_id = batch_id;
	json_array_foreach(structures, i, s) {
		json_t *summary = NULL;
		int64_t run_id;
		struct a51_error e = { 0 };
		a.structure_id = json_integer_value(json_object_get(s, "structure_id"));
		if (job_progress(ctx, (double)i / (double)json_array_size(structures), "groupement %zu of %zu", i + 1,
				 json_array_size(structures))) {
			rc = a51_error_set(err, A51_ECANCELED, "job", "cancelled");
			goto out;
		}
		if ((rc = db_run(ctx->db, "SAVEPOINT run", err)) < 0)
			goto out;
		if ((rc = run_groupement(ctx, &a, &run_id, &summary, &e)) == 0) {
			total += json_integer_value(json_object_get(summary, "total_cents"));
			json_array_append_new(runs, summary);
			rc = db_run(ctx->db, "RELEASE SAVEPOINT run", err);
		} else if (e.code == A51_EINVAL) {
			json_array_append_new(skipped, json_pack("{s:I,s:s}", "structure_id", (json_int_t)a.structure_id,
								 "reason", e.message));
			rc = db_run(ctx->db, "ROLLBACK TO SAVEPOINT run", err);
		} else {
			*err = e;
			rc = e.code;
			goto out;
		}
		if (rc < 0)
			goto out;
	}
	{
		json_t *sum = json_pack("{s:i,s:I,s:o,s:o}", "groupements", (int)json_array_size(runs), "total_cents",
					(json_int_t)total, "runs", runs, "skipped", skipped);
		runs = skipped = NULL;
		rc = store_batch_finish(ctx->db, EXP_IPEP, batch_id, sum, err);
		json_decref(sum);
		if (rc < 0)
			goto out;
	}
	{
		struct job_result res = { .type = "ipep_batch", .id = batch_id };
		snprintf(res.url, sizeof(res.url), "/v1/ipep/batches/%lld", (long long)batch_id);
		if ((rc = job_finish_in_tx(ctx, &res, err)) == 0)
			rc = db_commit(ctx->db, err);
	}
out:
	if (rc < 0)
		db_rollback(ctx->db);
	json_decref(structures);
	json_decref(runs);
	json_decref(skipped);
	return rc;
}
