/* pload.c - dataset_load: every rank reads its own part of the ratings files (pread.c)
 * and the parts become the shards, with no rank ever holding all ratings.
 *
 *   read        training file, then the validation file: this rank's rows, global keys
 *   split       row g (file order) is validation iff perm(g) is held out (split.h), decided
 *               per row; a validation file's rows are all validation rows
 *   vocabs      keys used by training rows (all rows for titles), marked on each rank,
 *               OR-reduced, sorted by vocab_build: the same Vocab on every rank
 *   layout      training ratings per user summed over ranks -> layout_init
 *   mean        exact sum (FloatSum), reduced as integers: the same bits at any -np
 *   route       each row to its user's owner, one column at a time (the sent column is
 *               freed before the next), received in source-rank order = file order
 *
 * The result equals dataset_load_serial's field for field. */
#include "config.h"

#include "collab/base/exact.h"
#include "collab/data/distribute.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/data/pread.h"
#include "collab/data/split.h"

/* Rows of one kind (training or validation) on this rank, in file order. */
typedef struct Part {
    size_t n;
    int32_t *user, *item; /* (n) key indices, then vocabulary indices */
    float *rating;        /* (n) */
} Part;

static void part_free(Part *p)
{
    free(p->user);
    free(p->item);
    free(p->rating);
    memset(p, 0, sizeof *p);
}

/* ----------------------------------------------------------------------------- split */

/* Gives p's arrays room for cap rows (also to shrink them to their rows). */
static void part_resize(Part *p, size_t cap)
{
    cap = cap ? cap : 1;
    p->user = xrealloc(p->user, cap * sizeof *p->user);
    p->item = xrealloc(p->item, cap * sizeof *p->item);
    p->rating = xrealloc(p->rating, cap * sizeof *p->rating);
}

/* Takes the rows of f (the training file) apart in one pass: the validation rows of the
 * random split or fold are copied to v (sized for their expected number, grown if need be), the
 * training rows are compacted in f's arrays, which t takes over. */
static void split_rows(Part *t, Part *v, PartRows *f, const SplitSpec *sp)
{
    Split s;
    split_init_spec(&s, f->total, sp);
    const double share = f->total ? (double)s.n_valid / (double)f->total : 0.0;
    size_t nt = 0, cap = (size_t)((double)f->n * share * 1.05) + 1024;
    part_resize(v, cap);
    for (size_t i = 0; i < f->n; i++) {
        int32_t u = f->user[i], it = f->item[i];
        float y = f->rating[i];
        if (!split_is_valid(&s, f->first + i)) { /* nt <= i: writing behind the reader */
            f->user[nt] = u, f->item[nt] = it, f->rating[nt++] = y;
            continue;
        }
        if (v->n == cap)
            part_resize(v, cap *= 2);
        v->user[v->n] = u, v->item[v->n] = it, v->rating[v->n++] = y;
    }
    part_resize(v, v->n);
    *t = (Part){nt, f->user, f->item, f->rating};
    part_resize(t, nt);
    f->user = f->item = NULL;
    f->rating = NULL;
    f->n = 0;
}

/* Takes over f's arrays as a part. */
static void take_rows(Part *p, PartRows *f)
{
    *p = (Part){f->n, f->user, f->item, f->rating};
    f->user = f->item = NULL;
    f->rating = NULL;
    f->n = 0;
}

/* -------------------------------------------------------------------- vocabularies */

/* Collective: the vocabulary of the keys that rows use (col: a part's user or item
 * column), over every rank. */
static void vocab_of(Vocab *v, const KeyTable *keys, const Part *const *parts, int n_parts, int col,
                     MPI_Comm comm)
{
    uint8_t *mark = xcalloc(keys->n + 1, 1);
    for (int k = 0; k < n_parts; k++) {
        const int32_t *c = col ? parts[k]->item : parts[k]->user;
        for (size_t i = 0; i < parts[k]->n; i++)
            mark[c[i]] = 1;
    }
    if (keys->n > INT_MAX)
        check_fail(__FILE__, __LINE__, "%zu distinct keys", keys->n);
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, mark, (int)keys->n, MPI_UINT8_T, MPI_MAX, comm));
    size_t n = 0;
    int32_t *idx = xmalloc((keys->n + 1) * sizeof *idx);
    for (size_t i = 0; i < keys->n; i++)
        if (mark[i])
            idx[n++] = (int32_t)i;
    vocab_build(v, keys->keys, idx, n);
    free(idx);
    free(mark);
}

/* map (keys->n): the vocabulary index of every key (0 when the vocabulary lacks it). */
static int32_t *vocab_map(const Vocab *v, const KeyTable *keys)
{
    int32_t *map = xmalloc((keys->n + 1) * sizeof *map);
    for (size_t i = 0; i < keys->n; i++)
        map[i] = vocab_find(v, keys->keys[i]);
    return map;
}

/* ds->item_titles as dataset_build sets them: each entry's key (items are titles) or its
 * title from the items files; NULL for #na# and unknown titles. */
static void titles_of(Dataset *ds, const PartKeys *keys, const int32_t *imap, int by_title)
{
    ds->item_titles = xcalloc(ds->items.n, sizeof *ds->item_titles);
    for (size_t i = 0; i < keys->items.n; i++) {
        const char *t = by_title ? keys->items.keys[i] : keys->titles[i];
        if (imap[i] > 0 && t && !ds->item_titles[imap[i]])
            ds->item_titles[imap[i]] = xstrdup(t);
    }
}

static void encode(Part *p, const int32_t *umap, const int32_t *imap)
{
    for (size_t i = 0; i < p->n; i++) {
        p->user[i] = umap[p->user[i]];
        p->item[i] = imap[p->item[i]];
    }
}

/* Collective: the layout from the training ratings per user over all ranks, and the
 * exact training mean. */
static void layout_and_mean(Dataset *ds, const Part *t, int p, int nblocks, MPI_Comm comm)
{
    uint64_t *counts = xcalloc(ds->users.n, sizeof *counts);
    for (size_t i = 0; i < t->n; i++)
        counts[t->user[i]]++;
    if (ds->users.n > INT_MAX)
        check_fail(__FILE__, __LINE__, "%zu users", ds->users.n);
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, (int)ds->users.n, MPI_UINT64_T, MPI_SUM, comm));
    layout_init_blocks(&ds->layout, p, nblocks, ds->users.n, ds->items.n, counts);
    free(counts);
    FloatSum sum;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < t->n; i++)
        floatsum_add(&sum, t->rating[i]);
    /* Integer sums: MPI_SUM gives the same bits in any reduction order. */
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &sum, (int)(sizeof sum / sizeof(int64_t)), MPI_INT64_T,
                            MPI_SUM, comm));
    ds->train_mean = floatsum_value(&sum) / (double)ds->n_train_total;
}

/* ----------------------------------------------------------------------------- route */

/* Where each of a part's rows goes: counts and displacements of the exchange, and the
 * send order when the rows are not already grouped by destination. */
typedef struct Route {
    int p, rank;
    int *scnt, *sdis, *rcnt, *rdis; /* (p) */
    uint32_t *order;                /* (n) rows by destination, stable; NULL: in place */
    size_t n, n_recv;
    int local; /* every rank keeps all its rows: no exchange */
    int runs;  /* every rank's rows are grouped by destination */
} Route;

static void route_free(Route *r)
{
    free(r->scnt);
    free(r->sdis);
    free(r->rcnt);
    free(r->rdis);
    free(r->order);
}

/* With r->scnt set: displacements; rows that are not grouped by owner get an order. */
static void route_order(Route *r, const Part *t, const Layout *l, int grouped)
{
    size_t off = 0;
    for (int q = 0; q < r->p; q++) {
        r->sdis[q] = (int)off;
        off += (size_t)r->scnt[q];
    }
    if (grouped)
        return;
    int *at = xmalloc((size_t)r->p * sizeof *at);
    memcpy(at, r->sdis, (size_t)r->p * sizeof *at);
    r->order = xmalloc((t->n ? t->n : 1) * sizeof *r->order);
    for (size_t i = 0; i < t->n; i++)
        r->order[at[layout_user_owner(l, (size_t)t->user[i])]++] = (uint32_t)i;
    free(at);
}

/* Collective: plans the exchange of part t's rows to their users' owners. */
static void route_plan(Route *r, const Part *t, const Layout *l, MPI_Comm comm)
{
    memset(r, 0, sizeof *r);
    CHECK_MPI(MPI_Comm_size(comm, &r->p));
    CHECK_MPI(MPI_Comm_rank(comm, &r->rank));
    r->scnt = xcalloc((size_t)r->p, sizeof(int));
    r->sdis = xcalloc((size_t)r->p, sizeof(int));
    r->rcnt = xcalloc((size_t)r->p, sizeof(int));
    r->rdis = xcalloc((size_t)r->p, sizeof(int));
    r->n = t->n;
    if (t->n > INT_MAX)
        check_fail(__FILE__, __LINE__, "%zu rows on one rank", t->n);
    int grouped = 1, last = 0;
    for (size_t i = 0; i < t->n; i++) {
        int q = layout_user_owner(l, (size_t)t->user[i]);
        grouped &= q >= last;
        last = q;
        r->scnt[q]++;
    }
    route_order(r, t, l, grouped);
    CHECK_MPI(MPI_Alltoall(r->scnt, 1, MPI_INT, r->rcnt, 1, MPI_INT, comm));
    size_t off = 0;
    for (int q = 0; q < r->p; q++) {
        r->rdis[q] = (int)off;
        off += (size_t)r->rcnt[q];
        if (off > INT_MAX)
            check_fail(__FILE__, __LINE__, "more than %d rows for one rank", INT_MAX);
    }
    r->n_recv = off;
    int mine[2] = {r->scnt[r->rank] == (int)t->n && r->rcnt[r->rank] == (int)off && grouped,
                   grouped},
        all[2];
    CHECK_MPI(MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MIN, comm));
    r->local = all[0];
    r->runs = all[1];
}

/* Elements [j0, j0 + n) of the send order into out: a column's values (col, sz bytes
 * each), or with col NULL the rows' global training indices (base + local row). */
static void route_pack(char *out, const Route *r, const char *col, size_t sz, uint64_t base,
                       size_t j0, size_t n)
{
    if (col && !r->order) {
        memcpy(out, col + j0 * sz, n * sz);
        return;
    }
    for (size_t j = 0; j < n; j++) {
        size_t i = r->order ? r->order[j0 + j] : j0 + j;
        if (col) {
            memcpy(out + j * sz, col + i * sz, sz);
        } else {
            int64_t g = (int64_t)(base + i);
            memcpy(out + j * sz, &g, sizeof g);
        }
    }
}

/* Collective: one column (see route_pack) to the owners; returns what this rank
 * receives (r->n_recv elements), in source-rank order. Pairwise: in round k a rank sends
 * to rank + k and receives from rank - k, so only one destination's rows are ever packed
 * (none when the rows are grouped by destination: they are sent from where they lie). */
static void *route_exchange(const Route *r, const char *col, size_t sz, uint64_t base,
                            MPI_Datatype type, MPI_Comm comm)
{
    char *recv = xmalloc(r->n_recv * sz + 1), *buf = NULL;
    size_t most = 0;
    for (int q = 0; q < r->p; q++)
        if (q != r->rank && (size_t)r->scnt[q] > most)
            most = (size_t)r->scnt[q];
    if (r->order || !col)
        buf = xmalloc(most * sz + 1);
    for (int k = 0; k < r->p; k++) {
        const int dst = (r->rank + k) % r->p, src = (r->rank - k + r->p) % r->p;
        const size_t j0 = (size_t)r->sdis[dst], cnt = (size_t)r->scnt[dst];
        if (k == 0) {
            route_pack(recv + (size_t)r->rdis[r->rank] * sz, r, col, sz, base, j0, cnt);
            continue;
        }
        const char *send = buf ? buf : col + j0 * sz;
        if (buf)
            route_pack(buf, r, col, sz, base, j0, cnt);
        CHECK_MPI(MPI_Sendrecv(send, (int)cnt, type, dst, 7, recv + (size_t)r->rdis[src] * sz,
                               r->rcnt[src], type, src, 7, comm, MPI_STATUS_IGNORE));
    }
    free(buf);
    return recv;
}

/* Collective: one column of the part (n elements of sz bytes, in row order, freed here)
 * to the owners; returns the received column. */
static void *route_column(const Route *r, void *col, size_t sz, MPI_Datatype type, MPI_Comm comm)
{
    if (r->local)
        return col;
    void *recv = route_exchange(r, col, sz, 0, type, comm);
    free(col);
    return recv;
}

/* Collective: the global training index of each received row, where this rank's row i
 * has index base + i. When every rank's rows are grouped by owner, they go in runs and
 * only each run's start is sent. */
static int64_t *route_gidx(const Route *r, uint64_t base, MPI_Comm comm)
{
    if (!r->runs)
        return route_exchange(r, NULL, sizeof(int64_t), base, MPI_INT64_T, comm);
    int64_t *g = xmalloc((r->n_recv ? r->n_recv : 1) * sizeof *g);
    int64_t *start = xmalloc((size_t)r->p * sizeof *start);
    int64_t *got = xmalloc((size_t)r->p * sizeof *got);
    for (int q = 0; q < r->p; q++)
        start[q] = (int64_t)(base + (uint64_t)r->sdis[q]);
    CHECK_MPI(MPI_Alltoall(start, 1, MPI_INT64_T, got, 1, MPI_INT64_T, comm));
    for (int q = 0; q < r->p; q++)
        for (int k = 0; k < r->rcnt[q]; k++)
            g[(size_t)r->rdis[q] + (size_t)k] = got[q] + k;
    free(start);
    free(got);
    return g;
}

/* Collective: part t's rows (consumed) to their users' owners, into *user, *item,
 * *rating and, when gidx is not NULL, *gidx (this rank's row i has index base + i).
 * Returns the number of rows received. */
static size_t route_part(int32_t **user, int32_t **item, float **rating, int64_t **gidx, Part *t,
                         uint64_t base, const Layout *l, MPI_Comm comm)
{
    Route r;
    route_plan(&r, t, l, comm);
    *user = route_column(&r, t->user, sizeof **user, MPI_INT32_T, comm);
    *item = route_column(&r, t->item, sizeof **item, MPI_INT32_T, comm);
    *rating = route_column(&r, t->rating, sizeof **rating, MPI_FLOAT, comm);
    t->user = t->item = NULL;
    t->rating = NULL;
    t->n = 0;
    if (gidx)
        *gidx = route_gidx(&r, base, comm);
    size_t n = r.n_recv;
    route_free(&r);
    return n;
}

/* -------------------------------------------------------------------------- assemble */

/* Collective: the vocabularies and titles, and t's and v's rows encoded with them. */
static void assemble_vocabs(Dataset *ds, Part *t, Part *v, const PartKeys *keys, int by_title,
                            MPI_Comm comm)
{
    const Part *train[] = {t}, *all[] = {t, v};
    vocab_of(&ds->users, &keys->users, train, 1, 0, comm);
    /* Items keyed by title: fastai makes the title column a pandas category over the
     * whole frame before Categorify sees the training rows (see dataset_build). */
    vocab_of(&ds->items, &keys->items, by_title ? all : train, by_title ? 2 : 1, 1, comm);
    int32_t *umap = vocab_map(&ds->users, &keys->users);
    int32_t *imap = vocab_map(&ds->items, &keys->items);
    titles_of(ds, keys, imap, by_title);
    encode(t, umap, imap);
    encode(v, umap, imap);
    free(umap);
    free(imap);
}

/* Collective: the parts of the files become the shards. f1: the validation file's rows,
 * or NULL for the random split of f0. keys are freed once the rows are encoded (before
 * the exchange, which is when the most is held). Returns the status (the same on every
 * rank). */
static int assemble(Dataset *ds, PartRows *f0, PartRows *f1, PartKeys *keys, const DataOptions *opt,
                    const SplitSpec *sp, MPI_Comm comm, Status *st)
{
    Part t = {0}, v = {0};
    int p, rank;
    CHECK_MPI(MPI_Comm_size(comm, &p));
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    if (f1) {
        take_rows(&t, f0);
        take_rows(&v, f1);
    } else {
        split_rows(&t, &v, f0, sp);
    }
    uint64_t n[2] = {t.n, v.n}, mine = t.n, base = 0;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, n, 2, MPI_UINT64_T, MPI_SUM, comm));
    CHECK_MPI(MPI_Exscan(&mine, &base, 1, MPI_UINT64_T, MPI_SUM, comm));
    ds->n_train_total = n[0], ds->n_valid_total = n[1];
    if (n[0] == 0) {
        part_free(&t);
        part_free(&v);
        return status_set(st, STATUS_DATA, "%s: no training rows left after the split", opt->path);
    }
    assemble_vocabs(ds, &t, &v, keys, opt->item_by_title, comm);
    partkeys_free(keys);
    layout_and_mean(ds, &t, p, opt->user_blocks, comm);
    /* The validation rows move first, while the training rows are still one copy. */
    ds->n_valid = route_part(&ds->valid_user, &ds->valid_item, &ds->valid_rating, NULL, &v, 0,
                             &ds->layout, comm);
    ds->n_train = route_part(&ds->train_user, &ds->train_item, &ds->train_rating, &ds->train_gidx,
                             &t, rank ? base : 0, &ds->layout, comm);
    return STATUS_OK;
}

int dataset_load(Dataset *ds, const DataOptions *opt, const SplitSpec *sp, MPI_Comm comm,
                 Status *st)
{
    PartKeys keys;
    PartRows f0, f1;
    memset(ds, 0, sizeof *ds);
    memset(&f1, 0, sizeof f1);
    partkeys_init(&keys);
    if (pread_file(&f0, &keys, opt, comm, st) == STATUS_OK && sp->valid_path) {
        DataOptions dv = *opt;
        dv.path = sp->valid_path;
        pread_file(&f1, &keys, &dv, comm, st);
    }
    if (st->code == STATUS_OK)
        assemble(ds, &f0, sp->valid_path ? &f1 : NULL, &keys, opt, sp, comm, st);
    partrows_free(&f0);
    partrows_free(&f1);
    partkeys_free(&keys);
    if (st->code != STATUS_OK)
        dataset_free(ds);
    return st->code;
}
