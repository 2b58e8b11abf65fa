/* exchange.h - every MPI collective of the training step, behind one seam.
 *
 * The step reads: local batch -> exchange_gather_items (the item rows the batch needs,
 * from their owners) -> forward -> backward -> exchange_scatter_item_grads (each
 * rating's item gradient to the item's owner, which sums them in global batch-position
 * order) -> each owner updates its rows -> exchange_allreduce_exact (the batch loss).
 * The sparse optimizers' fused step instead plans an epoch's item requests at once
 * (exchange_plan_epoch), then per batch: exchange_gather_planned (each distinct item's
 * row once) -> fused forward/backward/user update -> exchange_reduce_slot_grads (each
 * distinct item's int64 gradient once) -> owners update.
 *
 * Determinism: an owner adds the gradient contributions to a row in increasing global
 * position (dense step) or as exact integers (fused step), and job-wide sums are taken
 * in fixed point (ExactSum), so every result is the same bits at any number of ranks.
 * Counters record what crossed the seam. */
#ifndef COLLAB_EXCHANGE_H
#define COLLAB_EXCHANGE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/base/buf.h"
#include "collab/base/ctx.h"
#include "collab/base/exact.h"
#include "collab/model/model.h"
#include "collab/data/shard.h"

/* An epoch's item requests, exchanged once at shuffle time (exchange_plan_epoch): per
 * batch, this rank's distinct items in owner blocks and the ids other ranks will ask of
 * it, so a planned batch needs no request round. */
typedef struct ExchangePlan {
    size_t nb; /* batches planned */
    Buf uoff;  /* size_t (nb + 1): batch b's slots are uniq[uoff[b] .. uoff[b+1]) */
    Buf uniq;  /* int32: distinct items of each batch, in owner blocks */
    Buf ask;   /* int (nb, P): items of batch b owned by each rank (own count too) */
    Buf blk;   /* int (nb, P): first slot of each owner's block */
    Buf serve; /* int (nb, P): ids each rank asks of this one in batch b */
    Buf soff;  /* size_t (nb + 1): batch b's asked ids are srv[soff[b] .. soff[b+1]) */
    Buf srv;   /* int32: ids asked of this rank, batch by batch, rank order within */
} ExchangePlan;

/* The seam's state: per-rank counts, dedup tables, staging buffers and counters. */
typedef struct Exchange {
    const Ctx *ctx;
    const Layout *layout;
    size_t k;                       /* factors per row; rows move with their bias: k + 1 floats */
    int *send_n, *recv_n;           /* (nranks) records to / from each rank */
    int *scnt, *soff, *rcnt, *roff; /* (nranks) element counts and offsets of a call */
    uint32_t *stamp;                /* (n_items) batch stamp per global item, for dedup */
    int32_t *slot;                  /* (n_items) index of the item in the batch's unique list */
    int32_t *owner;                 /* (n_items) rank owning each item (layout_item_owner) */
    uint32_t cur;                   /* current stamp */
    Buf uniq;                       /* int32 (u) distinct items of the batch, sorted = by owner */
    Buf srv;                        /* int32 (s) items other ranks asked of this rank */
    Buf uniq_rows, srv_rows;        /* float (u, k+1), (s, k+1) */
    Buf rec_out, rec_in;            /* int64 (n, 2) (position, item) per rating gradient */
    Buf g_out, g_in;                /* float (n, k+1) per rating gradient */
    Buf order;                      /* (position, index) (n) received gradients, sorted */
    Buf gat_send, gat_rows;         /* float (n | bs, ku + 4): MODEL_NN's batch records */
    int *gcnt, *goff;               /* (nranks) allgather counts and offsets */
    /* the sparse step's slots (exchange_gather_slots / exchange_reduce_slot_grads) */
    int *blk;           /* (nranks) first slot of each owner's block */
    int *req_n;         /* (nranks) slots asked of each owner (0 for this rank) */
    Buf slot_f, slot_b; /* const float * (u), float (u): each slot's row */
    Buf acc;            /* int64 (u + s, k+1) fixed-point gradient per slot */
    Buf touched;        /* int64 (t, 2) (local item row, acc row) */
    uint32_t *ostamp;   /* (local items) stamp per owned item, for the reduce */
    int32_t *oslot;     /* (local items) its entry in touched */
    uint32_t ocur;
    size_t n_slots, n_served; /* of the last gather */
    const int32_t *cur_uniq;  /* the last gather's slots' items */
    const int32_t *cur_srv;   /* the last gather's ids served by this rank */
    int own_n;                /* the last gather's slots owned by this rank */
    ExchangePlan plan;
    size_t last_got;   /* gradients received by the last scatter (in rec_in) */
    uint64_t bytes;    /* payload bytes this rank sent through the seam */
    uint64_t messages; /* collective calls made */
    double seconds;    /* wall time inside the seam */
} Exchange;

/* Sizes the seam for k factors over the layout's items. Collective (no communication). */
void exchange_init(Exchange *x, const Ctx *ctx, const Layout *layout, size_t k);
void exchange_free(Exchange *x);
/* Zeroes the counters (e.g. at each epoch). */
void exchange_reset_counters(Exchange *x);

/* Collective: fills irows (n, k) and ibias (n; NULL for MODEL_DOT) with the factor row
 * and bias of item[j] (global item ids) for each of this rank's n ratings, fetching each
 * distinct item once from its owner. m holds this rank's owned item rows. */
void exchange_gather_items(Exchange *x, float *irows, float *ibias, const Model *m,
                           const int32_t *item, size_t n);

/* Collective: sends rating j's item gradient (g_irows row j, g_ibias[j]) with its global
 * batch position pos[j] to the item's owner, which adds all contributions to its rows of
 * m->g_item_f / m->g_item_b in increasing position. */
void exchange_scatter_item_grads(Exchange *x, Model *m, const float *g_irows, const float *g_ibias,
                                 const int32_t *item, const int64_t *pos, size_t n);

/* Zeroes the item gradient rows the last exchange_scatter_item_grads added to. Local. */
void exchange_zero_item_grads(Exchange *x, Model *m);

/* ---- MODEL_NN: the whole batch on every rank (its dense head is replicated). ---- */

/* This rank's ratings of a batch: local user rows, global item ids, targets, and global
 * positions in [pos0, pos0 + bs). */
typedef struct NNLocal {
    size_t n;
    const int32_t *urow, *item;
    const float *y;
    const int64_t *pos;
    int64_t pos0;
} NNLocal;

/* Collective: the whole batch of bs ratings, in position order, on every rank: X (bs,
 * ku + k) the concatenated user and item rows, y (bs) the targets, item (bs) the item ids.
 * Every rank sends its ratings' user rows (one Allgatherv after an Allgather of counts),
 * then the owners of the batch's distinct items send those rows once (one Allgatherv).
 * Every position must be held by exactly one rank. */
void exchange_nn_batch(Exchange *x, float *X, float *y, int32_t *item, const Model *m,
                       const NNLocal *in, size_t bs);

/* Local, after exchange_nn_batch: adds the items' part of dX (bs, ku + k) (the gradient
 * wrt X, which every rank holds whole) to the rows this rank owns, rows in position
 * order: the sums exchange_scatter_item_grads would make, without messages. The rows are
 * kept for exchange_zero_item_grads. */
void exchange_nn_item_grads(Exchange *x, Model *m, const float *dX, const int32_t *item, size_t bs);

/* ---- The sparse step's exchange: each distinct item of a batch once, both ways. ---- */

/* The rows of a batch's distinct items (slots), for the fused sparse step. */
typedef struct SlotRows {
    size_t n;              /* slots: the batch's distinct items on this rank */
    const float *const *f; /* (n) factor row (k) of each slot: the owner's table row for
                              this rank's items, a received copy for the others */
    const float *b;        /* (n) bias of each slot (0 for MODEL_DOT) */
    int64_t *acc;          /* (n, k+1) where the step accumulates each slot's gradient
                              (factors, bias) in fixed point; the rows are not zeroed */
} SlotRows;

/* Collective: assigns each of this rank's n ratings a slot (slot[j]), marks the first
 * rating of each slot in batch order (first[j] = 1), and fetches each distinct item's row
 * once from its owner (a rank's own items are read in place). With want_grads, sr->acc
 * has room for the step's gradients (else it is NULL: forward only). sr is valid until
 * the next call. */
void exchange_gather_slots(Exchange *x, SlotRows *sr, int32_t *slot, uint8_t *first, const Model *m,
                           const int32_t *item, size_t n, int want_grads);

/* Collective: plans an epoch of fused steps. For each batch b (ratings
 * start[b] .. start[b+1] of item), assigns slots and first flags as exchange_gather_slots
 * would (into slot and first at the same offsets), and exchanges every batch's item
 * requests now, in one Alltoall and one Alltoallv, instead of two collectives per batch:
 * the ids a batch needs do not depend on the parameters, only the rows do. */
void exchange_plan_epoch(Exchange *x, int32_t *slot, uint8_t *first, const int32_t *item,
                         const size_t *start, size_t nb);

/* Collective: exchange_gather_slots for batch b of the plan (gradients wanted): only the
 * rows move (one Alltoallv). */
void exchange_gather_planned(Exchange *x, SlotRows *sr, const Model *m, size_t b);

/* Collective: sends each slot's accumulated gradient to the item's owner, where the
 * contributions of every rank are added as integers (so the sum is the same bits whatever
 * the ranks and the order). Sets *rows to (t, 2) pairs (local item row, row of sr->acc
 * holding its total) for the t owned items any rank touched, and returns t. */
size_t exchange_reduce_slot_grads(Exchange *x, SlotRows *sr, const int64_t **rows);

/* Collective: sums n ExactSums and nflags int64 flags element-wise over all ranks, in
 * place, in one call (flags carry job-wide decisions such as "a rank was signalled"). */
enum { EXCHANGE_MAX_SUMS = 4, EXCHANGE_MAX_FLAGS = 4 };
void exchange_allreduce_exact(Exchange *x, ExactSum *s, int n, int64_t *flags, int nflags);

#endif
