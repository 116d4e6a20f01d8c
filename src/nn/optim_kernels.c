/* The optimizers' update loops (optim_kernels.h), compiled once per instruction set: plain loops
 * the compiler vectorises at each path's width, with the same bits on every path. */
#include "optim_kernels.h"

#include <math.h>

#include "simd.h"

static void sgd(const pt_sgd_scalars *s, float *restrict params, const float *restrict grads,
                const uint8_t *restrict mask, float *restrict mom, size_t n)
{
    const float wd = s->weight_decay, mu = s->momentum, keep = s->keep, rate = s->rate;
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        /* a select rather than a branch on the mask: the loop vectorises */
        const float decay = !mask || mask[i] ? wd * params[i] : 0.0f;
        g = !mask || mask[i] ? g + decay : g;
        if (s->use_momentum) {
            /* PyTorch starts the buffer as a copy of the first gradient, undamped, instead of
             * from zero; a zero start would shrink the first steps by (1 - dampening). */
            const float b = s->first ? g : mu * mom[i] + keep * g;
            mom[i] = b;
            g = s->nesterov ? g + mu * b : b;
        }
        params[i] -= rate * g;
    }
}

static void adamw(const pt_adamw_scalars *s, float *restrict params, const float *restrict grads,
                  const uint8_t *restrict mask, float *restrict m, float *restrict v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float p = params[i];
        p = !mask || mask[i] ? p * s->shrink : p;
        const float g = grads[i];
        const float mi = s->b1 * m[i] + s->one_b1 * g;
        const float vi = s->b2 * v[i] + s->one_b2 * g * g;
        m[i] = mi;
        v[i] = vi;
        const float denom = sqrtf(vi) / s->bc2_sqrt + s->eps;
        params[i] = p - s->step_size * (mi / denom);
    }
}

const pt_optim_kernels PT_KERNELS(pt_optim_kernels) = {sgd, adamw};
