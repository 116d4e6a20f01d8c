/* The scanned list of source images, and its flat form for broadcasting. */
#include "filelist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const split_names[PT_SPLIT_COUNT] = {"train", "val", "test"};

const char *pt_split_name(pt_split split)
{
    return (unsigned)split < PT_SPLIT_COUNT ? split_names[split] : "?";
}

void pt_filelist_init(pt_filelist *list)
{
    memset(list, 0, sizeof *list);
}

void pt_filelist_free(pt_filelist *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->entries[i].path);
        free(list->entries[i].patient);
    }
    for (int c = 0; c < list->n_classes; c++)
        free(list->class_names[c]);
    for (size_t i = 0; i < list->n_rejected; i++)
        free(list->rejected[i]);
    for (size_t i = 0; i < list->n_warnings; i++)
        free(list->warnings[i]);
    free(list->warnings);
    free(list->entries);
    free(list->class_names);
    free(list->rejected);
    free(list->root);
    free(list->layout);
    pt_filelist_init(list);
}

static int replace_string(char **slot, const char *value, pt_error *err)
{
    char *copy = strdup(value);
    if (!copy)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    free(*slot);
    *slot = copy;
    return PT_OK;
}

int pt_filelist_set_source(pt_filelist *list, const char *root, const char *layout, pt_error *err)
{
    int status = replace_string(&list->root, root, err);
    if (status == PT_OK)
        status = replace_string(&list->layout, layout, err);
    return status;
}

int pt_filelist_add_class(pt_filelist *list, const char *name, pt_error *err)
{
    if (list->n_classes >= PT_MAX_CLASSES)
        return pt_error_set(err, PT_ERR_INVALID, "more than %d classes", PT_MAX_CLASSES);
    char **grown = realloc(list->class_names, (size_t)(list->n_classes + 1) * sizeof *grown);
    if (!grown)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    list->class_names = grown;
    grown[list->n_classes] = strdup(name);
    if (!grown[list->n_classes])
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    list->n_classes++;
    return PT_OK;
}

int pt_filelist_find_class(const pt_filelist *list, const char *name)
{
    for (int c = 0; c < list->n_classes; c++)
        if (strcmp(list->class_names[c], name) == 0)
            return c;
    return -1;
}

int pt_filelist_add(pt_filelist *list, const char *path, const char *patient, int64_t record,
                    int32_t label, uint64_t labels, pt_split split, pt_error *err)
{
    if (list->count == list->capacity) {
        size_t cap = list->capacity ? 2 * list->capacity : 256;
        pt_entry *grown = realloc(list->entries, cap * sizeof *grown);
        if (!grown)
            return pt_error_set(err, PT_ERR_NOMEM, "out of memory listing %zu files", cap);
        list->entries = grown;
        list->capacity = cap;
    }
    pt_entry *e = &list->entries[list->count];
    e->path = strdup(path);
    e->patient = strdup(patient);
    if (!e->path || !e->patient) {
        free(e->path);
        free(e->patient);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    e->record = record;
    e->label = label;
    e->labels = labels;
    e->split = (int)split;
    list->count++;
    return PT_OK;
}

int pt_filelist_reject(pt_filelist *list, const char *path, const char *reason, pt_error *err)
{
    size_t len = strlen(path) + strlen(reason) + 3;
    char *line = malloc(len);
    char **grown = realloc(list->rejected, (list->n_rejected + 1) * sizeof *grown);
    if (!line || !grown) {
        free(line);
        if (grown)
            list->rejected = grown;
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    snprintf(line, len, "%s: %s", path, reason);
    list->rejected = grown;
    list->rejected[list->n_rejected++] = line;
    return PT_OK;
}

int pt_filelist_warn(pt_filelist *list, pt_error *err, const char *fmt, ...)
{
    char line[PT_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char *copy = strdup(line);
    char **grown = realloc(list->warnings, (list->n_warnings + 1) * sizeof *grown);
    if (grown)
        list->warnings = grown;
    if (!copy || !grown) {
        free(copy);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    list->warnings[list->n_warnings++] = copy;
    return PT_OK;
}

static int compare_entries(const void *a, const void *b)
{
    const pt_entry *x = a, *y = b;
    if (x->split != y->split)
        return x->split < y->split ? -1 : 1;
    int c = strcmp(x->path, y->path);
    if (c != 0)
        return c;
    return (x->record > y->record) - (x->record < y->record);
}

void pt_filelist_sort(pt_filelist *list)
{
    if (list->count > 1)
        qsort(list->entries, list->count, sizeof *list->entries, compare_entries);
}

size_t pt_filelist_count_split(const pt_filelist *list, pt_split split)
{
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++)
        n += list->entries[i].split == (int)split;
    return n;
}

/* ---- flat form: little-endian-agnostic (every rank runs the same binary), fields in order ---- */

typedef struct writer {
    uint8_t *buf;
    size_t len;
    size_t cap;
    int failed;
} writer;

static void put(writer *w, const void *src, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *grown = realloc(w->buf, cap);
        if (!grown) {
            w->failed = 1;
            return;
        }
        w->buf = grown;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, src, n);
    w->len += n;
}

static void put_u64(writer *w, uint64_t v)
{
    put(w, &v, sizeof v);
}

static void put_str(writer *w, const char *s)
{
    put(w, s, strlen(s) + 1);
}

int pt_filelist_serialize(const pt_filelist *list, uint8_t **data, size_t *size, pt_error *err)
{
    writer w = {0};
    put_str(&w, list->root ? list->root : "");
    put_str(&w, list->layout ? list->layout : "");
    put_u64(&w, (uint64_t)list->multi_label);
    put_u64(&w, (uint64_t)list->n_classes);
    for (int c = 0; c < list->n_classes; c++)
        put_str(&w, list->class_names[c]);
    put_u64(&w, (uint64_t)list->count);
    for (size_t i = 0; i < list->count; i++) {
        const pt_entry *e = &list->entries[i];
        put_str(&w, e->path);
        put_str(&w, e->patient);
        put_u64(&w, (uint64_t)e->record);
        put_u64(&w, (uint64_t)(int64_t)e->label);
        put_u64(&w, e->labels);
        put_u64(&w, (uint64_t)e->split);
    }
    if (w.failed) {
        free(w.buf);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory serialising the file list");
    }
    *data = w.buf;
    *size = w.len;
    return PT_OK;
}

typedef struct reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int failed;
} reader;

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    if (r->failed || r->len - r->pos < sizeof v) {
        r->failed = 1;
        return 0;
    }
    memcpy(&v, r->buf + r->pos, sizeof v);
    r->pos += sizeof v;
    return v;
}

static const char *get_str(reader *r)
{
    if (r->failed)
        return "";
    const uint8_t *end = memchr(r->buf + r->pos, '\0', r->len - r->pos);
    if (!end) {
        r->failed = 1;
        return "";
    }
    const char *s = (const char *)(r->buf + r->pos);
    r->pos = (size_t)(end - r->buf) + 1;
    return s;
}

int pt_filelist_deserialize(const uint8_t *data, size_t size, pt_filelist *list, pt_error *err)
{
    reader r = {data, size, 0, 0};
    pt_filelist_init(list);
    const char *root = get_str(&r);
    const char *layout = get_str(&r);
    int status = pt_filelist_set_source(list, root, layout, err);
    list->multi_label = (int)get_u64(&r);
    uint64_t n_classes = get_u64(&r);
    for (uint64_t c = 0; status == PT_OK && !r.failed && c < n_classes; c++)
        status = pt_filelist_add_class(list, get_str(&r), err);
    uint64_t count = get_u64(&r);
    for (uint64_t i = 0; status == PT_OK && !r.failed && i < count; i++) {
        const char *path = get_str(&r);
        const char *patient = get_str(&r);
        int64_t record = (int64_t)get_u64(&r);
        int32_t label = (int32_t)(int64_t)get_u64(&r);
        uint64_t labels = get_u64(&r);
        int split = (int)get_u64(&r);
        if (!r.failed)
            status = pt_filelist_add(list, path, patient, record, label, labels, split, err);
    }
    if (status == PT_OK && r.failed)
        status = pt_error_set(err, PT_ERR_FORMAT, "truncated file list message");
    if (status != PT_OK)
        pt_filelist_free(list);
    return status;
}
