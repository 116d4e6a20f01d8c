/* Winograd F(2x2,3x3) convolution: transforms in C, the 16 products as GEMMs (see winograd.h).
 * Compiled once per instruction set (winograd_kernels.h); the API at the end only once.
 *
 * Matrices (F(2,3), Lavin & Gray 2015), for cross-correlation as PyTorch's Conv2d:
 *   B^T = [1  0 -1  0]     G = [ 1    0    0 ]     A^T = [1  1  1  0]
 *         [0  1  1  0]         [1/2  1/2  1/2]           [0  1 -1 -1]
 *         [0 -1  1  0]         [1/2 -1/2  1/2]
 *         [0  1  0 -1]         [ 0    0    1 ]
 * Tile (th, tw) of an image produces outputs (2th..2th+1, 2tw..2tw+1) from the input patch at
 * rows 2th-pad..2th-pad+3, columns 2tw-pad..2tw-pad+3 (zero outside the image).
 *
 * A chunk is a run of consecutive rows of tiles over the batch (row gi = image * tilesH + th), with
 * T = rows * tilesW tiles, tile t = (row in chunk) * tilesW + tw. Workspace, in floats:
 *   U  [16][K][C]   G g G^T for every filter; element xi = 4a+b of the 4x4 transform is matrix xi
 *   dU [16][K][C]   gradient of U, summed over the chunks (backward with dweight)
 *   scratch         a zero row, a sink row, the column arrays of one row of tiles and, for din,
 *                   the carry: 4 column arrays per input channel (see input_row_adjoint)
 *   V  [16][C][ldT] B^T d B of every (channel, tile); in backward, dV in its place
 *   M  [16][K][ldT] U V per xi (forward); dM = A dY A^T (backward)
 * where ldT is T rounded up to 16 floats and V starts on a 64-byte boundary, so that every row of
 * V and M starts on a cache line (the GEMMs' vector loads never straddle two; columns T..ldT-1 are
 * never written or read). So every GEMM reads and writes whole matrices with leading dimension C
 * or ldT:
 *   forward   M[xi] = U[xi] V[xi]                       (K x C)(C x T)
 *   backward  dU[xi] += dM[xi] V[xi]^T                  (K x T)(T x C)
 *             dV[xi] = U[xi]^T dM[xi]                   (C x K)(K x T)
 * then dweight += G^T dU G and din = the adjoint of the input transform applied to dV (each
 * patch's B dV B^T added back into the input pixels it came from, padding dropped). Every GEMM
 * that overwrites its result zeroes it and accumulates (gemm_overwrite).
 *
 * The transforms work on one row of tiles of one plane at a time, plane by plane (so V and M are
 * written and read in long contiguous runs). Separable: the vertical half (B^T on the 4 input
 * rows) runs over the row's columns, split into even and odd columns, so that the horizontal half
 * reads tile tw's columns 2tw..2tw+3 as e[tw], o[tw], e[tw+1], o[tw+1], all unit stride. Every
 * loop over tiles or columns runs in blocks of WG_LANES with a fixed trip count (which GCC
 * vectorizes even at -O2) and a remainder, each output stream through its own restrict pointer;
 * image edges take scalar code with bounds checks. */
#include "winograd.h"
#include "winograd_kernels.h"

#include <stdint.h>
#include <string.h>

#include "wg_common.h"

/* Chunks are capped at about WG_CHUNK_TILES tiles and WG_CHUNK_FLOATS floats of V and M (4 MiB),
 * whichever is smaller (but at least one row of tiles). OpenBLAS (0.3.21, Zen, 1 thread) runs these
 * GEMMs fastest with 256 to 512 columns: 65-80 GFLOP/s against 45-70 with thousands; and past a
 * few MiB the transformed data falls out of the caches between the transform and the GEMM. */
#define WG_CHUNK_TILES  512
#define WG_CHUNK_FLOATS ((size_t)1 << 20)

typedef struct wg_geom {
    int C, K, H, W, P, Q, pad;
    int tiles_h, tiles_w; /* tiles per image column and row */
    int tw1;              /* tiles_w + 1: entries of the even / odd column arrays */
    size_t kc;            /* K*C: the size of one transformed filter matrix */
    size_t us;            /* stride between the 16 filter matrices, padded(kc) */
    size_t scratch;       /* floats of scratch */
    size_t per_row;       /* floats of V and M per row of tiles */
    size_t fixed;         /* floats of workspace besides per_row per row of tiles */
} wg_geom;

/* Floats of padding padded() may add to the V and M of a chunk (2 * 16 * 31), and V's alignment
 * to 64 bytes (15). */
#define WG_SLACK (2 * 16 * 32)

static wg_geom geometry(const pt_conv_dims *d)
{
    wg_geom g;
    g.C = d->c;
    g.K = d->k;
    g.H = d->h;
    g.W = d->w;
    g.P = pt_conv_out_h(d);
    g.Q = pt_conv_out_w(d);
    g.pad = d->pad;
    g.tiles_h = (g.P + 1) / 2;
    g.tiles_w = (g.Q + 1) / 2;
    g.tw1 = g.tiles_w + 1;
    g.kc = (size_t)g.K * g.C;
    g.us = padded(g.kc);
    size_t zero = (size_t)(g.W > g.Q ? g.W : g.Q);
    size_t s = zero + 2 * (size_t)g.tiles_w + (8 + 4 * (size_t)g.C) * g.tw1;
    g.scratch = (s + 15) & ~(size_t)15;
    g.per_row = (size_t)g.tiles_w * 16 * ((size_t)g.C + g.K);
    /* U, dU, scratch, slack, and the row strides' padding: at most 15 floats per row of V and M */
    g.fixed = 32 * g.us + g.scratch + WG_SLACK + 15 * 16 * ((size_t)g.C + g.K);
    return g;
}

/* Rows of tiles per chunk under the cache cap (at least 1). */
static size_t cap_rows(const wg_geom *g)
{
    return wg_cap_rows(g->per_row, g->tiles_w, WG_CHUNK_FLOATS, WG_CHUNK_TILES);
}

/* Rows of tiles per chunk (wg_chunk_rows). */
static int chunk_rows(const wg_geom *g, int n, size_t ws_floats)
{
    return wg_chunk_rows(g->fixed, g->per_row, g->tiles_h, g->tiles_w, cap_rows(g), n, ws_floats);
}

/* --- filter transform ------------------------------------------------------------------------ */

/* u[xi*us + f] = (G g_f G^T)[xi] for the kc filters g_f (3x3 each, consecutive in w). */
static void filter_transform(float *restrict u, size_t us, const float *restrict w, size_t kc)
{
    for (size_t f = 0; f < kc; f++) {
        const float *g = w + 9 * f;
        float t[4][3]; /* G g */
        for (int s = 0; s < 3; s++) {
            t[0][s] = g[s];
            t[1][s] = 0.5f * (g[s] + g[3 + s] + g[6 + s]);
            t[2][s] = 0.5f * (g[s] - g[3 + s] + g[6 + s]);
            t[3][s] = g[6 + s];
        }
        for (int a = 0; a < 4; a++) {
            u[(4 * a + 0) * us + f] = t[a][0];
            u[(4 * a + 1) * us + f] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
            u[(4 * a + 2) * us + f] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
            u[(4 * a + 3) * us + f] = t[a][2];
        }
    }
}

/* dw_f += G^T du_f G: the adjoint of filter_transform. */
static void filter_adjoint(float *restrict dw, const float *restrict du, size_t us, size_t kc)
{
    for (size_t f = 0; f < kc; f++) {
        float z[4][3]; /* du G */
        for (int a = 0; a < 4; a++) {
            const float d0 = du[(4 * a + 0) * us + f], d1 = du[(4 * a + 1) * us + f];
            const float d2 = du[(4 * a + 2) * us + f], d3 = du[(4 * a + 3) * us + f];
            z[a][0] = d0 + 0.5f * (d1 + d2);
            z[a][1] = 0.5f * (d1 - d2);
            z[a][2] = 0.5f * (d1 + d2) + d3;
        }
        float *g = dw + 9 * f;
        for (int s = 0; s < 3; s++) {
            g[s] += z[0][s] + 0.5f * (z[1][s] + z[2][s]);
            g[3 + s] += 0.5f * (z[1][s] - z[2][s]);
            g[6 + s] += 0.5f * (z[1][s] + z[2][s]) + z[3][s];
        }
    }
}

/* --- input transform ------------------------------------------------------------------------- */

/* Every kernel below loops over l < n for column pairs or tiles j = j0 + l, reads through pointers
 * that may share a base and writes each output stream through its own restrict pointer (so the
 * compiler needs no alias check); called with n = WG_LANES for the blocks and the remainder. */

/* The 4 input rows of a row of tiles starting at input row y0; rows outside the image read zrow. */
static void patch_rows(const float *r[4], const float *plane, int y0, const wg_geom *g,
                       const float *zrow)
{
    for (int i = 0; i < 4; i++) {
        const int y = y0 + i;
        r[i] = y >= 0 && y < g->H ? plane + (size_t)y * g->W : zrow;
    }
}

/* Column pairs j whose columns 2j-pad and 2j+1-pad are both inside [0, W): [lo, hi). */
static void interior_pairs(const wg_geom *g, int *lo, int *hi)
{
    int a = g->pad, b = (g->W + g->pad) / 2;
    if (b > g->tw1)
        b = g->tw1;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* B^T on the 4 rows r0..r3 for column pairs j (columns x = 2j - pad and x + 1, both inside the
 * image): even columns to e0..e3, odd ones to o0..o3. */
WG_INLINE void vert_in(float *restrict e0, float *restrict e1, float *restrict e2,
                       float *restrict e3, float *restrict o0, float *restrict o1,
                       float *restrict o2, float *restrict o3, const float *restrict r0,
                       const float *restrict r1, const float *restrict r2, const float *restrict r3,
                       int pad, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l, x = 2 * j - pad;
        const float a0 = r0[x], a1 = r1[x], a2 = r2[x], a3 = r3[x];
        const float b0 = r0[x + 1], b1 = r1[x + 1], b2 = r2[x + 1], b3 = r3[x + 1];
        e0[j] = a0 - a2;
        e1[j] = a1 + a2;
        e2[j] = a2 - a1;
        e3[j] = a1 - a3;
        o0[j] = b0 - b2;
        o1[j] = b1 + b2;
        o2[j] = b2 - b1;
        o3[j] = b1 - b3;
    }
}

/* B on the right of row m of the vertical transform: tile j reads e[j], o[j], e[j+1], o[j+1]
 * (its columns 0..3) and writes element (m, 0..3) of its V to v0..v3. */
WG_INLINE void horiz_in(float *restrict v0, float *restrict v1, float *restrict v2,
                        float *restrict v3, const float *restrict e, const float *restrict o,
                        int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        const float e0 = e[j], e1 = e[j + 1], o0 = o[j], o1 = o[j + 1];
        v0[j] = e0 - e1;
        v1[j] = o0 + e1;
        v2[j] = e1 - o0;
        v3[j] = o0 - o1;
    }
}

/* V entries of one row of tiles of one input plane: tile tw's 16 values at v[xi*vs + tw].
 * y0 = 2*th - pad is the patches' first input row; col is scratch for 8*tw1 floats. */
static void input_row(float *v, size_t vs, const float *plane, int y0, const wg_geom *g, float *col,
                      const float *zrow)
{
    const int W = g->W, pad = g->pad, tw = g->tiles_w, ld = g->tw1;
    float *ae = col, *ao = col + 4 * ld; /* [4][ld] each: even and odd columns after B^T */
    const float *r[4];
    patch_rows(r, plane, y0, g, zrow);
    int lo, hi, j;
    interior_pairs(g, &lo, &hi);
    for (j = 0; j < ld; j++) {
        if (j == lo) {
            j = hi; /* the interior is done below */
            if (j == ld)
                break;
        }
        const int x = 2 * j - pad;
        for (int par = 0; par < 2; par++) {
            float *a = par ? ao : ae;
            const float e0 = at(r[0], x + par, W), e1 = at(r[1], x + par, W);
            const float e2 = at(r[2], x + par, W), e3 = at(r[3], x + par, W);
            a[j] = e0 - e2;
            a[ld + j] = e1 + e2;
            a[2 * ld + j] = e2 - e1;
            a[3 * ld + j] = e1 - e3;
        }
    }
    float *e0 = ae, *e1 = e0 + ld, *e2 = e1 + ld, *e3 = e2 + ld;
    float *o0 = ao, *o1 = o0 + ld, *o2 = o1 + ld, *o3 = o2 + ld;
    WG_BLOCKS(lo, hi, vert_in, e0, e1, e2, e3, o0, o1, o2, o3, r[0], r[1], r[2], r[3], pad);
    for (int m = 0; m < 4; m++) {
        float *v0 = v + (4 * m) * vs, *v1 = v0 + vs, *v2 = v1 + vs, *v3 = v2 + vs;
        const float *e = ae + m * ld, *o = ao + m * ld;
        WG_BLOCKS(0, tw, horiz_in, v0, v1, v2, v3, e, o);
    }
}

/* Every input plane's V for chunk rows [g0, g0 + rows): V (16, C, ldt). */
static void input_transform(float *v, size_t vs, const float *in, const wg_geom *g, int g0,
                            int rows, size_t ldt, float *col, const float *zrow)
{
    const size_t hw = (size_t)g->H * g->W;
    /* Channel by channel, so that consecutive rows of tiles reuse 2 of their 4 input rows and
     * write each matrix of V in one contiguous run. */
    for (int c = 0; c < g->C; c++)
        for (int r = 0; r < rows; r++) {
            const int gi = g0 + r, n = gi / g->tiles_h, th = gi % g->tiles_h;
            input_row(v + (size_t)c * ldt + (size_t)r * g->tiles_w, vs,
                      in + ((size_t)n * g->C + c) * hw, 2 * th - g->pad, g, col, zrow);
        }
}

/* The adjoint of input_row: from dV (tile j's 16 values at dv[xi*vs + j]) the gradient of the
 * patches' 4 rows at column pairs j0..j0+n-1, even columns in e*, odd ones in o*. Column pair j is
 * columns 0, 1 of tile j (counted if cur) and columns 2, 3 of tile j-1 (if prev): both but at the
 * ends of the row. Rows 0 and 1 are complete once the previous row of tiles' rows 2 and 3 (the
 * carry c2*, c3*) are added: they go to e0/o0, e1/o1; rows 2 and 3 replace the carry. */
WG_INLINE void adj_pairs(float *restrict e0, float *restrict o0, float *restrict e1,
                         float *restrict o1, float *restrict c2e, float *restrict c2o,
                         float *restrict c3e, float *restrict c3o, const float *restrict dv,
                         size_t vs, int j0, int n, int cur, int prev)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        /* Adjoint of horiz_in: gradient of the vertical transform's rows m = 0..3 at pair j. */
        float ge[4] = {0.0f, 0.0f, 0.0f, 0.0f}, go[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#define WG_ADJ_ROW(m)                                                                              \
    do {                                                                                           \
        const float *d0 = dv + (4 * (m)) * vs, *d1 = d0 + vs, *d2 = d1 + vs, *d3 = d2 + vs;        \
        if (cur) {                                                                                 \
            ge[m] += d0[j];                                                                        \
            go[m] += d1[j] - d2[j] + d3[j];                                                        \
        }                                                                                          \
        if (prev) {                                                                                \
            ge[m] += -d0[j - 1] + d1[j - 1] + d2[j - 1];                                           \
            go[m] -= d3[j - 1];                                                                    \
        }                                                                                          \
    } while (0)
        WG_ADJ_ROW(0);
        WG_ADJ_ROW(1);
        WG_ADJ_ROW(2);
        WG_ADJ_ROW(3);
#undef WG_ADJ_ROW
        /* Adjoint of vert_in, plus the carry on rows 0 and 1. */
        e0[j] = ge[0] + c2e[j];
        e1[j] = ge[1] - ge[2] + ge[3] + c3e[j];
        c2e[j] = -ge[0] + ge[1] + ge[2];
        c3e[j] = -ge[3];
        o0[j] = go[0] + c2o[j];
        o1[j] = go[1] - go[2] + go[3] + c3o[j];
        c2o[j] = -go[0] + go[1] + go[2];
        c3o[j] = -go[3];
    }
}

/* row[x0 + 2j] = e[j], row[x0 + 2j + 1] = o[j]. */
WG_INLINE void store_interleaved(float *restrict row, const float *restrict e,
                                 const float *restrict o, int x0, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        row[x0 + 2 * j] = e[j];
        row[x0 + 2 * j + 1] = o[j];
    }
}

/* Input row y of a din plane from its even (e) and odd (o) column pairs; nothing if y is padding.
 */
static void store_row(float *plane, int y, const float *e, const float *o, const wg_geom *g)
{
    const int W = g->W, pad = g->pad, ld = g->tw1;
    if (y < 0 || y >= g->H)
        return;
    float *row = plane + (size_t)y * W;
    int lo, hi, j;
    interior_pairs(g, &lo, &hi);
    for (j = 0; j < ld; j++) {
        if (j == lo) {
            j = hi;
            if (j == ld)
                break;
        }
        const int x = 2 * j - pad;
        if (x >= 0 && x < W)
            row[x] = e[j];
        if (x + 1 >= 0 && x + 1 < W)
            row[x + 1] = o[j];
    }
    WG_BLOCKS(lo, hi, store_interleaved, row, e, o, -pad);
}

/* The adjoint of input_row for row of tiles th of one din plane, whose dV is at dv[xi*vs + tw].
 * Each din row is written once, when the last row of tiles that reads it is done: the patches of
 * rows of tiles th-1 and th overlap on 2 input rows, whose gradient from th-1 waits in carry
 * (4*tw1 floats per plane, set up by th = 0). col is scratch for 4*tw1 floats. */
static void input_row_adjoint(float *plane, int th, const float *dv, size_t vs, const wg_geom *g,
                              float *carry, float *col)
{
    const int tw = g->tiles_w, ld = g->tw1, y0 = 2 * th - g->pad;
    float *e0 = col, *o0 = e0 + ld, *e1 = o0 + ld, *o1 = e1 + ld;
    float *c2e = carry, *c2o = c2e + ld, *c3e = c2o + ld, *c3o = c3e + ld;
    if (th == 0)
        memset(carry, 0, 4 * (size_t)ld * sizeof(float));
    int j;
    adj_pairs(e0, o0, e1, o1, c2e, c2o, c3e, c3o, dv, vs, 0, 1, 1, 0);
    for (j = 1; j + WG_LANES <= tw; j += WG_LANES)
        adj_pairs(e0, o0, e1, o1, c2e, c2o, c3e, c3o, dv, vs, j, WG_LANES, 1, 1);
    adj_pairs(e0, o0, e1, o1, c2e, c2o, c3e, c3o, dv, vs, j, tw - j, 1, 1);
    adj_pairs(e0, o0, e1, o1, c2e, c2o, c3e, c3o, dv, vs, tw, 1, 0, 1);
    store_row(plane, y0, e0, o0, g);
    store_row(plane, y0 + 1, e1, o1, g);
    if (th == g->tiles_h - 1) { /* no row of tiles below: rows 2 and 3 are complete */
        store_row(plane, y0 + 2, c2e, c2o, g);
        store_row(plane, y0 + 3, c3e, c3o, g);
    }
}

/* --- output transform ------------------------------------------------------------------------ */

/* Y = A^T m A + b for tiles j0..j0+n-1 (m_xi of tile j at m[xi*ms + j]), written to columns
 * 2j, 2j+1 of the output rows o0, o1. */
WG_INLINE void out_tiles(float *restrict o0, float *restrict o1, const float *restrict m, size_t ms,
                         float b, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        const float m00 = m[j], m01 = m[ms + j], m02 = m[2 * ms + j], m03 = m[3 * ms + j];
        const float m10 = m[4 * ms + j], m11 = m[5 * ms + j];
        const float m12 = m[6 * ms + j], m13 = m[7 * ms + j];
        const float m20 = m[8 * ms + j], m21 = m[9 * ms + j];
        const float m22 = m[10 * ms + j], m23 = m[11 * ms + j];
        const float m30 = m[12 * ms + j], m31 = m[13 * ms + j];
        const float m32 = m[14 * ms + j], m33 = m[15 * ms + j];
        /* A^T on the left: rows s0 = m0 + m1 + m2, s1 = m1 - m2 - m3. */
        const float s00 = m00 + m10 + m20, s01 = m01 + m11 + m21;
        const float s02 = m02 + m12 + m22, s03 = m03 + m13 + m23;
        const float s10 = m10 - m20 - m30, s11 = m11 - m21 - m31;
        const float s12 = m12 - m22 - m32, s13 = m13 - m23 - m33;
        o0[2 * j] = s00 + s01 + s02 + b;
        o0[2 * j + 1] = s01 - s02 - s03 + b;
        o1[2 * j] = s10 + s11 + s12 + b;
        o1[2 * j + 1] = s11 - s12 - s13 + b;
    }
}

/* Output rows 2th, 2th+1 of one plane from the row of tiles whose M is at m[xi*ms + tw]; a row past
 * P goes to sink (2*tiles_w floats), and with Q odd only the last tile's first column is kept. */
static void output_row(float *plane, int th, const float *m, size_t ms, float b, const wg_geom *g,
                       float *sink)
{
    const int Q = g->Q, full = Q / 2;
    float *o0 = plane + (size_t)(2 * th) * Q;
    float *o1 = 2 * th + 1 < g->P ? o0 + Q : sink;
    WG_BLOCKS(0, full, out_tiles, o0, o1, m, ms, b);
    if (Q & 1) { /* the last tile has one column: compute it into a 2x2 buffer */
        float y0[2], y1[2];
        out_tiles(y0, y1, m + full, ms, b, 0, 1);
        o0[2 * full] = y0[0];
        o1[2 * full] = y1[0];
    }
}

/* Backward, first half of dM = A dY A^T: A on the left of dY = [d0; d1] (rows 2th, 2th+1), even
 * columns to e0..e3 and odd ones to o0..o3, for column pairs j (the tiles). */
WG_INLINE void dout_vert(float *restrict e0, float *restrict e1, float *restrict e2,
                         float *restrict e3, float *restrict o0, float *restrict o1,
                         float *restrict o2, float *restrict o3, const float *restrict d0,
                         const float *restrict d1, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        const float a = d0[2 * j], b = d1[2 * j], c = d0[2 * j + 1], d = d1[2 * j + 1];
        e0[j] = a;
        e1[j] = a + b;
        e2[j] = a - b;
        e3[j] = -b;
        o0[j] = c;
        o1[j] = c + d;
        o2[j] = c - d;
        o3[j] = -d;
    }
}

/* Second half: A^T on the right of row a, (e, o) to dM elements (a, 0..3). */
WG_INLINE void dout_horiz(float *restrict m0, float *restrict m1, float *restrict m2,
                          float *restrict m3, const float *restrict e, const float *restrict o,
                          int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int j = j0 + l;
        m0[j] = e[j];
        m1[j] = e[j] + o[j];
        m2[j] = e[j] - o[j];
        m3[j] = -o[j];
    }
}

/* dM of one row of tiles of one dout plane (rows 2th, 2th+1; a row past P reads zrow, a column
 * past Q is zero), tile tw's 16 values to dm[xi*ms + tw]; col is scratch for 8*tw1 floats. */
static void dout_row(float *dm, size_t ms, const float *plane, int th, const wg_geom *g,
                     const float *zrow, float *col)
{
    const int Q = g->Q, full = Q / 2, tw = g->tiles_w, ld = g->tw1;
    const float *d0 = plane + (size_t)(2 * th) * Q;
    const float *d1 = 2 * th + 1 < g->P ? d0 + Q : zrow;
    float *e0 = col, *e1 = e0 + ld, *e2 = e1 + ld, *e3 = e2 + ld;
    float *o0 = e3 + ld, *o1 = o0 + ld, *o2 = o1 + ld, *o3 = o2 + ld;
    WG_BLOCKS(0, full, dout_vert, e0, e1, e2, e3, o0, o1, o2, o3, d0, d1);
    if (Q & 1) { /* the last tile has one column: pad it with a zero one */
        const float a[2] = {d0[2 * full], 0.0f}, b[2] = {d1[2 * full], 0.0f};
        dout_vert(e0 + full, e1 + full, e2 + full, e3 + full, o0 + full, o1 + full, o2 + full,
                  o3 + full, a, b, 0, 1);
    }
    for (int a = 0; a < 4; a++) {
        float *m0 = dm + (4 * a) * ms, *m1 = m0 + ms, *m2 = m1 + ms, *m3 = m2 + ms;
        const float *e = col + a * ld, *o = col + (4 + a) * ld;
        WG_BLOCKS(0, tw, dout_horiz, m0, m1, m2, m3, e, o);
    }
}

/* --- forward and backward -------------------------------------------------------------------- */

typedef struct wg_ws {
    float *u, *du, *zrow, *sink, *col, *carry, *v, *m;
} wg_ws;

static wg_ws carve(const wg_geom *g, float *ws, int rows)
{
    wg_ws p;
    const size_t t = (size_t)rows * g->tiles_w;
    p.u = ws;
    p.du = ws + 16 * g->us;
    p.zrow = ws + 32 * g->us;
    p.sink = p.zrow + (g->W > g->Q ? g->W : g->Q);
    p.col = p.sink + 2 * (size_t)g->tiles_w;
    p.carry = p.col + 8 * (size_t)g->tw1;
    p.v = ws + 32 * g->us + g->scratch;
    p.v += (16 - ((uintptr_t)p.v / sizeof(float)) % 16) % 16; /* to 64 bytes (ws holds floats) */
    p.m = p.v + 16 * padded((size_t)g->C * row_stride((int)t));
    memset(p.zrow, 0, (size_t)(g->W > g->Q ? g->W : g->Q) * sizeof(float));
    return p;
}

static void forward(float *out, const float *in, const float *weight, const float *bias,
                    const pt_conv_dims *d, float *ws, size_t ws_floats, const pt_conv_epilogue *ep)
{
    if (d->n == 0)
        return;
    const wg_geom g = geometry(d);
    const int C = g.C, K = g.K, tw = g.tiles_w;
    const size_t pq = (size_t)g.P * g.Q;
    const int rows_max = chunk_rows(&g, d->n, ws_floats);
    const int total = d->n * g.tiles_h;
    wg_ws p = carve(&g, ws, rows_max);
    filter_transform(p.u, g.us, weight, g.kc);

    for (int g0 = 0; g0 < total; g0 += rows_max) {
        const int rows = total - g0 < rows_max ? total - g0 : rows_max;
        const int T = rows * tw;
        const size_t ldt = row_stride(T);
        const size_t vs = padded((size_t)C * ldt), ms = padded((size_t)K * ldt);
        input_transform(p.v, vs, in, &g, g0, rows, ldt, p.col, p.zrow);
        for (int xi = 0; xi < 16; xi++)
            gemm_overwrite(CblasNoTrans, K, T, C, p.u + xi * g.us, C, p.v + xi * vs, (int)ldt,
                           p.m + xi * ms, (int)ldt);
        for (int k = 0; k < K; k++)
            for (int r = 0; r < rows; r++) {
                const int gi = g0 + r, n = gi / g.tiles_h, th = gi % g.tiles_h;
                output_row(out + ((size_t)n * K + k) * pq, th,
                           p.m + (size_t)k * ldt + (size_t)r * tw, ms, bias ? bias[k] : 0.0f, &g,
                           p.sink);
            }
        if (ep)
            pt_conv_epilogue_strips(ep, out, K, g.P, g.Q, 2, g.tiles_h, g0, rows);
    }
}

static void backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                     const float *weight, const pt_conv_dims *d, float *ws, size_t ws_floats)
{
    const wg_geom g = geometry(d);
    const int C = g.C, K = g.K, tw = g.tiles_w;
    const size_t pq = (size_t)g.P * g.Q, hw = (size_t)g.H * g.W;

    if (dbias)
        pt_conv_bias_backward(dbias, dout, d->n, K, pq);
    if ((!din && !dweight) || d->n == 0)
        return;

    const int rows_max = chunk_rows(&g, d->n, ws_floats);
    const int total = d->n * g.tiles_h;
    wg_ws p = carve(&g, ws, rows_max);
    if (din)
        filter_transform(p.u, g.us, weight, g.kc);
    if (dweight)
        memset(p.du, 0, 16 * g.us * sizeof(float));

    for (int g0 = 0; g0 < total; g0 += rows_max) {
        const int rows = total - g0 < rows_max ? total - g0 : rows_max;
        const int T = rows * tw;
        const size_t ldt = row_stride(T);
        const size_t vs = padded((size_t)C * ldt), ms = padded((size_t)K * ldt);
        for (int k = 0; k < K; k++)
            for (int r = 0; r < rows; r++) {
                const int gi = g0 + r, n = gi / g.tiles_h, th = gi % g.tiles_h;
                dout_row(p.m + (size_t)k * ldt + (size_t)r * tw, ms,
                         dout + ((size_t)n * K + k) * pq, th, &g, p.zrow, p.col);
            }
        if (dweight) {
            input_transform(p.v, vs, in, &g, g0, rows, ldt, p.col, p.zrow);
            for (int xi = 0; xi < 16; xi++)
                gemm_accumulate_bt(K, C, T, p.m + xi * ms, (int)ldt, p.v + xi * vs, (int)ldt,
                                   p.du + xi * g.us, C);
        }
        if (din) {
            /* V is no longer needed: dV takes its place. */
            for (int xi = 0; xi < 16; xi++)
                gemm_overwrite(CblasTrans, C, T, K, p.u + xi * g.us, C, p.m + xi * ms, (int)ldt,
                               p.v + xi * vs, (int)ldt);
            for (int c = 0; c < C; c++)
                for (int r = 0; r < rows; r++) {
                    const int gi = g0 + r, n = gi / g.tiles_h, th = gi % g.tiles_h;
                    input_row_adjoint(din + ((size_t)n * C + c) * hw, th,
                                      p.v + (size_t)c * ldt + (size_t)r * tw, vs, &g,
                                      p.carry + (size_t)c * 4 * g.tw1, p.col);
                }
        }
    }
    if (dweight)
        filter_adjoint(dweight, p.du, g.us, g.kc);
}

const pt_winograd_kernels PT_KERNELS(pt_winograd_kernels) = {forward, backward};

/* --- the API (winograd.h): the same on every path, so compiled with the baseline only --------- */
#if PT_ISA_VARIANT == 0

int pt_winograd_supported(const pt_conv_dims *d)
{
    if (pt_conv_check(d, NULL) != PT_OK)
        return 0;
    return d->r == 3 && d->s == 3 && d->stride == 1 && (d->pad == 0 || d->pad == 1);
}

size_t pt_winograd_workspace_size(const pt_conv_dims *d, int images_per_chunk)
{
    wg_geom g = geometry(d);
    return g.fixed + (size_t)images_per_chunk * g.tiles_h * g.per_row;
}

int pt_winograd_useful_images(const pt_conv_dims *d)
{
    wg_geom g = geometry(d);
    return wg_useful_images(cap_rows(&g), g.tiles_h, d->n);
}

void pt_winograd_forward(float *out, const float *in, const float *weight, const float *bias,
                         const pt_conv_dims *d, float *ws, size_t ws_floats,
                         const pt_conv_epilogue *ep)
{
    PT_KERNELS_ACTIVE(pt_winograd_kernels)->forward(out, in, weight, bias, d, ws, ws_floats, ep);
}

void pt_winograd_backward(float *din, float *dweight, float *dbias, const float *dout,
                          const float *in, const float *weight, const pt_conv_dims *d, float *ws,
                          size_t ws_floats)
{
    PT_KERNELS_ACTIVE(pt_winograd_kernels)
        ->backward(din, dweight, dbias, dout, in, weight, d, ws, ws_floats);
}

#endif
