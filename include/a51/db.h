/* PostgreSQL access: a bounded, thread-safe pool of libpq connections and
 * parameterised statements, prepared lazily on each connection. */
#ifndef A51_DB_H
#define A51_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a51/error.h"

struct db_pool_config {
	const char *url;
	int size;
	int acquire_timeout_ms;
	int statement_timeout_ms;
	int connect_timeout_s;
	const char *application_name;
};

struct db_pool;
struct db_conn;

/* Connections are opened lazily; creating the pool does not touch the network. */
struct db_pool *db_pool_new(const struct db_pool_config *cfg, struct a51_error *err);
void db_pool_free(struct db_pool *p);

/* Waits up to the acquire timeout for a connection, (re)connecting a broken one.
 * Fails with A51_EUNAVAIL: err->field "pool" when every connection stayed
 * busy, else the database is unreachable. */
struct db_conn *db_acquire(struct db_pool *p, struct a51_error *err);
/* Returns the connection; one left inside a transaction is rolled back first,
 * a broken one is reset on its next use. */
void db_release(struct db_pool *p, struct db_conn *c);

struct db_pool_stats {
	int size, open, in_use;
	uint64_t acquires, waits, timeouts, connects, connect_failures;
};
void db_pool_stats(struct db_pool *p, struct db_pool_stats *out);

/* A statement known by name; the same object is used on every connection. */
struct db_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/* Executes st with text parameters (NULL entries are SQL NULL). Returns a result
 * with status TUPLES_OK or COMMAND_OK that the caller PQclear()s, or NULL with
 * *err set: A51_ECONFLICT (unique/serialisation), A51_ETIMEOUT (statement timeout),
 * A51_EUNAVAIL (connection lost), A51_EINVAL (check/foreign key), else A51_EDB. */
PGresult *db_exec(struct db_conn *c, const struct db_stmt *st, const char *const *params, struct a51_error *err);
/* Same with explicit lengths and formats (binary parameters). */
PGresult *db_exec_bin(struct db_conn *c, const struct db_stmt *st, const char *const *params, const int *lens,
		      const int *formats, int result_format, struct a51_error *err);
/* Runs fixed SQL text with no parameters (never built from input). */
int db_run(struct db_conn *c, const char *sql, struct a51_error *err);

/* Runs sql with text parameters, expecting no rows back (or any rows, with
 * rows_ok): set_config, DELETE... 0 or the error. */
int db_run_params(struct db_conn *c, const char *sql, int n, const char *const *params, bool rows_ok,
		  struct a51_error *err);

/* COPY ... TO STDOUT: row() gets each row (its text, NUL-free, ending in a
 * newline) until it returns non-zero; the rest is then drained, since COPY
 * OUT cannot stop early. Returns row()'s error, or the database's. */
typedef int (*db_copy_row_fn)(void *ctx, char *row, int len, struct a51_error *err);
int db_copy_out(struct db_conn *c, const char *sql, db_copy_row_fn row, void *ctx, struct a51_error *err);
/* COPY ... FROM STDIN: begin, put any number of chunks of rows, end. */
int db_copy_in_begin(struct db_conn *c, const char *sql, struct a51_error *err);
int db_copy_in_put(struct db_conn *c, const char *data, size_t n, struct a51_error *err);
int db_copy_in_end(struct db_conn *c, struct a51_error *err);

int db_begin(struct db_conn *c, struct a51_error *err);
int db_commit(struct db_conn *c, struct a51_error *err);
void db_rollback(struct db_conn *c);

PGconn *db_pg(struct db_conn *c);
/* Maps the error of a failed result or connection to an a51 error. */
int db_error_from(PGconn *pg, const PGresult *res, struct a51_error *err);

/* One dedicated connection outside the pool (migrations, CLI). */
PGconn *db_connect(const char *url, int connect_timeout_s, const char *application_name, struct a51_error *err);

#endif
