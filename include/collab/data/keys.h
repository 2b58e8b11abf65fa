/* keys.h - key interning, shared by the readers, ratings_append and the vocabularies:
 * user and item values as distinct strings with a hash index. All functions are local. */
#ifndef COLLAB_KEYS_H
#define COLLAB_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* One hash slot: the key's first 8 bytes (zero-padded) and hash inline, so keys shorter
 * than 8 bytes (which cannot contain NUL) compare without touching the key itself. */
typedef struct KeySlot {
    uint64_t head;   /* first min(8, len) bytes of the key, zero-padded */
    uint32_t index1; /* key index + 1; 0 = empty */
    uint32_t hash;   /* high 32 bits of rng_hash_bytes */
} KeySlot;

/* Distinct strings in first-appearance order with an open-addressing hash index, so
 * interning n keys costs O(n). Local. */
typedef struct KeyTable {
    size_t n;       /* distinct keys */
    size_t cap;     /* allocated entries of keys and lens */
    char **keys;    /* (n) owned NUL-terminated copies */
    size_t *lens;   /* (n) byte lengths of keys */
    size_t hcap;    /* hash index capacity, a power of two */
    KeySlot *slots; /* (hcap) linear probing, load at most 1/2 */
} KeyTable;

/* Sets t to an empty table. */
void keytable_init(KeyTable *t);
/* Index of the len bytes at s, adding a copy when new. s must not contain NUL bytes. */
int32_t keytable_intern(KeyTable *t, const char *s, size_t len);
/* Index of the len bytes at s, or -1 when absent. */
int32_t keytable_find(const KeyTable *t, const char *s, size_t len);
/* Hands the keys array (n entries, each owned) to the caller; t is left empty. */
char **keytable_release(KeyTable *t, size_t *n);
/* Frees t and its keys; safe on a zeroed or released table. */
void keytable_free(KeyTable *t);

#endif
