/* metrics.h - the per-epoch table fastai prints, and a live progress bar.
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

#endif
