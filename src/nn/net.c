/* Network construction, parameter table, forward and backward (see net.h). */
#include "ptrain/net.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "batchnorm.h"
#include "conv.h"
#include "dense.h"
#include "dropout.h"
#include "pool.h"
#include "residual.h"
#include "ptrain/rng.h"
#include "ptrain/threads.h"
#include "smallconv.h"
#include "winograd.h"
#include "winograd4.h"

/* The convolution workspace is sized for whole local batches, up to this many floats (1 GiB);
 * beyond it the conv module processes the batch in chunks. */
#define MAX_CONV_WORKSPACE_FLOATS ((size_t)256 << 20)

/* How a conv layer is computed. IM2COL is conv.c's, which itself runs direct loops where
 * pt_conv_direct says so. */
typedef enum conv_impl {
    CONV_IM2COL,
    CONV_WINOGRAD2,   /* Winograd F(2x2,3x3), winograd.h */
    CONV_WINOGRAD4,   /* Winograd F(4x4,3x3), winograd4.h */
    CONV_SMALLMAP,    /* 3x3 pad 1 on 2x2 and 4x4 maps, smallconv.h */
    CONV_SMALLMAP_S2, /* 3x3 stride 2 onto 2x2 and 4x4 maps: small-map forward, im2col backward */
} conv_impl;

typedef struct layer {
    pt_layer_spec spec;
    char name[32]; /* conv1, batchnorm12: short enough for "<name>.<field>" */
    int input;     /* absolute index of the layer read, -1 = the network input */
    int from;      /* residual: absolute index of the second operand */
    int in_c, in_h, in_w;
    int c, h, w;    /* output shape per sample */
    size_t size;    /* output floats per sample */
    int in_place;   /* relu/dropout writing over its input's buffer */
    int fused_relu; /* batch norm: applies the in-place ReLU that follows it (forward and backward)
                     */
    int relu_index; /* batch norm with fused_relu: that ReLU layer */
    int fused;  /* relu: applied by the batch norm before it or the 2x2 max pool after it; its own
                 * forward and backward have nothing to do */
    int fanout; /* how many layers read this one's output */
    /* residual: applies the in-place ReLU that follows it on the way out (forward only); relu: its
     * forward is done so by the residual before it, its backward runs as usual */
    int relu_out, forward_done;
    int eval_bn;   /* conv: the batch norm whose eval forward is its epilogue (conv.h), or -1 */
    int eval_conv; /* batch norm: 1 if the convolution before it does its eval forward */
    float *eval_affine; /* conv with eval_bn: the batch norm's scale (K) and shift (K) */
    /* parameters: offsets into the parameter buffer, SIZE_MAX if absent */
    size_t weight, bias, gamma, beta;
    /* batch norm running statistics: offsets into the state buffer */
    size_t running_mean, running_var;
    pt_conv_dims conv;
    conv_impl impl; /* conv: how it is computed (pt_net_set_conv_algo) */
    pt_pool_dims pool;
    float *out;               /* (max_batch, size) */
    float *dout;              /* (max_batch, size) */
    float *bn_mean, *bn_rstd; /* (c) */
    int32_t *argmax;          /* maxpool, (max_batch, size) */
    int grad_written;         /* during backward: dout already holds a contribution */
    int param_first;          /* this layer's entries in the parameter table: [first, first+n) */
    int n_param_tensors;
    double flops;          /* forward, per sample */
    pt_layer_profile prof; /* accumulated while net->profiling */
} layer;

struct pt_net {
    layer *layers;
    int n_layers;
    int in_c, in_h, in_w;
    int max_batch;
    int n;       /* samples in the last forward */
    int trained; /* the last forward was in train mode */
    const int64_t *sample_ids;
    uint64_t dropout_key;
    float *input;
    float *params, *grads, *state;
    /* the buffers allocated here; NULL after pt_net_use_*_buffer, params and grads then point at
     * the caller's */
    float *own_params, *own_grads;
    uint8_t *decay_mask;
    size_t n_params, n_state;
    pt_tensor_info *param_table, *state_table;
    int n_param_tensors, n_state_tensors;
    float *conv_ws;
    size_t conv_ws_floats;
    float *scratch; /* a gradient to add into a buffer that already has one */
    size_t max_size;
    int profiling; /* time every training forward and backward, layer by layer */
    /* A rank's threads (pt_net_set_threads): every layer's local batch is cut into `threads`
     * slices of consecutive samples, run in parallel; slice k has its own convolution workspace
     * and gradient buffer (slice 0 the net's own), summed in slice order after each layer. */
    int threads;
    float *slice_ws[PT_NET_MAX_THREADS];    /* [0] is conv_ws */
    size_t slice_ws_floats;                 /* of slice_ws[k], k >= 1 */
    float *slice_grads[PT_NET_MAX_THREADS]; /* [0] is grads */
};

/* ---- construction ------------------------------------------------------------------------------
 */

static int add_tensor(pt_tensor_info **table, int *n, size_t *total, const layer *l,
                      const char *field, int ndims, const int64_t *shape, int decay, size_t *offset,
                      pt_error *err)
{
    pt_tensor_info *grown = realloc(*table, (size_t)(*n + 1) * sizeof *grown);
    if (!grown)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    *table = grown;
    pt_tensor_info *t = &grown[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%s", l->name, field);
    pt_strlcpy(t->layer, l->name, sizeof t->layer);
    pt_strlcpy(t->field, field, sizeof t->field);
    t->ndims = ndims;
    t->count = 1;
    for (int d = 0; d < ndims; d++) {
        t->shape[d] = shape[d];
        t->count *= (size_t)shape[d];
    }
    t->offset = *total;
    t->decay = decay;
    *total += t->count;
    *offset = t->offset;
    return PT_OK;
}

static int shape_layer(pt_net *net, int i, int n_classes, pt_error *err)
{
    layer *l = &net->layers[i];
    const pt_layer_spec *s = &l->spec;
    const char *type = pt_layer_type_name(s->type);
    if (l->input >= 0) {
        const layer *in = &net->layers[l->input];
        l->in_c = in->c;
        l->in_h = in->h;
        l->in_w = in->w;
    } else {
        l->in_c = net->in_c;
        l->in_h = net->in_h;
        l->in_w = net->in_w;
    }
    l->c = l->in_c;
    l->h = l->in_h;
    l->w = l->in_w;
    l->weight = l->bias = l->gamma = l->beta = SIZE_MAX;
    l->running_mean = l->running_var = SIZE_MAX;
    int status = PT_OK;
    switch (s->type) {
    case PT_LAYER_CONV:
        l->conv = (pt_conv_dims){.n = net->max_batch,
                                 .c = l->in_c,
                                 .h = l->in_h,
                                 .w = l->in_w,
                                 .k = s->filters,
                                 .r = s->size,
                                 .s = s->size,
                                 .stride = s->stride,
                                 .pad = s->pad};
        status = pt_conv_check(&l->conv, err);
        if (status != PT_OK)
            break;
        l->c = s->filters;
        l->h = pt_conv_out_h(&l->conv);
        l->w = pt_conv_out_w(&l->conv);
        l->flops = 2.0 * s->filters * l->in_c * s->size * s->size * l->h * l->w;
        break;
    case PT_LAYER_MAXPOOL:
        l->pool = (pt_pool_dims){.n = net->max_batch,
                                 .c = l->in_c,
                                 .h = l->in_h,
                                 .w = l->in_w,
                                 .kernel = s->size,
                                 .stride = s->stride,
                                 .pad = s->pad};
        status = pt_maxpool_check(&l->pool, err);
        if (status != PT_OK)
            break;
        l->h = pt_maxpool_out_h(&l->pool);
        l->w = pt_maxpool_out_w(&l->pool);
        break;
    case PT_LAYER_AVGPOOL:
        l->h = l->w = 1;
        break;
    case PT_LAYER_DENSE:
        l->c = s->outputs == PT_ARCH_CLASSES ? n_classes : s->outputs;
        l->h = l->w = 1;
        l->flops = 2.0 * l->in_c * l->in_h * l->in_w * l->c;
        break;
    case PT_LAYER_RESIDUAL: {
        const layer *other = &net->layers[l->from];
        if (l->from < 0 || other->c != l->c || other->h != l->h || other->w != l->w)
            status = pt_error_set(
                err, PT_ERR_INVALID, "%s (line %d): residual adds %dx%dx%d to %dx%dx%d", l->name,
                s->line, l->c, l->h, l->w, l->from >= 0 ? other->c : net->in_c,
                l->from >= 0 ? other->h : net->in_h, l->from >= 0 ? other->w : net->in_w);
        break;
    }
    default:
        break;
    }
    if (status != PT_OK) {
        char reason[PT_ERROR_MSG_MAX]; /* the message is rewritten in place: copy it first */
        pt_strlcpy(reason, err ? err->msg : "", sizeof reason);
        return pt_error_set(err, status, "layer %d [%s] (line %d): %s", i + 1, type, s->line,
                            reason);
    }
    l->size = (size_t)l->c * (size_t)l->h * (size_t)l->w;
    return PT_OK;
}

static int add_layer_params(pt_net *net, layer *l, pt_error *err)
{
    const pt_layer_spec *s = &l->spec;
    int status = PT_OK;
    l->param_first = net->n_param_tensors;
    if (s->type == PT_LAYER_CONV) {
        int64_t wshape[4] = {s->filters, l->in_c, s->size, s->size};
        status = add_tensor(&net->param_table, &net->n_param_tensors, &net->n_params, l, "weight",
                            4, wshape, 1, &l->weight, err);
        int64_t bshape[1] = {s->filters};
        if (status == PT_OK && s->bias)
            status = add_tensor(&net->param_table, &net->n_param_tensors, &net->n_params, l, "bias",
                                1, bshape, 0, &l->bias, err);
    } else if (s->type == PT_LAYER_DENSE) {
        int64_t wshape[2] = {l->c, (int64_t)l->in_c * l->in_h * l->in_w};
        status = add_tensor(&net->param_table, &net->n_param_tensors, &net->n_params, l, "weight",
                            2, wshape, 1, &l->weight, err);
        int64_t bshape[1] = {l->c};
        if (status == PT_OK && s->bias)
            status = add_tensor(&net->param_table, &net->n_param_tensors, &net->n_params, l, "bias",
                                1, bshape, 0, &l->bias, err);
    } else if (s->type == PT_LAYER_BATCHNORM) {
        int64_t shape[1] = {l->c};
        status = add_tensor(&net->param_table, &net->n_param_tensors, &net->n_params, l, "weight",
                            1, shape, 0, &l->gamma, err);
        if (status == PT_OK)
            status = add_tensor(&net->param_table, &net->n_param_tensors, &net->n_params, l, "bias",
                                1, shape, 0, &l->beta, err);
        if (status == PT_OK)
            status = add_tensor(&net->state_table, &net->n_state_tensors, &net->n_state, l,
                                "running_mean", 1, shape, 0, &l->running_mean, err);
        if (status == PT_OK)
            status = add_tensor(&net->state_table, &net->n_state_tensors, &net->n_state, l,
                                "running_var", 1, shape, 0, &l->running_var, err);
    }
    l->n_param_tensors = net->n_param_tensors - l->param_first;
    return status;
}

/* Names layers by type and count (conv1, conv2, batchnorm1, ...): the names model files use. */
static void name_layers(pt_net *net)
{
    int counts[PT_LAYER_TYPE_COUNT] = {0};
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        snprintf(l->name, sizeof l->name, "%s%d", pt_layer_type_name(l->spec.type),
                 ++counts[l->spec.type]);
    }
}

/* Workspace one conv layer can use with any algorithm (so that the choice can change after the
 * network is built): im2col for the whole local batch up to MAX_CONV_WORKSPACE_FLOATS, either
 * Winograd for as many images as it can use, the small-map kernel's transposed batch. */
static size_t conv_workspace_floats(const pt_conv_dims *d)
{
    int images = d->n;
    while (images > 1 && pt_conv_workspace_size(d, images) > MAX_CONV_WORKSPACE_FLOATS)
        images /= 2;
    size_t need = pt_conv_workspace_size(d, images);
    if (pt_winograd_supported(d)) {
        size_t wino = pt_winograd_workspace_size(d, pt_winograd_useful_images(d));
        size_t wino4 = pt_winograd4_workspace_size(d, pt_winograd4_useful_images(d));
        if (wino > need)
            need = wino;
        if (wino4 > need)
            need = wino4;
    }
    if ((pt_smallconv_supported(d) || pt_smallconv_s2_supported(d)) &&
        pt_smallconv_workspace_size(d) > need)
        need = pt_smallconv_workspace_size(d);
    return need;
}

static int allocate_buffers(pt_net *net, pt_error *err)
{
    size_t B = (size_t)net->max_batch;
    net->input = calloc(B * (size_t)net->in_c * net->in_h * net->in_w, sizeof(float));
    net->params = net->own_params = calloc(net->n_params ? net->n_params : 1, sizeof(float));
    net->grads = net->own_grads = calloc(net->n_params ? net->n_params : 1, sizeof(float));
    net->state = calloc(net->n_state ? net->n_state : 1, sizeof(float));
    net->decay_mask = calloc(net->n_params ? net->n_params : 1, 1);
    if (!net->input || !net->params || !net->grads || !net->state || !net->decay_mask)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for %zu parameters", net->n_params);
    for (int t = 0; t < net->n_param_tensors; t++)
        if (net->param_table[t].decay)
            memset(net->decay_mask + net->param_table[t].offset, 1, net->param_table[t].count);

    size_t conv_ws = 0;
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        if (l->size > net->max_size)
            net->max_size = l->size;
        if (l->in_place) {
            const layer *in = &net->layers[l->input];
            l->out = in->out;
            l->dout = in->dout;
        } else {
            l->out = calloc(B * l->size, sizeof(float));
            l->dout = calloc(B * l->size, sizeof(float));
            if (!l->out || !l->dout)
                return pt_error_set(err, PT_ERR_NOMEM,
                                    "out of memory for %s activations (%zu floats per sample, "
                                    "batch %zu): try a smaller --batch",
                                    l->name, l->size, B);
        }
        if (l->spec.type == PT_LAYER_BATCHNORM) {
            l->bn_mean = calloc((size_t)l->c, sizeof(float));
            l->bn_rstd = calloc((size_t)l->c, sizeof(float));
            if (!l->bn_mean || !l->bn_rstd)
                return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
        }
        if (l->spec.type == PT_LAYER_MAXPOOL) {
            l->argmax = calloc(B * l->size, sizeof(int32_t));
            if (!l->argmax)
                return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
        }
        if (l->eval_bn >= 0) {
            l->eval_affine = calloc(2 * (size_t)l->c, sizeof(float));
            if (!l->eval_affine)
                return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
        }
        if (l->spec.type == PT_LAYER_CONV) {
            size_t need = conv_workspace_floats(&l->conv);
            if (need > conv_ws)
                conv_ws = need;
        }
    }
    net->scratch = calloc(B * (net->max_size ? net->max_size : 1), sizeof(float));
    net->conv_ws_floats = conv_ws;
    net->conv_ws = calloc(conv_ws ? conv_ws : 1, sizeof(float));
    if (!net->scratch || !net->conv_ws)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for the convolution workspace");
    return PT_OK;
}

int pt_net_create(const pt_arch *arch, int channels, int height, int width, int n_classes,
                  int max_batch, pt_net **out, pt_error *err)
{
    *out = NULL;
    if (channels <= 0 || height <= 0 || width <= 0 || n_classes <= 0 || max_batch <= 0)
        return pt_error_set(err, PT_ERR_INVALID, "bad network input %dx%dx%d, %d classes", channels,
                            height, width, n_classes);
    pt_net *net = calloc(1, sizeof *net);
    if (!net)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    net->n_layers = arch->n_layers;
    net->in_c = channels;
    net->in_h = height;
    net->in_w = width;
    net->max_batch = max_batch;
    net->layers = calloc((size_t)arch->n_layers, sizeof *net->layers);
    int status = net->layers ? PT_OK : pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    for (int i = 0; status == PT_OK && i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        l->spec = arch->layers[i];
        l->input = i + l->spec.input;
        l->from = l->spec.type == PT_LAYER_RESIDUAL ? i + l->spec.from : -1;
        l->eval_bn = -1;
    }
    if (status == PT_OK)
        name_layers(net);
    for (int i = 0; status == PT_OK && i < net->n_layers; i++)
        status = shape_layer(net, i, n_classes, err);
    if (status == PT_OK && net->layers[net->n_layers - 1].size != (size_t)n_classes)
        status = pt_error_set(err, PT_ERR_INVALID,
                              "%s: the last layer gives %zu outputs, the data has %d classes "
                              "(use outputs=classes)",
                              arch->name, net->layers[net->n_layers - 1].size, n_classes);
    for (int i = 0; status == PT_OK && i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        if (l->input >= 0)
            net->layers[l->input].fanout++;
        if (l->from >= 0)
            net->layers[l->from].fanout++;
    }
    for (int i = 0; status == PT_OK && i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        /* ReLU and dropout may overwrite their input when nobody else reads it: no layer's
         * backward needs the raw output of the layer feeding a ReLU (conv, dense and batch norm
         * read their own inputs; ReLU reads its own output). */
        l->in_place = (l->spec.type == PT_LAYER_RELU || l->spec.type == PT_LAYER_DROPOUT) &&
                      l->input >= 0 && net->layers[l->input].fanout == 1;
        /* An in-place ReLU right after a batch norm: the batch norm writes max(0, .) directly,
         * and in backward applies the ReLU's mask (its output > 0) to the ReLU's gradient as it
         * reads it, saving a pass over the activations each way with the same bits. */
        if (l->spec.type == PT_LAYER_RELU && l->in_place &&
            net->layers[l->input].spec.type == PT_LAYER_BATCHNORM) {
            net->layers[l->input].fused_relu = 1;
            net->layers[l->input].relu_index = i;
            l->fused = 1;
        }
        /* An in-place ReLU (not fused already) read by a 2x2 max pool alone: the pool applies it
         * to its candidates and drops the gradient of the windows it clipped (pool.h), the same
         * bits without the ReLU's two passes over the larger map. The ReLU's buffer then holds
         * the raw values, which nobody else reads (fanout 1). */
        if (l->spec.type == PT_LAYER_MAXPOOL && l->input >= 0) {
            layer *r = &net->layers[l->input];
            if (r->spec.type == PT_LAYER_RELU && r->in_place && !r->fused && r->fanout == 1 &&
                pt_maxpool_can_fuse_relu(&l->pool)) {
                l->pool.relu = 1;
                r->fused = 1;
            }
        }
        /* An in-place ReLU right after a residual: the residual writes max(0, a + b), the bits
         * the ReLU would have left in the same buffer, saving it a pass over the activations. Its
         * backward (which reads that buffer) is unchanged. */
        if (l->spec.type == PT_LAYER_RELU && l->in_place && !l->fused &&
            net->layers[l->input].spec.type == PT_LAYER_RESIDUAL) {
            net->layers[l->input].relu_out = 1;
            l->forward_done = 1;
        }
        status = add_layer_params(net, l, err);
    }
    /* A batch norm that alone reads a convolution's output: in eval mode the convolution
     * normalises its output as it writes it, into the batch norm's buffer (conv.h's epilogue, the
     * batch norm's own kernel: the same bits), and the batch norm is skipped. Its input buffer
     * then holds nothing in eval, and nobody else reads it. */
    for (int i = 0; status == PT_OK && i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        if (l->spec.type == PT_LAYER_BATCHNORM && l->input >= 0 &&
            net->layers[l->input].spec.type == PT_LAYER_CONV && net->layers[l->input].fanout == 1) {
            net->layers[l->input].eval_bn = i;
            l->eval_conv = 1;
        }
    }
    if (status == PT_OK)
        status = allocate_buffers(net, err);
    if (status != PT_OK) {
        pt_net_free(net);
        return status;
    }
    pt_net_set_conv_algo(net, PT_CONV_AUTO);
    status = pt_net_set_threads(net, 1, err);
    if (status != PT_OK) {
        pt_net_free(net);
        return status;
    }
    pt_net_init_params(net, 0);
    *out = net;
    return PT_OK;
}

/* ---- threads ------------------------------------------------------------------------------------
 */

/* Back to one slice, the net's own buffers: nothing to allocate, so it cannot fail. */
static void free_slices(pt_net *net)
{
    for (int k = 1; k < net->threads; k++) {
        free(net->slice_ws[k]);
        free(net->slice_grads[k]);
        net->slice_ws[k] = NULL;
        net->slice_grads[k] = NULL;
    }
    net->threads = 1;
    net->slice_ws[0] = net->conv_ws;
    net->slice_grads[0] = net->grads;
    net->slice_ws_floats = net->conv_ws_floats;
}

int pt_net_set_threads(pt_net *net, int threads, pt_error *err)
{
    if (threads < 1 || threads > PT_NET_MAX_THREADS)
        return pt_error_set(err, PT_ERR_INVALID, "threads per rank must be 1..%d, not %d",
                            PT_NET_MAX_THREADS, threads);
    free_slices(net);
    /* One owner of the threads: the network runs every layer on them (OpenMP), each thread
     * calling OpenBLAS on one thread. OpenBLAS's own pool, threading only the GEMMs, left most of
     * a step on one thread, and its workers spun in sched_yield between the many small GEMMs.
     * Also at 1 thread: "--threads 1" means one core, not one plus OpenBLAS's pool. */
    openblas_set_num_threads(1);
    if (threads == 1)
        return PT_OK;
    /* the other slices hold at most ceil(max_batch / threads) samples */
    const int per_slice = (net->max_batch + threads - 1) / threads;
    size_t ws = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const layer *l = &net->layers[i];
        if (l->spec.type != PT_LAYER_CONV)
            continue;
        pt_conv_dims d = l->conv;
        d.n = per_slice;
        size_t need = conv_workspace_floats(&d);
        /* a small-map layer's slice takes every image (slice_sixteens) */
        if ((pt_smallconv_supported(&l->conv) || pt_smallconv_s2_supported(&l->conv)) &&
            pt_smallconv_workspace_size(&l->conv) > need)
            need = pt_smallconv_workspace_size(&l->conv);
        if (need > ws)
            ws = need;
    }
    for (int k = 1; k < threads; k++) {
        net->threads = k + 1; /* what free_slices must free */
        net->slice_ws[k] = calloc(ws ? ws : 1, sizeof(float));
        net->slice_grads[k] = calloc(net->n_params ? net->n_params : 1, sizeof(float));
        if (!net->slice_ws[k] || !net->slice_grads[k]) {
            free_slices(net); /* a usable network with one thread stays behind */
            return pt_error_set(err, PT_ERR_NOMEM,
                                "out of memory for the buffers of %d threads (%zu floats each)",
                                threads, ws + net->n_params);
        }
    }
    net->slice_ws_floats = ws;
    return PT_OK;
}

int pt_net_threads(const pt_net *net)
{
    return net->threads;
}

void pt_net_free(pt_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        if (!l->in_place) {
            free(l->out);
            free(l->dout);
        }
        free(l->bn_mean);
        free(l->bn_rstd);
        free(l->argmax);
        free(l->eval_affine);
    }
    free(net->layers);
    free(net->input);
    free(net->own_params);
    free(net->own_grads);
    free(net->state);
    free(net->decay_mask);
    free(net->param_table);
    free(net->state_table);
    free(net->conv_ws);
    free(net->scratch);
    free_slices(net);
    free(net);
}

void pt_net_init_params(pt_net *net, uint64_t seed)
{
    for (int i = 0; i < net->n_layers; i++) {
        const layer *l = &net->layers[i];
        if (l->weight != SIZE_MAX) {
            /* He normal, fan_in: std = sqrt(2 / fan_in), PyTorch's kaiming_normal_ default */
            size_t fan_in = l->spec.type == PT_LAYER_CONV
                                ? (size_t)l->in_c * l->spec.size * l->spec.size
                                : (size_t)l->in_c * l->in_h * l->in_w;
            size_t count = fan_in * (size_t)l->c;
            double std = sqrt(2.0 / (double)fan_in);
            pt_rng rng;
            pt_rng_init(&rng, seed, 0x494e4954000000ULL + (uint64_t)i); /* "INIT" + layer */
            for (size_t k = 0; k < count; k++)
                net->params[l->weight + k] = (float)(std * pt_rng_normal(&rng));
        }
        if (l->bias != SIZE_MAX)
            memset(net->params + l->bias, 0, (size_t)l->c * sizeof(float));
        if (l->gamma != SIZE_MAX) {
            for (int c = 0; c < l->c; c++) {
                net->params[l->gamma + (size_t)c] = 1.0f;
                net->params[l->beta + (size_t)c] = 0.0f;
                net->state[l->running_mean + (size_t)c] = 0.0f;
                net->state[l->running_var + (size_t)c] = 1.0f;
            }
        }
    }
}

/* ---- accessors ----------------------------------------------------------------------------------
 */

float *pt_net_params(pt_net *net)
{
    return net->params;
}
float *pt_net_grads(pt_net *net)
{
    return net->grads;
}

void pt_net_use_param_buffer(pt_net *net, float *params)
{
    free(net->own_params);
    net->own_params = NULL;
    net->params = params;
}

void pt_net_use_grad_buffer(pt_net *net, float *grads)
{
    memcpy(grads, net->grads, net->n_params * sizeof(float));
    free(net->own_grads);
    net->own_grads = NULL;
    net->grads = grads;
    net->slice_grads[0] = grads;
}
float *pt_net_state(pt_net *net)
{
    return net->state;
}
size_t pt_net_param_count(const pt_net *net)
{
    return net->n_params;
}
size_t pt_net_state_count(const pt_net *net)
{
    return net->n_state;
}

int pt_net_copy_weights(pt_net *dst, const pt_net *src)
{
    if (dst->n_params != src->n_params || dst->n_state != src->n_state)
        return PT_ERR_INVALID;
    memcpy(dst->params, src->params, src->n_params * sizeof(float));
    memcpy(dst->state, src->state, src->n_state * sizeof(float));
    return PT_OK;
}
const uint8_t *pt_net_decay_mask(const pt_net *net)
{
    return net->decay_mask;
}
float *pt_net_input(pt_net *net)
{
    return net->input;
}
int pt_net_outputs(const pt_net *net)
{
    return (int)net->layers[net->n_layers - 1].size;
}
int pt_net_max_batch(const pt_net *net)
{
    return net->max_batch;
}

const pt_tensor_info *pt_net_param_table(const pt_net *net, int *n)
{
    *n = net->n_param_tensors;
    return net->param_table;
}

const pt_tensor_info *pt_net_state_table(const pt_net *net, int *n)
{
    *n = net->n_state_tensors;
    return net->state_table;
}

void pt_net_zero_grads(pt_net *net)
{
    memset(net->grads, 0, net->n_params * sizeof(float));
}

double pt_net_flops_per_sample(const pt_net *net)
{
    double flops = 0;
    for (int i = 0; i < net->n_layers; i++)
        flops += net->layers[i].flops;
    return flops;
}

/* ---- threads within a layer -----------------------------------------------------------------
 *
 * Every layer runs on the rank's `threads` (pt_net_set_threads) in one OpenMP parallel region:
 * the local batch is cut into that many slices of consecutive samples, and slice k runs the
 * layer's ordinary single-threaded kernel on its samples, with its own convolution workspace and
 * OpenBLAS called on one thread (train.c sets it so). The GEMMs are then `threads` times
 * smaller but still hundreds of columns wide, and nothing in a step is left to one thread. Layers
 * with parameters accumulate their gradients per slice (slice 0 into the net's buffer, the others
 * into their own), and the slices are added in slice order after the layer (no atomics, no
 * dependence on which thread ran which slice): same threads, same bits. A batch norm instead splits
 * its channels, each with all of the batch, because its statistics are over the whole local batch;
 * its results do not depend on the thread count at all. */

/* One slice of a layer's work: samples [n0, n0 + n) of the local batch (channels, for batch
 * norm). */
typedef struct slice {
    int k; /* 0 .. threads - 1 */
    int n0, n;
    float *ws; /* its convolution workspace */
    size_t ws_floats;
    float *grads;   /* where its parameter gradients accumulate */
    double *gemm_s; /* profile: seconds inside sgemm, slice 0 only (one writer) */
} slice;

static slice slice_of(const pt_net *net, int n, int k, double *gemm_s)
{
    const long long T = net->threads;
    slice s;
    s.k = k;
    s.n0 = (int)((long long)n * k / T);
    s.n = (int)((long long)n * (k + 1) / T) - s.n0;
    s.ws = net->slice_ws[k];
    s.ws_floats = k == 0 ? net->conv_ws_floats : net->slice_ws_floats;
    s.grads = net->slice_grads[k];
    s.gemm_s = k == 0 ? gemm_s : NULL;
    return s;
}

/* Slice k's channels of a batch norm with C of them: [c0, c1). */
static void slice_channels(const pt_net *net, int C, int k, int *c0, int *c1)
{
    *c0 = (int)((long long)C * k / net->threads);
    *c1 = (int)((long long)C * (k + 1) / net->threads);
}

/* Slice k's channels of a small-map convolution with C of them, whole sixteens (the kernels'
 * blocks): [c0, c1). A small-map layer splits channels, each with all of the batch, rather than
 * the batch: its time goes to reading the weights and updating their gradient, so each thread
 * takes its own share of both and the gradient needs no per-thread copy (smallconv.h); its
 * results do not depend on the thread count. */
static void slice_sixteens(const pt_net *net, int C, int k, int *c0, int *c1)
{
    const long long blocks = C / 16;
    *c0 = 16 * (int)(blocks * k / net->threads);
    *c1 = 16 * (int)(blocks * (k + 1) / net->threads);
}

static int splits_channels(const pt_net *net, const layer *l)
{
    return net->threads > 1 && l->spec.type == PT_LAYER_CONV && l->impl == CONV_SMALLMAP;
}

/* The forward of a stride-2 small-map layer splits its channels too (its backward, im2col's, the
 * batch). */
static int forward_splits_channels(const pt_net *net, const layer *l)
{
    return splits_channels(net, l) ||
           (net->threads > 1 && l->spec.type == PT_LAYER_CONV && l->impl == CONV_SMALLMAP_S2);
}

/* ---- forward ------------------------------------------------------------------------------------
 */

static const float *layer_input(const pt_net *net, const layer *l)
{
    return l->input >= 0 ? net->layers[l->input].out : net->input;
}

static void forward_batchnorm(pt_net *net, layer *l, const float *in, int n, int train, int c0,
                              int c1)
{
    const float *p = net->params;
    float *rmean = net->state + l->running_mean, *rvar = net->state + l->running_var;
    if (train)
        pt_batchnorm_forward_train_range(l->out, l->bn_mean, l->bn_rstd, rmean, rvar, in,
                                         p + l->gamma, p + l->beta, n, l->c, l->h * l->w,
                                         PT_BN_MOMENTUM, PT_BN_EPS, l->fused_relu, c0, c1);
    else
        pt_batchnorm_forward_eval_range(l->out, in, p + l->gamma, p + l->beta, rmean, rvar, n, l->c,
                                        l->h * l->w, PT_BN_EPS, l->fused_relu, c0, c1);
}

/* The layer's forward on slice s of a batch of n samples. ep: a convolution's epilogue (its batch
 * norm's eval forward), its output then going to the batch norm's buffer; else NULL. */
static void forward_slice(pt_net *net, layer *l, const slice *s, int n, int train,
                          const pt_conv_epilogue *ep)
{
    const float *in = layer_input(net, l);
    const float *p = net->params;
    const size_t in_size = (size_t)l->in_c * l->in_h * l->in_w, n0 = (size_t)s->n0;
    const float *x = in + n0 * in_size;
    float *out = ep ? net->layers[l->eval_bn].out : l->out;
    float *y = out + n0 * l->size;
    if (l->spec.type == PT_LAYER_BATCHNORM) {
        int c0, c1;
        slice_channels(net, l->c, s->k, &c0, &c1);
        forward_batchnorm(net, l, in, n, train, c0, c1);
        return;
    }
    if (forward_splits_channels(net, l)) {
        pt_conv_dims d = l->conv;
        d.n = n;
        int k0, k1;
        slice_sixteens(net, l->conv.k, s->k, &k0, &k1);
        pt_smallconv_forward_part(out, in, p + l->weight, l->bias != SIZE_MAX ? p + l->bias : NULL,
                                  &d, k0, k1, ep, s->ws);
        return;
    }
    if (s->n == 0) /* a batch smaller than the threads */
        return;
    switch (l->spec.type) {
    case PT_LAYER_CONV: {
        pt_conv_dims d = l->conv;
        d.n = s->n;
        const float *bias = l->bias != SIZE_MAX ? p + l->bias : NULL;
        switch (l->impl) {
        case CONV_WINOGRAD4:
            pt_winograd4_forward(y, x, p + l->weight, bias, &d, s->ws, s->ws_floats, ep);
            break;
        case CONV_WINOGRAD2:
            pt_winograd_forward(y, x, p + l->weight, bias, &d, s->ws, s->ws_floats, ep);
            break;
        case CONV_SMALLMAP:
        case CONV_SMALLMAP_S2:
            pt_smallconv_forward_part(y, x, p + l->weight, bias, &d, 0, d.k, ep, s->ws);
            break;
        case CONV_IM2COL:
            pt_conv_forward_timed(y, x, p + l->weight, bias, &d, s->ws, s->ws_floats, ep,
                                  s->gemm_s);
            break;
        }
        break;
    }
    case PT_LAYER_RELU:
        if (!l->fused)
            pt_relu_forward(y, x, (size_t)s->n * l->size);
        break;
    case PT_LAYER_MAXPOOL: {
        pt_pool_dims d = l->pool;
        d.n = s->n;
        pt_maxpool_forward(y, train ? l->argmax + n0 * l->size : NULL, x, &d);
        break;
    }
    case PT_LAYER_AVGPOOL:
        pt_global_avgpool_forward(y, x, s->n, l->in_c, l->in_h * l->in_w);
        break;
    case PT_LAYER_DENSE:
        pt_dense_forward(y, x, p + l->weight, l->bias != SIZE_MAX ? p + l->bias : NULL, s->n,
                         (int)in_size, l->c);
        break;
    case PT_LAYER_DROPOUT:
        if (train && l->spec.p > 0.0f)
            pt_dropout_forward(y, x, net->sample_ids ? net->sample_ids + n0 : NULL,
                               pt_rng_hash3(net->dropout_key, (uint64_t)(l - net->layers), 0),
                               l->spec.p, s->n, l->size);
        else if (l->out != in)
            memcpy(y, x, (size_t)s->n * l->size * sizeof(float));
        break;
    case PT_LAYER_RESIDUAL:
        if (l->relu_out)
            pt_residual_relu_forward(y, x, net->layers[l->from].out + n0 * l->size,
                                     (size_t)s->n * l->size);
        else
            pt_residual_forward(y, x, net->layers[l->from].out + n0 * l->size,
                                (size_t)s->n * l->size);
        break;
    default:
        break;
    }
}

/* The eval-mode epilogue of conv layer l: its batch norm's scale and shift, with that batch norm's
 * own formula, and its fused ReLU. */
static pt_conv_epilogue eval_epilogue(pt_net *net, layer *l)
{
    const layer *bn = &net->layers[l->eval_bn];
    const float *p = net->params;
    float *scale = l->eval_affine, *shift = l->eval_affine + l->c;
    pt_batchnorm_eval_affine(scale, shift, p + bn->gamma, p + bn->beta,
                             net->state + bn->running_mean, net->state + bn->running_var, 0, bn->c,
                             PT_BN_EPS);
    return (pt_conv_epilogue){scale, shift, bn->fused_relu};
}

static void forward_layer(pt_net *net, layer *l, int n, int train)
{
    if (l->spec.type == PT_LAYER_RELU && (l->fused || l->forward_done))
        return; /* the batch norm or residual before it did the work */
    if (!train && l->eval_conv)
        return; /* the convolution before it did */
    pt_conv_epilogue ep_storage;
    const pt_conv_epilogue *ep = NULL;
    if (!train && l->eval_bn >= 0) {
        ep_storage = eval_epilogue(net, l);
        ep = &ep_storage;
    }
    double *gemm_s = net->profiling && train ? &l->prof.gemm_s : NULL;
    const int T = net->threads;
    PT_OMP(omp parallel num_threads(T) if (T > 1))
    PT_FOR_MY_SLICES(k, T)
    {
        slice s = slice_of(net, n, k, gemm_s);
        forward_slice(net, l, &s, n, train, ep);
    }
}

const float *pt_net_forward(pt_net *net, int n, int train, const int64_t *sample_ids,
                            uint64_t dropout_key)
{
    net->n = n;
    net->trained = train;
    net->sample_ids = sample_ids;
    net->dropout_key = dropout_key;
    /* A rank with no samples in this step computes nothing; its gradients stay zero and it
     * still joins the step's allreduce. */
    for (int i = 0; n > 0 && i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        if (net->profiling && train) {
            double t0 = pt_now_seconds();
            forward_layer(net, l, n, train);
            l->prof.forward_s += pt_now_seconds() - t0;
            l->prof.samples += n;
        } else {
            forward_layer(net, l, n, train);
        }
    }
    return net->layers[net->n_layers - 1].out;
}

/* ---- backward -----------------------------------------------------------------------------------
 */

/* Where a layer's backward writes its input gradient: straight into the input's gradient buffer
 * if nothing is there yet, else into scratch, to be added (a block input read twice). NULL for
 * the network input. */
static float *input_grad_target(pt_net *net, int input, int *needs_add)
{
    *needs_add = 0;
    if (input < 0)
        return NULL;
    layer *in = &net->layers[input];
    if (!in->grad_written) {
        in->grad_written = 1;
        return in->dout;
    }
    *needs_add = 1;
    return net->scratch;
}

/* A residual's gradient goes unchanged to an operand: copied if it is the first to reach it (1),
 * added otherwise (0); -1 for the network input (nothing to do). */
static int residual_claim(pt_net *net, int target)
{
    if (target < 0)
        return -1;
    layer *t = &net->layers[target];
    if (t->grad_written)
        return 0;
    t->grad_written = 1;
    return 1;
}

/* What a layer's backward writes besides its parameters' gradients, decided once for the whole
 * batch before the slices run (deciding marks the targets as written). */
typedef struct grad_plan {
    float *din;         /* the input gradient, for the whole batch, or NULL */
    int needs_add;      /* din is scratch, to be added into the input's gradient */
    int residual_to[2]; /* residual: residual_claim of the input and of the second operand */
} grad_plan;

static grad_plan plan_backward(pt_net *net, const layer *l)
{
    grad_plan g = {NULL, 0, {-1, -1}};
    if (l->spec.type == PT_LAYER_RESIDUAL) {
        g.residual_to[0] = residual_claim(net, l->input);
        g.residual_to[1] = residual_claim(net, l->from);
    } else {
        g.din = input_grad_target(net, l->input, &g.needs_add);
    }
    return g;
}

static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

/* Samples [n0, n0 + n) of a residual's gradient to one operand. */
static void residual_grad_to(pt_net *net, const layer *l, int target, int mode, size_t n0, size_t n)
{
    if (mode < 0)
        return;
    float *dt = net->layers[target].dout + n0 * l->size;
    const float *dy = l->dout + n0 * l->size;
    if (mode == 1)
        memcpy(dt, dy, n * l->size * sizeof(float));
    else
        pt_residual_backward(dt, NULL, dy, n * l->size);
}

/* A batch norm's backward over slice k's channels, for the whole batch; its gamma and beta
 * gradients go straight to the net's buffer (each channel is one slice's alone). */
static void backward_batchnorm(pt_net *net, layer *l, const grad_plan *plan, int k, int n)
{
    const float *in = layer_input(net, l);
    /* a batch norm on the raw input still trains its gamma and beta */
    float *dx = plan->din ? plan->din : net->scratch;
    float *g = net->grads;
    /* fused ReLU: its gradient, masked by its output (this layer's out) */
    const float *dy = l->fused_relu ? net->layers[l->relu_index].dout : l->dout;
    int c0, c1;
    slice_channels(net, l->c, k, &c0, &c1);
    pt_batchnorm_backward_range(dx, g + l->gamma, g + l->beta, dy, l->fused_relu ? l->out : NULL,
                                in, l->bn_mean, l->bn_rstd, net->params + l->gamma, n, l->c,
                                l->h * l->w, c0, c1);
}

/* The layer's backward on slice s (not a batch norm). */
static void backward_slice(pt_net *net, layer *l, const grad_plan *plan, const slice *s)
{
    const float *p = net->params;
    float *g = s->grads;
    const size_t in_size = (size_t)l->in_c * l->in_h * l->in_w, n0 = (size_t)s->n0;
    const float *x = layer_input(net, l) + n0 * in_size;
    const float *dy = l->dout + n0 * l->size;
    float *din = plan->din ? plan->din + n0 * in_size : NULL;
    switch (l->spec.type) {
    case PT_LAYER_CONV: {
        pt_conv_dims d = l->conv;
        d.n = s->n;
        float *dbias = l->bias != SIZE_MAX ? g + l->bias : NULL;
        switch (l->impl) {
        case CONV_WINOGRAD4:
            pt_winograd4_backward(din, g + l->weight, dbias, dy, x, p + l->weight, &d, s->ws,
                                  s->ws_floats);
            break;
        case CONV_WINOGRAD2:
            pt_winograd_backward(din, g + l->weight, dbias, dy, x, p + l->weight, &d, s->ws,
                                 s->ws_floats);
            break;
        case CONV_SMALLMAP:
            pt_smallconv_backward(din, g + l->weight, dbias, dy, x, p + l->weight, &d, s->ws);
            break;
        case CONV_IM2COL:
        case CONV_SMALLMAP_S2:
            pt_conv_backward_timed(din, g + l->weight, dbias, dy, x, p + l->weight, &d, s->ws,
                                   s->ws_floats, s->gemm_s);
            break;
        }
        break;
    }
    case PT_LAYER_RELU:
        /* fused: the batch norm before it or the pool after it applies the mask */
        if (din && !l->fused)
            pt_relu_backward(din, dy, l->out + n0 * l->size, (size_t)s->n * l->size);
        break;
    case PT_LAYER_MAXPOOL: {
        pt_pool_dims d = l->pool;
        d.n = s->n;
        if (din)
            pt_maxpool_backward(din, dy, l->argmax + n0 * l->size, &d);
        break;
    }
    case PT_LAYER_AVGPOOL:
        if (din)
            pt_global_avgpool_backward(din, dy, s->n, l->in_c, l->in_h * l->in_w);
        break;
    case PT_LAYER_DENSE:
        pt_dense_backward(din, g + l->weight, l->bias != SIZE_MAX ? g + l->bias : NULL, dy, x,
                          p + l->weight, s->n, (int)in_size, l->c);
        break;
    case PT_LAYER_DROPOUT:
        if (din && l->spec.p > 0.0f)
            pt_dropout_backward(din, dy, net->sample_ids ? net->sample_ids + n0 : NULL,
                                pt_rng_hash3(net->dropout_key, (uint64_t)(l - net->layers), 0),
                                l->spec.p, s->n, l->size);
        else if (din && plan->din != l->dout)
            memcpy(din, dy, (size_t)s->n * l->size * sizeof(float));
        break;
    case PT_LAYER_RESIDUAL:
        residual_grad_to(net, l, l->input, plan->residual_to[0], n0, (size_t)s->n);
        residual_grad_to(net, l, l->from, plan->residual_to[1], n0, (size_t)s->n);
        break;
    default:
        break;
    }
}

/* Slice k's channels of a small-map layer's backward (slice_sixteens), every image, its
 * parameter gradients straight into the net's. */
static void backward_smallmap(pt_net *net, layer *l, const grad_plan *plan, const slice *s, int n)
{
    pt_conv_dims d = l->conv;
    d.n = n;
    int c0, c1, k0, k1;
    slice_sixteens(net, l->conv.c, s->k, &c0, &c1);
    slice_sixteens(net, l->conv.k, s->k, &k0, &k1);
    float *g = net->grads;
    pt_smallconv_backward_part(plan->din, g + l->weight, l->bias != SIZE_MAX ? g + l->bias : NULL,
                               l->dout, layer_input(net, l), net->params + l->weight, &d, c0, c1,
                               k0, k1, s->ws);
}

/* First and one-past-last parameter float of a layer, from its entries in the parameter table
 * (a layer's tensors are contiguous there), or begin == end when it has none. */
static void layer_param_range(const pt_net *net, const layer *l, size_t *begin, size_t *end)
{
    *begin = *end = 0;
    if (l->n_param_tensors == 0)
        return;
    const pt_tensor_info *first = &net->param_table[l->param_first];
    const pt_tensor_info *last = &net->param_table[l->param_first + l->n_param_tensors - 1];
    *begin = first->offset;
    *end = last->offset + last->count;
}

/* The body of a layer's backward, run by every thread of the team: the slices, then (when all are
 * done) the scratch gradient added into the input's, and the slices' parameter gradients added
 * into the net's, element by element in slice order. */
static void backward_team(pt_net *net, layer *l, const grad_plan *plan, int n, double *gemm_s)
{
    const int T = net->threads;
    const int per_slice_grads =
        T > 1 && l->spec.type != PT_LAYER_BATCHNORM && !splits_channels(net, l);
    size_t begin, end;
    layer_param_range(net, l, &begin, &end);
    PT_FOR_MY_SLICES(k, T)
    {
        if (l->spec.type == PT_LAYER_BATCHNORM) {
            backward_batchnorm(net, l, plan, k, n);
            continue;
        }
        slice s = slice_of(net, n, k, gemm_s);
        if (splits_channels(net, l)) {
            backward_smallmap(net, l, plan, &s, n);
            continue;
        }
        if (per_slice_grads && k > 0 && end > begin)
            memset(s.grads + begin, 0, (end - begin) * sizeof(float));
        if (s.n > 0)
            backward_slice(net, l, plan, &s);
    }
    if (!plan->needs_add && !(per_slice_grads && end > begin))
        return;
    PT_OMP(omp barrier)
    if (plan->needs_add) {
        const size_t in_size = (size_t)l->in_c * l->in_h * l->in_w;
        PT_FOR_MY_SLICES(k, T)
        {
            slice s = slice_of(net, n, k, NULL);
            add_into(net->layers[l->input].dout + (size_t)s.n0 * in_size,
                     net->scratch + (size_t)s.n0 * in_size, (size_t)s.n * in_size);
        }
    }
    if (per_slice_grads && end > begin) {
        float *g = net->grads;
        PT_OMP(omp for schedule(static))
        for (size_t i = begin; i < end; i++)
            for (int k = 1; k < T; k++)
                g[i] += net->slice_grads[k][i];
    }
}

static void backward_layer(pt_net *net, layer *l, int n)
{
    const grad_plan plan = plan_backward(net, l);
    if (l->spec.type == PT_LAYER_RELU && (l->fused || !plan.din))
        return; /* fused: the batch norm before it or the pool after it applies the mask */
    if (net->profiling && (l->spec.type == PT_LAYER_CONV || l->spec.type == PT_LAYER_DENSE))
        l->prof.backward_flops += (plan.din ? 2.0 : 1.0) * l->flops * n;
    double *gemm_s = net->profiling ? &l->prof.gemm_s : NULL;
    PT_OMP(omp parallel num_threads(net->threads) if (net->threads > 1))
    backward_team(net, l, &plan, n, gemm_s);
}

void pt_net_backward(pt_net *net, const float *dlogits, pt_grad_ready_fn ready, void *ctx)
{
    int n = net->n;
    layer *last = &net->layers[net->n_layers - 1];
    for (int i = 0; i < net->n_layers; i++)
        net->layers[i].grad_written = 0;
    if (n > 0)
        memcpy(last->dout, dlogits, (size_t)n * last->size * sizeof(float));
    for (int i = net->n_layers - 1; i >= 0; i--) {
        layer *l = &net->layers[i];
        if (n > 0 && net->profiling) {
            double t0 = pt_now_seconds();
            backward_layer(net, l, n);
            l->prof.backward_s += pt_now_seconds() - t0;
        } else if (n > 0) {
            backward_layer(net, l, n);
        }
        size_t begin, end;
        layer_param_range(net, l, &begin, &end);
        if (ready && end > begin)
            ready(ctx, begin, end);
    }
}

/* ---- profile ----------------------------------------------------------------------------------
 */

/* The auto rule, from tests/bench/conv_bench on 1 thread: Winograd is 1.3-2.4x faster wherever
 * it applies except (a) on a single input channel, where its GEMMs have an inner dimension of 1
 * and backward is twice as slow, and (b) on outputs smaller than 4x4 (ResNet-18's last stage at
 * 64x64 input): one or two tiles per image do not pay for the filter transform, 16 GEMMs with
 * few columns and a third of the tiles padding (512 channels at 2x2, batch 32: 21 ms against
 * im2col's 18; batch 8: 14 ms against 5). A fixed rule rather than a timing at start-up: the same
 * run must pick the same algorithms every time (bit-identical models). */
static int use_winograd(const pt_conv_dims *d, pt_conv_algo algo)
{
    if (algo == PT_CONV_GEMM || !pt_winograd_supported(d))
        return 0;
    if (algo == PT_CONV_WINOGRAD || algo == PT_CONV_WINOGRAD2 || algo == PT_CONV_WINOGRAD4)
        return 1;
    return d->c > 1 && pt_conv_out_h(d) >= 4 && pt_conv_out_w(d) >= 4;
}

/* Of a Winograd layer: whether F(4x4,3x3) rather than F(2x2,3x3), for auto and plain `winograd`:
 * outputs of at least 8x8. Measured with tests/bench/conv_bench (1 thread, AVX-512 Xeon; the table
 * is in winograd4.h): F(4x4) is 1.2-1.5x faster on every layer of fmnist, cxr and ResNet-18 with
 * outputs of 8x8 to 64x64 (forward and backward together), but on a 4x4 output (one tile per
 * image) it depends on the batch and the channels: 256->256 wins at 32 images and loses at 16
 * and 8 (1.3x slower), 512->512 loses 1.4x at 32. A single input channel (Winograd only under
 * plain `winograd`) keeps F(2x2): GEMMs with an inner dimension of 1 gain nothing from F(4x4),
 * whose rounding is 10-20x F(2x2)'s (test_winograd4.c) on raw pixels. A fixed rule on the shape,
 * as use_winograd. */
static int use_winograd4(const pt_conv_dims *d, pt_conv_algo algo)
{
    if (algo == PT_CONV_WINOGRAD4)
        return 1;
    if (algo == PT_CONV_WINOGRAD2)
        return 0;
    return d->c > 1 && pt_conv_out_h(d) >= 8 && pt_conv_out_w(d) >= 8;
}

/* The small-map kernel (smallconv.h) under auto, wherever it applies (3x3 pad 1 on 2x2 and 4x4
 * maps, channels in sixteens: ResNet-18's last stages). Measured on one layer (1 thread, AVX-512
 * Xeon, forward / backward ms, small-map against the best of Winograd F(2x2) and im2col):
 * 512 -> 512 at 2x2, batch 32: 2.1 / 6.3 against 6.5 / 11.4; at 4x4: 12.0 / 33.8 against 18.0 /
 * 31.1 (batch 16: 5.1 / 18.7 against 10.0 / 19.2); 256 -> 256 at 4x4: 3.0 / 6.6 against 3.7 / 7.6;
 * 64 -> 64 at 4x4: 0.28 / 0.51 against 0.37 / 0.87. Not under a forced algorithm: `gemm` keeps
 * im2col everywhere (the reference), `winograd*` Winograd wherever it applies. */
static int use_smallmap(const pt_conv_dims *d, pt_conv_algo algo)
{
    return algo == PT_CONV_AUTO && pt_smallconv_supported(d);
}

/* The stride-2 small-map forward under auto, wherever it applies (3x3 stride 2 pad 1 onto 2x2 and
 * 4x4 maps, channels in sixteens: ResNet-18's downsampling into its last two stages); its backward
 * stays im2col + GEMM (no stride-2 backward kernel is written: inference spends its time in the
 * forward). Measured in ResNet-18 at 64x64, 1 thread, AVX-512 Xeon, batch 64, forward ms, im2col
 * against small-map: 128 -> 256 onto 4x4 7.1 -> 4.7, 256 -> 512 onto 2x2 7.8 -> 4.2-4.9. The same
 * kernel onto 8x8 (64 -> 128 from 16x16) ran no faster than im2col (7.2 ms), so it stops at 4x4. */
static int use_smallmap_s2(const pt_conv_dims *d, pt_conv_algo algo)
{
    return algo == PT_CONV_AUTO && pt_smallconv_s2_supported(d);
}

void pt_net_set_conv_algo(pt_net *net, pt_conv_algo algo)
{
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        if (l->spec.type == PT_LAYER_CONV)
            l->impl = use_smallmap(&l->conv, algo)      ? CONV_SMALLMAP
                      : use_smallmap_s2(&l->conv, algo) ? CONV_SMALLMAP_S2
                      : !use_winograd(&l->conv, algo)   ? CONV_IM2COL
                      : use_winograd4(&l->conv, algo)   ? CONV_WINOGRAD4
                                                        : CONV_WINOGRAD2;
    }
}

int pt_net_conv_algo_parse(const char *name, pt_conv_algo *algo)
{
    static const char *const names[] = {"auto", "gemm", "winograd", "winograd2", "winograd4"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, names[i])) {
            *algo = (pt_conv_algo)i;
            return PT_OK;
        }
    return PT_ERR_INVALID;
}

void pt_net_set_profiling(pt_net *net, int on)
{
    net->profiling = on;
    if (!on)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        memset(&l->prof, 0, sizeof l->prof);
        pt_strlcpy(l->prof.name, l->name, sizeof l->prof.name);
        l->prof.type = pt_layer_type_name(l->spec.type);
        l->prof.algo = l->spec.type != PT_LAYER_CONV ? ""
                       : l->impl == CONV_WINOGRAD4   ? "winograd4"
                       : l->impl == CONV_WINOGRAD2   ? "winograd"
                       : l->impl == CONV_SMALLMAP    ? "smallmap"
                       : l->impl == CONV_SMALLMAP_S2 ? "smallmap+gemm"
                       : pt_conv_direct(&l->conv)    ? "direct"
                                                     : "gemm";
        l->prof.forward_flops_per_sample = l->flops;
        snprintf(l->prof.output, sizeof l->prof.output, "%dx%dx%d", l->c, l->h, l->w);
    }
}

int pt_net_layer_count(const pt_net *net)
{
    return net->n_layers;
}

const pt_layer_profile *pt_net_layer_profile(const pt_net *net, int i)
{
    return &net->layers[i].prof;
}

/* ---- description --------------------------------------------------------------------------------
 */

int pt_net_describe(const pt_net *net, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "%-14s %-16s %12s\n", "layer", "output", "parameters");
    char shape[32];
    snprintf(shape, sizeof shape, "%dx%dx%d", net->in_c, net->in_h, net->in_w);
    if (used < cap)
        used += (size_t)snprintf(buf + used, cap - used, "%-14s %-16s %12s\n", "input", shape, "");
    for (int i = 0; i < net->n_layers && used < cap; i++) {
        const layer *l = &net->layers[i];
        size_t begin, end;
        layer_param_range(net, l, &begin, &end);
        snprintf(shape, sizeof shape, "%dx%dx%d", l->c, l->h, l->w);
        used += (size_t)snprintf(buf + used, cap - used, "%-14s %-16s %12zu\n", l->name, shape,
                                 end - begin);
    }
    if (used < cap)
        used += (size_t)snprintf(buf + used, cap - used, "%-14s %-16s %12zu\n", "total", "",
                                 net->n_params);
    return used < cap ? PT_OK : PT_ERR_INVALID;
}

/* ---- class activation maps ----------------------------------------------------------------------
 */

/* The global average pool that feeds the final dense layer (through eval-time identities, i.e.
 * dropout), or -1 when the network does not end that way. */
static int cam_pool_index(const pt_net *net)
{
    int last = net->n_layers - 1;
    if (last < 1 || net->layers[last].spec.type != PT_LAYER_DENSE)
        return -1;
    int i = net->layers[last].input;
    while (i >= 0 && net->layers[i].spec.type == PT_LAYER_DROPOUT)
        i = net->layers[i].input;
    if (i < 0 || net->layers[i].spec.type != PT_LAYER_AVGPOOL)
        return -1;
    return i;
}

int pt_net_cam_shape(const pt_net *net, int *height, int *width, pt_error *err)
{
    int pool = cam_pool_index(net);
    if (pool < 0)
        return pt_error_set(err, PT_ERR_UNSUPPORTED,
                            "no class activation map for this network: it does not end in a "
                            "global average pool followed by a dense layer");
    const layer *l = &net->layers[pool];
    *height = l->in_h;
    *width = l->in_w;
    return PT_OK;
}

int pt_net_cam(const pt_net *net, int sample, int cls, float *map, pt_error *err)
{
    int h = 0, w = 0;
    int status = pt_net_cam_shape(net, &h, &w, err);
    if (status != PT_OK)
        return status;
    if (sample < 0 || sample >= net->n || cls < 0 || cls >= pt_net_outputs(net))
        return pt_error_set(err, PT_ERR_INVALID, "class activation map: sample %d of %d, class %d",
                            sample, net->n, cls);
    const layer *pool = &net->layers[cam_pool_index(net)];
    const layer *dense = &net->layers[net->n_layers - 1];
    /* the pool's input: the last conv block's feature maps A_k, (n, K, h, w) */
    const float *features = layer_input(net, pool);
    int k_maps = pool->in_c;
    size_t plane = (size_t)h * (size_t)w;
    const float *a = features + (size_t)sample * (size_t)k_maps * plane;
    /* dense weight [outputs, K] (PyTorch's layout): row cls holds w[c, k] */
    const float *wrow = net->params + dense->weight + (size_t)cls * (size_t)k_maps;
    for (size_t p = 0; p < plane; p++)
        map[p] = 0.0f;
    for (int k = 0; k < k_maps; k++) {
        float wk = wrow[k];
        const float *ak = a + (size_t)k * plane;
        for (size_t p = 0; p < plane; p++)
            map[p] += wk * ak[p];
    }
    return PT_OK;
}
