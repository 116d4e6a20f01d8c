/* The HTTP server of `ptrain serve` (see serve.h): libmicrohttpd's thread pool over epoll, the
 * routes, and a graceful stop. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "answer.h"
#include "base64.h"
#include "batcher.h"
#include "metrics.h"
#include "page.h"
#include "ptrain/cam.h"
#include "ptrain/model_io.h"
#include "ptrain/prepare.h"
#include "ptrain/serve.h"
#include "v2.h"

void pt_serve_opts_default(pt_serve_opts *opts)
{
    *opts = (pt_serve_opts){.host = "127.0.0.1",
                            .port = PT_SERVE_DEFAULT_PORT,
                            .name = "ptrain",
                            .threads = 8,
                            .net_threads = 1,
                            .max_batch = 16,
                            .max_delay_ms = 5,
                            .max_body_bytes = (size_t)16 << 20,
                            .fit = PT_FIT_STRETCH,
                            .max_pixels = PT_DEFAULT_MAX_PIXELS,
                            .conn_timeout_s = 30,
                            .max_connections = 512,
                            .per_ip_connections = 128,
                            .conn_memory_bytes = (size_t)64 << 10,
                            .grace_s = 25.0,
                            .stop_fd = -1};
}

/* Everything the request handlers share. Read-only after start-up except the counters. */
typedef struct server {
    const pt_serve_opts *opts;
    pt_model_meta meta;
    pt_arch arch;
    pt_net *net;
    pt_batcher *batcher;
    pt_serve_metrics *metrics;
    pt_prepare_opts prep;
    int map_h, map_w;          /* the class activation map's size; 0 when there is none */
    char cam_unavailable[256]; /* why there is none */
    atomic_int in_flight;      /* requests begun and not completed */
} server;

/* One request, from its headers to its completion (libmicrohttpd's per-request pointer). */
typedef struct request {
    pt_route route;
    double start;
    int status;    /* the HTTP status answered */
    int inference; /* counted by the batcher as a request that may submit images */
    int too_large; /* the body passed --max-body-mb */
    char *body;
    size_t body_len, body_cap;
} request;

/* ---- answers -----------------------------------------------------------------------------------
 */

/* Queues body (malloc'ed, taken over; NULL: out of memory, answered 500) as the answer. */
static enum MHD_Result answer(struct MHD_Connection *c, request *r, int status, char *body,
                              const char *content_type)
{
    if (!body) {
        static const char oom[] = "{\"error\": \"out of memory\"}";
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        body = strdup(oom);
        content_type = "application/json";
        if (!body)
            return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                r->route == PT_ROUTE_INVOCATIONS || r->route == PT_ROUTE_SCORE ||
                                        r->route == PT_ROUTE_V2_INFER
                                    ? "POST"
                                    : "GET");
    r->status = status;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, request *r, int status, char *body)
{
    return answer(c, r, status, body, "application/json");
}

static enum MHD_Result answer_error(struct MHD_Connection *c, request *r, int status,
                                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result answer_error(struct MHD_Connection *c, request *r, int status,
                                    const char *fmt, ...)
{
    char msg[PT_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return answer_json(c, r, status, pt_answer_error(msg));
}

/* ---- routing -----------------------------------------------------------------------------------
 */

/* The route of a path; for /v2/models/{name}... *model_name points at the name in url and
 * *name_len is its length. */
static pt_route route_of(const char *url, const char **model_name, size_t *name_len)
{
    static const struct {
        const char *path;
        pt_route route;
    } fixed[] = {{"/", PT_ROUTE_PAGE},
                 {"/ping", PT_ROUTE_PING},
                 {"/invocations", PT_ROUTE_INVOCATIONS},
                 {"/score", PT_ROUTE_SCORE},
                 {"/metrics", PT_ROUTE_METRICS},
                 {"/v2", PT_ROUTE_V2},
                 {"/v2/health/live", PT_ROUTE_V2_LIVE},
                 {"/v2/health/ready", PT_ROUTE_V2_READY}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcmp(url, fixed[i].path))
            return fixed[i].route;
    static const char prefix[] = "/v2/models/";
    if (strncmp(url, prefix, sizeof prefix - 1) != 0)
        return PT_ROUTE_OTHER;
    const char *name = url + sizeof prefix - 1;
    const char *slash = strchr(name, '/');
    size_t len = slash ? (size_t)(slash - name) : strlen(name);
    if (len == 0)
        return PT_ROUTE_OTHER;
    *model_name = name;
    *name_len = len;
    if (!slash)
        return PT_ROUTE_V2_MODEL;
    if (!strcmp(slash, "/ready"))
        return PT_ROUTE_V2_MODEL_READY;
    if (!strcmp(slash, "/infer"))
        return PT_ROUTE_V2_INFER;
    return PT_ROUTE_OTHER;
}

static int is_post_route(pt_route route)
{
    return route == PT_ROUTE_INVOCATIONS || route == PT_ROUTE_SCORE || route == PT_ROUTE_V2_INFER;
}

/* The media type of the request without parameters ("image/png" of "image/png; q=1"), lower
 * case, into out; "" when absent. */
static void media_type(struct MHD_Connection *c, char *out, size_t cap)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = 0;
    for (; ct && ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < cap; n++)
        out[n] = (char)(ct[n] >= 'A' && ct[n] <= 'Z' ? ct[n] - 'A' + 'a' : ct[n]);
    out[n] = '\0';
}

typedef enum body_kind { BODY_REFUSED, BODY_IMAGE, BODY_JSON } body_kind;

/* What an inference route accepts: an encoded image on /invocations and /score (SageMaker's
 * application/x-image and octet-stream too), V2 JSON on all three (the V2 route also without a
 * Content-Type, as many clients send it). */
static body_kind body_kind_of(pt_route route, const char *type)
{
    if (!strcmp(type, "application/json"))
        return BODY_JSON;
    if (route == PT_ROUTE_V2_INFER)
        return type[0] ? BODY_REFUSED : BODY_JSON;
    static const char *const images[] = {"image/png", "image/jpeg", "image/jpg",
                                         "application/x-image", "application/octet-stream"};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        if (!strcmp(type, images[i]))
            return BODY_IMAGE;
    return BODY_REFUSED;
}

static int wants_cam_query(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cam");
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true"));
}

/* ---- heat maps ----------------------------------------------------------------------------------
 */

/* The overlay of one map over its film as base64 PNG (malloc'ed), or NULL with err set. */
static char *cam_base64(const server *s, const float *map, const pt_image *film, pt_error *err)
{
    pt_cam_geometry geo = {s->meta.width, s->meta.height, s->opts->fit};
    uint8_t *png = NULL;
    size_t size = 0;
    if (pt_cam_overlay_png(map, s->map_h, s->map_w, &geo, film, &png, &size, err) != PT_OK)
        return NULL;
    char *text = malloc(pt_base64_encoded_len(size) + 1);
    if (text)
        pt_base64_encode(png, size, text);
    else
        pt_error_set(err, PT_ERR_NOMEM, "out of memory for a heat map");
    free(png);
    return text;
}

/* ---- inference routes ------------------------------------------------------------------------ */

/* The status for a failure to prepare or run images: the client's fault (400) or ours (500). */
static int failure_status(int code)
{
    return code == PT_ERR_NOMEM || code == PT_ERR_IO ? MHD_HTTP_INTERNAL_SERVER_ERROR
                                                     : MHD_HTTP_BAD_REQUEST;
}

/* Runs n prepared images through the batcher; maps when cam is wanted and the net has them. */
static int run_images(server *s, const uint8_t *images, int n, int cam, float **probs, float **maps,
                      int **cam_class, pt_error *err)
{
    *probs = malloc((size_t)n * (size_t)s->meta.n_classes * sizeof **probs);
    *maps = NULL;
    *cam_class = NULL;
    if (cam && s->map_h > 0) {
        *maps = malloc((size_t)n * (size_t)s->map_h * (size_t)s->map_w * sizeof **maps);
        *cam_class = malloc((size_t)n * sizeof **cam_class);
    }
    if (!*probs || (cam && s->map_h > 0 && (!*maps || !*cam_class)))
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory for %d images", n);
    return pt_batcher_run(s->batcher, images, n, *probs, *maps, *cam_class, err);
}

/* A raw PNG/JPEG body: the one-image answer. */
static enum MHD_Result infer_image(server *s, struct MHD_Connection *c, request *r)
{
    int cam = wants_cam_query(c);
    uint8_t *pixels = malloc((size_t)s->meta.width * (size_t)s->meta.height);
    pt_image film = {0};
    float *probs = NULL, *maps = NULL;
    int *cam_class = NULL;
    char *cam_png = NULL;
    pt_error err;
    pt_error_clear(&err);
    enum MHD_Result ret;
    if (!pixels) {
        ret = answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    int status = pt_prepare_memory_keep((const uint8_t *)r->body, r->body_len, "request body",
                                        &s->prep, pixels, cam && s->map_h > 0 ? &film : NULL, &err);
    if (status != PT_OK) {
        ret = answer_error(c, r, failure_status(status), "%s", err.msg);
        goto done;
    }
    status = run_images(s, pixels, 1, cam, &probs, &maps, &cam_class, &err);
    if (status != PT_OK) {
        /* a network that answers NaN is the server's fault, never a number in an answer */
        ret = answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
        goto done;
    }
    if (maps) {
        cam_png = cam_base64(s, maps, &film, &err);
        if (!cam_png) {
            ret = answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
            goto done;
        }
    }
    ret = answer_json(c, r, MHD_HTTP_OK,
                      pt_answer_image(&s->meta, s->opts->name, probs,
                                      cam ? (maps ? cam_class[0] : 0) : -1, cam_png,
                                      cam && !maps ? s->cam_unavailable : NULL));
done:
    free(pixels);
    pt_image_free(&film);
    free(probs);
    free(maps);
    free(cam_class);
    free(cam_png);
    return ret;
}

/* A V2 JSON body: the V2 answer. */
static enum MHD_Result infer_v2(server *s, struct MHD_Connection *c, request *r)
{
    pt_error err;
    pt_error_clear(&err);
    pt_v2_request req;
    int status = pt_v2_parse_infer(r->body, r->body_len, &s->prep, wants_cam_query(c), &req, &err);
    if (status != PT_OK)
        return answer_error(c, r, failure_status(status), "%s", err.msg);
    int cam = req.want_cam;
    float *probs = NULL, *maps = NULL;
    int *cam_class = NULL;
    char **pngs = NULL;
    enum MHD_Result ret;
    status = run_images(s, req.images, req.n, cam, &probs, &maps, &cam_class, &err);
    if (status != PT_OK) {
        ret = answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
        goto done;
    }
    if (maps) {
        pngs = calloc((size_t)req.n, sizeof *pngs);
        for (int i = 0; pngs && i < req.n; i++) {
            pngs[i] = cam_base64(s, maps + (size_t)i * s->map_h * s->map_w, &req.films[i], &err);
            if (!pngs[i]) {
                ret = answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
                goto done;
            }
        }
        if (!pngs) {
            ret = answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
            goto done;
        }
    }
    ret = answer_json(c, r, MHD_HTTP_OK,
                      pt_answer_v2_infer(&s->meta, s->opts->name, req.id, req.n, probs, pngs,
                                         cam && !maps ? s->cam_unavailable : NULL));
done:
    for (int i = 0; pngs && i < req.n; i++)
        free(pngs[i]);
    free(pngs);
    free(probs);
    free(maps);
    free(cam_class);
    pt_v2_request_free(&req);
    return ret;
}

/* ---- the request handler ------------------------------------------------------------------------
 */

/* Whether a V2 route names this server's model; answers 404 when not. */
static int model_matches(server *s, const char *name, size_t len)
{
    return strlen(s->opts->name) == len && !strncmp(name, s->opts->name, len);
}

static enum MHD_Result answer_get(server *s, struct MHD_Connection *c, request *r)
{
    switch (r->route) {
    case PT_ROUTE_PAGE:
        return answer(c, r, MHD_HTTP_OK, strdup(pt_serve_page_html), "text/html; charset=utf-8");
    case PT_ROUTE_PING:
        return answer_json(c, r, MHD_HTTP_OK, strdup("{\"status\": \"healthy\"}"));
    case PT_ROUTE_METRICS: {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
            return answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        pt_serve_metrics_write(s->metrics, pt_batcher_queue_depth(s->batcher), f);
        if (fclose(f) != 0) {
            free(text);
            return answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        }
        return answer(c, r, MHD_HTTP_OK, text, "text/plain; version=0.0.4");
    }
    case PT_ROUTE_V2: {
        char *text = NULL;
        if (asprintf(&text, "{\"name\":\"ptrain\",\"version\":\"%s\",\"extensions\":[]}",
                     PT_VERSION) < 0)
            text = NULL;
        return answer_json(c, r, MHD_HTTP_OK, text);
    }
    case PT_ROUTE_V2_LIVE:
        return answer_json(c, r, MHD_HTTP_OK, strdup("{\"live\":true}"));
    case PT_ROUTE_V2_READY:
        return answer_json(c, r, MHD_HTTP_OK, strdup("{\"ready\":true}"));
    case PT_ROUTE_V2_MODEL:
        return answer_json(c, r, MHD_HTTP_OK, pt_answer_v2_metadata(&s->meta, s->opts->name));
    case PT_ROUTE_V2_MODEL_READY: {
        char *text = NULL;
        if (asprintf(&text, "{\"name\":\"%s\",\"ready\":true}", s->opts->name) < 0)
            text = NULL;
        return answer_json(c, r, MHD_HTTP_OK, text);
    }
    default:
        return answer_error(c, r, MHD_HTTP_NOT_FOUND, "no route");
    }
}

/* The first call for a request: its headers are in. Answers at once when the request cannot be
 * served (404, 405, 415, 413 from Content-Length), so no body is read for nothing. Returns
 * MHD_YES with nothing queued to go on reading the body. */
static enum MHD_Result on_headers(server *s, struct MHD_Connection *c, const char *url,
                                  const char *method, request *r)
{
    const char *model_name = NULL;
    size_t name_len = 0;
    r->route = route_of(url, &model_name, &name_len);
    if (r->route == PT_ROUTE_OTHER)
        return answer_error(c, r, MHD_HTTP_NOT_FOUND, "no route %.200s (see GET / or README)", url);
    int post = is_post_route(r->route);
    int get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
    if (post ? strcmp(method, MHD_HTTP_METHOD_POST) != 0 : !get)
        return answer_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "%.200s takes %s, not %.20s", url,
                            post ? "POST" : "GET", method);
    if (model_name && !model_matches(s, model_name, name_len))
        return answer_error(c, r, MHD_HTTP_NOT_FOUND, "unknown model '%.*s' (this server has '%s')",
                            (int)(name_len > 100 ? 100 : name_len), model_name, s->opts->name);
    if (!post)
        return answer_get(s, c, r);
    char type[64];
    media_type(c, type, sizeof type);
    if (body_kind_of(r->route, type) == BODY_REFUSED)
        return answer_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                            "Content-Type '%s' is not accepted here: send image/png or image/jpeg "
                            "(or application/x-image) with the file as the body, or "
                            "application/json with a V2 inference request",
                            type);
    const char *length =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > s->opts->max_body_bytes)
        return answer_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE,
                            "body of %s bytes is over --max-body-mb (%zu bytes)", length,
                            s->opts->max_body_bytes);
    r->inference = 1;
    pt_batcher_request_begin(s->batcher);
    return MHD_YES;
}

/* Bytes of an over-long body of unannounced length (chunked) read and dropped before the
 * connection is simply closed: enough for a 413 to reach an honest client, no more. */
#define DISCARD_FACTOR 4

/* Appends a piece of the body. Past the limit the body is dropped and the rest read and discarded
 * for a 413 at the end (libmicrohttpd cannot answer in the middle of an upload); a body far past
 * it closes the connection. */
static enum MHD_Result on_body(server *s, struct MHD_Connection *c, request *r, const char *data,
                               size_t size)
{
    if (r->too_large || size > s->opts->max_body_bytes - r->body_len) {
        if (!r->too_large) {
            r->too_large = 1;
            free(r->body);
            r->body = NULL;
            r->body_cap = 0;
        }
        r->body_len += size; /* counted, not stored */
        return r->body_len <= DISCARD_FACTOR * s->opts->max_body_bytes ? MHD_YES : MHD_NO;
    }
    if (r->body_len + size + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 64 << 10;
        while (cap < r->body_len + size + 1)
            cap *= 2;
        if (cap > s->opts->max_body_bytes + 1)
            cap = s->opts->max_body_bytes + 1;
        char *grown = realloc(r->body, cap);
        if (!grown)
            return answer_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        r->body = grown;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, size);
    r->body_len += size;
    r->body[r->body_len] = '\0';
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    server *s = cls;
    request *r = *req_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->start = pt_now_seconds();
        r->route = PT_ROUTE_OTHER;
        *req_cls = r;
        atomic_fetch_add(&s->in_flight, 1);
        return on_headers(s, c, url, method, r);
    }
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        return on_body(s, c, r, upload_data, size);
    }
    if (r->status) /* answered already */
        return MHD_YES;
    if (r->too_large)
        return answer_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "body over --max-body-mb (%zu bytes)",
                            s->opts->max_body_bytes);
    char type[64];
    media_type(c, type, sizeof type);
    if (!r->body_len)
        return answer_error(c, r, MHD_HTTP_BAD_REQUEST, "empty body: send an image or V2 JSON");
    return body_kind_of(r->route, type) == BODY_IMAGE ? infer_image(s, c, r) : infer_v2(s, c, r);
}

/* Every request ends here, answered or not (a client gone, a timeout): counters and clean-up. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    server *s = cls;
    request *r = *req_cls;
    if (!r)
        return;
    pt_serve_metrics_request(s->metrics, r->route, r->status, pt_now_seconds() - r->start);
    if (r->inference)
        pt_batcher_request_end(s->batcher);
    free(r->body);
    free(r);
    *req_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* ---- start and stop ----------------------------------------------------------------------------
 */

static void log_httpd(void *cls, const char *fmt, va_list ap)
{
    fputs("ptrain serve: httpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* A model name as it appears in URLs and unescaped in JSON: letters, digits, '-', '_', '.'. */
static int valid_name(const char *name)
{
    if (!name || !*name || strlen(name) >= PT_SERVE_NAME_MAX)
        return 0;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

static void count_batch(void *metrics, int images)
{
    pt_serve_metrics_batch(metrics, images);
}

/* The network, the batcher and the counters; everything checked before anything listens. */
static int load(server *s, const pt_serve_opts *opts, pt_error *err)
{
    if (!valid_name(opts->name))
        return pt_error_set(err, PT_ERR_USAGE, "--name '%s': 1-%d letters, digits, '-', '_' or '.'",
                            opts->name, PT_SERVE_NAME_MAX - 1);
    int status = pt_model_load(opts->model, &s->arch, &s->net, &s->meta, opts->max_batch, err);
    if (status == PT_OK)
        status = pt_net_set_threads(s->net, opts->net_threads, err);
    if (status != PT_OK)
        return status;
    s->prep = (pt_prepare_opts){.width = s->meta.width,
                                .height = s->meta.height,
                                .fit = opts->fit,
                                .max_pixels = opts->max_pixels};
    pt_error cam_err;
    if (pt_net_cam_shape(s->net, &s->map_h, &s->map_w, &cam_err) != PT_OK) {
        s->map_h = s->map_w = 0;
        pt_strlcpy(s->cam_unavailable, cam_err.msg, sizeof s->cam_unavailable);
    }
    s->metrics = pt_serve_metrics_new();
    if (!s->metrics)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    pt_infer_params params = pt_model_infer_params(&s->meta);
    return pt_batcher_start(s->net, &params, s->meta.threshold, opts->max_batch, opts->max_delay_ms,
                            count_batch, s->metrics, &s->batcher, err);
}

static void unload(server *s)
{
    pt_batcher_stop(s->batcher);
    pt_serve_metrics_free(s->metrics);
    pt_net_free(s->net);
    pt_arch_free(&s->arch);
}

/* The address to listen on: host (a numeric address or a name) and port. */
static int listen_address(const pt_serve_opts *opts, struct sockaddr_storage *addr, socklen_t *len,
                          pt_error *err)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", opts->port);
    int rc = getaddrinfo(opts->host, port, &hints, &res);
    if (rc != 0)
        return pt_error_set(err, PT_ERR_USAGE, "--host %s: %s", opts->host, gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return PT_OK;
}

static struct MHD_Daemon *start_daemon(server *s, const pt_serve_opts *opts, pt_error *err)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (listen_address(opts, &addr, &addr_len, err) != PT_OK)
        return NULL;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* port 0 here: MHD takes it from the address; the logger first, so it sees every message */
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, log_httpd, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)opts->threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->conn_memory_bytes,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opts->conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)opts->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)opts->per_ip_connections, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_END);
    if (!d)
        pt_error_set(err, PT_ERR_IO, "cannot listen on %s port %d: %s", opts->host, opts->port,
                     errno ? strerror(errno) : "libmicrohttpd refused to start");
    return d;
}

/* Blocks until stop_fd is readable (or fails: then stops too). */
static void wait_for_stop(int stop_fd)
{
    struct pollfd p = {.fd = stop_fd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        continue;
}

int pt_serve_run(const pt_serve_opts *opts, pt_error *err)
{
    server s = {.opts = opts};
    atomic_init(&s.in_flight, 0);
    int status = load(&s, opts, err);
    if (status != PT_OK) {
        unload(&s);
        return status;
    }
    errno = 0;
    struct MHD_Daemon *d = start_daemon(&s, opts, err);
    if (!d) {
        unload(&s);
        return err ? err->code : PT_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : opts->port;
    fprintf(stderr,
            "ptrain serve: model %s (%s, %dx%d, %d classes) as '%s'%s\n"
            "ptrain serve: listening on http://%s:%d\n",
            opts->model, s.meta.arch_name, s.meta.width, s.meta.height, s.meta.n_classes,
            opts->name, s.map_h ? ", heat maps available" : ", no heat maps for this network",
            opts->host, port);
    fflush(stderr);

    wait_for_stop(opts->stop_fd);
    /* Stop accepting, then give the requests in flight up to grace_s to finish (SageMaker kills
     * 30 s after SIGTERM), then close whatever is left. */
    MHD_socket listener = MHD_quiesce_daemon(d);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    double deadline = pt_now_seconds() + opts->grace_s;
    int left;
    while ((left = atomic_load(&s.in_flight)) > 0 && pt_now_seconds() < deadline)
        poll(NULL, 0, 10);
    fprintf(stderr, "ptrain serve: stopping%s\n",
            left > 0 ? " with requests still open after the grace period" : "");
    MHD_stop_daemon(d);
    unload(&s);
    return PT_OK;
}
