/* dataset.h - the encoded dataset every subcommand trains and evaluates on: ratings
 * encoded through the vocabularies, split into training and validation rows, and (after
 * dataset_distribute, distribute.h) each rank's shard of them with the layout. */
#ifndef COLLAB_DATASET_H
#define COLLAB_DATASET_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/data/ratings.h"
#include "collab/data/shard.h"
#include "collab/data/vocab.h"

/* The encoded dataset every subcommand trains and evaluates on. */
typedef struct Dataset {
    Vocab users;        /* from the training rows */
    Vocab items;        /* from the training rows; from all rows when items are
                           titles (fastai's categorical-dtype behaviour) */
    char **item_titles; /* (items.n) display title per item, NULL entries allowed */
    size_t n_train;
    int32_t *train_user; /* (n_train) vocab index */
    int32_t *train_item; /* (n_train) */
    float *train_rating; /* (n_train) */
    size_t n_valid;
    int32_t *valid_user; /* (n_valid) vocab index, 0 when unseen in training */
    int32_t *valid_item; /* (n_valid) */
    float *valid_rating; /* (n_valid) */
    double train_mean;   /* mean training rating: the exact sum rounded once (FloatSum),
                            divided by n_train_total, so the same at any -np */
    /* Set by dataset_distribute (distribute.h); after it, the row arrays above hold only
     * this rank's users' ratings. */
    int64_t *train_gidx;  /* (n_train) index among all training rows, in file order */
    size_t n_train_total; /* training rows over all ranks */
    size_t n_valid_total; /* validation rows over all ranks */
    Layout layout;        /* who owns which user and item */
} Dataset;

/* Encodes r into ds with is_valid[i] marking validation rows (NULL: none). Train and
 * validation rows keep file order. Local. */
void dataset_build(Dataset *ds, const Ratings *r, const uint8_t *is_valid, int item_by_title);

/* As dataset_build, but takes r's row arrays over instead of copying them (r's rows are
 * gone afterwards; its keys stay): the whole dataset is held only once. Local. */
void dataset_build_take(Dataset *ds, Ratings *r, const uint8_t *is_valid, int item_by_title);

/* Collective: rank root's ds is copied to every rank of comm. */
void dataset_bcast(Dataset *ds, int root, MPI_Comm comm);

/* Frees ds; safe on a zeroed or partly filled Dataset. */
void dataset_free(Dataset *ds);

#endif
