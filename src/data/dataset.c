/* dataset.c - the encoded dataset: ratings encoded through the vocabularies into train
 * and validation rows, and dataset_bcast, which copies rank root's dataset to all. */
#include "config.h"

#include "collab/data/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/exact.h"

/* -------------------------------------------------------------------------- dataset */

/* map (n_keys): vocab index of every key (0 when the vocab lacks it). */
static int32_t *vocab_map_keys(const Vocab *v, char *const *keys, size_t n_keys)
{
    int32_t *map = xmalloc(n_keys * sizeof *map);
    for (size_t i = 0; i < n_keys; i++)
        map[i] = vocab_find(v, keys[i]);
    return map;
}

/* ds->item_titles (items.n): the title of each vocab entry, NULL for #na# and unknown. */
static void dataset_titles(Dataset *ds, const Ratings *r, const int32_t *imap, int by_title)
{
    ds->item_titles = xcalloc(ds->items.n, sizeof *ds->item_titles);
    for (size_t i = 0; i < r->n_item_keys; i++) {
        const char *t = by_title ? r->item_keys[i] : r->item_titles ? r->item_titles[i] : NULL;
        if (imap[i] > 0 && t && !ds->item_titles[imap[i]])
            ds->item_titles[imap[i]] = xstrdup(t);
    }
}

/* The indices of the training rows' users (or items) as one array. */
static int32_t *dataset_train_keys(const Ratings *r, const int32_t *col, const uint8_t *is_valid,
                                   size_t n_train)
{
    int32_t *out = xmalloc(n_train * sizeof *out);
    for (size_t i = 0, t = 0; i < r->n; i++)
        if (!(is_valid && is_valid[i]))
            out[t++] = col[i];
    return out;
}

/* Encodes r's rows into ds in place: training rows are compacted to the front of r's
 * arrays, which ds then owns; validation rows are copied out first. */
static void dataset_encode_take(Dataset *ds, Ratings *r, const uint8_t *is_valid,
                                const int32_t *umap, const int32_t *imap)
{
    size_t t = 0, v = 0;
    FloatSum sum = {{0}, {0}};
    ds->valid_user = xmalloc((ds->n_valid ? ds->n_valid : 1) * sizeof *ds->valid_user);
    ds->valid_item = xmalloc((ds->n_valid ? ds->n_valid : 1) * sizeof *ds->valid_item);
    ds->valid_rating = xmalloc((ds->n_valid ? ds->n_valid : 1) * sizeof *ds->valid_rating);
    for (size_t i = 0; i < r->n; i++) {
        const int32_t u = umap[r->user[i]], it = imap[r->item[i]];
        const float y = r->rating[i];
        if (is_valid && is_valid[i]) {
            ds->valid_user[v] = u;
            ds->valid_item[v] = it;
            ds->valid_rating[v++] = y;
        } else { /* t <= i: writing behind the reader is safe */
            r->user[t] = u;
            r->item[t] = it;
            r->rating[t++] = y;
            floatsum_add(&sum, y);
        }
    }
    ds->train_mean = t ? floatsum_value(&sum) / (double)t : 0.0;
    ds->train_user = xrealloc(r->user, (t ? t : 1) * sizeof *r->user);
    ds->train_item = xrealloc(r->item, (t ? t : 1) * sizeof *r->item);
    ds->train_rating = xrealloc(r->rating, (t ? t : 1) * sizeof *r->rating);
    r->user = r->item = NULL;
    r->rating = NULL;
}

void dataset_build_take(Dataset *ds, Ratings *r, const uint8_t *is_valid, int item_by_title)
{
    memset(ds, 0, sizeof *ds);
    for (size_t i = 0; i < r->n; i++)
        ds->n_valid += is_valid && is_valid[i];
    ds->n_train = r->n - ds->n_valid;
    int32_t *tu = dataset_train_keys(r, r->user, is_valid, ds->n_train);
    vocab_build(&ds->users, r->user_keys, tu, ds->n_train);
    free(tu);
    if (item_by_title) {
        /* fastai turns the title column into a pandas category over the whole frame
         * before Categorify sees the training rows: every title gets an entry. */
        vocab_build(&ds->items, r->item_keys, r->item, r->n);
    } else {
        int32_t *ti = dataset_train_keys(r, r->item, is_valid, ds->n_train);
        vocab_build(&ds->items, r->item_keys, ti, ds->n_train);
        free(ti);
    }
    int32_t *umap = vocab_map_keys(&ds->users, r->user_keys, r->n_user_keys);
    int32_t *imap = vocab_map_keys(&ds->items, r->item_keys, r->n_item_keys);
    dataset_titles(ds, r, imap, item_by_title);
    dataset_encode_take(ds, r, is_valid, umap, imap);
    free(umap);
    free(imap);
}

void dataset_build(Dataset *ds, const Ratings *r, const uint8_t *is_valid, int item_by_title)
{
    /* A shallow copy that owns copies of the row arrays (the keys are only read). */
    Ratings rows = *r;
    rows.user = xmalloc((r->n ? r->n : 1) * sizeof *rows.user);
    rows.item = xmalloc((r->n ? r->n : 1) * sizeof *rows.item);
    rows.rating = xmalloc((r->n ? r->n : 1) * sizeof *rows.rating);
    memcpy(rows.user, r->user, r->n * sizeof *rows.user);
    memcpy(rows.item, r->item, r->n * sizeof *rows.item);
    memcpy(rows.rating, r->rating, r->n * sizeof *rows.rating);
    dataset_build_take(ds, &rows, is_valid, item_by_title);
}

void dataset_free(Dataset *ds)
{
    vocab_free(&ds->users);
    for (size_t i = 0; ds->item_titles && i < ds->items.n; i++)
        free(ds->item_titles[i]);
    free(ds->item_titles);
    vocab_free(&ds->items);
    free(ds->train_user);
    free(ds->train_item);
    free(ds->train_rating);
    free(ds->valid_user);
    free(ds->valid_item);
    free(ds->valid_rating);
    free(ds->train_gidx); /* set by dataset_distribute */
    layout_free(&ds->layout);
    memset(ds, 0, sizeof *ds);
}

/* ---------------------------------------------------------------------------- bcast */

/* MPI_Bcast of nbytes in pieces below INT_MAX (counts are int). */
static void bcast_bytes(void *buf, size_t nbytes, int root, MPI_Comm comm)
{
    const size_t piece = (size_t)1 << 30;
    for (size_t off = 0; off < nbytes; off += piece) {
        size_t len = nbytes - off < piece ? nbytes - off : piece;
        CHECK_MPI(MPI_Bcast((char *)buf + off, (int)len, MPI_BYTE, root, comm));
    }
}

/* Every string of ds in a fixed order: user names, item names, item titles. */
static const char *dataset_string(const Dataset *ds, size_t k)
{
    if (k < ds->users.n)
        return ds->users.names[k];
    k -= ds->users.n;
    return k < ds->items.n ? ds->items.names[k] : ds->item_titles[k - ds->items.n];
}

/* Packs the strings into lens (n; -1 for NULL) and one blob; returns the blob size. */
static size_t dataset_pack(const Dataset *ds, int64_t *lens, char **blob)
{
    size_t n = ds->users.n + 2 * ds->items.n, total = 0, off = 0;
    for (size_t k = 0; k < n; k++) {
        const char *s = dataset_string(ds, k);
        lens[k] = s ? (int64_t)strlen(s) : -1;
        total += s ? (size_t)lens[k] : 0;
    }
    *blob = xmalloc(total);
    for (size_t k = 0; k < n; k++)
        if (lens[k] > 0) {
            memcpy(*blob + off, dataset_string(ds, k), (size_t)lens[k]);
            off += (size_t)lens[k];
        }
    return total;
}

/* Rebuilds the strings of a receiving rank from lens and blob. */
static void dataset_unpack(Dataset *ds, const int64_t *lens, const char *blob)
{
    ds->users.names = xmalloc(ds->users.n * sizeof(char *));
    ds->items.names = xmalloc(ds->items.n * sizeof(char *));
    ds->item_titles = xmalloc(ds->items.n * sizeof(char *));
    size_t n = ds->users.n + 2 * ds->items.n, off = 0;
    for (size_t k = 0; k < n; k++) {
        char *s = NULL;
        if (lens[k] >= 0) {
            s = xmalloc((size_t)lens[k] + 1);
            memcpy(s, blob + off, (size_t)lens[k]);
            s[lens[k]] = '\0';
            off += (size_t)lens[k];
        }
        size_t nu = ds->users.n, ni = ds->items.n;
        if (k < nu)
            ds->users.names[k] = s;
        else if (k < nu + ni)
            ds->items.names[k - nu] = s;
        else
            ds->item_titles[k - nu - ni] = s;
    }
    vocab_index(&ds->users);
    vocab_index(&ds->items);
}

/* Allocates a receiving rank's row arrays for the sizes already set in ds. */
static void dataset_alloc_rows(Dataset *ds)
{
    ds->train_user = xmalloc(ds->n_train * sizeof *ds->train_user);
    ds->train_item = xmalloc(ds->n_train * sizeof *ds->train_item);
    ds->train_rating = xmalloc(ds->n_train * sizeof *ds->train_rating);
    ds->valid_user = xmalloc(ds->n_valid * sizeof *ds->valid_user);
    ds->valid_item = xmalloc(ds->n_valid * sizeof *ds->valid_item);
    ds->valid_rating = xmalloc(ds->n_valid * sizeof *ds->valid_rating);
}

/* Broadcasts the sizes and the train mean; a receiving rank's ds is reset to them with its
 * row arrays allocated. Returns the size of the string blob. */
static uint64_t dataset_bcast_sizes(Dataset *ds, uint64_t blob_size, int is_root, int root,
                                    MPI_Comm comm)
{
    uint64_t hdr[7] = {ds->users.n,
                       ds->items.n,
                       (uint64_t)ds->users.numeric,
                       (uint64_t)ds->items.numeric,
                       ds->n_train,
                       ds->n_valid,
                       blob_size};
    double mean = ds->train_mean;
    CHECK_MPI(MPI_Bcast(hdr, 7, MPI_UINT64_T, root, comm));
    CHECK_MPI(MPI_Bcast(&mean, 1, MPI_DOUBLE, root, comm));
    if (!is_root) {
        memset(ds, 0, sizeof *ds);
        ds->train_mean = mean;
        ds->users.n = hdr[0], ds->items.n = hdr[1];
        ds->users.numeric = (int)hdr[2], ds->items.numeric = (int)hdr[3];
        ds->n_train = hdr[4], ds->n_valid = hdr[5];
        dataset_alloc_rows(ds);
    }
    return hdr[6];
}

void dataset_bcast(Dataset *ds, int root, MPI_Comm comm)
{
    int rank;
    CHECK_MPI(MPI_Comm_rank(comm, &rank));
    char *blob = NULL;
    uint64_t blob_size = 0;
    int64_t *lens = NULL;
    if (rank == root) {
        lens = xmalloc((ds->users.n + 2 * ds->items.n) * sizeof *lens);
        blob_size = dataset_pack(ds, lens, &blob);
    }
    /* A receiving rank's ds may hold garbage: only sizes are read from it after this. */
    blob_size = dataset_bcast_sizes(ds, blob_size, rank == root, root, comm);
    size_t n_strings = ds->users.n + 2 * ds->items.n;
    if (rank != root) {
        lens = xmalloc(n_strings * sizeof *lens);
        blob = xmalloc(blob_size);
    }
    bcast_bytes(lens, n_strings * sizeof *lens, root, comm);
    bcast_bytes(blob, blob_size, root, comm);
    if (rank != root)
        dataset_unpack(ds, lens, blob);
    free(lens);
    free(blob);
    bcast_bytes(ds->train_user, ds->n_train * sizeof(int32_t), root, comm);
    bcast_bytes(ds->train_item, ds->n_train * sizeof(int32_t), root, comm);
    bcast_bytes(ds->train_rating, ds->n_train * sizeof(float), root, comm);
    bcast_bytes(ds->valid_user, ds->n_valid * sizeof(int32_t), root, comm);
    bcast_bytes(ds->valid_item, ds->n_valid * sizeof(int32_t), root, comm);
    bcast_bytes(ds->valid_rating, ds->n_valid * sizeof(float), root, comm);
}
