/* The streaming least-squares accumulator: workers, scaling, merging. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats_int.h"
#include "a51/banned.h"

/* Per-thread state. _Alignas makes its size a whole number of cache lines and
 * stats_alloc_lines() gives each worker its own lines: two workers never
 * write to one line (false sharing made 2 threads slower than 1). */
struct ls_worker {
	_Alignas(64) struct ls_part part; /* R is current while in long double mode */
	double *Rd;          /* q x q: current once in double mode */
	bool in_double;
	size_t seen;         /* rows of positive weight folded: drives the switch */
	double *A;           /* LS_BLOCK_ROWS x q block, column-major */
	long double *Al;     /* LS_EXT_ROWS x q block */
	double *work;
	double *sw_row;      /* sqrt(w) of the block's kept rows */
	size_t *idx;         /* the block's kept rows (w > 0) */
	struct a51_error err;
	int failed;          /* sticky error code, 0 when healthy */
	size_t nunset;       /* columns whose scale is still unset */
};

struct stats_ls {
	size_t p, q;
	unsigned nw;
	int flags;
	struct ls_part extra;  /* rows merged in from other accumulators */
	long double *tmp;      /* q x q scratch for folding factors */
	int failed;
	struct a51_error err;
	struct ls_worker *w[];
};

void *stats_alloc_lines(size_t size)
{
	size_t n = (size + 63) / 64 * 64;
	void *p = aligned_alloc(64, n ? n : 64);

	if (p)
		memset(p, 0, n ? n : 64); /* first touch here, once, not in the hot loop */
	return p;
}

static int part_init(struct ls_part *pt, size_t q)
{
	pt->R = stats_alloc_lines(q * q * sizeof(long double));
	pt->scale = stats_alloc_lines(q * sizeof(double));
	return pt->R && pt->scale ? 0 : -1;
}

static void part_clear(struct ls_part *pt, size_t q)
{
	memset(pt->R, 0, q * q * sizeof(long double));
	memset(pt->scale, 0, q * sizeof(double));
	pt->nobs = 0;
	pt->sw = pt->mean = pt->m2 = pt->swy2 = 0;
}

void stats_moments_merge(struct ls_part *p, long double sw, long double mean, long double m2, long double swy2)
{
	long double tot = p->sw + sw, d = mean - p->mean;

	if (sw == 0)
		return;
	p->m2 += m2 + d * d * (p->sw * sw / tot);
	p->mean += d * (sw / tot);
	p->sw = tot;
	p->swy2 += swy2;
}

static void worker_free(struct ls_worker *wk)
{
	if (!wk)
		return;
	free(wk->part.R);
	free(wk->part.scale);
	free(wk->Rd);
	free(wk->A);
	free(wk->Al);
	free(wk->work);
	free(wk->sw_row);
	free(wk->idx);
	free(wk);
}

static struct ls_worker *worker_new(size_t q, int flags)
{
	struct ls_worker *wk = stats_alloc_lines(sizeof(*wk));
	size_t rows = LS_BLOCK_ROWS > LS_EXT_ROWS ? LS_BLOCK_ROWS : LS_EXT_ROWS;

	if (!wk)
		return NULL;
	if (part_init(&wk->part, q) < 0)
		goto fail;
	wk->Rd = stats_alloc_lines(q * q * sizeof(double));
	wk->A = stats_alloc_lines(LS_BLOCK_LD * q * sizeof(double));
	wk->Al = stats_alloc_lines(LS_EXT_ROWS * q * sizeof(long double));
	wk->work = stats_alloc_lines(stats_qr_work_len(q) * sizeof(double));
	wk->sw_row = stats_alloc_lines(rows * sizeof(double));
	wk->idx = stats_alloc_lines(rows * sizeof(size_t));
	if (!wk->Rd || !wk->A || !wk->Al || !wk->work || !wk->sw_row || !wk->idx)
		goto fail;
	wk->in_double = flags == STATS_LS_DOUBLE;
	wk->nunset = q;
	return wk;
fail:
	worker_free(wk);
	return NULL;
}

static void worker_reset(struct ls_worker *wk, size_t q, int flags)
{
	part_clear(&wk->part, q);
	memset(wk->Rd, 0, q * q * sizeof(double));
	wk->in_double = flags == STATS_LS_DOUBLE;
	wk->seen = 0;
	wk->nunset = q;
	wk->failed = 0;
	a51_error_clear(&wk->err);
}

struct stats_ls *stats_ls_new(size_t p, unsigned nthreads, int flags, struct a51_error *err)
{
	struct stats_ls *acc;
	unsigned nw = nthreads ? nthreads : 1;

	if (p < 1 || p > STATS_MAX_P) {
		a51_error_set(err, A51_EINVAL, "p", "p must be between 1 and %d, got %zu", STATS_MAX_P, p);
		return NULL;
	}
	if (nw > STATS_MAX_THREADS) {
		a51_error_set(err, A51_EINVAL, "nthreads", "at most %d threads, got %u", STATS_MAX_THREADS, nw);
		return NULL;
	}
	if (flags != STATS_LS_AUTO && flags != STATS_LS_DOUBLE && flags != STATS_LS_EXTENDED) {
		a51_error_set(err, A51_EINVAL, "flags", "unknown precision flags %d", flags);
		return NULL;
	}
	acc = calloc(1, sizeof(*acc) + nw * sizeof(acc->w[0]));
	if (!acc)
		goto nomem;
	acc->p = p;
	acc->q = p + 1;
	acc->nw = nw;
	acc->flags = flags;
	if (part_init(&acc->extra, acc->q) < 0)
		goto nomem;
	acc->tmp = stats_alloc_lines(acc->q * acc->q * sizeof(long double));
	if (!acc->tmp)
		goto nomem;
	for (unsigned k = 0; k < nw; k++) {
		acc->w[k] = worker_new(acc->q, flags);
		if (!acc->w[k])
			goto nomem;
	}
	return acc;
nomem:
	stats_ls_free(acc);
	a51_error_set(err, A51_ENOMEM, "", "out of memory for a %zu-column accumulator", p);
	return NULL;
}

void stats_ls_free(struct stats_ls *acc)
{
	if (!acc)
		return;
	for (unsigned k = 0; k < acc->nw; k++)
		worker_free(acc->w[k]);
	free(acc->extra.R);
	free(acc->extra.scale);
	free(acc->tmp);
	free(acc);
}

void stats_ls_reset(struct stats_ls *acc)
{
	part_clear(&acc->extra, acc->q);
	for (unsigned k = 0; k < acc->nw; k++)
		worker_reset(acc->w[k], acc->q, acc->flags);
	acc->failed = 0;
	a51_error_clear(&acc->err);
}

size_t stats_ls_ncols(const struct stats_ls *acc)
{
	return acc->p;
}

size_t stats_ls_nobs(const struct stats_ls *acc)
{
	size_t n = acc->extra.nobs;

	for (unsigned k = 0; k < acc->nw; k++)
		n += acc->w[k]->part.nobs;
	return n;
}

static int worker_fail(struct ls_worker *wk, struct a51_error *err, const char *field, const char *why, size_t row)
{
	a51_error_set(&wk->err, A51_EINVAL, field, "row %zu: %s", row, why);
	wk->failed = A51_EINVAL;
	if (err)
		*err = wk->err;
	return A51_EINVAL;
}

/* Picks the kept rows of a block (w > 0; all of them when w is NULL, then
 * idx is not used), sets the scales of columns seen for the first time and
 * folds the y moments. Returns the kept count or a negative code. Scales are
 * powers of two, so scaling is exact and the Householder steps commute with
 * it: it only keeps squares in range. Values are not checked here: a
 * non-finite value always ends up in R, which is checked once per call. */
static long block_prepare(struct ls_worker *wk, size_t p, const double *X, const double *y, const double *w,
			  size_t n, size_t row0, struct a51_error *err)
{
	size_t q = p + 1, m = n;
	double *scale = wk->part.scale;
	double sw = 0, swy = 0, mean, m2 = 0, swy2 = 0;

#define ROW(k) (w ? wk->idx[k] : (k))
	if (w) {
		m = 0;
		for (size_t i = 0; i < n; i++) {
			double wi = w[i];

			if (!(wi >= 0) || isinf(wi))
				return worker_fail(wk, err, "w", "weight must be finite and >= 0", row0 + i);
			if (wi == 0)
				continue;
			wk->idx[m] = i;
			wk->sw_row[m] = sqrt(wi);
			m++;
		}
	}
	if (m == 0)
		return 0;
	for (size_t c = 0; c < q && wk->nunset > 0; c++) {
		double mx = 0;
		int e;

		if (scale[c] != 0)
			continue;
		for (size_t k = 0; k < m; k++) {
			double v = fabs(c < p ? X[ROW(k) * p + c] : y[ROW(k)]);

			mx = v > mx ? v : mx;
		}
		if (mx > 0 && isfinite(mx)) {
			frexp(mx, &e);
			scale[c] = ldexp(1.0, -e);
			wk->nunset--;
		}
	}
	/* Two-pass moments inside the block, merged pairwise across blocks. */
	for (size_t k = 0; k < m; k++) {
		double wi = w ? w[ROW(k)] : 1;

		sw += wi;
		swy += wi * y[ROW(k)];
	}
	mean = swy / sw;
	for (size_t k = 0; k < m; k++) {
		double wi = w ? w[ROW(k)] : 1, v = y[ROW(k)], d = v - mean;

		m2 += wi * d * d;
		swy2 += wi * v * v;
	}
#undef ROW
	stats_moments_merge(&wk->part, sw, mean, m2, swy2);
	wk->part.nobs += m;
	return (long)m;
}

static void fold_ld(struct ls_worker *wk, size_t p, const double *X, const double *y, const double *w, size_t m)
{
	size_t q = p + 1;
	const double *s = wk->part.scale;

	for (size_t k = 0; k < m; k++) {
		size_t i = w ? wk->idx[k] : k;
		long double f = w ? sqrtl(w[i]) : 1;

		for (size_t c = 0; c < p; c++)
			wk->Al[c * LS_EXT_ROWS + k] = (long double)X[i * p + c] * s[c] * f;
		wk->Al[p * LS_EXT_ROWS + k] = (long double)y[i] * s[p] * f;
	}
	stats_qr_stack_ld(wk->part.R, q, wk->Al, LS_EXT_ROWS, m);
}

static void fold_d(struct ls_worker *wk, size_t p, const double *X, const double *y, bool weighted, size_t m)
{
	size_t q = p + 1, mp = (m + 15) / 16 * 16;
	const double *s = wk->part.scale;
	double *A = wk->A;

	stats_block_gather(A, LS_BLOCK_LD, X, p, weighted ? wk->idx : NULL, weighted ? wk->sw_row : NULL, s, m);
	for (size_t k = 0; k < m; k++) {
		size_t i = weighted ? wk->idx[k] : k;

		A[p * LS_BLOCK_LD + k] = y[i] * s[p] * (weighted ? wk->sw_row[k] : 1);
	}
	for (size_t c = 0; c < q; c++)
		for (size_t k = m; k < mp; k++)
			A[c * LS_BLOCK_LD + k] = 0;
	stats_qr_stack(wk->Rd, q, A, LS_BLOCK_LD, mp, wk->work);
}

static bool worker_finite(const struct ls_worker *wk, size_t q)
{
	double chk[4] = { 0, 0, 0, 0 };

	/* x * 0 is NaN exactly for Inf and NaN; four chains for speed. */
	if (wk->in_double) {
		for (size_t i = 0; i < q * q; i++)
			chk[i & 3] += wk->Rd[i] * 0.0;
	} else {
		for (size_t i = 0; i < q * q; i++)
			chk[i & 3] += (double)(wk->part.R[i] * 0.0L);
	}
	return chk[0] + chk[1] + chk[2] + chk[3] == 0;
}

/* The factor went non-finite during a call: name the first row to blame. */
static int worker_blame(struct ls_worker *wk, size_t p, const double *X, const double *y, const double *w,
			size_t n, size_t row0, struct a51_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (w && w[i] == 0)
			continue;
		if (!isfinite(y[i]))
			return worker_fail(wk, err, "y", "non-finite value", row0 + i);
		for (size_t c = 0; c < p; c++)
			if (!isfinite(X[i * p + c]))
				return worker_fail(wk, err, "X", "non-finite value", row0 + i);
	}
	a51_error_set(&wk->err, A51_EINVAL, "X", "values too large: the factor overflowed");
	wk->failed = A51_EINVAL;
	if (err)
		*err = wk->err;
	return A51_EINVAL;
}

static void worker_to_double(struct ls_worker *wk, size_t q)
{
	for (size_t i = 0; i < q * q; i++)
		wk->Rd[i] = (double)wk->part.R[i];
	wk->in_double = true;
}

static int worker_add(struct ls_worker *wk, size_t p, int flags, const double *X, const double *y, const double *w,
		      size_t n, size_t row0, struct a51_error *err)
{
	size_t done = 0;

	if (wk->failed) {
		if (err)
			*err = wk->err;
		return wk->failed;
	}
	while (done < n) {
		size_t chunk;
		long m;

		if (!wk->in_double && flags == STATS_LS_AUTO && wk->seen >= STATS_LS_EXTENDED_ROWS)
			worker_to_double(wk, p + 1);
		chunk = wk->in_double ? LS_BLOCK_ROWS : LS_EXT_ROWS;
		if (!wk->in_double && flags == STATS_LS_AUTO && STATS_LS_EXTENDED_ROWS - wk->seen < chunk)
			chunk = STATS_LS_EXTENDED_ROWS - wk->seen;
		if (chunk > n - done)
			chunk = n - done;
		m = block_prepare(wk, p, X + done * p, y + done, w ? w + done : NULL, chunk, row0 + done, err);
		if (m < 0)
			return (int)m;
		if (m > 0 && wk->in_double)
			fold_d(wk, p, X + done * p, y + done, w != NULL, (size_t)m);
		else if (m > 0)
			fold_ld(wk, p, X + done * p, y + done, w ? w + done : NULL, (size_t)m);
		wk->seen += (size_t)m;
		done += chunk;
	}
	if (!worker_finite(wk, p + 1))
		return worker_blame(wk, p, X, y, w, n, row0, err);
	return 0;
}

int stats_ls_add_rows_worker(struct stats_ls *acc, unsigned k, const double *X, const double *y, const double *w,
			     size_t nrows, struct a51_error *err)
{
	return worker_add(acc->w[k], acc->p, acc->flags, X, y, w, nrows, 0, err);
}

struct add_job {
	struct stats_ls *acc;
	unsigned k;
	const double *X, *y, *w;
	size_t row0, n;
	int rc;
};

static void *add_thread(void *arg)
{
	struct add_job *j = arg;

	j->rc = worker_add(j->acc->w[j->k], j->acc->p, j->acc->flags, j->X + j->row0 * j->acc->p, j->y + j->row0,
			   j->w ? j->w + j->row0 : NULL, j->n, j->row0, NULL);
	return NULL;
}

/* Copies the first worker error (in worker order) into the accumulator. */
static int acc_collect(struct stats_ls *acc, struct a51_error *err)
{
	for (unsigned k = 0; k < acc->nw; k++) {
		if (acc->w[k]->failed) {
			acc->failed = acc->w[k]->failed;
			acc->err = acc->w[k]->err;
			if (err)
				*err = acc->err;
			return acc->failed;
		}
	}
	return 0;
}

int stats_ls_add_rows(struct stats_ls *acc, const double *X, const double *y, const double *w, size_t nrows,
		      struct a51_error *err)
{
	struct add_job jobs[STATS_MAX_THREADS];
	pthread_t tid[STATS_MAX_THREADS];
	bool started[STATS_MAX_THREADS] = { false };
	unsigned nt = acc->nw;

	if (acc->failed) {
		if (err)
			*err = acc->err;
		return acc->failed;
	}
	if (nrows == 0)
		return 0;
	if (!X || !y)
		return a51_error_set(err, A51_EINVAL, !X ? "X" : "y", "missing data array");
	if (nrows / LS_MIN_ROWS_PER_THREAD < nt)
		nt = (unsigned)(nrows / LS_MIN_ROWS_PER_THREAD);
	if (nt <= 1) {
		if (worker_add(acc->w[0], acc->p, acc->flags, X, y, w, nrows, 0, NULL) < 0)
			return acc_collect(acc, err);
		return 0;
	}
	for (unsigned k = 0; k < nt; k++) {
		jobs[k] = (struct add_job){ acc, k, X, y, w, nrows * k / nt, nrows * (k + 1) / nt - nrows * k / nt, 0 };
		if (k > 0)
			started[k] = pthread_create(&tid[k], NULL, add_thread, &jobs[k]) == 0;
	}
	add_thread(&jobs[0]);
	for (unsigned k = 1; k < nt; k++) {
		if (started[k])
			pthread_join(tid[k], NULL);
		else
			add_thread(&jobs[k]); /* no thread to be had: do its share here */
	}
	return acc_collect(acc, err);
}

/* Stacks factor R2 (scales s2) under dst and re-triangularises, after bringing
 * R2's columns to dst's scales (a power of two: exact). */
static void part_fold_factor(struct ls_part *dst, size_t q, const long double *R2, const double *s2,
			     long double *tmp)
{
	for (size_t c = 0; c < q; c++) {
		long double r = 1;

		if (s2[c] != 0 && dst->scale[c] == 0)
			dst->scale[c] = s2[c]; /* dst's column is all zeros so far */
		if (s2[c] != 0)
			r = (long double)dst->scale[c] / s2[c];
		for (size_t i = 0; i < q; i++)
			tmp[c * q + i] = R2[c * q + i] * r;
	}
	stats_qr_stack_ld(dst->R, q, tmp, q, q);
}

static void part_fold(struct ls_part *dst, size_t q, const struct ls_part *src, long double *tmp)
{
	part_fold_factor(dst, q, src->R, src->scale, tmp);
	stats_moments_merge(dst, src->sw, src->mean, src->m2, src->swy2);
	dst->nobs += src->nobs;
}

int stats_ls_combine(const struct stats_ls *acc, struct ls_part *out, struct a51_error *err)
{
	size_t q = acc->q;
	long double *tmp = acc->tmp;
	long double *Rw = NULL;

	for (unsigned k = 0; k < acc->nw; k++) {
		if (acc->w[k]->failed) {
			if (err)
				*err = acc->w[k]->err;
			return acc->w[k]->failed;
		}
	}
	memset(out->R, 0, q * q * sizeof(long double));
	memset(out->scale, 0, q * sizeof(double));
	out->nobs = 0;
	out->sw = out->mean = out->m2 = out->swy2 = 0;
	part_fold(out, q, &acc->extra, tmp);
	for (unsigned k = 0; k < acc->nw; k++) {
		const struct ls_worker *wk = acc->w[k];
		struct ls_part pt = wk->part;

		if (wk->in_double) {
			if (!Rw) {
				Rw = malloc(q * q * sizeof(long double));
				if (!Rw)
					return a51_error_set(err, A51_ENOMEM, "", "out of memory combining factors");
			}
			for (size_t i = 0; i < q * q; i++)
				Rw[i] = wk->Rd[i];
			pt.R = Rw;
		}
		part_fold(out, q, &pt, tmp);
	}
	free(Rw);
	return 0;
}

int stats_ls_merge(struct stats_ls *dst, const struct stats_ls *src, struct a51_error *err)
{
	struct ls_part pt;
	int rc;

	if (dst->failed) {
		if (err)
			*err = dst->err;
		return dst->failed;
	}
	if (src->p != dst->p)
		return a51_error_set(err, A51_EINVAL, "p", "cannot merge %zu columns into %zu", src->p, dst->p);
	if (src->failed) {
		if (err)
			*err = src->err;
		return src->failed;
	}
	if (part_init(&pt, dst->q) < 0) {
		rc = a51_error_set(err, A51_ENOMEM, "", "out of memory merging accumulators");
		goto out;
	}
	rc = stats_ls_combine(src, &pt, err);
	if (rc == 0)
		part_fold(&dst->extra, dst->q, &pt, dst->tmp);
out:
	free(pt.R);
	free(pt.scale);
	return rc;
}
