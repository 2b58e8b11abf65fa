/* sweep.c - the dealer of a sweep's trials and the summary of its configurations
 * (train/sweep.h). */
#include "config.h"

#include "collab/train/sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"

enum { SLOT_NEXT = 0, SLOT_STOP = 1 };

/* ------------------------------------------------------------------ the dealer */

void sweep_dealer_init(SweepDealer *d, const Ctx *ctx)
{
    /* MPI_Win_allocate, not MPI_Win_create: the library may then place the slots in
     * shared memory (Open MPI's osc/sm on one node), where the atomics need no progress
     * from rank 0 while it trains. */
    const MPI_Aint bytes = ctx->rank == 0 ? 2 * (MPI_Aint)sizeof(int64_t) : 0;
    int64_t *base = NULL;
    CHECK_MPI(MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, ctx->comm, &base, &d->win));
    d->slots = ctx->rank == 0 ? base : NULL;
    CHECK_MPI(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, d->win));
    if (d->slots)
        d->slots[SLOT_NEXT] = d->slots[SLOT_STOP] = 0;
    CHECK_MPI(MPI_Win_unlock(0, d->win));
    CHECK_MPI(MPI_Barrier(ctx->comm)); /* nobody deals before the slots are zeroed */
}

int64_t sweep_dealer_next(SweepDealer *d)
{
    const int64_t one = 1, none = 0;
    int64_t next = -1, stop = 0;
    CHECK_MPI(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, d->win));
    CHECK_MPI(MPI_Fetch_and_op(&none, &stop, MPI_INT64_T, 0, SLOT_STOP, MPI_NO_OP, d->win));
    CHECK_MPI(MPI_Win_flush(0, d->win)); /* the flag is read before a trial is taken */
    if (!stop)
        CHECK_MPI(MPI_Fetch_and_op(&one, &next, MPI_INT64_T, 0, SLOT_NEXT, MPI_SUM, d->win));
    CHECK_MPI(MPI_Win_unlock(0, d->win));
    return stop ? -1 : next;
}

void sweep_dealer_stop(SweepDealer *d)
{
    const int64_t one = 1;
    int64_t old = 0;
    CHECK_MPI(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, d->win));
    CHECK_MPI(MPI_Fetch_and_op(&one, &old, MPI_INT64_T, 0, SLOT_STOP, MPI_REPLACE, d->win));
    CHECK_MPI(MPI_Win_unlock(0, d->win));
}

void sweep_dealer_free(SweepDealer *d)
{
    CHECK_MPI(MPI_Win_free(&d->win));
    d->slots = NULL;
}

/* ------------------------------------------------------------------ the summary */

double sweep_trial_metric(const TrialRecord *r, SweepMetric metric)
{
    if (r->n_epochs == 0)
        return NAN;
    const size_t last = r->n_epochs - 1;
    return metric == SWEEP_MAE ? r->valid_mae[last] : sqrt(r->valid_loss[last]);
}

/* The epoch with the lowest validation MSE (the first of equals). */
static size_t best_epoch(const TrialRecord *r)
{
    size_t best = 0;
    for (size_t e = 1; e < r->n_epochs; e++)
        if (r->valid_loss[e] < r->valid_loss[best])
            best = e;
    return best;
}

/* Counts, mean and sd of configuration c over its trials. */
static void summarize_one(ConfigSummary *s, const TrialRecord *trials, size_t n_trials,
                          SweepMetric metric)
{
    double sum = 0.0, best = 0.0, secs = 0.0;
    for (size_t i = 0; i < n_trials; i++) {
        const TrialRecord *r = &trials[i];
        if (r->config != s->config)
            continue;
        if (!s->settings[0])
            memcpy(s->settings, r->settings, sizeof s->settings);
        s->pending += r->status == TRIAL_PENDING;
        s->failed += r->status == TRIAL_FAILED;
        if (r->status != TRIAL_DONE)
            continue;
        s->done++;
        sum += sweep_trial_metric(r, metric);
        best += (double)best_epoch(r);
        for (size_t e = 0; e < r->n_epochs; e++)
            secs += r->seconds[e];
    }
    s->mean = s->done ? sum / s->done : NAN;
    s->best_epoch = s->done ? best / s->done : NAN;
    s->seconds = s->done ? secs / s->done : NAN;
    double sq = 0.0;
    for (size_t i = 0; i < n_trials; i++)
        if (trials[i].config == s->config && trials[i].status == TRIAL_DONE) {
            const double d = sweep_trial_metric(&trials[i], metric) - s->mean;
            sq += d * d;
        }
    s->sd = s->done > 1 ? sqrt(sq / (s->done - 1)) : NAN;
}

/* The rank class: 0 every trial done, 1 some pending, 2 a failure, 3 none done. */
static int rank_class(const ConfigSummary *s)
{
    if (s->done == 0 || !isfinite(s->mean))
        return 3;
    return s->failed ? 2 : s->pending ? 1 : 0;
}

/* Whether configuration x ranks before y: class, then mean, then index. */
static int ranks_before(const ConfigSummary *x, const ConfigSummary *y)
{
    const int cx = rank_class(x), cy = rank_class(y);
    if (cx != cy)
        return cx < cy;
    if (cx < 3 && x->mean != y->mean)
        return x->mean < y->mean;
    return x->config < y->config;
}

void sweep_summarize(ConfigSummary *out, size_t n_configs, const TrialRecord *trials,
                     size_t n_trials, SweepMetric metric)
{
    for (size_t c = 0; c < n_configs; c++) {
        memset(&out[c], 0, sizeof out[c]);
        out[c].config = (int32_t)c;
        summarize_one(&out[c], trials, n_trials, metric);
    }
    size_t *order = xmalloc((n_configs ? n_configs : 1) * sizeof *order);
    for (size_t c = 0; c < n_configs; c++) { /* insertion sort: stable, no global state */
        size_t k = c;
        for (; k > 0 && ranks_before(&out[c], &out[order[k - 1]]); k--)
            order[k] = order[k - 1];
        order[k] = c;
    }
    for (size_t k = 0; k < n_configs; k++)
        out[order[k]].rank = rank_class(&out[order[k]]) < 3 ? (int32_t)(k + 1) : 0;
    free(order);
}

void sweep_order(size_t *order, const ConfigSummary *s, size_t n)
{
    size_t ranked = 0;
    for (size_t c = 0; c < n; c++)
        if (s[c].rank > 0) {
            order[s[c].rank - 1] = c; /* ranks are 1..ranked, each once */
            ranked++;
        }
    for (size_t c = 0; c < n; c++)
        if (s[c].rank == 0)
            order[ranked++] = c;
}
