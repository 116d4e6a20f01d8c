/* MPI wrappers. A failed MPI call aborts the whole job: see comm.h. */
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

struct pt_comm_impl {
    MPI_Comm comm;      /* the group */
    MPI_Comm node;      /* the group's ranks on this node */
    int owns_comm;      /* comm was made by a split and is ours to free */
};

MPI_Comm pt_comm_mpi(const pt_comm *comm)
{
    return comm->impl->comm;
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
    PT_MPI_CHECK(
        MPI_Comm_split_type(c, MPI_COMM_TYPE_SHARED, comm->rank, MPI_INFO_NULL, &comm->impl->node));
    PT_MPI_CHECK(MPI_Comm_rank(comm->impl->node, &comm->node_rank));
    PT_MPI_CHECK(MPI_Comm_size(comm->impl->node, &comm->node_size));
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
    PT_MPI_CHECK(MPI_Barrier(comm->impl->comm));
}

int pt_comm_bcast_bytes(const pt_comm *comm, uint8_t **data, size_t *size, int root, pt_error *err)
{
    uint64_t len = comm->rank == root ? (uint64_t)*size : 0;
    PT_MPI_CHECK(MPI_Bcast(&len, 1, MPI_UINT64_T, root, comm->impl->comm));
    if (comm->rank != root) {
        *data = malloc(len > 0 ? len : 1);
        *size = len;
    }
    /* Every rank must learn whether any allocation failed before the next collective. */
    int ok = *data != NULL;
    int all_ok = 0;
    PT_MPI_CHECK(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm->impl->comm));
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
        PT_MPI_CHECK(MPI_Bcast(*data + off, n, MPI_BYTE, root, comm->impl->comm));
    }
    return PT_OK;
}

void pt_comm_bcast_i64(const pt_comm *comm, int64_t *values, int count, int root)
{
    PT_MPI_CHECK(MPI_Bcast(values, count, MPI_INT64_T, root, comm->impl->comm));
}

void pt_comm_allreduce_sum_u64(const pt_comm *comm, uint64_t *values, int count)
{
    PT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_UINT64_T, MPI_SUM, comm->impl->comm));
}

void pt_comm_allreduce_sum_f64(const pt_comm *comm, double *values, int count)
{
    PT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, comm->impl->comm));
}

void pt_comm_allreduce_max_i64(const pt_comm *comm, int64_t *values, int count)
{
    PT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_INT64_T, MPI_MAX, comm->impl->comm));
}

void pt_comm_allgather_bytes(const pt_comm *comm, const uint8_t *mine, uint8_t *all, int count)
{
    PT_MPI_CHECK(MPI_Allgather(mine, count, MPI_BYTE, all, count, MPI_BYTE, comm->impl->comm));
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
    PT_MPI_CHECK(MPI_Gather(&my_count, 1, MPI_INT, counts, 1, MPI_INT, root, comm->impl->comm));
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
    PT_MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, root, comm->impl->comm));
    if (!ok) {
        status = pt_error_set(err, PT_ERR_NOMEM, "out of memory gathering %zu bytes", total);
        goto done;
    }
    PT_MPI_CHECK(
        MPI_Gatherv(mine, my_count, MPI_BYTE, buf, counts, displs, MPI_BYTE, root, comm->impl->comm));
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
    PT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &lowest, 1, MPI_INT, MPI_MIN, comm->impl->comm));
    return lowest;
}

void pt_comm_bcast_f32(const pt_comm *comm, float *values, size_t count, int root)
{
    const size_t piece = 1u << 28;
    for (size_t off = 0; off < count; off += piece) {
        int n = (int)(count - off < piece ? count - off : piece);
        PT_MPI_CHECK(MPI_Bcast(values + off, n, MPI_FLOAT, root, comm->impl->comm));
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
    PT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm->impl->comm));
    if (!ok) {
        free(sh);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    /* Node rank 0 allocates everything, the others nothing: one contiguous copy per node. */
    MPI_Aint size = comm->node_rank == 0 ? (MPI_Aint)(bytes ? bytes : 1) : 0;
    void *base = NULL;
    int rc = MPI_Win_allocate_shared(size, 1, MPI_INFO_NULL, comm->impl->node, &base, &sh->win);
    ok = rc == MPI_SUCCESS;
    PT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm->impl->comm));
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
    PT_MPI_CHECK(MPI_Barrier(comm->impl->node));
}

/* ---- non-blocking gradient sums -----------------------------------------------------------------
 */

struct pt_allreduce {
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
    PT_MPI_CHECK(MPI_Waitall(ar->pending, ar->requests, MPI_STATUSES_IGNORE));
    ar->pending = 0;
}
