/* Max pooling and global average pooling. */
#include "pool.h"
#include "pool_kernels.h"
#include "reduce_kernels.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <string.h>

int pt_maxpool_out_h(const pt_pool_dims *d)
{
    return (d->h + 2 * d->pad - d->kernel) / d->stride + 1;
}

int pt_maxpool_out_w(const pt_pool_dims *d)
{
    return (d->w + 2 * d->pad - d->kernel) / d->stride + 1;
}

int pt_maxpool_check(const pt_pool_dims *d, pt_error *err)
{
    if (d->n < 0 || d->c < 1 || d->h < 1 || d->w < 1 || d->kernel < 1 || d->stride < 1)
        return pt_error_set(err, PT_ERR_INVALID,
                            "maxpool: bad shape n=%d c=%d h=%d w=%d kernel=%d stride=%d", d->n,
                            d->c, d->h, d->w, d->kernel, d->stride);
    if (d->pad < 0 || d->pad > d->kernel / 2)
        return pt_error_set(err, PT_ERR_INVALID,
                            "maxpool: padding %d must be between 0 and half the kernel (%d)",
                            d->pad, d->kernel);
    if (d->h + 2 * d->pad < d->kernel || d->w + 2 * d->pad < d->kernel)
        return pt_error_set(err, PT_ERR_INVALID,
                            "maxpool: kernel %d larger than padded input %dx%d", d->kernel,
                            d->h + 2 * d->pad, d->w + 2 * d->pad);
    if ((size_t)d->h * d->w > INT32_MAX)
        return pt_error_set(err, PT_ERR_INVALID, "maxpool: %dx%d plane too large for int32 indices",
                            d->h, d->w);
    return PT_OK;
}

static int is_2x2(const pt_pool_dims *d)
{
    return d->kernel == 2 && d->stride == 2 && d->pad == 0;
}

int pt_maxpool_can_fuse_relu(const pt_pool_dims *d)
{
    return is_2x2(d);
}

void pt_maxpool_forward(float *out, int32_t *argmax, const float *in, const pt_pool_dims *d)
{
    const int H = d->h, W = d->w, P = pt_maxpool_out_h(d), Q = pt_maxpool_out_w(d);
    const int kernel = d->kernel, stride = d->stride, pad = d->pad;
    const size_t planes = (size_t)d->n * d->c, hw = (size_t)H * W, pq = (size_t)P * Q;
    if (is_2x2(d)) {
        const pt_pool_kernels *kern = PT_KERNELS_ACTIVE(pt_pool_kernels);
        for (size_t pl = 0; pl < planes; pl++)
            kern->maxpool_2x2(out + pl * pq, argmax ? argmax + pl * pq : NULL, in + pl * hw, W, P,
                              Q, d->relu);
        return;
    }
    assert(!d->relu); /* fused only into the 2x2 kernel (pt_maxpool_can_fuse_relu) */
    const pt_pool_kernels *kern = PT_KERNELS_ACTIVE(pt_pool_kernels);
    for (size_t pl = 0; pl < planes; pl++)
        kern->maxpool_general(out + pl * pq, argmax ? argmax + pl * pq : NULL, in + pl * hw, H, W,
                              P, Q, kernel, stride, pad);
}

void pt_maxpool_backward(float *din, const float *dout, const int32_t *argmax,
                         const pt_pool_dims *d)
{
    if (is_2x2(d)) {
        const pt_pool_kernels *kern = PT_KERNELS_ACTIVE(pt_pool_kernels);
        const int P = pt_maxpool_out_h(d), Q = pt_maxpool_out_w(d);
        const size_t hw = (size_t)d->h * d->w, pq = (size_t)P * Q;
        for (size_t pl = 0; pl < (size_t)d->n * d->c; pl++)
            kern->maxpool_2x2_backward(din + pl * hw, dout + pl * pq, argmax + pl * pq, d->h, d->w,
                                       P, Q);
        return;
    }
    const size_t planes = (size_t)d->n * d->c, hw = (size_t)d->h * d->w;
    const size_t pq = (size_t)pt_maxpool_out_h(d) * pt_maxpool_out_w(d);
    memset(din, 0, planes * hw * sizeof(float));
    for (size_t pl = 0; pl < planes; pl++) {
        float *g = din + pl * hw;
        for (size_t j = 0; j < pq; j++)
            if (argmax[pl * pq + j] >= 0)
                g[argmax[pl * pq + j]] += dout[pl * pq + j];
    }
}

void pt_global_avgpool_forward(float *out, const float *in, int N, int C, int HW)
{
    const pt_reduce_kernels *kern = PT_KERNELS_ACTIVE(pt_reduce_kernels);
    const size_t planes = (size_t)N * C;
    for (size_t pl = 0; pl < planes; pl++) {
        double acc = 0.0;
        kern->sum(&acc, in + pl * HW, HW);
        out[pl] = (float)(acc / HW);
    }
}

void pt_global_avgpool_backward(float *din, const float *dout, int N, int C, int HW)
{
    const size_t planes = (size_t)N * C;
    for (size_t pl = 0; pl < planes; pl++) {
        const float g = dout[pl] / (float)HW;
        float *dx = din + pl * HW;
        for (int j = 0; j < HW; j++)
            dx[j] = g;
    }
}
