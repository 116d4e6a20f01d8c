/* Node-sharded gradient sums and optimizer update (see shard.h). */
#include "shard.h"

#include <stdlib.h>
#include <string.h>

/* Slots start on 64-byte lines, so that two ranks never write one cache line. */
#define LINE_FLOATS 16
/* Summed a block at a time, so that the loop over slots is the outer one and vectorises. */
#define SUM_BLOCK 1024

struct pt_shard {
    const pt_comm *comm;
    pt_shared *memory;    /* node shared: ranks slots of stride floats, then the parameters */
    float *slots;         /* node rank j's gradients at slots + j * stride */
    float *shared_params; /* the node's one copy of the parameters */
    size_t n, stride;
    int ranks, me;   /* ranks on the node, this one's node rank */
    size_t *cuts;    /* ranks + 1: slice j is [cuts[j], cuts[j + 1]) */
    pt_peers *peers; /* this node rank on the other nodes */
};

int pt_shard_create(const pt_comm *comm, size_t n, pt_shard **out, pt_error *err)
{
    *out = NULL;
    pt_shard *s = calloc(1, sizeof *s);
    if (s)
        s->cuts = calloc((size_t)comm->node_size + 1, sizeof *s->cuts);
    if (pt_comm_agree_status(comm, s && s->cuts ? PT_OK : PT_ERR_NOMEM) != PT_OK) {
        pt_shard_free(s);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    s->comm = comm;
    s->n = n;
    s->ranks = comm->node_size;
    s->me = comm->node_rank;
    s->stride = (n + LINE_FLOATS - 1) / LINE_FLOATS * LINE_FLOATS;
    for (int j = 0; j <= s->ranks; j++) {
        size_t cut = (size_t)((double)n * j / s->ranks) / LINE_FLOATS * LINE_FLOATS;
        s->cuts[j] = j == s->ranks ? n : cut;
    }
    int status = pt_peers_create(comm, &s->peers, err);
    if (status != PT_OK) {
        pt_shard_free(s);
        return status;
    }
    void *memory = NULL;
    size_t bytes = ((size_t)s->ranks + 1) * s->stride * sizeof(float);
    status = pt_comm_shared_alloc(comm, bytes, &memory, &s->memory, err);
    if (status != PT_OK) {
        pt_shard_free(s);
        return status;
    }
    s->slots = memory;
    s->shared_params = s->slots + (size_t)s->ranks * s->stride;
    /* each rank clears its own slot, so that no byte is written by two ranks */
    memset(pt_shard_grads(s), 0, n * sizeof(float));
    pt_comm_node_barrier(comm);
    *out = s;
    return PT_OK;
}

void pt_shard_free(pt_shard *s)
{
    if (!s)
        return;
    pt_comm_shared_free(s->memory);
    pt_peers_free(s->peers);
    free(s->cuts);
    free(s);
}

float *pt_shard_grads(pt_shard *s)
{
    return s->slots + (size_t)s->me * s->stride;
}

void pt_shard_slice(const pt_shard *s, size_t *begin, size_t *end)
{
    *begin = s->cuts[s->me];
    *end = s->cuts[s->me + 1];
}

int pt_shard_node_ranks(const pt_shard *s)
{
    return s->ranks;
}

int pt_shard_nodes(const pt_shard *s)
{
    return pt_peers_count(s->peers);
}

/* sum[i] = slot 0 [i] + slot 1 [i] + ... in that order, for i in [begin, end). sum may be one of
 * the slots: each block is read whole before it is written. */
static void sum_slots(const float *slots, size_t stride, int ranks, size_t begin, size_t end,
                      float *sum)
{
    float acc[SUM_BLOCK];
    for (size_t b = begin; b < end; b += SUM_BLOCK) {
        size_t len = end - b < SUM_BLOCK ? end - b : SUM_BLOCK;
        memcpy(acc, slots + b, len * sizeof(float));
        for (int j = 1; j < ranks; j++) {
            const float *slot = slots + (size_t)j * stride + b;
            for (size_t i = 0; i < len; i++)
                acc[i] += slot[i];
        }
        memcpy(sum + b, acc, len * sizeof(float));
    }
}

float *pt_shard_adopt_params(pt_shard *s, const float *params)
{
    if (s->me == 0)
        memcpy(s->shared_params, params, s->n * sizeof(float));
    pt_comm_node_barrier(s->comm);
    return s->shared_params;
}

void pt_shard_reduce(pt_shard *s)
{
    pt_comm_node_barrier(s->comm); /* every slot holds its rank's whole gradient */
    size_t begin, end;
    pt_shard_slice(s, &begin, &end);
    /* Slice r of every slot is read by node rank r alone, so writing the sum over its own slot's
     * slice disturbs no other rank. */
    sum_slots(s->slots, s->stride, s->ranks, begin, end, pt_shard_grads(s));
    pt_peers_sum_f32(s->peers, pt_shard_grads(s) + begin, end - begin);
}

void pt_shard_finish_update(pt_shard *s)
{
    pt_comm_node_barrier(s->comm);
}

void pt_shard_bcast_params(pt_shard *s)
{
    if (s->me == 0)
        pt_peers_bcast_f32(s->peers, s->shared_params, s->n);
    pt_comm_node_barrier(s->comm);
}

/* Copies every slice but this rank's from the shared vector into dst. */
static void copy_other_slices(const pt_shard *s, const float *shared, float *dst)
{
    size_t begin, end;
    pt_shard_slice(s, &begin, &end);
    memcpy(dst, shared, begin * sizeof(float));
    memcpy(dst + end, shared + end, (s->n - end) * sizeof(float));
}

void pt_shard_gather_state(pt_shard *s, float *state, int buffers)
{
    if (s->ranks == 1)
        return;
    size_t begin, end;
    pt_shard_slice(s, &begin, &end);
    /* through the gradient slots, idle between steps: the first slot's n floats */
    for (int q = 0; q < buffers; q++) {
        float *buf = state + (size_t)q * s->n;
        memcpy(s->slots + begin, buf + begin, (end - begin) * sizeof(float));
        pt_comm_node_barrier(s->comm);
        copy_other_slices(s, s->slots, buf);
        pt_comm_node_barrier(s->comm); /* read by all before the next buffer or backward */
    }
}
