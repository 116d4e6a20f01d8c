/* Base64 encode and decode (see base64.h). */
#include "base64.h"

#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t pt_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void pt_base64_encode(const uint8_t *data, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < n) { /* one or two bytes left: padded with '=' */
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < n ? (uint32_t)data[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* The 6-bit value of an alphabet character, or -1. */
static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int pt_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len, pt_error *err)
{
    *out = NULL;
    *out_len = 0;
    /* padding: at most two '=' at the very end */
    size_t body = len;
    for (int pad = 0; pad < 2 && body > 0 && text[body - 1] == '='; pad++)
        body--;
    if (body % 4 == 1 || (len != body && len % 4 != 0))
        return pt_error_set(err, PT_ERR_FORMAT, "base64: %zu characters is not a valid length",
                            len);
    uint8_t *buf = malloc(body / 4 * 3 + 3);
    if (!buf)
        return pt_error_set(err, PT_ERR_NOMEM, "base64: out of memory for %zu characters", len);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < body; i++) {
        int v = sextet(text[i]);
        if (v < 0) {
            free(buf);
            return pt_error_set(err, PT_ERR_FORMAT, "base64: invalid character at position %zu", i);
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out = buf;
    *out_len = o;
    return PT_OK;
}
