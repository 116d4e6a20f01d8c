/* Batch norm's inner loops (batchnorm_kernels.h), compiled once per instruction set. */
#include "batchnorm_kernels.h"

#include "simd.h"

/* Adds the eight lanes, in order, to *s (and the tail to lane 0 first). */
static void finish_lanes(double *s, const double lanes[8])
{
    for (int k = 0; k < 8; k++)
        *s += lanes[k];
}

static void sums(double *s, double *ss, const float *x, int n)
{
    f64x8 a = f64x8_zero(), b = f64x8_zero();
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        f64x8 v = f64x8_from_f32(f32x8_load(x + j));
        a = f64x8_add(a, v);
        b = f64x8_add(b, f64x8_mul(v, v));
    }
    double la[8], lb[8];
    f64x8_store(la, a);
    f64x8_store(lb, b);
    for (; j < n; j++) {
        double v = x[j];
        la[0] += v;
        lb[0] += v * v;
    }
    finish_lanes(s, la);
    finish_lanes(ss, lb);
}

static void scale_shift(float *o, const float *x, int n, float scale, float shift, int relu)
{
    if (relu) {
        for (int j = 0; j < n; j++) {
            float v = x[j] * scale + shift;
            o[j] = v < 0.0f ? 0.0f : v;
        }
    } else {
        for (int j = 0; j < n; j++)
            o[j] = x[j] * scale + shift;
    }
}

/* In place, through scale_shift: the same arithmetic, so the same bits. */
static void scale_shift_planes(float *o, int planes, size_t hw, size_t stride, const float *scale,
                               const float *shift, int relu)
{
    for (int c = 0; c < planes; c++)
        scale_shift(o + (size_t)c * stride, o + (size_t)c * stride, (int)hw, scale[c], shift[c],
                    relu);
}

/* The gradient reaching the batch norm: dy, or dy masked by a fused ReLU's output y. */
static inline float relu_grad(const float *dy, const float *y, int j)
{
    return y && !(y[j] > 0.0f) ? 0.0f : dy[j];
}

static inline f32x8 relu_grad8(const float *dy, const float *y, int j)
{
    f32x8 g = f32x8_load(dy + j);
    if (!y)
        return g;
    /* lanes where y > 0 keep their bits, the others become +0.0f, as the ReLU writes them */
    i32x8 keep = f32x8_load(y + j) > f32x8_set1(0.0f), bits;
    memcpy(&bits, &g, sizeof bits);
    bits &= keep;
    memcpy(&g, &bits, sizeof g);
    return g;
}

static void backward_sums(double *sdy, double *sdyx, const float *dy, const float *y,
                          const float *x, float mean, float rstd, int n)
{
    f64x8 a = f64x8_zero(), b = f64x8_zero();
    const f32x8 m = f32x8_set1(mean), r = f32x8_set1(rstd);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        f32x8 xhat = (f32x8_load(x + j) - m) * r;
        f64x8 g = f64x8_from_f32(relu_grad8(dy, y, j));
        a = f64x8_add(a, g);
        b = f64x8_add(b, f64x8_mul(g, f64x8_from_f32(xhat)));
    }
    double la[8], lb[8];
    f64x8_store(la, a);
    f64x8_store(lb, b);
    for (; j < n; j++) {
        float xhat = (x[j] - mean) * rstd, g = relu_grad(dy, y, j);
        la[0] += g;
        lb[0] += (double)g * xhat;
    }
    finish_lanes(sdy, la);
    finish_lanes(sdyx, lb);
}

static void backward_apply(float *dx, const float *dy, const float *y, const float *x, int n,
                           float mean, float rstd, float k, float mdy, float mdyx)
{
    if (y) {
        for (int j = 0; j < n; j++) {
            float xhat = (x[j] - mean) * rstd, g = y[j] > 0.0f ? dy[j] : 0.0f;
            dx[j] = k * (g - mdy - xhat * mdyx);
        }
    } else {
        for (int j = 0; j < n; j++) {
            float xhat = (x[j] - mean) * rstd;
            dx[j] = k * (dy[j] - mdy - xhat * mdyx);
        }
    }
}

const pt_bn_kernels PT_KERNELS(pt_bn_kernels) = {sums, scale_shift, scale_shift_planes,
                                                 backward_sums, backward_apply};
