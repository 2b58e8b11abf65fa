/* shard.c - ownership arithmetic for users (count-balanced ranges) and items (blocks). */
#include "config.h"

#include "collab/shard.h"

#include <stdlib.h>
#include <string.h>

#include "collab/check.h"

void layout_init(Layout *l, int nranks, size_t n_users, size_t n_items, const uint64_t *counts)
{
    l->nranks = nranks;
    l->n_users = n_users;
    l->n_items = n_items;
    l->user_start = xmalloc(((size_t)nranks + 1) * sizeof(size_t));
    uint64_t total = 0;
    for (size_t u = 0; u < n_users; u++)
        total += counts[u];
    /* Walk the prefix sums once; rank r starts where the prefix first reaches its share.
     * 128-bit product: total * r may exceed 64 bits for huge data at large P. */
    uint64_t prefix = 0;
    size_t u = 0;
    for (int r = 0; r < nranks; r++) {
        uint64_t share = (uint64_t)(((unsigned __int128)total * (unsigned)r) / (unsigned)nranks);
        while (u < n_users && prefix < share)
            prefix += counts[u++];
        l->user_start[r] = r == 0 ? 0 : u;
    }
    l->user_start[nranks] = n_users;
}

void layout_init_from(Layout *l, int nranks, size_t n_users, size_t n_items,
                      const size_t *user_start)
{
    l->nranks = nranks;
    l->n_users = n_users;
    l->n_items = n_items;
    l->user_start = xmalloc(((size_t)nranks + 1) * sizeof(size_t));
    memcpy(l->user_start, user_start, ((size_t)nranks + 1) * sizeof(size_t));
}

void layout_free(Layout *l)
{
    free(l->user_start);
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
