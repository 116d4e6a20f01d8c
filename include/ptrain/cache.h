/* The image cache: one HDF5 file per data set (format "ptrain-cache", version 1).
 *
 *   /                 attrs format, version, height, width, channels, class_names, label_mode,
 *                           created, generator, source, layout, n_skipped
 *   /<split>/images   uint8 [N,H,W]     split is "train", "val" or "test"
 *   /<split>/labels   int32 [N] (single) or uint8 [N,L] (multi)
 *   /<split>/patient  fixed string [N]
 *   /<split>/source   fixed string [N]  path relative to the source root
 *   /train            attrs mean, std   of pixels/255 over the training split
 *   /skipped          fixed string [K]  "path: reason" for every file left out
 *
 * The reader here is serial and needs no MPI, so a trainer rank, a test or a user's script reads
 * the same file. The writer is collective over ranks (parallel HDF5 over MPI-IO): src/dist/
 * cache_write.h. */
#ifndef PTRAIN_CACHE_H
#define PTRAIN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

#define PT_CACHE_FORMAT      "ptrain-cache"
#define PT_CACHE_VERSION     1
#define PT_CACHE_MAX_CLASSES 64
#define PT_CACHE_NAME_MAX    64

/* ---- reading (serial) ---- */

typedef struct pt_cache_info {
    int height;
    int width;
    int channels;
    int n_classes;
    int multi_label;
    char class_names[PT_CACHE_MAX_CLASSES][PT_CACHE_NAME_MAX];
    int64_t count[3]; /* rows of train, val, test */
    double mean;      /* of pixels/255 over train */
    double std;
    int64_t n_skipped;
    char created[64];
    char generator[128];
    char layout[32];
} pt_cache_info;

typedef struct pt_cache pt_cache;

/* Opens a cache read-only and checks its format and version. */
int pt_cache_open(const char *path, pt_cache **out, pt_error *err);
void pt_cache_close(pt_cache *cache);
const pt_cache_info *pt_cache_get_info(const pt_cache *cache);

/* Index of "train", "val", "test" in info->count, or -1. */
int pt_cache_split_index(const char *split);

/* Rows [start, start+count) of a split: images (count*H*W bytes), single labels (int32),
 * multi labels (count * n_classes bytes). */
int pt_cache_read_images(pt_cache *cache, const char *split, int64_t start, int64_t count,
                         uint8_t *dst, pt_error *err);
int pt_cache_read_labels(pt_cache *cache, const char *split, int64_t start, int64_t count,
                         int32_t *dst, pt_error *err);
int pt_cache_read_multi_labels(pt_cache *cache, const char *split, int64_t start, int64_t count,
                               uint8_t *dst, pt_error *err);

/* Strings of a split's "patient" or "source" dataset, or of "/skipped" (split NULL, what
 * "skipped"): rows [start, start+count) into slots of `stride` bytes, truncated to fit. */
int pt_cache_read_strings(pt_cache *cache, const char *split, const char *what, int64_t start,
                          int64_t count, char *dst, size_t stride, pt_error *err);

#endif
