/* ReLU, elementwise over a buffer of n floats (any shape).
 *
 * The backward pass reads the forward OUTPUT, not the input: the gradient passes where out > 0.
 * That lets the forward run in place (out == in) without keeping a copy of its input, and it is
 * PyTorch's convention at the kink (the gradient at in == 0 is 0). */
#ifndef PTRAIN_ACTIVATION_H
#define PTRAIN_ACTIVATION_H

#include <stddef.h>

/* out = max(in, 0); NaN stays NaN (a diverging run shows up in the loss). out may alias in. */
void pt_relu_forward(float *out, const float *in, size_t n);

/* din = out > 0 ? dout : 0, OVERWRITTEN; din may alias dout. out is pt_relu_forward's output. */
void pt_relu_backward(float *din, const float *dout, const float *out, size_t n);

#endif
