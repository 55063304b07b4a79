/* SQL of IPEP runs: the groupement's patientèle on the reference day, its
 * quality inputs, the runs, their lines and batches. Each patient's expected
 * and observed spending of both years come from the risk-model population
 * query (store/riskmodels.c), which the job calls for the patientèle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

/* Alive patients whose declared médecin traitant on the day is a GP member
 * of the groupement that day. */
static const struct db_stmt Q_PATIENTELE = {
	"ipep_patientele",
	"SELECT DISTINCT d.patient_id FROM mt_declarations d"
	" JOIN professionals g ON g.rpps = d.gp_rpps AND g.profession = 'MG'"
	" JOIN memberships m ON m.professional_id = g.id AND m.structure_id = $1"
	"  AND m.start_on <= $2::date AND (m.end_on IS NULL OR m.end_on >= $2::date)"
	" JOIN patients p ON p.id = d.patient_id"
	" WHERE d.start_on <= $2::date AND (d.end_on IS NULL OR d.end_on >= $2::date)"
	" AND make_date(p.birth_year, coalesce(p.birth_month, 1), 1) <= $2::date"
	" AND (p.death_date IS NULL OR p.death_date >= $2::date) ORDER BY 1",
	2
};

int store_ipep_patientele(struct db_conn *c, int64_t structure_id, const char *day, int64_t **ids, size_t *n,
			  struct a51_error *err)
{
	char sid[24];
	const char *p[2] = { sid, day };
	PGresult *res;

	*ids = NULL;
	*n = 0;
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	if (!(res = db_exec(c, &Q_PATIENTELE, p, err)))
		return err->code;
	*n = (size_t)PQntuples(res);
	*ids = malloc(sizeof(int64_t) * (*n ? *n : 1));
	if (!*ids) {
		PQclear(res);
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < *n; i++)
		(*ids)[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* ---- quality inputs ---- */

static const struct db_stmt Q_QUALITY_PUT = {
	"ipep_quality_put",
	"INSERT INTO ipep_quality_inputs (structure_id, year, version, indicators, experience_points, respondents,"
	" created_by) SELECT $1, $2, coalesce(max(version), 0) + 1, $3::jsonb, $4::real, $5::int, $6"
	" FROM ipep_quality_inputs WHERE structure_id = $1 AND year = $2"
	" RETURNING id, structure_id, year, version, indicators, experience_points, respondents,"
	" to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at",
	6
};

int store_ipep_quality_put(struct db_conn *c, const struct actor *a, int64_t structure_id, const char *region,
			   int year, const json_t *indicators, const char *experience, const char *respondents, json_t **out,
			   struct a51_error *err)
{
	char sid[24], y[8], by[24], *text = json_dumps(indicators, JSON_COMPACT | JSON_REAL_PRECISION(15));
	const char *p[6] = { sid, y, text, experience, respondents, NULL };
	int rc;

	if (!text)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(y, sizeof(y), "%d", year);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	p[5] = a->caller->token_id ? by : NULL;
	/* one version at a time per groupement and year */
	rc = db_run(c, "LOCK TABLE ipep_quality_inputs IN SHARE ROW EXCLUSIVE MODE", err);
	if (rc == 0)
		rc = store_one(c, &Q_QUALITY_PUT, p, out, err);
	free(text);
	if (rc == 0) {
		struct audit_rec rec = { .action = "create", .resource_type = "ipep_quality", .region = region,
					 .structure_id = structure_id };
		snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld",
			 (long long)json_integer_value(json_object_get(*out, "id")));
		rec.after = *out;
		rc = store_audit(c, a, &rec, err);
	}
	return rc;
}

static const struct db_stmt Q_QUALITY_GET = {
	"ipep_quality_get",
	"SELECT q.id, q.structure_id, q.year, q.version, q.indicators, q.experience_points, q.respondents,"
	" to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM ipep_quality_inputs q WHERE q.structure_id = $1 AND q.year = $2 ORDER BY q.version DESC LIMIT 1",
	2
};

int store_ipep_quality_get(struct db_conn *c, int64_t structure_id, int year, json_t **out, struct a51_error *err)
{
	char sid[24], y[8];
	const char *p[2] = { sid, y };
	int rc;

	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(y, sizeof(y), "%d", year);
	rc = store_one(c, &Q_QUALITY_GET, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "year", "no IPEP quality inputs for structure %lld in %d",
			      (long long)structure_id, year);
	return rc;
}

/* ---- runs ---- */

static const struct db_stmt Q_RUN_INSERT = {
	"ipep_run_insert",
	"INSERT INTO ipep_runs (structure_id, region, year, phase, what_if, enrolment_id, parameter_set_id, model_id,"
	" quality_inputs_id, batch_id, job_id, inputs_digest, code_version, patients, total_cents, result, created_by)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, $17) RETURNING id",
	17
};

int store_ipep_run_insert(struct db_conn *c, const struct actor *a, const struct ipep_run_record *r, int64_t *id,
			  struct a51_error *err)
{
	char sid[24], y[8], enr[24], ps[24], model[24], qi[24], batch[24], job[24], pts[16], total[24], by[24];
	char *result = json_dumps(r->result, JSON_COMPACT | JSON_REAL_PRECISION(15));
	const char *p[17];
	json_t *row;
	int rc;

	if (!result)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(sid, sizeof(sid), "%lld", (long long)r->structure_id);
	snprintf(y, sizeof(y), "%d", r->year);
	snprintf(enr, sizeof(enr), "%lld", (long long)r->enrolment_id);
	snprintf(ps, sizeof(ps), "%lld", (long long)r->parameter_set_id);
	snprintf(model, sizeof(model), "%lld", (long long)r->model_id);
	snprintf(qi, sizeof(qi), "%lld", (long long)r->quality_inputs_id);
	snprintf(batch, sizeof(batch), "%lld", (long long)r->batch_id);
	snprintf(job, sizeof(job), "%lld", (long long)r->job_id);
	snprintf(pts, sizeof(pts), "%d", r->patients);
	snprintf(total, sizeof(total), "%lld", (long long)r->total_cents);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	p[0] = sid;
	p[1] = r->region;
	p[2] = y;
	p[3] = r->phase;
	p[4] = r->what_if ? "true" : "false";
	p[5] = r->enrolment_id ? enr : NULL;
	p[6] = ps;
	p[7] = model;
	p[8] = r->quality_inputs_id ? qi : NULL;
	p[9] = r->batch_id ? batch : NULL;
	p[10] = r->job_id ? job : NULL;
	p[11] = r->inputs_digest;
	p[12] = r->code_version;
	p[13] = pts;
	p[14] = total;
	p[15] = result;
	p[16] = a->caller->token_id ? by : NULL;
	rc = store_one(c, &Q_RUN_INSERT, p, &row, err);
	free(result);
	if (rc < 0)
		return rc;
	*id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	{
		struct audit_rec rec = { .action = "create", .resource_type = "ipep_run", .region = r->region,
					 .structure_id = r->structure_id };
		json_t *after = json_pack("{s:i,s:s,s:b,s:I,s:s}", "year", r->year, "phase", r->phase, "what_if",
					  r->what_if, "total_cents", (json_int_t)r->total_cents, "inputs_digest",
					  r->inputs_digest);
		snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld", (long long)*id);
		rec.after = after;
		rc = store_audit(c, a, &rec, err);
		json_decref(after);
	}
	return rc;
}

int store_ipep_lines_begin(struct db_conn *c, struct a51_error *err)
{
	return db_copy_in_begin(c, "COPY ipep_lines (run_id, patient_id, cell, ald_groups, flags, expected_prev, expected,"
				   " observed_prev, observed, exposure_prev, exposure, amount_cents) FROM STDIN", err);
}

#define RUN_SCOPE \
	"($1 = 'national' OR ($1 = 'ars' AND r.region = $2) OR ($1 = 'structure' AND r.structure_id = $3::bigint))"
#define CURRENT_COND                                                                                        \
	"(NOT r.what_if AND NOT EXISTS (SELECT 1 FROM ipep_runs o WHERE NOT o.what_if"                         \
	" AND o.structure_id = r.structure_id AND o.year = r.year AND o.id > r.id))"

static const struct db_stmt Q_RUN_GET = {
	"ipep_run_get",
	"SELECT r.id, r.structure_id, r.region, r.year, r.phase, r.what_if, r.enrolment_id, r.parameter_set_id,"
	" r.model_id, r.quality_inputs_id, r.batch_id, r.job_id, r.inputs_digest, r.code_version, r.patients,"
	" r.total_cents, r.result, " CURRENT_COND " AS current,"
	" to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM ipep_runs r WHERE r.id = $4 AND " RUN_SCOPE,
	4
};

static void scope_params4(const struct caller *caller, int64_t id, struct scope_params *sp, char *sid,
			  const char **p)
{
	store_scope(caller, sp);
	snprintf(sid, 24, "%lld", (long long)id);
	p[0] = sp->v[0];
	p[1] = sp->v[1];
	p[2] = sp->v[2];
	p[3] = sid;
}

int store_ipep_run_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
		       struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *p[4];
	int rc;

	scope_params4(caller, id, &sp, sid, p);
	rc = store_one(c, &Q_RUN_GET, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no IPEP run %lld", (long long)id);
	return rc;
}

static const struct db_stmt Q_RUNS = {
	"ipep_runs_list",
	"SELECT r.id, r.structure_id, r.region, r.year, r.phase, r.what_if, r.patients, r.total_cents, r.batch_id,"
	" r.inputs_digest, " CURRENT_COND " AS current,"
	" to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"
	" FROM ipep_runs r WHERE " RUN_SCOPE " AND ($4::bigint = 0 OR r.structure_id = $4) AND ($5::int = 0 OR r.year = $5)"
	" AND ($6::text IS NULL OR r.what_if = $6::bool) AND ($7::bigint = 0 OR r.batch_id = $7)"
	" AND ($8::bigint = 0 OR r.id < $8) AND (NOT $10::bool OR " CURRENT_COND ")"
	" AND ($11::text IS NULL OR r.phase = $11) ORDER BY r.id DESC LIMIT $9",
	11
};

int store_ipep_runs_list(struct db_conn *c, const struct caller *caller, const struct ipep_run_filter *f,
			 json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], y[8], batch[24], before[24], limit[16];
	const char *p[11];

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)f->structure_id);
	snprintf(y, sizeof(y), "%d", f->year);
	snprintf(batch, sizeof(batch), "%lld", (long long)f->batch_id);
	snprintf(before, sizeof(before), "%lld", (long long)f->before_id);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = sid;
	p[4] = y;
	p[5] = f->what_if;
	p[6] = batch;
	p[7] = before;
	p[8] = limit;
	p[9] = f->current_only ? "true" : "false";
	p[10] = f->phase;
	return store_all(c, &Q_RUNS, p, items, err);
}

static const struct db_stmt Q_LINES = {
	"ipep_lines",
	"SELECT l.patient_id AS id, l.cell, l.ald_groups, l.flags, l.expected_prev, l.expected, l.observed_prev,"
	" l.observed, l.exposure_prev, l.exposure, l.amount_cents"
	" FROM ipep_lines l JOIN ipep_runs r ON r.id = l.run_id"
	" WHERE l.run_id = $4 AND " RUN_SCOPE " AND l.patient_id > $5 ORDER BY l.patient_id LIMIT $6",
	6
};

int store_ipep_lines(struct db_conn *c, const struct caller *caller, int64_t run_id, int64_t after, int limit,
		     json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], a[24], l[16];
	const char *p[6];

	scope_params4(caller, run_id, &sp, sid, p);
	snprintf(a, sizeof(a), "%lld", (long long)after);
	snprintf(l, sizeof(l), "%d", limit);
	p[4] = a;
	p[5] = l;
	return store_all(c, &Q_LINES, p, items, err);
}

