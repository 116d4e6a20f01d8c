/* Fully connected layer: three GEMMs. (Sizes are nin/nout, not I/O: <cblas.h> pulls in
 * <complex.h>, whose macro I would swallow a parameter named I.) */
#include "dense.h"

#include <cblas.h>
#include <stddef.h>

void pt_dense_forward(float *out, const float *in, const float *weight, const float *bias, int N,
                      int nin, int nout)
{
    if (N <= 0)
        return;
    /* The bias goes in first, so that the GEMM adds onto it (beta = 1) in the same pass. */
    float beta = 0.0f;
    if (bias) {
        for (int n = 0; n < N; n++)
            for (int o = 0; o < nout; o++)
                out[(size_t)n * nout + o] = bias[o];
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, nout, nin, 1.0f, in, nin, weight, nin,
                beta, out, nout);
}

void pt_dense_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                       const float *weight, int N, int nin, int nout)
{
    if (N <= 0)
        return;
    if (dweight)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, N, 1.0f, dout, nout, in,
                    nin, 1.0f, dweight, nin);
    if (dbias)
        for (int o = 0; o < nout; o++) {
            double acc = 0.0;
            for (int n = 0; n < N; n++)
                acc += dout[(size_t)n * nout + o];
            dbias[o] += (float)acc;
        }
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nin, nout, 1.0f, dout, nout,
                    weight, nin, 0.0f, din, nin);
}
