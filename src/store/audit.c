#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/store.h"
#include "a51/banned.h"

static const struct db_stmt Q_INSERT = {
	"audit_insert",
	"INSERT INTO audit_log (token_id, scope, request_id, action, resource_type, resource_id, region,"
	" structure_id, before, after)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb)",
	10
};

int store_audit(struct db_conn *c, const struct actor *a, const struct audit_rec *rec, struct a51_error *err)
{
	char token[24], sid[24];
	char *before = rec->before ? json_dumps(rec->before, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *after = rec->after ? json_dumps(rec->after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	const char *params[10];
	PGresult *res;

	snprintf(token, sizeof(token), "%lld", (long long)a->caller->token_id);
	snprintf(sid, sizeof(sid), "%lld", (long long)rec->structure_id);
	params[0] = a->caller->token_id ? token : NULL;
	params[1] = a->caller->scope[0] ? a->caller->scope : "system";
	params[2] = a->request_id;
	params[3] = rec->action;
	params[4] = rec->resource_type;
	params[5] = rec->resource_id;
	params[6] = rec->region;
	params[7] = rec->structure_id ? sid : NULL;
	params[8] = before;
	params[9] = after;
	res = db_exec(c, &Q_INSERT, params, err);
	free(before);
	free(after);
	if (!res)
		return err->code;
	PQclear(res);
	return 0;
}

static const struct db_stmt Q_LIST = {
	"audit_list",
	"SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at, token_id, scope,"
	" request_id, action, resource_type, resource_id, region, structure_id, before, after"
	" FROM audit_log"
	" WHERE ($1 = 'national' OR ($1 = 'ars' AND region = $2))"
	" AND ($3::text IS NULL OR resource_type = $3)"
	" AND ($4::text IS NULL OR resource_id = $4)"
	" AND ($5::text IS NULL OR action = $5)"
	" AND ($6::bigint IS NULL OR structure_id = $6)"
	" AND ($7::bigint IS NULL OR token_id = $7)"
	" AND ($8::timestamptz IS NULL OR at >= $8)"
	" AND ($9::timestamptz IS NULL OR at < $9)"
	" AND ($10::bigint IS NULL OR id < $10)"
	" ORDER BY id DESC LIMIT $11",
	11
};

int store_audit_list(struct db_conn *c, const struct caller *caller, const struct audit_filter *f, json_t **items,
		     struct a51_error *err)
{
	struct scope_params sp;
	char sid[24], tid[24], before[24], limit[16];
	const char *params[11];

	store_scope(caller, &sp);
	snprintf(sid, sizeof(sid), "%lld", (long long)f->structure_id);
	snprintf(tid, sizeof(tid), "%lld", (long long)f->token_id);
	snprintf(before, sizeof(before), "%lld", (long long)f->before_id);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	params[0] = sp.v[0];
	params[1] = sp.v[1];
	params[2] = f->resource_type;
	params[3] = f->resource_id;
	params[4] = f->action;
	params[5] = f->structure_id ? sid : NULL;
	params[6] = f->token_id ? tid : NULL;
	params[7] = f->since;
	params[8] = f->until;
	params[9] = f->before_id ? before : NULL;
	params[10] = limit;
	return store_all(c, &Q_LIST, params, items, err);
}
