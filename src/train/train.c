/* train.c - the trainer, in the order of the design: init and free; the shuffle (each
 * epoch's batch order); the step (batch -> gather item rows -> forward -> backward ->
 * scatter item gradients -> update -> loss); the fit (schedule -> step -> log, epoch
 * after epoch, with the caller's checkpoint hooks); validation; and the progress a
 * checkpoint keeps. Where the tables go in a file is store's (params.h). */
#include "config.h"

#include "collab/train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/rng.h"
#include "collab/base/watchdog.h"
#include "collab/train/signals.h"

/* ---------------------------------------------------------------------- init and free */

/* Per-batch buffers: what every step and validation use, and the per-rating item rows
 * and gradients only the dense (unfused) step moves. */
static void trainer_alloc_workspace(Trainer *t)
{
    const size_t k = t->cfg.model.k;
    t->cap = t->cfg.bs > VALID_CHUNK && !t->blocked ? t->cfg.bs : VALID_CHUNK;
    t->b_user = xmalloc(t->cap * sizeof(int32_t));
    t->b_item = xmalloc(t->cap * sizeof(int32_t));
    t->b_y = xmalloc(t->cap * sizeof(float));
    t->pred = xmalloc(t->cap * sizeof(float));
    t->b_slot = xmalloc(t->cap * sizeof(int32_t));
    t->b_first = xmalloc(t->cap);
    t->g_row = xmalloc((k + 1) * sizeof(float));
    if (t->fused || t->blocked)
        return;
    const size_t nb = t->cfg.bs;
    t->b_pos = xmalloc(nb * sizeof(int64_t));
    t->z = xmalloc(nb * sizeof(float));
    t->dpred = xmalloc(nb * sizeof(float));
    t->irows = xmalloc(nb * k * sizeof(float));
    t->g_irows = xmalloc(nb * k * sizeof(float));
    t->ibias = xmalloc(nb * sizeof(float));
    t->g_ibias = xmalloc(nb * sizeof(float));
    const Model *m = &t->model;
    if (m->dense) { /* MODEL_NN: the whole batch's head, and validation in pieces of nn_cap */
        const size_t w = m->nn.n_in, nc = nb > NN_EVAL_ROWS ? nb : NN_EVAL_ROWS;
        nn_work_init(&t->nnw, &m->nn, nc);
        t->nx = xmalloc(nc * w * sizeof(float));
        t->gx = xmalloc(nb * w * sizeof(float));
        t->gdx = xmalloc(nb * w * sizeof(float));
        t->gitem = xmalloc(nb * sizeof(int32_t));
        t->gz = xmalloc(nc * sizeof(float));
        float **v[] = {&t->gy, &t->gpred, &t->gdz};
        for (size_t i = 0; i < sizeof v / sizeof *v; i++)
            *v[i] = xmalloc(nb * sizeof(float));
    }
}

/* Sorts the n rows of order (file order within a user, by gidx) where they are not. */
static int cmp_gidx(const void *a, const void *b)
{
    const int64_t x = ((const int64_t *)a)[0], y = ((const int64_t *)b)[0];
    return (x > y) - (x < y);
}

static void sort_by_gidx(uint32_t *rows, size_t n, const int64_t *gidx)
{
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = gidx[rows[i - 1]] < gidx[rows[i]];
    if (sorted)
        return;
    int64_t *pr = xmalloc(n * 2 * sizeof(int64_t));
    for (size_t i = 0; i < n; i++)
        pr[2 * i] = gidx[rows[i]], pr[2 * i + 1] = rows[i];
    qsort(pr, n, 2 * sizeof(int64_t), cmp_gidx);
    for (size_t i = 0; i < n; i++)
        rows[i] = (uint32_t)pr[2 * i + 1];
    free(pr);
}

/* The fused step's row order: local training rows grouped by user (counting sort), each
 * user's rows in file order, so a batch's ratings of a user are consecutive and are
 * summed in an order that does not depend on the number of ranks. */
static void trainer_group_by_user(Trainer *t)
{
    const Dataset *ds = t->ds;
    const size_t nu = t->model.n_users;
    size_t *start = xcalloc(nu + 1, sizeof(size_t));
    t->by_user = xmalloc((ds->n_train ? ds->n_train : 1) * sizeof(uint32_t));
    for (size_t r = 0; r < ds->n_train; r++)
        start[(size_t)ds->train_user[r] - t->user_lo + 1]++;
    for (size_t u = 0; u < nu; u++)
        start[u + 1] += start[u];
    for (size_t r = 0; r < ds->n_train; r++)
        t->by_user[start[(size_t)ds->train_user[r] - t->user_lo]++] = (uint32_t)r;
    /* start[u] is now the end of user u's rows, the start of u + 1's. */
    for (size_t u = 0, lo = 0; u < nu; lo = start[u++])
        sort_by_gidx(t->by_user + lo, start[u] - lo, ds->train_gidx);
    free(start);
}

/* The sparse optimizers' row groups: users (factors, bias), then items. */
static void trainer_optim_groups(Trainer *t)
{
    const Model *m = &t->model;
    const size_t k = m->spec.k, has_b = m->user_b != NULL;
    const OptimGroup g[2] = {
        {m->n_users,
         {(size_t)(m->user_f - m->params), has_b ? (size_t)(m->user_b - m->params) : 0},
         {k, has_b}},
        {m->n_items,
         {(size_t)(m->item_f - m->params), has_b ? (size_t)(m->item_b - m->params) : 0},
         {k, has_b}}};
    optim_set_groups(&t->opt, g, 2);
}

void trainer_init(Trainer *t, const Ctx *ctx, const Dataset *ds, const TrainConfig *cfg)
{
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    t->ds = ds;
    t->cfg = *cfg;
    const Layout *l = &ds->layout;
    t->user_lo = layout_user_lo(l, ctx->rank);
    t->blocked = cfg->blocks > 0;
    t->n_batches = t->blocked ? (size_t)cfg->blocks : ds->n_train_total / cfg->bs;
    t->cfg.sched.total = (int64_t)t->n_batches * cfg->epochs;
    model_nn_sizes(&t->cfg.model, l->n_users, l->n_items);
    model_init(&t->model, &t->cfg.model, layout_user_count(l, ctx->rank),
               layout_item_count(l, ctx->rank));
    model_init_params(&t->model, cfg->seed, (int64_t)t->user_lo,
                      (int64_t)layout_item_lo(l, ctx->rank));
    optim_init(&t->opt, &cfg->optim, t->model.n_params);
    if (t->model.dense) /* fastai's wd_bn_bias=False: BatchNorm and biases undecayed */
        optim_no_decay_tail(&t->opt,
                            (size_t)(t->model.dense - t->model.params) + t->model.nn.n_decay);
    trainer_optim_groups(t);
    exchange_init(&t->x, ctx, l, t->cfg.model.k);
    const size_t n = ds->n_train ? ds->n_train : 1;
    t->fused = optim_is_sparse(cfg->optim.kind) && !t->blocked;
    if (t->blocked) {
        trainer_group_by_user(t);
        blocks_init(&t->blk, ctx, ds, t->by_user, t->cfg.model.k);
        free(t->by_user);
        t->by_user = NULL;
    } else if (t->fused) {
        t->bo_user = xmalloc(n * sizeof(int32_t));
        t->bo_item = xmalloc(n * sizeof(int32_t));
        t->bo_y = xmalloc(n * sizeof(float));
        t->bo_slot = xmalloc(n * sizeof(int32_t));
        t->bo_first = xmalloc(n);
    } else {
        t->order = xmalloc(n * sizeof(uint32_t));
        t->order_pos = xmalloc(n * sizeof(int64_t));
    }
    t->batch_start = xmalloc((t->n_batches + 1) * sizeof(size_t));
    /* Kept from epoch to epoch: a fresh block this large would be mapped, and its pages
     * faulted in and zeroed by the kernel, at every shuffle. */
    if (!t->blocked)
        t->shuffle_pos = xmalloc(n * sizeof(uint64_t));
    t->order_epoch = -1;
    trainer_alloc_workspace(t);
    if (t->fused)
        trainer_group_by_user(t);
    smooth_init(&t->smooth, 0.98);
    uint64_t rounds = (ds->n_valid + VALID_CHUNK - 1) / VALID_CHUNK;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPI_UINT64_T, MPI_MAX, ctx->comm));
    t->valid_rounds = (size_t)rounds;
}

void trainer_free(Trainer *t)
{
    model_free(&t->model);
    optim_free(&t->opt);
    exchange_free(&t->x);
    blocks_free(&t->blk);
    nn_work_free(&t->nnw);
    void *bufs[] = {t->order,   t->order_pos,  t->batch_start, t->b_user,  t->b_item,   t->b_pos,
                    t->b_y,     t->pred,       t->z,           t->dpred,   t->irows,    t->g_irows,
                    t->ibias,   t->g_ibias,    t->by_user,     t->b_slot,  t->b_first,  t->g_row,
                    t->bo_user, t->bo_item,    t->bo_y,        t->bo_slot, t->bo_first, t->nx,
                    t->gx,      t->gdx,        t->gy,          t->gz,      t->gpred,    t->gdz,
                    t->gitem,   t->shuffle_pos};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------------------- shuffle */

static int cmp_pos_row(const void *a, const void *b)
{
    const int64_t x = ((const int64_t *)a)[0], y = ((const int64_t *)b)[0];
    return (x > y) - (x < y);
}

/* Sorts the n rows of a bucket by position, in place in the parallel arrays pos/row:
 * insertion sort for the small buckets of the usual batch sizes, qsort beyond. */
static void sort_bucket(int64_t *pos, uint32_t *row, size_t n)
{
    if (n > 48) {
        int64_t *pr = xmalloc(n * 2 * sizeof(int64_t));
        for (size_t j = 0; j < n; j++)
            pr[2 * j] = pos[j], pr[2 * j + 1] = row[j];
        qsort(pr, n, 2 * sizeof(int64_t), cmp_pos_row);
        for (size_t j = 0; j < n; j++)
            pos[j] = pr[2 * j], row[j] = (uint32_t)pr[2 * j + 1];
        free(pr);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const int64_t p = pos[i];
        const uint32_t r = row[i];
        size_t j = i;
        for (; j > 0 && pos[j - 1] > p; j--) {
            pos[j] = pos[j - 1];
            row[j] = row[j - 1];
        }
        pos[j] = p;
        row[j] = r;
    }
}

/* Places local row r at slot `at` of the epoch's order: its row and position, or for the
 * fused step its rating itself (so a batch is read sequentially). */
static void trainer_place(Trainer *t, size_t at, size_t r, int64_t pos)
{
    const Dataset *ds = t->ds;
    if (t->fused) {
        t->bo_user[at] = ds->train_user[r] - (int32_t)t->user_lo;
        t->bo_item[at] = ds->train_item[r];
        t->bo_y[at] = ds->train_rating[r];
    } else {
        t->order_pos[at] = pos;
        t->order[at] = (uint32_t)r;
    }
}

void trainer_shuffle(Trainer *t, int epoch)
{
    if (t->order_epoch == epoch)
        return;
    if (t->blocked) {
        blocks_shuffle(&t->blk, t->cfg.seed, epoch);
        t->order_epoch = epoch;
        return;
    }
    const Dataset *ds = t->ds;
    const size_t bs = t->cfg.bs, kept = t->n_batches * bs, nb = t->n_batches;
    Perm p;
    perm_init(&p, ds->n_train_total, t->cfg.seed, RNG_STREAM_SHUFFLE, (uint64_t)epoch);
    /* Counting sort of the local rows by batch, then each batch by position. */
    uint64_t *pos = t->shuffle_pos;
    perm_apply_many(&p, pos, ds->train_gidx, ds->n_train);
    size_t *start = t->batch_start;
    memset(start, 0, (nb + 1) * sizeof(size_t));
    for (size_t r = 0; r < ds->n_train; r++)
        if (pos[r] < kept) /* past the last full batch: dropped */
            start[pos[r] / bs + 1]++;
    for (size_t b = 0; b < nb; b++)
        start[b + 1] += start[b];
    size_t *next = xmalloc((nb ? nb : 1) * sizeof(size_t));
    memcpy(next, start, nb * sizeof(size_t));
    for (size_t i = 0; i < ds->n_train; i++) {
        /* The fused step takes each batch grouped by user (by_user order), the others in
         * position order. */
        const size_t r = t->fused ? t->by_user[i] : i;
        if (pos[r] >= kept)
            continue;
        const size_t b = pos[r] / bs;
        /* A batch whose every rating is here (always at one rank) is placed directly. */
        const size_t at =
            !t->fused && start[b + 1] - start[b] == bs ? start[b] + pos[r] % bs : next[b]++;
        trainer_place(t, at, r, (int64_t)pos[r]);
    }
    for (size_t b = 0; b < nb && !t->fused; b++)
        if (start[b + 1] - start[b] < bs)
            sort_bucket(t->order_pos + start[b], t->order + start[b], start[b + 1] - start[b]);
    free(next);
    if (t->fused) /* the epoch's item requests, all at once */
        exchange_plan_epoch(&t->x, t->bo_slot, t->bo_first, t->bo_item, start, nb);
    t->order_epoch = epoch;
}

/* ------------------------------------------------------------------------------- step */

/* Loads n rating rows (rows[j] into the given arrays, or first + j) into the batch. */
static void trainer_load(Trainer *t, const int32_t *user, const int32_t *item, const float *y,
                         const uint32_t *rows, size_t first, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        size_t r = rows ? rows[j] : first + j;
        t->b_user[j] = user[r] - (int32_t)t->user_lo;
        t->b_item[j] = item[r];
        t->b_y[j] = y[r];
    }
}

/* Squared (and, with ab, absolute) errors of the batch into order-free sums. */
static void trainer_errors(const float *pred, const float *y, size_t n, ExactSum *sq, ExactSum *ab)
{
    for (size_t j = 0; j < n; j++) {
        const double d = (double)(pred[j] - y[j]); /* exact: float difference */
        exact_add(sq, d * d);
        if (ab)
            exact_add(ab, fabs(d));
    }
}

/* Sums n ExactSums over the job and, in the same reduction, agrees on the flags. */
static void trainer_agree(Trainer *t, ExactSum *sums, int n)
{
    if (signals_caught())
        t->want[FLAG_STOP] = 1;
    memcpy(t->flags, t->want, sizeof t->flags);
    exchange_allreduce_exact(&t->x, sums, n, t->flags, TRAIN_FLAGS);
    memset(t->want, 0, sizeof t->want);
}

/* MODEL_NN's step for this rank's n loaded ratings of the batch at position pos0. The
 * dense head is replicated and every rank runs it on the whole batch, gathered in
 * position order: its gradients are the same bits on every rank and at any -np (no
 * cross-rank float sum), and BatchNorm sees the global batch. The gradient wrt every
 * rating's input is then on every rank: users add their own ratings' (position order),
 * and each item's owner adds its items' (position order), as the scatter would. */
static void trainer_nn_batch(Trainer *t, size_t n, int64_t pos0)
{
    Model *m = &t->model;
    const ModelSpec *s = &m->spec;
    const size_t bs = t->cfg.bs;
    const NNLocal in = {n, t->b_user, t->b_item, t->b_y, t->b_pos, pos0};
    exchange_nn_batch(&t->x, t->gx, t->gy, t->gitem, m, &in, bs);
    nn_forward(t->gz, &t->nnw, m->dense, m->stats, t->gx, bs, 1, &m->nn);
    model_squash(t->gpred, t->gz, s, bs);
    model_mse(t->dpred, t->gpred, t->gy, bs, (double)bs); /* t->dpred: (bs) scratch */
    model_squash_backward(t->gdz, t->dpred, t->gz, s, bs);
    nn_backward(m->g_dense, t->gdx, &t->nnw, m->dense, t->gx, t->gdz, bs, &m->nn);
    model_nn_take_rows(m, t->pred, t->gpred, t->gdx, t->b_user, t->b_pos, pos0, n);
    exchange_nn_item_grads(&t->x, m, t->gdx, t->gitem, bs);
}

/* The fixed-point scale of the fused step's item gradients: 2^(32 + ceil(log2 bs)). A
 * rating's gradient is (2/bs)(pred - y) times at most 5.5/4 times a factor, so the scaled
 * total of a batch stays far inside int64 while factors are below ~1000 (a model that
 * large has diverged, and its loss says so). */
static int trainer_fixed_exponent(size_t bs)
{
    int e = 0;
    while (((size_t)1 << e) < bs)
        e++;
    return 32 + e;
}

/* How far ahead the fused step prefetches scattered rows: ratings ahead (a user's ratings
 * are consecutive, so a few ratings is about as many users) and touched items ahead. */
enum { FUSED_USERS_AHEAD = 6, FUSED_ITEMS_AHEAD = 6 };

/* The sparse optimizers' step, fused: batch grouped by user -> gather each distinct item
 * once -> per user: forward, backward, and the user's update at once -> item gradients,
 * summed as integers, to their owners -> owners update the items -> loss. */
static double trainer_step_fused(Trainer *t, size_t b, double lr, double mom)
{
    const size_t first = t->batch_start[b], n = t->batch_start[b + 1] - first;
    const size_t k = t->cfg.model.k;
    const int32_t *user = t->bo_user + first;
    const float *y = t->bo_y + first;
    Model *m = &t->model;
    SlotRows sr;
    exchange_gather_planned(&t->x, &sr, m, b);
    const int e = trainer_fixed_exponent(t->cfg.bs);
    const FusedRatings fr = {t->bo_slot + first,
                             t->bo_first + first,
                             y,
                             n,
                             sr.f,
                             sr.b,
                             sr.acc,
                             (float)(2.0 / (double)t->cfg.bs),
                             ldexpf(1.0f, e)};
    optim_begin_step(&t->opt, m->params, lr);
    OptimScalars os;
    optim_scalars(&t->opt, lr, mom, &os);
    for (size_t j0 = 0, j1; j0 < n; j0 = j1) {
        const size_t u = (size_t)user[j0];
        for (j1 = j0 + 1; j1 < n && (size_t)user[j1] == u; j1++)
            ;
        if (j1 + FUSED_USERS_AHEAD < n) /* a later user's row and optimizer state */
            optim_prefetch_row(&t->opt, m->params, 0, (size_t)user[j1 + FUSED_USERS_AHEAD]);
        const float ub = m->user_b ? m->user_b[u] : 0.0f;
        model_fused_user(t->g_row, t->pred, &m->spec, m->user_f + u * k, ub, &fr, j0, j1);
        const float *g[2] = {t->g_row, t->g_row + k};
        optim_step_row(&t->opt, m->params, 0, u, g, &os);
    }
    const int64_t *rows;
    const size_t nt = exchange_reduce_slot_grads(&t->x, &sr, &rows);
    const double t0 = MPI_Wtime(), inv = ldexp(1.0, -e);
    for (size_t q = 0; q < nt; q++) {
        if (q + FUSED_ITEMS_AHEAD < nt)
            optim_prefetch_row(&t->opt, m->params, 1, (size_t)rows[2 * (q + FUSED_ITEMS_AHEAD)]);
        model_fixed_to_float(t->g_row, sr.acc + (size_t)rows[2 * q + 1] * (k + 1), k + 1, inv);
        const float *g[2] = {t->g_row, t->g_row + k};
        optim_step_row(&t->opt, m->params, 1, (size_t)rows[2 * q], g, &os);
    }
    t->update_seconds += MPI_Wtime() - t0;
    ExactSum loss = {0};
    trainer_errors(t->pred, y, n, &loss, NULL);
    trainer_agree(t, &loss, 1);
    return exact_value(&loss) / (double)t->cfg.bs;
}

/* What blocked training updates, at the fit's current stratum. */
static BlockStep trainer_block_step(Trainer *t)
{
    float *const(*acc)[2] = t->opt.acc;
    return (BlockStep){&t->model,        acc[0][0],
                       acc[0][1],        acc[1][0],
                       acc[1][1],        &t->cfg.sched,
                       t->iter,          t->cfg.optim.wd,
                       t->cfg.optim.eps, t->cfg.optim.kind == OPTIM_ADAGRAD};
}

/* Adds blocked training's counters since the last call to the exchange's. */
static void trainer_block_counters(Trainer *t)
{
    Blocks *b = &t->blk;
    t->x.seconds += b->seconds, t->x.bytes += b->bytes, t->x.messages += b->messages;
    b->seconds = 0.0, b->bytes = 0, b->messages = 0;
}

void trainer_settle(Trainer *t)
{
    if (!t->blocked)
        return;
    const BlockStep st = trainer_block_step(t);
    blocks_home(&t->blk, t->ctx, &st);
    trainer_block_counters(t);
}

/* Blocked training's step: stratum s of the epoch (blocks.h). Each rating's update takes
 * the schedule's lr at its place in the stratum, so lr and mom given are unused. Returns
 * the stratum's mean squared error before the updates. */
static double trainer_step_blocked(Trainer *t, size_t s)
{
    const BlockStep st = trainer_block_step(t);
    ExactSum sums[2] = {{0}, {0}};
    uint64_t n = 0;
    blocks_stratum(&t->blk, t->ctx, &st, s, &sums[0], &n);
    trainer_block_counters(t);
    for (uint64_t left = n, part; left > 0; left -= part) { /* ExactSum terms < 2^30 */
        part = left < ((uint64_t)1 << 29) ? left : (uint64_t)1 << 29;
        exact_add(&sums[1], (double)part);
    }
    trainer_agree(t, sums, 2);
    const double count = exact_value(&sums[1]);
    return count > 0 ? exact_value(&sums[0]) / count : 0.0;
}

/* The dense optimizers' step (Adam, SGD) on batch b: load the batch -> gather its item
 * rows -> forward -> backward -> scatter the item gradients to their owners (MODEL_NN:
 * the whole batch through the replicated head instead) -> update every row -> loss. */
static double trainer_step_dense(Trainer *t, size_t b, double lr, double mom)
{
    const Dataset *ds = t->ds;
    const size_t first = t->batch_start[b], n = t->batch_start[b + 1] - first;
    Model *m = &t->model;
    const int nn = m->dense != NULL;
    trainer_load(t, ds->train_user, ds->train_item, ds->train_rating, t->order + first, 0, n);
    memcpy(t->b_pos, t->order_pos + first, n * sizeof(int64_t));
    if (nn) {
        trainer_nn_batch(t, n, (int64_t)(b * t->cfg.bs));
    } else {
        exchange_gather_items(&t->x, t->irows, t->ibias, m, t->b_item, n);
        model_forward(t->pred, t->z, m, t->b_user, t->irows, t->ibias, n);
        model_mse(t->dpred, t->pred, t->b_y, n, (double)t->cfg.bs);
        model_backward(m, t->g_irows, t->g_ibias, t->dpred, t->pred, t->z, t->b_user, t->irows, n);
        exchange_scatter_item_grads(&t->x, m, t->g_irows, t->g_ibias, t->b_item, t->b_pos, n);
    }
    const double t0 = MPI_Wtime();
    optim_step(&t->opt, m->params, m->grads, lr, mom);
    model_zero_user_grads(m, t->b_user, n); /* zero_grad: only the rows written */
    exchange_zero_item_grads(&t->x, m);
    t->update_seconds += MPI_Wtime() - t0;
    ExactSum loss = {0};
    trainer_errors(t->pred, t->b_y, n, &loss, NULL);
    trainer_agree(t, &loss, 1);
    return exact_value(&loss) / (double)t->cfg.bs;
}

double trainer_step(Trainer *t, size_t b, double lr, double mom)
{
    if (t->blocked)
        return trainer_step_blocked(t, b);
    if (t->fused)
        return trainer_step_fused(t, b, lr, mom);
    return trainer_step_dense(t, b, lr, mom);
}

void trainer_sync(Trainer *t)
{
    optim_sync(&t->opt, t->model.params);
}

/* -------------------------------------------------------------------------------- fit */

/* Records where the fit diverged (t->diverged), clears the progress bar and returns 1, so
 * that fit stops there. Local (the loss it is given is the same on every rank). */
static int trainer_diverged(Trainer *t, Progress *bar, int epoch, size_t batch, double lr,
                            double loss)
{
    t->diverged = (TrainDiverged){1, epoch, batch, lr, loss};
    progress_clear(bar);
    return 1;
}

/* Training batches from t->start_batch to the end of the epoch; fills the row's training
 * fields. Returns nonzero when a hook stopped it. */
static int trainer_epoch(Trainer *t, int epoch, EpochRow *row, Progress *bar, const FitHooks *h)
{
    const WatchPhase step = t->blocked ? WATCH_STRATUM : WATCH_BATCH;
    /* Labelled before the shuffle, since the sparse optimizers' plan is collective. */
    watchdog_at(t->ctx->watch, step, epoch, (int64_t)t->start_batch);
    trainer_shuffle(t, epoch);
    char label[32];
    snprintf(label, sizeof label, "epoch %d", epoch);
    progress_start(bar, t->cfg.progress, label, t->blocked ? "stratum" : "batch",
                   (int64_t)t->n_batches);
    double lr = 0.0, mom = 0.0;
    for (size_t b = t->start_batch; b < t->n_batches; b++) {
        watchdog_at(t->ctx->watch, step, epoch, (int64_t)b); /* b - 1's collectives ended */
        schedule_at(&t->cfg.sched, t->iter, &lr, &mom);
        double loss = trainer_step(t, b, lr, mom);
        if (!isfinite(loss)) /* the job-wide sum: every rank stops here together */
            return trainer_diverged(t, bar, epoch, b, lr, loss);
        smooth_add(&t->smooth, loss);
        t->iter++;
        progress_update(bar, (int64_t)b + 1, smooth_value(&t->smooth));
        if (h && h->on_boundary && h->on_boundary(t, epoch, b + 1, 0, h->arg)) {
            progress_clear(bar);
            return 1;
        }
    }
    progress_clear(bar);
    t->start_batch = 0;
    row->lr = lr;
    row->mom = mom;
    row->train_loss = smooth_value(&t->smooth);
    return 0;
}

/* Job-wide counters of the epoch: bytes and messages summed, the imbalance of the
 * local (non-exchange) work as max over mean. */
static void trainer_epoch_stats(Trainer *t, EpochRow *row)
{
    double work = row->train_seconds - t->x.seconds, wmax = 0.0, wsum = 0.0;
    uint64_t counts[2] = {t->x.bytes, t->x.messages};
    CHECK_MPI(MPI_Allreduce(&work, &wmax, 1, MPI_DOUBLE, MPI_MAX, t->ctx->comm));
    CHECK_MPI(MPI_Allreduce(&work, &wsum, 1, MPI_DOUBLE, MPI_SUM, t->ctx->comm));
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_UINT64_T, MPI_SUM, t->ctx->comm));
    row->exchange_seconds = t->x.seconds;
    row->update_seconds = t->update_seconds;
    row->compute_seconds = work - t->update_seconds;
    row->imbalance = wsum > 0 ? wmax / (wsum / t->ctx->size) : 1.0;
    row->exchange_bytes = counts[0];
    row->exchange_messages = counts[1];
}

int trainer_fit(Trainer *t, const FitHooks *h)
{
    EpochRow row = {0};
    Progress bar;
    for (int e = t->start_epoch; e < t->cfg.epochs; e++) {
        exchange_reset_counters(&t->x);
        t->update_seconds = 0.0;
        const double t0 = MPI_Wtime();
        row.epoch = e;
        if (trainer_epoch(t, e, &row, &bar, h))
            return 1;
        trainer_settle(t); /* blocked training's last moves are the epoch's */
        row.train_seconds = MPI_Wtime() - t0;
        row.train_loss = smooth_value(&t->smooth);
        trainer_epoch_stats(t, &row);
        row.valid_loss = trainer_validate(t, &row.valid_mae);
        if (t->flags[FLAG_STOP] && h && h->on_boundary &&
            h->on_boundary(t, e, t->n_batches, 0, h->arg))
            return 1; /* stopped in validation: resume re-runs it */
        row.seconds = MPI_Wtime() - t0;
        if (h && h->on_epoch)
            h->on_epoch(&row, h->arg);
        if (h && h->on_boundary && h->on_boundary(t, e + 1, 0, 1, h->arg))
            return 1;
    }
    trainer_settle(t);
    trainer_sync(t);
    return 0;
}

/* ------------------------------------------------------------------------- validation */

/* MODEL_NN's predictions for the n loaded ratings, whose item rows sr holds, in
 * evaluation mode (BatchNorm with its running statistics): each rating on its own, so
 * each rank does its own, in pieces of the workspace's rows. */
static void trainer_predict_nn(Trainer *t, const SlotRows *sr, size_t n)
{
    Model *m = &t->model;
    for (size_t j0 = 0, cnt; j0 < n; j0 += cnt) {
        cnt = n - j0 < t->nnw.cap ? n - j0 : t->nnw.cap;
        model_nn_inputs(t->nx, m, t->b_user + j0, t->b_slot + j0, sr->f, cnt);
        nn_forward(t->gz, &t->nnw, m->dense, m->stats, t->nx, cnt, 0, &m->nn);
        model_squash(t->pred + j0, t->gz, &m->spec, cnt);
    }
}

double trainer_validate(Trainer *t, double *mae)
{
    const Dataset *ds = t->ds;
    trainer_settle(t);
    trainer_sync(t);
    ExactSum sums[2] = {{0}, {0}};
    for (size_t round = 0; round < t->valid_rounds; round++) {
        watchdog_at(t->ctx->watch, WATCH_VALID, t->order_epoch, (int64_t)round);
        trainer_agree(t, NULL, 0); /* a signal stops validation at a chunk boundary too */
        if (t->flags[FLAG_STOP])
            return NAN;
        const size_t first = round * VALID_CHUNK;
        size_t n = first < ds->n_valid ? ds->n_valid - first : 0;
        n = n < VALID_CHUNK ? n : VALID_CHUNK;
        trainer_load(t, ds->valid_user, ds->valid_item, ds->valid_rating, NULL, first, n);
        SlotRows sr;
        exchange_gather_slots(&t->x, &sr, t->b_slot, t->b_first, &t->model, t->b_item, n, 0);
        if (t->model.dense)
            trainer_predict_nn(t, &sr, n);
        else
            model_forward_slots(t->pred, &t->model, t->b_user, t->b_slot, sr.f, sr.b, n);
        trainer_errors(t->pred, t->b_y, n, &sums[0], &sums[1]);
    }
    trainer_agree(t, sums, 2);
    const double nv = (double)ds->n_valid_total;
    if (mae)
        *mae = nv > 0 ? exact_value(&sums[1]) / nv : NAN;
    return nv > 0 ? exact_value(&sums[0]) / nv : NAN;
}

/* ------------------------------------------------------------------- checkpoint state */

void trainer_progress(const Trainer *t, int epoch, size_t batch, CkptProgress *p)
{
    *p = (CkptProgress){.epoch = epoch,
                        .batch = (int64_t)batch,
                        .iter = t->iter,
                        .opt_step = t->opt.step,
                        .smooth_val = t->smooth.val,
                        .smooth_count = t->smooth.count,
                        .epochs = t->cfg.epochs,
                        .decay_prod = t->opt.decay_prod};
}

void trainer_resume(Trainer *t, const CkptProgress *p)
{
    t->start_epoch = (int)p->epoch;
    t->start_batch = (size_t)p->batch;
    t->iter = p->iter;
    t->opt.step = p->opt_step;
    t->smooth.val = p->smooth_val;
    t->smooth.count = p->smooth_count;
    t->opt.decay_prod = t->opt.decay_prev = p->decay_prod;
}

void trainer_share_replicated(Trainer *t)
{
    Model *m = &t->model;
    if (!m->dense)
        return;
    const size_t off = (size_t)(m->dense - m->params), np = m->nn.n_params;
    float *bufs[3] = {m->params, t->opt.m, t->opt.v};
    for (int i = 0; i < 3; i++)
        if (bufs[i])
            CHECK_MPI(MPI_Bcast(bufs[i] + off, (int)np, MPI_FLOAT, 0, t->ctx->comm));
    if (m->nn.n_stats)
        CHECK_MPI(MPI_Bcast(m->stats, (int)m->nn.n_stats, MPI_FLOAT, 0, t->ctx->comm));
}
