/* Exclusive locks on outputs: one writer per run directory (ptrain train) and per cache
 * (ptrain-prep). A lock is flock(2) on a small file whose text names the holder (program, host,
 * PID, start time), so a second writer is refused at once with a message saying who has it.
 * The kernel drops the lock when its holder dies, even by kill -9, so a job that SLURM requeues
 * after a crash gets it back. Taken by ONE process (rank 0), before anything is written. */
#ifndef PTRAIN_LOCK_H
#define PTRAIN_LOCK_H

#include "ptrain/common.h"

typedef struct pt_lock {
    int fd; /* -1: not held */
    char path[4096];
} pt_lock;

/* Creates path if needed and locks it without waiting; `program` ("ptrain train") goes into the
 * file with this host, PID and time. PT_ERR_IO if another process holds it, with a message naming
 * path and the holder ("<path>: in use by ptrain train, pid 1234 on host node7 since ..."), or
 * if the file cannot be created. A file system without locks (some Lustre mounts) is not an
 * error: the lock is then not held (fd -1) and *unsupported is set, if not NULL. */
int pt_lock_acquire(const char *path, const char *program, pt_lock *lock, pt_error *err);

/* Same, telling the caller whether the file system refused locks altogether. */
int pt_lock_acquire_ex(const char *path, const char *program, pt_lock *lock, int *unsupported,
                       pt_error *err);

/* Removes the lock file and releases the lock (nothing if not held). */
void pt_lock_release(pt_lock *lock);

#endif
