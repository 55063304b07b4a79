/* stats: NIST StRD exactness, streaming/threads, rank, WLS, HC1, GLM, log-OLS, quantiles.
 * Every check that reaches the QR kernels runs once per kernel version the
 * build and CPU have (generic, avx2, avx512): one TCase each. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a51/stats.h"
#include "a51/util.h"
#include "common/check_main.h"
#include "../../src/stats/stats_int.h" /* stats_kernel_use(), stats_kernel_name() */

/* The build passes -DA51_NIST_DIR; without it, the environment variable of
 * that name, then shared/ beside the checkout seen from a build directory. */
static const char *nist_dir(void)
{
	static const char *const guesses[] = { "../shared/data/nist-strd", "../../shared/data/nist-strd",
					       "../../../shared/data/nist-strd" };
	char path[512];
	FILE *f;

#ifdef A51_NIST_DIR
	return A51_NIST_DIR;
#endif
	if (getenv("A51_NIST_DIR"))
		return getenv("A51_NIST_DIR");
	for (size_t i = 0; i < A51_ARRAY_LEN(guesses); i++) {
		snprintf(path, sizeof(path), "%s/Norris.dat", guesses[i]);
		f = fopen(path, "r");
		if (f) {
			fclose(f);
			return guesses[i];
		}
	}
	return "(set A51_NIST_DIR)";
}

/* ---- helpers ---- */

static unsigned long long rng_state;

static double rnd(void) /* xorshift64*, uniform in [0, 1) */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) * 0x1p-53;
}

static double rnorm(void)
{
	double u = rnd(), v = rnd();

	return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

static double rpois(double lambda) /* Knuth: fine for small lambda */
{
	double l = exp(-lambda), p = 1;
	int k = 0;

	do {
		k++;
		p *= rnd();
	} while (p > l);
	return k - 1;
}

static double rgamma(double shape, double scale) /* Marsaglia-Tsang, shape >= 1 */
{
	double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);

	for (;;) {
		double x = rnorm(), v = 1 + c * x, u = rnd();

		if (v <= 0)
			continue;
		v = v * v * v;
		if (log(1 - u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v * scale;
	}
}

static double rel(double a, double b)
{
	return fabs(a - b) / (fabs(b) > 0 ? fabs(b) : 1);
}

/* Log relative error, capped at 15; absolute when the certified value is 0. */
static double lre(double est, double cert)
{
	double e = cert == 0 ? fabs(est) : fabs(est - cert) / fabs(cert);

	/* An exact fit (Wampler1-2) has F = Infinity; ours is huge or Inf. */
	if (isinf(cert) && (cert > 0) == (est > 0) && fabs(est) > 1e15)
		return 15;
	if (isnan(e))
		return 0;
	return e == 0 ? 15 : fmin(15, -log10(e));
}

static struct stats_fit fit_arrays(const double *X, const double *y, const double *w, size_t n, size_t p,
				   unsigned threads, int flags, bool intercept)
{
	struct a51_error err = { 0 };
	struct stats_ls *acc = stats_ls_new(p, threads, flags, &err);
	struct stats_solve_opts o;
	struct stats_fit f;

	ck_assert_msg(acc != NULL, "%s", err.message);
	ck_assert_int_eq(stats_ls_add_rows(acc, X, y, w, n, &err), 0);
	stats_solve_opts_init(&o);
	o.has_intercept = intercept;
	ck_assert_msg(stats_ls_solve(acc, &o, &f, &err) == 0, "%s", err.message);
	stats_ls_free(acc);
	return f;
}

/* A source over arrays, handing out blocks of `block` rows. */
struct array_src {
	const double *X, *y, *w, *off;
	size_t n, p, block, pos;
	int rewinds;
};

static int arr_rewind(void *ctx, struct a51_error *err)
{
	struct array_src *a = ctx;

	a->pos = 0;
	a->rewinds++;
	return 0;
}

static int arr_next(void *ctx, struct stats_block *b, struct a51_error *err)
{
	struct array_src *a = ctx;
	size_t k = a->n - a->pos < a->block ? a->n - a->pos : a->block;

	if (k == 0)
		return 0;
	b->X = a->X + a->pos * a->p;
	b->y = a->y + a->pos;
	b->w = a->w ? a->w + a->pos : NULL;
	b->offset = a->off ? a->off + a->pos : NULL;
	b->nrows = k;
	a->pos += k;
	return 1;
}

/* nsrc sources splitting rows [0, n) into contiguous parts. */
static void split_sources(struct array_src *a, struct stats_source *s, size_t nsrc, const double *X,
			  const double *y, const double *w, const double *off, size_t n, size_t p, size_t block)
{
	for (size_t k = 0; k < nsrc; k++) {
		size_t r0 = n * k / nsrc, r1 = n * (k + 1) / nsrc;

		a[k] = (struct array_src){ X + r0 * p, y + r0, w ? w + r0 : NULL, off ? off + r0 : NULL,
					   r1 - r0, p, block, 0, 0 };
		s[k] = (struct stats_source){ arr_rewind, arr_next, &a[k] };
	}
}

/* Solves the p x p system A x = b in long double (Gauss-Jordan, partial
 * pivoting); inv (if not NULL) receives A^-1. For the direct references. */
static void ld_solve(const long double *A0, const long double *b0, size_t p, long double *x, long double *inv)
{
	long double A[16][32];

	ck_assert(p <= 16);
	for (size_t i = 0; i < p; i++) {
		for (size_t j = 0; j < p; j++) {
			A[i][j] = A0[i * p + j];
			A[i][p + j] = i == j;
		}
		A[i][2 * p] = b0 ? b0[i] : 0;
	}
	for (size_t c = 0; c < p; c++) {
		size_t piv = c;

		for (size_t r = c + 1; r < p; r++)
			if (fabsl(A[r][c]) > fabsl(A[piv][c]))
				piv = r;
		for (size_t j = 0; j <= 2 * p; j++) {
			long double t = A[c][j];

			A[c][j] = A[piv][j];
			A[piv][j] = t;
		}
		for (size_t r = 0; r < p; r++) {
			long double f = A[r][c] / A[c][c];

			if (r == c)
				continue;
			for (size_t j = 0; j <= 2 * p; j++)
				A[r][j] -= f * A[c][j];
		}
	}
	for (size_t i = 0; i < p; i++) {
		if (x)
			x[i] = A[i][2 * p] / A[i][i];
		for (size_t j = 0; inv && j < p; j++)
			inv[i * p + j] = A[i][p + j] / A[i][i];
	}
}

/* ---- NIST StRD ---- */

struct nist {
	const char *name;
	double min_lre;        /* required digits for estimates and standard deviations */
	double min_double_lre; /* the same with every row in the double kernels */
};

static const struct nist nist_sets[] = {
	{ "Norris", 9, 11 }, { "Pontius", 9, 11 }, { "NoInt1", 9, 13 }, { "NoInt2", 9, 13 },
	{ "Filip", 7, 6 }, { "Longley", 9, 12 }, { "Wampler1", 9, 8.5 }, { "Wampler2", 9, 11.5 },
	{ "Wampler3", 9, 8.5 }, { "Wampler4", 9, 7.5 }, { "Wampler5", 9, 5.5 },
};

struct nist_data {
	size_t n, p, ncol;
	bool intercept;
	double *X, *y;
	double coef[16], sd[16], resid_sd, r2, f;
};

static size_t split_words(char *s, char **w, size_t max)
{
	size_t n = 0;

	for (char *t = strtok_r(s, " \t\n", &s); t && n < max; t = strtok_r(NULL, " \t\n", &s))
		w[n++] = t;
	return n;
}

/* Reads a nist-strd-lls/1 file and builds X from design_columns. */
static void nist_load(const char *name, struct nist_data *d)
{
	char path[512], line[1024], design[1024] = "", columns[1024] = "", *dw[16], *cw[16];
	double row[16];
	size_t ndw, ncw, k = 0, cap = 128;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", nist_dir(), name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (define A51_NIST_DIR)", path);
	memset(d, 0, sizeof(*d));
	d->X = malloc(cap * 16 * sizeof(double));
	d->y = malloc(cap * sizeof(double));
	while (fgets(line, sizeof(line), f)) {
		char *v, *e;
		size_t m = 0;

		if (line[0] == '#') {
			if (sscanf(line, "# certified_param: %*s %lf %lf", &d->coef[k], &d->sd[k]) == 2)
				k++;
			sscanf(line, "# certified_residual_sd: %lf", &d->resid_sd);
			sscanf(line, "# certified_r_squared: %lf", &d->r2);
			if (strncmp(line, "# certified_anova_regression: ", 30) == 0) {
				v = line + 30;
				strtod(v, &e);           /* df */
				strtod(e, &e);           /* SS */
				strtod(e, &e);           /* MS */
				d->f = strtod(e, NULL);  /* F, "Infinity" for Wampler1-2 */
			}
			if (strncmp(line, "# design_columns: ", 18) == 0)
				snprintf(design, sizeof(design), "%s", line + 18);
			if (strncmp(line, "# columns: ", 11) == 0)
				snprintf(columns, sizeof(columns), "%s", line + 11);
			continue;
		}
		for (v = line;; v = e) {
			double x = strtod(v, &e);

			if (e == v || m == 16)
				break;
			row[m++] = x;
		}
		if (m == 0)
			continue;
		if (d->n == cap) {
			cap *= 2;
			d->X = realloc(d->X, cap * 16 * sizeof(double));
			d->y = realloc(d->y, cap * sizeof(double));
		}
		d->y[d->n] = row[0];
		memcpy(d->X + d->n * 16, row, m * sizeof(double)); /* raw row for now */
		d->ncol = m;
		d->n++;
	}
	fclose(f);
	ndw = split_words(design, dw, 16);
	ncw = split_words(columns, cw, 16);
	ck_assert_uint_eq(ncw, d->ncol);
	ck_assert_uint_eq(ndw, k);
	d->p = ndw;
	d->intercept = strcmp(dw[0], "1") == 0;
	for (size_t i = 0; i < d->n; i++) {
		double *raw = d->X + i * 16, out[16];

		for (size_t j = 0; j < ndw; j++) {
			char base[16];
			long pw = 1;
			char *caret = strchr(dw[j], '^');
			long double v = 1, x = 0;
			size_t c;

			if (strcmp(dw[j], "1") == 0) {
				out[j] = 1;
				continue;
			}
			snprintf(base, sizeof(base), "%.*s", caret ? (int)(caret - dw[j]) : (int)strlen(dw[j]), dw[j]);
			if (caret)
				pw = strtol(caret + 1, NULL, 10);
			for (c = 1; c < ncw; c++)
				if (strcmp(cw[c], base) == 0)
					x = raw[c];
			ck_assert_msg(c == ncw, "design column %s", dw[j]);
			/* Powers in long double, rounded once to double. */
			for (long t = 0; t < pw; t++)
				v *= x;
			out[j] = (double)v;
		}
		memcpy(d->X + i * d->p, out, d->p * sizeof(double));
	}
}

static void nist_free(struct nist_data *d)
{
	free(d->X);
	free(d->y);
}

struct nist_lre {
	double coef, sd, resid_sd, r2, f;
};

static struct nist_lre nist_score(const struct stats_fit *f, const struct nist_data *d)
{
	struct nist_lre l = { 15, 15, 15, 15, 15 };

	ck_assert_uint_eq(f->rank, d->p);
	for (size_t j = 0; j < d->p; j++) {
		l.coef = fmin(l.coef, lre(f->coef[j], d->coef[j]));
		l.sd = fmin(l.sd, lre(f->se[j], d->sd[j]));
	}
	l.resid_sd = lre(f->sigma, d->resid_sd);
	l.r2 = lre(f->r2, d->r2);
	l.f = lre(f->f_stat, d->f);
	return l;
}

START_TEST(nist_certified_values)
{
	const struct nist *s = &nist_sets[_i];
	struct nist_data d;
	struct stats_fit f;
	struct nist_lre l;

	nist_load(s->name, &d);
	f = fit_arrays(d.X, d.y, NULL, d.n, d.p, 1, STATS_LS_AUTO, d.intercept);
	l = nist_score(&f, &d);
	printf("nist %-7s %-9s LRE coef %4.1f sd %4.1f resid_sd %4.1f r2 %4.1f F %4.1f cond %.2g\n", stats_kernel_name(),
	       s->name, l.coef, l.sd, l.resid_sd, l.r2, l.f, f.cond);
	ck_assert_msg(l.coef >= s->min_lre, "%s: coefficients only %.1f digits", s->name, l.coef);
	ck_assert_msg(l.sd >= s->min_lre, "%s: standard deviations only %.1f digits", s->name, l.sd);
	ck_assert_msg(l.resid_sd >= s->min_lre, "%s: residual SD only %.1f digits", s->name, l.resid_sd);
	ck_assert_msg(l.r2 >= s->min_lre, "%s: R^2 only %.1f digits", s->name, l.r2);
	ck_assert_msg(l.f >= s->min_lre - 1, "%s: F only %.1f digits", s->name, l.f);
	stats_fit_release(&f);
	nist_free(&d);
}
END_TEST

/* The same sets cut into three accumulators fed in small calls, merged. */
START_TEST(nist_streamed_and_merged)
{
	const struct nist *s = &nist_sets[_i];
	struct a51_error err = { 0 };
	struct stats_ls *acc[3];
	struct stats_solve_opts o;
	struct nist_data d;
	struct stats_fit f;
	struct nist_lre l;

	nist_load(s->name, &d);
	for (size_t k = 0; k < 3; k++)
		acc[k] = stats_ls_new(d.p, 1, STATS_LS_AUTO, &err);
	for (size_t i = 0; i < d.n; i += 5) {
		size_t m = d.n - i < 5 ? d.n - i : 5;

		ck_assert_int_eq(stats_ls_add_rows(acc[(i / 5) % 3], d.X + i * d.p, d.y + i, NULL, m, &err), 0);
	}
	ck_assert_int_eq(stats_ls_merge(acc[2], acc[0], &err), 0);
	ck_assert_int_eq(stats_ls_merge(acc[1], acc[2], &err), 0);
	stats_solve_opts_init(&o);
	o.has_intercept = d.intercept;
	ck_assert_int_eq(stats_ls_solve(acc[1], &o, &f, &err), 0);
	l = nist_score(&f, &d);
	ck_assert_msg(l.coef >= s->min_lre && l.sd >= s->min_lre, "%s merged: %.1f / %.1f digits", s->name, l.coef,
		      l.sd);
	stats_fit_release(&f);
	for (size_t k = 0; k < 3; k++)
		stats_ls_free(acc[k]);
	nist_free(&d);
}
END_TEST

/* The NIST sets are smaller than STATS_LS_EXTENDED_ROWS, so the default mode
 * factors them in long double and never reaches the double kernels. In
 * STATS_LS_DOUBLE mode every row goes through them: the digits kept then are
 * those of double precision on these designs (min_double_lre, about one
 * digit under the worst kernel version seen), and a wrong kernel loses all. */
START_TEST(nist_double_kernels)
{
	const struct nist *s = &nist_sets[_i];
	struct nist_data d;
	struct stats_fit f;
	struct nist_lre l;

	nist_load(s->name, &d);
	f = fit_arrays(d.X, d.y, NULL, d.n, d.p, 1, STATS_LS_DOUBLE, d.intercept);
	l = nist_score(&f, &d);
	printf("nist %-7s %-9s double: LRE coef %4.1f sd %4.1f resid_sd %4.1f r2 %4.1f\n", stats_kernel_name(), s->name,
	       l.coef, l.sd, l.resid_sd, l.r2);
	ck_assert_msg(l.coef >= s->min_double_lre && l.sd >= s->min_double_lre, "%s in double: %.1f / %.1f digits",
		      s->name, l.coef, l.sd);
	ck_assert_msg(l.resid_sd >= s->min_double_lre && l.r2 >= s->min_double_lre,
		      "%s in double: residual SD %.1f, R^2 %.1f digits", s->name, l.resid_sd, l.r2);
	stats_fit_release(&f);
	nist_free(&d);
}
END_TEST

/* R's lm tolerance (1e-7) famously drops x^10 from Filip; ours keeps it. */
START_TEST(rank_tol_option)
{
	struct a51_error err = { 0 };
	struct stats_solve_opts o;
	struct nist_data d;
	struct stats_fit f;
	struct stats_ls *acc;

	nist_load("Filip", &d);
	acc = stats_ls_new(d.p, 1, STATS_LS_AUTO, &err);
	ck_assert_int_eq(stats_ls_add_rows(acc, d.X, d.y, NULL, d.n, &err), 0);
	stats_solve_opts_init(&o);
	o.rank_tol = 1e-7;
	ck_assert_int_eq(stats_ls_solve(acc, &o, &f, &err), 0);
	ck_assert_uint_eq(f.rank, 10);
	ck_assert_int_eq(f.status[10], STATS_COL_COLLINEAR);
	ck_assert(isnan(f.coef[10]) && !isnan(f.coef[9]));
	ck_assert(f.rss > 0 && f.cond < 1e9);
	stats_fit_release(&f);
	o.rank_tol = 1;
	ck_assert_int_eq(stats_ls_solve(acc, &o, &f, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "rank_tol");
	stats_ls_free(acc);
	nist_free(&d);
}
END_TEST

/* ---- streaming and threads ---- */

static double *make_design(size_t n, size_t p, double **y, unsigned long long seed)
{
	double *X = malloc(n * p * sizeof(double));

	*y = malloc(n * sizeof(double));
	rng_state = seed;
	for (size_t i = 0; i < n; i++) {
		double s = 0;

		X[i * p] = 1;
		for (size_t j = 1; j < p; j++) {
			X[i * p + j] = rnorm() * (double)j + (j % 3 ? 0 : 5);
			s += X[i * p + j] * (0.5 - (double)j / (double)p);
		}
		(*y)[i] = 2 + s + rnorm();
	}
	return X;
}

static void assert_same_fit(const struct stats_fit *a, const struct stats_fit *b, double tol)
{
	ck_assert_uint_eq(a->rank, b->rank);
	ck_assert_uint_eq(a->nobs, b->nobs);
	for (size_t j = 0; j < a->p; j++) {
		ck_assert_msg(rel(a->coef[j], b->coef[j]) <= tol, "coef %zu: %.17g vs %.17g", j, a->coef[j],
			      b->coef[j]);
		ck_assert_msg(rel(a->se[j], b->se[j]) <= tol, "se %zu: %.17g vs %.17g", j, a->se[j], b->se[j]);
	}
	ck_assert_msg(rel(a->rss, b->rss) <= tol, "rss %.17g vs %.17g", a->rss, b->rss);
	ck_assert_msg(rel(a->r2, b->r2) <= tol, "r2");
}

START_TEST(thread_count_independence)
{
	enum { N = 200000, P = 20 };
	struct a51_error err = { 0 };
	struct stats_fit one, two, f;
	struct stats_solve_opts o;
	struct stats_ls *acc[4];
	double *y, *X = make_design(N, P, &y, 42);
	static const int orders[3][4] = { { 0, 1, 2, 3 }, { 3, 1, 0, 2 }, { 2, 3, 1, 0 } };

	stats_solve_opts_init(&o);
	one = fit_arrays(X, y, NULL, N, P, 1, STATS_LS_AUTO, true);
	two = fit_arrays(X, y, NULL, N, P, 2, STATS_LS_AUTO, true);
	assert_same_fit(&two, &one, 1e-12);
	f = fit_arrays(X, y, NULL, N, P, 4, STATS_LS_AUTO, true);
	assert_same_fit(&f, &one, 1e-12);
	stats_fit_release(&f);
	/* Four accumulators on interleaved chunks, merged in several orders. */
	for (size_t o_i = 0; o_i < 3; o_i++) {
		for (int k = 0; k < 4; k++)
			acc[k] = stats_ls_new(P, 1, STATS_LS_AUTO, &err);
		for (size_t i = 0; i < N; i += 10000)
			stats_ls_add_rows(acc[(i / 10000) % 4], X + i * P, y + i, NULL, 10000, &err);
		for (int k = 1; k < 4; k++)
			ck_assert_int_eq(stats_ls_merge(acc[orders[o_i][0]], acc[orders[o_i][k]], &err), 0);
		ck_assert_int_eq(stats_ls_solve(acc[orders[o_i][0]], &o, &f, &err), 0);
		ck_assert_uint_eq(stats_ls_nobs(acc[orders[o_i][0]]), N);
		assert_same_fit(&f, &one, 1e-12);
		stats_fit_release(&f);
		for (int k = 0; k < 4; k++)
			stats_ls_free(acc[k]);
	}
	stats_fit_release(&one);
	stats_fit_release(&two);
	free(X);
	free(y);
}
END_TEST

START_TEST(precision_modes_agree)
{
	enum { N = 20000, P = 12 };
	double *y, *X = make_design(N, P, &y, 7);
	struct stats_fit a = fit_arrays(X, y, NULL, N, P, 1, STATS_LS_AUTO, true);
	struct stats_fit d = fit_arrays(X, y, NULL, N, P, 1, STATS_LS_DOUBLE, true);
	struct stats_fit e = fit_arrays(X, y, NULL, N, P, 1, STATS_LS_EXTENDED, true);

	assert_same_fit(&d, &e, 1e-12);
	assert_same_fit(&a, &e, 1e-12);
	ck_assert(a.cond >= 1 && a.cond < 1e3);
	ck_assert(a.r2 > 0 && a.r2 < 1 && a.adj_r2 < a.r2);
	ck_assert_double_eq_tol(a.rmse, sqrt(a.rss / N), 1e-12);
	ck_assert_double_eq_tol(a.sigma, sqrt(a.rss / (N - P)), 1e-12);
	stats_fit_release(&a);
	stats_fit_release(&d);
	stats_fit_release(&e);
	free(X);
	free(y);
}
END_TEST

START_TEST(fit_sources_matches_arrays)
{
	enum { N = 30000, P = 6 };
	double *y, *X = make_design(N, P, &y, 9);
	struct array_src a[3];
	struct stats_source s[3];
	struct a51_error err = { 0 };
	struct stats_fit ref = fit_arrays(X, y, NULL, N, P, 1, STATS_LS_AUTO, true), f;

	split_sources(a, s, 3, X, y, NULL, NULL, N, P, 777);
	ck_assert_msg(stats_ls_fit_sources(s, 3, P, NULL, true, &f, &err) == 0, "%s", err.message);
	assert_same_fit(&f, &ref, 1e-12);
	ck_assert_int_eq(a[0].rewinds, 2); /* fit pass + HC1 pass */
	for (size_t j = 0; j < P; j++)
		ck_assert(f.se_hc1[j] > 0.8 * f.se[j] && f.se_hc1[j] < 1.25 * f.se[j]); /* homoskedastic */
	stats_fit_release(&f);
	stats_fit_release(&ref);
	free(X);
	free(y);
}
END_TEST

/* ---- rank, weights, errors ---- */

START_TEST(rank_deficient_columns_named)
{
	enum { N = 500, P = 7 };
	double X[N * P], y[N], Xr[N * 4];
	struct stats_fit f, r;

	rng_state = 3;
	for (size_t i = 0; i < N; i++) {
		double a = rnorm(), b = rnorm(), c = rnorm();
		double row[P] = { 1, a, b, a /* duplicate of x1 */, 0 /* all zero */, c, a + 2 * b /* combination */ };

		memcpy(X + i * P, row, sizeof(row));
		Xr[i * 4] = 1;
		Xr[i * 4 + 1] = a;
		Xr[i * 4 + 2] = b;
		Xr[i * 4 + 3] = c;
		y[i] = 1 + 2 * a - b + 0.5 * c + 0.1 * rnorm();
	}
	f = fit_arrays(X, y, NULL, N, P, 1, STATS_LS_AUTO, true);
	r = fit_arrays(Xr, y, NULL, N, 4, 1, STATS_LS_AUTO, true);
	ck_assert_uint_eq(f.rank, 4);
	ck_assert_int_eq(f.status[3], STATS_COL_COLLINEAR);
	ck_assert_int_eq(f.status[4], STATS_COL_ZERO);
	ck_assert_int_eq(f.status[6], STATS_COL_COLLINEAR);
	ck_assert(isnan(f.coef[3]) && isnan(f.coef[4]) && isnan(f.coef[6]));
	ck_assert(isnan(f.se[3]) && isnan(f.xtx_inv[3 * P + 3]) && isnan(f.xtx_inv[0 * P + 4]));
	ck_assert_double_eq_tol(f.coef[0], r.coef[0], 1e-12);
	ck_assert_double_eq_tol(f.coef[1], r.coef[1], 1e-12);
	ck_assert_double_eq_tol(f.coef[5], r.coef[3], 1e-12);
	ck_assert_double_eq_tol(f.se[5], r.se[3], 1e-12);
	ck_assert_double_eq(f.df_res, N - 4);
	ck_assert_double_eq_tol(f.rss, r.rss, 1e-10);
	stats_fit_release(&r);
	{
		/* Zero-initialised options: rank_tol 0 means the default. */
		struct stats_solve_opts o = { .has_intercept = true };
		struct a51_error err = { 0 };
		struct stats_ls *acc = stats_ls_new(P, 1, STATS_LS_DOUBLE, &err);

		ck_assert_int_eq(stats_ls_add_rows(acc, X, y, NULL, N, &err), 0);
		ck_assert_int_eq(stats_ls_solve(acc, &o, &r, &err), 0);
		ck_assert_uint_eq(r.rank, 4);
		ck_assert_int_eq(r.status[3], STATS_COL_COLLINEAR);
		stats_ls_free(acc);
		stats_fit_release(&r);
	}
	r = fit_arrays(Xr, y, NULL, N, 4, 1, STATS_LS_AUTO, true);
	/* Prediction ignores the dropped columns. */
	ck_assert_double_eq_tol(stats_predict(f.coef, P, X + 10 * P), stats_predict(r.coef, 4, Xr + 40), 1e-12);
	stats_fit_release(&f);
	stats_fit_release(&r);
}
END_TEST

START_TEST(wls_equals_ols_on_duplicated_rows)
{
	enum { N = 300, P = 3 };
	double X[N * P], y[N], w[N], Xd[3 * N * P], yd[3 * N];
	size_t nd = 0;
	struct stats_fit fw, fd;

	rng_state = 11;
	for (size_t i = 0; i < N; i++) {
		double x = rnorm(), row[P] = { 1, x, x * x };

		memcpy(X + i * P, row, sizeof(row));
		y[i] = 1 + x + rnorm() * (1 + fabs(x));
		w[i] = (double)(i % 4); /* 0 drops the row */
		for (int k = 0; k < (int)w[i]; k++, nd++) {
			memcpy(Xd + nd * P, row, sizeof(row));
			yd[nd] = y[i];
		}
	}
	fw = fit_arrays(X, y, w, N, P, 1, STATS_LS_AUTO, true);
	fd = fit_arrays(Xd, yd, NULL, nd, P, 1, STATS_LS_AUTO, true);
	ck_assert_uint_eq(fw.nobs, N - N / 4);
	ck_assert_double_eq_tol(fw.sum_w, (double)nd, 1e-9);
	for (size_t j = 0; j < P; j++) {
		ck_assert(rel(fw.coef[j], fd.coef[j]) < 1e-12);
		ck_assert(rel(fw.xtx_inv[j * P + j], fd.xtx_inv[j * P + j]) < 1e-12);
		/* Same sum of squares, but analytic weights count rows for df. */
		ck_assert(rel(fw.se[j] * sqrt(fw.df_res / fd.df_res), fd.se[j]) < 1e-12);
	}
	ck_assert(rel(fw.rss, fd.rss) < 1e-12);
	ck_assert(rel(fw.r2, fd.r2) < 1e-12);
	stats_fit_release(&fw);
	stats_fit_release(&fd);
}
END_TEST

START_TEST(bad_input_rejected_and_sticky)
{
	enum { N = 9000, P = 3 };
	struct a51_error err = { 0 };
	struct stats_ls *acc, *other;
	struct stats_fit f;
	double *y, *X = make_design(N, P, &y, 5), w[2] = { 1, -1 };

	ck_assert_ptr_null(stats_ls_new(0, 1, 0, &err));
	ck_assert_str_eq(err.field, "p");
	ck_assert_ptr_null(stats_ls_new(3, STATS_MAX_THREADS + 1, 0, &err));
	acc = stats_ls_new(P, 2, STATS_LS_AUTO, &err);
	ck_assert_int_eq(stats_ls_solve(acc, NULL, &f, &err), A51_EINVAL); /* no rows */
	X[8500 * P + 1] = NAN; /* in the second thread's half */
	ck_assert_int_eq(stats_ls_add_rows(acc, X, y, NULL, N, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "X");
	ck_assert_msg(strstr(err.message, "row 8500") != NULL, "%s", err.message);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(stats_ls_add_rows(acc, X, y, NULL, 10, &err), A51_EINVAL); /* sticky */
	ck_assert_int_eq(stats_ls_solve(acc, NULL, &f, &err), A51_EINVAL);
	stats_ls_reset(acc);
	X[8500 * P + 1] = INFINITY;
	ck_assert_int_eq(stats_ls_add_rows(acc, X + 8000 * P, y + 8000, NULL, 1000, &err), A51_EINVAL);
	ck_assert_msg(strstr(err.message, "row 500") != NULL, "%s", err.message);
	stats_ls_reset(acc);
	ck_assert_int_eq(stats_ls_add_rows(acc, X, y, w, 2, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "w");
	stats_ls_reset(acc);
	w[1] = 0; /* a zero weight hides the row entirely, Inf included */
	ck_assert_int_eq(stats_ls_add_rows(acc, X + 8499 * P, y + 8499, w, 2, &err), 0);
	ck_assert_uint_eq(stats_ls_nobs(acc), 1);
	other = stats_ls_new(P + 1, 1, 0, &err);
	ck_assert_int_eq(stats_ls_merge(acc, other, &err), A51_EINVAL);
	stats_ls_free(other);
	stats_ls_free(acc);
	free(X);
	free(y);
}
END_TEST

/* ---- HC1 ---- */

/* (X'X)^-1 (sum (w e)^2 x x') (X'X)^-1 n/(n-p), all in long double. */
static void hc1_direct(const double *X, const double *y, const double *w, size_t n, size_t p, double *se)
{
	long double XtX[16 * 16] = { 0 }, Xty[16] = { 0 }, inv[16 * 16], b[16], M[16 * 16] = { 0 };

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < p; j++) {
			long double wi = w ? w[i] : 1;

			Xty[j] += wi * X[i * p + j] * y[i];
			for (size_t k = 0; k < p; k++)
				XtX[j * p + k] += wi * X[i * p + j] * X[i * p + k];
		}
	ld_solve(XtX, Xty, p, b, inv);
	for (size_t i = 0; i < n; i++) {
		long double e = y[i], g;

		for (size_t j = 0; j < p; j++)
			e -= b[j] * X[i * p + j];
		g = (w ? w[i] : 1) * e;
		if (w && w[i] == 0)
			continue;
		for (size_t j = 0; j < p; j++)
			for (size_t k = 0; k < p; k++)
				M[j * p + k] += g * g * X[i * p + j] * X[i * p + k];
	}
	for (size_t j = 0; j < p; j++) {
		long double v = 0;

		for (size_t a = 0; a < p; a++)
			for (size_t c = 0; c < p; c++)
				v += inv[j * p + a] * M[a * p + c] * inv[c * p + j];
		se[j] = (double)sqrtl(v * n / (n - p));
	}
}

START_TEST(hc1_matches_direct)
{
	enum { N = 60, P = 3 };
	double X[N * P], y[N], w[N], se[P];
	struct a51_error err = { 0 };
	struct stats_hc *h1, *h2;
	struct stats_fit f;

	rng_state = 17;
	for (size_t i = 0; i < N; i++) {
		double x1 = rnorm(), x2 = rnd();

		X[i * P] = 1;
		X[i * P + 1] = x1;
		X[i * P + 2] = x2;
		y[i] = 1 + 2 * x1 - x2 + rnorm() * (0.2 + x1 * x1); /* heteroskedastic */
		w[i] = 0.5 + rnd();
	}
	for (int weighted = 0; weighted < 2; weighted++) {
		const double *wp = weighted ? w : NULL;

		f = fit_arrays(X, y, wp, N, P, 1, STATS_LS_AUTO, true);
		ck_assert(isnan(f.se_hc1[0]));
		h1 = stats_hc_new(&f, &err);
		h2 = stats_hc_new(&f, &err);
		ck_assert_int_eq(stats_hc_add_rows(h1, X, y, wp, 25, &err), 0);
		ck_assert_int_eq(stats_hc_add_rows(h2, X + 25 * P, y + 25, wp ? wp + 25 : NULL, N - 25, &err), 0);
		ck_assert_int_eq(stats_hc_merge(h1, h2, &err), 0);
		ck_assert_int_eq(stats_hc_finish(h1, &f, &err), 0);
		hc1_direct(X, y, wp, N, P, se);
		for (size_t j = 0; j < P; j++) {
			ck_assert_msg(rel(f.se_hc1[j], se[j]) < 1e-10, "HC1 se %zu: %.15g vs %.15g", j, f.se_hc1[j],
				      se[j]);
			ck_assert(rel(f.vcov_hc1[j * P + j], se[j] * se[j]) < 1e-10);
		}
		ck_assert(rel(f.vcov_hc1[1], f.vcov_hc1[P]) < 1e-12); /* symmetric */
		stats_hc_free(h1);
		stats_hc_free(h2);
		stats_fit_release(&f);
	}
}
END_TEST

/* ---- GLM ---- */

/* Fisher scoring with all rows in memory, normal equations in long double,
 * iterated to a fixed point: the reference MLE. */
static void glm_newton(int family, const double *X, const double *y, size_t n, size_t p, double *beta, double *se)
{
	long double b[16] = { 0 }, inv[16 * 16];
	long double pearson = 0;

	b[0] = logl(family == STATS_POISSON_LOG ? 1.5L : 2.0L);
	for (int it = 0; it < 100; it++) {
		long double A[16 * 16] = { 0 }, g[16] = { 0 }, d[16];

		pearson = 0;
		for (size_t i = 0; i < n; i++) {
			long double eta = 0, mu, W;

			for (size_t j = 0; j < p; j++)
				eta += b[j] * X[i * p + j];
			mu = expl(eta);
			W = family == STATS_POISSON_LOG ? mu : 1;
			pearson += (y[i] - mu) * (y[i] - mu) / (family == STATS_POISSON_LOG ? mu : mu * mu);
			for (size_t j = 0; j < p; j++) {
				g[j] += W * X[i * p + j] * (y[i] - mu) / mu;
				for (size_t k = 0; k < p; k++)
					A[j * p + k] += W * X[i * p + j] * X[i * p + k];
			}
		}
		ld_solve(A, g, p, d, inv);
		for (size_t j = 0; j < p; j++)
			b[j] += d[j];
	}
	for (size_t j = 0; j < p; j++) {
		long double disp = family == STATS_POISSON_LOG ? 1 : pearson / (long double)(n - p);

		beta[j] = (double)b[j];
		se[j] = (double)sqrtl(disp * inv[j * p + j]);
	}
}

START_TEST(glm_matches_direct_newton)
{
	enum { N = 40, P = 3 };
	static const int families[2] = { STATS_POISSON_LOG, STATS_GAMMA_LOG };
	double X[N * P], y[N], beta[P], se[P];
	struct array_src a[2];
	struct stats_source s[2];

	for (int fi = 0; fi < 2; fi++) {
		struct stats_glm_opts o = { .family = families[fi], .epsilon = 1e-14, .max_iter = 50 };
		struct a51_error err = { 0 };
		struct stats_glm_fit g;

		rng_state = 23 + fi;
		for (size_t i = 0; i < N; i++) {
			double x1 = rnd() * 2 - 1, x2 = rnorm(), mu = exp(0.7 + 0.5 * x1 - 0.3 * x2);

			X[i * P] = 1;
			X[i * P + 1] = x1;
			X[i * P + 2] = x2;
			y[i] = families[fi] == STATS_POISSON_LOG ? rpois(mu) : rgamma(3, mu / 3);
		}
		stats_solve_opts_init(&o.solve);
		split_sources(a, s, 2, X, y, NULL, NULL, N, P, 7);
		ck_assert_msg(stats_glm_fit(&o, s, 2, P, &g, &err) == 0, "%s", err.message);
		glm_newton(families[fi], X, y, N, P, beta, se);
		ck_assert(g.converged);
		for (size_t j = 0; j < P; j++) {
			/* Stopping on the deviance leaves ~sqrt(epsilon) in the
			 * coefficients; gamma/log (not canonical) converges linearly. */
			ck_assert_msg(rel(g.fit.coef[j], beta[j]) < 1e-7, "family %d coef %zu: %.15g vs %.15g",
				      families[fi], j, g.fit.coef[j], beta[j]);
			ck_assert_msg(rel(g.fit.se[j], se[j]) < 1e-6, "family %d se %zu: %.15g vs %.15g",
				      families[fi], j, g.fit.se[j], se[j]);
		}
		ck_assert(g.deviance > 0 && g.deviance < g.null_deviance);
		stats_glm_fit_release(&g);
	}
}
END_TEST

START_TEST(glm_recovers_simulated_coefficients)
{
	enum { N = 100000, P = 3 };
	static const int families[2] = { STATS_POISSON_LOG, STATS_GAMMA_LOG };
	static const double truth[2][P] = { { 0.5, 0.3, -0.2 }, { 1.0, 0.5, -0.3 } };
	double *X = malloc(N * P * sizeof(double)), *y = malloc(N * sizeof(double));
	struct array_src a[2];
	struct stats_source s[2];

	for (int fi = 0; fi < 2; fi++) {
		struct stats_glm_opts o = { .family = families[fi] };
		struct a51_error err = { 0 };
		struct stats_glm_fit g;

		rng_state = 99 + fi;
		for (size_t i = 0; i < N; i++) {
			double x1 = rnd() * 2 - 1, x2 = rnorm();
			double mu = exp(truth[fi][0] + truth[fi][1] * x1 + truth[fi][2] * x2);

			X[i * P] = 1;
			X[i * P + 1] = x1;
			X[i * P + 2] = x2;
			y[i] = families[fi] == STATS_POISSON_LOG ? rpois(mu) : rgamma(2, mu / 2);
		}
		stats_solve_opts_init(&o.solve);
		split_sources(a, s, 2, X, y, NULL, NULL, N, P, 4096);
		ck_assert_msg(stats_glm_fit(&o, s, 2, P, &g, &err) == 0, "%s", err.message);
		ck_assert(g.converged && g.iterations < 10);
		for (size_t j = 0; j < P; j++)
			ck_assert_msg(fabs(g.fit.coef[j] - truth[fi][j]) < 4 * g.fit.se[j],
				      "family %d coef %zu: %.5f (se %.5f) vs %.2f", families[fi], j, g.fit.coef[j],
				      g.fit.se[j], truth[fi][j]);
		if (families[fi] == STATS_POISSON_LOG)
			ck_assert(fabs(g.pearson_chi2 / g.df_res - 1) < 0.03 && g.dispersion == 1);
		else
			ck_assert_msg(fabs(g.dispersion - 0.5) < 0.02, "gamma dispersion %g", g.dispersion);
		stats_glm_fit_release(&g);
	}
	free(X);
	free(y);
}
END_TEST

START_TEST(glm_offset_and_errors)
{
	enum { N = 2000, P = 2 };
	double X[N * P], y[N], off[N], beta[P] = { -1, 0.4 };
	struct array_src a;
	struct stats_source s;
	struct stats_glm_opts o = { .family = STATS_POISSON_LOG };
	struct a51_error err = { 0 };
	struct stats_glm_fit g;
	double z, ww;

	rng_state = 5;
	for (size_t i = 0; i < N; i++) {
		double x = rnd();

		X[i * P] = 1;
		X[i * P + 1] = x;
		off[i] = log(1 + 9 * rnd()); /* exposure 1..10 */
		y[i] = rpois(exp(beta[0] + beta[1] * x + off[i]));
	}
	stats_solve_opts_init(&o.solve);
	split_sources(&a, &s, 1, X, y, NULL, off, N, P, 500);
	ck_assert_int_eq(stats_glm_fit(&o, &s, 1, P, &g, &err), 0);
	ck_assert(fabs(g.fit.coef[0] - beta[0]) < 4 * g.fit.se[0]);
	ck_assert(fabs(g.fit.coef[1] - beta[1]) < 4 * g.fit.se[1]);
	ck_assert(isnan(g.null_deviance)); /* with offsets */
	stats_glm_fit_release(&g);
	y[10] = -1;
	ck_assert_int_eq(stats_glm_fit(&o, &s, 1, P, &g, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "y");
	o.family = STATS_GAMMA_LOG;
	y[10] = 0;
	ck_assert_int_eq(stats_glm_fit(&o, &s, 1, P, &g, &err), A51_EINVAL);
	o.family = 99;
	ck_assert_int_eq(stats_glm_fit(&o, &s, 1, P, &g, &err), A51_EINVAL);
	ck_assert_int_eq(stats_glm_working(STATS_POISSON_LOG, NULL, P, X, 3, 1, 0, &z, &ww), 0);
	ck_assert_double_eq_tol(ww, 3.1, 1e-15);
	ck_assert_double_eq_tol(z, log(3.1) + (3 - 3.1) / 3.1, 1e-15);
	ck_assert_int_eq(stats_glm_working(STATS_GAMMA_LOG, beta, P, X, 2, 1, 0.5, &z, &ww), 0);
	ck_assert_double_eq(ww, 1);
}
END_TEST

/* ---- log-OLS, prediction, quantiles ---- */

START_TEST(logols_duan_smearing)
{
	enum { N = 5000, P = 3 };
	double X[N * P], y[N], ly[N], w[N];
	struct array_src a[2];
	struct stats_source s[2];
	struct a51_error err = { 0 };
	struct stats_logols_fit f;
	struct stats_fit ref;
	long double sm = 0, sw = 0;

	rng_state = 31;
	for (size_t i = 0; i < N; i++) {
		double x1 = rnorm(), x2 = rnd();

		X[i * P] = 1;
		X[i * P + 1] = x1;
		X[i * P + 2] = x2;
		ly[i] = 5 + 0.3 * x1 - 0.8 * x2 + 0.6 * rnorm();
		y[i] = exp(ly[i]);
		w[i] = 1;
	}
	y[17] = 0; /* a zero cost: trimmed with a zero weight */
	w[17] = 0;
	split_sources(a, s, 2, X, y, w, NULL, N, P, 333);
	ck_assert_msg(stats_logols_fit(s, 2, P, NULL, &f, &err) == 0, "%s", err.message);
	ref = fit_arrays(X, ly, w, N, P, 1, STATS_LS_AUTO, true);
	for (size_t i = 0; i < N; i++) {
		if (w[i] == 0)
			continue;
		sm += expl((long double)ly[i] - stats_predict(ref.coef, P, X + i * P));
		sw += 1;
	}
	for (size_t j = 0; j < P; j++)
		ck_assert(rel(f.fit.coef[j], ref.coef[j]) < 1e-12);
	ck_assert_msg(rel(f.smearing, (double)(sm / sw)) < 1e-12, "smearing %.15g vs %.15Lg", f.smearing, sm / sw);
	ck_assert(fabs(f.smearing - exp(0.18)) < 0.03); /* E exp(e) for N(0, 0.36) */
	ck_assert(rel(stats_logols_predict(&f, X), exp(stats_predict(ref.coef, P, X)) * f.smearing) < 1e-12);
	stats_logols_fit_release(&f);
	stats_fit_release(&ref);
	w[17] = 1; /* y = 0 with a positive weight */
	ck_assert_int_eq(stats_logols_fit(s, 2, P, NULL, &f, &err), A51_EINVAL);
	ck_assert_str_eq(err.field, "y");
}
END_TEST

START_TEST(predict_skips_dropped)
{
	double coef[3] = { 1, NAN, 2 }, x[6] = { 1, 5, 3, 1, -1, 0.5 }, out[2];

	ck_assert_double_eq(stats_predict(coef, 3, x), 7);
	stats_predict_rows(coef, 3, x, 2, out);
	ck_assert_double_eq(out[0], 7);
	ck_assert_double_eq(out[1], 2);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

START_TEST(quantiles_winsorize_trim)
{
	double v[10] = { 7, 1, 10, 3, 2, 9, 4, 8, 6, 5 }, q, big[1001], sorted[1001], w[5];
	double yy[5] = { 1, 50, 3, 200, 4 };
	struct a51_error err = { 0 };
	static const double probs[] = { 0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1 };

	ck_assert_int_eq(stats_quantile(v, 10, 0.25, &q, &err), 0);
	ck_assert_double_eq_tol(q, 3.25, 1e-15); /* R: quantile(1:10, .25) */
	ck_assert_int_eq(stats_quantile(v, 10, 0.5, &q, &err), 0);
	ck_assert_double_eq_tol(q, 5.5, 1e-15);
	ck_assert_int_eq(stats_quantile(v, 10, 1, &q, &err), 0);
	ck_assert_double_eq(q, 10);
	ck_assert_int_eq(v[0], 7); /* input untouched */
	rng_state = 1;
	for (size_t i = 0; i < 1001; i++)
		big[i] = sorted[i] = floor(rnd() * 50); /* many ties */
	qsort(sorted, 1001, sizeof(double), cmp_double);
	for (size_t k = 0; k < A51_ARRAY_LEN(probs); k++) {
		double h = 1000 * probs[k], lo = sorted[(size_t)h], hi = sorted[(size_t)h < 1000 ? (size_t)h + 1 : 1000];

		ck_assert_int_eq(stats_quantile(big, 1001, probs[k], &q, &err), 0);
		ck_assert_double_eq_tol(q, lo + (h - floor(h)) * (hi - lo), 1e-12);
	}
	ck_assert_int_eq(stats_quantile(v, 10, 1.5, &q, &err), A51_EINVAL);
	ck_assert_int_eq(stats_quantile(v, 0, 0.5, &q, &err), A51_EINVAL);
	v[3] = NAN;
	ck_assert_int_eq(stats_quantile(v, 10, 0.5, &q, &err), A51_EINVAL);
	v[3] = 3;
	ck_assert_uint_eq(stats_winsorize(v, 10, 2, 8), 3); /* 1, 9 and 10 */
	ck_assert_double_eq(v[1], 2);
	ck_assert_double_eq(v[2], 8);
	ck_assert_uint_eq(stats_trim_weights(yy, NULL, w, 5, 0, 100), 1);
	ck_assert_double_eq(w[3], 0);
	ck_assert_double_eq(w[1], 1);
}
END_TEST

/* One checked fixture per kernel version: it runs before each test of its
 * TCase, in the test's own process. */
#define KERNEL_FIXTURE(NAME) \
	static void use_##NAME(void) \
	{ \
		ck_assert_msg(stats_kernel_use(#NAME) == 0, "kernel " #NAME " unavailable"); \
	}
KERNEL_FIXTURE(generic)
KERNEL_FIXTURE(avx2)
KERNEL_FIXTURE(avx512)

static const struct {
	const char *name;
	void (*use)(void);
} kernels[] = { { "generic", use_generic }, { "avx2", use_avx2 }, { "avx512", use_avx512 } };

/* The kernel-dependent checks, under one kernel version. */
static void add_kernel_tcases(Suite *s, size_t k)
{
	/* Check keeps the pointers: the names live as long as the program. */
	static char names[A51_ARRAY_LEN(kernels)][2][32];
	TCase *nist, *t;

	snprintf(names[k][0], sizeof(names[k][0]), "nist-%s", kernels[k].name);
	snprintf(names[k][1], sizeof(names[k][1]), "engine-%s", kernels[k].name);
	nist = tcase_create(names[k][0]);
	t = tcase_create(names[k][1]);
	tcase_add_checked_fixture(nist, kernels[k].use, NULL);
	tcase_add_checked_fixture(t, kernels[k].use, NULL);
	tcase_add_loop_test(nist, nist_certified_values, 0, (int)A51_ARRAY_LEN(nist_sets));
	tcase_add_loop_test(nist, nist_streamed_and_merged, 0, (int)A51_ARRAY_LEN(nist_sets));
	tcase_add_loop_test(nist, nist_double_kernels, 0, (int)A51_ARRAY_LEN(nist_sets));
	tcase_add_test(nist, rank_tol_option);
	suite_add_tcase(s, nist);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, thread_count_independence);
	tcase_add_test(t, precision_modes_agree);
	tcase_add_test(t, fit_sources_matches_arrays);
	tcase_add_test(t, rank_deficient_columns_named);
	tcase_add_test(t, wls_equals_ols_on_duplicated_rows);
	tcase_add_test(t, bad_input_rejected_and_sticky);
	tcase_add_test(t, hc1_matches_direct);
	tcase_add_test(t, glm_matches_direct_newton);
	tcase_add_test(t, glm_recovers_simulated_coefficients);
	tcase_add_test(t, glm_offset_and_errors);
	tcase_add_test(t, logols_duan_smearing);
	tcase_add_test(t, predict_skips_dropped);
	suite_add_tcase(s, t);
}

static Suite *suite(void)
{
	Suite *s = suite_create("stats");
	TCase *t = tcase_create("helpers");
	const char *dflt = stats_kernel_name();
	size_t nskip = 0;

	printf("stats kernels: default %s; running", dflt);
	for (size_t k = 0; k < A51_ARRAY_LEN(kernels); k++) {
		if (stats_kernel_use(kernels[k].name) == 0) {
			printf(" %s", kernels[k].name);
			add_kernel_tcases(s, k);
		}
	}
	printf("; skipped (not in this build or CPU):");
	for (size_t k = 0; k < A51_ARRAY_LEN(kernels); k++) {
		if (stats_kernel_use(kernels[k].name) != 0) {
			printf(" %s", kernels[k].name);
			nskip++;
		}
	}
	printf("%s\n", nskip ? "" : " none");
	fflush(stdout);
	stats_kernel_use(dflt);
	tcase_add_test(t, quantiles_winsorize_trim);
	suite_add_tcase(s, t);
	return s;
}

A51_CHECK_MAIN(suite)
