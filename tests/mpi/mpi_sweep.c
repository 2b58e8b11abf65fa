/* mpi_sweep.c - the parts of a sweep below the command, at 1, 2 and 3 ranks: ctx_split
 * makes the groups asked for; the dealer hands every trial to exactly one group, in the
 * order asked, while groups ask at different paces, and none after its stop flag is up;
 * the summary's mean, sample sd and ranking match a hand computation; and the grid,
 * random search and configuration file give the configurations their syntax says, the
 * same on every rank, refusing bad ones with the message the command prints. */
#include "config.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collab/base/ctx.h"
#include "collab/cli/sweep_spec.h"
#include "collab/train/sweep.h"
#include "../test.h"

enum { N_DEAL = 200 };

/* Groups of r ranks: rank / r is the group, its ranks in world order. */
static void check_split(const Ctx *world)
{
    for (int r = 1; r <= world->size; r++) {
        if (world->size % r)
            continue;
        Ctx g;
        ctx_split(&g, world, world->rank / r, world->rank);
        TEST_CHECK(g.size == r && g.rank == world->rank % r);
        int sum = 0, one = world->rank;
        MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, g.comm);
        const int first = world->rank / r * r; /* the group's ranks: first .. first + r - 1 */
        TEST_CHECK(sum == r * first + r * (r - 1) / 2);
        ctx_free(&g);
    }
}

/* Every rank deals until the counter runs past N_DEAL; rank r sleeps a little after
 * each of its trials so ranks interleave. Each index must be taken exactly once. */
static void check_dealer(const Ctx *world)
{
    SweepDealer d;
    sweep_dealer_init(&d, world);
    int *taken = calloc(N_DEAL, sizeof *taken), *all = calloc(N_DEAL, sizeof *all);
    int64_t last = -1, k;
    int ordered = 1;
    while ((k = sweep_dealer_next(&d)) >= 0 && k < N_DEAL) {
        ordered &= k > last; /* one rank's trials come in increasing order */
        last = k;
        taken[k]++;
        const struct timespec pause = {0, 50000L * (world->rank + 1)};
        nanosleep(&pause, NULL);
    }
    MPI_Allreduce(taken, all, N_DEAL, MPI_INT, MPI_SUM, world->comm);
    int once = 1;
    for (int i = 0; i < N_DEAL; i++)
        once &= all[i] == 1;
    TEST_CHECK(once && ordered);
    /* The stop flag: after rank 0 raises it (and every rank knows it is up), nobody is
     * dealt anything. */
    if (world->rank == 0)
        sweep_dealer_stop(&d);
    MPI_Barrier(world->comm);
    TEST_CHECK(sweep_dealer_next(&d) == -1);
    sweep_dealer_free(&d);
    free(taken);
    free(all);
}

/* A done trial of configuration c with last-epoch MSE m (and one earlier epoch). */
static TrialRecord record(int c, int fold, TrialStatus status, double m)
{
    TrialRecord r;
    memset(&r, 0, sizeof r);
    r.config = c;
    r.fold = fold;
    r.status = status;
    snprintf(r.settings, sizeof r.settings, "c=%d", c);
    if (status == TRIAL_DONE) {
        r.n_epochs = 2;
        r.valid_loss = calloc(2, sizeof(double));
        r.valid_mae = calloc(2, sizeof(double));
        r.train_loss = calloc(2, sizeof(double));
        r.seconds = calloc(2, sizeof(double));
        r.valid_loss[0] = m + 0.5; /* the last epoch is the best */
        r.valid_loss[1] = m;
        r.valid_mae[1] = m / 2;
        r.seconds[0] = r.seconds[1] = 1.5;
    }
    return r;
}

static void check_summary(void)
{
    /* c0: rmse 1, 2, 3 -> mean 2, sd 1; c1: rmse 1.5 twice, one pending; c2: one failed;
     * c3: nothing done; c4: rmse 1.2, 1.2, 1.2 -> the best. */
    TrialRecord t[] = {record(0, 0, TRIAL_DONE, 1),    record(0, 1, TRIAL_DONE, 4),
                       record(0, 2, TRIAL_DONE, 9),    record(1, 0, TRIAL_DONE, 2.25),
                       record(1, 1, TRIAL_DONE, 2.25), record(1, 2, TRIAL_PENDING, 0),
                       record(2, 0, TRIAL_DONE, 0.01), record(2, 1, TRIAL_FAILED, 0),
                       record(2, 2, TRIAL_DONE, 0.01), record(3, 0, TRIAL_FAILED, 0),
                       record(3, 1, TRIAL_PENDING, 0), record(3, 2, TRIAL_PENDING, 0),
                       record(4, 0, TRIAL_DONE, 1.44), record(4, 1, TRIAL_DONE, 1.44),
                       record(4, 2, TRIAL_DONE, 1.44)};
    const size_t n = sizeof t / sizeof *t;
    ConfigSummary s[5];
    size_t order[5];
    sweep_summarize(s, 5, t, n, SWEEP_RMSE);
    TEST_CLOSE(s[0].mean, 2.0, 1e-12, 0);
    TEST_CLOSE(s[0].sd, 1.0, 1e-12, 0);
    TEST_CHECK(s[0].done == 3 && s[1].done == 2 && s[1].pending == 1 && s[2].failed == 1);
    TEST_CHECK(s[0].best_epoch == 1.0 && s[0].seconds == 3.0);
    TEST_CHECK(s[4].sd == 0.0 && !strcmp(s[4].settings, "c=4"));
    /* complete ones by mean (c4, c0), then partial (c1), then failed (c2), then none */
    TEST_CHECK(s[4].rank == 1 && s[0].rank == 2 && s[1].rank == 3 && s[2].rank == 4 &&
               s[3].rank == 0);
    sweep_order(order, s, 5);
    TEST_CHECK(order[0] == 4 && order[1] == 0 && order[2] == 1 && order[3] == 2 && order[4] == 3);
    sweep_summarize(s, 5, t, n, SWEEP_MAE);
    TEST_CLOSE(s[0].mean, (0.5 + 2 + 4.5) / 3, 1e-12, 0);
    for (size_t i = 0; i < n; i++)
        sweep_record_free(&t[i]);
}

/* --grid / --trials / --configs through sweep_configs_parse. */
static int parse(SweepConfigs *c, const char *grid, int64_t trials, const char *file, Status *st)
{
    Options o;
    memset(&o, 0, sizeof o);
    o.grid = grid;
    o.trials = trials;
    o.configs = file;
    o.search_seed = 7;
    status_clear(st);
    return sweep_configs_parse(c, &o, st);
}

static void refused(const char *grid, int64_t trials, const char *want)
{
    SweepConfigs c;
    Status st;
    TEST_CHECK(parse(&c, grid, trials, NULL, &st) == STATUS_USAGE);
    TEST_STR_CONTAINS(st.msg, want);
    sweep_configs_free(&c);
}

static void check_grid(const Ctx *world)
{
    SweepConfigs c;
    Status st;
    TEST_CHECK(parse(&c, "lr=1e-3,3e-3 wd=0.01|0.1 n-factors=8", 0, NULL, &st) == STATUS_OK);
    TEST_CHECK(c.n == 4 && c.c[0].n == 3);
    TEST_CHECK(!strcmp(c.c[0].text, "lr=1e-3 wd=0.01 n-factors=8"));
    TEST_CHECK(!strcmp(c.c[1].text, "lr=1e-3 wd=0.1 n-factors=8")); /* the last varies fastest */
    TEST_CHECK(!strcmp(c.c[3].text, "lr=3e-3 wd=0.1 n-factors=8"));
    sweep_configs_free(&c);
    TEST_CHECK(parse(&c, "y-range=0,5.5|1,5 layers=100|100,50 model=nn", 0, NULL, &st) == 0);
    TEST_CHECK(c.n == 4 && !strcmp(c.c[3].text, "y-range=1,5 layers=100,50 model=nn"));
    sweep_configs_free(&c);
    /* random search: in range, reproducible, the same on every rank */
    TEST_CHECK(parse(&c, "lr=1e-4:1e-1:log n-factors=8:64 opt=adam,sgd", 50, NULL, &st) == 0);
    int in_range = c.n == 50;
    uint64_t h = 0;
    for (size_t i = 0; i < c.n; i++) {
        const double lr = strtod(c.c[i].set[0].value, NULL);
        const long k = strtol(c.c[i].set[1].value, NULL, 10);
        in_range &= lr >= 1e-4 && lr <= 1e-1 && k >= 8 && k <= 64;
        for (const char *p = c.c[i].text; *p; p++)
            h = h * 131 + (unsigned char)*p;
    }
    TEST_CHECK(in_range);
    uint64_t h0 = h;
    MPI_Bcast(&h0, 1, MPI_UINT64_T, 0, world->comm);
    TEST_CHECK(h0 == h);
    sweep_configs_free(&c);
    refused("lr", 0, "'lr' is not NAME=VALUES");
    refused("lrr=1", 0, "'lrr' is not an option of train (a sweep varies: model, n-factors");
    refused("seed=1,2", 0, "--seed cannot be swept");
    refused("folds=5", 0, "--folds cannot be swept");
    refused("valid-pct=0.1", 0, "--valid-pct cannot be swept");
    refused("max-memory=1G", 0, "--max-memory cannot be swept");
    refused("lr=1,,2", 0, "--lr has an empty value");
    refused("lr=abc", 0, "in 'lr=abc': option --lr: 'abc' is not a finite number");
    refused("n-factors=3.5", 0, "option --n-factors: '3.5' is not an integer");
    refused("lr=1 lr=2", 0, "lr is given twice");
    refused("lr=1e-4:1e-1", 0, "a range can only be drawn from by a random search");
    refused("lr=0:1:log", 5, "is not a range LO:HI or LO:HI:log");
    refused("n-factors=8:9.5", 5, "is not a range LO:HI or LO:HI:log");
    refused("", 0, "option --grid: no settings");
    refused(NULL, 0, "sweep needs --grid SPEC or --configs PATH");
}

static void check_file(const Ctx *world)
{
    char path[64];
    snprintf(path, sizeof path, "mpi_sweep_configs_%d.txt", world->rank);
    FILE *f = fopen(path, "w");
    fputs("# two configurations\nlr=3e-3 y-range=0,5.5\n\n  wd=0.1   # the second\n"
          "lr=3e-3 lr=1e-2\n",
          f);
    fclose(f);
    SweepConfigs c;
    Status st;
    TEST_CHECK(parse(&c, NULL, 0, path, &st) == STATUS_USAGE);
    TEST_STR_CONTAINS(st.msg, ":5: lr is given twice");
    sweep_configs_free(&c);
    f = fopen(path, "w");
    fputs("# two configurations\nlr=3e-3 y-range=0,5.5\n\n  wd=0.1   # the second\n", f);
    fclose(f);
    TEST_CHECK(parse(&c, NULL, 0, path, &st) == STATUS_OK && c.n == 2);
    TEST_CHECK(c.n == 2 && !strcmp(c.c[0].text, "lr=3e-3 y-range=0,5.5") &&
               !strcmp(c.c[1].text, "wd=0.1"));
    sweep_configs_free(&c);
    TEST_CHECK(parse(&c, NULL, 3, path, &st) == STATUS_USAGE);
    sweep_configs_free(&c);
    remove(path);
    TEST_CHECK(parse(&c, NULL, 0, "no-such-file.txt", &st) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, "option --configs: cannot open 'no-such-file.txt'");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    Ctx world;
    ctx_init(&world);
    check_split(&world);
    check_dealer(&world);
    check_summary();
    check_grid(&world);
    check_file(&world);
    printf("mpi_sweep[%d/%d]: %d checks, %d failed\n", world.rank, world.size, test_checks,
           test_failures);
    ctx_free(&world);
    MPI_Finalize();
    return test_failures ? 1 : 0;
}
