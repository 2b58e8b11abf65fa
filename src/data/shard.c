/* shard.c - ownership arithmetic for users (count-balanced ranges, optionally made of
 * count-balanced user blocks) and items (blocks). */
#include "config.h"

#include "collab/data/shard.h"

#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"

/* start[0..parts] cuts users [0, n_users) into parts ranges balancing counts. */
static void cut_balanced(size_t *start, int parts, size_t n_users, const uint64_t *counts)
{
    uint64_t total = 0;
    for (size_t u = 0; u < n_users; u++)
        total += counts[u];
    /* Walk the prefix sums once; part r starts where the prefix first reaches its share.
     * 128-bit product: total * r may exceed 64 bits for huge data at large P. */
    uint64_t prefix = 0;
    size_t u = 0;
    for (int r = 0; r < parts; r++) {
        uint64_t share = (uint64_t)(((unsigned __int128)total * (unsigned)r) / (unsigned)parts);
        while (u < n_users && prefix < share)
            prefix += counts[u++];
        start[r] = r == 0 ? 0 : u;
    }
    start[parts] = n_users;
}

void layout_init(Layout *l, int nranks, size_t n_users, size_t n_items, const uint64_t *counts)
{
    layout_init_blocks(l, nranks, 0, n_users, n_items, counts);
}

void layout_init_blocks(Layout *l, int nranks, int nblocks, size_t n_users, size_t n_items,
                        const uint64_t *counts)
{
    memset(l, 0, sizeof *l);
    l->nranks = nranks;
    l->n_users = n_users;
    l->n_items = n_items;
    l->user_start = xmalloc(((size_t)nranks + 1) * sizeof(size_t));
    if (nblocks <= 0) {
        cut_balanced(l->user_start, nranks, n_users, counts);
        return;
    }
    l->nblocks = nblocks;
    l->block_start = xmalloc(((size_t)nblocks + 1) * sizeof(size_t));
    cut_balanced(l->block_start, nblocks, n_users, counts);
    for (int r = 0; r <= nranks; r++)
        l->user_start[r] = l->block_start[layout_block_lo(l, r)];
}

int layout_block_lo(const Layout *l, int r)
{
    return (int)(((int64_t)r * l->nblocks) / l->nranks);
}

void layout_init_from(Layout *l, int nranks, size_t n_users, size_t n_items,
                      const size_t *user_start)
{
    l->nranks = nranks;
    l->n_users = n_users;
    l->n_items = n_items;
    l->nblocks = 0;
    l->block_start = NULL;
    l->user_start = xmalloc(((size_t)nranks + 1) * sizeof(size_t));
    memcpy(l->user_start, user_start, ((size_t)nranks + 1) * sizeof(size_t));
}

void layout_free(Layout *l)
{
    free(l->user_start);
    free(l->block_start);
    memset(l, 0, sizeof *l);
}

int layout_user_owner(const Layout *l, size_t u)
{
    /* The last rank whose range starts at or before u (ranges may be empty). */
    int lo = 0, hi = l->nranks - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (l->user_start[mid] <= u)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

size_t layout_user_lo(const Layout *l, int r)
{
    return l->user_start[r];
}

size_t layout_user_count(const Layout *l, int r)
{
    return l->user_start[r + 1] - l->user_start[r];
}

size_t layout_item_lo(const Layout *l, int r)
{
    const size_t n = l->n_items, p = (size_t)l->nranks, q = n / p, rem = n % p;
    return (size_t)r * q + ((size_t)r < rem ? (size_t)r : rem);
}

size_t layout_item_count(const Layout *l, int r)
{
    const size_t n = l->n_items, p = (size_t)l->nranks;
    return n / p + ((size_t)r < n % p ? 1 : 0);
}

int layout_item_owner(const Layout *l, size_t i)
{
    if (l->nranks == 1)
        return 0;
    const size_t n = l->n_items, p = (size_t)l->nranks, q = n / p, rem = n % p;
    const size_t big = rem * (q + 1); /* items held by the ranks with one extra */
    if (i < big)
        return (int)(i / (q + 1));
    return (int)(rem + (i - big) / q);
}
