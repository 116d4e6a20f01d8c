/* Helpers shared by the command-line programs: number parsing for options, and printing one
 * error message for a whole MPI job. */
#ifndef PTRAIN_CLI_H
#define PTRAIN_CLI_H

#include <stdint.h>

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

#endif
