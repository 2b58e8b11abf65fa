/* pkeys.c - keys and duplicate ratings across ranks (see pkeys.h).
 *
 * Both operations route by a rule every rank can evaluate alone: a key goes to the rank
 * owning its hash bucket, a row of a shared user to the rank given by the user's global
 * index. Messages travel in one MPI_Alltoallv per column, and a receiver takes them in
 * source-rank order, which is file order: the ranks' byte ranges are in file order and
 * each rank sends its rows in the order it read them.
 *
 * A file grouped by user shares only the users that straddle a range boundary, so next
 * to nothing moves. A file in random order shares every user: its rows then move in
 * rounds (users dealt to rounds by global index), each round about a quarter of a part,
 * so the receive buffers stay small next to the rows themselves. */
#include "config.h"

#include "collab/data/pkeys.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/rng.h"
#include "collab/data/reader.h"

/* ---------------------------------------------------------------------- counts */

/* Send and receive counts and displacements of one Alltoallv (MPI counts are int). */
typedef struct Plan {
    int p, rank;
    int *scnt, *sdis, *rcnt, *rdis; /* (p) */
    size_t n_recv;
} Plan;

static void plan_init(Plan *x, MPI_Comm comm)
{
    CHECK_MPI(MPI_Comm_size(comm, &x->p));
    CHECK_MPI(MPI_Comm_rank(comm, &x->rank));
    x->scnt = xcalloc((size_t)x->p, sizeof(int));
    x->sdis = xcalloc((size_t)x->p, sizeof(int));
    x->rcnt = xcalloc((size_t)x->p, sizeof(int));
    x->rdis = xcalloc((size_t)x->p, sizeof(int));
    x->n_recv = 0;
}

static void plan_free(Plan *x)
{
    free(x->scnt);
    free(x->sdis);
    free(x->rcnt);
    free(x->rdis);
}

/* With x->scnt set: the send displacements, then the receive counts and displacements
 * from every rank. Aborts when a count does not fit MPI's int. */
static void plan_exchange(Plan *x, MPI_Comm comm)
{
    size_t off = 0;
    for (int q = 0; q < x->p; q++) {
        x->sdis[q] = (int)off;
        off += (size_t)x->scnt[q];
        if (off > INT_MAX)
            check_fail(__FILE__, __LINE__, "more than %d elements to send at once", INT_MAX);
    }
    CHECK_MPI(MPI_Alltoall(x->scnt, 1, MPI_INT, x->rcnt, 1, MPI_INT, comm));
    off = 0;
    for (int q = 0; q < x->p; q++) {
        x->rdis[q] = (int)off;
        off += (size_t)x->rcnt[q];
        if (off > INT_MAX)
            check_fail(__FILE__, __LINE__, "more than %d elements to receive", INT_MAX);
    }
    x->n_recv = off;
}

/* Adds one to a count, aborting past MPI's int. */
static void count_add(int *c, size_t k)
{
    if ((size_t)*c + k > INT_MAX)
        check_fail(__FILE__, __LINE__, "more than %d elements for one rank", INT_MAX);
    *c += (int)k;
}

/* ------------------------------------------------------------------------ keys */

/* The rank whose bucket holds a key. */
static int key_bucket(const char *s, size_t len, int p)
{
    return (int)((rng_hash_bytes(s, len) >> 32) % (uint64_t)p);
}

/* Collective: every local key (NUL-terminated) to its bucket's rank; returns the bytes
 * received, in source-rank order, with x describing where each source's part is. */
static char *keys_to_buckets(Plan *x, const KeyTable *t, MPI_Comm comm)
{
    for (size_t i = 0; i < t->n; i++)
        count_add(&x->scnt[key_bucket(t->keys[i], t->lens[i], x->p)], t->lens[i] + 1);
    plan_exchange(x, comm);
    int *at = xmalloc((size_t)x->p * sizeof *at);
    memcpy(at, x->sdis, (size_t)x->p * sizeof *at);
    size_t total = x->p ? (size_t)x->sdis[x->p - 1] + (size_t)x->scnt[x->p - 1] : 0;
    char *sbuf = xmalloc(total + 1), *rbuf = xmalloc(x->n_recv + 1);
    for (size_t i = 0; i < t->n; i++) {
        int b = key_bucket(t->keys[i], t->lens[i], x->p);
        memcpy(sbuf + at[b], t->keys[i], t->lens[i] + 1);
        at[b] += (int)t->lens[i] + 1;
    }
    CHECK_MPI(
        MPI_Alltoallv(sbuf, x->scnt, x->sdis, MPI_CHAR, rbuf, x->rcnt, x->rdis, MPI_CHAR, comm));
    free(at);
    free(sbuf);
    return rbuf;
}

/* The distinct keys of one bucket as a blob of (flag byte, key, NUL): the flag is 1 when
 * more than one rank sent the key. Returns the blob; *size gets its length. */
static char *bucket_blob(const Plan *x, const char *rbuf, size_t *size)
{
    KeyTable b;
    keytable_init(&b);
    size_t n_in = 0, bytes = 0;
    for (size_t k = 0; k < x->n_recv; k++)
        n_in += rbuf[k] == '\0';
    int *src = xmalloc((n_in ? n_in : 1) * sizeof *src);
    uint8_t *multi = xcalloc(n_in ? n_in : 1, 1);
    for (int s = 0; s < x->p; s++)
        for (size_t k = (size_t)x->rdis[s]; k < (size_t)x->rdis[s] + (size_t)x->rcnt[s];) {
            size_t len = strlen(rbuf + k), before = b.n;
            int32_t i = keytable_intern(&b, rbuf + k, len);
            if (b.n > before)
                src[i] = s;
            else if (src[i] != s)
                multi[i] = 1;
            k += len + 1;
        }
    for (size_t i = 0; i < b.n; i++)
        bytes += b.lens[i] + 2;
    char *blob = xmalloc(bytes + 1), *at = blob;
    for (size_t i = 0; i < b.n; i++) {
        *at++ = (char)multi[i];
        memcpy(at, b.keys[i], b.lens[i] + 1);
        at += b.lens[i] + 1;
    }
    *size = bytes;
    free(src);
    free(multi);
    keytable_free(&b);
    return blob;
}

/* Collective: every rank's blob to every rank, in rank order. *size gets the length. */
static char *blobs_allgather(const char *blob, size_t size, size_t *total, MPI_Comm comm)
{
    int p;
    CHECK_MPI(MPI_Comm_size(comm, &p));
    int mine = (int)size, *cnt = xmalloc((size_t)p * sizeof *cnt);
    int *dis = xmalloc((size_t)p * sizeof *dis);
    if (size > INT_MAX)
        check_fail(__FILE__, __LINE__, "%zu bytes of keys in one bucket", size);
    CHECK_MPI(MPI_Allgather(&mine, 1, MPI_INT, cnt, 1, MPI_INT, comm));
    size_t off = 0;
    for (int q = 0; q < p; q++) {
        dis[q] = (int)off;
        off += (size_t)cnt[q];
        if (off > INT_MAX)
            check_fail(__FILE__, __LINE__, "%zu bytes of distinct keys", off);
    }
    char *all = xmalloc(off + 1);
    CHECK_MPI(MPI_Allgatherv(blob, mine, MPI_CHAR, all, cnt, dis, MPI_CHAR, comm));
    free(cnt);
    free(dis);
    *total = off;
    return all;
}

void pkeys_union(KeyTable *g, int32_t *map, uint8_t *shared, const KeyTable *t, MPI_Comm comm)
{
    Plan x;
    plan_init(&x, comm);
    char *rbuf = keys_to_buckets(&x, t, comm);
    size_t size, total;
    char *blob = bucket_blob(&x, rbuf, &size);
    free(rbuf);
    char *all = blobs_allgather(blob, size, &total, comm);
    free(blob);
    size_t n_all = 0;
    for (size_t k = 0; k < total; k++)
        n_all += all[k] == '\0';
    uint8_t *flag = xcalloc(g->n + n_all + 1, 1); /* by index in g */
    for (size_t k = 0; k < total;) {
        size_t len = strlen(all + k + 1);
        flag[keytable_intern(g, all + k + 1, len)] = (uint8_t)all[k];
        k += len + 2;
    }
    for (size_t i = 0; i < t->n; i++) {
        map[i] = keytable_find(g, t->keys[i], t->lens[i]);
        if (shared)
            shared[i] = flag[map[i]];
    }
    free(flag);
    free(all);
    plan_free(&x);
}

/* ------------------------------------------------------------------ duplicates */

/* Appends a find to *list (n entries, cap allocated). */
static void dup_push(DupRow **list, size_t *n, size_t *cap, DupRow d)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *list = xrealloc(*list, *cap * sizeof **list);
    }
    (*list)[(*n)++] = d;
}

enum { NOT_ROUTED = 0xFF, MAX_ROUNDS = 254 };

/* The round of each row of a shared user (NOT_ROUTED for the others): users are dealt
 * to rounds by their global index, so a user's rows all travel in one round, to one
 * rank, and each round's finds are complete for its users. */
static uint8_t *dup_round_of(const DupInput *in, int p, int n_rounds)
{
    uint8_t *rnd = xmalloc(in->n + 1);
    for (size_t r = 0; r < in->n; r++) {
        const int32_t u = in->user[r];
        const uint32_t g = (uint32_t)in->umap[u];
        rnd[r] = in->shared[u] ? (uint8_t)((g / (uint32_t)p) % (uint32_t)n_rounds) : NOT_ROUTED;
    }
    return rnd;
}

/* 1 when row r travels in round k: rnd gives each row's round, or is NULL when there is
 * one round (every shared user's rows travel in it). */
static int in_round(const DupInput *in, const uint8_t *rnd, size_t r, int k)
{
    return rnd ? rnd[r] == k : in->shared[in->user[r]];
}

/* Destination rank of row r (of a shared user): decided by the user's global index. */
static int dup_dest(const DupInput *in, size_t r, int p)
{
    return (int)((uint32_t)in->umap[in->user[r]] % (uint32_t)p);
}

/* Collective: round k's rows to their users' ranks, one column at a time: global user
 * (col 0), global item (1), local row (2). Returns the received columns, (x->n_recv)
 * each, as one array of 3 * n_recv: users, then items, then rows. */
static int32_t *dup_route(Plan *x, const DupInput *in, const uint8_t *rnd, int k, MPI_Comm comm)
{
    for (size_t r = 0; r < in->n; r++)
        if (in_round(in, rnd, r, k))
            count_add(&x->scnt[dup_dest(in, r, x->p)], 1);
    plan_exchange(x, comm);
    size_t n_send = x->p ? (size_t)x->sdis[x->p - 1] + (size_t)x->scnt[x->p - 1] : 0;
    int32_t *sbuf = xmalloc((n_send ? n_send : 1) * sizeof *sbuf);
    int32_t *rbuf = xmalloc((3 * x->n_recv + 1) * sizeof *rbuf);
    int *at = xmalloc((size_t)x->p * sizeof *at);
    for (int col = 0; col < 3; col++) {
        memcpy(at, x->sdis, (size_t)x->p * sizeof *at);
        for (size_t r = 0; r < in->n; r++)
            if (in_round(in, rnd, r, k))
                sbuf[at[dup_dest(in, r, x->p)]++] = col == 0   ? in->umap[in->user[r]]
                                                    : col == 1 ? in->imap[in->item[r]]
                                                               : (int32_t)(uint32_t)r;
        CHECK_MPI(MPI_Alltoallv(sbuf, x->scnt, x->sdis, MPI_INT32_T, rbuf + col * x->n_recv,
                                x->rcnt, x->rdis, MPI_INT32_T, comm));
    }
    free(at);
    free(sbuf);
    return rbuf;
}

/* The last of the p non-decreasing starts[] at or below k: the rank whose part holds
 * element k (a rank with an empty part shares its start with the next one). */
static int last_at_or_below(const uint64_t *starts, int p, uint64_t k)
{
    int lo = 0, hi = p - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (starts[mid] <= k)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* The source rank of received element k. */
static int dup_source(const Plan *x, const uint64_t *rdis64, size_t k)
{
    return last_at_or_below(rdis64, x->p, k);
}

static int duprow_cmp(const void *a, const void *b)
{
    const DupRow *x = a, *y = b;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Collective: the repeats among round k's routed rows, appended to *out. */
static void dups_routed(DupRow **out, size_t *n, size_t *cap, const DupInput *in,
                        const uint8_t *rnd, int k, MPI_Comm comm)
{
    Plan x;
    plan_init(&x, comm);
    int32_t *rb = dup_route(&x, in, rnd, k, comm);
    const int32_t *ru = rb, *ri = rb + x.n_recv, *rl = rb + 2 * x.n_recv;
    uint64_t *rdis = xmalloc((size_t)x.p * sizeof *rdis);
    for (int q = 0; q < x.p; q++)
        rdis[q] = (uint64_t)x.rdis[q];
    size_t *pairs,
        n_routed = rows_find_dups(&pairs, ru, ri, x.n_recv, in->g_users, in->g_items, NULL);
    for (size_t j = 0; j < n_routed; j++) {
        size_t a = pairs[2 * j], b = pairs[2 * j + 1];
        uint64_t row = in->row_start[dup_source(&x, rdis, a)] + (uint32_t)rl[a];
        uint64_t first = in->row_start[dup_source(&x, rdis, b)] + (uint32_t)rl[b];
        dup_push(out, n, cap, (DupRow){row, first, ru[a], ri[a]});
    }
    free(pairs);
    free(rb);
    free(rdis);
    plan_free(&x);
}

/* Collective: how many rounds the routed rows take (0: no rank has shared users), so
 * that a round moves at most about a quarter of the largest part; a file not grouped by
 * user has every user shared. */
static int dup_rounds(const DupInput *in, MPI_Comm comm)
{
    uint64_t m[2] = {0, in->n};
    for (size_t r = 0; r < in->n; r++)
        m[0] += in->shared[in->user[r]];
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_UINT64_T, MPI_MAX, comm));
    uint64_t budget = m[1] / 4 > 16 ? m[1] / 4 : 16;
    uint64_t k = (m[0] + budget - 1) / budget;
    return k > MAX_ROUNDS ? MAX_ROUNDS : (int)k;
}

size_t pkeys_find_dups(DupRow **out, const DupInput *in, MPI_Comm comm)
{
    int rank, p;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    CHECK_MPI(MPI_Comm_size(comm, &p));
    if (in->n > UINT32_MAX)
        check_fail(__FILE__, __LINE__, "%zu rows on one rank", in->n);
    size_t *pairs, n = 0, cap = 0;
    const uint64_t base = in->row_start[rank];
    *out = NULL;
    size_t n_local =
        rows_find_dups(&pairs, in->user, in->item, in->n, in->n_users, in->n_items, in->shared);
    for (size_t k = 0; k < n_local; k++) {
        size_t r = pairs[2 * k];
        dup_push(out, &n, &cap,
                 (DupRow){base + r, base + pairs[2 * k + 1], in->umap[in->user[r]],
                          in->imap[in->item[r]]});
    }
    free(pairs);
    const int n_rounds = dup_rounds(in, comm);
    if (n_rounds > 0) {
        uint8_t *rnd = n_rounds > 1 ? dup_round_of(in, p, n_rounds) : NULL;
        for (int k = 0; k < n_rounds; k++)
            dups_routed(out, &n, &cap, in, rnd, k, comm);
        free(rnd);
    }
    if (n > 1)
        qsort(*out, n, sizeof **out, duprow_cmp);
    return n;
}

/* The rank whose rows include global row g. */
static int row_owner(const uint64_t *row_start, int p, uint64_t g)
{
    return last_at_or_below(row_start, p, g);
}

static int size_cmp(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

size_t pkeys_return_rows(size_t **local, const uint64_t *rows, size_t n, const uint64_t *row_start,
                         MPI_Comm comm)
{
    Plan x;
    plan_init(&x, comm);
    for (size_t k = 0; k < n; k++)
        count_add(&x.scnt[row_owner(row_start, x.p, rows[k])], 1);
    plan_exchange(&x, comm);
    uint64_t *sbuf = xmalloc((n ? n : 1) * sizeof *sbuf);
    uint64_t *rbuf = xmalloc((x.n_recv ? x.n_recv : 1) * sizeof *rbuf);
    int *at = xmalloc((size_t)x.p * sizeof *at);
    memcpy(at, x.sdis, (size_t)x.p * sizeof *at);
    for (size_t k = 0; k < n; k++)
        sbuf[at[row_owner(row_start, x.p, rows[k])]++] = rows[k];
    CHECK_MPI(MPI_Alltoallv(sbuf, x.scnt, x.sdis, MPI_UINT64_T, rbuf, x.rcnt, x.rdis, MPI_UINT64_T,
                            comm));
    *local = xmalloc((x.n_recv ? x.n_recv : 1) * sizeof **local);
    for (size_t k = 0; k < x.n_recv; k++)
        (*local)[k] = (size_t)(rbuf[k] - row_start[x.rank]);
    qsort(*local, x.n_recv, sizeof **local, size_cmp);
    size_t got = x.n_recv;
    free(at);
    free(sbuf);
    free(rbuf);
    plan_free(&x);
    return got;
}
