/* watchdog.h - the stall watchdog: a thread per rank that ends the job when no step has
 * completed for a timeout, so that a lost host, a frozen rank or a dead link never leaves
 * a job waiting forever in a collective (MPI's, or HDF5's collective I/O, which cannot be
 * wrapped). Anchors: PyTorch's NCCL watchdog, Horovod's stall check. docs/RELIABILITY.md.
 *
 * The main thread labels what it is doing (watchdog_at: a training batch, a stratum,
 * validation, a checkpoint write...) at each step, which also stamps progress; a step
 * that ends in a collective (every batch, validation chunk and checkpoint table does)
 * therefore proves that every rank got that far. The thread looks at the stamp a few
 * times per timeout and does nothing else while it moves. When it has not moved for the
 * timeout, the thread sends one small message to every other rank on a communicator of
 * its own and listens for theirs for a short window (the other ranks' watchdogs fire at
 * about the same time, since they wait in the same collective); a rank that is lost,
 * frozen or cut off does not answer. Then it prints one line on stderr naming the phase
 * and the ranks not heard from, and ends the process with _exit(EXIT_STALL): no MPI call,
 * which could hang too. Without MPI_THREAD_MULTIPLE the probe is skipped and the ranks
 * are "unknown".
 *
 * The progress stamp is two relaxed atomic stores per step: no lock, no clock read. */
#ifndef COLLAB_WATCHDOG_H
#define COLLAB_WATCHDOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/base/ctx.h"

/* Exit status of a stalled job (sysexits' EX_PROTOCOL: a remote party did not answer).
 * The last complete checkpoint is intact: resume with --resume auto on the hosts left. */
enum { EXIT_STALL = 76 };

/* What the main thread is doing, for the message. */
typedef enum WatchPhase {
    WATCH_SETUP,      /* before the first step: reading a checkpoint to resume, ... */
    WATCH_BATCH,      /* training batch `step` of `epoch` */
    WATCH_STRATUM,    /* blocked training: stratum `step` of `epoch` */
    WATCH_VALID,      /* validation chunk `step` after `epoch` */
    WATCH_CKPT_WRITE, /* writing the checkpoint of (epoch, batch `step`) */
    WATCH_CKPT_READ,  /* reading a checkpoint */
    WATCH_OUTPUT,     /* writing the final model (--output, --dump-params) */
    WATCH_PHASES
} WatchPhase;

typedef struct Watchdog {
    _Atomic uint64_t beats; /* steps begun: the progress stamp */
    _Atomic uint64_t where; /* packed phase, epoch and step of the current one */
    double timeout;         /* seconds without a step before the job is ended; 0: off */
    double window;          /* seconds the probe listens for the other ranks */
    int running;            /* the thread was started (watchdog_stop joins it) */
    int threads;            /* MPI_THREAD_MULTIPLE: the thread may call MPI */
    int rank, size;
    MPI_Comm comm;        /* the probe's own communicator (MPI_COMM_NULL: none) */
    unsigned char *heard; /* (size) the probe's answers, 1 = heard from */
    int64_t *msgs;        /* (size) their receive buffers */
    MPI_Request *reqs;    /* (2 size) receives, then sends */
    pthread_t thread;
    pthread_mutex_t lock; /* guards stop; the thread waits on wake */
    pthread_cond_t wake;
    int stop;
} Watchdog;

/* Prepares w for ctx's ranks (duplicates ctx->comm for the probe) and, when timeout > 0,
 * starts the thread. The caller then sets ctx->watch = w (a copy of its Ctx), so that the
 * code it calls labels its steps. Collective. */
void watchdog_start(Watchdog *w, const Ctx *ctx, double timeout);
/* Stops and joins the thread and frees what start made; safe on a zeroed Watchdog and
 * twice. Collective (it frees the probe's communicator). */
void watchdog_stop(Watchdog *w);

/* The main thread begins `phase` at (epoch, step): labels it and stamps progress. A NULL
 * w (no watchdog) is a no-op. Local. */
void watchdog_at(Watchdog *w, WatchPhase phase, int64_t epoch, int64_t step);
/* Stamps progress within the current phase (a checkpoint's next table). NULL: no-op.
 * Local. */
void watchdog_beat(Watchdog *w);

/* The probe: sends a message to every other rank of w->comm and listens for theirs for
 * `window` seconds, or until every rank is heard from; fills w->heard (this rank counts
 * as heard). Returns the number of other ranks heard from. Every rank that probes within
 * `window` of another hears it. The watchdog thread calls it; exposed for tests. Local
 * (no collective: ranks that do not probe are simply not heard). */
int watchdog_probe(Watchdog *w, double window);

/* The message of a stall into out: the rank, the timeout, the phase of w->where, the
 * ranks not heard from (w->heard; "unknown" when !w->threads) and the exit status. One
 * line, no newline. Local. */
void watchdog_message(char *out, size_t len, const Watchdog *w);

#endif
