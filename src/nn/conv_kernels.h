/* The direct convolution's loops (conv.c: single-channel, stride-1 layers such as the first layer
 * on gray films), one table per instruction set (kernels.h).
 *
 * Forward: each output is its bias plus the taps' products added in (r, s) order, whatever the
 * vector width. Weight gradient: each tap's products over whole blocks of sixteen columns go to
 * sixteen float partial sums (lane = column % 16), added in lane order into the tap's double sum
 * at the end of the call; the columns after the last whole block go straight into the double sum.
 * Both are the same on every path. */
#ifndef PTRAIN_CONV_KERNELS_H
#define PTRAIN_CONV_KERNELS_H

#include "kernels.h"

/* Taps of the largest kernel the direct path takes. */
#define PT_CONV_DIRECT_MAX_TAPS 64

typedef struct pt_conv_kernels {
    /* out (K,P,Q) of one image from its zero-padded plane xp (rows Wp floats apart), R x S taps;
     * bias may be NULL */
    void (*direct_forward)(float *out, const float *xp, const float *weight, const float *bias,
                           int K, int P, int Q, int Wp, int R, int S);
    /* sums[r*S+s] += sum over `rows` rows p and columns q < Q of g[p*Q+q] * x0[(p+r)*Wp+q+s] */
    void (*direct_weight_rows)(double *sums, const float *g, const float *x0, int Wp, int R, int S,
                               int Q, int rows);
} pt_conv_kernels;

PT_KERNELS_DECLARE(pt_conv_kernels, pt_conv_kernels);

#endif
