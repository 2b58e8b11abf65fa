/* cmd_train.c - `collab-mpi train`: parse -> (resumed: the options not given, from the
 * checkpoint) -> validate -> load -> (resume) -> fit with
 * checkpoints and metrics -> report -> write the model. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/hooks.h"
#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/base/log.h"
#include "collab/base/watchdog.h"
#include "collab/store/params.h"
#include "collab/train/signals.h"

/* Checkpoint cadence and where things go, validated from the options. */
typedef struct CkptPolicy {
    const char *dir;       /* NULL: no checkpoints */
    int64_t every_epochs;  /* 0: not by epochs */
    int64_t every_batches; /* 0: not by batches */
    double minutes;        /* 0: not by time */
    int keep;
} CkptPolicy;

/* Everything the fit hooks need. */
typedef struct TrainRun {
    const Ctx *ctx;
    const Options *o;
    const Dataset *ds;
    CkptPolicy policy;
    CkptSetting *settings;
    size_t n_settings;
    MetricsFile metrics; /* rank 0; closed (-1) when not kept */
    double last_ckpt;    /* MPI_Wtime of the last checkpoint (rank 0's clock) */
    int epochs_done;
    double seconds, train_seconds;
    uint64_t bytes;    /* exchanged over the epochs run, summed over ranks */
    int checkpointed;  /* a checkpoint was written at the stop */
    int failed;        /* a checkpoint or metrics write failed */
    int nonfinite;     /* a checkpoint was refused: the parameters are not finite */
    int64_t signal_at; /* test hook COLLAB_TEST_SIGNAL_AT, -1 when unset */
    int64_t nan_at;    /* test hook COLLAB_TEST_NAN_AT, -1 when unset */
    int64_t kill_at;   /* test hook COLLAB_TEST_KILL_AT, -1 when unset */
} TrainRun;

static int parse_policy(CkptPolicy *p, const Options *o, Status *st)
{
    char *end = NULL;
    long long n = strtoll(o->checkpoint_every, &end, 10);
    int batches = end && *end == 'b' && end[1] == '\0';
    memset(p, 0, sizeof *p);
    if (end == o->checkpoint_every || (*end && !batches) || n < 1)
        return status_set(st, STATUS_USAGE,
                          "option --checkpoint-every: '%s' is not N (epochs) "
                          "or Nb (batches) with N >= 1",
                          o->checkpoint_every);
    if (!(o->checkpoint_minutes >= 0))
        return status_set(st, STATUS_USAGE, "option --checkpoint-minutes: %g is negative",
                          o->checkpoint_minutes);
    if (o->keep < 1)
        return status_set(st, STATUS_USAGE, "option --keep: %lld is not >= 1", (long long)o->keep);
    if (o->resume && !strcmp(o->resume, "auto") && !o->checkpoint_dir)
        return status_set(st, STATUS_USAGE, "option --resume auto needs --checkpoint-dir");
    p->dir = o->checkpoint_dir;
    p->every_epochs = batches ? 0 : n;
    p->every_batches = batches ? n : 0;
    p->minutes = o->checkpoint_minutes;
    p->keep = (int)o->keep;
    return STATUS_OK;
}

/* The checkpoint content of the trainer at (epoch, batch). */
static void run_content(CkptContent *c, CkptTable *tables, Trainer *t, const TrainRun *run,
                        int with_optimizer, int epoch, size_t batch)
{
    const Dataset *ds = run->ds;
    memset(c, 0, sizeof *c);
    c->with_optimizer = with_optimizer;
    c->tables = tables;
    c->n_tables =
        params_tables(tables, &t->model, &t->opt, &ds->layout, run->ctx->rank, with_optimizer);
    trainer_progress(t, epoch, batch, &c->progress);
    c->data = (CkptData){ds->n_train_total, ds->n_valid_total, ds->users.n, ds->items.n, 0};
    c->data.fingerprint = ckpt_fingerprint(ds->train_gidx, ds->train_user, ds->train_item,
                                           ds->train_rating, ds->n_train, 1, run->ctx) +
                          ckpt_fingerprint(NULL, ds->valid_user, ds->valid_item, ds->valid_rating,
                                           ds->n_valid, 2, run->ctx);
    c->user_names = ds->users.names;
    c->item_names = ds->items.names;
    c->item_titles = ds->item_titles;
    c->settings = run->settings;
    c->n_settings = run->n_settings;
}

/* Size of a file in MB (rank 0's view), for throughput reports. */
static double file_mb(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : 0.0;
}

static int run_checkpoint(TrainRun *run, Trainer *t, int epoch, size_t batch)
{
    CkptTable tables[PARAMS_MAX_TABLES];
    CkptContent c;
    Status st;
    char path[4096];
    status_clear(&st);
    trainer_settle(t);               /* blocked training: item rows home before they are read */
    if (!trainer_params_finite(t)) { /* never replace a good checkpoint by a broken one */
        run->nonfinite = 1;
        return STATUS_DATA;
    }
    run_content(&c, tables, t, run, 1, epoch, batch);
    ckpt_name(path, sizeof path, run->policy.dir, epoch, t->iter);
    const double t0 = MPI_Wtime();
    if (ckpt_write(path, run->ctx, &c, &st)) {
        log_error("%s; the previous checkpoint is intact: free some space or choose "
                  "another --checkpoint-dir, then resume with --resume auto",
                  st.msg);
        run->failed = 1;
        return st.code;
    }
    const double secs = MPI_Wtime() - t0, mb = file_mb(path);
    ckpt_prune(run->policy.dir, run->policy.keep, run->ctx);
    log_verbose("checkpoint: %s: %.1f MB written in %.3f s (%.0f MB/s)\n", path, mb, secs,
                mb / secs);
    run->last_ckpt = MPI_Wtime();
    return STATUS_OK;
}

/* Is a checkpoint due at this boundary by the cadence (not counting stop/timer)? */
static int cadence_due(const TrainRun *run, const Trainer *t, int epoch, int epoch_end)
{
    const CkptPolicy *p = &run->policy;
    if (epoch_end)
        return p->every_epochs && epoch % p->every_epochs == 0;
    return p->every_batches && t->iter % p->every_batches == 0;
}

/* Test hook: COLLAB_TEST_SIGNAL_AT=N makes rank 0 raise SIGTERM after training batch N
 * (counted from the start of the fit), as a batch scheduler would; the ranks then agree
 * to stop at the next boundary. */
static void test_signal(const TrainRun *run, const Trainer *t)
{
    if (run->signal_at >= 0 && run->ctx->rank == 0 && t->iter == run->signal_at)
        raise(SIGTERM);
}

/* Test hook: COLLAB_TEST_NAN_AT=N makes rank 0's parameters NaN after training batch N,
 * as a hardware fault or an overflow would; the next batch's loss is then NaN. */
static void test_nan(const TrainRun *run, Trainer *t)
{
    if (run->nan_at >= 0 && run->ctx->rank == 0 && t->iter == run->nan_at)
        for (size_t i = 0; i < t->model.n_params; i++)
            t->model.params[i] = NAN;
}

/* Test hook: COLLAB_TEST_KILL_AT=N makes the last rank die by SIGKILL after training
 * batch N, as a node failure or the OOM killer would: no handler, no checkpoint. */
static void test_kill(const TrainRun *run, const Trainer *t)
{
    if (run->kill_at >= 0 && run->ctx->rank == run->ctx->size - 1 && t->iter == run->kill_at)
        raise(SIGKILL);
}

static int on_boundary(Trainer *t, int epoch, size_t batch, int epoch_end, void *arg)
{
    TrainRun *run = arg;
    test_signal(run, t);
    test_nan(run, t);
    test_kill(run, t);
    const int stop = t->flags[FLAG_STOP] != 0;
    if (run->policy.dir && !run->failed &&
        (stop || t->flags[FLAG_CHECKPOINT] || cadence_due(run, t, epoch, epoch_end))) {
        if (run_checkpoint(run, t, epoch, batch))
            return 1;
        run->checkpointed = stop;
    }
    /* Rank 0's clock decides timed checkpoints; the flag reaches every rank at the next
     * boundary's reduction. */
    if (run->policy.dir && run->policy.minutes > 0 && run->ctx->rank == 0 &&
        MPI_Wtime() - run->last_ckpt >= run->policy.minutes * 60.0)
        t->want[FLAG_CHECKPOINT] = 1;
    return stop;
}

static void on_epoch(const EpochRow *row, void *arg)
{
    TrainRun *run = arg;
    Status st;
    status_clear(&st);
    run->epochs_done++;
    run->seconds += row->seconds;
    run->train_seconds += row->train_seconds;
    run->bytes += row->exchange_bytes;
    if (log_rank() != 0)
        return;
    if (log_verbosity() >= LOG_NORMAL)
        metrics_print_row(stdout, row, log_verbosity() >= LOG_VERBOSE);
    if (metrics_file_append(&run->metrics, row, &st)) {
        log_warn("%s; metrics are no longer recorded", st.msg);
        metrics_file_close(&run->metrics);
    }
}

/* Resumes t from the checkpoint --resume named (a path, or auto: the newest one in
 * --checkpoint-dir, found by cli_resume_settings; none yet: a fresh start). */
static int run_resume(TrainRun *run, Trainer *t, const char *path)
{
    const Options *o = run->o;
    if (!path[0]) {
        log_info("resume: no checkpoint in %s yet, starting afresh\n", o->checkpoint_dir);
        return STATUS_OK;
    }
    CkptTable tables[PARAMS_MAX_TABLES];
    CkptContent c;
    Status st;
    status_clear(&st);
    run_content(&c, tables, t, run, 1, 0, 0);
    const double t0 = MPI_Wtime();
    if (ckpt_read(path, run->ctx, &c, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    const double secs = MPI_Wtime() - t0, mb = file_mb(path);
    trainer_resume(t, &c.progress);
    trainer_share_replicated(t);
    /* blocked training's steps are strata */
    const char *one = t->blocked ? "stratum" : "batch", *many = t->blocked ? "strata" : "batches";
    log_info("resume: %s at epoch %lld, %s %lld (%lld %s done); %.1f MB read and checked in "
             "%.3f s (%.0f MB/s)\n",
             path, (long long)c.progress.epoch, one, (long long)c.progress.batch,
             (long long)c.progress.iter, many, mb, secs, mb / secs);
    return STATUS_OK;
}

/* Rank 0: fails when the folder of an output file (--output, --dump-params) is not
 * there or not writable, so that a long run does not learn it only at the end. */
static int check_out_dir(const char *opt, const char *path, Status *st)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    const char *d = !slash ? "." : dir[0] ? dir : "/";
    struct stat sb;
    const char *why = stat(d, &sb) != 0             ? strerror(errno)
                      : !S_ISDIR(sb.st_mode)        ? "not a folder"
                      : access(d, W_OK | X_OK) != 0 ? strerror(errno)
                                                    : NULL;
    if (why)
        return status_set(st, STATUS_DATA,
                          "%s: cannot write into the folder '%s': %s (the "
                          "file would only be written at the end of training)",
                          opt, d, why);
    return STATUS_OK;
}

/* Opens the metrics file on rank 0 (--metrics, or DIR/metrics.h5), creating the
 * checkpoint folder first; errors agreed. */
static int run_open_metrics(TrainRun *run, int first_epoch)
{
    Status st;
    char path[4096] = "";
    status_clear(&st);
    const char *dir = run->o->checkpoint_dir;
    if (dir && run->ctx->rank == 0 && mkdir(dir, 0777) != 0 && errno != EEXIST)
        status_set(&st, STATUS_DATA, "--checkpoint-dir: cannot create '%s': %s", dir,
                   strerror(errno));
    run->metrics.file = run->metrics.table = -1;
    if (run->o->metrics)
        snprintf(path, sizeof path, "%s", run->o->metrics);
    else if (run->o->checkpoint_dir)
        snprintf(path, sizeof path, "%s/metrics.h5", run->o->checkpoint_dir);
    if (path[0] && run->ctx->rank == 0)
        metrics_file_open(&run->metrics, path, first_epoch, &st);
    if (run->o->output && run->ctx->rank == 0)
        check_out_dir("--output", run->o->output, &st);
    if (run->o->dump_params && run->ctx->rank == 0)
        check_out_dir("--dump-params", run->o->dump_params, &st);
    if (status_agree(&st, run->ctx->comm))
        log_error("%s", st.msg);
    return st.code;
}

/* The final model alone (--output), and the raw dump (--dump-params). */
static int run_outputs(TrainRun *run, Trainer *t)
{
    Status st;
    status_clear(&st);
    if (run->o->output && !trainer_params_finite(t)) {
        run->nonfinite = 1;
        return STATUS_DATA;
    }
    if (run->o->output) {
        CkptTable tables[PARAMS_MAX_TABLES];
        CkptContent c;
        run_content(&c, tables, t, run, 0, t->cfg.epochs, 0);
        if (ckpt_write(run->o->output, run->ctx, &c, &st))
            log_error("--output: %s", st.msg);
    }
    char msg[1200];
    watchdog_at(run->ctx->watch, WATCH_OUTPUT, t->cfg.epochs, 0);
    if (!st.code && run->o->dump_params &&
        params_dump(&t->model, &run->ds->layout, run->ctx, run->o->dump_params, msg, sizeof msg)) {
        log_error("--dump-params: %s", msg);
        st.code = STATUS_DATA;
    }
    return st.code;
}

/* The summary line (rank 0), then with --verbose each rank's peak memory. */
static void print_summary(const TrainRun *run, Trainer *t, double t0)
{
    double mae = NAN, mse = trainer_validate(t, &mae);
    double rss = metrics_peak_rss_mb(), rss_max = 0.0;
    double *all = run->ctx->rank == 0 ? xmalloc((size_t)run->ctx->size * sizeof(double)) : NULL;
    CHECK_MPI(MPI_Gather(&rss, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, run->ctx->comm));
    if (log_rank() != 0)
        return;
    for (int r = 0; r < run->ctx->size; r++)
        rss_max = all[r] > rss_max ? all[r] : rss_max;
    const int n = run->epochs_done;
    const double batches = (double)n * (double)t->n_batches;
    /* A blocked epoch runs every training rating; a batched one drops the partial batch. */
    const double per_epoch =
        t->blocked ? (double)run->ds->n_train_total : (double)t->n_batches * (double)t->cfg.bs;
    printf("summary: epochs %d valid_loss %.6f rmse %.6f mae %.6f sec_per_epoch %.4f "
           "train_sec_per_epoch %.4f total_sec %.3f bytes_per_batch %.0f peak_rss_mb %.1f "
           "train_ratings_per_sec %.0f\n",
           t->cfg.epochs, mse, sqrt(mse), mae, n ? run->seconds / n : 0.0,
           n ? run->train_seconds / n : 0.0, MPI_Wtime() - t0,
           batches > 0 ? (double)run->bytes / batches : 0.0, rss_max,
           run->train_seconds > 0 ? (double)n * per_epoch / run->train_seconds : 0.0);
    log_verbose("peak memory per rank (MB):");
    for (int r = 0; r < run->ctx->size; r++)
        log_verbose(" %.1f", all[r]);
    log_verbose("\n");
    free(all);
}

/* The message of a diverged run: where, what is kept, what to do. Returns STATUS_DATA. */
static int report_diverged(const TrainRun *run, const Trainer *t)
{
    char kept[4200] = "there is no checkpoint (no --checkpoint-dir)", last[4096];
    if (run->policy.dir && ckpt_find_latest(last, sizeof last, run->policy.dir, run->ctx))
        snprintf(kept, sizeof kept, "the last good checkpoint, %s, is kept", last);
    else if (run->policy.dir)
        snprintf(kept, sizeof kept, "no checkpoint had been written yet");
    const TrainDiverged *d = &t->diverged;
    if (d->yes)
        log_error("training diverged: the loss of epoch %d, %s %zu is NaN or infinite "
                  "(lr %g); no checkpoint of these parameters was written and %s. Try a "
                  "lower --lr (this run has --lr %g; e.g. --lr %g)",
                  d->epoch, t->blocked ? "stratum" : "batch", d->batch, d->lr, kept, run->o->lr,
                  run->o->lr / 10);
    else
        log_error("training diverged: the parameters are no longer finite (at batch %lld); "
                  "they were not written and %s. Try a lower --lr (this run has --lr %g; "
                  "e.g. --lr %g)",
                  (long long)t->iter, kept, run->o->lr, run->o->lr / 10);
    return STATUS_DATA;
}

/* Fits and reports; returns the exit status. */
static int run_fit(TrainRun *run, Trainer *t)
{
    const FitHooks hooks = {on_epoch, on_boundary, run};
    const double t0 = MPI_Wtime();
    run->last_ckpt = t0;
    if (log_rank() == 0 && log_verbosity() >= LOG_NORMAL && t->start_epoch < t->cfg.epochs)
        metrics_print_header(stdout);
    int stopped = trainer_fit(t, &hooks);
    if (t->diverged.yes || run->nonfinite)
        return report_diverged(run, t);
    if (run->failed)
        return STATUS_DATA;
    if (stopped) {
        const int sig = signals_agree(run->ctx->comm);
        if (run->checkpointed) {
            log_info("stopped by signal %d: checkpoint written; resume with --resume auto "
                     "(exit status %d)\n",
                     sig, EXIT_RESUME);
            return EXIT_RESUME;
        }
        log_error("stopped by signal %d without a checkpoint (no --checkpoint-dir)", sig);
        return 128 + sig;
    }
    print_summary(run, t, t0);
    int rc = run_outputs(run, t);
    return run->nonfinite ? report_diverged(run, t) : rc;
}

/* The stall timeout, agreed over the ranks (the environment may differ between them). */
static int run_stall_timeout(double *secs, const Ctx *ctx, const Options *o)
{
    Status st;
    status_clear(&st);
    cli_stall_timeout(secs, o, &st);
    if (status_agree(&st, ctx->comm))
        log_error("%s", st.msg);
    return st.code;
}

/* Validates o, trains (from the checkpoint resume_path when not "") and reports. */
static int train(const Ctx *world, const Options *o, const char *resume_path)
{
    TrainConfig cfg;
    Watchdog watch;
    double stall = 0;
    /* The context of this command: the world's, and once started, the watchdog that its
     * steps report to. */
    Ctx with_watch = *world;
    const Ctx *ctx = &with_watch;
    /* The test hooks are read once, not per batch. */
    TrainRun run = {.ctx = ctx,
                    .o = o,
                    .signal_at = hooks_signal_at(),
                    .nan_at = hooks_nan_at(),
                    .kill_at = hooks_kill_at()};
    Status st;
    status_clear(&st);
    if (cli_train_config(&cfg, o, &st) || parse_policy(&run.policy, o, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    if (run_stall_timeout(&stall, ctx, o))
        return STATUS_USAGE;
    if (cfg.blocks && cfg.blocks < ctx->size) { /* the same test on every rank */
        log_error("option --blocks: %d blocks for %d ranks; every rank needs a whole user "
                  "block, so use --blocks %d or more (a multiple of %d balances best)",
                  cfg.blocks, ctx->size, ctx->size, ctx->size);
        return STATUS_USAGE;
    }
    Dataset ds;
    Trainer t;
    int rc = cli_setup_trainer(&t, &ds, ctx, o, &cfg, "train");
    if (rc)
        return rc;
    run.ds = &ds;
    run.settings = cli_settings(cli_command("train"), o, &run.n_settings);
    watchdog_start(&watch, ctx, stall); /* from here on, no step waits forever */
    with_watch.watch = &watch;
    rc = o->resume ? run_resume(&run, &t, resume_path) : STATUS_OK;
    if (!rc)
        rc = run_open_metrics(&run, t.start_epoch);
    if (!rc)
        rc = run_fit(&run, &t);
    with_watch.watch = NULL;
    watchdog_stop(&watch);
    if (ctx->rank == 0)
        metrics_file_close(&run.metrics);
    trainer_free(&t);
    cli_settings_free(run.settings, run.n_settings);
    dataset_free(&ds);
    return rc;
}

int cmd_train(const Ctx *ctx, Options *o)
{
    CliResume resume; /* --resume: the options not given come from the checkpoint */
    Status st;
    status_clear(&st);
    int rc = cli_resume_settings(&resume, o, cli_command("train"), ctx, &st);
    if (rc)
        log_error("%s", st.msg);
    else
        rc = train(ctx, o, resume.path);
    cli_resume_free(&resume);
    return rc;
}
