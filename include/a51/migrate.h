/* Forward-only schema migrations, embedded in the binary from migrations/NNNN_name.sql.
 * Each is applied in its own transaction and recorded with its SHA-256 in
 * schema_migrations; an applied migration whose text changed is a hard error. */
#ifndef A51_MIGRATE_H
#define A51_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "a51/error.h"

struct migration {
	int version;
	const char *name;   /* file name, e.g. "0001_init.sql" */
	const char *sql;
	size_t len;
};

extern const struct migration a51_migrations[];
extern const size_t a51_migrations_count;

struct migration_applied {
	int version;
	char name[128];
	char checksum[65];
};

void migration_checksum(const struct migration *m, char out[65]);

/* The embedded list must start at 1 and increase by one, with file names
 * matching their versions. Pure: unit-tested without a database. */
int migrate_check_sequence(const struct migration *m, size_t n, struct a51_error *err);

/* Compares what the database recorded with the embedded list: every applied
 * version known here must carry the same checksum. *pending gets the index of
 * the first migration still to apply (n when none). Applied versions beyond
 * the embedded list (a newer a51d ran) are tolerated and counted in *ahead. */
int migrate_plan(const struct migration *m, size_t n, const struct migration_applied *applied, size_t napplied,
		 size_t *pending, size_t *ahead, struct a51_error *err);

/* Applies every pending migration under a PostgreSQL advisory lock, so that
 * several a51d starting at once apply each migration exactly once. */
int migrate_run(PGconn *pg, const struct migration *m, size_t n, int *applied_now, struct a51_error *err);

/* Prints one line per migration: applied (when) or pending, checksum state. */
int migrate_status(PGconn *pg, const struct migration *m, size_t n, FILE *out, struct a51_error *err);

/* For /readyz: schema current when every embedded migration is applied unchanged. */
int migrate_is_current(PGconn *pg, const struct migration *m, size_t n, bool *current, int *db_version,
		       struct a51_error *err);

#endif
