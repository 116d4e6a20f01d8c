/* The Winograd convolution's small GEMMs (wg_gemm.h), compiled once per instruction set.
 *
 * The 16 products of a chunk have small inner dimensions (the channels, 32 to 128) and long rows
 * (T, hundreds of tiles), where OpenBLAS spends much of its time packing B and C and in per-call
 * set-up. Here B and C are read and written in place:
 *   mul     register blocks of MUL_ROWS rows of c times MUL_VECS vectors of columns, the
 *           accumulators in registers over the whole inner dimension; each step loads the
 *           block's MUL_VECS vectors of one row of b once and multiplies them by each row's
 *           a(i, p), broadcast from A packed row block by row block (MUL_ROWS values a step, in
 *           one cache line). Columns run in strips of MUL_VECS vectors, row blocks inside, so a
 *           strip of b stays in L1 while all of A passes over it; the columns past the last whole
 *           vector take masked loads and stores.
 *   acc_bt  inner dimension along the rows of both operands: a DOT_ROWS x DOT_COLS block of dot
 *           products, each summed in one vector of lanes, the last partial vector masked; each
 *           step loads DOT_ROWS + DOT_COLS vectors for DOT_ROWS * DOT_COLS multiply-adds.
 * The arithmetic of each output is fixed (see wg_gemm.h), whatever the block it falls in. */
#include "wg_gemm.h"

#include <assert.h>
#include <string.h>

#if PT_ISA_VARIANT > 0
#include <immintrin.h>
#endif

#include "simd.h"

/* Lanes per vector, and the register blocks: the accumulators plus the loaded operands fill
 * AVX-512's 32 registers (24 + 3 + 1, 24 + 6 + 1) and AVX2's 16 (12 + 2 + 1, 12 + 3 + 1). */
#if PT_ISA_VARIANT == 2
#define VL       16
#define MUL_ROWS 8
#define MUL_VECS 3
#define DOT_ROWS 6
#define DOT_COLS 4
#elif PT_ISA_VARIANT == 1
#define VL       8
#define MUL_ROWS 6
#define MUL_VECS 2
#define DOT_ROWS 3
#define DOT_COLS 4
#else
#define VL       4
#define MUL_ROWS 4
#define MUL_VECS 2
#define DOT_ROWS 2
#define DOT_COLS 4
#endif
#if DOT_COLS != 4
#error "dot_block sums its accumulators four columns at a time (vsum4)"
#endif

#define WG_INLINE static inline __attribute__((always_inline))

#if VL != PT_VL
#error "the blocks are sized for one register of PT_VL lanes (simd.h)"
#endif

#if PT_ISA_VARIANT == 1
/* lanes [0, n) set */
WG_INLINE __m256i lane_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

/* The first n (< VL) floats at p, zeros in the other lanes; nothing past p + n is read. */
WG_INLINE ptvec vload_part(const float *p, int n)
{
#if PT_ISA_VARIANT == 2
    return (ptvec)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p);
#elif PT_ISA_VARIANT == 1
    return (ptvec)_mm256_maskload_ps(p, lane_mask(n));
#else
    ptvec v = {0};
    memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
#endif
}

/* The first n (< VL) lanes of v to p; nothing past p + n is written. */
WG_INLINE void vstore_part(float *p, ptvec v, int n)
{
#if PT_ISA_VARIANT == 2
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
#elif PT_ISA_VARIANT == 1
    _mm256_maskstore_ps(p, lane_mask(n), (__m256)v);
#else
    memcpy(p, &v, (size_t)n * sizeof(float));
#endif
}

/* The lane sums of four vectors, [sum a0, sum a1, sum a2, sum a3], each by the same fixed tree:
 * on AVX-512 lane l + lane l + 8 first; then adjacent lanes in pairs, pairs of pairs, and (on AVX2
 * and AVX-512) the two halves of 4. Transposing as it adds, it takes 13 instructions for the four
 * sums on AVX-512. */
typedef float f4 __attribute__((vector_size(16)));

WG_INLINE f4 vsum4(ptvec a0, ptvec a1, ptvec a2, ptvec a3)
{
#if PT_ISA_VARIANT == 2
#define WG_FOLD(z)                                                                                 \
    _mm256_add_ps(_mm512_castps512_ps256((__m512)(z)),                                             \
                  _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd((__m512)(z)), 1)))
    const __m256 h0 = WG_FOLD(a0), h1 = WG_FOLD(a1), h2 = WG_FOLD(a2), h3 = WG_FOLD(a3);
#undef WG_FOLD
#elif PT_ISA_VARIANT == 1
    const __m256 h0 = (__m256)a0, h1 = (__m256)a1, h2 = (__m256)a2, h3 = (__m256)a3;
#endif
#if PT_ISA_VARIANT > 0
    /* [pairs of h0, pairs of h1 | ...], then [h0, h1, h2, h3 over lanes 0-3 | over lanes 4-7] */
    const __m256 v = _mm256_hadd_ps(_mm256_hadd_ps(h0, h1), _mm256_hadd_ps(h2, h3));
    return (f4)_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
#else
    return (f4){(a0[0] + a0[1]) + (a0[2] + a0[3]), (a1[0] + a1[1]) + (a1[2] + a1[3]),
                (a2[0] + a2[1]) + (a2[2] + a2[3]), (a3[0] + a3[1]) + (a3[2] + a3[3])};
#endif
}

/* --- mul ------------------------------------------------------------------------------------- */

/* op(a), rows in blocks of MUL_ROWS: block r's element (i, p) at pack[r * MUL_ROWS * k +
 * p * MUL_ROWS + i]; rows past m are zeros. */
static void pack_a(float *restrict pack, const float *restrict a, size_t lda, int trans_a, int m,
                   int k)
{
    for (int r0 = 0; r0 < m; r0 += MUL_ROWS) {
        float *dst = pack + (size_t)r0 * k;
        for (int p = 0; p < k; p++)
            for (int i = 0; i < MUL_ROWS; i++) {
                const int row = r0 + i;
                dst[(size_t)p * MUL_ROWS + i] = row >= m  ? 0.0f
                                                : trans_a ? a[(size_t)p * lda + row]
                                                          : a[(size_t)row * lda + p];
            }
    }
}

/* Rows [0, rows) of a block of c, columns [0, nv * VL), or with part > 0 one vector of which
 * only the first part columns exist. ap: the block's packed rows; b: row 0 of the strip. */
WG_INLINE void mul_block(float *c, size_t ldc, const float *restrict ap, const float *b, size_t ldb,
                         int k, int rows, const int nv, int part)
{
    ptvec acc[MUL_ROWS][MUL_VECS];
#pragma GCC unroll 32
    for (int i = 0; i < MUL_ROWS; i++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            acc[i][v] = ptvec_set1(0.0f);
    for (int p = 0; p < k; p++) {
        const float *bp = b + (size_t)p * ldb;
        ptvec bv[MUL_VECS];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            bv[v] = part ? vload_part(bp, part) : ptvec_load(bp + v * VL);
#pragma GCC unroll 32
        for (int i = 0; i < MUL_ROWS; i++) {
            const ptvec av = ptvec_set1(ap[(size_t)p * MUL_ROWS + i]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                acc[i][v] = ptvec_fma(av, bv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 32
    for (int i = 0; i < MUL_ROWS; i++) {
        if (i >= rows)
            break;
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            if (part)
                vstore_part(c + (size_t)i * ldc, acc[i][v], part);
            else
                ptvec_store(c + (size_t)i * ldc + v * VL, acc[i][v]);
        }
    }
}

/* Columns [j, j + nv * VL) (or the part columns at j) of every row block. */
WG_INLINE void mul_strip(float *c, size_t ldc, const float *pack, const float *b, size_t ldb, int m,
                         int k, int j, const int nv, int part)
{
    for (int r0 = 0; r0 < m; r0 += MUL_ROWS)
        mul_block(c + (size_t)r0 * ldc + j, ldc, pack + (size_t)r0 * k, b + j, ldb, k,
                  m - r0 < MUL_ROWS ? m - r0 : MUL_ROWS, nv, part);
}

static void mul(float *c, size_t ldc, const float *a, size_t lda, int trans_a, const float *b,
                size_t ldb, int m, int n, int k)
{
    float pack[PT_WG_GEMM_MAX_PACK] __attribute__((aligned(64)));
    assert((size_t)((m + MUL_ROWS - 1) / MUL_ROWS) * MUL_ROWS * k <= PT_WG_GEMM_MAX_PACK);
    if (m <= 0 || n <= 0)
        return;
    pack_a(pack, a, lda, trans_a, m, k);
    int j = 0;
    for (; j + MUL_VECS * VL <= n; j += MUL_VECS * VL)
        mul_strip(c, ldc, pack, b, ldb, m, k, j, MUL_VECS, 0);
#if MUL_VECS > 2
    if (j + 2 * VL <= n) {
        mul_strip(c, ldc, pack, b, ldb, m, k, j, 2, 0);
        j += 2 * VL;
    }
#endif
    if (j + VL <= n) {
        mul_strip(c, ldc, pack, b, ldb, m, k, j, 1, 0);
        j += VL;
    }
    if (j < n)
        mul_strip(c, ldc, pack, b, ldb, m, k, j, 1, n - j);
}

/* --- acc_bt ---------------------------------------------------------------------------------- */

/* c[i][j] += a_i . b_j for rows i0 + [0, DOT_ROWS) of a and j0 + [0, DOT_COLS) of b (clamped to
 * the last row: the duplicates are computed and dropped). */
static void dot_block(float *c, size_t ldc, const float *a, size_t lda, const float *b, size_t ldb,
                      int m, int n, int k, int i0, int j0)
{
    const float *ar[DOT_ROWS], *br[DOT_COLS];
    for (int i = 0; i < DOT_ROWS; i++)
        ar[i] = a + (size_t)(i0 + i < m ? i0 + i : m - 1) * lda;
    for (int j = 0; j < DOT_COLS; j++)
        br[j] = b + (size_t)(j0 + j < n ? j0 + j : n - 1) * ldb;
    ptvec acc[DOT_ROWS][DOT_COLS];
#pragma GCC unroll 32
    for (int i = 0; i < DOT_ROWS; i++)
#pragma GCC unroll 8
        for (int j = 0; j < DOT_COLS; j++)
            acc[i][j] = ptvec_set1(0.0f);
    int p = 0;
    for (; p + VL <= k; p += VL) {
        ptvec av[DOT_ROWS];
#pragma GCC unroll 32
        for (int i = 0; i < DOT_ROWS; i++)
            av[i] = ptvec_load(ar[i] + p);
#pragma GCC unroll 8
        for (int j = 0; j < DOT_COLS; j++) {
            const ptvec bv = ptvec_load(br[j] + p);
#pragma GCC unroll 32
            for (int i = 0; i < DOT_ROWS; i++)
                acc[i][j] = ptvec_fma(av[i], bv, acc[i][j]);
        }
    }
    if (p < k) {
        ptvec av[DOT_ROWS];
#pragma GCC unroll 32
        for (int i = 0; i < DOT_ROWS; i++)
            av[i] = vload_part(ar[i] + p, k - p);
#pragma GCC unroll 8
        for (int j = 0; j < DOT_COLS; j++) {
            const ptvec bv = vload_part(br[j] + p, k - p);
#pragma GCC unroll 32
            for (int i = 0; i < DOT_ROWS; i++)
                acc[i][j] = ptvec_fma(av[i], bv, acc[i][j]);
        }
    }
    for (int i = 0; i < DOT_ROWS && i0 + i < m; i++) {
        float *ci = c + (size_t)(i0 + i) * ldc + j0;
        const f4 sums = vsum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
        if (j0 + 4 <= n) {
            f4 old;
            memcpy(&old, ci, sizeof old);
            old += sums;
            memcpy(ci, &old, sizeof old);
        } else {
            for (int j = 0; j < n - j0; j++)
                ci[j] += sums[j];
        }
    }
}

static void acc_bt(float *c, size_t ldc, const float *a, size_t lda, const float *b, size_t ldb,
                   int m, int n, int k)
{
    if (m <= 0 || n <= 0 || k <= 0)
        return;
    for (int i0 = 0; i0 < m; i0 += DOT_ROWS)
        for (int j0 = 0; j0 < n; j0 += DOT_COLS)
            dot_block(c, ldc, a, lda, b, ldb, m, n, k, i0, j0);
}

const pt_wg_gemm_kernels PT_KERNELS(pt_wg_gemm_kernels) = {mul, acc_bt, MUL_ROWS};
