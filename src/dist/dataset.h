/* One split of a cache in memory: images (one copy per node, in MPI shared memory), labels,
 * and, when asked, the source paths (for predictions.csv). */
#ifndef PTRAIN_DATASET_H
#define PTRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/cache.h"
#include "ptrain/comm.h"
#include "ptrain/common.h"

#define PT_DATASET_SOURCE_MAX 256

typedef struct pt_dataset {
    int64_t n;
    int height;
    int width;
    int n_classes;
    int multi_label;
    const uint8_t *images; /* n * height * width */
    int32_t *labels;       /* n, single-label */
    uint8_t *targets;      /* n * n_classes, multi-label */
    char *sources;         /* n * PT_DATASET_SOURCE_MAX, or NULL */
    pt_shared *shared;
} pt_dataset;

/* Loads `split` ("train", "val", "test"). Collective: node rank 0 reads the images into node
 * shared memory, the others wait and share them. want_sources: also read the source paths. */
int pt_dataset_load(pt_cache *cache, const char *split, const pt_comm *comm, int want_sources,
                    pt_dataset *ds, pt_error *err);
void pt_dataset_free(pt_dataset *ds);

#endif
