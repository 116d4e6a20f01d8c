/* `ptrain predict`: class probabilities of image files, as CSV on stdout. The images are
 * decoded and resized exactly as ptrain-prep does (prepare.h, shared with `ptrain serve`); with
 * --cam DIR also one heat-map overlay PNG per image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/threads.h" /* PT_OMP: the same OpenMP spelling as the network's own threads */
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
    int threads;         /* --threads; 0: the CPUs this process may use */
    const char **files;  /* the image arguments, in order */
    int n_files;
} predict_opts;

static void usage(FILE *to)
{
    fprintf(to, "usage: ptrain predict --model model.h5 [--fit stretch|crop|pad]\n"
                "                      [--max-pixels N] [--cam DIR] [--threads N] IMAGE...\n"
                "\n"
                "Prints one CSV line per image: file, predicted class, one probability per class.\n"
                "Images are decoded and resized as ptrain-prep does (use the --fit the cache was\n"
                "made with). A file that cannot be decoded is reported on stderr and the exit\n"
                "status is 1; the other files are still predicted.\n"
                "\n"
                "--threads N (default: the CPUs this process may use) decodes and predicts N\n"
                "images at a time, each thread with its own copy of the network; the output is\n"
                "the same, byte for byte, as on one thread.\n"
                "\n"
                "--cam DIR writes DIR/<image name>.cam.png for each image: the class activation\n"
                "map of the positive class (two classes) or of the predicted class, over the\n"
                "film at its own size. Only for networks ending in global average pooling and a\n"
                "dense layer (cxr, resnet18); for others --cam is an error.\n");
}

enum { O_MODEL = 1, O_FIT, O_MAXPIX, O_CAM, O_THREADS };
static const pt_cli_option options[] = {{"model", 1, O_MODEL},       {"fit", 1, O_FIT},
                                        {"max-pixels", 1, O_MAXPIX}, {"cam", 1, O_CAM},
                                        {"threads", 1, O_THREADS},   {NULL, 0, 0}};

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
    case O_THREADS:
        return pt_cli_threads_option(value, &o->threads, err);
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

/* The heat map of the image in the net's last forward (sample 0) over film, as PNG bytes
 * (malloc'd): rendered by the thread that predicted the image, written in input order (the
 * printer), so that two images of the same base name never write one file at once. */
static int render_cam(pt_net *net, const pt_model_meta *meta, const float *probs,
                      const pt_image *film, const predict_opts *o, uint8_t **png, size_t *png_size,
                      pt_error *err)
{
    int mh, mw;
    int status = pt_net_cam_shape(net, &mh, &mw, err);
    if (status != PT_OK)
        return status;
    float *map = malloc((size_t)mh * (size_t)mw * sizeof *map);
    if (!map)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    int cls = pt_infer_cam_class(probs, meta->n_classes, meta->threshold, meta->multi_label);
    status = pt_net_cam(net, 0, cls, map, err);
    if (status == PT_OK) {
        pt_cam_geometry geo = {meta->width, meta->height, o->fit};
        status = pt_cam_overlay_png(map, mh, mw, &geo, film, png, png_size, err);
    }
    free(map);
    return status;
}

/* What one thread needs of its own: a copy of the network at batch 1 (a forward writes into the
 * net's buffers, and --cam reads the last one back) and the pixels of the image it prepares. */
typedef struct predict_worker {
    pt_net *net;
    uint8_t *pixels;
} predict_worker;

/* The outcome of one file, kept until it is its turn to be printed. */
enum { FILE_PENDING, FILE_PREDICTED, FILE_SKIPPED, FILE_FAILED };
typedef struct file_result {
    int state;
    int code;     /* FILE_FAILED: the error's code */
    char *msg;    /* FILE_SKIPPED / FILE_FAILED: the reason (malloc'd; NULL if that failed too) */
    uint8_t *png; /* FILE_PREDICTED with --cam: the heat map to write (malloc'd) */
    size_t png_size;
} file_result;

/* What the threads share: the results of the current block of files and where printing is. The
 * results, next, first_failed, skipped, status and err are read and written inside the critical
 * section "predict_print" only; a thread fills its file's row of probs before it stores the result
 * there, and the printer reads the row only after it has seen that result. */
typedef struct predict_run {
    const predict_opts *o;
    const pt_model_meta *meta;
    pt_prepare_opts popts;
    pt_infer_params iparams;
    int block_start; /* the files [block_start, block_end) are in results[] */
    int block_end;
    file_result *results; /* PREDICT_BLOCK of them */
    float *probs;         /* PREDICT_BLOCK rows of n_classes */
    int next;             /* the next file to print */
    int first_failed;     /* the first file known to have failed, n_files if none: later files
                             would never be printed, so they are not started */
    int skipped;          /* files that could not be decoded, so far */
    int status;           /* PT_OK, or the first failure's code */
    pt_error *err;
} predict_run;

/* The results held at once: it bounds the memory for long file lists, and costs one wait for the
 * slowest image per block (the threads meet at each block's end). */
#define PREDICT_BLOCK 1024

static void result_set(file_result *r, int state, int code, const char *msg)
{
    r->state = state;
    r->code = code;
    r->msg = msg ? strdup(msg) : NULL;
}

/* Decodes, predicts and (with --cam) renders the heat map of file i, into its result and its row
 * of probabilities; prints and writes nothing. */
static void predict_file(const predict_run *run, const predict_worker *w, int i, file_result *r,
                         float *probs)
{
    const predict_opts *o = run->o;
    pt_error ferr;
    pt_image film = {0};
    if (pt_prepare_file_keep(o->files[i], &run->popts, w->pixels, o->cam_dir ? &film : NULL,
                             &ferr) != PT_OK) {
        result_set(r, FILE_SKIPPED, ferr.code, ferr.msg);
        return;
    }
    pt_error ierr;
    if (pt_infer_probs(w->net, &run->iparams, w->pixels, 1, probs, &ierr) != PT_OK) {
        /* a broken model: no probability is printed for this image or any later one */
        pt_error_set(&ferr, ierr.code, "%s on %s: %s", o->model, o->files[i], ierr.msg);
        result_set(r, FILE_FAILED, ferr.code, ferr.msg);
    } else if (o->cam_dir && render_cam(w->net, run->meta, probs, &film, o, &r->png, &r->png_size,
                                        &ferr) != PT_OK) {
        result_set(r, FILE_FAILED, ferr.code, ferr.msg);
    } else {
        result_set(r, FILE_PREDICTED, PT_OK, NULL);
    }
    pt_image_free(&film);
}

static void print_line(const predict_run *run, int i, const float *probs)
{
    int k = run->meta->n_classes;
    pt_report_csv_field(stdout, run->o->files[i]);
    putchar(',');
    pt_report_csv_field(stdout,
                        run->meta->class_names[pt_infer_predicted(probs, k, run->meta->threshold)]);
    for (int c = 0; c < k; c++)
        printf(",%.6f", probs[c]);
    putchar('\n');
}

/* Writes file i's heat map, DIR/<image's base name>.cam.png; a later image of the same base name,
 * from another folder, replaces it. */
static int write_cam(const predict_run *run, int i, file_result *r, pt_error *err)
{
    char path[PT_PATH_MAX];
    cam_path(run->o->cam_dir, run->o->files[i], path, sizeof path);
    int status = pt_fs_write_file(path, r->png, r->png_size, err);
    free(r->png);
    r->png = NULL;
    return status;
}

/* Prints, in input order, every file of the block that is done and has all earlier files printed:
 * its heat map written (--cam) and a CSV line, or the skip on stderr; at the first failure
 * printing stops for good, so the output is what one thread going through the files in order
 * prints and writes. Called inside "predict_print". */
static void print_ready(predict_run *run)
{
    int k = run->meta->n_classes;
    while (run->status == PT_OK && run->next < run->block_end) {
        int j = run->next - run->block_start;
        file_result *r = &run->results[j];
        if (r->state == FILE_PENDING)
            return;
        const char *msg = r->msg ? r->msg : "out of memory";
        if (r->state == FILE_SKIPPED) {
            fprintf(stderr, "ptrain predict: skipped %s\n", msg);
            run->skipped++;
        } else if (r->state == FILE_FAILED) {
            pt_error_set(run->err, r->msg ? r->code : PT_ERR_NOMEM, "%s", msg);
            run->status = run->err->code;
            return;
        } else if (r->png && write_cam(run, run->next, r, run->err) != PT_OK) {
            run->status = run->err->code;
            return;
        } else {
            print_line(run, run->next, run->probs + (size_t)j * (size_t)k);
        }
        run->next++;
    }
}

/* Runs the files of the current block on the workers' threads, each thread taking the next file
 * not yet taken (images differ in size, so a fixed share would leave threads idle). */
static void predict_block(predict_run *run, const predict_worker *workers, int threads)
{
    int k = run->meta->n_classes;
    PT_OMP(omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1))
    for (int i = run->block_start; i < run->block_end; i++) {
        int j = i - run->block_start;
        int stopped;
        PT_OMP(omp critical(predict_print))
        stopped = i > run->first_failed; /* after a failure in input order: never printed */
        if (stopped)
            continue;
        file_result r = {FILE_PENDING, PT_OK, NULL, NULL, 0};
        predict_file(run, &workers[pt_thread_id()], i, &r, run->probs + (size_t)j * (size_t)k);
        PT_OMP(omp critical(predict_print))
        {
            run->results[j] = r;
            if (r.state == FILE_FAILED && i < run->first_failed)
                run->first_failed = i;
            print_ready(run);
        }
    }
}

/* --threads, or every CPU this process may run on; never more than there are files. */
static int threads_to_use(const predict_opts *o)
{
    int threads = o->threads > 0 ? o->threads : pt_cli_default_threads();
    return threads < o->n_files ? threads : o->n_files;
}

/* workers[0] gets the loaded net; the others a network built from the same architecture at batch
 * 1 with the loaded parameters and batch-norm statistics copied in: the same numbers. */
static int workers_create(pt_net *loaded, const pt_arch *arch, const pt_model_meta *meta,
                          predict_worker *workers, int threads, pt_error *err)
{
    size_t image = (size_t)meta->height * (size_t)meta->width;
    for (int t = 0; t < threads; t++) {
        predict_worker *w = &workers[t];
        if (t == 0) {
            w->net = loaded;
        } else {
            int status = pt_net_create(arch, meta->channels, meta->height, meta->width,
                                       meta->n_classes, 1, &w->net, err);
            if (status != PT_OK)
                return status;
            if (pt_net_copy_weights(w->net, loaded) != PT_OK) /* the same architecture: never */
                return pt_error_set(err, PT_ERR_INVALID, "%s: a copy of the network differs",
                                    meta->arch_name);
        }
        w->pixels = malloc(image);
        if (!w->pixels)
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    return PT_OK;
}

/* Frees the workers' copies and pixels (not workers[0]'s net: the loaded one). */
static void workers_free(predict_worker *workers, int threads)
{
    for (int t = 0; t < threads; t++) {
        if (t > 0)
            pt_net_free(workers[t].net);
        free(workers[t].pixels);
    }
}

/* --cam needs a network with a class activation map: refused before any output. */
static int prepare_cam(const predict_opts *o, pt_net *net, pt_error *err)
{
    int mh, mw;
    int status = pt_net_cam_shape(net, &mh, &mw, err);
    if (status == PT_OK)
        status = pt_fs_mkdir_p(o->cam_dir, err);
    if (status == PT_ERR_UNSUPPORTED) {
        char reason[PT_ERROR_MSG_MAX]; /* the message is rewritten in place: copy it */
        pt_strlcpy(reason, err->msg, sizeof reason);
        pt_error_set(err, status, "--cam: %s: %s", o->model, reason);
    }
    return status;
}

static void print_header(const pt_model_meta *meta)
{
    fputs("file,predicted", stdout);
    for (int c = 0; c < meta->n_classes; c++) {
        fputs(",p_", stdout);
        pt_report_csv_field(stdout, meta->class_names[c]);
    }
    putchar('\n');
}

/* Goes through the files block by block; returns the first failure's code or PT_OK. */
static int predict_all(predict_run *run, const predict_worker *workers, int threads)
{
    int n = run->o->n_files;
    for (int start = 0; start < n && run->status == PT_OK; start += PREDICT_BLOCK) {
        run->block_start = start;
        run->block_end = n - start < PREDICT_BLOCK ? n : start + PREDICT_BLOCK;
        for (int j = 0; j < run->block_end - start; j++)
            run->results[j] = (file_result){FILE_PENDING, PT_OK, NULL, NULL, 0};
        predict_block(run, workers, threads);
        for (int j = 0; j < run->block_end - start; j++) { /* what a failure left unprinted too */
            free(run->results[j].msg);
            free(run->results[j].png);
        }
    }
    return run->status;
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
    int threads = threads_to_use(o);
    predict_worker *workers = calloc((size_t)threads, sizeof *workers);
    predict_run run = {
        .o = o,
        .meta = &meta,
        .popts = {.width = meta.width,
                  .height = meta.height,
                  .fit = o->fit,
                  .max_pixels = o->max_pixels},
        .iparams = pt_model_infer_params(&meta),
        .results = calloc(PREDICT_BLOCK, sizeof *run.results),
        .probs = malloc((size_t)PREDICT_BLOCK * (size_t)meta.n_classes * sizeof *run.probs),
        .first_failed = o->n_files,
        .status = PT_OK,
        .err = err};
    if (!workers || !run.results || !run.probs) {
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory");
        goto done;
    }
    status = workers_create(net, &arch, &meta, workers, threads, err);
    if (status == PT_OK && o->cam_dir)
        status = prepare_cam(o, net, err);
    if (status != PT_OK)
        goto done;
    print_header(&meta);
    status = predict_all(&run, workers, threads);
    fflush(stdout);
    if (status == PT_OK && run.skipped)
        status = pt_error_set(err, PT_ERR_FORMAT, "%d of %d file(s) could not be decoded",
                              run.skipped, o->n_files);
done:
    if (workers)
        workers_free(workers, threads);
    free(workers);
    free(run.results);
    free(run.probs);
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
