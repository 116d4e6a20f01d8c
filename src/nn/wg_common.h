/* What the Winograd convolutions F(2x2,3x3) (winograd.c) and F(4x4,3x3) (winograd4.c) share:
 * the blocked loops over tiles, the strides of the transformed matrices, the chunking of the batch
 * into rows of tiles, and the tile products (the project's AVX-512 kernels, wg_gemm.h, or
 * OpenBLAS). Internal to those two per-ISA sources: it includes simd.h, so PT_ISA_VARIANT is set.
 */
#ifndef PTRAIN_WG_COMMON_H
#define PTRAIN_WG_COMMON_H

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "simd.h"
#include "wg_gemm.h"

/* Tiles (or column pairs) per block in the transform loops: a whole number of vectors (8 lanes on
 * AVX2, 16 on AVX-512, two and four SSE vectors on the baseline). The width changes which
 * instructions run, never a tile's arithmetic. */
#if PT_ISA_VARIANT == 2
#define WG_LANES 16
#else
#define WG_LANES 8
#endif

/* KERNEL(args..., j0, n) over j in [lo, hi): blocks of WG_LANES, then the remainder. */
#define WG_BLOCKS(lo, hi, KERNEL, ...)                                                             \
    do {                                                                                           \
        const int hi_ = (hi);                                                                      \
        int j_ = (lo);                                                                             \
        for (; j_ + WG_LANES <= hi_; j_ += WG_LANES)                                               \
            KERNEL(__VA_ARGS__, j_, WG_LANES);                                                     \
        KERNEL(__VA_ARGS__, j_, hi_ - j_);                                                         \
    } while (0)

#define WG_INLINE static inline __attribute__((always_inline))

/* The stride between the 16 (or 36) matrices of U, V or M: n rounded up to a cache line, and not a
 * multiple of 1 KiB, so that the streams a transform writes at once (one per matrix) do not all
 * fall in the same cache sets. At most n + 31. */
static inline size_t padded(size_t n)
{
    size_t s = (n + 15) & ~(size_t)15;
    return s % 256 == 0 ? s + 16 : s;
}

/* The row stride of V and M for T tiles: T rounded up to 16 floats (64 bytes). */
static inline size_t row_stride(int T)
{
    return ((size_t)T + 15) & ~(size_t)15;
}

/* row[x], or 0 outside [0, W) (padding). */
static inline float at(const float *row, int x, int W)
{
    return x >= 0 && x < W ? row[x] : 0.0f;
}

/* Rows of tiles per chunk under a cache cap of cap_floats floats of V and M and cap_tiles tiles
 * (at least 1), for per_row floats of V and M per row of tiles_w tiles. */
static inline size_t wg_cap_rows(size_t per_row, int tiles_w, size_t cap_floats, size_t cap_tiles)
{
    size_t rows = cap_floats / per_row, by_tiles = cap_tiles / (size_t)tiles_w;
    if (rows > by_tiles)
        rows = by_tiles;
    return rows < 1 ? 1 : rows;
}

/* Images per chunk beyond which a larger workspace brings nothing (cap rows of tiles_h per image):
 * at least 1, at most n. */
static inline int wg_useful_images(size_t cap, int tiles_h, int n)
{
    size_t images = (cap + (size_t)tiles_h - 1) / (size_t)tiles_h;
    if (images > (size_t)n)
        images = (size_t)n;
    return images < 1 ? 1 : (int)images;
}

/* Rows of tiles per chunk: what fits in ws_floats beside the fixed part (at least one image, the
 * documented minimum), at most cap, the whole batch (n images of tiles_h rows), and T = rows *
 * tiles_w within BLAS's int. */
static inline int wg_chunk_rows(size_t fixed, size_t per_row, int tiles_h, int tiles_w, size_t cap,
                                int n, size_t ws_floats)
{
    assert(ws_floats >= fixed + (size_t)tiles_h * per_row);
    size_t rows = (ws_floats - fixed) / per_row, total = (size_t)n * tiles_h;
    if (rows > cap)
        rows = cap;
    if (rows > total)
        rows = total;
    if (rows > (size_t)(INT_MAX - 15) / tiles_w)
        rows = (size_t)(INT_MAX - 15) / tiles_w;
    return rows < 1 ? 1 : (int)rows;
}

/* Which products run on the project's own kernels (wg_gemm.h) and which on OpenBLAS: a fixed rule
 * on the path and the shape (no timing at start-up, so a run is reproducible). Measured on a Xeon
 * (SkylakeX, 1 thread, rows on 64-byte lines as here; GFLOP/s, OpenBLAS 0.3.21 -> ours):
 *   AVX-512 forward  T=512: K=C=16 121 -> 160  K=C=32 116 -> 155  K=64,C=32 94 -> 129
 *                    K=C=64 115 -> 155  K=128,C=64 125 -> 154  K=C=128 135 -> 160  (dV: the same
 *                    within 5%)
 *           dU       T=512: K=C=16 146 -> 109  K=C=32 138 -> 122  K=48,C=32 76 -> 145
 *                    K=64,C=32 85 -> 131  K=C=64 99 -> 134  K=C=128 125 -> 137  K=256,C=128 138 ->
 * 139 K=C=256 146 -> 142;  T=256: K=64,C=32 88 -> 113  K=C=128 124 -> 116; T=128: K=64,C=32 89 ->
 * 88  K=C=64 95 -> 82  K=C=128 120 -> 84 AVX2    forward  T=512: K=C=32 118 -> 91  K=64,C=32 96 ->
 * 94  K=C=64 115 -> 98 dU       T=512: K=C=32 114 -> 78  K=64,C=32 88 -> 96  K=C=64 96 -> 88
 * (OpenBLAS picks its kernel from the CPU, not from our path: under AVX2 on this Xeon it still
 * runs its AVX-512 one, which our 8-lane kernels, at the 8-lane peak, cannot beat.) So: AVX-512
 * mul (forward and dV) wherever A fits its packing buffer; acc_bt (dU) for 2048 <= K*C <= 32768
 * with T >= 256 and T >= K*C / 32 (its lane sums cost a fixed amount per output, which a short T
 * does not pay for; OpenBLAS's small-matrix kernels win below 2048); OpenBLAS everywhere on AVX2
 * and on the baseline. */
static inline int own_mul(const pt_wg_gemm_kernels *gk, int m, int k)
{
#if PT_ISA_VARIANT == 2
    return pt_wg_gemm_mul_fits(gk, m, k);
#else
    (void)gk;
    (void)m;
    (void)k;
    return 0;
#endif
}

static inline int own_acc_bt(int m, int n, int k)
{
#if PT_ISA_VARIANT == 2
    const long mn = (long)m * n;
    return mn >= 2048 && mn <= 32768 && k >= 256 && (long)k >= mn / 32;
#else
    (void)m;
    (void)n;
    (void)k;
    return 0;
#endif
}

/* c (m x n, leading dimension ldc) = op(a) (m x k) * b (k x n), row-major, op(a) = a or a^T.
 * On OpenBLAS: zeroes c and accumulates (beta = 1) rather than asking for beta = 0: OpenBLAS
 * implements beta = 0 as a separate pass over c, one scalar store at a time, which costs these
 * small-k GEMMs about 40% more than the memset. */
static inline void gemm_overwrite(CBLAS_TRANSPOSE ta, int m, int n, int k, const float *a, int lda,
                                  const float *b, int ldb, float *c, int ldc)
{
    const pt_wg_gemm_kernels *gk = &PT_KERNELS(pt_wg_gemm_kernels);
    if (own_mul(gk, m, k)) {
        gk->mul(c, (size_t)ldc, a, (size_t)lda, ta == CblasTrans, b, (size_t)ldb, m, n, k);
        return;
    }
    for (int i = 0; i < m; i++)
        memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof(float));
    cblas_sgemm(CblasRowMajor, ta, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 1.0f, c, ldc);
}

/* c (m x n, leading dimension ldc) += a (m x k) * b^T, b (n x k), row-major. */
static inline void gemm_accumulate_bt(int m, int n, int k, const float *a, int lda, const float *b,
                                      int ldb, float *c, int ldc)
{
    const pt_wg_gemm_kernels *gk = &PT_KERNELS(pt_wg_gemm_kernels);
    if (own_acc_bt(m, n, k)) {
        gk->acc_bt(c, (size_t)ldc, a, (size_t)lda, b, (size_t)ldb, m, n, k);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, b, ldb, 1.0f, c,
                ldc);
}

#endif
