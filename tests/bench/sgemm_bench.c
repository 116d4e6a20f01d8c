/* OpenBLAS sgemm GFLOP/s on this machine: the hardware limit ptrain's convolutions are measured
 * against. Square sizes and the GEMM shapes of the cxr and fmnist convolutions.
 *   sgemm_bench [THREADS]   (prints "name M N K GFLOP/s" lines, median of 5 runs) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "ptrain/common.h"

typedef struct shape {
    const char *name;
    int m, n, k; /* C (m x n) = op(A) (m x k) * op(B) (k x n) */
    int trans_a, trans_b;
} shape;

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    openblas_set_num_threads(threads);
    /* The conv GEMMs as ptrain runs them (forward: weights (K x CRS) times im2col (CRS x N*P*Q);
     * backward: dweight = dout (K x NPQ) times im2col^T, dcol = weights^T times dout). */
    const shape shapes[] = {
        {"square-1024", 1024, 1024, 1024, 0, 0},
        {"square-2048", 2048, 2048, 2048, 0, 0},
        {"cxr-conv2-b32", 32, 32 * 64 * 64, 16 * 9, 0, 0},
        {"cxr-conv2-b32-dw", 32, 16 * 9, 32 * 64 * 64, 0, 1},
        {"cxr-conv2-b32-dx", 16 * 9, 32 * 64 * 64, 32, 1, 0},
        {"cxr-conv4-b32", 128, 32 * 16 * 16, 64 * 9, 0, 0},
        {"cxr-conv4-b32-dw", 128, 64 * 9, 32 * 16 * 16, 0, 1},
        {"cxr-conv4-b32-dx", 64 * 9, 32 * 16 * 16, 128, 1, 0},
        {"fmnist-conv2-b64", 64, 64 * 14 * 14, 32 * 9, 0, 0},
        {"fmnist-conv2-b64-dw", 64, 32 * 9, 64 * 14 * 14, 0, 1},
        {"fmnist-conv2-b64-dx", 32 * 9, 64 * 14 * 14, 64, 1, 0},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const shape *sh = &shapes[s];
        float *a = malloc((size_t)sh->m * sh->k * sizeof(float));
        float *b = malloc((size_t)sh->k * sh->n * sizeof(float));
        float *c = malloc((size_t)sh->m * sh->n * sizeof(float));
        if (!a || !b || !c)
            return 1;
        for (size_t i = 0; i < (size_t)sh->m * sh->k; i++)
            a[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < (size_t)sh->k * sh->n; i++)
            b[i] = (float)(i % 5) * 0.1f;
        double flops = 2.0 * sh->m * sh->n * sh->k;
        int reps = flops > 4e9 ? 2 : (int)(4e9 / flops) + 1;
        double rates[5];
        for (int r = 0; r < 5; r++) {
            double t0 = pt_now_seconds();
            for (int i = 0; i < reps; i++)
                cblas_sgemm(CblasRowMajor, sh->trans_a ? CblasTrans : CblasNoTrans,
                            sh->trans_b ? CblasTrans : CblasNoTrans, sh->m, sh->n, sh->k, 1.0f, a,
                            sh->trans_a ? sh->m : sh->k, b, sh->trans_b ? sh->k : sh->n, 0.0f, c,
                            sh->n);
            rates[r] = flops * reps / (pt_now_seconds() - t0) / 1e9;
        }
        qsort(rates, 5, sizeof *rates, compare);
        printf("%-20s %6d %7d %7d %8.1f\n", sh->name, sh->m, sh->n, sh->k, rates[2]);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
