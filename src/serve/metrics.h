/* The server's counters, shown at GET /metrics in the Prometheus text format (version 0.0.4):
 * requests by route and status code, images scored, batch sizes, request latency, queue depth. */
#ifndef PTRAIN_SERVE_METRICS_H
#define PTRAIN_SERVE_METRICS_H

#include <stdio.h>

/* The routes as metric labels; a request to no route counts as "other". */
#define PT_ROUTE_TABLE(X)                                                                          \
    X(PT_ROUTE_PAGE, "/")                                                                          \
    X(PT_ROUTE_PING, "/ping")                                                                      \
    X(PT_ROUTE_INVOCATIONS, "/invocations")                                                        \
    X(PT_ROUTE_SCORE, "/score")                                                                    \
    X(PT_ROUTE_METRICS, "/metrics")                                                                \
    X(PT_ROUTE_V2, "/v2")                                                                          \
    X(PT_ROUTE_V2_LIVE, "/v2/health/live")                                                         \
    X(PT_ROUTE_V2_READY, "/v2/health/ready")                                                       \
    X(PT_ROUTE_V2_MODEL, "/v2/models/{name}")                                                      \
    X(PT_ROUTE_V2_MODEL_READY, "/v2/models/{name}/ready")                                          \
    X(PT_ROUTE_V2_INFER, "/v2/models/{name}/infer")                                                \
    X(PT_ROUTE_OTHER, "other")

typedef enum pt_route {
#define PT_ROUTE_ENUM(id, label) id,
    PT_ROUTE_TABLE(PT_ROUTE_ENUM)
#undef PT_ROUTE_ENUM
        PT_ROUTE_COUNT
} pt_route;

/* The route's label ("/ping"); "other" out of range. */
const char *pt_route_label(pt_route route);

typedef struct pt_serve_metrics pt_serve_metrics;

pt_serve_metrics *pt_serve_metrics_new(void); /* NULL when out of memory */
void pt_serve_metrics_free(pt_serve_metrics *m);

/* One finished request: its route, HTTP status and seconds from its first byte to its answer. */
void pt_serve_metrics_request(pt_serve_metrics *m, pt_route route, int status, double seconds);

/* One batch run by the network (its number of images). */
void pt_serve_metrics_batch(pt_serve_metrics *m, int images);

/* Writes every metric to f; queue_depth is the images waiting now. */
void pt_serve_metrics_write(pt_serve_metrics *m, int queue_depth, FILE *f);

#endif
