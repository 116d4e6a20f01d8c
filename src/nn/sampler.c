/* Global permutation and per-rank slices (see sampler.h). */
#include "ptrain/sampler.h"

#include "ptrain/rng.h"

void pt_sampler_permutation(uint64_t seed, int64_t epoch, int64_t n, int64_t *perm)
{
    pt_rng rng;
    pt_rng_init(&rng, seed, 0x5045524d00000000ULL ^ (uint64_t)epoch); /* "PERM" stream */
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)pt_rng_below(&rng, (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

int64_t pt_sampler_batches(int64_t n, int64_t batch, int drop_last)
{
    if (n <= 0 || batch <= 0)
        return 0;
    return drop_last ? n / batch : (n + batch - 1) / batch;
}

int64_t pt_sampler_batch_size(int64_t n, int64_t batch, int64_t b)
{
    int64_t start = b * batch;
    if (start >= n)
        return 0;
    return n - start < batch ? n - start : batch;
}

void pt_sampler_slice(int64_t n, int64_t batch, int64_t b, int rank, int n_ranks, int64_t *begin,
                      int64_t *count)
{
    int64_t size = pt_sampler_batch_size(n, batch, b);
    int64_t lo = size * rank / n_ranks;
    int64_t hi = size * (rank + 1) / n_ranks;
    *begin = b * batch + lo;
    *count = hi - lo;
}
