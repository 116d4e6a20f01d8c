/* Training-time augmentation and normalisation of one image.
 *
 * The random draws of a sample are a pure function of (seed, epoch, sample index), so a sample
 * is augmented the same way whichever rank draws it and a resumed run repeats them exactly.
 * No horizontal flip by default: on chest films the heart is on the patient's left. */
#ifndef PTRAIN_AUGMENT_H
#define PTRAIN_AUGMENT_H

#include <stdint.h>

typedef struct pt_augment {
    int enabled;
    float max_shift;      /* fraction of the side: shift in [-s, s] per axis */
    float max_scale;      /* zoom factor in [1-s, 1+s] */
    float max_rotate_deg; /* rotation in [-r, r] degrees */
    float max_contrast;   /* contrast factor in [1-c, 1+c] around mid-gray */
    float max_brightness; /* offset in [-b, b], in units of pixel/255 */
    int hflip;            /* 1: flip left-right with probability 1/2 */
} pt_augment;

/* Small shifts (5%), scale (5%), rotation (5 degrees), contrast (10%), brightness (5%); enabled. */
pt_augment pt_augment_default(void);

/* Writes the (height, width) float image of one sample: src pixels/255, augmented when
 * aug->enabled, then normalised with (x - mean) / std. */
void pt_augment_sample(const pt_augment *aug, uint64_t seed, int64_t epoch, int64_t sample,
                       const uint8_t *src, int height, int width, float mean, float std,
                       float *dst);

/* pt_augment_sample for n samples on `threads` threads (1: this thread alone): sample j is
 * ids[j], read from images + ids[j] * height * width and written to dst + j * height * width.
 * Each sample's result is its own, so the thread count does not change a bit. */
void pt_augment_batch(const pt_augment *aug, int threads, uint64_t seed, int64_t epoch,
                      const int64_t *ids, int n, const uint8_t *images, int height, int width,
                      float mean, float std, float *dst);

/* Normalisation alone: dst[i] = (src[i]/255 - mean) / std. */
void pt_normalize(const uint8_t *src, int64_t n, float mean, float std, float *dst);

#endif
