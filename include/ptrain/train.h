/* The data-parallel training run: `ptrain train`.
 *
 * Every rank holds the whole model. Each step, rank r takes slice r of the global batch (see
 * sampler.h) and computes forward and backward on it. With several ranks the gradients are then
 * summed and the optimizer applied either sharded over each node's ranks, each rank summing and
 * updating its own slice of the parameters in node shared memory (shard.h, the default), or by an
 * allreduce of every gradient in buckets that start while backward is still running
 * (reducer.h), after which every rank applies the whole update. Rank 0 evaluates (with the other
 * ranks' help), logs, and writes the checkpoints and the run directory. */
#ifndef PTRAIN_TRAIN_H
#define PTRAIN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/comm.h"
#include "ptrain/common.h"

typedef struct pt_train_config {
    const char *data;    /* cache.h5 */
    const char *arch;    /* preset name or architecture file */
    const char *run_dir; /* results/<run-name> */
    const char *resume;  /* NULL (a fresh run), "auto" or a checkpoint path */
    int overwrite;       /* remove an earlier run's files from run_dir first (else refused) */
    int epochs;
    int batch; /* GLOBAL batch: hyperparameters mean the same for any -np */
    double lr;
    const char *opt; /* "sgd" or "adamw" */
    double momentum;
    int nesterov;
    double weight_decay;
    const char *schedule; /* "constant", "cosine" or "step" */
    double warmup_epochs;
    double min_lr;
    int step_epochs; /* step schedule: decay every this many epochs */
    double gamma;    /* step schedule factor */
    uint64_t seed;
    int64_t ckpt_every; /* steps between checkpoints; 0: at the end of every epoch */
    int keep_ckpts;
    const char *class_weights; /* "auto", "none" or "w1,w2,..." */
    const char *threshold;     /* "youden", "0.5" or a value */
    int augment;
    int threads; /* threads per rank (every layer); 0: cores on the node / ranks on it */
    int drop_last;
    double log_seconds;       /* seconds between progress lines */
    int64_t max_steps;        /* stop after this many steps in total (0: no limit); for tests */
    int64_t stop_after_steps; /* simulate preemption: exit after this global step, after its
                                 checkpoint (0: off); for tests */
    size_t bucket_floats;
    const char *grad_sum; /* "sharded" or "allreduce" (train.h's first comment) */
    int quiet;
    const char *conv_algo;    /* "auto", "gemm", "winograd", "winograd2", "winograd4" (net.h) */
    int profile;              /* time every layer and part of the step: profile.csv, log table */
    const char *command_line; /* recorded in config.json */
} pt_train_config;

void pt_train_config_default(pt_train_config *cfg);

/* Returned by pt_train_run when SIGUSR1 or SIGTERM stopped the run after a checkpoint: the job
 * can be requeued and continued with resume = "auto". */
#define PT_STOPPED 1

/* Runs the training. Collective. Returns PT_OK, PT_STOPPED, or an error on every rank (message
 * on the rank that knows it). SIGUSR1 and SIGTERM are handled: the run finishes its current
 * step, writes a checkpoint and returns PT_STOPPED. */
int pt_train_run(const pt_train_config *cfg, const pt_comm *comm, pt_error *err);

#endif
