/* mpi_exchange.c - the MPI seam at 1, 2 and 3 ranks: errors agreed by every rank, the
 * dataset broadcast, and the gather/scatter/sum of the training step. */
#include "config.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "collab/data.h"
#include "collab/exchange.h"
#include "collab/status.h"
#include "test.h"

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

/* Rank 0 builds a small dataset in memory; all ranks must receive the same. */
static void check_dataset_bcast(const Ctx *ctx)
{
    static char *users[] = {"10", "2", "33"}, *items[] = {"Alien (1979)", "Heat (1995)"};
    int32_t u[] = {0, 1, 2, 0, 1}, i[] = {0, 1, 0, 1, 0};
    float y[] = {4, 3.5f, 5, 1, 2};
    uint8_t valid[] = {0, 0, 0, 1, 1};
    Dataset ds;
    memset(&ds, 0, sizeof ds);
    if (ctx->rank == 0) {
        Ratings r = {.n = 5, .user = u, .item = i, .rating = y, .n_user_keys = 3,
                     .user_keys = users, .n_item_keys = 2, .item_keys = items};
        dataset_build(&ds, &r, valid, 1);
    }
    dataset_bcast(&ds, 0, ctx->comm);
    TEST_CHECK(ds.n_train == 3 && ds.n_valid == 2);
    TEST_CHECK(ds.users.n == 4 && ds.items.n == 3);
    TEST_CHECK(ds.users.n == 4 && !strcmp(ds.users.names[1], "2") &&
               !strcmp(ds.users.names[3], "33"));
    TEST_CHECK(ds.items.n == 3 && !strcmp(ds.items.names[2], "Heat (1995)"));
    TEST_CHECK(ds.n_train == 3 && ds.train_rating[2] == 5.0f);
    TEST_CHECK(vocab_find(&ds.users, "33") == 3 && vocab_find(&ds.users, "99") == 0);
    dataset_free(&ds);
}

/* Gather copies each rating's item row; scatter adds per-rating gradients in order. */
static void check_gather_scatter(const Ctx *ctx)
{
    ModelSpec spec = {MODEL_DOTBIAS, 3, 1, 0.0f, 5.5f};
    Model m;
    model_init(&m, &spec, 2, 4);
    for (size_t c = 0; c < m.n_params; c++)
        m.params[c] = (float)c;
    Exchange x;
    exchange_init(&x, ctx);
    int32_t item[] = {3, 1, 3};
    float irows[9], ibias[3];
    exchange_gather_items(&x, irows, ibias, &m, item, 3);
    TEST_CHECK(irows[0] == m.item_f[9] && irows[5] == m.item_f[5] && irows[8] == m.item_f[11]);
    TEST_CHECK(ibias[0] == m.item_b[3] && ibias[1] == m.item_b[1]);
    float g[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, gb[3] = {0.5f, 0.25f, 0.125f};
    exchange_scatter_item_grads(&x, &m, g, gb, item, 3);
    TEST_CHECK(m.g_item_f[9] == 8 && m.g_item_f[10] == 10 && m.g_item_f[11] == 12);
    TEST_CHECK(m.g_item_f[3] == 4 && m.g_item_f[0] == 0);
    TEST_CHECK(m.g_item_b[3] == 0.625f && m.g_item_b[1] == 0.25f);
    TEST_CHECK(exchange_sum(&x, 2.5) == 2.5);
    model_free(&m);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    Ctx ctx;
    ctx_init(&ctx);
    check_status_agree(&ctx);
    check_dataset_bcast(&ctx);
    check_gather_scatter(&ctx);
    int failed = test_failures, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, ctx.comm);
    char name[32];
    snprintf(name, sizeof name, "mpi_exchange[%d/%d]", ctx.rank, ctx.size);
    int rc = test_done(name);
    ctx_free(&ctx);
    MPI_Finalize();
    return any ? 1 : rc;
}
