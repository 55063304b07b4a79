#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

static const struct db_stmt Q_LOOKUP = {
	"token_lookup",
	"SELECT t.id, t.scope_kind, coalesce(t.region, ''), coalesce(t.structure_id, 0), t.can_write,"
	" coalesce((extract(epoch FROM t.expires_at) * 1000)::bigint, 0)"
	" FROM tokens t"
	" WHERE t.hash = decode($1, 'hex') AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())",
	1
};

int store_token_lookup(struct db_conn *c, const uint8_t hash[32], struct caller *out, int64_t *expires_ms,
		       struct a51_error *err)
{
	char hex[65];
	const char *params[1] = { hex };
	PGresult *res;
	const char *kind;

	util_hex(hash, 32, hex);
	res = db_exec(c, &Q_LOOKUP, params, err);
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return a51_error_set(err, A51_ENOTFOUND, "token", "unknown, expired or revoked token");
	}
	memset(out, 0, sizeof(*out));
	util_parse_i64(PQgetvalue(res, 0, 0), 1, INT64_MAX, &out->token_id);
	kind = PQgetvalue(res, 0, 1);
	out->kind = strcmp(kind, "national") == 0 ? CALLER_NATIONAL
		    : strcmp(kind, "ars") == 0	  ? CALLER_ARS
						  : CALLER_STRUCTURE;
	snprintf(out->region, sizeof(out->region), "%s", PQgetvalue(res, 0, 2));
	util_parse_i64(PQgetvalue(res, 0, 3), 0, INT64_MAX, &out->structure_id);
	out->write = PQgetvalue(res, 0, 4)[0] == 't';
	util_parse_i64(PQgetvalue(res, 0, 5), 0, INT64_MAX, expires_ms);
	auth_scope_format(out);
	PQclear(res);
	return 0;
}

#define TOKEN_COLUMNS                                                                                   \
	"t.id, t.name, CASE t.scope_kind WHEN 'national' THEN 'national' WHEN 'ars' THEN 'ars:' || t.region" \
	" ELSE 'structure:' || t.structure_id END AS scope, t.can_write AS write, t.prefix,"                 \
	" to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,"       \
	" t.created_by,"                                                                                     \
	" to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at,"       \
	" to_char(t.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked_at"

static const struct db_stmt Q_CREATE = {
	"token_create",
	"WITH t AS (INSERT INTO tokens (name, scope_kind, region, structure_id, can_write, hash, prefix, created_by,"
	" expires_at) VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), $7, $8, $9) RETURNING *)"
	" SELECT " TOKEN_COLUMNS " FROM t",
	9
};

int store_token_create(struct db_conn *c, const struct actor *a, const struct token_new *t, json_t **out,
		       struct a51_error *err)
{
	static const char *const kinds[] = { "", "national", "ars", "structure" };
	char hex[65], sid[24], by[24], structure_region[4];
	const char *params[9];
	struct audit_rec rec = { .action = "create", .resource_type = "token" };
	int rc;

	util_hex(t->hash, 32, hex);
	snprintf(sid, sizeof(sid), "%lld", (long long)t->scope.structure_id);
	snprintf(by, sizeof(by), "%lld", (long long)a->caller->token_id);
	params[0] = t->name;
	params[1] = kinds[t->scope.kind];
	params[2] = t->scope.kind == CALLER_ARS ? t->scope.region : NULL;
	params[3] = t->scope.kind == CALLER_STRUCTURE ? sid : NULL;
	params[4] = t->scope.write ? "true" : "false";
	params[5] = hex;
	params[6] = t->prefix;
	params[7] = a->caller->token_id ? by : NULL;
	params[8] = t->expires_at;
	if ((rc = store_one(c, &Q_CREATE, params, out, err)) < 0)
		return rc;
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%lld",
		 (long long)json_integer_value(json_object_get(*out, "id")));
	rec.region = t->scope.kind == CALLER_ARS ? t->scope.region : NULL;
	rec.structure_id = t->scope.kind == CALLER_STRUCTURE ? t->scope.structure_id : 0;
	if (t->scope.kind == CALLER_STRUCTURE) {
		/* the ARS of the structure's region must see this grant in its trail */
		if ((rc = store_structure_region(c, t->scope.structure_id, structure_region, err)) < 0)
			return rc;
		rec.region = structure_region;
	}
	rec.after = *out;
	return store_audit(c, a, &rec, err);
}

/* The region a token belongs to: its own, or its structure's. */
#define TOKEN_REGION "coalesce(t.region, (SELECT s.region FROM structures s WHERE s.id = t.structure_id))"

static const struct db_stmt Q_LIST = {
	"tokens_list",
	"SELECT " TOKEN_COLUMNS " FROM tokens t"
	" WHERE ($1 = 'national' OR ($1 = 'ars' AND " TOKEN_REGION " = $2))"
	" AND ($3 OR t.revoked_at IS NULL) ORDER BY t.id",
	3
};

int store_tokens_list(struct db_conn *c, const struct caller *caller, bool include_revoked, json_t **items,
		      struct a51_error *err)
{
	struct scope_params sp;
	const char *params[3];

	store_scope(caller, &sp);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = include_revoked ? "true" : "false";
	return store_all(c, &Q_LIST, params, items, err);
}

static const struct db_stmt Q_REVOKE = {
	"token_revoke",
	"WITH t AS (UPDATE tokens t SET revoked_at = coalesce(t.revoked_at, now())"
	" WHERE t.id = $3 AND ($1 = 'national' OR ($1 = 'ars' AND " TOKEN_REGION " = $2)) RETURNING t.*)"
	" SELECT " TOKEN_COLUMNS ", " TOKEN_REGION " AS region, t.structure_id AS structure,"
	" pg_notify('a51_tokens', t.id::text) IS NULL AS notified FROM t",
	3
};

int store_token_revoke(struct db_conn *c, const struct actor *a, int64_t id, json_t **out, struct a51_error *err)
{
	struct scope_params sp;
	struct audit_rec rec = { .action = "revoke", .resource_type = "token" };
	char sid[24];
	const char *params[3];
	json_t *region, *structure;
	int rc;

	store_scope(a->caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sid;
	if ((rc = store_one(c, &Q_REVOKE, params, out, err)) < 0)
		return rc == A51_ENOTFOUND ? a51_error_set(err, A51_ENOTFOUND, "id", "no such token") : rc;
	region = json_incref(json_object_get(*out, "region"));
	structure = json_incref(json_object_get(*out, "structure"));
	json_object_del(*out, "region");
	json_object_del(*out, "structure");
	json_object_del(*out, "notified");
	snprintf(rec.resource_id, sizeof(rec.resource_id), "%s", sid);
	rec.region = json_string_value(region);
	rec.structure_id = json_integer_value(structure);
	rec.after = *out;
	rc = store_audit(c, a, &rec, err);
	json_decref(region);
	json_decref(structure);
	return rc;
}

static const struct db_stmt Q_REGION = { "structure_region", "SELECT region FROM structures WHERE id = $1", 1 };

int store_structure_region(struct db_conn *c, int64_t id, char region[4], struct a51_error *err)
{
	char sid[24];
	const char *params[1] = { sid };
	PGresult *res;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	res = db_exec(c, &Q_REGION, params, err);
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return a51_error_set(err, A51_ENOTFOUND, "scope", "no structure %lld", (long long)id);
	}
	snprintf(region, 4, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
