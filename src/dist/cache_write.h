/* The cache writer (format in ptrain/cache.h): collective over the ranks of a communicator,
 * parallel HDF5 over MPI-IO. */
#ifndef PTRAIN_CACHE_WRITE_H
#define PTRAIN_CACHE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/cache.h"
#include "ptrain/comm.h"
#include "ptrain/common.h"

/* ---- writing (collective: every rank calls every function with the same arguments unless a
 * comment says otherwise, and every function returns the same status on every rank: a write that
 * failed on one rank fails the call everywhere. Before each write the file system is checked for
 * room, and a full disk is reported as "No space left on device" with the sizes.) ---- */

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

/* Checks that the file system holding the file has room for `bytes` more (and a margin for
 * HDF5's own metadata): an error "No space left on device" with the sizes if not. */
int pt_cache_writer_check_room(pt_cache_writer *w, uint64_t bytes, pt_error *err);

/* Rows written to the current split so far. */
uint64_t pt_cache_writer_rows(const pt_cache_writer *w);

/* Writes the current split's labels, patients and sources: n rows each, identical on every rank
 * (only rank 0's copy is written). labels: int32[n] single-label, or uint8[n * n_classes]. */
int pt_cache_writer_split_meta(pt_cache_writer *w, uint64_t n, const void *labels,
                               const char *const *patients, const char *const *sources,
                               pt_error *err);

/* Pixel statistics of the training split, as attributes of /train. */
int pt_cache_writer_train_stats(pt_cache_writer *w, double mean, double std, pt_error *err);

/* Writes /skipped and n_skipped and closes the file. The writer is freed either way (on failure
 * as by pt_cache_writer_abandon). */
int pt_cache_writer_finish(pt_cache_writer *w, const char *const *skipped, uint64_t n_skipped,
                           pt_error *err);

/* Closes and frees without finishing (after an error), emptying the file first so that its close
 * has room on a full disk; the caller removes the file. */
void pt_cache_writer_abandon(pt_cache_writer *w);

#endif
