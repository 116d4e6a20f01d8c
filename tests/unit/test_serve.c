/* The server's parts that need no socket: base64, V2 request parsing (every error a 400 with a
 * reason), the JSON answers (exact field names), the metrics text, the model lookup and the
 * batcher (many threads, one network: the same probabilities as one image at a time). */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "answer.h"
#include "base64.h"
#include "batcher.h"
#include "metrics.h"
#include "ptrain/arch.h"
#include "ptrain/png_io.h"
#include "ptrain/serve.h"
#include "tmpdir.h"
#include "v2.h"

/* ---- base64 ---------------------------------------------------------------------------------- */

Test(base64, rfc4648_vectors_both_ways)
{
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        size_t n = strlen(plain[i]);
        cr_assert_eq(pt_base64_encoded_len(n), strlen(coded[i]));
        pt_base64_encode((const uint8_t *)plain[i], n, out);
        cr_assert_str_eq(out, coded[i]);
        uint8_t *back;
        size_t len;
        pt_error err;
        cr_assert_eq(pt_base64_decode(coded[i], strlen(coded[i]), &back, &len, &err), PT_OK, "%s",
                     err.msg);
        cr_assert_eq(len, n);
        cr_assert(!memcmp(back, plain[i], n));
        free(back);
    }
}

Test(base64, bad_text_is_refused)
{
    uint8_t *out;
    size_t len;
    pt_error err;
    cr_assert_eq(pt_base64_decode("Zm9v!mFy", 8, &out, &len, &err), PT_ERR_FORMAT);
    cr_assert(strstr(err.msg, "position 4"), "%s", err.msg);
    cr_assert_eq(pt_base64_decode("Zm9vY", 5, &out, &len, &err), PT_ERR_FORMAT);
    cr_assert_eq(pt_base64_decode("Zg=", 3, &out, &len, &err), PT_ERR_FORMAT);
}

/* ---- V2 requests ----------------------------------------------------------------------------- */

static const pt_prepare_opts prep4 = {4, 4, PT_FIT_STRETCH, 1000000};

static int parse(const char *json, pt_v2_request *req, pt_error *err)
{
    return pt_v2_parse_infer(json, strlen(json), &prep4, 0, req, err);
}

Test(v2, uint8_flat_and_nested_give_the_same_pixels)
{
    char flat[1024] = "{\"id\":\"7\",\"inputs\":[{\"name\":\"image\",\"shape\":[1,4,4],"
                      "\"datatype\":\"UINT8\",\"data\":[";
    char nested[1024] = "{\"inputs\":[{\"name\":\"image\",\"shape\":[1,1,4,4],"
                        "\"datatype\":\"UINT8\",\"data\":[[[";
    for (int i = 0; i < 16; i++) {
        char v[16];
        snprintf(v, sizeof v, "%s%d", i ? "," : "", i * 16);
        strcat(flat, v);
        snprintf(v, sizeof v, "%s%d", i == 0 ? "" : i % 4 == 0 ? "],[" : ",", i * 16);
        strcat(nested, v);
    }
    strcat(flat, "]}]}");
    strcat(nested, "]]]}]}");
    pt_v2_request a, b;
    pt_error err;
    cr_assert_eq(parse(flat, &a, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(parse(nested, &b, &err), PT_OK, "%s: %s", nested, err.msg);
    cr_assert_eq(a.n, 1);
    cr_assert_str_eq(a.id, "7");
    cr_assert_str_eq(a.input_name, "image");
    cr_assert(!memcmp(a.images, b.images, 16));
    cr_assert_eq(a.images[15], 240);
    cr_assert_eq(a.want_cam, 0);
    pt_v2_request_free(&a);
    pt_v2_request_free(&b);
}

Test(v2, fp32_in_unit_range_rounds_to_gray_levels)
{
    const char *json = "{\"parameters\":{\"cam\":true},\"inputs\":[{\"name\":\"x\",\"shape\":[1,"
                       "4,4],\"datatype\":\"FP32\",\"data\":[0,1,0.5,0.001,0,0,0,0,0,0,0,0,0,0,"
                       "0,0.2]}]}";
    pt_v2_request req;
    pt_error err;
    cr_assert_eq(parse(json, &req, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(req.images[0], 0);
    cr_assert_eq(req.images[1], 255);
    cr_assert_eq(req.images[2], 128); /* 127.5 rounds to even... lrint: 128 */
    cr_assert_eq(req.images[3], 0);
    cr_assert_eq(req.images[15], 51);
    cr_assert_eq(req.want_cam, 1);
    cr_assert_not_null(req.films, "films kept for the overlay");
    cr_assert_eq(req.films[0].width, 4);
    pt_v2_request_free(&req);
}

/* Each malformed request is refused with a message holding `needle`. */
static void refused(const char *json, const char *needle)
{
    pt_v2_request req;
    pt_error err;
    pt_error_clear(&err);
    cr_assert_neq(parse(json, &req, &err), PT_OK, "accepted: %s", json);
    cr_assert(strstr(err.msg, needle), "%s: message '%s' lacks '%s'", json, err.msg, needle);
    cr_assert_null(req.images, "nothing left to free");
}

Test(v2, malformed_requests_say_what_is_wrong)
{
    refused("{\"inputs\":[", "malformed JSON");
    refused("[1,2]", "JSON object");
    refused("{}", "\"inputs\"");
    refused("{\"inputs\":[{\"name\":\"x\"}]}", "\"datatype\"");
    refused("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[1,3,3],\"data\":[1]}]}",
            "[N, 4, 4]");
    refused("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[1,4,4],\"data\":[1]}]}",
            "holds 1 values, its shape says 16");
    refused("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[1,4,4],\"data\":[300,"
            "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}",
            "0..255");
    refused("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,4,4],\"data\":[2,"
            "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}",
            "[0, 1]");
    refused("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT64\",\"shape\":[1,4,4],\"data\":[]}]}",
            "UINT8, FP32 or BYTES");
    refused("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[1,-4,4],\"data\":[]}]}",
            "whole number");
    refused(
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"!!\"]}]}",
        "base64");
    refused(
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"Zm9v\"]}]}",
        "not a PNG or JPEG");
    refused(
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"Zm9v\"]}]}",
        "array of 2");
    refused("{\"id\":5,\"inputs\":[]}", "\"id\"");
}

Test(v2, bytes_hold_encoded_images_prepared_as_predict_does)
{
    uint8_t pixels[8 * 8];
    for (int i = 0; i < 64; i++)
        pixels[i] = (uint8_t)(i * 4);
    uint8_t *png;
    size_t size;
    pt_error err;
    cr_assert_eq(pt_png_encode_memory(pixels, 8, 8, 1, &png, &size, &err), PT_OK, "%s", err.msg);
    char *b64 = malloc(pt_base64_encoded_len(size) + 1);
    pt_base64_encode(png, size, b64);
    char *json = malloc(strlen(b64) + 256);
    sprintf(
        json,
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"%s\"]}]}",
        b64);
    pt_v2_request req;
    cr_assert_eq(pt_v2_parse_infer(json, strlen(json), &prep4, 1, &req, &err), PT_OK, "%s",
                 err.msg);
    uint8_t expect[16];
    cr_assert_eq(pt_prepare_memory(png, size, "png", &prep4, expect, &err), PT_OK, "%s", err.msg);
    cr_assert(!memcmp(req.images, expect, 16), "the same pixels as ptrain predict's preparation");
    cr_assert_eq(req.want_cam, 1, "?cam=1 counts as the parameter");
    cr_assert_eq(req.films[0].width, 8, "the overlay's film at the image's own size");
    pt_v2_request_free(&req);
    free(json);
    free(b64);
    free(png);
}

/* ---- answers --------------------------------------------------------------------------------- */

static pt_model_meta binary_meta(double threshold)
{
    pt_model_meta m;
    pt_model_meta_init(&m);
    m.n_classes = 2;
    m.width = m.height = 4;
    strcpy(m.class_names[0], "normal");
    strcpy(m.class_names[1], "pneumonia");
    strcpy(m.arch_name, "cxr");
    m.threshold = threshold;
    return m;
}

Test(answer, one_image_has_the_documented_fields)
{
    pt_model_meta m = binary_meta(0.75);
    float probs[2] = {0.25f, 0.75f};
    char *a = pt_answer_image(&m, "cxr-1", probs, -1, NULL, NULL);
    cr_assert_str_eq(a, "{\"model\":\"cxr-1\",\"classes\":[\"normal\",\"pneumonia\"],"
                        "\"probabilities\":[0.25,0.75],\"predicted\":\"pneumonia\","
                        "\"threshold\":0.75,\"positive\":true}");
    free(a);
    m.threshold = NAN;
    float low[2] = {0.6f, 0.4f};
    a = pt_answer_image(&m, "m", low, 1, NULL, "no map here");
    cr_assert(strstr(a, "\"threshold\":null"), "%s", a);
    cr_assert(strstr(a, "\"positive\":false"), "%s", a);
    cr_assert(strstr(a, "\"cam_error\":\"no map here\""), "%s", a);
    free(a);
    a = pt_answer_image(&m, "m", low, 1, "iVBO", NULL);
    cr_assert(strstr(a, "\"cam_class\":\"pneumonia\",\"cam_png\":\"iVBO\""), "%s", a);
    free(a);
}

Test(answer, v2_outputs_follow_the_protocol)
{
    pt_model_meta m = binary_meta(0.5);
    float probs[4] = {0.9f, 0.1f, 0.2f, 0.8f};
    char *a = pt_answer_v2_infer(&m, "cxr", "req-1", 2, probs, NULL, NULL);
    cr_assert_str_eq(
        a, "{\"model_name\":\"cxr\",\"model_version\":\"1\",\"id\":\"req-1\",\"parameters\":{"
           "\"classes\":[\"normal\",\"pneumonia\"],\"threshold\":0.5},\"outputs\":[{\"name\":"
           "\"probabilities\",\"datatype\":\"FP32\",\"shape\":[2,2],\"data\":[0.899999976,"
           "0.100000001,0.200000003,0.800000012]},{\"name\":\"predicted\",\"datatype\":\"BYTES\","
           "\"shape\":[2],\"data\":[\"normal\",\"pneumonia\"]},{\"name\":\"positive\","
           "\"datatype\":\"BOOL\",\"shape\":[2],\"data\":[false,true]}]}");
    free(a);
    a = pt_answer_v2_metadata(&m, "cxr");
    cr_assert(strstr(a, "\"name\":\"cxr\",\"versions\":[\"1\"],\"platform\":\"ptrain\","
                        "\"inputs\":[{\"name\":\"image\",\"datatype\":\"UINT8\",\"shape\":[-1,4,"
                        "4]}]"),
              "%s", a);
    free(a);
    a = pt_answer_error("bad \"thing\"\n");
    cr_assert_str_eq(a, "{\"error\":\"bad \\\"thing\\\"\\n\"}");
    free(a);
}

/* ---- metrics --------------------------------------------------------------------------------- */

Test(metrics, prometheus_text_counts_requests_batches_and_latency)
{
    pt_serve_metrics *m = pt_serve_metrics_new();
    pt_serve_metrics_request(m, PT_ROUTE_INVOCATIONS, 200, 0.003);
    pt_serve_metrics_request(m, PT_ROUTE_INVOCATIONS, 200, 0.2);
    pt_serve_metrics_request(m, PT_ROUTE_V2_INFER, 413, 0.001);
    pt_serve_metrics_request(m, PT_ROUTE_OTHER, 999, 0.001);
    pt_serve_metrics_batch(m, 3);
    pt_serve_metrics_batch(m, 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    pt_serve_metrics_write(m, 5, f);
    fclose(f);
    static const char *lines[] = {
        "ptrain_requests_total{route=\"/invocations\",code=\"200\"} 2\n",
        "ptrain_requests_total{route=\"/v2/models/{name}/infer\",code=\"413\"} 1\n",
        "ptrain_requests_total{route=\"other\",code=\"other\"} 1\n",
        "ptrain_images_scored_total 4\n",
        "ptrain_batch_size_bucket{le=\"1\"} 1\n",
        "ptrain_batch_size_bucket{le=\"4\"} 2\n",
        "ptrain_batch_size_count 2\n",
        "ptrain_request_duration_seconds_bucket{le=\"0.005\"} 3\n",
        "ptrain_request_duration_seconds_bucket{le=\"+Inf\"} 4\n",
        "ptrain_request_duration_seconds_count 4\n",
        "ptrain_queue_depth 5\n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        cr_assert(strstr(text, lines[i]), "no line %s in:\n%s", lines[i], text);
    free(text);
    pt_serve_metrics_free(m);
}

/* ---- model lookup ---------------------------------------------------------------------------- */

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fclose(f);
}

Test(find_model, a_file_a_run_folder_or_the_azure_folder)
{
    char dir[256], path[1024], sub[512], model[1024];
    cr_assert_eq(fixture_mkdtemp(dir, sizeof dir), 0);
    pt_error err;
    cr_assert_eq(pt_serve_find_model(dir, path, sizeof path, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, "no model.h5"), "%s", err.msg);
    snprintf(sub, sizeof sub, "%s/pneumonia-model", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    snprintf(model, sizeof model, "%s/model.h5", sub);
    touch(model);
    /* a folder one level above the model (Azure ML's AZUREML_MODEL_DIR layout) */
    cr_assert_eq(pt_serve_find_model(dir, path, sizeof path, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(path, model);
    cr_assert_eq(pt_serve_find_model(sub, path, sizeof path, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(path, model);
    cr_assert_eq(pt_serve_find_model(model, path, sizeof path, &err), PT_OK, "%s", err.msg);
    cr_assert_str_eq(path, model);
    /* no --model: $AZUREML_MODEL_DIR is searched (unless /opt/ml/model holds one first) */
    struct stat st;
    if (stat("/opt/ml/model", &st) != 0) {
        setenv("AZUREML_MODEL_DIR", dir, 1);
        cr_assert_eq(pt_serve_find_model(NULL, path, sizeof path, &err), PT_OK, "%s", err.msg);
        cr_assert_str_eq(path, model);
        unsetenv("AZUREML_MODEL_DIR");
        if (stat("/mnt/models", &st) != 0) {
            cr_assert_eq(pt_serve_find_model(NULL, path, sizeof path, &err), PT_ERR_IO);
            cr_assert(strstr(err.msg, "/opt/ml/model"), "%s", err.msg);
        }
    }
    fixture_rmtree(dir);
}

/* ---- batcher --------------------------------------------------------------------------------- */

#define SIDE    16
#define THREADS 6
#define PER     5

typedef struct worker {
    pt_batcher *b;
    const uint8_t *images; /* PER images */
    float probs[PER * 2];
    int status;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    pt_error err;
    pt_batcher_request_begin(w->b);
    /* one image per call, as HTTP requests come */
    for (int i = 0; i < PER && w->status == PT_OK; i++)
        w->status = pt_batcher_run(w->b, w->images + i * SIDE * SIDE, 1, w->probs + 2 * i, NULL,
                                   NULL, &err);
    pt_batcher_request_end(w->b);
    return NULL;
}

static int batches, images_batched;
static void observe(void *ctx, int n)
{
    batches++;
    images_batched += n;
}

Test(batcher, many_threads_one_network_same_probabilities)
{
    pt_arch arch;
    pt_error err;
    cr_assert_eq(pt_arch_preset("cxr", &arch, &err), PT_OK, "%s", err.msg);
    pt_net *net, *alone;
    cr_assert_eq(pt_net_create(&arch, 1, SIDE, SIDE, 2, 4, &net, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_net_create(&arch, 1, SIDE, SIDE, 2, 1, &alone, &err), PT_OK, "%s", err.msg);
    pt_arch_free(&arch);
    pt_net_init_params(net, 3);
    pt_net_init_params(alone, 3);
    static uint8_t images[THREADS * PER * SIDE * SIDE];
    for (size_t i = 0; i < sizeof images; i++)
        images[i] = (uint8_t)((i * 2654435761u) >> 24);
    pt_infer_params params = {SIDE, SIDE, 0.5, 0.25, 0};
    pt_batcher *b;
    cr_assert_eq(pt_batcher_start(net, &params, 0.5, 4, 20, observe, NULL, &b, &err), PT_OK, "%s",
                 err.msg);
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.b = b, .images = images + (size_t)i * PER * SIDE * SIDE};
        cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    /* a map asked of a batcher whose network has one */
    float probs[2], map[1];
    int cls;
    cr_assert_eq(pt_batcher_run(b, images, 1, probs, map, &cls, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(cls, 1, "binary: the positive class's map");
    pt_batcher_stop(b);
    cr_assert_eq(images_batched, THREADS * PER + 1);
    cr_assert(batches < images_batched, "some images shared a batch (%d batches)", batches);
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(w[i].status, PT_OK);
        for (int j = 0; j < PER; j++) {
            float expect[2];
            cr_assert_eq(pt_infer_probs(alone, &params,
                                        images + ((size_t)i * PER + j) * SIDE * SIDE, 1, expect,
                                        &err),
                         PT_OK);
            for (int c = 0; c < 2; c++)
                /* batched with others, an image goes through GEMMs of another size, which
                 * OpenBLAS rounds differently (it picks its kernels by shape): 1.2e-6 seen */
                cr_assert_float_eq(w[i].probs[2 * j + c], expect[c], 1e-5f,
                                   "thread %d image %d class %d: %.9g batched, %.9g alone", i, j, c,
                                   w[i].probs[2 * j + c], expect[c]);
        }
    }
    pt_net_free(net);
    pt_net_free(alone);
}

static void largest_batch(void *ctx, int n)
{
    int *largest = ctx;
    if (n > *largest)
        *largest = n;
}

/* ptrain serve --net-threads: a batch split over 3 threads (slices of 3, 3 and 2 images) gives
 * each image the probabilities and heat map it gets alone, up to float rounding. */
Test(batcher, a_batch_on_three_threads_matches_one_image_at_a_time)
{
    enum { SIDE3 = 32, BATCH = 8 };
    pt_arch arch;
    pt_error err;
    cr_assert_eq(pt_arch_preset("cxr", &arch, &err), PT_OK, "%s", err.msg);
    pt_net *net, *alone;
    cr_assert_eq(pt_net_create(&arch, 1, SIDE3, SIDE3, 2, BATCH, &net, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_net_create(&arch, 1, SIDE3, SIDE3, 2, 1, &alone, &err), PT_OK, "%s", err.msg);
    pt_arch_free(&arch);
    pt_net_init_params(net, 5);
    pt_net_init_params(alone, 5);
    cr_assert_eq(pt_net_set_threads(net, 3, &err), PT_OK, "%s", err.msg);
    int mh, mw;
    cr_assert_eq(pt_net_cam_shape(net, &mh, &mw, &err), PT_OK, "%s", err.msg);
    size_t map_size = (size_t)mh * (size_t)mw;
    static uint8_t images[BATCH * SIDE3 * SIDE3];
    for (size_t i = 0; i < sizeof images; i++)
        images[i] = (uint8_t)((i * 2246822519u) >> 24);
    pt_infer_params params = {SIDE3, SIDE3, 0.5, 0.25, 0};
    int largest = 0;
    pt_batcher *b;
    cr_assert_eq(pt_batcher_start(net, &params, 0.5, BATCH, 0, largest_batch, &largest, &b, &err),
                 PT_OK, "%s", err.msg);
    float probs[BATCH * 2];
    float *maps = malloc(BATCH * map_size * sizeof *maps);
    float *expect_map = malloc(map_size * sizeof *expect_map);
    cr_assert(maps && expect_map);
    int cls[BATCH];
    cr_assert_eq(pt_batcher_run(b, images, BATCH, probs, maps, cls, &err), PT_OK, "%s", err.msg);
    pt_batcher_stop(b);
    cr_assert_eq(largest, BATCH, "the %d images ran as one batch (largest %d)", BATCH, largest);
    for (int i = 0; i < BATCH; i++) {
        float expect[2];
        cr_assert_eq(
            pt_infer_probs(alone, &params, images + (size_t)i * SIDE3 * SIDE3, 1, expect, &err),
            PT_OK, "%s", err.msg);
        for (int c = 0; c < 2; c++)
            cr_assert_float_eq(probs[2 * i + c], expect[c], 1e-5f, "image %d class %d", i, c);
        cr_assert_eq(cls[i], 1, "binary: the positive class's map");
        cr_assert_eq(pt_net_cam(alone, 0, 1, expect_map, &err), PT_OK, "%s", err.msg);
        for (size_t p = 0; p < map_size; p++)
            cr_assert_float_eq(maps[i * map_size + p], expect_map[p],
                               1e-5f * (1.0f + fabsf(expect_map[p])), "image %d map %zu", i, p);
    }
    free(maps);
    free(expect_map);
    pt_net_free(net);
    pt_net_free(alone);
}
