/* train.h - the training step, the fit loop, validation and the lr_find sweep, on a
 * sharded dataset (distribute.h).
 *
 * A Trainer owns this rank's model rows (its users' and its items'), their optimizer
 * state, the exchange and the per-batch buffers. Batch order: in epoch e, training row g
 * (its index among all training rows, file order) sits at position perm_e(g), a Feistel
 * permutation keyed by (seed, e); global batch b holds positions [b*bs, (b+1)*bs); the
 * last partial batch is dropped, as fastai's shuffled DataLoader does. Each rank works
 * on its own users' ratings of batch b, so batch b is the same set of ratings at any
 * number of ranks. All functions are collective over ctx unless marked local. */
#ifndef COLLAB_TRAIN_H
#define COLLAB_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "collab/data.h"
#include "collab/exchange.h"
#include "collab/metrics.h"
#include "collab/model.h"
#include "collab/optim.h"
#include "collab/schedule.h"

typedef struct TrainConfig {
    ModelSpec model;
    OptimConfig optim;
    Schedule sched;       /* sched.total is filled in by trainer_init */
    size_t bs;            /* training batch size (fastai bs, default 64) */
    int epochs;
    uint64_t seed;        /* keys init and shuffling (the split uses it too) */
    int progress;         /* draw a progress bar (rank 0, terminal) */
    int verbose;
} TrainConfig;

typedef struct Trainer {
    const Ctx *ctx;
    const Dataset *ds;               /* this rank's shard */
    TrainConfig cfg;
    Model model;                     /* this rank's user rows and item rows */
    Optim opt;
    Exchange x;
    size_t user_lo;                  /* global id of the first local user row */
    size_t n_batches;                /* global training batches per epoch */
    size_t valid_rounds;             /* validation chunks, the most any rank needs */
    /* current epoch's local batch order */
    int order_epoch;                 /* epoch that order holds, -1 none */
    uint32_t *order;                 /* (n_train) local rows, sorted by position */
    int64_t *order_pos;              /* (n_train) their positions */
    size_t *batch_start;             /* (n_batches + 1) local rows of batch b */
    /* per-batch workspace, sized for max(bs, validation chunk) ratings */
    size_t cap;
    int32_t *b_user, *b_item;        /* (cap) local user row, global item id */
    int64_t *b_pos;                  /* (cap) global batch position */
    float *b_y, *pred, *z, *dpred;   /* (cap) */
    float *irows, *g_irows;          /* (cap, k) */
    float *ibias, *g_ibias;          /* (cap) */
    SmoothLoss smooth;
    int64_t iter;                    /* training batches done since the fit began */
    double update_seconds;           /* time in optim_step this epoch */
} Trainer;

/* Sizes the model to the dataset's vocabularies and initialises it from cfg->seed. */
void trainer_init(Trainer *t, const Ctx *ctx, const Dataset *ds, const TrainConfig *cfg);
void trainer_free(Trainer *t);

/* Makes t->order hold epoch e's local batch order. Local. */
void trainer_shuffle(Trainer *t, int epoch);

/* One optimizer step on batch b of the current order with the given lr and momentum.
 * Returns the batch's mean squared error before the update (as fastai's loss). */
double trainer_step(Trainer *t, size_t b, double lr, double mom);

/* Exact MSE over every validation row (sum of squares / n_valid); NaN with none.
 * If mae is not NULL, also the mean absolute error. */
double trainer_validate(Trainer *t, double *mae);

/* fit: epochs of cfg.sched with the recorder's smoothed loss; calls on_epoch (may be
 * NULL) with each row. Returns the last row's valid loss. */
typedef void (*EpochCallback)(const EpochRow *row, void *arg);
double trainer_fit(Trainer *t, EpochCallback on_epoch, void *arg);

/* lr_find: a fresh optimizer (constant mom 0.9), lr from start to end exponentially
 * over num_it batches, recording the smoothed loss; stops when it exceeds 4x the best
 * (stop_div). Model and optimizer are restored afterwards. lrs/losses must hold num_it
 * values; returns the number recorded. */
size_t trainer_lr_find(Trainer *t, double start, double end, int64_t num_it, int stop_div,
                       double *lrs, double *losses);

/* Writes every parameter table (user_f, user_b, item_f, item_b in vocabulary order) as
 * raw float32 to path, each rank its own rows (MPI-IO). Collective. Returns 0, or -1 on
 * every rank with msg (size msg_len) saying why. */
int trainer_dump_params(const Trainer *t, const char *path, char *msg, size_t msg_len);

#endif
