/* The cache reader trusts nothing it has not checked: every dataset's type, rank and extent
 * before a buffer is sized from it, the counts that must agree across datasets, the attributes'
 * ranges, the labels' values, the character set of strings, and the checksums of the data.
 * The caches here are written with the plain HDF5 API, in the layout ptrain-prep writes
 * (cache.h), then damaged the way a bad copy or a hand edit would. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_tamper.h"
#include "tmpdir.h"
#include "ptrain/cache.h"
#include "ptrain/h5util.h"

static char tmpdir[128];

static void make_tmpdir(void)
{
    cr_assert_eq(fixture_mkdtemp(tmpdir, sizeof tmpdir), 0, "mkdtemp failed");
}

static void remove_tmpdir(void)
{
    fixture_rmtree(tmpdir);
}

TestSuite(cache, .init = make_tmpdir, .fini = remove_tmpdir);

/* ---- a small cache, written as ptrain-prep writes it ---- */

#define H 8
#define W 8
static const int rows[3] = {12, 4, 4};
static const char *const splits[3] = {"train", "val", "test"};
static const char *const sources[3] = {"NORMAL/IM-0001-0001 M\xc3\xbcller.jpeg",
                                       "PNEUMONIA/person1_virus_1.jpeg", "x.png"};

typedef struct fixture_opts {
    int multi;          /* multi-label: uint8 [N,K] targets */
    int checksum;       /* images chunked with a Fletcher32 checksum */
    H5T_cset_t cset;    /* of every string: ASCII (0) as written before, UTF-8 as written now */
    const char *source; /* train's first source, NULL: sources[0] */
} fixture_opts;

static hid_t string_type(size_t size, H5T_cset_t cset)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_cset(t, cset);
    return t;
}

static void attr(hid_t obj, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(a, 0, "attribute %s", name);
    cr_assert_geq(H5Awrite(a, type, value), 0);
    H5Aclose(a);
    H5Sclose(space);
}

static void attr_str(hid_t obj, const char *name, const char *value, H5T_cset_t cset)
{
    hid_t t = string_type(strlen(value) + 1, cset);
    attr(obj, name, t, value);
    H5Tclose(t);
}

static void attr_i64(hid_t obj, const char *name, int64_t v)
{
    attr(obj, name, H5T_NATIVE_INT64, &v);
}

static void attr_f64(hid_t obj, const char *name, double v)
{
    attr(obj, name, H5T_NATIVE_DOUBLE, &v);
}

static void dataset(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                    hid_t dcpl, const void *data)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert_geq(d, 0, "dataset %s", name);
    if (dims[0] > 0)
        cr_assert_geq(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    H5Dclose(d);
    H5Sclose(space);
}

static void strings(hid_t loc, const char *name, int n, const char *first, const char *pattern,
                    H5T_cset_t cset)
{
    const size_t width = 48;
    char *packed = calloc((size_t)(n ? n : 1), width);
    for (int i = 0; i < n; i++)
        snprintf(packed + (size_t)i * width, width, pattern, i);
    if (first && n > 0)
        snprintf(packed, width, "%s", first);
    hid_t t = string_type(width, cset);
    hsize_t dims[1] = {(hsize_t)n};
    dataset(loc, name, t, 1, dims, H5P_DEFAULT, packed);
    H5Tclose(t);
    free(packed);
}

static void write_cache(const char *path, const fixture_opts *o)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    H5T_cset_t cset = o->cset;
    attr_str(f, "format", PT_CACHE_FORMAT, cset);
    attr_i64(f, "version", PT_CACHE_VERSION);
    attr_i64(f, "height", H);
    attr_i64(f, "width", W);
    attr_i64(f, "channels", 1);
    hid_t names = string_type(16, cset);
    char class_names[2][16] = {"normal", "pneumonia"};
    hsize_t two[1] = {2};
    hid_t space = H5Screate_simple(1, two, NULL);
    hid_t a = H5Acreate2(f, "class_names", names, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, names, class_names);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(names);
    attr_str(f, "label_mode", o->multi ? "multi" : "single", cset);
    attr_str(f, "created", "2024-05-01T12:00:00Z", cset);
    attr_str(f, "generator", "test_cache", cset);
    attr_str(f, "layout", "kermany", cset);
    attr_i64(f, "n_skipped", 1);
    for (int s = 0; s < 3; s++) {
        hid_t g = H5Gcreate2(f, splits[s], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        int n = rows[s];
        uint8_t *images = malloc((size_t)n * H * W);
        for (int i = 0; i < n * H * W; i++)
            images[i] = (uint8_t)(i * 7 + s);
        hsize_t dims[3] = {(hsize_t)n, H, W};
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (o->checksum) {
            hsize_t chunk[3] = {2, H, W};
            H5Pset_chunk(dcpl, 3, chunk);
            H5Pset_fletcher32(dcpl);
        }
        dataset(g, "images", H5T_STD_U8LE, 3, dims, dcpl, images);
        H5Pclose(dcpl);
        free(images);
        if (o->multi) {
            uint8_t targets[12][2];
            for (int i = 0; i < n; i++) {
                targets[i][0] = (uint8_t)(i % 2);
                targets[i][1] = (uint8_t)(i % 3 == 0);
            }
            hsize_t d2[2] = {(hsize_t)n, 2};
            dataset(g, "labels", H5T_STD_U8LE, 2, d2, H5P_DEFAULT, targets);
        } else {
            int32_t labels[12];
            for (int i = 0; i < n; i++)
                labels[i] = i % 2;
            dataset(g, "labels", H5T_STD_I32LE, 1, dims, H5P_DEFAULT, labels);
        }
        strings(g, "patient", n, NULL, "patient-%d", cset);
        strings(g, "source", n, s == 0 ? (o->source ? o->source : sources[0]) : sources[s],
                "file-%d.jpeg", cset);
        if (s == 0) {
            attr_f64(g, "mean", 0.4);
            attr_f64(g, "std", 0.2);
        }
        H5Gclose(g);
    }
    strings(f, "skipped", 1, "bad.jpeg: truncated JPEG", "%d", cset);
    H5Fclose(f);
}

static void make(char *path, size_t cap, const char *name, const fixture_opts *o)
{
    snprintf(path, cap, "%s/%s", tmpdir, name);
    fixture_opts plain = {.cset = H5T_CSET_ASCII};
    write_cache(path, o ? o : &plain);
}

/* pt_cache_open must fail with PT_ERR_FORMAT and a one-line message holding every needle. */
static void assert_refused(const char *path, const char *const *needles)
{
    pt_cache *c = NULL;
    pt_error err;
    pt_error_clear(&err);
    int rc = pt_cache_open(path, &c, &err);
    if (rc == PT_OK)
        pt_cache_close(c);
    cr_assert_eq(rc, PT_ERR_FORMAT, "opening %s returned %d (%s), PT_ERR_FORMAT expected", path, rc,
                 err.msg);
    cr_log_info("refused as expected: %s", err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, path), "the file is not named: %s", err.msg);
    for (; *needles; needles++)
        cr_assert_not_null(strstr(err.msg, *needles), "'%s' not in: %s", *needles, err.msg);
}

static pt_cache *open_ok(const char *path)
{
    pt_cache *c = NULL;
    pt_error err;
    cr_assert_eq(pt_cache_open(path, &c, &err), PT_OK, "%s", err.msg);
    return c;
}

/* ---- a sound cache ---- */

Test(cache, a_sound_cache_opens_and_reads_back)
{
    char path[256];
    make(path, sizeof path, "ok.h5", NULL);
    pt_cache *c = open_ok(path);
    const pt_cache_info *info = pt_cache_get_info(c);
    cr_assert_eq(info->count[0], 12);
    cr_assert_eq(info->count[1], 4);
    cr_assert_eq(info->count[2], 4);
    cr_assert_eq(info->n_classes, 2);
    cr_assert_float_eq(info->mean, 0.4, 1e-12);
    cr_assert_float_eq(info->std, 0.2, 1e-12);
    int32_t labels[12];
    pt_error err;
    cr_assert_eq(pt_cache_read_labels(c, "train", 0, 12, labels, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(labels[11], 1);
    uint8_t images[2 * H * W];
    cr_assert_eq(pt_cache_read_images(c, "val", 2, 2, images, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(images[0], (uint8_t)(2 * H * W * 7 + 1));
    pt_cache_close(c);
}

/* ---- case 1: shapes and types, checked before any buffer is sized ---- */

Test(cache, labels_of_another_shape_are_refused_at_open)
{
    char path[256];
    make(path, sizeof path, "labels64.h5", NULL);
    /* int32 [N,64]: read as [N] today, 64 times the buffer */
    hsize_t dims[2] = {12, 64};
    cr_assert_eq(h5_tamper_replace(path, "/train/labels", H5T_STD_I32LE, 2, dims), 0);
    const char *needles[] = {"/train/labels", "int32 [12,64]", "expected int32 [12]", NULL};
    assert_refused(path, needles);
}

Test(cache, strings_of_another_rank_are_refused_at_open)
{
    char path[256];
    make(path, sizeof path, "source50.h5", NULL);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 16);
    hsize_t dims[2] = {4, 50};
    cr_assert_eq(h5_tamper_replace(path, "/test/source", t, 2, dims), 0);
    H5Tclose(t);
    const char *needles[] = {"/test/source", "[4,50]", "expected string [4]", NULL};
    assert_refused(path, needles);
}

Test(cache, strings_wider_than_any_path_are_refused_before_allocating)
{
    char path[256];
    make(path, sizeof path, "wide.h5", NULL);
    /* a damaged type stating 1 MiB per string (a bit flip can state 4 GiB): refused, not sized from
     */
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, (size_t)1 << 20);
    hsize_t dims[1] = {4};
    cr_assert_eq(h5_tamper_replace(path, "/test/source", t, 1, dims), 0);
    H5Tclose(t);
    pt_cache *c = NULL;
    pt_error err;
    cr_assert_eq(pt_cache_open(path, &c, &err), PT_OK, "%s", err.msg);
    char strings[4][64];
    cr_assert_eq(pt_cache_read_strings(c, "test", "source", 0, 4, &strings[0][0], 64, &err),
                 PT_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, "/test/source"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "1048576 bytes"), "%s", err.msg);
    pt_cache_close(c);

    /* the root's /skipped is named as such (fuzz_cache: the message said "//skipped") */
    make(path, sizeof path, "wide_skipped.h5", NULL);
    t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 70000);
    hsize_t one[1] = {1};
    cr_assert_eq(h5_tamper_replace(path, "/skipped", t, 1, one), 0);
    H5Tclose(t);
    cr_assert_eq(pt_cache_open(path, &c, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_cache_read_strings(c, NULL, "skipped", 0, 1, &strings[0][0], 64, &err),
                 PT_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, ": /skipped holds strings of 70000 bytes"), "%s", err.msg);
    pt_cache_close(c);
}

Test(cache, images_of_another_type_or_size_are_refused_at_open)
{
    char path[256];
    make(path, sizeof path, "img16.h5", NULL);
    hsize_t dims[3] = {4, H, W};
    cr_assert_eq(h5_tamper_replace(path, "/val/images", H5T_STD_I16LE, 3, dims), 0);
    const char *needles[] = {"/val/images", "int16", "expected uint8 [*,8,8]", NULL};
    assert_refused(path, needles);

    make(path, sizeof path, "img2d.h5", NULL);
    hsize_t flat[2] = {4, H * W};
    cr_assert_eq(h5_tamper_replace(path, "/test/images", H5T_STD_U8LE, 2, flat), 0);
    const char *needles2[] = {"/test/images", "[4,64]", NULL};
    assert_refused(path, needles2);
}

Test(cache, counts_that_disagree_across_datasets_are_refused)
{
    char path[256];
    make(path, sizeof path, "n_labels.h5", NULL);
    hsize_t eleven[1] = {11};
    cr_assert_eq(h5_tamper_replace(path, "/train/labels", H5T_STD_I32LE, 1, eleven), 0);
    const char *needles[] = {"/train/labels", "[11]", "expected int32 [12]", NULL};
    assert_refused(path, needles);

    make(path, sizeof path, "n_patient.h5", NULL);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 16);
    hsize_t five[1] = {5};
    cr_assert_eq(h5_tamper_replace(path, "/val/patient", t, 1, five), 0);
    H5Tclose(t);
    const char *needles2[] = {"/val/patient", "[5]", "expected string [4]", NULL};
    assert_refused(path, needles2);

    make(path, sizeof path, "n_skipped.h5", NULL);
    cr_assert_eq(h5_tamper_attr_i64(path, "/", "n_skipped", 5), 0);
    const char *needles3[] = {"/skipped", "[1]", "expected string [5]", NULL};
    assert_refused(path, needles3);
}

Test(cache, a_split_with_a_dataset_missing_is_refused)
{
    char path[256];
    make(path, sizeof path, "no_labels.h5", NULL);
    cr_assert_eq(h5_tamper_delete(path, "/val/labels"), 0);
    const char *needles[] = {"/val/labels", "missing", NULL};
    assert_refused(path, needles);

    make(path, sizeof path, "no_train.h5", NULL);
    cr_assert_eq(h5_tamper_delete(path, "/train"), 0);
    const char *needles2[] = {"/train", NULL};
    assert_refused(path, needles2);
}

Test(cache, label_values_outside_the_classes_are_refused_by_the_reader)
{
    char path[256];
    make(path, sizeof path, "label7.h5", NULL);
    hsize_t dims[1] = {4};
    cr_assert_eq(h5_tamper_replace(path, "/test/labels", H5T_STD_I32LE, 1, dims), 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/test/labels", H5P_DEFAULT);
    int32_t bad[4] = {0, 1, 7, 0};
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, bad);
    H5Dclose(d);
    H5Fclose(f);
    pt_cache *c = open_ok(path);
    int32_t labels[4];
    pt_error err;
    cr_assert_eq(pt_cache_read_labels(c, "test", 0, 4, labels, &err), PT_ERR_FORMAT,
                 "label 7 of 2 classes was read");
    cr_assert_not_null(strstr(err.msg, "/test/labels"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "7"), "%s", err.msg);
    pt_cache_close(c);

    fixture_opts multi = {.multi = 1};
    make(path, sizeof path, "target2.h5", &multi);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    d = H5Dopen2(f, "/val/labels", H5P_DEFAULT);
    uint8_t targets[4][2] = {{0, 1}, {1, 0}, {2, 0}, {0, 0}};
    H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, targets);
    H5Dclose(d);
    H5Fclose(f);
    c = open_ok(path);
    uint8_t got[4][2];
    cr_assert_eq(pt_cache_read_multi_labels(c, "val", 0, 4, &got[0][0], &err), PT_ERR_FORMAT,
                 "a target of 2 was read");
    cr_assert_not_null(strstr(err.msg, "/val/labels"), "%s", err.msg);
    pt_cache_close(c);
}

/* ---- case 2: attributes in range, and agreeing with the datasets ---- */

Test(cache, label_mode_must_match_the_labels)
{
    char path[256];
    make(path, sizeof path, "flip_multi.h5", NULL);
    cr_assert_eq(h5_tamper_attr_str(path, "/", "label_mode", "multi"), 0);
    const char *needles[] = {"/train/labels", "int32 [12]", "expected uint8 [12,2]", "multi", NULL};
    assert_refused(path, needles);

    fixture_opts multi = {.multi = 1};
    make(path, sizeof path, "flip_single.h5", &multi);
    cr_assert_eq(h5_tamper_attr_str(path, "/", "label_mode", "single"), 0);
    const char *needles2[] = {"/train/labels", "expected int32 [12]", NULL};
    assert_refused(path, needles2);

    make(path, sizeof path, "mode_other.h5", NULL);
    cr_assert_eq(h5_tamper_attr_str(path, "/", "label_mode", "multiple"), 0);
    const char *needles3[] = {"label_mode", "multiple", NULL};
    assert_refused(path, needles3);
}

Test(cache, class_names_must_fit_the_labels_and_be_distinct)
{
    char path[256];
    fixture_opts multi = {.multi = 1};
    make(path, sizeof path, "grown_multi.h5", &multi);
    const char *three[] = {"normal", "pneumonia", "effusion"};
    cr_assert_eq(h5_tamper_attr_strings(path, "/", "class_names", three, 3), 0);
    const char *needles[] = {"/train/labels", "[12,2]", "expected uint8 [12,3]", NULL};
    assert_refused(path, needles);

    make(path, sizeof path, "twice.h5", NULL);
    const char *twice[] = {"normal", "normal"};
    cr_assert_eq(h5_tamper_attr_strings(path, "/", "class_names", twice, 2), 0);
    const char *needles2[] = {"class_names", "normal", NULL};
    assert_refused(path, needles2);

    make(path, sizeof path, "blank.h5", NULL);
    const char *blank[] = {"normal", ""};
    cr_assert_eq(h5_tamper_attr_strings(path, "/", "class_names", blank, 2), 0);
    const char *needles3[] = {"class_names", NULL};
    assert_refused(path, needles3);
}

/* A single-label cache whose class_names grew opens (its labels still fit), and the reader
 * counts the classes so that training can refuse a class without images (test_split in the
 * integration tests covers the message). */
Test(cache, class_counts_show_a_class_without_images)
{
    char path[256];
    make(path, sizeof path, "grown.h5", NULL);
    const char *three[] = {"normal", "pneumonia", "virus"};
    cr_assert_eq(h5_tamper_attr_strings(path, "/", "class_names", three, 3), 0);
    pt_cache *c = open_ok(path);
    const pt_cache_info *info = pt_cache_get_info(c);
    int32_t labels[12];
    pt_error err;
    cr_assert_eq(pt_cache_read_labels(c, "train", 0, 12, labels, &err), PT_OK, "%s", err.msg);
    int64_t counts[PT_CACHE_MAX_CLASSES];
    pt_cache_count_classes(info, labels, NULL, 12, counts);
    cr_assert_eq(counts[0], 6);
    cr_assert_eq(counts[1], 6);
    cr_assert_eq(counts[2], 0);
    char names[256];
    cr_assert_eq(pt_cache_empty_classes(info, counts, names, sizeof names), 1);
    cr_assert_str_eq(names, "'virus'");
    pt_cache_close(c);
}

Test(cache, pixel_statistics_must_be_finite_and_std_positive)
{
    struct {
        const char *name;
        double value;
    } bad[] = {{"std", 0.0},  {"std", NAN},  {"std", -0.2},      {"std", INFINITY},
               {"mean", NAN}, {"mean", 2.0}, {"mean", -INFINITY}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[256], name[32];
        snprintf(name, sizeof name, "stats%zu.h5", i);
        make(path, sizeof path, name, NULL);
        cr_assert_eq(h5_tamper_attr_f64(path, "/train", bad[i].name, bad[i].value), 0);
        const char *needles[] = {"/train", bad[i].name, NULL};
        assert_refused(path, needles);
    }
    char path[256];
    make(path, sizeof path, "no_std.h5", NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete_by_name(f, "/train", "std", H5P_DEFAULT);
    H5Fclose(f);
    const char *needles[] = {"std", NULL};
    assert_refused(path, needles);
}

Test(cache, image_shape_attributes_must_be_sane)
{
    struct {
        const char *name;
        int64_t value;
    } bad[] = {{"height", 0}, {"width", -8}, {"height", 100000}, {"channels", 3}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[256], name[32];
        snprintf(name, sizeof name, "shape%zu.h5", i);
        make(path, sizeof path, name, NULL);
        cr_assert_eq(h5_tamper_attr_i64(path, "/", bad[i].name, bad[i].value), 0);
        const char *needles[] = {NULL};
        assert_refused(path, needles);
    }
}

/* Replaces root attribute `name` by one of `type` holding n values (rank 1) or one (n == 0:
 * scalar). */
static void set_root_attr(const char *path, const char *name, hid_t type, const void *values,
                          hsize_t n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(f, 0, "%s", path);
    H5Adelete(f, name);
    hid_t space = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(a, 0, "attribute %s", name);
    cr_assert_geq(H5Awrite(a, type, values), 0, "attribute %s", name);
    H5Aclose(a);
    H5Sclose(space);
    H5Fclose(f);
}

/* fuzz_cache: a root "width" of int64 [1,4] was read with H5Aread into one int64, which wrote all
 * four values over the reader's stack. A number attribute holding more (or fewer) than one
 * value, or a text, is now refused before it is read. */
Test(cache, a_number_attribute_holding_an_array_or_a_text_is_refused_before_reading)
{
    const int64_t four[4] = {W, W, W, W};
    char path[256];
    make(path, sizeof path, "width_array.h5", NULL);
    set_root_attr(path, "width", H5T_NATIVE_INT64, four, 4);
    const char *array[] = {"attribute 'width'", "holds 4 numbers, expected one", NULL};
    assert_refused(path, array);

    const double twice[2] = {0.5, 0.5};
    make(path, sizeof path, "mean_array.h5", NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t train = H5Gopen2(f, "train", H5P_DEFAULT);
    hsize_t two = 2;
    hid_t space = H5Screate_simple(1, &two, NULL);
    H5Adelete(train, "mean");
    hid_t a = H5Acreate2(train, "mean", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(a, 0);
    cr_assert_geq(H5Awrite(a, H5T_NATIVE_DOUBLE, twice), 0);
    H5Aclose(a);
    H5Sclose(space);
    H5Gclose(train);
    H5Fclose(f);
    const char *stats[] = {"/train attribute mean", NULL};
    assert_refused(path, stats);

    make(path, sizeof path, "height_text.h5", NULL);
    cr_assert_eq(h5_tamper_attr_str(path, "/", "height", "8"), 0);
    const char *text[] = {"attribute 'height'", "is not a number", NULL};
    assert_refused(path, text);
}

/* ---- case 3: checksums ---- */

Test(cache, a_flipped_byte_in_the_images_is_a_checksum_error_naming_the_dataset)
{
    char path[256];
    fixture_opts sum = {.checksum = 1};
    make(path, sizeof path, "flip.h5", &sum);
    cr_assert_eq(h5_tamper_flip(path, "/train/images"), 0);
    pt_cache *c = open_ok(path);
    uint8_t images[12 * H * W];
    pt_error err;
    cr_assert_eq(pt_cache_read_images(c, "train", 0, 12, images, &err), PT_ERR_FORMAT,
                 "corrupt images were read (%s)", err.msg);
    cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "/train/images"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "checksum mismatch"), "%s", err.msg);
    /* the other splits are intact */
    cr_assert_eq(pt_cache_read_images(c, "val", 0, 4, images, &err), PT_OK, "%s", err.msg);
    pt_cache_close(c);
}

/* ---- case 5: strings are UTF-8, and files written before still read ---- */

Test(cache, strings_are_written_as_utf8)
{
    char path[256];
    snprintf(path, sizeof path, "%s/strings.h5", tmpdir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    pt_error err;
    const char *names[] = {"normal", "Lungenentz\xc3\xbcndung"};
    cr_assert_eq(pt_h5_attr_write_strings(f, "class_names", names, 2, path, &err), PT_OK);
    cr_assert_eq(pt_h5_attr_write_string(f, "source", "r\xc3\xb6ntgen", path, &err), PT_OK);
    hid_t t = pt_h5_string_type(12);
    cr_assert_eq(H5Tget_cset(t), H5T_CSET_UTF8, "pt_h5_string_type is not UTF-8");
    H5Tclose(t);
    H5Fclose(f);
    cr_assert_eq(h5_tamper_cset(path, "/", "class_names"), H5T_CSET_UTF8);
    cr_assert_eq(h5_tamper_cset(path, "/", "source"), H5T_CSET_UTF8);

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char got[2][32];
    size_t n = 0;
    cr_assert_eq(pt_h5_attr_read_strings(f, "class_names", &got[0][0], 32, 2, &n, path, &err),
                 PT_OK, "%s", err.msg);
    cr_assert_str_eq(got[1], names[1]);
    H5Fclose(f);
}

Test(cache, a_non_ascii_source_name_round_trips)
{
    char path[256];
    fixture_opts utf8 = {.cset = H5T_CSET_UTF8};
    make(path, sizeof path, "utf8.h5", &utf8);
    pt_cache *c = open_ok(path);
    char got[12][128];
    pt_error err;
    cr_assert_eq(pt_cache_read_strings(c, "train", "source", 0, 12, &got[0][0], 128, &err), PT_OK,
                 "%s", err.msg);
    cr_assert_str_eq(got[0], sources[0]);
    pt_cache_close(c);
}

Test(cache, caches_written_before_utf8_still_open)
{
    char path[256];
    fixture_opts old = {.cset = H5T_CSET_ASCII, .source = "NORMAL/IM-0001-0001.jpeg"};
    make(path, sizeof path, "ascii.h5", &old);
    pt_cache *c = open_ok(path);
    const pt_cache_info *info = pt_cache_get_info(c);
    cr_assert_str_eq(info->class_names[1], "pneumonia");
    char got[12][128];
    pt_error err;
    cr_assert_eq(pt_cache_read_strings(c, "train", "source", 0, 12, &got[0][0], 128, &err), PT_OK,
                 "%s", err.msg);
    cr_assert_str_eq(got[0], "NORMAL/IM-0001-0001.jpeg");
    cr_assert_eq(pt_cache_read_strings(c, NULL, "skipped", 0, 1, &got[0][0], 128, &err), PT_OK,
                 "%s", err.msg);
    cr_assert_str_eq(got[0], "bad.jpeg: truncated JPEG");
    pt_cache_close(c);
}
