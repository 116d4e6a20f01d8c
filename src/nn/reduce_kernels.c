/* Sums of float runs in double (reduce_kernels.h), compiled once per instruction set. */
#include "reduce_kernels.h"

#include "simd.h"

static void sum(double *s, const float *x, int n)
{
    f64x8 a = f64x8_zero();
    int j = 0;
    for (; j + 8 <= n; j += 8)
        a = f64x8_add(a, f64x8_from_f32(f32x8_load(x + j)));
    double lanes[8];
    f64x8_store(lanes, a);
    for (; j < n; j++)
        lanes[0] += x[j];
    for (int k = 0; k < 8; k++)
        *s += lanes[k];
}

const pt_reduce_kernels PT_KERNELS(pt_reduce_kernels) = {sum};
