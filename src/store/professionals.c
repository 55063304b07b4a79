#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/store.h"
#include "a51/banned.h"

#define MEMBER_COLUMNS                                                                                     \
	"m.id, m.structure_id, p.rpps, p.profession, p.last_name, p.first_name, m.start_on::text AS start_on," \
	" m.end_on::text AS end_on, m.fte, m.version"

/* A professional is registered once (the RPPS directory is national); a
 * structure adding a known RPPS may not rename it for the others. */
static const struct db_stmt Q_UPSERT_PRO = {
	"professional_upsert",
	"WITH ins AS (INSERT INTO professionals (rpps, profession, last_name, first_name) VALUES ($1, $2, $3, $4)"
	" ON CONFLICT (rpps) DO NOTHING RETURNING id, profession)"
	" SELECT id, profession FROM ins UNION ALL SELECT id, profession FROM professionals WHERE rpps = $1"
	" AND NOT EXISTS (SELECT 1 FROM ins)",
	4
};

/* Periods of one professional in one structure never overlap. */
static const struct db_stmt Q_OVERLAP = {
	"membership_overlap",
	"SELECT id FROM memberships WHERE professional_id = $1 AND structure_id = $2 AND id <> coalesce($5, 0)"
	" AND daterange(start_on, end_on, '[]') && daterange($3::date, $4::date, '[]') LIMIT 1",
	5
};

static const struct db_stmt Q_INSERT = {
	"membership_insert",
	"WITH m AS (INSERT INTO memberships (professional_id, structure_id, start_on, end_on, fte)"
	" VALUES ($1, $2, $3, $4, coalesce($5::numeric, 1)) RETURNING *)"
	" SELECT " MEMBER_COLUMNS " FROM m JOIN professionals p ON p.id = m.professional_id",
	5
};

static int overlap(struct db_conn *c, const char *pro_id, const char *sid, const char *start, const char *end,
		   const char *self, struct a51_error *err)
{
	const char *params[5] = { pro_id, sid, start, end, self };
	PGresult *res = db_exec(c, &Q_OVERLAP, params, err);
	int rc = 0;

	if (!res)
		return err->code;
	if (PQntuples(res))
		rc = a51_error_set(err, A51_ECONFLICT, "start_on",
				   "this professional is already a member of the structure during that period "
				   "(membership %s)", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

int store_member_add(struct db_conn *c, const struct actor *a, int64_t structure_id, const struct member_in *in,
		     json_t **out, struct a51_error *err)
{
	struct audit_rec rec = { .action = "create", .resource_type = "membership" };
	const char *pro[4] = { in->rpps, in->profession, in->last_name, in->first_name };
	char region[4], sid[24], pro_id[24];
	PGresult *res;
	int rc;

	if ((rc = store_reach_structure(c, a->caller, structure_id, region, err)) < 0)
		return rc;
	res = db_exec(c, &Q_UPSERT_PRO, pro, err);
	if (!res)
		return err->code;
	if (strcmp(PQgetvalue(res, 0, 1), in->profession) != 0) {
		rc = a51_error_set(err, A51_ECONFLICT, "profession", "RPPS %s is registered with profession %s",
				   in->rpps, PQgetvalue(res, 0, 1));
		PQclear(res);
		return rc;
	}
	snprintf(pro_id, sizeof(pro_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	if ((rc = overlap(c, pro_id, sid, in->start_on, in->end_on, NULL, err)) < 0)
		return rc;
	{
		const char *params[5] = { pro_id, sid, in->start_on, in->end_on, in->fte };
		if ((rc = store_one(c, &Q_INSERT, params, out, err)) < 0)
			return rc;
	}
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld",
		 (long long)json_integer_value(json_object_get(*out, "id")));
	rec.region = region;
	rec.structure_id = structure_id;
	rec.after = *out;
	return store_audit(c, a, &rec, err);
}

static const struct db_stmt Q_LIST = {
	"members_list",
	"SELECT " MEMBER_COLUMNS " FROM memberships m JOIN professionals p ON p.id = m.professional_id"
	" JOIN structures s ON s.id = m.structure_id"
	" WHERE m.structure_id = $4 AND " STORE_SCOPE_STRUCTURE("s")
	" AND ($5::date IS NULL OR (m.start_on <= $5 AND (m.end_on IS NULL OR m.end_on >= $5)))"
	" ORDER BY p.last_name, p.first_name, m.start_on",
	5
};

int store_members_list(struct db_conn *c, const struct caller *caller, int64_t structure_id, const char *on,
		       json_t **items, struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], region[4];
	const char *params[5];
	int rc;

	if ((rc = store_reach_structure(c, caller, structure_id, region, err)) < 0)
		return rc;
	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	params[4] = on;
	return store_all(c, &Q_LIST, params, items, err);
}

static const struct db_stmt Q_MEMBER = {
	"member_get",
	"SELECT " MEMBER_COLUMNS ", m.professional_id FROM memberships m JOIN professionals p ON p.id = m.professional_id"
	" WHERE m.id = $1 AND m.structure_id = $2",
	2
};

static const struct db_stmt Q_UPDATE = {
	"member_update",
	"WITH m AS (UPDATE memberships m SET end_on = CASE WHEN $4 THEN $5::date ELSE m.end_on END,"
	" fte = coalesce($6::numeric, m.fte), version = m.version + 1"
	" WHERE m.id = $1 AND m.structure_id = $2 AND m.version = $3 RETURNING m.*)"
	" SELECT " MEMBER_COLUMNS " FROM m JOIN professionals p ON p.id = m.professional_id",
	6
};

int store_member_update(struct db_conn *c, const struct actor *a, int64_t structure_id, int64_t membership_id,
			int expected_version, const char *end_on, bool set_end, const char *fte, json_t **out,
			struct a51_error *err)
{
	struct audit_rec rec = { .action = "update", .resource_type = "membership" };
	char region[4], sid[24], mid[24], ver[16];
	const char *params[6];
	json_t *before = NULL;
	int rc;

	if ((rc = store_reach_structure(c, a->caller, structure_id, region, err)) < 0)
		return rc;
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	snprintf(mid, sizeof(mid), "%lld", (long long)membership_id);
	snprintf(ver, sizeof(ver), "%d", expected_version);
	params[0] = mid;
	params[1] = sid;
	if ((rc = store_one(c, &Q_MEMBER, params, &before, err)) < 0)
		return rc == A51_ENOTFOUND ? a51_error_set(err, A51_ENOTFOUND, "id", "no such membership") : rc;
	if (json_integer_value(json_object_get(before, "version")) != expected_version) {
		rc = a51_error_set(err, A51_ECONFLICT, "If-Match", "the membership changed (version %d, not %d)",
				   (int)json_integer_value(json_object_get(before, "version")), expected_version);
		goto out;
	}
	if (set_end && end_on && strcmp(end_on, json_string_value(json_object_get(before, "start_on"))) < 0) {
		rc = a51_error_set(err, A51_EINVAL, "end_on", "end_on is before start_on");
		goto out;
	}
	if (set_end) {
		char pro_id[24];
		snprintf(pro_id, sizeof(pro_id), "%lld",
			 (long long)json_integer_value(json_object_get(before, "professional_id")));
		if ((rc = overlap(c, pro_id, sid, json_string_value(json_object_get(before, "start_on")), end_on, mid,
				  err)) < 0)
			goto out;
	}
	params[2] = ver;
	params[3] = set_end ? "true" : "false";
	params[4] = end_on;
	params[5] = fte;
	if ((rc = store_one(c, &Q_UPDATE, params, out, err)) < 0) {
		if (rc == A51_ENOTFOUND)
			rc = a51_error_set(err, A51_ECONFLICT, "If-Match", "the membership changed meanwhile");
		goto out;
	}
	json_object_del(before, "professional_id");
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%s", mid);
	rec.region = region;
	rec.structure_id = structure_id;
	rec.before = before;
	rec.after = *out;
	rc = store_audit(c, a, &rec, err);
out:
	json_decref(before);
	return rc;
}

/* A professional with the memberships the caller may see; 404 when it sees none
 * (a national caller sees every professional). */
static const struct db_stmt Q_PRO = {
	"professional_get",
	"SELECT p.rpps, p.profession, p.last_name, p.first_name,"
	" coalesce((SELECT json_agg(json_build_object('id', m.id, 'structure_id', m.structure_id,"
	"   'structure_name', s.name, 'start_on', m.start_on, 'end_on', m.end_on, 'fte', m.fte) ORDER BY m.start_on)"
	"   FROM memberships m JOIN structures s ON s.id = m.structure_id"
	"   WHERE m.professional_id = p.id AND " STORE_SCOPE_STRUCTURE("s") "), '[]') AS memberships"
	" FROM professionals p WHERE p.rpps = $4"
	" AND ($1 = 'national' OR EXISTS (SELECT 1 FROM memberships m JOIN structures s ON s.id = m.structure_id"
	"   WHERE m.professional_id = p.id AND " STORE_SCOPE_STRUCTURE("s") "))",
	4
};

int store_professional_get(struct db_conn *c, const struct caller *caller, const char *rpps, json_t **out,
			   struct a51_error *err)
{
	struct scope_params sp;
	const char *params[4];
	int rc;

	store_scope(caller, &sp);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = rpps;
	rc = store_one(c, &Q_PRO, params, out, err);
	if (rc == A51_ENOTFOUND)
		a51_error_set(err, A51_ENOTFOUND, "rpps", "no such professional");
	return rc;
}
