#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/store.h"
#include "a51/banned.h"

#define JOB_COLUMNS                                                                                      \
	"j.id, j.kind, j.status, j.progress, j.message, j.attempts, j.cancel_requested, j.scope,"          \
	" j.region, j.structure_id, j.result_type, j.result_id,"                                          \
	" to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS created_at,"   \
	" to_char(j.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS started_at,"   \
	" to_char(j.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS finished_at," \
	" extract(epoch FROM (coalesce(j.finished_at, now()) - j.started_at))::real AS elapsed_s, j.params"

/* National callers see every job; an ARS its region's; a structure its own. */
#define JOB_SCOPE                                                                                        \
	"($1 = 'national' OR ($1 = 'ars' AND j.region = $2) OR ($1 = 'structure' AND j.structure_id = $3::bigint))"

/* Nothing is queued past max_queued jobs waiting (all a51d together): the
 * submitter is told to come back rather than the queue growing without bound.
 * Two submissions at once may both take the last place: the bound is soft by
 * that much. */
static const struct db_stmt Q_SUBMIT = {
	"job_submit",
	"WITH j AS (INSERT INTO jobs (kind, params, status, token_id, scope, region, structure_id, request_id)"
	" SELECT $1::text, $2::jsonb, 'queued', $3::bigint, $4::text, $5::text, $6::bigint, $7::text"
	" WHERE $8::int = 0 OR (SELECT count(*) FROM jobs WHERE status = 'queued') < $8::int RETURNING *)"
	" SELECT " JOB_COLUMNS ", pg_notify('a51_jobs', j.id::text) IS NULL AS notified FROM j",
	8
};

int store_job_submit(struct db_conn *c, const struct actor *a, const struct job_new *jn, json_t **out,
		     struct a51_error *err)
{
	/* 15 digits: a definition's 0.99 reads back as 0.99, not 0.98999999999999999 */
	char *params = json_dumps(jn->params, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	char token[24], sid[24], maxq[16];
	const char *p[8];
	int rc;

	if (!params)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(maxq, sizeof(maxq), "%d", jn->max_queued > 0 ? jn->max_queued : 0);
	snprintf(token, sizeof(token), "%lld", (long long)a->caller->token_id);
	snprintf(sid, sizeof(sid), "%lld", (long long)jn->structure_id);
	p[0] = jn->kind;
	p[1] = params;
	p[2] = a->caller->token_id ? token : NULL;
	p[3] = a->caller->scope;
	p[4] = jn->region;
	p[5] = jn->structure_id ? sid : NULL;
	p[6] = a->request_id;
	p[7] = maxq;
	rc = store_one(c, &Q_SUBMIT, p, out, err);
	free(params);
	if (rc == A51_ENOTFOUND)
		return a51_error_set(err, A51_EUNAVAIL, "jobs",
				     "the job queue is full: %d jobs are waiting (A51_MAX_QUEUED_JOBS); retry later",
				     jn->max_queued);
	if (rc < 0)
		return rc;
	json_object_del(*out, "notified");
	{
		/* who asked for what: the submission is audited like any write */
		struct audit_rec rec = { .action = "submit", .resource_type = "job", .region = jn->region,
					 .structure_id = jn->structure_id };
		json_t *after = json_pack("{s:s,s:O}", "kind", jn->kind, "params", jn->params);
		snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld",
			 (long long)json_integer_value(json_object_get(*out, "id")));
		rec.after = after;
		rc = store_audit(c, a, &rec, err);
		json_decref(after);
	}
	return rc;
}

static const struct db_stmt Q_GET = {
	"job_get", "SELECT " JOB_COLUMNS " FROM jobs j WHERE j.id = $4 AND " JOB_SCOPE, 4
};

int store_job_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *p[4];
	int rc;

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = sid;
	rc = store_one(c, &Q_GET, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no job %lld", (long long)id);
	return rc;
}

static const struct db_stmt Q_LIST = {
	"jobs_list",
	"SELECT " JOB_COLUMNS " FROM jobs j WHERE " JOB_SCOPE " AND ($4::text IS NULL OR j.status = $4)"
	" AND ($5::text IS NULL OR j.kind = $5) AND ($6::bigint = 0 OR j.id < $6) ORDER BY j.id DESC LIMIT $7",
	7
};

int store_jobs_list(struct db_conn *c, const struct caller *caller, const struct job_filter *f, json_t **items,
		    struct a51_error *err)
{
	struct scope_params sp;
	char before[24], limit[16];
	const char *p[7];

	store_scope(caller, &sp);
	snprintf(before, sizeof(before), "%lld", (long long)f->before_id);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = f->status;
	p[4] = f->kind;
	p[5] = before;
	p[6] = limit;
	return store_all(c, &Q_LIST, p, items, err);
}

static const struct db_stmt Q_CANCEL = {
	"job_cancel",
	"WITH j AS (UPDATE jobs j SET"
	" status = CASE WHEN j.status = 'queued' THEN 'cancelled' ELSE j.status END,"
	" finished_at = CASE WHEN j.status = 'queued' THEN now() ELSE j.finished_at END,"
	" message = CASE WHEN j.status = 'queued' THEN 'cancelled before it started' ELSE j.message END,"
	" cancel_requested = true"
	" WHERE j.id = $4 AND j.status IN ('queued', 'running') AND " JOB_SCOPE
	/* a job is cancelled by who asked for it or above: a structure cannot stop the payer's run of it */
	" AND ($1 = 'national' OR ($1 = 'ars' AND j.scope <> 'national') OR j.scope = $5) RETURNING j.*)"
	/* the a51d running it hears at once (LISTEN a51_jobs), not at its next heartbeat */
	" SELECT " JOB_COLUMNS ", pg_notify('a51_jobs', 'cancel:' || j.id) IS NULL AS notified FROM j",
	5
};

int store_job_cancel(struct db_conn *c, const struct actor *a, int64_t id, json_t **out, struct a51_error *err)
{
	struct scope_params sp;
	struct audit_rec rec = { .action = "cancel", .resource_type = "job" };
	char sid[24];
	const char *p[5];
	int rc;

	store_scope(a->caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sp.v[2];
	p[3] = sid;
	p[4] = a->caller->scope;
	if ((rc = store_one(c, &Q_CANCEL, p, out, err)) == A51_ENOTFOUND) {
		/* not there for this caller, already finished, or someone else's to stop */
		json_t *job;
		const char *status;
		if ((rc = store_job_get(c, a->caller, id, &job, err)) < 0)
			return rc;
		status = json_string_value(json_object_get(job, "status"));
		if (strcmp(status, "queued") == 0 || strcmp(status, "running") == 0)
			rc = a51_error_set(err, A51_EFORBIDDEN, "id", "job %lld was asked for by %s: only it, or above it, "
							       "may cancel it", (long long)id,
					   json_string_value(json_object_get(job, "scope")));
		else
			rc = a51_error_set(err, A51_ECONFLICT, "status", "job %lld has already %s: it cannot be cancelled",
					   (long long)id, status);
		json_decref(job);
		return rc;
	}
	if (rc < 0)
		return rc;
	json_object_del(*out, "notified");
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%s", sid);
	rec.region = json_string_value(json_object_get(*out, "region"));
	rec.structure_id = json_integer_value(json_object_get(*out, "structure_id"));
	rec.after = *out;
	return store_audit(c, a, &rec, err);
}

/* Jobs whose lease expired once too often are failed, not retried forever. */
static const struct db_stmt Q_GIVE_UP = {
	"job_give_up",
	"UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END, finished_at = now(),"
	" lease_until = NULL, message = CASE WHEN cancel_requested THEN 'cancelled (its worker had stopped)'"
	" ELSE 'abandoned: its worker stopped ' || attempts || ' times before it finished' END"
	" WHERE status = 'running' AND lease_until < now() AND (attempts >= max_attempts OR cancel_requested)",
	0
};
static const struct db_stmt Q_CLAIM = {
	"job_claim",
	"UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, worker = $1,"
	" lease_until = now() + make_interval(secs => $2), heartbeat_at = now(),"
	" started_at = coalesce(j.started_at, now()), progress = 0"
	" WHERE j.id = (SELECT id FROM jobs WHERE (status = 'queued' AND NOT cancel_requested)"
	"  OR (status = 'running' AND lease_until < now() AND attempts < max_attempts)"
	"  ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)"
	" RETURNING j.id, j.kind, j.params, j.scope, j.region, j.structure_id, j.token_id, j.request_id, j.attempts,"
	" j.cancel_requested",
	2
};

int store_job_claim(struct db_conn *c, const char *worker, int lease_s, json_t **out, struct a51_error *err)
{
	char lease[16];
	const char *p[2] = { worker, lease };
	PGresult *res;
	int rc;

	*out = NULL;
	snprintf(lease, sizeof(lease), "%d", lease_s);
	if (!(res = db_exec(c, &Q_GIVE_UP, NULL, err)))
		return err->code;
	PQclear(res);
	rc = store_one(c, &Q_CLAIM, p, out, err);
	return rc == A51_ENOTFOUND ? 0 : rc;
}

/* progress: [{"id": n, "progress": f, "message": "..."}] */
static const struct db_stmt Q_HEARTBEAT = {
	"job_heartbeat",
	"WITH p AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x(id bigint, progress real, message text))"
	" UPDATE jobs j SET lease_until = now() + make_interval(secs => $2), heartbeat_at = now(),"
	" progress = greatest(0, least(1, p.progress)), message = coalesce(p.message, j.message)"
	" FROM p WHERE j.id = p.id AND j.worker = $1 AND j.status = 'running'"
	" RETURNING j.id, j.cancel_requested",
	3
};

int store_job_heartbeat(struct db_conn *c, const char *worker, int lease_s, const json_t *progress,
			json_t **cancelled, struct a51_error *err)
{
	char lease[16], *text = json_dumps(progress, JSON_COMPACT);
	const char *p[3] = { worker, lease, text };
	PGresult *res;

	*cancelled = json_array();
	snprintf(lease, sizeof(lease), "%d", lease_s);
	res = text ? db_exec(c, &Q_HEARTBEAT, p, err) : NULL;
	free(text);
	if (!res)
		return err->code ? err->code : a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	for (int i = 0; i < PQntuples(res); i++)
		if (PQgetvalue(res, i, 1)[0] == 't')
			json_array_append_new(*cancelled, json_integer(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
	PQclear(res);
	return 0;
}

/* A stopping a51d hands its unfinished job back at once (no attempt spent).
 * One cancelled meanwhile ends cancelled: queued with cancel_requested, it
 * would never be claimed. */
static const struct db_stmt Q_RELEASE = {
	"job_release",
	"UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END, worker = NULL,"
	" lease_until = NULL, attempts = greatest(attempts - 1, 0), progress = 0,"
	" finished_at = CASE WHEN cancel_requested THEN now() END,"
	" message = CASE WHEN cancel_requested THEN 'cancelled (its a51d was stopping)'"
	" ELSE 'handed back by a stopping a51d: it will restart' END"
	" WHERE id = $1 AND worker = $2 AND status = 'running'",
	2
};
/* A job that lost its database connection runs again; the attempt counts,
 * so that one that keeps losing it ends failed. */
static const struct db_stmt Q_REQUEUE = {
	"job_requeue",
	"UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled'"
	" WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,"
	" worker = NULL, lease_until = NULL, progress = 0,"
	" finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END,"
	" message = CASE WHEN cancel_requested THEN 'cancelled (its database connection was lost)'"
	" WHEN attempts >= max_attempts THEN 'failed: the database connection was lost in each of its ' || attempts || ' attempts'"
	" ELSE 'the database connection was lost: queued again' END"
	/* the attempt too: its lease may have expired meanwhile, and another thread of
	 * the same a51d (the same worker name) be running the next one */
	" WHERE id = $1 AND worker = $2 AND status = 'running' AND attempts = $3::int RETURNING status",
	3
};

int store_job_requeue(struct db_conn *c, int64_t id, const char *worker, int attempt, char status[16],
		      struct a51_error *err)
{
	char sid[24], att[16];
	const char *p[3] = { sid, worker, att };
	PGresult *res;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	snprintf(att, sizeof(att), "%d", attempt);
	if (!(res = db_exec(c, &Q_REQUEUE, p, err)))
		return err->code;
	snprintf(status, 16, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return 0;
}

int store_job_release(struct db_conn *c, int64_t id, const char *worker, struct a51_error *err)
{
	char sid[24];
	const char *p[2] = { sid, worker };
	PGresult *res;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	if (!(res = db_exec(c, &Q_RELEASE, p, err)))
		return err->code;
	PQclear(res);
	return 0;
}

static const struct db_stmt Q_FINISH = {
	"job_finish",
	"UPDATE jobs SET status = $3, message = $4, result_type = $5, result_id = $6,"
	" finished_at = clock_timestamp(), progress = CASE WHEN $3 = 'succeeded' THEN 1 ELSE progress END, lease_until = NULL"
	" WHERE id = $1 AND worker = $2 AND status = 'running'",
	6
};

int store_job_finish(struct db_conn *c, int64_t id, const char *worker, const char *status, const char *message,
		     const char *result_type, int64_t result_id, struct a51_error *err)
{
	char sid[24], rid[24];
	const char *p[6];
	PGresult *res;
	int rc = 0;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	snprintf(rid, sizeof(rid), "%lld", (long long)result_id);
	p[0] = sid;
	p[1] = worker;
	p[2] = status;
	p[3] = message;
	p[4] = result_type;
	p[5] = result_type ? rid : NULL;
	if (!(res = db_exec(c, &Q_FINISH, p, err)))
		return err->code;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		rc = a51_error_set(err, A51_ECONFLICT, "job",
				   "job %lld is no longer this worker's: its lease expired and another took it",
				   (long long)id);
	PQclear(res);
	return rc;
}
