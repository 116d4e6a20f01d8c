/* Plots: every figure decodes as a PNG of the documented size, data lands on the right pixels in
 * the right colours, odd input (no data, NaN, one point, flat lines, long text) draws cleanly, and
 * failures name the file. Also the canvas underneath: clipping, the coverage scratch, the fonts. */
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpdir.h"
#include "canvas.h"
#include "ptrain/cam.h"
#include "ptrain/image.h"
#include "plot.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static char tmp_dir[128];

static void make_tmp_dir(void)
{
    cr_assert_eq(fixture_mkdtemp(tmp_dir, sizeof tmp_dir), 0, "mkdtemp failed");
}

static void remove_tmp_dir(void)
{
    fixture_rmtree(tmp_dir);
}

TestSuite(plot, .init = make_tmp_dir, .fini = remove_tmp_dir);
TestSuite(canvas);

static const char *tmp_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

/* The picture as RGB, read with libpng directly. */
typedef struct rgb_image {
    int w, h;
    uint8_t *px;
} rgb_image;

static rgb_image read_rgb(const char *path)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, path), "%s: %s", path, img.message);
    img.format = PNG_FORMAT_RGB;
    rgb_image out = {(int)img.width, (int)img.height, malloc(PNG_IMAGE_SIZE(img))};
    cr_assert_not_null(out.px);
    cr_assert(png_image_finish_read(&img, NULL, out.px, 0, NULL), "%s: %s", path, img.message);
    return out;
}

static const uint8_t *at(const rgb_image *im, int x, int y)
{
    cr_assert(x >= 0 && y >= 0 && x < im->w && y < im->h, "pixel (%d, %d) outside %dx%d", x, y,
              im->w, im->h);
    return im->px + 3 * ((size_t)y * im->w + x);
}

static int is_blue(const uint8_t *p) /* tab:blue (31, 119, 180), anti-aliased edges aside */
{
    return p[2] > 120 && p[2] > p[0] + 60;
}

static int is_orange(const uint8_t *p) /* tab:orange (255, 127, 14) */
{
    return p[0] > 200 && p[1] > 90 && p[1] < 170 && p[2] < 80;
}

static int is_light(const uint8_t *p) /* white, or the light gray of the grid */
{
    return p[0] >= 225 && p[1] >= 225 && p[2] >= 225;
}

/* Decodes with the project's decoder (gray) and checks the size. */
static void expect_png_size(const char *path, int w, int h)
{
    pt_image img = {0};
    pt_error err;
    pt_decode_opts opts = pt_decode_opts_default();
    int rc = pt_image_decode_file(path, &opts, &img, &err);
    cr_assert_eq(rc, PT_OK, "%s", err.msg);
    if (w > 0)
        cr_assert_eq(img.width, w, "%s: width %d, expected %d", path, img.width, w);
    if (h > 0)
        cr_assert_eq(img.height, h, "%s: height %d, expected %d", path, img.height, h);
    pt_image_free(&img);
}

/* The plot area, found from the spines: the columns and rows that are black over most of the
 * picture. Inside: x in [x0, x1), y in [y0, y1). */
typedef struct area {
    int x0, x1, y0, y1;
} area;

static area find_plot_area(const rgb_image *im)
{
    int left = -1, right = -1, top = -1, bottom = -1;
    for (int x = 0; x < im->w; x++) {
        int black = 0;
        for (int y = 0; y < im->h; y++)
            black += at(im, x, y)[0] == 0 && at(im, x, y)[1] == 0 && at(im, x, y)[2] == 0;
        if (black > im->h * 6 / 10) {
            if (left < 0)
                left = x;
            right = x;
        }
    }
    for (int y = 0; y < im->h; y++) {
        int black = 0;
        for (int x = 0; x < im->w; x++)
            black += at(im, x, y)[0] == 0 && at(im, x, y)[1] == 0 && at(im, x, y)[2] == 0;
        if (black > im->w * 6 / 10) {
            if (top < 0)
                top = y;
            bottom = y;
        }
    }
    cr_assert(left >= 0 && right > left + 100 && top >= 0 && bottom > top + 100,
              "no frame found: columns %d..%d, rows %d..%d", left, right, top, bottom);
    return (area){left + 1, right, top + 1, bottom};
}

/* Pixel of data value (x, y) in view limits [lo, hi] on both axes' own ranges. */
static int px_of(const area *a, double v, double lo, double hi)
{
    return a->x0 + (int)floor((v - lo) / (hi - lo) * (a->x1 - a->x0));
}

static int py_of(const area *a, double v, double lo, double hi)
{
    return a->y0 + (int)floor((1.0 - (v - lo) / (hi - lo)) * (a->y1 - a->y0));
}

/* Is some pixel within r of (x, y) accepted by pred? */
static int near(const rgb_image *im, int x, int y, int r, int (*pred)(const uint8_t *))
{
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++)
            if (x + dx >= 0 && y + dy >= 0 && x + dx < im->w && y + dy < im->h &&
                pred(at(im, x + dx, y + dy)))
                return 1;
    return 0;
}

/* ---- line plots ------------------------------------------------------------------------------ */

Test(plot, line_of_y_equals_x_is_where_it_should_be_and_nowhere_else)
{
    enum { N = 41 }; /* more than 30 points: a plain line, no markers */
    double x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = y[i] = i * 0.25; /* 0 .. 10 */
    pt_plot_series s = {NULL, x, y, N};
    pt_error err;
    const char *path = tmp_path("diag.png");
    cr_assert_eq(pt_plot_lines(path, "y = x", "x", "y", &s, 1, &err), PT_OK, "%s", err.msg);
    expect_png_size(path, 800, 600);

    rgb_image im = read_rgb(path);
    area a = find_plot_area(&im);
    /* Data 0..10 with the documented 5% margin: view -0.5 .. 10.5 on both axes. */
    const double lo = -0.5, hi = 10.5;
    for (double v = 1.0; v <= 9.0; v += 0.5) {
        int px = px_of(&a, v, lo, hi), py = py_of(&a, v, lo, hi);
        cr_assert(near(&im, px, py, 1, is_blue), "no line at data (%g, %g), pixel (%d, %d)", v, v,
                  px, py);
    }
    /* Far from the line: nothing blue anywhere in the plot area. */
    double ax = px_of(&a, 0, lo, hi) + 0.5, ay = py_of(&a, 0, lo, hi) + 0.5;
    double bx = px_of(&a, 10, lo, hi) + 0.5, by = py_of(&a, 10, lo, hi) + 0.5;
    int blue = 0;
    for (int py = a.y0; py < a.y1; py++) {
        for (int px = a.x0; px < a.x1; px++) {
            double dx = bx - ax, dy = by - ay;
            double t = ((px + 0.5 - ax) * dx + (py + 0.5 - ay) * dy) / (dx * dx + dy * dy);
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double d = hypot(px + 0.5 - (ax + t * dx), py + 0.5 - (ay + t * dy));
            const uint8_t *p = at(&im, px, py);
            if (d > 6)
                cr_assert(is_light(p), "pixel (%d, %d), %.0f px from the line, is %d,%d,%d", px, py,
                          d, p[0], p[1], p[2]);
            blue += is_blue(p);
        }
    }
    double len = hypot(bx - ax, by - ay);
    cr_assert(blue > 1.5 * len, "line too thin: %d blue pixels along %.0f px", blue, len);
    free(im.px);
}

Test(plot, series_get_distinct_colours_in_order)
{
    double x[2] = {0, 10}, low[2] = {2, 2}, high[2] = {8, 8};
    pt_plot_series s[2] = {{"low", x, low, 2}, {"high", x, high, 2}};
    pt_error err;
    const char *path = tmp_path("two.png");
    cr_assert_eq(pt_plot_lines(path, "two", "x", "y", s, 2, &err), PT_OK, "%s", err.msg);
    rgb_image im = read_rgb(path);
    area a = find_plot_area(&im);
    /* x view -0.5 .. 10.5, y view 1.7 .. 8.3 */
    int px = px_of(&a, 5, -0.5, 10.5);
    cr_assert(near(&im, px, py_of(&a, 2, 1.7, 8.3), 1, is_blue), "first series is not blue");
    cr_assert(near(&im, px, py_of(&a, 8, 1.7, 8.3), 1, is_orange), "second series is not orange");
    cr_assert(!near(&im, px, py_of(&a, 5, 1.7, 8.3), 10, is_blue));
    cr_assert(!near(&im, px, py_of(&a, 5, 1.7, 8.3), 10, is_orange));
    free(im.px);
}

Test(plot, nan_leaves_a_gap)
{
    double x[11], y[11];
    for (int i = 0; i < 11; i++)
        x[i] = i, y[i] = 5.0;
    y[5] = NAN;
    pt_plot_series s = {"flat", x, y, 11};
    pt_error err;
    const char *path = tmp_path("gap.png");
    cr_assert_eq(pt_plot_lines(path, "gap", "x", "y", &s, 1, &err), PT_OK, "%s", err.msg);
    rgb_image im = read_rgb(path);
    area a = find_plot_area(&im);
    /* All y equal to 5: a window of +-5% around it, 4.75 .. 5.25. */
    int py = py_of(&a, 5, 4.75, 5.25);
    cr_assert(near(&im, px_of(&a, 2.5, -0.5, 10.5), py, 1, is_blue), "no line between 2 and 3");
    cr_assert(near(&im, px_of(&a, 7.5, -0.5, 10.5), py, 1, is_blue), "no line between 7 and 8");
    cr_assert(!near(&im, px_of(&a, 5, -0.5, 10.5), py, 8, is_blue), "the NaN point was bridged");
    free(im.px);
}

Test(plot, odd_input_draws_cleanly)
{
    char long_text[3000];
    memset(long_text, 'M', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    long_text[10] = '\n';
    long_text[20] = '\t';
    long_text[30] = (char)0xC3; /* a byte outside ASCII */
    double one_x = 3, one_y = 0.25;
    double x[5] = {1, 2, 3, 4, 5}, flat[5] = {7, 7, 7, 7, 7};
    double nan[5] = {NAN, NAN, NAN, NAN, NAN}, zero[5] = {0, 0, 0, 0, 0};
    double wild[5] = {-INFINITY, 1e308, -1e308, NAN, 1};
    pt_plot_series s[6] = {
        {long_text, &one_x, &one_y, 1}, {"flat", x, flat, 5}, {"nan", x, nan, 5},
        {"zero", x, zero, 5},           {"wild", x, wild, 5}, {"", NULL, NULL, 0}};
    pt_error err;
    const char *path = tmp_path("odd.png");
    for (int k = 0; k <= 6; k++) {
        cr_assert_eq(pt_plot_lines(path, long_text, long_text, long_text, s, k, &err), PT_OK,
                     "%d series: %s", k, err.msg);
        expect_png_size(path, 800, 600);
    }
    /* each kind alone, so every auto range gets its turn */
    for (int k = 0; k < 6; k++) {
        cr_assert_eq(pt_plot_lines(path, NULL, NULL, NULL, &s[k], 1, &err), PT_OK, "%s", err.msg);
        expect_png_size(path, 800, 600);
    }
    cr_assert_eq(pt_plot_lines(path, "", "", "", NULL, 0, &err), PT_OK, "%s", err.msg);
}

Test(plot, tick_labels_are_not_blank)
{
    /* The spines found and something black (tick labels) left of and below them. */
    double xs[3] = {1, 2, 3}, ys[3] = {0.1, 0.5, 0.3};
    pt_plot_series s = {"a", xs, ys, 3};
    pt_error err;
    const char *path = tmp_path("ticks.png");
    cr_assert_eq(pt_plot_lines(path, NULL, NULL, NULL, &s, 1, &err), PT_OK, "%s", err.msg);
    rgb_image im = read_rgb(path);
    area a = find_plot_area(&im);
    int left_ink = 0, below_ink = 0;
    for (int y = a.y0; y < a.y1; y++)
        for (int x = 0; x < a.x0 - 8; x++)
            left_ink += at(&im, x, y)[0] < 80;
    for (int y = a.y1 + 8; y < im.h; y++)
        for (int x = a.x0; x < a.x1; x++)
            below_ink += at(&im, x, y)[0] < 80;
    cr_assert_gt(left_ink, 50, "no y tick labels");
    cr_assert_gt(below_ink, 20, "no x tick labels"); /* "1", "2", "3" */
    free(im.px);
}

/* ---- ROC ------------------------------------------------------------------------------------- */

static int is_red(const uint8_t *p) /* tab:red (214, 39, 40) */
{
    return p[0] > 170 && p[1] < 90 && p[2] < 90;
}

static int is_chance_gray(const uint8_t *p)
{
    return abs(p[0] - p[1]) < 8 && abs(p[1] - p[2]) < 8 && p[0] > 130 && p[0] < 215;
}

Test(plot, roc_is_square_with_curve_diagonal_and_operating_point)
{
    double fpr[3] = {0, 0, 1}, tpr[3] = {0, 1, 1}; /* a perfect classifier */
    double op[2] = {0.0, 1.0};
    double op_mid[2] = {0.3, 0.6};
    pt_error err;
    const char *path = tmp_path("roc.png");
    cr_assert_eq(pt_plot_roc(path, "ROC", fpr, tpr, 3, 1.0, op_mid, &err), PT_OK, "%s", err.msg);
    expect_png_size(path, 640, 640);
    rgb_image im = read_rgb(path);
    area a = find_plot_area(&im);
    int w = a.x1 - a.x0, h = a.y1 - a.y0;
    cr_assert(abs(w - h) <= 1, "plot area %dx%d is not square", w, h);
    const double lo = -0.02, hi = 1.02;
    /* the curve runs up the left edge (fpr 0) and along the top (tpr 1) */
    cr_assert(near(&im, px_of(&a, 0, lo, hi), py_of(&a, 0.3, lo, hi), 1, is_blue));
    cr_assert(near(&im, px_of(&a, 0.5, lo, hi), py_of(&a, 1, lo, hi), 1, is_blue));
    /* the chance diagonal: dashed, so look along a stretch of it */
    int gray = 0;
    for (double v = 0.2; v <= 0.4; v += 0.01)
        gray += near(&im, px_of(&a, v, lo, hi), py_of(&a, v, lo, hi), 1, is_chance_gray);
    cr_assert_gt(gray, 5, "no chance diagonal");
    cr_assert(near(&im, px_of(&a, 0.3, lo, hi), py_of(&a, 0.6, lo, hi), 1, is_red),
              "no operating point");
    cr_assert(!near(&im, px_of(&a, 0.6, lo, hi), py_of(&a, 0.3, lo, hi), 6, is_blue));
    free(im.px);

    cr_assert_eq(pt_plot_roc(path, NULL, NULL, NULL, 0, NAN, op, &err), PT_OK, "%s", err.msg);
    expect_png_size(path, 640, 640);
    pt_plot_series many[3] = {{"a", fpr, tpr, 3}, {"b", fpr, tpr, 2}, {NULL, NULL, NULL, 0}};
    cr_assert_eq(pt_plot_roc_curves(path, "three", many, 3, NULL, &err), PT_OK, "%s", err.msg);
    expect_png_size(path, 640, 640);
}

/* ---- confusion matrix ------------------------------------------------------------------------ */

/* Centroid of the pixels within tol of colour (r, g, b). */
static int centroid(const rgb_image *im, int r, int g, int b, int tol, double *cx, double *cy)
{
    double sx = 0, sy = 0;
    int n = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            const uint8_t *p = at(im, x, y);
            if (abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol)
                sx += x, sy += y, n++;
        }
    *cx = n ? sx / n : NAN;
    *cy = n ? sy / n : NAN;
    return n;
}

Test(plot, confusion_darkest_cell_holds_the_largest_count)
{
    /* rows = true, columns = predicted; the largest count bottom-left, a zero top-right */
    int64_t m[9] = {40, 25, 0, 30, 45, 20, 90, 10, 35};
    const char *names[3] = {"normal", "bacteria", "virus"};
    pt_error err;
    const char *path = tmp_path("confusion.png");
    cr_assert_eq(pt_plot_confusion(path, "confusion", m, 3, names, &err), PT_OK, "%s", err.msg);
    expect_png_size(path, 0, 0);
    rgb_image im = read_rgb(path);
    double dark_x, dark_y, light_x, light_y;
    int n_dark = centroid(&im, 8, 48, 107, 3, &dark_x, &dark_y);       /* Blues at its top */
    int n_light = centroid(&im, 247, 251, 255, 1, &light_x, &light_y); /* Blues at zero */
    cr_assert_gt(n_dark, 1000, "no dark cell (%d pixels)", n_dark);
    cr_assert_gt(n_light, 1000, "no light cell (%d pixels)", n_light);
    /* two columns left and two rows down of the zero cell, in square cells */
    double dx = light_x - dark_x, dy = dark_y - light_y;
    cr_assert_gt(dx, 100, "darkest cell not left of the empty one (dx %.0f)", dx);
    cr_assert_gt(dy, 100, "darkest cell not below the empty one (dy %.0f)", dy);
    cr_assert(fabs(dx - dy) < 0.1 * dx, "cells not square: dx %.0f, dy %.0f", dx, dy);
    /* the count in the dark cell is written in white */
    int white = 0;
    for (int y = (int)dark_y - 20; y < (int)dark_y + 20; y++)
        for (int x = (int)dark_x - 20; x < (int)dark_x + 20; x++)
            white += at(&im, x, y)[0] == 255 && at(&im, x, y)[2] == 255;
    cr_assert_gt(white, 10, "no white text on the dark cell");
    free(im.px);
}

Test(plot, confusion_odd_input)
{
    pt_error err;
    const char *path = tmp_path("confusion.png");
    int64_t one = 7, zeros[4] = {0};
    cr_assert_eq(pt_plot_confusion(path, NULL, &one, 1, NULL, &err), PT_OK, "%s", err.msg);
    expect_png_size(path, 0, 0);
    cr_assert_eq(pt_plot_confusion(path, "zeros", zeros, 2, NULL, &err), PT_OK, "%s", err.msg);
    int64_t big[4] = {INT64_MAX / 2, 1, 0, 123456789012345LL};
    const char *long_names[2] = {"a class name far too long for any axis of any plot", NULL};
    cr_assert_eq(pt_plot_confusion(path, "big", big, 2, long_names, &err), PT_OK, "%s", err.msg);
    int64_t *m = calloc(64 * 64, sizeof *m);
    cr_assert_not_null(m);
    for (int i = 0; i < 64; i++)
        m[i * 64 + i] = 1000 + i;
    cr_assert_eq(pt_plot_confusion(path, "64", m, 64, NULL, &err), PT_OK, "%s", err.msg);
    expect_png_size(path, 0, 0);
    free(m);
}

/* ---- image grid ------------------------------------------------------------------------------ */

Test(plot, image_grid_shows_every_image_whole_and_in_order)
{
    enum { N = 3, H = 20, W = 30 };
    const uint8_t level[N] = {30, 90, 150};
    uint8_t images[N * H * W];
    for (int i = 0; i < N; i++)
        memset(images + i * H * W, level[i], H * W);
    const char *captions[N] = {"true normal\np(pneumonia) = 0.97", NULL,
                               "a caption far longer than its tile is wide, cut short"};
    pt_error err;
    const char *path = tmp_path("grid.png");
    cr_assert_eq(pt_plot_image_grid(path, "mistakes", images, N, H, W, captions, 2, &err), PT_OK,
                 "%s", err.msg);
    expect_png_size(path, 0, 0);
    rgb_image im = read_rgb(path);
    double cx[N], cy[N];
    int count[N];
    for (int i = 0; i < N; i++)
        count[i] = centroid(&im, level[i], level[i], level[i], 0, &cx[i], &cy[i]);
    int zoom2 = count[0] / (H * W);
    int zoom = (int)lround(sqrt(zoom2));
    cr_assert(count[0] % (H * W) == 0 && zoom * zoom == zoom2 && zoom >= 2,
              "image 0 covers %d pixels: not a whole-number zoom of %dx%d", count[0], W, H);
    cr_assert_eq(count[1], count[0]);
    cr_assert_eq(count[2], count[0]);
    cr_assert_lt(cx[0], cx[1], "second image not right of the first");
    cr_assert(fabs(cy[0] - cy[1]) < 1, "first row not level");
    cr_assert_gt(cy[2], cy[0] + H * zoom, "third image not on the second row");
    cr_assert(fabs(cx[2] - cx[0]) < 1, "third image not under the first");
    free(im.px);
}

/* Pixels of im, inside columns [x0, x1), that are clearly coloured (not gray, black or white). */
static int coloured_pixels(const rgb_image *im, int x0, int x1)
{
    int n = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = x0; x < x1; x++) {
            const uint8_t *p = at(im, x, y);
            int hi = p[0] > p[1] ? p[0] : p[1], lo = p[0] < p[1] ? p[0] : p[1];
            hi = p[2] > hi ? p[2] : hi, lo = p[2] < lo ? p[2] : lo;
            n += hi - lo > 60;
        }
    return n;
}

/* Heat-map overlays: the RGB grid has the gray grid's layout, and colour shows exactly where an
 * overlay had heat (the left of the first film); a film with no heat stays its own gray. */
Test(plot, image_grid_rgb_shows_the_overlays_colour_where_the_heat_is)
{
    enum { N = 2, H = 20, W = 30 };
    uint8_t gray[N * H * W];
    memset(gray, 100, sizeof gray);
    /* heat on the left of film 0 (map 1 x 2: hot, cold); none at all on film 1 */
    const float maps[N][2] = {{1.0f, 0.0f}, {0.0f, 0.0f}};
    uint8_t rgb[N * H * W * 3];
    pt_cam_geometry geo = {W, H, PT_FIT_STRETCH};
    pt_error err;
    for (int i = 0; i < N; i++) {
        pt_image film = {W, H, gray + i * H * W};
        cr_assert_eq(pt_cam_overlay(maps[i], 1, 2, &geo, &film, rgb + i * H * W * 3, &err), PT_OK,
                     "%s", err.msg);
    }
    char gray_path[256], rgb_path[256]; /* tmp_path's buffer is reused: copies */
    snprintf(gray_path, sizeof gray_path, "%s", tmp_path("gray.png"));
    snprintf(rgb_path, sizeof rgb_path, "%s", tmp_path("rgb.png"));
    cr_assert_eq(pt_plot_image_grid(gray_path, "heat", gray, N, H, W, NULL, 2, &err), PT_OK, "%s",
                 err.msg);
    cr_assert_eq(pt_plot_image_grid_rgb(rgb_path, "heat", rgb, N, H, W, NULL, 2, &err), PT_OK, "%s",
                 err.msg);
    rgb_image g = read_rgb(gray_path), c = read_rgb(rgb_path);
    /* two 30x20 tiles zoomed 6x (180 wide) with 16-pixel margins and gap */
    cr_assert_eq(c.w, 16 + 180 + 16 + 180 + 16, "width %d", c.w);
    cr_assert_eq(c.w, g.w);
    cr_assert_eq(c.h, g.h, "RGB grid %d high, gray grid %d", c.h, g.h);
    cr_assert_eq(coloured_pixels(&g, 0, g.w), 0, "the gray grid has colour");
    int tile0 = 16, tile1 = 16 + 180 + 16;
    /* the map's hot cell covers film columns 0..7 fully (heat 1, drawn 6x: 45 pixels), its cold
     * cell columns 23..29 (heat 0: the film untouched) */
    int hot = coloured_pixels(&c, tile0, tile0 + 45),
        cold = coloured_pixels(&c, tile0 + 138, tile1);
    cr_assert_eq(hot, 45 * 120, "%d of the hot quarter's %d pixels coloured", hot, 45 * 120);
    cr_assert_eq(cold, 0, "%d coloured pixels where film 0 had no heat", cold);
    cr_assert_eq(coloured_pixels(&c, tile1, c.w), 0, "film 1 had no heat but shows colour");
    double cx, cy;
    int untouched = centroid(&c, 100, 100, 100, 0, &cx, &cy);
    cr_assert_geq(untouched, 180 * 120, "film 1 is not its own gray: %d pixels", untouched);
    free(g.px);
    free(c.px);
}

Test(plot, image_grid_odd_input)
{
    pt_error err;
    const char *path = tmp_path("grid.png");
    cr_assert_eq(pt_plot_image_grid(path, "none", NULL, 0, 0, 0, NULL, 0, &err), PT_OK, "%s",
                 err.msg);
    expect_png_size(path, 0, 0);
    uint8_t big[300 * 500];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    const char *cap[1] = {"one\ntwo\nthree\nfour\n"};
    cr_assert_eq(pt_plot_image_grid(path, NULL, big, 1, 300, 500, cap, 5, &err), PT_OK, "%s",
                 err.msg);
    uint8_t thin[1 * 400];
    memset(thin, 128, sizeof thin);
    cr_assert_eq(pt_plot_image_grid(path, "thin", thin, 1, 1, 400, NULL, 0, &err), PT_OK, "%s",
                 err.msg);
    expect_png_size(path, 0, 0);
}

/* ---- errors ---------------------------------------------------------------------------------- */

Test(plot, unwritable_path_is_an_io_error_naming_it)
{
    const char *path = "/nonexistent-ptrain-dir/plot.png";
    double x[2] = {0, 1}, y[2] = {0, 1};
    pt_plot_series s = {"a", x, y, 2};
    int64_t m[4] = {1, 2, 3, 4};
    uint8_t img[4] = {0};
    pt_error err;
    int rc[5] = {
        pt_plot_lines(path, "t", "x", "y", &s, 1, &err),
        pt_plot_roc(path, "t", x, y, 2, 0.5, NULL, &err),
        pt_plot_roc_curves(path, "t", &s, 1, NULL, &err),
        pt_plot_confusion(path, "t", m, 2, NULL, &err),
        pt_plot_image_grid(path, "t", img, 1, 2, 2, NULL, 0, &err),
    };
    for (int i = 0; i < 5; i++)
        cr_assert_eq(rc[i], PT_ERR_IO, "call %d returned %d", i, rc[i]);
    /* err holds the last message; check each in turn */
    cr_assert_eq(pt_plot_lines(path, "t", "x", "y", &s, 1, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    cr_assert_eq(pt_plot_confusion(path, "t", m, 2, NULL, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    cr_assert_eq(pt_plot_image_grid(path, "t", img, 1, 2, 2, NULL, 0, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    cr_assert_eq(pt_plot_roc(path, "t", x, y, 2, 0.5, NULL, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    cr_assert_eq(access(path, F_OK), -1);
}

Test(plot, bad_arguments_are_invalid_and_name_the_path)
{
    const char *path = tmp_path("bad.png");
    double x[2] = {0, 1};
    pt_plot_series missing_y = {"a", x, NULL, 2};
    pt_plot_series negative = {"a", x, x, -1};
    int64_t neg[4] = {1, -2, 3, 4};
    pt_error err;
    cr_assert_eq(pt_plot_lines(path, "t", "x", "y", &missing_y, 1, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    cr_assert_eq(pt_plot_lines(path, "t", "x", "y", &negative, 1, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_plot_lines(path, "t", "x", "y", NULL, 2, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_plot_lines(path, "t", "x", "y", &negative, -1, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_plot_roc(path, "t", NULL, NULL, 5, 0.5, NULL, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_plot_confusion(path, "t", neg, 2, NULL, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    cr_assert_eq(pt_plot_confusion(path, "t", neg, 0, NULL, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_plot_confusion(path, "t", neg, 65, NULL, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_plot_confusion(path, "t", NULL, 2, NULL, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_plot_image_grid(path, "t", NULL, 2, 4, 4, NULL, 0, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    cr_assert_eq(pt_plot_image_grid(path, "t", (uint8_t[4]){0}, 1, 0, 4, NULL, 0, &err),
                 PT_ERR_INVALID);
    cr_assert_eq(pt_plot_lines(NULL, "t", "x", "y", NULL, 0, &err), PT_ERR_INVALID);
    cr_assert_eq(access(path, F_OK), -1, "a failed call left a file behind");
}

/* ---- canvas and fonts ------------------------------------------------------------------------ */

static int glyph_ink(const pt_font *f, int ch)
{
    int ink = 0;
    for (int r = 0; r < f->height; r++)
        ink += f->bits[(ch - 32) * f->height + r] != 0;
    return ink;
}

Test(canvas, every_printable_glyph_has_ink_and_space_has_none)
{
    const pt_font *fonts[2] = {&pt_font_6x13, &pt_font_9x15};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(glyph_ink(fonts[k], ' '), 0);
        for (int ch = 33; ch <= 126; ch++)
            cr_assert_gt(glyph_ink(fonts[k], ch), 0, "font %d: '%c' is blank", k, ch);
        /* ink stays inside the cell: no bit right of the advance */
        for (int i = 0; i < 95 * fonts[k]->height; i++)
            if (fonts[k]->advance < 8)
                cr_assert_eq(fonts[k]->bits[i] & (0xFF >> fonts[k]->advance), 0,
                             "font %d: byte %d spills out of its %d-pixel cell", k, i,
                             fonts[k]->advance);
    }
    cr_assert_eq(pt_text_width(&pt_font_6x13, 1, "abc"), 18);
    cr_assert_eq(pt_text_width(&pt_font_9x15, 2, "abc"), 54);
    /* 'l' and '1' differ, 'O' and '0' differ: the table is not shifted by a glyph */
    cr_assert(memcmp(pt_font_6x13.bits + ('l' - 32) * 13, pt_font_6x13.bits + ('1' - 32) * 13, 13));
    cr_assert(memcmp(pt_font_9x15.bits + ('O' - 32) * 15, pt_font_9x15.bits + ('0' - 32) * 15, 15));
}

static int64_t count_non_white(const pt_canvas *c, int x0, int y0, int x1, int y1)
{
    int64_t n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const uint8_t *p = c->rgb + 3 * ((size_t)y * c->width + x);
            n += p[0] != 255 || p[1] != 255 || p[2] != 255;
        }
    return n;
}

Test(canvas, drawing_is_clipped_and_leaves_the_scratch_clean)
{
    pt_canvas c;
    pt_error err;
    cr_assert_eq(pt_canvas_init(&c, 120, 80, (pt_rgb){255, 255, 255}, &err), PT_OK);
    pt_canvas_clip(&c, 20, 10, 40, 30);
    pt_rgb ink = {10, 20, 30};
    pt_canvas_line(&c, -1e300, -1e300, 1e300, 1e300, 9, ink);
    pt_canvas_line(&c, 0, 0, 119, 79, 6, ink);
    pt_canvas_line(&c, NAN, 0, 50, 50, 6, ink);
    pt_canvas_disc(&c, 40, 25, 1000, ink);
    pt_canvas_fill_rect(&c, -50, -50, 1000, 1000, ink);
    pt_canvas_text(&c, &pt_font_9x15, 3, -7, -7, PT_ALIGN_LEFT, 0, "clipped text", ink);
    pt_canvas_text_up(&c, &pt_font_6x13, 2, 100, 200, PT_ALIGN_CENTER, 0, "vertical", ink);
    uint8_t img[9] = {0, 50, 100, 150, 200, 250, 0, 0, 0};
    pt_canvas_blit_gray(&c, -100, -100, 1000, 1000, img, 3, 3);
    cr_assert_eq(count_non_white(&c, 0, 0, 120, 10), 0, "drawn above the clip box");
    cr_assert_eq(count_non_white(&c, 0, 40, 120, 80), 0, "drawn below the clip box");
    cr_assert_eq(count_non_white(&c, 0, 0, 20, 80), 0, "drawn left of the clip box");
    cr_assert_eq(count_non_white(&c, 60, 0, 120, 80), 0, "drawn right of the clip box");
    cr_assert_eq(count_non_white(&c, 20, 10, 60, 40), 40 * 30);
    for (int i = 0; i < 120 * 80; i++)
        cr_assert_eq(c.cover[i], 0, "coverage scratch not cleared at %d", i);

    /* unclipped, everything at and beyond the edges: no write outside (ASan would tell) */
    pt_canvas_unclip(&c);
    char long_text[5000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    for (int s = 1; s <= 3; s++) {
        pt_canvas_text(&c, &pt_font_6x13, s, 117, 77, PT_ALIGN_LEFT, 0, long_text, ink);
        pt_canvas_text(&c, &pt_font_6x13, s, 3, 3, PT_ALIGN_RIGHT, 0, long_text, ink);
        pt_canvas_text_up(&c, &pt_font_6x13, s, 117, 2, PT_ALIGN_LEFT, 0, long_text, ink);
        pt_canvas_text_up(&c, &pt_font_6x13, s, -3, 78, PT_ALIGN_RIGHT, 0, long_text, ink);
    }
    pt_canvas_polyline(&c, (double[]){-5, 200, INFINITY, 60}, (double[]){-5, 90, 0, 1e308}, 4, 3, 4,
                       2, ink);
    for (int i = 0; i < 120 * 80; i++)
        cr_assert_eq(c.cover[i], 0, "coverage scratch not cleared at %d", i);
    pt_canvas_free(&c);
    pt_canvas_free(&c); /* twice is safe */
}

Test(canvas, text_is_cut_to_the_width_with_an_ellipsis)
{
    pt_canvas c;
    pt_error err;
    cr_assert_eq(pt_canvas_init(&c, 200, 20, (pt_rgb){255, 255, 255}, &err), PT_OK);
    int w = pt_canvas_text(&c, &pt_font_6x13, 1, 0, 0, PT_ALIGN_LEFT, 60, "abcdefghijklmnop",
                           (pt_rgb){0, 0, 0});
    cr_assert_eq(w, 60); /* 7 characters and "..." */
    cr_assert_eq(count_non_white(&c, 60, 0, 200, 20), 0, "text ran past its width");
    cr_assert_gt(count_non_white(&c, 42, 0, 60, 20), 0, "no ellipsis");
    cr_assert_eq(
        pt_canvas_text(&c, &pt_font_6x13, 1, 0, 0, PT_ALIGN_LEFT, 60, "short", (pt_rgb){0, 0, 0}),
        30);
    pt_canvas_free(&c);
}

Test(canvas, init_rejects_bad_sizes)
{
    pt_canvas c;
    pt_error err;
    cr_assert_eq(pt_canvas_init(&c, 0, 10, (pt_rgb){0, 0, 0}, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_canvas_init(&c, 10, -1, (pt_rgb){0, 0, 0}, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_canvas_init(&c, 100000, 100000, (pt_rgb){0, 0, 0}, &err), PT_ERR_TOO_LARGE);
    cr_assert_null(c.rgb);
}
