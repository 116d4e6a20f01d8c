/* The batcher thread and its queue (see batcher.h). */
#include "batcher.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One caller's images: the slots of a batch point into it. */
typedef struct job {
    const uint8_t *images;
    int n;
    int next;      /* images not yet taken into a batch: [next, n) */
    int remaining; /* images not yet finished */
    float *probs;
    float *maps;
    int *cam_class;
    int status;
    pt_error err;
    pthread_cond_t done;
    struct job *queue_next;
    double enqueued; /* pt_now_seconds() when submitted */
} job;

/* One image of a batch: which job, which of its images. */
typedef struct slot {
    job *j;
    int index;
} slot;

struct pt_batcher {
    pt_net *net;
    pt_infer_params params;
    double threshold;
    int max_batch;
    double max_delay;
    pt_batch_observer observer;
    void *observer_ctx;
    size_t image_bytes;
    int classes;
    int map_h, map_w; /* 0 when the network has no class activation map */
    pthread_mutex_t lock;
    pthread_cond_t wake;  /* the batcher: work arrived, a request ended, or stop */
    job *head, *tail;     /* jobs with images not yet taken into a batch */
    int queued;           /* images in them */
    int requests;         /* begun and not ended */
    int waiting_requests; /* of those, blocked in pt_batcher_run */
    int stopping;
    pthread_t thread;
    uint8_t *batch_images; /* max_batch images */
    float *batch_probs;    /* max_batch x classes */
    slot *slots;
};

/* Whether the batch at the head of the queue should run now (see batcher.h). Lock held. */
static int batch_ready(const pt_batcher *b, double now)
{
    if (b->queued >= b->max_batch || b->stopping)
        return 1;
    /* every request in progress has submitted: no image is about to arrive */
    if (b->waiting_requests >= b->requests)
        return 1;
    return now - b->head->enqueued >= b->max_delay;
}

static void abs_time(double seconds_from_now, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    double whole;
    double frac = modf(seconds_from_now, &whole);
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)(frac * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Takes up to max_batch images off the queue, in arrival order. Lock held. */
static int take_batch(pt_batcher *b)
{
    int m = 0;
    while (b->head && m < b->max_batch) {
        job *j = b->head;
        while (j->next < j->n && m < b->max_batch) {
            b->slots[m++] = (slot){j, j->next};
            j->next++;
        }
        if (j->next == j->n) {
            b->head = j->queue_next;
            if (!b->head)
                b->tail = NULL;
        }
    }
    b->queued -= m;
    return m;
}

/* Runs the network on m images of the batch buffer; results into the slots' jobs. Lock not held:
 * only this thread touches the network and the batch buffers. */
static void run_batch(pt_batcher *b, int m)
{
    for (int i = 0; i < m; i++)
        memcpy(b->batch_images + (size_t)i * b->image_bytes,
               b->slots[i].j->images + (size_t)b->slots[i].index * b->image_bytes, b->image_bytes);
    pt_error err;
    pt_error_clear(&err);
    int status = pt_infer_probs(b->net, &b->params, b->batch_images, m, b->batch_probs, &err);
    for (int i = 0; i < m; i++) {
        job *j = b->slots[i].j;
        int idx = b->slots[i].index;
        if (status != PT_OK) {
            if (j->status == PT_OK) {
                j->status = status;
                j->err = err;
            }
            continue;
        }
        const float *p = b->batch_probs + (size_t)i * b->classes;
        memcpy(j->probs + (size_t)idx * b->classes, p, (size_t)b->classes * sizeof *p);
        if (!j->maps)
            continue;
        int cls = pt_infer_cam_class(p, b->classes, b->threshold, b->params.multi_label);
        j->cam_class[idx] = cls;
        pt_error cerr;
        int cs = pt_net_cam(b->net, i, cls, j->maps + (size_t)idx * b->map_h * b->map_w, &cerr);
        if (cs != PT_OK && j->status == PT_OK) {
            j->status = cs;
            j->err = cerr;
        }
    }
}

static void *batcher_main(void *arg)
{
    pt_batcher *b = arg;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!b->head && !b->stopping)
            pthread_cond_wait(&b->wake, &b->lock);
        if (!b->head)
            break; /* stopping, and everything submitted is done */
        while (!batch_ready(b, pt_now_seconds())) {
            struct timespec ts;
            abs_time(b->head->enqueued + b->max_delay - pt_now_seconds(), &ts);
            pthread_cond_timedwait(&b->wake, &b->lock, &ts);
        }
        int m = take_batch(b);
        pthread_mutex_unlock(&b->lock);
        run_batch(b, m);
        if (b->observer)
            b->observer(b->observer_ctx, m);
        pthread_mutex_lock(&b->lock);
        for (int i = 0; i < m; i++) {
            job *j = b->slots[i].j;
            if (--j->remaining == 0)
                pthread_cond_signal(&j->done);
        }
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

int pt_batcher_start(pt_net *net, const pt_infer_params *params, double threshold, int max_batch,
                     int max_delay_ms, pt_batch_observer observer, void *observer_ctx,
                     pt_batcher **out, pt_error *err)
{
    *out = NULL;
    if (max_batch < 1 || max_batch > pt_net_max_batch(net) || max_delay_ms < 0)
        return pt_error_set(err, PT_ERR_INVALID, "batcher: batch %d (network: %d), delay %d ms",
                            max_batch, pt_net_max_batch(net), max_delay_ms);
    pt_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return pt_error_set(err, PT_ERR_NOMEM, "batcher: out of memory");
    b->net = net;
    b->params = *params;
    b->threshold = threshold;
    b->max_batch = max_batch;
    b->max_delay = max_delay_ms / 1000.0;
    b->observer = observer;
    b->observer_ctx = observer_ctx;
    b->image_bytes = (size_t)params->height * (size_t)params->width;
    b->classes = pt_net_outputs(net);
    if (pt_net_cam_shape(net, &b->map_h, &b->map_w, NULL) != PT_OK)
        b->map_h = b->map_w = 0;
    b->batch_images = malloc((size_t)max_batch * b->image_bytes);
    b->batch_probs = malloc((size_t)max_batch * (size_t)b->classes * sizeof(float));
    b->slots = malloc((size_t)max_batch * sizeof *b->slots);
    if (!b->batch_images || !b->batch_probs || !b->slots) {
        pt_error_set(err, PT_ERR_NOMEM, "batcher: out of memory for a batch of %d", max_batch);
        goto fail;
    }
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0)
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&b->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0 || pthread_mutex_init(&b->lock, NULL) != 0) {
        pt_error_set(err, PT_ERR_NOMEM, "batcher: cannot create its lock");
        goto fail;
    }
    rc = pthread_create(&b->thread, NULL, batcher_main, b);
    if (rc != 0) {
        pt_error_set(err, PT_ERR_NOMEM, "batcher: cannot start its thread: %s", strerror(rc));
        pthread_mutex_destroy(&b->lock);
        pthread_cond_destroy(&b->wake);
        goto fail;
    }
    *out = b;
    return PT_OK;
fail:
    free(b->batch_images);
    free(b->batch_probs);
    free(b->slots);
    free(b);
    return err ? err->code : PT_ERR_NOMEM;
}

int pt_batcher_run(pt_batcher *b, const uint8_t *images, int n, float *probs, float *maps,
                   int *cam_class, pt_error *err)
{
    if (n <= 0)
        return PT_OK;
    if (maps && b->map_h == 0)
        return pt_error_set(err, PT_ERR_UNSUPPORTED, "no class activation map for this network");
    job j = {.images = images,
             .n = n,
             .remaining = n,
             .probs = probs,
             .maps = maps,
             .cam_class = cam_class,
             .status = PT_OK};
    if (pthread_cond_init(&j.done, NULL) != 0)
        return pt_error_set(err, PT_ERR_NOMEM, "batcher: cannot create a condition");
    pthread_mutex_lock(&b->lock);
    if (b->stopping) {
        pthread_mutex_unlock(&b->lock);
        pthread_cond_destroy(&j.done);
        return pt_error_set(err, PT_ERR_INVALID, "the server is stopping");
    }
    j.enqueued = pt_now_seconds();
    if (b->tail)
        b->tail->queue_next = &j;
    else
        b->head = &j;
    b->tail = &j;
    b->queued += n;
    b->waiting_requests++;
    pthread_cond_signal(&b->wake);
    while (j.remaining > 0)
        pthread_cond_wait(&j.done, &b->lock);
    b->waiting_requests--;
    pthread_mutex_unlock(&b->lock);
    pthread_cond_destroy(&j.done);
    if (j.status != PT_OK && err)
        *err = j.err;
    return j.status;
}

void pt_batcher_request_begin(pt_batcher *b)
{
    pthread_mutex_lock(&b->lock);
    b->requests++;
    pthread_mutex_unlock(&b->lock);
}

void pt_batcher_request_end(pt_batcher *b)
{
    pthread_mutex_lock(&b->lock);
    b->requests--;
    /* the batcher may have been waiting for this request's images */
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->lock);
}

int pt_batcher_queue_depth(pt_batcher *b)
{
    pthread_mutex_lock(&b->lock);
    int depth = b->queued;
    pthread_mutex_unlock(&b->lock);
    return depth;
}

void pt_batcher_stop(pt_batcher *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    b->stopping = 1;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
    free(b->batch_images);
    free(b->batch_probs);
    free(b->slots);
    free(b);
}
