/* Gradient sums and the optimizer update, shared out among the ranks of each node.
 *
 * The alternative, an allreduce of every gradient followed by the whole update on every rank,
 * makes each rank of a node copy, sum and update every parameter, and on one node Open MPI's
 * non-blocking allreduce moves the data several times (a 44 MB ResNet-18 gradient took 40 ms
 * between 2 ranks, against 5 ms for one memcpy of it). Here, with L ranks on a node:
 *
 *   1. backward writes each rank's gradients straight into its own slot of node shared memory
 *      (pt_shard_grads is the net's gradient buffer);
 *   2. after a node barrier, node rank r sums slice r of the L slots, in node-rank order, into
 *      slice r of its own slot; with several nodes, slice r is then summed across the nodes, over
 *      the ranks of node rank r (so each rank sends 1/L of the gradients off the node);
 *   3. rank r updates parameters [begin, end) of slice r only (pt_optim_step_range), with the
 *      matching part of the optimizer state, and pt_shard_share_params passes the new slices
 *      round the node: every rank ends the step with every parameter.
 *
 * Each rank sums, updates and sends 1/L of the parameters; nothing is sent twice. The slices of
 * the optimizer state a rank does not update go stale on it: pt_shard_gather_state brings them
 * together before a checkpoint. The sums are in a fixed order, so a run is bit-identical for a
 * fixed layout (ranks per node, nodes), and with 2 ranks the sum is the allreduce's a + b.
 *
 * Needs the same number of ranks on every node and node shared memory for L + 1 copies of the
 * parameters; pt_shard_create says why not when it cannot, and the caller keeps the allreduce
 * (reducer.h). */
#ifndef PTRAIN_SHARD_H
#define PTRAIN_SHARD_H

#include <stddef.h>

#include "ptrain/comm.h"
#include "ptrain/common.h"

typedef struct pt_shard pt_shard;

/* For n parameters. Collective; fails alike on every rank, PT_ERR_UNSUPPORTED for uneven nodes
 * and PT_ERR_NOMEM when the shared memory cannot be had. */
int pt_shard_create(const pt_comm *comm, size_t n, pt_shard **out, pt_error *err);
void pt_shard_free(pt_shard *s);

/* This rank's gradient slot: n floats of node shared memory, for pt_net_use_grad_buffer. */
float *pt_shard_grads(pt_shard *s);

/* This rank's slice, [begin, end): cut at multiples of 16 floats, never empty unless n is. */
void pt_shard_slice(const pt_shard *s, size_t *begin, size_t *end);

/* Step 2: after backward, pt_shard_grads()[begin, end) becomes the sum over every rank.
 * Collective. Returns the seconds spent waiting for the node's other ranks to finish backward. */
double pt_shard_reduce(pt_shard *s);

/* Step 3: params[begin, end) updated here, the other slices updated by their ranks: afterwards
 * params holds every new value. Collective over the node. */
void pt_shard_share_params(pt_shard *s, float *params);

/* Makes state, `buffers` consecutive buffers of n floats whose slice r node rank r keeps up to
 * date (the optimizer's), whole on every rank. Collective over the node; between steps only. */
void pt_shard_gather_state(pt_shard *s, float *state, int buffers);

/* Ranks per node and nodes, for the log. */
int pt_shard_node_ranks(const pt_shard *s);
int pt_shard_nodes(const pt_shard *s);

#endif
