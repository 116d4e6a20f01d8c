/* The Winograd tests' shared checks (wg_check.h). Both variants compute the same sums as the
 * reference, which runs in double; each variant states its own tolerances (its test file says
 * what it measured). */
#include "wg_check.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "winograd.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    cr_assert_not_null(p);
    return p;
}

pt_conv_dims wg_dims(int n, int c, int h, int w, int k, int pad)
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
    const char *verbose = getenv("PTRAIN_WG_VERBOSE");
    if (verbose && !strcmp(verbose, "2")) /* every case, for stating the measured errors */
        fprintf(stderr, "%s: %s %.3g (tolerance %.3g)\n", name, what[which], e, tol);
    cr_assert(e <= tol, "%s: %s differs from the direct convolution by %.3g (tolerance %.3g)", name,
              what[which], e, tol);
    if (e / tol > worst[which])
        worst[which] = e / tol;
}

static double dweight_tol(const wg_variant *v, const pt_conv_dims *d)
{
    double terms = (double)d->n * pt_conv_out_h(d) * pt_conv_out_w(d);
    return fmax(v->tol, v->tol_dw_per_sqrt_term * sqrt(terms));
}

/* Runs forward and backward with a workspace of ws_floats (garbage-filled), with or without bias,
 * and checks every result against the reference. Backward starts from garbage gradients: din must
 * be overwritten, dweight and dbias accumulated into. */
static void check_case(const wg_variant *v, const wg_case *t, size_t ws_floats, int bias,
                       const char *name)
{
    const pt_conv_dims *d = &t->d;
    float *ws = xcalloc(ws_floats, sizeof(float));
    for (size_t j = 0; j < ws_floats; j++)
        ws[j] = NAN; /* nothing may be read before it is written */
    float *out = xcalloc(t->n_out, sizeof(float));
    for (size_t j = 0; j < t->n_out; j++)
        out[j] = NAN;
    v->forward(out, t->in, t->w, bias ? t->b : NULL, d, ws, ws_floats, NULL);
    check_close(0, name, out, t->ref_out[bias], t->n_out, v->tol);

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
    v->backward(din, dw, bias ? db : NULL, t->dout, t->in, t->w, d, ws, ws_floats);
    check_close(1, name, din, t->ref_din, t->n_in, v->tol);
    check_close(2, name, dw, dw_ref, t->n_w, dweight_tol(v, d));
    if (bias)
        check_close(3, name, db, db_ref, (size_t)d->k, v->tol);
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
void wg_check_every_chunking(const wg_variant *v, pt_conv_dims d, const char *name)
{
    wg_case t;
    wg_case_init(&t, d, 7);
    const size_t one = v->workspace_size(&d, 1), per_image = one - v->workspace_size(&d, 0);
    char what[200];
    for (int bias = 0; bias < 2; bias++) {
        snprintf(what, sizeof what, "%s%s, whole batch", name, bias ? "" : ", no bias");
        check_case(v, &t, v->workspace_size(&d, d.n), bias, what);
        snprintf(what, sizeof what, "%s%s, 1 image per chunk", name, bias ? "" : ", no bias");
        check_case(v, &t, one, bias, what);
    }
    snprintf(what, sizeof what, "%s, 1.5 images per chunk", name);
    check_case(v, &t, one + per_image / 2, 1, what);
    snprintf(what, sizeof what, "%s, workspace for 64 more images than the batch", name);
    check_case(v, &t, v->workspace_size(&d, d.n + 64), 1, what);
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
    /* for 4x4 tiles: whole tiles, every remainder of 4, rows of more than 2 blocks of 16 tiles */
    {"6x6 pad 0 (one whole 4x4 tile)", 2, 3, 6, 6, 2, 0},
    {"9x10 pad 1", 2, 3, 9, 10, 4, 1},
    {"11x12 pad 1", 1, 2, 11, 12, 3, 1},
    {"17x7 pad 0", 2, 2, 17, 7, 3, 0},
    {"row wider than 2 blocks of 4x4 tiles: 5x141 pad 1", 2, 2, 5, 141, 3, 1},
    {"row wider than 2 blocks of 4x4 tiles: 7x135 pad 0", 1, 3, 7, 135, 2, 0},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

void wg_check_small_shapes(const wg_variant *v)
{
    for (size_t i = 0; i < N_SHAPES; i++)
        wg_check_every_chunking(
            v,
            wg_dims(shapes[i].n, shapes[i].c, shapes[i].h, shapes[i].w, shapes[i].k, shapes[i].pad),
            shapes[i].name);
}

void wg_print_worst(const wg_variant *v)
{
    if (getenv("PTRAIN_WG_VERBOSE"))
        fprintf(stderr,
                "%s: largest fraction of the tolerance used: forward %.3g, din %.3g, "
                "dweight %.3g, dbias %.3g\n",
                v->name, worst[0], worst[1], worst[2], worst[3]);
}

void wg_check_null_gradients(const wg_variant *v)
{
    pt_conv_dims d = wg_dims(3, 3, 7, 5, 4, 1);
    wg_case t;
    wg_case_init(&t, d, 11);
    size_t ws_floats = v->workspace_size(&d, d.n);
    float *ws = xcalloc(ws_floats, sizeof(float));
    float *din = xcalloc(t.n_in, sizeof(float)), *dw = xcalloc(t.n_w, sizeof(float));
    float *db = xcalloc((size_t)d.k, sizeof(float));
    /* Only din. */
    v->backward(din, NULL, NULL, t.dout, t.in, t.w, &d, ws, ws_floats);
    cr_assert_leq(gc_max_rel_diff(din, t.ref_din, t.n_in), v->tol);
    /* Only dweight (the first layer); in is not even read for din. */
    v->backward(NULL, dw, NULL, t.dout, t.in, t.w, &d, ws, ws_floats);
    cr_assert_leq(gc_max_rel_diff(dw, t.ref_dw, t.n_w), dweight_tol(v, &d));
    /* Only dbias: nothing else is touched. */
    v->backward(NULL, NULL, db, t.dout, t.in, t.w, &d, ws, ws_floats);
    cr_assert_leq(gc_max_rel_diff(db, t.ref_db, (size_t)d.k), v->tol);
    cr_assert_leq(gc_max_rel_diff(dw, t.ref_dw, t.n_w), dweight_tol(v, &d));
    /* Nothing at all. */
    v->backward(NULL, NULL, NULL, t.dout, t.in, t.w, &d, ws, ws_floats);
    free(ws);
    free(din);
    free(dw);
    free(db);
    wg_case_free(&t);
}

void wg_check_accumulate_overwrite(const wg_variant *v)
{
    pt_conv_dims d = wg_dims(3, 2, 5, 7, 4, 1);
    wg_case t;
    wg_case_init(&t, d, 5);
    size_t ws_floats = v->workspace_size(&d, 1);
    float *ws = xcalloc(ws_floats, sizeof(float));
    float *din = xcalloc(t.n_in, sizeof(float)), *dw = xcalloc(t.n_w, sizeof(float));
    float *db = xcalloc((size_t)d.k, sizeof(float));
    v->backward(din, dw, db, t.dout, t.in, t.w, &d, ws, ws_floats);
    v->backward(din, dw, db, t.dout, t.in, t.w, &d, ws, ws_floats);
    /* Twice: parameter gradients doubled, din the same as once. */
    for (size_t j = 0; j < t.n_w; j++)
        cr_assert_float_eq(dw[j], 2.0f * t.ref_dw[j], 10 * v->tol * (1.0f + fabsf(t.ref_dw[j])),
                           "dw[%zu]", j);
    for (int k = 0; k < d.k; k++)
        cr_assert_float_eq(db[k], 2.0f * t.ref_db[k], 10 * v->tol * (1.0f + fabsf(t.ref_db[k])));
    cr_assert_leq(gc_max_rel_diff(din, t.ref_din, t.n_in), v->tol);
    free(ws);
    free(din);
    free(dw);
    free(db);
    wg_case_free(&t);
}

/* The backward pass is the gradient of the Winograd forward itself: central differences of
 * L = sum(out * dout) (linear, so no truncation error; tolerances as test_conv's). */
typedef struct fd_ctx {
    const wg_variant *v;
    const wg_case *t;
    float *in, *w, *b, *out, *ws;
    size_t ws_floats;
} fd_ctx;

static double fd_objective(void *ctx)
{
    fd_ctx *f = ctx;
    f->v->forward(f->out, f->in, f->w, f->b, &f->t->d, f->ws, f->ws_floats, NULL);
    return gc_dot(f->out, f->t->dout, f->t->n_out);
}

void wg_check_finite_differences(const wg_variant *v)
{
    for (int pad = 0; pad < 2; pad++) {
        pt_conv_dims d = wg_dims(2, 3, 7, 6, 4, pad);
        wg_case t;
        wg_case_init(&t, d, 21);
        fd_ctx f = {.v = v, .t = &t, .in = t.in, .w = t.w, .b = t.b};
        f.ws_floats = v->workspace_size(&d, 1);
        f.ws = xcalloc(f.ws_floats, sizeof(float));
        f.out = xcalloc(t.n_out, sizeof(float));
        float *din = xcalloc(t.n_in, sizeof(float)), *dw = xcalloc(t.n_w, sizeof(float));
        float *db = xcalloc((size_t)d.k, sizeof(float));
        v->backward(din, dw, db, t.dout, t.in, t.w, &d, f.ws, f.ws_floats);
        const char *p = pad ? "pad 1" : "pad 0";
        char what[64];
        snprintf(what, sizeof what, "%s %s: din", v->name, p);
        gc_check(what, fd_objective, &f, t.in, din, t.n_in, 1e-2f, 2e-3, 1e-3, 100000);
        snprintf(what, sizeof what, "%s %s: dweight", v->name, p);
        gc_check(what, fd_objective, &f, t.w, dw, t.n_w, 1e-2f, 2e-3, 1e-3, 100000);
        snprintf(what, sizeof what, "%s %s: dbias", v->name, p);
        gc_check(what, fd_objective, &f, t.b, db, (size_t)d.k, 1e-2f, 2e-3, 1e-3, 100000);
        free(f.ws);
        free(f.out);
        free(din);
        free(dw);
        free(db);
        wg_case_free(&t);
    }
}

void wg_check_empty_batch(const wg_variant *v)
{
    pt_conv_dims d = wg_dims(0, 2, 5, 5, 3, 1);
    float w[54], b[3] = {1, 2, 3}, dw[54] = {0}, db[3] = {0}, ws[1];
    gc_fill_normal(w, 54, 1, 1.0f);
    v->forward(NULL, NULL, w, b, &d, ws, 0, NULL);
    v->backward(NULL, dw, db, NULL, NULL, w, &d, ws, 0);
    for (int j = 0; j < 54; j++)
        cr_assert_eq(dw[j], 0.0f);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(db[k], 0.0f);
}
