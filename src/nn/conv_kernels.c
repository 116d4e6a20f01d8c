/* The convolution's own loops (conv_kernels.h), compiled once per instruction set. */
#include "conv_kernels.h"

#include <stddef.h>
#include <string.h>

#include "simd.h"

/* ---- forward -------------------------------------------------------------------------------- */

/* Sixteen outputs from column q of one row: the bias, then the taps' products added in (r, s)
 * order (one multiply and one add each, never fused), lane by lane. */
static inline f32x16 forward_block(const float *x0, const f32x16 *wv, f32x16 bias, int q, int Wp,
                                   const int R, const int S)
{
    f32x16 acc = bias;
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++)
            acc = f32x16_madd(acc, wv[r * S + s], f32x16_load(x0 + (size_t)r * Wp + s + q));
    return acc;
}

/* One row of outputs, columns [0, Q), R x S taps, in blocks of sixteen; the last Q % 16 columns
 * as one more block whose lanes past Q read on into the next row (or the zeros after the plane,
 * conv_kernels.h) and are dropped. Fashion-MNIST's 28 columns are 16 + 12: the twelve went one
 * at a time before, most of the layer's time. Inlined with constant R and S (3x3) so that the
 * taps unroll and the weights stay in registers. */
static inline void forward_row(float *row, const float *x0, const f32x16 *wv, float b, int Q,
                               int Wp, const int R, const int S)
{
    int q = 0;
    const f32x16 bias = f32x16_set1(b);
    for (; q + 16 <= Q; q += 16)
        f32x16_store(row + q, forward_block(x0, wv, bias, q, Wp, R, S));
    if (q < Q) {
        float lanes[16];
        f32x16_store(lanes, forward_block(x0, wv, bias, q, Wp, R, S));
        pt_copy32(row + q, lanes, Q - q);
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
            forward_row(out + ((size_t)k * P + p) * Q, xp + (size_t)p * Wp, wv, b, Q, Wp, R, S);
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

/* Taps [t0, t0 + nt) over n floats (a multiple of sixteen): each block of sixteen adds into the
 * taps' sixteen-lane sums, so element f always lands in lane f % 16. */
static inline void weight_taps(double *sums, const float *g, const float *x0, int Wp, int S, int n,
                               int t0, const int nt)
{
    f32x16 acc[TAP_GROUP];
    const float *x[TAP_GROUP];
    for (int i = 0; i < nt; i++) {
        acc[i] = f32x16_set1(0.0f);
        x[i] = x0 + (size_t)((t0 + i) / S) * Wp + (size_t)((t0 + i) % S);
    }
    for (int f = 0; f < n; f += 16) {
        const f32x16 g16 = f32x16_load(g + f);
        for (int i = 0; i < nt; i++)
            acc[i] = f32x16_madd(acc[i], g16, f32x16_load(x[i] + f));
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

static void direct_weight(double *sums, const float *g, const float *x0, int Wp, int R, int S,
                          int n)
{
    const int taps = R * S;
    int t0 = 0;
    for (; t0 + TAP_GROUP <= taps; t0 += TAP_GROUP)
        weight_taps(sums, g, x0, Wp, S, n, t0, TAP_GROUP);
    for (; t0 < taps; t0++)
        weight_taps(sums, g, x0, Wp, S, n, t0, 1);
}

/* ---- im2col and col2im ----------------------------------------------------------------------
 *
 * Copies and additions only, each column entry added to its pixel in the same (c, r, s, image)
 * order on every path: the same bits everywhere. The strided inner loops are written once and
 * called with the stride as a constant for 1 and 2 (every ResNet downsampling layer), so the
 * compiler vectorises those with shuffles instead of one element at a time. */

/* drow[q] = src[q * stride] for q in [lo, hi) */
static inline __attribute__((always_inline)) void
gather_columns(float *restrict drow, const float *restrict src, int lo, int hi, int stride)
{
    for (int q = lo; q < hi; q++)
        drow[q] = src[(size_t)q * stride];
}

/* dst[q * stride] += srow[q] for q in [lo, hi) */
static inline __attribute__((always_inline)) void
add_columns(float *restrict dst, const float *restrict srow, int lo, int hi, int stride)
{
    for (int q = lo; q < hi; q++)
        dst[(size_t)q * stride] += srow[q];
}

/* Range [lo, hi) of output columns q whose input column q*stride - pad + s lies inside [0, W):
 * outside it the im2col entry is padding. The same formula serves rows. */
static void valid_range(int out_size, int in_size, int stride, int pad, int offset, int *lo,
                        int *hi)
{
    int first = pad - offset; /* need q*stride >= first */
    int a = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = in_size - 1 + pad - offset; /* need q*stride <= last */
    int b = last < 0 ? 0 : last / stride + 1;
    if (b > out_size)
        b = out_size;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* col (CRS, nb*PQ) from in (nb,C,H,W) (in points at the chunk's first image). */
static void im2col(float *col, const float *in, const pt_conv_dims *d, int nb, int P, int Q)
{
    const int C = d->c, H = d->h, W = d->w, R = d->r, S = d->s;
    const int stride = d->stride, pad = d->pad;
    const size_t pq = (size_t)P * Q, ld = (size_t)nb * pq, hw = (size_t)H * W;
    for (int c = 0; c < C; c++) {
        for (int r = 0; r < R; r++) {
            int p_lo, p_hi;
            valid_range(P, H, stride, pad, r, &p_lo, &p_hi);
            for (int s = 0; s < S; s++) {
                int q_lo, q_hi;
                valid_range(Q, W, stride, pad, s, &q_lo, &q_hi);
                float *row = col + ((size_t)(c * R + r) * S + s) * ld;
                for (int i = 0; i < nb; i++) {
                    const float *plane = in + ((size_t)i * C + c) * hw;
                    float *dst = row + (size_t)i * pq;
                    /* Rows of the output entirely in the vertical padding. */
                    memset(dst, 0, (size_t)p_lo * Q * sizeof(float));
                    memset(dst + (size_t)p_hi * Q, 0, (size_t)(P - p_hi) * Q * sizeof(float));
                    for (int p = p_lo; p < p_hi; p++) {
                        /* Input column of output q is q*stride + off, >= 0 on [q_lo, q_hi). */
                        const float *src = plane + (size_t)(p * stride - pad + r) * W;
                        const int off = s - pad;
                        float *drow = dst + (size_t)p * Q;
                        for (int q = 0; q < q_lo; q++)
                            drow[q] = 0.0f;
                        if (stride == 1)
                            memcpy(drow + q_lo, src + q_lo + off,
                                   (size_t)(q_hi - q_lo) * sizeof(float));
                        else if (stride == 2)
                            gather_columns(drow, src + off, q_lo, q_hi, 2);
                        else
                            gather_columns(drow, src + off, q_lo, q_hi, stride);
                        for (int q = q_hi; q < Q; q++)
                            drow[q] = 0.0f;
                    }
                }
            }
        }
    }
}

/* din (nb,C,H,W) = the adjoint of im2col applied to dcol (CRS, nb*PQ): every column entry is added
 * back to the input pixel it was copied from; padding entries are dropped. */
static void col2im(float *din, const float *dcol, const pt_conv_dims *d, int nb, int P, int Q)
{
    const int C = d->c, H = d->h, W = d->w, R = d->r, S = d->s;
    const int stride = d->stride, pad = d->pad;
    const size_t pq = (size_t)P * Q, ld = (size_t)nb * pq, hw = (size_t)H * W;
    memset(din, 0, (size_t)nb * C * hw * sizeof(float));
    for (int c = 0; c < C; c++) {
        for (int r = 0; r < R; r++) {
            int p_lo, p_hi;
            valid_range(P, H, stride, pad, r, &p_lo, &p_hi);
            for (int s = 0; s < S; s++) {
                int q_lo, q_hi;
                valid_range(Q, W, stride, pad, s, &q_lo, &q_hi);
                const float *row = dcol + ((size_t)(c * R + r) * S + s) * ld;
                for (int i = 0; i < nb; i++) {
                    float *plane = din + ((size_t)i * C + c) * hw;
                    const float *src = row + (size_t)i * pq;
                    for (int p = p_lo; p < p_hi; p++) {
                        float *dst = plane + (size_t)(p * stride - pad + r) * W;
                        const int off = s - pad;
                        const float *srow = src + (size_t)p * Q;
                        if (stride == 1)
                            add_columns(dst + off, srow, q_lo, q_hi, 1);
                        else if (stride == 2)
                            add_columns(dst + off, srow, q_lo, q_hi, 2);
                        else
                            add_columns(dst + off, srow, q_lo, q_hi, stride);
                    }
                }
            }
        }
    }
}

const pt_conv_kernels PT_KERNELS(pt_conv_kernels) = {direct_forward, direct_weight, im2col, col2im};
