/* The prep run (see prep.h): rank 0's scan broadcast to all, then per split rounds of decode,
 * flag exchange and collective write, then the pixel statistics, the list of skipped files, the
 * commit of the finished cache and rank 0's summary. The arithmetic of rounds, blocks and write
 * offsets is in data-prep/prep_plan.c, where it is tested without MPI. */
#include "ptrain/prep.h"

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cache_write.h"
#include "filelist.h"
#include "prep_plan.h"
#include "ptrain/fs.h"
#include "ptrain/idx.h"
#include "ptrain/lock.h"
#include "ptrain/image.h"
#include "split.h"

#define PROG PT_PREP_PROGRAM

pt_prep_config pt_prep_config_default(void)
{
    return (pt_prep_config){
        .layout = PT_LAYOUT_AUTO,
        .val_frac = 0.1,
        .test_frac = 0.1,
        .seed = 1,
        .fit = PT_FIT_STRETCH,
        .max_pixels = PT_DEFAULT_MAX_PIXELS,
    };
}

typedef struct idx_slot {
    char path[PT_PATH_MAX];
    pt_idx idx;
} idx_slot;

typedef struct prep_run {
    const pt_prep_config *cfg;
    const pt_comm *comm;
    pt_filelist list;
    int size;     /* the cache's images are size x size */
    size_t round; /* files per rank per round */
    char partial[PT_PATH_MAX];
    pt_cache_writer *writer;
    idx_slot idx[2]; /* IDX image files loaded so far (train and t10k) */
    /* per-split results, identical on all ranks */
    uint64_t written[PT_SPLIT_COUNT];
    uint64_t per_class[PT_SPLIT_COUNT][PT_MAX_CLASSES];
    pt_pixel_sums pixels; /* this rank's train pixels, summed over the ranks at the end */
    /* this rank's skipped files, as "path: reason\n" lines */
    char *skipped;
    size_t skipped_len, skipped_cap;
    /* every rank's skipped files and the scan's rejections, sorted, on every rank */
    char *all_skipped_text;
    char **all_skipped;
    uint64_t n_all_skipped;
    double t_read, t_decode, t_write, t_start;
} prep_run;

/* ---- one file -------------------------------------------------------------------------------- */

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

/* The IDX file rel, read once: a source has at most two (train and t10k), kept loaded. */
static const pt_idx *load_idx(prep_run *run, const char *rel, pt_error *err)
{
    for (int i = 0; i < 2; i++)
        if (run->idx[i].idx.data && strcmp(run->idx[i].path, rel) == 0)
            return &run->idx[i].idx;
    idx_slot *slot = run->idx[0].idx.data ? &run->idx[1] : &run->idx[0];
    pt_idx_free(&slot->idx);
    char path[PT_PATH_MAX];
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
        char path[PT_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", run->list.root, e->path);
        uint8_t *data = NULL;
        size_t size = 0;
        status = pt_fs_read_file(path, &data, &size, err);
        double t1 = pt_now_seconds();
        run->t_read += t1 - t0;
        if (status != PT_OK)
            return status;
        pt_decode_opts dopts = pt_decode_opts_default();
        dopts.max_pixels = run->cfg->max_pixels;
        if (!run->cfg->full_decode) {
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
    else if ((status = pt_image_resize(&img, run->size, run->size, run->cfg->fit, dst, err)) !=
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

/* ---- rounds ---------------------------------------------------------------------------------- */

/* One round's buffers, allocated once per split. */
typedef struct round_buffers {
    uint8_t *images;    /* this rank's decoded images, packed: round * size * size bytes */
    uint8_t *flags;     /* PT_PREP_* for each slot of this rank's block: round bytes */
    uint8_t *all_flags; /* every rank's flags in rank order: round * ranks bytes */
} round_buffers;

static int alloc_round_buffers(const prep_run *run, round_buffers *b, pt_error *err)
{
    size_t image_bytes = (size_t)run->size * (size_t)run->size;
    b->images = malloc(run->round * image_bytes);
    b->flags = malloc(run->round);
    b->all_flags = malloc(run->round * (size_t)run->comm->size);
    if (!b->images || !b->flags || !b->all_flags)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for %zu images per round",
                            run->round);
    return PT_OK;
}

static void free_round_buffers(round_buffers *b)
{
    free(b->images);
    free(b->flags);
    free(b->all_flags);
}

/* Decodes this rank's block (entries[0..count)) into b->images, packed, and sets b->flags. A
 * file that cannot be decoded is reported on stderr and listed, not an error; training pixels
 * go into the statistics. Returns the number decoded in *n_decoded. */
static int decode_block(prep_run *run, pt_split split, const pt_entry *entries, size_t count,
                        round_buffers *b, uint64_t *n_decoded, pt_error *err)
{
    const size_t image_bytes = (size_t)run->size * (size_t)run->size;
    uint64_t n_ok = 0;
    memset(b->flags, PT_PREP_NO_FILE, run->round);
    for (size_t k = 0; k < count; k++) {
        uint8_t *dst = b->images + n_ok * image_bytes;
        pt_error derr;
        pt_error_clear(&derr);
        if (decode_entry(run, &entries[k], dst, &derr) == PT_OK) {
            b->flags[k] = PT_PREP_DECODED;
            if (split == PT_SPLIT_TRAIN)
                pt_prep_plan_add_pixels(&run->pixels, dst, image_bytes);
            n_ok++;
            continue;
        }
        b->flags[k] = PT_PREP_FAILED;
        fprintf(stderr, PROG ": %s: %s\n", run->cfg->strict ? "error" : "skipped", derr.msg);
        if (append_skip(run, derr.msg) != PT_OK) {
            /* The round goes on to the flag exchange all the same, carrying the failure: a rank
             * that left here alone would leave the others waiting in the exchange. */
            b->flags[0] = PT_PREP_RANK_FAILED;
            *n_decoded = 0;
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory listing the skipped files");
        }
    }
    *n_decoded = n_ok;
    return PT_OK;
}

/* Every rank learns every rank's flags; from them, which files of the round were decoded
 * (ok[0..files)) and where this rank's images go. */
static pt_prep_rows exchange_flags(const prep_run *run, round_buffers *b, size_t files, uint8_t *ok)
{
    pt_comm_allgather_bytes(run->comm, b->flags, b->all_flags, (int)run->round);
    return pt_prep_plan_rows(b->all_flags, run->round, run->comm->size, run->comm->rank, files, ok);
}

/* One round: this rank decodes its block of the files [base, base + files) of the split (which
 * starts at entries), the ranks exchange flags, and all write their images together. ok gets the
 * round's results, identical on every rank. */
static int process_round(prep_run *run, pt_split split, const pt_entry *entries, size_t base,
                         size_t files, round_buffers *b, uint8_t *ok, pt_error *err)
{
    pt_prep_block mine = pt_prep_plan_block(files, run->comm->rank, run->comm->size);
    uint64_t n_decoded = 0;
    int status =
        decode_block(run, split, entries + base + mine.first, mine.count, b, &n_decoded, err);
    double t0 = pt_now_seconds();
    pt_prep_rows rows = exchange_flags(run, b, files, ok + base);
    if (rows.rank_failed) /* the failing rank has the message; the others just stop */
        return status != PT_OK ? status : PT_ERR_NOMEM;
    if (rows.any_failed && run->cfg->strict)
        return pt_error_set(err, PT_ERR_FORMAT,
                            "stopping: --strict and a file could not be decoded");
    status = pt_cache_writer_append(run->writer, b->images, n_decoded, rows.offset, rows.rows, err);
    if (status != PT_OK)
        return status;
    run->t_write += pt_now_seconds() - t0;
    return PT_OK;
}

/* ---- one split ------------------------------------------------------------------------------- */

/* Rank 0's progress line: at the first round, then at most every 5 s, and at the end. */
static void report_progress(prep_run *run, pt_split split, uint64_t done, uint64_t total,
                            double *last_report, uint64_t done_before)
{
    if (run->comm->rank != 0 || run->cfg->quiet)
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

/* The split's entries: the list is sorted by split, so they are list->entries[first, first+n). */
static void split_range(const pt_filelist *list, pt_split split, size_t *first, size_t *n)
{
    size_t i = 0;
    while (i < list->count && list->entries[i].split < (int)split)
        i++;
    size_t k = 0;
    while (i + k < list->count && list->entries[i + k].split == (int)split)
        k++;
    *first = i;
    *n = k;
}

/* Writes the labels, patients and sources of the split's decoded entries (ok[i] set). */
static int write_split_meta(prep_run *run, const pt_entry *entries, size_t n, const uint8_t *ok,
                            pt_error *err)
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
        const pt_entry *e = &entries[i];
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

/* Images per class of the split's decoded entries, for the summary. */
static void count_classes(prep_run *run, pt_split split, const pt_entry *entries, size_t n,
                          const uint8_t *ok)
{
    const pt_filelist *list = &run->list;
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        const pt_entry *e = &entries[i];
        for (int c = 0; c < list->n_classes; c++)
            if (list->multi_label ? (e->labels >> c) & 1 : e->label == c)
                run->per_class[split][c]++;
    }
}

/* Processes one split in rounds (see prep.h). Decode failures are skips; an error returned from
 * here is fatal for the whole job. */
static int process_split(prep_run *run, pt_split split, uint64_t done_before, pt_error *err)
{
    size_t first, n;
    split_range(&run->list, split, &first, &n);
    const pt_entry *entries = run->list.entries + first;

    int status = pt_cache_writer_begin_split(run->writer, pt_split_name(split), err);
    if (status != PT_OK)
        return status;
    round_buffers b = {0};
    uint8_t *ok = calloc(n ? n : 1, 1); /* which files of the split were decoded, by any rank */
    status = alloc_round_buffers(run, &b, err);
    if (status == PT_OK && !ok)
        status =
            pt_error_set(err, PT_ERR_NOMEM, "out of memory for %zu images per round", run->round);
    if (status != PT_OK)
        goto done;

    double last_report = 0.0;
    size_t files;
    for (size_t base = 0; base < n; base += files) {
        files = pt_prep_plan_round_files(n, base, run->round, run->comm->size);
        status = process_round(run, split, entries, base, files, &b, ok, err);
        if (status != PT_OK)
            goto done;
        report_progress(run, split, base + files, n, &last_report, done_before);
    }
    if (n == 0)
        report_progress(run, split, 0, 0, &last_report, done_before);

    status = write_split_meta(run, entries, n, ok, err);
    run->written[split] = pt_cache_writer_rows(run->writer);
    count_classes(run, split, entries, n, ok);
done:
    free_round_buffers(&b);
    free(ok);
    return status;
}

/* ---- before the first split: the list, the image size, the output ---------------------------- */

static int scan_and_split(prep_run *run, pt_error *err)
{
    const pt_prep_config *cfg = run->cfg;
    pt_scan_opts scan = {
        .layout = cfg->layout,
        .classes = cfg->classes,
        .keep_source_val = cfg->keep_source_val,
        .follow_symlinks = cfg->follow_symlinks,
        .strict = cfg->strict,
    };
    int status = pt_scan_source(cfg->src, &scan, &run->list, err);
    if (status != PT_OK)
        return status;
    /* What the scan left out goes to stderr now, like a file that fails to decode, and to
     * /skipped at the end; what it found odd is a warning. */
    for (size_t i = 0; i < run->list.n_rejected; i++)
        fprintf(stderr, PROG ": skipped: %s\n", run->list.rejected[i]);
    for (size_t i = 0; i < run->list.n_warnings; i++)
        fprintf(stderr, PROG ": warning: %s\n", run->list.warnings[i]);
    size_t moved = 0;
    if (!pt_scan_has_split(&run->list, PT_SPLIT_TEST)) {
        status = pt_split_carve(&run->list, PT_SPLIT_TEST, cfg->test_frac, cfg->seed ^ 0x7e57,
                                &moved, err);
        if (status != PT_OK)
            return status;
    }
    if (!pt_scan_has_split(&run->list, PT_SPLIT_VAL))
        status = pt_split_carve(&run->list, PT_SPLIT_VAL, cfg->val_frac, cfg->seed, &moved, err);
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

/* The cache's image size: the configured one, or the native size of IDX images (capped at
 * PT_PREP_MAX_SIZE), or 128 (pt_prep_plan_image_side). */
static int choose_size(prep_run *run, pt_error *err)
{
    int64_t native_h = 0, native_w = 0;
    if (run->cfg->size <= 0 && run->list.count > 0 && run->list.entries[0].record >= 0) {
        const pt_idx *idx = load_idx(run, run->list.entries[0].path, err);
        if (!idx)
            return err->code;
        native_h = idx->dims[1];
        native_w = idx->dims[2];
    }
    run->size = pt_prep_plan_image_side(run->cfg->size, native_h, native_w, PT_PREP_MAX_SIZE);
    if (run->size < 0)
        return pt_error_set(err, PT_ERR_UNSUPPORTED, "%s: IDX images are not square; give --size",
                            run->list.entries[0].path);
    return PT_OK;
}

/* Names the partial file, and on rank 0 creates it empty before any decoding, which checks that
 * it can be written. A partial file already there was left by a killed run (the lock beside the
 * output says that no live run owns it): it is removed, not opened, so that its blocks are freed
 * before the room check and a link left in its place is never followed. */
static int check_output_writable(prep_run *run, pt_error *err)
{
    if (snprintf(run->partial, sizeof run->partial, "%s.partial", run->cfg->out) >=
        (int)sizeof run->partial)
        return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", run->cfg->out);
    if (run->comm->rank != 0)
        return PT_OK;
    if (unlink(run->partial) != 0 && errno != ENOENT)
        return pt_error_set(err, PT_ERR_IO, "%s: cannot remove a stale partial file: %s",
                            run->partial, strerror(errno));
    int fd = open(run->partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return pt_error_set(err, PT_ERR_IO, "%s: cannot write: %s", run->cfg->out, strerror(errno));
    close(fd);
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
        .source = run->cfg->src,
        .layout = run->list.layout,
        .deflate = run->cfg->deflate,
    };
    return pt_cache_writer_open(run->partial, run->comm, &header, &run->writer, err);
}

/* ---- after the last split -------------------------------------------------------------------- */

/* Sums every rank's training pixels and writes the mean and std as attributes of /train. */
static int write_train_stats(prep_run *run, pt_error *err)
{
    uint64_t sums[3] = {run->pixels.sum, run->pixels.sq_sum, run->pixels.count};
    pt_comm_allreduce_sum_u64(run->comm, sums, 3);
    pt_pixel_sums all = {.sum = sums[0], .sq_sum = sums[1], .count = sums[2]};
    double mean, std;
    pt_prep_plan_pixel_stats(&all, &mean, &std);
    return pt_cache_writer_train_stats(run->writer, mean, std, err);
}

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Gathers every rank's skipped lines and the scan rejections, sorted, onto every rank (into
 * run->all_skipped). */
static int collect_skipped(prep_run *run, pt_error *err)
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
    run->all_skipped_text = buf;
    run->all_skipped = index;
    run->n_all_skipped = n;
    return PT_OK;
}

/* Completes the partial file: statistics, the skipped list, and the close. A cache with no image
 * at all is an error, not a result. */
static int finish_cache(prep_run *run, pt_error *err)
{
    int status = write_train_stats(run, err);
    if (status == PT_OK)
        status = collect_skipped(run, err);
    uint64_t total = run->written[0] + run->written[1] + run->written[2];
    if (status == PT_OK && total == 0)
        status = pt_error_set(err, PT_ERR_EMPTY, "%s: none of the %zu files could be decoded",
                              run->cfg->src, run->list.count);
    if (status == PT_OK) {
        status = pt_cache_writer_finish(run->writer, (const char *const *)run->all_skipped,
                                        run->n_all_skipped, err);
        run->writer = NULL; /* freed by finish, whatever it returned */
    }
    return status;
}

/* Every rank learns whether all finished their part of the file; if all did, rank 0 gives it
 * its final name. */
static int commit_cache(prep_run *run, int status, pt_error *err)
{
    status = pt_comm_agree_status(run->comm, status);
    if (status == PT_OK && run->comm->rank == 0)
        status = pt_fs_commit(run->partial, run->cfg->out, err);
    return pt_comm_agree_status(run->comm, status);
}

/* After an error: the file is closed on every rank, then rank 0 removes it, so the partial file
 * never survives. Returns the status every rank agrees on. */
static int discard_cache(prep_run *run, int status)
{
    pt_cache_writer_abandon(run->writer);
    run->writer = NULL;
    status = pt_comm_agree_status(run->comm, status); /* also: every rank has closed the file */
    if (run->comm->rank == 0 && run->partial[0])
        remove(run->partial);
    return status;
}

static void print_summary(const prep_run *run, double seconds)
{
    const pt_filelist *list = &run->list;
    printf(PROG ": wrote %s: %dx%d, %d classes, %s layout%s\n", run->cfg->out, run->size, run->size,
           list->n_classes, list->layout, list->multi_label ? ", multi-label" : "");
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
    printf("  skipped %" PRIu64 " file(s)%s\n", run->n_all_skipped,
           run->n_all_skipped ? " (listed in /skipped and above)" : "");
    printf("  %" PRIu64 " images in %.2f s: %.0f images/s on %d rank(s) (rank 0: read %.2f s, "
           "decode+resize %.2f s, exchange+write %.2f s)\n",
           total, seconds, seconds > 0 ? (double)total / seconds : 0.0, run->comm->size,
           run->t_read, run->t_decode, run->t_write);
}

/* ---- the run --------------------------------------------------------------------------------- */

/* The partial file while this process may be writing it, for the handler of a kill signal (TERM,
 * INT, HUP: what mpirun sends the ranks that are left when one dies, what scancel and Ctrl-C
 * send). The only global: a signal handler has nowhere else to look. */
static const char *volatile partial_on_kill;

static void on_kill_signal(int sig)
{
    const char *partial = partial_on_kill;
    if (partial)
        unlink(partial); /* async-signal-safe; every rank tries, the first one wins */
    raise(sig);          /* the handler was reset (SA_RESETHAND): now the default action */
}

enum { KILL_SIGNALS = 3 };
static const int kill_signals[KILL_SIGNALS] = {SIGTERM, SIGINT, SIGHUP};

/* While a run writes its partial file, a kill signal removes it before the process dies: a job
 * killed halfway leaves no half-written cache behind (a SIGKILL cannot be caught; the next run
 * removes what that leaves). Signals the program ignores stay ignored. */
static void remove_partial_on_kill(const char *partial, struct sigaction *saved)
{
    partial_on_kill = partial;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_kill_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < KILL_SIGNALS; i++) {
        sigaction(kill_signals[i], NULL, &saved[i]);
        if (saved[i].sa_handler != SIG_IGN)
            sigaction(kill_signals[i], &sa, NULL);
    }
}

static void restore_kill_signals(const struct sigaction *saved)
{
    for (int i = 0; i < KILL_SIGNALS; i++)
        sigaction(kill_signals[i], &saved[i], NULL);
    partial_on_kill = NULL;
}

/* What a caller other than the command line could get wrong; the command line checks more. */
static int check_config(const pt_prep_config *cfg, pt_error *err)
{
    if (!cfg->src || !cfg->out)
        return pt_error_set(err, PT_ERR_INVALID, "a source and an output file are required");
    if (cfg->size < 0 || cfg->round < 0 || cfg->deflate < 0 || cfg->deflate > 9)
        return pt_error_set(err, PT_ERR_INVALID, "size %d, round %d or deflate %d out of range",
                            cfg->size, cfg->round, cfg->deflate);
    return PT_OK;
}

/* What the cache will take if every file decodes: the images, and their labels, patients and
 * sources as fixed-width strings. Checked against the free space before decoding anything, so
 * that a disk too small fails in seconds rather than hours into the run. */
static uint64_t cache_bytes(const prep_run *run)
{
    size_t patient = 1, source = 1;
    for (size_t i = 0; i < run->list.count; i++) {
        size_t p = strlen(run->list.entries[i].patient) + 1,
               s = strlen(run->list.entries[i].path) + 1;
        patient = p > patient ? p : patient;
        source = s > source ? s : source;
    }
    uint64_t per_image = (uint64_t)run->size * (uint64_t)run->size + sizeof(int32_t) + patient +
                         source + (uint64_t)run->list.n_classes;
    return (uint64_t)run->list.count * per_image;
}

/* Everything before the first image: the list on every rank, the image size, the round size,
 * and the partial file open for writing. */
static int prepare(prep_run *run, pt_error *err)
{
    const pt_comm *comm = run->comm;
    int status = pt_comm_agree_status(comm, check_config(run->cfg, err));
    if (status == PT_OK)
        status = share_file_list(run, err);
    if (status == PT_OK)
        status = pt_comm_agree_status(comm, choose_size(run, err));
    if (status == PT_OK) {
        run->round = (size_t)pt_prep_plan_round_size(run->cfg->round, run->size);
        status = pt_comm_agree_status(comm, check_output_writable(run, err));
    }
    if (status == PT_OK)
        status = pt_comm_agree_status(comm, open_writer(run, err));
    if (status == PT_OK && !run->cfg->deflate) /* compressed, the size is not known in advance */
        status = pt_cache_writer_check_room(run->writer, cache_bytes(run), err);
    return status;
}

static void free_run(prep_run *run)
{
    pt_filelist_free(&run->list);
    for (int i = 0; i < 2; i++)
        pt_idx_free(&run->idx[i].idx);
    free(run->skipped);
    free(run->all_skipped_text);
    free(run->all_skipped);
}

/* Every split in order, in rounds. */
static int write_splits(prep_run *run, pt_error *err)
{
    int status = PT_OK;
    uint64_t done_before = 0; /* files of the earlier splits, for the progress rate */
    for (int s = 0; s < PT_SPLIT_COUNT && status == PT_OK; s++) {
        status = process_split(run, (pt_split)s, done_before, err);
        done_before += pt_filelist_count_split(&run->list, (pt_split)s);
    }
    return status;
}

/* Rank 0 locks "<out>.lock" for the whole run: a second prep on the same output is refused
 * before either writes, naming the holder (lock.h). */
static int lock_output(const prep_run *run, pt_lock *lock, pt_error *err)
{
    char path[PT_PATH_MAX];
    if (run->comm->rank != 0 || !run->cfg->out)
        return PT_OK;
    if (snprintf(path, sizeof path, "%s.lock", run->cfg->out) >= (int)sizeof path)
        return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", run->cfg->out);
    int status = pt_lock_acquire(path, PROG, lock, err);
    if (status != PT_OK) {
        char reason[PT_ERROR_MSG_MAX];
        pt_strlcpy(reason, err->msg, sizeof reason);
        status = pt_error_set(err, status,
                              "%s is being written by another prep (%s): wait for it to end, or "
                              "choose another --out",
                              run->cfg->out, reason);
    }
    return status;
}

int pt_prep_run(const pt_prep_config *cfg, const pt_comm *comm, pt_error *err)
{
    prep_run run = {.cfg = cfg, .comm = comm, .t_start = pt_now_seconds()};
    pt_lock lock = {.fd = -1};
    int status = pt_comm_agree_status(comm, lock_output(&run, &lock, err));
    if (status != PT_OK)
        return status;
    struct sigaction saved[KILL_SIGNALS];
    remove_partial_on_kill(run.partial, saved); /* named by prepare, empty until then */
    status = prepare(&run, err);
    if (status == PT_OK) {
        status = write_splits(&run, err);
        if (status == PT_OK)
            status = finish_cache(&run, err);
        status = commit_cache(&run, status, err);
    }
    if (status == PT_OK && comm->rank == 0)
        print_summary(&run, pt_now_seconds() - run.t_start);
    if (status != PT_OK)
        status = discard_cache(&run, status);
    restore_kill_signals(saved);
    free_run(&run);
    pt_lock_release(&lock);
    return status;
}
