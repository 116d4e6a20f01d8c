/* Residual (skip-connection) add, elementwise over n floats (any shape): out = a + b.
 *
 * Backward ACCUMULATES into both input gradients: da += dout, db += dout. The input of a ResNet
 * block feeds both the branch and the shortcut, so its gradient is a sum of two contributions;
 * accumulating lets the network add the shortcut's share into a gradient the branch has already
 * written (or the other way round) without a scratch buffer. Either of da, db may be NULL, e.g.
 * when the caller hands dout itself to the branch as its output gradient. */
#ifndef PTRAIN_RESIDUAL_H
#define PTRAIN_RESIDUAL_H

#include <stddef.h>

/* out = a + b; out may alias a or b. */
void pt_residual_forward(float *out, const float *a, const float *b, size_t n);

/* out = max(0, a + b) by pt_relu_forward's rule (a negative sum becomes +0, NaN and -0 stay): the
 * residual and the ReLU after it in one pass, the same bits; out may alias a or b. */
void pt_residual_relu_forward(float *out, const float *a, const float *b, size_t n);

/* da += dout, db += dout (each skipped when NULL). da and db must not alias dout. */
void pt_residual_backward(float *da, float *db, const float *dout, size_t n);

#endif
