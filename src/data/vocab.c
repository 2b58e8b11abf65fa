/* vocab.c - key interning, fastai-style vocabularies and the encoded dataset.
 *
 * Keys (user and item values) are interned once while reading; a Vocab is built from
 * the keys the training rows use, sorted as fastai's Categorify sorts them, with
 * "#na#" at 0 for anything unseen. dataset_bcast copies rank root's dataset to all. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/data/data.h"

/* ----------------------------------------------------------------------------- keys */

uint64_t data_hash(const char *s, size_t len)
{
    /* 8 bytes at a time with a multiply-xorshift mix, then SplitMix64's finaliser. */
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)len, w;
    for (; len >= 8; s += 8, len -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

void keytable_init(KeyTable *t)
{
    memset(t, 0, sizeof *t);
}

/* The first min(8, len) bytes of s, zero-padded. */
static uint64_t key_head(const char *s, size_t len)
{
    uint64_t w = 0;
    memcpy(&w, s, len < 8 ? len : 8);
    return w;
}

/* Slot of (s, len) with hash h in t's index: the matching slot, or the empty slot ending
 * the probe. A key shorter than 8 bytes is equal iff its head is (keys hold no NUL). */
static size_t keytable_probe(const KeyTable *t, const char *s, size_t len, uint64_t h)
{
    const size_t mask = t->hcap - 1;
    const uint64_t head = key_head(s, len);
    const uint32_t tag = (uint32_t)(h >> 32);
    for (size_t pos = (size_t)h & mask;; pos = (pos + 1) & mask) {
        const KeySlot *slot = &t->slots[pos];
        if (slot->index1 == 0)
            return pos;
        if (slot->hash != tag || slot->head != head)
            continue;
        size_t i = slot->index1 - 1;
        if (len < 8 || (t->lens[i] == len && memcmp(t->keys[i] + 8, s + 8, len - 8) == 0))
            return pos;
    }
}

static void keytable_put(KeyTable *t, size_t pos, size_t i, uint64_t h)
{
    t->slots[pos] =
        (KeySlot){key_head(t->keys[i], t->lens[i]), (uint32_t)(i + 1), (uint32_t)(h >> 32)};
}

/* Doubles the hash index (keeping the load at most 1/2) and re-inserts every key. */
static void keytable_grow_index(KeyTable *t)
{
    free(t->slots);
    t->hcap = t->hcap ? 2 * t->hcap : 64;
    t->slots = xcalloc(t->hcap, sizeof *t->slots);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t h = data_hash(t->keys[i], t->lens[i]);
        keytable_put(t, keytable_probe(t, t->keys[i], t->lens[i], h), i, h);
    }
}

int32_t keytable_find(const KeyTable *t, const char *s, size_t len)
{
    if (t->n == 0)
        return -1;
    const KeySlot *slot = &t->slots[keytable_probe(t, s, len, data_hash(s, len))];
    return (int32_t)slot->index1 - 1;
}

int32_t keytable_intern(KeyTable *t, const char *s, size_t len)
{
    if (2 * (t->n + 1) > t->hcap)
        keytable_grow_index(t);
    uint64_t h = data_hash(s, len);
    size_t pos = keytable_probe(t, s, len, h);
    if (t->slots[pos].index1)
        return (int32_t)t->slots[pos].index1 - 1;
    if (t->n >= (size_t)INT32_MAX)
        check_fail(__FILE__, __LINE__, "more than %d distinct keys", INT32_MAX);
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->keys = xrealloc(t->keys, t->cap * sizeof *t->keys);
        t->lens = xrealloc(t->lens, t->cap * sizeof *t->lens);
    }
    char *copy = xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    t->keys[t->n] = copy;
    t->lens[t->n] = len;
    keytable_put(t, pos, t->n, h);
    return (int32_t)t->n++;
}

char **keytable_release(KeyTable *t, size_t *n)
{
    char **keys = t->keys;
    *n = t->n;
    free(t->lens);
    free(t->slots);
    keytable_init(t);
    return keys;
}

void keytable_free(KeyTable *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->lens);
    free(t->slots);
    keytable_init(t);
}

/* ---------------------------------------------------------------------------- vocab */

/* A distinct value and, when every value is an integer, its numeric value. */
typedef struct VocabEntry {
    const char *s;
    long long v;
} VocabEntry;

/* 1 when s is a whole decimal integer that fits in a long long (as Python's int()). */
static int vocab_parse_int(const char *s, long long *v)
{
    if (!((*s >= '0' && *s <= '9') || ((*s == '-' || *s == '+') && s[1] >= '0' && s[1] <= '9')))
        return 0;
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return *end == '\0' && errno == 0;
}

static int vocab_cmp_string(const void *a, const void *b)
{
    return strcmp(((const VocabEntry *)a)->s, ((const VocabEntry *)b)->s);
}

static int vocab_cmp_numeric(const void *a, const void *b)
{
    const VocabEntry *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return strcmp(x->s, y->s); /* "7" and "07" are distinct keys: keep a fixed order */
}

/* Builds v->hslot from v->names[1..n). */
static void vocab_index(Vocab *v)
{
    v->hcap = 16;
    while (v->hcap < 2 * v->n)
        v->hcap *= 2;
    v->hslot = xcalloc(v->hcap, sizeof *v->hslot);
    for (size_t i = 1; i < v->n; i++) {
        size_t pos = (size_t)data_hash(v->names[i], strlen(v->names[i])) & (v->hcap - 1);
        while (v->hslot[pos])
            pos = (pos + 1) & (v->hcap - 1);
        v->hslot[pos] = (int32_t)(i + 1);
    }
}

/* Distinct keys among keys[idx[j]], in key-index order. Returns their count. */
static size_t vocab_distinct(VocabEntry **out, char *const *keys, const int32_t *idx, size_t n)
{
    int32_t max = -1;
    for (size_t j = 0; j < n; j++)
        max = idx[j] > max ? idx[j] : max;
    uint8_t *seen = xcalloc((size_t)max + 1, 1);
    size_t k = 0;
    for (size_t j = 0; j < n; j++)
        if (!seen[idx[j]]) {
            seen[idx[j]] = 1;
            k++;
        }
    VocabEntry *e = xmalloc(k * sizeof *e);
    k = 0;
    for (int32_t i = 0; i <= max; i++)
        if (seen[i])
            e[k++] = (VocabEntry){keys[i], 0};
    free(seen);
    *out = e;
    return k;
}

void vocab_build(Vocab *v, char *const *keys, const int32_t *idx, size_t n)
{
    memset(v, 0, sizeof *v);
    VocabEntry *e;
    size_t k = vocab_distinct(&e, keys, idx, n);
    v->numeric = k > 0;
    for (size_t i = 0; i < k && v->numeric; i++)
        v->numeric = vocab_parse_int(e[i].s, &e[i].v);
    qsort(e, k, sizeof *e, v->numeric ? vocab_cmp_numeric : vocab_cmp_string);
    v->names = xmalloc((k + 1) * sizeof *v->names);
    v->names[0] = xstrdup("#na#");
    v->n = 1;
    for (size_t i = 0; i < k; i++) /* equal texts under two key indices are one value */
        if (i == 0 || strcmp(e[i].s, e[i - 1].s) != 0)
            v->names[v->n++] = xstrdup(e[i].s);
    free(e);
    vocab_index(v);
}

int vocab_build_sorted(Vocab *v, char *const *keys, const int32_t *idx, size_t n)
{
    int numeric = n > 0;
    long long x = 0, prev = 0;
    for (size_t j = 0; j < n && numeric; j++)
        numeric = vocab_parse_int(keys[idx[j]], &x);
    int sorted = 1;
    for (size_t j = 0; j < n && sorted; j++) {
        const char *k = keys[idx[j]];
        if (numeric)
            vocab_parse_int(k, &x);
        if (j > 0) {
            VocabEntry a = {keys[idx[j - 1]], prev}, b = {k, x};
            sorted = (numeric ? vocab_cmp_numeric(&a, &b) : vocab_cmp_string(&a, &b)) < 0;
        }
        prev = x;
    }
    if (!sorted) {
        vocab_build(v, keys, idx, n);
        return 0;
    }
    memset(v, 0, sizeof *v);
    v->numeric = numeric;
    v->names = xmalloc((n + 1) * sizeof *v->names);
    v->names[0] = xstrdup("#na#");
    for (size_t j = 0; j < n; j++)
        v->names[j + 1] = xstrdup(keys[idx[j]]);
    v->n = n + 1;
    vocab_index(v);
    return 1;
}

int32_t vocab_find(const Vocab *v, const char *s)
{
    if (!v->hslot)
        return 0;
    size_t pos = (size_t)data_hash(s, strlen(s)) & (v->hcap - 1);
    for (; v->hslot[pos]; pos = (pos + 1) & (v->hcap - 1))
        if (strcmp(v->names[v->hslot[pos] - 1], s) == 0)
            return v->hslot[pos] - 1;
    return 0;
}

void vocab_free(Vocab *v)
{
    for (size_t i = 0; v->names && i < v->n; i++)
        free(v->names[i]);
    free(v->names);
    free(v->hslot);
    memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------------------ exact sums */

void floatsum_add(FloatSum *s, float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    unsigned e = (bits >> 23) & 0xFF;
    int64_t mant = bits & 0x7FFFFF;
    if (e == 0xFF) {
        s->special[mant ? 2 : bits >> 31]++;
        return;
    }
    if (e == 0)
        e = 1; /* subnormal: mant * 2^(1 - 150) */
    else
        mant |= 0x800000; /* x = mant * 2^(e - 150) */
    s->m[e] += bits >> 31 ? -mant : mant;
}

void floatsum_merge(FloatSum *s, const FloatSum *t)
{
    for (int e = 0; e < 256; e++)
        s->m[e] += t->m[e];
    for (int k = 0; k < 3; k++)
        s->special[k] += t->special[k];
}

enum { SUM_LIMBS = 12 }; /* 32-bit limbs of sum(m[e] * 2^(e-1)): 253 + 64 bits and a sign */

/* Carries every limb into [0, 2^32); the sign ends up in the top limb. */
static void limbs_normalize(int64_t *l)
{
    for (int k = 0; k + 1 < SUM_LIMBS; k++) {
        int64_t low = l[k] & 0xFFFFFFFF;
        l[k + 1] += (l[k] - low) / ((int64_t)1 << 32);
        l[k] = low;
    }
}

/* The limbs of the exact sum (scaled by 2^149 so the smallest float is 1). */
static void floatsum_limbs(int64_t *l, const FloatSum *s)
{
    memset(l, 0, SUM_LIMBS * sizeof *l);
    for (int e = 1; e < 255; e++) {
        if (!s->m[e])
            continue;
        const int k = (e - 1) / 32;
        __int128 t = (__int128)s->m[e] * ((__int128)1 << ((e - 1) % 32)); /* < 2^95 */
        for (int j = 0; j < 2; j++) {
            int64_t low = (int64_t)(t & 0xFFFFFFFF);
            l[k + j] += low;
            t = (t - low) / ((__int128)1 << 32);
        }
        l[k + 2] += (int64_t)t;
    }
    limbs_normalize(l);
}

double floatsum_value(const FloatSum *s)
{
    if (s->special[2] || (s->special[0] && s->special[1]))
        return NAN;
    if (s->special[0] || s->special[1])
        return s->special[0] ? INFINITY : -INFINITY;
    int64_t l[SUM_LIMBS];
    floatsum_limbs(l, s);
    const int neg = l[SUM_LIMBS - 1] < 0;
    for (int k = 0; neg && k < SUM_LIMBS; k++)
        l[k] = -l[k];
    if (neg)
        limbs_normalize(l);
    int h = SUM_LIMBS - 1;
    while (h >= 0 && l[h] == 0)
        h--;
    if (h < 0)
        return 0.0;
    /* The top four limbs hold at least 97 bits: keep 63 of them and fold the rest into a
     * sticky bit, so one int64 -> double conversion rounds exactly once. */
    unsigned __int128 y = 0;
    int sticky = 0;
    for (int k = h; k >= 0; k--) {
        if (k >= h - 3)
            y = (y << 32) | (uint64_t)l[k];
        else
            sticky |= l[k] != 0;
    }
    int bits = 0;
    for (unsigned __int128 t = y; t; t >>= 1)
        bits++;
    const int sh = bits > 63 ? bits - 63 : 0;
    int64_t m = (int64_t)(y >> sh);
    if (sh && (y & (((unsigned __int128)1 << sh) - 1)))
        sticky = 1;
    double v = ldexp((double)(m | sticky), 32 * (h - 3 < 0 ? 0 : h - 3) + sh - 149);
    return neg ? -v : v;
}

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

/* --------------------------------------------------------------------------- append */

/* Interns every key of keys (n) into t; returns the index map (n). */
static int32_t *keys_reintern(KeyTable *t, char *const *keys, size_t n)
{
    int32_t *map = xmalloc(n * sizeof *map);
    for (size_t i = 0; i < n; i++)
        map[i] = keytable_intern(t, keys[i], strlen(keys[i]));
    return map;
}

/* Replaces *keys (*n entries) by the keys of t. */
static void keys_replace(char ***keys, size_t *n, KeyTable *t)
{
    for (size_t i = 0; i < *n; i++)
        free((*keys)[i]);
    free(*keys);
    *keys = keytable_release(t, n);
}

/* Extends dst's titles to n_new item keys with the titles src has for them. */
static void titles_append(Ratings *dst, const Ratings *src, const int32_t *imap, size_t n_new)
{
    if (!dst->item_titles && !src->item_titles)
        return;
    char **t = xcalloc(n_new, sizeof *t);
    for (size_t i = 0; dst->item_titles && i < dst->n_item_keys; i++)
        t[i] = dst->item_titles[i];
    for (size_t i = 0; src->item_titles && i < src->n_item_keys; i++)
        if (!t[imap[i]] && src->item_titles[i])
            t[imap[i]] = xstrdup(src->item_titles[i]);
    free(dst->item_titles);
    dst->item_titles = t;
}

void ratings_append(Ratings *dst, const Ratings *src)
{
    KeyTable users, items;
    keytable_init(&users);
    keytable_init(&items);
    free(keys_reintern(&users, dst->user_keys, dst->n_user_keys));
    free(keys_reintern(&items, dst->item_keys, dst->n_item_keys));
    int32_t *umap = keys_reintern(&users, src->user_keys, src->n_user_keys);
    int32_t *imap = keys_reintern(&items, src->item_keys, src->n_item_keys);
    size_t n = dst->n + src->n;
    dst->user = xrealloc(dst->user, n * sizeof *dst->user);
    dst->item = xrealloc(dst->item, n * sizeof *dst->item);
    dst->rating = xrealloc(dst->rating, n * sizeof *dst->rating);
    if (dst->timestamp)
        dst->timestamp = xrealloc(dst->timestamp, n * sizeof *dst->timestamp);
    for (size_t i = 0; i < src->n; i++) {
        dst->user[dst->n + i] = umap[src->user[i]];
        dst->item[dst->n + i] = imap[src->item[i]];
        dst->rating[dst->n + i] = src->rating[i];
        if (dst->timestamp)
            dst->timestamp[dst->n + i] = src->timestamp ? src->timestamp[i] : 0;
    }
    dst->n = n;
    dst->n_skipped += src->n_skipped;
    titles_append(dst, src, imap, items.n);
    keys_replace(&dst->user_keys, &dst->n_user_keys, &users);
    keys_replace(&dst->item_keys, &dst->n_item_keys, &items);
    free(umap);
    free(imap);
}
