/* sweep_file.h - the files of a sweep (collab-mpi sweep): one record per finished trial,
 * written by the first rank of the group that trained it, and the sweep's table, written
 * by rank 0 from the records. Serial HDF5 (each file has one writer); written through a
 * temporary name and renamed, so a record that exists is complete. Layouts:
 * docs/FORMAT.md. All functions are local. */
#ifndef COLLAB_SWEEP_FILE_H
#define COLLAB_SWEEP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/status.h"

enum {
    SWEEP_TEXT = 256, /* a configuration's settings as text, with the NUL */
    SWEEP_MSG = 512   /* a failed trial's message, with the NUL */
};

/* Where a trial stands. */
typedef enum TrialStatus { TRIAL_PENDING = 0, TRIAL_DONE = 1, TRIAL_FAILED = 2 } TrialStatus;

/* One trial: one configuration trained on one fold, and what came of it. */
typedef struct TrialRecord {
    int32_t config, fold; /* indices into the sweep's configurations and folds */
    TrialStatus status;
    char settings[SWEEP_TEXT]; /* the configuration, e.g. "lr=0.003 wd=0.1" */
    char message[SWEEP_MSG];   /* why it failed; "" otherwise */
    size_t n_epochs;           /* epochs finished (all of them when done) */
    double *valid_loss;        /* (n_epochs) validation MSE after each epoch */
    double *valid_mae;         /* (n_epochs) validation MAE */
    double *train_loss;        /* (n_epochs) smoothed training loss */
    double *seconds;           /* (n_epochs) training and validation time of each epoch */
    double wall_seconds;       /* the trial's wall time in the job that finished it */
} TrialRecord;

/* A configuration over its folds (train/sweep.h computes it). */
typedef struct ConfigSummary {
    int32_t config;
    char settings[SWEEP_TEXT];
    int32_t done, failed, pending; /* its trials by status */
    double mean, sd;               /* of the metric over the done folds (sd: n - 1; NaN below 2) */
    double best_epoch;             /* mean over the done folds of the epoch with the lowest MSE */
    double seconds;                /* mean over the done folds of the epochs' time */
    int32_t rank;                  /* 1 = best; 0 when no fold is done */
} ConfigSummary;

/* What the table's root attributes say about the sweep. */
typedef struct SweepInfo {
    const char *metric; /* "rmse" or "mae": of the last epoch, averaged over folds */
    const char *folds;  /* how the folds were made, e.g. "5 folds by --seed 42" */
    int32_t n_folds, ranks_per_trial, groups;
    int complete; /* 1 when no trial is pending */
} SweepInfo;

/* Frees r's arrays; safe on a zeroed record. */
void sweep_record_free(TrialRecord *r);

/* Writes r to path (through path.tmp, then rename). Returns STATUS_OK, or STATUS_DATA
 * with st naming the file. */
int sweep_record_write(const char *path, const TrialRecord *r, Status *st);

/* Reads the record at path into r (allocated; sweep_record_free). Returns STATUS_OK, or
 * STATUS_DATA with st naming the file and what is wrong (r is then zeroed). */
int sweep_record_read(const char *path, TrialRecord *r, Status *st);

/* Writes the sweep's table to path (through path.tmp, then rename): dataset "trials",
 * one row per trial (pending ones too) with the per-epoch metrics as (n, max epochs)
 * datasets beside it, dataset "configs", one row per configuration in configuration
 * order, and the root attributes of info. Returns STATUS_OK or STATUS_DATA. */
int sweep_table_write(const char *path, const SweepInfo *info, const TrialRecord *trials,
                      size_t n_trials, const ConfigSummary *configs, size_t n_configs, Status *st);

#endif
