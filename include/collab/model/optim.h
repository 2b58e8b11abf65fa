/* optim.h - fastai's optimizers with decoupled weight decay, applied by the owning rank
 * to every row it holds (dense, as an nn.Embedding without sparse gradients gets it).
 *
 * Adam (fastai.optimizer.Adam):
 *   p  *= 1 - lr*wd
 *   m   = mom*m + (1-mom)*g            v = sqr_mom*v + (1-sqr_mom)*g^2
 *   p  += (-lr/(1-mom^t) * m) / (sqrt(v * (1/(1-sqr_mom^t))) + eps)
 *                          t = step count, mom = the current scheduled momentum
 *   (PyTorch divides v by the debias term; multiplying by its reciprocal saves a
 *   division per element and differs by at most an ulp inside the sqrt.)
 * SGD (fastai.optimizer.SGD): p *= 1 - lr*wd; m = mom*m + g (no dampening); p -= lr*m
 * (plain p -= lr*g when mom = 0).
 *
 *
 * Sparse kinds, for tables too large for a dense step (rules in docs/OPTIMIZERS.md): the
 * flat buffer is cut into row groups (users, items; optim_set_groups), and each step
 * updates only the rows a batch touched (optim_step_rows).
 *   sparse Adam: Adam's update on a touched row's elements, debiased with the global step
 *     count; an untouched row's moments are left as they are (lazy).
 *   row-wise Adagrad: one accumulator per table row, acc += mean over the row of g^2
 *     (summed in 16 fixed lanes, then pairwise, so it vectorises);
 *     p = p*(1 - lr*wd) + g * (-lr / (sqrt(acc) + eps)), the scale formed once per row.
 *     No momentum.
 *   sparse SGD: p = p*(1 - lr*wd) + g * (-lr) on a touched row; no momentum (a momentum
 *     buffer would move every row at every step).
 *   Lazy decay: P = prod_i (1 - lr_i*wd) over the steps taken, in double. A row updated at
 *     step s and next touched at step t first gets p *= float(P[t-1] / P[s]), one
 *     multiplication for the steps it skipped; optim_sync brings every row up to date.
 *
 * Scalars are computed in double and applied in float, as PyTorch does with Python
 * scalars on float tensors. No FMA contraction (built with -ffp-contract=off), so the
 * vectorised and scalar paths round identically and results are bit-reproducible. */
#ifndef COLLAB_OPTIM_H
#define COLLAB_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum OptimKind {
    OPTIM_ADAM = 0,
    OPTIM_SGD = 1,
    OPTIM_SPARSE_ADAM = 2, /* lazy Adam over the touched rows */
    OPTIM_ADAGRAD = 3,     /* row-wise Adagrad over the touched rows */
    OPTIM_SPARSE_SGD = 4   /* plain SGD over the touched rows (no momentum) */
} OptimKind;

/* Rows of one group for the sparse kinds: rows entities, each owning row r of up to two
 * tables of the flat buffer (factors, bias): table i starts at off[i] and has width[i]
 * floats per row (width 0: no such table). */
typedef struct OptimGroup {
    size_t rows;
    size_t off[2], width[2];
} OptimGroup;

enum { OPTIM_MAX_GROUPS = 2 };

typedef struct OptimConfig {
    OptimKind kind;
    double wd;      /* decoupled weight decay (fastai default 0.01) */
    double sqr_mom; /* Adam beta2 (0.99) */
    double eps;     /* Adam and Adagrad eps (1e-5) */
} OptimConfig;

typedef struct Optim {
    OptimConfig cfg;
    size_t n;       /* parameters updated */
    size_t n_decay; /* [0, n_decay) take weight decay, [n_decay, n) do not (n by default) */
    float *m;       /* (n) first moment (Adam) or momentum buffer (SGD) */
    float *v;       /* (n) second moment (Adam), NULL for SGD */
    int64_t step;   /* steps taken */
    /* sparse kinds only (zero otherwise) */
    size_t n_groups;
    OptimGroup group[OPTIM_MAX_GROUPS];
    double *decay_at[OPTIM_MAX_GROUPS]; /* (rows) P when the row was last brought up to date */
    int64_t *stamp[OPTIM_MAX_GROUPS];   /* (rows) step of the row's last update (not saved) */
    float *acc[OPTIM_MAX_GROUPS][2];    /* (rows) Adagrad accumulator per row of each table */
    double decay_prod;                  /* P after the last step (1 after optim_sync) */
    double decay_prev;                  /* P before the current step */
} Optim;

/* Allocates zeroed state for n parameters. Local. */
void optim_init(Optim *o, const OptimConfig *cfg, size_t n);
void optim_free(Optim *o);
/* Parameters [from, n) take no weight decay: fastai's wd_bn_bias=False for a model
 * whose BatchNorm parameters and biases sit at the end of the flat buffer. Local. */
void optim_no_decay_tail(Optim *o, size_t from);

/* Resets moments and step to a fresh optimizer. */
void optim_reset(Optim *o);

/* One step over all n parameters with learning rate lr and momentum mom (Adam's beta1
 * or SGD momentum). Reads g and leaves it as it is: the caller zeroes the rows it wrote
 * (a batch touches few rows, and not storing g in this loop makes it a third faster).
 * Local. */
void optim_step(Optim *o, float *p, const float *g, double lr, double mom);

/* 1 for the kinds that update touched rows only. */
int optim_is_sparse(OptimKind kind);

/* Sparse kinds: cuts the flat buffer into n row groups and allocates their per-row state
 * (moments stay flat, as for Adam). No-op for the dense kinds. Local. */
void optim_set_groups(Optim *o, const OptimGroup *groups, size_t n);

/* Sparse kinds: begins a step at learning rate lr (step count, P). When P has shrunk
 * below 2^-800 every row of p is first brought up to date (optim_sync). Local. */
void optim_begin_step(Optim *o, float *p, double lr);

/* Sparse kinds: updates the rows rows[0..n) of group gi (repeats allowed: a row is updated
 * once per step) from g, after applying their skipped decay. optim_begin_step first.
 * Local. */
void optim_step_rows(Optim *o, float *p, const float *g, size_t gi, const int32_t *rows, size_t n,
                     double lr, double mom);

/* Scalars of one step, computed in double like fastai's Python and applied in float. */
typedef struct OptimScalars {
    float decay, mom, one_minus_mom, sqr_mom, one_minus_sqr, inv_debias2, step_size, eps, neg_lr;
} OptimScalars;

/* Sparse kinds: the scalars of the step begun by optim_begin_step, at lr and mom. Local. */
void optim_scalars(const Optim *o, double lr, double mom, OptimScalars *s);

/* Sparse kinds: updates row r of group gi from its gradient rows g[i] (width[i] floats of
 * table i; unused when the table is absent), after applying its skipped decay. The
 * caller updates a row at most once a step (optim_step_rows drops repeats from its list,
 * then calls this); the fused training step calls it per user as soon as the user's
 * gradient is complete. Local. */
void optim_step_row(Optim *o, float *p, size_t gi, size_t r, const float *const g[2],
                    const OptimScalars *s);

/* Sparse kinds: asks the cache for the state optim_step_row will touch for row r of group
 * gi (its parameters, moments or accumulators, decay): the rows of a batch are
 * scattered, so the fused step prefetches a few rows ahead. Local; changes nothing. */
void optim_prefetch_row(const Optim *o, const float *p, size_t gi, size_t r);

/* Sparse kinds: applies every row's pending decay to p and restarts P at 1, so p is the
 * model as a dense decay would have left it (up to rounding). No-op for dense kinds. */
void optim_sync(Optim *o, float *p);

#endif
