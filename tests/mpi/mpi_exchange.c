/* mpi_exchange.c - the MPI seam at 1, 2 and 3 ranks: errors agreed by every rank, the
 * dataset scattered by user owner, item rows gathered from their owners, gradients summed
 * by their owners in position order, and order-free sums. Uneven shards, a rank with no
 * ratings in a batch, and more ranks than items are covered. */
#include "config.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "collab/data/dataset.h"
#include "collab/data/distribute.h"
#include "collab/dist/exchange.h"
#include "collab/base/status.h"
#include "../test.h"

/* The last rank fails; every rank must learn its code and message. */
static void check_status_agree(const Ctx *ctx)
{
    Status st;
    status_clear(&st);
    TEST_CHECK(status_agree(&st, ctx->comm) == STATUS_OK);
    if (ctx->rank == ctx->size - 1)
        status_set(&st, STATUS_DATA, "shard of rank %d is bad", ctx->rank);
    TEST_CHECK(status_agree(&st, ctx->comm) == STATUS_DATA);
    char want[64];
    snprintf(want, sizeof want, "shard of rank %d is bad", ctx->size - 1);
    TEST_CHECK(strcmp(st.msg, want) == 0);
}

/* Rank 0 builds a small dataset; every rank must end with its users' rows only. */
static void check_distribute(const Ctx *ctx)
{
    static char *users[] = {"10", "2", "33", "7"}, *items[] = {"Alien (1979)", "Heat (1995)"};
    int32_t u[] = {0, 1, 2, 0, 1, 3, 3, 3, 3}, i[] = {0, 1, 0, 1, 0, 0, 1, 1, 0};
    float y[] = {4, 3.5f, 5, 1, 2, 3, 3, 4, 2};
    uint8_t valid[] = {0, 0, 0, 1, 1, 0, 0, 0, 1};
    Dataset ds;
    memset(&ds, 0, sizeof ds);
    if (ctx->rank == 0) {
        Ratings r = {.n = 9,
                     .user = u,
                     .item = i,
                     .rating = y,
                     .n_user_keys = 4,
                     .user_keys = users,
                     .n_item_keys = 2,
                     .item_keys = items};
        dataset_build(&ds, &r, valid, 1);
    }
    dataset_distribute(&ds, ctx->comm);
    TEST_CHECK(ds.n_train_total == 6 && ds.n_valid_total == 3);
    TEST_CHECK(ds.users.n == 5 && !strcmp(ds.users.names[1], "2") &&
               !strcmp(ds.users.names[4], "33"));
    TEST_CHECK(ds.items.n == 3 && !strcmp(ds.items.names[2], "Heat (1995)"));
    TEST_CHECK(vocab_find(&ds.users, "33") == 4 && vocab_find(&ds.users, "99") == 0);
    int own_ok = 1;
    int64_t gsum = 0;
    for (size_t r = 0; r < ds.n_train; r++) {
        own_ok &= layout_user_owner(&ds.layout, (size_t)ds.train_user[r]) == ctx->rank;
        gsum += ds.train_gidx[r];
    }
    for (size_t r = 0; r < ds.n_valid; r++)
        own_ok &= layout_user_owner(&ds.layout, (size_t)ds.valid_user[r]) == ctx->rank;
    TEST_CHECK(own_ok);
    uint64_t counts[3] = {ds.n_train, ds.n_valid, (uint64_t)gsum};
    MPI_Allreduce(MPI_IN_PLACE, counts, 3, MPI_UINT64_T, MPI_SUM, ctx->comm);
    TEST_CHECK(counts[0] == 6 && counts[1] == 3 && counts[2] == 0 + 1 + 2 + 3 + 4 + 5);
    dataset_free(&ds);
}

/* A model whose item rows say who they are: item g, column c holds 100 g + c. */
static void fill_items(Model *m, const Layout *l, int rank)
{
    const size_t lo = layout_item_lo(l, rank), k = m->spec.k;
    for (size_t r = 0; r < m->n_items; r++) {
        for (size_t c = 0; c < k; c++)
            m->item_f[r * k + c] = (float)(100 * (lo + r) + c);
        m->item_b[r] = -(float)(lo + r);
    }
}

/* Gradient value of the rating at global position pos, column c. */
static float grad_of(int64_t pos, size_t c)
{
    return 1.0f / (float)(pos + 3) + (float)c;
}

static void check_gather_scatter(const Ctx *ctx, size_t n_items)
{
    const size_t k = 3;
    uint64_t no_users[1] = {0};
    Layout l;
    layout_init(&l, ctx->size, 1, n_items, no_users);
    ModelSpec spec = {MODEL_DOTBIAS, k, 1, 0.0f, 5.5f};
    Model m;
    model_init(&m, &spec, 0, layout_item_count(&l, ctx->rank));
    fill_items(&m, &l, ctx->rank);
    Exchange x;
    exchange_init(&x, ctx, &l, k);
    /* Rank 1 has no ratings in this batch; the others ask for repeated items. Rating j of
     * rank r sits at global position r + size * j. */
    const size_t n = ctx->rank == 1 ? 0 : 5 + (size_t)ctx->rank;
    int32_t item[8];
    int64_t pos[8];
    float irows[8 * 3], ibias[8], g[8 * 3], gb[8];
    for (size_t j = 0; j < n; j++) {
        item[j] = (int32_t)((j * 7 + (size_t)ctx->rank) % n_items);
        pos[j] = ctx->rank + (int64_t)ctx->size * (int64_t)j;
        for (size_t c = 0; c < k; c++)
            g[j * k + c] = grad_of(pos[j], c);
        gb[j] = grad_of(pos[j], 9);
    }
    exchange_gather_items(&x, irows, ibias, &m, item, n);
    int rows_ok = 1;
    for (size_t j = 0; j < n; j++) {
        for (size_t c = 0; c < k; c++)
            rows_ok &= irows[j * k + c] == (float)(100 * item[j] + (int32_t)c);
        rows_ok &= ibias[j] == -(float)item[j];
    }
    TEST_CHECK(rows_ok);
    exchange_scatter_item_grads(&x, &m, g, gb, item, pos, n);
    /* Expected: every contribution of every rank to each owned item, in position order. */
    const size_t lo = layout_item_lo(&l, ctx->rank);
    int grads_ok = 1;
    for (size_t r = 0; r < m.n_items; r++) {
        float want[3] = {0, 0, 0}, want_b = 0;
        for (int64_t p = 0; p < 8 * ctx->size; p++) {
            int src = (int)(p % ctx->size);
            size_t j = (size_t)(p / ctx->size), nsrc = src == 1 ? 0 : 5 + (size_t)src;
            if (j >= nsrc || (j * 7 + (size_t)src) % n_items != lo + r)
                continue;
            for (size_t c = 0; c < k; c++)
                want[c] += grad_of(p, c);
            want_b += grad_of(p, 9);
        }
        grads_ok &= !memcmp(want, m.g_item_f + r * k, sizeof want) && want_b == m.g_item_b[r];
    }
    TEST_CHECK(grads_ok);
    exchange_free(&x);
    model_free(&m);
    layout_free(&l);
}

/* Fixed-point sums: the job-wide total equals one rank's sum of all the terms. */
static void check_exact_sum(const Ctx *ctx)
{
    Exchange x;
    Layout l;
    uint64_t c[1] = {1};
    layout_init(&l, ctx->size, 1, 1, c);
    exchange_init(&x, ctx, &l, 1);
    ExactSum part = {0}, all = {0};
    for (int i = 0; i < 300; i++) {
        double term = 1.0 / (i + 1) + 1e-9 * i;
        exact_add(&all, term);
        if (i % ctx->size == ctx->rank)
            exact_add(&part, term);
    }
    int64_t flags[2] = {ctx->rank == 0, 1};
    exchange_allreduce_exact(&x, &part, 1, flags, 2);
    TEST_CHECK(flags[0] == 1 && flags[1] == ctx->size);
    TEST_CHECK(exact_value(&part) == exact_value(&all));
    ExactSum bad = {0};
    exact_add(&bad, ctx->rank == 0 ? -1.0 : 1.0);
    exchange_allreduce_exact(&x, &bad, 1, NULL, 0);
    TEST_CHECK(exact_value(&bad) == INFINITY);
    exchange_free(&x);
    layout_free(&l);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    Ctx ctx;
    ctx_init(&ctx);
    check_status_agree(&ctx);
    check_distribute(&ctx);
    check_gather_scatter(&ctx, 7); /* uneven blocks */
    check_gather_scatter(&ctx, 2); /* more ranks than items at -np 3 */
    check_exact_sum(&ctx);
    int failed = test_failures, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, ctx.comm);
    char name[32];
    snprintf(name, sizeof name, "mpi_exchange[%d/%d]", ctx.rank, ctx.size);
    int rc = test_done(name);
    ctx_free(&ctx);
    MPI_Finalize();
    return any ? 1 : rc;
}
