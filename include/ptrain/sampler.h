/* Which samples each rank trains on, step by step.
 *
 * Every epoch has one global permutation of the training set, a pure function of (seed, epoch).
 * Global batch b is the permutation's entries [b*B, (b+1)*B); rank r of R takes the contiguous
 * part [B_b*r/R, B_b*(r+1)/R) of it, where B_b is that batch's size. Every rank computes the same
 * permutation, so no communication is needed and a run resumed mid-epoch sees the same batches. */
#ifndef PTRAIN_SAMPLER_H
#define PTRAIN_SAMPLER_H

#include <stdint.h>

#include "ptrain/common.h"

/* Fills perm[0..n) with a permutation of 0..n-1 drawn from (seed, epoch) (Fisher-Yates). */
void pt_sampler_permutation(uint64_t seed, int64_t epoch, int64_t n, int64_t *perm);

/* Global batches per epoch. With drop_last, a final partial batch is dropped (its statistics
 * would be noisy); without, it is a smaller last batch. */
int64_t pt_sampler_batches(int64_t n, int64_t batch, int drop_last);

/* The size of global batch b (batch, or smaller for the last one). */
int64_t pt_sampler_batch_size(int64_t n, int64_t batch, int64_t b);

/* This rank's part of global batch b: positions [*begin, *begin + *count) of the permutation.
 * A rank may get nothing (batch smaller than the number of ranks); it still takes part in the
 * step's collective calls. */
void pt_sampler_slice(int64_t n, int64_t batch, int64_t b, int rank, int n_ranks, int64_t *begin,
                      int64_t *count);

#endif
