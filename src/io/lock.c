/* Exclusive output locks (see lock.h). */
#include "ptrain/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The holder's line, "ptrain train, pid 1234 on host node7 since 2026-...Z", from the file. */
static void read_holder(int fd, char *buf, size_t cap)
{
    ssize_t n = pread(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (!buf[0])
        pt_strlcpy(buf, "another process (it has not written its name yet)", cap);
}

static void write_holder(int fd, const char *program)
{
    char host[256] = "unknown", when[32], line[512];
    if (gethostname(host, sizeof host - 1) != 0)
        pt_strlcpy(host, "unknown", sizeof host);
    pt_time_iso8601(when, sizeof when);
    int n = snprintf(line, sizeof line, "%s, pid %ld on host %s since %s\n", program,
                     (long)getpid(), host, when);
    /* best effort: the lock is what matters, the text only helps the person refused */
    if (ftruncate(fd, 0) == 0 && n > 0 && pwrite(fd, line, (size_t)n, 0) == n)
        fsync(fd);
}

int pt_lock_acquire_ex(const char *path, const char *program, pt_lock *lock, int *unsupported,
                       pt_error *err)
{
    lock->fd = -1;
    if (unsupported)
        *unsupported = 0;
    if (pt_strlcpy(lock->path, path, sizeof lock->path) != 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", path);
    /* The holder removes the file when it releases the lock; a process that opened the old file
     * just before may then lock a file that no longer has the name. So after locking, check that
     * the name still leads to the locked file, else try again with the new one. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return pt_error_set(err, PT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            if (e == EWOULDBLOCK) {
                char holder[512];
                read_holder(fd, holder, sizeof holder);
                close(fd);
                return pt_error_set(err, PT_ERR_IO, "%s: in use by %s", path, holder);
            }
            close(fd);
            if (e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS) {
                if (unsupported)
                    *unsupported = 1;
                return PT_OK; /* no locks on this file system: go on unlocked */
            }
            return pt_error_set(err, PT_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
        }
        struct stat held, named;
        if (fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev) {
            write_holder(fd, program);
            lock->fd = fd;
            return PT_OK;
        }
        close(fd); /* the file we locked was removed meanwhile: take the new one */
    }
    return pt_error_set(err, PT_ERR_IO, "%s: cannot lock: the file keeps changing", path);
}

int pt_lock_acquire(const char *path, const char *program, pt_lock *lock, pt_error *err)
{
    return pt_lock_acquire_ex(path, program, lock, NULL, err);
}

void pt_lock_release(pt_lock *lock)
{
    if (lock->fd < 0)
        return;
    /* removed while still held, so nobody can lock the old file under this name in between */
    unlink(lock->path);
    close(lock->fd);
    lock->fd = -1;
}
