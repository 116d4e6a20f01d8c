/* Figures for the run directory, drawn on a pt_canvas and written as PNG.
 *
 * Line plots and ROC curves share one frame: the plot area with its spines, ticks at round steps
 * (1, 2, 2.5 or 5 times a power of ten, as matplotlib's MaxNLocator picks them), tick labels with
 * just enough decimals, axis labels, a title and a legend. The layout is computed before the canvas
 * exists: the widest y tick label decides the left margin, which decides the room for x ticks. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"

#define WHITE      ((pt_rgb){255, 255, 255})
#define INK        ((pt_rgb){0, 0, 0})
#define GRID       ((pt_rgb){232, 232, 232})
#define LEGEND_RIM ((pt_rgb){204, 204, 204})
#define MUTED      ((pt_rgb){128, 128, 128})

#define FONT_SMALL (&pt_font_6x13) /* ticks, axis labels, legend, captions */
#define FONT_TITLE (&pt_font_9x15)

#define PAD       12   /* canvas edge to any text */
#define TICK_LEN  5    /* outward ticks */
#define TICK_GAP  3    /* tick to its label */
#define LINE_W    2.25 /* data lines: matplotlib's 1.5 pt at 100 dpi */
#define MARKER_R  3.5
#define MAX_MARKS 30 /* series with at most this many points get markers */

/* matplotlib's default colour cycle, tab10. */
static pt_rgb tab10(int i)
{
    const pt_rgb cycle[10] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                              {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                              {188, 189, 34},  {23, 190, 207}};
    return cycle[i % 10];
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* A value a plot can place: finite and far from overflow when scaled. */
static int usable(double v)
{
    return isfinite(v) && fabs(v) < 1e300;
}

/* ---- text helpers ---------------------------------------------------------------------------- */

/* Text centred on cx, at most max_w wide, kept inside [PAD, width - PAD] and cut to fit. */
static void text_centred(pt_canvas *c, const pt_font *f, int cx, int y, int max_w, const char *s,
                         pt_rgb col)
{
    int room = c->width - 2 * PAD;
    room = max_w < room ? max_w : room;
    int w = pt_text_width(f, 1, s);
    if (w > room)
        w = room - room % f->advance;
    int x = cx - w / 2;
    if (x + w > c->width - PAD)
        x = c->width - PAD - w;
    if (x < PAD)
        x = PAD;
    pt_canvas_text(c, f, 1, x, y, PT_ALIGN_LEFT, room, s, col);
}

/* Height of the band above the plot area: the title and the space around it. */
static int title_band(const char *title)
{
    return title && *title ? PAD + FONT_TITLE->height + 14 : 2 * PAD;
}

/* ---- axes ------------------------------------------------------------------------------------ */

typedef struct axis {
    double lo, hi; /* view limits */
    double step;   /* tick spacing */
    int integer;   /* ticks on whole numbers only */
} axis;

/* View limits around data [dlo, dhi]: a 5% margin, or a small window around a single value. */
static axis axis_fit(double dlo, double dhi, int integer)
{
    axis a = {0.0, 1.0, 0.2, integer};
    if (!(dlo <= dhi))
        return a; /* no data */
    double span = dhi - dlo;
    if (!(span > 1e-12 * fmax(fabs(dlo), fabs(dhi)))) {
        double pad = integer ? 1.0 : dlo != 0 ? fabs(dlo) * 0.05 : 0.05;
        a.lo = dlo - pad;
        a.hi = dhi + pad;
    } else {
        a.lo = dlo - 0.05 * span;
        a.hi = dhi + 0.05 * span;
    }
    return a;
}

/* Smallest round step that splits the view into at most bins intervals. */
static double nice_step(const axis *a, int bins)
{
    if (bins < 1)
        bins = 1;
    double raw = (a->hi - a->lo) / bins;
    if (!(raw > 0) || !isfinite(raw))
        return 1.0;
    double mag = pow(10.0, floor(log10(raw)));
    const double mult[] = {1.0, 2.0, 2.5, 5.0, 10.0};
    double step = 10.0 * mag;
    for (int i = 0; i < 5; i++) {
        double s = mult[i] * mag;
        if (s < raw * (1 - 1e-9))
            continue;
        if (a->integer && fabs(s - round(s)) > 1e-9)
            continue;
        step = s;
        break;
    }
    if (a->integer && step < 1)
        step = 1;
    return step;
}

/* Tick k of the axis sits at k * step; these are the first and last within the view. */
static void tick_range(const axis *a, int64_t *k0, int64_t *k1)
{
    double lo = a->lo / a->step, hi = a->hi / a->step;
    if (!(fabs(lo) < 1e15 && fabs(hi) < 1e15)) {
        *k0 = 0, *k1 = -1; /* a step too small to count in: no ticks rather than a bad cast */
        return;
    }
    *k0 = (int64_t)ceil(lo - 1e-9);
    *k1 = (int64_t)floor(hi + 1e-9);
    if (*k1 - *k0 > 200)
        *k1 = *k0 + 200; /* cannot happen with a sane step; a bound all the same */
}

/* Tick label of value v on axis a: as many decimals as the step needs ("0.85", "10", "2.5"), or,
 * when that would be long, scientific notation with as many digits as tell ticks apart
 * ("4.5e+12"). The choice is made per axis, so all its labels look alike. */
static void tick_label(char *buf, size_t cap, double v, const axis *a)
{
    double step = a->step, big = fmax(fabs(a->lo), fabs(a->hi));
    if (fabs(v) < step * 1e-6)
        v = 0.0; /* no "-0.0" */
    int dec = 0;
    for (; dec < 12; dec++) {
        double s = step * pow(10.0, dec);
        if (fabs(s - round(s)) < 1e-6 * s)
            break;
    }
    if (big < 1e7 && dec <= 7) {
        snprintf(buf, cap, "%.*f", dec, v);
        return;
    }
    double e_step = floor(log10(step) + 1e-9);
    double mant = step / pow(10.0, e_step); /* 1, 2, 2.5 or 5 */
    int digits = (int)(floor(log10(big) + 1e-9) - e_step) + 1 + (fabs(mant - round(mant)) > 1e-6);
    digits = digits < 2 ? 2 : digits > 15 ? 15 : digits;
    if (v == 0)
        snprintf(buf, cap, "0");
    else
        snprintf(buf, cap, "%.*e", digits - 1, v);
}

static int max_label_width(const axis *a)
{
    int64_t k0, k1;
    tick_range(a, &k0, &k1);
    int w = 0;
    for (int64_t k = k0; k <= k1; k++) {
        char buf[64];
        tick_label(buf, sizeof buf, (double)k * a->step, a);
        int tw = pt_text_width(FONT_SMALL, 1, buf);
        w = tw > w ? tw : w;
    }
    return w;
}

/* Ticks for an axis length px long with labels at least min_gap apart, wider labels (horizontal
 * axis) taking more. */
static void choose_ticks(axis *a, int length, int min_gap, int horizontal)
{
    int bins = length / min_gap;
    if (bins > 10)
        bins = 10;
    for (;; bins--) {
        a->step = nice_step(a, bins);
        if (!horizontal || bins <= 1)
            return;
        double px = a->step / (a->hi - a->lo) * length;
        if (px >= max_label_width(a) + 14)
            return;
    }
}

/* ---- the frame: plot area, ticks, labels ----------------------------------------------------- */

typedef struct frame {
    int x, y, w, h; /* plot area */
    axis ax, ay;
    const char *title, *xlabel, *ylabel;
} frame;

static double map_x(const frame *f, double v)
{
    return f->x + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * f->w;
}

static double map_y(const frame *f, double v)
{
    return f->y + f->h - (v - f->ay.lo) / (f->ay.hi - f->ay.lo) * f->h;
}

/* Places the plot area in a width x height canvas (square: the area is square, centred in the
 * room left by the labels) and picks the ticks. */
static void frame_layout(frame *f, int width, int height, int square)
{
    int top = title_band(f->title);
    int bottom = TICK_LEN + TICK_GAP + FONT_SMALL->height + PAD;
    if (*or_empty(f->xlabel))
        bottom += 8 + FONT_SMALL->height;
    f->y = top;
    f->h = height - top - bottom;
    choose_ticks(&f->ay, f->h, 46, 0);
    int left = PAD + TICK_LEN + TICK_GAP + 2 + max_label_width(&f->ay);
    if (*or_empty(f->ylabel))
        left += FONT_SMALL->height + 8;
    f->x = left;
    f->w = width - left - 2 * PAD;
    if (square) {
        int side = f->w < f->h ? f->w : f->h;
        f->x += (f->w - side) / 2;
        f->y += (f->h - side) / 2;
        f->w = f->h = side;
    }
    choose_ticks(&f->ax, f->w, 70, 1);
}

static void frame_grid(pt_canvas *c, const frame *f)
{
    int64_t k0, k1;
    tick_range(&f->ax, &k0, &k1);
    for (int64_t k = k0; k <= k1; k++) {
        int px = (int)floor(map_x(f, (double)k * f->ax.step));
        pt_canvas_fill_rect(c, px, f->y, 1, f->h, GRID);
    }
    tick_range(&f->ay, &k0, &k1);
    for (int64_t k = k0; k <= k1; k++) {
        int py = (int)floor(map_y(f, (double)k * f->ay.step));
        pt_canvas_fill_rect(c, f->x, py, f->w, 1, GRID);
    }
}

/* Spines, ticks, tick labels, axis labels and title, drawn over the data. */
static void frame_decorate(pt_canvas *c, const frame *f)
{
    pt_canvas_rect_outline(c, f->x - 1, f->y - 1, f->w + 2, f->h + 2, 1, INK);
    char buf[64];
    int64_t k0, k1;
    int label_top = f->y + f->h + 1 + TICK_LEN + TICK_GAP;
    tick_range(&f->ax, &k0, &k1);
    for (int64_t k = k0; k <= k1; k++) {
        double v = (double)k * f->ax.step;
        int px = (int)floor(map_x(f, v));
        pt_canvas_fill_rect(c, px, f->y + f->h + 1, 1, TICK_LEN, INK);
        tick_label(buf, sizeof buf, v, &f->ax);
        pt_canvas_text(c, FONT_SMALL, 1, px + 1, label_top, PT_ALIGN_CENTER, 0, buf, INK);
    }
    int label_right = f->x - 1 - TICK_LEN - TICK_GAP;
    tick_range(&f->ay, &k0, &k1);
    for (int64_t k = k0; k <= k1; k++) {
        double v = (double)k * f->ay.step;
        int py = (int)floor(map_y(f, v));
        pt_canvas_fill_rect(c, f->x - 1 - TICK_LEN, py, TICK_LEN, 1, INK);
        tick_label(buf, sizeof buf, v, &f->ay);
        pt_canvas_text(c, FONT_SMALL, 1, label_right, py - 6, PT_ALIGN_RIGHT, 0, buf, INK);
    }
    if (*or_empty(f->xlabel))
        text_centred(c, FONT_SMALL, f->x + f->w / 2, label_top + FONT_SMALL->height + 8, f->w,
                     f->xlabel, INK);
    if (*or_empty(f->ylabel))
        pt_canvas_text_up(c, FONT_SMALL, 1, PAD, f->y + f->h / 2, PT_ALIGN_CENTER, f->h, f->ylabel,
                          INK);
    if (*or_empty(f->title))
        text_centred(c, FONT_TITLE, f->x + f->w / 2, PAD, c->width, f->title, INK);
}

/* ---- series and legend ----------------------------------------------------------------------- */

typedef struct legend_entry {
    const char *name;
    pt_rgb color;
    int line;   /* draw a line sample */
    int dashed; /* dashed line sample */
    int marker; /* draw a marker */
} legend_entry;

/* Draws a series in pixel space through scratch arrays xs, ys of s->n entries. */
static void draw_series(pt_canvas *c, const frame *f, const pt_plot_series *s, double *xs,
                        double *ys, double width, double dash, pt_rgb color, int markers)
{
    for (int i = 0; i < s->n; i++) {
        int ok = usable(s->x[i]) && usable(s->y[i]);
        xs[i] = ok ? map_x(f, s->x[i]) : NAN;
        ys[i] = ok ? map_y(f, s->y[i]) : NAN;
    }
    pt_canvas_polyline(c, xs, ys, s->n, width, dash, dash * 0.7, color);
    if (markers)
        for (int i = 0; i < s->n; i++)
            pt_canvas_disc(c, xs[i], ys[i], MARKER_R, color);
}

/* How many sample points of the series' lines fall in the box (legend placement). */
static int64_t points_in_box(const frame *f, const pt_plot_series *s, int n_series, int bx, int by,
                             int bw, int bh)
{
    int64_t hits = 0;
    for (int j = 0; j < n_series; j++) {
        for (int i = 0; i < s[j].n; i++) {
            if (!usable(s[j].x[i]) || !usable(s[j].y[i]))
                continue;
            int has_next = i + 1 < s[j].n && usable(s[j].x[i + 1]) && usable(s[j].y[i + 1]);
            double x0 = map_x(f, s[j].x[i]), y0 = map_y(f, s[j].y[i]);
            double x1 = has_next ? map_x(f, s[j].x[i + 1]) : x0;
            double y1 = has_next ? map_y(f, s[j].y[i + 1]) : y0;
            int steps = has_next ? 16 : 1;
            for (int t = 0; t < steps; t++) {
                double px = x0 + (x1 - x0) * t / steps, py = y0 + (y1 - y0) * t / steps;
                hits += px >= bx - 4 && px < bx + bw + 4 && py >= by - 4 && py < by + bh + 4;
            }
        }
    }
    return hits;
}

/* Legend in a corner of the plot area: 0 upper right, 1 upper left, 2 lower left, 3 lower right,
 * or -1 for the corner where it hides the least of the series (matplotlib's "best"). */
static void draw_legend(pt_canvas *c, const frame *f, const legend_entry *e, int n, int corner,
                        const pt_plot_series *s, int n_series)
{
    const int pad = 8, row = 18, sample = 28, inset = 10;
    int shown = 0, text_w = 0;
    int max_text = f->w / 2;
    for (int i = 0; i < n; i++) {
        if (!*or_empty(e[i].name))
            continue;
        shown++;
        int w = pt_text_width(FONT_SMALL, 1, e[i].name);
        text_w = w > text_w ? w : text_w;
    }
    if (shown == 0)
        return;
    if (text_w > max_text)
        text_w = max_text;
    int bw = pad + sample + 8 + text_w + pad;
    int bh = 2 * pad + shown * row - (row - FONT_SMALL->height);
    int xs[4] = {f->x + f->w - inset - bw, f->x + inset, f->x + inset, f->x + f->w - inset - bw};
    int ys[4] = {f->y + inset, f->y + inset, f->y + f->h - inset - bh, f->y + f->h - inset - bh};
    if (corner < 0 || corner > 3) {
        corner = 0;
        int64_t best = -1;
        for (int k = 0; k < 4; k++) {
            int64_t hits = points_in_box(f, s, n_series, xs[k], ys[k], bw, bh);
            if (best < 0 || hits < best) {
                best = hits;
                corner = k;
            }
        }
    }
    int bx = xs[corner], by = ys[corner];
    for (int y = by; y < by + bh; y++)
        for (int x = bx; x < bx + bw; x++)
            pt_canvas_blend(c, x, y, WHITE, 217);
    pt_canvas_rect_outline(c, bx, by, bw, bh, 1, LEGEND_RIM);
    int ry = by + pad;
    for (int i = 0; i < n; i++) {
        if (!*or_empty(e[i].name))
            continue;
        double cy = ry + 6.5;
        double sx0 = bx + pad, sx1 = bx + pad + sample;
        if (e[i].line) {
            double lx[2] = {sx0, sx1}, ly[2] = {cy, cy};
            pt_canvas_polyline(c, lx, ly, 2, LINE_W, e[i].dashed ? 6.0 : 0.0, 4.0, e[i].color);
        }
        if (e[i].marker)
            pt_canvas_disc(c, (sx0 + sx1) / 2, cy, e[i].line ? MARKER_R : MARKER_R + 1.5,
                           e[i].color);
        pt_canvas_text(c, FONT_SMALL, 1, bx + pad + sample + 8, ry, PT_ALIGN_LEFT, text_w,
                       e[i].name, INK);
        ry += row;
    }
}

/* ---- common checks and output ---------------------------------------------------------------- */

static int check_series(const char *path, const pt_plot_series *s, int n, pt_error *err)
{
    if (n < 0 || n > PT_PLOT_MAX_SERIES || (n > 0 && !s))
        return pt_error_set(err, PT_ERR_INVALID, "%s: cannot plot %d series (at most %d)", path, n,
                            PT_PLOT_MAX_SERIES);
    for (int j = 0; j < n; j++) {
        if (s[j].n < 0)
            return pt_error_set(err, PT_ERR_INVALID, "%s: series %d has %d points", path, j,
                                s[j].n);
        if (s[j].n > 0 && (!s[j].x || !s[j].y))
            return pt_error_set(err, PT_ERR_INVALID, "%s: series %d (%s) has %d points but no %s",
                                path, j, or_empty(s[j].name), s[j].n, !s[j].x ? "x" : "y");
    }
    return PT_OK;
}

static int begin(pt_canvas *c, const char *path, int width, int height, pt_error *err)
{
    pt_error e;
    int rc = pt_canvas_init(c, width, height, WHITE, &e);
    if (rc != PT_OK)
        return pt_error_set(err, rc, "%s: %s", path, e.msg);
    return PT_OK;
}

static int finish(pt_canvas *c, const char *path, pt_error *err)
{
    int rc = pt_canvas_write_png(c, path, err);
    pt_canvas_free(c);
    return rc;
}

/* Scratch for one series in pixel space, the longest series long. */
static int alloc_scratch(const char *path, const pt_plot_series *s, int n, double **buf,
                         pt_error *err)
{
    int longest = 1;
    for (int j = 0; j < n; j++)
        longest = s[j].n > longest ? s[j].n : longest;
    *buf = malloc(2 * (size_t)longest * sizeof **buf);
    if (!*buf)
        return pt_error_set(err, PT_ERR_NOMEM, "%s: cannot allocate %d points", path, longest);
    return PT_OK;
}

/* begin() for a plot of series: also the series scratch, freed again if the canvas fails. */
static int begin_series_plot(pt_canvas *c, const char *path, int width, int height,
                             const pt_plot_series *s, int n, double **scratch, pt_error *err)
{
    int rc = alloc_scratch(path, s, n, scratch, err);
    if (rc != PT_OK)
        return rc;
    rc = begin(c, path, width, height, err);
    if (rc != PT_OK) {
        free(*scratch);
        *scratch = NULL;
    }
    return rc;
}

/* ---- line plots ------------------------------------------------------------------------------ */

int pt_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
                  const pt_plot_series *series, int n_series, pt_error *err)
{
    if (!path)
        return pt_error_set(err, PT_ERR_INVALID, "line plot: no output path");
    int rc = check_series(path, series, n_series, err);
    if (rc != PT_OK)
        return rc;

    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int integer_x = 1;
    int64_t points = 0;
    for (int j = 0; j < n_series; j++) {
        for (int i = 0; i < series[j].n; i++) {
            double x = series[j].x[i], y = series[j].y[i];
            if (!usable(x) || !usable(y))
                continue;
            points++;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
            integer_x &= x == round(x) && fabs(x) < 1e9;
        }
    }
    frame f = {0};
    f.ax = axis_fit(xlo, xhi, points > 0 && integer_x);
    f.ay = axis_fit(ylo, yhi, 0);
    f.title = or_empty(title), f.xlabel = or_empty(xlabel), f.ylabel = or_empty(ylabel);
    const int width = 800, height = 600;
    frame_layout(&f, width, height, 0);

    double *scratch = NULL;
    pt_canvas c;
    rc = begin_series_plot(&c, path, width, height, series, n_series, &scratch, err);
    if (rc != PT_OK)
        return rc;
    frame_grid(&c, &f);
    pt_canvas_clip(&c, f.x, f.y, f.w, f.h);
    legend_entry entries[PT_PLOT_MAX_SERIES];
    for (int j = 0; j < n_series; j++) {
        int markers = series[j].n <= MAX_MARKS;
        draw_series(&c, &f, &series[j], scratch, scratch + series[j].n, LINE_W, 0.0, tab10(j),
                    markers);
        entries[j] = (legend_entry){series[j].name, tab10(j), 1, 0, markers};
    }
    pt_canvas_unclip(&c);
    if (points == 0)
        pt_canvas_text(&c, FONT_SMALL, 1, f.x + f.w / 2, f.y + f.h / 2 - 6, PT_ALIGN_CENTER, f.w,
                       "no data", MUTED);
    frame_decorate(&c, &f);
    draw_legend(&c, &f, entries, n_series, -1, series, n_series);
    free(scratch);
    return finish(&c, path, err);
}

/* ---- ROC ------------------------------------------------------------------------------------- */

int pt_plot_roc_curves(const char *path, const char *title, const pt_plot_series *curves,
                       int n_curves, const double *operating_point, pt_error *err)
{
    if (!path)
        return pt_error_set(err, PT_ERR_INVALID, "ROC plot: no output path");
    int rc = check_series(path, curves, n_curves, err);
    if (rc != PT_OK)
        return rc;
    frame f = {0};
    f.ax = (axis){-0.02, 1.02, 0.2, 0};
    f.ay = f.ax;
    f.title = or_empty(title);
    f.xlabel = "False positive rate (1 - specificity)";
    f.ylabel = "True positive rate (sensitivity)";
    const int width = 640, height = 640;
    frame_layout(&f, width, height, 1);

    double *scratch = NULL;
    pt_canvas c;
    rc = begin_series_plot(&c, path, width, height, curves, n_curves, &scratch, err);
    if (rc != PT_OK)
        return rc;
    frame_grid(&c, &f);
    pt_canvas_clip(&c, f.x, f.y, f.w, f.h);
    pt_rgb chance_col = {160, 160, 160};
    pt_canvas_polyline(&c, (double[]){map_x(&f, 0), map_x(&f, 1)},
                       (double[]){map_y(&f, 0), map_y(&f, 1)}, 2, 1.5, 7.0, 5.0, chance_col);
    legend_entry entries[PT_PLOT_MAX_SERIES + 2];
    int n_entries = 0;
    for (int j = 0; j < n_curves; j++) {
        draw_series(&c, &f, &curves[j], scratch, scratch + curves[j].n, LINE_W, 0.0, tab10(j), 0);
        entries[n_entries++] = (legend_entry){curves[j].name, tab10(j), 1, 0, 0};
    }
    entries[n_entries++] = (legend_entry){"chance", chance_col, 1, 1, 0};
    char op_name[96];
    if (operating_point && usable(operating_point[0]) && usable(operating_point[1])) {
        double px = map_x(&f, operating_point[0]), py = map_y(&f, operating_point[1]);
        pt_rgb op_col = n_curves > 3 ? INK : tab10(3);
        pt_canvas_disc(&c, px, py, 6.5, WHITE);
        pt_canvas_disc(&c, px, py, 5.0, op_col);
        snprintf(op_name, sizeof op_name, "operating point (FPR %.2f, TPR %.2f)",
                 operating_point[0], operating_point[1]);
        entries[n_entries++] = (legend_entry){op_name, op_col, 0, 0, 1};
    }
    pt_canvas_unclip(&c);
    frame_decorate(&c, &f);
    draw_legend(&c, &f, entries, n_entries, 3, curves, n_curves);
    free(scratch);
    return finish(&c, path, err);
}

int pt_plot_roc(const char *path, const char *title, const double *fpr, const double *tpr, int n,
                double auc, const double *operating_point, pt_error *err)
{
    char name[64];
    if (isfinite(auc))
        snprintf(name, sizeof name, "AUC = %.3f", auc);
    else
        snprintf(name, sizeof name, "AUC = n/a");
    pt_plot_series s = {name, fpr, tpr, n};
    return pt_plot_roc_curves(path, title, &s, 1, operating_point, err);
}

/* ---- confusion matrix ------------------------------------------------------------------------ */

/* matplotlib's "Blues" colour map (ColorBrewer), t in [0, 1]. */
static pt_rgb blues(double t)
{
    const pt_rgb stops[9] = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239},
                             {158, 202, 225}, {107, 174, 214}, {66, 146, 198},
                             {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
    t = !(t > 0) ? 0 : t > 1 ? 1 : t;
    double pos = t * 8;
    int i = (int)pos;
    if (i >= 8)
        return stops[8];
    double u = pos - i;
    pt_rgb a = stops[i], b = stops[i + 1];
    return (pt_rgb){(uint8_t)lround(a.r + (b.r - a.r) * u), (uint8_t)lround(a.g + (b.g - a.g) * u),
                    (uint8_t)lround(a.b + (b.b - a.b) * u)};
}

static int is_dark(pt_rgb c)
{
    return 299 * c.r + 587 * c.g + 114 * c.b < 140 * 1000;
}

/* A count in at most max_chars (>= 4) characters: 12345, or 12k / 4.5M / 999G when that is too
 * long. */
static void format_count(char *buf, size_t cap, int64_t v, int max_chars)
{
    snprintf(buf, cap, "%lld", (long long)v);
    if ((int)strlen(buf) <= max_chars)
        return;
    const char *unit = "kMGTPE";
    double x = (double)v;
    for (int u = 0; u < 6; u++) {
        x /= 1000.0;
        if (x < 999.5) {
            snprintf(buf, cap, "%.1f%c", x, unit[u]);
            if (x >= 9.95 || (int)strlen(buf) > max_chars)
                snprintf(buf, cap, "%.0f%c", x, unit[u]);
            return;
        }
    }
}

int pt_plot_confusion(const char *path, const char *title, const int64_t *matrix, int k,
                      const char *const *class_names, pt_error *err)
{
    if (!path)
        return pt_error_set(err, PT_ERR_INVALID, "confusion matrix plot: no output path");
    if (!matrix || k < 1 || k > 64)
        return pt_error_set(err, PT_ERR_INVALID, "%s: cannot plot a confusion matrix of %d classes",
                            path, k);
    int64_t vmax = 0;
    for (int i = 0; i < k * k; i++) {
        if (matrix[i] < 0)
            return pt_error_set(err, PT_ERR_INVALID, "%s: negative count %lld in row %d, column %d",
                                path, (long long)matrix[i], i / k, i % k);
        vmax = matrix[i] > vmax ? matrix[i] : vmax;
    }
    char names[64][128];
    int name_w = 0;
    for (int i = 0; i < k; i++) {
        const char *nm = class_names ? class_names[i] : NULL;
        if (nm)
            pt_strlcpy(names[i], nm, sizeof names[i]);
        else
            snprintf(names[i], sizeof names[i], "%d", i);
        int w = pt_text_width(FONT_SMALL, 1, names[i]);
        name_w = w > name_w ? w : name_w;
    }
    const int name_cap = 132; /* 22 characters; longer names are cut */
    if (name_w > name_cap)
        name_w = name_cap;

    int cs = 400 / k; /* at least 30: room for four small digits ("9999", "999k") */
    cs = cs > 180 ? 180 : cs < 30 ? 30 : cs;
    int m = k * cs;
    int vertical_names = name_w > cs - 8;
    axis cbar = {0.0, vmax > 0 ? (double)vmax : 1.0, 1.0, 1};
    choose_ticks(&cbar, m, 40, 0);
    int cbar_label_w = max_label_width(&cbar);

    int top = title_band(title);
    int left = PAD + FONT_SMALL->height + 10 + name_w + TICK_LEN + TICK_GAP + 2;
    int bottom = TICK_LEN + TICK_GAP + (vertical_names ? name_w : FONT_SMALL->height) + 10 +
                 FONT_SMALL->height + PAD;
    int right = 28 + 18 + TICK_LEN + TICK_GAP + cbar_label_w + 2 * PAD;
    int width = left + m + right, height = top + m + bottom;
    int title_w = pt_text_width(FONT_TITLE, 1, or_empty(title)) + 2 * PAD;
    int min_w = title_w > 900 ? 900 : title_w < 480 ? 480 : title_w;
    if (width < min_w) {
        left += (min_w - width) / 2;
        width = min_w;
    }

    pt_canvas c;
    int rc = begin(&c, path, width, height, err);
    if (rc != PT_OK)
        return rc;
    char buf[48];
    for (int i = 0; i < k; i++) {
        double row_total = 0; /* double: a sum of int64 counts could overflow */
        for (int j = 0; j < k; j++)
            row_total += (double)matrix[i * k + j];
        for (int j = 0; j < k; j++) {
            int64_t v = matrix[i * k + j];
            pt_rgb col = blues(vmax > 0 ? (double)v / (double)vmax : 0.0);
            int x = left + j * cs, y = top + i * cs;
            pt_canvas_fill_rect(&c, x, y, cs, cs, col);
            pt_rgb ink = is_dark(col) ? WHITE : INK;
            pt_canvas_clip(&c, x + 1, y + 1, cs - 2, cs - 2);
            const pt_font *cf = FONT_TITLE; /* the large font when the exact count fits */
            snprintf(buf, sizeof buf, "%lld", (long long)v);
            if (pt_text_width(cf, 1, buf) > cs - 8) {
                cf = FONT_SMALL;
                format_count(buf, sizeof buf, v, (cs - 4) / cf->advance);
            }
            int two_lines = cs >= 64;
            int cy = y + cs / 2;
            int count_top = two_lines ? cy - cf->height + 1 : cy - cf->height / 2;
            pt_canvas_text(&c, cf, 1, x + cs / 2, count_top, PT_ALIGN_CENTER, cs - 4, buf, ink);
            if (two_lines) {
                if (row_total > 0)
                    snprintf(buf, sizeof buf, "%.1f%%", 100.0 * (double)v / row_total);
                else
                    snprintf(buf, sizeof buf, "-");
                pt_canvas_text(&c, FONT_SMALL, 1, x + cs / 2, cy + 4, PT_ALIGN_CENTER, cs - 4, buf,
                               ink);
            }
            pt_canvas_unclip(&c);
        }
    }
    pt_canvas_rect_outline(&c, left - 1, top - 1, m + 2, m + 2, 1, INK);

    /* class names on both axes */
    for (int i = 0; i < k; i++) {
        int centre = i * cs + cs / 2;
        pt_canvas_fill_rect(&c, left - 1 - TICK_LEN, top + centre, TICK_LEN, 1, INK);
        pt_canvas_text(&c, FONT_SMALL, 1, left - 1 - TICK_LEN - TICK_GAP, top + centre - 6,
                       PT_ALIGN_RIGHT, name_cap, names[i], INK);
        pt_canvas_fill_rect(&c, left + centre, top + m + 1, 1, TICK_LEN, INK);
        int lt = top + m + 1 + TICK_LEN + TICK_GAP;
        if (vertical_names)
            pt_canvas_text_up(&c, FONT_SMALL, 1, left + centre - 6, lt, PT_ALIGN_RIGHT, name_cap,
                              names[i], INK);
        else
            pt_canvas_text(&c, FONT_SMALL, 1, left + centre + 1, lt, PT_ALIGN_CENTER, cs - 4,
                           names[i], INK);
    }
    int xlabel_top =
        top + m + 1 + TICK_LEN + TICK_GAP + (vertical_names ? name_w : FONT_SMALL->height) + 10;
    text_centred(&c, FONT_SMALL, left + m / 2, xlabel_top, width, "Predicted label", INK);
    pt_canvas_text_up(&c, FONT_SMALL, 1, PAD, top + m / 2, PT_ALIGN_CENTER, m, "True label", INK);
    if (*or_empty(title))
        text_centred(&c, FONT_TITLE, left + m / 2, PAD, width, title, INK);

    /* colour bar */
    int bx = left + m + 28, bw = 18;
    for (int y = 0; y < m; y++)
        pt_canvas_fill_rect(&c, bx, top + y, bw, 1, blues(1.0 - (y + 0.5) / m));
    pt_canvas_rect_outline(&c, bx - 1, top - 1, bw + 2, m + 2, 1, INK);
    int64_t k0, k1;
    tick_range(&cbar, &k0, &k1);
    for (int64_t t = k0; t <= k1; t++) {
        double v = (double)t * cbar.step;
        int py = top + (int)floor((1.0 - v / cbar.hi) * m);
        if (py >= top + m)
            py = top + m - 1;
        pt_canvas_fill_rect(&c, bx + bw + 1, py, TICK_LEN, 1, INK);
        tick_label(buf, sizeof buf, v, &cbar);
        pt_canvas_text(&c, FONT_SMALL, 1, bx + bw + 1 + TICK_LEN + TICK_GAP, py - 6, PT_ALIGN_LEFT,
                       0, buf, INK);
    }
    return finish(&c, path, err);
}

/* ---- image grid ------------------------------------------------------------------------------ */

#define CAPTION_LINES 3

/* Splits caption s at '\n' into up to CAPTION_LINES lines of at most 255 characters. */
static int split_caption(const char *s, char lines[CAPTION_LINES][256])
{
    int n = 0;
    while (s && *s && n < CAPTION_LINES) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        size_t keep = len < 255 ? len : 255;
        memcpy(lines[n], s, keep);
        lines[n][keep] = '\0';
        n++;
        s = nl ? nl + 1 : NULL;
    }
    return n;
}

/* The grid of pt_plot_image_grid for images of channels bytes per pixel (1: gray, 3: RGB): the
 * layout, the captions and the checks are the same for both. */
static int image_grid(const char *path, const char *title, const uint8_t *images, int channels,
                      int n, int h, int w, const char *const *captions, int columns, pt_error *err)
{
    if (!path)
        return pt_error_set(err, PT_ERR_INVALID, "image grid: no output path");
    if (n < 0 || (n > 0 && (!images || h <= 0 || w <= 0)))
        return pt_error_set(err, PT_ERR_INVALID, "%s: cannot plot %d images of %dx%d", path, n, w,
                            h);
    int top = title_band(title);
    if (n == 0) {
        pt_canvas c;
        int rc = begin(&c, path, 480, top + 60, err);
        if (rc != PT_OK)
            return rc;
        if (*or_empty(title))
            text_centred(&c, FONT_TITLE, 240, PAD, 480, title, INK);
        pt_canvas_text(&c, FONT_SMALL, 1, 240, top + 16, PT_ALIGN_CENTER, 440, "no images", MUTED);
        return finish(&c, path, err);
    }

    int cols = columns > 0 ? columns : (int)ceil(sqrt((double)n));
    cols = cols > n ? n : cols;
    int rows = (n + cols - 1) / cols;
    int target = 1400 / cols;
    target = target > 200 ? 200 : target < 64 ? 64 : target;
    int side = h > w ? h : w;
    int dw, dh;
    if (2 * side <= target) {
        int zoom = target / side; /* whole-number zoom: sharp square pixels */
        dw = w * zoom, dh = h * zoom;
    } else {
        dw = (int)lround((double)w * target / side), dh = (int)lround((double)h * target / side);
        dw = dw < 1 ? 1 : dw, dh = dh < 1 ? 1 : dh;
    }
    int cell_w = dw < 96 ? 96 : dw; /* room for a caption under a narrow image */
    int cap_lines = 0;
    for (int i = 0; captions && i < n; i++) {
        char lines[CAPTION_LINES][256];
        int nl = split_caption(captions[i], lines);
        cap_lines = nl > cap_lines ? nl : cap_lines;
    }
    int cap_h = cap_lines > 0 ? 6 + cap_lines * (FONT_SMALL->height + 1) : 0;
    const int gap = 16, margin = 16;
    int64_t width = 2 * margin + (int64_t)cols * cell_w + (int64_t)(cols - 1) * gap;
    int64_t height = top + (int64_t)rows * (dh + cap_h) + (int64_t)(rows - 1) * gap + margin;
    int min_w = pt_text_width(FONT_TITLE, 1, or_empty(title)) + 2 * PAD;
    min_w = min_w > 900 ? 900 : min_w;
    int64_t x_shift = 0;
    if (width < min_w) {
        x_shift = (min_w - width) / 2;
        width = min_w;
    }
    if (width * height > PT_CANVAS_MAX_PIXELS)
        return pt_error_set(err, PT_ERR_TOO_LARGE, "%s: %d images in %d columns: %lldx%lld pixels",
                            path, n, cols, (long long)width, (long long)height);

    pt_canvas c;
    int rc = begin(&c, path, (int)width, (int)height, err);
    if (rc != PT_OK)
        return rc;
    if (*or_empty(title))
        text_centred(&c, FONT_TITLE, (int)width / 2, PAD, (int)width, title, INK);
    for (int i = 0; i < n; i++) {
        int r = i / cols, q = i % cols;
        int cx = (int)(margin + x_shift + (int64_t)q * (cell_w + gap));
        int cy = top + r * (dh + cap_h + gap);
        int ix = cx + (cell_w - dw) / 2;
        pt_canvas_rect_outline(&c, ix - 1, cy - 1, dw + 2, dh + 2, 1, LEGEND_RIM);
        const uint8_t *img = images + (size_t)i * (size_t)h * (size_t)w * (size_t)channels;
        if (channels == 3)
            pt_canvas_blit_rgb(&c, ix, cy, dw, dh, img, w, h);
        else
            pt_canvas_blit_gray(&c, ix, cy, dw, dh, img, w, h);
        if (!captions)
            continue;
        char lines[CAPTION_LINES][256];
        int nl = split_caption(captions[i], lines);
        for (int l = 0; l < nl; l++)
            pt_canvas_text(&c, FONT_SMALL, 1, cx + cell_w / 2, cy + dh + 6 + l * 14,
                           PT_ALIGN_CENTER, cell_w + gap - 4, lines[l], INK);
    }
    return finish(&c, path, err);
}

int pt_plot_image_grid(const char *path, const char *title, const uint8_t *images, int n, int h,
                       int w, const char *const *captions, int columns, pt_error *err)
{
    return image_grid(path, title, images, 1, n, h, w, captions, columns, err);
}

int pt_plot_image_grid_rgb(const char *path, const char *title, const uint8_t *images, int n, int h,
                           int w, const char *const *captions, int columns, pt_error *err)
{
    return image_grid(path, title, images, 3, n, h, w, captions, columns, err);
}
