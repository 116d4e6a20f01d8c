/* ptrain-synth: write a synthetic chest X-ray data set in the Kermany layout (see synth.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/common.h"
#include "ptrain/cli.h"
#include "synth.h"

#define PROG "ptrain-synth"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " --out DIR [options]\n"
            "\n"
            "Writes procedural chest X-ray films in the Kermany layout and naming:\n"
            "DIR/{train,val,test}/{NORMAL,PNEUMONIA}/ with IM-0115-0001.jpeg,\n"
            "NORMAL2-IM-0927-0001.jpeg, person1_bacteria_1.jpeg, person1_virus_6.jpeg.\n"
            "1-4 images per patient, about 1:3 normal:pneumonia and 2:1 bacterial:viral,\n"
            "splits by patient. Every film's mean brightness is drawn independently of its\n"
            "class. Same seed, same bytes. DIR is created if needed; files are overwritten.\n"
            "\n"
            "  --out DIR          output directory (required)\n"
            "  --count N          number of images (default 600)\n"
            "  --seed S           random seed (default 1)\n"
            "  --min-size N       smallest side in pixels (default 256, at least %d)\n"
            "  --max-size N       largest side in pixels (default 512, at most %d)\n"
            "  --png-frac F       fraction written as PNG instead of JPEG (default 0.1)\n"
            "  --rgb-frac F       fraction written as 3-channel RGB (default 0.05)\n"
            "  --quality Q        JPEG quality 1-100 (default 90)\n"
            "  --test-frac F      fraction of images in test/, by patient (default 0.1)\n"
            "  --val-count N      images in val/, by patient (default: about 1%%, at least 8;\n"
            "                     4 for sets under 80 images)\n"
            "  --help             this text\n"
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
            PT_SYNTH_MIN_SIDE, PT_SYNTH_MAX_SIDE);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (s[0] == '-' || s[0] == '\0')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

enum { O_OUT = 1, O_COUNT, O_SEED, O_MIN, O_MAX, O_PNG, O_RGB, O_QUALITY, O_TEST, O_VAL };
static const pt_cli_option options[] = {{"out", 1, O_OUT},
                                        {"count", 1, O_COUNT},
                                        {"seed", 1, O_SEED},
                                        {"min-size", 1, O_MIN},
                                        {"max-size", 1, O_MAX},
                                        {"png-frac", 1, O_PNG},
                                        {"rgb-frac", 1, O_RGB},
                                        {"quality", 1, O_QUALITY},
                                        {"test-frac", 1, O_TEST},
                                        {"val-count", 1, O_VAL},
                                        {NULL, 0, 0}};

static int on_option(void *ctx, int id, const char *a, pt_error *err)
{
    pt_synth_opts *o = ctx;
    long long v;
    switch (id) {
    case O_OUT:
        if (!a[0])
            return pt_error_set(err, PT_ERR_USAGE, "--out: empty directory name");
        o->out_dir = a;
        return 0;
    case O_COUNT:
        if (pt_cli_long(a, 1, PT_SYNTH_MAX_COUNT, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--count: '%s' is not 1..%d", a,
                                PT_SYNTH_MAX_COUNT);
        o->count = v;
        return 0;
    case O_SEED:
        if (parse_u64(a, &o->seed))
            return pt_error_set(err, PT_ERR_USAGE, "--seed: '%s' is not a whole number >= 0", a);
        return 0;
    case O_MIN:
    case O_MAX:
        if (pt_cli_long(a, PT_SYNTH_MIN_SIDE, PT_SYNTH_MAX_SIDE, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--%s: '%s' is not %d..%d",
                                id == O_MIN ? "min-size" : "max-size", a, PT_SYNTH_MIN_SIDE,
                                PT_SYNTH_MAX_SIDE);
        *(id == O_MIN ? &o->min_size : &o->max_size) = (int)v;
        return 0;
    case O_PNG:
        if (pt_cli_double(a, 0.0, 1.0, &o->png_frac))
            return pt_error_set(err, PT_ERR_USAGE, "--png-frac: '%s' is not 0..1", a);
        return 0;
    case O_RGB:
        if (pt_cli_double(a, 0.0, 1.0, &o->rgb_frac))
            return pt_error_set(err, PT_ERR_USAGE, "--rgb-frac: '%s' is not 0..1", a);
        return 0;
    case O_QUALITY:
        if (pt_cli_long(a, 1, 100, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--quality: '%s' is not 1..100", a);
        o->quality = (int)v;
        return 0;
    case O_TEST:
        if (pt_cli_double(a, 0.0, 0.9, &o->test_frac))
            return pt_error_set(err, PT_ERR_USAGE, "--test-frac: '%s' is not 0..0.9", a);
        return 0;
    case O_VAL:
        if (pt_cli_long(a, 0, PT_SYNTH_MAX_COUNT, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--val-count: '%s' is not a whole number >= 0",
                                a);
        o->val_count = v;
        return 0;
    }
    return -1;
}

/* Returns 0 to run, 1 after --help, PT_ERR_USAGE on a bad command line (message in err). */
static int parse_args(int argc, char **argv, pt_synth_opts *o, pt_error *err)
{
    pt_synth_opts_default(o);
    int rc = pt_cli_parse(argc, argv, options, on_option, NULL, o, err);
    if (rc != 0)
        return rc;
    if (!o->out_dir)
        return pt_error_set(err, PT_ERR_USAGE, "--out DIR is required (see --help)");
    /* Values that are only wrong together (--min-size above --max-size, --val-count too big). */
    pt_error check;
    if (pt_synth_opts_check(o, &check) != PT_OK)
        return pt_error_set(err, PT_ERR_USAGE, "%s", check.msg);
    return 0;
}

int main(int argc, char **argv)
{
    pt_synth_opts opts;
    pt_error err;
    pt_error_clear(&err);
    int parsed = parse_args(argc, argv, &opts, &err);
    if (parsed == 1) {
        usage(stdout);
        return 0;
    }
    if (parsed != 0) {
        fprintf(stderr, PROG ": error: %s\n", err.msg);
        return pt_cli_exit_code(parsed);
    }

    double t0 = pt_now_seconds();
    pt_synth_summary sum;
    int status = pt_synth_write(&opts, &sum, &err);
    if (status != PT_OK) {
        fprintf(stderr, PROG ": error: %s\n", err.msg);
        return pt_cli_exit_code(status);
    }
    double elapsed = pt_now_seconds() - t0;
    printf(PROG ": wrote %lld images (train %lld / val %lld / test %lld; normal %lld, bacteria "
                "%lld, virus %lld) to %s in %.1f s\n",
           (long long)sum.images, (long long)sum.per_split[PT_SPLIT_TRAIN],
           (long long)sum.per_split[PT_SPLIT_VAL], (long long)sum.per_split[PT_SPLIT_TEST],
           (long long)sum.per_kind[PT_SYNTH_NORMAL], (long long)sum.per_kind[PT_SYNTH_BACTERIA],
           (long long)sum.per_kind[PT_SYNTH_VIRUS], opts.out_dir, elapsed);
    if (fflush(stdout) != 0) {
        fprintf(stderr, PROG ": error: writing to standard output: %s\n", strerror(errno));
        return PT_EXIT_RUNTIME;
    }
    return 0;
}
