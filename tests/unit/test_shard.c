/* test_shard.c - ownership arithmetic for 1..8 ranks, without MPI: every user and item
 * has exactly one owner, owners agree with the ranges, user ranges balance ratings. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "collab/data/shard.h"
#include "../test.h"

/* Heavy-tailed counts: a few very active users, many light ones. */
static void make_counts(uint64_t *c, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t u = 0; u < n; u++) {
        double x = (double)(rand() % 10000 + 1) / 10000.0;
        c[u] = (uint64_t)(20.0 / (x * x)); /* Pareto-like tail */
    }
    if (n)
        c[0] = 0; /* #na# has no ratings */
}

static void check_users(const Layout *l, const uint64_t *counts)
{
    uint64_t total = 0, max_count = 0;
    for (size_t u = 0; u < l->n_users; u++) {
        total += counts[u];
        if (counts[u] > max_count)
            max_count = counts[u];
    }
    size_t covered = 0;
    int owners_ok = 1;
    for (int r = 0; r < l->nranks; r++) {
        size_t lo = layout_user_lo(l, r), n = layout_user_count(l, r);
        TEST_CHECK(lo == covered); /* contiguous, in rank order */
        uint64_t load = 0;
        for (size_t u = lo; u < lo + n; u++) {
            load += counts[u];
            owners_ok &= layout_user_owner(l, u) == r;
        }
        /* Greedy cut: no rank exceeds its share by more than one user's ratings. */
        TEST_CHECK(load <= total / (uint64_t)l->nranks + max_count + 1);
        covered += n;
    }
    TEST_CHECK(owners_ok);
    TEST_CHECK(covered == l->n_users);
}

static void check_items(const Layout *l)
{
    size_t covered = 0;
    int owners_ok = 1;
    for (int r = 0; r < l->nranks; r++) {
        size_t lo = layout_item_lo(l, r), n = layout_item_count(l, r);
        TEST_CHECK(lo == covered);
        TEST_CHECK(n == l->n_items / (size_t)l->nranks || n == l->n_items / (size_t)l->nranks + 1);
        for (size_t i = lo; i < lo + n; i++)
            owners_ok &= layout_item_owner(l, i) == r;
        covered += n;
    }
    TEST_CHECK(owners_ok);
    TEST_CHECK(covered == l->n_items);
}

int main(void)
{
    const size_t users[] = {1, 2, 5, 944, 3001}, items[] = {1, 3, 7, 1665, 4000};
    for (int p = 1; p <= 8; p++)
        for (size_t a = 0; a < sizeof users / sizeof *users; a++) {
            uint64_t *counts = malloc(users[a] * sizeof(uint64_t));
            make_counts(counts, users[a], (unsigned)(p * 31 + a));
            Layout l;
            layout_init(&l, p, users[a], items[a], counts);
            check_users(&l, counts);
            check_items(&l);
            Layout copy;
            layout_init_from(&copy, p, users[a], items[a], l.user_start);
            TEST_CHECK(layout_user_owner(&copy, users[a] - 1) ==
                       layout_user_owner(&l, users[a] - 1));
            layout_free(&copy);
            layout_free(&l);
            free(counts);
        }
    /* All ratings on one user: that user's owner takes them all, the rest are light. */
    uint64_t one[6] = {0, 0, 0, 600, 0, 0};
    Layout l;
    layout_init(&l, 4, 6, 2, one);
    check_users(&l, one);
    check_items(&l);
    TEST_CHECK(layout_item_count(&l, 2) == 0 && layout_item_count(&l, 3) == 0);
    layout_free(&l);
    return test_done("test_shard");
}
