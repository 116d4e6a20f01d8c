/* Small HDF5 helpers shared by the cache, model and checkpoint files: readable error reasons,
 * fixed-length string types, and scalar / string attributes. All return PT_OK or a negative
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

/* A NUL-terminated fixed-length string type of `size` bytes (>= 1). Close with H5Tclose. */
hid_t pt_h5_string_type(size_t size);

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

#endif
