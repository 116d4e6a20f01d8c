/* Synthetic chest X-ray films and the Kermany-shaped data set around them (see synth.h).
 *
 * Drawing works in "patient coordinates" (p, q): p across (0 = midline, negative = the image's
 * left = the patient's right on a PA film), q down, both in units of the film height at scale 1,
 * q from about -0.5 (neck) to 0.5 (upper abdomen). A film is
 *   1. a density map D(p, q) (soft tissue, air in the lungs, bone, heart, opacities) evaluated on a
 *      coarse grid of at most SYNTH_GRID samples per side: everything in it is smooth at that
 *      scale, and the grid keeps the cost of a film almost independent of its pixel count;
 *   2. film response: brightness proportional to 1 - exp(-k D), k the film's exposure, still
 *      coarse;
 *   3. bilinear upsampling to full size plus film grain, quantised to 8 bits (one pass, which also
 *      counts the histogram);
 *   4. a gamma lookup table chosen from that histogram so that the film's mean gray level equals a
 *      target drawn from a class-independent distribution (the brightness is no label).
 * No transcendental function runs per full-size pixel. */
#define _POSIX_C_SOURCE 200809L
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ptrain/fs.h"
#include "ptrain/jpeg_io.h"
#include "ptrain/png_io.h"
#include "ptrain/rng.h"

/* ---- names ------------------------------------------------------------------------------------
 */

static const char *const kind_names[] = {"normal", "bacteria", "virus"};
static const char *const kind_folders[] = {"NORMAL", "PNEUMONIA", "PNEUMONIA"};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == PT_SYNTH_KIND_COUNT,
               "one name per pt_synth_kind");
_Static_assert(sizeof kind_folders / sizeof kind_folders[0] == PT_SYNTH_KIND_COUNT,
               "one folder per pt_synth_kind");

const char *pt_synth_kind_name(pt_synth_kind kind)
{
    return (unsigned)kind < PT_SYNTH_KIND_COUNT ? kind_names[kind] : NULL;
}

const char *pt_synth_kind_folder(pt_synth_kind kind)
{
    return (unsigned)kind < PT_SYNTH_KIND_COUNT ? kind_folders[kind] : NULL;
}

/* ---- random streams ---------------------------------------------------------------------------
 */

/* What a stream is for; combined with a key (0, a patient or an image index) into the stream id,
 * so that e.g. the anatomy of patient 3 never shares numbers with the noise of image 3. */
enum {
    STREAM_PLAN = 1, /* key 0: patients, kinds, names, splits */
    STREAM_LAYOUT,   /* key image: size, format, channels */
    STREAM_ANATOMY,  /* key patient: body, lungs, heart, ribs */
    STREAM_FILM,     /* key image: positioning, exposure, target brightness */
    STREAM_OPACITY,  /* key image: where and how strong the pneumonia is */
    STREAM_GRAIN,    /* key image: per-pixel film grain */
    STREAM_TINT,     /* key image: the colour cast of an RGB file */
    STREAM_LATTICE   /* key image or patient, sub = layer: value-noise lattices */
};

static void stream_init(pt_rng *rng, uint64_t seed, uint64_t key, uint64_t purpose, uint64_t sub)
{
    pt_rng_init(rng, seed, pt_rng_hash3(key, purpose, sub));
}

static float rngf(pt_rng *rng, double lo, double hi)
{
    return (float)pt_rng_range(rng, lo, hi);
}

/* ---- options ----------------------------------------------------------------------------------
 */

void pt_synth_opts_default(pt_synth_opts *opts)
{
    opts->out_dir = NULL;
    opts->count = 600;
    opts->seed = 1;
    opts->min_size = 256;
    opts->max_size = 512;
    opts->png_frac = 0.1;
    opts->rgb_frac = 0.05;
    opts->quality = 90;
    opts->test_frac = 0.1;
    opts->val_count = -1;
}

int pt_synth_opts_check(const pt_synth_opts *opts, pt_error *err)
{
    if (opts->count < 1 || opts->count > PT_SYNTH_MAX_COUNT)
        return pt_error_set(err, PT_ERR_INVALID, "--count %lld: must be in [1, %d]",
                            (long long)opts->count, PT_SYNTH_MAX_COUNT);
    if (opts->min_size < PT_SYNTH_MIN_SIDE || opts->min_size > PT_SYNTH_MAX_SIDE)
        return pt_error_set(err, PT_ERR_INVALID, "--min-size %d: must be in [%d, %d]",
                            opts->min_size, PT_SYNTH_MIN_SIDE, PT_SYNTH_MAX_SIDE);
    if (opts->max_size < PT_SYNTH_MIN_SIDE || opts->max_size > PT_SYNTH_MAX_SIDE)
        return pt_error_set(err, PT_ERR_INVALID, "--max-size %d: must be in [%d, %d]",
                            opts->max_size, PT_SYNTH_MIN_SIDE, PT_SYNTH_MAX_SIDE);
    if (opts->min_size > opts->max_size)
        return pt_error_set(err, PT_ERR_INVALID, "--min-size %d is larger than --max-size %d",
                            opts->min_size, opts->max_size);
    if (!(opts->png_frac >= 0.0 && opts->png_frac <= 1.0))
        return pt_error_set(err, PT_ERR_INVALID, "--png-frac %g: must be in [0, 1]",
                            opts->png_frac);
    if (!(opts->rgb_frac >= 0.0 && opts->rgb_frac <= 1.0))
        return pt_error_set(err, PT_ERR_INVALID, "--rgb-frac %g: must be in [0, 1]",
                            opts->rgb_frac);
    if (opts->quality < 1 || opts->quality > 100)
        return pt_error_set(err, PT_ERR_INVALID, "--quality %d: must be in [1, 100]",
                            opts->quality);
    if (!(opts->test_frac >= 0.0 && opts->test_frac <= 0.9))
        return pt_error_set(err, PT_ERR_INVALID, "--test-frac %g: must be in [0, 0.9]",
                            opts->test_frac);
    if (opts->val_count < -1 || opts->val_count > opts->count / 2)
        return pt_error_set(err, PT_ERR_INVALID,
                            "--val-count %lld: must be in [0, %lld] (half of --count)",
                            (long long)opts->val_count, (long long)(opts->count / 2));
    return PT_OK;
}

int64_t pt_synth_val_count(const pt_synth_opts *opts)
{
    if (opts->val_count >= 0)
        return opts->val_count;
    int64_t n = opts->count;
    int64_t v = (n + 50) / 100; /* about 1% */
    if (v < 8)
        v = n >= 80 ? 8 : (n / 10 > 4 ? n / 10 : 4); /* a tiny split, 2 per class if possible */
    if (v > n / 2)
        v = n / 2;
    return v;
}

/* ---- the plan ---------------------------------------------------------------------------------
 */

/* Images per patient: 1..4 with these probabilities (cumulative). */
static const double images_per_patient_cdf[4] = {0.45, 0.75, 0.90, 1.0};
/* Target fractions of images per kind: 1:3 normal:pneumonia, 2:1 bacterial:viral. */
static const double kind_frac[PT_SYNTH_KIND_COUNT] = {0.25, 0.50, 0.25};

typedef struct patient {
    pt_synth_kind kind;
    int64_t first; /* index of its first image */
    int n;         /* its images */
    pt_split split;
} pat_rec;

/* Picks each patient's image count and kind so that the kind fractions track kind_frac closely at
 * every prefix of the set (random, but a kind that falls more than 1 image behind is taken). */
static int64_t plan_patients(int64_t count, pt_rng *rng, pat_rec *pats)
{
    int64_t total = 0, have[PT_SYNTH_KIND_COUNT] = {0}, np = 0;
    while (total < count) {
        double u = pt_rng_uniform(rng);
        int n = 1;
        while (n < 4 && u >= images_per_patient_cdf[n - 1])
            n++;
        if (n > count - total)
            n = (int)(count - total);
        double v = pt_rng_uniform(rng), acc = 0.0;
        int kind = PT_SYNTH_KIND_COUNT - 1;
        for (int k = 0; k < PT_SYNTH_KIND_COUNT; k++) {
            acc += kind_frac[k];
            if (v < acc) {
                kind = k;
                break;
            }
        }
        int worst = 0;
        double worst_deficit = -1e300;
        for (int k = 0; k < PT_SYNTH_KIND_COUNT; k++) {
            double deficit = kind_frac[k] * (double)(total + n) - (double)have[k];
            if (deficit > worst_deficit) {
                worst_deficit = deficit;
                worst = k;
            }
        }
        if (worst_deficit > 1.0)
            kind = worst;
        pats[np].kind = (pt_synth_kind)kind;
        pats[np].first = total;
        pats[np].n = n;
        pats[np].split = PT_SPLIT_TRAIN;
        have[kind] += n;
        total += n;
        np++;
    }
    return np;
}

/* Fisher-Yates over the patient ordinals in order[0..n). */
static void shuffle(int64_t *order, int64_t n, pt_rng *rng)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)pt_rng_below(rng, (uint64_t)(i + 1));
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Moves patients that match `mask` (bit per kind) and are still in train into `split`, in a
 * seeded random order, taking a patient only if its images fit in what is left of `quota`. */
static void fill_split(pat_rec *pats, int64_t np, unsigned mask, pt_split split, int64_t quota,
                       int64_t *order, pt_rng *rng)
{
    int64_t n = 0;
    for (int64_t i = 0; i < np; i++)
        if ((mask >> pats[i].kind & 1u) && pats[i].split == PT_SPLIT_TRAIN)
            order[n++] = i;
    shuffle(order, n, rng);
    for (int64_t i = 0; i < n && quota > 0; i++) {
        pat_rec *pt = &pats[order[i]];
        if (pt->n <= quota) {
            pt->split = split;
            quota -= pt->n;
        }
    }
}

static int64_t images_in(const pat_rec *pats, int64_t np, unsigned mask, pt_split split)
{
    int64_t n = 0;
    for (int64_t i = 0; i < np; i++)
        if ((mask >> pats[i].kind & 1u) && pats[i].split == split)
            n += pats[i].n;
    return n;
}

/* Val: half normal, half pneumonia (like the real set), never the last train image of a class.
 * Test: test_frac of every kind, never the last train image of a kind. */
static void plan_splits(const pt_synth_opts *opts, pat_rec *pats, int64_t np, int64_t *order,
                        pt_rng *rng)
{
    const unsigned normal = 1u << PT_SYNTH_NORMAL;
    const unsigned pneumonia = (1u << PT_SYNTH_BACTERIA) | (1u << PT_SYNTH_VIRUS);
    int64_t val = pt_synth_val_count(opts);
    int64_t val_quota[2] = {val / 2, val - val / 2};
    unsigned val_mask[2] = {normal, pneumonia};
    for (int c = 0; c < 2; c++) {
        int64_t have = images_in(pats, np, val_mask[c], PT_SPLIT_TRAIN);
        int64_t quota = val_quota[c] < have - 1 ? val_quota[c] : have - 1;
        fill_split(pats, np, val_mask[c], PT_SPLIT_VAL, quota, order, rng);
    }
    for (int k = 0; k < PT_SYNTH_KIND_COUNT; k++) {
        int64_t all = images_in(pats, np, 1u << k, PT_SPLIT_TRAIN) +
                      images_in(pats, np, 1u << k, PT_SPLIT_VAL);
        int64_t left = images_in(pats, np, 1u << k, PT_SPLIT_TRAIN);
        int64_t quota = llround(opts->test_frac * (double)all);
        if (quota > left - 1)
            quota = left - 1;
        fill_split(pats, np, 1u << k, PT_SPLIT_TEST, quota, order, rng);
    }
}

/* Size, format and channels of one image, from its own stream. */
static void plan_layout(const pt_synth_opts *opts, pt_synth_item *it)
{
    pt_rng rng;
    stream_init(&rng, opts->seed, (uint64_t)it->index, STREAM_LAYOUT, 0);
    double side = pt_rng_range(&rng, opts->min_size, opts->max_size + 1.0);
    double aspect = pt_rng_range(&rng, 0.85, 1.3); /* width / height: films are mostly wider */
    double ra = sqrt(aspect);
    long w = lround(side * ra), h = lround(side / ra);
    w = w < opts->min_size ? opts->min_size : w > opts->max_size ? opts->max_size : w;
    h = h < opts->min_size ? opts->min_size : h > opts->max_size ? opts->max_size : h;
    it->width = (int)w;
    it->height = (int)h;
    it->format = pt_rng_uniform(&rng) < opts->png_frac ? PT_SYNTH_PNG : PT_SYNTH_JPEG;
    it->channels = pt_rng_uniform(&rng) < opts->rgb_frac ? 3 : 1;
}

/* Kermany-style patient ids and file names. Numbers grow with small random gaps, like the real
 * ones; the trailing number of a pneumonia file is unique in the whole set. */
static int plan_names(pt_synth_plan *plan, const pat_rec *pats, int64_t np, pt_rng *rng,
                      pt_error *err)
{
    int64_t im_next = 1, normal2_next = 1, person_next = 1, image_next = 1;
    for (int64_t i = 0; i < np; i++) {
        const pat_rec *pt = &pats[i];
        int normal2 = 0;
        int64_t number;
        if (pt->kind == PT_SYNTH_NORMAL) {
            normal2 = pt_rng_uniform(rng) < 0.5;
            int64_t *next = normal2 ? &normal2_next : &im_next;
            number = *next;
            *next += 1 + (int64_t)pt_rng_below(rng, 3);
        } else {
            number = person_next;
            person_next += 1 + (int64_t)pt_rng_below(rng, 2);
        }
        for (int j = 0; j < pt->n; j++) {
            pt_synth_item *it = &plan->items[pt->first + j];
            const char *ext = it->format == PT_SYNTH_PNG ? "png" : "jpeg";
            it->patient = i;
            it->kind = pt->kind;
            it->split = pt->split;
            int n1, n2;
            if (pt->kind == PT_SYNTH_NORMAL) {
                n1 = snprintf(it->patient_id, sizeof it->patient_id, "%sIM-%04lld",
                              normal2 ? "NORMAL2-" : "", (long long)number);
                n2 = snprintf(it->name, sizeof it->name, "%s-%04d.%s", it->patient_id, j + 1, ext);
            } else {
                n1 = snprintf(it->patient_id, sizeof it->patient_id, "person%lld",
                              (long long)number);
                n2 = snprintf(it->name, sizeof it->name, "%s_%s_%lld.%s", it->patient_id,
                              kind_names[pt->kind], (long long)image_next, ext);
                image_next += 1 + (int64_t)pt_rng_below(rng, 2);
            }
            if (n1 < 0 || (size_t)n1 >= sizeof it->patient_id || n2 < 0 ||
                (size_t)n2 >= sizeof it->name)
                return pt_error_set(err, PT_ERR_INVALID, "file name too long for image %lld",
                                    (long long)it->index);
        }
    }
    return PT_OK;
}

int pt_synth_plan_make(const pt_synth_opts *opts, pt_synth_plan *plan, pt_error *err)
{
    memset(plan, 0, sizeof *plan);
    int status = pt_synth_opts_check(opts, err);
    if (status != PT_OK)
        return status;

    int64_t n = opts->count;
    pat_rec *pats = malloc((size_t)n * sizeof *pats);
    int64_t *order = malloc((size_t)n * sizeof *order);
    pt_synth_item *items = calloc((size_t)n, sizeof *items);
    if (!pats || !order || !items) {
        status =
            pt_error_set(err, PT_ERR_NOMEM, "out of memory planning %lld images", (long long)n);
        goto done;
    }

    pt_rng rng;
    stream_init(&rng, opts->seed, 0, STREAM_PLAN, 0);
    int64_t np = plan_patients(n, &rng, pats);
    plan_splits(opts, pats, np, order, &rng);
    plan->items = items;
    plan->count = n;
    plan->n_patients = np;
    for (int64_t i = 0; i < n; i++) {
        items[i].index = i;
        plan_layout(opts, &items[i]);
    }
    status = plan_names(plan, pats, np, &rng, err);
    if (status != PT_OK) {
        memset(plan, 0, sizeof *plan); /* items are freed below */
        goto done;
    }
    items = NULL;
done:
    free(items);
    free(order);
    free(pats);
    return status;
}

void pt_synth_plan_free(pt_synth_plan *plan)
{
    if (!plan)
        return;
    free(plan->items);
    memset(plan, 0, sizeof *plan);
}

/* ---- drawing: parameters ----------------------------------------------------------------------
 */

/* Coarse grid: at most this many density samples along a film's longer side. */
#define SYNTH_GRID 256
/* Value-noise lattices are LAT x LAT and wrap around. */
#define LAT 64
enum {
    LAYER_MARKINGS,
    LAYER_MOTTLE,
    LAYER_OP_SHAPE,
    LAYER_OP_TEXTURE,
    LAYER_OP_LINES,
    LAYER_OP_DOTS,
    LAYER_COUNT
};

/* Side 0 is the lung on the image's left (the patient's right), side 1 the other. */
typedef struct anatomy {
    float apex_q, apex_x, apex_k;    /* lung apex: height, where across it peaks, roundness */
    float dome_q[2], dome_k, dome_x; /* diaphragm: dome top, curvature, where across it peaks */
    float lat_top, lat_bot[2];       /* lateral lung border at the apex and at the base */
    float med[2];                    /* medial lung border (mediastinum half width) */
    float air;                       /* density the air in the lungs takes away */
    float heart_p, heart_q, heart_rx, heart_ry, heart_tilt;
    float knob_q;                      /* aortic knob */
    float body_w, shoulder_q, abdomen; /* body half width at the chest, shoulders, belly density */
    float spine_w, spine_amp, vert_period, vert_phase;
    float rib_q0, rib_sp, rib_curve, rib_rise, rib_amp;
    float arib_q0, arib_sp;
    float clav_q, clav_amp;
    float hilum_q, marking_amp;
    float carina_q;
} anatomy;

typedef struct film {
    float dx, dy, cos_r, sin_r, scale; /* positioning: pixel -> patient coordinates */
    float inspiration;                 /* shifts both domes */
    float k, fog;                      /* film response */
    float mottle, grain;               /* low-frequency mottle (density), grain (gray levels) */
    float target_mean;                 /* mean gray level of the finished film */
} film;

typedef struct opacity {
    pt_synth_kind kind;
    /* bacteria: one irregular, sharply bounded, textured blob in one lobe of one lung */
    int side;
    float pc, qc, rx, ry, amp, warp;
    int fissure;      /* 0 none, 1 bounded below (upper lobe), 2 bounded above */
    float fq, fslope; /* the fissure: q = fq + fslope * (x - pc) */
    /* virus: patchy and reticular opacities over both lungs, densest around the hila */
    float vamp, w_patch, w_lines, w_dots;
} opacity;

static void draw_anatomy(uint64_t seed, uint64_t patient, anatomy *a)
{
    pt_rng r;
    stream_init(&r, seed, patient, STREAM_ANATOMY, 0);
    a->apex_q = rngf(&r, -0.35, -0.30);
    a->apex_x = rngf(&r, 0.13, 0.16);
    a->apex_k = rngf(&r, 6.0, 9.0);
    a->dome_q[0] = rngf(&r, 0.15, 0.21);
    a->dome_q[1] = a->dome_q[0] + rngf(&r, 0.01, 0.04); /* the patient's left dome sits lower */
    a->dome_k = rngf(&r, 2.2, 3.2);
    a->dome_x = rngf(&r, 0.15, 0.19);
    a->lat_top = rngf(&r, 0.17, 0.20);
    a->lat_bot[0] = rngf(&r, 0.33, 0.38);
    a->lat_bot[1] = a->lat_bot[0] + rngf(&r, -0.015, 0.015);
    a->med[0] = rngf(&r, 0.045, 0.06);
    a->med[1] = rngf(&r, 0.05, 0.065);
    a->air = rngf(&r, 0.68, 0.78);
    a->heart_p = rngf(&r, 0.06, 0.09);
    a->heart_q = rngf(&r, 0.12, 0.15);
    a->heart_rx = rngf(&r, 0.14, 0.165);
    a->heart_ry = rngf(&r, 0.12, 0.14);
    a->heart_tilt = rngf(&r, 0.5, 0.9);
    a->knob_q = rngf(&r, -0.17, -0.13);
    a->body_w = rngf(&r, 0.44, 0.50);
    a->shoulder_q = rngf(&r, -0.42, -0.37);
    a->abdomen = rngf(&r, 0.12, 0.22);
    a->spine_w = rngf(&r, 0.026, 0.034);
    a->spine_amp = rngf(&r, 0.06, 0.1);
    a->vert_period = rngf(&r, 0.038, 0.046);
    a->vert_phase = rngf(&r, 0.0, 1.0);
    a->rib_sp = rngf(&r, 0.046, 0.054);
    a->rib_q0 = a->apex_q - rngf(&r, 0.0, 0.02);
    a->rib_curve = rngf(&r, 2.0, 2.6);
    a->rib_rise = rngf(&r, 0.2, 0.35);
    a->rib_amp = rngf(&r, 0.06, 0.1);
    a->arib_sp = rngf(&r, 0.06, 0.07);
    a->arib_q0 = a->apex_q + rngf(&r, 0.02, 0.05);
    a->clav_q = a->apex_q + rngf(&r, 0.0, 0.03);
    a->clav_amp = rngf(&r, 0.10, 0.16);
    a->hilum_q = rngf(&r, -0.03, 0.02);
    a->marking_amp = rngf(&r, 0.08, 0.14);
    a->carina_q = rngf(&r, -0.18, -0.13);
}

static void draw_film_params(uint64_t seed, uint64_t index, film *f)
{
    pt_rng r;
    stream_init(&r, seed, index, STREAM_FILM, 0);
    double rot = pt_rng_range(&r, -3.5, 3.5) * 3.14159265358979 / 180.0;
    f->cos_r = (float)cos(rot);
    f->sin_r = (float)sin(rot);
    f->scale = rngf(&r, 0.95, 1.12);
    f->dx = rngf(&r, -0.035, 0.035);
    f->dy = rngf(&r, -0.03, 0.04);
    f->inspiration = rngf(&r, -0.02, 0.02);
    f->k = rngf(&r, 0.9, 1.6);
    f->fog = rngf(&r, 0.03, 0.10);
    f->mottle = rngf(&r, 0.02, 0.05);
    f->grain = rngf(&r, 1.5, 4.5);
    /* Class-independent: this stream never sees the kind. */
    f->target_mean = rngf(&r, 95.0, 150.0);
}

static void draw_opacity_params(uint64_t seed, uint64_t index, pt_synth_kind kind, const anatomy *a,
                                opacity *o)
{
    pt_rng r;
    stream_init(&r, seed, index, STREAM_OPACITY, 0);
    memset(o, 0, sizeof *o);
    o->kind = kind;
    if (kind == PT_SYNTH_BACTERIA) {
        o->side = (int)pt_rng_below(&r, 2);
        /* Lobes: 0 upper, 1 lower, 2 middle (right lung, image left, only). */
        int lobe = (int)pt_rng_below(&r, o->side == 0 ? 3 : 2);
        o->rx = rngf(&r, 0.11, 0.16);
        o->ry = rngf(&r, 0.1, 0.15);
        o->amp = rngf(&r, 0.45, 0.6);
        o->warp = rngf(&r, 0.7, 1.2);
        o->fslope = rngf(&r, -0.15, 0.15);
        float dome = a->dome_q[o->side];
        if (lobe == 0) {
            o->pc = rngf(&r, 0.17, 0.27);
            o->qc = a->apex_q + rngf(&r, 0.13, 0.2);
            o->fissure = 1;
            o->fq = o->qc + o->ry * rngf(&r, 0.35, 0.75);
        } else if (lobe == 1) {
            o->pc = rngf(&r, 0.18, 0.26);
            o->qc = dome - rngf(&r, 0.1, 0.15);
            o->fissure = 2;
            o->fq = o->qc - o->ry * rngf(&r, 0.5, 0.9);
            o->fslope = rngf(&r, 0.2, 0.5); /* the oblique fissure climbs laterally */
            o->fslope = -o->fslope;
        } else {
            o->pc = rngf(&r, 0.14, 0.2);
            o->qc = dome - rngf(&r, 0.12, 0.16);
            o->fissure = 2;
            o->fq = o->qc - o->ry * rngf(&r, 0.5, 0.8);
        }
    } else if (kind == PT_SYNTH_VIRUS) {
        o->vamp = rngf(&r, 0.38, 0.55);
        o->w_patch = rngf(&r, 0.35, 0.55);
        o->w_lines = rngf(&r, 0.25, 0.45);
        o->w_dots = rngf(&r, 0.15, 0.3);
    }
}

static void fill_lattice(float *lat, uint64_t seed, uint64_t key, int layer)
{
    pt_rng r;
    stream_init(&r, seed, key, STREAM_LATTICE, (uint64_t)layer);
    for (int i = 0; i < LAT * LAT; i += 4) {
        uint64_t x = pt_rng_next_u64(&r);
        for (int j = 0; j < 4; j++)
            lat[i + j] = (float)((x >> (16 * j)) & 0xffff) * (1.0f / 65535.0f);
    }
}

/* ---- drawing: the density map -----------------------------------------------------------------
 */

static inline float clamp01(float t)
{
    return t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
}

/* Smooth step from 0 (t <= 0) to 1 (t >= 1). */
static inline float ramp(float t)
{
    t = clamp01(t);
    return t * t * (3.0f - 2.0f * t);
}

static inline float sq(float t)
{
    return t * t;
}

/* Value noise in [0, 1], smooth, period LAT along both axes. */
static inline float vnoise(const float *lat, float x, float y)
{
    x += 64.0f * LAT;
    y += 64.0f * LAT;
    int ix = (int)x, iy = (int)y;
    float fx = x - (float)ix, fy = y - (float)iy;
    fx = fx * fx * (3.0f - 2.0f * fx);
    fy = fy * fy * (3.0f - 2.0f * fy);
    int x0 = ix & (LAT - 1), x1 = (ix + 1) & (LAT - 1);
    const float *r0 = lat + (iy & (LAT - 1)) * LAT, *r1 = lat + ((iy + 1) & (LAT - 1)) * LAT;
    float top = r0[x0] + fx * (r0[x1] - r0[x0]);
    float bot = r1[x0] + fx * (r1[x1] - r1[x0]);
    return top + fy * (bot - top);
}

/* Thin ridges where the noise crosses 1/2: a reticular network. */
static inline float ridges(const float *lat, float x, float y, float sharp)
{
    float t = 1.0f - fabsf(2.0f * vnoise(lat, x, y) - 1.0f);
    t = t * t;
    return sharp > 2.5f ? t * t : t;
}

typedef struct scene {
    const anatomy *a;
    const film *f;
    const opacity *o;
    const float *lat[LAYER_COUNT];
} scene;

/* The diaphragm's height at x = |p| on one side: a dome, flatter towards the midline. */
static inline float dome_height(const anatomy *a, float dome_top, float x)
{
    float dx = x - a->dome_x;
    return dome_top + a->dome_k * dx * dx * (dx < 0.0f ? 0.5f : 1.0f);
}

/* How much of (x = |p|, q) is lung on one side, 0..1, before the heart and the aortic knob are
 * taken out; *lateral receives the lateral lung border at that height. */
static inline float lung_field(const anatomy *a, const film *f, int side, float x, float q,
                               float *lateral)
{
    float dome_top = a->dome_q[side] + f->inspiration;
    float t = clamp01((q - a->apex_q) / (dome_top + 0.1f - a->apex_q));
    float lat = a->lat_top + (a->lat_bot[side] - a->lat_top) * t * (2.0f - t);
    *lateral = lat;
    if (q < a->apex_q - 0.02f || x > lat + 0.02f)
        return 0.0f;
    const float e = 1.0f / 0.012f;
    /* the mediastinum widens towards the hila */
    float med = a->med[side] + 0.025f * ramp((q - a->apex_q - 0.12f) * (1.0f / 0.2f));
    float m = ramp((lat - x) * e) * ramp((x - med) * e);
    float top = a->apex_q + a->apex_k * sq(x - a->apex_x);
    m *= ramp((q - top) * e);
    m *= ramp((dome_height(a, dome_top, x) - q) * e);
    return m;
}

/* Density of the film at patient coordinates (p, q). */
static float density(const scene *s, float p, float q)
{
    const anatomy *a = s->a;
    const film *f = s->f;
    const opacity *o = s->o;
    float x = fabsf(p);
    int side = p < 0.0f ? 0 : 1;
    float d = f->fog + f->mottle * (vnoise(s->lat[LAYER_MOTTLE], p * 30.0f, q * 30.0f) - 0.5f);

    /* Body outline (chest, shoulders sloping to the neck), thinner towards its edges. */
    float hw = a->body_w;
    if (q < a->shoulder_q) {
        float t = clamp01((a->shoulder_q - q) / (a->shoulder_q + 0.55f));
        hw = a->body_w - (a->body_w - 0.08f) * t * (2.0f - t);
    } else {
        hw += 0.06f * (q - a->shoulder_q);
    }
    float body = ramp((hw - x) * (1.0f / 0.04f));
    if (body <= 0.0f)
        return d;
    /* path length through an elliptic cross-section, with a floor for the arms and shoulders */
    float tissue = body * (0.12f + 0.88f * clamp01(1.0f - sq(x / (hw + 0.03f))));

    /* Lungs minus heart and aortic knob; the abdomen under the domes. */
    float lateral;
    float lung = lung_field(a, f, side, x, q, &lateral);
    float hp = (p - a->heart_p) / a->heart_rx, hq = (q - a->heart_q) / a->heart_ry;
    float heart = ramp((1.0f - (hp * hp + hq * hq - a->heart_tilt * hp * hq)) * (1.0f / 0.2f));
    float knob =
        side
            ? ramp((1.0f - (sq(p - 0.045f) + sq(q - a->knob_q)) * (1.0f / 0.0016f)) * (1.0f / 0.5f))
            : 0.0f;
    lung *= (1.0f - heart) * (1.0f - knob);
    float dome_top = a->dome_q[side] + f->inspiration;
    float dome = dome_height(a, dome_top, x);
    /* under the heart the domes meet at the height of their tops */
    float abdomen = ramp((q - (x < a->dome_x ? dome_top : dome)) * (1.0f / 0.02f));
    float mediastinum = ramp((0.075f - x) * (1.0f / 0.03f));
    float thick = heart > abdomen ? heart : abdomen;
    thick = thick > mediastinum ? thick : mediastinum;
    /* heart and abdomen: the same soft tissue, thicker than the chest wall, no border between */
    d += tissue * (1.0f + a->abdomen * thick);

    /* Gastric bubble under the left dome (image right). */
    if (side == 1) {
        float g = sq((p - 0.17f) / 0.045f) + sq((q - dome - 0.05f) / 0.025f);
        if (g < 1.0f)
            d -= 0.08f * ramp((1.0f - g) * 2.0f) * body;
    }

    /* Air: lungs and trachea. */
    d -= a->air * lung * tissue;
    if (x < 0.03f && q < a->carina_q + 0.03f)
        d -= 0.12f * ramp((0.018f - x) * (1.0f / 0.006f)) *
             ramp((a->carina_q - q) * (1.0f / 0.03f)) * body;

    /* Vessels fanning out from the hila: value noise in (pseudo-angle, radius) gives streaks. */
    if (lung > 0.0f) {
        float dx = x - 0.08f, dq = q - a->hilum_q;
        float r2 = dx * dx + dq * dq;
        float w = ramp(1.0f - r2 * (1.0f / 0.08f));
        if (w > 0.0f) {
            float r = sqrtf(r2);
            float ang = dq / (fabsf(dx) + fabsf(dq) + 1e-6f);
            float v = ridges(s->lat[LAYER_MARKINGS], ang * 6.0f + r * 4.0f, r * 6.0f, 2.0f);
            w *= ramp((r - 0.02f) * (1.0f / 0.06f)); /* the streaks must not meet in a point */
            d += lung * (w * a->marking_amp * v + 0.1f * ramp(1.0f - r2 * (1.0f / 0.005f)));
        }
    }

    /* Bone: spine with vertebrae, posterior and anterior ribs, clavicles. */
    if (x < a->spine_w + 0.01f) {
        float ph = (q + 0.6f) / a->vert_period + a->vert_phase;
        ph -= floorf(ph);
        float disc = ramp((fabsf(ph - 0.5f) * 2.0f - 0.7f) * (1.0f / 0.3f));
        d += a->spine_amp * ramp((a->spine_w - x) * (1.0f / 0.01f)) * (1.0f - 0.4f * disc);
    }
    float cage = lateral + 0.03f;
    if (x > 0.02f && x < cage && q > a->apex_q - 0.1f && q < dome + 0.12f) {
        float ph = (q - a->rib_q0 + a->rib_rise * x - a->rib_curve * x * x) / a->rib_sp +
                   0.3f * (vnoise(s->lat[LAYER_MARKINGS], x * 4.0f + 20.0f, q * 4.0f) - 0.5f);
        int i = (int)floorf(ph + 0.5f);
        if (i >= 0 && i < 10) {
            float dist = fabsf(ph - (float)i);
            float band = ramp((0.22f - dist) * (1.0f / 0.08f));
            band *= 0.75f + 0.4f * ramp((dist - 0.1f) * (1.0f / 0.08f)); /* brighter cortex */
            d += a->rib_amp * band * (0.35f + 0.65f * lung) * ramp((cage - x) * (1.0f / 0.03f)) *
                 ramp((x - a->spine_w) * (1.0f / 0.03f));
        }
        float pa = (q - a->arib_q0 + 0.5f * x) / a->arib_sp;
        int j = (int)floorf(pa + 0.5f);
        if (j >= 0 && j < 6 && x > 0.08f) {
            float band = ramp((0.2f - fabsf(pa - (float)j)) * (1.0f / 0.08f));
            d += 0.05f * band * ramp((x - 0.08f) * (1.0f / 0.06f)) *
                 ramp((cage - x) * (1.0f / 0.03f));
        }
    }
    if (x > 0.02f && x < 0.32f) {
        float cq = a->clav_q - 0.3f * (x - 0.03f) + 0.5f * sq(x - 0.03f);
        float band = ramp((0.013f - fabsf(q - cq)) * (1.0f / 0.007f));
        if (band > 0.0f)
            d += a->clav_amp * band * ramp((x - 0.02f) * (1.0f / 0.02f)) *
                 ramp((0.32f - x) * (1.0f / 0.05f));
    }

    /* Pneumonia. */
    if (lung > 0.0f && o->kind == PT_SYNTH_BACTERIA && side == o->side) {
        float dp = (x - o->pc) / o->rx, dq = (q - o->qc) / o->ry;
        float e = dp * dp + dq * dq;
        if (e < 2.5f) {
            e += o->warp * (vnoise(s->lat[LAYER_OP_SHAPE], p * 7.0f, q * 7.0f) - 0.5f) +
                 0.3f * (vnoise(s->lat[LAYER_OP_SHAPE], p * 19.0f + 31.0f, q * 19.0f) - 0.5f);
            float blob = ramp((1.0f - e) * (1.0f / 0.15f));
            if (o->fissure) {
                float fd = q - (o->fq + o->fslope * (x - o->pc));
                blob *= ramp((o->fissure == 1 ? -fd : fd) * (1.0f / 0.005f));
            }
            if (blob > 0.0f) {
                float tex = 0.65f + 0.35f * vnoise(s->lat[LAYER_OP_TEXTURE], p * 16.0f, q * 16.0f);
                tex *= 0.8f + 0.2f * ramp((1.0f - e) * 2.0f); /* denser inside */
                /* air bronchograms: dark branching lines inside the consolidation */
                float bron = ridges(s->lat[LAYER_OP_LINES], p * 10.0f, q * 10.0f, 3.0f);
                tex -= 0.35f * bron * bron;
                d += o->amp * lung * blob * tex;
            }
            d += 0.08f * o->amp * lung * ramp((2.5f - e) * (1.0f / 1.5f)); /* surrounding haze */
        }
    } else if (lung > 0.0f && o->kind == PT_SYNTH_VIRUS) {
        float r2 = sq(x - 0.1f) + sq(q - a->hilum_q - 0.04f);
        float w = 0.5f + 0.5f * ramp(1.0f - r2 * (1.0f / 0.08f));
        float patch =
            ramp((vnoise(s->lat[LAYER_OP_SHAPE], p * 10.0f, q * 10.0f) - 0.4f) * (1.0f / 0.3f));
        float lines = ridges(s->lat[LAYER_OP_LINES], p * 16.0f, q * 16.0f, 3.0f);
        float dots =
            ramp((vnoise(s->lat[LAYER_OP_DOTS], p * 26.0f, q * 26.0f) - 0.6f) * (1.0f / 0.15f));
        d += o->vamp * lung * w * (o->w_patch * patch + o->w_lines * lines + o->w_dots * dots);
    }
    return d;
}

/* ---- drawing: the film ------------------------------------------------------------------------
 */

/* The gamma that brings the histogram's mean to `target` (black and white stay fixed). */
static float gamma_for_mean(const uint64_t hist[256], uint64_t n, float target)
{
    double lv[256];
    for (int v = 1; v < 256; v++)
        lv[v] = log(v / 255.0);
    double lo = log(0.1), hi = log(10.0); /* mean falls as gamma grows */
    for (int it = 0; it < 48; it++) {
        double g = exp(0.5 * (lo + hi)), sum = 0.0;
        for (int v = 1; v < 256; v++)
            if (hist[v])
                sum += (double)hist[v] * 255.0 * exp(g * lv[v]);
        if (sum / (double)n > target)
            lo = 0.5 * (lo + hi);
        else
            hi = 0.5 * (lo + hi);
    }
    return (float)exp(0.5 * (lo + hi));
}

int pt_synth_opacity_side(uint64_t seed, uint64_t patient, uint64_t index, pt_synth_kind kind)
{
    if (kind != PT_SYNTH_BACTERIA)
        return -1;
    anatomy a;
    opacity o;
    draw_anatomy(seed, patient, &a);
    draw_opacity_params(seed, index, kind, &a, &o);
    return o.side; /* density(): side 0 where p < 0, the image's left */
}

int pt_synth_draw(uint64_t seed, uint64_t patient, uint64_t index, pt_synth_kind kind, int width,
                  int height, uint8_t *pixels, pt_error *err)
{
    if ((unsigned)kind >= PT_SYNTH_KIND_COUNT)
        return pt_error_set(err, PT_ERR_INVALID, "synthetic film: bad kind %d", (int)kind);
    if (width < PT_SYNTH_MIN_SIDE || width > PT_SYNTH_MAX_SIDE || height < PT_SYNTH_MIN_SIDE ||
        height > PT_SYNTH_MAX_SIDE)
        return pt_error_set(err, PT_ERR_INVALID, "synthetic film: size %dx%d outside [%d, %d]",
                            width, height, PT_SYNTH_MIN_SIDE, PT_SYNTH_MAX_SIDE);

    /* Coarse grid: gw x gh samples covering the film, one per cell of about cell x cell pixels. */
    int longest = width > height ? width : height;
    double cell = longest > SYNTH_GRID ? (double)longest / SYNTH_GRID : 1.0;
    int gw = (int)ceil(width / cell), gh = (int)ceil(height / cell);
    if (gw < 2)
        gw = 2;
    if (gh < 2)
        gh = 2;

    size_t n_grid = (size_t)gw * (size_t)gh;
    size_t n_floats = n_grid + (size_t)gw + (size_t)width + (size_t)LAYER_COUNT * LAT * LAT;
    float *work = malloc(n_floats * sizeof *work + (size_t)width * sizeof(int));
    if (!work)
        return pt_error_set(err, PT_ERR_NOMEM, "synthetic film %dx%d: out of memory", width,
                            height);
    float *grid = work;
    float *row = grid + n_grid;
    float *col_w = row + gw;
    float *lattices = col_w + width;
    int *col_x = (int *)(lattices + (size_t)LAYER_COUNT * LAT * LAT);

    anatomy a;
    film f;
    opacity o;
    draw_anatomy(seed, patient, &a);
    draw_film_params(seed, index, &f);
    draw_opacity_params(seed, index, kind, &a, &o);
    scene s = {.a = &a, .f = &f, .o = &o};
    for (int l = 0; l < LAYER_COUNT; l++) {
        float *lat = lattices + (size_t)l * LAT * LAT;
        s.lat[l] = lat;
        if (l == LAYER_MARKINGS)
            fill_lattice(lat, seed, patient, l);
        else if (l == LAYER_MOTTLE || kind != PT_SYNTH_NORMAL)
            fill_lattice(lat, seed, index, l); /* opacity layers only when used */
    }

    /* 1-2: density and film response on the coarse grid. Pixel (x, y) -> film coordinates
     * (u, v) in film heights around the centre -> patient coordinates (p, q). */
    float ref = 1.0f - expf(-f.k * 1.3f);
    /* puts a typical film's mean near the middle of the targets, so the gamma stays near 1 */
    float gain = 0.7f * 255.0f / ref;
    float inv_h = 1.0f / (float)height, inv_s = 1.0f / f.scale;
    for (int j = 0; j < gh; j++) {
        float y = ((float)j + 0.5f) * (float)height / (float)gh;
        float v = (y - 0.5f * (float)height) * inv_h - f.dy;
        for (int i = 0; i < gw; i++) {
            float x = ((float)i + 0.5f) * (float)width / (float)gw;
            float u = (x - 0.5f * (float)width) * inv_h - f.dx;
            float p = (f.cos_r * u + f.sin_r * v) * inv_s;
            float q = (-f.sin_r * u + f.cos_r * v) * inv_s;
            float dd = density(&s, p, q);
            if (dd < 0.0f)
                dd = 0.0f;
            grid[(size_t)j * gw + i] = gain * (1.0f - expf(-f.k * dd));
        }
    }

    /* 3: bilinear upsampling, grain, quantisation, histogram. */
    for (int x = 0; x < width; x++) {
        float fx = ((float)x + 0.5f) * (float)gw / (float)width - 0.5f;
        int x0 = (int)floorf(fx);
        if (x0 < 0)
            x0 = 0;
        if (x0 > gw - 2)
            x0 = gw - 2;
        col_x[x] = x0;
        col_w[x] = clamp01(fx - (float)x0);
    }
    pt_rng grain;
    stream_init(&grain, seed, index, STREAM_GRAIN, 0);
    float gscale = f.grain / 104.5f; /* sum of two uniform bytes minus 255 has sd 104.5 */
    uint64_t hist[256] = {0};
    for (int y = 0; y < height; y++) {
        float fy = ((float)y + 0.5f) * (float)gh / (float)height - 0.5f;
        int y0 = (int)floorf(fy);
        if (y0 < 0)
            y0 = 0;
        if (y0 > gh - 2)
            y0 = gh - 2;
        float wy = clamp01(fy - (float)y0);
        const float *g0 = grid + (size_t)y0 * gw, *g1 = g0 + gw;
        for (int i = 0; i < gw; i++)
            row[i] = g0[i] + wy * (g1[i] - g0[i]);
        uint8_t *out = pixels + (size_t)y * width;
        uint64_t bits = 0;
        for (int x = 0; x < width; x++) {
            if ((x & 3) == 0)
                bits = pt_rng_next_u64(&grain);
            int noise = (int)(bits & 0xff) + (int)((bits >> 8) & 0xff) - 255;
            bits >>= 16;
            const float *r = row + col_x[x];
            float val = r[0] + col_w[x] * (r[1] - r[0]) + gscale * (float)noise + 0.5f;
            int iv = val <= 0.0f ? 0 : val >= 255.0f ? 255 : (int)val;
            out[x] = (uint8_t)iv;
            hist[iv]++;
        }
    }

    /* 4: the mean brightness, set by a gamma curve. */
    uint64_t n = (uint64_t)width * (uint64_t)height;
    float gamma = gamma_for_mean(hist, n, f.target_mean);
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (uint8_t)lrint(255.0 * pow(v / 255.0, gamma));
    for (size_t i = 0; i < (size_t)n; i++)
        pixels[i] = lut[pixels[i]];

    free(work);
    return PT_OK;
}

/* ---- writing the set --------------------------------------------------------------------------
 */

/* Replicates gray into RGB with a slight colour cast (per-channel gain lookup tables). */
static void tint_rgb(uint64_t seed, uint64_t index, const uint8_t *gray, size_t n, uint8_t *rgb)
{
    pt_rng r;
    stream_init(&r, seed, index, STREAM_TINT, 0);
    uint8_t lut[3][256];
    for (int c = 0; c < 3; c++) {
        double gain = 1.0 + pt_rng_range(&r, -0.06, 0.06);
        for (int v = 0; v < 256; v++) {
            long t = lround(v * gain);
            lut[c][v] = (uint8_t)(t > 255 ? 255 : t);
        }
    }
    for (size_t i = 0; i < n; i++) {
        rgb[3 * i] = lut[0][gray[i]];
        rgb[3 * i + 1] = lut[1][gray[i]];
        rgb[3 * i + 2] = lut[2][gray[i]];
    }
}

int pt_synth_write(const pt_synth_opts *opts, pt_synth_summary *summary, pt_error *err)
{
    pt_synth_plan plan = {0};
    uint8_t *gray = NULL, *rgb = NULL;
    pt_synth_summary sum;
    memset(&sum, 0, sizeof sum);
    if (summary)
        memset(summary, 0, sizeof *summary);
    if (!opts->out_dir || !opts->out_dir[0])
        return pt_error_set(err, PT_ERR_INVALID, "no output directory (--out)");

    int status = pt_synth_plan_make(opts, &plan, err);
    if (status != PT_OK)
        goto done;

    char path[4096];
    for (int s = 0; s < PT_SPLIT_COUNT; s++) {
        for (int c = 0; c < 2; c++) {
            int n = snprintf(path, sizeof path, "%s/%s/%s", opts->out_dir,
                             pt_split_name((pt_split)s), c ? "PNEUMONIA" : "NORMAL");
            if (n < 0 || (size_t)n >= sizeof path) {
                status = pt_error_set(err, PT_ERR_INVALID, "%s: path too long", opts->out_dir);
                goto done;
            }
            status = pt_fs_mkdir_p(path, err);
            if (status != PT_OK)
                goto done;
        }
    }

    size_t most = 0;
    for (int64_t i = 0; i < plan.count; i++) {
        size_t px = (size_t)plan.items[i].width * (size_t)plan.items[i].height;
        most = px > most ? px : most;
    }
    gray = malloc(most);
    rgb = malloc(3 * most);
    if (!gray || !rgb) {
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory for a %zu-pixel film", most);
        goto done;
    }

    for (int64_t i = 0; i < plan.count; i++) {
        const pt_synth_item *it = &plan.items[i];
        int n = snprintf(path, sizeof path, "%s/%s/%s/%s", opts->out_dir, pt_split_name(it->split),
                         kind_folders[it->kind], it->name);
        if (n < 0 || (size_t)n >= sizeof path) {
            status = pt_error_set(err, PT_ERR_INVALID, "%s: path too long", opts->out_dir);
            goto done;
        }
        status = pt_synth_draw(opts->seed, (uint64_t)it->patient, (uint64_t)it->index, it->kind,
                               it->width, it->height, gray, err);
        if (status != PT_OK)
            goto done;
        const uint8_t *px = gray;
        if (it->channels == 3) {
            tint_rgb(opts->seed, (uint64_t)it->index, gray, (size_t)it->width * (size_t)it->height,
                     rgb);
            px = rgb;
        }
        if (it->format == PT_SYNTH_PNG)
            status = pt_png_write_file(path, px, it->width, it->height, it->channels, err);
        else
            status = pt_jpeg_write_file(path, px, it->width, it->height, it->channels,
                                        opts->quality, err);
        if (status != PT_OK)
            goto done;
        struct stat st;
        if (stat(path, &st) != 0) {
            status = pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
            goto done;
        }
        sum.images++;
        sum.per_split[it->split]++;
        sum.per_kind[it->kind]++;
        sum.png += it->format == PT_SYNTH_PNG;
        sum.rgb += it->channels == 3;
        sum.bytes += (int64_t)st.st_size;
    }
    sum.patients = plan.n_patients;
    if (summary)
        *summary = sum;
done:
    free(rgb);
    free(gray);
    pt_synth_plan_free(&plan);
    return status;
}
