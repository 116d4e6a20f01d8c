/* profile.csv and the profile table of the log (see profile.h). */
#include "ptrain/profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ptrain/fs.h"
#include "ptrain/isa.h"

/* One row of the profile, whatever it describes. */
typedef struct profile_row {
    const char *name, *type, *algo, *output;
    double forward_ms, backward_ms; /* per step */
    double forward_gflops, backward_gflops;
    double gemm_share; /* of the layer's time, conv layers; -1 elsewhere */
    double share;      /* of the step */
} profile_row;

static double per_step_ms(double seconds, const pt_step_profile *s)
{
    return s->steps > 0 ? 1e3 * seconds / s->steps : 0.0;
}

static double gflops(double flops, double seconds)
{
    return seconds > 0 ? flops / seconds / 1e9 : 0.0;
}

static profile_row layer_row(const pt_layer_profile *p, const pt_step_profile *s)
{
    double total = p->forward_s + p->backward_s;
    profile_row r = {.name = p->name, .type = p->type, .algo = p->algo, .output = p->output};
    r.forward_ms = per_step_ms(p->forward_s, s);
    r.backward_ms = per_step_ms(p->backward_s, s);
    r.forward_gflops = gflops(p->forward_flops_per_sample * p->samples, p->forward_s);
    r.backward_gflops = gflops(p->backward_flops, p->backward_s);
    r.gemm_share = !strcmp(p->algo, "gemm") && total > 0 ? p->gemm_s / total : -1.0;
    r.share = s->step_s > 0 ? total / s->step_s : 0.0;
    return r;
}

static profile_row step_row(const char *name, double seconds, const pt_step_profile *s)
{
    profile_row r = {.name = name, .type = "step", .algo = "", .output = ""};
    r.forward_ms = per_step_ms(seconds, s);
    r.gemm_share = -1.0;
    r.share = s->step_s > 0 ? seconds / s->step_s : 0.0;
    return r;
}

/* The rows after the layers: the parts of a step that are not a layer, and the whole step.
 * Returns how many it filled (at most 8). */
static int step_rows(profile_row *rows, const pt_step_profile *s)
{
    int n = 0;
    rows[n++] = step_row("data", s->data_s, s);
    rows[n++] = step_row("loss", s->loss_s, s);
    rows[n++] = step_row("allreduce_wait", s->allreduce_wait_s, s);
    rows[n++] = step_row("step_allreduce", s->small_reduce_s, s);
    rows[n++] = step_row("optimizer", s->optim_s, s);
    rows[n++] = step_row("step", s->step_s, s);
    if (s->allreduce_alone_s > 0) {
        /* not parts of the step: what the gradient allreduce costs when nothing hides it, and
         * what of it the last rank to finish backward still waited for */
        rows[n] = step_row("allreduce_alone", s->allreduce_alone_s * s->steps, s);
        rows[n++].share = -1.0;
        rows[n] = step_row("allreduce_exposed", s->allreduce_exposed_s, s);
        rows[n++].share = -1.0;
    }
    return n;
}

double pt_profile_allreduce_hidden(const pt_step_profile *s)
{
    if (!(s->allreduce_alone_s > 0) || !(s->steps > 0))
        return -1.0;
    double hidden = 1.0 - s->allreduce_exposed_s / s->steps / s->allreduce_alone_s;
    return hidden < 0 ? 0 : hidden;
}

static void csv_row(FILE *f, const profile_row *r)
{
    fprintf(f, "%s,%s,%s,%s,%.4f,%.4f,%.3f,%.3f,", r->name, r->type, r->algo, r->output,
            r->forward_ms, r->backward_ms, r->forward_gflops, r->backward_gflops);
    if (r->gemm_share >= 0)
        fprintf(f, "%.4f", r->gemm_share);
    fputc(',', f);
    if (r->share >= 0)
        fprintf(f, "%.4f", r->share);
    fputc('\n', f);
}

int pt_profile_write_csv(const char *path, const pt_net *net, const pt_step_profile *s,
                         pt_error *err)
{
    char tmp[PT_PATH_MAX];
    FILE *f = pt_fs_open_temp(path, tmp, err);
    if (!f)
        return err ? err->code : PT_ERR_IO;
    fprintf(f, "name,type,algo,output,forward_ms,backward_ms,forward_gflops,backward_gflops,"
               "gemm_share,step_share\n");
    for (int i = 0; i < pt_net_layer_count(net); i++) {
        profile_row r = layer_row(pt_net_layer_profile(net, i), s);
        csv_row(f, &r);
    }
    profile_row rows[9];
    int n = step_rows(rows, s);
    for (int i = 0; i < n; i++)
        csv_row(f, &rows[i]);
    return pt_fs_close_commit(f, tmp, path, err);
}

static void append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    if (*used >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

static void table_row(char *buf, size_t cap, size_t *used, const profile_row *r)
{
    char gemm[16] = "", share[16] = "";
    if (r->gemm_share >= 0)
        snprintf(gemm, sizeof gemm, "%.0f%%", 100 * r->gemm_share);
    if (r->share >= 0)
        snprintf(share, sizeof share, "%.1f%%", 100 * r->share);
    /* conv layers show their algorithm (gemm, winograd) as their type */
    const char *type = r->algo[0] ? r->algo : r->type;
    append(buf, cap, used, "%-16s %-10s %9.2f %9.2f %8.1f %8.1f %6s %7s\n", r->name, type,
           r->forward_ms, r->backward_ms, r->forward_gflops, r->backward_gflops, gemm, share);
}

void pt_profile_format(char *buf, size_t cap, const pt_net *net, const pt_step_profile *s)
{
    size_t used = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    append(buf, cap, &used,
           "profile over %.0f steps (per step on this rank; kernels %s, OpenBLAS %s):\n", s->steps,
           pt_isa_name(pt_isa_active()), pt_isa_blas_core());
    append(buf, cap, &used, "%-16s %-10s %9s %9s %8s %8s %6s %7s\n", "part", "type", "fwd ms",
           "bwd ms", "fwd GF/s", "bwd GF/s", "sgemm", "step");
    for (int i = 0; i < pt_net_layer_count(net); i++) {
        profile_row r = layer_row(pt_net_layer_profile(net, i), s);
        table_row(buf, cap, &used, &r);
    }
    profile_row rows[9];
    int n = step_rows(rows, s);
    for (int i = 0; i < n; i++)
        table_row(buf, cap, &used, &rows[i]);
    double hidden = pt_profile_allreduce_hidden(s);
    if (hidden >= 0)
        append(buf, cap, &used, "gradient allreduce hidden behind backward: %.0f%%\n",
               100 * hidden);
}
