/* metrics.h - the per-epoch table fastai prints, and a live progress bar.
 * Rank 0 prints; the other ranks' calls do nothing. */
#ifndef COLLAB_METRICS_H
#define COLLAB_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collab/base/status.h"

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

/* This process's peak resident memory in MB (VmHWM). Local. */
double metrics_peak_rss_mb(void);

/* Prints the header "epoch  train_loss  valid_loss  time". */
void metrics_print_header(FILE *f);
/* Prints one row, time as mm:ss like fastai (and seconds with --verbose). */
void metrics_print_row(FILE *f, const EpochRow *row, int verbose);

/* A progress bar on a terminal: one line redrawn with \r, cleared before other output. */
typedef struct Progress {
    int enabled;   /* 1 only on rank 0 with a terminal (or forced) */
    int64_t total; /* batches in the current phase */
    int64_t shown; /* last drawn step, to redraw at most ~100 times */
    double t0;
    char label[32];
} Progress;

void progress_start(Progress *p, int enabled, const char *label, int64_t total);
void progress_update(Progress *p, int64_t done, double loss);
/* Erases the bar so the next line prints cleanly. */
void progress_clear(Progress *p);

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

/* Writes the lr_find curve (group "lr_find": datasets lr, loss; attributes suggestion,
 * method, interrupted) into path, creating the file if needed. */
int metrics_file_lr_find(const char *path, const double *lrs, const double *losses, size_t n,
                         const char *method, double suggestion, int interrupted, Status *st);

#endif
