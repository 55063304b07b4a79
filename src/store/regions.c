#include <stdio.h>
#include <stdlib.h>

#include "a51/store.h"
#include "a51/banned.h"

static const struct db_stmt Q_GET = {
	"region_get", "SELECT code, name, ars_name FROM regions WHERE code = $1", 1
};
static const struct db_stmt Q_LIST = {
	"regions_list", "SELECT code, name, ars_name FROM regions ORDER BY code", 0
};

static void row(PGresult *res, int i, struct region *out)
{
	snprintf(out->code, sizeof(out->code), "%s", PQgetvalue(res, i, 0));
	snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, i, 1));
	snprintf(out->ars_name, sizeof(out->ars_name), "%s", PQgetvalue(res, i, 2));
}

int store_region_get(struct db_conn *c, const char *code, struct region *out, struct a51_error *err)
{
	const char *params[] = { code };
	PGresult *res = db_exec(c, &Q_GET, params, err);

	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return a51_error_set(err, A51_ENOTFOUND, "code", "no region with code %.8s", code);
	}
	row(res, 0, out);
	PQclear(res);
	return 0;
}

int store_regions_list(struct db_conn *c, struct region **out, size_t *n, struct a51_error *err)
{
	PGresult *res = db_exec(c, &Q_LIST, NULL, err);
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
	for (int i = 0; i < rows; i++)
		row(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return 0;
}
