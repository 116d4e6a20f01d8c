/* MPI wrappers. A failed MPI call aborts the whole job: see comm.h.
 *
 * Every collective here is started non-blocking and finished by comm_wait, which tests it in a
 * loop instead of blocking in MPI, and so can notice a wait that lasts longer than the stall
 * timeout: a rank that was stopped (kill -STOP, a hung node, a read stuck on NFS) would
 * otherwise leave every other rank spinning in the collective forever. Then it takes a roll
 * call: it sends a ping to every rank over a communicator of its own, and every rank that is
 * itself waiting in comm_wait answers at once; the ranks that do not answer within a few seconds
 * are the ones that stopped. The lowest rank that answers names them and ends the job
 * (MPI_Abort: the stopped rank cannot take part in any agreement). Nothing is sent while the
 * collectives complete, so a step costs what it did. */
#include "ptrain/comm.h"
#include "comm_mpi.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MPI's default handler already aborts on error; this check catches implementations configured
 * to return codes instead, and names the call. */
#define PT_MPI_CHECK(call)                                                                         \
    do {                                                                                           \
        int mpi_rc_ = (call);                                                                      \
        if (mpi_rc_ != MPI_SUCCESS) {                                                              \
            fprintf(stderr, "ptrain: fatal: %s failed (MPI error %d)\n", #call, mpi_rc_);          \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                          \
        }                                                                                          \
    } while (0)

/* MPI counts are int: collectives over float vectors go in pieces of 2^28 floats. */
#define F32_PIECE ((size_t)1 << 28)

/* Longest a roll call waits for the answers: a rank waiting in comm_wait answers within
 * milliseconds, so one that has not after this is not waiting anywhere. */
#define ROLL_CALL_SECONDS 3.0
#define TAG_PING          1
#define TAG_PONG          2
#define HOST_MAX          64

struct pt_comm_impl {
    MPI_Comm comm; /* the group */
    MPI_Comm node; /* the group's ranks on this node */
    int owns_comm; /* comm was made by a split and is ours to free */
    /* the stall watchdog (pt_comm_set_stall_timeout) */
    MPI_Comm watch;   /* a duplicate of comm for roll calls, apart from every other message */
    MPI_Request ping; /* a standing receive of another rank's roll call */
    int ping_buf;
    double stall_timeout; /* seconds; 0: wait forever */
    char prog[64];        /* who speaks in the message */
    /* allocated when the timeout is set, so that a stall needs no memory */
    char *hosts;        /* every rank's host name, HOST_MAX bytes each */
    char *answered;     /* per rank: answered the roll call */
    MPI_Request *calls; /* per rank: the pong received, the ping sent */
    int *pongs;
    int rank, size;
};

MPI_Comm pt_comm_mpi(const pt_comm *comm)
{
    return comm->impl->comm;
}

/* The ranks of c that share this node's memory. PTRAIN_RANKS_PER_NODE=N cuts every node into
 * groups of N consecutive node ranks, each then treated as a node of its own: the multi-node paths
 * (the gradient sums across nodes, one image copy per node) run and are tested on one machine.
 * Every rank of a node must see the same value (mpirun passes the environment on). */
static MPI_Comm node_communicator(MPI_Comm c, int rank)
{
    MPI_Comm node;
    PT_MPI_CHECK(MPI_Comm_split_type(c, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
    const char *env = getenv("PTRAIN_RANKS_PER_NODE");
    long per_node = env ? strtol(env, NULL, 10) : 0;
    if (per_node <= 0 || per_node > INT_MAX)
        return node;
    int node_rank;
    PT_MPI_CHECK(MPI_Comm_rank(node, &node_rank));
    MPI_Comm part;
    PT_MPI_CHECK(MPI_Comm_split(node, node_rank / (int)per_node, node_rank, &part));
    MPI_Comm_free(&node);
    return part;
}

/* Fills comm for the communicator c (taking ownership when owns is set). Collective over c. */
static int comm_attach(MPI_Comm c, int owns, pt_comm *comm, pt_error *err)
{
    comm->impl = malloc(sizeof *comm->impl);
    int ok = comm->impl != NULL;
    PT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, c));
    if (!ok) {
        free(comm->impl);
        comm->impl = NULL;
        if (owns)
            MPI_Comm_free(&c);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    comm->impl->comm = c;
    comm->impl->owns_comm = owns;
    PT_MPI_CHECK(MPI_Comm_rank(c, &comm->rank));
    PT_MPI_CHECK(MPI_Comm_size(c, &comm->size));
    comm->impl->node = node_communicator(c, comm->rank);
    PT_MPI_CHECK(MPI_Comm_rank(comm->impl->node, &comm->node_rank));
    PT_MPI_CHECK(MPI_Comm_size(comm->impl->node, &comm->node_size));
    pt_comm_impl *impl = comm->impl;
    impl->rank = comm->rank;
    impl->size = comm->size;
    impl->stall_timeout = 0.0;
    impl->hosts = impl->answered = NULL;
    impl->calls = NULL;
    impl->pongs = NULL;
    snprintf(impl->prog, sizeof impl->prog, "ptrain");
    PT_MPI_CHECK(MPI_Comm_dup(c, &impl->watch));
    PT_MPI_CHECK(
        MPI_Irecv(&impl->ping_buf, 1, MPI_INT, MPI_ANY_SOURCE, TAG_PING, impl->watch, &impl->ping));
    return PT_OK;
}

/* ---- waiting, with the stall watchdog ---------------------------------------------------------
 */

static double now_seconds(void)
{
    return MPI_Wtime();
}

/* Answers every roll call that has reached this rank: it is alive and waiting. */
static void answer_pings(pt_comm_impl *c)
{
    for (;;) {
        int arrived = 0;
        MPI_Status st;
        PT_MPI_CHECK(MPI_Test(&c->ping, &arrived, &st));
        if (!arrived)
            return;
        static const int alive = 1;
        MPI_Request pong;
        PT_MPI_CHECK(MPI_Isend(&alive, 1, MPI_INT, st.MPI_SOURCE, TAG_PONG, c->watch, &pong));
        PT_MPI_CHECK(MPI_Request_free(&pong)); /* a one-int message: it completes by itself */
        PT_MPI_CHECK(
            MPI_Irecv(&c->ping_buf, 1, MPI_INT, MPI_ANY_SOURCE, TAG_PING, c->watch, &c->ping));
    }
}

/* The ranks that did not answer, for the message: "rank 3 (on node-b)", "ranks 1 (on a), 4 (on
 * b)", at most 16 of them. */
static void describe_ranks(const pt_comm_impl *c, const char *answered, char *buf, size_t cap)
{
    int silent = 0;
    for (int r = 0; r < c->size; r++)
        silent += !answered[r];
    size_t used = (size_t)snprintf(buf, cap, "%s", silent == 1 ? "rank" : "ranks");
    int listed = 0;
    for (int r = 0; r < c->size && used < cap; r++) {
        if (answered[r])
            continue;
        if (listed == 16) {
            used += (size_t)snprintf(buf + used, cap - used, " and %d more", silent - listed);
            break;
        }
        const char *host = c->hosts ? c->hosts + (size_t)r * HOST_MAX : NULL;
        used += (size_t)snprintf(buf + used, cap - used, "%s %d%s%s%s", listed ? "," : "", r,
                                 host ? " (on " : "", host ? host : "", host ? ")" : "");
        listed++;
    }
}

/* Pings every other rank and collects the answers for ROLL_CALL_SECONDS (or until all have
 * answered) into c->answered, answering the others' roll calls meanwhile. Returns 1 if the
 * requests being waited for completed meanwhile (the job moves again), else 0. */
static int roll_call(pt_comm_impl *c, int n, MPI_Request *reqs)
{
    static const int ping = 1;
    MPI_Request *calls = c->calls;
    for (int r = 0; r < c->size; r++) {
        c->answered[r] = r == c->rank;
        calls[2 * r] = calls[2 * r + 1] = MPI_REQUEST_NULL;
        if (r == c->rank)
            continue;
        PT_MPI_CHECK(MPI_Irecv(&c->pongs[r], 1, MPI_INT, r, TAG_PONG, c->watch, &calls[2 * r]));
        PT_MPI_CHECK(MPI_Isend(&ping, 1, MPI_INT, r, TAG_PING, c->watch, &calls[2 * r + 1]));
    }
    double grace = c->stall_timeout < ROLL_CALL_SECONDS ? c->stall_timeout : ROLL_CALL_SECONDS;
    double end = now_seconds() + grace;
    int moved = 0, missing = c->size - 1;
    while (missing > 0 && now_seconds() < end) {
        int done = 0;
        PT_MPI_CHECK(MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE));
        if (done) {
            moved = 1;
            break;
        }
        answer_pings(c);
        for (int r = 0; r < c->size; r++) {
            int got = 0;
            if (c->answered[r])
                continue;
            PT_MPI_CHECK(MPI_Test(&calls[2 * r], &got, MPI_STATUS_IGNORE));
            if (got) {
                c->answered[r] = 1;
                missing--;
            }
        }
    }
    for (int r = 0; r < c->size; r++) {
        if (calls[2 * r] != MPI_REQUEST_NULL) { /* a pong that never came */
            PT_MPI_CHECK(MPI_Cancel(&calls[2 * r]));
            PT_MPI_CHECK(MPI_Wait(&calls[2 * r], MPI_STATUS_IGNORE));
        }
        if (calls[2 * r + 1] != MPI_REQUEST_NULL) /* a one-int ping: it completes by itself */
            PT_MPI_CHECK(MPI_Request_free(&calls[2 * r + 1]));
    }
    return moved;
}

/* After a roll call: the job cannot move on. The lowest rank that answered says which ranks did
 * not and ends the job; the others give it one more timeout to do so, then speak themselves. */
static void stall_verdict(pt_comm_impl *c, double waited, int *rounds)
{
    const char *answered = c->answered;
    int silent = 0, lowest_alive = c->rank;
    for (int r = c->size - 1; r >= 0; r--) {
        silent += !answered[r];
        if (answered[r])
            lowest_alive = r;
    }
    (*rounds)++;
    /* Every rank answered: they wait in different collectives (a bug), or the silent rank has
     * just come back; one more timeout tells. */
    if (silent == 0 && *rounds < 2)
        return;
    if (lowest_alive != c->rank && *rounds < 2)
        return;
    char who[1024];
    if (silent > 0)
        describe_ranks(c, answered, who, sizeof who);
    fprintf(stderr,
            "%s: error: no progress for %.0f s (--stall-timeout %.0f): %s%s; ending the job\n",
            c->prog, waited, c->stall_timeout, silent > 0 ? who : "every rank answers but the",
            silent > 0 ? " stopped answering (stopped, hung in I/O, or its node is gone)"
                       : " ranks wait for one another in different steps (a bug in ptrain)");
    fflush(stderr);
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Waits for the n requests; see the top of the file. */
static void comm_wait(pt_comm_impl *c, int n, MPI_Request *reqs)
{
    int done = 0;
    PT_MPI_CHECK(MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE));
    if (done)
        return;
    double start = now_seconds();
    double deadline = start + c->stall_timeout;
    int rounds = 0;
    for (unsigned spin = 1;; spin++) {
        PT_MPI_CHECK(MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE));
        if (done)
            return;
        if (spin % 64 != 0) /* the clock and the roll calls of others, now and then */
            continue;
        answer_pings(c);
        if (c->stall_timeout <= 0 || now_seconds() < deadline)
            continue;
        if (roll_call(c, n, reqs))
            return;
        stall_verdict(c, now_seconds() - start, &rounds);
        deadline = now_seconds() + c->stall_timeout;
    }
}

static void allreduce(const pt_comm *comm, void *values, int count, MPI_Datatype type, MPI_Op op);

static void wait_one(const pt_comm *comm, MPI_Request *req)
{
    comm_wait(comm->impl, 1, req);
}

int pt_comm_set_stall_timeout(const pt_comm *comm, double seconds, const char *prog, pt_error *err)
{
    pt_comm_impl *c = comm->impl;
    snprintf(c->prog, sizeof c->prog, "%s", prog);
    if (!c->hosts) {
        size_t n = (size_t)c->size;
        c->hosts = malloc(n * HOST_MAX);
        c->answered = malloc(n);
        c->calls = malloc(2 * n * sizeof *c->calls);
        c->pongs = malloc(n * sizeof *c->pongs);
    }
    int ok = c->hosts && c->answered && c->calls && c->pongs;
    allreduce(comm, &ok, 1, MPI_INT, MPI_MIN);
    if (!ok)
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    /* every rank's host, to name the node of a silent rank */
    char mine[HOST_MAX] = "";
    char name[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    if (MPI_Get_processor_name(name, &len) == MPI_SUCCESS)
        snprintf(mine, sizeof mine, "%.*s", len, name);
    MPI_Request req;
    PT_MPI_CHECK(
        MPI_Iallgather(mine, HOST_MAX, MPI_CHAR, c->hosts, HOST_MAX, MPI_CHAR, c->comm, &req));
    wait_one(comm, &req);
    c->stall_timeout = seconds > 0 ? seconds : 0.0;
    return PT_OK;
}

int pt_comm_init(int *argc, char ***argv, pt_comm *comm, pt_error *err)
{
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized && MPI_Init(argc, argv) != MPI_SUCCESS)
        return pt_error_set(err, PT_ERR_MPI, "MPI_Init failed");
    return comm_attach(MPI_COMM_WORLD, 0, comm, err);
}

int pt_comm_split(const pt_comm *parent, int color, int key, pt_comm *out, pt_error *err)
{
    MPI_Comm c;
    PT_MPI_CHECK(MPI_Comm_split(parent->impl->comm, color, key, &c));
    return comm_attach(c, 1, out, err);
}

void pt_comm_free(pt_comm *comm)
{
    if (!comm->impl)
        return;
    MPI_Cancel(&comm->impl->ping);
    MPI_Wait(&comm->impl->ping, MPI_STATUS_IGNORE);
    MPI_Comm_free(&comm->impl->watch);
    free(comm->impl->hosts);
    free(comm->impl->answered);
    free(comm->impl->calls);
    free(comm->impl->pongs);
    MPI_Comm_free(&comm->impl->node);
    if (comm->impl->owns_comm)
        MPI_Comm_free(&comm->impl->comm);
    free(comm->impl);
    comm->impl = NULL;
}

void pt_comm_finalize(pt_comm *comm)
{
    pt_comm_free(comm);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Finalize();
}

_Noreturn void pt_comm_abort(const pt_comm *comm, int code)
{
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(comm && comm->impl ? comm->impl->comm : MPI_COMM_WORLD, code);
    exit(code); /* MPI_Abort does not return; this satisfies _Noreturn */
}

void pt_comm_barrier(const pt_comm *comm)
{
    MPI_Request req;
    PT_MPI_CHECK(MPI_Ibarrier(comm->impl->comm, &req));
    wait_one(comm, &req);
}

int pt_comm_bcast_bytes(const pt_comm *comm, uint8_t **data, size_t *size, int root, pt_error *err)
{
    uint64_t len = comm->rank == root ? (uint64_t)*size : 0;
    MPI_Request req;
    PT_MPI_CHECK(MPI_Ibcast(&len, 1, MPI_UINT64_T, root, comm->impl->comm, &req));
    wait_one(comm, &req);
    if (comm->rank != root) {
        *data = malloc(len > 0 ? len : 1);
        *size = len;
    }
    /* Every rank must learn whether any allocation failed before the next collective. */
    int ok = *data != NULL;
    int all_ok = 0;
    PT_MPI_CHECK(MPI_Iallreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm->impl->comm, &req));
    wait_one(comm, &req);
    if (!all_ok) {
        if (comm->rank != root) {
            free(*data);
            *data = NULL;
        }
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory receiving %llu bytes",
                            (unsigned long long)len);
    }
    /* MPI counts are int: send in pieces of at most 1 GiB. */
    const uint64_t piece = 1u << 30;
    for (uint64_t off = 0; off < len; off += piece) {
        int n = (int)(len - off < piece ? len - off : piece);
        PT_MPI_CHECK(MPI_Ibcast(*data + off, n, MPI_BYTE, root, comm->impl->comm, &req));
        wait_one(comm, &req);
    }
    return PT_OK;
}

void pt_comm_bcast_i64(const pt_comm *comm, int64_t *values, int count, int root)
{
    MPI_Request req;
    PT_MPI_CHECK(MPI_Ibcast(values, count, MPI_INT64_T, root, comm->impl->comm, &req));
    wait_one(comm, &req);
}

static void allreduce(const pt_comm *comm, void *values, int count, MPI_Datatype type, MPI_Op op)
{
    MPI_Request req;
    PT_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, values, count, type, op, comm->impl->comm, &req));
    wait_one(comm, &req);
}

void pt_comm_allreduce_sum_u64(const pt_comm *comm, uint64_t *values, int count)
{
    allreduce(comm, values, count, MPI_UINT64_T, MPI_SUM);
}

void pt_comm_allreduce_sum_f64(const pt_comm *comm, double *values, int count)
{
    allreduce(comm, values, count, MPI_DOUBLE, MPI_SUM);
}

void pt_comm_allreduce_max_i64(const pt_comm *comm, int64_t *values, int count)
{
    allreduce(comm, values, count, MPI_INT64_T, MPI_MAX);
}

void pt_comm_allgather_bytes(const pt_comm *comm, const uint8_t *mine, uint8_t *all, int count)
{
    MPI_Request req;
    PT_MPI_CHECK(
        MPI_Iallgather(mine, count, MPI_BYTE, all, count, MPI_BYTE, comm->impl->comm, &req));
    wait_one(comm, &req);
}

int pt_comm_gather_bytes(const pt_comm *comm, const uint8_t *mine, size_t mine_size, int root,
                         uint8_t **all, size_t *all_size, pt_error *err)
{
    if (mine_size > INT_MAX)
        pt_comm_abort(comm, 1); /* a rank's part is text of skipped files: never near 2 GiB */
    int my_count = (int)mine_size;
    int *counts = NULL, *displs = NULL;
    uint8_t *buf = NULL;
    int status = PT_OK;
    if (comm->rank == root) {
        counts = calloc((size_t)comm->size, sizeof *counts);
        displs = calloc((size_t)comm->size, sizeof *displs);
    }
    int ok = comm->rank != root || (counts && displs);
    MPI_Request req;
    PT_MPI_CHECK(
        MPI_Igather(&my_count, 1, MPI_INT, counts, 1, MPI_INT, root, comm->impl->comm, &req));
    wait_one(comm, &req);
    size_t total = 0;
    if (comm->rank == root && ok) {
        for (int r = 0; r < comm->size; r++) {
            displs[r] = (int)total;
            total += (size_t)counts[r];
        }
        if (total > INT_MAX)
            pt_comm_abort(comm, 1);
        buf = malloc(total > 0 ? total : 1);
        ok = buf != NULL;
    }
    PT_MPI_CHECK(MPI_Ibcast(&ok, 1, MPI_INT, root, comm->impl->comm, &req));
    wait_one(comm, &req);
    if (!ok) {
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory gathering %zu bytes", total);
        goto done;
    }
    PT_MPI_CHECK(MPI_Igatherv(mine, my_count, MPI_BYTE, buf, counts, displs, MPI_BYTE, root,
                              comm->impl->comm, &req));
    wait_one(comm, &req);
    if (comm->rank == root) {
        *all = buf;
        *all_size = total;
        buf = NULL;
    }
done:
    free(buf);
    free(counts);
    free(displs);
    return status;
}

int pt_comm_agree_status(const pt_comm *comm, int status)
{
    int lowest = status;
    allreduce(comm, &lowest, 1, MPI_INT, MPI_MIN);
    return lowest;
}

void pt_comm_bcast_f32(const pt_comm *comm, float *values, size_t count, int root)
{
    for (size_t off = 0; off < count; off += F32_PIECE) {
        int n = (int)(count - off < F32_PIECE ? count - off : F32_PIECE);
        MPI_Request req;
        PT_MPI_CHECK(MPI_Ibcast(values + off, n, MPI_FLOAT, root, comm->impl->comm, &req));
        wait_one(comm, &req);
    }
}

/* ---- node shared memory -------------------------------------------------------------------------
 */

struct pt_shared {
    MPI_Win win;
};

int pt_comm_shared_alloc(const pt_comm *comm, size_t bytes, void **ptr, pt_shared **handle,
                         pt_error *err)
{
    *ptr = NULL;
    *handle = NULL;
    pt_shared *sh = malloc(sizeof *sh);
    int ok = sh != NULL;
    allreduce(comm, &ok, 1, MPI_INT, MPI_MIN);
    if (!ok) {
        free(sh);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    /* Node rank 0 allocates everything, the others nothing: one contiguous copy per node. */
    MPI_Aint size = comm->node_rank == 0 ? (MPI_Aint)(bytes ? bytes : 1) : 0;
    void *base = NULL;
    int rc = MPI_Win_allocate_shared(size, 1, MPI_INFO_NULL, comm->impl->node, &base, &sh->win);
    ok = rc == MPI_SUCCESS;
    allreduce(comm, &ok, 1, MPI_INT, MPI_MIN);
    if (!ok) {
        if (rc == MPI_SUCCESS)
            MPI_Win_free(&sh->win);
        free(sh);
        return pt_error_set(err, PT_ERR_NOMEM,
                            "cannot allocate %zu bytes of node shared memory (is /dev/shm large "
                            "enough?)",
                            bytes);
    }
    MPI_Aint got_size;
    int disp;
    PT_MPI_CHECK(MPI_Win_shared_query(sh->win, 0, &got_size, &disp, ptr));
    *handle = sh;
    return PT_OK;
}

void pt_comm_shared_free(pt_shared *handle)
{
    if (!handle)
        return;
    MPI_Win_free(&handle->win);
    free(handle);
}

void pt_comm_node_barrier(const pt_comm *comm)
{
    MPI_Request req;
    PT_MPI_CHECK(MPI_Ibarrier(comm->impl->node, &req));
    wait_one(comm, &req);
}

/* ---- non-blocking gradient sums -----------------------------------------------------------------
 */

struct pt_allreduce {
    pt_comm_impl *group; /* whose watchdog guards the waits */
    MPI_Comm comm;
    MPI_Request *requests;
    int max_pending;
    int pending;
};

int pt_allreduce_create(const pt_comm *comm, int max_pending, pt_allreduce **out, pt_error *err)
{
    *out = NULL;
    pt_allreduce *ar = calloc(1, sizeof *ar);
    if (ar)
        ar->requests = calloc((size_t)max_pending, sizeof *ar->requests);
    if (!ar || !ar->requests) {
        free(ar);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    ar->max_pending = max_pending;
    ar->group = comm->impl;
    PT_MPI_CHECK(MPI_Comm_dup(comm->impl->comm, &ar->comm));
    *out = ar;
    return PT_OK;
}

void pt_allreduce_free(pt_allreduce *ar)
{
    if (!ar)
        return;
    pt_allreduce_wait(ar);
    MPI_Comm_free(&ar->comm);
    free(ar->requests);
    free(ar);
}

void pt_allreduce_start(pt_allreduce *ar, float *buf, size_t count)
{
    if (count > INT_MAX || ar->pending == ar->max_pending) {
        fprintf(stderr, "ptrain: fatal: gradient bucket of %zu floats, %d in flight\n", count,
                ar->pending);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    PT_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, MPI_FLOAT, MPI_SUM, ar->comm,
                                &ar->requests[ar->pending]));
    ar->pending++;
}

void pt_allreduce_progress(pt_allreduce *ar)
{
    if (ar->pending == 0)
        return;
    int done = 0;
    PT_MPI_CHECK(MPI_Testall(ar->pending, ar->requests, &done, MPI_STATUSES_IGNORE));
}

void pt_allreduce_wait(pt_allreduce *ar)
{
    if (ar->pending == 0)
        return;
    comm_wait(ar->group, ar->pending, ar->requests);
    ar->pending = 0;
}

/* ---- peers: the ranks of one node rank, one on every node ------------------------------------
 */

struct pt_peers {
    pt_comm_impl *group; /* whose watchdog guards the waits */
    MPI_Comm across;     /* the group's ranks with this rank's node rank, one per node */
    int count;
};

int pt_peers_create(const pt_comm *comm, pt_peers **out, pt_error *err)
{
    *out = NULL;
    /* the largest and (negated) smallest number of ranks on a node */
    int64_t sizes[2] = {comm->node_size, -(int64_t)comm->node_size};
    pt_comm_allreduce_max_i64(comm, sizes, 2);
    if (sizes[0] != -sizes[1])
        return pt_error_set(err, PT_ERR_UNSUPPORTED,
                            "the nodes hold different numbers of ranks (%lld to %lld)",
                            (long long)-sizes[1], (long long)sizes[0]);
    pt_peers *p = calloc(1, sizeof *p);
    if (pt_comm_agree_status(comm, p ? PT_OK : PT_ERR_NOMEM) != PT_OK) {
        free(p);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    p->group = comm->impl;
    PT_MPI_CHECK(MPI_Comm_split(comm->impl->comm, comm->node_rank, comm->rank, &p->across));
    PT_MPI_CHECK(MPI_Comm_size(p->across, &p->count));
    *out = p;
    return PT_OK;
}

void pt_peers_free(pt_peers *p)
{
    if (!p)
        return;
    MPI_Comm_free(&p->across);
    free(p);
}

int pt_peers_count(const pt_peers *p)
{
    return p->count;
}

void pt_peers_sum_f32(pt_peers *p, float *values, size_t count)
{
    if (p->count < 2)
        return;
    for (size_t off = 0; off < count; off += F32_PIECE) {
        int n = (int)(count - off < F32_PIECE ? count - off : F32_PIECE);
        MPI_Request req;
        PT_MPI_CHECK(
            MPI_Iallreduce(MPI_IN_PLACE, values + off, n, MPI_FLOAT, MPI_SUM, p->across, &req));
        comm_wait(p->group, 1, &req);
    }
}

void pt_peers_bcast_f32(pt_peers *p, float *values, size_t count)
{
    if (p->count < 2)
        return;
    for (size_t off = 0; off < count; off += F32_PIECE) {
        int n = (int)(count - off < F32_PIECE ? count - off : F32_PIECE);
        MPI_Request req;
        PT_MPI_CHECK(MPI_Ibcast(values + off, n, MPI_FLOAT, 0, p->across, &req));
        comm_wait(p->group, 1, &req);
    }
}
