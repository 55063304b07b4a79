/* Quality indicators as a job: for a region and a year, every indicator of
 * the IPEP parameter set's catalogue counted for each structure of the
 * region (one SQL statement per indicator), its Wilson interval, the
 * territory's deciles, the target and points as IPEP scores them (against
 * the value of the year before), and the patient-experience scores; written
 * at once as an immutable run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/app.h"
#include "a51/indicators.h"
#include "a51/ipep.h"
#include "a51/jobs.h"
#include "a51/sha256.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/* The IPEP parameter set of the year (or the one named) and what it says of indicators. */
static int setup_of(struct db_conn *c, int64_t pset_id, int year, json_t **pset, struct ind_setup *s,
		 struct a51_error *err)
{
	int rc = pset_id ? store_param_set_get(c, pset_id, pset, err) : store_param_set_latest(c, "IPEP", year, pset, err);

	if (rc == A51_ENOTFOUND)
		return pset_id ? a51_error_set(err, A51_EINVAL, "parameter_set_id", "no parameter set %lld", (long long)pset_id)
			       : a51_error_set(err, A51_EINVAL, "year", "no IPEP parameter set for %d: the indicator "
								       "catalogue lives there", year);
	if (rc < 0)
		return rc;
	if (strcmp(json_string_value(json_object_get(*pset, "experiment")), "IPEP") != 0)
		return a51_error_set(err, A51_EINVAL, "parameter_set_id",
				     "parameter set %lld is not an IPEP one (the indicator catalogue lives there)",
				     (long long)pset_id);
	return ind_setup_read(json_object_get(*pset, "body"), s, err);
}

/* Index of a structure id in the run's (sorted) list; -1 when absent. */
static long index_of(const int64_t *ids, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ids[mid] == id)
			return (long)mid;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static json_t *real_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

struct grid {
	size_t ns;                  /* structures */
	int nk;                     /* indicators */
	int64_t *ids;
	long long *num, *den;       /* [s * nk + k] */
};

static int count_all(struct job_ctx *ctx, const struct ind_setup *s, const char *region, int year, struct grid *g,
		     struct a51_error *err)
{
	for (int k = 0; k < s->cat.n; k++) {
		struct ind_count *rows;
		size_t n;
		int rc;

		if (job_progress(ctx, (double)k / (double)(s->cat.n + 1), "indicator %s (%d of %d)", s->cat.d[k].code,
				 k + 1, s->cat.n))
			return a51_error_set(err, A51_ECANCELED, "job", "cancelled");
		if ((rc = store_ind_count(ctx->db, &s->cat.d[k], region, year, s->kinds, 0, &rows, &n, err)) < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			long at = index_of(g->ids, g->ns, rows[i].structure_id);
			if (at >= 0) {
				g->num[(size_t)at * (size_t)g->nk + (size_t)k] = rows[i].numerator;
				g->den[(size_t)at * (size_t)g->nk + (size_t)k] = rows[i].denominator;
			}
		}
		free(rows);
	}
	return 0;
}

/* Dimension and overall scores of every structure with answers. */
static int experience_all(struct job_ctx *ctx, const struct ind_setup *s, const char *region, int year,
			  int64_t run_id, struct sha256 *sh, json_t *summary, struct a51_error *err)
{
	struct ind_answers *rows;
	char questionnaire[48];
	size_t n, i = 0;
	long scored = 0;
	int rc;

	snprintf(questionnaire, sizeof(questionnaire), "%s-%d", s->exp.questionnaire, year);
	if ((rc = store_ind_experience(ctx->db, region, s->kinds, questionnaire, s->exp.scale_min, s->exp.scale_max, 0,
				       &rows, &n, err)) < 0)
		return rc;
	while (i < n && rc == 0) {
		int64_t sid = rows[i].structure_id;
		long long respondents = 0, all_sum = 0, all_count = 0;
		json_t *dims = json_array();
		bool enough;
		double overall;

		size_t end = i;
		while (end < n && rows[end].structure_id == sid)
			end++;
		for (size_t r = i; r < end; r++)
			if (rows[r].item == 0)
				respondents = rows[r].respondents;
		enough = respondents >= s->exp.min_respondents && respondents > 0;
		for (int d = 0; d < s->exp.n_dims; d++) {
			long long sum = 0, count = 0;
			for (size_t r = i; r < end; r++)
				for (int t = 0; rows[r].item && t < s->exp.dims[d].n_items; t++)
					if (rows[r].item == s->exp.dims[d].items[t]) {
						sum += rows[r].sum;
						count += rows[r].count;
					}
			all_sum += sum;
			all_count += count;
			json_array_append_new(
				dims, json_pack("{s:s,s:s,s:o,s:I}", "code", s->exp.dims[d].code, "label", s->exp.dims[d].label,
						"score", enough && count ? json_real(ind_scale_score((double)sum / (double)count,
											 s->exp.scale_min,
											 s->exp.scale_max))
									 : json_null(),
						"answers", (json_int_t)count));
		}
		overall = enough && all_count ? ind_scale_score((double)all_sum / (double)all_count, s->exp.scale_min,
								s->exp.scale_max)
					      : NAN;
		{
			char line[96];
			int len = snprintf(line, sizeof(line), "x|%lld|%lld|%lld|%lld\n", (long long)sid, respondents,
					   all_sum, all_count);
			sha256_update(sh, line, (size_t)len);
		}
		rc = store_ind_experience_insert(ctx->db, run_id, sid, (long)respondents, overall, dims, err);
		scored += !isnan(overall);
		json_decref(dims);
		i = end;
	}
	free(rows);
	json_object_set_new(summary, "questionnaire", json_string(questionnaire));
	json_object_set_new(summary, "structures_scored", json_integer(scored));
	return rc;
}

static int run_region(struct job_ctx *ctx, int year, const char *region, int64_t pset_id, int64_t *run_id,
		      struct a51_error *err)
{
	struct ind_setup *s = calloc(1, sizeof(*s));
	struct grid g = { 0 };
	json_t *pset = NULL, *structures = NULL, *previous = NULL, *defs = json_array(), *result = NULL,
	       *exp_summary = json_object();
	struct ind_indicator_scratch {
		double deciles[9];
		bool has;
		double mean;
		long n;
	} *dist = NULL;
	struct sha256 sh;
	uint8_t dg[SHA256_LEN];
	char digest[2 * SHA256_LEN + 1];
	int rc;

	if (!s || !defs || !exp_summary) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((rc = setup_of(ctx->db, pset_id, year, &pset, s, err)) < 0 ||
	    (rc = store_ind_structures(ctx->db, region, s->kinds, year, &structures, err)) < 0 ||
	    (rc = store_ind_previous(ctx->db, region, year - 1, &previous, err)) < 0)
		goto out;
	g.ns = json_array_size(structures);
	g.nk = s->cat.n;
	g.ids = calloc(g.ns ? g.ns : 1, sizeof(*g.ids));
	g.num = calloc(g.ns * (size_t)g.nk + 1, sizeof(*g.num));
	g.den = calloc(g.ns * (size_t)g.nk + 1, sizeof(*g.den));
	dist = calloc((size_t)g.nk + 1, sizeof(*dist));
	if (!g.ids || !g.num || !g.den || !dist) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < g.ns; i++)
		g.ids[i] = json_integer_value(json_object_get(json_array_get(structures, i), "id"));
	if ((rc = count_all(ctx, s, region, year, &g, err)) < 0)
		goto out;

	/* the territory: values of structures with a denominator large enough */
	for (int k = 0; k < g.nk; k++) {
		double *v = calloc(g.ns + 1, sizeof(double)), sum = 0;
		size_t m = 0;
		if (!v) {
			rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < g.ns; i++) {
			long long den = g.den[i * (size_t)g.nk + (size_t)k];
			if (den > 0 && den >= s->min_den) {
				v[m] = (double)g.num[i * (size_t)g.nk + (size_t)k] / (double)den;
				sum += v[m++];
			}
		}
		dist[k].n = (long)m;
		dist[k].mean = m ? sum / (double)m : NAN;
		dist[k].has = ind_deciles(v, m, dist[k].deciles);
		free(v);
	}

	/* values point to the run, written last when its digest is known */
	if ((rc = store_ind_run_reserve(ctx->db, run_id, err)) < 0)
		goto out;

	sha256_init(&sh);
	for (size_t i = 0; i < g.ns; i++) {
		struct ipep_indicator ind[IND_MAX];
		struct ipep_indicator_score sc[IND_MAX];
		struct ipep_quality q;

		for (int k = 0; k < g.nk; k++) {
			long long num = g.num[i * (size_t)g.nk + (size_t)k], den = g.den[i * (size_t)g.nk + (size_t)k];
			char key[96];
			const json_t *prev;

			memset(&ind[k], 0, sizeof(ind[k]));
			snprintf(ind[k].code, sizeof(ind[k].code), "%s", s->cat.d[k].code);
			ind[k].decreasing = s->cat.d[k].decreasing;
			ind[k].a_la_carte = s->cat.d[k].a_la_carte;
			ind[k].value = den > 0 ? (double)num / (double)den : NAN;
			snprintf(key, sizeof(key), "%lld/%s", (long long)g.ids[i], s->cat.d[k].code);
			prev = json_object_get(previous, key);
			ind[k].previous = prev ? json_number_value(prev) : NAN;
			for (int t = 0; t < 9; t++)
				ind[k].deciles[t] = dist[k].has ? dist[k].deciles[t] : NAN;
		}
		ipep_score(&s->ip, ind, (size_t)g.nk, -1, sc, &q);
		for (int k = 0; k < g.nk; k++) {
			struct ind_value v = { .structure_id = g.ids[i], .code = s->cat.d[k].code,
					       .numerator = g.num[i * (size_t)g.nk + (size_t)k],
					       .denominator = g.den[i * (size_t)g.nk + (size_t)k], .value = ind[k].value,
					       .previous = ind[k].previous, .target = NAN, .intermediate = NAN,
					       .points = NAN, .how = "no territory distribution" };
			char line[160];
			int len;

			ind_wilson(v.numerator, v.denominator, s->z, &v.ci_low, &v.ci_high);
			if (v.denominator == 0)
				v.ci_low = v.ci_high = NAN;
			if (dist[k].has) {
				v.target = sc[k].target;
				v.intermediate = sc[k].intermediate;
				v.points = sc[k].points;
				v.how = sc[k].how;
			}
			len = snprintf(line, sizeof(line), "v|%lld|%s|%lld|%lld|%.17g|%.17g\n", (long long)v.structure_id,
				       v.code, v.numerator, v.denominator, v.points, v.previous);
			sha256_update(&sh, line, (size_t)len);
			if ((rc = store_ind_value_insert(ctx->db, *run_id, &v, err)) < 0)
				goto out;
		}
	}
	if ((rc = experience_all(ctx, s, region, year, *run_id, &sh, exp_summary, err)) < 0 ||
	    (rc = store_ind_spending_insert(ctx->db, *run_id, region, s->kinds, year, err)) < 0)
		goto out;
	for (int k = 0; k < g.nk; k++) {
		const struct ind_def *d = &s->cat.d[k];
		json_t *dec = json_array();
		for (int t = 0; dist[k].has && t < 9; t++)
			json_array_append_new(dec, json_real(dist[k].deciles[t]));
		json_array_append_new(
			defs, json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s,s:I,s:o,s:o}", "code", d->code, "label", d->label,
					"theme", d->theme, "direction", d->decreasing ? "decreasing" : "increasing",
					"a_la_carte", d->a_la_carte, "care_gap", d->care_gap, "base", ind_base_name(d->base),
					"measure", ind_measure_name(d->measure), "n", (json_int_t)dist[k].n, "deciles",
					dist[k].has ? dec : json_null(), "mean", real_or_null(dist[k].mean)));
		if (!dist[k].has)
			json_decref(dec);
	}
	{
		char more[96];
		int len = snprintf(more, sizeof(more), "|pset=%lld|year=%d|region=%s",
				   (long long)json_integer_value(json_object_get(pset, "id")), year, region);
		sha256_update(&sh, more, (size_t)len);
		sha256_final(&sh, dg);
		util_hex(dg, sizeof(dg), digest);
	}
	result = json_pack("{s:i,s:s,s:{s:I,s:i,s:i},s:O,s:o,s:{s:s,s:s},s:I,s:f,s:f}", "year", year, "region", region,
			   "parameter_set", "id", (json_int_t)json_integer_value(json_object_get(pset, "id")), "year",
			   (int)json_integer_value(json_object_get(pset, "year")), "version",
			   (int)json_integer_value(json_object_get(pset, "version")),
			   "indicators", defs, "experience", exp_summary, "method", "population",
			   "patients alive on 31 December, age on that day",
			   "deciles", "Hyndman-Fan type 7 over the region's structures with the minimum denominator",
			   "min_denominator", (json_int_t)s->min_den, "confidence_z", s->z, "points_per_indicator",
			   s->ip.indicator_points);
	exp_summary = NULL;
	if (!result) {
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		goto out;
	}
	{
		struct ind_run_record rec = { .region = region, .code_version = a51_version, .digest = digest,
					      .year = year, .structures = (int)g.ns,
					      .parameter_set_id = json_integer_value(json_object_get(pset, "id")),
					      .job_id = ctx->id, .created_by = ctx->caller.token_id, .result = result };
		rc = store_ind_run_insert(ctx->db, &rec, *run_id, err);
	}
out:
	json_decref(pset);
	json_decref(structures);
	json_decref(previous);
	json_decref(defs);
	json_decref(result);
	json_decref(exp_summary);
	free(g.ids);
	free(g.num);
	free(g.den);
	free(dist);
	free(s);
	return rc;
}

int job_ind_run(struct job_ctx *ctx, struct a51_error *err)
{
	const char *region = json_string_value(json_object_get(ctx->params, "region"));
	int year = (int)json_integer_value(json_object_get(ctx->params, "year"));
	int64_t pset = json_integer_value(json_object_get(ctx->params, "parameter_set_id")), run_id = 0;
	int rc;

	if (!region)
		return a51_error_set(err, A51_EINVAL, "region", "an indicator run is a region's");
	if ((rc = db_begin(ctx->db, err)) < 0)
		return rc;
	if ((rc = run_region(ctx, year, region, pset, &run_id, err)) == 0) {
		struct job_result res = { .type = "indicator_run", .id = run_id };
		snprintf(res.url, sizeof(res.url), "/v1/indicators/runs/%lld", (long long)run_id);
		if ((rc = job_finish_in_tx(ctx, &res, err)) == 0)
			rc = db_commit(ctx->db, err);
	}
	if (rc < 0)
		db_rollback(ctx->db);
	return rc;
}
