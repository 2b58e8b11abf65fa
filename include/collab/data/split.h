/* split.h - the train/validation split: a random split or one fold of k.
 *
 * Random split: n_valid = floor(valid_pct * n) rows are validation, exactly as fastai's
 * RandomSplitter cuts its permutation; which rows is decided by a counter-based
 * permutation keyed by the seed (rng.h), so the split depends only on (n, pct, seed),
 * and any rank can decide it for any row on its own (split_is_valid).
 *
 * k folds: the same permutation cut into k ranges of positions, fold f holding
 * [floor(f n / k), floor((f + 1) n / k)); fold f's validation rows are the rows whose
 * position falls in its range. Every row is in exactly one fold, the folds depend only
 * on (n, k, seed), so every configuration of a sweep trained with the same seed sees the
 * same folds, and fold 0 of k is the random split of 1/k when floor(n / k) equals
 * int(n / k) in double (always, for n < 2^53). */
#ifndef COLLAB_SPLIT_H
#define COLLAB_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/rng.h"

enum { SPLIT_MAX_FOLDS = 100 };

/* Which rows are validation rows: those of valid_path (after every training row) when it
 * is not NULL; else fold `fold` of `folds` when folds > 0; else the random split of
 * valid_pct of the rows; the last two keyed by seed. */
typedef struct SplitSpec {
    const char *valid_path; /* read with the training file's options */
    double valid_pct;
    uint64_t seed;
    int folds; /* 0: the random split of valid_pct; else 2..SPLIT_MAX_FOLDS */
    int fold;  /* 0..folds-1 */
} SplitSpec;

/* The split of n rows: row i is validation iff lo <= perm(i) < hi. */
typedef struct Split {
    Perm perm;
    uint64_t n;
    uint64_t lo, hi;  /* the positions held out: [0, floor(valid_pct * n)) or a fold's */
    uint64_t n_valid; /* hi - lo */
} Split;

/* Sets s for n rows. Local. */
void split_init(Split *s, size_t n, double valid_pct, uint64_t seed);

/* Sets s to fold `fold` (0 <= fold < folds, 2 <= folds) of n rows. Local. */
void split_init_fold(Split *s, size_t n, int folds, int fold, uint64_t seed);

/* Sets s for n rows from a random split's spec (sp->valid_path NULL): split_init_fold
 * when sp->folds > 0, else split_init. Local. */
void split_init_spec(Split *s, size_t n, const SplitSpec *sp);

/* 1 when row i (0 <= i < n, in file order) is a validation row. Local, O(1). */
int split_is_valid(const Split *s, uint64_t i);

/* The split of rows [64 w0, 64 (w0 + nw)) as bits: bit i of words[k] is 1 when row
 * 64 (w0 + k) + i is a validation row (0 past the last row). Local. */
void split_words(uint64_t *words, const Split *s, uint64_t w0, uint64_t nw);

/* Fills is_valid (n) with 1 for validation rows of s, 0 for training rows. Returns
 * s->n_valid. Local. */
size_t split_fill(uint8_t *is_valid, const Split *s);

/* Fills is_valid (n) with 1 for validation rows, 0 for training rows. Returns n_valid.
 * Row i is validation iff perm(i) < floor(valid_pct * n). Local. */
size_t split_random(uint8_t *is_valid, size_t n, double valid_pct, uint64_t seed);

#endif
