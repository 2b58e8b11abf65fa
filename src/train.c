/* train.c - the training step, the fit loop, validation and lr_find.
 *
 * The step reads like the design: batch -> gather item rows -> forward -> backward ->
 * scatter item gradients -> update -> (caller) schedule -> log. */
#include "config.h"

#include "collab/train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/check.h"
#include "collab/rng.h"

/* Validation moves item rows in bounded chunks of this many ratings. */
enum { VALID_CHUNK = 4096 };

static void trainer_alloc_workspace(Trainer *t)
{
    const size_t k = t->cfg.model.k;
    t->cap = t->cfg.bs > VALID_CHUNK ? t->cfg.bs : VALID_CHUNK;
    t->b_user = xmalloc(t->cap * sizeof(int32_t));
    t->b_item = xmalloc(t->cap * sizeof(int32_t));
    t->b_y = xmalloc(t->cap * sizeof(float));
    t->pred = xmalloc(t->cap * sizeof(float));
    t->z = xmalloc(t->cap * sizeof(float));
    t->dpred = xmalloc(t->cap * sizeof(float));
    t->irows = xmalloc(t->cap * k * sizeof(float));
    t->g_irows = xmalloc(t->cap * k * sizeof(float));
    t->ibias = xmalloc(t->cap * sizeof(float));
    t->g_ibias = xmalloc(t->cap * sizeof(float));
}

void trainer_init(Trainer *t, const Ctx *ctx, const Dataset *ds, const TrainConfig *cfg)
{
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    t->ds = ds;
    t->cfg = *cfg;
    t->n_batches = ds->n_train / cfg->bs;
    t->cfg.sched.total = (int64_t)t->n_batches * cfg->epochs;
    model_init(&t->model, &cfg->model, ds->users.n, ds->items.n);
    model_init_params(&t->model, cfg->seed, 0, 0);
    optim_init(&t->opt, &cfg->optim, t->model.n_params);
    exchange_init(&t->x, ctx);
    t->order = xmalloc((ds->n_train ? ds->n_train : 1) * sizeof(uint32_t));
    t->order_epoch = -1;
    trainer_alloc_workspace(t);
    smooth_init(&t->smooth, 0.98);
}

void trainer_free(Trainer *t)
{
    model_free(&t->model);
    optim_free(&t->opt);
    free(t->order);
    free(t->b_user);
    free(t->b_item);
    free(t->b_y);
    free(t->pred);
    free(t->z);
    free(t->dpred);
    free(t->irows);
    free(t->g_irows);
    free(t->ibias);
    free(t->g_ibias);
    memset(t, 0, sizeof *t);
}

void train_order(uint32_t *order, size_t n, uint64_t seed, int epoch)
{
    Perm p;
    perm_init(&p, n, seed, RNG_STREAM_SHUFFLE, (uint64_t)epoch);
    for (size_t r = 0; r < n; r++)
        order[perm_apply(&p, r)] = (uint32_t)r;
}

void trainer_shuffle(Trainer *t, int epoch)
{
    if (t->order_epoch == epoch)
        return;
    train_order(t->order, t->ds->n_train, t->cfg.seed, epoch);
    t->order_epoch = epoch;
}

/* Loads n rating rows (indices rows[j] into the given arrays) into the batch buffers. */
static void trainer_load(Trainer *t, const int32_t *user, const int32_t *item,
                         const float *y, const uint32_t *rows, size_t first, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        size_t r = rows ? rows[j] : first + j;
        t->b_user[j] = user[r];
        t->b_item[j] = item[r];
        t->b_y[j] = y[r];
    }
}

double trainer_step(Trainer *t, size_t b, double lr, double mom)
{
    const Dataset *ds = t->ds;
    const size_t n = t->cfg.bs;
    Model *m = &t->model;
    trainer_load(t, ds->train_user, ds->train_item, ds->train_rating, t->order + b * n, 0, n);
    exchange_gather_items(&t->x, t->irows, t->ibias, m, t->b_item, n);
    model_forward(t->pred, t->z, m, t->b_user, t->irows, t->ibias, n);
    double sum = model_mse(t->dpred, t->pred, t->b_y, n, (double)n);
    model_backward(m, t->g_irows, t->g_ibias, t->dpred, t->pred, t->z, t->b_user, t->irows, n);
    exchange_scatter_item_grads(&t->x, m, t->g_irows, t->g_ibias, t->b_item, n);
    optim_step(&t->opt, m->params, m->grads, lr, mom);
    return exchange_sum(&t->x, sum) / (double)n;
}

double trainer_validate(Trainer *t, double *mae)
{
    const Dataset *ds = t->ds;
    double sq = 0.0, ab = 0.0;
    for (size_t first = 0; first < ds->n_valid; first += t->cap) {
        size_t n = ds->n_valid - first < t->cap ? ds->n_valid - first : t->cap;
        trainer_load(t, ds->valid_user, ds->valid_item, ds->valid_rating, NULL, first, n);
        exchange_gather_items(&t->x, t->irows, t->ibias, &t->model, t->b_item, n);
        model_forward(t->pred, t->z, &t->model, t->b_user, t->irows, t->ibias, n);
        for (size_t j = 0; j < n; j++) {
            double d = (double)t->pred[j] - (double)t->b_y[j];
            sq += d * d;
            ab += fabs(d);
        }
    }
    sq = exchange_sum(&t->x, sq);
    ab = exchange_sum(&t->x, ab);
    if (mae)
        *mae = ds->n_valid ? ab / (double)ds->n_valid : NAN;
    return ds->n_valid ? sq / (double)ds->n_valid : NAN;
}

/* One epoch of training batches; fills the row's training fields. */
static void trainer_epoch(Trainer *t, int epoch, EpochRow *row, Progress *bar)
{
    trainer_shuffle(t, epoch);
    progress_start(bar, t->cfg.progress, "train", (int64_t)t->n_batches);
    double lr = 0.0, mom = 0.0;
    for (size_t b = 0; b < t->n_batches; b++) {
        schedule_at(&t->cfg.sched, t->iter, &lr, &mom);
        double loss = trainer_step(t, b, lr, mom);
        smooth_add(&t->smooth, loss);
        t->iter++;
        progress_update(bar, (int64_t)b + 1, smooth_value(&t->smooth));
    }
    progress_clear(bar);
    row->lr = lr;
    row->mom = mom;
    row->train_loss = smooth_value(&t->smooth);
}

double trainer_fit(Trainer *t, EpochCallback on_epoch, void *arg)
{
    EpochRow row = {0};
    Progress bar;
    row.valid_loss = NAN;
    for (int e = 0; e < t->cfg.epochs; e++) {
        exchange_reset_counters(&t->x);
        const double t0 = MPI_Wtime();
        row.epoch = e;
        trainer_epoch(t, e, &row, &bar);
        row.train_seconds = MPI_Wtime() - t0;
        row.valid_loss = trainer_validate(t, NULL);
        row.seconds = MPI_Wtime() - t0;
        row.exchange_seconds = t->x.seconds;
        row.exchange_bytes = t->x.bytes;
        if (on_epoch)
            on_epoch(&row, arg);
    }
    return row.valid_loss;
}

/* Copies of what lr_find changes, to put back afterwards. */
typedef struct Saved {
    float *params, *m, *v;
    int64_t step;
} Saved;

static void saved_take(Saved *s, const Trainer *t)
{
    const size_t n = t->model.n_params;
    s->params = xmalloc(n * sizeof(float));
    s->m = xmalloc(n * sizeof(float));
    s->v = t->opt.v ? xmalloc(n * sizeof(float)) : NULL;
    memcpy(s->params, t->model.params, n * sizeof(float));
    memcpy(s->m, t->opt.m, n * sizeof(float));
    if (s->v)
        memcpy(s->v, t->opt.v, n * sizeof(float));
    s->step = t->opt.step;
}

static void saved_restore(Saved *s, Trainer *t)
{
    const size_t n = t->model.n_params;
    memcpy(t->model.params, s->params, n * sizeof(float));
    memcpy(t->opt.m, s->m, n * sizeof(float));
    if (s->v)
        memcpy(t->opt.v, s->v, n * sizeof(float));
    memset(t->model.grads, 0, n * sizeof(float));
    t->opt.step = s->step;
    free(s->params);
    free(s->m);
    free(s->v);
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
    progress_start(&bar, t->cfg.progress, "lr-find", num_it);
    double best = INFINITY;
    size_t n = 0;
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
            if (stop_div && losses[n - 1] > 4.0 * best)
                goto done;
        }
    }
done:
    progress_clear(&bar);
    saved_restore(&saved, t);
    return n;
}

int trainer_dump_params(const Trainer *t, const char *path)
{
    int err = 0;
    if (t->ctx->rank == 0) {
        FILE *f = fopen(path, "wb");
        if (!f)
            err = errno;
        else {
            if (fwrite(t->model.params, sizeof(float), t->model.n_params, f) !=
                t->model.n_params)
                err = errno ? errno : EIO;
            if (fclose(f) != 0 && !err)
                err = errno;
        }
    }
    CHECK_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, t->ctx->comm));
    errno = err;
    return err ? -1 : 0;
}
