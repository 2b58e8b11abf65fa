/* rng.c - counter-based random numbers (SplitMix64 mixing), Feistel permutations and the
 * byte-string hash.
 *
 * Nothing here has state that advances: a draw is a hash of its key. That is what lets
 * a value depend only on global ids (row, rating, epoch) and not on the rank layout. */
#include "config.h"

#include "collab/base/rng.h"

#include <math.h>
#include <string.h>

#include "collab/base/lanes.h"

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

uint64_t rng_hash_bytes(const char *s, size_t len)
{
    /* 8 bytes at a time with a multiply-xorshift mix, then SplitMix64's finaliser. */
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)len, w;
    for (; len >= 8; s += 8, len -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
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

/* ------------------------------------------------------------------ many at once */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* The 512-bit helpers below are always inlined, so no call ever passes a vector by value
 * across the baseline ABI that GCC warns about. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

enum { PERM_LANES = 8 };
typedef uint64_t V8 __attribute__((vector_size(PERM_LANES * sizeof(uint64_t))));

LANES_INLINE V8 mix_v(V8 z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* perm_feistel on PERM_LANES values at once (the same operations lane by lane). */
LANES_INLINE V8 feistel_v(const Perm *p, V8 x)
{
    unsigned wl = p->bits - p->bits / 2, wr = p->bits / 2;
    V8 left = x >> wr, right = x & (uint64_t)((1ULL << wr) - 1); /* clang: no implicit splat */
    for (uint64_t round = 0; round < 4; round++) {
        V8 f = mix_v((right * 0x9e3779b97f4a7c15ULL) ^ (p->key ^ (round << 58)));
        V8 next = (left ^ f) & (uint64_t)((1ULL << wl) - 1);
        left = right;
        right = next;
        unsigned w = wl;
        wl = wr;
        wr = w;
    }
    return (left << wr) | right;
}

LANES_CLONES
void perm_apply_many(const Perm *p, uint64_t *out, const int64_t *in, size_t n)
{
    size_t i = 0;
    for (; i + PERM_LANES <= n; i += PERM_LANES) {
        V8 x;
        for (int l = 0; l < PERM_LANES; l++)
            x[l] = (uint64_t)in[i + l];
        x = feistel_v(p, x);
        V8 walk = x >= p->n; /* all ones in the lanes still outside [0, n) */
        while (1) {
            uint64_t any = 0;
            for (int l = 0; l < PERM_LANES; l++)
                any |= walk[l];
            if (!any)
                break;
            x = (feistel_v(p, x) & walk) | (x & ~walk);
            walk = x >= p->n;
        }
        for (int l = 0; l < PERM_LANES; l++)
            out[i + l] = x[l];
    }
    for (; i < n; i++)
        out[i] = perm_apply(p, (uint64_t)in[i]);
}
