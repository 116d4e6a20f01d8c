/* Patient-level, stratified, seeded carving of splits (see split.h). */
#include "split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/rng.h"

typedef struct patient {
    const char *id;
    uint64_t order;  /* seeded hash: the shuffle key */
    int stratum;     /* class of the patient */
    size_t n_images; /* training images of this patient */
} patient;

static uint64_t hash_string(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static int compare_patient_id(const void *a, const void *b)
{
    return strcmp(((const patient *)a)->id, ((const patient *)b)->id);
}

static int compare_patient_order(const void *a, const void *b)
{
    const patient *x = a, *y = b;
    if (x->stratum != y->stratum)
        return x->stratum < y->stratum ? -1 : 1;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int stratum_of(const pt_filelist *list, const pt_entry *e)
{
    return list->multi_label ? (e->labels != 0) : e->label;
}

static const patient *find_patient(const patient *patients, size_t n, const char *id)
{
    patient key = {.id = id};
    return bsearch(&key, patients, n, sizeof *patients, compare_patient_id);
}

/* The distinct training patients, sorted by id, with their image counts and strata. */
static int collect_patients(const pt_filelist *list, uint64_t seed, patient **out, size_t *n_out,
                            pt_error *err)
{
    patient *all = malloc((list->count ? list->count : 1) * sizeof *all);
    if (!all)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++) {
        const pt_entry *e = &list->entries[i];
        if (e->split == PT_SPLIT_TRAIN)
            all[n++] = (patient){e->patient, 0, stratum_of(list, e), 1};
    }
    /* Stable by id then merge duplicates; the first image in list order sets the stratum, and
     * the list is sorted by path, so that too is independent of the scan order. */
    qsort(all, n, sizeof *all, compare_patient_id);
    size_t unique = 0;
    for (size_t i = 0; i < n; i++) {
        if (unique > 0 && strcmp(all[unique - 1].id, all[i].id) == 0) {
            all[unique - 1].n_images++;
            continue;
        }
        all[unique] = all[i];
        all[unique].order = pt_rng_hash3(seed, hash_string(all[i].id), 0x53504c4954ULL);
        unique++;
    }
    *out = all;
    *n_out = unique;
    return PT_OK;
}

int pt_split_carve(pt_filelist *list, pt_split to, double fraction, uint64_t seed, size_t *moved,
                   pt_error *err)
{
    *moved = 0;
    if (fraction <= 0.0)
        return PT_OK;
    if (fraction >= 1.0)
        return pt_error_set(err, PT_ERR_INVALID, "split fraction %g must be below 1", fraction);

    patient *patients = NULL;
    size_t n = 0;
    int status = collect_patients(list, seed, &patients, &n, err);
    if (status != PT_OK)
        return status;

    /* Within each stratum, walk patients in seeded order and take them until the stratum's
     * images reach the fraction; `order` is then reused as the "moves" flag. */
    patient *by_order = malloc((n ? n : 1) * sizeof *by_order);
    if (!by_order) {
        free(patients);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    memcpy(by_order, patients, n * sizeof *by_order);
    qsort(by_order, n, sizeof *by_order, compare_patient_order);
    for (size_t start = 0; start < n;) {
        size_t end = start, stratum_images = 0;
        while (end < n && by_order[end].stratum == by_order[start].stratum)
            stratum_images += by_order[end++].n_images;
        size_t target = (size_t)llround(fraction * (double)stratum_images);
        size_t taken = 0;
        for (size_t i = start; i < end; i++) {
            int take = taken < target && taken + by_order[i].n_images <= target + target / 2;
            taken += take ? by_order[i].n_images : 0;
            by_order[i].order = (uint64_t)take;
        }
        start = end;
    }
    qsort(by_order, n, sizeof *by_order, compare_patient_id);

    for (size_t i = 0; i < list->count; i++) {
        pt_entry *e = &list->entries[i];
        if (e->split != PT_SPLIT_TRAIN)
            continue;
        const patient *p = find_patient(by_order, n, e->patient);
        if (p && p->order) {
            e->split = (int)to;
            (*moved)++;
        }
    }
    free(by_order);
    free(patients);
    pt_filelist_sort(list);
    return PT_OK;
}

static int compare_entry_patient(const void *a, const void *b)
{
    const pt_entry *const *x = a, *const *y = b;
    int c = strcmp((*x)->patient, (*y)->patient);
    return c ? c : ((*x)->split > (*y)->split) - ((*x)->split < (*y)->split);
}

size_t pt_split_count_shared_patients(const pt_filelist *list)
{
    const pt_entry **sorted = malloc((list->count ? list->count : 1) * sizeof *sorted);
    if (!sorted)
        return 0;
    for (size_t i = 0; i < list->count; i++)
        sorted[i] = &list->entries[i];
    qsort(sorted, list->count, sizeof *sorted, compare_entry_patient);
    size_t shared = 0;
    for (size_t i = 1; i < list->count; i++) {
        /* a patient is counted once, at its first change of split */
        if (strcmp(sorted[i]->patient, sorted[i - 1]->patient) == 0 &&
            sorted[i]->split != sorted[i - 1]->split) {
            shared++;
            while (i + 1 < list->count && strcmp(sorted[i + 1]->patient, sorted[i]->patient) == 0)
                i++;
        }
    }
    free(sorted);
    return shared;
}
