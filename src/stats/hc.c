/* HC1 robust covariance: the meat sum (w e)^2 x x' in a second pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_int.h"
#include "a51/banned.h"

struct stats_hc {
	size_t p;
	size_t nobs;
	double *coef;     /* the fit's, 0 for dropped columns */
	double *one;      /* p ones: no column scaling in the gather */
	double *A;        /* LS_BLOCK_ROWS x p block of g_i x_i, column-major */
	double *g;        /* w_i e_i of the block's kept rows */
	size_t *idx;
	double *G;        /* the block's Gram matrix */
	long double *M;   /* p x p meat */
};

void stats_hc_free(struct stats_hc *hc)
{
	if (!hc)
		return;
	free(hc->coef);
	free(hc->one);
	free(hc->A);
	free(hc->g);
	free(hc->idx);
	free(hc->G);
	free(hc->M);
	free(hc);
}

struct stats_hc *stats_hc_new(const struct stats_fit *fit, struct a51_error *err)
{
	struct stats_hc *hc;
	size_t p = fit->p;

	if (p == 0 || !fit->coef) {
		a51_error_set(err, A51_EINVAL, "fit", "the fit is empty");
		return NULL;
	}
	hc = stats_alloc_lines(sizeof(*hc));
	if (!hc)
		goto nomem;
	hc->p = p;
	hc->coef = stats_alloc_lines(p * sizeof(double));
	hc->one = stats_alloc_lines(p * sizeof(double));
	hc->A = stats_alloc_lines(LS_BLOCK_LD * p * sizeof(double));
	hc->g = stats_alloc_lines(LS_BLOCK_ROWS * sizeof(double));
	hc->idx = stats_alloc_lines(LS_BLOCK_ROWS * sizeof(size_t));
	hc->G = stats_alloc_lines(p * p * sizeof(double));
	hc->M = stats_alloc_lines(p * p * sizeof(long double));
	if (!hc->coef || !hc->one || !hc->A || !hc->g || !hc->idx || !hc->G || !hc->M)
		goto nomem;
	for (size_t j = 0; j < p; j++) {
		hc->coef[j] = isnan(fit->coef[j]) ? 0 : fit->coef[j];
		hc->one[j] = 1;
	}
	return hc;
nomem:
	stats_hc_free(hc);
	a51_error_set(err, A51_ENOMEM, "", "out of memory for the HC1 accumulator");
	return NULL;
}

int stats_hc_add_rows(struct stats_hc *hc, const double *X, const double *y, const double *w, size_t nrows,
		      struct a51_error *err)
{
	size_t p = hc->p;

	if (nrows > 0 && (!X || !y))
		return a51_error_set(err, A51_EINVAL, !X ? "X" : "y", "missing data array");
	for (size_t i0 = 0; i0 < nrows; i0 += LS_BLOCK_ROWS) {
		size_t n = nrows - i0 < LS_BLOCK_ROWS ? nrows - i0 : LS_BLOCK_ROWS, m = 0, mp;

		for (size_t i = i0; i < i0 + n; i++) {
			double wi = w ? w[i] : 1, e;

			if (!(wi >= 0) || isinf(wi))
				return a51_error_set(err, A51_EINVAL, "w", "row %zu: weight must be finite and >= 0", i);
			if (wi == 0)
				continue;
			e = y[i] - stats_predict(hc->coef, p, X + i * p);
			if (!isfinite(e))
				return a51_error_set(err, A51_EINVAL, "X", "row %zu: non-finite value", i);
			hc->idx[m] = i;
			hc->g[m] = wi * e;
			m++;
		}
		if (m == 0)
			continue;
		hc->nobs += m;
		stats_block_gather(hc->A, LS_BLOCK_LD, X, p, hc->idx, hc->g, hc->one, m);
		mp = (m + 15) / 16 * 16;
		for (size_t c = 0; c < p; c++)
			for (size_t k = m; k < mp; k++)
				hc->A[c * LS_BLOCK_LD + k] = 0;
		stats_block_gram(hc->A, LS_BLOCK_LD, mp, p, hc->G);
		for (size_t j = 0; j < p * p; j++)
			hc->M[j] += hc->G[j];
	}
	return 0;
}

int stats_hc_merge(struct stats_hc *dst, const struct stats_hc *src, struct a51_error *err)
{
	if (dst->p != src->p)
		return a51_error_set(err, A51_EINVAL, "p", "cannot merge %zu columns into %zu", src->p, dst->p);
	for (size_t j = 0; j < dst->p * dst->p; j++)
		dst->M[j] += src->M[j];
	dst->nobs += src->nobs;
	return 0;
}

int stats_hc_finish(const struct stats_hc *hc, struct stats_fit *fit, struct a51_error *err)
{
	size_t p = hc->p, r = fit->rank, *kept;
	long double *B, f;

	if (fit->p != p || !fit->xtx_inv)
		return a51_error_set(err, A51_EINVAL, "fit", "the fit does not match the HC1 accumulator");
	if (hc->nobs <= r)
		return a51_error_set(err, A51_EINVAL, "nobs", "HC1 needs more rows (%zu) than the rank (%zu)",
				     hc->nobs, r);
	kept = malloc((r ? r : 1) * sizeof(size_t));
	B = malloc((r ? r * r : 1) * sizeof(long double));
	if (!kept || !B) {
		free(kept);
		free(B);
		return a51_error_set(err, A51_ENOMEM, "", "out of memory for HC1");
	}
	for (size_t j = 0, a = 0; j < p; j++)
		if (fit->status[j] == STATS_COL_KEPT)
			kept[a++] = j;
	/* B = A M on the kept columns, then V = B A (A = (X'WX)^-1, symmetric). */
	for (size_t a = 0; a < r; a++) {
		for (size_t b = 0; b < r; b++) {
			long double s = 0;

			for (size_t c = 0; c < r; c++)
				s += (long double)fit->xtx_inv[kept[a] * p + kept[c]] * hc->M[kept[c] * p + kept[b]];
			B[a * r + b] = s;
		}
	}
	f = (long double)hc->nobs / (long double)(hc->nobs - r);
	for (size_t a = 0; a < r; a++) {
		for (size_t b = 0; b < r; b++) {
			long double s = 0;

			for (size_t c = 0; c < r; c++)
				s += B[a * r + c] * fit->xtx_inv[kept[c] * p + kept[b]];
			fit->vcov_hc1[kept[a] * p + kept[b]] = (double)(s * f);
		}
		fit->se_hc1[kept[a]] = sqrt(fit->vcov_hc1[kept[a] * p + kept[a]]);
	}
	free(kept);
	free(B);
	return 0;
}
