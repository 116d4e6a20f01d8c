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
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_cache_reads.h"
#include "fuzz_cache_recipe.h"
#include "fuzz_tmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_tmp_path("h5");
    if (fuzz_cache_recipe_write(data, size, path) != 0)
        abort(); /* HDF5 could not create a file at all: the harness is broken, not ptrain */
    fuzz_cache_read_all(path, NULL);
    return 0;
}
