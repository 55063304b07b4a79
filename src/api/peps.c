/* PEPS runs: asking for one (a job), reading runs, their per-patient lines
 * (JSON pages or CSV), and the team's split of a run between its members. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/buf.h"
#include "a51/dates.h"
#include "a51/peps.h"
#include "a51/util.h"
#include "a51/banned.h"

static const char *const phases[] = { "simulation", "retrospective", "prospective", NULL };
static const char *const options[] = { "diabetic", "elderly", "whole", NULL };

/* What both kinds of run check before a job is queued: the parameter set of
 * the year (or the one named) reads, and its risk model exists. */
static int check_inputs(struct db_conn *c, int year, int64_t pset_id, struct a51_error *err)
{
	struct peps_params kp;
	json_t *pset = NULL;
	int64_t model;
	int rc = pset_id ? store_param_set_get(c, pset_id, &pset, err) : store_param_set_latest(c, "PEPS", year, &pset, err);

	if (rc == A51_ENOTFOUND)
		return pset_id ? a51_error_set(err, A51_EINVAL, "parameter_set_id", "no parameter set %lld", (long long)pset_id)
			       : a51_error_set(err, A51_EINVAL, "year", "no PEPS parameter set for %d", year);
	if (rc < 0)
		return rc;
	if (strcmp(json_string_value(json_object_get(pset, "experiment")), "PEPS") != 0)
		rc = a51_error_set(err, A51_EINVAL, "parameter_set_id", "parameter set %lld is not a PEPS one",
				   (long long)pset_id);
	else if ((rc = params_read_peps(json_object_get(pset, "body"), &kp, err)) == 0)
		rc = store_rm_latest(c, "forfait.risk_model", kp.risk_model, &model, err);
	json_decref(pset);
	return rc;
}

/* POST /v1/structures/{id}/peps/runs {year, quarter?, phase, what_if?, option?,
 * parameter_set_id?, quality_score?}. Official runs are the payer's (ARS or
 * national); a structure runs what-ifs of its own. */
void api_peps_run_create(struct http_request *r)
{
	static const char *const known[] = { "year", "quarter", "phase", "what_if", "option", "parameter_set_id",
					     "quality_score", NULL };
	struct a51_error err = { 0 };
	struct fields f;
	struct db_conn *c;
	struct job_new jn = { .kind = "peps.run" };
	json_t *params, *qs;
	const char *phase, *option;
	char region[4], from[11], to[11];
	int64_t sid, pset;
	int year, quarter, ph;
	bool what_if, has_option;
	double score = -1;

	if (!api_path_id(r, "id", &sid) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	year = (int)field_int(&f, "year", true, 2018, 2100, 0);
	quarter = (int)field_int(&f, "quarter", false, 1, 4, 0);
	phase = field_enum(&f, "phase", true, phases);
	what_if = field_bool(&f, "what_if", false);
	option = field_enum(&f, "option", false, options);
	pset = field_int(&f, "parameter_set_id", false, 1, INT64_MAX, 0);
	qs = json_object_get(f.obj, "quality_score");
	if (qs && !json_is_null(qs)) {
		score = json_number_value(qs);
		if (!json_is_number(qs) || score < 0 || score > 1)
			field_error(&f, "quality_score", "a quality score from 0 to 1");
	}
	if (!what_if && (option || pset || score >= 0))
		field_error(&f, "what_if", "another option, parameter set or quality score makes a what-if: set what_if");
	if (!what_if && r->caller.kind == CALLER_STRUCTURE)
		field_error(&f, "what_if", "official runs are the payer's: a structure runs what-ifs (what_if: true)");
	if (phase && quarter && strcmp(phase, "retrospective") == 0)
		field_error(&f, "quarter", "a retrospective bonus is computed on the whole year: no quarter");
	if (!fields_end(&f))
		return;
	ph = peps_phase_parse(phase); /* phase and option live in the body, released below */
	params = json_pack("{s:I,s:i,s:i,s:s,s:b}", "structure_id", (json_int_t)sid, "year", year, "quarter", quarter,
			   "phase", phase, "what_if", what_if);
	if (option)
		json_object_set_new(params, "option", json_string(option));
	if (pset)
		json_object_set_new(params, "parameter_set_id", json_integer((json_int_t)pset));
	if (score >= 0)
		json_object_set_new(params, "quality_score", json_real(score));
	has_option = option != NULL;
	fields_release(&f);
	if (!(c = api_tx_begin(r))) {
		json_decref(params);
		return;
	}
	/* what the job would only find out later: the structure, its enrolment and phase, the model */
	date_format(date_from_ymd(year, quarter ? 3 * quarter - 2 : 1, 1), from);
	date_format(quarter && quarter < 4 ? date_from_ymd(year, 3 * quarter + 1, 1) - 1 : date_from_ymd(year, 12, 31), to);
	if (store_reach_structure(c, &r->caller, sid, region, &err) < 0 || check_inputs(c, year, pset, &err) < 0) {
		json_decref(params);
		api_fail(r, c, &err);
		return;
	}
	{
		json_t *enrol = NULL;
		int rc = store_enrolment_over(c, sid, "PEPS", from, to, &enrol, &err);
		if (rc == 0 && !what_if)
			rc = peps_phase_check(enrol, sid, ph, from, to, &err);
		if (rc == A51_EINVAL && what_if && has_option)
			rc = 0; /* a what-if of a structure not enrolled: the option says what to compute */
		json_decref(enrol);
		if (rc < 0) {
			json_decref(params);
			api_fail(r, c, &err);
			return;
		}
	}
	jn.params = params;
	jn.region = region;
	jn.structure_id = sid;
	api_job_submit(r, c, &jn);
	json_decref(params);
}

/* POST /v1/peps/runs {year, quarter?, phase, region?}: every enrolled
 * structure of a region (ARS) or of the country (national), in one job. */
void api_peps_batch_create(struct http_request *r)
{
	static const char *const known[] = { "year", "quarter", "phase", "region", NULL };
	struct a51_error err = { 0 };
	struct fields f;
	struct db_conn *c;
	struct job_new jn = { .kind = "peps.batch" };
	json_t *params;
	const char *phase, *region;
	int year, quarter;

	if (!fields_begin(&f, r))
		return;
	fields_only(&f, known);
	year = (int)field_int(&f, "year", true, 2018, 2100, 0);
	quarter = (int)field_int(&f, "quarter", false, 1, 4, 0);
	phase = field_enum(&f, "phase", true, phases);
	region = field_text(&f, "region", false, 2);
	if (r->caller.kind == CALLER_ARS) {
		if (region && strcmp(region, r->caller.region) != 0)
			field_error(&f, "region", "an ARS runs its own region");
		region = r->caller.region;
	}
	if (phase && quarter && strcmp(phase, "retrospective") == 0)
		field_error(&f, "quarter", "a retrospective bonus is computed on the whole year: no quarter");
	if (!fields_end(&f))
		return;
	params = json_pack("{s:i,s:i,s:s}", "year", year, "quarter", quarter, "phase", phase);
	if (region)
		json_object_set_new(params, "region", json_string(region));
	fields_release(&f);
	if (!(c = api_tx_begin(r))) {
		json_decref(params);
		return;
	}
	if (region) {
		struct region reg;
		if (store_region_get(c, json_string_value(json_object_get(params, "region")), &reg, &err) < 0) {
			if (err.code == A51_ENOTFOUND)
				a51_error_set(&err, A51_EINVAL, "region", "no such region");
			json_decref(params);
			api_fail(r, c, &err);
			return;
		}
	}
	if (check_inputs(c, year, 0, &err) < 0) {
		json_decref(params);
		api_fail(r, c, &err);
		return;
	}
	jn.params = params;
	jn.region = json_string_value(json_object_get(params, "region"));
	api_job_submit(r, c, &jn);
	json_decref(params);
}

void api_peps_runs_list(struct http_request *r)
{
	static const char *const query[] = { "limit", "structure_id", "year", "phase", "what_if", "batch_id", "current",
					     NULL };
	static const char *const bools[] = { "true", "false", NULL };
	struct a51_error err = { 0 };
	struct peps_run_filter pf = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *items;

	query_begin(&q, r);
	pf.structure_id = query_int(&q, "structure_id", 1, INT64_MAX, 0);
	pf.year = (int)query_int(&q, "year", 2018, 2100, 0);
	pf.phase = query_enum(&q, "phase", phases);
	pf.what_if = query_enum(&q, "what_if", bools);
	pf.batch_id = query_int(&q, "batch_id", 1, INT64_MAX, 0);
	{
		const char *cur = query_enum(&q, "current", bools);
		pf.current_only = cur && strcmp(cur, "true") == 0;
	}
	pf.limit = (int)query_int(&q, "limit", 1, 500, 50);
	pf.before_id = query_int(&q, "cursor", 1, INT64_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (store_peps_runs_list(c, &r->caller, &pf, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, api_page(items, pf.limit, api_base_url(r, query)));
}

void api_peps_run_get(struct http_request *r)
{
	static const char *const links[] = { "lines_url", "/v1/peps/runs/", "/lines", "distribution_url",
					     "/v1/peps/runs/", "/distribution", NULL };

	api_respond_by_id(r, store_peps_run_get, links);
}

/* The per-patient lines: JSON pages, or all of them as one CSV file. */
void api_peps_run_lines(struct http_request *r)
{
	static const char *const cols[] = { "patient_id", "age_sex", "ald_groups", "c2s", "ame", "covered_days",
					    "covered_at_start", "base_cents", "fidelisation", "rate_cents", "earned_cents",
					    "team_cents", "all_cents", "ffs_cents", "amount_cents" };
	static const struct api_lines_kind peps = { "peps", store_peps_run_get, store_peps_lines, cols,
						    A51_ARRAY_LEN(cols) };

	api_run_lines(r, &peps);
}

/* The members of the run's team with the weight each key gives them. */
static int members_of(struct db_conn *c, const json_t *run, json_t **members, struct a51_error *err)
{
	const json_t *res = json_object_get(run, "result");
	json_t *acts = json_object_get(json_object_get(res, "parameters"), "perimeter_acts"), *a;
	struct buf b;
	size_t i;
	int rc;

	buf_init(&b);
	buf_printf(&b, "{");
	json_array_foreach(acts, i, a)
		buf_printf(&b, "%s\"%s\"", i ? "," : "", json_string_value(a));
	buf_printf(&b, "}");
	rc = b.oom ? a51_error_set(err, A51_ENOMEM, NULL, "out of memory")
		   : store_peps_members(c, json_integer_value(json_object_get(run, "structure_id")),
					json_string_value(json_object_get(res, "period_from")),
					json_string_value(json_object_get(res, "period_to")), b.data, members, err);
	buf_release(&b);
	return rc;
}

static double weight(const json_t *m, int key)
{
	switch (key) {
	case PEPS_KEY_FTE: return json_number_value(json_object_get(m, "fte"));
	/* sums come back as numeric, counts as integers: read both as numbers */
	case PEPS_KEY_PATIENTS: return json_number_value(json_object_get(m, "patients"));
	case PEPS_KEY_PRIOR_FFS: return json_number_value(json_object_get(m, "prior_ffs_cents"));
	default: return 1;
	}
}

/* GET .../distribution?key=equal|fte|patients|prior_ffs: a proposal of how
 * the run's total could be split, and the split the team recorded, if any. */
void api_peps_distribution_get(struct http_request *r)
{
	static const char *const keys[] = { "equal", "fte", "patients", "prior_ffs", NULL };
	struct a51_error err = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *run = NULL, *members = NULL, *recorded = NULL, *m, *proposal = NULL;
	const char *key;
	int64_t id, *cents = NULL;
	double *w = NULL;
	size_t i, n;
	int k;

	if (!api_path_id(r, "id", &id))
		return;
	query_begin(&q, r);
	key = query_enum(&q, "key", keys);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	k = key ? peps_key_parse(key) : PEPS_KEY_EQUAL;
	if (store_peps_run_get(c, &r->caller, id, &run, &err) < 0 || members_of(c, run, &members, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (store_peps_split_get(c, id, &recorded, &err) < 0 && err.code != A51_ENOTFOUND) {
		api_fail(r, c, &err);
		goto done;
	}
	api_db_release(r, c);
	if (json_is_true(json_object_get(run, "what_if")) || json_integer_value(json_object_get(run, "total_cents")) == 0) {
		http_problem_ex(r, 422, "validation",
				json_pack("[{s:s,s:s}]", "field", "run", "reason",
					  "this run pays nothing (a what-if, a simulation, or no bonus): there is nothing to split"),
				NULL, "nothing to split");
		goto done;
	}
	n = json_array_size(members);
	w = malloc(sizeof(double) * (n ? n : 1));
	cents = malloc(sizeof(int64_t) * (n ? n : 1));
	if (!w || !cents) {
		http_problem(r, 500, "internal", "out of memory");
		goto done;
	}
	json_array_foreach(members, i, m)
		w[i] = weight(m, k);
	if (peps_split(json_integer_value(json_object_get(run, "total_cents")), w, n, cents, &err) < 0) {
		http_problem_from_error(r, &err);
		goto done;
	}
	proposal = json_array();
	json_array_foreach(members, i, m)
		json_array_append_new(proposal, json_pack("{s:O,s:O,s:f,s:I}", "rpps", json_object_get(m, "rpps"),
							  "profession", json_object_get(m, "profession"), "weight", w[i],
							  "cents", (json_int_t)cents[i]));
	http_respond_json(r, 200,
			  json_pack("{s:I,s:O,s:s,s:o,s:o}", "run_id", (json_int_t)id, "total_cents",
				    json_object_get(run, "total_cents"), "key", peps_key_name(k), "proposal", proposal,
				    "recorded", recorded ? recorded : json_null()));
	proposal = recorded = NULL;
done:
	json_decref(run);
	json_decref(members);
	json_decref(recorded);
	json_decref(proposal);
	free(w);
	free(cents);
}

/* PUT .../distribution {key?, shares: [{rpps, cents}]}: the team's split. Each
 * share goes to a member of the period; the shares add up to the run's total. */
void api_peps_distribution_put(struct http_request *r)
{
	static const char *const known[] = { "key", "shares", NULL };
	static const char *const keys[] = { "equal", "fte", "patients", "prior_ffs", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct fields f;
	struct db_conn *c = NULL;
	json_t *run = NULL, *members = NULL, *shares, *s, *clean = json_array(), *out = NULL;
	const char *key;
	int64_t id, sum = 0;
	size_t i;

	if (!api_path_id(r, "id", &id) || !fields_begin(&f, r)) {
		json_decref(clean);
		return;
	}
	fields_only(&f, known);
	key = field_enum(&f, "key", false, keys);
	shares = json_object_get(f.obj, "shares");
	if (!json_is_array(shares) || json_array_size(shares) == 0 || json_array_size(shares) > 1000)
		field_error(&f, "shares", "a list of 1 to 1000 shares {rpps, cents}");
	if (!fields_ok(&f) || !(c = api_tx_begin(r)))
		goto fields;
	if (store_peps_run_get(c, &r->caller, id, &run, &err) < 0 || members_of(c, run, &members, &err) < 0) {
		api_fail(r, c, &err);
		c = NULL;
		goto fields;
	}
	if (json_is_true(json_object_get(run, "what_if")))
		field_error(&f, "run", "a what-if run is not paid: it has no split");
	else if (json_integer_value(json_object_get(run, "total_cents")) == 0)
		field_error(&f, "run", "this run pays nothing (a simulation, or no bonus): there is nothing to split");
	json_array_foreach(shares, i, s) {
		const char *rpps = json_string_value(json_object_get(s, "rpps"));
		json_t *cv = json_object_get(s, "cents"), *m;
		const char *profession = NULL;
		size_t j;
		char field[48];
		snprintf(field, sizeof(field), "shares[%zu]", i);
		json_array_foreach(members, j, m)
			if (rpps && strcmp(json_string_value(json_object_get(m, "rpps")), rpps) == 0)
				profession = json_string_value(json_object_get(m, "profession"));
		if (!json_is_object(s) || json_object_size(s) != 2 || !profession) {
			field_error(&f, field, "{rpps, cents} of a member of the team over the run's period");
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			/* an earlier share may have been refused for having no rpps */
			const char *other = json_string_value(json_object_get(json_array_get(shares, k), "rpps"));
			if (other && strcmp(other, rpps) == 0)
				field_error(&f, field, "rpps %s has a share already", rpps);
		}
		if (!json_is_integer(cv) || json_integer_value(cv) < 0) {
			field_error(&f, field, "cents is a whole number of cents, 0 or more");
			continue;
		}
		sum += json_integer_value(cv);
		json_array_append_new(clean, json_pack("{s:s,s:s,s:O}", "rpps", rpps, "profession", profession, "cents", cv));
	}
	if (fields_ok(&f) && sum != json_integer_value(json_object_get(run, "total_cents")))
		field_error(&f, "shares", "the shares add up to %lld cents; the run's total is %lld", (long long)sum,
			    (long long)json_integer_value(json_object_get(run, "total_cents")));
	if (!fields_ok(&f))
		goto fields;
	if (store_peps_split_save(c, &a, id, key, clean, sum, &out, &err) < 0) {
		api_fail(r, c, &err);
		c = NULL;
		goto fields;
	}
	if (api_tx_commit(r, c) < 0) {
		c = NULL;
		goto fields;
	}
	c = NULL;
	http_respond_json(r, 200, out);
	out = NULL;
fields:
	if (c) {
		db_rollback(c);
		api_db_release(r, c);
	}
	if (!fields_end(&f))
		; /* the faults were answered */
	else
		fields_release(&f);
	json_decref(run);
	json_decref(members);
	json_decref(clean);
	json_decref(out);
}

/* GET /v1/peps/batches/{id}: what a regional or national run did: the runs
 * it made, the structures it skipped and why. */
void api_peps_batch_get(struct http_request *r)
{
	static const char *const links[] = { "runs_url", "/v1/peps/runs?batch_id=", "", NULL };

	api_respond_by_id(r, store_peps_batch_get, links);
}
