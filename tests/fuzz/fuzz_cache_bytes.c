/* libFuzzer harness: the cache reader (pt_cache_open, then a read of every split's images,
 * labels, patients and sources, and of /skipped) on a mutated HDF5 file, written to a temporary
 * file because HDF5 opens paths. Reads are bounded to 8 rows and 4 MiB per split, so a header
 * announcing a huge split cannot make the harness allocate it.
 *
 * The seeds are small valid caches; libFuzzer mutates their bytes. A crash inside libhdf5 itself
 * on a hostile file is a limit of HDF5 (tests/fuzz/README.md), not of ptrain. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_tmp.h"
#include "ptrain/cache.h"

static const char *const splits[3] = {"train", "val", "test"};

static void read_split(pt_cache *cache, const pt_cache_info *info, int s)
{
    int64_t n = info->count[s] < 8 ? info->count[s] : 8;
    if (n <= 0 || info->height <= 0 || info->width <= 0)
        return;
    int64_t pixels = (int64_t)info->height * info->width;
    if (pixels > (4 << 20) / n)
        return;
    pt_error err;
    uint8_t *images = malloc((size_t)(n * pixels));
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    uint8_t *multi = malloc((size_t)n * PT_CACHE_MAX_CLASSES);
    char *strings = malloc((size_t)n * 64);
    if (images && labels && multi && strings) {
        pt_cache_read_images(cache, splits[s], 0, n, images, &err);
        if (info->multi_label)
            pt_cache_read_multi_labels(cache, splits[s], 0, n, multi, &err);
        else
            pt_cache_read_labels(cache, splits[s], 0, n, labels, &err);
        pt_cache_read_strings(cache, splits[s], "patient", 0, n, strings, 64, &err);
        pt_cache_read_strings(cache, splits[s], "source", 0, n, strings, 64, &err);
    }
    free(images);
    free(labels);
    free(multi);
    free(strings);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_tmp_write("h5", data, size);
    pt_cache *cache = NULL;
    pt_error err;
    if (pt_cache_open(path, &cache, &err) != PT_OK)
        return 0;
    const pt_cache_info *info = pt_cache_get_info(cache);
    for (int s = 0; s < 3; s++)
        read_split(cache, info, s);
    int64_t k = info->n_skipped < 8 ? info->n_skipped : 8;
    if (k > 0) {
        char skipped[8 * 128];
        pt_cache_read_strings(cache, NULL, "skipped", 0, k, skipped, 128, &err);
    }
    pt_cache_close(cache);
    return 0;
}
