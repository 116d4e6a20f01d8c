/* The convolution's own loops (conv.c), one table per instruction set (kernels.h): the direct
 * convolution (single-channel, stride-1 layers such as the first layer on gray films), and im2col
 * and col2im for the GEMM path (copies and additions: the same bits on every path).
 *
 * Forward: each output is its bias plus the taps' products added in (r, s) order, whatever the
 * vector width. Weight gradient: the output gradient is laid out with the padded plane's row
 * length (zeros in the extra columns, conv.c), so that every tap is one flat dot product over
 * whole blocks of sixteen; element f goes to float partial sum f % 16, and the sixteen are added
 * in lane order into the tap's double sum at the end of the call. Both are the same on every
 * path. */
#ifndef PTRAIN_CONV_KERNELS_H
#define PTRAIN_CONV_KERNELS_H

#include "conv.h"
#include "kernels.h"

/* Taps of the largest kernel the direct path takes. */
#define PT_CONV_DIRECT_MAX_TAPS 64

typedef struct pt_conv_kernels {
    /* out (K,P,Q) of one image from its zero-padded plane xp (rows Wp floats apart), R x S taps;
     * bias may be NULL; xp readable 16 floats past the plane's end (the last block of a row reads
     * past it, its extra lanes dropped) */
    void (*direct_forward)(float *out, const float *xp, const float *weight, const float *bias,
                           int K, int P, int Q, int Wp, int R, int S);
    /* sums[r*S+s] += sum over f < n of g[f] * x0[r*Wp + s + f]; n a multiple of 16, and x0
     * readable up to (R-1)*Wp + S-1 + n */
    void (*direct_weight)(double *sums, const float *g, const float *x0, int Wp, int R, int S,
                          int n);
    /* im2col: col (CRS, nb*PQ) from in (nb,C,H,W), the padding as zeros */
    void (*im2col)(float *col, const float *in, const pt_conv_dims *d, int nb, int P, int Q);
    /* col2im, its adjoint: din (nb,C,H,W) overwritten with every column entry added back to the
     * pixel it came from, padding entries dropped */
    void (*col2im)(float *din, const float *dcol, const pt_conv_dims *d, int nb, int P, int Q);
} pt_conv_kernels;

PT_KERNELS_DECLARE(pt_conv_kernels, pt_conv_kernels);

#endif
