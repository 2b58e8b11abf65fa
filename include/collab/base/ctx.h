/* ctx.h - the communicator context: the communicator and this process's place in it,
 * passed explicitly to every collective function (there is no global communicator). */
#ifndef COLLAB_CTX_H
#define COLLAB_CTX_H

#include <mpi.h>

struct Watchdog;

/* Communicator and this process's place in it, passed explicitly everywhere. */
typedef struct Ctx {
    MPI_Comm comm; /* a duplicate of MPI_COMM_WORLD (or a part of one: ctx_split) with
                      MPI_ERRORS_RETURN */
    int rank, size;
    struct Watchdog *watch; /* the stall watchdog the steps report to (watchdog.h), or NULL */
} Ctx;

/* Duplicates MPI_COMM_WORLD into ctx with errors returned, not fatal; no watchdog.
 * Collective. */
void ctx_init(Ctx *ctx);
/* Splits parent into groups (MPI_Comm_split): the ranks that pass the same color form
 * one context, ordered by key, with errors returned, not fatal. color must be >= 0.
 * Collective over parent; ctx_free frees it. */
void ctx_split(Ctx *out, const Ctx *parent, int color, int key);
/* Frees the duplicate; safe on a context whose comm is MPI_COMM_NULL. Collective. */
void ctx_free(Ctx *ctx);

#endif
