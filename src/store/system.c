#include <stdio.h>
#include <stdlib.h>

#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

static const struct db_stmt Q_APPLIED = {
	"schema_applied", "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0
};

int store_schema_applied(struct db_conn *c, struct migration_applied **out, size_t *n, struct a51_error *err)
{
	PGresult *res = db_exec(c, &Q_APPLIED, NULL, err);
	int rows;

	*out = NULL;
	*n = 0;
	if (!res)
		return err->code;
	rows = PQntuples(res);
	*out = calloc(rows ? (size_t)rows : 1, sizeof(**out));
	if (!*out) {
		PQclear(res);
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	}
	for (int i = 0; i < rows; i++) {
		int64_t v = 0;
		util_parse_i64(PQgetvalue(res, i, 0), 0, 1 << 30, &v);
		(*out)[i].version = (int)v;
		snprintf((*out)[i].name, sizeof((*out)[i].name), "%s", PQgetvalue(res, i, 1));
		snprintf((*out)[i].checksum, sizeof((*out)[i].checksum), "%s", PQgetvalue(res, i, 2));
	}
	*n = (size_t)rows;
	PQclear(res);
	return 0;
}
