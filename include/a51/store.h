/* All SQL lives behind these functions, one source file per aggregate.
 * Functions that read tenant data take the caller, and scope in SQL. */
#ifndef A51_STORE_H
#define A51_STORE_H

#include <stddef.h>

#include "a51/db.h"
#include "a51/error.h"
#include "a51/migrate.h"

/* ---- system (store/system.c) ---- */

/* The rows of schema_migrations, sorted by version; *out is malloc'd. */
int store_schema_applied(struct db_conn *c, struct migration_applied **out, size_t *n, struct a51_error *err);

/* ---- regions (store/regions.c) ---- */

struct region {
	char code[4];       /* INSEE region code, "84" */
	char name[64];
	char ars_name[96];
};

/* A51_ENOTFOUND when the code is unknown. */
int store_region_get(struct db_conn *c, const char *code, struct region *out, struct a51_error *err);
/* *out is malloc'd, ordered by code. */
int store_regions_list(struct db_conn *c, struct region **out, size_t *n, struct a51_error *err);

#endif
