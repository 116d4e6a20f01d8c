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
 * cache_write.h. Every dataset is chunked with a Fletcher32 checksum per chunk (caches written
 * before checksums have none and still open: info.checksummed says which), and strings are
 * UTF-8 (ASCII in older caches).
 *
 * Nothing in a cache is trusted before it is checked: pt_cache_open checks every dataset's type,
 * rank and extent against the header (labels against label_mode and class_names), the row
 * counts that must agree within a split, and the attributes' ranges; the readers check label
 * values and checksums as they read. A failed check is PT_ERR_FORMAT with a one-line message
 * naming the file, the dataset or attribute, what was found and what was expected. */
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
    int present[3];   /* the split's group exists (ptrain-prep writes all three, perhaps empty);
                         a cache without /train does not open */
    int checksummed;  /* every non-empty dataset carries a Fletcher32 checksum */
    double mean;      /* of pixels/255 over train */
    double std;
    int64_t n_skipped;
    char created[64];
    char generator[128];
    char layout[32];
} pt_cache_info;

typedef struct pt_cache pt_cache;

/* Opens a cache read-only and checks its format and version, its attributes and the type, rank
 * and extent of every dataset (see above). */
int pt_cache_open(const char *path, pt_cache **out, pt_error *err);
void pt_cache_close(pt_cache *cache);
const pt_cache_info *pt_cache_get_info(const pt_cache *cache);

/* Index of "train", "val", "test" in info->count, or -1. */
int pt_cache_split_index(const char *split);

/* Rows [start, start+count) of a split: images (count*H*W bytes), single labels (int32, each
 * checked to be a class index), multi labels (count * n_classes bytes, each 0 or 1). A chunk
 * whose checksum does not match fails with "<file>: dataset /train/images: checksum mismatch:
 * file is corrupt". */
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

/* Images per class among n rows: single-label class indices (labels) or multi-label targets
 * (targets, n x n_classes); the other pointer may be NULL. counts has n_classes slots. */
void pt_cache_count_classes(const pt_cache_info *info, const int32_t *labels,
                            const uint8_t *targets, int64_t n, int64_t *counts);

/* The classes whose count is 0, as "'virus', 'bacteria'" into buf (truncated to cap); returns
 * how many there are. */
int pt_cache_empty_classes(const pt_cache_info *info, const int64_t *counts, char *buf, size_t cap);

#endif
