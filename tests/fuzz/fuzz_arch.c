/* libFuzzer harness: the network text format (pt_arch_parse), then pt_net_create on a small
 * input and one training forward, backward and evaluation forward.
 *
 * Bounds the HARNESS puts on what it builds, so that one input cannot ask for gigabytes: at most
 * 24 layers, 32 conv filters of size <= 7, padding <= size/2 (a layer never grows the image),
 * dense layers of <= 64 outputs. Architectures beyond that are parsed but not built. Anything
 * inside those bounds that crashes, leaks or trips UBSan is a bug in the library. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/arch.h"
#include "ptrain/loss.h"
#include "ptrain/net.h"

static int small_enough(const pt_arch *arch)
{
    if (arch->n_layers > 24)
        return 0;
    for (int i = 0; i < arch->n_layers; i++) {
        const pt_layer_spec *s = &arch->layers[i];
        if (s->type == PT_LAYER_CONV && (s->filters > 32 || s->size > 7 || 2 * s->pad > s->size))
            return 0;
        if (s->type == PT_LAYER_MAXPOOL && (s->size > 7 || 2 * s->pad > s->size))
            return 0;
        if (s->type == PT_LAYER_DENSE && s->outputs > 64)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    pt_arch arch;
    pt_error err;
    int status = pt_arch_parse(text, "fuzz.arch", &arch, &err);
    free(text);
    if (status != PT_OK)
        return 0;
    pt_net *net = NULL;
    enum { N = 2, C = 1, H = 12, W = 12, K = 3 };
    if (small_enough(&arch) && pt_net_create(&arch, C, H, W, K, N, &net, &err) == PT_OK) {
        pt_net_init_params(net, 1);
        float *in = pt_net_input(net);
        for (int i = 0; i < N * C * H * W; i++)
            in[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
        int64_t ids[N] = {0, 1};
        int outputs = pt_net_outputs(net);
        const float *logits = pt_net_forward(net, N, 1, ids, 7);
        float *dlogits = calloc((size_t)N * (size_t)outputs, sizeof *dlogits);
        if (dlogits && outputs > 0) {
            /* a softmax gradient where the outputs can be classes, a plain one elsewhere */
            int32_t labels[N] = {0, outputs - 1};
            pt_softmax_xent_forward_backward(dlogits, NULL, logits, labels, NULL, N, outputs,
                                             (double)N);
            pt_net_zero_grads(net);
            pt_net_backward(net, dlogits, NULL, NULL);
            pt_net_forward(net, N, 0, ids, 7);
        }
        free(dlogits);
        pt_net_free(net);
    }
    pt_arch_free(&arch);
    return 0;
}
