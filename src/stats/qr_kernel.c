/* Blocked Householder QR of a triangle stacked on a block of rows (TSQR step).
 *
 * For the stack [R; A] the reflector of column j is [e_j; u_j]: one entry in
 * row j of R, the rest in A. A panel of LS_PANEL reflectors is therefore
 * V = [I; U] and Q' = I - V T' V' (compact WY), so applying the panel to the
 * trailing columns C is Y = R_rows + U'C, W = T'Y, R_rows -= W, C -= U W:
 * two matrix products over the block's rows, which is where the time goes.
 * Those two products have an AVX-512 version chosen at run time (the build
 * targets baseline x86-64) and a portable one; build with
 * -DA51_STATS_NO_AVX512 to run the portable one on any machine (to test it). */
#include <math.h>
#include <pthread.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(A51_STATS_NO_AVX512)
#define HAVE_AVX512_KERNEL 1
#include <immintrin.h>
#endif

#include "stats_int.h"
#include "a51/banned.h"

/* Y[a*ldy + b] = sum_i U[a*lda + i] * A[b*lda + i], a < nu, b < na. */
typedef void (*dot_fn)(const double *U, const double *A, size_t lda, size_t m, size_t nu, size_t na, double *Y,
		       size_t ldy);
/* A[b*lda + i] -= sum_a U[a*lda + i] * W[a*ldw + b], a < nu, b < na. */
typedef void (*upd_fn)(const double *U, double *A, size_t lda, size_t m, size_t nu, size_t na, const double *W,
		       size_t ldw);

/* v[i] *= f, i < m (m a multiple of 8). */
typedef void (*scal_fn)(double *v, size_t m, double f);

static void scal_generic(double *v, size_t m, double f)
{
	for (size_t i = 0; i < m; i++)
		v[i] *= f;
}

/* A[c*lda + k] = X[row_k*p + c] * s[c] * f[k] for c < p, k < m; row_k is
 * idx[k] or k, f[k] is 1 when f is NULL. */
typedef void (*gather_fn)(double *A, size_t lda, const double *X, size_t p, const size_t *idx, const double *f,
			  const double *s, size_t m);

static void gather_generic(double *A, size_t lda, const double *X, size_t p, const size_t *idx, const double *f,
			   const double *s, size_t m)
{
	for (size_t k = 0; k < m; k++) {
		const double *x = X + (idx ? idx[k] : k) * p;
		double fk = f ? f[k] : 1;

		for (size_t c = 0; c < p; c++)
			A[c * lda + k] = x[c] * s[c] * fk;
	}
}

static void dot_generic(const double *U, const double *A, size_t lda, size_t m, size_t nu, size_t na, double *Y,
			size_t ldy)
{
	for (size_t a = 0; a < nu; a++) {
		const double *u = U + a * lda;

		for (size_t b = 0; b < na; b++) {
			const double *x = A + b * lda;
			/* Four partial sums: the same order on every machine for
			 * a given m, and no single dependency chain. */
			double s0 = 0, s1 = 0, s2 = 0, s3 = 0;

			for (size_t i = 0; i < m; i += 4) {
				s0 += u[i] * x[i];
				s1 += u[i + 1] * x[i + 1];
				s2 += u[i + 2] * x[i + 2];
				s3 += u[i + 3] * x[i + 3];
			}
			Y[a * ldy + b] = (s0 + s1) + (s2 + s3);
		}
	}
}

static void upd_generic(const double *U, double *A, size_t lda, size_t m, size_t nu, size_t na, const double *W,
			size_t ldw)
{
	for (size_t b = 0; b < na; b++) {
		double *x = A + b * lda;

		for (size_t a = 0; a < nu; a++) {
			const double *u = U + a * lda;
			double c = W[a * ldw + b];

			if (c == 0)
				continue;
			for (size_t i = 0; i < m; i++)
				x[i] -= u[i] * c;
		}
	}
}

#ifdef HAVE_AVX512_KERNEL
#define T512 __attribute__((target("avx512f,fma")))
#define INLINE512 static inline __attribute__((always_inline)) T512

/* One nu x na tile (at most 4 x 4) of dot products: 16 accumulators. */
INLINE512 void dot_tile512(const double *U, const double *A, size_t lda, size_t m, int nu, int na, double *Y,
			   size_t ldy)
{
	__m512d acc[4][4];

#pragma GCC unroll 4
	for (int a = 0; a < 4; a++)
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++)
			acc[a][b] = _mm512_setzero_pd();
	for (size_t i = 0; i < m; i += 8) {
		__m512d u[4], x[4];

#pragma GCC unroll 4
		for (int a = 0; a < 4; a++)
			if (a < nu)
				u[a] = _mm512_loadu_pd(U + a * lda + i);
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++)
			if (b < na)
				x[b] = _mm512_loadu_pd(A + b * lda + i);
#pragma GCC unroll 4
		for (int a = 0; a < 4; a++)
#pragma GCC unroll 4
			for (int b = 0; b < 4; b++)
				if (a < nu && b < na)
					acc[a][b] = _mm512_fmadd_pd(u[a], x[b], acc[a][b]);
	}
#pragma GCC unroll 4
	for (int a = 0; a < 4; a++)
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++)
			if (a < nu && b < na)
				Y[a * ldy + b] = _mm512_reduce_add_pd(acc[a][b]);
}

#define DOT_CASE(NU, NA) \
	case (NU) * 8 + (NA): dot_tile512(U + a * lda, A + b * lda, lda, m, NU, NA, Y + a * ldy + b, ldy); break

static T512 void dot_avx512(const double *U, const double *A, size_t lda, size_t m, size_t nu, size_t na,
			    double *Y, size_t ldy)
{
	for (size_t a = 0; a < nu; a += 4) {
		int tu = nu - a < 4 ? (int)(nu - a) : 4;

		for (size_t b = 0; b < na; b += 4) {
			int ta = na - b < 4 ? (int)(na - b) : 4;

			/* Constant tile shapes so that each case keeps its
			 * accumulators in registers. */
			switch (tu * 8 + ta) {
			DOT_CASE(1, 1); DOT_CASE(1, 2); DOT_CASE(1, 3); DOT_CASE(1, 4);
			DOT_CASE(2, 1); DOT_CASE(2, 2); DOT_CASE(2, 3); DOT_CASE(2, 4);
			DOT_CASE(3, 1); DOT_CASE(3, 2); DOT_CASE(3, 3); DOT_CASE(3, 4);
			DOT_CASE(4, 1); DOT_CASE(4, 2); DOT_CASE(4, 3); DOT_CASE(4, 4);
			default: break;
			}
		}
	}
}

/* Rows i..i+8*NR of na (at most 4) columns minus U W: NR*na accumulators. */
INLINE512 void upd_tile512(const double *U, double *A, size_t lda, size_t nu, int nr, int na, const double *W,
			   size_t ldw)
{
	__m512d acc[4][4];

#pragma GCC unroll 4
	for (int r = 0; r < 4; r++)
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++)
			if (r < nr && b < na)
				acc[r][b] = _mm512_loadu_pd(A + b * lda + 8 * r);
	for (size_t a = 0; a < nu; a++) {
		__m512d u[4];

#pragma GCC unroll 4
		for (int r = 0; r < 4; r++)
			if (r < nr)
				u[r] = _mm512_loadu_pd(U + a * lda + 8 * r);
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++) {
			if (b < na) {
				__m512d c = _mm512_set1_pd(W[a * ldw + b]);

#pragma GCC unroll 4
				for (int r = 0; r < 4; r++)
					if (r < nr)
						acc[r][b] = _mm512_fnmadd_pd(u[r], c, acc[r][b]);
			}
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < 4; r++)
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++)
			if (r < nr && b < na)
				_mm512_storeu_pd(A + b * lda + 8 * r, acc[r][b]);
}

static T512 void scal_avx512(double *v, size_t m, double f)
{
	__m512d c = _mm512_set1_pd(f);

	for (size_t i = 0; i < m; i += 8)
		_mm512_storeu_pd(v + i, _mm512_mul_pd(_mm512_loadu_pd(v + i), c));
}

#define GATHER_AHEAD 64

/* Eight rows at a time: load 8 x 8, transpose in registers, store eight
 * column pieces (the stores are whole cache lines, the loads sequential). */
static T512 void gather_avx512(double *A, size_t lda, const double *X, size_t p, const size_t *idx, const double *f,
			       const double *s, size_t m)
{
	const __m512i lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
	const __m512i hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
	size_t m8 = m / 8 * 8;

	for (size_t k = 0; k < m8; k += 8) {
		const double *x[8];
		__m512d fk = f ? _mm512_loadu_pd(f + k) : _mm512_set1_pd(1.0);

#pragma GCC unroll 8
		for (int r = 0; r < 8; r++)
			x[r] = X + (idx ? idx[k + r] : k + r) * p;
		/* The block is read after a long compute phase, when the hardware
		 * prefetchers have stopped: fetch GATHER_AHEAD rows ahead (for
		 * contiguous rows, past the block too: a prefetch never faults). */
		if (!idx || k + GATHER_AHEAD + 8 <= m) {
			for (int r = 0; r < 8; r++) {
				const char *pf = (const char *)(X + (idx ? idx[k + GATHER_AHEAD + r] : k + GATHER_AHEAD + r) * p);

				for (size_t b = 0; b < p * sizeof(double); b += 64)
					_mm_prefetch(pf + b, _MM_HINT_T0);
				_mm_prefetch(pf + p * sizeof(double) - 1, _MM_HINT_T0);
			}
		}
		for (size_t c = 0; c < p; c += 8) {
			__mmask8 mk = p - c >= 8 ? 0xff : (__mmask8)((1u << (p - c)) - 1);
			__m512d r[8], t[8], u[8], o[8];

#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				r[i] = _mm512_maskz_loadu_pd(mk, x[i] + c);
#pragma GCC unroll 4
			for (int i = 0; i < 8; i += 2) {
				t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
				t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
			}
#pragma GCC unroll 2
			for (int h = 0; h < 8; h += 4) {
				u[h] = _mm512_permutex2var_pd(t[h], lo, t[h + 2]);
				u[h + 1] = _mm512_permutex2var_pd(t[h + 1], lo, t[h + 3]);
				u[h + 2] = _mm512_permutex2var_pd(t[h], hi, t[h + 2]);
				u[h + 3] = _mm512_permutex2var_pd(t[h + 1], hi, t[h + 3]);
			}
#pragma GCC unroll 4
			for (int i = 0; i < 4; i++) {
				o[i] = _mm512_shuffle_f64x2(u[i], u[i + 4], 0x44);
				o[i + 4] = _mm512_shuffle_f64x2(u[i], u[i + 4], 0xee);
			}
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++) {
				__m512d v = _mm512_mul_pd(o[i], _mm512_set1_pd(c + (size_t)i < p ? s[c + i] : 0));

				if (c + (size_t)i < p)
					_mm512_storeu_pd(A + (c + i) * lda + k, _mm512_mul_pd(v, fk));
			}
		}
	}
	if (m8 < m)
		gather_generic(A + m8, lda, idx ? X : X + m8 * p, p, idx ? idx + m8 : NULL, f ? f + m8 : NULL, s, m - m8);
}

#define UPD_CASE(NR, NA) \
	case (NR) * 8 + (NA): upd_tile512(U + i, A + b * lda + i, lda, nu, NR, NA, W + b, ldw); break

static T512 void upd_avx512(const double *U, double *A, size_t lda, size_t m, size_t nu, size_t na,
			    const double *W, size_t ldw)
{
	for (size_t b = 0; b < na; b += 4) {
		int ta = na - b < 4 ? (int)(na - b) : 4;

		for (size_t i = 0; i < m; i += 32) {
			int tr = m - i < 32 ? (int)((m - i) / 8) : 4;

			switch (tr * 8 + ta) {
			UPD_CASE(1, 1); UPD_CASE(1, 2); UPD_CASE(1, 3); UPD_CASE(1, 4);
			UPD_CASE(2, 1); UPD_CASE(2, 2); UPD_CASE(2, 3); UPD_CASE(2, 4);
			UPD_CASE(3, 1); UPD_CASE(3, 2); UPD_CASE(3, 3); UPD_CASE(3, 4);
			UPD_CASE(4, 1); UPD_CASE(4, 2); UPD_CASE(4, 3); UPD_CASE(4, 4);
			default: break;
			}
		}
	}
}
#endif

static dot_fn k_dot = dot_generic;
static upd_fn k_upd = upd_generic;
static scal_fn k_scal = scal_generic;
static gather_fn k_gather = gather_generic;
static pthread_once_t k_once = PTHREAD_ONCE_INIT;

static void kernels_pick(void)
{
#ifdef HAVE_AVX512_KERNEL
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		k_dot = dot_avx512;
		k_upd = upd_avx512;
		k_scal = scal_avx512;
		k_gather = gather_avx512;
	}
#endif
}

void stats_block_gather(double *A, size_t lda, const double *X, size_t p, const size_t *idx, const double *f,
			const double *s, size_t m)
{
	pthread_once(&k_once, kernels_pick);
	k_gather(A, lda, X, p, idx, f, s, m);
}

void stats_block_gram(const double *A, size_t lda, size_t m, size_t p, double *G)
{
	pthread_once(&k_once, kernels_pick);
	k_dot(A, A, lda, m, p, p, G, p);
}

size_t stats_qr_work_len(size_t q)
{
	return 4 * LS_PANEL + 2 * LS_PANEL * LS_PANEL + LS_PANEL * q + q;
}

/* T of the panel (forward, columnwise, as LAPACK's dlarft) from the taus and
 * G = U'U; the identity tops of the reflectors are orthogonal to each other. */
static void panel_t(size_t kb, const double *tau, const double *G, double *T)
{
	for (size_t l = 0; l < kb; l++) {
		for (size_t a = 0; a < l; a++) {
			double s = 0;

			for (size_t b = a; b < l; b++)
				s += T[a * LS_PANEL + b] * G[b * LS_PANEL + l];
			T[a * LS_PANEL + l] = -tau[l] * s;
		}
		T[l * LS_PANEL + l] = tau[l];
		for (size_t a = l + 1; a < kb; a++)
			T[a * LS_PANEL + l] = 0;
	}
}

/* Reflector of column j (panel position l) and its application to the rest
 * of the panel: level-2 work on m rows. */
static void panel_column(double *R, size_t q, double *A, size_t lda, size_t m, size_t j, size_t jend, double *tau,
			 double *y)
{
	double *v = A + j * lda;
	double sigma, alpha, beta, f;
	size_t nrest = jend - j - 1;

	k_dot(v, v, lda, m, 1, 1, &sigma, 1);
	*tau = 0;
	if (sigma == 0)
		return; /* nothing below the diagonal: H = I */
	alpha = R[j * q + j];
	beta = -copysign(sqrt(alpha * alpha + sigma), alpha);
	*tau = (beta - alpha) / beta;
	f = 1 / (alpha - beta);
	k_scal(v, m, f);
	R[j * q + j] = beta;
	if (nrest == 0)
		return;
	k_dot(v, A + (j + 1) * lda, lda, m, 1, nrest, y, nrest);
	for (size_t c = 0; c < nrest; c++) {
		double *r = &R[(j + 1 + c) * q + j];

		y[c] = *tau * (y[c] + *r);
		*r -= y[c];
	}
	k_upd(v, A + (j + 1) * lda, lda, m, 1, nrest, y, nrest);
}

void stats_qr_stack(double *R, size_t q, double *A, size_t lda, size_t m, double *work)
{
	double *tau = work;
	double *y = tau + LS_PANEL;
	double *T = y + 3 * LS_PANEL;
	double *G = T + LS_PANEL * LS_PANEL;
	double *Y = G + LS_PANEL * LS_PANEL;

	pthread_once(&k_once, kernels_pick);
	for (size_t j0 = 0; j0 < q; j0 += LS_PANEL) {
		size_t kb = q - j0 < LS_PANEL ? q - j0 : LS_PANEL;
		size_t c0 = j0 + kb, nc = q - c0;
		double *U = A + j0 * lda;

		for (size_t l = 0; l < kb; l++)
			panel_column(R, q, A, lda, m, j0 + l, c0, &tau[l], y);
		if (nc == 0)
			break;
		k_dot(U, U, lda, m, kb, kb, G, LS_PANEL);
		panel_t(kb, tau, G, T);
		k_dot(U, A + c0 * lda, lda, m, kb, nc, Y, nc);
		for (size_t l = 0; l < kb; l++)
			for (size_t c = 0; c < nc; c++)
				Y[l * nc + c] += R[(c0 + c) * q + j0 + l];
		/* W = T'Y in place, bottom row first (row l needs rows <= l). */
		for (size_t l = kb; l-- > 0;) {
			for (size_t c = 0; c < nc; c++) {
				double s = 0;

				for (size_t a = 0; a <= l; a++)
					s += T[a * LS_PANEL + l] * Y[a * nc + c];
				Y[l * nc + c] = s;
				R[(c0 + c) * q + j0 + l] -= s;
			}
		}
		k_upd(U, A + c0 * lda, lda, m, kb, nc, Y, nc);
	}
}

void stats_qr_stack_ld(long double *R, size_t q, long double *A, size_t lda, size_t m)
{
	for (size_t j = 0; j < q; j++) {
		long double *v = A + j * lda;
		long double sigma = 0, alpha, beta, tau, f;

		for (size_t i = 0; i < m; i++)
			sigma += v[i] * v[i];
		if (sigma == 0)
			continue;
		alpha = R[j * q + j];
		beta = -copysignl(sqrtl(alpha * alpha + sigma), alpha);
		tau = (beta - alpha) / beta;
		f = 1 / (alpha - beta);
		for (size_t i = 0; i < m; i++)
			v[i] *= f;
		R[j * q + j] = beta;
		for (size_t k = j + 1; k < q; k++) {
			long double *x = A + k * lda;
			long double s = R[k * q + j];

			for (size_t i = 0; i < m; i++)
				s += v[i] * x[i];
			s *= tau;
			R[k * q + j] -= s;
			for (size_t i = 0; i < m; i++)
				x[i] -= s * v[i];
		}
	}
}
