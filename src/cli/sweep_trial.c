/* sweep_trial.c - one trial of a sweep (cli/sweep_trial.h): its options, its folder and
 * log, train run on the group's communicator, its record. */
#include "config.h"

#include "collab/cli/sweep_trial.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/log.h"
#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/store/checkpoint.h"
#include "collab/store/metrics_file.h"
#include "collab/store/sweep_file.h"
#include "collab/train/signals.h"

/* The options the sweep sets in each trial itself, left out of the plan. */
static int bookkeeping(const char *name)
{
    static const char *const names[] = {"checkpoint-dir",
                                        "checkpoint-every",
                                        "checkpoint-minutes",
                                        "keep",
                                        "resume",
                                        "output",
                                        "metrics",
                                        "progress",
                                        "progress-seconds",
                                        "quiet",
                                        "verbose",
                                        "dump-params",
                                        "max-memory",
                                        NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(name, names[i]))
            return 1;
    return 0;
}

/* mkdir that accepts an existing folder. */
int sweep_make_dir(const char *path, Status *st)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return status_set(st, STATUS_DATA, "cannot create the folder '%s': %s", path,
                          strerror(errno));
    return STATUS_OK;
}

/* ------------------------------------------------------------------ options */

/* The folder of trial i. */
void sweep_trial_dir(char *out, size_t len, const SweepPlan *p, size_t i)
{
    snprintf(out, len, "%s/trials/c%04zu-f%d", p->o->sweep_dir, i / (size_t)p->n_folds,
             (int)(i % (size_t)p->n_folds));
}

/* Copies the sweep's data, model and training options into t, train's options: every
 * option of sweep's table that train also has, but the sweep's own group. */
static void copy_shared(Options *t, const Options *o)
{
    const Command *sweep = cli_command("sweep"), *train = cli_command("train");
    for (const OptSpec *const *g = sweep->groups; *g; g++) {
        if (*g == CLI_SWEEP_OPTS)
            continue;
        for (const OptSpec *s = *g; s->name; s++) {
            const OptSpec *ts = cli_find_option(train, s->name);
            if (!ts || !strcmp(s->name, "help"))
                continue;
            const size_t size = ts->type == OPT_STR      ? sizeof(const char *)
                                : ts->type == OPT_FLAG   ? sizeof(int)
                                : ts->type == OPT_DOUBLE ? sizeof(double)
                                                         : sizeof(int64_t);
            memcpy((char *)t + ts->offset, (const char *)o + ts->offset, size);
        }
    }
}

/* Train's options for trial i (paths point into dir and model, the caller's). */
int sweep_trial_options(Options *t, const SweepPlan *p, size_t i, const char *dir,
                        const char *model, Status *st)
{
    const Command *train = cli_command("train");
    const size_t c = i / (size_t)p->n_folds;
    const int f = (int)(i % (size_t)p->n_folds);
    if (cli_parse(t, train, 0, NULL, st))
        return st->code;
    copy_shared(t, p->o);
    if (sweep_config_apply(t, &p->configs.c[c], st))
        return st->code;
    if (p->kind == FOLDS_K) {
        t->folds = p->n_folds;
        t->fold = f;
    } else if (p->kind == FOLDS_PAIRS) {
        t->data = p->pair_train[f];
        t->valid_file = p->pair_test[f];
    }
    t->checkpoint_dir = dir;
    t->checkpoint_every = "1";
    t->keep = 1;
    t->resume = "auto";
    t->output = model;
    t->progress = "never";
    t->verbose = p->o->verbose;
    cli_given_all(t, train); /* resumed, a trial keeps these, not its checkpoint's */
    return STATUS_OK;
}

/* " --name value" for every setting of t that differs from train's defaults (but the
 * sweep's bookkeeping): the train options that reproduce the trial. */
void sweep_trial_args(char *out, size_t len, const Options *t)
{
    const Command *train = cli_command("train");
    Options def;
    Status st;
    size_t n = 0, nd = 0;
    status_clear(&st);
    cli_parse(&def, train, 0, NULL, &st);
    CkptSetting *a = cli_settings(train, t, &n), *b = cli_settings(train, &def, &nd);
    out[0] = '\0';
    for (size_t k = 0; k < n && k < nd; k++) {
        if (bookkeeping(a[k].name) || !strcmp(a[k].value, b[k].value))
            continue;
        char v[64];
        const OptSpec *s = cli_find_option(train, a[k].name);
        if (s && s->type == OPT_DOUBLE) /* the shortest text that reads back the same */
            for (int digits = 1; digits <= 17; digits++) {
                const double x = *(const double *)((const char *)t + s->offset);
                snprintf(v, sizeof v, "%.*g", digits, x);
                if (strtod(v, NULL) == x)
                    break;
            }
        snprintf(out + strlen(out), len - strlen(out), " --%s %s", a[k].name,
                 s && s->type == OPT_DOUBLE ? v : a[k].value);
    }
    cli_settings_free(a, n);
    cli_settings_free(b, nd);
}

/* What a trial costs, roughly: epochs x (factors + 8), to deal the long ones first. */
double sweep_trial_cost(const SweepPlan *p, size_t i)
{
    Options t;
    Status st;
    status_clear(&st);
    if (sweep_trial_options(&t, p, i, "", NULL, &st))
        return 0.0;
    return (double)t.epochs * (double)(t.n_factors + 8);
}

/* ------------------------------------------------------------------ running */

/* The group's first rank writes the trial's output into its train.log: stdout and stderr
 * are pointed at the file for the trial, then put back. */
typedef struct Redirect {
    int out, err; /* the saved descriptors, -1 when not redirected */
} Redirect;

static void redirect_open(Redirect *r, const char *path)
{
    fflush(stdout);
    fflush(stderr);
    r->out = r->err = -1;
    const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd < 0)
        return; /* the trial's output stays where it was */
    r->out = dup(STDOUT_FILENO);
    r->err = dup(STDERR_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static void redirect_close(Redirect *r)
{
    fflush(stdout);
    fflush(stderr);
    if (r->out >= 0) {
        dup2(r->out, STDOUT_FILENO);
        dup2(r->err, STDERR_FILENO);
        close(r->out);
        close(r->err);
    }
}

/* Group rank 0: the record of a trial that ended with train's status rc. */
static void trial_record(TrialRecord *r, const SweepPlan *p, size_t i, const char *dir, int rc,
                         const char *msg)
{
    char path[SWEEP_PATH + 16];
    EpochRow *rows = NULL;
    size_t n = 0;
    Status st;
    status_clear(&st);
    memset(r, 0, sizeof *r);
    r->config = (int32_t)(i / (size_t)p->n_folds);
    r->fold = (int32_t)(i % (size_t)p->n_folds);
    r->status = rc == 0 ? TRIAL_DONE : TRIAL_FAILED;
    snprintf(r->settings, sizeof r->settings, "%s", p->configs.c[r->config].text);
    if (rc)
        snprintf(r->message, sizeof r->message, "%s", msg[0] ? msg : "train failed");
    snprintf(path, sizeof path, "%s/metrics.h5", dir);
    if (access(path, F_OK) == 0)
        metrics_file_read(path, &rows, &n, &st);
    if (rc == 0 && (n == 0 || st.code)) { /* a finished trial without its epochs */
        r->status = TRIAL_FAILED;
        snprintf(r->message, sizeof r->message, "%.500s", n ? st.msg : "no epoch was trained");
    }
    r->n_epochs = n;
    r->valid_loss = xcalloc(n + 1, sizeof(double));
    r->valid_mae = xcalloc(n + 1, sizeof(double));
    r->train_loss = xcalloc(n + 1, sizeof(double));
    r->seconds = xcalloc(n + 1, sizeof(double));
    for (size_t e = 0; e < n; e++) {
        r->valid_loss[e] = rows[e].valid_loss;
        r->valid_mae[e] = rows[e].valid_mae;
        r->train_loss[e] = rows[e].train_loss;
        r->seconds[e] = rows[e].seconds;
    }
    free(rows);
}

/* Group rank 0: the line a finished trial prints (unless --quiet). */
static void trial_line(const SweepPlan *p, const TrialRecord *r, const char *dir)
{
    if (p->verbosity < LOG_NORMAL)
        return;
    const char *id = strrchr(dir, '/') + 1;
    if (r->status == TRIAL_DONE)
        printf("trial %s  %s  fold %d: %s %.4f after %zu epochs (%.1f s)\n", id, r->settings,
               r->fold, p->o->metric, sweep_trial_metric(r, p->metric), r->n_epochs,
               r->wall_seconds);
    else
        printf("trial %s  %s  fold %d: failed: %s\n", id, r->settings, r->fold, r->message);
    fflush(stdout);
}

/* Runs train for trial i on group. Returns train's exit status (EXIT_RESUME when it
 * stopped at a signal); msg gets its error message. Collective over group. */
static int trial_train(const SweepPlan *p, size_t i, const char *dir, const Ctx *group,
                       const Ctx *world, char *msg, size_t len)
{
    char model[SWEEP_PATH + 16], log_path[SWEEP_PATH + 16];
    Options t;
    Status st;
    status_clear(&st);
    snprintf(model, sizeof model, "%s/model.h5", dir);
    snprintf(log_path, sizeof log_path, "%s/train.log", dir);
    msg[0] = '\0';
    if (sweep_trial_options(&t, p, i, dir, p->o->keep_models ? model : NULL, &st)) {
        snprintf(msg, len, "%.500s", st.msg);
        return st.code;
    }
    Redirect r = {-1, -1};
    if (group->rank == 0)
        redirect_open(&r, log_path);
    /* The group's first rank speaks for the trial, into its log. */
    log_init(group->rank, p->verbosity >= LOG_VERBOSE ? LOG_VERBOSE : LOG_NORMAL);
    log_capture(msg, len);
    const int rc = cmd_train(group, &t);
    log_capture(NULL, 0);
    log_init(world->rank, p->verbosity);
    if (group->rank == 0)
        redirect_close(&r);
    return rc;
}

TrialOutcome sweep_trial_run(const SweepPlan *p, size_t i, const Ctx *group, const Ctx *world)
{
    char dir[SWEEP_PATH], msg[SWEEP_MSG], path[SWEEP_PATH + 16];
    Status st;
    status_clear(&st);
    sweep_trial_dir(dir, sizeof dir, p, i);
    if (group->rank == 0)
        sweep_make_dir(dir, &st);
    CHECK_MPI(MPI_Bcast(&st.code, 1, MPI_INT, 0, group->comm));
    const double t0 = MPI_Wtime();
    const int rc = st.code ? st.code : trial_train(p, i, dir, group, world, msg, sizeof msg);
    if (st.code)
        snprintf(msg, sizeof msg, "%.500s", st.msg);
    if (rc == EXIT_RESUME || rc > 128) /* stopped: its checkpoint resumes it */
        return TRIAL_STOPPED;
    int ok = 1;
    if (group->rank == 0) {
        TrialRecord r;
        trial_record(&r, p, i, dir, rc, msg);
        r.wall_seconds = MPI_Wtime() - t0;
        snprintf(path, sizeof path, "%s/result.h5", dir);
        status_clear(&st);
        if (sweep_record_write(path, &r, &st)) {
            fprintf(stderr, "collab-mpi: error: %s\n", st.msg);
            ok = 0;
        } else {
            trial_line(p, &r, dir);
        }
        sweep_record_free(&r);
    }
    CHECK_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, group->comm));
    if (ok)
        ckpt_prune(dir, 0, group); /* recorded: its checkpoints are not needed */
    return ok ? TRIAL_RECORDED : TRIAL_UNRECORDED;
}
