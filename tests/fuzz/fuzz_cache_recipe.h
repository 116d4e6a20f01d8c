/* Structure-aware cache files for fuzz_cache: the fuzzer's bytes are a recipe, and the cache is
 * written from it through the HDF5 API, so that libhdf5 only ever reads well-formed metadata
 * while ptrain's validation (src/io/cache_read.c) sees hostile content.
 *
 * The recipe, read byte by byte (bytes past its end read as 0; an empty recipe is a valid
 * single-label cache of 3 classes, 4x5 pixels, 3/2/2 rows and one skipped file):
 *
 *   base    label mode (bit 0: multi), classes (1..6), height, width (1..8), rows of train, val
 *           and test (0..8), skipped files (0..3)
 *   then, for each of 29 items in this order: the root attributes format, version, height,
 *   width, channels, class_names, label_mode, n_skipped, created, generator, layout; /train's
 *   mean and std; per split (train, val, test) the group, images, labels, patient, source; and
 *   /skipped, one operation byte (% 16) and what it needs:
 *     0, 8..15 keep (the value ptrain-prep would write)
 *     1 delete
 *     2 another element type: uint8, int8, uint16, int16, int32 (little and big endian), uint32,
 *       int64, float32, float64, fixed string (width, character set, padding), variable-length
 *       string, opaque
 *     3 another shape: null, scalar or rank 1..4, each dimension one of n, n+1, H, W, classes,
 *       classes+1, 0, 1, 2, 3, 64, 65, 2^20, 2^33 (a dataset too big to write is left unwritten,
 *       its fill value taken from the recipe)
 *     4 other values: one interesting value for every element, or bytes of the recipe cycled
 *     5 datasets: another layout (chunked with a Fletcher32 checksum as ptrain writes, the same
 *       deflated, contiguous, compact, chunked without checksum), and maybe a byte of the stored
 *       data flipped after the file is written; attributes: 2 and 4
 *     6 datasets: a soft link to another item's path (or a group, or nothing) instead of data;
 *       attributes: 3 and 4
 *     7 2, 3 and 4 together
 *   a split group's byte only deletes it (1) or replaces it by a dataset (2).
 *
 * Nothing written is larger than about 1 MiB; the harness's own allocations stay under a few.
 * HDF5 refusing to create an item (a filter on variable-length strings, an attribute over 64 KiB)
 * leaves it out; FUZZ_CACHE_H5_ERRORS=1 in the environment prints HDF5's reasons. */
#ifndef PTRAIN_FUZZ_CACHE_RECIPE_H
#define PTRAIN_FUZZ_CACHE_RECIPE_H

#include <stddef.h>
#include <stdint.h>

/* Writes the cache the recipe describes to path; 0, or -1 if HDF5 could not create the file at
 * all (items it refuses to create are left out, as a deleted one). */
int fuzz_cache_recipe_write(const uint8_t *recipe, size_t size, const char *path);

#endif
