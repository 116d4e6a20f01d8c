/* Class activation maps: the map is exactly the logit's decomposition (its mean plus the bias is
 * the logit), networks of another shape are refused with a message, and the overlay puts the heat
 * where the map has it, through each --fit's geometry. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/arch.h"
#include "ptrain/cam.h"
#include "ptrain/infer.h"
#include "ptrain/net.h"

#define SIDE 32

static pt_net *build(const char *preset, int classes, int batch)
{
    pt_arch arch;
    pt_error err;
    cr_assert_eq(pt_arch_preset(preset, &arch, &err), PT_OK, "%s", err.msg);
    pt_net *net;
    cr_assert_eq(pt_net_create(&arch, 1, SIDE, SIDE, classes, batch, &net, &err), PT_OK, "%s",
                 err.msg);
    pt_arch_free(&arch);
    pt_net_init_params(net, 11);
    return net;
}

/* The dense layer's bias: the last "bias" tensor of the parameter table. */
static const float *dense_bias(pt_net *net)
{
    int n;
    const pt_tensor_info *t = pt_net_param_table(net, &n);
    for (int i = n - 1; i >= 0; i--)
        if (!strcmp(t[i].field, "bias"))
            return pt_net_params(net) + t[i].offset;
    cr_assert_fail("no bias");
    return NULL;
}

Test(cam, map_mean_plus_bias_is_the_logit)
{
    const int n = 3, classes = 3;
    pt_net *net = build("cxr", classes, n);
    /* non-zero biases, so the test sees them */
    float *bias = (float *)dense_bias(net);
    for (int c = 0; c < classes; c++)
        bias[c] = 0.1f * (float)(c + 1);
    float *in = pt_net_input(net);
    for (int i = 0; i < n * SIDE * SIDE; i++)
        in[i] = sinf(0.37f * (float)i) + 0.2f * (float)(i % 7);
    const float *logits = pt_net_forward(net, n, 0, NULL, 0);
    int h, w;
    pt_error err;
    cr_assert_eq(pt_net_cam_shape(net, &h, &w, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(h, SIDE / 16); /* four 2x2 max pools */
    cr_assert_eq(w, SIDE / 16);
    float map[64];
    for (int s = 0; s < n; s++)
        for (int c = 0; c < classes; c++) {
            cr_assert_eq(pt_net_cam(net, s, c, map, &err), PT_OK, "%s", err.msg);
            double mean = 0;
            for (int p = 0; p < h * w; p++)
                mean += map[p];
            mean /= h * w;
            double logit = logits[s * classes + c];
            cr_assert(fabs(mean + bias[c] - logit) <= 1e-4 * (1 + fabs(logit)),
                      "sample %d class %d: map mean %g + bias %g != logit %g", s, c, mean, bias[c],
                      logit);
        }
    cr_assert_neq(pt_net_cam(net, n, 0, map, &err), PT_OK, "a sample past the last forward");
    pt_net_free(net);
}

Test(cam, a_network_without_global_pooling_has_no_map)
{
    pt_arch arch;
    pt_error err;
    cr_assert_eq(pt_arch_preset("fmnist", &arch, &err), PT_OK, "%s", err.msg);
    pt_net *net;
    cr_assert_eq(pt_net_create(&arch, 1, 28, 28, 10, 1, &net, &err), PT_OK, "%s", err.msg);
    pt_arch_free(&arch);
    int h, w;
    cr_assert_eq(pt_net_cam_shape(net, &h, &w, &err), PT_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "no class activation map"), "%s", err.msg);
    pt_net_free(net);
}

Test(cam, binary_models_map_the_positive_class)
{
    float p[3] = {0.9f, 0.1f, 0.0f};
    cr_assert_eq(pt_infer_cam_class(p, 2, 0.5, 0), 1);
    cr_assert_eq(pt_infer_cam_class(p, 3, NAN, 0), 0); /* three classes: the predicted one */
}

/* A film of w x h gray pixels. */
static pt_image film_of(int w, int h, uint8_t gray)
{
    pt_image img;
    pt_error err;
    cr_assert_eq(pt_image_alloc(&img, w, h, &err), PT_OK, "%s", err.msg);
    memset(img.pixels, gray, (size_t)w * h);
    return img;
}

/* The x of the hottest film pixel (the first of the hottest row-major). */
static int peak_x(const float *heat, int w, int h)
{
    int best = 0;
    for (int i = 1; i < w * h; i++)
        if (heat[i] > heat[best])
            best = i;
    return best % w;
}

Test(cam, heat_follows_the_map_through_each_fit)
{
    /* a 4x4 map, hot in its right column, negative in its left */
    float map[16];
    for (int i = 0; i < 16; i++)
        map[i] = i % 4 == 3 ? 2.0f : i % 4 == 0 ? -1.0f : 0.0f;
    pt_error err;
    for (int fit = 0; fit < PT_FIT_COUNT; fit++) {
        pt_image film = film_of(200, 100, 90);
        float *heat = malloc(200 * 100 * sizeof *heat);
        pt_cam_geometry geo = {64, 64, (pt_fit)fit};
        cr_assert_eq(pt_cam_heat(map, 4, 4, &geo, &film, heat, &err), PT_OK, "%s", err.msg);
        int x = peak_x(heat, 200, 100);
        float max = 0, min = 1;
        for (int i = 0; i < 200 * 100; i++) {
            max = heat[i] > max ? heat[i] : max;
            min = heat[i] < min ? heat[i] : min;
        }
        cr_assert_float_eq(max, 1.0f, 1e-6f, "fit %d: normalised to 1", fit);
        cr_assert_eq(min, 0.0f, "fit %d: the negative part is cut", fit);
        if (fit == PT_FIT_CROP) {
            /* a 100x100 window from the centre: the film's right quarter was never seen */
            cr_assert(x >= 130 && x < 150, "crop: peak at x=%d", x);
            cr_assert_eq(heat[199], 0.0f, "crop: outside the window is cold");
        } else {
            cr_assert(x >= 175, "fit %d: peak at x=%d, should be at the right edge", fit, x);
        }
        free(heat);
        pt_image_free(&film);
    }
}

Test(cam, overlay_leaves_a_cold_film_gray_and_colours_the_heat)
{
    float map[4] = {0, 0, 0, 1}; /* bottom right hot */
    pt_image film = film_of(40, 40, 128);
    uint8_t *rgb = malloc(40 * 40 * 3);
    pt_cam_geometry geo = {40, 40, PT_FIT_STRETCH};
    pt_error err;
    cr_assert_eq(pt_cam_overlay(map, 2, 2, &geo, &film, rgb, &err), PT_OK, "%s", err.msg);
    const uint8_t *cold = rgb, *hot = rgb + 3 * (40 * 40 - 1);
    cr_assert(cold[0] == 128 && cold[1] == 128 && cold[2] == 128, "cold corner %d,%d,%d", cold[0],
              cold[1], cold[2]);
    cr_assert(hot[0] > 180 && hot[2] < 100, "hot corner is red: %d,%d,%d", hot[0], hot[1], hot[2]);
    uint8_t *png;
    size_t size;
    cr_assert_eq(pt_cam_overlay_png(map, 2, 2, &geo, &film, &png, &size, &err), PT_OK, "%s",
                 err.msg);
    cr_assert(size > 8 && !memcmp(png, "\x89PNG", 4), "a PNG");
    free(png);
    float bad[4] = {0, NAN, 0, 1};
    cr_assert_eq(pt_cam_overlay(bad, 2, 2, &geo, &film, rgb, &err), PT_ERR_FORMAT);
    free(rgb);
    pt_image_free(&film);
}
