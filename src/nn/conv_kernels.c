/* The direct convolution's loops (conv_kernels.h), compiled once per instruction set. */
#include "conv_kernels.h"

#include <stddef.h>

#include "simd.h"

/* ---- forward -------------------------------------------------------------------------------- */

/* One row of outputs, columns [q, Q), R x S taps: blocks of sixteen, then one at a time. Inlined
 * with constant R and S (3x3) so that the taps unroll and the weights stay in registers. */
static inline void forward_row(float *row, const float *x0, const float *wk, const f32x16 *wv,
                               float b, int Q, int Wp, const int R, const int S)
{
    int q = 0;
    const f32x16 bias = f32x16_set1(b);
    for (; q + 16 <= Q; q += 16) {
        f32x16 acc = bias;
        for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++)
                acc = f32x16_madd(acc, wv[r * S + s], f32x16_load(x0 + (size_t)r * Wp + s + q));
        f32x16_store(row + q, acc);
    }
    for (; q < Q; q++) {
        float acc = b;
        for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++)
                acc += wk[r * S + s] * x0[(size_t)r * Wp + s + q];
        row[q] = acc;
    }
}

static inline void forward_planes(float *out, const float *xp, const float *weight,
                                  const float *bias, int K, int P, int Q, int Wp, const int R,
                                  const int S)
{
    for (int k = 0; k < K; k++) {
        const float *wk = weight + (size_t)k * R * S;
        const float b = bias ? bias[k] : 0.0f;
        f32x16 wv[PT_CONV_DIRECT_MAX_TAPS]; /* each weight in every lane, once per filter */
        for (int t = 0; t < R * S; t++)
            wv[t] = f32x16_set1(wk[t]);
        for (int p = 0; p < P; p++)
            forward_row(out + ((size_t)k * P + p) * Q, xp + (size_t)p * Wp, wk, wv, b, Q, Wp, R, S);
    }
}

static void direct_forward(float *out, const float *xp, const float *weight, const float *bias,
                           int K, int P, int Q, int Wp, int R, int S)
{
    if (R == 3 && S == 3)
        forward_planes(out, xp, weight, bias, K, P, Q, Wp, 3, 3);
    else
        forward_planes(out, xp, weight, bias, K, P, Q, Wp, R, S);
}

/* ---- weight gradient --------------------------------------------------------------------------
 */

/* Taps whose sixteen-lane sums are kept in registers at once: nine (a 3x3 kernel) in AVX-512's
 * 32 registers, three in AVX2's 16 (two registers a tap), two on the baseline (four a tap). A
 * group is one pass over the rows; the grouping does not change any tap's sum. */
#if PT_ISA_VARIANT == 2
#define TAP_GROUP 9
#elif PT_ISA_VARIANT == 1
#define TAP_GROUP 3
#else
#define TAP_GROUP 2
#endif

/* Taps [t0, t0 + nt) over the whole blocks of sixteen columns (q < q16). */
static inline void weight_taps(double *sums, const float *g, const float *x0, int Wp, int S, int Q,
                               int q16, int rows, int t0, const int nt)
{
    f32x16 acc[TAP_GROUP];
    size_t off[TAP_GROUP];
    for (int i = 0; i < nt; i++) {
        acc[i] = f32x16_set1(0.0f);
        off[i] = (size_t)((t0 + i) / S) * Wp + (size_t)((t0 + i) % S);
    }
    for (int p = 0; p < rows; p++) {
        const float *grow = g + (size_t)p * Q, *xrow = x0 + (size_t)p * Wp;
        for (int q = 0; q < q16; q += 16) {
            const f32x16 g16 = f32x16_load(grow + q);
            for (int i = 0; i < nt; i++)
                acc[i] = f32x16_madd(acc[i], g16, f32x16_load(xrow + off[i] + q));
        }
    }
    for (int i = 0; i < nt; i++) {
        float lanes[16];
        f32x16_store(lanes, acc[i]);
        double total = 0.0;
        for (int l = 0; l < 16; l++)
            total += lanes[l];
        sums[t0 + i] += total;
    }
}

static void direct_weight_rows(double *sums, const float *g, const float *x0, int Wp, int R, int S,
                               int Q, int rows)
{
    const int taps = R * S, q16 = Q - Q % 16;
    int t0 = 0;
    for (; t0 + TAP_GROUP <= taps; t0 += TAP_GROUP)
        weight_taps(sums, g, x0, Wp, S, Q, q16, rows, t0, TAP_GROUP);
    for (; t0 < taps; t0++)
        weight_taps(sums, g, x0, Wp, S, Q, q16, rows, t0, 1);
    if (q16 == Q)
        return;
    /* each tap's offset in the padded plane, computed once: a division per product made these
     * columns (12 of fmnist's 28) cost more than the sixteen vector lanes */
    size_t off[PT_CONV_DIRECT_MAX_TAPS];
    for (int t = 0; t < taps; t++)
        off[t] = (size_t)(t / S) * Wp + (size_t)(t % S);
    for (int p = 0; p < rows; p++) {
        const float *grow = g + (size_t)p * Q, *xrow = x0 + (size_t)p * Wp;
        for (int q = q16; q < Q; q++)
            for (int t = 0; t < taps; t++)
                sums[t] += (double)grow[q] * xrow[off[t] + q];
    }
}

const pt_conv_kernels PT_KERNELS(pt_conv_kernels) = {direct_forward, direct_weight_rows};
