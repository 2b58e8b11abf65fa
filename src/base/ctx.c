/* ctx.c - the communicator context (base/ctx.h). */
#include "config.h"

#include "collab/base/ctx.h"

#include "collab/base/check.h"

void ctx_init(Ctx *ctx)
{
    CHECK_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &ctx->comm));
    CHECK_MPI(MPI_Comm_set_errhandler(ctx->comm, MPI_ERRORS_RETURN));
    CHECK_MPI(MPI_Comm_rank(ctx->comm, &ctx->rank));
    CHECK_MPI(MPI_Comm_size(ctx->comm, &ctx->size));
    ctx->watch = NULL;
}

void ctx_split(Ctx *out, const Ctx *parent, int color, int key)
{
    CHECK_MPI(MPI_Comm_split(parent->comm, color, key, &out->comm));
    CHECK_MPI(MPI_Comm_set_errhandler(out->comm, MPI_ERRORS_RETURN));
    CHECK_MPI(MPI_Comm_rank(out->comm, &out->rank));
    CHECK_MPI(MPI_Comm_size(out->comm, &out->size));
}

void ctx_free(Ctx *ctx)
{
    if (ctx->comm != MPI_COMM_NULL)
        MPI_Comm_free(&ctx->comm);
}
