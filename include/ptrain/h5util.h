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

#endif
