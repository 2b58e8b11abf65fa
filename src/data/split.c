/* split.c - the train/validation split.
 *
 * fastai's RandomSplitter takes the first int(valid_pct * n) entries of a random
 * permutation as validation. Here the permutation is the counter-based one of rng.h, so
 * row i is validation iff perm(i) < cut: the split depends only on (n, valid_pct, seed),
 * never on how many ranks there are, and costs no memory beyond the flags. */
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

void split_init(Split *s, size_t n, double valid_pct, uint64_t seed)
{
    s->n = n;
    s->cut = split_cut(n, valid_pct);
    perm_init(&s->perm, n ? n : 1, seed, RNG_STREAM_SPLIT, 0);
}

int split_is_valid(const Split *s, uint64_t i)
{
    return s->cut > 0 && perm_apply(&s->perm, i) < s->cut;
}

size_t split_random(uint8_t *is_valid, size_t n, double valid_pct, uint64_t seed)
{
    Split s;
    split_init(&s, n, valid_pct, seed);
    for (size_t i = 0; i < n; i++)
        is_valid[i] = (uint8_t)split_is_valid(&s, i);
    return (size_t)s.cut;
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
        if (s->cut > 0)
            perm_apply_many(&s->perm, img, rows, m);
        for (size_t i = 0; s->cut > 0 && i < m; i++)
            b |= (uint64_t)(img[i] < s->cut) << i;
        words[w - w0] = b;
    }
}
