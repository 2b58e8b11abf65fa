/* main.c - answer --help and --version, else initialise MPI, dispatch the subcommand,
 * finalise. */
#include "config.h"

#include <hdf5.h>
#include <mpi.h>

#include "collab/base/launch.h"
#include "collab/base/log.h"
#include "collab/cli/cli.h"

int main(int argc, char **argv)
{
    /* --help and --version answer before MPI_Init: no MPI runtime is started for them. */
    int rc = cli_main_early(argc, argv, launch_rank() <= 0);
    if (rc >= 0)
        return rc;
    launch_singleton_setup(); /* a singleton skips probing the network (SCALING.md) */
    /* The stall watchdog's thread may call MPI while the main thread waits in a collective
     * (watchdog.h); with less thread support it still ends the job, naming no ranks. */
    int threads;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &threads);
    Ctx ctx;
    ctx_init(&ctx);
    log_init(ctx.rank, LOG_NORMAL);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* every HDF5 call is checked and reported */
    rc = cli_main(&ctx, argc, argv);
    ctx_free(&ctx);
    MPI_Finalize();
    return rc;
}
