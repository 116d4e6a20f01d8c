/* Error codes, messages and small helpers shared by every module. */
#define _POSIX_C_SOURCE 200809L
#include "ptrain/common.h"
#include <sched.h>

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

void pt_time_iso8601(char *buf, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !gmtime_r(&now, &tm) ||
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        pt_strlcpy(buf, "unknown", cap);
}

double pt_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int pt_cpus_allowed(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    return CPU_COUNT(&set);
}
