/* The small-map convolution's register blocks (smallconv.c), one table per instruction set
 * (kernels.h). The shape is fixed: 3x3 kernel, stride 1, pad 1, on 2x2 maps, so output position
 * p (= 2*py + px) reads input position q through tap PT_SC_TAP(p, q) of the 9, a constant the
 * compiler folds into the address of every weight it broadcasts: the weights are read in place
 * (K,C,3,3), never packed. The channel counts are multiples of 16 (pt_smallconv_supported).
 *
 * Rounding: every output is one sum in a fixed order (fwd, din: over j then l; dw: over n, then
 * p, then q), one fused multiply-add per term on AVX2 and AVX-512 (the same bits on both), a
 * multiply then an add on the baseline. */
#ifndef PTRAIN_SMALLCONV_KERNELS_H
#define PTRAIN_SMALLCONV_KERNELS_H

#include <stddef.h>

#include "kernels.h"

#define PT_SC_TAP(p, q) (((q) / 2 - (p) / 2 + 1) * 3 + ((q) % 2 - (p) % 2 + 1))

typedef struct pt_smallconv_kernels {
    /* out[(o*4 + p)*lanes + v] = sum over c < C, q < 4 of
     *   weight[((k0 + o)*C + c)*9 + TAP(p, q)] * xt[(c*4 + q)*stride + v]
     * for o < rows: a block of output channels, v the lanes (images). out is overwritten. */
    void (*fwd)(float *restrict out, const float *restrict weight, int C, int k0,
                const float *restrict xt, size_t stride);
    /* out[(o*4 + q)*lanes + v] = sum over k < K, p < 4 of
     *   weight[(k*C + c0 + o)*9 + TAP(p, q)] * dyt[(k*4 + p)*stride + v]
     * for o < rows: a block of input channels. out is overwritten. */
    void (*din)(float *restrict out, const float *restrict weight, int C, int K, int c0,
                const float *restrict dyt, size_t stride);
    /* dweight[(k*C + c0 + v)*9 + t] += sum over n < N, then p, q with TAP(p, q) = t, of
     *   dout[(n*K + k)*4 + p] * xq[(n*4 + q)*C + c0 + v]
     * for v < lanes and dw_k output channels k.. (K is a multiple of dw_k). */
    void (*dw)(float *restrict dweight, const float *restrict dout, const float *restrict xq, int C,
               int K, int k, int c0, int N);
    int lanes; /* floats per vector: 16, 8 or 4 */
    int rows;  /* channels per fwd / din block */
    int dw_k;  /* output channels per dw call: 1 or 2 */
} pt_smallconv_kernels;

PT_KERNELS_DECLARE(pt_smallconv_kernels, pt_smallconv_kernels);

#endif
