/* Augmentation: deterministic per (seed, epoch, sample), identity when disabled or zero. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ptrain/augment.h"

#define H 24
#define W 20

static void gradient_image(uint8_t *img)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img[y * W + x] = (uint8_t)(8 * x + 3 * y); /* at most 221: no wrap */
}

Test(augment, disabled_is_plain_normalisation)
{
    uint8_t img[H * W];
    float out[H * W];
    gradient_image(img);
    pt_augment aug = pt_augment_default();
    aug.enabled = 0;
    pt_augment_sample(&aug, 1, 0, 5, img, H, W, 0.5f, 0.25f, out);
    for (int i = 0; i < H * W; i++)
        cr_assert_float_eq(out[i], (img[i] / 255.0f - 0.5f) / 0.25f, 1e-5, "pixel %d", i);
}

Test(augment, zero_ranges_are_the_identity)
{
    uint8_t img[H * W];
    float out[H * W], plain[H * W];
    gradient_image(img);
    pt_augment aug = {.enabled = 1};
    pt_augment_sample(&aug, 1, 0, 5, img, H, W, 0.3f, 0.2f, out);
    pt_normalize(img, H * W, 0.3f, 0.2f, plain);
    for (int i = 0; i < H * W; i++)
        cr_assert_float_eq(out[i], plain[i], 1e-4, "pixel %d", i);
}

Test(augment, depends_on_seed_epoch_and_sample_only)
{
    uint8_t img[H * W];
    float a[H * W], b[H * W], c[H * W], d[H * W];
    gradient_image(img);
    pt_augment aug = pt_augment_default();
    pt_augment_sample(&aug, 7, 2, 11, img, H, W, 0.5f, 0.3f, a);
    pt_augment_sample(&aug, 7, 2, 11, img, H, W, 0.5f, 0.3f, b);
    pt_augment_sample(&aug, 7, 3, 11, img, H, W, 0.5f, 0.3f, c);
    pt_augment_sample(&aug, 7, 2, 12, img, H, W, 0.5f, 0.3f, d);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "same key, same image");
    cr_assert_neq(memcmp(a, c, sizeof a), 0, "another epoch, another draw");
    cr_assert_neq(memcmp(a, d, sizeof a), 0, "another sample, another draw");
}

Test(augment, changes_stay_small)
{
    /* a default augmentation moves a smooth image a little, never wildly */
    uint8_t img[H * W];
    float out[H * W], plain[H * W];
    gradient_image(img);
    pt_augment aug = pt_augment_default();
    pt_normalize(img, H * W, 0.0f, 1.0f, plain);
    double max_diff = 0, sum_diff = 0;
    for (int s = 0; s < 50; s++) {
        pt_augment_sample(&aug, 3, 0, s, img, H, W, 0.0f, 1.0f, out);
        for (int i = 0; i < H * W; i++) {
            double d = fabs(out[i] - plain[i]);
            max_diff = d > max_diff ? d : max_diff;
            sum_diff += d;
        }
    }
    double mean_diff = sum_diff / (50.0 * H * W);
    cr_assert(mean_diff > 0.005, "augmentation did nothing (%.4f)", mean_diff);
    cr_assert(mean_diff < 0.15, "augmentation too strong (%.4f)", mean_diff);
    cr_assert(max_diff < 0.6, "a pixel moved by %.3f", max_diff);
}
