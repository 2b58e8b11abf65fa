/* test_rng.c - counter-based random numbers and Feistel permutations. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/rng.h"
#include "../test.h"

/* perm_apply must be a bijection of [0, n) for awkward sizes. */
static void check_bijection(uint64_t n, uint64_t seed)
{
    Perm p;
    perm_init(&p, n, seed, RNG_STREAM_SHUFFLE, 3);
    uint8_t *seen = calloc(n ? n : 1, 1);
    int ok = 1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t j = perm_apply(&p, i);
        if (j >= n || seen[j])
            ok = 0;
        else
            seen[j] = 1;
    }
    TEST_CHECK(ok);
    /* The eight-lane version gives the same images, including its scalar tail. */
    int64_t *in = malloc((n ? n : 1) * sizeof(int64_t));
    uint64_t *out = malloc((n ? n : 1) * sizeof(uint64_t));
    for (uint64_t i = 0; i < n; i++)
        in[i] = (int64_t)(n - 1 - i);
    perm_apply_many(&p, out, in, (size_t)n);
    int same = 1;
    for (uint64_t i = 0; i < n; i++)
        same &= out[i] == perm_apply(&p, (uint64_t)in[i]);
    TEST_CHECK(same);
    free(in);
    free(out);
    free(seen);
}

/* A shuffle should move most elements and not keep runs together. */
static void check_mixing(void)
{
    const uint64_t n = 100000;
    Perm p;
    perm_init(&p, n, 42, RNG_STREAM_SHUFFLE, 0);
    uint64_t fixed = 0, adjacent = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = perm_apply(&p, i);
        fixed += a == i;
        if (i + 1 < n) {
            uint64_t b = perm_apply(&p, i + 1);
            adjacent += (a > b ? a - b : b - a) == 1;
        }
    }
    /* A random permutation has ~1 fixed point and ~2 adjacent pairs in expectation. */
    TEST_CHECK(fixed < 20);
    TEST_CHECK(adjacent < 30);
}

static void check_distributions(void)
{
    const int n = 200000;
    double sum = 0, sq = 0, usum = 0;
    int beyond2 = 0;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(7, RNG_STREAM_INIT, 0, (uint64_t)i);
        sum += x;
        sq += x * x;
        beyond2 += x > 2.0 || x < -2.0;
        usum += rng_unit(rng_hash(7, 9, (uint64_t)i, 0));
    }
    TEST_CLOSE(sum / n, 0.0, 0, 0.01);
    TEST_CLOSE(sq / n, 1.0, 0.02, 0);
    TEST_CLOSE((double)beyond2 / n, 0.0455, 0.05, 0); /* P(|N(0,1)| > 2) */
    TEST_CLOSE(usum / n, 0.5, 0, 0.005);
}

int main(void)
{
    uint64_t sizes[] = {1, 2, 3, 5, 64, 1000, 4097, 80000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        check_bijection(sizes[i], 42 + i);
    check_mixing();
    check_distributions();
    /* Pure functions of their key. */
    TEST_CHECK(rng_hash(1, 2, 3, 4) == rng_hash(1, 2, 3, 4));
    TEST_CHECK(rng_hash(1, 2, 3, 4) != rng_hash(1, 2, 3, 5));
    TEST_CHECK(rng_hash(1, 2, 3, 4) != rng_hash(2, 2, 3, 4));
    /* rng_hash_bytes is part of the file format (the strings checksum): pinned values. */
    static const char *const keys[] = {"", "abc", "12345678", "Toy Story (1995)",
                                       "a key longer than sixteen bytes, with UTF-8: caf\xc3\xa9"};
    static const uint64_t want[] = {0x7548cdc0a72d003bULL, 0x8643baf270abfbf7ULL,
                                    0xdd6cd220880f4343ULL, 0x224c391e9678e064ULL,
                                    0xac3790defb550497ULL};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        TEST_CHECK(rng_hash_bytes(keys[i], strlen(keys[i])) == want[i]);
    Perm a, b;
    perm_init(&a, 1000, 1, RNG_STREAM_SPLIT, 0);
    perm_init(&b, 1000, 2, RNG_STREAM_SPLIT, 0);
    int differ = 0;
    for (uint64_t i = 0; i < 1000; i++)
        differ += perm_apply(&a, i) != perm_apply(&b, i);
    TEST_CHECK(differ > 900);
    return test_done("test_rng");
}
