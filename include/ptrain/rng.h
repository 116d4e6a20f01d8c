/* Deterministic random numbers.
 *
 * Counter-based: a stream is keyed by (seed, stream id), so that the numbers a sample or an image
 * gets depend only on its key, never on which rank or in what order it is processed. */
#ifndef PTRAIN_RNG_H
#define PTRAIN_RNG_H

#include <stdint.h>

typedef struct pt_rng {
    uint64_t key;     /* mixes the seed and stream id */
    uint64_t counter; /* position in the stream */
} pt_rng;

/* A stateless 64-bit hash of three words (splitmix64 finaliser chain). */
uint64_t pt_rng_hash3(uint64_t a, uint64_t b, uint64_t c);

/* Starts the stream (seed, stream) at position 0. */
void pt_rng_init(pt_rng *rng, uint64_t seed, uint64_t stream);

uint64_t pt_rng_next_u64(pt_rng *rng);

/* Uniform in [0, 1) with 53 random bits. */
double pt_rng_uniform(pt_rng *rng);

/* Uniform in [lo, hi). */
double pt_rng_range(pt_rng *rng, double lo, double hi);

/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t pt_rng_below(pt_rng *rng, uint64_t n);

/* Standard normal (Box-Muller, one value per call). */
double pt_rng_normal(pt_rng *rng);

#endif
