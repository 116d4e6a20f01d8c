/* The arithmetic of a prep run (see prep_plan.h). */
#include "prep_plan.h"

#include <math.h>

/* Larger rounds even out the cost of files that decode slowly (a PNG can take ten times a JPEG
 * of the same size), because every round ends in a collective write that waits for the slowest
 * rank; the cap keeps memory bounded at large sizes. */
int pt_prep_plan_round_size(int requested, int size)
{
    if (requested > 0)
        return requested;
    size_t image_bytes = (size_t)size * (size_t)size;
    size_t fit = (64u << 20) / image_bytes;
    return fit < 16 ? 16 : fit > 256 ? 256 : (int)fit;
}

size_t pt_prep_plan_round_files(size_t n, size_t base, size_t per_rank, int ranks)
{
    size_t per_round = per_rank * (size_t)ranks;
    if (base >= n)
        return 0;
    return n - base < per_round ? n - base : per_round;
}

pt_prep_block pt_prep_plan_block(size_t files, int rank, int ranks)
{
    /* block r starts at floor(files * r / ranks): the cuts are as even as integers allow */
    size_t first = files * (size_t)rank / (size_t)ranks;
    size_t end = files * (size_t)(rank + 1) / (size_t)ranks;
    return (pt_prep_block){.first = first, .count = end - first};
}

pt_prep_rows pt_prep_plan_rows(const uint8_t *flags, size_t slots, int ranks, int rank,
                               size_t files, uint8_t *ok)
{
    pt_prep_rows out = {0};
    for (int r = 0; r < ranks; r++)
        if (flags[(size_t)r * slots] == PT_PREP_RANK_FAILED) {
            out.rank_failed = 1;
            return out;
        }
    for (int r = 0; r < ranks; r++) {
        pt_prep_block block = pt_prep_plan_block(files, r, ranks);
        for (size_t k = 0; k < slots && k < block.count; k++) {
            uint8_t f = flags[(size_t)r * slots + k];
            if (f == PT_PREP_NO_FILE)
                continue;
            ok[block.first + k] = f;
            out.any_failed |= f == PT_PREP_FAILED;
            out.rows += f;
            if (r < rank)
                out.offset += f;
        }
    }
    return out;
}

void pt_prep_plan_add_pixels(pt_pixel_sums *s, const uint8_t *pixels, size_t n)
{
    for (size_t p = 0; p < n; p++) {
        s->sum += pixels[p];
        s->sq_sum += (uint64_t)pixels[p] * pixels[p];
    }
    s->count += n;
}

void pt_prep_plan_pixel_stats(const pt_pixel_sums *s, double *mean, double *std)
{
    double count = (double)s->count;
    *mean = 0.0;
    *std = 1.0;
    if (count > 0) {
        *mean = (double)s->sum / count / 255.0;
        double var = (double)s->sq_sum / count / (255.0 * 255.0) - *mean * *mean;
        *std = var > 0 ? sqrt(var) : 1.0;
    }
}

int pt_prep_plan_image_side(int requested, int64_t native_height, int64_t native_width,
                            int max_side)
{
    if (requested > 0)
        return requested;
    if (native_height <= 0 || native_width <= 0)
        return 128;
    if (native_height != native_width)
        return -1;
    return native_height > max_side ? max_side : (int)native_height;
}
