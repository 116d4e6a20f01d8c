/* Damage to HDF5 files of the kinds a bad disk, a bad copy or a hand edit (h5py) would do, for
 * the tests of the readers. Every function opens and closes the file itself and returns 0, or -1
 * with a line on stderr. Attributes and datasets are written the plain way (ASCII strings,
 * contiguous, no checksum), as another tool would. */
#ifndef PTRAIN_TEST_H5_TAMPER_H
#define PTRAIN_TEST_H5_TAMPER_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Inverts one byte in the middle of the dataset's stored data (of its first chunk when chunked),
 * found with H5Dget_offset or H5Dget_chunk_info and changed in place with pwrite. */
int h5_tamper_flip(const char *path, const char *dataset);

/* Inverts the low bit of one byte in every copy of a numeric attribute's stored value found in
 * the file (its bytes searched for; at least one copy must be found): a bad disk under the
 * attributes rather than the data. */
int h5_tamper_flip_attr(const char *path, const char *obj, const char *name);

/* Removes a link (a dataset or a whole group). */
int h5_tamper_delete(const char *path, const char *link);

/* Replaces a dataset by a zero-filled one of another type and extent. */
int h5_tamper_replace(const char *path, const char *dataset, hid_t type, int rank,
                      const hsize_t *dims);

/* Overwrites every element of a float dataset with value (keeping its storage and filters). */
int h5_tamper_fill_f32(const char *path, const char *dataset, float value);

/* Sets (replaces) an attribute of object `obj` ("/", "/train"). */
int h5_tamper_attr_i64(const char *path, const char *obj, const char *name, int64_t value);
int h5_tamper_attr_f64(const char *path, const char *obj, const char *name, double value);
int h5_tamper_attr_str(const char *path, const char *obj, const char *name, const char *value);
int h5_tamper_attr_strings(const char *path, const char *obj, const char *name,
                           const char *const *values, size_t n);

/* The character set of a string dataset's or attribute's type (H5T_CSET_ASCII or _UTF8), -1 on
 * error. `attr` NULL: the dataset's own type. */
int h5_tamper_cset(const char *path, const char *object, const char *attr);

/* 1 if the dataset has a Fletcher32 filter, 0 if not, -1 on error. */
int h5_tamper_has_checksum(const char *path, const char *dataset);

#endif
