/* Small-map convolution: a 3x3, stride-1, pad-1 convolution on 2x2 maps (ResNet-18's last stage
 * at 64x64 input), where every output position's window covers the whole input map:
 *   out[n, k, p] = bias[k] + sum over c, q of weight[k, c, tap(p, q)] * in[n, c, q]
 * so 4 products per output and channel pair, where im2col multiplies 9, 5 of them by padding. At
 * batch 32 and 512 channels the layer is also bound by reading its weights, which im2col +
 * OpenBLAS reads, packs and reads again; here every weight is broadcast from the tensor in place
 * (smallconv_kernels.h) and every product is one that counts.
 *
 * Same shapes and gradient convention as conv.h: dweight and dbias ACCUMULATE (+=), din is
 * OVERWRITTEN, any may be NULL. No function allocates, prints or keeps state; forward and backward
 * assume dims for which pt_smallconv_supported is true. Rounding differs from im2col + GEMM (one
 * fixed order per output, see smallconv_kernels.h) and between the baseline and the wide paths. */
#ifndef PTRAIN_SMALLCONV_H
#define PTRAIN_SMALLCONV_H

#include <stddef.h>

#include "conv.h"

/* 1 if d is valid for pt_conv_check, 2x2 input, 3x3 kernel, stride 1, pad 1 (so 2x2 output),
 * and both channel counts are multiples of 16. 0 otherwise. */
int pt_smallconv_supported(const pt_conv_dims *d);

/* Floats of workspace forward and backward need for d->n images: 4 * max(C, K) * d->n rounded up
 * to 16 images, and a block of 256. */
size_t pt_smallconv_workspace_size(const pt_conv_dims *d);

/* out = conv(in, weight) + bias, as pt_conv_forward. ws holds at least
 * pt_smallconv_workspace_size(d) floats. in (N,C,H,W), weight (K,C,R,S), bias (K) or NULL,
 * out (N,K,P,Q) overwritten. */
void pt_smallconv_forward(float *out, const float *in, const float *weight, const float *bias,
                          const pt_conv_dims *d, float *ws);

/* Gradients of pt_smallconv_forward, as pt_conv_backward: dweight (K,C,R,S) +=, dbias (K) +=,
 * din (N,C,H,W) =; each may be NULL. ws as for forward. */
void pt_smallconv_backward(float *din, float *dweight, float *dbias, const float *dout,
                           const float *in, const float *weight, const pt_conv_dims *d, float *ws);

#endif
