/* ptrain: train, evaluate and apply pneumonia classifiers. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ptrain/cli.h"
#include "ptrain/comm.h"
#include "ptrain/isa.h"

static void usage(FILE *to)
{
    fprintf(to, "usage: ptrain COMMAND [options]   (ptrain COMMAND --help for its options)\n"
                "\n"
                "  train     train a CNN on a ptrain-prep cache (mpirun -np N ptrain train ...)\n"
                "  eval      evaluate a model.h5 on a cache split\n"
                "  predict   class probabilities of image files, as CSV\n"
                "  serve     serve a model over HTTP (SageMaker, Azure ML, KServe V2, a web page)\n"
                "\n"
                "ptrain " PT_VERSION "\n");
}

/* The command line as one string, for config.json. */
static void join_args(int argc, char **argv, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < argc && used + 1 < cap; i++) {
        int n = snprintf(out + used, cap - used, "%s%s", i ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* `ptrain serve` is one long-lived process with threads and its own signal handling: it starts
 * before MPI, which it never needs. */
static int run_serve(int argc, char **argv)
{
    pt_error err;
    if (pt_isa_init(&err) != PT_OK) {
        fprintf(stderr, "ptrain: error: %s\n", err.msg);
        return PT_EXIT_USAGE;
    }
    return pt_cmd_serve(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "serve"))
        return run_serve(argc, argv);
    pt_comm comm;
    pt_error err;
    pt_error_clear(&err);
    if (pt_comm_init(&argc, &argv, &comm, &err) != PT_OK) {
        fprintf(stderr, "ptrain: error: %s\n", err.msg);
        return PT_EXIT_RUNTIME;
    }
    /* the kernels' instruction set: a PTRAIN_ISA this CPU cannot run is refused before any work */
    if (pt_isa_init(&err) != PT_OK) {
        if (comm.rank == 0)
            fprintf(stderr, "ptrain: error: %s\n", err.msg);
        pt_comm_finalize(&comm);
        return PT_EXIT_USAGE;
    }
    char command_line[4096];
    join_args(argc, argv, command_line, sizeof command_line);
    int code;
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "train")) {
        code = pt_cmd_train(argc - 1, argv + 1, &comm, command_line);
    } else if (!strcmp(cmd, "eval")) {
        code = pt_cmd_eval(argc - 1, argv + 1, &comm);
    } else if (!strcmp(cmd, "predict")) {
        code = pt_cmd_predict(argc - 1, argv + 1, &comm);
    } else if (!strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        if (comm.rank == 0)
            usage(stdout);
        code = 0;
    } else {
        if (comm.rank == 0) {
            if (*cmd)
                fprintf(stderr, "ptrain: error: unknown command '%s'\n", cmd);
            usage(stderr);
        }
        code = PT_EXIT_USAGE;
    }
    pt_comm_finalize(&comm);
    return code;
}
