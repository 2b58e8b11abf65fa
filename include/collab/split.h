/* split.h - the train/validation split.
 *
 * Random split: n_valid = floor(valid_pct * n) rows are validation, exactly as fastai's
 * RandomSplitter cuts its permutation; which rows is decided by a counter-based
 * permutation keyed by the seed (rng.h), so the split depends only on (n, pct, seed). */
#ifndef COLLAB_SPLIT_H
#define COLLAB_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* Fills is_valid (n) with 1 for validation rows, 0 for training rows. Returns n_valid.
 * Row i is validation iff perm(i) < floor(valid_pct * n). Local. */
size_t split_random(uint8_t *is_valid, size_t n, double valid_pct, uint64_t seed);

#endif
