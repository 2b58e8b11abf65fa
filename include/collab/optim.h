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
 * Scalars are computed in double and applied in float, as PyTorch does with Python
 * scalars on float tensors. No FMA contraction (built with -ffp-contract=off), so the
 * vectorised and scalar paths round identically and results are bit-reproducible. */
#ifndef COLLAB_OPTIM_H
#define COLLAB_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum OptimKind { OPTIM_ADAM = 0, OPTIM_SGD = 1 } OptimKind;

typedef struct OptimConfig {
    OptimKind kind;
    double wd;      /* decoupled weight decay (fastai default 0.01) */
    double sqr_mom; /* Adam beta2 (0.99) */
    double eps;     /* Adam eps (1e-5) */
} OptimConfig;

typedef struct Optim {
    OptimConfig cfg;
    size_t n;     /* parameters updated */
    float *m;     /* (n) first moment (Adam) or momentum buffer (SGD) */
    float *v;     /* (n) second moment (Adam), NULL for SGD */
    int64_t step; /* steps taken */
} Optim;

/* Allocates zeroed state for n parameters. Local. */
void optim_init(Optim *o, const OptimConfig *cfg, size_t n);
void optim_free(Optim *o);
/* Resets moments and step to a fresh optimizer. */
void optim_reset(Optim *o);

/* One step over all n parameters with learning rate lr and momentum mom (Adam's beta1
 * or SGD momentum). Reads g and leaves it as it is: the caller zeroes the rows it wrote
 * (a batch touches few rows, and not storing g in this loop makes it a third faster).
 * Local. */
void optim_step(Optim *o, float *p, const float *g, double lr, double mom);

#endif
