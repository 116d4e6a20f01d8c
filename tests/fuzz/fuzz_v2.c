/* libFuzzer harness: the V2 inference request parser of `ptrain serve` (src/serve/v2.c: cJSON,
 * shapes, nested data, base64 BYTES through the image decoders) on arbitrary bytes, as a client
 * can send them, with and without heat maps asked for. */
#include <stdint.h>

#include "v2.h"

/* A small model input, so that a valid tensor fits in a short input. */
static const pt_prepare_opts prep = {8, 8, PT_FIT_STRETCH, 1 << 20};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pt_v2_request req;
    pt_error err;
    int cam = size > 0 && (data[0] & 1);
    if (pt_v2_parse_infer((const char *)data, size, &prep, cam, &req, &err) == PT_OK)
        pt_v2_request_free(&req);
    return 0;
}
