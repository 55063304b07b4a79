#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/store.h"
#include "a51/banned.h"

#define STRUCTURE_COLUMNS                                                                                   \
	"s.id, s.kind, s.name, s.finess, s.siret, s.siren, s.region, s.commune, s.legal_form,"              \
	" s.opened_on::text AS opened_on, s.closed_on::text AS closed_on, s.version,"                       \
	" (SELECT coalesce(json_agg(DISTINCT e.experiment ORDER BY e.experiment), '[]') FROM enrolments e"  \
	"  WHERE e.structure_id = s.id AND e.withdrawn_on IS NULL) AS experiments,"                         \
	" to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,"       \
	" to_char(s.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at"

/* The commune must lie in the structure's region: its département says where. */
static const struct db_stmt Q_COMMUNE_REGION = {
	"commune_region", "SELECT region FROM departements WHERE code = commune_departement($1)", 1
};

static int check_commune(struct db_conn *c, const char *commune, const char *region, struct a51_error *err)
{
	const char *params[1] = { commune };
	PGresult *res = db_exec(c, &Q_COMMUNE_REGION, params, err);
	int rc = 0;

	if (!res)
		return err->code;
	if (PQntuples(res) != 1)
		rc = a51_error_set(err, A51_EINVAL, "commune", "no département matches commune %s", commune);
	else if (strcmp(PQgetvalue(res, 0, 0), region) != 0)
		rc = a51_error_set(err, A51_EINVAL, "commune", "commune %s lies in region %s, not in region %s", commune,
				   PQgetvalue(res, 0, 0), region);
	PQclear(res);
	return rc;
}

static void audit_of(struct audit_rec *rec, const char *action, const json_t *before, const json_t *after)
{
	const json_t *ref = after ? after : before;

	memset(rec, 0, sizeof(*rec));
	rec->action = action;
	rec->resource_type = "structure";
	snprintf(rec->resource_id, sizeof(rec->resource_id), "%lld",
		 (long long)json_integer_value(json_object_get(ref, "id")));
	rec->region = json_string_value(json_object_get(ref, "region"));
	rec->structure_id = json_integer_value(json_object_get(ref, "id"));
	rec->before = before;
	rec->after = after;
}

static const struct db_stmt Q_CREATE = {
	"structure_create",
	"WITH s AS (INSERT INTO structures (kind, name, finess, siret, siren, region, commune, legal_form, opened_on,"
	" closed_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10::date) RETURNING *)"
	" SELECT " STRUCTURE_COLUMNS " FROM s",
	10
};

int store_structure_create(struct db_conn *c, const struct actor *a, const struct structure_in *in, json_t **out,
			   struct a51_error *err)
{
	const char *params[10] = { in->kind, in->name, in->finess, in->siret, in->siren,
				   in->region, in->commune, in->legal_form, in->opened_on, in->closed_on };
	struct audit_rec rec;
	int rc;

	if ((rc = check_commune(c, in->commune, in->region, err)) < 0)
		return rc;
	if ((rc = store_one(c, &Q_CREATE, params, out, err)) < 0) {
		if (rc == A51_ECONFLICT)
			return a51_error_set(err, A51_ECONFLICT, "finess", "a structure with this FINESS exists already");
		return rc;
	}
	audit_of(&rec, "create", NULL, *out);
	return store_audit(c, a, &rec, err);
}

static const struct db_stmt Q_GET = {
	"structure_get",
	"SELECT " STRUCTURE_COLUMNS " FROM structures s WHERE s.id = $4 AND " STORE_SCOPE_STRUCTURE("s"),
	4
};

int store_structure_get(struct db_conn *c, const struct caller *caller, int64_t id, json_t **out,
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
		a51_error_set(err, A51_ENOTFOUND, "id", "no structure %lld", (long long)id);
	return rc;
}

static const struct db_stmt Q_LIST = {
	"structures_list",
	"SELECT " STRUCTURE_COLUMNS " FROM structures s WHERE " STORE_SCOPE_STRUCTURE("s")
	" AND ($4::text IS NULL OR s.region = $4)"
	" AND ($5::text IS NULL OR s.kind = $5)"
	" AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM enrolments e WHERE e.structure_id = s.id"
	"  AND e.experiment = $6 AND e.withdrawn_on IS NULL))"
	" AND s.id > $7 ORDER BY s.id LIMIT $8",
	8
};

int store_structures_list(struct db_conn *c, const struct caller *caller, const struct structure_filter *f,
			  json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char after[24], limit[16];
	const char *params[8];

	store_scope(caller, &sp);
	snprintf(after, sizeof(after), "%lld", (long long)f->after_id);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = f->region;
	params[4] = f->kind;
	params[5] = f->experiment;
	params[6] = after;
	params[7] = limit;
	return store_all(c, &Q_LIST, params, items, err);
}

/* Each field changes only when its flag is set, so a PATCH can clear one (null). */
static const struct db_stmt Q_UPDATE = {
	"structure_update",
	"WITH s AS (UPDATE structures s SET"
	"  name = CASE WHEN $6 THEN $7 ELSE s.name END,"
	"  finess = CASE WHEN $8 THEN $9 ELSE s.finess END,"
	"  siret = CASE WHEN $10 THEN $11 ELSE s.siret END,"
	"  siren = CASE WHEN $12 THEN $13 ELSE s.siren END,"
	"  commune = CASE WHEN $14 THEN $15 ELSE s.commune END,"
	"  legal_form = CASE WHEN $16 THEN $17 ELSE s.legal_form END,"
	"  opened_on = CASE WHEN $18 THEN $19::date ELSE s.opened_on END,"
	"  closed_on = CASE WHEN $20 THEN $21::date ELSE s.closed_on END,"
	"  kind = CASE WHEN $22 THEN $23 ELSE s.kind END,"
	"  version = s.version + 1, updated_at = now()"
	" WHERE s.id = $4 AND s.version = $5 AND " STORE_SCOPE_STRUCTURE("s") " RETURNING s.*)"
	" SELECT " STRUCTURE_COLUMNS " FROM s",
	23
};

int store_structure_update(struct db_conn *c, const struct actor *a, int64_t id, int expected_version,
			   const struct structure_in *in, json_t **out, struct a51_error *err)
{
	static const unsigned flags[] = { SF_NAME, SF_FINESS, SF_SIRET, SF_SIREN, SF_COMMUNE,
					  SF_LEGAL_FORM, SF_OPENED_ON, SF_CLOSED_ON, SF_KIND };
	const char *values[] = { in->name, in->finess, in->siret, in->siren, in->commune,
				 in->legal_form, in->opened_on, in->closed_on, in->kind };
	struct scope_params sp;
	struct audit_rec rec;
	char sid[24], ver[16];
	const char *params[23];
	json_t *before = NULL;
	int rc;

	/* Read first: to tell 404 from 412, and for the audit's before-image. */
	if ((rc = store_structure_get(c, a->caller, id, &before, err)) < 0)
		return rc;
	if (json_integer_value(json_object_get(before, "version")) != expected_version) {
		json_decref(before);
		return a51_error_set(err, A51_ECONFLICT, "If-Match", "the structure changed (version %d, not %d)",
				     (int)json_integer_value(json_object_get(before, "version")), expected_version);
	}
	if ((in->set & SF_COMMUNE) &&
	    (rc = check_commune(c, in->commune, json_string_value(json_object_get(before, "region")), err)) < 0) {
		json_decref(before);
		return rc;
	}
	store_scope(a->caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	snprintf(ver, sizeof(ver), "%d", expected_version);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	params[4] = ver;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		params[5 + 2 * i] = (in->set & flags[i]) ? "true" : "false";
		params[6 + 2 * i] = values[i];
	}
	rc = store_one(c, &Q_UPDATE, params, out, err);
	if (rc == A51_ENOTFOUND) /* changed between the read and the write */
		rc = a51_error_set(err, A51_ECONFLICT, "If-Match", "the structure changed meanwhile");
	if (rc == 0) {
		audit_of(&rec, json_string_value(json_object_get(*out, "closed_on")) &&
					       !json_string_value(json_object_get(before, "closed_on"))
				       ? "close"
				       : "update",
			 before, *out);
		rc = store_audit(c, a, &rec, err);
	}
	json_decref(before);
	return rc;
}
