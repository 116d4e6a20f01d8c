/* Softmax cross-entropy and sigmoid binary cross-entropy, fused forward + backward.
 * Per-sample arithmetic is in double: the rows are short (K classes, L findings) and the loss is
 * a sum over the batch that the trainer reports and compares across runs. */
#include "ptrain/loss.h"

#include <math.h>
#include <stddef.h>

double pt_softmax_xent_forward_backward(float *dlogits, float *probs, const float *logits,
                                        const int32_t *labels, const float *class_weights, int N,
                                        int K, double normalizer)
{
    double total = 0.0;
    for (int i = 0; i < N; i++) {
        const float *x = logits + (size_t)i * K;
        const int32_t y = labels[i];
        const int valid = y >= 0 && y < K;

        /* log-sum-exp after subtracting the max: every exponent is <= 0, one of them is 0, so
         * the sum is in [1, K] and its log is exact enough. */
        float m = x[0];
        for (int k = 1; k < K; k++)
            m = x[k] > m ? x[k] : m;
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += exp((double)x[k] - m);
        const double lse = m + log(sum);

        const double w = !valid ? 0.0 : class_weights ? class_weights[y] : 1.0;
        total += valid ? w * (lse - x[y]) : NAN;

        for (int k = 0; k < K; k++) {
            const double pk = exp((double)x[k] - lse);
            if (probs)
                probs[(size_t)i * K + k] = (float)pk;
            if (dlogits)
                dlogits[(size_t)i * K + k] = (float)(w * (pk - (k == y)) / normalizer);
        }
    }
    return total;
}

double pt_softmax_xent_normalizer(const int32_t *labels, const float *class_weights, int N, int K)
{
    double total = 0.0;
    for (int i = 0; i < N; i++) {
        const int32_t y = labels[i];
        if (y < 0 || y >= K)
            total += NAN;
        else
            total += class_weights ? class_weights[y] : 1.0;
    }
    return total;
}

int pt_loss_check_labels(const int32_t *labels, int N, int K, pt_error *err)
{
    for (int i = 0; i < N; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return pt_error_set(err, PT_ERR_INVALID, "label %d of sample %d is not in [0, %d)",
                                (int)labels[i], i, K);
    return PT_OK;
}

/* log(1 + e^z) without overflow for large z or loss of precision for very negative z. */
static double softplus(double z)
{
    return (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z)));
}

/* 1 / (1 + e^-z), never computing e^(large positive). */
static double sigmoid(double z)
{
    if (z >= 0.0)
        return 1.0 / (1.0 + exp(-z));
    const double e = exp(z);
    return e / (1.0 + e);
}

double pt_sigmoid_bce_forward_backward(float *dlogits, float *probs, const float *logits,
                                       const uint8_t *targets, const float *pos_weight, int N,
                                       int L, double normalizer)
{
    double total = 0.0;
    for (int i = 0; i < N; i++) {
        for (int l = 0; l < L; l++) {
            const size_t j = (size_t)i * L + l;
            const double x = logits[j];
            const double w = pos_weight ? pos_weight[l] : 1.0;
            const double s = sigmoid(x);
            if (targets[j]) {
                total += w * softplus(-x);
                if (dlogits)
                    dlogits[j] = (float)(w * (s - 1.0) / normalizer);
            } else {
                total += softplus(x);
                if (dlogits)
                    dlogits[j] = (float)(s / normalizer);
            }
            if (probs)
                probs[j] = (float)s;
        }
    }
    return total;
}
