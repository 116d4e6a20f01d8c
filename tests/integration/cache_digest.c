/* Prints what a cache holds, with a hash of every dataset, in a stable text form: two caches
 * with the same content print the same lines (the "created" time is left out on purpose).
 *   cache_digest FILE.h5 [--dump-image SPLIT INDEX OUT.pgm] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/cache.h"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static int digest_strings(pt_cache *c, const char *split, const char *what, int64_t n, int show,
                          pt_error *err)
{
    const size_t stride = 512;
    char *buf = calloc((size_t)(n ? n : 1), stride);
    if (!buf)
        return PT_ERR_NOMEM;
    int s = pt_cache_read_strings(c, split, what, 0, n, buf, stride, err);
    if (s == PT_OK) {
        uint64_t h = 1469598103934665603ULL;
        for (int64_t i = 0; i < n; i++)
            h = fnv1a(h, buf + (size_t)i * stride, strlen(buf + (size_t)i * stride) + 1);
        printf("%s/%s hash=%016" PRIx64 "\n", split ? split : "", what, h);
        for (int64_t i = 0; show && i < n; i++)
            printf("  %s\n", buf + (size_t)i * stride);
    }
    free(buf);
    return s;
}

static int digest_split(pt_cache *c, const char *split, pt_error *err)
{
    const pt_cache_info *info = pt_cache_get_info(c);
    int64_t n = info->count[pt_cache_split_index(split)];
    size_t image = (size_t)info->height * (size_t)info->width;
    uint8_t *img = malloc(image);
    if (!img)
        return PT_ERR_NOMEM;
    uint64_t h = 1469598103934665603ULL;
    int s = PT_OK;
    for (int64_t i = 0; s == PT_OK && i < n; i++) {
        s = pt_cache_read_images(c, split, i, 1, img, err);
        h = fnv1a(h, img, image);
    }
    free(img);
    if (s)
        return s;
    printf("%s count=%" PRId64 " images=%016" PRIx64 "\n", split, n, h);

    size_t label_bytes = info->multi_label ? (size_t)info->n_classes : sizeof(int32_t);
    uint8_t *labels = malloc((size_t)(n ? n : 1) * label_bytes);
    if (!labels)
        return PT_ERR_NOMEM;
    s = info->multi_label ? pt_cache_read_multi_labels(c, split, 0, n, labels, err)
                          : pt_cache_read_labels(c, split, 0, n, (int32_t *)labels, err);
    if (s == PT_OK)
        printf("%s/labels hash=%016" PRIx64 "\n", split,
               fnv1a(1469598103934665603ULL, labels, (size_t)n * label_bytes));
    free(labels);
    if (s == PT_OK)
        s = digest_strings(c, split, "patient", n, 0, err);
    if (s == PT_OK)
        s = digest_strings(c, split, "source", n, 0, err);
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 6) {
        fprintf(stderr, "usage: cache_digest FILE.h5 [--dump-image SPLIT INDEX OUT.pgm]\n");
        return 2;
    }
    pt_cache *c;
    pt_error err;
    pt_error_clear(&err);
    if (pt_cache_open(argv[1], &c, &err) != PT_OK) {
        fprintf(stderr, "cache_digest: error: %s\n", err.msg);
        return 1;
    }
    const pt_cache_info *info = pt_cache_get_info(c);
    int s = PT_OK;
    if (argc == 6) {
        size_t image = (size_t)info->height * (size_t)info->width;
        uint8_t *img = malloc(image);
        FILE *f = fopen(argv[5], "wb");
        s = img && f ? pt_cache_read_images(c, argv[3], atoll(argv[4]), 1, img, &err) : PT_ERR_IO;
        if (s == PT_OK) {
            fprintf(f, "P5\n%d %d\n255\n", info->width, info->height);
            fwrite(img, 1, image, f);
        }
        if (f)
            fclose(f);
        free(img);
    } else {
        printf("shape=%dx%dx%d classes=%d mode=%s layout=%s skipped=%" PRId64 "\n", info->channels,
               info->height, info->width, info->n_classes, info->multi_label ? "multi" : "single",
               info->layout, info->n_skipped);
        for (int i = 0; i < info->n_classes; i++)
            printf("class %d %s\n", i, info->class_names[i]);
        printf("train mean=%.9f std=%.9f\n", info->mean, info->std);
        const char *splits[] = {"train", "val", "test"};
        for (int i = 0; s == PT_OK && i < 3; i++)
            s = digest_split(c, splits[i], &err);
        if (s == PT_OK)
            s = digest_strings(c, NULL, "skipped", info->n_skipped, 1, &err);
    }
    if (s != PT_OK)
        fprintf(stderr, "cache_digest: error: %s\n", err.msg);
    pt_cache_close(c);
    return s == PT_OK ? 0 : 1;
}
