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
#include <unistd.h>

#include "csv.h"
#include "kermany.h"
#include "ptrain/fs.h"
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

/* ---- file system helpers ----------------------------------------------------------------- */

static int join(char *out, const char *a, const char *b, pt_error *err)
{
    int n = *a ? snprintf(out, PATH_CAP, "%s/%s", a, b) : snprintf(out, PATH_CAP, "%s", b);
    if (n < 0 || n >= PATH_CAP)
        return pt_error_set(err, PT_ERR_INVALID, "%s/%s: path too long", a, b);
    return PT_OK;
}

/* a/b (or b when a is empty) in a new allocation; NULL when out of memory. */
static char *join_alloc(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *out = malloc(la + lb + 2);
    if (!out)
        return NULL;
    if (la) {
        memcpy(out, a, la);
        out[la++] = '/';
    }
    memcpy(out + la, b, lb + 1);
    return out;
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
 * .DS_Store and ._ AppleDouble files come along in zipped data sets). On PT_ERR_IO, *why (if
 * not NULL) holds the errno. */
static int list_dir(const char *path, name_list *out, int *why, pt_error *err)
{
    out->names = NULL;
    out->count = 0;
    DIR *dir = opendir(path);
    if (!dir) {
        if (why)
            *why = errno;
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    }
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
    if (status == PT_OK && errno != 0) {
        if (why)
            *why = errno;
        status = pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    }
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

/* ---- the scan: what was entered, what was left out ------------------------------------------ */

typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

typedef struct scan_ctx {
    const char *root;         /* entry paths are relative to it */
    char *real_root;          /* its canonical path: a link that resolves outside it leaves it */
    const pt_scan_opts *opts; /* follow_symlinks, strict */
    pt_filelist *list;        /* where what is left out is listed */
    dir_id *seen;             /* every folder entered (a hash set): each is entered once */
    size_t n_seen, cap_seen;
} scan_ctx;

/* Lists rel (relative to the root) as left out for reason; under --strict that is the error. */
static int leave_out(scan_ctx *s, const char *rel, int code, const char *reason, pt_error *err)
{
    if (!s->opts->strict)
        return pt_filelist_reject(s->list, rel, reason, err);
    /* a path too long for the message keeps its end, where the reason is */
    size_t len = strlen(rel);
    if (len > 400)
        return pt_error_set(err, code, "%s/...%s: %s (--strict)", s->root, rel + len - 200, reason);
    return pt_error_set(err, code, "%s/%s: %s (--strict)", s->root, rel, reason);
}

static size_t dir_slot(const dir_id *id, size_t cap)
{
    uint64_t h = ((uint64_t)id->dev * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)id->ino;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Puts id into the open-addressing table (cap a power of two, an empty slot has ino 0); 0 if it
 * was there already. */
static int dir_table_put(dir_id *table, size_t cap, const dir_id *id)
{
    for (size_t i = dir_slot(id, cap);; i = (i + 1) & (cap - 1)) {
        if (table[i].ino == 0) {
            table[i] = *id;
            return 1;
        }
        if (table[i].dev == id->dev && table[i].ino == id->ino)
            return 0;
    }
}

/* 1 if the folder was not entered before (and is now marked), 0 if it was, or an error. A hash
 * set: a tree of many thousand folders costs no more than its listing. */
static int enter_dir(scan_ctx *s, const struct stat *st, pt_error *err)
{
    /* inode 0 marks an empty slot; no real folder has it, but be safe with odd file systems */
    dir_id id = {st->st_dev, st->st_ino ? st->st_ino : (ino_t)-1};
    if (2 * (s->n_seen + 1) > s->cap_seen) {
        size_t cap = s->cap_seen ? 2 * s->cap_seen : 256;
        dir_id *grown = calloc(cap, sizeof *grown);
        if (!grown)
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory scanning %s", s->root);
        for (size_t i = 0; i < s->cap_seen; i++)
            if (s->seen[i].ino != 0)
                dir_table_put(grown, cap, &s->seen[i]);
        free(s->seen);
        s->seen = grown;
        s->cap_seen = cap;
    }
    int fresh = dir_table_put(s->seen, s->cap_seen, &id);
    s->n_seen += (size_t)fresh;
    return fresh;
}

typedef enum entry_kind { ENTRY_SKIP, ENTRY_FILE, ENTRY_DIR } entry_kind;

static const char *special_file_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "not a regular file (FIFO)";
    if (S_ISSOCK(mode))
        return "not a regular file (socket)";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "not a regular file (device)";
    return "not a regular file";
}

/* 1 if the link at path resolves to a place inside the source root. */
static int link_stays_inside(const scan_ctx *s, const char *path, char *target, size_t cap)
{
    char *real = realpath(path, NULL);
    if (!real) {
        snprintf(target, cap, "%s", strerror(errno));
        return 0;
    }
    size_t n = strlen(s->real_root);
    int inside = strncmp(real, s->real_root, n) == 0 &&
                 (real[n] == '/' || real[n] == '\0' || (n == 1 && s->real_root[0] == '/'));
    snprintf(target, cap, "%s", real);
    free(real);
    return inside;
}

/* What root/rel is: a file or folder to scan (*st describes it, links followed), or ENTRY_SKIP,
 * listed with its reason: a path too long to open, an entry that vanished or cannot be read, a
 * dangling link, a link out of the source (without --follow-symlinks), a FIFO, socket or device.
 * Returns an error only under --strict or when out of memory. */
static int classify(scan_ctx *s, const char *rel, struct stat *st, entry_kind *kind, pt_error *err)
{
    *kind = ENTRY_SKIP;
    char path[PATH_CAP], reason[PATH_CAP + 128];
    int n = snprintf(path, sizeof path, "%s/%s", s->root, rel);
    if (n < 0 || n >= PATH_CAP)
        return leave_out(s, rel, PT_ERR_INVALID, "path too long (over 4095 bytes)", err);
    if (lstat(path, st) != 0) {
        int e = errno;
        if (e == ENAMETOOLONG)
            return leave_out(s, rel, PT_ERR_INVALID, "path too long", err);
        snprintf(reason, sizeof reason, "cannot read: %s", strerror(e));
        return leave_out(s, rel, PT_ERR_IO, reason, err);
    }
    if (S_ISLNK(st->st_mode)) {
        if (stat(path, st) != 0) {
            int e = errno;
            if (e == ENOENT)
                return leave_out(s, rel, PT_ERR_IO, "dangling symbolic link", err);
            snprintf(reason, sizeof reason, "symbolic link: %s", strerror(e));
            return leave_out(s, rel, PT_ERR_IO, reason, err);
        }
        char target[PATH_CAP];
        if (!s->opts->follow_symlinks && !link_stays_inside(s, path, target, sizeof target)) {
            snprintf(reason, sizeof reason,
                     "symbolic link to %s, outside the source (--follow-symlinks follows it)",
                     target);
            return leave_out(s, rel, PT_ERR_INVALID, reason, err);
        }
    }
    if (S_ISREG(st->st_mode))
        *kind = ENTRY_FILE;
    else if (S_ISDIR(st->st_mode))
        *kind = ENTRY_DIR;
    else
        return leave_out(s, rel, PT_ERR_IO, special_file_kind(st->st_mode), err);
    return PT_OK;
}

/* Enters the folder rel (described by st) once: its sorted entries into *names, *opened = 1. A
 * folder entered before (a link loop, a second link to it) or that cannot be read is listed and
 * not opened. */
static int open_dir(scan_ctx *s, const char *rel, const struct stat *st, name_list *names,
                    int *opened, pt_error *err)
{
    *opened = 0;
    int fresh = enter_dir(s, st, err);
    if (fresh < 0)
        return fresh;
    if (!fresh)
        return leave_out(s, rel, PT_ERR_INVALID,
                         "folder already scanned (a symbolic link loop or a second link to it)",
                         err);
    char path[PATH_CAP];
    int status = join(path, s->root, rel, err);
    if (status != PT_OK)
        return leave_out(s, rel, PT_ERR_INVALID, "path too long", err);
    int why = 0;
    status = list_dir(path, names, &why, err);
    if (status == PT_ERR_IO) {
        char reason[256];
        snprintf(reason, sizeof reason, "cannot read folder: %s", strerror(why));
        return leave_out(s, rel, PT_ERR_IO, reason, err);
    }
    if (status == PT_OK)
        *opened = 1;
    return status;
}

/* Calls visit(rel_path) for every regular, non-hidden file below root/rel (a folder described
 * by st), depth first, each folder's entries sorted bytewise. Iterative (a stack of open folders
 * on the heap), so a deep tree cannot overflow the call stack. */
typedef int (*visit_fn)(void *ctx, const char *rel_path, pt_error *err);

typedef struct walk_frame {
    char *rel;
    name_list names;
    size_t next;
} walk_frame;

static int walk_files(scan_ctx *s, const char *rel, const struct stat *st, visit_fn visit,
                      void *ctx, pt_error *err)
{
    walk_frame *stack = NULL;
    size_t depth = 0, cap = 0;
    int status = PT_OK;
    char *child = strdup(rel);
    struct stat child_st = *st;
    if (!child)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory scanning %s", s->root);
    for (;;) {
        if (child) { /* a folder to enter: push it */
            name_list names;
            int opened = 0;
            status = open_dir(s, child, &child_st, &names, &opened, err);
            if (status == PT_OK && opened && depth == cap) {
                cap = cap ? 2 * cap : 16;
                walk_frame *grown = realloc(stack, cap * sizeof *grown);
                if (!grown) {
                    name_list_free(&names);
                    status = pt_error_set(err, PT_ERR_NOMEM, "out of memory scanning %s", s->root);
                } else {
                    stack = grown;
                }
            }
            if (status != PT_OK || !opened) {
                free(child);
                child = NULL;
                if (status != PT_OK)
                    break;
            } else {
                stack[depth++] = (walk_frame){.rel = child, .names = names, .next = 0};
                child = NULL;
            }
        }
        if (depth == 0)
            break;
        walk_frame *top = &stack[depth - 1];
        if (top->next == top->names.count) {
            free(top->rel);
            name_list_free(&top->names);
            depth--;
            continue;
        }
        char *child_rel = join_alloc(top->rel, top->names.names[top->next++]);
        if (!child_rel) {
            status = pt_error_set(err, PT_ERR_NOMEM, "out of memory scanning %s", s->root);
            break;
        }
        entry_kind kind;
        status = classify(s, child_rel, &child_st, &kind, err);
        if (status == PT_OK && kind == ENTRY_FILE)
            status = visit(ctx, child_rel, err);
        if (status == PT_OK && kind == ENTRY_DIR)
            child = child_rel; /* entered at the top of the loop */
        else
            free(child_rel);
        if (status != PT_OK)
            break;
    }
    free(child);
    while (depth > 0) {
        depth--;
        free(stack[depth].rel);
        name_list_free(&stack[depth].names);
    }
    free(stack);
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

/* ---- Kermany and ImageFolder ------------------------------------------------------------- */

typedef struct folder_ctx {
    scan_ctx *scan;
    pt_filelist *list;
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
            return leave_out(ctx->scan, rel, PT_ERR_FORMAT,
                             "PNEUMONIA file name names neither bacteria nor virus", err);
    }
    return pt_filelist_add(ctx->list, rel, patient, -1, label, 0, ctx->split, err);
}

/* The class this folder name stands for: sets ctx's label state; 0 if it is no class folder. */
static int class_of_folder(folder_ctx *ctx, const char *name)
{
    if (ctx->kermany) {
        ctx->folder_is_normal = strcasecmp(name, "NORMAL") == 0;
        return ctx->folder_is_normal || strcasecmp(name, "PNEUMONIA") == 0;
    }
    ctx->class_index = pt_filelist_find_class(ctx->list, name);
    return ctx->class_index >= 0; /* not: a class the user left out with --classes */
}

/* Walks root/rel/<class folders>, for one split (rel "" is the root itself, entered already). */
static int scan_class_folders(folder_ctx *ctx, const char *rel, pt_error *err)
{
    scan_ctx *s = ctx->scan;
    name_list classes = {0};
    int status = PT_OK;
    if (*rel) {
        struct stat st;
        entry_kind kind;
        int opened = 0;
        status = classify(s, rel, &st, &kind, err);
        if (status == PT_OK && kind == ENTRY_DIR)
            status = open_dir(s, rel, &st, &classes, &opened, err);
        if (status != PT_OK || !opened)
            return status;
    } else {
        status = list_dir(s->root, &classes, NULL, err);
    }
    for (size_t i = 0; status == PT_OK && i < classes.count; i++) {
        if (!class_of_folder(ctx, classes.names[i]))
            continue;
        char *class_rel = join_alloc(rel, classes.names[i]);
        if (!class_rel) {
            status = pt_error_set(err, PT_ERR_NOMEM, "out of memory scanning %s", s->root);
            break;
        }
        struct stat st;
        entry_kind kind;
        status = classify(s, class_rel, &st, &kind, err);
        if (status == PT_OK && kind == ENTRY_DIR)
            status = walk_files(s, class_rel, &st, visit_folder_file, ctx, err);
        free(class_rel);
    }
    name_list_free(&classes);
    return status;
}

/* The split folders directly below root, if it has any. Lists root, which marks it entered. */
static int find_split_folders(scan_ctx *s, name_list *splits, pt_error *err)
{
    struct stat st;
    if (stat(s->root, &st) != 0)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", s->root, strerror(errno));
    int status = enter_dir(s, &st, err);
    if (status < 0)
        return status;
    name_list all;
    status = list_dir(s->root, &all, NULL, err);
    if (status != PT_OK)
        return status;
    splits->names = NULL;
    splits->count = 0;
    size_t kept = 0;
    for (size_t i = 0; i < all.count; i++) {
        char path[PATH_CAP];
        pt_split split;
        if (split_from_folder(all.names[i], &split) &&
            join(path, s->root, all.names[i], NULL) == 0 && pt_fs_is_dir(path)) {
            all.names[kept++] = all.names[i];
        } else {
            free(all.names[i]);
        }
    }
    all.count = kept;
    *splits = all;
    return PT_OK;
}

/* ImageFolder classes: --classes, or the union of folder names below each split (or the root).
 * A folder reached by a link counts as a class even where the scan will not follow the link:
 * its images are then listed as left out, and the empty class is warned about. */
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
        /* an unreadable split folder is listed when the scan gets to it */
        if (list_dir(parent, &names, NULL, err) != PT_OK)
            continue;
        for (size_t i = 0; status == PT_OK && i < names.count; i++) {
            char path[PATH_CAP];
            if (join(path, parent, names.names[i], NULL) == 0 && pt_fs_is_dir(path) &&
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

static int scan_folders(scan_ctx *s, int kermany, pt_error *err)
{
    const pt_scan_opts *opts = s->opts;
    pt_filelist *list = s->list;
    name_list splits = {0};
    int status = find_split_folders(s, &splits, err);
    if (status != PT_OK)
        return status;

    folder_ctx ctx = {.scan = s, .list = list, .kermany = kermany};
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
        status = collect_folder_classes(s->root, &splits, opts->classes, list, err);
    }

    if (status == PT_OK && splits.count == 0) {
        ctx.split = PT_SPLIT_TRAIN;
        status = scan_class_folders(&ctx, "", err);
    }
    for (size_t i = 0; status == PT_OK && i < splits.count; i++) {
        split_from_folder(splits.names[i], &ctx.split);
        if (kermany && ctx.split == PT_SPLIT_VAL && !opts->keep_source_val)
            ctx.split = PT_SPLIT_TRAIN; /* 16 images are no validation set: carve by patient */
        status = scan_class_folders(&ctx, splits.names[i], err);
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

/* A sorted set of names read from a list file (one per line), for train_val_list / test_list.
 * A missing file is an empty set. */
static int read_name_set(const char *path, name_list *set, pt_error *err)
{
    set->names = NULL;
    set->count = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return PT_OK;
    uint8_t *data = NULL;
    size_t size = 0;
    int status = pt_fs_read_file(path, &data, &size, err);
    if (status != PT_OK)
        return status;
    size_t cap = 0;
    for (size_t pos = 0; pos < size && status == PT_OK;) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t len = end - pos;
        while (len > 0 && (data[pos + len - 1] == '\r' || data[pos + len - 1] == ' '))
            len--;
        if (len > 0) {
            if (set->count == cap) {
                cap = cap ? 2 * cap : 1024;
                char **grown = realloc(set->names, cap * sizeof *grown);
                if (!grown) {
                    status = pt_error_set(err, PT_ERR_NOMEM, "out of memory reading %s", path);
                    break;
                }
                set->names = grown;
            }
            if (!(set->names[set->count] = strndup((const char *)data + pos, len))) {
                status = pt_error_set(err, PT_ERR_NOMEM, "out of memory reading %s", path);
                break;
            }
            set->count++;
        }
        pos = end + 1;
    }
    free(data);
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

/* One data row of the CSV: the three columns used, and where it was. */
typedef struct csv_row {
    char *name;
    char *findings;
    char *patient;
    long line;
    int duplicate; /* an earlier row names the same image */
} csv_row;

typedef struct csv_rows {
    csv_row *rows;
    size_t count;
    size_t n_short; /* rows without the needed columns, ignored */
    long first_short;
} csv_rows;

static void csv_rows_free(csv_rows *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->rows[i].name);
        free(r->rows[i].findings);
        free(r->rows[i].patient);
    }
    free(r->rows);
    memset(r, 0, sizeof *r);
}

static int find_column(char **fields, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(fields[i], name) == 0)
            return i;
    return -1;
}

/* Reads the CSV (RFC 4180, see csv.h): the header's columns, then every row's image name,
 * findings and patient. */
static int read_csv_rows(const char *path, csv_rows *out, pt_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t size = 0;
    int status = pt_fs_read_file(path, &data, &size, err);
    if (status != PT_OK)
        return status;
    pt_csv csv;
    pt_csv_init(&csv, (const char *)data, size, path);
    int col_image = -1, col_labels = -1, col_patient = -1;
    int got = pt_csv_next(&csv, err);
    if (got > 0) {
        col_image = find_column(csv.fields, csv.n_fields, "Image Index");
        col_labels = find_column(csv.fields, csv.n_fields, "Finding Labels");
        col_patient = find_column(csv.fields, csv.n_fields, "Patient ID");
    }
    if (got < 0) {
        status = got;
    } else if (col_image < 0 || col_labels < 0 || col_patient < 0) {
        status = pt_error_set(err, PT_ERR_FORMAT,
                              "%s: needs the columns 'Image Index', 'Finding Labels' and "
                              "'Patient ID'",
                              path);
    }
    int needed = col_image > col_labels ? col_image : col_labels;
    needed = (needed > col_patient ? needed : col_patient) + 1;
    size_t cap = 0;
    while (status == PT_OK && (got = pt_csv_next(&csv, err)) > 0) {
        if (csv.n_fields < needed || !*csv.fields[col_image]) {
            if (out->n_short++ == 0)
                out->first_short = csv.record_line;
            continue;
        }
        if (out->count == cap) {
            cap = cap ? 2 * cap : 1024;
            csv_row *grown = realloc(out->rows, cap * sizeof *grown);
            if (!grown) {
                status = pt_error_set(err, PT_ERR_NOMEM, "out of memory reading %s", path);
                break;
            }
            out->rows = grown;
        }
        csv_row *row = &out->rows[out->count];
        *row = (csv_row){.name = strdup(csv.fields[col_image]),
                         .findings = strdup(csv.fields[col_labels]),
                         .patient = strdup(csv.fields[col_patient]),
                         .line = csv.record_line};
        out->count++;
        if (!row->name || !row->findings || !row->patient)
            status = pt_error_set(err, PT_ERR_NOMEM, "out of memory reading %s", path);
    }
    if (status == PT_OK && got < 0)
        status = got;
    pt_csv_free(&csv);
    free(data);
    if (status != PT_OK)
        csv_rows_free(out);
    return status;
}

/* The next '|'-separated finding of *cursor, spaces trimmed, in place; NULL at the end. */
static char *next_finding(char **cursor)
{
    while (*cursor) {
        char *tok = *cursor;
        char *bar = strchr(tok, '|');
        if (bar) {
            *bar = '\0';
            *cursor = bar + 1;
        } else {
            *cursor = NULL;
        }
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = '\0';
        if (*tok)
            return tok;
    }
    return NULL;
}

/* Every finding of the CSV (but "No Finding", and but the rows of images listed before) as a
 * class, sorted. */
static int collect_findings(const csv_rows *rows, pt_filelist *list, pt_error *err)
{
    int status = PT_OK;
    for (size_t i = 0; i < rows->count && status == PT_OK; i++) {
        if (rows->rows[i].duplicate)
            continue;
        char *copy = strdup(rows->rows[i].findings);
        if (!copy)
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
        char *cursor = copy;
        for (char *tok; status == PT_OK && (tok = next_finding(&cursor));)
            if (strcmp(tok, "No Finding") != 0 && pt_filelist_find_class(list, tok) < 0)
                status = pt_filelist_add_class(list, tok, err);
        free(copy);
    }
    if (status == PT_OK && list->n_classes > 1)
        qsort(list->class_names, (size_t)list->n_classes, sizeof *list->class_names, compare_names);
    return status;
}

static int compare_rows_by_name(const void *a, const void *b)
{
    const csv_row *x = *(const csv_row *const *)a, *y = *(const csv_row *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Marks every row whose image an earlier row already names, and warns once with an example. */
static int mark_duplicates(const char *csv_path, csv_rows *rows, pt_filelist *list, pt_error *err)
{
    if (rows->count < 2)
        return PT_OK;
    csv_row **order = malloc(rows->count * sizeof *order);
    if (!order)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < rows->count; i++)
        order[i] = &rows->rows[i];
    qsort(order, rows->count, sizeof *order, compare_rows_by_name);
    size_t n_dup = 0;
    const csv_row *first = NULL, *example = NULL;
    for (size_t i = 1; i < rows->count; i++) {
        if (strcmp(order[i]->name, order[i - 1]->name) != 0)
            continue;
        order[i]->duplicate = 1;
        if (n_dup++ == 0) { /* no duplicate sorts before this one: order[i - 1] is the first */
            example = order[i];
            first = order[i - 1];
        }
    }
    int status = PT_OK;
    if (n_dup > 0)
        status = pt_filelist_warn(list, err,
                                  "%s: %zu row(s) name an image listed more than once (e.g. %s, "
                                  "lines %ld and %ld): each image is imported once, with the "
                                  "findings of its first row",
                                  csv_path, n_dup, example->name, first->line, example->line);
    free(order);
    return status;
}

static int find_csv(const char *src, char *csv_path, char *root, pt_error *err)
{
    if (pt_fs_is_file(src)) {
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
    if (status == PT_OK && !pt_fs_is_file(csv_path))
        status = pt_error_set(err, PT_ERR_INVALID, "%s: no Data_Entry_2017.csv", src);
    return status;
}

/* The CSV's rows, each image found below the root by its base name, in CSV order. */
static int add_csv_rows(scan_ctx *s, const csv_rows *rows, const image_index *ix,
                        const name_list *test_set, pt_error *err)
{
    int status = PT_OK;
    for (size_t i = 0; i < rows->count && status == PT_OK; i++) {
        const csv_row *row = &rows->rows[i];
        if (row->duplicate)
            continue;
        const char *rel = image_index_find(ix, row->name);
        if (!rel) {
            status = leave_out(s, row->name, PT_ERR_IO, "listed in the CSV but not found", err);
            continue;
        }
        uint64_t bits = 0;
        char *copy = strdup(row->findings);
        if (!copy)
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
        char *cursor = copy;
        for (char *tok; (tok = next_finding(&cursor));) {
            int c = pt_filelist_find_class(s->list, tok);
            if (c >= 0)
                bits |= 1ULL << c;
        }
        free(copy);
        pt_split split = name_set_contains(test_set, row->name) ? PT_SPLIT_TEST : PT_SPLIT_TRAIN;
        status = pt_filelist_add(s->list, rel, row->patient, -1, 0, bits, split, err);
    }
    return status;
}

static int scan_ctx_init(scan_ctx *s, const char *root, const pt_scan_opts *opts, pt_filelist *list,
                         pt_error *err)
{
    memset(s, 0, sizeof *s);
    s->root = root;
    s->opts = opts;
    s->list = list;
    s->real_root = realpath(root, NULL);
    if (!s->real_root)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", root, strerror(errno));
    return PT_OK;
}

static void scan_ctx_free(scan_ctx *s)
{
    free(s->real_root);
    free(s->seen);
    memset(s, 0, sizeof *s);
}

static int scan_csv(const char *src, const pt_scan_opts *opts, pt_filelist *list, pt_error *err)
{
    char csv_path[PATH_CAP], root[PATH_CAP], list_path[PATH_CAP];
    int status = find_csv(src, csv_path, root, err);
    if (status == PT_OK)
        status = pt_filelist_set_source(list, root, "csv", err);
    if (status != PT_OK)
        return status;
    scan_ctx s;
    image_index ix = {0};
    name_list test_set = {0};
    csv_rows rows = {0};
    status = scan_ctx_init(&s, root, opts, list, err);
    if (status == PT_OK)
        status = read_csv_rows(csv_path, &rows, err);
    if (status == PT_OK && rows.n_short > 0)
        status = pt_filelist_warn(list, err,
                                  "%s: %zu row(s) without an image name, findings and patient "
                                  "ignored (the first on line %ld)",
                                  csv_path, rows.n_short, rows.first_short);
    if (status == PT_OK)
        status = mark_duplicates(csv_path, &rows, list, err);
    if (status == PT_OK)
        status = opts->classes ? add_class_spec(list, opts->classes, err)
                               : collect_findings(&rows, list, err);
    struct stat st;
    if (status == PT_OK && stat(root, &st) != 0)
        status = pt_error_set(err, PT_ERR_IO, "%s: %s", root, strerror(errno));
    if (status == PT_OK)
        status = walk_files(&s, "", &st, visit_index_image, &ix, err);
    if (status == PT_OK) {
        image_index_sort(&ix);
        status = join(list_path, root, "test_list.txt", err);
    }
    if (status == PT_OK)
        status = read_name_set(list_path, &test_set, err);
    if (status == PT_OK)
        status = add_csv_rows(&s, &rows, &ix, &test_set, err);
    list->multi_label = 1;
    csv_rows_free(&rows);
    image_index_free(&ix);
    name_list_free(&test_set);
    scan_ctx_free(&s);
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
    if (join(path, root, rel, NULL) == 0 && pt_fs_is_file(path))
        return;
    snprintf(rel, PATH_CAP, "%s.gz", stem);
    if (join(path, root, rel, NULL) == 0 && pt_fs_is_file(path))
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

    char path[PATH_CAP], images_path[PATH_CAP];
    pt_idx labels, images;
    int status = join(path, root, labels_rel, err);
    if (status == PT_OK)
        status = join(images_path, root, images_rel, err);
    /* the images' header only: their count, and that the file holds what it announces */
    if (status == PT_OK)
        status = pt_idx_read_header(images_path, &images, err);
    if (status == PT_OK && images.n_dims != 3)
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: not an image IDX file", images_path);
    if (status != PT_OK)
        return status;
    status = pt_idx_read(path, &labels, err);
    if (status != PT_OK)
        return status;
    if (labels.n_dims != 1)
        status = pt_error_set(err, PT_ERR_FORMAT, "%s: not a label file", path);
    /* A record needs an image and its label: the shorter file decides, and says so. */
    int64_t n = labels.dims[0] < images.dims[0] ? labels.dims[0] : images.dims[0];
    if (status == PT_OK && labels.dims[0] != images.dims[0])
        status = pt_filelist_warn(list, err,
                                  "%s: %lld images but %lld labels in %s: only the first %lld "
                                  "imported",
                                  images_path, (long long)images.dims[0], (long long)labels.dims[0],
                                  labels_rel, (long long)n);
    for (int64_t i = 0; status == PT_OK && i < n; i++) {
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
        if (pt_fs_is_dir(normal) || pt_fs_is_dir(pneumonia))
            return 1;
    }
    return 0;
}

static pt_layout detect_layout(const char *src)
{
    if (pt_fs_is_file(src)) {
        const char *dot = strrchr(src, '.');
        return dot && strcasecmp(dot, ".csv") == 0 ? PT_LAYOUT_CSV : PT_LAYOUT_AUTO;
    }
    char path[PATH_CAP];
    if (join(path, src, "Data_Entry_2017.csv", NULL) == 0 && pt_fs_is_file(path))
        return PT_LAYOUT_CSV;
    if (dir_has_idx(src))
        return PT_LAYOUT_IDX;
    if (dir_is_kermany(src))
        return PT_LAYOUT_KERMANY;
    return PT_LAYOUT_IMAGEFOLDER;
}

/* A class no image has (a name in --classes that matches no folder or finding, an empty class
 * folder) trains nothing: say which. */
static int warn_empty_classes(pt_filelist *list, const pt_scan_opts *opts, pt_error *err)
{
    uint64_t seen = 0;
    for (size_t i = 0; i < list->count; i++)
        seen |= list->multi_label ? list->entries[i].labels : 1ULL << list->entries[i].label;
    int status = PT_OK;
    for (int c = 0; c < list->n_classes && status == PT_OK; c++)
        if (!((seen >> c) & 1))
            status = pt_filelist_warn(list, err, "class '%s'%s has no image", list->class_names[c],
                                      opts->classes ? " (named by --classes)" : "");
    return status;
}

int pt_scan_source(const char *src, const pt_scan_opts *opts, pt_filelist *list, pt_error *err)
{
    pt_filelist_init(list);
    struct stat st;
    if (stat(src, &st) != 0)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", src, strerror(errno));
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return pt_error_set(err, PT_ERR_IO, "%s: not a folder or a regular file", src);

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
        if (!dir_is_kermany(root) && join(inner, root, "chest_xray", NULL) == 0 &&
            pt_fs_is_dir(inner))
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
        if (!pt_fs_is_dir(root)) {
            status = pt_error_set(err, PT_ERR_INVALID, "%s: not a directory", root);
            break;
        }
        status = pt_filelist_set_source(list, root, pt_layout_name(layout), err);
        scan_ctx s;
        if (status == PT_OK)
            status = scan_ctx_init(&s, root, opts, list, err);
        if (status == PT_OK) {
            status = scan_folders(&s, layout == PT_LAYOUT_KERMANY, err);
            scan_ctx_free(&s);
        }
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
        status = warn_empty_classes(list, opts, err);
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
