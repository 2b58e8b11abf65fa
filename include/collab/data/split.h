/* split.h - the train/validation split.
 *
 * Random split: n_valid = floor(valid_pct * n) rows are validation, exactly as fastai's
 * RandomSplitter cuts its permutation; which rows is decided by a counter-based
 * permutation keyed by the seed (rng.h), so the split depends only on (n, pct, seed),
 * and any rank can decide it for any row on its own (split_is_valid). */
#ifndef COLLAB_SPLIT_H
#define COLLAB_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/rng.h"

/* The split of n rows: row i is validation iff perm(i) < cut. */
typedef struct Split {
    Perm perm;
    uint64_t n;
    uint64_t cut; /* floor(valid_pct * n), computed as Python's int(pct * n) */
} Split;

/* Sets s for n rows. Local. */
void split_init(Split *s, size_t n, double valid_pct, uint64_t seed);

/* 1 when row i (0 <= i < n, in file order) is a validation row. Local, O(1). */
int split_is_valid(const Split *s, uint64_t i);

/* The split of rows [64 w0, 64 (w0 + nw)) as bits: bit i of words[k] is 1 when row
 * 64 (w0 + k) + i is a validation row (0 past the last row). Local. */
void split_words(uint64_t *words, const Split *s, uint64_t w0, uint64_t nw);

/* Fills is_valid (n) with 1 for validation rows, 0 for training rows. Returns n_valid.
 * Row i is validation iff perm(i) < floor(valid_pct * n). Local. */
size_t split_random(uint8_t *is_valid, size_t n, double valid_pct, uint64_t seed);

#endif
