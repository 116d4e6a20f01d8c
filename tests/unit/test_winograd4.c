/* Winograd F(4x4,3x3) convolution (winograd4.h) against the direct reference (pt_conv_*_naive):
 * forward, din, dweight and dbias on odd and even sizes, every remainder of 4, pad 0 and 1, with
 * and without bias, chunked in every way the workspace allows; the gradient conventions; finite
 * differences; the empty batch; the workspace sizes. The checks are wg_check.c's, shared with
 * test_winograd.c (F(2x2,3x3)). */
#include <criterion/criterion.h>
#include <math.h>

#include "conv.h"
#include "wg_check.h"
#include "winograd.h"
#include "winograd4.h"
#include "ptrain/isa.h"

/* Both compute the same sums, the reference in double. F(4x4) rounds more than F(2x2): its
 * transforms have coefficients up to 8 (A^T), 5 (B^T) and 1/24 (G), so the transformed values are
 * larger than the result they sum to and their rounding is amplified (unscaled Lavin & Gray
 * matrices, winograd4.c). With inputs ~N(0,1), He-scaled weights and dout ~N(0,1), the largest
 * |a - b| / (1 + |ref|) measured over every case below, on every path (PTRAIN_ISA=sse2, avx2,
 * avx512; F(2x2)'s from test_winograd.c in brackets):
 *   forward 2.4e-5 [1.1e-6], din 2.1e-5 [2.0e-6], dbias 0          -> tolerance 1e-4
 *   dweight 5.2e-6 at N*P*Q = 105, 1.9e-4 at 512, 8.3e-4 at 6144
 *           [1.6e-6 at 105, 8.2e-5 at 6144]                        -> 5e-5 * sqrt(N*P*Q)
 * so about 10-20x F(2x2)'s. Every tolerance is at least 4.2x the largest error measured under it;
 * an indexing mistake shows up as O(1). PTRAIN_WG_VERBOSE=1 in the environment prints the largest
 * fraction of each tolerance used (2: every case's error). */
#define WG4_TOL                  1e-4
#define WG4_TOL_DW_PER_SQRT_TERM 5e-5

static const wg_variant f4 = {"winograd4",
                              pt_winograd4_forward,
                              pt_winograd4_backward,
                              pt_winograd4_workspace_size,
                              pt_winograd4_useful_images,
                              WG4_TOL,
                              WG4_TOL_DW_PER_SQRT_TERM};

/* PTRAIN_ISA=sse2|avx2|avx512 in the environment runs every test below on that path, as it does
 * for ptrain (test_isa compares the paths with each other). */
static void path_from_environment(void)
{
    pt_error err;
    cr_assert_eq(pt_isa_init(&err), PT_OK, "%s", err.msg);
}

TestSuite(winograd4, .init = path_from_environment);

Test(winograd4, matches_direct_on_small_shapes)
{
    wg_check_small_shapes(&f4);
    wg_print_worst(&f4);
}

Test(winograd4, matches_direct_on_realistic_layers)
{
    wg_check_every_chunking(&f4, wg_dims(5, 16, 12, 10, 32, 1), "16->32 12x10 pad 1");
    wg_check_every_chunking(&f4, wg_dims(2, 32, 14, 14, 64, 1),
                            "32->64 14x14 pad 1 (fmnist conv2)");
    wg_check_every_chunking(&f4, wg_dims(2, 8, 15, 11, 24, 0), "8->24 15x11 pad 0");
    wg_check_every_chunking(&f4, wg_dims(2, 64, 16, 16, 64, 1), "64->64 16x16 pad 1 (resnet18)");
    /* Large enough that the cache cap, not the workspace, cuts the chunks (in mid-image). */
    pt_conv_dims big = wg_dims(3, 32, 64, 32, 64, 1);
    cr_assert_lt(pt_winograd4_useful_images(&big), big.n);
    wg_check_every_chunking(&f4, big, "32->64 64x32 pad 1, chunks capped");
    wg_print_worst(&f4);
}

Test(winograd4, backward_skips_null_gradients)
{
    wg_check_null_gradients(&f4);
}

Test(winograd4, backward_accumulates_parameter_gradients_and_overwrites_din)
{
    wg_check_accumulate_overwrite(&f4);
}

Test(winograd4, gradient_matches_finite_differences)
{
    wg_check_finite_differences(&f4);
}

Test(winograd4, empty_batch_does_nothing)
{
    wg_check_empty_batch(&f4);
}

Test(winograd4, workspace_size)
{
    /* 13x13 pad 1: 4x4 tiles of 4x4; 5x7 pad 0: P=3, Q=5, 1x2 tiles. Per row of tw tiles: V and
     * M (36 (C + K) tw) and the transforms' scratch (50 (tw + 1) + 37 tw). */
    pt_conv_dims a = wg_dims(4, 3, 13, 13, 5, 1), b = wg_dims(4, 3, 5, 7, 5, 0);
    size_t fa = pt_winograd4_workspace_size(&a, 0), fb = pt_winograd4_workspace_size(&b, 0);
    const size_t row_a = 4 * 36 * 8 + 50 * 5 + 37 * 4, row_b = 2 * 36 * 8 + 50 * 3 + 37 * 2;
    cr_assert_geq(fa, (size_t)72 * 5 * 3);
    cr_assert_eq(pt_winograd4_workspace_size(&a, 1), fa + 4 * row_a);
    cr_assert_eq(pt_winograd4_workspace_size(&a, 3), fa + 3 * 4 * row_a);
    cr_assert_eq(pt_winograd4_workspace_size(&b, 2), fb + 2 * row_b);
    cr_assert_eq(pt_winograd4_useful_images(&a), 4);
    cr_assert_eq(pt_winograd4_useful_images(&(pt_conv_dims){0, 3, 5, 7, 5, 3, 3, 1, 0}), 1);
}
