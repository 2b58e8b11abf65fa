/* optim.c - fastai's Adam and SGD with decoupled weight decay, one flat loop each.
 *
 * Dense Adam over every parameter is most of the seed workload's time, so the loops are
 * written to vectorise: each is compiled for AVX-512, AVX2 and baseline x86-64 and the
 * best is picked at load time. Only IEEE-exact operations (mul, add, div, sqrt) are
 * used and FMA contraction is off, so every variant rounds identically. */
#include "config.h"

#include "collab/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/check.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OPTIM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OPTIM_CLONES
#endif

void optim_init(Optim *o, const OptimConfig *cfg, size_t n)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    o->m = xcalloc(n, sizeof(float));
    if (cfg->kind == OPTIM_ADAM)
        o->v = xcalloc(n, sizeof(float));
}

void optim_free(Optim *o)
{
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

void optim_reset(Optim *o)
{
    memset(o->m, 0, o->n * sizeof(float));
    if (o->v)
        memset(o->v, 0, o->n * sizeof(float));
    o->step = 0;
}

/* Scalars of one Adam step, computed in double like fastai's Python, applied in float. */
typedef struct AdamScalars {
    float decay, mom, one_minus_mom, sqr_mom, one_minus_sqr, inv_debias2, step_size, eps;
} AdamScalars;

OPTIM_CLONES
static void adam_kernel(float *restrict p, const float *restrict g, float *restrict m,
                        float *restrict v, size_t n, AdamScalars s)
{
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i];
        const float pi = p[i] * s.decay;
        const float mi = m[i] * s.mom + gi * s.one_minus_mom;
        const float vi = v[i] * s.sqr_mom + (gi * gi) * s.one_minus_sqr;
        m[i] = mi;
        v[i] = vi;
        /* addcdiv_: p + (step * m) / denom; v * (1/debias2) saves a division per element
         * over torch's v / debias2 (division and sqrt bound this loop). */
        p[i] = pi + (s.step_size * mi) / (sqrtf(vi * s.inv_debias2) + s.eps);
    }
}

OPTIM_CLONES
static void sgd_kernel(float *restrict p, const float *restrict g, float *restrict m, size_t n,
                       float decay, float mom, float neg_lr, int use_mom)
{
    for (size_t i = 0; i < n; i++) {
        float step = g[i];
        if (use_mom)
            step = m[i] = m[i] * mom + g[i];
        p[i] = p[i] * decay + neg_lr * step;
    }
}

void optim_step(Optim *o, float *p, const float *g, double lr, double mom)
{
    const OptimConfig *c = &o->cfg;
    o->step++;
    const float decay = (float)(1.0 - lr * c->wd);
    if (c->kind == OPTIM_SGD) {
        sgd_kernel(p, g, o->m, o->n, decay, (float)mom, (float)(-lr), mom != 0.0);
        return;
    }
    /* fastai's debias(mom, 1-mom, step) = (1-mom) (1 - mom^step) / (1-mom). */
    const double t = (double)o->step;
    const double debias1 = (1.0 - mom) * (1.0 - pow(mom, t)) / (1.0 - mom);
    const double debias2 = (1.0 - c->sqr_mom) * (1.0 - pow(c->sqr_mom, t)) / (1.0 - c->sqr_mom);
    AdamScalars s = {
        .decay = decay,
        .mom = (float)mom,
        .one_minus_mom = (float)(1.0 - mom),
        .sqr_mom = (float)c->sqr_mom,
        .one_minus_sqr = (float)(1.0 - c->sqr_mom),
        .inv_debias2 = (float)(1.0 / debias2),
        .step_size = (float)(-lr / debias1),
        .eps = (float)c->eps,
    };
    adam_kernel(p, g, o->m, o->v, o->n, s);
}
