/* libFuzzer harness: the PNG/JPEG decoder front end (pt_image_decode_memory) on arbitrary bytes,
 * at full size and with JPEG DCT downscaling, then a resize of what decoded. The pixel limit is
 * lowered so that one input cannot ask for more than a few MiB: the limit itself is checked
 * before any allocation, which is part of what is tested. */
#include <stdint.h>
#include <stdlib.h>

#include "ptrain/image.h"
#include "ptrain/resize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pt_decode_opts opts = pt_decode_opts_default();
    opts.max_pixels = 4 * 1024 * 1024;
    pt_image img;
    pt_error err;
    if (pt_image_decode_memory(data, size, "fuzz", &opts, &img, &err) != PT_OK)
        return 0;
    uint8_t out[24 * 24];
    pt_image_resize(&img, 24, 24, PT_FIT_PAD, out, &err);
    pt_image_free(&img);

    opts.min_width = 8; /* the reduced (DCT-scaled) JPEG path */
    opts.min_height = 8;
    if (pt_image_decode_memory(data, size, "fuzz", &opts, &img, &err) == PT_OK) {
        pt_image_resize(&img, 24, 24, PT_FIT_CROP, out, &err);
        pt_image_free(&img);
    }
    return 0;
}
