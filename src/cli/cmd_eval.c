/* `ptrain eval`: a saved model on a cache split; metrics as JSON on stdout. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ptrain/cache.h"
#include "ptrain/cli.h"
#include "ptrain/infer.h"
#include "ptrain/json.h"
#include "ptrain/metrics.h"
#include "ptrain/model_io.h"
#include "ptrain/net.h"
#include "ptrain/report.h"

typedef struct eval_opts {
    const char *model;
    const char *data;
    const char *split;
    double threshold; /* NaN: the model's own */
    int threads;      /* 0: the CPUs this process may use */
} eval_opts;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: ptrain eval --model model.h5 --data FILE.h5 [--split val|test]\n"
            "                   [--threshold X] [--threads N]\n"
            "\n"
            "Evaluates a trained model on a cache split (default test) and prints accuracy,\n"
            "sensitivity, specificity, precision, F1, ROC AUC and the confusion matrix as JSON.\n"
            "The decision threshold is the model's own (chosen on validation) unless given.\n"
            "The network runs on N threads (default: the CPUs this process may use), each on\n"
            "its share of every batch; N changes the probabilities in float rounding only.\n"
            "The JSON also says how fast the network ran: inference_images_per_second counts\n"
            "normalising, the forward passes in batches of inference_batch and the softmax,\n"
            "not loading the model or reading the cache. With --threads 1 OpenBLAS threads the\n"
            "GEMMs on its own pool (inference_blas_threads; OPENBLAS_NUM_THREADS=1: one core).\n");
}

enum { O_MODEL = 1, O_DATA, O_SPLIT, O_THRESH, O_THREADS };
static const pt_cli_option options[] = {{"model", 1, O_MODEL},     {"data", 1, O_DATA},
                                        {"split", 1, O_SPLIT},     {"threshold", 1, O_THRESH},
                                        {"threads", 1, O_THREADS}, {NULL, 0, 0}};

static int on_option(void *ctx, int id, const char *value, pt_error *err)
{
    eval_opts *o = ctx;
    switch (id) {
    case O_MODEL:
        o->model = value;
        return 0;
    case O_DATA:
        o->data = value;
        return 0;
    case O_SPLIT:
        if (pt_cache_split_index(value) < 0)
            return pt_error_set(err, PT_ERR_USAGE, "--split: '%s' is not train, val or test",
                                value);
        o->split = value;
        return 0;
    case O_THRESH:
        if (pt_cli_double(value, 0, 1, &o->threshold))
            return pt_error_set(err, PT_ERR_USAGE, "--threshold: '%s' is not in [0, 1]", value);
        return 0;
    case O_THREADS:
        return pt_cli_threads_option(value, &o->threads, err);
    }
    return -1;
}

static int parse(int argc, char **argv, eval_opts *o, pt_error *err)
{
    *o = (eval_opts){.split = "test", .threshold = NAN};
    int rc = pt_cli_parse(argc, argv, options, on_option, NULL, o, err);
    if (rc != 0)
        return rc;
    if (!o->model || !o->data)
        return pt_error_set(err, PT_ERR_USAGE, "--model and --data are required (see --help)");
    return 0;
}

/* The model and the cache must agree on image size and classes. */
static int check_compatible(const pt_model_meta *meta, const pt_cache_info *info,
                            const eval_opts *o, pt_error *err)
{
    if (meta->height != info->height || meta->width != info->width)
        return pt_error_set(err, PT_ERR_INVALID, "%s holds %dx%d images, %s was trained on %dx%d",
                            o->data, info->height, info->width, o->model, meta->height,
                            meta->width);
    if (meta->n_classes != info->n_classes || meta->multi_label != info->multi_label)
        return pt_error_set(err, PT_ERR_INVALID, "%s has %d classes, %s predicts %d", o->data,
                            info->n_classes, o->model, meta->n_classes);
    for (int c = 0; c < meta->n_classes; c++)
        if (strcmp(meta->class_names[c], info->class_names[c]) != 0)
            return pt_error_set(err, PT_ERR_INVALID, "class %d is '%s' in %s but '%s' in %s", c,
                                info->class_names[c], o->data, meta->class_names[c], o->model);
    return PT_OK;
}

/* How fast the network ran: the time of pt_infer_probs over the whole split. */
typedef struct eval_speed {
    int threads;
    int blas_threads; /* OpenBLAS's own pool: with one network thread it may use every core */
    int batch;
    int64_t images;
    double seconds;
} eval_speed;

static void print_json(const eval_opts *o, const pt_model_meta *meta, const pt_metrics *m,
                       double threshold, const eval_speed *speed)
{
    pt_json j;
    pt_json_init(&j, stdout);
    pt_json_begin_object(&j, NULL);
    pt_json_string(&j, "model", o->model);
    pt_json_string(&j, "data", o->data);
    pt_json_string(&j, "split", o->split);
    pt_json_number(&j, "threshold", threshold);
    /* the loss needs the training's class weights, which the model does not keep */
    pt_report_json_metrics(&j, m, NAN, &meta->class_names[0][0], sizeof meta->class_names[0]);
    pt_json_int(&j, "inference_threads", speed->threads);
    pt_json_int(&j, "inference_blas_threads", speed->blas_threads);
    pt_json_int(&j, "inference_batch", speed->batch);
    pt_json_number(&j, "inference_seconds", speed->seconds);
    pt_json_number(&j, "inference_images_per_second",
                   speed->seconds > 0 ? (double)speed->images / speed->seconds : NAN);
    pt_json_end_object(&j);
}

/* A class without images in the split: its sensitivity, AUC and F1 mean nothing. The rest of
 * the metrics still do, so this is a warning, not an error. */
static void warn_empty_classes(const eval_opts *o, const pt_cache_info *info, const int32_t *labels,
                               const uint8_t *targets, int64_t n)
{
    int64_t counts[PT_CACHE_MAX_CLASSES];
    char names[512];
    pt_cache_count_classes(info, info->multi_label ? NULL : labels,
                           info->multi_label ? targets : NULL, n, counts);
    int empty = pt_cache_empty_classes(info, counts, names, sizeof names);
    if (empty > 0)
        fprintf(stderr,
                "ptrain eval: warning: %s: the %s split has no images of class %s: %s per-class "
                "figures are undefined\n",
                o->data, o->split, names, empty > 1 ? "their" : "its");
}

/* --threads, or every CPU this process may run on. */
static int threads_to_use(const eval_opts *o)
{
    return o->threads > 0 ? o->threads : pt_cli_default_threads();
}

static int run_eval(const eval_opts *o, pt_error *err)
{
    pt_arch arch = {0};
    pt_net *net = NULL;
    pt_model_meta meta;
    pt_cache *cache = NULL;
    uint8_t *images = NULL, *targets = NULL;
    int32_t *labels = NULL;
    float *probs = NULL;
    pt_metrics *m = calloc(1, sizeof *m);
    int status = m ? pt_model_load(o->model, &arch, &net, &meta, 64, err)
                   : pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    if (status == PT_OK)
        status = pt_net_set_threads(net, threads_to_use(o), err);
    if (status == PT_OK)
        status = pt_cache_open(o->data, &cache, err);
    if (status != PT_OK)
        goto done;
    const pt_cache_info *info = pt_cache_get_info(cache);
    status = check_compatible(&meta, info, o, err);
    int split = pt_cache_split_index(o->split);
    int64_t n = info->count[split];
    if (status == PT_OK && !info->present[split])
        status = pt_error_set(err, PT_ERR_FORMAT, "%s has no /%s split", o->data, o->split);
    else if (status == PT_OK && n == 0)
        status = pt_error_set(err, PT_ERR_EMPTY, "%s: the %s split is empty", o->data, o->split);
    if (status != PT_OK)
        goto done;
    if (!info->checksummed)
        fprintf(stderr,
                "ptrain eval: warning: %s has no checksums (an older ptrain-prep wrote it): "
                "damage to its images would go unnoticed; re-run ptrain-prep\n",
                o->data);
    int k = meta.n_classes;
    images = malloc((size_t)n * (size_t)info->height * (size_t)info->width);
    probs = malloc((size_t)n * (size_t)k * sizeof *probs);
    labels = malloc((size_t)n * sizeof *labels);
    targets = malloc((size_t)n * (size_t)k);
    if (!images || !probs || !labels || !targets) {
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory for %lld images", (long long)n);
        goto done;
    }
    status = pt_cache_read_images(cache, o->split, 0, n, images, err);
    if (status == PT_OK)
        status = meta.multi_label ? pt_cache_read_multi_labels(cache, o->split, 0, n, targets, err)
                                  : pt_cache_read_labels(cache, o->split, 0, n, labels, err);
    if (status != PT_OK)
        goto done;
    warn_empty_classes(o, info, labels, targets, n);
    pt_infer_params params = pt_model_infer_params(&meta);
    pt_error ierr;
    eval_speed speed = {.threads = pt_net_threads(net),
                        .blas_threads = openblas_get_num_threads(),
                        .batch = pt_net_max_batch(net),
                        .images = n};
    double t0 = pt_now_seconds();
    int infer_status = pt_infer_probs(net, &params, images, n, probs, &ierr);
    speed.seconds = pt_now_seconds() - t0;
    if (infer_status != PT_OK) {
        status = pt_error_set(err, ierr.code, "%s on the %s split of %s: %s", o->model, o->split,
                              o->data, ierr.msg);
        goto done;
    }
    double threshold = isfinite(o->threshold)     ? o->threshold
                       : isfinite(meta.threshold) ? meta.threshold
                                                  : 0.5;
    status = meta.multi_label ? pt_metrics_multi_label(probs, targets, n, k, 0.5, m, err)
                              : pt_metrics_single_label(probs, labels, n, k, threshold, m, err);
    if (status == PT_OK)
        print_json(o, &meta, m, threshold, &speed);
done:
    free(images);
    free(probs);
    free(labels);
    free(targets);
    free(m);
    pt_cache_close(cache);
    if (net) {
        pt_net_free(net);
        pt_arch_free(&arch);
    }
    return status;
}

int pt_cmd_eval(int argc, char **argv, const pt_comm *comm)
{
    eval_opts o;
    pt_error err;
    pt_error_clear(&err);
    int code = pt_cli_after_parse(comm, parse(argc, argv, &o, &err), &err, "ptrain eval", usage);
    if (code >= 0)
        return code;
    /* Evaluation is quick: rank 0 does it, the others wait for the verdict. */
    int status = comm->rank == 0 ? run_eval(&o, &err) : PT_OK;
    return pt_cli_rank0_result(comm, status, &err, "ptrain eval");
}
