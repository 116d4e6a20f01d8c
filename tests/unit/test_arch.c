/* Architecture presets and the text format. */
#include <criterion/criterion.h>
#include <string.h>

#include "ptrain/arch.h"

static int count_type(const pt_arch *a, pt_layer_type t)
{
    int n = 0;
    for (int i = 0; i < a->n_layers; i++)
        n += a->layers[i].type == t;
    return n;
}

Test(arch, fmnist_preset_is_the_reference_net)
{
    pt_arch a;
    pt_error err;
    cr_assert_eq(pt_arch_preset("fmnist", &a, &err), PT_OK, "%s", err.msg);
    pt_layer_type want[] = {PT_LAYER_CONV,  PT_LAYER_RELU, PT_LAYER_MAXPOOL,
                            PT_LAYER_CONV,  PT_LAYER_RELU, PT_LAYER_MAXPOOL,
                            PT_LAYER_DENSE, PT_LAYER_RELU, PT_LAYER_DENSE};
    cr_assert_eq(a.n_layers, 9);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(a.layers[i].type, want[i], "layer %d", i);
    cr_assert_eq(a.layers[0].filters, 32);
    cr_assert_eq(a.layers[3].filters, 64);
    cr_assert_eq(a.layers[0].size, 3);
    cr_assert_eq(a.layers[0].pad, 1);
    cr_assert_eq(a.layers[0].bias, 1);
    cr_assert_eq(a.layers[6].outputs, 128);
    cr_assert_eq(a.layers[8].outputs, PT_ARCH_CLASSES);
    cr_assert_eq(a.design_height, 28);
    cr_assert_eq(a.n_warnings, 0);
    pt_arch_free(&a);
}

Test(arch, cxr_preset_is_the_reference_net)
{
    pt_arch a;
    pt_error err;
    cr_assert_eq(pt_arch_preset("cxr", &a, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(a.n_layers, 18);
    const int filters[4] = {16, 32, 64, 128};
    for (int b = 0; b < 4; b++) {
        cr_assert_eq(a.layers[4 * b].type, PT_LAYER_CONV);
        cr_assert_eq(a.layers[4 * b].filters, filters[b]);
        cr_assert_eq(a.layers[4 * b + 1].type, PT_LAYER_BATCHNORM);
        cr_assert_eq(a.layers[4 * b + 2].type, PT_LAYER_RELU);
        cr_assert_eq(a.layers[4 * b + 3].type, PT_LAYER_MAXPOOL);
    }
    cr_assert_eq(a.layers[16].type, PT_LAYER_AVGPOOL);
    cr_assert_eq(a.layers[17].outputs, PT_ARCH_CLASSES);
    pt_arch_free(&a);
}

Test(arch, resnet18_preset_has_the_standard_shape)
{
    pt_arch a;
    pt_error err;
    cr_assert_eq(pt_arch_preset("resnet18", &a, &err), PT_OK, "%s", err.msg);
    /* 1 stem conv + 16 block convs + 3 shortcut convs; one dense */
    cr_assert_eq(count_type(&a, PT_LAYER_CONV), 20);
    cr_assert_eq(count_type(&a, PT_LAYER_BATCHNORM), 20);
    cr_assert_eq(count_type(&a, PT_LAYER_RESIDUAL), 8);
    cr_assert_eq(count_type(&a, PT_LAYER_DENSE), 1);
    cr_assert_eq(a.layers[0].size, 7);
    cr_assert_eq(a.layers[0].stride, 2);
    cr_assert_eq(a.layers[0].bias, 0);
    for (int i = 0; i < a.n_layers; i++) {
        const pt_layer_spec *s = &a.layers[i];
        if (s->type != PT_LAYER_RESIDUAL)
            continue;
        /* both operands are batch norms: the block's last BN and the block input's path */
        cr_assert_eq(a.layers[i - 1].type, PT_LAYER_BATCHNORM, "layer %d", i);
        const pt_layer_spec *other = &a.layers[i + s->from];
        cr_assert(other->type == PT_LAYER_BATCHNORM || other->type == PT_LAYER_RELU ||
                      other->type == PT_LAYER_MAXPOOL,
                  "residual %d adds a %s", i, pt_layer_type_name(other->type));
    }
    cr_assert_eq(a.design_height, 224);
    pt_arch_free(&a);
}

Test(arch, custom_text_with_comments_inputs_and_unused_keys)
{
    const char *text = "# a small net\n"
                       "[conv]\nfilters=8\nsize=5\nstride=2\npad=2\nbias=0\ncolour=red\n"
                       "\n"
                       "[relu]\nsize=3   # relu has no size\n"
                       "[conv]\ninput=-2\nfilters=8\nsize=1\npad=0\n"
                       "[residual]\nfrom=-2\n"
                       "[dropout]\np=0.25\n"
                       "[avgpool]\n[dense]\noutputs=3\n";
    pt_arch a;
    pt_error err;
    cr_assert_eq(pt_arch_parse(text, "net.cfg", &a, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(a.n_layers, 7);
    cr_assert_eq(a.layers[0].size, 5);
    cr_assert_eq(a.layers[0].stride, 2);
    cr_assert_eq(a.layers[0].bias, 0);
    cr_assert_eq(a.layers[2].input, -2);
    cr_assert_eq(a.layers[3].from, -2);
    cr_assert_float_eq(a.layers[4].p, 0.25f, 1e-7);
    cr_assert_eq(a.layers[6].outputs, 3);
    cr_assert_eq(a.n_warnings, 2);
    cr_assert(strstr(a.warnings[0], "net.cfg:8") && strstr(a.warnings[0], "colour"), "%s",
              a.warnings[0]);
    cr_assert(strstr(a.warnings[1], "net.cfg:11") && strstr(a.warnings[1], "size"), "%s",
              a.warnings[1]);
    pt_arch_free(&a);
}

Test(arch, errors_name_the_file_and_line)
{
    pt_arch a;
    pt_error err;
    cr_assert_eq(pt_arch_parse("[conv]\nfilters=8\n[pool]\n", "x.cfg", &a, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "x.cfg:3") && strstr(err.msg, "unknown layer [pool]"), "%s", err.msg);
    cr_assert_eq(pt_arch_parse("[conv]\nfilters=eight\n", "x.cfg", &a, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "x.cfg:2") && strstr(err.msg, "eight"), "%s", err.msg);
    cr_assert_eq(pt_arch_parse("[conv]\nsize=3\n", "x.cfg", &a, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "needs filters"), "%s", err.msg);
    cr_assert_eq(pt_arch_parse("[relu]\n[residual]\nfrom=-5\n", "x.cfg", &a, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_arch_parse("# nothing\n", "x.cfg", &a, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_arch_parse("[dropout]\np=1.5\n", "x.cfg", &a, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_arch_preset("vgg16", &a, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "not a preset"), "%s", err.msg);
}
