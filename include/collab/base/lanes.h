/* lanes.h - the 16-lane float vector of the vectorised kernels (model.c, optim.c,
 * blocks.c) and the one reduction tree they share. A sum taken in 16 fixed lanes (term c
 * in lane c % 16) and then folded by this tree has the same bits under every instruction
 * set the kernels are cloned for, which is what keeps results independent of the machine
 * path and of the number of ranks. Types and macros only. */
#ifndef COLLAB_LANES_H
#define COLLAB_LANES_H

#include <stdint.h>

enum { LANES = 16 };

typedef float V16 __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t I16 __attribute__((vector_size(LANES * sizeof(int32_t))));

#ifdef __clang__ /* the fuzz targets build with clang, which spells the shuffle this way */
#define V16_SHUFFLE(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define V16_SHUFFLE(v, ...) __builtin_shuffle(v, (I16){__VA_ARGS__})
#endif

/* Folds V16 lvalue v in place so that v[0] holds its lanes' sum, halving pairwise:
 * ((l0 + l8) + (l4 + l12)) + ... in a fixed tree. A macro, not a function: a 64-byte
 * vector passed or returned by value changes the ABI under the non-AVX-512 clones. */
#define V16_FOLD(v)                                                                          \
    do {                                                                                     \
        (v) += V16_SHUFFLE((v), 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15); \
        (v) += V16_SHUFFLE((v), 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);             \
        (v) += V16_SHUFFLE((v), 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);             \
        (v) += V16_SHUFFLE((v), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);             \
    } while (0)

#endif
