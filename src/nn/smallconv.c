/* Small-map convolution (see smallconv.h), on the register blocks of smallconv_kernels.h.
 *
 * The blocks take the images in the vector lanes, so each pass first transposes its (N, J, 4)
 * input to t[(j*4 + l)*npad + n], npad the batch rounded up to whole vectors (zeros past N), and
 * the blocks' (rows, 4, lanes) results back to (N, O, 4). The weight gradient takes the input as
 * xq[(n*4 + q)*C + c], the input channels in the lanes. */
#include "smallconv.h"
#include "smallconv_kernels.h"

#include <string.h>

/* The widest vector any path's blocks use: workspace sizes hold for all paths. */
#define SC_MAX_LANES 16

int pt_smallconv_supported(const pt_conv_dims *d)
{
    return pt_conv_check(d, NULL) == PT_OK && d->h == 2 && d->w == 2 && d->r == 3 && d->s == 3 &&
           d->stride == 1 && d->pad == 1 && d->c % 16 == 0 && d->k % 16 == 0;
}

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

size_t pt_smallconv_workspace_size(const pt_conv_dims *d)
{
    const size_t j = (size_t)(d->c > d->k ? d->c : d->k);
    const size_t npad = round_up((size_t)(d->n > 0 ? d->n : 1), SC_MAX_LANES);
    return 4 * j * npad + 4 * 4 * SC_MAX_LANES;
}

/* t[(j*4 + l)*npad + n] = x[(n*J + j)*4 + l]; zero for n >= N. */
static void to_lanes(float *restrict t, const float *restrict x, int N, int J, size_t npad)
{
    for (int j = 0; j < J; j++)
        for (int l = 0; l < 4; l++) {
            float *row = t + ((size_t)j * 4 + l) * npad;
            for (int n = 0; n < N; n++)
                row[n] = x[((size_t)n * J + j) * 4 + l];
            memset(row + N, 0, (npad - (size_t)N) * sizeof(float));
        }
}

/* y[(n*O + o0 + o)*4 + i] = block[(o*4 + i)*lanes + n - n0] (+ bias[o0 + o]) for the block's
 * images n0.. below N. */
static void from_lanes(float *restrict y, const float *restrict block, const float *bias, int N,
                       int O, int o0, int rows, int n0, int lanes)
{
    const int n1 = n0 + lanes < N ? n0 + lanes : N;
    for (int o = 0; o < rows; o++) {
        const float b = bias ? bias[o0 + o] : 0.0f;
        for (int i = 0; i < 4; i++)
            for (int n = n0; n < n1; n++)
                y[((size_t)n * O + o0 + o) * 4 + i] = block[(o * 4 + i) * lanes + n - n0] + b;
    }
}

void pt_smallconv_forward(float *out, const float *in, const float *weight, const float *bias,
                          const pt_conv_dims *d, float *ws)
{
    const pt_smallconv_kernels *kern = PT_KERNELS_ACTIVE(pt_smallconv_kernels);
    const int N = d->n, C = d->c, K = d->k;
    if (N == 0)
        return;
    const size_t npad = round_up((size_t)N, (size_t)kern->lanes);
    float *xt = ws, *block = ws + 4 * (size_t)C * npad;
    to_lanes(xt, in, N, C, npad);
    for (int k0 = 0; k0 < K; k0 += kern->rows)
        for (int n0 = 0; n0 < N; n0 += kern->lanes) {
            kern->fwd(block, weight, C, k0, xt + n0, npad);
            from_lanes(out, block, bias, N, K, k0, kern->rows, n0, kern->lanes);
        }
}

/* din (N, C, 2, 2) from dout: the blocks over input channels. */
static void input_gradient(float *din, const float *dout, const float *weight,
                           const pt_conv_dims *d, const pt_smallconv_kernels *kern, float *ws)
{
    const int N = d->n, C = d->c, K = d->k;
    const size_t npad = round_up((size_t)N, (size_t)kern->lanes);
    float *dyt = ws, *block = ws + 4 * (size_t)K * npad;
    to_lanes(dyt, dout, N, K, npad);
    for (int c0 = 0; c0 < C; c0 += kern->rows)
        for (int n0 = 0; n0 < N; n0 += kern->lanes) {
            kern->din(block, weight, C, K, c0, dyt + n0, npad);
            from_lanes(din, block, NULL, N, C, c0, kern->rows, n0, kern->lanes);
        }
}

/* dweight += the weight gradient: in to xq (input channels in the lanes), then one block per
 * output channel and vector of input channels. */
static void weight_gradient(float *dweight, const float *dout, const float *in,
                            const pt_conv_dims *d, const pt_smallconv_kernels *kern, float *ws)
{
    const int N = d->n, C = d->c, K = d->k;
    float *xq = ws;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int q = 0; q < 4; q++)
                xq[((size_t)n * 4 + q) * C + c] = in[((size_t)n * C + c) * 4 + q];
    for (int k = 0; k < K; k += kern->dw_k)
        for (int c0 = 0; c0 < C; c0 += kern->lanes)
            kern->dw(dweight, dout, xq, C, K, k, c0, N);
}

void pt_smallconv_backward(float *din, float *dweight, float *dbias, const float *dout,
                           const float *in, const float *weight, const pt_conv_dims *d, float *ws)
{
    const pt_smallconv_kernels *kern = PT_KERNELS_ACTIVE(pt_smallconv_kernels);
    if (dbias)
        pt_conv_bias_backward(dbias, dout, d->n, d->k, 4);
    if (d->n == 0)
        return;
    if (din)
        input_gradient(din, dout, weight, d, kern, ws);
    if (dweight)
        weight_gradient(dweight, dout, in, d, kern, ws);
}
