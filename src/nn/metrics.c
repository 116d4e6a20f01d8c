/* Clinical metrics from probabilities and labels.
 *
 * Everything rank-based starts from one sort of (score, label) pairs by descending score and walks
 * it in groups of equal scores. Within a group the order is irrelevant, which is how ties get
 * their half credit and why an unstable qsort still gives deterministic results. Counting is done
 * in int64 and turned into a ratio only at the end, so AUC and Youden's J are exact. */
#include "ptrain/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct scored {
    float score;
    uint8_t pos;
} scored;

static int by_score_desc(const void *pa, const void *pb)
{
    float a = ((const scored *)pa)->score;
    float b = ((const scored *)pb)->score;
    return (a < b) - (a > b);
}

static void sort_desc(scored *a, int64_t n)
{
    if (n > 1)
        qsort(a, (size_t)n, sizeof *a, by_score_desc);
}

/* Length of the run of equal scores starting at a[i], and its positives. */
static int64_t group_at(const scored *a, int64_t n, int64_t i, int64_t *pos)
{
    int64_t j = i;
    int64_t p = 0;
    while (j < n && a[j].score == a[i].score) {
        p += a[j].pos != 0;
        j++;
    }
    *pos = p;
    return j - i;
}

/* AUC of a descending-sorted array. Each negative is beaten by every positive in a higher group
 * and ties with every positive in its own; counting twice the U statistic keeps the half credits
 * integral:  2U = sum over groups of neg_g * (2 * pos_above + pos_g), AUC = 2U / (2 * P * N).
 * This is the Mann-Whitney U with averaged ranks, without forming the ranks. */
static double auc_sorted(const scored *a, int64_t n)
{
    int64_t pos_above = 0, neg_total = 0, u2 = 0;
    for (int64_t i = 0; i < n;) {
        int64_t pg;
        int64_t len = group_at(a, n, i, &pg);
        int64_t ng = len - pg;
        u2 += ng * (2 * pos_above + pg);
        pos_above += pg;
        neg_total += ng;
        i += len;
    }
    if (pos_above == 0 || neg_total == 0)
        return NAN;
    return (double)u2 / (2.0 * (double)pos_above * (double)neg_total);
}

static int load_binary(scored *a, const float *scores, const uint8_t *labels, int64_t n,
                       const char *what, pt_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        if (isnan(scores[i]))
            return pt_error_set(err, PT_ERR_INVALID, "%s: score of sample %lld is NaN", what,
                                (long long)i);
        a[i].score = scores[i];
        a[i].pos = labels[i] != 0;
    }
    return PT_OK;
}

static int check_n(int64_t n, const char *what, pt_error *err)
{
    if (n < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: negative sample count %lld", what,
                            (long long)n);
    if (n == 0)
        return pt_error_set(err, PT_ERR_EMPTY, "%s: no samples", what);
    if ((uint64_t)n > SIZE_MAX / sizeof(scored))
        return pt_error_set(err, PT_ERR_TOO_LARGE, "%s: %lld samples", what, (long long)n);
    return PT_OK;
}

static scored *alloc_scored(int64_t n, const char *what, pt_error *err)
{
    scored *a = malloc((size_t)n * sizeof *a);
    if (!a)
        pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory sorting %lld scores", what,
                     (long long)n);
    return a;
}

int pt_metrics_auc(const float *scores, const uint8_t *labels, int64_t n, double *auc,
                   pt_error *err)
{
    *auc = NAN;
    if (n == 0)
        return PT_OK; /* no positives and no negatives: undefined, like any one-class input */
    int rc = check_n(n, "auc", err);
    if (rc != PT_OK)
        return rc;
    scored *a = alloc_scored(n, "auc", err);
    if (!a)
        return PT_ERR_NOMEM;
    rc = load_binary(a, scores, labels, n, "auc", err);
    if (rc == PT_OK) {
        sort_desc(a, n);
        *auc = auc_sorted(a, n);
    }
    free(a);
    return rc;
}

/* Sorted pairs plus class totals, for the curve and Youden; fails unless both classes occur. */
static int load_two_class(const float *scores, const uint8_t *labels, int64_t n, const char *what,
                          scored **out, int64_t *positives, int64_t *negatives, pt_error *err)
{
    *out = NULL;
    int rc = check_n(n, what, err);
    if (rc != PT_OK)
        return rc;
    scored *a = alloc_scored(n, what, err);
    if (!a)
        return PT_ERR_NOMEM;
    rc = load_binary(a, scores, labels, n, what, err);
    if (rc != PT_OK)
        goto fail;
    int64_t p = 0;
    for (int64_t i = 0; i < n; i++)
        p += a[i].pos;
    if (p == 0 || p == n) {
        rc = pt_error_set(err, PT_ERR_INVALID,
                          "%s: needs positives and negatives, have %lld positive of %lld", what,
                          (long long)p, (long long)n);
        goto fail;
    }
    sort_desc(a, n);
    *out = a;
    *positives = p;
    *negatives = n - p;
    return PT_OK;
fail:
    free(a);
    return rc;
}

int pt_metrics_roc_curve(const float *scores, const uint8_t *labels, int64_t n, pt_roc_curve *curve,
                         pt_error *err)
{
    memset(curve, 0, sizeof *curve);
    scored *a;
    int64_t P, N;
    int rc = load_two_class(scores, labels, n, "roc curve", &a, &P, &N, err);
    if (rc != PT_OK)
        return rc;

    int64_t groups = 0;
    for (int64_t i = 0, pg; i < n; groups++)
        i += group_at(a, n, i, &pg);
    pt_roc_point *pts = malloc((size_t)(groups + 1) * sizeof *pts);
    if (!pts) {
        free(a);
        return pt_error_set(err, PT_ERR_NOMEM, "roc curve: out of memory for %lld points",
                            (long long)(groups + 1));
    }
    /* Above every score nothing is called positive. */
    pts[0] = (pt_roc_point){.fpr = 0, .tpr = 0, .threshold = INFINITY};
    int64_t tp = 0, fp = 0, k = 1;
    for (int64_t i = 0; i < n;) {
        int64_t pg;
        int64_t len = group_at(a, n, i, &pg);
        tp += pg;
        fp += len - pg;
        pts[k++] = (pt_roc_point){
            .fpr = (double)fp / (double)N, .tpr = (double)tp / (double)P, .threshold = a[i].score};
        i += len;
    }
    curve->points = pts;
    curve->n_points = groups + 1;
    curve->positives = P;
    curve->negatives = N;
    curve->auc = auc_sorted(a, n);
    free(a);
    return PT_OK;
}

void pt_roc_curve_free(pt_roc_curve *curve)
{
    if (!curve)
        return;
    free(curve->points);
    memset(curve, 0, sizeof *curve);
}

int pt_metrics_youden(const float *scores, const uint8_t *labels, int64_t n, double *threshold,
                      double *j, pt_error *err)
{
    *threshold = NAN;
    if (j)
        *j = NAN;
    scored *a;
    int64_t P, N;
    int rc = load_two_class(scores, labels, n, "youden threshold", &a, &P, &N, err);
    if (rc != PT_OK)
        return rc;
    /* J * P * N = tp * N - fp * P is an integer: comparing it exactly makes "highest threshold
     * among equal J" hold even where the two rates would round differently. */
    int64_t tp = 0, fp = 0, best = INT64_MIN, best_tp = 0, best_fp = 0;
    for (int64_t i = 0; i < n;) {
        int64_t pg;
        int64_t len = group_at(a, n, i, &pg);
        tp += pg;
        fp += len - pg;
        int64_t jpn = tp * N - fp * P;
        if (jpn > best) {
            best = jpn;
            best_tp = tp;
            best_fp = fp;
            *threshold = a[i].score;
        }
        i += len;
    }
    if (j)
        *j = (double)best_tp / (double)P - (double)best_fp / (double)N;
    free(a);
    return PT_OK;
}

void pt_metrics_one_vs_rest(const float *probs, const int32_t *labels, int64_t n, int n_classes,
                            int cls, float *scores, uint8_t *is_pos)
{
    for (int64_t i = 0; i < n; i++) {
        scores[i] = probs[i * n_classes + cls];
        is_pos[i] = labels[i] == cls;
    }
}

/* ---- the result struct ---- */

static double ratio(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : NAN;
}

/* Every field but the confusion matrix to "nothing known yet": counts 0, values NaN. Lists the
 * fields one by one, so a new field must be added here too. */
static void reset_fields(pt_metrics *m, int multi_label, int n_classes)
{
    m->multi_label = multi_label;
    m->n_classes = n_classes;
    m->n = 0;
    m->threshold = NAN;
    m->accuracy = NAN;
    m->balanced_accuracy = NAN;
    memset(m->per_class, 0, sizeof m->per_class);
    for (int k = 0; k < PT_METRICS_MAX_CLASSES; k++) {
        pt_class_metrics *c = &m->per_class[k];
        c->sensitivity = c->specificity = c->precision = c->f1 = c->auc = NAN;
    }
    m->macro_auc = NAN;
    m->n_auc_defined = 0;
    m->macro_f1 = NAN;
    m->positive = -1;
    m->sensitivity = m->specificity = m->precision = m->f1 = m->auc = NAN;
}

static void class_rates(pt_class_metrics *c)
{
    c->support = c->tp + c->fn;
    c->sensitivity = ratio(c->tp, c->tp + c->fn);
    c->specificity = ratio(c->tn, c->tn + c->fp);
    c->precision = ratio(c->tp, c->tp + c->fp);
    c->f1 = ratio(2 * c->tp, 2 * c->tp + c->fp + c->fn);
}

/* Adds v to a running mean unless it is undefined. */
static void add_defined(double v, double *sum, int *count)
{
    if (!isnan(v)) {
        *sum += v;
        (*count)++;
    }
}

/* Macro averages over the per-class values already filled in; undefined values stay out. */
static void macro_averages(pt_metrics *m)
{
    int K = m->n_classes;
    double sens = 0, f1 = 0, auc = 0;
    int n_sens = 0, n_f1 = 0, n_auc = 0;
    for (int k = 0; k < K; k++) {
        add_defined(m->per_class[k].sensitivity, &sens, &n_sens);
        add_defined(m->per_class[k].f1, &f1, &n_f1);
        add_defined(m->per_class[k].auc, &auc, &n_auc);
    }
    m->balanced_accuracy = n_sens ? sens / n_sens : NAN;
    m->macro_f1 = n_f1 ? f1 / n_f1 : NAN;
    m->macro_auc = n_auc ? auc / n_auc : NAN;
    m->n_auc_defined = n_auc;
    if (!m->multi_label && K == 2) {
        /* scikit-learn's binary AUC is the positive class's alone; averaging in class 0's (the
         * same ranking reversed) would only add float noise. */
        const pt_class_metrics *c = &m->per_class[PT_METRICS_POSITIVE];
        m->positive = PT_METRICS_POSITIVE;
        m->sensitivity = c->sensitivity;
        m->specificity = c->specificity;
        m->precision = c->precision;
        m->f1 = c->f1;
        m->auc = c->auc;
        m->macro_auc = c->auc;
        m->n_auc_defined = !isnan(c->auc);
    }
}

/* Single-label counts and rates from m->confusion (n_classes set, other fields reset). */
static void confusion_rates(pt_metrics *m)
{
    int K = m->n_classes;
    int64_t total = 0, correct = 0;
    for (int t = 0; t < K; t++) {
        for (int p = 0; p < K; p++)
            total += m->confusion[t * K + p];
        correct += m->confusion[t * K + t];
    }
    m->n = total;
    m->accuracy = ratio(correct, total);
    for (int k = 0; k < K; k++) {
        int64_t row = 0, col = 0;
        for (int j = 0; j < K; j++) {
            row += m->confusion[k * K + j];
            col += m->confusion[j * K + k];
        }
        pt_class_metrics *c = &m->per_class[k];
        c->tp = m->confusion[k * K + k];
        c->fn = row - c->tp;
        c->fp = col - c->tp;
        c->tn = total - c->tp - c->fn - c->fp;
        class_rates(c);
    }
}

int pt_metrics_from_confusion(const int64_t *confusion, int n_classes, pt_metrics *out,
                              pt_error *err)
{
    if (n_classes < 2 || n_classes > PT_METRICS_MAX_CLASSES)
        return pt_error_set(err, PT_ERR_INVALID, "metrics: %d classes, need 2 to %d", n_classes,
                            PT_METRICS_MAX_CLASSES);
    size_t cells = (size_t)n_classes * (size_t)n_classes;
    int64_t total = 0;
    for (size_t i = 0; i < cells; i++) {
        if (confusion[i] < 0)
            return pt_error_set(
                err, PT_ERR_INVALID, "metrics: negative count %lld in confusion cell (%zu, %zu)",
                (long long)confusion[i], i / (size_t)n_classes, i % (size_t)n_classes);
        total += confusion[i];
    }
    if (total == 0)
        return pt_error_set(err, PT_ERR_EMPTY, "metrics: empty confusion matrix");
    /* memmove: the caller may pass out->confusion itself. */
    memmove(out->confusion, confusion, cells * sizeof *confusion);
    memset(out->confusion + cells, 0, sizeof out->confusion - cells * sizeof *confusion);
    reset_fields(out, 0, n_classes);
    confusion_rates(out);
    macro_averages(out);
    return PT_OK;
}

static int check_probs(const float *probs, int64_t n, int k, const char *what, pt_error *err)
{
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            if (isnan(probs[i * k + j]))
                return pt_error_set(err, PT_ERR_INVALID,
                                    "%s: probability of sample %lld, column %d is NaN", what,
                                    (long long)i, j);
    return PT_OK;
}

int pt_metrics_single_label(const float *probs, const int32_t *labels, int64_t n, int n_classes,
                            double threshold, pt_metrics *out, pt_error *err)
{
    const char *what = "metrics";
    if (n_classes < 2 || n_classes > PT_METRICS_MAX_CLASSES)
        return pt_error_set(err, PT_ERR_INVALID, "%s: %d classes, need 2 to %d", what, n_classes,
                            PT_METRICS_MAX_CLASSES);
    if (n_classes == 2 && !isfinite(threshold))
        return pt_error_set(err, PT_ERR_INVALID, "%s: binary threshold %g is not finite", what,
                            threshold);
    int rc = check_n(n, what, err);
    if (rc != PT_OK)
        return rc;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return pt_error_set(err, PT_ERR_INVALID, "%s: label %d of sample %lld outside [0, %d)",
                                what, (int)labels[i], (long long)i, n_classes);
    rc = check_probs(probs, n, n_classes, what, err);
    if (rc != PT_OK)
        return rc;
    scored *a = alloc_scored(n, what, err);
    if (!a)
        return PT_ERR_NOMEM;

    int K = n_classes;
    reset_fields(out, 0, K);
    memset(out->confusion, 0, sizeof out->confusion);
    for (int64_t i = 0; i < n; i++) {
        const float *p = probs + i * K;
        int pred = 0;
        if (K == 2) {
            pred =
                p[PT_METRICS_POSITIVE] >= threshold ? PT_METRICS_POSITIVE : 1 - PT_METRICS_POSITIVE;
        } else {
            for (int k = 1; k < K; k++)
                if (p[k] > p[pred])
                    pred = k;
        }
        out->confusion[labels[i] * K + pred]++;
    }
    confusion_rates(out);
    out->threshold = K == 2 ? threshold : NAN;

    for (int k = 0; k < K; k++) {
        for (int64_t i = 0; i < n; i++) {
            a[i].score = probs[i * K + k];
            a[i].pos = labels[i] == k;
        }
        sort_desc(a, n);
        out->per_class[k].auc = auc_sorted(a, n);
    }
    macro_averages(out);
    free(a);
    return PT_OK;
}

int pt_metrics_multi_label(const float *probs, const uint8_t *labels, int64_t n, int n_labels,
                           double threshold, pt_metrics *out, pt_error *err)
{
    const char *what = "multi-label metrics";
    if (n_labels < 1 || n_labels > PT_METRICS_MAX_CLASSES)
        return pt_error_set(err, PT_ERR_INVALID, "%s: %d labels, need 1 to %d", what, n_labels,
                            PT_METRICS_MAX_CLASSES);
    if (!isfinite(threshold))
        return pt_error_set(err, PT_ERR_INVALID, "%s: threshold %g is not finite", what, threshold);
    int rc = check_n(n, what, err);
    if (rc != PT_OK)
        return rc;
    rc = check_probs(probs, n, n_labels, what, err);
    if (rc != PT_OK)
        return rc;
    scored *a = alloc_scored(n, what, err);
    if (!a)
        return PT_ERR_NOMEM;

    int L = n_labels;
    reset_fields(out, 1, L);
    memset(out->confusion, 0, sizeof out->confusion);
    out->n = n;
    out->threshold = threshold;
    int64_t correct = 0;
    for (int k = 0; k < L; k++) {
        pt_class_metrics *c = &out->per_class[k];
        for (int64_t i = 0; i < n; i++) {
            float p = probs[i * L + k];
            int truth = labels[i * L + k] != 0;
            int called = p >= threshold;
            c->tp += truth && called;
            c->fn += truth && !called;
            c->fp += !truth && called;
            c->tn += !truth && !called;
            a[i].score = p;
            a[i].pos = (uint8_t)truth;
        }
        class_rates(c);
        correct += c->tp + c->tn;
        sort_desc(a, n);
        c->auc = auc_sorted(a, n);
    }
    out->accuracy = (double)correct / ((double)n * (double)L);
    macro_averages(out);
    free(a);
    return PT_OK;
}
