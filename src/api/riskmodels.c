/* Risk models: fitting one (a job), reading them, and scoring patients with
 * them, each expected cost with its contributions by term. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/money.h"
#include "a51/riskmodel.h"
#include "a51/util.h"
#include "a51/banned.h"

#define MAX_SYNC_SCORES 1000

/* A stored model made ready to predict. */
struct model {
	json_t *json;
	struct rm_def def;
	struct rm_design d;
	double coef[RM_MAX_COLUMNS], smearing, share[20];
};

static int model_load(struct db_conn *c, int64_t id, struct model *m, struct a51_error *err)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = store_rm_get(c, id, &m->json, err)) < 0)
		return rc;
	if ((rc = rm_model_load(m->json, &m->def, &m->d, m->coef, &m->smearing, m->share, err)) < 0) {
		json_decref(m->json);
		m->json = NULL;
	}
	return rc;
}

static const char *const term_groups[] = { "ald_diabetes", "ald_cardio", "ald_cancer", "ald_psych",
					   "ald_neuro",    "ald_resp",   "ald_other" };

static json_t *ald_names(unsigned ald)
{
	json_t *a = json_array();

	for (int g = 0; g < RM_ALD_GROUPS; g++)
		if (ald & (1u << g))
			json_array_append_new(a, json_string(term_groups[g]));
	return a;
}

/* The expected annual cost of a patient and its parts by term, in whole
 * cents that add up to it (largest remainders). */
static json_t *score_json(const struct model *m, const struct rm_patient *pt, const int64_t *stored_cents)
{
	double x[RM_MAX_COLUMNS], parts[RM_MAX_COLUMNS], expected;
	size_t cols[RM_MAX_COLUMNS], n;
	int64_t cents[RM_MAX_COLUMNS], total;
	json_t *contrib = json_array(), *out;

	rm_design_row(&m->def, &m->d, pt, x);
	n = rm_explain(&m->def, &m->d, m->coef, x, m->smearing,
		       pt->cell >= 0 && pt->cell < 20 ? m->share[pt->cell] : 1.0, &expected, cols, parts);
	if (stored_cents)
		total = *stored_cents;
	else if (!money_round(expected, MONEY_HALF_UP, &total))
		total = 0;
	if (!money_allocate(parts, n, total, cents))
		n = 0;
	for (size_t k = 0; k < n; k++)
		json_array_append_new(contrib, json_pack("{s:s,s:I}", "term", m->d.names[cols[k]], "cents", (json_int_t)cents[k]));
	out = json_pack("{s:I,s:s,s:o,s:b,s:b,s:o,s:f,s:o}", "expected_annual_cents", (json_int_t)total, "age_sex",
			pt->cell >= 0 && pt->cell < 20 ? rm_cell_names[pt->cell] : "?", "ald_groups", ald_names(pt->ald),
			"c2s", pt->c2s, "ame", pt->ame, "deprivation_quintile",
			pt->depriv ? json_integer(pt->depriv) : json_null(), "exposure", pt->exposure, "contributions",
			contrib);
	return out;
}

static json_t *model_ref(const struct model *m)
{
	return json_pack("{s:O,s:O,s:O,s:O,s:o}", "id", json_object_get(m->json, "id"), "name",
			 json_object_get(m->json, "name"), "version", json_object_get(m->json, "version"), "method",
			 json_object_get(m->json, "method"), "contributions",
			 json_string(m->def.method == RM_OLS || m->def.method == RM_WLS
					     ? "additive: coefficient x value, in cents"
					     : "multiplicative: the intercept's base cost, then the rest shared by the terms in "
					       "proportion to their part of the linear predictor"));
}

/* ---- fitting ---- */

void api_risk_models_create(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct rm_def def;
	struct job_new jn = { .kind = "risk_model.fit" };
	struct db_conn *c;
	json_t *body, *errors, *params;

	if (http_body_json(r, &body) < 0)
		return;
	errors = json_array();
	rm_def_parse(body, &def, errors);
	json_decref(body);
	if (r->caller.kind == CALLER_ARS && !json_array_size(errors) && strcmp(def.region, r->caller.region) != 0)
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "region", "reason",
							 "an ARS fits regional variants: region must be its own region"));
	if (!json_array_size(errors)) {
		struct rm_design d;
		if (rm_design_init(&def, &d, &err) < 0)
			json_array_append_new(errors, json_pack("{s:s,s:s}", "field", err.field, "reason", err.message));
	}
	if (json_array_size(errors)) {
		http_problem_ex(r, 422, "validation", errors, NULL, "the model definition is invalid: %zu fault(s)",
				json_array_size(errors));
		return;
	}
	json_decref(errors);
	params = json_pack("{s:o}", "definition", rm_def_json(&def));
	jn.params = params;
	jn.region = def.region[0] ? def.region : NULL;
	if (!(c = api_tx_begin(r))) {
		json_decref(params);
		return;
	}
	if (def.region[0]) {
		struct region reg;
		if (store_region_get(c, def.region, &reg, &err) < 0) {
			json_decref(params);
			if (err.code == A51_ENOTFOUND)
				a51_error_set(&err, A51_EINVAL, "region", "no region %s", def.region);
			api_fail(r, c, &err);
			return;
		}
	}
	api_job_submit(r, c, &jn);
	json_decref(params);
}

void api_risk_models_list(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	const char *name = http_query(r, "name");
	json_t *items;

	if (name && (!*name || strlen(name) > 63)) {
		http_problem_ex(r, 422, "validation",
				json_pack("[{s:s,s:s}]", "field", "name", "reason", "a model name of 1 to 63 characters"), NULL,
				"invalid query parameter");
		return;
	}
	if (!(c = api_db(r)))
		return;
	if (store_rm_list(c, name, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_risk_models_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *out;
	int64_t id;

	if (!api_path_id(r, "id", &id) || !(c = api_db(r)))
		return;
	if (store_rm_get(c, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, out);
}

/* ---- scoring now: profiles and known patients ---- */

/* A profile: sex, age, ALD groups (names) or ALD codes, C2S, AME, exposure. */
static void profile_parse(const struct rm_def *def, json_t *p, size_t i, struct rm_patient *pt, json_t *errors)
{
	char field[64];
	json_t *v, *item;
	size_t k;
	int sex = 0, age = -1;

#define FAULT(name, reason)                                                                                      \
	do {                                                                                                     \
		snprintf(field, sizeof(field), "profiles[%zu].%s", i, name);                                       \
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "reason", reason));           \
	} while (0)
	memset(pt, 0, sizeof(*pt));
	if (!json_is_object(p)) {
		FAULT("", "a profile is an object");
		return;
	}
	{
		static const char *const known[] = { "sex", "age", "ald_groups", "ald", "c2s", "ame", "exposure", "ref",
						     "deprivation_quintile" };
		const char *key;
		json_object_foreach(p, key, v) {
			bool ok = false;
			for (k = 0; k < A51_ARRAY_LEN(known); k++)
				ok |= strcmp(key, known[k]) == 0;
			if (!ok)
				FAULT(key, "unknown field");
		}
	}
	v = json_object_get(p, "sex");
	if (json_is_integer(v) && (json_integer_value(v) == 1 || json_integer_value(v) == 2))
		sex = (int)json_integer_value(v);
	else
		FAULT("sex", "1 (male) or 2 (female) is required");
	v = json_object_get(p, "age");
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 130)
		age = (int)json_integer_value(v);
	else
		FAULT("age", "an age in years, 0 to 130, is required");
	pt->cell = sex && age >= 0 ? rm_cell(sex, age) : 0;
	if ((v = json_object_get(p, "ald_groups"))) {
		if (!json_is_array(v))
			FAULT("ald_groups", "a list of ALD group names");
		json_array_foreach(v, k, item) {
			int g = -1;
			for (int t = 0; t < RM_ALD_GROUPS; t++)
				if (json_is_string(item) && strcmp(json_string_value(item), term_groups[t]) == 0)
					g = t;
			if (g < 0)
				FAULT("ald_groups", "the groups are ald_diabetes, ald_cardio, ald_cancer, ald_psych, "
						    "ald_neuro, ald_resp, ald_other");
			else
				pt->ald |= 1u << g;
		}
	}
	if ((v = json_object_get(p, "ald"))) {
		if (!json_is_array(v))
			FAULT("ald", "a list of ALD codes, 1 to 32");
		json_array_foreach(v, k, item) {
			json_int_t code = json_integer_value(item);
			int g = RM_ALD_GROUPS - 1;
			if (!json_is_integer(item) || code < 1 || code > 32) {
				FAULT("ald", "ALD codes are 1 to 32");
				continue;
			}
			for (int t = 0; t < RM_ALD_GROUPS - 1; t++)
				for (int c = 0; c < def->nald[t]; c++)
					if (def->ald_groups[t][c] == code && g == RM_ALD_GROUPS - 1)
						g = t;
			pt->ald |= 1u << g;
		}
	}
	v = json_object_get(p, "c2s");
	if (v && !json_is_boolean(v))
		FAULT("c2s", "true or false");
	pt->c2s = json_is_true(v);
	v = json_object_get(p, "ame");
	if (v && !json_is_boolean(v))
		FAULT("ame", "true or false");
	pt->ame = json_is_true(v);
	v = json_object_get(p, "deprivation_quintile");
	if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5))
		FAULT("deprivation_quintile", "1 (least deprived) to 5, or null when unknown");
	pt->depriv = json_is_integer(v) ? (int)json_integer_value(v) : 0;
	v = json_object_get(p, "exposure");
	pt->exposure = v ? json_number_value(v) : 1.0;
	if (v && (!json_is_number(v) || pt->exposure <= 0 || pt->exposure > 1))
		FAULT("exposure", "the share of the year covered, above 0 and at most 1");
	v = json_object_get(p, "ref");
	if (v && (!json_is_string(v) || strlen(json_string_value(v)) > 64))
		FAULT("ref", "a label of at most 64 characters");
#undef FAULT
}

struct found {
	struct rm_patient *rows;
	size_t n, cap;
};

static int found_add(void *ctx, const struct rm_patient *pt, struct a51_error *err)
{
	struct found *f = ctx;

	if (f->n == f->cap)
		return a51_error_set(err, A51_EINTERNAL, NULL, "more patients than asked");
	f->rows[f->n++] = *pt;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void api_risk_scores_now(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c = NULL;
	struct model m;
	struct found f = { 0 };
	json_t *body = NULL, *errors = json_array(), *profiles, *ids, *scores = json_array(), *v;
	int64_t model_id, sid = 0, *idv = NULL;
	size_t nids = 0, nprof = 0, i;
	int year;

	memset(&m, 0, sizeof(m));
	if (!api_path_id(r, "id", &model_id) || http_body_json(r, &body) < 0)
		goto done;
	if (!json_is_object(body)) {
		http_problem(r, 422, "validation", "the body must be a JSON object");
		goto done;
	}
	{
		static const char *const known[] = { "year", "structure_id", "patient_ids", "profiles" };
		const char *key;
		json_object_foreach(body, key, v) {
			bool ok = false;
			for (i = 0; i < A51_ARRAY_LEN(known); i++)
				ok |= strcmp(key, known[i]) == 0;
			if (!ok)
				json_array_append_new(errors, json_pack("{s:s,s:s}", "field", key, "reason", "unknown field"));
		}
	}
	profiles = json_object_get(body, "profiles");
	ids = json_object_get(body, "patient_ids");
	nprof = json_array_size(profiles);
	nids = json_array_size(ids);
	if ((profiles && !json_is_array(profiles)) || (ids && !json_is_array(ids)) || nprof + nids == 0 ||
	    nprof + nids > MAX_SYNC_SCORES)
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "profiles", "reason",
							 "give 1 to 1000 profiles and/or patient_ids in all; "
							 "score a whole patientèle with POST /v1/risk-models/{id}/score-runs"));
	v = json_object_get(body, "year");
	year = v ? (int)json_integer_value(v) : 0;
	if (v && (!json_is_integer(v) || year < 2018 || year > 2100))
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "year", "reason", "a year, 2018 to 2100"));
	if (!nids && json_object_get(body, "structure_id"))
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "structure_id", "reason",
							 "structure_id says whose patient_ids these are: give patient_ids"));
	if (nids) {
		v = json_object_get(body, "structure_id");
		sid = json_is_integer(v) ? json_integer_value(v) : 0;
		if (sid <= 0)
			json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "structure_id", "reason",
								 "patient_ids are a structure's patients: structure_id is required"));
		idv = malloc(sizeof(int64_t) * nids);
		json_array_foreach(ids, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "patient_ids", "reason",
									 "patient ids are positive integers"));
				break;
			}
			if (idv)
				idv[i] = json_integer_value(v);
		}
	}
	if (!(c = api_db(r)))
		goto done;
	if (model_load(c, model_id, &m, &err) < 0 ||
	    (nids && m.def.target == RT_EPISODE &&
	     a51_error_set(&err, A51_EINVAL, "patient_ids",
			   "model %lld prices surgical episodes: score profiles at admission, or run EDS (/v1/eds)",
			   (long long)model_id) < 0)) {
		api_fail(r, c, &err);
		c = NULL;
		goto done;
	}
	if (year)
		m.def.year = year;
	json_array_foreach(profiles, i, v) {
		struct rm_patient pt;
		size_t before = json_array_size(errors);
		profile_parse(&m.def, v, i, &pt, errors);
		if (json_array_size(errors) == before) {
			json_t *s = score_json(&m, &pt, NULL);
			json_t *ref = json_object_get(v, "ref");
			json_object_set_new(s, "profile", json_integer((json_int_t)i));
			if (ref)
				json_object_set(s, "ref", ref);
			json_array_append_new(scores, s);
		}
	}
	if (json_array_size(errors)) {
		api_db_release(r, c);
		c = NULL;
		http_problem_ex(r, 422, "validation", errors, NULL, "the scoring request is invalid: %zu fault(s)",
				json_array_size(errors));
		errors = NULL;
		goto done;
	}
	if (nids && idv) {
		char region[4];
		qsort(idv, nids, sizeof(*idv), by_id);
		f.rows = malloc(sizeof(*f.rows) * nids);
		f.cap = nids;
		m.def.region[0] = '\0';
		if (!f.rows || db_begin(c, &err) < 0 || store_reach_structure(c, &r->caller, sid, region, &err) < 0 ||
		    store_rm_population(c, &m.def, sid, idv, nids, false, NULL, found_add, &f, &err) < 0) {
			if (!f.rows)
				a51_error_set(&err, A51_ENOMEM, NULL, "out of memory");
			api_fail(r, c, &err);
			c = NULL;
			goto done;
		}
		db_rollback(c);
		for (i = 0; i < nids; i++) {
			size_t lo = 0, hi = f.n;
			while (lo < hi) { /* f.rows are ordered by patient id */
				size_t mid = (lo + hi) / 2;
				if (f.rows[mid].id < idv[i])
					lo = mid + 1;
				else
					hi = mid;
			}
			if (i > 0 && idv[i] == idv[i - 1])
				continue;
			if (lo < f.n && f.rows[lo].id == idv[i]) {
				json_t *s = score_json(&m, &f.rows[lo], NULL);
				json_object_set_new(s, "patient_id", json_integer((json_int_t)idv[i]));
				json_object_set_new(s, "actual_cents_in_year", json_integer((json_int_t)llround(f.rows[lo].y)));
				json_array_append_new(scores, s);
			} else {
				char why[160];
				snprintf(why, sizeof(why), "no patient %lld in structure %lld alive in %d", (long long)idv[i],
					 (long long)sid, m.def.year);
				json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "patient_ids", "reason", why));
			}
		}
		if (json_array_size(errors)) {
			api_db_release(r, c);
			c = NULL;
			http_problem_ex(r, 422, "validation", errors, NULL, "%zu patient(s) cannot be scored",
					json_array_size(errors));
			errors = NULL;
			goto done;
		}
	}
	api_db_release(r, c);
	c = NULL;
	http_respond_json(r, 200, json_pack("{s:o,s:i,s:o}", "model", model_ref(&m), "year", m.def.year, "scores", scores));
	scores = NULL;
done:
	if (c)
		api_db_release(r, c);
	json_decref(m.json);
	json_decref(body);
	json_decref(errors);
	json_decref(scores);
	free(idv);
	free(f.rows);
}

/* ---- scoring a population as a job, and reading its scores ---- */

/* ?structure_id=N or ?reference=true, and ?year (the model's by default). */
static bool population_params(struct http_request *r, struct fields *q, int64_t *dataset, int *year)
{
	static const char *const yes[] = { "true", NULL };

	*dataset = query_int(q, "structure_id", 1, INT64_MAX, 0);
	if (query_enum(q, "reference", yes)) {
		if (*dataset)
			field_error(q, "reference", "give structure_id or reference=true, not both");
	} else if (!*dataset && !http_query(r, "structure_id")) {
		field_error(q, "structure_id", "the population: structure_id, or reference=true");
	}
	*year = (int)query_int(q, "year", 2018, 2100, 0);
	return true;
}

void api_risk_score_runs(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct fields f;
	struct db_conn *c;
	struct job_new jn = { .kind = "risk_model.score" };
	json_t *model = NULL, *params;
	int64_t model_id, sid;
	int year;
	bool reference;
	char region[4] = "";

	if (!api_path_id(r, "id", &model_id) || !fields_begin(&f, r))
		return;
	{
		static const char *const known[] = { "structure_id", "reference", "year", NULL };
		fields_only(&f, known);
	}
	sid = field_int(&f, "structure_id", false, 1, INT64_MAX, 0);
	reference = field_bool(&f, "reference", false);
	year = (int)field_int(&f, "year", false, 2018, 2100, 0);
	if (!sid == !reference)
		field_error(&f, "structure_id", "the population to score: structure_id, or reference: true");
	if (reference && r->caller.kind != CALLER_NATIONAL)
		field_error(&f, "reference", "only national callers score the reference population");
	if (!fields_end(&f))
		return;
	fields_release(&f);
	if (!(c = api_tx_begin(r)))
		return;
	if (store_rm_get(c, model_id, &model, &err) < 0 ||
	    (sid && store_reach_structure(c, &r->caller, sid, region, &err) < 0)) {
		json_decref(model);
		api_fail(r, c, &err);
		return;
	}
	if (!year)
		year = (int)json_integer_value(json_object_get(json_object_get(model, "definition"), "year"));
	if (json_is_string(json_object_get(json_object_get(model, "definition"), "target")) &&
	    strcmp(json_string_value(json_object_get(json_object_get(model, "definition"), "target")), "episode") == 0) {
		a51_error_set(&err, A51_EINVAL, "id", "model %lld prices surgical episodes, not patient-years: run EDS (/v1/eds)",
			      (long long)model_id);
		json_decref(model);
		api_fail(r, c, &err);
		return;
	}
	json_decref(model);
	params = json_pack("{s:I,s:I,s:i}", "model_id", (json_int_t)model_id, "structure_id", (json_int_t)sid, "year", year);
	jn.params = params;
	jn.region = region[0] ? region : NULL;
	jn.structure_id = sid;
	api_job_submit(r, c, &jn);
	json_decref(params);
}

static void scores_read(struct http_request *r, bool one)
{
	static const char *const query[] = { "structure_id", "reference", "year", "limit", "explain", NULL };
	static const char *const yes[] = { "true", "false", NULL };
	struct a51_error err = { 0 };
	struct scores_query sq = { 0 };
	struct fields q;
	struct db_conn *c;
	struct model m;
	json_t *summary = NULL, *items = NULL, *it;
	const char *explain;
	size_t i;

	if (!api_path_id(r, "id", &sq.model_id) || (one && !api_path_id(r, "patient_id", &sq.patient_id)))
		return;
	query_begin(&q, r);
	population_params(r, &q, &sq.dataset, &sq.year);
	sq.limit = one ? 1 : (int)query_int(&q, "limit", 1, 1000, 100);
	sq.after = one ? 0 : query_int(&q, "cursor", 0, INT64_MAX, 0);
	explain = query_enum(&q, "explain", yes);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (model_load(c, sq.model_id, &m, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	if (!sq.year)
		sq.year = m.def.year;
	if (store_scores_list(c, &r->caller, &sq, &summary, &items, &err) < 0) {
		json_decref(m.json);
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_array_foreach(items, i, it) {
		struct rm_patient pt = { 0 };
		int flags = (int)json_integer_value(json_object_get(it, "flags"));
		int64_t cents = json_integer_value(json_object_get(it, "expected_cents"));
		json_t *s;
		pt.id = json_integer_value(json_object_get(it, "id"));
		pt.cell = (int)json_integer_value(json_object_get(it, "cell"));
		pt.ald = (unsigned)json_integer_value(json_object_get(it, "ald_groups"));
		pt.c2s = flags & 1;
		pt.ame = (flags >> 1) & 1;
		pt.depriv = (int)json_integer_value(json_object_get(it, "deprivation"));
		pt.exposure = json_number_value(json_object_get(it, "exposure"));
		s = score_json(&m, &pt, &cents);
		json_object_set_new(s, "id", json_integer((json_int_t)pt.id));
		json_object_set_new(s, "patient_id", json_integer((json_int_t)pt.id));
		if (!one && !(explain && strcmp(explain, "true") == 0))
			json_object_del(s, "contributions");
		json_array_set_new(items, i, s);
	}
	if (one) {
		if (!json_array_size(items)) {
			a51_error_set(&err, A51_ENOTFOUND, "patient_id", "no score of patient %lld under this model",
				      (long long)sq.patient_id);
			http_problem_from_error(r, &err);
		} else {
			json_t *s = json_incref(json_array_get(items, 0));
			json_object_del(s, "id");
			json_object_set_new(s, "model", model_ref(&m));
			json_object_set_new(s, "year", json_integer(sq.year));
			http_respond_json(r, 200, s);
		}
		json_decref(items);
	} else {
		json_t *page = api_page(items, sq.limit, api_base_url(r, query));
		json_object_set_new(page, "model", model_ref(&m));
		json_object_set_new(page, "year", json_integer(sq.year));
		json_object_set(page, "summary", summary);
		json_array_foreach(json_object_get(page, "items"), i, it)
			json_object_del(it, "id");
		http_respond_json(r, 200, page);
	}
	json_decref(summary);
	json_decref(m.json);
}

void api_risk_scores_list(struct http_request *r)
{
	scores_read(r, false);
}

void api_risk_scores_get(struct http_request *r)
{
	scores_read(r, true);
}
