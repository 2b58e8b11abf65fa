/* test_schedule.c - one-cycle and constant schedules, the lr_find sweep, fastai's lr
 * suggestions on hand-built curves, and the smoothed loss (schedule.h). The same
 * quantities are checked against the PyTorch replica's values in test_reference. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "collab/model/schedule.h"
#include "../test.h"

static void test_sched_cos(void)
{
    TEST_CLOSE(sched_cos(2.0, 8.0, 0.0), 2.0, 1e-15, 0);
    TEST_CLOSE(sched_cos(2.0, 8.0, 1.0), 8.0, 1e-15, 0);
    TEST_CLOSE(sched_cos(2.0, 8.0, 0.5), 5.0, 1e-15, 0);
    TEST_CLOSE(sched_cos(8.0, 2.0, 0.25), 8.0 - 6.0 * (1 - sqrt(0.5)) / 2, 1e-14, 0);
}

/* fit_one_cycle(lr_max 0.01) over 100 batches: warm-up over the first 25. */
static void test_one_cycle(void)
{
    const double lr_max = 0.01;
    Schedule s = {SCHED_ONE_CYCLE, lr_max, 25, 1e5, 0.25, {0.95, 0.85, 0.95}, 100};
    double lr, mom;

    schedule_at(&s, 0, &lr, &mom);
    TEST_CLOSE(lr, lr_max / 25, 1e-14, 0);
    TEST_CLOSE(mom, 0.95, 1e-14, 0);
    schedule_at(&s, 25, &lr, &mom); /* pos = pct_start: the peak */
    TEST_CLOSE(lr, lr_max, 1e-14, 0);
    TEST_CLOSE(mom, 0.85, 1e-14, 0);
    schedule_at(&s, 100, &lr, &mom); /* pos = 1 */
    TEST_CLOSE(lr, lr_max / 1e5, 1e-9, 0);
    TEST_CLOSE(mom, 0.95, 1e-14, 0);
    schedule_at(&s, 99, &lr, &mom); /* the last batch: just above the floor */
    TEST_CHECK(lr > lr_max / 1e5 && lr < lr_max / 1e3);
    TEST_CHECK(mom < 0.95 && mom > 0.949);
    /* half-way through each phase: the cosine's midpoint */
    schedule_at(&s, 12, &lr, &mom); /* pos 0.12 = 0.48 of the warm-up */
    TEST_CLOSE(lr, sched_cos(lr_max / 25, lr_max, 0.48), 1e-14, 0);
    schedule_at(&s, 25 + 75 / 2, &lr, &mom);
    TEST_CLOSE(lr, sched_cos(lr_max, lr_max / 1e5, 37.0 / 75), 1e-14, 0);
    TEST_CLOSE(mom, sched_cos(0.85, 0.95, 37.0 / 75), 1e-14, 0);

    /* monotonic pieces: lr rises and mom falls to the peak, then the reverse */
    double prev_lr, prev_mom;
    schedule_at(&s, 0, &prev_lr, &prev_mom);
    int up_ok = 1, down_ok = 1;
    for (int64_t it = 1; it <= 100; it++) {
        schedule_at(&s, it, &lr, &mom);
        if (it <= 25)
            up_ok &= lr > prev_lr && mom < prev_mom;
        else
            down_ok &= lr < prev_lr && mom > prev_mom;
        prev_lr = lr;
        prev_mom = mom;
    }
    TEST_CHECK(up_ok);
    TEST_CHECK(down_ok);

    /* another warm-up fraction and total */
    Schedule t = {SCHED_ONE_CYCLE, 1.0, 10, 100, 0.5, {0.9, 0.8, 0.7}, 7};
    schedule_at(&t, 0, &lr, &mom);
    TEST_CLOSE(lr, 0.1, 1e-14, 0);
    TEST_CLOSE(mom, 0.9, 1e-14, 0);
    schedule_at(&t, 7, &lr, &mom);
    TEST_CLOSE(lr, 0.01, 1e-14, 0);
    TEST_CLOSE(mom, 0.7, 1e-14, 0);
    schedule_at(&t, 3, &lr, &mom); /* pos 3/7 < 0.5: warm-up at 6/7 */
    TEST_CLOSE(lr, sched_cos(0.1, 1.0, (3.0 / 7) / 0.5), 1e-14, 0);
    TEST_CLOSE(mom, sched_cos(0.9, 0.8, (3.0 / 7) / 0.5), 1e-14, 0);
}

static void test_constant(void)
{
    Schedule s = {SCHED_CONSTANT, 3e-3, 25, 1e5, 0.25, {0.9, 0.85, 0.95}, 40};
    int ok = 1;
    for (int64_t it = 0; it <= 40; it++) {
        double lr = NAN, mom = NAN;
        schedule_at(&s, it, &lr, &mom);
        ok &= lr == 3e-3 && mom == 0.9;
    }
    TEST_CHECK(ok);
}

static void test_lrfind_lr(void)
{
    TEST_CLOSE(lrfind_lr(1e-7, 10, 0, 100), 1e-7, 1e-15, 0);
    TEST_CLOSE(lrfind_lr(1e-7, 10, 100, 100), 10.0, 1e-13, 0);
    TEST_CLOSE(lrfind_lr(1e-7, 10, 50, 100), 1e-3, 1e-13, 0);
    TEST_CLOSE(lrfind_lr(1e-7, 10, 25, 50), 1e-3, 1e-13, 0);
    int ok = 1;
    for (int64_t it = 1; it <= 100; it++)
        ok &= lrfind_lr(1e-7, 10, it, 100) > lrfind_lr(1e-7, 10, it - 1, 100);
    TEST_CHECK(ok);
}

/* A sweep of n points for num_it and its loss curve f(t). */
static void sweep(double *lrs, size_t n, int64_t num_it)
{
    for (size_t t = 0; t < n; t++)
        lrs[t] = lrfind_lr(1e-7, 10, (int64_t)t, num_it);
}

/* Runs a suggestion and checks the chosen index and the lr it implies. */
static void check_suggest(LrSuggest which, const double *lrs, const double *losses, size_t n,
                          int64_t num_it, size_t want_idx)
{
    size_t idx = (size_t)-1;
    double lr = lrfind_suggest(which, lrs, losses, n, num_it, &idx);
    double want = which == SUGGEST_MINIMUM ? lrs[want_idx] / 10 : lrs[want_idx];
    if (idx != want_idx)
        fprintf(stderr, "  suggestion %d: idx %zu, expected %zu\n", (int)which, idx, want_idx);
    TEST_CHECK(idx == want_idx);
    TEST_CLOSE(lr, want, 1e-15, 0);
}

static void test_suggestions(void)
{
    enum { N = 100 };
    double lrs[N], losses[N];
    sweep(lrs, N, N);

    /* V-shaped curve, minimum at 60. Trimmed to [10, 95): the longest strictly decreasing
     * run is points 10..60 (51 long, ending at trimmed index 50). fastai then takes
     * max_start = 50 - 51 = -1 (its off-by-one), sections = 17, idx = -1 + 17 + 8 = 24,
     * i.e. point 34. */
    for (size_t t = 0; t < N; t++)
        losses[t] = fabs((double)t - 60) + 1;
    check_suggest(SUGGEST_VALLEY, lrs, losses, N, N, 34);
    check_suggest(SUGGEST_MINIMUM, lrs, losses, N, N, 60);

    /* A slow descent with one cliff between points 40 and 41: steep picks 40. Strictly
     * decreasing over the whole trimmed range (85 points): max_start = 84 - 85 = -1,
     * sections = 28.33, idx = -1 + 28 + 14 = 41 -> point 51; the minimum is the last
     * trimmed point, 94. */
    for (size_t t = 0; t < N; t++)
        losses[t] = 3.0 - 0.01 * (double)t - (t > 40 ? 0.5 : 0.0);
    check_suggest(SUGGEST_STEEP, lrs, losses, N, N, 40);
    check_suggest(SUGGEST_VALLEY, lrs, losses, N, N, 51);
    check_suggest(SUGGEST_MINIMUM, lrs, losses, N, N, 94);

    /* Points from the first NaN on are ignored: the V with a NaN at 50 has its
     * minimum (among points 10..49) at 49. */
    for (size_t t = 0; t < N; t++)
        losses[t] = fabs((double)t - 60) + 1;
    losses[50] = NAN;
    check_suggest(SUGGEST_MINIMUM, lrs, losses, N, N, 49);

    /* Stopped early (n = 40 < num_it): trimming still starts at num_it/10 = 10 and
     * ends 5 before the last point (35): the minimum of the V is its last point, 34. */
    for (size_t t = 0; t < N; t++)
        losses[t] = fabs((double)t - 60) + 1;
    check_suggest(SUGGEST_MINIMUM, lrs, losses, 40, N, 34);

    /* Too short: nothing left after trimming. */
    size_t idx = 0;
    TEST_CHECK(isnan(lrfind_suggest(SUGGEST_VALLEY, lrs, losses, 14, N, &idx)));
    TEST_CHECK(isnan(lrfind_suggest(SUGGEST_MINIMUM, lrs, losses, 15, N, &idx)));
    TEST_CHECK(isnan(lrfind_suggest(SUGGEST_STEEP, lrs, losses, 3, N, &idx)));
}

static void test_smooth(void)
{
    const double beta = 0.98;
    SmoothLoss s;
    smooth_init(&s, beta);
    smooth_add(&s, 2.5);
    TEST_CLOSE(smooth_value(&s), 2.5, 1e-14, 0); /* debiased: the first loss itself */
    smooth_add(&s, 1.0);
    TEST_CLOSE(smooth_value(&s), (1.0 + beta * 2.5) / (1 + beta), 1e-14, 0);
    TEST_CHECK(s.count == 2);

    smooth_init(&s, beta); /* constant losses stay constant */
    int ok = 1;
    for (int t = 0; t < 500; t++) {
        smooth_add(&s, 0.75);
        ok &= fabs(smooth_value(&s) - 0.75) <= 1e-12;
    }
    TEST_CHECK(ok);
    smooth_init(&s, beta); /* reset */
    TEST_CHECK(s.count == 0);
    smooth_add(&s, 4.0);
    TEST_CLOSE(smooth_value(&s), 4.0, 1e-14, 0);
}

int main(void)
{
    test_sched_cos();
    test_one_cycle();
    test_constant();
    test_lrfind_lr();
    test_suggestions();
    test_smooth();
    return test_done("test_schedule");
}
