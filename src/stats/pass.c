/* Passes over streamed sources: one thread per source, fixed merge order. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats_int.h"
#include "a51/banned.h"

/* One per thread, each on its own cache lines. */
struct pass_thread {
	_Alignas(64) struct stats_source *src;
	stats_block_fn fn;
	void *arg;
	unsigned k;
	int rc;
	struct a51_error err;
};

static void *pass_thread_main(void *a)
{
	struct pass_thread *t = a;
	struct stats_block blk;
	int r;

	t->rc = t->src->rewind ? t->src->rewind(t->src->ctx, &t->err) : 0;
	if (t->rc < 0)
		return NULL;
	for (;;) {
		memset(&blk, 0, sizeof(blk));
		r = t->src->next(t->src->ctx, &blk, &t->err);
		if (r < 0) {
			t->rc = r;
			return NULL;
		}
		if (r == 0)
			return NULL;
		if (blk.nrows > 0 && (!blk.X || !blk.y)) {
			t->rc = a51_error_set(&t->err, A51_EINVAL, !blk.X ? "X" : "y",
					      "source %u handed out a block without data", t->k);
			return NULL;
		}
		t->rc = t->fn(t->arg, t->k, &blk, &t->err);
		if (t->rc < 0)
			return NULL;
	}
}

int stats_pass_run(struct stats_source *src, size_t nsrc, stats_block_fn fn, void *arg, struct a51_error *err)
{
	struct pass_thread *t;
	pthread_t *tid;
	bool *started;
	int rc = 0;

	if (nsrc == 0 || nsrc > STATS_MAX_THREADS)
		return a51_error_set(err, A51_EINVAL, "nsrc", "between 1 and %d sources, got %zu", STATS_MAX_THREADS,
				     nsrc);
	t = stats_alloc_lines(nsrc * sizeof(*t));
	tid = calloc(nsrc, sizeof(*tid));
	started = calloc(nsrc, sizeof(*started));
	if (!t || !tid || !started) {
		rc = a51_error_set(err, A51_ENOMEM, "", "out of memory starting a pass");
		goto out;
	}
	for (size_t k = 0; k < nsrc; k++) {
		if (!src[k].next) {
			rc = a51_error_set(err, A51_EINVAL, "src", "source %zu has no next()", k);
			goto out;
		}
		t[k].src = &src[k];
		t[k].fn = fn;
		t[k].arg = arg;
		t[k].k = (unsigned)k;
	}
	for (size_t k = 1; k < nsrc; k++)
		started[k] = pthread_create(&tid[k], NULL, pass_thread_main, &t[k]) == 0;
	pass_thread_main(&t[0]);
	for (size_t k = 1; k < nsrc; k++) {
		if (started[k])
			pthread_join(tid[k], NULL);
		else
			pass_thread_main(&t[k]); /* no thread to be had: read it here */
	}
	for (size_t k = 0; k < nsrc; k++) {
		if (t[k].rc < 0) {
			rc = t[k].rc;
			if (err)
				*err = t[k].err;
			break;
		}
	}
out:
	free(t);
	free(tid);
	free(started);
	return rc;
}

static int ls_block(void *arg, unsigned k, const struct stats_block *b, struct a51_error *err)
{
	return stats_ls_add_rows_worker(arg, k, b->X, b->y, b->w, b->nrows, err);
}

static int hc_block(void *arg, unsigned k, const struct stats_block *b, struct a51_error *err)
{
	struct stats_hc **hc = arg;

	return stats_hc_add_rows(hc[k], b->X, b->y, b->w, b->nrows, err);
}

/* The HC1 pass for a fit, one accumulator per source merged in order. */
static int hc_pass(struct stats_source *src, size_t nsrc, struct stats_fit *fit, struct a51_error *err)
{
	struct stats_hc **hc = calloc(nsrc, sizeof(*hc));
	int rc = 0;

	if (!hc)
		return a51_error_set(err, A51_ENOMEM, "", "out of memory for HC1");
	for (size_t k = 0; k < nsrc && rc == 0; k++) {
		hc[k] = stats_hc_new(fit, err);
		if (!hc[k])
			rc = A51_ENOMEM;
	}
	if (rc == 0)
		rc = stats_pass_run(src, nsrc, hc_block, hc, err);
	for (size_t k = 1; k < nsrc && rc == 0; k++)
		rc = stats_hc_merge(hc[0], hc[k], err);
	if (rc == 0)
		rc = stats_hc_finish(hc[0], fit, err);
	for (size_t k = 0; k < nsrc; k++)
		stats_hc_free(hc[k]);
	free(hc);
	return rc;
}

int stats_ls_fit_sources(struct stats_source *src, size_t nsrc, size_t p, const struct stats_solve_opts *opts,
			 bool hc1, struct stats_fit *out, struct a51_error *err)
{
	struct stats_ls *acc;
	int rc;

	memset(out, 0, sizeof(*out));
	if (nsrc == 0 || nsrc > STATS_MAX_THREADS)
		return a51_error_set(err, A51_EINVAL, "nsrc", "between 1 and %d sources, got %zu", STATS_MAX_THREADS,
				     nsrc);
	acc = stats_ls_new(p, (unsigned)nsrc, STATS_LS_AUTO, err);
	if (!acc)
		return err ? err->code : A51_EINVAL;
	rc = stats_pass_run(src, nsrc, ls_block, acc, err);
	if (rc == 0)
		rc = stats_ls_solve(acc, opts, out, err);
	if (rc == 0 && hc1)
		rc = hc_pass(src, nsrc, out, err);
	if (rc < 0)
		stats_fit_release(out);
	stats_ls_free(acc);
	return rc;
}

/* ---- log-OLS ---- */

/* Per-thread scratch and sums, each on its own cache lines. */
struct logols_thread {
	_Alignas(64) double *ly; /* log y of the block */
	size_t cap;
	long double swe, sw;     /* sum w exp(e), sum w */
};

struct logols_ctx {
	struct stats_ls *acc;
	struct logols_thread *t;
	const double *coef;
	size_t p;
};

static int logols_fit_block(void *arg, unsigned k, const struct stats_block *b, struct a51_error *err)
{
	struct logols_ctx *c = arg;
	struct logols_thread *t = &c->t[k];

	if (b->nrows > t->cap) {
		double *n = realloc(t->ly, b->nrows * sizeof(double));

		if (!n)
			return a51_error_set(err, A51_ENOMEM, "", "out of memory for a block of %zu rows", b->nrows);
		t->ly = n;
		t->cap = b->nrows;
	}
	for (size_t i = 0; i < b->nrows; i++) {
		if (b->w && b->w[i] == 0) {
			t->ly[i] = 0; /* ignored row: its y need not be positive */
			continue;
		}
		if (!(b->y[i] > 0))
			return a51_error_set(err, A51_EINVAL, "y", "log-OLS needs y > 0 (row %zu of a block: %g)", i,
					     b->y[i]);
		t->ly[i] = log(b->y[i]);
	}
	return stats_ls_add_rows_worker(c->acc, k, b->X, t->ly, b->w, b->nrows, err);
}

static int logols_smear_block(void *arg, unsigned k, const struct stats_block *b, struct a51_error *err)
{
	struct logols_ctx *c = arg;
	struct logols_thread *t = &c->t[k];

	for (size_t i = 0; i < b->nrows; i++) {
		double wi = b->w ? b->w[i] : 1;

		if (wi == 0)
			continue;
		if (!(b->y[i] > 0))
			return a51_error_set(err, A51_EINVAL, "y", "log-OLS needs y > 0 (row %zu of a block: %g)", i,
					     b->y[i]);
		t->swe += wi * expl((long double)log(b->y[i]) - stats_predict(c->coef, c->p, b->X + i * c->p));
		t->sw += wi;
	}
	return 0;
}

int stats_logols_fit(struct stats_source *src, size_t nsrc, size_t p, const struct stats_solve_opts *opts,
		     struct stats_logols_fit *out, struct a51_error *err)
{
	struct logols_ctx c = { 0 };
	long double swe = 0, sw = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->smearing = NAN;
	if (nsrc == 0 || nsrc > STATS_MAX_THREADS)
		return a51_error_set(err, A51_EINVAL, "nsrc", "between 1 and %d sources, got %zu", STATS_MAX_THREADS,
				     nsrc);
	c.p = p;
	c.acc = stats_ls_new(p, (unsigned)nsrc, STATS_LS_AUTO, err);
	if (!c.acc)
		return err ? err->code : A51_EINVAL;
	c.t = stats_alloc_lines(nsrc * sizeof(*c.t));
	if (!c.t) {
		rc = a51_error_set(err, A51_ENOMEM, "", "out of memory for log-OLS");
		goto out;
	}
	rc = stats_pass_run(src, nsrc, logols_fit_block, &c, err);
	if (rc == 0)
		rc = stats_ls_solve(c.acc, opts, &out->fit, err);
	if (rc < 0)
		goto out;
	c.coef = out->fit.coef;
	rc = stats_pass_run(src, nsrc, logols_smear_block, &c, err);
	if (rc < 0)
		goto out;
	for (size_t k = 0; k < nsrc; k++) {
		swe += c.t[k].swe;
		sw += c.t[k].sw;
	}
	out->smearing = (double)(swe / sw);
out:
	if (c.t)
		for (size_t k = 0; k < nsrc; k++)
			free(c.t[k].ly);
	free(c.t);
	stats_ls_free(c.acc);
	if (rc < 0)
		stats_logols_fit_release(out);
	return rc;
}

void stats_logols_fit_release(struct stats_logols_fit *f)
{
	stats_fit_release(&f->fit);
	f->smearing = NAN;
}

double stats_logols_predict(const struct stats_logols_fit *f, const double *x_row)
{
	return exp(stats_predict(f->fit.coef, f->fit.p, x_row)) * f->smearing;
}
