/* EDS: asking for an establishment's run of a year and option, or a batch
 * (jobs); reading runs, their episodes (JSON pages or CSV) and each
 * episode's stays and claims by segment; batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/api.h"
#include "a51/buf.h"
#include "a51/dates.h"
#include "a51/eds.h"
#include "a51/riskmodel.h"
#include "a51/util.h"
#include "a51/banned.h"

static const char *const options[] = { "PTH", "PTG", "COLECTOMY", NULL };
static const char *const phases[] = { "no_financial_impact", "retrospective", "two_sided", NULL };
static const char *const bools[] = { "true", "false", NULL };

/* The parameter set reads and the option's risk model exists. */
static int check_inputs(struct db_conn *c, int year, int64_t pset_id, const char *option, struct a51_error *err)
{
	struct eds_params p;
	json_t *pset = NULL;
	int64_t model;
	int rc = pset_id ? store_param_set_get(c, pset_id, &pset, err) : store_param_set_latest(c, "EDS", year, &pset, err);

	if (rc == A51_ENOTFOUND)
		return pset_id ? a51_error_set(err, A51_EINVAL, "parameter_set_id", "no parameter set %lld", (long long)pset_id)
			       : a51_error_set(err, A51_EINVAL, "year", "no EDS parameter set for %d", year);
	if (rc < 0)
		return rc;
	if (strcmp(json_string_value(json_object_get(pset, "experiment")), "EDS") != 0)
		rc = a51_error_set(err, A51_EINVAL, "parameter_set_id", "parameter set %lld is not an EDS one",
				   (long long)pset_id);
	else if ((rc = params_read_eds(json_object_get(pset, "body"), &p, err)) == 0 && option) {
		const char *name = strcmp(option, "PTH") == 0 ? p.model_pth : strcmp(option, "PTG") == 0 ? p.model_ptg
													   : p.model_colectomy;
		rc = store_rm_latest(c, "option", name, &model, err); /* the request's field that chose the model */
	}
	json_decref(pset);
	return rc;
}

/* POST /v1/structures/{id}/eds/runs {year, option, what_if?, phase?, parameter_set_id?}. */
void api_eds_run_create(struct http_request *r)
{
	static const char *const known[] = { "year", "option", "what_if", "phase", "parameter_set_id", NULL };
	struct a51_error err = { 0 };
	struct fields f;
	struct db_conn *c;
	struct job_new jn = { .kind = "eds.run" };
	json_t *params;
	const char *phase, *option;
	char region[4], from[11], to[11];
	int64_t sid, pset;
	int year;
	bool what_if;

	if (!api_path_id(r, "id", &sid) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	year = (int)field_int(&f, "year", true, 2018, 2100, 0);
	option = field_enum(&f, "option", true, options);
	what_if = field_bool(&f, "what_if", false);
	phase = field_enum(&f, "phase", false, phases);
	pset = field_int(&f, "parameter_set_id", false, 1, INT64_MAX, 0);
	if (!what_if && (phase || pset))
		field_error(&f, "what_if", "another phase or parameter set makes a what-if: set what_if");
	if (!what_if && r->caller.kind == CALLER_STRUCTURE)
		field_error(&f, "what_if", "official runs are the payer's: an establishment runs what-ifs (what_if: true)");
	if (!fields_end(&f))
		return;
	params = json_pack("{s:I,s:i,s:s,s:b}", "structure_id", (json_int_t)sid, "year", year, "option", option,
			   "what_if", what_if);
	if (phase)
		json_object_set_new(params, "phase", json_string(phase));
	if (pset)
		json_object_set_new(params, "parameter_set_id", json_integer((json_int_t)pset));
	fields_release(&f);
	option = json_string_value(json_object_get(params, "option"));
	if (!(c = api_tx_begin(r))) {
		json_decref(params);
		return;
	}
	date_format(date_from_ymd(year, 1, 1), from);
	date_format(date_from_ymd(year, 12, 31), to);
	if (store_reach_structure(c, &r->caller, sid, region, &err) < 0 || check_inputs(c, year, pset, option, &err) < 0) {
		json_decref(params);
		api_fail(r, c, &err);
		return;
	}
	if (!what_if) {
		json_t *enrol = NULL;
		int rc = store_enrolment_option_over(c, sid, "EDS", option, from, to, &enrol, &err);
		if (rc == 0) {
			const char *a = json_string_value(json_object_get(enrol, "phase_from"));
			const char *b = json_string_value(json_object_get(enrol, "phase"));
			if (!a || !b || strcmp(a, b) != 0)
				rc = a51_error_set(&err, A51_EINVAL, "phase",
						   "establishment %lld is in phase %s on %s and %s on %s: an official EDS run "
						   "needs one phase over the whole year",
						   (long long)sid, a ? a : "(none)", from, b ? b : "(none)", to);
		}
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

/* POST /v1/eds/runs {year, region?, option?}: every enrolled establishment. */
void api_eds_batch_create(struct http_request *r)
{
	static const char *const known[] = { "year", "region", "option", NULL };
	struct a51_error err = { 0 };
	struct fields f;
	struct db_conn *c;
	struct job_new jn = { .kind = "eds.batch" };
	json_t *params;
	const char *region, *option;
	int year;

	if (!fields_begin(&f, r))
		return;
	fields_only(&f, known);
	year = (int)field_int(&f, "year", true, 2018, 2100, 0);
	region = field_text(&f, "region", false, 2);
	option = field_enum(&f, "option", false, options);
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
	if (option)
		json_object_set_new(params, "option", json_string(option));
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
	if (check_inputs(c, year, 0, NULL, &err) < 0) {
		json_decref(params);
		api_fail(r, c, &err);
		return;
	}
	jn.params = params;
	jn.region = json_string_value(json_object_get(params, "region"));
	api_job_submit(r, c, &jn);
	json_decref(params);
}

void api_eds_runs_list(struct http_request *r)
{
	static const char *const query[] = { "limit", "structure_id", "year", "option", "phase", "what_if", "batch_id",
					     "current", NULL };
	struct a51_error err = { 0 };
	struct eds_run_filter ef = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *items;
	const char *cur;

	query_begin(&q, r);
	ef.structure_id = query_int(&q, "structure_id", 1, INT64_MAX, 0);
	ef.year = (int)query_int(&q, "year", 2018, 2100, 0);
	ef.option = query_enum(&q, "option", options);
	ef.phase = query_enum(&q, "phase", phases);
	ef.what_if = query_enum(&q, "what_if", bools);
	ef.batch_id = query_int(&q, "batch_id", 1, INT64_MAX, 0);
	cur = query_enum(&q, "current", bools);
	ef.current_only = cur && strcmp(cur, "true") == 0;
	if (cur && !ef.current_only)
		field_error(&q, "current", "current=true lists the runs in force; leave it out for every run");
	ef.limit = (int)query_int(&q, "limit", 1, 500, 50);
	ef.before_id = query_int(&q, "cursor", 1, INT64_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (store_eds_runs_list(c, &r->caller, &ef, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, api_page(items, ef.limit, api_base_url(r, query)));
}

void api_eds_run_get(struct http_request *r)
{
	static const char *const links[] = { "episodes_url", "/v1/eds/runs/", "/episodes", NULL };

	api_respond_by_id(r, store_eds_run_get, links);
}

/* An episode as stored, made readable: age-sex cell and ALD groups by name,
 * flags as booleans, exclusions as a list. */
static void episode_view(json_t *e)
{
	int cell = (int)json_integer_value(json_object_get(e, "cell"));
	unsigned ald = (unsigned)json_integer_value(json_object_get(e, "ald_groups"));
	int flags = (int)json_integer_value(json_object_get(e, "flags"));
	const char *ex = json_string_value(json_object_get(e, "exclusions"));
	json_t *groups = json_array(), *reasons = json_array();

	for (int g = 0; g < RM_ALD_GROUPS; g++)
		if (ald & (1u << g))
			json_array_append_new(groups, json_string(rm_ald_group_names[g]));
	while (ex && *ex) {
		const char *end = strchr(ex, ',');
		size_t len = end ? (size_t)(end - ex) : strlen(ex);
		json_array_append_new(reasons, json_stringn(ex, len));
		ex += len + (end ? 1 : 0);
	}
	json_object_set_new(e, "age_sex", json_string(cell >= 0 && cell < 20 ? rm_cell_names[cell] : "?"));
	json_object_set_new(e, "ald_groups", groups);
	json_object_set_new(e, "exclusions", reasons);
	json_object_set_new(e, "c2s", json_boolean(flags & 1));
	json_object_set_new(e, "ame", json_boolean(flags & 2));
	json_object_set_new(e, "died_in_window", json_boolean(flags & 4));
	json_object_set_new(e, "preop_screening", json_boolean(flags & 8));
	json_object_del(e, "cell");
	json_object_del(e, "flags");
}

static const char *const csv_cols[] = { "no", "patient_id", "trigger_stay_id", "admission", "discharge",
					"window_from", "window_to", "included", "exclusions", "age_sex",
					"pre_cents", "index_cents", "post_cents", "complication_cents", "complications",
					"mco_days", "chemo_delay", "expected_cents", "target_cents", "actual_cents",
					"gap_cents" };

/* GET /v1/eds/runs/{id}/episodes: filters included, reason, complications;
 * JSON pages, or all as one CSV file. */
void api_eds_run_episodes(struct http_request *r)
{
	static const char *const query[] = { "limit", "format", "included", "reason", "complications", NULL };
	static const char *const formats[] = { "json", "csv", NULL };
	static const char *const reasons[] = { "not_from_home", "emergency",	   "death",
					       "palliative",    "prior_intervention", "total_colectomy", NULL };
	struct a51_error err = { 0 };
	struct eds_episode_filter ef = { 0 };
	struct fields q;
	struct db_conn *c;
	json_t *run = NULL, *items, *it;
	const char *fmt, *compl;
	size_t i;
	bool csv;

	if (!api_path_id(r, "id", &ef.run_id))
		return;
	query_begin(&q, r);
	fmt = query_enum(&q, "format", formats);
	csv = fmt && strcmp(fmt, "csv") == 0;
	ef.included = query_enum(&q, "included", bools);
	ef.reason = query_enum(&q, "reason", reasons);
	compl = query_enum(&q, "complications", bools);
	ef.complications_only = compl && strcmp(compl, "true") == 0;
	if (compl && !ef.complications_only)
		field_error(&q, "complications", "complications=true keeps the episodes with a re-admission");
	if (ef.reason && ef.included && strcmp(ef.included, "true") == 0)
		field_error(&q, "reason", "an included episode has no exclusion reason");
	ef.limit = (int)query_int(&q, "limit", 1, csv ? 1000000 : 500, csv ? 1000000 : 100);
	ef.after = (int)query_int(&q, "cursor", 0, INT32_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (store_eds_run_get(c, &r->caller, ef.run_id, &run, &err) < 0 ||
	    store_eds_episodes(c, &r->caller, &ef, &items, &err) < 0) {
		json_decref(run);
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_decref(run);
	json_array_foreach(items, i, it) {
		episode_view(it);
		json_object_set_new(it, "url", json_sprintf("/v1/eds/runs/%lld/episodes/%lld", (long long)ef.run_id,
							   (long long)json_integer_value(json_object_get(it, "no"))));
	}
	if (!csv) {
		json_t *page = api_page(items, ef.limit, api_base_url(r, query));
		json_array_foreach(json_object_get(page, "items"), i, it)
			json_object_del(it, "id");
		http_respond_json(r, 200, page);
		return;
	}
	{
		char name[64];
		snprintf(name, sizeof(name), "eds-run-%lld-episodes.csv", (long long)ef.run_id);
		api_respond_csv(r, csv_cols, A51_ARRAY_LEN(csv_cols), items, name);
		json_decref(items);
	}
}

/* GET /v1/eds/runs/{id}/episodes/{no}: the episode, its stays and claims by
 * segment with their sums, and how it reconciles. */
void api_eds_episode_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct eds_episode_filter ef = { .limit = 1 };
	struct db_conn *c;
	json_t *items = NULL, *stays = NULL, *e, *segments, *it;
	const char *s = http_param(r, "no");
	int64_t no;
	size_t i;

	if (!api_path_id(r, "id", &ef.run_id))
		return;
	if (!s || util_parse_i64(s, 1, INT32_MAX, &no) < 0) {
		http_problem(r, 404, "not-found", "no episode %s", s ? s : "");
		return;
	}
	ef.no = (int)no;
	if (!(c = api_db(r)))
		return;
	if (store_eds_episodes(c, &r->caller, &ef, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	if (json_array_size(items) == 0) {
		json_decref(items);
		/* the run itself out of reach, or no such run, reads as not found either way */
		if (store_eds_run_get(c, &r->caller, ef.run_id, &e, &err) == 0) {
			json_decref(e);
			a51_error_set(&err, A51_ENOTFOUND, "no", "run %lld has no episode %lld", (long long)ef.run_id,
				      (long long)no);
		}
		api_fail(r, c, &err);
		return;
	}
	if (store_eds_items(c, ef.run_id, ef.no, &stays, &err) < 0) {
		json_decref(items);
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	e = json_incref(json_array_get(items, 0));
	json_decref(items);
	episode_view(e);
	json_object_del(e, "id");
	segments = json_object();
	for (int k = 0; k < EDS__SEGMENTS; k++)
		json_object_set_new(segments, eds_segment_name(k), json_pack("{s:I,s:[]}", "cents", (json_int_t)0, "items"));
	json_array_foreach(stays, i, it) {
		json_t *seg = json_object_get(segments, json_string_value(json_object_get(it, "segment")));
		if (!seg)
			continue;
		json_object_set_new(seg, "cents", json_integer(json_integer_value(json_object_get(seg, "cents")) +
							       json_integer_value(json_object_get(it, "cents"))));
		json_object_del(it, "segment");
		json_array_append(json_object_get(seg, "items"), it);
	}
	json_decref(stays);
	json_object_set_new(e, "segments", segments);
	json_object_set_new(e, "run_url", json_sprintf("/v1/eds/runs/%lld", (long long)ef.run_id));
	http_respond_json(r, 200, e);
}

static int eds_batch(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err)
{
	return store_batch_get(c, caller, EXP_EDS, id, out, err);
}

void api_eds_batch_get(struct http_request *r)
{
	static const char *const links[] = { "runs_url", "/v1/eds/runs?batch_id=", "", NULL };

	api_respond_by_id(r, eds_batch, links);
}
