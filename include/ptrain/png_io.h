/* PNG decoding and encoding through libpng. */
#ifndef PTRAIN_PNG_IO_H
#define PTRAIN_PNG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/image.h"

/* 1 if data starts with the PNG signature. */
int pt_png_sniff(const uint8_t *data, size_t size);

/* Any PNG (1-16 bit, gray, gray+alpha, RGB, RGBA, palette, interlaced) -> 8-bit gray.
 * Alpha is composited onto black. opts->min_width/height are ignored (PNG has no cheap
 * downscaled decode). */
int pt_png_decode(const uint8_t *data, size_t size, const char *name, const pt_decode_opts *opts,
                  pt_image *out, pt_error *err);

/* Writes 8-bit pixels with 1 (gray), 3 (RGB) or 4 (RGBA) interleaved channels. */
int pt_png_write_file(const char *path, const uint8_t *pixels, int width, int height, int channels,
                      pt_error *err);

/* The same PNG in memory: *out (malloc'ed, the caller frees it) holds *size bytes. */
int pt_png_encode_memory(const uint8_t *pixels, int width, int height, int channels, uint8_t **out,
                         size_t *size, pt_error *err);

#endif
