/* shard.h - who owns which user and which item: pure arithmetic, no MPI.
 *
 * Users: contiguous ranges of the user vocabulary, cut so that every rank gets about the
 * same number of training ratings (activity is heavy-tailed, so equal row counts would
 * not balance the work). Rank r owns users [user_start[r], user_start[r+1]).
 *
 * Items: contiguous blocks of the item vocabulary of near-equal size: rank r owns items
 * [r*n/P + min(r, n%P) ...), i.e. the first n%P ranks one more. Dense optimizer work is
 * proportional to rows owned, and vocabulary order (sorted IDs or titles) is unrelated
 * to popularity, so equal blocks also spread the exchange traffic.
 *
 * Both rules depend only on the vocabulary sizes, the per-user counts and P. */
#ifndef COLLAB_SHARD_H
#define COLLAB_SHARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct Layout {
    int nranks;
    size_t n_users, n_items; /* global vocabulary sizes (with #na#) */
    size_t *user_start;      /* (nranks + 1) first user of each rank; last = n_users */
} Layout;

/* Cuts users [0, n_users) into nranks contiguous ranges balancing counts[u] (training
 * ratings per user): rank r's range starts at the first user whose preceding count
 * total reaches r * total / nranks. Ranges may be empty (more ranks than users). */
void layout_init(Layout *l, int nranks, size_t n_users, size_t n_items, const uint64_t *counts);
/* Layout with user_start given (e.g. received from rank 0). Takes a copy. */
void layout_init_from(Layout *l, int nranks, size_t n_users, size_t n_items,
                      const size_t *user_start);
void layout_free(Layout *l);

/* Owner rank of user u / item i, and the first row and row count of rank r. */
int layout_user_owner(const Layout *l, size_t u);
int layout_item_owner(const Layout *l, size_t i);
size_t layout_user_lo(const Layout *l, int r);
size_t layout_user_count(const Layout *l, int r);
size_t layout_item_lo(const Layout *l, int r);
size_t layout_item_count(const Layout *l, int r);

#endif
