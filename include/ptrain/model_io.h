/* Model files (model.h5): a trained network in plain HDF5, readable by h5py or h5dump and
 * loadable into other frameworks without ptrain.
 *
 *   /                     attrs format="ptrain-model", version=1, arch (the architecture text),
 *                               arch_name, input_channels, input_height, input_width, n_classes,
 *                               class_names[], label_mode="single"|"multi", mean, std,
 *                               threshold, created, generator
 *   /model/<layer>/<field> float32 dataset with the tensor's shape, PyTorch's names:
 *                         /model/conv1/weight [out,in,kh,kw], /model/conv1/bias [out],
 *                         /model/dense1/weight [out,in], /model/batchnorm1/weight|bias|
 *                         running_mean|running_var [C]
 *
 * Inputs are prepared as pixels/255, then (x - mean) / std. threshold is the decision threshold
 * on p(positive) (the last class) of a two-class single-label model; NaN otherwise.
 *
 * Files are written and read serially by one process; no MPI. */
#ifndef PTRAIN_MODEL_IO_H
#define PTRAIN_MODEL_IO_H

#include <stddef.h>

#include "ptrain/arch.h"
#include "ptrain/common.h"
#include "ptrain/infer.h"
#include "ptrain/net.h"

#define PT_MODEL_FORMAT      "ptrain-model"
#define PT_MODEL_VERSION     1
#define PT_MODEL_MAX_CLASSES 64
#define PT_MODEL_NAME_MAX    64

typedef struct pt_model_meta {
    char arch_name[PT_MODEL_NAME_MAX]; /* "cxr"; empty on save = arch->name */
    int channels;                      /* input shape the network was built for */
    int height;
    int width;
    int n_classes;
    char class_names[PT_MODEL_MAX_CLASSES][PT_MODEL_NAME_MAX];
    int multi_label; /* 0: softmax over classes; 1: one sigmoid per class */
    double mean;     /* input normalisation: (pixel/255 - mean) / std */
    double std;
    double threshold;   /* on p(positive) for binary single-label models, NaN otherwise */
    char created[64];   /* ISO 8601 time; empty on save = now */
    char generator[64]; /* "ptrain 0.1.0" */
} pt_model_meta;

/* The part of meta that inference needs. */
pt_infer_params pt_model_infer_params(const pt_model_meta *meta);

/* Zeroes meta and sets the defaults: mean 0, std 1, threshold NaN, generator "ptrain <version>". */
void pt_model_meta_init(pt_model_meta *meta);

/* Writes net (parameters and batch-norm state), its architecture and meta to path. The file is
 * written as "<path>.tmp", flushed to disk and renamed over path, so a reader never sees half a
 * model. meta must agree with the net: n_classes == pt_net_outputs(net), 1..64 classes. */
int pt_model_save(const char *path, const pt_net *net, const pt_arch *arch,
                  const pt_model_meta *meta, pt_error *err);

/* Reads only the root attributes of a model file (no network is built): for tools that want to
 * know the input shape or the classes first. */
int pt_model_read_meta(const char *path, pt_model_meta *meta, pt_error *err);

/* Loads a model: parses the stored architecture into *arch (free with pt_arch_free), builds the
 * network for the stored input shape and classes with local batches of up to max_batch samples
 * (*net, free with pt_net_free), fills its parameters and batch-norm state, and fills meta.
 * Every tensor must exist with exactly the network's shape; the message names the tensor and
 * both shapes otherwise. A missing file, a non-HDF5 file, a file of another format or version
 * fail with a one-line message naming the file and the reason. On failure *arch and *net are
 * left empty (nothing to free). */
int pt_model_load(const char *path, pt_arch *arch, pt_net **net, pt_model_meta *meta, int max_batch,
                  pt_error *err);

#endif
