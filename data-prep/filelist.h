/* The list of source images a prep run works through, as rank 0 scans it and every rank
 * receives it: one entry per file (or per record of an IDX file), with its label, patient and
 * split, plus the class names and the files already rejected while scanning. */
#ifndef PTRAIN_FILELIST_H
#define PTRAIN_FILELIST_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"

typedef enum pt_split { PT_SPLIT_TRAIN, PT_SPLIT_VAL, PT_SPLIT_TEST, PT_SPLIT_COUNT } pt_split;

/* "train", "val", "test". */
const char *pt_split_name(pt_split split);

/* Multi-label sources keep one bit per class. */
#define PT_MAX_CLASSES 64

typedef struct pt_entry {
    char *path;      /* relative to the source root (for IDX: the image file's name) */
    char *patient;   /* patient id: no patient may appear in two splits */
    int64_t record;  /* record index inside an IDX file; -1 for an image file */
    int32_t label;   /* class index, single-label sources */
    uint64_t labels; /* bit c set if class c is present, multi-label sources */
    int split;       /* pt_split */
} pt_entry;

typedef struct pt_filelist {
    char *root;      /* the source root the entry paths are relative to */
    char *layout;    /* "kermany", "imagefolder", "csv", "idx" */
    int multi_label; /* 1 if labels are bit sets (NIH ChestX-ray14 findings) */
    int n_classes;
    char **class_names; /* n_classes names */
    pt_entry *entries;
    size_t count;
    size_t capacity;
    char **rejected; /* "path: reason" for files rejected while scanning (rank 0 only) */
    size_t n_rejected;
    char **warnings; /* what the scan found odd but not fatal, one line each (rank 0 only) */
    size_t n_warnings;
} pt_filelist;

void pt_filelist_init(pt_filelist *list);
void pt_filelist_free(pt_filelist *list);

int pt_filelist_set_source(pt_filelist *list, const char *root, const char *layout, pt_error *err);
int pt_filelist_add_class(pt_filelist *list, const char *name, pt_error *err);
/* Index of a class by name, or -1. */
int pt_filelist_find_class(const pt_filelist *list, const char *name);

int pt_filelist_add(pt_filelist *list, const char *path, const char *patient, int64_t record,
                    int32_t label, uint64_t labels, pt_split split, pt_error *err);

/* Records a file left out while scanning, with its reason. */
int pt_filelist_reject(pt_filelist *list, const char *path, const char *reason, pt_error *err);

/* Records a warning (printed by ptrain-prep on rank 0), printf-style. */
int pt_filelist_warn(pt_filelist *list, pt_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sorts entries by split, then path, then record: the order of the cache, whatever the scan
 * order of the file system was. */
void pt_filelist_sort(pt_filelist *list);

size_t pt_filelist_count_split(const pt_filelist *list, pt_split split);

/* Flattens everything but the rejected list into one buffer for MPI_Bcast, and back. */
int pt_filelist_serialize(const pt_filelist *list, uint8_t **data, size_t *size, pt_error *err);
int pt_filelist_deserialize(const uint8_t *data, size_t size, pt_filelist *list, pt_error *err);

#endif
