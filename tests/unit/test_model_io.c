/* Model files: bit-exact round trips of the presets, the layout other tools see (checked with the
 * plain HDF5 API, as h5py would), and clear refusals of files that do not fit. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5_tamper.h"
#include "tmpdir.h"
#include "ptrain/arch_file.h"
#include "ptrain/model_io.h"
#include "ptrain/net.h"

/* ---- fixtures ---- */

static char tmpdir[128];

static void make_tmpdir(void)
{
    cr_assert_eq(fixture_mkdtemp(tmpdir, sizeof tmpdir), 0, "mkdtemp failed");
}

static void remove_tmpdir(void)
{
    fixture_rmtree(tmpdir);
}

TestSuite(model_io, .init = make_tmpdir, .fini = remove_tmpdir);

static void in_tmp(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* Distinct, awkward values (negative, tiny, large, -0.0): a round trip that converts or drops
 * anything shows up in a bitwise comparison. */
static void fill(float *x, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float v = (float)((int32_t)s) / 2147483648.0f;
        if (i % 97 == 0)
            v *= 1e-30f;
        if (i % 89 == 0)
            v *= 1e20f;
        if (i % 101 == 0)
            v = -0.0f;
        x[i] = v;
    }
}

typedef struct model {
    pt_arch arch;
    pt_net *net;
    pt_model_meta meta;
} model;

static void build(model *m, const char *preset, int h, int w, int classes, uint32_t seed)
{
    pt_error err;
    cr_assert_eq(pt_arch_load(preset, &m->arch, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_net_create(&m->arch, 1, h, w, classes, 2, &m->net, &err), PT_OK, "%s", err.msg);
    fill(pt_net_params(m->net), pt_net_param_count(m->net), seed);
    fill(pt_net_state(m->net), pt_net_state_count(m->net), seed + 7);
    pt_model_meta_init(&m->meta);
    m->meta.channels = 1;
    m->meta.height = h;
    m->meta.width = w;
    m->meta.n_classes = classes;
    for (int i = 0; i < classes; i++)
        snprintf(m->meta.class_names[i], PT_MODEL_NAME_MAX, "class %d", i);
    m->meta.mean = 0.28604060411453247;
    m->meta.std = 0.3530242443084717;
    snprintf(m->meta.created, sizeof m->meta.created, "2024-05-01T12:00:00Z");
}

static void destroy(model *m)
{
    pt_net_free(m->net);
    pt_arch_free(&m->arch);
}

static void save(const model *m, const char *path)
{
    pt_error err;
    cr_assert_eq(pt_model_save(path, m->net, &m->arch, &m->meta, &err), PT_OK, "%s", err.msg);
}

static void assert_same_bits(const double a, const double b, const char *what)
{
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "%s: %.17g != %.17g", what, a, b);
}

/* Saves m, loads it back and checks everything came back bit for bit. */
static void round_trip(const model *m, const char *name)
{
    char path[256];
    in_tmp(path, sizeof path, name);
    save(m, path);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_neq(access(tmp, F_OK), 0, "temporary %s left behind", tmp);

    pt_arch arch;
    pt_net *net = NULL;
    pt_model_meta meta;
    pt_error err;
    cr_assert_eq(pt_model_load(path, &arch, &net, &meta, 3, &err), PT_OK, "%s", err.msg);
    cr_assert_not_null(net);
    cr_assert_eq(pt_net_max_batch(net), 3);
    cr_assert_str_eq(arch.text, m->arch.text);
    cr_assert_eq(arch.n_layers, m->arch.n_layers);

    cr_assert_eq(pt_net_param_count(net), pt_net_param_count(m->net));
    cr_assert_eq(pt_net_state_count(net), pt_net_state_count(m->net));
    cr_assert_eq(
        memcmp(pt_net_params(net), pt_net_params(m->net), pt_net_param_count(net) * sizeof(float)),
        0, "parameters differ after the round trip");
    cr_assert_eq(
        memcmp(pt_net_state(net), pt_net_state(m->net), pt_net_state_count(net) * sizeof(float)), 0,
        "batch-norm state differs after the round trip");

    cr_assert_str_eq(meta.arch_name, m->arch.name); /* empty on save: taken from the arch */
    cr_assert_eq(meta.channels, m->meta.channels);
    cr_assert_eq(meta.height, m->meta.height);
    cr_assert_eq(meta.width, m->meta.width);
    cr_assert_eq(meta.n_classes, m->meta.n_classes);
    for (int i = 0; i < meta.n_classes; i++)
        cr_assert_str_eq(meta.class_names[i], m->meta.class_names[i]);
    cr_assert_eq(meta.multi_label, m->meta.multi_label);
    assert_same_bits(meta.mean, m->meta.mean, "mean");
    assert_same_bits(meta.std, m->meta.std, "std");
    if (isnan(m->meta.threshold))
        cr_assert(isnan(meta.threshold), "threshold %g, NaN expected", meta.threshold);
    else
        assert_same_bits(meta.threshold, m->meta.threshold, "threshold");
    cr_assert_str_eq(meta.created, m->meta.created);
    cr_assert_str_eq(meta.generator, "ptrain " PT_VERSION);

    pt_model_meta only;
    cr_assert_eq(pt_model_read_meta(path, &only, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(only.n_classes, meta.n_classes);
    cr_assert_str_eq(only.class_names[meta.n_classes - 1], meta.class_names[meta.n_classes - 1]);

    pt_net_free(net);
    pt_arch_free(&arch);
}

/* ---- round trips ---- */

Test(model_io, fmnist_round_trip_is_bit_exact)
{
    model m;
    build(&m, "fmnist", 28, 28, 10, 1);
    cr_assert_eq(pt_net_state_count(m.net), 0);
    round_trip(&m, "fmnist.h5");
    destroy(&m);
}

Test(model_io, cxr_round_trip_is_bit_exact_with_batchnorm_state)
{
    model m;
    build(&m, "cxr", 32, 32, 3, 2);
    cr_assert_gt(pt_net_state_count(m.net), 0);
    snprintf(m.meta.class_names[0], PT_MODEL_NAME_MAX, "normal");
    snprintf(m.meta.class_names[1], PT_MODEL_NAME_MAX, "bacteria");
    snprintf(m.meta.class_names[2], PT_MODEL_NAME_MAX, "virus");
    round_trip(&m, "cxr3.h5");
    destroy(&m);
}

Test(model_io, binary_threshold_and_multi_label_survive)
{
    model m;
    build(&m, "cxr", 16, 16, 2, 3);
    m.meta.threshold = 0.4172;
    snprintf(m.meta.arch_name, sizeof m.meta.arch_name, "cxr");
    round_trip(&m, "binary.h5");
    m.meta.threshold = NAN;
    m.meta.multi_label = 1;
    round_trip(&m, "multi.h5");
    destroy(&m);
}

Test(model_io, saving_over_an_existing_model_replaces_it)
{
    model a, b;
    build(&a, "fmnist", 28, 28, 10, 4);
    build(&b, "fmnist", 28, 28, 10, 5);
    char path[256];
    in_tmp(path, sizeof path, "model.h5");
    save(&a, path);
    b.meta.created[0] = '\0'; /* defaults to the time of saving */
    save(&b, path);
    pt_arch arch;
    pt_net *net;
    pt_model_meta meta;
    pt_error err;
    cr_assert_eq(pt_model_load(path, &arch, &net, &meta, 1, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(
        memcmp(pt_net_params(net), pt_net_params(b.net), pt_net_param_count(net) * sizeof(float)),
        0);
    cr_assert_eq(strlen(meta.created), 20, "created '%s' is not an ISO 8601 UTC time",
                 meta.created);
    cr_assert_eq(meta.created[10], 'T');
    pt_net_free(net);
    pt_arch_free(&arch);
    destroy(&a);
    destroy(&b);
}

/* ---- what h5py / h5dump users see ---- */

static void assert_dataset(hid_t file, const char *name, int ndims, const hsize_t *want,
                           const float *values)
{
    cr_assert_gt(H5Lexists(file, name, H5P_DEFAULT), 0, "%s missing", name);
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    cr_assert_geq(dset, 0, "%s: cannot open", name);
    hid_t type = H5Dget_type(dset);
    cr_assert_gt(H5Tequal(type, H5T_IEEE_F32LE), 0, "%s is not float32", name);
    hid_t space = H5Dget_space(dset);
    hsize_t dims[8];
    cr_assert_eq(H5Sget_simple_extent_ndims(space), ndims, "%s: rank", name);
    H5Sget_simple_extent_dims(space, dims, NULL);
    size_t count = 1;
    for (int d = 0; d < ndims; d++) {
        cr_assert_eq(dims[d], want[d], "%s: dim %d is %llu, %llu expected", name, d,
                     (unsigned long long)dims[d], (unsigned long long)want[d]);
        count *= want[d];
    }
    float *got = malloc(count * sizeof *got);
    cr_assert_not_null(got);
    cr_assert_geq(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0);
    cr_assert_eq(memcmp(got, values, count * sizeof *got), 0, "%s: values differ", name);
    free(got);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(dset);
}

static const pt_tensor_info *find_tensor(const pt_tensor_info *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    cr_assert_fail("tensor %s not in the table", name);
    return NULL;
}

static void read_string_attr(hid_t file, const char *name, char *buf, size_t cap)
{
    hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
    cr_assert_geq(attr, 0, "attribute %s missing", name);
    /* in the file's character set, as h5py does: HDF5 converts no string between ASCII and
     * UTF-8 */
    hid_t file_type = H5Aget_type(attr);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, cap);
    H5Tset_cset(type, H5Tget_cset(file_type));
    memset(buf, 0, cap);
    cr_assert_geq(H5Aread(attr, type, buf), 0);
    H5Tclose(type);
    H5Tclose(file_type);
    H5Aclose(attr);
}

Test(model_io, layout_is_plain_hdf5_with_pytorch_names)
{
    model m;
    build(&m, "fmnist", 28, 28, 10, 6);
    char path[256];
    in_tmp(path, sizeof path, "fmnist.h5");
    save(&m, path);

    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    int n;
    const pt_tensor_info *t = pt_net_param_table(m.net, &n);
    const float *p = pt_net_params(m.net);
    hsize_t conv1[4] = {32, 1, 3, 3}, conv1_bias[1] = {32}, conv2[4] = {64, 32, 3, 3},
            dense1[2] = {128, 3136}, dense2[2] = {10, 128}, dense2_bias[1] = {10};
    assert_dataset(file, "/model/conv1/weight", 4, conv1,
                   p + find_tensor(t, n, "conv1.weight")->offset);
    assert_dataset(file, "/model/conv1/bias", 1, conv1_bias,
                   p + find_tensor(t, n, "conv1.bias")->offset);
    assert_dataset(file, "/model/conv2/weight", 4, conv2,
                   p + find_tensor(t, n, "conv2.weight")->offset);
    assert_dataset(file, "/model/dense1/weight", 2, dense1,
                   p + find_tensor(t, n, "dense1.weight")->offset);
    assert_dataset(file, "/model/dense2/weight", 2, dense2,
                   p + find_tensor(t, n, "dense2.weight")->offset);
    assert_dataset(file, "/model/dense2/bias", 1, dense2_bias,
                   p + find_tensor(t, n, "dense2.bias")->offset);

    char buf[4096];
    read_string_attr(file, "format", buf, sizeof buf);
    cr_assert_str_eq(buf, "ptrain-model");
    read_string_attr(file, "arch", buf, sizeof buf);
    cr_assert_str_eq(buf, m.arch.text);
    read_string_attr(file, "label_mode", buf, sizeof buf);
    cr_assert_str_eq(buf, "single");
    int64_t version = 0;
    hid_t attr = H5Aopen(file, "version", H5P_DEFAULT);
    cr_assert_geq(H5Aread(attr, H5T_NATIVE_INT64, &version), 0);
    H5Aclose(attr);
    cr_assert_eq(version, 1);
    H5Fclose(file);
    destroy(&m);

    /* batch norm: weight, bias and the running statistics under the layer's group */
    build(&m, "cxr", 32, 32, 3, 7);
    save(&m, path);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    const pt_tensor_info *s = pt_net_state_table(m.net, &n);
    hsize_t c16[1] = {16}, c128[1] = {128};
    assert_dataset(file, "/model/batchnorm1/running_mean", 1, c16,
                   pt_net_state(m.net) + find_tensor(s, n, "batchnorm1.running_mean")->offset);
    assert_dataset(file, "/model/batchnorm4/running_var", 1, c128,
                   pt_net_state(m.net) + find_tensor(s, n, "batchnorm4.running_var")->offset);
    t = pt_net_param_table(m.net, &n);
    assert_dataset(file, "/model/batchnorm1/weight", 1, c16,
                   pt_net_params(m.net) + find_tensor(t, n, "batchnorm1.weight")->offset);
    assert_dataset(file, "/model/batchnorm1/bias", 1, c16,
                   pt_net_params(m.net) + find_tensor(t, n, "batchnorm1.bias")->offset);
    H5Fclose(file);
    destroy(&m);
}

/* ---- refusals ---- */

/* Loads path expecting failure with code and every needle in the message (one line). */
static void assert_load_fails(const char *path, int code, const char *const *needles)
{
    pt_arch arch;
    pt_net *net = (pt_net *)&arch; /* must be reset to NULL */
    pt_model_meta meta;
    pt_error err;
    pt_error_clear(&err);
    int rc = pt_model_load(path, &arch, &net, &meta, 2, &err);
    cr_assert_eq(rc, code, "load of %s returned %d, %d expected (%s)", path, rc, code, err.msg);
    cr_log_info("refused as expected: %s", err.msg);
    cr_assert_null(net, "a failed load returned a network");
    cr_assert_null(arch.text, "a failed load left an architecture to free");
    cr_assert_null(strchr(err.msg, '\n'), "message is not one line: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, path), "message does not name the file: %s", err.msg);
    for (; *needles; needles++)
        cr_assert_not_null(strstr(err.msg, *needles), "'%s' not in: %s", *needles, err.msg);
}

/* Replaces dataset `name` of a saved model with a float32 one of another shape. */
static void replace_dataset(const char *path, const char *name, int ndims, const hsize_t *dims)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    cr_assert_geq(H5Ldelete(file, name, H5P_DEFAULT), 0);
    hid_t space = H5Screate_simple(ndims, dims, NULL);
    hid_t dset =
        H5Dcreate2(file, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(dset, 0);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
}

static void replace_string_attr(const char *path, const char *name, const char *value)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    cr_assert_geq(H5Adelete(file, name), 0);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(attr, 0);
    cr_assert_geq(H5Awrite(attr, type, value), 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(file);
}

Test(model_io, tensor_of_another_shape_is_refused_naming_it)
{
    model m;
    build(&m, "fmnist", 28, 28, 10, 8);
    char path[256];
    in_tmp(path, sizeof path, "bad_shape.h5");
    save(&m, path);
    hsize_t dims[4] = {64, 32, 5, 5};
    replace_dataset(path, "/model/conv2/weight", 4, dims);
    const char *needles[] = {"conv2.weight", "[64,32,5,5]", "[64,32,3,3]", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles);

    /* same element count, other rank: still a different tensor */
    save(&m, path);
    hsize_t col[2] = {10, 1};
    replace_dataset(path, "/model/dense2/bias", 2, col);
    const char *needles2[] = {"dense2.bias", "[10,1]", "[10]", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles2);
    destroy(&m);
}

Test(model_io, architecture_text_that_does_not_match_the_tensors_is_refused)
{
    model m;
    build(&m, "cxr", 32, 32, 3, 9);
    char path[256];
    in_tmp(path, sizeof path, "other_arch.h5");
    save(&m, path);
    /* The stored text now says the first conv has 8 filters: the tensors written for 16 no
     * longer fit, and the first one that differs is named. */
    char *text = strdup(m.arch.text);
    cr_assert_not_null(text);
    char *first = strstr(text, "filters=16");
    cr_assert_not_null(first);
    memcpy(first, "filters=08", 10);
    replace_string_attr(path, "arch", text);
    free(text);
    const char *needles[] = {"conv1.weight", "[16,1,3,3]", "[8,1,3,3]", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles);
    destroy(&m);
}

Test(model_io, missing_and_extra_tensors_are_refused)
{
    model m;
    build(&m, "fmnist", 28, 28, 10, 10);
    char path[256];
    in_tmp(path, sizeof path, "missing.h5");
    save(&m, path);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(H5Ldelete(file, "/model/dense1/bias", H5P_DEFAULT), 0);
    H5Fclose(file);
    const char *needles[] = {"dense1.bias", "missing", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles);

    save(&m, path);
    hsize_t dims[1] = {3};
    file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gcreate2(file, "/model/conv9", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(g, 0);
    H5Gclose(g);
    H5Fclose(file);
    file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t dset = H5Dcreate2(file, "/model/conv9/weight", H5T_IEEE_F32LE, space, H5P_DEFAULT,
                            H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(dset, 0);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
    const char *needles2[] = {"conv9", "not part of the stored architecture", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles2);

    /* an extra field in a known layer */
    save(&m, path);
    file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    space = H5Screate_simple(1, dims, NULL);
    dset = H5Dcreate2(file, "/model/conv1/gamma", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                      H5P_DEFAULT);
    cr_assert_geq(dset, 0);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
    const char *needles3[] = {"/model/conv1/gamma", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles3);
    destroy(&m);
}

Test(model_io, missing_file_is_refused)
{
    char path[256];
    in_tmp(path, sizeof path, "no-such-model.h5");
    const char *needles[] = {"No such file", NULL};
    assert_load_fails(path, PT_ERR_IO, needles);
}

Test(model_io, text_file_is_refused)
{
    char path[256];
    in_tmp(path, sizeof path, "model.txt");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("conv1.weight = [0.1, 0.2]\n", f);
    fclose(f);
    const char *needles[] = {"not an HDF5 file", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles);
}

Test(model_io, other_format_or_version_is_refused)
{
    model m;
    build(&m, "fmnist", 28, 28, 10, 11);
    char path[256];
    in_tmp(path, sizeof path, "cache_like.h5");
    save(&m, path);
    replace_string_attr(path, "format", "ptrain-cache");
    const char *needles[] = {"not a ptrain model", "ptrain-cache", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles);

    save(&m, path);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t attr = H5Aopen(file, "version", H5P_DEFAULT);
    int64_t two = 2;
    cr_assert_geq(H5Awrite(attr, H5T_NATIVE_INT64, &two), 0);
    H5Aclose(attr);
    H5Fclose(file);
    const char *needles2[] = {"version 2", NULL};
    assert_load_fails(path, PT_ERR_UNSUPPORTED, needles2);

    /* an HDF5 file that is not a model at all */
    in_tmp(path, sizeof path, "empty.h5");
    file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    H5Fclose(file);
    const char *needles3[] = {"not a ptrain model", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles3);
    destroy(&m);
}

Test(model_io, inconsistent_meta_is_refused_on_save_and_nothing_is_left)
{
    model m;
    build(&m, "fmnist", 28, 28, 10, 12);
    char path[256];
    in_tmp(path, sizeof path, "bad_meta.h5");
    pt_error err;
    m.meta.n_classes = 9;
    cr_assert_eq(pt_model_save(path, m.net, &m.arch, &m.meta, &err), PT_ERR_INVALID);
    cr_assert_not_null(strstr(err.msg, "10 outputs"), "%s", err.msg);
    m.meta.n_classes = 10;
    m.meta.std = 0.0;
    cr_assert_eq(pt_model_save(path, m.net, &m.arch, &m.meta, &err), PT_ERR_INVALID);
    cr_assert_neq(access(path, F_OK), 0);

    /* a directory that does not exist: the message names the file, no temporary remains */
    m.meta.std = 1.0;
    in_tmp(path, sizeof path, "no-such-dir/model.h5");
    cr_assert_neq(pt_model_save(path, m.net, &m.arch, &m.meta, &err), PT_OK);
    cr_assert_not_null(strstr(err.msg, "no-such-dir/model.h5"), "%s", err.msg);
    destroy(&m);
}

Test(model_io, arch_load_names_what_it_could_not_read)
{
    pt_arch a;
    pt_error err;
    cr_assert_eq(pt_arch_load("/nonexistent/net.cfg", &a, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, "neither a preset"), "%s", err.msg);
    cr_assert_eq(pt_arch_load("cxr", &a, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(a.design_height, 128);
    pt_arch_free(&a);
}

/* ---- attributes in range, weights finite, data checksummed, strings UTF-8 ---- */

Test(model_io, a_threshold_outside_0_1_is_refused)
{
    model m;
    build(&m, "cxr", 16, 16, 2, 13);
    m.meta.threshold = 0.3;
    char path[256];
    in_tmp(path, sizeof path, "threshold.h5");
    const double bad[] = {2.0, -0.1, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        save(&m, path);
        cr_assert_eq(h5_tamper_attr_f64(path, "/", "threshold", bad[i]), 0);
        const char *needles[] = {"threshold", NULL};
        assert_load_fails(path, PT_ERR_FORMAT, needles);
        pt_model_meta meta;
        pt_error err;
        cr_assert_eq(pt_model_read_meta(path, &meta, &err), PT_ERR_FORMAT,
                     "threshold %g accepted by pt_model_read_meta", bad[i]);
    }
    /* NaN is "no threshold": the most probable class decides */
    save(&m, path);
    cr_assert_eq(h5_tamper_attr_f64(path, "/", "threshold", NAN), 0);
    pt_model_meta meta;
    pt_error err;
    cr_assert_eq(pt_model_read_meta(path, &meta, &err), PT_OK, "%s", err.msg);
    destroy(&m);
}

Test(model_io, normalisation_that_is_not_finite_or_std_not_positive_is_refused)
{
    model m;
    build(&m, "fmnist", 28, 28, 10, 14);
    char path[256];
    in_tmp(path, sizeof path, "norm.h5");
    struct {
        const char *name;
        double value;
    } bad[] = {{"std", 0.0},      {"std", -1.0}, {"std", NAN},
               {"std", INFINITY}, {"mean", NAN}, {"mean", -INFINITY}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        save(&m, path);
        cr_assert_eq(h5_tamper_attr_f64(path, "/", bad[i].name, bad[i].value), 0);
        const char *needles[] = {bad[i].name, NULL};
        assert_load_fails(path, PT_ERR_FORMAT, needles);
    }
    destroy(&m);
}

Test(model_io, weights_that_are_not_finite_are_refused_naming_the_tensor)
{
    model m;
    build(&m, "cxr", 16, 16, 2, 15);
    char path[256];
    in_tmp(path, sizeof path, "nan.h5");
    save(&m, path);
    cr_assert_eq(h5_tamper_fill_f32(path, "/model/conv2/weight", NAN), 0);
    const char *needles[] = {"conv2.weight", "NaN", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles);

    save(&m, path);
    cr_assert_eq(h5_tamper_fill_f32(path, "/model/batchnorm3/running_var", INFINITY), 0);
    const char *needles2[] = {"batchnorm3.running_var", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles2);
    destroy(&m);
}

Test(model_io, a_flipped_byte_in_a_tensor_is_a_checksum_error_naming_it)
{
    model m;
    build(&m, "fmnist", 28, 28, 10, 16);
    char path[256];
    in_tmp(path, sizeof path, "flip.h5");
    save(&m, path);
    cr_assert_eq(h5_tamper_flip(path, "/model/dense1/weight"), 0);
    const char *needles[] = {"/model/dense1/weight", "checksum mismatch", NULL};
    assert_load_fails(path, PT_ERR_FORMAT, needles);
    destroy(&m);
}

Test(model_io, every_tensor_is_checksummed_and_strings_are_utf8)
{
    model m;
    build(&m, "cxr", 16, 16, 2, 17);
    snprintf(m.meta.class_names[1], PT_MODEL_NAME_MAX, "Lungenentz\xc3\xbcndung");
    char path[256];
    in_tmp(path, sizeof path, "sums.h5");
    save(&m, path);
    const pt_tensor_info *tables[2];
    int counts[2];
    tables[0] = pt_net_param_table(m.net, &counts[0]);
    tables[1] = pt_net_state_table(m.net, &counts[1]);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < counts[k]; i++) {
            char name[128];
            snprintf(name, sizeof name, "/model/%s/%s", tables[k][i].layer, tables[k][i].field);
            cr_assert_eq(h5_tamper_has_checksum(path, name), 1, "%s has no checksum", name);
        }
    cr_assert_eq(h5_tamper_cset(path, "/", "class_names"), H5T_CSET_UTF8);
    cr_assert_eq(h5_tamper_cset(path, "/", "arch"), H5T_CSET_UTF8);
    pt_model_meta meta;
    pt_error err;
    cr_assert_eq(pt_model_read_meta(path, &meta, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(meta.class_names[1], "Lungenentz\xc3\xbcndung");
    destroy(&m);
}
