/* All SQL lives behind these functions, one source file per aggregate.
 * Functions that read tenant data take the caller, and scope in SQL. */
#ifndef A51_STORE_H
#define A51_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a51/auth.h"
#include "a51/db.h"
#include "a51/eds.h"
#include "a51/eligibility.h"
#include "a51/error.h"
#include "a51/indicators.h"
#include "a51/migrate.h"

/* Who is acting, for the audit trail. */
struct actor {
	const struct caller *caller;
	const char *request_id;
};

/* ---- shared (store/common.c) ---- */

/* Tenancy in SQL: statements that read tenant data take $1 scope kind
 * ('national', 'ars', 'structure'), $2 region, $3 structure id, and filter with
 * STORE_SCOPE_STRUCTURE(alias of a structures row). */
#define STORE_SCOPE_STRUCTURE(s)                                                       \
	"($1 = 'national' OR ($1 = 'ars' AND " s ".region = $2) OR ($1 = 'structure' AND " \
	s ".id = $3::bigint))"

struct scope_params {
	char region[4];
	char sid[24];
	const char *v[3];
};
void store_scope(const struct caller *c, struct scope_params *sp);

/* A row as a JSON object keyed by column name: integers, booleans, json/jsonb
 * parsed, NULL as null, numeric as a number, everything else as text. */
json_t *store_row_json(const PGresult *res, int row);
/* Runs st and gives its first row as JSON; A51_ENOTFOUND when there is none. */
int store_one(struct db_conn *c, const struct db_stmt *st, const char *const *params, json_t **out,
	      struct a51_error *err);
/* Runs st and gives every row as a JSON array. */
int store_all(struct db_conn *c, const struct db_stmt *st, const char *const *params, json_t **out,
	      struct a51_error *err);

/* The structure's region when the caller may reach it; A51_ENOTFOUND otherwise
 * (another tenant's structure is indistinguishable from a missing one). */
int store_reach_structure(struct db_conn *c, const struct caller *caller, int64_t structure_id, char region[4],
			  struct a51_error *err);

/* ---- audit (store/audit.c) ---- */

struct audit_rec {
	const char *action;        /* "create", "update", "close", "enrol", "revoke"... */
	const char *resource_type; /* "structure", "token", "patient"... */
	char resource_id[32];
	const char *region;        /* for ARS filtering; NULL if national */
	int64_t structure_id;      /* 0 if none */
	const json_t *before, *after;
};
/* Written in the caller's transaction, so the change and its trace commit together. */
int store_audit(struct db_conn *c, const struct actor *a, const struct audit_rec *rec, struct a51_error *err);

struct audit_filter {
	const char *resource_type, *resource_id, *action, *since, *until;
	int64_t structure_id, token_id, before_id; /* 0 = any */
	int limit;
};
/* Newest first; national callers see everything, ARS callers their region. */
int store_audit_list(struct db_conn *c, const struct caller *caller, const struct audit_filter *f, json_t **items,
		     struct a51_error *err);

/* ---- system (store/system.c) ---- */

/* The rows of schema_migrations, sorted by version; *out is malloc'd. */
int store_schema_applied(struct db_conn *c, struct migration_applied **out, size_t *n, struct a51_error *err);

/* ---- regions (store/regions.c) ---- */

struct region {
	char code[4];       /* INSEE region code, "84" */
	char name[64];
	char ars_name[96];
};

/* A51_ENOTFOUND when the code is unknown. */
int store_region_get(struct db_conn *c, const char *code, struct region *out, struct a51_error *err);
/* *out is malloc'd, ordered by code. */
int store_regions_list(struct db_conn *c, struct region **out, size_t *n, struct a51_error *err);

/* ---- tokens (store/tokens.c) ---- */

/* The live token with that hash (not revoked, not expired), as a caller;
 * *expires_ms is its expiry (0 if none). A51_ENOTFOUND otherwise. */
int store_token_lookup(struct db_conn *c, const uint8_t hash[32], struct caller *out, int64_t *expires_ms,
		       struct a51_error *err);

struct token_new {
	const char *name;
	struct caller scope;      /* kind, region, structure_id, write */
	const char *expires_at;   /* timestamptz text or NULL */
	uint8_t hash[32];
	char prefix[AUTH_TOKEN_PREFIX_LEN + 1];
};
int store_token_create(struct db_conn *c, const struct actor *a, const struct token_new *t, json_t **out,
		       struct a51_error *err);
/* National: all tokens; ARS: those of its region (ARS or structure scope). */
int store_tokens_list(struct db_conn *c, const struct caller *caller, bool include_revoked, json_t **items,
		      struct a51_error *err);
/* Revokes (and notifies every a51d to drop it from its cache); A51_ENOTFOUND
 * when out of the caller's reach. */
int store_token_revoke(struct db_conn *c, const struct actor *a, int64_t id, json_t **out, struct a51_error *err);
/* The region of a structure, whoever asks (used to check a grant). */
int store_structure_region(struct db_conn *c, int64_t id, char region[4], struct a51_error *err);

/* ---- structures (store/structures.c) ---- */

/* Fields of a structure as validated text; NULL = absent. For updates, a
 * field is changed when its bit is set in `set` (a NULL value clears it). */
struct structure_in {
	const char *kind, *name, *finess, *siret, *siren, *region, *commune, *legal_form, *opened_on, *closed_on;
	unsigned set;
};
enum {
	SF_NAME = 1 << 0, SF_FINESS = 1 << 1, SF_SIRET = 1 << 2, SF_SIREN = 1 << 3, SF_COMMUNE = 1 << 4,
	SF_LEGAL_FORM = 1 << 5, SF_OPENED_ON = 1 << 6, SF_CLOSED_ON = 1 << 7, SF_KIND = 1 << 8,
};
int store_structure_create(struct db_conn *c, const struct actor *a, const struct structure_in *in, json_t **out,
			   struct a51_error *err);
int store_structure_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
			struct a51_error *err);
struct structure_filter {
	const char *region, *kind, *experiment;
	int64_t after_id;
	int limit;
};
int store_structures_list(struct db_conn *c, const struct caller *caller, const struct structure_filter *f,
			  json_t **items, struct a51_error *err);
/* A51_ECONFLICT when the version is not expected_version (412 for the client). */
int store_structure_update(struct db_conn *c, const struct actor *a, int64_t id, int expected_version,
			   const struct structure_in *in, json_t **out, struct a51_error *err);

/* ---- professionals and memberships (store/professionals.c) ---- */

struct member_in {
	const char *rpps, *profession, *last_name, *first_name, *start_on, *end_on, *fte;
};
int store_member_add(struct db_conn *c, const struct actor *a, int64_t structure_id, const struct member_in *in,
		     json_t **out, struct a51_error *err);
/* Members of the structure; on a date (YYYY-MM-DD) when given, else every period. */
int store_members_list(struct db_conn *c, const struct caller *caller, int64_t structure_id, const char *on,
		       json_t **items, struct a51_error *err);
int store_member_update(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t membership_id,
			int expected_version, const char *end_on, bool set_end, const char *fte, json_t **out,
			struct a51_error *err);
int store_professional_get(struct db_conn *c, const struct caller *caller, const char *rpps, json_t **out,
			   struct a51_error *err);

/* ---- patients and médecin-traitant declarations (store/patients.c) ---- */

#define PATIENT_MAX_ALD 32

struct patient_in {
	uint8_t pseudonym[32];
	int birth_year, birth_month; /* month 0: unknown */
	int sex;
	const char *commune, *death_date;
	bool c2s, ame;
	int n_ald;
	struct { int code; const char *start_on, *end_on; } ald[PATIENT_MAX_ALD];
};
/* Creates the patient and links it to the structure; when the pseudonym is
 * known already, links the existing record (*created false) and leaves it as is. */
int store_patient_create(struct db_conn *c, const struct actor *a, int64_t structure_id, const struct patient_in *in,
			 json_t **out, bool *created, struct a51_error *err);
int store_patient_get(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t patient_id,
		      json_t **out, struct a51_error *err);
int store_patient_find(struct db_conn *c, const struct caller *caller, int64_t structure_id,
		       const uint8_t pseudonym[32], json_t **out, struct a51_error *err);
int store_patients_list(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t after_id,
			int limit, json_t **items, struct a51_error *err);

/* A new declaration ends the patient's open-ended one the day before it starts;
 * one that overlaps a closed period is a conflict (history is not rewritten). */
int store_mt_create(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t patient_id,
		    const char *gp_rpps, const char *start_on, const char *end_on, json_t **out, struct a51_error *err);
int store_mt_get(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t id, json_t **out,
		 struct a51_error *err);
/* Ordered by id, after after_id, at most limit. */
int store_mt_list(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t patient_id,
		  int64_t after_id, int limit, json_t **items, struct a51_error *err);

/* ---- parameter sets (store/params.c) ---- */

/* The latest version for (experiment, year), or A51_ENOTFOUND. */
int store_param_set_latest(struct db_conn *c, const char *experiment, int year, json_t **out,
			   struct a51_error *err);
int store_param_set_get(struct db_conn *c, int64_t id, json_t **out, struct a51_error *err);
int store_param_sets_list(struct db_conn *c, const char *experiment, int year, json_t **items,
			  struct a51_error *err);
/* Inserts the next version; A51_ECONFLICT when an identical body exists. */
int store_param_set_create(struct db_conn *c, const struct actor *a, const json_t *body, const char *origin,
			   json_t **out, struct a51_error *err);
/* At migration time: inserts each embedded seed whose body no version has yet. */
int store_param_sets_seed(PGconn *pg, int *inserted, struct a51_error *err);

/* ---- enrolments (store/enrolments.c) ---- */

/* What eligibility needs, measured on `on` (YYYY-MM-DD). */
int store_eligibility_measure(struct db_conn *c, int64_t structure_id, int experiment, int option, const char *on,
			      const struct elig_params *ep, const struct patientele_params *pp,
			      struct elig_measures *out, struct a51_error *err);
/* A51_ECONFLICT when a live enrolment exists for the experiment and option. */
int store_enrolment_create(struct db_conn *c, const struct actor *a, int64_t structure_id, const char *experiment,
			   const char *option, const char *start_on, const char *first_phase, int64_t param_set_id,
			   const json_t *report, json_t **out, struct a51_error *err);
int store_enrolment_get(struct db_conn *c, const struct caller *caller, int64_t structure_id, int64_t id,
			json_t **out, struct a51_error *err);
int store_enrolments_list(struct db_conn *c, const struct caller *caller, int64_t structure_id, json_t **items,
			  struct a51_error *err);
int store_enrolment_phase_add(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t id,
			      const char *phase, const char *start_on, json_t **out, struct a51_error *err);
int store_enrolment_withdraw(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t id,
			     const char *on, const char *reason, json_t **out, struct a51_error *err);

/* The structure's enrolment in experiment live over [from, to]: {id, option,
 * region, phase (the phase on `to`), phase_from (on `from`)}; A51_EINVAL when
 * there is none. */
int store_enrolment_over(struct db_conn *c, int64_t structure_id, const char *experiment, const char *from,
			 const char *to, json_t **out, struct a51_error *err);
/* Structures enrolled in experiment over [from, to], in region (NULL: all): [{structure_id}]. */
int store_enrolled_over(struct db_conn *c, const char *experiment, const char *from, const char *to,
			const char *region, json_t **items, struct a51_error *err);

/* ---- uploads (store/uploads.c) ---- */

struct upload_new {
	int64_t dataset;          /* structure id, or 0 for the reference population */
	const char *kind, *format, *charset;
	bool dry_run;
	const char *idempotency_key;
	const char *request_id;
};
/* Records the upload as receiving, committed at once so that a retry sees it,
 * and holds its lock on the connection (released by store_upload_finish, or
 * by PostgreSQL when the connection goes) so that other a51d can tell it is
 * alive. When the caller's scope already used the key: A51_ECONFLICT and
 * *existing is the earlier upload (with its response when it finished) —
 * unless that one was aborted or failed, in which case the key passes to the
 * new upload. Uploads whose receiver is gone are swept first. */
int store_upload_begin(struct db_conn *c, const struct actor *a, const struct upload_new *u, int64_t *id,
		       json_t **existing, struct a51_error *err);

/* Opens the data transaction. */
int store_upload_open(struct db_conn *c, struct a51_error *err);
/* Creates the staging table of the kind and starts COPY FROM STDIN into it. */
int store_upload_stage(struct db_conn *c, int kind, struct a51_error *err);
/* The direct path (claims, stays, answers): under a savepoint, COPY straight
 * into the final table; a key already there makes the COPY fail, and
 * store_upload_undo_direct returns to before it, for the staging path. */
int store_upload_direct(struct db_conn *c, int kind, struct a51_error *err);
int store_upload_undo_direct(struct db_conn *c, struct a51_error *err);
/* Streams (pseudonym, patient id) of every patient of the dataset to each;
 * a non-zero return of each stops with A51_ENOMEM. */
int store_upload_patient_ids(struct db_conn *c, int64_t dataset,
			     int (*each)(void *ctx, const uint8_t pseudonym[32], int64_t id), void *ctx,
			     struct a51_error *err);
int store_upload_copy(struct db_conn *c, const char *data, size_t n, struct a51_error *err);
/* Ends the COPY; with why non-NULL the COPY is cancelled (the transaction fails). */
int store_upload_copy_end(struct db_conn *c, const char *why, struct a51_error *err);
/* Merges the staging rows into the final tables by natural key, by the rules
 * of each kind's single-record route. Faults first: A51_EINVAL with field
 * "line" when lines are at fault (a repeated key, an overlapping declaration);
 * nothing was changed and store_upload_duplicates hands them over. */
int store_upload_merge(struct db_conn *c, int kind, int64_t dataset, int64_t upload_id, int64_t *inserted,
		       int64_t *updated, struct a51_error *err);

/* Widens the dataset's claim span (claim_spans) to [first, last] (YYYY-MM-DD),
 * in the upload's transaction: called with the earliest and latest care date
 * of the claims an upload stored. */
int store_claim_span_extend(struct db_conn *c, int64_t dataset, const char *first, const char *last,
			    struct a51_error *err);
/* The first and last care dates of the dataset's claims (YYYY-MM-DD), or
 * empty strings when it has none. */
int store_claim_span(struct db_conn *c, int64_t dataset, char first[11], char last[11], struct a51_error *err);

/* The faults found by store_upload_merge, oldest first, at most max a call
 * (appended to errors), each taken off the list: call until none comes.
 * *count gets how many were waiting. */
int store_upload_duplicates(struct db_conn *c, int kind, int max, json_t *errors, int64_t *count,
			    struct a51_error *err);

struct upload_result {
	const char *status;       /* succeeded, validated (dry run), rejected, failed, aborted */
	int http_status;
	int64_t bytes, lines, records, inserted, updated, errors_count;
	const char *sha256, *message;
	int parse_ms, merge_ms;
	const json_t *response;
};
/* Records how the upload ended and releases its lock. A51_EUNAVAIL when it is
 * no longer receiving (swept as gone meanwhile): in the data transaction, the
 * caller must then roll back. */
int store_upload_finish(struct db_conn *c, int64_t id, const struct upload_result *res, struct a51_error *err);
/* Records as failed every upload still receiving whose receiver is gone (an
 * a51d killed, a connection the database lost): they stored nothing. *swept
 * gets how many. Outside a transaction, on a connection receiving nothing. */
int store_uploads_sweep(struct db_conn *c, int64_t *swept, struct a51_error *err);
/* Appends the error rows (COPY text: seq, line, col, value, reason) read from f. */
int store_upload_errors_load(struct db_conn *c, int64_t id, FILE *f, struct a51_error *err);

int store_upload_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
		     struct a51_error *err);
/* Newest first, before before_id (0: from the newest). */
int store_uploads_list(struct db_conn *c, const struct caller *caller, int64_t dataset, int64_t before_id, int limit,
		       json_t **items, struct a51_error *err);
int store_upload_errors(struct db_conn *c, const struct caller *caller, int64_t id, int64_t after_seq, int limit,
			json_t **items, struct a51_error *err);

/* ---- risk models (store/riskmodels.c) ---- */

struct rm_def;
struct rm_patient;

/* The COPY statement of the population, reading its parameters from the
 * transaction settings a51.rm_* (for EXPLAIN and the benchmarks). */
const char *store_rm_population_sql(void);
struct sha256;
typedef int (*store_rm_row_fn)(void *ctx, const struct rm_patient *pt, struct a51_error *err);
/* Streams the population of a model for def->year through COPY, ordered by
 * patient, calling fn for each row (a non-zero return stops it): the reference
 * population (dataset 0, within def->region when set) or a structure's
 * patients, all or those of ids (with any_dataset, those ids wherever their
 * data came from; the target still from dataset's claims). digest, when
 * given, is fed the rows as sent. In a transaction. */
int store_rm_population(struct db_conn *c, const struct rm_def *def, int64_t dataset, const int64_t *ids, size_t nids,
			bool any_dataset, struct sha256 *digest, store_rm_row_fn fn, void *ctx, struct a51_error *err);

struct rm_record {
	const char *name, *region, *method, *inputs_digest, *code_version;
	const json_t *definition, *terms, *coefficients, *stats, *diagnostics, *warnings;
	int64_t job_id;
};
/* Inserts a model with the next version of its name; *out is the stored model. */
int store_rm_insert(struct db_conn *c, const struct actor *a, const struct rm_record *m, json_t **out,
		    struct a51_error *err);
/* Risk models are national data: every caller may read them; ARS regional
 * variants too. */
int store_rm_get(struct db_conn *c, int64_t id, json_t **out, struct a51_error *err);
int store_rm_list(struct db_conn *c, const char *name, json_t **items, struct a51_error *err);

/* Replaces the scores of (model, dataset, year) by the rows COPYed in next. */
int store_scores_begin(struct db_conn *c, int64_t model_id, int64_t dataset, int year, struct a51_error *err);
int store_scores_put(struct db_conn *c, const char *rows, size_t n, struct a51_error *err);
int store_scores_end(struct db_conn *c, struct a51_error *err);

struct scores_query {
	int64_t model_id, dataset; /* dataset: a structure, or 0 for the reference population */
	int year;
	int64_t after, patient_id; /* page after this patient; or only this one (0: all) */
	int limit;
};
/* The stored scores of a population, a page of them, and their summary
 * (patients, totals). A51_ENOTFOUND when none are visible to the caller. */
int store_scores_list(struct db_conn *c, const struct caller *caller, const struct scores_query *q, json_t **summary,
		      json_t **items, struct a51_error *err);

/* ---- PEPS runs (store/peps.c) ---- */

struct peps_patient;
struct peps_params;
struct patientele_params;
typedef int (*store_peps_row_fn)(void *ctx, const struct peps_patient *pt, struct a51_error *err);
/* The covered patients of a structure's year for an option, one COPY row
 * each, ordered by patient (base left 0: the risk model gives it). In a
 * transaction. digest, when given, is fed the rows as sent. */
int store_peps_inputs(struct db_conn *c, int64_t structure_id, int year, const char *option,
		      const struct patientele_params *pp, const struct peps_params *kp, struct sha256 *digest,
		      store_peps_row_fn fn, void *ctx, struct a51_error *err);
/* The COPY statement of the inputs (for EXPLAIN and the benchmarks). */
const char *store_peps_inputs_sql(void);

/* The latest national version of the risk model named name; none is
 * A51_EINVAL on field key (the parameter that holds the name, e.g.
 * "gains.risk_model", or the request field that chose it). */
int store_rm_latest(struct db_conn *c, const char *key, const char *name, int64_t *id, struct a51_error *err);

struct peps_run_record {
	int64_t structure_id, enrolment_id, parameter_set_id, model_id, batch_id, job_id;
	const char *region, *phase, *option, *inputs_digest, *code_version;
	int year, quarter, patients;
	bool what_if;
	int64_t total_cents;
	const json_t *result;
};
int store_peps_run_insert(struct db_conn *c, const struct actor *a, const struct peps_run_record *r, int64_t *id,
			  struct a51_error *err);
/* Lines go in by COPY: begin here, then db_copy_in_put() and db_copy_in_end(),
 * in the run's transaction. */
int store_peps_lines_begin(struct db_conn *c, struct a51_error *err);
int store_peps_item(struct db_conn *c, int64_t run_id, int seq, const char *kind, int quarter, const char *due_on,
		    int64_t cents, struct a51_error *err);
int store_peps_run_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
		       struct a51_error *err);
struct peps_run_filter {
	int64_t structure_id, batch_id, before_id;
	int year, limit;
	bool current_only;          /* the runs that count: latest official of their period and phase */
	const char *phase, *what_if; /* what_if: "true", "false" or NULL */
};
int store_peps_runs_list(struct db_conn *c, const struct caller *caller, const struct peps_run_filter *f,
			 json_t **items, struct a51_error *err);
int store_peps_lines(struct db_conn *c, const struct caller *caller, int64_t run_id, int64_t after, int limit,
		     json_t **items, struct a51_error *err);
/* Members over [from, to] with their weights: [{rpps, profession, fte, patients, prior_ffs_cents}]. acts is a
 * text[] literal of the perimeter. */
int store_peps_members(struct db_conn *c, int64_t structure_id, const char *from, const char *to, const char *acts,
		       json_t **items, struct a51_error *err);
int store_peps_split_save(struct db_conn *c, const struct actor *a, int64_t run_id, const char *key,
			  const json_t *shares, int64_t total, json_t **out, struct a51_error *err);
/* The latest recorded split, or A51_ENOTFOUND. */
int store_peps_split_get(struct db_conn *c, int64_t run_id, json_t **out, struct a51_error *err);
int store_peps_batch_insert(struct db_conn *c, const struct actor *a, int year, int quarter, const char *phase,
			    const char *region, int64_t job_id, int64_t *id, struct a51_error *err);
int store_peps_batch_finish(struct db_conn *c, int64_t id, const json_t *summary, struct a51_error *err);
/* A batch with its summary (runs made, structures skipped and why): national
 * callers, and the ARS of its region. */
int store_peps_batch_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
			 struct a51_error *err);
/* What the current official prospective quarter runs of a structure's year
 * paid as instalments: [{quarter, cents}]. */
int store_peps_paid(struct db_conn *c, int64_t structure_id, int year, json_t **items, struct a51_error *err);

/* ---- IPEP runs (store/ipep.c) ---- */

/* Alive patients whose declared GP on day is a member GP of the groupement
 * that day, ordered (*ids is malloc'ed). */
int store_ipep_patientele(struct db_conn *c, int64_t structure_id, const char *day, int64_t **ids, size_t *n,
			  struct a51_error *err);
/* A new version of a groupement's quality inputs for a year, audited under
 * the structure's region (so that its ARS sees the row). experience and
 * respondents are text (NULL: missing). */
int store_ipep_quality_put(struct db_conn *c, const struct actor *a, int64_t structure_id, const char *region,
			   int year, const json_t *indicators, const char *experience, const char *respondents, json_t **out,
			   struct a51_error *err);
/* The latest version, or A51_ENOTFOUND. */
int store_ipep_quality_get(struct db_conn *c, int64_t structure_id, int year, json_t **out, struct a51_error *err);
struct ipep_run_record {
	int64_t structure_id, enrolment_id, parameter_set_id, model_id, quality_inputs_id, batch_id, job_id;
	const char *region, *phase, *inputs_digest, *code_version;
	int year, patients;
	bool what_if;
	int64_t total_cents;
	const json_t *result;
};
int store_ipep_run_insert(struct db_conn *c, const struct actor *a, const struct ipep_run_record *r, int64_t *id,
			  struct a51_error *err);
/* Lines go in by COPY: begin here, then db_copy_in_put() and db_copy_in_end(). */
int store_ipep_lines_begin(struct db_conn *c, struct a51_error *err);
int store_ipep_run_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
		       struct a51_error *err);
struct ipep_run_filter {
	int64_t structure_id, batch_id, before_id;
	int year, limit;
	bool current_only;           /* the runs that count: latest official of their structure and year */
	const char *phase, *what_if; /* what_if: "true", "false" or NULL */
};
int store_ipep_runs_list(struct db_conn *c, const struct caller *caller, const struct ipep_run_filter *f,
			 json_t **items, struct a51_error *err);
int store_ipep_lines(struct db_conn *c, const struct caller *caller, int64_t run_id, int64_t after, int limit,
		     json_t **items, struct a51_error *err);

/* ---- EDS runs (store/eds.c) ---- */

/* One patient of an EDS source: who, ALD spells, and the stays, claims and
 * questionnaire answers of the data period, each sorted by date. Stay and
 * claim refs, and answers' questionnaire, are offsets into refs (NUL-ended). */
struct eds_answer {
	int32_t day;
	int64_t questionnaire;
	int item, answer;
};
struct eds_source_patient {
	int64_t id;
	int sex, birth_year, birth_month;
	int32_t death;                     /* INT32_MAX: alive */
	bool c2s, ame;
	struct { int code; int32_t start, end; } *ald; /* end INT32_MAX: open */
	size_t nald;
	struct eds_stay *stays;
	size_t nstays;
	struct eds_claim *claims;
	size_t nclaims;
	struct eds_answer *answers;
	size_t nanswers;
	char *refs;
	size_t nrefs;
};
struct eds_source_query {
	int64_t dataset;                   /* 0: the reference data */
	const char *from, *to;             /* trigger admissions */
	const char *data_from, *data_to;   /* what is read of each patient */
	const char *roots;                 /* GHM roots, a text[] literal: {08C48} */
	const char *finess;                /* the establishment; NULL: any */
	const char *region;                /* patients living there; NULL: all */
};
typedef int (*store_eds_patient_fn)(void *ctx, const struct eds_source_patient *pt, struct a51_error *err);
/* Streams the patients, ordered by id (COPY; in a transaction); digest, when
 * given, is fed the rows as sent. */
int store_eds_source(struct db_conn *c, const struct eds_source_query *q, struct sha256 *digest,
		     store_eds_patient_fn fn, void *ctx, struct a51_error *err);
const char *store_eds_source_sql(void);
/* The FINESS of a structure ("" when it has none). */
int store_structure_finess(struct db_conn *c, int64_t structure_id, char out[16], struct a51_error *err);
/* The structure's live enrolment of one option over [from, to] (see store_enrolment_over). */
int store_enrolment_option_over(struct db_conn *c, int64_t structure_id, const char *experiment, const char *option,
				const char *from, const char *to, json_t **out, struct a51_error *err);
/* EDS enrolments live over [from, to]: [{structure_id, option}], of a region and option (NULL: all). */
int store_eds_enrolled(struct db_conn *c, const char *from, const char *to, const char *region, const char *option,
		       json_t **items, struct a51_error *err);
struct eds_run_record {
	int64_t id;                        /* from store_eds_run_reserve */
	int64_t structure_id, enrolment_id, parameter_set_id, model_id, batch_id, job_id;
	const char *region, *option, *phase, *inputs_digest, *code_version;
	int year, episodes, included;
	bool what_if;
	int64_t total_cents;
	const json_t *result;
};
/* A run's id, taken before its episodes are written. */
int store_eds_run_reserve(struct db_conn *c, int64_t *id, struct a51_error *err);
int store_eds_run_insert(struct db_conn *c, const struct actor *a, const struct eds_run_record *r, int64_t *id,
			 struct a51_error *err);
/* Episodes and items go in by COPY: begin, db_copy_in_put(), db_copy_in_end(). */
int store_eds_episodes_begin(struct db_conn *c, struct a51_error *err);
int store_eds_items_begin(struct db_conn *c, struct a51_error *err);
int store_eds_run_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err);
struct eds_run_filter {
	int64_t structure_id, batch_id, before_id;
	int year, limit;
	bool current_only;
	const char *what_if, *option, *phase;
};
int store_eds_runs_list(struct db_conn *c, const struct caller *caller, const struct eds_run_filter *f, json_t **items,
			struct a51_error *err);
struct eds_episode_filter {
	int64_t run_id;
	const char *included;              /* "true", "false"; NULL: both */
	const char *reason;                /* an exclusion reason; NULL: any */
	bool complications_only;
	int after, limit, no;              /* no: one episode; 0: a page */
};
int store_eds_episodes(struct db_conn *c, const struct caller *caller, const struct eds_episode_filter *f,
		       json_t **items, struct a51_error *err);
/* The stays and claims of an episode (run already checked in scope). */
int store_eds_items(struct db_conn *c, int64_t run_id, int no, json_t **items, struct a51_error *err);

/* ---- jobs (store/jobs.c) ---- */

struct job_new {
	const char *kind;
	const json_t *params;
	const char *region;       /* for ARS visibility; NULL: national */
	int64_t structure_id;     /* for the structure's visibility; 0: none */
	int max_queued;           /* jobs waiting beyond which none is queued; 0: no bound */
};
/* Queues a job (and wakes the workers of every a51d); *out is the job as JSON.
 * A51_EUNAVAIL with field "jobs" when max_queued jobs are already waiting. */
int store_job_submit(struct db_conn *c, const struct actor *a, const struct job_new *j, json_t **out,
		     struct a51_error *err);
int store_job_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err);
struct job_filter {
	const char *status, *kind;
	int64_t before_id;
	int limit;
};
int store_jobs_list(struct db_conn *c, const struct caller *caller, const struct job_filter *f, json_t **items,
		    struct a51_error *err);
/* Cancels a queued job at once, or asks a running one to stop. */
int store_job_cancel(struct db_conn *c, const struct actor *a, int64_t id, json_t **out, struct a51_error *err);

/* Workers: claim the oldest queued job, or one whose lease expired. *out is
 * NULL when there is none. Jobs past their attempts are failed on the way. */
int store_job_claim(struct db_conn *c, const char *worker, int lease_s, json_t **out, struct a51_error *err);
/* Renews the leases of the worker's jobs, writes their progress, and reports
 * which were cancelled (a JSON array of ids). */
int store_job_heartbeat(struct db_conn *c, const char *worker, int lease_s, const json_t *progress,
			json_t **cancelled, struct a51_error *err);
/* Hands a running job back to the queue (a stopping a51d), its attempt not spent. */
int store_job_release(struct db_conn *c, int64_t id, const char *worker, struct a51_error *err);
/* Queues again a job whose database connection was lost during attempt, that
 * attempt spent: failed once it has none left, cancelled if that was asked.
 * status gets what it became, "" when the job had moved on (its lease expired
 * and another attempt runs it). */
int store_job_requeue(struct db_conn *c, int64_t id, const char *worker, int attempt, char status[16],
		      struct a51_error *err);
int store_job_finish(struct db_conn *c, int64_t id, const char *worker, const char *status, const char *message,
		     const char *result_type, int64_t result_id, struct a51_error *err);


/* ---- quality indicators (store/indicators.c) ---- */

struct ind_count {
	int64_t structure_id;
	long long numerator, denominator;
};
/* kinds: a text[] literal of structure kinds, e.g. {"MSP","CDS"}; structure_id 0: all of the region. */
int store_ind_count(struct db_conn *c, const struct ind_def *d, const char *region, int year, const char *kinds,
		    int64_t structure_id, struct ind_count **rows, size_t *n, struct a51_error *err);
/* Patients of an acts indicator below its minimum, after patient id `after`. */
int store_ind_care_gaps(struct db_conn *c, const struct ind_def *d, const char *region, int year, const char *kinds,
			int64_t structure_id, int64_t after, int limit, json_t **items, struct a51_error *err);
/* Answers of a questionnaire by structure and item (item 0: the structure's
 * respondents, in `respondents`). */
struct ind_answers {
	int64_t structure_id;
	int item;
	long long sum, count, respondents;
};
int store_ind_experience(struct db_conn *c, const char *region, const char *kinds, const char *questionnaire,
			 int scale_min, int scale_max, int64_t structure_id, struct ind_answers **rows, size_t *n,
			 struct a51_error *err);
int store_ind_structures(struct db_conn *c, const char *region, const char *kinds, int year, json_t **items,
			 struct a51_error *err);
/* {"<structure_id>/<code>": value} of the latest run of a region and year. */
int store_ind_previous(struct db_conn *c, const char *region, int year, json_t **map, struct a51_error *err);
struct ind_run_record {
	const char *region, *code_version, *digest;
	int year, structures;
	int64_t parameter_set_id, job_id, created_by;
	const json_t *result;
};
/* A run's id is reserved first: its values are written before it, when its digest is known. */
int store_ind_run_reserve(struct db_conn *c, int64_t *id, struct a51_error *err);
int store_ind_run_insert(struct db_conn *c, const struct ind_run_record *r, int64_t id, struct a51_error *err);
struct ind_value {
	int64_t structure_id;
	const char *code, *how;
	long long numerator, denominator;
	double value, ci_low, ci_high, previous, target, intermediate, points; /* NAN: none */
};
int store_ind_value_insert(struct db_conn *c, int64_t run_id, const struct ind_value *v, struct a51_error *err);
int store_ind_experience_insert(struct db_conn *c, int64_t run_id, int64_t structure_id, long respondents,
				double overall, const json_t *dimensions, struct a51_error *err);
/* The run's spending of every structure by quarter of N-1 and N (claims and stays of its data). */
int store_ind_spending_insert(struct db_conn *c, int64_t run_id, const char *region, const char *kinds, int year,
			      struct a51_error *err);
/* [{year, quarter, town_cents, hospital_cents}] of a structure in a run (none: not measured). */
int store_ind_spending(struct db_conn *c, int64_t run_id, int64_t structure_id, json_t **items, struct a51_error *err);
int store_ind_run_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err);
int store_ind_runs_list(struct db_conn *c, const struct caller *caller, const char *region, int year, int64_t before,
			int limit, json_t **items, struct a51_error *err);
/* The latest run of a region and year (A51_ENOTFOUND: none); no scope check. */
int store_ind_run_latest(struct db_conn *c, const char *region, int year, json_t **out, struct a51_error *err);
/* structure_id 0: every structure of the run. */
int store_ind_values(struct db_conn *c, int64_t run_id, int64_t structure_id, json_t **items, struct a51_error *err);
int store_ind_experience_get(struct db_conn *c, int64_t run_id, int64_t structure_id, json_t **items,
			     struct a51_error *err);
/* [{year, code, value}] of a structure, from the latest run of each year of its region. */
int store_ind_trend(struct db_conn *c, int64_t structure_id, const char *region, json_t **items,
		    struct a51_error *err);


/* ---- IPEP and EDS batches (store/batches.c); experiment EXP_IPEP or EXP_EDS ---- */

int store_batch_insert(struct db_conn *c, const struct actor *a, int experiment, int year, const char *region,
		       int64_t job_id, int64_t *id, struct a51_error *err);
int store_batch_finish(struct db_conn *c, int experiment, int64_t id, const json_t *summary, struct a51_error *err);
/* A batch with its summary: national callers see every one, an ARS its region's. */
int store_batch_get(struct db_conn *c, const struct caller *caller, int experiment, int64_t id, json_t **out,
		    struct a51_error *err);

/* ---- dashboards (store/dashboards.c; callers checked scope) ---- */

/* Sets peps, ipep, eds (runs in force of the year), spending (by quarter of
 * N-1 and N, when with_spending), patientele (composition on 31 December), uploads (by kind),
 * experiments (live enrolments) on out. */
int store_dash_structure(struct db_conn *c, int64_t structure_id, int year, bool with_spending, json_t *out,
			 struct a51_error *err);
/* Every structure of a region: experiments, patients, what official runs pay for the year. */
int store_dash_region(struct db_conn *c, const char *region, int year, json_t **items, struct a51_error *err);

#endif
