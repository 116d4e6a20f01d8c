/* Resizing 8-bit gray images to the cache's fixed size. */
#ifndef PTRAIN_RESIZE_H
#define PTRAIN_RESIZE_H

#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/image.h"

typedef enum pt_fit {
    PT_FIT_STRETCH, /* scale each axis independently to the target: aspect ratio changes */
    PT_FIT_CROP,    /* scale to cover the target, cut the centre: edges are lost */
    PT_FIT_PAD,     /* scale to fit inside the target, pad with black: nothing is lost */
    PT_FIT_COUNT
} pt_fit;

/* "stretch", "crop", "pad"; NULL for an out-of-range value. */
const char *pt_fit_name(pt_fit fit);

/* Parses a name as above; returns PT_ERR_INVALID for anything else. */
int pt_fit_parse(const char *name, pt_fit *fit);

/* Resizes src into dst (out_width * out_height bytes, caller-owned). Along each axis, area
 * averaging when shrinking (every source pixel contributes by its covered fraction) and bilinear
 * interpolation when enlarging. Results are rounded to nearest. Deterministic. */
int pt_image_resize(const pt_image *src, int out_width, int out_height, pt_fit fit, uint8_t *dst,
                    pt_error *err);

#endif
