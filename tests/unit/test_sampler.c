/* The sampler: simulated ranks, in one process, read disjoint slices that cover every sample
 * exactly once per epoch, for any number of ranks and uneven batch splits. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/sampler.h"

static void check_epoch(int64_t n, int64_t batch, int n_ranks, int drop_last)
{
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    int *seen = calloc((size_t)n, sizeof *seen);
    cr_assert(perm && seen);
    pt_sampler_permutation(42, 3, n, perm);
    int64_t batches = pt_sampler_batches(n, batch, drop_last);
    int64_t covered = 0;
    for (int64_t b = 0; b < batches; b++) {
        int64_t in_batch = 0;
        for (int r = 0; r < n_ranks; r++) {
            int64_t begin, count;
            pt_sampler_slice(n, batch, b, r, n_ranks, &begin, &count);
            cr_assert_geq(count, 0);
            /* balanced: no rank has more than one sample above another */
            cr_assert_leq(count, pt_sampler_batch_size(n, batch, b) / n_ranks + 1);
            for (int64_t i = begin; i < begin + count; i++)
                seen[perm[i]]++;
            in_batch += count;
        }
        cr_assert_eq(in_batch, pt_sampler_batch_size(n, batch, b));
        covered += in_batch;
    }
    int64_t want = drop_last ? (n / batch) * batch : n;
    cr_assert_eq(covered, want, "n=%lld batch=%lld ranks=%d", (long long)n, (long long)batch,
                 n_ranks);
    for (int64_t i = 0; i < n; i++)
        cr_assert_leq(seen[i], 1, "sample %lld drawn twice", (long long)i);
    free(perm);
    free(seen);
}

Test(sampler, simulated_ranks_cover_every_sample_once)
{
    const int64_t sizes[] = {1, 7, 64, 100, 1001};
    const int64_t batches[] = {1, 3, 32, 64};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t b = 0; b < sizeof batches / sizeof *batches; b++)
            for (int r = 1; r <= 5; r++)
                for (int drop = 0; drop <= 1; drop++)
                    check_epoch(sizes[s], batches[b], r, drop);
}

Test(sampler, permutation_depends_on_seed_and_epoch_only)
{
    int64_t a[500], b[500], c[500], d[500];
    pt_sampler_permutation(1, 0, 500, a);
    pt_sampler_permutation(1, 0, 500, b);
    pt_sampler_permutation(1, 1, 500, c);
    pt_sampler_permutation(2, 0, 500, d);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_neq(memcmp(a, c, sizeof a), 0);
    cr_assert_neq(memcmp(a, d, sizeof a), 0);
    /* a permutation: every index once */
    int seen[500] = {0};
    for (int i = 0; i < 500; i++)
        seen[a[i]]++;
    for (int i = 0; i < 500; i++)
        cr_assert_eq(seen[i], 1);
}

Test(sampler, ranks_beyond_the_batch_get_nothing)
{
    int64_t begin, count, total = 0;
    for (int r = 0; r < 4; r++) {
        pt_sampler_slice(10, 2, 0, r, 4, &begin, &count);
        total += count;
    }
    cr_assert_eq(total, 2);
    pt_sampler_slice(10, 4, 2, 0, 1, &begin, &count);
    cr_assert_eq(begin, 8);
    cr_assert_eq(count, 2, "last batch is partial");
    cr_assert_eq(pt_sampler_batches(10, 4, 1), 2);
    cr_assert_eq(pt_sampler_batches(10, 4, 0), 3);
}
