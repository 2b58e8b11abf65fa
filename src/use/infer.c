/* infer.c - a trained model sharded for use: each rank's rows, the cold-start stand-ins,
 * predictions for pairs (item rows fetched through the training exchange) and top-N
 * lists under a total order, so every answer is the same at any number of ranks. */
#include "config.h"

#include "collab/use/infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"

enum { INFER_CHUNK = 4096 }; /* pairs per exchange round */

/* ------------------------------------------------------------------ cold start */

/* Adds x to a two-part fixed-point sum (multiples of 2^-32; hi counts units, lo the
 * fraction), whose integer halves add in any order to the same result. |x| is clamped
 * below 2^30 so a term cannot overflow (model rows are far smaller). */
static void fixed_add(int64_t *hl, double x)
{
    x = x > 1073741823.0 ? 1073741823.0 : x < -1073741823.0 ? -1073741823.0 : x;
    int64_t t = llround(ldexp(x, 32));
    int64_t lo = t & 0xffffffffLL;
    hl[0] += (t - lo) / 4294967296LL; /* exact: t - lo is a multiple of 2^32 */
    hl[1] += lo;
}

static double fixed_value(const int64_t *hl)
{
    return (double)hl[0] + ldexp((double)hl[1], -32);
}

/* Adds rows [0, n) of a (n, k) table and its bias (NULL: none) into sums (k + 1 pairs),
 * skipping global row 0 (#na#); row0 is the global index of local row 0. */
static void sum_rows(int64_t *sums, const float *f, const float *b, size_t n, size_t k, size_t row0)
{
    for (size_t r = 0; r < n; r++) {
        if (row0 + r == 0)
            continue;
        for (size_t c = 0; c < k; c++)
            fixed_add(sums + 2 * c, f[r * k + c]);
        if (b)
            fixed_add(sums + 2 * k, b[r]);
    }
}

/* The average known user and item (rows 1..), from every rank's rows. */
static void cold_start_init(Infer *in)
{
    const size_t k = in->mf->spec.k, ku = in->m.ku, wu = 2 * (ku + 1), w = wu + 2 * (k + 1);
    int64_t *sums = xcalloc(w, sizeof(int64_t));
    sum_rows(sums, in->m.user_f, in->m.user_b, in->m.n_users, ku, in->user_lo);
    sum_rows(sums + wu, in->m.item_f, in->m.item_b, in->m.n_items, k, in->item_lo);
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, (int)w, MPI_INT64_T, MPI_SUM, in->ctx->comm));
    const double nu = in->layout.n_users > 1 ? (double)(in->layout.n_users - 1) : 1.0;
    const double ni = in->layout.n_items > 1 ? (double)(in->layout.n_items - 1) : 1.0;
    in->avg_user = xcalloc(ku + 1, sizeof(float));
    in->avg_item = xcalloc(k + 1, sizeof(float));
    for (size_t c = 0; c <= ku; c++)
        in->avg_user[c] = (float)(fixed_value(sums + 2 * c) / nu);
    for (size_t c = 0; c <= k; c++)
        in->avg_item[c] = (float)(fixed_value(sums + wu + 2 * c) / ni);
    free(sums);
}

/* A one-user model whose row 0 is row ((k + 1) floats: factors, bias), for
 * model_forward: the same arithmetic as on the user's own row. */
static Model user_view(const Infer *in, const float *row)
{
    Model v;
    memset(&v, 0, sizeof v);
    v.spec = in->mf->spec;
    v.n_users = 1;
    v.user_f = (float *)row;
    v.user_b = in->mf->spec.kind == MODEL_DOTBIAS ? (float *)row + in->mf->spec.k : NULL;
    return v;
}

/* ------------------------------------------------------------------ setup */

static void infer_reserve(Infer *in, size_t rows)
{
    if (rows <= in->cap)
        return;
    const size_t k = in->mf->spec.k;
    in->cap = rows;
    in->irows = xrealloc(in->irows, rows * k * sizeof(float));
    in->ibias = xrealloc(in->ibias, rows * sizeof(float));
    in->z = xrealloc(in->z, rows * sizeof(float));
    if (in->m.dense) {
        nn_work_free(&in->nnw);
        nn_work_init(&in->nnw, &in->m.nn, rows);
        in->nx = xrealloc(in->nx, rows * in->m.nn.n_in * sizeof(float));
    }
}

int infer_init(Infer *in, const Ctx *ctx, const ModelFile *mf, const Layout *users, Status *st)
{
    memset(in, 0, sizeof *in);
    in->ctx = ctx;
    in->mf = mf;
    const size_t nu = mf->data.n_users, ni = mf->data.n_items;
    if (users) {
        layout_init_from(&in->layout, ctx->size, nu, ni, users->user_start);
    } else {
        uint64_t *ones = xmalloc(nu * sizeof(uint64_t));
        for (size_t u = 0; u < nu; u++)
            ones[u] = 1;
        layout_init(&in->layout, ctx->size, nu, ni, ones);
        free(ones);
    }
    in->user_lo = layout_user_lo(&in->layout, ctx->rank);
    in->item_lo = layout_item_lo(&in->layout, ctx->rank);
    model_init(&in->m, &mf->spec, layout_user_count(&in->layout, ctx->rank),
               layout_item_count(&in->layout, ctx->rank));
    /* Inference takes no gradients: give their memory back. */
    free(in->m.grads);
    in->m.grads = NULL;
    in->m.g_user_f = in->m.g_user_b = in->m.g_item_f = in->m.g_item_b = in->m.g_dense = NULL;
    in->uw = in->m.ku + 1;
    exchange_init(&in->x, ctx, &in->layout, mf->spec.k);
    infer_reserve(in, INFER_CHUNK);
    if (modelfile_read_rows(mf, &in->m, in->user_lo, in->item_lo, ctx, st))
        return st->code;
    cold_start_init(in);
    return STATUS_OK;
}

void infer_free(Infer *in)
{
    exchange_free(&in->x);
    model_free(&in->m);
    layout_free(&in->layout);
    free(in->avg_user);
    free(in->avg_item);
    free(in->irows);
    free(in->ibias);
    free(in->z);
    nn_work_free(&in->nnw);
    free(in->nx);
    memset(in, 0, sizeof *in);
}

/* ------------------------------------------------------------------ predictions */

void infer_user_row(const Infer *in, float *row, size_t user)
{
    const size_t k = in->m.ku;
    if (user == 0) {
        memcpy(row, in->avg_user, (k + 1) * sizeof(float));
        return;
    }
    const size_t r = user - in->user_lo;
    memcpy(row, in->m.user_f + r * k, k * sizeof(float));
    row[k] = in->m.user_b ? in->m.user_b[r] : 0.0f;
}

float *infer_items_t(const Infer *in)
{
    const size_t k = in->mf->spec.k, n = in->m.n_items;
    float *t = xmalloc((k * n + 1) * sizeof(float));
    for (size_t j = 0; j < n; j++)
        for (size_t c = 0; c < k; c++)
            t[c * n + j] = in->m.item_f[j * k + c];
    return t;
}

/* MODEL_NN: the head in evaluation mode on rows [0, n) of in->nx into pred. */
static void nn_predict(Infer *in, float *pred, size_t n)
{
    nn_forward(in->z, &in->nnw, in->m.dense, in->m.stats, in->nx, n, 0, &in->m.nn);
    model_squash(pred, in->z, &in->mf->spec, n);
}

/* MODEL_NN: one user against n items given transposed, in chunks of the workspace. */
static void nn_score_items(Infer *in, float *pred, const float *user_row, const float *items_t,
                           size_t n)
{
    const size_t k = in->mf->spec.k, ku = in->m.ku, w = ku + k;
    for (size_t first = 0; first < n; first += INFER_CHUNK) {
        const size_t cnt = n - first < INFER_CHUNK ? n - first : INFER_CHUNK;
        for (size_t j = 0; j < cnt; j++) {
            float *x = in->nx + j * w;
            memcpy(x, user_row, ku * sizeof(float));
            for (size_t c = 0; c < k; c++)
                x[ku + c] = items_t[c * n + first + j];
        }
        nn_predict(in, pred + first, cnt);
    }
}

void infer_score_items(Infer *in, float *pred, const float *user_row, const float *items_t,
                       const float *bias, size_t n)
{
    if (in->m.dense) {
        nn_score_items(in, pred, user_row, items_t, n);
        return;
    }
    infer_reserve(in, n);
    const size_t k = in->mf->spec.k;
    model_forward_items(pred, in->z, &in->mf->spec, user_row, user_row[k], items_t, bias, n);
}

/* Predictions for one chunk of this rank's pairs whose item rows are in in->irows. */
static void predict_chunk(Infer *in, float *pred, const int32_t *user, const int32_t *item,
                          size_t n)
{
    const size_t k = in->mf->spec.k;
    if (in->m.dense) { /* MODEL_NN: the rows' inputs, then the head on the chunk */
        const size_t ku = in->m.ku, w = ku + k;
        for (size_t j = 0; j < n; j++) {
            float *x = in->nx + j * w;
            const float *u = user[j] ? in->m.user_f + (size_t)(user[j] - (int32_t)in->user_lo) * ku
                                     : in->avg_user;
            memcpy(x, u, ku * sizeof(float));
            memcpy(x + ku, item[j] ? in->irows + j * k : in->avg_item, k * sizeof(float));
        }
        nn_predict(in, pred, n);
        return;
    }
    float *bias = in->m.item_b ? in->ibias : NULL;
    const Model avg = user_view(in, in->avg_user);
    for (size_t j = 0; j < n; j++) {
        if (item[j] == 0) { /* unknown item: the average known item */
            memcpy(in->irows + j * k, in->avg_item, k * sizeof(float));
            in->ibias[j] = in->avg_item[k];
        }
        const Model *m = user[j] ? &in->m : &avg;
        int32_t row = user[j] ? user[j] - (int32_t)in->user_lo : 0;
        model_forward(pred + j, in->z, m, &row, in->irows + j * k, bias ? bias + j : NULL, 1);
    }
}

void infer_predict_local(Infer *in, float *pred, const int32_t *user, const int32_t *item, size_t n)
{
    uint64_t rounds = (n + INFER_CHUNK - 1) / INFER_CHUNK;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPI_UINT64_T, MPI_MAX, in->ctx->comm));
    for (uint64_t r = 0; r < rounds; r++) { /* every rank takes part in every round */
        const size_t first = (size_t)r * INFER_CHUNK;
        size_t cnt = first < n ? n - first : 0;
        cnt = cnt < INFER_CHUNK ? cnt : INFER_CHUNK;
        exchange_gather_items(&in->x, in->irows, in->m.item_b ? in->ibias : NULL, &in->m,
                              item + first, cnt);
        predict_chunk(in, pred + first, user + first, item + first, cnt);
    }
}

void infer_predict_root(Infer *in, float *pred, const int32_t *user, const int32_t *item, size_t n)
{
    const int p = in->ctx->size;
    int *cnt = xcalloc((size_t)p, sizeof(int)), *off = xcalloc((size_t)p, sizeof(int));
    size_t *pos = NULL;
    int32_t *su = NULL, *si = NULL;
    if (in->ctx->rank == 0) { /* group the pairs by their user's owner, keeping order */
        pos = xmalloc((n ? n : 1) * sizeof(size_t));
        su = xmalloc((n ? n : 1) * sizeof(int32_t));
        si = xmalloc((n ? n : 1) * sizeof(int32_t));
        for (size_t j = 0; j < n; j++)
            cnt[layout_user_owner(&in->layout, (size_t)user[j])]++;
        for (int q = 1; q < p; q++)
            off[q] = off[q - 1] + cnt[q - 1];
        int *next = xmalloc((size_t)p * sizeof(int));
        memcpy(next, off, (size_t)p * sizeof(int));
        for (size_t j = 0; j < n; j++) {
            int at = next[layout_user_owner(&in->layout, (size_t)user[j])]++;
            pos[at] = j, su[at] = user[j], si[at] = item[j];
        }
        free(next);
    }
    int mine = 0;
    CHECK_MPI(MPI_Scatter(cnt, 1, MPI_INT, &mine, 1, MPI_INT, 0, in->ctx->comm));
    int32_t *lu = xmalloc(((size_t)mine + 1) * sizeof(int32_t));
    int32_t *li = xmalloc(((size_t)mine + 1) * sizeof(int32_t));
    float *lp = xmalloc(((size_t)mine + 1) * sizeof(float));
    float *back = in->ctx->rank == 0 ? xmalloc((n + 1) * sizeof(float)) : NULL;
    CHECK_MPI(MPI_Scatterv(su, cnt, off, MPI_INT32_T, lu, mine, MPI_INT32_T, 0, in->ctx->comm));
    CHECK_MPI(MPI_Scatterv(si, cnt, off, MPI_INT32_T, li, mine, MPI_INT32_T, 0, in->ctx->comm));
    infer_predict_local(in, lp, lu, li, (size_t)mine);
    CHECK_MPI(MPI_Gatherv(lp, mine, MPI_FLOAT, back, cnt, off, MPI_FLOAT, 0, in->ctx->comm));
    for (size_t s = 0; back && s < n; s++)
        pred[pos[s]] = back[s];
    free(back);
    free(lp);
    free(li);
    free(lu);
    free(si);
    free(su);
    free(pos);
    free(off);
    free(cnt);
}

/* ------------------------------------------------------------------ top-N */

/* The total order: a is worse than b (lower score, or equal score and higher index). */
static int worse(float sa, int32_t ia, float sb, int32_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

static void heap_swap(float *s, int32_t *x, size_t a, size_t b)
{
    float ts = s[a];
    int32_t tx = x[a];
    s[a] = s[b], x[a] = x[b];
    s[b] = ts, x[b] = tx;
}

/* Restores the heap (worst entry at the root) below position at, over n entries. */
static void sift_down(float *s, int32_t *x, size_t at, size_t n)
{
    for (;;) {
        size_t l = 2 * at + 1, r = l + 1, w = at;
        if (l < n && worse(s[l], x[l], s[w], x[w]))
            w = l;
        if (r < n && worse(s[r], x[r], s[w], x[w]))
            w = r;
        if (w == at)
            return;
        heap_swap(s, x, at, w);
        at = w;
    }
}

void topn_push_raw(float *score, int32_t *idx, size_t *n, size_t cap, float s, int32_t i)
{
    if (cap == 0)
        return;
    if (s != s) /* a NaN score ranks last rather than breaking the order */
        s = -INFINITY;
    if (*n < cap) {
        size_t at = (*n)++;
        score[at] = s, idx[at] = i;
        while (at > 0 && worse(score[at], idx[at], score[(at - 1) / 2], idx[(at - 1) / 2])) {
            heap_swap(score, idx, at, (at - 1) / 2);
            at = (at - 1) / 2;
        }
    } else if (worse(score[0], idx[0], s, i)) {
        score[0] = s, idx[0] = i;
        sift_down(score, idx, 0, cap);
    }
}

void topn_sort_raw(float *score, int32_t *idx, size_t n)
{
    /* Heap sort: the worst entry goes to the end, then the next worst before it. */
    for (size_t end = n; end > 1; end--) {
        heap_swap(score, idx, 0, end - 1);
        sift_down(score, idx, 0, end - 1);
    }
}

void topn_init(TopN *t, size_t cap)
{
    t->cap = cap;
    t->n = 0;
    t->score = xmalloc((cap ? cap : 1) * sizeof(float));
    t->idx = xmalloc((cap ? cap : 1) * sizeof(int32_t));
}

void topn_free(TopN *t)
{
    free(t->score);
    free(t->idx);
    memset(t, 0, sizeof *t);
}

void topn_push(TopN *t, float s, int32_t i)
{
    topn_push_raw(t->score, t->idx, &t->n, t->cap, s, i);
}

void topn_sort(TopN *t)
{
    topn_sort_raw(t->score, t->idx, t->n);
}

void topn_merge_root(TopN *t, const Ctx *ctx)
{
    const int p = ctx->size;
    int mine = (int)t->n, *cnt = xcalloc((size_t)p, sizeof(int));
    int *off = xcalloc((size_t)p, sizeof(int));
    CHECK_MPI(MPI_Gather(&mine, 1, MPI_INT, cnt, 1, MPI_INT, 0, ctx->comm));
    size_t total = 0;
    for (int q = 0; q < p; q++) {
        off[q] = (int)total;
        total += (size_t)cnt[q];
    }
    float *s = xmalloc((total + 1) * sizeof(float));
    int32_t *x = xmalloc((total + 1) * sizeof(int32_t));
    CHECK_MPI(MPI_Gatherv(t->score, mine, MPI_FLOAT, s, cnt, off, MPI_FLOAT, 0, ctx->comm));
    CHECK_MPI(MPI_Gatherv(t->idx, mine, MPI_INT32_T, x, cnt, off, MPI_INT32_T, 0, ctx->comm));
    if (ctx->rank == 0) {
        t->n = 0;
        for (size_t j = 0; j < total; j++)
            topn_push(t, s[j], x[j]);
        topn_sort(t);
    }
    free(s);
    free(x);
    free(cnt);
    free(off);
}
