/* V2 inference request parsing (see v2.h), on cJSON. */
#include "v2.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

/* Nested data arrays deeper than a 4-d tensor are refused (and recursion stays shallow). */
#define MAX_DATA_DEPTH 4

void pt_v2_request_free(pt_v2_request *req)
{
    free(req->images);
    if (req->films)
        for (int i = 0; i < req->n; i++)
            pt_image_free(&req->films[i]);
    free(req->films);
    memset(req, 0, sizeof *req);
}

/* The request's shape: 1 to 4 whole numbers, each in [0, limit]. */
static int read_shape(const cJSON *shape, int64_t dims[4], int *ndims, pt_error *err)
{
    if (!cJSON_IsArray(shape))
        return pt_error_set(err, PT_ERR_FORMAT, "input \"shape\" must be an array of integers");
    int n = cJSON_GetArraySize(shape);
    if (n < 1 || n > 4)
        return pt_error_set(err, PT_ERR_FORMAT, "input \"shape\" has %d dimensions", n);
    int i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape)
    {
        double v = cJSON_IsNumber(d) ? d->valuedouble : -1;
        if (v < 0 || v > 1e6 || v != floor(v))
            return pt_error_set(err, PT_ERR_FORMAT,
                                "input \"shape\"[%d] is not a whole number in [0, 1000000]", i);
        dims[i++] = (int64_t)v;
    }
    *ndims = n;
    return PT_OK;
}

typedef struct flat_out {
    uint8_t *dst;
    int64_t count; /* expected */
    int64_t used;
    int fp32;
} flat_out;

/* One value of a UINT8 or FP32 tensor as a gray level. */
static int gray_level(const cJSON *v, int fp32, int64_t index, uint8_t *out, pt_error *err)
{
    if (!cJSON_IsNumber(v))
        return pt_error_set(err, PT_ERR_FORMAT, "input \"data\"[%lld] is not a number",
                            (long long)index);
    double x = v->valuedouble;
    if (fp32) {
        if (!(x >= 0.0 && x <= 1.0))
            return pt_error_set(err, PT_ERR_FORMAT,
                                "input \"data\"[%lld] = %g: FP32 pixels must be in [0, 1]",
                                (long long)index, x);
        *out = (uint8_t)lrint(x * 255.0);
        return PT_OK;
    }
    if (!(x >= 0.0 && x <= 255.0) || x != floor(x))
        return pt_error_set(err, PT_ERR_FORMAT,
                            "input \"data\"[%lld] = %g: UINT8 pixels must be whole numbers 0..255",
                            (long long)index, x);
    *out = (uint8_t)x;
    return PT_OK;
}

/* Flattens data (nested arrays allowed) in row-major order into out->dst. */
static int flatten(const cJSON *data, int depth, flat_out *out, pt_error *err)
{
    if (depth > MAX_DATA_DEPTH)
        return pt_error_set(err, PT_ERR_FORMAT, "input \"data\" is nested too deeply");
    const cJSON *v;
    cJSON_ArrayForEach(v, data)
    {
        if (cJSON_IsArray(v)) {
            int status = flatten(v, depth + 1, out, err);
            if (status != PT_OK)
                return status;
            continue;
        }
        if (out->used >= out->count)
            return pt_error_set(err, PT_ERR_FORMAT,
                                "input \"data\" holds more values than its shape (%lld)",
                                (long long)out->count);
        int status = gray_level(v, out->fp32, out->used, out->dst + out->used, err);
        if (status != PT_OK)
            return status;
        out->used++;
    }
    return PT_OK;
}

/* UINT8/FP32 pixels: [N,H,W] or [N,1,H,W] at the model's size. */
static int read_pixels(const cJSON *input, const int64_t *dims, int ndims, int fp32,
                       const pt_prepare_opts *opts, pt_v2_request *req, pt_error *err)
{
    int c1 = ndims == 4 && dims[1] == 1;
    if (!(ndims == 3 || c1) || dims[ndims - 2] != opts->height || dims[ndims - 1] != opts->width)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "input \"shape\" must be [N, %d, %d] or [N, 1, %d, %d] (the model's "
                            "size)",
                            opts->height, opts->width, opts->height, opts->width);
    if (dims[0] < 1 || dims[0] > PT_V2_MAX_IMAGES)
        return pt_error_set(err, PT_ERR_FORMAT, "input \"shape\"[0] = %lld: 1 to %d images",
                            (long long)dims[0], PT_V2_MAX_IMAGES);
    req->n = (int)dims[0];
    size_t image = (size_t)opts->height * (size_t)opts->width;
    int64_t count = (int64_t)req->n * (int64_t)image;
    req->images = malloc((size_t)count);
    if (!req->images)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for %d images", req->n);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(input, "data");
    if (!cJSON_IsArray(data))
        return pt_error_set(err, PT_ERR_FORMAT, "input \"data\" must be an array");
    flat_out out = {req->images, count, 0, fp32};
    int status = flatten(data, 1, &out, err);
    if (status != PT_OK)
        return status;
    if (out.used != count)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "input \"data\" holds %lld values, its shape says %lld",
                            (long long)out.used, (long long)count);
    if (req->want_cam) { /* the overlay goes over the tensor itself */
        req->films = calloc((size_t)req->n, sizeof *req->films);
        if (!req->films)
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory for %d images", req->n);
        for (int i = 0; i < req->n; i++) {
            status = pt_image_alloc(&req->films[i], opts->width, opts->height, err);
            if (status != PT_OK)
                return status;
            memcpy(req->films[i].pixels, req->images + (size_t)i * image, image);
        }
    }
    return PT_OK;
}

/* BYTES: [N] base64-encoded PNG or JPEG files. */
static int read_encoded(const cJSON *input, const int64_t *dims, int ndims,
                        const pt_prepare_opts *opts, pt_v2_request *req, pt_error *err)
{
    if (ndims != 1 || dims[0] < 1 || dims[0] > PT_V2_MAX_IMAGES)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "a BYTES input has shape [N], N from 1 to %d encoded images",
                            PT_V2_MAX_IMAGES);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(input, "data");
    if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) != dims[0])
        return pt_error_set(err, PT_ERR_FORMAT,
                            "input \"data\" must be an array of %lld base64 strings",
                            (long long)dims[0]);
    size_t image = (size_t)opts->height * (size_t)opts->width;
    req->images = malloc((size_t)dims[0] * image);
    if (req->want_cam)
        req->films = calloc((size_t)dims[0], sizeof *req->films);
    if (!req->images || (req->want_cam && !req->films))
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for %lld images", (long long)dims[0]);
    const cJSON *v;
    int i = 0;
    cJSON_ArrayForEach(v, data)
    {
        if (!cJSON_IsString(v))
            return pt_error_set(err, PT_ERR_FORMAT, "input \"data\"[%d] is not a string", i);
        uint8_t *bytes;
        size_t size;
        int status = pt_base64_decode(v->valuestring, strlen(v->valuestring), &bytes, &size, err);
        if (status != PT_OK) {
            char reason[PT_ERROR_MSG_MAX]; /* the message is rewritten in place: copy it */
            pt_strlcpy(reason, err ? err->msg : "", sizeof reason);
            return pt_error_set(err, status, "input \"data\"[%d]: %s", i, reason);
        }
        char name[32];
        snprintf(name, sizeof name, "image %d", i);
        status = pt_prepare_memory_keep(bytes, size, name, opts, req->images + (size_t)i * image,
                                        req->want_cam ? &req->films[i] : NULL, err);
        free(bytes);
        if (status != PT_OK)
            return status;
        req->n = ++i;
    }
    return PT_OK;
}

/* "parameters": {"cam": true} (also 1 or "true", as clients send it). */
static int wants_cam(const cJSON *root)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    const cJSON *cam =
        cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, "cam") : NULL;
    if (!cam)
        return 0;
    if (cJSON_IsBool(cam))
        return cJSON_IsTrue(cam);
    if (cJSON_IsNumber(cam))
        return cam->valuedouble != 0;
    return cJSON_IsString(cam) &&
           (!strcmp(cam->valuestring, "true") || !strcmp(cam->valuestring, "1"));
}

static int parse_root(const cJSON *root, const pt_prepare_opts *opts, int cam_query,
                      pt_v2_request *req, pt_error *err)
{
    if (!cJSON_IsObject(root))
        return pt_error_set(err, PT_ERR_FORMAT, "the request must be a JSON object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (id && !cJSON_IsString(id))
        return pt_error_set(err, PT_ERR_FORMAT, "\"id\" must be a string");
    if (id)
        pt_strlcpy(req->id, id->valuestring, sizeof req->id);
    req->want_cam = cam_query || wants_cam(root);
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    if (!cJSON_IsArray(inputs) || cJSON_GetArraySize(inputs) != 1)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "\"inputs\" must be an array of one tensor (the images)");
    const cJSON *input = cJSON_GetArrayItem(inputs, 0);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(input, "name");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(input, "datatype");
    if (!cJSON_IsString(name) || !cJSON_IsString(type))
        return pt_error_set(err, PT_ERR_FORMAT,
                            "the input needs \"name\", \"shape\", \"datatype\" and \"data\"");
    pt_strlcpy(req->input_name, name->valuestring, sizeof req->input_name);
    int64_t dims[4] = {0};
    int ndims = 0;
    int status = read_shape(cJSON_GetObjectItemCaseSensitive(input, "shape"), dims, &ndims, err);
    if (status != PT_OK)
        return status;
    if (!strcmp(type->valuestring, "UINT8") || !strcmp(type->valuestring, "FP32"))
        return read_pixels(input, dims, ndims, !strcmp(type->valuestring, "FP32"), opts, req, err);
    if (!strcmp(type->valuestring, "BYTES"))
        return read_encoded(input, dims, ndims, opts, req, err);
    return pt_error_set(err, PT_ERR_FORMAT,
                        "input datatype \"%.32s\": this model takes UINT8, FP32 or BYTES",
                        type->valuestring);
}

int pt_v2_parse_infer(const char *body, size_t len, const pt_prepare_opts *opts, int cam_query,
                      pt_v2_request *req, pt_error *err)
{
    memset(req, 0, sizeof *req);
    /* the parse end rather than cJSON_GetErrorPtr, which is one global for every thread */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        long at = end && end >= body && end <= body + len ? (long)(end - body) : -1;
        return pt_error_set(err, PT_ERR_FORMAT, "malformed JSON (near byte %ld)", at);
    }
    int status = parse_root(root, opts, cam_query, req, err);
    cJSON_Delete(root);
    if (status != PT_OK)
        pt_v2_request_free(req);
    return status;
}
