/* Patient-level carving of validation and test splits. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "filelist.h"
#include "split.h"

/* 300 patients, 1-4 images each; a third normal (label 0), the rest pneumonia (label 1). */
static void make_list(pt_filelist *list, int reverse)
{
    pt_filelist_init(list);
    pt_error err;
    cr_assert_eq(pt_filelist_set_source(list, "/src", "kermany", &err), PT_OK);
    cr_assert_eq(pt_filelist_add_class(list, "normal", &err), PT_OK);
    cr_assert_eq(pt_filelist_add_class(list, "pneumonia", &err), PT_OK);
    for (int k = 0; k < 300; k++) {
        int p = reverse ? 299 - k : k;
        int n_images = 1 + p % 4;
        for (int i = 0; i < n_images; i++) {
            char path[64], patient[32];
            snprintf(patient, sizeof patient, "person%d", p);
            snprintf(path, sizeof path, "train/X/%s_%d.jpeg", patient, i);
            cr_assert_eq(pt_filelist_add(list, path, patient, -1, p % 3 == 0 ? 0 : 1, 0,
                                         PT_SPLIT_TRAIN, &err),
                         PT_OK);
        }
    }
}

static int patient_split(const pt_filelist *list, const char *patient)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->entries[i].patient, patient) == 0)
            return list->entries[i].split;
    return -1;
}

Test(split, no_patient_on_both_sides)
{
    pt_filelist list;
    make_list(&list, 0);
    size_t moved_test, moved_val;
    pt_error err;
    cr_assert_eq(pt_split_carve(&list, PT_SPLIT_TEST, 0.1, 9, &moved_test, &err), PT_OK);
    cr_assert_eq(pt_split_carve(&list, PT_SPLIT_VAL, 0.15, 1, &moved_val, &err), PT_OK);
    cr_assert_eq(pt_split_count_shared_patients(&list), 0);
    for (size_t i = 0; i < list.count; i++)
        cr_assert_eq(list.entries[i].split, patient_split(&list, list.entries[i].patient));
    pt_filelist_free(&list);
}

Test(split, fraction_is_close_and_stratified)
{
    pt_filelist list;
    make_list(&list, 0);
    size_t total = list.count, moved;
    pt_error err;
    cr_assert_eq(pt_split_carve(&list, PT_SPLIT_VAL, 0.2, 3, &moved, &err), PT_OK);
    cr_assert_eq(moved, pt_filelist_count_split(&list, PT_SPLIT_VAL));
    double frac = (double)moved / (double)total;
    cr_assert(frac > 0.17 && frac < 0.23, "moved %.3f of the images", frac);

    size_t per_class[2][2] = {{0}};
    for (size_t i = 0; i < list.count; i++)
        per_class[list.entries[i].split == PT_SPLIT_VAL][list.entries[i].label]++;
    for (int c = 0; c < 2; c++) {
        double f = (double)per_class[1][c] / (double)(per_class[0][c] + per_class[1][c]);
        cr_assert(f > 0.15 && f < 0.25, "class %d: %.3f in val", c, f);
    }
    pt_filelist_free(&list);
}

Test(split, depends_on_seed_not_on_list_order)
{
    pt_filelist a, b, c;
    make_list(&a, 0);
    make_list(&b, 1);
    make_list(&c, 0);
    pt_error err;
    size_t moved;
    pt_filelist_sort(&b);
    cr_assert_eq(pt_split_carve(&a, PT_SPLIT_VAL, 0.1, 5, &moved, &err), PT_OK);
    cr_assert_eq(pt_split_carve(&b, PT_SPLIT_VAL, 0.1, 5, &moved, &err), PT_OK);
    cr_assert_eq(pt_split_carve(&c, PT_SPLIT_VAL, 0.1, 6, &moved, &err), PT_OK);
    int differ = 0;
    for (size_t i = 0; i < a.count; i++) {
        cr_assert_str_eq(a.entries[i].path, b.entries[i].path);
        cr_assert_eq(a.entries[i].split, b.entries[i].split, "%s", a.entries[i].path);
        differ += a.entries[i].split != c.entries[i].split;
    }
    cr_assert_gt(differ, 0, "another seed must choose other patients");
    pt_filelist_free(&a);
    pt_filelist_free(&b);
    pt_filelist_free(&c);
}

Test(split, zero_fraction_moves_nothing_and_one_is_refused)
{
    pt_filelist list;
    make_list(&list, 0);
    size_t moved = 99;
    pt_error err;
    cr_assert_eq(pt_split_carve(&list, PT_SPLIT_VAL, 0.0, 1, &moved, &err), PT_OK);
    cr_assert_eq(moved, 0);
    cr_assert_eq(pt_split_carve(&list, PT_SPLIT_VAL, 1.0, 1, &moved, &err), PT_ERR_INVALID);
    pt_filelist_free(&list);
}

Test(split, shared_patients_are_counted_once)
{
    pt_filelist list;
    pt_filelist_init(&list);
    pt_error err;
    pt_filelist_add(&list, "a1", "A", -1, 0, 0, PT_SPLIT_TRAIN, &err);
    pt_filelist_add(&list, "a2", "A", -1, 0, 0, PT_SPLIT_TEST, &err);
    pt_filelist_add(&list, "a3", "A", -1, 0, 0, PT_SPLIT_VAL, &err);
    pt_filelist_add(&list, "b1", "B", -1, 0, 0, PT_SPLIT_TRAIN, &err);
    pt_filelist_add(&list, "b2", "B", -1, 0, 0, PT_SPLIT_TRAIN, &err);
    cr_assert_eq(pt_split_count_shared_patients(&list), 1);
    pt_filelist_free(&list);
}

Test(filelist, serialize_round_trip)
{
    pt_filelist list, back;
    make_list(&list, 0);
    pt_error err;
    list.multi_label = 0;
    list.entries[3].record = 17;
    list.entries[4].labels = 0x8000000000000001ULL;
    uint8_t *data;
    size_t size;
    cr_assert_eq(pt_filelist_serialize(&list, &data, &size, &err), PT_OK);
    cr_assert_eq(pt_filelist_deserialize(data, size, &back, &err), PT_OK);
    cr_assert_str_eq(back.root, "/src");
    cr_assert_str_eq(back.layout, "kermany");
    cr_assert_eq(back.n_classes, 2);
    cr_assert_str_eq(back.class_names[1], "pneumonia");
    cr_assert_eq(back.count, list.count);
    for (size_t i = 0; i < list.count; i++) {
        cr_assert_str_eq(back.entries[i].path, list.entries[i].path);
        cr_assert_str_eq(back.entries[i].patient, list.entries[i].patient);
        cr_assert_eq(back.entries[i].record, list.entries[i].record);
        cr_assert_eq(back.entries[i].label, list.entries[i].label);
        cr_assert_eq(back.entries[i].labels, list.entries[i].labels);
        cr_assert_eq(back.entries[i].split, list.entries[i].split);
    }
    pt_filelist_free(&back);
    /* a truncated message is an error, not a crash */
    cr_assert_eq(pt_filelist_deserialize(data, size / 2, &back, &err), PT_ERR_FORMAT);
    free(data);
    pt_filelist_free(&list);
}
