/* The network: shapes and parameter counts of the presets, the parameter table, whole-network
 * gradients against finite differences, and the data-parallel identity (two half batches sum to
 * the whole batch's gradient). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/arch.h"
#include "ptrain/isa.h"
#include "ptrain/loss.h"
#include "gradcheck.h"
#include "ptrain/net.h"
#include "ptrain/rng.h"

static pt_net *build(const char *preset_or_text, int text, int c, int h, int w, int classes,
                     int batch)
{
    pt_arch arch;
    pt_error err;
    int rc = text ? pt_arch_parse(preset_or_text, "test", &arch, &err)
                  : pt_arch_preset(preset_or_text, &arch, &err);
    cr_assert_eq(rc, PT_OK, "%s", err.msg);
    pt_net *net;
    rc = pt_net_create(&arch, c, h, w, classes, batch, &net, &err);
    cr_assert_eq(rc, PT_OK, "%s", err.msg);
    pt_arch_free(&arch);
    return net;
}

Test(net, preset_parameter_counts_match_pytorch)
{
    pt_net *net = build("fmnist", 0, 1, 28, 28, 10, 2);
    /* conv 32*9+32, conv 64*32*9+64, dense 128*3136+128, dense 10*128+10 */
    cr_assert_eq(pt_net_param_count(net), 421642);
    cr_assert_eq(pt_net_outputs(net), 10);
    pt_net_free(net);

    net = build("cxr", 0, 1, 128, 128, 2, 2);
    /* 4 conv+BN blocks (160+32, 4640+64, 18496+128, 73856+256) and dense 128*2+2 */
    cr_assert_eq(pt_net_param_count(net), 97890);
    cr_assert_eq(pt_net_state_count(net), 2 * (16 + 32 + 64 + 128));
    pt_net_free(net);

    net = build("resnet18", 0, 1, 224, 224, 2, 1);
    /* torchvision resnet18: 11,689,512 with a 3-channel stem and 1000 classes; a 1-channel stem
     * has 6,272 weights fewer, a 2-class head 513,000 - 1,026 fewer */
    cr_assert_eq(pt_net_param_count(net), 11171266);
    pt_net_free(net);
}

Test(net, parameter_table_is_contiguous_and_named)
{
    pt_net *net = build("cxr", 0, 1, 64, 64, 3, 2);
    int n;
    const pt_tensor_info *t = pt_net_param_table(net, &n);
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(t[i].offset, offset, "%s", t[i].name);
        offset += t[i].count;
    }
    cr_assert_eq(offset, pt_net_param_count(net));
    cr_assert_str_eq(t[0].name, "conv1.weight");
    cr_assert_eq(t[0].ndims, 4);
    cr_assert_eq(t[0].shape[0], 16);
    cr_assert_eq(t[0].decay, 1);
    cr_assert_str_eq(t[1].name, "conv1.bias");
    cr_assert_eq(t[1].decay, 0);
    cr_assert_str_eq(t[2].name, "batchnorm1.weight");
    cr_assert_str_eq(t[n - 1].name, "dense1.bias");
    const uint8_t *mask = pt_net_decay_mask(net);
    cr_assert_eq(mask[t[0].offset], 1);
    cr_assert_eq(mask[t[1].offset], 0);
    const pt_tensor_info *s = pt_net_state_table(net, &n);
    cr_assert_str_eq(s[0].name, "batchnorm1.running_mean");
    cr_assert_float_eq(pt_net_state(net)[s[1].offset], 1.0f, 0, "running_var starts at 1");
    pt_net_free(net);
}

Test(net, init_is_he_normal_and_seeded)
{
    pt_net *a = build("fmnist", 0, 1, 28, 28, 10, 1);
    pt_net *b = build("fmnist", 0, 1, 28, 28, 10, 1);
    pt_net_init_params(a, 5);
    pt_net_init_params(b, 5);
    cr_assert_eq(memcmp(pt_net_params(a), pt_net_params(b), pt_net_param_count(a) * 4), 0);
    pt_net_init_params(b, 6);
    cr_assert_neq(memcmp(pt_net_params(a), pt_net_params(b), pt_net_param_count(a) * 4), 0);
    int n;
    const pt_tensor_info *t = pt_net_param_table(a, &n);
    /* dense1.weight: fan_in 3136, std sqrt(2/3136) = 0.02525 */
    const pt_tensor_info *d = &t[4];
    cr_assert_str_eq(d->name, "dense1.weight");
    double sum2 = 0;
    for (size_t i = 0; i < d->count; i++)
        sum2 += (double)pt_net_params(a)[d->offset + i] * pt_net_params(a)[d->offset + i];
    cr_assert_float_eq(sqrt(sum2 / (double)d->count), sqrt(2.0 / 3136.0), 0.0005);
    cr_assert_float_eq(pt_net_params(a)[t[5].offset], 0.0f, 0, "biases start at zero");
    pt_net_free(a);
    pt_net_free(b);
}

/* A small net with every layer type, a residual fed from two places and a BN on the input. */
static const char *small_text = "[conv]\nfilters=4\nsize=3\nstride=1\npad=1\n"
                                "[batchnorm]\n[relu]\n"
                                "[conv]\nfilters=4\nsize=3\nstride=1\npad=1\nbias=0\n"
                                "[residual]\nfrom=-3\n"
                                "[maxpool]\nsize=2\nstride=2\n"
                                "[conv]\nfilters=3\nsize=3\nstride=2\npad=1\n"
                                "[dropout]\np=0.0\n"
                                "[avgpool]\n"
                                "[dense]\noutputs=classes\n";

static void fill_input(pt_net *net, int n, uint64_t seed)
{
    pt_rng rng;
    pt_rng_init(&rng, seed, 1);
    for (int i = 0; i < n * 1 * 8 * 8; i++)
        pt_net_input(net)[i] = (float)pt_rng_normal(&rng);
}

/* Objective: sum of logits * fixed weights, accumulated in double. */
static double objective(pt_net *net, int n, const float *r)
{
    const float *logits = pt_net_forward(net, n, 1, NULL, 0);
    double s = 0;
    for (int i = 0; i < n * 3; i++)
        s += (double)logits[i] * r[i];
    return s;
}

Test(net, whole_network_gradient_matches_finite_differences)
{
    const int n = 3;
    pt_net *net = build(small_text, 1, 1, 8, 8, 3, n);
    pt_net_init_params(net, 11);
    fill_input(net, n, 2);
    float r[9];
    for (int i = 0; i < 9; i++)
        r[i] = (float)(0.3 * (i % 4) - 0.4);

    objective(net, n, r);
    pt_net_zero_grads(net);
    pt_net_backward(net, r, NULL, NULL);
    size_t np = pt_net_param_count(net);
    float *analytic = malloc(np * sizeof(float));
    memcpy(analytic, pt_net_grads(net), np * sizeof(float));

    /* Central differences in float with a 1e-3 step (1e-2 crosses too many ReLU / max-pool
     * kinks: a few parameters sit near one), compared as a relative norm over all parameters
     * so that a kink or float rounding on one of them cannot fail the test, a wrong layer can. */
    float *p = pt_net_params(net);
    double num = 0, den = 0;
    for (size_t i = 0; i < np; i++) {
        float saved = p[i];
        p[i] = saved + 1e-3f;
        double up = objective(net, n, r);
        p[i] = saved - 1e-3f;
        double down = objective(net, n, r);
        p[i] = saved;
        double fd = (up - down) / 2e-3;
        num += (fd - analytic[i]) * (fd - analytic[i]);
        den += fd * fd;
    }
    double rel = sqrt(num / den);
    cr_assert(rel < 2e-2, "relative gradient error %.4g", rel);
    free(analytic);
    pt_net_free(net);
}

Test(net, two_half_batches_sum_to_the_whole_batch)
{
    /* Without batch norm, the gradient of the global mean loss over 8 samples equals the sum of
     * the gradients two ranks compute on 4 samples each with the global normaliser: the identity
     * the allreduce relies on. */
    const char *text = "[conv]\nfilters=4\nsize=3\n[relu]\n[maxpool]\n[dense]\noutputs=8\n"
                       "[relu]\n[dense]\noutputs=classes\n";
    pt_net *whole = build(text, 1, 1, 8, 8, 3, 8);
    pt_net *half = build(text, 1, 1, 8, 8, 3, 4);
    pt_net_init_params(whole, 3);
    pt_net_init_params(half, 3);
    fill_input(whole, 8, 9);
    int32_t labels[8] = {0, 1, 2, 1, 0, 2, 2, 1};
    float weights[3] = {1.0f, 2.0f, 0.5f};
    double normalizer = pt_softmax_xent_normalizer(labels, weights, 8, 3);
    float dlogits[24];

    const float *logits = pt_net_forward(whole, 8, 1, NULL, 0);
    pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels, weights, 8, 3, normalizer);
    pt_net_zero_grads(whole);
    pt_net_backward(whole, dlogits, NULL, NULL);

    size_t np = pt_net_param_count(half);
    float *sum = calloc(np, sizeof(float));
    for (int rank = 0; rank < 2; rank++) {
        memcpy(pt_net_input(half), pt_net_input(whole) + rank * 4 * 64, 4 * 64 * sizeof(float));
        logits = pt_net_forward(half, 4, 1, NULL, 0);
        pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels + 4 * rank, weights, 4, 3,
                                         normalizer);
        pt_net_zero_grads(half);
        pt_net_backward(half, dlogits, NULL, NULL);
        for (size_t i = 0; i < np; i++)
            sum[i] += pt_net_grads(half)[i];
    }
    for (size_t i = 0; i < np; i++)
        cr_assert_float_eq(sum[i], pt_net_grads(whole)[i], 1e-6 + 1e-4 * fabsf(sum[i]),
                           "parameter %zu", i);
    free(sum);
    pt_net_free(whole);
    pt_net_free(half);
}

static void count_ready(void *ctx, size_t begin, size_t end)
{
    size_t *state = ctx; /* [0]: floats reported, [1]: lowest begin so far */
    cr_assert(end <= state[1], "layers must finish from the last parameter to the first");
    state[0] += end - begin;
    state[1] = begin;
}

Test(net, backward_reports_every_parameter_once_from_the_end)
{
    pt_net *net = build("cxr", 0, 1, 32, 32, 2, 2);
    fill_input(net, 1, 1);
    pt_net_forward(net, 2, 1, NULL, 0);
    float dlogits[4] = {0.1f, -0.1f, 0.2f, -0.2f};
    size_t state[2] = {0, pt_net_param_count(net)};
    pt_net_zero_grads(net);
    pt_net_backward(net, dlogits, count_ready, state);
    cr_assert_eq(state[0], pt_net_param_count(net));
    cr_assert_eq(state[1], 0);
    pt_net_free(net);
}

Test(net, empty_local_batch_leaves_gradients_zero)
{
    pt_net *net = build("cxr", 0, 1, 32, 32, 2, 2);
    pt_net_forward(net, 0, 1, NULL, 0);
    pt_net_zero_grads(net);
    pt_net_backward(net, NULL, NULL, NULL);
    for (size_t i = 0; i < pt_net_param_count(net); i++)
        cr_assert_eq(pt_net_grads(net)[i], 0.0f);
    pt_net_free(net);
}

Test(net, shapes_that_do_not_fit_name_the_layer)
{
    pt_arch arch;
    pt_error err;
    pt_net *net;
    cr_assert_eq(pt_arch_parse("[conv]\nfilters=2\nsize=5\npad=0\n[dense]\noutputs=classes\n",
                               "t.cfg", &arch, &err),
                 PT_OK);
    cr_assert_eq(pt_net_create(&arch, 1, 3, 3, 2, 1, &net, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "[conv]") && strstr(err.msg, "line 1"), "%s", err.msg);
    pt_arch_free(&arch);

    cr_assert_eq(pt_arch_parse("[conv]\nfilters=2\n[dense]\noutputs=5\n", "t.cfg", &arch, &err),
                 PT_OK);
    cr_assert_eq(pt_net_create(&arch, 1, 8, 8, 2, 1, &net, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "2 classes"), "%s", err.msg);
    pt_arch_free(&arch);
}

/* Logits and gradients of one training step with the given convolution algorithm. */
static void step_with(pt_conv_algo algo, float *logits, float *grads, size_t np, int n)
{
    pt_net *net = build(small_text, 1, 1, 8, 8, 3, n);
    pt_net_set_conv_algo(net, algo);
    pt_net_init_params(net, 5);
    fill_input(net, n, 3);
    const float *out = pt_net_forward(net, n, 1, NULL, 0);
    memcpy(logits, out, (size_t)n * 3 * sizeof(float));
    float r[3 * 4];
    for (int i = 0; i < 3 * n; i++)
        r[i] = (float)(0.2 * (i % 5) - 0.4);
    pt_net_zero_grads(net);
    pt_net_backward(net, r, NULL, NULL);
    cr_assert_eq(pt_net_param_count(net), np);
    memcpy(grads, pt_net_grads(net), np * sizeof(float));
    pt_net_free(net);
}

Test(net, convolution_algorithms_agree)
{
    /* small_text's first conv has one input channel (direct loops under auto), its second is a
     * 3x3 stride-1 conv with 4 channels (Winograd under auto), its third has stride 2 (GEMM). */
    enum { N = 4 };
    pt_net *net = build(small_text, 1, 1, 8, 8, 3, N);
    size_t np = pt_net_param_count(net);
    pt_net_free(net);
    enum { ALGOS = 5 };
    float logits[ALGOS][3 * N];
    float *grads[ALGOS];
    const pt_conv_algo algos[ALGOS] = {PT_CONV_AUTO, PT_CONV_GEMM, PT_CONV_WINOGRAD,
                                       PT_CONV_WINOGRAD2, PT_CONV_WINOGRAD4};
    for (int a = 0; a < ALGOS; a++) {
        grads[a] = malloc(np * sizeof(float));
        step_with(algos[a], logits[a], grads[a], np, N);
    }
    for (int a = 1; a < ALGOS; a++) {
        cr_assert(gc_max_rel_diff(logits[a], logits[0], 3 * N) < 1e-4, "logits, algorithm %d", a);
        cr_assert(gc_max_rel_diff(grads[a], grads[0], np) < 1e-4, "gradients, algorithm %d", a);
    }
    cr_assert_neq(memcmp(grads[1], grads[0], np * sizeof(float)), 0,
                  "gemm and auto should not be the same computation");
    cr_assert_neq(memcmp(grads[4], grads[3], np * sizeof(float)), 0,
                  "winograd4 and winograd2 should not be the same computation");
    for (int a = 0; a < ALGOS; a++)
        free(grads[a]);
    pt_conv_algo algo;
    cr_assert_eq(pt_net_conv_algo_parse("winograd", &algo), PT_OK);
    cr_assert_eq(algo, PT_CONV_WINOGRAD);
    cr_assert_eq(pt_net_conv_algo_parse("winograd2", &algo), PT_OK);
    cr_assert_eq(algo, PT_CONV_WINOGRAD2);
    cr_assert_eq(pt_net_conv_algo_parse("winograd4", &algo), PT_OK);
    cr_assert_eq(algo, PT_CONV_WINOGRAD4);
    cr_assert_eq(pt_net_conv_algo_parse("fft", &algo), PT_ERR_INVALID);
}

/* The profile names the Winograd variant each layer runs: small_text's second conv (8x8 output) is
 * F(4x4) under auto and winograd4, F(2x2) under winograd2; its first (one input channel) is direct
 * under auto and, as with `winograd`, the forced variant otherwise; the third (stride 2) gemm. */
Test(net, profile_names_the_winograd_variant)
{
    const pt_conv_algo algos[3] = {PT_CONV_AUTO, PT_CONV_WINOGRAD2, PT_CONV_WINOGRAD4};
    const char *first[3] = {"direct", "winograd", "winograd4"};
    const char *second[3] = {"winograd4", "winograd", "winograd4"};
    for (int a = 0; a < 3; a++) {
        pt_net *net = build(small_text, 1, 1, 8, 8, 3, 2);
        pt_net_set_conv_algo(net, algos[a]);
        pt_net_set_profiling(net, 1);
        const char *got[3] = {"", "", ""};
        for (int i = 0, conv = 0; i < pt_net_layer_count(net); i++) {
            const pt_layer_profile *p = pt_net_layer_profile(net, i);
            if (!strcmp(p->type, "conv") && conv < 3)
                got[conv++] = p->algo;
        }
        cr_assert_str_eq(got[0], first[a], "algorithm %d", a);
        cr_assert_str_eq(got[1], second[a], "algorithm %d", a);
        cr_assert_str_eq(got[2], "gemm");
        pt_net_free(net);
    }
}

Test(net, every_instruction_set_trains_the_same_bits)
{
    /* The kernels of each path do the same arithmetic in the same order (isa.h): a whole
     * forward and backward gives the same logits and gradients, bit for bit. */
    enum { N = 4 };
    pt_net *net = build(small_text, 1, 1, 8, 8, 3, N);
    size_t np = pt_net_param_count(net);
    pt_net_free(net);
    float logits0[3 * N], logits1[3 * N];
    float *grads0 = malloc(np * sizeof(float)), *grads1 = malloc(np * sizeof(float));
    cr_assert(grads0 && grads1);
    pt_isa before = pt_isa_active();
    pt_isa_force(PT_ISA_BASE);
    step_with(PT_CONV_AUTO, logits0, grads0, np, N);
    for (int isa = PT_ISA_BASE + 1; isa < PT_ISA_COUNT; isa++) {
        if (!pt_isa_supported((pt_isa)isa)) {
            fprintf(stderr, "test_net: this CPU has no %s: that path was not tested here\n",
                    pt_isa_name((pt_isa)isa));
            continue;
        }
        pt_isa_force((pt_isa)isa);
        step_with(PT_CONV_AUTO, logits1, grads1, np, N);
        cr_assert(!memcmp(logits0, logits1, sizeof logits0), "logits on %s",
                  pt_isa_name((pt_isa)isa));
        cr_assert(!memcmp(grads0, grads1, np * sizeof(float)), "gradients on %s",
                  pt_isa_name((pt_isa)isa));
    }
    pt_isa_force(before);
    free(grads0);
    free(grads1);
}

Test(net, profile_counts_training_steps_only)
{
    enum { N = 3 };
    pt_net *net = build(small_text, 1, 1, 8, 8, 3, N);
    pt_net_init_params(net, 1);
    fill_input(net, N, 1);
    float r[3 * N] = {0.1f, -0.2f, 0.3f, 0.0f, 0.5f, -0.1f, 0.2f, 0.2f, -0.4f};
    pt_net_set_profiling(net, 1);
    for (int step = 0; step < 2; step++) {
        pt_net_forward(net, N, 1, NULL, 0);
        pt_net_zero_grads(net);
        pt_net_backward(net, r, NULL, NULL);
    }
    pt_net_forward(net, N, 0, NULL, 0); /* evaluation: not counted */
    pt_net_set_profiling(net, 0);
    pt_net_forward(net, N, 1, NULL, 0); /* profiling off: not counted */
    const char *algo[3] = {"direct", "winograd4", "gemm"};
    int conv = 0;
    for (int i = 0; i < pt_net_layer_count(net); i++) {
        const pt_layer_profile *p = pt_net_layer_profile(net, i);
        cr_assert_eq(p->samples, 2.0 * N, "%s: %g samples", p->name, p->samples);
        cr_assert(p->forward_s >= 0 && p->backward_s >= 0);
        if (strcmp(p->type, "conv"))
            continue;
        cr_assert_str_eq(p->algo, algo[conv], "%s", p->name);
        /* dweight and din (the first layer has no din): 1 or 2 forward's worth per sample */
        double per_pass = p->forward_flops_per_sample * N * 2;
        cr_assert_float_eq(p->backward_flops, conv == 0 ? per_pass : 2 * per_pass, 1e-6 * per_pass);
        cr_assert(conv != 2 || p->gemm_s > 0, "the GEMM conv times its sgemm calls");
        conv++;
    }
    cr_assert_eq(conv, 3);
    pt_net_free(net);
}

/* In eval mode a convolution read only by a batch norm writes the normalised output itself
 * (net.c, conv.h's epilogue) and the batch norm is skipped: the logits must be the bits of the two
 * layers one after the other. The reference network puts an eval-time identity (dropout, p = 0)
 * between each convolution and its batch norm, which keeps them apart, with the same parameters.
 * Covered: the direct first layer, Winograd F(4x4) and F(2x2), im2col + GEMM (several images per
 * GEMM, and one), the small-map kernel (also split by channels over 2 threads), a conv bias, a
 * fused ReLU and a batch norm feeding a residual. */
static char *fused_bn_text(int with_identity)
{
    const char *gap = with_identity ? "[dropout]\np=0.0\n" : "";
    char *text = malloc(2048);
    cr_assert_not_null(text);
    snprintf(text, 2048,
             "[conv]\nfilters=16\nsize=3\npad=1\n%s[batchnorm]\n[relu]\n"
             "[conv]\nfilters=16\nsize=3\npad=1\nbias=0\n%s[batchnorm]\n[relu]\n"
             "[conv]\nfilters=16\nsize=3\nstride=2\npad=1\n%s[batchnorm]\n[relu]\n"
             "[conv]\nfilters=16\nsize=3\npad=1\n%s[batchnorm]\n"
             "[residual]\nfrom=%d\n[relu]\n[avgpool]\n[dense]\noutputs=classes\n",
             gap, gap, gap, gap, with_identity ? -4 : -3);
    return text;
}

static pt_net *eval_net(const char *text, pt_conv_algo algo, int threads, int n)
{
    pt_net *net = build(text, 1, 1, 8, 8, 3, n);
    pt_error err;
    cr_assert_eq(pt_net_set_threads(net, threads, &err), PT_OK, "%s", err.msg);
    pt_net_set_conv_algo(net, algo);
    return net;
}

/* Parameters and running statistics away from their initial 1s and 0s, so that every batch norm's
 * map is far from the identity. */
static void scramble_weights(pt_net *net, pt_rng *rng)
{
    pt_net_init_params(net, 11);
    float *params = pt_net_params(net);
    for (size_t i = 0; i < pt_net_param_count(net); i++)
        params[i] += 0.05f * (float)pt_rng_normal(rng);
    int n_state;
    const pt_tensor_info *table = pt_net_state_table(net, &n_state);
    float *state = pt_net_state(net);
    for (int t = 0; t < n_state; t++)
        for (size_t i = 0; i < table[t].count; i++)
            state[table[t].offset + i] = strcmp(table[t].field, "running_var") == 0
                                             ? 0.5f + (float)pt_rng_uniform(rng)
                                             : 0.3f * (float)pt_rng_normal(rng);
}

/* The eval logits of net for n images of input. */
static void eval_logits(pt_net *net, const float *input, int n, float *logits)
{
    memcpy(pt_net_input(net), input, (size_t)n * 64 * sizeof(float));
    memcpy(logits, pt_net_forward(net, n, 0, NULL, 0), (size_t)n * 3 * sizeof(float));
}

Test(net, eval_batch_norm_done_by_its_convolution_gives_the_same_bits)
{
    char *fused_text = fused_bn_text(0), *apart_text = fused_bn_text(1);
    const pt_conv_algo algos[] = {PT_CONV_AUTO, PT_CONV_GEMM, PT_CONV_WINOGRAD2};
    const int batches[] = {1, 20};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 2; b++)
            for (int threads = 1; threads <= 2; threads++) {
                const int n = batches[b];
                pt_rng rng;
                pt_rng_init(&rng, 7, (uint64_t)n);
                float input[20 * 64], fused[20 * 3], apart[20 * 3];
                for (int i = 0; i < n * 64; i++)
                    input[i] = (float)pt_rng_normal(&rng);
                pt_net *ref = eval_net(apart_text, algos[a], threads, n);
                pt_net *net = eval_net(fused_text, algos[a], threads, n);
                scramble_weights(ref, &rng);
                cr_assert_eq(pt_net_copy_weights(net, ref), PT_OK);
                eval_logits(ref, input, n, apart);
                eval_logits(net, input, n, fused);
                cr_assert(!memcmp(fused, apart, (size_t)n * 3 * sizeof(float)),
                          "algorithm %d, batch %d, %d threads: logits differ (%.9g vs %.9g)", a, n,
                          threads, fused[0], apart[0]);
                pt_net_free(net);
                pt_net_free(ref);
            }
    free(fused_text);
    free(apart_text);
}

/* A residual writes the ReLU after it itself (net.c): training forward, backward and eval give the
 * bits of a network that keeps them apart with an identity (dropout, p = 0) between them. */
Test(net, residual_with_its_relu_in_one_pass_gives_the_same_bits)
{
    const char *texts[2] = {"[conv]\nfilters=16\nsize=3\npad=1\n[batchnorm]\n[relu]\n"
                            "[conv]\nfilters=16\nsize=3\npad=1\n[batchnorm]\n"
                            "[residual]\nfrom=-3\n[relu]\n[avgpool]\n[dense]\noutputs=classes\n",
                            "[conv]\nfilters=16\nsize=3\npad=1\n[batchnorm]\n[relu]\n"
                            "[conv]\nfilters=16\nsize=3\npad=1\n[batchnorm]\n"
                            "[residual]\nfrom=-3\n[dropout]\np=0.0\n[relu]\n[avgpool]\n[dense]\n"
                            "outputs=classes\n"};
    enum { N = 5 };
    float logits[2][N * 3], eval[2][N * 3], *grads[2];
    pt_rng rng;
    pt_rng_init(&rng, 3, 0);
    float input[N * 64], dlogits[N * 3];
    for (int i = 0; i < N * 64; i++)
        input[i] = (float)pt_rng_normal(&rng);
    for (int i = 0; i < N * 3; i++)
        dlogits[i] = (float)pt_rng_normal(&rng);
    pt_net *nets[2] = {eval_net(texts[0], PT_CONV_AUTO, 1, N),
                       eval_net(texts[1], PT_CONV_AUTO, 1, N)};
    pt_net_init_params(nets[0], 5);
    cr_assert_eq(pt_net_copy_weights(nets[1], nets[0]), PT_OK);
    const size_t np = pt_net_param_count(nets[0]);
    for (int t = 0; t < 2; t++) {
        memcpy(pt_net_input(nets[t]), input, sizeof input);
        memcpy(logits[t], pt_net_forward(nets[t], N, 1, NULL, 0), sizeof logits[t]);
        pt_net_zero_grads(nets[t]);
        pt_net_backward(nets[t], dlogits, NULL, NULL);
        grads[t] = malloc(np * sizeof(float));
        memcpy(grads[t], pt_net_grads(nets[t]), np * sizeof(float));
        eval_logits(nets[t], input, N, eval[t]);
        pt_net_free(nets[t]);
    }
    cr_assert(!memcmp(logits[0], logits[1], sizeof logits[0]), "training logits");
    cr_assert(!memcmp(grads[0], grads[1], np * sizeof(float)), "gradients");
    cr_assert(!memcmp(eval[0], eval[1], sizeof eval[0]), "eval logits");
    free(grads[0]), free(grads[1]);
}
