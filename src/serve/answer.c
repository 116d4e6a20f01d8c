/* JSON answers, built with cJSON (see answer.h). */
#include "answer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "ptrain/infer.h"

int pt_answer_positive(const pt_model_meta *meta, const float *probs)
{
    int k = meta->n_classes;
    if (meta->multi_label) {
        for (int c = 0; c < k; c++)
            if (probs[c] >= 0.5f)
                return 1;
        return 0;
    }
    return pt_infer_predicted(probs, k, meta->threshold) != 0;
}

/* Adds a member, remembering whether every addition succeeded. */
static void add(cJSON *obj, const char *key, cJSON *item, int *ok)
{
    if (!item || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

static void push(cJSON *array, cJSON *item, int *ok)
{
    if (!item || !cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

static cJSON *class_names(const pt_model_meta *meta, int *ok)
{
    cJSON *a = cJSON_CreateArray();
    for (int c = 0; a && c < meta->n_classes; c++)
        push(a, cJSON_CreateString(meta->class_names[c]), ok);
    if (!a)
        *ok = 0;
    return a;
}

/* The threshold, or null when the model has none (JSON has no NaN). */
static cJSON *threshold(const pt_model_meta *meta)
{
    return isfinite(meta->threshold) ? cJSON_CreateNumber(meta->threshold) : cJSON_CreateNull();
}

/* A probability with the digits a float holds (9 significant digits give back the same float),
 * rather than the 17 of the double it widens to. Never NaN: pt_infer_probs refuses those. */
static cJSON *probability(float p)
{
    char text[32];
    snprintf(text, sizeof text, "%.9g", (double)p);
    return cJSON_CreateRaw(text);
}

/* Prints and frees obj; NULL when anything failed. */
static char *finish(cJSON *obj, int ok)
{
    char *text = ok && obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    return text;
}

char *pt_answer_image(const pt_model_meta *meta, const char *name, const float *probs,
                      int cam_class, const char *cam_png, const char *cam_error)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add(o, "model", cJSON_CreateString(name), &ok);
    add(o, "classes", class_names(meta, &ok), &ok);
    cJSON *p = cJSON_CreateArray();
    for (int c = 0; p && c < meta->n_classes; c++)
        push(p, probability(probs[c]), &ok);
    add(o, "probabilities", p, &ok);
    int predicted = pt_infer_predicted(probs, meta->n_classes, meta->threshold);
    add(o, "predicted", cJSON_CreateString(meta->class_names[predicted]), &ok);
    add(o, "threshold", threshold(meta), &ok);
    add(o, "positive", cJSON_CreateBool(pt_answer_positive(meta, probs)), &ok);
    if (cam_class >= 0 && cam_png) {
        add(o, "cam_class", cJSON_CreateString(meta->class_names[cam_class]), &ok);
        add(o, "cam_png", cJSON_CreateString(cam_png), &ok);
    } else if (cam_error) {
        add(o, "cam_error", cJSON_CreateString(cam_error), &ok);
    }
    return finish(o, ok);
}

/* {"name": ..., "datatype": ..., "shape": [dims...]} with data to be added. */
static cJSON *tensor(const char *name, const char *datatype, int ndims, const int *dims, int *ok)
{
    cJSON *t = cJSON_CreateObject();
    if (!t) {
        *ok = 0;
        return NULL;
    }
    add(t, "name", cJSON_CreateString(name), ok);
    add(t, "datatype", cJSON_CreateString(datatype), ok);
    add(t, "shape", cJSON_CreateIntArray(dims, ndims), ok);
    return t;
}

char *pt_answer_v2_infer(const pt_model_meta *meta, const char *name, const char *id, int n,
                         const float *probs, char *const *cam_png, const char *cam_error)
{
    int ok = 1, k = meta->n_classes;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add(o, "model_name", cJSON_CreateString(name), &ok);
    add(o, "model_version", cJSON_CreateString("1"), &ok);
    if (id && *id)
        add(o, "id", cJSON_CreateString(id), &ok);
    cJSON *params = cJSON_CreateObject();
    if (params) {
        add(params, "classes", class_names(meta, &ok), &ok);
        add(params, "threshold", threshold(meta), &ok);
        if (cam_error)
            add(params, "cam_error", cJSON_CreateString(cam_error), &ok);
    }
    add(o, "parameters", params, &ok);
    cJSON *outputs = cJSON_CreateArray();
    add(o, "outputs", outputs, &ok);
    if (!ok)
        return finish(o, ok);

    int dims2[2] = {n, k}, dims1[1] = {n};
    cJSON *t = tensor("probabilities", "FP32", 2, dims2, &ok);
    cJSON *data = cJSON_CreateArray();
    for (int i = 0; data && i < n * k; i++)
        push(data, probability(probs[i]), &ok);
    add(t, "data", data, &ok);
    push(outputs, t, &ok);

    t = tensor("predicted", "BYTES", 1, dims1, &ok);
    data = cJSON_CreateArray();
    for (int i = 0; data && i < n; i++) {
        int c = pt_infer_predicted(probs + (size_t)i * k, k, meta->threshold);
        push(data, cJSON_CreateString(meta->class_names[c]), &ok);
    }
    add(t, "data", data, &ok);
    push(outputs, t, &ok);

    t = tensor("positive", "BOOL", 1, dims1, &ok);
    data = cJSON_CreateArray();
    for (int i = 0; data && i < n; i++)
        push(data, cJSON_CreateBool(pt_answer_positive(meta, probs + (size_t)i * k)), &ok);
    add(t, "data", data, &ok);
    push(outputs, t, &ok);

    if (cam_png) {
        t = tensor("cam_png", "BYTES", 1, dims1, &ok);
        data = cJSON_CreateArray();
        for (int i = 0; data && i < n; i++)
            push(data, cJSON_CreateString(cam_png[i]), &ok);
        add(t, "data", data, &ok);
        push(outputs, t, &ok);
    }
    return finish(o, ok);
}

char *pt_answer_v2_metadata(const pt_model_meta *meta, const char *name)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add(o, "name", cJSON_CreateString(name), &ok);
    cJSON *versions = cJSON_CreateArray();
    push(versions, cJSON_CreateString("1"), &ok);
    add(o, "versions", versions, &ok);
    add(o, "platform", cJSON_CreateString("ptrain"), &ok);
    cJSON *inputs = cJSON_CreateArray();
    int in_dims[3] = {-1, meta->height, meta->width}, bytes_dims[1] = {-1};
    push(inputs, tensor("image", "UINT8", 3, in_dims, &ok), &ok);
    add(o, "inputs", inputs, &ok);
    cJSON *outputs = cJSON_CreateArray();
    int prob_dims[2] = {-1, meta->n_classes};
    push(outputs, tensor("probabilities", "FP32", 2, prob_dims, &ok), &ok);
    push(outputs, tensor("predicted", "BYTES", 1, bytes_dims, &ok), &ok);
    push(outputs, tensor("positive", "BOOL", 1, bytes_dims, &ok), &ok);
    add(o, "outputs", outputs, &ok);
    cJSON *params = cJSON_CreateObject();
    if (params) {
        add(params, "classes", class_names(meta, &ok), &ok);
        add(params, "threshold", threshold(meta), &ok);
        add(params, "architecture", cJSON_CreateString(meta->arch_name), &ok);
        add(params, "input_datatypes",
            cJSON_CreateString("UINT8, FP32 (0..1), BYTES (base64 "
                               "PNG/JPEG, shape [N])"),
            &ok);
    }
    add(o, "parameters", params, &ok);
    return finish(o, ok);
}

char *pt_answer_error(const char *message)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add(o, "error", cJSON_CreateString(message), &ok);
    return finish(o, ok);
}
