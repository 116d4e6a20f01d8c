/* libFuzzer harness: ptrain's cache validation and readers (src/io/cache_read.c) on hostile but
 * well-formed HDF5. The input is a recipe (fuzz_cache_recipe.h): for each attribute and dataset
 * of a cache, keep it, delete it, or change its type, shape, values, layout or stored bytes. The
 * harness writes that cache with the HDF5 API to a temporary file (in /dev/shm when there is one)
 * and makes the reads of fuzz_cache_reads.c: pt_cache_open, then every split's images, labels,
 * patients and sources, and /skipped, 8 rows at most.
 *
 * libhdf5 only ever parses metadata it wrote itself, so what this finds is ptrain's (the raw-bytes
 * harness, fuzz_cache_bytes, mostly finds libhdf5's own crashes: README.md). The seeds in
 * corpus/cache/ are recipes of a few bytes. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_cache_reads.h"
#include "fuzz_cache_recipe.h"
#include "fuzz_tmp.h"

/* HDF5 objects (files, datasets, types, spaces...) still open. LeakSanitizer cannot see an ID
 * left open, yet each keeps memory and a file descriptor, and a file with one open is never
 * closed: after each step there must be none. */
static void assert_nothing_open(const char *after)
{
    ssize_t open = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) {
        fprintf(stderr, "fuzz_cache: %zd HDF5 objects left open after %s\n", open, after);
        abort();
    }
}

/* HDF5 keeps every block it frees on free lists of its own, without limit by default: with the
 * sizes varying from input to input, the process would hold hundreds of MB it no longer uses. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (H5set_free_list_limits(1 << 20, 1 << 18, 1 << 20, 1 << 18, 1 << 20, 1 << 18) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_tmp_path("h5");
    if (fuzz_cache_recipe_write(data, size, path) != 0)
        abort(); /* HDF5 could not create a file at all: the harness is broken, not ptrain */
    assert_nothing_open("writing the recipe (the harness's own bug)");
    fuzz_cache_read_all(path, NULL);
    assert_nothing_open("ptrain's reads");
    return 0;
}
