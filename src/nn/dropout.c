/* Inverted dropout with a counter-based mask. Forward and backward are the same map (multiply by
 * the scaled mask), so both call one helper. */
#include "dropout.h"

#include <math.h>

#include "ptrain/rng.h"

static void apply_mask(float *out, const float *in, const int64_t *sample_ids, uint64_t key,
                       float p, int N, size_t D)
{
    /* Dropped iff the top 53 bits of the hash, read as a fraction in [0,1), are below p. */
    const uint64_t threshold = (uint64_t)ldexp((double)p, 53);
    const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (int i = 0; i < N; i++) {
        const uint64_t id = (uint64_t)sample_ids[i];
        const float *x = in + (size_t)i * D;
        float *y = out + (size_t)i * D;
        for (size_t j = 0; j < D; j++) {
            const uint64_t u = pt_rng_hash3(key, id, (uint64_t)j) >> 11;
            y[j] = u < threshold ? 0.0f : x[j] * scale;
        }
    }
}

void pt_dropout_forward(float *out, const float *in, const int64_t *sample_ids, uint64_t key,
                        float p, int N, size_t D)
{
    apply_mask(out, in, sample_ids, key, p, N, D);
}

void pt_dropout_backward(float *din, const float *dout, const int64_t *sample_ids, uint64_t key,
                         float p, int N, size_t D)
{
    apply_mask(din, dout, sample_ids, key, p, N, D);
}
