/* rng.h - counter-based random numbers, permutations and a byte-string hash.
 *
 * Every random draw is a pure function of (seed, stream, counters): there is no state
 * to advance, so a value depends only on the global ids it is keyed by (row id, rating
 * index, epoch), never on how the work is split across ranks. Local, thread-safe. */
#ifndef COLLAB_RNG_H
#define COLLAB_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Streams keep independent uses of one seed apart. */
enum {
    RNG_STREAM_SPLIT = 1,   /* train/validation split */
    RNG_STREAM_SHUFFLE = 2, /* per-epoch batch order, counter = epoch */
    RNG_STREAM_INIT = 3,    /* parameter init, counter = table id */
    RNG_STREAM_SYNTH = 4,   /* synthetic data */
    RNG_STREAM_STRATA = 5,  /* blocked training's stratum order, counter = epoch */
    RNG_STREAM_SEARCH = 6   /* a sweep's random search: a = configuration, b = setting */
};

/* A 64-bit hash of (seed, stream, a, b): SplitMix64 finaliser over a mixed key. */
uint64_t rng_hash(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);
/* A 64-bit hash of the len bytes at s (not cryptographic; fast on short keys): key
 * interning, key routing and the strings checksum of collab-mpi files, so its values are
 * part of the file format and must not change. */
uint64_t rng_hash_bytes(const char *s, size_t len);
/* Uniform double in [0, 1) from the top 53 bits of h. */
double rng_unit(uint64_t h);
/* Standard normal from (seed, stream, a, b) by Box-Muller on two derived uniforms. */
double rng_normal(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);

/* A pseudo-random bijection of [0, n): a 4-round Feistel network on the smallest
 * power-of-two domain >= n, with cycle walking. O(1) per index, no memory,
 * so any rank can place any element of a permutation on its own. */
typedef struct Perm {
    uint64_t n;    /* size of the permuted range */
    unsigned bits; /* width of the Feistel domain, 2^bits >= n */
    uint64_t key;  /* derived from seed, stream and counter */
} Perm;

void perm_init(Perm *p, uint64_t n, uint64_t seed, uint64_t stream, uint64_t counter);
/* Image of i (0 <= i < n) under the permutation. */
uint64_t perm_apply(const Perm *p, uint64_t i);
/* out[j] = perm_apply(p, in[j]) for j < n, eight lanes at a time (the epoch shuffle's
 * hot loop). Local. */
void perm_apply_many(const Perm *p, uint64_t *out, const int64_t *in, size_t n);

#endif
