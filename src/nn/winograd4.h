/* Winograd F(4x4,3x3) convolution for 3x3, stride-1 convolutions with padding 0 or 1, NCHW,
 * float32: the contract of winograd.h (F(2x2,3x3)), with 4x4 output tiles.
 *
 * Each 4x4 block of outputs is computed from the 6x6 input patch under it:
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * summed over input channels: for a chunk of tiles, 36 GEMMs (K x C) * (C x T). 36 products per
 * 16 outputs against F(2x2)'s 16 per 4 (1.78x fewer GEMM flops), and the input expands 2.25x
 * instead of 4x in the transformed data. The price is rounding: the transforms' coefficients
 * (up to 8 and 1/24) make the error about 10x F(2x2)'s (tests/unit/test_winograd4.c states it).
 * Output sizes not a multiple of 4 use partial tiles (input outside the image is zero, the extra
 * outputs are dropped).
 *
 * Supported layers: exactly pt_winograd_supported's (winograd.h). Shapes, the gradient
 * convention (dweight and dbias ACCUMULATED, din OVERWRITTEN, any may be NULL), chunking and
 * determinism as winograd.h. No function allocates, prints or keeps state. */
#ifndef PTRAIN_WINOGRAD4_H
#define PTRAIN_WINOGRAD4_H

#include <stddef.h>

#include "conv.h"

/* Floats of workspace needed to process images_per_chunk images in one chunk:
 *   about 72*K*C                                 transformed filters and their gradient
 *   + O((C + 1) * W) floats of scratch
 *   + images_per_chunk * tilesH*tilesW * 36*(C + K)   transformed inputs and outputs
 * with tilesH = ceil(P/4), tilesW = ceil(Q/4). pt_winograd4_workspace_size(d, 1) is the minimum;
 * chunks are capped (see winograd4.c), so size a shared workspace with
 * pt_winograd4_workspace_size(d, pt_winograd4_useful_images(d)). */
size_t pt_winograd4_workspace_size(const pt_conv_dims *d, int images_per_chunk);

/* Images per chunk beyond which a larger workspace brings nothing: at least 1, at most d->n. */
int pt_winograd4_useful_images(const pt_conv_dims *d);

/* out = conv(in, weight) + bias, as pt_winograd_forward. ws holds ws_floats floats, at least
 * pt_winograd4_workspace_size(d, 1). */
void pt_winograd4_forward(float *out, const float *in, const float *weight, const float *bias,
                          const pt_conv_dims *d, float *ws, size_t ws_floats);

/* Gradients of pt_winograd4_forward, as pt_winograd_backward: dweight (K,C,3,3) += ;
 * dbias (K) += (summed in double per channel); din (N,C,H,W) = . Each may be NULL. */
void pt_winograd4_backward(float *din, float *dweight, float *dbias, const float *dout,
                           const float *in, const float *weight, const pt_conv_dims *d, float *ws,
                           size_t ws_floats);

#endif
