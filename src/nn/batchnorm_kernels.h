/* Batch norm's inner loops over one run of a channel's values (batchnorm.c), one table per
 * instruction set (kernels.h). Sums are in double with eight partial sums, lane k taking the
 * values j with j % 8 == k of the whole blocks of eight, the tail going to lane 0, the lanes
 * added in order at the end: the same on every path. */
#ifndef PTRAIN_BATCHNORM_KERNELS_H
#define PTRAIN_BATCHNORM_KERNELS_H

#include <stddef.h>

#include "kernels.h"

typedef struct pt_bn_kernels {
    /* *s += sum of x[j], *ss += sum of x[j]^2, over n floats */
    void (*sums)(double *s, double *ss, const float *x, int n);
    /* o[j] = x[j] * scale + shift, then max(0, .) when relu */
    void (*scale_shift)(float *o, const float *x, int n, float scale, float shift, int relu);
    /* scale_shift in place on `planes` runs of hw floats, stride apart, run c with scale[c] and
     * shift[c]: the same bits as scale_shift on each (a convolution's epilogue, conv.h) */
    void (*scale_shift_planes)(float *o, int planes, size_t hw, size_t stride, const float *scale,
                               const float *shift, int relu);
    /* *sdy += sum of g[j], *sdyx += sum of g[j] * xhat[j], xhat = (x - mean) * rstd, where
     * g = dy, or with y (the output of a ReLU fused after the batch norm, else NULL)
     * g[j] = y[j] > 0 ? dy[j] : 0, exactly what the ReLU's own backward would have written */
    void (*backward_sums)(double *sdy, double *sdyx, const float *dy, const float *y,
                          const float *x, float mean, float rstd, int n);
    /* dx[j] = k * (g[j] - mdy - xhat[j] * mdyx), g as above */
    void (*backward_apply)(float *dx, const float *dy, const float *y, const float *x, int n,
                           float mean, float rstd, float k, float mdy, float mdyx);
} pt_bn_kernels;

PT_KERNELS_DECLARE(pt_bn_kernels, pt_bn_kernels);

#endif
