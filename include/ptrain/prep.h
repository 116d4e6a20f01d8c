/* The prep run: `ptrain-prep`, images on disk to one HDF5 cache (format in cache.h).
 *
 * Rank 0 scans the source, carves the splits and broadcasts the file list. The files of each
 * split are then processed in rounds: in every round each rank decodes, resizes and writes up to
 * `round` consecutive files, so the cache keeps the list's order whatever the number of ranks,
 * memory stays bounded, and one collective write per round puts every rank's images in place.
 * A file that cannot be decoded is skipped and listed, never fatal (unless strict). The cache is
 * written as "<out>.partial" and renamed to out only when complete. */
#ifndef PTRAIN_PREP_H
#define PTRAIN_PREP_H

#include <stdint.h>

#include "ptrain/comm.h"
#include "ptrain/common.h"
#include "ptrain/resize.h"
#include "scan.h"

/* The program's name, in its messages and in the cache's generator attribute. */
#define PT_PREP_PROGRAM "ptrain-prep"

/* The largest --size, and the cap on the native size IDX images keep when --size is not given. */
#define PT_PREP_MAX_SIZE 4096

/* Every option of ptrain-prep. */
typedef struct pt_prep_config {
    const char *src; /* folder, CSV or IDX folder */
    const char *out; /* the cache; "<out>.partial" while it is written */
    int size;        /* images are size x size; 0: 128, or the native size of IDX images (at most
                      * PT_PREP_MAX_SIZE) */
    pt_layout layout;
    const char *classes; /* class names in label order, comma-separated; NULL: the source's */
    int keep_source_val; /* Kermany: keep the source's val folder as validation */
    int follow_symlinks; /* follow links out of the source (default: skipped and listed) */
    double val_frac;     /* of training, by patient */
    double test_frac;    /* of training, by patient, only if the source has no test split */
    uint64_t seed;       /* of the patient split */
    pt_fit fit;
    int64_t max_pixels; /* images announcing more pixels are skipped */
    int strict;         /* a file that cannot be decoded is an error, not a skip */
    int full_decode;    /* decode JPEGs at full size even when a reduced DCT decode would do */
    int deflate;        /* 0: off, 1..9: deflate level of the images */
    int round;          /* files per rank per collective write; 0: as many as fit in 64 MiB */
    int quiet;          /* no progress lines */
} pt_prep_config;

/* The defaults of ptrain-prep (src and out are NULL: the caller must set them). */
pt_prep_config pt_prep_config_default(void);

/* Runs the whole prep. Collective: every rank passes the same config. Rank 0 prints progress
 * lines (unless quiet) and the summary on stdout; skipped files are reported on stderr by the
 * rank that decoded them. Returns PT_OK, or the same error on every rank with the message on
 * the rank that knows it; on error no file is left under out or "<out>.partial". */
int pt_prep_run(const pt_prep_config *cfg, const pt_comm *comm, pt_error *err);

#endif
