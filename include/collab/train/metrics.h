/* metrics.h - the per-epoch table fastai prints, and the progress within an epoch (a live
 * bar, or plain lines for a log).
 * Rank 0 prints; the other ranks' calls do nothing. */
#ifndef COLLAB_METRICS_H
#define COLLAB_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collab/store/metrics_file.h"

/* This process's peak resident memory in MB (VmHWM). Local. */
double metrics_peak_rss_mb(void);

/* Prints the header "epoch  train_loss  valid_loss  time". */
void metrics_print_header(FILE *f);
/* Prints one row, time as mm:ss like fastai (and seconds with --verbose). */
void metrics_print_row(FILE *f, const EpochRow *row, int verbose);

/* How training shows its progress within an epoch (--progress, --progress-seconds):
 * PROGRESS_BAR, a bar redrawn with \r for a person at a terminal; PROGRESS_LINES, plain
 * lines for a log, one every `every` seconds:
 *   progress: epoch 2 batch 1200/15000 elapsed_sec 60 eta_sec 690 smooth_loss 0.812345
 * PROGRESS_OFF, nothing. The epoch table's rows are printed in every mode. */
typedef enum ProgressMode { PROGRESS_OFF = 0, PROGRESS_BAR = 1, PROGRESS_LINES = 2 } ProgressMode;

typedef struct ProgressSpec {
    ProgressMode mode;
    double every; /* PROGRESS_LINES: seconds between lines (> 0) */
} ProgressSpec;

/* The progress of one phase (an epoch, the lr-find sweep). */
typedef struct Progress {
    ProgressSpec spec; /* mode PROGRESS_OFF but on rank 0 */
    int64_t total;     /* steps in the phase */
    int64_t shown;     /* PROGRESS_BAR: the last drawn percent, to redraw ~100 times */
    double t0, last;   /* MPI_Wtime of the start, of the last line */
    char label[32];    /* "epoch 2", "lr-find" */
    const char *unit;  /* "batch", "stratum" */
} Progress;

/* Starts a phase of total steps shown as spec says on rank 0 (log_rank), nothing
 * elsewhere. Local. */
void progress_start(Progress *p, ProgressSpec spec, const char *label, const char *unit,
                    int64_t total);
/* done steps of the phase are over, with this smoothed loss: redraws the bar, or prints a
 * line when `every` seconds have passed since the start or the last line. Local. */
void progress_update(Progress *p, int64_t done, double loss);
/* Erases the bar so the next line prints cleanly (lines need no erasing). Local. */
void progress_clear(Progress *p);

#endif
