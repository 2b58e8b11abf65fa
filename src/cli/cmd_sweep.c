/* cmd_sweep.c - `collab-mpi sweep`: many configurations (sweep_spec.h) over folds in one
 * job. parse -> plan (trials = configurations x folds; what a resumed sweep has done) ->
 * groups of --ranks-per-trial ranks, each taking trials from the dealer (train/sweep.h)
 * and training each with `train` itself on the group's communicator -> the table
 * (store/sweep_file.h) -> --refit.
 *
 * A trial IS a train run: its options are train's defaults, the sweep's own data, model
 * and training options, the configuration's settings and the fold (--folds K --fold I,
 * or --data TRAIN --valid-file TEST), plus a checkpoint folder of its own with
 * --resume auto. So it ends bitwise as `train` with those options at R ranks does, it
 * checkpoints and stops on a signal as train does (exit 75), and a resumed sweep resumes
 * it from its checkpoint. DIR/plan.txt lists every trial's train options. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/log.h"
#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/cli/sweep_spec.h"
#include "collab/cli/sweep_trial.h"
#include "collab/data/split.h"
#include "collab/store/checkpoint.h"
#include "collab/store/sweep_file.h"
#include "collab/train/signals.h"
#include "collab/train/sweep.h"

typedef struct SweepRun {
    const Ctx *world;
    SweepPlan plan;
    uint8_t *finished; /* (plan.n_trials) a record exists (done or failed) */
    size_t *deal;      /* (n_deal) the unfinished trials, the costliest first */
    size_t n_deal;
    Ctx group; /* this rank's group */
    int groups;
    int stopped;   /* this group stopped at a signal */
    int io_failed; /* this group could not record a trial */
} SweepRun;

/* ------------------------------------------------------------------ options */

/* --pairs TRAIN:TEST[,...] into run, relative to --data when it is a folder. */
static int parse_pairs(SweepRun *run, const char *list, Status *st)
{
    struct stat sb;
    const char *base = run->plan.o->data && stat(run->plan.o->data, &sb) == 0 && S_ISDIR(sb.st_mode)
                           ? run->plan.o->data
                           : NULL;
    char *copy = xstrdup(list), *save = NULL;
    int n = 0;
    run->plan.pair_train = xcalloc(SPLIT_MAX_FOLDS, sizeof *run->plan.pair_train);
    run->plan.pair_test = xcalloc(SPLIT_MAX_FOLDS, sizeof *run->plan.pair_test);
    for (char *p = strtok_r(copy, ", \t\n", &save); p && !st->code;
         p = strtok_r(NULL, ", \t\n", &save)) {
        char *colon = strchr(p, ':');
        if (!colon || colon == p || !colon[1] || strchr(colon + 1, ':'))
            status_set(st, STATUS_USAGE, "option --pairs: '%.200s' is not TRAIN:TEST", p);
        else if (n == SPLIT_MAX_FOLDS)
            status_set(st, STATUS_USAGE, "option --pairs: more than %d pairs", SPLIT_MAX_FOLDS);
        if (st->code)
            break;
        *colon = '\0';
        const char *files[2] = {p, colon + 1};
        char(*dst[2])[SWEEP_PATH] = {&run->plan.pair_train[n], &run->plan.pair_test[n]};
        for (int k = 0; k < 2; k++)
            snprintf(*dst[k], SWEEP_PATH, "%s%s%s", base && files[k][0] != '/' ? base : "",
                     base && files[k][0] != '/' ? "/" : "", files[k]);
        n++;
    }
    free(copy);
    if (!st->code && n == 0)
        status_set(st, STATUS_USAGE, "option --pairs: no TRAIN:TEST pair");
    run->plan.n_folds = n;
    return st->code;
}

/* The folds: --folds K, --pairs, or the one split of --valid-pct / --valid-file. */
static int fold_options(SweepRun *run, Status *st)
{
    const Options *o = run->plan.o;
    if (o->fold)
        return status_set(st, STATUS_USAGE,
                          "option --fold: a sweep trains every fold of --folds K; drop --fold");
    if (o->pairs && (o->folds || o->valid_file))
        return status_set(st, STATUS_USAGE, "option --pairs: the pairs are the folds; drop --%s",
                          o->folds ? "folds" : "valid-file");
    if (o->pairs && o->refit && !o->data)
        return status_set(st, STATUS_USAGE,
                          "option --refit with --pairs needs --data: the whole data to retrain on");
    run->plan.kind = o->pairs ? FOLDS_PAIRS : o->folds ? FOLDS_K : FOLDS_NONE;
    run->plan.n_folds = o->folds ? (int)o->folds : 1;
    return o->pairs ? parse_pairs(run, o->pairs, st) : STATUS_OK;
}

/* Everything about the options that can be checked before any rank trains. Local. */
static int sweep_options(SweepRun *run, Status *st)
{
    const Options *o = run->plan.o;
    DataOptions d;
    static const char *const metrics[] = {"rmse", "mae", NULL};
    int m = -1;
    for (int i = 0; metrics[i]; i++)
        m = !strcmp(o->metric, metrics[i]) ? i : m;
    if (m < 0)
        return status_set(st, STATUS_USAGE, "option --metric: '%s' is not one of: rmse, mae",
                          o->metric);
    run->plan.metric = (SweepMetric)m;
    const int np = run->world->size;
    if (o->ranks_per_trial < 1 || o->ranks_per_trial > np || np % o->ranks_per_trial)
        return status_set(st, STATUS_USAGE,
                          "option --ranks-per-trial: %lld does not divide the %d ranks of the "
                          "job (-np); use a divisor of %d",
                          (long long)o->ranks_per_trial, np, np);
    if (o->resume && strcmp(o->resume, "auto"))
        return status_set(st, STATUS_USAGE,
                          "option --resume: a sweep resumes from its --sweep-dir: give --resume "
                          "auto, not '%s'",
                          o->resume);
    if (cli_data_options(&d, o, st) || fold_options(run, st))
        return st->code;
    return sweep_configs_parse(&run->plan.configs, o, st);
}

/* ------------------------------------------------------------------ trials */

/* run->deal: the unfinished trials, costliest first (ties in trial order). */
static void plan_deal(SweepRun *run)
{
    double *cost = xcalloc(run->plan.n_trials + 1, sizeof *cost);
    run->deal = xcalloc(run->plan.n_trials + 1, sizeof *run->deal);
    run->n_deal = 0;
    for (size_t i = 0; i < run->plan.n_trials; i++) {
        if (run->finished[i])
            continue;
        cost[i] = sweep_trial_cost(&run->plan, i);
        size_t k = run->n_deal++;
        for (; k > 0 && cost[run->deal[k - 1]] < cost[i]; k--)
            run->deal[k] = run->deal[k - 1];
        run->deal[k] = i;
    }
    free(cost);
}

/* ------------------------------------------------------------------ the sweep folder */

/* The plan as text: one line per trial, its folder name, configuration, fold and the
 * train options that reproduce it. */
static char *plan_text(const SweepRun *run)
{
    size_t cap = 4096, used = 0;
    char *text = xmalloc(cap), line[8192], args[6144], dir[SWEEP_PATH];
    used = (size_t)snprintf(text, cap,
                            "collab-mpi sweep plan: %zu trials (configuration x "
                            "fold); each line: trial, settings, fold, train options\n",
                            run->plan.n_trials);
    for (size_t i = 0; i < run->plan.n_trials; i++) {
        Options t;
        Status st;
        status_clear(&st);
        sweep_trial_dir(dir, sizeof dir, &run->plan, i);
        if (sweep_trial_options(&t, &run->plan, i, dir, NULL, &st))
            snprintf(args, sizeof args, " (%s)", st.msg);
        else
            sweep_trial_args(args, sizeof args, &t);
        int n = snprintf(line, sizeof line, "%s\t%s\t%d\ttrain%s\n", strrchr(dir, '/') + 1,
                         run->plan.configs.c[i / (size_t)run->plan.n_folds].text,
                         (int)(i % (size_t)run->plan.n_folds), args);
        n = n < (int)sizeof line ? n : (int)sizeof line - 1;
        while (used + (size_t)n + 1 > cap)
            text = xrealloc(text, cap *= 2);
        memcpy(text + used, line, (size_t)n + 1);
        used += (size_t)n;
    }
    return text;
}

/* Rank 0: a file's whole text (NULL when it cannot be read). */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, got;
    char *s = xmalloc(cap);
    while ((got = fread(s + n, 1, cap - n - 1, f)) > 0)
        if ((n += got) + 1 == cap)
            s = xrealloc(s, cap *= 2);
    fclose(f);
    s[n] = '\0';
    return s;
}

/* Rank 0: the first line where two plans differ, for the message. */
static void first_difference(char *out, size_t len, const char *a, const char *b)
{
    while (*a && *a == *b) {
        const char *na = strchr(a, '\n'), *nb = strchr(b, '\n');
        if (!na || !nb || na - a != nb - b || strncmp(a, b, (size_t)(na - a)))
            break;
        a = na + 1;
        b = nb + 1;
    }
    snprintf(out, len, "%.*s", (int)strcspn(a, "\n"), a);
}

/* Rank 0: writes DIR/plan.txt, or checks a resumed sweep's against it. */
static int plan_file(const SweepRun *run, Status *st)
{
    char path[SWEEP_PATH + 16], diff[600];
    snprintf(path, sizeof path, "%s/plan.txt", run->plan.o->sweep_dir);
    char *want = plan_text(run), *have = read_text(path);
    if (have && !run->plan.o->resume)
        status_set(st, STATUS_USAGE,
                   "%s holds a sweep already (%s): continue it with --resume auto, or "
                   "give another --sweep-dir",
                   run->plan.o->sweep_dir, path);
    else if (have && strcmp(have, want)) {
        first_difference(diff, sizeof diff, have, want);
        status_set(st, STATUS_USAGE,
                   "%s was planned with other settings: its line '%.400s' differs; resume "
                   "with the options it was started with, or give another --sweep-dir",
                   path, diff);
    } else if (!have) {
        FILE *f = fopen(path, "w");
        if (!f || fputs(want, f) < 0 || fclose(f) != 0)
            status_set(st, STATUS_DATA, "cannot write '%s': %s", path, strerror(errno));
    }
    free(want);
    free(have);
    return st->code;
}

/* Rank 0: which trials have a record (done or failed). */
static void scan_records(SweepRun *run)
{
    char dir[SWEEP_PATH], path[SWEEP_PATH + 16];
    for (size_t i = 0; i < run->plan.n_trials; i++) {
        sweep_trial_dir(dir, sizeof dir, &run->plan, i);
        snprintf(path, sizeof path, "%s/result.h5", dir);
        run->finished[i] = access(path, F_OK) == 0;
    }
}

/* The sweep's folder, its plan and, resumed, what is done: rank 0 decides, every rank
 * learns. Returns the agreed status. Collective. */
static int sweep_prepare(SweepRun *run, Status *st)
{
    char trials[SWEEP_PATH + 16];
    run->plan.n_trials = run->plan.configs.n * (size_t)run->plan.n_folds;
    run->finished = xcalloc(run->plan.n_trials + 1, 1);
    snprintf(trials, sizeof trials, "%s/trials", run->plan.o->sweep_dir);
    if (run->world->rank == 0 && !sweep_make_dir(run->plan.o->sweep_dir, st) &&
        !sweep_make_dir(trials, st) && !plan_file(run, st))
        scan_records(run);
    if (status_agree(st, run->world->comm))
        return st->code;
    CHECK_MPI(MPI_Bcast(run->finished, (int)run->plan.n_trials, MPI_UINT8_T, 0, run->world->comm));
    plan_deal(run);
    return STATUS_OK;
}

/* ------------------------------------------------------------------ running a trial */

/* The group's loop: take a trial from the dealer, train it, until none is left or the
 * sweep stops. Collective over the group. */
static void group_loop(SweepRun *run, SweepDealer *dealer)
{
    for (;;) {
        int64_t k = run->group.rank == 0 ? sweep_dealer_next(dealer) : -1;
        CHECK_MPI(MPI_Bcast(&k, 1, MPI_INT64_T, 0, run->group.comm));
        if (k < 0 || (size_t)k >= run->n_deal)
            break;
        const TrialOutcome got = sweep_trial_run(&run->plan, run->deal[k], &run->group, run->world);
        run->stopped |= got == TRIAL_STOPPED;
        run->io_failed |= got == TRIAL_UNRECORDED;
        /* A signal between batches' boundaries (loading, writing) is seen here. */
        run->stopped |= signals_agree(run->group.comm) != 0;
        if (run->stopped || run->io_failed) {
            if (run->group.rank == 0)
                sweep_dealer_stop(dealer);
            break;
        }
    }
}

/* ------------------------------------------------------------------ the table */

/* Rank 0: every trial's record (pending when it has none, or an unreadable one). */
static TrialRecord *read_records(const SweepRun *run)
{
    TrialRecord *rec = xcalloc(run->plan.n_trials + 1, sizeof *rec);
    char dir[SWEEP_PATH], path[SWEEP_PATH + 16];
    for (size_t i = 0; i < run->plan.n_trials; i++) {
        Status st;
        status_clear(&st);
        sweep_trial_dir(dir, sizeof dir, &run->plan, i);
        snprintf(path, sizeof path, "%s/result.h5", dir);
        if (access(path, F_OK) == 0 && sweep_record_read(path, &rec[i], &st))
            log_warn("%s; the trial counts as not trained (delete it to retrain it)", st.msg);
        rec[i].config = (int32_t)(i / (size_t)run->plan.n_folds);
        rec[i].fold = (int32_t)(i % (size_t)run->plan.n_folds);
        snprintf(rec[i].settings, sizeof rec[i].settings, "%s",
                 run->plan.configs.c[rec[i].config].text);
    }
    return rec;
}

/* fmt of v, or "-" when v is not a number. */
static void num_or_dash(char *out, size_t len, const char *fmt, double v)
{
    if (isfinite(v))
        snprintf(out, len, fmt, v);
    else
        snprintf(out, len, "-");
}

/* Rank 0: the ranked table on stdout, and the first failure of every failed
 * configuration. */
static void print_table(const SweepRun *run, const ConfigSummary *cs, const TrialRecord *rec)
{
    const size_t nc = run->plan.configs.n;
    size_t *order = xmalloc((nc + 1) * sizeof *order);
    sweep_order(order, cs, nc);
    printf("\nrank  %-7s %-7s folds  best_epoch  sec/fold  settings\n", run->plan.o->metric, "sd");
    for (size_t k = 0; k < nc; k++) {
        const ConfigSummary *c = &cs[order[k]];
        char rank[16] = "-", folds[32], mean[16], sd[16], best[16], secs[16], note[48] = "";
        if (c->rank)
            snprintf(rank, sizeof rank, "%d", c->rank);
        snprintf(folds, sizeof folds, "%d/%d", c->done, run->plan.n_folds);
        num_or_dash(mean, sizeof mean, "%.4f", c->mean);
        num_or_dash(sd, sizeof sd, "%.4f", c->sd);
        num_or_dash(best, sizeof best, "%.1f", c->best_epoch);
        num_or_dash(secs, sizeof secs, "%.2f", c->seconds);
        if (c->failed || c->pending)
            snprintf(note, sizeof note, "  (%d %s)", c->failed ? c->failed : c->pending,
                     c->failed ? "failed" : "not trained yet");
        printf("%-5s %-7s %-7s %-6s %-11s %-9s %s%s\n", rank, mean, sd, folds, best, secs,
               c->settings, note);
    }
    for (size_t k = 0; k < nc; k++)
        for (size_t i = 0; i < run->plan.n_trials && cs[order[k]].failed; i++)
            if (rec[i].config == cs[order[k]].config && rec[i].status == TRIAL_FAILED) {
                printf("failed: %s fold %d: %s\n", rec[i].settings, rec[i].fold, rec[i].message);
                break;
            }
    free(order);
}

/* Rank 0: the folds in words, for the table's attributes. */
static void folds_text(char *out, size_t len, const SweepRun *run)
{
    if (run->plan.kind == FOLDS_K)
        snprintf(out, len, "%d folds by --seed %lld", run->plan.n_folds,
                 (long long)run->plan.o->seed);
    else if (run->plan.kind == FOLDS_PAIRS)
        snprintf(out, len, "%d train:test pairs (--pairs)", run->plan.n_folds);
    else if (run->plan.o->valid_file)
        snprintf(out, len, "--valid-file %s", run->plan.o->valid_file);
    else
        snprintf(out, len, "--valid-pct %g --seed %lld", run->plan.o->valid_pct,
                 (long long)run->plan.o->seed);
}

/* Rank 0: reads the records, writes DIR/sweep.h5, prints the table; *best = the best
 * configuration (-1: none done), *left = the trials without a record. */
static int sweep_report(const SweepRun *run, int *best, size_t *left, Status *st)
{
    TrialRecord *rec = read_records(run);
    ConfigSummary *cs = xcalloc(run->plan.configs.n + 1, sizeof *cs);
    char path[SWEEP_PATH + 16], folds[256];
    sweep_summarize(cs, run->plan.configs.n, rec, run->plan.n_trials, run->plan.metric);
    *left = 0;
    for (size_t i = 0; i < run->plan.n_trials; i++)
        *left += rec[i].status == TRIAL_PENDING;
    *best = -1;
    for (size_t c = 0; c < run->plan.configs.n; c++)
        if (cs[c].rank == 1)
            *best = (int)c;
    folds_text(folds, sizeof folds, run);
    const SweepInfo info = {run->plan.o->metric, folds,
                            run->plan.n_folds,   (int32_t)run->plan.o->ranks_per_trial,
                            run->groups,         *left == 0};
    snprintf(path, sizeof path, "%s/sweep.h5", run->plan.o->sweep_dir);
    sweep_table_write(path, &info, rec, run->plan.n_trials, cs, run->plan.configs.n, st);
    print_table(run, cs, rec); /* --quiet too: the table is the sweep's result */
    if (*best >= 0 && isfinite(cs[*best].sd))
        printf("best: %s: %s %.4f +- %.4f over %d of %d folds\n", cs[*best].settings,
               run->plan.o->metric, cs[*best].mean, cs[*best].sd, cs[*best].done,
               run->plan.n_folds);
    else if (*best >= 0)
        printf("best: %s: %s %.4f (%d of %d folds)\n", cs[*best].settings, run->plan.o->metric,
               cs[*best].mean, cs[*best].done, run->plan.n_folds);
    printf("table: %s (%zu of %zu trials recorded)\n", path, run->plan.n_trials - *left,
           run->plan.n_trials);
    fflush(stdout);
    for (size_t i = 0; i < run->plan.n_trials; i++)
        sweep_record_free(&rec[i]);
    free(rec);
    free(cs);
    return st->code;
}

/* ------------------------------------------------------------------ refit */

/* Trains configuration c on all the data (no validation rows) into --output, on every
 * rank, as `train` would. Collective over the job. */
static int sweep_refit(SweepRun *run, int c)
{
    char dir[SWEEP_PATH + 16], model[SWEEP_PATH + 16];
    Options t;
    Status st;
    status_clear(&st);
    snprintf(dir, sizeof dir, "%s/refit", run->plan.o->sweep_dir);
    snprintf(model, sizeof model, "%s/best.h5", run->plan.o->sweep_dir);
    if (sweep_trial_options(&t, &run->plan, (size_t)c * (size_t)run->plan.n_folds, dir, NULL,
                            &st)) {
        log_error("--refit: %s", st.msg);
        return st.code;
    }
    t.data = run->plan.o->data; /* pairs: the whole data, not the first pair's */
    t.valid_file = NULL;
    t.valid_pct = 0.0;
    t.folds = t.fold = 0;
    t.output = run->plan.o->output ? run->plan.o->output : model;
    t.progress = "auto";
    t.quiet = run->plan.o->quiet;
    log_info("\nrefit: %s on all the data -> %s\n", run->plan.configs.c[c].text, t.output);
    const int rc = cmd_train(run->world, &t);
    if (rc == 0)
        ckpt_prune(dir, 0, run->world);
    return rc;
}

/* ------------------------------------------------------------------ the command */

/* The groups train until the dealer has no trial left or one stops; then the job agrees
 * on how it ended: 1 when a group could not record, 2 stopped, 0 else. Collective. */
static int sweep_train(SweepRun *run)
{
    SweepDealer dealer;
    const int r = (int)run->plan.o->ranks_per_trial;
    run->groups = run->world->size / r;
    ctx_split(&run->group, run->world, run->world->rank / r, run->world->rank);
    sweep_dealer_init(&dealer, run->world);
    const SweepPlan *p = &run->plan;
    log_info("sweep: %zu configuration%s x %d fold%s = %zu trial%s, %zu to train, in %d "
             "group%s of %d rank%s (%s)\n",
             p->configs.n, p->configs.n == 1 ? "" : "s", p->n_folds, p->n_folds == 1 ? "" : "s",
             p->n_trials, p->n_trials == 1 ? "" : "s", run->n_deal, run->groups,
             run->groups == 1 ? "" : "s", r, r == 1 ? "" : "s", p->o->sweep_dir);
    group_loop(run, &dealer);
    int how[2] = {run->io_failed, run->stopped};
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, how, 2, MPI_INT, MPI_MAX, run->world->comm));
    sweep_dealer_free(&dealer);
    ctx_free(&run->group);
    return how[0] ? 1 : how[1] ? 2 : 0;
}

static void sweep_free(SweepRun *run)
{
    sweep_configs_free(&run->plan.configs);
    free(run->plan.pair_train);
    free(run->plan.pair_test);
    free(run->finished);
    free(run->deal);
}

int cmd_sweep(const Ctx *ctx, Options *o)
{
    SweepRun run = {.world = ctx, .plan = {.o = o, .verbosity = log_verbosity()}};
    Status st;
    status_clear(&st);
    signals_install();        /* a signal between trials is kept for the next boundary */
    sweep_options(&run, &st); /* local and the same on every rank, but --configs' file */
    if (status_agree(&st, ctx->comm) || sweep_prepare(&run, &st)) {
        log_error("%s", st.msg);
        sweep_free(&run);
        return st.code;
    }
    const int how = sweep_train(&run);
    int best = -1, rc = STATUS_OK;
    size_t left = 0;
    if (ctx->rank == 0 && sweep_report(&run, &best, &left, &st))
        log_error("%s", st.msg);
    int agreed[3] = {st.code, best, (int)(left > 0)};
    CHECK_MPI(MPI_Bcast(agreed, 3, MPI_INT, 0, ctx->comm));
    const int sig = signals_agree(ctx->comm);
    if (how == 1 || agreed[0]) {
        rc = STATUS_DATA;
    } else if (how == 2) {
        log_info("stopped by signal %d: every group checkpointed its trial; continue with "
                 "--resume auto (exit status %d)\n",
                 sig, EXIT_RESUME);
        rc = EXIT_RESUME;
    } else if (agreed[1] < 0) {
        log_error("no configuration finished a fold: see the failures above and "
                  "%s/trials/*/train.log",
                  o->sweep_dir);
        rc = STATUS_DATA;
    } else if (o->refit) {
        rc = sweep_refit(&run, agreed[1]);
    }
    sweep_free(&run);
    return rc;
}
