/* main.c - initialise MPI, dispatch the subcommand, finalise. */
#include "config.h"

#include <hdf5.h>
#include <mpi.h>

#include "collab/cli/cli.h"
#include "collab/base/log.h"

int main(int argc, char **argv)
{
    /* The stall watchdog's thread may call MPI while the main thread waits in a collective
     * (watchdog.h); with less thread support it still ends the job, naming no ranks. */
    int threads;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &threads);
    Ctx ctx;
    ctx_init(&ctx);
    log_init(ctx.rank, LOG_NORMAL);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* every HDF5 call is checked and reported */
    int rc = cli_main(&ctx, argc, argv);
    ctx_free(&ctx);
    MPI_Finalize();
    return rc;
}
