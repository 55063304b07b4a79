#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/store.h"
#include "a51/banned.h"

/* Type OIDs of pg_type, stable across PostgreSQL versions. */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_JSON = 114, OID_FLOAT4 = 700,
       OID_FLOAT8 = 701, OID_NUMERIC = 1700, OID_JSONB = 3802 };

void store_scope(const struct caller *c, struct scope_params *sp)
{
	static const char *const kinds[] = { "", "national", "ars", "structure" };

	memset(sp, 0, sizeof(*sp));
	sp->v[0] = c->kind >= CALLER_NATIONAL && c->kind <= CALLER_STRUCTURE ? kinds[c->kind] : "";
	if (c->kind == CALLER_ARS) {
		snprintf(sp->region, sizeof(sp->region), "%s", c->region);
		sp->v[1] = sp->region;
	}
	if (c->kind == CALLER_STRUCTURE) {
		snprintf(sp->sid, sizeof(sp->sid), "%lld", (long long)c->structure_id);
		sp->v[2] = sp->sid;
	}
}

json_t *store_row_json(const PGresult *res, int row)
{
	json_t *o = json_object();
	int n = PQnfields(res);

	for (int col = 0; col < n; col++) {
		const char *name = PQfname(res, col), *v;
		json_t *j;

		if (PQgetisnull(res, row, col)) {
			json_object_set_new(o, name, json_null());
			continue;
		}
		v = PQgetvalue(res, row, col);
		switch (PQftype(res, col)) {
		case OID_INT2:
		case OID_INT4:
		case OID_INT8:
			j = json_integer(strtoll(v, NULL, 10));
			break;
		case OID_BOOL:
			j = json_boolean(v[0] == 't');
			break;
		case OID_FLOAT4:
		case OID_FLOAT8:
		case OID_NUMERIC:
			j = json_real(strtod(v, NULL));
			break;
		case OID_JSON:
		case OID_JSONB:
			j = json_loads(v, JSON_DECODE_ANY, NULL);
			break;
		default:
			j = json_string(v);
		}
		json_object_set_new(o, name, j ? j : json_null());
	}
	return o;
}

int store_one(struct db_conn *c, const struct db_stmt *st, const char *const *params, json_t **out,
	      struct a51_error *err)
{
	PGresult *res = db_exec(c, st, params, err);

	*out = NULL;
	if (!res)
		return err->code;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return a51_error_set(err, A51_ENOTFOUND, "", "not found");
	}
	*out = store_row_json(res, 0);
	PQclear(res);
	return 0;
}

int store_all(struct db_conn *c, const struct db_stmt *st, const char *const *params, json_t **out,
	      struct a51_error *err)
{
	PGresult *res = db_exec(c, st, params, err);

	*out = NULL;
	if (!res)
		return err->code;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(*out, store_row_json(res, i));
	PQclear(res);
	return 0;
}

static const struct db_stmt Q_REACH = {
	"structure_reach", "SELECT s.region FROM structures s WHERE s.id = $4 AND " STORE_SCOPE_STRUCTURE("s"), 4
};

int store_reach_structure(struct db_conn *c, const struct caller *caller, int64_t structure_id, char region[4],
			  struct a51_error *err)
{
	struct scope_params sp;
	char sid[24];
	const char *params[4];
	PGresult *res;

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)structure_id);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = sp.v[2];
	params[3] = sid;
	res = db_exec(c, &Q_REACH, params, err);
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return a51_error_set(err, A51_ENOTFOUND, "structure", "no structure %lld", (long long)structure_id);
	}
	snprintf(region, 4, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
