/* metrics_file.h - the per-epoch record of a training run, and the metrics file that
 * stores one per finished epoch (train prints the same record as its epoch table,
 * train/metrics.h). */
#ifndef COLLAB_METRICS_FILE_H
#define COLLAB_METRICS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/status.h"

/* One finished epoch, as printed and as stored. */
typedef struct EpochRow {
    int epoch;            /* 0-based, as fastai prints it */
    double train_loss;    /* smoothed, as fastai's recorder prints it */
    double valid_loss;    /* exact MSE over the validation rows (NaN: no validation) */
    double valid_mae;     /* mean absolute error over the validation rows */
    double seconds;       /* wall time of train + validation */
    double lr, mom;       /* at the epoch's last batch */
    double train_seconds; /* training part of seconds */
    double exchange_seconds, update_seconds, compute_seconds; /* of training, rank 0 */
    double imbalance; /* max over ranks / mean of the training compute+update time */
    uint64_t exchange_bytes, exchange_messages; /* summed over ranks */
} EpochRow;

/* The metrics file: a serial HDF5 file kept by rank 0 in SWMR mode, so another process
 * (h5py with swmr=True, h5dump) can read it while training runs. Dataset "epochs" is a
 * table with one row per finished epoch (layout in docs/FORMAT.md). All functions are
 * rank-0-only and local; other ranks do not call them. */
typedef struct MetricsFile {
    int64_t file, table; /* HDF5 ids; -1 when closed */
    char path[1024];
} MetricsFile;

/* Creates path, or opens it and drops rows of epochs >= first_epoch (a resumed run
 * rewrites them), then starts SWMR writing. */
int metrics_file_open(MetricsFile *m, const char *path, int first_epoch, Status *st);
/* Appends one row and flushes it so readers see it. */
int metrics_file_append(MetricsFile *m, const EpochRow *row, Status *st);
void metrics_file_close(MetricsFile *m);

/* Reads every row of the metrics file at path (a finished run's, or one being written)
 * into *rows (allocated, *n of them; free() it). The fields the file keeps are set
 * (epoch, train_loss, valid_loss, valid_mae, lr, mom, seconds, exchange_seconds, the
 * exchange counters, imbalance); the others are 0. Returns STATUS_OK, or STATUS_DATA
 * with st naming the file. */
int metrics_file_read(const char *path, EpochRow **rows, size_t *n, Status *st);

/* Writes the lr_find curve (group "lr_find": datasets lr, loss; attributes suggestion,
 * method, interrupted) into path, creating the file if needed. */
int metrics_file_lr_find(const char *path, const double *lrs, const double *losses, size_t n,
                         const char *method, double suggestion, int interrupted, Status *st);

#endif
