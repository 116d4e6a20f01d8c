/* 2-D convolution (cross-correlation, as PyTorch's Conv2d), NCHW, float32.
 *
 * Two implementations with the same contract:
 *  - pt_conv_forward / pt_conv_backward: im2col + cblas_sgemm (OpenBLAS) over many images per GEMM,
 *    the one the trainer uses;
 *  - pt_conv_forward_naive / pt_conv_backward_naive: direct loops accumulated in double, slow and
 *    obviously right, the reference the tests compare against.
 *
 * Shapes (P, Q from pt_conv_out_h / pt_conv_out_w):
 *   in     (N,C,H,W)      out    (N,K,P,Q)
 *   weight (K,C,R,S)      bias   (K), or NULL for a convolution without bias
 * The parameter layouts are PyTorch's, so a model can be exported tensor for tensor.
 *
 * Gradient convention (as every ptrain layer): backward ACCUMULATES into parameter gradients
 * (dweight += ..., dbias += ...), so the trainer zeroes the gradient buffer once per step, and
 * OVERWRITES the input gradient din. Any of din, dweight, dbias may be NULL to skip that gradient
 * (din == NULL for the first layer, dbias == NULL without bias).
 *
 * Shapes are validated once, when the network is built, by pt_conv_check; forward and backward
 * then assume valid dims and do not fail. No function allocates, prints or keeps state. */
#ifndef PTRAIN_CONV_H
#define PTRAIN_CONV_H

#include <stddef.h>

#include "ptrain/common.h"

typedef struct pt_conv_dims {
    int n;      /* images in the (local) batch; 0 is allowed and does nothing */
    int c;      /* input channels */
    int h, w;   /* input height, width */
    int k;      /* output channels (filters) */
    int r, s;   /* kernel height, width */
    int stride; /* the same vertically and horizontally */
    int pad;    /* zero padding, the same on all four sides */
} pt_conv_dims;

/* What a forward does to each output channel as it writes it, after the bias: out = out * scale[k]
 * + shift[k], then max(0, out) if relu, computed by the batch norm's own kernel
 * (batchnorm_kernels.h) on the freshly written rows. net.c hands an eval-mode batch norm (and the
 * ReLU fused into it) to the convolution before it this way: the same bits as the two layers one
 * after the other, without a pass over the whole batch's activations (out of cache by then).
 * NULL everywhere means none. */
typedef struct pt_conv_epilogue {
    const float *scale, *shift; /* (K) */
    int relu;
} pt_conv_epilogue;

/* ep in place on channels [k0, k0 + planes): channel k0 + j's hw floats at out + j * stride. */
void pt_conv_epilogue_planes(const pt_conv_epilogue *ep, int k0, int planes, float *out, size_t hw,
                             size_t stride);

/* ep in place on what a chunk of Winograd strips wrote to out (N,K,P,Q): strips [g0, g0 + rows) of
 * the batch's N * tiles_h, strip g being output rows [tile * th, tile * th + tile) of image
 * g / tiles_h (th = g % tiles_h), clipped to P. One call per image: its rows of every channel. */
void pt_conv_epilogue_strips(const pt_conv_epilogue *ep, float *out, int K, int P, int Q, int tile,
                             int tiles_h, int g0, int rows);

/* Output height P = (H + 2*pad - R) / stride + 1 and width Q likewise (floor, as PyTorch). */
int pt_conv_out_h(const pt_conv_dims *d);
int pt_conv_out_w(const pt_conv_dims *d);

/* PT_OK if d describes a convolution the functions below can run: positive sizes, stride >= 1,
 * pad >= 0, a kernel that fits the padded input, and every matrix dimension within BLAS's int.
 * Otherwise PT_ERR_INVALID with a message naming the offending dimension. */
int pt_conv_check(const pt_conv_dims *d, pt_error *err);

/* Floats of workspace pt_conv_forward / pt_conv_backward need to process images_per_gemm images
 * in one GEMM: images_per_gemm * (C*R*S + K) * P*Q (an im2col matrix and a GEMM result).
 * One workspace can be shared by all layers: size it for the largest. */
size_t pt_conv_workspace_size(const pt_conv_dims *d, int images_per_gemm);

/* out = conv(in, weight) + bias.
 * ws holds ws_floats floats, at least pt_conv_workspace_size(d, 1); the batch is processed in
 * chunks of as many images as fit (the whole local batch in one GEMM if ws is sized for d->n).
 * The result does not depend on the chunking except through float summation order inside GEMM.
 * in is (N,C,H,W), weight (K,C,R,S), bias (K) or NULL, out (N,K,P,Q) overwritten. */
void pt_conv_forward(float *out, const float *in, const float *weight, const float *bias,
                     const pt_conv_dims *d, float *ws, size_t ws_floats);

/* Gradients of pt_conv_forward. The im2col matrix is rebuilt from in rather than kept from the
 * forward pass: that costs a copy but no memory per layer.
 * dout is (N,K,P,Q), in (N,C,H,W) the forward input, weight (K,C,R,S).
 * dweight (K,C,R,S) += ; dbias (K) += ; din (N,C,H,W) = (overwritten). Each may be NULL.
 * ws as for pt_conv_forward; chunking changes only the order of the sum over images in dweight. */
void pt_conv_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                      const float *weight, const pt_conv_dims *d, float *ws, size_t ws_floats);

/* 1 if d has one input channel, stride 1 and at most 64 taps: forward and dweight then run as
 * direct loops (faster than a GEMM with an inner dimension of R*S; no im2col), din still through
 * im2col. */
int pt_conv_direct(const pt_conv_dims *d);

/* As pt_conv_forward / pt_conv_backward, and adds the seconds spent inside cblas_sgemm to
 * *gemm_seconds (the rest of a call is im2col, col2im and layout copies): for profiles. The forward
 * applies ep (may be NULL) to its output. */
void pt_conv_forward_timed(float *out, const float *in, const float *weight, const float *bias,
                           const pt_conv_dims *d, float *ws, size_t ws_floats,
                           const pt_conv_epilogue *ep, double *gemm_seconds);
void pt_conv_backward_timed(float *din, float *dweight, float *dbias, const float *dout,
                            const float *in, const float *weight, const pt_conv_dims *d, float *ws,
                            size_t ws_floats, double *gemm_seconds);

/* Reference direct convolution, same shapes and conventions, no workspace. */
void pt_conv_forward_naive(float *out, const float *in, const float *weight, const float *bias,
                           const pt_conv_dims *d);
void pt_conv_backward_naive(float *din, float *dweight, float *dbias, const float *dout,
                            const float *in, const float *weight, const pt_conv_dims *d);

/* dbias (K) += the bias gradient of dout (N,K,PQ): per channel, in double over the whole batch.
 * Shared by the GEMM, direct and Winograd paths. */
void pt_conv_bias_backward(float *dbias, const float *dout, int N, int K, size_t pq);
/* The same for channels [k0, k1) only (dbias[k0..k1-1] +=; the others untouched). */
void pt_conv_bias_backward_channels(float *dbias, const float *dout, int N, int K, size_t pq,
                                    int k0, int k1);

#endif
