/* GLMs with a log link by IRLS: one streamed pass per iteration. The pass at
 * coefficients b computes the deviance at b and, in the same reading of the
 * rows, the weighted least-squares problem whose solution is the next b. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_int.h"
#include "a51/banned.h"

#define GLM_MAX_HALVINGS 30

/* Per-thread scratch and sums, each on its own cache lines. */
struct glm_thread {
	_Alignas(64) double *z; /* working response of the block */
	double *ww;             /* working weights */
	size_t cap;
	long double dev, pearson, null_dev, sw, swy;
	bool invalid;           /* mu not finite or not positive: halve the step */
	bool offset;            /* some block had an offset */
};

struct glm_ctx {
	int family;
	const double *beta;     /* NULL: start from y */
	double null_mu;         /* > 0: accumulate the null deviance at this mean */
	size_t p;
	struct stats_ls *acc;
	struct glm_thread *t;
};

/* Unit deviance d(y, mu) (the deviance is sum w d). */
static double glm_unit_dev(int family, double y, double mu)
{
	if (family == STATS_POISSON_LOG)
		return 2 * ((y > 0 ? y * log(y / mu) : 0) - (y - mu));
	return 2 * (-log(y / mu) + (y - mu) / mu);
}

static int glm_check_y(int family, double y)
{
	if (family == STATS_POISSON_LOG)
		return y >= 0 && isfinite(y) ? 0 : -1;
	return y > 0 && isfinite(y) ? 0 : -1;
}

/* Linear predictor and mean of one row: from y at the start (R's mustart,
 * the offset left out as R does), from the coefficients afterwards. */
static void glm_eta_mu(int family, const double *beta, size_t p, const double *x_row, double y, double offset,
		       double *eta, double *mu)
{
	if (!beta) {
		*mu = family == STATS_POISSON_LOG ? y + 0.1 : y;
		*eta = log(*mu);
	} else {
		*eta = stats_predict(beta, p, x_row) + offset;
		*mu = exp(*eta);
	}
}

int stats_glm_working(int family, const double *beta, size_t p, const double *x_row, double y, double w,
		      double offset, double *z, double *ww)
{
	double eta, mu;

	if (glm_check_y(family, y) < 0 || !(w >= 0))
		return A51_EINVAL;
	glm_eta_mu(family, beta, p, x_row, y, offset, &eta, &mu);
	if (!isfinite(eta) || !isfinite(mu) || !(mu > 0))
		return A51_EINVAL;
	*z = eta - offset + (y - mu) / mu;
	*ww = w * (family == STATS_POISSON_LOG ? mu : 1);
	return 0;
}

static int glm_block(void *arg, unsigned k, const struct stats_block *b, struct a51_error *err)
{
	struct glm_ctx *c = arg;
	struct glm_thread *t = &c->t[k];

	if (t->invalid)
		return 0; /* this pass is void anyway: just drain the source */
	if (b->nrows > t->cap) {
		double *z = realloc(t->z, b->nrows * sizeof(double));
		double *ww = z ? realloc(t->ww, b->nrows * sizeof(double)) : NULL;

		if (z)
			t->z = z;
		if (!z || !ww)
			return a51_error_set(err, A51_ENOMEM, "", "out of memory for a block of %zu rows", b->nrows);
		t->ww = ww;
		t->cap = b->nrows;
	}
	if (b->offset)
		t->offset = true;
	for (size_t i = 0; i < b->nrows; i++) {
		double w = b->w ? b->w[i] : 1, y = b->y[i], off = b->offset ? b->offset[i] : 0, mu, eta;

		t->z[i] = t->ww[i] = 0;
		if (!(w >= 0) || isinf(w))
			return a51_error_set(err, A51_EINVAL, "w", "weight must be finite and >= 0, got %g", w);
		if (w == 0)
			continue;
		if (glm_check_y(c->family, y) < 0)
			return a51_error_set(err, A51_EINVAL, "y", "%s needs y %s, got %g",
					     c->family == STATS_POISSON_LOG ? "Poisson" : "gamma",
					     c->family == STATS_POISSON_LOG ? ">= 0" : "> 0", y);
		glm_eta_mu(c->family, c->beta, c->p, b->X + i * c->p, y, off, &eta, &mu);
		if (!isfinite(eta) || !isfinite(mu) || !(mu > 0)) {
			t->invalid = true;
			return 0;
		}
		t->dev += w * glm_unit_dev(c->family, y, mu);
		t->pearson += w * (y - mu) * (y - mu) / (c->family == STATS_POISSON_LOG ? mu : mu * mu);
		if (c->null_mu > 0)
			t->null_dev += w * glm_unit_dev(c->family, y, c->null_mu);
		t->sw += w;
		t->swy += w * y;
		t->z[i] = eta - off + (y - mu) / mu;
		t->ww[i] = w * (c->family == STATS_POISSON_LOG ? mu : 1);
	}
	return stats_ls_add_rows_worker(c->acc, k, b->X, t->z, t->ww, b->nrows, err);
}

struct glm_sums {
	long double dev, pearson, null_dev, sw, swy;
	bool invalid, offset;
};

/* One pass at c->beta: the sums, and the next fit in *next (unless invalid). */
static int glm_pass(struct glm_ctx *c, struct stats_source *src, size_t nsrc, const struct stats_solve_opts *so,
		    struct glm_sums *s, struct stats_fit *next, struct a51_error *err)
{
	int rc;

	stats_ls_reset(c->acc);
	for (size_t k = 0; k < nsrc; k++) {
		struct glm_thread *t = &c->t[k];

		t->dev = t->pearson = t->null_dev = t->sw = t->swy = 0;
		t->invalid = t->offset = false;
	}
	rc = stats_pass_run(src, nsrc, glm_block, c, err);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	for (size_t k = 0; k < nsrc; k++) {
		const struct glm_thread *t = &c->t[k];

		s->dev += t->dev;
		s->pearson += t->pearson;
		s->null_dev += t->null_dev;
		s->sw += t->sw;
		s->swy += t->swy;
		s->invalid |= t->invalid;
		s->offset |= t->offset;
	}
	if (s->invalid || !isfinite((double)s->dev))
		return 0;
	return stats_ls_solve(c->acc, so, next, err);
}

/* The GLM's inference from the working regression that produced coef. */
static void glm_finish(struct stats_glm_fit *out, const struct glm_sums *s, const double *coef, int family)
{
	struct stats_fit *f = &out->fit;
	size_t p = f->p;

	out->deviance = (double)s->dev;
	out->pearson_chi2 = (double)s->pearson;
	out->df_res = f->df_res;
	out->dispersion = family == STATS_POISSON_LOG ? 1 : (f->df_res > 0 ? out->pearson_chi2 / f->df_res : NAN);
	for (size_t j = 0; j < p; j++) {
		if (f->status[j] != STATS_COL_KEPT)
			continue;
		f->coef[j] = coef[j];
		f->se[j] = sqrt(out->dispersion * f->xtx_inv[j * p + j]);
		f->t[j] = f->coef[j] / f->se[j];
	}
}

int stats_glm_fit(const struct stats_glm_opts *opts, struct stats_source *src, size_t nsrc, size_t p,
		  struct stats_glm_fit *out, struct a51_error *err)
{
	struct glm_ctx c = { 0 };
	struct stats_fit prev = { 0 }, next = { 0 };
	struct glm_sums s;
	double *cur = NULL, *good = NULL, devold, eps = opts->epsilon > 0 ? opts->epsilon : 1e-8;
	int maxit = opts->max_iter > 0 ? opts->max_iter : 25, rc;
	bool have_good = false;

	memset(out, 0, sizeof(*out));
	out->null_deviance = NAN;
	if (opts->family != STATS_POISSON_LOG && opts->family != STATS_GAMMA_LOG)
		return a51_error_set(err, A51_EINVAL, "family", "unknown GLM family %d", opts->family);
	if (nsrc == 0 || nsrc > STATS_MAX_THREADS)
		return a51_error_set(err, A51_EINVAL, "nsrc", "between 1 and %d sources, got %zu", STATS_MAX_THREADS,
				     nsrc);
	c.family = opts->family;
	c.p = p;
	c.acc = stats_ls_new(p, (unsigned)nsrc, STATS_LS_AUTO, err);
	if (!c.acc)
		return err ? err->code : A51_EINVAL;
	c.t = stats_alloc_lines(nsrc * sizeof(*c.t));
	cur = malloc(p * sizeof(double));
	good = malloc(p * sizeof(double));
	if (!c.t || !cur || !good) {
		rc = a51_error_set(err, A51_ENOMEM, "", "out of memory for a GLM");
		goto out;
	}
	/* Start: mu from y, as R's mustart. */
	rc = glm_pass(&c, src, nsrc, &opts->solve, &s, &prev, err);
	if (rc == 0 && (s.invalid || !isfinite((double)s.dev)))
		rc = a51_error_set(err, A51_EINVAL, "y", "cannot start the GLM from these y");
	if (rc < 0)
		goto out;
	devold = (double)s.dev;
	if (!s.offset && s.sw > 0)
		c.null_mu = opts->solve.has_intercept ? (double)(s.swy / s.sw) : 1;
	memcpy(cur, prev.coef, p * sizeof(double));
	for (int iter = 1;; iter++) {
		int halvings = 0;

		c.beta = cur;
		for (;;) {
			stats_fit_release(&next);
			rc = glm_pass(&c, src, nsrc, &opts->solve, &s, &next, err);
			if (rc < 0)
				goto out;
			if (!s.invalid && isfinite((double)s.dev))
				break;
			/* R's glm.fit: halve the step back towards the last
			 * coefficients with a finite deviance. */
			if (!have_good || ++halvings > GLM_MAX_HALVINGS) {
				rc = a51_error_set(err, A51_EINVAL, "y",
						   "no coefficients with a finite deviance: cannot correct the step");
				goto out;
			}
			for (size_t j = 0; j < p; j++)
				cur[j] = (cur[j] + good[j]) / 2;
		}
		out->iterations = iter;
		out->converged = fabs((double)s.dev - devold) / (fabs((double)s.dev) + 0.1) < eps;
		if (out->converged || iter >= maxit)
			break;
		devold = (double)s.dev;
		memcpy(good, cur, p * sizeof(double));
		have_good = true;
		stats_fit_release(&prev);
		prev = next;
		memset(&next, 0, sizeof(next));
		memcpy(cur, prev.coef, p * sizeof(double));
	}
	out->fit = prev;
	memset(&prev, 0, sizeof(prev));
	glm_finish(out, &s, cur, c.family);
	if (c.null_mu > 0)
		out->null_deviance = (double)s.null_dev;
out:
	stats_fit_release(&prev);
	stats_fit_release(&next);
	free(cur);
	free(good);
	if (c.t)
		for (size_t k = 0; k < nsrc; k++) {
			free(c.t[k].z);
			free(c.t[k].ww);
		}
	free(c.t);
	stats_ls_free(c.acc);
	if (rc < 0)
		stats_glm_fit_release(out);
	return rc;
}

void stats_glm_fit_release(struct stats_glm_fit *g)
{
	stats_fit_release(&g->fit);
	memset(g, 0, sizeof(*g));
	g->null_deviance = NAN;
}
