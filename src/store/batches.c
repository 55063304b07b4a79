/* Batches of IPEP and EDS runs (a region's or the country's enrolled
 * structures in one job): the same shape in two tables, one statement set each. */
#include <stdio.h>
#include <stdlib.h>

#include "a51/params.h"
#include "a51/store.h"
#include "a51/banned.h"

#define BATCH_SQL(t)                                                                                          \
	{ { #t "_insert", "INSERT INTO " #t " (year, region, job_id, summary, created_by)"                         \
			  " VALUES ($1, $2, $3, '{}', $4) RETURNING id", 4 },                                       \
	  { #t "_finish", "UPDATE " #t " SET summary = $2::jsonb WHERE id = $1", 2 },                              \
	  { #t "_get", "SELECT b.id, b.year, b.region, b.job_id, b.summary,"                                       \
		       " to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at" \
		       " FROM " #t " b WHERE b.id = $3 AND ($1 = 'national' OR ($1 = 'ars' AND b.region = $2))", 3 } }

static const struct {
	struct db_stmt insert, finish, get;
} tables[] = {
	[EXP_IPEP] = BATCH_SQL(ipep_batches),
	[EXP_EDS] = BATCH_SQL(eds_batches),
};

static bool known(int experiment)
{
	return experiment == EXP_IPEP || experiment == EXP_EDS;
}

int store_batch_insert(struct db_conn *c, const struct actor *a, int experiment, int year, const char *region,
		       int64_t job_id, int64_t *id, struct a51_error *err)
{
	char y[8], j[24], by[24];
	const char *p[4] = { y, region, job_id ? j : NULL, NULL };
	json_t *row;
	int rc;

	if (!known(experiment))
		return a51_error_set(err, A51_EINTERNAL, "experiment", "no batches of experiment %d", experiment);
	snprintf(y, sizeof(y), "%d", year);
	snprintf(j, sizeof(j), "%lld", (long long)job_id);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	p[3] = a->caller->token_id ? by : NULL;
	if ((rc = store_one(c, &tables[experiment].insert, p, &row, err)) < 0)
		return rc;
	*id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	return 0;
}

int store_batch_finish(struct db_conn *c, int experiment, int64_t id, const json_t *summary, struct a51_error *err)
{
	char b[24], *text;
	const char *p[2] = { b, NULL };
	PGresult *res;

	if (!known(experiment))
		return a51_error_set(err, A51_EINTERNAL, "experiment", "no batches of experiment %d", experiment);
	if (!(text = json_dumps(summary, JSON_COMPACT)))
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	snprintf(b, sizeof(b), "%lld", (long long)id);
	p[1] = text;
	res = db_exec(c, &tables[experiment].finish, p, err);
	free(text);
	if (!res)
		return err->code;
	PQclear(res);
	return 0;
}

int store_batch_get(struct db_conn *c, const struct caller *caller, int experiment, int64_t id, json_t **out,
		    struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *p[3];
	int rc;

	*out = NULL;
	if (!known(experiment))
		return a51_error_set(err, A51_EINTERNAL, "experiment", "no batches of experiment %d", experiment);
	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	p[0] = sp.v[0];
	p[1] = sp.v[1];
	p[2] = sid;
	rc = store_one(c, &tables[experiment].get, p, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no %s batch %lld", experiment_name(experiment), (long long)id);
	return rc;
}
