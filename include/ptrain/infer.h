/* Inference with a loaded model: class probabilities of prepared images. */
#ifndef PTRAIN_INFER_H
#define PTRAIN_INFER_H

#include <stdint.h>

#include "ptrain/model_io.h"
#include "ptrain/net.h"

/* images: n gray images of the model's height x width (as in a cache); probs (n, n_classes)
 * overwritten: softmax for single-label models, one sigmoid per class for multi-label ones.
 * Runs in chunks of the network's max batch. */
void pt_infer_probs(pt_net *net, const pt_model_meta *meta, const uint8_t *images, int64_t n,
                    float *probs);

/* The predicted class of one row of probabilities: for a binary model p(positive) >= threshold
 * (when the threshold is a number), otherwise the most probable class. */
int pt_infer_predicted(const float *probs, int n_classes, double threshold);

#endif
