/* `ptrain serve`: options, the model's place, signals; the server is in src/serve. Runs in one
 * process without MPI: SageMaker starts the container as `<image> serve`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "ptrain/cli.h"
#include "ptrain/fs.h"
#include "ptrain/net.h"
#include "ptrain/serve.h"

static void usage(FILE *to)
{
    fprintf(
        to,
        "usage: ptrain serve [--model PATH] [--port 8080] [--host 127.0.0.1] [--threads N]\n"
        "                    [--net-threads T] [--max-batch B] [--max-delay-ms D]\n"
        "                    [--max-body-mb M] [--name NAME] [--fit stretch|crop|pad]\n"
        "                    [--max-pixels N]\n"
        "                    [--timeout S] [--max-connections N] [--max-per-ip N]\n"
        "\n"
        "Serves a model over HTTP: POST /invocations (SageMaker) or /score (Azure ML) with a\n"
        "PNG or JPEG body, the Open Inference Protocol V2 (KServe) under /v2, GET /ping,\n"
        "/metrics (Prometheus) and a web page at /. README.md, \"Serving\", has the details.\n"
        "\n"
        "  --model PATH        model.h5 or a folder holding one (a run directory). Without\n"
        "                      it: /opt/ml/model, $AZUREML_MODEL_DIR, /mnt/models\n"
        "  --port N            default 8080, or $PORT; 0 picks a free port (printed)\n"
        "  --host ADDR         default 127.0.0.1; 0.0.0.0 in a container\n"
        "  --threads N         HTTP worker threads (8)\n"
        "  --net-threads T     threads the network runs a batch on, each on its share of\n"
        "                      the batch's images (1: one image gains nothing from more,\n"
        "                      and the HTTP threads decode on the other cores)\n"
        "  --max-batch B       images per network run (16)\n"
        "  --max-delay-ms D    longest wait for a batch to fill (5)\n"
        "  --max-body-mb M     larger bodies are refused with 413 (16)\n"
        "  --name NAME         the model's name in /v2/models/NAME (ptrain)\n"
        "  --fit, --max-pixels as for ptrain predict (the --fit the cache was made with)\n"
        "  --timeout S         idle or slow connections are closed after S seconds (30)\n"
        "  --max-connections N, --max-per-ip N   connection limits (512, 128)\n"
        "\n"
        "SIGTERM or SIGINT: stop accepting, finish the requests in flight (up to 25 s), exit 0.\n");
}

enum {
    O_MODEL = 1,
    O_PORT,
    O_HOST,
    O_THREADS,
    O_NET_THREADS,
    O_BATCH,
    O_DELAY,
    O_BODY,
    O_NAME,
    O_FIT,
    O_MAXPIX,
    O_TIMEOUT,
    O_MAXCONN,
    O_PERIP
};
static const pt_cli_option options[] = {{"model", 1, O_MODEL},
                                        {"port", 1, O_PORT},
                                        {"host", 1, O_HOST},
                                        {"threads", 1, O_THREADS},
                                        {"max-batch", 1, O_BATCH},
                                        {"max-delay-ms", 1, O_DELAY},
                                        {"max-body-mb", 1, O_BODY},
                                        {"name", 1, O_NAME},
                                        {"fit", 1, O_FIT},
                                        {"max-pixels", 1, O_MAXPIX},
                                        {"timeout", 1, O_TIMEOUT},
                                        {"max-connections", 1, O_MAXCONN},
                                        {"max-per-ip", 1, O_PERIP},
                                        {"net-threads", 1, O_NET_THREADS},
                                        {NULL, 0, 0}};

/* An integer option in [lo, hi], or the usage error naming it. */
static int int_option(const char *name, const char *value, long long lo, long long hi,
                      long long *out, pt_error *err)
{
    if (pt_cli_long(value, lo, hi, out))
        return pt_error_set(err, PT_ERR_USAGE, "--%s: '%s' is not a whole number in [%lld, %lld]",
                            name, value, lo, hi);
    return 0;
}

static int on_option(void *ctx, int id, const char *value, pt_error *err)
{
    pt_serve_opts *o = ctx;
    long long v = 0;
    int rc = 0;
    switch (id) {
    case O_MODEL:
        o->model = value;
        return 0;
    case O_HOST:
        o->host = value;
        return 0;
    case O_NAME:
        o->name = value;
        return 0;
    case O_FIT:
        if (pt_fit_parse(value, &o->fit) != PT_OK)
            return pt_error_set(err, PT_ERR_USAGE, "--fit: '%s' is not stretch|crop|pad", value);
        return 0;
    case O_PORT:
        rc = int_option("port", value, 0, 65535, &v, err);
        o->port = (int)v;
        return rc;
    case O_THREADS:
        rc = int_option("threads", value, 1, 1024, &v, err);
        o->threads = (int)v;
        return rc;
    case O_NET_THREADS:
        rc = int_option("net-threads", value, 1, PT_NET_MAX_THREADS, &v, err);
        o->net_threads = (int)v;
        return rc;
    case O_BATCH:
        rc = int_option("max-batch", value, 1, 1024, &v, err);
        o->max_batch = (int)v;
        return rc;
    case O_DELAY:
        rc = int_option("max-delay-ms", value, 0, 10000, &v, err);
        o->max_delay_ms = (int)v;
        return rc;
    case O_BODY:
        rc = int_option("max-body-mb", value, 1, 4096, &v, err);
        o->max_body_bytes = (size_t)v << 20;
        return rc;
    case O_MAXPIX:
        rc = int_option("max-pixels", value, 1, INT64_MAX, &v, err);
        o->max_pixels = v;
        return rc;
    case O_TIMEOUT:
        rc = int_option("timeout", value, 1, 3600, &v, err);
        o->conn_timeout_s = (int)v;
        return rc;
    case O_MAXCONN:
        rc = int_option("max-connections", value, 1, 100000, &v, err);
        o->max_connections = (int)v;
        return rc;
    case O_PERIP:
        rc = int_option("max-per-ip", value, 1, 100000, &v, err);
        o->per_ip_connections = (int)v;
        return rc;
    }
    return -1;
}

static int parse(int argc, char **argv, pt_serve_opts *o, pt_error *err)
{
    pt_serve_opts_default(o);
    /* PORT from the environment (Azure ML, Cloud Run and others set it); --port wins */
    const char *port = getenv("PORT");
    if (port && *port) {
        long long v;
        if (pt_cli_long(port, 0, 65535, &v))
            return pt_error_set(err, PT_ERR_USAGE, "PORT='%s' is not a port number", port);
        o->port = (int)v;
    }
    /* SageMaker runs the image as `<image> serve`, with no options: the container's address
     * comes from the environment (the Dockerfile sets it to 0.0.0.0); --host wins */
    const char *host = getenv("PTRAIN_SERVE_HOST");
    if (host && *host)
        o->host = host;
    return pt_cli_parse(argc, argv, options, on_option, NULL, o, err);
}

/* The write end of the pipe the signal handler writes to: the server polls the read end. */
static int stop_pipe_write = -1;

static void on_stop_signal(int sig)
{
    int saved = errno;
    char byte = (char)sig;
    if (write(stop_pipe_write, &byte, 1) < 0) {
        /* a full pipe already holds a stop request */
    }
    errno = saved;
}

/* SIGTERM and SIGINT make the server stop gracefully; SIGPIPE (a client gone) is ignored. */
static int install_signals(int *stop_read, pt_error *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return pt_error_set(err, PT_ERR_IO, "pipe: %s", strerror(errno));
    stop_pipe_write = fds[1];
    *stop_read = fds[0];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGPIPE, &ignore, NULL) != 0)
        return pt_error_set(err, PT_ERR_IO, "sigaction: %s", strerror(errno));
    return PT_OK;
}

int pt_cmd_serve(int argc, char **argv)
{
    pt_serve_opts o;
    pt_error err;
    pt_error_clear(&err);
    int parsed = parse(argc, argv, &o, &err);
    if (parsed == 1) {
        usage(stdout);
        return 0;
    }
    if (parsed != 0) {
        fprintf(stderr, "ptrain serve: error: %s\n", err.msg);
        usage(stderr);
        return PT_EXIT_USAGE;
    }
    char model[PT_PATH_MAX];
    int status = pt_serve_find_model(o.model, model, sizeof model, &err);
    if (status == PT_OK) {
        o.model = model;
        status = install_signals(&o.stop_fd, &err);
    }
    if (status == PT_OK)
        status = pt_serve_run(&o, &err);
    if (status != PT_OK) {
        fprintf(stderr, "ptrain serve: error: %s\n", err.msg);
        return pt_cli_exit_code(status);
    }
    return 0;
}
