/* Inference with a loaded model: class probabilities of prepared images. */
#ifndef PTRAIN_INFER_H
#define PTRAIN_INFER_H

#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/net.h"

/* How a model's inputs are prepared and its outputs read (from the model file's attributes). */
typedef struct pt_infer_params {
    int height; /* image size the network was built for */
    int width;
    double mean; /* input normalisation: (pixel/255 - mean) / std */
    double std;
    int multi_label; /* 0: softmax over classes; 1: one sigmoid per class */
} pt_infer_params;

/* images: n gray images of the model's height x width (as in a cache); probs (n, n_classes)
 * overwritten: softmax for single-label models, one sigmoid per class for multi-label ones.
 * Runs in chunks of the network's max batch.
 *
 * Every output is checked: a network whose output is not finite (weights that are NaN, or so
 * large that a layer overflows) gives PT_ERR_FORMAT, "image I of N: output C is NaN: ...", and
 * probabilities that must not be used. A clinical classifier must fail loudly, never answer NaN:
 * every caller (eval, predict, a server) goes through this check. */
int pt_infer_probs(pt_net *net, const pt_infer_params *params, const uint8_t *images, int64_t n,
                   float *probs, pt_error *err);

/* The predicted class of one row of probabilities: for a binary model p(positive) >= threshold
 * (when the threshold is a number), otherwise the most probable class. */
int pt_infer_predicted(const float *probs, int n_classes, double threshold);

/* The class a heat map is drawn for: the positive class (the last, the one the threshold is on)
 * of a binary single-label model, so the map always shows the evidence for pneumonia; otherwise
 * the predicted class. */
int pt_infer_cam_class(const float *probs, int n_classes, double threshold, int multi_label);

#endif
