/* params.h - a trained model's parameters as collab-mpi's files hold them: the tables
 * of a checkpoint or model file (their dataset names, shapes and each rank's rows of
 * them; docs/FORMAT.md), and the raw float32 dump of --dump-params.
 *
 * The model and optimizer keep one flat buffer each (model.h, optim.h); this is the one
 * place that cuts them into named tables, so the writer (ckpt_write) and the reader
 * (ckpt_read, for --resume) see the same list. */
#ifndef COLLAB_PARAMS_H
#define COLLAB_PARAMS_H

#include <stddef.h>

#include "collab/base/ctx.h"
#include "collab/data/shard.h"
#include "collab/model/model.h"
#include "collab/model/optim.h"
#include "collab/store/checkpoint.h"

/* Room for every table params_tables lists, whatever the model and optimizer. */
enum { PARAMS_MAX_TABLES = 16 };

/* Fills tables (room for PARAMS_MAX_TABLES) with rank's rows of m's tables and, with
 * with_optimizer, of opt's, in this order: user factors, user bias, item factors and item
 * bias of the parameters, then of the first and of the second moment; for MODEL_NN the
 * replicated dense head (then its moments) and its BatchNorm statistics, all of whose
 * rows rank 0 holds (the others none); then the sparse optimizers' Adagrad accumulators
 * and per-row decay products. Row ranges are rank's in l (m as model_init made it for
 * rank); opt may be NULL without with_optimizer. The tables point into m and opt, which
 * keep owning the memory; a read fills them in place. Returns the count, the same on
 * every rank. Local. */
size_t params_tables(CkptTable *tables, const Model *m, const Optim *opt, const Layout *l, int rank,
                     int with_optimizer);

/* Writes m's tables (params_tables without the optimizer) back to back as raw native
 * float32 to path, each table whole in vocabulary order, each rank its own rows
 * (MPI-IO); the file is rewritten whole. Returns 0, or -1 on every rank with msg (size
 * msg_len) saying why. Collective over ctx. */
int params_dump(const Model *m, const Layout *l, const Ctx *ctx, const char *path, char *msg,
                size_t msg_len);

#endif
