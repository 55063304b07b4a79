/* Handlers, one file per resource, and the few helpers they share. */
#ifndef A51_API_H
#define A51_API_H

#include "a51/app.h"
#include "a51/db.h"
#include "a51/http.h"
#include "a51/store.h"

/* Takes a pooled connection; when none can be had, a 503 with Retry-After has
 * been queued and NULL is returned. */
struct db_conn *api_db(struct http_request *r);
/* For reads that may lag the primary a little (dashboards): the replica of
 * A51_DATABASE_REPLICA_URL when configured, else the primary. */
struct db_conn *api_db_read(struct http_request *r);
void api_db_release(struct http_request *r, struct db_conn *c);

/* The caller and request id, for the audit trail. */
struct actor api_actor(struct http_request *r);

/* A path parameter that must be a positive integer id; otherwise a 404 has
 * been queued (a malformed id names no resource) and false is returned. */
bool api_path_id(struct http_request *r, const char *name, int64_t *out);

/* Begins a transaction on a pooled connection; NULL when a problem was queued. */
struct db_conn *api_tx_begin(struct http_request *r);
/* Commits and releases; on failure a problem has been queued and -1 returned. */
int api_tx_commit(struct http_request *r, struct db_conn *c);
/* Rolls back, releases and answers the error as a problem. */
void api_fail(struct http_request *r, struct db_conn *c, const struct a51_error *err);

/* ?limit= (1..max, default dflt) and ?cursor= (an id from a previous page's
 * `next`). false when a 422 was queued. */
bool api_page_params(struct http_request *r, int dflt, int max, int *limit, int64_t *after);
/* {"items": items, "next": "/v1/...?...&cursor=N" or null}: next is set when
 * the page is full, from the last item's "id". base is the path with the
 * query the client sent, minus cursor (built by the caller). Steals items. */
json_t *api_page(json_t *items, int limit, const char *base);
/* The path and query of this request with cursor dropped, for api_page. */
const char *api_base_url(struct http_request *r, const char *const *query_names);

/* ETag from the object's "version"; If-Match parsing: 428 when absent, 412
 * when not a version ETag. false when a problem was queued. */
void api_set_etag(struct http_request *r, const json_t *obj);
bool api_if_match(struct http_request *r, int *version);

/* Answers 200/201 with the object (and its ETag when it has a version). */
void api_respond_object(struct http_request *r, int status, json_t *obj);
/* GET of a run or a batch by its {id}: get reads it within the caller's scope;
 * links are {member, path before the id, path after it, ..., NULL}, added to it. */
typedef int (*by_id_fn)(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
			  struct a51_error *err);
void api_respond_by_id(struct http_request *r, by_id_fn get, const char *const *links);
/* 200 text/csv, semicolon-separated: a header of cols, then a line per item
 * (the item's members of those names), sent as an attachment named filename. */
void api_respond_csv(struct http_request *r, const char *const *cols, size_t ncols, const json_t *items,
		     const char *filename);

/* ---- request body validation (fields.c) ---- */

/* Collects every fault of a body, then answers them all at once (422). */
struct fields {
	struct http_request *r;
	json_t *obj;
	json_t *errors;
};
/* false (and a 400 queued) when the body is missing or not JSON. */
bool fields_begin(struct fields *f, struct http_request *r);
/* Keys outside known are faults ("unknown field"). */
void fields_only(struct fields *f, const char *const *known);
bool field_present(struct fields *f, const char *name);
/* NULL when absent or null (a fault when required); text is checked UTF-8 by jansson. */
const char *field_text(struct fields *f, const char *name, bool required, size_t maxlen);
const char *field_date(struct fields *f, const char *name, bool required);
const char *field_enum(struct fields *f, const char *name, bool required, const char *const *allowed);
bool field_bool(struct fields *f, const char *name, bool dflt);
int64_t field_int(struct fields *f, const char *name, bool required, int64_t min, int64_t max, int64_t dflt);
void field_error(struct fields *f, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool fields_ok(const struct fields *f);
/* true when no fault; otherwise answers 422 with every fault, frees, and returns false. */
bool fields_end(struct fields *f);
void fields_release(struct fields *f);

/* The same collector for query parameters: faults go to a 422 too. */
const char *query_date(struct fields *f, const char *name);
const char *query_enum(struct fields *f, const char *name, const char *const *allowed);
int64_t query_int(struct fields *f, const char *name, int64_t min, int64_t max, int64_t dflt);
void query_begin(struct fields *f, struct http_request *r);
/* Like fields_end, and releases in every case (query values are not in f). */
bool query_end(struct fields *f);

/* system.c */
void api_healthz(struct http_request *r);
void api_readyz(struct http_request *r);
void api_metrics(struct http_request *r);
void api_openapi(struct http_request *r);
void api_problem_type(struct http_request *r);

/* web.c: the web front end's static files (public: they hold no data) */
void api_web_index(struct http_request *r);
void api_web_file(struct http_request *r);

/* regions.c */
void api_regions_list(struct http_request *r);
void api_region_get(struct http_request *r);

/* tokens.c */
void api_tokens_create(struct http_request *r);
void api_tokens_list(struct http_request *r);
void api_tokens_revoke(struct http_request *r);

/* structures.c */
void api_structures_create(struct http_request *r);
void api_structures_list(struct http_request *r);
void api_structures_get(struct http_request *r);
void api_structures_update(struct http_request *r);
void api_structures_close(struct http_request *r);

/* members.c */
void api_members_add(struct http_request *r);
void api_members_list(struct http_request *r);
void api_members_update(struct http_request *r);
void api_professionals_get(struct http_request *r);

/* patients.c */
void api_patients_create(struct http_request *r);
void api_patients_list(struct http_request *r);
void api_patients_get(struct http_request *r);
void api_patients_lookup(struct http_request *r);
void api_mt_create(struct http_request *r);
void api_mt_list(struct http_request *r);
void api_mt_get(struct http_request *r);

/* enrolments.c */
void api_eligibility_get(struct http_request *r);
void api_enrolments_create(struct http_request *r);
void api_enrolments_list(struct http_request *r);
void api_enrolments_get(struct http_request *r);
void api_enrolments_phase(struct http_request *r);
void api_enrolments_withdraw(struct http_request *r);

/* params.c */
void api_param_sets_list(struct http_request *r);
void api_param_sets_get(struct http_request *r);
void api_param_sets_create(struct http_request *r);

/* uploads.c */
extern const struct body_stream api_upload_stream;
void api_uploads_create(struct http_request *r);
void api_uploads_get(struct http_request *r);
void api_structure_uploads_list(struct http_request *r);
void api_reference_uploads_list(struct http_request *r);
void api_upload_errors(struct http_request *r);

/* jobs.c */
void api_jobs_get(struct http_request *r);
void api_jobs_list(struct http_request *r);
void api_jobs_cancel(struct http_request *r);
/* A job row as users read it: url, eta_s, result {type, id, url}. Returns job. */
json_t *api_job_view(json_t *job);
/* Queues the job in c's transaction, commits, answers 202 with the job and
 * its Location (or the problem: 503 queue-full past A51_MAX_QUEUED_JOBS). */
void api_job_submit(struct http_request *r, struct db_conn *c, const struct job_new *jn);

/* dashboards.c: who am I, quality indicators, dashboards, care gaps */
void api_me(struct http_request *r);
void api_indicator_runs_create(struct http_request *r);
void api_indicator_runs_list(struct http_request *r);
void api_indicator_run_get(struct http_request *r);
void api_structure_dashboard(struct http_request *r);
void api_region_dashboard(struct http_request *r);
void api_care_gaps(struct http_request *r);
/* regions.c: the {code} of the path, checked (422 sent when malformed). */
bool api_region_param(struct http_request *r, const char **code);

/* lines.c: a run's per-patient lines, PEPS's and IPEP's alike. The store
 * gives rows with the patient's id, its age-sex cell, its ALD groups as a
 * bit mask and its flags (1 C2S, 2 AME); the answer names them (age_sex,
 * ald_groups as names, c2s and ame as booleans, patient_id). ?format=json
 * (pages of limit 1..1000, cursor: the last patient id) or csv (one file of
 * the columns cols by api_respond_csv, named {name}-run-{id}-lines.csv). */
struct api_lines_kind {
	const char *name; /* "peps", "ipep" */
	int (*run_get)(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err);
	int (*lines)(struct db_conn *c, const struct caller *caller, int64_t run_id, int64_t after, int limit,
		     json_t **items, struct a51_error *err);
	const char *const *cols;
	size_t ncols;
};
/* GET /v1/{kind}/runs/{id}/lines: the run is read first (another tenant's is
 * a 404, not an empty list). */
void api_run_lines(struct http_request *r, const struct api_lines_kind *k);

/* riskmodels.c */
void api_risk_models_create(struct http_request *r);
void api_risk_models_list(struct http_request *r);
void api_risk_models_get(struct http_request *r);
void api_risk_scores_now(struct http_request *r);
void api_risk_score_runs(struct http_request *r);
void api_risk_scores_list(struct http_request *r);
void api_risk_scores_get(struct http_request *r);

/* peps.c */
void api_peps_run_create(struct http_request *r);
void api_peps_batch_create(struct http_request *r);
void api_peps_runs_list(struct http_request *r);
void api_peps_run_get(struct http_request *r);
void api_peps_run_lines(struct http_request *r);
void api_peps_distribution_get(struct http_request *r);
void api_peps_distribution_put(struct http_request *r);
void api_peps_batch_get(struct http_request *r);

/* ipep.c */
void api_ipep_quality_put(struct http_request *r);
void api_ipep_quality_get(struct http_request *r);
void api_ipep_run_create(struct http_request *r);
void api_ipep_batch_create(struct http_request *r);
void api_ipep_runs_list(struct http_request *r);
void api_ipep_run_get(struct http_request *r);
void api_ipep_run_lines(struct http_request *r);
void api_ipep_batch_get(struct http_request *r);

/* eds.c */
void api_eds_run_create(struct http_request *r);
void api_eds_batch_create(struct http_request *r);
void api_eds_runs_list(struct http_request *r);
void api_eds_run_get(struct http_request *r);
void api_eds_run_episodes(struct http_request *r);
void api_eds_episode_get(struct http_request *r);
void api_eds_batch_get(struct http_request *r);

/* audit.c */
void api_audit_list(struct http_request *r);

/* guard.c: the token cache shared by a51d's threads, dropped on every
 * revocation notice from any a51d (LISTEN a51_tokens). */
int api_auth_start(const char *database_url, int connect_timeout_s);
void api_auth_stop(void);

#endif
