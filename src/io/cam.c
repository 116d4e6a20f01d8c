/* Class-activation-map overlays (see cam.h). */
#include "ptrain/cam.h"

#include <math.h>
#include <stdlib.h>

#include "ptrain/png_io.h"

/* One axis of the film -> model-input mapping: input coordinate = scale * (film + 0.5) + offset,
 * in input pixels; valid where it lies in [0, n). */
typedef struct axis_map {
    double scale;
    double offset;
    int n;
} axis_map;

/* The same geometry pt_image_resize uses for each --fit (resize.c): stretch maps each axis onto
 * the whole input, crop reads a centred window of the input's aspect ratio, pad places the whole
 * film in a centred block of the input. */
static void film_to_input(const pt_cam_geometry *geo, int fw, int fh, axis_map *ax, axis_map *ay)
{
    int ow = geo->input_width, oh = geo->input_height;
    *ax = (axis_map){(double)ow / fw, 0.0, ow};
    *ay = (axis_map){(double)oh / fh, 0.0, oh};
    if (fw == ow && fh == oh)
        return;
    int wider_target = (int64_t)ow * fh >= (int64_t)oh * fw;
    if (geo->fit == PT_FIT_CROP) {
        if (wider_target) { /* full width; a window of span rows from the centre */
            double span = (double)oh * fw / ow;
            ay->scale = oh / span;
            ay->offset = -((fh - span) / 2.0) * ay->scale;
        } else {
            double span = (double)ow * fh / oh;
            ax->scale = ow / span;
            ax->offset = -((fw - span) / 2.0) * ax->scale;
        }
    } else if (geo->fit == PT_FIT_PAD) {
        int64_t w = ow, h = oh;
        if (wider_target)
            w = (2 * (int64_t)fw * oh + fh) / (2 * (int64_t)fh);
        else
            h = (2 * (int64_t)fh * ow + fw) / (2 * (int64_t)fw);
        w = w < 1 ? 1 : w;
        h = h < 1 ? 1 : h;
        *ax = (axis_map){(double)w / fw, (double)((ow - w) / 2), ow};
        *ay = (axis_map){(double)h / fh, (double)((oh - h) / 2), oh};
    }
}

/* Bilinear sample of the map at input coordinates (u, v), pixel centres at +0.5, clamped. */
static float sample_map(const float *map, int mh, int mw, double u, double v, int in_w, int in_h)
{
    double fx = u * mw / in_w - 0.5, fy = v * mh / in_h - 0.5;
    fx = fx < 0 ? 0 : fx > mw - 1 ? mw - 1 : fx;
    fy = fy < 0 ? 0 : fy > mh - 1 ? mh - 1 : fy;
    int x0 = (int)fx, y0 = (int)fy;
    int x1 = x0 + 1 < mw ? x0 + 1 : x0, y1 = y0 + 1 < mh ? y0 + 1 : y0;
    double wx = fx - x0, wy = fy - y0;
    double top = map[(size_t)y0 * mw + x0] * (1 - wx) + map[(size_t)y0 * mw + x1] * wx;
    double bot = map[(size_t)y1 * mw + x0] * (1 - wx) + map[(size_t)y1 * mw + x1] * wx;
    return (float)(top * (1 - wy) + bot * wy);
}

int pt_cam_heat(const float *map, int map_h, int map_w, const pt_cam_geometry *geo,
                const pt_image *film, float *heat, pt_error *err)
{
    if (!map || map_h <= 0 || map_w <= 0 || !film || !film->pixels || film->width <= 0 ||
        film->height <= 0 || geo->input_width <= 0 || geo->input_height <= 0)
        return pt_error_set(err, PT_ERR_INVALID, "heat map: empty map or film");
    /* The maximum is taken over the map itself: bilinear interpolation never exceeds it. */
    float max = 0.0f;
    for (size_t i = 0; i < (size_t)map_h * map_w; i++) {
        if (!isfinite(map[i]))
            return pt_error_set(err, PT_ERR_FORMAT, "heat map: value %zu is not finite", i);
        max = map[i] > max ? map[i] : max;
    }
    axis_map ax, ay;
    film_to_input(geo, film->width, film->height, &ax, &ay);
    for (int y = 0; y < film->height; y++) {
        double v = ay.scale * (y + 0.5) + ay.offset;
        for (int x = 0; x < film->width; x++) {
            double u = ax.scale * (x + 0.5) + ax.offset;
            float h = 0.0f;
            if (max > 0.0f && u >= 0 && u < ax.n && v >= 0 && v < ay.n) {
                h = sample_map(map, map_h, map_w, u, v, ax.n, ay.n) / max;
                h = h > 0.0f ? h : 0.0f;
            }
            heat[(size_t)y * film->width + x] = h;
        }
    }
    return PT_OK;
}

static float clamp01(float t)
{
    return t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
}

/* The middle of the "jet" colour map, from pure blue (t = 0) through cyan, green and yellow to
 * pure red (t = 1): jet's dark ends are left out, so full heat is bright red. */
static void jet(float t, float rgb[3])
{
    t = 0.125f + 0.75f * t;
    rgb[0] = clamp01(1.5f - fabsf(4.0f * t - 3.0f));
    rgb[1] = clamp01(1.5f - fabsf(4.0f * t - 2.0f));
    rgb[2] = clamp01(1.5f - fabsf(4.0f * t - 1.0f));
}

/* How strongly the colour covers the film at full heat: the film stays readable beneath. */
#define CAM_MAX_ALPHA 0.6f

int pt_cam_overlay(const float *map, int map_h, int map_w, const pt_cam_geometry *geo,
                   const pt_image *film, uint8_t *rgb, pt_error *err)
{
    size_t n = (size_t)film->width * (size_t)film->height;
    float *heat = malloc(n * sizeof *heat);
    if (!heat)
        return pt_error_set(err, PT_ERR_NOMEM, "heat map %dx%d: out of memory", film->width,
                            film->height);
    int status = pt_cam_heat(map, map_h, map_w, geo, film, heat, err);
    if (status == PT_OK) {
        for (size_t i = 0; i < n; i++) {
            float gray = film->pixels[i], colour[3];
            jet(heat[i], colour);
            float a = CAM_MAX_ALPHA * heat[i];
            for (int c = 0; c < 3; c++)
                rgb[3 * i + c] = (uint8_t)lrintf(gray * (1.0f - a) + 255.0f * colour[c] * a);
        }
    }
    free(heat);
    return status;
}

int pt_cam_overlay_png(const float *map, int map_h, int map_w, const pt_cam_geometry *geo,
                       const pt_image *film, uint8_t **png, size_t *png_size, pt_error *err)
{
    *png = NULL;
    *png_size = 0;
    if (!film || film->width <= 0 || film->height <= 0)
        return pt_error_set(err, PT_ERR_INVALID, "heat map: empty film");
    uint8_t *rgb = malloc((size_t)film->width * (size_t)film->height * 3);
    if (!rgb)
        return pt_error_set(err, PT_ERR_NOMEM, "heat map %dx%d: out of memory", film->width,
                            film->height);
    int status = pt_cam_overlay(map, map_h, map_w, geo, film, rgb, err);
    if (status == PT_OK)
        status = pt_png_encode_memory(rgb, film->width, film->height, 3, png, png_size, err);
    free(rgb);
    return status;
}
