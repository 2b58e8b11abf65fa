/* schedule.h - fastai's fit_one_cycle and constant schedules, the lr_find sweep and its
 * suggestions, and the smoothed loss the recorder prints. All local and pure. */
#ifndef COLLAB_SCHEDULE_H
#define COLLAB_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

typedef enum SchedKind { SCHED_ONE_CYCLE = 0, SCHED_CONSTANT = 1 } SchedKind;

typedef struct Schedule {
    SchedKind kind;
    double lr_max;    /* --lr */
    double div;       /* one-cycle: start lr = lr_max/div (25) */
    double div_final; /* one-cycle: final lr = lr_max/div_final (1e5) */
    double pct_start; /* one-cycle: warm-up fraction (0.25) */
    double mom[3];    /* one-cycle momentum start, middle, end (0.95, 0.85, 0.95);
                         constant: mom[0] throughout */
    int64_t total;    /* total training batches (epochs * batches per epoch) */
} Schedule;

/* fastai's SchedCos(start, end)(pos) = start + (1 + cos(pi (1 - pos))) (end - start) / 2 */
double sched_cos(double start, double end, double pos);

/* Learning rate and momentum for training batch iter (0-based), set before the batch
 * at pos = iter / total, as fastai's ParamScheduler does. */
void schedule_at(const Schedule *s, int64_t iter, double *lr, double *mom);
/* The same at a fractional position pos in [0, 1] of the fit (blocked training moves the
 * lr through a stratum). schedule_at(s, i) is schedule_at_pos(s, i / total). */
void schedule_at_pos(const Schedule *s, double pos, double *lr, double *mom);

/* lr_find's exponential sweep: start * (end/start)^(iter/num_it). */
double lrfind_lr(double start, double end, int64_t iter, int64_t num_it);

typedef enum LrSuggest { SUGGEST_VALLEY = 0, SUGGEST_MINIMUM = 1, SUGGEST_STEEP = 2 } LrSuggest;

/* fastai's suggestion functions on the recorded curve (all n points); each applies
 * fastai's trimming itself (points [num_it/10, n-5), cut at the first NaN).
 * Returns the suggested lr and, in *idx, the index into lrs of the chosen point
 * (for minimum, of the minimum; the suggestion is lr_min/10). Returns NaN when the
 * curve is too short. */
double lrfind_suggest(LrSuggest which, const double *lrs, const double *losses, size_t n,
                      int64_t num_it, size_t *idx);

/* fastai's AvgSmoothLoss(beta): val = loss + beta (val - loss); value = val/(1-beta^count). */
typedef struct SmoothLoss {
    double beta, val;
    int64_t count;
} SmoothLoss;
void smooth_init(SmoothLoss *s, double beta);
void smooth_add(SmoothLoss *s, double loss);
double smooth_value(const SmoothLoss *s);

#endif
