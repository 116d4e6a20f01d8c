/* A network built from an architecture: shapes, the parameter table, buffers, forward and
 * backward over a local batch.
 *
 * All trainable parameters live in ONE contiguous float buffer and their gradients in another
 * with the same layout, described once by a table of {name, shape, offset}; layers hold offsets
 * into them. The optimizer is one flat loop, a checkpoint one write, the gradient reduction one
 * call (or a few, in buckets) over slices of one buffer. Batch-norm running statistics are not
 * trained and live apart, in a state buffer with a table of its own.
 *
 * Buffers are sized once for the largest local batch: forward and backward never allocate. */
#ifndef PTRAIN_NET_H
#define PTRAIN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/arch.h"
#include "ptrain/common.h"

#define PT_NET_NAME_MAX 64

typedef struct pt_tensor_info {
    char name[PT_NET_NAME_MAX];  /* "conv1.weight", "batchnorm2.running_var" */
    char layer[PT_NET_NAME_MAX]; /* "conv1" */
    char field[16];              /* "weight", "bias", "running_mean", ... */
    int ndims;
    int64_t shape[4];
    size_t offset; /* in floats, into the parameter (or state) buffer */
    size_t count;
    int decay; /* 1 if weight decay applies (conv and dense weights) */
} pt_tensor_info;

typedef struct pt_net pt_net;

/* Called during backward each time a layer's parameter gradients are final: floats
 * [begin, end) of the gradient buffer. Layers finish from the last to the first. */
typedef void (*pt_grad_ready_fn)(void *ctx, size_t begin, size_t end);

/* Builds the network for inputs (channels, height, width), n_classes outputs where the
 * architecture says outputs=classes, and local batches of up to max_batch samples. Checks every
 * layer's shape and names the layer and the reason when one does not fit. */
int pt_net_create(const pt_arch *arch, int channels, int height, int width, int n_classes,
                  int max_batch, pt_net **out, pt_error *err);
void pt_net_free(pt_net *net);

/* He-normal (fan_in) conv and dense weights, zero biases, batch norm gamma 1, beta 0, running
 * mean 0 and variance 1: what PyTorch users set. A pure function of the seed. */
void pt_net_init_params(pt_net *net, uint64_t seed);

float *pt_net_params(pt_net *net);
float *pt_net_grads(pt_net *net);
/* Makes params (pt_net_param_count floats, filled by the caller) the net's parameters from now on,
 * and frees the net's own: for parameters several ranks share, in node shared memory
 * (dist/shard.h). The buffer stays the caller's and must outlive the net: free the net first. */
void pt_net_use_param_buffer(pt_net *net, float *params);
/* The same for the gradient buffer backward accumulates into, with the current gradients copied
 * in. */
void pt_net_use_grad_buffer(pt_net *net, float *grads);
float *pt_net_state(pt_net *net);
size_t pt_net_param_count(const pt_net *net);
size_t pt_net_state_count(const pt_net *net);
const pt_tensor_info *pt_net_param_table(const pt_net *net, int *n);
const pt_tensor_info *pt_net_state_table(const pt_net *net, int *n);
/* 1 byte per parameter: 1 where weight decay applies. */
const uint8_t *pt_net_decay_mask(const pt_net *net);
/* Copies src's parameters and batch-norm statistics into dst (another net of the same
 * architecture, at any batch size): the same numbers. PT_ERR_INVALID, nothing copied, if their
 * counts differ. */
int pt_net_copy_weights(pt_net *dst, const pt_net *src);

/* The input buffer to fill: (max_batch, C, H, W). */
float *pt_net_input(pt_net *net);
int pt_net_outputs(const pt_net *net);
int pt_net_max_batch(const pt_net *net);

/* Forward over the first n samples of the input buffer. train = 1: batch-norm batch statistics
 * (running stats updated) and dropout (mask keyed by dropout_key and sample_ids); train = 0:
 * running statistics, no dropout. Returns the logits (n, outputs), valid until the next call. */
const float *pt_net_forward(pt_net *net, int n, int train, const int64_t *sample_ids,
                            uint64_t dropout_key);

/* Backward for the last training forward, from dlogits (n, outputs). ACCUMULATES into the
 * gradient buffer (zero it once per step with pt_net_zero_grads). ready (may be NULL) is called
 * as each layer's gradients become final. */
void pt_net_backward(pt_net *net, const float *dlogits, pt_grad_ready_fn ready, void *ctx);
void pt_net_zero_grads(pt_net *net);

/* The threads of a rank: every layer of forward and backward runs on `threads` threads (OpenMP),
 * each on its slice of the local batch (a batch norm and a small-map convolution: their share of
 * the channels), calling OpenBLAS on one thread: this sets OpenBLAS to one thread
 * (openblas_set_num_threads(1), process-wide, for any count: 1 thread means one core), so that one
 * pool owns the cores. Each thread gets its own convolution workspace and gradient buffer
 * (parameters' size), allocated here;
 * PT_ERR_NOMEM leaves one thread. Results: the same threads give the same bits, on any machine with
 * the same instruction-set path (the slices' gradients are added in slice order, never atomically),
 * and a build without OpenMP runs the same slices one after another with the same bits. Another
 * thread count sums the convolution and dense weight gradients over other slices of the batch, so
 * it changes the model in float rounding only, as another -np does; batch norm is split by channel,
 * and its results do not depend on the threads. 1 (the default) is the single-threaded network. */
#define PT_NET_MAX_THREADS 256
int pt_net_set_threads(pt_net *net, int threads, pt_error *err);
int pt_net_threads(const pt_net *net);

/* How convolutions are computed. AUTO: Winograd for 3x3 stride-1 convolutions with more than one
 * input channel (where it is faster), im2col + GEMM for the rest; GEMM: im2col + GEMM everywhere;
 * WINOGRAD: Winograd wherever it applies. Winograd is F(4x4,3x3) on the shapes where it is faster
 * than F(2x2,3x3) (a fixed rule, net.c), F(2x2,3x3) elsewhere; WINOGRAD2 and WINOGRAD4 force one
 * of them wherever Winograd applies. All differ in rounding only. */
typedef enum pt_conv_algo {
    PT_CONV_AUTO,
    PT_CONV_GEMM,
    PT_CONV_WINOGRAD,
    PT_CONV_WINOGRAD2,
    PT_CONV_WINOGRAD4
} pt_conv_algo;

/* Chooses the algorithm of every conv layer (pt_net_create chose AUTO). */
void pt_net_set_conv_algo(pt_net *net, pt_conv_algo algo);
/* "auto", "gemm", "winograd", "winograd2" or "winograd4" -> PT_OK; anything else PT_ERR_INVALID
 * (nothing set). */
int pt_net_conv_algo_parse(const char *name, pt_conv_algo *algo);

/* Forward floating-point operations per sample (multiply-add = 2), for throughput reports;
 * training costs about three times this. */
double pt_net_flops_per_sample(const pt_net *net);

/* Where a training step's time goes, layer by layer (ptrain train --profile, the benchmarks).
 * Times are accumulated over training forwards (train = 1) and backwards while profiling is on;
 * evaluation forwards are not counted. */
typedef struct pt_layer_profile {
    char name[32];    /* conv1 */
    const char *type; /* "conv" */
    const char *algo; /* conv: "gemm", "direct", "winograd", "winograd4" or "smallmap"; "" */
    char output[32];  /* output shape per sample, "32x28x28" */
    double forward_flops_per_sample; /* multiply-add = 2 */
    double forward_s, backward_s;    /* seconds in this layer's forward / backward */
    double gemm_s;  /* of which inside the convolution's sgemm calls (im2col + GEMM conv layers;
                       with several threads, those of the first thread's slice) */
    double samples; /* samples through the timed forwards */
    double backward_flops; /* FLOPs of the timed backwards (no input gradient for the first) */
} pt_layer_profile;

/* Turns per-layer timing on (clearing what was accumulated) or off (keeping it). Off by default:
 * the clock reads cost nothing measurable, but a profile is only wanted when asked for. */
void pt_net_set_profiling(pt_net *net, int on);
int pt_net_layer_count(const pt_net *net);
/* Layer i's profile (0 <= i < pt_net_layer_count), valid until the network is freed. */
const pt_layer_profile *pt_net_layer_profile(const pt_net *net, int i);

/* A table of layers, output shapes and parameter counts, for the log. */
int pt_net_describe(const pt_net *net, char *buf, size_t cap);

/* Class activation maps (CAM), for networks that end in a global average pool and a dense layer
 * (cxr, resnet18, any file network of that shape; dropout between the two is allowed): the
 * logit of class c is sum_k w[c,k] * mean(A_k) + b_c, so sum_k w[c,k] * A_k over the feature
 * maps A_k that enter the pool says where the evidence for c lies. For this head it is exactly
 * Grad-CAM, with no backward pass.
 *
 * pt_net_cam_shape: the map's size (the pool's input size); PT_ERR_UNSUPPORTED with a message
 * saying so for a network of another shape. */
int pt_net_cam_shape(const pt_net *net, int *height, int *width, pt_error *err);

/* The map of class cls for sample `sample` of the last forward (eval mode), height x width floats
 * (pt_net_cam_shape) written to map; not normalised, may be negative. */
int pt_net_cam(const pt_net *net, int sample, int cls, float *map, pt_error *err);

#endif
