/* IDX files (MNIST, Fashion-MNIST): unsigned-byte images [N, rows, cols] and labels [N],
 * gzipped or not. */
#ifndef PTRAIN_IDX_H
#define PTRAIN_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

typedef struct pt_idx {
    int n_dims;      /* 1 for labels, 3 for images */
    int64_t dims[3]; /* dims[0] = number of records */
    uint8_t *data;   /* prod(dims) bytes, owned */
} pt_idx;

/* Reads an unsigned-byte IDX file (magic 0x00000801 or 0x00000803), gzipped or plain. */
int pt_idx_read(const char *path, pt_idx *idx, pt_error *err);

/* Reads only the header: n_dims and dims, data left NULL. Checks what the header announces
 * against what the file can hold, as pt_idx_read does. */
int pt_idx_read_header(const char *path, pt_idx *idx, pt_error *err);

void pt_idx_free(pt_idx *idx);

/* Bytes per record (rows*cols for images, 1 for labels). */
size_t pt_idx_record_size(const pt_idx *idx);

#endif
