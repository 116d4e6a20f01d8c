/* Open Inference Protocol V2 (KServe, Triton, Seldon) inference requests, JSON form:
 *
 *   {"id": "42", "parameters": {"cam": true},
 *    "inputs": [{"name": "image", "shape": [N, H, W], "datatype": "UINT8", "data": [...]}]}
 *
 * One input. UINT8: gray levels 0..255, shape [N,H,W] or [N,1,H,W] at the model's size, data
 * flat or nested in row-major order. FP32: the same with values in [0, 1] (pixel / 255, as
 * torchvision's ToTensor gives), rounded to the nearest 8-bit level the model was trained on.
 * BYTES: shape [N], data N strings, each a base64-encoded PNG or JPEG file, decoded and resized
 * exactly as `ptrain predict` does. Any other shape, type, count or value is an error naming it. */
#ifndef PTRAIN_SERVE_V2_H
#define PTRAIN_SERVE_V2_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/image.h"
#include "ptrain/prepare.h"

/* Most images one request may hold. */
#define PT_V2_MAX_IMAGES 1024

typedef struct pt_v2_request {
    char id[128];        /* the request's "id", echoed in the answer ("" when absent) */
    char input_name[64]; /* the input tensor's name */
    int want_cam;        /* "parameters": {"cam": true} */
    int n;               /* images */
    uint8_t *images;     /* n x height x width bytes, ready for the model */
    pt_image *films;     /* with want_cam: each image as the person sent it, for the overlay */
} pt_v2_request;

/* Parses and prepares a request body of len bytes; cam_query: a heat map was asked for in the
 * URL (?cam=1), as good as "parameters": {"cam": true}. On failure err says what is wrong (the
 * answer is 400) and req holds nothing to free. */
int pt_v2_parse_infer(const char *body, size_t len, const pt_prepare_opts *opts, int cam_query,
                      pt_v2_request *req, pt_error *err);

void pt_v2_request_free(pt_v2_request *req);

#endif
