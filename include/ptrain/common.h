/* Error codes, error messages and small helpers shared by every ptrain module.
 *
 * Library functions return an int status: 0 on success, a negative PT_ERR_* code on failure,
 * and fill a caller-owned pt_error with a message that names the file and the reason.
 * Only the command-line programs print messages and choose exit codes. */
#ifndef PTRAIN_COMMON_H
#define PTRAIN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define PT_VERSION "0.1.0"

/* One table for codes and their descriptions, so the two cannot drift apart. */
#define PT_ERROR_TABLE(X)                                                                          \
    X(PT_OK, 0, "success")                                                                         \
    X(PT_ERR_IO, -1, "input/output error")                                                         \
    X(PT_ERR_NOMEM, -2, "out of memory")                                                           \
    X(PT_ERR_FORMAT, -3, "corrupt or unrecognised data")                                           \
    X(PT_ERR_UNSUPPORTED, -4, "unsupported format")                                                \
    X(PT_ERR_TOO_LARGE, -5, "image too large")                                                     \
    X(PT_ERR_INVALID, -6, "invalid argument")                                                      \
    X(PT_ERR_HDF5, -7, "HDF5 error")                                                               \
    X(PT_ERR_MPI, -8, "MPI error")                                                                 \
    X(PT_ERR_EMPTY, -9, "nothing to do")                                                           \
    X(PT_ERR_USAGE, -10, "usage error")

enum pt_status {
#define PT_ERROR_ENUM(name, value, text) name = (value),
    PT_ERROR_TABLE(PT_ERROR_ENUM)
#undef PT_ERROR_ENUM
};

/* Longest message kept; longer ones are truncated, never overflowed. */
#define PT_ERROR_MSG_MAX 1024

typedef struct pt_error {
    int code;
    char msg[PT_ERROR_MSG_MAX];
} pt_error;

/* Describes a status code ("corrupt or unrecognised data"); never NULL. */
const char *pt_strerror(int code);

/* Records code and a printf-style message in err (err may be NULL) and returns code, so that a
 * failing path reads `return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));`. */
int pt_error_set(pt_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to PT_OK with an empty message. */
void pt_error_clear(pt_error *err);

/* Copies src into dst of capacity cap, always NUL-terminated; returns 0, or -1 if truncated. */
int pt_strlcpy(char *dst, const char *src, size_t cap);

/* The current UTC time as ISO 8601 ("2026-11-29T18:14:16Z"), or "unknown" if the clock fails. */
void pt_time_iso8601(char *buf, size_t cap);

/* Seconds on a monotonic clock, for throughput figures. */
double pt_now_seconds(void);

/* CPUs this process may run on (its affinity mask: launchers bind ranks), or 0 if unknown. */
int pt_cpus_allowed(void);

#endif
