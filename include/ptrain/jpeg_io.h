/* JPEG decoding and encoding through libjpeg-turbo. */
#ifndef PTRAIN_JPEG_IO_H
#define PTRAIN_JPEG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/image.h"

/* 1 if data starts with the JPEG SOI marker. */
int pt_jpeg_sniff(const uint8_t *data, size_t size);

/* Gray, YCbCr/RGB, CMYK/YCCK, baseline or progressive -> 8-bit gray. When opts->min_width and
 * min_height are set, decodes at the smallest DCT scale (1/8 .. 1) that keeps both sides at or
 * above them. Any libjpeg warning (premature end of data, corrupt marker) is an error. */
int pt_jpeg_decode(const uint8_t *data, size_t size, const char *name, const pt_decode_opts *opts,
                   pt_image *out, pt_error *err);

/* Writes 8-bit pixels with 1 (gray) or 3 (RGB) channels at quality 1..100. */
int pt_jpeg_write_file(const char *path, const uint8_t *pixels, int width, int height, int channels,
                       int quality, pt_error *err);

#endif
