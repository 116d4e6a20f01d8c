/* Inference: probabilities of a sound model, and a loud failure, never a NaN probability, for a
 * model whose output is not finite (NaN weights, or weights so large that a layer overflows). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ptrain/arch.h"
#include "ptrain/infer.h"
#include "ptrain/net.h"

#define SIDE 16

static pt_net *build(const char *preset, int classes, int batch)
{
    pt_arch arch;
    pt_error err;
    cr_assert_eq(pt_arch_preset(preset, &arch, &err), PT_OK, "%s", err.msg);
    pt_net *net;
    cr_assert_eq(pt_net_create(&arch, 1, SIDE, SIDE, classes, batch, &net, &err), PT_OK, "%s",
                 err.msg);
    pt_arch_free(&arch);
    pt_net_init_params(net, 7);
    return net;
}

static void images(uint8_t *x, int n)
{
    for (int i = 0; i < n * SIDE * SIDE; i++)
        x[i] = (uint8_t)(i * 37 % 251);
}

static const pt_infer_params params = {SIDE, SIDE, 0.45, 0.25, 0};

Test(infer, a_sound_model_gives_probabilities)
{
    pt_net *net = build("cxr", 3, 2);
    uint8_t x[5 * SIDE * SIDE];
    images(x, 5);
    float probs[5 * 3];
    pt_error err;
    /* 5 images in chunks of 2: the last chunk is partial */
    cr_assert_eq(pt_infer_probs(net, &params, x, 5, probs, &err), PT_OK, "%s", err.msg);
    for (int i = 0; i < 5; i++) {
        float sum = probs[3 * i] + probs[3 * i + 1] + probs[3 * i + 2];
        cr_assert_float_eq(sum, 1.0f, 1e-5f, "image %d: probabilities sum to %g", i, sum);
    }
    pt_net_free(net);
}

static void assert_refused(pt_net *net, int multi, const char *needle)
{
    uint8_t x[3 * SIDE * SIDE];
    images(x, 3);
    float probs[3 * 2];
    pt_error err;
    pt_error_clear(&err);
    pt_infer_params p = params;
    p.multi_label = multi;
    int rc = pt_infer_probs(net, &p, x, 3, probs, &err);
    cr_assert_eq(rc, PT_ERR_FORMAT, "a broken model gave probabilities (%d)", rc);
    cr_log_info("refused as expected: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, needle), "'%s' not in: %s", needle, err.msg);
    cr_assert_not_null(strstr(err.msg, "image 1 of 3"), "%s", err.msg);
}

Test(infer, nan_weights_are_an_error_not_a_nan_probability)
{
    pt_net *net = build("fmnist", 2, 4);
    float *w = pt_net_params(net);
    w[pt_net_param_count(net) - 1] = NAN; /* the last bias: every image's output 1 */
    assert_refused(net, 0, "output 1 is NaN");
    assert_refused(net, 1, "output 1 is NaN");
    pt_net_free(net);
}

Test(infer, weights_that_overflow_are_an_error)
{
    pt_net *net = build("cxr", 2, 4);
    size_t n = pt_net_param_count(net);
    float *w = pt_net_params(net);
    for (size_t i = 0; i < n; i++)
        w[i] = 1e30f;
    assert_refused(net, 0, "weights are NaN or too large");
    pt_net_free(net);
}

Test(infer, probabilities_do_not_depend_on_the_threads)
{
    /* ptrain eval runs the network on every CPU it may use: each image's forward pass is its own
     * (eval-mode batch norm uses the running statistics), so the slices change only the float
     * rounding of the GEMMs, whose sizes follow the slices */
    const char *presets[] = {"cxr", "fmnist"};
    enum { N = 70, K = 2 };
    static uint8_t x[N * SIDE * SIDE];
    images(x, N);
    for (int p = 0; p < 2; p++) {
        float probs[3][N * K];
        for (int t = 1; t <= 3; t++) {
            pt_net *net = build(presets[p], K, 32);
            pt_error err;
            cr_assert_eq(pt_net_set_threads(net, t, &err), PT_OK, "%s", err.msg);
            cr_assert_eq(pt_infer_probs(net, &params, x, N, probs[t - 1], &err), PT_OK, "%s",
                         err.msg);
            pt_net_free(net);
        }
        for (int t = 1; t < 3; t++) {
            double worst = 0;
            for (int i = 0; i < N * K; i++)
                worst = fmax(worst, fabs((double)probs[0][i] - probs[t][i]));
            fprintf(stderr, "%s: 1 vs %d threads: largest difference %g\n", presets[p], t + 1,
                    worst);
            cr_assert(worst < 1e-6, "%s: 1 vs %d threads differ by %g", presets[p], t + 1, worst);
        }
    }
}
