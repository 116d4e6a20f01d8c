/* `ptrain predict`: class probabilities of image files, as CSV on stdout. The images are
 * decoded and resized exactly as ptrain-prep does (prepare.h, shared with `ptrain serve`); with
 * --cam DIR also one heat-map overlay PNG per image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ptrain/cam.h"
#include "ptrain/cli.h"
#include "ptrain/fs.h"
#include "ptrain/image.h"
#include "ptrain/infer.h"
#include "ptrain/model_io.h"
#include "ptrain/prepare.h"
#include "ptrain/report.h"

typedef struct predict_opts {
    const char *model;
    pt_fit fit;
    int64_t max_pixels;
    const char *cam_dir; /* --cam: where the heat-map overlays go, NULL for none */
    const char **files;  /* the image arguments, in order */
    int n_files;
} predict_opts;

static void usage(FILE *to)
{
    fprintf(to, "usage: ptrain predict --model model.h5 [--fit stretch|crop|pad]\n"
                "                      [--max-pixels N] [--cam DIR] IMAGE...\n"
                "\n"
                "Prints one CSV line per image: file, predicted class, one probability per class.\n"
                "Images are decoded and resized as ptrain-prep does (use the --fit the cache was\n"
                "made with). A file that cannot be decoded is reported on stderr and the exit\n"
                "status is 1; the other files are still predicted.\n"
                "\n"
                "--cam DIR writes DIR/<image name>.cam.png for each image: the class activation\n"
                "map of the positive class (two classes) or of the predicted class, over the\n"
                "film at its own size. Only for networks ending in global average pooling and a\n"
                "dense layer (cxr, resnet18); for others --cam is an error.\n");
}

enum { O_MODEL = 1, O_FIT, O_MAXPIX, O_CAM };
static const pt_cli_option options[] = {{"model", 1, O_MODEL},
                                        {"fit", 1, O_FIT},
                                        {"max-pixels", 1, O_MAXPIX},
                                        {"cam", 1, O_CAM},
                                        {NULL, 0, 0}};

static int on_option(void *ctx, int id, const char *value, pt_error *err)
{
    predict_opts *o = ctx;
    long long v;
    switch (id) {
    case O_MODEL:
        o->model = value;
        return 0;
    case O_FIT:
        if (pt_fit_parse(value, &o->fit) != PT_OK)
            return pt_error_set(err, PT_ERR_USAGE, "--fit: '%s' is not stretch|crop|pad", value);
        return 0;
    case O_MAXPIX:
        if (pt_cli_long(value, 1, INT64_MAX, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--max-pixels: '%s' is not positive", value);
        o->max_pixels = v;
        return 0;
    case O_CAM:
        o->cam_dir = value;
        return 0;
    }
    return -1;
}

/* An image file: kept in command-line order (o->files has room for every argument). */
static int on_file(void *ctx, int id, const char *value, pt_error *err)
{
    predict_opts *o = ctx;
    o->files[o->n_files++] = value;
    return 0;
}

static int parse(int argc, char **argv, predict_opts *o, pt_error *err)
{
    *o = (predict_opts){.fit = PT_FIT_STRETCH, .max_pixels = PT_DEFAULT_MAX_PIXELS};
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    int rc = pt_cli_parse(argc, argv, options, on_option, on_file, o, err);
    if (rc != 0)
        return rc;
    if (!o->model || o->n_files == 0)
        return pt_error_set(err, PT_ERR_USAGE, "--model and at least one image are required");
    return 0;
}

/* The overlay's file: DIR/<image's base name>.cam.png (a later image of the same base name, from
 * another folder, replaces it). */
static void cam_path(const char *dir, const char *image, char *out, size_t cap)
{
    const char *slash = strrchr(image, '/');
    snprintf(out, cap, "%s/%s.cam.png", dir, slash ? slash + 1 : image);
}

/* Writes the heat map of the image in the net's last forward (sample 0) over film. */
static int write_cam(pt_net *net, const pt_model_meta *meta, const float *probs,
                     const pt_image *film, const predict_opts *o, const char *image, pt_error *err)
{
    int mh, mw;
    int status = pt_net_cam_shape(net, &mh, &mw, err);
    if (status != PT_OK)
        return status;
    float *map = malloc((size_t)mh * (size_t)mw * sizeof *map);
    if (!map)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    int cls = pt_infer_cam_class(probs, meta->n_classes, meta->threshold, meta->multi_label);
    uint8_t *png = NULL;
    size_t png_size = 0;
    status = pt_net_cam(net, 0, cls, map, err);
    if (status == PT_OK) {
        pt_cam_geometry geo = {meta->width, meta->height, o->fit};
        status = pt_cam_overlay_png(map, mh, mw, &geo, film, &png, &png_size, err);
    }
    if (status == PT_OK) {
        char path[PT_PATH_MAX];
        cam_path(o->cam_dir, image, path, sizeof path);
        status = pt_fs_write_file(path, png, png_size, err);
    }
    free(png);
    free(map);
    return status;
}

/* Returns PT_OK, or PT_ERR_FORMAT when some files could not be decoded (the rest predicted). */
static int run_predict(const predict_opts *o, pt_error *err)
{
    pt_arch arch;
    pt_net *net = NULL;
    pt_model_meta meta;
    int status = pt_model_load(o->model, &arch, &net, &meta, 1, err);
    if (status != PT_OK)
        return status;
    int k = meta.n_classes;
    size_t image = (size_t)meta.height * (size_t)meta.width;
    uint8_t *pixels = malloc(image);
    float *probs = malloc((size_t)k * sizeof *probs);
    int failed = 0;
    if (!pixels || !probs) {
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (o->cam_dir) { /* a network without a map is refused before any output */
        int mh, mw;
        status = pt_net_cam_shape(net, &mh, &mw, err);
        if (status == PT_OK)
            status = pt_fs_mkdir_p(o->cam_dir, err);
        if (status != PT_OK) {
            if (status == PT_ERR_UNSUPPORTED) {
                char reason[PT_ERROR_MSG_MAX]; /* the message is rewritten in place: copy it */
                pt_strlcpy(reason, err->msg, sizeof reason);
                pt_error_set(err, status, "--cam: %s: %s", o->model, reason);
            }
            goto done;
        }
    }
    pt_prepare_opts popts = {
        .width = meta.width, .height = meta.height, .fit = o->fit, .max_pixels = o->max_pixels};
    fputs("file,predicted", stdout);
    for (int c = 0; c < k; c++) {
        fputs(",p_", stdout);
        pt_report_csv_field(stdout, meta.class_names[c]);
    }
    putchar('\n');
    for (int i = 0; i < o->n_files; i++) {
        pt_error ferr;
        pt_image film = {0};
        if (pt_prepare_file_keep(o->files[i], &popts, pixels, o->cam_dir ? &film : NULL, &ferr) !=
            PT_OK) {
            fprintf(stderr, "ptrain predict: skipped %s\n", ferr.msg);
            failed++;
            continue;
        }
        pt_infer_params params = pt_model_infer_params(&meta);
        pt_error ierr;
        if (pt_infer_probs(net, &params, pixels, 1, probs, &ierr) != PT_OK) {
            /* a broken model: no probability is printed for this image or any later one */
            status = pt_error_set(err, ierr.code, "%s on %s: %s", o->model, o->files[i], ierr.msg);
            pt_image_free(&film);
            break;
        }
        if (o->cam_dir) {
            status = write_cam(net, &meta, probs, &film, o, o->files[i], err);
            pt_image_free(&film);
            if (status != PT_OK)
                break;
        }
        pt_report_csv_field(stdout, o->files[i]);
        putchar(',');
        pt_report_csv_field(stdout, meta.class_names[pt_infer_predicted(probs, k, meta.threshold)]);
        for (int c = 0; c < k; c++)
            printf(",%.6f", probs[c]);
        putchar('\n');
    }
    fflush(stdout);
    if (status == PT_OK && failed)
        status = pt_error_set(err, PT_ERR_FORMAT, "%d of %d file(s) could not be decoded", failed,
                              o->n_files);
done:
    free(pixels);
    free(probs);
    pt_net_free(net);
    pt_arch_free(&arch);
    return status;
}

int pt_cmd_predict(int argc, char **argv, const pt_comm *comm)
{
    predict_opts o;
    pt_error err;
    pt_error_clear(&err);
    int code = pt_cli_after_parse(comm, parse(argc, argv, &o, &err), &err, "ptrain predict", usage);
    if (code < 0) {
        int status = comm->rank == 0 ? run_predict(&o, &err) : PT_OK;
        code = pt_cli_rank0_result(comm, status, &err, "ptrain predict");
    }
    free(o.files);
    return code;
}
