/* Exclusive locks on outputs: a second holder is refused with the first one's host and PID, a
 * released (or dead) holder's lock is free again, and the lock file goes with the last holder. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tmpdir.h"
#include "ptrain/lock.h"

static char tmpdir[128];

static void make_tmpdir(void)
{
    cr_assert_eq(fixture_mkdtemp(tmpdir, sizeof tmpdir), 0, "mkdtemp failed");
}

static void remove_tmpdir(void)
{
    fixture_rmtree(tmpdir);
}

TestSuite(lock, .init = make_tmpdir, .fini = remove_tmpdir);

Test(lock, second_holder_is_refused_with_the_first_ones_pid)
{
    char path[256], host[256] = "", pid[64];
    snprintf(path, sizeof path, "%s/run.lock", tmpdir);
    gethostname(host, sizeof host - 1);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    pt_lock a, b;
    pt_error err;
    cr_assert_eq(pt_lock_acquire(path, "ptrain train", &a, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(access(path, F_OK), 0, "no lock file");
    /* another open file description: flock refuses it even in the same process */
    cr_assert_eq(pt_lock_acquire(path, "ptrain train", &b, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    cr_assert(strstr(err.msg, "in use"), "%s", err.msg);
    cr_assert(strstr(err.msg, host), "%s", err.msg);
    cr_assert(strstr(err.msg, pid), "%s", err.msg);
    cr_assert(strstr(err.msg, "ptrain train"), "%s", err.msg);
    pt_lock_release(&a);
    cr_assert_neq(access(path, F_OK), 0, "the lock file outlived its holder");
    cr_assert_eq(pt_lock_acquire(path, "ptrain train", &b, &err), PT_OK, "%s", err.msg);
    pt_lock_release(&b);
}

/* kill -9 of the holder: the kernel drops the lock, the next one gets it (SLURM requeue) */
Test(lock, a_killed_holders_lock_is_free)
{
    char path[256];
    snprintf(path, sizeof path, "%s/p.h5.lock", tmpdir);
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        pt_lock l;
        pt_error e;
        char ok = pt_lock_acquire(path, "ptrain-prep", &l, &e) == PT_OK ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char ok = 0;
    cr_assert_eq(read(ready[0], &ok, 1), 1);
    cr_assert_eq(ok, 'y');
    pt_lock l;
    pt_error err;
    cr_assert_eq(pt_lock_acquire(path, "ptrain-prep", &l, &err), PT_ERR_IO);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    cr_assert_eq(pt_lock_acquire(path, "ptrain-prep", &l, &err), PT_OK, "%s", err.msg);
    pt_lock_release(&l);
}
