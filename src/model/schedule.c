/* schedule.c - fit_one_cycle / constant schedules, lr_find's sweep and suggestions,
 * and the recorder's smoothed loss, with fastai's exact formulas. */
#include "config.h"

#include "collab/model/schedule.h"

#include <math.h>
#include <stdlib.h>

#include "collab/base/check.h"

#define PI 3.14159265358979323846

double sched_cos(double start, double end, double pos)
{
    return start + (1.0 + cos(PI * (1.0 - pos))) * (end - start) / 2.0;
}

/* combine_scheds([pct, 1-pct], [SchedCos(a, b), SchedCos(b, c)]) */
static double combined_cos(double pct, double a, double b, double c, double pos)
{
    if (pos < pct)
        return sched_cos(a, b, pos / pct);
    return sched_cos(b, c, (pos - pct) / (1.0 - pct));
}

void schedule_at(const Schedule *s, int64_t iter, double *lr, double *mom)
{
    schedule_at_pos(s, (double)iter / (double)s->total, lr, mom);
}

void schedule_at_pos(const Schedule *s, double pos, double *lr, double *mom)
{
    if (s->kind == SCHED_CONSTANT) {
        *lr = s->lr_max;
        *mom = s->mom[0];
        return;
    }
    *lr = combined_cos(s->pct_start, s->lr_max / s->div, s->lr_max, s->lr_max / s->div_final, pos);
    *mom = combined_cos(s->pct_start, s->mom[0], s->mom[1], s->mom[2], pos);
}

double lrfind_lr(double start, double end, int64_t iter, int64_t num_it)
{
    return start * pow(end / start, (double)iter / (double)num_it);
}

/* fastai's valley: longest strictly decreasing subsequence (not contiguous), then a
 * point a third plus a sixth of the way into it. */
static size_t suggest_valley(const double *losses, size_t n)
{
    int *lds = xmalloc(n * sizeof(int));
    size_t max_start = 0, max_end = 0;
    for (size_t i = 0; i < n; i++)
        lds[i] = 1;
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            if (losses[i] < losses[j] && lds[i] < lds[j] + 1)
                lds[i] = lds[j] + 1;
            if (lds[max_end] < lds[i]) {
                max_end = i;
                max_start = max_end - (size_t)lds[max_end];
            }
        }
    free(lds);
    double sections = (double)(max_end - max_start) / 3.0;
    return max_start + (size_t)sections + (size_t)(sections / 2.0);
}

static size_t suggest_minimum(const double *losses, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (losses[i] < losses[best])
            best = i;
    return best;
}

/* fastai's steep: the steepest descent of loss against log(lr). */
static size_t suggest_steep(const double *lrs, const double *losses, size_t n)
{
    size_t best = 0;
    double best_grad = INFINITY;
    for (size_t i = 0; i + 1 < n; i++) {
        double grad = (losses[i + 1] - losses[i]) / (log(lrs[i + 1]) - log(lrs[i]));
        if (grad < best_grad) {
            best_grad = grad;
            best = i;
        }
    }
    return best;
}

double lrfind_suggest(LrSuggest which, const double *lrs, const double *losses, size_t n,
                      int64_t num_it, size_t *idx)
{
    /* fastai trims to [num_it//10, -5) and cuts at the first NaN. */
    size_t lo = (size_t)(num_it / 10), hi = n >= 5 ? n - 5 : 0;
    for (size_t i = lo; i < hi; i++)
        if (isnan(losses[i])) {
            hi = i;
            break;
        }
    if (hi <= lo + 1) {
        *idx = 0;
        return NAN;
    }
    const double *l = losses + lo, *r = lrs + lo;
    size_t m = hi - lo, at;
    if (which == SUGGEST_VALLEY)
        at = suggest_valley(l, m);
    else if (which == SUGGEST_MINIMUM)
        at = suggest_minimum(l, m);
    else
        at = suggest_steep(r, l, m);
    *idx = lo + at;
    return which == SUGGEST_MINIMUM ? r[at] / 10.0 : r[at];
}

void smooth_init(SmoothLoss *s, double beta)
{
    s->beta = beta;
    s->val = 0.0;
    s->count = 0;
}

void smooth_add(SmoothLoss *s, double loss)
{
    s->count++;
    s->val = loss + s->beta * (s->val - loss); /* torch.lerp(loss, val, beta) */
}

double smooth_value(const SmoothLoss *s)
{
    return s->val / (1.0 - pow(s->beta, (double)s->count));
}
