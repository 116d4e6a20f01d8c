/* Winograd F(2x2,3x3) convolution against the direct reference (pt_conv_*_naive): forward, din,
 * dweight and dbias on odd and even sizes, pad 0 and 1, with and without bias, chunked in every
 * way the workspace allows; the gradient conventions; which layers are supported. And its GEMM
 * micro-kernels (wg_gemm.h) on every path this CPU has, against a double reference. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "conv.h"
#include "wg_check.h"
#include "wg_gemm.h"
#include "winograd.h"
#include "ptrain/isa.h"

/* Both compute the same sums, the reference in double. Winograd in float adds the rounding of the
 * transforms (sums of up to 9 terms) to the GEMM's, which is where most of it comes from: the sums
 * over channels (forward, din) and over every output position of the batch (dweight, N*P*Q terms,
 * accumulated in float by OpenBLAS as im2col+GEMM does). With inputs ~N(0,1), He-scaled weights
 * and dout ~N(0,1), the largest |a - b| / (1 + |ref|) measured over every case below:
 *   forward 1.1e-6, din 2.0e-6, dbias 0 (summed in double by both)     -> tolerance 1e-5
 *   dweight 1.6e-6 at N*P*Q = 105, 2.0e-5 at 600, 8.2e-5 at 6144       -> 5e-6 * sqrt(N*P*Q)
 * (im2col+GEMM against the same reference: forward 1.7e-6, din 9.5e-7, dweight 6.2e-5 at 6144.)
 * Every tolerance is at least 4.8x the largest error measured under it; an indexing mistake
 * shows up as O(1). PTRAIN_WG_VERBOSE=1 in the environment prints the largest fraction of each
 * tolerance used. */
#define WG_TOL                  1e-5
#define WG_TOL_DW_PER_SQRT_TERM 5e-6

static const wg_variant f2 = {"winograd",
                              pt_winograd_forward,
                              pt_winograd_backward,
                              pt_winograd_workspace_size,
                              pt_winograd_useful_images,
                              WG_TOL,
                              WG_TOL_DW_PER_SQRT_TERM};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    cr_assert_not_null(p);
    return p;
}

Test(winograd, matches_direct_on_small_shapes)
{
    wg_check_small_shapes(&f2);
    wg_print_worst(&f2);
}

Test(winograd, matches_direct_on_realistic_layers)
{
    /* Channel counts where OpenBLAS takes its blocked paths; 5 images so 2 per chunk leaves 1. */
    wg_check_every_chunking(&f2, wg_dims(5, 16, 12, 10, 32, 1), "16->32 12x10 pad 1");
    wg_check_every_chunking(&f2, wg_dims(2, 32, 14, 14, 64, 1),
                            "32->64 14x14 pad 1 (fmnist conv2)");
    wg_check_every_chunking(&f2, wg_dims(2, 8, 15, 11, 24, 0), "8->24 15x11 pad 0");
    /* Large enough that the cache cap, not the workspace, cuts the chunks (in mid-image). */
    pt_conv_dims big = wg_dims(3, 32, 64, 32, 64, 1);
    cr_assert_lt(pt_winograd_useful_images(&big), big.n);
    wg_check_every_chunking(&f2, big, "32->64 64x32 pad 1, chunks capped");
    wg_print_worst(&f2);
}

Test(winograd, backward_skips_null_gradients)
{
    wg_check_null_gradients(&f2);
}

Test(winograd, backward_accumulates_parameter_gradients_and_overwrites_din)
{
    wg_check_accumulate_overwrite(&f2);
}

Test(winograd, gradient_matches_finite_differences)
{
    wg_check_finite_differences(&f2);
}

Test(winograd, empty_batch_does_nothing)
{
    wg_check_empty_batch(&f2);
}

Test(winograd, supported_shapes)
{
    cr_assert(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 3, 1, 1}));
    cr_assert(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 3, 1, 0}));
    cr_assert(pt_winograd_supported(&(pt_conv_dims){0, 3, 1, 1, 4, 3, 3, 1, 1}));
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 5, 5, 1, 2}), "5x5");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 3, 2, 1}), "stride 2");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 3, 1, 2}), "pad 2");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 1, 1, 1, 0}), "1x1");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 5, 1, 1}), "3x5");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 2, 8, 4, 3, 3, 1, 0}),
                  "kernel larger than the input");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 0, 8, 8, 4, 3, 3, 1, 1}), "C = 0");
}

Test(winograd, workspace_size)
{
    /* 13x13 pad 1: 7x7 tiles; 5x7 pad 0: P=3, Q=5, 2x3 tiles. */
    pt_conv_dims a = wg_dims(4, 3, 13, 13, 5, 1), b = wg_dims(4, 3, 5, 7, 5, 0);
    size_t fa = pt_winograd_workspace_size(&a, 0), fb = pt_winograd_workspace_size(&b, 0);
    cr_assert_geq(fa, (size_t)32 * 5 * 3);
    cr_assert_eq(pt_winograd_workspace_size(&a, 1), fa + (size_t)49 * 16 * 8);
    cr_assert_eq(pt_winograd_workspace_size(&a, 3), fa + (size_t)3 * 49 * 16 * 8);
    cr_assert_eq(pt_winograd_workspace_size(&b, 2), fb + (size_t)2 * 6 * 16 * 8);
    cr_assert_eq(pt_winograd_useful_images(&a), 4);
    cr_assert_eq(pt_winograd_useful_images(&(pt_conv_dims){0, 3, 5, 7, 5, 3, 3, 1, 0}), 1);
}

/* --- the GEMM micro-kernels (wg_gemm.h) ------------------------------------------------------ */

/* Sizes on both sides of every block edge: mul's row blocks (4, 6 or 8 rows), its vectors (4, 8 or
 * 16 columns) and strips (2 or 3 vectors), the dot blocks (2 to 6 rows and 2 to 4 columns), and
 * 1 (T = 1). The leading dimensions are larger than the rows, so the kernels must stay inside. */
static const int gemm_rows[] = {1, 3, 5, 8, 13, 27};
static const int gemm_cols[] = {1, 7, 15, 17, 33, 49, 100};
static const int gemm_inner[] = {1, 3, 16, 31};
static const int dot_inner[] = {1, 7, 15, 16, 17, 33, 100};
#define N_OF(a)  ((int)(sizeof(a) / sizeof((a)[0])))
#define SENTINEL 12345.0f /* in c's padding: must survive */

/* Each element within (k + 2) eps (sum_p |a b| + |c0|) of the double sum: the rounding of k
 * multiply-adds in any order, and of adding c0; a missing or misplaced term is O(|a b|). */
static void check_sum(double got, double ref, double abs_sum, int k, const char *what, int i, int j)
{
    const double tol = (k + 2) * (double)FLT_EPSILON * abs_sum + 1e-30;
    cr_assert(fabs(got - ref) <= tol, "%s: c[%d][%d] = %.9g, reference %.9g (tolerance %.3g)", what,
              i, j, got, ref, tol);
}

/* c (m x n, ldc) = op(a) b on one path, against double; the padding untouched; each row the same
 * bits when computed alone (the order of the sums does not depend on the blocking). */
static void check_mul(const pt_wg_gemm_kernels *g, const char *isa, int m, int n, int k,
                      int trans_a)
{
    const size_t lda = (size_t)(trans_a ? m : k) + 3, ldb = (size_t)n + 2, ldc = (size_t)n + 5;
    const size_t a_n = (size_t)(trans_a ? k : m) * lda, b_n = (size_t)k * ldb;
    float *a = xcalloc(a_n, sizeof(float)), *b = xcalloc(b_n, sizeof(float));
    float *c = xcalloc((size_t)(m + 1) * ldc, sizeof(float)), *row = xcalloc(ldc, sizeof(float));
    gc_fill_normal(a, a_n, 100 + (uint64_t)m, 1.0f);
    gc_fill_normal(b, b_n, 200 + (uint64_t)n, 1.0f);
    for (size_t j = 0; j < (size_t)(m + 1) * ldc; j++)
        c[j] = (j % ldc < (size_t)n && j < (size_t)m * ldc) ? NAN : SENTINEL;
    char what[160];
    snprintf(what, sizeof what, "%s mul%s m=%d n=%d k=%d", isa, trans_a ? " (a^T)" : "", m, n, k);
    cr_assert(pt_wg_gemm_mul_fits(g, m, k), "%s: too large for the test", what);
    g->mul(c, ldc, a, lda, trans_a, b, ldb, m, n, k);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double ref = 0, abs_sum = 0;
            for (int p = 0; p < k; p++) {
                const double x = trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                ref += x * b[(size_t)p * ldb + j];
                abs_sum += fabs(x * b[(size_t)p * ldb + j]);
            }
            check_sum(c[(size_t)i * ldc + j], ref, abs_sum, k, what, i, j);
        }
        for (size_t j = (size_t)n; j < ldc; j++)
            cr_assert_eq(c[(size_t)i * ldc + j], SENTINEL, "%s: wrote past row %d", what, i);
        const float *ai = trans_a ? a + i : a + (size_t)i * lda;
        g->mul(row, ldc, ai, lda, trans_a, b, ldb, 1, n, k);
        cr_assert(!memcmp(row, c + (size_t)i * ldc, (size_t)n * sizeof(float)),
                  "%s: row %d alone gives other bits", what, i);
    }
    for (size_t j = 0; j < ldc; j++)
        cr_assert_eq(c[(size_t)m * ldc + j], SENTINEL, "%s: wrote past the last row", what);
    free(a);
    free(b);
    free(c);
    free(row);
}

/* c (m x n, ldc) += a b^T on one path, against double; the padding untouched; each element the
 * same bits when computed alone. */
static void check_acc_bt(const pt_wg_gemm_kernels *g, const char *isa, int m, int n, int k)
{
    const size_t lda = (size_t)k + 3, ldb = (size_t)k + 2, ldc = (size_t)n + 5;
    float *a = xcalloc((size_t)m * lda, sizeof(float)),
          *b = xcalloc((size_t)n * ldb, sizeof(float));
    float *c0 = xcalloc((size_t)(m + 1) * ldc, sizeof(float));
    float *c = xcalloc((size_t)(m + 1) * ldc, sizeof(float));
    gc_fill_normal(a, (size_t)m * lda, 300 + (uint64_t)k, 1.0f);
    gc_fill_normal(b, (size_t)n * ldb, 400 + (uint64_t)n, 1.0f);
    gc_fill_normal(c0, (size_t)(m + 1) * ldc, 500, 1.0f);
    for (size_t j = 0; j < (size_t)(m + 1) * ldc; j++)
        if (j % ldc >= (size_t)n || j >= (size_t)m * ldc)
            c0[j] = SENTINEL;
    memcpy(c, c0, (size_t)(m + 1) * ldc * sizeof(float));
    char what[160];
    snprintf(what, sizeof what, "%s acc_bt m=%d n=%d k=%d", isa, m, n, k);
    g->acc_bt(c, ldc, a, lda, b, ldb, m, n, k);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double ref = c0[(size_t)i * ldc + j], abs_sum = fabs(ref);
            for (int p = 0; p < k; p++) {
                const double x = (double)a[(size_t)i * lda + p] * b[(size_t)j * ldb + p];
                ref += x;
                abs_sum += fabs(x);
            }
            check_sum(c[(size_t)i * ldc + j], ref, abs_sum, k, what, i, j);
            float one = c0[(size_t)i * ldc + j];
            g->acc_bt(&one, 1, a + (size_t)i * lda, lda, b + (size_t)j * ldb, ldb, 1, 1, k);
            cr_assert(!memcmp(&one, c + (size_t)i * ldc + j, sizeof one),
                      "%s: c[%d][%d] alone gives other bits", what, i, j);
        }
        for (size_t j = (size_t)n; j < ldc; j++)
            cr_assert_eq(c[(size_t)i * ldc + j], SENTINEL, "%s: wrote past row %d", what, i);
    }
    for (size_t j = 0; j < ldc; j++)
        cr_assert_eq(c[(size_t)m * ldc + j], SENTINEL, "%s: wrote past the last row", what);
    free(a);
    free(b);
    free(c0);
    free(c);
}

Test(winograd, gemm_kernels_match_a_double_reference_on_every_path)
{
    for (int isa = 0; isa < PT_ISA_COUNT; isa++) {
        if (!pt_isa_supported((pt_isa)isa)) {
            fprintf(stderr, "test_winograd: this CPU has no %s: its GEMM kernels were not tested\n",
                    pt_isa_name((pt_isa)isa));
            continue;
        }
        const pt_wg_gemm_kernels *g = PT_KERNELS_FOR(pt_wg_gemm_kernels, (pt_isa)isa);
        const char *name = pt_isa_name((pt_isa)isa);
        for (int mi = 0; mi < N_OF(gemm_rows); mi++)
            for (int ni = 0; ni < N_OF(gemm_cols); ni++) {
                for (int ki = 0; ki < N_OF(gemm_inner); ki++)
                    for (int trans_a = 0; trans_a < 2; trans_a++)
                        check_mul(g, name, gemm_rows[mi], gemm_cols[ni], gemm_inner[ki], trans_a);
                if (gemm_cols[ni] > 30)
                    continue; /* acc_bt's outputs are the small matrix: 1 to 17 columns */
                for (int ki = 0; ki < N_OF(dot_inner); ki++)
                    check_acc_bt(g, name, gemm_rows[mi], gemm_cols[ni], dot_inner[ki]);
            }
        /* the layers' shapes: fmnist conv2's 16 products (K=64, C=32, T=511) */
        check_mul(g, name, 64, 511, 32, 0);
        check_mul(g, name, 32, 511, 64, 1);
        check_acc_bt(g, name, 64, 32, 511);
    }
}

Test(winograd, gemm_mul_gives_the_same_bits_on_avx2_and_avx512)
{
    /* one fused multiply-add per term, in order, on both (wg_gemm.h): blocks of other sizes */
    if (!pt_isa_supported(PT_ISA_AVX2) || !pt_isa_supported(PT_ISA_AVX512)) {
        fprintf(stderr, "test_winograd: this CPU lacks AVX2 or AVX-512: not compared\n");
        return;
    }
    const int m = 27, n = 100, k = 31;
    float *a = xcalloc((size_t)m * k, sizeof(float)), *b = xcalloc((size_t)k * n, sizeof(float));
    float *c2 = xcalloc((size_t)m * n, sizeof(float)), *c5 = xcalloc((size_t)m * n, sizeof(float));
    gc_fill_normal(a, (size_t)m * k, 600, 1.0f);
    gc_fill_normal(b, (size_t)k * n, 601, 1.0f);
    PT_KERNELS_FOR(pt_wg_gemm_kernels, PT_ISA_AVX2)
        ->mul(c2, (size_t)n, a, (size_t)k, 0, b, (size_t)n, m, n, k);
    PT_KERNELS_FOR(pt_wg_gemm_kernels, PT_ISA_AVX512)
        ->mul(c5, (size_t)n, a, (size_t)k, 0, b, (size_t)n, m, n, k);
    cr_assert(!memcmp(c2, c5, (size_t)m * n * sizeof(float)));
    free(a);
    free(b);
    free(c2);
    free(c5);
}
