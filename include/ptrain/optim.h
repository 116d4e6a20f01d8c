/* Optimizers (SGD with momentum, AdamW) and learning-rate schedules.
 *
 * All parameters of a network live in one contiguous float buffer and all gradients in another of
 * the same layout, so an optimizer step is one flat loop over n floats. The optimizer's own state
 * (the momentum buffer; AdamW's first and second moments) lives in a caller-owned buffer of
 * pt_optim_state_floats(kind, n) floats, typically a slice of the trainer's big allocation, and is
 * described by pt_optim_state: a checkpoint saves `step` and those floats and restores them
 * bit-exactly, after which training continues exactly as if it had never stopped.
 *
 * The update rules are PyTorch's (torch.optim.SGD and torch.optim.AdamW), so hyperparameters
 * copied from a PyTorch recipe mean the same thing here. Per-element arithmetic is float, the
 * per-step scalars (bias corrections, 1 - lr * wd) are computed in double and rounded once. */
#ifndef PTRAIN_OPTIM_H
#define PTRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

/* ---- optimizers ---- */

typedef enum pt_optim_kind {
    PT_OPTIM_SGD,   /* SGD with (optionally Nesterov) momentum and coupled L2 weight decay */
    PT_OPTIM_ADAMW, /* Adam with decoupled weight decay */
    PT_OPTIM_COUNT
} pt_optim_kind;

/* "sgd", "adamw"; NULL for an out-of-range value. */
const char *pt_optim_name(pt_optim_kind kind);

/* Parses a name as above; returns PT_ERR_INVALID for anything else. */
int pt_optim_parse(const char *name, pt_optim_kind *kind);

typedef struct pt_optim_config {
    pt_optim_kind kind;
    double weight_decay; /* SGD: added to the gradient (L2); AdamW: decoupled, scaled by lr */
    /* SGD */
    double momentum;  /* 0 = plain SGD */
    double dampening; /* PyTorch's dampening; must be 0 with nesterov */
    int nesterov;     /* needs momentum > 0 */
    /* AdamW */
    double beta1;
    double beta2;
    double eps; /* added to sqrt(v_hat), outside the square root as PyTorch does */
    /* threads sharing the update (1 by default): each takes a range of the parameters, and every
     * parameter's update is its own, so the result does not depend on it */
    int threads;
} pt_optim_config;

/* Fills cfg with PyTorch's defaults for kind: SGD momentum 0, dampening 0, no Nesterov, weight
 * decay 0; AdamW betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
void pt_optim_config_default(pt_optim_kind kind, pt_optim_config *cfg);

/* Checks that the hyperparameters are usable (finite, in range, Nesterov with momentum > 0 and
 * zero dampening, as PyTorch requires); the message names the offending one. */
int pt_optim_config_check(const pt_optim_config *cfg, pt_error *err);

/* Number of state buffers of n floats each: 1 for SGD (momentum), 2 for AdamW (m, v); 0 for an
 * out-of-range kind. Buffer i starts at state->buf + i * n. */
int pt_optim_state_buffers(pt_optim_kind kind);

/* Name of state buffer i, for checkpoint datasets: "momentum"; "exp_avg", "exp_avg_sq" (PyTorch's
 * names). NULL when out of range. */
const char *pt_optim_state_buffer_name(pt_optim_kind kind, int i);

/* Floats of optimizer state for n parameters: pt_optim_state_buffers(kind) * n. SGD keeps its
 * buffer even with momentum 0, so the checkpoint layout never depends on a hyperparameter. */
size_t pt_optim_state_floats(pt_optim_kind kind, size_t n);

/* Everything an optimizer carries from step to step. A checkpoint stores kind, n, step and the
 * pt_optim_state_floats(kind, n) floats at buf; restoring them restores the optimizer exactly. */
typedef struct pt_optim_state {
    pt_optim_kind kind;
    size_t n;     /* parameters covered */
    int64_t step; /* updates applied so far; the next update is number step + 1 */
    float *buf;   /* caller-owned, pt_optim_state_floats(kind, n) floats */
} pt_optim_state;

/* Points state at buf (pt_optim_state_floats(kind, n) floats, caller-owned), zeroes it and sets
 * step to 0: a fresh optimizer. To restore from a checkpoint, call this, then overwrite
 * state->step and the floats at state->buf with the saved ones. */
int pt_optim_state_init(pt_optim_state *state, pt_optim_kind kind, size_t n, float *buf,
                        pt_error *err);

/* Applies one update with learning rate lr to params (n floats) from grads (n floats, already
 * averaged over the global batch), and increments state->step.
 *
 * decay_mask: n bytes, 1 = this parameter gets weight decay, 0 = exempt (biases, batch-norm gamma
 * and beta, as recipes commonly configure); NULL = every parameter decays.
 *
 * SGD (torch.optim.SGD):
 *     g = grad + wd * param                                 (coupled L2; mask 0: g = grad)
 *     buf = g on the first step, else momentum * buf + (1 - dampening) * g   (if momentum != 0)
 *     g = nesterov ? g + momentum * buf : buf                                 (if momentum != 0)
 *     param -= lr * g
 * AdamW (torch.optim.AdamW), t = state->step + 1:
 *     param *= 1 - lr * wd                                  (decoupled; mask 0: untouched)
 *     m = b1 * m + (1 - b1) * g;   v = b2 * v + (1 - b2) * g^2
 *     param -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * params, grads, decay_mask and the state buffer must not overlap (the loop is compiled as if they
 * cannot, so that it vectorises).
 *
 * Fails with PT_ERR_INVALID (nothing changed) if cfg does not pass pt_optim_config_check, its kind
 * differs from the state's, n differs from state->n, or lr is negative or not finite. */
int pt_optim_step(const pt_optim_config *cfg, pt_optim_state *state, float *params,
                  const float *grads, const uint8_t *decay_mask, size_t n, double lr,
                  pt_error *err);

/* pt_optim_step on parameters [begin, end) of the n only: params, grads, decay_mask and the state
 * are indexed over all n as there, and nothing outside the range is read or written. Ranks that
 * share out the update (dist/shard.h) each call it on their own range; together they give the
 * bits of one pt_optim_step. state->step still counts one update. PT_ERR_INVALID also for a range
 * outside [0, n). */
int pt_optim_step_range(const pt_optim_config *cfg, pt_optim_state *state, float *params,
                        const float *grads, const uint8_t *decay_mask, size_t n, size_t begin,
                        size_t end, double lr, pt_error *err);

/* ---- learning-rate schedules ---- */

typedef enum pt_lr_kind {
    PT_LR_CONSTANT, /* base_lr after warmup */
    PT_LR_COSINE,   /* half a cosine from base_lr down to min_lr, ending at total_steps */
    PT_LR_STEP,     /* base_lr * gamma^k, k = completed step_size intervals after warmup */
    PT_LR_COUNT
} pt_lr_kind;

/* "constant", "cosine", "step"; NULL for an out-of-range value. */
const char *pt_lr_name(pt_lr_kind kind);

/* Parses a name as above; returns PT_ERR_INVALID for anything else. */
int pt_lr_parse(const char *name, pt_lr_kind *kind);

/* Steps count optimizer updates from 0; pt_lr_at(s, state->step) is the rate for the next update.
 *
 * Warmup (any kind, warmup_steps > 0): for step < warmup_steps the rate rises linearly from
 * warmup_start_factor * base_lr at step 0 to base_lr at step warmup_steps (PyTorch's LinearLR).
 * After warmup, with u = step - warmup_steps:
 *   constant: base_lr
 *   cosine:   min_lr + (base_lr - min_lr) * (1 + cos(pi * u / (total_steps - warmup_steps))) / 2,
 *             min_lr from total_steps on
 *   step:     base_lr * gamma^floor(u / step_size) */
typedef struct pt_lr_schedule {
    pt_lr_kind kind;
    double base_lr;
    int64_t warmup_steps;       /* 0 = no warmup */
    double warmup_start_factor; /* in [0, 1]; rate at step 0 is this times base_lr */
    int64_t total_steps;        /* cosine: the step at which min_lr is reached */
    double min_lr;              /* cosine floor, in [0, base_lr] */
    int64_t step_size;          /* step: interval in steps, > 0 */
    double gamma;               /* step: multiplier per interval, > 0 */
} pt_lr_schedule;

/* Fills s with a constant schedule at base_lr, no warmup, start factor 0.1 (used once warmup
 * steps are set), gamma 0.1, and zero for the fields a kind must set itself. */
void pt_lr_schedule_default(pt_lr_schedule *s, double base_lr);

/* Checks the fields the kind uses (cosine: total_steps > warmup_steps; step: step_size > 0,
 * gamma > 0); the message names the offending field. */
int pt_lr_schedule_check(const pt_lr_schedule *s, pt_error *err);

/* The learning rate for the update after `step` completed ones: a pure function of the step, so
 * a resumed run gets exactly the rates an uninterrupted one would. Negative steps count as 0.
 * Assumes pt_lr_schedule_check passed. */
double pt_lr_at(const pt_lr_schedule *s, int64_t step);

#endif
