/* OpenBLAS sgemm GFLOP/s on this machine: the hardware limit ptrain's convolutions are measured
 * against. Square sizes and the GEMM shapes of the cxr and fmnist convolutions, or one shape.
 *   sgemm_bench [THREADS]                 the table
 *   sgemm_bench THREADS M N K [nn|nt|tn]  one shape: C (M x N) = op(A) (M x K) * op(B) (K x N),
 *                                         op nn (default), A^T (tn) or B^T (nt), row-major
 * Prints "name M N K GFLOP/s" lines, each the median of 5 runs of ~4 GFLOP. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The median GFLOP/s of 5 runs on one shape; -1 when the matrices cannot be allocated. */
static double median_rate(const shape *sh)
{
    float *a = malloc((size_t)sh->m * sh->k * sizeof(float));
    float *b = malloc((size_t)sh->k * sh->n * sizeof(float));
    float *c = malloc((size_t)sh->m * sh->n * sizeof(float));
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return -1;
    }
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
    free(a);
    free(b);
    free(c);
    return rates[2];
}

/* Measures and prints one shape; returns the exit status. */
static int report(const shape *sh)
{
    double rate = median_rate(sh);
    if (rate < 0) {
        fprintf(stderr, "sgemm_bench: out of memory for %s (%d x %d x %d)\n", sh->name, sh->m,
                sh->n, sh->k);
        return 1;
    }
    printf("%-20s %6d %7d %7d %8.1f\n", sh->name, sh->m, sh->n, sh->k, rate);
    return 0;
}

/* One shape from the command line (M N K [OP]); returns the exit status. */
static int report_one(char **args, int count)
{
    char name[32];
    shape sh = {name, atoi(args[0]), atoi(args[1]), atoi(args[2]), 0, 0};
    const char *op = count > 3 ? args[3] : "nn";
    if (sh.m < 1 || sh.n < 1 || sh.k < 1 ||
        (strcmp(op, "nn") && strcmp(op, "nt") && strcmp(op, "tn"))) {
        fprintf(stderr, "usage: sgemm_bench THREADS M N K [nn|nt|tn]   (M, N, K >= 1)\n");
        return 2;
    }
    sh.trans_a = op[0] == 't';
    sh.trans_b = op[1] == 't';
    snprintf(name, sizeof name, "%s", op);
    return report(&sh);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1 || (argc > 2 && argc != 5 && argc != 6)) {
        fprintf(stderr, "usage: sgemm_bench [THREADS [M N K [nn|nt|tn]]]\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    if (argc > 2)
        return report_one(argv + 2, argc - 2);
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
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        if (report(&shapes[s]) != 0)
            return 1;
    return 0;
}
