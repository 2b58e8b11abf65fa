/* exchange.c - the MPI seam of the training step: item rows out to the ratings that
 * need them, item gradients back to the rows' owners, and order-free sums.
 *
 * Each exchange is an MPI_Alltoall of counts, then MPI_Alltoallv of ids and of rows.
 * Items are owned in contiguous blocks, so sorting a batch's distinct items by id also
 * groups them by owner. */
#include "config.h"

#include "collab/dist/exchange.h"

#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"

void exchange_allreduce_exact(Exchange *x, ExactSum *s, int n, int64_t *flags, int nflags)
{
    if (x->ctx->size == 1)
        return; /* one rank: the local sums are the job's */
    if (n > EXCHANGE_MAX_SUMS || nflags > EXCHANGE_MAX_FLAGS)
        check_fail(__FILE__, __LINE__, "exchange_allreduce_exact: %d sums, %d flags", n, nflags);
    const double t0 = MPI_Wtime();
    int64_t buf[3 * EXCHANGE_MAX_SUMS + EXCHANGE_MAX_FLAGS];
    const int len = 3 * n + nflags;
    for (int i = 0; i < n; i++) {
        buf[3 * i] = s[i].hi;
        buf[3 * i + 1] = s[i].lo;
        buf[3 * i + 2] = s[i].bad;
    }
    for (int i = 0; i < nflags; i++)
        buf[3 * n + i] = flags[i];
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, len, MPI_INT64_T, MPI_SUM, x->ctx->comm));
    for (int i = 0; i < n; i++)
        s[i] = (ExactSum){buf[3 * i], buf[3 * i + 1], buf[3 * i + 2]};
    for (int i = 0; i < nflags; i++)
        flags[i] = buf[3 * n + i];
    x->messages++;
    x->bytes += (uint64_t)len * sizeof(int64_t);
    x->seconds += MPI_Wtime() - t0;
}

void exchange_init(Exchange *x, const Ctx *ctx, const Layout *layout, size_t k)
{
    memset(x, 0, sizeof *x);
    x->ctx = ctx;
    x->layout = layout;
    x->k = k;
    const size_t p = (size_t)ctx->size, ni = layout->n_items ? layout->n_items : 1;
    int **counts[] = {&x->send_n, &x->recv_n, &x->scnt, &x->soff,
                      &x->rcnt,   &x->roff,   &x->gcnt, &x->goff};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        *counts[i] = xcalloc(p, sizeof(int));
    x->stamp = xcalloc(ni, sizeof(uint32_t));
    x->slot = xcalloc(ni, sizeof(int32_t));
    x->owner = xmalloc(ni * sizeof(int32_t)); /* a lookup: two divisions per item saved */
    for (size_t i = 0; i < layout->n_items; i++)
        x->owner[i] = layout_item_owner(layout, i);
    x->blk = xcalloc(p, sizeof(int));
    x->req_n = xcalloc(p, sizeof(int));
    const size_t nl = layout_item_count(layout, ctx->rank);
    x->ostamp = xcalloc(nl ? nl : 1, sizeof(uint32_t));
    x->oslot = xcalloc(nl ? nl : 1, sizeof(int32_t));
}

void exchange_free(Exchange *x)
{
    void *arrays[] = {x->send_n, x->recv_n, x->scnt,   x->soff,  x->rcnt,
                      x->roff,   x->gcnt,   x->goff,   x->stamp, x->slot,
                      x->blk,    x->req_n,  x->ostamp, x->oslot, x->owner};
    Buf *bufs[] = {&x->uniq,     &x->srv,      &x->uniq_rows,  &x->srv_rows,  &x->rec_out,
                   &x->rec_in,   &x->g_out,    &x->g_in,       &x->order,     &x->slot_f,
                   &x->slot_b,   &x->acc,      &x->touched,    &x->plan.uoff, &x->plan.uniq,
                   &x->plan.ask, &x->plan.blk, &x->plan.serve, &x->plan.soff, &x->plan.srv,
                   &x->gat_send, &x->gat_rows};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        free(arrays[i]);
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        buf_free(bufs[i]);
    memset(x, 0, sizeof *x);
}

void exchange_reset_counters(Exchange *x)
{
    x->bytes = 0;
    x->messages = 0;
    x->seconds = 0.0;
}

/* ------------------------------------------------------------------ collectives */

/* Exclusive prefix sums of n[] into off[]; returns the total. */
static size_t prefix(int *off, const int *n, int p)
{
    size_t total = 0;
    for (int r = 0; r < p; r++) {
        off[r] = (int)total;
        total += (size_t)n[r];
    }
    return total;
}

/* Alltoall of the per-rank counts send (send_n, or req_n for the slots) into recv_n;
 * returns the number of records to receive. */
static size_t exchange_counts(Exchange *x, const int *send)
{
    const int p = x->ctx->size;
    if (p == 1) {
        x->recv_n[0] = send[0]; /* one rank: the exchange is a copy */
    } else {
        CHECK_MPI(MPI_Alltoall(send, 1, MPI_INT, x->recv_n, 1, MPI_INT, x->ctx->comm));
        x->messages++;
        x->bytes += (uint64_t)p * sizeof(int);
    }
    size_t total = 0;
    for (int r = 0; r < p; r++)
        total += (size_t)x->recv_n[r];
    return total;
}

/* Alltoallv of `width` elements of type t per record: send_n records out and recv_n in,
 * or the reverse (answers travel back the way the requests came). */
static void exchange_records(Exchange *x, const void *out, void *in, int width, MPI_Datatype t,
                             int reverse)
{
    const int p = x->ctx->size;
    const int *sn = reverse ? x->recv_n : x->send_n, *rn = reverse ? x->send_n : x->recv_n;
    for (int r = 0; r < p; r++) {
        x->scnt[r] = sn[r] * width;
        x->rcnt[r] = rn[r] * width;
    }
    size_t sent = prefix(x->soff, x->scnt, p);
    prefix(x->roff, x->rcnt, p);
    int tsize = 0;
    MPI_Type_size(t, &tsize);
    if (p == 1) { /* one rank: the same bytes, without the library call */
        memcpy(in, out, sent * (size_t)tsize);
        return;
    }
    CHECK_MPI(MPI_Alltoallv(out, x->scnt, x->soff, t, in, x->rcnt, x->roff, t, x->ctx->comm));
    x->messages++;
    x->bytes += (uint64_t)sent * (uint64_t)tsize;
}

/* ------------------------------------------------------------------ gather */

/* Distinct items of the batch grouped by owner (first-appearance order within an
 * owner); slot[item] = index in that list; send_n = count per owner. The order only
 * routes requests: results do not depend on it. */
static size_t exchange_unique(Exchange *x, const int32_t *item, size_t n)
{
    if (++x->cur == 0) { /* the stamp wrapped: clear and restart */
        memset(x->stamp, 0, x->layout->n_items * sizeof(uint32_t));
        x->cur = 1;
    }
    int32_t *first = buf_reserve(&x->srv, n * sizeof(int32_t)); /* scratch until served */
    size_t u = 0;
    memset(x->send_n, 0, (size_t)x->ctx->size * sizeof(int));
    for (size_t j = 0; j < n; j++)
        if (x->stamp[item[j]] != x->cur) {
            x->stamp[item[j]] = x->cur;
            first[u++] = item[j];
            x->send_n[x->owner[item[j]]]++;
        }
    int32_t *uniq = buf_reserve(&x->uniq, u * sizeof(int32_t));
    prefix(x->soff, x->send_n, x->ctx->size); /* soff: next free slot per owner */
    for (size_t s = 0; s < u; s++) {
        int at = x->soff[x->owner[first[s]]]++;
        uniq[at] = first[s];
        x->slot[first[s]] = at;
    }
    return u;
}

/* Rows (k factors + bias) of the items others asked for, from this rank's tables. */
static float *exchange_serve(Exchange *x, const Model *m, const int32_t *srv, size_t n_req)
{
    const size_t k = x->k, w = k + 1, lo = layout_item_lo(x->layout, x->ctx->rank);
    float *rows = buf_reserve(&x->srv_rows, n_req * w * sizeof(float));
    for (size_t s = 0; s < n_req; s++) {
        const size_t row = (size_t)srv[s] - lo;
        memcpy(rows + s * w, m->item_f + row * k, k * sizeof(float));
        rows[s * w + k] = m->item_b ? m->item_b[row] : 0.0f;
    }
    return rows;
}

/* One rank owns every item: the rows are copied straight from its tables. */
static void gather_local(float *irows, float *ibias, const Model *m, const int32_t *item, size_t n,
                         size_t k)
{
    for (size_t j = 0; j < n; j++) {
        memcpy(irows + j * k, m->item_f + (size_t)item[j] * k, k * sizeof(float));
        if (ibias)
            ibias[j] = m->item_b ? m->item_b[item[j]] : 0.0f;
    }
}

void exchange_gather_items(Exchange *x, float *irows, float *ibias, const Model *m,
                           const int32_t *item, size_t n)
{
    const double t0 = MPI_Wtime();
    const size_t k = x->k, w = k + 1;
    if (x->ctx->size == 1) {
        gather_local(irows, ibias, m, item, n, k);
        x->seconds += MPI_Wtime() - t0;
        return;
    }
    size_t u = exchange_unique(x, item, n);
    size_t n_req = exchange_counts(x, x->send_n);
    buf_reserve(&x->srv, n_req * sizeof(int32_t));
    exchange_records(x, x->uniq.p, x->srv.p, 1, MPI_INT32_T, 0);
    float *served = exchange_serve(x, m, x->srv.p, n_req);
    float *rows = buf_reserve(&x->uniq_rows, u * w * sizeof(float));
    exchange_records(x, served, rows, (int)w, MPI_FLOAT, 1);
    for (size_t j = 0; j < n; j++) {
        const float *row = rows + (size_t)x->slot[item[j]] * w;
        memcpy(irows + j * k, row, k * sizeof(float));
        if (ibias)
            ibias[j] = row[k];
    }
    x->seconds += MPI_Wtime() - t0;
}

/* ------------------------------------------------------------------ scatter */

/* Packs each rating's (position, item) and gradient row, grouped by the item's owner
 * and in rating order within an owner. */
static void exchange_pack_grads(Exchange *x, const float *g_irows, const float *g_ibias,
                                const int32_t *item, const int64_t *pos, size_t n)
{
    const int p = x->ctx->size;
    const size_t k = x->k, w = k + 1;
    int64_t *rec = buf_reserve(&x->rec_out, n * 2 * sizeof(int64_t));
    float *g = buf_reserve(&x->g_out, n * w * sizeof(float));
    memset(x->send_n, 0, (size_t)p * sizeof(int));
    for (size_t j = 0; j < n; j++)
        x->send_n[x->owner[item[j]]]++;
    prefix(x->soff, x->send_n, p); /* soff: next free record per owner */
    for (size_t j = 0; j < n; j++) {
        size_t at = (size_t)x->soff[x->owner[item[j]]]++;
        rec[2 * at] = pos[j];
        rec[2 * at + 1] = item[j];
        memcpy(g + at * w, g_irows + j * k, k * sizeof(float));
        g[at * w + k] = g_ibias ? g_ibias[j] : 0.0f;
    }
}

/* A received gradient's global batch position and where it sits in the buffer. */
typedef struct PosAt {
    int64_t pos;
    size_t at;
} PosAt;

static int cmp_pos(const void *a, const void *b)
{
    int64_t x = ((const PosAt *)a)->pos, y = ((const PosAt *)b)->pos;
    return (x > y) - (x < y);
}

/* One rank owns every item: the gradients are added straight into its rows, in rating
 * order, which is position order (the batch is sorted by position), as the owner's sort
 * would give; the items are kept for exchange_zero_item_grads. */
static void scatter_local(Exchange *x, Model *m, const float *g_irows, const float *g_ibias,
                          const int32_t *item, size_t n)
{
    const size_t k = x->k;
    int64_t *rec = buf_reserve(&x->rec_in, n * 2 * sizeof(int64_t));
    for (size_t j = 0; j < n; j++) {
        float *dst = m->g_item_f + (size_t)item[j] * k;
        const float *src = g_irows + j * k;
        for (size_t c = 0; c < k; c++)
            dst[c] += src[c];
        if (m->g_item_b)
            m->g_item_b[item[j]] += g_ibias[j];
        rec[2 * j + 1] = item[j];
    }
    x->last_got = n;
}

void exchange_scatter_item_grads(Exchange *x, Model *m, const float *g_irows, const float *g_ibias,
                                 const int32_t *item, const int64_t *pos, size_t n)
{
    const double t0 = MPI_Wtime();
    const size_t k = x->k, w = k + 1, lo = layout_item_lo(x->layout, x->ctx->rank);
    if (x->ctx->size == 1) {
        scatter_local(x, m, g_irows, g_ibias, item, n);
        x->seconds += MPI_Wtime() - t0;
        return;
    }
    exchange_pack_grads(x, g_irows, g_ibias, item, pos, n);
    size_t got = exchange_counts(x, x->send_n);
    int64_t *rec = buf_reserve(&x->rec_in, got * 2 * sizeof(int64_t));
    float *g = buf_reserve(&x->g_in, got * w * sizeof(float));
    exchange_records(x, x->rec_out.p, rec, 2, MPI_INT64_T, 0);
    exchange_records(x, x->g_out.p, g, (int)w, MPI_FLOAT, 0);
    x->last_got = got;
    /* Positions are distinct, so this order is total: the sum below is P-independent.
     * Each sender's records arrive in position order, so one sender needs no sort. */
    PosAt *order = buf_reserve(&x->order, got * sizeof(PosAt));
    int sorted = 1;
    for (size_t r = 0; r < got; r++) {
        order[r] = (PosAt){rec[2 * r], r};
        sorted &= r == 0 || order[r - 1].pos < order[r].pos;
    }
    if (!sorted)
        qsort(order, got, sizeof(PosAt), cmp_pos);
    for (size_t r = 0; r < got; r++) {
        const size_t at = order[r].at, row = (size_t)rec[2 * at + 1] - lo;
        float *dst = m->g_item_f + row * k;
        const float *src = g + at * w;
        for (size_t c = 0; c < k; c++)
            dst[c] += src[c];
        if (m->g_item_b)
            m->g_item_b[row] += src[k];
    }
    x->seconds += MPI_Wtime() - t0;
}

void exchange_zero_item_grads(Exchange *x, Model *m)
{
    const size_t k = x->k, lo = layout_item_lo(x->layout, x->ctx->rank);
    const int64_t *rec = x->rec_in.p;
    for (size_t r = 0; r < x->last_got; r++) {
        const size_t row = (size_t)rec[2 * r + 1] - lo;
        memset(m->g_item_f + row * k, 0, k * sizeof(float));
        if (m->g_item_b)
            m->g_item_b[row] = 0.0f;
    }
    x->last_got = 0;
}

/* ------------------------------------------------------------------ slots */

/* The batch's distinct items in owner blocks (exchange_unique), each rating's slot and
 * first-occurrence flag; blk[r] = first slot of owner r, req_n[r] = slots asked of r. */
static size_t slots_assign(Exchange *x, int32_t *slot, uint8_t *first, const int32_t *item,
                           size_t n)
{
    const size_t u = exchange_unique(x, item, n);
    const int p = x->ctx->size;
    for (int r = 0; r < p; r++) {
        x->blk[r] = x->soff[r] - x->send_n[r]; /* soff ended one past each block */
        x->req_n[r] = r == x->ctx->rank ? 0 : x->send_n[r];
    }
    /* first[j]: the stamp is bumped again so each slot's first rating is seen once. */
    if (++x->cur == 0) {
        memset(x->stamp, 0, x->layout->n_items * sizeof(uint32_t));
        x->cur = 1;
    }
    for (size_t j = 0; j < n; j++) {
        slot[j] = x->slot[item[j]];
        first[j] = x->stamp[item[j]] != x->cur;
        x->stamp[item[j]] = x->cur;
    }
    return u;
}

/* Alltoallv of `width` elements per record between the owner blocks of a slot array
 * (blk, req_n) and a compact array of served records (recv_n): to the owners when
 * to_owner, back from them otherwise. */
static void slots_move(Exchange *x, void *slots, void *served, int width, MPI_Datatype t,
                       int to_owner)
{
    const int p = x->ctx->size;
    size_t total = 0, out = 0;
    for (int r = 0; r < p; r++) {
        out += (size_t)x->req_n[r] * (size_t)width;
        x->scnt[r] = x->req_n[r] * width;
        x->soff[r] = x->blk[r] * width;
        x->rcnt[r] = x->recv_n[r] * width;
        x->roff[r] = (int)total;
        total += (size_t)x->rcnt[r];
    }
    int tsize = 0;
    MPI_Type_size(t, &tsize);
    if (to_owner)
        CHECK_MPI(
            MPI_Alltoallv(slots, x->scnt, x->soff, t, served, x->rcnt, x->roff, t, x->ctx->comm));
    else
        CHECK_MPI(
            MPI_Alltoallv(served, x->rcnt, x->roff, t, slots, x->scnt, x->soff, t, x->ctx->comm));
    x->messages++;
    x->bytes += (uint64_t)(to_owner ? out : total) * (uint64_t)tsize; /* what this rank sent */
}

/* Asks each owner for the ids of its block of slots (counts, then ids); returns the
 * number of ids this rank was asked, left in x->srv. */
static size_t slots_ask(Exchange *x)
{
    const size_t n_req = exchange_counts(x, x->req_n);
    int32_t *srv = buf_reserve(&x->srv, (n_req ? n_req : 1) * sizeof(int32_t));
    slots_move(x, x->uniq.p, srv, 1, MPI_INT32_T, 1);
    return n_req;
}

/* Serves the cur_srv ids asked of this rank and receives the rows of this rank's u
 * slots owned elsewhere (in their places of uniq_rows). */
static void slots_rows(Exchange *x, const Model *m, size_t u, size_t served)
{
    const size_t w = x->k + 1;
    float *out = exchange_serve(x, m, x->cur_srv, served);
    float *rows = buf_reserve(&x->uniq_rows, (u ? u : 1) * w * sizeof(float));
    slots_move(x, rows, out, (int)w, MPI_FLOAT, 0);
}

/* Points each of the u slots at its row: in place for this rank's items, in uniq_rows
 * for the others; reserves the gradient accumulators with want_grads. */
static void slots_point(Exchange *x, SlotRows *sr, const Model *m, size_t u, size_t served,
                        int want_grads)
{
    const size_t k = x->k, w = k + 1;
    const float **f = buf_reserve(&x->slot_f, (u ? u : 1) * sizeof(float *));
    float *b = buf_reserve(&x->slot_b, (u ? u : 1) * sizeof(float));
    const float *rows = x->uniq_rows.p;
    const int me = x->ctx->rank;
    const size_t lo = layout_item_lo(x->layout, me), own0 = (size_t)x->blk[me];
    const size_t own1 = own0 + (size_t)x->own_n;
    for (size_t s = 0; s < u; s++) {
        if (s >= own0 && s < own1) { /* this rank's item: read in place */
            const size_t row = (size_t)x->cur_uniq[s] - lo;
            f[s] = m->item_f + row * k;
            b[s] = m->item_b ? m->item_b[row] : 0.0f;
        } else {
            f[s] = rows + s * w;
            b[s] = rows[s * w + k];
        }
    }
    if (want_grads)
        buf_reserve(&x->acc, (u + served ? u + served : 1) * w * sizeof(int64_t));
    x->n_slots = u;
    x->n_served = served;
    *sr = (SlotRows){u, f, b, want_grads ? x->acc.p : NULL};
}

void exchange_gather_slots(Exchange *x, SlotRows *sr, int32_t *slot, uint8_t *first, const Model *m,
                           const int32_t *item, size_t n, int want_grads)
{
    const double t0 = MPI_Wtime();
    const size_t u = slots_assign(x, slot, first, item, n);
    const size_t served = x->ctx->size > 1 ? slots_ask(x) : 0;
    x->cur_uniq = x->uniq.p;
    x->cur_srv = x->srv.p;
    x->own_n = x->send_n[x->ctx->rank];
    if (x->ctx->size > 1)
        slots_rows(x, m, u, served);
    slots_point(x, sr, m, u, served, want_grads);
    x->seconds += MPI_Wtime() - t0;
}

/* Adds (or, for an item not seen yet, copies) the w-wide total at acc row `at` into the
 * touched list of local row `row`. */
static void slots_combine(Exchange *x, int64_t *acc, size_t at, size_t row, size_t *nt)
{
    const size_t w = x->k + 1;
    int64_t *list = x->touched.p;
    if (x->ostamp[row] != x->ocur) {
        x->ostamp[row] = x->ocur;
        x->oslot[row] = (int32_t)*nt;
        list[2 * *nt] = (int64_t)row;
        list[2 * *nt + 1] = (int64_t)at;
        (*nt)++;
        return;
    }
    int64_t *dst = acc + (size_t)list[2 * x->oslot[row] + 1] * w;
    const int64_t *src = acc + at * w;
    for (size_t c = 0; c < w; c++)
        dst[c] += src[c];
}

size_t exchange_reduce_slot_grads(Exchange *x, SlotRows *sr, const int64_t **rows)
{
    const double t0 = MPI_Wtime();
    const size_t w = x->k + 1, u = x->n_slots, served = x->n_served;
    const int me = x->ctx->rank;
    const size_t lo = layout_item_lo(x->layout, me);
    int64_t *acc = x->acc.p;
    if (x->ctx->size > 1) /* the served rows' gradients come back to this owner */
        slots_move(x, acc, acc + u * w, (int)w, MPI_INT64_T, 1);
    if (++x->ocur == 0) {
        memset(x->ostamp, 0, layout_item_count(x->layout, me) * sizeof(uint32_t));
        x->ocur = 1;
    }
    buf_reserve(&x->touched, (u + served ? u + served : 1) * 2 * sizeof(int64_t));
    size_t nt = 0;
    for (size_t s = (size_t)x->blk[me]; s < (size_t)(x->blk[me] + x->own_n); s++)
        slots_combine(x, acc, s, (size_t)x->cur_uniq[s] - lo, &nt);
    for (size_t q = 0; q < served; q++)
        slots_combine(x, acc, u + q, (size_t)x->cur_srv[q] - lo, &nt);
    (void)sr;
    *rows = x->touched.p;
    x->seconds += MPI_Wtime() - t0;
    return nt;
}

/* ------------------------------------------------------------------ the nn batch */

/* Every rank's n ratings of the batch, each as a record (user row (ku), target, offset in
 * the batch, item id as two 16-bit halves: floats carry them exactly), into the batch's
 * rows of X (users' part), y and item, by offset. Two collectives: counts, records. */
static void nn_gather_records(Exchange *x, float *X, float *y, int32_t *item, const Model *m,
                              const NNLocal *in, size_t bs)
{
    const size_t ku = m->ku, w = m->nn.n_in, rw = ku + 4;
    float *send = buf_reserve(&x->gat_send, (in->n ? in->n : 1) * rw * sizeof(float));
    for (size_t j = 0; j < in->n; j++) {
        float *r = send + j * rw;
        memcpy(r, m->user_f + (size_t)in->urow[j] * ku, ku * sizeof(float));
        r[ku] = in->y[j];
        r[ku + 1] = (float)(in->pos[j] - in->pos0);
        r[ku + 2] = (float)(in->item[j] >> 16);
        r[ku + 3] = (float)(in->item[j] & 0xffff);
    }
    const float *all = send;
    size_t got = in->n;
    if (x->ctx->size > 1) {
        int mine = (int)(in->n * rw);
        CHECK_MPI(MPI_Allgather(&mine, 1, MPI_INT, x->gcnt, 1, MPI_INT, x->ctx->comm));
        got = prefix(x->goff, x->gcnt, x->ctx->size) / rw;
        float *recv = buf_reserve(&x->gat_rows, (got ? got : 1) * rw * sizeof(float));
        CHECK_MPI(
            MPI_Allgatherv(send, mine, MPI_FLOAT, recv, x->gcnt, x->goff, MPI_FLOAT, x->ctx->comm));
        x->messages += 2;
        x->bytes += (uint64_t)x->ctx->size * sizeof(int) + (uint64_t)mine * sizeof(float);
        all = recv;
    }
    if (got != bs)
        check_fail(__FILE__, __LINE__, "exchange_nn_batch: %zu ratings for a batch of %zu", got,
                   bs);
    for (size_t q = 0; q < got; q++) {
        const float *r = all + q * rw;
        const size_t at = (size_t)r[ku + 1];
        memcpy(X + at * w, r, ku * sizeof(float));
        y[at] = r[ku];
        item[at] = (int32_t)r[ku + 2] << 16 | (int32_t)r[ku + 3];
    }
}

/* The batch's distinct items, which every rank now knows alike: each owner contributes
 * the rows of its own (exchange_unique's owner blocks, the same on every rank, so the
 * counts need no exchange), one collective; then X's items' part. */
static void nn_gather_items(Exchange *x, float *X, const int32_t *item, const Model *m, size_t bs)
{
    const int p = x->ctx->size, me = x->ctx->rank;
    const size_t ku = m->ku, k = x->k, w = m->nn.n_in;
    const size_t u = exchange_unique(x, item, bs), lo = layout_item_lo(x->layout, me);
    const int32_t *uniq = x->uniq.p;
    float *rows = buf_reserve(&x->uniq_rows, (u ? u : 1) * k * sizeof(float));
    for (int r = 0; r < p; r++) { /* soff ends each owner's block */
        x->rcnt[r] = x->send_n[r] * (int)k;
        x->roff[r] = (x->soff[r] - x->send_n[r]) * (int)k;
    }
    for (int s = x->soff[me] - x->send_n[me]; s < x->soff[me]; s++)
        memcpy(rows + (size_t)s * k, m->item_f + ((size_t)uniq[s] - lo) * k, k * sizeof(float));
    if (p > 1) {
        CHECK_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, rows, x->rcnt, x->roff, MPI_FLOAT,
                                 x->ctx->comm));
        x->messages++;
        x->bytes += (uint64_t)x->rcnt[me] * sizeof(float);
    }
    for (size_t r = 0; r < bs; r++)
        memcpy(X + r * w + ku, rows + (size_t)x->slot[item[r]] * k, k * sizeof(float));
}

void exchange_nn_batch(Exchange *x, float *X, float *y, int32_t *item, const Model *m,
                       const NNLocal *in, size_t bs)
{
    const double t0 = MPI_Wtime();
    nn_gather_records(x, X, y, item, m, in, bs);
    nn_gather_items(x, X, item, m, bs);
    x->seconds += MPI_Wtime() - t0;
}

void exchange_nn_item_grads(Exchange *x, Model *m, const float *dX, const int32_t *item, size_t bs)
{
    const size_t k = x->k, ku = m->ku, w = m->nn.n_in;
    const size_t lo = layout_item_lo(x->layout, x->ctx->rank);
    const size_t hi = lo + layout_item_count(x->layout, x->ctx->rank);
    int64_t *rec = buf_reserve(&x->rec_in, (bs ? bs : 1) * 2 * sizeof(int64_t));
    size_t t = 0;
    for (size_t r = 0; r < bs; r++) { /* rows in position order, as the scatter's owners */
        const size_t i = (size_t)item[r];
        if (i < lo || i >= hi)
            continue;
        float *dst = m->g_item_f + (i - lo) * k;
        const float *src = dX + r * w + ku;
        for (size_t c = 0; c < k; c++)
            dst[c] += src[c];
        rec[2 * t++ + 1] = (int64_t)i;
    }
    x->last_got = t;
}

/* ------------------------------------------------------------------ the epoch's plan */

/* Grows an int array to hold n entries (a plan's arrays are reused epoch to epoch). */
static void *plan_array(Buf *b, size_t n, size_t size)
{
    return buf_reserve(b, (n ? n : 1) * size);
}

/* Every batch's distinct items, owner blocks and slots, into the plan (local). */
static void plan_slots(Exchange *x, int32_t *slot, uint8_t *first, const int32_t *item,
                       const size_t *start, size_t nb)
{
    const int p = x->ctx->size;
    ExchangePlan *pl = &x->plan;
    pl->nb = nb;
    size_t *uoff = plan_array(&pl->uoff, nb + 1, sizeof(size_t));
    int *ask = plan_array(&pl->ask, nb * (size_t)p, sizeof(int));
    int *blk = plan_array(&pl->blk, nb * (size_t)p, sizeof(int));
    uoff[0] = 0;
    for (size_t b = 0; b < nb; b++) {
        const size_t u = slots_assign(x, slot + start[b], first + start[b], item + start[b],
                                      start[b + 1] - start[b]);
        int32_t *uniq = plan_array(&pl->uniq, uoff[b] + u, sizeof(int32_t));
        memcpy(uniq + uoff[b], x->uniq.p, u * sizeof(int32_t));
        uoff[b + 1] = uoff[b] + u;
        memcpy(ask + b * (size_t)p, x->send_n, (size_t)p * sizeof(int)); /* own count too */
        memcpy(blk + b * (size_t)p, x->blk, (size_t)p * sizeof(int));
    }
}

/* The ids this rank asks of rank r over the epoch, batch after batch, into out; returns
 * how many. */
static size_t plan_pack(const Exchange *x, int32_t *out, int r)
{
    const ExchangePlan *pl = &x->plan;
    const int p = x->ctx->size;
    const size_t *uoff = pl->uoff.p;
    const int *ask = pl->ask.p, *blk = pl->blk.p;
    const int32_t *uniq = pl->uniq.p;
    size_t n = 0;
    for (size_t b = 0; b < pl->nb; b++) {
        const size_t c = (size_t)ask[b * (size_t)p + (size_t)r];
        memcpy(out + n, uniq + uoff[b] + (size_t)blk[b * (size_t)p + (size_t)r],
               c * sizeof(int32_t));
        n += c;
    }
    return n;
}

/* The epoch's requests in two collectives: every batch's count per owner (Alltoall of nb
 * ints per pair), then every id (Alltoallv); the ids asked of this rank are stored batch
 * by batch, each batch's in rank order, as a per-batch Alltoallv would have left them. */
static void plan_requests(Exchange *x)
{
    ExchangePlan *pl = &x->plan;
    const int p = x->ctx->size, me = x->ctx->rank, nb = (int)pl->nb;
    const size_t np_ = (size_t)p, nbz = pl->nb;
    int *ask = pl->ask.p, *serve = plan_array(&pl->serve, nbz * np_, sizeof(int));
    int *sc = xmalloc((nbz ? nbz : 1) * np_ * sizeof(int)),
        *rc = xmalloc((nbz ? nbz : 1) * np_ * sizeof(int));
    for (size_t r = 0; r < np_; r++)
        for (size_t b = 0; b < nbz; b++)
            sc[r * nbz + b] = (int)r == me ? 0 : ask[b * np_ + r];
    CHECK_MPI(MPI_Alltoall(sc, nb, MPI_INT, rc, nb, MPI_INT, x->ctx->comm));
    size_t sent = 0, got = 0;
    for (size_t r = 0; r < np_; r++) {
        x->scnt[r] = x->rcnt[r] = 0;
        for (size_t b = 0; b < nbz; b++) {
            serve[b * np_ + r] = rc[r * nbz + b];
            x->scnt[r] += sc[r * nbz + b];
            x->rcnt[r] += rc[r * nbz + b];
        }
        x->soff[r] = (int)sent, x->roff[r] = (int)got;
        sent += (size_t)x->scnt[r], got += (size_t)x->rcnt[r];
    }
    /* Scratch kept in the seam's buffers (reused each epoch, not mapped afresh). */
    int32_t *out = buf_reserve(&x->rec_out, (sent ? sent : 1) * sizeof(int32_t));
    int32_t *in = buf_reserve(&x->rec_in, (got ? got : 1) * sizeof(int32_t));
    for (int r = 0; r < p; r++)
        if (r != me)
            plan_pack(x, out + x->soff[r], r);
    CHECK_MPI(MPI_Alltoallv(out, x->scnt, x->soff, MPI_INT32_T, in, x->rcnt, x->roff, MPI_INT32_T,
                            x->ctx->comm));
    x->messages += 2;
    x->bytes += (uint64_t)(nbz * np_) * sizeof(int) + (uint64_t)sent * sizeof(int32_t);
    /* Batch-major: batch b's ids from rank 0, then rank 1, ... */
    size_t *soff = plan_array(&pl->soff, nbz + 1, sizeof(size_t));
    int32_t *srv = plan_array(&pl->srv, got, sizeof(int32_t));
    size_t *from = xcalloc(np_, sizeof(size_t));
    soff[0] = 0;
    for (size_t b = 0; b < nbz; b++) {
        size_t at = soff[b];
        for (size_t r = 0; r < np_; r++) {
            const size_t c = (size_t)serve[b * np_ + r];
            memcpy(srv + at, in + (size_t)x->roff[r] + from[r], c * sizeof(int32_t));
            from[r] += c, at += c;
        }
        soff[b + 1] = at;
    }
    free(from), free(sc), free(rc);
}

void exchange_plan_epoch(Exchange *x, int32_t *slot, uint8_t *first, const int32_t *item,
                         const size_t *start, size_t nb)
{
    const double t0 = MPI_Wtime();
    plan_slots(x, slot, first, item, start, nb);
    if (x->ctx->size > 1)
        plan_requests(x);
    x->seconds += MPI_Wtime() - t0;
}

void exchange_gather_planned(Exchange *x, SlotRows *sr, const Model *m, size_t b)
{
    const double t0 = MPI_Wtime();
    const ExchangePlan *pl = &x->plan;
    const int p = x->ctx->size, me = x->ctx->rank;
    const size_t *uoff = pl->uoff.p, u = uoff[b + 1] - uoff[b];
    const int *ask = (const int *)pl->ask.p + b * (size_t)p;
    memcpy(x->blk, (const int *)pl->blk.p + b * (size_t)p, (size_t)p * sizeof(int));
    for (int r = 0; r < p; r++)
        x->req_n[r] = r == me ? 0 : ask[r];
    x->own_n = ask[me];
    x->cur_uniq = (const int32_t *)pl->uniq.p + uoff[b];
    size_t served = 0;
    if (p > 1) {
        const size_t *soff = pl->soff.p;
        memcpy(x->recv_n, (const int *)pl->serve.p + b * (size_t)p, (size_t)p * sizeof(int));
        served = soff[b + 1] - soff[b];
        x->cur_srv = (const int32_t *)pl->srv.p + soff[b];
        slots_rows(x, m, u, served);
    }
    slots_point(x, sr, m, u, served, 1);
    x->seconds += MPI_Wtime() - t0;
}
