#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "a51/db.h"
#include "a51/log.h"
#include "a51/util.h"
#include "a51/banned.h"

/* After a failed connect, others fail fast for this long instead of each
 * waiting for a connect timeout against a database that is down. */
#define CONNECT_BACKOFF_NS (250u * 1000000u)

struct db_conn {
	PGconn *pg;
	struct db_pool *pool;
	struct db_conn *next_free;
	bool fresh; /* nothing run since acquire: a dead link may be retried safely */
	/* statements prepared on this link: open addressing on the stmt pointer */
	const struct db_stmt **prep;
	size_t prep_cap, prep_n;
};

struct db_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct db_conn *conns;
	struct db_conn *free_list;
	int size;
	int in_use;
	int acquire_timeout_ms;
	int connect_timeout_s;
	char *url;
	char *app_name;
	char set_timeout[64];
	atomic_ullong last_fail_ns;
	atomic_ullong acquires, waits, timeouts, connects, connect_failures;
};

int db_error_from(PGconn *pg, const PGresult *res, struct a51_error *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	char text[200];
	size_t n;
	int code = A51_EDB;

	if (!msg || !*msg)
		msg = pg ? PQerrorMessage(pg) : "no connection";
	snprintf(text, sizeof(text), "%s", msg);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	if (!pg || PQstatus(pg) == CONNECTION_BAD)
		code = A51_EUNAVAIL;
	else if (state) {
		if (strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
			code = A51_ECONFLICT;
		else if (strcmp(state, "57014") == 0)
			code = A51_ETIMEOUT;
		else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0)
			code = A51_EUNAVAIL;
		else if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
			code = A51_EINVAL;
	}
	{
		/* Name the column (or constraint) at fault when PostgreSQL says which. */
		const char *col = res ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) : NULL;
		const char *con = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
		a51_error_set(err, code, col ? col : con ? con : "", "%s", text);
	}
	if (err)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state ? state : "");
	return code;
}

/* Server notices (e.g. "relation already exists, skipping") go to the log at
 * debug level instead of libpq's default of printing them on stderr. */
static void notice_to_log(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n && message[n - 1] == '\n')
		n--;
	log_debug("db.notice", "%.*s", (int)n, message);
}

PGconn *db_connect(const char *url, int connect_timeout_s, const char *application_name, struct a51_error *err)
{
	char timeout[16];
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { url, timeout, application_name, NULL };
	PGconn *pg;

	snprintf(timeout, sizeof(timeout), "%d", connect_timeout_s);
	pg = PQconnectdbParams(keys, vals, 1);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		db_error_from(pg, NULL, err);
		err->code = A51_EUNAVAIL;
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, notice_to_log, NULL);
	return pg;
}

static PGconn *pool_connect(struct db_pool *p, struct a51_error *err)
{
	char timeout[16];
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { p->url, timeout, p->app_name, NULL };
	PGconn *pg;
	PGresult *res;

	snprintf(timeout, sizeof(timeout), "%d", p->connect_timeout_s);
	atomic_fetch_add(&p->connects, 1);
	pg = PQconnectdbParams(keys, vals, 1);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		db_error_from(pg, NULL, err);
		err->code = A51_EUNAVAIL;
		atomic_fetch_add(&p->connect_failures, 1);
		atomic_store(&p->last_fail_ns, util_now_ns());
		log_warn("db.connect", "cannot connect to PostgreSQL: %s", err->message);
		PQfinish(pg);
		return NULL;
	}
	/* A SET rather than the `options` startup parameter: PgBouncer (Debian's
	 * 1.18) refuses connections that carry `options`. */
	res = PQexec(pg, p->set_timeout);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_error_from(pg, res, err);
		PQclear(res);
		PQfinish(pg);
		atomic_fetch_add(&p->connect_failures, 1);
		return NULL;
	}
	PQclear(res);
	atomic_store(&p->last_fail_ns, 0);
	PQsetNoticeProcessor(pg, notice_to_log, NULL);
	return pg;
}

struct db_pool *db_pool_new(const struct db_pool_config *cfg, struct a51_error *err)
{
	struct db_pool *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;

	if (!p)
		goto oom;
	p->conns = calloc((size_t)cfg->size, sizeof(*p->conns));
	p->url = strdup(cfg->url);
	p->app_name = strdup(cfg->application_name ? cfg->application_name : "a51d");
	if (!p->conns || !p->url || !p->app_name)
		goto oom;
	p->size = cfg->size;
	p->acquire_timeout_ms = cfg->acquire_timeout_ms;
	p->connect_timeout_s = cfg->connect_timeout_s;
	snprintf(p->set_timeout, sizeof(p->set_timeout), "SET statement_timeout = %d", cfg->statement_timeout_ms);
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (int i = p->size - 1; i >= 0; i--) {
		p->conns[i].pool = p;
		p->conns[i].next_free = p->free_list;
		p->free_list = &p->conns[i];
	}
	return p;
oom:
	if (p) {
		free(p->conns);
		free(p->url);
		free(p->app_name);
		free(p);
	}
	a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
	return NULL;
}

static void conn_close(struct db_conn *c)
{
	PQfinish(c->pg);
	c->pg = NULL;
	c->prep_n = 0;
	if (c->prep)
		memset(c->prep, 0, c->prep_cap * sizeof(*c->prep));
}

void db_pool_free(struct db_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->size; i++) {
		conn_close(&p->conns[i]);
		free(p->conns[i].prep);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->conns);
	free(p->url);
	free(p->app_name);
	free(p);
}

static int conn_open(struct db_pool *p, struct db_conn *c, struct a51_error *err)
{
	uint64_t last = atomic_load(&p->last_fail_ns);

	if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	conn_close(c);
	if (last && util_now_ns() - last < CONNECT_BACKOFF_NS)
		return a51_error_set(err, A51_EUNAVAIL, "database", "database unreachable (retrying shortly)");
	c->pg = pool_connect(p, err);
	return c->pg ? 0 : A51_EUNAVAIL;
}

struct db_conn *db_acquire(struct db_pool *p, struct a51_error *err)
{
	struct db_conn *c;
	struct timespec deadline;
	bool waited = false;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += p->acquire_timeout_ms / 1000;
	deadline.tv_nsec += (long)(p->acquire_timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	atomic_fetch_add(&p->acquires, 1);
	pthread_mutex_lock(&p->mu);
	while (!p->free_list) {
		if (!waited) {
			waited = true;
			atomic_fetch_add(&p->waits, 1);
		}
		if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) != 0 && !p->free_list) {
			pthread_mutex_unlock(&p->mu);
			atomic_fetch_add(&p->timeouts, 1);
			a51_error_set(err, A51_EUNAVAIL, "pool", "all %d database connections are busy", p->size);
			return NULL;
		}
	}
	c = p->free_list;
	p->free_list = c->next_free;
	p->in_use++;
	pthread_mutex_unlock(&p->mu);

	if (conn_open(p, c, err) < 0) {
		db_release(p, c);
		return NULL;
	}
	c->fresh = true;
	return c;
}

void db_release(struct db_pool *p, struct db_conn *c)
{
	if (!c)
		return;
	if (c->pg) {
		switch (PQtransactionStatus(c->pg)) {
		case PQTRANS_IDLE:
			break;
		case PQTRANS_INTRANS:
		case PQTRANS_INERROR: {
			/* A handler that returned mid-transaction must not hand its
			 * uncommitted work (or its error state) to the next user. */
			PGresult *res = PQexec(c->pg, "ROLLBACK");
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				conn_close(c);
			PQclear(res);
			break;
		}
		default: /* active or unknown: the link cannot be trusted */
			conn_close(c);
		}
		if (c->pg && PQstatus(c->pg) != CONNECTION_OK)
			conn_close(c);
	}
	p = c->pool; /* back to the pool it came from, whichever the caller named */
	pthread_mutex_lock(&p->mu);
	c->next_free = p->free_list;
	p->free_list = c;
	p->in_use--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void db_pool_stats(struct db_pool *p, struct db_pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->mu);
	out->size = p->size;
	out->in_use = p->in_use;
	for (int i = 0; i < p->size; i++)
		out->open += p->conns[i].pg != NULL;
	pthread_mutex_unlock(&p->mu);
	out->acquires = atomic_load(&p->acquires);
	out->waits = atomic_load(&p->waits);
	out->timeouts = atomic_load(&p->timeouts);
	out->connects = atomic_load(&p->connects);
	out->connect_failures = atomic_load(&p->connect_failures);
}

PGconn *db_pg(struct db_conn *c)
{
	return c->pg;
}

/* ---- prepared statements ---- */

static size_t prep_slot(const struct db_conn *c, const struct db_stmt *st)
{
	uintptr_t h = (uintptr_t)st;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 7) & (c->prep_cap - 1);
}

static bool prep_has(const struct db_conn *c, const struct db_stmt *st)
{
	if (!c->prep_cap)
		return false;
	for (size_t i = prep_slot(c, st);; i = (i + 1) & (c->prep_cap - 1)) {
		if (c->prep[i] == st)
			return true;
		if (!c->prep[i])
			return false;
	}
}

static int prep_add(struct db_conn *c, const struct db_stmt *st)
{
	if ((c->prep_n + 1) * 2 > c->prep_cap) {
		size_t cap = c->prep_cap ? c->prep_cap * 2 : 64;
		const struct db_stmt **old = c->prep, **nw = calloc(cap, sizeof(*nw));
		size_t oldcap = c->prep_cap;
		if (!nw)
			return -1;
		c->prep = nw;
		c->prep_cap = cap;
		c->prep_n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				prep_add(c, old[i]);
		free(old);
	}
	size_t i = prep_slot(c, st);
	while (c->prep[i])
		i = (i + 1) & (c->prep_cap - 1);
	c->prep[i] = st;
	c->prep_n++;
	return 0;
}

static PGresult *exec_once(struct db_conn *c, const struct db_stmt *st, const char *const *params,
			   const int *lens, const int *formats, int result_format, struct a51_error *err)
{
	PGresult *res;
	ExecStatusType status;

	if (!prep_has(c, st)) {
		res = PQprepare(c->pg, st->name, st->sql, st->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			db_error_from(c->pg, res, err);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		if (prep_add(c, st) < 0) {
			a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
			return NULL;
		}
	}
	res = PQexecPrepared(c->pg, st->name, st->nparams, params, lens, formats, result_format);
	status = PQresultStatus(res);
	if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
		return res;
	db_error_from(c->pg, res, err);
	PQclear(res);
	return NULL;
}

PGresult *db_exec_bin(struct db_conn *c, const struct db_stmt *st, const char *const *params, const int *lens,
		      const int *formats, int result_format, struct a51_error *err)
{
	bool fresh = c->fresh;
	PGresult *res;

	c->fresh = false;
	res = exec_once(c, st, params, lens, formats, result_format, err);
	/* A link that died while idle in the pool (database restarted) is
	 * reconnected once: nothing ran on it yet, so retrying is safe. */
	if (!res && fresh && PQstatus(c->pg) == CONNECTION_BAD) {
		conn_close(c);
		if (conn_open(c->pool, c, err) < 0)
			return NULL;
		res = exec_once(c, st, params, lens, formats, result_format, err);
	}
	return res;
}

PGresult *db_exec(struct db_conn *c, const struct db_stmt *st, const char *const *params, struct a51_error *err)
{
	return db_exec_bin(c, st, params, NULL, NULL, 0, err);
}

int db_run(struct db_conn *c, const char *sql, struct a51_error *err)
{
	bool fresh = c->fresh;
	PGresult *res;
	int rc = 0;

	c->fresh = false;
	res = PQexec(c->pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (fresh && PQstatus(c->pg) == CONNECTION_BAD) {
			PQclear(res);
			conn_close(c);
			if (conn_open(c->pool, c, err) < 0)
				return A51_EUNAVAIL;
			res = PQexec(c->pg, sql);
			if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
				goto out;
		}
		rc = db_error_from(c->pg, res, err);
	}
out:
	PQclear(res);
	return rc;
}

int db_begin(struct db_conn *c, struct a51_error *err)
{
	return db_run(c, "BEGIN", err);
}

int db_commit(struct db_conn *c, struct a51_error *err)
{
	PGresult *res = PQexec(c->pg, "COMMIT");
	int rc = 0;

	c->fresh = false;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = db_error_from(c->pg, res, err);
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		/* COMMIT of a failed transaction answers ROLLBACK, not an error. */
		rc = a51_error_set(err, A51_EDB, "", "transaction was rolled back");
	PQclear(res);
	return rc;
}

void db_rollback(struct db_conn *c)
{
	if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		PGresult *res = PQexec(c->pg, "ROLLBACK");
		PQclear(res);
	}
}

int db_run_params(struct db_conn *c, const char *sql, int n, const char *const *params, bool rows_ok,
		  struct a51_error *err)
{
	PGresult *res = PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	c->fresh = false;
	if (st != PGRES_COMMAND_OK && !(rows_ok && st == PGRES_TUPLES_OK))
		rc = db_error_from(c->pg, res, err);
	PQclear(res);
	return rc;
}

int db_copy_out(struct db_conn *c, const char *sql, db_copy_row_fn row, void *ctx, struct a51_error *err)
{
	PGresult *res = PQexec(c->pg, sql);
	char *data;
	int n, rc = 0;

	c->fresh = false;
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		rc = db_error_from(c->pg, res, err);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	while ((n = PQgetCopyData(c->pg, &data, 0)) > 0) {
		if (rc == 0)
			rc = row(ctx, data, n, err);
		PQfreemem(data); /* after an error the rest is drained: COPY OUT cannot stop early */
	}
	if (n == -2 && rc == 0)
		rc = db_error_from(c->pg, NULL, err);
	while ((res = PQgetResult(c->pg))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = db_error_from(c->pg, res, err);
		PQclear(res);
	}
	return rc;
}

int db_copy_in_begin(struct db_conn *c, const char *sql, struct a51_error *err)
{
	PGresult *res = PQexec(c->pg, sql);
	int rc = 0;

	c->fresh = false;
	if (PQresultStatus(res) != PGRES_COPY_IN)
		rc = db_error_from(c->pg, res, err);
	PQclear(res);
	return rc;
}

int db_copy_in_put(struct db_conn *c, const char *data, size_t n, struct a51_error *err)
{
	/* PQputCopyData takes an int: hand over large buffers in pieces */
	while (n > 0) {
		int k = n > (1u << 30) ? 1 << 30 : (int)n;
		if (PQputCopyData(c->pg, data, k) != 1)
			return db_error_from(c->pg, NULL, err);
		data += k;
		n -= (size_t)k;
	}
	return 0;
}

int db_copy_in_end(struct db_conn *c, struct a51_error *err)
{
	PGresult *res;
	int rc = 0;

	if (PQputCopyEnd(c->pg, NULL) != 1)
		return db_error_from(c->pg, NULL, err);
	while ((res = PQgetResult(c->pg))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = db_error_from(c->pg, res, err);
		PQclear(res);
	}
	return rc;
}
