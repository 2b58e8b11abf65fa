/* prep_write.c - `prepare`: text parsed once into a prepared HDF5 file (prepared.h).
 *
 *   parse      every rank parses its byte range (pread_file, timestamps kept): rows in
 *              file order, keys identical on every rank
 *   sort keys  users and items sorted as vocabularies sort them (vocab_build over all
 *              keys): a row's user and item become indices in those sorted lists
 *   place      rows per user counted on every rank, summed (offsets) and prefix-summed
 *              over ranks (MPI_Exscan): each row's place in user order, file order
 *              within a user, is known without sorting
 *   exchange   rows travel to the rank that writes their block of places (equal blocks);
 *              a file already grouped by user in key order stays where it is
 *   write      each rank writes its block of every column with a hyperslab, collectively;
 *              rank 0 the offsets and the key lists; through out.tmp, then renamed
 *
 * Every column carries an order-sensitive checksum attribute (prep_checksum), so that
 * prep_load notices a damaged file. */
#include "config.h"

#include "collab/data/prepared.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/h5.h"
#include "collab/data/pread.h"
#include "collab/data/reader.h"

const char *prep_format_name(DataFormat f)
{
    static const char *const names[] = {"auto", "ml-100k", "ml-1m", "ml-csv", "delim"};
    return names[f];
}

uint64_t prep_checksum(const void *col, size_t size, size_t n, uint64_t pos0)
{
    const unsigned char *p = col;
    const uint64_t c = 0x9e3779b97f4a7c15ULL, odd = 2 * pos0 + 1;
    uint64_t sum = 0;
    if (size == 8) { /* fixed sizes: the compiler turns the memcpy into a load */
        for (size_t i = 0; i < n; i++) {
            uint64_t w;
            memcpy(&w, p + 8 * i, 8);
            sum += (w + c) * (odd + 2 * (uint64_t)i);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t w;
            memcpy(&w, p + 4 * i, 4);
            sum += ((uint64_t)w + c) * (odd + 2 * (uint64_t)i);
        }
    }
    return sum;
}

/* ------------------------------------------------------------------------ the rows */

/* This rank's rows in user order: places [pos0, pos0 + n) of the file's columns. */
typedef struct Block {
    size_t n;
    uint64_t pos0, total;
    int32_t *user, *item; /* (n) sorted key indices */
    float *rating;        /* (n) */
    int64_t *ts, *row;    /* (n) timestamp, row index in the text */
} Block;

static void block_free(Block *b)
{
    free(b->user);
    free(b->item);
    free(b->rating);
    free(b->ts);
    free(b->row);
    memset(b, 0, sizeof *b);
}

/* One row on its way to the rank that writes its place. */
typedef struct Rec {
    uint64_t pos;
    int64_t ts, row;
    int32_t user, item;
    float rating;
    int32_t pad;
} Rec;

/* First place of rank q's block. */
static uint64_t block_start(uint64_t total, int q, int p)
{
    return (uint64_t)(((unsigned __int128)total * (unsigned)q) / (unsigned)p);
}

static int block_owner(uint64_t pos, uint64_t total, int p)
{
    int q = (int)(((unsigned __int128)pos * (unsigned)p) / (total ? total : 1));
    while (q + 1 < p && block_start(total, q + 1, p) <= pos)
        q++;
    while (q > 0 && block_start(total, q, p) > pos)
        q--;
    return q;
}

/* Sorted index (vocabulary order, without #na#) of every key of t. */
static int32_t *sorted_index(Vocab *v, const KeyTable *t)
{
    int32_t *idx = xmalloc((t->n + 1) * sizeof *idx);
    for (size_t i = 0; i < t->n; i++)
        idx[i] = (int32_t)i;
    vocab_build(v, t->keys, idx, t->n);
    for (size_t i = 0; i < t->n; i++)
        idx[i] = vocab_find(v, t->keys[i]) - 1;
    return idx;
}

/* Collective: the place of each of this rank's rows (pos, n), and the offsets (n_users
 * + 1) of every user's rows. user: sorted user indices. */
static uint64_t *places(uint64_t *offsets, const int32_t *user, size_t n, size_t n_users,
                        MPI_Comm comm)
{
    uint64_t *mine = xcalloc(n_users + 1, sizeof *mine);
    uint64_t *before = xcalloc(n_users + 1, sizeof *before);
    for (size_t i = 0; i < n; i++)
        mine[user[i]]++;
    if (n_users > INT_MAX)
        check_fail(__FILE__, __LINE__, "%zu users", n_users);
    CHECK_MPI(MPI_Allreduce(mine, offsets + 1, (int)n_users, MPI_UINT64_T, MPI_SUM, comm));
    CHECK_MPI(MPI_Exscan(mine, before, (int)n_users, MPI_UINT64_T, MPI_SUM, comm));
    int rank;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0)
        memset(before, 0, n_users * sizeof *before); /* MPI_Exscan leaves rank 0's undefined */
    offsets[0] = 0;
    for (size_t u = 0; u < n_users; u++) {
        offsets[u + 1] += offsets[u];
        before[u] += offsets[u]; /* where this rank's rows of u start */
    }
    uint64_t *pos = xmalloc((n ? n : 1) * sizeof *pos);
    for (size_t i = 0; i < n; i++)
        pos[i] = before[user[i]]++;
    free(mine);
    free(before);
    return pos;
}

static void block_alloc(Block *b, size_t n)
{
    b->n = n;
    b->user = xmalloc((n ? n : 1) * sizeof *b->user);
    b->item = xmalloc((n ? n : 1) * sizeof *b->item);
    b->rating = xmalloc((n ? n : 1) * sizeof *b->rating);
    b->ts = xmalloc((n ? n : 1) * sizeof *b->ts);
    b->row = xmalloc((n ? n : 1) * sizeof *b->row);
}

static void block_put(Block *b, const Rec *r)
{
    const size_t j = (size_t)(r->pos - b->pos0);
    b->user[j] = r->user, b->item[j] = r->item, b->rating[j] = r->rating;
    b->ts[j] = r->ts, b->row[j] = r->row;
}

/* Row i of rows as a record (user and item already sorted indices). */
static Rec rec_of(const PartRows *rows, size_t i, uint64_t pos)
{
    return (Rec){
        pos, rows->ts[i], (int64_t)(rows->first + i), rows->user[i], rows->item[i], rows->rating[i],
        0};
}

/* Collective: every row to the rank whose block holds its place. */
static void exchange_rows(Block *b, const PartRows *rows, const uint64_t *pos, MPI_Comm comm)
{
    int p, rank;
    CHECK_MPI(MPI_Comm_size(comm, &p));
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    int *scnt = xcalloc((size_t)p, sizeof *scnt), *rcnt = xcalloc((size_t)p, sizeof *rcnt);
    int *sdis = xcalloc((size_t)p, sizeof *sdis), *rdis = xcalloc((size_t)p, sizeof *rdis);
    int *dest = xmalloc((rows->n ? rows->n : 1) * sizeof *dest);
    for (size_t i = 0; i < rows->n; i++)
        scnt[dest[i] = block_owner(pos[i], b->total, p)]++;
    CHECK_MPI(MPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, comm));
    for (int q = 1; q < p; q++) {
        sdis[q] = sdis[q - 1] + scnt[q - 1];
        rdis[q] = rdis[q - 1] + rcnt[q - 1];
    }
    Rec *send = xmalloc((rows->n ? rows->n : 1) * sizeof *send);
    Rec *recv = xmalloc((b->n ? b->n : 1) * sizeof *recv);
    int *at = xmalloc((size_t)p * sizeof *at);
    memcpy(at, sdis, (size_t)p * sizeof *at);
    for (size_t i = 0; i < rows->n; i++)
        send[at[dest[i]]++] = rec_of(rows, i, pos[i]);
    MPI_Datatype rec;
    CHECK_MPI(MPI_Type_contiguous((int)sizeof(Rec), MPI_BYTE, &rec));
    CHECK_MPI(MPI_Type_commit(&rec));
    CHECK_MPI(MPI_Alltoallv(send, scnt, sdis, rec, recv, rcnt, rdis, rec, comm));
    CHECK_MPI(MPI_Type_free(&rec));
    for (size_t j = 0; j < b->n; j++)
        block_put(b, &recv[j]);
    free(send);
    free(recv);
    free(at);
    free(dest);
    free(scnt);
    free(rcnt);
    free(sdis);
    free(rdis);
}

/* Collective: this rank's block of places from every rank's rows (consumed). */
static void place_rows(Block *b, PartRows *rows, const uint64_t *pos, MPI_Comm comm)
{
    int p, rank;
    CHECK_MPI(MPI_Comm_size(comm, &p));
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    b->total = rows->total;
    b->pos0 = block_start(b->total, rank, p);
    block_alloc(b, (size_t)(block_start(b->total, rank + 1, p) - b->pos0));
    int local = 1;
    for (size_t i = 0; i < rows->n && local; i++)
        local = pos[i] >= b->pos0 && pos[i] < b->pos0 + b->n;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &local, 1, MPI_INT, MPI_MIN, comm));
    if (!local) {
        exchange_rows(b, rows, pos, comm);
    } else { /* grouped by user in key order already: every row is in its block */
        for (size_t i = 0; i < rows->n; i++) {
            Rec r = rec_of(rows, i, pos[i]);
            block_put(b, &r);
        }
    }
    partrows_free(rows);
}

/* ------------------------------------------------------------------------ the file */

/* Everything written besides the rows. */
typedef struct Meta {
    const DataOptions *opt;
    Source src;
    uint64_t n_rows, n_skipped;
    int has_time;
    Vocab users, items; /* every key, sorted */
    char **titles;      /* (items.n - 1) title of each sorted item key, NULL unknown */
    uint64_t *offsets;  /* (users.n) */
} Meta;

/* Collective: one column: this rank writes its n elements at place pos0 of total. */
static int write_column(hid_t file, const char *name, hid_t ftype, hid_t mtype, const void *data,
                        size_t size, size_t n, uint64_t pos0, uint64_t total, MPI_Comm comm,
                        const char *path, Status *st)
{
    char what[160];
    snprintf(what, sizeof what, "writing '%s'", name);
    uint64_t sum = prep_checksum(data, size, n, pos0);
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_UINT64_T, MPI_SUM, comm));
    hid_t ds = h5_write_rows(file, name, ftype, mtype, data, pos0, n, total, 0);
    H5_OK(ds, what);
    H5_OK(h5_attr_write_i64(ds, "checksum", (int64_t)sum), what);
fail:
    if (ds >= 0)
        H5Dclose(ds);
    return st->code;
}

static int write_rows(hid_t file, const Block *b, MPI_Comm comm, const char *path, Status *st)
{
    const struct {
        const char *name;
        hid_t ftype, mtype;
        const void *data;
        size_t size;
    } cols[] = {{"ratings/user", H5T_STD_I32LE, H5T_NATIVE_INT32, b->user, 4},
                {"ratings/item", H5T_STD_I32LE, H5T_NATIVE_INT32, b->item, 4},
                {"ratings/rating", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, b->rating, 4},
                {"ratings/timestamp", H5T_STD_I64LE, H5T_NATIVE_INT64, b->ts, 8},
                {"ratings/row", H5T_STD_I64LE, H5T_NATIVE_INT64, b->row, 8}};
    for (size_t c = 0; c < sizeof cols / sizeof *cols && st->code == STATUS_OK; c++)
        write_column(file, cols[c].name, cols[c].ftype, cols[c].mtype, cols[c].data, cols[c].size,
                     b->n, b->pos0, b->total, comm, path, st);
    return st->code;
}

/* The reader options that decide the content, as attributes (prep_load checks them). */
static int write_attrs(hid_t file, const Meta *m, MPI_Comm comm, const char *path, Status *st)
{
    char range[128] = "none", date[32];
    const DataOptions *o = m->opt;
    if (o->has_rating_range)
        snprintf(range, sizeof range, "%.17g,%.17g", o->rating_min, o->rating_max);
    int64_t when = (int64_t)time(NULL);
    CHECK_MPI(MPI_Bcast(&when, 1, MPI_INT64_T, 0, comm)); /* one date on every rank */
    time_t now = (time_t)when;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    H5_OK(h5_attr_write_str(file, "format", "collab-mpi") |
              h5_attr_write_str(file, "kind", "ratings") |
              h5_attr_write_i64(file, "format_version", PREP_FORMAT_VERSION) |
              h5_attr_write_str(file, "program", PACKAGE_STRING) |
              h5_attr_write_str(file, "created", date) |
              h5_attr_write_str(file, "source", m->src.ratings) |
              h5_attr_write_str(file, "items_source", m->src.items) |
              h5_attr_write_str(file, "data_format", prep_format_name(m->src.format)) |
              h5_attr_write_str(file, "item_name", o->item_by_title ? "title" : "id") |
              h5_attr_write_str(file, "rating_range", range) |
              h5_attr_write_i64(file, "skip_bad_lines", o->skip_bad_lines) |
              h5_attr_write_i64(file, "n_skipped", (int64_t)m->n_skipped) |
              h5_attr_write_i64(file, "has_timestamps", m->has_time) |
              h5_attr_write_i64(file, "n_rows", (int64_t)m->n_rows) |
              h5_attr_write_i64(file, "n_users", (int64_t)m->users.n - 1) |
              h5_attr_write_i64(file, "n_items", (int64_t)m->items.n - 1),
          "writing the attributes");
fail:
    return st->code;
}

static int write_body(hid_t file, const Meta *m, const Block *b, MPI_Comm comm, const char *path,
                      Status *st)
{
    int rank;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    const size_t nu = m->users.n - 1, ni = m->items.n - 1;
    if (write_attrs(file, m, comm, path, st) || write_rows(file, b, comm, path, st) ||
        write_column(file, "users/offsets", H5T_STD_I64LE, H5T_NATIVE_UINT64, m->offsets, 8,
                     rank == 0 ? nu + 1 : 0, 0, nu + 1, comm, path, st) ||
        h5_write_strings(file, "users/keys", m->users.names + 1, nu, comm, path, st) ||
        h5_write_strings(file, "items/keys", m->items.names + 1, ni, comm, path, st))
        return st->code;
    return h5_write_strings(file, "items/titles", m->titles, ni, comm, path, st);
}

/* Collective: the file at out, through out.tmp. */
static int write_file(const char *out, const Meta *m, const Block *b, MPI_Comm comm, Status *st)
{
    char path[PATH_CAP + 8];
    int rank;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    snprintf(path, sizeof path, "%s.tmp", out);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110); /* metadata checksums */
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (file < 0)
        status_set(st, STATUS_DATA, "cannot create '%s' (is the folder there and writable?)", path);
    else
        write_body(file, m, b, comm, path, st);
    if (file >= 0 && H5Fclose(file) < 0)
        status_set(st, STATUS_DATA, "%s: closing the file failed (disk full?)", path);
    if (status_agree(st, comm) == STATUS_OK && rank == 0 && rename(path, out) != 0)
        status_set(st, STATUS_DATA, "cannot rename '%s' to '%s': %s", path, out, strerror(errno));
    if (st->code != STATUS_OK && rank == 0)
        unlink(path);
    return status_agree(st, comm);
}

/* ------------------------------------------------------------------------ prepare */

/* Collective: sorted keys, places and offsets; rows (re-keyed, consumed) into b. */
static void meta_build(Meta *m, Block *b, PartRows *rows, const PartKeys *keys, MPI_Comm comm)
{
    int32_t *umap = sorted_index(&m->users, &keys->users);
    int32_t *imap = sorted_index(&m->items, &keys->items);
    for (size_t i = 0; i < rows->n; i++) {
        rows->user[i] = umap[rows->user[i]];
        rows->item[i] = imap[rows->item[i]];
    }
    if (!rows->ts)
        rows->ts = xcalloc(rows->n ? rows->n : 1, sizeof *rows->ts);
    m->titles = xcalloc(keys->items.n + 1, sizeof *m->titles);
    for (size_t k = 0; keys->titles && k < keys->items.n; k++)
        m->titles[imap[k]] = keys->titles[k];
    m->offsets = xmalloc((keys->users.n + 1) * sizeof *m->offsets);
    uint64_t *pos = places(m->offsets, rows->user, rows->n, keys->users.n, comm);
    m->n_rows = rows->total;
    m->n_skipped = rows->n_skipped;
    m->has_time = rows->has_time;
    place_rows(b, rows, pos, comm);
    free(pos);
    free(umap);
    free(imap);
}

int prep_write(PrepSummary *sum, const char *out, const DataOptions *opt, MPI_Comm comm, Status *st)
{
    const double t0 = MPI_Wtime();
    DataOptions o = *opt;
    o.keep_timestamps = 1;
    PartKeys keys;
    PartRows rows;
    Meta m;
    Block b;
    memset(&m, 0, sizeof m);
    memset(&b, 0, sizeof b);
    memset(sum, 0, sizeof *sum);
    partkeys_init(&keys);
    status_clear(st);
    m.opt = opt;
    if (pread_file(&rows, &keys, &o, comm, st) == STATUS_OK) {
        sum->parse_seconds = MPI_Wtime() - t0;
        source_resolve(&m.src, &o, st); /* succeeded in pread_file: the same files */
        meta_build(&m, &b, &rows, &keys, comm);
        write_file(out, &m, &b, comm, st);
    }
    *sum = (PrepSummary){m.n_rows,
                         m.users.n ? m.users.n - 1 : 0,
                         m.items.n ? m.items.n - 1 : 0,
                         m.n_skipped,
                         sum->parse_seconds,
                         MPI_Wtime() - t0};
    partrows_free(&rows);
    partkeys_free(&keys);
    block_free(&b);
    vocab_free(&m.users);
    vocab_free(&m.items);
    free(m.titles);
    free(m.offsets);
    return st->code;
}

int prep_is_file(const char *path, MPI_Comm comm)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    int rank, yes = 0;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    FILE *f = rank == 0 ? fopen(path, "rb") : NULL;
    unsigned char head[8];
    if (f && fread(head, 1, 8, f) == 8)
        yes = memcmp(head, sig, 8) == 0;
    if (f)
        fclose(f);
    CHECK_MPI(MPI_Bcast(&yes, 1, MPI_INT, 0, comm));
    return yes;
}
