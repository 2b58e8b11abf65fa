/* exchange.h - every MPI collective of the training step, behind one seam.
 *
 * The step reads: local batch -> exchange_gather_items (the item rows the batch needs)
 * -> forward -> backward -> exchange_scatter_item_grads (item gradients to the rows'
 * owners, summed in batch-position order) -> each owner updates its rows.
 *
 * In this version every rank holds every row and replicates the work (the ranks agree
 * on one copy), so gather and scatter are local copies and the reductions are local;
 * the sharded version replaces the bodies, not the calls. Counters record what crossed
 * the seam so --verbose can report it. */
#ifndef COLLAB_EXCHANGE_H
#define COLLAB_EXCHANGE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/model.h"

/* Communicator and this process's place in it, passed explicitly everywhere. */
typedef struct Ctx {
    MPI_Comm comm;  /* a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN */
    int rank, size;
} Ctx;

/* Duplicates MPI_COMM_WORLD into ctx with errors returned, not fatal. Collective. */
void ctx_init(Ctx *ctx);
void ctx_free(Ctx *ctx);

typedef struct Exchange {
    const Ctx *ctx;
    uint64_t bytes;       /* payload bytes moved through the seam (this rank) */
    uint64_t messages;    /* collective calls made */
    double seconds;       /* wall time inside the seam */
} Exchange;

void exchange_init(Exchange *x, const Ctx *ctx);
/* Zeroes the counters (e.g. at each epoch). */
void exchange_reset_counters(Exchange *x);

/* Fills irows (n, k) and ibias (n; unused for MODEL_DOT) with the factor row and bias
 * of item[j] (global item ids) for each of the n ratings. */
void exchange_gather_items(Exchange *x, float *irows, float *ibias, const Model *m,
                           const int32_t *item, size_t n);

/* Adds the per-rating item gradients g_irows (n, k) and g_ibias (n) into the owners'
 * gradient rows m->g_item_f, m->g_item_b, in rating (batch-position) order. */
void exchange_scatter_item_grads(Exchange *x, Model *m, const float *g_irows,
                                 const float *g_ibias, const int32_t *item, size_t n);

/* The job-wide sum of per-rank partial sums, independent of the rank count. */
double exchange_sum(Exchange *x, double local);

#endif
