/* HDF5 helpers: error reasons, string types, attributes (see h5util.h). */
#include "ptrain/h5util.h"

#include "ptrain/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

void pt_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

typedef struct reason_ctx {
    char *buf;
    size_t cap;
} reason_ctx;

static herr_t take_reason(unsigned n, const H5E_error2_t *e, void *data)
{
    reason_ctx *ctx = data;
    /* The stack is walked innermost first; keep the first description, the most specific. */
    if (n == 0 && e->desc && *e->desc)
        snprintf(ctx->buf, ctx->cap, "%s", e->desc);
    return 0;
}

const char *pt_h5_reason(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown HDF5 error");
    reason_ctx ctx = {buf, cap};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, take_reason, &ctx);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

int pt_h5_fail(pt_error *err, const char *file, const char *what)
{
    char reason[256];
    return pt_error_set(err, PT_ERR_HDF5, "%s: %s: %s", file, what,
                        pt_h5_reason(reason, sizeof reason));
}

hid_t pt_h5_string_type(size_t size)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0)
        return type;
    if (H5Tset_size(type, size ? size : 1) < 0 || H5Tset_strpad(type, H5T_STR_NULLTERM) < 0) {
        H5Tclose(type);
        return -1;
    }
    return type;
}

/* Creates (or replaces) attribute `name` of `type` and `space` and writes `data`. */
static int write_attr(hid_t obj, const char *name, hid_t type, hid_t space, const void *data,
                      const char *file, pt_error *err)
{
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0)
        return pt_h5_fail(err, file, name);
    hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0)
        return pt_h5_fail(err, file, name);
    int status = H5Awrite(attr, type, data) < 0 ? pt_h5_fail(err, file, name) : PT_OK;
    H5Aclose(attr);
    return status;
}

static int write_scalar(hid_t obj, const char *name, hid_t type, const void *value,
                        const char *file, pt_error *err)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0)
        return pt_h5_fail(err, file, name);
    int status = write_attr(obj, name, type, space, value, file, err);
    H5Sclose(space);
    return status;
}

int pt_h5_attr_write_string(hid_t obj, const char *name, const char *value, const char *file,
                            pt_error *err)
{
    hid_t type = pt_h5_string_type(strlen(value) + 1);
    if (type < 0)
        return pt_h5_fail(err, file, name);
    int status = write_scalar(obj, name, type, value, file, err);
    H5Tclose(type);
    return status;
}

int pt_h5_attr_write_i64(hid_t obj, const char *name, int64_t value, const char *file,
                         pt_error *err)
{
    return write_scalar(obj, name, H5T_NATIVE_INT64, &value, file, err);
}

int pt_h5_attr_write_f64(hid_t obj, const char *name, double value, const char *file, pt_error *err)
{
    return write_scalar(obj, name, H5T_NATIVE_DOUBLE, &value, file, err);
}

int pt_h5_attr_write_strings(hid_t obj, const char *name, const char *const *values, size_t n,
                             const char *file, pt_error *err)
{
    size_t width = 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(values[i]) + 1 > width)
            width = strlen(values[i]) + 1;
    char *packed = calloc(n ? n : 1, width);
    if (!packed)
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < n; i++)
        memcpy(packed + i * width, values[i], strlen(values[i]));
    hsize_t dims[1] = {n};
    hid_t type = pt_h5_string_type(width);
    hid_t space = H5Screate_simple(1, dims, NULL);
    int status = (type < 0 || space < 0) ? pt_h5_fail(err, file, name)
                                         : write_attr(obj, name, type, space, packed, file, err);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    free(packed);
    return status;
}

static int read_scalar(hid_t obj, const char *name, hid_t mem_type, void *value, const char *file,
                       pt_error *err)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: attribute '%s' missing", file, name);
    int status = H5Aread(attr, mem_type, value) < 0 ? pt_h5_fail(err, file, name) : PT_OK;
    H5Aclose(attr);
    return status;
}

int pt_h5_attr_read_i64(hid_t obj, const char *name, int64_t *value, const char *file,
                        pt_error *err)
{
    return read_scalar(obj, name, H5T_NATIVE_INT64, value, file, err);
}

int pt_h5_attr_read_f64(hid_t obj, const char *name, double *value, const char *file, pt_error *err)
{
    return read_scalar(obj, name, H5T_NATIVE_DOUBLE, value, file, err);
}

int pt_h5_attr_read_string(hid_t obj, const char *name, char *buf, size_t cap, const char *file,
                           pt_error *err)
{
    size_t n = 0;
    return pt_h5_attr_read_strings(obj, name, buf, cap, 1, &n, file, err);
}

int pt_h5_attr_read_strings(hid_t obj, const char *name, char *buf, size_t stride, size_t n_max,
                            size_t *n, const char *file, pt_error *err)
{
    *n = 0;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: attribute '%s' missing", file, name);
    int status = PT_OK;
    char *packed = NULL;
    hid_t file_type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    hid_t mem_type = -1;
    if (file_type < 0 || space < 0 || H5Tget_class(file_type) != H5T_STRING ||
        H5Tis_variable_str(file_type) > 0) {
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: attribute '%s' is not a fixed string", file,
                              name);
        goto done;
    }
    hssize_t count = H5Sget_simple_extent_npoints(space);
    size_t width = H5Tget_size(file_type);
    if (count < 0 || (size_t)count > n_max) {
        status = pt_error_set(err, PT_ERR_FORMAT,
                              "%s: attribute '%s' has %lld values, at most "
                              "%zu expected",
                              file, name, (long long)count, n_max);
        goto done;
    }
    /* Read at the file's width plus one byte, then copy each value truncated into the caller's
     * slots: a longer string than expected is cut, never overflowed. */
    mem_type = pt_h5_string_type(width + 1);
    packed = calloc((size_t)(count ? count : 1), width + 1);
    if (mem_type < 0 || !packed) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", file);
        goto done;
    }
    if (H5Aread(attr, mem_type, packed) < 0) {
        status = pt_h5_fail(err, file, name);
        goto done;
    }
    for (hssize_t i = 0; i < count; i++)
        pt_strlcpy(buf + (size_t)i * stride, packed + (size_t)i * (width + 1), stride);
    *n = (size_t)count;
done:
    free(packed);
    if (mem_type >= 0)
        H5Tclose(mem_type);
    if (space >= 0)
        H5Sclose(space);
    if (file_type >= 0)
        H5Tclose(file_type);
    H5Aclose(attr);
    return status;
}

/* ---- files ---- */

/* ---- files built in memory ---- */

/* The core driver's buffer, kept when the file closes: the image is complete only after
 * H5Fclose (H5Fget_file_image in HDF5 1.10 neither flushes nor leaves a valid checksum on a 1.8
 * superblock). The driver grows the buffer by MEMORY_INCREMENT, so the image ends in up to that
 * many unused bytes, which HDF5 readers ignore. */
#define MEMORY_INCREMENT ((size_t)64 << 10)

static void *image_malloc(size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)op;
    ((pt_h5_memory *)udata)->size = size;
    return malloc(size);
}

static void *image_memcpy(void *dst, const void *src, size_t size, H5FD_file_image_op_t op,
                          void *udata)
{
    (void)op;
    (void)udata;
    return memcpy(dst, src, size);
}

static void *image_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)op;
    void *grown = realloc(ptr, size);
    if (grown)
        ((pt_h5_memory *)udata)->size = size;
    return grown;
}

static herr_t image_free(void *ptr, H5FD_file_image_op_t op, void *udata)
{
    if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE)
        ((pt_h5_memory *)udata)->image = ptr;
    else
        free(ptr);
    return 0;
}

static void *image_udata_copy(void *udata)
{
    return udata; /* the caller's pt_h5_memory, which outlives the file */
}

static herr_t image_udata_free(void *udata)
{
    (void)udata;
    return 0;
}

int pt_h5_create_memory(const char *name, pt_h5_memory *mem, pt_error *err)
{
    int status = PT_OK;
    memset(mem, 0, sizeof *mem);
    mem->file = -1;
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5FD_file_image_callbacks_t callbacks = {image_malloc, image_memcpy,     image_realloc,
                                             image_free,   image_udata_copy, image_udata_free,
                                             mem};
    if (fcpl < 0 || fapl < 0 || H5Pset_attr_phase_change(fcpl, 0, 0) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0 ||
        H5Pset_fapl_core(fapl, MEMORY_INCREMENT, 0) < 0 ||
        H5Pset_file_image_callbacks(fapl, &callbacks) < 0)
        status = pt_h5_fail(err, name, "cannot set file properties");
    else if ((mem->file = H5Fcreate(name, H5F_ACC_TRUNC, fcpl, fapl)) < 0)
        status = pt_h5_fail(err, name, "cannot create");
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return status;
}

/* Closes the file and keeps its image in mem->image (NULL if the close failed). In memory, the
 * close cannot meet a full disk: no file ID outlives a failed close (in HDF5 1.10 one would,
 * and crash MPI_Finalize). */
static void close_memory(pt_h5_memory *mem)
{
    if (mem->file >= 0 && H5Fclose(mem->file) < 0) {
        free(mem->image);
        mem->image = NULL;
    }
    mem->file = -1;
}

int pt_h5_commit_memory(pt_h5_memory *mem, const char *path, pt_error *err)
{
    close_memory(mem);
    int status = mem->image ? pt_fs_write_file(path, mem->image, mem->size, err)
                            : pt_error_set(err, PT_ERR_HDF5, "%s: cannot build the file", path);
    free(mem->image);
    mem->image = NULL;
    return status;
}

void pt_h5_discard_memory(pt_h5_memory *mem)
{
    close_memory(mem);
    free(mem->image);
    mem->image = NULL;
}

/* Opens an existing file read-only, telling a missing file, a non-HDF5 file and a damaged one
 * apart in the message. */
int pt_h5_open_file(const char *path, hid_t *file, pt_error *err)
{
    *file = -1;
    pt_h5_quiet();
    struct stat st;
    if (stat(path, &st) != 0)
        return pt_error_set(err, PT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return pt_error_set(err, PT_ERR_IO, "%s: is a directory", path);
    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 == 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: not an HDF5 file", path);
    if (is_hdf5 < 0)
        return pt_h5_fail(err, path, "cannot read");
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0)
        return pt_h5_fail(err, path, "cannot open (damaged or truncated?)");
    return PT_OK;
}

/* A string attribute of any length, into a malloc'd buffer. */
int pt_h5_attr_read_string_alloc(hid_t obj, const char *name, char **out, const char *file,
                                 pt_error *err)
{
    *out = NULL;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: attribute '%s' missing", file, name);
    hid_t type = H5Aget_type(attr);
    size_t size = type >= 0 ? H5Tget_size(type) : 0;
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(attr);
    if (size == 0)
        return pt_h5_fail(err, file, name);
    char *buf = malloc(size + 1);
    if (!buf)
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", file);
    int status = pt_h5_attr_read_string(obj, name, buf, size + 1, file, err);
    if (status != PT_OK) {
        free(buf);
        return status;
    }
    *out = buf;
    return PT_OK;
}
