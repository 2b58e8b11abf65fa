/* lanes.h - what the vectorised kernels (model.c, optim.c, nn.c, blocks.c, rng.c) share:
 * the instruction sets they are cloned for, the 16-lane float vector, the one 16-lane
 * accumulate loop and the one reduction tree. A sum taken in 16 fixed lanes (term c in lane
 * c % 16) and then folded by this tree has the same bits under every instruction set the
 * kernels are cloned for, which is what keeps results independent of the machine path and
 * of the number of ranks. Types, macros and always-inline functions only. */
#ifndef COLLAB_LANES_H
#define COLLAB_LANES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Marks a hot kernel to be compiled for AVX-512 (x86-64-v4: with DQ, which converts floats to
 * int64 eight at a time), AVX2 and baseline x86-64, the best picked at load time. Every
 * variant rounds the same: the build turns FMA contraction off and the kernels fix their
 * summation order. GCC on x86-64 only (clang builds the fuzz targets without it). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LANES_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define LANES_CLONES
#endif

/* A helper of a cloned kernel: inlined into each clone, so it runs on the clone's
 * instruction set, and vectors passed by pointer stay in registers. */
#define LANES_INLINE static inline __attribute__((always_inline))

enum { LANES = 16 };

typedef float V16 __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t I16 __attribute__((vector_size(LANES * sizeof(int32_t))));

#ifdef __clang__ /* the fuzz targets build with clang, which spells the shuffle this way */
#define V16_SHUFFLE(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define V16_SHUFFLE(v, ...) __builtin_shuffle(v, (I16){__VA_ARGS__})
#endif

/* V16 lvalue v = the 16 floats at p (any alignment). A macro, not a function: a 64-byte
 * vector returned by value changes the ABI under the non-AVX-512 clones. */
#define V16_LOAD(v, p) memcpy(&(v), (p), sizeof(V16))

/* Folds V16 lvalue v in place so that v[0] holds its lanes' sum, halving pairwise:
 * ((l0 + l8) + (l4 + l12)) + ... in a fixed tree. A macro, not a function: a 64-byte
 * vector passed or returned by value changes the ABI under the non-AVX-512 clones. */
#define V16_FOLD(v)                                                                                \
    do {                                                                                           \
        (v) += V16_SHUFFLE((v), 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);       \
        (v) += V16_SHUFFLE((v), 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);                   \
        (v) += V16_SHUFFLE((v), 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);                   \
        (v) += V16_SHUFFLE((v), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);                   \
    } while (0)

/* The 16-lane accumulate loop, one pass over a (n) and b (n): lane c % 16 of *ab gains
 * a[c] * b[c], and, when aa and bb are not NULL, lane c % 16 of *aa gains a[c] * a[c] and of
 * *bb b[c] * b[c]. The last n % 16 terms go to lanes 0.. as one more vector whose other lanes
 * are +0, which leaves them as they were (a lane that starts at +0 never holds -0). Every
 * caller passes constant NULLs or none, so inlining drops the unused sums. a may be b. */
LANES_INLINE void lanes_accumulate(V16 *ab, V16 *aa, V16 *bb, const float *a, const float *b,
                                   size_t n)
{
    V16 sab = *ab, saa = aa ? *aa : (V16){0}, sbb = bb ? *bb : (V16){0};
    size_t c = 0;
    for (; c + LANES <= n; c += LANES) {
        V16 x, y;
        V16_LOAD(x, a + c), V16_LOAD(y, b + c);
        sab += x * y;
        if (aa)
            saa += x * x, sbb += y * y;
    }
    if (c < n) {
        V16 tab = {0}, taa = {0}, tbb = {0};
        for (size_t l = 0; c + l < n; l++) {
            tab[l] = a[c + l] * b[c + l];
            if (aa)
                taa[l] = a[c + l] * a[c + l], tbb[l] = b[c + l] * b[c + l];
        }
        sab += tab;
        if (aa)
            saa += taa, sbb += tbb;
    }
    *ab = sab;
    if (aa)
        *aa = saa, *bb = sbb;
}

/* <a, b> over n terms, in 16 lanes then folded: the one order every dot product and sum of
 * squares of the vectorised kernels uses. */
LANES_INLINE float lanes_dot(const float *a, const float *b, size_t n)
{
    V16 s = {0};
    lanes_accumulate(&s, NULL, NULL, a, b, n);
    V16_FOLD(s);
    return s[0];
}

#endif
