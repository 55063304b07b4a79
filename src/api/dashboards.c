/* Who the caller is; quality-indicator runs of a region (jobs) and their
 * values; the dashboards of a structure and of a region (JSON or CSV); the
 * care gaps of a structure. Dashboards read what runs stored: nothing here
 * recomputes a payment. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/indicators.h"
#include "a51/util.h"
#include "a51/banned.h"

static const char *const formats[] = { "json", "csv", NULL };

/* GET /v1/me: the token's scope, so that a client knows which pages to show. */
void api_me(struct http_request *r)
{
	static const char *const kinds[] = { "", "national", "ars", "structure" };
	const struct caller *cl = &r->caller;
	struct a51_error err = { 0 };
	json_t *out = json_pack("{s:s,s:s,s:b,s:o,s:o,s:o}", "scope", cl->scope, "kind", kinds[cl->kind], "write",
				cl->write, "region", cl->kind == CALLER_ARS ? json_string(cl->region) : json_null(),
				"structure_id",
				cl->kind == CALLER_STRUCTURE ? json_integer((json_int_t)cl->structure_id) : json_null(),
				"structure_name", json_null());

	if (cl->kind == CALLER_STRUCTURE) {
		struct db_conn *c;
		json_t *s = NULL;
		if (!(c = api_db(r))) {
			json_decref(out);
			return;
		}
		if (store_structure_get(c, cl, cl->structure_id, &s, &err) < 0) {
			json_decref(out);
			api_fail(r, c, &err);
			return;
		}
		api_db_release(r, c);
		json_object_set(out, "structure_name", json_object_get(s, "name"));
		json_object_set(out, "region", json_object_get(s, "region"));
		json_decref(s);
	}
	http_respond_json(r, 200, out);
}

/* An ARS reads and runs its own region only. */
static bool region_allowed(struct http_request *r, const char *code)
{
	if (r->caller.kind == CALLER_ARS && strcmp(r->caller.region, code) != 0) {
		struct a51_error err = { 0 };
		a51_error_set(&err, A51_EFORBIDDEN, "code", "an ARS sees its own region (%s)", r->caller.region);
		http_problem_from_error(r, &err);
		return false;
	}
	return true;
}

/* The IPEP parameter set of the year (or the one named), read for indicators:
 * the setup, allocated (free() it), or NULL with err set. */
static struct ind_setup *setup_of(struct db_conn *c, int64_t pset_id, int year, json_t **pset, struct a51_error *err)
{
	struct ind_setup *s;
	int rc = pset_id ? store_param_set_get(c, pset_id, pset, err) : store_param_set_latest(c, "IPEP", year, pset, err);

	if (rc == A51_ENOTFOUND)
		pset_id ? a51_error_set(err, A51_EINVAL, "parameter_set_id", "no parameter set %lld", (long long)pset_id)
			: a51_error_set(err, A51_EINVAL, "year",
					"no IPEP parameter set for %d: the indicator catalogue lives there", year);
	if (rc < 0)
		return NULL;
	if (strcmp(json_string_value(json_object_get(*pset, "experiment")), "IPEP") != 0) {
		a51_error_set(err, A51_EINVAL, "parameter_set_id",
			      "parameter set %lld is not an IPEP one: the indicator catalogue lives there", (long long)pset_id);
		return NULL;
	}
	if (!(s = malloc(sizeof(*s)))) {
		a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	if (ind_setup_read(json_object_get(*pset, "body"), s, err) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* POST /v1/regions/{code}/indicators/runs {year, parameter_set_id?} */
void api_indicator_runs_create(struct http_request *r)
{
	static const char *const known[] = { "year", "parameter_set_id", NULL };
	struct a51_error err = { 0 };
	struct job_new jn = { .kind = "indicators.run" };
	struct ind_setup *s = NULL;
	struct region reg;
	struct fields f;
	struct db_conn *c;
	json_t *params, *pset = NULL;
	const char *code;
	int64_t pset_id;
	int year;

	if (!api_region_param(r, &code) || !region_allowed(r, code) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	year = (int)field_int(&f, "year", true, 2018, 2100, 0);
	pset_id = field_int(&f, "parameter_set_id", false, 1, INT64_MAX, 0);
	if (!fields_end(&f))
		return;
	params = json_pack("{s:i,s:s}", "year", year, "region", code);
	if (pset_id)
		json_object_set_new(params, "parameter_set_id", json_integer((json_int_t)pset_id));
	fields_release(&f);
	if (!(c = api_tx_begin(r))) {
		json_decref(params);
		return;
	}
	if (store_region_get(c, code, &reg, &err) < 0 || !(s = setup_of(c, pset_id, year, &pset, &err))) {
		json_decref(params);
		json_decref(pset);
		free(s);
		api_fail(r, c, &err);
		return;
	}
	json_decref(pset);
	free(s);
	jn.params = params;
	jn.region = json_string_value(json_object_get(params, "region"));
	api_job_submit(r, c, &jn);
	json_decref(params);
}

/* GET /v1/regions/{code}/indicators/runs?year=&cursor=&limit= */
void api_indicator_runs_list(struct http_request *r)
{
	static const char *const query[] = { "limit", "year", NULL };
	struct a51_error err = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *items;
	const char *code;
	int64_t before;
	int year, limit;

	if (!api_region_param(r, &code) || !region_allowed(r, code))
		return;
	query_begin(&q, r);
	year = (int)query_int(&q, "year", 2018, 2100, 0);
	limit = (int)query_int(&q, "limit", 1, 500, 50);
	before = query_int(&q, "cursor", 1, INT64_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (store_ind_runs_list(c, &r->caller, code, year, before, limit, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, api_page(items, limit, api_base_url(r, query)));
}

/* GET /v1/indicators/runs/{id}: the run and its values (a structure reads its own). */
void api_indicator_run_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *run = NULL, *values = NULL, *exp = NULL;
	int64_t id, only = r->caller.kind == CALLER_STRUCTURE ? r->caller.structure_id : 0;

	if (!api_path_id(r, "id", &id) || !(c = api_db_read(r)))
		return;
	if (store_ind_run_get(c, &r->caller, id, &run, &err) < 0 || store_ind_values(c, id, only, &values, &err) < 0 ||
	    store_ind_experience_get(c, id, only, &exp, &err) < 0) {
		json_decref(run);
		json_decref(values);
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_object_set_new(run, "values", values);
	json_object_set_new(run, "experience", exp);
	http_respond_json(r, 200, run);
}

/* ---- structure dashboard ---- */

/* Which tenth of the territory the value falls in (1..10), given its deciles. */
static json_t *tenth_of(double v, const json_t *deciles)
{
	int k = 0;

	if (isnan(v) || json_array_size(deciles) != 9)
		return json_null();
	while (k < 9 && v > json_number_value(json_array_get(deciles, (size_t)k)))
		k++;
	return json_integer(k + 1);
}

static double num_or_nan(const json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The indicator part: each definition of the run with the structure's value and trend. */
static json_t *indicators_view(const json_t *run, const json_t *values, const json_t *trend)
{
	json_t *items = json_array(), *d;
	double points = 0, max = 0;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(run, "result"), "indicators"), i, d) {
		const char *code = json_string_value(json_object_get(d, "code"));
		const json_t *v = NULL, *x;
		json_t *item = json_deep_copy(d), *tr = json_array();
		size_t j;

		json_array_foreach(values, j, x)
			if (strcmp(json_string_value(json_object_get(x, "code")), code) == 0)
				v = x;
		json_array_foreach(trend, j, x)
			if (strcmp(json_string_value(json_object_get(x, "code")), code) == 0)
				json_array_append_new(tr, json_pack("{s:O,s:O}", "year", json_object_get(x, "year"), "value",
								    json_object_get(x, "value")));
		{
			static const char *const keep[] = { "numerator", "denominator", "value", "previous", "target",
							    "intermediate", "points", "how" };
			/* a structure the run did not measure has every field, null */
			for (size_t k = 0; k < A51_ARRAY_LEN(keep); k++)
				json_object_set_new(item, keep[k], v ? json_incref(json_object_get(v, keep[k])) : json_null());
		}
		if (v) {
			json_object_set_new(item, "ci", json_pack("[O,O]", json_object_get(v, "ci_low"),
								  json_object_get(v, "ci_high")));
			json_object_set_new(item, "tenth", tenth_of(num_or_nan(json_object_get(v, "value")),
								    json_object_get(d, "deciles")));
			if (json_is_number(json_object_get(v, "points")))
				points += json_number_value(json_object_get(v, "points"));
		}
		max += json_number_value(json_object_get(json_object_get(run, "result"), "points_per_indicator"));
		if (!v) {
			json_object_set_new(item, "ci", json_null());
			json_object_set_new(item, "tenth", json_null());
		}
		json_object_set_new(item, "trend", tr);
		json_array_append_new(items, item);
	}
	return json_pack("{s:O,s:O,s:O,s:o,s:f,s:f}", "run_id", json_object_get(run, "id"), "computed_at",
			 json_object_get(run, "created_at"), "parameter_set",
			 json_object_get(json_object_get(run, "result"), "parameter_set"), "items", items, "points", points,
			 "max_points", max);
}

static json_t *sum_quarters(const json_t *a)
{
	json_int_t t = 0;
	size_t i;
	const json_t *x;

	json_array_foreach(a, i, x) t += json_integer_value(x);
	return json_integer(t);
}

/* finance: the PEPS run in force (its quarters: forfait against fee-for-service),
 * IPEP, EDS by option, and spending by year (the sum of its quarters). */
static json_t *finance_view(json_t *parts)
{
	json_t *peps = json_object_get(parts, "peps"), *last = json_array_get(peps, json_array_size(peps) - 1);
	json_t *fin = json_object(), *quarters = json_array(), *years = json_array(), *x;
	const json_t *f = json_object_get(last, "forfait_by_quarter"), *g = json_object_get(last, "ffs_by_quarter");
	size_t i;

	if (last) {
		for (size_t q = 0; q < 4; q++)
			json_array_append_new(quarters, json_pack("{s:i,s:O,s:O}", "quarter", (int)q + 1, "forfait_cents",
								  json_array_get(f, q) ? json_array_get(f, q) : json_null(),
								  "ffs_cents", json_array_get(g, q) ? json_array_get(g, q) : json_null()));
		json_object_set_new(fin, "peps", json_pack("{s:O,s:o,s:o,s:o}", "runs", peps, "quarters", quarters,
							   "forfait_cents", sum_quarters(f), "ffs_cents", sum_quarters(g)));
	} else {
		json_decref(quarters);
		json_object_set_new(fin, "peps", json_null());
	}
	json_object_set(fin, "ipep", json_array_size(json_object_get(parts, "ipep")) ? json_array_get(json_object_get(parts, "ipep"), 0)
										  : json_null());
	json_object_set(fin, "eds", json_array_size(json_object_get(parts, "eds")) ? json_object_get(parts, "eds") : json_null());
	json_array_foreach(json_object_get(parts, "spending"), i, x) {
		json_int_t y = json_integer_value(json_object_get(x, "year"));
		json_int_t c = json_integer_value(json_object_get(x, "town_cents")) +
			       json_integer_value(json_object_get(x, "hospital_cents"));
		json_t *last_y = json_array_get(years, json_array_size(years) - 1);
		json_object_set_new(x, "cents", json_integer(c));
		if (last_y && json_integer_value(json_object_get(last_y, "year")) == y)
			json_object_set_new(last_y, "cents",
					    json_integer(json_integer_value(json_object_get(last_y, "cents")) + c));
		else
			json_array_append_new(years, json_pack("{s:I,s:I}", "year", y, "cents", c));
	}
	json_object_set_new(fin, "spending", years);
	json_object_set(fin, "spending_by_quarter", json_object_get(parts, "spending"));
	return fin;
}

static json_t *patientele_view(const json_t *p)
{
	static const char *const bands[][2] = { { "a0", "0-15" }, { "a16", "16-39" }, { "a40", "40-59" },
						{ "a60", "60-74" }, { "a75", "75+" } };
	json_t *out = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "patients", json_object_get(p, "patients"), "women",
				json_object_get(p, "women"), "men", json_object_get(p, "men"), "ald",
				json_object_get(p, "ald"), "c2s", json_object_get(p, "c2s"), "ame", json_object_get(p, "ame"));
	json_t *by_age = json_array();

	for (size_t i = 0; i < A51_ARRAY_LEN(bands); i++)
		json_array_append_new(by_age, json_pack("{s:s,s:O}", "band", bands[i][1], "patients",
							json_object_get(p, bands[i][0])));
	json_object_set_new(out, "by_age", by_age);
	return out;
}

static const char *const ind_csv_cols[] = { "code", "label", "theme", "direction", "a_la_carte", "numerator",
					    "denominator", "value", "ci_low", "ci_high", "previous", "target",
					    "intermediate", "points", "how", "tenth" };

/* GET /v1/structures/{id}/dashboard?year=&format= */
void api_structure_dashboard(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *structure = NULL, *run = NULL, *values = NULL, *trend = NULL, *exp = NULL, *parts = json_object(), *out;
	const char *fmt, *region;
	int64_t sid;
	int year, rc;

	if (!api_path_id(r, "id", &sid)) {
		json_decref(parts);
		return;
	}
	query_begin(&q, r);
	year = (int)query_int(&q, "year", 2018, 2100, 0);
	fmt = query_enum(&q, "format", formats);
	if (!year)
		field_error(&q, "year", "the year of the dashboard is required, e.g. year=2024");
	if (!query_end(&q) || !(c = api_db_read(r))) {
		json_decref(parts);
		return;
	}
	if ((rc = store_structure_get(c, &r->caller, sid, &structure, &err)) < 0)
		goto fail;
	region = json_string_value(json_object_get(structure, "region"));
	rc = store_ind_run_latest(c, region, year, &run, &err);
	if (rc == 0) {
		int64_t run_id = json_integer_value(json_object_get(run, "id"));
		if ((rc = store_ind_values(c, run_id, sid, &values, &err)) < 0 ||
		    (rc = store_ind_experience_get(c, run_id, sid, &exp, &err)) < 0 ||
		    (rc = store_ind_trend(c, sid, region, &trend, &err)) < 0)
			goto fail;
	} else if (rc != A51_ENOTFOUND) {
		goto fail;
	}
	/* spending as the indicator run stored it; summed live for a structure it did not measure */
	if (run) {
		json_t *sp = NULL;
		if ((rc = store_ind_spending(c, json_integer_value(json_object_get(run, "id")), sid, &sp, &err)) < 0)
			goto fail;
		if (json_array_size(sp))
			json_object_set(parts, "spending", sp);
		json_decref(sp);
	}
	if ((rc = store_dash_structure(c, sid, year, !json_object_get(parts, "spending"), parts, &err)) < 0)
		goto fail;
	api_db_release(r, c);

	out = json_pack("{s:{s:O,s:O,s:O,s:O,s:O},s:i}", "structure", "id", json_object_get(structure, "id"), "name",
			json_object_get(structure, "name"), "kind", json_object_get(structure, "kind"), "region",
			json_object_get(structure, "region"), "finess", json_object_get(structure, "finess"), "year", year);
	json_object_set_new(out, "indicators", run ? indicators_view(run, values, trend)
						  : json_pack("{s:n,s:n,s:[]}", "run_id", "computed_at", "items"));
	if (json_array_size(exp)) {
		json_t *e = json_deep_copy(json_array_get(exp, 0));
		json_object_del(e, "structure_id");
		json_object_set(e, "questionnaire",
				json_object_get(json_object_get(json_object_get(run, "result"), "experience"), "questionnaire"));
		json_object_set_new(out, "experience", e);
	} else {
		json_object_set_new(out, "experience", json_null());
	}
	json_object_set_new(out, "finance", finance_view(parts));
	json_object_set_new(out, "patientele", patientele_view(json_object_get(parts, "patientele")));
	json_object_set(out, "experiments", json_object_get(parts, "experiments"));
	json_object_set(out, "uploads", json_object_get(parts, "uploads"));
	if (fmt && strcmp(fmt, "csv") == 0) {
		json_t *items = json_object_get(json_object_get(out, "indicators"), "items"), *it;
		char name[64];
		size_t i;
		json_array_foreach(items, i, it) {
			json_object_set(it, "ci_low", json_array_get(json_object_get(it, "ci"), 0));
			json_object_set(it, "ci_high", json_array_get(json_object_get(it, "ci"), 1));
		}
		snprintf(name, sizeof(name), "structure-%lld-%d-indicators.csv", (long long)sid, year);
		api_respond_csv(r, ind_csv_cols, A51_ARRAY_LEN(ind_csv_cols), items, name);
		json_decref(out);
	} else {
		http_respond_json(r, 200, out);
	}
	json_decref(structure);
	json_decref(run);
	json_decref(values);
	json_decref(trend);
	json_decref(exp);
	json_decref(parts);
	return;
fail:
	json_decref(structure);
	json_decref(run);
	json_decref(values);
	json_decref(trend);
	json_decref(exp);
	json_decref(parts);
	api_fail(r, c, &err);
}

/* ---- region dashboard ---- */

/* GET /v1/regions/{code}/dashboard?year=&format= */
void api_region_dashboard(struct http_request *r)
{
	static const char *const fixed[] = { "id", "name", "kind", "finess", "experiments", "patients",
					     "peps_cents", "ipep_cents", "eds_cents" };
	struct a51_error err = { 0 };
	struct region reg;
	struct fields q;
	struct db_conn *c;
	json_t *items = NULL, *run = NULL, *values = NULL, *exp = NULL, *it, *defs = NULL, *out;
	const char *code, *fmt;
	size_t i;
	int year, rc;

	if (!api_region_param(r, &code) || !region_allowed(r, code))
		return;
	query_begin(&q, r);
	year = (int)query_int(&q, "year", 2018, 2100, 0);
	fmt = query_enum(&q, "format", formats);
	if (!year)
		field_error(&q, "year", "the year of the dashboard is required, e.g. year=2024");
	if (!query_end(&q) || !(c = api_db_read(r)))
		return;
	if ((rc = store_region_get(c, code, &reg, &err)) < 0 || (rc = store_dash_region(c, code, year, &items, &err)) < 0)
		goto fail;
	rc = store_ind_run_latest(c, code, year, &run, &err);
	if (rc == 0) {
		int64_t run_id = json_integer_value(json_object_get(run, "id"));
		if ((rc = store_ind_values(c, run_id, 0, &values, &err)) < 0 ||
		    (rc = store_ind_experience_get(c, run_id, 0, &exp, &err)) < 0)
			goto fail;
	} else if (rc != A51_ENOTFOUND) {
		goto fail;
	}
	api_db_release(r, c);

	/* each structure's values by code, and its experience score */
	json_array_foreach(items, i, it) {
		json_int_t sid = json_integer_value(json_object_get(it, "id"));
		json_t *ind = json_object(), *v;
		size_t j;
		json_array_foreach(values, j, v)
			if (json_integer_value(json_object_get(v, "structure_id")) == sid)
				json_object_set(ind, json_string_value(json_object_get(v, "code")), json_object_get(v, "value"));
		json_object_set_new(it, "indicators", ind);
		json_object_set_new(it, "experience", json_null());
		json_array_foreach(exp, j, v)
			if (json_integer_value(json_object_get(v, "structure_id")) == sid)
				json_object_set(it, "experience", json_object_get(v, "overall"));
		json_object_set_new(it, "payments_cents",
				    json_pack("{s:O,s:O,s:O}", "peps", json_object_get(it, "peps_cents"), "ipep",
					      json_object_get(it, "ipep_cents"), "eds", json_object_get(it, "eds_cents")));
	}
	defs = json_array();
	json_array_foreach(json_object_get(json_object_get(run, "result"), "indicators"), i, it)
		json_array_append_new(defs, json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "code", json_object_get(it, "code"),
						      "label", json_object_get(it, "label"), "theme",
						      json_object_get(it, "theme"), "direction", json_object_get(it, "direction"),
						      "n", json_object_get(it, "n"), "deciles", json_object_get(it, "deciles"),
						      "mean", json_object_get(it, "mean")));
	if (fmt && strcmp(fmt, "csv") == 0) {
		size_t nfixed = A51_ARRAY_LEN(fixed), ncols = nfixed + json_array_size(defs);
		const char **cols = calloc(ncols, sizeof(*cols));
		char name[48];
		if (!cols) {
			http_problem(r, 500, "internal", "out of memory");
		} else {
			memcpy(cols, fixed, sizeof(fixed));
			json_array_foreach(defs, i, it) cols[nfixed + i] = json_string_value(json_object_get(it, "code"));
			/* indicator values as top-level members, named by their code */
			json_array_foreach(items, i, it) {
				const char *k;
				json_t *v;
				json_object_foreach(json_object_get(it, "indicators"), k, v) json_object_set(it, k, v);
			}
			snprintf(name, sizeof(name), "region-%s-%d.csv", code, year);
			api_respond_csv(r, cols, ncols, items, name);
			free(cols);
		}
		json_decref(items);
		json_decref(defs);
	} else {
		json_int_t peps = 0, ipep = 0, eds = 0;
		json_array_foreach(items, i, it) {
			peps += json_integer_value(json_object_get(it, "peps_cents"));
			ipep += json_integer_value(json_object_get(it, "ipep_cents"));
			eds += json_integer_value(json_object_get(it, "eds_cents"));
		}
		out = json_pack("{s:{s:s,s:s},s:i,s:o,s:o,s:{s:I,s:I,s:I,s:I},s:o}", "region", "code", reg.code, "name",
				reg.name, "year", year, "structures", items, "indicators", defs, "payments_cents", "peps",
				peps, "ipep", ipep, "eds", eds, "total", peps + ipep + eds, "indicator_run",
				run ? json_pack("{s:O,s:O}", "id", json_object_get(run, "id"), "computed_at",
						json_object_get(run, "created_at"))
				    : json_null());
		http_respond_json(r, 200, out);
	}
	json_decref(run);
	json_decref(values);
	json_decref(exp);
	return;
fail:
	json_decref(items);
	json_decref(run);
	json_decref(values);
	json_decref(exp);
	api_fail(r, c, &err);
}

/* ---- care gaps ---- */

static const char *const gap_cols[] = { "indicator", "patient_id", "birth_year", "sex", "c2s", "acts", "required",
					"last_on", "missing" };

/* GET /v1/structures/{id}/care-gaps?year=&indicator=&cursor=&limit=&format=:
 * the structure's patients below the minimum of each care-gap indicator,
 * by indicator then patient; the cursor is "<indicator index>.<patient id>". */
void api_care_gaps(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct fields q;
	struct db_conn *c;
	struct ind_setup *s = NULL;
	json_t *pset = NULL, *all = json_array();
	const char *indicator, *cursor, *fmt;
	char region[4];
	int64_t sid, after = 0;
	int year, limit, from = 0, last_k = -1;
	bool csv;

	if (!api_path_id(r, "id", &sid)) {
		json_decref(all);
		return;
	}
	query_begin(&q, r);
	year = (int)query_int(&q, "year", 2018, 2100, 0);
	if (!year)
		field_error(&q, "year", "the year is required, e.g. year=2024");
	indicator = http_query(r, "indicator");
	if (indicator && (strlen(indicator) == 0 || strlen(indicator) > 23 ||
			  strspn(indicator, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") !=
				  strlen(indicator))) {
		field_error(&q, "indicator", "an indicator code is 1 to 23 letters, digits, '_', '-' or '.'");
		indicator = NULL;
	}
	fmt = query_enum(&q, "format", formats);
	csv = fmt && strcmp(fmt, "csv") == 0;
	limit = (int)query_int(&q, "limit", 1, csv ? 1000000 : 1000, csv ? 1000000 : 100);
	cursor = http_query(r, "cursor");
	if (cursor) {
		char *end;
		long k = strtol(cursor, &end, 10);
		long long p = *end == '.' ? strtoll(end + 1, &end, 10) : -1;
		if (k < 0 || k >= IND_MAX || p < 0 || *end)
			field_error(&q, "cursor", "a cursor is the next_cursor of the page before");
		from = (int)k;
		after = p;
	}
	if (!query_end(&q) || !(c = api_db_read(r))) {
		json_decref(all);
		return;
	}
	if (store_reach_structure(c, &r->caller, sid, region, &err) < 0 || !(s = setup_of(c, 0, year, &pset, &err)))
		goto fail;
	if (indicator) {
		const struct ind_def *d = ind_find(&s->cat, indicator);
		if (!d || !d->care_gap) {
			json_t *codes = json_array();
			for (int k = 0; k < s->cat.n; k++)
				if (s->cat.d[k].care_gap)
					json_array_append_new(codes, json_string(s->cat.d[k].code));
			char *list = json_dumps(codes, JSON_COMPACT);
			a51_error_set(&err, A51_EINVAL, "indicator", "%s has no care gaps in %d; those that do: %s", indicator,
				      year, list ? list : "");
			free(list);
			json_decref(codes);
			goto fail;
		}
	}
	for (int k = from; k < s->cat.n && (int)json_array_size(all) < limit; k++) {
		const struct ind_def *d = &s->cat.d[k];
		json_t *items = NULL, *it;
		char codes[IND_LIST_MAX * 17] = "";
		size_t i, off = 0;
		if (!d->care_gap || (indicator && strcmp(indicator, d->code) != 0))
			continue;
		for (int j = 0; j < d->n_codes && off < sizeof(codes); j++)
			off += (size_t)snprintf(codes + off, sizeof(codes) - off, "%s%s", j ? "/" : "", d->codes[j]);
		if (store_ind_care_gaps(c, d, region, year, s->kinds, sid, k == from ? after : 0,
					limit - (int)json_array_size(all), &items, &err) < 0)
			goto fail;
		json_array_foreach(items, i, it) {
			json_object_set_new(it, "indicator", json_string(d->code));
			json_object_set_new(it, "label", json_string(d->label));
			json_object_set_new(it, "required", json_integer(d->min));
			json_object_set_new(it, "missing",
					    json_sprintf("%d %s act%s in %d, %lld done", d->min, codes, d->min > 1 ? "s" : "",
							 year, (long long)json_integer_value(json_object_get(it, "acts"))));
			json_array_append(all, it);
			last_k = k;
		}
		json_decref(items);
	}
	api_db_release(r, c);
	if (csv) {
		char name[64];
		snprintf(name, sizeof(name), "structure-%lld-%d-care-gaps.csv", (long long)sid, year);
		api_respond_csv(r, gap_cols, A51_ARRAY_LEN(gap_cols), all, name);
		json_decref(all);
	} else {
		static const char *const query[] = { "year", "indicator", "limit", NULL };
		json_t *next = json_null(), *next_url = json_null();
		if ((int)json_array_size(all) == limit && last_k >= 0) {
			const char *base = api_base_url(r, query);
			next = json_sprintf("%d.%lld", last_k,
					    (long long)json_integer_value(json_object_get(json_array_get(all, (size_t)limit - 1),
											  "patient_id")));
			next_url = json_sprintf("%s%ccursor=%s", base, strchr(base, '?') ? '&' : '?', json_string_value(next));
		}
		/* next: the URL of the next page, as every list has; next_cursor: its cursor alone */
		http_respond_json(r, 200, json_pack("{s:o,s:o,s:o,s:o}", "items", all, "next", next_url, "next_cursor", next,
						    "parameter_set",
						    json_pack("{s:O,s:O}", "id", json_object_get(pset, "id"), "version",
							      json_object_get(pset, "version"))));
	}
	json_decref(pset);
	free(s);
	return;
fail:
	json_decref(all);
	json_decref(pset);
	free(s);
	api_fail(r, c, &err);
}
