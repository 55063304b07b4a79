/* IPEP: a groupement's quality inputs for a year, asking for runs (jobs),
 * reading runs and their per-patient lines (JSON pages or CSV), batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/dates.h"
#include "a51/ipep.h"
#include "a51/util.h"
#include "a51/banned.h"

static const char *const phases[] = { "phase1", "phase2", "phase3", NULL };

static bool path_year(struct http_request *r, int *year)
{
	const char *s = http_param(r, "year");
	int64_t y;

	if (!s || util_parse_i64(s, 2018, 2100, &y) < 0) {
		http_problem(r, 404, "not-found", "no year %s", s ? s : "");
		return false;
	}
	*year = (int)y;
	return true;
}

/* One indicator of a quality PUT: each fault named under indicators[i] (or
 * indicators[i].member), all of them, none hiding another; the clean copy is
 * appended to clean only when the indicator has none. Members are read
 * without trusting their types: a code may be missing, a number, or the
 * indicator not an object at all. */
static void indicator_check(struct fields *f, const json_t *list, size_t i, json_t *clean)
{
	static const char *const keys[] = { "code", "a_la_carte", "decreasing", "value", "previous", "deciles", NULL };
	static const char *const flags[] = { "a_la_carte", "decreasing" };
	const json_t *k = json_array_get(list, i), *cj = json_object_get(k, "code"), *dec = json_object_get(k, "deciles");
	const json_t *v = json_object_get(k, "value"), *pv = json_object_get(k, "previous");
	const char *code = json_string_value(cj), *key;
	size_t before = json_array_size(f->errors);
	json_t *member;
	char field[64];

	if (!json_is_object(k)) {
		snprintf(field, sizeof(field), "indicators[%zu]", i);
		field_error(f, field, "an object {code, value, previous, deciles, decreasing?, a_la_carte?}");
		return;
	}
	json_object_foreach((json_t *)k, key, member) {
		bool known = false;
		for (const char *const *n = keys; *n && !known; n++)
			known = strcmp(key, *n) == 0;
		if (!known) {
			snprintf(field, sizeof(field), "indicators[%zu]", i);
			field_error(f, field, "unknown member %s", key);
		}
	}
	snprintf(field, sizeof(field), "indicators[%zu].code", i);
	if (!code || !*code || strlen(code) > 31 || strlen(code) != json_string_length(cj)) {
		field_error(f, field, "a string of 1 to 31 bytes");
	} else {
		for (size_t j = 0; j < i; j++) {
			/* an earlier indicator's code may be missing or not a string */
			const char *other = json_string_value(json_object_get(json_array_get(list, j), "code"));
			if (other && strcmp(other, code) == 0) {
				field_error(f, field, "code %s is given twice", code);
				break;
			}
		}
	}
	for (size_t j = 0; j < A51_ARRAY_LEN(flags); j++) {
		const json_t *b = json_object_get(k, flags[j]);
		if (b && !json_is_null(b) && !json_is_boolean(b)) {
			snprintf(field, sizeof(field), "indicators[%zu].%s", i, flags[j]);
			field_error(f, field, "true or false (absent: false)");
		}
	}
	if (v && !json_is_null(v) && !json_is_number(v)) {
		snprintf(field, sizeof(field), "indicators[%zu].value", i);
		field_error(f, field, "a number, or null when not measured");
	}
	if (pv && !json_is_null(pv) && !json_is_number(pv)) {
		snprintf(field, sizeof(field), "indicators[%zu].previous", i);
		field_error(f, field, "a number, or null when not measured");
	}
	snprintf(field, sizeof(field), "indicators[%zu].deciles", i);
	if (!json_is_array(dec) || json_array_size(dec) != 9) {
		field_error(f, field, "the 9 deciles of the territories' results, from the 1st");
	} else {
		bool ok = true;
		for (size_t d = 0; d < 9 && ok; d++)
			ok = json_is_number(json_array_get(dec, d)) &&
			     (!d || json_number_value(json_array_get(dec, d)) >= json_number_value(json_array_get(dec, d - 1)));
		if (!ok)
			field_error(f, field, "deciles are 9 numbers in increasing order");
	}
	if (json_array_size(f->errors) == before)
		json_array_append_new(clean, json_pack("{s:s,s:b,s:b,s:O,s:O,s:O}", "code", code, "a_la_carte",
						       json_is_true(json_object_get(k, "a_la_carte")), "decreasing",
						       json_is_true(json_object_get(k, "decreasing")), "value",
						       v ? (json_t *)v : json_null(), "previous", pv ? (json_t *)pv : json_null(),
						       "deciles", dec));
}

/* PUT /v1/structures/{id}/ipep/quality/{year} {indicators, experience_points?,
 * respondents?}: the payer's measures for the year, a new version each time. */
void api_ipep_quality_put(struct http_request *r)
{
	static const char *const known[] = { "indicators", "experience_points", "respondents", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct fields f;
	struct db_conn *c;
	json_t *list, *clean, *out = NULL, *e;
	char exp_text[32], resp_text[24], region[4], loc[64];
	const char *exp = NULL, *resp = NULL;
	int64_t sid, respondents;
	int year;

	if (!api_path_id(r, "id", &sid) || !path_year(r, &year) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	list = json_object_get(f.obj, "indicators");
	clean = json_array();
	if (!json_is_array(list) || json_array_size(list) > 50)
		field_error(&f, "indicators", "a list of at most 50 indicator results");
	/* past 50 the list is refused whole: its items are not gone through (the
	 * duplicate check is quadratic) */
	for (size_t i = 0; i < json_array_size(list) && i < 50; i++)
		indicator_check(&f, list, i, clean);
	e = json_object_get(f.obj, "experience_points");
	if (e && !json_is_null(e)) {
		if (!json_is_number(e) || json_number_value(e) < 0 || json_number_value(e) > 1000)
			field_error(&f, "experience_points", "the questionnaire's points, 0 or more (null: missing)");
		else {
			snprintf(exp_text, sizeof(exp_text), "%.6g", json_number_value(e));
			exp = exp_text;
		}
	}
	respondents = field_int(&f, "respondents", false, 0, 10000000, -1);
	if (respondents >= 0) {
		snprintf(resp_text, sizeof(resp_text), "%lld", (long long)respondents);
		resp = resp_text;
	}
	if (!fields_end(&f)) {
		json_decref(clean);
		return;
	}
	fields_release(&f);
	if (!(c = api_tx_begin(r))) {
		json_decref(clean);
		return;
	}
	if (store_reach_structure(c, &r->caller, sid, region, &err) < 0 ||
	    store_ipep_quality_put(c, &a, sid, region, year, clean, exp, resp, &out, &err) < 0) {
		json_decref(clean);
		api_fail(r, c, &err);
		return;
	}
	json_decref(clean);
	if (api_tx_commit(r, c) < 0) {
		json_decref(out);
		return;
	}
	/* the year's inputs, where GET reads this version until the next one */
	snprintf(loc, sizeof(loc), "/v1/structures/%lld/ipep/quality/%d", (long long)sid, year);
	http_set_header(r, "Location", loc);
	http_respond_json(r, 201, out);
}

void api_ipep_quality_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *out;
	char region[4];
	int64_t sid;
	int year;

	if (!api_path_id(r, "id", &sid) || !path_year(r, &year) || !(c = api_db(r)))
		return;
	if (store_reach_structure(c, &r->caller, sid, region, &err) < 0 ||
	    store_ipep_quality_get(c, sid, year, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, out);
}

/* The parameter set of the year reads and its risk model exists. */
static int check_inputs(struct db_conn *c, int year, int64_t pset_id, struct a51_error *err)
{
	struct ipep_params kp;
	json_t *pset = NULL;
	int64_t model;
	int rc = pset_id ? store_param_set_get(c, pset_id, &pset, err) : store_param_set_latest(c, "IPEP", year, &pset, err);

	if (rc == A51_ENOTFOUND)
		return pset_id ? a51_error_set(err, A51_EINVAL, "parameter_set_id", "no parameter set %lld", (long long)pset_id)
			       : a51_error_set(err, A51_EINVAL, "year", "no IPEP parameter set for %d", year);
	if (rc < 0)
		return rc;
	if (strcmp(json_string_value(json_object_get(pset, "experiment")), "IPEP") != 0)
		rc = a51_error_set(err, A51_EINVAL, "parameter_set_id", "parameter set %lld is not an IPEP one",
				   (long long)pset_id);
	else if ((rc = params_read_ipep(json_object_get(pset, "body"), &kp, err)) == 0)
		rc = store_rm_latest(c, "gains.risk_model", kp.risk_model, &model, err);
	json_decref(pset);
	return rc;
}

/* POST /v1/structures/{id}/ipep/runs {year, what_if?, phase?, parameter_set_id?}. */
void api_ipep_run_create(struct http_request *r)
{
	static const char *const known[] = { "year", "what_if", "phase", "parameter_set_id", NULL };
	struct a51_error err = { 0 };
	struct fields f;
	struct db_conn *c;
	struct job_new jn = { .kind = "ipep.run" };
	json_t *params;
	const char *phase;
	char region[4], from[11], to[11];
	int64_t sid, pset;
	int year;
	bool what_if;

	if (!api_path_id(r, "id", &sid) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	year = (int)field_int(&f, "year", true, 2018, 2100, 0);
	what_if = field_bool(&f, "what_if", false);
	phase = field_enum(&f, "phase", false, phases);
	pset = field_int(&f, "parameter_set_id", false, 1, INT64_MAX, 0);
	if (!what_if && (phase || pset))
		field_error(&f, "what_if", "another phase or parameter set makes a what-if: set what_if");
	if (!what_if && r->caller.kind == CALLER_STRUCTURE)
		field_error(&f, "what_if", "official runs are the payer's: a groupement runs what-ifs (what_if: true)");
	if (!fields_end(&f))
		return;
	params = json_pack("{s:I,s:i,s:b}", "structure_id", (json_int_t)sid, "year", year, "what_if", what_if);
	if (phase)
		json_object_set_new(params, "phase", json_string(phase));
	if (pset)
		json_object_set_new(params, "parameter_set_id", json_integer((json_int_t)pset));
	fields_release(&f);
	if (!(c = api_tx_begin(r))) {
		json_decref(params);
		return;
	}
	date_format(date_from_ymd(year, 1, 1), from);
	date_format(date_from_ymd(year, 12, 31), to);
	if (store_reach_structure(c, &r->caller, sid, region, &err) < 0 || check_inputs(c, year, pset, &err) < 0) {
		json_decref(params);
		api_fail(r, c, &err);
		return;
	}
	if (!what_if) {
		/* enrolled in one phase over the year, with claims over N-1 and N */
		json_t *enrol = NULL;
		char first[11], last[11];
		int rc = store_enrolment_over(c, sid, "IPEP", from, to, &enrol, &err);
		if (rc == 0)
			rc = ipep_phase_check(enrol, sid, from, to, &err);
		if (rc == 0)
			rc = store_claim_span(c, sid, first, last, &err);
		if (rc == 0)
			rc = ipep_data_check(sid, year, first, last, &err);
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

/* POST /v1/ipep/runs {year, region?}: every enrolled groupement. */
void api_ipep_batch_create(struct http_request *r)
{
	static const char *const known[] = { "year", "region", NULL };
	struct a51_error err = { 0 };
	struct fields f;
	struct db_conn *c;
	struct job_new jn = { .kind = "ipep.batch" };
	json_t *params;
	const char *region;
	int year;

	if (!fields_begin(&f, r))
		return;
	fields_only(&f, known);
	year = (int)field_int(&f, "year", true, 2018, 2100, 0);
	region = field_text(&f, "region", false, 2);
	if (r->caller.kind == CALLER_ARS) {
		if (region && strcmp(region, r->caller.region) != 0)
			field_error(&f, "region", "an ARS runs its own region");
		region = r->caller.region;
	}
	if (!fields_end(&f))
		return;
	params = json_pack("{s:i}", "year", year);
	if (region)
		json_object_set_new(params, "region", json_string(region));
	fields_release(&f);
	if (!(c = api_tx_begin(r))) {
		json_decref(params);
		return;
	}
	if (json_object_get(params, "region")) {
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

void api_ipep_runs_list(struct http_request *r)
{
	static const char *const query[] = { "limit", "structure_id", "year", "phase", "what_if", "batch_id", "current",
					     NULL };
	static const char *const bools[] = { "true", "false", NULL };
	struct a51_error err = { 0 };
	struct ipep_run_filter pf = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *items;
	const char *cur;

	query_begin(&q, r);
	pf.structure_id = query_int(&q, "structure_id", 1, INT64_MAX, 0);
	pf.year = (int)query_int(&q, "year", 2018, 2100, 0);
	pf.phase = query_enum(&q, "phase", phases);
	pf.what_if = query_enum(&q, "what_if", bools);
	pf.batch_id = query_int(&q, "batch_id", 1, INT64_MAX, 0);
	cur = query_enum(&q, "current", bools);
	pf.current_only = cur && strcmp(cur, "true") == 0;
	pf.limit = (int)query_int(&q, "limit", 1, 500, 50);
	pf.before_id = query_int(&q, "cursor", 1, INT64_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (store_ipep_runs_list(c, &r->caller, &pf, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, api_page(items, pf.limit, api_base_url(r, query)));
}

void api_ipep_run_get(struct http_request *r)
{
	static const char *const links[] = { "lines_url", "/v1/ipep/runs/", "/lines", NULL };

	api_respond_by_id(r, store_ipep_run_get, links);
}

/* Per patient: its covariates, observed and expected spending of both years,
 * exposures, and the patient's share of the total. JSON pages, or all as one
 * CSV file. */
void api_ipep_run_lines(struct http_request *r)
{
	static const char *const cols[] = { "patient_id", "age_sex", "ald_groups", "c2s", "ame", "expected_prev",
					    "expected", "observed_prev", "observed", "exposure_prev", "exposure",
					    "amount_cents" };
	static const struct api_lines_kind ipep = { "ipep", store_ipep_run_get, store_ipep_lines, cols,
						    A51_ARRAY_LEN(cols) };

	api_run_lines(r, &ipep);
}

static int ipep_batch(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err)
{
	return store_batch_get(c, caller, EXP_IPEP, id, out, err);
}

void api_ipep_batch_get(struct http_request *r)
{
	static const char *const links[] = { "runs_url", "/v1/ipep/runs?batch_id=", "", NULL };

	api_respond_by_id(r, ipep_batch, links);
}
