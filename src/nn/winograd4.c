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
 * The transforms run on one plane (channel) of a whole chunk at a time, over flat arrays of every
 * tile's rows (see "layout of a chunk's transforms" below), and are separable. Every loop over
 * tiles or columns runs in blocks of WG_LANES (wg_common.h) with a fixed trip count and a
 * remainder, each output stream through its own restrict pointer. */
#include "winograd4.h"
#include "winograd4_kernels.h"

#include <stdint.h>
#include <string.h>

#include "wg_common.h"

/* Chunks are capped at about WG4_CHUNK_TILES tiles and WG4_CHUNK_FLOATS floats of V and M (4 MiB),
 * whichever is smaller (but at least one row of tiles), as winograd.c's. Measured with the first,
 * row-by-row transforms (conv_bench, AVX-512 Xeon, 1 thread, batch 32, 64->64 at 32x32, 128->128 at
 * 16x16, 256->256 at 8x8): caps of 128 to 1024 tiles and 1 Mi to 4 Mi floats are within the noise
 * (+-10%) of each other; 4 Mi floats was slower on 256->256 at 8x8 (15 against 11.5 ms forward). */
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
    g.scratch = ((size_t)8 * g.tw1 * g.C + 15) & ~(size_t)15; /* din's carry: 2 rows per plane */
    /* V and M, and the transforms' scratch (wg4_scratch): 12 patch rows of 4*tw1, 36 columns and
     * an index per tile, 2 indices per patch column */
    g.per_row = (size_t)g.tiles_w * 36 * ((size_t)g.C + g.K) + 48 * (size_t)g.tw1 +
                37 * (size_t)g.tiles_w + 2 * (size_t)g.tw1;
    /* U, dU, scratch, slack, the zero of each of h's 36 columns, and the row strides' padding: at
     * most 15 floats per row of V and M */
    g.fixed = 72 * g.us + g.scratch + WG4_SLACK + 36 + 15 * 36 * ((size_t)g.C + g.K);
    return g;
}

static size_t cap_rows(const wg4_geom *g)
{
    return wg_cap_rows(g->per_row, g->tiles_w, WG4_CHUNK_FLOATS, WG4_CHUNK_TILES);
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

/* --- layout of a chunk's transforms ---------------------------------------------------------- */

/* The transforms run over every tile of a chunk at once, one plane (channel) at a time, so that
 * their loops are long even where a row has few tiles (a 16x16 output has 4 per row). A chunk of
 * R rows of tiles ("strips") lays each strip's input rows out side by side, S = 4*tw1 columns per
 * strip (column x' of a strip is image column x' - pad; the last 4 - 2 are zero padding), so that
 * tile (r, j)'s patch columns are 4u .. 4u+5 with u = r*tw1 + j: the strips' image rows are copied
 * in (short memcpys) and the separable halves then run over flat arrays of R*S columns. Tiles are
 * numbered t = r*tw + j in V and M; the map between t and u is an index (gathers, which GCC
 * vectorizes on AVX2 and AVX-512). Output and dout tiles do not overlap: they use 4*tw columns per
 * strip and tile t's columns are 4t .. 4t+3. */

typedef struct wg4_chunk {
    int g0, rows, T;
    size_t ldt, vs, ms; /* the row stride of V and M, the strides of their 36 matrices */
    size_t zs;          /* rows * S: one patch row of every strip */
    size_t ys;          /* rows * 4*tw: one output row of every strip */
} wg4_chunk;

/* Scratch of one chunk (after M): two sets of 6 patch rows (a, b), 36 arrays of T+1 floats (h, din
 * only) and the index maps. */
typedef struct wg4_scratch {
    float *a, *b, *h;
    int *u_of_t; /* T: 4u of tile t */
    int *t_cur;  /* rows*tw1: tile t at u, or T (a zero) for the padding u = r*tw1 + tw */
    int *t_prev; /* rows*tw1: tile t-1 (same strip) at u, or T for u = r*tw1 */
} wg4_scratch;

/* The strip r of a chunk: its image and row of tiles. */
static void strip_at(const wg4_geom *g, const wg4_chunk *ch, int r, int *n, int *th)
{
    const int gi = ch->g0 + r;
    *n = gi / g->tiles_h;
    *th = gi % g->tiles_h;
}

static void index_maps(const wg4_scratch *s, const wg4_geom *g, const wg4_chunk *ch)
{
    const int tw = g->tiles_w, tw1 = g->tw1;
    for (int r = 0; r < ch->rows; r++)
        for (int j = 0; j < tw1; j++) {
            const int u = r * tw1 + j, t = r * tw + j;
            if (j < tw)
                s->u_of_t[t] = 4 * u;
            s->t_cur[u] = j < tw ? t : ch->T;
            s->t_prev[u] = j > 0 ? t - 1 : ch->T;
        }
}

/* --- input transform ------------------------------------------------------------------------- */

/* Kernels below loop over l < n for z (or t) = j0 + l, called with n = WG_LANES for the blocks
 * and the remainder; each output stream through its own restrict pointer. */

/* The 6 patch rows of every strip of one input plane set c into a (6 rows of zs floats). */
static void gather_patch_rows(float *a, const float *in, int c, const wg4_geom *g,
                              const wg4_chunk *ch)
{
    const int S = 4 * g->tw1, pad = g->pad, W = g->W;
    for (int r = 0; r < ch->rows; r++) {
        int n, th;
        strip_at(g, ch, r, &n, &th);
        const float *plane = in + ((size_t)n * g->C + c) * g->H * W;
        for (int i = 0; i < 6; i++) {
            float *dst = a + i * ch->zs + (size_t)r * S;
            const int y = 4 * th - pad + i;
            if (y < 0 || y >= g->H) {
                memset(dst, 0, (size_t)S * sizeof(float));
                continue;
            }
            if (pad)
                dst[0] = 0.0f;
            memcpy(dst + pad, plane + (size_t)y * W, (size_t)W * sizeof(float));
            memset(dst + pad + W, 0, (size_t)(S - pad - W) * sizeof(float));
        }
    }
}

/* B^T down the 6 patch rows p0..p5, to o0..o5. */
WG_INLINE void vert_in(float *restrict o0, float *restrict o1, float *restrict o2,
                       float *restrict o3, float *restrict o4, float *restrict o5,
                       const float *restrict p0, const float *restrict p1, const float *restrict p2,
                       const float *restrict p3, const float *restrict p4, const float *restrict p5,
                       int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int z = j0 + l;
        const float i[6] = {p0[z], p1[z], p2[z], p3[z], p4[z], p5[z]};
        float o[6];
        WG4_BT(o, i);
        o0[z] = o[0];
        o1[z] = o[1];
        o2[z] = o[2];
        o3[z] = o[3];
        o4[z] = o[4];
        o5[z] = o[5];
    }
}

/* B on the right of transformed row q (tile t's columns at q[u_of_t[t]] ..+5): V elements
 * (m, 0..5) of tile t to v0..v5. */
WG_INLINE void horiz_in(float *restrict v0, float *restrict v1, float *restrict v2,
                        float *restrict v3, float *restrict v4, float *restrict v5,
                        const float *restrict q, const int *restrict u_of_t, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int t = j0 + l, x = u_of_t[t];
        const float i[6] = {q[x], q[x + 1], q[x + 2], q[x + 3], q[x + 4], q[x + 5]};
        float o[6];
        WG4_BT(o, i);
        v0[t] = o[0];
        v1[t] = o[1];
        v2[t] = o[2];
        v3[t] = o[3];
        v4[t] = o[4];
        v5[t] = o[5];
    }
}

/* Every input plane's V for the chunk: V (36, C, ldt). */
static void input_transform(float *v, const float *in, const wg4_geom *g, const wg4_chunk *ch,
                            const wg4_scratch *s)
{
    const size_t zs = ch->zs, vs = ch->vs;
    for (int c = 0; c < g->C; c++) {
        float *a = s->a, *b = s->b;
        gather_patch_rows(a, in, c, g, ch);
        WG_BLOCKS(0, (int)zs, vert_in, b, b + zs, b + 2 * zs, b + 3 * zs, b + 4 * zs, b + 5 * zs, a,
                  a + zs, a + 2 * zs, a + 3 * zs, a + 4 * zs, a + 5 * zs);
        for (int m = 0; m < 6; m++) {
            float *v0 = v + (6 * m) * vs + (size_t)c * ch->ldt;
            WG_BLOCKS(0, ch->T, horiz_in, v0, v0 + vs, v0 + 2 * vs, v0 + 3 * vs, v0 + 4 * vs,
                      v0 + 5 * vs, b + m * zs, s->u_of_t);
        }
    }
}

/* --- the input transform's adjoint (din) ----------------------------------------------------- */

/* B on the right of dV's row m for tiles t: its 6 columns to h0..h5. */
WG_INLINE void horiz_adj(float *restrict h0, float *restrict h1, float *restrict h2,
                         float *restrict h3, float *restrict h4, float *restrict h5,
                         const float *restrict dv, size_t vs, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int t = j0 + l;
        const float i[6] = {dv[t],          dv[vs + t],     dv[2 * vs + t],
                            dv[3 * vs + t], dv[4 * vs + t], dv[5 * vs + t]};
        float o[6];
        WG4_B(o, i);
        h0[t] = o[0];
        h1[t] = o[1];
        h2[t] = o[2];
        h3[t] = o[3];
        h4[t] = o[4];
        h5[t] = o[5];
    }
}

/* Patch row m at columns 4u..4u+3 (q, strips side by side): tile t_cur[u]'s columns 0..3 plus,
 * on columns 0 and 1, tile t_prev[u]'s columns 4 and 5 (the overlap); h[c] is column c of every
 * tile, with a zero at index T for the missing neighbours. */
WG_INLINE void fold_cols(float *restrict q, const float *restrict h0, const float *restrict h1,
                         const float *restrict h2, const float *restrict h3,
                         const float *restrict h4, const float *restrict h5,
                         const int *restrict t_cur, const int *restrict t_prev, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int u = j0 + l, t = t_cur[u], tp = t_prev[u];
        q[4 * u] = h0[t] + h4[tp];
        q[4 * u + 1] = h1[t] + h5[tp];
        q[4 * u + 2] = h2[t];
        q[4 * u + 3] = h3[t];
    }
}

/* B down the 6 patch rows q0..q5: the gradient of the strips' 6 input rows, to f0..f5. */
WG_INLINE void vert_adj(float *restrict f0, float *restrict f1, float *restrict f2,
                        float *restrict f3, float *restrict f4, float *restrict f5,
                        const float *restrict q0, const float *restrict q1,
                        const float *restrict q2, const float *restrict q3,
                        const float *restrict q4, const float *restrict q5, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int z = j0 + l;
        const float i[6] = {q0[z], q1[z], q2[z], q3[z], q4[z], q5[z]};
        float o[6];
        WG4_B(o, i);
        f0[z] = o[0];
        f1[z] = o[1];
        f2[z] = o[2];
        f3[z] = o[3];
        f4[z] = o[4];
        f5[z] = o[5];
    }
}

/* dst[x] = a[x] + b[x] */
WG_INLINE void add_rows(float *restrict dst, const float *restrict a, const float *restrict b,
                        int j0, int n)
{
    for (int l = 0; l < n; l++)
        dst[j0 + l] = a[j0 + l] + b[j0 + l];
}

/* Input row y of a din plane from a strip row (patch columns; padding dropped), plus, if add, the
 * strip row above's rows 4 and 5 (the 2 rows patches of neighbouring strips share). */
static void store_din_row(float *plane, int y, const float *f, const float *add, const wg4_geom *g)
{
    if (y < 0 || y >= g->H)
        return;
    float *row = plane + (size_t)y * g->W;
    if (add)
        WG_BLOCKS(0, g->W, add_rows, row, f + g->pad, add + g->pad);
    else
        memcpy(row, f + g->pad, (size_t)g->W * sizeof(float));
}

/* din of the chunk's strips for input plane set c from its dV (v + c*ldt). Each din row is written
 * once, when the last strip that reads it is done; a strip's rows 4 and 5 are its successor's 0
 * and 1, and wait in carry (2*S floats per plane) when the chunk ends between the two. */
static void input_adjoint(float *din, const float *v, int c, const wg4_geom *g, const wg4_chunk *ch,
                          const wg4_scratch *s, float *carry)
{
    const size_t zs = ch->zs, vs = ch->vs, T1 = (size_t)ch->T + 1;
    const int S = 4 * g->tw1, U = ch->rows * g->tw1;
    float *q = s->a, *f = s->b, *h = s->h;
    for (int m = 0; m < 6; m++) {
        float *hm = h + 6 * m * T1;
        WG_BLOCKS(0, ch->T, horiz_adj, hm, hm + T1, hm + 2 * T1, hm + 3 * T1, hm + 4 * T1,
                  hm + 5 * T1, v + (6 * m) * vs + (size_t)c * ch->ldt, vs);
        for (int k = 0; k < 6; k++)
            hm[k * T1 + (size_t)ch->T] = 0.0f;
        WG_BLOCKS(0, U, fold_cols, q + m * zs, hm, hm + T1, hm + 2 * T1, hm + 3 * T1, hm + 4 * T1,
                  hm + 5 * T1, s->t_cur, s->t_prev);
    }
    WG_BLOCKS(0, (int)zs, vert_adj, f, f + zs, f + 2 * zs, f + 3 * zs, f + 4 * zs, f + 5 * zs, q,
              q + zs, q + 2 * zs, q + 3 * zs, q + 4 * zs, q + 5 * zs);
    for (int r = 0; r < ch->rows; r++) {
        int n, th;
        strip_at(g, ch, r, &n, &th);
        float *plane = din + ((size_t)n * g->C + c) * g->H * g->W;
        const int y0 = 4 * th - g->pad;
        const size_t at = (size_t)r * S;
        const float *above4 = NULL, *above5 = NULL;
        if (th > 0) {
            above4 = r > 0 ? f + 4 * zs + at - S : carry;
            above5 = r > 0 ? f + 5 * zs + at - S : carry + S;
        }
        store_din_row(plane, y0, f + at, above4, g);
        store_din_row(plane, y0 + 1, f + zs + at, above5, g);
        store_din_row(plane, y0 + 2, f + 2 * zs + at, NULL, g);
        store_din_row(plane, y0 + 3, f + 3 * zs + at, NULL, g);
        if (th == g->tiles_h - 1) { /* no strip below: rows 4 and 5 are complete */
            store_din_row(plane, y0 + 4, f + 4 * zs + at, NULL, g);
            store_din_row(plane, y0 + 5, f + 5 * zs + at, NULL, g);
        } else if (r == ch->rows - 1) {
            memcpy(carry, f + 4 * zs + at, (size_t)S * sizeof(float));
            memcpy(carry + S, f + 5 * zs + at, (size_t)S * sizeof(float));
        }
    }
}

/* --- output transform ------------------------------------------------------------------------ */

/* Y = A^T m A + b for tiles t (m_xi of tile t at m[xi*ms + t]), row i of tile t to columns
 * 4t..4t+3 of y_i (the strips' output rows side by side). */
WG_INLINE void out_tiles(float *restrict y0, float *restrict y1, float *restrict y2,
                         float *restrict y3, const float *restrict m, size_t ms, float b, int j0,
                         int n)
{
    for (int l = 0; l < n; l++) {
        const int t = j0 + l;
        float s[4][6]; /* A^T m: rows 0..3, columns 0..5 */
        for (int c = 0; c < 6; c++) {
            const float i[6] = {m[c * ms + t],        m[(6 + c) * ms + t],  m[(12 + c) * ms + t],
                                m[(18 + c) * ms + t], m[(24 + c) * ms + t], m[(30 + c) * ms + t]};
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
            y0[4 * t + c] = y[0][c] + b;
            y1[4 * t + c] = y[1][c] + b;
            y2[4 * t + c] = y[2][c] + b;
            y3[4 * t + c] = y[3][c] + b;
        }
    }
}

/* Output plane k of every strip from M (m = M + k*ldt): the 4x4 tiles into 4 rows of ys floats
 * (a), then each strip's rows inside P, Q into out. */
static void output_transform(float *out, const float *m, float b, int k, const wg4_geom *g,
                             const wg4_chunk *ch, const wg4_scratch *s)
{
    const size_t ys = ch->ys, pq = (size_t)g->P * g->Q;
    float *y = s->a;
    WG_BLOCKS(0, ch->T, out_tiles, y, y + ys, y + 2 * ys, y + 3 * ys, m, ch->ms, b);
    for (int r = 0; r < ch->rows; r++) {
        int n, th;
        strip_at(g, ch, r, &n, &th);
        float *plane = out + ((size_t)n * g->K + k) * pq;
        for (int i = 0; i < 4 && 4 * th + i < g->P; i++)
            memcpy(plane + (size_t)(4 * th + i) * g->Q, y + i * ys + (size_t)r * 4 * g->tiles_w,
                   (size_t)g->Q * sizeof(float));
    }
}

/* Backward, dM = A dY A^T. A down the 4 dout rows d0..d3 (the strips' rows side by side), to
 * o0..o5. */
WG_INLINE void dout_vert(float *restrict o0, float *restrict o1, float *restrict o2,
                         float *restrict o3, float *restrict o4, float *restrict o5,
                         const float *restrict d0, const float *restrict d1,
                         const float *restrict d2, const float *restrict d3, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int z = j0 + l;
        const float i[4] = {d0[z], d1[z], d2[z], d3[z]};
        float o[6];
        WG4_A(o, i);
        o0[z] = o[0];
        o1[z] = o[1];
        o2[z] = o[2];
        o3[z] = o[3];
        o4[z] = o[4];
        o5[z] = o[5];
    }
}

/* A^T on the right of row q (tile t's columns 4t..4t+3), to dM elements (a, 0..5) of tile t. */
WG_INLINE void dout_horiz(float *restrict m0, float *restrict m1, float *restrict m2,
                          float *restrict m3, float *restrict m4, float *restrict m5,
                          const float *restrict q, int j0, int n)
{
    for (int l = 0; l < n; l++) {
        const int t = j0 + l;
        const float i[4] = {q[4 * t], q[4 * t + 1], q[4 * t + 2], q[4 * t + 3]};
        float o[6];
        WG4_A(o, i);
        m0[t] = o[0];
        m1[t] = o[1];
        m2[t] = o[2];
        m3[t] = o[3];
        m4[t] = o[4];
        m5[t] = o[5];
    }
}

/* dM of dout plane k for every strip (rows past P and columns past Q are zero), into
 * dm = M + k*ldt. */
static void dout_transform(float *dm, const float *dout, int k, const wg4_geom *g,
                           const wg4_chunk *ch, const wg4_scratch *s)
{
    const size_t ys = ch->ys, ms = ch->ms, pq = (size_t)g->P * g->Q;
    const int width = 4 * g->tiles_w;
    float *d = s->a, *e = s->b;
    for (int r = 0; r < ch->rows; r++) {
        int n, th;
        strip_at(g, ch, r, &n, &th);
        const float *plane = dout + ((size_t)n * g->K + k) * pq;
        for (int i = 0; i < 4; i++) {
            float *dst = d + i * ys + (size_t)r * width;
            const int y = 4 * th + i;
            if (y >= g->P) {
                memset(dst, 0, (size_t)width * sizeof(float));
                continue;
            }
            memcpy(dst, plane + (size_t)y * g->Q, (size_t)g->Q * sizeof(float));
            memset(dst + g->Q, 0, (size_t)(width - g->Q) * sizeof(float));
        }
    }
    WG_BLOCKS(0, (int)ys, dout_vert, e, e + ys, e + 2 * ys, e + 3 * ys, e + 4 * ys, e + 5 * ys, d,
              d + ys, d + 2 * ys, d + 3 * ys);
    for (int a = 0; a < 6; a++) {
        float *m0 = dm + (6 * a) * ms;
        WG_BLOCKS(0, ch->T, dout_horiz, m0, m0 + ms, m0 + 2 * ms, m0 + 3 * ms, m0 + 4 * ms,
                  m0 + 5 * ms, e + a * ys);
    }
}

/* --- forward and backward -------------------------------------------------------------------- */

typedef struct wg4_ws {
    float *u, *du, *carry, *v, *m;
    wg4_scratch s;
} wg4_ws;

static wg4_ws carve(const wg4_geom *g, float *ws, int rows)
{
    wg4_ws p;
    const size_t t = (size_t)rows * g->tiles_w, z = (size_t)rows * 4 * g->tw1;
    p.u = ws;
    p.du = ws + 36 * g->us;
    p.carry = ws + 72 * g->us;
    p.v = ws + 72 * g->us + g->scratch;
    p.v += (16 - ((uintptr_t)p.v / sizeof(float)) % 16) % 16; /* to 64 bytes (ws holds floats) */
    p.m = p.v + 36 * padded((size_t)g->C * row_stride((int)t));
    p.s.a = p.m + 36 * padded((size_t)g->K * row_stride((int)t));
    p.s.b = p.s.a + 6 * z;
    p.s.h = p.s.b + 6 * z;
    /* the index maps: ints in the float workspace (malloc'd memory takes the type stored) */
    p.s.u_of_t = (int *)(p.s.h + 36 * (t + 1));
    p.s.t_cur = p.s.u_of_t + t;
    p.s.t_prev = p.s.t_cur + (size_t)rows * g->tw1;
    return p;
}

/* The chunk starting at row of tiles g0: its rows, T and the strides. */
static wg4_chunk chunk_at(const wg4_geom *g, int g0, int total, int rows_max)
{
    wg4_chunk k;
    k.g0 = g0;
    k.rows = total - g0 < rows_max ? total - g0 : rows_max;
    k.T = k.rows * g->tiles_w;
    k.ldt = row_stride(k.T);
    k.vs = padded((size_t)g->C * k.ldt);
    k.ms = padded((size_t)g->K * k.ldt);
    k.zs = (size_t)k.rows * 4 * g->tw1;
    k.ys = (size_t)k.rows * 4 * g->tiles_w;
    return k;
}

static int rows_per_chunk(const wg4_geom *g, int n, size_t ws_floats)
{
    return wg_chunk_rows(g->fixed, g->per_row, g->tiles_h, g->tiles_w, cap_rows(g), n, ws_floats);
}

static void forward(float *out, const float *in, const float *weight, const float *bias,
                    const pt_conv_dims *d, float *ws, size_t ws_floats, const pt_conv_epilogue *ep)
{
    if (d->n == 0)
        return;
    const wg4_geom g = geometry(d);
    const int rows_max = rows_per_chunk(&g, d->n, ws_floats), total = d->n * g.tiles_h;
    wg4_ws p = carve(&g, ws, rows_max);
    filter_transform(p.u, g.us, weight, g.kc);

    for (int g0 = 0; g0 < total; g0 += rows_max) {
        const wg4_chunk ch = chunk_at(&g, g0, total, rows_max);
        index_maps(&p.s, &g, &ch);
        input_transform(p.v, in, &g, &ch, &p.s);
        for (int xi = 0; xi < 36; xi++)
            gemm_overwrite(CblasNoTrans, g.K, ch.T, g.C, p.u + xi * g.us, g.C, p.v + xi * ch.vs,
                           (int)ch.ldt, p.m + xi * ch.ms, (int)ch.ldt);
        for (int k = 0; k < g.K; k++)
            output_transform(out, p.m + (size_t)k * ch.ldt, bias ? bias[k] : 0.0f, k, &g, &ch,
                             &p.s);
        if (ep)
            pt_conv_epilogue_strips(ep, out, g.K, g.P, g.Q, 4, g.tiles_h, ch.g0, ch.rows);
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
        index_maps(&p.s, &g, &ch);
        for (int k = 0; k < g.K; k++)
            dout_transform(p.m + (size_t)k * ch.ldt, dout, k, &g, &ch, &p.s);
        if (dweight) {
            input_transform(p.v, in, &g, &ch, &p.s);
            for (int xi = 0; xi < 36; xi++)
                gemm_accumulate_bt(g.K, g.C, ch.T, p.m + xi * ch.ms, (int)ch.ldt, p.v + xi * ch.vs,
                                   (int)ch.ldt, p.du + xi * g.us, g.C);
        }
        if (!din)
            continue;
        /* V is no longer needed: dV = U^T dM takes its place */
        for (int xi = 0; xi < 36; xi++)
            gemm_overwrite(CblasTrans, g.C, ch.T, g.K, p.u + xi * g.us, g.C, p.m + xi * ch.ms,
                           (int)ch.ldt, p.v + xi * ch.vs, (int)ch.ldt);
        for (int c = 0; c < g.C; c++)
            input_adjoint(din, p.v, c, &g, &ch, &p.s, p.carry + (size_t)c * 8 * g.tw1);
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
    return wg_useful_images(cap_rows(&g), g.tiles_h, d->n);
}

void pt_winograd4_forward(float *out, const float *in, const float *weight, const float *bias,
                          const pt_conv_dims *d, float *ws, size_t ws_floats,
                          const pt_conv_epilogue *ep)
{
    PT_KERNELS_ACTIVE(pt_winograd4_kernels)->forward(out, in, weight, bias, d, ws, ws_floats, ep);
}

void pt_winograd4_backward(float *din, float *dweight, float *dbias, const float *dout,
                           const float *in, const float *weight, const pt_conv_dims *d, float *ws,
                           size_t ws_floats)
{
    PT_KERNELS_ACTIVE(pt_winograd4_kernels)
        ->backward(din, dweight, dbias, dout, in, weight, d, ws, ws_floats);
}

#endif
