/* Command-line helpers (see cli.h). */
#include "ptrain/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/net.h"
#include "ptrain/train.h"

int pt_cli_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int pt_cli_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int pt_cli_stall_timeout(const char *value, double *seconds)
{
    return pt_cli_double(value, 0.0, 1e7, seconds);
}

void pt_cli_report_error(const pt_comm *comm, const pt_error *err, const char *prog)
{
    /* the lowest rank with a message: a max over negated ranks */
    int64_t speaker = -(int64_t)(err->code != PT_OK && err->msg[0] ? comm->rank : comm->size);
    pt_comm_allreduce_max_i64(comm, &speaker, 1);
    if (-speaker == comm->rank)
        fprintf(stderr, "%s: error: %s\n", prog, err->msg);
    else if (-speaker == comm->size && comm->rank == 0)
        fprintf(stderr, "%s: error: failed (no rank gave a reason)\n", prog);
    fflush(stderr);
}

int pt_cli_after_parse(const pt_comm *comm, int parsed, const pt_error *err, const char *prog,
                       void (*usage)(FILE *))
{
    if (parsed == 0)
        return -1;
    if (parsed == 1) {
        if (comm->rank == 0)
            usage(stdout);
        return 0;
    }
    if (comm->rank == 0)
        fprintf(stderr, "%s: error: %s\n", prog, err->msg);
    return pt_cli_exit_code(parsed < 0 ? parsed : PT_ERR_USAGE);
}

int pt_cli_rank0_result(const pt_comm *comm, int status, const pt_error *err, const char *prog)
{
    status = pt_comm_agree_status(comm, status);
    if (status == PT_OK)
        return 0;
    pt_cli_report_error(comm, err, prog);
    return PT_EXIT_RUNTIME;
}

int pt_cli_exit_code(int status)
{
    if (status == PT_OK)
        return 0;
    if (status == PT_STOPPED)
        return PT_EXIT_PREEMPTED;
    if (status == PT_ERR_USAGE)
        return PT_EXIT_USAGE;
    return PT_EXIT_RUNTIME;
}

#define CLI_MAX_OPTIONS 64
/* getopt_long returns an option's val, but also 1 for a positional argument (in "-" mode) and
 * '?' for an unknown option: option vals start above every character, so none is taken for
 * another. */
#define CLI_VAL_BASE 256

/* The table as getopt_long wants it, with --help added; option i's val is CLI_VAL_BASE + i. */
static int getopt_table(const pt_cli_option *options, struct option *out, pt_error *err)
{
    int n = 0;
    for (; options[n].name; n++) {
        if (n + 2 > CLI_MAX_OPTIONS)
            return pt_error_set(err, PT_ERR_INVALID, "more than %d options", CLI_MAX_OPTIONS - 2);
        out[n] = (struct option){options[n].name,
                                 options[n].takes_value ? required_argument : no_argument, NULL,
                                 CLI_VAL_BASE + n};
    }
    out[n] = (struct option){"help", no_argument, NULL, CLI_VAL_BASE + n};
    out[n + 1] = (struct option){0, 0, 0, 0};
    return n;
}

/* One positional argument to on_arg; 0, or PT_ERR_USAGE with the message in err. */
static int positional(pt_cli_handler on_arg, void *ctx, const char *value, pt_error *err)
{
    if (!on_arg)
        return pt_error_set(err, PT_ERR_USAGE, "unexpected argument '%s' (see --help)", value);
    int rc = on_arg(ctx, 0, value, err);
    if (rc == PT_ERR_USAGE)
        return rc;
    if (rc != 0)
        return pt_error_set(err, PT_ERR_USAGE, "bad argument '%s' (see --help)", value);
    return 0;
}

int pt_cli_parse(int argc, char **argv, const pt_cli_option *options, pt_cli_handler on_option,
                 pt_cli_handler on_arg, void *ctx, pt_error *err)
{
    struct option table[CLI_MAX_OPTIONS];
    int n = getopt_table(options, table, err);
    if (n < 0)
        return n;
    opterr = 0;
    optind = 1;
    int c, rc;
    /* "-": positional arguments come back in order as option 1, so on_arg sees them in place */
    while ((c = getopt_long(argc, argv, "-", table, NULL)) != -1) {
        if (c == 1) {
            if ((rc = positional(on_arg, ctx, optarg, err)) != 0)
                return rc;
            continue;
        }
        int i = c - CLI_VAL_BASE; /* the option's index in the table */
        if (i == n)
            return 1;
        if (i < 0 || i > n)
            return pt_error_set(err, PT_ERR_USAGE, "unknown or incomplete option '%s' (see --help)",
                                argv[optind - 1]);
        rc = on_option(ctx, options[i].id, optarg, err);
        if (rc == PT_ERR_USAGE)
            return rc;
        if (rc != 0)
            return pt_error_set(err, PT_ERR_USAGE, "--%s: bad value '%s' (see --help)",
                                options[i].name, optarg ? optarg : "");
    }
    /* getopt stops at "--" and leaves what follows it: positional arguments too */
    for (; optind < argc; optind++)
        if ((rc = positional(on_arg, ctx, argv[optind], err)) != 0)
            return rc;
    return 0;
}

int pt_cli_default_threads(void)
{
    int cpus = pt_cpus_allowed();
    return cpus < 1 ? 1 : cpus > PT_NET_MAX_THREADS ? PT_NET_MAX_THREADS : cpus;
}

int pt_cli_threads_option(const char *value, int *threads, pt_error *err)
{
    long long v;
    if (pt_cli_long(value, 1, PT_NET_MAX_THREADS, &v))
        return pt_error_set(err, PT_ERR_USAGE, "--threads: '%s' is not 1..%d", value,
                            PT_NET_MAX_THREADS);
    *threads = (int)v;
    return 0;
}
