/* distribute.c - the serial path to the shards: rank 0 reads and encodes the whole
 * dataset (dataset_load_serial), then vocabularies are broadcast and ratings scattered to
 * the owners of their users (dataset_distribute). The parallel path is pload.c. */
#include "config.h"

#include "collab/data/distribute.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/rng.h"
#include "collab/data/split.h"

/* ------------------------------------------------------------------ vocabularies */

/* Broadcasts n strings (NULL entries allowed) from root; receivers get fresh copies. */
static char **bcast_strings(char **s, size_t n, int root, MPI_Comm comm)
{
    int rank;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    uint64_t bytes = 0;
    if (rank == root)
        for (size_t i = 0; i < n; i++)
            bytes += (s[i] ? strlen(s[i]) : 0) + 2; /* presence flag + text + NUL */
    CHECK_MPI(MPI_Bcast(&bytes, 1, MPI_UINT64_T, root, comm));
    char *buf = xmalloc(bytes ? bytes : 1), *at = buf;
    if (rank == root)
        for (size_t i = 0; i < n; i++) {
            *at++ = s[i] ? 1 : 0;
            size_t len = s[i] ? strlen(s[i]) : 0;
            memcpy(at, s[i] ? s[i] : "", len + 1);
            at += len + 1;
        }
    /* MPI counts are int: send in chunks of 1 GiB. */
    for (uint64_t off = 0; off < bytes; off += 1u << 30) {
        uint64_t len = bytes - off < (1u << 30) ? bytes - off : (1u << 30);
        CHECK_MPI(MPI_Bcast(buf + off, (int)len, MPI_CHAR, root, comm));
    }
    char **out = s;
    if (rank != root) {
        out = xcalloc(n ? n : 1, sizeof(char *));
        at = buf;
        for (size_t i = 0; i < n; i++) {
            int present = *at++;
            out[i] = present ? xstrdup(at) : NULL;
            at += strlen(at) + 1;
        }
    }
    free(buf);
    return out;
}

/* Broadcasts a vocabulary; receivers rebuild its lookup index from the sorted names. */
static void bcast_vocab(Vocab *v, int root, MPI_Comm comm)
{
    int rank;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    uint64_t n = v->n;
    CHECK_MPI(MPI_Bcast(&n, 1, MPI_UINT64_T, root, comm));
    char **names = bcast_strings(v->names, n, root, comm);
    if (rank == root)
        return;
    /* names[0] is #na#; the rest are distinct and sorted, so building from them gives
     * back the same vocabulary, index for index. */
    int32_t *idx = xmalloc((n ? n : 1) * sizeof(int32_t));
    for (uint64_t i = 0; i + 1 < n; i++)
        idx[i] = (int32_t)i;
    vocab_build(v, names + 1, idx, n ? n - 1 : 0);
    free(idx);
    for (uint64_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ------------------------------------------------------------------ ratings */

/* One array of rows to scatter: element size and MPI type. */
typedef struct Column {
    void **data;
    size_t size;
    MPI_Datatype type;
} Column;

/* Rank 0: packs the rows owned by q (in file order) of one column into buf. */
static size_t pack_rows(char *buf, const char *col, size_t sz, size_t n, const int *owner, int q)
{
    size_t m = 0;
    for (size_t r = 0; r < n; r++)
        if (owner[r] == q)
            memcpy(buf + m++ * sz, col + r * sz, sz);
    return m;
}

/* Rank 0 sends every other rank its rows, one rank and one column at a time (so it
 * never holds a second copy of the dataset), then keeps its own rows in place; every
 * rank's columns are replaced by its part, in file order. */
static void scatter_rows(Column *cols, int ncols, size_t *n, const int *owner, MPI_Comm comm)
{
    int rank, p;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    CHECK_MPI(MPI_Comm_size(comm, &p));
    int *cnt = xcalloc((size_t)p, sizeof(int));
    for (size_t r = 0; rank == 0 && r < *n; r++)
        cnt[owner[r]]++;
    int mine = 0;
    CHECK_MPI(MPI_Scatter(cnt, 1, MPI_INT, &mine, 1, MPI_INT, 0, comm));
    for (int c = 0; c < ncols; c++) {
        const size_t sz = cols[c].size;
        char *col = *cols[c].data;
        if (rank != 0) {
            col = xmalloc((size_t)mine * sz + 1);
            CHECK_MPI(MPI_Recv(col, mine, cols[c].type, 0, c, comm, MPI_STATUS_IGNORE));
            *cols[c].data = col;
            continue;
        }
        for (int q = 1; q < p; q++) {
            char *buf = xmalloc((size_t)cnt[q] * sz + 1);
            pack_rows(buf, col, sz, *n, owner, q);
            CHECK_MPI(MPI_Send(buf, cnt[q], cols[c].type, q, c, comm));
            free(buf);
        }
        pack_rows(col, col, sz, *n, owner, 0); /* in place: the write trails the read */
        *cols[c].data = xrealloc(col, (size_t)mine * sz + 1);
    }
    *n = (size_t)mine;
    free(cnt);
}

/* Owner rank of each row's user. */
static int *owners_of(const Layout *l, const int32_t *user, size_t n)
{
    int *own = xmalloc((n ? n : 1) * sizeof(int));
    for (size_t r = 0; r < n; r++)
        own[r] = layout_user_owner(l, (size_t)user[r]);
    return own;
}

/* Rank 0: training ratings per user, for the balanced user ranges. */
static uint64_t *user_counts(const Dataset *ds)
{
    uint64_t *c = xcalloc(ds->users.n ? ds->users.n : 1, sizeof(uint64_t));
    for (size_t r = 0; r < ds->n_train; r++)
        c[ds->train_user[r]]++;
    return c;
}

/* Broadcasts the sizes, totals and the users' training counts from rank 0; every rank
 * then cuts the same layout (nblocks user blocks, or none). */
static void bcast_layout(Dataset *ds, int rank, int p, int nblocks, MPI_Comm comm)
{
    uint64_t sizes[4] = {ds->users.n, ds->items.n, ds->n_train, ds->n_valid};
    CHECK_MPI(MPI_Bcast(sizes, 4, MPI_UINT64_T, 0, comm));
    CHECK_MPI(MPI_Bcast(&ds->train_mean, 1, MPI_DOUBLE, 0, comm));
    ds->n_train_total = sizes[2];
    ds->n_valid_total = sizes[3];
    if (sizes[0] > INT_MAX)
        check_fail(__FILE__, __LINE__, "%llu users", (unsigned long long)sizes[0]);
    uint64_t *counts = rank == 0 ? user_counts(ds) : xcalloc(sizes[0] + 1, sizeof(uint64_t));
    CHECK_MPI(MPI_Bcast(counts, (int)sizes[0], MPI_UINT64_T, 0, comm));
    layout_init_blocks(&ds->layout, p, nblocks, sizes[0], sizes[1], counts);
    free(counts);
}

/* Each rank's training rows' global indices: a training row's index is its place in file
 * order, so rank 0 sends each rank the indices of its rows without building them all. */
static void scatter_gidx(Dataset *ds, const int *owner, MPI_Comm comm)
{
    int rank, p;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    CHECK_MPI(MPI_Comm_size(comm, &p));
    for (int q = rank == 0 ? 0 : p; q < p; q++) {
        size_t m = 0;
        for (size_t r = 0; r < ds->n_train; r++)
            m += owner[r] == q;
        int64_t *g = xmalloc((m ? m : 1) * sizeof(int64_t));
        for (size_t r = 0, j = 0; r < ds->n_train; r++)
            if (owner[r] == q)
                g[j++] = (int64_t)r;
        if (q == 0) {
            ds->train_gidx = g;
            continue;
        }
        uint64_t mm = m;
        CHECK_MPI(MPI_Send(&mm, 1, MPI_UINT64_T, q, 100, comm));
        CHECK_MPI(MPI_Send(g, (int)m, MPI_INT64_T, q, 101, comm));
        free(g);
    }
    if (rank != 0) {
        uint64_t m = 0;
        CHECK_MPI(MPI_Recv(&m, 1, MPI_UINT64_T, 0, 100, comm, MPI_STATUS_IGNORE));
        ds->train_gidx = xmalloc((m ? m : 1) * sizeof(int64_t));
        CHECK_MPI(MPI_Recv(ds->train_gidx, (int)m, MPI_INT64_T, 0, 101, comm, MPI_STATUS_IGNORE));
    }
}

void dataset_distribute(Dataset *ds, MPI_Comm comm)
{
    dataset_distribute_blocks(ds, 0, comm);
}

void dataset_distribute_blocks(Dataset *ds, int nblocks, MPI_Comm comm)
{
    int rank, p;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    CHECK_MPI(MPI_Comm_size(comm, &p));
    bcast_layout(ds, rank, p, nblocks, comm);
    bcast_vocab(&ds->users, 0, comm);
    bcast_vocab(&ds->items, 0, comm);
    ds->item_titles = bcast_strings(ds->item_titles, ds->items.n, 0, comm);
    int *own = rank == 0 ? owners_of(&ds->layout, ds->train_user, ds->n_train) : NULL;
    scatter_gidx(ds, own, comm);
    Column train[] = {{(void **)&ds->train_user, sizeof(int32_t), MPI_INT32_T},
                      {(void **)&ds->train_item, sizeof(int32_t), MPI_INT32_T},
                      {(void **)&ds->train_rating, sizeof(float), MPI_FLOAT}};
    scatter_rows(train, 3, &ds->n_train, own, comm);
    free(own);
    own = rank == 0 ? owners_of(&ds->layout, ds->valid_user, ds->n_valid) : NULL;
    Column valid[] = {{(void **)&ds->valid_user, sizeof(int32_t), MPI_INT32_T},
                      {(void **)&ds->valid_item, sizeof(int32_t), MPI_INT32_T},
                      {(void **)&ds->valid_rating, sizeof(float), MPI_FLOAT}};
    scatter_rows(valid, 3, &ds->n_valid, own, comm);
    free(own);
}

/* ------------------------------------------------------------------ serial load */

/* Rank 0's part of the serial load: read, split or append the validation file, encode. */
static int load_local(Dataset *ds, const DataOptions *d, const SplitSpec *sp, Status *st)
{
    Ratings r = {0}, v = {0};
    uint8_t *is_valid = NULL;
    if (data_read(&r, d, st))
        goto out;
    size_t n_train_rows = r.n;
    if (sp->valid_path) {
        DataOptions dv = *d;
        dv.path = sp->valid_path;
        if (data_read(&v, &dv, st))
            goto out;
        ratings_append(&r, &v);
    }
    is_valid = xcalloc(r.n ? r.n : 1, 1);
    if (sp->valid_path)
        memset(is_valid + n_train_rows, 1, r.n - n_train_rows);
    else {
        Split s;
        split_init_spec(&s, r.n, sp);
        split_fill(is_valid, &s);
    }
    dataset_build_take(ds, &r, is_valid, d->item_by_title); /* rows held once */
    if (ds->n_train == 0)
        status_set(st, STATUS_DATA, "%s: no training rows left after the split", d->path);
out:
    free(is_valid);
    ratings_free(&r);
    ratings_free(&v);
    return st->code;
}

int dataset_load_serial(Dataset *ds, const DataOptions *opt, const SplitSpec *sp, MPI_Comm comm,
                        Status *st)
{
    int rank;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    memset(ds, 0, sizeof *ds);
    status_clear(st);
    if (rank == 0)
        load_local(ds, opt, sp, st);
    if (status_agree(st, comm)) {
        dataset_free(ds);
        return st->code;
    }
    dataset_distribute(ds, comm);
    return STATUS_OK;
}

/* ------------------------------------------------------------------ show-batch */

void dataset_gather_first(int32_t *user, int32_t *item, float *rating, const Dataset *ds,
                          uint64_t seed, int epoch, size_t n, MPI_Comm comm)
{
    int rank, p;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    CHECK_MPI(MPI_Comm_size(comm, &p));
    Perm perm;
    perm_init(&perm, ds->n_train_total, seed, RNG_STREAM_SHUFFLE, (uint64_t)epoch);
    /* Each rank contributes (position, user, item, rating bits) of its rows below n. */
    int64_t *mine = xmalloc((n ? n : 1) * 4 * sizeof(int64_t));
    int cnt = 0;
    for (size_t r = 0; r < ds->n_train && (size_t)cnt < n; r++) {
        uint64_t pos = perm_apply(&perm, (uint64_t)ds->train_gidx[r]);
        if (pos >= n)
            continue;
        int32_t bits;
        memcpy(&bits, &ds->train_rating[r], sizeof bits);
        int64_t rec[4] = {(int64_t)pos, ds->train_user[r], ds->train_item[r], bits};
        memcpy(mine + 4 * cnt++, rec, sizeof rec);
    }
    int *cnts = xcalloc((size_t)p, sizeof(int)), *offs = xcalloc((size_t)p, sizeof(int));
    int mine4 = 4 * cnt;
    CHECK_MPI(MPI_Gather(&mine4, 1, MPI_INT, cnts, 1, MPI_INT, 0, comm));
    for (int q = 1; q < p; q++)
        offs[q] = offs[q - 1] + cnts[q - 1];
    int64_t *all = xmalloc(n * 4 * sizeof(int64_t) + 1);
    CHECK_MPI(MPI_Gatherv(mine, mine4, MPI_INT64_T, all, cnts, offs, MPI_INT64_T, 0, comm));
    if (rank == 0)
        for (size_t i = 0; i < n; i++) {
            const int64_t *rec = all + 4 * i;
            const size_t at = (size_t)rec[0]; /* positions 0..n-1 arrive exactly once */
            int32_t bits = (int32_t)rec[3];
            user[at] = (int32_t)rec[1];
            item[at] = (int32_t)rec[2];
            memcpy(&rating[at], &bits, sizeof bits);
        }
    free(all);
    free(mine);
    free(cnts);
    free(offs);
}
