/* Blocked Householder QR of a triangle stacked on a block of rows (TSQR step).
 *
 * For the stack [R; A] the reflector of column j is [e_j; u_j]: one entry in
 * row j of R, the rest in A. A panel of LS_PANEL reflectors is therefore
 * V = [I; U] and Q' = I - V T' V' (compact WY), so applying the panel to the
 * trailing columns C is Y = R_rows + U'C, W = T'Y, R_rows -= W, C -= U W:
 * two matrix products over the block's rows, which is where the time goes.
 *
 * Those products (dot, upd), the scaling of a reflector (scal) and the copy of
 * the rows into the column-major block (gather) come in three versions, one
 * chosen at run time (the build targets baseline x86-64): AVX-512 when the CPU
 * has avx512f, else AVX2 + FMA when it has both, else portable C. The
 * environment variable A51_STATS_KERNEL=generic|avx2|avx512, read once, caps
 * the choice (to measure or test a slower path on a faster CPU);
 * stats_kernel_use() switches between calls. -DA51_STATS_NO_AVX512 /
 * -DA51_STATS_NO_AVX2 leave a version out of the build.
 *
 * Each version sums in its own fixed order, so results differ between
 * versions by rounding only, and never depend on the thread count. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#if !defined(A51_STATS_NO_AVX512)
#define HAVE_AVX512_KERNEL 1
#endif
#if !defined(A51_STATS_NO_AVX2)
#define HAVE_AVX2_KERNEL 1
#endif
#if defined(HAVE_AVX512_KERNEL) || defined(HAVE_AVX2_KERNEL)
#include <immintrin.h>
#endif
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

/* Rows the SIMD gathers prefetch ahead of the one they copy. */
#define GATHER_AHEAD 64

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

#ifdef HAVE_AVX2_KERNEL
/* The same kernels in AVX2 + FMA (Zen 2/3, Intel since Haswell): 16 vector
 * registers of 4 doubles, so the tiles have 12 accumulators, 3 operands held
 * and 1 streamed (4 x 3 dot products, 12 rows x 4 columns of update), where
 * AVX-512's have 16 on 32 registers. No spill (checked on GCC 12). */
#define T256 __attribute__((target("avx2,fma")))
#define INLINE256 static inline __attribute__((always_inline)) T256

INLINE256 double hsum256(__m256d v)
{
	__m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));

	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* One nu x na tile (nu <= 4, na <= 3) of dot products: the na columns of A
 * held, the nu columns of U streamed one at a time. A small tile (the
 * reflector of panel_column against itself or the rest of its panel) would
 * wait on its few FMA chains: it keeps ns sets of accumulators, for rows
 * i..i+3, i+4..i+7, ... (m is a multiple of 16), added at the end. */
INLINE256 void dot_tile256(const double *U, const double *A, size_t lda, size_t m, int nu, int na, double *Y,
			   size_t ldy)
{
	enum { NS = 4 };
	int ns = nu * na <= 2 ? 4 : nu * na <= 4 ? 2 : 1;
	__m256d acc[NS][4][3];

#pragma GCC unroll 4
	for (int h = 0; h < NS; h++)
#pragma GCC unroll 4
		for (int a = 0; a < 4; a++)
#pragma GCC unroll 3
			for (int b = 0; b < 3; b++)
				acc[h][a][b] = _mm256_setzero_pd();
	for (size_t i = 0; i < m; i += 4 * (size_t)ns) {
#pragma GCC unroll 4
		for (int h = 0; h < NS; h++) {
			__m256d x[3];

			if (h >= ns)
				break;
#pragma GCC unroll 3
			for (int b = 0; b < 3; b++)
				if (b < na)
					x[b] = _mm256_loadu_pd(A + b * lda + i + 4 * h);
#pragma GCC unroll 4
			for (int a = 0; a < 4; a++) {
				if (a < nu) {
					__m256d u = _mm256_loadu_pd(U + a * lda + i + 4 * h);

#pragma GCC unroll 3
					for (int b = 0; b < 3; b++)
						if (b < na)
							acc[h][a][b] = _mm256_fmadd_pd(u, x[b], acc[h][a][b]);
				}
			}
		}
	}
#pragma GCC unroll 4
	for (int a = 0; a < 4; a++) {
#pragma GCC unroll 3
		for (int b = 0; b < 3; b++) {
			if (a < nu && b < na) {
				__m256d v = acc[0][a][b];

				if (ns == 4)
					v = _mm256_add_pd(_mm256_add_pd(acc[0][a][b], acc[1][a][b]),
							  _mm256_add_pd(acc[2][a][b], acc[3][a][b]));
				else if (ns == 2)
					v = _mm256_add_pd(acc[0][a][b], acc[1][a][b]);
				Y[a * ldy + b] = hsum256(v);
			}
		}
	}
}

#define DOT256_CASE(NU, NA) \
	case (NU) * 8 + (NA): dot_tile256(U + a * lda, A + b * lda, lda, m, NU, NA, Y + a * ldy + b, ldy); break

static T256 void dot_avx2(const double *U, const double *A, size_t lda, size_t m, size_t nu, size_t na, double *Y,
			  size_t ldy)
{
	for (size_t a = 0; a < nu; a += 4) {
		int tu = nu - a < 4 ? (int)(nu - a) : 4;

		for (size_t b = 0; b < na; b += 3) {
			int ta = na - b < 3 ? (int)(na - b) : 3;

			switch (tu * 8 + ta) {
			DOT256_CASE(1, 1); DOT256_CASE(1, 2); DOT256_CASE(1, 3);
			DOT256_CASE(2, 1); DOT256_CASE(2, 2); DOT256_CASE(2, 3);
			DOT256_CASE(3, 1); DOT256_CASE(3, 2); DOT256_CASE(3, 3);
			DOT256_CASE(4, 1); DOT256_CASE(4, 2); DOT256_CASE(4, 3);
			default: break;
			}
		}
	}
}

/* Rows i..i+4*nr (nr <= 3) of na (<= 4) columns minus U W: 12 accumulators,
 * nr pieces of U and one broadcast entry of W held. */
INLINE256 void upd_tile256(const double *U, double *A, size_t lda, size_t nu, int nr, int na, const double *W,
			   size_t ldw)
{
	__m256d acc[3][4];

#pragma GCC unroll 3
	for (int r = 0; r < 3; r++)
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++)
			if (r < nr && b < na)
				acc[r][b] = _mm256_loadu_pd(A + b * lda + 4 * r);
	for (size_t a = 0; a < nu; a++) {
		__m256d u[3];

#pragma GCC unroll 3
		for (int r = 0; r < 3; r++)
			if (r < nr)
				u[r] = _mm256_loadu_pd(U + a * lda + 4 * r);
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++) {
			if (b < na) {
				__m256d c = _mm256_broadcast_sd(W + a * ldw + b);

#pragma GCC unroll 3
				for (int r = 0; r < 3; r++)
					if (r < nr)
						acc[r][b] = _mm256_fnmadd_pd(u[r], c, acc[r][b]);
			}
		}
	}
#pragma GCC unroll 3
	for (int r = 0; r < 3; r++)
#pragma GCC unroll 4
		for (int b = 0; b < 4; b++)
			if (r < nr && b < na)
				_mm256_storeu_pd(A + b * lda + 4 * r, acc[r][b]);
}

#define UPD256_CASE(NR, NA) \
	case (NR) * 8 + (NA): upd_tile256(U + i, A + b * lda + i, lda, nu, NR, NA, W + b, ldw); break

static T256 void upd_avx2(const double *U, double *A, size_t lda, size_t m, size_t nu, size_t na, const double *W,
			  size_t ldw)
{
	for (size_t b = 0; b < na; b += 4) {
		int ta = na - b < 4 ? (int)(na - b) : 4;

		for (size_t i = 0; i < m; i += 12) {
			int tr = m - i < 12 ? (int)((m - i) / 4) : 3;

			switch (tr * 8 + ta) {
			UPD256_CASE(1, 1); UPD256_CASE(1, 2); UPD256_CASE(1, 3); UPD256_CASE(1, 4);
			UPD256_CASE(2, 1); UPD256_CASE(2, 2); UPD256_CASE(2, 3); UPD256_CASE(2, 4);
			UPD256_CASE(3, 1); UPD256_CASE(3, 2); UPD256_CASE(3, 3); UPD256_CASE(3, 4);
			default: break;
			}
		}
	}
}

static T256 void scal_avx2(double *v, size_t m, double f)
{
	__m256d c = _mm256_set1_pd(f);

	for (size_t i = 0; i < m; i += 4)
		_mm256_storeu_pd(v + i, _mm256_mul_pd(_mm256_loadu_pd(v + i), c));
}

/* Rows r..r+3 (of x[]) and columns c..c+3 transposed in registers, scaled,
 * stored as four column pieces at A + column * lda + k. */
INLINE256 void gather_quad256(double *A, size_t lda, const double *const *x, size_t p, size_t c, __m256i mk,
			      bool full, const double *s, __m256d fk, size_t k)
{
	__m256d r0, r1, r2, r3, t0, t1, t2, t3, o[4];

	if (full) {
		r0 = _mm256_loadu_pd(x[0] + c);
		r1 = _mm256_loadu_pd(x[1] + c);
		r2 = _mm256_loadu_pd(x[2] + c);
		r3 = _mm256_loadu_pd(x[3] + c);
	} else {
		r0 = _mm256_maskload_pd(x[0] + c, mk);
		r1 = _mm256_maskload_pd(x[1] + c, mk);
		r2 = _mm256_maskload_pd(x[2] + c, mk);
		r3 = _mm256_maskload_pd(x[3] + c, mk);
	}
	t0 = _mm256_unpacklo_pd(r0, r1); /* a0 b0 a2 b2 */
	t1 = _mm256_unpackhi_pd(r0, r1); /* a1 b1 a3 b3 */
	t2 = _mm256_unpacklo_pd(r2, r3);
	t3 = _mm256_unpackhi_pd(r2, r3);
	o[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
	o[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
	o[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
	o[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++)
		if (c + (size_t)i < p)
			_mm256_storeu_pd(A + (c + i) * lda + k,
					 _mm256_mul_pd(_mm256_mul_pd(o[i], _mm256_set1_pd(s[c + i])), fk));
}

/* Eight rows at a time as two 4 x 4 transposes per 4 columns, so that each
 * column receives a whole cache line (when A and lda are aligned). */
static T256 void gather_avx2(double *A, size_t lda, const double *X, size_t p, const size_t *idx, const double *f,
			     const double *s, size_t m)
{
	size_t m8 = m / 8 * 8, p4 = p / 4 * 4;
	__m256i mk = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(p - p4)), _mm256_set_epi64x(3, 2, 1, 0));

	for (size_t k = 0; k < m8; k += 8) {
		const double *x[8];
		__m256d f0 = f ? _mm256_loadu_pd(f + k) : _mm256_set1_pd(1.0);
		__m256d f1 = f ? _mm256_loadu_pd(f + k + 4) : _mm256_set1_pd(1.0);

#pragma GCC unroll 8
		for (int r = 0; r < 8; r++)
			x[r] = X + (idx ? idx[k + r] : k + r) * p;
		/* As gather_avx512: prefetch GATHER_AHEAD rows ahead. */
		if (!idx || k + GATHER_AHEAD + 8 <= m) {
			for (int r = 0; r < 8; r++) {
				const char *pf = (const char *)(X + (idx ? idx[k + GATHER_AHEAD + r] : k + GATHER_AHEAD + r) * p);

				for (size_t b = 0; b < p * sizeof(double); b += 64)
					_mm_prefetch(pf + b, _MM_HINT_T0);
				_mm_prefetch(pf + p * sizeof(double) - 1, _MM_HINT_T0);
			}
		}
		for (size_t c = 0; c < p4; c += 4) {
			gather_quad256(A, lda, x, p, c, mk, true, s, f0, k);
			gather_quad256(A, lda, x + 4, p, c, mk, true, s, f1, k + 4);
		}
		if (p4 < p) {
			gather_quad256(A, lda, x, p, p4, mk, false, s, f0, k);
			gather_quad256(A, lda, x + 4, p, p4, mk, false, s, f1, k + 4);
		}
	}
	if (m8 < m)
		gather_generic(A + m8, lda, idx ? X : X + m8 * p, p, idx ? idx + m8 : NULL, f ? f + m8 : NULL, s, m - m8);
}
#endif

struct kernels {
	const char *name;
	dot_fn dot;
	upd_fn upd;
	scal_fn scal;
	gather_fn gather;
};

static const struct kernels kern_generic = { "generic", dot_generic, upd_generic, scal_generic, gather_generic };
#ifdef HAVE_AVX2_KERNEL
static const struct kernels kern_avx2 = { "avx2", dot_avx2, upd_avx2, scal_avx2, gather_avx2 };
#endif
#ifdef HAVE_AVX512_KERNEL
static const struct kernels kern_avx512 = { "avx512", dot_avx512, upd_avx512, scal_avx512, gather_avx512 };
#endif

/* Every version, slowest first; NULL when left out of the build. */
enum { KERN_GENERIC, KERN_AVX2, KERN_AVX512, KERN_N };
static const char *const kern_names[KERN_N] = { "generic", "avx2", "avx512" };
static const struct kernels *const kern_all[KERN_N] = {
	&kern_generic,
#ifdef HAVE_AVX2_KERNEL
	&kern_avx2,
#else
	NULL,
#endif
#ifdef HAVE_AVX512_KERNEL
	&kern_avx512,
#else
	NULL,
#endif
};

static const struct kernels *K = &kern_generic; /* in use */
static pthread_once_t k_once = PTHREAD_ONCE_INIT;

/* Whether version i is built and the CPU (and OS) runs it. */
static bool kern_usable(int i)
{
	if (!kern_all[i])
		return false;
#if defined(HAVE_AVX2_KERNEL) || defined(HAVE_AVX512_KERNEL)
	__builtin_cpu_init();
	if (i == KERN_AVX2)
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	if (i == KERN_AVX512)
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
	return i == KERN_GENERIC;
}

static int kern_index(const char *name)
{
	for (int i = 0; name && i < KERN_N; i++)
		if (strcmp(name, kern_names[i]) == 0)
			return i;
	return -1;
}

/* The fastest usable version, at most the one A51_STATS_KERNEL names (an
 * unknown name is ignored). */
static void kernels_pick(void)
{
	int cap = kern_index(getenv("A51_STATS_KERNEL"));

	for (int i = cap < 0 ? KERN_N - 1 : cap; i >= 0; i--) {
		if (kern_usable(i)) {
			K = kern_all[i];
			return;
		}
	}
}

const char *stats_kernel_name(void)
{
	pthread_once(&k_once, kernels_pick);
	return K->name;
}

int stats_kernel_use(const char *name)
{
	int i = kern_index(name);

	pthread_once(&k_once, kernels_pick);
	if (i < 0 || !kern_usable(i))
		return -1;
	K = kern_all[i];
	return 0;
}

void stats_block_gather(double *A, size_t lda, const double *X, size_t p, const size_t *idx, const double *f,
			const double *s, size_t m)
{
	pthread_once(&k_once, kernels_pick);
	K->gather(A, lda, X, p, idx, f, s, m);
}

void stats_block_gram(const double *A, size_t lda, size_t m, size_t p, double *G)
{
	pthread_once(&k_once, kernels_pick);
	K->dot(A, A, lda, m, p, p, G, p);
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
static void panel_column(const struct kernels *kn, double *R, size_t q, double *A, size_t lda, size_t m, size_t j,
			 size_t jend, double *tau, double *y)
{
	double *v = A + j * lda;
	double sigma, alpha, beta, f;
	size_t nrest = jend - j - 1;

	kn->dot(v, v, lda, m, 1, 1, &sigma, 1);
	*tau = 0;
	if (sigma == 0)
		return; /* nothing below the diagonal: H = I */
	alpha = R[j * q + j];
	beta = -copysign(sqrt(alpha * alpha + sigma), alpha);
	*tau = (beta - alpha) / beta;
	f = 1 / (alpha - beta);
	kn->scal(v, m, f);
	R[j * q + j] = beta;
	if (nrest == 0)
		return;
	kn->dot(v, A + (j + 1) * lda, lda, m, 1, nrest, y, nrest);
	for (size_t c = 0; c < nrest; c++) {
		double *r = &R[(j + 1 + c) * q + j];

		y[c] = *tau * (y[c] + *r);
		*r -= y[c];
	}
	kn->upd(v, A + (j + 1) * lda, lda, m, 1, nrest, y, nrest);
}

void stats_qr_stack(double *R, size_t q, double *A, size_t lda, size_t m, double *work)
{
	double *tau = work;
	double *y = tau + LS_PANEL;
	double *T = y + 3 * LS_PANEL;
	double *G = T + LS_PANEL * LS_PANEL;
	double *Y = G + LS_PANEL * LS_PANEL;
	const struct kernels *kn;

	pthread_once(&k_once, kernels_pick);
	kn = K; /* one version for the whole block */
	for (size_t j0 = 0; j0 < q; j0 += LS_PANEL) {
		size_t kb = q - j0 < LS_PANEL ? q - j0 : LS_PANEL;
		size_t c0 = j0 + kb, nc = q - c0;
		double *U = A + j0 * lda;

		for (size_t l = 0; l < kb; l++)
			panel_column(kn, R, q, A, lda, m, j0 + l, c0, &tau[l], y);
		if (nc == 0)
			break;
		/* G = U'U: panel_t reads only its strict upper triangle. */
		for (size_t b = 0; b + 1 < kb; b++)
			kn->dot(U + b * lda, U + (b + 1) * lda, lda, m, 1, kb - 1 - b, G + b * LS_PANEL + b + 1, LS_PANEL);
		panel_t(kb, tau, G, T);
		kn->dot(U, A + c0 * lda, lda, m, kb, nc, Y, nc);
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
		kn->upd(U, A + c0 * lda, lda, m, kb, nc, Y, nc);
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
