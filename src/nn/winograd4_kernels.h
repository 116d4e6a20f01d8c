/* The Winograd F(4x4,3x3) convolution's transforms and GEMM loop (winograd4.c), one table per
 * instruction set (kernels.h), of winograd_kernels.h's type. As for F(2x2): every tile's
 * arithmetic is the same sequence of adds and multiplies on every path (-ffp-contract=off); the
 * GEMMs are OpenBLAS's on the baseline and AVX2 (the same bits), mostly the project's own on
 * AVX-512 (wg_gemm.h), which round differently. */
#ifndef PTRAIN_WINOGRAD4_KERNELS_H
#define PTRAIN_WINOGRAD4_KERNELS_H

#include "winograd_kernels.h"

PT_KERNELS_DECLARE(pt_winograd_kernels, pt_winograd4_kernels);

#endif
