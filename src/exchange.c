/* exchange.c - the MPI seam of the training step: item rows out to the ratings that
 * need them, item gradients back to the rows' owners, and order-free sums.
 *
 * Each exchange is an MPI_Alltoall of counts, then MPI_Alltoallv of ids and of rows.
 * Items are owned in contiguous blocks, so sorting a batch's distinct items by id also
 * groups them by owner. */
#include "config.h"

#include "collab/exchange.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/check.h"

void ctx_init(Ctx *ctx)
{
    CHECK_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &ctx->comm));
    CHECK_MPI(MPI_Comm_set_errhandler(ctx->comm, MPI_ERRORS_RETURN));
    CHECK_MPI(MPI_Comm_rank(ctx->comm, &ctx->rank));
    CHECK_MPI(MPI_Comm_size(ctx->comm, &ctx->size));
}

void ctx_free(Ctx *ctx)
{
    if (ctx->comm != MPI_COMM_NULL)
        MPI_Comm_free(&ctx->comm);
}

/* ------------------------------------------------------------------ exact sums */

#define EXACT_SCALE 4294967296.0 /* 2^32: terms are rounded to multiples of 2^-32 */
#define EXACT_LIMIT 1073741824.0 /* 2^30: larger terms would overflow the halves */

void exact_add(ExactSum *s, double term)
{
    if (!(term >= 0.0 && term < EXACT_LIMIT)) { /* also catches NaN */
        s->bad++;
        return;
    }
    /* term * 2^32 < 2^62 is exact; split so each half sums 2^32 terms without overflow. */
    int64_t f = llround(term * EXACT_SCALE);
    s->hi += f >> 31;
    s->lo += f & 0x7fffffff;
}

double exact_value(const ExactSum *s)
{
    if (s->bad)
        return INFINITY;
    return ((double)s->hi * 2147483648.0 + (double)s->lo) / EXACT_SCALE;
}

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

/* ------------------------------------------------------------------ buffers */

/* Makes b hold at least bytes; returns its storage. */
static void *buf_reserve(Buf *b, size_t bytes)
{
    if (bytes > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < bytes)
            c *= 2;
        b->p = xrealloc(b->p, c);
        b->cap = c;
    }
    return b->p;
}

void exchange_init(Exchange *x, const Ctx *ctx, const Layout *layout, size_t k)
{
    memset(x, 0, sizeof *x);
    x->ctx = ctx;
    x->layout = layout;
    x->k = k;
    const size_t p = (size_t)ctx->size, ni = layout->n_items ? layout->n_items : 1;
    int **counts[] = {&x->send_n, &x->recv_n, &x->scnt, &x->soff, &x->rcnt, &x->roff};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        *counts[i] = xcalloc(p, sizeof(int));
    x->stamp = xcalloc(ni, sizeof(uint32_t));
    x->slot = xcalloc(ni, sizeof(int32_t));
    x->blk = xcalloc(p, sizeof(int));
    x->req_n = xcalloc(p, sizeof(int));
    const size_t nl = layout_item_count(layout, ctx->rank);
    x->ostamp = xcalloc(nl ? nl : 1, sizeof(uint32_t));
    x->oslot = xcalloc(nl ? nl : 1, sizeof(int32_t));
}

void exchange_free(Exchange *x)
{
    void *arrays[] = {x->send_n, x->recv_n, x->scnt, x->soff,   x->rcnt,  x->roff,
                      x->stamp,  x->slot,   x->blk,  x->req_n, x->ostamp, x->oslot};
    Buf *bufs[] = {&x->uniq,  &x->srv,    &x->uniq_rows, &x->srv_rows, &x->rec_out,
                   &x->rec_in, &x->g_out, &x->g_in,      &x->order,    &x->slot_f,
                   &x->slot_b, &x->acc,   &x->touched};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        free(arrays[i]);
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]->p);
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

/* Alltoall of send_n into recv_n; returns the number of records to receive. */
static size_t exchange_counts(Exchange *x)
{
    const int p = x->ctx->size;
    if (p == 1) {
        x->recv_n[0] = x->send_n[0]; /* one rank: the exchange is a copy */
    } else {
        CHECK_MPI(MPI_Alltoall(x->send_n, 1, MPI_INT, x->recv_n, 1, MPI_INT, x->ctx->comm));
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
            x->send_n[layout_item_owner(x->layout, (size_t)item[j])]++;
        }
    int32_t *uniq = buf_reserve(&x->uniq, u * sizeof(int32_t));
    prefix(x->soff, x->send_n, x->ctx->size); /* soff: next free slot per owner */
    for (size_t s = 0; s < u; s++) {
        int at = x->soff[layout_item_owner(x->layout, (size_t)first[s])]++;
        uniq[at] = first[s];
        x->slot[first[s]] = at;
    }
    return u;
}

/* Rows (k factors + bias) of the items others asked for, from this rank's tables. */
static float *exchange_serve(Exchange *x, const Model *m, size_t n_req)
{
    const size_t k = x->k, w = k + 1, lo = layout_item_lo(x->layout, x->ctx->rank);
    const int32_t *srv = x->srv.p;
    float *rows = buf_reserve(&x->srv_rows, n_req * w * sizeof(float));
    for (size_t s = 0; s < n_req; s++) {
        const size_t row = (size_t)srv[s] - lo;
        memcpy(rows + s * w, m->item_f + row * k, k * sizeof(float));
        rows[s * w + k] = m->item_b ? m->item_b[row] : 0.0f;
    }
    return rows;
}

/* One rank owns every item: the rows are copied straight from its tables. */
static void gather_local(float *irows, float *ibias, const Model *m, const int32_t *item,
                         size_t n, size_t k)
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
    size_t n_req = exchange_counts(x);
    buf_reserve(&x->srv, n_req * sizeof(int32_t));
    exchange_records(x, x->uniq.p, x->srv.p, 1, MPI_INT32_T, 0);
    float *served = exchange_serve(x, m, n_req);
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
        x->send_n[layout_item_owner(x->layout, (size_t)item[j])]++;
    prefix(x->soff, x->send_n, p); /* soff: next free record per owner */
    for (size_t j = 0; j < n; j++) {
        size_t at = (size_t)x->soff[layout_item_owner(x->layout, (size_t)item[j])]++;
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
    size_t got = exchange_counts(x);
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
        CHECK_MPI(MPI_Alltoallv(slots, x->scnt, x->soff, t, served, x->rcnt, x->roff, t,
                                x->ctx->comm));
    else
        CHECK_MPI(MPI_Alltoallv(served, x->rcnt, x->roff, t, slots, x->scnt, x->soff, t,
                                x->ctx->comm));
    x->messages++;
    x->bytes += (uint64_t)(to_owner ? out : total) * (uint64_t)tsize; /* what this rank sent */
}

/* Asks each owner for the rows of its block of slots; returns the number served. */
static size_t slots_fetch(Exchange *x, const Model *m, size_t u)
{
    const size_t w = x->k + 1;
    const int p = x->ctx->size;
    CHECK_MPI(MPI_Alltoall(x->req_n, 1, MPI_INT, x->recv_n, 1, MPI_INT, x->ctx->comm));
    x->messages++;
    x->bytes += (uint64_t)p * sizeof(int);
    size_t n_req = 0;
    for (int r = 0; r < p; r++)
        n_req += (size_t)x->recv_n[r];
    int32_t *srv = buf_reserve(&x->srv, (n_req ? n_req : 1) * sizeof(int32_t));
    slots_move(x, x->uniq.p, srv, 1, MPI_INT32_T, 1);
    float *served = exchange_serve(x, m, n_req);
    float *rows = buf_reserve(&x->uniq_rows, (u ? u : 1) * w * sizeof(float));
    slots_move(x, rows, served, (int)w, MPI_FLOAT, 0);
    return n_req;
}

void exchange_gather_slots(Exchange *x, SlotRows *sr, int32_t *slot, uint8_t *first,
                           const Model *m, const int32_t *item, size_t n, int want_grads)
{
    const double t0 = MPI_Wtime();
    const size_t k = x->k, w = k + 1, u = slots_assign(x, slot, first, item, n);
    const size_t served = x->ctx->size > 1 ? slots_fetch(x, m, u) : 0;
    const float **f = buf_reserve(&x->slot_f, (u ? u : 1) * sizeof(float *));
    float *b = buf_reserve(&x->slot_b, (u ? u : 1) * sizeof(float));
    const int32_t *uniq = x->uniq.p;
    const float *rows = x->uniq_rows.p;
    const int me = x->ctx->rank;
    const size_t lo = layout_item_lo(x->layout, me), own0 = (size_t)x->blk[me];
    const size_t own1 = own0 + (size_t)x->send_n[me];
    for (size_t s = 0; s < u; s++) {
        if (s >= own0 && s < own1) { /* this rank's item: read in place */
            const size_t row = (size_t)uniq[s] - lo;
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
    const int32_t *uniq = x->uniq.p, *srv = x->srv.p;
    for (size_t s = (size_t)x->blk[me]; s < (size_t)(x->blk[me] + x->send_n[me]); s++)
        slots_combine(x, acc, s, (size_t)uniq[s] - lo, &nt);
    for (size_t q = 0; q < served; q++)
        slots_combine(x, acc, u + q, (size_t)srv[q] - lo, &nt);
    (void)sr;
    *rows = x->touched.p;
    x->seconds += MPI_Wtime() - t0;
    return nt;
}
