/* sweep_trial.h - one trial of a sweep (cmd_sweep.c): one configuration trained on one
 * fold by `train` itself, on the communicator of one group of ranks.
 *
 * A trial's options are train's defaults, then the sweep's own data, model and training
 * options, then the configuration's settings (sweep_spec.h), then the fold (--folds K
 * --fold I, or --data TRAIN --valid-file TEST), then a checkpoint folder of its own,
 * DIR/trials/cCCCC-fF, with --resume auto. So a trial ends bitwise as `train` with those
 * options at R ranks ends; it checkpoints every epoch and at a signal, exiting 75, as
 * train does, and a resumed sweep resumes it from its newest checkpoint. The group's
 * first rank writes the trial's output into its folder's train.log and its outcome into
 * result.h5 (store/sweep_file.h). */
#ifndef COLLAB_SWEEP_TRIAL_H
#define COLLAB_SWEEP_TRIAL_H

#include <stddef.h>

#include "collab/base/ctx.h"
#include "collab/base/status.h"
#include "collab/cli/cli.h"
#include "collab/cli/sweep_spec.h"
#include "collab/train/sweep.h"

enum { SWEEP_PATH = 4096 };

/* How the folds are made. */
typedef enum FoldKind {
    FOLDS_NONE = 0, /* the one split of --valid-pct or --valid-file */
    FOLDS_K = 1,    /* --folds K: trial fold I is train's --folds K --fold I */
    FOLDS_PAIRS = 2 /* --pairs: trial fold I is --data TRAIN_I --valid-file TEST_I */
} FoldKind;

/* What every trial of a sweep shares. Trial i is configuration i / n_folds on fold
 * i % n_folds. */
typedef struct SweepPlan {
    const Options *o; /* the sweep's options */
    SweepConfigs configs;
    FoldKind kind;
    int n_folds;                                              /* K, the pairs, or 1 */
    char (*pair_train)[SWEEP_PATH], (*pair_test)[SWEEP_PATH]; /* (n_folds) FOLDS_PAIRS */
    size_t n_trials;                                          /* configs.n * n_folds */
    SweepMetric metric;
    int verbosity; /* the sweep's log level */
} SweepPlan;

/* mkdir that accepts an existing folder; STATUS_DATA naming it otherwise. Local. */
int sweep_make_dir(const char *path, Status *st);

/* The folder of trial i, DIR/trials/cCCCC-fF. Local. */
void sweep_trial_dir(char *out, size_t len, const SweepPlan *p, size_t i);

/* Train's options for trial i, writing into dir (and the final model into model, when
 * not NULL); the strings point into p, dir and model. Returns STATUS_OK or STATUS_USAGE
 * (a setting train's parser refuses). Local. */
int sweep_trial_options(Options *t, const SweepPlan *p, size_t i, const char *dir,
                        const char *model, Status *st);

/* " --name value ..." for every option of t that differs from train's defaults, but the
 * ones the sweep sets itself (checkpoints, outputs, printing): the train options that
 * reproduce the trial. Local. */
void sweep_trial_args(char *out, size_t len, const Options *t);

/* What trial i costs, roughly (epochs x (factors + 8)), to deal the long ones first.
 * Local. */
double sweep_trial_cost(const SweepPlan *p, size_t i);

/* What became of a trial. */
typedef enum TrialOutcome {
    TRIAL_RECORDED = 0,  /* done or failed, and its record written */
    TRIAL_STOPPED = 1,   /* stopped at a signal; its checkpoint resumes it */
    TRIAL_UNRECORDED = 2 /* its record could not be written (the message is printed) */
} TrialOutcome;

/* Trains trial i on group (the group's first rank prints its line unless quiet) and
 * records it. Collective over group; world is the job's context (the logger's rank is
 * put back to world's after the trial). */
TrialOutcome sweep_trial_run(const SweepPlan *p, size_t i, const Ctx *group, const Ctx *world);

#endif
