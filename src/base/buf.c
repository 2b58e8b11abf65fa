/* buf.c - growable buffers (base/buf.h). */
#include "config.h"

#include "collab/base/buf.h"

#include <stdlib.h>

#include "collab/base/check.h"

void *buf_reserve(Buf *b, size_t bytes)
{
    if (bytes > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < bytes)
            c *= 2;
        b->p = xrealloc(b->p, c);
        b->cap = c;
    }
    return b->p;
}

void buf_free(Buf *b)
{
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}
