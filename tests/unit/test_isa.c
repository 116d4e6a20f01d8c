/* The kernels of every instruction set this CPU runs against the baseline: bit for bit (the
 * paths do the same arithmetic in the same order, see isa.h), on lengths that exercise the
 * vector blocks and the tails; and the choice of path from PTRAIN_ISA. Paths the CPU lacks are
 * named on stderr, so a log shows what was not tested here. The one exception: Winograd on the
 * paths whose GEMMs are the project's own (AVX-512), which round differently from OpenBLAS and
 * are checked within a stated tolerance instead (winograd_matches_the_baseline). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm_kernels.h"
#include "conv_kernels.h"
#include "optim_kernels.h"
#include "pool_kernels.h"
#include "reduce_kernels.h"
#include "winograd.h"
#include "winograd4.h"
#include "winograd_kernels.h"
#include "winograd4_kernels.h"
#include "ptrain/isa.h"
#include "ptrain/rng.h"

static const int lengths[] = {0, 1, 7, 8, 9, 15, 16, 17, 63, 1000, 16387};
#define N_LENGTHS ((int)(sizeof lengths / sizeof lengths[0]))
#define MAX_LEN   16387

static float *random_floats(int n, uint64_t seed, double lo, double hi)
{
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    cr_assert_not_null(x);
    pt_rng rng;
    pt_rng_init(&rng, seed, 0);
    for (int i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * pt_rng_uniform(&rng));
    return x;
}

/* The wide paths this CPU runs; the others are reported, once per test. */
static int wide_paths(pt_isa *out)
{
    int n = 0;
    for (int isa = PT_ISA_BASE + 1; isa < PT_ISA_COUNT; isa++) {
        if (pt_isa_supported((pt_isa)isa))
            out[n++] = (pt_isa)isa;
        else
            fprintf(stderr, "test_isa: this CPU has no %s: that path was not tested here\n",
                    pt_isa_name((pt_isa)isa));
    }
    return n;
}

Test(isa, baseline_is_always_there_and_names_parse)
{
    pt_error err;
    pt_isa isa;
    cr_assert(pt_isa_supported(PT_ISA_BASE));
    cr_assert(pt_isa_supported(pt_isa_best()));
    cr_assert_eq(pt_isa_parse(pt_isa_name(PT_ISA_BASE), &isa, &err), PT_OK);
    cr_assert_eq(isa, PT_ISA_BASE);
    cr_assert_eq(pt_isa_parse("neon9", &isa, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "PTRAIN_ISA=neon9"), "%s", err.msg);
    for (int i = 0; i < PT_ISA_COUNT; i++) {
        int rc = pt_isa_parse(pt_isa_name((pt_isa)i), &isa, &err);
        cr_assert_eq(rc, pt_isa_supported((pt_isa)i) ? PT_OK : PT_ERR_UNSUPPORTED, "%s",
                     pt_isa_name((pt_isa)i));
    }
}

Test(isa, environment_chooses_the_path)
{
    pt_error err;
    cr_assert_eq(setenv("PTRAIN_ISA", pt_isa_name(PT_ISA_BASE), 1), 0);
    cr_assert_eq(pt_isa_init(&err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_isa_active(), PT_ISA_BASE);
    cr_assert_eq(setenv("PTRAIN_ISA", "bogus", 1), 0);
    cr_assert_eq(pt_isa_init(&err), PT_ERR_INVALID);
    cr_assert_eq(unsetenv("PTRAIN_ISA"), 0);
    cr_assert_eq(pt_isa_init(&err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_isa_active(), pt_isa_best());
}

Test(isa, batchnorm_kernels_match_the_baseline_bit_for_bit)
{
    pt_isa paths[PT_ISA_COUNT];
    int n_paths = wide_paths(paths);
    const pt_bn_kernels *base = PT_KERNELS_FOR(pt_bn_kernels, PT_ISA_BASE);
    float *x = random_floats(MAX_LEN, 1, -3, 5), *dy = random_floats(MAX_LEN, 2, -1, 1);
    float *o0 = malloc(MAX_LEN * sizeof(float)), *o1 = malloc(MAX_LEN * sizeof(float));
    cr_assert(o0 && o1);
    for (int p = 0; p < n_paths; p++) {
        const pt_bn_kernels *k = PT_KERNELS_FOR(pt_bn_kernels, paths[p]);
        const char *name = pt_isa_name(paths[p]);
        for (int li = 0; li < N_LENGTHS; li++) {
            int n = lengths[li];
            double s0 = 0.5, ss0 = 0.25, s1 = 0.5, ss1 = 0.25;
            base->sums(&s0, &ss0, x, n);
            k->sums(&s1, &ss1, x, n);
            cr_assert(s0 == s1 && ss0 == ss1, "%s sums, n=%d: %.17g %.17g vs %.17g %.17g", name, n,
                      s1, ss1, s0, ss0);
            for (int relu = 0; relu < 2; relu++) {
                base->scale_shift(o0, x, n, 1.7f, -0.3f, relu);
                k->scale_shift(o1, x, n, 1.7f, -0.3f, relu);
                cr_assert(!memcmp(o0, o1, (size_t)n * sizeof(float)), "%s scale_shift n=%d", name,
                          n);
                /* the planes form, in place: 3 runs of n / 3 - 1 floats, n / 3 apart (a gap
                 * the kernel must leave alone), each with its own scale and shift, as the
                 * baseline's scale_shift on each */
                if (n < 6)
                    continue;
                const size_t stride = (size_t)n / 3, hw = stride - 1;
                const float scale[3] = {1.7f, -0.6f, 0.03f}, shift[3] = {-0.3f, 0.8f, 0.0f};
                memcpy(o1, x, (size_t)n * sizeof(float));
                memcpy(o0, x, (size_t)n * sizeof(float));
                k->scale_shift_planes(o1, 3, hw, stride, scale, shift, relu);
                for (int c = 0; c < 3; c++)
                    base->scale_shift(o0 + c * stride, x + c * stride, (int)hw, scale[c], shift[c],
                                      relu);
                cr_assert(!memcmp(o0, o1, (size_t)n * sizeof(float)), "%s scale_shift_planes n=%d",
                          name, n);
            }
            for (int relu = 0; relu < 2; relu++) {
                const float *y = relu ? x : NULL; /* x has negatives: a real mask */
                base->backward_sums(&s0, &ss0, dy, y, x, 0.4f, 1.3f, n);
                k->backward_sums(&s1, &ss1, dy, y, x, 0.4f, 1.3f, n);
                cr_assert(s0 == s1 && ss0 == ss1, "%s backward_sums, n=%d", name, n);
                base->backward_apply(o0, dy, y, x, n, 0.4f, 1.3f, 0.9f, 0.01f, -0.2f);
                k->backward_apply(o1, dy, y, x, n, 0.4f, 1.3f, 0.9f, 0.01f, -0.2f);
                cr_assert(!memcmp(o0, o1, (size_t)n * sizeof(float)), "%s backward_apply n=%d",
                          name, n);
            }
        }
    }
    free(x);
    free(dy);
    free(o0);
    free(o1);
}

Test(isa, batchnorm_sums_against_a_plain_double_loop)
{
    float *x = random_floats(MAX_LEN, 3, -2, 6);
    for (int isa = 0; isa < PT_ISA_COUNT; isa++) {
        if (!pt_isa_supported((pt_isa)isa))
            continue;
        const pt_bn_kernels *k = PT_KERNELS_FOR(pt_bn_kernels, (pt_isa)isa);
        for (int li = 0; li < N_LENGTHS; li++) {
            int n = lengths[li];
            double s = 0, ss = 0, rs = 0, rss = 0;
            k->sums(&s, &ss, x, n);
            for (int j = 0; j < n; j++) {
                rs += x[j];
                rss += (double)x[j] * x[j];
            }
            cr_assert(fabs(s - rs) <= 1e-12 * (1 + fabs(rs)), "%s n=%d: %.17g vs %.17g",
                      pt_isa_name((pt_isa)isa), n, s, rs);
            cr_assert(fabs(ss - rss) <= 1e-12 * (1 + fabs(rss)), "%s n=%d",
                      pt_isa_name((pt_isa)isa), n);
        }
    }
    free(x);
}

Test(isa, reduce_sum_matches_the_baseline_and_a_plain_loop)
{
    pt_isa paths[PT_ISA_COUNT];
    int n_paths = wide_paths(paths);
    const pt_reduce_kernels *base = PT_KERNELS_FOR(pt_reduce_kernels, PT_ISA_BASE);
    float *x = random_floats(MAX_LEN, 4, -1, 3);
    for (int li = 0; li < N_LENGTHS; li++) {
        int n = lengths[li];
        double s0 = 0.125, plain = 0.125;
        base->sum(&s0, x, n);
        for (int j = 0; j < n; j++)
            plain += x[j];
        cr_assert(fabs(s0 - plain) <= 1e-12 * (1 + fabs(plain)), "n=%d: %.17g vs %.17g", n, s0,
                  plain);
        for (int p = 0; p < n_paths; p++) {
            double s1 = 0.125;
            PT_KERNELS_FOR(pt_reduce_kernels, paths[p])->sum(&s1, x, n);
            cr_assert(s1 == s0, "%s n=%d: %.17g vs %.17g", pt_isa_name(paths[p]), n, s1, s0);
        }
    }
    free(x);
}

Test(isa, direct_convolution_kernels_match_the_baseline_bit_for_bit)
{
    /* a padded 1-channel plane, 3x3 and 5x3 taps, widths that leave every kind of tail */
    pt_isa paths[PT_ISA_COUNT];
    int n_paths = wide_paths(paths);
    const pt_conv_kernels *base = PT_KERNELS_FOR(pt_conv_kernels, PT_ISA_BASE);
    const int widths[] = {1, 5, 16, 17, 37, 64};
    const int shapes[][2] = {{3, 3}, {5, 3}, {1, 1}};
    enum { K = 3, P = 7 };
    float *w = random_floats(K * 15, 5, -1, 1), *b = random_floats(K, 6, -1, 1);
    for (int wi = 0; wi < 6; wi++)
        for (int si = 0; si < 3; si++) {
            const int Q = widths[wi], R = shapes[si][0], S = shapes[si][1], Wp = Q + S - 1;
            /* the weight kernel: a flat dot product per tap over n (a multiple of 16) floats */
            const int n = (P * Wp + 15) / 16 * 16;
            /* readable 16 floats past the plane (conv_kernels.h), and n past the last tap */
            const int plane = (P + R - 1) * Wp, x_need = (R - 1) * Wp + S - 1 + n;
            const int x_len = x_need > plane + 16 ? x_need : plane + 16;
            float *xp = random_floats(x_len, 7, -2, 2);
            float *g = random_floats(n, 8, -1, 1);
            float *o0 = malloc(sizeof(float) * K * P * Q), *o1 = malloc(sizeof(float) * K * P * Q);
            double s0[15] = {0}, s1[15] = {0};
            base->direct_forward(o0, xp, w, b, K, P, Q, Wp, R, S);
            base->direct_weight(s0, g, xp, Wp, R, S, n);
            for (int p = 0; p < n_paths; p++) {
                const pt_conv_kernels *k = PT_KERNELS_FOR(pt_conv_kernels, paths[p]);
                k->direct_forward(o1, xp, w, b, K, P, Q, Wp, R, S);
                cr_assert(!memcmp(o0, o1, sizeof(float) * K * P * Q), "%s forward %dx%d Q=%d",
                          pt_isa_name(paths[p]), R, S, Q);
                memset(s1, 0, sizeof s1);
                k->direct_weight(s1, g, xp, Wp, R, S, n);
                cr_assert(!memcmp(s0, s1, sizeof s0), "%s weight %dx%d Q=%d", pt_isa_name(paths[p]),
                          R, S, Q);
            }
            /* and the weight sums against a plain double loop */
            for (int t = 0; t < R * S; t++) {
                double ref = 0;
                for (int f = 0; f < n; f++)
                    ref += (double)g[f] * xp[(t / S) * Wp + t % S + f];
                cr_assert(fabs(s0[t] - ref) < 1e-5 * (1 + fabs(ref)), "tap %d: %g vs %g", t, s0[t],
                          ref);
            }
            free(xp);
            free(g);
            free(o0);
            free(o1);
        }
    free(w);
    free(b);
}

/* Whether a path's Winograd runs its GEMMs on the project's kernels (winograd.c, own_mul and
 * own_acc_bt: AVX-512) rather than OpenBLAS: those round differently from the baseline (one fused
 * multiply-add per term, dU's sums in 16 lanes, wg_gemm.h), so they are checked against the
 * baseline and the direct convolution within a tolerance. Every other path: bit for bit. */
static int winograd_rounds_its_own_way(pt_isa isa)
{
    return isa == PT_ISA_AVX512;
}

/* |a - b| <= tol (1 + |ref|) everywhere; the largest fraction of tol used so far in *worst. */
static void check_within(const float *a, const float *b, const float *ref, int n, double tol,
                         double *worst, const char *what, const char *name, int w, int pad)
{
    for (int i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - b[i]) / (1 + fabs((double)ref[i]));
        if (e / tol > *worst)
            *worst = e / tol;
        cr_assert(e <= tol, "%s %s W=%d pad %d [%d]: %.9g vs %.9g", name, what, w, pad, i, a[i],
                  b[i]);
    }
}

/* One Winograd variant's table on every path against its baseline: bit for bit, or within tol
 * (forward, din) and max(tol, tol_dw_per_sqrt_term sqrt(N*P*Q)) (dweight) of the baseline and of
 * the direct convolution on the paths whose GEMMs are the project's. */
static void check_winograd_paths(const char *variant, const pt_winograd_kernels *const *tables,
                                 size_t (*workspace_size)(const pt_conv_dims *, int), double tol,
                                 double tol_dw_per_sqrt_term)
{
    /* widths whose rows of tiles fill 8- and 16-tile blocks, leave tails, and odd outputs; both
     * paddings; few channels, more than a GEMM block (19 -> 10), and fmnist conv2's 32 -> 64 with
     * the whole batch in one chunk (T = 340 tiles at W = 67: a shape where AVX-512 takes its own
     * dU kernel too, see winograd.c's own_acc_bt); forward, and backward with every gradient.
     * Bit for bit, except on the paths whose GEMMs are the project's
     * (winograd_rounds_its_own_way): there within 1e-5 (1 + |x|) of the baseline and of the
     * direct convolution (the double-precision naive loops), test_winograd's tolerance for
     * forward and din; dweight, a float sum over the batch's N*P*Q positions, within
     * 5e-6 sqrt(N*P*Q) (1 + |x|), again test_winograd's. Largest fraction of the tolerance used
     * on AVX-512 here: 0.15 (the baseline's own against the direct convolution: 0.13);
     * PTRAIN_WG_VERBOSE=1 prints it. */
    pt_isa paths[PT_ISA_COUNT];
    int n_paths = wide_paths(paths);
    const pt_winograd_kernels *base = tables[PT_ISA_BASE];
    const int widths[] = {3, 6, 17, 34, 67};
    const int channels[][3] = {{3, 4, 1}, {19, 10, 1}, {32, 64, 2}}; /* C, K, images per chunk */
    double worst = 0;
    for (int ci = 0; ci < 3; ci++)
        for (int wi = 0; wi < 5; wi++)
            for (int pad = 0; pad <= 1; pad++) {
                const pt_conv_dims d = {.n = 2,
                                        .c = channels[ci][0],
                                        .h = 9,
                                        .w = widths[wi],
                                        .k = channels[ci][1],
                                        .r = 3,
                                        .s = 3,
                                        .stride = 1,
                                        .pad = pad};
                cr_assert(pt_winograd_supported(&d));
                const int in_n = d.n * d.c * d.h * d.w, w_n = d.k * d.c * 9;
                const int out_n = d.n * d.k * pt_conv_out_h(&d) * pt_conv_out_w(&d);
                const size_t ws_n = workspace_size(&d, channels[ci][2]);
                const double tol_dw =
                    fmax(tol, tol_dw_per_sqrt_term *
                                  sqrt((double)d.n * pt_conv_out_h(&d) * pt_conv_out_w(&d)));
                /* weights of variance 1 / (9 C), as a trained layer's: outputs of the inputs' size
                 */
                const double w_max = sqrt(3.0 / (9 * d.c));
                float *in = random_floats(in_n, 11, -1, 1),
                      *w = random_floats(w_n, 12, -w_max, w_max);
                float *bias = random_floats(d.k, 13, -1, 1),
                      *dout = random_floats(out_n, 14, -1, 1);
                float *ws = malloc(ws_n * sizeof *ws);
                float *o[2], *din[2], *dw[2], *db[2];
                for (int i = 0; i < 2; i++) {
                    o[i] = malloc((size_t)out_n * sizeof(float));
                    din[i] = malloc((size_t)in_n * sizeof(float));
                    dw[i] = calloc((size_t)w_n, sizeof(float));
                    db[i] = calloc((size_t)d.k, sizeof(float));
                }
                float *ref = malloc((size_t)out_n * sizeof(float));
                float *ref_din = malloc((size_t)in_n * sizeof(float));
                float *ref_dw = calloc((size_t)w_n, sizeof(float)),
                      *ref_db = calloc(d.k, sizeof(float));
                cr_assert(ws && ref && ref_din && ref_dw && ref_db);
                pt_conv_forward_naive(ref, in, w, bias, &d);
                pt_conv_backward_naive(ref_din, ref_dw, ref_db, dout, in, w, &d);
                base->forward(o[0], in, w, bias, &d, ws, ws_n, NULL);
                base->backward(din[0], dw[0], db[0], dout, in, w, &d, ws, ws_n);
                for (int p = 0; p < n_paths; p++) {
                    const pt_winograd_kernels *k = tables[paths[p]];
                    memset(dw[1], 0, sizeof(float) * w_n);
                    memset(db[1], 0, sizeof(float) * d.k);
                    k->forward(o[1], in, w, bias, &d, ws, ws_n, NULL);
                    k->backward(din[1], dw[1], db[1], dout, in, w, &d, ws, ws_n);
                    const char *name = pt_isa_name(paths[p]);
                    cr_assert(!memcmp(db[0], db[1], sizeof(float) * d.k), "%s dbias W=%d pad %d",
                              name, d.w, pad);
                    if (winograd_rounds_its_own_way(paths[p])) {
                        check_within(o[1], o[0], ref, out_n, tol, &worst, "forward (baseline)",
                                     name, d.w, pad);
                        check_within(o[1], ref, ref, out_n, tol, &worst, "forward (direct)", name,
                                     d.w, pad);
                        check_within(din[1], din[0], ref_din, in_n, tol, &worst, "din (baseline)",
                                     name, d.w, pad);
                        check_within(din[1], ref_din, ref_din, in_n, tol, &worst, "din (direct)",
                                     name, d.w, pad);
                        check_within(dw[1], dw[0], ref_dw, w_n, tol_dw, &worst,
                                     "dweight (baseline)", name, d.w, pad);
                        check_within(dw[1], ref_dw, ref_dw, w_n, tol_dw, &worst, "dweight (direct)",
                                     name, d.w, pad);
                        continue;
                    }
                    cr_assert(!memcmp(o[0], o[1], sizeof(float) * out_n), "%s forward W=%d pad %d",
                              name, d.w, pad);
                    cr_assert(!memcmp(din[0], din[1], sizeof(float) * in_n), "%s din W=%d pad %d",
                              name, d.w, pad);
                    cr_assert(!memcmp(dw[0], dw[1], sizeof(float) * w_n), "%s dweight W=%d pad %d",
                              name, d.w, pad);
                }
                /* and the baseline against the direct convolution (the arithmetic is right) */
                for (int i = 0; i < out_n; i++)
                    cr_assert(fabsf(ref[i] - o[0][i]) < 10 * tol, "%s W=%d pad %d out %d: %g vs %g",
                              variant, d.w, pad, i, ref[i], o[0][i]);
                free(ref);
                free(ref_din);
                free(ref_dw);
                free(ref_db);
                for (int i = 0; i < 2; i++) {
                    free(o[i]);
                    free(din[i]);
                    free(dw[i]);
                    free(db[i]);
                }
                free(in);
                free(w);
                free(bias);
                free(dout);
                free(ws);
            }
    if (getenv("PTRAIN_WG_VERBOSE"))
        fprintf(stderr, "test_isa: %s: largest fraction of the tolerance used: %.3g\n", variant,
                worst);
}

Test(isa, winograd_matches_the_baseline)
{
    const pt_winograd_kernels *tables[PT_ISA_COUNT];
    for (int isa = 0; isa < PT_ISA_COUNT; isa++)
        tables[isa] = PT_KERNELS_FOR(pt_winograd_kernels, (pt_isa)isa);
    check_winograd_paths("winograd", tables, pt_winograd_workspace_size, 1e-5, 5e-6);
}

/* test_winograd4.c's tolerances; largest fraction used here on avx512: 0.12 */
#define WG4_ISA_TOL    1e-4
#define WG4_ISA_TOL_DW 5e-5

Test(isa, winograd4_matches_the_baseline)
{
    /* F(4x4,3x3) with test_winograd4's tolerances (its larger rounding is stated there) */
    const pt_winograd_kernels *tables[PT_ISA_COUNT];
    for (int isa = 0; isa < PT_ISA_COUNT; isa++)
        tables[isa] = PT_KERNELS_FOR(pt_winograd4_kernels, (pt_isa)isa);
    check_winograd_paths("winograd4", tables, pt_winograd4_workspace_size, WG4_ISA_TOL,
                         WG4_ISA_TOL_DW);
}

Test(isa, fused_relu_mask_equals_relu_backward_then_batchnorm)
{
    /* The fused backward masks dy by y > 0 inside the batch norm's loops: the same bits as the
     * ReLU's backward writing the masked gradient first (NaN and -0 in y included). */
    enum { N = 1003 };
    float *x = random_floats(N, 9, -3, 3), *dy = random_floats(N, 10, -1, 1);
    float *y = random_floats(N, 11, -1, 1), masked[N], o0[N], o1[N];
    y[5] = NAN;
    y[6] = -0.0f;
    y[7] = 0.0f;
    for (int j = 0; j < N; j++)
        masked[j] = y[j] > 0.0f ? dy[j] : 0.0f;
    for (int isa = 0; isa < PT_ISA_COUNT; isa++) {
        if (!pt_isa_supported((pt_isa)isa))
            continue;
        const pt_bn_kernels *k = PT_KERNELS_FOR(pt_bn_kernels, (pt_isa)isa);
        double a0 = 0, b0 = 0, a1 = 0, b1 = 0;
        k->backward_sums(&a0, &b0, masked, NULL, x, 0.1f, 2.0f, N);
        k->backward_sums(&a1, &b1, dy, y, x, 0.1f, 2.0f, N);
        cr_assert(a0 == a1 && b0 == b1, "%s sums", pt_isa_name((pt_isa)isa));
        k->backward_apply(o0, masked, NULL, x, N, 0.1f, 2.0f, 0.7f, 0.02f, 0.3f);
        k->backward_apply(o1, dy, y, x, N, 0.1f, 2.0f, 0.7f, 0.02f, 0.3f);
        cr_assert(!memcmp(o0, o1, sizeof o0), "%s apply", pt_isa_name((pt_isa)isa));
    }
    free(x);
    free(dy);
    free(y);
}

/* The general pool's reference: each output's clipped window in row-major order, the first
 * maximum winning, a NaN over numbers (pool.h). */
static void naive_maxpool(float *out, int32_t *am, const float *x, int H, int W, int P, int Q,
                          int k, int s, int pad)
{
    for (int p = 0; p < P; p++)
        for (int q = 0; q < Q; q++) {
            int best = -1;
            for (int ih = p * s - pad; ih < p * s - pad + k; ih++)
                for (int iw = q * s - pad; iw < q * s - pad + k; iw++) {
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                        continue;
                    const float u = x[ih * W + iw];
                    if (best < 0 || u > x[best] || (isnan(u) && !isnan(x[best])))
                        best = ih * W + iw;
                }
            out[p * Q + q] = x[best];
            am[p * Q + q] = best;
        }
}

/* Every path, the baseline included, against the reference: 3x3 stride 2 pad 1 (ResNet's stem),
 * 3x3 stride 1, 2x2 stride 1, 3x3 stride 3 (windows that skip columns), on widths from 1 to
 * past several vector blocks of outputs, with and without argmax; a 9x9 window and a 1100-wide
 * plane take the one-output-at-a-time path instead. The last row's blocks read
 * through a copy of the row, the others from the plane (pool_kernels.c): both are here. */
Test(isa, maxpool_general_matches_the_reference_on_every_path)
{
    const int shapes[][3] = {{3, 2, 1}, {3, 1, 1}, {2, 1, 0}, {3, 3, 0}, {3, 2, 0}, {9, 4, 4}};
    const int widths[] = {1, 2, 3, 7, 16, 33, 64, 130, 131, 1100};
    for (int si = 0; si < 6; si++)
        for (int wi = 0; wi < 10; wi++) {
            const int k = shapes[si][0], s = shapes[si][1], pad = shapes[si][2];
            const int H = 5, W = widths[wi];
            if (H + 2 * pad < k || W + 2 * pad < k)
                continue;
            const int P = (H + 2 * pad - k) / s + 1, Q = (W + 2 * pad - k) / s + 1;
            float *x = random_floats(H * W, 70 + wi, -1, 1);
            for (int i = 0; i < H * W; i += 5)
                x[i] = x[(i + 1) % (H * W)]; /* ties */
            for (int i = 4; i < H * W; i += 17)
                x[i] = NAN;
            float *o0 = malloc(sizeof(float) * P * Q), *o1 = malloc(sizeof(float) * P * Q);
            int32_t *a0 = malloc(sizeof(int32_t) * P * Q), *a1 = malloc(sizeof(int32_t) * P * Q);
            naive_maxpool(o0, a0, x, H, W, P, Q, k, s, pad);
            for (int isa = 0; isa < PT_ISA_COUNT; isa++) {
                if (!pt_isa_supported((pt_isa)isa))
                    continue;
                const pt_pool_kernels *kern = PT_KERNELS_FOR(pt_pool_kernels, (pt_isa)isa);
                kern->maxpool_general(o1, a1, x, H, W, P, Q, k, s, pad);
                cr_assert(!memcmp(a0, a1, sizeof(int32_t) * P * Q), "%s %dx%d s%d p%d W=%d argmax",
                          pt_isa_name((pt_isa)isa), k, k, s, pad, W);
                cr_assert(!memcmp(o0, o1, sizeof(float) * P * Q), "%s %dx%d s%d p%d W=%d values",
                          pt_isa_name((pt_isa)isa), k, k, s, pad, W);
                memset(o1, 0, sizeof(float) * P * Q);
                kern->maxpool_general(o1, NULL, x, H, W, P, Q, k, s, pad); /* eval: no argmax */
                cr_assert(!memcmp(o0, o1, sizeof(float) * P * Q),
                          "%s %dx%d s%d p%d W=%d values without argmax", pt_isa_name((pt_isa)isa),
                          k, k, s, pad, W);
            }
            free(x), free(o0), free(o1), free(a0), free(a1);
        }
}

/* The optimizer updates: SGD (first step, momentum, Nesterov, a decay mask) and AdamW give the
 * baseline's bits on every wide path, over a length that is not a multiple of any width. */
Test(isa, optimizer_updates_match_the_baseline_bit_for_bit)
{
    pt_isa paths[PT_ISA_COUNT];
    int n_paths = wide_paths(paths);
    enum { N = 1003 };
    const pt_optim_kernels *base = PT_KERNELS_FOR(pt_optim_kernels, PT_ISA_BASE);
    float *p0 = random_floats(N, 90, -1, 1), *g = random_floats(N, 91, -1, 1);
    float *m0 = random_floats(N, 92, -1, 1), *v0 = random_floats(N, 93, 0, 1);
    uint8_t mask[N];
    for (int i = 0; i < N; i++)
        mask[i] = (uint8_t)(i % 3 != 0);
    const pt_sgd_scalars sgds[3] = {{.weight_decay = 1e-3f,
                                     .momentum = 0.9f,
                                     .keep = 1.0f,
                                     .rate = 0.1f,
                                     .use_momentum = 1,
                                     .nesterov = 0,
                                     .first = 1},
                                    {.weight_decay = 1e-3f,
                                     .momentum = 0.9f,
                                     .keep = 0.8f,
                                     .rate = 0.1f,
                                     .use_momentum = 1,
                                     .nesterov = 1,
                                     .first = 0},
                                    {.weight_decay = 5e-4f, .keep = 1.0f, .rate = 0.05f}};
    const pt_adamw_scalars adam = {.shrink = 0.999f,
                                   .b1 = 0.9f,
                                   .b2 = 0.999f,
                                   .one_b1 = 0.1f,
                                   .one_b2 = 0.001f,
                                   .step_size = 0.01f,
                                   .bc2_sqrt = 0.05f,
                                   .eps = 1e-8f};
    float pa[N], ma[N], va[N], pb[N], mb[N], vb[N];
    for (int p = 0; p < n_paths; p++) {
        const pt_optim_kernels *k = PT_KERNELS_FOR(pt_optim_kernels, paths[p]);
        const char *name = pt_isa_name(paths[p]);
        for (int c = 0; c < 3; c++)
            for (int masked = 0; masked <= 1; masked++) {
                memcpy(pa, p0, sizeof pa), memcpy(pb, p0, sizeof pb);
                memcpy(ma, m0, sizeof ma), memcpy(mb, m0, sizeof mb);
                base->sgd(&sgds[c], pa, g, masked ? mask : NULL, ma, N);
                k->sgd(&sgds[c], pb, g, masked ? mask : NULL, mb, N);
                cr_assert(!memcmp(pa, pb, sizeof pa) && !memcmp(ma, mb, sizeof ma),
                          "%s sgd case %d mask %d", name, c, masked);
            }
        memcpy(pa, p0, sizeof pa), memcpy(pb, p0, sizeof pb);
        memcpy(ma, m0, sizeof ma), memcpy(mb, m0, sizeof mb);
        memcpy(va, v0, sizeof va), memcpy(vb, v0, sizeof vb);
        base->adamw(&adam, pa, g, mask, ma, va, N);
        k->adamw(&adam, pb, g, mask, mb, vb, N);
        cr_assert(!memcmp(pa, pb, sizeof pa) && !memcmp(ma, mb, sizeof ma) &&
                      !memcmp(va, vb, sizeof va),
                  "%s adamw", name);
    }
    free(p0), free(g), free(m0), free(v0);
}

/* im2col and col2im: the baseline's bits on every wide path for strides 1, 2 (the constant-stride
 * loops) and 3 (the general one), paddings 0-2, kernels 1x1 to 3x3, odd sizes. */
Test(isa, im2col_and_col2im_match_the_baseline_bit_for_bit)
{
    pt_isa paths[PT_ISA_COUNT];
    int n_paths = wide_paths(paths);
    const pt_conv_kernels *base = PT_KERNELS_FOR(pt_conv_kernels, PT_ISA_BASE);
    const int cases[][5] = {/* r, stride, pad, h, w */
                            {3, 1, 1, 9, 13}, {3, 2, 1, 9, 13}, {1, 2, 0, 8, 8},
                            {3, 3, 2, 11, 7}, {2, 2, 0, 5, 33}, {3, 2, 1, 16, 40}};
    for (int ci = 0; ci < 6; ci++) {
        pt_conv_dims d = {.n = 3,
                          .c = 2,
                          .h = cases[ci][3],
                          .w = cases[ci][4],
                          .k = 1,
                          .r = cases[ci][0],
                          .s = cases[ci][0],
                          .stride = cases[ci][1],
                          .pad = cases[ci][2]};
        const int P = pt_conv_out_h(&d), Q = pt_conv_out_w(&d);
        const size_t n_in = (size_t)d.n * d.c * d.h * d.w;
        const size_t n_col = (size_t)d.c * d.r * d.s * d.n * P * Q;
        float *x = random_floats((int)n_in, 100 + ci, -1, 1);
        float *dcol = random_floats((int)n_col, 110 + ci, -1, 1);
        float *c0 = malloc(n_col * sizeof(float)), *c1 = malloc(n_col * sizeof(float));
        float *d0 = malloc(n_in * sizeof(float)), *d1 = malloc(n_in * sizeof(float));
        base->im2col(c0, x, &d, d.n, P, Q);
        base->col2im(d0, dcol, &d, d.n, P, Q);
        for (int p = 0; p < n_paths; p++) {
            const pt_conv_kernels *k = PT_KERNELS_FOR(pt_conv_kernels, paths[p]);
            k->im2col(c1, x, &d, d.n, P, Q);
            k->col2im(d1, dcol, &d, d.n, P, Q);
            cr_assert(!memcmp(c0, c1, n_col * sizeof(float)), "%s case %d im2col",
                      pt_isa_name(paths[p]), ci);
            cr_assert(!memcmp(d0, d1, n_in * sizeof(float)), "%s case %d col2im",
                      pt_isa_name(paths[p]), ci);
        }
        free(x), free(dcol), free(c0), free(c1), free(d0), free(d1);
    }
}

Test(isa, maxpool_2x2_matches_the_baseline_with_ties_and_nans)
{
    pt_isa paths[PT_ISA_COUNT];
    int n_paths = wide_paths(paths);
    const pt_pool_kernels *base = PT_KERNELS_FOR(pt_pool_kernels, PT_ISA_BASE);
    /* below, at and past the 8- and 16-window blocks; 28 and 14: Fashion-MNIST's maps */
    const int widths[] = {2, 3, 14, 15, 16, 17, 28, 31, 32, 33, 64, 70};
    enum { N_WIDTHS = sizeof widths / sizeof widths[0], MAX_Q = 35 };
    for (int wi = 0; wi < N_WIDTHS; wi++) {
        const int W = widths[wi], H = 6, P = H / 2, Q = W / 2;
        float *x = random_floats(H * W, 12 + wi, -1, 1);
        for (int i = 0; i < H * W; i += 7)
            x[i] = x[i ^ 1]; /* ties inside windows */
        for (int i = 3; i < H * W; i += 11)
            x[i] = NAN;
        for (int i = 5; i < H * W; i += 13)
            x[i] = -0.0f;
        float *g = random_floats(P * Q, 40 + wi, -1, 1);
        for (int relu = 0; relu <= 1; relu++) {
            float o0[P * MAX_Q], o1[P * MAX_Q], d0[H * 70], d1[H * 70];
            int32_t a0[P * MAX_Q], a1[P * MAX_Q];
            base->maxpool_2x2(o0, a0, x, W, P, Q, relu);
            base->maxpool_2x2_backward(d0, g, a0, H, W, P, Q);
            for (int p = 0; p < n_paths; p++) {
                const pt_pool_kernels *k = PT_KERNELS_FOR(pt_pool_kernels, paths[p]);
                const char *name = pt_isa_name(paths[p]);
                k->maxpool_2x2(o1, a1, x, W, P, Q, relu);
                cr_assert(!memcmp(o0, o1, sizeof(float) * P * Q), "%s W=%d relu=%d values", name, W,
                          relu);
                cr_assert(!memcmp(a0, a1, sizeof(int32_t) * P * Q), "%s W=%d relu=%d argmax", name,
                          W, relu);
                k->maxpool_2x2(o1, NULL, x, W, P, Q, relu);
                cr_assert(!memcmp(o0, o1, sizeof(float) * P * Q), "%s W=%d relu=%d no argmax", name,
                          W, relu);
                k->maxpool_2x2_backward(d1, g, a0, H, W, P, Q);
                cr_assert(!memcmp(d0, d1, sizeof(float) * H * W), "%s W=%d relu=%d backward", name,
                          W, relu);
            }
        }
        free(g);
        free(x);
    }
}
