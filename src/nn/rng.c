/* Counter-based deterministic random numbers (splitmix64 mixing of key and counter). */
#include "ptrain/rng.h"

#include <math.h>

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t pt_rng_hash3(uint64_t a, uint64_t b, uint64_t c)
{
    const uint64_t golden = 0x9e3779b97f4a7c15ULL;
    uint64_t h = mix64(a + golden);
    h = mix64(h ^ (b + 2 * golden));
    return mix64(h ^ (c + 3 * golden));
}

void pt_rng_init(pt_rng *rng, uint64_t seed, uint64_t stream)
{
    rng->key = pt_rng_hash3(seed, stream, 0x5054524149ULL /* "PTRAI" */);
    rng->counter = 0;
}

uint64_t pt_rng_next_u64(pt_rng *rng)
{
    /* Each output depends only on (key, counter): streams can be jumped to and split freely. */
    return mix64(rng->key ^ mix64(++rng->counter * 0x9e3779b97f4a7c15ULL));
}

double pt_rng_uniform(pt_rng *rng)
{
    return (double)(pt_rng_next_u64(rng) >> 11) * 0x1.0p-53;
}

double pt_rng_range(pt_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * pt_rng_uniform(rng);
}

uint64_t pt_rng_below(pt_rng *rng, uint64_t n)
{
    /* Rejection sampling: drop the top partial block of 2^64 so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    uint64_t x;
    do {
        x = pt_rng_next_u64(rng);
    } while (x >= limit);
    return x % n;
}

double pt_rng_normal(pt_rng *rng)
{
    double u1 = pt_rng_uniform(rng);
    double u2 = pt_rng_uniform(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
