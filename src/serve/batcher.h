/* Dynamic batching: request threads submit prepared images; one batcher thread owns the network
 * (one copy of the model, read-only after loading) and runs it on up to max_batch images at a
 * time, taken from the requests that arrived together.
 *
 * A batch closes when it holds max_batch images, when the oldest image has waited max_delay_ms,
 * or as soon as every request being served has its images queued (nobody else is about to add
 * one: a lone client never waits for the delay). */
#ifndef PTRAIN_SERVE_BATCHER_H
#define PTRAIN_SERVE_BATCHER_H

#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/infer.h"
#include "ptrain/net.h"

typedef struct pt_batcher pt_batcher;

/* Reports of a finished batch, for the metrics (called on the batcher thread). */
typedef void (*pt_batch_observer)(void *ctx, int batch_size);

/* Starts the batcher thread on net (owned by the caller, who frees it after pt_batcher_stop).
 * max_batch must not exceed pt_net_max_batch(net). */
int pt_batcher_start(pt_net *net, const pt_infer_params *params, double threshold, int max_batch,
                     int max_delay_ms, pt_batch_observer observer, void *observer_ctx,
                     pt_batcher **out, pt_error *err);

/* Runs n prepared images (n x height x width bytes) and blocks until they are done: probs
 * (n x classes) filled; when maps is not NULL, also each image's class activation map (n x map
 * size floats, pt_net_cam_shape) for the class pt_infer_cam_class chooses, written to
 * cam_class[i]. PT_ERR_FORMAT when the network gave a non-finite output (err says which),
 * PT_ERR_INVALID after pt_batcher_stop. */
int pt_batcher_run(pt_batcher *b, const uint8_t *images, int n, float *probs, float *maps,
                   int *cam_class, pt_error *err);

/* A request has begun (it may submit images soon) / has ended: the batcher waits for the images of
 * begun requests, up to max_delay_ms. */
void pt_batcher_request_begin(pt_batcher *b);
void pt_batcher_request_end(pt_batcher *b);

/* Images waiting for a batch now (the queue depth metric). */
int pt_batcher_queue_depth(pt_batcher *b);

/* Finishes every image already submitted, then stops the thread and frees the batcher. */
void pt_batcher_stop(pt_batcher *b);

#endif
