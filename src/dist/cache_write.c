/* Collective writer of the HDF5 image cache over MPI-IO (see cache.h).
 *
 * Chunked datasets can only be written collectively in parallel HDF5, so every rank calls every
 * write, selecting nothing when it has nothing to add. Metadata known to all ranks (labels,
 * patients, sources, skipped files) is written from rank 0's copy alone. */
#include "cache_write.h"

#include <stdlib.h>
#include <string.h>

#include "comm_mpi.h"
#include "ptrain/h5util.h"

/* Chunks of about 1 MiB: few enough to keep the B-tree small, small enough that reading a few
 * images does not drag in much else. */
#define CHUNK_BYTES (1u << 20)

struct pt_cache_writer {
    char *path;
    int rank;
    int height;
    int width;
    int n_classes;
    int multi_label;
    int deflate;
    hid_t file;
    hid_t dxpl;   /* collective transfer */
    hid_t group;  /* current split, or -1 */
    hid_t images; /* current split's images, or -1 */
    uint64_t rows;
};

static void close_split(pt_cache_writer *w)
{
    if (w->images >= 0)
        H5Dclose(w->images);
    if (w->group >= 0)
        H5Gclose(w->group);
    w->images = -1;
    w->group = -1;
    w->rows = 0;
}

void pt_cache_writer_abandon(pt_cache_writer *w)
{
    if (!w)
        return;
    close_split(w);
    if (w->dxpl >= 0)
        H5Pclose(w->dxpl);
    if (w->file >= 0)
        H5Fclose(w->file);
    free(w->path);
    free(w);
}

static int write_root_attrs(pt_cache_writer *w, const pt_cache_header *h, pt_error *err)
{
    const char *f = w->path;
    int s = PT_OK;
    if (!s)
        s = pt_h5_attr_write_string(w->file, "format", PT_CACHE_FORMAT, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(w->file, "version", PT_CACHE_VERSION, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(w->file, "height", h->height, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(w->file, "width", h->width, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(w->file, "channels", 1, f, err);
    if (!s)
        s = pt_h5_attr_write_strings(w->file, "class_names", h->class_names, (size_t)h->n_classes,
                                     f, err);
    if (!s)
        s = pt_h5_attr_write_string(w->file, "label_mode", h->multi_label ? "multi" : "single", f,
                                    err);
    if (!s)
        s = pt_h5_attr_write_string(w->file, "created", h->created, f, err);
    if (!s)
        s = pt_h5_attr_write_string(w->file, "generator", h->generator, f, err);
    if (!s)
        s = pt_h5_attr_write_string(w->file, "source", h->source, f, err);
    if (!s)
        s = pt_h5_attr_write_string(w->file, "layout", h->layout, f, err);
    return s;
}

int pt_cache_writer_open(const char *path, const pt_comm *comm, const pt_cache_header *header,
                         pt_cache_writer **out, pt_error *err)
{
    *out = NULL;
    pt_h5_quiet();
    if (header->height <= 0 || header->width <= 0 || header->n_classes <= 0 ||
        header->n_classes > PT_CACHE_MAX_CLASSES)
        return pt_error_set(err, PT_ERR_INVALID, "%s: bad cache shape %dx%d with %d classes", path,
                            header->height, header->width, header->n_classes);
    pt_cache_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", path);
    }
    w->rank = comm->rank;
    w->height = header->height;
    w->width = header->width;
    w->n_classes = header->n_classes;
    w->multi_label = header->multi_label;
    w->deflate = header->deflate;
    w->file = w->dxpl = w->group = w->images = -1;

    int status = PT_OK;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* The HDF5 1.8 file format (readable by any h5py) checksums its object headers, where the
     * attributes live: a flipped byte in the mean or the class names fails the open instead of
     * changing the numbers. */
    if (fapl < 0 || H5Pset_fapl_mpio(fapl, pt_comm_mpi(comm), MPI_INFO_NULL) < 0 ||
        H5Pset_all_coll_metadata_ops(fapl, 1) < 0 || H5Pset_coll_metadata_write(fapl, 1) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) {
        status = pt_h5_fail(err, path, "setting up MPI-IO access");
        goto done;
    }
    w->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (w->file < 0) {
        status = pt_h5_fail(err, path, "cannot create file");
        goto done;
    }
    w->dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (w->dxpl < 0 || H5Pset_dxpl_mpio(w->dxpl, H5FD_MPIO_COLLECTIVE) < 0) {
        status = pt_h5_fail(err, path, "setting up collective transfers");
        goto done;
    }
    status = write_root_attrs(w, header, err);
done:
    if (fapl >= 0)
        H5Pclose(fapl);
    if (status != PT_OK) {
        pt_cache_writer_abandon(w);
        return status;
    }
    *out = w;
    return PT_OK;
}

int pt_cache_writer_begin_split(pt_cache_writer *w, const char *split, pt_error *err)
{
    close_split(w);
    w->group = H5Gcreate2(w->file, split, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (w->group < 0)
        return pt_h5_fail(err, w->path, split);

    size_t image_bytes = (size_t)w->height * (size_t)w->width;
    hsize_t per_chunk = image_bytes >= CHUNK_BYTES ? 1 : CHUNK_BYTES / image_bytes;
    hsize_t dims[3] = {0, (hsize_t)w->height, (hsize_t)w->width};
    hsize_t maxdims[3] = {H5S_UNLIMITED, dims[1], dims[2]};
    hsize_t chunk[3] = {per_chunk, dims[1], dims[2]};
    int status = PT_OK;
    hid_t space = H5Screate_simple(3, dims, maxdims);
    hid_t dcpl = pt_h5_checksum_dcpl(3, chunk, w->deflate);
    if (space < 0 || dcpl < 0 || H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0) {
        status = pt_h5_fail(err, w->path, "images dataset properties");
        goto done;
    }
    w->images = H5Dcreate2(w->group, "images", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (w->images < 0)
        status = pt_h5_fail(err, w->path, "creating images dataset");
done:
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return status;
}

uint64_t pt_cache_writer_rows(const pt_cache_writer *w)
{
    return w->rows;
}

int pt_cache_writer_append(pt_cache_writer *w, const uint8_t *images, uint64_t local_count,
                           uint64_t local_offset, uint64_t round_count, pt_error *err)
{
    if (round_count == 0)
        return PT_OK;
    hsize_t new_dims[3] = {w->rows + round_count, (hsize_t)w->height, (hsize_t)w->width};
    if (H5Dset_extent(w->images, new_dims) < 0)
        return pt_h5_fail(err, w->path, "extending images");

    int status = PT_OK;
    hid_t file_space = H5Dget_space(w->images);
    hsize_t mem_dims[3] = {local_count ? local_count : 1, new_dims[1], new_dims[2]};
    hid_t mem_space = H5Screate_simple(3, mem_dims, NULL);
    if (file_space < 0 || mem_space < 0) {
        status = pt_h5_fail(err, w->path, "images dataspace");
        goto done;
    }
    if (local_count > 0) {
        hsize_t start[3] = {w->rows + local_offset, 0, 0};
        hsize_t count[3] = {local_count, new_dims[1], new_dims[2]};
        if (H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
            status = pt_h5_fail(err, w->path, "selecting image rows");
            goto done;
        }
    } else if (H5Sselect_none(file_space) < 0 || H5Sselect_none(mem_space) < 0) {
        status = pt_h5_fail(err, w->path, "selecting no image rows");
        goto done;
    }
    /* A rank with nothing to write passes a valid pointer anyway: some MPI-IO paths touch it. */
    static const uint8_t nothing[1];
    if (H5Dwrite(w->images, H5T_NATIVE_UINT8, mem_space, file_space, w->dxpl,
                 local_count ? images : nothing) < 0) {
        status = pt_h5_fail(err, w->path, "writing images");
        goto done;
    }
    w->rows += round_count;
done:
    if (file_space >= 0)
        H5Sclose(file_space);
    if (mem_space >= 0)
        H5Sclose(mem_space);
    return status;
}

/* Writes a whole 1-D or 2-D dataset from rank 0's buffer; other ranks select nothing. Chunked
 * with a checksum like the images (filtered datasets are written collectively, as here); an
 * empty one stays contiguous: there is nothing to checksum. */
static int write_rank0_dataset(pt_cache_writer *w, hid_t parent, const char *name, hid_t type,
                               int rank_dims, const hsize_t *dims, const void *data, pt_error *err)
{
    hsize_t chunk[2];
    hid_t space = H5Screate_simple(rank_dims, dims, NULL);
    hid_t dcpl = pt_h5_row_chunk(rank_dims, dims, H5Tget_size(type), CHUNK_BYTES, chunk)
                     ? pt_h5_checksum_dcpl(rank_dims, chunk, 0)
                     : H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0) {
        if (space >= 0)
            H5Sclose(space);
        if (dcpl >= 0)
            H5Pclose(dcpl);
        return pt_h5_fail(err, w->path, name);
    }
    int status = PT_OK;
    hid_t dset = H5Dcreate2(parent, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    if (dset < 0) {
        status = pt_h5_fail(err, w->path, name);
        goto done;
    }
    if (dims[0] > 0) {
        static const uint8_t nothing[1];
        if (w->rank != 0 && H5Sselect_none(space) < 0) {
            status = pt_h5_fail(err, w->path, name);
            goto done;
        }
        if (H5Dwrite(dset, type, space, space, w->dxpl, w->rank == 0 ? data : nothing) < 0)
            status = pt_h5_fail(err, w->path, name);
    }
done:
    if (dset >= 0)
        H5Dclose(dset);
    H5Sclose(space);
    return status;
}

static int write_string_dataset(pt_cache_writer *w, hid_t parent, const char *name,
                                const char *const *values, uint64_t n, pt_error *err)
{
    size_t width = 1;
    for (uint64_t i = 0; i < n; i++) {
        size_t len = strlen(values[i]) + 1;
        if (len > width)
            width = len;
    }
    char *packed = NULL;
    if (w->rank == 0) {
        packed = calloc(n ? n : 1, width);
        if (!packed)
            return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory writing %s", w->path, name);
        for (uint64_t i = 0; i < n; i++)
            memcpy(packed + i * width, values[i], strlen(values[i]));
    }
    hid_t type = pt_h5_string_type(width);
    hsize_t dims[1] = {n};
    int status = type < 0 ? pt_h5_fail(err, w->path, name)
                          : write_rank0_dataset(w, parent, name, type, 1, dims, packed, err);
    if (type >= 0)
        H5Tclose(type);
    free(packed);
    return status;
}

int pt_cache_writer_split_meta(pt_cache_writer *w, uint64_t n, const void *labels,
                               const char *const *patients, const char *const *sources,
                               pt_error *err)
{
    int status;
    if (w->multi_label) {
        hsize_t dims[2] = {n, (hsize_t)w->n_classes};
        status = write_rank0_dataset(w, w->group, "labels", H5T_STD_U8LE, 2, dims, labels, err);
    } else {
        hsize_t dims[1] = {n};
        status = write_rank0_dataset(w, w->group, "labels", H5T_STD_I32LE, 1, dims, labels, err);
    }
    if (status == PT_OK)
        status = write_string_dataset(w, w->group, "patient", patients, n, err);
    if (status == PT_OK)
        status = write_string_dataset(w, w->group, "source", sources, n, err);
    return status;
}

int pt_cache_writer_train_stats(pt_cache_writer *w, double mean, double std, pt_error *err)
{
    hid_t train = H5Gopen2(w->file, "train", H5P_DEFAULT);
    if (train < 0)
        return pt_h5_fail(err, w->path, "opening /train");
    int status = pt_h5_attr_write_f64(train, "mean", mean, w->path, err);
    if (status == PT_OK)
        status = pt_h5_attr_write_f64(train, "std", std, w->path, err);
    H5Gclose(train);
    return status;
}

int pt_cache_writer_finish(pt_cache_writer *w, const char *const *skipped, uint64_t n_skipped,
                           pt_error *err)
{
    close_split(w);
    int status = write_string_dataset(w, w->file, "skipped", skipped, n_skipped, err);
    if (status == PT_OK)
        status = pt_h5_attr_write_i64(w->file, "n_skipped", (int64_t)n_skipped, w->path, err);
    H5Pclose(w->dxpl);
    w->dxpl = -1;
    if (H5Fclose(w->file) < 0 && status == PT_OK)
        status = pt_h5_fail(err, w->path, "closing file");
    w->file = -1;
    pt_cache_writer_abandon(w);
    return status;
}
