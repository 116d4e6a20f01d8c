/* ptrain-synth: write a synthetic chest X-ray data set in the Kermany layout (see synth.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/common.h"
#include "ptrain/cli.h"
#include "synth.h"

#define PROG       "ptrain-synth"
#define EXIT_USAGE 2

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

/* Returns 0 to run, 1 after --help, EXIT_USAGE on a bad command line (message in err). */
static int parse_args(int argc, char **argv, pt_synth_opts *o, pt_error *err)
{
    enum {
        O_OUT = 256,
        O_COUNT,
        O_SEED,
        O_MIN,
        O_MAX,
        O_PNG,
        O_RGB,
        O_QUALITY,
        O_TEST,
        O_VAL,
        O_HELP
    };
    static const struct option longopts[] = {{"out", required_argument, 0, O_OUT},
                                             {"count", required_argument, 0, O_COUNT},
                                             {"seed", required_argument, 0, O_SEED},
                                             {"min-size", required_argument, 0, O_MIN},
                                             {"max-size", required_argument, 0, O_MAX},
                                             {"png-frac", required_argument, 0, O_PNG},
                                             {"rgb-frac", required_argument, 0, O_RGB},
                                             {"quality", required_argument, 0, O_QUALITY},
                                             {"test-frac", required_argument, 0, O_TEST},
                                             {"val-count", required_argument, 0, O_VAL},
                                             {"help", no_argument, 0, O_HELP},
                                             {0, 0, 0, 0}};

    pt_synth_opts_default(o);
    opterr = 0;
    int c;
    long long v;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_OUT:
            if (!optarg[0])
                return pt_error_set(err, EXIT_USAGE, "--out: empty directory name");
            o->out_dir = optarg;
            break;
        case O_COUNT:
            if (pt_cli_long(optarg, 1, PT_SYNTH_MAX_COUNT, &v))
                return pt_error_set(err, EXIT_USAGE, "--count: '%s' is not 1..%d", optarg,
                                    PT_SYNTH_MAX_COUNT);
            o->count = v;
            break;
        case O_SEED:
            if (parse_u64(optarg, &o->seed))
                return pt_error_set(err, EXIT_USAGE, "--seed: '%s' is not a whole number >= 0",
                                    optarg);
            break;
        case O_MIN:
        case O_MAX:
            if (pt_cli_long(optarg, PT_SYNTH_MIN_SIDE, PT_SYNTH_MAX_SIDE, &v))
                return pt_error_set(err, EXIT_USAGE, "--%s: '%s' is not %d..%d",
                                    c == O_MIN ? "min-size" : "max-size", optarg, PT_SYNTH_MIN_SIDE,
                                    PT_SYNTH_MAX_SIDE);
            *(c == O_MIN ? &o->min_size : &o->max_size) = (int)v;
            break;
        case O_PNG:
            if (pt_cli_double(optarg, 0.0, 1.0, &o->png_frac))
                return pt_error_set(err, EXIT_USAGE, "--png-frac: '%s' is not 0..1", optarg);
            break;
        case O_RGB:
            if (pt_cli_double(optarg, 0.0, 1.0, &o->rgb_frac))
                return pt_error_set(err, EXIT_USAGE, "--rgb-frac: '%s' is not 0..1", optarg);
            break;
        case O_QUALITY:
            if (pt_cli_long(optarg, 1, 100, &v))
                return pt_error_set(err, EXIT_USAGE, "--quality: '%s' is not 1..100", optarg);
            o->quality = (int)v;
            break;
        case O_TEST:
            if (pt_cli_double(optarg, 0.0, 0.9, &o->test_frac))
                return pt_error_set(err, EXIT_USAGE, "--test-frac: '%s' is not 0..0.9", optarg);
            break;
        case O_VAL:
            if (pt_cli_long(optarg, 0, PT_SYNTH_MAX_COUNT, &v))
                return pt_error_set(err, EXIT_USAGE, "--val-count: '%s' is not a whole number >= 0",
                                    optarg);
            o->val_count = v;
            break;
        case O_HELP:
            return 1;
        default:
            return pt_error_set(err, EXIT_USAGE, "unknown or incomplete option '%s' (see --help)",
                                argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pt_error_set(err, EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
    if (!o->out_dir)
        return pt_error_set(err, EXIT_USAGE, "--out DIR is required (see --help)");
    /* Values that are only wrong together (--min-size above --max-size, --val-count too big). */
    pt_error check;
    if (pt_synth_opts_check(o, &check) != PT_OK)
        return pt_error_set(err, EXIT_USAGE, "%s", check.msg);
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
        return EXIT_USAGE;
    }

    double t0 = pt_now_seconds();
    pt_synth_summary sum;
    if (pt_synth_write(&opts, &sum, &err) != PT_OK) {
        fprintf(stderr, PROG ": error: %s\n", err.msg);
        return 1;
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
        return 1;
    }
    return 0;
}
