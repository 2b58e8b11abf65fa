/* train_guard.c - what keeps a training run from failing late: the memory estimate made
 * before the trainer allocates (so tables that do not fit are refused at once, with the
 * numbers, instead of the kernel killing the job an hour in), and the check that every
 * parameter is finite before it is written (so a diverged model never replaces a good
 * checkpoint). */
#include "config.h"

#include <math.h>

#include "collab/base/check.h"
#include "collab/train/train.h"

/* Parameters of this rank's rows and of the replicated MODEL_NN head, as model_init will
 * allocate them; *head gets the head's layout (zeroed for the other models). */
static uint64_t param_count(const TrainConfig *cfg, const Layout *l, int rank, NNLayout *head)
{
    ModelSpec s = cfg->model;
    model_nn_sizes(&s, l->n_users, l->n_items);
    const int nn = s.kind == MODEL_NN, bias = s.kind == MODEL_DOTBIAS;
    const uint64_t ku = nn ? s.k_user : s.k;
    *head = (NNLayout){0};
    if (nn)
        nn_layout(head, ku + s.k, s.layers, s.n_layers, s.use_bn);
    return layout_user_count(l, rank) * (ku + bias) + layout_item_count(l, rank) * (s.k + bias) +
           head->n_params;
}

/* Bytes of the batch and validation workspace, the head's and the exchange's buffers. */
static uint64_t buffer_bytes(const Dataset *ds, const TrainConfig *cfg, const NNLayout *head,
                             uint64_t rows)
{
    const uint64_t k = cfg->model.k, bs = cfg->bs, cap = bs > VALID_CHUNK ? bs : VALID_CHUNK;
    if (cfg->blocks) /* (blocks.h) cells and the user order they are cut from; the item
                      * blocks; the stage and the pack, at most every item row each; the
                      * validation workspace and the exchange's indices */
        return (uint64_t)ds->n_train * 16 + (uint64_t)ds->layout.n_items * 36 +
               2 * ((uint64_t)ds->layout.n_items + 1) * (k + 19) * sizeof(float) +
               (uint64_t)cfg->blocks * ((uint64_t)ds->layout.nranks + 3) * 8 +
               (uint64_t)cfg->blocks * (uint64_t)cfg->blocks / (uint64_t)ds->layout.nranks * 8 +
               VALID_CHUNK * (21 + 4 * (k + 1) * sizeof(float)) +
               ((uint64_t)ds->layout.n_items + rows) * 8;
    uint64_t b = (uint64_t)ds->n_train * 24 +               /* batch order, shuffle */
                 (ds->n_train_total / bs + 1) * 8 +         /* batch starts */
                 cap * (21 + 4 * (k + 1) * sizeof(float)) + /* workspace, slot rows */
                 ((uint64_t)ds->layout.n_items + rows) * 8; /* exchange indices */
    if (!optim_is_sparse(cfg->optim.kind))                  /* per-rating item rows */
        b += bs * (2 * k * sizeof(float) + 24);
    if (head->n_params) { /* activations of every layer, inputs and their gradients */
        const uint64_t nc = bs > NN_EVAL_ROWS ? bs : NN_EVAL_ROWS, w = head->max_width;
        uint64_t widths = 0;
        for (size_t i = 0; i < head->n_layers; i++)
            widths += head->width[i];
        b += (nc * (2 * widths + 2 * w + head->n_in + 1) + 2 * bs * head->n_in + w * w) *
             sizeof(float);
    }
    return b;
}

void trainer_memory_need(MemNeed *need, const Dataset *ds, const TrainConfig *cfg, int rank,
                         int lr_find)
{
    const Layout *l = &ds->layout;
    NNLayout head;
    const uint64_t n = param_count(cfg, l, rank, &head), params = n * sizeof(float);
    const uint64_t rows = layout_user_count(l, rank) + layout_item_count(l, rank);
    const OptimKind kind = cfg->optim.kind;
    need->tables = 2 * params + head.n_stats * sizeof(float); /* parameters, gradients */
    need->optimizer = 0;
    if (kind == OPTIM_ADAM || kind == OPTIM_SGD || kind == OPTIM_SPARSE_ADAM)
        need->optimizer += params; /* first moment */
    if (kind == OPTIM_ADAM || kind == OPTIM_SPARSE_ADAM)
        need->optimizer += params; /* second moment */
    if (optim_is_sparse(kind))     /* decay products and stamps; Adagrad's accumulators */
        need->optimizer += rows * (16 + (kind == OPTIM_ADAGRAD ? 8 : 0));
    need->buffers = buffer_bytes(ds, cfg, &head, rows);
    if (lr_find) /* copies of the model and the optimizer, restored afterwards */
        need->buffers += params + need->optimizer;
}

int trainer_params_finite(const Trainer *t)
{
    int ok = 1;
    for (size_t i = 0; i < t->model.n_params && ok; i++)
        ok = isfinite(t->model.params[i]);
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, t->ctx->comm));
    return ok;
}
