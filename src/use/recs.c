/* recs.c - top-N lists for all of a rank's users, the item blocks passed around a ring;
 * and the popularity ranking. */
#include "config.h"

#include "collab/use/recs.h"

#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"

/* ------------------------------------------------------------------ exclusions */

/* First position in the sorted list whose item is >= item. */
static size_t lower_bound(const int32_t *rated, size_t n, int32_t item)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rated[mid] < item)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int recs_contains(const int32_t *rated, size_t n, int32_t item)
{
    const size_t at = lower_bound(rated, n, item);
    return at < n && rated[at] == item;
}

/* ------------------------------------------------------------------ the ring */

/* An item block on the move: rows [lo, lo + n) of the item tables, the factors
 * transposed so that a user is scored against the whole block in vectorised loops. */
typedef struct Block {
    size_t lo, n;
    float *f; /* (k, n) in a (k, cap) allocation */
    float *b; /* (cap) or NULL for DotProduct */
} Block;

/* Scores one user (local row j) against block blk into its list. stamp (blk.n) marks the
 * block's items the user rated with the value mark. */
static void score_user(RecsLists *out, Infer *in, const Block *blk, size_t j, const int32_t *rated,
                       size_t n_rated, uint32_t *stamp, uint32_t mark, float *pred, float *urow)
{
    for (size_t r = lower_bound(rated, n_rated, (int32_t)blk->lo);
         r < n_rated && (size_t)rated[r] < blk->lo + blk->n; r++)
        stamp[(size_t)rated[r] - blk->lo] = mark;
    infer_user_row(in, urow, in->user_lo + j);
    infer_score_items(in, pred, urow, blk->f, blk->b, blk->n);
    float *score = out->score + j * out->cap;
    int32_t *item = out->item + j * out->cap;
    for (size_t i = 0; i < blk->n; i++) {
        const size_t g = blk->lo + i;
        if (g != 0 && stamp[i] != mark)
            topn_push_raw(score, item, &out->count[j], out->cap, pred[i], (int32_t)g);
    }
}

/* Sends blk to the previous rank and receives the next rank's block into nxt: the block
 * of item owner `owner`. */
static void ring_shift(const Infer *in, const Block *blk, Block *nxt, int owner)
{
    const Ctx *ctx = in->ctx;
    const int prev = (ctx->rank + ctx->size - 1) % ctx->size, next = (ctx->rank + 1) % ctx->size;
    const int k = (int)in->mf->spec.k;
    nxt->lo = layout_item_lo(&in->layout, owner);
    nxt->n = layout_item_count(&in->layout, owner);
    CHECK_MPI(MPI_Sendrecv(blk->f, (int)blk->n * k, MPI_FLOAT, prev, 0, nxt->f, (int)nxt->n * k,
                           MPI_FLOAT, next, 0, ctx->comm, MPI_STATUS_IGNORE));
    if (blk->b)
        CHECK_MPI(MPI_Sendrecv(blk->b, (int)blk->n, MPI_FLOAT, prev, 1, nxt->b, (int)nxt->n,
                               MPI_FLOAT, next, 1, ctx->comm, MPI_STATUS_IGNORE));
}

static void block_alloc(Block *b, size_t cap, size_t k, int bias)
{
    b->f = xmalloc((cap * k + 1) * sizeof(float));
    b->b = bias ? xmalloc((cap + 1) * sizeof(float)) : NULL;
}

void recs_topn_all(RecsLists *out, Infer *in, const size_t *start, const int32_t *rated,
                   const uint8_t *want, size_t cap)
{
    const size_t k = in->mf->spec.k, nu = in->m.n_users;
    const int p = in->ctx->size, bias = in->m.item_b != NULL;
    out->n_users = nu;
    out->cap = cap;
    out->count = xcalloc(nu + 1, sizeof(size_t));
    out->score = xmalloc((nu * cap + 1) * sizeof(float));
    out->item = xmalloc((nu * cap + 1) * sizeof(int32_t));
    size_t maxb = layout_item_count(&in->layout, 0); /* the first blocks are the largest */
    Block cur = {in->item_lo, in->m.n_items, NULL, NULL}, nxt = {0, 0, NULL, NULL};
    block_alloc(&cur, maxb, k, bias);
    block_alloc(&nxt, maxb, k, bias);
    float *own = infer_items_t(in);
    memcpy(cur.f, own, cur.n * k * sizeof(float));
    free(own);
    if (bias)
        memcpy(cur.b, in->m.item_b, cur.n * sizeof(float));
    uint32_t *stamp = xcalloc(maxb + 1, sizeof(uint32_t)), mark = 0;
    float *pred = xmalloc((maxb + 1) * sizeof(float)), *urow = xmalloc(in->uw * sizeof(float));
    for (int s = 0; s < p; s++) {
        for (size_t j = 0; j < nu; j++) {
            if (want && !want[j])
                continue;
            if (++mark == 0) { /* the stamps wrapped: clear them */
                memset(stamp, 0, (maxb + 1) * sizeof(uint32_t));
                mark = 1;
            }
            score_user(out, in, &cur, j, rated + start[j], start[j + 1] - start[j], stamp, mark,
                       pred, urow);
        }
        if (s + 1 < p) {
            ring_shift(in, &cur, &nxt, (in->ctx->rank + s + 1) % p);
            Block t = cur;
            cur = nxt;
            nxt = t;
        }
    }
    for (size_t j = 0; j < nu; j++)
        topn_sort_raw(out->score + j * cap, out->item + j * cap, out->count[j]);
    free(cur.f), free(cur.b), free(nxt.f), free(nxt.b);
    free(stamp), free(pred), free(urow);
}

void recs_free(RecsLists *r)
{
    free(r->count);
    free(r->score);
    free(r->item);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ popularity */

/* qsort context-free: (count, index) pairs. */
typedef struct PopEntry {
    int64_t count;
    int32_t item;
} PopEntry;

static int pop_cmp(const void *a, const void *b)
{
    const PopEntry *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

int32_t *recs_popularity_order(const int64_t *counts, size_t n_items)
{
    const size_t n = n_items > 1 ? n_items - 1 : 0;
    PopEntry *e = xmalloc((n + 1) * sizeof *e);
    for (size_t i = 0; i < n; i++)
        e[i] = (PopEntry){counts[i + 1], (int32_t)(i + 1)};
    qsort(e, n, sizeof *e, pop_cmp);
    int32_t *order = xmalloc((n + 1) * sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        order[i] = e[i].item;
    free(e);
    return order;
}

size_t recs_popular(int32_t *out, size_t cap, const int32_t *order, size_t n_order,
                    const int32_t *rated, size_t n_rated)
{
    size_t n = 0;
    for (size_t i = 0; i < n_order && n < cap; i++)
        if (!recs_contains(rated, n_rated, order[i]))
            out[n++] = order[i];
    return n;
}
