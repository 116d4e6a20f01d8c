/* ReLU. */
#include "ptrain/activation.h"

void pt_relu_forward(float *out, const float *in, size_t n)
{
    /* "x < 0 ? 0 : x" rather than fmaxf(x, 0): it keeps NaN, and it vectorises as well. */
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] < 0.0f ? 0.0f : in[i];
}

void pt_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}
