/* The subcommands of the `ptrain` program. Each returns the process exit status. */
#ifndef PTRAIN_COMMANDS_H
#define PTRAIN_COMMANDS_H

#include "ptrain/comm.h"

int pt_cmd_train(int argc, char **argv, const pt_comm *comm, const char *command_line);
int pt_cmd_eval(int argc, char **argv, const pt_comm *comm);
int pt_cmd_predict(int argc, char **argv, const pt_comm *comm);
/* One process, no MPI: called before MPI is initialised. */
int pt_cmd_serve(int argc, char **argv);

#endif
