/* Helpers shared by the command-line programs: number parsing for options, and printing one
 * error message for a whole MPI job. */
#ifndef PTRAIN_CLI_H
#define PTRAIN_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "ptrain/comm.h"
#include "ptrain/common.h"

#define PT_EXIT_RUNTIME   1
#define PT_EXIT_USAGE     2
#define PT_EXIT_PREEMPTED 3 /* stopped by SIGUSR1/SIGTERM after writing a checkpoint */

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

#endif
