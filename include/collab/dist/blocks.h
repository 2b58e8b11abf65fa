/* blocks.h - blocked training (train --blocks B): per-rating updates scheduled over a
 * B x B grid of user blocks and item blocks, as DSGD (Gemulla et al., KDD 2011) and
 * LIBMF's FPSGD (Chin et al., ACM TIST 2015) schedule stochastic gradient descent for
 * matrix factorisation. The design and its numbers: docs/BLOCKS.md.
 *
 * Blocks. Users are cut into B ranges balancing training ratings (layout_init_blocks; each
 * rank holds whole blocks, so needs -np <= B). Items are dealt to B blocks by popularity
 * (most rated first, in a snake order), so every block gets a near-equal share of the
 * ratings. Neither depends on the number of ranks.
 *
 * Epochs and strata. An epoch is B strata. In stratum s, user block i meets item block
 * (i + shift[s]) mod B, the shifts a permutation of 0..B-1 drawn per epoch from the seed.
 * The B cells of a stratum share no user and no item, so they can run in any order or at
 * once on different ranks and give the same bits: the trained parameters do not depend on
 * the number of ranks (for a given B). A cell's ratings run one at a time, by user and
 * then in file order: prediction, gradient of the squared error, and the update of the
 * user's row and the item's row from it (row-wise Adagrad or plain SGD, with weight decay
 * at every update of a row), the learning rate following the schedule through the cell.
 *
 * Communication. Item rows travel, user rows stay. The first stratum of an epoch stages
 * the rows of the item blocks each rank's user blocks meet (factors, bias and the two
 * Adagrad accumulators) from the items' owners, one MPI_Alltoallw. The blocks then stay
 * with the rank that used them, and before each later stratum every block goes straight
 * to the rank whose user block meets it next: one message per block that changes rank.
 * Before validation, a checkpoint or a model file, blocks_home returns them to their
 * owners' tables (shard.h), so those see the usual layout. An epoch moves each item row
 * about B (P-1)/P times between ranks, whatever the data size: no per-batch traffic. */
#ifndef COLLAB_BLOCKS_H
#define COLLAB_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include "collab/data/dataset.h"
#include "collab/base/ctx.h"
#include "collab/base/exact.h"
#include "collab/model/model.h"
#include "collab/model/optim.h"
#include "collab/model/schedule.h"

/* The most blocks --blocks takes (every rank keeps B * B / P cell offsets). */
enum { BLOCKS_MAX = 1024 };
/* A cell's learning rate moves every this many of its ratings: chunk c of a cell of n
 * ratings in stratum iter (counted from the fit's start) takes the schedule at position
 * (iter + c * BLOCKS_LR_CHUNK / n) / (epochs * B). Counted from the cell's start, so the
 * same at any number of ranks. */
enum { BLOCKS_LR_CHUNK = 4096 };

typedef struct Blocks {
    int nb;      /* B */
    int lo, cnt; /* this rank's user blocks [lo, lo + cnt) */
    int nranks, rank;
    size_t k, stride;   /* factors; floats per staged item row (k, bias, 2 accumulators, padded) */
    size_t item_lo;     /* first item this rank owns */
    size_t *item_start; /* (nb + 1) block j's items are items[item_start[j] .. item_start[j+1]) */
    int32_t *items;     /* (n_items) global item ids, by (block, id) */
    size_t *split;      /* (nb, nranks + 1) place in block j of rank r's first item */
    size_t *cell;       /* (cnt * nb + 1) start of cell (c, j): user block lo + c, item block j */
    int32_t *r_user;    /* (n_train) local user row of each rating, cell by cell */
    int32_t *r_item;    /* (n_train) the item's place in its block */
    float *r_y;         /* (n_train) the rating */
    size_t stage_cap;   /* items of the largest block */
    float *stage;       /* (cnt, stage_cap, stride) the stratum's item rows */
    float *stage2;      /* (cnt, stage_cap, stride) the next stratum's, as they arrive */
    int staged;         /* 1: the item rows are in the stage, in staged_shift's layout */
    uint32_t staged_shift;
    int *block_rank;      /* (nb) the rank holding each user block */
    MPI_Request *reqs;    /* (2 cnt) a pass's sends and receives */
    float *pack;          /* (own items, stride) own rows on their way out or back */
    const Layout *layout; /* the dataset's (layout_init_blocks) */
    /* the stratum's MPI_Alltoallw (stage_plan): per peer, counts, byte displacements, types */
    int *scount, *sdispl, *rcount, *rdispl; /* (nranks) */
    MPI_Datatype *stype, *rtype;            /* (nranks) rtype: runs into the stage */
    int *rlen;                              /* (cnt) scratch: rows of each run */
    MPI_Aint *roff;                         /* (cnt) scratch: byte offset of each run */
    MPI_Datatype row_type;                  /* stride floats */
    uint32_t *shift;                        /* (nb) the epoch's shifts */
    int epoch;                              /* the epoch shift holds, -1 none */
    double seconds;                         /* in the all-to-alls, since the caller last reset it */
    uint64_t bytes, messages;
} Blocks;

/* What a stratum updates: this rank's model rows and their row-wise accumulators (NULL
 * for plain SGD; bias entries NULL for MODEL_DOT), and the hyper-parameters. */
typedef struct BlockStep {
    Model *m;
    float *acc_user_f, *acc_user_b, *acc_item_f, *acc_item_b; /* (rows) Adagrad, or NULL */
    const Schedule *sched; /* lr at each point of the fit (sched->total = epochs * B) */
    int64_t iter;          /* strata done before this one since the fit began */
    double wd, eps;
    int adagrad; /* 1: row-wise Adagrad; 0: SGD */
} BlockStep;

/* Cuts the items into blocks (an all-reduce of the items' training counts) and sorts this
 * rank's training ratings into its cells; by_user holds the local rows grouped by user, in
 * file order within a user. ds->layout must come from layout_init_blocks. Collective. */
void blocks_init(Blocks *b, const Ctx *ctx, const Dataset *ds, const uint32_t *by_user, size_t k);
/* Frees b; safe on a zeroed Blocks. */
void blocks_free(Blocks *b);

/* Draws epoch's stratum order from seed (the same on every rank). Local. */
void blocks_shuffle(Blocks *b, uint64_t seed, int epoch);

/* Runs stratum s of the current epoch: brings the item blocks this rank's user blocks meet
 * (from home, or from the ranks that used them in the previous stratum), runs this rank's
 * cells and leaves the blocks staged. Adds each rating's squared error (before its update)
 * to *sq and the ratings run to *n; the caller sums them over ranks. Collective over ctx. */
void blocks_stratum(Blocks *b, const Ctx *ctx, const BlockStep *st, size_t s, ExactSum *sq,
                    uint64_t *n);

/* Sends the staged item rows home to their owners' tables (no-op when they are there).
 * Validation, checkpoints and model files need it (trainer_settle). Collective. */
void blocks_home(Blocks *b, const Ctx *ctx, const BlockStep *st);

#endif
