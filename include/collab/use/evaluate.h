/* evaluate.h - ranking metrics of top-K lists against held-out relevant items.
 *
 * For one user with a ranked list L (best first, cut at K) and a set R of relevant
 * held-out items (|R| >= 1), with hits h = |L ∩ R|:
 *   precision@K = h / K            recall@K = h / |R|        hit = (h > 0)
 *   NDCG@K = sum over hits at rank i (from 0) of 1 / log2(i + 2), divided by the same sum
 *            over ranks 0 .. min(K, |R|) - 1 (binary relevance)
 * and catalogue coverage = items in at least one user's list / known items. Means are
 * over the users that have a relevant held-out item. Sums are in fixed point (ExactSum)
 * and coverage is an OR of bitmaps, so the job-wide values do not depend on -np. The
 * protocols (which items are candidates, what is relevant) are the caller's; see
 * docs/USING.md. */
#ifndef COLLAB_EVALUATE_H
#define COLLAB_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/ctx.h"
#include "collab/base/exact.h"

enum { RANKM_PRECISION, RANKM_RECALL, RANKM_NDCG, RANKM_HIT, RANKM_COVERAGE, RANKM_VALUES };

typedef struct RankMetrics {
    size_t k;         /* list length K */
    size_t n_items;   /* items in the vocabulary (with #na#) */
    ExactSum sum[4];  /* precision, recall, NDCG, hit, summed over users */
    int64_t users;    /* users added */
    uint8_t *covered; /* (n_items) 1 when the item is in some user's list */
} RankMetrics;

void rankm_init(RankMetrics *m, size_t k, size_t n_items);
void rankm_free(RankMetrics *m);

/* Local: adds one user: list (n entries, best first; entries past K are ignored) against
 * rel, the user's relevant items sorted ascending (n_rel >= 1). */
void rankm_add(RankMetrics *m, const int32_t *list, size_t n, const int32_t *rel, size_t n_rel);

/* Collective: sums every rank's users into every rank's m. */
void rankm_reduce(RankMetrics *m, const Ctx *ctx);

/* The means (after rankm_reduce): out[RANKM_*]; 0 when no user was added. */
void rankm_values(const RankMetrics *m, double *out);

#endif
