/* Model files (see model_io.h): one dataset per tensor under /model, named as PyTorch names
 * them, so that anyone can read the weights without ptrain. Written and read serially. */
#include "ptrain/model_io.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ptrain/fs.h"
#include "ptrain/h5util.h"

pt_infer_params pt_model_infer_params(const pt_model_meta *meta)
{
    return (pt_infer_params){.height = meta->height,
                             .width = meta->width,
                             .mean = meta->mean,
                             .std = meta->std,
                             .multi_label = meta->multi_label};
}

void pt_model_meta_init(pt_model_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->mean = 0.0;
    meta->std = 1.0;
    meta->threshold = NAN;
    pt_strlcpy(meta->generator, "ptrain " PT_VERSION, sizeof meta->generator);
}

/* ---- HDF5 helpers ---- */

static void format_shape(const int64_t *shape, int ndims, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < ndims && used < cap; d++)
        used +=
            (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? "," : "", (long long)shape[d]);
}

/* ---- saving ---- */

static int check_meta(const char *path, const pt_net *net, const pt_arch *arch,
                      const pt_model_meta *meta, pt_error *err)
{
    if (!net || !arch || !arch->text || !meta)
        return pt_error_set(err, PT_ERR_INVALID, "%s: nothing to save", path);
    if (meta->n_classes < 1 || meta->n_classes > PT_MODEL_MAX_CLASSES)
        return pt_error_set(err, PT_ERR_INVALID, "%s: %d classes (1..%d supported)", path,
                            meta->n_classes, PT_MODEL_MAX_CLASSES);
    if (meta->n_classes != pt_net_outputs(net))
        return pt_error_set(err, PT_ERR_INVALID, "%s: %d class names for a network with %d outputs",
                            path, meta->n_classes, pt_net_outputs(net));
    if (meta->channels < 1 || meta->height < 1 || meta->width < 1)
        return pt_error_set(err, PT_ERR_INVALID, "%s: input shape %dx%dx%d", path, meta->channels,
                            meta->height, meta->width);
    if (!(meta->std > 0.0) || !isfinite(meta->std) || !isfinite(meta->mean))
        return pt_error_set(err, PT_ERR_INVALID, "%s: normalisation mean %g std %g", path,
                            meta->mean, meta->std);
    return PT_OK;
}

static int write_meta(hid_t file, const pt_arch *arch, const pt_model_meta *meta, const char *f,
                      pt_error *err)
{
    const char *names[PT_MODEL_MAX_CLASSES];
    for (int i = 0; i < meta->n_classes; i++)
        names[i] = meta->class_names[i];
    const char *arch_name = meta->arch_name[0] ? meta->arch_name : arch->name;
    /* A model without a date is a puzzle a year later: default to now. */
    char now[32];
    pt_time_iso8601(now, sizeof now);
    const char *created = meta->created[0] ? meta->created : now;
    int s = pt_h5_attr_write_string(file, "format", PT_MODEL_FORMAT, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "version", PT_MODEL_VERSION, f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "arch", arch->text, f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "arch_name", arch_name, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "input_channels", meta->channels, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "input_height", meta->height, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "input_width", meta->width, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "n_classes", meta->n_classes, f, err);
    if (!s)
        s = pt_h5_attr_write_strings(file, "class_names", names, (size_t)meta->n_classes, f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "label_mode", meta->multi_label ? "multi" : "single", f,
                                    err);
    if (!s)
        s = pt_h5_attr_write_f64(file, "mean", meta->mean, f, err);
    if (!s)
        s = pt_h5_attr_write_f64(file, "std", meta->std, f, err);
    if (!s)
        s = pt_h5_attr_write_f64(file, "threshold", meta->threshold, f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "created", created, f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "generator", meta->generator, f, err);
    return s;
}

/* Writes /model/<layer>/<field> for every tensor of a table, creating layer groups as needed. */
static int write_tensors(hid_t model, const pt_tensor_info *table, int n, const float *buf,
                         const char *f, pt_error *err)
{
    for (int i = 0; i < n; i++) {
        const pt_tensor_info *t = &table[i];
        htri_t exists = H5Lexists(model, t->layer, H5P_DEFAULT);
        hid_t group = exists > 0 ? H5Gopen2(model, t->layer, H5P_DEFAULT)
                      : exists == 0
                          ? H5Gcreate2(model, t->layer, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                          : -1;
        if (group < 0)
            return pt_h5_fail(err, f, t->layer);
        hsize_t dims[4];
        for (int d = 0; d < t->ndims; d++)
            dims[d] = (hsize_t)t->shape[d];
        /* one chunk per tensor, with a checksum that every load verifies */
        int status = PT_OK;
        hid_t space = H5Screate_simple(t->ndims, dims, NULL);
        hid_t dcpl = pt_h5_checksum_dcpl(t->ndims, dims, 0);
        hid_t dset = space < 0 || dcpl < 0 ? -1
                                           : H5Dcreate2(group, t->field, H5T_IEEE_F32LE, space,
                                                        H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (dset < 0 ||
            H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf + t->offset) < 0)
            status = pt_h5_fail(err, f, t->name);
        if (dset >= 0 && H5Dclose(dset) < 0 && status == PT_OK)
            status = pt_h5_fail(err, f, t->name);
        if (dcpl >= 0)
            H5Pclose(dcpl);
        if (space >= 0)
            H5Sclose(space);
        if (H5Gclose(group) < 0 && status == PT_OK)
            status = pt_h5_fail(err, f, t->layer);
        if (status != PT_OK)
            return status;
    }
    return PT_OK;
}

int pt_model_save(const char *path, const pt_net *net, const pt_arch *arch,
                  const pt_model_meta *meta, pt_error *err)
{
    pt_h5_quiet();
    int status = check_meta(path, net, arch, meta, err);
    if (status != PT_OK)
        return status;
    /* The net's accessors take a mutable net for the training loop; saving only reads. */
    pt_net *mnet = (pt_net *)net;
    int n_params, n_state;
    const pt_tensor_info *params = pt_net_param_table(net, &n_params);
    const pt_tensor_info *state = pt_net_state_table(net, &n_state);
    hid_t model = -1;
    /* built in memory, written in one piece (see pt_h5_create_memory) */
    pt_h5_memory mem;
    status = pt_h5_create_memory(path, &mem, err);
    if (status != PT_OK)
        goto done;
    status = write_meta(mem.file, arch, meta, path, err);
    if (status != PT_OK)
        goto done;
    model = H5Gcreate2(mem.file, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (model < 0) {
        status = pt_h5_fail(err, path, "model");
        goto done;
    }
    status = write_tensors(model, params, n_params, pt_net_params(mnet), path, err);
    if (status == PT_OK)
        status = write_tensors(model, state, n_state, pt_net_state(mnet), path, err);
done:
    if (model >= 0 && H5Gclose(model) < 0 && status == PT_OK)
        status = pt_h5_fail(err, path, "model");
    if (status == PT_OK)
        return pt_h5_commit_memory(&mem, path, err);
    pt_h5_discard_memory(&mem);
    return status;
}

/* ---- loading ---- */

static int read_meta(hid_t file, const char *f, pt_model_meta *meta, pt_error *err)
{
    pt_model_meta_init(meta);
    meta->generator[0] = '\0';
    char format[64] = "";
    htri_t has_format = H5Aexists(file, "format");
    if (has_format < 0) /* damaged metadata, not another kind of file */
        return pt_h5_fail(err, f, "root attributes");
    if (has_format == 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: not a ptrain model (no format attribute)", f);
    int s = pt_h5_attr_read_string(file, "format", format, sizeof format, f, err);
    if (s)
        return s;
    if (strcmp(format, PT_MODEL_FORMAT) != 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: not a ptrain model (format is '%s')", f,
                            format);
    int64_t version = 0, c = 0, h = 0, w = 0, k = 0;
    s = pt_h5_attr_read_i64(file, "version", &version, f, err);
    if (s)
        return s;
    if (version != PT_MODEL_VERSION)
        return pt_error_set(err, PT_ERR_UNSUPPORTED,
                            "%s: model format version %" PRId64 ", this ptrain reads version %d", f,
                            version, PT_MODEL_VERSION);
    char label_mode[16] = "";
    size_t n_names = 0;
    s = pt_h5_attr_read_string(file, "arch_name", meta->arch_name, sizeof meta->arch_name, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "input_channels", &c, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "input_height", &h, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "input_width", &w, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "n_classes", &k, f, err);
    if (!s)
        s = pt_h5_attr_read_strings(file, "class_names", &meta->class_names[0][0],
                                    PT_MODEL_NAME_MAX, PT_MODEL_MAX_CLASSES, &n_names, f, err);
    if (!s)
        s = pt_h5_attr_read_string(file, "label_mode", label_mode, sizeof label_mode, f, err);
    if (!s)
        s = pt_h5_attr_read_f64(file, "mean", &meta->mean, f, err);
    if (!s)
        s = pt_h5_attr_read_f64(file, "std", &meta->std, f, err);
    if (!s)
        s = pt_h5_attr_read_f64(file, "threshold", &meta->threshold, f, err);
    if (s)
        return s;
    /* informational: a file written by another tool may lack them */
    pt_h5_attr_read_string(file, "created", meta->created, sizeof meta->created, f, NULL);
    pt_h5_attr_read_string(file, "generator", meta->generator, sizeof meta->generator, f, NULL);
    H5Eclear2(H5E_DEFAULT);
    if (c < 1 || h < 1 || w < 1 || c > 65536 || h > 65536 || w > 65536)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: implausible input shape %" PRId64 "x%" PRId64 "x%" PRId64, f, c, h,
                            w);
    if (k < 1 || k > PT_MODEL_MAX_CLASSES || (size_t)k != n_names)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: n_classes is %" PRId64 " but %zu class names",
                            f, k, n_names);
    if (strcmp(label_mode, "single") != 0 && strcmp(label_mode, "multi") != 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: label_mode '%s' (single or multi expected)", f,
                            label_mode);
    /* Every input is normalised with these and every decision taken with the threshold: a value
     * out of range would give wrong answers without a word, so it is refused here. */
    if (!isfinite(meta->mean) || !isfinite(meta->std) || !(meta->std > 0.0))
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: normalisation mean %g std %g: expected finite numbers, std > 0", f,
                            meta->mean, meta->std);
    if (!isnan(meta->threshold) && !(meta->threshold >= 0.0 && meta->threshold <= 1.0))
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: threshold %g: expected a probability in [0, 1] (or NaN: none)", f,
                            meta->threshold);
    meta->channels = (int)c;
    meta->height = (int)h;
    meta->width = (int)w;
    meta->n_classes = (int)k;
    meta->multi_label = strcmp(label_mode, "multi") == 0;
    return PT_OK;
}

int pt_model_read_meta(const char *path, pt_model_meta *meta, pt_error *err)
{
    hid_t file;
    int status = pt_h5_open_file(path, &file, err);
    if (status != PT_OK)
        return status;
    status = read_meta(file, path, meta, err);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    return status;
}

/* 1 if some tensor of the tables lives in `layer` (and, when field is not NULL, is that field). */
static int known_tensor(const pt_tensor_info *const tables[2], const int counts[2],
                        const char *layer, const char *field)
{
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < counts[k]; i++)
            if (strcmp(tables[k][i].layer, layer) == 0 &&
                (!field || strcmp(tables[k][i].field, field) == 0))
                return 1;
    return 0;
}

/* The name of link i of group g into buf; -1 on error. */
static int link_name(hid_t g, hsize_t i, char *buf, size_t cap)
{
    ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, cap, H5P_DEFAULT);
    return len < 0 ? -1 : 0;
}

/* Rejects anything under /model the network does not have: a file of another architecture must
 * not load half its weights silently. (Link names and counts only, no visit callbacks, whose
 * signature changed between HDF5 1.10 and 1.12.) */
static int check_no_extra(hid_t model, const pt_tensor_info *const tables[2], const int counts[2],
                          const char *f, pt_error *err)
{
    H5G_info_t info;
    if (H5Gget_info(model, &info) < 0)
        return pt_h5_fail(err, f, "model");
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char layer[256];
        if (link_name(model, i, layer, sizeof layer) < 0)
            return pt_h5_fail(err, f, "model");
        if (!known_tensor(tables, counts, layer, NULL))
            return pt_error_set(err, PT_ERR_FORMAT,
                                "%s: /model/%s is not part of the stored architecture", f, layer);
        hid_t g = H5Gopen2(model, layer, H5P_DEFAULT);
        H5G_info_t ginfo;
        if (g < 0 || H5Gget_info(g, &ginfo) < 0) {
            if (g >= 0)
                H5Gclose(g);
            return pt_error_set(err, PT_ERR_FORMAT, "%s: /model/%s is not a group", f, layer);
        }
        int status = PT_OK;
        for (hsize_t j = 0; j < ginfo.nlinks && status == PT_OK; j++) {
            char field[256];
            if (link_name(g, j, field, sizeof field) < 0)
                status = pt_h5_fail(err, f, layer);
            else if (!known_tensor(tables, counts, layer, field))
                status = pt_error_set(err, PT_ERR_FORMAT,
                                      "%s: /model/%s/%s is not part of the stored architecture", f,
                                      layer, field);
        }
        H5Gclose(g);
        if (status != PT_OK)
            return status;
    }
    return PT_OK;
}

/* The first value of x[n] that is not finite, or -1. */
static int64_t first_non_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return (int64_t)i;
    return -1;
}

/* Reads one tensor after checking it is a float dataset of exactly the tensor's shape; its
 * values must be finite (a NaN weight makes every answer NaN). */
static int read_tensor(hid_t model, const pt_tensor_info *t, float *buf, const char *f,
                       pt_error *err)
{
    char name[2 * PT_NET_NAME_MAX + 2];
    snprintf(name, sizeof name, "%s/%s", t->layer, t->field);
    htri_t exists =
        H5Lexists(model, t->layer, H5P_DEFAULT) > 0 ? H5Lexists(model, name, H5P_DEFAULT) : 0;
    if (exists <= 0) {
        char want[96];
        format_shape(t->shape, t->ndims, want, sizeof want);
        H5Eclear2(H5E_DEFAULT);
        return pt_error_set(err, PT_ERR_FORMAT, "%s: tensor %s missing (/model/%s, shape [%s])", f,
                            t->name, name, want);
    }
    char what[PT_ERROR_MSG_MAX / 2];
    snprintf(what, sizeof what, "%s: tensor %s", f, t->name);
    pt_h5_expect want = {PT_H5_FLOAT, t->ndims, {0}};
    for (int d = 0; d < t->ndims; d++)
        want.dims[d] = t->shape[d];
    hid_t dset;
    int status = pt_h5_dataset_open(model, name, &want, &dset, NULL, what, err);
    if (status != PT_OK)
        return status;
    status = pt_h5_read(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, buf + t->offset, what, err);
    H5Dclose(dset);
    int64_t bad = status == PT_OK ? first_non_finite(buf + t->offset, t->count) : -1;
    if (bad >= 0)
        status = pt_error_set(err, PT_ERR_FORMAT, "%s holds %s at index %lld: the model is broken",
                              what, isnan(buf[t->offset + (size_t)bad]) ? "NaN" : "an infinity",
                              (long long)bad);
    return status;
}

int pt_model_load(const char *path, pt_arch *arch, pt_net **net, pt_model_meta *meta, int max_batch,
                  pt_error *err)
{
    *net = NULL;
    memset(arch, 0, sizeof *arch);
    hid_t file, model = -1;
    char *text = NULL;
    pt_net *built = NULL;
    int status = pt_h5_open_file(path, &file, err);
    if (status != PT_OK)
        return status;
    status = read_meta(file, path, meta, err);
    if (status == PT_OK)
        status = pt_h5_attr_read_string_alloc(file, "arch", &text, path, err);
    if (status != PT_OK)
        goto done;

    pt_error inner;
    pt_error_clear(&inner);
    if (pt_arch_parse(text, meta->arch_name, arch, &inner) != PT_OK) {
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: stored architecture: %s", path, inner.msg);
        goto done;
    }
    if (pt_net_create(arch, meta->channels, meta->height, meta->width, meta->n_classes, max_batch,
                      &built, &inner) != PT_OK) {
        status = pt_error_set(err, inner.code, "%s: stored architecture does not build: %s", path,
                              inner.msg);
        goto done;
    }
    if (pt_net_outputs(built) != meta->n_classes) {
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: the network gives %d outputs for %d classes",
                              path, pt_net_outputs(built), meta->n_classes);
        goto done;
    }
    model = H5Gopen2(file, "model", H5P_DEFAULT);
    if (model < 0) {
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: no /model group", path);
        goto done;
    }
    const pt_tensor_info *tables[2];
    int counts[2];
    tables[0] = pt_net_param_table(built, &counts[0]);
    tables[1] = pt_net_state_table(built, &counts[1]);
    float *bufs[2] = {pt_net_params(built), pt_net_state(built)};
    for (int k = 0; k < 2 && status == PT_OK; k++)
        for (int i = 0; i < counts[k] && status == PT_OK; i++)
            status = read_tensor(model, &tables[k][i], bufs[k], path, err);
    if (status == PT_OK)
        status = check_no_extra(model, tables, counts, path, err);
done:
    if (model >= 0)
        H5Gclose(model);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    free(text);
    if (status != PT_OK) {
        pt_net_free(built);
        pt_arch_free(arch);
        return status;
    }
    *net = built;
    return PT_OK;
}
