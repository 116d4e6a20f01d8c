/* Optimizers and learning-rate schedules against values worked out by hand.
 *
 * Every expected number below is derived in the comment above it from PyTorch's update rules, so
 * a wrong rule (zero-started momentum, coupled AdamW decay, a missing bias correction, an
 * off-by-one in the schedule) changes a checked value far beyond the float tolerance. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/optim.h"
#include "ptrain/rng.h"

/* Float arithmetic against exact decimal hand values: a few ulps of values near 1. */
#define TOL 1e-6

/* One optimizer on a handful of parameters, state kept beside them. */
typedef struct rig {
    pt_optim_config cfg;
    pt_optim_state st;
    float params[8];
    float state[16];
    size_t n;
} rig;

static void rig_init(rig *r, pt_optim_kind kind, size_t n, float p0)
{
    memset(r, 0, sizeof *r);
    pt_optim_config_default(kind, &r->cfg);
    r->n = n;
    for (size_t i = 0; i < n; i++)
        r->params[i] = p0;
    pt_error err;
    cr_assert_eq(pt_optim_state_init(&r->st, kind, n, r->state, &err), PT_OK, "%s", err.msg);
}

/* One step with the same gradient g for every parameter. */
static void rig_step(rig *r, float g, const uint8_t *mask, double lr)
{
    float grads[8];
    for (size_t i = 0; i < r->n; i++)
        grads[i] = g;
    pt_error err;
    int rc = pt_optim_step(&r->cfg, &r->st, r->params, grads, mask, r->n, lr, &err);
    cr_assert_eq(rc, PT_OK, "%s", err.msg);
}

/* ---- names and sizes ---- */

Test(optim, names_round_trip_and_unknown_names_are_rejected)
{
    for (int k = 0; k < PT_OPTIM_COUNT; k++) {
        pt_optim_kind kind;
        cr_assert_eq(pt_optim_parse(pt_optim_name((pt_optim_kind)k), &kind), PT_OK);
        cr_assert_eq((int)kind, k);
    }
    cr_assert_str_eq(pt_optim_name(PT_OPTIM_SGD), "sgd");
    cr_assert_str_eq(pt_optim_name(PT_OPTIM_ADAMW), "adamw");
    cr_assert_null(pt_optim_name(PT_OPTIM_COUNT));
    pt_optim_kind kind = PT_OPTIM_SGD;
    cr_assert_eq(pt_optim_parse("adam", &kind), PT_ERR_INVALID);
    cr_assert_eq(pt_optim_parse("SGD", &kind), PT_ERR_INVALID);
    cr_assert_eq(pt_optim_parse("", &kind), PT_ERR_INVALID);
    cr_assert_eq(pt_optim_parse(NULL, &kind), PT_ERR_INVALID);
    cr_assert_eq(kind, PT_OPTIM_SGD, "a failed parse must leave the output alone");

    for (int k = 0; k < PT_LR_COUNT; k++) {
        pt_lr_kind lk;
        cr_assert_eq(pt_lr_parse(pt_lr_name((pt_lr_kind)k), &lk), PT_OK);
        cr_assert_eq((int)lk, k);
    }
    cr_assert_str_eq(pt_lr_name(PT_LR_CONSTANT), "constant");
    cr_assert_str_eq(pt_lr_name(PT_LR_COSINE), "cosine");
    cr_assert_str_eq(pt_lr_name(PT_LR_STEP), "step");
    cr_assert_null(pt_lr_name(PT_LR_COUNT));
    pt_lr_kind lk;
    cr_assert_eq(pt_lr_parse("linear", &lk), PT_ERR_INVALID);
    cr_assert_eq(pt_lr_parse(NULL, &lk), PT_ERR_INVALID);
}

Test(optim, state_sizes_and_buffer_names)
{
    cr_assert_eq(pt_optim_state_floats(PT_OPTIM_SGD, 1000), 1000);
    cr_assert_eq(pt_optim_state_floats(PT_OPTIM_ADAMW, 1000), 2000);
    cr_assert_eq(pt_optim_state_floats(PT_OPTIM_COUNT, 1000), 0);
    cr_assert_eq(pt_optim_state_buffers(PT_OPTIM_SGD), 1);
    cr_assert_eq(pt_optim_state_buffers(PT_OPTIM_ADAMW), 2);
    cr_assert_str_eq(pt_optim_state_buffer_name(PT_OPTIM_SGD, 0), "momentum");
    cr_assert_null(pt_optim_state_buffer_name(PT_OPTIM_SGD, 1));
    cr_assert_str_eq(pt_optim_state_buffer_name(PT_OPTIM_ADAMW, 0), "exp_avg");
    cr_assert_str_eq(pt_optim_state_buffer_name(PT_OPTIM_ADAMW, 1), "exp_avg_sq");
    cr_assert_null(pt_optim_state_buffer_name(PT_OPTIM_ADAMW, 2));
}

Test(optim, defaults_are_pytorchs)
{
    pt_optim_config c;
    pt_optim_config_default(PT_OPTIM_ADAMW, &c);
    cr_assert_eq(c.kind, PT_OPTIM_ADAMW);
    cr_assert_float_eq(c.beta1, 0.9, 1e-15);
    cr_assert_float_eq(c.beta2, 0.999, 1e-15);
    cr_assert_float_eq(c.eps, 1e-8, 1e-20);
    cr_assert_float_eq(c.weight_decay, 0.01, 1e-15);
    pt_optim_config_default(PT_OPTIM_SGD, &c);
    cr_assert_eq(c.kind, PT_OPTIM_SGD);
    cr_assert_eq(c.momentum, 0.0);
    cr_assert_eq(c.dampening, 0.0);
    cr_assert_eq(c.weight_decay, 0.0);
    cr_assert_eq(c.nesterov, 0);
}

/* ---- SGD ---- */

Test(sgd, plain_sgd_with_coupled_weight_decay)
{
    rig r;
    rig_init(&r, PT_OPTIM_SGD, 1, 1.0f);
    r.cfg.weight_decay = 0.2;
    /* step 1: g = 0.5 + 0.2 * 1    = 0.7;   p = 1 - 0.1 * 0.7      = 0.93
     * step 2: g = 0.5 + 0.2 * 0.93 = 0.686; p = 0.93 - 0.1 * 0.686 = 0.8614 */
    rig_step(&r, 0.5f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.93, TOL);
    rig_step(&r, 0.5f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.8614, TOL);
    cr_assert_eq(r.st.step, 2);
}

Test(sgd, momentum_starts_from_the_first_gradient)
{
    rig r;
    rig_init(&r, PT_OPTIM_SGD, 1, 1.0f);
    r.cfg.momentum = 0.9;
    /* lr 0.1, gradients 1, 2, -1:
     * step 1: buf = g = 1 (not 0.9*0 + 1, which is the same here; see the dampening test);
     *         p = 1 - 0.1 * 1 = 0.9
     * step 2: buf = 0.9 * 1 + 2 = 2.9;            p = 0.9 - 0.29   = 0.61
     * step 3: buf = 0.9 * 2.9 - 1 = 1.61;         p = 0.61 - 0.161 = 0.449 */
    rig_step(&r, 1.0f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.9, TOL);
    cr_assert_float_eq(r.state[0], 1.0, TOL);
    rig_step(&r, 2.0f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.61, TOL);
    cr_assert_float_eq(r.state[0], 2.9, TOL);
    rig_step(&r, -1.0f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.449, TOL);
    cr_assert_float_eq(r.state[0], 1.61, TOL);
}

Test(sgd, dampening_is_not_applied_on_the_first_step)
{
    rig r;
    rig_init(&r, PT_OPTIM_SGD, 1, 1.0f);
    r.cfg.momentum = 0.9;
    r.cfg.dampening = 0.5;
    /* step 1: buf = g = 1 (PyTorch copies the first gradient; a zero-started buffer would give
     *         0.5 and p = 0.95);                  p = 1 - 0.1 * 1 = 0.9
     * step 2: buf = 0.9 * 1 + (1 - 0.5) * 2 = 1.9; p = 0.9 - 0.19 = 0.71 */
    rig_step(&r, 1.0f, NULL, 0.1);
    cr_assert_float_eq(r.state[0], 1.0, TOL);
    cr_assert_float_eq(r.params[0], 0.9, TOL);
    rig_step(&r, 2.0f, NULL, 0.1);
    cr_assert_float_eq(r.state[0], 1.9, TOL);
    cr_assert_float_eq(r.params[0], 0.71, TOL);
}

Test(sgd, nesterov_looks_ahead)
{
    rig r;
    rig_init(&r, PT_OPTIM_SGD, 1, 1.0f);
    r.cfg.momentum = 0.9;
    r.cfg.nesterov = 1;
    /* step 1: buf = 1;               g = 1 + 0.9 * 1   = 1.9;  p = 1 - 0.19     = 0.81
     * step 2: buf = 0.9 * 1 + 2 = 2.9; g = 2 + 0.9 * 2.9 = 4.61; p = 0.81 - 0.461 = 0.349 */
    rig_step(&r, 1.0f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.81, TOL);
    rig_step(&r, 2.0f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.349, TOL);
    cr_assert_float_eq(r.state[0], 2.9, TOL);
}

Test(sgd, weight_decay_enters_the_momentum_buffer_and_respects_the_mask)
{
    rig r;
    rig_init(&r, PT_OPTIM_SGD, 2, 1.0f);
    r.cfg.momentum = 0.9;
    r.cfg.weight_decay = 0.1;
    const uint8_t mask[2] = {1, 0};
    /* decayed, lr 0.1, grad 0.5:
     *   step 1: g = 0.5 + 0.1 * 1 = 0.6;      buf = 0.6;            p = 1 - 0.06 = 0.94
     *   step 2: g = 0.5 + 0.1 * 0.94 = 0.594; buf = 0.54 + 0.594 = 1.134;
     *                                         p = 0.94 - 0.1134 = 0.8266
     * exempt (mask 0):
     *   step 1: g = 0.5; buf = 0.5;               p = 0.95
     *   step 2: g = 0.5; buf = 0.45 + 0.5 = 0.95; p = 0.95 - 0.095 = 0.855 */
    rig_step(&r, 0.5f, mask, 0.1);
    cr_assert_float_eq(r.params[0], 0.94, TOL);
    cr_assert_float_eq(r.params[1], 0.95, TOL);
    rig_step(&r, 0.5f, mask, 0.1);
    cr_assert_float_eq(r.params[0], 0.8266, TOL);
    cr_assert_float_eq(r.state[0], 1.134, TOL);
    cr_assert_float_eq(r.params[1], 0.855, TOL);
    cr_assert_float_eq(r.state[1], 0.95, TOL);

    /* NULL mask: both decay, both follow the first column. */
    rig_init(&r, PT_OPTIM_SGD, 2, 1.0f);
    r.cfg.momentum = 0.9;
    r.cfg.weight_decay = 0.1;
    rig_step(&r, 0.5f, NULL, 0.1);
    rig_step(&r, 0.5f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.8266, TOL);
    cr_assert_float_eq(r.params[1], 0.8266, TOL);
}

/* ---- AdamW ---- */

Test(adamw, bias_corrected_steps)
{
    rig r;
    rig_init(&r, PT_OPTIM_ADAMW, 1, 1.0f);
    r.cfg.weight_decay = 0;
    /* b1 0.9, b2 0.999, eps 1e-8, lr 0.1, gradients 0.5, -0.25, 1:
     * t=1: m = 0.1 * 0.5 = 0.05; v = 0.001 * 0.25 = 0.00025
     *      m_hat = 0.05 / 0.1 = 0.5; v_hat = 0.00025 / 0.001 = 0.25; sqrt = 0.5
     *      p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
     *      (without bias correction: 1 - 0.1 * 0.05 / 0.0158 = 0.684)
     * t=2: m = 0.045 - 0.025 = 0.02; v = 0.00024975 + 0.0000625 = 0.00031225
     *      m_hat = 0.02 / 0.19 = 0.1052632; v_hat = 0.00031225 / 0.001999 = 0.1562031
     *      p = 0.9 - 0.1 * 0.1052632 / 0.3952254 = 0.8733663
     * t=3: m = 0.018 + 0.1 = 0.118; v = 0.000311938 + 0.001 = 0.001311938
     *      m_hat = 0.118 / 0.271 = 0.4354244; v_hat = 0.001311938 / 0.002997001 = 0.4377502
     *      p = 0.8733663 - 0.1 * 0.4354244 / 0.6616269 = 0.8075551 */
    rig_step(&r, 0.5f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.900000002, TOL);
    cr_assert_float_eq(r.state[0], 0.05, 1e-8);
    cr_assert_float_eq(r.state[1], 0.00025, 1e-10);
    rig_step(&r, -0.25f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.8733663, TOL);
    cr_assert_float_eq(r.state[0], 0.02, 1e-8);
    cr_assert_float_eq(r.state[1], 0.00031225, 1e-10);
    rig_step(&r, 1.0f, NULL, 0.1);
    cr_assert_float_eq(r.params[0], 0.8075551, TOL);
    cr_assert_eq(r.st.step, 3);
}

Test(adamw, weight_decay_is_decoupled_from_the_gradient)
{
    rig r;
    rig_init(&r, PT_OPTIM_ADAMW, 2, 1.0f);
    r.cfg.weight_decay = 0.1;
    const uint8_t mask[2] = {1, 0};
    /* Zero gradient: m = v = 0 so the Adam term is 0 / (0 + eps) = 0, and only the decay acts:
     *   decayed: p = 1 * (1 - 0.1 * 0.1) = 0.99, then 0.99 * 0.99 = 0.9801
     *   exempt:  stays exactly 1
     * Coupled L2 (Adam with weight_decay) would feed 0.1 * p into the gradient, and Adam's
     * normalisation would turn it into a full lr-sized step: p ~ 0.9 after step 1. */
    rig_step(&r, 0.0f, mask, 0.1);
    cr_assert_float_eq(r.params[0], 0.99, TOL);
    cr_assert_eq(r.params[1], 1.0f);
    rig_step(&r, 0.0f, mask, 0.1);
    cr_assert_float_eq(r.params[0], 0.9801, TOL);
    cr_assert_eq(r.params[1], 1.0f);
    cr_assert_eq(r.state[0], 0.0f, "the decay must not reach the moments");
    cr_assert_eq(r.state[2], 0.0f);
}

Test(adamw, decay_then_adam_step)
{
    rig r;
    rig_init(&r, PT_OPTIM_ADAMW, 2, 1.0f);
    r.cfg.weight_decay = 0.1;
    const uint8_t mask[2] = {1, 0};
    /* grad 0.5 every step, lr 0.1: m_hat = 0.5 and v_hat = 0.25 at every t (constant gradient),
     * so the Adam term is 0.1 * 0.5 / (0.5 + 1e-8) = 0.1 (minus 2e-9) each step.
     *   decayed: t=1: 1 * 0.99 - 0.1 = 0.89;  t=2: 0.89 * 0.99 - 0.1 = 0.7811
     *   exempt:  t=1: 1 - 0.1 = 0.9;          t=2: 0.8 */
    rig_step(&r, 0.5f, mask, 0.1);
    cr_assert_float_eq(r.params[0], 0.89, TOL);
    cr_assert_float_eq(r.params[1], 0.9, TOL);
    rig_step(&r, 0.5f, mask, 0.1);
    cr_assert_float_eq(r.params[0], 0.7811, TOL);
    cr_assert_float_eq(r.params[1], 0.8, TOL);
}

/* ---- errors ---- */

Test(optim, bad_configurations_and_mismatches_change_nothing)
{
    rig r;
    rig_init(&r, PT_OPTIM_SGD, 2, 1.0f);
    float grads[2] = {1, 1};
    pt_error err;

    r.cfg.nesterov = 1; /* momentum 0: PyTorch refuses this */
    cr_assert_eq(pt_optim_step(&r.cfg, &r.st, r.params, grads, NULL, 2, 0.1, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "nesterov") != NULL, "%s", err.msg);
    r.cfg.momentum = 0.9;
    r.cfg.dampening = 0.1;
    cr_assert_eq(pt_optim_config_check(&r.cfg, &err), PT_ERR_INVALID);
    r.cfg.dampening = 0;
    cr_assert_eq(pt_optim_config_check(&r.cfg, &err), PT_OK);

    cr_assert_eq(pt_optim_step(&r.cfg, &r.st, r.params, grads, NULL, 1, 0.1, &err), PT_ERR_INVALID,
                 "n must match the state");
    cr_assert_eq(pt_optim_step(&r.cfg, &r.st, r.params, grads, NULL, 2, -0.1, &err),
                 PT_ERR_INVALID);
    cr_assert_eq(pt_optim_step(&r.cfg, &r.st, r.params, grads, NULL, 2, NAN, &err), PT_ERR_INVALID);
    pt_optim_config adam;
    pt_optim_config_default(PT_OPTIM_ADAMW, &adam);
    cr_assert_eq(pt_optim_step(&adam, &r.st, r.params, grads, NULL, 2, 0.1, &err), PT_ERR_INVALID,
                 "an AdamW config on SGD state must be refused");
    cr_assert(strstr(err.msg, "sgd") != NULL, "%s", err.msg);
    adam.beta2 = 1.0;
    cr_assert_eq(pt_optim_config_check(&adam, &err), PT_ERR_INVALID);

    cr_assert_eq(r.params[0], 1.0f);
    cr_assert_eq(r.params[1], 1.0f);
    cr_assert_eq(r.st.step, 0);
    cr_assert_eq(r.state[0], 0.0f);

    cr_assert_eq(pt_optim_state_init(&r.st, PT_OPTIM_ADAMW, 4, NULL, &err), PT_ERR_INVALID);
}

/* ---- resume: the checkpoint contract ---- */

enum { RESUME_N = 1003, RESUME_STEPS = 12, RESUME_AT = 5 };

/* Deterministic gradients that depend only on (step, index), as a real run's would depend only
 * on the data. */
static void make_grads(float *g, size_t n, int64_t step)
{
    pt_rng rng;
    pt_rng_init(&rng, 1234, (uint64_t)step);
    for (size_t i = 0; i < n; i++)
        g[i] = (float)pt_rng_normal(&rng);
}

static void run_steps(const pt_optim_config *cfg, const pt_lr_schedule *sched, pt_optim_state *st,
                      float *params, const uint8_t *mask, int64_t until)
{
    float *g = malloc(RESUME_N * sizeof *g);
    cr_assert_not_null(g);
    pt_error err;
    while (st->step < until) {
        make_grads(g, RESUME_N, st->step);
        double lr = pt_lr_at(sched, st->step);
        cr_assert_eq(pt_optim_step(cfg, st, params, g, mask, RESUME_N, lr, &err), PT_OK, "%s",
                     err.msg);
    }
    free(g);
}

static void check_resume_is_bit_identical(const pt_optim_config *cfg)
{
    pt_error err;
    pt_lr_schedule sched;
    pt_lr_schedule_default(&sched, 0.05);
    sched.kind = PT_LR_COSINE;
    sched.warmup_steps = 3;
    sched.total_steps = RESUME_STEPS;
    cr_assert_eq(pt_lr_schedule_check(&sched, &err), PT_OK, "%s", err.msg);

    size_t sf = pt_optim_state_floats(cfg->kind, RESUME_N);
    float *p_ref = malloc(RESUME_N * sizeof(float));
    float *p_run = malloc(RESUME_N * sizeof(float));
    float *s_ref = malloc(sf * sizeof(float));
    float *s_run = malloc(sf * sizeof(float));
    float *s_new = malloc(sf * sizeof(float));
    uint8_t *mask = malloc(RESUME_N);
    cr_assert(p_ref && p_run && s_ref && s_run && s_new && mask);
    pt_rng rng;
    pt_rng_init(&rng, 99, 0);
    for (size_t i = 0; i < RESUME_N; i++) {
        p_ref[i] = p_run[i] = (float)pt_rng_normal(&rng);
        mask[i] = i % 7 != 0; /* every seventh exempt, like biases */
    }

    /* Uninterrupted. */
    pt_optim_state ref;
    cr_assert_eq(pt_optim_state_init(&ref, cfg->kind, RESUME_N, s_ref, &err), PT_OK);
    run_steps(cfg, &sched, &ref, p_ref, mask, RESUME_STEPS);

    /* Stopped after RESUME_AT steps: the checkpoint is the step count and the state floats. */
    pt_optim_state run;
    cr_assert_eq(pt_optim_state_init(&run, cfg->kind, RESUME_N, s_run, &err), PT_OK);
    run_steps(cfg, &sched, &run, p_run, mask, RESUME_AT);
    int64_t saved_step = run.step;
    size_t bytes = sf * sizeof(float);
    unsigned char *saved = malloc(bytes);
    cr_assert_not_null(saved);
    memcpy(saved, run.buf, bytes);
    memset(s_run, 0xA5, bytes); /* the old process is gone */

    /* A new process: fresh state in a different buffer, then the saved values. */
    memset(s_new, 0x5A, bytes);
    pt_optim_state resumed;
    cr_assert_eq(pt_optim_state_init(&resumed, cfg->kind, RESUME_N, s_new, &err), PT_OK);
    resumed.step = saved_step;
    memcpy(resumed.buf, saved, bytes);
    run_steps(cfg, &sched, &resumed, p_run, mask, RESUME_STEPS);

    cr_assert_eq(resumed.step, ref.step);
    cr_assert_eq(memcmp(p_run, p_ref, RESUME_N * sizeof(float)), 0,
                 "%s: resumed parameters differ from the uninterrupted run",
                 pt_optim_name(cfg->kind));
    cr_assert_eq(memcmp(s_new, s_ref, bytes), 0, "%s: resumed state differs",
                 pt_optim_name(cfg->kind));

    free(saved);
    free(p_ref);
    free(p_run);
    free(s_ref);
    free(s_run);
    free(s_new);
    free(mask);
}

Test(resume, sgd_nesterov_continues_bit_identically)
{
    pt_optim_config cfg;
    pt_optim_config_default(PT_OPTIM_SGD, &cfg);
    cfg.momentum = 0.9;
    cfg.nesterov = 1;
    cfg.weight_decay = 5e-4;
    check_resume_is_bit_identical(&cfg);
}

Test(resume, adamw_continues_bit_identically)
{
    pt_optim_config cfg;
    pt_optim_config_default(PT_OPTIM_ADAMW, &cfg);
    check_resume_is_bit_identical(&cfg);
}

Test(resume, adamw_step_count_matters)
{
    /* The bias corrections read the step count: restoring the moments but not the step must give
     * a different update, or the checkpoint would not need to store it. */
    rig a, b;
    rig_init(&a, PT_OPTIM_ADAMW, 1, 1.0f);
    rig_step(&a, 0.5f, NULL, 0.1);
    b = a;
    b.st.buf = b.state;
    b.st.step = 0;
    rig_step(&a, 0.3f, NULL, 0.1);
    rig_step(&b, 0.3f, NULL, 0.1);
    cr_assert(fabsf(a.params[0] - b.params[0]) > 1e-3, "%g vs %g", a.params[0], b.params[0]);
}

/* ---- ranges: the update shared out among ranks (dist/shard.h) ---- */

/* Ranks that each update their own range of the parameters, in turn, one state step per round,
 * end with the bits of one process updating them all, and a range leaves everything outside it
 * alone. Uneven cuts (not at multiples of 16) and 3 threads inside each range. */
static void check_ranges_compose(pt_optim_kind kind)
{
    enum { STEPS = 4 };
    static const size_t cuts[] = {0, 37, 38, 500, RESUME_N};
    const int parts = (int)(sizeof cuts / sizeof cuts[0]) - 1;
    pt_error err;
    pt_optim_config cfg;
    pt_optim_config_default(kind, &cfg);
    cfg.weight_decay = 1e-2;
    if (kind == PT_OPTIM_SGD)
        cfg.momentum = 0.9;
    cfg.threads = 3;
    size_t sf = pt_optim_state_floats(kind, RESUME_N);
    float *p_one = malloc(RESUME_N * sizeof(float)), *p_parts = malloc(RESUME_N * sizeof(float));
    float *s_one = malloc(sf * sizeof(float)), *s_parts = malloc(sf * sizeof(float));
    float *g = malloc(RESUME_N * sizeof(float)), *before = malloc(RESUME_N * sizeof(float));
    uint8_t *mask = malloc(RESUME_N);
    cr_assert(p_one && p_parts && s_one && s_parts && g && before && mask);
    pt_rng rng;
    pt_rng_init(&rng, 5, 0);
    for (size_t i = 0; i < RESUME_N; i++) {
        p_one[i] = p_parts[i] = (float)pt_rng_normal(&rng);
        mask[i] = i % 5 != 0;
    }
    pt_optim_state one, shared;
    cr_assert_eq(pt_optim_state_init(&one, kind, RESUME_N, s_one, &err), PT_OK);
    cr_assert_eq(pt_optim_state_init(&shared, kind, RESUME_N, s_parts, &err), PT_OK);
    for (int step = 0; step < STEPS; step++) {
        make_grads(g, RESUME_N, step);
        cr_assert_eq(pt_optim_step(&cfg, &one, p_one, g, mask, RESUME_N, 0.05, &err), PT_OK);
        int64_t step_before = shared.step;
        for (int r = 0; r < parts; r++) {
            memcpy(before, p_parts, RESUME_N * sizeof(float));
            shared.step = step_before; /* each rank's own copy of the count */
            cr_assert_eq(pt_optim_step_range(&cfg, &shared, p_parts, g, mask, RESUME_N, cuts[r],
                                             cuts[r + 1], 0.05, &err),
                         PT_OK, "%s", err.msg);
            cr_assert_eq(memcmp(before, p_parts, cuts[r] * sizeof(float)), 0,
                         "range %d wrote before its start", r);
            cr_assert_eq(memcmp(before + cuts[r + 1], p_parts + cuts[r + 1],
                                (RESUME_N - cuts[r + 1]) * sizeof(float)),
                         0, "range %d wrote after its end", r);
        }
        cr_assert_eq(shared.step, one.step);
    }
    cr_assert_eq(memcmp(p_one, p_parts, RESUME_N * sizeof(float)), 0,
                 "%s: the ranges' parameters differ from one whole step's", pt_optim_name(kind));
    cr_assert_eq(memcmp(s_one, s_parts, sf * sizeof(float)), 0,
                 "%s: the ranges' state differs from one whole step's", pt_optim_name(kind));
    free(p_one);
    free(p_parts);
    free(s_one);
    free(s_parts);
    free(g);
    free(before);
    free(mask);
}

Test(ranges, sgd_ranges_compose_to_one_step)
{
    check_ranges_compose(PT_OPTIM_SGD);
}

Test(ranges, adamw_ranges_compose_to_one_step)
{
    check_ranges_compose(PT_OPTIM_ADAMW);
}

Test(ranges, a_range_outside_the_parameters_is_refused)
{
    rig r;
    rig_init(&r, PT_OPTIM_SGD, 4, 1.0f);
    float g[4] = {1, 1, 1, 1};
    pt_error err;
    cr_assert_eq(pt_optim_step_range(&r.cfg, &r.st, r.params, g, NULL, 4, 2, 5, 0.1, &err),
                 PT_ERR_INVALID);
    cr_assert_eq(pt_optim_step_range(&r.cfg, &r.st, r.params, g, NULL, 4, 3, 2, 0.1, &err),
                 PT_ERR_INVALID);
    cr_assert_eq(r.params[0], 1.0f);
    cr_assert_eq(r.st.step, 0);
}

/* ---- schedules ---- */

Test(schedule, constant_with_warmup)
{
    pt_lr_schedule s;
    pt_lr_schedule_default(&s, 0.1);
    pt_error err;
    cr_assert_eq(pt_lr_schedule_check(&s, &err), PT_OK, "%s", err.msg);
    cr_assert_float_eq(pt_lr_at(&s, 0), 0.1, 1e-15, "no warmup: base from the start");
    cr_assert_float_eq(pt_lr_at(&s, 1000000), 0.1, 1e-15);

    s.warmup_steps = 10;
    s.warmup_start_factor = 0.1;
    /* step 0: 0.1 * 0.1 = 0.01; step 5: 0.1 * (0.1 + 0.9 * 5/10) = 0.055; step 9: 0.1 * 0.91;
     * step 10 and on: 0.1. Negative steps count as 0. */
    cr_assert_float_eq(pt_lr_at(&s, 0), 0.01, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, -3), 0.01, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 5), 0.055, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 9), 0.091, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 10), 0.1, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 11), 0.1, 1e-15);
}

Test(schedule, cosine_after_warmup)
{
    pt_lr_schedule s;
    pt_lr_schedule_default(&s, 0.1);
    s.kind = PT_LR_COSINE;
    s.warmup_steps = 10;
    s.total_steps = 110;
    pt_error err;
    cr_assert_eq(pt_lr_schedule_check(&s, &err), PT_OK, "%s", err.msg);
    /* Decay over u = step - 10 in [0, 100]:
     *   step 10 (u=0):    0.1
     *   step 35 (u=25):   0.1 * (1 + cos(pi/4)) / 2 = 0.0853553
     *   step 60 (u=50):   0.1 * (1 + cos(pi/2)) / 2 = 0.05
     *   step 110 (u=100): 0, and 0 beyond */
    cr_assert_float_eq(pt_lr_at(&s, 0), 0.01, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 10), 0.1, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 35), 0.0853553390593274, 1e-12);
    cr_assert_float_eq(pt_lr_at(&s, 60), 0.05, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 110), 0.0, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 500), 0.0, 1e-15);
    cr_assert(pt_lr_at(&s, 109) > 0 && pt_lr_at(&s, 109) < 1e-4);

    /* With a floor: midpoint 0.01 + 0.09 / 2 = 0.055, end 0.01. */
    s.min_lr = 0.01;
    cr_assert_float_eq(pt_lr_at(&s, 60), 0.055, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 110), 0.01, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 111), 0.01, 1e-15);

    /* Monotone non-increasing after warmup. */
    for (int64_t t = 11; t <= 120; t++)
        cr_assert_leq(pt_lr_at(&s, t), pt_lr_at(&s, t - 1), "step %lld", (long long)t);

    s.total_steps = 10;
    cr_assert_eq(pt_lr_schedule_check(&s, &err), PT_ERR_INVALID, "total must exceed warmup");
    s.total_steps = 110;
    s.min_lr = 0.2;
    cr_assert_eq(pt_lr_schedule_check(&s, &err), PT_ERR_INVALID, "floor above base");
}

Test(schedule, step_decay_after_warmup)
{
    pt_lr_schedule s;
    pt_lr_schedule_default(&s, 0.1);
    s.kind = PT_LR_STEP;
    s.warmup_steps = 5;
    s.step_size = 30;
    s.gamma = 0.1;
    pt_error err;
    cr_assert_eq(pt_lr_schedule_check(&s, &err), PT_OK, "%s", err.msg);
    /* Intervals count from the end of warmup: [5, 35) 0.1, [35, 65) 0.01, [65, 95) 0.001. */
    cr_assert_float_eq(pt_lr_at(&s, 0), 0.01, 1e-15, "warmup start");
    cr_assert_float_eq(pt_lr_at(&s, 5), 0.1, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 34), 0.1, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 35), 0.01, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 64), 0.01, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 65), 0.001, 1e-15);
    cr_assert_float_eq(pt_lr_at(&s, 95), 0.0001, 1e-15);

    s.step_size = 0;
    cr_assert_eq(pt_lr_schedule_check(&s, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "step size") != NULL, "%s", err.msg);
    s.step_size = 30;
    s.gamma = 0;
    cr_assert_eq(pt_lr_schedule_check(&s, &err), PT_ERR_INVALID);
    s.gamma = 0.1;
    s.warmup_start_factor = 1.5;
    cr_assert_eq(pt_lr_schedule_check(&s, &err), PT_ERR_INVALID);
}
