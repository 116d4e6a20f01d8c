/* Small-map convolution: a 3x3, stride-1, pad-1 convolution on 2x2 or 4x4 maps (ResNet-18's last
 * stages), computed pair by pair over positions:
 *   out[n, k, p] = bias[k] + sum over c, q in p's window of weight[k, c, tap(p, q)] * in[n, c, q]
 * so only the products inside the kernel: per channel pair 16 of im2col's 36 on a 2x2 map (every
 * window covers the whole map, the rest is padding) and 100 of 144 on a 4x4. At batch 32 and 512
 * channels such a layer is also bound by reading its weights, which im2col + OpenBLAS reads, packs
 * and reads again; here every weight is broadcast from the tensor in place (smallconv_kernels.h)
 * and every product is one that counts. The forward also takes 3x3 stride-2 pad-1 layers onto
 * 2x2 and 4x4 maps (pt_smallconv_s2_supported: ResNet-18's downsampling into those stages).
 *
 * Same shapes and gradient convention as conv.h: dweight and dbias ACCUMULATE (+=), din is
 * OVERWRITTEN, any may be NULL. No function allocates, prints or keeps state; backward assumes
 * dims for which pt_smallconv_supported is true, forward those or pt_smallconv_s2_supported.
 * Rounding differs from im2col + GEMM (one fixed order per output, see smallconv_kernels.h) and
 * between the baseline and the wide paths. */
#ifndef PTRAIN_SMALLCONV_H
#define PTRAIN_SMALLCONV_H

#include <stddef.h>

#include "conv.h"

/* 1 if d is valid for pt_conv_check, a 2x2 or 4x4 input, 3x3 kernel, stride 1, pad 1 (so the
 * output the same size), and both channel counts are multiples of 16. 0 otherwise. */
int pt_smallconv_supported(const pt_conv_dims *d);

/* 1 if d is valid for pt_conv_check, a 4x4 or 8x8 input, 3x3 kernel, stride 2, pad 1 (so a 2x2 or
 * 4x4 output: ResNet-18's downsampling into its last stages), and both channel counts are multiples
 * of 16. Such a layer has a small-map FORWARD only (pt_smallconv_forward*, 121 of im2col's 144
 * products a channel pair onto 4x4, 25 of 36 onto 2x2); its backward is im2col + GEMM's. */
int pt_smallconv_s2_supported(const pt_conv_dims *d);

/* Floats of workspace forward and backward need for d->n images: H*W * max(C, K) * d->n rounded
 * up to 16 images, and a block of 256 (for a stride-2 layer, what its forward needs). */
size_t pt_smallconv_workspace_size(const pt_conv_dims *d);

/* out = conv(in, weight) + bias, as pt_conv_forward, for dims with pt_smallconv_supported or
 * pt_smallconv_s2_supported. ws holds at least
 * pt_smallconv_workspace_size(d) floats. in (N,C,H,W), weight (K,C,R,S), bias (K) or NULL,
 * out (N,K,P,Q) overwritten. */
void pt_smallconv_forward(float *out, const float *in, const float *weight, const float *bias,
                          const pt_conv_dims *d, float *ws);

/* As pt_smallconv_forward for output channels [k0, k1) only, every image, with ep (conv.h, may be
 * NULL) applied as each channel is written; out's other channels are untouched. k0 and k1 are
 * multiples of 16 (k1 may be K). The values do not depend on the split: threads can share a layer
 * by channels with the same bits as one call. */
void pt_smallconv_forward_part(float *out, const float *in, const float *weight, const float *bias,
                               const pt_conv_dims *d, int k0, int k1, const pt_conv_epilogue *ep,
                               float *ws);

/* Gradients of pt_smallconv_forward, as pt_conv_backward: dweight (K,C,R,S) +=, dbias (K) +=,
 * din (N,C,H,W) =; each may be NULL. ws as for forward. */
void pt_smallconv_backward(float *din, float *dweight, float *dbias, const float *dout,
                           const float *in, const float *weight, const pt_conv_dims *d, float *ws);

/* As pt_smallconv_backward for din's input channels [c0, c1) and dweight's and dbias's output
 * channels [k0, k1) only, every image; the other channels are untouched. Bounds as for
 * pt_smallconv_forward_part; the values do not depend on the split. */
void pt_smallconv_backward_part(float *din, float *dweight, float *dbias, const float *dout,
                                const float *in, const float *weight, const pt_conv_dims *d, int c0,
                                int c1, int k0, int k1, float *ws);

#endif
