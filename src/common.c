/* Error codes, messages and small helpers shared by every module. */
#define _POSIX_C_SOURCE 200809L
#include "ptrain/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *pt_strerror(int code)
{
    switch (code) {
#define PT_ERROR_CASE(name, value, text)                                                           \
    case name:                                                                                     \
        return text;
        PT_ERROR_TABLE(PT_ERROR_CASE)
#undef PT_ERROR_CASE
    default:
        return "unknown error";
    }
}

int pt_error_set(pt_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void pt_error_clear(pt_error *err)
{
    if (err) {
        err->code = PT_OK;
        err->msg[0] = '\0';
    }
}

int pt_strlcpy(char *dst, const char *src, size_t cap)
{
    if (cap == 0)
        return -1;
    size_t len = strlen(src);
    if (len >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

int pt_read_file(const char *path, uint8_t **data, size_t *size, pt_error *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));

    int status = PT_OK;
    uint8_t *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        status = pt_error_set(err, PT_ERR_IO, "%s: not a regular file", path);
        goto done;
    }
    off_t len = st.st_size;
    buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory reading %lld bytes", path,
                              (long long)len);
        goto done;
    }
    if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        status = pt_error_set(err, PT_ERR_IO, "%s: read error", path);
        goto done;
    }
    *data = buf;
    *size = (size_t)len;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return status;
}

double pt_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
