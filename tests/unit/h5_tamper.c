/* Damage to HDF5 files, for the readers' tests (see h5_tamper.h). */
#include "h5_tamper.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int complain(const char *path, const char *what)
{
    fprintf(stderr, "h5_tamper: %s: %s failed\n", path, what);
    return -1;
}

static hid_t open_rw(const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
}

/* The file offset and size of the dataset's raw data (its first chunk when chunked). */
static int locate(hid_t file, const char *dataset, haddr_t *addr, hsize_t *size)
{
    hid_t dset = H5Dopen2(file, dataset, H5P_DEFAULT);
    if (dset < 0)
        return -1;
    hid_t dcpl = H5Dget_create_plist(dset);
    hid_t space = H5Dget_space(dset);
    int rc = -1;
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    if (layout == H5D_CONTIGUOUS) {
        *addr = H5Dget_offset(dset);
        *size = H5Dget_storage_size(dset);
        rc = *addr == HADDR_UNDEF || *size == 0 ? -1 : 0;
    } else if (layout == H5D_CHUNKED) {
        hsize_t offset[H5S_MAX_RANK];
        unsigned mask;
        rc = H5Dget_chunk_info(dset, space, 0, offset, &mask, addr, size) < 0 ? -1 : 0;
    }
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    H5Dclose(dset);
    return rc;
}

int h5_tamper_flip(const char *path, const char *dataset)
{
    hid_t file = open_rw(path);
    if (file < 0)
        return complain(path, "open");
    haddr_t addr = 0;
    hsize_t size = 0;
    int rc = locate(file, dataset, &addr, &size);
    H5Fclose(file);
    if (rc < 0)
        return complain(dataset, "locating the data of");
    off_t at = (off_t)(addr + size / 2);
    int fd = open(path, O_RDWR);
    unsigned char byte;
    if (fd < 0 || pread(fd, &byte, 1, at) != 1) {
        if (fd >= 0)
            close(fd);
        return complain(path, "reading a byte");
    }
    byte ^= 0xff;
    rc = pwrite(fd, &byte, 1, at) == 1 ? 0 : -1;
    close(fd);
    return rc < 0 ? complain(path, "writing a byte") : 0;
}

int h5_tamper_flip_attr(const char *path, const char *obj, const char *name)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return complain(path, "open");
    unsigned char value[64];
    hid_t attr = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t type = attr >= 0 ? H5Aget_type(attr) : -1;
    size_t size = type >= 0 ? H5Tget_size(type) : 0;
    int ok = size > 0 && size <= sizeof value && H5Aread(attr, type, value) >= 0;
    if (type >= 0)
        H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    H5Fclose(file);
    if (!ok)
        return complain(name, "reading attribute");
    FILE *f = fopen(path, "r+b");
    if (!f)
        return complain(path, "open");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    unsigned char *bytes = n > 0 ? malloc((size_t)n) : NULL;
    int hits = 0;
    if (bytes && fseek(f, 0, SEEK_SET) == 0 && fread(bytes, 1, (size_t)n, f) == (size_t)n)
        for (long i = 0; i + (long)size <= n; i++)
            if (memcmp(bytes + i, value, size) == 0 &&
                fseek(f, i + (long)size / 2, SEEK_SET) == 0 &&
                fputc(bytes[i + (long)size / 2] ^ 1, f) != EOF)
                hits++;
    free(bytes);
    fclose(f);
    return hits ? 0 : complain(name, "finding the stored value of attribute");
}

int h5_tamper_delete(const char *path, const char *link)
{
    hid_t file = open_rw(path);
    if (file < 0)
        return complain(path, "open");
    int rc = H5Ldelete(file, link, H5P_DEFAULT) < 0 ? complain(link, "delete") : 0;
    H5Fclose(file);
    return rc;
}

int h5_tamper_replace(const char *path, const char *dataset, hid_t type, int rank,
                      const hsize_t *dims)
{
    hid_t file = open_rw(path);
    if (file < 0)
        return complain(path, "open");
    int rc = -1;
    hid_t space = -1, dset = -1;
    size_t n = H5Tget_size(type);
    for (int d = 0; d < rank; d++)
        n *= (size_t)dims[d];
    void *zeros = calloc(n ? n : 1, 1);
    if (zeros && H5Ldelete(file, dataset, H5P_DEFAULT) >= 0 &&
        (space = H5Screate_simple(rank, dims, NULL)) >= 0 &&
        (dset = H5Dcreate2(file, dataset, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >=
            0 &&
        (n == 0 || H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros) >= 0))
        rc = 0;
    if (dset >= 0)
        H5Dclose(dset);
    if (space >= 0)
        H5Sclose(space);
    free(zeros);
    H5Fclose(file);
    return rc < 0 ? complain(dataset, "replace") : 0;
}

int h5_tamper_fill_f32(const char *path, const char *dataset, float value)
{
    hid_t file = open_rw(path);
    if (file < 0)
        return complain(path, "open");
    int rc = -1;
    hid_t dset = H5Dopen2(file, dataset, H5P_DEFAULT);
    hid_t space = dset >= 0 ? H5Dget_space(dset) : -1;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    float *values = n > 0 ? malloc((size_t)n * sizeof *values) : NULL;
    if (values) {
        for (hssize_t i = 0; i < n; i++)
            values[i] = value;
        rc = H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0 ? -1 : 0;
    }
    free(values);
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    H5Fclose(file);
    return rc < 0 ? complain(dataset, "fill") : 0;
}

/* Replaces attribute `name` of obj with one of `type` and `space` holding data. */
static int set_attr(const char *path, const char *obj, const char *name, hid_t type, hid_t space,
                    const void *data)
{
    hid_t file = open_rw(path);
    if (file < 0)
        return complain(path, "open");
    int rc = -1;
    hid_t attr = -1;
    if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0)
        H5Adelete_by_name(file, obj, name, H5P_DEFAULT);
    attr = H5Acreate_by_name(file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0 && H5Awrite(attr, type, data) >= 0)
        rc = 0;
    if (attr >= 0)
        H5Aclose(attr);
    H5Fclose(file);
    return rc < 0 ? complain(name, "setting attribute") : 0;
}

int h5_tamper_attr_i64(const char *path, const char *obj, const char *name, int64_t value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    int rc = set_attr(path, obj, name, H5T_NATIVE_INT64, space, &value);
    H5Sclose(space);
    return rc;
}

int h5_tamper_attr_f64(const char *path, const char *obj, const char *name, double value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    int rc = set_attr(path, obj, name, H5T_NATIVE_DOUBLE, space, &value);
    H5Sclose(space);
    return rc;
}

int h5_tamper_attr_str(const char *path, const char *obj, const char *name, const char *value)
{
    return h5_tamper_attr_strings(path, obj, name, &value, 0);
}

/* n == 0: one scalar string; else an array of n. */
int h5_tamper_attr_strings(const char *path, const char *obj, const char *name,
                           const char *const *values, size_t n)
{
    size_t count = n ? n : 1, width = 1;
    for (size_t i = 0; i < count; i++)
        if (strlen(values[i]) + 1 > width)
            width = strlen(values[i]) + 1;
    char *packed = calloc(count, width);
    if (!packed)
        return complain(name, "allocating");
    for (size_t i = 0; i < count; i++)
        memcpy(packed + i * width, values[i], strlen(values[i]));
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, width);
    hsize_t dims[1] = {n};
    hid_t space = n ? H5Screate_simple(1, dims, NULL) : H5Screate(H5S_SCALAR);
    int rc = set_attr(path, obj, name, type, space, packed);
    H5Sclose(space);
    H5Tclose(type);
    free(packed);
    return rc;
}

int h5_tamper_cset(const char *path, const char *object, const char *attr)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return complain(path, "open");
    hid_t obj = -1, type = -1;
    if (attr)
        obj = H5Aopen_by_name(file, object, attr, H5P_DEFAULT, H5P_DEFAULT);
    else
        obj = H5Dopen2(file, object, H5P_DEFAULT);
    if (obj >= 0)
        type = attr ? H5Aget_type(obj) : H5Dget_type(obj);
    int cset = type >= 0 && H5Tget_class(type) == H5T_STRING ? (int)H5Tget_cset(type) : -1;
    if (type >= 0)
        H5Tclose(type);
    if (obj >= 0)
        attr ? H5Aclose(obj) : H5Dclose(obj);
    H5Fclose(file);
    return cset < 0 ? complain(object, "reading the character set of") : cset;
}

int h5_tamper_has_checksum(const char *path, const char *dataset)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return complain(path, "open");
    hid_t dset = H5Dopen2(file, dataset, H5P_DEFAULT);
    hid_t dcpl = dset >= 0 ? H5Dget_create_plist(dset) : -1;
    int found = dcpl >= 0 ? 0 : -1;
    for (int i = 0; dcpl >= 0 && i < H5Pget_nfilters(dcpl); i++) {
        unsigned flags, config;
        size_t n = 0;
        char name[64];
        if (H5Pget_filter2(dcpl, (unsigned)i, &flags, &n, NULL, sizeof name, name, &config) ==
            H5Z_FILTER_FLETCHER32)
            found = 1;
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (dset >= 0)
        H5Dclose(dset);
    H5Fclose(file);
    return found < 0 ? complain(dataset, "opening") : found;
}
