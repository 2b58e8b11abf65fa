/* buf.h - a buffer that grows as needed, for staging areas outside the kernels (message
 * buffers whose size changes from batch to batch). Growth is amortised doubling, so a
 * steady state allocates nothing. */
#ifndef COLLAB_BUF_H
#define COLLAB_BUF_H

#include <stddef.h>

/* A growable byte buffer; zero-initialise to start empty. The buffer owns p. */
typedef struct Buf {
    void *p;
    size_t cap; /* bytes */
} Buf;

/* Makes b hold at least bytes (contents kept) and returns its storage, valid until the
 * next call on b. Allocation failure ends the job (xrealloc). Local. */
void *buf_reserve(Buf *b, size_t bytes);
/* Frees the storage; b is empty afterwards. Local. */
void buf_free(Buf *b);

#endif
