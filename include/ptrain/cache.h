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
 * The writer is collective over all ranks (parallel HDF5 over MPI-IO); the reader is serial and
 * needs no MPI, so a trainer rank, a test or a user's script reads the same file. */
#ifndef PTRAIN_CACHE_H
#define PTRAIN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/comm.h"
#include "ptrain/common.h"

#define PT_CACHE_FORMAT      "ptrain-cache"
#define PT_CACHE_VERSION     1
#define PT_CACHE_MAX_CLASSES 64
#define PT_CACHE_NAME_MAX    64

/* ---- writing (collective: every rank calls every function with the same arguments unless a
 * comment says otherwise) ---- */

typedef struct pt_cache_header {
    int height;
    int width;
    int n_classes;
    const char *const *class_names;
    int multi_label;
    const char *created;   /* ISO 8601 time, the same string on every rank */
    const char *generator; /* "ptrain-prep 0.1.0" */
    const char *source;    /* source root as given */
    const char *layout;    /* "kermany", ... */
    int deflate;           /* 0 = uncompressed, 1..9 = deflate level */
} pt_cache_header;

typedef struct pt_cache_writer pt_cache_writer;

/* Creates (truncates) path and writes the root attributes. */
int pt_cache_writer_open(const char *path, const pt_comm *comm, const pt_cache_header *header,
                         pt_cache_writer **out, pt_error *err);

/* Creates /<split> and an empty, extendible images dataset; ends the previous split if any. */
int pt_cache_writer_begin_split(pt_cache_writer *w, const char *split, pt_error *err);

/* Appends one round of images: the dataset grows by round_count, and this rank writes its
 * local_count images (contiguous, H*W bytes each) at row `current size + local_offset`. Ranks
 * with nothing to write pass local_count 0 but still call. */
int pt_cache_writer_append(pt_cache_writer *w, const uint8_t *images, uint64_t local_count,
                           uint64_t local_offset, uint64_t round_count, pt_error *err);

/* Rows written to the current split so far. */
uint64_t pt_cache_writer_rows(const pt_cache_writer *w);

/* Writes the current split's labels, patients and sources: n rows each, identical on every rank
 * (only rank 0's copy is written). labels: int32[n] single-label, or uint8[n * n_classes]. */
int pt_cache_writer_split_meta(pt_cache_writer *w, uint64_t n, const void *labels,
                               const char *const *patients, const char *const *sources,
                               pt_error *err);

/* Pixel statistics of the training split, as attributes of /train. */
int pt_cache_writer_train_stats(pt_cache_writer *w, double mean, double std, pt_error *err);

/* Writes /skipped and n_skipped and closes the file. The writer is freed either way. */
int pt_cache_writer_finish(pt_cache_writer *w, const char *const *skipped, uint64_t n_skipped,
                           pt_error *err);

/* Closes and frees without finishing (after an error); the caller removes the file. */
void pt_cache_writer_abandon(pt_cache_writer *w);

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
