/* The raw MPI communicator behind a pt_comm, for the modules that must hand it to another
 * MPI-aware library (parallel HDF5). Keep its use to those. */
#ifndef PTRAIN_COMM_MPI_H
#define PTRAIN_COMM_MPI_H

#include <mpi.h>

#include "ptrain/comm.h"

MPI_Comm pt_comm_mpi(const pt_comm *comm);

#endif
