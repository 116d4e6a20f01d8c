/* Inverted dropout whose mask is a pure function of (key, sample id, element index).
 *
 * Element j of sample i is dropped when pt_rng_hash3(key, sample_ids[i], j) falls below p (as a
 * 53-bit fraction); kept elements are scaled by 1 / (1 - p) so that evaluation needs no rescaling
 * (it simply skips the layer). Because the mask depends on the sample's id and not on its row in
 * the batch, a sample is masked identically whichever rank computes it and wherever it sits in
 * that rank's slice: training is the same for any -np. The caller derives a fresh key per step
 * and per layer, for instance key = pt_rng_hash3(seed, step, layer_index).
 *
 * No mask is stored: backward recomputes it from the same (key, sample_ids).
 * Shapes: in, out, din, dout are (N,D), D the floats per sample (C*H*W for a feature map).
 * Precondition: 0 <= p <= 1; p == 0 is the identity, p == 1 zeroes everything. */
#ifndef PTRAIN_DROPOUT_H
#define PTRAIN_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

/* out = mask * in / (1 - p); out (N,D) overwritten, may alias in; sample_ids (N). */
void pt_dropout_forward(float *out, const float *in, const int64_t *sample_ids, uint64_t key,
                        float p, int N, size_t D);

/* din = mask * dout / (1 - p) with the forward's (key, sample_ids, p); din (N,D) OVERWRITTEN,
 * may alias dout. */
void pt_dropout_backward(float *din, const float *dout, const int64_t *sample_ids, uint64_t key,
                         float p, int N, size_t D);

#endif
