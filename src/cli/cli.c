/* Command-line helpers (see cli.h). */
#include "ptrain/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
    return PT_EXIT_USAGE;
}

int pt_cli_rank0_result(const pt_comm *comm, int status, const pt_error *err, const char *prog)
{
    status = pt_comm_agree_status(comm, status);
    if (status == PT_OK)
        return 0;
    pt_cli_report_error(comm, err, prog);
    return PT_EXIT_RUNTIME;
}
