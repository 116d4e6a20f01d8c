/* ptrain-prep: decode a folder of X-rays (or IDX files) into one HDF5 cache, in parallel.
 *
 * Rank 0 scans the source, carves the splits and broadcasts the file list. The files of each
 * split are then processed in rounds: in every round each rank decodes, resizes and writes up to
 * `round` consecutive files, so the cache keeps the list's order whatever the number of ranks,
 * memory stays bounded, and one collective write per round puts every rank's images in place.
 * A file that cannot be decoded is skipped and listed, never fatal (unless --strict). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filelist.h"
#include "cache_write.h"
#include "ptrain/fs.h"
#include "ptrain/cli.h"
#include "ptrain/comm.h"
#include "ptrain/idx.h"
#include "ptrain/image.h"
#include "ptrain/resize.h"
#include "scan.h"
#include "split.h"

#define PROG     "ptrain-prep"
#define PATH_CAP 4096

typedef struct prep_opts {
    const char *src;
    const char *out;
    int size; /* 0: default (128, or the native size of IDX images) */
    pt_scan_opts scan;
    double val_frac;
    double test_frac;
    uint64_t seed;
    pt_fit fit;
    int64_t max_pixels;
    int strict;
    int full_decode; /* decode JPEGs at full size even when a reduced DCT decode would do */
    int deflate;
    int round; /* files per rank per round */
    int quiet;
} prep_opts;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mpirun -np N " PROG " --src PATH --out FILE.h5 [options]\n"
            "\n"
            "Decodes a folder of chest X-rays (or IDX files) into one HDF5 cache for ptrain.\n"
            "Each MPI rank decodes its share; all ranks write the file together.\n"
            "\n"
            "  --src PATH            source: Kermany chest_xray/ folder, ImageFolder tree,\n"
            "                        NIH Data_Entry_2017.csv (or its folder), or IDX folder\n"
            "  --out FILE.h5         cache to write (written as FILE.h5.partial, then renamed)\n"
            "  --size N              images are resized to N x N (default 128; IDX: native)\n"
            "  --layout L            auto|kermany|imagefolder|csv|idx (default auto)\n"
            "  --classes A,B,...     class names in label order; Kermany: normal,pneumonia\n"
            "                        (default) or normal,bacteria,virus\n"
            "  --val-frac F          fraction of training images carved out for validation,\n"
            "                        by patient (default 0.1)\n"
            "  --test-frac F         same for test, only if the source has no test split\n"
            "                        (default 0.1)\n"
            "  --keep-val            Kermany: keep the source's val folder as validation\n"
            "                        (default: merge its 16 images into training, then carve)\n"
            "  --seed S              seed of the patient split (default 1)\n"
            "  --fit MODE            stretch|crop|pad (default stretch)\n"
            "  --max-pixels N        skip images announcing more pixels (default %lld)\n"
            "  --strict              a file that cannot be decoded is an error, not a skip\n"
            "  --full-decode         decode JPEGs at full size (default: reduced DCT decode\n"
            "                        when the image is at least twice the target size)\n"
            "  --deflate N           compress images with deflate level 1-9 (default 0: off)\n"
            "  --round N             files per rank per collective write (default: as many\n"
            "                        as fit in 64 MiB of cached images, at most 256)\n"
            "  --quiet               no progress lines\n"
            "  --help                this text\n"
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
            (long long)PT_DEFAULT_MAX_PIXELS);
}

/* ---- option parsing -------------------------------------------------------------------------- */

/* Returns 0 to run, 1 after --help, PT_EXIT_USAGE on a bad command line (message in err). */
static int parse_args(int argc, char **argv, prep_opts *o, pt_error *err)
{
    enum {
        O_SRC = 256,
        O_OUT,
        O_SIZE,
        O_LAYOUT,
        O_CLASSES,
        O_VAL,
        O_TEST,
        O_KEEPVAL,
        O_SEED,
        O_FIT,
        O_MAXPIX,
        O_STRICT,
        O_FULL,
        O_DEFLATE,
        O_ROUND,
        O_QUIET,
        O_HELP
    };
    static const struct option longopts[] = {{"src", required_argument, 0, O_SRC},
                                             {"out", required_argument, 0, O_OUT},
                                             {"size", required_argument, 0, O_SIZE},
                                             {"layout", required_argument, 0, O_LAYOUT},
                                             {"classes", required_argument, 0, O_CLASSES},
                                             {"val-frac", required_argument, 0, O_VAL},
                                             {"test-frac", required_argument, 0, O_TEST},
                                             {"keep-val", no_argument, 0, O_KEEPVAL},
                                             {"seed", required_argument, 0, O_SEED},
                                             {"fit", required_argument, 0, O_FIT},
                                             {"max-pixels", required_argument, 0, O_MAXPIX},
                                             {"strict", no_argument, 0, O_STRICT},
                                             {"full-decode", no_argument, 0, O_FULL},
                                             {"deflate", required_argument, 0, O_DEFLATE},
                                             {"round", required_argument, 0, O_ROUND},
                                             {"quiet", no_argument, 0, O_QUIET},
                                             {"help", no_argument, 0, O_HELP},
                                             {0, 0, 0, 0}};

    memset(o, 0, sizeof *o);
    o->val_frac = 0.1;
    o->test_frac = 0.1;
    o->seed = 1;
    o->fit = PT_FIT_STRETCH;
    o->max_pixels = PT_DEFAULT_MAX_PIXELS;
    o->round = 0; /* auto: see choose_round */
    o->scan.layout = PT_LAYOUT_AUTO;

    opterr = 0;
    int c;
    long long v;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_SRC:
            o->src = optarg;
            break;
        case O_OUT:
            o->out = optarg;
            break;
        case O_SIZE:
            if (pt_cli_long(optarg, 4, 4096, &v))
                return pt_error_set(err, PT_EXIT_USAGE, "--size: '%s' is not 4..4096", optarg);
            o->size = (int)v;
            break;
        case O_LAYOUT:
            if (pt_layout_parse(optarg, &o->scan.layout) != PT_OK)
                return pt_error_set(err, PT_EXIT_USAGE,
                                    "--layout: '%s' is not auto|kermany|imagefolder|csv|idx",
                                    optarg);
            break;
        case O_CLASSES:
            o->scan.classes = optarg;
            break;
        case O_VAL:
            if (pt_cli_double(optarg, 0.0, 0.9, &o->val_frac))
                return pt_error_set(err, PT_EXIT_USAGE, "--val-frac: '%s' is not 0..0.9", optarg);
            break;
        case O_TEST:
            if (pt_cli_double(optarg, 0.0, 0.9, &o->test_frac))
                return pt_error_set(err, PT_EXIT_USAGE, "--test-frac: '%s' is not 0..0.9", optarg);
            break;
        case O_KEEPVAL:
            o->scan.keep_source_val = 1;
            break;
        case O_SEED:
            if (pt_cli_long(optarg, 0, INT64_MAX, &v))
                return pt_error_set(err, PT_EXIT_USAGE, "--seed: '%s' is not a whole number >= 0",
                                    optarg);
            o->seed = (uint64_t)v;
            break;
        case O_FIT:
            if (pt_fit_parse(optarg, &o->fit) != PT_OK)
                return pt_error_set(err, PT_EXIT_USAGE, "--fit: '%s' is not stretch|crop|pad",
                                    optarg);
            break;
        case O_MAXPIX:
            if (pt_cli_long(optarg, 1, INT64_MAX, &v))
                return pt_error_set(err, PT_EXIT_USAGE,
                                    "--max-pixels: '%s' is not a positive number", optarg);
            o->max_pixels = v;
            break;
        case O_STRICT:
            o->strict = 1;
            break;
        case O_FULL:
            o->full_decode = 1;
            break;
        case O_DEFLATE:
            if (pt_cli_long(optarg, 0, 9, &v))
                return pt_error_set(err, PT_EXIT_USAGE, "--deflate: '%s' is not 0..9", optarg);
            o->deflate = (int)v;
            break;
        case O_ROUND:
            if (pt_cli_long(optarg, 1, 4096, &v))
                return pt_error_set(err, PT_EXIT_USAGE, "--round: '%s' is not 1..4096", optarg);
            o->round = (int)v;
            break;
        case O_QUIET:
            o->quiet = 1;
            break;
        case O_HELP:
            return 1;
        default:
            return pt_error_set(err, PT_EXIT_USAGE,
                                "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pt_error_set(err, PT_EXIT_USAGE, "unexpected argument '%s' (see --help)",
                            argv[optind]);
    if (!o->src || !o->out)
        return pt_error_set(err, PT_EXIT_USAGE, "--src and --out are required (see --help)");
    return 0;
}

/* ---- the work of one prep run -----------------------------------------------------------------
 */

typedef struct idx_slot {
    char path[PATH_CAP];
    pt_idx idx;
} idx_slot;

typedef struct prep_run {
    const prep_opts *opts;
    const pt_comm *comm;
    pt_filelist list;
    int size;
    char partial[PATH_CAP];
    pt_cache_writer *writer;
    idx_slot idx[2]; /* IDX image files loaded so far (train and t10k) */
    /* per-split results, identical on all ranks */
    uint64_t written[PT_SPLIT_COUNT];
    uint64_t per_class[PT_SPLIT_COUNT][PT_MAX_CLASSES];
    uint64_t pixel_sum, pixel_sq_sum; /* this rank's train pixels, summed at the end */
    /* this rank's skipped files, as "path: reason\n" lines */
    char *skipped;
    size_t skipped_len, skipped_cap;
    uint64_t n_skipped_global;
    double t_read, t_decode, t_write, t_start;
} prep_run;

static int append_skip(prep_run *run, const char *line)
{
    size_t len = strlen(line);
    if (run->skipped_len + len + 2 > run->skipped_cap) {
        size_t cap = run->skipped_cap ? 2 * run->skipped_cap : 4096;
        while (cap < run->skipped_len + len + 2)
            cap *= 2;
        char *grown = realloc(run->skipped, cap);
        if (!grown)
            return PT_ERR_NOMEM;
        run->skipped = grown;
        run->skipped_cap = cap;
    }
    memcpy(run->skipped + run->skipped_len, line, len);
    run->skipped_len += len;
    run->skipped[run->skipped_len++] = '\n';
    run->skipped[run->skipped_len] = '\0';
    return PT_OK;
}

static const pt_idx *load_idx(prep_run *run, const char *rel, pt_error *err)
{
    for (int i = 0; i < 2; i++)
        if (run->idx[i].idx.data && strcmp(run->idx[i].path, rel) == 0)
            return &run->idx[i].idx;
    idx_slot *slot = run->idx[0].idx.data ? &run->idx[1] : &run->idx[0];
    pt_idx_free(&slot->idx);
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/%s", run->list.root, rel);
    if (pt_idx_read(path, &slot->idx, err) != PT_OK)
        return NULL;
    if (slot->idx.n_dims != 3) {
        pt_idx_free(&slot->idx);
        pt_error_set(err, PT_ERR_FORMAT, "%s: not an image IDX file", path);
        return NULL;
    }
    pt_strlcpy(slot->path, rel, sizeof slot->path);
    return &slot->idx;
}

/* Decodes and resizes one entry into dst (size*size bytes). */
static int decode_entry(prep_run *run, const pt_entry *e, uint8_t *dst, pt_error *err)
{
    pt_image img = {0};
    int owned = 0;
    int status;
    double t0 = pt_now_seconds();
    if (e->record >= 0) {
        const pt_idx *idx = load_idx(run, e->path, err);
        if (!idx)
            return err->code;
        if (e->record >= idx->dims[0])
            return pt_error_set(err, PT_ERR_FORMAT, "%s#%lld: record beyond the end of the file",
                                e->path, (long long)e->record);
        img.height = (int)idx->dims[1];
        img.width = (int)idx->dims[2];
        img.pixels = idx->data + (size_t)e->record * pt_idx_record_size(idx);
        run->t_read += pt_now_seconds() - t0;
    } else {
        char path[PATH_CAP];
        snprintf(path, sizeof path, "%s/%s", run->list.root, e->path);
        uint8_t *data = NULL;
        size_t size = 0;
        status = pt_fs_read_file(path, &data, &size, err);
        double t1 = pt_now_seconds();
        run->t_read += t1 - t0;
        if (status != PT_OK)
            return status;
        pt_decode_opts dopts = pt_decode_opts_default();
        dopts.max_pixels = run->opts->max_pixels;
        if (!run->opts->full_decode) {
            dopts.min_width = run->size;
            dopts.min_height = run->size;
        }
        status = pt_image_decode_memory(data, size, e->path, &dopts, &img, err);
        free(data);
        run->t_decode += pt_now_seconds() - t1;
        if (status != PT_OK)
            return status;
        owned = 1;
        t0 = pt_now_seconds();
    }
    if (img.width == run->size && img.height == run->size)
        memcpy(dst, img.pixels, (size_t)run->size * (size_t)run->size);
    else if ((status = pt_image_resize(&img, run->size, run->size, run->opts->fit, dst, err)) !=
             PT_OK) {
        if (owned)
            pt_image_free(&img);
        return status;
    }
    run->t_decode += pt_now_seconds() - t0;
    if (owned)
        pt_image_free(&img);
    return PT_OK;
}

static void report_progress(prep_run *run, pt_split split, uint64_t done, uint64_t total,
                            double *last_report, uint64_t done_before)
{
    if (run->comm->rank != 0 || run->opts->quiet)
        return;
    /* Plain lines, not a redrawn bar: under mpirun a rank's stdout is a pseudo-terminal even
     * when the user's is a SLURM log file, so isatty() cannot tell. */
    double now = pt_now_seconds();
    if (done < total && now - *last_report < 5.0)
        return;
    *last_report = now;
    double elapsed = now - run->t_start;
    double rate = elapsed > 0 ? (double)(done_before + done) / elapsed : 0.0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    printf(PROG ": %-5s %8" PRIu64 "/%-8" PRIu64 " files (%3.0f%%) %7.0f files/s  ETA %4.0f s\n",
           pt_split_name(split), done, total, total ? 100.0 * (double)done / (double)total : 100.0,
           rate, eta);
    fflush(stdout);
}

/* Writes the labels, patients and sources of the split's successful entries. */
static int write_split_meta(prep_run *run, size_t first, size_t n, const uint8_t *ok, pt_error *err)
{
    const pt_filelist *list = &run->list;
    uint64_t rows = pt_cache_writer_rows(run->writer);
    size_t label_width = list->multi_label ? (size_t)list->n_classes : sizeof(int32_t);
    uint8_t *labels = calloc(rows ? rows : 1, label_width);
    const char **patients = calloc(rows ? rows : 1, sizeof *patients);
    const char **sources = calloc(rows ? rows : 1, sizeof *sources);
    int status = PT_OK;
    if (!labels || !patients || !sources) {
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory writing split metadata");
        goto done;
    }
    uint64_t row = 0;
    for (size_t i = 0; i < n && row < rows; i++) {
        if (!ok[i])
            continue;
        const pt_entry *e = &list->entries[first + i];
        if (list->multi_label) {
            for (int c = 0; c < list->n_classes; c++)
                labels[row * label_width + (size_t)c] = (uint8_t)((e->labels >> c) & 1);
        } else {
            int32_t label = e->label;
            memcpy(labels + row * label_width, &label, sizeof label);
        }
        patients[row] = e->patient;
        sources[row] = e->path;
        row++;
    }
    status = pt_cache_writer_split_meta(run->writer, rows, labels, patients, sources, err);
done:
    free(labels);
    free(patients);
    free(sources);
    return status;
}

/* Files per rank per round. Larger rounds even out the cost of files that decode slowly (a PNG
 * can take ten times a JPEG of the same size), because every round ends in a collective write
 * that waits for the slowest rank; the cap keeps memory bounded at large --size. */
static int choose_round(const prep_run *run)
{
    if (run->opts->round > 0)
        return run->opts->round;
    size_t image_bytes = (size_t)run->size * (size_t)run->size;
    size_t fit = (64u << 20) / image_bytes;
    return fit < 16 ? 16 : fit > 256 ? 256 : (int)fit;
}

/* Processes one split in rounds (see the top of the file). Decode failures are skips; an error
 * returned from here is fatal for the whole job. */
static int process_split(prep_run *run, pt_split split, uint64_t done_before, pt_error *err)
{
    const pt_comm *comm = run->comm;
    const pt_filelist *list = &run->list;
    size_t first = 0;
    while (first < list->count && list->entries[first].split < (int)split)
        first++;
    size_t n = 0;
    while (first + n < list->count && list->entries[first + n].split == (int)split)
        n++;

    int status = pt_cache_writer_begin_split(run->writer, pt_split_name(split), err);
    if (status != PT_OK)
        return status;

    const size_t B = (size_t)choose_round(run);
    const size_t image_bytes = (size_t)run->size * (size_t)run->size;
    uint8_t *images = malloc(B * image_bytes);
    uint8_t *flags = malloc(B);
    uint8_t *all_flags = malloc(B * (size_t)comm->size);
    uint8_t *ok = calloc(n ? n : 1, 1); /* success of every entry of the split, all ranks */
    if (!images || !flags || !all_flags || !ok) {
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory for %zu images per round", B);
        goto done;
    }

    double last_report = 0.0;
    const size_t per_round = B * (size_t)comm->size;
    for (size_t base = 0; base < n; base += per_round) {
        /* The round's files are cut into np contiguous, balanced blocks (the last round too, so
         * no rank idles while another decodes the tail); block r goes to rank r, so rank order
         * is file order. */
        size_t in_round = n - base < per_round ? n - base : per_round;
        size_t mine = base + in_round * (size_t)comm->rank / (size_t)comm->size;
        size_t my_n = base + in_round * (size_t)(comm->rank + 1) / (size_t)comm->size - mine;
        size_t my_ok = 0;
        memset(flags, 2, B); /* 2: no file in this slot */
        for (size_t k = 0; k < my_n; k++) {
            const pt_entry *e = &list->entries[first + mine + k];
            pt_error derr;
            pt_error_clear(&derr);
            if (decode_entry(run, e, images + my_ok * image_bytes, &derr) == PT_OK) {
                flags[k] = 1;
                if (split == PT_SPLIT_TRAIN) {
                    const uint8_t *px = images + my_ok * image_bytes;
                    for (size_t p = 0; p < image_bytes; p++) {
                        run->pixel_sum += px[p];
                        run->pixel_sq_sum += (uint64_t)px[p] * px[p];
                    }
                }
                my_ok++;
            } else {
                flags[k] = 0;
                fprintf(stderr, PROG ": %s: %s\n", run->opts->strict ? "error" : "skipped",
                        derr.msg);
                if (append_skip(run, derr.msg) != PT_OK) {
                    status = pt_error_set(err, PT_ERR_NOMEM, "out of memory");
                    goto done;
                }
            }
        }

        double t0 = pt_now_seconds();
        pt_comm_allgather_bytes(comm, flags, all_flags, (int)B);
        uint64_t offset = 0, round_ok = 0;
        int any_failed = 0;
        for (int r = 0; r < comm->size; r++) {
            for (size_t k = 0; k < B; k++) {
                uint8_t f = all_flags[(size_t)r * B + k];
                size_t idx = base + in_round * (size_t)r / (size_t)comm->size + k;
                if (f == 2)
                    continue;
                ok[idx] = f;
                any_failed |= f == 0;
                round_ok += f;
                if (r < comm->rank)
                    offset += f;
            }
        }
        if (any_failed && run->opts->strict) {
            status = pt_error_set(err, PT_ERR_FORMAT,
                                  "stopping: --strict and a file could not be decoded");
            goto done;
        }
        status = pt_cache_writer_append(run->writer, images, my_ok, offset, round_ok, err);
        if (status != PT_OK)
            goto done;
        run->t_write += pt_now_seconds() - t0;
        size_t done_files = base + per_round < n ? base + per_round : n;
        report_progress(run, split, done_files, n, &last_report, done_before);
    }
    if (n == 0)
        report_progress(run, split, 0, 0, &last_report, done_before);

    status = write_split_meta(run, first, n, ok, err);
    run->written[split] = pt_cache_writer_rows(run->writer);
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        const pt_entry *e = &list->entries[first + i];
        for (int c = 0; c < list->n_classes; c++)
            if (list->multi_label ? (e->labels >> c) & 1 : e->label == c)
                run->per_class[split][c]++;
    }
done:
    free(images);
    free(flags);
    free(all_flags);
    free(ok);
    return status;
}

/* ---- rank 0's scan, and the list every rank receives --------------------------------------- */

static int scan_and_split(prep_run *run, pt_error *err)
{
    const prep_opts *o = run->opts;
    int status = pt_scan_source(o->src, &o->scan, &run->list, err);
    if (status != PT_OK)
        return status;
    size_t moved = 0;
    if (!pt_scan_has_split(&run->list, PT_SPLIT_TEST)) {
        status =
            pt_split_carve(&run->list, PT_SPLIT_TEST, o->test_frac, o->seed ^ 0x7e57, &moved, err);
        if (status != PT_OK)
            return status;
    }
    if (!pt_scan_has_split(&run->list, PT_SPLIT_VAL))
        status = pt_split_carve(&run->list, PT_SPLIT_VAL, o->val_frac, o->seed, &moved, err);
    if (status != PT_OK)
        return status;
    size_t shared = pt_split_count_shared_patients(&run->list);
    if (shared > 0)
        fprintf(stderr,
                PROG ": warning: %zu patients have images in more than one of the source's own "
                     "splits\n",
                shared);
    return PT_OK;
}

/* Rank 0 scans; everyone gets the list or the same failure. */
static int share_file_list(prep_run *run, pt_error *err)
{
    const pt_comm *comm = run->comm;
    uint8_t *data = NULL;
    size_t size = 0;
    int status = PT_OK;
    if (comm->rank == 0) {
        status = scan_and_split(run, err);
        if (status == PT_OK)
            status = pt_filelist_serialize(&run->list, &data, &size, err);
    }
    status = pt_comm_agree_status(comm, status);
    if (status != PT_OK) {
        free(data);
        return status;
    }
    status = pt_comm_bcast_bytes(comm, &data, &size, 0, err);
    if (status == PT_OK && comm->rank != 0)
        status = pt_filelist_deserialize(data, size, &run->list, err);
    free(data);
    return pt_comm_agree_status(comm, status);
}

/* The cache's image size: --size, or the native size of IDX images, or 128. */
static int choose_size(prep_run *run, pt_error *err)
{
    if (run->opts->size > 0) {
        run->size = run->opts->size;
        return PT_OK;
    }
    run->size = 128;
    if (run->list.count > 0 && run->list.entries[0].record >= 0) {
        const pt_idx *idx = load_idx(run, run->list.entries[0].path, err);
        if (!idx)
            return err->code;
        if (idx->dims[1] != idx->dims[2])
            return pt_error_set(err, PT_ERR_UNSUPPORTED,
                                "%s: IDX images are not square; give --size",
                                run->list.entries[0].path);
        run->size = (int)idx->dims[1];
    }
    return PT_OK;
}

static int check_output_writable(prep_run *run, pt_error *err)
{
    if (snprintf(run->partial, sizeof run->partial, "%s.partial", run->opts->out) >=
        (int)sizeof run->partial)
        return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", run->opts->out);
    if (run->comm->rank != 0)
        return PT_OK;
    FILE *f = fopen(run->partial, "wb");
    if (!f)
        return pt_error_set(err, PT_ERR_IO, "%s: cannot write: %s", run->opts->out,
                            strerror(errno));
    fclose(f);
    return PT_OK;
}

static int open_writer(prep_run *run, pt_error *err)
{
    /* Every rank must write identical attributes: take rank 0's clock. */
    char created[64] = "";
    if (run->comm->rank == 0)
        pt_time_iso8601(created, sizeof created);
    uint8_t *data = (uint8_t *)created;
    size_t size = sizeof created;
    int status = pt_comm_bcast_bytes(run->comm, &data, &size, 0, err);
    if (status != PT_OK)
        return status;
    if (run->comm->rank != 0) {
        memcpy(created, data, sizeof created);
        free(data);
    }
    created[sizeof created - 1] = '\0';

    pt_cache_header header = {
        .height = run->size,
        .width = run->size,
        .n_classes = run->list.n_classes,
        .class_names = (const char *const *)run->list.class_names,
        .multi_label = run->list.multi_label,
        .created = created,
        .generator = PROG " " PT_VERSION,
        .source = run->opts->src,
        .layout = run->list.layout,
        .deflate = run->opts->deflate,
    };
    return pt_cache_writer_open(run->partial, run->comm, &header, &run->writer, err);
}

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Gathers every rank's skipped lines and the scan rejections, sorted, onto every rank. */
static int collect_skipped(prep_run *run, char **text, char ***lines, uint64_t *n_lines,
                           pt_error *err)
{
    uint8_t *all = NULL;
    size_t all_size = 0;
    int status = pt_comm_gather_bytes(run->comm, (const uint8_t *)run->skipped, run->skipped_len, 0,
                                      &all, &all_size, err);
    if (status != PT_OK)
        return status;
    if (run->comm->rank == 0) {
        for (size_t i = 0; i < run->list.n_rejected; i++) {
            size_t len = strlen(run->list.rejected[i]);
            uint8_t *grown = realloc(all, all_size + len + 1);
            if (!grown) {
                free(all);
                return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
            }
            all = grown;
            memcpy(all + all_size, run->list.rejected[i], len);
            all[all_size + len] = '\n';
            all_size += len + 1;
        }
    }
    status = pt_comm_bcast_bytes(run->comm, &all, &all_size, 0, err);
    if (status != PT_OK)
        return status;
    /* split into NUL-terminated lines */
    char *buf = realloc(all, all_size + 1);
    if (!buf) {
        free(all);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    buf[all_size] = '\0';
    uint64_t n = 0;
    for (size_t i = 0; i < all_size; i++)
        n += buf[i] == '\n';
    char **index = calloc(n ? n : 1, sizeof *index);
    if (!index) {
        free(buf);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    uint64_t k = 0;
    for (char *line = buf; k < n; k++) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        index[k] = line;
        line = nl + 1;
    }
    qsort(index, n, sizeof *index, compare_lines);
    *text = buf;
    *lines = index;
    *n_lines = n;
    return PT_OK;
}

static int write_train_stats(prep_run *run, pt_error *err)
{
    uint64_t sums[2] = {run->pixel_sum, run->pixel_sq_sum};
    pt_comm_allreduce_sum_u64(run->comm, sums, 2);
    double count = (double)run->written[PT_SPLIT_TRAIN] * run->size * run->size;
    double mean = 0.0, std = 1.0;
    if (count > 0) {
        /* exact integer sums, so the statistics do not depend on the number of ranks */
        mean = (double)sums[0] / count / 255.0;
        double var = (double)sums[1] / count / (255.0 * 255.0) - mean * mean;
        std = var > 0 ? sqrt(var) : 1.0;
    }
    return pt_cache_writer_train_stats(run->writer, mean, std, err);
}

static void print_summary(const prep_run *run, double seconds)
{
    const pt_filelist *list = &run->list;
    printf(PROG ": wrote %s: %dx%d, %d classes, %s layout%s\n", run->opts->out, run->size,
           run->size, list->n_classes, list->layout, list->multi_label ? ", multi-label" : "");
    printf("  %-6s %8s", "split", "images");
    for (int c = 0; c < list->n_classes && c < 16; c++)
        printf(" %10.10s", list->class_names[c]);
    printf("\n");
    uint64_t total = 0;
    for (int s = 0; s < PT_SPLIT_COUNT; s++) {
        printf("  %-6s %8" PRIu64, pt_split_name((pt_split)s), run->written[s]);
        for (int c = 0; c < list->n_classes && c < 16; c++)
            printf(" %10" PRIu64, run->per_class[s][c]);
        printf("\n");
        total += run->written[s];
    }
    printf("  skipped %" PRIu64 " file(s)%s\n", run->n_skipped_global,
           run->n_skipped_global ? " (listed in /skipped and above)" : "");
    printf("  %" PRIu64 " images in %.2f s: %.0f images/s on %d rank(s) (rank 0: read %.2f s, "
           "decode+resize %.2f s, exchange+write %.2f s)\n",
           total, seconds, seconds > 0 ? (double)total / seconds : 0.0, run->comm->size,
           run->t_read, run->t_decode, run->t_write);
}

static void free_run(prep_run *run)
{
    pt_filelist_free(&run->list);
    for (int i = 0; i < 2; i++)
        pt_idx_free(&run->idx[i].idx);
    free(run->skipped);
}

/* Runs the whole prep; returns the process exit status. */
static int run_prep(const prep_opts *opts, const pt_comm *comm)
{
    prep_run run = {.opts = opts, .comm = comm, .t_start = pt_now_seconds()};
    pt_error err;
    pt_error_clear(&err);
    char *skipped_text = NULL;
    char **skipped = NULL;
    uint64_t n_skipped = 0;

    int status = share_file_list(&run, &err);
    if (status == PT_OK)
        status = pt_comm_agree_status(comm, choose_size(&run, &err));
    if (status == PT_OK)
        status = pt_comm_agree_status(comm, check_output_writable(&run, &err));
    if (status == PT_OK)
        status = pt_comm_agree_status(comm, open_writer(&run, &err));
    if (status != PT_OK)
        goto fail_before_writing;

    uint64_t done_before = 0;
    for (int s = 0; s < PT_SPLIT_COUNT && status == PT_OK; s++) {
        status = process_split(&run, (pt_split)s, done_before, &err);
        done_before += pt_filelist_count_split(&run.list, (pt_split)s);
    }
    if (status == PT_OK)
        status = write_train_stats(&run, &err);
    if (status == PT_OK)
        status = collect_skipped(&run, &skipped_text, &skipped, &n_skipped, &err);
    run.n_skipped_global = n_skipped;
    uint64_t total = run.written[0] + run.written[1] + run.written[2];
    if (status == PT_OK && total == 0)
        status = pt_error_set(&err, PT_ERR_EMPTY, "%s: none of the %zu files could be decoded",
                              opts->src, run.list.count);
    if (status == PT_OK) {
        status = pt_cache_writer_finish(run.writer, (const char *const *)skipped, n_skipped, &err);
        run.writer = NULL;
    }
    status = pt_comm_agree_status(comm, status);
    if (status == PT_OK && comm->rank == 0)
        status = pt_fs_commit(run.partial, opts->out, &err);
    status = pt_comm_agree_status(comm, status);
    if (status != PT_OK)
        goto fail;
    if (comm->rank == 0)
        print_summary(&run, pt_now_seconds() - run.t_start);
    free(skipped_text);
    free(skipped);
    free_run(&run);
    return 0;

fail:
    pt_cache_writer_abandon(run.writer);
fail_before_writing:
    /* One message, from the lowest rank that holds a reason; the partial file never survives. */
    pt_cli_report_error(comm, &err, PROG);
    pt_comm_barrier(comm);
    if (comm->rank == 0 && run.partial[0])
        remove(run.partial);
    free(skipped_text);
    free(skipped);
    free_run(&run);
    return 1;
}

int main(int argc, char **argv)
{
    pt_comm comm;
    pt_error err;
    pt_error_clear(&err);
    if (pt_comm_init(&argc, &argv, &comm, &err) != PT_OK) {
        fprintf(stderr, PROG ": error: %s\n", err.msg);
        return 1;
    }
    prep_opts opts;
    int code = pt_cli_after_parse(&comm, parse_args(argc, argv, &opts, &err), &err, PROG, usage);
    if (code < 0)
        code = run_prep(&opts, &comm);
    pt_comm_finalize(&comm);
    return code;
}
