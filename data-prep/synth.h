/* ptrain-synth: a synthetic chest X-ray data set in the real Kermany layout and naming.
 *
 *   OUT/{train,val,test}/{NORMAL,PNEUMONIA}/
 *     IM-0115-0001.jpeg  NORMAL2-IM-0927-0001.jpeg     normal (patients IM-0115, NORMAL2-IM-0927)
 *     person1_bacteria_1.jpeg  person7_virus_12.png     pneumonia (patients person1, person7)
 *
 * Three steps, one function each:
 *   pt_synth_plan_make  decides, for every image index, its patient, kind, split, size, format
 *                       and file name (deterministic in the seed; no pixels, no files);
 *   pt_synth_draw       draws one procedural film into a caller's buffer;
 *   pt_synth_write      plans, draws and encodes the whole set under opts->out_dir.
 *
 * Every random choice comes from the counter-based RNG (ptrain/rng.h) keyed by the seed and the
 * patient or image index, so the same seed gives the same bytes in any order, on any machine.
 *
 * Brightness is not a label: every finished film is remapped (a gamma curve through a lookup
 * table, black and white stay fixed) so that its mean gray level equals a target drawn per image
 * from a class-independent distribution. Normal and pneumonia films therefore have the same
 * distribution of mean brightness, and a model must find the opacities to tell them apart. */
#ifndef PTRAIN_SYNTH_H
#define PTRAIN_SYNTH_H

#include <stdint.h>

#include "filelist.h"
#include "ptrain/common.h"

typedef enum pt_synth_kind {
    PT_SYNTH_NORMAL,   /* folder NORMAL, IM-xxxx-yyyy / NORMAL2-IM-xxxx-yyyy */
    PT_SYNTH_BACTERIA, /* folder PNEUMONIA, personN_bacteria_M: lobar consolidation */
    PT_SYNTH_VIRUS,    /* folder PNEUMONIA, personN_virus_M: diffuse bilateral interstitial */
    PT_SYNTH_KIND_COUNT
} pt_synth_kind;

typedef enum pt_synth_format { PT_SYNTH_JPEG, PT_SYNTH_PNG } pt_synth_format;

/* "normal", "bacteria", "virus"; NULL out of range. */
const char *pt_synth_kind_name(pt_synth_kind kind);

/* The Kermany class folder: "NORMAL" or "PNEUMONIA"; NULL out of range. */
const char *pt_synth_kind_folder(pt_synth_kind kind);

/* Smallest and largest side ptrain-synth draws (the largest stays under the decoders' default
 * pixel limit, PT_DEFAULT_MAX_PIXELS). */
#define PT_SYNTH_MIN_SIDE 32
#define PT_SYNTH_MAX_SIDE 7000
/* Largest --count. */
#define PT_SYNTH_MAX_COUNT 10000000

typedef struct pt_synth_opts {
    const char *out_dir; /* created with its parents; existing files are overwritten */
    int64_t count;       /* images in total (default 600) */
    uint64_t seed;       /* default 1 */
    int min_size;        /* each side of each image in [min_size, max_size] (256, 512) */
    int max_size;
    double png_frac;   /* fraction of images written as PNG (0.1) */
    double rgb_frac;   /* fraction written as 3-channel RGB, slightly tinted (0.05) */
    int quality;       /* JPEG quality 1..100 (90) */
    double test_frac;  /* fraction of images in the test split, by patient (0.1) */
    int64_t val_count; /* images in the val split, by patient; -1: default (see below) */
} pt_synth_opts;

/* The defaults above, out_dir NULL. */
void pt_synth_opts_default(pt_synth_opts *opts);

/* PT_ERR_INVALID with a message naming the option ("--min-size 10: below 32") if an option is
 * out of range. out_dir is not checked here (pt_synth_write needs it, planning does not). */
int pt_synth_opts_check(const pt_synth_opts *opts, pt_error *err);

/* The val split's size in images when opts->val_count is -1: about 1% of the set, at least 8
 * (at least 4 for sets under 80 images), at most half of it. Otherwise opts->val_count. */
int64_t pt_synth_val_count(const pt_synth_opts *opts);

#define PT_SYNTH_NAME_MAX 64

/* One image of the plan. */
typedef struct pt_synth_item {
    int64_t index;   /* image index: the RNG key of its pixels; equals its position in the plan */
    int64_t patient; /* patient ordinal (0, 1, ...): the RNG key of the patient's anatomy */
    pt_synth_kind kind;
    pt_split split;
    int width;
    int height;
    int channels; /* 1 gray, 3 RGB */
    pt_synth_format format;
    char patient_id[PT_SYNTH_NAME_MAX]; /* "IM-0115", "NORMAL2-IM-0927", "person1" */
    char name[PT_SYNTH_NAME_MAX];       /* "IM-0115-0001.jpeg", "person1_virus_6.png" */
} pt_synth_item;

typedef struct pt_synth_plan {
    pt_synth_item *items; /* count items, grouped by patient */
    int64_t count;
    int64_t n_patients;
} pt_synth_plan;

/* Plans opts->count images: patients with 1 to 4 images each, about 1:3 normal:pneumonia and
 * 2:1 bacterial:viral among pneumonia, split by patient (every image of a patient in one split)
 * into test (about opts->test_frac), val (pt_synth_val_count images, half normal, at least 2 per
 * class when the set allows) and train (the rest, never empty for a class that has 2 or more
 * images). Sizes, formats and names as described above. On success the caller frees the plan
 * with pt_synth_plan_free. */
int pt_synth_plan_make(const pt_synth_opts *opts, pt_synth_plan *plan, pt_error *err);

/* Frees the items and zeroes the plan; safe on a zeroed or freed plan. */
void pt_synth_plan_free(pt_synth_plan *plan);

/* Draws one 8-bit gray film, width x height bytes row-major, into pixels. The anatomy (body
 * habitus, lung and heart shape, ribs) depends on (seed, patient) only; positioning, exposure,
 * noise, target mean brightness and the opacities on (seed, index). Drawing the same (seed,
 * patient, index) as another kind changes only the lung opacities (and, through the mean
 * brightness remapping, the gray levels): the anatomy and the noise are the same.
 * Returns PT_ERR_INVALID for sizes outside [PT_SYNTH_MIN_SIDE, PT_SYNTH_MAX_SIDE] or a bad kind,
 * PT_ERR_NOMEM if its small work buffer cannot be allocated. */
int pt_synth_draw(uint64_t seed, uint64_t patient, uint64_t index, pt_synth_kind kind, int width,
                  int height, uint8_t *pixels, pt_error *err);

/* Where pt_synth_draw puts a bacterial film's one opacity: 0 in the lung on the image's left half
 * (the patient's right), 1 on its right half; -1 for the other kinds, whose opacities (none, or
 * both lungs) have no side. For tests of heat maps: the ground truth of where the evidence is. */
int pt_synth_opacity_side(uint64_t seed, uint64_t patient, uint64_t index, pt_synth_kind kind);

/* What pt_synth_write wrote. */
typedef struct pt_synth_summary {
    int64_t images;
    int64_t per_split[PT_SPLIT_COUNT];
    int64_t per_kind[PT_SYNTH_KIND_COUNT];
    int64_t png;
    int64_t rgb;
    int64_t patients;
    int64_t bytes; /* total size of the files written */
} pt_synth_summary;

/* Plans the set, creates out_dir/{train,val,test}/{NORMAL,PNEUMONIA} (like mkdir -p) and writes
 * every image (JPEG at opts->quality, or PNG). summary may be NULL. On failure err names the
 * file or directory and the reason; files already written stay. */
int pt_synth_write(const pt_synth_opts *opts, pt_synth_summary *summary, pt_error *err);

#endif
