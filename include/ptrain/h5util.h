/* Small HDF5 helpers shared by the cache, model and checkpoint files: readable error reasons,
 * fixed-length UTF-8 string types, scalar / string attributes, and datasets that are checked
 * before they are trusted (type, rank and extent before any buffer is sized from them; a
 * Fletcher32 checksum per chunk, verified on every read). All return PT_OK or a negative
 * PT_ERR_* with a message naming `file`. */
#ifndef PTRAIN_H5UTIL_H
#define PTRAIN_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

/* Silences HDF5's own error printing on this thread: ptrain reports errors itself. */
void pt_h5_quiet(void);

/* The most specific reason on HDF5's error stack ("unable to open file"), or "unknown". */
const char *pt_h5_reason(char *buf, size_t cap);

/* Sets err to "<file>: <what>: <HDF5 reason>" with code PT_ERR_HDF5 and returns it. */
int pt_h5_fail(pt_error *err, const char *file, const char *what);

/* A NUL-terminated fixed-length UTF-8 string type of `size` bytes (>= 1), for writing (h5py
 * reads it as str, not bytes). Close with H5Tclose. */
hid_t pt_h5_string_type(size_t size);

/* The memory type to read strings of `file_type` into: NUL-terminated, `size` bytes, in the
 * file's character set (HDF5 converts no string between ASCII and UTF-8, and files written
 * before UTF-8 hold ASCII). Close with H5Tclose. */
hid_t pt_h5_string_read_type(hid_t file_type, size_t size);

int pt_h5_attr_write_string(hid_t obj, const char *name, const char *value, const char *file,
                            pt_error *err);
int pt_h5_attr_write_i64(hid_t obj, const char *name, int64_t value, const char *file,
                         pt_error *err);
int pt_h5_attr_write_f64(hid_t obj, const char *name, double value, const char *file,
                         pt_error *err);
/* An array attribute of n fixed-length strings. */
int pt_h5_attr_write_strings(hid_t obj, const char *name, const char *const *values, size_t n,
                             const char *file, pt_error *err);

int pt_h5_attr_read_string(hid_t obj, const char *name, char *buf, size_t cap, const char *file,
                           pt_error *err);
int pt_h5_attr_read_i64(hid_t obj, const char *name, int64_t *value, const char *file,
                        pt_error *err);
int pt_h5_attr_read_f64(hid_t obj, const char *name, double *value, const char *file,
                        pt_error *err);
/* Reads an array attribute of strings into n_max slots of `stride` bytes; *n = count found. */
int pt_h5_attr_read_strings(hid_t obj, const char *name, char *buf, size_t stride, size_t n_max,
                            size_t *n, const char *file, pt_error *err);

/* A file built in memory: HDF5 writes into `file`; the image reaches the disk only through
 * pt_h5_commit_memory, in one plain write whose failure is an ordinary error naming its reason
 * ("No space left on device"). HDF5 itself never meets a full disk, and a failed H5Fclose (which
 * in HDF5 1.10 leaves a file ID behind that crashes MPI_Finalize) cannot happen. The struct must
 * stay in place while the file is open (HDF5 keeps its address). */
typedef struct pt_h5_memory {
    hid_t file;
    void *image; /* the file's bytes once closed, and their count (the driver's whole buffer) */
    size_t size;
} pt_h5_memory;

/* Creates a memory file with dense attribute storage (attributes over 64 KiB: a long
 * architecture or config text), which needs the HDF5 1.8 file format (readable by any h5py).
 * `name` only labels messages. */
int pt_h5_create_memory(const char *name, pt_h5_memory *mem, pt_error *err);

/* Closes the file and writes it to path atomically (a temporary, fsync, rename: nothing is left
 * under either name on failure). The file is closed and the memory freed whatever happens. */
int pt_h5_commit_memory(pt_h5_memory *mem, const char *path, pt_error *err);

/* Closes the file and frees the memory without writing anything (after an error). */
void pt_h5_discard_memory(pt_h5_memory *mem);

/* Opens an existing file read-only; the message tells a missing file, a non-HDF5 file and a
 * damaged one apart. */
int pt_h5_open_file(const char *path, hid_t *file, pt_error *err);

/* A string attribute of any length, into a malloc'd buffer (*out, free it). */
int pt_h5_attr_read_string_alloc(hid_t obj, const char *name, char **out, const char *file,
                                 pt_error *err);

/* ---- datasets ---- */

/* Element types a reader accepts. */
typedef enum pt_h5_elem {
    PT_H5_U8,     /* unsigned 8-bit integer */
    PT_H5_I32,    /* signed 32-bit integer */
    PT_H5_F32,    /* 32-bit float */
    PT_H5_FLOAT,  /* a float of any size (converted on read) */
    PT_H5_STRING, /* fixed-length string of any width */
} pt_h5_elem;

#define PT_H5_MAX_RANK 4
#define PT_H5_ANY      (-1) /* a dimension of any extent */

/* What a reader expects of a dataset. */
typedef struct pt_h5_expect {
    pt_h5_elem elem;
    int rank;
    int64_t dims[PT_H5_MAX_RANK]; /* PT_H5_ANY where any extent will do */
} pt_h5_expect;

/* Opens dataset `name` of loc and checks its element type, rank and extent against *want before
 * anything is sized from it. On success *dset is open (H5Dclose it) and dims (may be NULL; room
 * for want->rank values) holds the extent. Otherwise *dset is -1 and the message names the file,
 * the dataset, what was found and what was expected, on one line:
 *   "c.h5: dataset /train/labels is int32 [120,64], expected int32 [120]"
 * (PT_ERR_FORMAT; "dataset /val/labels missing" when there is none). */
int pt_h5_dataset_open(hid_t loc, const char *name, const pt_h5_expect *want, hid_t *dset,
                       int64_t *dims, const char *file, pt_error *err);

/* H5Dread with its failure explained, naming the file and the dataset: a chunk whose Fletcher32
 * checksum does not match is "checksum mismatch: the file is corrupt", a chunk that does not
 * decompress "... the file is corrupt" too (PT_ERR_FORMAT); anything else is HDF5's reason. */
int pt_h5_read(hid_t dset, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf,
               const char *file, pt_error *err);

/* 1 if the dataset carries a Fletcher32 checksum, 0 if not (files from before checksums). */
int pt_h5_has_checksum(hid_t dset);

/* Chunks for a checksummed dataset of extent dims[rank]: whole rows (dimension 0) of the other
 * dimensions, as many as fit in about max_bytes (at least one, at most dims[0]). 0 when the
 * dataset is empty (a zero extent cannot be chunked; there is nothing to checksum), else 1. */
int pt_h5_row_chunk(int rank, const hsize_t *dims, size_t elem_size, size_t max_bytes,
                    hsize_t *chunk);

/* Dataset creation properties: chunked by chunk[rank], deflated at level `deflate` (0: not),
 * then a Fletcher32 checksum per chunk that HDF5 verifies on every read. Close with H5Pclose;
 * negative on error. */
hid_t pt_h5_checksum_dcpl(int rank, const hsize_t *chunk, int deflate);

#endif
