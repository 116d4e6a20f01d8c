/* Collective writer of the HDF5 image cache over MPI-IO (see cache.h).
 *
 * Chunked datasets can only be written collectively in parallel HDF5, so every rank calls every
 * write, selecting nothing when it has nothing to add. Metadata known to all ranks (labels,
 * patients, sources, skipped files) is written from rank 0's copy alone.
 *
 * Errors: a collective write can fail on some ranks only (the one whose share met the full
 * disk), so every public call ends in an agreement and returns the same status on every rank;
 * none goes on alone into the next collective call to wait there forever. Parallel HDF5 itself
 * cannot always recover in step on every rank from a write that failed halfway, so before each
 * write rank 0 checks that the file system has room for it, and a file given up is emptied
 * before it is closed, so that the close has room for its last metadata (a failed H5Fclose in
 * HDF5 1.10 leaves a file ID behind that crashes MPI_Finalize). */
#include "cache_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "comm_mpi.h"
#include "ptrain/h5util.h"

/* Chunks of about 1 MiB: few enough to keep the B-tree small, small enough that reading a few
 * images does not drag in much else. */
#define CHUNK_BYTES (1u << 20)

/* Room kept free beyond the bytes of a write: HDF5's own metadata (chunk index, object headers),
 * which the metadata cache may write at any later call, needs far less. */
#define ROOM_MARGIN_BYTES ((uint64_t)2 << 20)

struct pt_cache_writer {
    char *path;
    const pt_comm *comm;
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
    if (w->file >= 0) {
        /* The file is given up: its blocks are freed first (rank 0, before the collective close
         * can write), so that a close after a full disk finds room for its metadata. */
        if (w->rank == 0)
            (void)truncate(w->path, 0);
        H5Fclose(w->file);
    }
    free(w->path);
    free(w);
}

/* errno values that say why a write to storage failed; anything else in errno after a failed
 * HDF5 call may be left over from an earlier, unrelated call. */
static int storage_errno(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO || e == EROFS ? e : 0;
}

/* The message for a failed HDF5 call, from errno right after it: "No space left on device" rather
 * than HDF5's "can't write data" where the reason is known. */
static int h5_write_fail(const pt_cache_writer *w, const char *what, int saved_errno, pt_error *err)
{
    if (storage_errno(saved_errno))
        return pt_error_set(err, PT_ERR_IO, "%s: %s: %s", w->path, what, strerror(saved_errno));
    return pt_h5_fail(err, w->path, what);
}

/* Every rank learns whether the step failed on any rank, and returns that status; a storage
 * error seen anywhere becomes every rank's message (a rank keeps its own, more precise one for
 * the same reason). A rank that did not fail and knows no reason keeps no message: the failing
 * rank's is the one printed. */
static int agree(const pt_cache_writer *w, int status, int saved_errno, const char *what,
                 pt_error *err)
{
    int64_t v[2] = {-(int64_t)status, storage_errno(saved_errno)};
    pt_comm_allreduce_max_i64(w->comm, v, 2);
    if (v[0] == 0)
        return PT_OK;
    int e = (int)v[1];
    if (e && !(status != PT_OK && storage_errno(saved_errno) == e))
        return pt_error_set(err, PT_ERR_IO, "%s: %s: %s", w->path, what, strerror(e));
    return status != PT_OK ? status : (int)-v[0];
}

/* Rank 0: is there room on the file system for `need` more bytes? */
static int check_free_space(const pt_cache_writer *w, uint64_t need, const char *what, int *e,
                            pt_error *err)
{
    struct statvfs st;
    if (statvfs(w->path, &st) != 0)
        return PT_OK; /* nothing to check against: the writes will tell */
    uint64_t avail = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
    if (avail >= need)
        return PT_OK;
    *e = ENOSPC;
    return pt_error_set(err, PT_ERR_IO,
                        "%s: %s: %s (%.1f MiB free on its file system, %.1f MiB needed)", w->path,
                        what, strerror(*e), (double)avail / 1048576.0, (double)need / 1048576.0);
}

/* Rank 0, after check_free_space: reserves the blocks for `need` more bytes past the file's end
 * (fallocate, the file's size unchanged), so that another program filling the file system
 * between this check and the write cannot make the write fail. That matters because a write can
 * fail inside one of HDF5's own collectives (the chunk allocation of H5Dset_extent), which then
 * leaves the other ranks waiting in its barrier for good; with the room reserved, the only
 * failure left is this check, which every rank learns of. File systems without fallocate
 * (EOPNOTSUPP: some NFS and parallel file systems) keep the statvfs check alone. */
static int reserve_room(const pt_cache_writer *w, uint64_t need, const char *what, int *e,
                        pt_error *err)
{
#ifdef FALLOC_FL_KEEP_SIZE
    hsize_t size = 0;
    if (H5Fget_filesize(w->file, &size) < 0)
        return PT_OK;
    int fd = open(w->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return PT_OK; /* the writes will tell */
    int rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)size, (off_t)need);
    int saved = errno;
    close(fd);
    if (rc == 0 || (saved != ENOSPC && saved != EDQUOT))
        return PT_OK;
    *e = saved;
    return pt_error_set(err, PT_ERR_IO, "%s: %s: %s (%.1f MiB could not be reserved)", w->path,
                        what, strerror(saved), (double)need / 1048576.0);
#else
    (void)w, (void)need, (void)what, (void)e, (void)err;
    return PT_OK;
#endif
}

/* Every rank: may the file grow by `need` bytes under this process's file-size limit (ulimit
 * -f)? Past it a write fails with EFBIG, and HDF5's close, which sets the file's size, would too.
 */
static int check_size_limit(const pt_cache_writer *w, uint64_t need, const char *what, int *e,
                            pt_error *err)
{
    struct rlimit limit;
    hsize_t size = 0;
    if (getrlimit(RLIMIT_FSIZE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
        H5Fget_filesize(w->file, &size) < 0 || (uint64_t)size + need <= limit.rlim_cur)
        return PT_OK;
    *e = EFBIG;
    return pt_error_set(err, PT_ERR_IO,
                        "%s: %s: %s (the file-size limit of this process, ulimit -f, is %.1f "
                        "MiB; the file would reach %.1f MiB)",
                        w->path, what, strerror(*e), (double)limit.rlim_cur / 1048576.0,
                        (double)(size + need) / 1048576.0);
}

/* Collective: checks, before any rank writes them, that `bytes` more (plus the margin) fit on
 * the file system (rank 0 asks it and reserves them) and under every rank's file-size limit. */
static int check_room(const pt_cache_writer *w, uint64_t bytes, const char *what, pt_error *err)
{
    int e = 0;
    uint64_t need = bytes + ROOM_MARGIN_BYTES;
    int status = check_size_limit(w, need, what, &e, err);
    if (status == PT_OK && w->rank == 0)
        status = check_free_space(w, need, what, &e, err);
    if (status == PT_OK && w->rank == 0)
        status = reserve_room(w, need, what, &e, err);
    return agree(w, status, e, what, err);
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
    w->comm = comm;
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
        status = h5_write_fail(w, "cannot create file", errno, err);
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
    status = agree(w, status, 0, "creating the file", err);
    if (status != PT_OK) {
        pt_cache_writer_abandon(w);
        return status;
    }
    *out = w;
    return PT_OK;
}

static int begin_split(pt_cache_writer *w, const char *split, pt_error *err)
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

int pt_cache_writer_begin_split(pt_cache_writer *w, const char *split, pt_error *err)
{
    int status = begin_split(w, split, err);
    return agree(w, status, status != PT_OK ? errno : 0, split, err);
}

int pt_cache_writer_check_room(pt_cache_writer *w, uint64_t bytes, pt_error *err)
{
    return check_room(w, bytes, "writing the cache", err);
}

uint64_t pt_cache_writer_rows(const pt_cache_writer *w)
{
    return w->rows;
}

/* The round's extent and this rank's rows; *saved_errno gets errno after a failed call. */
static int append_round(pt_cache_writer *w, const uint8_t *images, uint64_t local_count,
                        uint64_t local_offset, uint64_t round_count, int *saved_errno,
                        pt_error *err)
{
    hsize_t new_dims[3] = {w->rows + round_count, (hsize_t)w->height, (hsize_t)w->width};
    if (H5Dset_extent(w->images, new_dims) < 0) {
        *saved_errno = errno;
        return h5_write_fail(w, "extending images", *saved_errno, err);
    }

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
        *saved_errno = errno;
        status = h5_write_fail(w, "writing images", *saved_errno, err);
        goto done;
    }
done:
    if (file_space >= 0)
        H5Sclose(file_space);
    if (mem_space >= 0)
        H5Sclose(mem_space);
    return status;
}

int pt_cache_writer_append(pt_cache_writer *w, const uint8_t *images, uint64_t local_count,
                           uint64_t local_offset, uint64_t round_count, pt_error *err)
{
    if (round_count == 0)
        return PT_OK;
    uint64_t bytes = round_count * (uint64_t)w->height * (uint64_t)w->width;
    int status = check_room(w, bytes, "writing images", err);
    if (status != PT_OK)
        return status;
    int saved_errno = 0;
    status = append_round(w, images, local_count, local_offset, round_count, &saved_errno, err);
    status = agree(w, status, saved_errno, "writing images", err);
    if (status == PT_OK)
        w->rows += round_count;
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
            status = h5_write_fail(w, name, errno, err);
    }
done:
    if (dset >= 0)
        H5Dclose(dset);
    H5Sclose(space);
    return status;
}

/* Bytes of the longest string plus its NUL: the fixed width of a string dataset. */
static size_t string_width(const char *const *values, uint64_t n)
{
    size_t width = 1;
    for (uint64_t i = 0; i < n; i++) {
        size_t len = strlen(values[i]) + 1;
        if (len > width)
            width = len;
    }
    return width;
}

static int write_string_dataset(pt_cache_writer *w, hid_t parent, const char *name,
                                const char *const *values, uint64_t n, pt_error *err)
{
    size_t width = string_width(values, n);
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
    uint64_t label_bytes = w->multi_label ? (uint64_t)w->n_classes : sizeof(int32_t);
    uint64_t bytes = n * (label_bytes + string_width(patients, n) + string_width(sources, n));
    int status = check_room(w, bytes, "writing labels, patients and sources", err);
    if (status != PT_OK)
        return status;
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
    return agree(w, status, status != PT_OK ? errno : 0, "writing labels, patients and sources",
                 err);
}

int pt_cache_writer_train_stats(pt_cache_writer *w, double mean, double std, pt_error *err)
{
    hid_t train = H5Gopen2(w->file, "train", H5P_DEFAULT);
    if (train < 0)
        return agree(w, pt_h5_fail(err, w->path, "opening /train"), 0, "opening /train", err);
    int status = pt_h5_attr_write_f64(train, "mean", mean, w->path, err);
    if (status == PT_OK)
        status = pt_h5_attr_write_f64(train, "std", std, w->path, err);
    H5Gclose(train);
    return agree(w, status, status != PT_OK ? errno : 0, "writing /train statistics", err);
}

int pt_cache_writer_finish(pt_cache_writer *w, const char *const *skipped, uint64_t n_skipped,
                           pt_error *err)
{
    close_split(w);
    int status =
        check_room(w, n_skipped * string_width(skipped, n_skipped), "writing /skipped", err);
    if (status == PT_OK)
        status = write_string_dataset(w, w->file, "skipped", skipped, n_skipped, err);
    if (status == PT_OK)
        status = pt_h5_attr_write_i64(w->file, "n_skipped", (int64_t)n_skipped, w->path, err);
    /* Everything reaches the disk before the close, which then has nothing left to fail on. */
    if (status == PT_OK && H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0)
        status = h5_write_fail(w, "flushing", errno, err);
    status = agree(w, status, status != PT_OK ? errno : 0, "finishing the file", err);
    if (status != PT_OK) {
        pt_cache_writer_abandon(w);
        return status;
    }
    H5Pclose(w->dxpl);
    w->dxpl = -1;
    if (H5Fclose(w->file) < 0)
        status = pt_h5_fail(err, w->path, "closing file");
    w->file = -1;
    status = agree(w, status, 0, "closing file", err);
    pt_cache_writer_abandon(w);
    return status;
}
