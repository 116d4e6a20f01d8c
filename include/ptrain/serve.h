/* `ptrain serve`: a trained model behind HTTP, for SageMaker, Azure ML, KServe and people with a
 * browser. libmicrohttpd does the HTTP (a thread pool over epoll); one batcher thread runs the one
 * copy of the network on the images that arrive together (on net_threads threads). README.md,
 * "Serving", lists the routes and their answers. No MPI: the server is one process. */
#ifndef PTRAIN_SERVE_H
#define PTRAIN_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/resize.h"

#define PT_SERVE_DEFAULT_PORT 8080
#define PT_SERVE_NAME_MAX     64

typedef struct pt_serve_opts {
    const char *model; /* model.h5 (pt_serve_find_model resolves folders and platform paths) */
    const char *host;  /* address to listen on: "127.0.0.1", "0.0.0.0", "::" */
    int port;          /* 0: any free port (the one chosen is printed) */
    const char *name;  /* the model's name in V2 routes and answers */
    int threads;       /* HTTP worker threads */
    int net_threads;   /* threads the network runs a batch on (pt_net_set_threads) */
    int max_batch;     /* images per network run */
    int max_delay_ms;  /* longest wait for a batch to fill */
    size_t max_body_bytes;
    pt_fit fit;         /* as ptrain-prep made the training cache */
    int64_t max_pixels; /* larger images are refused (400) */
    int conn_timeout_s; /* an idle or slow connection is closed after this */
    int max_connections;
    int per_ip_connections;
    size_t conn_memory_bytes; /* libmicrohttpd's buffer per connection (headers) */
    double grace_s;           /* after a stop request: longest wait for requests in flight */
    int stop_fd; /* the server stops when this descriptor becomes readable (a signal's pipe) */
} pt_serve_opts;

/* Defaults: 127.0.0.1:8080, name "ptrain", 8 threads, 1 network thread, batch 16, 5 ms, 16 MiB
 * bodies, stretch, PT_DEFAULT_MAX_PIXELS, 30 s timeout, 512 connections, 128 per address, 64 KiB,
 * 25 s grace; model NULL, stop_fd -1. */
void pt_serve_opts_default(pt_serve_opts *opts);

/* The model file to serve. arg (a model.h5, or a folder holding one, such as a run directory)
 * when given; otherwise the first folder the platforms mount models at that holds a model.h5
 * (itself or one level down): /opt/ml/model (SageMaker), $AZUREML_MODEL_DIR (Azure ML),
 * /mnt/models (KServe). PT_ERR_IO naming every place looked at when there is none. */
int pt_serve_find_model(const char *arg, char *path, size_t cap, pt_error *err);

/* Loads the model (any failure: PT_ERR_* before anything listens), listens, prints
 * "ptrain serve: listening on http://HOST:PORT" on stderr, and serves until opts->stop_fd is
 * readable; then stops accepting, lets requests in flight finish (up to grace_s) and returns
 * PT_OK. */
int pt_serve_run(const pt_serve_opts *opts, pt_error *err);

#endif
