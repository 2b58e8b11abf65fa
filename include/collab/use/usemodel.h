/* usemodel.h - what every command that uses a trained model does first: open and
 * validate the model file, rebuild the training data and split from the settings stored
 * in it (when the command needs them), and shard the model over the ranks; then the
 * lookups the commands share (users, items by ID or title, rating counts).
 *
 * The training data is rebuilt exactly as train built it (by the caller's loader, which
 * reads the stored data options; --data may point at a moved copy) and must match the model: same
 * vocabularies and the same fingerprint of every rating and its split. Each rank then
 * holds its users' training and validation ratings, and the model rows of the same users,
 * so a user's ratings and row are on one rank. All functions are collective unless marked
 * local, and every error is agreed by all ranks and printed once by rank 0. */
#ifndef COLLAB_USEMODEL_H
#define COLLAB_USEMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "collab/use/infer.h"
#include "collab/store/modelfile.h"

/* The training run's data and split, as stored in the model file's settings (for
 * messages and for picks seeded like the run). Strings point into the ModelFile or the
 * caller's settings. */
typedef struct UseTrainInfo {
    const char *data; /* the training data's path, NULL for the embedded data */
    double valid_pct;
    int64_t seed;
    int64_t folds, fold; /* --folds K --fold I, 0 0 when the split was --valid-pct's */
} UseTrainInfo;

/* Rebuilds the training data of model file mf (data, when not NULL, replaces the stored
 * path) into ds and fills info. Collective; returns the agreed status. The use layer does
 * not know the command line's option tables, so the caller (cli/setup.c) supplies it. */
typedef int (*UseLoadFn)(Dataset *ds, UseTrainInfo *info, const Ctx *ctx, const ModelFile *mf,
                         const char *data, Status *st);

/* What a command asks of usemodel_open. */
typedef struct UseSettings {
    const char *model_file; /* a model file (train --output) or a checkpoint; required */
    const char *data;       /* where the training data is now, or NULL: the stored path */
    int with_data;          /* 1: rebuild the training data (each rank its users) */
    UseLoadFn load;         /* how to rebuild it (with_data) */
} UseSettings;

typedef struct UseModel {
    const Ctx *ctx;
    ModelFile mf;
    UseTrainInfo train; /* the training run's data and split (has_data) */
    int has_data;       /* ds holds the training data */
    Dataset ds;         /* this rank's shard of the training data (has_data) */
    Infer in;           /* the model, sharded */
} UseModel;

/* Opens s->model_file (usage error when absent), loads the training data when
 * s->with_data, and shards the model. Prints the error (rank 0) and returns its status
 * (1 data, 2 usage) on every rank; u is freeable either way. */
int usemodel_open(UseModel *u, const Ctx *ctx, const UseSettings *s);
void usemodel_free(UseModel *u);

/* The user with vocabulary entry id, or 0 (#na#) when the model does not know it. Local. */
int32_t usemodel_user(const UseModel *u, const char *id);

/* An item named by query: its vocabulary entry (ID, or title for a title-keyed model),
 * else an exact title, else the titles (or entries) containing query, ignoring ASCII case.
 * Returns the item, or 0 when none matches or several do; then cand (size cap) holds up
 * to cap of the matches and *n_cand their number. Local. */
int32_t usemodel_find_item(const UseModel *u, const char *query, int32_t *cand, size_t cap,
                           size_t *n_cand);

/* Ratings of each item (n_items, replicated): training rows, and validation rows too when
 * with_valid. Needs the training data. */
void usemodel_item_counts(const UseModel *u, int64_t *counts, int with_valid);

/* The items rated by each of this rank's users, sorted, in CSR form: rated + start[u -
 * user_lo] .. start[u - user_lo + 1]. Training rows, and validation rows when with_valid.
 * start has (users held + 1) entries. Local; caller frees both. */
void usemodel_rated(const UseModel *u, int with_valid, size_t **start, int32_t **rated);

/* What to show for item i: its title, else its entry. Local. */
const char *usemodel_item_label(const UseModel *u, size_t i);

/* Item i for a listing, in buf (size len): the title, followed by " [ID]" when items are
 * keyed by ID and the title is known. Returns buf. Local. */
const char *usemodel_item_text(const UseModel *u, size_t i, char *buf, size_t len);

#endif
