/* The arithmetic of a prep run, with simulated ranks in one process: rounds and rank blocks cover
 * every file exactly once in list order, the write offsets put every decoded image at its row in
 * a one-process run, and the pixel statistics merged over ranks equal a one-pass computation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prep_plan.h"

/* ---- image side ---- */

Test(prep_plan, image_side_requested_native_or_capped)
{
    cr_assert_eq(pt_prep_plan_image_side(64, 0, 0, 4096), 64);
    cr_assert_eq(pt_prep_plan_image_side(0, 0, 0, 4096), 128);
    cr_assert_eq(pt_prep_plan_image_side(0, 28, 28, 4096), 28, "IDX keeps its native size");
    cr_assert_eq(pt_prep_plan_image_side(32, 28, 28, 4096), 32, "--size wins over native");
    /* larger than --size could ever ask for: capped, not kept */
    cr_assert_eq(pt_prep_plan_image_side(0, 5000, 5000, 4096), 4096);
    cr_assert_eq(pt_prep_plan_image_side(0, 70000, 70000, 4096), 4096);
    cr_assert_eq(pt_prep_plan_image_side(0, 28, 30, 4096), -1, "not square: ask for --size");
    cr_assert_eq(pt_prep_plan_image_side(16, 28, 30, 4096), 16);
}

/* ---- round size ---- */

Test(prep_plan, round_size_requested_wins)
{
    cr_assert_eq(pt_prep_plan_round_size(4, 128), 4);
    cr_assert_eq(pt_prep_plan_round_size(1, 4096), 1);
    cr_assert_eq(pt_prep_plan_round_size(4096, 4), 4096);
}

Test(prep_plan, round_size_fits_64_mib_between_16_and_256)
{
    cr_assert_eq(pt_prep_plan_round_size(0, 28), 256);  /* 85,598 would fit */
    cr_assert_eq(pt_prep_plan_round_size(0, 128), 256); /* 4,096 would fit */
    cr_assert_eq(pt_prep_plan_round_size(0, 512), 256); /* exactly 256 */
    cr_assert_eq(pt_prep_plan_round_size(0, 724), 128); /* 64 MiB / 524,176 bytes */
    cr_assert_eq(pt_prep_plan_round_size(0, 1024), 64); /* exactly 64 */
    cr_assert_eq(pt_prep_plan_round_size(0, 2048), 16); /* exactly 16 */
    cr_assert_eq(pt_prep_plan_round_size(0, 4096), 16); /* 4 fit, the floor is 16 */
}

/* ---- rounds and blocks ---- */

/* Walks a split of n files as the ranks do and checks that the blocks, taken round by round and
 * rank by rank, are consecutive and cover [0, n) exactly once, that no block exceeds per_rank,
 * and that a round's blocks differ in size by at most one. Returns the number of rounds. */
static size_t check_cover(size_t n, size_t per_rank, int ranks)
{
    size_t next = 0, rounds = 0, files;
    for (size_t base = 0; base < n; base += files) {
        files = pt_prep_plan_round_files(n, base, per_rank, ranks);
        cr_assert_gt(files, 0, "n=%zu base=%zu: empty round", n, base);
        cr_assert_leq(files, per_rank * (size_t)ranks);
        size_t smallest = SIZE_MAX, largest = 0;
        for (int r = 0; r < ranks; r++) {
            pt_prep_block b = pt_prep_plan_block(files, r, ranks);
            cr_assert_eq(base + b.first, next, "n=%zu ranks=%d round %zu rank %d starts at %zu", n,
                         ranks, rounds, r, base + b.first);
            cr_assert_leq(b.count, per_rank);
            next += b.count;
            smallest = b.count < smallest ? b.count : smallest;
            largest = b.count > largest ? b.count : largest;
        }
        cr_assert_leq(largest - smallest, 1, "n=%zu ranks=%d: unbalanced round", n, ranks);
        cr_assert_eq(next, base + files);
        rounds++;
    }
    cr_assert_eq(next, n, "n=%zu per_rank=%zu ranks=%d: %zu files covered", n, per_rank, ranks,
                 next);
    cr_assert_eq(pt_prep_plan_round_files(n, n, per_rank, ranks), 0);
    return rounds;
}

Test(prep_plan, ten_files_over_three_ranks)
{
    /* one round: blocks of 3, 3, 4 at 0, 3, 6 */
    cr_assert_eq(pt_prep_plan_round_files(10, 0, 256, 3), 10);
    size_t first[] = {0, 3, 6}, count[] = {3, 3, 4};
    for (int r = 0; r < 3; r++) {
        pt_prep_block b = pt_prep_plan_block(10, r, 3);
        cr_assert_eq(b.first, first[r]);
        cr_assert_eq(b.count, count[r]);
    }
    cr_assert_eq(check_cover(10, 256, 3), 1);
    /* rounds of at most 2 per rank: 6 + 4 files */
    cr_assert_eq(pt_prep_plan_round_files(10, 0, 2, 3), 6);
    cr_assert_eq(pt_prep_plan_round_files(10, 6, 2, 3), 4);
    cr_assert_eq(check_cover(10, 2, 3), 2);
    /* the last round of 4 is still shared by every rank: 1, 1, 2 */
    cr_assert_eq(pt_prep_plan_block(4, 0, 3).count, 1);
    cr_assert_eq(pt_prep_plan_block(4, 1, 3).count, 1);
    cr_assert_eq(pt_prep_plan_block(4, 2, 3).count, 2);
}

Test(prep_plan, no_files)
{
    cr_assert_eq(pt_prep_plan_round_files(0, 0, 16, 3), 0);
    for (int r = 0; r < 3; r++)
        cr_assert_eq(pt_prep_plan_block(0, r, 3).count, 0);
    cr_assert_eq(check_cover(0, 16, 3), 0);
}

Test(prep_plan, fewer_files_than_ranks)
{
    /* 2 files over 5 ranks: three ranks get nothing, the files stay in order */
    size_t total = 0, next = 0;
    for (int r = 0; r < 5; r++) {
        pt_prep_block b = pt_prep_plan_block(2, r, 5);
        cr_assert_leq(b.count, 1);
        cr_assert_eq(b.first, next);
        next += b.count;
        total += b.count;
    }
    cr_assert_eq(total, 2);
    cr_assert_eq(check_cover(2, 1, 5), 1);
    cr_assert_eq(check_cover(1, 4, 8), 1);
}

Test(prep_plan, one_rank_takes_whole_rounds)
{
    pt_prep_block b = pt_prep_plan_block(7, 0, 1);
    cr_assert_eq(b.first, 0);
    cr_assert_eq(b.count, 7);
    cr_assert_eq(check_cover(300, 4, 1), 75);
    cr_assert_eq(check_cover(301, 4, 1), 76);
}

Test(prep_plan, every_small_case_covers_once)
{
    for (size_t n = 0; n <= 60; n++)
        for (size_t per_rank = 1; per_rank <= 6; per_rank++)
            for (int ranks = 1; ranks <= 7; ranks++) {
                size_t per_round = per_rank * (size_t)ranks;
                cr_assert_eq(check_cover(n, per_rank, ranks), (n + per_round - 1) / per_round);
            }
}

/* ---- write offsets ---- */

/* Files that fail to decode in the simulations: every 3rd and every 7th. */
static int decodes(size_t i)
{
    return i % 3 != 1 && i % 7 != 5;
}

/* Simulates one split of n files on `ranks` ranks with rounds of per_rank files per rank: every
 * rank decodes its block and "writes" the file indices it decoded at the rows the plan gives it.
 * The result must be the decoded files in list order, as one process would write them. */
static void simulate_split(size_t n, size_t per_rank, int ranks)
{
    size_t *rows = calloc(n ? n : 1, sizeof *rows); /* the cache: file index per row */
    uint8_t *flags = malloc(per_rank * (size_t)ranks);
    uint8_t *ok = malloc(n ? n : 1);
    cr_assert(rows && flags && ok);
    memset(ok, 0xff, n ? n : 1);
    uint64_t written = 0;
    size_t files;
    for (size_t base = 0; base < n; base += files) {
        files = pt_prep_plan_round_files(n, base, per_rank, ranks);
        /* every rank's flags, as the allgather would deliver them */
        memset(flags, PT_PREP_NO_FILE, per_rank * (size_t)ranks);
        for (int r = 0; r < ranks; r++) {
            pt_prep_block b = pt_prep_plan_block(files, r, ranks);
            for (size_t k = 0; k < b.count; k++)
                flags[(size_t)r * per_rank + k] =
                    decodes(base + b.first + k) ? PT_PREP_DECODED : PT_PREP_FAILED;
        }
        uint64_t round_rows = 0;
        int any_failed = 0;
        for (int r = 0; r < ranks; r++) {
            pt_prep_rows got = pt_prep_plan_rows(flags, per_rank, ranks, r, files, ok + base);
            if (r == 0) {
                round_rows = got.rows;
                any_failed = got.any_failed;
            }
            /* every rank sees the same round */
            cr_assert_eq(got.rows, round_rows);
            cr_assert_eq(got.any_failed, any_failed);
            /* rank r writes its decoded files, packed, from row written + offset */
            pt_prep_block b = pt_prep_plan_block(files, r, ranks);
            uint64_t row = written + got.offset;
            for (size_t k = 0; k < b.count; k++)
                if (decodes(base + b.first + k))
                    rows[row++] = base + b.first + k;
        }
        int expect_failed = 0;
        uint64_t expect_rows = 0;
        for (size_t i = base; i < base + files; i++) {
            expect_failed |= !decodes(i);
            expect_rows += (uint64_t)decodes(i);
        }
        cr_assert_eq(round_rows, expect_rows);
        cr_assert_eq(any_failed, expect_failed);
        written += round_rows;
    }
    /* one process would have written exactly the decoded files, in list order */
    uint64_t row = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(ok[i], decodes(i), "n=%zu ranks=%d: ok[%zu] = %d", n, ranks, i, ok[i]);
        if (decodes(i)) {
            cr_assert_eq(rows[row], i, "n=%zu per_rank=%zu ranks=%d: row %llu holds file %zu", n,
                         per_rank, ranks, (unsigned long long)row, rows[row]);
            row++;
        }
    }
    cr_assert_eq(written, row);
    free(rows);
    free(flags);
    free(ok);
}

Test(prep_plan, offsets_of_one_round_by_hand)
{
    /* 10 files over 3 ranks, slots of 4: blocks [0,3) [3,6) [6,10); files 1, 4 and 9 failed */
    const uint8_t F = PT_PREP_FAILED, D = PT_PREP_DECODED, E = PT_PREP_NO_FILE;
    const uint8_t flags[] = {D, F, D, E,  /* rank 0: files 0-2 */
                             D, F, D, E,  /* rank 1: files 3-5 */
                             D, D, D, F}; /* rank 2: files 6-9 */
    uint8_t ok[10];
    uint64_t offsets[] = {0, 2, 4};
    for (int r = 0; r < 3; r++) {
        pt_prep_rows got = pt_prep_plan_rows(flags, 4, 3, r, 10, ok);
        cr_assert_eq(got.rows, 7);
        cr_assert_eq(got.offset, offsets[r], "rank %d: offset %llu", r,
                     (unsigned long long)got.offset);
        cr_assert(got.any_failed);
    }
    const uint8_t expect[] = {1, 0, 1, 1, 0, 1, 1, 1, 1, 0};
    cr_assert_arr_eq(ok, expect, sizeof expect);
}

Test(prep_plan, offsets_with_nothing_failed)
{
    /* 2 files over 3 ranks, slots of 2: rank 0 has none, ranks 1 and 2 one each */
    const uint8_t D = PT_PREP_DECODED, E = PT_PREP_NO_FILE;
    const uint8_t flags[] = {E, E, D, E, D, E};
    uint64_t offsets[] = {0, 0, 1};
    for (int r = 0; r < 3; r++) {
        uint8_t ok[2] = {9, 9};
        pt_prep_rows got = pt_prep_plan_rows(flags, 2, 3, r, 2, ok);
        cr_assert_eq(got.rows, 2);
        cr_assert_eq(got.offset, offsets[r]);
        cr_assert_not(got.any_failed);
        cr_assert_eq(ok[0], 1);
        cr_assert_eq(ok[1], 1);
    }
}

Test(prep_plan, a_failed_rank_stops_the_round_on_every_rank)
{
    /* 2 files over 3 ranks, slots of 2: rank 0 has no file of its own but ran out of memory
     * (its first slot carries the failure even so), so every rank sees it and writes nothing */
    const uint8_t D = PT_PREP_DECODED, E = PT_PREP_NO_FILE, X = PT_PREP_RANK_FAILED;
    const uint8_t flags[] = {X, E, D, E, D, E};
    for (int r = 0; r < 3; r++) {
        uint8_t ok[2] = {9, 9};
        pt_prep_rows got = pt_prep_plan_rows(flags, 2, 3, r, 2, ok);
        cr_assert(got.rank_failed, "rank %d did not learn of the failure", r);
        cr_assert_eq(got.rows, 0);
        cr_assert_eq(ok[0], 9);
    }
    const uint8_t fine[] = {E, E, D, E, D, E};
    uint8_t ok[2];
    cr_assert_not(pt_prep_plan_rows(fine, 2, 3, 0, 2, ok).rank_failed);
}

Test(prep_plan, simulated_splits_write_in_list_order)
{
    simulate_split(10, 256, 3);
    simulate_split(10, 2, 3);
    simulate_split(0, 4, 3);
    simulate_split(2, 4, 5);
    simulate_split(300, 4, 1);
    simulate_split(300, 4, 2);
    simulate_split(300, 4, 3);
    simulate_split(300, 7, 4);
    simulate_split(1000, 256, 7);
}

/* ---- pixel statistics ---- */

/* Deterministic pixels with some spread: a small LCG. */
static void fill_pixels(uint8_t *px, size_t n, uint32_t seed)
{
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        px[i] = (uint8_t)((x >> 24) / 2 + (i % 64)); /* 0..190, not uniform */
    }
}

/* The statistics in double, two passes, for comparison. */
static void two_pass(const uint8_t *px, size_t n, double *mean, double *std)
{
    double m = 0.0, v = 0.0;
    for (size_t i = 0; i < n; i++)
        m += px[i] / 255.0;
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        v += (px[i] / 255.0 - m) * (px[i] / 255.0 - m);
    *mean = m;
    *std = sqrt(v / (double)n);
}

Test(prep_plan, pixel_stats_merged_over_ranks_equal_one_pass)
{
    enum { N = 10 * 24 * 24 };
    static uint8_t px[N];
    fill_pixels(px, N, 6);
    pt_pixel_sums whole = {0};
    pt_prep_plan_add_pixels(&whole, px, N);
    double mean1, std1;
    pt_prep_plan_pixel_stats(&whole, &mean1, &std1);

    double ref_mean, ref_std;
    two_pass(px, N, &ref_mean, &ref_std);
    cr_assert_float_eq(mean1, ref_mean, 1e-12);
    cr_assert_float_eq(std1, ref_std, 1e-9);

    for (int ranks = 1; ranks <= 5; ranks++) {
        /* each rank sums its images (10 images of 24x24, in rank blocks), then the sums are
         * added as the allreduce does */
        pt_pixel_sums merged = {0};
        for (int r = 0; r < ranks; r++) {
            pt_prep_block b = pt_prep_plan_block(10, r, ranks);
            pt_pixel_sums mine = {0};
            for (size_t k = 0; k < b.count; k++)
                pt_prep_plan_add_pixels(&mine, px + (b.first + k) * 24 * 24, 24 * 24);
            merged.sum += mine.sum;
            merged.sq_sum += mine.sq_sum;
            merged.count += mine.count;
        }
        cr_assert_eq(merged.sum, whole.sum);
        cr_assert_eq(merged.sq_sum, whole.sq_sum);
        cr_assert_eq(merged.count, whole.count);
        double mean, std;
        pt_prep_plan_pixel_stats(&merged, &mean, &std);
        /* bit-identical: the statistics do not depend on the number of ranks */
        cr_assert(mean == mean1 && std == std1, "%d ranks: %.17g %.17g vs %.17g %.17g", ranks, mean,
                  std, mean1, std1);
    }
}

Test(prep_plan, pixel_stats_of_known_values)
{
    const uint8_t px[] = {0, 255, 0, 255};
    pt_pixel_sums s = {0};
    pt_prep_plan_add_pixels(&s, px, 4);
    cr_assert_eq(s.sum, 510);
    cr_assert_eq(s.sq_sum, 2 * 255 * 255);
    cr_assert_eq(s.count, 4);
    double mean, std;
    pt_prep_plan_pixel_stats(&s, &mean, &std);
    cr_assert_float_eq(mean, 0.5, 1e-15);
    cr_assert_float_eq(std, 0.5, 1e-15);
}

Test(prep_plan, pixel_stats_without_pixels_or_spread)
{
    pt_pixel_sums none = {0};
    double mean = -1, std = -1;
    pt_prep_plan_pixel_stats(&none, &mean, &std);
    cr_assert_eq(mean, 0.0);
    cr_assert_eq(std, 1.0);

    /* all white: the variance comes out exactly 0 */
    const uint8_t flat[] = {255, 255, 255};
    pt_pixel_sums s = {0};
    pt_prep_plan_add_pixels(&s, flat, 3);
    pt_prep_plan_pixel_stats(&s, &mean, &std);
    cr_assert_eq(mean, 1.0);
    cr_assert_eq(std, 1.0); /* dividing by 1 leaves the images as they are */
}
