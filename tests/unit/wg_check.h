/* Checks shared by the Winograd tests (test_winograd.c for F(2x2,3x3), test_winograd4.c for
 * F(4x4,3x3)): a variant against the direct convolution in double (pt_conv_*_naive) on a layer,
 * in every chunking the workspace allows, with its own stated tolerances; the gradient
 * conventions; finite differences; the empty batch. Each function fails the current Criterion
 * test. */
#ifndef PTRAIN_TEST_WG_CHECK_H
#define PTRAIN_TEST_WG_CHECK_H

#include <stddef.h>

#include "conv.h"

/* One Winograd variant: its API (winograd.h's contract) and its tolerances, as fractions of
 * 1 + |reference|: tol for forward, din and dbias; dweight max(tol, tol_dw_per_sqrt_term *
 * sqrt(N*P*Q)). */
typedef struct wg_variant {
    const char *name;
    void (*forward)(float *out, const float *in, const float *weight, const float *bias,
                    const pt_conv_dims *d, float *ws, size_t ws_floats, const pt_conv_epilogue *ep);
    void (*backward)(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                     const float *weight, const pt_conv_dims *d, float *ws, size_t ws_floats);
    size_t (*workspace_size)(const pt_conv_dims *d, int images_per_chunk);
    int (*useful_images)(const pt_conv_dims *d);
    double tol, tol_dw_per_sqrt_term;
} wg_variant;

pt_conv_dims wg_dims(int n, int c, int h, int w, int k, int pad);

/* Forward, din, dweight and dbias against the reference on d (inputs ~N(0,1), He-scaled weights),
 * with and without bias, in every chunking: the whole batch, one image per chunk (the minimum),
 * 1.5 images per chunk, and a workspace for 64 more images than the batch. The workspace and the
 * outputs start as NaN, the gradients as garbage (accumulated into, din overwritten). */
void wg_check_every_chunking(const wg_variant *v, pt_conv_dims d, const char *name);

/* wg_check_every_chunking on small shapes: odd and even sizes, one partial tile, rows wider than
 * two blocks of tiles, C = 1, K = 1, pad 0 and 1. */
void wg_check_small_shapes(const wg_variant *v);

/* backward with only din, only dweight, only dbias, nothing. */
void wg_check_null_gradients(const wg_variant *v);

/* backward twice: dweight and dbias doubled, din the same as once. */
void wg_check_accumulate_overwrite(const wg_variant *v);

/* backward against central differences of sum(forward * dout), pad 0 and 1. */
void wg_check_finite_differences(const wg_variant *v);

/* N = 0: nothing read or written but dbias, which stays as it was. */
void wg_check_empty_batch(const wg_variant *v);

/* With PTRAIN_WG_VERBOSE=1 in the environment: the largest fraction of each tolerance used so far
 * (forward, din, dweight, dbias) on stderr. */
void wg_print_worst(const wg_variant *v);

#endif
