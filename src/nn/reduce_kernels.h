/* Sums of float runs in double (bias gradients, global average pooling), one table per
 * instruction set (kernels.h). Eight partial sums, as batch norm's (batchnorm_kernels.h): lane k
 * takes the values j with j % 8 == k of the whole blocks of eight, the tail goes to lane 0, and
 * the lanes are added to the total in order: the same result on every path, and eight
 * independent additions in flight instead of one chain. */
#ifndef PTRAIN_REDUCE_KERNELS_H
#define PTRAIN_REDUCE_KERNELS_H

#include "kernels.h"

typedef struct pt_reduce_kernels {
    /* *s += sum of x[j] over n floats */
    void (*sum)(double *s, const float *x, int n);
} pt_reduce_kernels;

PT_KERNELS_DECLARE(pt_reduce_kernels, pt_reduce_kernels);

#endif
