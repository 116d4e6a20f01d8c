/* The reads both cache harnesses make (see fuzz_cache_reads.h). */
#include "fuzz_cache_reads.h"

#include <stdint.h>
#include <stdlib.h>

#include "ptrain/cache.h"

#define MAX_ROWS 8

static const char *const splits[3] = {"train", "val", "test"};

/* Logs what a call returned (the harnesses pass no log). */
static void note(FILE *log, const char *call, const char *split, int status, const pt_error *err)
{
    if (log)
        fprintf(log, "%s %s: %s\n", call, split ? split : "/", status == PT_OK ? "ok" : err->msg);
}

static void read_split(pt_cache *cache, const pt_cache_info *info, int s, FILE *log)
{
    int64_t n = info->count[s] < MAX_ROWS ? info->count[s] : MAX_ROWS;
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
        const char *sp = splits[s];
        note(log, "images", sp, pt_cache_read_images(cache, sp, 0, n, images, &err), &err);
        if (info->multi_label)
            note(log, "multi_labels", sp, pt_cache_read_multi_labels(cache, sp, 0, n, multi, &err),
                 &err);
        else
            note(log, "labels", sp, pt_cache_read_labels(cache, sp, 0, n, labels, &err), &err);
        note(log, "patient", sp,
             pt_cache_read_strings(cache, sp, "patient", 0, n, strings, 64, &err), &err);
        note(log, "source", sp, pt_cache_read_strings(cache, sp, "source", 0, n, strings, 64, &err),
             &err);
    }
    free(images);
    free(labels);
    free(multi);
    free(strings);
}

void fuzz_cache_read_all(const char *path, FILE *log)
{
    pt_cache *cache = NULL;
    pt_error err;
    int status = pt_cache_open(path, &cache, &err);
    note(log, "open", NULL, status, &err);
    if (status != PT_OK)
        return;
    const pt_cache_info *info = pt_cache_get_info(cache);
    if (log)
        fprintf(log, "%s-label, %d classes, %dx%d, rows %lld/%lld/%lld, %lld skipped\n",
                info->multi_label ? "multi" : "single", info->n_classes, info->height, info->width,
                (long long)info->count[0], (long long)info->count[1], (long long)info->count[2],
                (long long)info->n_skipped);
    for (int s = 0; s < 3; s++)
        read_split(cache, info, s, log);
    int64_t k = info->n_skipped < MAX_ROWS ? info->n_skipped : MAX_ROWS;
    if (k > 0) {
        char skipped[MAX_ROWS * 128];
        note(log, "skipped", NULL,
             pt_cache_read_strings(cache, NULL, "skipped", 0, k, skipped, 128, &err), &err);
    }
    pt_cache_close(cache);
}
