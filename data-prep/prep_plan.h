/* The arithmetic of a prep run, apart from the ranks that carry it out: how many files a round
 * holds, which contiguous block of a round each rank decodes, where each rank's images land in
 * the cache once every rank's decode results are known, and the training split's pixel
 * statistics from integer sums. No MPI here: src/dist/prep.c exchanges the values, and the unit
 * tests check the plan with simulated ranks in one process. */
#ifndef PTRAIN_PREP_PLAN_H
#define PTRAIN_PREP_PLAN_H

#include <stddef.h>
#include <stdint.h>

/* What a rank reports for each slot of its block in a round (one byte each, allgathered). The
 * values are counts on purpose: a slot adds its flag to the rows written. */
enum {
    PT_PREP_FAILED = 0, /* the file could not be decoded: skipped */
    PT_PREP_DECODED = 1,
    PT_PREP_NO_FILE = 2,    /* the block was shorter than the round's slots */
    PT_PREP_RANK_FAILED = 3 /* in a rank's first slot: that rank failed (out of memory) and the
                               run stops on every rank; the exchange is how they all learn it */
};

/* The side of the cache's images: `requested` (--size) when positive; else, for IDX images
 * (native_height, native_width > 0), their native side, but at most max_side (larger images are
 * resized to it, as --size could not ask for more); else 128. -1 when native images are not
 * square and no size was requested. */
int pt_prep_plan_image_side(int requested, int64_t native_height, int64_t native_width,
                            int max_side);

/* Files per rank per round: `requested` when positive, otherwise as many size x size images as
 * fit in 64 MiB, at least 16 and at most 256. */
int pt_prep_plan_round_size(int requested, int size);

/* Files in the round that starts at file `base` of a split of n files, when every one of `ranks`
 * ranks takes at most `per_rank` files a round: per_rank * ranks, or what is left. */
size_t pt_prep_plan_round_files(size_t n, size_t base, size_t per_rank, int ranks);

/* One rank's share of a round: files [first, first + count) counted from the round's first file. */
typedef struct pt_prep_block {
    size_t first;
    size_t count;
} pt_prep_block;

/* Rank `rank`'s block of a round of `files` files: the round cut into `ranks` contiguous blocks
 * in rank order whose sizes differ by at most one, so rank order is file order and no rank idles
 * in the last, shorter round. */
pt_prep_block pt_prep_plan_block(size_t files, int rank, int ranks);

/* Where a round's decoded images go, as every rank can compute it from everyone's flags. */
typedef struct pt_prep_rows {
    uint64_t rows;   /* images all ranks decoded this round: the cache grows by this */
    uint64_t offset; /* images of lower ranks: this rank's first row, from the round's first */
    int any_failed;  /* some file of the round could not be decoded */
    int rank_failed; /* some rank failed (PT_PREP_RANK_FAILED): nothing is written */
} pt_prep_rows;

/* flags: `ranks` rows of `slots` bytes, row r as rank r sent it (PT_PREP_* per file of its
 * block, in order). For a round of `files` files, sets ok[i] to 1 or 0 for every file i of the
 * round (ok points at the round's first file) and returns the round's rows as seen by `rank`.
 * If any row starts with PT_PREP_RANK_FAILED, returns only rank_failed set (ok untouched). */
pt_prep_rows pt_prep_plan_rows(const uint8_t *flags, size_t slots, int ranks, int rank,
                               size_t files, uint8_t *ok);

/* Sums of 8-bit pixels, exact in integers: the sums of the ranks' shares add up to the sums of
 * the whole, so the statistics do not depend on the number of ranks. */
typedef struct pt_pixel_sums {
    uint64_t sum;
    uint64_t sq_sum;
    uint64_t count;
} pt_pixel_sums;

/* Adds n pixels. */
void pt_prep_plan_add_pixels(pt_pixel_sums *s, const uint8_t *pixels, size_t n);

/* Mean and standard deviation of the pixels scaled to [0, 1], from the sums in one pass
 * (E[x^2] - E[x]^2). With no pixels mean is 0 and std 1; when that variance is not positive, std
 * is 1, so that normalising by it is harmless. */
void pt_prep_plan_pixel_stats(const pt_pixel_sums *s, double *mean, double *std);

#endif
