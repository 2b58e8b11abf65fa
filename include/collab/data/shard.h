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
 * Both rules depend only on the vocabulary sizes, the per-user counts and P. Blocked
 * training (--blocks B) cuts users into B balanced blocks first, independent of P, and
 * gives each rank whole blocks. */
#ifndef COLLAB_SHARD_H
#define COLLAB_SHARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct Layout {
    int nranks;
    size_t n_users, n_items; /* global vocabulary sizes (with #na#) */
    size_t *user_start;      /* (nranks + 1) first user of each rank; last = n_users */
    /* Blocked training (--blocks B, blocks.h) only; 0 and NULL otherwise. */
    int nblocks;         /* B user blocks; rank r holds blocks [layout_block_lo(r), ..(r+1)) */
    size_t *block_start; /* (nblocks + 1) first user of each block; last = n_users */
} Layout;

/* Cuts users [0, n_users) into nranks contiguous ranges balancing counts[u] (training
 * ratings per user): rank r's range starts at the first user whose preceding count
 * total reaches r * total / nranks. Ranges may be empty (more ranks than users). */
void layout_init(Layout *l, int nranks, size_t n_users, size_t n_items, const uint64_t *counts);
/* Blocked training's layout: users cut into nblocks count-balanced ranges by the same rule
 * with nblocks parts (so the blocks do not depend on nranks), and rank r given blocks
 * [floor(r*nblocks/nranks), floor((r+1)*nblocks/nranks)). Needs nranks <= nblocks for
 * every rank to hold a block. nblocks 0: layout_init. */
void layout_init_blocks(Layout *l, int nranks, int nblocks, size_t n_users, size_t n_items,
                        const uint64_t *counts);
/* The first user block of rank r (layout_init_blocks); r = nranks gives nblocks. */
int layout_block_lo(const Layout *l, int r);
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
