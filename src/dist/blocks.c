/* blocks.c - blocked training (blocks.h): the grid of user and item blocks, the
 * staging of a stratum's item rows, and the per-rating kernel.
 *
 * Dimension letters: k factors; a staged item row is k factors, the bias, the factors'
 * and the bias's Adagrad accumulators, padded to `stride` floats (a multiple of 16, so
 * rows start on cache-line boundaries when the stage does). */
#include "config.h"

#include "collab/dist/blocks.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/lanes.h"
#include "collab/base/rng.h"
#include "collab/model/kernel.h"

/* Ratings ahead whose item row is prefetched. */
enum { ITEM_AHEAD = 4 };
/* Slots past the factors in a staged row. */
enum { ROW_BIAS = 0, ROW_ACC_F = 1, ROW_ACC_B = 2, ROW_EXTRA = 3 };

/* ------------------------------------------------------------------ the grid */

typedef struct ItemCount {
    uint64_t count;
    int32_t id;
} ItemCount;

static int cmp_popular(const void *a, const void *b)
{
    const ItemCount *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Items dealt to blocks by popularity: the t-th most rated item (ties by id) goes to
 * block t mod B on even rounds and B-1 - t mod B on odd ones (a snake draft), so the
 * blocks' rating totals differ by about one item's count. *block_of gets each item's
 * block and *place_of its place in the block (n_items each; the caller frees them). */
static void blocks_cut_items(Blocks *b, const Ctx *ctx, const Dataset *ds, int32_t **block_of,
                             uint64_t **place_of)
{
    const size_t ni = ds->layout.n_items, nb = (size_t)b->nb;
    if (ni > INT32_MAX)
        check_fail(__FILE__, __LINE__, "%zu items", ni);
    uint64_t *count = xcalloc(ni ? ni : 1, sizeof *count);
    for (size_t r = 0; r < ds->n_train; r++)
        count[ds->train_item[r]]++;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, count, (int)ni, MPI_UINT64_T, MPI_SUM, ctx->comm));
    ItemCount *ic = xmalloc((ni ? ni : 1) * sizeof *ic);
    for (size_t i = 0; i < ni; i++)
        ic[i] = (ItemCount){count[i], (int32_t)i};
    qsort(ic, ni, sizeof *ic, cmp_popular);
    int32_t *block = xmalloc((ni ? ni : 1) * sizeof *block);
    b->item_start = xcalloc(nb + 1, sizeof(size_t));
    for (size_t t = 0; t < ni; t++) {
        const size_t round = t / nb, at = t % nb;
        block[ic[t].id] = (int32_t)(round % 2 ? nb - 1 - at : at);
        b->item_start[block[ic[t].id] + 1]++;
    }
    for (size_t j = 0; j < nb; j++) {
        b->item_start[j + 1] += b->item_start[j];
        const size_t sz = b->item_start[j + 1] - b->item_start[j];
        b->stage_cap = sz > b->stage_cap ? sz : b->stage_cap;
    }
    /* Items by (block, id), and each item's place in its block (in count, now spent). */
    b->items = xmalloc((ni ? ni : 1) * sizeof(int32_t));
    size_t *next = xmalloc((nb + 1) * sizeof(size_t));
    memcpy(next, b->item_start, (nb + 1) * sizeof(size_t));
    for (size_t i = 0; i < ni; i++) {
        const size_t at = next[block[i]]++;
        b->items[at] = (int32_t)i;
        count[i] = at - b->item_start[block[i]];
    }
    *block_of = block;
    *place_of = count;
    free(next);
    free(ic);
}

/* split[j][r]: the place in block j of rank r's first item (block items are sorted by id,
 * and ranks own contiguous id ranges, so each rank's items are one run per block). */
static void blocks_split(Blocks *b, const Layout *l)
{
    const size_t p = (size_t)b->nranks;
    b->split = xmalloc((size_t)b->nb * (p + 1) * sizeof(size_t));
    for (size_t j = 0; j < (size_t)b->nb; j++) {
        const int32_t *it = b->items + b->item_start[j];
        const size_t n = b->item_start[j + 1] - b->item_start[j];
        size_t at = 0;
        for (size_t r = 0; r <= p; r++) {
            const size_t lo = r < p ? layout_item_lo(l, (int)r) : l->n_items;
            while (at < n && (size_t)it[at] < lo)
                at++;
            b->split[j * (p + 1) + r] = at;
        }
    }
}

/* This rank's ratings into cells (c, j) by a counting sort in by_user order, so each cell
 * holds its ratings by user, then in file order. */
static void blocks_cut_ratings(Blocks *b, const Dataset *ds, const uint32_t *by_user,
                               const int32_t *block, const uint64_t *place)
{
    const Layout *l = &ds->layout;
    const size_t nb = (size_t)b->nb, nc = (size_t)b->cnt * nb, n = ds->n_train;
    const size_t user_lo = layout_user_lo(l, b->rank);
    b->cell = xcalloc(nc + 1, sizeof(size_t));
    uint32_t *cell_of = xmalloc((n ? n : 1) * sizeof(uint32_t));
    for (size_t r = 0, c = 0; r < n; r++) {
        const size_t u = (size_t)ds->train_user[by_user[r]];
        while (l->block_start[(size_t)b->lo + c + 1] <= u)
            c++; /* by_user is in user order, so the user block only moves forward */
        cell_of[r] = (uint32_t)(c * nb + (size_t)block[ds->train_item[by_user[r]]]);
        b->cell[cell_of[r] + 1]++;
    }
    for (size_t c = 0; c < nc; c++)
        b->cell[c + 1] += b->cell[c];
    b->r_user = xmalloc((n ? n : 1) * sizeof(int32_t));
    b->r_item = xmalloc((n ? n : 1) * sizeof(int32_t));
    b->r_y = xmalloc((n ? n : 1) * sizeof(float));
    for (size_t r = 0; r < n; r++) {
        const size_t row = by_user[r], at = b->cell[cell_of[r]]++;
        b->r_user[at] = (int32_t)((size_t)ds->train_user[row] - user_lo);
        b->r_item[at] = (int32_t)place[ds->train_item[row]];
        b->r_y[at] = ds->train_rating[row];
    }
    /* cell[c] is now the end of cell c, the start of c + 1: shift back. */
    memmove(b->cell + 1, b->cell, nc * sizeof(size_t));
    b->cell[0] = 0;
    free(cell_of);
}

void blocks_init(Blocks *b, const Ctx *ctx, const Dataset *ds, const uint32_t *by_user, size_t k)
{
    const Layout *l = &ds->layout;
    memset(b, 0, sizeof *b);
    b->nb = l->nblocks;
    b->nranks = ctx->size;
    b->rank = ctx->rank;
    b->lo = layout_block_lo(l, ctx->rank);
    b->cnt = layout_block_lo(l, ctx->rank + 1) - b->lo;
    b->k = k;
    b->stride = (k + ROW_EXTRA + 15) / 16 * 16;
    b->item_lo = layout_item_lo(l, ctx->rank);
    b->epoch = -1;
    b->layout = l;
    int32_t *block;
    uint64_t *place;
    blocks_cut_items(b, ctx, ds, &block, &place);
    blocks_split(b, l);
    blocks_cut_ratings(b, ds, by_user, block, place);
    free(block);
    free(place);
    const size_t own = layout_item_count(l, ctx->rank), cap = b->stage_cap ? b->stage_cap : 1;
    b->stage = xmalloc((size_t)(b->cnt ? b->cnt : 1) * cap * b->stride * sizeof(float));
    b->stage2 = xmalloc((size_t)(b->cnt ? b->cnt : 1) * cap * b->stride * sizeof(float));
    b->reqs = xmalloc(2 * (size_t)(b->cnt ? b->cnt : 1) * sizeof(MPI_Request));
    b->block_rank = xmalloc((size_t)b->nb * sizeof(int));
    for (int r = 0; r < ctx->size; r++)
        for (int i = layout_block_lo(l, r); i < layout_block_lo(l, r + 1); i++)
            b->block_rank[i] = r;
    b->pack = xmalloc((own ? own : 1) * b->stride * sizeof(float));
    /* a peer sends this rank at most one run per block this rank meets */
    const size_t p = (size_t)ctx->size, runs = (size_t)(b->cnt ? b->cnt : 1);
    int **ints[] = {&b->scount, &b->sdispl, &b->rcount, &b->rdispl};
    for (size_t i = 0; i < 4; i++)
        *ints[i] = xmalloc(p * sizeof(int));
    b->stype = xmalloc(p * sizeof(MPI_Datatype));
    b->rtype = xmalloc(p * sizeof(MPI_Datatype));
    b->rlen = xmalloc(runs * sizeof(int));
    b->roff = xmalloc(runs * sizeof(MPI_Aint));
    b->shift = xmalloc((size_t)b->nb * sizeof(uint32_t));
    if (b->stride > INT_MAX || own > INT_MAX || cap > INT_MAX)
        check_fail(__FILE__, __LINE__, "item blocks of %zu rows of %zu floats", cap, b->stride);
    CHECK_MPI(MPI_Type_contiguous((int)b->stride, MPI_FLOAT, &b->row_type));
    CHECK_MPI(MPI_Type_commit(&b->row_type));
}

void blocks_free(Blocks *b)
{
    void *bufs[] = {b->item_start, b->items, b->split,     b->cell,   b->r_user, b->r_item,
                    b->r_y,        b->stage, b->pack,      b->scount, b->sdispl, b->rcount,
                    b->rdispl,     b->stype, b->rtype,     b->rlen,   b->roff,   b->shift,
                    b->stage2,     b->reqs,  b->block_rank};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]);
    if (b->row_type != 0 && b->row_type != MPI_DATATYPE_NULL)
        MPI_Type_free(&b->row_type);
    memset(b, 0, sizeof *b);
}

void blocks_shuffle(Blocks *b, uint64_t seed, int epoch)
{
    if (b->epoch == epoch)
        return;
    Perm p;
    perm_init(&p, (uint64_t)b->nb, seed, RNG_STREAM_STRATA, (uint64_t)epoch);
    for (int s = 0; s < b->nb; s++)
        b->shift[s] = (uint32_t)perm_apply(&p, (uint64_t)s);
    b->epoch = epoch;
}

/* ------------------------------------------------------------------ staging */

/* The item block user block i meets in the stratum with shift sh. */
static size_t block_met(const Blocks *b, size_t i, uint32_t sh)
{
    return (i + sh) % (size_t)b->nb;
}

/* One peer's part of an MPI_Alltoallw: rows rows at byte offset off, as a count and an int
 * displacement of row_type when the offset fits an int, else as one derived type at
 * displacement 0 (large tables: a rank's share of the items over 2 GB). */
static void plan_entry(const Blocks *b, size_t rows, MPI_Aint off, int *count, int *displ,
                       MPI_Datatype *type)
{
    *type = b->row_type;
    *count = (int)rows;
    *displ = (int)off;
    if (off <= INT_MAX)
        return;
    const int len = (int)rows;
    CHECK_MPI(MPI_Type_create_hindexed(1, &len, &off, b->row_type, type));
    CHECK_MPI(MPI_Type_commit(type));
    *count = 1, *displ = 0;
}

/* The stratum's plan: per peer q, the rows this rank sends it (its own items of the blocks
 * q's user blocks meet, q-major then q's blocks in order, packed contiguously in b->pack)
 * and how the rows q sends land in the stage (q's items of each block this rank meets, at
 * their places in the block's stage slot: several runs, so a derived type when q sends
 * more than one). One MPI_Alltoallw per direction then moves a whole stratum. */
static void stage_plan(Blocks *b, uint32_t sh)
{
    const Layout *l = b->layout;
    const size_t p = (size_t)b->nranks, me = (size_t)b->rank, w = b->stride * sizeof(float);
    size_t sent = 0;
    for (size_t q = 0; q < p; q++) {
        const size_t qlo = (size_t)layout_block_lo(l, (int)q);
        const size_t qhi = (size_t)layout_block_lo(l, (int)q + 1);
        size_t rows = 0;
        for (size_t i = qlo; i < qhi; i++) {
            const size_t *sp = b->split + block_met(b, i, sh) * (p + 1);
            rows += sp[me + 1] - sp[me];
        }
        plan_entry(b, rows, (MPI_Aint)(sent * w), &b->scount[q], &b->sdispl[q], &b->stype[q]);
        sent += rows;
        /* what q sends this rank: one run per block this rank meets */
        int runs = 0;
        for (size_t c = 0; c < (size_t)b->cnt; c++) {
            const size_t *sp = b->split + block_met(b, (size_t)b->lo + c, sh) * (p + 1);
            if (sp[q + 1] > sp[q]) {
                b->rlen[runs] = (int)(sp[q + 1] - sp[q]);
                b->roff[runs] = (MPI_Aint)((c * b->stage_cap + sp[q]) * w);
                runs++;
            }
        }
        if (runs <= 1) {
            plan_entry(b, runs ? (size_t)b->rlen[0] : 0, runs ? b->roff[0] : 0, &b->rcount[q],
                       &b->rdispl[q], &b->rtype[q]);
        } else {
            CHECK_MPI(MPI_Type_create_hindexed(runs, b->rlen, b->roff, b->row_type, &b->rtype[q]));
            CHECK_MPI(MPI_Type_commit(&b->rtype[q]));
            b->rcount[q] = 1, b->rdispl[q] = 0;
        }
    }
}

/* Frees the plan's derived types. */
static void stage_unplan(Blocks *b)
{
    for (int q = 0; q < b->nranks; q++) {
        if (b->rtype[q] != b->row_type)
            MPI_Type_free(&b->rtype[q]);
        if (b->stype[q] != b->row_type)
            MPI_Type_free(&b->stype[q]);
    }
}

/* Own rows of the blocks the plan sends, in the plan's order, to (out) or from b->pack. */
static void stage_copy(Blocks *b, uint32_t sh, const BlockStep *st, int out)
{
    const Layout *l = b->layout;
    const Model *m = st->m;
    const size_t p = (size_t)b->nranks, me = (size_t)b->rank, k = b->k, w = b->stride;
    float *row = b->pack;
    for (size_t q = 0; q < p; q++)
        for (size_t i = (size_t)layout_block_lo(l, (int)q);
             i < (size_t)layout_block_lo(l, (int)q + 1); i++) {
            const size_t j = block_met(b, i, sh), *sp = b->split + j * (p + 1);
            const int32_t *it = b->items + b->item_start[j];
            for (size_t a = sp[me]; a < sp[me + 1]; a++, row += w) {
                const size_t r = (size_t)it[a] - b->item_lo;
                float *f = m->item_f + r * k, *e = row + k;
                float *bias = m->item_b ? m->item_b + r : NULL;
                float *af = st->acc_item_f ? st->acc_item_f + r : NULL;
                float *ab = st->acc_item_b ? st->acc_item_b + r : NULL;
                if (out) {
                    memcpy(row, f, k * sizeof(float));
                    e[ROW_BIAS] = bias ? *bias : 0.0f;
                    e[ROW_ACC_F] = af ? *af : 0.0f;
                    e[ROW_ACC_B] = ab ? *ab : 0.0f;
                } else {
                    memcpy(f, row, k * sizeof(float));
                    if (bias)
                        *bias = e[ROW_BIAS];
                    if (af)
                        *af = e[ROW_ACC_F];
                    if (ab)
                        *ab = e[ROW_ACC_B];
                }
            }
        }
}

/* The stratum's rows: to the ranks that meet them (out), or back home. */
static void stage_move(Blocks *b, const Ctx *ctx, uint32_t sh, const BlockStep *st, int out)
{
    if (out)
        stage_copy(b, sh, st, 1);
    const double t0 = MPI_Wtime();
    if (out)
        CHECK_MPI(MPI_Alltoallw(b->pack, b->scount, b->sdispl, b->stype, b->stage, b->rcount,
                                b->rdispl, b->rtype, ctx->comm));
    else
        CHECK_MPI(MPI_Alltoallw(b->stage, b->rcount, b->rdispl, b->rtype, b->pack, b->scount,
                                b->sdispl, b->stype, ctx->comm));
    b->seconds += MPI_Wtime() - t0;
    b->messages++;
    for (int q = 0; q < b->nranks; q++) /* payload to other ranks, as the exchange counts it */
        if (q != b->rank) {
            MPI_Count size;
            CHECK_MPI(MPI_Type_size_x(out ? b->stype[q] : b->rtype[q], &size));
            b->bytes += (uint64_t)size * (uint64_t)(out ? b->scount[q] : b->rcount[q]);
        }
    if (!out)
        stage_copy(b, sh, st, 0);
}

/* ------------------------------------------------------------------ the kernel */

/* The scalars of one chunk of a cell: the learning rate's step and the decay. */
typedef struct Hyper {
    float neg_lr, decay, eps;
    int adagrad;
    int has_b, has_range;
    float lo, span;
} Hyper;

/* The step scales of one rating's four rows: user factors, item factors, user bias, item
 * bias (each times the rating's gradient g gives the step). */
typedef struct Scales {
    float uf, vf, ub, vb;
} Scales;

/* Row-wise Adagrad's scales for one rating at user row u and staged item row q (k factors,
 * then e = q + k): each accumulator gains the mean of its row's gradient's squares, g^2
 * <v,v>/k for the user's factors and g^2 <u,u>/k for the item's (uu = <u,u>, vv = <v,v>,
 * inv_k = 1/k), g^2 for each bias (g2 = g^2; has_b: the model has biases). */
LANES_INLINE Scales adagrad_scales(const BlockStep *st, const Hyper *h, size_t u, float *e,
                                   int has_b, float g2, float uu, float vv, float inv_k)
{
    Scales sc = {h->neg_lr, h->neg_lr, h->neg_lr, h->neg_lr};
    sc.uf = kernel_adagrad_scale(st->acc_user_f + u, g2 * (vv * inv_k), h->neg_lr, h->eps);
    sc.vf = kernel_adagrad_scale(e + ROW_ACC_F, g2 * (uu * inv_k), h->neg_lr, h->eps);
    if (has_b) {
        sc.ub = kernel_adagrad_scale(st->acc_user_b + u, g2, h->neg_lr, h->eps);
        sc.vb = kernel_adagrad_scale(e + ROW_ACC_B, g2, h->neg_lr, h->eps);
    }
    return sc;
}

/* Prefetches the w floats of a staged item row for writing. */
LANES_INLINE void prefetch_row(const float *row, size_t w)
{
    for (size_t c = 0; c < w; c += 16)
        __builtin_prefetch(row + c, 1);
}

/* Ratings j0..j1-1 of a cell, one at a time: z = <u, v> + b_u + b_v; pred = sigmoid_range(z)
 * or z; g = d (pred - y)^2 / dz; then both rows step from their old values (kernel.h), with
 * Adagrad's scales when it is on. Returns the sum of the squared errors. The k sums run in
 * 16 fixed lanes, then pairwise (lanes.h); the squared norms only for Adagrad. h comes by
 * value: a copy the rows' float stores cannot alias, so its fields stay in registers. */
LANES_CLONES
static double cell_run(const Blocks *b, const BlockStep *st, Hyper h, float *stage, size_t j0,
                       size_t j1)
{
    Model *m = st->m;
    const size_t k = b->k, w = b->stride;
    const float inv_k = 1.0f / (float)k;
    double sq = 0.0;
    for (size_t j = j0; j < j1; j++) {
        if (j + ITEM_AHEAD < j1)
            prefetch_row(stage + (size_t)b->r_item[j + ITEM_AHEAD] * w, w);
        const size_t u = (size_t)b->r_user[j];
        float *pu = m->user_f + u * k, *q = stage + (size_t)b->r_item[j] * w, *e = q + k;
        float *bu = h.has_b ? m->user_b + u : NULL;
        V16 d = {0}, pp = {0}, qq = {0};
        if (h.adagrad)
            lanes_accumulate(&d, &pp, &qq, pu, q, k);
        else
            lanes_accumulate(&d, NULL, NULL, pu, q, k);
        V16_FOLD(d);
        float z = d[0], sg;
        if (bu)
            z = z + (*bu + e[ROW_BIAS]);
        const float err = kernel_predict(&sg, z, h.has_range, h.lo, h.span) - b->r_y[j];
        const float g = kernel_dz(err, sg, 2.0f, h.has_range, h.span);
        sq += (double)err * (double)err;
        Scales sc = {h.neg_lr, h.neg_lr, h.neg_lr, h.neg_lr};
        if (h.adagrad) {
            V16_FOLD(pp);
            V16_FOLD(qq);
            sc = adagrad_scales(st, &h, u, e, bu != NULL, g * g, pp[0], qq[0], inv_k);
        }
        kernel_pair_step(pu, q, k, h.decay, g * sc.uf, g * sc.vf);
        if (bu) {
            kernel_row_step(bu, &g, 1, h.decay, sc.ub);
            kernel_row_step(e + ROW_BIAS, &g, 1, h.decay, sc.vb);
        }
    }
    return sq;
}

/* Cell (c, j)'s ratings in chunks of BLOCKS_LR_CHUNK, each with the schedule's lr at its start:
 * position iter + (place in the cell) / (cell size), in strata. */
static void cell_fit(const Blocks *b, const BlockStep *st, float *stage, size_t c0, size_t c1,
                     ExactSum *sq)
{
    const ModelSpec *s = &st->m->spec;
    Hyper h = {0,
               0,
               (float)st->eps,
               st->adagrad,
               st->m->user_b != NULL,
               s->has_range,
               s->y_lo,
               s->y_hi - s->y_lo};
    const double n = (double)(c1 - c0), total = (double)st->sched->total;
    for (size_t a = c0; a < c1; a += BLOCKS_LR_CHUNK) {
        const size_t e = c1 - a < BLOCKS_LR_CHUNK ? c1 : a + BLOCKS_LR_CHUNK;
        double lr, mom;
        schedule_at_pos(st->sched, ((double)st->iter + (double)(a - c0) / n) / total, &lr, &mom);
        h.neg_lr = (float)-lr;
        h.decay = (float)(1.0 - lr * st->wd);
        exact_add(sq, cell_run(b, st, h, stage, a, e));
    }
}

/* Staged blocks from the layout of shift `from` to that of shift `to`: each item block goes
 * from the rank (and slot) whose user block met it to the one whose user block meets it
 * next, by a message when that is another rank, by a copy when not (into the second
 * stage, which then becomes the first). */
static void stage_pass(Blocks *b, const Ctx *ctx, uint32_t from, uint32_t to)
{
    const size_t nb = (size_t)b->nb, cap = b->stage_cap, w = b->stride;
    int nreq = 0;
    const double t0 = MPI_Wtime();
    for (size_t c = 0; c < (size_t)b->cnt; c++) { /* what this rank's user blocks meet next */
        const size_t j = block_met(b, (size_t)b->lo + c, to), i = (j + nb - from) % nb;
        const int rows = (int)(b->item_start[j + 1] - b->item_start[j]), r = b->block_rank[i];
        float *dst = b->stage2 + c * cap * w;
        if (r == b->rank)
            memcpy(dst, b->stage + (i - (size_t)b->lo) * cap * w, (size_t)rows * w * sizeof(float));
        else
            CHECK_MPI(MPI_Irecv(dst, rows, b->row_type, r, (int)j, ctx->comm, &b->reqs[nreq++]));
    }
    for (size_t c = 0; c < (size_t)b->cnt; c++) { /* where the blocks met last go */
        const size_t j = block_met(b, (size_t)b->lo + c, from), i = (j + nb - to) % nb;
        const int rows = (int)(b->item_start[j + 1] - b->item_start[j]), r = b->block_rank[i];
        if (r == b->rank)
            continue;
        CHECK_MPI(MPI_Isend(b->stage + c * cap * w, rows, b->row_type, r, (int)j, ctx->comm,
                            &b->reqs[nreq++]));
        b->bytes += (uint64_t)rows * w * sizeof(float);
        b->messages++;
    }
    CHECK_MPI(MPI_Waitall(nreq, b->reqs, MPI_STATUSES_IGNORE));
    b->seconds += MPI_Wtime() - t0;
    float *t = b->stage;
    b->stage = b->stage2, b->stage2 = t;
}

void blocks_stratum(Blocks *b, const Ctx *ctx, const BlockStep *st, size_t s, ExactSum *sq,
                    uint64_t *n)
{
    const uint32_t sh = b->shift[s];
    const size_t nb = (size_t)b->nb;
    if (b->staged) {
        stage_pass(b, ctx, b->staged_shift, sh);
    } else {
        stage_plan(b, sh);
        stage_move(b, ctx, sh, st, 1);
        stage_unplan(b);
    }
    b->staged = 1, b->staged_shift = sh;
    for (size_t c = 0; c < (size_t)b->cnt; c++) {
        const size_t j = block_met(b, (size_t)b->lo + c, sh), at = c * nb + j;
        float *stage = b->stage + c * b->stage_cap * b->stride;
        cell_fit(b, st, stage, b->cell[at], b->cell[at + 1], sq);
        *n += b->cell[at + 1] - b->cell[at];
    }
}

void blocks_home(Blocks *b, const Ctx *ctx, const BlockStep *st)
{
    int staged = b->staged;
    /* The same on every rank (the schedule is); checked, since a rank skipping this
     * collective would hang the others. */
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &staged, 1, MPI_INT, MPI_MAX, ctx->comm));
    if (!staged)
        return;
    stage_plan(b, b->staged_shift);
    stage_move(b, ctx, b->staged_shift, st, 0);
    stage_unplan(b);
    b->staged = 0;
}
