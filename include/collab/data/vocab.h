/* vocab.h - vocabularies as fastai's Categorify builds them: every distinct user or item
 * value gets an index, in sorted order, with "#na#" at 0. All functions are local. */
#ifndef COLLAB_VOCAB_H
#define COLLAB_VOCAB_H

#include <stddef.h>
#include <stdint.h>

/* A vocabulary as fastai's Categorify builds it: names[0] = "#na#", then the distinct
 * values sorted (numerically when every value is an integer, else bytewise UTF-8, which
 * is code-point order like Python's). Lookup of an unknown value gives 0. */
typedef struct Vocab {
    size_t n;       /* entries including #na# */
    char **names;   /* (n) */
    int numeric;    /* 1 when sorted as integers */
    size_t hcap;    /* hash index capacity (power of two) */
    int32_t *hslot; /* (hcap) vocab index + 1, 0 = empty */
} Vocab;

/* Builds v from the keys keys[idx[j]] for j < n (duplicates allowed). Local. */
void vocab_build(Vocab *v, char *const *keys, const int32_t *idx, size_t n);
/* As vocab_build for distinct keys keys[idx[j]] that may already be in vocabulary order
 * (e.g. read back from a file written in that order): checked in O(n) and, when they
 * are, taken as they are without a sort (then keys[idx[j]] has index j + 1); returns 1
 * then, else 0 after vocab_build. Local. */
int vocab_build_sorted(Vocab *v, char *const *keys, const int32_t *idx, size_t n);
/* Index of s in v, or 0 (#na#) when absent. */
int32_t vocab_find(const Vocab *v, const char *s);
/* Builds v's hash index from v->names[1..n) (names set directly, e.g. received from
 * another rank: dataset_bcast); v->hslot must be unset. */
void vocab_index(Vocab *v);
void vocab_free(Vocab *v);

#endif
