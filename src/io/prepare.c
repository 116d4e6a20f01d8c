/* Decode + resize to a model's input, as ptrain-prep does (see prepare.h). */
#include "ptrain/prepare.h"

#include <stdlib.h>
#include <string.h>

#include "ptrain/fs.h"
#include "ptrain/image.h"
#include "ptrain/png_io.h"

static pt_decode_opts decode_opts(const pt_prepare_opts *opts)
{
    pt_decode_opts d = pt_decode_opts_default();
    d.max_pixels = opts->max_pixels;
    /* JPEG DCT scaling, never below the model's size: what ptrain-prep does for the cache */
    d.min_width = opts->width;
    d.min_height = opts->height;
    return d;
}

/* The model's input from a decoded image: a copy at the right size, else the resize. */
static int fit_to_model(const pt_image *img, const pt_prepare_opts *opts, uint8_t *dst,
                        pt_error *err)
{
    if (img->width == opts->width && img->height == opts->height) {
        memcpy(dst, img->pixels, (size_t)img->width * (size_t)img->height);
        return PT_OK;
    }
    return pt_image_resize(img, opts->width, opts->height, opts->fit, dst, err);
}

/* The film at its full size for an overlay: a PNG decode is already full size (PNG has no
 * scaled decode); a JPEG decoded with DCT scaling for the model is decoded again without it, so
 * the model's input stays exactly ptrain-prep's while the overlay matches the input's size. */
static int full_size_film(const uint8_t *data, size_t size, const char *name,
                          const pt_prepare_opts *opts, pt_image *img, pt_image *film, pt_error *err)
{
    if (pt_png_sniff(data, size)) {
        *film = *img;
        memset(img, 0, sizeof *img);
        return PT_OK;
    }
    pt_decode_opts d = pt_decode_opts_default();
    d.max_pixels = opts->max_pixels;
    return pt_image_decode_memory(data, size, name, &d, film, err);
}

int pt_prepare_memory_keep(const uint8_t *data, size_t size, const char *name,
                           const pt_prepare_opts *opts, uint8_t *dst, pt_image *film, pt_error *err)
{
    pt_decode_opts d = decode_opts(opts);
    pt_image img;
    int status = pt_image_decode_memory(data, size, name, &d, &img, err);
    if (status != PT_OK)
        return status;
    status = fit_to_model(&img, opts, dst, err);
    if (status == PT_OK && film)
        status = full_size_film(data, size, name, opts, &img, film, err);
    pt_image_free(&img);
    return status;
}

int pt_prepare_file_keep(const char *path, const pt_prepare_opts *opts, uint8_t *dst,
                         pt_image *film, pt_error *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int status = pt_fs_read_file(path, &data, &size, err);
    if (status != PT_OK)
        return status;
    status = pt_prepare_memory_keep(data, size, path, opts, dst, film, err);
    free(data);
    return status;
}

int pt_prepare_memory(const uint8_t *data, size_t size, const char *name,
                      const pt_prepare_opts *opts, uint8_t *dst, pt_error *err)
{
    return pt_prepare_memory_keep(data, size, name, opts, dst, NULL, err);
}

int pt_prepare_file(const char *path, const pt_prepare_opts *opts, uint8_t *dst, pt_error *err)
{
    return pt_prepare_file_keep(path, opts, dst, NULL, err);
}
