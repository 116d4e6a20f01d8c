/* The layer catalogue apart from convolution: batch norm, ReLU, max and global average pooling,
 * dense, dropout, residual add. Every backward is checked against central differences (see
 * gradcheck.h for the objective and the error measure), each with its step and tolerance. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "activation.h"
#include "batchnorm.h"
#include "dense.h"
#include "dropout.h"
#include "pool.h"
#include "residual.h"
#include "ptrain/rng.h"

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    cr_assert_not_null(p);
    return p;
}

/* ============================== batch norm ==================================================== */

typedef struct bn_case {
    int N, C, HW;
    size_t n;
    float *in, *gamma, *beta, *out, *r, *mean, *rstd;
} bn_case;

static double bn_objective(void *ctx)
{
    bn_case *t = ctx;
    pt_batchnorm_forward_train(t->out, t->mean, t->rstd, NULL, NULL, t->in, t->gamma, t->beta, t->N,
                               t->C, t->HW, PT_BN_MOMENTUM, PT_BN_EPS);
    return gc_dot(t->out, t->r, t->n);
}

/* Train-mode batch norm is smooth (var > 0), but not linear: the input moves the mean and the
 * variance too, so central differences carry an O(step^2) truncation error. Inputs are N(0,1)
 * plus a per-channel offset, 36 values per channel; step 1e-2 makes the truncation ~1e-4 relative
 * and float noise (a whole channel's outputs move) ~1e-4 absolute against gradients of O(0.1..1):
 * rtol 1e-2, atol 1e-3. All elements are checked. */
Test(batchnorm, gradcheck_train_mode)
{
    bn_case t = {.N = 3, .C = 2, .HW = 12};
    t.n = (size_t)t.N * t.C * t.HW;
    t.in = falloc(t.n);
    t.out = falloc(t.n);
    t.r = falloc(t.n);
    t.gamma = falloc(t.C);
    t.beta = falloc(t.C);
    t.mean = falloc(t.C);
    t.rstd = falloc(t.C);
    float *din = falloc(t.n), *dgamma = falloc(t.C), *dbeta = falloc(t.C);
    gc_fill_normal(t.in, t.n, 1, 1.0f);
    for (size_t i = 0; i < t.n; i++)
        t.in[i] += (i / t.HW) % t.C ? 0.7f : -0.3f;
    gc_fill_normal(t.r, t.n, 2, 1.0f);
    t.gamma[0] = 1.3f, t.gamma[1] = 0.6f;
    t.beta[0] = 0.2f, t.beta[1] = -0.5f;

    bn_objective(&t);
    pt_batchnorm_backward(din, dgamma, dbeta, t.r, t.in, t.mean, t.rstd, t.gamma, t.N, t.C, t.HW);
    gc_check("batchnorm train: din", bn_objective, &t, t.in, din, t.n, 1e-2f, 1e-2, 1e-3, 1000);
    gc_check("batchnorm train: dgamma", bn_objective, &t, t.gamma, dgamma, t.C, 1e-2f, 1e-2, 1e-3,
             1000);
    gc_check("batchnorm train: dbeta", bn_objective, &t, t.beta, dbeta, t.C, 1e-2f, 1e-2, 1e-3,
             1000);
    free(t.in), free(t.out), free(t.r), free(t.gamma), free(t.beta), free(t.mean), free(t.rstd);
    free(din), free(dgamma), free(dbeta);
}

Test(batchnorm, train_step_output_and_running_stats_by_hand)
{
    /* N=2, C=2, HW=3. Channel 0 holds 1..6: mean 3.5, biased var 35/12, unbiased 3.5.
     * Channel 1 holds 2,2,2,4,4,4: mean 3, biased var 1, unbiased 6/5. */
    const float in[12] = {1, 2, 3, 2, 2, 2, 4, 5, 6, 4, 4, 4};
    const float gamma[2] = {2.0f, 1.0f}, beta[2] = {0.5f, 0.0f};
    float out[12], mean[2], rstd[2];
    float running_mean[2] = {0.0f, 1.0f}, running_var[2] = {1.0f, 2.0f};
    pt_batchnorm_forward_train(out, mean, rstd, running_mean, running_var, in, gamma, beta, 2, 2, 3,
                               PT_BN_MOMENTUM, PT_BN_EPS);
    const double var0 = 35.0 / 12.0, var1 = 1.0;
    cr_assert_float_eq(mean[0], 3.5f, 1e-6);
    cr_assert_float_eq(mean[1], 3.0f, 1e-6);
    cr_assert_float_eq(rstd[0], 1.0 / sqrt(var0 + 1e-5), 1e-6);
    cr_assert_float_eq(rstd[1], 1.0 / sqrt(var1 + 1e-5), 1e-6);
    /* running = 0.9 * running + 0.1 * batch, with the UNBIASED variance. */
    cr_assert_float_eq(running_mean[0], 0.9 * 0.0 + 0.1 * 3.5, 1e-6);
    cr_assert_float_eq(running_mean[1], 0.9 * 1.0 + 0.1 * 3.0, 1e-6);
    cr_assert_float_eq(running_var[0], 0.9 * 1.0 + 0.1 * 3.5, 1e-6);
    cr_assert_float_eq(running_var[1], 0.9 * 2.0 + 0.1 * 1.2, 1e-6);
    /* Normalised with the BIASED variance and eps 1e-5. */
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 2; c++)
            for (int j = 0; j < 3; j++) {
                int i = (n * 2 + c) * 3 + j;
                double m = c ? 3.0 : 3.5, v = c ? var1 : var0;
                double want = gamma[c] * (in[i] - m) / sqrt(v + 1e-5) + beta[c];
                cr_assert_float_eq(out[i], want, 1e-5, "out[%d] = %g, want %g", i, out[i], want);
            }
}

Test(batchnorm, empty_batch_leaves_running_stats_alone)
{
    float mean[2], rstd[2], running_mean[2] = {0.5f, 1.0f}, running_var[2] = {2.0f, 3.0f};
    const float gamma[2] = {1, 1}, beta[2] = {0, 0};
    pt_batchnorm_forward_train(NULL, mean, rstd, running_mean, running_var, NULL, gamma, beta, 0, 2,
                               16, PT_BN_MOMENTUM, PT_BN_EPS);
    cr_assert_eq(running_mean[0], 0.5f);
    cr_assert_eq(running_mean[1], 1.0f);
    cr_assert_eq(running_var[0], 2.0f);
    cr_assert_eq(running_var[1], 3.0f);
    cr_assert(isfinite(mean[0]) && isfinite(rstd[0]));
}

Test(batchnorm, eval_mode_uses_running_stats)
{
    const float in[8] = {1, -2, 3, 0.5f, 4, 4, -1, 0};
    const float gamma[2] = {1.5f, -1.0f}, beta[2] = {0.25f, 2.0f};
    const float running_mean[2] = {0.5f, -1.0f}, running_var[2] = {4.0f, 0.25f};
    float out[8];
    pt_batchnorm_forward_eval(out, in, gamma, beta, running_mean, running_var, 2, 2, 2, 1e-5f);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 2; c++)
            for (int j = 0; j < 2; j++) {
                int i = (n * 2 + c) * 2 + j;
                double want =
                    gamma[c] * (in[i] - running_mean[c]) / sqrt((double)running_var[c] + 1e-5) +
                    beta[c];
                cr_assert_float_eq(out[i], want, 1e-5, "out[%d] = %g, want %g", i, out[i], want);
            }
    /* And in place. */
    float inplace[8];
    memcpy(inplace, in, sizeof inplace);
    pt_batchnorm_forward_eval(inplace, inplace, gamma, beta, running_mean, running_var, 2, 2, 2,
                              1e-5f);
    cr_assert_arr_eq(inplace, out, sizeof out);
}

/* Sync BN: statistics and backward sums taken on two halves of a batch ("ranks") and added give
 * what the fused functions give on the whole batch. */
Test(batchnorm, separable_steps_over_two_ranks_equal_the_whole_batch)
{
    enum { N = 4, C = 3, HW = 5, HALF = N / 2 * C * HW, ALL = N * C * HW };
    float in[ALL], dout[ALL], gamma[C] = {1.0f, 0.5f, 2.0f}, beta[C] = {0.0f, 1.0f, -1.0f};
    gc_fill_normal(in, ALL, 5, 2.0f);
    gc_fill_normal(dout, ALL, 6, 1.0f);

    float out_ref[ALL], mean_ref[C], rstd_ref[C], din_ref[ALL];
    float rm_ref[C] = {0}, rv_ref[C] = {1, 1, 1};
    float dgamma_ref[C] = {0}, dbeta_ref[C] = {0};
    pt_batchnorm_forward_train(out_ref, mean_ref, rstd_ref, rm_ref, rv_ref, in, gamma, beta, N, C,
                               HW, PT_BN_MOMENTUM, PT_BN_EPS);
    pt_batchnorm_backward(din_ref, dgamma_ref, dbeta_ref, dout, in, mean_ref, rstd_ref, gamma, N, C,
                          HW);

    double sum[2][C], sumsq[2][C], tot[C], totsq[C];
    pt_batchnorm_stats(sum[0], sumsq[0], in, N / 2, C, HW);
    pt_batchnorm_stats(sum[1], sumsq[1], in + HALF, N / 2, C, HW);
    for (int c = 0; c < C; c++)
        tot[c] = sum[0][c] + sum[1][c], totsq[c] = sumsq[0][c] + sumsq[1][c];
    float mean[C], rstd[C], rm[C] = {0}, rv[C] = {1, 1, 1}, out[ALL], din[ALL];
    pt_batchnorm_moments(mean, rstd, rm, rv, tot, totsq, (double)N * HW, C, PT_BN_MOMENTUM,
                         PT_BN_EPS);
    pt_batchnorm_normalize(out, in, mean, rstd, gamma, beta, N / 2, C, HW);
    pt_batchnorm_normalize(out + HALF, in + HALF, mean, rstd, gamma, beta, N / 2, C, HW);

    double sdy[2][C], sdyx[2][C], tdy[C], tdyx[C];
    float dgamma[C] = {0}, dbeta[C] = {0};
    pt_batchnorm_backward_reduce(sdy[0], sdyx[0], dgamma, dbeta, dout, in, mean, rstd, N / 2, C,
                                 HW);
    pt_batchnorm_backward_reduce(sdy[1], sdyx[1], dgamma, dbeta, dout + HALF, in + HALF, mean, rstd,
                                 N / 2, C, HW);
    for (int c = 0; c < C; c++)
        tdy[c] = sdy[0][c] + sdy[1][c], tdyx[c] = sdyx[0][c] + sdyx[1][c];
    pt_batchnorm_backward_apply(din, dout, in, mean, rstd, gamma, tdy, tdyx, (double)N * HW, N / 2,
                                C, HW);
    pt_batchnorm_backward_apply(din + HALF, dout + HALF, in + HALF, mean, rstd, gamma, tdy, tdyx,
                                (double)N * HW, N / 2, C, HW);

    /* Same arithmetic up to the order of the double sums: agreement to float rounding. */
    for (int c = 0; c < C; c++) {
        cr_assert_float_eq(mean[c], mean_ref[c], 1e-6);
        cr_assert_float_eq(rstd[c], rstd_ref[c], 1e-6);
        cr_assert_float_eq(rm[c], rm_ref[c], 1e-6);
        cr_assert_float_eq(rv[c], rv_ref[c], 1e-6);
        cr_assert_float_eq(dgamma[c], dgamma_ref[c], 1e-5);
        cr_assert_float_eq(dbeta[c], dbeta_ref[c], 1e-5);
    }
    for (int i = 0; i < ALL; i++) {
        cr_assert_float_eq(out[i], out_ref[i], 1e-5);
        cr_assert_float_eq(din[i], din_ref[i], 1e-5);
    }
}

Test(batchnorm, fused_relu_equals_relu_of_batchnorm)
{
    enum { N = 3, C = 2, HW = 37 };
    float in[N * C * HW], a[N * C * HW], b[N * C * HW];
    for (int i = 0; i < N * C * HW; i++)
        in[i] = (float)((i * 37) % 23) - 11.0f + 0.01f * (float)i;
    const float gamma[C] = {1.5f, -0.5f}, beta[C] = {0.25f, 0.1f};
    float m1[C], r1[C], m2[C], r2[C], rm1[C] = {0}, rv1[C] = {1, 1}, rm2[C] = {0}, rv2[C] = {1, 1};
    pt_batchnorm_forward_train(a, m1, r1, rm1, rv1, in, gamma, beta, N, C, HW, 0.1f, 1e-5f);
    pt_relu_forward(a, a, N * C * HW);
    pt_batchnorm_relu_forward_train(b, m2, r2, rm2, rv2, in, gamma, beta, N, C, HW, 0.1f, 1e-5f);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "train mode: fused and separate must be identical");
    cr_assert_eq(memcmp(rm1, rm2, sizeof rm1), 0);
    cr_assert_eq(memcmp(rv1, rv2, sizeof rv1), 0);
    int zeros = 0;
    for (int i = 0; i < N * C * HW; i++)
        zeros += b[i] == 0.0f;
    cr_assert(zeros > 0 && zeros < N * C * HW, "the case must exercise both sides of the kink");
    pt_batchnorm_forward_eval(a, in, gamma, beta, rm1, rv1, N, C, HW, 1e-5f);
    pt_relu_forward(a, a, N * C * HW);
    pt_batchnorm_relu_forward_eval(b, in, gamma, beta, rm1, rv1, N, C, HW, 1e-5f);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "eval mode: fused and separate must be identical");
}

Test(batchnorm, backward_accumulates_parameters_and_overwrites_din)
{
    enum { N = 2, C = 2, HW = 4, ALL = N * C * HW };
    float in[ALL], dout[ALL], gamma[C] = {1.0f, 2.0f}, beta[C] = {0};
    float out[ALL], mean[C], rstd[C], din1[ALL], din2[ALL];
    float dgamma[C] = {0}, dbeta[C] = {0};
    gc_fill_normal(in, ALL, 8, 1.0f);
    gc_fill_normal(dout, ALL, 9, 1.0f);
    pt_batchnorm_forward_train(out, mean, rstd, NULL, NULL, in, gamma, beta, N, C, HW,
                               PT_BN_MOMENTUM, PT_BN_EPS);
    pt_batchnorm_backward(din1, dgamma, dbeta, dout, in, mean, rstd, gamma, N, C, HW);
    float g1[C], b1[C];
    memcpy(g1, dgamma, sizeof g1);
    memcpy(b1, dbeta, sizeof b1);
    for (int i = 0; i < ALL; i++)
        din2[i] = 1e30f;
    pt_batchnorm_backward(din2, dgamma, dbeta, dout, in, mean, rstd, gamma, N, C, HW);
    cr_assert_arr_eq(din1, din2, sizeof din1);
    for (int c = 0; c < C; c++) {
        cr_assert_float_eq(dgamma[c], 2 * g1[c], 1e-6);
        cr_assert_float_eq(dbeta[c], 2 * b1[c], 1e-6);
    }
}

/* ============================== ReLU ========================================================== */

typedef struct unary_case {
    size_t n;
    float *in, *out, *r;
} unary_case;

static double relu_objective(void *ctx)
{
    unary_case *t = ctx;
    pt_relu_forward(t->out, t->in, t->n);
    return gc_dot(t->out, t->r, t->n);
}

/* ReLU is not differentiable at 0: inputs are kept at |x| >= 0.1, ten steps away from the kink, so
 * no perturbation crosses it. Piecewise linear, so no truncation error: step 1e-2, rtol 1e-3,
 * atol 1e-4. */
Test(relu, gradcheck_away_from_zero)
{
    unary_case t = {.n = 200};
    t.in = falloc(t.n);
    t.out = falloc(t.n);
    t.r = falloc(t.n);
    float *din = falloc(t.n);
    gc_fill_uniform(t.in, t.n, 3, 0.1f, 2.0f);
    for (size_t i = 0; i < t.n; i += 2)
        t.in[i] = -t.in[i];
    gc_fill_normal(t.r, t.n, 4, 1.0f);
    relu_objective(&t);
    pt_relu_backward(din, t.r, t.out, t.n);
    gc_check("relu: din", relu_objective, &t, t.in, din, t.n, 1e-2f, 1e-3, 1e-4, 1000);
    free(t.in), free(t.out), free(t.r), free(din);
}

Test(relu, values_in_place_and_kink)
{
    float x[5] = {-1.5f, 0.0f, 2.0f, NAN, -0.0f};
    pt_relu_forward(x, x, 5);
    cr_assert_eq(x[0], 0.0f);
    cr_assert_eq(x[1], 0.0f);
    cr_assert_eq(x[2], 2.0f);
    cr_assert(isnan(x[3]), "NaN must survive ReLU so that divergence is seen");
    cr_assert_eq(x[4], 0.0f);
    /* At the kink the gradient is 0 (PyTorch's choice); backward may run in place on dout. */
    float g[5] = {1, 1, 1, 1, 1};
    pt_relu_backward(g, g, x, 5);
    cr_assert_eq(g[0], 0.0f);
    cr_assert_eq(g[1], 0.0f);
    cr_assert_eq(g[2], 1.0f);
}

/* ============================== max pool ====================================================== */

typedef struct pool_case {
    pt_pool_dims d;
    size_t n_in, n_out;
    float *in, *out, *r;
    int32_t *argmax;
} pool_case;

static double maxpool_objective(void *ctx)
{
    pool_case *t = ctx;
    pt_maxpool_forward(t->out, t->argmax, t->in, &t->d);
    return gc_dot(t->out, t->r, t->n_out);
}

/* Distinct values 0.05 apart in a random order: with a step of 1e-2 no perturbation can change
 * which element of a window is the max (ties would make max pool non-differentiable). */
static void fill_distinct(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 0.05f * (float)i - 1.0f;
    pt_rng rng;
    pt_rng_init(&rng, seed, 1);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)pt_rng_below(&rng, i + 1);
        float tmp = x[i];
        x[i] = x[j];
        x[j] = tmp;
    }
}

/* Max pool is piecewise linear: away from ties (fill_distinct) central differences are exact up
 * to rounding. Step 1e-2, rtol 1e-3, atol 1e-4; every element checked. */
static void gradcheck_maxpool(pt_pool_dims d, const char *name)
{
    pool_case t = {.d = d};
    pt_error err;
    cr_assert_eq(pt_maxpool_check(&d, &err), PT_OK, "%s: %s", name, err.msg);
    t.n_in = (size_t)d.n * d.c * d.h * d.w;
    t.n_out = (size_t)d.n * d.c * pt_maxpool_out_h(&d) * pt_maxpool_out_w(&d);
    t.in = falloc(t.n_in);
    t.out = falloc(t.n_out);
    t.r = falloc(t.n_out);
    t.argmax = calloc(t.n_out, sizeof(int32_t));
    float *din = falloc(t.n_in);
    fill_distinct(t.in, t.n_in, 21);
    gc_fill_normal(t.r, t.n_out, 22, 1.0f);
    maxpool_objective(&t);
    for (size_t i = 0; i < t.n_in; i++)
        din[i] = NAN; /* must be overwritten */
    pt_maxpool_backward(din, t.r, t.argmax, &d);
    char what[120];
    snprintf(what, sizeof what, "maxpool [%s]: din", name);
    gc_check(what, maxpool_objective, &t, t.in, din, t.n_in, 1e-2f, 1e-3, 1e-4, 100000);
    free(t.in), free(t.out), free(t.r), free(t.argmax), free(din);
}

Test(maxpool, gradcheck)
{
    gradcheck_maxpool((pt_pool_dims){2, 2, 6, 6, 2, 2, 0, 0}, "2x2 s2");
    gradcheck_maxpool((pt_pool_dims){2, 2, 7, 5, 2, 2, 0, 0}, "2x2 s2, odd non-square input");
    gradcheck_maxpool((pt_pool_dims){2, 2, 7, 5, 3, 2, 1, 0}, "3x3 s2 p1 (ResNet)");
    gradcheck_maxpool((pt_pool_dims){1, 2, 6, 7, 3, 1, 1, 0}, "3x3 s1 p1, overlapping windows");
}

Test(maxpool, values_padding_ties_and_indices)
{
    /* One 3x4 plane of negative values: padding must not be taken for a 0. */
    const float in[12] = {-5, -3, -8, -1, -2, -9, -4, -7, -6, -2, -3, -3};
    pt_pool_dims d = {1, 1, 3, 4, 3, 2, 1, 0};
    cr_assert_eq(pt_maxpool_out_h(&d), 2);
    cr_assert_eq(pt_maxpool_out_w(&d), 2);
    float out[4];
    int32_t idx[4];
    pt_maxpool_forward(out, idx, in, &d);
    /* Windows (rows, cols clipped to the image): (0-1, 0-1), (0-1, 1-3), (1-2, 0-1), (1-2, 1-3). */
    const float want[4] = {-2, -1, -2, -2};
    const int32_t want_idx[4] = {4, 3, 4, 9};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(out[i], want[i], "out[%d] = %g", i, out[i]);
        cr_assert_eq(idx[i], want_idx[i], "argmax[%d] = %d", i, idx[i]);
    }
    /* Window 2 holds -2 twice (indices 4 and 9): the first in row-major order wins, as in
     * PyTorch. Likewise in a constant window. */
    const float flat[4] = {1, 1, 1, 1};
    pt_pool_dims d2 = {1, 1, 2, 2, 2, 2, 0, 0};
    pt_maxpool_forward(out, idx, flat, &d2);
    cr_assert_eq(idx[0], 0);
    /* Overlapping windows choosing the same pixel add their gradients. */
    const float dout[4] = {1, 10, 100, 1000};
    float din[12];
    pt_maxpool_forward(out, idx, in, &d);
    pt_maxpool_backward(din, dout, idx, &d);
    cr_assert_eq(din[4], 101.0f);
    cr_assert_eq(din[3], 10.0f);
    cr_assert_eq(din[9], 1000.0f);
    cr_assert_eq(din[0], 0.0f);
}

Test(maxpool, two_by_two_ties_nan_and_odd_edges)
{
    /* The 2x2 stride-2 fast path: a 3x5 plane, so the last row and column fall outside every
     * window; ties go to the first in row-major order, a NaN wins (and the first NaN). */
    const float in[15] = {1, 4, 2, 2, 9, /**/ 4, 0, 2, 2, 9, /**/ 99, 99, 99, 99, 99};
    pt_pool_dims d = {1, 1, 3, 5, 2, 2, 0, 0};
    float out[2];
    int32_t idx[2];
    pt_maxpool_forward(out, idx, in, &d);
    cr_assert_eq(out[0], 4.0f);
    cr_assert_eq(idx[0], 1, "the first 4 (row 0) wins over the one below it");
    cr_assert_eq(out[1], 2.0f);
    cr_assert_eq(idx[1], 2, "constant window: the first pixel");
    const float with_nan[8] = {1, NAN, 5, 6, /**/ NAN, 3, 7, 8};
    pt_pool_dims d2 = {1, 1, 2, 4, 2, 2, 0, 0};
    pt_maxpool_forward(out, idx, with_nan, &d2);
    cr_assert(isnan(out[0]));
    cr_assert_eq(idx[0], 1, "the first NaN wins");
    cr_assert_eq(out[1], 8.0f);
    cr_assert_eq(idx[1], 7);
    /* backward writes every input pixel, the odd last row and column included */
    float din[15];
    for (int i = 0; i < 15; i++)
        din[i] = NAN;
    const float dout[2] = {10, 20};
    pt_maxpool_forward(out, idx, in, &d);
    pt_maxpool_backward(din, dout, idx, &d);
    const float want[15] = {0, 10, 20, 0, 0, /**/ 0, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 0};
    for (int i = 0; i < 15; i++)
        cr_assert_eq(din[i], want[i], "din[%d] = %g", i, din[i]);
}

/* The ReLU fused into a 2x2 pool (net.c does it for ReLU -> pool) must give the bits of the ReLU
 * layer followed by the pool: outputs, and the gradient after both backwards. Negative windows,
 * windows of -0 and 0, ties, NaN, odd edges, and widths below, at and past the 8- and 16-window
 * blocks of the wide paths. */
Test(maxpool, fused_relu_gives_the_bits_of_relu_then_pool)
{
    const int widths[] = {2, 5, 14, 28, 31, 32, 33, 64, 70};
    for (int wi = 0; wi < 9; wi++) {
        const int N = 2, C = 3, H = 7, W = widths[wi];
        const size_t n_in = (size_t)N * C * H * W;
        float *x = malloc(n_in * sizeof(float));
        pt_rng rng;
        pt_rng_init(&rng, 40 + (uint64_t)wi, 0);
        for (size_t i = 0; i < n_in; i++)
            x[i] = (float)(pt_rng_uniform(&rng) * 2.0 - 1.3); /* most windows partly negative */
        for (size_t i = 0; i < n_in; i += 13)
            x[i] = x[i ^ 1]; /* ties */
        for (size_t i = 5; i < n_in; i += 29)
            x[i] = -0.0f;
        for (size_t i = 8; i < n_in; i += 31)
            x[i] = 0.0f;
        for (size_t i = 11; i < n_in; i += 97)
            x[i] = NAN;
        pt_pool_dims d = {N, C, H, W, 2, 2, 0, 0};
        cr_assert(pt_maxpool_can_fuse_relu(&d));
        const size_t n_out = (size_t)N * C * pt_maxpool_out_h(&d) * pt_maxpool_out_w(&d);
        float *y = malloc(n_in * sizeof(float)), *o0 = malloc(n_out * sizeof(float));
        float *o1 = malloc(n_out * sizeof(float)), *g = malloc(n_out * sizeof(float));
        float *d0 = malloc(n_in * sizeof(float)), *d1 = malloc(n_in * sizeof(float));
        int32_t *a0 = malloc(n_out * sizeof(int32_t)), *a1 = malloc(n_out * sizeof(int32_t));
        for (size_t j = 0; j < n_out; j++)
            g[j] = (float)(pt_rng_uniform(&rng) - 0.5);
        /* unfused: ReLU, pool, pool's backward, ReLU's backward (in place, as in net.c) */
        pt_relu_forward(y, x, n_in);
        pt_maxpool_forward(o0, a0, y, &d);
        pt_maxpool_backward(d0, g, a0, &d);
        pt_relu_backward(d0, d0, y, n_in);
        /* fused: the pool on the raw input */
        d.relu = 1;
        pt_maxpool_forward(o1, a1, x, &d);
        pt_maxpool_backward(d1, g, a1, &d);
        cr_assert(!memcmp(o0, o1, n_out * sizeof(float)), "W=%d: outputs differ", W);
        cr_assert(!memcmp(d0, d1, n_in * sizeof(float)), "W=%d: input gradients differ", W);
        size_t clipped = 0;
        for (size_t j = 0; j < n_out; j++)
            clipped += a1[j] < 0;
        cr_assert(clipped > 0 && clipped < n_out, "W=%d: %zu of %zu windows clipped", W, clipped,
                  n_out);
        /* evaluation (no argmax) gives the same outputs */
        pt_maxpool_forward(o1, NULL, x, &d);
        cr_assert(!memcmp(o0, o1, n_out * sizeof(float)), "W=%d: outputs without argmax", W);
        free(x), free(y), free(o0), free(o1), free(g), free(d0), free(d1), free(a0), free(a1);
    }
}

Test(maxpool, check_rejects_bad_dims)
{
    pt_error err;
    cr_assert_eq(pt_maxpool_check(&(pt_pool_dims){1, 1, 4, 4, 3, 2, 2, 0}, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "padding") != NULL, "%s", err.msg);
    cr_assert_eq(pt_maxpool_check(&(pt_pool_dims){1, 1, 4, 4, 2, 0, 0, 0}, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_maxpool_check(&(pt_pool_dims){1, 1, 1, 4, 2, 2, 0, 0}, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_maxpool_check(&(pt_pool_dims){1, 1, 4, 4, 3, 2, 1, 0}, &err), PT_OK);
}

/* ============================== global average pool =========================================== */

typedef struct gap_case {
    int N, C, HW;
    float *in, *out, *r;
} gap_case;

static double gap_objective(void *ctx)
{
    gap_case *t = ctx;
    pt_global_avgpool_forward(t->out, t->in, t->N, t->C, t->HW);
    return gc_dot(t->out, t->r, (size_t)t->N * t->C);
}

/* Linear: step 1e-2, rtol 1e-3, atol 1e-5 (gradients are r / HW ~ 0.05). */
Test(global_avgpool, gradcheck_and_values)
{
    gap_case t = {.N = 3, .C = 4, .HW = 15};
    size_t n = (size_t)t.N * t.C * t.HW;
    t.in = falloc(n);
    t.out = falloc((size_t)t.N * t.C);
    t.r = falloc((size_t)t.N * t.C);
    float *din = falloc(n);
    gc_fill_normal(t.in, n, 31, 1.0f);
    gc_fill_normal(t.r, (size_t)t.N * t.C, 32, 1.0f);
    gap_objective(&t);
    for (int pl = 0; pl < t.N * t.C; pl++) {
        double s = 0;
        for (int j = 0; j < t.HW; j++)
            s += t.in[(size_t)pl * t.HW + j];
        cr_assert_float_eq(t.out[pl], s / t.HW, 1e-6);
    }
    pt_global_avgpool_backward(din, t.r, t.N, t.C, t.HW);
    gc_check("global avgpool: din", gap_objective, &t, t.in, din, n, 1e-2f, 1e-3, 1e-5, 1000);
    free(t.in), free(t.out), free(t.r), free(din);
}

/* ============================== dense ========================================================= */

typedef struct dense_case {
    int N, nin, nout;
    float *in, *w, *b, *out, *r;
} dense_case;

static double dense_objective(void *ctx)
{
    dense_case *t = ctx;
    pt_dense_forward(t->out, t->in, t->w, t->b, t->N, t->nin, t->nout);
    return gc_dot(t->out, t->r, (size_t)t->N * t->nout);
}

/* Linear in each of in, weight, bias: step 1e-2, rtol 1e-3, atol 1e-4; every element. */
Test(dense, gradcheck_and_values)
{
    dense_case t = {.N = 3, .nin = 7, .nout = 5};
    size_t ni = (size_t)t.N * t.nin, no = (size_t)t.N * t.nout, nw = (size_t)t.nout * t.nin;
    t.in = falloc(ni);
    t.w = falloc(nw);
    t.b = falloc(t.nout);
    t.out = falloc(no);
    t.r = falloc(no);
    float *din = falloc(ni), *dw = falloc(nw), *db = falloc(t.nout);
    gc_fill_normal(t.in, ni, 41, 1.0f);
    gc_fill_normal(t.w, nw, 42, 0.5f);
    gc_fill_normal(t.b, t.nout, 43, 1.0f);
    gc_fill_normal(t.r, no, 44, 1.0f);
    dense_objective(&t);
    /* out[n][o] = b[o] + sum_i in[n][i] * w[o][i]: PyTorch's Linear layout. */
    for (int n = 0; n < t.N; n++)
        for (int o = 0; o < t.nout; o++) {
            double s = t.b[o];
            for (int i = 0; i < t.nin; i++)
                s += (double)t.in[n * t.nin + i] * t.w[o * t.nin + i];
            cr_assert_float_eq(t.out[n * t.nout + o], s, 1e-5);
        }
    for (size_t i = 0; i < ni; i++)
        din[i] = NAN; /* must be overwritten */
    pt_dense_backward(din, dw, db, t.r, t.in, t.w, t.N, t.nin, t.nout);
    gc_check("dense: din", dense_objective, &t, t.in, din, ni, 1e-2f, 1e-3, 1e-4, 1000);
    gc_check("dense: dweight", dense_objective, &t, t.w, dw, nw, 1e-2f, 1e-3, 1e-4, 1000);
    gc_check("dense: dbias", dense_objective, &t, t.b, db, t.nout, 1e-2f, 1e-3, 1e-4, 1000);

    /* A second backward accumulates into dweight, dbias. */
    float dw1 = dw[3], db1 = db[2];
    pt_dense_backward(NULL, dw, db, t.r, t.in, t.w, t.N, t.nin, t.nout);
    cr_assert_float_eq(dw[3], 2 * dw1, 1e-5);
    cr_assert_float_eq(db[2], 2 * db1, 1e-5);
    /* Without bias. */
    pt_dense_forward(t.out, t.in, t.w, NULL, t.N, t.nin, t.nout);
    double s = 0;
    for (int i = 0; i < t.nin; i++)
        s += (double)t.in[t.nin + i] * t.w[2 * t.nin + i];
    cr_assert_float_eq(t.out[t.nout + 2], s, 1e-5);
    free(t.in), free(t.w), free(t.b), free(t.out), free(t.r), free(din), free(dw), free(db);
}

/* ============================== dropout ======================================================= */

typedef struct dropout_case {
    int N;
    size_t D;
    const int64_t *ids;
    uint64_t key;
    float p;
    float *in, *out, *r;
} dropout_case;

static double dropout_objective(void *ctx)
{
    dropout_case *t = ctx;
    pt_dropout_forward(t->out, t->in, t->ids, t->key, t->p, t->N, t->D);
    return gc_dot(t->out, t->r, (size_t)t->N * t->D);
}

/* With the mask fixed by (key, ids) dropout is linear: step 1e-2, rtol 1e-3, atol 1e-4. */
Test(dropout, gradcheck_fixed_mask)
{
    const int64_t ids[3] = {17, 4, 99};
    dropout_case t = {.N = 3, .D = 40, .ids = ids, .key = 1234, .p = 0.4f};
    size_t n = (size_t)t.N * t.D;
    t.in = falloc(n);
    t.out = falloc(n);
    t.r = falloc(n);
    float *din = falloc(n);
    gc_fill_normal(t.in, n, 51, 1.0f);
    gc_fill_normal(t.r, n, 52, 1.0f);
    dropout_objective(&t);
    pt_dropout_backward(din, t.r, ids, t.key, t.p, t.N, t.D);
    gc_check("dropout: din", dropout_objective, &t, t.in, din, n, 1e-2f, 1e-3, 1e-4, 1000);
    /* Backward recomputes the forward's mask: zero exactly where the output is. */
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(din[i] == 0.0f, t.out[i] == 0.0f, "element %zu", i);
    free(t.in), free(t.out), free(t.r), free(din);
}

Test(dropout, mask_follows_the_sample_not_its_position)
{
    /* One "rank" holds samples 10..13 in order; another holds 12 and 10, in other rows. */
    enum { D = 64 };
    const int64_t all_ids[4] = {10, 11, 12, 13}, rank_ids[2] = {12, 10};
    float in[4 * D], out[4 * D], in2[2 * D], out2[2 * D];
    gc_fill_uniform(in, 4 * D, 61, 1.0f, 2.0f);
    memcpy(in2, in + 2 * D, D * sizeof(float));
    memcpy(in2 + D, in, D * sizeof(float));
    pt_dropout_forward(out, in, all_ids, 777, 0.5f, 4, D);
    pt_dropout_forward(out2, in2, rank_ids, 777, 0.5f, 2, D);
    cr_assert_arr_eq(out2, out + 2 * D, D * sizeof(float));
    cr_assert_arr_eq(out2 + D, out, D * sizeof(float));
    /* Different samples, and the same sample under another step's key, get other masks. */
    int same_as_other_sample = 1, same_under_other_key = 1;
    float out3[4 * D];
    pt_dropout_forward(out3, in, all_ids, 778, 0.5f, 4, D);
    for (int j = 0; j < D; j++) {
        same_as_other_sample &= (out[j] == 0.0f) == (out[D + j] == 0.0f);
        same_under_other_key &= (out[j] == 0.0f) == (out3[j] == 0.0f);
    }
    cr_assert(!same_as_other_sample);
    cr_assert(!same_under_other_key);
}

Test(dropout, keep_rate_and_scaling)
{
    enum { N = 4, D = 50000 };
    int64_t ids[N] = {0, 1, 2, 3};
    const float p = 0.3f;
    float *in = falloc((size_t)N * D), *out = falloc((size_t)N * D);
    gc_fill_uniform(in, (size_t)N * D, 71, 0.5f, 1.5f);
    pt_dropout_forward(out, in, ids, 42, p, N, D);
    size_t kept = 0;
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < (size_t)N * D; i++) {
        if (out[i] != 0.0f) {
            kept++;
            cr_assert_eq(out[i], in[i] * scale, "kept element %zu not scaled by 1/(1-p)", i);
        }
    }
    /* Binomial: std of the kept fraction is sqrt(p(1-p)/200000) = 0.001; allow 5 std. */
    double rate = (double)kept / ((double)N * D);
    cr_assert(fabs(rate - (1.0 - p)) < 0.005, "keep rate %.4f, want %.2f", rate, 1.0 - p);
    /* p = 0 is the identity, p = 1 drops everything. */
    pt_dropout_forward(out, in, ids, 42, 0.0f, N, D);
    cr_assert_arr_eq(out, in, (size_t)N * D * sizeof(float));
    pt_dropout_forward(out, in, ids, 42, 1.0f, N, D);
    for (size_t i = 0; i < (size_t)N * D; i++)
        cr_assert_eq(out[i], 0.0f);
    free(in), free(out);
}

/* ============================== residual ====================================================== */

typedef struct residual_case {
    size_t n;
    float *a, *b, *out, *r;
} residual_case;

static double residual_objective(void *ctx)
{
    residual_case *t = ctx;
    pt_residual_forward(t->out, t->a, t->b, t->n);
    return gc_dot(t->out, t->r, t->n);
}

/* Linear: step 1e-2, rtol 1e-3, atol 1e-4. Backward accumulates, so the gradients start at 0. */
Test(residual, gradcheck_and_accumulation)
{
    residual_case t = {.n = 60};
    t.a = falloc(t.n);
    t.b = falloc(t.n);
    t.out = falloc(t.n);
    t.r = falloc(t.n);
    float *da = falloc(t.n), *db = falloc(t.n);
    gc_fill_normal(t.a, t.n, 81, 1.0f);
    gc_fill_normal(t.b, t.n, 82, 1.0f);
    gc_fill_normal(t.r, t.n, 83, 1.0f);
    residual_objective(&t);
    pt_residual_backward(da, db, t.r, t.n);
    gc_check("residual: da", residual_objective, &t, t.a, da, t.n, 1e-2f, 1e-3, 1e-4, 1000);
    gc_check("residual: db", residual_objective, &t, t.b, db, t.n, 1e-2f, 1e-3, 1e-4, 1000);
    /* += into each side: another call doubles it; NULL skips a side. */
    pt_residual_backward(da, NULL, t.r, t.n);
    for (size_t i = 0; i < t.n; i++) {
        cr_assert_eq(da[i], 2 * t.r[i]);
        cr_assert_eq(db[i], t.r[i]);
    }
    pt_residual_backward(NULL, db, t.r, t.n);
    for (size_t i = 0; i < t.n; i++)
        cr_assert_eq(db[i], 2 * t.r[i]);
    free(t.a), free(t.b), free(t.out), free(t.r), free(da), free(db);
}

/* The residual with the ReLU after it in one pass (net.c fuses them) gives the bits of the two:
 * negatives to +0, NaN and -0 kept, also in place. */
Test(residual, relu_out_matches_residual_then_relu)
{
    const float a[8] = {1.0f, -2.0f, 0.5f, NAN, -0.0f, 3.0f, -1.0f, 1e-30f};
    const float b[8] = {-3.0f, 1.0f, 0.5f, 1.0f, -0.0f, -3.0f, 1.0f, -1e-30f};
    float two[8], one[8], inplace[8];
    pt_residual_forward(two, a, b, 8);
    pt_relu_forward(two, two, 8);
    pt_residual_relu_forward(one, a, b, 8);
    cr_assert(!memcmp(one, two, sizeof one));
    memcpy(inplace, a, sizeof inplace);
    pt_residual_relu_forward(inplace, inplace, b, 8);
    cr_assert(!memcmp(inplace, two, sizeof inplace));
    cr_assert(isnan(one[3]) && signbit(one[4]) && one[1] == 0.0f && !signbit(one[0]));
}
