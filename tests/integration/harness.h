/* Integration-test harness: a throwaway database in the test cluster, a real
 * a51d process, and a small HTTP/1.1 client on raw sockets (so tests can also
 * send what a polite client never would: partial bodies, bad chunking...). */
#ifndef A51_HARNESS_H
#define A51_HARNESS_H

#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct h_db {
	char name[64];
	char url[512];
};

/* Creates an empty database named after tag in the cluster given by
 * A51_TEST_PGHOST / A51_TEST_PGPORT / A51_TEST_PGUSER. Aborts the test on failure. */
void h_db_create(struct h_db *db, const char *tag);
void h_db_drop(struct h_db *db);
/* Connects to it (for assertions in SQL). */
PGconn *h_db_connect(const struct h_db *db);
/* Runs SQL and returns the first column of the first row (static buffer), or NULL. */
const char *h_sql1(PGconn *pg, const char *sql);
/* Runs a suite without fork (its tests build on what earlier ones stored);
 * the exit status for main. */
int h_run_nofork(Suite *s);
/* The first value of a query built from fmt, on a connection of its own;
 * "(null)" for none. The result lives until the next call. */
const char *h_sqlf(struct h_db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct h_srv {
	pid_t pid;
	uint16_t port;
	char log[512];
};

/* Starts a51d serve against url with extra "NAME=value" environment entries
 * (NULL-terminated, may be NULL), and waits until /healthz answers. */
void h_srv_start(struct h_srv *s, const char *url, const char *const *env);
/* The same without waiting (a server that does not speak plain HTTP, say). */
void h_srv_spawn(struct h_srv *s, const char *url, const char *const *env);
/* SIGTERM, then waits; returns the exit status (or -1 when killed by a signal). */
int h_srv_stop(struct h_srv *s);
/* Runs a51d with arguments and environment to completion; returns its exit
 * status and, if out is given, what it wrote on stdout and stderr. */
int h_run_a51d(const char *const *argv, const char *const *env, char *out, size_t cap);
/* True when the server's log contains needle (waits up to 2 s for the batched writer). */
bool h_log_contains(const struct h_srv *s, const char *needle);

struct h_resp {
	int status;
	char *head;   /* status line and headers, NUL-terminated */
	char *body;   /* NUL-terminated; body_len excludes the NUL */
	size_t body_len;
	bool closed;  /* the server said Connection: close or closed */
};

struct h_conn {
	int fd;
	char *buf;
	size_t len, cap;
};

int h_conn_open(struct h_conn *c, uint16_t port);
int h_conn_send(struct h_conn *c, const void *p, size_t n);
/* Reads one response; head_only for answers to HEAD. 0 or -1 (timeout, EOF). */
int h_conn_read(struct h_conn *c, struct h_resp *r, bool head_only, int timeout_ms);
void h_conn_close(struct h_conn *c);

/* One request on a fresh connection. headers is "Name: value\r\n"... or NULL. */
int h_call(uint16_t port, const char *method, const char *path, const char *headers, const char *body,
	   size_t body_len, struct h_resp *r);
int h_get(uint16_t port, const char *path, const char *headers, struct h_resp *r);

/* Header value (copied into out) or NULL. Case-insensitive name. */
const char *h_header(const struct h_resp *r, const char *name, char *out, size_t cap);
/* Parsed body (new reference) or NULL. */
json_t *h_json(const struct h_resp *r);
void h_resp_free(struct h_resp *r);

/* ---- a51 specifics ---- */

/* Creates a token with `a51d token create` (as an operator would); aborts on failure. */
void h_token_cli(const char *db_url, const char *name, const char *scope, bool read_only, char out[64]);
/* A JSON request with a bearer token (NULL: none); body NULL for none. Extra
 * headers "Name: value\r\n"... may be NULL. */
int h_api(uint16_t port, const char *method, const char *path, const char *token, const char *body,
	  const char *headers, struct h_resp *r);
/* Same, answering the parsed body (new reference, NULL if not JSON) and the status. */
json_t *h_api_json(uint16_t port, const char *method, const char *path, const char *token, const char *body,
		   int *status);
/* A whole file in memory (NUL-terminated; *len excludes it). Aborts on failure. */
char *h_slurp(const char *path, size_t *len);
/* POSTs a CSV file to an upload route (".../uploads") as kind; the answer must be 201. */
void h_upload_csv(uint16_t port, const char *token, const char *route, const char *kind, const char *file);
/* A read-write token of scope created through the API by a national token. */
void h_token_api(uint16_t port, const char *national, const char *scope, char out[64]);
/* Creates a parameter set from the parameter set id (national token): the
 * same body with label, year (0: the same) and the values of changes, a JSON
 * object {"key": value} (NULL: none); the answer must be 201. Its id. */
long h_param_set_variant(uint16_t port, const char *national, long id, const char *label, int year,
			 const char *changes);
/* Polls GET /v1/jobs/{id} until the job has finished; the job as JSON. */
json_t *h_wait_job(uint16_t port, const char *token, long id, int timeout_s);
/* Luhn-valid RPPS and key-valid NIR built from a number, for test data. */
void h_rpps(long n, char out[12]);
void h_nir(int sex, int yy, int mm, const char *dept, int commune, int order, char out[16]);
/* Fails the test when any needle occurs in the file (a database dump, a log). */
void h_assert_file_lacks(const char *path, const char *const *needles, size_t n);
/* pg_dump of the database into path. */
void h_pg_dump(const struct h_db *db, const char *path);

/* A private PostgreSQL cluster for tests that stop and start the database. */
struct h_cluster {
	char dir[512];
	uint16_t port;
	char url[600];
};
void h_cluster_start(struct h_cluster *cl, const char *tag);
void h_cluster_stop(struct h_cluster *cl);
void h_cluster_destroy(struct h_cluster *cl);

uint16_t h_free_port(void);
uint64_t h_now_ms(void);

#endif
