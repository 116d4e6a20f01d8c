/* Checkpoints: a bit-exact round trip of everything a resumed run needs, the choice of the newest
 * VALID checkpoint among damaged, unfinished and temporary files, pruning, and refusals of a
 * checkpoint written for another network or optimizer. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5_tamper.h"
#include "tmpdir.h"
#include "ptrain/arch_file.h"
#include "ptrain/ckpt.h"
#include "ptrain/net.h"
#include "ptrain/optim.h"

/* ---- fixtures ---- */

static char tmpdir[128];

static void make_tmpdir(void)
{
    cr_assert_eq(fixture_mkdtemp(tmpdir, sizeof tmpdir), 0, "mkdtemp failed");
}

static void remove_tmpdir(void)
{
    fixture_rmtree(tmpdir);
}

TestSuite(ckpt, .init = make_tmpdir, .fini = remove_tmpdir);

static void in_tmp(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static int exists(const char *name)
{
    char path[512];
    in_tmp(path, sizeof path, name);
    return access(path, F_OK) == 0;
}

/* Distinct, awkward values (negative, tiny, large, -0.0), so that any conversion shows up in a
 * bitwise comparison. */
static void fill(float *x, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float v = (float)((int32_t)s) / 2147483648.0f;
        if (i % 97 == 0)
            v *= 1e-30f;
        if (i % 89 == 0)
            v *= 1e20f;
        if (i % 101 == 0)
            v = -0.0f;
        x[i] = v;
    }
}

/* What the trainer owns: a network, an optimizer state, and the checkpoint description. */
typedef struct trainer {
    pt_net *net;
    pt_optim_state optim;
    float *optim_buf;
    pt_ckpt ck;
} trainer;

static void setup(trainer *t, const char *preset, int size, int classes, pt_optim_kind kind,
                  uint32_t seed)
{
    memset(t, 0, sizeof *t);
    pt_arch arch;
    pt_error err;
    cr_assert_eq(pt_arch_load(preset, &arch, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_net_create(&arch, 1, size, size, classes, 2, &t->net, &err), PT_OK, "%s",
                 err.msg);
    pt_arch_free(&arch);
    size_t n = pt_net_param_count(t->net);
    t->optim_buf = malloc(pt_optim_state_floats(kind, n) * sizeof(float));
    cr_assert_not_null(t->optim_buf);
    cr_assert_eq(pt_optim_state_init(&t->optim, kind, n, t->optim_buf, &err), PT_OK, "%s", err.msg);
    if (seed) {
        fill(pt_net_params(t->net), n, seed);
        fill(pt_net_state(t->net), pt_net_state_count(t->net), seed + 1);
        fill(t->optim_buf, pt_optim_state_floats(kind, n), seed + 2);
    }
    pt_ckpt *ck = &t->ck;
    ck->params = pt_net_params(t->net);
    ck->n_params = n;
    ck->param_table = pt_net_param_table(t->net, &ck->n_param_tensors);
    ck->state = pt_net_state(t->net);
    ck->n_state = pt_net_state_count(t->net);
    ck->state_table = pt_net_state_table(t->net, &ck->n_state_tensors);
    ck->optim = &t->optim;
    ck->best_score = -INFINITY;
    ck->best_epoch = -1;
    ck->train_loss = NAN; /* unknown, as in a checkpoint written before losses were recorded */
}

static void teardown(trainer *t)
{
    pt_ckpt_free_loaded(&t->ck);
    pt_net_free(t->net);
    free(t->optim_buf);
}

static void save_at(trainer *t, int64_t step)
{
    pt_error err;
    t->ck.global_step = step;
    t->optim.step = step;
    t->ck.config = "{\"epochs\": 3}";
    t->ck.arch_text = "[dense]\noutputs=classes\n";
    cr_assert_eq(pt_ckpt_save(tmpdir, &t->ck, &err), PT_OK, "%s", err.msg);
}

/* ---- round trip ---- */

static void round_trip(const char *preset, int size, int classes, pt_optim_kind kind)
{
    trainer a, b;
    setup(&a, preset, size, classes, kind, 11);
    setup(&b, preset, size, classes, kind, 0);
    a.optim.step = 1234;
    a.ck.epoch = 4;
    a.ck.step_in_epoch = 17;
    a.ck.global_step = 1234;
    a.ck.seed = 0xfedcba9876543210ull; /* top bit set: survives as unsigned */
    a.ck.best_score = 0.91234567890123456;
    a.ck.best_epoch = 3;
    a.ck.config = "{\"arch\": \"cxr\", \"lr\": 0.1, \"note\": \"caf\xc3\xa9 \\\"quoted\\\"\"}";
    char *arch = pt_arch_preset_text(preset);
    cr_assert_not_null(arch);
    a.ck.arch_text = arch;
    pt_error err;
    cr_assert_eq(pt_ckpt_save(tmpdir, &a.ck, &err), PT_OK, "%s", err.msg);
    cr_assert(exists("ckpt-000001234.h5"), "checkpoint not named by its step");
    cr_assert(!exists("ckpt-000001234.h5.tmp"), "temporary left behind");

    char path[512];
    cr_assert_eq(pt_ckpt_find_latest(tmpdir, path, sizeof path, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_ckpt_load(path, &b.ck, &err), PT_OK, "%s", err.msg);

    size_t n = a.ck.n_params;
    cr_assert_eq(memcmp(b.ck.params, a.ck.params, n * sizeof(float)), 0, "parameters differ");
    cr_assert_eq(memcmp(b.ck.state, a.ck.state, a.ck.n_state * sizeof(float)), 0,
                 "batch-norm state differs");
    cr_assert_eq(memcmp(b.optim_buf, a.optim_buf, pt_optim_state_floats(kind, n) * sizeof(float)),
                 0, "optimizer state differs");
    cr_assert_eq(b.optim.step, 1234);
    cr_assert_eq(b.ck.epoch, 4);
    cr_assert_eq(b.ck.step_in_epoch, 17);
    cr_assert_eq(b.ck.global_step, 1234);
    cr_assert_eq(b.ck.seed, 0xfedcba9876543210ull);
    cr_assert_eq(memcmp(&b.ck.best_score, &a.ck.best_score, sizeof(double)), 0, "best score %.17g",
                 b.ck.best_score);
    cr_assert_eq(b.ck.best_epoch, 3);
    cr_assert_str_eq(b.ck.loaded_config, a.ck.config);
    cr_assert_str_eq(b.ck.loaded_arch_text, arch);

    pt_ckpt_info info;
    cr_assert_eq(pt_ckpt_peek(path, &info, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(info.global_step, 1234);
    cr_assert_eq(info.n_params, (int64_t)n);
    cr_assert_eq(info.optim_kind, kind);
    cr_assert_eq(info.optim_step, 1234);

    /* a second load into the same struct replaces the strings instead of leaking them */
    cr_assert_eq(pt_ckpt_load(path, &b.ck, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(b.ck.loaded_config, a.ck.config);
    free(arch);
    teardown(&a);
    teardown(&b);
}

Test(ckpt, cxr_adamw_round_trip_is_bit_exact)
{
    round_trip("cxr", 32, 3, PT_OPTIM_ADAMW);
}

Test(ckpt, fmnist_sgd_round_trip_is_bit_exact_without_state)
{
    round_trip("fmnist", 28, 10, PT_OPTIM_SGD);
}

Test(ckpt, long_config_and_nan_score_survive)
{
    trainer a, b;
    setup(&a, "cxr", 16, 2, PT_OPTIM_SGD, 21);
    setup(&b, "cxr", 16, 2, PT_OPTIM_SGD, 0);
    /* larger than HDF5's 64 KiB limit for a compact attribute */
    size_t len = 200000;
    char *config = malloc(len + 1);
    cr_assert_not_null(config);
    for (size_t i = 0; i < len; i++)
        config[i] = (char)('a' + i % 26);
    config[len] = '\0';
    a.ck.config = config;
    a.ck.best_score = NAN;
    a.ck.global_step = 7;
    pt_error err;
    cr_assert_eq(pt_ckpt_save(tmpdir, &a.ck, &err), PT_OK, "%s", err.msg);
    char path[512];
    cr_assert_eq(pt_ckpt_path(tmpdir, 7, path, sizeof path, &err), PT_OK);
    cr_assert_eq(pt_ckpt_load(path, &b.ck, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(strlen(b.ck.loaded_config), len);
    cr_assert_str_eq(b.ck.loaded_config, config);
    cr_assert_str_eq(b.ck.loaded_arch_text, ""); /* NULL saves as empty */
    cr_assert(isnan(b.ck.best_score));
    free(config);
    teardown(&a);
    teardown(&b);
}

Test(ckpt, names_are_zero_padded_steps)
{
    char path[256];
    pt_error err;
    cr_assert_eq(pt_ckpt_path("run/checkpoints", 42, path, sizeof path, &err), PT_OK);
    cr_assert_str_eq(path, "run/checkpoints/ckpt-000000042.h5");
    cr_assert_eq(pt_ckpt_path("d", 1234567890, path, sizeof path, &err), PT_OK);
    cr_assert_str_eq(path, "d/ckpt-1234567890.h5");
    cr_assert_eq(pt_ckpt_path("d", -1, path, sizeof path, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_ckpt_path("a-long-directory", 1, path, 10, &err), PT_ERR_INVALID);
}

/* ---- choosing the newest valid checkpoint ---- */

static void copy_file(const char *from, const char *to, long truncate_to)
{
    char src[512], dst[512];
    in_tmp(src, sizeof src, from);
    in_tmp(dst, sizeof dst, to);
    FILE *in = fopen(src, "rb");
    cr_assert_not_null(in, "%s", src);
    FILE *out = fopen(dst, "wb");
    cr_assert_not_null(out, "%s", dst);
    char buf[65536];
    size_t got;
    long total = 0;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0) {
        if (truncate_to >= 0 && total + (long)got > truncate_to)
            got = (size_t)(truncate_to - total);
        cr_assert_eq(fwrite(buf, 1, got, out), got);
        total += (long)got;
        if (truncate_to >= 0 && total >= truncate_to)
            break;
    }
    fclose(in);
    cr_assert_eq(fclose(out), 0);
}

static long file_size(const char *name)
{
    char path[512];
    in_tmp(path, sizeof path, name);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    return (long)st.st_size;
}

static void write_text(const char *name, const char *text)
{
    char path[512];
    in_tmp(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* A checkpoint whose writer died before the marker: everything but "complete". */
static void remove_marker(const char *name)
{
    char path[512];
    in_tmp(path, sizeof path, name);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    cr_assert_geq(H5Adelete(file, "complete"), 0);
    cr_assert_geq(H5Fclose(file), 0);
}

static void assert_latest(const char *want)
{
    char path[512], expect[512];
    pt_error err;
    cr_assert_eq(pt_ckpt_find_latest(tmpdir, path, sizeof path, &err), PT_OK, "%s", err.msg);
    in_tmp(expect, sizeof expect, want);
    cr_assert_str_eq(path, expect);
}

Test(ckpt, find_latest_skips_damaged_unfinished_and_temporary_files)
{
    trainer t;
    setup(&t, "cxr", 16, 2, PT_OPTIM_ADAMW, 31);
    pt_error err;
    char path[512];
    cr_assert_eq(pt_ckpt_find_latest(tmpdir, path, sizeof path, &err), PT_ERR_EMPTY);
    cr_assert_not_null(strstr(err.msg, tmpdir), "%s", err.msg);

    save_at(&t, 100);
    save_at(&t, 200);
    save_at(&t, 300);
    assert_latest("ckpt-000000300.h5");

    /* newer, but each one unusable */
    copy_file("ckpt-000000300.h5", "ckpt-000000400.h5", file_size("ckpt-000000300.h5") / 2);
    save_at(&t, 500);
    remove_marker("ckpt-000000500.h5");
    copy_file("ckpt-000000300.h5", "ckpt-000000600.h5.tmp", -1); /* valid content, temp name */
    write_text("ckpt-000000700.h5", "not hdf5\n");
    copy_file("ckpt-000000300.h5", "ckpt-000000800.h5", 0);
    copy_file("ckpt-000000300.h5", "ckpt-800.h5", -1); /* not our name: never considered */
    assert_latest("ckpt-000000300.h5");

    /* and each one refused by load with the reason */
    const char *cases[][2] = {{"ckpt-000000400.h5", "damaged or truncated"},
                              {"ckpt-000000500.h5", "incomplete"},
                              {"ckpt-000000700.h5", "not an HDF5 file"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        in_tmp(path, sizeof path, cases[i][0]);
        int rc = pt_ckpt_load(path, &t.ck, &err);
        cr_assert_neq(rc, PT_OK, "%s loaded", path);
        cr_log_info("refused as expected: %s", err.msg);
        cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
        cr_assert_not_null(strstr(err.msg, cases[i][1]), "%s", err.msg);
    }

    /* the newest valid one wins once it exists, even past 9 digits */
    save_at(&t, 1000000000);
    assert_latest("ckpt-1000000000.h5");

    /* a missing directory is simply "none" */
    cr_assert_eq(pt_ckpt_find_latest("/nonexistent/ptrain-ckpt", path, sizeof path, &err),
                 PT_ERR_EMPTY);
    cr_assert_eq(pt_ckpt_find_latest(tmpdir, path, 8, &err), PT_ERR_INVALID);
    teardown(&t);
}

Test(ckpt, prune_keeps_the_newest_valid_ones)
{
    trainer t;
    setup(&t, "fmnist", 28, 10, PT_OPTIM_SGD, 41);
    for (int64_t s = 100; s <= 500; s += 100)
        save_at(&t, s);
    write_text("ckpt-000000050.h5", "damaged, old\n");
    write_text("ckpt-000000350.h5", "damaged, between\n");
    write_text("ckpt-000000900.h5", "damaged, newest\n");
    copy_file("ckpt-000000100.h5", "ckpt-000000600.h5.tmp", -1);
    write_text("notes.txt", "mine\n");
    pt_error err;
    cr_assert_eq(pt_ckpt_prune(tmpdir, 0, &err), PT_ERR_INVALID);
    cr_assert_eq(pt_ckpt_prune(tmpdir, 2, &err), PT_OK, "%s", err.msg);

    cr_assert(exists("ckpt-000000500.h5"));
    cr_assert(exists("ckpt-000000400.h5"));
    cr_assert(!exists("ckpt-000000350.h5"), "damaged superseded file kept");
    cr_assert(!exists("ckpt-000000300.h5"));
    cr_assert(!exists("ckpt-000000200.h5"));
    cr_assert(!exists("ckpt-000000100.h5"));
    cr_assert(!exists("ckpt-000000050.h5"));
    cr_assert(!exists("ckpt-000000600.h5.tmp"), "temporary kept");
    cr_assert(exists("ckpt-000000900.h5"), "a file newer than every valid one was deleted");
    cr_assert(exists("notes.txt"), "a file that is not a checkpoint was deleted");
    assert_latest("ckpt-000000500.h5");

    /* keeping more than there are deletes nothing valid */
    cr_assert_eq(pt_ckpt_prune(tmpdir, 10, &err), PT_OK, "%s", err.msg);
    cr_assert(exists("ckpt-000000400.h5"));
    cr_assert_eq(pt_ckpt_prune(tmpdir, 1, &err), PT_OK, "%s", err.msg);
    cr_assert(!exists("ckpt-000000400.h5"));
    cr_assert(exists("ckpt-000000500.h5"));
    teardown(&t);
}

/* A loss explosion: the newest checkpoints hold exploded weights; the last one written before
 * it must survive pruning, and be the one named. */
static void save_scaled(trainer *t, int64_t step, float scale, double loss)
{
    for (size_t i = 0; i < t->ck.n_params; i++)
        t->ck.params[i] *= scale;
    t->ck.train_loss = loss;
    save_at(t, step);
}

Test(ckpt, prune_keeps_the_checkpoint_before_a_loss_explosion)
{
    trainer t;
    setup(&t, "fmnist", 28, 10, PT_OPTIM_SGD, 43);
    save_scaled(&t, 1, 1.0f, 0.7);
    save_scaled(&t, 2, 1.1f, 0.6);
    save_scaled(&t, 3, 1.1f, 0.5);
    save_scaled(&t, 4, 1e3f, 0.0); /* exploded weights can get a batch right: loss 0 */
    save_scaled(&t, 5, 1e3f, 1e9);
    save_scaled(&t, 6, 1e3f, 1e15);
    pt_error err;
    cr_assert_eq(pt_ckpt_prune(tmpdir, 2, &err), PT_OK, "%s", err.msg);
    cr_assert(exists("ckpt-000000006.h5"));
    cr_assert(exists("ckpt-000000005.h5"));
    cr_assert(exists("ckpt-000000003.h5"), "the checkpoint before the explosion was pruned");
    cr_assert(!exists("ckpt-000000004.h5"));
    cr_assert(!exists("ckpt-000000002.h5"));
    cr_assert(!exists("ckpt-000000001.h5"));
    /* the choice holds as newer exploded checkpoints come and the prune runs again */
    save_scaled(&t, 7, 1e3f, 1e20);
    cr_assert_eq(pt_ckpt_prune(tmpdir, 2, &err), PT_OK, "%s", err.msg);
    cr_assert(exists("ckpt-000000003.h5"), "the checkpoint before the explosion was pruned later");
    cr_assert(!exists("ckpt-000000005.h5"));
    char path[512], want[512];
    double loss = NAN;
    cr_assert_eq(pt_ckpt_find_sane(tmpdir, path, sizeof path, &loss, &err), PT_OK, "%s", err.msg);
    in_tmp(want, sizeof want, "ckpt-000000003.h5");
    cr_assert_str_eq(path, want);
    cr_assert_float_eq(loss, 0.5, 1e-12);
    teardown(&t);
}

Test(ckpt, list_names_every_checkpoint_file_newest_first)
{
    trainer t;
    setup(&t, "fmnist", 28, 10, PT_OPTIM_SGD, 44);
    save_at(&t, 100);
    save_at(&t, 300);
    write_text("ckpt-000000200.h5", "damaged\n");
    copy_file("ckpt-000000100.h5", "ckpt-000000400.h5.tmp", -1);
    char **paths = NULL;
    size_t n = 0;
    pt_error err;
    cr_assert_eq(pt_ckpt_list(tmpdir, &paths, &n, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(n, 3, "temporaries are no checkpoints; damaged files are listed");
    const char *want[3] = {"ckpt-000000300.h5", "ckpt-000000200.h5", "ckpt-000000100.h5"};
    for (size_t i = 0; i < n; i++) {
        char path[512];
        in_tmp(path, sizeof path, want[i]);
        cr_assert_str_eq(paths[i], path);
    }
    pt_ckpt_list_free(paths, n);
    teardown(&t);
}

static void assert_position(int64_t epoch, int64_t step_in_epoch, int64_t global_step,
                            int64_t optim_step, const char *needle)
{
    pt_ckpt_info info = {.epoch = epoch,
                         .step_in_epoch = step_in_epoch,
                         .global_step = global_step,
                         .optim_step = optim_step};
    pt_error err;
    pt_error_clear(&err);
    int status = pt_ckpt_check_position(&info, 2, 11, "run/ckpt-000000012.h5", &err);
    if (!needle) {
        cr_assert_eq(status, PT_OK, "%s", err.msg);
        return;
    }
    cr_assert_eq(status, PT_ERR_FORMAT, "accepted: %s", needle);
    cr_assert(strstr(err.msg, "run/ckpt-000000012.h5"), "%s", err.msg);
    cr_assert(strstr(err.msg, needle), "'%s' not in: %s", needle, err.msg);
}

/* 2 epochs of 11 steps: the positions a run can be at, and what is refused outside them */
Test(ckpt, position_outside_the_run_is_refused)
{
    assert_position(1, 1, 12, 12, NULL);
    assert_position(0, 0, 0, 0, NULL);
    assert_position(2, 0, 22, 22, NULL); /* training complete: only the end remains */
    assert_position(1, -50, -39, -39, "step_in_epoch -50 is outside 0..10");
    assert_position(1, 1000, 1011, 1011, "step_in_epoch 1000 is outside 0..10");
    assert_position(999, 1, 10990, 10990, "epoch 999 is outside 0..2");
    assert_position(-1, 1, 1, 1, "epoch -1 is outside 0..2");
    assert_position(2, 3, 25, 25, "step_in_epoch 3 is outside 0..0");
    assert_position(1, 1, 999999, 999999, "global_step 999999 is outside 12..12");
    assert_position(1, 1, 12, -4, "optimizer step -4 is outside 0..12");
}

/* ---- refusals ---- */

static void assert_refused(trainer *t, const char *path, const char *const *needles)
{
    /* a sentinel: a refused load must not touch the buffers */
    fill(t->ck.params, t->ck.n_params, 99);
    float first = t->ck.params[0], last = t->ck.params[t->ck.n_params - 1];
    t->optim.step = 77;
    pt_error err;
    int rc = pt_ckpt_load(path, &t->ck, &err);
    cr_assert_neq(rc, PT_OK, "a mismatched checkpoint loaded");
    cr_log_info("refused as expected: %s", err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
    for (; *needles; needles++)
        cr_assert_not_null(strstr(err.msg, *needles), "'%s' not in: %s", *needles, err.msg);
    cr_assert_eq(memcmp(&t->ck.params[0], &first, sizeof first), 0, "buffers changed");
    cr_assert_eq(memcmp(&t->ck.params[t->ck.n_params - 1], &last, sizeof last), 0);
    cr_assert_eq(t->optim.step, 77);
    cr_assert_null(t->ck.loaded_config);
}

Test(ckpt, another_network_or_optimizer_is_refused)
{
    trainer a;
    setup(&a, "cxr", 32, 3, PT_OPTIM_ADAMW, 51);
    save_at(&a, 10);
    char path[512];
    in_tmp(path, sizeof path, "ckpt-000000010.h5");

    /* two classes instead of three: 129 parameters fewer in the head */
    trainer b;
    setup(&b, "cxr", 32, 2, PT_OPTIM_ADAMW, 0);
    char want[128];
    snprintf(want, sizeof want, "network with %zu parameters, this one has %zu", a.ck.n_params,
             b.ck.n_params);
    const char *needles[] = {path, want, NULL};
    assert_refused(&b, path, needles);
    teardown(&b);

    /* same sizes, another optimizer */
    setup(&b, "cxr", 32, 3, PT_OPTIM_SGD, 0);
    const char *needles2[] = {path, "adamw", "sgd", NULL};
    assert_refused(&b, path, needles2);
    teardown(&b);

    /* same counts, another layout: the first tensor that differs is named */
    setup(&b, "cxr", 32, 3, PT_OPTIM_ADAMW, 0);
    pt_tensor_info *table = malloc((size_t)b.ck.n_param_tensors * sizeof *table);
    cr_assert_not_null(table);
    memcpy(table, b.ck.param_table, (size_t)b.ck.n_param_tensors * sizeof *table);
    table[0].shape[0] = 1; /* conv1.weight [16,1,3,3] -> [1,16,3,3], same count */
    table[0].shape[1] = 16;
    b.ck.param_table = table;
    const char *needles3[] = {"conv1.weight [16,1,3,3]", "conv1.weight [1,16,3,3]", NULL};
    assert_refused(&b, path, needles3);
    free(table);
    teardown(&b);

    /* another architecture entirely */
    setup(&b, "fmnist", 28, 3, PT_OPTIM_ADAMW, 0);
    const char *needles4[] = {"parameters, this one has", NULL};
    assert_refused(&b, path, needles4);
    teardown(&b);

    /* not a checkpoint at all */
    setup(&b, "cxr", 32, 3, PT_OPTIM_ADAMW, 0);
    in_tmp(path, sizeof path, "model.h5");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    H5Fclose(file);
    const char *needles5[] = {"not a ptrain checkpoint", NULL};
    assert_refused(&b, path, needles5);
    in_tmp(path, sizeof path, "ckpt-000000999.h5");
    const char *needles6[] = {"No such file", NULL};
    assert_refused(&b, path, needles6);
    teardown(&b);
    teardown(&a);
}

Test(ckpt, failed_save_leaves_nothing_behind)
{
    trainer t;
    setup(&t, "fmnist", 28, 10, PT_OPTIM_SGD, 61);
    char dir[512];
    in_tmp(dir, sizeof dir, "no-such-dir");
    pt_error err;
    t.ck.global_step = 5;
    cr_assert_neq(pt_ckpt_save(dir, &t.ck, &err), PT_OK);
    cr_assert_not_null(strstr(err.msg, "no-such-dir/ckpt-000000005.h5.tmp"), "%s", err.msg);

    /* a description that does not add up is a programming error, caught before any write */
    t.optim.n = t.ck.n_params - 1;
    cr_assert_eq(pt_ckpt_save(tmpdir, &t.ck, &err), PT_ERR_INVALID);
    cr_assert(!exists("ckpt-000000005.h5"));
    cr_assert(!exists("ckpt-000000005.h5.tmp"));
    t.optim.n = t.ck.n_params;

    /* saving the same step twice replaces the file */
    save_at(&t, 5);
    fill(t.ck.params, t.ck.n_params, 62);
    save_at(&t, 5);
    trainer u;
    setup(&u, "fmnist", 28, 10, PT_OPTIM_SGD, 0);
    char path[512];
    in_tmp(path, sizeof path, "ckpt-000000005.h5");
    cr_assert_eq(pt_ckpt_load(path, &u.ck, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(memcmp(u.ck.params, t.ck.params, t.ck.n_params * sizeof(float)), 0);
    teardown(&u);
    teardown(&t);
}

/* ---- datasets checked against the layout they claim, data checksummed ---- */

/* A load that must fail for damage found while reading (the buffers may be partly loaded by
 * then, as ckpt.h says; the caller gives up the resume). */
static void assert_damaged(trainer *t, const char *path, const char *const *needles)
{
    pt_error err;
    pt_error_clear(&err);
    int rc = pt_ckpt_load(path, &t->ck, &err);
    cr_assert_eq(rc, PT_ERR_FORMAT, "a damaged checkpoint loaded (%d: %s)", rc, err.msg);
    cr_log_info("refused as expected: %s", err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, path), "the file is not named: %s", err.msg);
    for (; *needles; needles++)
        cr_assert_not_null(strstr(err.msg, *needles), "'%s' not in: %s", *needles, err.msg);
    cr_assert_null(t->ck.loaded_config);
}

Test(ckpt, every_dataset_is_checksummed)
{
    trainer a;
    setup(&a, "cxr", 32, 2, PT_OPTIM_ADAMW, 71);
    save_at(&a, 3);
    char path[512];
    in_tmp(path, sizeof path, "ckpt-000000003.h5");
    const char *names[] = {"/params",           "/state",         "/optim/exp_avg",
                           "/optim/exp_avg_sq", "/layout/params", "/layout/state"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert_eq(h5_tamper_has_checksum(path, names[i]), 1, "%s has no checksum", names[i]);
    teardown(&a);
}

Test(ckpt, a_flipped_byte_in_the_parameters_is_a_checksum_error)
{
    trainer a, b;
    setup(&a, "cxr", 32, 2, PT_OPTIM_SGD, 72);
    setup(&b, "cxr", 32, 2, PT_OPTIM_SGD, 0);
    save_at(&a, 4);
    char path[512];
    in_tmp(path, sizeof path, "ckpt-000000004.h5");
    cr_assert_eq(h5_tamper_flip(path, "/params"), 0);
    const char *needles[] = {"/params", "checksum mismatch", NULL};
    assert_damaged(&b, path, needles);

    save_at(&a, 4);
    cr_assert_eq(h5_tamper_flip(path, "/optim/momentum"), 0);
    const char *needles2[] = {"/optim/momentum", "checksum mismatch", NULL};
    assert_damaged(&b, path, needles2);
    teardown(&a);
    teardown(&b);
}

Test(ckpt, datasets_of_another_type_or_shape_are_refused_before_loading)
{
    trainer a, b;
    setup(&a, "cxr", 32, 2, PT_OPTIM_ADAMW, 73);
    setup(&b, "cxr", 32, 2, PT_OPTIM_ADAMW, 0);
    char path[512];
    in_tmp(path, sizeof path, "ckpt-000000005.h5");
    hsize_t n[1] = {a.ck.n_params};
    save_at(&a, 5);
    cr_assert_eq(h5_tamper_replace(path, "/params", H5T_IEEE_F64LE, 1, n), 0);
    const char *needles[] = {"/params", "float64", "expected float32", NULL};
    assert_refused(&b, path, needles);

    save_at(&a, 5);
    hsize_t column[2] = {a.ck.n_params, 1};
    cr_assert_eq(h5_tamper_replace(path, "/optim/exp_avg_sq", H5T_IEEE_F32LE, 2, column), 0);
    const char *needles2[] = {"/optim/exp_avg_sq", NULL};
    assert_refused(&b, path, needles2);

    save_at(&a, 5);
    hsize_t tensors[1] = {(hsize_t)a.ck.n_param_tensors};
    cr_assert_eq(h5_tamper_replace(path, "/layout/params", H5T_STD_I32LE, 1, tensors), 0);
    const char *needles3[] = {"/layout/params", NULL};
    assert_refused(&b, path, needles3);
    teardown(&a);
    teardown(&b);
}

Test(ckpt, parameters_that_are_not_finite_are_refused)
{
    trainer a, b;
    setup(&a, "fmnist", 28, 10, PT_OPTIM_SGD, 74);
    setup(&b, "fmnist", 28, 10, PT_OPTIM_SGD, 0);
    save_at(&a, 6);
    char path[512];
    in_tmp(path, sizeof path, "ckpt-000000006.h5");
    cr_assert_eq(h5_tamper_fill_f32(path, "/params", NAN), 0);
    const char *needles[] = {"/params", "NaN", NULL};
    assert_damaged(&b, path, needles);
    teardown(&a);
    teardown(&b);
}
