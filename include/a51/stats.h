/* stats: least squares, robust standard errors, GLMs and helpers — pure C.
 *
 * The engine is a streaming Householder QR (TSQR): rows arrive in blocks, each
 * worker folds its blocks into a (p+1)x(p+1) triangular factor of [X y], the
 * factors are stacked and re-triangularised at the end. Memory is O(p^2 per
 * worker + one block), never O(n p). The normal equations are never solved
 * alone. Rank is decided on the final factor, in long double, by column
 * pivoting as R's lm does it: columns taken in order, one is set aside when
 * less than rank_tol of its norm is left once the columns kept before it are
 * projected out (so of two collinear columns the later one is dropped).
 *
 * Precision: blocks are factored in long double while a worker has seen fewer
 * than STATS_LS_EXTENDED_ROWS rows, then with a double SIMD kernel chosen at
 * run time: AVX-512, else AVX2+FMA, else generic (A51_STATS_KERNEL=generic|
 * avx2|avx512 caps the choice). Small problems thus get ~3 more digits for free (the
 * NIST StRD sets need them: Wampler5 gets 7 digits in double, 10 in long
 * double); on large ones the double kernel's rounding error is far below
 * sampling error. STATS_LS_DOUBLE / STATS_LS_EXTENDED force one.
 *
 * Threads: an accumulator made with nthreads > 1 splits large add_rows calls
 * over that many threads; independent accumulators (one per data partition)
 * combine with stats_ls_merge(). Results agree across thread counts to
 * rounding (~1e-15 relative on a well-conditioned design).
 *
 * Weights w are analytic (WLS) weights, as R's lm(weights=): the fit minimises
 * sum w e^2 and degrees of freedom count rows, not weights. A row with w == 0
 * is ignored entirely, its values are not checked (so a caller can trim rows
 * by zeroing weights, see stats_trim_weights()).
 */
#ifndef A51_STATS_H
#define A51_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include "a51/error.h"

#define STATS_MAX_P 1024            /* columns of X accepted by stats_ls_new() */
#define STATS_MAX_THREADS 64
#define STATS_LS_EXTENDED_ROWS 256  /* per worker, in the default precision mode */
#define STATS_RANK_TOL 1e-10        /* default relative rank tolerance */

/* ---- least squares accumulator ---- */

struct stats_ls;

enum stats_ls_flags {
	STATS_LS_AUTO = 0,     /* long double for the first rows, then double (see above) */
	STATS_LS_DOUBLE = 1,   /* double SIMD kernel for every row: fastest */
	STATS_LS_EXTENDED = 2, /* long double for every row: ~50x slower, most digits */
};

/* New empty accumulator for p columns (1 <= p <= STATS_MAX_P). nthreads
 * (0 means 1, at most STATS_MAX_THREADS) workers with their buffers are
 * allocated and touched here, once. Free with stats_ls_free(); NULL + err on
 * bad arguments or allocation failure. */
struct stats_ls *stats_ls_new(size_t p, unsigned nthreads, int flags, struct a51_error *err);
void stats_ls_free(struct stats_ls *acc);

/* Forgets every row but keeps the buffers (the accumulator is as new), so that
 * repeated passes (IRLS) do not pay for fresh memory. */
void stats_ls_reset(struct stats_ls *acc);

/* Folds nrows rows into the factor: X is nrows x p row-major, y has nrows
 * values, w is NULL (all 1) or nrows weights >= 0. The arrays are only read
 * during the call. Calls of at least 4096 rows per thread are split over the
 * accumulator's threads. A non-finite value in a row of positive weight or a
 * bad weight fails with A51_EINVAL naming the row, and the accumulator stays
 * failed (every later call returns that error) until stats_ls_reset(). Not
 * safe to call concurrently on one accumulator: use one per thread + merge. */
int stats_ls_add_rows(struct stats_ls *acc, const double *X, const double *y, const double *w, size_t nrows,
		      struct a51_error *err);

/* Adds every row folded into src to dst (same p); src keeps its rows. Merging
 * is exact in the sense of TSQR: the result is the factor of the stacked rows.
 * Both use scratch space of their own: no other call on either meanwhile. */
int stats_ls_merge(struct stats_ls *dst, const struct stats_ls *src, struct a51_error *err);

/* Rows with positive weight folded in so far. */
size_t stats_ls_nobs(const struct stats_ls *acc);

/* ---- fitting ---- */

struct stats_solve_opts {
	bool has_intercept; /* X holds a constant column: R^2 and F are centred */
	double rank_tol;    /* relative tolerance for dropping columns; 0 = STATS_RANK_TOL */
};

/* has_intercept = true, rank_tol = STATS_RANK_TOL. */
void stats_solve_opts_init(struct stats_solve_opts *o);

enum stats_col_status {
	STATS_COL_KEPT = 0,
	STATS_COL_ZERO = 1,      /* the column is all zeros (on rows of positive weight) */
	STATS_COL_COLLINEAR = 2, /* a combination of earlier columns within rank_tol */
};

/* The result of a fit. Every array has p entries (xtx_inv and vcov_hc1 p x p,
 * row-major) in X's column order, and is owned by the struct: release with
 * stats_fit_release(). A dropped column has NaN coefficient, SE and t, and
 * NaN rows and columns in the matrices. Weighted fits report weighted sums. */
struct stats_fit {
	size_t p;
	size_t rank;
	size_t nobs;          /* rows with positive weight */
	double sum_w;         /* sum of the weights (nobs when unweighted) */
	bool has_intercept;

	double *coef;
	double *se;           /* classical: sigma * sqrt(diag((X'WX)^-1)) */
	double *t;            /* coef / se */
	double *se_hc1;       /* NaN until stats_hc_finish() */
	double *xtx_inv;      /* (X'WX)^-1 */
	double *vcov_hc1;     /* NaN until stats_hc_finish() */
	unsigned char *status; /* enum stats_col_status per column */

	double rss;           /* sum w e^2 */
	double tss;           /* sum w (y - ybar)^2 with an intercept, sum w y^2 without */
	double ss_reg;        /* tss - rss */
	double r2;            /* 1 - rss/tss (uncentred without intercept, as NIST) */
	double adj_r2;        /* 1 - (1 - r2) (nobs - i) / df_res, i = 1 with intercept */
	double sigma;         /* residual SD: sqrt(rss / df_res) */
	double rmse;          /* sqrt(rss / nobs) */
	double df_res;        /* nobs - rank */
	double df_reg;        /* rank - i */
	double f_stat;        /* (ss_reg / df_reg) / sigma^2 */
	double cond;          /* 1-norm condition number of the kept, column-equilibrated R */
};

/* Solves the least-squares problem folded into acc (its rows are kept, so
 * more may be added and the fit redone; no other call on acc meanwhile).
 * out is overwritten (release it first if it holds a previous fit); opts may
 * be NULL (defaults). Fails with A51_EINVAL when the accumulator failed, has
 * no rows or rank_tol is not in [0, 1), A51_ENOMEM; out is then empty. */
int stats_ls_solve(const struct stats_ls *acc, const struct stats_solve_opts *opts, struct stats_fit *out,
		   struct a51_error *err);

/* Frees the arrays; the struct is zeroed and may be released again. */
void stats_fit_release(struct stats_fit *fit);

/* x_row . coef, skipping dropped (NaN) coefficients. */
double stats_predict(const double *coef, size_t p, const double *x_row);
/* out[i] = stats_predict() of row i of X (nrows x p row-major). */
void stats_predict_rows(const double *coef, size_t p, const double *X, size_t nrows, double *out);

/* ---- HC1 (White / MacKinnon-White) robust covariance: a second pass ---- */

struct stats_hc;

/* Accumulator of the meat sum (w_i e_i)^2 x_i x_i' for the fit's coefficients
 * (copied: fit may change afterwards). One per thread, combine with
 * stats_hc_merge(). NULL + err on allocation failure or a fit without rows. */
struct stats_hc *stats_hc_new(const struct stats_fit *fit, struct a51_error *err);
void stats_hc_free(struct stats_hc *hc);
/* Same rows as given to the fit (same arrays, same meaning of w). */
int stats_hc_add_rows(struct stats_hc *hc, const double *X, const double *y, const double *w, size_t nrows,
		      struct a51_error *err);
int stats_hc_merge(struct stats_hc *dst, const struct stats_hc *src, struct a51_error *err);
/* Fills fit->vcov_hc1 = n/(n-rank) (X'WX)^-1 M (X'WX)^-1 and fit->se_hc1.
 * fit must be the one hc was made from (same p, rank and xtx_inv). */
int stats_hc_finish(const struct stats_hc *hc, struct stats_fit *fit, struct a51_error *err);

/* ---- streamed data: several passes over the same rows ---- */

/* One block of rows as a source hands it out. X is nrows x p row-major, w and
 * offset may be NULL. offset is only used by GLMs (added to the linear
 * predictor: log exposure for a Poisson rate model). The arrays must stay
 * valid until the next call on the same source. */
struct stats_block {
	const double *X;
	const double *y;
	const double *w;
	const double *offset;
	size_t nrows;
};

/* A re-readable stream of blocks (a query, a file, an array). The engine calls
 * rewind() before every pass, the first included, then next() until it
 * returns 0 (end) or < 0 (error, err filled and the pass stops). next()
 * returns 1 with a block (nrows may be 0). Each source is read by one thread;
 * pass several sources (partitions of the data) to read them in parallel. */
struct stats_source {
	int (*rewind)(void *ctx, struct a51_error *err);
	int (*next)(void *ctx, struct stats_block *blk, struct a51_error *err);
	void *ctx;
};

/* Least squares over nsrc sources read in parallel (one thread each), merged
 * in source order. With hc1, a second pass fills se_hc1 / vcov_hc1. opts may
 * be NULL (defaults). */
int stats_ls_fit_sources(struct stats_source *src, size_t nsrc, size_t p, const struct stats_solve_opts *opts,
			 bool hc1, struct stats_fit *out, struct a51_error *err);

/* ---- GLM by IRLS (Fisher scoring), log link ---- */

enum stats_family {
	STATS_POISSON_LOG = 1, /* y >= 0, variance mu */
	STATS_GAMMA_LOG = 2,   /* y > 0, variance phi mu^2 */
};

struct stats_glm_opts {
	int family;          /* enum stats_family */
	int max_iter;        /* 0 = 25 */
	double epsilon;      /* |dev - dev_old| / (|dev| + 0.1) < epsilon; 0 = 1e-8 */
	struct stats_solve_opts solve; /* rank tolerance, intercept */
};

/* Each iteration is one pass over the sources: deviance at the current
 * coefficients plus the weighted least-squares step, as R's glm.fit (same
 * start, same convergence rule, same answer). fit.se and fit.t are the GLM's
 * (scaled by the dispersion); fit.rss/r2/sigma etc. are those of the last
 * working regression. */
struct stats_glm_fit {
	struct stats_fit fit;
	double deviance;
	double null_deviance; /* intercept-only model; NaN with offsets or no intercept */
	double pearson_chi2;
	double dispersion;    /* 1 for Poisson; pearson_chi2 / df_res for gamma */
	double df_res;
	int iterations;
	bool converged;
};

/* Fits the model; out is overwritten, release with stats_glm_fit_release().
 * Fails with A51_EINVAL on y outside the family's range (field "y"), when the
 * deviance cannot be made finite, and with the sources' own errors. Not
 * converging within max_iter is not an error: converged is false. */
int stats_glm_fit(const struct stats_glm_opts *opts, struct stats_source *src, size_t nsrc, size_t p,
		  struct stats_glm_fit *out, struct a51_error *err);
void stats_glm_fit_release(struct stats_glm_fit *g);

/* Working response z and weight ww of one row for the current coefficients
 * (beta == NULL: the start from y). For callers that drive IRLS themselves. */
int stats_glm_working(int family, const double *beta, size_t p, const double *x_row, double y, double w,
		      double offset, double *z, double *ww);

/* ---- log-OLS with Duan's smearing ---- */

struct stats_logols_fit {
	struct stats_fit fit; /* regression of log(y) on X */
	double smearing;      /* sum w exp(e) / sum w, e = log y - x b: Duan (1983) */
};

/* Two passes: the regression of log y, then the smearing factor. Rows of
 * positive weight need y > 0 (A51_EINVAL otherwise: trim them with zero
 * weights). Release with stats_logols_fit_release(). */
int stats_logols_fit(struct stats_source *src, size_t nsrc, size_t p, const struct stats_solve_opts *opts,
		     struct stats_logols_fit *out, struct a51_error *err);
void stats_logols_fit_release(struct stats_logols_fit *f);
/* exp(x . coef) * smearing: the retransformed mean of y. */
double stats_logols_predict(const struct stats_logols_fit *f, const double *x_row);

/* ---- percentiles, winsorisation, trimming ---- */

/* Exact quantile of v[0..n) (R's default type 7: linear interpolation between
 * order statistics), prob in [0, 1]. Works on a private copy (O(n) memory,
 * expected O(n) time by selection): it is for in-memory arrays — stream only
 * the y column to it, or ask the database for percentile_cont. NaN values
 * are an error. */
int stats_quantile(const double *v, size_t n, double prob, double *out, struct a51_error *err);

/* Clamps v[i] into [lo, hi] in place; returns how many values changed. */
size_t stats_winsorize(double *v, size_t n, double lo, double hi);

/* Zeroes w[i] (or sets it, when w_in is NULL, to 0/1 in w) for rows with y
 * outside [lo, hi]: truncation without copying the rows. Returns the number
 * of rows trimmed. w_in may equal w. */
size_t stats_trim_weights(const double *y, const double *w_in, double *w, size_t n, double lo, double hi);

#endif
