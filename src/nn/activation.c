/* ReLU. */
#include "activation.h"

void pt_relu_forward(float *out, const float *in, size_t n)
{
    /* "x < 0 ? 0 : x" rather than fmaxf(x, 0): it keeps NaN, and it vectorises as well. */
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] < 0.0f ? 0.0f : in[i];
}

void pt_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
    /* Both values are loaded before the choice: with a load on one side only, the loop would
     * keep a branch (mispredicted half the time) instead of vectorising into a blend. */
    for (size_t i = 0; i < n; i++) {
        float g = dout[i], y = out[i];
        din[i] = y > 0.0f ? g : 0.0f;
    }
}
