/* The small-map convolution's register blocks (smallconv.c), one table per instruction set
 * (kernels.h). The shape is fixed up to the map's side M (2 or 4; index m = 0 or 1 in the table):
 * 3x3 kernel, stride 1, pad 1 on MxM maps. Output position p = M*py + px reads input position
 * q = M*qy + qx through tap (qy - py + 1)*3 + (qx - px + 1) when both lie in [0, 3): constants the
 * compiler folds into the address of every weight it broadcasts, so the weights are read in place
 * (K,C,3,3), never packed, and only the pairs inside the kernel are multiplied (16 of 36 at
 * M = 2, 100 of 256 at M = 4). The channel counts are multiples of 16 (pt_smallconv_supported).
 *
 * Rounding: every output is one sum in a fixed order (fwd, din: over j, then l, din's sum carried
 * from one call to the next through out; dw: over n, then p, then q, on AVX-512 at M = 4 in two
 * partial sums, even and odd p, added at the end, elsewhere in one), one fused multiply-add per
 * term on AVX2 and AVX-512, a multiply then an add on the baseline. AVX2 and AVX-512 give the
 * same bits except dw at M = 4. */
#ifndef PTRAIN_SMALLCONV_KERNELS_H
#define PTRAIN_SMALLCONV_KERNELS_H

#include <stddef.h>

#include "kernels.h"

typedef struct pt_smallconv_kernels {
    /* With MM = M*M positions, for o < rows[m] (a block of output channels) and v < lanes:
     * out[(o*MM + p)*lanes + v] = sum over c < C, q < MM (pairs inside the kernel) of
     *   weight[((k0 + o)*C + c)*9 + tap(p, q)] * xt[(c*MM + q)*stride + v]. Overwritten. */
    void (*fwd[2])(float *restrict out, const float *restrict weight, int C, int k0,
                   const float *restrict xt, size_t stride);
    /* For o < rows[m] (a block of input channels): out[(o*MM + q)*lanes + v] = (out's value if
     * accumulate, else 0) + the sum over k in [k0, k1), p < MM of
     * weight[(k*C + c0 + o)*9 + tap(p, q)] * dyt[(k*MM + p)*stride + v]. */
    void (*din[2])(float *restrict out, const float *restrict weight, int C, int k0, int k1, int c0,
                   const float *restrict dyt, size_t stride, int accumulate);
    /* For dw_k[m] output channels k.. and v < lanes: dweight[(k*C + c0 + v)*9 + t] += sum over
     * n < N, then p, q with tap(p, q) = t, of dout[(n*K + k)*MM + p] * xq[(n*MM + q)*C + c0 + v].
     */
    void (*dw[2])(float *restrict dweight, const float *restrict dout, const float *restrict xq,
                  int C, int K, int k, int c0, int N);
    /* Stride 2, forward only: as fwd for an MxM output of a 2Mx2M input, q < 4*MM input
     * positions, tap(p, q) = (qy - 2py + 1)*3 + (qx - 2px + 1) where both lie in [0, 3) (121 of
     * 576 pairs at M = 4, 25 of 64 at M = 2). */
    void (*fwd_s2[2])(float *restrict out, const float *restrict weight, int C, int k0,
                      const float *restrict xt, size_t stride);
    int lanes;      /* floats per vector: 16, 8 or 4 */
    int rows[2];    /* channels per fwd / din block */
    int dw_k[2];    /* output channels per dw call: 1 or 2 (K is a multiple of 16) */
    int rows_s2[2]; /* channels per fwd_s2 block */
} pt_smallconv_kernels;

PT_KERNELS_DECLARE(pt_smallconv_kernels, pt_smallconv_kernels);

#endif
