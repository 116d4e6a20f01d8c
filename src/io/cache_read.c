/* Serial reader of the HDF5 image cache (see cache.h). Needs no MPI: every trainer rank, test
 * and tool opens the file on its own, read-only. Nothing is sized from the file before it has
 * been checked against the header. */
#include "ptrain/cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptrain/h5util.h"

/* Largest image side a cache may declare: far above any X-ray, small enough that N*H*W is
 * checked for overflow with plain int64 arithmetic. */
#define MAX_SIDE 65536
/* The widest string a cache holds: a path (at most 4095 bytes) and, in /skipped, its reason. A
 * damaged file stating more is refused before anything is sized from it. */
#define MAX_STRING_WIDTH 16384
/* Strings are read through a buffer of at most this many bytes, whatever the row count. */
#define STRING_BUFFER_BYTES (4 << 20)

struct pt_cache {
    char *path;
    hid_t file;
    pt_cache_info info;
};

static const char *const split_names[3] = {"train", "val", "test"};

int pt_cache_split_index(const char *split)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(split, split_names[i]) == 0)
            return i;
    return -1;
}

void pt_cache_close(pt_cache *cache)
{
    if (!cache)
        return;
    if (cache->file >= 0)
        H5Fclose(cache->file);
    free(cache->path);
    free(cache);
}

const pt_cache_info *pt_cache_get_info(const pt_cache *cache)
{
    return &cache->info;
}

/* Class names: at least one, none empty, no two alike (a label would mean two things). */
static int check_class_names(const pt_cache_info *info, const char *f, pt_error *err)
{
    for (int i = 0; i < info->n_classes; i++) {
        if (!info->class_names[i][0])
            return pt_error_set(err, PT_ERR_FORMAT, "%s: attribute class_names: class %d is empty",
                                f, i);
        for (int j = 0; j < i; j++)
            if (strcmp(info->class_names[i], info->class_names[j]) == 0)
                return pt_error_set(err, PT_ERR_FORMAT,
                                    "%s: attribute class_names: '%s' is both class %d and %d", f,
                                    info->class_names[i], j, i);
    }
    return PT_OK;
}

static int read_header(pt_cache *c, pt_error *err)
{
    pt_cache_info *info = &c->info;
    const char *f = c->path;
    char format[64] = "";
    int64_t version = 0, height = 0, width = 0, channels = 0;
    if (pt_h5_attr_read_string(c->file, "format", format, sizeof format, f, err) != PT_OK ||
        strcmp(format, PT_CACHE_FORMAT) != 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: not a ptrain cache (no format=\"%s\")", f,
                            PT_CACHE_FORMAT);
    int s = pt_h5_attr_read_i64(c->file, "version", &version, f, err);
    if (s)
        return s;
    if (version != PT_CACHE_VERSION)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: cache format version %lld, this ptrain reads version %d "
                            "(re-run ptrain-prep)",
                            f, (long long)version, PT_CACHE_VERSION);
    char label_mode[16] = "";
    size_t n_classes = 0;
    if (!s)
        s = pt_h5_attr_read_i64(c->file, "height", &height, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(c->file, "width", &width, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(c->file, "channels", &channels, f, err);
    if (!s)
        s = pt_h5_attr_read_strings(c->file, "class_names", &info->class_names[0][0],
                                    PT_CACHE_NAME_MAX, PT_CACHE_MAX_CLASSES, &n_classes, f, err);
    if (!s)
        s = pt_h5_attr_read_string(c->file, "label_mode", label_mode, sizeof label_mode, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(c->file, "n_skipped", &info->n_skipped, f, err);
    if (s)
        return s;
    /* informational attributes: absent ones are not an error */
    pt_h5_attr_read_string(c->file, "created", info->created, sizeof info->created, f, NULL);
    pt_h5_attr_read_string(c->file, "generator", info->generator, sizeof info->generator, f, NULL);
    pt_h5_attr_read_string(c->file, "layout", info->layout, sizeof info->layout, f, NULL);
    H5Eclear2(H5E_DEFAULT);
    if (height < 1 || width < 1 || height > MAX_SIDE || width > MAX_SIDE || channels != 1 ||
        n_classes == 0)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: implausible shape %lldx%lldx%lld with %zu classes (expected 1 "
                            "channel, sides 1..%d, at least one class)",
                            f, (long long)channels, (long long)height, (long long)width, n_classes,
                            MAX_SIDE);
    if (strcmp(label_mode, "single") != 0 && strcmp(label_mode, "multi") != 0)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: attribute label_mode is '%s', expected 'single' or 'multi'", f,
                            label_mode);
    if (info->n_skipped < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: attribute n_skipped is %lld", f,
                            (long long)info->n_skipped);
    info->height = (int)height;
    info->width = (int)width;
    info->channels = (int)channels;
    info->n_classes = (int)n_classes;
    info->multi_label = strcmp(label_mode, "multi") == 0;
    return check_class_names(info, f, err);
}

/* What dataset `what` ("images", "labels", "patient", "source"; "skipped" at the root) must be
 * for a split of n rows (PT_H5_ANY: any). */
static pt_h5_expect expected(const pt_cache_info *info, const char *what, int64_t n)
{
    if (strcmp(what, "images") == 0)
        return (pt_h5_expect){PT_H5_U8, 3, {n, info->height, info->width}};
    if (strcmp(what, "labels") == 0)
        return info->multi_label ? (pt_h5_expect){PT_H5_U8, 2, {n, info->n_classes}}
                                 : (pt_h5_expect){PT_H5_I32, 1, {n}};
    return (pt_h5_expect){PT_H5_STRING, 1, {n}};
}

/* Opens split/what (split NULL: the root) and checks it against the header; a labels dataset
 * that does not fit says what the header claims. */
static int open_dataset(pt_cache *c, const char *split, const char *what, int64_t n, hid_t *dset,
                        int64_t *dims, pt_error *err)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", split ? split : "", split ? "/" : "", what);
    pt_h5_expect want = expected(&c->info, what, n);
    int status = pt_h5_dataset_open(c->file, name, &want, dset, dims, c->path, err);
    if (status == PT_ERR_FORMAT && err && strcmp(what, "labels") == 0 &&
        H5Lexists(c->file, name, H5P_DEFAULT) > 0) {
        char reason[PT_ERROR_MSG_MAX];
        pt_strlcpy(reason, err->msg, sizeof reason);
        pt_error_set(err, status, "%s (label_mode is '%s' with %d classes)", reason,
                     c->info.multi_label ? "multi" : "single", c->info.n_classes);
    }
    return status;
}

/* Opens, checks and closes one dataset; *all_summed is cleared when a non-empty one has no
 * checksum. */
static int check_dataset(pt_cache *c, const char *split, const char *what, int64_t n, int64_t *dims,
                         int *all_summed, pt_error *err)
{
    hid_t dset;
    int status = open_dataset(c, split, what, n, &dset, dims, err);
    if (status != PT_OK)
        return status;
    if (!pt_h5_has_checksum(dset) && (dims ? dims[0] : n) > 0)
        *all_summed = 0;
    H5Dclose(dset);
    return PT_OK;
}

/* Every split's four datasets agree with the header and with each other on the row count. */
static int check_splits(pt_cache *c, pt_error *err)
{
    pt_cache_info *info = &c->info;
    int summed = 1;
    for (int i = 0; i < 3; i++) {
        const char *split = split_names[i];
        htri_t present = H5Lexists(c->file, split, H5P_DEFAULT);
        if (present < 0)
            return pt_h5_fail(err, c->path, split);
        info->present[i] = present > 0;
        info->count[i] = 0;
        if (!present) {
            if (i == 0)
                return pt_error_set(err, PT_ERR_FORMAT, "%s: no /train split", c->path);
            continue;
        }
        int64_t dims[3] = {0, 0, 0};
        int status = check_dataset(c, split, "images", PT_H5_ANY, dims, &summed, err);
        if (status != PT_OK)
            return status;
        int64_t n = dims[0];
        if (n > INT64_MAX / ((int64_t)info->height * info->width))
            return pt_error_set(err, PT_ERR_FORMAT, "%s: /%s/images has %lld rows", c->path, split,
                                (long long)n);
        const char *const others[] = {"labels", "patient", "source"};
        for (int k = 0; k < 3; k++)
            if ((status = check_dataset(c, split, others[k], n, NULL, &summed, err)) != PT_OK)
                return status;
        info->count[i] = n;
    }
    int status = check_dataset(c, NULL, "skipped", info->n_skipped, NULL, &summed, err);
    info->checksummed = summed;
    return status;
}

/* The training split's pixel statistics normalise every input: a zero, negative or non-finite
 * std (or a mean outside what pixels/255 can average to) would turn every input into inf or NaN
 * far from its cause. */
static int read_train_stats(pt_cache *c, pt_error *err)
{
    c->info.mean = 0.0;
    c->info.std = 1.0;
    if (c->info.count[0] == 0)
        return PT_OK;
    hid_t train = H5Gopen2(c->file, "train", H5P_DEFAULT);
    if (train < 0)
        return pt_h5_fail(err, c->path, "/train");
    const char *names[2] = {"mean", "std"};
    double *values[2] = {&c->info.mean, &c->info.std};
    int status = PT_OK;
    for (int i = 0; i < 2 && status == PT_OK; i++)
        if (pt_h5_attr_read_f64(train, names[i], values[i], c->path, NULL) != PT_OK)
            status = pt_error_set(err, PT_ERR_FORMAT, "%s: /train attribute %s missing", c->path,
                                  names[i]);
    H5Gclose(train);
    H5Eclear2(H5E_DEFAULT);
    if (status != PT_OK)
        return status;
    double mean = c->info.mean, std = c->info.std;
    /* pixels/255 lie in [0, 1]: their mean too, and their std is at most 0.5 */
    if (!(mean >= 0.0 && mean <= 1.0))
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: /train attribute mean is %g, expected a number in [0, 1]", c->path,
                            mean);
    if (!(std > 0.0 && std <= 0.5 + 1e-9))
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: /train attribute std is %g, expected a number in (0, 0.5] (all "
                            "training pixels alike?)",
                            c->path, std);
    return PT_OK;
}

int pt_cache_open(const char *path, pt_cache **out, pt_error *err)
{
    *out = NULL;
    pt_h5_quiet();
    pt_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", path);
    }
    /* (pt_h5_open_file refuses a FIFO before HDF5 could block on it) */
    int status = pt_h5_open_file(path, &c->file, err);
    if (status == PT_OK)
        status = read_header(c, err);
    if (status == PT_OK)
        status = check_splits(c, err);
    if (status == PT_OK)
        status = read_train_stats(c, err);
    if (status != PT_OK) {
        pt_cache_close(c);
        return status;
    }
    *out = c;
    return PT_OK;
}

static int split_index_of(const pt_cache *c, const char *split, pt_error *err)
{
    int i = pt_cache_split_index(split);
    if (i < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: no split '%s' (train, val or test)", c->path,
                            split);
    return i;
}

/* Reads rows [start, start+count) of split/what (split NULL: the root) with memory type
 * mem_type, after checking the dataset again: the file is read long after it was opened. */
static int read_rows(pt_cache *c, const char *split, const char *what, hid_t mem_type,
                     int64_t start, int64_t count, void *dst, pt_error *err)
{
    int64_t n = c->info.n_skipped;
    if (split) {
        int i = split_index_of(c, split, err);
        if (i < 0)
            return i;
        n = c->info.count[i];
    }
    if (start < 0 || count < 0 || start > n || count > n - start)
        return pt_error_set(err, PT_ERR_INVALID, "%s: rows %lld..%lld outside /%s%s%s (%lld rows)",
                            c->path, (long long)start, (long long)start + count, split ? split : "",
                            split ? "/" : "", what, (long long)n);
    if (count == 0)
        return PT_OK;
    hid_t dset;
    int64_t dims[3] = {0, 0, 0};
    int status = open_dataset(c, split, what, n, &dset, dims, err);
    if (status != PT_OK)
        return status;
    pt_h5_expect want = expected(&c->info, what, n);
    hsize_t off[3] = {(hsize_t)start, 0, 0};
    hsize_t cnt[3] = {(hsize_t)count, (hsize_t)dims[1], (hsize_t)dims[2]};
    hid_t space = H5Dget_space(dset);
    hid_t mem = H5Screate_simple(want.rank, cnt, NULL);
    if (space < 0 || mem < 0 ||
        H5Sselect_hyperslab(space, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0)
        status = pt_h5_fail(err, c->path, what);
    else
        status = pt_h5_read(dset, mem_type, mem, space, dst, c->path, err);
    if (mem >= 0)
        H5Sclose(mem);
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(dset);
    return status;
}

int pt_cache_read_images(pt_cache *cache, const char *split, int64_t start, int64_t count,
                         uint8_t *dst, pt_error *err)
{
    return read_rows(cache, split, "images", H5T_NATIVE_UINT8, start, count, dst, err);
}

int pt_cache_read_labels(pt_cache *cache, const char *split, int64_t start, int64_t count,
                         int32_t *dst, pt_error *err)
{
    if (cache->info.multi_label)
        return pt_error_set(err, PT_ERR_INVALID, "%s: multi-label cache has no class indices",
                            cache->path);
    int status = read_rows(cache, split, "labels", H5T_NATIVE_INT32, start, count, dst, err);
    for (int64_t i = 0; status == PT_OK && i < count; i++)
        if (dst[i] < 0 || dst[i] >= cache->info.n_classes)
            status = pt_error_set(err, PT_ERR_FORMAT,
                                  "%s: /%s/labels row %lld is %d, outside 0..%d", cache->path,
                                  split, (long long)(start + i), dst[i], cache->info.n_classes - 1);
    return status;
}

int pt_cache_read_multi_labels(pt_cache *cache, const char *split, int64_t start, int64_t count,
                               uint8_t *dst, pt_error *err)
{
    if (!cache->info.multi_label)
        return pt_error_set(err, PT_ERR_INVALID, "%s: single-label cache", cache->path);
    int status = read_rows(cache, split, "labels", H5T_NATIVE_UINT8, start, count, dst, err);
    int k = cache->info.n_classes;
    for (int64_t i = 0; status == PT_OK && i < count * k; i++)
        if (dst[i] > 1)
            status = pt_error_set(
                err, PT_ERR_FORMAT, "%s: /%s/labels row %lld class %lld is %d, expected 0 or 1",
                cache->path, split, (long long)(start + i / k), (long long)(i % k), dst[i]);
    return status;
}

int pt_cache_read_strings(pt_cache *cache, const char *split, const char *what, int64_t start,
                          int64_t count, char *dst, size_t stride, pt_error *err)
{
    if (count == 0)
        return PT_OK;
    int64_t n = cache->info.n_skipped;
    if (split) {
        int i = split_index_of(cache, split, err);
        if (i < 0)
            return i;
        n = cache->info.count[i];
    }
    hid_t dset;
    int status = open_dataset(cache, split, what, n, &dset, NULL, err);
    if (status != PT_OK)
        return status;
    hid_t type = H5Dget_type(dset);
    size_t width = type >= 0 ? H5Tget_size(type) : 0;
    if (width == 0 || width > MAX_STRING_WIDTH) {
        H5Tclose(type);
        H5Dclose(dset);
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: /%s%s%s holds strings of %zu bytes, expected at most %d (a "
                            "path or patient id): the file is damaged",
                            cache->path, split ? split : "", split ? "/" : "", what, width,
                            MAX_STRING_WIDTH);
    }
    /* Read at the file's width + 1 in the file's character set, then truncate into the caller's
     * slots. */
    hid_t mem_type = width > 0 ? pt_h5_string_read_type(type, width + 1) : -1;
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(dset);
    int64_t rows_per_read = (int64_t)(STRING_BUFFER_BYTES / (width + 1));
    if (rows_per_read > count)
        rows_per_read = count;
    char *packed = mem_type >= 0 ? calloc((size_t)rows_per_read, width + 1) : NULL;
    if (!packed) {
        if (mem_type >= 0)
            H5Tclose(mem_type);
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", cache->path);
    }
    for (int64_t done = 0; status == PT_OK && done < count; done += rows_per_read) {
        int64_t rows = count - done < rows_per_read ? count - done : rows_per_read;
        status = read_rows(cache, split, what, mem_type, start + done, rows, packed, err);
        for (int64_t i = 0; status == PT_OK && i < rows; i++)
            pt_strlcpy(dst + (size_t)(done + i) * stride, packed + (size_t)i * (width + 1), stride);
    }
    H5Tclose(mem_type);
    free(packed);
    return status;
}

void pt_cache_count_classes(const pt_cache_info *info, const int32_t *labels,
                            const uint8_t *targets, int64_t n, int64_t *counts)
{
    int k = info->n_classes;
    memset(counts, 0, (size_t)k * sizeof *counts);
    for (int64_t i = 0; i < n; i++) {
        if (info->multi_label) {
            for (int c = 0; c < k; c++)
                counts[c] += targets[i * k + c] != 0;
        } else if (labels[i] >= 0 && labels[i] < k) {
            counts[labels[i]]++;
        }
    }
}

int pt_cache_empty_classes(const pt_cache_info *info, const int64_t *counts, char *buf, size_t cap)
{
    int empty = 0;
    size_t used = 0;
    if (cap)
        buf[0] = '\0';
    for (int c = 0; c < info->n_classes; c++) {
        if (counts[c] != 0)
            continue;
        if (used < cap)
            used += (size_t)snprintf(buf + used, cap - used, "%s'%s'", empty ? ", " : "",
                                     info->class_names[c]);
        empty++;
    }
    return empty;
}
