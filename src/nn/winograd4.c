/* Winograd F(4x4,3x3) convolution: transforms in C, the 36 products as GEMMs (see winograd4.h).
 * Compiled once per instruction set (winograd4_kernels.h); the API at the end only once.
 *
 * Matrices (F(4,3), Lavin & Gray 2015, interpolation points 0, 1, -1, 2, -2 and infinity; the
 * unscaled ones), for cross-correlation as PyTorch's Conv2d:
 *   B^T = [4  0 -5  0  1  0]    G = [ 1/4     0     0  ]    A^T = [1  1  1  1  1  0]
 *         [0 -4 -4  1  1  0]        [-1/6  -1/6  -1/6 ]          [0  1 -1  2 -2  0]
 *         [0  4 -4 -1  1  0]        [-1/6   1/6  -1/6 ]          [0  1  1  4  4  0]
 *         [0 -2 -1  2  1  0]        [1/24  1/12  1/6  ]          [0  1 -1  8 -8  1]
 *         [0  2 -1 -2  1  0]        [1/24 -1/12  1/6  ]
 *         [0  4  0 -5  0  1]        [ 0      0     1  ]
 * Tile (th, tw) of an image produces outputs (4th..4th+3, 4tw..4tw+3) from the 6x6 input patch at
 * rows 4th-pad..4th-pad+5, columns 4tw-pad..4tw-pad+5 (zero outside the image); patches of
 * neighbouring tiles overlap by 2 rows or columns.
 *
 * Workspace and chunks as winograd.c, with 36 matrices instead of 16 (element xi = 6a+b of the
 * 6x6 transform is matrix xi):
 *   U  [36][K][C], dU [36][K][C], scratch, V [36][C][ldT], M [36][K][ldT]
 *   forward   M[xi] = U[xi] V[xi];  backward  dU[xi] += dM[xi] V[xi]^T,  dV[xi] = U[xi]^T dM[xi]
 * then dweight += G^T dU G and din = the adjoint of the input transform (each patch's B dV B^T
 * added back into the input pixels it came from, padding dropped).
 *
 * The transforms work on one row of tiles of one plane at a time and are separable. The vertical
 * half runs over the row's columns split by column mod 4 ("phases"), so that the horizontal half
 * reads tile tw's columns 4tw..4tw+5 as p0[tw], p1[tw], p2[tw], p3[tw], p0[tw+1], p1[tw+1], all
 * unit stride. Every loop over tiles or columns runs in blocks of WG_LANES (wg_common.h) with a
 * fixed trip count and a remainder, each output stream through its own restrict pointer; image
 * edges take scalar code with bounds checks. */
#include "winograd4.h"
#include "winograd4_kernels.h"

#include <stdint.h>
#include <string.h>

#include "wg_common.h"

/* Chunks are capped at about WG4_CHUNK_TILES tiles and WG4_CHUNK_FLOATS floats of V and M,
 * whichever is smaller (but at least one row of tiles); see winograd4.h for the measurements. */
#define WG4_CHUNK_TILES  256
#define WG4_CHUNK_FLOATS ((size_t)1 << 20)

typedef struct wg4_geom {
    int C, K, H, W, P, Q, pad;
    int tiles_h, tiles_w; /* tiles per image column and row */
    int tw1;              /* tiles_w + 1: entries of each phase array */
    size_t kc;            /* K*C: the size of one transformed filter matrix */
    size_t us;            /* stride between the 36 filter matrices, padded(kc) */
    size_t scratch;       /* floats of scratch */
    size_t per_row;       /* floats of V and M per row of tiles */
    size_t fixed;         /* floats of workspace besides per_row per row of tiles */
} wg4_geom;

/* Floats of padding padded() may add to the V and M of a chunk (2 * 36 * 31), and V's alignment
 * to 64 bytes (15). */
#define WG4_SLACK (2 * 36 * 32)

/* Phase arrays of scratch per row of tiles: 24 for a transform's vertical half (6 rows x 4
 * phases), 16 more for din's finished rows. */
#define WG4_COL_ARRAYS 40

static wg4_geom geometry(const pt_conv_dims *d)
{
    wg4_geom g;
    g.C = d->c;
    g.K = d->k;
    g.H = d->h;
    g.W = d->w;
    g.P = pt_conv_out_h(d);
    g.Q = pt_conv_out_w(d);
    g.pad = d->pad;
    g.tiles_h = (g.P + 3) / 4;
    g.tiles_w = (g.Q + 3) / 4;
    g.tw1 = g.tiles_w + 1;
    g.kc = (size_t)g.K * g.C;
    g.us = padded(g.kc);
    size_t zero = (size_t)(g.W > g.Q ? g.W : g.Q);
    size_t s = zero + 4 * (size_t)g.tiles_w + (WG4_COL_ARRAYS + 8 * (size_t)g.C) * g.tw1;
    g.scratch = (s + 15) & ~(size_t)15;
    g.per_row = (size_t)g.tiles_w * 36 * ((size_t)g.C + g.K);
    /* U, dU, scratch, slack, and the row strides' padding: at most 15 floats per row of V and M */
    g.fixed = 72 * g.us + g.scratch + WG4_SLACK + 15 * 36 * ((size_t)g.C + g.K);
    return g;
}

#include <stdlib.h> /* EXPERIMENT */
static size_t cap_rows(const wg4_geom *g)
{
    const char *a = getenv("WG4_TILES"), *b = getenv("WG4_FLOATS");
    return wg_cap_rows(g->per_row, g->tiles_w, b ? (size_t)atol(b) : WG4_CHUNK_FLOATS,
                       a ? (size_t)atol(a) : WG4_CHUNK_TILES);
}

/* --- the one-dimensional transforms (6 or 4 values of one tile) ------------------------------ */

/* o = B^T i (6 -> 6) */
#define WG4_BT(o, i)                                                                               \
    do {                                                                                           \
        const float a_ = (i)[4] - 4.0f * (i)[2], b_ = (i)[3] - 4.0f * (i)[1];                      \
        const float c_ = (i)[4] - (i)[2], e_ = 2.0f * ((i)[3] - (i)[1]);                           \
        (o)[0] = 4.0f * (i)[0] - 5.0f * (i)[2] + (i)[4];                                           \
        (o)[1] = a_ + b_;                                                                          \
        (o)[2] = a_ - b_;                                                                          \
        (o)[3] = c_ + e_;                                                                          \
        (o)[4] = c_ - e_;                                                                          \
        (o)[5] = 4.0f * (i)[1] - 5.0f * (i)[3] + (i)[5];                                           \
    } while (0)

/* o = B i (6 -> 6): the adjoint of WG4_BT */
#define WG4_B(o, i)                                                                                \
    do {                                                                                           \
        const float s12_ = (i)[1] + (i)[2], d12_ = (i)[1] - (i)[2];                                \
        const float s34_ = (i)[3] + (i)[4], d34_ = (i)[3] - (i)[4];                                \
        (o)[0] = 4.0f * (i)[0];                                                                    \
        (o)[1] = 4.0f * ((i)[5] - d12_) - 2.0f * d34_;                                             \
        (o)[2] = -5.0f * (i)[0] - 4.0f * s12_ - s34_;                                              \
        (o)[3] = d12_ + 2.0f * d34_ - 5.0f * (i)[5];                                               \
        (o)[4] = (i)[0] + s12_ + s34_;                                                             \
        (o)[5] = (i)[5];                                                                           \
    } while (0)

/* o = A^T i (6 -> 4) */
#define WG4_AT(o, i)                                                                               \
    do {                                                                                           \
        const float s1_ = (i)[1] + (i)[2], d1_ = (i)[1] - (i)[2];                                  \
        const float s2_ = (i)[3] + (i)[4], d2_ = (i)[3] - (i)[4];                                  \
        (o)[0] = (i)[0] + s1_ + s2_;                                                               \
        (o)[1] = d1_ + 2.0f * d2_;                                                                 \
        (o)[2] = s1_ + 4.0f * s2_;                                                                 \
        (o)[3] = d1_ + 8.0f * d2_ + (i)[5];                                                        \
    } while (0)

/* o = A i (4 -> 6): the adjoint of WG4_AT */
#define WG4_A(o, i)                                                                                \
    do {                                                                                           \
        const float p_ = (i)[0] + (i)[2], q_ = (i)[1] + (i)[3];                                    \
        const float p2_ = (i)[0] + 4.0f * (i)[2], q2_ = 2.0f * (i)[1] + 8.0f * (i)[3];             \
        (o)[0] = (i)[0];                                                                           \
        (o)[1] = p_ + q_;                                                                          \
        (o)[2] = p_ - q_;                                                                          \
        (o)[3] = p2_ + q2_;                                                                        \
        (o)[4] = p2_ - q2_;                                                                        \
        (o)[5] = (i)[3];                                                                           \
    } while (0)

/* o = G i (3 -> 6) */
static void filter_1d(float o[6], const float i[3])
{
    o[0] = 0.25f * i[0];
    o[1] = (-1.0f / 6.0f) * (i[0] + i[1] + i[2]);
    o[2] = (-1.0f / 6.0f) * (i[0] - i[1] + i[2]);
    o[3] = (1.0f / 24.0f) * i[0] + (1.0f / 12.0f) * i[1] + (1.0f / 6.0f) * i[2];
    o[4] = (1.0f / 24.0f) * i[0] - (1.0f / 12.0f) * i[1] + (1.0f / 6.0f) * i[2];
    o[5] = i[2];
}

/* o = G^T i (6 -> 3): the adjoint of filter_1d */
static void filter_1d_adjoint(float o[3], const float i[6])
{
    const float s = (-1.0f / 6.0f) * (i[1] + i[2]), d = (1.0f / 6.0f) * (i[2] - i[1]);
    o[0] = 0.25f * i[0] + s + (1.0f / 24.0f) * (i[3] + i[4]);
    o[1] = d + (1.0f / 12.0f) * (i[3] - i[4]);
    o[2] = s + (1.0f / 6.0f) * (i[3] + i[4]) + i[5];
}

/* --- filter transform ------------------------------------------------------------------------ */

/* u[xi*us + f] = (G g_f G^T)[xi] for the kc filters g_f (3x3 each, consecutive in w). */
static void filter_transform(float *restrict u, size_t us, const float *restrict w, size_t kc)
{
    for (size_t f = 0; f < kc; f++) {
        const float *g = w + 9 * f;
        float t[3][6]; /* (G g)^T: column s of g through G */
        for (int s = 0; s < 3; s++) {
            const float col[3] = {g[s], g[3 + s], g[6 + s]};
            filter_1d(t[s], col);
        }
        for (int a = 0; a < 6; a++) {
            const float row[3] = {t[0][a], t[1][a], t[2][a]};
            float o[6];
            filter_1d(o, row);
            for (int b = 0; b < 6; b++)
                u[(6 * a + b) * us + f] = o[b];
        }
    }
}

/* dw_f += G^T du_f G: the adjoint of filter_transform. */
static void filter_adjoint(float *restrict dw, const float *restrict du, size_t us, size_t kc)
{
    for (size_t f = 0; f < kc; f++) {
        float z[6][3]; /* du G */
        for (int a = 0; a < 6; a++) {
            float row[6];
            for (int b = 0; b < 6; b++)
                row[b] = du[(6 * a + b) * us + f];
            filter_1d_adjoint(z[a], row);
        }
        float *g = dw + 9 * f;
        for (int s = 0; s < 3; s++) {
            const float col[6] = {z[0][s], z[1][s], z[2][s], z[3][s], z[4][s], z[5][s]};
            float o[3];
            filter_1d_adjoint(o, col);
            g[s] += o[0];
            g[3 + s] += o[1];
            g[6 + s] += o[2];
        }
    }
}

/* --- input transform ------------------------------------------------------------------------- */

/* Column arrays: phase p (column mod 4) of transformed row m is col[(4m + p) * ld + j], for
 * columns 4j + p of the tiles' coordinates (image column 4j + p - pad). Kernels below loop over
 * l < n for j = j0 + l, called with n = WG_LANES for the blocks and the remainder. */

/* Tiles' column indices j of phase p inside the image: [lo, hi). */
static void interior_phase(const wg4_geom *g, int p, int *lo, int *hi)
{
    const int first = g->pad > p ? 1 : 0;   /* 4j + p - pad >= 0 */
    const int last = g->W - 1 + g->pad - p; /* 4j <= last */
    int b = last < 0 ? 0 : last / 4 + 1;
    if (b > g->tw1)
        b = g->tw1;
    *lo = first < b ? first : b;
    *hi = b;
}

/* B^T down the 6 rows r0..r5 at columns x = 4j + off, to o0..o5 (one phase). */
WG_INLINE void vert_in(float *restrict o0, float *restrict o1, float *restrict o2,
                       float *restrict o3, float *restrict o4, float *restrict o5,
                       const float *restrict r0, const float *restrict r1, const float *restrict r2,
                       const float *restrict r3, const float *restrict r4, const float *restrict r5,
                       int off, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l, x = 4 * j + off;
        const float i[6] = {r0[x], r1[x], r2[x], r3[x], r4[x], r5[x]};
        float o[6];
        WG4_BT(o, i);
        o0[j] = o[0];
        o1[j] = o[1];
        o2[j] = o[2];
        o3[j] = o[3];
        o4[j] = o[4];
        o5[j] = o[5];
    }
}

/* B on the right of transformed row m (its 4 phases q): tile j's V elements (m, 0..5) to v0..v5. */
WG_INLINE void horiz_in(float *restrict v0, float *restrict v1, float *restrict v2,
                        float *restrict v3, float *restrict v4, float *restrict v5,
                        const float *restrict q0, const float *restrict q1,
                        const float *restrict q2, const float *restrict q3, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        const float i[6] = {q0[j], q1[j], q2[j], q3[j], q0[j + 1], q1[j + 1]};
        float o[6];
        WG4_BT(o, i);
        v0[j] = o[0];
        v1[j] = o[1];
        v2[j] = o[2];
        v3[j] = o[3];
        v4[j] = o[4];
        v5[j] = o[5];
    }
}

/* V entries of one row of tiles of one input plane: tile tw's 36 values at v[xi*vs + tw].
 * y0 = 4*th - pad is the patches' first input row; col is scratch for 24*tw1 floats. */
static void input_row(float *v, size_t vs, const float *plane, int y0, const wg4_geom *g,
                      float *col, const float *zrow)
{
    const int W = g->W, pad = g->pad, ld = g->tw1;
    const float *r[6];
    for (int i = 0; i < 6; i++) {
        const int y = y0 + i;
        r[i] = y >= 0 && y < g->H ? plane + (size_t)y * W : zrow;
    }
    for (int p = 0; p < 4; p++) {
        float *o0 = col + p * ld, *o1 = o0 + 4 * ld, *o2 = o1 + 4 * ld, *o3 = o2 + 4 * ld;
        float *o4 = o3 + 4 * ld, *o5 = o4 + 4 * ld;
        int lo, hi;
        interior_phase(g, p, &lo, &hi);
        for (int j = 0; j < ld; j++) {
            if (j == lo)
                j = hi; /* the interior is done below */
            if (j == ld)
                break;
            const int x = 4 * j + p - pad;
            float i[6], o[6];
            for (int k = 0; k < 6; k++)
                i[k] = x >= 0 && x < W ? r[k][x] : 0.0f;
            WG4_BT(o, i);
            o0[j] = o[0];
            o1[j] = o[1];
            o2[j] = o[2];
            o3[j] = o[3];
            o4[j] = o[4];
            o5[j] = o[5];
        }
        WG_BLOCKS(lo, hi, vert_in, o0, o1, o2, o3, o4, o5, r[0], r[1], r[2], r[3], r[4], r[5],
                  p - pad);
    }
    for (int m = 0; m < 6; m++) {
        float *v0 = v + (6 * m) * vs, *v1 = v0 + vs, *v2 = v1 + vs, *v3 = v2 + vs;
        float *v4 = v3 + vs, *v5 = v4 + vs;
        const float *q = col + 4 * m * ld;
        WG_BLOCKS(0, g->tiles_w, horiz_in, v0, v1, v2, v3, v4, v5, q, q + ld, q + 2 * ld,
                  q + 3 * ld);
    }
}

/* Every input plane's V for chunk rows [g0, g0 + rows): V (36, C, ldt). */
static void input_transform(float *v, size_t vs, const float *in, const wg4_geom *g, int g0,
                            int rows, size_t ldt, float *col, const float *zrow)
{
    const size_t hw = (size_t)g->H * g->W;
    for (int c = 0; c < g->C; c++)
        for (int r = 0; r < rows; r++) {
            const int gi = g0 + r, n = gi / g->tiles_h, th = gi % g->tiles_h;
            input_row(v + (size_t)c * ldt + (size_t)r * g->tiles_w, vs,
                      in + ((size_t)n * g->C + c) * hw, 4 * th - g->pad, g, col, zrow);
        }
}

/* --- the input transform's adjoint (din) ----------------------------------------------------- */

/* B on the right of dV's row m, folded into phases: column 4j + p of the patches' row m gets
 * tile j's element p and, for p < 2, tile j-1's element p + 4 (the 2 overlapping columns).
 * cur: tile j exists (j < tiles_w); prev: tile j-1 exists (j > 0). */
WG_INLINE void horiz_adj(float *restrict q0, float *restrict q1, float *restrict q2,
                         float *restrict q3, const float *restrict dv, size_t vs, int j0, int n,
                         int cur, int prev)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        float h[6] = {0, 0, 0, 0, 0, 0}, hp[6] = {0, 0, 0, 0, 0, 0};
        if (cur) {
            const float i[6] = {dv[j],          dv[vs + j],     dv[2 * vs + j],
                                dv[3 * vs + j], dv[4 * vs + j], dv[5 * vs + j]};
            WG4_B(h, i);
        }
        if (prev) {
            const float i[6] = {dv[j - 1],          dv[vs + j - 1],     dv[2 * vs + j - 1],
                                dv[3 * vs + j - 1], dv[4 * vs + j - 1], dv[5 * vs + j - 1]};
            WG4_B(hp, i);
        }
        q0[j] = h[0] + hp[4];
        q1[j] = h[1] + hp[5];
        q2[j] = h[2];
        q3[j] = h[3];
    }
}

/* B down the 6 rows of one flat run of phase columns (n entries from j0): rows 0, 1 plus the
 * carry (rows 4, 5 of the row of tiles above) to f0, f1, rows 2, 3 to f2, f3, rows 4, 5 into the
 * carry. */
WG_INLINE void vert_adj(float *restrict f0, float *restrict f1, float *restrict f2,
                        float *restrict f3, float *restrict c4, float *restrict c5,
                        const float *restrict h0, const float *restrict h1,
                        const float *restrict h2, const float *restrict h3,
                        const float *restrict h4, const float *restrict h5, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        const float i[6] = {h0[j], h1[j], h2[j], h3[j], h4[j], h5[j]};
        float o[6];
        WG4_B(o, i);
        f0[j] = o[0] + c4[j];
        f1[j] = o[1] + c5[j];
        f2[j] = o[2];
        f3[j] = o[3];
        c4[j] = o[4];
        c5[j] = o[5];
    }
}

/* row[x0 + 4j + p] = q_p[j] */
WG_INLINE void store_phases(float *restrict row, const float *restrict q0, const float *restrict q1,
                            const float *restrict q2, const float *restrict q3, int x0, int j0,
                            int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l, x = x0 + 4 * j;
        row[x] = q0[j];
        row[x + 1] = q1[j];
        row[x + 2] = q2[j];
        row[x + 3] = q3[j];
    }
}

/* Input row y of a din plane from its 4 phase arrays (q, stride ld); nothing if y is padding. */
static void store_row(float *plane, int y, const float *q, const wg4_geom *g)
{
    const int W = g->W, pad = g->pad, ld = g->tw1;
    if (y < 0 || y >= g->H)
        return;
    float *row = plane + (size_t)y * W;
    /* j whose 4 columns 4j - pad .. 4j + 3 - pad are all inside the image */
    int lo = pad, hi = (W + pad) / 4, j;
    if (hi > ld)
        hi = ld;
    if (lo > hi)
        lo = hi;
    for (j = 0; j < ld; j++) {
        if (j == lo)
            j = hi;
        if (j == ld)
            break;
        for (int p = 0; p < 4; p++) {
            const int x = 4 * j + p - pad;
            if (x >= 0 && x < W)
                row[x] = q[p * ld + j];
        }
    }
    WG_BLOCKS(lo, hi, store_phases, row, q, q + ld, q + 2 * ld, q + 3 * ld, -pad);
}

/* The adjoint of input_row for row of tiles th of one din plane, whose dV is at dv[xi*vs + tw].
 * Each din row is written once, when the last row of tiles that reads it is done: rows 4, 5 of
 * the patches of th are rows 0, 1 of th+1's and wait in carry (8*tw1 floats per plane, set up by
 * th = 0). col is scratch for 40*tw1 floats. */
static void input_row_adjoint(float *plane, int th, const float *dv, size_t vs, const wg4_geom *g,
                              float *carry, float *col)
{
    const int tw = g->tiles_w, ld = g->tw1, y0 = 4 * th - g->pad;
    const size_t run = 4 * (size_t)ld; /* one row's 4 phases, contiguous */
    float *h = col, *f = col + 6 * run;
    if (th == 0)
        memset(carry, 0, 2 * run * sizeof(float));
    for (int m = 0; m < 6; m++) {
        float *q = h + m * run;
        const float *d = dv + (6 * m) * vs;
        int j;
        horiz_adj(q, q + ld, q + 2 * ld, q + 3 * ld, d, vs, 0, 1, 1, 0);
        for (j = 1; j + WG_LANES <= tw; j += WG_LANES)
            horiz_adj(q, q + ld, q + 2 * ld, q + 3 * ld, d, vs, j, WG_LANES, 1, 1);
        horiz_adj(q, q + ld, q + 2 * ld, q + 3 * ld, d, vs, j, tw - j, 1, 1);
        horiz_adj(q, q + ld, q + 2 * ld, q + 3 * ld, d, vs, tw, 1, 0, 1);
    }
    WG_BLOCKS(0, (int)run, vert_adj, f, f + run, f + 2 * run, f + 3 * run, carry, carry + run, h,
              h + run, h + 2 * run, h + 3 * run, h + 4 * run, h + 5 * run);
    for (int i = 0; i < 4; i++)
        store_row(plane, y0 + i, f + i * run, g);
    if (th == g->tiles_h - 1) { /* no row of tiles below: rows 4 and 5 are complete */
        store_row(plane, y0 + 4, carry, g);
        store_row(plane, y0 + 5, carry + run, g);
    }
}

/* --- output transform ------------------------------------------------------------------------ */

/* Y = A^T m A + b for tiles j0..j0+n-1 (m_xi of tile j at m[xi*ms + j]), written to columns
 * 4j..4j+3 of the output rows o0..o3. */
WG_INLINE void out_tiles(float *restrict o0, float *restrict o1, float *restrict o2,
                         float *restrict o3, const float *restrict m, size_t ms, float b, int j0,
                         int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        float s[4][6]; /* A^T m: rows 0..3, columns 0..5 */
        for (int c = 0; c < 6; c++) {
            const float i[6] = {m[c * ms + j],        m[(6 + c) * ms + j],  m[(12 + c) * ms + j],
                                m[(18 + c) * ms + j], m[(24 + c) * ms + j], m[(30 + c) * ms + j]};
            float o[4];
            WG4_AT(o, i);
            s[0][c] = o[0];
            s[1][c] = o[1];
            s[2][c] = o[2];
            s[3][c] = o[3];
        }
        float y[4][4];
        for (int r = 0; r < 4; r++)
            WG4_AT(y[r], s[r]);
        for (int c = 0; c < 4; c++) {
            o0[4 * j + c] = y[0][c] + b;
            o1[4 * j + c] = y[1][c] + b;
            o2[4 * j + c] = y[2][c] + b;
            o3[4 * j + c] = y[3][c] + b;
        }
    }
}

/* Output rows 4th..4th+3 of one plane from the row of tiles whose M is at m[xi*ms + tw]; a row past
 * P goes to sink (4*tiles_w floats); with Q not a multiple of 4 the last tile's extra columns are
 * dropped. */
static void output_row(float *plane, int th, const float *m, size_t ms, float b, const wg4_geom *g,
                       float *sink)
{
    const int Q = g->Q, full = Q / 4, rest = Q % 4;
    float *o[4];
    for (int r = 0; r < 4; r++)
        o[r] = 4 * th + r < g->P ? plane + (size_t)(4 * th + r) * Q : sink;
    WG_BLOCKS(0, full, out_tiles, o[0], o[1], o[2], o[3], m, ms, b);
    if (rest) { /* the last tile is partial: compute it into a 4x4 buffer */
        float y[4][4];
        out_tiles(y[0], y[1], y[2], y[3], m + full, ms, b, 0, 1);
        for (int r = 0; r < 4; r++)
            memcpy(o[r] + 4 * full, y[r], (size_t)rest * sizeof(float));
    }
}

/* Backward, first half of dM = A dY A^T: A down the 4 rows d0..d3 at columns x = 4j + c, to
 * o0..o5 (one phase c). */
WG_INLINE void dout_vert(float *restrict o0, float *restrict o1, float *restrict o2,
                         float *restrict o3, float *restrict o4, float *restrict o5,
                         const float *restrict d0, const float *restrict d1,
                         const float *restrict d2, const float *restrict d3, int c, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l, x = 4 * j + c;
        const float i[4] = {d0[x], d1[x], d2[x], d3[x]};
        float o[6];
        WG4_A(o, i);
        o0[j] = o[0];
        o1[j] = o[1];
        o2[j] = o[2];
        o3[j] = o[3];
        o4[j] = o[4];
        o5[j] = o[5];
    }
}

/* Second half: A^T on the right of row a (its 4 phases q), to dM elements (a, 0..5). */
WG_INLINE void dout_horiz(float *restrict m0, float *restrict m1, float *restrict m2,
                          float *restrict m3, float *restrict m4, float *restrict m5,
                          const float *restrict q0, const float *restrict q1,
                          const float *restrict q2, const float *restrict q3, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        const float i[4] = {q0[j], q1[j], q2[j], q3[j]};
        float o[6];
        WG4_A(o, i);
        m0[j] = o[0];
        m1[j] = o[1];
        m2[j] = o[2];
        m3[j] = o[3];
        m4[j] = o[4];
        m5[j] = o[5];
    }
}

/* dM of one row of tiles of one dout plane (rows 4th..4th+3; a row past P reads zrow, a column
 * past Q is zero), tile tw's 36 values to dm[xi*ms + tw]; col is scratch for 24*tw1 floats. */
static void dout_row(float *dm, size_t ms, const float *plane, int th, const wg4_geom *g,
                     const float *zrow, float *col)
{
    const int Q = g->Q, full = Q / 4, rest = Q % 4, ld = g->tw1;
    const float *d[4];
    for (int r = 0; r < 4; r++)
        d[r] = 4 * th + r < g->P ? plane + (size_t)(4 * th + r) * Q : zrow;
    float last[4][4] = {{0}}; /* the partial last tile, padded with zero columns */
    if (rest)
        for (int r = 0; r < 4; r++)
            memcpy(last[r], d[r] + 4 * full, (size_t)rest * sizeof(float));
    for (int c = 0; c < 4; c++) {
        float *o0 = col + c * ld, *o1 = o0 + 4 * ld, *o2 = o1 + 4 * ld, *o3 = o2 + 4 * ld;
        float *o4 = o3 + 4 * ld, *o5 = o4 + 4 * ld;
        WG_BLOCKS(0, full, dout_vert, o0, o1, o2, o3, o4, o5, d[0], d[1], d[2], d[3], c);
        if (rest)
            dout_vert(o0 + full, o1 + full, o2 + full, o3 + full, o4 + full, o5 + full, last[0],
                      last[1], last[2], last[3], c, 0, 1);
    }
    for (int a = 0; a < 6; a++) {
        float *m0 = dm + (6 * a) * ms, *m1 = m0 + ms, *m2 = m1 + ms, *m3 = m2 + ms;
        float *m4 = m3 + ms, *m5 = m4 + ms;
        const float *q = col + 4 * a * ld;
        WG_BLOCKS(0, g->tiles_w, dout_horiz, m0, m1, m2, m3, m4, m5, q, q + ld, q + 2 * ld,
                  q + 3 * ld);
    }
}

/* --- forward and backward -------------------------------------------------------------------- */

typedef struct wg4_ws {
    float *u, *du, *zrow, *sink, *col, *carry, *v, *m;
} wg4_ws;

static wg4_ws carve(const wg4_geom *g, float *ws, int rows)
{
    wg4_ws p;
    const size_t t = (size_t)rows * g->tiles_w, zero = (size_t)(g->W > g->Q ? g->W : g->Q);
    p.u = ws;
    p.du = ws + 36 * g->us;
    p.zrow = ws + 72 * g->us;
    p.sink = p.zrow + zero;
    p.col = p.sink + 4 * (size_t)g->tiles_w;
    p.carry = p.col + WG4_COL_ARRAYS * (size_t)g->tw1;
    p.v = ws + 72 * g->us + g->scratch;
    p.v += (16 - ((uintptr_t)p.v / sizeof(float)) % 16) % 16; /* to 64 bytes (ws holds floats) */
    p.m = p.v + 36 * padded((size_t)g->C * row_stride((int)t));
    memset(p.zrow, 0, zero * sizeof(float));
    return p;
}

/* The chunk starting at row of tiles g0: its rows, T and the strides of V and M. */
typedef struct wg4_chunk {
    int rows, T;
    size_t ldt, vs, ms;
} wg4_chunk;

static wg4_chunk chunk_at(const wg4_geom *g, int g0, int total, int rows_max)
{
    wg4_chunk k;
    k.rows = total - g0 < rows_max ? total - g0 : rows_max;
    k.T = k.rows * g->tiles_w;
    k.ldt = row_stride(k.T);
    k.vs = padded((size_t)g->C * k.ldt);
    k.ms = padded((size_t)g->K * k.ldt);
    return k;
}

static int rows_per_chunk(const wg4_geom *g, int n, size_t ws_floats)
{
    return wg_chunk_rows(g->fixed, g->per_row, g->tiles_h, g->tiles_w, cap_rows(g), n, ws_floats);
}

static void forward(float *out, const float *in, const float *weight, const float *bias,
                    const pt_conv_dims *d, float *ws, size_t ws_floats)
{
    if (d->n == 0)
        return;
    const wg4_geom g = geometry(d);
    const size_t pq = (size_t)g.P * g.Q;
    const int rows_max = rows_per_chunk(&g, d->n, ws_floats), total = d->n * g.tiles_h;
    wg4_ws p = carve(&g, ws, rows_max);
    filter_transform(p.u, g.us, weight, g.kc);

    for (int g0 = 0; g0 < total; g0 += rows_max) {
        const wg4_chunk ch = chunk_at(&g, g0, total, rows_max);
        input_transform(p.v, ch.vs, in, &g, g0, ch.rows, ch.ldt, p.col, p.zrow);
        for (int xi = 0; xi < 36; xi++)
            gemm_overwrite(CblasNoTrans, g.K, ch.T, g.C, p.u + xi * g.us, g.C, p.v + xi * ch.vs,
                           (int)ch.ldt, p.m + xi * ch.ms, (int)ch.ldt);
        for (int k = 0; k < g.K; k++)
            for (int r = 0; r < ch.rows; r++) {
                const int gi = g0 + r, n = gi / g.tiles_h, th = gi % g.tiles_h;
                output_row(out + ((size_t)n * g.K + k) * pq, th,
                           p.m + (size_t)k * ch.ldt + (size_t)r * g.tiles_w, ch.ms,
                           bias ? bias[k] : 0.0f, &g, p.sink);
            }
    }
}

/* dM of a chunk from dout, into M. */
static void dout_transform(const wg4_ws *p, const wg4_chunk *ch, const float *dout,
                           const wg4_geom *g, int g0)
{
    const size_t pq = (size_t)g->P * g->Q;
    for (int k = 0; k < g->K; k++)
        for (int r = 0; r < ch->rows; r++) {
            const int gi = g0 + r, n = gi / g->tiles_h, th = gi % g->tiles_h;
            dout_row(p->m + (size_t)k * ch->ldt + (size_t)r * g->tiles_w, ch->ms,
                     dout + ((size_t)n * g->K + k) * pq, th, g, p->zrow, p->col);
        }
}

/* din of a chunk from dM: dV = U^T dM into V, then the input transform's adjoint. */
static void din_from_dm(float *din, const wg4_ws *p, const wg4_chunk *ch, const wg4_geom *g, int g0)
{
    const size_t hw = (size_t)g->H * g->W;
    for (int xi = 0; xi < 36; xi++)
        gemm_overwrite(CblasTrans, g->C, ch->T, g->K, p->u + xi * g->us, g->C, p->m + xi * ch->ms,
                       (int)ch->ldt, p->v + xi * ch->vs, (int)ch->ldt);
    for (int c = 0; c < g->C; c++)
        for (int r = 0; r < ch->rows; r++) {
            const int gi = g0 + r, n = gi / g->tiles_h, th = gi % g->tiles_h;
            input_row_adjoint(din + ((size_t)n * g->C + c) * hw, th,
                              p->v + (size_t)c * ch->ldt + (size_t)r * g->tiles_w, ch->vs, g,
                              p->carry + (size_t)c * 8 * g->tw1, p->col);
        }
}

static void backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                     const float *weight, const pt_conv_dims *d, float *ws, size_t ws_floats)
{
    const wg4_geom g = geometry(d);
    if (dbias)
        pt_conv_bias_backward(dbias, dout, d->n, g.K, (size_t)g.P * g.Q);
    if ((!din && !dweight) || d->n == 0)
        return;

    const int rows_max = rows_per_chunk(&g, d->n, ws_floats), total = d->n * g.tiles_h;
    wg4_ws p = carve(&g, ws, rows_max);
    if (din)
        filter_transform(p.u, g.us, weight, g.kc);
    if (dweight)
        memset(p.du, 0, 36 * g.us * sizeof(float));

    for (int g0 = 0; g0 < total; g0 += rows_max) {
        const wg4_chunk ch = chunk_at(&g, g0, total, rows_max);
        dout_transform(&p, &ch, dout, &g, g0);
        if (dweight) {
            input_transform(p.v, ch.vs, in, &g, g0, ch.rows, ch.ldt, p.col, p.zrow);
            for (int xi = 0; xi < 36; xi++)
                gemm_accumulate_bt(g.K, g.C, ch.T, p.m + xi * ch.ms, (int)ch.ldt, p.v + xi * ch.vs,
                                   (int)ch.ldt, p.du + xi * g.us, g.C);
        }
        if (din) /* V is no longer needed: dV takes its place */
            din_from_dm(din, &p, &ch, &g, g0);
    }
    if (dweight)
        filter_adjoint(dweight, p.du, g.us, g.kc);
}

const pt_winograd_kernels PT_KERNELS(pt_winograd4_kernels) = {forward, backward};

/* --- the API (winograd4.h): the same on every path, so compiled with the baseline only -------- */
#if PT_ISA_VARIANT == 0

size_t pt_winograd4_workspace_size(const pt_conv_dims *d, int images_per_chunk)
{
    wg4_geom g = geometry(d);
    return g.fixed + (size_t)images_per_chunk * g.tiles_h * g.per_row;
}

int pt_winograd4_useful_images(const pt_conv_dims *d)
{
    wg4_geom g = geometry(d);
    size_t images = (cap_rows(&g) + g.tiles_h - 1) / g.tiles_h;
    if (images > (size_t)d->n)
        images = (size_t)d->n;
    return images < 1 ? 1 : (int)images;
}

void pt_winograd4_forward(float *out, const float *in, const float *weight, const float *bias,
                          const pt_conv_dims *d, float *ws, size_t ws_floats)
{
    PT_KERNELS_ACTIVE(pt_winograd4_kernels)->forward(out, in, weight, bias, d, ws, ws_floats);
}

void pt_winograd4_backward(float *din, float *dweight, float *dbias, const float *dout,
                           const float *in, const float *weight, const pt_conv_dims *d, float *ws,
                           size_t ws_floats)
{
    PT_KERNELS_ACTIVE(pt_winograd4_kernels)
        ->backward(din, dweight, dbias, dout, in, weight, d, ws, ws_floats);
}

#endif
