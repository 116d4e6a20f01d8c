/* Checkpoints (see ckpt.h): one HDF5 file per saved step, written serially by the one process
 * that owns the run directory, made visible only when complete. */
#include "ptrain/ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#define CKPT_PREFIX  "ckpt-"
#define CKPT_DIGITS  9 /* zero padding: names sort by step in `ls` */
#define LAYOUT_WIDTH 256

/* ---- small HDF5 helpers ---- */

static int attr_write_u64(hid_t obj, const char *name, uint64_t value, const char *file,
                          pt_error *err)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0)
        return pt_h5_fail(err, file, name);
    int status = PT_OK;
    hid_t attr = H5Acreate2(obj, name, H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, H5T_NATIVE_UINT64, &value) < 0)
        status = pt_h5_fail(err, file, name);
    if (attr >= 0 && H5Aclose(attr) < 0 && status == PT_OK)
        status = pt_h5_fail(err, file, name);
    H5Sclose(space);
    return status;
}

static int attr_read_u64(hid_t obj, const char *name, uint64_t *value, const char *file,
                         pt_error *err)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: attribute '%s' missing", file, name);
    int status = H5Aread(attr, H5T_NATIVE_UINT64, value) < 0 ? pt_h5_fail(err, file, name) : PT_OK;
    H5Aclose(attr);
    return status;
}

/* Chunks of the 1-D datasets: 4 MiB, each with a Fletcher32 checksum verified on every load. */
#define CHUNK_BYTES (4u << 20)

/* A 1-D dataset [n] of `type` holding data, chunked and checksummed (an empty dataset, nothing
 * to checksum, when n is 0). */
static int write_rows(hid_t loc, const char *name, hid_t type, hid_t mem_type, const void *data,
                      size_t n, const char *file, pt_error *err)
{
    hsize_t dims[1] = {n}, chunk[1];
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = pt_h5_row_chunk(1, dims, H5Tget_size(type), CHUNK_BYTES, chunk)
                     ? pt_h5_checksum_dcpl(1, chunk, 0)
                     : H5Pcreate(H5P_DATASET_CREATE);
    int status = PT_OK;
    hid_t dset = space < 0 || dcpl < 0
                     ? -1
                     : H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0 || (n > 0 && H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        status = pt_h5_fail(err, file, name);
    if (dset >= 0 && H5Dclose(dset) < 0 && status == PT_OK)
        status = pt_h5_fail(err, file, name);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return status;
}

static int write_floats(hid_t loc, const char *name, const float *data, size_t n, const char *file,
                        pt_error *err)
{
    return write_rows(loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, n, file, err);
}

/* Opens float32 dataset `name` and checks it holds exactly n values. */
static int open_floats(hid_t loc, const char *name, size_t n, hid_t *dset, const char *file,
                       pt_error *err)
{
    pt_h5_expect want = {PT_H5_F32, 1, {(int64_t)n}};
    return pt_h5_dataset_open(loc, name, &want, dset, NULL, file, err);
}

/* Reads n floats; every one must be finite (training never saves a NaN: it stops first). */
static int read_floats(hid_t loc, const char *name, float *dst, size_t n, const char *file,
                       pt_error *err)
{
    hid_t dset;
    int status = open_floats(loc, name, n, &dset, file, err);
    if (status != PT_OK)
        return status;
    if (n > 0)
        status = pt_h5_read(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, dst, file, err);
    for (size_t i = 0; status == PT_OK && i < n; i++)
        if (!isfinite(dst[i])) {
            char path[256] = "?";
            H5Iget_name(dset, path, sizeof path);
            status = pt_error_set(err, PT_ERR_FORMAT, "%s: dataset %s holds %s at index %zu", file,
                                  path, isnan(dst[i]) ? "NaN" : "an infinity", i);
        }
    H5Dclose(dset);
    return status;
}

/* ---- tensor layout: one line per tensor, compared as text ---- */

static void describe_tensor(const pt_tensor_info *t, char *buf, size_t cap)
{
    char shape[128] = "";
    size_t used = 0;
    for (int d = 0; d < t->ndims && d < 4 && used < sizeof shape; d++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%lld", d ? "," : "",
                                 (long long)t->shape[d]);
    snprintf(buf, cap, "%s [%s] @%zu", t->name, shape, t->offset);
}

static int write_layout(hid_t loc, const char *name, const pt_tensor_info *table, int n,
                        const char *file, pt_error *err)
{
    char *packed = calloc(n > 0 ? (size_t)n : 1, LAYOUT_WIDTH);
    if (!packed)
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", file);
    for (int i = 0; i < n; i++)
        describe_tensor(&table[i], packed + (size_t)i * LAYOUT_WIDTH, LAYOUT_WIDTH);
    hid_t type = pt_h5_string_type(LAYOUT_WIDTH);
    int status = type < 0 ? pt_h5_fail(err, file, name)
                          : write_rows(loc, name, type, type, packed, (size_t)n, file, err);
    if (type >= 0)
        H5Tclose(type);
    free(packed);
    return status;
}

/* Compares the stored layout with the caller's table; what = "parameter" or "state". */
static int check_layout(hid_t loc, const char *name, const pt_tensor_info *table, int n,
                        const char *what, const char *file, pt_error *err)
{
    pt_h5_expect want = {PT_H5_STRING, 1, {PT_H5_ANY}};
    hid_t dset;
    int64_t dims[1];
    int status = pt_h5_dataset_open(loc, name, &want, &dset, dims, file, err);
    if (status != PT_OK)
        return status;
    char *packed = NULL;
    hid_t mem_type = -1;
    hid_t file_type = H5Dget_type(dset);
    if (file_type < 0) {
        status = pt_h5_fail(err, file, name);
        goto done;
    }
    if (dims[0] != n) {
        status = pt_error_set(err, PT_ERR_FORMAT,
                              "%s was written for a network with %lld %s tensors, this one has %d",
                              file, (long long)dims[0], what, n);
        goto done;
    }
    /* One byte wider than the file's strings, so every value arrives NUL-terminated. */
    size_t width = H5Tget_size(file_type) + 1;
    mem_type = pt_h5_string_read_type(file_type, width);
    packed = calloc(n > 0 ? (size_t)n : 1, width);
    if (mem_type < 0 || !packed) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", file);
        goto done;
    }
    if (n > 0 &&
        (status = pt_h5_read(dset, mem_type, H5S_ALL, H5S_ALL, packed, file, err)) != PT_OK)
        goto done;
    for (int i = 0; i < n; i++) {
        char mine[LAYOUT_WIDTH];
        describe_tensor(&table[i], mine, sizeof mine);
        const char *theirs = packed + (size_t)i * width;
        if (strcmp(mine, theirs) != 0) {
            status = pt_error_set(err, PT_ERR_FORMAT,
                                  "%s was written for another network: %s tensor %d is '%s' "
                                  "there, '%s' here",
                                  file, what, i, theirs, mine);
            goto done;
        }
    }
done:
    free(packed);
    if (mem_type >= 0)
        H5Tclose(mem_type);
    if (file_type >= 0)
        H5Tclose(file_type);
    H5Dclose(dset);
    return status;
}

/* ---- names ---- */

int pt_ckpt_path(const char *dir, int64_t global_step, char *path, size_t cap, pt_error *err)
{
    if (global_step < 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: negative checkpoint step %" PRId64, dir,
                            global_step);
    int n =
        snprintf(path, cap, "%s/" CKPT_PREFIX "%0*" PRId64 ".h5", dir, CKPT_DIGITS, global_step);
    if (n < 0 || (size_t)n >= cap)
        return pt_error_set(err, PT_ERR_INVALID, "%s: checkpoint path too long", dir);
    return PT_OK;
}

/* Parses a directory entry name: 1 = checkpoint "ckpt-<digits>.h5", 2 = temporary
 * "ckpt-<digits>.h5.tmp", 0 = anything else (left alone). */
static int parse_name(const char *name, int64_t *step)
{
    size_t plen = strlen(CKPT_PREFIX);
    if (strncmp(name, CKPT_PREFIX, plen) != 0)
        return 0;
    const char *p = name + plen;
    int64_t value = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (digits >= 18) /* more would overflow int64 and is nothing we wrote */
            return 0;
        value = value * 10 + (*p - '0');
        digits++;
        p++;
    }
    if (digits < CKPT_DIGITS)
        return 0;
    *step = value;
    if (strcmp(p, ".h5") == 0)
        return 1;
    if (strcmp(p, ".h5.tmp") == 0)
        return 2;
    return 0;
}

typedef struct entry {
    int64_t step;
    int kind; /* 1 checkpoint, 2 temporary */
    char *path;
} entry;

static int by_step_desc(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? 1 : -1;
    return x->kind - y->kind;
}

static void free_entries(entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].path);
    free(e);
}

/* Lists the checkpoint and temporary files of dir, newest step first. A missing directory is an
 * empty list. */
static int list_dir(const char *dir, entry **out, size_t *count, pt_error *err)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return PT_OK;
        return pt_error_set(err, PT_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    }
    int status = PT_OK;
    entry *list = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno != 0)
                status = pt_error_set(err, PT_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
            break;
        }
        int64_t step;
        int kind = parse_name(de->d_name, &step);
        if (!kind)
            continue;
        if (n == cap) {
            size_t new_cap = cap ? 2 * cap : 16;
            entry *grown = realloc(list, new_cap * sizeof *grown);
            if (!grown) {
                status = pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            list = grown;
            cap = new_cap;
        }
        size_t len = strlen(dir) + 1 + strlen(de->d_name) + 1;
        char *path = malloc(len);
        if (!path) {
            status = pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        snprintf(path, len, "%s/%s", dir, de->d_name);
        list[n++] = (entry){step, kind, path};
    }
    closedir(d);
    if (status != PT_OK) {
        free_entries(list, n);
        return status;
    }
    if (n > 1)
        qsort(list, n, sizeof *list, by_step_desc);
    *out = list;
    *count = n;
    return PT_OK;
}

/* ---- saving ---- */

static int check_table(const pt_tensor_info *table, int n, size_t total, const char *what,
                       pt_error *err)
{
    if (n < 0 || (n > 0 && !table))
        return pt_error_set(err, PT_ERR_INVALID, "checkpoint: no %s table", what);
    size_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += table[i].count;
    if (sum != total)
        return pt_error_set(err, PT_ERR_INVALID,
                            "checkpoint: the %s table covers %zu floats, the buffer has %zu", what,
                            sum, total);
    return PT_OK;
}

/* Checks that the caller's description is self-consistent (a programming error otherwise). */
static int check_ckpt(const pt_ckpt *ck, pt_error *err)
{
    if (!ck || !ck->optim || (ck->n_params > 0 && !ck->params) || (ck->n_state > 0 && !ck->state))
        return pt_error_set(err, PT_ERR_INVALID, "checkpoint: missing buffer");
    if (!pt_optim_name(ck->optim->kind))
        return pt_error_set(err, PT_ERR_INVALID, "checkpoint: unknown optimizer kind %d",
                            (int)ck->optim->kind);
    if (ck->optim->n != ck->n_params || (ck->n_params > 0 && !ck->optim->buf))
        return pt_error_set(
            err, PT_ERR_INVALID,
            "checkpoint: optimizer state covers %zu parameters, the network has %zu", ck->optim->n,
            ck->n_params);
    int s = check_table(ck->param_table, ck->n_param_tensors, ck->n_params, "parameter", err);
    if (s == PT_OK)
        s = check_table(ck->state_table, ck->n_state_tensors, ck->n_state, "state", err);
    return s;
}

/* Root mean square of the parameters: what tells a sound checkpoint from an exploded one. */
static double param_rms(const float *params, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)params[i] * (double)params[i];
    return n ? sqrt(sum / (double)n) : 0.0;
}

static int write_contents(hid_t file, const pt_ckpt *ck, const char *f, pt_error *err)
{
    char created[32];
    pt_time_iso8601(created, sizeof created);
    int s = pt_h5_attr_write_string(file, "format", PT_CKPT_FORMAT, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "version", PT_CKPT_VERSION, f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "created", created, f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "generator", "ptrain " PT_VERSION, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "epoch", ck->epoch, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "step_in_epoch", ck->step_in_epoch, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "global_step", ck->global_step, f, err);
    if (!s)
        s = attr_write_u64(file, "seed", ck->seed, f, err);
    if (!s)
        s = pt_h5_attr_write_f64(file, "best_score", ck->best_score, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "best_epoch", ck->best_epoch, f, err);
    if (!s)
        s = pt_h5_attr_write_f64(file, "train_loss", ck->train_loss, f, err);
    if (!s)
        s = pt_h5_attr_write_f64(file, "param_rms", param_rms(ck->params, ck->n_params), f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "config", ck->config ? ck->config : "", f, err);
    if (!s)
        s = pt_h5_attr_write_string(file, "arch", ck->arch_text ? ck->arch_text : "", f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "n_params", (int64_t)ck->n_params, f, err);
    if (!s)
        s = pt_h5_attr_write_i64(file, "n_state", (int64_t)ck->n_state, f, err);
    if (!s)
        s = write_floats(file, "params", ck->params, ck->n_params, f, err);
    if (!s)
        s = write_floats(file, "state", ck->state, ck->n_state, f, err);
    if (s)
        return s;

    hid_t layout = H5Gcreate2(file, "layout", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (layout < 0)
        return pt_h5_fail(err, f, "layout");
    s = write_layout(layout, "params", ck->param_table, ck->n_param_tensors, f, err);
    if (!s)
        s = write_layout(layout, "state", ck->state_table, ck->n_state_tensors, f, err);
    if (H5Gclose(layout) < 0 && !s)
        s = pt_h5_fail(err, f, "layout");
    if (s)
        return s;

    const pt_optim_state *o = ck->optim;
    hid_t optim = H5Gcreate2(file, "optim", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (optim < 0)
        return pt_h5_fail(err, f, "optim");
    s = pt_h5_attr_write_string(optim, "kind", pt_optim_name(o->kind), f, err);
    if (!s)
        s = pt_h5_attr_write_i64(optim, "step", o->step, f, err);
    for (int i = 0; !s && i < pt_optim_state_buffers(o->kind); i++)
        s = write_floats(optim, pt_optim_state_buffer_name(o->kind, i), o->buf + (size_t)i * o->n,
                         o->n, f, err);
    if (H5Gclose(optim) < 0 && !s)
        s = pt_h5_fail(err, f, "optim");
    return s;
}

int pt_ckpt_save(const char *dir, const pt_ckpt *ck, pt_error *err)
{
    pt_h5_quiet();
    int status = check_ckpt(ck, err);
    if (status != PT_OK)
        return status;
    char path[4096];
    status = pt_ckpt_path(dir, ck->global_step, path, sizeof path, err);
    if (status != PT_OK)
        return status;

    /* Built in memory and written in one piece (see pt_h5_create_memory): a full disk is a plain
     * write error, and the name appears only once the whole file, marker included, is synced. */
    pt_h5_memory mem;
    status = pt_h5_create_memory(path, &mem, err);
    if (status == PT_OK)
        status = write_contents(mem.file, ck, path, err);
    if (status == PT_OK)
        status = pt_h5_attr_write_i64(mem.file, "complete", 1, path, err);
    if (status == PT_OK)
        return pt_h5_commit_memory(&mem, path, err);
    pt_h5_discard_memory(&mem);
    return status;
}

/* ---- reading ---- */

/* Format, version and the complete marker: what makes a file a usable checkpoint. */
static int check_header(hid_t file, const char *f, pt_error *err)
{
    char format[64] = "";
    htri_t has_format = H5Aexists(file, "format");
    if (has_format < 0) /* damaged metadata, not another kind of file */
        return pt_h5_fail(err, f, "root attributes");
    if (has_format == 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: not a ptrain checkpoint (no format attribute)",
                            f);
    int s = pt_h5_attr_read_string(file, "format", format, sizeof format, f, err);
    if (s)
        return s;
    if (strcmp(format, PT_CKPT_FORMAT) != 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: not a ptrain checkpoint (format is '%s')", f,
                            format);
    int64_t version = 0, complete = 0;
    s = pt_h5_attr_read_i64(file, "version", &version, f, err);
    if (s)
        return s;
    if (version != PT_CKPT_VERSION)
        return pt_error_set(err, PT_ERR_UNSUPPORTED,
                            "%s: checkpoint format version %" PRId64
                            ", this ptrain reads version %d",
                            f, version, PT_CKPT_VERSION);
    if (H5Aexists(file, "complete") <= 0 ||
        pt_h5_attr_read_i64(file, "complete", &complete, f, NULL) != PT_OK || complete != 1) {
        H5Eclear2(H5E_DEFAULT);
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: incomplete checkpoint (no complete marker: its writer was "
                            "interrupted)",
                            f);
    }
    return PT_OK;
}

static int read_info(hid_t file, const char *f, pt_ckpt_info *info, pt_error *err)
{
    memset(info, 0, sizeof *info);
    char kind[32] = "";
    int s = pt_h5_attr_read_i64(file, "epoch", &info->epoch, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "step_in_epoch", &info->step_in_epoch, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "global_step", &info->global_step, f, err);
    if (!s)
        s = attr_read_u64(file, "seed", &info->seed, f, err);
    if (!s)
        s = pt_h5_attr_read_f64(file, "best_score", &info->best_score, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "best_epoch", &info->best_epoch, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "n_params", &info->n_params, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(file, "n_state", &info->n_state, f, err);
    if (s)
        return s;
    /* written since pruning keeps the checkpoint before a loss explosion; older files: unknown */
    info->train_loss = info->param_rms = NAN;
    if (H5Aexists(file, "train_loss") > 0 &&
        pt_h5_attr_read_f64(file, "train_loss", &info->train_loss, f, err) != PT_OK)
        return err ? err->code : PT_ERR_FORMAT;
    if (H5Aexists(file, "param_rms") > 0 &&
        pt_h5_attr_read_f64(file, "param_rms", &info->param_rms, f, err) != PT_OK)
        return err ? err->code : PT_ERR_FORMAT;
    hid_t optim = H5Gopen2(file, "optim", H5P_DEFAULT);
    if (optim < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: group /optim missing", f);
    s = pt_h5_attr_read_string(optim, "kind", kind, sizeof kind, f, err);
    if (!s)
        s = pt_h5_attr_read_i64(optim, "step", &info->optim_step, f, err);
    H5Gclose(optim);
    if (s)
        return s;
    if (pt_optim_parse(kind, &info->optim_kind) != PT_OK)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: unknown optimizer '%s'", f, kind);
    if (info->n_params < 0 || info->n_state < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: negative parameter count", f);
    return PT_OK;
}

int pt_ckpt_peek(const char *path, pt_ckpt_info *info, pt_error *err)
{
    hid_t file;
    int status = pt_h5_open_file(path, &file, err);
    if (status != PT_OK)
        return status;
    pt_ckpt_info local;
    status = check_header(file, path, err);
    if (status == PT_OK)
        status = read_info(file, path, info ? info : &local, err);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    return status;
}

void pt_ckpt_free_loaded(pt_ckpt *ck)
{
    free(ck->loaded_config);
    free(ck->loaded_arch_text);
    ck->loaded_config = NULL;
    ck->loaded_arch_text = NULL;
}

/* Reads the buffers; called only once everything has been checked against the caller. */
static int read_buffers(hid_t file, pt_ckpt *ck, const char *f, pt_error *err)
{
    int s = read_floats(file, "params", ck->params, ck->n_params, f, err);
    if (!s)
        s = read_floats(file, "state", ck->state, ck->n_state, f, err);
    if (s)
        return s;
    pt_optim_state *o = ck->optim;
    hid_t optim = H5Gopen2(file, "optim", H5P_DEFAULT);
    if (optim < 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: group /optim missing", f);
    for (int i = 0; !s && i < pt_optim_state_buffers(o->kind); i++)
        s = read_floats(optim, pt_optim_state_buffer_name(o->kind, i), o->buf + (size_t)i * o->n,
                        o->n, f, err);
    H5Gclose(optim);
    return s;
}

/* Checks that every dataset has the expected size before anything is overwritten. */
static int check_buffers(hid_t file, const pt_ckpt *ck, const char *f, pt_error *err)
{
    hid_t dset;
    int s = open_floats(file, "params", ck->n_params, &dset, f, err);
    if (s)
        return s;
    H5Dclose(dset);
    if ((s = open_floats(file, "state", ck->n_state, &dset, f, err)) != PT_OK)
        return s;
    H5Dclose(dset);
    const pt_optim_state *o = ck->optim;
    for (int i = 0; !s && i < pt_optim_state_buffers(o->kind); i++) {
        char name[64];
        snprintf(name, sizeof name, "optim/%s", pt_optim_state_buffer_name(o->kind, i));
        if ((s = open_floats(file, name, o->n, &dset, f, err)) == PT_OK)
            H5Dclose(dset);
    }
    return s;
}

int pt_ckpt_load(const char *path, pt_ckpt *ck, pt_error *err)
{
    int status = check_ckpt(ck, err);
    if (status != PT_OK)
        return status;
    hid_t file;
    status = pt_h5_open_file(path, &file, err);
    if (status != PT_OK)
        return status;
    pt_ckpt_info info;
    char *config = NULL, *arch = NULL;
    hid_t layout = -1;
    status = check_header(file, path, err);
    if (status == PT_OK)
        status = read_info(file, path, &info, err);
    if (status != PT_OK)
        goto done;
    if ((uint64_t)info.n_params != ck->n_params) {
        status = pt_error_set(err, PT_ERR_FORMAT,
                              "%s was written for a network with %" PRId64
                              " parameters, this one has %zu",
                              path, info.n_params, ck->n_params);
        goto done;
    }
    if ((uint64_t)info.n_state != ck->n_state) {
        status = pt_error_set(err, PT_ERR_FORMAT,
                              "%s was written for a network with %" PRId64
                              " batch-norm state values, this one has %zu",
                              path, info.n_state, ck->n_state);
        goto done;
    }
    if (info.optim_kind != ck->optim->kind) {
        status =
            pt_error_set(err, PT_ERR_FORMAT, "%s was written with optimizer %s, this run uses %s",
                         path, pt_optim_name(info.optim_kind), pt_optim_name(ck->optim->kind));
        goto done;
    }
    layout = H5Gopen2(file, "layout", H5P_DEFAULT);
    if (layout < 0) {
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: group /layout missing", path);
        goto done;
    }
    status = check_layout(layout, "params", ck->param_table, ck->n_param_tensors, "parameter", path,
                          err);
    if (status == PT_OK)
        status =
            check_layout(layout, "state", ck->state_table, ck->n_state_tensors, "state", path, err);
    if (status == PT_OK)
        status = check_buffers(file, ck, path, err);
    if (status == PT_OK)
        status = pt_h5_attr_read_string_alloc(file, "config", &config, path, err);
    if (status == PT_OK)
        status = pt_h5_attr_read_string_alloc(file, "arch", &arch, path, err);
    if (status != PT_OK)
        goto done;
    /* From here on the caller's buffers are overwritten; a read error now leaves them partly
     * loaded, which the caller treats like any failed resume. */
    status = read_buffers(file, ck, path, err);
    if (status != PT_OK)
        goto done;
    ck->optim->step = info.optim_step;
    ck->epoch = info.epoch;
    ck->step_in_epoch = info.step_in_epoch;
    ck->global_step = info.global_step;
    ck->seed = info.seed;
    ck->best_score = info.best_score;
    ck->best_epoch = info.best_epoch;
    ck->train_loss = info.train_loss;
    pt_ckpt_free_loaded(ck);
    ck->loaded_config = config;
    ck->loaded_arch_text = arch;
    config = arch = NULL;
done:
    free(config);
    free(arch);
    if (layout >= 0)
        H5Gclose(layout);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    return status;
}

/* ---- the directory ---- */

int pt_ckpt_list(const char *dir, char ***paths, size_t *count, pt_error *err)
{
    *paths = NULL;
    *count = 0;
    entry *list;
    size_t n;
    int status = list_dir(dir, &list, &n, err);
    if (status != PT_OK)
        return status;
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        free_entries(list, n);
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", dir);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (list[i].kind != 1)
            continue;
        out[k++] = list[i].path; /* ownership moves to the caller's list */
        list[i].path = NULL;
    }
    free_entries(list, n);
    *paths = out;
    *count = k;
    return PT_OK;
}

void pt_ckpt_list_free(char **paths, size_t count)
{
    for (size_t i = 0; paths && i < count; i++)
        free(paths[i]);
    free(paths);
}

int pt_ckpt_check_position(const pt_ckpt_info *info, int64_t epochs, int64_t steps_per_epoch,
                           const char *path, pt_error *err)
{
    if (info->epoch < 0 || info->epoch > epochs)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: epoch %" PRId64 " is outside 0..%" PRId64 " (a run of %" PRId64
                            " epochs)",
                            path, info->epoch, epochs, epochs);
    /* at the end of the last epoch only the final evaluation remains: step 0 */
    int64_t last_step = info->epoch == epochs ? 0 : steps_per_epoch - 1;
    if (info->step_in_epoch < 0 || info->step_in_epoch > last_step)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: step_in_epoch %" PRId64 " is outside 0..%" PRId64 " (%" PRId64
                            " steps per epoch)",
                            path, info->step_in_epoch, last_step, steps_per_epoch);
    int64_t global = info->epoch * steps_per_epoch + info->step_in_epoch;
    if (info->global_step != global)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: global_step %" PRId64 " is outside %" PRId64 "..%" PRId64
                            " (epoch %" PRId64 ", step %" PRId64 " of %" PRId64 " per epoch)",
                            path, info->global_step, global, global, info->epoch,
                            info->step_in_epoch, steps_per_epoch);
    if (info->optim_step < 0 || info->optim_step > info->global_step)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s: optimizer step %" PRId64 " is outside 0..%" PRId64, path,
                            info->optim_step, info->global_step);
    return PT_OK;
}

int pt_ckpt_find_latest(const char *dir, char *path, size_t cap, pt_error *err)
{
    entry *list;
    size_t n;
    int status = list_dir(dir, &list, &n, err);
    if (status != PT_OK)
        return status;
    status = pt_error_set(err, PT_ERR_EMPTY, "%s: no complete checkpoint", dir);
    for (size_t i = 0; i < n; i++) {
        if (list[i].kind != 1 || pt_ckpt_peek(list[i].path, NULL, NULL) != PT_OK)
            continue;
        if (strlen(list[i].path) >= cap) {
            status = pt_error_set(err, PT_ERR_INVALID, "%s: path too long", list[i].path);
        } else {
            pt_strlcpy(path, list[i].path, cap);
            pt_error_clear(err);
            status = PT_OK;
        }
        break;
    }
    free_entries(list, n);
    return status;
}

static int remove_file(const char *path, pt_error *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return pt_error_set(err, PT_ERR_IO, "%s: cannot delete: %s", path, strerror(errno));
    return PT_OK;
}

/* A loss explosion shows in the weights: they grow by orders of magnitude within a few steps
 * (1e19 after some steps of --lr 100), while training that works changes their size slowly. A
 * checkpoint is sound when its parameters' RMS is finite and at most this factor above the
 * smallest of the directory's checkpoints. (The loss alone cannot tell: exploded weights give a
 * loss of 0 on a batch they happen to classify right.) */
#define SOUND_RMS_FACTOR 10.0

/* valid[i]: a complete checkpoint; rms[i]: its parameters' RMS (NaN if unknown). Returns the
 * index of the newest sound one (see SOUND_RMS_FACTOR), or -1. */
static long newest_sound(const entry *list, size_t n, int *valid, double *rms, double *loss)
{
    double smallest = INFINITY;
    for (size_t i = 0; i < n; i++) {
        pt_ckpt_info info;
        valid[i] = list[i].kind == 1 && pt_ckpt_peek(list[i].path, &info, NULL) == PT_OK;
        rms[i] = valid[i] ? info.param_rms : NAN;
        loss[i] = valid[i] ? info.train_loss : NAN;
        if (isfinite(rms[i]) && rms[i] < smallest)
            smallest = rms[i];
    }
    for (size_t i = 0; i < n; i++)
        if (valid[i] && isfinite(rms[i]) && rms[i] <= SOUND_RMS_FACTOR * smallest)
            return (long)i;
    return -1;
}

/* A run's checkpoint folder as pruning and "the last sound checkpoint" see it: every file, newest
 * first, whether each is a complete checkpoint, and the newest sound one. */
typedef struct ckpt_dir {
    entry *list;
    size_t n;
    int *valid;
    double *rms, *loss;
    long sound; /* index of the newest sound checkpoint, or -1 */
} ckpt_dir;

static void ckpt_dir_free(ckpt_dir *d)
{
    free(d->valid);
    free(d->rms);
    free(d->loss);
    free_entries(d->list, d->n);
}

static int ckpt_dir_read(const char *dir, ckpt_dir *d, pt_error *err)
{
    memset(d, 0, sizeof *d);
    int status = list_dir(dir, &d->list, &d->n, err);
    if (status != PT_OK)
        return status;
    size_t slots = d->n ? d->n : 1;
    d->valid = malloc(slots * sizeof *d->valid);
    d->rms = malloc(slots * sizeof *d->rms);
    d->loss = malloc(slots * sizeof *d->loss);
    if (!d->valid || !d->rms || !d->loss) {
        ckpt_dir_free(d);
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", dir);
    }
    d->sound = newest_sound(d->list, d->n, d->valid, d->rms, d->loss);
    return PT_OK;
}

int pt_ckpt_find_sane(const char *dir, char *path, size_t cap, double *train_loss, pt_error *err)
{
    ckpt_dir d;
    int status = ckpt_dir_read(dir, &d, err);
    if (status != PT_OK)
        return status;
    if (d.sound < 0) {
        status = pt_error_set(err, PT_ERR_EMPTY, "%s: no sound checkpoint", dir);
    } else if (pt_strlcpy(path, d.list[d.sound].path, cap) != 0) {
        status = pt_error_set(err, PT_ERR_INVALID, "%s: path too long", d.list[d.sound].path);
    } else if (train_loss) {
        *train_loss = d.loss[d.sound];
    }
    ckpt_dir_free(&d);
    return status;
}

int pt_ckpt_prune(const char *dir, int keep, pt_error *err)
{
    if (keep < 1)
        return pt_error_set(err, PT_ERR_INVALID, "%s: keep %d checkpoints? at least 1", dir, keep);
    ckpt_dir d;
    int status = ckpt_dir_read(dir, &d, err);
    if (status != PT_OK)
        return status;
    /* Besides the newest `keep`, the newest sound one: when the loss explodes the newest
     * checkpoints all hold exploded weights, and this one is what to go back to. */
    int kept = 0;
    int64_t newest_valid = -1;
    for (size_t i = 0; i < d.n && status == PT_OK; i++) {
        if (d.list[i].kind == 2) {
            status = remove_file(d.list[i].path, err);
            continue;
        }
        if (d.valid[i] && (kept < keep || (long)i == d.sound)) {
            kept += kept < keep;
            if (newest_valid < 0)
                newest_valid = d.list[i].step;
            continue;
        }
        /* Older than the newest valid checkpoint: superseded, whether valid or damaged. A
         * damaged file newer than every valid one is left for a person to look at: it is never
         * chosen, and deleting what we do not understand is not ours to decide. */
        if (newest_valid >= 0 && d.list[i].step < newest_valid)
            status = remove_file(d.list[i].path, err);
    }
    ckpt_dir_free(&d);
    return status;
}

int pt_ckpt_read_config(const char *path, char **config, char **arch_text, pt_error *err)
{
    *config = NULL;
    *arch_text = NULL;
    hid_t file;
    int status = pt_h5_open_file(path, &file, err);
    if (status != PT_OK)
        return status;
    status = check_header(file, path, err);
    if (status == PT_OK)
        status = pt_h5_attr_read_string_alloc(file, "config", config, path, err);
    if (status == PT_OK)
        status = pt_h5_attr_read_string_alloc(file, "arch", arch_text, path, err);
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    if (status != PT_OK) {
        free(*config);
        free(*arch_text);
        *config = *arch_text = NULL;
    }
    return status;
}
