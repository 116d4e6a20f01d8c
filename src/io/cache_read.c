/* Serial reader of the HDF5 image cache (see cache.h). Needs no MPI: every trainer rank, test
 * and tool opens the file on its own, read-only. */
#include "ptrain/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptrain/h5util.h"

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
    if (height <= 0 || width <= 0 || channels != 1 || n_classes == 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: implausible shape %lldx%lldx%lld, %zu classes",
                            f, (long long)channels, (long long)height, (long long)width, n_classes);
    info->height = (int)height;
    info->width = (int)width;
    info->channels = (int)channels;
    info->n_classes = (int)n_classes;
    info->multi_label = strcmp(label_mode, "multi") == 0;
    return PT_OK;
}

static int read_split_counts(pt_cache *c, pt_error *err)
{
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s/images", split_names[i]);
        if (H5Lexists(c->file, split_names[i], H5P_DEFAULT) <= 0 ||
            H5Lexists(c->file, name, H5P_DEFAULT) <= 0) {
            c->info.count[i] = 0;
            continue;
        }
        hid_t dset = H5Dopen2(c->file, name, H5P_DEFAULT);
        hid_t space = dset >= 0 ? H5Dget_space(dset) : -1;
        hsize_t dims[3] = {0, 0, 0};
        int ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 3 &&
                 H5Sget_simple_extent_dims(space, dims, NULL) == 3;
        if (space >= 0)
            H5Sclose(space);
        if (dset >= 0)
            H5Dclose(dset);
        if (!ok || dims[1] != (hsize_t)c->info.height || dims[2] != (hsize_t)c->info.width)
            return pt_error_set(err, PT_ERR_FORMAT, "%s: /%s is not [N,%d,%d]", c->path, name,
                                c->info.height, c->info.width);
        c->info.count[i] = (int64_t)dims[0];
    }
    return PT_OK;
}

static void read_train_stats(pt_cache *c)
{
    c->info.mean = 0.0;
    c->info.std = 1.0;
    if (c->info.count[0] == 0)
        return;
    hid_t train = H5Gopen2(c->file, "train", H5P_DEFAULT);
    if (train < 0)
        return;
    pt_h5_attr_read_f64(train, "mean", &c->info.mean, c->path, NULL);
    pt_h5_attr_read_f64(train, "std", &c->info.std, c->path, NULL);
    H5Gclose(train);
    H5Eclear2(H5E_DEFAULT);
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
    int status = PT_OK;
    /* A FIFO would block HDF5's open until some writer came (ptrain train --data FIFO hung). */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        status = pt_error_set(err, PT_ERR_IO, "%s: not a regular file", path);
        c->file = -1;
        goto done;
    }
    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 <= 0) {
        FILE *probe = fopen(path, "rb");
        status = pt_error_set(err, probe ? PT_ERR_FORMAT : PT_ERR_IO, "%s: %s", path,
                              probe ? "not an HDF5 file" : "cannot open (no such file?)");
        if (probe)
            fclose(probe);
        c->file = -1;
        goto done;
    }
    c->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (c->file < 0) {
        status = pt_h5_fail(err, path, "cannot open");
        goto done;
    }
    status = read_header(c, err);
    if (status == PT_OK)
        status = read_split_counts(c, err);
    if (status == PT_OK)
        read_train_stats(c);
done:
    if (status != PT_OK) {
        pt_cache_close(c);
        return status;
    }
    *out = c;
    return PT_OK;
}

/* Reads rows [start, start+count) of dataset `name` (split/what) with memory type mem_type. */
static int read_rows(pt_cache *c, const char *name, hid_t mem_type, int64_t start, int64_t count,
                     void *dst, pt_error *err)
{
    if (count == 0)
        return PT_OK;
    hid_t dset = H5Dopen2(c->file, name, H5P_DEFAULT);
    if (dset < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: no dataset /%s", c->path, name);
    int status = PT_OK;
    hid_t space = H5Dget_space(dset);
    int ndims = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t dims[3] = {0, 0, 0};
    if (ndims < 1 || ndims > 3 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        status = pt_h5_fail(err, c->path, name);
        goto done;
    }
    if (start < 0 || count < 0 || (hsize_t)(start + count) > dims[0]) {
        status = pt_error_set(err, PT_ERR_INVALID, "%s: rows %lld..%lld outside /%s (%llu rows)",
                              c->path, (long long)start, (long long)(start + count), name,
                              (unsigned long long)dims[0]);
        goto done;
    }
    hsize_t off[3] = {(hsize_t)start, 0, 0};
    hsize_t cnt[3] = {(hsize_t)count, dims[1], dims[2]};
    hid_t mem = H5Screate_simple(ndims, cnt, NULL);
    if (mem < 0 || H5Sselect_hyperslab(space, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
        H5Dread(dset, mem_type, mem, space, H5P_DEFAULT, dst) < 0)
        status = pt_h5_fail(err, c->path, name);
    if (mem >= 0)
        H5Sclose(mem);
done:
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(dset);
    return status;
}

static int split_dataset_name(const pt_cache *c, const char *split, const char *what, char *name,
                              size_t cap, pt_error *err)
{
    if (split && pt_cache_split_index(split) < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: no split '%s' (train, val or test)", c->path,
                            split);
    snprintf(name, cap, "%s%s%s", split ? split : "", split ? "/" : "", what);
    return PT_OK;
}

int pt_cache_read_images(pt_cache *cache, const char *split, int64_t start, int64_t count,
                         uint8_t *dst, pt_error *err)
{
    char name[64];
    int s = split_dataset_name(cache, split, "images", name, sizeof name, err);
    return s ? s : read_rows(cache, name, H5T_NATIVE_UINT8, start, count, dst, err);
}

int pt_cache_read_labels(pt_cache *cache, const char *split, int64_t start, int64_t count,
                         int32_t *dst, pt_error *err)
{
    if (cache->info.multi_label)
        return pt_error_set(err, PT_ERR_INVALID, "%s: multi-label cache has no class indices",
                            cache->path);
    char name[64];
    int s = split_dataset_name(cache, split, "labels", name, sizeof name, err);
    return s ? s : read_rows(cache, name, H5T_NATIVE_INT32, start, count, dst, err);
}

int pt_cache_read_multi_labels(pt_cache *cache, const char *split, int64_t start, int64_t count,
                               uint8_t *dst, pt_error *err)
{
    if (!cache->info.multi_label)
        return pt_error_set(err, PT_ERR_INVALID, "%s: single-label cache", cache->path);
    char name[64];
    int s = split_dataset_name(cache, split, "labels", name, sizeof name, err);
    return s ? s : read_rows(cache, name, H5T_NATIVE_UINT8, start, count, dst, err);
}

int pt_cache_read_strings(pt_cache *cache, const char *split, const char *what, int64_t start,
                          int64_t count, char *dst, size_t stride, pt_error *err)
{
    char name[64];
    int status = split_dataset_name(cache, split, what, name, sizeof name, err);
    if (status != PT_OK || count == 0)
        return status;
    hid_t dset = H5Dopen2(cache->file, name, H5P_DEFAULT);
    if (dset < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: no dataset /%s", cache->path, name);
    hid_t type = H5Dget_type(dset);
    size_t width = type >= 0 ? H5Tget_size(type) : 0;
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(dset);
    if (width == 0)
        return pt_h5_fail(err, cache->path, name);

    /* Read at the file's width + 1, then truncate into the caller's slots. */
    char *packed = calloc((size_t)count, width + 1);
    hid_t mem_type = pt_h5_string_type(width + 1);
    if (!packed || mem_type < 0) {
        free(packed);
        if (mem_type >= 0)
            H5Tclose(mem_type);
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", cache->path);
    }
    status = read_rows(cache, name, mem_type, start, count, packed, err);
    for (int64_t i = 0; status == PT_OK && i < count; i++)
        pt_strlcpy(dst + (size_t)i * stride, packed + (size_t)i * (width + 1), stride);
    H5Tclose(mem_type);
    free(packed);
    return status;
}
