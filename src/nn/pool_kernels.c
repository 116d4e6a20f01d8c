/* 2x2 max pooling (pool_kernels.h), compiled once per instruction set. */
#include "pool_kernels.h"

#include <math.h>
#include <stddef.h>

#include "simd.h"

/* x wins over the best so far v: larger, or a NaN over a number. */
static inline int wins(float x, float v)
{
    return x > v || (isnan(x) && !isnan(v));
}

/* Outputs [q0, Q) of one output row: the two input rows r0, r1. */
static void row_scalar(float *o, int32_t *am, const float *r0, const float *r1, int base, int W,
                       int q0, int Q)
{
    for (int q = q0; q < Q; q++) {
        int best = 2 * q;
        float v = r0[best];
        if (wins(r0[2 * q + 1], v)) {
            v = r0[2 * q + 1];
            best = 2 * q + 1;
        }
        if (wins(r1[2 * q], v)) {
            v = r1[2 * q];
            best = W + 2 * q;
        }
        if (wins(r1[2 * q + 1], v)) {
            v = r1[2 * q + 1];
            best = W + 2 * q + 1;
        }
        o[q] = v;
        if (am)
            am[q] = base + best;
    }
}

#if PT_ISA_VARIANT == 2
typedef int32_t i32x16 __attribute__((vector_size(64)));

/* The sixteen windows' candidates in order: left and right of the top row, then the bottom. */
static inline void split_pairs(const float *row, f32x16 *left, f32x16 *right)
{
    f32x16 a = f32x16_load(row), b = f32x16_load(row + 16);
    /* __builtin_shufflevector: GCC 12+ and Clang both have it */
    *left =
        __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    *right =
        __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

/* v, best = x, idx where x wins over v (the scalar rule, lane by lane) */
static inline void take(f32x16 *v, i32x16 *best, f32x16 x, i32x16 idx)
{
    i32x16 w = (x > *v) | ((x != x) & (*v == *v));
    i32x16 xb, vb;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&vb, v, sizeof vb);
    vb = (xb & w) | (vb & ~w);
    memcpy(v, &vb, sizeof vb);
    *best = (idx & w) | (*best & ~w);
}

static void row(float *o, int32_t *am, const float *r0, const float *r1, int base, int W, int Q)
{
    const i32x16 lane = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    int q = 0;
    /* a block reads 32 floats of each row from 2q: stay inside the row */
    for (; q + 16 <= Q && 2 * q + 32 <= W; q += 16) {
        f32x16 a, b, c, d;
        split_pairs(r0 + 2 * q, &a, &b);
        split_pairs(r1 + 2 * q, &c, &d);
        const i32x16 at = lane + (base + 2 * q);
        f32x16 v = a;
        i32x16 best = at;
        take(&v, &best, b, at + 1);
        take(&v, &best, c, at + W);
        take(&v, &best, d, at + W + 1);
        f32x16_store(o + q, v);
        if (am)
            memcpy(am + q, &best, sizeof best);
    }
    row_scalar(o, am, r0, r1, base, W, q, Q);
}
#else
static void row(float *o, int32_t *am, const float *r0, const float *r1, int base, int W, int Q)
{
    row_scalar(o, am, r0, r1, base, W, 0, Q);
}
#endif

static void maxpool_2x2(float *out, int32_t *argmax, const float *x, int W, int P, int Q)
{
    for (int p = 0; p < P; p++) {
        const float *r0 = x + (size_t)2 * p * W;
        row(out + (size_t)p * Q, argmax ? argmax + (size_t)p * Q : NULL, r0, r0 + W, 2 * p * W, W,
            Q);
    }
}

const pt_pool_kernels PT_KERNELS(pt_pool_kernels) = {maxpool_2x2};
