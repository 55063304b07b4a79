#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/log.h"
#include "a51/migrate.h"
#include "a51/sha256.h"
#include "a51/util.h"
#include "a51/banned.h"

/* pg_advisory_lock key: "a51migr" in ASCII, so it shows up readable in pg_locks. */
#define MIGRATE_LOCK_KEY "27361559146227570"

static const char CREATE_TABLE[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version integer PRIMARY KEY,"
	" name text NOT NULL,"
	" checksum text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now(),"
	" duration_ms integer NOT NULL DEFAULT 0)";

void migration_checksum(const struct migration *m, char out[65])
{
	uint8_t d[SHA256_LEN];

	sha256(m->sql, m->len, d);
	util_hex(d, sizeof(d), out);
}

int migrate_check_sequence(const struct migration *m, size_t n, struct a51_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char prefix[16];
		int v = (int)i + 1;

		if (m[i].version != v)
			return a51_error_set(err, A51_EINVAL, m[i].name,
					     "migration %s has version %d where %d was expected: versions start at 1 "
					     "and go up by one", m[i].name, m[i].version, v);
		snprintf(prefix, sizeof(prefix), "%04d_", v);
		if (strncmp(m[i].name, prefix, 5) != 0 || strlen(m[i].name) < 10 ||
		    strcmp(m[i].name + strlen(m[i].name) - 4, ".sql") != 0)
			return a51_error_set(err, A51_EINVAL, m[i].name, "migration file %s must be named %sname.sql",
					     m[i].name, prefix);
	}
	return 0;
}

int migrate_plan(const struct migration *m, size_t n, const struct migration_applied *applied, size_t napplied,
		 size_t *pending, size_t *ahead, struct a51_error *err)
{
	size_t i;

	*pending = n;
	*ahead = 0;
	if (migrate_check_sequence(m, n, err) < 0)
		return A51_EINVAL;
	/* applied is sorted by version (the query orders it). */
	for (i = 0; i < napplied; i++) {
		const struct migration_applied *a = &applied[i];
		char sum[65];

		if (a->version < 1)
			return a51_error_set(err, A51_EINVAL, a->name, "schema_migrations holds version %d", a->version);
		if ((size_t)a->version > n) {
			(*ahead)++;
			continue;
		}
		if (a->version != (int)i + 1)
			return a51_error_set(err, A51_EINVAL, a->name,
					     "schema_migrations skips version %d: the database was migrated out of order",
					     (int)i + 1);
		migration_checksum(&m[a->version - 1], sum);
		if (strcmp(sum, a->checksum) != 0)
			return a51_error_set(err, A51_ECONFLICT, m[a->version - 1].name,
					     "migration %s was changed after it was applied (recorded sha256 %.12s..., "
					     "file %.12s...): migrations are forward-only, add a new one instead",
					     m[a->version - 1].name, a->checksum, sum);
	}
	*pending = napplied - *ahead;
	return 0;
}

static int exec_simple(PGconn *pg, const char *sql, struct a51_error *err)
{
	PGresult *res = PQexec(pg, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok) {
		const char *msg = PQresultErrorMessage(res);
		a51_error_set(err, A51_EDB, "", "%s", msg && *msg ? msg : PQerrorMessage(pg));
	}
	PQclear(res);
	return ok ? 0 : A51_EDB;
}

static int load_applied(PGconn *pg, struct migration_applied **out, size_t *n, struct a51_error *err)
{
	PGresult *res = PQexec(pg, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
	int rows;

	*out = NULL;
	*n = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		a51_error_set(err, A51_EDB, "", "cannot read schema_migrations: %s", PQresultErrorMessage(res));
		PQclear(res);
		return A51_EDB;
	}
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

static int table_exists(PGconn *pg, bool *exists, struct a51_error *err)
{
	PGresult *res = PQexec(pg, "SELECT to_regclass('schema_migrations') IS NOT NULL");

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		a51_error_set(err, A51_EUNAVAIL, "", "%s", PQerrorMessage(pg));
		PQclear(res);
		return A51_EUNAVAIL;
	}
	*exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

static int apply_one(PGconn *pg, const struct migration *m, struct a51_error *err)
{
	char version[16], sum[65], dur[24];
	const char *params[4];
	uint64_t t0 = util_now_ns();
	PGresult *res;
	/* The file may not be NUL-terminated where we need it: copy it. */
	char *sql = malloc(m->len + 1);

	if (!sql)
		return a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	memcpy(sql, m->sql, m->len);
	sql[m->len] = '\0';
	if (exec_simple(pg, "BEGIN", err) < 0)
		goto fail;
	if (exec_simple(pg, sql, err) < 0) {
		char msg[sizeof(err->message)];
		snprintf(msg, sizeof(msg), "%s", err->message);
		a51_error_set(err, A51_EDB, m->name, "migration %s failed: %s", m->name, msg);
		goto fail;
	}
	migration_checksum(m, sum);
	snprintf(version, sizeof(version), "%d", m->version);
	snprintf(dur, sizeof(dur), "%llu", (unsigned long long)((util_now_ns() - t0) / 1000000u));
	params[0] = version;
	params[1] = m->name;
	params[2] = sum;
	params[3] = dur;
	res = PQexecParams(pg, "INSERT INTO schema_migrations (version, name, checksum, duration_ms) "
			       "VALUES ($1, $2, $3, $4)", 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		a51_error_set(err, A51_EDB, m->name, "cannot record %s: %s", m->name, PQresultErrorMessage(res));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (exec_simple(pg, "COMMIT", err) < 0)
		goto fail;
	free(sql);
	log_info("migrate.applied", "applied %s in %s ms", m->name, dur);
	return 0;
fail:
	free(sql);
	res = PQexec(pg, "ROLLBACK");
	PQclear(res);
	return err->code ? err->code : A51_EDB;
}

int migrate_run(PGconn *pg, const struct migration *m, size_t n, int *applied_now, struct a51_error *err)
{
	struct migration_applied *applied = NULL;
	size_t napplied, pending, ahead;
	int rc;

	*applied_now = 0;
	if (migrate_check_sequence(m, n, err) < 0)
		return A51_EINVAL;
	/* Session-level lock: a second a51d waits here, then finds nothing pending. */
	if ((rc = exec_simple(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err)) < 0)
		return rc;
	if ((rc = exec_simple(pg, CREATE_TABLE, err)) < 0)
		goto out;
	if ((rc = load_applied(pg, &applied, &napplied, err)) < 0)
		goto out;
	if ((rc = migrate_plan(m, n, applied, napplied, &pending, &ahead, err)) < 0)
		goto out;
	if (ahead)
		log_warn("migrate.ahead", "the database has %zu migration(s) newer than this a51d", ahead);
	for (size_t i = pending; i < n; i++) {
		if ((rc = apply_one(pg, &m[i], err)) < 0)
			goto out;
		(*applied_now)++;
	}
	rc = 0;
out:
	free(applied);
	{
		PGresult *res = PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
		PQclear(res);
	}
	return rc;
}

int migrate_is_current(PGconn *pg, const struct migration *m, size_t n, bool *current, int *db_version,
		       struct a51_error *err)
{
	struct migration_applied *applied = NULL;
	size_t napplied, pending, ahead;
	bool exists;
	int rc;

	*current = false;
	*db_version = 0;
	if ((rc = table_exists(pg, &exists, err)) < 0)
		return rc;
	if (!exists)
		return 0;
	if ((rc = load_applied(pg, &applied, &napplied, err)) < 0)
		return rc;
	if (napplied)
		*db_version = applied[napplied - 1].version;
	rc = migrate_plan(m, n, applied, napplied, &pending, &ahead, err);
	free(applied);
	if (rc < 0)
		return rc;
	*current = pending == n;
	return 0;
}

int migrate_status(PGconn *pg, const struct migration *m, size_t n, FILE *out, struct a51_error *err)
{
	struct migration_applied *applied = NULL;
	size_t napplied = 0;
	PGresult *res = NULL;
	bool exists;
	int rc;

	if ((rc = table_exists(pg, &exists, err)) < 0)
		return rc;
	if (exists) {
		if ((rc = load_applied(pg, &applied, &napplied, err)) < 0)
			return rc;
		res = PQexec(pg, "SELECT version, to_char(applied_at AT TIME ZONE 'UTC', "
				 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations ORDER BY version");
	}
	fprintf(out, "%-8s %-40s %-22s %s\n", "version", "file", "applied", "state");
	for (size_t i = 0; i < n; i++) {
		const char *when = "-", *state = "pending";
		char sum[65];

		migration_checksum(&m[i], sum);
		for (size_t k = 0; k < napplied; k++) {
			if (applied[k].version != m[i].version)
				continue;
			state = strcmp(applied[k].checksum, sum) == 0 ? "applied" : "CHANGED AFTER APPLY";
			if (res && PQresultStatus(res) == PGRES_TUPLES_OK && (int)k < PQntuples(res))
				when = PQgetvalue(res, (int)k, 1);
		}
		fprintf(out, "%04d     %-40s %-22s %s\n", m[i].version, m[i].name, when, state);
	}
	for (size_t k = 0; k < napplied; k++)
		if ((size_t)applied[k].version > n)
			fprintf(out, "%04d     %-40s %-22s %s\n", applied[k].version, applied[k].name, "?",
				"applied by a newer a51d");
	PQclear(res);
	free(applied);
	return 0;
}
