/* params.c - a trained model's parameters as the files hold them: the named tables of
 * checkpoints and model files, cut from the model's and the optimizer's flat buffers
 * with each rank's global row range, and the raw float32 dump (--dump-params) written
 * from the same list. */
#include "config.h"

#include "collab/store/params.h"

#include <stdio.h>

#include "collab/base/check.h"

/* A float32 table: this rank's rows [row0, row0 + rows) of total, width values each. */
static CkptTable table_f32(const char *name, float *data, size_t rows, size_t row0, size_t total,
                           size_t width)
{
    return (CkptTable){.name = name,
                       .data = data,
                       .rows = rows,
                       .row0 = row0,
                       .total = total,
                       .width = width,
                       .elem = CKPT_F32};
}

/* The sparse optimizers' per-row state: Adagrad's accumulators, the decay products. */
static size_t sparse_tables(CkptTable *tables, const Optim *opt, const Layout *l, int rank)
{
    static const char *const acc_names[2][2] = {
        {"optimizer/acc/user_factors", "optimizer/acc/user_bias"},
        {"optimizer/acc/item_factors", "optimizer/acc/item_bias"}};
    static const char *const decay_names[2] = {"optimizer/decay/users", "optimizer/decay/items"};
    const size_t row0[2] = {layout_user_lo(l, rank), layout_item_lo(l, rank)};
    const size_t total[2] = {l->n_users, l->n_items};
    size_t n = 0;
    for (size_t gi = 0; gi < opt->n_groups; gi++) {
        const size_t rows = opt->group[gi].rows;
        for (int i = 0; i < 2; i++)
            if (opt->acc[gi][i])
                tables[n++] =
                    table_f32(acc_names[gi][i], opt->acc[gi][i], rows, row0[gi], total[gi], 1);
        tables[n++] = (CkptTable){.name = decay_names[gi],
                                  .rows = rows,
                                  .row0 = row0[gi],
                                  .total = total[gi],
                                  .width = 1,
                                  .data_f64 = opt->decay_at[gi],
                                  .elem = CKPT_F64};
    }
    return n;
}

/* MODEL_NN's replicated tables: the dense head (and its moments), the BatchNorm running
 * statistics. Rank 0 writes and reads them whole (the other ranks hold 0 rows of them);
 * trainer_share_replicated hands them to every rank after a read. */
static size_t nn_tables(CkptTable *tables, const Model *m, float *const base[3], int rank,
                        int with_optimizer)
{
    static const char *const names[3] = {"model/nn_params", "optimizer/m/nn_params",
                                         "optimizer/v/nn_params"};
    const size_t np = m->nn.n_params, ns = m->nn.n_stats, r0 = rank == 0;
    const size_t off = (size_t)(m->dense - m->params);
    size_t n = 0;
    for (int s = 0; s < (with_optimizer ? 3 : 1); s++)
        if (base[s])
            tables[n++] = table_f32(names[s], base[s] + off, r0 ? np : 0, 0, np, 1);
    if (ns)
        tables[n++] = table_f32("model/nn_stats", m->stats, r0 ? ns : 0, 0, ns, 1);
    return n;
}

size_t params_tables(CkptTable *tables, const Model *m, const Optim *opt, const Layout *l, int rank,
                     int with_optimizer)
{
    const size_t k = m->spec.k, ulo = layout_user_lo(l, rank), ilo = layout_item_lo(l, rank);
    static const char *const names[3][4] = {
        {"model/user_factors", "model/user_bias", "model/item_factors", "model/item_bias"},
        {"optimizer/m/user_factors", "optimizer/m/user_bias", "optimizer/m/item_factors",
         "optimizer/m/item_bias"},
        {"optimizer/v/user_factors", "optimizer/v/user_bias", "optimizer/v/item_factors",
         "optimizer/v/item_bias"}};
    float *const base[3] = {m->params, with_optimizer ? opt->m : NULL,
                            with_optimizer ? opt->v : NULL};
    size_t n = 0;
    for (int s = 0; s < (with_optimizer ? 3 : 1); s++) {
        if (!base[s])
            continue; /* SGD has no second moment */
        /* The optimizer state has the model's flat layout: same offsets as params. */
        float *at[4] = {base[s] + (m->user_f - m->params),
                        m->user_b ? base[s] + (m->user_b - m->params) : NULL,
                        base[s] + (m->item_f - m->params),
                        m->item_b ? base[s] + (m->item_b - m->params) : NULL};
        const size_t rows[4] = {m->n_users, m->n_users, m->n_items, m->n_items};
        const size_t row0[4] = {ulo, ulo, ilo, ilo};
        const size_t total[4] = {l->n_users, l->n_users, l->n_items, l->n_items};
        const size_t width[4] = {m->ku, 1, k, 1};
        for (int i = 0; i < 4; i++)
            if (at[i])
                tables[n++] = table_f32(names[s][i], at[i], rows[i], row0[i], total[i], width[i]);
    }
    if (m->dense)
        n += nn_tables(tables + n, m, base, rank, with_optimizer);
    if (with_optimizer)
        n += sparse_tables(tables + n, opt, l, rank);
    return n;
}

/* ------------------------------------------------------------------ parameter dump */

/* Writes count floats at element offset `at` of the file, collectively. */
static int dump_table(MPI_File f, const float *data, size_t count, size_t at)
{
    MPI_Status status;
    return MPI_File_write_at_all(f, (MPI_Offset)(at * sizeof(float)), data, (int)count, MPI_FLOAT,
                                 &status);
}

int params_dump(const Model *m, const Layout *l, const Ctx *ctx, const char *path, char *msg,
                size_t msg_len)
{
    CkptTable tables[PARAMS_MAX_TABLES];
    const size_t n = params_tables(tables, m, NULL, l, ctx->rank, 0);
    MPI_File f;
    if (ctx->rank == 0)
        MPI_File_delete(path, MPI_INFO_NULL); /* truncate: the file is rewritten whole */
    CHECK_MPI(MPI_Barrier(ctx->comm));
    int rc = MPI_File_open(ctx->comm, path, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &f);
    if (rc == MPI_SUCCESS) {
        /* Each table whole, one after another: this rank's rows at their global place. */
        for (size_t i = 0, base = 0; i < n; base += tables[i].total * tables[i].width, i++)
            rc |= dump_table(f, tables[i].data, tables[i].rows * tables[i].width,
                             base + tables[i].row0 * tables[i].width);
        rc |= MPI_File_close(&f);
    }
    int bad = rc != MPI_SUCCESS;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, ctx->comm));
    if (bad)
        snprintf(msg, msg_len, "cannot write '%s' (MPI-IO failed; is the folder writable?)", path);
    return bad ? -1 : 0;
}
