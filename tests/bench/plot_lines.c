/* A line plot from the command line, for the benchmark reports (tests/bench/report.sh):
 *   plot_lines OUT.png TITLE XLABEL YLABEL SERIES...
 * Each SERIES is "name=x1:y1,x2:y2,...". The picture is drawn by ptrain's own plot module, the
 * one that draws a run's learning curves. Exit status 2 on a malformed argument, 1 if the file
 * cannot be written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

#define MAX_POINTS 64

typedef struct parsed_series {
    char name[128];
    double x[MAX_POINTS], y[MAX_POINTS];
    int n;
} parsed_series;

/* Reads one number ending at one of the characters in `ends` (or the end of the string). */
static int read_number(const char **s, const char *ends, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(*s, &end);
    if (end == *s || errno || (*end && !strchr(ends, *end)))
        return -1;
    *s = end;
    return 0;
}

static int parse_series(const char *arg, parsed_series *out)
{
    const char *eq = strchr(arg, '=');
    if (!eq || (size_t)(eq - arg) >= sizeof out->name)
        return -1;
    memcpy(out->name, arg, (size_t)(eq - arg));
    out->name[eq - arg] = '\0';
    out->n = 0;
    const char *s = eq + 1;
    while (*s) {
        if (out->n == MAX_POINTS)
            return -1;
        if (read_number(&s, ":", &out->x[out->n]) || *s != ':')
            return -1;
        s++;
        if (read_number(&s, ",", &out->y[out->n]))
            return -1;
        out->n++;
        if (*s == ',')
            s++;
    }
    return out->n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc - 5 > PT_PLOT_MAX_SERIES) {
        fprintf(stderr, "usage: plot_lines OUT.png TITLE XLABEL YLABEL name=x:y,x:y... (1-%d)\n",
                PT_PLOT_MAX_SERIES);
        return 2;
    }
    int n_series = argc - 5;
    parsed_series *parsed = calloc((size_t)n_series, sizeof *parsed);
    pt_plot_series series[PT_PLOT_MAX_SERIES];
    if (!parsed) {
        fprintf(stderr, "plot_lines: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n_series; i++) {
        if (parse_series(argv[5 + i], &parsed[i])) {
            fprintf(stderr, "plot_lines: bad series '%s' (want name=x:y,x:y...)\n", argv[5 + i]);
            free(parsed);
            return 2;
        }
        series[i] = (pt_plot_series){parsed[i].name, parsed[i].x, parsed[i].y, parsed[i].n};
    }
    pt_error err;
    int status = pt_plot_lines(argv[1], argv[2], argv[3], argv[4], series, n_series, &err);
    free(parsed);
    if (status != PT_OK) {
        fprintf(stderr, "plot_lines: %s\n", err.msg);
        return 1;
    }
    return 0;
}
