#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/embed.h"
#include "a51/log.h"
#include "a51/params.h"
#include "a51/sha256.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

#define PSET_COLUMNS                                                                                 \
	"ps.id, ps.experiment, ps.year, ps.version, ps.label, ps.checksum, ps.origin, ps.created_by,"     \
	" to_char(ps.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

/* Identity of a body: SHA-256 of its canonical text (sorted keys, compact). */
static int body_checksum(const json_t *body, char out[65])
{
	uint8_t d[SHA256_LEN];
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	if (!text)
		return -1;
	sha256(text, strlen(text), d);
	util_hex(d, sizeof(d), out);
	free(text);
	return 0;
}

static const struct db_stmt Q_LATEST = {
	"pset_latest",
	"SELECT " PSET_COLUMNS ", ps.body FROM parameter_sets ps WHERE ps.experiment = $1 AND ps.year = $2"
	" ORDER BY ps.version DESC LIMIT 1",
	2
};

int store_param_set_latest(struct db_conn *c, const char *experiment, int year, json_t **out,
			   struct a51_error *err)
{
	char y[8];
	const char *params[2] = { experiment, y };
	int rc;

	snprintf(y, sizeof(y), "%d", year);
	rc = store_one(c, &Q_LATEST, params, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "year", "no %s parameter set for %d", experiment, year);
	return rc;
}

static const struct db_stmt Q_GET = {
	"pset_get", "SELECT " PSET_COLUMNS ", ps.body FROM parameter_sets ps WHERE ps.id = $1", 1
};

int store_param_set_get(struct db_conn *c, int64_t id, json_t **out, struct a51_error *err)
{
	char sid[24];
	const char *params[1] = { sid };
	int rc;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	rc = store_one(c, &Q_GET, params, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "id", "no parameter set %lld", (long long)id);
	return rc;
}

static const struct db_stmt Q_LIST = {
	"pset_list",
	"SELECT " PSET_COLUMNS " FROM parameter_sets ps WHERE ($1::text IS NULL OR ps.experiment = $1)"
	" AND ($2::smallint IS NULL OR ps.year = $2) ORDER BY ps.experiment, ps.year, ps.version",
	2
};

int store_param_sets_list(struct db_conn *c, const char *experiment, int year, json_t **items,
			  struct a51_error *err)
{
	char y[8];
	const char *params[2] = { experiment, year ? y : NULL };

	snprintf(y, sizeof(y), "%d", year);
	return store_all(c, &Q_LIST, params, items, err);
}

/* Versions are numbered under a lock so that two creators never take the same. */
static const struct db_stmt Q_LOCK = {
	"pset_lock", "LOCK TABLE parameter_sets IN SHARE ROW EXCLUSIVE MODE", 0
};
static const struct db_stmt Q_SAME = {
	"pset_same", "SELECT version FROM parameter_sets WHERE experiment = $1 AND year = $2 AND checksum = $3", 3
};
static const struct db_stmt Q_INSERT = {
	"pset_insert",
	"WITH ps AS (INSERT INTO parameter_sets (experiment, year, version, label, body, checksum, origin, created_by)"
	" SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4::jsonb, $5, $6, $7 FROM parameter_sets"
	" WHERE experiment = $1 AND year = $2 RETURNING *)"
	" SELECT " PSET_COLUMNS ", ps.body FROM ps",
	7
};

int store_param_set_create(struct db_conn *c, const struct actor *a, const json_t *body, const char *origin,
			   json_t **out, struct a51_error *err)
{
	struct audit_rec rec = { .action = "create", .resource_type = "parameter_set" };
	const char *experiment = json_string_value(json_object_get(body, "experiment"));
	char year[8], sum[65], by[24];
	char *text = NULL;
	const char *params[7];
	PGresult *res;
	json_t *summary;
	int rc;

	*out = NULL;
	snprintf(year, sizeof(year), "%d", (int)json_integer_value(json_object_get(body, "year")));
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	if (body_checksum(body, sum) < 0 || !(text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS)))
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	if (!(res = db_exec(c, &Q_LOCK, NULL, err))) {
		rc = err->code;
		goto out;
	}
	PQclear(res);
	params[0] = experiment;
	params[1] = year;
	params[2] = sum;
	if (!(res = db_exec(c, &Q_SAME, params, err))) {
		rc = err->code;
		goto out;
	}
	if (PQntuples(res)) {
		rc = a51_error_set(err, A51_ECONFLICT, "parameters", "identical to version %s of %s %s",
				   PQgetvalue(res, 0, 0), experiment, year);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	params[2] = json_string_value(json_object_get(body, "label"));
	params[3] = text;
	params[4] = sum;
	params[5] = origin;
	params[6] = a->caller->token_id ? by : NULL;
	if ((rc = store_one(c, &Q_INSERT, params, out, err)) < 0)
		goto out;
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld",
		 (long long)json_integer_value(json_object_get(*out, "id")));
	summary = json_pack("{s:s,s:s,s:O}", "experiment", experiment, "checksum", sum, "version",
			    json_object_get(*out, "version"));
	rec.after = summary;
	rc = store_audit(c, a, &rec, err);
	json_decref(summary);
out:
	free(text);
	return rc;
}

int store_param_sets_seed(PGconn *pg, int *inserted, struct a51_error *err)
{
	static const char insert[] =
		"INSERT INTO parameter_sets (experiment, year, version, label, body, checksum, origin)"
		" SELECT $1, $2::smallint, coalesce(max(version), 0) + 1, $3, $4::jsonb, $5, $6 FROM parameter_sets"
		" WHERE experiment = $1 AND year = $2::smallint"
		/* an aggregate yields its row even over no rows: HAVING drops it */
		" HAVING NOT EXISTS (SELECT 1 FROM parameter_sets WHERE experiment = $1 AND year = $2::smallint"
		"  AND checksum = $5)";
	int rc = 0;

	*inserted = 0;
	for (size_t i = 0; i < a51_param_seeds_count; i++) {
		const struct embedded_file *f = &a51_param_seeds[i];
		json_error_t je;
		json_t *body = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &je), *errors = json_array();
		char sum[65], year[8], origin[96], *text = NULL;
		const char *params[6];
		PGresult *res;

		if (!body || params_validate(body, errors) > 0) {
			char *why = body ? json_dumps(json_array_get(errors, 0), JSON_COMPACT) : NULL;
			rc = a51_error_set(err, A51_EINVAL, f->name, "parameter seed %s is invalid: %s", f->name,
					   body ? (why ? why : "?") : je.text);
			free(why);
			json_decref(body);
			json_decref(errors);
			break;
		}
		json_decref(errors);
		body_checksum(body, sum);
		text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
		snprintf(year, sizeof(year), "%d", (int)json_integer_value(json_object_get(body, "year")));
		snprintf(origin, sizeof(origin), "seed:%s", f->name);
		params[0] = json_string_value(json_object_get(body, "experiment"));
		params[1] = year;
		params[2] = json_string_value(json_object_get(body, "label"));
		params[3] = text;
		params[4] = sum;
		params[5] = origin;
		res = PQexecParams(pg, insert, 6, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = a51_error_set(err, A51_EDB, f->name, "seeding %s: %s", f->name, PQresultErrorMessage(res));
		} else if (strcmp(PQcmdTuples(res), "1") == 0) {
			(*inserted)++;
			log_info("params.seeded", "parameter set %s %s seeded from %s", params[0], year, f->name);
		}
		PQclear(res);
		free(text);
		json_decref(body);
		if (rc < 0)
			break;
	}
	return rc;
}
