/* PEPS runs as jobs: one structure's year (or quarter), or every enrolled
 * structure of a region or of the country in one batch. A run reads its
 * inputs (covered patients, care, fee-for-service) with one COPY, gives each
 * patient the risk model's reference cost, computes (domain/peps.c), and
 * writes the run, its lines and its schedule in the job's transaction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/app.h"
#include "a51/buf.h"
#include "a51/dates.h"
#include "a51/eligibility.h"
#include "a51/jobs.h"
#include "a51/money.h"
#include "a51/peps.h"
#include "a51/riskmodel.h"
#include "a51/sha256.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/* What a run is asked for (the job's parameters). */
struct run_args {
	int64_t structure_id, parameter_set_id, batch_id;
	int year, quarter, phase;
	bool what_if;
	const char *option;           /* what-if: another option; NULL: the enrolment's */
	double quality_score;         /* < 0: the parameter set's presumed score */
};

struct inputs {
	struct peps_patient *pts;
	size_t n, cap;
};

static int inputs_add(void *ctx, const struct peps_patient *pt, struct a51_error *err)
{
	struct inputs *in = ctx;

	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 4096;
		struct peps_patient *p = realloc(in->pts, cap * sizeof(*p));
		if (!p)
			return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		in->pts = p;
		in->cap = cap;
	}
	in->pts[in->n++] = *pt;
	return 0;
}

/* The covariates of the covered patients, ordered by id like the inputs. */
struct covariates {
	struct rm_patient *rows;
	size_t n, cap;
};

static int cov_add(void *ctx, const struct rm_patient *pt, struct a51_error *err)
{
	struct covariates *cv = ctx;

	if (cv->n == cv->cap)
		return a51_error_set(err, A51_EINTERNAL, NULL, "more covariate rows than covered patients");
	cv->rows[cv->n++] = *pt;
	return 0;
}

static void period(const struct run_args *a, char from[11], char to[11])
{
	int q0 = a->quarter ? a->quarter : 1, q1 = a->quarter ? a->quarter : 4;

	date_format(date_from_ymd(a->year, 3 * q0 - 2, 1), from);
	date_format(q1 == 4 ? date_from_ymd(a->year, 12, 31) : date_from_ymd(a->year, 3 * q1 + 1, 1) - 1, to);
}

static json_t *params_json(const struct peps_params *p)
{
	json_t *acts = json_array(), *quarters = json_array();

	for (int i = 0; i < p->n_perimeter_acts; i++)
		json_array_append_new(acts, json_string(p->perimeter_acts[i]));
	for (int i = 0; i < p->n_uplift_quarters; i++)
		json_array_append_new(quarters, json_string(p->uplift_quarters[i]));
	return json_pack("{s:s,s:o,s:f,s:s,s:f,s:o,s:f,s:f,s:f,s:f,s:s,s:f,s:s,s:i,s:s}", "risk_model", p->risk_model,
			 "perimeter_acts", acts, "local_coefficient", p->local_coefficient, "fidelisation_level",
			 p->fidelisation_level, "fidelisation_without_care", p->fidelisation_without_care,
			 "uplift_quarters", quarters, "uplift_rate", p->uplift_rate, "quality_bonus_rate",
			 p->quality_bonus_rate, "quality_presumed_score", p->quality_presumed_score, "cap_rate",
			 p->cap_rate, "cap_without_prior_ffs", p->cap_without_prior_ffs, "retrospective_bonus_share",
			 p->retrospective_bonus_share, "rounding", p->rounding, "instalment_due_days",
			 p->instalment_due_days, "adjustment_due", p->adjustment_due);
}

static json_t *quarters_json(const int64_t v[4])
{
	return json_pack("[I,I,I,I]", (json_int_t)v[0], (json_int_t)v[1], (json_int_t)v[2], (json_int_t)v[3]);
}

static const char *const item_kinds[] = { "", "instalment", "adjustment", "bonus" };

/* One structure's run, written in the caller's transaction. */
static int run_structure(struct job_ctx *ctx, const struct run_args *a, int64_t *run_id, json_t **summary,
			 struct a51_error *err)
{
	struct actor actor = { .caller = &ctx->caller, .request_id = ctx->request_id };
	struct db_conn *c = ctx->db;
	char from[11], to[11], option[16] = "", region[4] = "", digest[65];
	json_t *enrol = NULL, *pset = NULL, *model = NULL, *result = NULL, *warnings = json_array(), *elig = NULL;
	struct peps_params kp;
	struct patientele_params pp;
	struct elig_params ep;
	struct rm_def def;
	struct rm_design d;
	double coef[RM_MAX_COLUMNS], smearing, share[20], x[RM_MAX_COLUMNS];
	struct inputs in = { 0 };
	struct covariates cv = { 0 };
	struct peps_line *lines = NULL;
	struct peps_result res;
	struct peps_run_spec spec = { .year = a->year, .phase = a->phase, .quarter = a->quarter,
				      .quality_score = a->quality_score };
	struct sha256 sh;
	uint8_t dg[SHA256_LEN];
	int64_t model_id, enrolment_id = 0, *ids = NULL;
	struct buf out;
	int rc;

	buf_init(&out);
	sha256_init(&sh);
	period(a, from, to);
	/* the enrolment: its option and phase (a what-if may do without) */
	rc = store_enrolment_over(c, a->structure_id, "PEPS", from, to, &enrol, err);
	if (rc == 0) {
		enrolment_id = json_integer_value(json_object_get(enrol, "id"));
		snprintf(option, sizeof(option), "%s", json_string_value(json_object_get(enrol, "option")));
		if (!a->what_if && (rc = peps_phase_check(enrol, a->structure_id, a->phase, from, to, err)) < 0)
			goto out;
	} else if (rc != A51_EINVAL || !a->what_if) {
		goto out;
	}
	if (a->option)
		snprintf(option, sizeof(option), "%s", a->option);
	if (!option[0]) {
		rc = a51_error_set(err, A51_EINVAL, "option", "structure %lld is not enrolled in PEPS: say which option",
				   (long long)a->structure_id);
		goto out;
	}
	if ((rc = store_structure_region(c, a->structure_id, region, err)) < 0)
		goto out;
	/* the parameter set and the model */
	rc = a->parameter_set_id ? store_param_set_get(c, a->parameter_set_id, &pset, err)
				 : store_param_set_latest(c, "PEPS", a->year, &pset, err);
	if (rc == A51_ENOTFOUND)
		rc = a51_error_set(err, A51_EINVAL, "parameter_set_id", "no PEPS parameter set for %d", a->year);
	if (rc < 0)
		goto out;
	if (strcmp(json_string_value(json_object_get(pset, "experiment")), "PEPS") != 0) {
		rc = a51_error_set(err, A51_EINVAL, "parameter_set_id", "parameter set %lld is not a PEPS one",
				   (long long)json_integer_value(json_object_get(pset, "id")));
		goto out;
	}
	if ((rc = params_read_peps(json_object_get(pset, "body"), &kp, err)) < 0 ||
	    (rc = params_read_patientele(json_object_get(pset, "body"), &pp, err)) < 0 ||
	    (rc = params_read_eligibility(json_object_get(pset, "body"), &ep, err)) < 0)
		goto out;
	if ((rc = store_rm_latest(c, "forfait.risk_model", kp.risk_model, &model_id, err)) < 0 ||
	    (rc = store_rm_get(c, model_id, &model, err)) < 0 ||
	    (rc = rm_model_load(model, &def, &d, coef, &smearing, share, err)) < 0)
		goto out;
	/* the eligibility on the period's first day: a run goes on, and says so */
	{
		struct elig_measures m;
		struct elig_report rep;
		int opt = option_parse(EXP_PEPS, option);
		if ((rc = store_eligibility_measure(c, a->structure_id, EXP_PEPS, opt, from, &ep, &pp, &m, err)) < 0)
			goto out;
		eligibility_evaluate(EXP_PEPS, opt, &ep, &m, &rep);
		elig = eligibility_report_json(&rep);
		json_object_set_new(elig, "on", json_string(from));
		if (!rep.eligible)
			json_array_append_new(warnings, json_sprintf("the team does not meet every PEPS criterion on %s: "
								     "see eligibility", from));
	}
	/* the inputs, then the covariates of the same patients on 1 January */
	if ((rc = store_peps_inputs(c, a->structure_id, a->year, option, &pp, &kp, &sh, inputs_add, &in, err)) < 0)
		goto out;
	if (a->quarter) {
		/* a quarter's run is about the patients covered in it */
		size_t k = 0;
		for (size_t i = 0; i < in.n; i++)
			if (in.pts[i].covered_days[a->quarter - 1] > 0)
				in.pts[k++] = in.pts[i];
		in.n = k;
	}
	if (a->phase == PEPS_PROSPECTIVE && !a->quarter && !a->what_if) {
		/* the year settles what the quarter runs paid */
		json_t *paid, *it;
		size_t i;
		if ((rc = store_peps_paid(c, a->structure_id, a->year, &paid, err)) < 0)
			goto out;
		json_array_foreach(paid, i, it) {
			int q = (int)json_integer_value(json_object_get(it, "quarter"));
			if (q >= 1 && q <= 4) {
				spec.have_paid[q - 1] = true;
				spec.paid[q - 1] = json_integer_value(json_object_get(it, "cents"));
				sha256_update(&sh, "paid", 4);
			}
		}
		json_decref(paid);
	}
	if (job_progress(ctx, 0.4, "%zu covered patients in structure %lld", in.n, (long long)a->structure_id)) {
		rc = a51_error_set(err, A51_ECANCELED, "job", "cancelled");
		goto out;
	}
	ids = malloc(sizeof(int64_t) * (in.n ? in.n : 1));
	cv.rows = malloc(sizeof(*cv.rows) * (in.n ? in.n : 1));
	lines = malloc(sizeof(*lines) * (in.n ? in.n : 1));
	if (!ids || !cv.rows || !lines) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	cv.cap = in.n;
	for (size_t i = 0; i < in.n; i++)
		ids[i] = in.pts[i].id;
	def.year = a->year;
	def.region[0] = '\0';
	if (in.n && (rc = store_rm_population(c, &def, a->structure_id, ids, in.n, true, &sh, cov_add, &cv, err)) < 0)
		goto out;
	{
		/* both lists are ordered by patient: walk them together */
		size_t k = 0;
		for (size_t i = 0; i < in.n; i++) {
			while (k < cv.n && cv.rows[k].id < in.pts[i].id)
				k++;
			if (k == cv.n || cv.rows[k].id != in.pts[i].id) {
				rc = a51_error_set(err, A51_EINTERNAL, "patients", "patient %lld has no covariates for %d",
						   (long long)in.pts[i].id, a->year);
				goto out;
			}
			rm_design_row(&def, &d, &cv.rows[k], x);
			in.pts[i].base = rm_model_predict(&def, coef, d.p, x, smearing,
							  cv.rows[k].cell >= 0 && cv.rows[k].cell < 20 ? share[cv.rows[k].cell] : 1);
			if (!(in.pts[i].base >= 0) || !isfinite(in.pts[i].base)) {
				/* an additive model may predict below zero for some profiles: no forfait is negative */
				json_array_append_new(warnings,
						      json_sprintf("patient %lld: the model predicts %.0f cents; counted as 0",
								   (long long)in.pts[i].id, in.pts[i].base));
				in.pts[i].base = 0;
			}
		}
	}
	if ((rc = peps_compute(&kp, &spec, in.pts, in.n, lines, &res, err)) < 0)
		goto out;
	{
		/* the digest covers the rows read and every choice made */
		char more[256];
		int len = snprintf(more, sizeof(more), "|pset=%lld|model=%lld|year=%d|q=%d|phase=%d|option=%s|score=%.17g",
				   (long long)json_integer_value(json_object_get(pset, "id")), (long long)model_id, a->year,
				   a->quarter, a->phase, option, a->quality_score);
		sha256_update(&sh, more, (size_t)len);
		sha256_final(&sh, dg);
		util_hex(dg, sizeof(dg), digest);
	}
	{
		/* the schedule itself is the run's (peps_schedule); here, which
		 * instalments were taken as the quarter runs paid them */
		json_t *items = json_array();
		for (int q = 0; q < 4; q++)
			if (spec.have_paid[q])
				json_array_append_new(items, json_integer(q + 1));
		result = json_pack("{s:s,s:s,s:i,s:f,s:f,s:f,s:I,s:I,s:o,s:I,s:o,s:{s:I,s:o},s:o,s:o,s:o,s:o,s:o}",
				   "period_from", from, "period_to", to, "patients", res.patients, "fidelisation",
				   res.fidelisation, "quality_factor", res.quality_factor, "local_coefficient",
				   res.local_coefficient, "earned_cents", (json_int_t)res.earned_cents, "forfait_cents",
				   (json_int_t)res.forfait_cents, "forfait_by_quarter", quarters_json(res.forfait_by_quarter),
				   "total_cents", (json_int_t)res.total_cents, "cap",
				   json_pack("{s:b,s:f,s:I,s:I,s:I}", "applied", res.capped, "rate", kp.cap_rate,
					     "prior_ffs_cents", (json_int_t)res.prior_ffs_cents, "cap_cents",
					     (json_int_t)res.cap_cents, "effect_cents", (json_int_t)res.cap_effect_cents),
				   "ffs", "total_cents", (json_int_t)res.ffs_total_cents, "by_quarter",
				   quarters_json(res.ffs_cents), "instalments_paid_before", items, "eligibility", elig, "warnings",
				   warnings,
				   "parameters", params_json(&kp), "model",
				   json_pack("{s:I,s:O,s:O}", "id", (json_int_t)model_id, "name",
					     json_object_get(model, "name"), "version", json_object_get(model, "version")));
		elig = warnings = NULL;
		json_object_set_new(result, "parameter_set",
				    json_pack("{s:O,s:O,s:O}", "id", json_object_get(pset, "id"), "year",
					      json_object_get(pset, "year"), "version", json_object_get(pset, "version")));
		json_object_set_new(result, "quality_score",
				    json_real(a->quality_score >= 0 ? a->quality_score : kp.quality_presumed_score));
	}
	{
		struct peps_run_record r = { .structure_id = a->structure_id, .enrolment_id = enrolment_id,
					     .parameter_set_id = json_integer_value(json_object_get(pset, "id")),
					     .model_id = model_id, .batch_id = a->batch_id, .job_id = ctx->id, .region = region,
					     .phase = peps_phase_name(a->phase), .option = option, .inputs_digest = digest,
					     .code_version = a51_version, .year = a->year, .quarter = a->quarter,
					     .patients = (int)in.n, .what_if = a->what_if, .total_cents = res.total_cents,
					     .result = result };
		if ((rc = store_peps_run_insert(c, &actor, &r, run_id, err)) < 0)
			goto out;
	}
	for (int k = 0; k < res.nitems; k++) {
		char due[11];
		date_format(date_from_ymd(res.items[k].due_y, res.items[k].due_m, res.items[k].due_d), due);
		if ((rc = store_peps_item(c, *run_id, k + 1, item_kinds[res.items[k].kind], res.items[k].quarter, due,
					  res.items[k].cents, err)) < 0)
			goto out;
	}
	if ((rc = store_peps_lines_begin(c, err)) < 0)
		goto out;
	{
		int mode = money_rounding_parse(kp.rounding);
		int q0 = a->quarter ? a->quarter - 1 : 0, q1 = a->quarter ? a->quarter : 4;
		size_t k = 0;
		for (size_t i = 0; i < in.n; i++) {
			const struct peps_patient *pt = &in.pts[i];
			int64_t base = 0, rate = 0, earned = 0, ffs = 0;
			int days = 0;
			while (cv.rows[k].id != pt->id)
				k++;
			money_round(pt->base, mode, &base);
			money_round(lines[i].rate, mode, &rate);
			money_round(lines[i].earned, mode, &earned);
			for (int q = q0; q < q1; q++) {
				days += pt->covered_days[q];
				ffs += pt->ffs_cents[q];
			}
			buf_printf(&out, "%lld\t%lld\t%d\t%u\t%d\t%d\t%u\t%lld\t%.6f\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\n",
				   (long long)*run_id, (long long)pt->id, cv.rows[k].cell, cv.rows[k].ald,
				   cv.rows[k].c2s | (cv.rows[k].ame << 1), days, pt->covered_at_start, (long long)base,
				   lines[i].fidelisation, (long long)rate, (long long)earned, (long long)pt->team_cents,
				   (long long)pt->all_cents, (long long)ffs, (long long)lines[i].amount);
			if (out.len >= (1u << 20) || i + 1 == in.n) {
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
			     (json_int_t)a->structure_id, "patients", (int)in.n, "forfait_cents",
			     (json_int_t)res.forfait_cents, "total_cents", (json_int_t)res.total_cents);
out:
	json_decref(enrol);
	json_decref(pset);
	json_decref(model);
	json_decref(result);
	json_decref(warnings);
	json_decref(elig);
	free(in.pts);
	free(cv.rows);
	free(ids);
	free(lines);
	buf_release(&out);
	return rc;
}

static int args_of(const json_t *p, struct run_args *a, struct a51_error *err)
{
	const json_t *q = json_object_get(p, "quality_score");

	memset(a, 0, sizeof(*a));
	a->structure_id = json_integer_value(json_object_get(p, "structure_id"));
	a->parameter_set_id = json_integer_value(json_object_get(p, "parameter_set_id"));
	a->year = (int)json_integer_value(json_object_get(p, "year"));
	a->quarter = (int)json_integer_value(json_object_get(p, "quarter"));
	a->phase = peps_phase_parse(json_string_value(json_object_get(p, "phase")));
	a->what_if = json_is_true(json_object_get(p, "what_if"));
	a->option = json_string_value(json_object_get(p, "option"));
	a->quality_score = json_is_number(q) ? json_number_value(q) : -1;
	if (!a->phase || a->year < 2018)
		return a51_error_set(err, A51_EINVAL, "params", "the job's parameters are incomplete");
	return 0;
}

static int peps_run_job(struct job_ctx *ctx, struct a51_error *err)
{
	struct run_args a;
	json_t *summary = NULL;
	int64_t run_id = 0;
	int rc;

	if ((rc = args_of(ctx->params, &a, err)) < 0)
		return rc;
	if ((rc = db_begin(ctx->db, err)) < 0)
		return rc;
	if ((rc = run_structure(ctx, &a, &run_id, &summary, err)) == 0) {
		struct job_result res = { .type = "peps_run", .id = run_id };
		snprintf(res.url, sizeof(res.url), "/v1/peps/runs/%lld", (long long)run_id);
		if ((rc = job_finish_in_tx(ctx, &res, err)) == 0)
			rc = db_commit(ctx->db, err);
	}
	if (rc < 0)
		db_rollback(ctx->db);
	json_decref(summary);
	return rc;
}

/* Every structure enrolled over the period (of a region, or the country),
 * in one transaction: a batch is all there or not at all. A structure that
 * cannot be run (no model, wrong phase) is listed with its reason; the
 * others go on. */
static int peps_batch_job(struct job_ctx *ctx, struct a51_error *err)
{
	struct actor actor = { .caller = &ctx->caller, .request_id = ctx->request_id };
	struct run_args a;
	const char *region = json_string_value(json_object_get(ctx->params, "region"));
	json_t *structures = NULL, *runs = json_array(), *skipped = json_array(), *s;
	char from[11], to[11];
	int64_t batch_id, total = 0, forfait = 0;
	size_t i;
	int rc;

	if ((rc = args_of(ctx->params, &a, err)) < 0)
		goto out;
	period(&a, from, to);
	if ((rc = db_begin(ctx->db, err)) < 0 ||
	    (rc = store_enrolled_over(ctx->db, "PEPS", from, to, region, &structures, err)) < 0 ||
	    (rc = store_peps_batch_insert(ctx->db, &actor, a.year, a.quarter, peps_phase_name(a.phase), region, ctx->id,
					  &batch_id, err)) < 0)
		goto out;
	a.batch_id = batch_id;
	json_array_foreach(structures, i, s) {
		json_t *summary = NULL;
		int64_t run_id;
		struct a51_error e = { 0 };
		a.structure_id = json_integer_value(json_object_get(s, "structure_id"));
		if (job_progress(ctx, (double)i / (double)json_array_size(structures), "structure %zu of %zu", i + 1,
				 json_array_size(structures))) {
			rc = a51_error_set(err, A51_ECANCELED, "job", "cancelled");
			goto out;
		}
		/* each structure under a savepoint: one that fails leaves nothing behind */
		if ((rc = db_run(ctx->db, "SAVEPOINT run", err)) < 0)
			goto out;
		if ((rc = run_structure(ctx, &a, &run_id, &summary, &e)) == 0) {
			total += json_integer_value(json_object_get(summary, "total_cents"));
			forfait += json_integer_value(json_object_get(summary, "forfait_cents"));
			json_array_append_new(runs, summary);
			rc = db_run(ctx->db, "RELEASE SAVEPOINT run", err);
		} else if (e.code == A51_EINVAL) {
			json_array_append_new(skipped, json_pack("{s:I,s:s}", "structure_id", (json_int_t)a.structure_id,
								 "reason", e.message));
			rc = db_run(ctx->db, "ROLLBACK TO SAVEPOINT run", err);
		} else {
			*err = e;
			goto out;
		}
		if (rc < 0)
			goto out;
	}
	{
		json_t *sum = json_pack("{s:i,s:I,s:I,s:o,s:o}", "structures", (int)json_array_size(runs), "total_cents",
					(json_int_t)total, "forfait_cents", (json_int_t)forfait, "runs", runs, "skipped",
					skipped);
		runs = skipped = NULL;
		rc = store_peps_batch_finish(ctx->db, batch_id, sum, err);
		json_decref(sum);
		if (rc < 0)
			goto out;
	}
	{
		struct job_result res = { .type = "peps_batch", .id = batch_id };
		snprintf(res.url, sizeof(res.url), "/v1/peps/runs?batch_id=%lld", (long long)batch_id);
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

int job_peps_run(struct job_ctx *ctx, struct a51_error *err)
{
	return peps_run_job(ctx, err);
}

int job_peps_batch(struct job_ctx *ctx, struct a51_error *err)
{
	return peps_batch_job(ctx, err);
}
