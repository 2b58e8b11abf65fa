/* test.h - a tiny unit-test harness: every failed check is printed with file:line and
 * makes the test exit non-zero at test_done(). Tests that need MPI call MPI_Init
 * themselves. Exit 77 means "skipped" to Automake's harness. */
#ifndef COLLAB_TEST_H
#define COLLAB_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures = 0;
static int test_checks = 0;

#define TEST_CHECK(cond)                                                                           \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
#define TEST_CLOSE(a, b, rtol, atol)                                                               \
    do {                                                                                           \
        double ta_ = (double)(a), tb_ = (double)(b);                                               \
        test_checks++;                                                                             \
        if (!(fabs(ta_ - tb_) <= (atol) + (rtol)*fabs(tb_))) {                                     \
            test_failures++;                                                                       \
            fprintf(stderr, "FAIL %s:%d: %s = %.9g, expected %s = %.9g\n", __FILE__, __LINE__, #a, \
                    ta_, #b, tb_);                                                                 \
        }                                                                                          \
    } while (0)

#define TEST_STR_CONTAINS(hay, needle)                                                             \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!strstr((hay), (needle))) {                                                            \
            test_failures++;                                                                       \
            fprintf(stderr, "FAIL %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,    \
                    (hay), (needle));                                                              \
        }                                                                                          \
    } while (0)

/* SplitMix64: the tests' own generator, independent of src/rng.c. */
static inline uint64_t test_rand_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1) from the next draw of s. */
static inline double test_rand_unit(uint64_t *s)
{
    return (double)(test_rand_next(s) >> 11) * 0x1.0p-53;
}

/* Zeroed memory, or exit 1 (a test has no recovery). */
static inline void *test_alloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* Prints a summary and returns the exit status for main(). */
static inline int test_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : (test_checks ? 0 : 99);
}

#endif
