/* The data-parallel training run (see train.h). */
#include "ptrain/train.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ptrain/arch_file.h"
#include "ptrain/augment.h"
#include "ptrain/cache.h"
#include "ptrain/ckpt.h"
#include "ptrain/fs.h"
#include "ptrain/infer.h"
#include "ptrain/isa.h"
#include "ptrain/json.h"
#include "ptrain/lock.h"
#include "ptrain/loss.h"
#include "ptrain/metrics.h"
#include "ptrain/model_io.h"
#include "ptrain/net.h"
#include "ptrain/optim.h"
#include "ptrain/profile.h"
#include "ptrain/report.h"
#include "ptrain/rng.h"
#include "ptrain/sampler.h"
#include "dataset.h"
#include "reducer.h"
#include "shard.h"

/* Set by SIGUSR1 / SIGTERM (SLURM's warning before preemption or the time limit): the run
 * finishes the current step, writes a checkpoint and stops. The only global: a signal handler
 * has nowhere else to write. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static int install_stop_handlers(pt_error *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return pt_error_set(err, PT_ERR_IO, "cannot install signal handlers: %s", strerror(errno));
    return PT_OK;
}

void pt_train_config_default(pt_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->arch = "cxr";
    cfg->epochs = 10;
    cfg->batch = 32;
    cfg->lr = 0.01;
    cfg->opt = "sgd";
    cfg->momentum = 0.9;
    cfg->weight_decay = 0.0;
    cfg->schedule = "constant";
    cfg->gamma = 0.1;
    cfg->step_epochs = 0;
    cfg->seed = 1;
    cfg->keep_ckpts = 3;
    cfg->class_weights = "auto";
    cfg->threshold = "youden";
    cfg->augment = 1;
    cfg->drop_last = 1;
    cfg->log_seconds = 10.0;
    cfg->bucket_floats = (size_t)1 << 20;
    cfg->grad_sum = "sharded";
    cfg->conv_algo = "auto";
}

/* Everything one run holds. Rank 0 alone uses the report fields. */
typedef struct trainer {
    const pt_train_config *cfg;
    const pt_comm *comm;
    pt_cache *cache;
    const pt_cache_info *info;
    pt_arch arch;
    pt_net *net;
    pt_dataset train, val, test;
    pt_optim_config opt;
    pt_optim_state opt_state;
    float *opt_buf;
    pt_lr_schedule schedule;
    pt_reducer *reducer;                        /* the gradient sums: the allreduce, or */
    pt_shard *shard;                            /* sharded over the node's ranks (NULL: not) */
    char grad_sum_note[PT_ERROR_MSG_MAX + 128]; /* how the gradients are summed, for the log */
    pt_augment augment;
    float class_weights[PT_CACHE_MAX_CLASSES];
    int use_class_weights;
    int max_local; /* largest local slice of a global batch */
    int64_t steps_per_epoch;
    int64_t total_steps;
    /* position: the next step to run */
    int64_t epoch;         /* 0-based */
    int64_t step_in_epoch; /* 0-based */
    int64_t global_step;
    double best_score;
    int64_t best_epoch;
    /* per-step buffers */
    int64_t *perm;
    int64_t *sample_ids;
    int32_t *labels;
    uint8_t *targets;
    float *dlogits;
    /* timings of the current epoch, seconds */
    double t_data, t_compute, t_allreduce, t_optim, t_eval;
    int profiling;          /* --profile, after the warm-up steps */
    int64_t steps_this_run; /* steps taken by this process (a resumed run starts at 0) */
    pt_step_profile profile;
    double epoch_loss_sum;
    double epoch_normalizer;
    double epoch_correct;
    double epoch_samples;
    /* the whole run: training samples and seconds in train steps (not evaluation) */
    int stop_requested; /* a rank received SIGUSR1/SIGTERM */
    double run_samples;
    double run_step_seconds;
    pt_history *history;
    FILE *log;
    pt_lock lock;         /* rank 0: the run directory's lock, held for the whole run */
    double ckpt_loss_sum; /* training loss since the last checkpoint (recorded in the next) */
    double ckpt_loss_norm;
    char started[32];               /* when this process started, for config.json's runs */
    char resumed_from[PT_PATH_MAX]; /* the checkpoint this run continues ("" for a fresh run) */
    int64_t resumed_at_step;
    char *prior_runs; /* rank 0: the earlier runs of config.json's "runs", JSON elements */
    char config_json[32768];
} trainer;

/* ---- messages (rank 0) ------------------------------------------------------------------------
 */

static void say(trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(trainer *t, const char *fmt, ...)
{
    if (t->comm->rank != 0)
        return;
    va_list ap;
    if (!t->cfg->quiet) {
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fflush(stdout);
    }
    if (t->log) {
        va_start(ap, fmt);
        vfprintf(t->log, fmt, ap);
        va_end(ap);
        fflush(t->log);
    }
}

static void warn(const trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rank 0: a warning on stderr (shown even with --quiet) and in the log. */
static void warn(const trainer *t, const char *fmt, ...)
{
    if (t->comm->rank != 0)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ptrain: warning: %s\n", msg);
    if (t->log) {
        fprintf(t->log, "warning: %s\n", msg);
        fflush(t->log);
    }
}

/* ---- set-up ------------------------------------------------------------------------------------
 */

/* auto: inverse class frequency, n / (K * n_c) (scikit-learn's "balanced"); none; or a list. */
static int choose_class_weights(trainer *t, pt_error *err)
{
    const char *spec = t->cfg->class_weights;
    int k = t->info->n_classes;
    t->use_class_weights = 0;
    if (!spec || !strcmp(spec, "none") || t->info->multi_label)
        return PT_OK;
    t->use_class_weights = 1;
    if (!strcmp(spec, "auto")) {
        int64_t counts[PT_CACHE_MAX_CLASSES];
        pt_cache_count_classes(t->info, t->train.labels, t->train.targets, t->train.n, counts);
        for (int c = 0; c < k; c++)
            t->class_weights[c] =
                counts[c] > 0 ? (float)((double)t->train.n / ((double)k * (double)counts[c]))
                              : 0.0f;
        return PT_OK;
    }
    const char *p = spec;
    for (int c = 0; c < k; c++) {
        char *end;
        errno = 0;
        double w = strtod(p, &end);
        if (errno || end == p || !(w >= 0.0) || (c < k - 1 && *end != ',') ||
            (c == k - 1 && *end != '\0'))
            return pt_error_set(err, PT_ERR_INVALID,
                                "--class-weights: '%s' is not auto, none or %d comma-separated "
                                "weights >= 0",
                                spec, k);
        t->class_weights[c] = (float)w;
        p = end + 1;
    }
    return PT_OK;
}

static int choose_threads(const trainer *t);

/* With several ranks and --grad-sum sharded, the node-sharded sums (shard.h) when the layout
 * allows them; else, or when they cannot be had (say why in the log), the bucketed allreduce. */
static int setup_gradient_sums(trainer *t, pt_error *err)
{
    const pt_train_config *cfg = t->cfg;
    size_t n = pt_net_param_count(t->net);
    if (t->comm->size > 1 && !strcmp(cfg->grad_sum, "sharded")) {
        pt_error why = {0};
        if (pt_shard_create(t->comm, n, &t->shard, &why) == PT_OK) {
            pt_net_use_grad_buffer(t->net, pt_shard_grads(t->shard));
            snprintf(t->grad_sum_note, sizeof t->grad_sum_note,
                     "sharded: each of a node's %d rank(s) sums and updates 1/%d of the "
                     "parameters in node shared memory; %d node(s)",
                     pt_shard_node_ranks(t->shard), pt_shard_node_ranks(t->shard),
                     pt_shard_nodes(t->shard));
            return PT_OK;
        }
        snprintf(t->grad_sum_note, sizeof t->grad_sum_note,
                 "allreduce in %.3g MiB buckets during backward, not sharded: %s",
                 (double)cfg->bucket_floats * 4 / (1024 * 1024), why.msg);
    } else {
        snprintf(t->grad_sum_note, sizeof t->grad_sum_note,
                 "allreduce in %.3g MiB buckets during backward",
                 (double)cfg->bucket_floats * 4 / (1024 * 1024));
    }
    return pt_reducer_create(t->comm, pt_net_grads(t->net), n, cfg->bucket_floats, &t->reducer,
                             err);
}

static int setup_optimizer(trainer *t, pt_error *err)
{
    const pt_train_config *cfg = t->cfg;
    pt_optim_kind kind;
    if (pt_optim_parse(cfg->opt, &kind) != PT_OK)
        return pt_error_set(err, PT_ERR_INVALID, "--opt: '%s' is not sgd or adamw", cfg->opt);
    pt_optim_config_default(kind, &t->opt);
    t->opt.weight_decay = cfg->weight_decay;
    t->opt.threads = choose_threads(t); /* the same bits whatever the count (optim.h) */
    if (kind == PT_OPTIM_SGD) {
        t->opt.momentum = cfg->momentum;
        t->opt.nesterov = cfg->nesterov;
    }
    int status = pt_optim_config_check(&t->opt, err);
    if (status != PT_OK)
        return status;
    size_t n = pt_net_param_count(t->net);
    t->opt_buf = calloc(pt_optim_state_floats(kind, n), sizeof(float));
    if (!t->opt_buf)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for the optimizer state");
    status = pt_optim_state_init(&t->opt_state, kind, n, t->opt_buf, err);
    if (status != PT_OK)
        return status;

    pt_lr_kind lr_kind;
    if (pt_lr_parse(cfg->schedule, &lr_kind) != PT_OK)
        return pt_error_set(err, PT_ERR_INVALID, "--schedule: '%s' is not constant, cosine or step",
                            cfg->schedule);
    pt_lr_schedule_default(&t->schedule, cfg->lr);
    t->schedule.kind = lr_kind;
    t->schedule.warmup_steps = (int64_t)llround(cfg->warmup_epochs * (double)t->steps_per_epoch);
    t->schedule.total_steps = t->total_steps;
    t->schedule.min_lr = cfg->min_lr;
    t->schedule.step_size =
        (int64_t)(cfg->step_epochs > 0 ? cfg->step_epochs : 1) * t->steps_per_epoch;
    t->schedule.gamma = cfg->gamma;
    return pt_lr_schedule_check(&t->schedule, err);
}

static int allocate_step_buffers(trainer *t, pt_error *err)
{
    int k = pt_net_outputs(t->net);
    size_t b = (size_t)t->cfg->batch;
    t->perm = malloc((size_t)(t->train.n ? t->train.n : 1) * sizeof *t->perm);
    t->sample_ids = malloc(b * sizeof *t->sample_ids);
    t->labels = malloc(b * sizeof *t->labels);
    t->targets = malloc(b * (size_t)k);
    t->dlogits = malloc(b * (size_t)k * sizeof *t->dlogits);
    t->history = calloc(1, sizeof *t->history);
    if (!t->perm || !t->sample_ids || !t->labels || !t->targets || !t->dlogits || !t->history)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    return PT_OK;
}

/* Threads per rank: cores on the node / ranks on it, at least 1. Oversubscribed threads
 * (ranks >= cores, each with several threads) halve throughput. */
/* (Launchers bind: Open MPI pins each rank to one core when it starts at most 2 ranks, to a
 * socket beyond, so a rank of `mpirun -np 1` on a 2-core node may use one core only, however
 * many threads it starts: pt_cpus_allowed.) */

/* --threads, or by default the node's cores shared among its ranks, but no more than the CPUs
 * the rank is bound to (threads beyond them would only take turns). */
static int choose_threads(const trainer *t)
{
    if (t->cfg->threads > 0)
        return t->cfg->threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int per_rank = (int)(cores / (t->comm->node_size > 0 ? t->comm->node_size : 1));
    int allowed = pt_cpus_allowed();
    if (allowed > 0 && per_rank > allowed)
        per_rank = allowed;
    return per_rank > 0 ? per_rank : 1;
}

/* --threads N on a rank bound to fewer CPUs: say how to launch it so that the threads get cores. */
static void warn_about_binding(const trainer *t)
{
    int allowed = pt_cpus_allowed();
    if (t->comm->rank != 0 || allowed <= 0 || t->cfg->threads <= allowed)
        return;
    fprintf(stderr,
            "ptrain: warning: --threads %d, but this rank may run on %d CPU(s) (the launcher's "
            "binding), so its threads share them: launch with mpirun --map-by slot:PE=%d (or "
            "--bind-to none), or srun --cpus-per-task=%d\n",
            t->cfg->threads, allowed, t->cfg->threads, t->cfg->threads);
}

/* ---- config.json: this run's settings, and every run that led to its checkpoint ----------- */

/* The raw JSON value of top-level member `key` of text that pt_json wrote (members of the top
 * object are indented by two spaces, one per line), into buf. 0 if found; values spanning lines
 * (arrays, objects) are not read this way. */
static int json_member(const char *json, const char *key, char *buf, size_t cap)
{
    char needle[96];
    snprintf(needle, sizeof needle, "\n  \"%s\": ", key);
    const char *p = json ? strstr(json, needle) : NULL;
    if (!p)
        return -1;
    p += strlen(needle);
    size_t n = strcspn(p, "\n");
    if (n > 0 && p[n - 1] == ',')
        n--;
    if (n >= cap)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

/* Past the JSON object or array starting at p, honouring strings; NULL if it never ends. */
static const char *json_skip(const char *p)
{
    int depth = 0, in_string = 0;
    for (; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_string = 0;
        } else if (*p == '"') {
            in_string = 1;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* The objects of the top-level array "runs" of an earlier config, as one malloc'd text with the
 * elements separated by RS (0x1e); NULL if there are none. */
static char *json_runs(const char *json)
{
    const char *p = json ? strstr(json, "\n  \"runs\": [") : NULL;
    const char *end = p ? json_skip(strchr(p, '[')) : NULL;
    if (!end)
        return NULL;
    p = strchr(p, '[') + 1;
    char *out = malloc((size_t)(end - p) + 1);
    size_t n = 0;
    while (out && p < end) {
        const char *e = *p == '{' ? json_skip(p) : NULL;
        if (!e) {
            p++;
            continue;
        }
        if (n)
            out[n++] = '\x1e';
        memcpy(out + n, p, (size_t)(e - p));
        n += (size_t)(e - p);
        p = e;
    }
    if (out && n == 0) {
        free(out);
        return NULL;
    }
    if (out)
        out[n] = '\0';
    return out;
}

/* "runs": the earlier runs this one continues (from its checkpoint's config), then this one. */
static void json_write_runs(pt_json *j, const trainer *t)
{
    pt_json_begin_array(j, "runs");
    for (const char *p = t->prior_runs; p && *p;) {
        size_t n = strcspn(p, "\x1e");
        char *one = malloc(n + 1);
        if (one) {
            memcpy(one, p, n);
            one[n] = '\0';
            pt_json_raw(j, NULL, one);
            free(one);
        }
        p += n + (p[n] ? 1 : 0);
    }
    pt_json_begin_object(j, NULL);
    pt_json_string(j, "command", t->cfg->command_line);
    pt_json_int(j, "ranks", t->comm->size);
    pt_json_int(j, "threads_per_rank", choose_threads(t));
    pt_json_string(j, "started", t->started);
    pt_json_string(j, "resumed_from", t->resumed_from[0] ? t->resumed_from : NULL);
    pt_json_int(j, "resumed_at_step", t->resumed_from[0] ? t->resumed_at_step : 0);
    pt_json_end_object(j);
    pt_json_end_array(j);
}

/* config.json: everything needed to repeat the run (command and ranks: this run's; runs: every
 * run since the first). Kept as text: it also goes into every checkpoint and model, where a
 * resumed run reads it back to compare (resume_check_options). */
static int write_config_json(trainer *t, pt_error *err)
{
    const pt_train_config *c = t->cfg;
    FILE *f = fmemopen(t->config_json, sizeof t->config_json, "w");
    if (!f)
        return pt_error_set(err, PT_ERR_NOMEM, "cannot format the configuration");
    char classes[PT_CACHE_MAX_CLASSES * 64] = "", size[64];
    for (int k = 0; k < t->info->n_classes; k++) {
        size_t used = strlen(classes);
        snprintf(classes + used, sizeof classes - used, "%s%s", k ? "," : "",
                 t->info->class_names[k]);
    }
    snprintf(size, sizeof size, "%dx%d", t->info->height, t->info->width);
    pt_json j;
    pt_json_init(&j, f);
    pt_json_begin_object(&j, NULL);
    pt_json_string(&j, "generator", "ptrain " PT_VERSION);
    pt_json_string(&j, "command", c->command_line);
    pt_json_string(&j, "data", c->data);
    pt_json_int(&j, "train_images", t->train.n);
    pt_json_string(&j, "image_size", size);
    pt_json_string(&j, "class_names", classes);
    pt_json_string(&j, "arch", c->arch);
    pt_json_int(&j, "epochs", c->epochs);
    pt_json_int(&j, "batch", c->batch);
    pt_json_number(&j, "lr", c->lr);
    pt_json_string(&j, "opt", c->opt);
    pt_json_number(&j, "momentum", c->momentum);
    pt_json_bool(&j, "nesterov", c->nesterov);
    pt_json_number(&j, "weight_decay", c->weight_decay);
    pt_json_string(&j, "schedule", c->schedule);
    pt_json_number(&j, "warmup_epochs", c->warmup_epochs);
    pt_json_number(&j, "min_lr", c->min_lr);
    pt_json_int(&j, "step_epochs", c->step_epochs);
    pt_json_number(&j, "gamma", c->gamma);
    pt_json_int(&j, "seed", (int64_t)c->seed);
    pt_json_int(&j, "ckpt_every", c->ckpt_every);
    pt_json_int(&j, "keep_ckpts", c->keep_ckpts);
    pt_json_string(&j, "class_weights", c->class_weights);
    pt_json_begin_array(&j, "class_weight_values");
    for (int k = 0; t->use_class_weights && k < t->info->n_classes; k++)
        pt_json_number(&j, NULL, t->class_weights[k]);
    pt_json_end_array(&j);
    pt_json_string(&j, "threshold", c->threshold);
    pt_json_bool(&j, "augment", c->augment);
    pt_json_bool(&j, "drop_last", c->drop_last);
    pt_json_int(&j, "ranks", t->comm->size);
    pt_json_int(&j, "threads_per_rank", choose_threads(t));
    pt_json_string(&j, "isa", pt_isa_name(pt_isa_active()));
    pt_json_string(&j, "blas_core", pt_isa_blas_core());
    pt_json_int(&j, "bucket_floats", (int64_t)c->bucket_floats);
    pt_json_string(&j, "grad_sum", c->grad_sum);
    pt_json_string(&j, "conv_algo", c->conv_algo);
    json_write_runs(&j, t);
    pt_json_end_object(&j);
    int failed = ferror(f);
    fclose(f);
    if (failed || strlen(t->config_json) + 1 >= sizeof t->config_json)
        return pt_error_set(err, PT_ERR_INVALID, "configuration too long");
    return PT_OK;
}

static int write_text_file(const char *dir, const char *name, const char *text, pt_error *err)
{
    char path[PT_PATH_MAX], tmp[PT_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return pt_error_set(err, PT_ERR_INVALID, "%s/%s: path too long", dir, name);
    FILE *f = pt_fs_open_temp(path, tmp, err);
    if (!f)
        return err ? err->code : PT_ERR_IO;
    fputs(text, f);
    return pt_fs_close_commit(f, tmp, path, err);
}

/* What a run leaves in its directory (besides checkpoints/): what --overwrite removes. */
static const char *const run_files[] = {
    "config.json", "log.txt",         "metrics.csv",         "summary.json",
    "model.h5",    "predictions.csv", "learning_curves.png", "val_metrics.png",
    "roc.png",     "confusion.png",   "misclassified.png",   "profile.csv",
    NULL};

static int path_in(char *out, const char *dir, const char *name, pt_error *err)
{
    if (snprintf(out, PT_PATH_MAX, "%s/%s", dir, name) >= PT_PATH_MAX)
        return pt_error_set(err, PT_ERR_INVALID, "%s/%s: path too long", dir, name);
    return PT_OK;
}

/* Rank 0: does the run directory hold an earlier run (its config, results or checkpoints)? Lists
 * what was found into `found`, or leaves it empty. */
static int find_earlier_run(const trainer *t, char *found, size_t cap, pt_error *err)
{
    found[0] = '\0';
    static const char *const markers[] = {"config.json", "metrics.csv", "summary.json", "model.h5",
                                          NULL};
    char path[PT_PATH_MAX];
    for (int i = 0; markers[i]; i++) {
        int status = path_in(path, t->cfg->run_dir, markers[i], err);
        if (status != PT_OK)
            return status;
        if (access(path, F_OK) == 0) {
            size_t used = strlen(found);
            snprintf(found + used, cap - used, "%s%s", used ? ", " : "", markers[i]);
        }
    }
    char **ckpts = NULL;
    size_t n = 0;
    int status = path_in(path, t->cfg->run_dir, "checkpoints", err);
    if (status == PT_OK)
        status = pt_ckpt_list(path, &ckpts, &n, err);
    if (status == PT_OK && n > 0) {
        size_t used = strlen(found);
        snprintf(found + used, cap - used, "%s%zu checkpoint(s)", used ? ", " : "", n);
    }
    pt_ckpt_list_free(ckpts, n);
    return status;
}

/* --overwrite: removes the earlier run's files (and nothing else of the directory). */
static int remove_earlier_run(trainer *t, pt_error *err)
{
    char path[PT_PATH_MAX];
    int removed = 0, status = PT_OK;
    for (int i = 0; run_files[i] && status == PT_OK; i++) {
        status = path_in(path, t->cfg->run_dir, run_files[i], err);
        if (status != PT_OK)
            break;
        if (unlink(path) == 0)
            removed++;
        else if (errno != ENOENT)
            status = pt_error_set(err, PT_ERR_IO, "%s: cannot delete: %s", path, strerror(errno));
    }
    char **ckpts = NULL;
    size_t n = 0;
    if (status == PT_OK)
        status = path_in(path, t->cfg->run_dir, "checkpoints", err);
    if (status == PT_OK)
        status = pt_ckpt_list(path, &ckpts, &n, err);
    for (size_t i = 0; status == PT_OK && i < n; i++) {
        if (unlink(ckpts[i]) == 0)
            removed++;
        else if (errno != ENOENT)
            status =
                pt_error_set(err, PT_ERR_IO, "%s: cannot delete: %s", ckpts[i], strerror(errno));
    }
    pt_ckpt_list_free(ckpts, n);
    if (status == PT_OK && removed > 0)
        say(t, "overwrite: removed %d file(s) of the earlier run in %s\n", removed,
            t->cfg->run_dir);
    return status;
}

/* Rank 0, before anything is written: the run directory, its lock (one run per directory, for
 * the whole run), the check that it holds no other run (unless --resume or --overwrite), and the
 * log. config.json follows once the resume is settled. */
static int open_run_dir(trainer *t, pt_error *err)
{
    if (t->comm->rank != 0)
        return PT_OK;
    const pt_train_config *c = t->cfg;
    char path[PT_PATH_MAX];
    int status = pt_fs_mkdir_p(c->run_dir, err);
    if (status == PT_OK)
        status = path_in(path, c->run_dir, "run.lock", err);
    if (status != PT_OK)
        return status;
    int unsupported = 0;
    status = pt_lock_acquire_ex(path, "ptrain train", &t->lock, &unsupported, err);
    if (status != PT_OK) {
        char reason[PT_ERROR_MSG_MAX];
        pt_strlcpy(reason, err->msg, sizeof reason);
        return pt_error_set(err, status,
                            "%s: the run directory is in use (%s): wait for that run to end, "
                            "or choose another --run-dir",
                            c->run_dir, reason);
    }
    if (unsupported)
        fprintf(stderr,
                "ptrain: warning: %s: this file system has no locks, so a second run on this "
                "run directory would not be noticed\n",
                path);
    char found[512];
    status = find_earlier_run(t, found, sizeof found, err);
    if (status == PT_OK && found[0] && !c->resume && !c->overwrite)
        return pt_error_set(err, PT_ERR_INVALID,
                            "%s already holds a run (%s): continue it with --resume auto, "
                            "replace it with --overwrite, or choose another --run-dir",
                            c->run_dir, found);
    if (status == PT_OK && found[0] && c->overwrite)
        status = remove_earlier_run(t, err);
    if (status == PT_OK)
        status = path_in(path, c->run_dir, "checkpoints", err);
    if (status == PT_OK)
        status = pt_fs_mkdir_p(path, err);
    if (status == PT_OK)
        status = path_in(path, c->run_dir, "log.txt", err);
    if (status != PT_OK)
        return status;
    t->log = fopen(path, "a");
    if (!t->log)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    return PT_OK;
}

/* Rank 0 writes config.json; every rank learns the outcome. */
static int write_config(trainer *t, pt_error *err)
{
    int status = write_config_json(t, err);
    if (status == PT_OK && t->comm->rank == 0)
        status = write_text_file(t->cfg->run_dir, "config.json", t->config_json, err);
    return pt_comm_agree_status(t->comm, status);
}

/* ---- one training step -------------------------------------------------------------------------
 */

/* Fills the input buffer with this rank's slice of global batch b; returns its size. */
static int load_batch(trainer *t, int64_t b, double *global_normalizer)
{
    const pt_dataset *ds = &t->train;
    int64_t begin, count;
    pt_sampler_slice(ds->n, t->cfg->batch, b, t->comm->rank, t->comm->size, &begin, &count);
    int k = ds->n_classes;
    for (int64_t j = 0; j < count; j++) {
        int64_t idx = t->perm[begin + j];
        t->sample_ids[j] = idx;
        if (ds->multi_label)
            memcpy(t->targets + j * k, ds->targets + idx * k, (size_t)k);
        else
            t->labels[j] = ds->labels[idx];
    }
    /* the images, normalised and augmented on the rank's threads like every layer */
    pt_augment_batch(&t->augment, pt_net_threads(t->net), t->cfg->seed, t->epoch, t->sample_ids,
                     (int)count, ds->images, ds->height, ds->width, (float)t->info->mean,
                     (float)t->info->std, pt_net_input(t->net));
    /* The loss is a mean over the GLOBAL batch: every rank knows the whole batch's labels (the
     * permutation is global), so the denominator needs no communication. */
    int64_t batch_size = pt_sampler_batch_size(ds->n, t->cfg->batch, b);
    if (ds->multi_label) {
        *global_normalizer = (double)batch_size * k;
    } else {
        double sum = 0;
        for (int64_t j = 0; j < batch_size; j++) {
            int32_t label = ds->labels[t->perm[b * t->cfg->batch + j]];
            sum += t->use_class_weights ? t->class_weights[label] : 1.0;
        }
        *global_normalizer = sum > 0 ? sum : 1.0;
    }
    return (int)count;
}

/* Correct predictions among the local logits (argmax for single label; per label at 0 for
 * multi-label, counted as a fraction of the labels). */
static double count_correct(const trainer *t, const float *logits, int n)
{
    int k = pt_net_outputs(t->net);
    double correct = 0;
    for (int i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * k;
        if (t->train.multi_label) {
            for (int c = 0; c < k; c++)
                correct += ((row[c] >= 0.0f) == (t->targets[i * k + c] != 0)) / (double)k;
        } else {
            int best = 0;
            for (int c = 1; c < k; c++)
                if (row[c] > row[best])
                    best = c;
            correct += best == t->labels[i];
        }
    }
    return correct;
}

/* The loss became NaN or infinite: the error, and on rank 0 (which prints it) the checkpoint to
 * go back to: the one whose weights trained best in the steps after it (pruning keeps it). */
static int explosion_error(const trainer *t, double loss, pt_error *err)
{
    char what[160];
    snprintf(what, sizeof what, "the loss became %s at step %lld (epoch %lld)",
             isnan(loss) ? "NaN" : "infinite", (long long)t->global_step + 1,
             (long long)t->epoch + 1);
    char dir[PT_PATH_MAX], path[PT_PATH_MAX];
    double after = NAN;
    pt_error none;
    if (t->comm->rank != 0 || path_in(dir, t->cfg->run_dir, "checkpoints", &none) != PT_OK ||
        pt_ckpt_find_sane(dir, path, sizeof path, &after, &none) != PT_OK)
        return pt_error_set(err, PT_ERR_INVALID,
                            "%s: no checkpoint before it is known to be sound; start again "
                            "with a lower --lr",
                            what);
    return pt_error_set(err, PT_ERR_INVALID,
                        "%s. The last sound checkpoint is %s (training loss %.4g before it): "
                        "continue from it with --resume %s and a lower --lr",
                        what, path, after, path);
}

/* The optimizer step: on every parameter, or with shards on this rank's slice of the node's
 * shared parameters, the other ranks updating theirs. */
static int update_parameters(trainer *t, double lr, pt_error *err)
{
    float *params = pt_net_params(t->net);
    size_t n = pt_net_param_count(t->net);
    size_t begin = 0, end = n;
    if (t->shard)
        pt_shard_slice(t->shard, &begin, &end);
    int status = pt_optim_step_range(&t->opt, &t->opt_state, params, pt_net_grads(t->net),
                                     pt_net_decay_mask(t->net), n, begin, end, lr, err);
    /* every rank has the same settings, so all fail here or none does */
    if (status == PT_OK && t->shard)
        pt_shard_finish_update(t->shard);
    return status;
}

static int train_step(trainer *t, int64_t b, double *step_loss, pt_error *err)
{
    int k = pt_net_outputs(t->net);
    double t0 = pt_now_seconds();
    double normalizer;
    int n = load_batch(t, b, &normalizer);
    double t1 = pt_now_seconds();

    uint64_t dropout_key = pt_rng_hash3(t->cfg->seed, (uint64_t)t->global_step, 0x44524f50ULL);
    const float *logits = pt_net_forward(t->net, n, 1, t->sample_ids, dropout_key);
    double t_loss = pt_now_seconds();
    double loss_sum = t->train.multi_label
                          ? pt_sigmoid_bce_forward_backward(t->dlogits, NULL, logits, t->targets,
                                                            NULL, n, k, normalizer)
                          : pt_softmax_xent_forward_backward(
                                t->dlogits, NULL, logits, t->labels,
                                t->use_class_weights ? t->class_weights : NULL, n, k, normalizer);
    double correct = count_correct(t, logits, n);
    t_loss = pt_now_seconds() - t_loss;
    pt_net_zero_grads(t->net);
    pt_net_backward(t->net, t->dlogits, t->shard ? NULL : pt_reducer_ready, t->reducer);
    double t2 = pt_now_seconds();
    double waited; /* the gradient sums not hidden behind backward: with shards, all of them */
    if (t->shard) {
        pt_shard_reduce(t->shard);
        waited = pt_now_seconds() - t2;
    } else {
        waited = pt_reducer_finish(t->reducer);
    }
    /* one small allreduce: the loss, the correct count, the samples, and whether any rank was
     * told to stop (so that every rank stops after the same step) */
    double sums[4] = {n > 0 ? loss_sum : 0.0, correct, (double)n, stop_signal ? 1.0 : 0.0};
    pt_comm_allreduce_sum_f64(t->comm, sums, 4);
    t->stop_requested = sums[3] > 0;
    double t3 = pt_now_seconds();

    double loss = sums[0] / normalizer;
    if (!isfinite(loss))
        return explosion_error(t, loss, err);
    t->ckpt_loss_sum += sums[0];
    t->ckpt_loss_norm += normalizer;
    double lr = pt_lr_at(&t->schedule, t->opt_state.step);
    int status = update_parameters(t, lr, err);
    double t4 = pt_now_seconds();
    t->t_data += t1 - t0;
    t->t_compute += (t2 - t1) + (t3 - t2 - waited);
    t->t_allreduce += waited;
    t->t_optim += t4 - t3;
    t->epoch_loss_sum += sums[0];
    t->epoch_normalizer += normalizer;
    t->epoch_correct += sums[1];
    t->epoch_samples += sums[2];
    t->run_samples += sums[2];
    t->run_step_seconds += t4 - t0;
    if (t->profiling) {
        pt_step_profile *p = &t->profile;
        p->steps += 1;
        p->data_s += t1 - t0;
        p->loss_s += t_loss;
        p->allreduce_wait_s += waited;
        p->small_reduce_s += t3 - t2 - waited;
        p->optim_s += t4 - t3;
        p->step_s += t4 - t0;
    }
    *step_loss = loss;
    return status;
}

/* ---- evaluation (every rank takes a slice; rank 0 gets all probabilities) ------------------- */

typedef struct eval_result {
    double loss;  /* mean, weighted as in training */
    float *probs; /* rank 0: n * k, sample order */
} eval_result;

static int evaluate(trainer *t, const pt_dataset *ds, eval_result *res, pt_error *err)
{
    res->loss = NAN;
    res->probs = NULL;
    int k = pt_net_outputs(t->net);
    /* Batch-norm running statistics are per rank; the model's are rank 0's (as PyTorch DDP
     * broadcasts rank 0's buffers). */
    pt_comm_bcast_f32(t->comm, pt_net_state(t->net), pt_net_state_count(t->net), 0);
    int64_t lo = ds->n * t->comm->rank / t->comm->size;
    int64_t hi = ds->n * (t->comm->rank + 1) / t->comm->size;
    float *mine = malloc((size_t)(hi - lo > 0 ? hi - lo : 1) * (size_t)k * sizeof(float));
    if (!mine)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for evaluation");
    size_t image = (size_t)ds->height * (size_t)ds->width;
    int chunk = pt_net_max_batch(t->net);
    double loss_sum = 0.0, normalizer = 0.0;
    for (int64_t start = lo; start < hi; start += chunk) {
        int n = (int)(hi - start < chunk ? hi - start : chunk);
        pt_normalize(ds->images + (size_t)start * image, (int64_t)n * (int64_t)image,
                     (float)t->info->mean, (float)t->info->std, pt_net_input(t->net));
        const float *logits = pt_net_forward(t->net, n, 0, NULL, 0);
        float *probs = mine + (size_t)(start - lo) * k;
        if (ds->multi_label)
            loss_sum += pt_sigmoid_bce_forward_backward(NULL, probs, logits,
                                                        ds->targets + start * k, NULL, n, k, 1.0);
        else
            loss_sum += pt_softmax_xent_forward_backward(
                NULL, probs, logits, ds->labels + start,
                t->use_class_weights ? t->class_weights : NULL, n, k, 1.0);
    }
    if (ds->multi_label)
        normalizer = (double)ds->n * k;
    else
        normalizer = pt_softmax_xent_normalizer(
            ds->labels, t->use_class_weights ? t->class_weights : NULL, (int)ds->n, k);
    pt_comm_allreduce_sum_f64(t->comm, &loss_sum, 1);
    res->loss = normalizer > 0 ? loss_sum / normalizer : NAN;

    uint8_t *all = NULL;
    size_t all_size = 0;
    int status = pt_comm_gather_bytes(t->comm, (const uint8_t *)mine,
                                      (size_t)(hi - lo) * (size_t)k * sizeof(float), 0, &all,
                                      &all_size, err);
    free(mine);
    if (status == PT_OK && t->comm->rank == 0)
        res->probs = (float *)all;
    return status;
}

static int compute_metrics(const trainer *t, const pt_dataset *ds, const float *probs,
                           double threshold, pt_metrics *m, pt_error *err)
{
    if (ds->multi_label)
        return pt_metrics_multi_label(probs, ds->targets, ds->n, ds->n_classes, 0.5, m, err);
    return pt_metrics_single_label(probs, ds->labels, ds->n, ds->n_classes, threshold, m, err);
}

/* The model-selection score: validation AUC (binary), macro AUC (otherwise), or minus the
 * validation loss when the AUC is undefined. Higher is better. */
static double selection_score(const pt_metrics *m, double val_loss)
{
    double auc = m->positive >= 0 ? m->auc : m->macro_auc;
    return isfinite(auc) ? auc : -val_loss;
}

/* The fixed threshold of --threshold VALUE, or 0.5 while training with youden. */
static double fixed_threshold(const trainer *t)
{
    const char *spec = t->cfg->threshold;
    if (!spec || !strcmp(spec, "youden"))
        return 0.5;
    return strtod(spec, NULL);
}

/* ---- epochs ------------------------------------------------------------------------------------
 */

static void reset_epoch_counters(trainer *t)
{
    t->t_data = t->t_compute = t->t_allreduce = t->t_optim = t->t_eval = 0.0;
    t->epoch_loss_sum = t->epoch_normalizer = t->epoch_correct = t->epoch_samples = 0.0;
}

static void format_duration(double seconds, char *buf, size_t cap)
{
    if (!isfinite(seconds) || seconds < 0)
        snprintf(buf, cap, "?");
    else if (seconds < 120)
        snprintf(buf, cap, "%.0fs", seconds);
    else if (seconds < 7200)
        snprintf(buf, cap, "%.0fm%02.0fs", floor(seconds / 60), fmod(seconds, 60));
    else
        snprintf(buf, cap, "%.0fh%02.0fm", floor(seconds / 3600), fmod(seconds / 60, 60));
}

static void progress_line(trainer *t, double step_loss, double epoch_start, double *last)
{
    double now = pt_now_seconds();
    if (t->comm->rank != 0 || now - *last < t->cfg->log_seconds)
        return;
    *last = now;
    double elapsed = now - epoch_start;
    double rate = elapsed > 0 ? t->epoch_samples / elapsed : 0;
    int64_t left = t->total_steps - t->global_step;
    char eta[32];
    format_duration(rate > 0 ? (double)left * t->cfg->batch / rate : NAN, eta, sizeof eta);
    say(t, "epoch %lld/%d step %lld/%lld loss %.4f %.0f img/s ETA %s\n", (long long)t->epoch + 1,
        t->cfg->epochs, (long long)t->step_in_epoch, (long long)t->steps_per_epoch, step_loss, rate,
        eta);
}

/* Rank 0 saves model.h5 with the current parameters; every rank learns the outcome. */
static int save_model(trainer *t, double threshold, pt_error *err);
/* Rank 0 writes a checkpoint of the current position; every rank learns the outcome. */
static int save_checkpoint(trainer *t, pt_error *err);

static int end_epoch(trainer *t, double epoch_start, pt_error *err)
{
    double t0 = pt_now_seconds();
    pt_epoch_record row = {.epoch = t->epoch + 1, .step = t->global_step};
    row.lr = pt_lr_at(&t->schedule, t->opt_state.step);
    row.train_loss = t->epoch_normalizer > 0 ? t->epoch_loss_sum / t->epoch_normalizer : NAN;
    row.train_accuracy = t->epoch_samples > 0 ? t->epoch_correct / t->epoch_samples : NAN;
    row.val_loss = row.val_accuracy = row.val_sensitivity = row.val_specificity = NAN;
    row.val_f1 = row.val_auc = NAN;

    double score = (double)t->epoch; /* without validation, the latest epoch is the best */
    int status = PT_OK;
    if (t->val.n > 0) {
        eval_result res;
        status = evaluate(t, &t->val, &res, err);
        pt_metrics *m = calloc(1, sizeof *m);
        if (status == PT_OK && t->comm->rank == 0) {
            status = m ? compute_metrics(t, &t->val, res.probs, fixed_threshold(t), m, err)
                       : pt_error_set(err, PT_ERR_NOMEM, "out of memory");
            if (status == PT_OK) {
                row.val_loss = res.loss;
                row.val_accuracy = m->accuracy;
                row.val_sensitivity = m->sensitivity;
                row.val_specificity = m->specificity;
                row.val_f1 = m->positive >= 0 ? m->f1 : m->macro_f1;
                row.val_auc = m->positive >= 0 ? m->auc : m->macro_auc;
                score = selection_score(m, res.loss);
            }
        }
        free(m);
        free(res.probs);
        status = pt_comm_agree_status(t->comm, status);
        if (status != PT_OK)
            return status;
        int64_t bits; /* rank 0's score, sent as the bits of the double */
        memcpy(&bits, &score, sizeof bits);
        pt_comm_bcast_i64(t->comm, &bits, 1, 0);
        memcpy(&score, &bits, sizeof score);
    }
    t->t_eval = pt_now_seconds() - t0;
    row.epoch_s = pt_now_seconds() - epoch_start;
    row.compute_s = t->t_compute;
    row.allreduce_s = t->t_allreduce;
    row.data_s = t->t_data;
    row.optim_s = t->t_optim;
    row.eval_s = t->t_eval;
    double train_s = row.epoch_s - row.eval_s;
    row.images_per_s = train_s > 0 ? t->epoch_samples / train_s : NAN;

    say(t,
        "epoch %lld/%d  train loss %.4f acc %.3f  val loss %.4f acc %.3f auc %.3f  %.0f img/s  "
        "(compute %.1fs, allreduce wait %.2fs, data %.2fs, eval %.1fs)\n",
        (long long)row.epoch, t->cfg->epochs, row.train_loss, row.train_accuracy, row.val_loss,
        row.val_accuracy, row.val_auc, row.images_per_s, row.compute_s, row.allreduce_s, row.data_s,
        row.eval_s);

    if (t->comm->rank == 0) {
        status = pt_report_epoch(t->cfg->run_dir, t->history, &row, err);
        if (status == PT_OK)
            status = pt_report_learning_curves(t->cfg->run_dir, t->history, err);
    }
    status = pt_comm_agree_status(t->comm, status);
    if (status == PT_OK && score > t->best_score) {
        t->best_score = score;
        t->best_epoch = t->epoch + 1;
        status = save_model(t, fixed_threshold(t), err);
    }
    return status;
}

/* --profile: the first steps of a process pay for page faults and cold caches; the profile
 * starts after them. */
#define PROFILE_WARMUP_STEPS 2

static void start_profile_after_warmup(trainer *t)
{
    if (t->cfg->profile && !t->profiling && t->steps_this_run == PROFILE_WARMUP_STEPS) {
        t->profiling = 1;
        memset(&t->profile, 0, sizeof t->profile);
        pt_net_set_profiling(t->net, 1);
    }
}

/* Times a few blocking allreduces of the whole gradient buffer, nothing else running: what
 * the reduction would cost if backward hid none of it. Collective; the gradients are spent
 * (training is over). Returns the median seconds, 0 on a single rank. */
static int time_allreduce_alone(trainer *t, double *seconds, pt_error *err)
{
    enum { REPEATS = 5 };
    *seconds = 0.0;
    if (t->comm->size < 2 || t->shard) /* shards: nothing hides behind backward */
        return PT_OK;
    pt_allreduce *ar = NULL;
    int status = pt_comm_agree_status(t->comm, pt_allreduce_create(t->comm, 1, &ar, err));
    if (status != PT_OK)
        return status;
    double times[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        pt_comm_barrier(t->comm);
        double t0 = pt_now_seconds();
        pt_allreduce_start(ar, pt_net_grads(t->net), pt_net_param_count(t->net));
        pt_allreduce_wait(ar);
        times[r] = pt_now_seconds() - t0;
    }
    pt_allreduce_free(ar);
    /* the median of REPEATS values, by insertion sort */
    for (int i = 1; i < REPEATS; i++)
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
            double x = times[j];
            times[j] = times[j - 1];
            times[j - 1] = x;
        }
    *seconds = times[REPEATS / 2];
    return PT_OK;
}

/* Rank 0 writes profile.csv and logs the table; every rank learns the outcome. */
static int write_profile(trainer *t, pt_error *err)
{
    pt_net_set_profiling(t->net, 0); /* stops the clocks; what they counted stays */
    t->profiling = 0;
    int status = time_allreduce_alone(t, &t->profile.allreduce_alone_s, err);
    /* the smallest wait of any rank, in microseconds, through a max of negated values */
    int64_t negated_us = -(int64_t)llround(t->profile.allreduce_wait_s * 1e6);
    pt_comm_allreduce_max_i64(t->comm, &negated_us, 1);
    t->profile.allreduce_exposed_s = -(double)negated_us / 1e6;
    if (status == PT_OK && t->comm->rank == 0) {
        char path[PT_PATH_MAX];
        snprintf(path, sizeof path, "%s/profile.csv", t->cfg->run_dir);
        status = pt_profile_write_csv(path, t->net, &t->profile, err);
        static char table[16384];
        pt_profile_format(table, sizeof table, t->net, &t->profile);
        say(t, "%s", table);
    }
    return pt_comm_agree_status(t->comm, status);
}

/* Runs steps until the end of training (or --max-steps / --stop-after-steps). */
static int run_epochs(trainer *t, int *stopped_early, pt_error *err)
{
    *stopped_early = 0;
    int status = PT_OK;
    while (t->epoch < t->cfg->epochs && status == PT_OK) {
        pt_sampler_permutation(t->cfg->seed, t->epoch, t->train.n, t->perm);
        reset_epoch_counters(t);
        double epoch_start = pt_now_seconds(), last_line = epoch_start;
        while (t->step_in_epoch < t->steps_per_epoch && status == PT_OK) {
            double loss = NAN;
            start_profile_after_warmup(t);
            status = train_step(t, t->step_in_epoch, &loss, err);
            t->steps_this_run++;
            status = pt_comm_agree_status(t->comm, status);
            if (status != PT_OK)
                break;
            t->step_in_epoch++;
            t->global_step++;
            progress_line(t, loss, epoch_start, &last_line);
            int last_of_epoch = t->step_in_epoch == t->steps_per_epoch;
            if (last_of_epoch) {
                status = end_epoch(t, epoch_start, err);
                t->epoch++;
                t->step_in_epoch = 0;
            }
            int periodic = t->cfg->ckpt_every > 0 && t->global_step % t->cfg->ckpt_every == 0;
            if (status == PT_OK && (periodic || (last_of_epoch && t->cfg->ckpt_every == 0)))
                status = save_checkpoint(t, err);
            if (status == PT_OK && t->stop_requested) {
                /* preemption: a checkpoint at this exact step, then out */
                if (!periodic && !(last_of_epoch && t->cfg->ckpt_every == 0))
                    status = save_checkpoint(t, err);
                *stopped_early = 2;
                return status;
            }
            if (status == PT_OK && t->cfg->stop_after_steps > 0 &&
                t->global_step >= t->cfg->stop_after_steps) {
                *stopped_early = 1; /* as if preempted: no final evaluation */
                return status;
            }
            if (status == PT_OK && t->cfg->max_steps > 0 && t->global_step >= t->cfg->max_steps) {
                /* a shortened run: finish normally, and a partial epoch counts as one */
                if (!last_of_epoch) {
                    say(t,
                        "--max-steps %lld: epoch %lld stopped after %lld of %lld steps; "
                        "validated as it is (one row of metrics.csv)\n",
                        (long long)t->cfg->max_steps, (long long)t->epoch + 1,
                        (long long)t->step_in_epoch, (long long)t->steps_per_epoch);
                    status = end_epoch(t, epoch_start, err);
                }
                return status;
            }
            if (last_of_epoch)
                break;
        }
    }
    return status;
}

/* ---- model, checkpoints, resume ----------------------------------------------------------------
 */

static void model_meta(const trainer *t, double threshold, pt_model_meta *meta)
{
    pt_model_meta_init(meta);
    pt_strlcpy(meta->arch_name, t->arch.name, sizeof meta->arch_name);
    meta->channels = 1;
    meta->height = t->info->height;
    meta->width = t->info->width;
    meta->n_classes = t->info->n_classes;
    for (int c = 0; c < t->info->n_classes; c++)
        pt_strlcpy(meta->class_names[c], t->info->class_names[c], sizeof meta->class_names[c]);
    meta->multi_label = t->info->multi_label;
    meta->mean = t->info->mean;
    meta->std = t->info->std;
    meta->threshold = !t->info->multi_label && t->info->n_classes == 2 ? threshold : NAN;
    pt_time_iso8601(meta->created, sizeof meta->created);
}

static int save_model(trainer *t, double threshold, pt_error *err)
{
    int status = PT_OK;
    if (t->comm->rank == 0) {
        char path[PT_PATH_MAX];
        snprintf(path, sizeof path, "%s/model.h5", t->cfg->run_dir);
        pt_model_meta meta;
        model_meta(t, threshold, &meta);
        status = pt_model_save(path, t->net, &t->arch, &meta, err);
    }
    return pt_comm_agree_status(t->comm, status);
}

static void describe_checkpoint(trainer *t, pt_ckpt *ck)
{
    int n;
    memset(ck, 0, sizeof *ck);
    ck->params = pt_net_params(t->net);
    ck->n_params = pt_net_param_count(t->net);
    ck->param_table = pt_net_param_table(t->net, &n);
    ck->n_param_tensors = n;
    ck->state = pt_net_state(t->net);
    ck->n_state = pt_net_state_count(t->net);
    ck->state_table = pt_net_state_table(t->net, &n);
    ck->n_state_tensors = n;
    ck->optim = &t->opt_state;
    ck->epoch = t->epoch;
    ck->step_in_epoch = t->step_in_epoch;
    ck->global_step = t->global_step;
    ck->seed = t->cfg->seed;
    ck->best_score = t->best_score;
    ck->best_epoch = t->best_epoch;
    ck->train_loss = t->ckpt_loss_norm > 0 ? t->ckpt_loss_sum / t->ckpt_loss_norm : NAN;
    ck->config = t->config_json;
    ck->arch_text = t->arch.text;
}

static int save_checkpoint(trainer *t, pt_error *err)
{
    int status = PT_OK;
    if (t->shard) /* each rank kept its own slice of the optimizer state up to date */
        pt_shard_gather_state(t->shard, t->opt_buf, pt_optim_state_buffers(t->opt_state.kind));
    if (t->comm->rank == 0) {
        char dir[PT_PATH_MAX];
        snprintf(dir, sizeof dir, "%s/checkpoints", t->cfg->run_dir);
        pt_ckpt ck;
        describe_checkpoint(t, &ck);
        status = pt_ckpt_save(dir, &ck, err);
        if (status == PT_OK)
            status = pt_ckpt_prune(dir, t->cfg->keep_ckpts > 0 ? t->cfg->keep_ckpts : 1, err);
    }
    t->ckpt_loss_sum = t->ckpt_loss_norm = 0.0; /* the next checkpoint's window starts here */
    return pt_comm_agree_status(t->comm, status);
}

/* Rank 0's parameters to every rank: with shards, to the one copy of every other node. */
static void broadcast_params(trainer *t)
{
    if (t->shard)
        pt_shard_bcast_params(t->shard);
    else
        pt_comm_bcast_f32(t->comm, pt_net_params(t->net), pt_net_param_count(t->net), 0);
}

/* ---- resume: what may change, and which checkpoint ------------------------------------------
 *
 * A resumed run continues the run that wrote the checkpoint. What may differ (README,
 * "Checkpoints"): the ranks and threads, the convolution algorithm, the gradient sum and bucket
 * size (float summation order only, as for a different -np), checkpoint and logging settings, the
 * threshold rule (used at the end), --epochs, and the learning rate and its schedule (a deliberate
 * change, e.g. a lower --lr after the loss exploded: printed, and recorded in config.json's runs).
 * What may not: anything that decides which images each step sees or what the checkpoint's numbers
 * mean. */
typedef struct resume_rule {
    const char *key;    /* in config.json */
    const char *option; /* what the user changes */
    const char *why;    /* NULL: may change (printed); else why it may not */
} resume_rule;

static const char why_batches[] = "the steps of an epoch and the images of each step depend on it";
static const resume_rule resume_rules[] = {
    {"batch", "--batch", why_batches},
    {"drop_last", "--keep-last", why_batches},
    {"seed", "--seed", "the order of the images, their augmentation and dropout depend on it"},
    {"augment", "--no-augment", "the images each step sees depend on it"},
    {"arch", "--arch", "the checkpoint holds that network's weights"},
    {"opt", "--opt", "the checkpoint holds that optimizer's state"},
    {"class_weights", "--class-weights",
     "the loss being minimised, and the validation loss the best epoch was chosen on, depend on "
     "it"},
    {"train_images", "--data", "the training set is another one"},
    {"image_size", "--data", "the training set is another one"},
    {"class_names", "--data", "the training set is another one"},
    {"data", "--data", NULL},
    {"epochs", "--epochs", NULL},
    {"lr", "--lr", NULL},
    {"schedule", "--schedule", NULL},
    {"warmup_epochs", "--warmup-epochs", NULL},
    {"min_lr", "--min-lr", NULL},
    {"step_epochs", "--step-epochs", NULL},
    {"gamma", "--gamma", NULL},
    {"momentum", "--momentum", NULL},
    {"nesterov", "--nesterov", NULL},
    {"weight_decay", "--weight-decay", NULL},
    {"ranks", "ranks", NULL},
    {"threads_per_rank", "--threads", NULL},
    {"conv_algo", "--conv-algo", NULL},
    {"bucket_floats", "--bucket-mb", NULL},
    {"grad_sum", "--grad-sum", NULL},
    {"ckpt_every", "--ckpt-every", NULL},
    {"keep_ckpts", "--keep-ckpts", NULL},
    {"threshold", "--threshold", NULL},
    /* another node's CPU: ptrain's own kernels compute the same bits on sse2 and avx2, avx512's
     * Winograd GEMMs round differently (isa.h); the GEMMs of another OpenBLAS core may too */
    {"isa", "instruction-set path", NULL},
    {"blas_core", "OpenBLAS core", NULL},
};

/* A JSON value as a person reads it: strings without their quotes. */
static void plain_value(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        memmove(v, v + 1, n - 2);
        v[n - 2] = '\0';
    }
}

/* Rank 0: compares the checkpoint's configuration with this run's. A change that may not happen
 * is an error naming the option and both values; the others are printed. */
static int resume_check_options(trainer *t, const char *path, const char *config,
                                const char *arch_text, pt_error *err)
{
    int lr_changed = 0;
    for (size_t i = 0; i < sizeof resume_rules / sizeof resume_rules[0]; i++) {
        const resume_rule *r = &resume_rules[i];
        char old[512], now[512];
        if (json_member(config, r->key, old, sizeof old) != 0 ||
            json_member(t->config_json, r->key, now, sizeof now) != 0 || !strcmp(old, now))
            continue; /* the same, or not recorded by the ptrain that wrote the checkpoint */
        plain_value(old);
        plain_value(now);
        /* the same network under another name (a moved architecture file) is the same network */
        if (!strcmp(r->key, "arch") && arch_text && !strcmp(arch_text, t->arch.text)) {
            say(t, "resume: --arch %s -> %s (the same network)\n", old, now);
            continue;
        }
        if (r->why)
            return pt_error_set(err, PT_ERR_INVALID,
                                "%s was written with %s %s, this run has %s %s: %s cannot change "
                                "on resume (%s); resume with %s %s, or start a new run "
                                "(another --run-dir, or --overwrite)",
                                path, r->key, old, r->key, now, r->option, r->why, r->option, old);
        if (!strcmp(r->key, "ranks"))
            say(t, "resume: ranks %s -> %s\n", old, now);
        else if (!strcmp(r->key, "isa"))
            say(t,
                "resume: instruction-set path %s -> %s (ptrain's kernels give the same bits on "
                "every path)\n",
                old, now);
        else if (!strcmp(r->key, "blas_core"))
            say(t,
                "resume: OpenBLAS core %s -> %s (its GEMMs may round differently from here "
                "on)\n",
                old, now);
        else
            say(t, "resume: %s %s -> %s\n", r->option, old, now);
        lr_changed |= strcmp(r->key, "data") && strcmp(r->key, "epochs") &&
                      strcmp(r->key, "ranks") && strcmp(r->key, "threads_per_rank") &&
                      strcmp(r->key, "conv_algo") && strcmp(r->key, "bucket_floats") &&
                      strcmp(r->key, "grad_sum") && strcmp(r->key, "ckpt_every") &&
                      strcmp(r->key, "keep_ckpts") && strcmp(r->key, "threshold") &&
                      strcmp(r->key, "isa") && strcmp(r->key, "blas_core");
    }
    if (lr_changed)
        say(t, "resume: the optimizer settings changed, so from here on this run differs from "
               "one that never stopped (config.json lists every run)\n");
    return PT_OK;
}

/* Rank 0: one candidate checkpoint. *fatal is set when the failure is the run's, not the file's
 * (an option that may not change, or --epochs too small for it): no other checkpoint would do. */
static int resume_try(trainer *t, const char *path, int *fatal, pt_error *err)
{
    *fatal = 0;
    char *config = NULL, *arch_text = NULL;
    pt_ckpt_info info;
    int status = pt_ckpt_read_config(path, &config, &arch_text, err);
    if (status == PT_OK) {
        status = resume_check_options(t, path, config, arch_text, err);
        *fatal = status != PT_OK;
    }
    if (status == PT_OK)
        status = pt_ckpt_peek(path, &info, err);
    if (status == PT_OK) {
        /* against the run that wrote it: its --epochs (the batch is this run's, checked above) */
        char value[64];
        long long epochs = t->cfg->epochs;
        if (json_member(config, "epochs", value, sizeof value) == 0)
            epochs = atoll(value);
        status = pt_ckpt_check_position(&info, epochs, t->steps_per_epoch, path, err);
    }
    if (status == PT_OK &&
        (info.epoch > t->cfg->epochs || (info.epoch == t->cfg->epochs && info.step_in_epoch > 0))) {
        *fatal = 1;
        status = pt_error_set(err, PT_ERR_INVALID,
                              "%s is at epoch %lld, step %lld: beyond --epochs %d; resume with "
                              "--epochs %lld or more",
                              path, (long long)info.epoch + 1, (long long)info.step_in_epoch,
                              t->cfg->epochs, (long long)info.epoch + 1);
    }
    if (status == PT_OK) {
        pt_ckpt ck;
        describe_checkpoint(t, &ck);
        status = pt_ckpt_load(path, &ck, err);
        pt_ckpt_free_loaded(&ck);
        if (status == PT_OK) {
            t->epoch = ck.epoch;
            t->step_in_epoch = ck.step_in_epoch;
            t->global_step = ck.global_step;
            t->best_score = ck.best_score;
            t->best_epoch = ck.best_epoch;
            free(t->prior_runs);
            t->prior_runs = json_runs(config);
            pt_strlcpy(t->resumed_from, path, sizeof t->resumed_from);
            t->resumed_at_step = ck.global_step;
        }
    }
    free(config);
    free(arch_text);
    return status;
}

/* Rank 0: --resume PATH, or the newest checkpoint of the run directory that loads and fits,
 * saying which were skipped and why. *found = 0: none at all (a fresh start). */
static int resume_choose(trainer *t, int64_t *found, pt_error *err)
{
    *found = 0;
    int fatal = 0;
    if (strcmp(t->cfg->resume, "auto") != 0) {
        int status = resume_try(t, t->cfg->resume, &fatal, err);
        *found = status == PT_OK;
        return status;
    }
    char dir[PT_PATH_MAX];
    char **paths = NULL;
    size_t n = 0;
    int status = path_in(dir, t->cfg->run_dir, "checkpoints", err);
    if (status == PT_OK)
        status = pt_ckpt_list(dir, &paths, &n, err);
    if (status == PT_OK && n == 0)
        say(t, "resume: no checkpoint in %s, starting from scratch\n", dir);
    char skipped[PT_ERROR_MSG_MAX] = "";
    for (size_t i = 0; status == PT_OK && i < n; i++) {
        pt_error why;
        pt_error_clear(&why);
        if (resume_try(t, paths[i], &fatal, &why) == PT_OK) {
            *found = 1;
            break;
        }
        if (fatal) {
            *err = why;
            status = why.code;
            break;
        }
        /* the reason names the file itself; drop the repeated name for the log line */
        const char *reason = why.msg;
        size_t len = strlen(paths[i]);
        if (!strncmp(reason, paths[i], len) && reason[len] == ':')
            reason += len + 2;
        else if (!strncmp(reason, paths[i], len))
            reason += len + 1;
        warn(t, "resume: skipped %s: %s", paths[i], reason);
        /* "a (why); b (why)", cut where the message ends */
        const char *parts[5] = {skipped[0] ? "; " : "", paths[i], " (", reason, ")"};
        for (int p = 0; p < 5; p++) {
            size_t used = strlen(skipped);
            pt_strlcpy(skipped + used, parts[p], sizeof skipped - used);
        }
    }
    if (status == PT_OK && n > 0 && !*found)
        status = pt_error_set(err, PT_ERR_FORMAT,
                              "no usable checkpoint in %s, none was loaded: %s. Resume from "
                              "another checkpoint with --resume PATH, or start again with "
                              "--overwrite",
                              dir, skipped);
    pt_ckpt_list_free(paths, n);
    return status;
}

/* Rank 0 chooses and loads the checkpoint; every rank receives its buffers and position. */
static int resume(trainer *t, pt_error *err)
{
    int64_t found = 0;
    int status = PT_OK;
    if (t->comm->rank == 0) {
        status = resume_choose(t, &found, err);
        if (status == PT_OK && found) {
            say(t, "resume: %s (epoch %lld, step %lld)\n", t->resumed_from, (long long)t->epoch + 1,
                (long long)t->global_step);
            if (t->epoch == t->cfg->epochs)
                say(t, "resume: training is complete (%lld epochs): evaluating the best model\n",
                    (long long)t->epoch);
        }
    }
    status = pt_comm_agree_status(t->comm, status);
    if (status != PT_OK)
        return status;
    int64_t best_bits;
    memcpy(&best_bits, &t->best_score, sizeof best_bits);
    int64_t scalars[7] = {found,         t->epoch,  t->step_in_epoch, t->global_step,
                          t->best_epoch, best_bits, t->opt_state.step};
    pt_comm_bcast_i64(t->comm, scalars, 7, 0);
    if (!scalars[0])
        return PT_OK;
    t->epoch = scalars[1];
    t->step_in_epoch = scalars[2];
    t->global_step = scalars[3];
    t->best_epoch = scalars[4];
    memcpy(&t->best_score, &scalars[5], sizeof t->best_score);
    t->opt_state.step = scalars[6];
    broadcast_params(t);
    pt_comm_bcast_f32(t->comm, pt_net_state(t->net), pt_net_state_count(t->net), 0);
    pt_comm_bcast_f32(t->comm, t->opt_buf, pt_optim_state_floats(t->opt_state.kind, t->opt_state.n),
                      0);
    if (t->comm->rank == 0)
        status = pt_report_load_history(t->cfg->run_dir, t->epoch, t->history, err);
    return pt_comm_agree_status(t->comm, status);
}

/* ---- the end: best model, threshold, test set, summary ----------------------------------------
 */

/* Loads run_dir/model.h5 (the best epoch's model) into the net on every rank. */
static int restore_best_model(trainer *t, pt_error *err)
{
    int status = PT_OK;
    if (t->comm->rank == 0) {
        char path[PT_PATH_MAX];
        snprintf(path, sizeof path, "%s/model.h5", t->cfg->run_dir);
        pt_arch arch;
        pt_net *best = NULL;
        pt_model_meta meta;
        status = pt_model_load(path, &arch, &best, &meta, 1, err);
        if (status == PT_OK && pt_net_copy_weights(t->net, best) != PT_OK)
            status = pt_error_set(err, PT_ERR_FORMAT, "%s: not this run's network", path);
        if (best) {
            pt_net_free(best);
            pt_arch_free(&arch);
        }
    }
    status = pt_comm_agree_status(t->comm, status);
    if (status == PT_OK) {
        broadcast_params(t);
        pt_comm_bcast_f32(t->comm, pt_net_state(t->net), pt_net_state_count(t->net), 0);
    }
    return status;
}

/* --threshold youden: the threshold on p(positive) maximising sensitivity + specificity - 1 on
 * VALIDATION (never test); a value: that value. Binary single-label only. */
static int choose_threshold(trainer *t, double *threshold, pt_error *err)
{
    *threshold = fixed_threshold(t);
    int binary = !t->info->multi_label && t->info->n_classes == 2;
    if (!binary || strcmp(t->cfg->threshold, "youden") != 0 || t->val.n == 0)
        return PT_OK;
    eval_result res;
    int status = evaluate(t, &t->val, &res, err);
    if (status == PT_OK && t->comm->rank == 0) {
        float *scores = malloc((size_t)t->val.n * sizeof *scores);
        uint8_t *pos = malloc((size_t)t->val.n);
        double j = 0;
        if (!scores || !pos) {
            status = pt_error_set(err, PT_ERR_NOMEM, "out of memory");
        } else {
            pt_metrics_one_vs_rest(res.probs, t->val.labels, t->val.n, 2, PT_METRICS_POSITIVE,
                                   scores, pos);
            pt_error none;
            if (pt_metrics_youden(scores, pos, t->val.n, threshold, &j, &none) != PT_OK)
                *threshold = 0.5; /* validation holds one class only: no curve to choose on */
        }
        free(scores);
        free(pos);
    }
    free(res.probs);
    status = pt_comm_agree_status(t->comm, status);
    int64_t bits;
    memcpy(&bits, threshold, sizeof bits);
    pt_comm_bcast_i64(t->comm, &bits, 1, 0);
    memcpy(threshold, &bits, sizeof bits);
    return status;
}

static int write_summary(trainer *t, const pt_metrics *test, double test_loss, double threshold,
                         double wall, pt_error *err)
{
    char path[PT_PATH_MAX], tmp[PT_PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.json", t->cfg->run_dir);
    FILE *f = pt_fs_open_temp(path, tmp, err);
    if (!f)
        return err ? err->code : PT_ERR_IO;
    /* over the steps this process ran (a resumed run counts its own steps only) */
    double images_per_s = t->run_step_seconds > 0 ? t->run_samples / t->run_step_seconds : NAN;
    pt_json j;
    pt_json_init(&j, f);
    pt_json_begin_object(&j, NULL);
    pt_json_string(&j, "generator", "ptrain " PT_VERSION);
    pt_json_string(&j, "data", t->cfg->data);
    pt_json_string(&j, "arch", t->arch.name);
    pt_json_int(&j, "parameters", (int64_t)pt_net_param_count(t->net));
    pt_json_int(&j, "ranks", t->comm->size);
    pt_json_int(&j, "threads_per_rank", choose_threads(t));
    pt_json_string(&j, "isa", pt_isa_name(pt_isa_active()));
    pt_json_string(&j, "blas_core", pt_isa_blas_core());
    pt_json_string(&j, "grad_sum", t->comm->size < 2 ? "none" : t->shard ? "sharded" : "allreduce");
    pt_json_int(&j, "epochs", t->epoch);
    pt_json_int(&j, "steps", t->global_step);
    pt_json_int(&j, "best_epoch", t->best_epoch);
    pt_json_string(&j, "selection", "validation AUC (macro for more than two classes)");
    pt_json_number(&j, "best_validation_score", t->best_score);
    pt_json_number(&j, "threshold", threshold);
    pt_json_string(&j, "threshold_rule", t->cfg->threshold);
    pt_json_number(&j, "wall_seconds", wall);
    pt_json_number(&j, "train_images_per_second", images_per_s);
    pt_json_number(&j, "forward_gflop_per_image", pt_net_flops_per_sample(t->net) / 1e9);
    /* training costs about three forward passes (forward, input and weight gradients) */
    pt_json_number(&j, "train_gflop_per_second",
                   3.0 * pt_net_flops_per_sample(t->net) * images_per_s / 1e9);
    json_write_runs(&j, t);
    if (test) {
        pt_json_begin_object(&j, "test");
        pt_report_json_metrics(&j, test, test_loss, &t->info->class_names[0][0],
                               sizeof t->info->class_names[0]);
        pt_json_end_object(&j);
    }
    pt_json_end_object(&j);
    return pt_fs_close_commit(f, tmp, path, err);
}

/* The heat maps of the test mistakes misclassified.png shows (rank 0, after the test
 * predictions probs): each shown mistake's image goes through the network again, alone, so that
 * the last forward pass holds its activations for pt_net_cam. *maps (malloc'ed: the caller frees
 * it) stays NULL for a network without maps, which the log says. */
static int mistake_cams(trainer *t, const float *probs, double threshold, float **maps,
                        pt_report_cams *cams, pt_error *err)
{
    const pt_dataset *ds = &t->test;
    *maps = NULL;
    *cams = (pt_report_cams){NULL, 0, 0, 0};
    pt_error why = {0};
    int status = pt_net_cam_shape(t->net, &cams->map_h, &cams->map_w, &why);
    if (status == PT_ERR_UNSUPPORTED) {
        say(t,
            "misclassified.png: no heat map is available for this network, the grid is gray "
            "(%s)\n",
            why.msg);
        return PT_OK;
    }
    if (status != PT_OK)
        return pt_error_set(err, status, "%s", why.msg);
    int k = ds->n_classes;
    pt_mistake *mistakes = malloc((size_t)(ds->n ? ds->n : 1) * sizeof *mistakes);
    if (!mistakes)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    int64_t n_wrong = pt_report_mistakes(ds->labels, probs, ds->n, k, threshold, mistakes);
    int shown = n_wrong < PT_REPORT_MISTAKES_SHOWN ? (int)n_wrong : PT_REPORT_MISTAKES_SHOWN;
    size_t map = (size_t)cams->map_h * (size_t)cams->map_w;
    size_t image = (size_t)ds->height * (size_t)ds->width;
    float *out = malloc((size_t)(shown ? shown : 1) * map * sizeof *out);
    float *again = malloc((size_t)k * sizeof *again);
    status = out && again ? PT_OK : pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    pt_infer_params params = {ds->height, ds->width, t->info->mean, t->info->std, 0};
    for (int i = 0; status == PT_OK && i < shown; i++) {
        int64_t idx = mistakes[i].index;
        status = pt_infer_probs(t->net, &params, ds->images + (size_t)idx * image, 1, again, err);
        /* the class from the test predictions, which the caption shows */
        int cls = pt_infer_cam_class(probs + idx * k, k, threshold, 0);
        if (status == PT_OK)
            status = pt_net_cam(t->net, 0, cls, out + (size_t)i * map, err);
    }
    free(again);
    free(mistakes);
    if (status != PT_OK) {
        free(out);
        return status;
    }
    *maps = out;
    cams->maps = out;
    cams->count = shown;
    return PT_OK;
}

static int finish(trainer *t, double wall_start, pt_error *err)
{
    int status = PT_OK;
    if (t->best_epoch <= 0)
        status = save_model(t, fixed_threshold(t), err); /* no epoch completed: the model as is */
    if (status == PT_OK)
        status = restore_best_model(t, err);
    double threshold = 0.5;
    if (status == PT_OK)
        status = choose_threshold(t, &threshold, err);
    if (status == PT_OK)
        status = save_model(t, threshold, err);

    pt_metrics *m = calloc(1, sizeof *m);
    eval_result res = {NAN, NULL};
    if (status == PT_OK && !m)
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    status = pt_comm_agree_status(t->comm, status);
    int have_test = t->test.n > 0;
    if (status == PT_OK && have_test)
        status = evaluate(t, &t->test, &res, err);
    if (status == PT_OK && have_test && t->comm->rank == 0) {
        char path[PT_PATH_MAX];
        snprintf(path, sizeof path, "%s/predictions.csv", t->cfg->run_dir);
        const char *names[PT_CACHE_MAX_CLASSES];
        for (int c = 0; c < t->info->n_classes; c++)
            names[c] = t->info->class_names[c];
        status = compute_metrics(t, &t->test, res.probs, threshold, m, err);
        if (status == PT_OK)
            status = pt_report_predictions(path, names, t->info->n_classes, t->info->multi_label,
                                           t->test.sources, PT_DATASET_SOURCE_MAX, t->test.labels,
                                           t->test.targets, res.probs, t->test.n, threshold, err);
        float *cam_maps = NULL;
        pt_report_cams cams = {NULL, 0, 0, 0};
        if (status == PT_OK && !t->info->multi_label) /* multi-label runs have no mistakes grid */
            status = mistake_cams(t, res.probs, threshold, &cam_maps, &cams, err);
        if (status == PT_OK)
            status = pt_report_test_plots(t->cfg->run_dir, names, t->info->n_classes,
                                          t->info->multi_label, t->test.labels, t->test.targets,
                                          res.probs, t->test.n, threshold, m, t->test.sources,
                                          PT_DATASET_SOURCE_MAX, t->test.images, t->test.height,
                                          t->test.width, cam_maps ? &cams : NULL, err);
        free(cam_maps);
        if (status == PT_OK && m->positive >= 0)
            say(t,
                "test (best epoch %lld, threshold %.3f): accuracy %.3f sensitivity %.3f "
                "specificity %.3f auc %.3f\n",
                (long long)t->best_epoch, threshold, m->accuracy, m->sensitivity, m->specificity,
                m->auc);
        else if (status == PT_OK)
            say(t, "test (best epoch %lld): accuracy %.3f macro auc %.3f\n",
                (long long)t->best_epoch, m->accuracy, m->macro_auc);
    }
    if (status == PT_OK && t->comm->rank == 0)
        status = write_summary(t, have_test ? m : NULL, res.loss, threshold,
                               pt_now_seconds() - wall_start, err);
    if (status == PT_OK)
        say(t, "run directory: %s\n", t->cfg->run_dir);
    free(res.probs);
    free(m);
    return pt_comm_agree_status(t->comm, status);
}

/* ---- the run
 * ------------------------------------------------------------------------------------- */

/* The splits a run relies on. ptrain-prep always writes train, val and test, an empty one when
 * asked to (--val-frac 0): a missing /val means a damaged or edited cache, and model selection
 * and the threshold cannot do without validation, so it is an error; an empty /val was asked
 * for, and a missing or empty /test only costs the final report, so they are warnings. */
static int check_cache_splits(const trainer *t, pt_error *err)
{
    const pt_cache_info *info = t->info;
    const char *data = t->cfg->data;
    if (!info->present[1])
        return pt_error_set(err, PT_ERR_FORMAT,
                            "%s has no /val split: model selection needs validation (ptrain-prep "
                            "always writes one; prep with --val-frac 0 to train without it on "
                            "purpose)",
                            data);
    if (!info->checksummed)
        warn(t,
             "%s has no checksums (an older ptrain-prep wrote it): damage to its images would go "
             "unnoticed; re-run ptrain-prep",
             data);
    if (info->count[1] == 0)
        warn(t,
             "%s: the validation split is empty (--val-frac 0?): no model selection, the last "
             "epoch's model is kept and --threshold youden falls back to 0.5",
             data);
    if (!info->present[2])
        warn(t, "%s has no /test split: no test metrics will be reported", data);
    else if (info->count[2] == 0)
        warn(t, "%s: the test split is empty: no test metrics will be reported", data);
    return PT_OK;
}

/* A class without training images cannot be learnt: an error. One missing from validation or
 * test leaves its per-class figures undefined: a warning. */
static int check_classes(const trainer *t, pt_error *err)
{
    const pt_dataset *splits[3] = {&t->train, &t->val, &t->test};
    const char *names[3] = {"training", "val", "test"};
    for (int i = 0; i < 3; i++) {
        const pt_dataset *ds = splits[i];
        int64_t counts[PT_CACHE_MAX_CLASSES];
        char empty_names[512];
        pt_cache_count_classes(t->info, ds->labels, ds->targets, ds->n, counts);
        int empty = pt_cache_empty_classes(t->info, counts, empty_names, sizeof empty_names);
        if (empty == 0 || ds->n == 0)
            continue;
        if (i == 0)
            return pt_error_set(err, PT_ERR_FORMAT,
                                "%s: %s %s %s no training images: nothing can learn %s (check the "
                                "classes the cache was prepared with)",
                                t->cfg->data, empty > 1 ? "classes" : "class", empty_names,
                                empty > 1 ? "have" : "has", empty > 1 ? "them" : "it");
        warn(t, "%s: the %s split has no images of class %s: %s per-class figures are undefined",
             t->cfg->data, names[i], empty_names, empty > 1 ? "their" : "its");
    }
    return PT_OK;
}

static int setup(trainer *t, pt_error *err)
{
    const pt_train_config *cfg = t->cfg;
    if (cfg->epochs < 1 || cfg->batch < 1 || !(cfg->lr > 0))
        return pt_error_set(err, PT_ERR_INVALID, "--epochs, --batch and --lr must be positive");
    /* Every rank takes a slice of each global batch. The same rule and words as
     * slurm/train.sbatch, which checks it before launching anything. */
    if (cfg->batch < t->comm->size)
        return pt_error_set(err, PT_ERR_USAGE,
                            "the global batch --batch %d is smaller than the %d rank(s) of this "
                            "job: raise --batch to at least %d or run with fewer ranks",
                            cfg->batch, t->comm->size, t->comm->size);

    int status = pt_cache_open(cfg->data, &t->cache, err);
    status = pt_comm_agree_status(t->comm, status);
    if (status != PT_OK)
        return status;
    t->info = pt_cache_get_info(t->cache);
    status = pt_comm_agree_status(t->comm, check_cache_splits(t, err));
    if (status != PT_OK)
        return status;
    status = pt_arch_load(cfg->arch, &t->arch, err);
    status = pt_comm_agree_status(t->comm, status);
    if (status != PT_OK)
        return status;
    for (int i = 0; i < t->arch.n_warnings; i++)
        if (t->comm->rank == 0)
            fprintf(stderr, "ptrain: warning: %s\n", t->arch.warnings[i]);
    t->max_local = (cfg->batch + t->comm->size - 1) / t->comm->size;
    pt_conv_algo algo;
    if (pt_net_conv_algo_parse(cfg->conv_algo, &algo) != PT_OK)
        return pt_error_set(err, PT_ERR_INVALID,
                            "--conv-algo %s: expected auto, gemm, winograd, winograd2 or winograd4",
                            cfg->conv_algo);
    status = pt_net_create(&t->arch, t->info->channels, t->info->height, t->info->width,
                           t->info->n_classes, t->max_local, &t->net, err);
    if (status == PT_OK)
        pt_net_set_conv_algo(t->net, algo);
    if (status != PT_OK) {
        char reason[PT_ERROR_MSG_MAX];
        pt_strlcpy(reason, err->msg, sizeof reason);
        return pt_error_set(err, status, "%s does not fit %s: %s", cfg->data, cfg->arch, reason);
    }

    status = pt_dataset_load(t->cache, "train", t->comm, 0, &t->train, err);
    if (status == PT_OK)
        status = pt_dataset_load(t->cache, "val", t->comm, 0, &t->val, err);
    if (status == PT_OK)
        status = pt_dataset_load(t->cache, "test", t->comm, t->comm->rank == 0, &t->test, err);
    if (status == PT_OK)
        status = pt_comm_agree_status(t->comm, check_classes(t, err));
    if (status != PT_OK)
        return status;
    t->steps_per_epoch = pt_sampler_batches(t->train.n, cfg->batch, cfg->drop_last);
    if (t->steps_per_epoch == 0)
        return pt_error_set(err, PT_ERR_INVALID,
                            "%s: %lld training images make no batch of %d (lower --batch)",
                            cfg->data, (long long)t->train.n, cfg->batch);
    t->total_steps = t->steps_per_epoch * cfg->epochs;
    status = choose_class_weights(t, err);
    if (status == PT_OK)
        status = setup_optimizer(t, err);
    if (status == PT_OK)
        status = allocate_step_buffers(t, err);
    /* the gradient sums are set up collectively: every rank must get there, or none */
    status = pt_comm_agree_status(t->comm, status);
    if (status == PT_OK)
        status = setup_gradient_sums(t, err);
    t->augment = pt_augment_default();
    t->augment.enabled = cfg->augment;
    t->best_score = -INFINITY;
    t->best_epoch = 0;
    /* the rank's threads: every layer on them, OpenBLAS on one thread inside (net.h) */
    if (status == PT_OK)
        status = pt_net_set_threads(t->net, choose_threads(t), err);
    warn_about_binding(t);
    pt_time_iso8601(t->started, sizeof t->started);
    /* this run's settings as JSON, before any resume compares a checkpoint's with them */
    if (status == PT_OK)
        status = write_config_json(t, err);
    status = pt_comm_agree_status(t->comm, status);
    if (status == PT_OK)
        status = pt_comm_agree_status(t->comm, open_run_dir(t, err));
    if (status != PT_OK)
        return status;
    /* Same seed gives the same initial weights everywhere; the broadcast makes it a rule. */
    pt_net_init_params(t->net, cfg->seed);
    pt_comm_bcast_f32(t->comm, pt_net_params(t->net), pt_net_param_count(t->net), 0);
    if (t->shard) /* from here one copy per node (shard.h) */
        pt_net_use_param_buffer(t->net, pt_shard_adopt_params(t->shard, pt_net_params(t->net)));
    return PT_OK;
}

static void teardown(trainer *t)
{
    pt_reducer_free(t->reducer);
    pt_dataset_free(&t->train);
    pt_dataset_free(&t->val);
    pt_dataset_free(&t->test);
    pt_net_free(t->net);
    pt_shard_free(t->shard); /* after the net, which had its parameters and gradients there */
    pt_arch_free(&t->arch);
    pt_cache_close(t->cache);
    free(t->opt_buf);
    free(t->perm);
    free(t->sample_ids);
    free(t->labels);
    free(t->targets);
    free(t->dlogits);
    free(t->history);
    free(t->prior_runs);
    if (t->log)
        fclose(t->log);
    pt_lock_release(&t->lock); /* last: the run directory is complete */
}

static void log_start(trainer *t)
{
    char table[8192];
    pt_net_describe(t->net, table, sizeof table);
    say(t, "ptrain %s: %s on %s (%lld train, %lld val, %lld test images, %dx%d, %d classes)\n",
        PT_VERSION, t->arch.name, t->cfg->data, (long long)t->train.n, (long long)t->val.n,
        (long long)t->test.n, t->info->height, t->info->width, t->info->n_classes);
    say(t,
        "%d rank(s) x %d thread(s); global batch %d (%d per rank at most); %lld "
        "steps per epoch; %.3f GFLOP forward per image\n",
        t->comm->size, choose_threads(t), t->cfg->batch, t->max_local,
        (long long)t->steps_per_epoch, pt_net_flops_per_sample(t->net) / 1e9);
    say(t, "kernels: %s (the widest this CPU runs: %s); OpenBLAS core: %s\n",
        pt_isa_name(pt_isa_active()), pt_isa_name(pt_isa_best()), pt_isa_blas_core());
    if (t->comm->size > 1)
        say(t, "gradient sums: %s\n", t->grad_sum_note);
    if (t->use_class_weights) {
        say(t, "class weights:");
        for (int c = 0; c < t->info->n_classes; c++)
            say(t, " %s %.3f", t->info->class_names[c], t->class_weights[c]);
        say(t, "\n");
    }
    say(t, "%s", table);
}

int pt_train_run(const pt_train_config *cfg, const pt_comm *comm, pt_error *err)
{
    double wall_start = pt_now_seconds();
    trainer *t = calloc(1, sizeof *t);
    if (!t)
        return pt_comm_agree_status(comm, pt_error_set(err, PT_ERR_NOMEM, "out of memory"));
    t->cfg = cfg;
    t->comm = comm;
    t->lock.fd = -1;
    int status = pt_comm_agree_status(comm, install_stop_handlers(err));
    if (status == PT_OK)
        status = setup(t, err);
    if (status == PT_OK && cfg->resume)
        status = resume(t, err);
    if (status == PT_OK)
        status = write_config(t, err);
    if (status == PT_OK)
        log_start(t);
    int stopped_early = 0;
    if (status == PT_OK)
        status = run_epochs(t, &stopped_early, err);
    if (status == PT_OK && stopped_early == 1)
        say(t, "stopped after step %lld as asked; resume with --resume auto\n",
            (long long)t->global_step);
    if (status == PT_OK && stopped_early == 2) {
        say(t,
            "stopped by a signal after step %lld, checkpoint written; resume with --resume "
            "auto\n",
            (long long)t->global_step);
        status = PT_STOPPED;
    }
    if (status == PT_OK && !stopped_early && t->profiling)
        status = write_profile(t, err);
    else if (status == PT_OK && !stopped_early && cfg->profile)
        warn(t,
             "--profile: no profile.csv: this run took %lld step(s), and the profile starts "
             "after %d warm-up steps; run at least %d steps (--max-steps)",
             (long long)t->steps_this_run, PROFILE_WARMUP_STEPS, PROFILE_WARMUP_STEPS + 1);
    if (status == PT_OK && !stopped_early)
        status = finish(t, wall_start, err);
    teardown(t);
    free(t);
    return status;
}
