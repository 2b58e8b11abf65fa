/* recs.h - top-N lists for many users at once, and the popularity ranking they are
 * compared with.
 *
 * Every rank scores its own users against every item block while the blocks travel
 * around the ranks in a ring (P steps of MPI_Sendrecv), so no rank holds more than its
 * own item rows and one visiting block, and the work is the rank's share of users times
 * all items. A user's list keeps the best N under the total order of infer.h (score
 * desc, index asc), so it is the same whichever rank scored which block. */
#ifndef COLLAB_RECS_H
#define COLLAB_RECS_H

#include <stddef.h>
#include <stdint.h>

#include "collab/use/infer.h"

/* This rank's users' lists. */
typedef struct RecsLists {
    size_t n_users; /* this rank's users: global user_lo + j for row j */
    size_t cap;     /* N */
    size_t *count;  /* (n_users) entries in each list (fewer than N when a user has rated
                       nearly every item) */
    float *score;   /* (n_users, cap) predicted ratings, best first */
    int32_t *item;  /* (n_users, cap) item indices */
} RecsLists;

/* Collective: for this rank's users j with want[j] (want NULL: all), the cap items with
 * the highest predicted rating among items 1.. not in the user's sorted list
 * rated[start[j] .. start[j + 1]). Row 0 of rank 0 (#na#) is scored as the average
 * user. */
void recs_topn_all(RecsLists *out, Infer *in, const size_t *start, const int32_t *rated,
                   const uint8_t *want, size_t cap);
void recs_free(RecsLists *r);

/* Local: items 1..n_items-1 in popularity order: most ratings first, then by index.
 * Returns an array of n_items - 1 entries (caller frees). */
int32_t *recs_popularity_order(const int64_t *counts, size_t n_items);

/* Local: the first cap items of order (n_order entries) that are not in the sorted list
 * rated (n_rated); returns how many were written to out. */
size_t recs_popular(int32_t *out, size_t cap, const int32_t *order, size_t n_order,
                    const int32_t *rated, size_t n_rated);

/* Local: 1 when item is in the sorted list rated (n entries). */
int recs_contains(const int32_t *rated, size_t n, int32_t item);

#endif
