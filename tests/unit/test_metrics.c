/* Clinical metrics against hand-made cases and a brute-force pair count. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/metrics.h"
#include "ptrain/rng.h"

#define TOL 1e-12

/* pt_metrics is large; tests keep theirs on the heap as the trainer should. */
static pt_metrics *new_metrics(void)
{
    pt_metrics *m = malloc(sizeof *m);
    cr_assert_not_null(m);
    memset(m, 0xFF, sizeof *m); /* garbage: every field must be written */
    return m;
}

static double auc_of(const float *s, const uint8_t *y, int64_t n)
{
    double auc = -1;
    pt_error err;
    cr_assert_eq(pt_metrics_auc(s, y, n, &auc, &err), PT_OK, "%s", err.msg);
    return auc;
}

/* ---- AUC ---- */

Test(auc, perfect_inverted_and_tied)
{
    const uint8_t y[6] = {0, 0, 0, 1, 1, 1};
    const float perfect[6] = {0.1f, 0.2f, 0.3f, 0.7f, 0.8f, 0.9f};
    const float inverted[6] = {0.9f, 0.8f, 0.7f, 0.3f, 0.2f, 0.1f};
    const float tied[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    cr_assert_eq(auc_of(perfect, y, 6), 1.0);
    cr_assert_eq(auc_of(inverted, y, 6), 0.0);
    cr_assert_eq(auc_of(tied, y, 6), 0.5);
}

Test(auc, hand_computed_with_ties)
{
    /* positives 0.5, 0.5; negatives 0.5, 0.2.
     * Pairs: (0.5, 0.5) tie 1/2, (0.5, 0.2) win 1, for each positive: (1/2 + 1) * 2 = 3 of 4.
     * Ranks: 0.2 -> 1, the three 0.5s share (2+3+4)/3 = 3; R_pos = 6, U = 6 - 2*3/2 = 3,
     * AUC = 3 / (2*2) = 0.75. */
    const float s[4] = {0.5f, 0.5f, 0.5f, 0.2f};
    const uint8_t y[4] = {1, 1, 0, 0};
    cr_assert_eq(auc_of(s, y, 4), 0.75);

    /* Labels are "nonzero = positive", not "== 1". */
    const uint8_t y2[4] = {7, 255, 0, 0};
    cr_assert_eq(auc_of(s, y2, 4), 0.75);
}

Test(auc, undefined_without_both_classes_and_nan_scores_refused)
{
    const float s[3] = {0.1f, 0.5f, 0.9f};
    const uint8_t all_pos[3] = {1, 1, 1};
    const uint8_t all_neg[3] = {0, 0, 0};
    cr_assert(isnan(auc_of(s, all_pos, 3)));
    cr_assert(isnan(auc_of(s, all_neg, 3)));
    cr_assert(isnan(auc_of(s, all_neg, 0)));

    const float bad[3] = {0.1f, NAN, 0.9f};
    const uint8_t y[3] = {0, 1, 1};
    double auc = 0;
    pt_error err;
    cr_assert_eq(pt_metrics_auc(bad, y, 3, &auc, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "sample 1") != NULL, "%s", err.msg);
}

/* Every positive/negative pair, O(n^2): 2 for a win, 1 for a tie. */
static double brute_auc(const float *s, const uint8_t *y, int64_t n)
{
    int64_t twice = 0, p = 0, q = 0;
    for (int64_t i = 0; i < n; i++) {
        p += y[i] != 0;
        q += y[i] == 0;
        for (int64_t j = 0; j < n; j++)
            if (y[i] && !y[j])
                twice += s[i] > s[j] ? 2 : s[i] == s[j] ? 1 : 0;
    }
    return (double)twice / (2.0 * (double)p * (double)q);
}

Test(auc, agrees_with_brute_force_pair_count)
{
    enum { N = 600 };
    float s[N];
    uint8_t y[N];
    for (uint64_t trial = 0; trial < 20; trial++) {
        pt_rng rng;
        pt_rng_init(&rng, 42, trial);
        /* Few distinct levels in half the trials, so ties are everywhere; an informative score
         * (label shifts it up) so the AUC is far from 0.5 and a sign error shows. */
        int levels = trial % 2 ? 12 : 1 << 20;
        int64_t n = 50 + (int64_t)pt_rng_below(&rng, N - 50);
        for (int64_t i = 0; i < n; i++) {
            y[i] = pt_rng_uniform(&rng) < 0.3;
            double x = pt_rng_uniform(&rng) + (y[i] ? 0.4 : 0.0);
            s[i] = (float)(floor(x * levels) / levels);
        }
        double want = brute_auc(s, y, n);
        double got = auc_of(s, y, n);
        /* Both are one exact integer divided by the same product: equal to the bit. */
        cr_assert_eq(got, want, "trial %llu: %.17g vs brute force %.17g", (unsigned long long)trial,
                     got, want);
        cr_assert(want > 0.6, "the data should be informative, got %g", want);

        pt_roc_curve c;
        pt_error err;
        cr_assert_eq(pt_metrics_roc_curve(s, y, n, &c, &err), PT_OK, "%s", err.msg);
        cr_assert_eq(c.auc, want);
        /* Trapezoids under the points give the same area. */
        double area = 0;
        for (int64_t k = 1; k < c.n_points; k++)
            area += (c.points[k].fpr - c.points[k - 1].fpr) *
                    (c.points[k].tpr + c.points[k - 1].tpr) / 2;
        cr_assert_float_eq(area, want, 1e-12);
        pt_roc_curve_free(&c);
    }
}

/* ---- ROC curve and Youden ---- */

Test(roc, hand_computed_curve)
{
    /* P = 3, N = 2. Thresholds descending, calling positive every score >= threshold:
     *   +inf: tp 0 fp 0 -> (0, 0)
     *   0.9:  tp 1 fp 0 -> (0, 1/3)
     *   0.8:  tp 2 fp 1 -> (1/2, 2/3)   (a positive and a negative tie at 0.8)
     *   0.3:  tp 3 fp 1 -> (1/2, 1)
     *   0.1:  tp 3 fp 2 -> (1, 1)
     * AUC: 0.9 beats both negatives (2), 0.8 ties one and beats one (1.5), 0.3 beats one (1):
     * 4.5 / 6 = 0.75; trapezoids: 0.5 * (1/3 + 2/3) / 2 + 0.5 * 1 = 0.75. */
    const float s[5] = {0.8f, 0.1f, 0.9f, 0.3f, 0.8f};
    const uint8_t y[5] = {1, 0, 1, 1, 0};
    pt_roc_curve c;
    pt_error err;
    cr_assert_eq(pt_metrics_roc_curve(s, y, 5, &c, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(c.n_points, 5);
    cr_assert_eq(c.positives, 3);
    cr_assert_eq(c.negatives, 2);
    const double fpr[5] = {0, 0, 0.5, 0.5, 1};
    const double tpr[5] = {0, 1.0 / 3, 2.0 / 3, 1, 1};
    const float thr[5] = {INFINITY, 0.9f, 0.8f, 0.3f, 0.1f};
    for (int k = 0; k < 5; k++) {
        cr_assert_float_eq(c.points[k].fpr, fpr[k], TOL, "point %d", k);
        cr_assert_float_eq(c.points[k].tpr, tpr[k], TOL, "point %d", k);
        cr_assert_eq(c.points[k].threshold, (double)thr[k], "point %d", k);
    }
    cr_assert_eq(c.auc, 0.75);
    pt_roc_curve_free(&c);
    cr_assert_null(c.points);
    pt_roc_curve_free(&c); /* twice is harmless */

    /* J at each point: 1/3, 1/6, 1/2, 0 -> threshold 0.3, J 0.5. */
    double t, j;
    cr_assert_eq(pt_metrics_youden(s, y, 5, &t, &j, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(t, (double)0.3f);
    cr_assert_float_eq(j, 0.5, TOL);
}

Test(roc, youden_prefers_the_higher_threshold_on_equal_j)
{
    /* P = N = 2: thr 0.9 -> (0, 1/2) J 1/2; 0.7 -> (1/2, 1/2) J 0; 0.5 -> (1/2, 1) J 1/2;
     * 0.2 -> (1, 1) J 0. Two maxima; the higher threshold (fewer false alarms) wins. */
    const float s[4] = {0.9f, 0.7f, 0.5f, 0.2f};
    const uint8_t y[4] = {1, 0, 1, 0};
    double t, j;
    pt_error err;
    cr_assert_eq(pt_metrics_youden(s, y, 4, &t, &j, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(t, (double)0.9f);
    cr_assert_float_eq(j, 0.5, TOL);
    cr_assert_eq(pt_metrics_youden(s, y, 4, &t, NULL, &err), PT_OK, "j may be NULL");
}

Test(roc, one_class_input_is_an_error_for_curve_and_youden)
{
    const float s[3] = {0.1f, 0.5f, 0.9f};
    const uint8_t y[3] = {1, 1, 1};
    pt_roc_curve c;
    double t;
    pt_error err;
    cr_assert_eq(pt_metrics_roc_curve(s, y, 3, &c, &err), PT_ERR_INVALID);
    cr_assert_null(c.points);
    cr_assert(strstr(err.msg, "positives and negatives") != NULL, "%s", err.msg);
    cr_assert_eq(pt_metrics_youden(s, y, 3, &t, NULL, &err), PT_ERR_INVALID);
    cr_assert(isnan(t));
    cr_assert_eq(pt_metrics_youden(s, y, 0, &t, NULL, &err), PT_ERR_EMPTY);
}

/* ---- confusion-matrix metrics ---- */

/* Ten films, p(pneumonia) and truth:
 *   pneumonia: 0.9 0.8 0.7 0.6 | 0.3        -> at 0.5: TP 4, FN 1
 *   normal:    0.65 0.55 | 0.4 0.2 0.1      -> at 0.5: FP 2, TN 3 */
static const float bin_p[10] = {0.9f, 0.8f, 0.7f, 0.6f, 0.3f, 0.65f, 0.55f, 0.4f, 0.2f, 0.1f};
static const int32_t bin_y[10] = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0};

static void binary_probs(float *probs)
{
    for (int i = 0; i < 10; i++) {
        probs[2 * i] = 1.0f - bin_p[i];
        probs[2 * i + 1] = bin_p[i];
    }
}

Test(metrics, binary_at_a_threshold)
{
    float probs[20];
    binary_probs(probs);
    pt_metrics *m = new_metrics();
    pt_error err;
    cr_assert_eq(pt_metrics_single_label(probs, bin_y, 10, 2, 0.5, m, &err), PT_OK, "%s", err.msg);
    /* confusion [[TN FP], [FN TP]] = [[3, 2], [1, 4]] */
    const int64_t want[4] = {3, 2, 1, 4};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(m->confusion[i], want[i], "cell %d", i);
    cr_assert_eq(m->confusion[4], 0, "cells beyond K x K stay zero");
    cr_assert_eq(m->multi_label, 0);
    cr_assert_eq(m->n_classes, 2);
    cr_assert_eq(m->n, 10);
    cr_assert_eq(m->threshold, 0.5);
    cr_assert_eq(m->positive, 1);
    /* sensitivity 4/5, specificity 3/5, precision 4/6, F1 2*4 / (8 + 2 + 1) = 8/11, acc 7/10 */
    cr_assert_float_eq(m->accuracy, 0.7, TOL);
    cr_assert_float_eq(m->sensitivity, 0.8, TOL);
    cr_assert_float_eq(m->specificity, 0.6, TOL);
    cr_assert_float_eq(m->precision, 4.0 / 6, TOL);
    cr_assert_float_eq(m->f1, 8.0 / 11, TOL);
    const pt_class_metrics *pos = &m->per_class[1];
    cr_assert_eq(pos->tp, 4);
    cr_assert_eq(pos->fn, 1);
    cr_assert_eq(pos->fp, 2);
    cr_assert_eq(pos->tn, 3);
    cr_assert_eq(pos->support, 5);
    /* Class 0 is the mirror image: its sensitivity is the positive class's specificity. */
    cr_assert_float_eq(m->per_class[0].sensitivity, 0.6, TOL);
    cr_assert_float_eq(m->per_class[0].specificity, 0.8, TOL);
    cr_assert_float_eq(m->balanced_accuracy, 0.7, TOL);
    /* AUC: positives beat 5, 5, 5, 4 (0.6 loses to 0.65) and 2 negatives: 21/25 = 0.84 */
    cr_assert_float_eq(m->auc, 0.84, TOL);
    cr_assert_float_eq(m->macro_auc, 0.84, TOL);
    cr_assert_eq(m->n_auc_defined, 1);
    cr_assert_float_eq(m->per_class[0].auc, 0.84, TOL);
    cr_assert_float_eq(m->macro_f1, (8.0 / 11 + 6.0 / 9) / 2, TOL); /* class 0: 2*3/(6+1+2) */

    /* A score exactly at the threshold counts as positive (>=). */
    cr_assert_eq(pt_metrics_single_label(probs, bin_y, 10, 2, 0.6f, m, &err), PT_OK);
    cr_assert_eq(m->per_class[1].tp, 4);
    cr_assert_eq(m->per_class[1].fp, 1);
    free(m);
}

Test(metrics, youden_on_validation_then_metrics_at_that_threshold)
{
    /* What `--threshold youden` does. Descending: .9P .8P .7P .65N .6P .55N .4N .3P .2N .1N;
     * J = tpr - fpr: .2 .4 .6 .4 .6 .4 .2 .4 .2 0 -> maxima at 0.7 and 0.6, the higher wins.
     * At 0.7: TP 3, FN 2, FP 0, TN 5: sensitivity 0.6, specificity 1. */
    float probs[20], scores[10];
    uint8_t is_pos[10];
    binary_probs(probs);
    pt_metrics_one_vs_rest(probs, bin_y, 10, 2, PT_METRICS_POSITIVE, scores, is_pos);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(scores[i], bin_p[i]);
        cr_assert_eq(is_pos[i], bin_y[i] == 1);
    }
    double t, j;
    pt_error err;
    cr_assert_eq(pt_metrics_youden(scores, is_pos, 10, &t, &j, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(t, (double)0.7f);
    cr_assert_float_eq(j, 0.6, TOL);
    pt_metrics *m = new_metrics();
    cr_assert_eq(pt_metrics_single_label(probs, bin_y, 10, 2, t, m, &err), PT_OK, "%s", err.msg);
    cr_assert_float_eq(m->sensitivity, 0.6, TOL);
    cr_assert_float_eq(m->specificity, 1.0, TOL);
    cr_assert_float_eq(m->precision, 1.0, TOL);
    cr_assert_eq(m->threshold, (double)0.7f);
    free(m);
}

Test(metrics, three_class_hand_made_confusion)
{
    /* rows true normal / bacteria / virus, columns predicted:
     *   [5 1 0]    class 0: tp 5, fn 1, fp 2 (col 7 - 5), tn 20 - 8 = 12
     *   [2 6 2]    class 1: tp 6, fn 4, fp 2 (col 8 - 6), tn 20 - 12 = 8
     *   [0 1 3]    class 2: tp 3, fn 1, fp 2 (col 5 - 3), tn 20 - 6 = 14
     * accuracy 14/20. */
    const int64_t c[9] = {5, 1, 0, 2, 6, 2, 0, 1, 3};
    pt_metrics *m = new_metrics();
    pt_error err;
    cr_assert_eq(pt_metrics_from_confusion(c, 3, m, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(m->n, 20);
    cr_assert_float_eq(m->accuracy, 0.7, TOL);
    const int64_t tp[3] = {5, 6, 3}, fn[3] = {1, 4, 1}, fp[3] = {2, 2, 2}, tn[3] = {12, 8, 14};
    const double sens[3] = {5.0 / 6, 0.6, 0.75};
    const double spec[3] = {12.0 / 14, 0.8, 14.0 / 16};
    const double prec[3] = {5.0 / 7, 0.75, 0.6};
    const double f1[3] = {10.0 / 13, 12.0 / 18, 6.0 / 9};
    for (int k = 0; k < 3; k++) {
        const pt_class_metrics *pc = &m->per_class[k];
        cr_assert_eq(pc->tp, tp[k], "class %d", k);
        cr_assert_eq(pc->fn, fn[k], "class %d", k);
        cr_assert_eq(pc->fp, fp[k], "class %d", k);
        cr_assert_eq(pc->tn, tn[k], "class %d", k);
        cr_assert_float_eq(pc->sensitivity, sens[k], TOL, "class %d", k);
        cr_assert_float_eq(pc->specificity, spec[k], TOL, "class %d", k);
        cr_assert_float_eq(pc->precision, prec[k], TOL, "class %d", k);
        cr_assert_float_eq(pc->f1, f1[k], TOL, "class %d", k);
        cr_assert(isnan(pc->auc), "a confusion matrix has no ranking");
    }
    cr_assert_float_eq(m->balanced_accuracy, (5.0 / 6 + 0.6 + 0.75) / 3, TOL);
    cr_assert_float_eq(m->macro_f1, (10.0 / 13 + 2.0 / 3 + 2.0 / 3) / 3, TOL);
    cr_assert(isnan(m->macro_auc));
    cr_assert_eq(m->n_auc_defined, 0);
    cr_assert_eq(m->positive, -1, "no binary headline for three classes");
    cr_assert(isnan(m->sensitivity) && isnan(m->auc));
    cr_assert(isnan(m->threshold));

    /* In place: the matrix may already be the output's. */
    cr_assert_eq(pt_metrics_from_confusion(m->confusion, 3, m, &err), PT_OK);
    cr_assert_float_eq(m->accuracy, 0.7, TOL);
    free(m);
}

Test(metrics, undefined_ratios_are_nan_not_zero)
{
    /* Nothing predicted positive and no pneumonia at all in this tiny set:
     *   [[4 0], [0 0]]: positive class has no true cases, no calls. */
    const int64_t c[4] = {4, 0, 0, 0};
    pt_metrics *m = new_metrics();
    pt_error err;
    cr_assert_eq(pt_metrics_from_confusion(c, 2, m, &err), PT_OK, "%s", err.msg);
    cr_assert(isnan(m->sensitivity));
    cr_assert(isnan(m->precision));
    cr_assert(isnan(m->f1));
    cr_assert_float_eq(m->specificity, 1.0, TOL);
    cr_assert_float_eq(m->accuracy, 1.0, TOL);
    cr_assert_float_eq(m->balanced_accuracy, 1.0, TOL, "only classes with cases count");

    /* Cases present but none found: sensitivity 0, F1 0 (defined), precision undefined. */
    const int64_t c2[4] = {4, 0, 3, 0};
    cr_assert_eq(pt_metrics_from_confusion(c2, 2, m, &err), PT_OK);
    cr_assert_eq(m->sensitivity, 0.0);
    cr_assert_eq(m->f1, 0.0);
    cr_assert(isnan(m->precision));

    const int64_t zero[4] = {0, 0, 0, 0};
    cr_assert_eq(pt_metrics_from_confusion(zero, 2, m, &err), PT_ERR_EMPTY);
    const int64_t neg[4] = {1, -1, 0, 0};
    cr_assert_eq(pt_metrics_from_confusion(neg, 2, m, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_metrics_from_confusion(c, 1, m, &err), PT_ERR_INVALID);
    free(m);
}

Test(metrics, three_class_from_probabilities)
{
    /*            normal bact  virus   truth  argmax
     *   s0       0.7    0.2   0.1     0      0
     *   s1       0.4    0.5   0.1     0      1
     *   s2       0.2    0.6   0.2     1      1
     *   s3       0.3    0.3   0.4     1      2
     *   s4       0.1    0.2   0.7     2      2
     *   s5       0.5    0.1   0.4     2      0
     * confusion [[1 1 0], [0 1 1], [1 0 1]], accuracy 3/6.
     * One-vs-rest AUC:
     *   normal: pos {.7 .4} vs neg {.2 .3 .1 .5}: 4 + 3 = 7/8
     *   bact:   pos {.6 .3} vs neg {.2 .5 .2 .1}: 4 + 3 = 7/8
     *   virus:  pos {.7 .4} vs neg {.1 .1 .2 .4}: 4 + 3 + 1/2 (tie at .4) = 7.5/8
     * macro (7/8 + 7/8 + 15/16) / 3 = 0.8958333 */
    const float probs[18] = {0.7f, 0.2f, 0.1f, 0.4f, 0.5f, 0.1f, 0.2f, 0.6f, 0.2f,
                             0.3f, 0.3f, 0.4f, 0.1f, 0.2f, 0.7f, 0.5f, 0.1f, 0.4f};
    const int32_t y[6] = {0, 0, 1, 1, 2, 2};
    pt_metrics *m = new_metrics();
    pt_error err;
    cr_assert_eq(pt_metrics_single_label(probs, y, 6, 3, 0.5, m, &err), PT_OK, "%s", err.msg);
    const int64_t want[9] = {1, 1, 0, 0, 1, 1, 1, 0, 1};
    for (int i = 0; i < 9; i++)
        cr_assert_eq(m->confusion[i], want[i], "cell %d", i);
    cr_assert_float_eq(m->accuracy, 0.5, TOL);
    cr_assert(isnan(m->threshold), "multi-class takes the argmax, no threshold");
    cr_assert_float_eq(m->per_class[0].auc, 0.875, TOL);
    cr_assert_float_eq(m->per_class[1].auc, 0.875, TOL);
    cr_assert_float_eq(m->per_class[2].auc, 0.9375, TOL);
    cr_assert_float_eq(m->macro_auc, (0.875 + 0.875 + 0.9375) / 3, TOL);
    cr_assert_eq(m->n_auc_defined, 3);
    cr_assert_eq(m->positive, -1);
    cr_assert(isnan(m->auc));
    for (int k = 0; k < 3; k++) {
        cr_assert_float_eq(m->per_class[k].sensitivity, 0.5, TOL, "class %d", k);
        cr_assert_float_eq(m->per_class[k].precision, 0.5, TOL, "class %d", k);
        cr_assert_float_eq(m->per_class[k].specificity, 0.75, TOL, "class %d", k);
        cr_assert_eq(m->per_class[k].support, 2);
    }

    /* argmax ties go to the lowest index. */
    const float tie[3] = {0.4f, 0.4f, 0.2f};
    const int32_t y1[1] = {1};
    cr_assert_eq(pt_metrics_single_label(tie, y1, 1, 3, 0.5, m, &err), PT_OK);
    cr_assert_eq(m->confusion[1 * 3 + 0], 1);
    cr_assert(isnan(m->per_class[1].auc), "one sample: no negatives for any class");
    cr_assert(isnan(m->macro_auc));
    cr_assert_eq(m->n_auc_defined, 0);
    free(m);
}

Test(metrics, bad_inputs_are_refused)
{
    float probs[20];
    binary_probs(probs);
    pt_metrics *m = new_metrics();
    pt_error err;
    int32_t y[10];
    memcpy(y, bin_y, sizeof y);
    y[3] = 2;
    cr_assert_eq(pt_metrics_single_label(probs, y, 10, 2, 0.5, m, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "sample 3") != NULL, "%s", err.msg);
    y[3] = -1;
    cr_assert_eq(pt_metrics_single_label(probs, y, 10, 2, 0.5, m, &err), PT_ERR_INVALID);
    probs[7] = NAN;
    cr_assert_eq(pt_metrics_single_label(probs, bin_y, 10, 2, 0.5, m, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "NaN") != NULL, "%s", err.msg);
    binary_probs(probs);
    cr_assert_eq(pt_metrics_single_label(probs, bin_y, 10, 2, NAN, m, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_metrics_single_label(probs, bin_y, 0, 2, 0.5, m, &err), PT_ERR_EMPTY);
    cr_assert_eq(pt_metrics_single_label(probs, bin_y, 10, 1, 0.5, m, &err), PT_ERR_INVALID);
    cr_assert_eq(
        pt_metrics_single_label(probs, bin_y, 10, PT_METRICS_MAX_CLASSES + 1, 0.5, m, &err),
        PT_ERR_INVALID);
    free(m);
}

/* ---- multi-label ---- */

Test(multilabel, per_finding_auc_with_undefined_findings_left_out)
{
    /* Four films, four findings (columns):
     *   finding 0: truth 1 0 1 0, p .9 .2 .4 .6 -> pos {.9 .4} vs {.2 .6}: 2 + 1 = 3/4
     *   finding 1: truth all 0,   p .1 .7 .2 .3 -> no positives: AUC NaN
     *   finding 2: truth all 1,   p .8 .6 .3 .9 -> no negatives: AUC NaN
     *   finding 3: truth 0 1 1 0, p .5 .5 .9 .1 -> pos {.5 .9} vs {.5 .1}: 1.5 + 2 = 3.5/4
     * mean over the defined ones: (0.75 + 0.875) / 2 = 0.8125 (NaN counted as 0.5 would give
     * 0.65625, as 0 0.40625).
     * At threshold 0.5 (>=):
     *   finding 0: calls 1 0 0 1 -> tp 1 fn 1 fp 1 tn 1
     *   finding 1: calls 0 1 0 0 -> fp 1 tn 3: sensitivity NaN, specificity 3/4, precision 0, F1 0
     *   finding 2: calls 1 1 0 1 -> tp 3 fn 1: sensitivity 3/4, specificity NaN, F1 6/7
     *   finding 3: calls 1 1 1 0 -> tp 2 fp 1 tn 1
     * correct decisions 2 + 3 + 3 + 3 = 11 of 16. */
    const float p[16] = {0.9f, 0.1f, 0.8f, 0.5f, 0.2f, 0.7f, 0.6f, 0.5f,
                         0.4f, 0.2f, 0.3f, 0.9f, 0.6f, 0.3f, 0.9f, 0.1f};
    const uint8_t y[16] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0};
    pt_metrics *m = new_metrics();
    pt_error err;
    cr_assert_eq(pt_metrics_multi_label(p, y, 4, 4, 0.5, m, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(m->multi_label, 1);
    cr_assert_eq(m->n_classes, 4);
    cr_assert_eq(m->n, 4);
    cr_assert_eq(m->threshold, 0.5);
    cr_assert_float_eq(m->per_class[0].auc, 0.75, TOL);
    cr_assert(isnan(m->per_class[1].auc));
    cr_assert(isnan(m->per_class[2].auc));
    cr_assert_float_eq(m->per_class[3].auc, 0.875, TOL);
    cr_assert_eq(m->n_auc_defined, 2);
    cr_assert_float_eq(m->macro_auc, 0.8125, TOL);
    cr_assert_float_eq(m->accuracy, 11.0 / 16, TOL);

    const pt_class_metrics *f1 = &m->per_class[1];
    cr_assert_eq(f1->fp, 1);
    cr_assert_eq(f1->tn, 3);
    cr_assert_eq(f1->support, 0);
    cr_assert(isnan(f1->sensitivity));
    cr_assert_float_eq(f1->specificity, 0.75, TOL);
    cr_assert_eq(f1->precision, 0.0);
    cr_assert_eq(f1->f1, 0.0);
    const pt_class_metrics *f2 = &m->per_class[2];
    cr_assert_eq(f2->tp, 3);
    cr_assert_eq(f2->fn, 1);
    cr_assert_float_eq(f2->sensitivity, 0.75, TOL);
    cr_assert(isnan(f2->specificity));
    cr_assert_float_eq(f2->f1, 6.0 / 7, TOL);
    cr_assert_eq(m->per_class[3].tp, 2);
    cr_assert_eq(m->per_class[3].fp, 1);

    cr_assert_eq(m->positive, -1);
    cr_assert(isnan(m->auc), "no binary headline for multi-label");
    for (int i = 0; i < PT_METRICS_MAX_CLASSES * PT_METRICS_MAX_CLASSES; i++)
        cr_assert_eq(m->confusion[i], 0);

    /* All findings undefined: the mean is NaN, not 0 or 0.5. */
    const uint8_t none[16] = {0};
    cr_assert_eq(pt_metrics_multi_label(p, none, 4, 4, 0.5, m, &err), PT_OK);
    cr_assert_eq(m->n_auc_defined, 0);
    cr_assert(isnan(m->macro_auc));

    float bad[16];
    memcpy(bad, p, sizeof bad);
    bad[9] = NAN;
    cr_assert_eq(pt_metrics_multi_label(bad, y, 4, 4, 0.5, m, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "sample 2, column 1") != NULL, "%s", err.msg);
    cr_assert_eq(pt_metrics_multi_label(p, y, 4, 0, 0.5, m, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_metrics_multi_label(p, y, 0, 4, 0.5, m, &err), PT_ERR_EMPTY);
    free(m);
}
