/* Losses, each fused forward + backward: one call returns the loss and writes the gradient of
 * the logits.
 *
 * Data parallelism: every rank holds a slice of the global batch but the loss is a mean over the
 * whole global batch. So the functions return the loss SUM over the local slice (in double) and
 * scale the gradient by 1/normalizer, where normalizer is the GLOBAL denominator the caller
 * supplies. Summing the ranks' losses and dividing by the normalizer gives the global mean; the
 * allreduce of gradients gives its gradient.
 *
 * dlogits is OVERWRITTEN (it is the start of backward). Any of dlogits, probs may be NULL. */
#ifndef PTRAIN_LOSS_H
#define PTRAIN_LOSS_H

#include <stdint.h>

#include "ptrain/common.h"

/* --- softmax cross-entropy (PyTorch's CrossEntropyLoss, optionally with class weights) -------- */

/* For sample i with label y = labels[i] and weight w_i = class_weights[y] (1 if NULL):
 *   nll_i = logsumexp(logits[i]) - logits[i][y]     (max-subtracted: no overflow, no log(0))
 *   returns sum_i w_i * nll_i
 *   dlogits[i][k] = w_i * (softmax(logits[i])[k] - [k == y]) / normalizer
 *   probs[i][k]   = softmax(logits[i])[k]
 * logits, dlogits, probs (N,K); labels (N) in [0, K); class_weights (K) or NULL.
 * PyTorch's (weighted) mean is this sum over the global batch divided by the global sum of
 * w_i: pass that sum (pt_softmax_xent_normalizer over the global batch's labels) as normalizer.
 * A label outside [0, K) is a precondition violation (pt_loss_check_labels); it is not read out
 * of bounds: its sample contributes NaN to the loss and a zero gradient row.
 * Precondition: normalizer > 0. */
double pt_softmax_xent_forward_backward(float *dlogits, float *probs, const float *logits,
                                        const int32_t *labels, const float *class_weights, int N,
                                        int K, double normalizer);

/* sum_i class_weights[labels[i]] (N when class_weights is NULL): PyTorch's denominator of the
 * weighted mean, for labels (N). Labels outside [0, K) add NaN. */
double pt_softmax_xent_normalizer(const int32_t *labels, const float *class_weights, int N, int K);

/* PT_OK if every label (N) is in [0, K); else PT_ERR_INVALID naming the first bad one. */
int pt_loss_check_labels(const int32_t *labels, int N, int K, pt_error *err);

/* --- sigmoid binary cross-entropy (PyTorch's BCEWithLogitsLoss), multi-label ------------------ */

/* For each logit x with target t (targets nonzero = 1) and positive weight w = pos_weight[l]
 * (1 if NULL), with softplus(z) = log(1 + e^z) computed as max(z,0) + log1p(e^-|z|):
 *   loss = w * t * softplus(-x) + (1 - t) * softplus(x)    (= -[w t log s + (1-t) log(1-s)])
 *   returns the sum over all N*L elements
 *   dlogits = (w * t * (s - 1) + (1 - t) * s) / normalizer,   s = sigmoid(x)
 *   probs   = s
 * logits, dlogits, probs (N,L); targets (N,L) uint8; pos_weight (L) or NULL.
 * PyTorch's mean reduction is the global sum / (N_global * L): pass N_global * L as normalizer.
 * Precondition: normalizer > 0. */
double pt_sigmoid_bce_forward_backward(float *dlogits, float *probs, const float *logits,
                                       const uint8_t *targets, const float *pos_weight, int N,
                                       int L, double normalizer);

#endif
