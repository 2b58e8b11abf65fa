/* keys.c - key interning: user and item values are interned once while reading, in
 * first-appearance order, with an open-addressing hash index (data/keys.h). */
#include "config.h"

#include "collab/data/keys.h"

#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/rng.h"

/* ----------------------------------------------------------------------------- keys */

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
        uint64_t h = rng_hash_bytes(t->keys[i], t->lens[i]);
        keytable_put(t, keytable_probe(t, t->keys[i], t->lens[i], h), i, h);
    }
}

int32_t keytable_find(const KeyTable *t, const char *s, size_t len)
{
    if (t->n == 0)
        return -1;
    const KeySlot *slot = &t->slots[keytable_probe(t, s, len, rng_hash_bytes(s, len))];
    return (int32_t)slot->index1 - 1;
}

int32_t keytable_intern(KeyTable *t, const char *s, size_t len)
{
    if (2 * (t->n + 1) > t->hcap)
        keytable_grow_index(t);
    uint64_t h = rng_hash_bytes(s, len);
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
