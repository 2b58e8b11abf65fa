/* exact.h - sums whose result does not depend on the order of their terms, so that a
 * job-wide total (a loss, a mean rating) is the same bits at any number of ranks. All
 * functions are local: the all-rank reduction of ExactSums is exchange_allreduce_exact
 * (dist), and FloatSums are merged with MPI_SUM on their int64 fields. */
#ifndef COLLAB_EXACT_H
#define COLLAB_EXACT_H

#include <stdint.h>

/* A sum whose result does not depend on the order of its terms: each term in [0, 2^30)
 * is rounded to a multiple of 2^-32 and added as two exact integers; larger, negative
 * or non-finite terms are counted as `bad` and make the result infinite. Zero-initialise
 * to start. Integer halves: two sums are merged by adding their fields. */
typedef struct ExactSum {
    int64_t hi, lo, bad;
} ExactSum;

/* Adds term to s. Local. */
void exact_add(ExactSum *s, double term);
/* The sum's value (infinite when any term was bad). Local. */
double exact_value(const ExactSum *s);

/* An exact sum of floats that does not depend on the order of its terms (so every rank
 * count and every reduction order give the same bits): each float is an integer
 * mantissa times a power of two, and the mantissas are added as integers, one bucket
 * per exponent. Holds up to 2^39 terms. */
typedef struct FloatSum {
    int64_t m[256];     /* sum of signed mantissas per biased exponent (0 unused) */
    int64_t special[3]; /* +inf, -inf and NaN terms */
} FloatSum;

/* Adds x to s. */
void floatsum_add(FloatSum *s, float x);
/* Adds t to s element-wise (merging partial sums; MPI_SUM on the int64s does the same). */
void floatsum_merge(FloatSum *s, const FloatSum *t);
/* The exact sum, rounded once to the nearest double (ties to even); inf or NaN as IEEE
 * addition would give when infinite or NaN terms were added. */
double floatsum_value(const FloatSum *s);

#endif
