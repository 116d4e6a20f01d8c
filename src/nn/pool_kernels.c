/* 2x2 max pooling (pool_kernels.h), compiled once per instruction set.
 *
 * The baseline runs the scalar rule; forward, the AVX2 path takes eight windows at a time and the
 * AVX-512 path sixteen, with the same comparisons lane by lane, so every path gives the same bits.
 * A row narrower than a block (Fashion-MNIST's 28 and 14 pixels) is copied into a block-wide buffer
 * first: the lanes past the row are computed and thrown away. Backward goes eight windows a block
 * on both wide paths, the rest one at a time. Also the general pool (any window), per path. */
#include "pool_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stddef.h>

#include "simd.h"

/* g where the condition holds, else +0, by its bits: compilers turn "c ? g : 0.0f" stored to
 * memory into a branch, mispredicted on every other window (2.3 ms against 1.0 a step on
 * Fashion-MNIST's first pool). */
static inline float keep_if(float g, int c)
{
    uint32_t b;
    memcpy(&b, &g, sizeof b);
    b &= -(uint32_t)(c != 0);
    memcpy(&g, &b, sizeof g);
    return g;
}

/* Backward of outputs [q0, Q) of one output row: each of the four pixels of a window gets the
 * output's gradient if it was the chosen one, else 0. */
static void row_backward_scalar(float *d0, float *d1, const float *g, const int32_t *am, int base,
                                int W, int q0, int Q)
{
    for (int q = q0; q < Q; q++) {
        const int32_t at = am[q] - base - 2 * q; /* 0, 1, W, W+1; anything else (-1): none */
        const float gq = g[q];
        d0[2 * q] = keep_if(gq, at == 0);
        d0[2 * q + 1] = keep_if(gq, at == 1);
        d1[2 * q] = keep_if(gq, at == W);
        d1[2 * q + 1] = keep_if(gq, at == W + 1);
    }
}

#if PT_ISA_VARIANT >= 1
/* VL windows per block: one register of floats on the path. */
#if PT_ISA_VARIANT == 2
#define VL         16
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD_LANES  1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#else
#define VL         8
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#define ODD_LANES  1, 3, 5, 7, 9, 11, 13, 15
#endif
typedef float fv __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t iv __attribute__((vector_size(VL * sizeof(int32_t))));

static inline fv fv_load(const float *p)
{
    fv v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline iv bits_of(fv x)
{
    iv b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline fv float_of(iv b)
{
    fv x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* Lane j of x where mask j is all ones, else +0. */
static inline fv keep(fv x, iv mask)
{
    return float_of(bits_of(x) & mask);
}

/* The ReLU lane by lane: a negative lane becomes +0, NaN and -0 stay (the baseline's relu()). */
static inline fv relu_lanes(fv x)
{
    return keep(x, ~(x < 0.0f));
}

/* The VL windows' candidates in order: left and right of the 2*VL floats of a row. */
static inline void split_pairs(const float *row, fv *left, fv *right)
{
    fv a = fv_load(row), b = fv_load(row + VL);
    /* __builtin_shufflevector: GCC 12+ and Clang both have it */
    *left = __builtin_shufflevector(a, b, EVEN_LANES);
    *right = __builtin_shufflevector(a, b, ODD_LANES);
}

/* v, best = x, idx where x wins over v (the baseline's wins(), lane by lane) */
static inline void take(fv *v, iv *best, fv x, iv idx)
{
    iv w = (x > *v) | ((x != x) & (*v == *v));
    *v = float_of((bits_of(x) & w) | (bits_of(*v) & ~w));
    *best = (idx & w) | (*best & ~w);
}

/* VL outputs from 2*VL floats of each of r0, r1; at0 is the plane index of r0[0]. */
static void block(float *o, int32_t *am, const float *r0, const float *r1, int32_t at0, int W,
                  int fuse_relu)
{
    const iv lane = {EVEN_LANES};
    fv a, b, c, d;
    split_pairs(r0, &a, &b);
    split_pairs(r1, &c, &d);
    if (fuse_relu) {
        a = relu_lanes(a);
        b = relu_lanes(b);
        c = relu_lanes(c);
        d = relu_lanes(d);
    }
    const iv at = lane + at0;
    fv v = a;
    iv best = at;
    take(&v, &best, b, at + 1);
    take(&v, &best, c, at + W);
    take(&v, &best, d, at + W + 1);
    memcpy(o, &v, sizeof v);
    if (am) {
        if (fuse_relu) {
            const iv chosen = v > 0.0f;
            best = (best & chosen) | (-1 & ~chosen);
        }
        memcpy(am, &best, sizeof best);
    }
}

static void row(float *o, int32_t *am, const float *r0, const float *r1, int base, int W, int Q,
                int fuse_relu)
{
    int q = 0;
    for (; q + VL <= Q; q += VL)
        block(o + q, am ? am + q : NULL, r0 + 2 * q, r1 + 2 * q, base + 2 * q, W, fuse_relu);
    if (q == Q)
        return;
    /* the last Q - q < VL windows: through a block-wide copy of the 2 (Q - q) floats they read */
    const size_t n = 2 * (size_t)(Q - q);
    float b0[2 * VL] = {0}, b1[2 * VL] = {0}, ob[VL];
    int32_t ab[VL];
    pt_copy32(b0, r0 + 2 * q, (int)n);
    pt_copy32(b1, r1 + 2 * q, (int)n);
    block(ob, ab, b0, b1, base + 2 * q, W, fuse_relu);
    pt_copy32(o + q, ob, Q - q);
    if (am)
        pt_copy32(am + q, ab, Q - q);
}

/* Backward in blocks of eight windows on both wide paths: on AVX-512 a sixteen-window block left
 * Fashion-MNIST's 14-window rows entirely to the scalar tail (its first pool's backward 1.3-1.5 ms
 * a step against 1.1 with blocks of eight). */
static inline f32x8 keep8(f32x8 x, i32x8 mask)
{
    i32x8 b;
    memcpy(&b, &x, sizeof b);
    b &= mask;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* Eight windows: 16 floats of each of d0, d1 from 8 gradients and argmaxes. */
static void block_backward(float *d0, float *d1, const float *g, const int32_t *am, int32_t at0,
                           int W)
{
    const i32x8 lane = {0, 2, 4, 6, 8, 10, 12, 14};
    const f32x8 gv = f32x8_load(g);
    i32x8 amv;
    memcpy(&amv, am, sizeof amv);
    const i32x8 at = amv - (lane + at0); /* 0, 1, W, W+1; anything else (-1): none */
    const f32x8 tl = keep8(gv, at == 0), tr = keep8(gv, at == 1);
    const f32x8 bl = keep8(gv, at == W), br = keep8(gv, at == W + 1);
    const f32x8 top[2] = {__builtin_shufflevector(tl, tr, 0, 8, 1, 9, 2, 10, 3, 11),
                          __builtin_shufflevector(tl, tr, 4, 12, 5, 13, 6, 14, 7, 15)};
    const f32x8 bottom[2] = {__builtin_shufflevector(bl, br, 0, 8, 1, 9, 2, 10, 3, 11),
                             __builtin_shufflevector(bl, br, 4, 12, 5, 13, 6, 14, 7, 15)};
    memcpy(d0, top, sizeof top);
    memcpy(d1, bottom, sizeof bottom);
}

static void row_backward(float *d0, float *d1, const float *g, const int32_t *am, int base, int W,
                         int Q)
{
    int q = 0;
    for (; q + 8 <= Q; q += 8)
        block_backward(d0 + 2 * q, d1 + 2 * q, g + q, am + q, base + 2 * q, W);
    row_backward_scalar(d0, d1, g, am, base, W, q, Q); /* the last Q - q < 8 windows */
}
#else
/* x wins over the best so far v: larger, or a NaN over a number. */
static inline int wins(float x, float v)
{
    return x > v || (isnan(x) && !isnan(v));
}

/* The fused ReLU's rule, the same as pt_relu_forward's: it keeps NaN and -0. */
static inline float relu(float x)
{
    return x < 0.0f ? 0.0f : x;
}

/* Outputs [q0, Q) of one output row: the two input rows r0, r1; base is r0's index in the plane.
 * With fuse_relu each candidate goes through the ReLU first, and an output the ReLU left at zero
 * (or NaN) gets argmax -1: its gradient is zero, as the ReLU's backward would make it. */
static void row_scalar(float *o, int32_t *am, const float *r0, const float *r1, int base, int W,
                       int q0, int Q, int fuse_relu)
{
    for (int q = q0; q < Q; q++) {
        float c[4] = {r0[2 * q], r0[2 * q + 1], r1[2 * q], r1[2 * q + 1]};
        const int at[4] = {2 * q, 2 * q + 1, W + 2 * q, W + 2 * q + 1};
        if (fuse_relu)
            for (int i = 0; i < 4; i++)
                c[i] = relu(c[i]);
        int best = 0;
        for (int i = 1; i < 4; i++)
            if (wins(c[i], c[best]))
                best = i;
        o[q] = c[best];
        if (am)
            am[q] = fuse_relu && !(c[best] > 0.0f) ? -1 : base + at[best];
    }
}

static void row(float *o, int32_t *am, const float *r0, const float *r1, int base, int W, int Q,
                int fuse_relu)
{
    row_scalar(o, am, r0, r1, base, W, 0, Q, fuse_relu);
}

static void row_backward(float *d0, float *d1, const float *g, const int32_t *am, int base, int W,
                         int Q)
{
    row_backward_scalar(d0, d1, g, am, base, W, 0, Q);
}
#endif

static void maxpool_2x2(float *out, int32_t *argmax, const float *x, int W, int P, int Q,
                        int fuse_relu)
{
    for (int p = 0; p < P; p++) {
        const float *r0 = x + (size_t)2 * p * W;
        row(out + (size_t)p * Q, argmax ? argmax + (size_t)p * Q : NULL, r0, r0 + W, 2 * p * W, W,
            Q, fuse_relu);
    }
}

/* v, best = u, at if u wins over v: larger, or a NaN over a number. */
static inline void take1(float *v, int32_t *best, float u, int32_t at)
{
    const int win = (u > *v) | ((u != u) & (*v == *v));
    *v = win ? u : *v;
    *best = win ? at : *best;
}

/* One output of the general pool, window clipped to the image: padding never wins, so it is never
 * looked at. Candidates in row-major order; a later one replaces the best only if it wins. */
static void general_one(float *o, int32_t *am, const float *x, int h0, int h1, int W, int w0,
                        int w1)
{
    int32_t best = h0 * W + w0;
    float v = x[best];
    for (int ih = h0; ih < h1; ih++)
        for (int iw = w0; iw < w1; iw++)
            take1(&v, &best, x[ih * W + iw], ih * W + iw);
    *o = v;
    if (am)
        *am = best;
}

/* The columns [w0, w1) of output column q's window, clipped to the W of the image. */
static void window_columns(int q, int kernel, int stride, int pad, int W, int *w0, int *w1)
{
    *w0 = q * stride - pad < 0 ? 0 : q * stride - pad;
    *w1 = q * stride - pad + kernel > W ? W : q * stride - pad + kernel;
}

/* The general pool is separable: a window's first maximum in row-major order is the first maximum,
 * down the window's rows, of each row's first maximum across its columns (a NaN winning over
 * numbers at both steps, the first NaN among NaNs), so the same value and argmax as general_one.
 * Each input row is taken across once (row_max; its maxima wait in a ring of ROW_MAX_ROWS rows for
 * the windows that share it), then each output row takes its window's rows down (down_max): about
 * k + k candidates an output instead of k * k, GL outputs at a time in vectors, the same compares
 * lane by lane on every path. One output at a time, or the window tap by tap across outputs with
 * loads of a runtime stride that the compiler left scalar, took 12.7 ms for ResNet-18's stem pool
 * over 64 images at 64x64 (3x3, stride 2) on AVX-512; this, 3.2 ms (4.7 on the baseline). */
#if PT_ISA_VARIANT == 2
#define GL     16
#define G_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define G_LANE 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#elif PT_ISA_VARIANT == 1
#define GL     8
#define G_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define G_LANE 0, 1, 2, 3, 4, 5, 6, 7
#else
#define GL     4
#define G_EVEN 0, 2, 4, 6
#define G_LANE 0, 1, 2, 3
#endif
typedef float gfv __attribute__((vector_size(GL * sizeof(float))));
typedef int32_t giv __attribute__((vector_size(GL * sizeof(int32_t))));

/* Outputs a row's maxima may have, rows a window may have, floats a copied row may have: planes
 * wider or windows taller go one output at a time (general_row). */
#define ROW_MAX_Q    512
#define ROW_MAX_ROWS 8
#define ROW_BUF      2048
/* Floats from one row's maxima to the next: room for a block past Q, and not a multiple of 4 KiB
 * (rows that far apart would alias in the caches' store forwarding). */
#define H_STRIDE (ROW_MAX_Q + 16)

static inline gfv gfv_load(const float *p)
{
    gfv v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline giv giv_load(const int32_t *p)
{
    giv v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* p[j * stride] for the GL lanes j: one load at stride 1, two and the even lanes at stride 2. */
static inline gfv candidates(const float *p, int stride)
{
    if (stride == 1)
        return gfv_load(p);
    if (stride == 2)
        return __builtin_shufflevector(gfv_load(p), gfv_load(p + GL), G_EVEN);
    gfv v;
    for (int j = 0; j < GL; j++)
        v[j] = p[(size_t)j * stride];
    return v;
}

/* v, best = x, idx in the lanes where x wins over v (general_one's rule, lane by lane). */
static inline void gtake(gfv *v, giv *best, gfv x, giv idx)
{
    const giv w = (x > *v) | ((x != x) & (*v == *v));
    giv xb, vb;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&vb, v, sizeof vb);
    vb = (xb & w) | (vb & ~w);
    memcpy(v, &vb, sizeof vb);
    *best = (idx & w) | (*best & ~w);
}

/* The last float past a block's first candidate that candidates() reads. */
static inline int block_reach(int stride)
{
    return stride == 2 ? 2 * GL - 1 : (GL - 1) * stride;
}

/* hv[q], hi[q] for the Q outputs of row ih of the plane x: the first maximum of the row's columns
 * q*stride - pad .. + kernel - 1 and its index in the plane. The outputs [q_lo, q_hi), whose
 * columns lie inside the row, go GL at a time; a block's last lanes may read past the row (their
 * results are overwritten or never read): from the row itself where what follows it is the
 * plane's next row (readable = 1), else from a copy with room past its end. The edges, clipped,
 * go one at a time. */
static void row_max(float *hv, int32_t *hi, const float *x, int ih, int W, int Q, int kernel,
                    int stride, int pad, int q_lo, int q_hi, int readable)
{
    const float *row = x + (size_t)ih * W;
    const int32_t at = ih * W;
    float buf[ROW_BUF];
    const float *src = row;
    if (q_lo < q_hi) {
        const int last_base = (q_lo + (q_hi - 1 - q_lo) / GL * GL) * stride - pad;
        const int reach = last_base + kernel + block_reach(stride); /* floats read, from row[0] */
        if (reach > W && !(readable && reach <= 2 * W)) {
            memcpy(buf, row, (size_t)W * sizeof(float));
            memset(buf + W, 0, (size_t)(reach - W) * sizeof(float));
            src = buf;
        }
    }
    const giv lane = {G_LANE};
    for (int q = q_lo; q < q_hi; q += GL) {
        const int base = q * stride - pad;
        const giv idx = lane * stride + (at + base);
        gfv v = candidates(src + base, stride);
        giv best = idx;
        for (int kw = 1; kw < kernel; kw++)
            gtake(&v, &best, candidates(src + base + kw, stride), idx + kw);
        memcpy(hv + q, &v, sizeof v);
        memcpy(hi + q, &best, sizeof best);
    }
    for (int q = 0; q < Q; q++) {
        if (q == q_lo)
            q = q_hi > q_lo ? q_hi : q_lo;
        if (q >= Q)
            break;
        int w0, w1;
        window_columns(q, kernel, stride, pad, W, &w0, &w1);
        general_one(hv + q, hi + q, x, ih, ih + 1, W, w0, w1);
    }
}

/* The ring slot of input row ih's maxima: a window's rows, at most ROW_MAX_ROWS in a row, never
 * share one. */
static size_t ring_slot(int ih)
{
    return (size_t)(ih % ROW_MAX_ROWS) * H_STRIDE;
}

/* o, am (may be NULL) for Q outputs: the first maximum, down the maxima of input rows [h0, h1)
 * (in their ring slots), in order. */
static void down_max(float *o, int32_t *am, const float *hv, const int32_t *hi, int h0, int h1,
                     int Q)
{
    const size_t first = ring_slot(h0);
    int q = 0;
    for (; q + GL <= Q; q += GL) {
        gfv v = gfv_load(hv + first + q);
        giv best = giv_load(hi + first + q);
        for (int ih = h0 + 1; ih < h1; ih++)
            gtake(&v, &best, gfv_load(hv + ring_slot(ih) + q), giv_load(hi + ring_slot(ih) + q));
        memcpy(o + q, &v, sizeof v);
        if (am)
            memcpy(am + q, &best, sizeof best);
    }
    for (; q < Q; q++) {
        float v = hv[first + q];
        int32_t best = hi[first + q];
        for (int ih = h0 + 1; ih < h1; ih++)
            take1(&v, &best, hv[ring_slot(ih) + q], hi[ring_slot(ih) + q]);
        o[q] = v;
        if (am)
            am[q] = best;
    }
}

/* One output row's windows one output at a time: rows wider or windows taller than row_max's
 * buffers hold. */
static void general_row(float *o, int32_t *am, const float *x, int h0, int h1, int W, int Q,
                        int kernel, int stride, int pad)
{
    for (int q = 0; q < Q; q++) {
        int w0, w1;
        window_columns(q, kernel, stride, pad, W, &w0, &w1);
        general_one(o + q, am ? am + q : NULL, x, h0, h1, W, w0, w1);
    }
}

/* Any square window, stride and padding, for one plane. */
static void maxpool_general(float *out, int32_t *argmax, const float *x, int H, int W, int P, int Q,
                            int kernel, int stride, int pad)
{
    /* [q_lo, q_hi): the outputs whose window lies inside a row (q*stride - pad >= 0 and
     * q*stride - pad + kernel <= W) */
    int q_lo = (pad + stride - 1) / stride, q_hi = (W + pad - kernel) / stride + 1;
    q_lo = q_lo > Q ? Q : q_lo;
    q_hi = q_hi > Q ? Q : q_hi < q_lo ? q_lo : q_hi;
    const int separable = Q <= ROW_MAX_Q && kernel <= ROW_MAX_ROWS &&
                          (size_t)(Q + 2 * 16) * stride + kernel <= ROW_BUF && W <= ROW_BUF;
    float hv[ROW_MAX_ROWS * H_STRIDE];
    int32_t hi[ROW_MAX_ROWS * H_STRIDE];
    int next = 0; /* rows below it have their maxima in the ring */
    for (int p = 0; p < P; p++) {
        int h0 = p * stride - pad, h1 = h0 + kernel;
        h0 = h0 < 0 ? 0 : h0;
        h1 = h1 > H ? H : h1;
        float *o = out + (size_t)p * Q;
        int32_t *am = argmax ? argmax + (size_t)p * Q : NULL;
        if (!separable) {
            general_row(o, am, x, h0, h1, W, Q, kernel, stride, pad);
            continue;
        }
        /* the rows not taken across yet: windows move down, so each row once */
        for (int ih = h0 > next ? h0 : next; ih < h1; ih++)
            row_max(hv + ring_slot(ih), hi + ring_slot(ih), x, ih, W, Q, kernel, stride, pad, q_lo,
                    q_hi, ih + 1 < H);
        next = h1 > next ? h1 : next;
        down_max(o, am, hv, hi, h0, h1, Q);
    }
}

/* The windows tile the plane, so each input pixel is written once (its gradient or 0) instead of
 * zeroing the plane and scattering into it. */
static void maxpool_2x2_backward(float *din, const float *dout, const int32_t *argmax, int H, int W,
                                 int P, int Q)
{
    for (int p = 0; p < P; p++) {
        float *r0 = din + (size_t)2 * p * W, *r1 = r0 + W;
        row_backward(r0, r1, dout + (size_t)p * Q, argmax + (size_t)p * Q, 2 * p * W, W, Q);
        if (W > 2 * Q) { /* an odd last column no window reads */
            r0[W - 1] = 0.0f;
            r1[W - 1] = 0.0f;
        }
    }
    if (H > 2 * P) /* an odd last row */
        memset(din + (size_t)(H - 1) * W, 0, (size_t)W * sizeof(float));
}

const pt_pool_kernels PT_KERNELS(pt_pool_kernels) = {maxpool_2x2, maxpool_2x2_backward,
                                                     maxpool_general};
