/* Under mpirun: the gradients every rank computes on its slice of a batch, summed by the
 * bucketed allreduce (or, with `shard`, by the node-sharded sums, each rank's slice then
 * gathered), equal one process's gradient of the whole batch (float tolerance).
 *   mpirun -np N grad_allreduce [shard] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/arch.h"
#include "ptrain/comm.h"
#include "ptrain/loss.h"
#include "ptrain/net.h"
#include "reducer.h"
#include "shard.h"
#include "ptrain/rng.h"
#include "ptrain/sampler.h"

#define BATCH 12
#define SIDE  12

static const char *arch_text = "[conv]\nfilters=6\nsize=3\n[relu]\n[maxpool]\n"
                               "[conv]\nfilters=8\nsize=3\nstride=2\n[relu]\n"
                               "[dense]\noutputs=16\n[relu]\n[dense]\noutputs=classes\n";

static void fill(float *input, int32_t *labels)
{
    pt_rng rng;
    pt_rng_init(&rng, 7, 0);
    for (int i = 0; i < BATCH * SIDE * SIDE; i++)
        input[i] = (float)pt_rng_normal(&rng);
    for (int i = 0; i < BATCH; i++)
        labels[i] = (int32_t)pt_rng_below(&rng, 3);
}

/* Gradient of the weighted mean loss over samples [begin, begin+count) of the batch. */
static void gradient(pt_net *net, const float *input, const int32_t *labels, int64_t begin,
                     int64_t count, pt_reducer *reducer)
{
    const float weights[3] = {1.0f, 2.5f, 0.5f};
    double normalizer = pt_softmax_xent_normalizer(labels, weights, BATCH, 3);
    memcpy(pt_net_input(net), input + begin * SIDE * SIDE, (size_t)count * SIDE * SIDE * 4);
    const float *logits = pt_net_forward(net, (int)count, 1, NULL, 0);
    float dlogits[BATCH * 3];
    pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels + begin, weights, (int)count, 3,
                                     normalizer);
    pt_net_zero_grads(net);
    pt_net_backward(net, dlogits, reducer ? pt_reducer_ready : NULL, reducer);
    if (reducer)
        pt_reducer_finish(reducer);
}

/* The sharded sums: this rank's slice summed, then every slice gathered into sums. */
static void sum_sharded(pt_shard *shard, size_t n, float *sums)
{
    pt_shard_reduce(shard);
    memcpy(sums, pt_shard_grads(shard), n * sizeof(float));
    pt_shard_gather_state(shard, sums, 1);
}

int main(int argc, char **argv)
{
    pt_comm comm;
    pt_error err;
    if (pt_comm_init(&argc, &argv, &comm, &err) != PT_OK)
        return 1;
    int sharded = argc > 1 && !strcmp(argv[1], "shard");
    pt_arch arch;
    pt_net *net, *whole;
    pt_reducer *reducer = NULL;
    pt_shard *shard = NULL;
    if (pt_arch_parse(arch_text, "test", &arch, &err) != PT_OK ||
        pt_net_create(&arch, 1, SIDE, SIDE, 3, BATCH, &net, &err) != PT_OK ||
        pt_net_create(&arch, 1, SIDE, SIDE, 3, BATCH, &whole, &err) != PT_OK ||
        (sharded ? pt_shard_create(&comm, pt_net_param_count(net), &shard, &err)
                 : pt_reducer_create(&comm, pt_net_grads(net), pt_net_param_count(net), 64,
                                     &reducer, &err)) != PT_OK) {
        fprintf(stderr, "grad_allreduce: %s\n", err.msg);
        pt_comm_abort(&comm, 1);
    }
    size_t n = pt_net_param_count(net);
    float *sums = malloc(n * sizeof(float));
    if (!sums)
        pt_comm_abort(&comm, 1);
    if (shard)
        pt_net_use_grad_buffer(net, pt_shard_grads(shard));
    pt_net_init_params(net, 3);
    pt_net_init_params(whole, 3);
    float input[BATCH * SIDE * SIDE];
    int32_t labels[BATCH];
    fill(input, labels);

    int64_t begin, count;
    pt_sampler_slice(BATCH, BATCH, 0, comm.rank, comm.size, &begin, &count);
    gradient(net, input, labels, begin, count, reducer);
    int buckets = reducer ? pt_reducer_buckets(reducer) : 0;
    if (shard)
        sum_sharded(shard, n, sums);
    else
        memcpy(sums, pt_net_grads(net), n * sizeof(float));

    int failures = 0;
    if (comm.rank == 0) {
        gradient(whole, input, labels, 0, BATCH, NULL);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double a = sums[i], b = pt_net_grads(whole)[i];
            double tol = 1e-6 + 1e-4 * fabs(b);
            worst = fmax(worst, fabs(a - b));
            failures += fabs(a - b) > tol;
        }
        printf("grad_allreduce: %d ranks, %s, %zu parameters, largest difference %.3g, "
               "%d outside tolerance\n",
               comm.size, shard ? "sharded" : "bucketed", n, worst, failures);
        if (shard)
            printf("grad_allreduce: %d rank(s) per node, %d node(s)\n", pt_shard_node_ranks(shard),
                   pt_shard_nodes(shard));
        if (!shard && comm.size > 1 && buckets < 2) {
            printf("grad_allreduce: expected several buckets\n");
            failures++;
        }
    }
    int64_t verdict = failures;
    pt_comm_bcast_i64(&comm, &verdict, 1, 0);
    pt_reducer_free(reducer);
    free(sums);
    pt_net_free(net);
    pt_shard_free(shard); /* after the net, whose gradient buffer it holds */
    pt_net_free(whole);
    pt_arch_free(&arch);
    pt_comm_finalize(&comm);
    return verdict ? 1 : 0;
}
