/* signals.h - SIGTERM, SIGUSR1 and SIGINT as a request to checkpoint and stop.
 *
 * The handler only records the signal (the one mutable global besides the logger's, and
 * a sig_atomic_t as the C standard requires); the training loop reads it at each batch
 * boundary and the ranks agree on it through the per-batch reduction, so all ranks
 * stop at the same batch. A second SIGINT ends the process at once (an impatient user
 * at a terminal). Exit status after a checkpointed stop: EXIT_RESUME. */
#ifndef COLLAB_SIGNALS_H
#define COLLAB_SIGNALS_H

#include <mpi.h>

/* "Checkpointed: resume me" (sysexits' EX_TEMPFAIL: a temporary failure, try again). */
enum { EXIT_RESUME = 75 };

/* Installs the handlers for SIGTERM, SIGUSR1 and SIGINT. Local. */
void signals_install(void);
/* The last signal caught, or 0. Local. */
int signals_caught(void);
/* The highest signal number any rank caught, or 0. Collective. */
int signals_agree(MPI_Comm comm);

#endif
