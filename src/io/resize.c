/* Resizing 8-bit gray images: separable, one weight table per axis.
 *
 * Shrinking averages areas: output pixel i covers the source interval [i, i + 1) * scale and every
 * source pixel contributes its covered fraction, so nothing is skipped (no aliasing on a 1000 ->
 * 128 shrink) and a constant image stays constant. Enlarging interpolates bilinearly between pixel
 * centres (PyTorch's align_corners=False), clamped at the edges. Each axis picks its own method.
 *
 * The vertical pass runs first, over whole source rows, so its inner loop is a contiguous
 * multiply-add the compiler vectorises; the horizontal pass then works on one float row of the
 * output height. */
#include "ptrain/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const fit_names[] = {"stretch", "crop", "pad"};
_Static_assert(sizeof fit_names / sizeof fit_names[0] == PT_FIT_COUNT,
               "fit_names must name every pt_fit");

const char *pt_fit_name(pt_fit fit)
{
    if ((int)fit < 0 || fit >= PT_FIT_COUNT)
        return NULL;
    return fit_names[fit];
}

int pt_fit_parse(const char *name, pt_fit *fit)
{
    if (!name)
        return PT_ERR_INVALID;
    for (int i = 0; i < PT_FIT_COUNT; i++) {
        if (strcmp(name, fit_names[i]) == 0) {
            *fit = (pt_fit)i;
            return PT_OK;
        }
    }
    return PT_ERR_INVALID;
}

/* Output pixel i reads source pixels first[i] .. first[i] + count[i] - 1 with weights
 * weights[i * taps ...], which sum to 1. */
typedef struct axis_table {
    int *first;
    int *count;
    float *weights;
    int taps;
} axis_table;

static void axis_free(axis_table *a)
{
    free(a->first);
    free(a->count);
    free(a->weights);
    memset(a, 0, sizeof *a);
}

/* Weights mapping out_n output pixels onto [start, start + span) of an axis of src_n pixels. */
static int axis_build(int src_n, double start, double span, int out_n, axis_table *a)
{
    double scale = span / out_n;
    int area = span >= out_n;
    a->taps = area ? (int)ceil(scale) + 2 : 2;
    a->first = malloc(sizeof *a->first * (size_t)out_n);
    a->count = malloc(sizeof *a->count * (size_t)out_n);
    a->weights = malloc(sizeof *a->weights * (size_t)out_n * (size_t)a->taps);
    if (!a->first || !a->count || !a->weights) {
        axis_free(a);
        return PT_ERR_NOMEM;
    }
    for (int i = 0; i < out_n; i++) {
        float *w = a->weights + (size_t)i * (size_t)a->taps;
        int first, count = 0;
        if (area) {
            double lo = start + span * i / out_n;
            double hi = start + span * (i + 1) / out_n;
            /* Slivers below 1e-9 of a pixel are rounding noise from the interval ends; dropping
             * them keeps an integer-aligned mapping an exact copy. */
            const double eps = 1e-9;
            first = (int)floor(lo + eps);
            int end = (int)ceil(hi - eps);
            if (first < 0)
                first = 0;
            if (first > src_n - 1)
                first = src_n - 1;
            if (end > src_n)
                end = src_n;
            if (end <= first)
                end = first + 1;
            if (end - first > a->taps)
                end = first + a->taps;
            count = end - first;
            double sum = 0.0;
            for (int j = first; j < end; j++)
                sum += fmax(0.0, fmin(hi, j + 1.0) - fmax(lo, (double)j));
            for (int j = first; j < end; j++) {
                double c = fmax(0.0, fmin(hi, j + 1.0) - fmax(lo, (double)j));
                w[j - first] = sum > 0.0 ? (float)(c / sum) : (float)(1.0 / count);
            }
        } else {
            double centre = start + (i + 0.5) * scale - 0.5;
            if (centre < 0.0)
                centre = 0.0;
            if (centre > src_n - 1)
                centre = src_n - 1;
            first = (int)floor(centre);
            double frac = centre - first;
            if (first >= src_n - 1 || frac <= 0.0) {
                count = 1;
                w[0] = 1.0f;
            } else {
                count = 2;
                w[0] = (float)(1.0 - frac);
                w[1] = (float)frac;
            }
        }
        a->first[i] = first;
        a->count[i] = count;
    }
    return PT_OK;
}

static uint8_t round_pixel(float v)
{
    v += 0.5f;
    if (v <= 0.0f)
        return 0;
    if (v >= 255.0f)
        return 255;
    return (uint8_t)v;
}

/* Resamples the window [x0, x0 + xspan) x [y0, y0 + yspan) of src into a w x h block of dst,
 * whose rows are dst_stride bytes apart. */
static int resample(const pt_image *src, double x0, double xspan, double y0, double yspan,
                    uint8_t *dst, int w, int h, int dst_stride, pt_error *err)
{
    axis_table ax = {0}, ay = {0};
    float *col = NULL;
    int status = PT_OK;
    if (axis_build(src->width, x0, xspan, w, &ax) != PT_OK ||
        axis_build(src->height, y0, yspan, h, &ay) != PT_OK) {
        status = pt_error_set(err, PT_ERR_NOMEM, "resize: out of memory for weight tables");
        goto done;
    }
    /* Only the source columns some output pixel reads. */
    int xlo = ax.first[0];
    int xhi = ax.first[w - 1] + ax.count[w - 1];
    int ncols = xhi - xlo;
    col = malloc(sizeof *col * (size_t)ncols);
    if (!col) {
        status = pt_error_set(err, PT_ERR_NOMEM, "resize: out of memory for a row");
        goto done;
    }
    for (int oy = 0; oy < h; oy++) {
        const float *wy = ay.weights + (size_t)oy * (size_t)ay.taps;
        const uint8_t *srow = src->pixels + (size_t)ay.first[oy] * (size_t)src->width + xlo;
        int taps = ay.count[oy];
        size_t stride = (size_t)src->width;
        /* Eight columns at a time with the sums in registers: a fixed-length inner loop that
         * -O2 turns into vector code, where the plain loop stays scalar. Same summation order
         * as the tail loop, so the result does not depend on the column's position. */
        int x = 0;
        for (; x + 8 <= ncols; x += 8) {
            float acc[8] = {0};
            for (int k = 0; k < taps; k++) {
                const uint8_t *s = srow + (size_t)k * stride + x;
                float wk = wy[k];
                for (int j = 0; j < 8; j++)
                    acc[j] += wk * s[j];
            }
            memcpy(col + x, acc, sizeof acc);
        }
        for (; x < ncols; x++) {
            float acc = 0.0f;
            for (int k = 0; k < taps; k++)
                acc += wy[k] * srow[(size_t)k * stride + x];
            col[x] = acc;
        }
        uint8_t *drow = dst + (size_t)oy * (size_t)dst_stride;
        for (int ox = 0; ox < w; ox++) {
            const float *wx = ax.weights + (size_t)ox * (size_t)ax.taps;
            const float *c = col + (ax.first[ox] - xlo);
            float acc = 0.0f;
            for (int k = 0; k < ax.count[ox]; k++)
                acc += wx[k] * c[k];
            drow[ox] = round_pixel(acc);
        }
    }
done:
    free(col);
    axis_free(&ax);
    axis_free(&ay);
    return status;
}

int pt_image_resize(const pt_image *src, int out_width, int out_height, pt_fit fit, uint8_t *dst,
                    pt_error *err)
{
    if (!src || !src->pixels || src->width <= 0 || src->height <= 0)
        return pt_error_set(err, PT_ERR_INVALID, "resize: empty source image");
    if (out_width <= 0 || out_height <= 0 || !dst)
        return pt_error_set(err, PT_ERR_INVALID, "resize: invalid output size %dx%d", out_width,
                            out_height);
    if ((int)fit < 0 || fit >= PT_FIT_COUNT)
        return pt_error_set(err, PT_ERR_INVALID, "resize: invalid fit mode %d", (int)fit);

    int64_t sw = src->width, sh = src->height;
    if (sw == out_width && sh == out_height) {
        memcpy(dst, src->pixels, (size_t)sw * (size_t)sh);
        return PT_OK;
    }
    /* Compare aspect ratios exactly, in integers: which side limits the scale. */
    int wider_target = (int64_t)out_width * sh >= (int64_t)out_height * sw;
    switch (fit) {
    case PT_FIT_CROP:
        /* Scale so that the image covers the target, i.e. read a window of the target's aspect
         * ratio from the centre of the source, with fractional edges weighted like any other. */
        if (wider_target) {
            double span = (double)out_height * (double)sw / out_width;
            return resample(src, 0.0, (double)sw, (sh - span) / 2.0, span, dst, out_width,
                            out_height, out_width, err);
        } else {
            double span = (double)out_width * (double)sh / out_height;
            return resample(src, (sw - span) / 2.0, span, 0.0, (double)sh, dst, out_width,
                            out_height, out_width, err);
        }
    case PT_FIT_PAD: {
        int64_t w = out_width, h = out_height;
        if (wider_target) /* the height limits: full height, width scaled, rounded to nearest */
            w = (2 * sw * out_height + sh) / (2 * sh);
        else
            h = (2 * sh * out_width + sw) / (2 * sw);
        if (w < 1)
            w = 1;
        if (h < 1)
            h = 1;
        memset(dst, 0, (size_t)out_width * (size_t)out_height);
        uint8_t *block = dst + (size_t)((out_height - h) / 2) * (size_t)out_width +
                         (size_t)((out_width - w) / 2);
        return resample(src, 0.0, (double)sw, 0.0, (double)sh, block, (int)w, (int)h, out_width,
                        err);
    }
    default:
        return resample(src, 0.0, (double)sw, 0.0, (double)sh, dst, out_width, out_height,
                        out_width, err);
    }
}
