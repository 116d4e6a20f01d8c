/* The small-map convolution's register blocks (smallconv_kernels.h), written once for an MxM map
 * and instantiated for M = 2 and 4 (every loop over positions then has constant bounds and every
 * tap test a constant result: only the pairs inside the kernel remain, unrolled).
 * - fwd, din: rows * M*M accumulators, one vector of images each, in registers over the whole
 *   sum (din: over a band of output channels, carried between bands through out); each step loads
 *   one vector of the transposed input and multiplies it by the weights of the pairs it is in,
 *   broadcast straight from the (K,C,3,3) tensor.
 * - fwd_s2 (stride 2, fwd_rows_s2): the same, one output row of several channels at a time.
 * - dw: 9 accumulators (one per tap) per output channel, one vector of input channels each; each
 *   image loads its M*M input positions and broadcasts its M*M output gradients; the taps' lanes
 *   then go to dweight (stride 9). */
#include "smallconv_kernels.h"

#include <string.h>

#include "simd.h"

/* Lanes, and the accumulators of a fwd / din block: rows * M*M vectors, 16 on AVX-512 (of 32
 * registers), 8 elsewhere at M = 2 (of 16); at M = 4 one channel's 16 positions on every path
 * (AVX2 and the baseline spill some: correct, not tuned). */
#define SC_LANES PT_VL
#if PT_ISA_VARIANT == 2
#define SC_ROWS2 4
#else
#define SC_ROWS2 2
#endif
#define SC_ROWS4 1

#define SC_INLINE static inline __attribute__((always_inline))

/* The tap joining output position p to input position q on an MxM map, or -1 outside the kernel
 * (constant wherever M, p and q are). */
#define SC_TAP(M, p, q)                                                                            \
    ((q) / (M) - (p) / (M) + 1 < 0 || (q) / (M) - (p) / (M) + 1 > 2 ||                             \
             (q) % (M) - (p) % (M) + 1 < 0 || (q) % (M) - (p) % (M) + 1 > 2                        \
         ? -1                                                                                      \
         : ((q) / (M) - (p) / (M) + 1) * 3 + ((q) % (M) - (p) % (M) + 1))

SC_INLINE void zero_acc(ptvec *acc, const int n)
{
#pragma GCC unroll 16
    for (int a = 0; a < n; a++)
        acc[a] = ptvec_set1(0.0f);
}

SC_INLINE void load_acc(ptvec *acc, const float *in, const int n)
{
#pragma GCC unroll 16
    for (int a = 0; a < n; a++)
        acc[a] = ptvec_load(in + (size_t)a * SC_LANES);
}

SC_INLINE void store_acc(float *out, const ptvec *acc, const int n)
{
#pragma GCC unroll 16
    for (int a = 0; a < n; a++)
        memcpy(out + (size_t)a * SC_LANES, &acc[a], sizeof acc[a]);
}

/* fwd for an MxM map and ROWS output channels (both constants where it is inlined). */
SC_INLINE void fwd_map(float *restrict out, const float *restrict weight, int C, int k0,
                       const float *restrict xt, size_t stride, const int M, const int ROWS)
{
    const int MM = M * M;
    ptvec acc[ROWS * MM];
    zero_acc(acc, ROWS * MM);
    const size_t ostride = (size_t)C * 9;
    const float *w = weight + (size_t)k0 * ostride;
    for (int c = 0; c < C; c++, w += 9, xt += (size_t)MM * stride)
#pragma GCC unroll 16
        for (int q = 0; q < MM; q++) {
            const ptvec x = ptvec_load(xt + (size_t)q * stride);
#pragma GCC unroll 4
            for (int o = 0; o < ROWS; o++)
#pragma GCC unroll 16
                for (int p = 0; p < MM; p++)
                    if (SC_TAP(M, p, q) >= 0)
                        acc[o * MM + p] = ptvec_fma(ptvec_set1(w[o * ostride + SC_TAP(M, p, q)]), x,
                                                    acc[o * MM + p]);
        }
    store_acc(out, acc, ROWS * MM);
}

/* din for an MxM map and ROWS input channels, output channels [k0, k1). */
SC_INLINE void din_map(float *restrict out, const float *restrict weight, int C, int k0, int k1,
                       int c0, const float *restrict dyt, size_t stride, int accumulate,
                       const int M, const int ROWS)
{
    const int MM = M * M;
    ptvec acc[ROWS * MM];
    if (accumulate)
        load_acc(acc, out, ROWS * MM);
    else
        zero_acc(acc, ROWS * MM);
    const size_t kstride = (size_t)C * 9;
    const float *w = weight + (size_t)k0 * kstride + (size_t)c0 * 9;
    dyt += (size_t)k0 * MM * stride;
    for (int k = k0; k < k1; k++, w += kstride, dyt += (size_t)MM * stride)
#pragma GCC unroll 16
        for (int p = 0; p < MM; p++) {
            const ptvec g = ptvec_load(dyt + (size_t)p * stride);
#pragma GCC unroll 4
            for (int o = 0; o < ROWS; o++)
#pragma GCC unroll 16
                for (int q = 0; q < MM; q++)
                    if (SC_TAP(M, p, q) >= 0)
                        acc[o * MM + q] =
                            ptvec_fma(ptvec_set1(w[o * 9 + SC_TAP(M, p, q)]), g, acc[o * MM + q]);
        }
    store_acc(out, acc, ROWS * MM);
}

/* dw for an MxM map and KB output channels: 9 accumulators a channel, one per tap, each split in
 * SPLIT by the parity of p (added at the end): at M = 4 the centre tap takes 16 multiply-adds an
 * image and an edge tap 12, chains that would leave the FMA units waiting on their latency
 * (SC_DW_SPLIT4). */
SC_INLINE void dw_map(float *restrict dweight, const float *restrict dout, const float *restrict xq,
                      int C, int K, int k, int c0, int N, const int M, const int KB,
                      const int SPLIT)
{
    const int MM = M * M;
    ptvec acc[KB * SPLIT * 9];
    zero_acc(acc, KB * SPLIT * 9);
    for (int n = 0; n < N; n++) {
        const float *g = dout + ((size_t)n * K + k) * MM;
        const float *x = xq + (size_t)n * MM * C + c0;
#pragma GCC unroll 2
        for (int b = 0; b < KB; b++)
#pragma GCC unroll 16
            for (int p = 0; p < MM; p++) {
                const ptvec gp = ptvec_set1(g[b * MM + p]);
                ptvec *a = acc + (b * SPLIT + p % SPLIT) * 9;
#pragma GCC unroll 16
                for (int q = 0; q < MM; q++)
                    if (SC_TAP(M, p, q) >= 0)
                        a[SC_TAP(M, p, q)] =
                            ptvec_fma(gp, ptvec_load(x + (size_t)q * C), a[SC_TAP(M, p, q)]);
            }
    }
    for (int b = 0; b < KB; b++) {
        float *d = dweight + ((size_t)(k + b) * C + c0) * 9;
        for (int t = 0; t < 9; t++) {
            ptvec sum = acc[b * SPLIT * 9 + t];
            for (int h = 1; h < SPLIT; h++)
                sum += acc[(b * SPLIT + h) * 9 + t];
            for (int v = 0; v < SC_LANES; v++)
                d[(size_t)v * 9 + t] += sum[v];
        }
    }
}

/* dw's output channels per call at M = 2: two on AVX-512, so that the centre tap's chain of four
 * multiply-adds per image runs beside another; one where 18 accumulators would not fit the
 * registers, and at M = 4 (9 accumulators and 16 input vectors). */
#if PT_ISA_VARIANT == 2
#define SC_DW_K2 2
#else
#define SC_DW_K2 1
#endif

/* dw's partial sums per tap at M = 4: two on AVX-512 (18 accumulators of 32 registers); one
 * elsewhere, where 18 would spill from 16 registers: at N = 32, C = K = 256 on AVX2, 8.9 ms with
 * two (spilled, or in two passes over the images: 10.4 ms) against 6.5 ms with one. So at 4x4 the
 * weight gradient sums in another order on AVX2 than on AVX-512. */
#if PT_ISA_VARIANT == 2
#define SC_DW_SPLIT4 2
#else
#define SC_DW_SPLIT4 1
#endif

static void fwd2(float *restrict out, const float *restrict weight, int C, int k0,
                 const float *restrict xt, size_t stride)
{
    fwd_map(out, weight, C, k0, xt, stride, 2, SC_ROWS2);
}

static void fwd4(float *restrict out, const float *restrict weight, int C, int k0,
                 const float *restrict xt, size_t stride)
{
    fwd_map(out, weight, C, k0, xt, stride, 4, SC_ROWS4);
}

/* fwd at stride 2 (pad 1) for an MxM output, ROWS output channels, one output row at a time: its
 * ROWS * M accumulators over every channel, each loading only the three input rows (2M vectors
 * each) under that output row. Taking all M*M outputs of one channel at once, as fwd_map does,
 * loaded each of an 8x8 input's 64 vectors for under two multiply-adds, and streamed the transposed
 * input from L2 once per output channel: 28.9 ms for ResNet-18's 128 -> 256 layer onto 4x4 at 64
 * images, against im2col's 7.1. Each output sums over c, then its window row by row. */
SC_INLINE void fwd_rows_s2(float *restrict out, const float *restrict weight, int C, int k0,
                           const float *restrict xt, size_t stride, const int M, const int ROWS)
{
    const int MM = M * M, IM = 2 * M, IMM = IM * IM;
    const size_t ostride = (size_t)C * 9;
#pragma GCC unroll 4
    for (int py = 0; py < M; py++) {
        ptvec acc[ROWS * M];
        zero_acc(acc, ROWS * M);
        const float *w = weight + (size_t)k0 * ostride;
        const float *x = xt;
        for (int c = 0; c < C; c++, w += 9, x += (size_t)IMM * stride)
#pragma GCC unroll 3
            for (int dy = 0; dy < 3; dy++) {
                const int qy = 2 * py - 1 + dy;
                if (qy < 0 || qy >= IM)
                    continue;
#pragma GCC unroll 8
                for (int qx = 0; qx < IM; qx++) {
                    const ptvec xv = ptvec_load(x + (size_t)(qy * IM + qx) * stride);
#pragma GCC unroll 8
                    for (int o = 0; o < ROWS; o++)
#pragma GCC unroll 4
                        for (int px = 0; px < M; px++) {
                            const int dx = qx - 2 * px + 1;
                            if (dx >= 0 && dx < 3)
                                acc[o * M + px] = ptvec_fma(
                                    ptvec_set1(w[o * ostride + dy * 3 + dx]), xv, acc[o * M + px]);
                        }
                }
            }
#pragma GCC unroll 8
        for (int o = 0; o < ROWS; o++)
#pragma GCC unroll 4
            for (int px = 0; px < M; px++)
                memcpy(out + ((size_t)o * MM + py * M + px) * SC_LANES, &acc[o * M + px],
                       sizeof acc[0]);
    }
}

/* Output channels per fwd_rows_s2 block: ROWS * M accumulators, 16 on AVX-512 (of 32 registers),
 * 8 elsewhere (of 16). */
#if PT_ISA_VARIANT == 2
#define SC_ROWS_S2(M) (16 / (M))
#else
#define SC_ROWS_S2(M) (8 / (M))
#endif

static void fwd2_s2(float *restrict out, const float *restrict weight, int C, int k0,
                    const float *restrict xt, size_t stride)
{
    fwd_rows_s2(out, weight, C, k0, xt, stride, 2, SC_ROWS_S2(2));
}

static void fwd4_s2(float *restrict out, const float *restrict weight, int C, int k0,
                    const float *restrict xt, size_t stride)
{
    fwd_rows_s2(out, weight, C, k0, xt, stride, 4, SC_ROWS_S2(4));
}

static void din2(float *restrict out, const float *restrict weight, int C, int k0, int k1, int c0,
                 const float *restrict dyt, size_t stride, int accumulate)
{
    din_map(out, weight, C, k0, k1, c0, dyt, stride, accumulate, 2, SC_ROWS2);
}

static void din4(float *restrict out, const float *restrict weight, int C, int k0, int k1, int c0,
                 const float *restrict dyt, size_t stride, int accumulate)
{
    din_map(out, weight, C, k0, k1, c0, dyt, stride, accumulate, 4, SC_ROWS4);
}

static void dw2(float *restrict dweight, const float *restrict dout, const float *restrict xq,
                int C, int K, int k, int c0, int N)
{
    dw_map(dweight, dout, xq, C, K, k, c0, N, 2, SC_DW_K2, 1);
}

static void dw4(float *restrict dweight, const float *restrict dout, const float *restrict xq,
                int C, int K, int k, int c0, int N)
{
    dw_map(dweight, dout, xq, C, K, k, c0, N, 4, 1, SC_DW_SPLIT4);
}

const pt_smallconv_kernels PT_KERNELS(pt_smallconv_kernels) = {
    {fwd2, fwd4}, {din2, din4},         {dw2, dw4},    {fwd2_s2, fwd4_s2},
    SC_LANES,     {SC_ROWS2, SC_ROWS4}, {SC_DW_K2, 1}, {SC_ROWS_S2(2), SC_ROWS_S2(4)}};
