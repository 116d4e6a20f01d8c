/* Small-map convolution (see smallconv.h), on the register blocks of smallconv_kernels.h.
 *
 * With MM = M*M positions per map, the blocks take the images in the vector lanes, so each pass
 * first transposes its (N, J, MM) input (the forward's input, 4*MM positions at stride 2; the input
 * gradient's output gradient) into groups of `lanes` images, each group's (J, MM) vectors together
 * (to_lane_groups, zeros past N), and the blocks' (rows, MM, lanes) results back to (N, O, MM).
 * The forward takes the groups one after another, every output channel of a group before the
 * next: a group's input (256 KB for 256 channels at 4x4) stays in L2 while the weights stream past
 * it. One transposed batch with the images of a vector a whole batch apart, read once per block of
 * output channels, left ResNet-18's 4x4 layers bound by L2 misses at 64 images (1 thread, AVX-512,
 * forward of 256 -> 256 at 4x4: 7.5 -> 6.2 ms; 512 -> 512 at 2x2: 6.0 -> 4.5; the input gradient
 * 256 at 4x4, 64 images, about 15 -> 14 ms). The weight gradient takes the input as
 * xq[(n*MM + q)*C + c], the input channels in the lanes. */
#include "smallconv.h"
#include "smallconv_kernels.h"

#include <string.h>

/* The widest vector any path's blocks use: workspace sizes hold for all paths. */
#define SC_MAX_LANES 16
/* Output channels per pass of the input gradient: each pass reads a contiguous band of the
 * weights, KCHUNK rows of C*9 floats (295 KB at C = 512), that stays in cache while every input
 * channel block takes its part. One pass over all K would read each block's weights C*9 floats
 * apart, a stride no hardware prefetcher follows: 4.8 against 2.0 ms for a 512-channel 2x2
 * layer at 16 images, with the weights out of cache as in a net's backward. */
#define SC_DIN_KCHUNK 16

int pt_smallconv_supported(const pt_conv_dims *d)
{
    return pt_conv_check(d, NULL) == PT_OK && (d->h == 2 || d->h == 4) && d->w == d->h &&
           d->r == 3 && d->s == 3 && d->stride == 1 && d->pad == 1 && d->c % 16 == 0 &&
           d->k % 16 == 0;
}

int pt_smallconv_s2_supported(const pt_conv_dims *d)
{
    return pt_conv_check(d, NULL) == PT_OK && (d->h == 4 || d->h == 8) && d->w == d->h &&
           d->r == 3 && d->s == 3 && d->stride == 2 && d->pad == 1 && d->c % 16 == 0 &&
           d->k % 16 == 0;
}

/* The kernels' index of the output map: 0 for 2x2, 1 for 4x4. */
static int map_index(const pt_conv_dims *d)
{
    return pt_conv_out_h(d) == 4;
}

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

size_t pt_smallconv_workspace_size(const pt_conv_dims *d)
{
    const size_t j = (size_t)(d->c > d->k ? d->c : d->k);
    const size_t npad = round_up((size_t)(d->n > 0 ? d->n : 1), SC_MAX_LANES);
    const size_t mm = (size_t)d->h * d->w;
    /* the transposed input or output gradient, the input gradient's blocks (din), one block of
     * the forward (at most 16 accumulators of 16 lanes) */
    return mm * (j + (size_t)d->c) * npad + 16 * SC_MAX_LANES;
}

/* x (N, J, MM) in groups of `lanes` images, each group's (J, MM) vectors contiguous:
 * t[((g*J + j)*MM + l)*lanes + v] = x[((g*lanes + v)*J + j)*MM + l]; zero for images past N. */
static void to_lane_groups(float *restrict t, const float *restrict x, int N, int J, int MM,
                           int lanes)
{
    /* image by image within a channel: contiguous reads, and the MM vectors written stay in L1 */
    for (int g = 0; g * lanes < N; g++)
        for (int j = 0; j < J; j++) {
            float *vecs = t + ((size_t)g * J + j) * MM * lanes;
            for (int v = 0; v < lanes; v++) {
                const int n = g * lanes + v;
                const float *src = x + ((size_t)n * J + j) * MM;
                for (int l = 0; l < MM; l++)
                    vecs[(size_t)l * lanes + v] = n < N ? src[l] : 0.0f;
            }
        }
}

/* y[(n*O + o0 + o)*MM + i] = block[(o*MM + i)*lanes + n - n0] (+ bias[o0 + o]) for the
 * block's images n0.. below N. */
static void from_lanes(float *restrict y, const float *restrict block, const float *bias, int N,
                       int O, int MM, int o0, int rows, int n0, int lanes)
{
    const int n1 = n0 + lanes < N ? n0 + lanes : N;
    for (int o = 0; o < rows; o++) {
        const float b = bias ? bias[o0 + o] : 0.0f;
        for (int n = n0; n < n1; n++) /* each image's MM outputs written in a row */
            for (int i = 0; i < MM; i++)
                y[((size_t)n * O + o0 + o) * MM + i] = block[(o * MM + i) * lanes + n - n0] + b;
    }
}

void pt_smallconv_forward(float *out, const float *in, const float *weight, const float *bias,
                          const pt_conv_dims *d, float *ws)
{
    pt_smallconv_forward_part(out, in, weight, bias, d, 0, d->k, NULL, ws);
}

void pt_smallconv_forward_part(float *out, const float *in, const float *weight, const float *bias,
                               const pt_conv_dims *d, int k0, int k1, const pt_conv_epilogue *ep,
                               float *ws)
{
    const pt_smallconv_kernels *kern = PT_KERNELS_ACTIVE(pt_smallconv_kernels);
    const int N = d->n, C = d->c, K = d->k;
    if (N == 0 || k0 >= k1)
        return;
    const int s2 = d->stride == 2, m = map_index(d);
    const int MM = pt_conv_out_h(d) * pt_conv_out_w(d), IMM = d->h * d->w;
    const int rows = s2 ? kern->rows_s2[m] : kern->rows[m];
    const size_t npad = round_up((size_t)N, (size_t)kern->lanes);
    const int lanes = kern->lanes;
    float *xt = ws, *block = ws + (size_t)IMM * C * npad;
    to_lane_groups(xt, in, N, C, IMM, lanes);
    for (int n0 = 0; n0 < N; n0 += lanes)
        for (int k = k0; k < k1; k += rows) {
            const float *group = xt + (size_t)n0 * C * IMM;
            if (s2)
                kern->fwd_s2[m](block, weight, C, k, group, (size_t)lanes);
            else
                kern->fwd[m](block, weight, C, k, group, (size_t)lanes);
            from_lanes(out, block, bias, N, K, MM, k, rows, n0, kern->lanes);
        }
    for (int n = 0; ep && n < N; n++)
        pt_conv_epilogue_planes(ep, k0, k1 - k0, out + ((size_t)n * K + k0) * MM, (size_t)MM,
                                (size_t)MM);
}

/* din (N, C, M, M) from dout, input channels [c0, c1): every block of input channels and images
 * sums a band of SC_DIN_KCHUNK output channels at a time, its partial sums kept in its own place
 * of the workspace (C*MM*npad floats in all) between bands. */
static void input_gradient(float *din, const float *dout, const float *weight,
                           const pt_conv_dims *d, int c0, int c1, const pt_smallconv_kernels *kern,
                           float *ws)
{
    const int N = d->n, C = d->c, K = d->k, lanes = kern->lanes;
    const int m = map_index(d), MM = d->h * d->w, rows = kern->rows[m];
    const size_t npad = round_up((size_t)N, (size_t)lanes);
    const size_t block_floats = (size_t)rows * MM * lanes;
    float *dyt = ws, *blocks = ws + (size_t)MM * K * npad;
    to_lane_groups(dyt, dout, N, K, MM, lanes);
    for (int k0 = 0; k0 < K; k0 += SC_DIN_KCHUNK) {
        const int k1 = k0 + SC_DIN_KCHUNK < K ? k0 + SC_DIN_KCHUNK : K;
        for (int c = c0; c < c1; c += rows)
            for (int n0 = 0; n0 < N; n0 += lanes) {
                float *block =
                    blocks + ((size_t)c / rows * (npad / lanes) + n0 / lanes) * block_floats;
                kern->din[m](block, weight, C, k0, k1, c, dyt + (size_t)n0 * K * MM, (size_t)lanes,
                             k0 > 0);
            }
    }
    for (int c = c0; c < c1; c += rows)
        for (int n0 = 0; n0 < N; n0 += lanes)
            from_lanes(din,
                       blocks + ((size_t)c / rows * (npad / lanes) + n0 / lanes) * block_floats,
                       NULL, N, C, MM, c, rows, n0, lanes);
}

/* dweight += the weight gradient of output channels [k0, k1): in to xq (input channels in the
 * lanes), then one block per output channel and vector of input channels. */
static void weight_gradient(float *dweight, const float *dout, const float *in,
                            const pt_conv_dims *d, int k0, int k1, const pt_smallconv_kernels *kern,
                            float *ws)
{
    const int N = d->n, C = d->c, K = d->k;
    const int m = map_index(d), MM = d->h * d->w;
    float *xq = ws;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int q = 0; q < MM; q++)
                xq[((size_t)n * MM + q) * C + c] = in[((size_t)n * C + c) * MM + q];
    for (int k = k0; k < k1; k += kern->dw_k[m])
        for (int c0 = 0; c0 < C; c0 += kern->lanes)
            kern->dw[m](dweight, dout, xq, C, K, k, c0, N);
}

void pt_smallconv_backward(float *din, float *dweight, float *dbias, const float *dout,
                           const float *in, const float *weight, const pt_conv_dims *d, float *ws)
{
    pt_smallconv_backward_part(din, dweight, dbias, dout, in, weight, d, 0, d->c, 0, d->k, ws);
}

void pt_smallconv_backward_part(float *din, float *dweight, float *dbias, const float *dout,
                                const float *in, const float *weight, const pt_conv_dims *d, int c0,
                                int c1, int k0, int k1, float *ws)
{
    const pt_smallconv_kernels *kern = PT_KERNELS_ACTIVE(pt_smallconv_kernels);
    if (dbias)
        pt_conv_bias_backward_channels(dbias, dout, d->n, d->k, (size_t)d->h * d->w, k0, k1);
    if (d->n == 0)
        return;
    if (din && c0 < c1)
        input_gradient(din, dout, weight, d, c0, c1, kern, ws);
    if (dweight && k0 < k1)
        weight_gradient(dweight, dout, in, d, k0, k1, kern, ws);
}
