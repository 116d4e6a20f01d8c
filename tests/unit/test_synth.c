/* ptrain-synth: the plan (names, patients, splits, class mix), the films (determinism, brightness
 * that says nothing about the class, opacities that do) and the files written. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kermany.h"
#include "synth.h"
#include "tmpdir.h"

/* ---- helpers ----------------------------------------------------------------------------------
 */

static pt_synth_plan make_plan(int64_t count, uint64_t seed, int min_size, int max_size)
{
    pt_synth_opts o;
    pt_synth_opts_default(&o);
    o.count = count;
    o.seed = seed;
    o.min_size = min_size;
    o.max_size = max_size;
    pt_synth_plan plan;
    pt_error err;
    int rc = pt_synth_plan_make(&o, &plan, &err);
    cr_assert_eq(rc, PT_OK, "plan of %lld: %s", (long long)count, err.msg);
    cr_assert_eq(plan.count, count);
    return plan;
}

static int is_pneumonia(pt_synth_kind k)
{
    return k == PT_SYNTH_BACTERIA || k == PT_SYNTH_VIRUS;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Rank AUC: the probability that a positive scores above a negative (ties count 1/2). */
static double auc(const double *neg, int n_neg, const double *pos, int n_pos)
{
    double wins = 0.0;
    for (int i = 0; i < n_neg; i++)
        for (int j = 0; j < n_pos; j++)
            wins += pos[j] > neg[i] ? 1.0 : pos[j] == neg[i] ? 0.5 : 0.0;
    return wins / ((double)n_neg * (double)n_pos);
}

static double mean_of(const uint8_t *px, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += px[i];
    return s / (double)n;
}

static uint8_t *draw(uint64_t seed, uint64_t patient, uint64_t index, pt_synth_kind kind, int w,
                     int h)
{
    uint8_t *px = malloc((size_t)w * (size_t)h);
    cr_assert_not_null(px);
    pt_error err;
    int rc = pt_synth_draw(seed, patient, index, kind, w, h, px, &err);
    cr_assert_eq(rc, PT_OK, "draw %llu/%llu: %s", (unsigned long long)seed,
                 (unsigned long long)index, err.msg);
    return px;
}

/* ---- options ----------------------------------------------------------------------------------
 */

Test(synth_opts, defaults_and_val_count)
{
    pt_synth_opts o;
    pt_synth_opts_default(&o);
    cr_assert_eq(o.count, 600);
    cr_assert_eq(o.seed, 1);
    cr_assert_eq(o.min_size, 256);
    cr_assert_eq(o.max_size, 512);
    cr_assert_eq(o.quality, 90);
    cr_assert_eq(o.val_count, -1);
    cr_assert_eq(pt_synth_opts_check(&o, NULL), PT_OK);
    cr_assert_eq(pt_synth_val_count(&o), 8);
    o.count = 2000;
    cr_assert_eq(pt_synth_val_count(&o), 20);
    o.count = 24;
    cr_assert_eq(pt_synth_val_count(&o), 4);
    o.count = 3;
    cr_assert_leq(pt_synth_val_count(&o), 1);
    o.val_count = 0;
    cr_assert_eq(pt_synth_val_count(&o), 0);
}

Test(synth_opts, bad_values_are_refused_with_the_option_named)
{
    pt_synth_opts o;
    pt_error err;
#define BAD(field, value, option)                                                                  \
    do {                                                                                           \
        pt_synth_opts_default(&o);                                                                 \
        o.field = value;                                                                           \
        cr_assert_eq(pt_synth_opts_check(&o, &err), PT_ERR_INVALID, "%s accepted", #field);        \
        cr_assert_not_null(strstr(err.msg, option), "message '%s' lacks %s", err.msg, option);     \
    } while (0)
    BAD(count, 0, "--count");
    BAD(min_size, 8, "--min-size");
    BAD(max_size, 100000, "--max-size");
    BAD(min_size, 600, "--min-size"); /* above the default --max-size 512 */
    BAD(png_frac, 1.5, "--png-frac");
    BAD(rgb_frac, -0.1, "--rgb-frac");
    BAD(quality, 0, "--quality");
    BAD(test_frac, 0.95, "--test-frac");
    BAD(val_count, 400, "--val-count");
#undef BAD
}

/* ---- the plan ---------------------------------------------------------------------------------
 */

Test(synth_plan, same_seed_same_plan_other_seed_other_plan)
{
    pt_synth_plan a = make_plan(500, 7, 256, 512), b = make_plan(500, 7, 256, 512);
    pt_synth_plan c = make_plan(500, 8, 256, 512);
    cr_assert_eq(a.n_patients, b.n_patients);
    cr_assert_eq(memcmp(a.items, b.items, (size_t)a.count * sizeof *a.items), 0,
                 "same seed, different plans");
    int differ = 0;
    for (int64_t i = 0; i < a.count; i++)
        differ += a.items[i].kind != c.items[i].kind || a.items[i].width != c.items[i].width ||
                  strcmp(a.items[i].name, c.items[i].name) != 0;
    cr_assert_gt(differ, a.count / 2, "seeds 7 and 8 give nearly the same plan (%d differ)",
                 differ);
    pt_synth_plan_free(&a);
    pt_synth_plan_free(&b);
    pt_synth_plan_free(&c);
    cr_assert_null(a.items);
}

Test(synth_plan, class_mix_like_kermany)
{
    int64_t sizes[] = {3000, 600, 24};
    for (int s = 0; s < 3; s++) {
        pt_synth_plan p = make_plan(sizes[s], 3, 64, 96);
        int64_t n[PT_SYNTH_KIND_COUNT] = {0};
        for (int64_t i = 0; i < p.count; i++) {
            cr_assert_lt((unsigned)p.items[i].kind, PT_SYNTH_KIND_COUNT);
            n[p.items[i].kind]++;
        }
        double normal = (double)n[0] / (double)p.count;
        double bv = (double)n[1] / (double)n[2];
        cr_log_info("count %lld: normal %lld bacteria %lld virus %lld", (long long)p.count,
                    (long long)n[0], (long long)n[1], (long long)n[2]);
        cr_assert(normal >= 0.2 && normal <= 0.3, "count %lld: normal fraction %.3f, want ~0.25",
                  (long long)p.count, normal);
        cr_assert(bv >= 1.6 && bv <= 2.4, "count %lld: bacteria:virus %.2f, want ~2",
                  (long long)p.count, bv);
        pt_synth_plan_free(&p);
    }
}

Test(synth_plan, names_follow_the_kermany_patterns)
{
    regex_t normal_re, pneu_re;
    cr_assert_eq(regcomp(&normal_re, "^(NORMAL2-)?IM-[0-9]{4,}-[0-9]{4}\\.(jpeg|png)$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    cr_assert_eq(regcomp(&pneu_re, "^person[1-9][0-9]*_(bacteria|virus)_[1-9][0-9]*\\.(jpeg|png)$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    pt_synth_plan p = make_plan(1500, 5, 64, 96);
    const char **names = malloc((size_t)p.count * sizeof *names);
    int64_t *numbers = malloc((size_t)p.count * sizeof *numbers);
    cr_assert(names && numbers);
    int64_t n_numbers = 0, n_normal2 = 0, n_im = 0;
    for (int64_t i = 0; i < p.count; i++) {
        const pt_synth_item *it = &p.items[i];
        const char *name = it->name;
        cr_assert_eq(it->index, i);
        names[i] = name;
        const char *ext = strrchr(name, '.');
        cr_assert_not_null(ext, "%s", name);
        cr_assert_str_eq(ext, it->format == PT_SYNTH_PNG ? ".png" : ".jpeg", "%s", name);
        char patient[64];
        pt_subtype sub = pt_kermany_parse_name(name, patient, sizeof patient);
        cr_assert_str_eq(patient, it->patient_id, "%s: parsed patient %s, planned %s", name,
                         patient, it->patient_id);
        if (it->kind == PT_SYNTH_NORMAL) {
            cr_assert_eq(regexec(&normal_re, name, 0, NULL, 0), 0, "normal file %s", name);
            cr_assert_eq(sub, PT_SUBTYPE_NORMAL, "%s", name);
            cr_assert_str_eq(pt_synth_kind_folder(it->kind), "NORMAL");
            if (strncmp(name, "NORMAL2-", 8) == 0)
                n_normal2++;
            else
                n_im++;
        } else {
            cr_assert_eq(regexec(&pneu_re, name, 0, NULL, 0), 0, "pneumonia file %s", name);
            cr_assert_eq(sub,
                         it->kind == PT_SYNTH_BACTERIA ? PT_SUBTYPE_BACTERIA : PT_SUBTYPE_VIRUS,
                         "%s", name);
            cr_assert_not_null(strstr(name, pt_synth_kind_name(it->kind)), "%s", name);
            cr_assert_str_eq(pt_synth_kind_folder(it->kind), "PNEUMONIA");
            numbers[n_numbers++] = strtoll(strrchr(name, '_') + 1, NULL, 10);
        }
    }
    cr_assert_gt(n_normal2, 0, "no NORMAL2-IM- names");
    cr_assert_gt(n_im, 0, "no plain IM- names");
    /* Every file name unique; the trailing number of pneumonia files too. */
    qsort(names, (size_t)p.count, sizeof *names, cmp_str);
    for (int64_t i = 1; i < p.count; i++)
        cr_assert_str_neq(names[i - 1], names[i], "file name used twice");
    qsort(numbers, (size_t)n_numbers, sizeof *numbers, cmp_i64);
    for (int64_t i = 1; i < n_numbers; i++)
        cr_assert_neq(numbers[i - 1], numbers[i], "image number %lld used twice",
                      (long long)numbers[i]);
    free(names);
    free(numbers);
    regfree(&normal_re);
    regfree(&pneu_re);
    pt_synth_plan_free(&p);
}

/* Patients: 1-4 images each, one kind, one split, one ordinal per id. */
static void check_patients(const pt_synth_plan *p)
{
    const pt_synth_item **by = malloc((size_t)p->count * sizeof *by);
    cr_assert_not_null(by);
    for (int64_t i = 0; i < p->count; i++)
        by[i] = &p->items[i];
    /* sort pointers by patient id (the first member compared is the string) */
    for (int64_t i = 1; i < p->count; i++) { /* insertion sort keeps it simple and stable */
        const pt_synth_item *t = by[i];
        int64_t j = i - 1;
        while (j >= 0 && strcmp(by[j]->patient_id, t->patient_id) > 0) {
            by[j + 1] = by[j];
            j--;
        }
        by[j + 1] = t;
    }
    int64_t patients = 0;
    for (int64_t i = 0; i < p->count;) {
        int64_t j = i;
        while (j < p->count && strcmp(by[j]->patient_id, by[i]->patient_id) == 0) {
            cr_assert_eq(by[j]->split, by[i]->split, "patient %s in two splits", by[i]->patient_id);
            cr_assert_eq(by[j]->kind, by[i]->kind, "patient %s has two kinds", by[i]->patient_id);
            cr_assert_eq(by[j]->patient, by[i]->patient, "patient %s has two ordinals",
                         by[i]->patient_id);
            j++;
        }
        cr_assert(j - i >= 1 && j - i <= 4, "patient %s has %lld images", by[i]->patient_id,
                  (long long)(j - i));
        if (i > 0)
            cr_assert_neq(by[i]->patient, by[i - 1]->patient, "two ids share ordinal %lld",
                          (long long)by[i]->patient);
        patients++;
        i = j;
    }
    cr_assert_eq(patients, p->n_patients);
    free(by);
}

Test(synth_plan, every_patient_in_one_split)
{
    int64_t sizes[] = {2000, 600, 24, 5};
    for (int s = 0; s < 4; s++) {
        pt_synth_plan p = make_plan(sizes[s], 9, 64, 96);
        check_patients(&p);
        cr_assert_lt(p.n_patients, p.count * 3 / 4 + 2, "few patients have several images");
        pt_synth_plan_free(&p);
    }
}

static void split_counts(const pt_synth_plan *p, int64_t n[PT_SPLIT_COUNT][PT_SYNTH_KIND_COUNT])
{
    memset(n, 0, sizeof(int64_t) * PT_SPLIT_COUNT * PT_SYNTH_KIND_COUNT);
    for (int64_t i = 0; i < p->count; i++) {
        cr_assert_lt((unsigned)p->items[i].split, PT_SPLIT_COUNT);
        n[p->items[i].split][p->items[i].kind]++;
    }
}

Test(synth_plan, split_sizes)
{
    int64_t sizes[] = {2000, 600, 24};
    for (int s = 0; s < 3; s++) {
        pt_synth_opts o;
        pt_synth_opts_default(&o);
        o.count = sizes[s];
        pt_synth_plan p = make_plan(o.count, 13, 64, 96);
        int64_t n[PT_SPLIT_COUNT][PT_SYNTH_KIND_COUNT];
        split_counts(&p, n);
        int64_t val = n[PT_SPLIT_VAL][0] + n[PT_SPLIT_VAL][1] + n[PT_SPLIT_VAL][2];
        int64_t test = n[PT_SPLIT_TEST][0] + n[PT_SPLIT_TEST][1] + n[PT_SPLIT_TEST][2];
        cr_log_info("count %lld: val %lld test %lld", (long long)o.count, (long long)val,
                    (long long)test);
        cr_assert_eq(val, pt_synth_val_count(&o), "count %lld: val %lld, want %lld",
                     (long long)o.count, (long long)val, (long long)pt_synth_val_count(&o));
        cr_assert_geq(n[PT_SPLIT_VAL][0], 2, "val needs 2 normal images");
        cr_assert_geq(n[PT_SPLIT_VAL][1] + n[PT_SPLIT_VAL][2], 2, "val needs 2 pneumonia");
        double tf = (double)test / (double)o.count;
        cr_assert(tf >= 0.07 && tf <= 0.13, "count %lld: test fraction %.3f, want ~0.1",
                  (long long)o.count, tf);
        for (int k = 0; k < PT_SYNTH_KIND_COUNT; k++)
            cr_assert_gt(n[PT_SPLIT_TRAIN][k], 0, "count %lld: no %s in train", (long long)o.count,
                         pt_synth_kind_name(k));
        pt_synth_plan_free(&p);
    }

    /* Explicit sizes are honoured. */
    pt_synth_opts o;
    pt_synth_opts_default(&o);
    o.count = 1000;
    o.val_count = 16;
    o.test_frac = 0.2;
    pt_synth_plan p;
    cr_assert_eq(pt_synth_plan_make(&o, &p, NULL), PT_OK);
    int64_t n[PT_SPLIT_COUNT][PT_SYNTH_KIND_COUNT];
    split_counts(&p, n);
    cr_assert_eq(n[PT_SPLIT_VAL][0] + n[PT_SPLIT_VAL][1] + n[PT_SPLIT_VAL][2], 16);
    cr_assert_eq(n[PT_SPLIT_VAL][0], 8, "val: half normal, like the real set");
    int64_t test = n[PT_SPLIT_TEST][0] + n[PT_SPLIT_TEST][1] + n[PT_SPLIT_TEST][2];
    cr_assert(test >= 185 && test <= 215, "test %lld of 1000 at --test-frac 0.2", (long long)test);
    pt_synth_plan_free(&p);

    o.val_count = 0;
    o.test_frac = 0.0;
    cr_assert_eq(pt_synth_plan_make(&o, &p, NULL), PT_OK);
    for (int64_t i = 0; i < p.count; i++)
        cr_assert_eq(p.items[i].split, PT_SPLIT_TRAIN);
    pt_synth_plan_free(&p);
}

Test(synth_plan, sizes_and_formats)
{
    pt_synth_opts o;
    pt_synth_opts_default(&o);
    o.count = 2000;
    o.min_size = 100;
    o.max_size = 300;
    pt_synth_plan p;
    cr_assert_eq(pt_synth_plan_make(&o, &p, NULL), PT_OK);
    int wide = 0, tall = 0, png = 0, rgb = 0, small = 0, large = 0;
    for (int64_t i = 0; i < p.count; i++) {
        const pt_synth_item *it = &p.items[i];
        cr_assert(it->width >= 100 && it->width <= 300 && it->height >= 100 && it->height <= 300,
                  "%s: %dx%d outside [100, 300]", it->name, it->width, it->height);
        cr_assert(it->channels == 1 || it->channels == 3);
        wide += it->width > it->height * 1.05;
        tall += it->height > it->width * 1.05;
        small += it->width < 150 || it->height < 150;
        large += it->width > 250 || it->height > 250;
        png += it->format == PT_SYNTH_PNG;
        rgb += it->channels == 3;
    }
    cr_assert_gt(wide, 200, "aspect ratio never varies towards wide");
    cr_assert_gt(tall, 50, "aspect ratio never varies towards tall");
    cr_assert_gt(small, 200);
    cr_assert_gt(large, 200);
    cr_assert(png >= 140 && png <= 260, "%d PNG of 2000 at --png-frac 0.1", png);
    cr_assert(rgb >= 60 && rgb <= 140, "%d RGB of 2000 at --rgb-frac 0.05", rgb);
    pt_synth_plan_free(&p);

    o.png_frac = 1.0;
    o.rgb_frac = 0.0;
    o.min_size = o.max_size = 64;
    o.count = 50;
    cr_assert_eq(pt_synth_plan_make(&o, &p, NULL), PT_OK);
    for (int64_t i = 0; i < p.count; i++) {
        cr_assert_eq(p.items[i].format, PT_SYNTH_PNG);
        cr_assert_eq(p.items[i].channels, 1);
        cr_assert(p.items[i].width == 64 && p.items[i].height == 64);
    }
    pt_synth_plan_free(&p);
}

/* ---- the films --------------------------------------------------------------------------------
 */

Test(synth_draw, same_key_same_pixels)
{
    const int w = 160, h = 120;
    const size_t n = (size_t)w * h;
    uint8_t *a = draw(1, 3, 5, PT_SYNTH_BACTERIA, w, h);
    uint8_t *b = draw(1, 3, 5, PT_SYNTH_BACTERIA, w, h);
    uint8_t *c = draw(2, 3, 5, PT_SYNTH_BACTERIA, w, h);
    uint8_t *d = draw(1, 3, 6, PT_SYNTH_BACTERIA, w, h);
    cr_assert_eq(memcmp(a, b, n), 0, "same seed and index, different pixels");
    size_t dc = 0, dd = 0;
    for (size_t i = 0; i < n; i++) {
        dc += a[i] != c[i];
        dd += a[i] != d[i];
    }
    cr_assert_gt(dc, n / 2, "another seed changes only %zu of %zu pixels", dc, n);
    cr_assert_gt(dd, n / 2, "another index changes only %zu of %zu pixels", dd, n);
    free(a);
    free(b);
    free(c);
    free(d);
}

Test(synth_draw, bad_arguments)
{
    uint8_t px[64 * 64];
    pt_error err;
    cr_assert_eq(pt_synth_draw(1, 0, 0, PT_SYNTH_NORMAL, 8, 64, px, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_synth_draw(1, 0, 0, PT_SYNTH_NORMAL, 64, PT_SYNTH_MAX_SIDE + 1, px, &err),
                 PT_ERR_INVALID);
    cr_assert_eq(pt_synth_draw(1, 0, 0, PT_SYNTH_KIND_COUNT, 64, 64, px, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_synth_draw(1, 0, 0, PT_SYNTH_VIRUS, 64, 64, px, &err), PT_OK);
}

Test(synth_draw, films_are_not_flat)
{
    /* A film has a dark background, bright bone and tissue, and a spread of gray levels. */
    for (int k = 0; k < PT_SYNTH_KIND_COUNT; k++) {
        uint8_t *px = draw(4, 1, 2, (pt_synth_kind)k, 200, 180);
        int hist[256] = {0};
        for (int i = 0; i < 200 * 180; i++)
            hist[px[i]]++;
        int dark = 0, bright = 0, levels = 0;
        for (int v = 0; v < 256; v++) {
            dark += v < 50 ? hist[v] : 0;
            bright += v > 150 ? hist[v] : 0;
            levels += hist[v] > 0;
        }
        cr_assert_gt(dark, 200 * 180 / 50, "%s: hardly any dark background", pt_synth_kind_name(k));
        cr_assert_gt(bright, 200 * 180 / 10, "%s: hardly any bright tissue", pt_synth_kind_name(k));
        cr_assert_gt(levels, 120, "%s: only %d gray levels", pt_synth_kind_name(k), levels);
        free(px);
    }
}

/* The class must not be readable from the mean brightness: over a planned set of small films, the
 * AUC of the mean gray level for pneumonia against normal stays near 1/2. */
Test(synth_draw, mean_brightness_is_not_informative)
{
    pt_synth_plan p = make_plan(240, 11, 64, 96);
    double neg[240], pos[240];
    int n_neg = 0, n_pos = 0;
    double sum_neg = 0.0, sum_pos = 0.0;
    for (int64_t i = 0; i < p.count; i++) {
        const pt_synth_item *it = &p.items[i];
        uint8_t *px =
            draw(11, (uint64_t)it->patient, (uint64_t)it->index, it->kind, it->width, it->height);
        double m = mean_of(px, (size_t)it->width * it->height);
        if (is_pneumonia(it->kind))
            sum_pos += pos[n_pos++] = m;
        else
            sum_neg += neg[n_neg++] = m;
        free(px);
    }
    double a = auc(neg, n_neg, pos, n_pos);
    cr_log_info("mean brightness: normal %.1f, pneumonia %.1f, AUC %.3f (%d / %d films)",
                sum_neg / n_neg, sum_pos / n_pos, a, n_neg, n_pos);
    cr_assert_geq(n_neg, 40);
    cr_assert_geq(n_pos, 120);
    cr_assert(a >= 0.35 && a <= 0.65, "mean brightness separates the classes: AUC %.3f", a);
    pt_synth_plan_free(&p);

    /* Sharper: one film drawn as each kind keeps its mean (the target depends on the image only),
     * although the opacities brighten the lungs. */
    for (uint64_t idx = 0; idx < 20; idx++) {
        double m[PT_SYNTH_KIND_COUNT];
        for (int k = 0; k < PT_SYNTH_KIND_COUNT; k++) {
            uint8_t *px = draw(12, idx, idx, (pt_synth_kind)k, 96, 96);
            m[k] = mean_of(px, 96 * 96);
            free(px);
        }
        cr_assert(fabs(m[1] - m[0]) < 1.0 && fabs(m[2] - m[0]) < 1.0,
                  "index %llu: means %.2f / %.2f / %.2f differ by kind", (unsigned long long)idx,
                  m[0], m[1], m[2]);
    }
}

/* Box average of a w x h film down to 128 x 128 (w, h multiples of 128). */
static void shrink128(const uint8_t *px, int w, int h, double *out)
{
    int fx = w / 128, fy = h / 128;
    for (int y = 0; y < 128; y++)
        for (int x = 0; x < 128; x++) {
            double s = 0.0;
            for (int j = 0; j < fy; j++)
                for (int i = 0; i < fx; i++)
                    s += px[(size_t)(y * fy + j) * w + x * fx + i];
            out[y * 128 + x] = s / (fx * fy);
        }
}

/* Where the lung fields are on any square film, in 128 x 128 pixels: both lungs (side < 0), the
 * image's left one (side 0) or right one (side 1), from below the apices to above the domes,
 * clear of the mediastinum whatever the positioning. */
static int in_lung_box(int x, int y, int side)
{
    double u = (x + 0.5) / 128.0 - 0.5, v = (y + 0.5) / 128.0 - 0.5;
    if ((side == 0 && u > 0.0) || (side == 1 && u < 0.0))
        return 0;
    return fabs(u) > 0.1 && fabs(u) < 0.28 && v > -0.2 && v < 0.15;
}

/* Where no film has lung: the top and bottom strips and the side margins. */
static int outside_lungs(int x, int y)
{
    double u = (x + 0.5) / 128.0 - 0.5, v = (y + 0.5) / 128.0 - 0.5;
    return v < -0.4 || v > 0.36 || fabs(u) > 0.44;
}

/* The classes differ in structure, inside the lungs: a pneumonia film and the same key drawn as
 * normal share anatomy, positioning and grain, and after shrinking to the cache's 128 x 128 they
 * must differ clearly inside the lung fields and far less away from them (where only the
 * brightness remapping moves the gray levels). Fails if opacities are not drawn, are too faint
 * to survive the shrink, or land outside the lungs. */
Test(synth_draw, opacities_are_in_the_lungs_and_survive_128)
{
    const int w = 256, h = 256;
    double *a = malloc(128 * 128 * sizeof *a), *b = malloc(128 * 128 * sizeof *b);
    cr_assert(a && b);
    for (int k = PT_SYNTH_BACTERIA; k <= PT_SYNTH_VIRUS; k++) {
        double sum_in = 0.0, sum_out = 0.0, min_in = 1e9;
        const int films = 30;
        for (uint64_t idx = 0; idx < (uint64_t)films; idx++) {
            uint8_t *normal = draw(21, idx, idx, PT_SYNTH_NORMAL, w, h);
            uint8_t *sick = draw(21, idx, idx, (pt_synth_kind)k, w, h);
            shrink128(normal, w, h, a);
            shrink128(sick, w, h, b);
            double in = 0.0, out = 0.0;
            int n_in = 0, n_out = 0;
            for (int y = 0; y < 128; y++)
                for (int x = 0; x < 128; x++) {
                    double d = fabs(a[y * 128 + x] - b[y * 128 + x]);
                    if (in_lung_box(x, y, -1)) {
                        in += d;
                        n_in++;
                    } else if (outside_lungs(x, y)) {
                        out += d;
                        n_out++;
                    }
                }
            in /= n_in;
            out /= n_out;
            sum_in += in;
            sum_out += out;
            min_in = in < min_in ? in : min_in;
            free(normal);
            free(sick);
        }
        double mean_in = sum_in / films, mean_out = sum_out / films;
        cr_log_info("%s vs normal at 128x128: mean |diff| in lungs %.2f (min %.2f), outside %.2f",
                    pt_synth_kind_name(k), mean_in, min_in, mean_out);
        cr_assert_gt(mean_in, 6.0, "%s: lungs differ from normal by only %.2f gray levels",
                     pt_synth_kind_name(k), mean_in);
        cr_assert_gt(min_in, 2.5, "%s: a film whose lungs differ by only %.2f",
                     pt_synth_kind_name(k), min_in);
        cr_assert_gt(mean_in, 3.0 * mean_out,
                     "%s: the difference is not concentrated in the lungs (%.2f in, %.2f out)",
                     pt_synth_kind_name(k), mean_in, mean_out);
    }
    free(a);
    free(b);
}

/* Something other than the mean tells the classes apart at 128 x 128, on independent films
 * (each with its own anatomy, positioning and exposure): even a crude hand-made feature, the
 * brighter lung box relative to the film's own mean, ranks pneumonia above normal. */
Test(synth_draw, lungs_relative_to_the_film_separate_classes)
{
    enum { FILMS = 60 };
    const int w = 256, h = 256;
    double *s = malloc(128 * 128 * sizeof *s);
    cr_assert_not_null(s);
    double score[PT_SYNTH_KIND_COUNT][FILMS];
    for (int k = 0; k < PT_SYNTH_KIND_COUNT; k++)
        for (int i = 0; i < FILMS; i++) {
            uint64_t idx = 1000 + (uint64_t)(k * FILMS + i);
            uint8_t *px = draw(31, idx, idx, (pt_synth_kind)k, w, h);
            shrink128(px, w, h, s);
            double lung[2] = {0.0, 0.0}, all = 0.0;
            int n[2] = {0, 0};
            for (int j = 0; j < 128 * 128; j++) {
                all += s[j];
                for (int side = 0; side < 2; side++)
                    if (in_lung_box(j % 128, j / 128, side)) {
                        lung[side] += s[j];
                        n[side]++;
                    }
            }
            double l = lung[0] / n[0], r = lung[1] / n[1];
            score[k][i] = (l > r ? l : r) / (all / (128 * 128));
            free(px);
        }
    double ab = auc(score[0], FILMS, score[1], FILMS), av = auc(score[0], FILMS, score[2], FILMS);
    cr_log_info("brighter lung / film mean, AUC against normal: bacteria %.3f, virus %.3f", ab, av);
    cr_assert_gt(ab, 0.7, "bacterial films not told apart by their lungs: AUC %.3f", ab);
    cr_assert_gt(av, 0.7, "viral films not told apart by their lungs: AUC %.3f", av);
    free(s);
}

/* ---- writing ----------------------------------------------------------------------------------
 */

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s missing", path);
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *size = n;
    return buf;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned be32(const uint8_t *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

/* Checks the signature and the header's size and channels of a written file. */
static void check_file(const char *path, const pt_synth_item *it)
{
    size_t n;
    uint8_t *d = slurp(path, &n);
    if (it->format == PT_SYNTH_PNG) {
        static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        cr_assert(n > 33 && memcmp(d, sig, 8) == 0, "%s: no PNG signature", path);
        cr_assert(memcmp(d + 12, "IHDR", 4) == 0, "%s: no IHDR first", path);
        cr_assert_eq(be32(d + 16), (unsigned)it->width, "%s: width", path);
        cr_assert_eq(be32(d + 20), (unsigned)it->height, "%s: height", path);
        cr_assert_eq(d[24], 8, "%s: bit depth %d", path, d[24]);
        cr_assert_eq(d[25], it->channels == 3 ? 2 : 0, "%s: color type %d", path, d[25]);
    } else {
        cr_assert(n > 4 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff, "%s: no JPEG SOI", path);
        cr_assert(d[n - 2] == 0xff && d[n - 1] == 0xd9, "%s: no JPEG EOI", path);
        /* walk the marker segments to the frame header */
        size_t i = 2;
        int found = 0;
        while (i + 9 < n && d[i] == 0xff) {
            unsigned marker = d[i + 1], len = be16(d + i + 2);
            if (marker >= 0xc0 && marker <= 0xc2) {
                cr_assert_eq(be16(d + i + 5), (unsigned)it->height, "%s: height", path);
                cr_assert_eq(be16(d + i + 7), (unsigned)it->width, "%s: width", path);
                cr_assert_eq(d[i + 9], it->channels, "%s: %d components", path, d[i + 9]);
                found = 1;
                break;
            }
            i += 2 + len;
        }
        cr_assert(found, "%s: no JPEG frame header", path);
    }
    free(d);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s: not a directory", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

Test(synth_write, small_set_in_the_kermany_layout)
{
    char root[256];
    cr_assert_eq(fixture_mkdtemp(root, sizeof root), 0, "mkdtemp failed");
    char out1[512], out2[512], path[1024];
    snprintf(out1, sizeof out1, "%s/a/chest_xray", root); /* parents are created too */
    snprintf(out2, sizeof out2, "%s/b", root);

    pt_synth_opts o;
    pt_synth_opts_default(&o);
    o.count = 24;
    o.seed = 5;
    o.min_size = 48;
    o.max_size = 96;
    o.png_frac = 0.3;
    o.rgb_frac = 0.3;
    o.out_dir = out1;
    pt_synth_summary sum;
    pt_error err;
    cr_assert_eq(pt_synth_write(&o, &sum, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(sum.images, 24);
    cr_assert_eq(sum.per_split[0] + sum.per_split[1] + sum.per_split[2], 24);
    cr_assert_eq(sum.per_kind[0] + sum.per_kind[1] + sum.per_kind[2], 24);
    cr_assert_gt(sum.bytes, 24 * 100);

    pt_synth_plan p;
    cr_assert_eq(pt_synth_plan_make(&o, &p, NULL), PT_OK);
    int per_dir[PT_SPLIT_COUNT][2] = {{0}};
    int png = 0, rgb = 0;
    for (int64_t i = 0; i < p.count; i++) {
        const pt_synth_item *it = &p.items[i];
        snprintf(path, sizeof path, "%s/%s/%s/%s", out1, pt_split_name(it->split),
                 pt_synth_kind_folder(it->kind), it->name);
        check_file(path, it);
        per_dir[it->split][is_pneumonia(it->kind)]++;
        png += it->format == PT_SYNTH_PNG;
        rgb += it->channels == 3;
    }
    cr_assert(png > 0 && png < 24, "the set should mix JPEG and PNG (%d PNG)", png);
    cr_assert(rgb > 0 && rgb < 24, "the set should mix gray and RGB (%d RGB)", rgb);
    cr_assert_eq(sum.png, png);
    cr_assert_eq(sum.rgb, rgb);
    for (int s = 0; s < PT_SPLIT_COUNT; s++)
        for (int c = 0; c < 2; c++) {
            snprintf(path, sizeof path, "%s/%s/%s", out1, pt_split_name((pt_split)s),
                     c ? "PNEUMONIA" : "NORMAL");
            cr_assert_eq(count_files(path), per_dir[s][c], "%s: %d files, planned %d", path,
                         count_files(path), per_dir[s][c]);
        }
    for (int s = 0; s < PT_SPLIT_COUNT; s++)
        cr_assert_eq(sum.per_split[s], per_dir[s][0] + per_dir[s][1], "summary of %s",
                     pt_split_name((pt_split)s));

    /* The same seed elsewhere gives the same bytes; writing over an existing set is fine. */
    o.out_dir = out2;
    cr_assert_eq(pt_synth_write(&o, NULL, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_synth_write(&o, NULL, &err), PT_OK, "rewrite: %s", err.msg);
    for (int64_t i = 0; i < p.count; i++) {
        const pt_synth_item *it = &p.items[i];
        char other[1024];
        snprintf(path, sizeof path, "%s/%s/%s/%s", out1, pt_split_name(it->split),
                 pt_synth_kind_folder(it->kind), it->name);
        snprintf(other, sizeof other, "%s/%s/%s/%s", out2, pt_split_name(it->split),
                 pt_synth_kind_folder(it->kind), it->name);
        size_t n1, n2;
        uint8_t *d1 = slurp(path, &n1), *d2 = slurp(other, &n2);
        cr_assert(n1 == n2 && memcmp(d1, d2, n1) == 0, "%s: bytes differ between runs", it->name);
        free(d1);
        free(d2);
    }
    pt_synth_plan_free(&p);
    fixture_rmtree(root);
}

Test(synth_write, errors_name_the_path)
{
    char root[256];
    cr_assert_eq(fixture_mkdtemp(root, sizeof root), 0, "mkdtemp failed");
    char file[512], out[600];
    snprintf(file, sizeof file, "%s/plain-file", root);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);

    pt_synth_opts o;
    pt_synth_opts_default(&o);
    o.count = 4;
    o.min_size = o.max_size = 64;
    pt_error err;
    snprintf(out, sizeof out, "%s/sub", file); /* a directory below a regular file */
    o.out_dir = out;
    cr_assert_eq(pt_synth_write(&o, NULL, &err), PT_ERR_IO);
    cr_assert_not_null(strstr(err.msg, "plain-file"), "message: %s", err.msg);

    o.out_dir = file; /* the output itself is a regular file */
    cr_assert_eq(pt_synth_write(&o, NULL, &err), PT_ERR_IO);
    cr_assert_not_null(strstr(err.msg, "plain-file"), "message: %s", err.msg);

    o.out_dir = NULL;
    cr_assert_eq(pt_synth_write(&o, NULL, &err), PT_ERR_INVALID);

    snprintf(out, sizeof out, "%s/ok", root);
    o.out_dir = out;
    o.min_size = 100;
    o.max_size = 50;
    cr_assert_eq(pt_synth_write(&o, NULL, &err), PT_ERR_INVALID);
    cr_assert_not_null(strstr(err.msg, "--min-size"), "message: %s", err.msg);
    fixture_rmtree(root);
}
