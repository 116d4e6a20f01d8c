/* The Winograd convolution's own small GEMMs (wg_gemm.c), one table per instruction set
 * (kernels.h). Row-major; B and C are never packed (their rows are long runs of tiles), only the
 * small matrix A, on the stack (at most PT_WG_GEMM_MAX_PACK floats).
 *
 * Rounding: every output is a fixed sequence of operations whatever the blocking, so the results
 * are deterministic on a path and independent of how the caller splits the work.
 *   mul:    c[i][j] = fma(a(i,k-1), b[k-1][j], ... fma(a(i,1), b[1][j], a(i,0) * b[0][j]))
 *           one fused multiply-add per term on AVX2 and AVX-512 (the same bits on both); a
 *           multiply then an add on the baseline.
 *   acc_bt: the k terms of c[i][j] are summed in VL lanes (term p in lane p % VL, fused on AVX2
 *           and AVX-512), then the lanes are added in a fixed tree (vsum4) and the sum added to
 * c[i][j]. VL = 16 on AVX-512, 8 on AVX2, 4 on the baseline: the paths differ in rounding. Neither
 * rounds like OpenBLAS; the tests bound the difference against double references. */
#ifndef PTRAIN_WG_GEMM_H
#define PTRAIN_WG_GEMM_H

#include <stddef.h>

#include "kernels.h"

/* The largest rounded-up m * k that mul packs (on the stack, 64 KiB). */
#define PT_WG_GEMM_MAX_PACK 16384

typedef struct pt_wg_gemm_kernels {
    /* c (m x n, row stride ldc) = op(a) (m x k) b (k x n, row stride ldb), where op(a)(i, p) is
     * a[i * lda + p] or, with trans_a, a[p * lda + i]. c is overwritten (never read).
     * Only where pt_wg_gemm_mul_fits(m, k). */
    void (*mul)(float *c, size_t ldc, const float *a, size_t lda, int trans_a, const float *b,
                size_t ldb, int m, int n, int k);
    /* c (m x n, row stride ldc) += a (m x k, row stride lda) b^T, b (n x k, row stride ldb) */
    void (*acc_bt)(float *c, size_t ldc, const float *a, size_t lda, const float *b, size_t ldb,
                   int m, int n, int k);
    int mul_rows; /* rows of c per block of mul (A is packed in blocks of this many rows) */
} pt_wg_gemm_kernels;

PT_KERNELS_DECLARE(pt_wg_gemm_kernels, pt_wg_gemm_kernels);

/* Whether g's mul can take an m x k op(a): its packed copy fits PT_WG_GEMM_MAX_PACK. */
static inline int pt_wg_gemm_mul_fits(const pt_wg_gemm_kernels *g, int m, int k)
{
    const size_t rows = ((size_t)m + (size_t)g->mul_rows - 1) / (size_t)g->mul_rows;
    return m >= 0 && k >= 0 && rows * (size_t)g->mul_rows * (size_t)k <= PT_WG_GEMM_MAX_PACK;
}

#endif
