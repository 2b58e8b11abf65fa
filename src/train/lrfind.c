/* lrfind.c - fastai's lr_find on a trainer: an exponential learning-rate sweep over
 * training batches with a fresh optimizer, recording the smoothed loss, on a copy of
 * what it changes (the model and the optimizer's state), put back afterwards. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/train/train.h"

/* Copies of what lr_find changes, to put back afterwards: the model and the optimizer
 * (moments, and the sparse kinds' per-row state). */
typedef struct Saved {
    float *params, *m, *v;
    float *stats; /* MODEL_NN's BatchNorm running statistics */
    float *acc[OPTIM_MAX_GROUPS][2];
    double *decay_at[OPTIM_MAX_GROUPS];
    double decay_prod;
    int64_t step;
} Saved;

/* A copy of n bytes of src, or NULL for NULL. */
static void *dup_or_null(const void *src, size_t n)
{
    return src ? memcpy(xmalloc(n ? n : 1), src, n) : NULL;
}

/* Copies n bytes back from a dup_or_null copy and frees it. */
static void put_back(void *dst, void *copy, size_t n)
{
    if (copy)
        memcpy(dst, copy, n);
    free(copy);
}

static void saved_take(Saved *s, const Trainer *t)
{
    const Optim *o = &t->opt;
    const size_t n = t->model.n_params * sizeof(float);
    memset(s, 0, sizeof *s);
    s->params = dup_or_null(t->model.params, n);
    s->stats = dup_or_null(t->model.stats, t->model.nn.n_stats * sizeof(float));
    s->m = dup_or_null(o->m, n);
    s->v = dup_or_null(o->v, n);
    for (size_t gi = 0; gi < o->n_groups; gi++) {
        const size_t rows = o->group[gi].rows;
        s->acc[gi][0] = dup_or_null(o->acc[gi][0], rows * sizeof(float));
        s->acc[gi][1] = dup_or_null(o->acc[gi][1], rows * sizeof(float));
        s->decay_at[gi] = dup_or_null(o->decay_at[gi], rows * sizeof(double));
    }
    s->decay_prod = o->decay_prod;
    s->step = o->step;
}

static void saved_restore(Saved *s, Trainer *t)
{
    Optim *o = &t->opt;
    const size_t n = t->model.n_params * sizeof(float);
    put_back(t->model.params, s->params, n);
    put_back(t->model.stats, s->stats, t->model.nn.n_stats * sizeof(float));
    put_back(o->m, s->m, n);
    put_back(o->v, s->v, n);
    for (size_t gi = 0; gi < o->n_groups; gi++) {
        const size_t rows = o->group[gi].rows;
        put_back(o->acc[gi][0], s->acc[gi][0], rows * sizeof(float));
        put_back(o->acc[gi][1], s->acc[gi][1], rows * sizeof(float));
        put_back(o->decay_at[gi], s->decay_at[gi], rows * sizeof(double));
        memset(o->stamp[gi], 0, rows * sizeof(int64_t));
    }
    memset(t->model.grads, 0, n);
    o->decay_prod = o->decay_prev = s->decay_prod;
    o->step = s->step;
}

size_t trainer_lr_find(Trainer *t, double start, double end, int64_t num_it, int stop_div,
                       double *lrs, double *losses)
{
    Saved saved;
    saved_take(&saved, t);
    optim_reset(&t->opt);
    SmoothLoss smooth;
    smooth_init(&smooth, 0.98);
    Progress bar;
    progress_start(&bar, t->cfg.progress, "lr-find", "batch", num_it);
    double best = INFINITY;
    size_t n = 0;
    /* Every rank sees the same losses, so every rank leaves the loops together. */
    for (int epoch = 0; n < (size_t)num_it && t->n_batches > 0; epoch++) {
        trainer_shuffle(t, epoch);
        for (size_t b = 0; b < t->n_batches && n < (size_t)num_it; b++) {
            double lr = lrfind_lr(start, end, (int64_t)n, num_it);
            smooth_add(&smooth, trainer_step(t, b, lr, 0.9));
            lrs[n] = lr;
            losses[n++] = smooth_value(&smooth);
            progress_update(&bar, (int64_t)n, losses[n - 1]);
            if (losses[n - 1] < best)
                best = losses[n - 1];
            /* As fastai: a NaN loss ends the sweep too (it compares false with best). */
            if ((stop_div && (losses[n - 1] > 4.0 * best || isnan(losses[n - 1]))) ||
                t->flags[FLAG_STOP])
                goto done;
        }
    }
done:
    progress_clear(&bar);
    saved_restore(&saved, t);
    return n;
}
