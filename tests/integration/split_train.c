/* Two independent trainers in one MPI job: the ranks split into two halves (pt_comm_split), and
 * each half runs its own pt_train_run on the same cache into its own run directory. Used by
 * split_train.sh to prove that every collective stays on its group's communicator.
 *   mpirun -np 4 split_train CACHE.h5 RUN_DIR_PREFIX
 * Writes RUN_DIR_PREFIX0 and RUN_DIR_PREFIX1; exit status 0 when both halves succeeded. */
#include <stdio.h>

#include "ptrain/comm.h"
#include "ptrain/train.h"

int main(int argc, char **argv)
{
    pt_comm world, half;
    pt_error err;
    pt_error_clear(&err);
    if (pt_comm_init(&argc, &argv, &world, &err) != PT_OK) {
        fprintf(stderr, "split_train: %s\n", err.msg);
        return 1;
    }
    if (argc != 3 || world.size < 2) {
        if (world.rank == 0)
            fprintf(stderr, "usage: mpirun -np 2K split_train CACHE.h5 RUN_DIR_PREFIX\n");
        pt_comm_finalize(&world);
        return 2;
    }
    int color = world.rank < world.size / 2 ? 0 : 1;
    int status = pt_comm_split(&world, color, world.rank, &half, &err);
    char run_dir[1024];
    snprintf(run_dir, sizeof run_dir, "%s%d", argv[2], color);
    if (status == PT_OK) {
        pt_train_config cfg;
        pt_train_config_default(&cfg);
        cfg.data = argv[1];
        cfg.arch = "cxr";
        cfg.run_dir = run_dir;
        cfg.epochs = 2;
        cfg.batch = 16;
        cfg.lr = 0.02;
        cfg.quiet = 1;
        cfg.threads = 1;
        status = pt_train_run(&cfg, &half, &err);
        if (status != PT_OK && err.msg[0])
            fprintf(stderr, "split_train: group %d rank %d: %s\n", color, half.rank, err.msg);
        pt_comm_free(&half);
    }
    status = pt_comm_agree_status(&world, status);
    pt_comm_finalize(&world);
    return status == PT_OK ? 0 : 1;
}
