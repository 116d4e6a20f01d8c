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
