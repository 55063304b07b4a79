#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/dates.h"
#include "a51/enrolment.h"
#include "a51/params.h"
#include "a51/banned.h"

static const char *const experiments[] = { "PEPS", "IPEP", "EDS", NULL };

static int year_of(const char *date)
{
	int32_t d;
	int y, m, dd;

	if (date_parse(date, &d) < 0)
		return 0;
	date_to_ymd(d, &y, &m, &dd);
	return y;
}

/* Measures the structure on the date and evaluates the criteria of the
 * parameter set of that year; *pset is the set used (with its body). */
static int evaluate(struct db_conn *c, int64_t sid, int experiment, int option, const char *on, const char *on_field,
		    struct elig_report *rep, json_t **pset, struct a51_error *err)
{
	struct elig_params ep;
	struct patientele_params pp = { 0 };
	struct elig_measures m;
	const json_t *body;
	int rc;

	if ((rc = store_param_set_latest(c, experiment_name(experiment), year_of(on), pset, err)) < 0)
		return rc == A51_ENOTFOUND ? a51_error_set(err, A51_EINVAL, on_field,
							   "no %s parameter set covers %d", experiment_name(experiment),
							   year_of(on))
					   : rc;
	body = json_object_get(*pset, "body");
	if (params_read_eligibility(body, &ep, err) < 0 ||
	    (experiment == EXP_PEPS && params_read_patientele(body, &pp, err) < 0))
		return a51_error_set(err, A51_EINTERNAL, err->field, "parameter set %lld is unusable: %s",
				     (long long)json_integer_value(json_object_get(*pset, "id")), err->message);
	if ((rc = store_eligibility_measure(c, sid, experiment, option, on, &ep, &pp, &m, err)) < 0)
		return rc;
	eligibility_evaluate(experiment, option, &ep, &m, rep);
	return 0;
}

static json_t *report_with_set(const struct elig_report *rep, const char *on, const json_t *pset)
{
	json_t *j = eligibility_report_json(rep);

	json_object_set_new(j, "on", json_string(on));
	json_object_set_new(j, "parameter_set",
			    json_pack("{s:O,s:O,s:O}", "id", json_object_get(pset, "id"), "year",
				      json_object_get(pset, "year"), "version", json_object_get(pset, "version")));
	return j;
}

/* Unmet criteria as problem errors: measured against required, each. */
static json_t *unmet_errors(const struct elig_report *rep)
{
	json_t *errors = json_array();

	for (int i = 0; i < rep->n; i++) {
		const struct elig_criterion *k = &rep->c[i];
		char reason[400];
		if (k->met)
			continue;
		if (k->kind == EV_TEXT)
			snprintf(reason, sizeof(reason), "%s: measured %s, required %s %s", k->label, k->measured_text,
				 k->op, k->required_text);
		else
			snprintf(reason, sizeof(reason), "%s: measured %ld, required %s %ld", k->label, k->measured,
				 k->op, k->required);
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", k->code, "reason", reason));
	}
	return errors;
}

void api_eligibility_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct elig_report rep;
	struct db_conn *c;
	struct fields q;
	const char *exp_s, *opt_s, *on;
	char today[11];
	json_t *pset = NULL;
	int64_t sid;
	int experiment, option;

	if (!api_path_id(r, "id", &sid))
		return;
	query_begin(&q, r);
	exp_s = query_enum(&q, "experiment", experiments);
	if (!exp_s && !http_query(r, "experiment"))
		field_error(&q, "experiment", "is required");
	opt_s = http_query(r, "option");
	experiment = exp_s ? experiment_parse(exp_s) : EXP_NONE;
	option = experiment ? option_parse(experiment, opt_s) : OPT_NONE;
	if (experiment && !option)
		field_error(&q, "option", "is not an option of %s", exp_s);
	on = query_date(&q, "on");
	if (!query_end(&q))
		return;
	if (!on) {
		date_format(date_today(), today);
		on = today;
	}
	if (!(c = api_db(r)))
		return;
	{
		char region[4];
		if (store_reach_structure(c, &r->caller, sid, region, &err) < 0 ||
		    evaluate(c, sid, experiment, option, on, "on", &rep, &pset, &err) < 0) {
			json_decref(pset);
			api_fail(r, c, &err);
			return;
		}
	}
	api_db_release(r, c);
	http_respond_json(r, 200, report_with_set(&rep, on, pset));
	json_decref(pset);
}

void api_enrolments_create(struct http_request *r)
{
	static const char *const known[] = { "experiment", "option", "start_on", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct elig_report rep;
	struct db_conn *c;
	struct fields f;
	const char *exp_s, *opt_s, *start_on;
	json_t *pset = NULL, *report = NULL, *out = NULL;
	int64_t sid;
	int experiment, option;
	size_t nphases;

	if (!api_path_id(r, "id", &sid) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	exp_s = field_enum(&f, "experiment", true, experiments);
	opt_s = field_text(&f, "option", false, 32);
	start_on = field_date(&f, "start_on", true);
	experiment = exp_s ? experiment_parse(exp_s) : EXP_NONE;
	option = experiment ? option_parse(experiment, opt_s) : OPT_NONE;
	if (experiment && !option)
		field_error(&f, "option", "%s is not an option of %s", opt_s ? opt_s : "(none)", exp_s);
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r)))
		goto done;
	{
		char region[4];
		if (store_reach_structure(c, &r->caller, sid, region, &err) < 0 ||
		    evaluate(c, sid, experiment, option, start_on, "start_on", &rep, &pset, &err) < 0) {
			api_fail(r, c, &err);
			goto done;
		}
	}
	report = report_with_set(&rep, start_on, pset);
	if (!rep.eligible) {
		db_rollback(c);
		api_db_release(r, c);
		http_problem_ex(r, 422, "validation", unmet_errors(&rep),
				json_pack("{s:O}", "eligibility", report),
				"the structure does not meet every criterion of %s (%s) on %s", exp_s, option_name(option),
				start_on);
		goto done;
	}
	if (store_enrolment_create(c, &a, sid, exp_s, option_name(option), start_on,
				   enrolment_phases(experiment, &nphases)[0],
				   json_integer_value(json_object_get(pset, "id")), report, &out, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	{
		char loc[96];
		snprintf(loc, sizeof(loc), "/v1/structures/%lld/enrolments/%lld", (long long)sid,
			 (long long)json_integer_value(json_object_get(out, "id")));
		http_set_header(r, "Location", loc);
	}
	api_respond_object(r, 201, out);
	out = NULL;
done:
	json_decref(out);
	json_decref(report);
	json_decref(pset);
	fields_release(&f);
}

void api_enrolments_list(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *items;
	int64_t sid;

	if (!api_path_id(r, "id", &sid) || !(c = api_db(r)))
		return;
	if (store_enrolments_list(c, &r->caller, sid, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_enrolments_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	int64_t sid, eid;
	json_t *out;

	if (!api_path_id(r, "id", &sid) || !api_path_id(r, "enrolment_id", &eid) || !(c = api_db(r)))
		return;
	if (store_enrolment_get(c, &r->caller, sid, eid, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	api_respond_object(r, 200, out);
}

void api_enrolments_phase(struct http_request *r)
{
	static const char *const known[] = { "phase", "start_on", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct db_conn *c;
	struct fields f;
	const char *phase, *start_on, *before;
	json_t *cur = NULL, *out = NULL;
	int64_t sid, eid;
	int experiment;

	if (!api_path_id(r, "id", &sid) || !api_path_id(r, "enrolment_id", &eid) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	phase = field_text(&f, "phase", true, 32);
	start_on = field_date(&f, "start_on", true);
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_enrolment_get(c, &r->caller, sid, eid, &cur, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	experiment = experiment_parse(json_string_value(json_object_get(cur, "experiment")));
	before = enrolment_phase_before(experiment, phase);
	if (enrolment_phase_index(experiment, phase) < 0 || !before ||
	    strcmp(before, json_string_value(json_object_get(cur, "current_phase"))) != 0) {
		size_t n;
		const char *const *list = enrolment_phases(experiment, &n);
		int next = enrolment_phase_index(experiment, json_string_value(json_object_get(cur, "current_phase"))) + 1;
		if (next > 0 && (size_t)next < n)
			a51_error_set(&err, A51_EINVAL, "phase", "the next phase of this %s enrolment is %s, not %s",
				      json_string_value(json_object_get(cur, "experiment")), list[next], phase);
		else
			a51_error_set(&err, A51_EINVAL, "phase", "this %s enrolment is in its last phase",
				      json_string_value(json_object_get(cur, "experiment")));
		api_fail(r, c, &err);
		goto done;
	}
	if (store_enrolment_phase_add(c, &a, sid, eid, phase, start_on, &out, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	api_respond_object(r, 200, out);
	out = NULL;
done:
	json_decref(cur);
	json_decref(out);
	fields_release(&f);
}

void api_enrolments_withdraw(struct http_request *r)
{
	static const char *const known[] = { "on", "reason", NULL };
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct db_conn *c;
	struct fields f;
	const char *on, *reason;
	json_t *out = NULL;
	int64_t sid, eid;

	if (!api_path_id(r, "id", &sid) || !api_path_id(r, "enrolment_id", &eid) || !fields_begin(&f, r))
		return;
	fields_only(&f, known);
	on = field_date(&f, "on", true);
	reason = field_text(&f, "reason", true, 500);
	if (!fields_end(&f))
		return;
	if (!(c = api_tx_begin(r)))
		goto done;
	if (store_enrolment_withdraw(c, &a, sid, eid, on, reason, &out, &err) < 0) {
		api_fail(r, c, &err);
		goto done;
	}
	if (api_tx_commit(r, c) < 0)
		goto done;
	api_respond_object(r, 200, out);
	out = NULL;
done:
	json_decref(out);
	fields_release(&f);
}
