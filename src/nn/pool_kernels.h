/* 2x2 stride-2 max pooling of one plane (pool.c), one table per instruction set (kernels.h).
 * Pure comparisons and selects: every path gives the same outputs and the same argmax (the first
 * maximum in window order, a NaN winning over numbers, the first NaN among NaNs), forward and
 * backward. */
#ifndef PTRAIN_POOL_KERNELS_H
#define PTRAIN_POOL_KERNELS_H

#include <stdint.h>

#include "kernels.h"

typedef struct pt_pool_kernels {
    /* out (P,Q) and argmax (P,Q, index into the plane; may be NULL) of the plane x, W wide;
     * fuse_relu: the ReLU on every input first, argmax -1 where it left the output at 0 or NaN
     * (pool.h) */
    void (*maxpool_2x2)(float *out, int32_t *argmax, const float *x, int W, int P, int Q,
                        int fuse_relu);
    /* din (H,W) of one plane, overwritten, from dout and argmax (P,Q) */
    void (*maxpool_2x2_backward)(float *din, const float *dout, const int32_t *argmax, int H, int W,
                                 int P, int Q);
    /* any window, stride and padding (pool.h's rules): out and argmax (P,Q, may be NULL) of the
     * plane x (H,W) */
    void (*maxpool_general)(float *out, int32_t *argmax, const float *x, int H, int W, int P, int Q,
                            int kernel, int stride, int pad);
} pt_pool_kernels;

PT_KERNELS_DECLARE(pt_pool_kernels, pt_pool_kernels);

#endif
