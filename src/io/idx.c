/* IDX reader. zlib's gzread reads plain files unchanged, so one path serves both forms. */
#include "ptrain/idx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Sanity bound: the largest real IDX set (EMNIST) has under 1e9 bytes of pixels. */
#define IDX_MAX_BYTES (4LL * 1024 * 1024 * 1024)

static int read_exact(gzFile f, void *buf, size_t n, const char *path, pt_error *err)
{
    size_t done = 0;
    while (done < n) {
        unsigned chunk = n - done > (1u << 30) ? (1u << 30) : (unsigned)(n - done);
        int got = gzread(f, (uint8_t *)buf + done, chunk);
        if (got < 0) {
            int zerr = 0;
            const char *msg = gzerror(f, &zerr);
            return pt_error_set(err, PT_ERR_FORMAT, "%s: %s", path, msg);
        }
        if (got == 0)
            return pt_error_set(err, PT_ERR_FORMAT, "%s: truncated IDX file", path);
        done += (size_t)got;
    }
    return PT_OK;
}

int pt_idx_read(const char *path, pt_idx *idx, pt_error *err)
{
    memset(idx, 0, sizeof *idx);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path,
                            errno ? strerror(errno) : "cannot open");

    uint8_t header[4];
    int status = read_exact(f, header, sizeof header, path, err);
    if (status != PT_OK)
        goto fail;
    /* magic: two zero bytes, the type (0x08 = unsigned byte), the number of dimensions */
    if (header[0] != 0 || header[1] != 0 || header[2] != 0x08 ||
        (header[3] != 1 && header[3] != 3)) {
        status = pt_error_set(err, PT_ERR_FORMAT,
                              "%s: not an unsigned-byte IDX file of 1 or 3 dimensions", path);
        goto fail;
    }
    idx->n_dims = header[3];
    int64_t total = 1;
    for (int d = 0; d < idx->n_dims; d++) {
        uint8_t be[4];
        status = read_exact(f, be, sizeof be, path, err);
        if (status != PT_OK)
            goto fail;
        idx->dims[d] = ((int64_t)be[0] << 24) | ((int64_t)be[1] << 16) | ((int64_t)be[2] << 8) |
                       (int64_t)be[3];
        if (idx->dims[d] <= 0 || total > IDX_MAX_BYTES / idx->dims[d]) {
            status = pt_error_set(err, PT_ERR_FORMAT, "%s: implausible IDX dimensions", path);
            goto fail;
        }
        total *= idx->dims[d];
    }
    idx->data = malloc((size_t)total);
    if (!idx->data) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory (%lld bytes)", path,
                              (long long)total);
        goto fail;
    }
    status = read_exact(f, idx->data, (size_t)total, path, err);
    if (status != PT_OK)
        goto fail;
    gzclose(f);
    return PT_OK;
fail:
    gzclose(f);
    pt_idx_free(idx);
    return status;
}

void pt_idx_free(pt_idx *idx)
{
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

size_t pt_idx_record_size(const pt_idx *idx)
{
    size_t n = 1;
    for (int d = 1; d < idx->n_dims; d++)
        n *= (size_t)idx->dims[d];
    return n;
}
