/* rng.c - counter-based random numbers (SplitMix64 mixing) and Feistel permutations.
 *
 * Nothing here has state that advances: a draw is a hash of its key. That is what lets
 * a value depend only on global ids (row, rating, epoch) and not on the rank layout. */
#include "config.h"

#include "collab/rng.h"

#include <math.h>

/* SplitMix64's finaliser: a bijective 64-bit mixer with good avalanche. */
static uint64_t rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rng_hash(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
    /* Chain the mixer over the key words so every word affects every output bit. */
    uint64_t h = rng_mix(seed + 0x9e3779b97f4a7c15ULL);
    h = rng_mix(h ^ (stream + 0x632be59bd9b4e019ULL));
    h = rng_mix(h ^ (a + 0x8cb92ba72f3d8dd7ULL));
    return rng_mix(h ^ (b + 0xd1b54a32d192ed03ULL));
}

double rng_unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1.0p-53;
}

double rng_normal(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
    uint64_t h = rng_hash(seed, stream, a, b);
    /* 1 - u keeps the log argument in (0, 1]. */
    double u1 = 1.0 - rng_unit(h);
    double u2 = rng_unit(rng_mix(h ^ 0xa0761d6478bd642fULL));
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void perm_init(Perm *p, uint64_t n, uint64_t seed, uint64_t stream, uint64_t counter)
{
    unsigned bits = 2;
    while (bits < 62 && (1ULL << bits) < n)
        bits++;
    p->n = n;
    p->bits = bits;
    p->key = rng_hash(seed, stream, counter, 0x5eed);
}

/* One pass of a 4-round alternating Feistel network on the smallest power-of-two domain
 * >= n (so cycle walking takes under two passes on average). The halves may differ by a
 * bit: each round maps (L: a bits, R: b bits) to (R, L ^ F(R)), swapping the widths,
 * and an even number of rounds restores them. Each round is invertible, so the pass is
 * a bijection. */
static uint64_t perm_feistel(const Perm *p, uint64_t x)
{
    unsigned wl = p->bits - p->bits / 2, wr = p->bits / 2;
    uint64_t left = x >> wr, right = x & ((1ULL << wr) - 1);
    for (uint64_t round = 0; round < 4; round++) {
        uint64_t f = rng_mix(p->key ^ (right * 0x9e3779b97f4a7c15ULL) ^ (round << 58));
        uint64_t next = (left ^ f) & ((1ULL << wl) - 1);
        left = right;
        right = next;
        unsigned w = wl;
        wl = wr;
        wr = w;
    }
    return (left << wr) | right;
}
uint64_t perm_apply(const Perm *p, uint64_t i)
{
    /* Cycle walking: the domain is < 2n, so on average under two passes land in [0, n). */
    uint64_t x = perm_feistel(p, i);
    while (x >= p->n)
        x = perm_feistel(p, x);
    return x;
}

/* perm_feistel on 8 values at once, round by round: the same operations, but eight
 * independent chains for the core to overlap (one chain is latency-bound). */
static void perm_feistel8(const Perm *p, uint64_t *x)
{
    unsigned wl = p->bits - p->bits / 2, wr = p->bits / 2;
    uint64_t left[8], right[8];
    for (int k = 0; k < 8; k++) {
        left[k] = x[k] >> wr;
        right[k] = x[k] & ((1ULL << wr) - 1);
    }
    for (uint64_t round = 0; round < 4; round++) {
        const uint64_t mask = (1ULL << wl) - 1;
        for (int k = 0; k < 8; k++) {
            uint64_t f = rng_mix(p->key ^ (right[k] * 0x9e3779b97f4a7c15ULL) ^ (round << 58));
            uint64_t next = (left[k] ^ f) & mask;
            left[k] = right[k];
            right[k] = next;
        }
        unsigned w = wl;
        wl = wr;
        wr = w;
    }
    for (int k = 0; k < 8; k++)
        x[k] = (left[k] << wr) | right[k];
}

void perm_apply_n(uint64_t *out, const Perm *p, uint64_t first, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x[8];
        for (int k = 0; k < 8; k++) /* lanes past n compute garbage that is not kept */
            x[k] = (first + i + (uint64_t)k) & ((1ULL << p->bits) - 1);
        perm_feistel8(p, x);
        for (size_t k = 0; k < 8 && i + k < n; k++) {
            uint64_t y = x[k];
            while (y >= p->n) /* cycle walking, as perm_apply */
                y = perm_feistel(p, y);
            out[i + k] = y;
        }
    }
}
