/* Clinical metrics: confusion matrix, sensitivity / specificity / precision / F1, ROC AUC, the ROC
 * curve and Youden's threshold.
 *
 * Three settings, one result struct:
 *   binary       normal vs pneumonia, K = 2, the positive class is index 1 (pneumonia); a sample
 *                is called positive when p(positive) >= threshold
 *   multi-class  normal / bacteria / virus, K > 2: the predicted class is the argmax, per-class
 *                values are one-vs-rest
 *   multi-label  NIH findings: L independent labels, each called positive at p >= threshold,
 *                per-finding values and AUC
 *
 * Inputs are probabilities (softmax or sigmoid outputs; loss is computed elsewhere) as float
 * [N, K] row-major, and labels. A value that is undefined for the data (sensitivity of a class
 * with no true cases, AUC of a finding with no positives) is NaN, never a made-up 0 or 0.5; a
 * report writer prints it as null in JSON and empty in CSV, and means skip it.
 *
 * AUC is exact (every positive/negative pair counted, ties as one half: the Mann-Whitney U with
 * averaged ranks), in O(n log n). These functions allocate their sort buffers: they run once per
 * evaluation, not in the training step. */
#ifndef PTRAIN_METRICS_H
#define PTRAIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

/* As many classes or findings as a cache can hold. */
#define PT_METRICS_MAX_CLASSES 64

/* The positive class of a binary problem: pneumonia in normal / pneumonia. */
#define PT_METRICS_POSITIVE 1

/* One class (one-vs-rest) or one finding. */
typedef struct pt_class_metrics {
    int64_t tp, fp, fn, tn;
    int64_t support;    /* true cases: tp + fn */
    double sensitivity; /* recall, tp / (tp + fn); NaN without true cases */
    double specificity; /* tn / (tn + fp); NaN without true non-cases */
    double precision;   /* tp / (tp + fp); NaN when nothing was called positive */
    double f1;          /* 2tp / (2tp + fp + fn); NaN only when the class is absent from both the
                           truth and the predictions */
    double auc;         /* one-vs-rest ROC AUC; NaN without both cases and non-cases, or when
                           computed from a confusion matrix alone */
} pt_class_metrics;

/* Large (about 38 KB, the confusion matrix is sized for the maximum class count): keep it on the
 * heap or in a long-lived struct rather than deep in a call chain. Plain data: copy it by
 * assignment (the best epoch's metrics, say). */
typedef struct pt_metrics {
    int multi_label;  /* 0: single-label, one class per sample; 1: multi-label */
    int n_classes;    /* K classes, or L findings */
    int64_t n;        /* samples */
    double threshold; /* decision threshold on p(positive) (binary) or on each p (multi-label);
                         NaN for multi-class, which takes the argmax */
    /* Single-label only: K x K row-major, rows = true class, columns = predicted class, entry
     * [t * n_classes + p]. All zero for multi-label. */
    int64_t confusion[PT_METRICS_MAX_CLASSES * PT_METRICS_MAX_CLASSES];
    /* Single-label: fraction of samples predicted correctly. Multi-label: fraction of the N * L
     * label decisions that are correct. */
    double accuracy;
    double balanced_accuracy; /* mean sensitivity over classes that have true cases */
    pt_class_metrics per_class[PT_METRICS_MAX_CLASSES];
    /* Binary: the positive class's AUC (as scikit-learn reports it). Otherwise the mean of the
     * per-class (per-finding) AUCs that are defined; NaN if none is. */
    double macro_auc;
    int n_auc_defined; /* classes or findings whose AUC is defined (entered the mean) */
    double macro_f1;   /* mean of the defined per-class F1 */
    /* Binary headline, a copy of per_class[positive]; positive = -1 and these are NaN unless the
     * problem is single-label with K = 2. */
    int positive;
    double sensitivity, specificity, precision, f1, auc;
} pt_metrics;

/* Single-label metrics. probs: float [n, n_classes]; labels: int32 [n] in [0, n_classes).
 * n_classes == 2: binary, a sample is predicted positive (class 1) iff probs[i][1] >= threshold
 * (threshold finite; 0.5 is the usual default, or a pt_metrics_youden choice made on validation).
 * n_classes > 2: argmax (lowest index on ties), threshold ignored and recorded as NaN.
 * Fails with PT_ERR_INVALID on a label out of range, a NaN probability, or n_classes outside
 * [2, PT_METRICS_MAX_CLASSES]; PT_ERR_EMPTY when n is 0; PT_ERR_NOMEM. */
int pt_metrics_single_label(const float *probs, const int32_t *labels, int64_t n, int n_classes,
                            double threshold, pt_metrics *out, pt_error *err);

/* Multi-label metrics. probs: float [n, n_labels] of per-label probabilities; labels: uint8
 * [n, n_labels], nonzero = finding present. Each label is called present iff p >= threshold.
 * n_labels in [1, PT_METRICS_MAX_CLASSES]. Same errors as above. */
int pt_metrics_multi_label(const float *probs, const uint8_t *labels, int64_t n, int n_labels,
                           double threshold, pt_metrics *out, pt_error *err);

/* The counting part of pt_metrics_single_label from a confusion matrix alone (K x K, rows = true,
 * int64 counts >= 0): accuracy, per-class and binary headline values; AUCs NaN, threshold NaN.
 * Useful when ranks count their own share and the matrices are summed. */
int pt_metrics_from_confusion(const int64_t *confusion, int n_classes, pt_metrics *out,
                              pt_error *err);

/* Copies column cls of probs [n, n_classes] into scores [n] and sets is_pos[i] = (labels[i] ==
 * cls): the one-vs-rest view the functions below take. Binary: cls = PT_METRICS_POSITIVE. */
void pt_metrics_one_vs_rest(const float *probs, const int32_t *labels, int64_t n, int n_classes,
                            int cls, float *scores, uint8_t *is_pos);

/* ROC AUC of scores [n] against binary labels [n] (nonzero = positive): the probability that a
 * random positive scores above a random negative, ties counting one half. *auc is NaN (and the
 * call succeeds) when the labels lack positives or negatives. PT_ERR_INVALID on a NaN score. */
int pt_metrics_auc(const float *scores, const uint8_t *labels, int64_t n, double *auc,
                   pt_error *err);

/* One point of the ROC curve: calling positive every sample with score >= threshold gives this
 * false-positive and true-positive rate. */
typedef struct pt_roc_point {
    double fpr;
    double tpr;
    double threshold;
} pt_roc_point;

typedef struct pt_roc_curve {
    pt_roc_point *points; /* malloc'd; from (0, 0) at threshold +inf to (1, 1) */
    int64_t n_points;     /* distinct scores + 1 */
    int64_t positives;
    int64_t negatives;
    double auc; /* the same value pt_metrics_auc gives (the trapezoid area under the points) */
} pt_roc_curve;

/* The full ROC curve, one point per distinct score, thresholds descending, as scikit-learn's
 * roc_curve(drop_intermediate=False). Needs both positives and negatives (PT_ERR_INVALID
 * otherwise, or on a NaN score). Free with pt_roc_curve_free. */
int pt_metrics_roc_curve(const float *scores, const uint8_t *labels, int64_t n, pt_roc_curve *curve,
                         pt_error *err);

/* Frees the points and zeroes the struct; safe on a zeroed or already freed curve. */
void pt_roc_curve_free(pt_roc_curve *curve);

/* Youden's J: the threshold (one of the scores) maximising tpr - fpr, so that calling positive
 * every score >= *threshold is the best balance of sensitivity and specificity. Among equal J the
 * highest threshold wins (fewest false alarms). Choose it on validation, apply it to test.
 * *j (may be NULL) receives the maximum. Needs both classes, like pt_metrics_roc_curve. */
int pt_metrics_youden(const float *scores, const uint8_t *labels, int64_t n, double *threshold,
                      double *j, pt_error *err);

#endif
