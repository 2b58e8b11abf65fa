/* exact.c - sums that do not depend on the order of their terms (base/exact.h): fixed
 * point for non-negative doubles (ExactSum), and per-exponent integer mantissas for any
 * floats (FloatSum). */
#include "config.h"

#include "collab/base/exact.h"

#include <math.h>
#include <string.h>

#define EXACT_SCALE 4294967296.0 /* 2^32: terms are rounded to multiples of 2^-32 */
#define EXACT_LIMIT 1073741824.0 /* 2^30: larger terms would overflow the halves */

void exact_add(ExactSum *s, double term)
{
    if (!(term >= 0.0 && term < EXACT_LIMIT)) { /* also catches NaN */
        s->bad++;
        return;
    }
    /* term * 2^32 < 2^62 is exact; split so each half sums 2^32 terms without overflow. */
    int64_t f = llround(term * EXACT_SCALE);
    s->hi += f >> 31;
    s->lo += f & 0x7fffffff;
}

double exact_value(const ExactSum *s)
{
    if (s->bad)
        return INFINITY;
    return ((double)s->hi * 2147483648.0 + (double)s->lo) / EXACT_SCALE;
}

/* ------------------------------------------------------------------------ exact sums */

void floatsum_add(FloatSum *s, float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    unsigned e = (bits >> 23) & 0xFF;
    int64_t mant = bits & 0x7FFFFF;
    if (e == 0xFF) {
        s->special[mant ? 2 : bits >> 31]++;
        return;
    }
    if (e == 0)
        e = 1; /* subnormal: mant * 2^(1 - 150) */
    else
        mant |= 0x800000; /* x = mant * 2^(e - 150) */
    s->m[e] += bits >> 31 ? -mant : mant;
}

void floatsum_merge(FloatSum *s, const FloatSum *t)
{
    for (int e = 0; e < 256; e++)
        s->m[e] += t->m[e];
    for (int k = 0; k < 3; k++)
        s->special[k] += t->special[k];
}

enum { SUM_LIMBS = 12 }; /* 32-bit limbs of sum(m[e] * 2^(e-1)): 253 + 64 bits and a sign */

/* Carries every limb into [0, 2^32); the sign ends up in the top limb. */
static void limbs_normalize(int64_t *l)
{
    for (int k = 0; k + 1 < SUM_LIMBS; k++) {
        int64_t low = l[k] & 0xFFFFFFFF;
        l[k + 1] += (l[k] - low) / ((int64_t)1 << 32);
        l[k] = low;
    }
}

/* The limbs of the exact sum (scaled by 2^149 so the smallest float is 1). */
static void floatsum_limbs(int64_t *l, const FloatSum *s)
{
    memset(l, 0, SUM_LIMBS * sizeof *l);
    for (int e = 1; e < 255; e++) {
        if (!s->m[e])
            continue;
        const int k = (e - 1) / 32;
        __int128 t = (__int128)s->m[e] * ((__int128)1 << ((e - 1) % 32)); /* < 2^95 */
        for (int j = 0; j < 2; j++) {
            int64_t low = (int64_t)(t & 0xFFFFFFFF);
            l[k + j] += low;
            t = (t - low) / ((__int128)1 << 32);
        }
        l[k + 2] += (int64_t)t;
    }
    limbs_normalize(l);
}

double floatsum_value(const FloatSum *s)
{
    if (s->special[2] || (s->special[0] && s->special[1]))
        return NAN;
    if (s->special[0] || s->special[1])
        return s->special[0] ? INFINITY : -INFINITY;
    int64_t l[SUM_LIMBS];
    floatsum_limbs(l, s);
    const int neg = l[SUM_LIMBS - 1] < 0;
    for (int k = 0; neg && k < SUM_LIMBS; k++)
        l[k] = -l[k];
    if (neg)
        limbs_normalize(l);
    int h = SUM_LIMBS - 1;
    while (h >= 0 && l[h] == 0)
        h--;
    if (h < 0)
        return 0.0;
    /* The top four limbs hold at least 97 bits: keep 63 of them and fold the rest into a
     * sticky bit, so one int64 -> double conversion rounds exactly once. */
    unsigned __int128 y = 0;
    int sticky = 0;
    for (int k = h; k >= 0; k--) {
        if (k >= h - 3)
            y = (y << 32) | (uint64_t)l[k];
        else
            sticky |= l[k] != 0;
    }
    int bits = 0;
    for (unsigned __int128 t = y; t; t >>= 1)
        bits++;
    const int sh = bits > 63 ? bits - 63 : 0;
    int64_t m = (int64_t)(y >> sh);
    if (sh && (y & (((unsigned __int128)1 << sh) - 1)))
        sticky = 1;
    double v = ldexp((double)(m | sticky), 32 * (h - 3 < 0 ? 0 : h - 3) + sh - 149);
    return neg ? -v : v;
}
