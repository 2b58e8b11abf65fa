/* size.h - byte sizes as people write them (--max-memory 12G, COLLAB_TEST_MEMAVAILABLE=4M)
 * and as messages show them. Both are local and pure. */
#ifndef COLLAB_SIZE_H
#define COLLAB_SIZE_H

#include <stdint.h>

/* Parses a size: a whole number of bytes with an optional K, M, G or T suffix (powers
 * of 1024, case-insensitive, optional trailing B), the whole of s. Returns 0 with *out
 * set, or -1 when s is not such a size, is 0, or does not fit in 64 bits. Local. */
int size_parse(const char *s, uint64_t *out);

/* A size for a message, by value: "512 KiB", "12.5 MiB" or "3.21 GiB". */
typedef struct SizeText {
    char s[32];
} SizeText;

/* bytes as a SizeText (KiB below 1 MiB, MiB below 1 GiB, else GiB). Local. */
SizeText size_text(uint64_t bytes);

#endif
