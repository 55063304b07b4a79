/* IPEP: a groupement's quality inputs for a year, asking for runs (jobs),
 * reading runs and their per-patient lines (JSON pages or CSV), batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/buf.h"
#include "a51/dates.h"
#include "a51/ipep.h"
#include "a51/riskmodel.h"
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

/* PUT /v1/structures/{id}/ipep/quality/{year} {indicators, experience_points?,
 * respondents?}: the payer's measures for the year, a new version each time. */
void api_ipep_quality_put(struct http_request *r)
{
	static const char *const known[] = { "indicators", "experience_points", "respondents", NULL };
	static const char *const item_keys[] = { "code", "a_la_carte", "decreasing", "value", "previous", "deciles" };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct fields f;
	struct db_conn *c;
	json_t *list, *k, *clean, *out = NULL, *e;
	char exp_text[32], resp_text[24], region[4];
	const char *exp = NULL, *resp = NULL;
	int64_t sid, respondents;
	int year;
	size_t i;

	if (!api_path_id(r, "id", &sid) || !path_year(r, &year) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	list = json_object_get(f.obj, "indicators");
	clean = json_array();
	if (!json_is_array(list) || json_array_size(list) > 50)
		field_error(&f, "indicators", "a list of at most 50 indicator results");
	json_array_foreach(list, i, k) {
		char field[48];
		const char *code = json_string_value(json_object_get(k, "code"));
		const json_t *v = json_object_get(k, "value"), *pv = json_object_get(k, "previous"),
			     *dec = json_object_get(k, "deciles");
		const char *key;
		json_t *ignored;
		bool ok = json_is_object(k);
		snprintf(field, sizeof(field), "indicators[%zu]", i);
		json_object_foreach(ok ? k : NULL, key, ignored) {
			bool known_key = false;
			for (size_t j = 0; j < A51_ARRAY_LEN(item_keys); j++)
				known_key |= strcmp(key, item_keys[j]) == 0;
			if (!known_key) {
				field_error(&f, field, "unknown member %s", key);
				ok = false;
			}
		}
		if (!code || !*code || strlen(code) > 31) {
			field_error(&f, field, "code: 1 to 31 characters");
			ok = false;
		}
		for (size_t j = 0; ok && j < i; j++)
			if (strcmp(json_string_value(json_object_get(json_array_get(list, j), "code")), code) == 0) {
				field_error(&f, field, "code %s is given twice", code);
				ok = false;
			}
		if ((v && !json_is_null(v) && !json_is_number(v)) || (pv && !json_is_null(pv) && !json_is_number(pv))) {
			field_error(&f, field, "value and previous are numbers, or null when not measured");
			ok = false;
		}
		if (!json_is_array(dec) || json_array_size(dec) != 9) {
			field_error(&f, field, "deciles: the 9 deciles of the territories' results, from the 1st");
			ok = false;
		} else {
			for (size_t d = 0; d < 9 && ok; d++)
				if (!json_is_number(json_array_get(dec, d)) ||
				    (d && json_number_value(json_array_get(dec, d)) < json_number_value(json_array_get(dec, d - 1)))) {
					field_error(&f, field, "deciles are 9 numbers in increasing order");
					ok = false;
				}
		}
		if (ok)
			json_array_append_new(clean, json_pack("{s:s,s:b,s:b,s:O,s:O,s:O}", "code", code, "a_la_carte",
							       json_is_true(json_object_get(k, "a_la_carte")), "decreasing",
							       json_is_true(json_object_get(k, "decreasing")), "value",
							       v ? v : json_null(), "previous", pv ? pv : json_null(),
							       "deciles", dec));
	}
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
	    store_ipep_quality_put(c, &a, sid, year, clean, exp, resp, &out, &err) < 0) {
		json_decref(clean);
		api_fail(r, c, &err);
		return;
	}
	json_decref(clean);
	if (api_tx_commit(r, c) < 0) {
		json_decref(out);
		return;
	}
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
		rc = store_rm_latest(c, kp.risk_model, &model, err);
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
		json_t *enrol = NULL;
		int rc = store_enrolment_over(c, sid, "IPEP", from, to, &enrol, &err);
		if (rc == 0)
			rc = ipep_phase_check(enrol, sid, from, to, &err);
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
	static const char *const query[] = { "limit", "structure_id", "year", "what_if", "batch_id", "current", NULL };
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
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *out;
	int64_t id;

	if (!api_path_id(r, "id", &id) || !(c = api_db(r)))
		return;
	if (store_ipep_run_get(c, &r->caller, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_object_set_new(out, "lines_url", json_sprintf("/v1/ipep/runs/%lld/lines", (long long)id));
	http_respond_json(r, 200, out);
}

/* Per patient: observed and expected spending of both years, exposure, and
 * the patient's share of the total. JSON pages, or all as one CSV file. */
void api_ipep_run_lines(struct http_request *r)
{
	static const char *const query[] = { "limit", "format", NULL };
	static const char *const formats[] = { "json", "csv", NULL };
	static const char *const cols[] = { "patient_id", "age_sex", "expected_prev", "expected", "observed_prev",
					    "observed", "exposure_prev", "exposure", "amount_cents" };
	struct a51_error err = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *run = NULL, *items, *it;
	const char *fmt;
	int64_t id, after;
	int limit;
	size_t i;
	bool csv;

	if (!api_path_id(r, "id", &id))
		return;
	query_begin(&q, r);
	fmt = query_enum(&q, "format", formats);
	csv = fmt && strcmp(fmt, "csv") == 0;
	limit = (int)query_int(&q, "limit", 1, csv ? 2000000 : 1000, csv ? 2000000 : 100);
	after = query_int(&q, "cursor", 0, INT64_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (store_ipep_run_get(c, &r->caller, id, &run, &err) < 0 ||
	    store_ipep_lines(c, &r->caller, id, after, limit, &items, &err) < 0) {
		json_decref(run);
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_decref(run);
	json_array_foreach(items, i, it) {
		int cell = (int)json_integer_value(json_object_get(it, "cell"));
		json_object_set(it, "patient_id", json_object_get(it, "id"));
		json_object_set_new(it, "age_sex", json_string(cell >= 0 && cell < 20 ? rm_cell_names[cell] : "?"));
		json_object_del(it, "cell");
	}
	if (!csv) {
		json_t *page = api_page(items, limit, api_base_url(r, query));
		json_array_foreach(json_object_get(page, "items"), i, it)
			json_object_del(it, "id");
		http_respond_json(r, 200, page);
		return;
	}
	{
		struct buf b;
		char name[64];
		buf_init(&b);
		for (size_t k = 0; k < A51_ARRAY_LEN(cols); k++)
			buf_printf(&b, "%s%s", k ? ";" : "", cols[k]);
		buf_printf(&b, "\n");
		json_array_foreach(items, i, it) {
			for (size_t k = 0; k < A51_ARRAY_LEN(cols); k++) {
				json_t *v = json_object_get(it, cols[k]);
				if (json_is_string(v))
					buf_printf(&b, "%s%s", k ? ";" : "", json_string_value(v));
				else if (json_is_real(v))
					buf_printf(&b, "%s%.6f", k ? ";" : "", json_real_value(v));
				else
					buf_printf(&b, "%s%lld", k ? ";" : "", (long long)json_integer_value(v));
			}
			buf_printf(&b, "\n");
		}
		json_decref(items);
		if (b.oom) {
			buf_release(&b);
			http_problem(r, 500, "internal", "out of memory");
			return;
		}
		snprintf(name, sizeof(name), "attachment; filename=\"ipep-run-%lld-lines.csv\"", (long long)id);
		http_set_header(r, "Content-Disposition", name);
		http_respond_owned(r, 200, "text/csv; charset=utf-8", b.data, b.len);
	}
}

void api_ipep_batch_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *out;
	int64_t id;

	if (!api_path_id(r, "id", &id) || !(c = api_db(r)))
		return;
	if (store_ipep_batch_get(c, &r->caller, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_object_set_new(out, "runs_url", json_sprintf("/v1/ipep/runs?batch_id=%lld", (long long)id));
	http_respond_json(r, 200, out);
}
