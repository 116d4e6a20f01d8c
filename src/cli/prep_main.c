/* ptrain-prep: decode a folder of X-rays (or IDX files) into one HDF5 cache, in parallel.
 * Options to pt_prep_config, then pt_prep_run (include/ptrain/prep.h says how the work is
 * shared among the ranks). */
#include <stdint.h>
#include <stdio.h>

#include "ptrain/cli.h"
#include "ptrain/comm.h"
#include "ptrain/image.h"
#include "ptrain/prep.h"

#define PROG PT_PREP_PROGRAM

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mpirun -np N " PROG " --src PATH --out FILE.h5 [options]\n"
            "\n"
            "Decodes a folder of chest X-rays (or IDX files) into one HDF5 cache for ptrain.\n"
            "Each MPI rank decodes its share; all ranks write the file together.\n"
            "\n"
            "  --src PATH            source: Kermany chest_xray/ folder, ImageFolder tree,\n"
            "                        NIH Data_Entry_2017.csv (or its folder), or IDX folder\n"
            "  --out FILE.h5         cache to write (written as FILE.h5.partial, then renamed)\n"
            "  --size N              images are resized to N x N (default 128; IDX: native,\n"
            "                        at most %d)\n"
            "  --layout L            auto|kermany|imagefolder|csv|idx (default auto)\n"
            "  --classes A,B,...     class names in label order; Kermany: normal,pneumonia\n"
            "                        (default) or normal,bacteria,virus\n"
            "  --val-frac F          fraction of training images carved out for validation,\n"
            "                        by patient (default 0.1)\n"
            "  --test-frac F         same for test, only if the source has no test split\n"
            "                        (default 0.1)\n"
            "  --keep-val            Kermany: keep the source's val folder as validation\n"
            "                        (default: merge its 16 images into training, then carve)\n"
            "  --seed S              seed of the patient split (default 1)\n"
            "  --fit MODE            stretch|crop|pad (default stretch)\n"
            "  --max-pixels N        skip images announcing more pixels (default %lld)\n"
            "  --strict              a file that cannot be scanned or decoded is an error,\n"
            "                        not a skip\n"
            "  --follow-symlinks     follow symbolic links that lead out of the source\n"
            "                        (default: skip and list them; links inside are followed)\n"
            "  --full-decode         decode JPEGs at full size (default: reduced DCT decode\n"
            "                        when the image is at least twice the target size)\n"
            "  --deflate N           compress images with deflate level 1-9 (default 0: off)\n"
            "  --round N             files per rank per collective write (default: as many\n"
            "                        as fit in 64 MiB of cached images, at most 256)\n"
            "  --quiet               no progress lines\n"
            "  --stall-timeout S     end the job (exit 1) when the ranks have waited S seconds\n"
            "                        for one that stopped answering, naming it (600; 0: never)\n"
            "  --help                this text\n"
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error.\n",
            PT_PREP_MAX_SIZE, (long long)PT_DEFAULT_MAX_PIXELS);
}

/* ---- option parsing -------------------------------------------------------------------------- */

enum {
    O_SRC = 1,
    O_OUT,
    O_SIZE,
    O_LAYOUT,
    O_CLASSES,
    O_VAL,
    O_TEST,
    O_KEEPVAL,
    O_SEED,
    O_FIT,
    O_MAXPIX,
    O_STRICT,
    O_FULL,
    O_DEFLATE,
    O_ROUND,
    O_QUIET,
    O_FOLLOW,
    O_STALL
};
static const pt_cli_option options[] = {{"src", 1, O_SRC},
                                        {"out", 1, O_OUT},
                                        {"size", 1, O_SIZE},
                                        {"layout", 1, O_LAYOUT},
                                        {"classes", 1, O_CLASSES},
                                        {"val-frac", 1, O_VAL},
                                        {"test-frac", 1, O_TEST},
                                        {"keep-val", 0, O_KEEPVAL},
                                        {"seed", 1, O_SEED},
                                        {"fit", 1, O_FIT},
                                        {"max-pixels", 1, O_MAXPIX},
                                        {"strict", 0, O_STRICT},
                                        {"full-decode", 0, O_FULL},
                                        {"deflate", 1, O_DEFLATE},
                                        {"round", 1, O_ROUND},
                                        {"quiet", 0, O_QUIET},
                                        {"follow-symlinks", 0, O_FOLLOW},
                                        {"stall-timeout", 1, O_STALL},
                                        {NULL, 0, 0}};

typedef struct prep_args {
    pt_prep_config cfg;
    double stall_timeout;
    const char *extra; /* the first positional argument: an error, once the options are read */
} prep_args;

static int on_option(void *ctx, int id, const char *value, pt_error *err)
{
    prep_args *args = ctx;
    pt_prep_config *c = &args->cfg;
    long long v;
    switch (id) {
    case O_SRC:
        c->src = value;
        return 0;
    case O_OUT:
        c->out = value;
        return 0;
    case O_SIZE:
        if (pt_cli_long(value, 4, PT_PREP_MAX_SIZE, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--size: '%s' is not 4..%d", value,
                                PT_PREP_MAX_SIZE);
        c->size = (int)v;
        return 0;
    case O_LAYOUT:
        if (pt_layout_parse(value, &c->layout) != PT_OK)
            return pt_error_set(err, PT_ERR_USAGE,
                                "--layout: '%s' is not auto|kermany|imagefolder|csv|idx", value);
        return 0;
    case O_CLASSES:
        c->classes = value;
        return 0;
    case O_VAL:
        if (pt_cli_double(value, 0.0, 0.9, &c->val_frac))
            return pt_error_set(err, PT_ERR_USAGE, "--val-frac: '%s' is not 0..0.9", value);
        return 0;
    case O_TEST:
        if (pt_cli_double(value, 0.0, 0.9, &c->test_frac))
            return pt_error_set(err, PT_ERR_USAGE, "--test-frac: '%s' is not 0..0.9", value);
        return 0;
    case O_KEEPVAL:
        c->keep_source_val = 1;
        return 0;
    case O_SEED:
        if (pt_cli_long(value, 0, INT64_MAX, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--seed: '%s' is not a whole number >= 0",
                                value);
        c->seed = (uint64_t)v;
        return 0;
    case O_FIT:
        if (pt_fit_parse(value, &c->fit) != PT_OK)
            return pt_error_set(err, PT_ERR_USAGE, "--fit: '%s' is not stretch|crop|pad", value);
        return 0;
    case O_MAXPIX:
        if (pt_cli_long(value, 1, INT64_MAX, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--max-pixels: '%s' is not a positive number",
                                value);
        c->max_pixels = v;
        return 0;
    case O_STRICT:
        c->strict = 1;
        return 0;
    case O_FULL:
        c->full_decode = 1;
        return 0;
    case O_DEFLATE:
        if (pt_cli_long(value, 0, 9, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--deflate: '%s' is not 0..9", value);
        c->deflate = (int)v;
        return 0;
    case O_ROUND:
        if (pt_cli_long(value, 1, 4096, &v))
            return pt_error_set(err, PT_ERR_USAGE, "--round: '%s' is not 1..4096", value);
        c->round = (int)v;
        return 0;
    case O_QUIET:
        c->quiet = 1;
        return 0;
    case O_FOLLOW:
        c->follow_symlinks = 1;
        return 0;
    case O_STALL:
        if (pt_cli_stall_timeout(value, &args->stall_timeout))
            return pt_error_set(err, PT_ERR_USAGE, "--stall-timeout: '%s' is not seconds >= 0",
                                value);
        return 0;
    }
    return -1;
}

/* A positional argument is an error, but only after every option is read: a bad option or
 * --help anywhere on the line comes first. */
static int on_arg(void *ctx, int id, const char *value, pt_error *err)
{
    prep_args *a = ctx;
    if (!a->extra)
        a->extra = value;
    return 0;
}

/* Returns 0 to run, 1 after --help, PT_ERR_USAGE on a bad command line (message in err). */
static int parse(int argc, char **argv, pt_prep_config *cfg, double *stall_timeout, pt_error *err)
{
    prep_args a = {.cfg = pt_prep_config_default(), .stall_timeout = PT_CLI_STALL_TIMEOUT_DEFAULT};
    int rc = pt_cli_parse(argc, argv, options, on_option, on_arg, &a, err);
    *cfg = a.cfg;
    *stall_timeout = a.stall_timeout;
    if (rc != 0)
        return rc;
    if (a.extra)
        return pt_error_set(err, PT_ERR_USAGE, "unexpected argument '%s' (see --help)", a.extra);
    if (!cfg->src || !cfg->out)
        return pt_error_set(err, PT_ERR_USAGE, "--src and --out are required (see --help)");
    return 0;
}

int main(int argc, char **argv)
{
    pt_comm comm;
    pt_error err;
    pt_error_clear(&err);
    int status = pt_comm_init(&argc, &argv, &comm, &err);
    if (status != PT_OK) {
        fprintf(stderr, PROG ": error: %s\n", err.msg);
        return pt_cli_exit_code(status);
    }
    pt_prep_config cfg;
    double stall_timeout;
    int code =
        pt_cli_after_parse(&comm, parse(argc, argv, &cfg, &stall_timeout, &err), &err, PROG, usage);
    if (code < 0) {
        status = pt_comm_set_stall_timeout(&comm, stall_timeout, PROG, &err);
        if (status == PT_OK)
            status = pt_prep_run(&cfg, &comm, &err);
        if (status != PT_OK)
            pt_cli_report_error(&comm, &err, PROG);
        code = pt_cli_exit_code(status);
    }
    pt_comm_finalize(&comm);
    return code;
}
