/* Resizing: exact copies, exact area means, hand-computed fractional coverage and bilinear
 * values, and the geometry of crop and pad. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/image.h"
#include "ptrain/resize.h"

/* An image from literal rows. */
static pt_image make(int w, int h, const uint8_t *px)
{
    pt_image img = {0};
    pt_error err = {0};
    cr_assert_eq(pt_image_alloc(&img, w, h, &err), PT_OK, "%s", err.msg);
    memcpy(img.pixels, px, (size_t)w * (size_t)h);
    return img;
}

static void resize_expect(const pt_image *src, int w, int h, pt_fit fit, const uint8_t *expected,
                          const char *what)
{
    uint8_t *out = malloc((size_t)w * (size_t)h);
    cr_assert_not_null(out);
    memset(out, 0xCD, (size_t)w * (size_t)h); /* no output pixel may be left unwritten */
    pt_error err = {0};
    cr_assert_eq(pt_image_resize(src, w, h, fit, out, &err), PT_OK, "%s: %s", what, err.msg);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            cr_assert_eq(out[y * w + x], expected[y * w + x],
                         "%s (%s): pixel (%d, %d) is %d, expected %d", what, pt_fit_name(fit), x, y,
                         out[y * w + x], expected[y * w + x]);
    free(out);
}

static uint8_t *pattern(int w, int h, unsigned seed)
{
    uint8_t *px = malloc((size_t)w * (size_t)h);
    cr_assert_not_null(px);
    uint32_t s = seed * 2654435761u + 12345u;
    for (int i = 0; i < w * h; i++) {
        s = s * 1664525u + 1013904223u;
        px[i] = (uint8_t)(s >> 24);
    }
    return px;
}

Test(resize, same_size_is_an_exact_copy_under_every_fit)
{
    uint8_t *px = pattern(37, 23, 1);
    pt_image src = make(37, 23, px);
    for (int fit = 0; fit < PT_FIT_COUNT; fit++)
        resize_expect(&src, 37, 23, (pt_fit)fit, px, "identity");
    pt_image_free(&src);
    free(px);
}

Test(resize, constant_image_stays_constant)
{
    static const int sizes[][2] = {{16, 16}, {80, 45}, {7, 100}, {13, 9}, {1, 1}, {200, 3}};
    uint8_t px[50 * 30];
    memset(px, 173, sizeof px);
    pt_image src = make(50, 30, px);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        uint8_t *out = malloc((size_t)w * (size_t)h);
        for (int fit = 0; fit < PT_FIT_COUNT; fit++) {
            pt_error err = {0};
            cr_assert_eq(pt_image_resize(&src, w, h, (pt_fit)fit, out, &err), PT_OK);
            int n173 = 0;
            for (int i = 0; i < w * h; i++) {
                /* pad leaves black borders; nothing else may differ from the constant */
                if (fit == PT_FIT_PAD && out[i] == 0)
                    continue;
                cr_assert_eq(out[i], 173, "%dx%d %s: pixel %d is %d", w, h,
                             pt_fit_name((pt_fit)fit), i, out[i]);
                n173++;
            }
            cr_assert_gt(n173, 0);
            if (fit != PT_FIT_PAD)
                cr_assert_eq(n173, w * h);
        }
        free(out);
    }
    pt_image_free(&src);
}

Test(resize, area_average_of_blocks_is_exact)
{
    /* 4x4 -> 2x2: each output is the mean of one 2x2 block.
     * Means: (10+20+30+40)/4 = 25; (0+0+0+4)/4 = 1; 255; (1+2+3+5)/4 = 2.75 -> 3. */
    const uint8_t px[16] = {10,  20,  0, 0, /* */
                            30,  40,  0, 4, /* */
                            255, 255, 1, 2, /* */
                            255, 255, 3, 5};
    pt_image src = make(4, 4, px);
    resize_expect(&src, 2, 2, PT_FIT_STRETCH, (const uint8_t[]){25, 1, 255, 3}, "4x4 -> 2x2");
    /* Same aspect ratio: crop and pad are stretch here. */
    resize_expect(&src, 2, 2, PT_FIT_CROP, (const uint8_t[]){25, 1, 255, 3}, "4x4 -> 2x2");
    resize_expect(&src, 2, 2, PT_FIT_PAD, (const uint8_t[]){25, 1, 255, 3}, "4x4 -> 2x2");
    /* 4x4 -> 1x1: the mean of all, (100 + 4 + 1020 + 11) / 16 = 70.94 -> 71 */
    resize_expect(&src, 1, 1, PT_FIT_STRETCH, (const uint8_t[]){71}, "4x4 -> 1x1");
    pt_image_free(&src);
}

Test(resize, area_average_fractional_coverage)
{
    /* 3 -> 2 along an axis: output 0 covers [0, 1.5): weights 2/3, 1/3, 0;
     * output 1 covers [1.5, 3): 0, 1/3, 2/3. */
    pt_image row = make(3, 1, (const uint8_t[]){0, 90, 180});
    /* 0 * 2/3 + 90 * 1/3 = 30; 90 * 1/3 + 180 * 2/3 = 150 */
    resize_expect(&row, 2, 1, PT_FIT_STRETCH, (const uint8_t[]){30, 150}, "3x1 -> 2x1");
    pt_image_free(&row);

    pt_image col = make(1, 3, (const uint8_t[]){0, 90, 180});
    resize_expect(&col, 1, 2, PT_FIT_STRETCH, (const uint8_t[]){30, 150}, "1x3 -> 1x2");
    pt_image_free(&col);

    /* 3x3 -> 2x2, weight of source (i, j) for output (a, b) is w_a(i) * w_b(j):
     *   90 at (0,0): 4/9 of it to output (0,0) = 40
     *   90 at (1,1): 1/9 of it to every output = 10
     *  180 at (2,2): 4/9 of it to output (1,1) = 80
     *   27 at (1,0) (row 0, column 1): 1/3 * 2/3 = 2/9 to (0,0) and (1,0) = 6 each */
    const uint8_t px[9] = {90, 27, 0, /* */
                           0,  90, 0, /* */
                           0,  0,  180};
    pt_image sq = make(3, 3, px);
    resize_expect(&sq, 2, 2, PT_FIT_STRETCH, (const uint8_t[]){40 + 10 + 6, 10 + 6, 10, 10 + 80},
                  "3x3 -> 2x2");
    pt_image_free(&sq);
}

Test(resize, mean_is_kept_on_a_large_uneven_shrink)
{
    /* 1000 -> 128 is a ratio of 7.8125: every output straddles pixel boundaries. Area weights
     * that do not sum to one, or skip a pixel, move the mean. */
    uint8_t *px = pattern(1000, 1000, 3);
    pt_image src = make(1000, 1000, px);
    uint8_t *out = malloc(128 * 128);
    pt_error err = {0};
    cr_assert_eq(pt_image_resize(&src, 128, 128, PT_FIT_STRETCH, out, &err), PT_OK);
    double mean_in = 0, mean_out = 0;
    for (int i = 0; i < 1000 * 1000; i++)
        mean_in += px[i];
    for (int i = 0; i < 128 * 128; i++)
        mean_out += out[i];
    mean_in /= 1000.0 * 1000.0;
    mean_out /= 128.0 * 128.0;
    cr_assert_lt(fabs(mean_in - mean_out), 0.05, "mean %.4f became %.4f", mean_in, mean_out);
    /* Averaging ~61 noise pixels shrinks the spread: no output is far from the mean (a
     * point-sampling resize would keep values near 0 and 255). */
    for (int i = 0; i < 128 * 128; i++)
        cr_assert(out[i] > 60 && out[i] < 195, "pixel %d is %d: not an area average", i, out[i]);
    free(out);
    pt_image_free(&src);
    free(px);
}

Test(resize, bilinear_enlarge_hand_computed)
{
    /* 2 -> 4: centres map to -0.25, 0.25, 0.75, 1.25; clamped at the ends:
     * 0, 0.75 * 0 + 0.25 * 100 = 25, 75, 100. */
    pt_image row = make(2, 1, (const uint8_t[]){0, 100});
    resize_expect(&row, 4, 1, PT_FIT_STRETCH, (const uint8_t[]){0, 25, 75, 100}, "2x1 -> 4x1");
    /* 2 -> 5: centres at -0.3, 0.1, 0.5, 0.9, 1.3 -> 0, 10, 50, 90, 100. */
    resize_expect(&row, 5, 1, PT_FIT_STRETCH, (const uint8_t[]){0, 10, 50, 90, 100}, "2x1 -> 5x1");
    pt_image_free(&row);

    pt_image col = make(1, 2, (const uint8_t[]){0, 100});
    resize_expect(&col, 1, 4, PT_FIT_STRETCH, (const uint8_t[]){0, 25, 75, 100}, "1x2 -> 1x4");
    pt_image_free(&col);

    /* 2x2 -> 4x4, separable: row 0 is [0 25 75 100], row 1 is [200 ...], interpolated the same
     * way down the columns. */
    pt_image sq = make(2, 2, (const uint8_t[]){0, 100, 200, 200});
    const uint8_t expected[16] = {0,   25,  75,  100, /* y -0.25 -> row 0 */
                                  50,  69,  106, 125, /* y 0.25: 0.75 * row0 + 0.25 * row1 */
                                  150, 156, 169, 175, /* y 0.75 */
                                  200, 200, 200, 200};
    resize_expect(&sq, 4, 4, PT_FIT_STRETCH, expected, "2x2 -> 4x4");
    pt_image_free(&sq);
}

Test(resize, each_axis_picks_its_own_method)
{
    /* 4x1 -> 2x2: columns shrink by area ([0 40] -> 20, [80 120] -> 100), the single row is
     * enlarged and clamps to itself. */
    pt_image src = make(4, 1, (const uint8_t[]){0, 40, 80, 120});
    resize_expect(&src, 2, 2, PT_FIT_STRETCH, (const uint8_t[]){20, 100, 20, 100}, "4x1 -> 2x2");
    pt_image_free(&src);
}

Test(resize, rounding_and_range)
{
    /* Means of .5 round up; values near the top never wrap. */
    pt_image half = make(2, 1, (const uint8_t[]){0, 1});
    resize_expect(&half, 1, 1, PT_FIT_STRETCH, (const uint8_t[]){1}, "0.5");
    pt_image_free(&half);
    pt_image top = make(2, 2, (const uint8_t[]){255, 254, 255, 255});
    uint8_t out[9 * 9];
    pt_error err = {0};
    cr_assert_eq(pt_image_resize(&top, 9, 9, PT_FIT_STRETCH, out, &err), PT_OK);
    for (int i = 0; i < 81; i++)
        cr_assert_geq(out[i], 254, "pixel %d wrapped to %d", i, out[i]);
    pt_image_free(&top);
}

Test(resize, crop_takes_the_centre)
{
    /* 6x2 -> 2x2: scale 1 (height), columns 2 and 3 are the centre. */
    const uint8_t wide[12] = {1,  2,  3,  4,  5,  6, /* */
                              11, 12, 13, 14, 15, 16};
    pt_image w6 = make(6, 2, wide);
    resize_expect(&w6, 2, 2, PT_FIT_CROP, (const uint8_t[]){3, 4, 13, 14}, "6x2 crop 2x2");
    pt_image_free(&w6);

    /* 2x6 -> 2x2: rows 2 and 3. */
    const uint8_t tall[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    pt_image t6 = make(2, 6, tall);
    resize_expect(&t6, 2, 2, PT_FIT_CROP, (const uint8_t[]){5, 6, 7, 8}, "2x6 crop 2x2");
    pt_image_free(&t6);

    /* 8x2 -> 2x1: scale 1/2 (height 2 -> 1), the centre window is columns 2..5, each output the
     * mean of a 2x2 block: (30 + 40 + 130 + 140) / 4 = 85, (50 + 60 + 150 + 160) / 4 = 105. */
    const uint8_t w8[16] = {10,  20,  30,  40,  50,  60,  70,  80, /* */
                            110, 120, 130, 140, 150, 160, 170, 180};
    pt_image e8 = make(8, 2, w8);
    resize_expect(&e8, 2, 1, PT_FIT_CROP, (const uint8_t[]){85, 105}, "8x2 crop 2x1");
    /* Stretch of the same keeps everything: means of 4x2 blocks, 600 / 8 = 75, 920 / 8 = 115. */
    resize_expect(&e8, 2, 1, PT_FIT_STRETCH, (const uint8_t[]){75, 115}, "8x2 stretch 2x1");
    pt_image_free(&e8);

    /* 5x1 -> 2x1 with height 1 -> 1: a 2-wide window centred at 2.5 starts at 1.5, so each
     * output straddles two pixels half and half: (20 + 30) / 2 = 25, (30 + 40) / 2 = 35. */
    pt_image odd = make(5, 1, (const uint8_t[]){10, 20, 30, 40, 50});
    resize_expect(&odd, 2, 1, PT_FIT_CROP, (const uint8_t[]){25, 35}, "5x1 crop 2x1");
    pt_image_free(&odd);
}

Test(resize, pad_centres_and_borders_are_black)
{
    /* 4x2 -> 4x4: scale 1, one black row above and one below. */
    pt_image w4 = make(4, 2, (const uint8_t[]){200, 201, 202, 203, 204, 205, 206, 207});
    const uint8_t e1[16] = {0,   0,   0,   0,   /* */
                            200, 201, 202, 203, /* */
                            204, 205, 206, 207, /* */
                            0,   0,   0,   0};
    resize_expect(&w4, 4, 4, PT_FIT_PAD, e1, "4x2 pad 4x4");
    pt_image_free(&w4);

    /* 2x4 -> 4x4: one black column on each side. */
    pt_image t4 = make(2, 4, (const uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8});
    const uint8_t e2[16] = {0, 1, 2, 0, /* */
                            0, 3, 4, 0, /* */
                            0, 5, 6, 0, /* */
                            0, 7, 8, 0};
    resize_expect(&t4, 4, 4, PT_FIT_PAD, e2, "2x4 pad 4x4");
    pt_image_free(&t4);

    /* 8x4 -> 4x4: scale 1/2 into a 4x2 block at rows 1..2, each the mean of a 2x2 block. */
    uint8_t px[32];
    for (int i = 0; i < 32; i++)
        px[i] = (uint8_t)(8 * i);
    pt_image e8 = make(8, 4, px);
    /* Pixel 8 * i at index i = 8 y + x; over block (bx, by) the mean index is 16 by + 2 bx + 4.5,
     * so the mean is 128 by + 16 bx + 36. */
    const uint8_t e3[16] = {0,   0,   0,   0,   /* */
                            36,  52,  68,  84,  /* */
                            164, 180, 196, 212, /* */
                            0,   0,   0,   0};
    resize_expect(&e8, 4, 4, PT_FIT_PAD, e3, "8x4 pad 4x4");
    pt_image_free(&e8);

    /* 3x1 -> 4x4: a 4x1 block (4/3 of a row rounds to 1) at row (4 - 1) / 2 = 1: an odd margin
     * puts the extra row below. */
    pt_image r3 = make(3, 1, (const uint8_t[]){90, 90, 90});
    const uint8_t e4[16] = {0, 0, 0, 0, 90, 90, 90, 90, 0, 0, 0, 0, 0, 0, 0, 0};
    resize_expect(&r3, 4, 4, PT_FIT_PAD, e4, "3x1 pad 4x4");
    pt_image_free(&r3);
}

Test(resize, non_square_stretch)
{
    /* 40x20 -> 10x10: each output is the mean of a 4x2 block. */
    uint8_t px[40 * 20];
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 40; x++)
            px[y * 40 + x] = (uint8_t)(x * 5 + y * 3);
    pt_image src = make(40, 20, px);
    uint8_t expected[100];
    for (int by = 0; by < 10; by++) {
        for (int bx = 0; bx < 10; bx++) {
            /* mean of x over 4bx..4bx+3 is 4bx + 1.5, of y over 2by..2by+1 is 2by + 0.5 */
            double m = 5 * (4 * bx + 1.5) + 3 * (2 * by + 0.5);
            expected[by * 10 + bx] = (uint8_t)(m + 0.5);
        }
    }
    resize_expect(&src, 10, 10, PT_FIT_STRETCH, expected, "40x20 -> 10x10");
    pt_image_free(&src);
}

Test(resize, fit_names_round_trip)
{
    for (int fit = 0; fit < PT_FIT_COUNT; fit++) {
        const char *name = pt_fit_name((pt_fit)fit);
        cr_assert_not_null(name);
        pt_fit parsed = PT_FIT_COUNT;
        cr_assert_eq(pt_fit_parse(name, &parsed), PT_OK, "%s", name);
        cr_assert_eq(parsed, (pt_fit)fit);
    }
    cr_assert_str_eq(pt_fit_name(PT_FIT_STRETCH), "stretch");
    cr_assert_str_eq(pt_fit_name(PT_FIT_CROP), "crop");
    cr_assert_str_eq(pt_fit_name(PT_FIT_PAD), "pad");
    cr_assert_null(pt_fit_name(PT_FIT_COUNT));
    cr_assert_null(pt_fit_name((pt_fit)-1));
    const char *bad[] = {"", "Stretch", "fill", "pad ", "cro", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pt_fit fit = PT_FIT_PAD;
        cr_assert_eq(pt_fit_parse(bad[i], &fit), PT_ERR_INVALID, "'%s' was accepted",
                     bad[i] ? bad[i] : "(null)");
        cr_assert_eq(fit, PT_FIT_PAD, "a rejected name changed the output");
    }
}

Test(resize, invalid_arguments)
{
    uint8_t px[4] = {0}, out[4];
    pt_image src = make(2, 2, px);
    pt_image empty = {0};
    pt_error err = {0};
    cr_assert_eq(pt_image_resize(&src, 0, 2, PT_FIT_STRETCH, out, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_image_resize(&src, 2, -1, PT_FIT_STRETCH, out, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_image_resize(&empty, 2, 2, PT_FIT_STRETCH, out, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_image_resize(&src, 2, 2, PT_FIT_COUNT, out, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_image_resize(&src, 2, 2, PT_FIT_STRETCH, NULL, &err), PT_ERR_INVALID);
    pt_image_free(&src);
}
