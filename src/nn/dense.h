/* Fully connected (PyTorch's Linear), float32, with cblas_sgemm.
 *
 *   out (N,nout) = in (N,nin) * weight^T + bias,   weight (nout,nin), bias (nout) or NULL
 * in is read as N rows of nin floats, so a (N,C,H,W) tensor is flattened for free (nin = C*H*W).
 *
 * Gradients: dweight, dbias ACCUMULATE (+=); din is OVERWRITTEN; any may be NULL to skip. */
#ifndef PTRAIN_DENSE_H
#define PTRAIN_DENSE_H

/* out (N,nout) overwritten; in (N,nin); weight (nout,nin); bias (nout) or NULL.
 * out must not alias in. */
void pt_dense_forward(float *out, const float *in, const float *weight, const float *bias, int N,
                      int nin, int nout);

/* dout (N,nout), in (N,nin) the forward input, weight (nout,nin).
 * dweight (nout,nin) += dout^T * in; dbias (nout) += column sums of dout;
 * din (N,nin) = dout * weight, overwritten. */
void pt_dense_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                       const float *weight, int N, int nin, int nout);

#endif
