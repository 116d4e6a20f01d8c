/* The pictures a training run leaves, as PNG: learning curves, ROC curves, the confusion matrix
 * and a grid of test images (gray, or coloured heat-map overlays).
 *
 * Each call draws one complete figure in the look people know from matplotlib (white background,
 * framed axes with round-numbered ticks, axis labels, a title, a legend, the tab10 colours) and
 * writes it to path, replacing any file there. Titles, labels, names and captions are printable
 * ASCII; whatever does not fit is cut short with "...", never drawn outside the picture. Every
 * failure names path: a bad argument is PT_ERR_INVALID, a file that cannot be written PT_ERR_IO. */
#ifndef PTRAIN_PLOT_H
#define PTRAIN_PLOT_H

#include <stdint.h>

#include "ptrain/common.h"

/* One line of a line plot: n points (x[i], y[i]). A NaN or infinite coordinate leaves a gap. */
typedef struct pt_plot_series {
    const char *name; /* legend entry; NULL or "" keeps the series out of the legend */
    const double *x;  /* n values (may be NULL only when n == 0) */
    const double *y;  /* n values (likewise) */
    int n;
} pt_plot_series;

/* Most series a line or ROC plot takes (more would not be told apart). */
#define PT_PLOT_MAX_SERIES 32

/* Line plot, 800x600: loss per epoch (train and val), accuracy or AUC per epoch. Both axes fit the
 * data with a 5% margin; x ticks are whole numbers when every x is. Series take the tab10 colours
 * in order, and markers when they have at most 30 points. n_series may be 0 (empty axes). */
int pt_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
                  const pt_plot_series *series, int n_series, pt_error *err);

/* ROC curve, 640x640: square axes from 0 to 1, the chance diagonal dashed, the legend
 * "AUC = 0.953" ("AUC = n/a" when auc is NaN). fpr and tpr hold n points in drawing order (n may
 * be 0). operating_point, if not NULL, is {fpr, tpr} of the chosen threshold, marked with a dot. */
int pt_plot_roc(const char *path, const char *title, const double *fpr, const double *tpr, int n,
                double auc, const double *operating_point, pt_error *err);

/* Several ROC curves on the same axes (one per class or finding): x = FPR, y = TPR, the legend
 * shows each name as given (put the AUC in it). operating_point as above, for the first curve. */
int pt_plot_roc_curves(const char *path, const char *title, const pt_plot_series *curves,
                       int n_curves, const double *operating_point, pt_error *err);

/* Confusion matrix as a heatmap, white (0) to dark blue (the largest count), with a colour bar.
 * matrix: k x k counts >= 0, row-major, rows = true class, columns = predicted class. Each cell
 * shows its count and, when there is room, its share of the true class ("93.1%"); text is white
 * on dark cells. class_names: k names, or NULL (then 0, 1, ...). 1 <= k <= 64. */
int pt_plot_confusion(const char *path, const char *title, const int64_t *matrix, int k,
                      const char *const *class_names, pt_error *err);

/* Grid of n gray images (images: n x h x w bytes, row-major, one after the other), each scaled to
 * a tile of about 200 pixels (whole-number zoom for small images) with its caption underneath
 * ("true: normal" "p(pneumonia) = 0.97"; a '\n' starts a new line, up to 3 lines). captions and
 * any captions[i] may be NULL. columns <= 0 chooses about a square grid. n may be 0. */
int pt_plot_image_grid(const char *path, const char *title, const uint8_t *images, int n, int h,
                       int w, const char *const *captions, int columns, pt_error *err);

/* The same grid of n RGB images (images: n x h x w x 3 bytes, R G B per pixel), such as heat-map
 * overlays (pt_cam_overlay). */
int pt_plot_image_grid_rgb(const char *path, const char *title, const uint8_t *images, int n, int h,
                           int w, const char *const *captions, int columns, pt_error *err);

#endif
