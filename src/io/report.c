/* Run directory reports: metrics.csv, predictions.csv and the pictures (see report.h). */
#include "ptrain/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/cam.h"
#include "ptrain/fs.h"
#include "ptrain/infer.h"
#include "ptrain/json.h"
#include "plot.h"

static const char metrics_header[] =
    "epoch,step,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_sensitivity,"
    "val_specificity,val_f1,val_auc,images_per_s,epoch_s,compute_s,allreduce_s,data_s,optim_s,"
    "eval_s\n";

static int join(char *out, const char *dir, const char *name, pt_error *err)
{
    int n = snprintf(out, PT_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= PT_PATH_MAX)
        return pt_error_set(err, PT_ERR_INVALID, "%s/%s: path too long", dir, name);
    return PT_OK;
}

/* Writes through a temporary file and a rename, so a reader never sees half a file. */
int pt_report_epoch(const char *run_dir, pt_history *h, const pt_epoch_record *row, pt_error *err)
{
    if (h->n >= PT_REPORT_MAX_EPOCHS)
        return pt_error_set(err, PT_ERR_INVALID, "more than %d epochs", PT_REPORT_MAX_EPOCHS);
    h->rows[h->n++] = *row;
    char path[PT_PATH_MAX], tmp[PT_PATH_MAX];
    int status = join(path, run_dir, "metrics.csv", err);
    if (status != PT_OK)
        return status;
    FILE *f = pt_fs_open_temp(path, tmp, err);
    if (!f)
        return err ? err->code : PT_ERR_IO;
    fputs(metrics_header, f);
    for (int i = 0; i < h->n; i++) {
        const pt_epoch_record *r = &h->rows[i];
        fprintf(f,
                "%lld,%lld,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.3f,%.3f,%.3f,%.3f,"
                "%.3f,%.3f\n",
                (long long)r->epoch, (long long)r->step, r->lr, r->train_loss, r->train_accuracy,
                r->val_loss, r->val_accuracy, r->val_sensitivity, r->val_specificity, r->val_f1,
                r->val_auc, r->images_per_s, r->epoch_s, r->compute_s, r->allreduce_s, r->data_s,
                r->optim_s, r->eval_s);
    }
    return pt_fs_close_commit(f, tmp, path, err);
}

int pt_report_load_history(const char *run_dir, int64_t max_epoch, pt_history *h, pt_error *err)
{
    h->n = 0;
    char path[PT_PATH_MAX];
    int status = join(path, run_dir, "metrics.csv", err);
    if (status != PT_OK)
        return status;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? PT_OK
                               : pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    char line[1024];
    while (fgets(line, sizeof line, f) && h->n < PT_REPORT_MAX_EPOCHS) {
        pt_epoch_record r;
        long long epoch, step;
        int got = sscanf(
            line, "%lld,%lld,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf",
            &epoch, &step, &r.lr, &r.train_loss, &r.train_accuracy, &r.val_loss, &r.val_accuracy,
            &r.val_sensitivity, &r.val_specificity, &r.val_f1, &r.val_auc, &r.images_per_s,
            &r.epoch_s, &r.compute_s, &r.allreduce_s, &r.data_s, &r.optim_s, &r.eval_s);
        if (got != 18 || epoch > max_epoch)
            continue; /* the header, or an epoch the resumed run will redo */
        r.epoch = epoch;
        r.step = step;
        h->rows[h->n++] = r;
    }
    fclose(f);
    return PT_OK;
}

int pt_report_learning_curves(const char *run_dir, const pt_history *h, pt_error *err)
{
    char path[PT_PATH_MAX];
    int status = join(path, run_dir, "learning_curves.png", err);
    if (status != PT_OK || h->n == 0)
        return status;
    double *x = malloc((size_t)h->n * 5 * sizeof *x);
    if (!x)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    double *train_loss = x + h->n, *val_loss = x + 2 * h->n, *val_auc = x + 3 * h->n,
           *val_acc = x + 4 * h->n;
    for (int i = 0; i < h->n; i++) {
        x[i] = (double)h->rows[i].epoch;
        train_loss[i] = h->rows[i].train_loss;
        val_loss[i] = h->rows[i].val_loss;
        val_auc[i] = h->rows[i].val_auc;
        val_acc[i] = h->rows[i].val_accuracy;
    }
    pt_plot_series loss[2] = {{"train loss", x, train_loss, h->n}, {"val loss", x, val_loss, h->n}};
    status = pt_plot_lines(path, "Loss per epoch", "epoch", "loss", loss, 2, err);
    if (status == PT_OK)
        status = join(path, run_dir, "val_metrics.png", err);
    pt_plot_series quality[2] = {{"val AUC", x, val_auc, h->n}, {"val accuracy", x, val_acc, h->n}};
    if (status == PT_OK)
        status = pt_plot_lines(path, "Validation AUC and accuracy", "epoch", "", quality, 2, err);
    free(x);
    return status;
}

void pt_report_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int pt_report_predictions(const char *path, const char *const *class_names, int n_classes,
                          int multi_label, const char *sources, size_t source_stride,
                          const int32_t *labels, const uint8_t *targets, const float *probs,
                          int64_t n, double threshold, pt_error *err)
{
    char tmp[PT_PATH_MAX];
    FILE *f = pt_fs_open_temp(path, tmp, err);
    if (!f)
        return err ? err->code : PT_ERR_IO;
    fputs("source", f);
    if (!multi_label)
        fputs(",label,predicted", f);
    for (int c = 0; c < n_classes; c++) {
        if (multi_label) {
            fputs(",label_", f);
            pt_report_csv_field(f, class_names[c]);
        }
        fputs(",p_", f);
        pt_report_csv_field(f, class_names[c]);
    }
    fputc('\n', f);
    for (int64_t i = 0; i < n; i++) {
        pt_report_csv_field(f, sources ? sources + (size_t)i * source_stride : "");
        const float *p = probs + i * n_classes;
        if (!multi_label) {
            fputc(',', f);
            pt_report_csv_field(f, class_names[labels[i]]);
            fputc(',', f);
            pt_report_csv_field(f, class_names[pt_infer_predicted(p, n_classes, threshold)]);
        }
        for (int c = 0; c < n_classes; c++) {
            if (multi_label)
                fprintf(f, ",%d", targets[i * n_classes + c] != 0);
            fprintf(f, ",%.6f", p[c]);
        }
        fputc('\n', f);
    }
    return pt_fs_close_commit(f, tmp, path, err);
}

/* ROC of one class against the rest, as plot series arrays (caller frees *xy). */
static int one_vs_rest_roc(const float *probs, const int32_t *labels, const uint8_t *targets,
                           int64_t n, int k, int cls, double **xy, int *points, double *auc,
                           pt_error *err)
{
    float *scores = malloc((size_t)(n ? n : 1) * sizeof *scores);
    uint8_t *pos = malloc((size_t)(n ? n : 1));
    int status = scores && pos ? PT_OK : pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    pt_roc_curve curve = {0};
    if (status == PT_OK) {
        if (targets) {
            for (int64_t i = 0; i < n; i++) {
                scores[i] = probs[i * k + cls];
                pos[i] = targets[i * k + cls] != 0;
            }
        } else {
            pt_metrics_one_vs_rest(probs, labels, n, k, cls, scores, pos);
        }
        status = pt_metrics_roc_curve(scores, pos, n, &curve, err);
    }
    if (status == PT_OK) {
        *xy = malloc((size_t)curve.n_points * 2 * sizeof **xy);
        if (!*xy)
            status = pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    if (status == PT_OK) {
        for (int64_t i = 0; i < curve.n_points; i++) {
            (*xy)[i] = curve.points[i].fpr;
            (*xy)[curve.n_points + i] = curve.points[i].tpr;
        }
        *points = (int)curve.n_points;
        *auc = curve.auc;
    }
    pt_roc_curve_free(&curve);
    free(scores);
    free(pos);
    return status;
}

static int roc_plot(const char *run_dir, const char *const *class_names, int k, int multi_label,
                    const int32_t *labels, const uint8_t *targets, const float *probs, int64_t n,
                    const pt_metrics *m, pt_error *err)
{
    char path[PT_PATH_MAX];
    int status = join(path, run_dir, "roc.png", err);
    if (status != PT_OK)
        return status;
    int binary = !multi_label && k == 2;
    int first = binary ? 1 : 0, last = binary ? 1 : (k < PT_PLOT_MAX_SERIES ? k - 1 : 31);
    pt_plot_series curves[PT_PLOT_MAX_SERIES];
    double *data[PT_PLOT_MAX_SERIES] = {0};
    char names[PT_PLOT_MAX_SERIES][96];
    int n_curves = 0;
    for (int c = first; c <= last && status == PT_OK; c++) {
        int points = 0;
        double auc = NAN;
        pt_error local;
        if (one_vs_rest_roc(probs, multi_label ? NULL : labels, multi_label ? targets : NULL, n, k,
                            c, &data[n_curves], &points, &auc, &local) != PT_OK)
            continue; /* a class with no positives (or no negatives) has no curve */
        snprintf(names[n_curves], sizeof names[0], "%s (AUC %.3f)", class_names[c], auc);
        curves[n_curves] =
            (pt_plot_series){names[n_curves], data[n_curves], data[n_curves] + points, points};
        n_curves++;
    }
    if (n_curves > 0) {
        double op[2] = {1.0 - m->specificity, m->sensitivity};
        status = pt_plot_roc_curves(path, binary ? "ROC curve (test)" : "ROC curves (test)", curves,
                                    n_curves, binary ? op : NULL, err);
    }
    for (int i = 0; i < n_curves; i++)
        free(data[i]);
    return status;
}

/* Binary decisions are taken on p(positive) at the threshold, so that is what tells how clearly
 * a decision was wrong; otherwise the largest probability decides, and the margin is how far it
 * stood above the true class's. */
static double mistake_margin(const float *p, int k, int predicted, int32_t label, double threshold)
{
    if (k == 2)
        return fabs((double)p[PT_METRICS_POSITIVE] - threshold);
    return (double)p[predicted] - (double)p[label];
}

static int compare_mistakes(const void *a, const void *b)
{
    const pt_mistake *x = a, *y = b;
    if (x->margin != y->margin)
        return x->margin > y->margin ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

int64_t pt_report_mistakes(const int32_t *labels, const float *probs, int64_t n, int k,
                           double threshold, pt_mistake *out)
{
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *p = probs + i * k;
        int pred = pt_infer_predicted(p, k, threshold);
        if (pred != labels[i])
            out[count++] = (pt_mistake){i, pred, mistake_margin(p, k, pred, labels[i], threshold)};
    }
    qsort(out, (size_t)count, sizeof *out, compare_mistakes);
    return count;
}

void pt_report_mistake_caption(char *buf, size_t cap, const char *const *class_names, int k,
                               int32_t label, const pt_mistake *m, const float *p, double threshold,
                               const char *source)
{
    const char *base = source ? strrchr(source, '/') : NULL;
    base = base ? base + 1 : source ? source : "";
    if (k == 2) {
        double pos = p[PT_METRICS_POSITIVE];
        snprintf(buf, cap, "true %s, said %s\np(%s) %.2f %s %.2f\n%s", class_names[label],
                 class_names[m->predicted], class_names[PT_METRICS_POSITIVE], pos,
                 pos >= threshold ? ">=" : "<", threshold, base);
    } else {
        snprintf(buf, cap, "true %s, said %s\np(%s) %.2f, p(%s) %.2f\n%s", class_names[label],
                 class_names[m->predicted], class_names[m->predicted], (double)p[m->predicted],
                 class_names[label], (double)p[label], base);
    }
}

/* The shown mistakes' tiles in colour: each heat map of cams over its gray tile. */
static int overlay_tiles(uint8_t *tiles, int shown, int height, int width,
                         const pt_report_cams *cams, uint8_t *rgb, pt_error *err)
{
    if (cams->count != shown || !cams->maps || cams->map_h <= 0 || cams->map_w <= 0)
        return pt_error_set(err, PT_ERR_INVALID,
                            "misclassified.png: %d heat maps of %dx%d for %d mistakes", cams->count,
                            cams->map_w, cams->map_h, shown);
    size_t image = (size_t)height * (size_t)width;
    size_t map = (size_t)cams->map_h * (size_t)cams->map_w;
    /* the tile is the model's input itself: the identity geometry (no --fit applies) */
    pt_cam_geometry geo = {width, height, PT_FIT_STRETCH};
    for (int i = 0; i < shown; i++) {
        pt_image film = {width, height, tiles + (size_t)i * image};
        int status = pt_cam_overlay(cams->maps + (size_t)i * map, cams->map_h, cams->map_w, &geo,
                                    &film, rgb + (size_t)i * image * 3, err);
        if (status != PT_OK)
            return status;
    }
    return PT_OK;
}

/* The test images the model got wrong most clearly (see pt_report_mistakes), with their heat
 * maps when cams is not NULL. */
static int misclassified_grid(const char *run_dir, const char *const *class_names, int k,
                              const int32_t *labels, const float *probs, int64_t n,
                              double threshold, const char *sources, size_t source_stride,
                              const uint8_t *images, int height, int width,
                              const pt_report_cams *cams, pt_error *err)
{
    enum { SHOW = PT_REPORT_MISTAKES_SHOWN };
    pt_mistake *all = malloc((size_t)(n ? n : 1) * sizeof *all);
    if (!all)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    int64_t n_wrong = pt_report_mistakes(labels, probs, n, k, threshold, all);
    int shown = n_wrong < SHOW ? (int)n_wrong : SHOW;
    size_t image = (size_t)height * (size_t)width;
    uint8_t *tiles = malloc((size_t)(shown ? shown : 1) * image);
    uint8_t *rgb = cams ? malloc((size_t)(shown ? shown : 1) * image * 3) : NULL;
    char captions[SHOW][320];
    const char *caption_ptrs[SHOW];
    int status = tiles && (rgb || !cams) ? PT_OK : pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    for (int i = 0; status == PT_OK && i < shown; i++) {
        int64_t idx = all[i].index;
        memcpy(tiles + (size_t)i * image, images + (size_t)idx * image, image);
        pt_report_mistake_caption(captions[i], sizeof captions[i], class_names, k, labels[idx],
                                  &all[i], probs + idx * k, threshold,
                                  sources ? sources + (size_t)idx * source_stride : NULL);
        caption_ptrs[i] = captions[i];
    }
    if (status == PT_OK && cams)
        status = overlay_tiles(tiles, shown, height, width, cams, rgb, err);
    char path[PT_PATH_MAX], title[200];
    if (k == 2)
        snprintf(title, sizeof title,
                 "Clearest mistakes (test): p(%s) farthest from the threshold %.2f%s%s",
                 class_names[PT_METRICS_POSITIVE], threshold, cams ? "; heat: " : "",
                 cams ? class_names[PT_METRICS_POSITIVE] : "");
    else
        snprintf(title, sizeof title, "Clearest mistakes (test): largest p(said) - p(true)%s",
                 cams ? "; heat: the said class" : "");
    if (status == PT_OK)
        status = join(path, run_dir, "misclassified.png", err);
    if (status == PT_OK && cams)
        status =
            pt_plot_image_grid_rgb(path, title, rgb, shown, height, width, caption_ptrs, 4, err);
    else if (status == PT_OK)
        status = pt_plot_image_grid(path, title, tiles, shown, height, width, caption_ptrs, 4, err);
    free(rgb);
    free(tiles);
    free(all);
    return status;
}

int pt_report_test_plots(const char *run_dir, const char *const *class_names, int n_classes,
                         int multi_label, const int32_t *labels, const uint8_t *targets,
                         const float *probs, int64_t n, double threshold, const pt_metrics *metrics,
                         const char *sources, size_t source_stride, const uint8_t *images,
                         int height, int width, const pt_report_cams *cams, pt_error *err)
{
    int status = roc_plot(run_dir, class_names, n_classes, multi_label, labels, targets, probs, n,
                          metrics, err);
    if (status != PT_OK || multi_label)
        return status;
    char path[PT_PATH_MAX];
    status = join(path, run_dir, "confusion.png", err);
    if (status == PT_OK)
        status = pt_plot_confusion(path, "Confusion matrix (test)", metrics->confusion, n_classes,
                                   class_names, err);
    if (status == PT_OK)
        status = misclassified_grid(run_dir, class_names, n_classes, labels, probs, n, threshold,
                                    sources, source_stride, images, height, width, cams, err);
    return status;
}

void pt_report_json_metrics(pt_json *j, const pt_metrics *m, double loss, const char *class_names,
                            size_t name_stride)
{
    int k = m->n_classes;
    pt_json_int(j, "n", m->n);
    pt_json_number(j, "loss", loss);
    pt_json_number(j, "accuracy", m->accuracy);
    if (m->positive >= 0) {
        pt_json_number(j, "sensitivity", m->sensitivity);
        pt_json_number(j, "specificity", m->specificity);
        pt_json_number(j, "precision", m->precision);
        pt_json_number(j, "f1", m->f1);
        pt_json_number(j, "auc", m->auc);
    }
    pt_json_number(j, "macro_auc", m->macro_auc);
    pt_json_number(j, "macro_f1", m->macro_f1);
    if (!m->multi_label) {
        pt_json_begin_array(j, "confusion_matrix_rows_true_cols_predicted");
        for (int r = 0; r < k; r++) {
            pt_json_begin_array(j, NULL);
            for (int c = 0; c < k; c++)
                pt_json_int(j, NULL, m->confusion[r * k + c]);
            pt_json_end_array(j);
        }
        pt_json_end_array(j);
    }
    pt_json_begin_array(j, "per_class");
    for (int c = 0; c < k; c++) {
        const pt_class_metrics *pc = &m->per_class[c];
        pt_json_begin_object(j, NULL);
        pt_json_string(j, "class", class_names + (size_t)c * name_stride);
        pt_json_int(j, "support", pc->support);
        pt_json_number(j, "sensitivity", pc->sensitivity);
        pt_json_number(j, "specificity", pc->specificity);
        pt_json_number(j, "precision", pc->precision);
        pt_json_number(j, "f1", pc->f1);
        pt_json_number(j, "auc", pc->auc);
        pt_json_end_object(j);
    }
    pt_json_end_array(j);
}
