/* distribute.h - from rank 0's parsed dataset to every rank's shard.
 *
 * After dataset_distribute, each rank's Dataset holds the vocabularies and titles (small,
 * replicated), the layout (who owns which user and item), and only the training and
 * validation ratings of the users it owns, with each training rating's global index
 * among all training rows (which keys its place in every epoch's batch order). */
#ifndef COLLAB_DISTRIBUTE_H
#define COLLAB_DISTRIBUTE_H

#include <mpi.h>

#include "collab/data.h"

/* Collective. On entry rank 0's ds is the whole encoded dataset (dataset_build) and the
 * others' are zeroed; on return every rank holds its shard. Rank 0 parses and scatters
 * for now: a prepared-file reader will let each rank read its own rows. */
void dataset_distribute(Dataset *ds, MPI_Comm comm);

/* Collective: gathers to rank 0, in global position order, the training ratings whose
 * position in epoch `epoch` is below n: users, items and ratings (n each; only rank 0's
 * arrays are written). The batch order is the trainer's (train_order). */
void dataset_gather_first(int32_t *user, int32_t *item, float *rating, const Dataset *ds,
                          uint64_t seed, int epoch, size_t n, MPI_Comm comm);

#endif
