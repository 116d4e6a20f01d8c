/* 2-D batch normalisation (PyTorch's BatchNorm2d), per channel over (N,H,W), NCHW, float32.
 *
 *   out = gamma * (in - mean) * rstd + beta,   rstd = 1 / sqrt(var + eps)
 * Train mode normalises with the batch's mean and BIASED variance, and moves the running
 * statistics toward the batch's mean and UNBIASED variance with momentum m:
 *   running = (1 - m) * running + m * batch        (PyTorch: m = 0.1, eps = 1e-5)
 * Eval mode normalises with the running statistics.
 * Parameters gamma, beta, running_mean, running_var are (C) each, PyTorch's names and layouts.
 *
 * Sync BN: the statistics are split into a sum step and a finishing step, so that a caller can
 * add the per-rank sums across ranks (allreduce) in between, and likewise for backward:
 *   forward:  pt_batchnorm_stats -> [allreduce sum, sumsq, count] -> pt_batchnorm_moments
 *             -> pt_batchnorm_normalize
 *   backward: pt_batchnorm_backward_reduce -> [allreduce sum_dy, sum_dy_xhat]
 *             -> pt_batchnorm_backward_apply
 * The sums are double: they are sums over up to N*H*W values and the variance is taken as
 * E[x^2] - E[x]^2, which in float would cancel badly.
 * pt_batchnorm_forward_train / pt_batchnorm_backward are the same steps fused for per-rank
 * statistics (the default) and need no buffers.
 *
 * Gradients: dgamma, dbeta ACCUMULATE (+=); din is OVERWRITTEN; any may be NULL to skip.
 * Shapes: in, out, din, dout are (N,C,H,W), passed as N, C and HW = H*W.
 * Counts: with count = N*HW == 1 the running variance takes the biased variance (the unbiased
 * one is undefined; PyTorch refuses that case); an empty batch (count 0) leaves the running
 * statistics untouched. */
#ifndef PTRAIN_BATCHNORM_H
#define PTRAIN_BATCHNORM_H

#define PT_BN_MOMENTUM 0.1f
#define PT_BN_EPS      1e-5f

/* Train-mode forward with this batch's statistics.
 * out (N,C,HW) overwritten (may alias in only if no backward follows: backward reads in);
 * mean, rstd (C) overwritten: the batch mean and
 * 1/sqrt(biased var + eps), kept by the caller for backward; running_mean, running_var (C)
 * updated in place (both NULL to leave them alone). */
void pt_batchnorm_forward_train(float *out, float *mean, float *rstd, float *running_mean,
                                float *running_var, const float *in, const float *gamma,
                                const float *beta, int N, int C, int HW, float momentum, float eps);

/* Eval-mode forward: out = gamma * (in - running_mean) / sqrt(running_var + eps) + beta.
 * out (N,C,HW) overwritten, may alias in. */
void pt_batchnorm_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                               const float *running_mean, const float *running_var, int N, int C,
                               int HW, float eps);

/* The same two followed by ReLU, out = max(0, batch norm): the network uses them when a ReLU
 * follows a batch norm and nothing else reads the batch norm's output, which saves the ReLU's
 * pass over the activations. The ReLU's backward is unchanged (it reads this out). */
void pt_batchnorm_relu_forward_train(float *out, float *mean, float *rstd, float *running_mean,
                                     float *running_var, const float *in, const float *gamma,
                                     const float *beta, int N, int C, int HW, float momentum,
                                     float eps);
void pt_batchnorm_relu_forward_eval(float *out, const float *in, const float *gamma,
                                    const float *beta, const float *running_mean,
                                    const float *running_var, int N, int C, int HW, float eps);

/* Train-mode backward, with the mean and rstd pt_batchnorm_forward_train produced.
 * dout, in (N,C,HW); gamma, mean, rstd (C).
 * dgamma += sum(dout * xhat), dbeta += sum(dout) per channel; din (N,C,HW) overwritten
 * (may alias dout). */
void pt_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                           const float *in, const float *mean, const float *rstd,
                           const float *gamma, int N, int C, int HW);

/* pt_batchnorm_backward for a batch norm whose ReLU was fused into its forward: dout is the
 * gradient at the ReLU's output y (the batch norm's out), masked here by y > 0 exactly as the
 * ReLU's own backward would, so the ReLU needs no backward pass of its own. */
void pt_batchnorm_relu_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                                const float *y, const float *in, const float *mean,
                                const float *rstd, const float *gamma, int N, int C, int HW);

/* --- one range of channels: a rank's threads share a batch norm by channels ----------------------
 */

/* The four calls above do exactly these over channels [0, C): a channel's statistics, running
 * statistics, parameters' gradients and values are its own, so disjoint channel ranges can run on
 * different threads, and together they give the bits of the whole call whatever the split.
 * relu = 1: the fused ReLU (pt_batchnorm_relu_forward_*); y = the fused ReLU's output (as
 * pt_batchnorm_relu_backward) or NULL. Arrays keep their full shapes, (C) and (N,C,HW). */
void pt_batchnorm_forward_train_range(float *out, float *mean, float *rstd, float *running_mean,
                                      float *running_var, const float *in, const float *gamma,
                                      const float *beta, int N, int C, int HW, float momentum,
                                      float eps, int relu, int c0, int c1);
/* The eval forward's map of channels [c0, c1), from the running statistics: out = in * scale[c -
 * c0] + shift[c - c0] (scale and shift hold c1 - c0 floats). */
void pt_batchnorm_eval_affine(float *scale, float *shift, const float *gamma, const float *beta,
                              const float *running_mean, const float *running_var, int c0, int c1,
                              float eps);
void pt_batchnorm_forward_eval_range(float *out, const float *in, const float *gamma,
                                     const float *beta, const float *running_mean,
                                     const float *running_var, int N, int C, int HW, float eps,
                                     int relu, int c0, int c1);
void pt_batchnorm_backward_range(float *din, float *dgamma, float *dbeta, const float *dout,
                                 const float *y, const float *in, const float *mean,
                                 const float *rstd, const float *gamma, int N, int C, int HW,
                                 int c0, int c1);

/* --- the same, in separable steps (sync BN) --------------------------------------------------- */

/* sum[c] = sum of in over (N,HW), sumsq[c] = sum of in^2; both (C), overwritten. */
void pt_batchnorm_stats(double *sum, double *sumsq, const float *in, int N, int C, int HW);

/* From sums over count values per channel: mean (C) and rstd (C) overwritten, running stats
 * updated as in train mode unless NULL. count is N*HW summed over the ranks that contributed. */
void pt_batchnorm_moments(float *mean, float *rstd, float *running_mean, float *running_var,
                          const double *sum, const double *sumsq, double count, int C,
                          float momentum, float eps);

/* out = gamma * (in - mean) * rstd + beta; out (N,C,HW) overwritten, may alias in. */
void pt_batchnorm_normalize(float *out, const float *in, const float *mean, const float *rstd,
                            const float *gamma, const float *beta, int N, int C, int HW);

/* Per-channel sums backward needs: sum_dy[c] = sum(dout), sum_dy_xhat[c] = sum(dout * xhat),
 * (C) each, overwritten. These local sums are also exactly this rank's share of dbeta and dgamma,
 * so they are ACCUMULATED into dbeta and dgamma here (when non-NULL); the allreduce of the gradient
 * buffer then completes them. */
void pt_batchnorm_backward_reduce(double *sum_dy, double *sum_dy_xhat, float *dgamma, float *dbeta,
                                  const float *dout, const float *in, const float *mean,
                                  const float *rstd, int N, int C, int HW);

/* din = gamma * rstd * (dout - sum_dy / count - xhat * sum_dy_xhat / count), with the sums and
 * count over the same values the statistics were taken over (all ranks, for sync BN).
 * din (N,C,HW) overwritten, may alias dout. */
void pt_batchnorm_backward_apply(float *din, const float *dout, const float *in, const float *mean,
                                 const float *rstd, const float *gamma, const double *sum_dy,
                                 const double *sum_dy_xhat, double count, int N, int C, int HW);

#endif
