/* Affine + intensity augmentation with counter-based randomness (see augment.h). */
#include "ptrain/augment.h"

#include <math.h>
#include <stddef.h>

#include "ptrain/rng.h"
#include "ptrain/threads.h"

pt_augment pt_augment_default(void)
{
    return (pt_augment){.enabled = 1,
                        .max_shift = 0.05f,
                        .max_scale = 0.05f,
                        .max_rotate_deg = 5.0f,
                        .max_contrast = 0.1f,
                        .max_brightness = 0.05f,
                        .hflip = 0};
}

void pt_normalize(const uint8_t *src, int64_t n, float mean, float std, float *dst)
{
    const float scale = 1.0f / (255.0f * std);
    const float offset = -mean / std;
    for (int64_t i = 0; i < n; i++)
        dst[i] = (float)src[i] * scale + offset;
}

static float sample_bilinear(const uint8_t *src, int height, int width, float x, float y)
{
    /* clamp to the image: replicating the edge keeps a shifted film free of artificial borders */
    if (x < 0.0f)
        x = 0.0f;
    if (y < 0.0f)
        y = 0.0f;
    if (x > (float)(width - 1))
        x = (float)(width - 1);
    if (y > (float)(height - 1))
        y = (float)(height - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < width ? x0 + 1 : x0;
    int y1 = y0 + 1 < height ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    float top = (1.0f - fx) * src[y0 * width + x0] + fx * src[y0 * width + x1];
    float bottom = (1.0f - fx) * src[y1 * width + x0] + fx * src[y1 * width + x1];
    return (1.0f - fy) * top + fy * bottom;
}

void pt_augment_sample(const pt_augment *aug, uint64_t seed, int64_t epoch, int64_t sample,
                       const uint8_t *src, int height, int width, float mean, float std, float *dst)
{
    if (!aug || !aug->enabled) {
        pt_normalize(src, (int64_t)height * width, mean, std, dst);
        return;
    }
    pt_rng rng;
    pt_rng_init(&rng, pt_rng_hash3(seed, (uint64_t)epoch, 0x4155474dULL /* "AUGM" */),
                (uint64_t)sample);
    float shift_x = (float)pt_rng_range(&rng, -aug->max_shift, aug->max_shift) * (float)width;
    float shift_y = (float)pt_rng_range(&rng, -aug->max_shift, aug->max_shift) * (float)height;
    float scale = 1.0f + (float)pt_rng_range(&rng, -aug->max_scale, aug->max_scale);
    float angle = (float)pt_rng_range(&rng, -aug->max_rotate_deg, aug->max_rotate_deg) *
                  (float)(M_PI / 180.0);
    float contrast = 1.0f + (float)pt_rng_range(&rng, -aug->max_contrast, aug->max_contrast);
    float brightness = (float)pt_rng_range(&rng, -aug->max_brightness, aug->max_brightness);
    int flip = aug->hflip && pt_rng_uniform(&rng) < 0.5;

    /* Inverse map: for each output pixel, where it comes from in the source (rotation and
     * scale about the centre, then the shift). */
    const float cx = 0.5f * (float)(width - 1), cy = 0.5f * (float)(height - 1);
    const float c = cosf(angle) / scale, s = sinf(angle) / scale;
    const float norm_scale = 1.0f / (255.0f * std);
    for (int y = 0; y < height; y++) {
        float dy = (float)y - cy - shift_y;
        for (int x = 0; x < width; x++) {
            float dx = (float)(flip ? width - 1 - x : x) - cx - shift_x;
            float sx = cx + c * dx + s * dy;
            float sy = cy - s * dx + c * dy;
            float v = sample_bilinear(src, height, width, sx, sy);
            v = (v - 127.5f) * contrast + 127.5f + brightness * 255.0f;
            dst[y * width + x] = v * norm_scale - mean / std;
        }
    }
}

void pt_augment_batch(const pt_augment *aug, int threads, uint64_t seed, int64_t epoch,
                      const int64_t *ids, int n, const uint8_t *images, int height, int width,
                      float mean, float std, float *dst)
{
    const size_t image = (size_t)height * (size_t)width;
    PT_OMP(omp parallel for schedule(static) num_threads(threads) if (threads > 1))
    for (int j = 0; j < n; j++)
        pt_augment_sample(aug, seed, epoch, ids[j], images + (size_t)ids[j] * image, height, width,
                          mean, std, dst + (size_t)j * image);
}
