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

#include "collab/dist/blocks.h"
#include "collab/store/checkpoint.h"
#include "collab/data/dataset.h"
#include "collab/dist/exchange.h"
#include "collab/train/memory.h"
#include "collab/train/metrics.h"
#include "collab/model/model.h"
#include "collab/model/optim.h"
#include "collab/model/schedule.h"

/* Validation moves item rows in bounded chunks of this many ratings per rank. */
enum { VALID_CHUNK = 16384 };
/* MODEL_NN validates through its head in pieces of this many ratings (or bs). */
enum { NN_EVAL_ROWS = 1024 };

/* Flags the ranks agree on at every batch boundary (summed over ranks). */
enum {
    FLAG_STOP = 0,       /* a rank caught SIGTERM/SIGUSR1/SIGINT: checkpoint and stop */
    FLAG_CHECKPOINT = 1, /* rank 0's clock says a timed checkpoint is due */
    TRAIN_FLAGS = 2
};

typedef struct TrainConfig {
    ModelSpec model;
    OptimConfig optim;
    Schedule sched; /* sched.total is filled in by trainer_init */
    size_t bs;      /* training batch size (fastai bs, default 64) */
    int blocks;     /* --blocks B: blocked training (blocks.h), an epoch of B strata; 0: batches */
    int epochs;
    uint64_t seed;         /* keys init and shuffling (the split uses it too) */
    ProgressSpec progress; /* how rank 0 shows progress within an epoch (metrics.h) */
    uint64_t max_memory;   /* --max-memory: bytes per rank (0: the node's available memory) */
    int verbose;
} TrainConfig;

/* Where a fit stopped because the job-wide batch loss was not finite (NaN or inf). */
typedef struct TrainDiverged {
    int yes;   /* 0: the fit did not diverge */
    int epoch; /* epoch and training batch whose loss was not finite */
    size_t batch;
    double lr;   /* the learning rate of that batch */
    double loss; /* the loss (NaN or inf) */
} TrainDiverged;

typedef struct Trainer {
    const Ctx *ctx;
    const Dataset *ds; /* this rank's shard */
    TrainConfig cfg;
    Model model; /* this rank's user rows and item rows */
    Optim opt;
    Exchange x;
    size_t user_lo;      /* global id of the first local user row */
    size_t n_batches;    /* global training batches per epoch */
    size_t valid_rounds; /* validation chunks, the most any rank needs */
    /* current epoch's local batch order */
    int order_epoch;       /* epoch that order holds, -1 none */
    uint32_t *order;       /* (n_train) local rows, sorted by position (dense kinds) */
    int64_t *order_pos;    /* (n_train) their positions (dense kinds) */
    int32_t *bo_user;      /* (n_train) fused step: local user row, in batch order */
    int32_t *bo_item;      /* (n_train) fused step: global item id, in batch order */
    float *bo_y;           /* (n_train) fused step: rating, in batch order */
    int32_t *bo_slot;      /* (n_train) fused step: slot of each rating in its batch */
    uint8_t *bo_first;     /* (n_train) fused step: first rating of its slot */
    size_t *batch_start;   /* (n_batches + 1) local rows of batch b */
    uint64_t *shuffle_pos; /* (n_train) scratch: each local row's position this epoch */
    /* per-batch workspace, sized for max(bs, validation chunk) ratings */
    size_t cap;
    int32_t *b_user, *b_item;      /* (cap) local user row, global item id */
    int64_t *b_pos;                /* (cap) global batch position */
    float *b_y, *pred, *z, *dpred; /* (cap) */
    float *irows, *g_irows;        /* (cap, k) */
    float *ibias, *g_ibias;        /* (cap) */
    /* the fused step of the sparse optimizers (trainer_step) */
    int fused;         /* 1: sparse optimizer, fused step */
    uint32_t *by_user; /* (n_train) local rows sorted by (user, file order) */
    int32_t *b_slot;   /* (cap) slot of each rating (exchange.h SlotRows) */
    uint8_t *b_first;  /* (cap) first rating of its slot */
    float *g_row;      /* (k + 1) one row's gradient */
    /* blocked training (cfg.blocks > 0): a "batch" of the fit loop is a stratum */
    int blocked;
    Blocks blk;
    /* MODEL_NN: the replicated dense head runs on the whole batch (n_in = ku + k) */
    NNWork nnw;              /* its workspace, for nnw.cap >= bs rows */
    float *nx;               /* (nnw.cap, n_in) validation inputs */
    float *gx;               /* (bs, n_in) the whole batch's inputs, in position order */
    int32_t *gitem;          /* (bs) the whole batch's items */
    float *gdx;              /* (bs, n_in) gradient of the loss wrt gx's inputs */
    float *gz;               /* (nnw.cap) the head's outputs */
    float *gy, *gpred, *gdz; /* (bs) */
    SmoothLoss smooth;
    int64_t iter;    /* training batches done since the fit began */
    int start_epoch; /* where fit begins (a resumed run: the checkpoint's) */
    size_t start_batch;
    int64_t flags[TRAIN_FLAGS]; /* job-wide flags agreed at the last batch boundary */
    int64_t want[TRAIN_FLAGS];  /* this rank's flags for the next boundary */
    double update_seconds;      /* time in optim_step this epoch */
    TrainDiverged diverged;     /* set when fit stopped on a non-finite loss */
} Trainer;

/* What trainer_init (and, with lr_find, trainer_lr_find's copies) will allocate on this
 * rank, from the dataset's layout and cfg, before anything is allocated (train_guard.c).
 * Local. */
void trainer_memory_need(MemNeed *need, const Dataset *ds, const TrainConfig *cfg, int rank,
                         int lr_find);

/* Sizes the model to the dataset's vocabularies and initialises it from cfg->seed. */
void trainer_init(Trainer *t, const Ctx *ctx, const Dataset *ds, const TrainConfig *cfg);
/* Frees everything trainer_init allocated (t no longer refers to ds after). Local. */
void trainer_free(Trainer *t);

/* Makes t->order (t->bo_* for the sparse optimizers) hold epoch e's local batch order.
 * Local for the dense optimizers; collective for the sparse ones, which exchange the
 * epoch's item requests here (exchange_plan_epoch). */
void trainer_shuffle(Trainer *t, int epoch);

/* One optimizer step on batch b of the current order with the given lr and momentum.
 * The sparse optimizers update the rows the batch touched: this rank's users in it and
 * the items whose gradients it received. Returns the batch's mean squared error before
 * the update (as fastai's loss). */
double trainer_step(Trainer *t, size_t b, double lr, double mom);

/* Blocked training: brings the item rows staged with the ranks that use them home to
 * their owners' tables (blocks_home), as validation, checkpoints and model files need;
 * no-op otherwise, and when they are home. trainer_validate and the end of trainer_fit
 * call it; so must whoever reads the item tables between strata. Collective. */
void trainer_settle(Trainer *t);

/* Brings every row up to date with the sparse optimizers' pending decay (optim_sync);
 * no-op for the dense ones. trainer_validate and the end of trainer_fit call it, so the
 * model seen between epochs and after the fit is current. Local. */
void trainer_sync(Trainer *t);

/* Exact MSE over every validation row (sum of squares / n_valid), after trainer_sync; NaN with
 * none, or when a rank was signalled (t->flags[FLAG_STOP] is then set). If mae is not NULL, also
 * the mean absolute error. */
double trainer_validate(Trainer *t, double *mae);

/* What fit calls back: each finished epoch's row, and every boundary (after each
 * training batch, after each validation round, and at each epoch's end) with where
 * training stands: `epoch`, and `batch` = the next training batch to run (n_batches
 * once the epoch's training is done). on_boundary returns nonzero to stop the fit there
 * (after checkpointing, say). Either may be NULL. */
typedef struct FitHooks {
    void (*on_epoch)(const EpochRow *row, void *arg);
    int (*on_boundary)(Trainer *t, int epoch, size_t batch, int epoch_end, void *arg);
    void *arg;
} FitHooks;

/* fit: from (start_epoch, start_batch) to cfg.epochs, with the recorder's smoothed loss.
 * Returns 1 when a hook stopped it or when a batch's loss (agreed over the job) was not
 * finite -- t->diverged then says where, and no hook is called for that batch, so no
 * checkpoint of the broken parameters is written -- and 0 when every epoch ran. */
int trainer_fit(Trainer *t, const FitHooks *hooks);

/* 1 when every parameter of every rank is finite, else 0 (the same on every rank;
 * train_guard.c). */
int trainer_params_finite(const Trainer *t);

/* Progress as a checkpoint stores it, at (epoch, batch). Local. */
void trainer_progress(const Trainer *t, int epoch, size_t batch, CkptProgress *p);
/* Puts a checkpoint's progress back: position, step counts, smoothed loss. Local. */
void trainer_resume(Trainer *t, const CkptProgress *p);
/* After a checkpoint read (rank 0 read the replicated tables of MODEL_NN): gives every
 * rank rank 0's dense head, its moments and the running statistics. No-op for the dot
 * models. Collective. */
void trainer_share_replicated(Trainer *t);

/* lr_find: a fresh optimizer (constant mom 0.9), lr from start to end exponentially
 * over num_it batches, recording the smoothed loss; stops when it exceeds 4x the best
 * (stop_div), or when a rank is signalled (t->flags[FLAG_STOP] is then set). Model and
 * optimizer are restored afterwards. lrs/losses must hold num_it values; returns the
 * number recorded. */
size_t trainer_lr_find(Trainer *t, double start, double end, int64_t num_it, int stop_div,
                       double *lrs, double *losses);

#endif
