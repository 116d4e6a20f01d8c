/* libFuzzer harness: the cache reader on the raw bytes of an HDF5 file (written to a temporary
 * file because HDF5 opens paths), then the reads of fuzz_cache_reads.c.
 *
 * Mutating these bytes mostly exercises libhdf5's own parser, which (Debian 12's 1.10.8) crashes
 * on corrupt attribute messages within seconds (tests/fuzz/README.md): run.sh therefore only
 * replays this harness's corpus (seeds and the regression inputs it found), unless
 * FUZZ_CACHE_BYTES_MUTATE=1. fuzz_cache fuzzes the reader through well-formed HDF5 instead. */
#include <stdint.h>

#include "fuzz_cache_reads.h"
#include "fuzz_tmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_cache_read_all(fuzz_tmp_write("h5", data, size), NULL);
    return 0;
}
