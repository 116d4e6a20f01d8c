/* Winograd F(2x2,3x3) convolution for 3x3, stride-1 convolutions with padding 0 or 1, NCHW,
 * float32: the same contract as pt_conv_forward / pt_conv_backward (conv.h), fewer multiplies.
 *
 * Each 2x2 block of outputs ("tile") is computed from the 4x4 input patch under it:
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * summed over input channels, which for a whole chunk of tiles is 16 GEMMs (one per element of
 * the 4x4 transformed tile), (K x C) * (C x T), done by OpenBLAS. 16 products per 4 outputs
 * against 36 for the direct convolution: 2.25x fewer multiplies, plus the transforms.
 * Odd output sizes use partial tiles at the bottom and right edges (input outside the image is
 * zero, the extra outputs are dropped).
 *
 * The backward pass is the exact adjoint of this forward pass (dweight through the filter
 * transform, din through the input transform), so in exact arithmetic both equal the direct
 * convolution's gradients; in float the results differ from the direct convolution by rounding
 * of the same order as im2col+GEMM's (tests/unit/test_winograd.c bounds it).
 *
 * When it pays (tests/bench/conv_bench, 1 OpenBLAS thread, this project's 2-core AMD EPYC):
 * against pt_conv_*, forward 1.8-2.4x and backward 1.5-1.7x faster on the fmnist and cxr layers
 * (C = 16..64, K = 32..128, 14x14 to 64x64), about 2x on ResNet-18's 56x56..14x14 layers, only
 * ~1.15x on 7x7 512->512; for C = 3 the forward gains 1.8x, the backward 1.15x. For C = 1 it is
 * NOT worth it (forward equal, backward 2x slower: GEMMs with an inner dimension of 1). With 2
 * OpenBLAS threads the gain shrinks to 1.0-1.6x (the transforms run on one thread).
 *
 * Shapes as conv.h: in (N,C,H,W), weight (K,C,3,3) (PyTorch layout), bias (K) or NULL,
 * out (N,K,P,Q) with P = H + 2*pad - 2, Q = W + 2*pad - 2.
 * Gradient convention as conv.h: dweight and dbias are ACCUMULATED into (+=), din is OVERWRITTEN;
 * any of them may be NULL. No function allocates, prints or keeps state; forward and backward
 * assume dims for which pt_winograd_supported is true and do not fail. */
#ifndef PTRAIN_WINOGRAD_H
#define PTRAIN_WINOGRAD_H

#include <stddef.h>

#include "conv.h"

/* 1 if d is a convolution these functions run: valid for pt_conv_check, kernel 3x3, stride 1,
 * pad 0 or 1. 0 otherwise (5x5, stride 2, pad 2, ...: use pt_conv_*). */
int pt_winograd_supported(const pt_conv_dims *d);

/* Floats of workspace needed to process images_per_chunk images in one chunk:
 *   about 32*K*C                                 transformed filters and their gradient
 *   + O((C + 1) * W) floats of scratch
 *   + images_per_chunk * tilesH*tilesW * 16*(C + K)   transformed inputs and outputs
 * with tilesH = ceil(P/2), tilesW = ceil(Q/2). pt_winograd_workspace_size(d, 1) is the minimum.
 * Chunks are also capped at about 512 tiles (the size at which OpenBLAS runs these GEMMs
 * fastest), so a workspace larger than pt_winograd_workspace_size(d, pt_winograd_useful_images(d))
 * is never used: size a shared workspace with that rather than with the whole batch. */
size_t pt_winograd_workspace_size(const pt_conv_dims *d, int images_per_chunk);

/* Images per chunk beyond which a larger workspace brings nothing: at least 1, at most d->n (1 for
 * an empty batch). */
int pt_winograd_useful_images(const pt_conv_dims *d);

/* out = conv(in, weight) + bias, as pt_conv_forward.
 * ws holds ws_floats floats, at least pt_winograd_workspace_size(d, 1); the batch is processed in
 * chunks of as many rows of tiles as fit (and the cache cap allows). The result does not depend
 * on the chunking except through float summation order inside GEMM.
 * in (N,C,H,W), weight (K,C,3,3), bias (K) or NULL, out (N,K,P,Q) overwritten; ep (conv.h, may be
 * NULL) applied to each output row as it is written. */
void pt_winograd_forward(float *out, const float *in, const float *weight, const float *bias,
                         const pt_conv_dims *d, float *ws, size_t ws_floats,
                         const pt_conv_epilogue *ep);

/* Gradients of pt_winograd_forward, as pt_conv_backward: the input transform is recomputed from in
 * (nothing is kept from the forward pass).
 * dout (N,K,P,Q), in (N,C,H,W) the forward input, weight (K,C,3,3).
 * dweight (K,C,3,3) += ; dbias (K) += (summed in double per channel); din (N,C,H,W) = .
 * Each may be NULL. ws as for pt_winograd_forward. */
void pt_winograd_backward(float *din, float *dweight, float *dbias, const float *dout,
                          const float *in, const float *weight, const pt_conv_dims *d, float *ws,
                          size_t ws_floats);

#endif
