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

typedef struct corruption {
    int checksum; /* a checksum did not match: Fletcher32 on data, or an object header's */
    int filter;   /* a filter (deflate, checksum) failed on read */
} corruption;

static herr_t find_corruption(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    corruption *c = data;
    if (e->maj_num == H5E_PLINE && e->min_num == H5E_READERROR)
        c->filter = 1;
    if (e->desc && strstr(e->desc, "checksum"))
        c->checksum = 1;
    return 0;
}

/* What HDF5's error stack says about damage. Call it first: every HDF5 API call starts by
 * clearing the stack. */
static corruption find_damage(void)
{
    corruption c = {0, 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_corruption, &c);
    return c;
}

int pt_h5_fail(pt_error *err, const char *file, const char *what)
{
    corruption c = find_damage();
    char reason[256];
    pt_h5_reason(reason, sizeof reason);
    if (c.checksum)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: %s: checksum mismatch: file is corrupt", file,
                            what);
    return pt_error_set(err, PT_ERR_HDF5, "%s: %s: %s", file, what, reason);
}

/* An attribute (attr 1: "attribute 'mean'") or a dataset ("/train/labels") that would not
 * open: missing, or on damaged metadata. */
static int missing(pt_error *err, const char *file, int attr, const char *name)
{
    char what[512];
    snprintf(what, sizeof what, attr ? "attribute '%s'" : "%s", name);
    int corrupt = find_damage().checksum;
    H5Eclear2(H5E_DEFAULT);
    if (corrupt)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: %s: checksum mismatch: file is corrupt", file,
                            what);
    return pt_error_set(err, PT_ERR_FORMAT, "%s: %s missing", file, what);
}

static hid_t string_type(size_t size, H5T_cset_t cset)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0)
        return type;
    if (H5Tset_size(type, size ? size : 1) < 0 || H5Tset_strpad(type, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(type, cset) < 0) {
        H5Tclose(type);
        return -1;
    }
    return type;
}

/* File names and class names are whatever the file system and the user gave: UTF-8, so that
 * h5py returns str and a non-ASCII name decodes. */
hid_t pt_h5_string_type(size_t size)
{
    return string_type(size, H5T_CSET_UTF8);
}

hid_t pt_h5_string_read_type(hid_t file_type, size_t size)
{
    H5T_cset_t cset = H5Tget_cset(file_type);
    return cset < 0 ? -1 : string_type(size, cset);
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

/* One number: H5Aread writes every value the attribute holds, so an array (a damaged or
 * hand-made file) would overflow `value`; it is refused, as is a text, before reading. */
static int read_scalar(hid_t obj, const char *name, hid_t mem_type, void *value, const char *file,
                       pt_error *err)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return missing(err, file, 1, name);
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    hssize_t count = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    int status = PT_OK;
    if (type < 0 || space < 0)
        status = pt_h5_fail(err, file, name);
    else if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: attribute '%s' is not a number", file, name);
    else if (count != 1)
        status =
            pt_error_set(err, PT_ERR_FORMAT, "%s: attribute '%s' holds %lld numbers, expected one",
                         file, name, (long long)count);
    else if (H5Aread(attr, mem_type, value) < 0)
        status = pt_h5_fail(err, file, name);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
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
        return missing(err, file, 1, name);
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
    mem_type = pt_h5_string_read_type(file_type, width + 1);
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
    /* A FIFO would block HDF5's open until some writer came (ptrain predict --model FIFO hung). */
    if (!S_ISREG(st.st_mode))
        return pt_error_set(err, PT_ERR_IO, "%s: not a regular file", path);
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
        return missing(err, file, 1, name);
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

/* ---- datasets ---- */

static const char *const elem_names[] = {"uint8", "int32", "float32", "float", "string"};

/* The element type as a reader would name it: "int32", "uint8", "float64", "string[51]". */
static void describe_type(hid_t type, char *buf, size_t cap)
{
    size_t bits = 8 * H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        snprintf(buf, cap, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
        break;
    case H5T_FLOAT:
        snprintf(buf, cap, "float%zu", bits);
        break;
    case H5T_STRING:
        if (H5Tis_variable_str(type) > 0)
            snprintf(buf, cap, "variable-length string");
        else
            snprintf(buf, cap, "string[%zu]", bits / 8);
        break;
    case H5T_COMPOUND:
        snprintf(buf, cap, "compound");
        break;
    case H5T_ENUM:
        snprintf(buf, cap, "enum");
        break;
    default:
        snprintf(buf, cap, "another type");
        break;
    }
}

static int elem_matches(hid_t type, pt_h5_elem elem)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    switch (elem) {
    case PT_H5_U8:
        return cls == H5T_INTEGER && size == 1 && H5Tget_sign(type) == H5T_SGN_NONE;
    case PT_H5_I32:
        return cls == H5T_INTEGER && size == 4 && H5Tget_sign(type) == H5T_SGN_2;
    case PT_H5_F32:
        return cls == H5T_FLOAT && size == 4;
    case PT_H5_FLOAT:
        return cls == H5T_FLOAT;
    case PT_H5_STRING:
        return cls == H5T_STRING && H5Tis_variable_str(type) == 0;
    }
    return 0;
}

/* "[120,64]"; PT_H5_ANY prints as "*". */
static void describe_dims(const int64_t *dims, int rank, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < rank && used < cap; d++) {
        if (dims[d] == PT_H5_ANY)
            used += (size_t)snprintf(buf + used, cap - used, "%s*", d ? "," : "");
        else
            used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? "," : "",
                                     (long long)dims[d]);
    }
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

/* The absolute path of `name` under loc ("/train/labels"), for messages. */
static void object_path(hid_t loc, const char *name, char *buf, size_t cap)
{
    char base[256] = "";
    if (name[0] != '/' && H5Iget_name(loc, base, sizeof base) > 0 && strcmp(base, "/") != 0)
        snprintf(buf, cap, "%s/%s", base, name);
    else
        snprintf(buf, cap, "%s%s", name[0] == '/' ? "" : "/", name);
}

int pt_h5_dataset_open(hid_t loc, const char *name, const pt_h5_expect *want, hid_t *dset,
                       int64_t *dims, const char *file, pt_error *err)
{
    char path[512];
    object_path(loc, name, path, sizeof path);
    *dset = H5Dopen2(loc, name, H5P_DEFAULT);
    if (*dset < 0) {
        if (find_damage().checksum)
            return missing(err, file, 0, path);
        hid_t group = H5Gopen2(loc, name, H5P_DEFAULT);
        if (group < 0)
            return missing(err, file, 0, path);
        H5Gclose(group);
        return pt_error_set(err, PT_ERR_FORMAT, "%s: %s is a group, not a dataset", file, path);
    }
    int status = PT_OK;
    hid_t type = H5Dget_type(*dset);
    hid_t space = H5Dget_space(*dset);
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t have[H5S_MAX_RANK];
    if (type < 0 || rank < 0 || rank > H5S_MAX_RANK ||
        H5Sget_simple_extent_dims(space, have, NULL) < 0) {
        status = pt_h5_fail(err, file, path);
        goto done;
    }
    int ok = elem_matches(type, want->elem) && rank == want->rank &&
             H5Sget_simple_extent_type(space) == H5S_SIMPLE;
    for (int d = 0; ok && d < rank; d++)
        ok = have[d] <= (hsize_t)INT64_MAX &&
             (want->dims[d] == PT_H5_ANY || have[d] == (hsize_t)want->dims[d]);
    if (!ok) {
        int64_t found[H5S_MAX_RANK];
        for (int d = 0; d < rank; d++)
            found[d] = have[d] <= (hsize_t)INT64_MAX ? (int64_t)have[d] : INT64_MAX;
        char type_text[64], found_dims[256], want_dims[256];
        describe_type(type, type_text, sizeof type_text);
        describe_dims(found, rank, found_dims, sizeof found_dims);
        describe_dims(want->dims, want->rank, want_dims, sizeof want_dims);
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: dataset %s is %s %s, expected %s %s", file,
                              path, type_text, rank ? found_dims : "(scalar)",
                              elem_names[want->elem], want_dims);
        goto done;
    }
    for (int d = 0; dims && d < rank; d++)
        dims[d] = (int64_t)have[d];
done:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (status != PT_OK) {
        H5Dclose(*dset);
        *dset = -1;
    }
    return status;
}

int pt_h5_read(hid_t dset, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf,
               const char *file, pt_error *err)
{
    if (H5Dread(dset, mem_type, mem_space, file_space, H5P_DEFAULT, buf) >= 0)
        return PT_OK;
    corruption c = find_damage();
    char reason[256];
    pt_h5_reason(reason, sizeof reason);
    char path[512] = "?";
    H5Iget_name(dset, path, sizeof path);
    if (c.checksum || c.filter)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: dataset %s: %s: file is corrupt", file, path,
                            c.checksum ? "checksum mismatch" : "data do not decompress");
    return pt_error_set(err, PT_ERR_HDF5, "%s: reading %s: %s", file, path, reason);
}

int pt_h5_has_checksum(hid_t dset)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0)
        return 0;
    int n = H5Pget_nfilters(dcpl), found = 0;
    for (int i = 0; i < n && !found; i++) {
        unsigned flags, config;
        size_t n_values = 0;
        char name[64];
        found = H5Pget_filter2(dcpl, (unsigned)i, &flags, &n_values, NULL, sizeof name, name,
                               &config) == H5Z_FILTER_FLETCHER32;
    }
    H5Pclose(dcpl);
    return found;
}

int pt_h5_row_chunk(int rank, const hsize_t *dims, size_t elem_size, size_t max_bytes,
                    hsize_t *chunk)
{
    size_t row = elem_size;
    for (int d = 0; d < rank; d++) {
        if (dims[d] == 0)
            return 0;
        if (d > 0) {
            chunk[d] = dims[d];
            row *= (size_t)dims[d];
        }
    }
    hsize_t rows = row >= max_bytes ? 1 : (hsize_t)(max_bytes / row);
    chunk[0] = rows < dims[0] ? rows : dims[0];
    return 1;
}

hid_t pt_h5_checksum_dcpl(int rank, const hsize_t *chunk, int deflate)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return -1;
    /* The checksum comes last on write, so it is verified first on read: a flipped byte is
     * named as such, not as data that would not decompress. */
    if (H5Pset_chunk(dcpl, rank, chunk) < 0 ||
        (deflate > 0 && H5Pset_deflate(dcpl, (unsigned)deflate) < 0) ||
        H5Pset_fletcher32(dcpl) < 0) {
        H5Pclose(dcpl);
        return -1;
    }
    return dcpl;
}
