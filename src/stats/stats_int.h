/* Internals shared by the files of src/stats; not part of the module's contract. */
#ifndef A51_STATS_INT_H
#define A51_STATS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "a51/error.h"
#include "a51/stats.h"

/* Rows per block of the double kernel: the block (q columns) stays in L2;
 * 256 scaled best on 2 threads here (512: 1.5x, 256: 1.75x). */
#define LS_BLOCK_ROWS 256
/* Leading dimension of that block: one cache line more than the rows, so
 * that a row's q entries do not all fall in one L1 set (a 4096-byte stride
 * made the copy into the block 10x slower). */
#define LS_BLOCK_LD (LS_BLOCK_ROWS + 8)
/* Rows per block of the long double kernel. */
#define LS_EXT_ROWS 64
/* Below this many rows per thread a call is not worth a thread. */
#define LS_MIN_ROWS_PER_THREAD 4096
/* Column panel width of the blocked Householder kernel. */
#define LS_PANEL 8

/* What a worker (or a merge) contributes: the triangular factor of the
 * scaled [X y] rows and the moments of y for the total sum of squares. */
struct ls_part {
	long double *R;   /* q x q, column-major, upper triangular */
	double *scale;    /* q powers of two; 0 while the column has been all zeros */
	size_t nobs;      /* rows with w > 0 */
	long double sw;   /* sum w */
	long double mean; /* weighted mean of y */
	long double m2;   /* sum w (y - mean)^2 */
	long double swy2; /* sum w y^2 */
};

/* Doubles of work space stats_qr_stack() needs for q columns. */
size_t stats_qr_work_len(size_t q);

/* Re-triangularises the stack [R; A] in place with blocked Householder
 * reflections (compact WY; AVX-512 or AVX2 kernels when the CPU has them).
 * R: q x q column-major upper triangular; A: m x q column-major with leading
 * dimension lda, m a multiple of 16 (pad with zero rows). A is destroyed. */
void stats_qr_stack(double *R, size_t q, double *A, size_t lda, size_t m, double *work);

/* A[c*lda + k] = X[r*p + c] * s[c] * f[k] for c < p, k < m, with r = idx[k]
 * (or k when idx is NULL) and f[k] = 1 when f is NULL: rows to the
 * column-major block, scaled. */
void stats_block_gather(double *A, size_t lda, const double *X, size_t p, const size_t *idx, const double *f,
			const double *s, size_t m);

/* G = A'A (p x p, row-major, both triangles) for the m x p column-major
 * block A, m a multiple of 16 (zero rows as padding). */
void stats_block_gram(const double *A, size_t lda, size_t m, size_t p, double *G);

/* stats_qr_stack() in long double, unblocked, any m. */
void stats_qr_stack_ld(long double *R, size_t q, long double *A, size_t lda, size_t m);

/* The kernel version in use: "avx512", "avx2" or "generic". Chosen on first
 * use: the fastest the CPU runs, at most the one the environment variable
 * A51_STATS_KERNEL (generic|avx2|avx512) names. */
const char *stats_kernel_name(void);

/* Switches to the version named (tests, benchmarks); -1 when the name is
 * unknown, or the build or CPU lacks it. Not while a fit runs. */
int stats_kernel_use(const char *name);

/* Moments of y of a set of rows folded into p (Chan et al.'s pairwise update). */
void stats_moments_merge(struct ls_part *p, long double sw, long double mean, long double m2, long double swy2);

/* The factor and moments of every row folded into acc (merged parts first,
 * then the workers in order). out->R and out->scale must hold q*q and q
 * entries. A51_EINVAL when the accumulator failed (err copied). */
int stats_ls_combine(const struct stats_ls *acc, struct ls_part *out, struct a51_error *err);
size_t stats_ls_ncols(const struct stats_ls *acc);

/* Fit from a combined part: the core of stats_ls_solve(). */
int stats_fit_from_part(const struct ls_part *part, size_t p, const struct stats_solve_opts *opts,
			struct stats_fit *out, struct a51_error *err);

/* Adds rows to worker k of acc, from that worker's thread. */
int stats_ls_add_rows_worker(struct stats_ls *acc, unsigned k, const double *X, const double *y, const double *w,
			     size_t nrows, struct a51_error *err);

/* Runs fn(arg, k, blk) for every block of every source, source k on its own
 * thread (k = 0 on the caller's). Returns the error of the lowest k. */
typedef int (*stats_block_fn)(void *arg, unsigned k, const struct stats_block *blk, struct a51_error *err);
int stats_pass_run(struct stats_source *src, size_t nsrc, stats_block_fn fn, void *arg, struct a51_error *err);

/* Memory aligned to a cache line, size rounded up to whole lines so that two
 * threads' objects never share one (false sharing). Zero-filled. */
void *stats_alloc_lines(size_t size);

#endif
