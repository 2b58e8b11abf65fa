/* split.c - the train/validation split.
 *
 * fastai's RandomSplitter takes the first int(valid_pct * n) entries of a random
 * permutation as validation. Here the permutation is the counter-based one of rng.h, so
 * row i is validation iff perm(i) < cut: the split depends only on (n, valid_pct, seed),
 * never on how many ranks there are, and costs no memory beyond the flags. k folds cut
 * the same permutation into k ranges of positions (split.h). */
#include "config.h"

#include "collab/data/split.h"

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

static void split_set(Split *s, size_t n, uint64_t lo, uint64_t hi, uint64_t seed)
{
    s->n = n;
    s->lo = lo;
    s->hi = hi;
    s->n_valid = hi - lo;
    perm_init(&s->perm, n ? n : 1, seed, RNG_STREAM_SPLIT, 0);
}

void split_init(Split *s, size_t n, double valid_pct, uint64_t seed)
{
    split_set(s, n, 0, split_cut(n, valid_pct), seed);
}

/* floor(f n / k) for f <= k, without overflow: with n = q k + r it is f q + floor(f r / k). */
static uint64_t fold_start(uint64_t n, int folds, int fold)
{
    const uint64_t k = (uint64_t)folds, f = (uint64_t)fold;
    return (n / k) * f + (n % k) * f / k;
}

void split_init_fold(Split *s, size_t n, int folds, int fold, uint64_t seed)
{
    split_set(s, n, fold_start(n, folds, fold), fold_start(n, folds, fold + 1), seed);
}

void split_init_spec(Split *s, size_t n, const SplitSpec *sp)
{
    if (sp->folds > 0)
        split_init_fold(s, n, sp->folds, sp->fold, sp->seed);
    else
        split_init(s, n, sp->valid_pct, sp->seed);
}

int split_is_valid(const Split *s, uint64_t i)
{
    if (s->n_valid == 0)
        return 0;
    const uint64_t p = perm_apply(&s->perm, i);
    return p >= s->lo && p < s->hi;
}

size_t split_fill(uint8_t *is_valid, const Split *s)
{
    for (uint64_t i = 0; i < s->n; i++)
        is_valid[i] = (uint8_t)split_is_valid(s, i);
    return (size_t)s->n_valid;
}

size_t split_random(uint8_t *is_valid, size_t n, double valid_pct, uint64_t seed)
{
    Split s;
    split_init(&s, n, valid_pct, seed);
    return split_fill(is_valid, &s);
}

void split_words(uint64_t *words, const Split *s, uint64_t w0, uint64_t nw)
{
    int64_t rows[64];
    uint64_t img[64];
    for (uint64_t w = w0; w < w0 + nw; w++) {
        const uint64_t first = 64 * w;
        const size_t m = first >= s->n ? 0 : s->n - first < 64 ? (size_t)(s->n - first) : 64;
        uint64_t b = 0;
        for (size_t i = 0; i < m; i++)
            rows[i] = (int64_t)(first + i);
        if (s->n_valid > 0)
            perm_apply_many(&s->perm, img, rows, m);
        for (size_t i = 0; s->n_valid > 0 && i < m; i++)
            b |= (uint64_t)(img[i] >= s->lo && img[i] < s->hi) << i;
        words[w - w0] = b;
    }
}
