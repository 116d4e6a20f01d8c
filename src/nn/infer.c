/* Inference: normalise, forward in eval mode, softmax or sigmoid (see infer.h). */
#include "ptrain/infer.h"

#include <math.h>

#include "ptrain/augment.h"

static void softmax_rows(const float *logits, int n, int k, float *probs)
{
    for (int i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * k;
        float *out = probs + (size_t)i * k;
        float max = row[0];
        for (int c = 1; c < k; c++)
            max = row[c] > max ? row[c] : max;
        double sum = 0;
        for (int c = 0; c < k; c++)
            sum += exp((double)row[c] - max);
        for (int c = 0; c < k; c++)
            out[c] = (float)(exp((double)row[c] - max) / sum);
    }
}

/* The first of m*k logits that is not finite, or -1. */
static int64_t first_non_finite(const float *logits, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        if (!isfinite(logits[i]))
            return i;
    return -1;
}

int pt_infer_probs(pt_net *net, const pt_infer_params *params, const uint8_t *images, int64_t n,
                   float *probs, pt_error *err)
{
    int k = pt_net_outputs(net);
    int chunk = pt_net_max_batch(net);
    int64_t image = (int64_t)params->height * params->width;
    for (int64_t start = 0; start < n; start += chunk) {
        int m = (int)(n - start < chunk ? n - start : chunk);
        pt_normalize(images + start * image, m * image, (float)params->mean, (float)params->std,
                     pt_net_input(net));
        const float *logits = pt_net_forward(net, m, 0, NULL, 0);
        /* Softmax and sigmoid would turn an infinite logit into a plausible 0 or 1, or NaN:
         * the logits are where a broken model shows. */
        int64_t bad = first_non_finite(logits, (int64_t)m * k);
        if (bad >= 0)
            return pt_error_set(err, PT_ERR_FORMAT,
                                "image %lld of %lld: output %d is %s: the model's weights are NaN "
                                "or too large",
                                (long long)(start + bad / k + 1), (long long)n, (int)(bad % k),
                                isnan(logits[bad]) ? "NaN" : "infinite");
        float *out = probs + start * k;
        if (params->multi_label) {
            for (int64_t i = 0; i < (int64_t)m * k; i++)
                out[i] = (float)(1.0 / (1.0 + exp(-(double)logits[i])));
        } else {
            softmax_rows(logits, m, k, out);
        }
    }
    return PT_OK;
}

int pt_infer_predicted(const float *probs, int n_classes, double threshold)
{
    if (n_classes == 2 && isfinite(threshold))
        return probs[1] >= threshold ? 1 : 0;
    int best = 0;
    for (int c = 1; c < n_classes; c++)
        if (probs[c] > probs[best])
            best = c;
    return best;
}

int pt_infer_cam_class(const float *probs, int n_classes, double threshold, int multi_label)
{
    if (n_classes == 2 && !multi_label)
        return 1;
    return pt_infer_predicted(probs, n_classes, threshold);
}
