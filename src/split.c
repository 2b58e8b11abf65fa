/* split.c - the train/validation split.
 *
 * fastai's RandomSplitter takes the first int(valid_pct * n) entries of a random
 * permutation as validation. Here the permutation is the counter-based one of rng.h, so
 * row i is validation iff perm(i) < cut: the split depends only on (n, valid_pct, seed),
 * never on how many ranks there are, and costs no memory beyond the flags. */
#include "config.h"

#include "collab/split.h"

#include "collab/rng.h"

/* int(valid_pct * n) as Python computes it: the product in double, truncated. */
static size_t split_cut(size_t n, double valid_pct)
{
    if (!(valid_pct > 0.0)) /* also NaN */
        return 0;
    if (valid_pct >= 1.0)
        return n;
    double cut = valid_pct * (double)n;
    return cut >= (double)n ? n : (size_t)cut;
}

size_t split_random(uint8_t *is_valid, size_t n, double valid_pct, uint64_t seed)
{
    size_t cut = split_cut(n, valid_pct);
    if (n == 0)
        return 0;
    Perm p;
    perm_init(&p, n, seed, RNG_STREAM_SPLIT, 0);
    for (size_t i = 0; i < n; i++)
        is_valid[i] = perm_apply(&p, i) < cut;
    return cut;
}
