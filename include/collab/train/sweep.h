/* sweep.h - many trainings in one job (collab-mpi sweep): dealing trials to groups of
 * ranks, stopping every group together, and the summary of each configuration over its
 * folds.
 *
 * The ranks are cut into groups (ctx_split), and each group trains one trial (one
 * configuration on one fold) at a time on its own communicator. Trials are dealt from
 * a shared counter: a group that finishes takes the next trial, so no group waits while
 * others have work (the counter lives in an MPI window on rank 0 of the job and is
 * advanced with MPI_Fetch_and_op, which needs nothing of rank 0 while it trains). The
 * same window holds a stop flag: a group that stops (a signal, preemption) raises it, and
 * no group is dealt another trial after it. */
#ifndef COLLAB_SWEEP_H
#define COLLAB_SWEEP_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/base/ctx.h"
#include "collab/store/sweep_file.h"

/* The shared counter and stop flag, in a window on rank 0 of ctx. */
typedef struct SweepDealer {
    MPI_Win win;
    int64_t *slots; /* (2) on rank 0: the next trial to deal, the stop flag; NULL elsewhere */
} SweepDealer;

/* Creates the window with the counter at 0 and the flag down. Collective over ctx (every
 * rank of the job). */
void sweep_dealer_init(SweepDealer *d, const Ctx *ctx);
/* The next trial to train (0, 1, 2, ... in the order asked, each handed out once over
 * the job), or -1 once the stop flag is up. Local: one-sided, rank 0 takes no part. */
int64_t sweep_dealer_next(SweepDealer *d);
/* Raises the stop flag: no trial is dealt after it. Local (one-sided). */
void sweep_dealer_stop(SweepDealer *d);
/* Frees the window. Collective over the ctx of sweep_dealer_init. */
void sweep_dealer_free(SweepDealer *d);

/* The metric a sweep ranks by: of the last epoch of each trial. */
typedef enum SweepMetric { SWEEP_RMSE = 0, SWEEP_MAE = 1 } SweepMetric;

/* A done trial's metric: the RMSE (square root of the exact MSE) or the MAE after its
 * last epoch; NaN when it has no epoch. Local. */
double sweep_trial_metric(const TrialRecord *r, SweepMetric metric);

/* Fills out[c] (n_configs; its settings from the first trial of c) from the trials of
 * every configuration: counts by status, and over the done trials the mean and sample
 * standard deviation (n - 1; NaN for one fold) of the metric, the mean best epoch and
 * the mean time; then ranks them: by mean, lowest first, among the configurations all
 * of whose trials are done, then those with done and pending trials by mean, then those
 * with a failed trial, then those with none done (rank 0); ties by index. Local. */
void sweep_summarize(ConfigSummary *out, size_t n_configs, const TrialRecord *trials,
                     size_t n_trials, SweepMetric metric);

/* order[0..n) = configuration indices by rank (the ranked first, in rank order, then
 * the unranked by index). Local. */
void sweep_order(size_t *order, const ConfigSummary *s, size_t n);

#endif
