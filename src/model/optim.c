/* optim.c - fastai's Adam and SGD with decoupled weight decay, one flat loop each, and
 * the sparse kinds (lazy Adam, row-wise Adagrad) that update only the rows a batch touched.
 *
 * Dense Adam over every parameter is most of the seed workload's time, so the loops are
 * written to vectorise: each is compiled for AVX-512, AVX2 and baseline x86-64 and the
 * best is picked at load time. Only IEEE-exact operations (mul, add, div, sqrt) are
 * used and FMA contraction is off, so every variant rounds identically. */
#include "config.h"

#include "collab/model/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/lanes.h"
#include "collab/model/kernel.h"

void optim_init(Optim *o, const OptimConfig *cfg, size_t n)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    o->n_decay = n;
    if (cfg->kind == OPTIM_ADAM || cfg->kind == OPTIM_SGD || cfg->kind == OPTIM_SPARSE_ADAM)
        o->m = xcalloc(n, sizeof(float));
    if (cfg->kind == OPTIM_ADAM || cfg->kind == OPTIM_SPARSE_ADAM)
        o->v = xcalloc(n, sizeof(float));
    o->decay_prod = o->decay_prev = 1.0;
}

int optim_is_sparse(OptimKind kind)
{
    return kind == OPTIM_SPARSE_ADAM || kind == OPTIM_ADAGRAD || kind == OPTIM_SPARSE_SGD;
}

void optim_set_groups(Optim *o, const OptimGroup *groups, size_t n)
{
    if (!optim_is_sparse(o->cfg.kind))
        return;
    if (n > OPTIM_MAX_GROUPS)
        check_fail(__FILE__, __LINE__, "optim_set_groups: %zu groups", n);
    o->n_groups = n;
    for (size_t gi = 0; gi < n; gi++) {
        const size_t rows = groups[gi].rows ? groups[gi].rows : 1;
        o->group[gi] = groups[gi];
        o->decay_at[gi] = xmalloc(rows * sizeof(double));
        for (size_t r = 0; r < rows; r++)
            o->decay_at[gi][r] = 1.0;
        o->stamp[gi] = xcalloc(rows, sizeof(int64_t));
        for (int i = 0; i < 2 && o->cfg.kind == OPTIM_ADAGRAD; i++)
            if (groups[gi].width[i])
                o->acc[gi][i] = xcalloc(rows, sizeof(float));
    }
}

void optim_free(Optim *o)
{
    free(o->m);
    free(o->v);
    for (size_t gi = 0; gi < OPTIM_MAX_GROUPS; gi++) {
        free(o->decay_at[gi]);
        free(o->stamp[gi]);
        free(o->acc[gi][0]);
        free(o->acc[gi][1]);
    }
    memset(o, 0, sizeof *o);
}

void optim_no_decay_tail(Optim *o, size_t from)
{
    o->n_decay = from < o->n ? from : o->n;
}

void optim_reset(Optim *o)
{
    if (o->m)
        memset(o->m, 0, o->n * sizeof(float));
    if (o->v)
        memset(o->v, 0, o->n * sizeof(float));
    o->step = 0;
    /* Pending decay is dropped with the rest: the caller restores or replaces p. */
    for (size_t gi = 0; gi < o->n_groups; gi++) {
        for (size_t r = 0; r < o->group[gi].rows; r++)
            o->decay_at[gi][r] = 1.0;
        memset(o->stamp[gi], 0, o->group[gi].rows * sizeof(int64_t));
        for (int i = 0; i < 2; i++)
            if (o->acc[gi][i])
                memset(o->acc[gi][i], 0, o->group[gi].rows * sizeof(float));
    }
    o->decay_prod = o->decay_prev = 1.0;
}

typedef OptimScalars AdamScalars;

LANES_CLONES
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

LANES_CLONES
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

/* The scalars of optim_step's Adam, for the current step. */
static AdamScalars adam_scalars(const Optim *o, double lr, double mom)
{
    const OptimConfig *c = &o->cfg;
    /* fastai's debias(mom, 1-mom, step) = (1-mom) (1 - mom^step) / (1-mom). */
    const double t = (double)o->step;
    const double debias1 = (1.0 - mom) * (1.0 - pow(mom, t)) / (1.0 - mom);
    const double debias2 = (1.0 - c->sqr_mom) * (1.0 - pow(c->sqr_mom, t)) / (1.0 - c->sqr_mom);
    return (AdamScalars){
        .decay = (float)(1.0 - lr * c->wd),
        .mom = (float)mom,
        .one_minus_mom = (float)(1.0 - mom),
        .sqr_mom = (float)c->sqr_mom,
        .one_minus_sqr = (float)(1.0 - c->sqr_mom),
        .inv_debias2 = (float)(1.0 / debias2),
        .step_size = (float)(-lr / debias1),
        .eps = (float)c->eps,
        .neg_lr = (float)(-lr),
    };
}

void optim_scalars(const Optim *o, double lr, double mom, OptimScalars *s)
{
    *s = adam_scalars(o, lr, mom);
}

void optim_step(Optim *o, float *p, const float *g, double lr, double mom)
{
    const OptimConfig *c = &o->cfg;
    if (optim_is_sparse(c->kind))
        check_fail(__FILE__, __LINE__, "optim_step: a sparse optimizer takes optim_step_rows");
    o->step++;
    const size_t nd = o->n_decay, rest = o->n - nd;
    if (c->kind == OPTIM_SGD) {
        const float decay = (float)(1.0 - lr * c->wd);
        sgd_kernel(p, g, o->m, nd, decay, (float)mom, (float)(-lr), mom != 0.0);
        if (rest)
            sgd_kernel(p + nd, g + nd, o->m + nd, rest, 1.0f, (float)mom, (float)(-lr), mom != 0.0);
        return;
    }
    AdamScalars s = adam_scalars(o, lr, mom);
    adam_kernel(p, g, o->m, o->v, nd, s);
    if (rest) {
        s.decay = 1.0f; /* the tail: no weight decay */
        adam_kernel(p + nd, g + nd, o->m + nd, o->v + nd, rest, s);
    }
}

/* ------------------------------------------------------------------ sparse kinds */

/* Scales row r of every table of group g by f (the decay of the steps the row skipped). */
static void row_scale(float *p, const OptimGroup *g, size_t r, float f)
{
    for (int i = 0; i < 2; i++) {
        float *x = p + g->off[i] + r * g->width[i];
        for (size_t j = 0; j < g->width[i]; j++)
            x[j] *= f;
    }
}

void optim_sync(Optim *o, float *p)
{
    for (size_t gi = 0; gi < o->n_groups; gi++) {
        const OptimGroup *g = &o->group[gi];
        double *at = o->decay_at[gi];
        for (size_t r = 0; r < g->rows; r++) {
            if (at[r] != o->decay_prod)
                row_scale(p, g, r, (float)(o->decay_prod / at[r]));
            at[r] = 1.0; /* every row is current: P restarts at 1 (only ratios matter) */
        }
    }
    o->decay_prod = o->decay_prev = 1.0;
}

void optim_begin_step(Optim *o, float *p, double lr)
{
    if (!optim_is_sparse(o->cfg.kind))
        return;
    /* P falls by (1 - lr*wd) per step; restart it long before a double would underflow.
     * The test reads only P, so a resumed run restarts at the same step. */
    if (fabs(o->decay_prod) < 0x1p-800)
        optim_sync(o, p);
    o->step++;
    o->decay_prev = o->decay_prod;
    o->decay_prod *= 1.0 - lr * o->cfg.wd;
}

/* Row-wise Adagrad on one table row of width w: one accumulator, which gains the row's mean
 * g^2 (its sum of squares in 16 lanes, so every instruction set gives the same bits); the
 * step scale is formed once per row. */
LANES_INLINE void adagrad_row(float *restrict p, const float *restrict g, float *acc, size_t w,
                              float decay, float neg_lr, float eps)
{
    const float gain = w == 1 ? g[0] * g[0] : lanes_dot(g, g, w) / (float)w;
    kernel_row_step(p, g, w, decay, kernel_adagrad_scale(acc, gain, neg_lr, eps));
}

void optim_prefetch_row(const Optim *o, const float *p, size_t gi, size_t r)
{
    const OptimGroup *gr = &o->group[gi];
    __builtin_prefetch(o->decay_at[gi] + r, 1);
    for (int i = 0; i < 2; i++) {
        const size_t w = gr->width[i], off = gr->off[i] + r * w;
        if (o->acc[gi][i])
            __builtin_prefetch(o->acc[gi][i] + r, 1);
        for (size_t c = 0; c < w; c += 16)
            __builtin_prefetch(p + off + c, 1);
        for (size_t c = 0; c < w && o->cfg.kind == OPTIM_SPARSE_ADAM; c += 16) {
            __builtin_prefetch(o->m + off + c, 1);
            __builtin_prefetch(o->v + off + c, 1);
        }
    }
}

LANES_CLONES
void optim_step_row(Optim *o, float *p, size_t gi, size_t r, const float *const g[2],
                    const OptimScalars *s)
{
    const OptimGroup *gr = &o->group[gi];
    double *at = o->decay_at[gi];
    if (at[r] != o->decay_prev)
        row_scale(p, gr, r, (float)(o->decay_prev / at[r]));
    at[r] = o->decay_prod;
    for (int i = 0; i < 2; i++) {
        const size_t w = gr->width[i], off = gr->off[i] + r * w;
        if (!w)
            continue;
        if (o->cfg.kind == OPTIM_SPARSE_ADAM)
            adam_kernel(p + off, g[i], o->m + off, o->v + off, w, *s);
        else if (o->cfg.kind == OPTIM_SPARSE_SGD)
            kernel_row_step(p + off, g[i], w, s->decay, s->neg_lr);
        else
            adagrad_row(p + off, g[i], &o->acc[gi][i][r], w, s->decay, s->neg_lr, s->eps);
    }
}

void optim_step_rows(Optim *o, float *p, const float *g, size_t gi, const int32_t *rows, size_t n,
                     double lr, double mom)
{
    const OptimGroup *gr = &o->group[gi];
    const AdamScalars s = adam_scalars(o, lr, mom);
    for (size_t q = 0; q < n; q++) {
        const size_t r = (size_t)rows[q];
        if (o->stamp[gi][r] == o->step)
            continue; /* already updated this step */
        o->stamp[gi][r] = o->step;
        const float *rg[2] = {g + gr->off[0] + r * gr->width[0], g + gr->off[1] + r * gr->width[1]};
        optim_step_row(o, p, gi, r, rg, &s);
    }
}
