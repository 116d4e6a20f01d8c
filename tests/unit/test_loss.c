/* Losses: softmax cross-entropy with class weights and sigmoid BCE, against central differences,
 * hand-computed values, PyTorch's definitions of the weighted means, and the data-parallel
 * split. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "ptrain/loss.h"

/* ============================== softmax cross-entropy ========================================= */

typedef struct xent_case {
    int N, K;
    const int32_t *labels;
    const float *weights;
    double normalizer;
    float *logits;
} xent_case;

/* The objective is the loss the trainer reports, sum / normalizer, whose gradient is dlogits. */
static double xent_objective(void *ctx)
{
    xent_case *t = ctx;
    return pt_softmax_xent_forward_backward(NULL, NULL, t->logits, t->labels, t->weights, t->N,
                                            t->K, t->normalizer) /
           t->normalizer;
}

/* Smooth; logits ~ N(0, 2^2). step 1e-2 gives truncation ~1e-5 relative; the loss is accumulated
 * in double from float logits, so the noise is tiny. Gradients are w (p - y) / normalizer, of
 * O(0.01..0.5): rtol 1e-3, atol 1e-6. Every logit checked. */
Test(softmax_xent, gradcheck_with_class_weights_and_normalizer)
{
    enum { N = 5, K = 3 };
    const int32_t labels[N] = {0, 2, 1, 1, 0};
    const float weights[K] = {1.0f, 3.0f, 0.5f};
    float logits[N * K], dlogits[N * K];
    gc_fill_normal(logits, N * K, 91, 2.0f);
    xent_case t = {N, K, labels, weights, 0, logits};
    /* A normalizer unrelated to this batch (as if it came from a larger global batch). */
    t.normalizer = 3.7;
    pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels, weights, N, K, t.normalizer);
    gc_check("softmax xent weighted: dlogits", xent_objective, &t, logits, dlogits, N * K, 1e-2f,
             1e-3, 1e-6, 1000);
    /* And unweighted. */
    t.weights = NULL;
    pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels, NULL, N, K, t.normalizer);
    gc_check("softmax xent: dlogits", xent_objective, &t, logits, dlogits, N * K, 1e-2f, 1e-3, 1e-6,
             1000);
}

Test(softmax_xent, uniform_logits_give_log_k)
{
    enum { N = 3, K = 5 };
    const int32_t labels[N] = {0, 4, 2};
    float logits[N * K], probs[N * K], dlogits[N * K];
    for (int i = 0; i < N * K; i++)
        logits[i] = 0.25f; /* any constant row */
    double sum = pt_softmax_xent_forward_backward(dlogits, probs, logits, labels, NULL, N, K, N);
    cr_assert_float_eq(sum, N * log((double)K), 1e-12);
    for (int i = 0; i < N * K; i++)
        cr_assert_float_eq(probs[i], 0.2f, 1e-7);
    /* Mean reduction (normalizer N): (p - onehot) / N. */
    cr_assert_float_eq(dlogits[0], (0.2 - 1.0) / N, 1e-7);
    cr_assert_float_eq(dlogits[1], 0.2 / N, 1e-7);
}

Test(softmax_xent, class_weights_as_pytorch_defines_them)
{
    /* Sample 0: logits (ln 3, 0), label 0: p = 3/4, nll = ln(4/3), weight 1.
     * Sample 1: logits (0, 0), label 1: nll = ln 2, weight 3.
     * PyTorch CrossEntropyLoss(weight=[1,3]) = (1 ln(4/3) + 3 ln 2) / (1 + 3). */
    const float logits[4] = {(float)log(3.0), 0.0f, 0.0f, 0.0f};
    const int32_t labels[2] = {0, 1};
    const float weights[2] = {1.0f, 3.0f};
    double norm = pt_softmax_xent_normalizer(labels, weights, 2, 2);
    cr_assert_float_eq(norm, 4.0, 1e-12);
    cr_assert_float_eq(pt_softmax_xent_normalizer(labels, NULL, 2, 2), 2.0, 1e-12);
    float dlogits[4];
    double sum =
        pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels, weights, 2, 2, norm);
    cr_assert_float_eq(sum, log(4.0 / 3.0) + 3 * log(2.0), 1e-6);
    cr_assert_float_eq(sum / norm, (log(4.0 / 3.0) + 3 * log(2.0)) / 4, 1e-6);
    /* Gradients: w (p - onehot) / norm. */
    cr_assert_float_eq(dlogits[0], 1 * (0.75 - 1) / 4, 1e-7);
    cr_assert_float_eq(dlogits[1], 1 * 0.25 / 4, 1e-7);
    cr_assert_float_eq(dlogits[2], 3 * 0.5 / 4, 1e-7);
    cr_assert_float_eq(dlogits[3], 3 * (0.5 - 1) / 4, 1e-7);
    /* Unweighted, the same two samples: plain mean. */
    sum = pt_softmax_xent_forward_backward(NULL, NULL, logits, labels, NULL, 2, 2, 2);
    cr_assert_float_eq(sum / 2, (log(4.0 / 3.0) + log(2.0)) / 2, 1e-6);
}

Test(softmax_xent, normalizer_scales_the_gradient_and_ranks_add_up)
{
    enum { N = 6, K = 4 };
    const int32_t labels[N] = {3, 0, 1, 2, 2, 0};
    const float weights[K] = {2.0f, 1.0f, 0.5f, 1.5f};
    float logits[N * K], g1[N * K], g4[N * K], ga[N * K], gb[N * K];
    gc_fill_normal(logits, N * K, 92, 1.5f);
    double s1 = pt_softmax_xent_forward_backward(g1, NULL, logits, labels, weights, N, K, 1.0);
    double s4 = pt_softmax_xent_forward_backward(g4, NULL, logits, labels, weights, N, K, 4.0);
    cr_assert_eq(s1, s4, "the returned sum does not depend on the normalizer");
    for (int i = 0; i < N * K; i++)
        cr_assert_float_eq(g4[i], g1[i] / 4, 1e-7);

    /* Two ranks holding 4 and 2 samples of the global batch, each with the global normalizer:
     * their sums add to the whole batch's and their gradient rows are the whole batch's rows. */
    double norm = pt_softmax_xent_normalizer(labels, weights, N, K);
    double whole = pt_softmax_xent_forward_backward(g1, NULL, logits, labels, weights, N, K, norm);
    double a = pt_softmax_xent_forward_backward(ga, NULL, logits, labels, weights, 4, K, norm);
    double b =
        pt_softmax_xent_forward_backward(gb, NULL, logits + 4 * K, labels + 4, weights, 2, K, norm);
    cr_assert_float_eq(a + b, whole, 1e-12);
    cr_assert_arr_eq(ga, g1, 4 * K * sizeof(float));
    cr_assert_arr_eq(gb, g1 + 4 * K, 2 * K * sizeof(float));
}

Test(softmax_xent, stable_for_extreme_logits)
{
    const float logits[6] = {1000.0f, -1000.0f, 0.0f, 88.0f, 89.0f, -3000.0f};
    const int32_t labels[2] = {1, 1};
    float probs[6], dlogits[6];
    double sum = pt_softmax_xent_forward_backward(dlogits, probs, logits, labels, NULL, 2, 3, 2);
    /* Sample 0: lse = 1000 (the rest underflow), nll = 2000. Sample 1: nll = log(1 + e^-1). */
    cr_assert(isfinite(sum));
    cr_assert_float_eq(sum, 2000.0 + log1p(exp(-1.0)), 1e-6);
    for (int i = 0; i < 6; i++)
        cr_assert(isfinite(probs[i]) && isfinite(dlogits[i]), "element %d", i);
    cr_assert_float_eq(probs[0] + probs[1] + probs[2], 1.0f, 1e-6);
    cr_assert_float_eq(probs[3] + probs[4] + probs[5], 1.0f, 1e-6);
    cr_assert_float_eq(dlogits[1], -0.5f, 1e-7);
}

Test(softmax_xent, bad_labels_are_caught_not_read)
{
    const float logits[4] = {0, 1, 2, 3};
    const int32_t labels[2] = {1, 2};
    pt_error err;
    cr_assert_eq(pt_loss_check_labels(labels, 2, 2, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "sample 1") != NULL, "%s", err.msg);
    cr_assert_eq(pt_loss_check_labels(labels, 2, 3, &err), PT_OK);
    float dlogits[4];
    double sum = pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels, NULL, 2, 2, 2);
    cr_assert(isnan(sum), "a bad label must not train silently");
    cr_assert_eq(dlogits[2], 0.0f);
    cr_assert_eq(dlogits[3], 0.0f);
}

/* ============================== sigmoid BCE =================================================== */

typedef struct bce_case {
    int N, L;
    const uint8_t *targets;
    const float *pos_weight;
    double normalizer;
    float *logits;
} bce_case;

static double bce_objective(void *ctx)
{
    bce_case *t = ctx;
    return pt_sigmoid_bce_forward_backward(NULL, NULL, t->logits, t->targets, t->pos_weight, t->N,
                                           t->L, t->normalizer) /
           t->normalizer;
}

/* PyTorch's definition, evaluated naively (fine for moderate x): the independent reference. */
static double bce_reference(double x, int t, double w)
{
    double s = 1.0 / (1.0 + exp(-x));
    return -(w * t * log(s) + (1 - t) * log(1 - s));
}

/* Smooth; logits ~ N(0, 2^2); gradients O(0.01..0.2) after the normalizer N*L = 24:
 * step 1e-2, rtol 1e-3, atol 1e-6. Every logit checked. */
Test(sigmoid_bce, gradcheck_with_pos_weight)
{
    enum { N = 4, L = 6 };
    uint8_t targets[N * L];
    for (int i = 0; i < N * L; i++)
        targets[i] = (uint8_t)((i * 7 + 3) % 5 < 2);
    const float pos_weight[L] = {1.0f, 2.5f, 0.5f, 4.0f, 1.0f, 3.0f};
    float logits[N * L], dlogits[N * L];
    gc_fill_normal(logits, N * L, 93, 2.0f);
    bce_case t = {N, L, targets, pos_weight, (double)N * L, logits};
    pt_sigmoid_bce_forward_backward(dlogits, NULL, logits, targets, pos_weight, N, L, t.normalizer);
    gc_check("sigmoid bce pos_weight: dlogits", bce_objective, &t, logits, dlogits, N * L, 1e-2f,
             1e-3, 1e-6, 1000);
    t.pos_weight = NULL;
    pt_sigmoid_bce_forward_backward(dlogits, NULL, logits, targets, NULL, N, L, t.normalizer);
    gc_check("sigmoid bce: dlogits", bce_objective, &t, logits, dlogits, N * L, 1e-2f, 1e-3, 1e-6,
             1000);
}

Test(sigmoid_bce, known_values_and_pos_weight)
{
    /* Logit 0: loss ln 2 for either target; with pos_weight 3 on a positive, 3 ln 2. */
    const float zero[2] = {0.0f, 0.0f};
    const uint8_t t01[2] = {0, 1};
    const float pw[2] = {3.0f, 3.0f};
    float probs[2], dlogits[2];
    double s = pt_sigmoid_bce_forward_backward(dlogits, probs, zero, t01, NULL, 1, 2, 2);
    cr_assert_float_eq(s, 2 * log(2.0), 1e-12);
    cr_assert_float_eq(probs[0], 0.5f, 1e-7);
    cr_assert_float_eq(dlogits[0], 0.5 / 2, 1e-7);
    cr_assert_float_eq(dlogits[1], -0.5 / 2, 1e-7);
    s = pt_sigmoid_bce_forward_backward(dlogits, NULL, zero, t01, pw, 1, 2, 1);
    cr_assert_float_eq(s, log(2.0) + 3 * log(2.0), 1e-12);
    cr_assert_float_eq(dlogits[1], 3 * -0.5, 1e-7, "pos_weight scales a positive's gradient");
    cr_assert_float_eq(dlogits[0], 0.5, 1e-7, "and not a negative's");

    /* Moderate logits against PyTorch's formula; the mean is sum / (N * L). */
    const float x[6] = {1.5f, -0.7f, 3.0f, -2.2f, 0.3f, 5.0f};
    const uint8_t t[6] = {1, 1, 0, 0, 1, 0};
    const float w[3] = {2.0f, 1.0f, 0.5f};
    double want = 0;
    for (int i = 0; i < 6; i++)
        want += bce_reference(x[i], t[i], w[i % 3]);
    s = pt_sigmoid_bce_forward_backward(NULL, NULL, x, t, w, 2, 3, 6);
    cr_assert_float_eq(s, want, 1e-9);
    cr_assert_float_eq(s / 6, want / 6, 1e-9);
}

Test(sigmoid_bce, stable_for_extreme_logits)
{
    const float x[4] = {100.0f, -100.0f, 100.0f, -100.0f};
    const uint8_t t[4] = {0, 0, 1, 1};
    float probs[4], dlogits[4];
    double s = pt_sigmoid_bce_forward_backward(dlogits, probs, x, t, NULL, 1, 4, 1);
    /* 100 (confidently wrong negative) + ~0 + ~0 + 100 (confidently wrong positive). */
    cr_assert_float_eq(s, 200.0, 1e-9);
    for (int i = 0; i < 4; i++)
        cr_assert(isfinite(dlogits[i]) && isfinite(probs[i]), "element %d", i);
    cr_assert_float_eq(dlogits[0], 1.0f, 1e-7);
    cr_assert_float_eq(dlogits[3], -1.0f, 1e-7);
    cr_assert_float_eq(dlogits[1], 0.0f, 1e-7);
    cr_assert_float_eq(dlogits[2], 0.0f, 1e-7);
}
