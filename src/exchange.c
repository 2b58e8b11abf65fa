/* exchange.c - the MPI seam of the training step (replicated version: every rank holds
 * every row, so moving rows is a copy and partial sums are already whole). */
#include "config.h"

#include "collab/exchange.h"

#include <string.h>

#include "collab/check.h"

void ctx_init(Ctx *ctx)
{
    CHECK_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &ctx->comm));
    CHECK_MPI(MPI_Comm_set_errhandler(ctx->comm, MPI_ERRORS_RETURN));
    CHECK_MPI(MPI_Comm_rank(ctx->comm, &ctx->rank));
    CHECK_MPI(MPI_Comm_size(ctx->comm, &ctx->size));
}

void ctx_free(Ctx *ctx)
{
    if (ctx->comm != MPI_COMM_NULL)
        MPI_Comm_free(&ctx->comm);
}

void exchange_init(Exchange *x, const Ctx *ctx)
{
    memset(x, 0, sizeof *x);
    x->ctx = ctx;
}

void exchange_reset_counters(Exchange *x)
{
    x->bytes = 0;
    x->messages = 0;
    x->seconds = 0.0;
}

void exchange_gather_items(Exchange *x, float *irows, float *ibias, const Model *m,
                           const int32_t *item, size_t n)
{
    const double t0 = MPI_Wtime();
    const size_t k = m->spec.k;
    for (size_t j = 0; j < n; j++) {
        memcpy(irows + j * k, m->item_f + (size_t)item[j] * k, k * sizeof(float));
        if (m->item_b)
            ibias[j] = m->item_b[item[j]];
    }
    x->seconds += MPI_Wtime() - t0;
}

void exchange_scatter_item_grads(Exchange *x, Model *m, const float *g_irows,
                                 const float *g_ibias, const int32_t *item, size_t n)
{
    const double t0 = MPI_Wtime();
    const size_t k = m->spec.k;
    for (size_t j = 0; j < n; j++) {
        float *g = m->g_item_f + (size_t)item[j] * k;
        const float *d = g_irows + j * k;
        for (size_t c = 0; c < k; c++)
            g[c] += d[c];
        if (m->g_item_b)
            m->g_item_b[item[j]] += g_ibias[j];
    }
    x->seconds += MPI_Wtime() - t0;
}

double exchange_sum(Exchange *x, double local)
{
    (void)x;
    return local;
}
