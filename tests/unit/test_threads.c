/* The threads of a rank (pt_net_set_threads): the same thread count gives the same bits every
 * time; 1, 2 and 3 threads agree within float summation order; a batch norm's channel ranges give
 * the whole call's bits; batches smaller than the thread count work. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "ptrain/arch.h"
#include "ptrain/augment.h"
#include "ptrain/loss.h"
#include "gradcheck.h"
#include "ptrain/net.h"
#include "ptrain/optim.h"
#include "ptrain/rng.h"

/* Every layer type: a conv on one channel (direct loops), a batch norm with a fused ReLU, a
 * Winograd conv, a residual read from two places, max pooling, a strided conv (im2col + GEMM),
 * a batch norm without ReLU, dropout, global average pooling and dense. */
static const char *all_layers = "[conv]\nfilters=6\nsize=3\nstride=1\npad=1\n"
                                "[batchnorm]\n[relu]\n"
                                "[conv]\nfilters=6\nsize=3\nstride=1\npad=1\nbias=0\n"
                                "[residual]\nfrom=-3\n"
                                "[maxpool]\nsize=2\nstride=2\n"
                                "[conv]\nfilters=5\nsize=3\nstride=2\npad=1\n"
                                "[batchnorm]\n"
                                "[dropout]\np=0.25\n"
                                "[avgpool]\n"
                                "[dense]\noutputs=classes\n";

enum { SIDE = 12, CLASSES = 3, STEPS = 4 };

static pt_net *build(const char *preset_or_text, int text, int side, int batch, int threads)
{
    pt_arch arch;
    pt_error err;
    int rc = text ? pt_arch_parse(preset_or_text, "test", &arch, &err)
                  : pt_arch_preset(preset_or_text, &arch, &err);
    cr_assert_eq(rc, PT_OK, "%s", err.msg);
    pt_net *net;
    rc = pt_net_create(&arch, 1, side, side, CLASSES, batch, &net, &err);
    cr_assert_eq(rc, PT_OK, "%s", err.msg);
    pt_arch_free(&arch);
    rc = pt_net_set_threads(net, threads, &err);
    cr_assert_eq(rc, PT_OK, "%s", err.msg);
    cr_assert_eq(pt_net_threads(net), threads);
    return net;
}

/* The outcome of a few training steps: the first step's logits and gradients, the parameters
 * and running statistics at the end. */
typedef struct outcome {
    float *logits, *grads, *params, *state;
    size_t n_logits, n_params, n_state;
} outcome;

static void outcome_free(outcome *o)
{
    free(o->logits);
    free(o->grads);
    free(o->params);
    free(o->state);
}

/* STEPS steps of plain SGD on batches of n random images (the same for every thread count),
 * with softmax cross-entropy, dropout keyed by sample ids. */
static outcome train(const char *preset_or_text, int text, int side, int n, int threads)
{
    pt_net *net = build(preset_or_text, text, side, n, threads);
    pt_net_init_params(net, 7);
    const size_t np = pt_net_param_count(net), pixels = (size_t)side * side;
    outcome o = {calloc((size_t)n * CLASSES, sizeof(float)),
                 calloc(np, sizeof(float)),
                 calloc(np, sizeof(float)),
                 calloc(pt_net_state_count(net), sizeof(float)),
                 (size_t)n * CLASSES,
                 np,
                 pt_net_state_count(net)};
    cr_assert(o.logits && o.grads && o.params && o.state);
    float *dlogits = calloc((size_t)n * CLASSES, sizeof(float));
    int32_t *labels = calloc((size_t)n, sizeof(int32_t));
    int64_t *ids = calloc((size_t)n, sizeof(int64_t));
    cr_assert(dlogits && labels && ids);
    pt_rng rng;
    pt_rng_init(&rng, 42, 0);
    for (int step = 0; step < STEPS; step++) {
        for (size_t i = 0; i < (size_t)n * pixels; i++)
            pt_net_input(net)[i] = (float)pt_rng_normal(&rng);
        for (int i = 0; i < n; i++) {
            labels[i] = (int32_t)pt_rng_below(&rng, CLASSES);
            ids[i] = (int64_t)step * n + i;
        }
        const float *logits = pt_net_forward(net, n, 1, ids, 1000 + (uint64_t)step);
        double norm = pt_softmax_xent_normalizer(labels, NULL, n, CLASSES);
        pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels, NULL, n, CLASSES, norm);
        if (step == 0)
            memcpy(o.logits, logits, o.n_logits * sizeof(float));
        pt_net_zero_grads(net);
        pt_net_backward(net, dlogits, NULL, NULL);
        if (step == 0)
            memcpy(o.grads, pt_net_grads(net), np * sizeof(float));
        for (size_t i = 0; i < np; i++)
            pt_net_params(net)[i] -= 0.05f * pt_net_grads(net)[i];
    }
    memcpy(o.params, pt_net_params(net), np * sizeof(float));
    memcpy(o.state, pt_net_state(net), o.n_state * sizeof(float));
    free(dlogits);
    free(labels);
    free(ids);
    pt_net_free(net);
    return o;
}

static int same_bits(const outcome *a, const outcome *b)
{
    return a->n_params == b->n_params &&
           !memcmp(a->logits, b->logits, a->n_logits * sizeof(float)) &&
           !memcmp(a->grads, b->grads, a->n_params * sizeof(float)) &&
           !memcmp(a->params, b->params, a->n_params * sizeof(float)) &&
           !memcmp(a->state, b->state, a->n_state * sizeof(float));
}

Test(threads, the_same_thread_count_gives_the_same_bits)
{
    for (int threads = 1; threads <= 3; threads++) {
        outcome a = train(all_layers, 1, SIDE, 7, threads);
        outcome b = train(all_layers, 1, SIDE, 7, threads);
        cr_assert(same_bits(&a, &b), "%d threads: two runs differ", threads);
        outcome_free(&a);
        outcome_free(&b);
    }
}

Test(threads, thread_counts_agree_within_summation_order)
{
    /* Another thread count sums the weight gradients over other slices of the batch: float
     * rounding only. 1e-4 relative (as conv algorithms are compared in test_net) on the first
     * step; after 4 steps of SGD the parameters within 1e-3. */
    outcome one = train(all_layers, 1, SIDE, 7, 1);
    for (int threads = 2; threads <= 3; threads++) {
        outcome t = train(all_layers, 1, SIDE, 7, threads);
        double dl = gc_max_rel_diff(t.logits, one.logits, one.n_logits);
        double dg = gc_max_rel_diff(t.grads, one.grads, one.n_params);
        double dp = gc_max_rel_diff(t.params, one.params, one.n_params);
        double ds = gc_max_rel_diff(t.state, one.state, one.n_state);
        cr_assert(dl < 1e-4 && dg < 1e-4, "%d threads: logits %.3g, gradients %.3g", threads, dl,
                  dg);
        cr_assert(dp < 1e-3 && ds < 1e-3, "%d threads: parameters %.3g, statistics %.3g", threads,
                  dp, ds);
        /* and the work was really split: the weight gradients were summed in another order */
        cr_assert(memcmp(t.grads, one.grads, one.n_params * sizeof(float)) != 0,
                  "%d threads gave exactly one thread's gradients: was the batch split?", threads);
        outcome_free(&t);
    }
    outcome_free(&one);
}

Test(threads, the_presets_split_their_batch)
{
    /* cxr (direct first layer, Winograd, batch norm) and fmnist (dense layers) at a small size:
     * repeatable at 2 threads, and within float rounding of 1 thread. */
    const char *presets[2] = {"cxr", "fmnist"};
    const int sides[2] = {32, 28};
    for (int p = 0; p < 2; p++) {
        outcome one = train(presets[p], 0, sides[p], 6, 1);
        outcome a = train(presets[p], 0, sides[p], 6, 2);
        outcome b = train(presets[p], 0, sides[p], 6, 2);
        cr_assert(same_bits(&a, &b), "%s: 2 threads twice differ", presets[p]);
        double dg = gc_max_rel_diff(a.grads, one.grads, one.n_params);
        double dp = gc_max_rel_diff(a.params, one.params, one.n_params);
        cr_assert(dg < 1e-4 && dp < 1e-3, "%s: gradients %.3g, parameters %.3g", presets[p], dg,
                  dp);
        outcome_free(&one);
        outcome_free(&a);
        outcome_free(&b);
    }
}

Test(threads, batches_smaller_than_the_threads)
{
    /* 2 samples on 3 threads: one slice is empty and still takes part in the sums. */
    outcome one = train(all_layers, 1, SIDE, 2, 1);
    outcome three = train(all_layers, 1, SIDE, 2, 3);
    double dg = gc_max_rel_diff(three.grads, one.grads, one.n_params);
    cr_assert(dg < 1e-4, "gradients %.3g", dg);
    outcome_free(&one);
    outcome_free(&three);

    pt_net *net = build("cxr", 0, 32, 4, 3);
    pt_net_forward(net, 0, 1, NULL, 0);
    pt_net_zero_grads(net);
    pt_net_backward(net, NULL, NULL, NULL);
    for (size_t i = 0; i < pt_net_param_count(net); i++)
        cr_assert_eq(pt_net_grads(net)[i], 0.0f);
    pt_net_free(net);
}

Test(threads, thread_counts_are_checked)
{
    pt_net *net = build("cxr", 0, 32, 2, 2);
    pt_error err;
    cr_assert_eq(pt_net_set_threads(net, 0, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_net_set_threads(net, PT_NET_MAX_THREADS + 1, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "threads"), "%s", err.msg);
    cr_assert_eq(pt_net_set_threads(net, 3, &err), PT_OK);
    cr_assert_eq(pt_net_threads(net), 3);
    cr_assert_eq(pt_net_set_threads(net, 1, &err), PT_OK);
    cr_assert_eq(pt_net_threads(net), 1);
    pt_net_free(net);
}

Test(threads, batchnorm_channel_ranges_give_the_whole_calls_bits)
{
    /* How the network splits a batch norm over its threads: any cut into channel ranges. */
    enum { N = 3, C = 5, HW = 37 };
    const size_t total = (size_t)N * C * HW;
    float *in = malloc(total * sizeof(float)), *dout = malloc(total * sizeof(float));
    float *out[2], *din[2];
    float gamma[C], beta[C], mean[2][C], rstd[2][C], rm[2][C], rv[2][C], dg[2][C], db[2][C];
    pt_rng rng;
    pt_rng_init(&rng, 5, 0);
    for (size_t i = 0; i < total; i++) {
        in[i] = (float)(2.0 * pt_rng_normal(&rng) + 0.5);
        dout[i] = (float)pt_rng_normal(&rng);
    }
    for (int c = 0; c < C; c++) {
        gamma[c] = 1.0f + 0.1f * c;
        beta[c] = 0.2f * c - 0.3f;
    }
    for (int relu = 0; relu <= 1; relu++) {
        for (int v = 0; v < 2; v++) {
            out[v] = malloc(total * sizeof(float));
            din[v] = malloc(total * sizeof(float));
            for (int c = 0; c < C; c++) {
                rm[v][c] = 0.0f;
                rv[v][c] = 1.0f;
                dg[v][c] = db[v][c] = 0.0f;
            }
        }
        /* v = 0: the whole call; v = 1: ranges [0,2), [2,3), [3,5) */
        (relu ? pt_batchnorm_relu_forward_train
              : pt_batchnorm_forward_train)(out[0], mean[0], rstd[0], rm[0], rv[0], in, gamma, beta,
                                            N, C, HW, PT_BN_MOMENTUM, PT_BN_EPS);
        const int cuts[4] = {0, 2, 3, 5};
        for (int r = 0; r < 3; r++)
            pt_batchnorm_forward_train_range(out[1], mean[1], rstd[1], rm[1], rv[1], in, gamma,
                                             beta, N, C, HW, PT_BN_MOMENTUM, PT_BN_EPS, relu,
                                             cuts[r], cuts[r + 1]);
        cr_assert(!memcmp(out[0], out[1], total * sizeof(float)), "forward, relu %d", relu);
        cr_assert(!memcmp(rm[0], rm[1], sizeof rm[0]) && !memcmp(rv[0], rv[1], sizeof rv[0]));
        if (relu)
            pt_batchnorm_relu_backward(din[0], dg[0], db[0], dout, out[0], in, mean[0], rstd[0],
                                       gamma, N, C, HW);
        else
            pt_batchnorm_backward(din[0], dg[0], db[0], dout, in, mean[0], rstd[0], gamma, N, C,
                                  HW);
        for (int r = 0; r < 3; r++)
            pt_batchnorm_backward_range(din[1], dg[1], db[1], dout, relu ? out[1] : NULL, in,
                                        mean[1], rstd[1], gamma, N, C, HW, cuts[r], cuts[r + 1]);
        cr_assert(!memcmp(din[0], din[1], total * sizeof(float)), "backward, relu %d", relu);
        cr_assert(!memcmp(dg[0], dg[1], sizeof dg[0]) && !memcmp(db[0], db[1], sizeof db[0]));
        /* eval mode too */
        (relu ? pt_batchnorm_relu_forward_eval : pt_batchnorm_forward_eval)(
            out[0], in, gamma, beta, rm[0], rv[0], N, C, HW, PT_BN_EPS);
        for (int r = 0; r < 3; r++)
            pt_batchnorm_forward_eval_range(out[1], in, gamma, beta, rm[1], rv[1], N, C, HW,
                                            PT_BN_EPS, relu, cuts[r], cuts[r + 1]);
        cr_assert(!memcmp(out[0], out[1], total * sizeof(float)), "eval, relu %d", relu);
        for (int v = 0; v < 2; v++) {
            free(out[v]);
            free(din[v]);
        }
    }
    free(in);
    free(dout);
}

Test(threads, the_optimizer_gives_the_same_bits_on_any_thread_count)
{
    /* Every parameter's update is its own: 1, 2, 3 and 7 threads, SGD with Nesterov momentum and
     * AdamW, over a count that is no multiple of the ranges' 16-float alignment. */
    enum { N = 1003, STEPS_OPT = 3 };
    const pt_optim_kind kinds[2] = {PT_OPTIM_SGD, PT_OPTIM_ADAMW};
    const int counts[4] = {1, 2, 3, 7};
    for (int kd = 0; kd < 2; kd++) {
        float result[4][N];
        for (int c = 0; c < 4; c++) {
            pt_optim_config cfg;
            pt_optim_config_default(kinds[kd], &cfg);
            cfg.threads = counts[c];
            if (kinds[kd] == PT_OPTIM_SGD) {
                cfg.momentum = 0.9;
                cfg.nesterov = 1;
                cfg.weight_decay = 1e-3;
            }
            float *buf = calloc(pt_optim_state_floats(kinds[kd], N), sizeof(float));
            float grads[N];
            uint8_t mask[N];
            pt_optim_state state;
            pt_error err;
            cr_assert_eq(pt_optim_state_init(&state, kinds[kd], N, buf, &err), PT_OK, "%s",
                         err.msg);
            pt_rng rng;
            pt_rng_init(&rng, 9, 0);
            for (int i = 0; i < N; i++) {
                result[c][i] = (float)pt_rng_normal(&rng);
                mask[i] = (uint8_t)(i % 3 != 0);
            }
            for (int s = 0; s < STEPS_OPT; s++) {
                for (int i = 0; i < N; i++)
                    grads[i] = (float)pt_rng_normal(&rng);
                cr_assert_eq(pt_optim_step(&cfg, &state, result[c], grads, mask, N, 0.01, &err),
                             PT_OK, "%s", err.msg);
            }
            free(buf);
        }
        for (int c = 1; c < 4; c++)
            cr_assert(!memcmp(result[c], result[0], sizeof result[0]), "%s, %d threads",
                      pt_optim_name(kinds[kd]), counts[c]);
    }
}

Test(threads, augmenting_a_batch_on_threads_gives_each_samples_own_bits)
{
    enum { H = 19, W = 23, IMAGES = 9, N = 7 };
    uint8_t images[IMAGES * H * W];
    for (int i = 0; i < IMAGES * H * W; i++)
        images[i] = (uint8_t)((i * 37 + i / 11) & 0xff);
    const int64_t ids[N] = {8, 0, 3, 3, 5, 1, 7};
    const pt_augment aug = pt_augment_default();
    float one[N * H * W], batch[N * H * W];
    for (int j = 0; j < N; j++)
        pt_augment_sample(&aug, 4, 2, ids[j], images + ids[j] * H * W, H, W, 0.3f, 0.2f,
                          one + j * H * W);
    for (int threads = 1; threads <= 3; threads++) {
        memset(batch, 0, sizeof batch);
        pt_augment_batch(&aug, threads, 4, 2, ids, N, images, H, W, 0.3f, 0.2f, batch);
        cr_assert(!memcmp(one, batch, sizeof one), "%d threads", threads);
    }
}

/* A strided conv (im2col, split by images) to 2x2 maps, then two small-map convs (smallconv.h:
 * 3x3 pad 1 on 2x2, channels in sixteens), which threads split by channels, every image each. */
static const char *small_maps = "[conv]\nfilters=16\nsize=3\nstride=2\npad=1\n"
                                "[conv]\nfilters=16\nsize=3\nstride=1\npad=1\n"
                                "[batchnorm]\n[relu]\n"
                                "[conv]\nfilters=32\nsize=3\nstride=1\npad=1\nbias=0\n"
                                "[avgpool]\n"
                                "[dense]\noutputs=classes\n";

Test(threads, small_map_layers_split_by_channels)
{
    pt_net *net = build(small_maps, 1, 4, 7, 2);
    pt_net_set_profiling(net, 1);
    cr_assert_str_eq(pt_net_layer_profile(net, 1)->algo, "smallmap");
    cr_assert_str_eq(pt_net_layer_profile(net, 4)->algo, "smallmap");
    pt_net_free(net);

    /* Their parts give the bits of one call (test_smallconv); the first conv and the dense layer
     * split the batch, so across thread counts the results agree within summation order. */
    outcome one = train(small_maps, 1, 4, 7, 1);
    for (int threads = 2; threads <= 3; threads++) {
        outcome t = train(small_maps, 1, 4, 7, threads);
        outcome again = train(small_maps, 1, 4, 7, threads);
        cr_assert(same_bits(&t, &again), "%d threads: two runs differ", threads);
        double dl = gc_max_rel_diff(t.logits, one.logits, one.n_logits);
        double dg = gc_max_rel_diff(t.grads, one.grads, one.n_params);
        double dp = gc_max_rel_diff(t.params, one.params, one.n_params);
        cr_assert(dl < 1e-4 && dg < 1e-4 && dp < 1e-3,
                  "%d threads: logits %.3g, gradients %.3g, parameters %.3g", threads, dl, dg, dp);
        outcome_free(&t);
        outcome_free(&again);
    }
    outcome_free(&one);
}
