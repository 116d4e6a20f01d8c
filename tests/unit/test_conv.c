/* Convolution: finite-difference gradient checks of the im2col+GEMM and the naive convolution,
 * and the two implementations against each other on many shapes and batch chunkings. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "conv.h"

/* --- a convolution under test, with its buffers -------------------------------------------- */

typedef struct conv_case {
    pt_conv_dims d;
    int bias;  /* with or without bias */
    int naive; /* which implementation the objective runs */
    size_t n_in, n_w, n_out, ws_floats;
    float *in, *w, *b, *out, *r, *ws;
    float *din, *dw, *db;
} conv_case;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    cr_assert_not_null(p);
    return p;
}

static void conv_case_init(conv_case *t, pt_conv_dims d, int bias, int images_per_gemm,
                           uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->d = d;
    t->bias = bias;
    pt_error err;
    cr_assert_eq(pt_conv_check(&d, &err), PT_OK, "%s", err.msg);
    t->n_in = (size_t)d.n * d.c * d.h * d.w;
    t->n_w = (size_t)d.k * d.c * d.r * d.s;
    t->n_out = (size_t)d.n * d.k * pt_conv_out_h(&d) * pt_conv_out_w(&d);
    t->ws_floats = pt_conv_workspace_size(&d, images_per_gemm);
    t->in = xcalloc(t->n_in, sizeof(float));
    t->w = xcalloc(t->n_w, sizeof(float));
    t->b = xcalloc((size_t)d.k, sizeof(float));
    t->out = xcalloc(t->n_out, sizeof(float));
    t->r = xcalloc(t->n_out, sizeof(float));
    t->ws = xcalloc(t->ws_floats, sizeof(float));
    t->din = xcalloc(t->n_in, sizeof(float));
    t->dw = xcalloc(t->n_w, sizeof(float));
    t->db = xcalloc((size_t)d.k, sizeof(float));
    gc_fill_normal(t->in, t->n_in, seed, 1.0f);
    /* He-like scale keeps outputs O(1) whatever C*R*S, so the float noise is comparable. */
    gc_fill_normal(t->w, t->n_w, seed + 1, 1.0f / sqrtf((float)(d.c * d.r * d.s)));
    gc_fill_normal(t->b, (size_t)d.k, seed + 2, 0.5f);
    gc_fill_normal(t->r, t->n_out, seed + 3, 1.0f);
}

static void conv_case_free(conv_case *t)
{
    free(t->in);
    free(t->w);
    free(t->b);
    free(t->out);
    free(t->r);
    free(t->ws);
    free(t->din);
    free(t->dw);
    free(t->db);
}

static void conv_case_forward(conv_case *t)
{
    const float *bias = t->bias ? t->b : NULL;
    if (t->naive)
        pt_conv_forward_naive(t->out, t->in, t->w, bias, &t->d);
    else
        pt_conv_forward(t->out, t->in, t->w, bias, &t->d, t->ws, t->ws_floats);
}

/* Backward with dout = r into zeroed parameter gradients. */
static void conv_case_backward(conv_case *t)
{
    memset(t->dw, 0, t->n_w * sizeof(float));
    memset(t->db, 0, (size_t)t->d.k * sizeof(float));
    float *dbias = t->bias ? t->db : NULL;
    if (t->naive)
        pt_conv_backward_naive(t->din, t->dw, dbias, t->r, t->in, t->w, &t->d);
    else
        pt_conv_backward(t->din, t->dw, dbias, t->r, t->in, t->w, &t->d, t->ws, t->ws_floats);
}

static double conv_objective(void *ctx)
{
    conv_case *t = ctx;
    conv_case_forward(t);
    return gc_dot(t->out, t->r, t->n_out);
}

static pt_conv_dims dims(int n, int c, int h, int w, int k, int r, int s, int stride, int pad)
{
    pt_conv_dims d = {
        .n = n, .c = c, .h = h, .w = w, .k = k, .r = r, .s = s, .stride = stride, .pad = pad};
    return d;
}

/* The shapes every check runs on: the cases a CNN meets, and the awkward ones. */
static const struct {
    const char *name;
    int n, c, h, w, k, r, s, stride, pad;
} shapes[] = {
    {"3x3 s1 p1, non-square input", 2, 3, 7, 5, 4, 3, 3, 1, 1},
    {"3x3 s2 p0", 2, 2, 9, 8, 3, 3, 3, 2, 0},
    {"3x3 s2 p1", 2, 2, 8, 8, 3, 3, 3, 2, 1},
    {"5x5 s1 p2, non-square input", 1, 2, 6, 7, 2, 5, 5, 1, 2},
    {"3x3 s2 p2", 3, 2, 5, 5, 3, 3, 3, 2, 2},
    {"1x1 s1 p0", 2, 3, 5, 4, 4, 1, 1, 1, 0},
    {"1x1 s2 p0 (ResNet shortcut)", 2, 3, 7, 6, 2, 1, 1, 2, 0},
    {"1x1 s1 p1 (rows entirely padding)", 2, 2, 3, 4, 2, 1, 1, 1, 1},
    {"2x3 kernel s1 p1", 2, 2, 6, 9, 3, 2, 3, 1, 1},
    {"2x2 s3 p0 (pixels never read)", 3, 2, 7, 5, 2, 2, 2, 3, 0},
    {"7x7 s2 p3 (ResNet stem)", 2, 1, 12, 10, 3, 7, 7, 2, 3},
    {"kernel as large as the padded input", 2, 2, 3, 3, 2, 5, 5, 1, 1},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static pt_conv_dims shape_dims(size_t i)
{
    return dims(shapes[i].n, shapes[i].c, shapes[i].h, shapes[i].w, shapes[i].k, shapes[i].r,
                shapes[i].s, shapes[i].stride, shapes[i].pad);
}

/* Convolution is linear in each of in, weight, bias, so central differences have no truncation
 * error: only float rounding of the touched outputs (|out| ~ 1, at most K*R*S of them per input
 * element) divided by 2*step. step 1e-2 puts that near 1e-4 absolute against gradients of O(1..10);
 * tolerance rtol 2e-3 with an absolute floor of 1e-3. Every element is checked. */
#define CONV_STEP 1e-2f
#define CONV_RTOL 2e-3
#define CONV_ATOL 1e-3

static void gradcheck_conv(size_t i, int bias, int naive)
{
    conv_case t;
    conv_case_init(&t, shape_dims(i), bias, shapes[i].n, 100 + i);
    t.naive = naive;
    conv_case_forward(&t);
    conv_case_backward(&t);
    char what[160];
    snprintf(what, sizeof what, "%s conv [%s]%s: din", naive ? "naive" : "gemm", shapes[i].name,
             bias ? "" : " no bias");
    gc_check(what, conv_objective, &t, t.in, t.din, t.n_in, CONV_STEP, CONV_RTOL, CONV_ATOL,
             100000);
    snprintf(what, sizeof what, "%s conv [%s]%s: dweight", naive ? "naive" : "gemm", shapes[i].name,
             bias ? "" : " no bias");
    gc_check(what, conv_objective, &t, t.w, t.dw, t.n_w, CONV_STEP, CONV_RTOL, CONV_ATOL, 100000);
    if (bias) {
        snprintf(what, sizeof what, "%s conv [%s]: dbias", naive ? "naive" : "gemm",
                 shapes[i].name);
        gc_check(what, conv_objective, &t, t.b, t.db, (size_t)t.d.k, CONV_STEP, CONV_RTOL,
                 CONV_ATOL, 100000);
    }
    conv_case_free(&t);
}

Test(conv_gradcheck, gemm_every_shape_with_bias)
{
    for (size_t i = 0; i < N_SHAPES; i++)
        gradcheck_conv(i, 1, 0);
}

Test(conv_gradcheck, gemm_without_bias)
{
    gradcheck_conv(0, 0, 0);
    gradcheck_conv(1, 0, 0);
}

Test(conv_gradcheck, naive_reference)
{
    /* The reference must be right too, or agreeing with it proves nothing. */
    for (size_t i = 0; i < N_SHAPES; i++)
        gradcheck_conv(i, 1, 1);
}

/* --- im2col+GEMM against the direct convolution ---------------------------------------------- */

/* Both compute the same sums; the naive one in double, the GEMM in float with reductions of up to
 * C*R*S (forward), K*R*S (din) or N*P*Q = 600 (dweight) terms of size ~1. Float rounding is
 * then up to ~6e-8 * terms in the worst case, ~4e-5 for 600 terms (2.4e-5 seen); the tolerance is
 * |a - b| <= 1e-4 * (1 + |ref|), while an indexing mistake shows up as O(1). */
#define GEMM_TOL 1e-4

static void compare_with_naive(pt_conv_dims d, int images_per_gemm, size_t extra_ws,
                               const char *name)
{
    conv_case g, ref;
    conv_case_init(&g, d, 1, images_per_gemm, 7);
    conv_case_init(&ref, d, 1, 1, 7);
    if (extra_ws) {
        /* A workspace that is not a whole number of images: the chunk is what fits. */
        free(g.ws);
        g.ws_floats += extra_ws;
        g.ws = xcalloc(g.ws_floats, sizeof(float));
    }
    ref.naive = 1;
    conv_case_forward(&g);
    conv_case_forward(&ref);
    double e = gc_max_rel_diff(g.out, ref.out, g.n_out);
    cr_assert(e <= GEMM_TOL, "%s, %d images/GEMM: forward differs by %.3g", name, images_per_gemm,
              e);

    /* Backward into buffers holding garbage: din must be overwritten, dW and db accumulated. */
    for (size_t j = 0; j < g.n_in; j++)
        g.din[j] = NAN;
    float *dw0 = xcalloc(g.n_w, sizeof(float));
    gc_fill_normal(dw0, g.n_w, 99, 1.0f);
    memcpy(g.dw, dw0, g.n_w * sizeof(float));
    for (int k = 0; k < d.k; k++)
        g.db[k] = 10.0f;
    pt_conv_backward(g.din, g.dw, g.db, g.r, g.in, g.w, &d, g.ws, g.ws_floats);
    conv_case_backward(&ref);
    for (size_t j = 0; j < g.n_w; j++)
        ref.dw[j] += dw0[j];
    for (int k = 0; k < d.k; k++)
        ref.db[k] += 10.0f;

    e = gc_max_rel_diff(g.din, ref.din, g.n_in);
    cr_assert(e <= GEMM_TOL, "%s, %d images/GEMM: din differs by %.3g", name, images_per_gemm, e);
    e = gc_max_rel_diff(g.dw, ref.dw, g.n_w);
    cr_assert(e <= GEMM_TOL, "%s, %d images/GEMM: dweight differs by %.3g", name, images_per_gemm,
              e);
    e = gc_max_rel_diff(g.db, ref.db, (size_t)d.k);
    cr_assert(e <= GEMM_TOL, "%s, %d images/GEMM: dbias differs by %.3g", name, images_per_gemm, e);
    free(dw0);
    conv_case_free(&g);
    conv_case_free(&ref);
}

Test(conv_gemm, matches_naive_on_every_shape_whole_batch_and_per_image)
{
    for (size_t i = 0; i < N_SHAPES; i++) {
        compare_with_naive(shape_dims(i), shapes[i].n, 0, shapes[i].name);
        compare_with_naive(shape_dims(i), 1, 0, shapes[i].name);
    }
}

Test(conv_direct, single_channel_forward_and_dweight_match_naive)
{
    /* One input channel, stride 1: forward and dweight take the direct loops (pt_conv_direct),
     * din (asked for in compare_with_naive) still im2col + GEMM. */
    const pt_conv_dims cases[] = {
        dims(3, 1, 9, 7, 4, 3, 3, 1, 1),  dims(2, 1, 8, 8, 3, 3, 3, 1, 0),
        dims(2, 1, 6, 11, 2, 5, 5, 1, 2), dims(2, 1, 5, 5, 3, 7, 7, 1, 3),
        dims(1, 1, 3, 20, 2, 2, 3, 1, 1), dims(4, 1, 33, 29, 16, 3, 3, 1, 1),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pt_conv_dims d = cases[i];
        cr_assert(pt_conv_direct(&d));
        compare_with_naive(d, d.n, 0, "direct");
        /* the first layer's case: no input gradient, dweight and dbias accumulated */
        conv_case g, ref;
        conv_case_init(&g, d, 1, 1, 11);
        conv_case_init(&ref, d, 1, 1, 11);
        ref.naive = 1;
        conv_case_forward(&g);
        conv_case_forward(&ref);
        for (size_t j = 0; j < g.n_w; j++)
            g.dw[j] = 1.0f;
        pt_conv_backward(NULL, g.dw, g.db, g.r, g.in, g.w, &d, g.ws, g.ws_floats);
        conv_case_backward(&ref);
        for (size_t j = 0; j < g.n_w; j++)
            ref.dw[j] += 1.0f;
        double e = gc_max_rel_diff(g.dw, ref.dw, g.n_w);
        cr_assert(e <= GEMM_TOL, "direct case %zu: dweight (no din) differs by %.3g", i, e);
        conv_case_free(&g);
        conv_case_free(&ref);
    }
    cr_assert_not(pt_conv_direct(&(pt_conv_dims){1, 2, 8, 8, 4, 3, 3, 1, 1}));
    cr_assert_not(pt_conv_direct(&(pt_conv_dims){1, 1, 8, 8, 4, 3, 3, 2, 1}));
}

Test(conv_gemm, matches_naive_on_a_realistic_layer)
{
    /* Channels and spatial size of a real layer, big enough that OpenBLAS takes its blocked
     * paths; 5 images so that 2 per GEMM leaves a last chunk of 1. */
    pt_conv_dims d = dims(5, 16, 12, 10, 32, 3, 3, 1, 1);
    compare_with_naive(d, 5, 0, "16->32 3x3");
    compare_with_naive(d, 2, 0, "16->32 3x3");
    compare_with_naive(d, 1, 0, "16->32 3x3");
    compare_with_naive(d, 2, pt_conv_workspace_size(&d, 1) / 2, "16->32 3x3, ragged workspace");
    compare_with_naive(d, 64, 0, "16->32 3x3, workspace larger than the batch");
}

Test(conv_gemm, backward_skips_null_gradients)
{
    pt_conv_dims d = shape_dims(2);
    conv_case g, ref;
    conv_case_init(&g, d, 1, d.n, 3);
    conv_case_init(&ref, d, 1, d.n, 3);
    conv_case_backward(&ref);
    /* Only din. */
    pt_conv_backward(g.din, NULL, NULL, g.r, g.in, g.w, &d, g.ws, g.ws_floats);
    cr_assert(gc_max_rel_diff(g.din, ref.din, g.n_in) <= GEMM_TOL);
    /* Only dweight (the first layer). */
    pt_conv_backward(NULL, g.dw, NULL, g.r, g.in, g.w, &d, g.ws, g.ws_floats);
    cr_assert(gc_max_rel_diff(g.dw, ref.dw, g.n_w) <= GEMM_TOL);
    for (int k = 0; k < d.k; k++)
        cr_assert_eq(g.db[k], 0.0f);
    conv_case_free(&g);
    conv_case_free(&ref);
}

Test(conv_gemm, backward_accumulates_parameter_gradients)
{
    pt_conv_dims d = shape_dims(0);
    conv_case t;
    conv_case_init(&t, d, 1, d.n, 5);
    conv_case_backward(&t);
    float *dw1 = xcalloc(t.n_w, sizeof(float)), *db1 = xcalloc((size_t)d.k, sizeof(float));
    memcpy(dw1, t.dw, t.n_w * sizeof(float));
    memcpy(db1, t.db, (size_t)d.k * sizeof(float));
    pt_conv_backward(t.din, t.dw, t.db, t.r, t.in, t.w, &d, t.ws, t.ws_floats);
    for (size_t j = 0; j < t.n_w; j++)
        cr_assert_float_eq(t.dw[j], 2.0f * dw1[j], 1e-5f * (1.0f + fabsf(dw1[j])));
    for (int k = 0; k < d.k; k++)
        cr_assert_float_eq(t.db[k], 2.0f * db1[k], 1e-5f * (1.0f + fabsf(db1[k])));
    free(dw1);
    free(db1);
    conv_case_free(&t);
}

Test(conv_gemm, empty_batch_does_nothing)
{
    pt_conv_dims d = dims(0, 2, 5, 5, 3, 3, 3, 1, 1);
    float w[54], b[3] = {1, 2, 3}, dw[54] = {0}, db[3] = {0}, ws[1];
    gc_fill_normal(w, 54, 1, 1.0f);
    pt_conv_forward(NULL, NULL, w, b, &d, ws, 0);
    pt_conv_backward(NULL, dw, db, NULL, NULL, w, &d, ws, 0);
    for (int j = 0; j < 54; j++)
        cr_assert_eq(dw[j], 0.0f);
}

/* --- shapes ----------------------------------------------------------------------------------- */

Test(conv_shape, output_size_and_workspace)
{
    pt_conv_dims stem = dims(4, 1, 224, 224, 64, 7, 7, 2, 3);
    cr_assert_eq(pt_conv_out_h(&stem), 112);
    cr_assert_eq(pt_conv_out_w(&stem), 112);
    pt_conv_dims odd = dims(1, 3, 9, 8, 2, 3, 3, 2, 0);
    cr_assert_eq(pt_conv_out_h(&odd), 4);
    cr_assert_eq(pt_conv_out_w(&odd), 3);
    cr_assert_eq(pt_conv_workspace_size(&odd, 1), (size_t)(27 + 2) * 12);
    cr_assert_eq(pt_conv_workspace_size(&odd, 3), (size_t)3 * (27 + 2) * 12);
}

Test(conv_shape, check_rejects_bad_dims)
{
    pt_error err;
    cr_assert_eq(pt_conv_check(&(pt_conv_dims){1, 3, 8, 8, 4, 3, 3, 1, 1}, &err), PT_OK);
    cr_assert_eq(pt_conv_check(&(pt_conv_dims){1, 0, 8, 8, 4, 3, 3, 1, 1}, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_conv_check(&(pt_conv_dims){1, 3, 8, 8, 4, 3, 3, 0, 1}, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_conv_check(&(pt_conv_dims){1, 3, 8, 8, 4, 3, 3, 1, -1}, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_conv_check(&(pt_conv_dims){1, 3, 2, 8, 4, 5, 3, 1, 1}, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "kernel") != NULL, "%s", err.msg);
    cr_assert_eq(pt_conv_check(&(pt_conv_dims){1, 3, 2, 8, 4, 5, 3, 1, 2}, &err), PT_OK);
}
