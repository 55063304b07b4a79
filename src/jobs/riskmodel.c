/* Jobs of risk models: fitting one on a reference population streamed out of
 * PostgreSQL block by block, and scoring a structure's patientèle with it. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/app.h"
#include "a51/buf.h"
#include "a51/jobs.h"
#include "a51/money.h"
#include "a51/riskmodel.h"
#include "a51/sha256.h"
#include "a51/stats.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

#define BLOCK 2048

/* The population of a model, held compactly: one rm_patient per patient
 * (40 bytes; 1M patients take 40 MB), never the design matrix. Every pass of
 * the engine builds design rows from it block by block. */
struct population {
	struct rm_patient *rows;
	size_t n, cap;
	struct sha256 digest;
	struct job_ctx *ctx;
	json_t *episodes;        /* an episode model: what it keeps of the episodes */
};

static int pop_add(void *ctx, const struct rm_patient *pt, struct a51_error *err)
{
	struct population *pop = ctx;

	if (pop->n == pop->cap) {
		size_t cap = pop->cap ? pop->cap * 2 : 65536;
		struct rm_patient *rows = realloc(pop->rows, cap * sizeof(*rows));
		if (!rows)
			return a51_error_set(err, A51_ENOMEM, NULL, "out of memory for the population");
		pop->rows = rows;
		pop->cap = cap;
	}
	pop->rows[pop->n++] = *pt;
	if ((pop->n & 0xFFFF) == 0 && job_progress(pop->ctx, 0.1, "reading the population: %zu patients", pop->n))
		return a51_error_set(err, A51_ECANCELED, "job", "cancelled");
	return 0;
}

static int pop_load(struct job_ctx *ctx, const struct rm_def *def, int64_t dataset, struct population *pop,
		    struct a51_error *err)
{
	memset(pop, 0, sizeof(*pop));
	pop->ctx = ctx;
	sha256_init(&pop->digest);
	if (def->target == RT_EPISODE) /* episodes, not patient-years */
		return eds_fit_population(ctx->db, def, &pop->digest, pop_add, pop, &pop->episodes, err);
	return store_rm_population(ctx->db, def, dataset, NULL, 0, false, &pop->digest, pop_add, pop, err);
}

/* How the target of a row is read: annualised, then truncated. */
struct target_rule {
	int truncation;
	double cap;             /* TRUNC_PERCENTILE */
	double lo[20], hi[20];  /* TRUNC_WINSORIZE, per cell */
};

static double annual(const struct rm_patient *pt)
{
	return pt->exposure > 0 ? pt->y / pt->exposure : 0;
}

static double target_of(const struct target_rule *t, const struct rm_patient *pt, bool *changed)
{
	double a = annual(pt), v = a;

	if (t->truncation == TRUNC_PERCENTILE && a > t->cap)
		v = t->cap;
	else if (t->truncation == TRUNC_WINSORIZE && pt->cell >= 0 && pt->cell < 20)
		v = a < t->lo[pt->cell] ? t->lo[pt->cell] : a > t->hi[pt->cell] ? t->hi[pt->cell] : a;
	if (changed)
		*changed = v != a;
	return v;
}

/* Quantiles of the annualised target (R type 7, as PostgreSQL's
 * percentile_cont): overall, or of one cell (cell >= 0). */
static int target_quantile(const struct population *pop, int cell, double prob, double *out, struct a51_error *err)
{
	double *v = malloc(sizeof(double) * (pop->n ? pop->n : 1));
	size_t m = 0;
	int rc;

	if (!v)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < pop->n; i++)
		if (pop->rows[i].exposure > 0 && (cell < 0 || pop->rows[i].cell == cell))
			v[m++] = annual(&pop->rows[i]);
	*out = 0;
	rc = m ? stats_quantile(v, m, prob, out, err) : 0;
	free(v);
	return rc;
}

static bool positive_only(int method)
{
	return method == RM_LOG_OLS || method == RM_GLM_GAMMA;
}

/* A slice of the population as a stats source: one per fitting thread. */
struct slice {
	const struct population *pop;
	const struct rm_def *def;
	const struct rm_design *d;
	const struct target_rule *rule;
	size_t lo, hi, at;
	double *X, *y, *w;
	atomic_llong *done;         /* rows handed out by every slice, this pass */
	int *pass;
};

static int slice_rewind(void *ctx, struct a51_error *err)
{
	struct slice *s = ctx;

	(void)err;
	s->at = s->lo;
	if (s->lo == 0) { /* the first slice counts passes */
		(*s->pass)++;
		atomic_store(s->done, 0);
	}
	return 0;
}

static int slice_next(void *ctx, struct stats_block *blk, struct a51_error *err)
{
	struct slice *s = ctx;
	size_t n = 0, p = s->d->p;
	long long done;

	if (s->at >= s->hi)
		return 0;
	done = atomic_fetch_add(s->done, (long long)(s->hi - s->at < BLOCK ? s->hi - s->at : BLOCK));
	if (job_progress(s->pop->ctx, 0.2 + 0.6 * fmin(1.0, ((double)(*s->pass - 1) + (double)done / (double)s->pop->n) /
								(s->def->method >= RM_GLM_GAMMA ? 8.0 : 3.0)),
			 "pass %d over %zu patients", *s->pass, s->pop->n))
		return a51_error_set(err, A51_ECANCELED, "job", "cancelled");
	for (; n < BLOCK && s->at < s->hi; s->at++, n++) {
		const struct rm_patient *pt = &s->pop->rows[s->at];
		double a = target_of(s->rule, pt, NULL);
		rm_design_row(s->def, s->d, pt, s->X + n * p);
		s->w[n] = pt->exposure <= 0 ? 0 : s->def->exposure_weights ? pt->exposure : 1.0;
		s->y[n] = a;
		if (positive_only(s->def->method) && a <= 0) {
			s->w[n] = 0; /* positive spenders only: a zero weight takes the row out */
			s->y[n] = 1;
		}
	}
	blk->X = s->X;
	blk->y = s->y;
	blk->w = s->w;
	blk->offset = NULL;
	blk->nrows = n;
	return 1;
}

/* Share of patients with a positive target in each cell: the two-part
 * models (log_ols, gamma) predict among spenders and scale by it. */
struct shares {
	double share[20];
	int64_t total[20], positive[20];
};

static void shares_of(const struct population *pop, const struct target_rule *rule, struct shares *sh)
{
	memset(sh, 0, sizeof(*sh));
	for (size_t i = 0; i < pop->n; i++) {
		const struct rm_patient *pt = &pop->rows[i];
		if (pt->cell < 0 || pt->cell >= 20 || pt->exposure <= 0)
			continue;
		sh->total[pt->cell]++;
		sh->positive[pt->cell] += target_of(rule, pt, NULL) > 0;
	}
	for (int c = 0; c < 20; c++)
		sh->share[c] = sh->total[c] ? (double)sh->positive[c] / (double)sh->total[c] : 1.0;
}

struct diag_row {
	double pred, actual, w;
	size_t idx;
	int cell, depriv;
	unsigned ald;
	bool c2s;
};

static int by_pred(const void *a, const void *b)
{
	const struct diag_row *x = a, *y = b;

	if (x->pred != y->pred)
		return (x->pred > y->pred) - (x->pred < y->pred);
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static json_t *ratio_entry(const char *name, double sp, double sa, double sw)
{
	return json_pack("{s:s,s:f,s:f,s:f,s:o}", "group", name, "weight", sw, "mean_actual", sw ? sa / sw : 0,
			 "mean_predicted", sw ? sp / sw : 0, "predictive_ratio", sa > 0 ? json_real(sp / sa) : json_null());
}

struct fitted {
	const struct rm_def *def;
	const struct rm_design *d;
	const double *coef;
	double smearing;
	const struct shares *sh;
};

static double predict_patient(const struct fitted *m, const struct rm_patient *pt, double *x)
{
	rm_design_row(m->def, m->d, pt, x);
	return rm_model_predict(m->def, m->coef, m->d->p, x, m->smearing,
				pt->cell >= 0 && pt->cell < 20 ? m->sh->share[pt->cell] : 1.0);
}

/* Predictions against actual values on the original scale: MAE, MAE %, R²,
 * and predictive ratios by decile of predicted risk and by covariate group. */
static int diagnostics(const struct population *pop, const struct fitted *m, const struct target_rule *rule,
		       json_t *stats, json_t **out, struct a51_error *err)
{
	struct diag_row *rows = malloc(sizeof(*rows) * (pop->n ? pop->n : 1));
	double sw = 0, sa = 0, sae = 0, sse = 0, sst = 0, mean;
	double *x = malloc(sizeof(double) * m->d->p);
	size_t n = 0;
	json_t *deciles, *groups;

	if (!rows || !x) {
		free(rows);
		free(x);
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < pop->n; i++) {
		const struct rm_patient *pt = &pop->rows[i];
		struct diag_row *r;
		if (pt->exposure <= 0)
			continue;
		r = &rows[n++];
		r->idx = i;
		r->pred = predict_patient(m, pt, x);
		r->actual = target_of(rule, pt, NULL);
		r->w = m->def->exposure_weights ? pt->exposure : 1.0;
		r->cell = pt->cell;
		r->ald = pt->ald;
		r->c2s = pt->c2s;
		r->depriv = pt->depriv;
		sw += r->w;
		sa += r->w * r->actual;
		sae += r->w * fabs(r->actual - r->pred);
		sse += r->w * (r->actual - r->pred) * (r->actual - r->pred);
	}
	mean = sw ? sa / sw : 0;
	for (size_t i = 0; i < n; i++)
		sst += rows[i].w * (rows[i].actual - mean) * (rows[i].actual - mean);
	json_object_set_new(stats, "mae", json_real(sw ? sae / sw : 0));
	json_object_set_new(stats, "mae_pct", json_real(sa ? 100.0 * sae / sa : 0));
	json_object_set_new(stats, "rmse_original_scale", json_real(sw ? sqrt(sse / sw) : 0));
	json_object_set_new(stats, "r2_original_scale", json_real(sst ? 1 - sse / sst : 0));
	json_object_set_new(stats, "mean_actual", json_real(mean));
	/* deciles of predicted risk by cumulated weight; ties broken by patient
	 * order (qsort is not stable, so sort on the index too) */
	qsort(rows, n, sizeof(*rows), by_pred);
	deciles = json_array();
	{
		double acc = 0, dp = 0, da = 0, dw = 0;
		int dec = 0;
		for (size_t i = 0; i < n; i++) {
			acc += rows[i].w;
			dp += rows[i].w * rows[i].pred;
			da += rows[i].w * rows[i].actual;
			dw += rows[i].w;
			if ((acc >= sw * (dec + 1) / 10.0 - 1e-9 && dec < 9) || i + 1 == n) {
				char name[32];
				snprintf(name, sizeof(name), "decile_%d", dec + 1);
				json_array_append_new(deciles, ratio_entry(name, dp, da, dw));
				dp = da = dw = 0;
				dec++;
			}
		}
	}
	groups = json_array();
	for (int g = 0; g < 20 + RM_ALD_GROUPS + 2; g++) {
		double gp = 0, ga = 0, gw = 0;
		const char *name = g < 20 ? rm_cell_names[g]
				   : g < 20 + RM_ALD_GROUPS ? rm_ald_group_names[g - 20]
				   : g == 20 + RM_ALD_GROUPS ? "c2s" : "no_ald";
		for (size_t i = 0; i < n; i++) {
			bool in = g < 20 ? rows[i].cell == g
				  : g < 20 + RM_ALD_GROUPS ? ((rows[i].ald >> (g - 20)) & 1u)
				  : g == 20 + RM_ALD_GROUPS ? rows[i].c2s : rows[i].ald == 0;
			if (in) {
				gp += rows[i].w * rows[i].pred;
				ga += rows[i].w * rows[i].actual;
				gw += rows[i].w;
			}
		}
		if (gw > 0)
			json_array_append_new(groups, ratio_entry(name, gp, ga, gw));
	}
	for (int q = 0; (m->def->terms & (1u << TERM_DEPRIVATION)) && q <= 5; q++) {
		double gp = 0, ga = 0, gw = 0;
		char name[32];
		for (size_t i = 0; i < n; i++)
			if (rows[i].depriv == q) {
				gp += rows[i].w * rows[i].pred;
				ga += rows[i].w * rows[i].actual;
				gw += rows[i].w;
			}
		if (q)
			snprintf(name, sizeof(name), "deprivation_q%d", q);
		else
			snprintf(name, sizeof(name), "deprivation_unknown");
		if (gw > 0)
			json_array_append_new(groups, ratio_entry(name, gp, ga, gw));
	}
	*out = json_pack("{s:o,s:o}", "by_decile", deciles, "by_group", groups);
	free(rows);
	free(x);
	return 0;
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* The target rule of a definition, from the population's quantiles. */
static int target_rule_of(const struct rm_def *def, const struct population *pop, struct target_rule *rule,
			  struct a51_error *err)
{
	int rc = 0;

	memset(rule, 0, sizeof(*rule));
	rule->truncation = def->truncation;
	if (def->truncation == TRUNC_PERCENTILE)
		rc = target_quantile(pop, -1, def->trunc_p, &rule->cap, err);
	for (int c = 0; rc == 0 && def->truncation == TRUNC_WINSORIZE && c < 20; c++)
		if ((rc = target_quantile(pop, c, def->wins_low, &rule->lo[c], err)) == 0)
			rc = target_quantile(pop, c, def->wins_high, &rule->hi[c], err);
	return rc;
}

static unsigned fit_threads(const struct job_ctx *ctx, size_t n)
{
	const struct app *app = ctx->app;
	unsigned t = app && app->cfg->stats_threads > 0 ? (unsigned)app->cfg->stats_threads : 1;

	/* a slice under a few blocks is not worth a thread */
	while (t > 1 && n / t < 4 * BLOCK)
		t--;
	return t;
}

static json_t *coefficients_json(const struct stats_fit *f, const struct rm_design *d, json_t *warnings)
{
	static const char *const status[] = { "kept", "zero", "collinear" };
	json_t *coefs = json_array();

	for (size_t k = 0; k < d->p; k++) {
		int st = f->status ? f->status[k] : 0;
		json_array_append_new(coefs, json_pack("{s:s,s:o,s:o,s:o,s:o,s:s}", "term", d->names[k], "estimate",
						       num(f->coef[k]), "se", num(f->se[k]), "se_hc1",
						       num(f->se_hc1 ? f->se_hc1[k] : NAN), "t", num(f->t[k]), "status",
						       st >= 0 && st < 3 ? status[st] : "kept"));
		if (st != 0)
			json_array_append_new(warnings,
					      json_sprintf("term %s dropped: %s", d->names[k],
							   st == 1 ? "no patient has it (an empty column)"
								   : "collinear with earlier terms"));
	}
	return coefs;
}

static json_t *terms_json(const struct rm_design *d)
{
	json_t *terms = json_array();

	for (size_t k = 0; k < d->p; k++) {
		const char *block = d->block[k] < 0 ? "intercept"
				    : d->block[k] >= 100 ? "interaction"
				    : rm_term_name(d->block[k]);
		json_array_append_new(terms, json_pack("{s:I,s:s,s:s}", "column", (json_int_t)k, "name", d->names[k],
						       "block", block));
	}
	return terms;
}

static int fit_job(struct job_ctx *ctx, struct a51_error *err)
{
	struct rm_def def;
	struct rm_design d;
	struct population pop = { 0 };
	struct target_rule rule;
	struct shares sh;
	struct slice slices[STATS_MAX_THREADS];
	struct stats_source src[STATS_MAX_THREADS];
	struct stats_solve_opts opts;
	struct stats_fit fit = { 0 };
	struct stats_glm_fit glm = { 0 };
	struct stats_logols_fit lo = { 0 };
	struct stats_fit *f = &fit;
	json_t *errors = json_array(), *coefs = NULL, *stats = NULL, *terms = NULL, *diag = NULL, *warnings = NULL,
	       *model = NULL, *defj = NULL;
	double smearing = 1.0;
	uint8_t dg[SHA256_LEN];
	char digest[65];
	atomic_llong done;
	int pass = 0, rc = 0;
	unsigned nt = 0;
	int64_t truncated = 0;

	memset(slices, 0, sizeof(slices));
	atomic_init(&done, 0);
	if (rm_def_parse(json_object_get(ctx->params, "definition"), &def, errors) > 0) {
		char *why = json_dumps(json_array_get(errors, 0), JSON_COMPACT);
		rc = a51_error_set(err, A51_EINVAL, "definition", "invalid definition: %s", why ? why : "?");
		free(why);
		goto out;
	}
	if ((rc = rm_design_init(&def, &d, err)) < 0)
		goto out;
	job_progress(ctx, 0.02, "reading the reference population");
	if ((rc = db_begin(ctx->db, err)) < 0 || (rc = pop_load(ctx, &def, 0, &pop, err)) < 0)
		goto out;
	if (pop.n == 0 && def.target == RT_EPISODE) {
		rc = a51_error_set(err, A51_EINVAL, "year", "the reference data have no included %s episode in %d%s%s",
				   def.episode_option, def.year, def.region[0] ? " in region " : "", def.region);
		goto out;
	}
	if (pop.n == 0) {
		rc = a51_error_set(err, A51_EINVAL, "year", "the reference population of %d is empty%s%s", def.year,
				   def.region[0] ? " in region " : "", def.region);
		goto out;
	}
	{
		size_t spenders = 0;
		for (size_t i = 0; i < pop.n; i++)
			spenders += pop.rows[i].y > 0;
		if (spenders == 0) {
			rc = a51_error_set(err, A51_EINVAL, "year",
					   "the reference data have no spending on the target (%s) in %d: nothing to learn from",
					   rm_target_name(def.target), def.year);
			goto out;
		}
	}
	if ((rc = target_rule_of(&def, &pop, &rule, err)) < 0)
		goto out;
	for (size_t i = 0; i < pop.n; i++) {
		bool changed;
		if (pop.rows[i].exposure > 0) {
			target_of(&rule, &pop.rows[i], &changed);
			truncated += changed;
		}
	}
	shares_of(&pop, &rule, &sh);
	nt = fit_threads(ctx, pop.n);
	for (unsigned t = 0; t < nt; t++) {
		struct slice *sl = &slices[t];
		sl->pop = &pop;
		sl->def = &def;
		sl->d = &d;
		sl->rule = &rule;
		sl->lo = pop.n * t / nt;
		sl->hi = pop.n * (t + 1) / nt;
		sl->done = &done;
		sl->pass = &pass;
		sl->X = malloc(sizeof(double) * BLOCK * d.p);
		sl->y = malloc(sizeof(double) * BLOCK);
		sl->w = malloc(sizeof(double) * BLOCK);
		if (!sl->X || !sl->y || !sl->w) {
			rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
			goto out;
		}
		src[t] = (struct stats_source){ .rewind = slice_rewind, .next = slice_next, .ctx = sl };
	}
	stats_solve_opts_init(&opts);
	opts.has_intercept = true;
	switch (def.method) {
	case RM_OLS:
	case RM_WLS:
		rc = stats_ls_fit_sources(src, nt, d.p, &opts, true, &fit, err);
		break;
	case RM_LOG_OLS:
		rc = stats_logols_fit(src, nt, d.p, &opts, &lo, err);
		f = &lo.fit;
		smearing = lo.smearing;
		break;
	default: {
		struct stats_glm_opts go = { .family = def.method == RM_GLM_GAMMA ? STATS_GAMMA_LOG : STATS_POISSON_LOG,
					     .solve = opts };
		rc = stats_glm_fit(&go, src, nt, d.p, &glm, err);
		f = &glm.fit;
		if (rc == 0 && def.method == RM_GLM_POISSON && glm.df_res > 0) {
			/* costs in cents are not counts: quasi-Poisson, the standard errors
			 * scaled by the Pearson dispersion instead of 1 */
			double phi = glm.pearson_chi2 / glm.df_res, s = sqrt(phi);
			for (size_t k = 0; k < d.p; k++) {
				f->se[k] *= s;
				f->t[k] /= s;
			}
			glm.dispersion = phi;
		}
	}
	}
	if (rc < 0)
		goto out;
	sha256_final(&pop.digest, dg);
	util_hex(dg, sizeof(dg), digest);
	if (job_progress(ctx, 0.85, "diagnostics")) {
		rc = a51_error_set(err, A51_ECANCELED, "job", "cancelled");
		goto out;
	}
	warnings = json_array();
	coefs = coefficients_json(f, &d, warnings);
	terms = terms_json(&d);
	for (int c = 0; c < 20; c++)
		if (!sh.total[c] && (def.terms & (1u << TERM_AGE_SEX)))
			json_array_append_new(warnings, json_sprintf("no patient in cell %s", rm_cell_names[c]));
	if (def.terms & (1u << TERM_DEPRIVATION)) {
		size_t known = 0;
		for (size_t i = 0; i < pop.n; i++)
			known += pop.rows[i].depriv != 0;
		if (!known)
			json_array_append_new(warnings, json_string("no commune of the population has a deprivation quintile: "
								    "upload kind=deprivation to the reference first"));
	}
	if (def.method >= RM_GLM_GAMMA && !glm.converged)
		json_array_append_new(warnings, json_sprintf("IRLS did not converge in %d iterations", glm.iterations));
	stats = json_pack("{s:I,s:I,s:f,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "patients", (json_int_t)pop.n, "n",
			  (json_int_t)f->nobs, "sum_weights", f->sum_w, "p", (int)d.p, "rank", (int)f->rank, "r2",
			  num(f->r2), "adj_r2", num(f->adj_r2), "rmse", num(f->rmse), "sigma", num(f->sigma),
			  "condition_number", num(f->cond), "f_stat", num(f->f_stat), "truncated",
			  (json_int_t)truncated);
	if (def.truncation == TRUNC_PERCENTILE)
		json_object_set_new(stats, "cap", json_real(rule.cap));
	if (def.method == RM_LOG_OLS)
		json_object_set_new(stats, "smearing", json_real(smearing));
	if (def.method >= RM_GLM_GAMMA)
		json_object_set_new(stats, "glm",
				    json_pack("{s:o,s:o,s:o,s:s,s:i,s:b}", "deviance", num(glm.deviance), "null_deviance",
					      num(glm.null_deviance), "dispersion", num(glm.dispersion), "dispersion_from",
					      "pearson_chi2 / df_residual", "iterations", glm.iterations, "converged",
					      glm.converged));
	if (pop.episodes) {
		json_object_set_new(stats, "episodes", pop.episodes);
		pop.episodes = NULL;
	}
	if (positive_only(def.method)) {
		json_t *shares = json_object();
		for (int c = 0; c < 20; c++)
			json_object_set_new(shares, rm_cell_names[c], json_real(sh.share[c]));
		json_object_set_new(stats, "positive_share_by_cell", shares);
	}
	{
		struct fitted m = { .def = &def, .d = &d, .coef = f->coef, .smearing = smearing, .sh = &sh };
		if ((rc = diagnostics(&pop, &m, &rule, stats, &diag, err)) < 0)
			goto out;
	}
	{
		struct actor a = { .caller = &ctx->caller, .request_id = ctx->request_id };
		struct rm_record rec = { .name = def.name, .region = def.region, .method = rm_method_name(def.method),
					 .inputs_digest = digest, .code_version = a51_version, .job_id = ctx->id };
		struct job_result res = { .type = "risk_model" };
		defj = rm_def_json(&def);
		rec.definition = defj;
		rec.terms = terms;
		rec.coefficients = coefs;
		rec.stats = stats;
		rec.diagnostics = diag;
		rec.warnings = warnings;
		if ((rc = store_rm_insert(ctx->db, &a, &rec, &model, err)) < 0)
			goto out;
		res.id = json_integer_value(json_object_get(model, "id"));
		snprintf(res.url, sizeof(res.url), "/v1/risk-models/%lld", (long long)res.id);
		if ((rc = job_finish_in_tx(ctx, &res, err)) < 0 || (rc = db_commit(ctx->db, err)) < 0)
			goto out;
	}
out:
	if (rc < 0)
		db_rollback(ctx->db);
	for (unsigned t = 0; t < STATS_MAX_THREADS; t++) {
		free(slices[t].X);
		free(slices[t].y);
		free(slices[t].w);
	}
	free(pop.rows);
	json_decref(pop.episodes);
	stats_fit_release(&fit);
	stats_glm_fit_release(&glm);
	stats_logols_fit_release(&lo);
	json_decref(errors);
	json_decref(coefs);
	json_decref(stats);
	json_decref(terms);
	json_decref(diag);
	json_decref(warnings);
	json_decref(model);
	json_decref(defj);
	return rc;
}

/* ---- scoring a structure's patientèle ---- */

/* Scores a population (a structure's patients, or the reference population
 * with dataset 0) with a stored model and replaces its stored expected costs,
 * in one transaction. The population is read first (COPY OUT), then the
 * scores stream back (COPY IN) in batches of bounded size. */
static int score_job(struct job_ctx *ctx, struct a51_error *err)
{
	int64_t model_id = json_integer_value(json_object_get(ctx->params, "model_id"));
	int64_t dataset = json_integer_value(json_object_get(ctx->params, "structure_id"));
	int year = (int)json_integer_value(json_object_get(ctx->params, "year"));
	struct rm_def def;
	struct rm_design d;
	struct population pop = { 0 };
	struct shares sh;
	double coef[RM_MAX_COLUMNS], smearing, x[RM_MAX_COLUMNS];
	json_t *model = NULL;
	struct buf out;
	int rc;

	buf_init(&out);
	if ((rc = store_rm_get(ctx->db, model_id, &model, err)) < 0 ||
	    (rc = rm_model_load(model, &def, &d, coef, &smearing, sh.share, err)) < 0)
		goto out;
	def.year = year ? year : def.year;
	def.region[0] = '\0'; /* a structure's patients wherever they live */
	job_progress(ctx, 0.02, "reading the patients");
	if ((rc = db_begin(ctx->db, err)) < 0 || (rc = pop_load(ctx, &def, dataset, &pop, err)) < 0)
		goto out;
	if (pop.n == 0) { /* keep the scores there are rather than replace them by none */
		char who[48] = "the reference population";
		if (dataset)
			snprintf(who, sizeof(who), "structure %lld", (long long)dataset);
		rc = a51_error_set(err, A51_EINVAL, "year", "no patient of %s was alive in %d: nothing to score", who,
				   def.year);
		goto out;
	}
	if ((rc = store_scores_begin(ctx->db, model_id, dataset, def.year, err)) < 0)
		goto out;
	{
		struct fitted m = { .def = &def, .d = &d, .coef = coef, .smearing = smearing, .sh = &sh };
		for (size_t i = 0; i < pop.n; i++) {
			const struct rm_patient *pt = &pop.rows[i];
			int64_t cents;
			if (!money_round(predict_patient(&m, pt, x), MONEY_HALF_UP, &cents)) {
				rc = a51_error_set(err, A51_EINVAL, "model", "the model predicts no finite cost for patient %lld",
						   (long long)pt->id);
				goto out;
			}
			buf_printf(&out, "%lld\t%lld\t%d\t%lld\t%lld\t%d\t%u\t%d\t%.6f\t%lld\t%d\n", (long long)model_id,
				   (long long)dataset, def.year, (long long)pt->id, (long long)cents, pt->cell,
				   pt->ald, pt->c2s | (pt->ame << 1), pt->exposure, (long long)ctx->id, pt->depriv);
			if (out.len >= (1u << 20) || i + 1 == pop.n) {
				if (out.oom) {
					rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
					goto out;
				}
				if ((rc = store_scores_put(ctx->db, out.data, out.len, err)) < 0)
					goto out;
				out.len = 0;
				if (job_progress(ctx, 0.3 + 0.6 * (double)(i + 1) / (double)pop.n,
						 "scored %zu of %zu patients", i + 1, pop.n)) {
					rc = a51_error_set(err, A51_ECANCELED, "job", "cancelled");
					goto out;
				}
			}
		}
	}
	if ((rc = store_scores_end(ctx->db, err)) < 0)
		goto out;
	{
		struct job_result res = { .type = "scores", .id = model_id };
		snprintf(res.url, sizeof(res.url), "/v1/risk-models/%lld/scores?%s%lld&year=%d", (long long)model_id,
			 dataset ? "structure_id=" : "reference=true&n=", (long long)(dataset ? dataset : (int64_t)pop.n),
			 def.year);
		if ((rc = job_finish_in_tx(ctx, &res, err)) < 0 || (rc = db_commit(ctx->db, err)) < 0)
			goto out;
	}
out:
	if (rc < 0)
		db_rollback(ctx->db); /* also ends an unfinished COPY IN: nothing is stored */
	buf_release(&out);
	free(pop.rows);
	json_decref(model);
	return rc;
}

int job_rm_fit(struct job_ctx *ctx, struct a51_error *err)
{
	return fit_job(ctx, err);
}

int job_rm_score(struct job_ctx *ctx, struct a51_error *err)
{
	return score_job(ctx, err);
}
