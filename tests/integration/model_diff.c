/* Compares the tensors of two model files.
 *   model_diff A.h5 B.h5 [TOLERANCE]
 * Prints one line saying what it decided, with the largest difference and the tensor holding it:
 *   bit-identical: all N tensors equal                                           exit 0
 *   different: largest difference D (R of the tensor's largest magnitude) in T   exit 1
 *   within tolerance X: largest difference ... in T                              exit 0
 *   beyond tolerance X: largest difference ... in T                              exit 1
 * R is relative to the largest magnitude of the tensor, taken as at least 1e-3 (a conv bias in
 * front of a batch norm gets no gradient and stays near 0: there any difference would be
 * "large"). Parameters and state (batch-norm running statistics) are compared alike. Exit 2 on a
 * usage or file error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/model_io.h"

typedef struct worst_diff {
    double rel, abs;
    const char *name;
} worst_diff;

/* Folds the tensors of one table (parameters or state) into *w. */
static void compare_table(const pt_tensor_info *t, int n, const float *a, const float *b,
                          worst_diff *w)
{
    for (int i = 0; i < n; i++) {
        const float *pa = a + t[i].offset, *pb = b + t[i].offset;
        double scale = 0, diff = 0;
        for (size_t k = 0; k < t[i].count; k++) {
            scale = fmax(scale, fabs(pa[k]));
            diff = fmax(diff, fabs((double)pa[k] - pb[k]));
        }
        double rel = diff / fmax(scale, 1e-3);
        if (!w->name || rel > w->rel) {
            w->rel = rel;
            w->abs = diff;
            w->name = t[i].name;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: model_diff A.h5 B.h5 [TOLERANCE]\n");
        return 2;
    }
    char *end = NULL;
    double tolerance = argc == 4 ? strtod(argv[3], &end) : 0.0;
    if (argc == 4 && (end == argv[3] || *end || !(tolerance >= 0))) {
        fprintf(stderr, "model_diff: tolerance '%s' is not a number >= 0\n", argv[3]);
        return 2;
    }
    pt_arch arch_a, arch_b;
    pt_net *a, *b;
    pt_model_meta meta;
    pt_error err;
    if (pt_model_load(argv[1], &arch_a, &a, &meta, 1, &err) != PT_OK ||
        pt_model_load(argv[2], &arch_b, &b, &meta, 1, &err) != PT_OK) {
        fprintf(stderr, "model_diff: %s\n", err.msg);
        return 2;
    }
    if (pt_net_param_count(a) != pt_net_param_count(b) ||
        pt_net_state_count(a) != pt_net_state_count(b)) {
        printf("different networks\n");
        return 1;
    }
    int identical =
        memcmp(pt_net_params(a), pt_net_params(b), pt_net_param_count(a) * sizeof(float)) == 0 &&
        memcmp(pt_net_state(a), pt_net_state(b), pt_net_state_count(a) * sizeof(float)) == 0;
    int n_params, n_state;
    const pt_tensor_info *params = pt_net_param_table(a, &n_params);
    const pt_tensor_info *state = pt_net_state_table(a, &n_state);
    worst_diff w = {0, 0, NULL};
    compare_table(params, n_params, pt_net_params(a), pt_net_params(b), &w);
    compare_table(state, n_state, pt_net_state(a), pt_net_state(b), &w);

    int ok;
    if (identical) {
        printf("bit-identical: all %d tensors equal\n", n_params + n_state);
        ok = 1;
    } else {
        ok = argc == 4 && w.rel <= tolerance;
        if (argc == 3)
            printf("different: ");
        else
            printf("%s tolerance %g: ", ok ? "within" : "beyond", tolerance);
        printf("largest difference %.3g (%.3g of the tensor's largest magnitude) in %s\n", w.abs,
               w.rel, w.name ? w.name : "?");
    }
    pt_net_free(a);
    pt_net_free(b);
    pt_arch_free(&arch_a);
    pt_arch_free(&arch_b);
    return ok ? 0 : 1;
}
