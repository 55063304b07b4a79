/* Percentiles, winsorisation and trimming of in-memory arrays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_int.h"
#include "a51/banned.h"

/* The k-th smallest of v[0..n) (0-based) by quickselect with a median-of-
 * three pivot; v is permuted. Expected O(n). */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
		double a = v[lo], b = v[mid], c = v[hi], pivot, t;

		pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		/* Hoare partition: [lo, j] <= pivot <= [i, hi]. */
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

int stats_quantile(const double *v, size_t n, double prob, double *out, struct a51_error *err)
{
	double *c, h, lo, hi;
	size_t k;

	if (n == 0)
		return a51_error_set(err, A51_EINVAL, "n", "quantile of no values");
	if (!(prob >= 0 && prob <= 1))
		return a51_error_set(err, A51_EINVAL, "prob", "probability must be in [0, 1]");
	for (size_t i = 0; i < n; i++)
		if (isnan(v[i]))
			return a51_error_set(err, A51_EINVAL, "v", "value %zu is NaN", i);
	c = malloc(n * sizeof(double));
	if (!c)
		return a51_error_set(err, A51_ENOMEM, "", "out of memory for a quantile of %zu values", n);
	memcpy(c, v, n * sizeof(double));
	/* Type 7: h = (n - 1) p, between order statistics floor(h) and the next. */
	h = (double)(n - 1) * prob;
	k = (size_t)floor(h);
	lo = select_kth(c, n, k);
	hi = lo;
	if (k + 1 < n && h > (double)k) {
		/* After selection everything above k is >= lo: the next order
		 * statistic is the smallest of them. */
		hi = c[k + 1];
		for (size_t i = k + 2; i < n; i++)
			hi = c[i] < hi ? c[i] : hi;
	}
	*out = lo + (h - (double)k) * (hi - lo);
	free(c);
	return 0;
}

size_t stats_winsorize(double *v, size_t n, double lo, double hi)
{
	size_t changed = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i] < lo) {
			v[i] = lo;
			changed++;
		} else if (v[i] > hi) {
			v[i] = hi;
			changed++;
		}
	}
	return changed;
}

size_t stats_trim_weights(const double *y, const double *w_in, double *w, size_t n, double lo, double hi)
{
	size_t trimmed = 0;

	for (size_t i = 0; i < n; i++) {
		bool out = !(y[i] >= lo && y[i] <= hi);

		w[i] = out ? 0 : (w_in ? w_in[i] : 1);
		trimmed += out;
	}
	return trimmed;
}
