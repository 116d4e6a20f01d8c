/* Helpers shared by the command-line programs: number parsing for options, and printing one
 * error message for a whole MPI job. */
#ifndef PTRAIN_CLI_H
#define PTRAIN_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "ptrain/comm.h"
#include "ptrain/common.h"

/* Exit statuses of every ptrain program. Library code returns statuses (common.h); only
 * pt_cli_exit_code turns one into an exit status. */
#define PT_EXIT_RUNTIME   1
#define PT_EXIT_USAGE     2
#define PT_EXIT_PREEMPTED 3 /* stopped by SIGUSR1/SIGTERM after writing a checkpoint */

/* --stall-timeout's default, seconds: see README.md ("Data parallelism, reproducibility,
 * preemption") for why 10 minutes. */
#define PT_CLI_STALL_TIMEOUT_DEFAULT 600.0

/* --stall-timeout SECONDS: a number of seconds >= 0 (0: off); 0 on success, -1 otherwise. */
int pt_cli_stall_timeout(const char *value, double *seconds);

/* The exit status for a library status: PT_OK 0, PT_ERR_USAGE 2, PT_STOPPED (train.h) 3, any
 * other error 1. */
int pt_cli_exit_code(int status);

/* One long option of a program: --name, with a value or not; id is handed to the handler. */
typedef struct pt_cli_option {
    const char *name;
    int takes_value;
    int id;
} pt_cli_option;

/* Called for each option (and, as on_arg, for each positional argument, with id 0). Returns 0
 * for a good value; PT_ERR_USAGE with a message in err for its own complaint; any other non-zero
 * for the generic "--name: bad value 'v' (see --help)". */
typedef int (*pt_cli_handler)(void *ctx, int id, const char *value, pt_error *err);

/* Parses argv[1..] against options (ended by a {NULL} entry; --help is implied), calling
 * on_option for each option and on_arg for each positional argument in order, those after "--"
 * included (on_arg NULL: positional arguments are a usage error). Returns 0 to run, 1 for
 * --help, or PT_ERR_USAGE with the message in err. Not collective. */
int pt_cli_parse(int argc, char **argv, const pt_cli_option *options, pt_cli_handler on_option,
                 pt_cli_handler on_arg, void *ctx, pt_error *err);

/* Whole number in [lo, hi]; 0 on success, -1 otherwise. */
int pt_cli_long(const char *s, long long lo, long long hi, long long *out);

/* Finite number in [lo, hi]; 0 on success, -1 otherwise. */
int pt_cli_double(const char *s, double lo, double hi, double *out);

/* Prints "<prog>: error: <message>" once for the whole job: from the lowest rank whose err holds
 * a message (the others may not know the reason). Collective. */
void pt_cli_report_error(const pt_comm *comm, const pt_error *err, const char *prog);

/* After option parsing, where parse returned 1 for --help, 0 to run, anything else for a usage
 * error with its message in err: prints the usage or the error on rank 0 and returns the exit
 * status (0 or PT_EXIT_USAGE), or -1 when the command should run. */
int pt_cli_after_parse(const pt_comm *comm, int parsed, const pt_error *err, const char *prog,
                       void (*usage)(FILE *));

/* After a command only rank 0 worked on: every rank learns rank 0's status; on failure the
 * message is printed once. Returns the exit status (0 or PT_EXIT_RUNTIME). Collective. */
int pt_cli_rank0_result(const pt_comm *comm, int status, const pt_error *err, const char *prog);

/* The default of a --threads option: every CPU this process may run on, 1 to PT_NET_MAX_THREADS. */
int pt_cli_default_threads(void);

/* A --threads value, 1 to PT_NET_MAX_THREADS, to *threads; PT_ERR_USAGE saying so otherwise. */
int pt_cli_threads_option(const char *value, int *threads, pt_error *err);

#endif
