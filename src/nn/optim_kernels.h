/* The optimizers' update loops (optim.c), one table per instruction set (kernels.h). Element-wise
 * float arithmetic in a fixed order with no fused multiply-add (-ffp-contract=off) and IEEE sqrt:
 * every path gives the same bits; the wide paths only move more elements per instruction. */
#ifndef PTRAIN_OPTIM_KERNELS_H
#define PTRAIN_OPTIM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* The per-step scalars of SGD with momentum (PyTorch's torch.optim.SGD). */
typedef struct pt_sgd_scalars {
    float weight_decay, momentum, keep; /* keep = 1 - dampening */
    float rate;                         /* the learning rate */
    int use_momentum, nesterov;
    int first; /* the first step: the momentum buffer starts as the gradient */
} pt_sgd_scalars;

/* The per-step scalars of AdamW (PyTorch's torch.optim.AdamW), bias corrections folded in. */
typedef struct pt_adamw_scalars {
    float shrink; /* 1 - lr * weight_decay */
    float b1, b2, one_b1, one_b2;
    float step_size; /* lr / (1 - b1^t) */
    float bc2_sqrt;  /* sqrt(1 - b2^t) */
    float eps;
} pt_adamw_scalars;

typedef struct pt_optim_kernels {
    /* n parameters; mask (may be NULL: all decay) says which get weight decay */
    void (*sgd)(const pt_sgd_scalars *s, float *restrict params, const float *restrict grads,
                const uint8_t *restrict mask, float *restrict mom, size_t n);
    void (*adamw)(const pt_adamw_scalars *s, float *restrict params, const float *restrict grads,
                  const uint8_t *restrict mask, float *restrict m, float *restrict v, size_t n);
} pt_optim_kernels;

PT_KERNELS_DECLARE(pt_optim_kernels, pt_optim_kernels);

#endif
