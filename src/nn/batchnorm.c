/* 2-D batch normalisation. Each step is written once for one channel; the fused and the
 * separable (sync BN) entry points both loop over channels calling them, so the two paths cannot
 * drift apart. A channel's values are N rows of HW contiguous floats, stride C*HW; the loops over
 * a row are the kernels of the instruction set in use (batchnorm_kernels.h). */
#include "batchnorm.h"
#include "batchnorm_kernels.h"

#include <math.h>
#include <stddef.h>

static void channel_sums(double *sum, double *sumsq, const float *in, int c, int N, int C, int HW)
{
    const pt_bn_kernels *k = PT_KERNELS_ACTIVE(pt_bn_kernels);
    double s = 0.0, ss = 0.0;
    for (int n = 0; n < N; n++)
        k->sums(&s, &ss, in + ((size_t)n * C + c) * HW, HW);
    *sum = s;
    *sumsq = ss;
}

static void channel_moments(float *mean, float *rstd, float *running_mean, float *running_var,
                            double sum, double sumsq, double count, float momentum, float eps)
{
    if (count <= 0.0) {
        /* An empty batch (a rank without samples): nothing to normalise, nothing learnt. */
        *mean = 0.0f;
        *rstd = 1.0f;
        return;
    }
    double m = sum / count;
    double var = sumsq / count - m * m; /* biased: what the batch is normalised with */
    if (var < 0.0)
        var = 0.0; /* rounding when all values are (nearly) equal */
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(var + eps));
    if (running_mean && running_var) {
        /* PyTorch tracks the unbiased variance, an estimate of the population's. */
        double unbiased = count > 1.0 ? var * count / (count - 1.0) : var;
        *running_mean = (1.0f - momentum) * *running_mean + momentum * (float)m;
        *running_var = (1.0f - momentum) * *running_var + momentum * (float)unbiased;
    }
}

/* (x - mean) * rstd * gamma + beta as x * scale + shift: one multiply-add per value. The one
 * place the two are formed, so that training and inference normalise with the same bits. */
static void affine_form(float mean, float rstd, float gamma, float beta, float *scale, float *shift)
{
    *scale = gamma * rstd;
    *shift = beta - mean * *scale;
}

/* relu = 1 applies max(0, .) on the way out: a ReLU after the batch norm then costs no pass of
 * its own over the activations. */
static void channel_normalize(float *out, const float *in, int c, float mean, float rstd,
                              float gamma, float beta, int N, int C, int HW, int relu)
{
    const pt_bn_kernels *k = PT_KERNELS_ACTIVE(pt_bn_kernels);
    float scale, shift;
    affine_form(mean, rstd, gamma, beta, &scale, &shift);
    for (int n = 0; n < N; n++) {
        size_t off = ((size_t)n * C + c) * HW;
        k->scale_shift(out + off, in + off, HW, scale, shift, relu);
    }
}

/* y: the output of a fused ReLU (its mask applies to dout), or NULL. */
static void channel_backward_sums(double *sum_dy, double *sum_dy_xhat, const float *dout,
                                  const float *y, const float *in, int c, float mean, float rstd,
                                  int N, int C, int HW)
{
    const pt_bn_kernels *k = PT_KERNELS_ACTIVE(pt_bn_kernels);
    double sdy = 0.0, sdyx = 0.0;
    for (int n = 0; n < N; n++) {
        size_t off = ((size_t)n * C + c) * HW;
        k->backward_sums(&sdy, &sdyx, dout + off, y ? y + off : NULL, in + off, mean, rstd, HW);
    }
    *sum_dy = sdy;
    *sum_dy_xhat = sdyx;
}

static void channel_backward_apply(float *din, const float *dout, const float *y, const float *in,
                                   int c, float mean, float rstd, float gamma, double sum_dy,
                                   double sum_dy_xhat, double count, int N, int C, int HW)
{
    /* d in = gamma*rstd * (dy - mean(dy) - xhat * mean(dy*xhat)): the two means are the
     * gradient flowing through the batch mean and the batch variance. */
    const pt_bn_kernels *kern = PT_KERNELS_ACTIVE(pt_bn_kernels);
    const float k = gamma * rstd;
    const float mdy = (float)(sum_dy / count), mdyx = (float)(sum_dy_xhat / count);
    for (int n = 0; n < N; n++) {
        size_t off = ((size_t)n * C + c) * HW;
        kern->backward_apply(din + off, dout + off, y ? y + off : NULL, in + off, HW, mean, rstd, k,
                             mdy, mdyx);
    }
}

void pt_batchnorm_forward_train_range(float *out, float *mean, float *rstd, float *running_mean,
                                      float *running_var, const float *in, const float *gamma,
                                      const float *beta, int N, int C, int HW, float momentum,
                                      float eps, int relu, int c0, int c1)
{
    const double count = (double)N * HW;
    for (int c = c0; c < c1; c++) {
        double s, ss;
        channel_sums(&s, &ss, in, c, N, C, HW);
        channel_moments(&mean[c], &rstd[c], running_mean ? &running_mean[c] : NULL,
                        running_var ? &running_var[c] : NULL, s, ss, count, momentum, eps);
        channel_normalize(out, in, c, mean[c], rstd[c], gamma[c], beta[c], N, C, HW, relu);
    }
}

void pt_batchnorm_eval_affine(float *scale, float *shift, const float *gamma, const float *beta,
                              const float *running_mean, const float *running_var, int c0, int c1,
                              float eps)
{
    for (int c = c0; c < c1; c++) {
        float rstd = (float)(1.0 / sqrt((double)running_var[c] + eps));
        affine_form(running_mean[c], rstd, gamma[c], beta[c], &scale[c - c0], &shift[c - c0]);
    }
}

void pt_batchnorm_forward_eval_range(float *out, const float *in, const float *gamma,
                                     const float *beta, const float *running_mean,
                                     const float *running_var, int N, int C, int HW, float eps,
                                     int relu, int c0, int c1)
{
    /* In memory order, image by image: with no statistics to gather, nothing ties the loop to
     * one channel at a time, and a channel's planes lie C*HW floats apart (a stride that leaves
     * the hardware prefetcher behind at every plane). Each value is still x * scale + shift with
     * its channel's affine_form, as in training's channel_normalize. */
    enum { CHANNELS = 64 };
    const pt_bn_kernels *k = PT_KERNELS_ACTIVE(pt_bn_kernels);
    for (int cb = c0; cb < c1; cb += CHANNELS) {
        const int ce = c1 - cb < CHANNELS ? c1 : cb + CHANNELS;
        float scale[CHANNELS], shift[CHANNELS];
        pt_batchnorm_eval_affine(scale, shift, gamma, beta, running_mean, running_var, cb, ce, eps);
        for (int n = 0; n < N; n++)
            for (int c = cb; c < ce; c++) {
                size_t off = ((size_t)n * C + c) * HW;
                k->scale_shift(out + off, in + off, HW, scale[c - cb], shift[c - cb], relu);
            }
    }
}

void pt_batchnorm_forward_train(float *out, float *mean, float *rstd, float *running_mean,
                                float *running_var, const float *in, const float *gamma,
                                const float *beta, int N, int C, int HW, float momentum, float eps)
{
    pt_batchnorm_forward_train_range(out, mean, rstd, running_mean, running_var, in, gamma, beta, N,
                                     C, HW, momentum, eps, 0, 0, C);
}

void pt_batchnorm_relu_forward_train(float *out, float *mean, float *rstd, float *running_mean,
                                     float *running_var, const float *in, const float *gamma,
                                     const float *beta, int N, int C, int HW, float momentum,
                                     float eps)
{
    pt_batchnorm_forward_train_range(out, mean, rstd, running_mean, running_var, in, gamma, beta, N,
                                     C, HW, momentum, eps, 1, 0, C);
}

void pt_batchnorm_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                               const float *running_mean, const float *running_var, int N, int C,
                               int HW, float eps)
{
    pt_batchnorm_forward_eval_range(out, in, gamma, beta, running_mean, running_var, N, C, HW, eps,
                                    0, 0, C);
}

void pt_batchnorm_relu_forward_eval(float *out, const float *in, const float *gamma,
                                    const float *beta, const float *running_mean,
                                    const float *running_var, int N, int C, int HW, float eps)
{
    pt_batchnorm_forward_eval_range(out, in, gamma, beta, running_mean, running_var, N, C, HW, eps,
                                    1, 0, C);
}

void pt_batchnorm_backward_range(float *din, float *dgamma, float *dbeta, const float *dout,
                                 const float *y, const float *in, const float *mean,
                                 const float *rstd, const float *gamma, int N, int C, int HW,
                                 int c0, int c1)
{
    const double count = (double)N * HW;
    for (int c = c0; c < c1; c++) {
        double sdy, sdyx;
        channel_backward_sums(&sdy, &sdyx, dout, y, in, c, mean[c], rstd[c], N, C, HW);
        if (dgamma)
            dgamma[c] += (float)sdyx;
        if (dbeta)
            dbeta[c] += (float)sdy;
        if (din)
            channel_backward_apply(din, dout, y, in, c, mean[c], rstd[c], gamma[c], sdy, sdyx,
                                   count, N, C, HW);
    }
}

void pt_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                           const float *in, const float *mean, const float *rstd,
                           const float *gamma, int N, int C, int HW)
{
    pt_batchnorm_backward_range(din, dgamma, dbeta, dout, NULL, in, mean, rstd, gamma, N, C, HW, 0,
                                C);
}

void pt_batchnorm_relu_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                                const float *y, const float *in, const float *mean,
                                const float *rstd, const float *gamma, int N, int C, int HW)
{
    pt_batchnorm_backward_range(din, dgamma, dbeta, dout, y, in, mean, rstd, gamma, N, C, HW, 0, C);
}

void pt_batchnorm_stats(double *sum, double *sumsq, const float *in, int N, int C, int HW)
{
    for (int c = 0; c < C; c++)
        channel_sums(&sum[c], &sumsq[c], in, c, N, C, HW);
}

void pt_batchnorm_moments(float *mean, float *rstd, float *running_mean, float *running_var,
                          const double *sum, const double *sumsq, double count, int C,
                          float momentum, float eps)
{
    for (int c = 0; c < C; c++)
        channel_moments(&mean[c], &rstd[c], running_mean ? &running_mean[c] : NULL,
                        running_var ? &running_var[c] : NULL, sum[c], sumsq[c], count, momentum,
                        eps);
}

void pt_batchnorm_normalize(float *out, const float *in, const float *mean, const float *rstd,
                            const float *gamma, const float *beta, int N, int C, int HW)
{
    for (int c = 0; c < C; c++)
        channel_normalize(out, in, c, mean[c], rstd[c], gamma[c], beta[c], N, C, HW, 0);
}

void pt_batchnorm_backward_reduce(double *sum_dy, double *sum_dy_xhat, float *dgamma, float *dbeta,
                                  const float *dout, const float *in, const float *mean,
                                  const float *rstd, int N, int C, int HW)
{
    for (int c = 0; c < C; c++) {
        channel_backward_sums(&sum_dy[c], &sum_dy_xhat[c], dout, NULL, in, c, mean[c], rstd[c], N,
                              C, HW);
        if (dgamma)
            dgamma[c] += (float)sum_dy_xhat[c];
        if (dbeta)
            dbeta[c] += (float)sum_dy[c];
    }
}

void pt_batchnorm_backward_apply(float *din, const float *dout, const float *in, const float *mean,
                                 const float *rstd, const float *gamma, const double *sum_dy,
                                 const double *sum_dy_xhat, double count, int N, int C, int HW)
{
    for (int c = 0; c < C; c++)
        channel_backward_apply(din, dout, NULL, in, c, mean[c], rstd[c], gamma[c], sum_dy[c],
                               sum_dy_xhat[c], count, N, C, HW);
}
