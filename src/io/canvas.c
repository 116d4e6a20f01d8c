/* An RGB raster with the few primitives plots need.
 *
 * Lines are drawn by coverage: every pixel near a segment gets the fraction of it that a disc-
 * ended stroke of the given width covers (approximated by the distance from the pixel centre to
 * the segment), kept as the maximum over all segments of the polyline in a scratch plane, and the
 * plane is blended onto the picture once. So joins are round and nothing is painted twice, which
 * would darken the anti-aliased fringe where segments meet. */
#include "canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/png_io.h"

int pt_canvas_init(pt_canvas *c, int width, int height, pt_rgb background, pt_error *err)
{
    memset(c, 0, sizeof *c);
    if (width <= 0 || height <= 0)
        return pt_error_set(err, PT_ERR_INVALID, "cannot make a %dx%d canvas", width, height);
    if ((int64_t)width * height > PT_CANVAS_MAX_PIXELS)
        return pt_error_set(err, PT_ERR_TOO_LARGE, "a %dx%d canvas is larger than %lld pixels",
                            width, height, (long long)PT_CANVAS_MAX_PIXELS);
    size_t n = (size_t)width * (size_t)height;
    c->rgb = malloc(n * 3);
    c->cover = calloc(n, 1);
    if (!c->rgb || !c->cover) {
        pt_canvas_free(c);
        return pt_error_set(err, PT_ERR_NOMEM, "cannot allocate a %dx%d canvas", width, height);
    }
    c->width = width;
    c->height = height;
    pt_canvas_unclip(c);
    for (size_t i = 0; i < n; i++) {
        c->rgb[3 * i] = background.r;
        c->rgb[3 * i + 1] = background.g;
        c->rgb[3 * i + 2] = background.b;
    }
    return PT_OK;
}

void pt_canvas_free(pt_canvas *c)
{
    if (!c)
        return;
    free(c->rgb);
    free(c->cover);
    memset(c, 0, sizeof *c);
}

void pt_canvas_clip(pt_canvas *c, int x, int y, int w, int h)
{
    int64_t x0 = x, y0 = y, x1 = (int64_t)x + (w > 0 ? w : 0), y1 = (int64_t)y + (h > 0 ? h : 0);
    c->clip_x0 = (int)(x0 < 0 ? 0 : x0 > c->width ? c->width : x0);
    c->clip_y0 = (int)(y0 < 0 ? 0 : y0 > c->height ? c->height : y0);
    c->clip_x1 = (int)(x1 < c->clip_x0 ? c->clip_x0 : x1 > c->width ? c->width : x1);
    c->clip_y1 = (int)(y1 < c->clip_y0 ? c->clip_y0 : y1 > c->height ? c->height : y1);
}

void pt_canvas_unclip(pt_canvas *c)
{
    c->clip_x0 = 0;
    c->clip_y0 = 0;
    c->clip_x1 = c->width;
    c->clip_y1 = c->height;
}

int pt_canvas_write_png(const pt_canvas *c, const char *path, pt_error *err)
{
    return pt_png_write_file(path, c->rgb, c->width, c->height, 3, err);
}

void pt_canvas_blend(pt_canvas *c, int x, int y, pt_rgb color, int alpha)
{
    if (x < c->clip_x0 || y < c->clip_y0 || x >= c->clip_x1 || y >= c->clip_y1 || alpha <= 0)
        return;
    uint8_t *p = c->rgb + 3 * ((size_t)y * (size_t)c->width + (size_t)x);
    if (alpha >= 255) {
        p[0] = color.r;
        p[1] = color.g;
        p[2] = color.b;
        return;
    }
    int inv = 255 - alpha;
    p[0] = (uint8_t)((p[0] * inv + color.r * alpha + 127) / 255);
    p[1] = (uint8_t)((p[1] * inv + color.g * alpha + 127) / 255);
    p[2] = (uint8_t)((p[2] * inv + color.b * alpha + 127) / 255);
}

/* Clips [*lo, *hi) to [min, max); returns 0 if nothing is left. */
static int clip_span(int64_t *lo, int64_t *hi, int min, int max)
{
    if (*lo < min)
        *lo = min;
    if (*hi > max)
        *hi = max;
    return *lo < *hi;
}

void pt_canvas_fill_rect(pt_canvas *c, int x, int y, int w, int h, pt_rgb color)
{
    int64_t x0 = x, x1 = (int64_t)x + w, y0 = y, y1 = (int64_t)y + h;
    if (w <= 0 || h <= 0 || !clip_span(&x0, &x1, c->clip_x0, c->clip_x1) ||
        !clip_span(&y0, &y1, c->clip_y0, c->clip_y1))
        return;
    for (int64_t yy = y0; yy < y1; yy++) {
        uint8_t *p = c->rgb + 3 * ((size_t)yy * (size_t)c->width + (size_t)x0);
        for (int64_t xx = x0; xx < x1; xx++, p += 3) {
            p[0] = color.r;
            p[1] = color.g;
            p[2] = color.b;
        }
    }
}

void pt_canvas_rect_outline(pt_canvas *c, int x, int y, int w, int h, int thickness, pt_rgb color)
{
    if (w <= 0 || h <= 0 || thickness <= 0)
        return;
    int t = thickness;
    if (2 * t >= w || 2 * t >= h) {
        pt_canvas_fill_rect(c, x, y, w, h, color);
        return;
    }
    pt_canvas_fill_rect(c, x, y, w, t, color);
    pt_canvas_fill_rect(c, x, y + h - t, w, t, color);
    pt_canvas_fill_rect(c, x, y + t, t, h - 2 * t, color);
    pt_canvas_fill_rect(c, x + w - t, y + t, t, h - 2 * t, color);
}

/* ---- coverage plane -------------------------------------------------------------------------- */

/* The region of the scratch plane touched since the last flush. */
typedef struct cover_box {
    int x0, y0, x1, y1; /* half-open; empty when x0 >= x1 */
} cover_box;

/* floor(v) as an int, with v clamped to [lo, hi] first (no undefined casts of huge values). */
static int clamp_floor(double v, int lo, int hi)
{
    if (!(v > lo))
        return lo;
    if (v > hi)
        return hi;
    return (int)floor(v);
}

/* Adds the capsule of half-width hw around segment (ax, ay)-(bx, by) to the coverage plane. */
static void stamp_segment(pt_canvas *c, cover_box *box, double ax, double ay, double bx, double by,
                          double hw)
{
    double r = hw + 1.0;
    int x0 = clamp_floor(fmin(ax, bx) - r, c->clip_x0, c->clip_x1);
    int x1 = clamp_floor(fmax(ax, bx) + r, c->clip_x0 - 1, c->clip_x1 - 1) + 1;
    int y0 = clamp_floor(fmin(ay, by) - r, c->clip_y0, c->clip_y1);
    int y1 = clamp_floor(fmax(ay, by) + r, c->clip_y0 - 1, c->clip_y1 - 1) + 1;
    if (x0 >= x1 || y0 >= y1)
        return;
    double dx = bx - ax, dy = by - ay;
    double len2 = dx * dx + dy * dy;
    for (int y = y0; y < y1; y++) {
        double py = y + 0.5;
        uint8_t *row = c->cover + (size_t)y * (size_t)c->width;
        for (int x = x0; x < x1; x++) {
            double px = x + 0.5;
            double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = px - (ax + t * dx), ey = py - (ay + t * dy);
            double cov = hw + 0.5 - sqrt(ex * ex + ey * ey);
            if (cov <= 0)
                continue;
            int v = cov >= 1 ? 255 : (int)(cov * 255.0 + 0.5);
            if (v > row[x])
                row[x] = (uint8_t)v;
        }
    }
    if (box->x0 >= box->x1) {
        *box = (cover_box){x0, y0, x1, y1};
    } else {
        box->x0 = x0 < box->x0 ? x0 : box->x0;
        box->y0 = y0 < box->y0 ? y0 : box->y0;
        box->x1 = x1 > box->x1 ? x1 : box->x1;
        box->y1 = y1 > box->y1 ? y1 : box->y1;
    }
}

/* Blends color through the coverage plane and clears it. */
static void flush_cover(pt_canvas *c, const cover_box *box, pt_rgb color)
{
    for (int y = box->y0; y < box->y1; y++) {
        uint8_t *row = c->cover + (size_t)y * (size_t)c->width;
        for (int x = box->x0; x < box->x1; x++) {
            if (row[x]) {
                pt_canvas_blend(c, x, y, color, row[x]);
                row[x] = 0;
            }
        }
    }
}

/* Walks the dash pattern along one segment, stamping the "on" parts. *on and *left carry the
 * pattern's state from one segment to the next. */
static void stamp_dashed(pt_canvas *c, cover_box *box, double ax, double ay, double bx, double by,
                         double hw, double dash, double gap, int *on, double *left)
{
    double len = hypot(bx - ax, by - ay);
    if (!(len > 0) || !isfinite(len))
        return;
    double pos = 0;
    int guard = 0; /* a pathological pattern (tiny dashes, huge segment) stays bounded */
    while (pos < len && guard++ < 100000) {
        double step = fmin(*left, len - pos);
        if (*on) {
            double t0 = pos / len, t1 = (pos + step) / len;
            stamp_segment(c, box, ax + t0 * (bx - ax), ay + t0 * (by - ay), ax + t1 * (bx - ax),
                          ay + t1 * (by - ay), hw);
        }
        pos += step;
        *left -= step;
        if (*left <= 1e-9) {
            *on = !*on;
            *left = *on ? dash : gap;
        }
    }
}

void pt_canvas_polyline(pt_canvas *c, const double *xs, const double *ys, int n, double width,
                        double dash, double gap, pt_rgb color)
{
    if (!xs || !ys || n <= 0 || !(width > 0))
        return;
    double hw = width / 2;
    int dashed = dash > 0 && gap > 0 && isfinite(dash) && isfinite(gap);
    if (dashed && dash + gap < 0.5)
        dashed = 0;
    int on = 1;
    double left = dash;
    cover_box box = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (!isfinite(xs[i]) || !isfinite(ys[i]))
            continue;
        int next = i + 1 < n && isfinite(xs[i + 1]) && isfinite(ys[i + 1]);
        int prev = i > 0 && isfinite(xs[i - 1]) && isfinite(ys[i - 1]);
        if (next) {
            if (dashed)
                stamp_dashed(c, &box, xs[i], ys[i], xs[i + 1], ys[i + 1], hw, dash, gap, &on,
                             &left);
            else
                stamp_segment(c, &box, xs[i], ys[i], xs[i + 1], ys[i + 1], hw);
        } else if (!prev) {
            stamp_segment(c, &box, xs[i], ys[i], xs[i], ys[i], hw); /* a lone point: a dot */
        }
    }
    flush_cover(c, &box, color);
}

void pt_canvas_line(pt_canvas *c, double x0, double y0, double x1, double y1, double width,
                    pt_rgb color)
{
    double xs[2] = {x0, x1}, ys[2] = {y0, y1};
    pt_canvas_polyline(c, xs, ys, 2, width, 0, 0, color);
}

void pt_canvas_disc(pt_canvas *c, double cx, double cy, double radius, pt_rgb color)
{
    if (!isfinite(cx) || !isfinite(cy) || !(radius > 0) || !isfinite(radius))
        return;
    int x0 = clamp_floor(cx - radius - 1, c->clip_x0, c->clip_x1);
    int x1 = clamp_floor(cx + radius + 1, c->clip_x0 - 1, c->clip_x1 - 1) + 1;
    int y0 = clamp_floor(cy - radius - 1, c->clip_y0, c->clip_y1);
    int y1 = clamp_floor(cy + radius + 1, c->clip_y0 - 1, c->clip_y1 - 1) + 1;
    for (int y = y0; y < y1; y++) {
        for (int x = x0; x < x1; x++) {
            double cov = radius + 0.5 - hypot(x + 0.5 - cx, y + 0.5 - cy);
            if (cov > 0)
                pt_canvas_blend(c, x, y, color, cov >= 1 ? 255 : (int)(cov * 255.0 + 0.5));
        }
    }
}

/* ---- text ------------------------------------------------------------------------------------ */

static const uint8_t *glyph_bits(const pt_font *f, unsigned char ch)
{
    if (ch < 32 || ch > 126)
        ch = '?';
    return f->bits + (size_t)(ch - 32) * (size_t)f->height;
}

/* Draws glyph ch with its cell's top-left corner at (x, y); up != 0 rotates it a quarter turn
 * counter-clockwise about that corner, so (x, y) is then the cell's bottom-left corner. */
static void draw_glyph(pt_canvas *c, const pt_font *f, int scale, int64_t x, int64_t y,
                       unsigned char ch, int up, pt_rgb color)
{
    const uint8_t *rows = glyph_bits(f, ch);
    for (int gy = 0; gy < f->height; gy++) {
        for (int gx = 0; gx < 8; gx++) {
            if (!(rows[gy] & (0x80 >> gx)))
                continue;
            for (int sy = 0; sy < scale; sy++) {
                for (int sx = 0; sx < scale; sx++) {
                    int64_t u = (int64_t)gx * scale + sx, v = (int64_t)gy * scale + sy;
                    int64_t px = up ? x + v : x + u;
                    int64_t py = up ? y - 1 - u : y + v;
                    if (px >= c->clip_x0 && py >= c->clip_y0 && px < c->clip_x1 && py < c->clip_y1)
                        pt_canvas_blend(c, (int)px, (int)py, color, 255);
                }
            }
        }
    }
}

int pt_text_width(const pt_font *f, int scale, const char *s)
{
    if (!s || scale < 1)
        return 0;
    size_t n = strlen(s);
    int64_t w = (int64_t)n * f->advance * scale;
    return w > 1000000000 ? 1000000000 : (int)w;
}

/* How much of s fits in max_width: *keep characters of s, then *dots periods. */
static void fit_text(const pt_font *f, int scale, const char *s, int max_width, size_t *keep,
                     int *dots)
{
    size_t n = s ? strlen(s) : 0;
    int64_t cell = (int64_t)f->advance * scale;
    *keep = n;
    *dots = 0;
    if (max_width <= 0 || (int64_t)n * cell <= max_width)
        return;
    size_t fits = (size_t)(max_width / cell);
    if (fits >= 4) {
        *keep = fits - 3;
        *dots = 3;
    } else {
        *keep = fits;
    }
}

static int draw_text(pt_canvas *c, const pt_font *f, int scale, int x, int y, pt_align align,
                     int max_len, const char *s, int up, pt_rgb color)
{
    if (!s || scale < 1)
        return 0;
    size_t keep;
    int dots;
    fit_text(f, scale, s, max_len, &keep, &dots);
    int64_t cell = (int64_t)f->advance * scale;
    int64_t len = ((int64_t)keep + dots) * cell;
    int64_t start = up ? y : x; /* where the first character goes along the text's direction */
    if (align == PT_ALIGN_CENTER)
        start += up ? len / 2 : -len / 2;
    else if (align == PT_ALIGN_RIGHT)
        start += up ? len : -len;
    for (size_t i = 0; i < keep + (size_t)dots; i++) {
        unsigned char ch = i < keep ? (unsigned char)s[i] : '.';
        int64_t along = start + (up ? -(int64_t)i * cell : (int64_t)i * cell);
        if (up ? along <= 0 : along >= c->width)
            break; /* the rest lies beyond the canvas */
        if (up)
            draw_glyph(c, f, scale, x, along, ch, 1, color);
        else
            draw_glyph(c, f, scale, along, y, ch, 0, color);
    }
    return (int)len;
}

int pt_canvas_text(pt_canvas *c, const pt_font *f, int scale, int x, int y, pt_align align,
                   int max_width, const char *s, pt_rgb color)
{
    return draw_text(c, f, scale, x, y, align, max_width, s, 0, color);
}

int pt_canvas_text_up(pt_canvas *c, const pt_font *f, int scale, int x, int y, pt_align align,
                      int max_height, const char *s, pt_rgb color)
{
    return draw_text(c, f, scale, x, y, align, max_height, s, 1, color);
}

/* ---- images ---------------------------------------------------------------------------------- */

/* Bilinear sample of channel ch of src (channels bytes per pixel) at (sx, sy) in pixel-centre
 * coordinates, clamped at the edges. */
static uint8_t sample_bilinear(const uint8_t *src, int sw, int sh, int channels, int ch, double sx,
                               double sy)
{
    sx = sx < 0 ? 0 : sx > sw - 1 ? sw - 1 : sx;
    sy = sy < 0 ? 0 : sy > sh - 1 ? sh - 1 : sy;
    int x0 = (int)sx, y0 = (int)sy;
    int x1 = x0 + 1 < sw ? x0 + 1 : x0, y1 = y0 + 1 < sh ? y0 + 1 : y0;
    double fx = sx - x0, fy = sy - y0;
    const uint8_t *row0 = src + (size_t)y0 * sw * channels + ch;
    const uint8_t *row1 = src + (size_t)y1 * sw * channels + ch;
    double top = row0[(size_t)x0 * channels] * (1 - fx) + row0[(size_t)x1 * channels] * fx;
    double bot = row1[(size_t)x0 * channels] * (1 - fx) + row1[(size_t)x1 * channels] * fx;
    return (uint8_t)(top * (1 - fy) + bot * fy + 0.5);
}

/* Mean of channel ch of src over the box [sx0, sx1) x [sy0, sy1). */
static uint8_t sample_area(const uint8_t *src, int sw, int channels, int ch, int64_t sx0,
                           int64_t sx1, int64_t sy0, int64_t sy1)
{
    uint64_t sum = 0;
    for (int64_t sy = sy0; sy < sy1; sy++)
        for (int64_t sx = sx0; sx < sx1; sx++)
            sum += src[(sy * sw + sx) * channels + ch];
    uint64_t cnt = (uint64_t)((sy1 - sy0) * (sx1 - sx0));
    return (uint8_t)((sum + cnt / 2) / cnt);
}

/* Draws the sw x sh image src (1 byte per pixel: gray; 3: RGB) scaled to dw x dh at (x, y). */
static void blit(pt_canvas *c, int x, int y, int dw, int dh, const uint8_t *src, int sw, int sh,
                 int channels)
{
    if (!src || dw <= 0 || dh <= 0 || sw <= 0 || sh <= 0)
        return;
    /* Whole-number zoom keeps pixels square and sharp; other enlargements interpolate. */
    int smooth = (dw > sw && dw % sw != 0) || (dh > sh && dh % sh != 0);
    for (int dy = 0; dy < dh; dy++) {
        int64_t py = (int64_t)y + dy;
        if (py < c->clip_y0 || py >= c->clip_y1)
            continue;
        int64_t sy0 = (int64_t)dy * sh / dh, sy1 = (int64_t)(dy + 1) * sh / dh;
        if (sy1 <= sy0)
            sy1 = sy0 + 1;
        for (int dx = 0; dx < dw; dx++) {
            int64_t px = (int64_t)x + dx;
            if (px < c->clip_x0 || px >= c->clip_x1)
                continue;
            int64_t sx0 = (int64_t)dx * sw / dw, sx1 = (int64_t)(dx + 1) * sw / dw;
            if (sx1 <= sx0)
                sx1 = sx0 + 1;
            uint8_t v[3];
            for (int ch = 0; ch < channels; ch++)
                v[ch] = smooth
                            ? sample_bilinear(src, sw, sh, channels, ch, (dx + 0.5) * sw / dw - 0.5,
                                              (dy + 0.5) * sh / dh - 0.5)
                            : sample_area(src, sw, channels, ch, sx0, sx1, sy0, sy1);
            pt_rgb color = channels == 3 ? (pt_rgb){v[0], v[1], v[2]} : (pt_rgb){v[0], v[0], v[0]};
            pt_canvas_blend(c, (int)px, (int)py, color, 255);
        }
    }
}

void pt_canvas_blit_gray(pt_canvas *c, int x, int y, int dw, int dh, const uint8_t *src, int sw,
                         int sh)
{
    blit(c, x, y, dw, dh, src, sw, sh, 1);
}

void pt_canvas_blit_rgb(pt_canvas *c, int x, int y, int dw, int dh, const uint8_t *src, int sw,
                        int sh)
{
    blit(c, x, y, dw, dh, src, sw, sh, 3);
}
