/* From the triangular factor to a fit: rank, coefficients, inference.
 * Everything here is O(p^3) on the final factor, so it runs in long double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_int.h"
#include "a51/banned.h"

void stats_solve_opts_init(struct stats_solve_opts *o)
{
	o->has_intercept = true;
	o->rank_tol = STATS_RANK_TOL;
}

void stats_fit_release(struct stats_fit *fit)
{
	if (!fit)
		return;
	free(fit->coef);
	free(fit->se);
	free(fit->t);
	free(fit->se_hc1);
	free(fit->xtx_inv);
	free(fit->vcov_hc1);
	free(fit->status);
	memset(fit, 0, sizeof(*fit));
}

static int fit_alloc(struct stats_fit *f, size_t p)
{
	memset(f, 0, sizeof(*f));
	f->p = p;
	f->coef = malloc(p * sizeof(double));
	f->se = malloc(p * sizeof(double));
	f->t = malloc(p * sizeof(double));
	f->se_hc1 = malloc(p * sizeof(double));
	f->xtx_inv = malloc(p * p * sizeof(double));
	f->vcov_hc1 = malloc(p * p * sizeof(double));
	f->status = calloc(p, 1);
	if (!f->coef || !f->se || !f->t || !f->se_hc1 || !f->xtx_inv || !f->vcov_hc1 || !f->status) {
		stats_fit_release(f);
		return -1;
	}
	for (size_t i = 0; i < p; i++)
		f->coef[i] = f->se[i] = f->t[i] = f->se_hc1[i] = NAN;
	for (size_t i = 0; i < p * p; i++)
		f->xtx_inv[i] = f->vcov_hc1[i] = NAN;
	return 0;
}

/* Householder reflection of rows k.. of column c of B (p rows, column-major)
 * applied to the columns listed in cols[0..ncols) and to z. */
static void reflect(long double *B, size_t p, size_t k, size_t c, const size_t *cols, size_t ncols,
		    long double *z)
{
	long double *v = B + c * p;
	long double sigma = 0, alpha = v[k], beta, tau, f;

	for (size_t r = k + 1; r < p; r++)
		sigma += v[r] * v[r];
	if (sigma == 0)
		return;
	beta = -copysignl(sqrtl(alpha * alpha + sigma), alpha);
	tau = (beta - alpha) / beta;
	f = 1 / (alpha - beta);
	for (size_t r = k + 1; r < p; r++)
		v[r] *= f;
	v[k] = beta;
	for (size_t j = 0; j <= ncols; j++) {
		long double *x = j < ncols ? B + cols[j] * p : z;
		long double s = x[k];

		for (size_t r = k + 1; r < p; r++)
			s += v[r] * x[r];
		s *= tau;
		x[k] -= s;
		for (size_t r = k + 1; r < p; r++)
			x[r] -= s * v[r];
	}
	for (size_t r = k + 1; r < p; r++)
		v[r] = 0;
}

/* Limited column pivoting as LINPACK's dqrdc2 (R's lm): columns are taken in
 * order and one whose norm, once the columns kept before it are projected
 * out, falls under tol x its own norm is set aside. Columns are equilibrated
 * to unit norm first, so tol is a sine and scale-free. It keeps the caller's
 * order and always drops the later of two collinear columns, which is what a
 * user comparing with R expects; full pivoting could drop any of them.
 * Returns the rank; kept[0..rank) are the kept columns in order. */
static size_t pivot_qr(long double *B, size_t p, long double *z, double tol, unsigned char *status, size_t *kept)
{
	size_t *todo = kept + p, ntodo = 0, rank = 0;

	for (size_t c = 0; c < p; c++)
		if (status[c] == STATS_COL_KEPT)
			todo[ntodo++] = c;
	for (size_t i = 0; i < ntodo; i++) {
		size_t c = todo[i];
		long double rn = 0;

		for (size_t r = rank; r < p; r++)
			rn += B[c * p + r] * B[c * p + r];
		if (sqrtl(rn) <= tol) {
			status[c] = STATS_COL_COLLINEAR;
			continue;
		}
		reflect(B, p, rank, c, todo + i + 1, ntodo - i - 1, z);
		kept[rank++] = c;
	}
	return rank;
}

struct solve_work {
	long double *B, *z, *D, *Ri, *C;
	size_t *kept;
};

static void fit_stats(struct stats_fit *out, const struct ls_part *pt, long double rss, bool intercept)
{
	long double tss = intercept ? pt->m2 : pt->swy2;
	double i = intercept ? 1 : 0;

	out->nobs = pt->nobs;
	out->sum_w = (double)pt->sw;
	out->has_intercept = intercept;
	out->rss = (double)rss;
	out->tss = (double)tss;
	out->ss_reg = (double)(tss - rss);
	out->df_res = (double)out->nobs - (double)out->rank;
	out->df_reg = (double)out->rank - i;
	out->r2 = tss > 0 ? (double)(1 - rss / tss) : NAN;
	out->sigma = out->df_res > 0 ? (double)sqrtl(rss / out->df_res) : NAN;
	out->rmse = (double)sqrtl(rss / out->nobs);
	out->adj_r2 = out->df_res > 0 ? 1 - (1 - out->r2) * ((double)out->nobs - i) / out->df_res : NAN;
	if (out->df_reg > 0 && out->df_res > 0)
		out->f_stat = (double)(((tss - rss) / out->df_reg) / (rss / out->df_res));
	else
		out->f_stat = NAN;
}

/* Inverse of the rank x rank upper triangle R2 (rows of B, kept columns),
 * C = R2^-1 R2^-T, and the 1-norm condition number of R2. */
static double invert(const struct solve_work *wk, size_t p, size_t rank)
{
	long double *Ri = wk->Ri, *C = wk->C;
	long double n1 = 0, ni = 0;

#define R2(a, b) wk->B[wk->kept[b] * p + (a)]
	memset(Ri, 0, rank * rank * sizeof(long double));
	for (size_t b = 0; b < rank; b++) {
		Ri[b * rank + b] = 1 / R2(b, b);
		for (size_t a = b; a-- > 0;) {
			long double s = 0;

			for (size_t k = a + 1; k <= b; k++)
				s += R2(a, k) * Ri[k * rank + b];
			Ri[a * rank + b] = -s / R2(a, a);
		}
	}
	for (size_t b = 0; b < rank; b++) {
		long double s1 = 0, si = 0;

		for (size_t a = 0; a <= b; a++) {
			s1 += fabsl(R2(a, b));
			si += fabsl(Ri[a * rank + b]);
		}
		n1 = s1 > n1 ? s1 : n1;
		ni = si > ni ? si : ni;
	}
#undef R2
	for (size_t a = 0; a < rank; a++) {
		for (size_t b = a; b < rank; b++) {
			long double s = 0;

			for (size_t k = b; k < rank; k++)
				s += Ri[a * rank + k] * Ri[b * rank + k];
			C[a * rank + b] = C[b * rank + a] = s;
		}
	}
	return (double)(n1 * ni);
}

int stats_fit_from_part(const struct ls_part *pt, size_t p, const struct stats_solve_opts *opts,
			struct stats_fit *out, struct a51_error *err)
{
	struct stats_solve_opts def;
	struct solve_work wk = { 0 };
	size_t q = p + 1, rank;
	long double rss, rho, sy;
	int rc = 0;

	if (!opts) {
		stats_solve_opts_init(&def);
		opts = &def;
	}
	if (!(opts->rank_tol >= 0 && opts->rank_tol < 1))
		return a51_error_set(err, A51_EINVAL, "rank_tol", "rank_tol must be in [0, 1)");
	if (pt->nobs == 0)
		return a51_error_set(err, A51_EINVAL, "nobs", "no rows of positive weight to fit");
	if (fit_alloc(out, p) < 0)
		return a51_error_set(err, A51_ENOMEM, "", "out of memory for a fit");
	wk.B = malloc(p * p * sizeof(long double));
	wk.z = malloc(p * sizeof(long double));
	wk.D = malloc(p * sizeof(long double));
	wk.Ri = malloc(p * p * sizeof(long double));
	wk.C = malloc(p * p * sizeof(long double));
	wk.kept = malloc(2 * p * sizeof(size_t));
	if (!wk.B || !wk.z || !wk.D || !wk.Ri || !wk.C || !wk.kept) {
		rc = a51_error_set(err, A51_ENOMEM, "", "out of memory for a fit");
		goto out;
	}
	for (size_t c = 0; c < p; c++) {
		long double nrm = 0;

		for (size_t r = 0; r < p; r++)
			nrm += pt->R[c * q + r] * pt->R[c * q + r];
		nrm = sqrtl(nrm);
		wk.D[c] = nrm > 0 ? 1 / nrm : 0;
		out->status[c] = nrm > 0 ? STATS_COL_KEPT : STATS_COL_ZERO;
		for (size_t r = 0; r < p; r++)
			wk.B[c * p + r] = pt->R[c * q + r] * wk.D[c];
	}
	for (size_t r = 0; r < p; r++)
		wk.z[r] = pt->R[p * q + r];
	rho = pt->R[p * q + p];
	rank = pivot_qr(wk.B, p, wk.z, opts->rank_tol > 0 ? opts->rank_tol : STATS_RANK_TOL, out->status, wk.kept);
	out->rank = rank;
	sy = pt->scale[p] != 0 ? pt->scale[p] : 1;
	rss = rho * rho;
	for (size_t r = rank; r < p; r++)
		rss += wk.z[r] * wk.z[r];
	rss /= sy * sy;
	fit_stats(out, pt, rss, opts->has_intercept);
	if (rank == 0)
		goto out;
	out->cond = invert(&wk, p, rank);
	for (size_t a = rank; a-- > 0;) {
		/* Back substitution for the equilibrated coefficients, kept in z. */
		long double s = wk.z[a];

		for (size_t b = a + 1; b < rank; b++)
			s -= wk.B[wk.kept[b] * p + a] * wk.z[b];
		wk.z[a] = s / wk.B[wk.kept[a] * p + a];
	}
	for (size_t a = 0; a < rank; a++) {
		size_t j = wk.kept[a];
		long double g = pt->scale[j] * wk.D[j];

		out->coef[j] = (double)(wk.z[a] * g / sy);
		for (size_t b = 0; b < rank; b++) {
			size_t k = wk.kept[b];

			out->xtx_inv[j * p + k] = (double)(g * pt->scale[k] * wk.D[k] * wk.C[a * rank + b]);
		}
		out->se[j] = (double)(out->sigma * sqrtl(g * g * wk.C[a * rank + a]));
		out->t[j] = out->coef[j] / out->se[j];
	}
out:
	free(wk.B);
	free(wk.z);
	free(wk.D);
	free(wk.Ri);
	free(wk.C);
	free(wk.kept);
	if (rc < 0)
		stats_fit_release(out);
	return rc;
}

int stats_ls_solve(const struct stats_ls *acc, const struct stats_solve_opts *opts, struct stats_fit *out,
		   struct a51_error *err)
{
	size_t p = stats_ls_ncols(acc), q = p + 1;
	struct ls_part pt = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	pt.R = malloc(q * q * sizeof(long double));
	pt.scale = malloc(q * sizeof(double));
	if (!pt.R || !pt.scale) {
		rc = a51_error_set(err, A51_ENOMEM, "", "out of memory solving");
		goto out;
	}
	rc = stats_ls_combine(acc, &pt, err);
	if (rc == 0)
		rc = stats_fit_from_part(&pt, p, opts, out, err);
out:
	free(pt.R);
	free(pt.scale);
	return rc;
}

double stats_predict(const double *coef, size_t p, const double *x_row)
{
	double s = 0;

	for (size_t j = 0; j < p; j++)
		if (!isnan(coef[j]))
			s += coef[j] * x_row[j];
	return s;
}

void stats_predict_rows(const double *coef, size_t p, const double *X, size_t nrows, double *out)
{
	for (size_t i = 0; i < nrows; i++)
		out[i] = stats_predict(coef, p, X + i * p);
}
