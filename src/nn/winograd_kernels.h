/* The Winograd convolution's transforms and GEMM loop (winograd.c), one table per instruction set
 * (kernels.h). winograd.c is compiled once per variant: the transforms' fixed-width loops (blocks
 * of 8 tiles, 16 on AVX-512) are what the compiler widens, and every tile's arithmetic is the same
 * sequence of adds and multiplies on every path (no fused multiply-add: -ffp-contract=off). The
 * GEMMs are OpenBLAS's on the baseline and AVX2, so those give the same bits; on AVX-512 most are
 * the project's own (wg_gemm.h, with fused multiply-adds), which round differently. */
#ifndef PTRAIN_WINOGRAD_KERNELS_H
#define PTRAIN_WINOGRAD_KERNELS_H

#include <stddef.h>

#include "conv.h"
#include "kernels.h"

typedef struct pt_winograd_kernels {
    /* pt_winograd_forward and pt_winograd_backward (winograd.h) on this instruction set */
    void (*forward)(float *out, const float *in, const float *weight, const float *bias,
                    const pt_conv_dims *d, float *ws, size_t ws_floats, const pt_conv_epilogue *ep);
    void (*backward)(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                     const float *weight, const pt_conv_dims *d, float *ws, size_t ws_floats);
} pt_winograd_kernels;

PT_KERNELS_DECLARE(pt_winograd_kernels, pt_winograd_kernels);

#endif
