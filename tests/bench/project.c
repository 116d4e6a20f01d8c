/* Cluster projection: time per epoch and scaling efficiency of ptrain's data-parallel training at
 * 1, 2, 4, ... ranks, from a single rank's measured compute time and an alpha-beta model of ring
 * allreduce. tests/bench/projection.sh measures the inputs and runs it.
 *
 *   project --net NAME --params N --seconds-per-image X --batch B --images N --backward-share F
 *           [--net NAME ...] --bandwidths GBPS[,GBPS...] [--alpha-us A] [--link-efficiency E]
 *           [--max-ranks P] [--speedups K[,K...]] [--markdown FILE] [--plots PREFIX]
 *
 * The options after a --net describe that network. Model (weak scaling: every rank keeps its
 * batch of B images, so a step of p ranks trains p * B images):
 *   compute(B) = B * seconds_per_image / speedup                   (the same at every p)
 *   T_ar       = 2(p-1) * alpha + 2(p-1)/p * S / bandwidth,  S = 4 bytes * parameters
 *   step       = compute + T_ar                                    (no overlap)
 *              = compute + max(0, T_ar - F * compute)              (overlap with backward)
 *   images/s   = p * B / step;  epoch = images / (images/s)
 *   efficiency = images/s(p) / (p * images/s(1))
 * with bandwidth = link rate (Gb/s) * link efficiency / 8 bytes per second. The main tables use
 * speedup 1 (a rank computes as fast as the measured one); --speedups adds a table of the
 * efficiency at the largest rank count for ranks that many times faster.
 *
 * Writes markdown (to FILE, or stdout) and, with --plots, PREFIX_NAME_efficiency.png,
 * PREFIX_NAME_throughput.png and PREFIX_NAME_efficiency_kK.png (K the largest speedup) per
 * network. Exit status 2 on a usage error, 1 on a failed write. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

#define MAX_NETS       8
#define MAX_BANDWIDTHS 8
#define MAX_SPEEDUPS   8
#define MAX_POINTS     17 /* ranks 1 .. 65536 */
#define NAME_CAP       32
#define PATH_CAP       4096

typedef struct net_input {
    char name[NAME_CAP];
    double params;            /* trainable parameters: the gradient is 4 * params bytes */
    double seconds_per_image; /* forward + backward + optimizer, one rank */
    double batch;             /* images per rank per step */
    double images;            /* images per epoch */
    double backward_share;    /* fraction of compute an allreduce may hide behind */
} net_input;

typedef struct config {
    net_input nets[MAX_NETS];
    int n_nets;
    double gbps[MAX_BANDWIDTHS];
    int n_bandwidths;
    double speedups[MAX_SPEEDUPS];
    int n_speedups;
    double alpha;           /* seconds per message step */
    double link_efficiency; /* usable fraction of the link rate */
    int max_ranks;
    const char *markdown; /* NULL: stdout */
    const char *plots;    /* NULL: no pictures */
} config;

/* One projected point. */
typedef struct projection {
    double allreduce_s; /* T_ar */
    double step_s;
    double images_per_s;
    double epoch_s;
    double efficiency;
} projection;

/* ---- command line -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: project --net NAME --params N --seconds-per-image X --batch B --images N\n"
          "               --backward-share F [--net NAME ...] --bandwidths GBPS[,GBPS...]\n"
          "               [--alpha-us A (5)] [--link-efficiency E (0.9)] [--max-ranks P (256)]\n"
          "               [--speedups K[,K...] (1,10,100)] [--markdown FILE] [--plots PREFIX]\n",
          f);
}

/* text as a finite double in [lo, hi]; 0, or -1 with a message naming the option. */
static int parse_double(const char *option, const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "project: %s: '%s' is not a number in [%g, %g]\n", option, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* text as a whole number in [lo, hi]; 0, or -1 with a message. */
static int parse_long(const char *option, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "project: %s: '%s' is not a whole number in [%ld, %ld]\n", option, text, lo,
                hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* A comma-separated list of positive numbers; 0, or -1 with a message. */
static int parse_list(const char *option, const char *text, double *values, int cap, int *n)
{
    char item[64];
    *n = 0;
    for (const char *p = text;; p++) {
        size_t len = strcspn(p, ",");
        if (*n == cap || len == 0 || len >= sizeof item) {
            fprintf(stderr, "project: %s: '%s' is not a list of up to %d numbers\n", option, text,
                    cap);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_double(option, item, 1e-9, 1e9, &values[(*n)++]) != 0)
            return -1;
        p += len;
        if (*p == '\0')
            return 0;
    }
}

/* The network the per-network options refer to: the last --net. */
static net_input *current_net(config *cfg, const char *option)
{
    if (cfg->n_nets == 0) {
        fprintf(stderr, "project: %s before any --net\n", option);
        return NULL;
    }
    return &cfg->nets[cfg->n_nets - 1];
}

static int start_net(config *cfg, const char *name)
{
    if (cfg->n_nets == MAX_NETS || strlen(name) == 0 || strlen(name) >= NAME_CAP ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
            strlen(name)) {
        fprintf(stderr, "project: --net '%s': at most %d networks, names of letters, digits, _ -\n",
                name, MAX_NETS);
        return -1;
    }
    net_input *n = &cfg->nets[cfg->n_nets++];
    snprintf(n->name, sizeof n->name, "%s", name);
    n->params = n->seconds_per_image = n->batch = n->images = n->backward_share = NAN;
    return 0;
}

/* One option of a network; 1 if `option` is not one. */
static int parse_net_option(config *cfg, const char *option, const char *value)
{
    static const struct {
        const char *option;
        size_t offset;
        double lo, hi;
    } fields[] = {
        {"--params", offsetof(net_input, params), 1, 1e12},
        {"--seconds-per-image", offsetof(net_input, seconds_per_image), 1e-9, 1e6},
        {"--batch", offsetof(net_input, batch), 1, 1e6},
        {"--images", offsetof(net_input, images), 1, 1e12},
        {"--backward-share", offsetof(net_input, backward_share), 0, 1},
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        if (strcmp(option, fields[i].option) != 0)
            continue;
        net_input *n = current_net(cfg, option);
        if (!n)
            return -1;
        double *field = (double *)((char *)n + fields[i].offset);
        return parse_double(option, value, fields[i].lo, fields[i].hi, field);
    }
    return 1;
}

/* One option of the model or the output; 1 if `option` is not one. */
static int parse_model_option(config *cfg, const char *option, const char *value)
{
    if (!strcmp(option, "--bandwidths"))
        return parse_list(option, value, cfg->gbps, MAX_BANDWIDTHS, &cfg->n_bandwidths);
    if (!strcmp(option, "--speedups"))
        return parse_list(option, value, cfg->speedups, MAX_SPEEDUPS, &cfg->n_speedups);
    if (!strcmp(option, "--alpha-us")) {
        double us;
        if (parse_double(option, value, 0, 1e6, &us) != 0)
            return -1;
        cfg->alpha = us * 1e-6;
        return 0;
    }
    if (!strcmp(option, "--link-efficiency"))
        return parse_double(option, value, 0.01, 1, &cfg->link_efficiency);
    if (!strcmp(option, "--max-ranks")) {
        long v;
        if (parse_long(option, value, 1, 1L << (MAX_POINTS - 1), &v) != 0)
            return -1;
        cfg->max_ranks = (int)v;
        return 0;
    }
    if (!strcmp(option, "--markdown")) {
        cfg->markdown = value;
        return 0;
    }
    if (!strcmp(option, "--plots")) {
        cfg->plots = value;
        return 0;
    }
    return 1;
}

/* Every network needs every field, and there must be a bandwidth. */
static int check_config(const config *cfg)
{
    if (cfg->n_nets == 0 || cfg->n_bandwidths == 0) {
        fprintf(stderr, "project: give at least one --net and --bandwidths\n");
        return -1;
    }
    for (int i = 0; i < cfg->n_nets; i++) {
        const net_input *n = &cfg->nets[i];
        if (isnan(n->params) || isnan(n->seconds_per_image) || isnan(n->batch) ||
            isnan(n->images) || isnan(n->backward_share)) {
            fprintf(stderr,
                    "project: --net %s: give --params, --seconds-per-image, --batch, "
                    "--images and --backward-share\n",
                    n->name);
            return -1;
        }
    }
    return 0;
}

/* 0 to run, 1 for --help, -1 on a usage error (with a message). */
static int parse_args(int argc, char **argv, config *cfg)
{
    static const double default_speedups[] = {1, 10, 100};
    memset(cfg, 0, sizeof *cfg);
    cfg->alpha = 5e-6;
    cfg->link_efficiency = 0.9;
    cfg->max_ranks = 256;
    memcpy(cfg->speedups, default_speedups, sizeof default_speedups);
    cfg->n_speedups = sizeof default_speedups / sizeof *default_speedups;
    for (int i = 1; i < argc; i += 2) {
        const char *option = argv[i];
        if (!strcmp(option, "--help"))
            return 1;
        if (i + 1 >= argc) {
            fprintf(stderr, "project: %s needs a value\n", option);
            return -1;
        }
        const char *value = argv[i + 1];
        int status =
            !strcmp(option, "--net") ? start_net(cfg, value) : parse_net_option(cfg, option, value);
        if (status == 1)
            status = parse_model_option(cfg, option, value);
        if (status == 1)
            fprintf(stderr, "project: unknown option '%s'\n", option);
        if (status != 0)
            return -1;
    }
    return check_config(cfg);
}

/* ---- the model ------------------------------------------------------------------------------ */

/* Usable bytes per second of a link of `gbps` gigabits per second. */
static double link_bytes_per_second(const config *cfg, double gbps)
{
    return gbps * 1e9 / 8.0 * cfg->link_efficiency;
}

/* Ring allreduce of `bytes` over p ranks: 2(p-1) message steps, each rank sending and receiving
 * 2(p-1)/p of the buffer. */
static double ring_allreduce_seconds(double bytes, int p, double alpha, double bytes_per_second)
{
    return 2.0 * (p - 1) * alpha + 2.0 * (p - 1) / p * bytes / bytes_per_second;
}

/* Epoch time, throughput and efficiency of network n on p ranks. */
static projection project(const config *cfg, const net_input *n, int p, double gbps, int overlap,
                          double speedup)
{
    projection r;
    double compute = n->batch * n->seconds_per_image / speedup;
    r.allreduce_s =
        ring_allreduce_seconds(4.0 * n->params, p, cfg->alpha, link_bytes_per_second(cfg, gbps));
    double hidden = overlap ? fmin(r.allreduce_s, n->backward_share * compute) : 0.0;
    r.step_s = compute + r.allreduce_s - hidden;
    r.images_per_s = p * n->batch / r.step_s;
    r.epoch_s = n->images / r.images_per_s;
    r.efficiency = r.images_per_s / (p * (n->batch / compute)); /* one rank never communicates */
    return r;
}

/* Ranks 1, 2, 4, ... up to max_ranks; returns how many. */
static int rank_counts(const config *cfg, int *ranks)
{
    int n = 0;
    for (int p = 1; p <= cfg->max_ranks && n < MAX_POINTS; p *= 2)
        ranks[n++] = p;
    return n;
}

/* The largest --speedups value above 1, or 0 when there is none. */
static double largest_speedup(const config *cfg)
{
    double k = 0;
    for (int s = 0; s < cfg->n_speedups; s++)
        if (cfg->speedups[s] > 1 && cfg->speedups[s] > k)
            k = cfg->speedups[s];
    return k;
}

/* The --plots prefix without its directory: the markdown sits next to the pictures. */
static const char *plots_base(const config *cfg)
{
    const char *slash = strrchr(cfg->plots, '/');
    return slash ? slash + 1 : cfg->plots;
}

/* ---- markdown ------------------------------------------------------------------------------- */

static void format_duration(double s, char *buf, size_t cap)
{
    if (s < 120)
        snprintf(buf, cap, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, cap, "%.1f min", s / 60);
    else
        snprintf(buf, cap, "%.2f h", s / 3600);
}

static void write_assumptions(FILE *f, const config *cfg)
{
    fprintf(f, "Model (tests/bench/project.c):\n\n");
    fprintf(f, "- **Ring allreduce** of the whole fp32 gradient once per step: T_ar = 2(p-1) alpha "
               "+ 2(p-1)/p S/B, S = 4 bytes x parameters. (An MPI library may pick reduce-scatter "
               "+ allgather by recursive halving instead: the same bandwidth term with 2 log2(p) "
               "latencies, so the ring is the conservative case.)\n");
    fprintf(f, "- **alpha = %g us** per message step.\n", cfg->alpha * 1e6);
    fprintf(f, "- **B = link rate x %.0f%%**:", 100 * cfg->link_efficiency);
    for (int b = 0; b < cfg->n_bandwidths; b++)
        fprintf(f, "%s %g Gb/s -> %.2f GB/s", b ? "," : "", cfg->gbps[b],
                link_bytes_per_second(cfg, cfg->gbps[b]) / 1e9);
    fprintf(f, ". Every hop of the ring is charged at B, even between ranks on one node.\n");
    fprintf(f, "- **Weak scaling**: each rank keeps its batch; the compute time per image is the "
               "measured one at every p (no straggler, no data-loading stall, no evaluation).\n");
    fprintf(f, "- **No overlap**: step = compute + T_ar. **Overlap**: the allreduce runs during "
               "backward, so up to the backward share of the compute time is hidden: step = "
               "compute + max(0, T_ar - share x compute). This is the best case: in reality the "
               "last bucket cannot start before backward ends.\n");
    fprintf(f, "- Efficiency = images/s(p) / (p x images/s(1)); epoch = images per epoch / "
               "images/s (a last partial step counted pro rata).\n\n");
}

static void write_inputs(FILE *f, const net_input *n)
{
    char t[32];
    format_duration(n->images * n->seconds_per_image, t, sizeof t);
    fprintf(f,
            "%.0f parameters (S = %.2f MB of gradient); %.4g s per image on one rank (%.1f "
            "images/s); batch %.0f per rank (compute %.3f s per step); backward share %.2f; "
            "%.0f images per epoch (%s on one rank).\n\n",
            n->params, 4.0 * n->params / 1e6, n->seconds_per_image, 1.0 / n->seconds_per_image,
            n->batch, n->batch * n->seconds_per_image, n->backward_share, n->images, t);
}

/* The allreduce at the largest rank count, split into its two terms, against the compute. */
static void write_allreduce_terms(FILE *f, const config *cfg, const net_input *n)
{
    int p = cfg->max_ranks;
    double latency = 2.0 * (p - 1) * cfg->alpha;
    fprintf(f,
            "At %d ranks one allreduce costs %.2f ms of latency (2(p-1) alpha) plus, for the "
            "bandwidth term,",
            p, latency * 1e3);
    for (int b = 0; b < cfg->n_bandwidths; b++) {
        double bw =
            ring_allreduce_seconds(4.0 * n->params, p, 0, link_bytes_per_second(cfg, cfg->gbps[b]));
        fprintf(f, "%s %.2f ms at %g Gb/s", b ? "," : "", bw * 1e3, cfg->gbps[b]);
    }
    fprintf(f, "; a step computes for %.0f ms.\n\n", n->batch * n->seconds_per_image * 1e3);
}

static void write_table(FILE *f, const config *cfg, const net_input *n, int overlap)
{
    if (overlap)
        fprintf(f,
                "**Overlap with backward** (up to %.0f%% of compute = %.0f ms per step "
                "hidden):\n\n",
                100 * n->backward_share, n->backward_share * n->batch * n->seconds_per_image * 1e3);
    else
        fprintf(f, "**No overlap:**\n\n");
    fprintf(f, "| ranks |");
    for (int b = 0; b < cfg->n_bandwidths; b++)
        fprintf(f, " %g Gb/s: epoch | images/s | efficiency |", cfg->gbps[b]);
    fprintf(f, "\n|---:|");
    for (int b = 0; b < cfg->n_bandwidths; b++)
        fprintf(f, "---:|---:|---:|");
    fprintf(f, "\n");
    int ranks[MAX_POINTS], n_ranks = rank_counts(cfg, ranks);
    for (int i = 0; i < n_ranks; i++) {
        fprintf(f, "| %d |", ranks[i]);
        for (int b = 0; b < cfg->n_bandwidths; b++) {
            projection r = project(cfg, n, ranks[i], cfg->gbps[b], overlap, 1.0);
            char t[32];
            format_duration(r.epoch_s, t, sizeof t);
            fprintf(f, " %s | %.0f | %.1f%% |", t, r.images_per_s, 100 * r.efficiency);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\n");
}

/* Efficiency at the largest rank count: every network, both variants. */
static void write_summary(FILE *f, const config *cfg)
{
    fprintf(f, "## Efficiency at %d ranks\n\n| network | allreduce |", cfg->max_ranks);
    for (int b = 0; b < cfg->n_bandwidths; b++)
        fprintf(f, " %g Gb/s |", cfg->gbps[b]);
    fprintf(f, "\n|---|---|");
    for (int b = 0; b < cfg->n_bandwidths; b++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int i = 0; i < cfg->n_nets; i++) {
        for (int overlap = 0; overlap < 2; overlap++) {
            fprintf(f, "| %s | %s |", cfg->nets[i].name, overlap ? "overlapped" : "after backward");
            for (int b = 0; b < cfg->n_bandwidths; b++) {
                projection r =
                    project(cfg, &cfg->nets[i], cfg->max_ranks, cfg->gbps[b], overlap, 1.0);
                fprintf(f, " %.1f%% |", 100 * r.efficiency);
            }
            fprintf(f, "\n");
        }
    }
    fprintf(f, "\n");
}

/* Efficiency at the largest rank count if a rank computed `speedup` times faster. */
static void write_sensitivity(FILE *f, const config *cfg)
{
    if (cfg->n_speedups == 0)
        return;
    fprintf(f, "## Sensitivity: faster ranks\n\n");
    fprintf(f,
            "Efficiency at %d ranks, no overlap / overlap, if a rank computed k times faster "
            "than the measured one (the same network and batch; a GPU or a many-core rank):\n\n",
            cfg->max_ranks);
    fprintf(f, "| network | k | step compute |");
    for (int b = 0; b < cfg->n_bandwidths; b++)
        fprintf(f, " %g Gb/s |", cfg->gbps[b]);
    fprintf(f, "\n|---|---:|---:|");
    for (int b = 0; b < cfg->n_bandwidths; b++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int i = 0; i < cfg->n_nets; i++) {
        const net_input *n = &cfg->nets[i];
        for (int s = 0; s < cfg->n_speedups; s++) {
            double k = cfg->speedups[s];
            fprintf(f, "| %s | %g | %.1f ms |", n->name, k,
                    n->batch * n->seconds_per_image / k * 1e3);
            for (int b = 0; b < cfg->n_bandwidths; b++) {
                projection a = project(cfg, n, cfg->max_ranks, cfg->gbps[b], 0, k);
                projection o = project(cfg, n, cfg->max_ranks, cfg->gbps[b], 1, k);
                fprintf(f, " %.1f%% / %.1f%% |", 100 * a.efficiency, 100 * o.efficiency);
            }
            fprintf(f, "\n");
        }
    }
    fprintf(f, "\n");
    double fast = largest_speedup(cfg);
    if (cfg->plots && fast > 0) {
        for (int i = 0; i < cfg->n_nets; i++)
            fprintf(f, "![%s, ranks %gx faster](%s_%s_efficiency_k%g.png)\n", cfg->nets[i].name,
                    fast, plots_base(cfg), cfg->nets[i].name, fast);
        fprintf(f, "\n");
    }
}

static void write_markdown(FILE *f, const config *cfg)
{
    write_assumptions(f, cfg);
    write_summary(f, cfg);
    for (int i = 0; i < cfg->n_nets; i++) {
        const net_input *n = &cfg->nets[i];
        fprintf(f, "## %s\n\n", n->name);
        write_inputs(f, n);
        write_allreduce_terms(f, cfg, n);
        write_table(f, cfg, n, 0);
        write_table(f, cfg, n, 1);
        if (cfg->plots) {
            const char *base = plots_base(cfg);
            fprintf(f, "![%s efficiency](%s_%s_efficiency.png)\n", n->name, base, n->name);
            fprintf(f, "![%s images/s](%s_%s_throughput.png)\n\n", n->name, base, n->name);
            fprintf(f, "(Curves at 100%% lie on top of each other. The images/s figure shows the "
                       "allreduce after backward; overlapped lies between it and the ideal.)\n\n");
        }
    }
    write_sensitivity(f, cfg);
}

/* ---- pictures ------------------------------------------------------------------------------- */

/* PREFIX_NAME_efficiency.png (speedup 1), PREFIX_NAME_efficiency_kK.png (speedup K): one series
 * per bandwidth and variant; PREFIX_NAME_throughput.png: images/s per bandwidth and the ideal.
 * x = log2(ranks). */
static int plot_network(const config *cfg, const net_input *n, int throughput, double speedup,
                        pt_error *err)
{
    int ranks[MAX_POINTS], n_ranks = rank_counts(cfg, ranks);
    double x[MAX_POINTS], y[2 * MAX_BANDWIDTHS + 1][MAX_POINTS];
    char names[2 * MAX_BANDWIDTHS + 1][64];
    pt_plot_series series[2 * MAX_BANDWIDTHS + 1];
    int n_series = 0;
    /* images/s: only the allreduce after backward (overlapped lies between it and the ideal) */
    for (int overlap = 0; overlap < (throughput ? 1 : 2); overlap++) {
        for (int b = 0; b < cfg->n_bandwidths; b++, n_series++) {
            for (int i = 0; i < n_ranks; i++) {
                projection r = project(cfg, n, ranks[i], cfg->gbps[b], overlap, speedup);
                x[i] = log2(ranks[i]);
                y[n_series][i] = throughput ? r.images_per_s : 100 * r.efficiency;
            }
            snprintf(names[n_series], sizeof names[n_series], "%g Gb/s, %s", cfg->gbps[b],
                     overlap ? "overlapped" : "after backward");
            series[n_series] = (pt_plot_series){names[n_series], x, y[n_series], n_ranks};
        }
    }
    if (throughput) { /* the ideal: p times one rank */
        for (int i = 0; i < n_ranks; i++)
            y[n_series][i] = ranks[i] * speedup / n->seconds_per_image;
        snprintf(names[n_series], sizeof names[n_series], "ideal (p x 1 rank)");
        series[n_series] = (pt_plot_series){names[n_series], x, y[n_series], n_ranks};
        n_series++;
    }
    char path[PATH_CAP], title[160], xlabel[64], speed[32] = "", figure[48];
    if (speedup != 1) {
        snprintf(speed, sizeof speed, ", ranks %gx faster", speedup);
        snprintf(figure, sizeof figure, "efficiency_k%g", speedup);
    } else {
        snprintf(figure, sizeof figure, "%s", throughput ? "throughput" : "efficiency");
    }
    snprintf(path, sizeof path, "%s_%s_%s.png", cfg->plots, n->name, figure);
    snprintf(title, sizeof title, "%s: projected %s (batch %.0f/rank, alpha %g us%s)", n->name,
             throughput ? "images/s" : "scaling efficiency", n->batch, cfg->alpha * 1e6, speed);
    snprintf(xlabel, sizeof xlabel, "ranks (log2): 0 = 1 rank, %.0f = %d ranks", x[n_ranks - 1],
             ranks[n_ranks - 1]);
    return pt_plot_lines(path, title, xlabel, throughput ? "images/s" : "efficiency (%)", series,
                         n_series, err);
}

static int write_plots(const config *cfg)
{
    double fast = largest_speedup(cfg);
    for (int i = 0; i < cfg->n_nets; i++) {
        pt_error err;
        const net_input *n = &cfg->nets[i];
        if (plot_network(cfg, n, 0, 1.0, &err) != PT_OK ||
            plot_network(cfg, n, 1, 1.0, &err) != PT_OK ||
            (fast > 0 && plot_network(cfg, n, 0, fast, &err) != PT_OK)) {
            fprintf(stderr, "project: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    config cfg;
    int parsed = parse_args(argc, argv, &cfg);
    if (parsed != 0) {
        usage(parsed > 0 ? stdout : stderr);
        return parsed > 0 ? 0 : 2;
    }
    FILE *f = cfg.markdown ? fopen(cfg.markdown, "w") : stdout;
    if (!f) {
        fprintf(stderr, "project: %s: %s\n", cfg.markdown, strerror(errno));
        return 1;
    }
    write_markdown(f, &cfg);
    int failed = ferror(f);
    if (cfg.markdown && fclose(f) != 0)
        failed = 1;
    if (failed) {
        fprintf(stderr, "project: %s: write error\n", cfg.markdown ? cfg.markdown : "stdout");
        return 1;
    }
    if (cfg.plots && write_plots(&cfg) != 0)
        return 1;
    return 0;
}
