/* Server counters and their Prometheus text (see metrics.h). */
#include "metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

static const char *const route_labels[] = {
#define PT_ROUTE_LABEL(id, label) label,
    PT_ROUTE_TABLE(PT_ROUTE_LABEL)
#undef PT_ROUTE_LABEL
};
_Static_assert(sizeof route_labels / sizeof route_labels[0] == PT_ROUTE_COUNT,
               "one label per route");

/* The status codes the server answers with; anything else is counted under the last. */
static const int status_codes[] = {200, 400, 404, 405, 413, 415, 500, 503, 0};
#define N_STATUS ((int)(sizeof status_codes / sizeof status_codes[0]))

/* Histogram upper bounds (Prometheus "le"), +Inf implied. */
static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,   0.25,   0.5,   1.0,  2.5,   5.0};
#define N_LATENCY ((int)(sizeof latency_bounds / sizeof latency_bounds[0]))
static const int batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128};
#define N_BATCH ((int)(sizeof batch_bounds / sizeof batch_bounds[0]))

typedef struct counters {
    uint64_t requests[PT_ROUTE_COUNT][N_STATUS];
    uint64_t latency_le[N_LATENCY + 1]; /* per bucket (not cumulative); last is +Inf */
    double latency_sum;
    uint64_t latency_count;
    uint64_t batch_le[N_BATCH + 1];
    uint64_t batch_count;
    uint64_t images;
} counters;

struct pt_serve_metrics {
    pthread_mutex_t lock;
    counters c;
};

const char *pt_route_label(pt_route route)
{
    return (unsigned)route < PT_ROUTE_COUNT ? route_labels[route] : "other";
}

pt_serve_metrics *pt_serve_metrics_new(void)
{
    pt_serve_metrics *m = calloc(1, sizeof *m);
    if (m && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void pt_serve_metrics_free(pt_serve_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int status_index(int status)
{
    for (int i = 0; i < N_STATUS - 1; i++)
        if (status_codes[i] == status)
            return i;
    return N_STATUS - 1;
}

void pt_serve_metrics_request(pt_serve_metrics *m, pt_route route, int status, double seconds)
{
    if ((unsigned)route >= PT_ROUTE_COUNT)
        route = PT_ROUTE_OTHER;
    int bucket = 0;
    while (bucket < N_LATENCY && seconds > latency_bounds[bucket])
        bucket++;
    pthread_mutex_lock(&m->lock);
    m->c.requests[route][status_index(status)]++;
    m->c.latency_le[bucket]++;
    m->c.latency_sum += seconds;
    m->c.latency_count++;
    pthread_mutex_unlock(&m->lock);
}

void pt_serve_metrics_batch(pt_serve_metrics *m, int images)
{
    int bucket = 0;
    while (bucket < N_BATCH && images > batch_bounds[bucket])
        bucket++;
    pthread_mutex_lock(&m->lock);
    m->c.batch_le[bucket]++;
    m->c.batch_count++;
    m->c.images += (uint64_t)images;
    pthread_mutex_unlock(&m->lock);
}

void pt_serve_metrics_write(pt_serve_metrics *m, int queue_depth, FILE *f)
{
    pthread_mutex_lock(&m->lock);
    counters copy = m->c; /* printed outside the lock */
    pthread_mutex_unlock(&m->lock);

    fputs("# HELP ptrain_requests_total HTTP requests answered, by route and status code.\n"
          "# TYPE ptrain_requests_total counter\n",
          f);
    for (int r = 0; r < PT_ROUTE_COUNT; r++)
        for (int s = 0; s < N_STATUS; s++)
            if (copy.requests[r][s]) {
                char code[16] = "other";
                if (s < N_STATUS - 1)
                    snprintf(code, sizeof code, "%d", status_codes[s]);
                fprintf(f, "ptrain_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
                        route_labels[r], code, (unsigned long long)copy.requests[r][s]);
            }
    fputs("# HELP ptrain_images_scored_total Images run through the network.\n"
          "# TYPE ptrain_images_scored_total counter\n",
          f);
    fprintf(f, "ptrain_images_scored_total %llu\n", (unsigned long long)copy.images);

    fputs("# HELP ptrain_batch_size Images per batch run by the network.\n"
          "# TYPE ptrain_batch_size histogram\n",
          f);
    uint64_t cum = 0;
    for (int b = 0; b < N_BATCH; b++) {
        cum += copy.batch_le[b];
        fprintf(f, "ptrain_batch_size_bucket{le=\"%d\"} %llu\n", batch_bounds[b],
                (unsigned long long)cum);
    }
    cum += copy.batch_le[N_BATCH];
    fprintf(f, "ptrain_batch_size_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    fprintf(f, "ptrain_batch_size_sum %llu\n", (unsigned long long)copy.images);
    fprintf(f, "ptrain_batch_size_count %llu\n", (unsigned long long)copy.batch_count);

    fputs("# HELP ptrain_request_duration_seconds Time from a request's arrival to its answer.\n"
          "# TYPE ptrain_request_duration_seconds histogram\n",
          f);
    cum = 0;
    for (int b = 0; b < N_LATENCY; b++) {
        cum += copy.latency_le[b];
        fprintf(f, "ptrain_request_duration_seconds_bucket{le=\"%g\"} %llu\n", latency_bounds[b],
                (unsigned long long)cum);
    }
    cum += copy.latency_le[N_LATENCY];
    fprintf(f, "ptrain_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)cum);
    fprintf(f, "ptrain_request_duration_seconds_sum %.6f\n", copy.latency_sum);
    fprintf(f, "ptrain_request_duration_seconds_count %llu\n",
            (unsigned long long)copy.latency_count);

    fputs("# HELP ptrain_queue_depth Images waiting for a batch.\n"
          "# TYPE ptrain_queue_depth gauge\n",
          f);
    fprintf(f, "ptrain_queue_depth %d\n", queue_depth);
}
