/* prep_load.c - a prepared file into every rank's shard (prepared.h).
 *
 *   open       prep_file_open (prep_file.c): the checks, and the small parts every rank
 *              holds: per-user offsets, user and item keys, titles
 *   split      rank r decides the split of its 1/P of the row indices (split.h) into a
 *              bitmap; MPI_Allgatherv -> every rank holds all N bits (N/8 bytes) and
 *              their prefix counts, so it knows any row's split and its index among the
 *              training rows (train_gidx) in O(1)
 *   count      rank r reads the row indices and items of an equal block of the file's
 *              rows: training ratings per user and the items used, summed over ranks
 *   vocabs     users with training ratings, items used (by training rows, or by all
 *              rows when items are titles), sorted by vocab_build: the same on every rank
 *   layout     from the training ratings per user (layout_init)
 *   read       rank r reads only its own users' rows (one hyperslab: users are stored in
 *              vocabulary order); validation rows of users unseen in training belong to
 *              #na#, rank 0's, and are sent there
 *   order      rows back into file order (already so when the text was grouped by user in
 *              key order), encoded, train_gidx from the split bits
 *
 * The column checksums (prep_checksum) are summed over the ranks' parts and compared
 * with the file's, so a damaged file is reported instead of trained on. */
#include "config.h"

#include "collab/base/exact.h"
#include "collab/data/prepared.h"

#include <hdf5.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/h5.h"
#include "collab/data/split.h"

/* ------------------------------------------------------------------------- split */

/* The split of every row: bit i of word w says row 64 w + i is a validation row. */
typedef struct SplitBits {
    uint64_t *bits;   /* (words) */
    uint64_t *before; /* (words + 1) validation rows before each word */
    uint64_t cut;     /* validation rows in all */
} SplitBits;

/* Bits set in x (SWAR: __builtin_popcountll is a library call without -mpopcnt). */
static uint64_t popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (x * 0x0101010101010101ULL) >> 56;
}

/* Collective: each rank decides its share of the words, then every rank gets them all. */
static void split_bits(SplitBits *s, uint64_t n, const SplitSpec *sp, MPI_Comm comm)
{
    int p, rank;
    CHECK_MPI(MPI_Comm_size(comm, &p));
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    const uint64_t words = (n + 63) / 64;
    Split sl;
    split_init_spec(&sl, (size_t)n, sp);
    s->cut = sl.n_valid;
    s->bits = xcalloc(words + 1, sizeof *s->bits);
    s->before = xcalloc(words + 1, sizeof *s->before);
    if (words > INT_MAX)
        check_fail(__FILE__, __LINE__, "%llu rows", (unsigned long long)n);
    int *cnt = xmalloc((size_t)p * sizeof *cnt), *dis = xmalloc((size_t)p * sizeof *dis);
    for (int q = 0; q < p; q++) {
        dis[q] = (int)(words * (uint64_t)q / (uint64_t)p);
        cnt[q] = (int)(words * (uint64_t)(q + 1) / (uint64_t)p) - dis[q];
    }
    split_words(s->bits + dis[rank], &sl, (uint64_t)dis[rank], (uint64_t)cnt[rank]);
    if (sl.n_valid)
        CHECK_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, s->bits, cnt, dis,
                                 MPI_UINT64_T, comm));
    for (uint64_t w = 0; w < words; w++)
        s->before[w + 1] = s->before[w] + popcount64(s->bits[w]);
    free(cnt);
    free(dis);
}

static int bit_valid(const SplitBits *s, uint64_t row)
{
    return (int)((s->bits[row >> 6] >> (row & 63)) & 1);
}

/* Index of a training row among the training rows, in file order. */
static int64_t train_index(const SplitBits *s, uint64_t row)
{
    const uint64_t below = s->bits[row >> 6] & ((UINT64_C(1) << (row & 63)) - 1);
    return (int64_t)(row - s->before[row >> 6] - popcount64(below));
}

static void split_bits_free(SplitBits *s)
{
    free(s->bits);
    free(s->before);
}

/* Stored user of row place pos: the last u with offsets[u] <= pos. */
static uint64_t user_at(const PrepFile *f, uint64_t pos)
{
    uint64_t lo = 0, hi = f->n_users - 1;
    while (lo < hi) {
        uint64_t mid = (lo + hi + 1) / 2;
        if (f->offsets[mid] <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* ------------------------------------------------------------------------- count */

/* First place of rank q's equal block of n places. */
static uint64_t block_start(uint64_t n, int q, int p)
{
    return (uint64_t)(((unsigned __int128)n * (unsigned)q) / (unsigned)p);
}

/* Local: rows [a, a + n) have row indices and items in range. */
static int check_rows(const PrepFile *f, const int64_t *row, const int32_t *item, size_t n,
                      Status *st)
{
    for (size_t j = 0; j < n; j++)
        if (row[j] < 0 || (uint64_t)row[j] >= f->n_rows || item[j] < 0 ||
            (uint64_t)item[j] >= f->n_items)
            return status_set(st, STATUS_DATA,
                              "%s: the ratings are damaged (a row index or an item out of "
                              "range; prepare the file again)",
                              f->path);
    return STATUS_OK;
}

/* Columns read from the file, reused from one read to the next. */
typedef struct Cols {
    size_t cap;
    uint64_t pos0; /* row and item hold places [pos0, pos0 + n) */
    size_t n;
    int64_t *row;  /* (cap) */
    int32_t *item; /* (cap) */
    float *rating; /* (cap) */
} Cols;

static void cols_reserve(Cols *c, size_t n)
{
    if (n + 1 <= c->cap)
        return;
    c->cap = n + 1;
    c->row = xrealloc(c->row, c->cap * sizeof *c->row);
    c->item = xrealloc(c->item, c->cap * sizeof *c->item);
    c->rating = xrealloc(c->rating, c->cap * sizeof *c->rating);
}

static void cols_free(Cols *c)
{
    free(c->row);
    free(c->item);
    free(c->rating);
    memset(c, 0, sizeof *c);
}

/* Collective: training ratings per stored user (ucount, n_users) and the items the
 * vocabulary takes (imark, n_items: used by training rows, or by any row when items
 * are titles), from an equal block of places per rank (read into c), summed over the
 * ranks. */
static int count_block(uint64_t *ucount, uint8_t *imark, Cols *c, const PrepFile *f,
                       const SplitBits *s, int by_title, MPI_Comm comm, Status *st)
{
    int p, rank;
    CHECK_MPI(MPI_Comm_size(comm, &p));
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    const uint64_t a = block_start(f->n_rows, rank, p);
    const size_t n = (size_t)(block_start(f->n_rows, rank + 1, p) - a);
    cols_reserve(c, n);
    c->pos0 = a, c->n = n;
    if (h5_read_rows(f->file, "ratings/row", H5T_NATIVE_INT64, c->row, a, n, 0) < 0 ||
        h5_read_rows(f->file, "ratings/item", H5T_NATIVE_INT32, c->item, a, n, 0) < 0)
        status_set(st, STATUS_DATA, "%s: the ratings cannot be read (truncated or damaged?)",
                   f->path);
    else if (check_rows(f, c->row, c->item, n, st) == STATUS_OK && n > 0)
        for (uint64_t j = 0, u = user_at(f, a); j < n; j++) {
            while (f->offsets[u + 1] <= a + j)
                u++;
            const int valid = bit_valid(s, (uint64_t)c->row[j]);
            ucount[u] += !valid;
            imark[c->item[j]] |= (uint8_t)(!valid || by_title);
        }
    if (f->n_users > INT_MAX || f->n_items > INT_MAX)
        check_fail(__FILE__, __LINE__, "%llu keys", (unsigned long long)f->n_users);
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, ucount, (int)f->n_users, MPI_UINT64_T, MPI_SUM, comm));
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, imark, (int)f->n_items, MPI_UINT8_T, MPI_MAX, comm));
    return status_agree(st, comm);
}

/* ------------------------------------------------------------------------- vocabs */

/* The vocabulary of the n keys marked, and every key's index in it (0: not in it). The
 * keys are stored in vocabulary order, so usually no sort and no lookup is needed. */
static int32_t *vocab_marked(Vocab *v, char **keys, const uint8_t *mark, size_t n)
{
    int32_t *idx = xmalloc((n + 1) * sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (mark[i])
            idx[k++] = (int32_t)i;
    const int in_order = vocab_build_sorted(v, keys, idx, k);
    for (size_t i = 0, j = 0; i < n; i++)
        idx[i] = !mark[i] ? 0 : in_order ? (int32_t)++j : vocab_find(v, keys[i]);
    return idx;
}

/* Vocabularies, titles and layout; *umap and *imap get the stored keys' vocabulary
 * indices. Local (every rank computes the same). */
static void vocabs_layout(Dataset *ds, int32_t **umap, int32_t **imap, const PrepFile *f,
                          const uint64_t *ucount, const uint8_t *imark, int by_title, int p,
                          int nblocks)
{
    uint8_t *umark = xmalloc(f->n_users + 1);
    for (uint64_t u = 0; u < f->n_users; u++)
        umark[u] = ucount[u] > 0;
    *umap = vocab_marked(&ds->users, f->ukeys, umark, f->n_users);
    *imap = vocab_marked(&ds->items, f->ikeys, imark, f->n_items);
    free(umark);
    ds->item_titles = xcalloc(ds->items.n, sizeof *ds->item_titles);
    for (uint64_t i = 0; i < f->n_items; i++) {
        const char *t = by_title ? f->ikeys[i] : f->titles[i];
        if ((*imap)[i] > 0 && t)
            ds->item_titles[(*imap)[i]] = xstrdup(t);
    }
    uint64_t *counts = xcalloc(ds->users.n, sizeof *counts);
    for (uint64_t u = 0; u < f->n_users; u++)
        counts[(*umap)[u]] += ucount[u];
    layout_init_blocks(&ds->layout, p, nblocks, ds->users.n, ds->items.n, counts);
    free(counts);
}

/* First stored user in the vocabulary at index v or later (n_users when none). */
static uint64_t first_user_from(const PrepFile *f, const int32_t *umap, size_t v)
{
    for (uint64_t u = 0; u < f->n_users; u++)
        if (umap[u] > 0 && (size_t)umap[u] >= v)
            return u;
    return f->n_users;
}

/* The places this rank reads, [*a, *b). Returns 1 when they are its own users' rows
 * (the stored order of the users is their vocabulary order, as it is unless numbers and
 * other keys are mixed and only numbers have training ratings), 0 when it must read
 * every row and keep its own. */
static int own_places(uint64_t *a, uint64_t *b, const PrepFile *f, const int32_t *umap,
                      const Layout *l, int rank)
{
    int32_t last = 0;
    for (uint64_t u = 0; u < f->n_users; u++) {
        if (umap[u] > 0 && umap[u] <= last) {
            *a = 0, *b = f->n_rows;
            return 0;
        }
        last = umap[u] > 0 ? umap[u] : last;
    }
    const uint64_t lo = rank == 0 ? 0 : first_user_from(f, umap, l->user_start[rank]);
    const uint64_t hi =
        rank + 1 == l->nranks ? f->n_users : first_user_from(f, umap, l->user_start[rank + 1]);
    *a = f->offsets[lo], *b = f->offsets[hi];
    return 1;
}

/* ------------------------------------------------------------------------- rows */

/* Rows of one kind on this rank. */
typedef struct Rows {
    size_t n, cap;
    int32_t *user, *item; /* (n) vocabulary indices */
    float *rating;        /* (n) */
    int64_t *row;         /* (n) row index in the text; train_gidx once encoded */
} Rows;

static void rows_alloc(Rows *r, size_t cap)
{
    r->cap = cap ? cap : 1;
    r->user = xrealloc(r->user, r->cap * sizeof *r->user);
    r->item = xrealloc(r->item, r->cap * sizeof *r->item);
    r->rating = xrealloc(r->rating, r->cap * sizeof *r->rating);
    r->row = xrealloc(r->row, r->cap * sizeof *r->row);
}

static void rows_free(Rows *r)
{
    free(r->user);
    free(r->item);
    free(r->rating);
    free(r->row);
    memset(r, 0, sizeof *r);
}

static void rows_push(Rows *r, int32_t u, int32_t i, float y, int64_t row)
{
    if (r->n == r->cap)
        rows_alloc(r, 2 * r->cap);
    r->user[r->n] = u, r->item[r->n] = i, r->rating[r->n] = y, r->row[r->n++] = row;
}

/* Puts r in file order (stable radix sort on the row index, 16 bits a pass), unless it
 * already is: it is when the text was grouped by user in key order. */
static void rows_sort(Rows *r)
{
    size_t j = 1;
    while (j < r->n && r->row[j - 1] < r->row[j])
        j++;
    if (j >= r->n)
        return;
    uint64_t most = 0;
    uint32_t *idx = xmalloc(r->n * sizeof *idx), *tmp = xmalloc(r->n * sizeof *tmp);
    size_t *cnt = xmalloc(((size_t)1 << 16) * sizeof *cnt);
    for (j = 0; j < r->n; j++) {
        idx[j] = (uint32_t)j;
        most = (uint64_t)r->row[j] > most ? (uint64_t)r->row[j] : most;
    }
    for (unsigned sh = 0; sh < 64 && (most >> sh); sh += 16) {
        memset(cnt, 0, ((size_t)1 << 16) * sizeof *cnt);
        for (j = 0; j < r->n; j++)
            cnt[((uint64_t)r->row[idx[j]] >> sh) & 0xFFFF]++;
        for (size_t d = 0, sum = 0; d < ((size_t)1 << 16); d++) {
            size_t c = cnt[d];
            cnt[d] = sum, sum += c;
        }
        for (j = 0; j < r->n; j++)
            tmp[cnt[((uint64_t)r->row[idx[j]] >> sh) & 0xFFFF]++] = idx[j];
        uint32_t *swap = idx;
        idx = tmp, tmp = swap;
    }
    Rows s = {0};
    rows_alloc(&s, r->n);
    for (j = 0; j < r->n; j++)
        rows_push(&s, r->user[idx[j]], r->item[idx[j]], r->rating[idx[j]], r->row[idx[j]]);
    rows_free(r);
    *r = s;
    free(idx);
    free(tmp);
    free(cnt);
}

/* What a rank does with the rows it reads. */
typedef struct Load {
    const PrepFile *f;
    const SplitBits *s;
    const Layout *l;
    const int32_t *umap, *imap; /* stored key -> vocabulary index */
    int rank;
    int fast;   /* reads its own users' places (own_places) */
    int own_na; /* owns #na#: the validation rows of users unseen in training */
    MPI_Comm comm;
} Load;

enum { KIND_DROP, KIND_TRAIN, KIND_VALID, KIND_SEND };

/* A row of vocabulary user v: this rank's training or validation row, another rank's,
 * or (read by a rank that does not own #na#) a validation row of an unseen user. */
static int row_kind(const Load *L, int32_t v, int64_t row)
{
    if (v == 0)
        return L->own_na ? KIND_VALID : L->fast ? KIND_SEND : KIND_DROP;
    if (!L->fast && layout_user_owner(L->l, (size_t)v) != L->rank)
        return KIND_DROP;
    return bit_valid(L->s, (uint64_t)row) ? KIND_VALID : KIND_TRAIN;
}

/* Local: the n rows at places [a, a + n) in c, encoded: training rows compacted in
 * place (t takes c's arrays over), validation rows and rows to send copied out. */
static void rows_split(Rows *out, Cols *c, const Load *L, uint64_t a, size_t n)
{
    Rows *t = &out[KIND_TRAIN];
    const double share = (double)L->s->cut / (double)L->f->n_rows;
    rows_alloc(&out[KIND_VALID], (size_t)((double)n * share * 1.05) + 1024);
    rows_alloc(&out[KIND_SEND], 1024);
    int32_t *user = xmalloc((n + 1) * sizeof *user);
    size_t nt = 0;
    for (uint64_t j = 0, u = n ? user_at(L->f, a) : 0; j < n; j++) {
        while (L->f->offsets[u + 1] <= a + j)
            u++;
        const int32_t v = L->umap[u], it = L->imap[c->item[j]];
        const int k = row_kind(L, v, c->row[j]);
        if (k == KIND_TRAIN) { /* nt <= j: writing behind the reader */
            user[nt] = v, c->item[nt] = it, c->rating[nt] = c->rating[j];
            c->row[nt++] = c->row[j];
        } else if (k != KIND_DROP) {
            rows_push(&out[k], v, it, c->rating[j], c->row[j]);
        }
    }
    *t = (Rows){nt, nt, user, c->item, c->rating, c->row};
    memset(c, 0, sizeof *c);
}

/* Local: row and item of places [a, b) into c, reusing what c holds of them (the count
 * block is most of a rank's own places); the ratings are read whole. Returns < 0 when
 * a read fails. */
static int read_places(Cols *c, int64_t file, uint64_t a, uint64_t b)
{
    const size_t n = (size_t)(b - a);
    const uint64_t o0 = c->pos0 > a ? c->pos0 : a;
    const uint64_t o1 = c->pos0 + c->n < b ? c->pos0 + c->n : b;
    cols_reserve(c, n);
    uint64_t r0 = b, r1 = b; /* the part kept: [r0, r1) */
    if (o0 < o1) {
        memmove(c->row + (o0 - a), c->row + (o0 - c->pos0), (o1 - o0) * sizeof *c->row);
        memmove(c->item + (o0 - a), c->item + (o0 - c->pos0), (o1 - o0) * sizeof *c->item);
        r0 = o0, r1 = o1;
    }
    c->pos0 = a, c->n = n;
    const uint64_t part[2][2] = {{a, r0 < b ? r0 : b}, {r1, b}};
    int rc = h5_read_rows(file, "ratings/rating", H5T_NATIVE_FLOAT, c->rating, a, n, 0);
    for (int k = 0; k < 2 && rc >= 0; k++) {
        const uint64_t lo = part[k][0], hi = part[k][1];
        if (hi <= lo)
            continue;
        rc = h5_read_rows(file, "ratings/row", H5T_NATIVE_INT64, c->row + (lo - a), lo, hi - lo, 0);
        if (rc >= 0)
            rc = h5_read_rows(file, "ratings/item", H5T_NATIVE_INT32, c->item + (lo - a), lo,
                              hi - lo, 0);
    }
    return rc;
}

/* Collective: this rank reads places [a, b) (into c) and sorts them into out; the
 * checksums of the parts that partition the file are compared with the file's. */
static int read_own(Rows *out, Cols *c, const Load *L, uint64_t a, uint64_t b, Status *st)
{
    const PrepFile *f = L->f;
    const size_t n = (size_t)(b - a);
    uint64_t sums[3] = {0, 0, 0};
    if (read_places(c, f->file, a, b) < 0)
        status_set(st, STATUS_DATA, "%s: the ratings cannot be read (truncated or damaged?)",
                   f->path);
    else if (check_rows(f, c->row, c->item, n, st) == STATUS_OK &&
             (L->fast || L->rank == 0)) { /* parts of a partition of the file */
        sums[0] = prep_checksum(c->row, 8, n, a);
        sums[1] = prep_checksum(c->item, 4, n, a);
        sums[2] = prep_checksum(c->rating, 4, n, a);
    }
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_UINT64_T, MPI_SUM, L->comm));
    if (st->code == STATUS_OK &&
        (sums[0] != (uint64_t)f->sums[0] || sums[1] != (uint64_t)f->sums[1] ||
         sums[2] != (uint64_t)f->sums[2]))
        status_set(st, STATUS_DATA,
                   "%s: the ratings do not match their checksums (the file is damaged; prepare "
                   "it again)",
                   f->path);
    if (status_agree(st, L->comm) == STATUS_OK)
        rows_split(out, c, L, a, n);
    return st->code;
}

/* Collective: the validation rows of unseen users read by other ranks (sent) go to the
 * owner of #na#, which adds them to its validation rows (v). */
static void send_unseen(Rows *v, const Rows *sent, const Load *L)
{
    int p, n = (int)sent->n, total = 0;
    const int root = layout_user_owner(L->l, 0);
    CHECK_MPI(MPI_Comm_size(L->comm, &p));
    int *cnt = xcalloc((size_t)p, sizeof *cnt), *dis = xcalloc((size_t)p, sizeof *dis);
    CHECK_MPI(MPI_Gather(&n, 1, MPI_INT, cnt, 1, MPI_INT, root, L->comm));
    for (int q = 0; q < p; q++)
        dis[q] = total, total += cnt[q];
    Rows in = {0};
    rows_alloc(&in, (size_t)total);
    CHECK_MPI(
        MPI_Gatherv(sent->item, n, MPI_INT32_T, in.item, cnt, dis, MPI_INT32_T, root, L->comm));
    CHECK_MPI(
        MPI_Gatherv(sent->rating, n, MPI_FLOAT, in.rating, cnt, dis, MPI_FLOAT, root, L->comm));
    CHECK_MPI(MPI_Gatherv(sent->row, n, MPI_INT64_T, in.row, cnt, dis, MPI_INT64_T, root, L->comm));
    if (L->rank == root && total > 0) {
        rows_alloc(v, v->n + (size_t)total);
        for (int k = 0; k < total; k++)
            rows_push(v, 0, in.item[k], in.rating[k], in.row[k]);
    }
    rows_free(&in);
    free(cnt);
    free(dis);
}

/* Collective: the rows (consumed) in file order become ds's, with train_gidx and the
 * exact training mean. */
static void rows_assemble(Dataset *ds, Rows *t, Rows *v, const Load *L)
{
    rows_sort(t);
    rows_sort(v);
    FloatSum sum;
    memset(&sum, 0, sizeof sum);
    for (size_t j = 0; j < t->n; j++) {
        floatsum_add(&sum, t->rating[j]);
        t->row[j] = train_index(L->s, (uint64_t)t->row[j]);
    }
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &sum, (int)(sizeof sum / sizeof(int64_t)), MPI_INT64_T,
                            MPI_SUM, L->comm));
    ds->train_mean = floatsum_value(&sum) / (double)ds->n_train_total;
    ds->n_train = t->n;
    ds->train_user = t->user, ds->train_item = t->item, ds->train_rating = t->rating;
    ds->train_gidx = t->row;
    ds->n_valid = v->n;
    ds->valid_user = v->user, ds->valid_item = v->item, ds->valid_rating = v->rating;
    free(v->row);
    memset(t, 0, sizeof *t);
    memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------------------- load */

/* Collective, after the file is open: counts, vocabularies, layout, this rank's rows. */
static int load_rows(Dataset *ds, const PrepFile *f, const SplitBits *s, int by_title, int nblocks,
                     MPI_Comm comm, Status *st)
{
    Load L = {f, s, &ds->layout, NULL, NULL, 0, 0, 0, comm};
    Cols c = {0};
    int p;
    CHECK_MPI(MPI_Comm_size(comm, &p));
    CHECK_MPI(MPI_Comm_rank(comm, &L.rank));
    uint64_t *ucount = xcalloc(f->n_users + 1, sizeof *ucount);
    uint8_t *imark = xcalloc(f->n_items + 1, 1);
    int32_t *umap = NULL, *imap = NULL;
    Rows out[4];
    memset(out, 0, sizeof out);
    if (count_block(ucount, imark, &c, f, s, by_title, comm, st) == STATUS_OK) {
        vocabs_layout(ds, &umap, &imap, f, ucount, imark, by_title, p, nblocks);
        L.umap = umap, L.imap = imap;
        uint64_t a, b;
        L.fast = own_places(&a, &b, f, umap, &ds->layout, L.rank);
        L.own_na = layout_user_owner(&ds->layout, 0) == L.rank;
        if (read_own(out, &c, &L, a, b, st) == STATUS_OK) {
            if (L.fast)
                send_unseen(&out[KIND_VALID], &out[KIND_SEND], &L);
            rows_assemble(ds, &out[KIND_TRAIN], &out[KIND_VALID], &L);
        }
    }
    for (int k = 0; k < 4; k++)
        rows_free(&out[k]);
    cols_free(&c);
    free(ucount);
    free(imark);
    free(umap);
    free(imap);
    return st->code;
}

int prep_load(Dataset *ds, const DataOptions *opt, const SplitSpec *sp, MPI_Comm comm, Status *st)
{
    PrepFile f;
    memset(ds, 0, sizeof *ds);
    status_clear(st);
    if (prep_file_open(&f, opt->path, opt, comm, st) == STATUS_OK) {
        SplitBits s;
        split_bits(&s, f.n_rows, sp, comm);
        ds->n_valid_total = s.cut;
        ds->n_train_total = f.n_rows - s.cut;
        if (ds->n_train_total == 0)
            status_set(st, STATUS_DATA, "%s: no training rows left after the split", opt->path);
        else
            load_rows(ds, &f, &s, opt->item_by_title, opt->user_blocks, comm, st);
        split_bits_free(&s);
    }
    prep_file_close(&f);
    if (st->code != STATUS_OK)
        dataset_free(ds);
    return st->code;
}
