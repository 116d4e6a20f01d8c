/* A cache split in memory, images shared per node (see dataset.h). */
#include "dataset.h"

#include <stdlib.h>
#include <string.h>

void pt_dataset_free(pt_dataset *ds)
{
    pt_comm_shared_free(ds->shared);
    free(ds->labels);
    free(ds->targets);
    free(ds->sources);
    memset(ds, 0, sizeof *ds);
}

static int read_labels(pt_cache *cache, const char *split, pt_dataset *ds, pt_error *err)
{
    size_t n = (size_t)(ds->n ? ds->n : 1);
    if (ds->multi_label) {
        ds->targets = malloc(n * (size_t)ds->n_classes);
        if (!ds->targets)
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory for %s labels", split);
        return pt_cache_read_multi_labels(cache, split, 0, ds->n, ds->targets, err);
    }
    ds->labels = malloc(n * sizeof *ds->labels);
    if (!ds->labels)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for %s labels", split);
    /* the reader checks every label against the classes */
    return pt_cache_read_labels(cache, split, 0, ds->n, ds->labels, err);
}

int pt_dataset_load(pt_cache *cache, const char *split, const pt_comm *comm, int want_sources,
                    pt_dataset *ds, pt_error *err)
{
    memset(ds, 0, sizeof *ds);
    const pt_cache_info *info = pt_cache_get_info(cache);
    int index = pt_cache_split_index(split);
    if (index < 0)
        return pt_error_set(err, PT_ERR_INVALID, "no split '%s'", split);
    ds->n = info->count[index];
    ds->height = info->height;
    ds->width = info->width;
    ds->n_classes = info->n_classes;
    ds->multi_label = info->multi_label;
    size_t bytes = (size_t)ds->n * (size_t)ds->height * (size_t)ds->width;

    void *images = NULL;
    int status = pt_comm_shared_alloc(comm, bytes, &images, &ds->shared, err);
    if (status != PT_OK)
        return status;
    ds->images = images;
    /* node rank 0 reads; everybody learns whether it worked before anyone reads the memory */
    if (comm->node_rank == 0)
        status = pt_cache_read_images(cache, split, 0, ds->n, images, err);
    status = pt_comm_agree_status(comm, status);
    pt_comm_node_barrier(comm);
    if (status == PT_OK)
        status = read_labels(cache, split, ds, err);
    if (status == PT_OK && want_sources) {
        ds->sources = calloc((size_t)(ds->n ? ds->n : 1), PT_DATASET_SOURCE_MAX);
        status = ds->sources ? pt_cache_read_strings(cache, split, "source", 0, ds->n, ds->sources,
                                                     PT_DATASET_SOURCE_MAX, err)
                             : pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    /* the window is freed collectively: every rank must take the same branch */
    status = pt_comm_agree_status(comm, status);
    if (status != PT_OK && err && err->code == PT_OK)
        pt_error_set(err, status, "loading the %s split failed on another rank", split);
    if (status != PT_OK)
        pt_dataset_free(ds);
    return status;
}
