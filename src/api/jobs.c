/* Jobs: what long work is doing, and cancelling it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "a51/api.h"
#include "a51/banned.h"

/* The job as users read it: the result's URL once it succeeded, and while it
 * runs an ETA from its progress so far (linear: progress is reported against
 * the work's own passes, not wall time). */
static json_t *job_view(json_t *j)
{
	const char *status = json_string_value(json_object_get(j, "status"));
	const char *type = json_string_value(json_object_get(j, "result_type"));
	double progress = json_number_value(json_object_get(j, "progress"));
	double elapsed = json_number_value(json_object_get(j, "elapsed_s"));
	json_int_t rid = json_integer_value(json_object_get(j, "result_id"));

	json_object_set_new(j, "url", json_sprintf("/v1/jobs/%lld", (long long)json_integer_value(json_object_get(j, "id"))));
	/* from 0.2 on: the first fifth is reading the data, which says little of the rest */
	if (status && strcmp(status, "running") == 0 && progress >= 0.2 && elapsed > 0)
		json_object_set_new(j, "eta_s", json_real(round(elapsed * (1 - progress) / progress * 10) / 10));
	else
		json_object_set_new(j, "eta_s", json_null());
	if (type && strcmp(type, "scores") == 0) {
		const json_t *p = json_object_get(j, "params");
		json_int_t sid = json_integer_value(json_object_get(p, "structure_id"));
		char pop[48];
		if (sid)
			snprintf(pop, sizeof(pop), "structure_id=%lld", (long long)sid);
		else
			snprintf(pop, sizeof(pop), "reference=true");
		json_object_set_new(j, "result",
				    json_pack("{s:s,s:I,s:o}", "type", type, "id", rid, "url",
					      json_sprintf("/v1/risk-models/%lld/scores?%s&year=%lld", (long long)rid, pop,
							   (long long)json_integer_value(json_object_get(p, "year")))));
	} else if (type) {
		/* the resource a job made, by its type */
		static const struct { const char *type, *prefix; } urls[] = {
			{ "risk_model", "/v1/risk-models/" },
			{ "peps_run", "/v1/peps/runs/" },
			{ "peps_batch", "/v1/peps/batches/" },
			{ "ipep_run", "/v1/ipep/runs/" },
			{ "ipep_batch", "/v1/ipep/batches/" },
			{ "eds_run", "/v1/eds/runs/" },
			{ "eds_batch", "/v1/eds/batches/" },
			{ "indicator_run", "/v1/indicators/runs/" },
		};
		json_t *url = json_null();
		for (size_t k = 0; k < sizeof(urls) / sizeof(urls[0]); k++)
			if (strcmp(type, urls[k].type) == 0)
				url = json_sprintf("%s%lld", urls[k].prefix, (long long)rid);
		json_object_set_new(j, "result", json_pack("{s:s,s:I,s:o}", "type", type, "id", rid, "url", url));
	} else
		json_object_set_new(j, "result", json_null());
	if (status && strcmp(status, "failed") == 0)
		json_object_set(j, "error", json_object_get(j, "message"));
	json_object_del(j, "result_type");
	json_object_del(j, "result_id");
	return j;
}

json_t *api_job_view(json_t *job)
{
	return job_view(job);
}

void api_jobs_get(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct db_conn *c;
	json_t *out;
	int64_t id;

	if (!api_path_id(r, "id", &id) || !(c = api_db(r)))
		return;
	if (store_job_get(c, &r->caller, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	job_view(out);
	/* clients poll: tell them when */
	if (strcmp(json_string_value(json_object_get(out, "status")), "running") == 0 ||
	    strcmp(json_string_value(json_object_get(out, "status")), "queued") == 0)
		http_set_header(r, "Retry-After", "1");
	http_respond_json(r, 200, out);
}

void api_jobs_list(struct http_request *r)
{
	static const char *const statuses[] = { "queued", "running", "succeeded", "failed", "cancelled", NULL };
	static const char *const query[] = { "limit", "status", "kind", NULL };
	struct a51_error err = { 0 };
	struct job_filter f = { 0 };
	struct db_conn *c;
	struct fields q;
	json_t *items, *it;
	size_t i;

	query_begin(&q, r);
	f.status = query_enum(&q, "status", statuses);
	f.kind = http_query(r, "kind");
	if (f.kind && (strlen(f.kind) == 0 || strlen(f.kind) > 64))
		field_error(&q, "kind", "a job kind, e.g. risk_model.fit");
	f.limit = (int)query_int(&q, "limit", 1, 500, 50);
	f.before_id = query_int(&q, "cursor", 1, INT64_MAX, 0);
	if (!query_end(&q) || !(c = api_db(r)))
		return;
	if (store_jobs_list(c, &r->caller, &f, &items, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	api_db_release(r, c);
	json_array_foreach(items, i, it)
		job_view(it);
	http_respond_json(r, 200, api_page(items, f.limit, api_base_url(r, query)));
}

/* A queued job is cancelled at once (200); a running one is asked to stop at
 * its next checkpoint (202); a finished one cannot be (409). */
void api_jobs_cancel(struct http_request *r)
{
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct db_conn *c;
	json_t *out;
	int64_t id;
	const char *status;

	if (!api_path_id(r, "id", &id) || !(c = api_tx_begin(r)))
		return;
	if (store_job_cancel(c, &a, id, &out, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	if (api_tx_commit(r, c) < 0) {
		json_decref(out);
		return;
	}
	job_view(out);
	status = json_string_value(json_object_get(out, "status"));
	http_respond_json(r, strcmp(status, "cancelled") == 0 ? 200 : 202, out);
}

void api_job_submit(struct http_request *r, struct db_conn *c, const struct job_new *jn)
{
	struct a51_error err = { 0 };
	struct actor a = api_actor(r);
	struct job_new bounded = *jn;
	json_t *job = NULL;
	char loc[64];

	bounded.max_queued = r->app->cfg->max_queued_jobs;
	if (store_job_submit(c, &a, &bounded, &job, &err) < 0) {
		api_fail(r, c, &err);
		return;
	}
	if (api_tx_commit(r, c) < 0) {
		json_decref(job);
		return;
	}
	snprintf(loc, sizeof(loc), "/v1/jobs/%lld", (long long)json_integer_value(json_object_get(job, "id")));
	http_set_header(r, "Location", loc);
	http_respond_json(r, 202, api_job_view(job));
}
