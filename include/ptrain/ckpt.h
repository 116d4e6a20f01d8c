/* Checkpoints: everything a run needs to continue bit-identically after preemption.
 *
 *   <dir>/ckpt-<global step, 9 digits>.h5
 *   /                 attrs format="ptrain-checkpoint", version=1, epoch, step_in_epoch,
 *                           global_step, seed, best_score, best_epoch, train_loss (mean
 *                           training loss of the steps since the previous checkpoint; NaN if
 *                           none), param_rms (RMS of /params) (both absent in older files),
 *                           config (JSON text),
 *                           arch (architecture text), n_params, n_state, created,
 *                           complete=1 (written LAST: a file without it is not a checkpoint)
 *   /params           float32 [n_params]   the whole parameter buffer, one write
 *   /state            float32 [n_state]    the batch-norm running statistics
 *   /layout/params    strings              "conv1.weight [32,1,3,3] @0", one per tensor
 *   /layout/state     strings              same for the state buffer
 *   /optim            attrs kind ("sgd"|"adamw"), step
 *   /optim/<buffer>   float32 [n_params]   "momentum"; "exp_avg", "exp_avg_sq"
 *
 * Written by ONE process (the trainer's rank 0), serially, no MPI: a temporary file in the same
 * directory, fsync'd, renamed, and the directory fsync'd, so a crash at any moment leaves either
 * the old set of checkpoints or the old set plus one complete new one. The augmentation and
 * shuffling RNGs are counter-based (keyed by seed, epoch, sample), so the seed and the position
 * are the whole RNG state. */
#ifndef PTRAIN_CKPT_H
#define PTRAIN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/net.h"
#include "ptrain/optim.h"

#define PT_CKPT_FORMAT  "ptrain-checkpoint"
#define PT_CKPT_VERSION 1

/* What a checkpoint holds. The trainer points the buffers at its own memory:
 * - save: everything is read, nothing written;
 * - load: params, state, optim->buf must be preallocated with the counts below, the tables set,
 *   optim->kind and optim->n set; the file must match them (counts, tensor layout, optimizer kind)
 *   or the load is refused with nothing changed. On success the buffers, optim->step and the
 *   scalars are overwritten, and loaded_config / loaded_arch_text are set to malloc'd copies of
 *   the stored strings (release with pt_ckpt_free_loaded; zero them before the first load). A
 *   read error after the checks passed leaves the buffers partly loaded. */
typedef struct pt_ckpt {
    /* network: the buffers and the tables describing them (pt_net_param_table etc.) */
    float *params;
    size_t n_params;
    const pt_tensor_info *param_table;
    int n_param_tensors;
    float *state; /* may be NULL when n_state == 0 */
    size_t n_state;
    const pt_tensor_info *state_table;
    int n_state_tensors;
    /* optimizer: kind, n (== n_params), step and pt_optim_state_floats(kind, n) floats */
    pt_optim_state *optim;
    /* training position: the next step to run is step_in_epoch of epoch (both from 0) */
    int64_t epoch;
    int64_t step_in_epoch;
    int64_t global_step; /* optimizer updates done in the whole run; names the file */
    uint64_t seed;
    /* model selection so far */
    double best_score;  /* best validation score (NaN or -inf before the first evaluation) */
    int64_t best_epoch; /* -1 before the first evaluation */
    /* mean training loss of the steps since the previous checkpoint (NaN: none, or unknown) */
    double train_loss;
    /* save only: strings stored as attributes (NULL = empty) */
    const char *config;    /* JSON text of the run's configuration */
    const char *arch_text; /* architecture text (pt_arch.text) */
    /* load only: malloc'd copies of the stored strings */
    char *loaded_config;
    char *loaded_arch_text;
} pt_ckpt;

/* Frees loaded_config and loaded_arch_text and sets them to NULL. */
void pt_ckpt_free_loaded(pt_ckpt *ck);

/* "<dir>/ckpt-<global_step, zero-padded to 9 digits>.h5" into path; PT_ERR_INVALID if it does
 * not fit in cap. */
int pt_ckpt_path(const char *dir, int64_t global_step, char *path, size_t cap, pt_error *err);

/* Writes checkpoint ck->global_step into dir (which must exist) atomically. Replaces an existing
 * checkpoint of the same step. */
int pt_ckpt_save(const char *dir, const pt_ckpt *ck, pt_error *err);

/* Loads path into ck (see pt_ckpt). Refuses a file without the complete marker, of another
 * format or version, or written for another network ("<file> was written for a network with N
 * parameters, this one has M"; a layout difference names the tensor) or optimizer. */
int pt_ckpt_load(const char *path, pt_ckpt *ck, pt_error *err);

/* Summary of a checkpoint file, read without loading buffers. */
typedef struct pt_ckpt_info {
    int64_t epoch;
    int64_t step_in_epoch;
    int64_t global_step;
    uint64_t seed;
    int64_t n_params;
    int64_t n_state;
    pt_optim_kind optim_kind;
    int64_t optim_step;
    double best_score;
    int64_t best_epoch;
    double train_loss; /* NaN when the file has none */
    double param_rms;  /* RMS of the parameters; NaN when the file has none */
} pt_ckpt_info;

/* Opens path and checks that it is a complete checkpoint of this format and version, filling
 * info (may be NULL). Fails with a message naming the file and the reason otherwise. */
int pt_ckpt_peek(const char *path, pt_ckpt_info *info, pt_error *err);

/* The newest valid checkpoint in dir: the highest step whose file opens and is complete.
 * Partial, corrupt and temporary files are skipped, never chosen. PT_ERR_EMPTY (with a message)
 * if there is none or dir does not exist; PT_ERR_INVALID if the path does not fit in cap. */
int pt_ckpt_find_latest(const char *dir, char *path, size_t cap, pt_error *err);

/* Every checkpoint file of dir ("ckpt-<step>.h5", complete or not, temporaries left out),
 * newest step first, as malloc'd paths (free with pt_ckpt_list_free). A missing dir is an empty
 * list. For a caller that tries them in turn and says why it skipped each. */
int pt_ckpt_list(const char *dir, char ***paths, size_t *count, pt_error *err);
void pt_ckpt_list_free(char **paths, size_t count);

/* Checks a checkpoint's position against the run that wrote it (epochs, steps per epoch):
 * epoch in 0..epochs, step_in_epoch in 0..steps_per_epoch-1 (0 at epoch == epochs: only the end
 * remains), global_step == epoch * steps_per_epoch + step_in_epoch, optimizer step in
 * 0..global_step. PT_ERR_FORMAT otherwise, naming the file, the counter, its value and the
 * valid range ("ckpt-...h5: step_in_epoch -50 is outside 0..10 (11 steps per epoch)"). */
int pt_ckpt_check_position(const pt_ckpt_info *info, int64_t epochs, int64_t steps_per_epoch,
                           const char *path, pt_error *err);

/* The checkpoint to go back to after a loss explosion: the newest sound one, whose parameters'
 * RMS is at most 10 times the smallest in dir (exploded weights grow by orders of magnitude in a
 * few steps; training that works changes their size slowly), with its recorded training loss in
 * *train_loss (may be NULL). PT_ERR_EMPTY if there is none (no checkpoint records its RMS). */
int pt_ckpt_find_sane(const char *dir, char *path, size_t cap, double *train_loss, pt_error *err);

/* Keeps the newest `keep` (>= 1) valid checkpoints in dir, and also the one pt_ckpt_find_sane
 * names (so a loss explosion never leaves only exploded checkpoints: at most keep + 1 files), and
 * deletes every leftover temporary, every other older valid checkpoint and every damaged
 * checkpoint file older than the newest valid one (a damaged file newer than all valid ones is
 * left alone: it is never chosen anyway). Only the process that writes checkpoints calls it,
 * never while a save is in progress. */
int pt_ckpt_prune(const char *dir, int keep, pt_error *err);

/* The configuration (JSON text) and architecture text stored in a complete checkpoint, read
 * without loading buffers, as malloc'd strings (free both). */
int pt_ckpt_read_config(const char *path, char **config, char **arch_text, pt_error *err);

#endif
