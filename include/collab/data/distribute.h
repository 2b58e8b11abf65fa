/* distribute.h - from the ratings files to every rank's shard.
 *
 * After loading, each rank's Dataset holds the vocabularies and titles (small,
 * replicated), the layout (who owns which user and item), and only the training and
 * validation ratings of the users it owns, in file order, with each training rating's
 * global index among all training rows (which keys its place in every epoch's batch
 * order).
 *
 * Two ways there, with the same result field for field at any number of ranks:
 * dataset_load (every rank reads its own byte range of the files; no rank holds more than
 * about its share of the ratings) and dataset_load_serial (rank 0 reads everything, then
 * dataset_distribute scatters it; kept as the reference). */
#ifndef COLLAB_DISTRIBUTE_H
#define COLLAB_DISTRIBUTE_H

#include <mpi.h>
#include <stdint.h>

#include "collab/data/dataset.h"
#include "collab/data/split.h"
#include "collab/base/status.h"

/* Collective: every rank reads and parses its own part of the ratings file(s) named by
 * opt and sp, and ends with its shard. Errors are the serial reader's (file, line,
 * expectation), agreed by every rank. Returns the agreed status; ds is zeroed on error. */
int dataset_load(Dataset *ds, const DataOptions *opt, const SplitSpec *sp, MPI_Comm comm,
                 Status *st);

/* Collective, the reference path: rank 0 reads (data_read), splits and encodes
 * (dataset_build_take), every rank agrees on the outcome, and dataset_distribute
 * scatters the rows. Returns the agreed status; ds is zeroed on error. */
int dataset_load_serial(Dataset *ds, const DataOptions *opt, const SplitSpec *sp, MPI_Comm comm,
                        Status *st);

/* Collective. On entry rank 0's ds is the whole encoded dataset (dataset_build) and the
 * others' are zeroed; on return every rank holds its shard. */
void dataset_distribute(Dataset *ds, MPI_Comm comm);
/* The same with users cut into nblocks blocks first (layout_init_blocks; 0: none). */
void dataset_distribute_blocks(Dataset *ds, int nblocks, MPI_Comm comm);

/* Collective: gathers to rank 0, in global position order, the training ratings whose
 * position in epoch `epoch` is below n: users, items and ratings (n each; only rank 0's
 * arrays are written). The batch order is the trainer's (train_order). */
void dataset_gather_first(int32_t *user, int32_t *item, float *rating, const Dataset *ds,
                          uint64_t seed, int epoch, size_t n, MPI_Comm comm);

#endif
