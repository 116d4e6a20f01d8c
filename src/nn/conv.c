/* 2-D convolution: im2col + cblas_sgemm over chunks of the batch, and a direct reference.
 *
 * GEMM formulation, for a chunk of nb images starting at image n0 (PQ = P*Q, CRS = C*R*S):
 *   col  (CRS, nb*PQ)   col[(c,r,s)][i*PQ + (p,q)] = in[n0+i, c, p*stride-pad+r, q*stride-pad+s]
 *                       (0 where that falls in the padding)
 *   forward:  Y (K, nb*PQ) = weight (K, CRS) * col            then scatter Y to out (N,K,P,Q)
 *   backward: G (K, nb*PQ) = dout gathered from (N,K,P,Q)
 *             dweight (K, CRS) += G * col^T
 *             dcol (CRS, nb*PQ) = weight^T * G                  then col2im into din
 * Putting the images side by side in the columns turns N small GEMMs into one large one, which is
 * what keeps OpenBLAS efficient on small feature maps. The price is the scatter / gather between
 * (K, nb*PQ) and (N,K,P,Q), a copy of the output (the bias add rides along with it); with one image
 * per chunk the two layouts coincide and the GEMM reads and writes the tensors directly. */
#include "conv.h"
#include "batchnorm_kernels.h"
#include "conv_kernels.h"
#include "reduce_kernels.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <string.h>

int pt_conv_out_h(const pt_conv_dims *d)
{
    return (d->h + 2 * d->pad - d->r) / d->stride + 1;
}

int pt_conv_out_w(const pt_conv_dims *d)
{
    return (d->w + 2 * d->pad - d->s) / d->stride + 1;
}

int pt_conv_check(const pt_conv_dims *d, pt_error *err)
{
    if (d->n < 0 || d->c < 1 || d->h < 1 || d->w < 1 || d->k < 1 || d->r < 1 || d->s < 1)
        return pt_error_set(err, PT_ERR_INVALID,
                            "conv: bad shape n=%d c=%d h=%d w=%d k=%d kernel=%dx%d", d->n, d->c,
                            d->h, d->w, d->k, d->r, d->s);
    if (d->stride < 1 || d->pad < 0)
        return pt_error_set(err, PT_ERR_INVALID, "conv: bad stride %d or padding %d", d->stride,
                            d->pad);
    if (d->h + 2 * d->pad < d->r || d->w + 2 * d->pad < d->s)
        return pt_error_set(err, PT_ERR_INVALID,
                            "conv: kernel %dx%d larger than padded input %dx%d", d->r, d->s,
                            d->h + 2 * d->pad, d->w + 2 * d->pad);
    /* BLAS dimensions are int: one image's matrices must fit (chunks are capped to fit too). */
    size_t crs = (size_t)d->c * d->r * d->s;
    size_t pq = (size_t)pt_conv_out_h(d) * pt_conv_out_w(d);
    if (crs > INT_MAX || pq > INT_MAX || (size_t)d->k * crs > INT_MAX ||
        (size_t)d->c * d->h * d->w > INT_MAX || (size_t)d->k * pq > INT_MAX)
        return pt_error_set(err, PT_ERR_INVALID, "conv: layer too large (C*R*S=%zu, P*Q=%zu)", crs,
                            pq);
    return PT_OK;
}

/* Floats of one padded plane, (H + 2 pad) x (W + 2 pad) (the direct loops' input, below). */
static size_t padded_plane_floats(const pt_conv_dims *d)
{
    return (size_t)(d->h + 2 * d->pad) * (d->w + 2 * d->pad);
}

/* Float partial sums of the dweight taps (sixteen lanes a tap, conv_kernels.h) run over at most
 * this many products each before they are added to the double sums: long enough to amortise the
 * adding, short enough to keep float rounding at the level of a GEMM's. */
#define DIRECT_FLUSH_TERMS 256
#define DIRECT_LANES       16

/* Floats from one padded plane to the next in the workspace: the plane, then zeros that the
 * direct weight gradient's last block of sixteen may read past its end (shifted by up to S-1). */
static size_t plane_stride(const pt_conv_dims *d)
{
    return padded_plane_floats(d) + DIRECT_LANES + (size_t)d->s;
}

/* Floats of one output-gradient plane spread to the padded plane's row length, Wp, with zeros in
 * the extra columns, rounded up to whole blocks of DIRECT_LANES: every tap of the weight gradient
 * is then one flat dot product with the padded plane shifted by the tap (conv_kernels.h). */
static size_t spread_floats(const pt_conv_dims *d)
{
    size_t n = (size_t)pt_conv_out_h(d) * (size_t)(d->w + 2 * d->pad);
    return (n + DIRECT_LANES - 1) / DIRECT_LANES * DIRECT_LANES;
}

/* Workspace of the direct weight gradient of nb images: their padded planes and one spread
 * plane. */
static size_t direct_backward_floats(const pt_conv_dims *d, size_t nb)
{
    return nb * plane_stride(d) + spread_floats(d);
}

size_t pt_conv_workspace_size(const pt_conv_dims *d, int images_per_gemm)
{
    size_t crs = (size_t)d->c * d->r * d->s;
    size_t pq = (size_t)pt_conv_out_h(d) * pt_conv_out_w(d);
    size_t gemm = (size_t)images_per_gemm * (crs + (size_t)d->k) * pq;
    /* the direct loops' padded planes mostly fit where im2col would, but not on tiny planes */
    if (pt_conv_direct(d)) {
        size_t direct = direct_backward_floats(d, (size_t)images_per_gemm);
        return direct > gemm ? direct : gemm;
    }
    return gemm;
}

/* Floats of im2col matrix and GEMM result per chunk beyond which a chunk takes no more images
 * (but at least one): 2 MiB. A long GEMM over the whole batch streams its im2col matrix and
 * result through memory twice (written, then packed by OpenBLAS); in chunks that fit the caches
 * they stay there. Measured (1 thread, AVX-512 Xeon, batch 32, forward / backward ms, chunks of
 * every image -> this cap): ResNet-18's stem on gray 128x128 images (1 -> 64, 7x7, stride 2)
 * 23.9 / 43.4 -> 12.6 / 27.9, at 64x64 3.7 / 6.6 -> 3.2 / 6.4; its 3x3 stride-2 layers 64 -> 128
 * at 32x32 13.1 / 26.3 -> 12.3 / 24.7, 128 -> 256 at 16x16 11.2 / 21.4 -> 11.3 / 21.8. */
#define IM2COL_CHUNK_FLOATS ((size_t)1 << 19)

/* Images per GEMM that fit in ws_floats and under IM2COL_CHUNK_FLOATS, at least 1 (the
 * documented minimum), at most n, and with nb*PQ within BLAS's int. */
static int chunk_images(const pt_conv_dims *d, size_t ws_floats)
{
    size_t per_image = pt_conv_workspace_size(d, 1);
    assert(d->n == 0 || ws_floats >= per_image); /* the documented minimum */
    size_t pq = (size_t)pt_conv_out_h(d) * pt_conv_out_w(d);
    size_t nb = ws_floats / per_image;
    if (nb > IM2COL_CHUNK_FLOATS / per_image)
        nb = IM2COL_CHUNK_FLOATS / per_image;
    if (nb > (size_t)d->n)
        nb = (size_t)d->n;
    if (nb > INT_MAX / pq)
        nb = INT_MAX / pq;
    return nb < 1 ? 1 : (int)nb;
}

/* ---- single input channel, stride 1: direct loops -------------------------------------------
 *
 * A first layer on gray images has C = 1: its GEMM has an inner dimension of R*S (9), too short
 * for OpenBLAS to run well, and im2col copies every input pixel R*S times. Computed directly
 * instead, on a copy of the input plane with its zero padding made explicit (no bounds checks),
 * eight output columns at a time with all taps summed in registers. Only the input gradient, which
 * a first layer does not need, still goes through im2col + GEMM. */

int pt_conv_direct(const pt_conv_dims *d)
{
    return d->c == 1 && d->stride == 1 && d->r * d->s <= PT_CONV_DIRECT_MAX_TAPS;
}

/* dst = src (H x W) surrounded by pad zeros on every side. */
static void pad_plane(float *dst, const float *src, const pt_conv_dims *d)
{
    const int H = d->h, W = d->w, pad = d->pad, Wp = W + 2 * pad;
    memset(dst, 0, (size_t)pad * Wp * sizeof(float));
    for (int h = 0; h < H; h++) {
        float *row = dst + (size_t)(h + pad) * Wp;
        memset(row, 0, (size_t)pad * sizeof(float));
        memcpy(row + pad, src + (size_t)h * W, (size_t)W * sizeof(float));
        memset(row + pad + W, 0, (size_t)pad * sizeof(float));
    }
    memset(dst + (size_t)(H + pad) * Wp, 0, (size_t)pad * Wp * sizeof(float));
    memset(dst + padded_plane_floats(d), 0,
           (plane_stride(d) - padded_plane_floats(d)) * sizeof(float));
}

/* spread = g (P x Q) with rows Wp floats apart, zeros in between and after (spread_floats). */
static void spread_plane(float *spread, const float *g, int P, int Q, int Wp, size_t n)
{
    for (int p = 0; p < P; p++) {
        memcpy(spread + (size_t)p * Wp, g + (size_t)p * Q, (size_t)Q * sizeof(float));
        memset(spread + (size_t)p * Wp + Q, 0, (size_t)(Wp - Q) * sizeof(float));
    }
    memset(spread + (size_t)P * Wp, 0, (n - (size_t)P * Wp) * sizeof(float));
}

/* dweight (K,1,R,S) += its gradient over images [n0, n0 + nb), whose padded planes are in xp
 * (plane_stride apart); spread is scratch for spread_floats. */
static void direct_backward_weight(float *dweight, const float *dout, const float *xp,
                                   float *spread, const pt_conv_dims *d, int n0, int nb, int P,
                                   int Q)
{
    const pt_conv_kernels *kern = PT_KERNELS_ACTIVE(pt_conv_kernels);
    const int R = d->r, S = d->s, K = d->k, Wp = d->w + 2 * d->pad;
    const size_t pq = (size_t)P * Q, stride = plane_stride(d), n_spread = spread_floats(d);
    const size_t flush = (size_t)DIRECT_LANES * DIRECT_FLUSH_TERMS;
    for (int k = 0; k < K; k++) {
        double sums[PT_CONV_DIRECT_MAX_TAPS] = {0};
        for (int i = 0; i < nb; i++) {
            spread_plane(spread, dout + ((size_t)(n0 + i) * K + k) * pq, P, Q, Wp, n_spread);
            for (size_t f = 0; f < n_spread; f += flush) {
                const size_t n = n_spread - f < flush ? n_spread - f : flush;
                kern->direct_weight(sums, spread + f, xp + i * stride + f, Wp, R, S, (int)n);
            }
        }
        for (int t = 0; t < R * S; t++)
            dweight[(size_t)k * R * S + t] += (float)sums[t];
    }
}

void pt_conv_forward(float *out, const float *in, const float *weight, const float *bias,
                     const pt_conv_dims *d, float *ws, size_t ws_floats)
{
    pt_conv_forward_timed(out, in, weight, bias, d, ws, ws_floats, NULL, NULL);
}

/* Adds the seconds since *start to *total when profiling (total != NULL). */
static void add_elapsed(double *total, double start)
{
    if (total)
        *total += pt_now_seconds() - start;
}

static double start_clock(const double *total)
{
    return total ? pt_now_seconds() : 0.0;
}

void pt_conv_epilogue_planes(const pt_conv_epilogue *ep, int k0, int planes, float *out, size_t hw,
                             size_t stride)
{
    PT_KERNELS_ACTIVE(pt_bn_kernels)
        ->scale_shift_planes(out, planes, hw, stride, ep->scale + k0, ep->shift + k0, ep->relu);
}

void pt_conv_epilogue_strips(const pt_conv_epilogue *ep, float *out, int K, int P, int Q, int tile,
                             int tiles_h, int g0, int rows)
{
    const size_t pq = (size_t)P * Q;
    for (int g = g0; g < g0 + rows;) {
        const int n = g / tiles_h;
        const int end = (n + 1) * tiles_h < g0 + rows ? (n + 1) * tiles_h : g0 + rows;
        const int r0 = tile * (g % tiles_h);
        const int r1 = tile * ((end - 1) % tiles_h + 1) < P ? tile * ((end - 1) % tiles_h + 1) : P;
        pt_conv_epilogue_planes(ep, 0, K, out + (size_t)n * K * pq + (size_t)r0 * Q,
                                (size_t)(r1 - r0) * Q, pq);
        g = end;
    }
}

/* ep on the K planes of pq floats at out (one image). */
static void epilogue_planes(const pt_conv_epilogue *ep, float *out, int K, size_t pq)
{
    pt_conv_epilogue_planes(ep, 0, K, out, pq, pq);
}

void pt_conv_forward_timed(float *out, const float *in, const float *weight, const float *bias,
                           const pt_conv_dims *d, float *ws, size_t ws_floats,
                           const pt_conv_epilogue *ep, double *gemm_seconds)
{
    const int K = d->k, P = pt_conv_out_h(d), Q = pt_conv_out_w(d);
    const int crs = d->c * d->r * d->s;
    const size_t pq = (size_t)P * Q, in_image = (size_t)d->c * d->h * d->w;
    const pt_conv_kernels *kern = PT_KERNELS_ACTIVE(pt_conv_kernels);
    if (pt_conv_direct(d)) {
        for (int n = 0; n < d->n; n++) {
            pad_plane(ws, in + (size_t)n * in_image, d);
            kern->direct_forward(out + (size_t)n * K * pq, ws, weight, bias, K, P, Q,
                                 d->w + 2 * d->pad, d->r, d->s);
            if (ep)
                epilogue_planes(ep, out + (size_t)n * K * pq, K, pq);
        }
        return;
    }
    const int nb_max = chunk_images(d, ws_floats);
    float *col = ws;
    float *y = ws + (size_t)nb_max * crs * pq;

    for (int n0 = 0; n0 < d->n; n0 += nb_max) {
        const int nb = d->n - n0 < nb_max ? d->n - n0 : nb_max;
        const int cols = nb * (int)pq;
        float *outn = out + (size_t)n0 * K * pq;
        kern->im2col(col, in + (size_t)n0 * in_image, d, nb, P, Q);
        double t0 = start_clock(gemm_seconds);
        if (nb == 1) {
            /* (K, PQ) is already out's layout for one image: no scatter. */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, cols, crs, 1.0f, weight, crs,
                        col, cols, 0.0f, outn, cols);
            add_elapsed(gemm_seconds, t0);
            if (bias) {
                for (int k = 0; k < K; k++) {
                    float *o = outn + (size_t)k * pq;
                    for (size_t j = 0; j < pq; j++)
                        o[j] += bias[k];
                }
            }
            if (ep)
                epilogue_planes(ep, outn, K, pq);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, cols, crs, 1.0f, weight, crs, col,
                    cols, 0.0f, y, cols);
        add_elapsed(gemm_seconds, t0);
        /* y (K, nb*PQ) -> out (nb,K,P,Q), adding the bias on the way. */
        for (int i = 0; i < nb; i++) {
            for (int k = 0; k < K; k++) {
                const float *src = y + (size_t)k * cols + (size_t)i * pq;
                float *dst = outn + ((size_t)i * K + k) * pq;
                float b = bias ? bias[k] : 0.0f;
                for (size_t j = 0; j < pq; j++)
                    dst[j] = src[j] + b;
            }
            if (ep)
                epilogue_planes(ep, outn + (size_t)i * K * pq, K, pq);
        }
    }
}

void pt_conv_bias_backward(float *dbias, const float *dout, int N, int K, size_t pq)
{
    pt_conv_bias_backward_channels(dbias, dout, N, K, pq, 0, K);
}

void pt_conv_bias_backward_channels(float *dbias, const float *dout, int N, int K, size_t pq,
                                    int k0, int k1)
{
    /* In double per channel over the whole batch, so that the result does not depend on how a
     * caller chunks the batch; eight partial sums per image (reduce_kernels.h). */
    const pt_reduce_kernels *kern = PT_KERNELS_ACTIVE(pt_reduce_kernels);
    for (int k = k0; k < k1; k++) {
        double acc = 0.0;
        for (int n = 0; n < N; n++) {
            const float *g = dout + ((size_t)n * K + k) * pq;
            for (size_t j = 0; j < pq; j += INT_MAX) /* runs of at most INT_MAX floats */
                kern->sum(&acc, g + j, (int)(pq - j < INT_MAX ? pq - j : INT_MAX));
        }
        dbias[k] += (float)acc;
    }
}

void pt_conv_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                      const float *weight, const pt_conv_dims *d, float *ws, size_t ws_floats)
{
    pt_conv_backward_timed(din, dweight, dbias, dout, in, weight, d, ws, ws_floats, NULL);
}

void pt_conv_backward_timed(float *din, float *dweight, float *dbias, const float *dout,
                            const float *in, const float *weight, const pt_conv_dims *d, float *ws,
                            size_t ws_floats, double *gemm_seconds)
{
    const int K = d->k, P = pt_conv_out_h(d), Q = pt_conv_out_w(d);
    const int crs = d->c * d->r * d->s;
    const size_t pq = (size_t)P * Q, in_image = (size_t)d->c * d->h * d->w;
    const pt_conv_kernels *kern = PT_KERNELS_ACTIVE(pt_conv_kernels);

    if (dbias)
        pt_conv_bias_backward(dbias, dout, d->n, K, pq);
    if (!din && !dweight)
        return;
    if (pt_conv_direct(d) && dweight) {
        /* as many padded planes at a time as fit in the workspace, and one spread plane */
        const size_t stride = plane_stride(d);
        assert(d->n == 0 || ws_floats >= direct_backward_floats(d, 1)); /* the minimum */
        size_t fit = (ws_floats - spread_floats(d)) / stride;
        const int nb_max = fit < 1 ? 1 : fit > (size_t)d->n ? d->n : (int)fit;
        for (int n0 = 0; n0 < d->n; n0 += nb_max) {
            const int nb = d->n - n0 < nb_max ? d->n - n0 : nb_max;
            for (int i = 0; i < nb; i++)
                pad_plane(ws + i * stride, in + (size_t)(n0 + i) * in_image, d);
            direct_backward_weight(dweight, dout, ws, ws + (size_t)nb * stride, d, n0, nb, P, Q);
        }
        if (!din)
            return;
        dweight = NULL; /* done: the GEMM path below computes din alone */
    }

    const int nb_max = chunk_images(d, ws_floats);
    float *col = ws;
    float *g = ws + (size_t)nb_max * crs * pq;
    for (int n0 = 0; n0 < d->n; n0 += nb_max) {
        const int nb = d->n - n0 < nb_max ? d->n - n0 : nb_max;
        const int cols = nb * (int)pq;
        const float *doutn = dout + (size_t)n0 * K * pq;
        const float *gm = doutn; /* dout as a (K, nb*PQ) matrix: itself for one image */
        if (nb > 1) {
            for (int i = 0; i < nb; i++)
                for (int k = 0; k < K; k++)
                    memcpy(g + (size_t)k * cols + (size_t)i * pq, doutn + ((size_t)i * K + k) * pq,
                           pq * sizeof(float));
            gm = g;
        }
        if (dweight) {
            kern->im2col(col, in + (size_t)n0 * in_image, d, nb, P, Q);
            double t0 = start_clock(gemm_seconds);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, crs, cols, 1.0f, gm, cols, col,
                        cols, 1.0f, dweight, crs);
            add_elapsed(gemm_seconds, t0);
        }
        if (din) {
            /* The im2col matrix is no longer needed: its space takes dcol. */
            double t0 = start_clock(gemm_seconds);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, crs, cols, K, 1.0f, weight, crs,
                        gm, cols, 0.0f, col, cols);
            add_elapsed(gemm_seconds, t0);
            kern->col2im(din + (size_t)n0 * in_image, col, d, nb, P, Q);
        }
    }
}

/* Input pixel read by output (p,q) through kernel tap (r,s), or -1 in the padding. */
static long tap_index(const pt_conv_dims *d, int p, int q, int r, int s)
{
    int ih = p * d->stride - d->pad + r, iw = q * d->stride - d->pad + s;
    if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w)
        return -1;
    return (long)ih * d->w + iw;
}

void pt_conv_forward_naive(float *out, const float *in, const float *weight, const float *bias,
                           const pt_conv_dims *d)
{
    const int N = d->n, C = d->c, K = d->k, R = d->r, S = d->s;
    const int P = pt_conv_out_h(d), Q = pt_conv_out_w(d);
    const size_t hw = (size_t)d->h * d->w;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    double acc = bias ? bias[k] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int r = 0; r < R; r++)
                            for (int s = 0; s < S; s++) {
                                long t = tap_index(d, p, q, r, s);
                                if (t >= 0)
                                    acc += (double)in[((size_t)n * C + c) * hw + t] *
                                           weight[(((size_t)k * C + c) * R + r) * S + s];
                            }
                    out[(((size_t)n * K + k) * P + p) * Q + q] = (float)acc;
                }
}

void pt_conv_backward_naive(float *din, float *dweight, float *dbias, const float *dout,
                            const float *in, const float *weight, const pt_conv_dims *d)
{
    const int N = d->n, C = d->c, K = d->k, R = d->r, S = d->s;
    const int P = pt_conv_out_h(d), Q = pt_conv_out_w(d);
    const size_t hw = (size_t)d->h * d->w, pq = (size_t)P * Q;
    if (dbias)
        for (int k = 0; k < K; k++) {
            double acc = 0.0;
            for (int n = 0; n < N; n++)
                for (size_t j = 0; j < pq; j++)
                    acc += dout[((size_t)n * K + k) * pq + j];
            dbias[k] += (float)acc;
        }
    if (dweight)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++)
                for (int r = 0; r < R; r++)
                    for (int s = 0; s < S; s++) {
                        double acc = 0.0;
                        for (int n = 0; n < N; n++)
                            for (int p = 0; p < P; p++)
                                for (int q = 0; q < Q; q++) {
                                    long t = tap_index(d, p, q, r, s);
                                    if (t >= 0)
                                        acc += (double)dout[((size_t)n * K + k) * pq + p * Q + q] *
                                               in[((size_t)n * C + c) * hw + t];
                                }
                        dweight[(((size_t)k * C + c) * R + r) * S + s] += (float)acc;
                    }
    if (din)
        /* Gathered per input pixel (rather than scattered) so each sum is taken in double. */
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int ih = 0; ih < d->h; ih++)
                    for (int iw = 0; iw < d->w; iw++) {
                        double acc = 0.0;
                        for (int r = 0; r < R; r++)
                            for (int s = 0; s < S; s++) {
                                int ph = ih + d->pad - r, qw = iw + d->pad - s;
                                if (ph < 0 || qw < 0 || ph % d->stride || qw % d->stride)
                                    continue;
                                int p = ph / d->stride, q = qw / d->stride;
                                if (p >= P || q >= Q)
                                    continue;
                                for (int k = 0; k < K; k++)
                                    acc += (double)dout[((size_t)n * K + k) * pq + p * Q + q] *
                                           weight[(((size_t)k * C + c) * R + r) * S + s];
                            }
                        din[((size_t)n * C + c) * hw + (size_t)ih * d->w + iw] = (float)acc;
                    }
}
