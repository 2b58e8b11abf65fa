/* signals.c - record SIGTERM/SIGUSR1/SIGINT for the training loop to act on. */
#include "config.h"

#include "collab/train/signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "collab/base/check.h"

static volatile sig_atomic_t caught = 0;

static void on_signal(int sig)
{
    if (sig == SIGINT && caught == SIGINT)
        _exit(130); /* second Ctrl-C: stop now */
    caught = sig;
}

void signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int signals_caught(void)
{
    return caught;
}

int signals_agree(MPI_Comm comm)
{
    int sig = caught;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT, MPI_MAX, comm));
    return sig;
}
