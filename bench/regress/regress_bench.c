/* Least squares at 40 covariates + intercept: a51's streaming Householder QR
 * against OpenBLAS on the same data. bench/regress.sh runs it next to R and
 * numpy and prints the table; by itself it prints "key value" lines.
 *
 *   regress_bench gen FILE ROWS
 *	writes the data set: ROWS x 42 float64, row-major, little-endian
 *	(1, x1..x40, y per row), for R and numpy to read. Row i depends only
 *	on i (its own seed), so every reader, and every partition of a
 *	stream, sees the same rows.
 *   regress_bench mem FILE ROWS REPS OUTDIR
 *	in memory, best of REPS: a51 fit (stats_ls_add_rows + stats_ls_solve)
 *	on 1 and 2 threads; OpenBLAS dsyrk forming X'X alone (the floor) on
 *	1 thread, 2 OpenBLAS threads, and 2 threads each taking half the rows;
 *	OpenBLAS X'X + X'y + Cholesky (dposv) on 1 and 2 threads.
 *   regress_bench floor FILE ROWS REPS
 *	dsyrk alone, 1 thread and 2 threads on half the rows each: to run
 *	again under OPENBLAS_CORETYPE=SkylakeX on an AVX-512 CPU that this
 *	OpenBLAS does not know (it then falls back to an AVX2 kernel).
 *   regress_bench stream ROWS BLOCK REPS OUTDIR
 *	ROWS generated BLOCK rows at a time by stats_sources (never the whole
 *	matrix): a51 stats_ls_fit_sources with 1 and 2 sources vs dsyrk
 *	accumulating X'X over the same blocks (1 OpenBLAS thread per source).
 *	Generation is timed apart: a51's time is its wall time minus the
 *	generation done on its slowest thread; dsyrk's is the sum of its
 *	calls on its slowest thread. Prints the peak RSS (ru_maxrss).
 *
 * Coefficients go to OUTDIR/coef-NAME.txt, one per line, %.17g. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "a51/stats.h"

#define P 41     /* intercept + 40 covariates */
#define COLS 42  /* in the file: P columns then y */
#define SEED 0x51a51a51ULL

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static double rnd(uint64_t *s) /* xorshift64*, [0, 1) */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) * 0x1p-53;
}

/* Rows row0 .. row0+n-1 of the data set into X (n x P) and y. Covariates are
 * uniform on [-1, 1), every fifth shifted by 10 (not centred: the intercept
 * is not orthogonal to them); y = 1 + sum_j (j/P - 1/2) x_j + U(-1/2, 1/2). */
static void gen_rows(size_t row0, size_t n, double *X, double *y)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t s = splitmix64(SEED ^ (row0 + i)) | 1;
		double *x = X + i * P, acc = 1;

		x[0] = 1;
		for (size_t j = 1; j < P; j++) {
			x[j] = rnd(&s) * 2 - 1 + (j % 5 == 0 ? 10 : 0);
			acc += x[j] * ((double)j / P - 0.5);
		}
		y[i] = acc + (rnd(&s) - 0.5);
	}
}

static int write_coef(const char *dir, const char *name, const double *c)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/coef-%s.txt", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	for (size_t j = 0; j < P; j++)
		fprintf(f, "%.17g\n", c[j]);
	return fclose(f);
}

static void put(const char *key, double v)
{
	printf("%s %.6f\n", key, v);
}

static double best(double a, double b)
{
	return isnan(a) || b < a ? b : a;
}

/* ---- gen ---- */

static int cmd_gen(const char *file, size_t n)
{
	enum { CH = 65536 };
	double *X = malloc(CH * P * sizeof(double)), *y = malloc(CH * sizeof(double)),
	       *out = malloc(CH * COLS * sizeof(double));
	FILE *f = fopen(file, "wb");

	if (!X || !y || !out || !f) {
		perror(file);
		return 1;
	}
	for (size_t r0 = 0; r0 < n; r0 += CH) {
		size_t m = n - r0 < CH ? n - r0 : CH;

		gen_rows(r0, m, X, y);
		for (size_t i = 0; i < m; i++) {
			memcpy(out + i * COLS, X + i * P, P * sizeof(double));
			out[i * COLS + P] = y[i];
		}
		if (fwrite(out, sizeof(double), m * COLS, f) != m * COLS) {
			perror(file);
			return 1;
		}
	}
	free(X);
	free(y);
	free(out);
	return fclose(f) == 0 ? 0 : 1;
}

/* ---- mem ---- */

static double fit_a51(const double *X, const double *y, size_t n, struct stats_ls *acc, double *coef)
{
	struct a51_error err = { 0 };
	struct stats_fit f;
	double t = now();

	stats_ls_reset(acc);
	if (stats_ls_add_rows(acc, X, y, NULL, n, &err) < 0 || stats_ls_solve(acc, NULL, &f, &err) < 0) {
		fprintf(stderr, "a51 fit failed: %s\n", err.message);
		exit(1);
	}
	t = now() - t;
	memcpy(coef, f.coef, P * sizeof(double));
	stats_fit_release(&f);
	return t;
}

static double syrk(const double *X, size_t n, double *C)
{
	double t = now();

	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, P, (int)n, 1.0, X, P, 0.0, C, P);
	return now() - t;
}

struct syrk_half {
	const double *X;
	size_t n;
	double C[P * P];
};

static void *syrk_half_main(void *a)
{
	struct syrk_half *h = a;

	syrk(h->X, h->n, h->C);
	return NULL;
}

/* Two threads, each dsyrk on half the rows with 1 OpenBLAS thread, summed. */
static double syrk_split2(const double *X, size_t n, double *C)
{
	static struct syrk_half h[2];
	pthread_t tid;
	double t = now();

	h[0] = (struct syrk_half){ .X = X, .n = n / 2 };
	h[1] = (struct syrk_half){ .X = X + n / 2 * P, .n = n - n / 2 };
	if (pthread_create(&tid, NULL, syrk_half_main, &h[1]) != 0)
		exit(1);
	syrk_half_main(&h[0]);
	pthread_join(tid, NULL);
	for (size_t i = 0; i < P * P; i++)
		C[i] = h[0].C[i] + h[1].C[i];
	return now() - t;
}

/* X'X and X'y, Cholesky, solve: the normal equations (fast, fragile). */
static double xtx_chol(const double *X, const double *y, size_t n, double *C, double *rhs)
{
	double t = now();

	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, P, (int)n, 1.0, X, P, 0.0, C, P);
	cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, P, 1.0, X, P, y, 1, 0.0, rhs, 1);
	if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', P, 1, C, P, rhs, 1) != 0) {
		fprintf(stderr, "dposv failed\n");
		exit(1);
	}
	return now() - t;
}

/* The data set's n rows into X (n x P) and y, or exits. */
static void read_data(const char *file, size_t n, double **Xp, double **yp)
{
	double *buf = malloc(n * COLS * sizeof(double)), *X = malloc(n * P * sizeof(double)),
	       *y = malloc(n * sizeof(double));
	FILE *f = fopen(file, "rb");

	if (!buf || !X || !y || !f || fread(buf, sizeof(double), n * COLS, f) != n * COLS) {
		fprintf(stderr, "cannot read %zu rows from %s\n", n, file);
		exit(1);
	}
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		memcpy(X + i * P, buf + i * COLS, P * sizeof(double));
		y[i] = buf[i * COLS + P];
	}
	free(buf);
	*Xp = X;
	*yp = y;
}

static int cmd_mem(const char *file, size_t n, int reps, const char *dir)
{
	double *X, *y;
	double C[P * P], rhs[P], c1[P], c2[P];
	double t1 = NAN, t2 = NAN, s1 = NAN, s2 = NAN, sh = NAN, h1 = NAN, h2 = NAN;
	struct stats_ls *acc1, *acc2;
	struct a51_error err = { 0 };

	read_data(file, n, &X, &y);
	acc1 = stats_ls_new(P, 1, STATS_LS_AUTO, &err);
	acc2 = stats_ls_new(P, 2, STATS_LS_AUTO, &err);
	if (!acc1 || !acc2) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	/* One untimed round first (page faults, thread start, caches), and
	 * a51 before OpenBLAS: once used, OpenBLAS's idle threads spin for a
	 * while after each call and would steal the second core. */
	for (int r = -1; r < reps; r++) {
		double a = fit_a51(X, y, n, acc1, c1), b = fit_a51(X, y, n, acc2, c2);

		if (r >= 0) {
			t1 = best(t1, a);
			t2 = best(t2, b);
		}
	}
	openblas_set_num_threads(1);
	for (int r = -1; r < reps; r++) {
		double a = syrk(X, n, C), b = syrk_split2(X, n, C), c = xtx_chol(X, y, n, C, rhs);

		if (r >= 0) {
			s1 = best(s1, a);
			sh = best(sh, b);
			h1 = best(h1, c);
		}
	}
	openblas_set_num_threads(2);
	for (int r = -1; r < reps; r++) {
		double a = syrk(X, n, C), c = xtx_chol(X, y, n, C, rhs);

		if (r >= 0) {
			s2 = best(s2, a);
			h2 = best(h2, c);
		}
	}
	put("mem.a51.1", t1);
	put("mem.a51.2", t2);
	put("mem.dsyrk.1", s1);
	put("mem.dsyrk.2", s2);
	put("mem.dsyrk.split2", sh);
	put("mem.chol.1", h1);
	put("mem.chol.2", h2);
	printf("mem.rss_kb %ld\n", maxrss_kb());
	printf("mem.openblas %s\n", openblas_get_corename());
	if (write_coef(dir, "a51-1", c1) < 0 || write_coef(dir, "a51-2", c2) < 0 || write_coef(dir, "blas-chol", rhs) < 0)
		return 1;
	stats_ls_free(acc1);
	stats_ls_free(acc2);
	free(X);
	free(y);
	return 0;
}

/* The floor alone (dsyrk on 1 thread, and 2 threads on half the rows each):
 * run again with OPENBLAS_CORETYPE set when OpenBLAS does not pick its
 * fastest kernel for the CPU by itself. */
static int cmd_floor(const char *file, size_t n, int reps)
{
	double *X, *y, C[P * P], s1 = NAN, sh = NAN;

	read_data(file, n, &X, &y);
	openblas_set_num_threads(1);
	for (int r = -1; r < reps; r++) {
		double a = syrk(X, n, C), b = syrk_split2(X, n, C);

		if (r >= 0) {
			s1 = best(s1, a);
			sh = best(sh, b);
		}
	}
	put("floor.dsyrk.1", s1);
	put("floor.dsyrk.split2", sh);
	printf("floor.openblas %s\n", openblas_get_corename());
	free(X);
	free(y);
	return 0;
}

/* ---- stream ---- */

/* Rows [row, end) of the data set, handed out block by block. The thread
 * reading it notes when it started and ended and how long it generated. */
struct gen_src {
	_Alignas(64) size_t row0, end, row, block;
	double *X, *y;
	double t_start, t_end, gen;
};

static int src_rewind(void *ctx, struct a51_error *err)
{
	struct gen_src *s = ctx;

	(void)err;
	s->row = s->row0;
	s->gen = 0;
	s->t_start = now();
	return 0;
}

static int src_next(void *ctx, struct stats_block *blk, struct a51_error *err)
{
	struct gen_src *s = ctx;
	double t = now();
	size_t m;

	(void)err;
	if (s->row >= s->end) {
		s->t_end = t;
		return 0;
	}
	m = s->end - s->row < s->block ? s->end - s->row : s->block;
	gen_rows(s->row, m, s->X, s->y);
	s->row += m;
	blk->X = s->X;
	blk->y = s->y;
	blk->nrows = m;
	s->gen += now() - t;
	return 1;
}

static void srcs_init(struct gen_src *g, struct stats_source *src, unsigned k, size_t n)
{
	for (unsigned i = 0; i < k; i++) {
		g[i].row0 = n * i / k;
		g[i].end = n * (i + 1) / k;
		src[i] = (struct stats_source){ src_rewind, src_next, &g[i] };
	}
}

/* The a51 fit over k sources: wall time minus the generation done on the
 * thread that finished last (the one the wall time waited for). */
static double stream_a51(struct gen_src *g, unsigned k, size_t n, double *coef, double *gen_out)
{
	struct stats_source src[2];
	struct stats_fit fit;
	struct a51_error err = { 0 };
	double t0, t1, gen = 0, last = 0;

	srcs_init(g, src, k, n);
	t0 = now();
	if (stats_ls_fit_sources(src, k, P, NULL, false, &fit, &err) < 0) {
		fprintf(stderr, "a51 streamed fit failed: %s\n", err.message);
		exit(1);
	}
	t1 = now();
	for (unsigned i = 0; i < k; i++) {
		if (g[i].t_end >= last) {
			last = g[i].t_end;
			gen = g[i].gen;
		}
	}
	memcpy(coef, fit.coef, P * sizeof(double));
	stats_fit_release(&fit);
	*gen_out = gen;
	return t1 - t0 - gen;
}

struct floor_thread {
	_Alignas(64) struct gen_src *g;
	double C[(P + 1) * (P + 1)]; /* X'X, then X'y in the last row */
	double t_syrk;
};

static void *floor_main(void *a)
{
	struct floor_thread *f = a;
	struct stats_block blk;
	double *xty = f->C + P * P;

	memset(f->C, 0, sizeof(f->C));
	f->t_syrk = 0;
	src_rewind(f->g, NULL);
	while (src_next(f->g, &blk, NULL) == 1) {
		double t = now();

		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, P, (int)blk.nrows, 1.0, blk.X, P, 1.0, f->C, P);
		f->t_syrk += now() - t;
		/* X'y too (untimed) for the coefficients of the normal equations. */
		cblas_dgemv(CblasRowMajor, CblasTrans, (int)blk.nrows, P, 1.0, blk.X, P, blk.y, 1, 1.0, xty, 1);
	}
	return NULL;
}

/* dsyrk accumulating X'X over the same blocks, one thread per source: the
 * time is the sum of the dsyrk calls of the slowest thread. */
static double stream_floor(struct gen_src *g, unsigned k, size_t n, double *coef)
{
	static struct floor_thread ft[2];
	struct stats_source src[2];
	pthread_t tid;
	double C[P * P], rhs[P], t = 0;

	srcs_init(g, src, k, n);
	for (unsigned i = 0; i < k; i++)
		ft[i].g = &g[i];
	if (k > 1 && pthread_create(&tid, NULL, floor_main, &ft[1]) != 0)
		exit(1);
	floor_main(&ft[0]);
	if (k > 1)
		pthread_join(tid, NULL);
	memset(C, 0, sizeof(C));
	memset(rhs, 0, sizeof(rhs));
	for (unsigned i = 0; i < k; i++) {
		t = fmax(t, ft[i].t_syrk);
		for (size_t j = 0; j < P * P; j++)
			C[j] += ft[i].C[j];
		for (size_t j = 0; j < P; j++)
			rhs[j] += ft[i].C[P * P + j];
	}
	if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', P, 1, C, P, rhs, 1) != 0) {
		fprintf(stderr, "dposv failed\n");
		exit(1);
	}
	memcpy(coef, rhs, sizeof(rhs));
	return t;
}

static int cmd_stream(size_t n, size_t block, int reps, const char *dir)
{
	struct gen_src g[2];
	double a[3] = { NAN, NAN, NAN }, fl[3] = { NAN, NAN, NAN }, gen[3] = { NAN, NAN, NAN };
	double ca[3][P], cf[3][P];
	long rss0 = maxrss_kb(), rss_a51;

	openblas_set_num_threads(1); /* one per source: the threads are ours */
	for (int i = 0; i < 2; i++) {
		g[i] = (struct gen_src){ .block = block };
		g[i].X = malloc(block * P * sizeof(double));
		g[i].y = malloc(block * sizeof(double));
		if (!g[i].X || !g[i].y)
			return 1;
	}
	/* a51 first (see cmd_mem); no untimed round: at this size the first
	 * pass's page faults are a few blocks. */
	for (int r = 0; r < reps; r++) {
		for (unsigned k = 1; k <= 2; k++) {
			double gk, t = stream_a51(g, k, n, ca[k], &gk);

			a[k] = best(a[k], t);
			gen[k] = best(gen[k], gk);
		}
	}
	rss_a51 = maxrss_kb();
	for (int r = 0; r < reps; r++)
		for (unsigned k = 1; k <= 2; k++)
			fl[k] = best(fl[k], stream_floor(g, k, n, cf[k]));
	put("stream.a51.1", a[1]);
	put("stream.a51.2", a[2]);
	put("stream.gen.1", gen[1]);
	put("stream.gen.2", gen[2]);
	put("stream.dsyrk.1", fl[1]);
	put("stream.dsyrk.2", fl[2]);
	printf("stream.rss0_kb %ld\n", rss0);
	printf("stream.rss_a51_kb %ld\n", rss_a51);
	printf("stream.rss_kb %ld\n", maxrss_kb());
	printf("stream.block_bytes %zu\n", 2 * block * (P + 1) * sizeof(double));
	if (write_coef(dir, "stream-a51-1", ca[1]) < 0 || write_coef(dir, "stream-a51-2", ca[2]) < 0 ||
	    write_coef(dir, "stream-blas-chol", cf[2]) < 0)
		return 1;
	for (int i = 0; i < 2; i++) {
		free(g[i].X);
		free(g[i].y);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: regress_bench gen FILE ROWS\n"
			"       regress_bench mem FILE ROWS REPS OUTDIR\n"
			"       regress_bench floor FILE ROWS REPS\n"
			"       regress_bench stream ROWS BLOCK REPS OUTDIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 6 && strcmp(argv[1], "mem") == 0)
		return cmd_mem(argv[2], strtoul(argv[3], NULL, 10), (int)strtol(argv[4], NULL, 10), argv[5]);
	if (argc == 5 && strcmp(argv[1], "floor") == 0)
		return cmd_floor(argv[2], strtoul(argv[3], NULL, 10), (int)strtol(argv[4], NULL, 10));
	if (argc == 6 && strcmp(argv[1], "stream") == 0) {
		size_t n = strtoul(argv[2], NULL, 10), block = strtoul(argv[3], NULL, 10);

		if (n < 2 || block < 1)
			usage();
		return cmd_stream(n, block, (int)strtol(argv[4], NULL, 10), argv[5]);
	}
	usage();
}
