/* `ptrain train`: command line to pt_train_config, then the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "ptrain/cli.h"
#include "ptrain/net.h"
#include "ptrain/train.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mpirun -np N ptrain train --data FILE.h5 [options]\n"
            "\n"
            "Trains a CNN on a ptrain-prep cache, data-parallel over the MPI ranks.\n"
            "\n"
            "  --data FILE.h5        the cache (required)\n"
            "  --arch A              fmnist | cxr | resnet18 | a file in the text format (cxr)\n"
            "  --epochs N            (10)\n"
            "  --batch N             GLOBAL batch, split over the ranks (32)\n"
            "  --lr X                base learning rate (0.01)\n"
            "  --opt sgd|adamw       (sgd)\n"
            "  --momentum X          SGD momentum (0.9)\n"
            "  --nesterov            Nesterov momentum\n"
            "  --weight-decay X      conv and dense weights only (0)\n"
            "  --schedule S          constant | cosine | step (constant)\n"
            "  --warmup-epochs X     linear warmup from lr/10 (0)\n"
            "  --min-lr X            cosine floor (0)\n"
            "  --step-epochs N       step schedule: multiply by --gamma every N epochs\n"
            "  --gamma X             step schedule factor (0.1)\n"
            "  --seed S              weights, shuffling, augmentation, dropout (1)\n"
            "  --run-dir DIR         where the run is written (results/<arch>-<time>)\n"
            "  --resume auto|PATH    continue from the newest usable checkpoint in\n"
            "                        DIR/checkpoints (none there: start fresh), or from PATH.\n"
            "                        Without it a DIR that holds a run is refused\n"
            "  --overwrite           delete the run already in DIR first (not with --resume)\n"
            "  --ckpt-every N        checkpoint every N steps (default: every epoch)\n"
            "  --keep-ckpts N        checkpoints kept (3)\n"
            "  --class-weights W     auto (inverse frequency) | none | w1,w2,... (auto)\n"
            "  --threshold T         youden (chosen on validation) | a value in [0,1] (youden)\n"
            "  --no-augment          no shifts, scaling, rotation or contrast changes\n"
            "  --keep-last           train on the last, smaller batch of an epoch too\n"
            "  --threads N           threads per rank (cores on the node / ranks)\n"
            "  --log-seconds X       seconds between progress lines (10)\n"
            "  --max-steps N         stop after N steps in total, then evaluate as usual\n"
            "  --grad-sum M          sharded | allreduce: how several ranks sum their gradients\n"
            "                        (sharded: each rank of a node sums and updates 1/L of the\n"
            "                        parameters in node shared memory; allreduce: every rank\n"
            "                        all of them, in buckets overlapping backward)\n"
            "  --bucket-mb X         gradient allreduce bucket size in MiB (4)\n"
            "  --quiet               no progress lines\n"
            "  --conv-algo A         auto | gemm | winograd | winograd2 | winograd4: how 3x3\n"
            "                        convolutions are computed (auto: Winograd where it is\n"
            "                        faster, F(4x4) or F(2x2) by shape; winograd2/4 force one)\n"
            "  --profile             time every layer, the data, optimizer and allreduce; writes\n"
            "                        profile.csv in the run directory and a table in the log\n"
            "  --stall-timeout S     end the job (exit 1) when the ranks have waited S seconds\n"
            "                        for one that stopped answering, naming it (600; 0: never)\n"
            "  --help                this text\n"
            "\n"
            "SIGUSR1 or SIGTERM (SLURM's warning before preemption or the time limit): the\n"
            "current step finishes, a checkpoint is written, and ptrain exits with status 3;\n"
            "run the same command with --resume auto to continue.\n"
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error, 3 stopped by a signal\n"
            "after a checkpoint.\n");
}

/* The default run directory name, the same on every rank (rank 0's clock). */
static void default_run_dir(const pt_comm *comm, const char *arch, char *out, size_t cap)
{
    int64_t now = comm->rank == 0 ? (int64_t)time(NULL) : 0;
    pt_comm_bcast_i64(comm, &now, 1, 0);
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    const char *base = strrchr(arch, '/');
    snprintf(out, cap, "results/%s-%s", base ? base + 1 : arch, stamp);
}

enum {
    O_DATA = 1,
    O_ARCH,
    O_EPOCHS,
    O_BATCH,
    O_LR,
    O_OPT,
    O_MOMENTUM,
    O_NESTEROV,
    O_WD,
    O_SCHED,
    O_WARMUP,
    O_MINLR,
    O_STEPEP,
    O_GAMMA,
    O_SEED,
    O_RUNDIR,
    O_RESUME,
    O_CKPT,
    O_KEEP,
    O_CW,
    O_THRESH,
    O_NOAUG,
    O_KEEPLAST,
    O_THREADS,
    O_LOGS,
    O_MAXSTEPS,
    O_BUCKET,
    O_GRADSUM,
    O_QUIET,
    O_PROFILE,
    O_CONVALGO,
    O_OVERWRITE,
    O_STALL
};
static const pt_cli_option options[] = {{"data", 1, O_DATA},
                                        {"arch", 1, O_ARCH},
                                        {"epochs", 1, O_EPOCHS},
                                        {"batch", 1, O_BATCH},
                                        {"lr", 1, O_LR},
                                        {"opt", 1, O_OPT},
                                        {"momentum", 1, O_MOMENTUM},
                                        {"nesterov", 0, O_NESTEROV},
                                        {"weight-decay", 1, O_WD},
                                        {"schedule", 1, O_SCHED},
                                        {"warmup-epochs", 1, O_WARMUP},
                                        {"min-lr", 1, O_MINLR},
                                        {"step-epochs", 1, O_STEPEP},
                                        {"gamma", 1, O_GAMMA},
                                        {"seed", 1, O_SEED},
                                        {"run-dir", 1, O_RUNDIR},
                                        {"resume", 1, O_RESUME},
                                        {"ckpt-every", 1, O_CKPT},
                                        {"keep-ckpts", 1, O_KEEP},
                                        {"class-weights", 1, O_CW},
                                        {"threshold", 1, O_THRESH},
                                        {"no-augment", 0, O_NOAUG},
                                        {"keep-last", 0, O_KEEPLAST},
                                        {"threads", 1, O_THREADS},
                                        {"log-seconds", 1, O_LOGS},
                                        {"max-steps", 1, O_MAXSTEPS},
                                        {"bucket-mb", 1, O_BUCKET},
                                        {"grad-sum", 1, O_GRADSUM},
                                        {"quiet", 0, O_QUIET},
                                        {"profile", 0, O_PROFILE},
                                        {"conv-algo", 1, O_CONVALGO},
                                        {"overwrite", 0, O_OVERWRITE},
                                        {"stall-timeout", 1, O_STALL},
                                        {NULL, 0, 0}};

/* What the command line sets: the run's configuration, and the job's stall timeout. */
typedef struct train_args {
    pt_train_config cfg;
    double stall_timeout;
} train_args;

/* One option into the configuration; non-zero for a bad value. */
static int on_option(void *ctx, int id, const char *a, pt_error *err)
{
    train_args *args = ctx;
    pt_train_config *c = &args->cfg;
    long long v;
    double d;
    int bad = 0;
    switch (id) {
    case O_DATA:
        c->data = a;
        break;
    case O_ARCH:
        c->arch = a;
        break;
    case O_EPOCHS:
        bad = pt_cli_long(a, 1, 1000000, &v);
        c->epochs = (int)v;
        break;
    case O_BATCH:
        bad = pt_cli_long(a, 1, 1 << 20, &v);
        c->batch = (int)v;
        break;
    case O_LR:
        bad = pt_cli_double(a, 1e-12, 1e3, &c->lr);
        break;
    case O_OPT:
        bad = strcmp(a, "sgd") && strcmp(a, "adamw");
        c->opt = a;
        break;
    case O_MOMENTUM:
        bad = pt_cli_double(a, 0, 0.9999, &c->momentum);
        break;
    case O_NESTEROV:
        c->nesterov = 1;
        break;
    case O_WD:
        bad = pt_cli_double(a, 0, 10, &c->weight_decay);
        break;
    case O_SCHED:
        bad = strcmp(a, "constant") && strcmp(a, "cosine") && strcmp(a, "step");
        c->schedule = a;
        break;
    case O_WARMUP:
        bad = pt_cli_double(a, 0, 1e6, &c->warmup_epochs);
        break;
    case O_MINLR:
        bad = pt_cli_double(a, 0, 1e3, &c->min_lr);
        break;
    case O_STEPEP:
        bad = pt_cli_long(a, 1, 1000000, &v);
        c->step_epochs = (int)v;
        break;
    case O_GAMMA:
        bad = pt_cli_double(a, 0, 1, &c->gamma);
        break;
    case O_SEED:
        bad = pt_cli_long(a, 0, INT64_MAX, &v);
        c->seed = (uint64_t)v;
        break;
    case O_RUNDIR:
        c->run_dir = a;
        break;
    case O_RESUME:
        c->resume = a;
        break;
    case O_CKPT:
        bad = pt_cli_long(a, 0, INT64_MAX, &v);
        c->ckpt_every = v;
        break;
    case O_KEEP:
        bad = pt_cli_long(a, 1, 1000, &v);
        c->keep_ckpts = (int)v;
        break;
    case O_CW:
        c->class_weights = a;
        break;
    case O_THRESH:
        bad = strcmp(a, "youden") != 0 && pt_cli_double(a, 0, 1, &d) != 0;
        c->threshold = a;
        break;
    case O_NOAUG:
        c->augment = 0;
        break;
    case O_KEEPLAST:
        c->drop_last = 0;
        break;
    case O_THREADS:
        bad = pt_cli_long(a, 1, 1024, &v);
        c->threads = (int)v;
        break;
    case O_LOGS:
        bad = pt_cli_double(a, 0, 1e6, &c->log_seconds);
        break;
    case O_MAXSTEPS:
        bad = pt_cli_long(a, 1, INT64_MAX, &v);
        c->max_steps = v;
        break;
    case O_BUCKET:
        bad = pt_cli_double(a, 0.001, 4096, &d);
        c->bucket_floats = (size_t)(d * 1024 * 1024 / 4);
        break;
    case O_GRADSUM:
        bad = strcmp(a, "sharded") && strcmp(a, "allreduce");
        c->grad_sum = a;
        break;
    case O_QUIET:
        c->quiet = 1;
        break;
    case O_PROFILE:
        c->profile = 1;
        break;
    case O_OVERWRITE:
        c->overwrite = 1;
        break;
    case O_STALL:
        bad = pt_cli_stall_timeout(a, &args->stall_timeout);
        break;
    case O_CONVALGO: {
        pt_conv_algo algo;
        bad = pt_net_conv_algo_parse(a, &algo) != PT_OK;
        c->conv_algo = a;
        break;
    }
    }
    return bad;
}

/* Tests only (tests/README.md): simulate preemption after this global step, after its
 * checkpoint. An environment variable rather than an option: it is no user's business. */
static int test_stop_after_steps(pt_train_config *c, pt_error *err)
{
    const char *s = getenv("PTRAIN_TEST_STOP_AFTER_STEPS");
    long long v;
    if (!s || !*s)
        return 0;
    if (pt_cli_long(s, 1, INT64_MAX, &v))
        return pt_error_set(err, PT_ERR_USAGE, "PTRAIN_TEST_STOP_AFTER_STEPS=%s: not a step", s);
    c->stop_after_steps = v;
    return 0;
}

static int parse(int argc, char **argv, train_args *args, pt_error *err)
{
    int rc = pt_cli_parse(argc, argv, options, on_option, NULL, args, err);
    if (rc != 0)
        return rc;
    if (!args->cfg.data)
        return pt_error_set(err, PT_ERR_USAGE, "--data is required (see --help)");
    if (args->cfg.overwrite && args->cfg.resume)
        return pt_error_set(err, PT_ERR_USAGE,
                            "--overwrite and --resume exclude each other: --overwrite deletes "
                            "the checkpoints --resume would continue from");
    return test_stop_after_steps(&args->cfg, err);
}

int pt_cmd_train(int argc, char **argv, const pt_comm *comm, const char *command_line)
{
    train_args args = {.stall_timeout = PT_CLI_STALL_TIMEOUT_DEFAULT};
    pt_train_config_default(&args.cfg);
    args.cfg.command_line = command_line;
    pt_error err;
    pt_error_clear(&err);
    int code =
        pt_cli_after_parse(comm, parse(argc, argv, &args, &err), &err, "ptrain train", usage);
    if (code >= 0)
        return code;
    pt_train_config cfg = args.cfg;
    int status = pt_comm_set_stall_timeout(comm, args.stall_timeout, "ptrain train", &err);
    if (status != PT_OK) {
        pt_cli_report_error(comm, &err, "ptrain train");
        return pt_cli_exit_code(status);
    }
    char run_dir[1024];
    if (!cfg.run_dir) {
        default_run_dir(comm, cfg.arch, run_dir, sizeof run_dir);
        cfg.run_dir = run_dir;
    }
    status = pt_train_run(&cfg, comm, &err);
    if (status != PT_OK && status != PT_STOPPED)
        pt_cli_report_error(comm, &err, "ptrain train");
    return pt_cli_exit_code(status);
}
