/* Optimizers and learning-rate schedules: flat loops over the trainer's one parameter buffer.
 *
 * The loops (optim_kernels.c, one per instruction set) keep per-element arithmetic in float with
 * float scalars, so they vectorise and give the same bits on every rank, path and resume; anything
 * computed once per step (bias corrections, 1 - lr * wd) is done in double first, as PyTorch does
 * with its Python floats. */
#include "ptrain/optim.h"

#include <math.h>
#include <string.h>

#include "optim_kernels.h"
#include "ptrain/threads.h"

static const char *const optim_names[] = {"sgd", "adamw"};
_Static_assert(sizeof optim_names / sizeof optim_names[0] == PT_OPTIM_COUNT,
               "optim_names must name every pt_optim_kind");

static const int optim_buffers[] = {1, 2};
_Static_assert(sizeof optim_buffers / sizeof optim_buffers[0] == PT_OPTIM_COUNT,
               "optim_buffers must size every pt_optim_kind");

/* M_PI is POSIX, not C11. */
#define PT_PI 3.14159265358979323846

static const char *const lr_names[] = {"constant", "cosine", "step"};
_Static_assert(sizeof lr_names / sizeof lr_names[0] == PT_LR_COUNT,
               "lr_names must name every pt_lr_kind");

static int optim_kind_valid(pt_optim_kind kind)
{
    return (int)kind >= 0 && kind < PT_OPTIM_COUNT;
}

const char *pt_optim_name(pt_optim_kind kind)
{
    return optim_kind_valid(kind) ? optim_names[kind] : NULL;
}

int pt_optim_parse(const char *name, pt_optim_kind *kind)
{
    if (!name)
        return PT_ERR_INVALID;
    for (int i = 0; i < PT_OPTIM_COUNT; i++) {
        if (strcmp(name, optim_names[i]) == 0) {
            *kind = (pt_optim_kind)i;
            return PT_OK;
        }
    }
    return PT_ERR_INVALID;
}

void pt_optim_config_default(pt_optim_kind kind, pt_optim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->threads = 1;
    /* AdamW's decay is decoupled and multiplied by lr, so PyTorch gives it a non-zero default;
     * SGD's L2 term has none. */
    cfg->weight_decay = kind == PT_OPTIM_ADAMW ? 0.01 : 0.0;
}

int pt_optim_config_check(const pt_optim_config *cfg, pt_error *err)
{
    if (!optim_kind_valid(cfg->kind))
        return pt_error_set(err, PT_ERR_INVALID, "optimizer: unknown kind %d", (int)cfg->kind);
    const char *name = optim_names[cfg->kind];
    if (!isfinite(cfg->weight_decay) || cfg->weight_decay < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: weight decay %g must be >= 0", name,
                            cfg->weight_decay);
    if (cfg->kind == PT_OPTIM_SGD) {
        if (!isfinite(cfg->momentum) || cfg->momentum < 0)
            return pt_error_set(err, PT_ERR_INVALID, "sgd: momentum %g must be >= 0",
                                cfg->momentum);
        if (!isfinite(cfg->dampening) || cfg->dampening < 0 || cfg->dampening > 1)
            return pt_error_set(err, PT_ERR_INVALID, "sgd: dampening %g must be in [0, 1]",
                                cfg->dampening);
        if (cfg->nesterov && (cfg->momentum <= 0 || cfg->dampening != 0))
            return pt_error_set(err, PT_ERR_INVALID,
                                "sgd: nesterov needs momentum > 0 and dampening 0 "
                                "(momentum %g, dampening %g)",
                                cfg->momentum, cfg->dampening);
    } else {
        if (!(cfg->beta1 >= 0 && cfg->beta1 < 1))
            return pt_error_set(err, PT_ERR_INVALID, "adamw: beta1 %g must be in [0, 1)",
                                cfg->beta1);
        if (!(cfg->beta2 >= 0 && cfg->beta2 < 1))
            return pt_error_set(err, PT_ERR_INVALID, "adamw: beta2 %g must be in [0, 1)",
                                cfg->beta2);
        if (!isfinite(cfg->eps) || cfg->eps < 0)
            return pt_error_set(err, PT_ERR_INVALID, "adamw: eps %g must be >= 0", cfg->eps);
    }
    return PT_OK;
}

int pt_optim_state_buffers(pt_optim_kind kind)
{
    return optim_kind_valid(kind) ? optim_buffers[kind] : 0;
}

const char *pt_optim_state_buffer_name(pt_optim_kind kind, int i)
{
    if (kind == PT_OPTIM_SGD && i == 0)
        return "momentum";
    if (kind == PT_OPTIM_ADAMW && i == 0)
        return "exp_avg";
    if (kind == PT_OPTIM_ADAMW && i == 1)
        return "exp_avg_sq";
    return NULL;
}

size_t pt_optim_state_floats(pt_optim_kind kind, size_t n)
{
    return (size_t)pt_optim_state_buffers(kind) * n;
}

int pt_optim_state_init(pt_optim_state *state, pt_optim_kind kind, size_t n, float *buf,
                        pt_error *err)
{
    if (!optim_kind_valid(kind))
        return pt_error_set(err, PT_ERR_INVALID, "optimizer: unknown kind %d", (int)kind);
    if (!buf && n > 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: no state buffer for %zu parameters",
                            optim_names[kind], n);
    state->kind = kind;
    state->n = n;
    state->step = 0;
    state->buf = buf;
    if (n > 0)
        memset(buf, 0, pt_optim_state_floats(kind, n) * sizeof *buf);
    return PT_OK;
}

static pt_sgd_scalars sgd_scalars(const pt_optim_config *cfg, int first, double lr)
{
    return (pt_sgd_scalars){.weight_decay = (float)cfg->weight_decay,
                            .momentum = (float)cfg->momentum,
                            .keep = (float)(1.0 - cfg->dampening),
                            .rate = (float)lr,
                            .use_momentum = cfg->momentum != 0,
                            .nesterov = cfg->nesterov,
                            .first = first};
}

/* PyTorch folds the bias corrections into two scalars rather than forming m_hat and v_hat:
 * step_size = lr / (1 - b1^t) and denominator sqrt(v) / sqrt(1 - b2^t) + eps. */
static pt_adamw_scalars adamw_scalars(const pt_optim_config *cfg, int64_t t, double lr)
{
    return (pt_adamw_scalars){.shrink = (float)(1.0 - lr * cfg->weight_decay),
                              .b1 = (float)cfg->beta1,
                              .b2 = (float)cfg->beta2,
                              .one_b1 = (float)(1.0 - cfg->beta1),
                              .one_b2 = (float)(1.0 - cfg->beta2),
                              .step_size = (float)(lr / (1.0 - pow(cfg->beta1, (double)t))),
                              .bc2_sqrt = (float)sqrt(1.0 - pow(cfg->beta2, (double)t)),
                              .eps = (float)cfg->eps};
}

int pt_optim_step(const pt_optim_config *cfg, pt_optim_state *state, float *params,
                  const float *grads, const uint8_t *decay_mask, size_t n, double lr, pt_error *err)
{
    return pt_optim_step_range(cfg, state, params, grads, decay_mask, n, 0, n, lr, err);
}

/* Where thread k of T starts in parameters [begin, end): at a multiple of 16 floats (whole cache
 * lines, so that no two threads write one line), never outside the range. The update is
 * element-wise, so the cuts never change a bit. */
static size_t thread_cut(size_t begin, size_t end, int k, int T)
{
    if (k == 0)
        return begin;
    if (k == T)
        return end;
    size_t cut = (begin + (size_t)((double)(end - begin) * k / T)) & ~(size_t)15;
    return cut < begin ? begin : cut;
}

int pt_optim_step_range(const pt_optim_config *cfg, pt_optim_state *state, float *params,
                        const float *grads, const uint8_t *decay_mask, size_t n, size_t begin,
                        size_t end, double lr, pt_error *err)
{
    int rc = pt_optim_config_check(cfg, err);
    if (rc != PT_OK)
        return rc;
    const char *name = optim_names[cfg->kind];
    if (cfg->kind != state->kind)
        return pt_error_set(err, PT_ERR_INVALID, "%s: optimizer state belongs to %s", name,
                            pt_optim_name(state->kind) ? pt_optim_name(state->kind) : "?");
    if (n != state->n)
        return pt_error_set(err, PT_ERR_INVALID, "%s: %zu parameters, state holds %zu", name, n,
                            state->n);
    if (!isfinite(lr) || lr < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: learning rate %g must be >= 0", name, lr);
    if (begin > end || end > n)
        return pt_error_set(err, PT_ERR_INVALID, "%s: range [%zu, %zu) of %zu parameters", name,
                            begin, end, n);
    if (state->step < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: negative step count %lld", name,
                            (long long)state->step);

    const pt_optim_kernels *kern = PT_KERNELS_ACTIVE(pt_optim_kernels);
    const pt_sgd_scalars sgd = sgd_scalars(cfg, state->step == 0, lr);
    const pt_adamw_scalars adamw = adamw_scalars(cfg, state->step + 1, lr);
    const int T = cfg->threads > 1 ? cfg->threads : 1;
    PT_OMP(omp parallel num_threads(T) if (T > 1))
    PT_FOR_MY_SLICES(k, T)
    {
        const size_t i0 = thread_cut(begin, end, k, T), i1 = thread_cut(begin, end, k + 1, T);
        if (i1 <= i0)
            continue;
        const uint8_t *mask = decay_mask ? decay_mask + i0 : NULL;
        if (cfg->kind == PT_OPTIM_SGD)
            kern->sgd(&sgd, params + i0, grads + i0, mask, state->buf + i0, i1 - i0);
        else
            kern->adamw(&adamw, params + i0, grads + i0, mask, state->buf + i0, state->buf + n + i0,
                        i1 - i0);
    }
    state->step++;
    return PT_OK;
}

/* ---- learning-rate schedules ---- */

const char *pt_lr_name(pt_lr_kind kind)
{
    if ((int)kind < 0 || kind >= PT_LR_COUNT)
        return NULL;
    return lr_names[kind];
}

int pt_lr_parse(const char *name, pt_lr_kind *kind)
{
    if (!name)
        return PT_ERR_INVALID;
    for (int i = 0; i < PT_LR_COUNT; i++) {
        if (strcmp(name, lr_names[i]) == 0) {
            *kind = (pt_lr_kind)i;
            return PT_OK;
        }
    }
    return PT_ERR_INVALID;
}

void pt_lr_schedule_default(pt_lr_schedule *s, double base_lr)
{
    memset(s, 0, sizeof *s);
    s->kind = PT_LR_CONSTANT;
    s->base_lr = base_lr;
    s->warmup_start_factor = 0.1;
    s->gamma = 0.1;
}

int pt_lr_schedule_check(const pt_lr_schedule *s, pt_error *err)
{
    if ((int)s->kind < 0 || s->kind >= PT_LR_COUNT)
        return pt_error_set(err, PT_ERR_INVALID, "lr schedule: unknown kind %d", (int)s->kind);
    const char *name = lr_names[s->kind];
    if (!isfinite(s->base_lr) || s->base_lr < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s schedule: learning rate %g must be >= 0", name,
                            s->base_lr);
    if (s->warmup_steps < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s schedule: warmup steps %lld must be >= 0",
                            name, (long long)s->warmup_steps);
    if (s->warmup_steps > 0 && !(s->warmup_start_factor >= 0 && s->warmup_start_factor <= 1))
        return pt_error_set(err, PT_ERR_INVALID,
                            "%s schedule: warmup start factor %g must be in [0, 1]", name,
                            s->warmup_start_factor);
    if (s->kind == PT_LR_COSINE) {
        if (s->total_steps <= s->warmup_steps)
            return pt_error_set(err, PT_ERR_INVALID,
                                "cosine schedule: total steps %lld must exceed warmup steps %lld",
                                (long long)s->total_steps, (long long)s->warmup_steps);
        if (!(s->min_lr >= 0 && s->min_lr <= s->base_lr))
            return pt_error_set(err, PT_ERR_INVALID,
                                "cosine schedule: min lr %g must be in [0, base lr %g]", s->min_lr,
                                s->base_lr);
    }
    if (s->kind == PT_LR_STEP) {
        if (s->step_size <= 0)
            return pt_error_set(err, PT_ERR_INVALID, "step schedule: step size %lld must be > 0",
                                (long long)s->step_size);
        if (!isfinite(s->gamma) || s->gamma <= 0)
            return pt_error_set(err, PT_ERR_INVALID, "step schedule: gamma %g must be > 0",
                                s->gamma);
    }
    return PT_OK;
}

double pt_lr_at(const pt_lr_schedule *s, int64_t step)
{
    if (step < 0)
        step = 0;
    if (step < s->warmup_steps) {
        double f = s->warmup_start_factor;
        return s->base_lr * (f + (1.0 - f) * (double)step / (double)s->warmup_steps);
    }
    int64_t u = step - s->warmup_steps;
    switch (s->kind) {
    case PT_LR_COSINE: {
        int64_t span = s->total_steps - s->warmup_steps;
        if (span <= 0 || u >= span)
            return s->min_lr;
        double c = 0.5 * (1.0 + cos(PT_PI * (double)u / (double)span));
        return s->min_lr + (s->base_lr - s->min_lr) * c;
    }
    case PT_LR_STEP:
        if (s->step_size <= 0)
            return s->base_lr;
        return s->base_lr * pow(s->gamma, (double)(u / s->step_size));
    case PT_LR_CONSTANT:
    default:
        return s->base_lr;
    }
}
