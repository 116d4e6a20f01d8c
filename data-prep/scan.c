/* Source scanning: layouts, labels, patients and the source's own splits (see scan.h). */
#include "scan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "kermany.h"
#include "ptrain/idx.h"

#define PATH_CAP 4096

static const char *const layout_names[PT_LAYOUT_COUNT] = {"auto", "kermany", "imagefolder", "csv",
                                                          "idx"};
_Static_assert(sizeof layout_names / sizeof layout_names[0] == PT_LAYOUT_COUNT,
               "layout name table out of step with pt_layout");

const char *pt_layout_name(pt_layout layout)
{
    return (unsigned)layout < PT_LAYOUT_COUNT ? layout_names[layout] : "?";
}

int pt_layout_parse(const char *name, pt_layout *layout)
{
    for (int i = 0; i < PT_LAYOUT_COUNT; i++) {
        if (strcmp(name, layout_names[i]) == 0) {
            *layout = (pt_layout)i;
            return PT_OK;
        }
    }
    return PT_ERR_INVALID;
}

/* ---- file system helpers ----------------------------------------------------------------------
 */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int join(char *out, const char *a, const char *b, pt_error *err)
{
    int n = *a ? snprintf(out, PATH_CAP, "%s/%s", a, b) : snprintf(out, PATH_CAP, "%s", b);
    if (n < 0 || n >= PATH_CAP)
        return pt_error_set(err, PT_ERR_INVALID, "%s/%s: path too long", a, b);
    return PT_OK;
}

typedef struct name_list {
    char **names;
    size_t count;
} name_list;

static void name_list_free(name_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
    list->names = NULL;
    list->count = 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory, sorted bytewise, without "." "..", and hidden files (macOS
 * .DS_Store and ._ AppleDouble files come along in zipped data sets). */
static int list_dir(const char *path, name_list *out, pt_error *err)
{
    out->names = NULL;
    out->count = 0;
    DIR *dir = opendir(path);
    if (!dir)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 0;
    int status = PT_OK;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (out->count == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(out->names, cap * sizeof *grown);
            if (!grown) {
                status = pt_error_set(err, PT_ERR_NOMEM, "out of memory listing %s", path);
                break;
            }
            out->names = grown;
        }
        out->names[out->count] = strdup(de->d_name);
        if (!out->names[out->count]) {
            status = pt_error_set(err, PT_ERR_NOMEM, "out of memory listing %s", path);
            break;
        }
        out->count++;
    }
    if (status == PT_OK && errno != 0)
        status = pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    closedir(dir);
    if (status != PT_OK)
        name_list_free(out);
    else if (out->count > 1)
        qsort(out->names, out->count, sizeof *out->names, compare_names);
    return status;
}

static int has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

/* Calls visit(rel_path) for every regular, non-hidden file below root/rel, depth first, sorted. */
typedef int (*visit_fn)(void *ctx, const char *rel_path, pt_error *err);

static int walk_files(const char *root, const char *rel, visit_fn visit, void *ctx, pt_error *err)
{
    char dir_path[PATH_CAP];
    int status = join(dir_path, root, rel, err);
    if (status != PT_OK)
        return status;
    name_list names;
    status = list_dir(dir_path, &names, err);
    for (size_t i = 0; status == PT_OK && i < names.count; i++) {
        char child_rel[PATH_CAP], child_path[PATH_CAP];
        status = join(child_rel, rel, names.names[i], err);
        if (status == PT_OK)
            status = join(child_path, root, child_rel, err);
        if (status != PT_OK)
            break;
        if (is_dir(child_path))
            status = walk_files(root, child_rel, visit, ctx, err);
        else if (is_file(child_path))
            status = visit(ctx, child_rel, err);
    }
    name_list_free(&names);
    return status;
}

/* ---- class lists -------------------------------------------------------------------------------
 */

/* Adds the comma-separated names of spec as the classes, in order. */
static int add_class_spec(pt_filelist *list, const char *spec, pt_error *err)
{
    char buf[PATH_CAP];
    if (pt_strlcpy(buf, spec, sizeof buf) != 0)
        return pt_error_set(err, PT_ERR_INVALID, "--classes: list too long");
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*tok == '\0')
            continue;
        if (pt_filelist_find_class(list, tok) >= 0)
            return pt_error_set(err, PT_ERR_INVALID, "--classes: '%s' named twice", tok);
        int status = pt_filelist_add_class(list, tok, err);
        if (status != PT_OK)
            return status;
    }
    if (list->n_classes == 0)
        return pt_error_set(err, PT_ERR_INVALID, "--classes: no class named");
    return PT_OK;
}

static int lowercase_class_index(const pt_filelist *list, const char *name)
{
    for (int c = 0; c < list->n_classes; c++)
        if (strcasecmp(list->class_names[c], name) == 0)
            return c;
    return -1;
}

/* ---- split folder names
 * -------------------------------------------------------------------------- */

static int split_from_folder(const char *name, pt_split *split)
{
    if (strcmp(name, "train") == 0 || strcmp(name, "training") == 0)
        *split = PT_SPLIT_TRAIN;
    else if (strcmp(name, "val") == 0 || strcmp(name, "valid") == 0 ||
             strcmp(name, "validation") == 0)
        *split = PT_SPLIT_VAL;
    else if (strcmp(name, "test") == 0 || strcmp(name, "testing") == 0)
        *split = PT_SPLIT_TEST;
    else
        return 0;
    return 1;
}

/* ---- Kermany and ImageFolder -------------------------------------------------------------------
 */

typedef struct folder_ctx {
    pt_filelist *list;
    const char *root;
    int kermany;          /* use Kermany rules for labels */
    int three_class;      /* Kermany: normal / bacteria / virus */
    int class_index;      /* ImageFolder: the class of the folder being walked */
    int folder_is_normal; /* Kermany: walking a NORMAL folder */
    pt_split split;
} folder_ctx;

static int visit_folder_file(void *vctx, const char *rel, pt_error *err)
{
    folder_ctx *ctx = vctx;
    char patient[256];
    pt_subtype subtype = pt_kermany_parse_name(rel, patient, sizeof patient);
    int label = ctx->class_index;
    if (ctx->kermany) {
        if (ctx->folder_is_normal)
            label = 0;
        else if (!ctx->three_class)
            label = 1;
        else if (subtype == PT_SUBTYPE_BACTERIA)
            label = 1;
        else if (subtype == PT_SUBTYPE_VIRUS)
            label = 2;
        else
            return pt_filelist_reject(ctx->list, rel,
                                      "PNEUMONIA file name names neither bacteria nor virus", err);
    }
    return pt_filelist_add(ctx->list, rel, patient, -1, label, 0, ctx->split, err);
}

/* Walks root/rel/<class folders>, for one split. */
static int scan_class_folders(folder_ctx *ctx, const char *rel, pt_error *err)
{
    char dir_path[PATH_CAP];
    int status = join(dir_path, ctx->root, rel, err);
    if (status != PT_OK)
        return status;
    name_list classes;
    status = list_dir(dir_path, &classes, err);
    for (size_t i = 0; status == PT_OK && i < classes.count; i++) {
        char class_rel[PATH_CAP], class_path[PATH_CAP];
        status = join(class_rel, rel, classes.names[i], err);
        if (status == PT_OK)
            status = join(class_path, ctx->root, class_rel, err);
        if (status != PT_OK || !is_dir(class_path))
            continue;
        const char *name = classes.names[i];
        if (ctx->kermany) {
            ctx->folder_is_normal = strcasecmp(name, "NORMAL") == 0;
            if (!ctx->folder_is_normal && strcasecmp(name, "PNEUMONIA") != 0)
                continue; /* not a class folder of this layout */
        } else {
            ctx->class_index = pt_filelist_find_class(ctx->list, name);
            if (ctx->class_index < 0)
                continue; /* a class the user left out with --classes */
        }
        status = walk_files(ctx->root, class_rel, visit_folder_file, ctx, err);
    }
    name_list_free(&classes);
    return status;
}

/* The split folders directly below root, if it has any. */
static int find_split_folders(const char *root, name_list *splits, pt_error *err)
{
    name_list all;
    int status = list_dir(root, &all, err);
    if (status != PT_OK)
        return status;
    splits->names = NULL;
    splits->count = 0;
    size_t kept = 0;
    for (size_t i = 0; i < all.count; i++) {
        char path[PATH_CAP];
        pt_split split;
        if (split_from_folder(all.names[i], &split) && join(path, root, all.names[i], NULL) == 0 &&
            is_dir(path)) {
            all.names[kept++] = all.names[i];
        } else {
            free(all.names[i]);
        }
    }
    all.count = kept;
    *splits = all;
    return PT_OK;
}

/* ImageFolder classes: --classes, or the union of folder names below each split (or the root). */
static int collect_folder_classes(const char *root, const name_list *splits, const char *spec,
                                  pt_filelist *list, pt_error *err)
{
    if (spec)
        return add_class_spec(list, spec, err);
    size_t n_parents = splits->count ? splits->count : 1;
    for (size_t s = 0; s < n_parents; s++) {
        char parent[PATH_CAP];
        int status = splits->count ? join(parent, root, splits->names[s], err)
                     : pt_strlcpy(parent, root, sizeof parent) == 0
                         ? PT_OK
                         : pt_error_set(err, PT_ERR_INVALID, "%s: path too long", root);
        if (status != PT_OK)
            return status;
        name_list names;
        status = list_dir(parent, &names, err);
        for (size_t i = 0; status == PT_OK && i < names.count; i++) {
            char path[PATH_CAP];
            if (join(path, parent, names.names[i], NULL) == 0 && is_dir(path) &&
                pt_filelist_find_class(list, names.names[i]) < 0)
                status = pt_filelist_add_class(list, names.names[i], err);
        }
        name_list_free(&names);
        if (status != PT_OK)
            return status;
    }
    /* Sorted class names give the same label numbers whatever split holds which class first. */
    if (list->n_classes > 1)
        qsort(list->class_names, (size_t)list->n_classes, sizeof *list->class_names, compare_names);
    return PT_OK;
}

static int scan_folders(const char *root, const pt_scan_opts *opts, int kermany, pt_filelist *list,
                        pt_error *err)
{
    name_list splits;
    int status = find_split_folders(root, &splits, err);
    if (status != PT_OK)
        return status;

    folder_ctx ctx = {.list = list, .root = root, .kermany = kermany};
    if (kermany) {
        const char *spec = opts->classes ? opts->classes : "normal,pneumonia";
        status = add_class_spec(list, spec, err);
        if (status == PT_OK) {
            int normal = lowercase_class_index(list, "normal");
            int pneumonia = lowercase_class_index(list, "pneumonia");
            int bacteria = lowercase_class_index(list, "bacteria");
            int virus = lowercase_class_index(list, "virus");
            if (list->n_classes == 2 && normal == 0 && pneumonia == 1)
                ctx.three_class = 0;
            else if (list->n_classes == 3 && normal == 0 && bacteria == 1 && virus == 2)
                ctx.three_class = 1;
            else
                status = pt_error_set(err, PT_ERR_INVALID,
                                      "--classes: the Kermany layout takes normal,pneumonia or "
                                      "normal,bacteria,virus, not '%s'",
                                      spec);
        }
    } else {
        status = collect_folder_classes(root, &splits, opts->classes, list, err);
    }

    if (status == PT_OK && splits.count == 0) {
        ctx.split = PT_SPLIT_TRAIN;
        status = scan_class_folders(&ctx, "", err);
    }
    for (size_t s = 0; status == PT_OK && s < splits.count; s++) {
        split_from_folder(splits.names[s], &ctx.split);
        if (kermany && ctx.split == PT_SPLIT_VAL && !opts->keep_source_val)
            ctx.split = PT_SPLIT_TRAIN; /* 16 images are no validation set: carve by patient */
        status = scan_class_folders(&ctx, splits.names[s], err);
    }
    name_list_free(&splits);
    return status;
}

/* ---- CSV (NIH ChestX-ray14) --------------------------------------------------------------------
 */

typedef struct image_index {
    char **base; /* base names, sorted */
    char **rel;  /* relative paths, in the same order */
    size_t count;
    size_t cap;
} image_index;

static int visit_index_image(void *vctx, const char *rel, pt_error *err)
{
    image_index *ix = vctx;
    if (!has_image_extension(rel))
        return PT_OK;
    if (ix->count == ix->cap) {
        size_t cap = ix->cap ? 2 * ix->cap : 1024;
        char **b = realloc(ix->base, cap * sizeof *b);
        if (b)
            ix->base = b;
        char **r = realloc(ix->rel, cap * sizeof *r);
        if (r)
            ix->rel = r;
        if (!b || !r)
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory indexing images");
        ix->cap = cap;
    }
    /* One allocation: "rel\0" with the base name pointing into it. */
    char *copy = strdup(rel);
    if (!copy)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory indexing images");
    const char *slash = strrchr(copy, '/');
    ix->rel[ix->count] = copy;
    ix->base[ix->count] = slash ? (char *)slash + 1 : copy;
    ix->count++;
    return PT_OK;
}

static void image_index_free(image_index *ix)
{
    for (size_t i = 0; i < ix->count; i++)
        free(ix->rel[i]);
    free(ix->rel);
    free(ix->base);
    memset(ix, 0, sizeof *ix);
}

static void image_index_sort(image_index *ix)
{
    /* Sort an index permutation by base name, then apply it to both arrays. Insertion of
     * pairs via a temporary array of pairs keeps it simple. */
    typedef struct {
        char *base;
        char *rel;
    } pair;
    pair *pairs = malloc(ix->count * sizeof *pairs);
    if (!pairs)
        return; /* unsorted: lookups then fall back to a linear scan */
    for (size_t i = 0; i < ix->count; i++)
        pairs[i] = (pair){ix->base[i], ix->rel[i]};
    qsort(pairs, ix->count, sizeof *pairs, compare_names); /* base is the first member */
    for (size_t i = 0; i < ix->count; i++) {
        ix->base[i] = pairs[i].base;
        ix->rel[i] = pairs[i].rel;
    }
    free(pairs);
    ix->cap = (size_t)-1; /* marks "sorted" */
}

static const char *image_index_find(const image_index *ix, const char *base)
{
    if (ix->cap == (size_t)-1) {
        size_t lo = 0, hi = ix->count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(ix->base[mid], base);
            if (c == 0)
                return ix->rel[mid];
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return NULL;
    }
    for (size_t i = 0; i < ix->count; i++)
        if (strcmp(ix->base[i], base) == 0)
            return ix->rel[i];
    return NULL;
}

/* A sorted set of names read from a list file (one per line), for train_val_list / test_list. */
static int read_name_set(const char *path, name_list *set, pt_error *err)
{
    set->names = NULL;
    set->count = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? PT_OK
                               : pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    char line[PATH_CAP];
    size_t cap = 0;
    int status = PT_OK;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (set->count == cap) {
            cap = cap ? 2 * cap : 1024;
            char **grown = realloc(set->names, cap * sizeof *grown);
            if (!grown) {
                status = pt_error_set(err, PT_ERR_NOMEM, "out of memory reading %s", path);
                break;
            }
            set->names = grown;
        }
        if (!(set->names[set->count] = strdup(line))) {
            status = pt_error_set(err, PT_ERR_NOMEM, "out of memory reading %s", path);
            break;
        }
        set->count++;
    }
    if (status == PT_OK && ferror(f))
        status = pt_error_set(err, PT_ERR_IO, "%s: read error", path);
    fclose(f);
    if (status == PT_OK && set->count > 1)
        qsort(set->names, set->count, sizeof *set->names, compare_names);
    if (status != PT_OK)
        name_list_free(set);
    return status;
}

static int name_set_contains(const name_list *set, const char *name)
{
    return set->count &&
           bsearch(&name, set->names, set->count, sizeof *set->names, compare_names) != NULL;
}

/* Splits a CSV line on commas in place (NIH fields are never quoted). Returns the field count. */
static int split_csv(char *line, char **fields, int max_fields)
{
    int n = 0;
    char *p = line;
    while (n < max_fields) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

static int find_column(char **fields, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(fields[i], name) == 0)
            return i;
    return -1;
}

/* Adds every finding of the CSV (but "No Finding") as a class, sorted. */
static int collect_findings(FILE *f, int col_labels, pt_filelist *list, pt_error *err)
{
    char line[PATH_CAP];
    int status = PT_OK;
    while (status == PT_OK && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *fields[64];
        int n = split_csv(line, fields, 64);
        if (col_labels >= n)
            continue;
        char *save = NULL;
        for (char *tok = strtok_r(fields[col_labels], "|", &save); tok && status == PT_OK;
             tok = strtok_r(NULL, "|", &save)) {
            if (strcmp(tok, "No Finding") != 0 && pt_filelist_find_class(list, tok) < 0)
                status = pt_filelist_add_class(list, tok, err);
        }
    }
    if (status == PT_OK && list->n_classes > 1)
        qsort(list->class_names, (size_t)list->n_classes, sizeof *list->class_names, compare_names);
    return status;
}

static int find_csv(const char *src, char *csv_path, char *root, pt_error *err)
{
    if (is_file(src)) {
        if (pt_strlcpy(csv_path, src, PATH_CAP) != 0 || pt_strlcpy(root, src, PATH_CAP) != 0)
            return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", src);
        char *slash = strrchr(root, '/');
        if (slash)
            *slash = '\0';
        else
            strcpy(root, ".");
        return PT_OK;
    }
    if (pt_strlcpy(root, src, PATH_CAP) != 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", src);
    int status = join(csv_path, src, "Data_Entry_2017.csv", err);
    if (status == PT_OK && !is_file(csv_path))
        status = pt_error_set(err, PT_ERR_INVALID, "%s: no Data_Entry_2017.csv", src);
    return status;
}

static int scan_csv(const char *src, const pt_scan_opts *opts, pt_filelist *list, pt_error *err)
{
    char csv_path[PATH_CAP], root[PATH_CAP], list_path[PATH_CAP];
    int status = find_csv(src, csv_path, root, err);
    if (status != PT_OK)
        return status;
    status = pt_filelist_set_source(list, root, "csv", err);
    if (status != PT_OK)
        return status;

    image_index ix = {0};
    name_list test_set = {0}, train_set = {0};
    FILE *f = fopen(csv_path, "r");
    if (!f)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", csv_path, strerror(errno));

    char line[PATH_CAP];
    char *fields[64];
    int col_image = -1, col_labels = -1, col_patient = -1;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        int n = split_csv(line, fields, 64);
        col_image = find_column(fields, n, "Image Index");
        col_labels = find_column(fields, n, "Finding Labels");
        col_patient = find_column(fields, n, "Patient ID");
    }
    if (col_image < 0 || col_labels < 0 || col_patient < 0) {
        status = pt_error_set(err, PT_ERR_FORMAT,
                              "%s: needs the columns 'Image Index', 'Finding Labels' and "
                              "'Patient ID'",
                              csv_path);
        goto done;
    }
    long data_start = ftell(f);
    status = opts->classes ? add_class_spec(list, opts->classes, err)
                           : collect_findings(f, col_labels, list, err);
    if (status == PT_OK && fseek(f, data_start, SEEK_SET) != 0)
        status = pt_error_set(err, PT_ERR_IO, "%s: %s", csv_path, strerror(errno));
    if (status == PT_OK)
        status = walk_files(root, "", visit_index_image, &ix, err);
    if (status != PT_OK)
        goto done;
    image_index_sort(&ix);
    if ((status = join(list_path, root, "test_list.txt", err)) != PT_OK ||
        (status = read_name_set(list_path, &test_set, err)) != PT_OK ||
        (status = join(list_path, root, "train_val_list.txt", err)) != PT_OK ||
        (status = read_name_set(list_path, &train_set, err)) != PT_OK)
        goto done;

    while (status == PT_OK && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        int n = split_csv(line, fields, 64);
        if (n <= col_image || n <= col_labels || n <= col_patient || !*fields[col_image])
            continue;
        const char *name = fields[col_image];
        const char *rel = image_index_find(&ix, name);
        if (!rel) {
            status = pt_filelist_reject(list, name, "listed in the CSV but not found", err);
            continue;
        }
        uint64_t bits = 0;
        char *save = NULL;
        for (char *tok = strtok_r(fields[col_labels], "|", &save); tok;
             tok = strtok_r(NULL, "|", &save)) {
            int c = pt_filelist_find_class(list, tok);
            if (c >= 0)
                bits |= 1ULL << c;
        }
        pt_split split = name_set_contains(&test_set, name) ? PT_SPLIT_TEST : PT_SPLIT_TRAIN;
        status = pt_filelist_add(list, rel, fields[col_patient], -1, 0, bits, split, err);
    }
    if (status == PT_OK && ferror(f))
        status = pt_error_set(err, PT_ERR_IO, "%s: read error", csv_path);
    list->multi_label = 1;
done:
    fclose(f);
    image_index_free(&ix);
    name_list_free(&test_set);
    name_list_free(&train_set);
    return status;
}

/* ---- IDX (MNIST / Fashion-MNIST) ------------------------------------------------------------- */

static const char *const fashion_names[10] = {"t-shirt/top", "trouser",   "pullover", "dress",
                                              "coat",        "sandal",    "shirt",    "sneaker",
                                              "bag",         "ankle boot"};

/* root/<stem> or root/<stem>.gz, whichever exists; empty if neither. */
static void find_idx_file(const char *root, const char *stem, char *rel)
{
    char path[PATH_CAP];
    rel[0] = '\0';
    snprintf(rel, PATH_CAP, "%s", stem);
    if (join(path, root, rel, NULL) == 0 && is_file(path))
        return;
    snprintf(rel, PATH_CAP, "%s.gz", stem);
    if (join(path, root, rel, NULL) == 0 && is_file(path))
        return;
    rel[0] = '\0';
}

static int scan_idx_pair(const char *root, const char *prefix, pt_split split, pt_filelist *list,
                         int *max_label, pt_error *err)
{
    char images_stem[64], labels_stem[64], images_rel[PATH_CAP], labels_rel[PATH_CAP];
    snprintf(images_stem, sizeof images_stem, "%s-images-idx3-ubyte", prefix);
    snprintf(labels_stem, sizeof labels_stem, "%s-labels-idx1-ubyte", prefix);
    find_idx_file(root, images_stem, images_rel);
    find_idx_file(root, labels_stem, labels_rel);
    if (!*images_rel && !*labels_rel)
        return PT_OK;
    if (!*images_rel || !*labels_rel)
        return pt_error_set(err, PT_ERR_INVALID, "%s: %s without its %s file", root,
                            *images_rel ? images_stem : labels_stem,
                            *images_rel ? "labels" : "images");

    char path[PATH_CAP];
    pt_idx labels;
    int status = join(path, root, labels_rel, err);
    if (status == PT_OK)
        status = pt_idx_read(path, &labels, err);
    if (status != PT_OK)
        return status;
    if (labels.n_dims != 1)
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: not a label file", path);
    for (int64_t i = 0; status == PT_OK && i < labels.dims[0]; i++) {
        char patient[64];
        /* Each IDX image is its own subject: there is no patient to keep together. */
        snprintf(patient, sizeof patient, "%s-%06lld", prefix, (long long)i);
        int label = labels.data[i];
        if (label > *max_label)
            *max_label = label;
        status = pt_filelist_add(list, images_rel, patient, i, label, 0, split, err);
    }
    pt_idx_free(&labels);
    return status;
}

static int scan_idx(const char *root, const pt_scan_opts *opts, pt_filelist *list, pt_error *err)
{
    int max_label = -1;
    int status = scan_idx_pair(root, "train", PT_SPLIT_TRAIN, list, &max_label, err);
    if (status == PT_OK)
        status = scan_idx_pair(root, "t10k", PT_SPLIT_TEST, list, &max_label, err);
    if (status != PT_OK || max_label < 0)
        return status;
    if (opts->classes)
        status = add_class_spec(list, opts->classes, err);
    else if (strcasestr(root, "fashion") && max_label < 10)
        for (int c = 0; c < 10 && status == PT_OK; c++)
            status = pt_filelist_add_class(list, fashion_names[c], err);
    else
        for (int c = 0; c <= max_label && status == PT_OK; c++) {
            char name[16];
            snprintf(name, sizeof name, "%d", c);
            status = pt_filelist_add_class(list, name, err);
        }
    if (status == PT_OK && max_label >= list->n_classes)
        status = pt_error_set(err, PT_ERR_INVALID, "%s: labels go up to %d but %d classes named",
                              root, max_label, list->n_classes);
    return status;
}

/* ---- layout detection -------------------------------------------------------------------------
 */

static int dir_has_idx(const char *root)
{
    char rel[PATH_CAP];
    find_idx_file(root, "train-images-idx3-ubyte", rel);
    if (*rel)
        return 1;
    find_idx_file(root, "t10k-images-idx3-ubyte", rel);
    return *rel != '\0';
}

/* Kermany: split folders whose class folders are NORMAL and PNEUMONIA. */
static int dir_is_kermany(const char *root)
{
    const char *splits[] = {"train", "test", "val"};
    for (size_t i = 0; i < sizeof splits / sizeof *splits; i++) {
        char split[PATH_CAP], normal[PATH_CAP], pneumonia[PATH_CAP];
        if (join(split, root, splits[i], NULL) != 0 || join(normal, split, "NORMAL", NULL) != 0 ||
            join(pneumonia, split, "PNEUMONIA", NULL) != 0)
            return 0;
        if (is_dir(normal) || is_dir(pneumonia))
            return 1;
    }
    return 0;
}

static pt_layout detect_layout(const char *src)
{
    if (is_file(src)) {
        const char *dot = strrchr(src, '.');
        return dot && strcasecmp(dot, ".csv") == 0 ? PT_LAYOUT_CSV : PT_LAYOUT_AUTO;
    }
    char path[PATH_CAP];
    if (join(path, src, "Data_Entry_2017.csv", NULL) == 0 && is_file(path))
        return PT_LAYOUT_CSV;
    if (dir_has_idx(src))
        return PT_LAYOUT_IDX;
    if (dir_is_kermany(src))
        return PT_LAYOUT_KERMANY;
    return PT_LAYOUT_IMAGEFOLDER;
}

int pt_scan_source(const char *src, const pt_scan_opts *opts, pt_filelist *list, pt_error *err)
{
    pt_filelist_init(list);
    if (!is_dir(src) && !is_file(src))
        return pt_error_set(err, PT_ERR_IO, "%s: %s", src, strerror(ENOENT));

    /* The Kaggle download unpacks to chest_xray/ (sometimes chest_xray/chest_xray/): accept the
     * folder above it too. */
    char root[PATH_CAP];
    if (pt_strlcpy(root, src, sizeof root) != 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", src);
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        root[--len] = '\0';
    for (int depth = 0; depth < 2 && opts->layout != PT_LAYOUT_IMAGEFOLDER; depth++) {
        char inner[PATH_CAP];
        if (!dir_is_kermany(root) && join(inner, root, "chest_xray", NULL) == 0 && is_dir(inner))
            memcpy(root, inner, sizeof root);
    }

    pt_layout layout = opts->layout == PT_LAYOUT_AUTO ? detect_layout(root) : opts->layout;
    int status;
    switch (layout) {
    case PT_LAYOUT_CSV:
        status = scan_csv(root, opts, list, err);
        break;
    case PT_LAYOUT_IDX:
        status = pt_filelist_set_source(list, root, "idx", err);
        if (status == PT_OK)
            status = scan_idx(root, opts, list, err);
        break;
    case PT_LAYOUT_KERMANY:
    case PT_LAYOUT_IMAGEFOLDER:
        if (!is_dir(root)) {
            status = pt_error_set(err, PT_ERR_INVALID, "%s: not a directory", root);
            break;
        }
        status = pt_filelist_set_source(list, root, pt_layout_name(layout), err);
        if (status == PT_OK)
            status = scan_folders(root, opts, layout == PT_LAYOUT_KERMANY, list, err);
        break;
    default:
        status = pt_error_set(err, PT_ERR_INVALID,
                              "%s: cannot tell the layout (not a Kermany or ImageFolder tree, "
                              "a NIH CSV or IDX files); name it with --layout",
                              src);
    }
    if (status == PT_OK && list->count == 0)
        status = pt_error_set(err, PT_ERR_EMPTY, "%s: no image files found (%s layout)", src,
                              pt_layout_name(layout));
    if (status == PT_OK && list->n_classes == 0)
        status = pt_error_set(err, PT_ERR_EMPTY, "%s: no classes found", src);
    if (status == PT_OK)
        pt_filelist_sort(list);
    return status;
}

int pt_scan_has_split(const pt_filelist *list, pt_split split)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->entries[i].split == (int)split)
            return 1;
    return 0;
}
