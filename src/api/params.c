#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/params.h"
#include "a51/banned.h"

void api_param_sets_list(struct http_request *r)
{
	static const char *const experiments[] = { "PEPS", "IPEP", "EDS", NULL };
	struct a51_error err = { 0 };
	struct db_conn *c;
	struct fields q;
	const char *experiment;
	json_t *items;
	int year;

	query_begin(&q, r);
	experiment = query_enum(&q, "experiment", experiments);
	year = (int)query_int(&q, "year", 2018, 2100, 0);
	if (!query_end(&q))
		return;
	if (!(c = api_db(r)))
		return;
	if (store_param_sets_list(c, experiment, year, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_param_sets_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *out;
	int64_t id;

	if (!api_path_id(r, "id", &id) || !(c = api_db(r)))
		return;
	if (store_param_set_get(c, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	http_respond_json(r, 200, out);
}

/* A new version of a year's parameters; versions are never edited. */
void api_param_sets_create(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct db_conn *c;
	json_t *body, *errors, *out = NULL;
	char loc[64];

	if (http_body_json(r, &body) < 0)
		return;
	errors = json_array();
	if (!json_is_object(body))
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "", "reason", "must be a JSON object"));
	else
		params_validate(body, errors);
	if (json_array_size(errors)) {
		http_problem_ex(r, 422, "validation", errors, NULL, "the parameter set is invalid: %zu fault(s)",
				json_array_size(errors));
		json_decref(body);
		return;
	}
	json_decref(errors);
	if (!(c = api_tx_begin(r))) {
		json_decref(body);
		return;
	}
	if (store_param_set_create(c, &a, body, "api", &out, &err) < 0) {
		json_decref(body);
		api_fail(r, c, &err);
		return;
	}
	json_decref(body);
	if (api_tx_commit(r, c) < 0) {
		json_decref(out);
		return;
	}
	snprintf(loc, sizeof(loc), "/v1/parameter-sets/%lld", (long long)json_integer_value(json_object_get(out, "id")));
	http_set_header(r, "Location", loc);
	http_respond_json(r, 201, out);
}
