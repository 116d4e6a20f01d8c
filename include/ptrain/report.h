/* What a training run leaves in its run directory, apart from models and checkpoints:
 * metrics.csv (one row per epoch), summary.json, predictions.csv and the pictures. */
#ifndef PTRAIN_REPORT_H
#define PTRAIN_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "ptrain/common.h"
#include "ptrain/json.h"
#include "ptrain/metrics.h"

/* One epoch's row of metrics.csv. NaN where a value does not exist (no validation split). */
typedef struct pt_epoch_record {
    int64_t epoch; /* 1-based */
    int64_t step;  /* global steps done at the end of the epoch */
    double lr;
    double train_loss, train_accuracy;
    double val_loss, val_accuracy, val_sensitivity, val_specificity, val_f1, val_auc;
    double images_per_s;
    double epoch_s, compute_s, allreduce_s, data_s, optim_s, eval_s;
} pt_epoch_record;

#define PT_REPORT_MAX_EPOCHS 10000

typedef struct pt_history {
    pt_epoch_record rows[PT_REPORT_MAX_EPOCHS];
    int n;
} pt_history;

/* Appends a row to the history and rewrites run_dir/metrics.csv with every row (so a resumed
 * run's file never holds rows of epochs that were redone). */
int pt_report_epoch(const char *run_dir, pt_history *h, const pt_epoch_record *row, pt_error *err);

/* Reads run_dir/metrics.csv back (rows up to and including max_epoch), for a resumed run. A
 * missing file is an empty history. */
int pt_report_load_history(const char *run_dir, int64_t max_epoch, pt_history *h, pt_error *err);

/* learning_curves.png: loss (train, val) and validation AUC / accuracy per epoch. */
int pt_report_learning_curves(const char *run_dir, const pt_history *h, pt_error *err);

/* Writes one CSV field, quoted (and quotes doubled) when it holds a comma, a quote or a newline. */
void pt_report_csv_field(FILE *f, const char *s);

/* predictions.csv: source, label, predicted, then one probability column per class. */
int pt_report_predictions(const char *path, const char *const *class_names, int n_classes,
                          int multi_label, const char *sources, size_t source_stride,
                          const int32_t *labels, const uint8_t *targets, const float *probs,
                          int64_t n, double threshold, pt_error *err);

/* How many mistakes misclassified.png shows (the first of pt_report_mistakes's order). */
#define PT_REPORT_MISTAKES_SHOWN 16

/* Class activation maps (pt_net_cam) of the mistakes misclassified.png shows: count maps of
 * map_h x map_w floats one after the other, for the first count mistakes in pt_report_mistakes's
 * order (count = min(mistakes, PT_REPORT_MISTAKES_SHOWN)), each over the test image as the
 * network saw it. Two classes: the map of the positive class; more: of the predicted class
 * (pt_infer_cam_class). */
typedef struct pt_report_cams {
    const float *maps;
    int count;
    int map_h;
    int map_w;
} pt_report_cams;

/* roc.png (binary: with the chosen operating point; otherwise one curve per class, one vs
 * rest), confusion.png (single-label) and misclassified.png (the clearest mistakes on the
 * test set, single-label, captioned with pt_report_mistake_caption; sources: n file names,
 * source_stride bytes apart, or NULL). cams: the mistakes' heat maps, drawn over them in colour
 * (pt_cam_overlay); NULL for a network without maps: the grid is gray. */
int pt_report_test_plots(const char *run_dir, const char *const *class_names, int n_classes,
                         int multi_label, const int32_t *labels, const uint8_t *targets,
                         const float *probs, int64_t n, double threshold, const pt_metrics *metrics,
                         const char *sources, size_t source_stride, const uint8_t *images,
                         int height, int width, const pt_report_cams *cams, pt_error *err);

/* A wrongly classified sample. margin: how clearly the decision was wrong. Two classes: the
 * decision is p(positive) >= threshold, so |p(positive) - threshold|; more classes: the largest
 * probability decides, so p(predicted) - p(true). */
typedef struct pt_mistake {
    int64_t index;
    int predicted;
    double margin;
} pt_mistake;

/* The misclassified samples among n (labels, probs n x k) into out (room for n), clearest
 * first (largest margin; ties by index). Returns how many. */
int64_t pt_report_mistakes(const int32_t *labels, const float *probs, int64_t n, int k,
                           double threshold, pt_mistake *out);

/* Three caption lines for a mistake: "true pneumonia, said normal", the value the decision was
 * taken on against the threshold ("p(pneumonia) 0.31 < 0.74"; more classes: "p(said) 0.50,
 * p(true) 0.40"), and the file name (source without folders; none if NULL). p: the sample's k
 * probabilities. */
void pt_report_mistake_caption(char *buf, size_t cap, const char *const *class_names, int k,
                               int32_t label, const pt_mistake *m, const float *p, double threshold,
                               const char *source);

/* The members describing metrics m inside the current JSON object: n, loss, accuracy, the binary
 * headline figures, macro AUC and F1, the confusion matrix (single-label) and per-class figures.
 * class_names: n_classes names, name_stride bytes apart. Used by summary.json and ptrain eval. */
void pt_report_json_metrics(pt_json *j, const pt_metrics *m, double loss, const char *class_names,
                            size_t name_stride);

#endif
