/* vocab.c - fastai-style vocabularies: built from the keys the training rows use,
 * sorted as fastai's Categorify sorts them, with "#na#" at 0 for anything unseen. */
#include "config.h"

#include "collab/data/vocab.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/rng.h"
#include "collab/data/keys.h"

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

void vocab_index(Vocab *v)
{
    v->hcap = 16;
    while (v->hcap < 2 * v->n)
        v->hcap *= 2;
    v->hslot = xcalloc(v->hcap, sizeof *v->hslot);
    for (size_t i = 1; i < v->n; i++) {
        size_t pos = (size_t)rng_hash_bytes(v->names[i], strlen(v->names[i])) & (v->hcap - 1);
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
    size_t pos = (size_t)rng_hash_bytes(s, strlen(s)) & (v->hcap - 1);
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
