/* Where a training step's time goes: `ptrain train --profile` writes profile.csv in the run
 * directory and a table in the log. The layer rows come from the network's own timers (net.h);
 * the step rows (data, optimizer, allreduce) from the training loop. */
#ifndef PTRAIN_PROFILE_H
#define PTRAIN_PROFILE_H

#include <stddef.h>

#include "ptrain/common.h"
#include "ptrain/net.h"

/* Seconds over the profiled steps, summed on this rank. */
typedef struct pt_step_profile {
    double steps;
    double data_s;              /* loading and augmenting the local batch */
    double loss_s;              /* the loss and its gradient */
    double allreduce_wait_s;    /* the gradient sums backward did not hide: waiting for the
                                   allreduce's buckets, or the whole sharded sum (dist/shard.h) */
    double small_reduce_s;      /* the per-step allreduce of loss and counts */
    double optim_s;             /* the optimizer step (sharded: this rank's slice, and the new
                                   slices passed round the node) */
    double step_s;              /* whole steps */
    double allreduce_alone_s;   /* one blocking allreduce of every gradient, measured apart; 0 if
                                   not measured (a single rank, or sharded sums) */
    double allreduce_exposed_s; /* the smallest allreduce_wait_s of all ranks: the rank that ends
                                   backward last waits for communication alone, the others also
                                   for it (imbalance, not communication) */
} pt_step_profile;

/* Writes path (profile.csv): one row per layer (forward and backward ms per step, their GFLOP/s,
 * the share of conv time in sgemm) and one per step-level part, each with its share of the step. */
int pt_profile_write_csv(const char *path, const pt_net *net, const pt_step_profile *s,
                         pt_error *err);

/* The share of the gradient allreduce that backward hid, 1 - exposed / alone, in [0, 1]; -1 when
 * not measured (a single rank). */
double pt_profile_allreduce_hidden(const pt_step_profile *s);

/* The same as a table for people, into buf (cut short if cap is too small). */
void pt_profile_format(char *buf, size_t cap, const pt_net *net, const pt_step_profile *s);

#endif
