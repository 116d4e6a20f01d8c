/* Scanning an image source into a file list: which layout it is, which files, which labels,
 * which patients, which splits the source itself defines. Runs on rank 0 only. */
#ifndef PTRAIN_SCAN_H
#define PTRAIN_SCAN_H

#include "filelist.h"
#include "ptrain/common.h"

typedef enum pt_layout {
    PT_LAYOUT_AUTO,
    PT_LAYOUT_KERMANY,     /* chest_xray/{train,val,test}/{NORMAL,PNEUMONIA}/ */
    PT_LAYOUT_IMAGEFOLDER, /* root/[split/]CLASS/ images */
    PT_LAYOUT_CSV,         /* NIH ChestX-ray14: Data_Entry_2017.csv and images below the root */
    PT_LAYOUT_IDX,         /* MNIST / Fashion-MNIST IDX files */
    PT_LAYOUT_COUNT
} pt_layout;

const char *pt_layout_name(pt_layout layout);
int pt_layout_parse(const char *name, pt_layout *layout);

typedef struct pt_scan_opts {
    pt_layout layout;
    /* Comma-separated class names in the order wanted, or NULL for the source's own classes.
     * Kermany: "normal,pneumonia" (default) or "normal,bacteria,virus" (subtype from the name). */
    const char *classes;
    /* Kermany: keep the source's val folder as the validation split instead of merging it into
     * training (the real one holds only 16 images). */
    int keep_source_val;
    /* Follow symbolic links that lead out of the source root (default: such links are skipped
     * and listed). Links inside the root are followed either way; every folder is entered once
     * (by device and inode), so a link loop is skipped and listed, never walked. */
    int follow_symlinks;
    /* A file or folder the scan has to leave out (unreadable, path too long, FIFO, dangling
     * link, ...) is an error instead of an entry of list->rejected. */
    int strict;
} pt_scan_opts;

/* Fills list (initialised by the call) with every candidate file of src. Returns PT_ERR_EMPTY
 * when the source holds no candidate, PT_ERR_INVALID when its layout cannot be told. Files that
 * can be rejected from their names alone (a Kermany PNEUMONIA file whose name names neither
 * bacteria nor virus, in three-class mode) go to list->rejected. */
int pt_scan_source(const char *src, const pt_scan_opts *opts, pt_filelist *list, pt_error *err);

/* 1 if the split names a source split present in the scanned list. */
int pt_scan_has_split(const pt_filelist *list, pt_split split);

#endif
