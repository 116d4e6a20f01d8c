/* The communication layer: the only module that talks to MPI directly.
 *
 * Everything ptrain exchanges between ranks goes through these calls, so that decoders, layers and
 * the rest of the library build and test without MPI. Every call is collective over all ranks
 * unless its comment says otherwise. A failing MPI call aborts the job (MPI_Abort): a rank that
 * returned an error from a collective would leave the others waiting forever. So does a stall
 * (pt_comm_set_stall_timeout): a collective that does not complete because a rank stopped. */
#ifndef PTRAIN_COMM_H
#define PTRAIN_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

typedef struct pt_comm_impl pt_comm_impl; /* the MPI communicators, opaque */

/* A group of ranks: every call below works on the group's own communicator, so two groups split
 * from one job (two trainers, a trainer and a server) never see each other's messages. */
typedef struct pt_comm {
    int rank;      /* rank in this group */
    int size;      /* ranks in this group */
    int node_rank; /* rank among this group's ranks on this node */
    int node_size; /* this group's ranks on this node */
    pt_comm_impl *impl;
} pt_comm;

/* MPI_Init and the layout of MPI_COMM_WORLD. Not collective-safe to call twice. */
int pt_comm_init(int *argc, char ***argv, pt_comm *comm, pt_error *err);

/* The stall watchdog of the group: when a collective call (including the gradient sums) has
 * waited `seconds` (0: forever, the default), the ranks that are not themselves waiting in one are
 * found by a roll call, and the lowest rank that answers prints "<prog>: error: no progress for
 * N s (--stall-timeout N): rank R (on HOST) stopped answering ..." and ends the job with exit
 * status 1 (MPI_Abort: the stopped rank can agree to nothing). Costs nothing while collectives
 * complete. Collective. */
int pt_comm_set_stall_timeout(const pt_comm *comm, double seconds, const char *prog, pt_error *err);

/* Frees the group from pt_comm_init and calls MPI_Finalize. */
void pt_comm_finalize(pt_comm *comm);

/* Splits parent into disjoint groups: the ranks passing the same color form one group, ordered by
 * key (then by parent rank). Collective over parent. Free with pt_comm_free. */
int pt_comm_split(const pt_comm *parent, int color, int key, pt_comm *out, pt_error *err);

/* Frees a group made by pt_comm_split (not MPI itself). Collective over the group. */
void pt_comm_free(pt_comm *comm);

/* Ends every rank of the job now with exit code `code` (not collective). */
_Noreturn void pt_comm_abort(const pt_comm *comm, int code);

void pt_comm_barrier(const pt_comm *comm);

/* Broadcasts a byte buffer from root. On other ranks *data is malloc'd and *size set. */
int pt_comm_bcast_bytes(const pt_comm *comm, uint8_t **data, size_t *size, int root, pt_error *err);

/* Broadcasts `count` int64 values in place from root. */
void pt_comm_bcast_i64(const pt_comm *comm, int64_t *values, int count, int root);

/* Element-wise sums / maxima of `count` values in place, on every rank. */
void pt_comm_allreduce_sum_u64(const pt_comm *comm, uint64_t *values, int count);
void pt_comm_allreduce_sum_f64(const pt_comm *comm, double *values, int count);
void pt_comm_allreduce_max_i64(const pt_comm *comm, int64_t *values, int count);

/* Every rank contributes `count` bytes; all receive size*count bytes in rank order. */
void pt_comm_allgather_bytes(const pt_comm *comm, const uint8_t *mine, uint8_t *all, int count);

/* Concatenates every rank's byte buffer on root, in rank order. On root *all is malloc'd (may be
 * NULL with *all_size 0 when everyone sent nothing); elsewhere untouched. */
int pt_comm_gather_bytes(const pt_comm *comm, const uint8_t *mine, size_t mine_size, int root,
                         uint8_t **all, size_t *all_size, pt_error *err);

/* Status agreement: returns the lowest (most negative) status over all ranks, so that every rank
 * takes the same branch after a step that may fail on some of them. */
int pt_comm_agree_status(const pt_comm *comm, int status);

/* Broadcasts `count` floats in place from root. */
void pt_comm_bcast_f32(const pt_comm *comm, float *values, size_t count, int root);

/* ---- node shared memory: one copy of the training images per node ---- */

typedef struct pt_shared pt_shared;

/* Allocates `bytes` shared by the ranks of this node (node rank 0 holds the memory; every rank
 * gets a pointer to the same bytes). Collective. */
int pt_comm_shared_alloc(const pt_comm *comm, size_t bytes, void **ptr, pt_shared **handle,
                         pt_error *err);
void pt_comm_shared_free(pt_shared *handle);
void pt_comm_node_barrier(const pt_comm *comm);

/* ---- peers: the ranks of one node rank, one on every node (dist/shard.h) ---- */

typedef struct pt_peers pt_peers;

/* Groups every node's rank r with rank r of the other nodes. Collective. Fails alike on every
 * rank with PT_ERR_UNSUPPORTED when the nodes hold different numbers of ranks. */
int pt_peers_create(const pt_comm *comm, pt_peers **out, pt_error *err);
void pt_peers_free(pt_peers *p);

/* How many peers (nodes) there are. */
int pt_peers_count(const pt_peers *p);

/* In-place sum of values[0..count) over this rank's peers; nothing with one node. Collective over
 * the peers, with the group's stall watchdog (as the next one). */
void pt_peers_sum_f32(pt_peers *p, float *values, size_t count);

/* Broadcasts values[0..count) in place from the lowest-ranked peer (for node rank 0: rank 0). */
void pt_peers_bcast_f32(pt_peers *p, float *values, size_t count);

/* ---- non-blocking sums of float slices (gradient buckets) ---- */

typedef struct pt_allreduce pt_allreduce;

/* Room for up to max_pending reductions in flight. Collective (duplicates the communicator so
 * that gradient traffic never mixes with other messages). */
int pt_allreduce_create(const pt_comm *comm, int max_pending, pt_allreduce **out, pt_error *err);
void pt_allreduce_free(pt_allreduce *ar);

/* Starts an in-place sum of buf[0..count) over all ranks. Every rank must start the same
 * reductions in the same order. */
void pt_allreduce_start(pt_allreduce *ar, float *buf, size_t count);

/* Lets MPI progress the reductions in flight (call between pieces of other work). */
void pt_allreduce_progress(pt_allreduce *ar);

/* Waits for every reduction started since the last wait. */
void pt_allreduce_wait(pt_allreduce *ar);

#endif
