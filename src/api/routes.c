#include "a51/api.h"
#include "a51/banned.h"

#define JSON BODY_JSON
#define NONE BODY_NONE
#define UPLOAD_MEDIA "text/csv,application/x-ndjson"

/* Every route of a51d. openapi/openapi.yaml documents the same set; a unit test
 * fails when the two disagree. The permission is checked by the guard; tenancy
 * (a structure sees only itself, an ARS its region) again in SQL. */
const struct route_def api_routes[] = {
	{ HTTP_GET, "/healthz", PERM_PUBLIC, NONE, api_healthz, NULL, NULL },
	{ HTTP_GET, "/readyz", PERM_PUBLIC, NONE, api_readyz, NULL, NULL },
	{ HTTP_GET, "/metrics", PERM_PUBLIC, NONE, api_metrics, NULL, NULL },
	{ HTTP_GET, "/openapi.json", PERM_PUBLIC, NONE, api_openapi, NULL, NULL },
	{ HTTP_GET, "/problems/{slug}", PERM_PUBLIC, NONE, api_problem_type, NULL, NULL },

	/* The web front end: public, the pages hold no data (the API calls carry the token). */
	{ HTTP_GET, "/", PERM_PUBLIC, NONE, api_web_index, NULL, NULL },
	{ HTTP_GET, "/ui/{file}", PERM_PUBLIC, NONE, api_web_file, NULL, NULL },

	{ HTTP_GET, "/v1/regions", PERM_READ, NONE, api_regions_list, NULL, NULL },
	{ HTTP_GET, "/v1/regions/{code}", PERM_READ, NONE, api_region_get, NULL, NULL },

	{ HTTP_POST, "/v1/tokens", PERM_ARS_WRITE, JSON, api_tokens_create, NULL, NULL },
	{ HTTP_GET, "/v1/tokens", PERM_ARS_READ, NONE, api_tokens_list, NULL, NULL },
	{ HTTP_DELETE, "/v1/tokens/{id}", PERM_ARS_WRITE, NONE, api_tokens_revoke, NULL, NULL },

	{ HTTP_POST, "/v1/structures", PERM_ARS_WRITE, JSON, api_structures_create, NULL, NULL },
	{ HTTP_GET, "/v1/structures", PERM_READ, NONE, api_structures_list, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}", PERM_READ, NONE, api_structures_get, NULL, NULL },
	{ HTTP_PATCH, "/v1/structures/{id}", PERM_WRITE, JSON, api_structures_update, NULL, NULL },
	{ HTTP_POST, "/v1/structures/{id}/close", PERM_ARS_WRITE, JSON, api_structures_close, NULL, NULL },

	{ HTTP_POST, "/v1/structures/{id}/members", PERM_WRITE, JSON, api_members_add, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/members", PERM_READ, NONE, api_members_list, NULL, NULL },
	{ HTTP_PATCH, "/v1/structures/{id}/members/{membership_id}", PERM_WRITE, JSON, api_members_update, NULL, NULL },
	{ HTTP_GET, "/v1/professionals/{rpps}", PERM_READ, NONE, api_professionals_get, NULL, NULL },

	{ HTTP_POST, "/v1/structures/{id}/patients", PERM_WRITE, JSON, api_patients_create, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/patients", PERM_READ, NONE, api_patients_list, NULL, NULL },
	{ HTTP_POST, "/v1/structures/{id}/patients/lookup", PERM_READ, JSON, api_patients_lookup, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/patients/{patient_id}", PERM_READ, NONE, api_patients_get, NULL, NULL },
	{ HTTP_POST, "/v1/structures/{id}/mt-declarations", PERM_WRITE, JSON, api_mt_create, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/mt-declarations", PERM_READ, NONE, api_mt_list, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/mt-declarations/{declaration_id}", PERM_READ, NONE, api_mt_get, NULL, NULL },

	{ HTTP_GET, "/v1/structures/{id}/eligibility", PERM_READ, NONE, api_eligibility_get, NULL, NULL },
	{ HTTP_POST, "/v1/structures/{id}/enrolments", PERM_WRITE, JSON, api_enrolments_create, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/enrolments", PERM_READ, NONE, api_enrolments_list, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/enrolments/{enrolment_id}", PERM_READ, NONE, api_enrolments_get, NULL, NULL },
	{ HTTP_POST, "/v1/structures/{id}/enrolments/{enrolment_id}/phases", PERM_ARS_WRITE, JSON, api_enrolments_phase,
	  NULL, NULL },
	{ HTTP_POST, "/v1/structures/{id}/enrolments/{enrolment_id}/withdrawal", PERM_WRITE, JSON,
	  api_enrolments_withdraw, NULL, NULL },

	{ HTTP_POST, "/v1/structures/{id}/uploads", PERM_WRITE, BODY_STREAM, api_uploads_create, &api_upload_stream,
	  UPLOAD_MEDIA },
	{ HTTP_GET, "/v1/structures/{id}/uploads", PERM_READ, NONE, api_structure_uploads_list, NULL, NULL },
	{ HTTP_POST, "/v1/reference/uploads", PERM_NATIONAL_WRITE, BODY_STREAM, api_uploads_create, &api_upload_stream,
	  UPLOAD_MEDIA },
	{ HTTP_GET, "/v1/reference/uploads", PERM_NATIONAL_READ, NONE, api_reference_uploads_list, NULL, NULL },
	{ HTTP_GET, "/v1/uploads/{id}", PERM_READ, NONE, api_uploads_get, NULL, NULL },
	{ HTTP_GET, "/v1/uploads/{id}/errors", PERM_READ, NONE, api_upload_errors, NULL, NULL },

	{ HTTP_GET, "/v1/jobs", PERM_READ, NONE, api_jobs_list, NULL, NULL },
	{ HTTP_GET, "/v1/jobs/{id}", PERM_READ, NONE, api_jobs_get, NULL, NULL },
	{ HTTP_DELETE, "/v1/jobs/{id}", PERM_WRITE, NONE, api_jobs_cancel, NULL, NULL },

	{ HTTP_POST, "/v1/risk-models", PERM_ARS_WRITE, JSON, api_risk_models_create, NULL, NULL },
	{ HTTP_GET, "/v1/risk-models", PERM_READ, NONE, api_risk_models_list, NULL, NULL },
	{ HTTP_GET, "/v1/risk-models/{id}", PERM_READ, NONE, api_risk_models_get, NULL, NULL },
	{ HTTP_POST, "/v1/risk-models/{id}/scores", PERM_READ, JSON, api_risk_scores_now, NULL, NULL },
	{ HTTP_GET, "/v1/risk-models/{id}/scores", PERM_READ, NONE, api_risk_scores_list, NULL, NULL },
	{ HTTP_GET, "/v1/risk-models/{id}/scores/{patient_id}", PERM_READ, NONE, api_risk_scores_get, NULL, NULL },
	{ HTTP_POST, "/v1/risk-models/{id}/score-runs", PERM_WRITE, JSON, api_risk_score_runs, NULL, NULL },

	{ HTTP_POST, "/v1/structures/{id}/peps/runs", PERM_WRITE, JSON, api_peps_run_create, NULL, NULL },
	{ HTTP_POST, "/v1/peps/runs", PERM_ARS_WRITE, JSON, api_peps_batch_create, NULL, NULL },
	{ HTTP_GET, "/v1/peps/runs", PERM_READ, NONE, api_peps_runs_list, NULL, NULL },
	{ HTTP_GET, "/v1/peps/batches/{id}", PERM_ARS_READ, NONE, api_peps_batch_get, NULL, NULL },
	{ HTTP_GET, "/v1/peps/runs/{id}", PERM_READ, NONE, api_peps_run_get, NULL, NULL },
	{ HTTP_GET, "/v1/peps/runs/{id}/lines", PERM_READ, NONE, api_peps_run_lines, NULL, NULL },
	{ HTTP_GET, "/v1/peps/runs/{id}/distribution", PERM_READ, NONE, api_peps_distribution_get, NULL, NULL },
	{ HTTP_PUT, "/v1/peps/runs/{id}/distribution", PERM_WRITE, JSON, api_peps_distribution_put, NULL, NULL },

	{ HTTP_PUT, "/v1/structures/{id}/ipep/quality/{year}", PERM_ARS_WRITE, JSON, api_ipep_quality_put, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/ipep/quality/{year}", PERM_READ, NONE, api_ipep_quality_get, NULL, NULL },
	{ HTTP_POST, "/v1/structures/{id}/ipep/runs", PERM_WRITE, JSON, api_ipep_run_create, NULL, NULL },
	{ HTTP_POST, "/v1/ipep/runs", PERM_ARS_WRITE, JSON, api_ipep_batch_create, NULL, NULL },
	{ HTTP_GET, "/v1/ipep/runs", PERM_READ, NONE, api_ipep_runs_list, NULL, NULL },
	{ HTTP_GET, "/v1/ipep/runs/{id}", PERM_READ, NONE, api_ipep_run_get, NULL, NULL },
	{ HTTP_GET, "/v1/ipep/runs/{id}/lines", PERM_READ, NONE, api_ipep_run_lines, NULL, NULL },
	{ HTTP_GET, "/v1/ipep/batches/{id}", PERM_ARS_READ, NONE, api_ipep_batch_get, NULL, NULL },

	{ HTTP_POST, "/v1/structures/{id}/eds/runs", PERM_WRITE, JSON, api_eds_run_create, NULL, NULL },
	{ HTTP_POST, "/v1/eds/runs", PERM_ARS_WRITE, JSON, api_eds_batch_create, NULL, NULL },
	{ HTTP_GET, "/v1/eds/runs", PERM_READ, NONE, api_eds_runs_list, NULL, NULL },
	{ HTTP_GET, "/v1/eds/runs/{id}", PERM_READ, NONE, api_eds_run_get, NULL, NULL },
	{ HTTP_GET, "/v1/eds/runs/{id}/episodes", PERM_READ, NONE, api_eds_run_episodes, NULL, NULL },
	{ HTTP_GET, "/v1/eds/runs/{id}/episodes/{no}", PERM_READ, NONE, api_eds_episode_get, NULL, NULL },
	{ HTTP_GET, "/v1/eds/batches/{id}", PERM_ARS_READ, NONE, api_eds_batch_get, NULL, NULL },

	{ HTTP_GET, "/v1/me", PERM_READ, NONE, api_me, NULL, NULL },
	{ HTTP_POST, "/v1/regions/{code}/indicators/runs", PERM_ARS_WRITE, JSON, api_indicator_runs_create, NULL, NULL },
	{ HTTP_GET, "/v1/regions/{code}/indicators/runs", PERM_ARS_READ, NONE, api_indicator_runs_list, NULL, NULL },
	{ HTTP_GET, "/v1/indicators/runs/{id}", PERM_READ, NONE, api_indicator_run_get, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/dashboard", PERM_READ, NONE, api_structure_dashboard, NULL, NULL },
	{ HTTP_GET, "/v1/structures/{id}/care-gaps", PERM_READ, NONE, api_care_gaps, NULL, NULL },
	{ HTTP_GET, "/v1/regions/{code}/dashboard", PERM_ARS_READ, NONE, api_region_dashboard, NULL, NULL },

	{ HTTP_GET, "/v1/parameter-sets", PERM_READ, NONE, api_param_sets_list, NULL, NULL },
	{ HTTP_POST, "/v1/parameter-sets", PERM_NATIONAL_WRITE, JSON, api_param_sets_create, NULL, NULL },
	{ HTTP_GET, "/v1/parameter-sets/{id}", PERM_READ, NONE, api_param_sets_get, NULL, NULL },

	{ HTTP_GET, "/v1/audit", PERM_ARS_READ, NONE, api_audit_list, NULL, NULL },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
