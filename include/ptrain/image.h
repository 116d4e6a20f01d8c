/* 8-bit grayscale images and decoding of image files (PNG, JPEG) into them.
 *
 * Every decoder converts to 8-bit gray, checks the announced dimensions against a pixel limit
 * before allocating anything, and treats a decoder warning (a JPEG cut short, a bad CRC) as an
 * error: a file is either decoded cleanly or rejected with a reason. */
#ifndef PTRAIN_IMAGE_H
#define PTRAIN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

/* Default --max-pixels: larger than any radiograph, small enough to refuse a decompression bomb. */
#define PT_DEFAULT_MAX_PIXELS (50LL * 1000 * 1000)

typedef struct pt_image {
    int width;
    int height;
    uint8_t *pixels; /* width * height bytes, row-major, top row first; owned */
} pt_image;

typedef struct pt_decode_opts {
    int64_t max_pixels; /* refuse images with more pixels than this (announced size) */
    /* If > 0, the decoder may return a smaller image (JPEG DCT scaling) as long as both sides stay
     * >= these; a caller that shrinks to a fixed size anyway saves most of the decode work. */
    int min_width;
    int min_height;
} pt_decode_opts;

/* Options with the default pixel limit and no downscaling. */
pt_decode_opts pt_decode_opts_default(void);

/* Allocates a zeroed width x height image. */
int pt_image_alloc(pt_image *img, int width, int height, pt_error *err);

/* Frees the pixels and zeroes the struct; safe on a zeroed or already freed image. */
void pt_image_free(pt_image *img);

/* Decodes PNG or JPEG, recognised by their signature bytes, not the file name. `name` is used in
 * messages only. On failure *out is left zeroed and err names the file and the reason. */
int pt_image_decode_memory(const uint8_t *data, size_t size, const char *name,
                           const pt_decode_opts *opts, pt_image *out, pt_error *err);

/* Reads and decodes one file. */
int pt_image_decode_file(const char *path, const pt_decode_opts *opts, pt_image *out,
                         pt_error *err);

#endif
