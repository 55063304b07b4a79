/* Jobs: long work (model fits, scoring, calculation runs) queued in PostgreSQL
 * and run by worker threads of any a51d. HTTP threads never run them: they
 * submit and answer 202 with the job's URL. */
#ifndef A51_JOBS_H
#define A51_JOBS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "a51/auth.h"
#include "a51/db.h"
#include "a51/error.h"

struct jobs;

/* What a job function gets: its parameters, who submitted it, a connection of
 * its own, and the way to report progress. */
struct job_ctx {
	int64_t id;
	const char *kind;
	const json_t *params;
	struct caller caller;     /* the submitter, as recorded */
	const char *request_id;
	struct db_conn *db;       /* the job's connection: results go through it, in one transaction */
	const char *worker;
	struct jobs *jobs;
	void *slot;               /* internal */
	const void *app;          /* the service's context, as given to jobs_start */
};

/* Records progress (0..1) and a short message; written by the heartbeat.
 * Returns true when the job was cancelled: the function must stop, roll back
 * and return A51_ECANCELED. */
bool job_progress(struct job_ctx *ctx, double fraction, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define A51_ECANCELED (-20)

struct job_result {
	const char *type;         /* "risk_model", "peps_run"... */
	int64_t id;
	char url[128];
};

/* Marks the job succeeded inside the function's open transaction on ctx->db,
 * so that results and status commit together. Fails (A51_ECONFLICT) when the
 * job is no longer this worker's (its lease expired and another took it). */
int job_finish_in_tx(struct job_ctx *ctx, const struct job_result *res, struct a51_error *err);

typedef int (*job_fn)(struct job_ctx *ctx, struct a51_error *err);

struct job_kind {
	const char *name;
	job_fn run;
};

struct jobs_config {
	int workers;              /* threads; 0: none in this process */
	int lease_s;
	const char *database_url;
	int connect_timeout_s;
	int statement_timeout_ms;
	int checkpoint_delay_ms;  /* tests: a pause at every checkpoint */
	const void *app;
};

struct jobs *jobs_start(const struct jobs_config *cfg, const struct job_kind *kinds, size_t nkinds,
			struct a51_error *err);
/* Stops claiming, waits up to grace_ms for running jobs, then stops: an
 * unfinished job is taken over elsewhere once its lease expires. */
void jobs_stop(struct jobs *j, int grace_ms);
struct jobs_stats {
	int workers, busy;
	uint64_t claimed, succeeded, failed, cancelled;
};
void jobs_stats(struct jobs *j, struct jobs_stats *out);

/* Every kind of job a51d runs (src/jobs/kinds.c), and their functions. */
extern const struct job_kind a51_job_kinds[];
extern const size_t a51_job_kinds_count;
int job_rm_fit(struct job_ctx *ctx, struct a51_error *err);
int job_rm_score(struct job_ctx *ctx, struct a51_error *err);
int job_peps_run(struct job_ctx *ctx, struct a51_error *err);
int job_peps_batch(struct job_ctx *ctx, struct a51_error *err);
int job_ipep_run(struct job_ctx *ctx, struct a51_error *err);
int job_ipep_batch(struct job_ctx *ctx, struct a51_error *err);
int job_eds_run(struct job_ctx *ctx, struct a51_error *err);
int job_eds_batch(struct job_ctx *ctx, struct a51_error *err);
int job_ind_run(struct job_ctx *ctx, struct a51_error *err);

/* The reference episodes of an episode risk model (def->target RT_EPISODE)
 * as population rows, and what the model keeps of them besides its
 * coefficients: the complications forfait, the reference indicators, the
 * episodes excluded by reason (*stats). In a transaction. */
struct rm_def;
struct rm_patient;
struct sha256;
int eds_fit_population(struct db_conn *c, const struct rm_def *def, struct sha256 *digest,
		       int (*add)(void *ctx, const struct rm_patient *pt, struct a51_error *err), void *ctx,
		       json_t **stats, struct a51_error *err);

#endif
