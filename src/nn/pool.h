/* Pooling, NCHW, float32: max pooling and global average pooling.
 *
 * Max pooling follows PyTorch's MaxPool2d (ceil_mode off, dilation 1): the padding counts as
 * -infinity, never as a candidate; among equal values the first in the window (row-major) wins;
 * NaN wins over numbers. The forward pass records, for every output, the index in its input plane
 * (ih * W + iw, as PyTorch's return_indices) of the value chosen, in a caller-provided int32
 * buffer; backward routes each output gradient to that pixel.
 *
 * Gradients: din is OVERWRITTEN (pooling has no parameters). */
#ifndef PTRAIN_POOL_H
#define PTRAIN_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

typedef struct pt_pool_dims {
    int n, c;                /* images, channels */
    int h, w;                /* input height, width */
    int kernel, stride, pad; /* square window, the same in both directions */
    /* 1: a ReLU applied to every input first, fused from the ReLU layer before the pool (2x2
     * stride 2 without padding only: pt_maxpool_can_fuse_relu). The outputs and the gradients are
     * bit for bit those of the ReLU followed by the pool; the input stays as it was. An output the
     * ReLU left at 0 (or NaN) gets argmax -1: its gradient reaches no pixel, as the ReLU's
     * backward would zero it. */
    int relu;
} pt_pool_dims;

/* Output height P = (H + 2*pad - kernel) / stride + 1 and width Q likewise. */
int pt_maxpool_out_h(const pt_pool_dims *d);
int pt_maxpool_out_w(const pt_pool_dims *d);

/* PT_OK if d is valid: positive sizes, stride >= 1, 0 <= pad <= kernel/2 (PyTorch's rule, which
 * guarantees every window holds at least one real pixel), output at least 1x1, planes within int32
 * indices. Otherwise PT_ERR_INVALID with a message. */
int pt_maxpool_check(const pt_pool_dims *d, pt_error *err);

/* 1 if a ReLU before a pool of these dimensions can be fused into it (d->relu). */
int pt_maxpool_can_fuse_relu(const pt_pool_dims *d);

/* in is (N,C,H,W), out (N,C,P,Q) overwritten, argmax (N,C,P,Q) overwritten with indices into the
 * input plane; argmax may be NULL when no backward follows (evaluation). */
void pt_maxpool_forward(float *out, int32_t *argmax, const float *in, const pt_pool_dims *d);

/* dout, argmax are (N,C,P,Q); din (N,C,H,W) overwritten. Overlapping windows (stride < kernel)
 * that chose the same pixel add their gradients; an argmax of -1 (d->relu) sends none. */
void pt_maxpool_backward(float *din, const float *dout, const int32_t *argmax,
                         const pt_pool_dims *d);

/* Global average pooling: in (N,C,HW) -> out (N,C), the mean over each plane, overwritten. */
void pt_global_avgpool_forward(float *out, const float *in, int N, int C, int HW);

/* dout (N,C) -> din (N,C,HW) = dout / HW, overwritten. */
void pt_global_avgpool_backward(float *din, const float *dout, int N, int C, int HW);

#endif
