/* Base64 (RFC 4648, standard alphabet, padded): heat-map PNGs into JSON, and encoded images out
 * of V2 BYTES tensors. */
#ifndef PTRAIN_SERVE_BASE64_H
#define PTRAIN_SERVE_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

/* Characters pt_base64_encode writes for n bytes, without the terminating NUL. */
size_t pt_base64_encoded_len(size_t n);

/* Encodes n bytes into out (pt_base64_encoded_len(n) + 1 bytes, NUL-terminated). */
void pt_base64_encode(const uint8_t *data, size_t n, char *out);

/* Decodes len characters of text (padding optional, no whitespace) into a malloc'ed *out of
 * *out_len bytes. PT_ERR_FORMAT naming the first bad character's position otherwise. */
int pt_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len, pt_error *err);

#endif
