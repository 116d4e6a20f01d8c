/* Convolution micro-benchmark: im2col+GEMM (pt_conv_*) against Winograd F(2x2,3x3)
 * (pt_winograd_*) and F(4x4,3x3) (pt_winograd4_*) on one 3x3 stride-1 layer shape, each with a
 * workspace for the whole batch (as the network sizes it). conv_bench N C H W K [REPEATS]
 * [--threads T] [--pad P] [--algo A] REPEATS (default 5) timed runs of each pass after one warm-up;
 * OpenBLAS on 1 thread unless
 * --threads; padding 1 unless --pad. Prints one line per algorithm (median times):
 *   conv N C H W K algo fwd_ms bwd_ms fwd_gflops bwd_gflops
 * bwd is dweight + din (no dbias). GFLOP/s are effective: the direct convolution's
 * 2*N*K*C*9*P*Q FLOPs per pass (twice that for bwd), whatever the algorithm really does. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/common.h"
#include "conv.h"
#include "winograd.h"
#include "winograd4.h"

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *alloc_floats(size_t n, float value)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "conv_bench: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = value * (float)((i * 7919) % 17) - 0.5f * value;
    return p;
}

typedef struct bench {
    pt_conv_dims d;
    float *in, *w, *b, *out, *dout, *din, *dw, *ws;
    size_t ws_floats;
} bench;

enum { ALGO_IM2COL, ALGO_WINOGRAD, ALGO_WINOGRAD4, ALGO_COUNT };
static const char *const algo_names[ALGO_COUNT] = {"im2col", "winograd", "winograd4"};

/* One pass of one algorithm, forward or backward. */
static void run_pass(bench *t, int algo, int backward)
{
    const pt_conv_dims *d = &t->d;
    if (algo == ALGO_IM2COL && !backward)
        pt_conv_forward(t->out, t->in, t->w, t->b, d, t->ws, t->ws_floats);
    else if (algo == ALGO_IM2COL)
        pt_conv_backward(t->din, t->dw, NULL, t->dout, t->in, t->w, d, t->ws, t->ws_floats);
    else if (algo == ALGO_WINOGRAD && !backward)
        pt_winograd_forward(t->out, t->in, t->w, t->b, d, t->ws, t->ws_floats, NULL);
    else if (algo == ALGO_WINOGRAD)
        pt_winograd_backward(t->din, t->dw, NULL, t->dout, t->in, t->w, d, t->ws, t->ws_floats);
    else if (!backward)
        pt_winograd4_forward(t->out, t->in, t->w, t->b, d, t->ws, t->ws_floats, NULL);
    else
        pt_winograd4_backward(t->din, t->dw, NULL, t->dout, t->in, t->w, d, t->ws, t->ws_floats);
}

/* Median seconds of repeats runs of one pass (an algorithm, forward or backward). */
static double time_pass(bench *t, int algo, int backward, int repeats)
{
    double *s = malloc((size_t)repeats * sizeof(double));
    if (!s)
        exit(1);
    for (int r = -1; r < repeats; r++) { /* r = -1: warm-up */
        double t0 = pt_now_seconds();
        run_pass(t, algo, backward);
        if (r >= 0)
            s[r] = pt_now_seconds() - t0;
    }
    qsort(s, (size_t)repeats, sizeof *s, compare);
    double m = s[repeats / 2];
    free(s);
    return m;
}

static int usage(void)
{
    fprintf(stderr, "usage: conv_bench N C H W K [REPEATS] [--threads T] [--pad 0|1] "
                    "[--algo im2col|winograd|winograd4]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int pos[6] = {0, 0, 0, 0, 0, 5}, npos = 0, threads = 1, pad = 1, only = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--algo") && i + 1 < argc) {
            const char *name = argv[++i];
            for (int a = 0; a < ALGO_COUNT; a++)
                if (!strcmp(name, algo_names[a]))
                    only = a;
            if (only < 0)
                return usage();
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pad") && i + 1 < argc)
            pad = atoi(argv[++i]);
        else if (npos < 6)
            pos[npos++] = atoi(argv[i]);
        else
            return usage();
    }
    if (npos < 5 || threads < 1 || pos[5] < 1)
        return usage();
    openblas_set_num_threads(threads);

    bench t;
    memset(&t, 0, sizeof t);
    t.d = (pt_conv_dims){.n = pos[0],
                         .c = pos[1],
                         .h = pos[2],
                         .w = pos[3],
                         .k = pos[4],
                         .r = 3,
                         .s = 3,
                         .stride = 1,
                         .pad = pad};
    pt_error err;
    if (pt_conv_check(&t.d, &err) != PT_OK) {
        fprintf(stderr, "conv_bench: %s\n", err.msg);
        return 2;
    }
    if (!pt_winograd_supported(&t.d)) {
        fprintf(stderr, "conv_bench: not a shape Winograd supports\n");
        return 2;
    }
    const pt_conv_dims *d = &t.d;
    const size_t P = (size_t)pt_conv_out_h(d), Q = (size_t)pt_conv_out_w(d);
    const size_t n_in = (size_t)d->n * d->c * d->h * d->w, n_out = (size_t)d->n * d->k * P * Q;
    const size_t n_w = (size_t)d->k * d->c * 9;
    const size_t ws_conv = pt_conv_workspace_size(d, d->n);
    const size_t ws_wino = pt_winograd_workspace_size(d, d->n);
    const size_t ws_wino4 = pt_winograd4_workspace_size(d, d->n);
    t.ws_floats = ws_conv > ws_wino ? ws_conv : ws_wino;
    if (ws_wino4 > t.ws_floats)
        t.ws_floats = ws_wino4;
    t.in = alloc_floats(n_in, 1.0f);
    t.w = alloc_floats(n_w, 0.1f);
    t.b = alloc_floats((size_t)d->k, 0.1f);
    t.out = alloc_floats(n_out, 0.0f);
    t.dout = alloc_floats(n_out, 1.0f);
    t.din = alloc_floats(n_in, 0.0f);
    t.dw = alloc_floats(n_w, 0.0f);
    t.ws = alloc_floats(t.ws_floats, 0.0f);

    const double flops = 2.0 * d->n * d->k * d->c * 9.0 * (double)P * (double)Q;
    const int repeats = pos[5];
    for (int algo = 0; algo < ALGO_COUNT; algo++) {
        if (only >= 0 && algo != only)
            continue;
        double f = time_pass(&t, algo, 0, repeats), b = time_pass(&t, algo, 1, repeats);
        printf("conv %d %d %d %d %d %s %.3f %.3f %.2f %.2f\n", d->n, d->c, d->h, d->w, d->k,
               algo_names[algo], f * 1e3, b * 1e3, flops / f / 1e9, 2.0 * flops / b / 1e9);
    }
    free(t.in);
    free(t.w);
    free(t.b);
    free(t.out);
    free(t.dout);
    free(t.din);
    free(t.dw);
    free(t.ws);
    return 0;
}
