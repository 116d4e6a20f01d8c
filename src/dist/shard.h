/* Gradient sums and the optimizer update, shared out among the ranks of each node, around one
 * copy of the parameters per node.
 *
 * The alternative, an allreduce of every gradient followed by the whole update on every rank,
 * makes each rank of a node copy, sum and update every parameter, and on one node Open MPI's
 * non-blocking allreduce moves the data several times (a 44 MB ResNet-18 gradient took 40 ms
 * between 2 ranks, against 5 ms for one memcpy of it). Here, with L ranks on a node:
 *
 *   1. the node's ranks share one parameter vector in node shared memory (pt_shard_adopt_params
 *      gives it to the net), and backward writes each rank's gradients straight into its own slot
 *      of node shared memory (pt_shard_grads is the net's gradient buffer);
 *   2. after a node barrier, node rank r sums slice r of the L slots, in node-rank order, into
 *      slice r of its own slot; with several nodes, slice r is then summed across the nodes over
 *      the ranks of node rank r (its peers, comm.h), so each rank sends 1/L of the gradients off
 *      the node;
 *   3. rank r updates parameters [begin, end) of slice r of the shared vector (pt_optim_step_range)
 *      with the matching part of the optimizer state, and after a node barrier
 *      (pt_shard_finish_update) every rank reads the new parameters.
 *
 * Each rank sums and updates 1/L of the parameters and nothing is copied. Every node updates
 * its own vector with the same sums, so the nodes stay alike. The slices of the optimizer state a
 * rank does not update go stale on it: pt_shard_gather_state brings them together before a
 * checkpoint. Where the parameters change otherwise (a resume, the best epoch's model), rank 0
 * writes them and pt_shard_bcast_params passes them to the other nodes: one rank per node
 * writes the shared vector, never two. The sums are in a fixed order, so a run is bit-identical
 * for a fixed layout (ranks per node, nodes), and with 2 ranks the sum is the allreduce's a + b.
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

/* Step 1: the node's shared parameter vector, filled with params (node rank 0 copies them: every
 * rank must hold the same values), for pt_net_use_param_buffer. Collective over the node. */
float *pt_shard_adopt_params(pt_shard *s, const float *params);

/* This rank's slice, [begin, end): cut at multiples of 16 floats, never empty unless n is. */
void pt_shard_slice(const pt_shard *s, size_t *begin, size_t *end);

/* Step 2: after backward, pt_shard_grads()[begin, end) becomes the sum over every rank.
 * Collective. */
void pt_shard_reduce(pt_shard *s);

/* Step 3's end: every rank has updated its slice of the shared parameters; no rank reads them
 * before. Collective over the node. */
void pt_shard_finish_update(pt_shard *s);

/* The shared parameters of rank 0's node copied to every other node's (after rank 0 changed
 * them). Collective. */
void pt_shard_bcast_params(pt_shard *s);

/* Makes state, `buffers` consecutive buffers of n floats whose slice r node rank r keeps up to
 * date (the optimizer's), whole on every rank. Collective over the node; between steps only. */
void pt_shard_gather_state(pt_shard *s, float *state, int buffers);

/* Ranks per node and nodes, for the log. */
int pt_shard_node_ranks(const pt_shard *s);
int pt_shard_nodes(const pt_shard *s);

#endif
