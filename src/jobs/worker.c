/* Worker threads: claim a job (FOR UPDATE SKIP LOCKED), run it, record how it
 * ended. A heartbeat thread renews the leases of this process's running jobs
 * and writes their progress; a listener wakes idle workers when a job is
 * submitted anywhere (NOTIFY a51_jobs). */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "a51/jobs.h"
#include "a51/log.h"
#include "a51/store.h"
#include "a51/util.h"
#include "a51/banned.h"

struct slot {
	_Alignas(64) pthread_t thread;
	struct jobs *jobs;
	int n;
	char name[96];
	struct db_conn *db;
	pthread_mutex_t mu;       /* guards the fields below */
	int64_t job;              /* running job, 0 when idle */
	double progress;
	char message[200];
	atomic_bool cancel;
};

struct jobs {
	struct jobs_config cfg;
	const struct job_kind *kinds;
	size_t nkinds;
	struct db_pool *work, *control;
	struct slot *slots;
	pthread_t heartbeat, listener;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	atomic_bool draining;     /* no new claims */
	atomic_bool stop;         /* running jobs stop at their next checkpoint */
	atomic_ullong claimed, succeeded, failed, cancelled;
	atomic_int busy;
};

bool job_progress(struct job_ctx *ctx, double fraction, const char *fmt, ...)
{
	struct slot *s = ctx->slot;
	va_list ap;

	pthread_mutex_lock(&s->mu);
	s->progress = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(s->message, sizeof(s->message), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->mu);
	if (s->jobs->cfg.checkpoint_delay_ms)
		usleep((useconds_t)s->jobs->cfg.checkpoint_delay_ms * 1000u);
	return atomic_load(&s->cancel) || atomic_load(&s->jobs->stop);
}

int job_finish_in_tx(struct job_ctx *ctx, const struct job_result *res, struct a51_error *err)
{
	return store_job_finish(ctx->db, ctx->id, ctx->worker, "succeeded", NULL, res->type, res->id, err);
}

static const struct job_kind *kind_of(struct jobs *j, const char *name)
{
	for (size_t i = 0; i < j->nkinds; i++)
		if (strcmp(j->kinds[i].name, name) == 0)
			return &j->kinds[i];
	return NULL;
}

static void caller_of(const json_t *row, struct caller *c)
{
	const char *scope = json_string_value(json_object_get(row, "scope"));
	struct a51_error err = { 0 };

	memset(c, 0, sizeof(*c));
	c->write = true;
	if (scope && auth_scope_parse(scope, c, &err) < 0) {
		/* "cli" and other operator scopes act nationally */
		memset(c, 0, sizeof(*c));
		c->kind = CALLER_NATIONAL;
		c->write = true;
		snprintf(c->scope, sizeof(c->scope), "%s", scope);
	}
	c->token_id = json_integer_value(json_object_get(row, "token_id"));
}

/* What a failed job tells whoever may read it. PostgreSQL's own text may
 * quote data (DETAIL, CONTEXT, statements): only its first line is kept,
 * the whole of it goes to the log. */
static void public_reason(const struct jobs *j, const struct a51_error *err, char *out, size_t cap)
{
	const char *m = err->message[0] ? err->message : "failed";

	if (err->code == A51_ETIMEOUT) {
		snprintf(out, cap, "a statement ran longer than the job statement timeout (A51_JOB_STATEMENT_TIMEOUT_MS, "
			 "%d ms), blocked or too slow: nothing was written", j->cfg.statement_timeout_ms);
		return;
	}

	if (strncmp(m, "ERROR:", 6) == 0 || strncmp(m, "FATAL:", 6) == 0) {
		size_t n;
		m += 6;
		while (*m == ' ')
			m++;
		n = strcspn(m, "\n");
		snprintf(out, cap, "the database refused the work: %.*s", (int)n, m);
		return;
	}
	snprintf(out, cap, "%s", m);
}

/* The job failed because its connection went (PostgreSQL restarted, the
 * network dropped): the work was not at fault, and its transaction is gone. */
static bool lost_database(struct db_conn *c, const struct a51_error *err)
{
	if (!c || PQstatus(db_pg(c)) != CONNECTION_OK)
		return true;
	return err->code == A51_EUNAVAIL && (strncmp(err->sqlstate, "08", 2) == 0 || strncmp(err->sqlstate, "57P", 3) == 0);
}

/* Puts a job whose connection was lost back in the queue, on a new connection,
 * as soon as PostgreSQL answers again (within a lease; after that the lease
 * has expired and any worker takes it over anyway). */
static void requeue(struct slot *s, int64_t id, int attempt, const char *kind)
{
	struct jobs *j = s->jobs;
	uint64_t until = util_now_ns() + (uint64_t)j->cfg.lease_s * 1000000000u;
	struct a51_error err = { 0 };
	char status[16];

	db_release(j->work, s->db);
	s->db = NULL;
	while (!atomic_load(&j->stop) && util_now_ns() < until) {
		if ((s->db = db_acquire(j->work, &err))) {
			if (store_job_requeue(s->db, id, s->name, attempt, status, &err) == 0) {
				if (strcmp(status, "failed") == 0)
					atomic_fetch_add(&j->failed, 1);
				else if (strcmp(status, "cancelled") == 0)
					atomic_fetch_add(&j->cancelled, 1);
				log_warn("job.requeued", "job %lld (%s) lost its database connection: %s", (long long)id, kind,
					 strcmp(status, "queued") == 0 ? "queued again"
					 : status[0] ? status : "another attempt has taken it over");
				return;
			}
			db_release(j->work, s->db);
			s->db = NULL;
		}
		usleep(500000);
	}
	log_warn("job.requeued", "job %lld (%s) lost its database connection: another worker takes it over when its "
		 "lease expires", (long long)id, kind);
}

static void run_one(struct slot *s, json_t *row)
{
	struct jobs *j = s->jobs;
	struct a51_error err = { 0 }, err2 = { 0 };
	struct job_ctx ctx = { 0 };
	const char *kind = json_string_value(json_object_get(row, "kind"));
	const struct job_kind *k = kind_of(j, kind);
	int64_t id = json_integer_value(json_object_get(row, "id"));
	uint64_t t0 = util_now_ns();
	int rc;

	ctx.id = id;
	ctx.kind = kind;
	ctx.params = json_object_get(row, "params");
	ctx.request_id = json_string_value(json_object_get(row, "request_id"));
	ctx.db = s->db;
	ctx.worker = s->name;
	ctx.jobs = j;
	ctx.slot = s;
	ctx.app = j->cfg.app;
	caller_of(row, &ctx.caller);
	pthread_mutex_lock(&s->mu);
	s->job = id;
	s->progress = 0;
	s->message[0] = '\0';
	atomic_store(&s->cancel, json_is_true(json_object_get(row, "cancel_requested")));
	pthread_mutex_unlock(&s->mu);
	atomic_fetch_add(&j->busy, 1);
	log_info("job.start", "job %lld (%s) attempt %lld on %s", (long long)id, kind,
		 (long long)json_integer_value(json_object_get(row, "attempts")), s->name);

	rc = k ? k->run(&ctx, &err) : a51_error_set(&err, A51_EINVAL, "kind", "no worker knows job kind %s", kind);
	if (rc < 0)
		db_rollback(s->db); /* nothing half-written */
	if (rc == 0) {
		atomic_fetch_add(&j->succeeded, 1);
		log_info("job.done", "job %lld (%s) succeeded in %.1f s", (long long)id, kind,
			 (double)(util_now_ns() - t0) / 1e9);
	} else if (rc == A51_ECANCELED && atomic_load(&j->stop) && !atomic_load(&s->cancel)) {
		/* stopping: hand it back so that another a51d restarts it now */
		store_job_release(s->db, id, s->name, &err2);
		log_warn("job.left", "job %lld (%s) handed back to the queue: this a51d is stopping", (long long)id, kind);
	} else if (rc != A51_ECANCELED && lost_database(s->db, &err)) {
		/* not the job's fault: it runs again (its attempts still count) */
		log_warn("job.interrupted", "job %lld (%s): %s", (long long)id, kind, err.message);
		requeue(s, id, (int)json_integer_value(json_object_get(row, "attempts")), kind);
	} else if (rc == A51_ECANCELED) {
		atomic_fetch_add(&j->cancelled, 1);
		store_job_finish(s->db, id, s->name, "cancelled", "cancelled at a checkpoint", NULL, 0, &err2);
		log_info("job.cancelled", "job %lld (%s) cancelled", (long long)id, kind);
	} else {
		char msg[300];
		atomic_fetch_add(&j->failed, 1);
		public_reason(j, &err, msg, sizeof(msg));
		store_job_finish(s->db, id, s->name, "failed", msg, NULL, 0, &err2);
		log_warn("job.failed", "job %lld (%s) failed: %s", (long long)id, kind, err.message);
	}
	pthread_mutex_lock(&s->mu);
	s->job = 0;
	pthread_mutex_unlock(&s->mu);
	atomic_fetch_sub(&j->busy, 1);
}

static void *worker_main(void *arg)
{
	struct slot *s = arg;
	struct jobs *j = s->jobs;

	while (!atomic_load(&j->stop)) {
		struct a51_error err = { 0 };
		json_t *row = NULL;
		bool got = false;

		if (atomic_load(&j->draining)) {
			usleep(20000);
			continue;
		}
		if (!s->db && !(s->db = db_acquire(j->work, &err))) {
			sleep(1);
			continue;
		}
		if (store_job_claim(s->db, s->name, j->cfg.lease_s, &row, &err) < 0) {
			if (err.code == A51_EUNAVAIL) {
				db_release(j->work, s->db);
				s->db = NULL;
			}
		} else if (row) {
			got = true;
			atomic_fetch_add(&j->claimed, 1);
			run_one(s, row);
			json_decref(row);
		}
		if (!got && !atomic_load(&j->stop)) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 2;
			pthread_mutex_lock(&j->mu);
			if (!atomic_load(&j->stop))
				pthread_cond_timedwait(&j->wake, &j->mu, &until);
			pthread_mutex_unlock(&j->mu);
		}
	}
	if (s->db)
		db_release(j->work, s->db);
	s->db = NULL;
	return NULL;
}

/* Renews leases a third of the way through them, and relays cancellations. */
static void *heartbeat_main(void *arg)
{
	struct jobs *j = arg;
	int period_ms = j->cfg.lease_s * 1000 / 3;

	while (!atomic_load(&j->stop) || atomic_load(&j->busy) > 0) {
		struct a51_error err = { 0 };
		json_t *progress = json_array(), *cancelled = NULL, *id;
		struct db_conn *c;
		size_t i;

		for (int k = 0; k < j->cfg.workers; k++) {
			struct slot *s = &j->slots[k];
			pthread_mutex_lock(&s->mu);
			if (s->job)
				json_array_append_new(progress, json_pack("{s:I,s:f,s:s}", "id", (json_int_t)s->job,
									  "progress", s->progress, "message", s->message));
			pthread_mutex_unlock(&s->mu);
		}
		if (json_array_size(progress) && (c = db_acquire(j->control, &err))) {
			if (store_job_heartbeat(c, j->slots[0].name, j->cfg.lease_s, progress, &cancelled, &err) == 0) {
				json_array_foreach(cancelled, i, id) {
					for (int k = 0; k < j->cfg.workers; k++)
						if (j->slots[k].job == json_integer_value(id))
							atomic_store(&j->slots[k].cancel, true);
				}
			}
			json_decref(cancelled);
			db_release(j->control, c);
		}
		json_decref(progress);
		for (int waited = 0; waited < period_ms && !(atomic_load(&j->stop) && atomic_load(&j->busy) == 0);
		     waited += 50)
			usleep(50000);
	}
	return NULL;
}

static void *listener_main(void *arg)
{
	struct jobs *j = arg;

	while (!atomic_load(&j->stop)) {
		struct a51_error err = { 0 };
		PGconn *pg = db_connect(j->cfg.database_url, j->cfg.connect_timeout_s, "a51d-job-listener", &err);
		PGresult *res;

		if (!pg) {
			sleep(1);
			continue;
		}
		res = PQexec(pg, "LISTEN a51_jobs");
		PQclear(res);
		while (!atomic_load(&j->stop) && PQstatus(pg) == CONNECTION_OK) {
			struct pollfd pfd = { .fd = PQsocket(pg), .events = POLLIN };
			PGnotify *n;
			int rc = poll(&pfd, 1, 500);
			if (rc < 0 || (rc > 0 && !PQconsumeInput(pg)))
				break;
			while ((n = PQnotifies(pg))) {
				if (strncmp(n->extra, "cancel:", 7) == 0) {
					long long id = strtoll(n->extra + 7, NULL, 10);
					for (int k = 0; k < j->cfg.workers; k++) {
						struct slot *s = &j->slots[k];
						pthread_mutex_lock(&s->mu);
						if (s->job == id)
							atomic_store(&s->cancel, true);
						pthread_mutex_unlock(&s->mu);
					}
				} else {
					pthread_mutex_lock(&j->mu);
					pthread_cond_broadcast(&j->wake);
					pthread_mutex_unlock(&j->mu);
				}
				PQfreemem(n);
			}
		}
		PQfinish(pg);
	}
	return NULL;
}

struct jobs *jobs_start(const struct jobs_config *cfg, const struct job_kind *kinds, size_t nkinds,
			struct a51_error *err)
{
	struct db_pool_config pc = { .url = cfg->database_url, .acquire_timeout_ms = 5000,
				     .statement_timeout_ms = cfg->statement_timeout_ms,
				     .connect_timeout_s = cfg->connect_timeout_s };
	struct jobs *j = calloc(1, sizeof(*j));
	char host[64] = "host";

	if (!j) {
		a51_error_set(err, A51_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	j->cfg = *cfg;
	j->kinds = kinds;
	j->nkinds = nkinds;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->wake, NULL);
	if (cfg->workers <= 0)
		return j;
	gethostname(host, sizeof(host) - 1);
	pc.size = cfg->workers;
	pc.application_name = "a51d-worker";
	j->work = db_pool_new(&pc, err);
	pc.size = 1;
	pc.statement_timeout_ms = 10000;
	pc.application_name = "a51d-heartbeat";
	j->control = db_pool_new(&pc, err);
	j->slots = aligned_alloc(64, sizeof(*j->slots) * (size_t)cfg->workers);
	if (!j->work || !j->control || !j->slots) {
		a51_error_set(err, A51_ENOMEM, NULL, "cannot start the job workers");
		db_pool_free(j->work);
		db_pool_free(j->control);
		free(j->slots);
		free(j);
		return NULL;
	}
	memset(j->slots, 0, sizeof(*j->slots) * (size_t)cfg->workers);
	for (int k = 0; k < cfg->workers; k++) {
		struct slot *s = &j->slots[k];
		s->jobs = j;
		s->n = k;
		pthread_mutex_init(&s->mu, NULL);
		snprintf(s->name, sizeof(s->name), "%s:%d", host, (int)getpid());
		pthread_create(&s->thread, NULL, worker_main, s);
	}
	pthread_create(&j->heartbeat, NULL, heartbeat_main, j);
	pthread_create(&j->listener, NULL, listener_main, j);
	return j;
}

void jobs_stop(struct jobs *j, int grace_ms)
{
	uint64_t until;

	if (!j)
		return;
	if (j->cfg.workers > 0) {
		/* let running jobs end within the grace, then tell them to stop at their next checkpoint */
		until = util_now_ns() + (uint64_t)grace_ms * 1000000u;
		atomic_store(&j->draining, true);
		while (atomic_load(&j->busy) > 0 && util_now_ns() < until)
			usleep(20000);
		atomic_store(&j->stop, true);
		pthread_mutex_lock(&j->mu);
		pthread_cond_broadcast(&j->wake);
		pthread_mutex_unlock(&j->mu);
		for (int k = 0; k < j->cfg.workers; k++)
			pthread_join(j->slots[k].thread, NULL);
		pthread_join(j->heartbeat, NULL);
		pthread_join(j->listener, NULL);
		for (int k = 0; k < j->cfg.workers; k++)
			pthread_mutex_destroy(&j->slots[k].mu);
		db_pool_free(j->work);
		db_pool_free(j->control);
		free(j->slots);
	}
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->wake);
	free(j);
}

void jobs_stats(struct jobs *j, struct jobs_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!j)
		return;
	out->workers = j->cfg.workers;
	out->busy = atomic_load(&j->busy);
	out->claimed = atomic_load(&j->claimed);
	out->succeeded = atomic_load(&j->succeeded);
	out->failed = atomic_load(&j->failed);
	out->cancelled = atomic_load(&j->cancelled);
}
