/* Small-map convolution (smallconv.h) against the direct reference (pt_conv_*_naive, in double):
 * forward, din, dweight and dbias on every instruction-set path this CPU has, batches that fill
 * the vector lanes and batches that do not, the gradient conventions, the same bits on AVX2 and
 * AVX-512 (but the 4x4 weight gradient, summed in another order), and which layers it takes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "gradcheck.h"
#include "smallconv.h"
#include "ptrain/isa.h"

/* Each output is a sum of up to 4*C (2x2) or 9*C (4x4) products (forward; din likewise over K)
 * or N*M*M (dweight) in float against the reference's double. With inputs ~N(0,1), He-scaled
 * weights and dout ~N(0,1), the largest |a - b| / (1 + |ref|) over the cases below (C, K up to
 * 64, N up to 33, both maps): forward 2.1e-6, din 2.4e-6, dbias 0 (double on both sides):
 * tolerance 1e-5; dweight, whose sums grow with the batch, 2.1e-5 at N = 33 on 4x4 maps:
 * tolerance 4e-6 * sqrt(N*M*M) (4.4x there). An indexing mistake is O(1). PTRAIN_SC_VERBOSE=1
 * prints the largest errors. */
#define SC_TOL                  1e-5
#define SC_TOL_DW_PER_SQRT_TERM 4e-6

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    cr_assert_not_null(p);
    return p;
}

static pt_conv_dims dims(int n, int c, int k, int side)
{
    pt_conv_dims d = {
        .n = n, .c = c, .h = side, .w = side, .k = k, .r = 3, .s = 3, .stride = 1, .pad = 1};
    return d;
}

static double worst_seen[4];

static void check_close(const char *what, const char *isa, const pt_conv_dims *d, int slot,
                        const float *got, const float *ref, size_t n)
{
    const double e = gc_max_rel_diff(got, ref, n);
    const double tol =
        slot == 2 ? fmax(SC_TOL, SC_TOL_DW_PER_SQRT_TERM * sqrt((double)d->n * d->h * d->w))
                  : SC_TOL;
    cr_assert(e <= tol, "%s on %s, N=%d C=%d K=%d: off by %.3g (tolerance %.3g)", what, isa, d->n,
              d->c, d->k, e, tol);
    if (e > worst_seen[slot])
        worst_seen[slot] = e;
}

/* Forward with and without bias, then backward from garbage gradients (din overwritten, dweight
 * and dbias accumulated), against the reference, on path isa. */
static void check_shape(pt_isa isa, pt_conv_dims d, unsigned seed)
{
    const size_t n_in = (size_t)d.n * d.c * d.h * d.w, n_w = (size_t)d.k * d.c * 9;
    const size_t n_out = (size_t)d.n * d.k * d.h * d.w;
    float *in = xcalloc(n_in, sizeof(float)), *w = xcalloc(n_w, sizeof(float));
    float *b = xcalloc((size_t)d.k, sizeof(float)), *dout = xcalloc(n_out, sizeof(float));
    gc_fill_normal(in, n_in, seed, 1.0f);
    gc_fill_normal(w, n_w, seed + 1, 1.0f / sqrtf((float)(d.c * 9)));
    gc_fill_normal(b, (size_t)d.k, seed + 2, 0.5f);
    gc_fill_normal(dout, n_out, seed + 3, 1.0f);
    float *ref = xcalloc(n_out, sizeof(float)), *out = xcalloc(n_out, sizeof(float));
    const size_t ws_floats = pt_smallconv_workspace_size(&d);
    float *ws = xcalloc(ws_floats, sizeof(float));
    const char *name = pt_isa_name(isa);
    pt_isa_force(isa);

    for (int bias = 0; bias < 2; bias++) {
        for (size_t j = 0; j < ws_floats; j++)
            ws[j] = NAN; /* nothing may be read before it is written */
        for (size_t j = 0; j < n_out; j++)
            out[j] = NAN;
        pt_conv_forward_naive(ref, in, w, bias ? b : NULL, &d);
        pt_smallconv_forward(out, in, w, bias ? b : NULL, &d, ws);
        check_close("forward", name, &d, 0, out, ref, n_out);
    }

    float *din = xcalloc(n_in, sizeof(float)), *dw = xcalloc(n_w, sizeof(float));
    float *db = xcalloc((size_t)d.k, sizeof(float));
    float *ref_din = xcalloc(n_in, sizeof(float)), *ref_dw = xcalloc(n_w, sizeof(float));
    float *ref_db = xcalloc((size_t)d.k, sizeof(float));
    pt_conv_backward_naive(ref_din, ref_dw, ref_db, dout, in, w, &d);
    gc_fill_normal(dw, n_w, seed + 4, 1.0f);
    for (size_t j = 0; j < n_w; j++)
        ref_dw[j] += dw[j];
    for (int k = 0; k < d.k; k++) {
        db[k] = 3.0f;
        ref_db[k] += 3.0f;
    }
    for (size_t j = 0; j < n_in; j++)
        din[j] = NAN;
    pt_smallconv_backward(din, dw, db, dout, in, w, &d, ws);
    check_close("din", name, &d, 1, din, ref_din, n_in);
    check_close("dweight", name, &d, 2, dw, ref_dw, n_w);
    check_close("dbias", name, &d, 3, db, ref_db, (size_t)d.k);

    pt_isa_force(pt_isa_best());
    free(in);
    free(w);
    free(b);
    free(dout);
    free(ref);
    free(out);
    free(ws);
    free(din);
    free(dw);
    free(db);
    free(ref_din);
    free(ref_dw);
    free(ref_db);
}

Test(smallconv, matches_the_direct_convolution_on_every_path)
{
    /* batches of whole vectors (16, 32) and of partial ones (1, 5, 17, 33) on every lane width */
    static const int batches[] = {1, 5, 16, 17, 32, 33};
    static const int channels[][2] = {{16, 16}, {16, 48}, {64, 32}};
    static const int sides[] = {2, 4};
    for (int isa = 0; isa < PT_ISA_COUNT; isa++) {
        if (!pt_isa_supported((pt_isa)isa)) {
            fprintf(stderr, "test_smallconv: this CPU has no %s: that path was not tested\n",
                    pt_isa_name((pt_isa)isa));
            continue;
        }
        for (size_t si = 0; si < sizeof sides / sizeof sides[0]; si++)
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++)
                for (size_t ci = 0; ci < sizeof channels / sizeof channels[0]; ci++)
                    check_shape((pt_isa)isa,
                                dims(batches[bi], channels[ci][0], channels[ci][1], sides[si]),
                                100u + (unsigned)(si * 100 + bi * 10 + ci));
    }
    if (getenv("PTRAIN_SC_VERBOSE"))
        fprintf(stderr, "smallconv largest error: forward %.2g din %.2g dweight %.2g dbias %.2g\n",
                worst_seen[0], worst_seen[1], worst_seen[2], worst_seen[3]);
}

Test(smallconv, null_gradients_are_skipped_and_an_empty_batch_does_nothing)
{
    pt_conv_dims d = dims(3, 16, 16, 2);
    const size_t n_in = (size_t)d.n * d.c * 4, n_w = (size_t)d.k * d.c * 9, n_out = 3 * 16 * 4;
    float *in = xcalloc(n_in, sizeof(float)), *w = xcalloc(n_w, sizeof(float));
    float *dout = xcalloc(n_out, sizeof(float)), *dw = xcalloc(n_w, sizeof(float));
    float *ws = xcalloc(pt_smallconv_workspace_size(&d), sizeof(float));
    gc_fill_normal(in, n_in, 1, 1.0f);
    gc_fill_normal(w, n_w, 2, 0.1f);
    gc_fill_normal(dout, n_out, 3, 1.0f);
    pt_smallconv_backward(NULL, dw, NULL, dout, in, w, &d, ws); /* dweight only */
    double sum = 0.0;
    for (size_t j = 0; j < n_w; j++)
        sum += fabs(dw[j]);
    cr_assert(sum > 0.0, "dweight was not computed");
    pt_smallconv_backward(NULL, NULL, NULL, dout, in, w, &d, ws); /* nothing, no crash */

    d.n = 0;
    float out_guard = 42.0f, din_guard = 7.0f;
    memset(dw, 0, n_w * sizeof(float));
    pt_smallconv_forward(&out_guard, in, w, NULL, &d, ws);
    pt_smallconv_backward(&din_guard, dw, NULL, dout, in, w, &d, ws);
    cr_assert(out_guard == 42.0f && din_guard == 7.0f, "an empty batch wrote something");
    for (size_t j = 0; j < n_w; j++)
        cr_assert(dw[j] == 0.0f, "an empty batch changed dweight");
    free(in);
    free(w);
    free(dout);
    free(dw);
    free(ws);
}

/* One fused multiply-add per term, in the same order, on both (smallconv_kernels.h); at 4x4 the
 * weight gradient in two partial sums on AVX-512 and one on AVX2, so only close. */
static void check_avx2_avx512_bits(int side)
{
    pt_conv_dims d = dims(21, 32, 48, side);
    const size_t n_in = (size_t)d.n * d.c * d.h * d.w, n_w = (size_t)d.k * d.c * 9;
    const size_t n_out = (size_t)d.n * d.k * d.h * d.w;
    float *in = xcalloc(n_in, sizeof(float)), *w = xcalloc(n_w, sizeof(float));
    float *dout = xcalloc(n_out, sizeof(float));
    float *ws = xcalloc(pt_smallconv_workspace_size(&d), sizeof(float));
    gc_fill_normal(in, n_in, 11, 1.0f);
    gc_fill_normal(w, n_w, 12, 0.1f);
    gc_fill_normal(dout, n_out, 13, 1.0f);
    float *out[2], *din[2], *dw[2];
    const pt_isa paths[2] = {PT_ISA_AVX2, PT_ISA_AVX512};
    for (int i = 0; i < 2; i++) {
        out[i] = xcalloc(n_out, sizeof(float));
        din[i] = xcalloc(n_in, sizeof(float));
        dw[i] = xcalloc(n_w, sizeof(float));
        pt_isa_force(paths[i]);
        pt_smallconv_forward(out[i], in, w, NULL, &d, ws);
        pt_smallconv_backward(din[i], dw[i], NULL, dout, in, w, &d, ws);
    }
    pt_isa_force(pt_isa_best());
    cr_assert(!memcmp(out[0], out[1], n_out * sizeof(float)), "%dx%d: forward differs", side, side);
    cr_assert(!memcmp(din[0], din[1], n_in * sizeof(float)), "%dx%d: din differs", side, side);
    if (side == 2) {
        cr_assert(!memcmp(dw[0], dw[1], n_w * sizeof(float)), "%dx%d: dweight differs", side, side);
    } else {
        const double tol = SC_TOL_DW_PER_SQRT_TERM * sqrt((double)d.n * side * side);
        int same = 1;
        for (size_t i = 0; i < n_w; i++) {
            cr_assert(fabs((double)dw[0][i] - dw[1][i]) <= tol * (1.0 + fabs((double)dw[1][i])),
                      "4x4 dweight[%zu]: avx2 %.9g, avx512 %.9g", i, dw[0][i], dw[1][i]);
            same &= dw[0][i] == dw[1][i];
        }
        cr_assert(!same, "4x4 dweight: the same bits, though summed in another order");
    }
    for (int i = 0; i < 2; i++) {
        free(out[i]);
        free(din[i]);
        free(dw[i]);
    }
    free(in);
    free(w);
    free(dout);
    free(ws);
}

Test(smallconv, gives_the_same_bits_on_avx2_and_avx512_but_the_4x4_weight_gradient)
{
    if (!pt_isa_supported(PT_ISA_AVX2) || !pt_isa_supported(PT_ISA_AVX512)) {
        fprintf(stderr, "test_smallconv: this CPU lacks AVX2 or AVX-512: not compared\n");
        return;
    }
    check_avx2_avx512_bits(2);
    check_avx2_avx512_bits(4);
}

/* The stride-2 forward (8x8 -> 4x4, 4x4 -> 2x2) against the reference on every path, with and
 * without bias; partial and whole vectors of images. Each output sums
 * at most 9*C products, as the stride-1 forward's: the same tolerance. */
static void check_s2(pt_isa isa, int n, int c, int k, int side, unsigned seed)
{
    pt_conv_dims d = dims(n, c, k, side);
    d.stride = 2;
    cr_assert(pt_smallconv_s2_supported(&d));
    const size_t n_in = (size_t)n * c * side * side, n_w = (size_t)k * c * 9;
    const size_t n_out = (size_t)n * k * (side / 2) * (side / 2);
    float *in = xcalloc(n_in, sizeof(float)), *w = xcalloc(n_w, sizeof(float));
    float *b = xcalloc((size_t)k, sizeof(float));
    float *ref = xcalloc(n_out, sizeof(float)), *out = xcalloc(n_out, sizeof(float));
    gc_fill_normal(in, n_in, seed, 1.0f);
    gc_fill_normal(w, n_w, seed + 1, 1.0f / sqrtf((float)(c * 9)));
    gc_fill_normal(b, (size_t)k, seed + 2, 0.5f);
    const size_t ws_floats = pt_smallconv_workspace_size(&d);
    float *ws = xcalloc(ws_floats, sizeof(float));
    pt_isa_force(isa);
    for (int bias = 0; bias < 2; bias++) {
        for (size_t j = 0; j < ws_floats; j++)
            ws[j] = NAN;
        for (size_t j = 0; j < n_out; j++)
            out[j] = NAN;
        pt_conv_forward_naive(ref, in, w, bias ? b : NULL, &d);
        pt_smallconv_forward(out, in, w, bias ? b : NULL, &d, ws);
        const double e = gc_max_rel_diff(out, ref, n_out);
        cr_assert(e <= SC_TOL, "stride-2 forward on %s, N=%d C=%d K=%d %dx%d: off by %.3g",
                  pt_isa_name(isa), n, c, k, side, side, e);
    }
    pt_isa_force(pt_isa_best());
    free(in), free(w), free(b), free(ref), free(out), free(ws);
}

Test(smallconv, stride_2_forward_matches_the_direct_convolution_on_every_path)
{
    static const int batches[] = {1, 17, 32};
    static const int channels[][2] = {{16, 32}, {48, 16}};
    for (int isa = 0; isa < PT_ISA_COUNT; isa++) {
        if (!pt_isa_supported((pt_isa)isa))
            continue; /* said once by matches_the_direct_convolution_on_every_path */
        for (int side = 4; side <= 8; side += 4)
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++)
                for (size_t ci = 0; ci < sizeof channels / sizeof channels[0]; ci++)
                    check_s2((pt_isa)isa, batches[bi], channels[ci][0], channels[ci][1], side,
                             300u + (unsigned)(side * 10 + bi * 3 + ci));
    }
}

Test(smallconv, takes_only_3x3_pad_1_on_2x2_and_4x4_maps_with_channels_in_sixteens)
{
    cr_assert(pt_smallconv_supported(&(pt_conv_dims){32, 512, 4, 4, 512, 3, 3, 1, 1}));
    cr_assert(!pt_smallconv_supported(&(pt_conv_dims){32, 512, 4, 2, 512, 3, 3, 1, 1}),
              "maps not square");
    cr_assert(!pt_smallconv_supported(&(pt_conv_dims){32, 512, 8, 8, 512, 3, 3, 1, 1}), "8x8");
    cr_assert(pt_smallconv_supported(&(pt_conv_dims){32, 512, 2, 2, 512, 3, 3, 1, 1}));
    cr_assert(pt_smallconv_supported(&(pt_conv_dims){1, 16, 2, 2, 32, 3, 3, 1, 1}));
    cr_assert(!pt_smallconv_supported(&(pt_conv_dims){32, 512, 1, 1, 512, 3, 3, 1, 1}),
              "1x1 maps: one product per pair, im2col's GEMM is as good");
    cr_assert(!pt_smallconv_supported(&(pt_conv_dims){32, 24, 2, 2, 512, 3, 3, 1, 1}),
              "channels not a multiple of 16");
    cr_assert(!pt_smallconv_supported(&(pt_conv_dims){32, 512, 2, 2, 8, 3, 3, 1, 1}),
              "filters not a multiple of 16");
    cr_assert(!pt_smallconv_supported(&(pt_conv_dims){32, 512, 2, 2, 512, 3, 3, 2, 1}), "stride 2");
    cr_assert(!pt_smallconv_supported(&(pt_conv_dims){32, 512, 2, 2, 512, 1, 1, 1, 0}),
              "1x1 kernel");
    /* stride 2: a forward onto 2x2 and 4x4 maps */
    cr_assert(pt_smallconv_s2_supported(&(pt_conv_dims){32, 256, 4, 4, 512, 3, 3, 2, 1}));
    cr_assert(pt_smallconv_s2_supported(&(pt_conv_dims){32, 128, 8, 8, 256, 3, 3, 2, 1}));
    cr_assert(!pt_smallconv_s2_supported(&(pt_conv_dims){32, 64, 16, 16, 128, 3, 3, 2, 1}),
              "onto 8x8");
    cr_assert(!pt_smallconv_s2_supported(&(pt_conv_dims){32, 256, 4, 4, 512, 1, 1, 2, 0}),
              "1x1 kernel");
    cr_assert(!pt_smallconv_s2_supported(&(pt_conv_dims){32, 256, 4, 4, 512, 3, 3, 1, 1}),
              "stride 1");
    cr_assert(!pt_smallconv_s2_supported(&(pt_conv_dims){32, 24, 4, 4, 512, 3, 3, 2, 1}),
              "channels not a multiple of 16");
}

/* How threads share a layer (net.c): each part every image, disjoint channels. */
static void check_parts(int side)
{
    pt_conv_dims d = dims(19, 48, 64, side);
    const size_t n_in = (size_t)d.n * d.c * d.h * d.w, n_w = (size_t)d.k * d.c * 9;
    const size_t n_out = (size_t)d.n * d.k * d.h * d.w;
    float *in = xcalloc(n_in, sizeof(float)), *w = xcalloc(n_w, sizeof(float));
    float *b = xcalloc((size_t)d.k, sizeof(float)), *dout = xcalloc(n_out, sizeof(float));
    float *ws = xcalloc(pt_smallconv_workspace_size(&d), sizeof(float));
    gc_fill_normal(in, n_in, 21, 1.0f);
    gc_fill_normal(w, n_w, 22, 0.1f);
    gc_fill_normal(b, (size_t)d.k, 23, 0.5f);
    gc_fill_normal(dout, n_out, 24, 1.0f);
    float *out[2], *din[2], *dw[2], *db[2];
    for (int i = 0; i < 2; i++) {
        out[i] = xcalloc(n_out, sizeof(float));
        din[i] = xcalloc(n_in, sizeof(float));
        dw[i] = xcalloc(n_w, sizeof(float));
        db[i] = xcalloc((size_t)d.k, sizeof(float));
    }
    pt_smallconv_forward(out[0], in, w, b, &d, ws);
    pt_smallconv_backward(din[0], dw[0], db[0], dout, in, w, &d, ws);
    /* three parts: input channels 0-16-32-48, output channels 0-16-48-64 */
    static const int cuts_c[] = {0, 16, 32, 48}, cuts_k[] = {0, 16, 48, 64};
    for (int p = 0; p < 3; p++) {
        pt_smallconv_forward_part(out[1], in, w, b, &d, cuts_k[p], cuts_k[p + 1], NULL, ws);
        pt_smallconv_backward_part(din[1], dw[1], db[1], dout, in, w, &d, cuts_c[p], cuts_c[p + 1],
                                   cuts_k[p], cuts_k[p + 1], ws);
    }
    cr_assert(!memcmp(out[0], out[1], n_out * sizeof(float)), "forward differs");
    cr_assert(!memcmp(din[0], din[1], n_in * sizeof(float)), "din differs");
    cr_assert(!memcmp(dw[0], dw[1], n_w * sizeof(float)), "dweight differs");
    cr_assert(!memcmp(db[0], db[1], (size_t)d.k * sizeof(float)), "dbias differs");
    for (int i = 0; i < 2; i++) {
        free(out[i]);
        free(din[i]);
        free(dw[i]);
        free(db[i]);
    }
    free(in);
    free(w);
    free(b);
    free(dout);
    free(ws);
}

Test(smallconv, channel_parts_give_the_bits_of_one_call)
{
    check_parts(2);
    check_parts(4);
}
