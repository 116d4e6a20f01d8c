/* An image file (or the bytes of one) made ready for a model: decoded to 8-bit gray and resized
 * to the model's input size exactly as ptrain-prep does. `ptrain predict` and `ptrain serve`
 * both go through here, so a file gives the same probabilities from either. */
#ifndef PTRAIN_PREPARE_H
#define PTRAIN_PREPARE_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/resize.h"

typedef struct pt_prepare_opts {
    int width; /* the model's input size */
    int height;
    pt_fit fit;         /* how ptrain-prep was told to fit the cache (--fit) */
    int64_t max_pixels; /* refuse larger images (announced size), --max-pixels */
} pt_prepare_opts;

/* Decodes PNG or JPEG bytes (JPEG with DCT scaling down to no less than the model's size) and
 * resizes them into dst (height x width bytes). `name` names the image in messages. On failure
 * err names it and the reason: PT_ERR_TOO_LARGE over max_pixels, PT_ERR_UNSUPPORTED or
 * PT_ERR_FORMAT for bytes that are not a whole PNG or JPEG. */
int pt_prepare_memory(const uint8_t *data, size_t size, const char *name,
                      const pt_prepare_opts *opts, uint8_t *dst, pt_error *err);

/* The same for a file. */
int pt_prepare_file(const char *path, const pt_prepare_opts *opts, uint8_t *dst, pt_error *err);

/* The decoded film at its own size too (for a heat-map overlay over it): *film receives the
 * decoded image (free with pt_image_free), dst the model's input as above. */
int pt_prepare_memory_keep(const uint8_t *data, size_t size, const char *name,
                           const pt_prepare_opts *opts, uint8_t *dst, pt_image *film,
                           pt_error *err);
int pt_prepare_file_keep(const char *path, const pt_prepare_opts *opts, uint8_t *dst,
                         pt_image *film, pt_error *err);

#endif
