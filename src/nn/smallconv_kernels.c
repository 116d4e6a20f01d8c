/* The small-map convolution's register blocks (smallconv_kernels.h).
 *   fwd, din  rows*4 accumulators, one vector of images each, in registers over the whole sum;
 *             each step loads one vector of the transposed input and multiplies it by rows*4
 *             weights broadcast straight from the (K,C,3,3) tensor.
 *   dw        9 accumulators (one per tap), one vector of input channels each; each image
 *             loads its 4 input positions and broadcasts its 4 output gradients for 16
 *             multiply-adds; the taps' lanes then go to dweight (stride 9). */
#include "smallconv_kernels.h"

#include <string.h>

#if PT_ISA_VARIANT > 0
#include <immintrin.h>
#endif

#include "simd.h"

#if PT_ISA_VARIANT == 2
#define SC_LANES 16
#define SC_ROWS  4
#elif PT_ISA_VARIANT == 1
#define SC_LANES 8
#define SC_ROWS  2
#else
#define SC_LANES 4
#define SC_ROWS  2
#endif
#define SC_ACC (SC_ROWS * 4)
#define TAP    PT_SC_TAP

#define SC_INLINE static inline __attribute__((always_inline))

typedef float scvec __attribute__((vector_size(4 * SC_LANES)));

SC_INLINE scvec sc_load(const float *p)
{
    scvec v;
    memcpy(&v, p, sizeof v);
    return v;
}

SC_INLINE scvec sc_set1(float x)
{
#if SC_LANES == 16
    return (scvec){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
#elif SC_LANES == 8
    return (scvec){x, x, x, x, x, x, x, x};
#else
    return (scvec){x, x, x, x};
#endif
}

/* acc + a * b: fused on AVX2 and AVX-512 (the build says -ffp-contract=off, so by name). */
SC_INLINE scvec sc_fma(scvec a, scvec b, scvec acc)
{
#if PT_ISA_VARIANT == 2
    return (scvec)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)acc);
#elif PT_ISA_VARIANT == 1
    return (scvec)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)acc);
#else
    return acc + a * b;
#endif
}

SC_INLINE void store_acc(float *out, const scvec *acc)
{
#pragma GCC unroll 16
    for (int a = 0; a < SC_ACC; a++)
        memcpy(out + (size_t)a * SC_LANES, &acc[a], sizeof acc[a]);
}

static void fwd(float *restrict out, const float *restrict weight, int C, int k0,
                const float *restrict xt, size_t stride)
{
    scvec acc[SC_ACC];
#pragma GCC unroll 16
    for (int a = 0; a < SC_ACC; a++)
        acc[a] = sc_set1(0.0f);
    const size_t ostride = (size_t)C * 9;
    const float *w = weight + (size_t)k0 * ostride;
    for (int c = 0; c < C; c++, w += 9, xt += 4 * stride)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            const scvec x = sc_load(xt + (size_t)q * stride);
#pragma GCC unroll 4
            for (int o = 0; o < SC_ROWS; o++)
#pragma GCC unroll 4
                for (int p = 0; p < 4; p++)
                    acc[o * 4 + p] = sc_fma(sc_set1(w[o * ostride + TAP(p, q)]), x, acc[o * 4 + p]);
        }
    store_acc(out, acc);
}

static void din(float *restrict out, const float *restrict weight, int C, int K, int c0,
                const float *restrict dyt, size_t stride)
{
    scvec acc[SC_ACC];
#pragma GCC unroll 16
    for (int a = 0; a < SC_ACC; a++)
        acc[a] = sc_set1(0.0f);
    const size_t kstride = (size_t)C * 9;
    const float *w = weight + (size_t)c0 * 9;
    for (int k = 0; k < K; k++, w += kstride, dyt += 4 * stride)
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
            const scvec g = sc_load(dyt + (size_t)p * stride);
#pragma GCC unroll 4
            for (int o = 0; o < SC_ROWS; o++)
#pragma GCC unroll 4
                for (int q = 0; q < 4; q++)
                    acc[o * 4 + q] = sc_fma(sc_set1(w[o * 9 + TAP(p, q)]), g, acc[o * 4 + q]);
        }
    store_acc(out, acc);
}

/* SC_DW_K output channels per call: two on AVX-512, so that the centre tap's chain of four
 * multiply-adds per image runs beside another; one where 18 accumulators would not fit the
 * registers. */
#if PT_ISA_VARIANT == 2
#define SC_DW_K 2
#else
#define SC_DW_K 1
#endif

static void dw(float *restrict dweight, const float *restrict dout, const float *restrict xq, int C,
               int K, int k, int c0, int N)
{
    scvec acc[SC_DW_K][9];
#pragma GCC unroll 2
    for (int b = 0; b < SC_DW_K; b++)
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++)
            acc[b][t] = sc_set1(0.0f);
    for (int n = 0; n < N; n++) {
        const float *g = dout + ((size_t)n * K + k) * 4;
        const float *x = xq + (size_t)n * 4 * C + c0;
        scvec xv[4];
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            xv[q] = sc_load(x + (size_t)q * C);
#pragma GCC unroll 2
        for (int b = 0; b < SC_DW_K; b++)
#pragma GCC unroll 4
            for (int p = 0; p < 4; p++) {
                const scvec gp = sc_set1(g[b * 4 + p]);
#pragma GCC unroll 4
                for (int q = 0; q < 4; q++)
                    acc[b][TAP(p, q)] = sc_fma(gp, xv[q], acc[b][TAP(p, q)]);
            }
    }
    for (int b = 0; b < SC_DW_K; b++) {
        float *d = dweight + ((size_t)(k + b) * C + c0) * 9;
        for (int t = 0; t < 9; t++)
            for (int v = 0; v < SC_LANES; v++)
                d[(size_t)v * 9 + t] += acc[b][t][v];
    }
}

const pt_smallconv_kernels PT_KERNELS(pt_smallconv_kernels) = {fwd,      din,     dw,
                                                               SC_LANES, SC_ROWS, SC_DW_K};
