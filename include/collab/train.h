/* train.h - the training step, the fit loop, validation and the lr_find sweep.
 *
 * A Trainer owns the model, the optimizer, the exchange and every per-batch buffer, so
 * the step itself allocates nothing. Batch order: in epoch e, training row r (file order
 * among training rows) sits at position perm_e(r), a Feistel permutation keyed by
 * (seed, e); batch b holds positions [b*bs, (b+1)*bs); the last partial batch is dropped,
 * as fastai's shuffled DataLoader does. All functions are collective over ctx. */
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
    const Dataset *ds;
    TrainConfig cfg;
    Model model;
    Optim opt;
    Exchange x;
    size_t n_batches;     /* training batches per epoch */
    uint32_t *order;      /* (n_train) position -> training row, current epoch */
    int order_epoch;      /* epoch that order holds, -1 none */
    /* per-batch workspace, sized for max(bs, validation chunk) ratings */
    size_t cap;
    int32_t *b_user, *b_item;        /* (cap) */
    float *b_y, *pred, *z, *dpred;   /* (cap) */
    float *irows, *g_irows;          /* (cap, k) */
    float *ibias, *g_ibias;          /* (cap) */
    SmoothLoss smooth;
    int64_t iter;                    /* training batches done since the fit began */
} Trainer;

/* Sizes the model to the dataset's vocabularies and initialises it from cfg->seed. */
void trainer_init(Trainer *t, const Ctx *ctx, const Dataset *ds, const TrainConfig *cfg);
void trainer_free(Trainer *t);

/* Fills order (n) with epoch e's batch order: order[perm_e(r)] = r. Local, pure. */
void train_order(uint32_t *order, size_t n, uint64_t seed, int epoch);

/* Makes t->order hold epoch e's batch order. */
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
 * raw little-endian float32 to path, from rank 0. Collective. Returns 0 or -1 (errno). */
int trainer_dump_params(const Trainer *t, const char *path);

#endif
