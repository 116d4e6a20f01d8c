/* IDX reader. zlib's gzread reads plain files unchanged, so one path serves both forms.
 *
 * A header is 4 + 4 * n_dims bytes and announces the size of everything after it, so a hostile
 * or damaged 16-byte file can announce gigabytes. Nothing is allocated from the announcement
 * alone: a plain file must hold the announced bytes (its size says so), a gzip file must be large
 * enough to inflate to them (deflate expands at most 1032:1), and gzip data is read into a buffer
 * that grows with what was actually inflated. */
#include "ptrain/idx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ptrain/fs.h"

/* Sanity bound: the largest real IDX set (EMNIST) has under 1e9 bytes of pixels. */
#define IDX_MAX_BYTES (4LL * 1024 * 1024 * 1024)
/* deflate's worst-case expansion is 1032:1; the slack covers the gzip header and trailer. */
#define GZIP_MAX_RATIO 1032
#define GZIP_SLACK     1024
/* gzip data is read in buffers that start here and double. */
#define GZIP_FIRST_CHUNK (1 << 20)

/* Reads up to n bytes; *got < n only at the end of the data. */
static int read_some(gzFile f, void *buf, size_t n, size_t *got, const char *path, pt_error *err)
{
    size_t done = 0;
    while (done < n) {
        unsigned chunk = n - done > (1u << 30) ? (1u << 30) : (unsigned)(n - done);
        int r = gzread(f, (uint8_t *)buf + done, chunk);
        if (r < 0) {
            int zerr = 0;
            const char *msg = gzerror(f, &zerr);
            return pt_error_set(err, PT_ERR_FORMAT, "%s: %s", path, msg);
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return PT_OK;
}

static int read_exact(gzFile f, void *buf, size_t n, const char *path, pt_error *err)
{
    size_t got = 0;
    int status = read_some(f, buf, n, &got, path, err);
    if (status == PT_OK && got < n)
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: truncated IDX file", path);
    return status;
}

/* Opens path (a regular file only: a FIFO is refused without blocking) for gzread. */
static int open_idx(const char *path, gzFile *out, int64_t *file_size, pt_error *err)
{
    int fd;
    int status = pt_fs_open_regular(path, &fd, file_size, err);
    if (status != PT_OK)
        return status;
    *out = gzdopen(fd, "rb");
    if (!*out) {
        close(fd);
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory opening it", path);
    }
    return PT_OK;
}

/* The header: magic, dims; then checks the announced data size against the file. */
static int read_header(gzFile f, const char *path, int64_t file_size, pt_idx *idx, int64_t *total,
                       pt_error *err)
{
    uint8_t header[4];
    int status = read_exact(f, header, sizeof header, path, err);
    if (status != PT_OK)
        return status;
    /* magic: two zero bytes, the type (0x08 = unsigned byte), the number of dimensions */
    if (header[0] != 0 || header[1] != 0 || header[2] != 0x08 || (header[3] != 1 && header[3] != 3))
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: not an unsigned-byte IDX file of 1 or 3 dimensions", path);
    idx->n_dims = header[3];
    *total = 1;
    for (int d = 0; d < idx->n_dims; d++) {
        uint8_t be[4];
        status = read_exact(f, be, sizeof be, path, err);
        if (status != PT_OK)
            return status;
        idx->dims[d] = ((int64_t)be[0] << 24) | ((int64_t)be[1] << 16) | ((int64_t)be[2] << 8) |
                       (int64_t)be[3];
        if (idx->dims[d] <= 0 || *total > IDX_MAX_BYTES / idx->dims[d])
            return pt_error_set(err, PT_ERR_FORMAT, "%s: implausible IDX dimensions", path);
        *total *= idx->dims[d];
    }
    int64_t header_len = 4 + 4 * (int64_t)idx->n_dims;
    if (gzdirect(f)) {
        if (file_size - header_len < *total)
            return pt_error_set(err, PT_ERR_FORMAT,
                                "%s: truncated IDX file: the header announces %lld bytes of data, "
                                "the file holds %lld",
                                path, (long long)*total, (long long)(file_size - header_len));
    } else if (*total > file_size * GZIP_MAX_RATIO + GZIP_SLACK) {
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: the header announces %lld bytes of data, more than a %lld-byte "
                            "gzip file can hold",
                            path, (long long)*total, (long long)file_size);
    }
    return PT_OK;
}

/* The data: total bytes. A plain file's size was checked, so it is read at once; gzip data into
 * a buffer that grows with what was inflated. */
static int read_data(gzFile f, const char *path, int64_t total, uint8_t **out, pt_error *err)
{
    size_t want = (size_t)total;
    size_t cap = gzdirect(f) || want < GZIP_FIRST_CHUNK ? want : GZIP_FIRST_CHUNK;
    size_t have = 0;
    uint8_t *buf = NULL;
    for (;;) {
        uint8_t *grown = realloc(buf, cap);
        if (!grown) {
            free(buf);
            return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, cap);
        }
        buf = grown;
        size_t got = 0;
        int status = read_some(f, buf + have, cap - have, &got, path, err);
        have += got;
        if (status == PT_OK && have < cap)
            status = pt_error_set(err, PT_ERR_FORMAT,
                                  "%s: truncated IDX file: the header announces %zu bytes of "
                                  "data, the file holds %zu",
                                  path, want, have);
        if (status != PT_OK) {
            free(buf);
            return status;
        }
        if (have == want)
            break;
        cap = want - cap < cap ? want : 2 * cap;
    }
    *out = buf;
    return PT_OK;
}

static int read_idx(const char *path, pt_idx *idx, int with_data, pt_error *err)
{
    memset(idx, 0, sizeof *idx);
    gzFile f = NULL;
    int64_t file_size = 0, total = 0;
    int status = open_idx(path, &f, &file_size, err);
    if (status != PT_OK)
        return status;
    status = read_header(f, path, file_size, idx, &total, err);
    if (status == PT_OK && with_data)
        status = read_data(f, path, total, &idx->data, err);
    gzclose(f);
    if (status != PT_OK)
        pt_idx_free(idx);
    return status;
}

int pt_idx_read(const char *path, pt_idx *idx, pt_error *err)
{
    return read_idx(path, idx, 1, err);
}

int pt_idx_read_header(const char *path, pt_idx *idx, pt_error *err)
{
    return read_idx(path, idx, 0, err);
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
