/* The JSON bodies the server answers with (malloc'ed strings; NULL when out of memory).
 *
 * One image (POST /invocations, /score with an image body):
 *   {"model": "ptrain", "classes": ["normal", "pneumonia"], "probabilities": [0.1, 0.9],
 *    "predicted": "pneumonia", "threshold": 0.69, "positive": true}
 * with a heat map also "cam_class": "pneumonia", "cam_png": "<base64 PNG>", or, for a network
 * with no map, "cam_error": "<why>". threshold is null when the model has none.
 * "positive": for a two-class model the decision at the threshold (the second class, at p >=
 * threshold; at the most probable class without one), for more classes a predicted class other
 * than the first, for multi-label models any finding at p >= 0.5.
 *
 * V2 (Open Inference Protocol) inference answer:
 *   {"model_name": "ptrain", "model_version": "1", "id": "...",
 *    "parameters": {"classes": [...], "threshold": 0.69},
 *    "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [N, K], "data": [...]},
 *                {"name": "predicted", "datatype": "BYTES", "shape": [N], "data": [...]},
 *                {"name": "positive", "datatype": "BOOL", "shape": [N], "data": [...]},
 *                {"name": "cam_png", "datatype": "BYTES", "shape": [N], "data": [...]}]}
 * (cam_png only when asked for and available; "parameters" then also holds "cam_error" when not.)
 *
 * Errors: {"error": "<message>"} (the V2 protocol's error object, used on every route). */
#ifndef PTRAIN_SERVE_ANSWER_H
#define PTRAIN_SERVE_ANSWER_H

#include "ptrain/model_io.h"

/* Whether the answer for one row of probabilities is "positive" (see above). */
int pt_answer_positive(const pt_model_meta *meta, const float *probs);

/* cam_class < 0: no heat map was asked for (cam_png and cam_error ignored). */
char *pt_answer_image(const pt_model_meta *meta, const char *name, const float *probs,
                      int cam_class, const char *cam_png, const char *cam_error);

/* n images: probs n x classes; cam_png NULL or n base64 strings; cam_class as cam_png. */
char *pt_answer_v2_infer(const pt_model_meta *meta, const char *name, const char *id, int n,
                         const float *probs, char *const *cam_png, const char *cam_error);

/* GET /v2/models/{name}: name, versions, platform, inputs and outputs. */
char *pt_answer_v2_metadata(const pt_model_meta *meta, const char *name);

/* {"error": message} */
char *pt_answer_error(const char *message);

#endif
