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
 * When it pays (tests/bench/conv_bench --algo, 1 thread, AVX-512 Xeon, pad 1, medians of 7; ms
 * F(2x2) -> F(4x4), forward and dweight + din):
 *   N  C->K      map     forward              backward
 *   32 64->64    16x16   3.39 ->  2.82 1.20x   8.38 ->  6.54 1.28x   ResNet-18 stage 1 at 64x64
 *   32 64->64    32x32  14.72 -> 11.53 1.28x  30.04 -> 25.96 1.16x
 *   32 128->128  8x8     3.48 ->  2.63 1.33x   7.46 ->  5.68 1.31x   ResNet-18 stage 2
 *   32 128->128  16x16  11.57 ->  7.57 1.53x  24.72 -> 16.95 1.46x
 *   32 256->256  4x4     3.82 ->  3.43 1.11x   7.87 ->  6.86 1.15x   ResNet-18 stage 3
 *   32 256->256  8x8    12.22 ->  8.76 1.39x  24.20 -> 17.20 1.41x
 *   32 512->512  4x4    15.31 -> 19.05 0.80x  30.02 -> 47.36 0.63x
 *   32 512->512  8x8    46.84 -> 41.57 1.13x  96.52 -> 88.50 1.09x
 *   32 16->32    64x64   8.43 ->  8.81 0.96x  21.61 -> 17.32 1.25x   cxr conv2
 *   32 32->64    32x32   7.79 ->  5.35 1.45x  16.01 -> 11.88 1.35x   cxr conv3
 *   32 64->128   16x16   6.23 ->  4.41 1.41x  14.61 ->  9.50 1.54x   cxr conv4
 *   64 32->64    14x14   4.05 ->  2.62 1.54x   8.64 ->  5.96 1.45x   fmnist conv2
 *   16 256->256  4x4     2.13 ->  2.32 0.92x   4.44 ->  4.94 0.90x
 *   16 128->128  8x8     1.71 ->  1.20 1.43x   3.78 ->  2.63 1.43x
 * On a 4x4 output (one tile per image) the 36 transformed filters, read once per chunk of few
 * tiles, cost more than the GEMMs save: there it depends on the batch and the channels (net.c's
 * rule keeps F(2x2) below 8x8).
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

/* out = conv(in, weight) + bias, as pt_winograd_forward (ep likewise). ws holds ws_floats floats,
 * at least pt_winograd4_workspace_size(d, 1). */
void pt_winograd4_forward(float *out, const float *in, const float *weight, const float *bias,
                          const pt_conv_dims *d, float *ws, size_t ws_floats,
                          const pt_conv_epilogue *ep);

/* Gradients of pt_winograd4_forward, as pt_winograd_backward: dweight (K,C,3,3) += ;
 * dbias (K) += (summed in double per channel); din (N,C,H,W) = . Each may be NULL. */
void pt_winograd4_backward(float *din, float *dweight, float *dbias, const float *dout,
                           const float *in, const float *weight, const pt_conv_dims *d, float *ws,
                           size_t ws_floats);

#endif
