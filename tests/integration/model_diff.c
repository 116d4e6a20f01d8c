/* Compares the tensors of two model files.
 *   model_diff A.h5 B.h5 [TOLERANCE]
 * Prints the largest absolute difference and the tensor holding it. Exit 0 if the models are
 * bit-identical (no tolerance given) or differ by at most TOLERANCE relative to the largest
 * magnitude of the tensor, taken as at least 1e-3 (a conv bias in front of a batch norm gets no
 * gradient and stays near 0: there any difference would be "large"); 1 otherwise; 2 on a usage or
 * file error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/model_io.h"

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: model_diff A.h5 B.h5 [TOLERANCE]\n");
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
    if (pt_net_param_count(a) != pt_net_param_count(b)) {
        printf("different networks\n");
        return 1;
    }
    int n;
    const pt_tensor_info *t = pt_net_param_table(a, &n);
    double worst_rel = 0, worst_abs = 0;
    const char *worst = "";
    int identical =
        memcmp(pt_net_params(a), pt_net_params(b), pt_net_param_count(a) * sizeof(float)) == 0 &&
        memcmp(pt_net_state(a), pt_net_state(b), pt_net_state_count(a) * sizeof(float)) == 0;
    for (int i = 0; i < n; i++) {
        const float *pa = pt_net_params(a) + t[i].offset, *pb = pt_net_params(b) + t[i].offset;
        double scale = 0, diff = 0;
        for (size_t k = 0; k < t[i].count; k++) {
            scale = fmax(scale, fabs(pa[k]));
            diff = fmax(diff, fabs((double)pa[k] - pb[k]));
        }
        double rel = diff / fmax(scale, 1e-3);
        if (rel > worst_rel) {
            worst_rel = rel;
            worst_abs = diff;
            worst = t[i].name;
        }
    }
    printf("%s: largest difference %.3g (%.3g of the tensor's largest magnitude) in %s\n",
           identical ? "bit-identical" : "different", worst_abs, worst_rel, worst);
    int ok = argc == 3 ? identical : worst_rel <= atof(argv[3]);
    pt_net_free(a);
    pt_net_free(b);
    pt_arch_free(&arch_a);
    pt_arch_free(&arch_b);
    return ok ? 0 : 1;
}
