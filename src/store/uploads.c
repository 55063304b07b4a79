/* Uploads: the receiving record, the staging table fed by COPY, the checks
 * that need the database, and the merge by natural key — all of a file in one
 * transaction, so that a rejected or interrupted upload leaves nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/formats.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/* ---- the upload record ---- */

#define UPLOAD_COLUMNS                                                                                    \
	"u.id, u.dataset, u.structure_id, u.kind, u.format, u.charset, u.dry_run, u.status,"             \
	" u.idempotency_key, u.token_id, u.scope, u.request_id, u.bytes, u.sha256, u.lines, u.records,"   \
	" u.inserted, u.updated,"                                                                         \
	" CASE WHEN u.status IN ('succeeded', 'validated') THEN u.records - u.inserted - u.updated"       \
	"  ELSE 0 END AS unchanged, u.errors_count, u.message, u.http_status,"                           \
	" to_char(u.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS started_at,"   \
	" to_char(u.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS finished_at," \
	" u.parse_ms, u.merge_ms"

/* Uploads of a structure's dataset follow its tenancy; the reference
 * population's are national. */
#define UPLOAD_SCOPE                                                                                    \
	"($1 = 'national' OR (u.dataset <> 0 AND (($1 = 'ars' AND s.region = $2)"                          \
	" OR ($1 = 'structure' AND s.id = $3::bigint))))"

/* While an upload is received, the connection receiving it holds a session
 * advisory lock on its id (class UPLOAD_LOCK, "a51u"), taken by the statement
 * that records it: PostgreSQL drops the lock with the connection. An upload
 * still 'receiving' whose lock is free was left by an a51d that died or by a
 * connection the database lost; its transaction went with it, so it stored
 * nothing, and store_uploads_sweep records it as failed. */
#define UPLOAD_LOCK(id) "1630876021, ((" id ") % 2147483647)::int"

static const struct db_stmt Q_BEGIN = {
	"upload_begin",
	"INSERT INTO uploads (dataset, structure_id, kind, format, charset, dry_run, status, idempotency_key,"
	" token_id, scope, request_id) VALUES ($1::bigint, nullif($1::bigint, 0), $2, $3, $4, $5, 'receiving', $6, $7, $8, $9)"
	" RETURNING id, pg_advisory_lock(" UPLOAD_LOCK("id") ") IS NULL",
	9
};
static const struct db_stmt Q_SWEEP = {
	"uploads_sweep",
	"UPDATE uploads SET status = 'failed', finished_at = now(),"
	" message = 'the a51d receiving it stopped, or lost its database connection, before the end: nothing was stored'"
	" WHERE status = 'receiving' AND pg_try_advisory_xact_lock(" UPLOAD_LOCK("id") ")",
	0
};

int store_uploads_sweep(struct db_conn *c, int64_t *swept, struct a51_error *err)
{
	PGresult *res = db_exec(c, &Q_SWEEP, NULL, err);

	if (!res)
		return err->code;
	*swept = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}
/* The request a key was first used for: its path (the dataset), kind, dry-run
 * flag and Content-Type (format, charset) are the upload's columns, and the
 * body's SHA-256 joins them once the body has ended. same_request compares
 * all but the body, which only the caller can hash. */
static const struct db_stmt Q_BY_KEY = {
	"upload_by_key",
	"SELECT u.id, u.status, u.http_status, u.response, u.kind, u.dataset, u.sha256,"
	" (u.dataset, u.kind, u.format, u.charset, u.dry_run) = ($3::bigint, $4, $5, $6, $7::boolean) AS same_request"
	" FROM uploads u WHERE u.scope = $1 AND u.idempotency_key = $2",
	7
};
static const struct db_stmt Q_RELEASE_KEY = {
	"upload_release_key", "UPDATE uploads SET idempotency_key = NULL WHERE id = $1", 1
};

int store_upload_begin(struct db_conn *c, const struct actor *a, const struct upload_new *u, int64_t *id,
		       json_t **existing, struct a51_error *err)
{
	char dataset[24], token[24];
	const char *params[9];
	PGresult *res = NULL;

	*existing = NULL;
	snprintf(dataset, sizeof(dataset), "%lld", (long long)u->dataset);
	snprintf(token, sizeof(token), "%lld", (long long)a->caller->token_id);
	params[0] = dataset;
	params[1] = u->kind;
	params[2] = u->format;
	params[3] = u->charset;
	params[4] = u->dry_run ? "true" : "false";
	params[5] = u->idempotency_key;
	params[6] = a->caller->token_id ? token : NULL;
	params[7] = a->caller->scope;
	params[8] = u->request_id;
	/* Uploads left receiving by an a51d that died pass on their keys (and stop
	 * looking alive): swept first, before this connection holds a lock of its own. */
	{
		int64_t swept = 0;
		if (store_uploads_sweep(c, &swept, err) < 0)
			return err->code;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *kp[7] = { a->caller->scope, u->idempotency_key, dataset, u->kind, u->format, u->charset,
				      params[4] };
		json_t *prev;
		const char *status;

		res = db_exec(c, &Q_BEGIN, params, err);
		if (res) {
			util_parse_i64(PQgetvalue(res, 0, 0), 1, INT64_MAX, id);
			PQclear(res);
			return 0;
		}
		if (err->code != A51_ECONFLICT || !u->idempotency_key)
			return err->code;
		if (store_one(c, &Q_BY_KEY, kp, &prev, err) < 0)
			return err->code == A51_ENOTFOUND ? a51_error_set(err, A51_ECONFLICT, "Idempotency-Key",
									   "the key is being used; retry")
							  : err->code;
		status = json_string_value(json_object_get(prev, "status"));
		/* An attempt that ended without an answer stored nothing: its key passes on,
		 * whatever the new request. Any other is answered by the caller: 409 while
		 * receiving, a replay for the same request, 422 for another. */
		if (strcmp(status, "aborted") != 0 && strcmp(status, "failed") != 0) {
			*existing = prev;
			return a51_error_set(err, A51_ECONFLICT, "Idempotency-Key", "upload %lld has this key",
					     (long long)json_integer_value(json_object_get(prev, "id")));
		}
		/* An interrupted attempt stored nothing: its key passes to this retry. */
		{
			char pid[24];
			const char *rp[1] = { pid };
			snprintf(pid, sizeof(pid), "%lld", (long long)json_integer_value(json_object_get(prev, "id")));
			json_decref(prev);
			if (!(res = db_exec(c, &Q_RELEASE_KEY, rp, err)))
				return err->code;
			PQclear(res);
		}
	}
	return a51_error_set(err, A51_ECONFLICT, "Idempotency-Key", "the key is being used; retry");
}

/* ---- staging ---- */

static const char *const staging_ddl[UK__COUNT] = {
	[UK_PATIENTS] = "CREATE TEMP TABLE staging (line bigint, pseudonym bytea, birth_year int, birth_month int,"
			" sex int, commune text, c2s boolean, ame boolean, death_date date, ald text) ON COMMIT DROP",
	[UK_MT_DECLARATIONS] = "CREATE TEMP TABLE staging (line bigint, patient_id bigint, gp_rpps text, start_on date,"
			       " end_on date) ON COMMIT DROP",
	[UK_CLAIMS] = "CREATE TEMP TABLE staging (line bigint, claim_id text, patient_id bigint, care_date date,"
		      " rpps text, act_code text, quantity int, base_cents bigint, reimbursed_cents bigint,"
		      " extra_fees_cents bigint) ON COMMIT DROP",
	[UK_STAYS] = "CREATE TEMP TABLE staging (line bigint, stay_id text, finess text, patient_id bigint, field text,"
		     " admission_date date, discharge_date date, ghm text, entry_mode text, provenance text,"
		     " exit_mode text, destination text, main_diagnosis text, procedure text, amount_cents bigint)"
		     " ON COMMIT DROP",
	[UK_QUESTIONNAIRES] = "CREATE TEMP TABLE staging (line bigint, questionnaire text, patient_id bigint,"
			      " answered_on date, item int, answer int) ON COMMIT DROP",
	[UK_DEPRIVATION] = "CREATE TEMP TABLE staging (line bigint, commune text, quintile smallint, score numeric)"
			   " ON COMMIT DROP",
};

/* The direct path: the file's rows go straight into the final table. */
static const char *const direct_copy[UK__COUNT] = {
	[UK_CLAIMS] = "COPY claims (dataset, claim_id, patient_id, care_date, rpps, act_code, quantity, base_cents,"
		      " reimbursed_cents, extra_fees_cents, upload_id) FROM STDIN",
	[UK_STAYS] = "COPY stays (dataset, stay_id, finess, patient_id, field, admission_date, discharge_date, ghm,"
		     " entry_mode, provenance, exit_mode, destination, main_diagnosis, procedure, amount_cents, upload_id)"
		     " FROM STDIN",
	[UK_QUESTIONNAIRES] = "COPY questionnaire_answers (dataset, questionnaire, patient_id, answered_on, item, answer,"
			      " upload_id) FROM STDIN",
	/* reference data: no dataset column (the rows carry no dataset prefix) */
	[UK_DEPRIVATION] = "COPY commune_deprivation (commune, quintile, score, upload_id) FROM STDIN",
};

static int copy_in(struct db_conn *c, const char *sql, struct a51_error *err)
{
	PGresult *res = PQexec(db_pg(c), sql);

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		db_error_from(db_pg(c), res, err);
		PQclear(res);
		return err->code;
	}
	PQclear(res);
	return 0;
}

int store_upload_open(struct db_conn *c, struct a51_error *err)
{
	if (db_begin(c, err) < 0)
		return err->code;
	/* Large joins and sorts of the merge: give them memory. */
	return db_run(c, "SET LOCAL work_mem = '256MB'", err);
}

int store_upload_stage(struct db_conn *c, int kind, struct a51_error *err)
{
	if (kind <= UK_NONE || kind >= UK__COUNT)
		return a51_error_set(err, A51_EINVAL, "kind", "unknown kind");
	if (db_run(c, staging_ddl[kind], err) < 0)
		return err->code;
	return copy_in(c, "COPY staging FROM STDIN", err);
}

int store_upload_direct(struct db_conn *c, int kind, struct a51_error *err)
{
	if (kind <= UK_NONE || kind >= UK__COUNT || !direct_copy[kind])
		return a51_error_set(err, A51_EINVAL, "kind", "no direct path for this kind");
	if (db_run(c, "SAVEPOINT direct", err) < 0)
		return err->code;
	return copy_in(c, direct_copy[kind], err);
}

int store_upload_undo_direct(struct db_conn *c, struct a51_error *err)
{
	return db_run(c, "ROLLBACK TO SAVEPOINT direct", err);
}

int store_upload_patient_ids(struct db_conn *c, int64_t dataset,
			     int (*each)(void *ctx, const uint8_t pseudonym[32], int64_t id), void *ctx,
			     struct a51_error *err)
{
	PGconn *pg = db_pg(c);
	char sql[512], *row;
	int n, rc = 0;

	/* binary-free text COPY: "\\x<64 hex>\t<id>" per line, streamed */
	if (dataset)
		snprintf(sql, sizeof(sql),
			 "COPY (SELECT p.pseudonym, p.id FROM patients p JOIN patient_links l ON l.patient_id = p.id"
			 " WHERE l.structure_id = %lld) TO STDOUT", (long long)dataset);
	else
		snprintf(sql, sizeof(sql),
			 "COPY (SELECT p.pseudonym, p.id FROM patients p JOIN reference_patients r ON r.patient_id = p.id)"
			 " TO STDOUT");
	{
		PGresult *res = PQexec(pg, sql);
		if (PQresultStatus(res) != PGRES_COPY_OUT) {
			db_error_from(pg, res, err);
			PQclear(res);
			return err->code;
		}
		PQclear(res);
	}
	while ((n = PQgetCopyData(pg, &row, 0)) > 0) {
		uint8_t pseudo[32];
		int64_t id;
		/* \\x + 64 hex, tab, id */
		if (rc == 0 && n > 68 && row[0] == '\\' && row[1] == '\\' && row[2] == 'x' && row[67] == '\t') {
			char hex[65];
			memcpy(hex, row + 3, 64);
			hex[64] = '\0';
			row[n - 1] = '\0';
			if (util_unhex(hex, 32, pseudo) == 0 && util_parse_i64(row + 68, 1, INT64_MAX, &id) == 0)
				rc = each(ctx, pseudo, id);
		}
		PQfreemem(row);
	}
	{
		PGresult *res = NULL;
		while ((res = PQgetResult(pg))) {
			if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
				rc = db_error_from(pg, res, err);
			PQclear(res);
		}
	}
	if (rc > 0)
		rc = a51_error_set(err, A51_ENOMEM, NULL, "out of memory loading the dataset's patients");
	return rc;
}

int store_upload_copy(struct db_conn *c, const char *data, size_t n, struct a51_error *err)
{
	if (PQputCopyData(db_pg(c), data, (int)n) != 1)
		return db_error_from(db_pg(c), NULL, err);
	return 0;
}

int store_upload_copy_end(struct db_conn *c, const char *why, struct a51_error *err)
{
	PGconn *pg = db_pg(c);
	PGresult *res = NULL;
	int rc = 0;

	if (PQputCopyEnd(pg, why) != 1)
		return db_error_from(pg, NULL, err);
	while ((res = PQgetResult(pg))) {
		if (!why && PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = db_error_from(pg, res, err);
		PQclear(res);
	}
	return rc;
}

/* ---- merge ---- */

static int run_params(struct db_conn *c, const char *sql, int n, const char *const *params, PGresult **out,
		      struct a51_error *err)
{
	PGresult *res = PQexecParams(db_pg(c), sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_error_from(db_pg(c), res, err);
		PQclear(res);
		return err->code;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/* Runs a statement and adds the rows it touched to *n. */
static int run_counted(struct db_conn *c, const char *sql, int np, const char *const *params, int64_t *n,
		       struct a51_error *err)
{
	PGresult *res = NULL;

	if (run_params(c, sql, np, params, &res, err) < 0)
		return err->code;
	*n += strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* The inserted and updated counts of a statement's first row. */
static int run_counts(struct db_conn *c, const char *sql, int np, const char *const *params, int64_t *inserted,
		      int64_t *updated, struct a51_error *err)
{
	PGresult *res = NULL;

	if (run_params(c, sql, np, params, &res, err) < 0)
		return err->code;
	*inserted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*updated = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 0;
}

/* Lines at fault that only the database sees — a natural key repeated within
 * the file, a declaration meeting another — are written here as they are found,
 * before anything is changed, then handed over in batches by
 * store_upload_duplicates: all of them are reported, in bounded memory. */
#define FAULTS_DDL                                                                                 \
	"CREATE TEMP TABLE IF NOT EXISTS upload_faults (seq bigserial, line bigint, col text, reason text)" \
	" ON COMMIT DROP"

static const char *const natural_key[UK__COUNT] = {
	[UK_PATIENTS] = "pseudonym",
	[UK_MT_DECLARATIONS] = "patient_id, start_on",
	[UK_CLAIMS] = "claim_id",
	[UK_STAYS] = "stay_id",
	[UK_QUESTIONNAIRES] = "questionnaire, patient_id, answered_on, item",
	[UK_DEPRIVATION] = "commune",
};
static const char *const key_column[UK__COUNT] = {
	[UK_PATIENTS] = "nir", [UK_MT_DECLARATIONS] = "start_on", [UK_CLAIMS] = "claim_id",
	[UK_STAYS] = "stay_id", [UK_QUESTIONNAIRES] = "item", [UK_DEPRIVATION] = "commune",
};

static int find_duplicates(struct db_conn *c, int kind, int64_t *faults, struct a51_error *err)
{
	char sql[1024];

	/* identifiers from the whitelists above, never from input */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO upload_faults (line, col, reason) SELECT line, '%s', 'repeats the record of line ' || first"
		 " FROM (SELECT line, min(line) OVER (PARTITION BY %s) AS first FROM staging) t WHERE line <> first"
		 " ORDER BY line",
		 key_column[kind], natural_key[kind]);
	return run_counted(c, sql, 0, NULL, faults, err);
}

#define COUNTED "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM m"

/* Staging rows carry the patient id already (resolved while reading). $1 is
 * the dataset and $2 the upload — but for reference data, whose table has no
 * dataset: there $1 is the upload. */
static const char *const merge_sql[UK__COUNT] = {
	[UK_CLAIMS] =
		"WITH m AS (INSERT INTO claims (dataset, claim_id, patient_id, care_date, rpps, act_code, quantity,"
		" base_cents, reimbursed_cents, extra_fees_cents, upload_id)"
		" SELECT $1, s.claim_id, s.patient_id, s.care_date, s.rpps, s.act_code, s.quantity, s.base_cents,"
		" s.reimbursed_cents, s.extra_fees_cents, $2 FROM staging s"
		" ON CONFLICT (dataset, claim_id) DO UPDATE SET patient_id = EXCLUDED.patient_id,"
		" care_date = EXCLUDED.care_date, rpps = EXCLUDED.rpps, act_code = EXCLUDED.act_code,"
		" quantity = EXCLUDED.quantity, base_cents = EXCLUDED.base_cents,"
		" reimbursed_cents = EXCLUDED.reimbursed_cents, extra_fees_cents = EXCLUDED.extra_fees_cents,"
		" upload_id = EXCLUDED.upload_id RETURNING (xmax = 0) AS ins) " COUNTED,
	[UK_STAYS] =
		"WITH m AS (INSERT INTO stays (dataset, stay_id, patient_id, finess, field, admission_date,"
		" discharge_date, ghm, entry_mode, provenance, exit_mode, destination, main_diagnosis, procedure,"
		" amount_cents, upload_id)"
		" SELECT $1, s.stay_id, s.patient_id, s.finess, s.field, s.admission_date, s.discharge_date, s.ghm,"
		" s.entry_mode, s.provenance, s.exit_mode, s.destination, s.main_diagnosis, s.procedure, s.amount_cents, $2"
		" FROM staging s"
		" ON CONFLICT (dataset, stay_id) DO UPDATE SET patient_id = EXCLUDED.patient_id, finess = EXCLUDED.finess,"
		" field = EXCLUDED.field, admission_date = EXCLUDED.admission_date,"
		" discharge_date = EXCLUDED.discharge_date, ghm = EXCLUDED.ghm, entry_mode = EXCLUDED.entry_mode,"
		" provenance = EXCLUDED.provenance, exit_mode = EXCLUDED.exit_mode, destination = EXCLUDED.destination,"
		" main_diagnosis = EXCLUDED.main_diagnosis, procedure = EXCLUDED.procedure,"
		" amount_cents = EXCLUDED.amount_cents, upload_id = EXCLUDED.upload_id RETURNING (xmax = 0) AS ins) "
		COUNTED,
	[UK_QUESTIONNAIRES] =
		"WITH m AS (INSERT INTO questionnaire_answers (dataset, questionnaire, patient_id, answered_on, item,"
		" answer, upload_id) SELECT $1, s.questionnaire, s.patient_id, s.answered_on, s.item, s.answer, $2"
		" FROM staging s ON CONFLICT (dataset, questionnaire, patient_id, answered_on, item) DO UPDATE SET"
		" answer = EXCLUDED.answer, upload_id = EXCLUDED.upload_id RETURNING (xmax = 0) AS ins) " COUNTED,
	[UK_DEPRIVATION] =
		"WITH m AS (INSERT INTO commune_deprivation (commune, quintile, score, upload_id)"
		" SELECT s.commune, s.quintile, s.score, $1 FROM staging s"
		" ON CONFLICT (commune) DO UPDATE SET quintile = EXCLUDED.quintile, score = EXCLUDED.score,"
		" upload_id = EXCLUDED.upload_id RETURNING (xmax = 0) AS ins) " COUNTED,
};

/* Patients follow POST /v1/structures/{id}/patients: a new patient gets the
 * record sent; a known one keeps its record, which every dataset holding the
 * patient shares, so that no structure's file rewrites what another's (or the
 * reference population's) said. Only what the record lacks — its birth month
 * (same year), commune, death date — is filled in; its ALD list, sex, C2S and
 * AME stay. merged.ins: true new, false filled in, NULL left as it was. */
static const char *const patient_steps[] = {
	"CREATE TEMP TABLE merged (id bigint, pseudonym bytea, ins boolean) ON COMMIT DROP",
	"WITH m AS (INSERT INTO patients (pseudonym, birth_year, birth_month, sex, commune, c2s, ame, death_date)"
	" SELECT pseudonym, birth_year, birth_month, sex, commune, coalesce(c2s, false), coalesce(ame, false),"
	" death_date FROM staging ON CONFLICT (pseudonym) DO NOTHING RETURNING id, pseudonym)"
	" INSERT INTO merged SELECT id, pseudonym, true FROM m",
	"INSERT INTO patient_ald (patient_id, ald, start_on, end_on)"
	" SELECT m.id, split_part(e, '/', 1)::smallint, split_part(e, '/', 2)::date,"
	" nullif(split_part(e, '/', 3), '')::date"
	" FROM staging s JOIN merged m ON m.pseudonym = s.pseudonym,"
	" regexp_split_to_table(s.ald, '\\|') AS e WHERE s.ald IS NOT NULL",
	"WITH k AS (UPDATE patients p SET"
	" birth_month = coalesce(p.birth_month, CASE WHEN p.birth_year = s.birth_year THEN s.birth_month END),"
	" commune = coalesce(p.commune, s.commune), death_date = coalesce(p.death_date, s.death_date),"
	" version = p.version + 1, updated_at = now()"
	" FROM staging s WHERE p.pseudonym = s.pseudonym"
	" AND NOT EXISTS (SELECT 1 FROM merged m WHERE m.pseudonym = s.pseudonym)"
	" AND ((p.birth_month IS NULL AND p.birth_year = s.birth_year AND s.birth_month IS NOT NULL)"
	" OR (p.commune IS NULL AND s.commune IS NOT NULL) OR (p.death_date IS NULL AND s.death_date IS NOT NULL))"
	" RETURNING p.id, p.pseudonym) INSERT INTO merged SELECT id, pseudonym, false FROM k",
	"INSERT INTO merged SELECT p.id, p.pseudonym, NULL FROM staging s JOIN patients p ON p.pseudonym = s.pseudonym"
	" WHERE NOT EXISTS (SELECT 1 FROM merged m WHERE m.pseudonym = s.pseudonym)",
};

static int merge_patients(struct db_conn *c, int64_t dataset, const char *dataset_s, const char *upload_s,
			  int64_t *inserted, int64_t *updated, struct a51_error *err)
{
	const char *params[1] = { dataset ? dataset_s : upload_s };

	for (size_t i = 0; i < A51_ARRAY_LEN(patient_steps); i++)
		if (run_params(c, patient_steps[i], 0, NULL, NULL, err) < 0)
			return err->code;
	if (run_params(c,
		       dataset ? "INSERT INTO patient_links (patient_id, structure_id) SELECT id, $1 FROM merged"
				 " ON CONFLICT DO NOTHING"
			       : "INSERT INTO reference_patients (patient_id, upload_id) SELECT id, $1 FROM merged"
				 " ON CONFLICT (patient_id) DO UPDATE SET upload_id = EXCLUDED.upload_id",
		       1, params, NULL, err) < 0)
		return err->code;
	return run_counts(c, "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM merged", 0,
			  NULL, inserted, updated, err);
}

/* Declarations follow POST /v1/structures/{id}/mt-declarations: one ends the
 * patient's running declaration the day before it starts, and one that meets
 * another of the patient's is refused — here as a fault of its line. A file is
 * read per patient in date order: a declaration it leaves running ends the day
 * before the patient's next one in the file. A line with the patient and start
 * of a stored declaration leaves it alone when it says the same (médecin; end,
 * unless the line leaves it open), replaces it when an upload into this dataset
 * recorded it, and is refused otherwise (another dataset's, or one recorded by
 * the route). Every check runs before anything is changed. */
static const char *const mt_check_steps[] = {
	/* as the route does: declarations of one patient never interleave */
	"SELECT count(*) FROM (SELECT 1 FROM patients WHERE id IN (SELECT patient_id FROM staging) ORDER BY id"
	" FOR UPDATE) t",
	"CREATE TEMP TABLE mt_in (line bigint, patient_id bigint, gp_rpps text, start_on date, end_on date,"
	" eff_end date, prev_line bigint, prev_end date, d_id bigint, action text) ON COMMIT DROP",
};
static const char MT_IN[] =
	"INSERT INTO mt_in SELECT s.line, s.patient_id, s.gp_rpps, s.start_on, s.end_on,"
	" coalesce(s.end_on, lead(s.start_on) OVER w - 1), lag(s.line) OVER w, lag(s.end_on) OVER w, d.id,"
	" CASE WHEN d.id IS NULL THEN 'insert'"
	" WHEN d.gp_rpps = s.gp_rpps AND (s.end_on IS NULL OR s.end_on = d.end_on) THEN 'keep'"
	" WHEN u.dataset = $1::bigint THEN 'replace' ELSE 'foreign' END"
	" FROM staging s LEFT JOIN mt_declarations d ON d.patient_id = s.patient_id AND d.start_on = s.start_on"
	" LEFT JOIN uploads u ON u.id = d.upload_id"
	" WINDOW w AS (PARTITION BY s.patient_id ORDER BY s.start_on)";
static const char *const mt_old_steps[] = {
	"CREATE INDEX ON mt_in (patient_id, start_on)",
	"ANALYZE mt_in",
	/* the patient's other declarations, running ones with the end the file gives them */
	"CREATE TEMP TABLE mt_old ON COMMIT DROP AS SELECT d.id, d.patient_id, d.start_on,"
	" coalesce(d.end_on, (SELECT min(i.start_on) FROM mt_in i"
	" WHERE i.patient_id = d.patient_id AND i.start_on > d.start_on) - 1) AS end_on,"
	" d.end_on IS NULL AS running"
	" FROM mt_declarations d WHERE d.patient_id IN (SELECT patient_id FROM mt_in)"
	" AND NOT EXISTS (SELECT 1 FROM mt_in i WHERE i.d_id = d.id AND i.action = 'replace')",
	"INSERT INTO upload_faults (line, col, reason)"
	" SELECT line, 'start_on', 'overlaps the declaration of line ' || prev_line FROM mt_in"
	" WHERE prev_end >= start_on"
	" UNION ALL SELECT line, 'start_on', 'declaration ' || d_id || ' of this patient begins that day and was not"
	" recorded by an upload into this dataset: it is not replaced' FROM mt_in WHERE action = 'foreign'"
	" UNION ALL SELECT i.line, 'start_on', 'declaration ' || min(o.id) || ' of this patient covers part of that"
	" period' FROM mt_in i JOIN mt_old o ON o.patient_id = i.patient_id"
	" AND daterange(o.start_on, o.end_on, '[]') && daterange(i.start_on, i.eff_end, '[]')"
	" WHERE i.action IN ('insert', 'replace') GROUP BY i.line ORDER BY 1",
};
static const char *const mt_apply_steps[] = {
	"UPDATE mt_declarations d SET end_on = o.end_on FROM mt_old o"
	" WHERE d.id = o.id AND o.running AND o.end_on IS NOT NULL",
	"UPDATE mt_declarations d SET gp_rpps = i.gp_rpps, end_on = i.eff_end, upload_id = $1"
	" FROM mt_in i WHERE i.action = 'replace' AND d.id = i.d_id",
	"INSERT INTO mt_declarations (patient_id, gp_rpps, start_on, end_on, upload_id)"
	" SELECT patient_id, gp_rpps, start_on, eff_end, $1 FROM mt_in WHERE action = 'insert'",
};

static int check_mt(struct db_conn *c, const char *dataset_s, int64_t *faults, struct a51_error *err)
{
	const char *params[1] = { dataset_s };
	size_t last = A51_ARRAY_LEN(mt_old_steps) - 1;

	for (size_t i = 0; i < A51_ARRAY_LEN(mt_check_steps); i++)
		if (run_params(c, mt_check_steps[i], 0, NULL, NULL, err) < 0)
			return err->code;
	if (run_params(c, MT_IN, 1, params, NULL, err) < 0)
		return err->code;
	for (size_t i = 0; i < last; i++)
		if (run_params(c, mt_old_steps[i], 0, NULL, NULL, err) < 0)
			return err->code;
	return run_counted(c, mt_old_steps[last], 0, NULL, faults, err);
}

static int merge_mt(struct db_conn *c, const char *upload_s, int64_t *inserted, int64_t *updated,
		    struct a51_error *err)
{
	const char *params[1] = { upload_s };

	for (size_t i = 0; i < A51_ARRAY_LEN(mt_apply_steps); i++)
		if (run_params(c, mt_apply_steps[i], i ? 1 : 0, params, NULL, err) < 0) /* the first takes none */
			return err->code;
	return run_counts(c,
			  "SELECT count(*) FILTER (WHERE action = 'insert'), count(*) FILTER (WHERE action = 'replace')"
			  " FROM mt_in",
			  0, NULL, inserted, updated, err);
}

/* Faults first: A51_EINVAL with field "line" when lines are at fault (nothing
 * was changed; store_upload_duplicates hands them over). */
int store_upload_merge(struct db_conn *c, int kind, int64_t dataset, int64_t upload_id, int64_t *inserted,
		       int64_t *updated, struct a51_error *err)
{
	char dataset_s[24], upload_s[24];
	const char *params[2] = { dataset_s, upload_s };
	const struct upload_format *f = upload_format(kind);
	int64_t faults = 0;

	*inserted = *updated = 0;
	if (kind <= UK_NONE || kind >= UK__COUNT || !f)
		return a51_error_set(err, A51_EINVAL, "kind", "unknown kind");
	if (f->reference_only && dataset != 0)
		return a51_error_set(err, A51_EINVAL, "kind", "%s is reference data: only the reference dataset takes it",
				     f->name);
	snprintf(dataset_s, sizeof(dataset_s), "%lld", (long long)dataset);
	snprintf(upload_s, sizeof(upload_s), "%lld", (long long)upload_id);
	/* Planner statistics for the freshly filled staging table. */
	if (db_run(c, "ANALYZE staging", err) < 0 || db_run(c, FAULTS_DDL, err) < 0 ||
	    find_duplicates(c, kind, &faults, err) < 0)
		return err->code;
	if (!faults && kind == UK_MT_DECLARATIONS && check_mt(c, dataset_s, &faults, err) < 0)
		return err->code;
	if (faults) {
		a51_error_set(err, A51_EINVAL, "line", "%lld line(s) at fault", (long long)faults);
		err->sqlstate[0] = '\0';
		return err->code;
	}
	if (kind == UK_PATIENTS)
		return merge_patients(c, dataset, dataset_s, upload_s, inserted, updated, err);
	if (kind == UK_MT_DECLARATIONS)
		return merge_mt(c, upload_s, inserted, updated, err);
	if (f->reference_only)
		return run_counts(c, merge_sql[kind], 1, params + 1, inserted, updated, err);
	return run_counts(c, merge_sql[kind], 2, params, inserted, updated, err);
}

int store_claim_span_extend(struct db_conn *c, int64_t dataset, const char *first, const char *last,
			    struct a51_error *err)
{
	char ds[24];
	const char *p[3] = { ds, first, last };

	snprintf(ds, sizeof(ds), "%lld", (long long)dataset);
	return db_run_params(c,
			     "INSERT INTO claim_spans (dataset, first_on, last_on) VALUES ($1, $2, $3)"
			     " ON CONFLICT (dataset) DO UPDATE SET first_on = least(claim_spans.first_on, EXCLUDED.first_on),"
			     " last_on = greatest(claim_spans.last_on, EXCLUDED.last_on)",
			     3, p, false, err);
}

static const struct db_stmt Q_SPAN = {
	"claim_span",
	"SELECT to_char(first_on, 'YYYY-MM-DD'), to_char(last_on, 'YYYY-MM-DD') FROM claim_spans WHERE dataset = $1", 1
};

int store_claim_span(struct db_conn *c, int64_t dataset, char first[11], char last[11], struct a51_error *err)
{
	char ds[24];
	const char *p[1] = { ds };
	PGresult *res;

	snprintf(ds, sizeof(ds), "%lld", (long long)dataset);
	first[0] = last[0] = '\0';
	if (!(res = db_exec(c, &Q_SPAN, p, err)))
		return err->code;
	if (PQntuples(res) == 1) {
		snprintf(first, 11, "%s", PQgetvalue(res, 0, 0));
		snprintf(last, 11, "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return 0;
}

/* Hands over the faults found by store_upload_merge, oldest first, at most max
 * a call, each taken off the list: call until none comes. *count gets how many
 * were waiting. kind is not needed: the faults say their column. */
int store_upload_duplicates(struct db_conn *c, int kind, int max, json_t *errors, int64_t *count,
			    struct a51_error *err)
{
	char lim[16];
	const char *params[1] = { lim };
	PGresult *res = NULL;

	(void)kind;
	snprintf(lim, sizeof(lim), "%d", max);
	if (run_params(c,
		       "WITH d AS (DELETE FROM upload_faults WHERE seq IN"
		       " (SELECT seq FROM upload_faults ORDER BY seq LIMIT $1) RETURNING *)"
		       " SELECT line, col, reason, (SELECT count(*) FROM upload_faults) FROM d ORDER BY seq",
		       1, params, &res, err) < 0)
		return err->code;
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *e = json_pack("{s:I,s:s}", "line", (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10),
				      "reason", PQgetvalue(res, i, 2));
		if (!PQgetisnull(res, i, 1))
			json_object_set_new(e, "column", json_string(PQgetvalue(res, i, 1)));
		json_array_append_new(errors, e);
	}
	if (PQntuples(res))
		*count += strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	PQclear(res);
	return 0;
}

/* ---- finishing ---- */

/* Only an upload still receiving: one swept meanwhile stays failed, and its
 * data (when this runs in the data transaction) are not committed. */
static const struct db_stmt Q_FINISH = {
	"upload_finish",
	"UPDATE uploads SET status = $2, http_status = $3, bytes = $4, lines = $5, records = $6, inserted = $7,"
	" updated = $8, errors_count = $9, sha256 = $10, message = $11, parse_ms = $12, merge_ms = $13,"
	" response = $14::jsonb, finished_at = now() WHERE id = $1 AND status = 'receiving'",
	14
};
static const struct db_stmt Q_UNLOCK = {
	"upload_unlock", "SELECT pg_advisory_unlock(" UPLOAD_LOCK("$1::bigint") ")", 1
};

int store_upload_finish(struct db_conn *c, int64_t id, const struct upload_result *r, struct a51_error *err)
{
	char v[10][24];
	const char *params[14];
	char *response = r->response ? json_dumps(r->response, JSON_COMPACT) : NULL;
	struct a51_error unlock_err = { 0 };
	PGresult *res = NULL;
	int rc = 0;

	snprintf(v[0], 24, "%lld", (long long)id);
	snprintf(v[1], 24, "%d", r->http_status);
	snprintf(v[2], 24, "%lld", (long long)r->bytes);
	snprintf(v[3], 24, "%lld", (long long)r->lines);
	snprintf(v[4], 24, "%lld", (long long)r->records);
	snprintf(v[5], 24, "%lld", (long long)r->inserted);
	snprintf(v[6], 24, "%lld", (long long)r->updated);
	snprintf(v[7], 24, "%lld", (long long)r->errors_count);
	snprintf(v[8], 24, "%d", r->parse_ms);
	snprintf(v[9], 24, "%d", r->merge_ms);
	params[0] = v[0];
	params[1] = r->status;
	params[2] = v[1];
	params[3] = v[2];
	params[4] = v[3];
	params[5] = v[4];
	params[6] = v[5];
	params[7] = v[6];
	params[8] = v[7];
	params[9] = r->sha256;
	params[10] = r->message;
	params[11] = v[8];
	params[12] = v[9];
	params[13] = response;
	res = db_exec(c, &Q_FINISH, params, err);
	free(response);
	if (res) {
		if (strcmp(PQcmdTuples(res), "1") != 0)
			rc = a51_error_set(err, A51_EUNAVAIL, "upload",
					   "upload %lld was given up meanwhile (its a51d seemed gone): nothing was stored",
					   (long long)id);
		PQclear(res);
	} else {
		rc = err->code;
	}
	/* Its lock goes whatever the outcome, unless the connection went (and the lock with it).
	 * In the data transaction this is before COMMIT: a sweep then waits for the row,
	 * and finds it finished. */
	if (PQstatus(db_pg(c)) == CONNECTION_OK && (res = db_exec(c, &Q_UNLOCK, params, &unlock_err)))
		PQclear(res);
	return rc;
}

int store_upload_errors_load(struct db_conn *c, int64_t id, FILE *f, struct a51_error *err)
{
	PGconn *pg = db_pg(c);
	char sql[128], chunk[65536];
	PGresult *res = NULL;
	size_t n;

	(void)id; /* the rows carry their upload id */
	snprintf(sql, sizeof(sql), "COPY upload_errors (upload_id, seq, line, col, value, reason) FROM STDIN");
	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		db_error_from(pg, res, err);
		PQclear(res);
		return err->code;
	}
	PQclear(res);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (PQputCopyData(pg, chunk, (int)n) != 1)
			break;
	}
	return store_upload_copy_end(c, NULL, err);
}

/* ---- reading ---- */

static const struct db_stmt Q_GET = {
	"upload_get",
	"SELECT " UPLOAD_COLUMNS " FROM uploads u LEFT JOIN structures s ON s.id = u.structure_id"
	" WHERE u.id = $4 AND " UPLOAD_SCOPE,
	4
};

int store_upload_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
		     struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *params[4];
	int rc;

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	rc = store_one(c, &Q_GET, params, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no upload %lld", (long long)id);
	return rc;
}

static const struct db_stmt Q_LIST = {
	"uploads_list",
	"SELECT " UPLOAD_COLUMNS " FROM uploads u LEFT JOIN structures s ON s.id = u.structure_id"
	" WHERE u.dataset = $4 AND " UPLOAD_SCOPE " AND ($5::bigint = 0 OR u.id < $5) ORDER BY u.id DESC LIMIT $6",
	6
};

int store_uploads_list(struct db_conn *c, const struct caller *caller, int64_t dataset, int64_t before_id, int limit,
		       json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char ds[24], before[24], lim[16];
	const char *params[6];

	store_scope(caller, &sp);
	snprintf(ds, sizeof(ds), "%lld", (long long)dataset);
	snprintf(before, sizeof(before), "%lld", (long long)before_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = ds;
	params[4] = before;
	params[5] = lim;
	return store_all(c, &Q_LIST, params, items, err);
}

static const struct db_stmt Q_ERRORS = {
	"upload_errors_list",
	"SELECT e.seq AS id, e.line, e.col AS column, e.value, e.reason FROM upload_errors e"
	" JOIN uploads u ON u.id = e.upload_id LEFT JOIN structures s ON s.id = u.structure_id"
	" WHERE e.upload_id = $4 AND " UPLOAD_SCOPE " AND e.seq > $5 ORDER BY e.seq LIMIT $6",
	6
};

int store_upload_errors(struct db_conn *c, const struct caller *caller, int64_t id, int64_t after_seq, int limit,
			json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char uid[24], after[24], lim[16];
	const char *params[6];
	json_t *probe;
	int rc;

	if ((rc = store_upload_get(c, caller, id, &probe, err)) < 0)
		return rc;
	json_decref(probe);
	store_scope(caller, &sp);
	snprintf(uid, sizeof(uid), "%lld", (long long)id);
	snprintf(after, sizeof(after), "%lld", (long long)after_seq);
	snprintf(lim, sizeof(lim), "%d", limit);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = uid;
	params[4] = after;
	params[5] = lim;
	return store_all(c, &Q_ERRORS, params, items, err);
}
