/* Winograd F(2x2,3x3) convolution against the direct reference (pt_conv_*_naive): forward, din,
 * dweight and dbias on odd and even sizes, pad 0 and 1, with and without bias, chunked in every
 * way the workspace allows; the gradient conventions; which layers are supported. And its GEMM
 * micro-kernels (wg_gemm.h) on every path this CPU has, against a double reference. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "conv.h"
#include "wg_gemm.h"
#include "winograd.h"
#include "ptrain/isa.h"

/* Both compute the same sums, the reference in double. Winograd in float adds the rounding of the
 * transforms (sums of up to 9 terms) to the GEMM's, which is where most of it comes from: the sums
 * over channels (forward, din) and over every output position of the batch (dweight, N*P*Q terms,
 * accumulated in float by OpenBLAS as im2col+GEMM does). With inputs ~N(0,1), He-scaled weights
 * and dout ~N(0,1), the largest |a - b| / (1 + |ref|) measured over every case below:
 *   forward 1.1e-6, din 2.0e-6, dbias 0 (summed in double by both)     -> tolerance 1e-5
 *   dweight 1.6e-6 at N*P*Q = 105, 2.0e-5 at 600, 8.2e-5 at 6144       -> 5e-6 * sqrt(N*P*Q)
 * (im2col+GEMM against the same reference: forward 1.7e-6, din 9.5e-7, dweight 6.2e-5 at 6144.)
 * Every tolerance is at least 4.8x the largest error measured under it; an indexing mistake
 * shows up as O(1). PTRAIN_WG_VERBOSE=1 in the environment prints the largest fraction of each
 * tolerance used. */
#define WG_TOL                  1e-5
#define WG_TOL_DW_PER_SQRT_TERM 5e-6

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    cr_assert_not_null(p);
    return p;
}

static pt_conv_dims dims(int n, int c, int h, int w, int k, int pad)
{
    pt_conv_dims d = {
        .n = n, .c = c, .h = h, .w = w, .k = k, .r = 3, .s = 3, .stride = 1, .pad = pad};
    return d;
}

/* One layer's data: inputs, and the reference outputs and gradients from the direct code. */
typedef struct wg_case {
    pt_conv_dims d;
    size_t n_in, n_w, n_out;
    float *in, *w, *b, *dout;
    float *ref_out[2]; /* without, with bias */
    float *ref_din, *ref_dw, *ref_db;
} wg_case;

static void wg_case_init(wg_case *t, pt_conv_dims d, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->d = d;
    cr_assert(pt_winograd_supported(&d), "shape not supported");
    t->n_in = (size_t)d.n * d.c * d.h * d.w;
    t->n_w = (size_t)d.k * d.c * 9;
    t->n_out = (size_t)d.n * d.k * pt_conv_out_h(&d) * pt_conv_out_w(&d);
    t->in = xcalloc(t->n_in, sizeof(float));
    t->w = xcalloc(t->n_w, sizeof(float));
    t->b = xcalloc((size_t)d.k, sizeof(float));
    t->dout = xcalloc(t->n_out, sizeof(float));
    for (int bias = 0; bias < 2; bias++)
        t->ref_out[bias] = xcalloc(t->n_out, sizeof(float));
    t->ref_din = xcalloc(t->n_in, sizeof(float));
    t->ref_dw = xcalloc(t->n_w, sizeof(float));
    t->ref_db = xcalloc((size_t)d.k, sizeof(float));
    gc_fill_normal(t->in, t->n_in, seed, 1.0f);
    gc_fill_normal(t->w, t->n_w, seed + 1, 1.0f / sqrtf((float)(d.c * 9)));
    gc_fill_normal(t->b, (size_t)d.k, seed + 2, 0.5f);
    gc_fill_normal(t->dout, t->n_out, seed + 3, 1.0f);
    pt_conv_forward_naive(t->ref_out[0], t->in, t->w, NULL, &d);
    pt_conv_forward_naive(t->ref_out[1], t->in, t->w, t->b, &d);
    pt_conv_backward_naive(t->ref_din, t->ref_dw, t->ref_db, t->dout, t->in, t->w, &d);
}

static void wg_case_free(wg_case *t)
{
    free(t->in);
    free(t->w);
    free(t->b);
    free(t->dout);
    free(t->ref_out[0]);
    free(t->ref_out[1]);
    free(t->ref_din);
    free(t->ref_dw);
    free(t->ref_db);
}

static double worst[4]; /* fraction of the tolerance used: forward, din, dweight, dbias */

static void check_close(int which, const char *name, const float *got, const float *ref, size_t n,
                        double tol)
{
    static const char *what[4] = {"forward", "din", "dweight", "dbias"};
    double e = gc_max_rel_diff(got, ref, n);
    cr_assert(e <= tol, "%s: %s differs from the direct convolution by %.3g (tolerance %.3g)", name,
              what[which], e, tol);
    if (e / tol > worst[which])
        worst[which] = e / tol;
}

static double dweight_tol(const pt_conv_dims *d)
{
    double terms = (double)d->n * pt_conv_out_h(d) * pt_conv_out_w(d);
    return fmax(WG_TOL, WG_TOL_DW_PER_SQRT_TERM * sqrt(terms));
}

/* Runs forward and backward with a workspace of ws_floats (garbage-filled), with or without bias,
 * and checks every result against the reference. Backward starts from garbage gradients: din must
 * be overwritten, dweight and dbias accumulated into. */
static void check_case(const wg_case *t, size_t ws_floats, int bias, const char *name)
{
    const pt_conv_dims *d = &t->d;
    float *ws = xcalloc(ws_floats, sizeof(float));
    for (size_t j = 0; j < ws_floats; j++)
        ws[j] = NAN; /* nothing may be read before it is written */
    float *out = xcalloc(t->n_out, sizeof(float));
    for (size_t j = 0; j < t->n_out; j++)
        out[j] = NAN;
    pt_winograd_forward(out, t->in, t->w, bias ? t->b : NULL, d, ws, ws_floats);
    check_close(0, name, out, t->ref_out[bias], t->n_out, WG_TOL);

    float *din = xcalloc(t->n_in, sizeof(float));
    float *dw = xcalloc(t->n_w, sizeof(float)), *dw_ref = xcalloc(t->n_w, sizeof(float));
    float *db = xcalloc((size_t)d->k, sizeof(float)),
          *db_ref = xcalloc((size_t)d->k, sizeof(float));
    for (size_t j = 0; j < t->n_in; j++)
        din[j] = NAN;
    gc_fill_normal(dw, t->n_w, 99, 1.0f);
    for (size_t j = 0; j < t->n_w; j++)
        dw_ref[j] = dw[j] + t->ref_dw[j];
    for (int k = 0; k < d->k; k++) {
        db[k] = 10.0f;
        db_ref[k] = 10.0f + t->ref_db[k];
    }
    pt_winograd_backward(din, dw, bias ? db : NULL, t->dout, t->in, t->w, d, ws, ws_floats);
    check_close(1, name, din, t->ref_din, t->n_in, WG_TOL);
    check_close(2, name, dw, dw_ref, t->n_w, dweight_tol(d));
    if (bias)
        check_close(3, name, db, db_ref, (size_t)d->k, WG_TOL);
    else
        for (int k = 0; k < d->k; k++)
            cr_assert_eq(db[k], 10.0f);
    free(ws);
    free(out);
    free(din);
    free(dw);
    free(dw_ref);
    free(db);
    free(db_ref);
}

/* Every chunking: the whole batch in one chunk, one image per chunk (the minimum), a workspace
 * of 1.5 images (chunks that start and end inside an image) and one far larger than the batch. */
static void check_every_chunking(pt_conv_dims d, const char *name)
{
    wg_case t;
    wg_case_init(&t, d, 7);
    const size_t one = pt_winograd_workspace_size(&d, 1),
                 per_image = one - pt_winograd_workspace_size(&d, 0);
    char what[200];
    for (int bias = 0; bias < 2; bias++) {
        snprintf(what, sizeof what, "%s%s, whole batch", name, bias ? "" : ", no bias");
        check_case(&t, pt_winograd_workspace_size(&d, d.n), bias, what);
        snprintf(what, sizeof what, "%s%s, 1 image per chunk", name, bias ? "" : ", no bias");
        check_case(&t, one, bias, what);
    }
    snprintf(what, sizeof what, "%s, 1.5 images per chunk", name);
    check_case(&t, one + per_image / 2, 1, what);
    snprintf(what, sizeof what, "%s, workspace for 64 more images than the batch", name);
    check_case(&t, pt_winograd_workspace_size(&d, d.n + 64), 1, what);
    wg_case_free(&t);
}

/* n, c, h, w, k, pad */
static const struct {
    const char *name;
    int n, c, h, w, k, pad;
} shapes[] = {
    {"5x7 pad 1", 3, 2, 5, 7, 4, 1},
    {"7x5 pad 1, one image", 1, 3, 7, 5, 2, 1},
    {"8x8 pad 1", 3, 3, 8, 8, 5, 1},
    {"13x13 pad 1", 3, 4, 13, 13, 3, 1},
    {"1x1 pad 1 (one partial tile)", 3, 2, 1, 1, 3, 1},
    {"2x3 pad 1", 1, 3, 2, 3, 2, 1},
    {"3x2 pad 1", 3, 1, 3, 2, 1, 1},
    {"C=1 K=1 8x8 pad 1", 3, 1, 8, 8, 1, 1},
    {"C=1 K=6 13x13 pad 1", 1, 1, 13, 13, 6, 1},
    {"K=1 C=5 6x9 pad 1", 3, 5, 6, 9, 1, 1},
    {"row wider than 2 blocks: 3x40 pad 1", 2, 2, 3, 40, 3, 1},
    {"5x7 pad 0", 3, 2, 5, 7, 4, 0},
    {"8x8 pad 0", 1, 3, 8, 8, 5, 0},
    {"13x13 pad 0", 3, 4, 13, 13, 3, 0},
    {"3x3 pad 0 (one output)", 3, 2, 3, 3, 2, 0},
    {"3x4 pad 0", 1, 1, 3, 4, 1, 0},
    {"4x3 pad 0", 3, 2, 4, 3, 3, 0},
    {"C=1 K=1 9x6 pad 0", 3, 1, 9, 6, 1, 0},
    {"row wider than 2 blocks: 4x37 pad 0", 2, 3, 4, 37, 2, 0},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static void print_worst(void)
{
    if (getenv("PTRAIN_WG_VERBOSE"))
        fprintf(stderr,
                "winograd: largest fraction of the tolerance used: forward %.3g, din %.3g, "
                "dweight %.3g, dbias %.3g\n",
                worst[0], worst[1], worst[2], worst[3]);
}

Test(winograd, matches_direct_on_small_shapes)
{
    for (size_t i = 0; i < N_SHAPES; i++)
        check_every_chunking(
            dims(shapes[i].n, shapes[i].c, shapes[i].h, shapes[i].w, shapes[i].k, shapes[i].pad),
            shapes[i].name);
    print_worst();
}

Test(winograd, matches_direct_on_realistic_layers)
{
    /* Channel counts where OpenBLAS takes its blocked paths; 5 images so 2 per chunk leaves 1. */
    check_every_chunking(dims(5, 16, 12, 10, 32, 1), "16->32 12x10 pad 1");
    check_every_chunking(dims(2, 32, 14, 14, 64, 1), "32->64 14x14 pad 1 (fmnist conv2)");
    check_every_chunking(dims(2, 8, 15, 11, 24, 0), "8->24 15x11 pad 0");
    /* Large enough that the cache cap, not the workspace, cuts the chunks (in mid-image). */
    pt_conv_dims big = dims(3, 32, 64, 32, 64, 1);
    cr_assert_lt(pt_winograd_useful_images(&big), big.n);
    check_every_chunking(big, "32->64 64x32 pad 1, chunks capped");
    print_worst();
}

Test(winograd, backward_skips_null_gradients)
{
    pt_conv_dims d = dims(3, 3, 7, 5, 4, 1);
    wg_case t;
    wg_case_init(&t, d, 11);
    size_t ws_floats = pt_winograd_workspace_size(&d, d.n);
    float *ws = xcalloc(ws_floats, sizeof(float));
    float *din = xcalloc(t.n_in, sizeof(float)), *dw = xcalloc(t.n_w, sizeof(float));
    float *db = xcalloc((size_t)d.k, sizeof(float));
    /* Only din. */
    pt_winograd_backward(din, NULL, NULL, t.dout, t.in, t.w, &d, ws, ws_floats);
    cr_assert_leq(gc_max_rel_diff(din, t.ref_din, t.n_in), WG_TOL);
    /* Only dweight (the first layer); in is not even read for din. */
    pt_winograd_backward(NULL, dw, NULL, t.dout, t.in, t.w, &d, ws, ws_floats);
    cr_assert_leq(gc_max_rel_diff(dw, t.ref_dw, t.n_w), dweight_tol(&d));
    /* Only dbias: nothing else is touched. */
    pt_winograd_backward(NULL, NULL, db, t.dout, t.in, t.w, &d, ws, ws_floats);
    cr_assert_leq(gc_max_rel_diff(db, t.ref_db, (size_t)d.k), WG_TOL);
    cr_assert_leq(gc_max_rel_diff(dw, t.ref_dw, t.n_w), dweight_tol(&d));
    /* Nothing at all. */
    pt_winograd_backward(NULL, NULL, NULL, t.dout, t.in, t.w, &d, ws, ws_floats);
    free(ws);
    free(din);
    free(dw);
    free(db);
    wg_case_free(&t);
}

Test(winograd, backward_accumulates_parameter_gradients_and_overwrites_din)
{
    pt_conv_dims d = dims(3, 2, 5, 7, 4, 1);
    wg_case t;
    wg_case_init(&t, d, 5);
    size_t ws_floats = pt_winograd_workspace_size(&d, 1);
    float *ws = xcalloc(ws_floats, sizeof(float));
    float *din = xcalloc(t.n_in, sizeof(float)), *dw = xcalloc(t.n_w, sizeof(float));
    float *db = xcalloc((size_t)d.k, sizeof(float));
    pt_winograd_backward(din, dw, db, t.dout, t.in, t.w, &d, ws, ws_floats);
    pt_winograd_backward(din, dw, db, t.dout, t.in, t.w, &d, ws, ws_floats);
    /* Twice: parameter gradients doubled, din the same as once. */
    for (size_t j = 0; j < t.n_w; j++)
        cr_assert_float_eq(dw[j], 2.0f * t.ref_dw[j], 1e-4f * (1.0f + fabsf(t.ref_dw[j])),
                           "dw[%zu]", j);
    for (int k = 0; k < d.k; k++)
        cr_assert_float_eq(db[k], 2.0f * t.ref_db[k], 1e-4f * (1.0f + fabsf(t.ref_db[k])));
    cr_assert_leq(gc_max_rel_diff(din, t.ref_din, t.n_in), WG_TOL);
    free(ws);
    free(din);
    free(dw);
    free(db);
    wg_case_free(&t);
}

/* The backward pass is the gradient of the Winograd forward itself: central differences of
 * L = sum(out * dout) (linear, so no truncation error; tolerances as test_conv's). */
typedef struct fd_ctx {
    const wg_case *t;
    float *in, *w, *b, *out, *ws;
    size_t ws_floats;
} fd_ctx;

static double fd_objective(void *ctx)
{
    fd_ctx *f = ctx;
    pt_winograd_forward(f->out, f->in, f->w, f->b, &f->t->d, f->ws, f->ws_floats);
    return gc_dot(f->out, f->t->dout, f->t->n_out);
}

Test(winograd, gradient_matches_finite_differences)
{
    for (int pad = 0; pad < 2; pad++) {
        pt_conv_dims d = dims(2, 3, 7, 6, 4, pad);
        wg_case t;
        wg_case_init(&t, d, 21);
        fd_ctx f = {.t = &t, .in = t.in, .w = t.w, .b = t.b};
        f.ws_floats = pt_winograd_workspace_size(&d, 1);
        f.ws = xcalloc(f.ws_floats, sizeof(float));
        f.out = xcalloc(t.n_out, sizeof(float));
        float *din = xcalloc(t.n_in, sizeof(float)), *dw = xcalloc(t.n_w, sizeof(float));
        float *db = xcalloc((size_t)d.k, sizeof(float));
        pt_winograd_backward(din, dw, db, t.dout, t.in, t.w, &d, f.ws, f.ws_floats);
        const char *p = pad ? "pad 1" : "pad 0";
        char what[64];
        snprintf(what, sizeof what, "winograd %s: din", p);
        gc_check(what, fd_objective, &f, t.in, din, t.n_in, 1e-2f, 2e-3, 1e-3, 100000);
        snprintf(what, sizeof what, "winograd %s: dweight", p);
        gc_check(what, fd_objective, &f, t.w, dw, t.n_w, 1e-2f, 2e-3, 1e-3, 100000);
        snprintf(what, sizeof what, "winograd %s: dbias", p);
        gc_check(what, fd_objective, &f, t.b, db, (size_t)d.k, 1e-2f, 2e-3, 1e-3, 100000);
        free(f.ws);
        free(f.out);
        free(din);
        free(dw);
        free(db);
        wg_case_free(&t);
    }
}

Test(winograd, empty_batch_does_nothing)
{
    pt_conv_dims d = dims(0, 2, 5, 5, 3, 1);
    float w[54], b[3] = {1, 2, 3}, dw[54] = {0}, db[3] = {0}, ws[1];
    gc_fill_normal(w, 54, 1, 1.0f);
    pt_winograd_forward(NULL, NULL, w, b, &d, ws, 0);
    pt_winograd_backward(NULL, dw, db, NULL, NULL, w, &d, ws, 0);
    for (int j = 0; j < 54; j++)
        cr_assert_eq(dw[j], 0.0f);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(db[k], 0.0f);
}

Test(winograd, supported_shapes)
{
    cr_assert(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 3, 1, 1}));
    cr_assert(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 3, 1, 0}));
    cr_assert(pt_winograd_supported(&(pt_conv_dims){0, 3, 1, 1, 4, 3, 3, 1, 1}));
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 5, 5, 1, 2}), "5x5");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 3, 2, 1}), "stride 2");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 3, 1, 2}), "pad 2");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 1, 1, 1, 0}), "1x1");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 8, 8, 4, 3, 5, 1, 1}), "3x5");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 3, 2, 8, 4, 3, 3, 1, 0}),
                  "kernel larger than the input");
    cr_assert_not(pt_winograd_supported(&(pt_conv_dims){4, 0, 8, 8, 4, 3, 3, 1, 1}), "C = 0");
}

Test(winograd, workspace_size)
{
    /* 13x13 pad 1: 7x7 tiles; 5x7 pad 0: P=3, Q=5, 2x3 tiles. */
    pt_conv_dims a = dims(4, 3, 13, 13, 5, 1), b = dims(4, 3, 5, 7, 5, 0);
    size_t fa = pt_winograd_workspace_size(&a, 0), fb = pt_winograd_workspace_size(&b, 0);
    cr_assert_geq(fa, (size_t)32 * 5 * 3);
    cr_assert_eq(pt_winograd_workspace_size(&a, 1), fa + (size_t)49 * 16 * 8);
    cr_assert_eq(pt_winograd_workspace_size(&a, 3), fa + (size_t)3 * 49 * 16 * 8);
    cr_assert_eq(pt_winograd_workspace_size(&b, 2), fb + (size_t)2 * 6 * 16 * 8);
    cr_assert_eq(pt_winograd_useful_images(&a), 4);
    cr_assert_eq(pt_winograd_useful_images(&(pt_conv_dims){0, 3, 5, 7, 5, 3, 3, 1, 0}), 1);
}

/* --- the GEMM micro-kernels (wg_gemm.h) ------------------------------------------------------ */

/* Sizes on both sides of every block edge: mul's row blocks (4, 6 or 8 rows), its vectors (4, 8 or
 * 16 columns) and strips (2 or 3 vectors), the dot blocks (2 to 6 rows and 2 to 4 columns), and
 * 1 (T = 1). The leading dimensions are larger than the rows, so the kernels must stay inside. */
static const int gemm_rows[] = {1, 3, 5, 8, 13, 27};
static const int gemm_cols[] = {1, 7, 15, 17, 33, 49, 100};
static const int gemm_inner[] = {1, 3, 16, 31};
static const int dot_inner[] = {1, 7, 15, 16, 17, 33, 100};
#define N_OF(a)  ((int)(sizeof(a) / sizeof((a)[0])))
#define SENTINEL 12345.0f /* in c's padding: must survive */

/* Each element within (k + 2) eps (sum_p |a b| + |c0|) of the double sum: the rounding of k
 * multiply-adds in any order, and of adding c0; a missing or misplaced term is O(|a b|). */
static void check_sum(double got, double ref, double abs_sum, int k, const char *what, int i, int j)
{
    const double tol = (k + 2) * (double)FLT_EPSILON * abs_sum + 1e-30;
    cr_assert(fabs(got - ref) <= tol, "%s: c[%d][%d] = %.9g, reference %.9g (tolerance %.3g)", what,
              i, j, got, ref, tol);
}

/* c (m x n, ldc) = op(a) b on one path, against double; the padding untouched; each row the same
 * bits when computed alone (the order of the sums does not depend on the blocking). */
static void check_mul(const pt_wg_gemm_kernels *g, const char *isa, int m, int n, int k,
                      int trans_a)
{
    const size_t lda = (size_t)(trans_a ? m : k) + 3, ldb = (size_t)n + 2, ldc = (size_t)n + 5;
    const size_t a_n = (size_t)(trans_a ? k : m) * lda, b_n = (size_t)k * ldb;
    float *a = xcalloc(a_n, sizeof(float)), *b = xcalloc(b_n, sizeof(float));
    float *c = xcalloc((size_t)(m + 1) * ldc, sizeof(float)), *row = xcalloc(ldc, sizeof(float));
    gc_fill_normal(a, a_n, 100 + (uint64_t)m, 1.0f);
    gc_fill_normal(b, b_n, 200 + (uint64_t)n, 1.0f);
    for (size_t j = 0; j < (size_t)(m + 1) * ldc; j++)
        c[j] = (j % ldc < (size_t)n && j < (size_t)m * ldc) ? NAN : SENTINEL;
    char what[160];
    snprintf(what, sizeof what, "%s mul%s m=%d n=%d k=%d", isa, trans_a ? " (a^T)" : "", m, n, k);
    cr_assert(pt_wg_gemm_mul_fits(g, m, k), "%s: too large for the test", what);
    g->mul(c, ldc, a, lda, trans_a, b, ldb, m, n, k);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double ref = 0, abs_sum = 0;
            for (int p = 0; p < k; p++) {
                const double x = trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                ref += x * b[(size_t)p * ldb + j];
                abs_sum += fabs(x * b[(size_t)p * ldb + j]);
            }
            check_sum(c[(size_t)i * ldc + j], ref, abs_sum, k, what, i, j);
        }
        for (size_t j = (size_t)n; j < ldc; j++)
            cr_assert_eq(c[(size_t)i * ldc + j], SENTINEL, "%s: wrote past row %d", what, i);
        const float *ai = trans_a ? a + i : a + (size_t)i * lda;
        g->mul(row, ldc, ai, lda, trans_a, b, ldb, 1, n, k);
        cr_assert(!memcmp(row, c + (size_t)i * ldc, (size_t)n * sizeof(float)),
                  "%s: row %d alone gives other bits", what, i);
    }
    for (size_t j = 0; j < ldc; j++)
        cr_assert_eq(c[(size_t)m * ldc + j], SENTINEL, "%s: wrote past the last row", what);
    free(a);
    free(b);
    free(c);
    free(row);
}

/* c (m x n, ldc) += a b^T on one path, against double; the padding untouched; each element the
 * same bits when computed alone. */
static void check_acc_bt(const pt_wg_gemm_kernels *g, const char *isa, int m, int n, int k)
{
    const size_t lda = (size_t)k + 3, ldb = (size_t)k + 2, ldc = (size_t)n + 5;
    float *a = xcalloc((size_t)m * lda, sizeof(float)),
          *b = xcalloc((size_t)n * ldb, sizeof(float));
    float *c0 = xcalloc((size_t)(m + 1) * ldc, sizeof(float));
    float *c = xcalloc((size_t)(m + 1) * ldc, sizeof(float));
    gc_fill_normal(a, (size_t)m * lda, 300 + (uint64_t)k, 1.0f);
    gc_fill_normal(b, (size_t)n * ldb, 400 + (uint64_t)n, 1.0f);
    gc_fill_normal(c0, (size_t)(m + 1) * ldc, 500, 1.0f);
    for (size_t j = 0; j < (size_t)(m + 1) * ldc; j++)
        if (j % ldc >= (size_t)n || j >= (size_t)m * ldc)
            c0[j] = SENTINEL;
    memcpy(c, c0, (size_t)(m + 1) * ldc * sizeof(float));
    char what[160];
    snprintf(what, sizeof what, "%s acc_bt m=%d n=%d k=%d", isa, m, n, k);
    g->acc_bt(c, ldc, a, lda, b, ldb, m, n, k);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double ref = c0[(size_t)i * ldc + j], abs_sum = fabs(ref);
            for (int p = 0; p < k; p++) {
                const double x = (double)a[(size_t)i * lda + p] * b[(size_t)j * ldb + p];
                ref += x;
                abs_sum += fabs(x);
            }
            check_sum(c[(size_t)i * ldc + j], ref, abs_sum, k, what, i, j);
            float one = c0[(size_t)i * ldc + j];
            g->acc_bt(&one, 1, a + (size_t)i * lda, lda, b + (size_t)j * ldb, ldb, 1, 1, k);
            cr_assert(!memcmp(&one, c + (size_t)i * ldc + j, sizeof one),
                      "%s: c[%d][%d] alone gives other bits", what, i, j);
        }
        for (size_t j = (size_t)n; j < ldc; j++)
            cr_assert_eq(c[(size_t)i * ldc + j], SENTINEL, "%s: wrote past row %d", what, i);
    }
    for (size_t j = 0; j < ldc; j++)
        cr_assert_eq(c[(size_t)m * ldc + j], SENTINEL, "%s: wrote past the last row", what);
    free(a);
    free(b);
    free(c0);
    free(c);
}

Test(winograd, gemm_kernels_match_a_double_reference_on_every_path)
{
    for (int isa = 0; isa < PT_ISA_COUNT; isa++) {
        if (!pt_isa_supported((pt_isa)isa)) {
            fprintf(stderr, "test_winograd: this CPU has no %s: its GEMM kernels were not tested\n",
                    pt_isa_name((pt_isa)isa));
            continue;
        }
        const pt_wg_gemm_kernels *g = PT_KERNELS_FOR(pt_wg_gemm_kernels, (pt_isa)isa);
        const char *name = pt_isa_name((pt_isa)isa);
        for (int mi = 0; mi < N_OF(gemm_rows); mi++)
            for (int ni = 0; ni < N_OF(gemm_cols); ni++) {
                for (int ki = 0; ki < N_OF(gemm_inner); ki++)
                    for (int trans_a = 0; trans_a < 2; trans_a++)
                        check_mul(g, name, gemm_rows[mi], gemm_cols[ni], gemm_inner[ki], trans_a);
                if (gemm_cols[ni] > 30)
                    continue; /* acc_bt's outputs are the small matrix: 1 to 17 columns */
                for (int ki = 0; ki < N_OF(dot_inner); ki++)
                    check_acc_bt(g, name, gemm_rows[mi], gemm_cols[ni], dot_inner[ki]);
            }
        /* the layers' shapes: fmnist conv2's 16 products (K=64, C=32, T=511) */
        check_mul(g, name, 64, 511, 32, 0);
        check_mul(g, name, 32, 511, 64, 1);
        check_acc_bt(g, name, 64, 32, 511);
    }
}

Test(winograd, gemm_mul_gives_the_same_bits_on_avx2_and_avx512)
{
    /* one fused multiply-add per term, in order, on both (wg_gemm.h): blocks of other sizes */
    if (!pt_isa_supported(PT_ISA_AVX2) || !pt_isa_supported(PT_ISA_AVX512)) {
        fprintf(stderr, "test_winograd: this CPU lacks AVX2 or AVX-512: not compared\n");
        return;
    }
    const int m = 27, n = 100, k = 31;
    float *a = xcalloc((size_t)m * k, sizeof(float)), *b = xcalloc((size_t)k * n, sizeof(float));
    float *c2 = xcalloc((size_t)m * n, sizeof(float)), *c5 = xcalloc((size_t)m * n, sizeof(float));
    gc_fill_normal(a, (size_t)m * k, 600, 1.0f);
    gc_fill_normal(b, (size_t)k * n, 601, 1.0f);
    PT_KERNELS_FOR(pt_wg_gemm_kernels, PT_ISA_AVX2)
        ->mul(c2, (size_t)n, a, (size_t)k, 0, b, (size_t)n, m, n, k);
    PT_KERNELS_FOR(pt_wg_gemm_kernels, PT_ISA_AVX512)
        ->mul(c5, (size_t)n, a, (size_t)k, 0, b, (size_t)n, m, n, k);
    cr_assert(!memcmp(c2, c5, (size_t)m * n * sizeof(float)));
    free(a);
    free(b);
    free(c2);
    free(c5);
}
