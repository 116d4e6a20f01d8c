/* Gradient reduction in buckets, started while backward is still running.
 *
 * Backward finishes layers from the last to the first, so the gradient buffer becomes final from
 * its end towards its start. The reducer collects those ranges and, whenever at least a bucket's
 * worth has accumulated, starts a non-blocking allreduce of that slice; the communication then
 * overlaps the backward of the earlier layers. finish() sends the rest and waits. Every rank
 * forms the same buckets in the same order (they depend on the network, not the data). */
#ifndef PTRAIN_REDUCER_H
#define PTRAIN_REDUCER_H

#include <stddef.h>

#include "ptrain/comm.h"
#include "ptrain/common.h"

typedef struct pt_reducer pt_reducer;

/* bucket_floats: the slice size that triggers a send (e.g. 1 Mi floats = 4 MiB). */
int pt_reducer_create(const pt_comm *comm, float *grads, size_t n, size_t bucket_floats,
                      pt_reducer **out, pt_error *err);
void pt_reducer_free(pt_reducer *r);

/* A pt_grad_ready_fn (net.h): gradients [begin, end) are final. ctx is the reducer. */
void pt_reducer_ready(void *ctx, size_t begin, size_t end);

/* Sends what is left and waits for every bucket. Returns the seconds spent waiting here (the
 * part of the communication that backward did not hide). */
double pt_reducer_finish(pt_reducer *r);

/* Buckets sent per step (for the log). */
int pt_reducer_buckets(const pt_reducer *r);

#endif
