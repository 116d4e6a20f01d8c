/* Bucketed, overlapped gradient allreduce (see reducer.h). */
#include "reducer.h"

#include <stdlib.h>

/* Enough request slots for any network: a bucket is at least one layer. */
#define MAX_BUCKETS 512

struct pt_reducer {
    pt_allreduce *ar;
    float *grads;
    size_t n;
    size_t bucket_floats;
    size_t ready_from; /* gradients [ready_from, n) are final */
    size_t sent_from;  /* gradients [sent_from, n) are being reduced */
    int buckets;       /* sent in the current step */
    int last_buckets;  /* sent in the last finished step */
};

int pt_reducer_create(const pt_comm *comm, float *grads, size_t n, size_t bucket_floats,
                      pt_reducer **out, pt_error *err)
{
    *out = NULL;
    pt_reducer *r = calloc(1, sizeof *r);
    if (!r)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    int status = pt_allreduce_create(comm, MAX_BUCKETS, &r->ar, err);
    if (status != PT_OK) {
        free(r);
        return status;
    }
    r->grads = grads;
    r->n = n;
    r->bucket_floats = bucket_floats ? bucket_floats : 1;
    r->ready_from = r->sent_from = n;
    *out = r;
    return PT_OK;
}

void pt_reducer_free(pt_reducer *r)
{
    if (!r)
        return;
    pt_allreduce_free(r->ar);
    free(r);
}

static void send(pt_reducer *r)
{
    if (r->ready_from < r->sent_from) {
        pt_allreduce_start(r->ar, r->grads + r->ready_from, r->sent_from - r->ready_from);
        r->sent_from = r->ready_from;
        r->buckets++;
    }
}

void pt_reducer_ready(void *ctx, size_t begin, size_t end)
{
    pt_reducer *r = ctx;
    (void)end; /* ranges arrive in descending order and adjoin: begin is all that moves */
    if (begin < r->ready_from)
        r->ready_from = begin;
    if (r->sent_from - r->ready_from >= r->bucket_floats && r->buckets < MAX_BUCKETS - 1)
        send(r);
    else
        pt_allreduce_progress(r->ar);
}

double pt_reducer_finish(pt_reducer *r)
{
    r->ready_from = 0;
    send(r);
    double t0 = pt_now_seconds();
    pt_allreduce_wait(r->ar);
    double waited = pt_now_seconds() - t0;
    r->ready_from = r->sent_from = r->n;
    r->last_buckets = r->buckets;
    r->buckets = 0;
    return waited;
}

int pt_reducer_buckets(const pt_reducer *r)
{
    return r->last_buckets;
}
