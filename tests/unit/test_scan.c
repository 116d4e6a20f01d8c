/* Source scanning: every layout, its labels, patients and splits, on trees the test builds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "image_fixtures.h"
#include "scan.h"
#include "tmpdir.h"

static char root[256];

static void make_root(void)
{
    cr_assert_eq(fixture_mkdtemp(root, sizeof root), 0, "mkdtemp failed");
}

static void remove_root(void)
{
    cr_assert_eq(fixture_rmtree(root), 0);
}

/* mkdir -p of root/rel's directory, then a small image there. */
static void put(const char *rel, int png)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    }
    int rc = png ? fixture_write_png(path, 8, 8, 100) : fixture_write_jpeg(path, 8, 8, 100);
    cr_assert_eq(rc, 0, "writing %s", path);
}

static void put_text(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    cr_assert_eq(fixture_write_bytes(path, (const uint8_t *)text, strlen(text)), 0);
}

static const pt_entry *find(const pt_filelist *list, const char *path)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->entries[i].path, path) == 0)
            return &list->entries[i];
    cr_assert_fail("%s not in the list", path);
    return NULL;
}

static void make_kermany(const char *top)
{
    char rel[256];
    const char *files[] = {
        "train/NORMAL/IM-0115-0001.jpeg",          "train/NORMAL/IM-0115-0002.jpeg",
        "train/NORMAL/NORMAL2-IM-0927-0001.jpeg",  "train/PNEUMONIA/person1_bacteria_1.jpeg",
        "train/PNEUMONIA/person1_bacteria_2.jpeg", "train/PNEUMONIA/person2_virus_6.jpeg",
        "val/NORMAL/NORMAL2-IM-1427-0001.jpeg",    "val/PNEUMONIA/person3_virus_7.jpeg",
        "test/NORMAL/IM-0001-0001.jpeg",           "test/PNEUMONIA/person4_bacteria_9.jpeg"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(rel, sizeof rel, "%s%s", top, files[i]);
        put(rel, 0);
    }
    snprintf(rel, sizeof rel, "%strain/NORMAL/.DS_Store", top);
    put_text(rel, "macOS junk");
}

Test(scan, kermany_two_classes_merges_val_into_train, .init = make_root, .fini = remove_root)
{
    make_kermany("");
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO};
    pt_filelist list;
    pt_error err;
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(list.layout, "kermany");
    cr_assert_eq(list.n_classes, 2);
    cr_assert_str_eq(list.class_names[0], "normal");
    cr_assert_str_eq(list.class_names[1], "pneumonia");
    cr_assert_eq(list.count, 10, "hidden files are ignored");
    cr_assert_eq(pt_filelist_count_split(&list, PT_SPLIT_TRAIN), 8);
    cr_assert_eq(pt_filelist_count_split(&list, PT_SPLIT_VAL), 0);
    cr_assert_eq(pt_filelist_count_split(&list, PT_SPLIT_TEST), 2);

    const pt_entry *e = find(&list, "train/NORMAL/NORMAL2-IM-0927-0001.jpeg");
    cr_assert_eq(e->label, 0);
    cr_assert_str_eq(e->patient, "NORMAL2-IM-0927");
    e = find(&list, "val/PNEUMONIA/person3_virus_7.jpeg");
    cr_assert_eq(e->label, 1);
    cr_assert_eq(e->split, PT_SPLIT_TRAIN);
    cr_assert_str_eq(e->patient, "person3");
    /* sorted by split then path */
    for (size_t i = 1; i < list.count; i++)
        cr_assert(list.entries[i - 1].split < list.entries[i].split ||
                  strcmp(list.entries[i - 1].path, list.entries[i].path) < 0);
    pt_filelist_free(&list);
}

Test(scan, kermany_three_classes_and_keep_val, .init = make_root, .fini = remove_root)
{
    make_kermany("chest_xray/");
    put("chest_xray/train/PNEUMONIA/person9_unclear_1.jpeg", 0);
    pt_scan_opts opts = {
        .layout = PT_LAYOUT_AUTO, .classes = "normal,bacteria,virus", .keep_source_val = 1};
    pt_filelist list;
    pt_error err;
    /* the folder above chest_xray/ is accepted */
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(list.n_classes, 3);
    cr_assert_eq(find(&list, "train/PNEUMONIA/person1_bacteria_2.jpeg")->label, 1);
    cr_assert_eq(find(&list, "train/PNEUMONIA/person2_virus_6.jpeg")->label, 2);
    cr_assert_eq(find(&list, "train/NORMAL/IM-0115-0001.jpeg")->label, 0);
    cr_assert_eq(pt_filelist_count_split(&list, PT_SPLIT_VAL), 2);
    cr_assert_eq(list.n_rejected, 1);
    cr_assert(strstr(list.rejected[0], "person9_unclear_1.jpeg") != NULL, "%s", list.rejected[0]);
    pt_filelist_free(&list);

    opts.classes = "normal,fungus";
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "--classes") != NULL, "%s", err.msg);
    pt_filelist_free(&list);
}

Test(scan, imagefolder_with_and_without_splits, .init = make_root, .fini = remove_root)
{
    put("flat/cat/a.png", 1);
    put("flat/cat/b.jpg", 0);
    put("flat/dog/c.JPEG", 0);
    put_text("flat/dog/notes.txt", "not an image"); /* a candidate: prep will skip it */
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO};
    pt_filelist list;
    pt_error err;
    char src[300];
    snprintf(src, sizeof src, "%s/flat", root);
    cr_assert_eq(pt_scan_source(src, &opts, &list, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(list.layout, "imagefolder");
    cr_assert_eq(list.n_classes, 2);
    cr_assert_str_eq(list.class_names[0], "cat");
    cr_assert_eq(list.count, 4);
    cr_assert_eq(pt_filelist_count_split(&list, PT_SPLIT_TRAIN), 4);
    cr_assert_eq(find(&list, "dog/c.JPEG")->label, 1);
    pt_filelist_free(&list);

    put("split/train/b/x.png", 1);
    put("split/train/a/y.png", 1);
    put("split/test/a/z.png", 1);
    put("split/val/c/w.png", 1);
    snprintf(src, sizeof src, "%s/split", root);
    cr_assert_eq(pt_scan_source(src, &opts, &list, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(list.n_classes, 3, "classes are the union over splits");
    cr_assert_str_eq(list.class_names[2], "c");
    cr_assert_eq(find(&list, "train/b/x.png")->label, 1);
    cr_assert_eq(find(&list, "test/a/z.png")->split, PT_SPLIT_TEST);
    cr_assert_eq(find(&list, "val/c/w.png")->split, PT_SPLIT_VAL);
    pt_filelist_free(&list);

    opts.classes = "b,a"; /* order and subset chosen by the user */
    cr_assert_eq(pt_scan_source(src, &opts, &list, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(list.count, 3);
    cr_assert_eq(find(&list, "train/b/x.png")->label, 0);
    cr_assert_eq(find(&list, "train/a/y.png")->label, 1);
    pt_filelist_free(&list);
}

Test(scan, nih_csv_multi_label, .init = make_root, .fini = remove_root)
{
    put("images_001/images/00000001_000.png", 1);
    put("images_001/images/00000001_001.png", 1);
    put("images_002/images/00000002_000.png", 1);
    put("images_002/images/00000003_000.png", 1);
    put_text("Data_Entry_2017.csv",
             "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
             "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n"
             "00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143\n"
             "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143\n"
             "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171\n"
             "00000003_000.png,Hernia|Pneumonia,0,3,81,F,PA,2582,2991,0.143,0.143\n"
             "00000004_000.png,Mass,0,4,82,M,AP,2500,2048,0.168,0.168\n");
    put_text("test_list.txt", "00000003_000.png\n");
    put_text("train_val_list.txt", "00000001_000.png\n00000001_001.png\n00000002_000.png\n");
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO};
    pt_filelist list;
    pt_error err;
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(list.layout, "csv");
    cr_assert_eq(list.multi_label, 1);
    /* all findings but "No Finding", sorted */
    const char *want[] = {"Cardiomegaly", "Emphysema", "Hernia", "Mass", "Pneumonia"};
    cr_assert_eq(list.n_classes, 5);
    for (int c = 0; c < 5; c++)
        cr_assert_str_eq(list.class_names[c], want[c]);
    cr_assert_eq(list.count, 4);
    const pt_entry *e = find(&list, "images_001/images/00000001_001.png");
    cr_assert_eq(e->labels, 0x3);
    cr_assert_str_eq(e->patient, "1");
    cr_assert_eq(find(&list, "images_002/images/00000002_000.png")->labels, 0);
    e = find(&list, "images_002/images/00000003_000.png");
    cr_assert_eq(e->labels, (1u << 2) | (1u << 4));
    cr_assert_eq(e->split, PT_SPLIT_TEST);
    cr_assert_eq(list.n_rejected, 1, "00000004_000.png is listed but missing");
    pt_filelist_free(&list);
}

static void write_gz(const char *rel, const uint8_t *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    gzFile f = gzopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(gzwrite(f, data, (unsigned)n), (int)n);
    cr_assert_eq(gzclose(f), Z_OK);
}

Test(scan, idx_pairs, .init = make_root, .fini = remove_root)
{
    uint8_t images[16 + 3 * 4] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    uint8_t labels[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 2, 0, 1};
    write_gz("train-images-idx3-ubyte.gz", images, sizeof images);
    write_gz("train-labels-idx1-ubyte.gz", labels, sizeof labels);
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO};
    pt_filelist list;
    pt_error err;
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(list.layout, "idx");
    cr_assert_eq(list.count, 3);
    cr_assert_eq(list.n_classes, 3, "digits 0..max label");
    cr_assert_eq(list.entries[0].record, 0);
    cr_assert_eq(list.entries[0].label, 2);
    cr_assert_eq(list.entries[2].label, 1);
    cr_assert_str_eq(list.entries[0].path, "train-images-idx3-ubyte.gz");
    cr_assert_str_neq(list.entries[0].patient, list.entries[1].patient);
    pt_filelist_free(&list);

    /* images without labels is an error naming what is missing */
    char path[512];
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", root);
    unlink(path);
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "labels") != NULL, "%s", err.msg);
    pt_filelist_free(&list);
}

Test(scan, empty_and_missing_sources_are_clear_errors, .init = make_root, .fini = remove_root)
{
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO};
    pt_filelist list;
    pt_error err;
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_ERR_EMPTY);
    cr_assert(strstr(err.msg, root) != NULL, "%s", err.msg);
    pt_filelist_free(&list);
    cr_assert_eq(pt_scan_source("/nonexistent/ptrain", &opts, &list, &err), PT_ERR_IO);
    pt_filelist_free(&list);
    opts.layout = PT_LAYOUT_CSV;
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "Data_Entry_2017.csv") != NULL, "%s", err.msg);
    pt_filelist_free(&list);
}

/* ---- what a file system can hold besides images ---------------------------------------------- */

static void link_at(const char *target, const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path, strerror(errno));
}

/* The first rejection containing every one of the (up to two) texts, or NULL. */
static const char *rejected_with(const pt_filelist *list, const char *a, const char *b)
{
    for (size_t i = 0; i < list->n_rejected; i++)
        if (strstr(list->rejected[i], a) && (!b || strstr(list->rejected[i], b)))
            return list->rejected[i];
    return NULL;
}

static const char *warned_with(const pt_filelist *list, const char *a, const char *b)
{
    for (size_t i = 0; i < list->n_warnings; i++)
        if (strstr(list->warnings[i], a) && (!b || strstr(list->warnings[i], b)))
            return list->warnings[i];
    return NULL;
}

static void scan_ok(const char *src, const pt_scan_opts *opts, pt_filelist *list)
{
    pt_error err;
    pt_error_clear(&err);
    cr_assert_eq(pt_scan_source(src, opts, list, &err), PT_OK, "%s", err.msg);
}

/* A `loop -> .` inside a class folder used to import each file 41 times (until ELOOP). */
Test(scan, symlink_loop_is_entered_once_and_listed, .init = make_root, .fini = remove_root)
{
    put("cat/a.png", 1);
    put("dog/b.png", 1);
    link_at(".", "cat/loop");
    link_at("..", "dog/up");
    pt_scan_opts opts = {.layout = PT_LAYOUT_IMAGEFOLDER};
    pt_filelist list;
    scan_ok(root, &opts, &list);
    cr_assert_eq(list.count, 2, "each image once, not once per trip round the loop");
    cr_assert_not_null(rejected_with(&list, "cat/loop: ", "already scanned"));
    cr_assert_not_null(rejected_with(&list, "dog/up: ", "already scanned"));
    pt_filelist_free(&list);

    opts.strict = 1;
    pt_error err;
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_ERR_INVALID);
    cr_assert(strstr(err.msg, "already scanned") != NULL, "%s", err.msg);
    pt_filelist_free(&list);
}

/* Links inside the source are followed; links out of it only with --follow-symlinks. */
Test(scan, symlinks_leaving_the_source_need_follow_symlinks, .init = make_root, .fini = remove_root)
{
    put("src/cat/a.png", 1);
    put("src/dog/b.png", 1);
    put("outside/c.png", 1);
    put("outside_dir/d.png", 1);
    put("outside_dir/e.png", 1);
    link_at("../cat/a.png", "src/dog/inside.png"); /* inside the source: followed */
    link_at("../../outside/c.png", "src/cat/c.png");
    link_at("../../outside_dir", "src/dog/more");
    char src[300];
    snprintf(src, sizeof src, "%s/src", root);
    pt_scan_opts opts = {.layout = PT_LAYOUT_IMAGEFOLDER};
    pt_filelist list;
    scan_ok(src, &opts, &list);
    cr_assert_eq(list.count, 3, "a, b and the link inside the source");
    find(&list, "dog/inside.png");
    cr_assert_not_null(rejected_with(&list, "cat/c.png: ", "--follow-symlinks"));
    cr_assert_not_null(rejected_with(&list, "dog/more: ", "outside the source"));
    pt_filelist_free(&list);

    opts.follow_symlinks = 1;
    scan_ok(src, &opts, &list);
    cr_assert_eq(list.count, 6);
    cr_assert_eq(find(&list, "dog/more/e.png")->label, 1);
    cr_assert_eq(find(&list, "cat/c.png")->label, 0);
    cr_assert_eq(list.n_rejected, 0);
    pt_filelist_free(&list);
}

/* 1000 nested folders overflowed the stack of the recursive walk. */
Test(scan, deep_tree_is_walked_without_recursion, .init = make_root, .fini = remove_root)
{
    put("cat/top.png", 1);
    put("dog/b.png", 1);
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/cat", root);
    for (int depth = 0; depth < 1000; depth++) {
        n += snprintf(path + n, sizeof path - (size_t)n, "/d");
        cr_assert_eq(mkdir(path, 0755), 0, "%s", strerror(errno));
    }
    snprintf(path + n, sizeof path - (size_t)n, "/deep.png");
    cr_assert_eq(fixture_write_png(path, 4, 4, 9), 0);
    pt_scan_opts opts = {.layout = PT_LAYOUT_IMAGEFOLDER};
    pt_filelist list;
    scan_ok(root, &opts, &list);
    cr_assert_eq(list.count, 3);
    cr_assert_eq(list.n_rejected, 0);
    pt_filelist_free(&list);
}

/* The walk visits files in the same order as the recursive walk did: a folder's entries sorted
 * bytewise, each subfolder walked where its name sorts. (The list is sorted afterwards too; the
 * CSV's image index and the rejections come out in this order.) */
Test(scan, walk_order_is_depth_first_sorted, .init = make_root, .fini = remove_root)
{
    put("cat/b/z.png", 1);
    put("cat/a.png", 1);
    put("cat/c.png", 1);
    put("cat/b/a/y.png", 1);
    put("cat/B.png", 1);
    char pipe_path[512];
    /* rejections come out in walk order: the FIFOs tell it */
    const char *fifos[] = {"cat/b/a/f1", "cat/b/f2", "cat/f3", "cat/0f0"};
    for (int i = 0; i < 4; i++) {
        snprintf(pipe_path, sizeof pipe_path, "%s/%s", root, fifos[i]);
        cr_assert_eq(mkfifo(pipe_path, 0600), 0);
    }
    pt_scan_opts opts = {.layout = PT_LAYOUT_IMAGEFOLDER};
    pt_filelist list;
    scan_ok(root, &opts, &list);
    cr_assert_eq(list.n_rejected, 4);
    const char *order[] = {"cat/0f0: ", "cat/b/a/f1: ", "cat/b/f2: ", "cat/f3: "};
    for (int i = 0; i < 4; i++)
        cr_assert(strncmp(list.rejected[i], order[i], strlen(order[i])) == 0, "%d: %s", i,
                  list.rejected[i]);
    pt_filelist_free(&list);
}

/* FIFOs and dangling links are listed with a reason; opening a FIFO would block. */
Test(scan, fifos_and_dangling_symlinks_are_listed, .init = make_root, .fini = remove_root)
{
    put("cat/a.png", 1);
    put("dog/b.png", 1);
    char path[512];
    snprintf(path, sizeof path, "%s/cat/pipe.png", root);
    cr_assert_eq(mkfifo(path, 0600), 0);
    link_at("nowhere.png", "dog/gone.png");
    pt_scan_opts opts = {.layout = PT_LAYOUT_IMAGEFOLDER};
    pt_filelist list;
    scan_ok(root, &opts, &list);
    cr_assert_eq(list.count, 2);
    cr_assert_eq(list.n_rejected, 2);
    cr_assert_not_null(rejected_with(&list, "cat/pipe.png: ", "FIFO"));
    cr_assert_not_null(rejected_with(&list, "dog/gone.png: ", "dangling symbolic link"));
    pt_filelist_free(&list);
}

/* An unreadable sub-folder is listed and skipped; --strict makes it an error. Root reads
 * anything, so the scan runs with the effective user nobody (root gets its rights back after). */
Test(scan, unreadable_subfolder_is_listed_not_fatal, .init = make_root, .fini = remove_root)
{
    put("cat/a.png", 1);
    put("cat/locked/b.png", 1);
    put("dog/c.png", 1);
    char path[512];
    snprintf(path, sizeof path, "%s/cat/locked", root);
    cr_assert_eq(chmod(path, 0), 0);
    cr_assert_eq(chmod(root, 0755), 0);
    int was_root = geteuid() == 0;
    if (was_root)
        cr_assert_eq(seteuid(65534), 0, "seteuid(nobody): %s", strerror(errno));
    pt_scan_opts opts = {.layout = PT_LAYOUT_IMAGEFOLDER};
    pt_filelist list;
    pt_error err;
    int status = pt_scan_source(root, &opts, &list, &err);
    size_t count = list.count;
    const char *why = status == PT_OK ? rejected_with(&list, "cat/locked: ", "ermission") : NULL;
    int found = why != NULL;
    pt_filelist_free(&list);
    opts.strict = 1;
    int strict_status = pt_scan_source(root, &opts, &list, &err);
    pt_filelist_free(&list);
    if (was_root)
        cr_assert_eq(seteuid(0), 0);
    chmod(path, 0755);
    cr_assert_eq(status, PT_OK, "%s", err.msg);
    cr_assert_eq(count, 2);
    cr_assert(found, "cat/locked is not listed as unreadable");
    cr_assert_eq(strict_status, PT_ERR_IO);
}

/* A path longer than PATH_MAX (built one folder at a time) is listed and skipped. */
Test(scan, over_long_path_is_listed_not_fatal, .init = make_root, .fini = remove_root)
{
    put("cat/a.png", 1);
    put("dog/b.png", 1);
    char name[201];
    memset(name, 'x', 200);
    name[200] = '\0';
    int top = open(".", O_RDONLY | O_DIRECTORY);
    char cat[512];
    snprintf(cat, sizeof cat, "%s/cat", root);
    cr_assert_eq(chdir(cat), 0);
    for (int depth = 0; depth < 22; depth++) /* 22 * 201 bytes > 4096 */
        cr_assert(mkdir(name, 0755) == 0 && chdir(name) == 0, "%s", strerror(errno));
    cr_assert_eq(fixture_write_png("deep.png", 4, 4, 9), 0);
    cr_assert_eq(fchdir(top), 0);
    pt_scan_opts opts = {.layout = PT_LAYOUT_IMAGEFOLDER};
    pt_filelist list;
    pt_error err;
    int status = pt_scan_source(root, &opts, &list, &err);
    cr_assert_eq(status, PT_OK, "%s", err.msg);
    cr_assert_eq(list.count, 2);
    cr_assert_not_null(rejected_with(&list, "cat/xxxx", "path too long"));
    pt_filelist_free(&list);
    opts.strict = 1;
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_ERR_INVALID);
    pt_filelist_free(&list);
    /* nftw cannot remove what is beyond PATH_MAX: take the chain down from the inside */
    cr_assert_eq(chdir(cat), 0);
    for (int depth = 0; depth < 22; depth++)
        cr_assert_eq(chdir(name), 0);
    unlink("deep.png");
    for (int depth = 0; depth < 22; depth++)
        cr_assert(chdir("..") == 0 && rmdir(name) == 0, "%s", strerror(errno));
    cr_assert_eq(fchdir(top), 0);
    close(top);
}

/* ---- CSV: quotes, BOM, CRLF, duplicates ------------------------------------------------------ */

Test(scan, nih_csv_quoted_fields_bom_crlf_and_duplicates, .init = make_root, .fini = remove_root)
{
    put("images/a.png", 1);
    put("images/b.png", 1);
    put("images/c.png", 1);
    put_text("Data_Entry_2017.csv", "\xEF\xBB\xBFImage Index,Finding Labels,Notes,Patient ID\r\n"
                                    "\"a.png\",\"Effusion|Mass\",\"left, small\",\"17\"\r\n"
                                    "b.png,Effusion,\"two\r\nlines, and \"\"quotes\"\"\",18\r\n"
                                    "c.png,No Finding,,19\r\n"
                                    "b.png,Mass,,18\r\n");
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO};
    pt_filelist list;
    scan_ok(root, &opts, &list);
    cr_assert_eq(list.n_classes, 2, "no class made of a quote");
    cr_assert_str_eq(list.class_names[0], "Effusion");
    cr_assert_str_eq(list.class_names[1], "Mass");
    cr_assert_eq(list.count, 3, "b.png listed twice is imported once");
    const pt_entry *e = find(&list, "images/a.png");
    cr_assert_str_eq(e->patient, "17", "the quoted comma does not shift the patient column");
    cr_assert_eq(e->labels, 0x3);
    e = find(&list, "images/b.png");
    cr_assert_str_eq(e->patient, "18");
    cr_assert_eq(e->labels, 0x1, "the first row of a duplicate counts");
    cr_assert_str_eq(find(&list, "images/c.png")->patient, "19");
    cr_assert_not_null(warned_with(&list, "b.png", "more than once"));
    cr_assert_eq(list.n_rejected, 0);
    pt_filelist_free(&list);
}

Test(scan, nih_csv_malformed_is_an_error_naming_the_line, .init = make_root, .fini = remove_root)
{
    put("images/a.png", 1);
    put_text("Data_Entry_2017.csv", "Image Index,Finding Labels,Patient ID\n"
                                    "a.png,Effusion,1\n"
                                    "\"b.png,Mass,2\n");
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO};
    pt_filelist list;
    pt_error err;
    cr_assert_eq(pt_scan_source(root, &opts, &list, &err), PT_ERR_FORMAT);
    cr_assert(strstr(err.msg, "Data_Entry_2017.csv: line 3") != NULL, "%s", err.msg);
    pt_filelist_free(&list);
}

/* ---- warnings: labels missing, classes without images ---------------------------------------- */

Test(scan, idx_with_fewer_labels_than_images_warns, .init = make_root, .fini = remove_root)
{
    uint8_t images[16 + 3 * 4] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    uint8_t labels[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 0};
    write_gz("train-images-idx3-ubyte.gz", images, sizeof images);
    write_gz("train-labels-idx1-ubyte.gz", labels, sizeof labels);
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO};
    pt_filelist list;
    scan_ok(root, &opts, &list);
    cr_assert_eq(list.count, 2, "only the labelled images");
    cr_assert_not_null(warned_with(&list, "3 images", "2 labels"));
    pt_filelist_free(&list);

    /* more labels than images: the images there are, and a warning */
    uint8_t more[8 + 4] = {0, 0, 8, 1, 0, 0, 0, 4, 1, 0, 1, 0};
    write_gz("train-labels-idx1-ubyte.gz", more, sizeof more);
    scan_ok(root, &opts, &list);
    cr_assert_eq(list.count, 3);
    cr_assert_not_null(warned_with(&list, "3 images", "4 labels"));
    pt_filelist_free(&list);
}

Test(scan, classes_without_images_are_named_in_a_warning, .init = make_root, .fini = remove_root)
{
    put("cat/a.png", 1);
    put("dog/b.png", 1);
    pt_scan_opts opts = {.layout = PT_LAYOUT_AUTO, .classes = "cat,bird,dog"};
    pt_filelist list;
    scan_ok(root, &opts, &list);
    cr_assert_eq(list.count, 2);
    cr_assert_not_null(warned_with(&list, "'bird'", "no image"));
    cr_assert_null(warned_with(&list, "'cat'", NULL));
    pt_filelist_free(&list);
}

Test(scan, layout_names_round_trip)
{
    for (int i = 0; i < PT_LAYOUT_COUNT; i++) {
        pt_layout back;
        cr_assert_eq(pt_layout_parse(pt_layout_name((pt_layout)i), &back), PT_OK);
        cr_assert_eq(back, (pt_layout)i);
    }
    pt_layout unused;
    cr_assert_eq(pt_layout_parse("folders", &unused), PT_ERR_INVALID);
}
