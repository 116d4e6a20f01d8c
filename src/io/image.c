/* 8-bit gray images and the decoder front end: the file's signature, not its name, picks the
 * decoder, because data sets carry PNGs named .jpeg and the reverse. */
#include "ptrain/image.h"

#include <stdlib.h>
#include <string.h>

#include "ptrain/fs.h"
#include "ptrain/jpeg_io.h"
#include "ptrain/png_io.h"

pt_decode_opts pt_decode_opts_default(void)
{
    pt_decode_opts opts = {.max_pixels = PT_DEFAULT_MAX_PIXELS, .min_width = 0, .min_height = 0};
    return opts;
}

int pt_image_alloc(pt_image *img, int width, int height, pt_error *err)
{
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0)
        return pt_error_set(err, PT_ERR_INVALID, "invalid image size %dx%d", width, height);
    uint8_t *pixels = calloc((size_t)width * (size_t)height, 1);
    if (!pixels)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for a %dx%d image", width, height);
    img->width = width;
    img->height = height;
    img->pixels = pixels;
    return PT_OK;
}

void pt_image_free(pt_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

int pt_image_decode_memory(const uint8_t *data, size_t size, const char *name,
                           const pt_decode_opts *opts, pt_image *out, pt_error *err)
{
    memset(out, 0, sizeof *out);
    if (!name)
        name = "<memory>";
    pt_decode_opts defaults = pt_decode_opts_default();
    if (!opts)
        opts = &defaults;
    if (size == 0 || !data)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: empty file", name);
    if (pt_png_sniff(data, size))
        return pt_png_decode(data, size, name, opts, out, err);
    if (pt_jpeg_sniff(data, size))
        return pt_jpeg_decode(data, size, name, opts, out, err);
    return pt_error_set(err, PT_ERR_UNSUPPORTED, "%s: not a PNG or JPEG file", name);
}

int pt_image_decode_file(const char *path, const pt_decode_opts *opts, pt_image *out, pt_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t size = 0;
    int status = pt_fs_read_file(path, &data, &size, err);
    if (status != PT_OK)
        return status;
    status = pt_image_decode_memory(data, size, path, opts, out, err);
    free(data);
    return status;
}
