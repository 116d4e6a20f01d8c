/* `ptrain predict`: class probabilities of image files, as CSV on stdout. The images are
 * decoded and resized exactly as ptrain-prep does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ptrain/cli.h"
#include "ptrain/image.h"
#include "ptrain/infer.h"
#include "ptrain/model_io.h"
#include "ptrain/report.h"
#include "ptrain/resize.h"

typedef struct predict_opts {
    const char *model;
    pt_fit fit;
    int64_t max_pixels;
    const char **files; /* the image arguments, in order */
    int n_files;
} predict_opts;

static void usage(FILE *to)
{
    fprintf(to, "usage: ptrain predict --model model.h5 [--fit stretch|crop|pad]\n"
                "                      [--max-pixels N] IMAGE...\n"
                "\n"
                "Prints one CSV line per image: file, predicted class, one probability per class.\n"
                "Images are decoded and resized as ptrain-prep does (use the --fit the cache was\n"
                "made with). A file that cannot be decoded is reported on stderr and the exit\n"
                "status is 1; the other files are still predicted.\n");
}

enum { O_MODEL = 1, O_FIT, O_MAXPIX };
static const pt_cli_option options[] = {
    {"model", 1, O_MODEL}, {"fit", 1, O_FIT}, {"max-pixels", 1, O_MAXPIX}, {NULL, 0, 0}};

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

/* Decodes and resizes one file into dst (height x width), as ptrain-prep does. */
static int prepare(const char *path, const predict_opts *o, const pt_model_meta *meta, uint8_t *dst,
                   pt_error *err)
{
    pt_decode_opts dopts = pt_decode_opts_default();
    dopts.max_pixels = o->max_pixels;
    dopts.min_width = meta->width;
    dopts.min_height = meta->height;
    pt_image img;
    int status = pt_image_decode_file(path, &dopts, &img, err);
    if (status != PT_OK)
        return status;
    if (img.width == meta->width && img.height == meta->height)
        memcpy(dst, img.pixels, (size_t)img.width * (size_t)img.height);
    else
        status = pt_image_resize(&img, meta->width, meta->height, o->fit, dst, err);
    pt_image_free(&img);
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
    fputs("file,predicted", stdout);
    for (int c = 0; c < k; c++) {
        fputs(",p_", stdout);
        pt_report_csv_field(stdout, meta.class_names[c]);
    }
    putchar('\n');
    for (int i = 0; i < o->n_files; i++) {
        pt_error ferr;
        if (prepare(o->files[i], o, &meta, pixels, &ferr) != PT_OK) {
            fprintf(stderr, "ptrain predict: skipped %s\n", ferr.msg);
            failed++;
            continue;
        }
        pt_infer_params params = pt_model_infer_params(&meta);
        pt_error ierr;
        if (pt_infer_probs(net, &params, pixels, 1, probs, &ierr) != PT_OK) {
            /* a broken model: no probability is printed for this image or any later one */
            status = pt_error_set(err, ierr.code, "%s on %s: %s", o->model, o->files[i], ierr.msg);
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
