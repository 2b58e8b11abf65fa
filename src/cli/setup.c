/* setup.c - validation of parsed options into typed configs, loading the data a
 * subcommand needs (every rank reads its own part of the files: dataset_load), the
 * prologue train and lr-find share, and opening a trained model. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/dist/blocks.h"
#include "collab/base/check.h"
#include "collab/data/distribute.h"
#include "collab/cli/setup.h"
#include "collab/base/launch.h"
#include "collab/base/log.h"
#include "collab/base/size.h"
#include "collab/data/prepared.h"
#include "collab/train/signals.h"

/* The setting beside the options: the folder the run started in (docs/FORMAT.md). */
#define SETTING_WORKDIR "workdir"

/* Parses "LO,HI" with LO < HI; usage error naming the option otherwise. */
static int parse_range(double *lo, double *hi, const char *text, const char *opt, Status *st)
{
    char *end = NULL;
    *lo = strtod(text, &end);
    if (end == text || *end != ',')
        goto bad;
    const char *second = end + 1;
    *hi = strtod(second, &end);
    if (end == second || *end || !isfinite(*lo) || !isfinite(*hi) || !(*lo < *hi))
        goto bad;
    return STATUS_OK;
bad:
    return status_set(st, STATUS_USAGE, "option --%s: '%s' is not LO,HI with LO < HI", opt, text);
}

/* Index of text in the NULL-terminated list, or -1 with a usage error naming opt. */
static int parse_choice(const char *text, const char *const *choices, const char *opt, Status *st)
{
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        if (!strcmp(text, choices[i]))
            return i;
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    status_set(st, STATUS_USAGE, "option --%s: '%s' is not one of: %s", opt, text, list);
    return -1;
}

/* The embedded default dataset: ./data, the source tree's data/, then the installed copy. */
static const char *default_data_path(void)
{
    static const char *const candidates[] = {"data/ml-latest-small",
                                             COLLAB_SRCDATADIR "/ml-latest-small",
                                             COLLAB_DATADIR "/ml-latest-small", NULL};
    for (int i = 0; candidates[i]; i++) {
        char probe[1024];
        snprintf(probe, sizeof probe, "%s/ratings.csv", candidates[i]);
        if (access(probe, R_OK) == 0)
            return candidates[i];
    }
    return candidates[0];
}

static int parse_sep(DataOptions *d, const char *text, Status *st)
{
    if (!strcmp(text, "\\t") || !strcmp(text, "tab"))
        d->sep = '\t';
    else if (strlen(text) == 1)
        d->sep = text[0];
    else
        return status_set(st, STATUS_USAGE,
                          "option --sep: '%s' is not a single character (use \\t for tab)", text);
    return STATUS_OK;
}

/* --folds K and --fold I: K is 0 (no folds) or 2..SPLIT_MAX_FOLDS, I below K. */
static int fold_options(const Options *o, Status *st)
{
    if (o->folds != 0 && (o->folds < 2 || o->folds > SPLIT_MAX_FOLDS))
        return status_set(st, STATUS_USAGE, "option --folds: %lld is not 0 or in 2..%d",
                          (long long)o->folds, (int)SPLIT_MAX_FOLDS);
    if (o->fold != 0 && o->folds == 0)
        return status_set(st, STATUS_USAGE, "option --fold %lld needs --folds K",
                          (long long)o->fold);
    if (o->folds && (o->fold < 0 || o->fold >= o->folds))
        return status_set(st, STATUS_USAGE, "option --fold: %lld is not in 0..%lld",
                          (long long)o->fold, (long long)o->folds - 1);
    if (o->folds && o->valid_file)
        return status_set(st, STATUS_USAGE,
                          "options --folds and --valid-file: a validation file takes the "
                          "place of the folds; give one of them");
    return STATUS_OK;
}

int cli_data_options(DataOptions *d, const Options *o, Status *st)
{
    static const char *const formats[] = {"auto", "ml-100k", "ml-1m", "ml-csv", "delim", NULL};
    static const char *const items[] = {"id", "title", NULL};
    static const char *const headers[] = {"no", "yes", "auto", NULL};
    data_options_default(d);
    d->path = o->data ? o->data : default_data_path();
    int f = parse_choice(o->format, formats, "format", st);
    int it = parse_choice(o->item_name, items, "item-name", st);
    int h = parse_choice(o->header, headers, "header", st);
    if (f < 0 || it < 0 || h < 0)
        return st->code;
    d->format = (DataFormat)f;
    d->item_by_title = it;
    d->header = h == 2 ? -1 : h;
    if (o->sep && parse_sep(d, o->sep, st))
        return st->code;
    d->user_col = o->user_col;
    d->item_col = o->item_col;
    d->rating_col = o->rating_col;
    d->time_col = o->time_col;
    d->items_path = o->items_file;
    d->skip_bad_lines = o->skip_bad_lines;
    d->keep_timestamps = 0;          /* training does not use them */
    d->user_blocks = (int)o->blocks; /* 0 except for train --blocks (checked there) */
    if (o->rating_range) {
        if (parse_range(&d->rating_min, &d->rating_max, o->rating_range, "rating-range", st))
            return st->code;
        d->has_rating_range = 1;
    }
    if (!(o->valid_pct >= 0.0 && o->valid_pct < 1.0))
        return status_set(st, STATUS_USAGE, "option --valid-pct: %g is not in [0, 1)",
                          o->valid_pct);
    if (o->seed < 0)
        return status_set(st, STATUS_USAGE, "option --seed: %lld is negative", (long long)o->seed);
    return fold_options(o, st);
}

/* --layers W[,W...]: the hidden widths of the nn model. */
static int parse_layers(ModelSpec *m, const char *text, Status *st)
{
    long long bad = 0;
    switch (model_parse_layers(m, text, &bad)) {
    case 0:
        return STATUS_OK;
    case -2:
        return status_set(st, STATUS_USAGE, "option --layers: width %lld is not in 1..100000", bad);
    case -3:
        return status_set(st, STATUS_USAGE, "option --layers: more than %d layers in '%s'",
                          NN_MAX_LAYERS, text);
    default:
        return status_set(st, STATUS_USAGE,
                          "option --layers: '%s' is not a comma-separated list of layer "
                          "widths (e.g. 100 or 100,50)",
                          text);
    }
}

/* The nn model's options, and their absence for the dot models. */
static int nn_config(ModelSpec *m, const Options *o, Status *st)
{
    if (m->kind != MODEL_NN) {
        if (o->layers || o->batchnorm)
            return status_set(st, STATUS_USAGE, "option --%s: only for --model nn",
                              o->layers ? "layers" : "batchnorm");
        return STATUS_OK;
    }
    static const char *const yesno[] = {"no", "yes", NULL};
    int bn = parse_choice(o->batchnorm ? o->batchnorm : "yes", yesno, "batchnorm", st);
    if (bn < 0)
        return st->code;
    m->use_bn = bn;
    return parse_layers(m, o->layers ? o->layers : "100", st);
}

static int model_config(ModelSpec *m, const Options *o, Status *st)
{
    static const char *const models[] = {"dot", "dotbias", "nn", NULL};
    int kind = parse_choice(o->model, models, "model", st);
    if (kind < 0)
        return st->code;
    m->kind = (ModelKind)kind; /* in ModelKind order */
    if (nn_config(m, o, st))
        return st->code;
    if (o->n_factors < 1 || o->n_factors > 100000)
        return status_set(st, STATUS_USAGE, "option --n-factors: %lld is not in 1..100000",
                          (long long)o->n_factors);
    m->k = (size_t)o->n_factors;
    const char *range = o->y_range ? o->y_range : kind ? "0,5.5" : "none";
    m->has_range = strcmp(range, "none") != 0;
    double lo = 0.0, hi = 0.0;
    if (m->has_range && parse_range(&lo, &hi, range, "y-range", st))
        return st->code;
    m->y_lo = (float)lo;
    m->y_hi = (float)hi;
    return STATUS_OK;
}

/* Checks a double option lies in [lo, hi] (hi may be INFINITY). */
static int check_in(double v, double lo, double hi, const char *opt, Status *st)
{
    if (v >= lo && v <= hi)
        return STATUS_OK;
    return status_set(st, STATUS_USAGE, "option --%s: %g is not in [%g, %g]", opt, v, lo, hi);
}

static int optim_config(TrainConfig *c, const Options *o, Status *st)
{
    /* In OptimKind order. */
    static const char *const opts[] = {"adam", "sgd", "sparse-adam", "adagrad", "sparse-sgd", NULL};
    static const char *const scheds[] = {"one-cycle", "constant", NULL};
    int kind = parse_choice(o->opt, opts, "opt", st);
    int sched = parse_choice(o->schedule, scheds, "schedule", st);
    if (kind < 0 || sched < 0)
        return st->code;
    if (check_in(o->lr, 1e-12, 1e3, "lr", st) || check_in(o->wd, 0, 1e3, "wd", st) ||
        check_in(o->mom, 0, 0.9999, "mom", st) || check_in(o->sqr_mom, 0, 0.9999, "sqr-mom", st) ||
        check_in(o->eps, 1e-30, 1, "eps", st) ||
        check_in(o->pct_start, 0.001, 0.999, "pct-start", st) ||
        check_in(o->div, 1e-6, 1e12, "div", st) ||
        check_in(o->div_final, 1e-6, 1e12, "div-final", st))
        return st->code;
    c->optim = (OptimConfig){(OptimKind)kind, o->wd, o->sqr_mom, o->eps};
    c->sched = (Schedule){sched ? SCHED_CONSTANT : SCHED_ONE_CYCLE,
                          o->lr,
                          o->div,
                          o->div_final,
                          o->pct_start,
                          {0.95, 0.85, 0.95},
                          0};
    if (sched)
        c->sched.mom[0] = o->mom;
    return STATUS_OK;
}

/* --progress and --progress-seconds: the bar when asked for (always), or for a person at
 * a terminal (auto, the rule of launch.h); otherwise plain lines, unless never, --quiet or
 * --progress-seconds 0. */
static int progress_config(ProgressSpec *p, const Options *o, Status *st)
{
    static const char *const when[] = {"auto", "always", "never", NULL};
    int w = parse_choice(o->progress, when, "progress", st);
    if (w < 0 || check_in(o->progress_seconds, 0, 1e9, "progress-seconds", st))
        return st->code;
    const int bar = w == 1 || (w == 0 && !o->quiet && launch_stdout_watched(NULL));
    const int lines = w == 0 && !o->quiet && o->progress_seconds > 0;
    p->mode = bar ? PROGRESS_BAR : lines ? PROGRESS_LINES : PROGRESS_OFF;
    p->every = o->progress_seconds;
    return STATUS_OK;
}

int cli_train_config(TrainConfig *c, const Options *o, Status *st)
{
    memset(c, 0, sizeof *c);
    if (model_config(&c->model, o, st) || optim_config(c, o, st))
        return st->code;
    if (c->model.kind == MODEL_NN && optim_is_sparse(c->optim.kind))
        return status_set(st, STATUS_USAGE,
                          "option --opt %s: not for --model nn (its dense layers take a dense "
                          "step); use adam or sgd",
                          o->opt);
    if (c->model.kind == MODEL_NN && o->bs > (1 << 20))
        return status_set(st, STATUS_USAGE,
                          "option --bs: %lld is more than 1048576, the most --model nn takes "
                          "(every rank holds the whole batch's inputs)",
                          (long long)o->bs);
    if (c->model.kind == MODEL_NN && c->model.use_bn && o->bs < 2)
        return status_set(st, STATUS_USAGE,
                          "option --bs: BatchNorm needs at least 2 ratings per batch "
                          "(or --batchnorm no)");
    if (o->blocks < 0 || o->blocks > BLOCKS_MAX)
        return status_set(st, STATUS_USAGE, "option --blocks: %lld is not in 0..%d",
                          (long long)o->blocks, (int)BLOCKS_MAX);
    if (o->blocks && c->model.kind == MODEL_NN)
        return status_set(st, STATUS_USAGE,
                          "option --blocks: not for --model nn (its dense head needs batches); "
                          "drop --blocks");
    if (o->blocks && c->optim.kind != OPTIM_ADAGRAD && c->optim.kind != OPTIM_SPARSE_SGD)
        return status_set(st, STATUS_USAGE,
                          "option --blocks: blocked training updates one rating at a time, "
                          "with --opt adagrad or sparse-sgd, not --opt %s",
                          o->opt);
    c->blocks = (int)o->blocks;
    if (o->epochs < 0 || o->epochs > 1000000)
        return status_set(st, STATUS_USAGE, "option --epochs: %lld is not in 0..1000000",
                          (long long)o->epochs);
    if (o->bs < 1 || o->bs > (1 << 24))
        return status_set(st, STATUS_USAGE, "option --bs: %lld is not in 1..16777216",
                          (long long)o->bs);
    if (progress_config(&c->progress, o, st))
        return st->code;
    c->epochs = (int)o->epochs;
    c->bs = (size_t)o->bs;
    c->seed = (uint64_t)o->seed;
    c->verbose = o->verbose;
    if (o->max_memory && size_parse(o->max_memory, &c->max_memory))
        return status_set(st, STATUS_USAGE,
                          "option --max-memory: '%s' is not a size such as "
                          "512M, 4G or 1073741824",
                          o->max_memory);
    return STATUS_OK;
}

/* The longest --stall-timeout: a week, far beyond any gap between two steps. */
#define STALL_MAX 604800
#define STALL_ENV "COLLAB_STALL_TIMEOUT"
#define STALL_SYNTAX "seconds (a whole number from 0 to 604800, digits only; 0: never)"

/* Whole seconds in 0..STALL_MAX, digits only, the whole text (no sign, space or unit,
 * which strtoul would take or ignore). Returns 0, or -1 when text is not one. */
static int parse_seconds(const char *text, double *out)
{
    unsigned long v = 0;
    if (!text[0] || strlen(text) > 6)
        return -1;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        v = v * 10 + (unsigned long)(*c - '0');
    }
    if (v > STALL_MAX)
        return -1;
    *out = (double)v;
    return 0;
}

int cli_stall_timeout(double *secs, const Options *o, Status *st)
{
    const char *env = getenv(STALL_ENV);
    *secs = 600;
    if (o->stall_timeout && parse_seconds(o->stall_timeout, secs))
        return status_set(st, STATUS_USAGE, "option --stall-timeout: '%s' is not %s",
                          o->stall_timeout, STALL_SYNTAX);
    if (!o->stall_timeout && env && parse_seconds(env, secs))
        return status_set(st, STATUS_USAGE,
                          "%s='%s' is not %s: fix the value or unset it (--stall-timeout "
                          "overrides it)",
                          STALL_ENV, env, STALL_SYNTAX);
    return STATUS_OK;
}

int cli_suggest(LrSuggest *s, const Options *o, Status *st)
{
    static const char *const names[] = {"valley", "minimum", "steep", NULL};
    int i = parse_choice(o->suggest, names, "suggest", st);
    if (i < 0)
        return st->code;
    *s = (LrSuggest)i;
    if (!(o->start_lr > 0 && o->end_lr > o->start_lr))
        return status_set(st, STATUS_USAGE,
                          "options --start-lr/--end-lr: need 0 < start (%g) < end (%g)",
                          o->start_lr, o->end_lr);
    if (o->num_it < 10 || o->num_it > 100000000)
        return status_set(st, STATUS_USAGE, "option --num-it: %lld is not in 10..100000000",
                          (long long)o->num_it);
    return STATUS_OK;
}

/* With a prepared file, the options that say how to parse text are a usage error. */
static int prepared_options(const Options *o, const char *path, Status *st)
{
    const char *given = o->sep                      ? "sep"
                        : strcmp(o->header, "auto") ? "header"
                        : o->user_col               ? "user-col"
                        : o->item_col               ? "item-col"
                        : o->rating_col             ? "rating-col"
                        : o->time_col               ? "time-col"
                        : o->items_file             ? "items-file"
                                                    : NULL;
    if (given)
        return status_set(st, STATUS_USAGE,
                          "option --%s applies to text, but %s is a prepared file (prepare "
                          "took the reader options); drop --%s",
                          given, path, given);
    if (o->valid_file)
        return status_set(st, STATUS_USAGE,
                          "option --valid-file cannot be used with the prepared file %s (its "
                          "rows are split with --valid-pct and --seed); train on the text to "
                          "use a validation file",
                          path);
    return STATUS_OK;
}

int cli_load_dataset(Dataset *ds, const Ctx *ctx, const Options *o, Status *st)
{
    DataOptions d;
    memset(ds, 0, sizeof *ds);
    if (cli_data_options(&d, o, st))
        return st->code; /* local and identical on every rank */
    const SplitSpec sp = {o->valid_file, o->valid_pct, (uint64_t)o->seed, (int)o->folds,
                          (int)o->fold};
    const double t0 = MPI_Wtime();
    const int prepared = prep_is_file(d.path, ctx->comm);
    if (prepared && prepared_options(o, d.path, st))
        return st->code;
    if (prepared ? prep_load(ds, &d, &sp, ctx->comm, st) : dataset_load(ds, &d, &sp, ctx->comm, st))
        return st->code;
    log_verbose("loaded %zu ratings in %.2f s (%s)\n", ds->n_train_total + ds->n_valid_total,
                MPI_Wtime() - t0,
                prepared ? "prepared file: every rank reads its own users' rows"
                         : "every rank reads its own part");
    return STATUS_OK;
}

/* The stall timeout in force (the option, the environment or the default), as text. */
static void format_stall(char *out, size_t len, const Options *o)
{
    Status st;
    double secs;
    status_clear(&st);
    if (cli_stall_timeout(&secs, o, &st))
        snprintf(out, len, "(invalid)");
    else
        snprintf(out, len, "%.0f", secs);
}

/* The resolved value of an option as text (defaults filled in). */
static void format_value(char *out, size_t len, const OptSpec *s, const Options *o)
{
    const char *field = (const char *)o + s->offset;
    if (!strcmp(s->name, "data") && !o->data)
        snprintf(out, len, "%s", default_data_path());
    else if (!strcmp(s->name, "y-range") && !o->y_range)
        snprintf(out, len, "%s", strcmp(o->model, "dot") ? "0,5.5" : "none");
    else if (!strcmp(s->name, "layers") && !o->layers)
        snprintf(out, len, "%s", strcmp(o->model, "nn") ? "(none)" : "100");
    else if (!strcmp(s->name, "batchnorm") && !o->batchnorm)
        snprintf(out, len, "%s", strcmp(o->model, "nn") ? "(none)" : "yes");
    else if (!strcmp(s->name, "stall-timeout"))
        format_stall(out, len, o);
    else if (s->type == OPT_STR)
        snprintf(out, len, "%s",
                 *(const char *const *)field ? *(const char *const *)field : "(none)");
    else if (s->type == OPT_INT)
        snprintf(out, len, "%lld", (long long)*(const int64_t *)field);
    else if (s->type == OPT_DOUBLE)
        snprintf(out, len, "%.17g", *(const double *)field);
    else
        snprintf(out, len, "%s", *(const int *)field ? "yes" : "no");
}

CkptSetting *cli_settings(const Command *cmd, const Options *o, size_t *n)
{
    size_t count = 0;
    for (const OptSpec *const *g = cmd->groups; *g; g++)
        for (const OptSpec *s = *g; s->name; s++)
            count++;
    CkptSetting *out = xcalloc(count + 1, sizeof *out);
    *n = 0;
    for (const OptSpec *const *g = cmd->groups; *g; g++)
        for (const OptSpec *s = *g; s->name; s++) {
            if (!strcmp(s->name, "help"))
                continue;
            char value[1024];
            format_value(value, sizeof value, s, o);
            out[*n].name = s->name;
            out[(*n)++].value = xstrdup(value);
        }
    /* The folder the run started in: the stored relative paths are relative to it. */
    char cwd[4096];
    out[*n].name = SETTING_WORKDIR;
    out[(*n)++].value = xstrdup(getcwd(cwd, sizeof cwd) ? cwd : "(none)");
    return out;
}

void cli_settings_free(CkptSetting *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)s[i].value);
    free(s);
}

void cli_print_settings(const Command *cmd, const Options *o, const Dataset *ds)
{
    if (log_rank() != 0 || log_verbosity() < LOG_NORMAL)
        return;
    printf("collab-mpi %s (%s)\n", cmd->name, PACKAGE_VERSION);
    for (const OptSpec *const *g = cmd->groups; *g; g++)
        for (const OptSpec *s = *g; s->name; s++) {
            if (s->type == OPT_FLAG && !strcmp(s->name, "help"))
                continue;
            char value[1024];
            format_value(value, sizeof value, s, o);
            if (s->type == OPT_DOUBLE) /* short form for people; %.17g is for files */
                snprintf(value, sizeof value, "%g", *(const double *)((const char *)o + s->offset));
            printf("  %-18s %s%s\n", s->name, value,
                   !strcmp(s->name, "data") && !o->data ? " (embedded default)" : "");
        }
    if (ds)
        printf("  %-18s train %zu, valid %zu, users %zu, items %zu (with #na#)\n", "rows",
               ds->n_train_total, ds->n_valid_total, ds->users.n, ds->items.n);
    fflush(stdout);
}

/* ------------------------------------------------------------------ training prologue */

int cli_load_training_data(Dataset *ds, const Ctx *ctx, const Options *o, const TrainConfig *cfg)
{
    Status st;
    status_clear(&st);
    if (cli_load_dataset(ds, ctx, o, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    if (ds->n_train_total < cfg->bs) {
        log_error("the training set has %zu ratings, fewer than one batch (--bs %zu): use a "
                  "smaller --bs or more data",
                  ds->n_train_total, cfg->bs);
        dataset_free(ds);
        return STATUS_DATA;
    }
    return STATUS_OK;
}

/* The memory estimate before the trainer allocates (memory.h): refuses, with a message
 * from rank 0, tables that would not fit in cfg->max_memory or the node's available
 * memory (lr_find: with the sweep's copies); ds is freed then. Returns the agreed
 * status. Collective. */
static int check_memory(Dataset *ds, const Ctx *ctx, const TrainConfig *cfg, int lr_find)
{
    MemNeed need;
    Status st;
    status_clear(&st);
    trainer_memory_need(&need, ds, cfg, ctx->rank, lr_find);
    if (memory_check(&need, cfg->max_memory, ctx, &st)) {
        log_error("%s", st.msg);
        dataset_free(ds);
    }
    return st.code;
}

int cli_setup_trainer(Trainer *t, Dataset *ds, const Ctx *ctx, const Options *o,
                      const TrainConfig *cfg, const char *command)
{
    const Command *cmd = cli_command(command);
    if (!cmd)
        check_fail(__FILE__, __LINE__, "no subcommand '%s'", command);
    signals_install();
    int rc = cli_load_training_data(ds, ctx, o, cfg);
    if (!rc)
        rc = check_memory(ds, ctx, cfg, !strcmp(command, "lr-find"));
    if (rc)
        return rc;
    cli_print_settings(cmd, o, ds);
    const char *why = NULL;
    const int watched = launch_stdout_watched(&why);
    static const char *const shown[] = {"none", "a bar", "plain lines"};
    log_verbose("  %-18s %s (--progress %s; %s: %s)\n", "progress shown", shown[cfg->progress.mode],
                o->progress, watched ? "a person watches" : "nobody watches", why);
    trainer_init(t, ctx, ds, cfg);
    if (cfg->model.kind == MODEL_NN) {
        char arch[256];
        model_nn_describe(arch, sizeof arch, &t->cfg.model, ds->users.n, ds->items.n);
        log_info("  %-18s %s\n", "nn", arch);
    }
    return STATUS_OK;
}

/* ------------------------------------------------------------------ stored settings */

/* Sets option s of o from its stored text v ("(none)": unset; strings point into v).
 * Returns 0, or -1 when v is not a value of s's type. Local. */
static int option_from_text(Options *o, const OptSpec *s, const char *v)
{
    char *field = (char *)o + s->offset, *end = NULL;
    if (s->type == OPT_STR) {
        *(const char **)field = strcmp(v, "(none)") ? v : NULL;
    } else if (s->type == OPT_INT) {
        *(int64_t *)field = strtoll(v, &end, 10);
    } else if (s->type == OPT_DOUBLE) {
        *(double *)field = strtod(v, &end);
    } else {
        *(int *)field = !strcmp(v, "yes");
        end = (char *)(strcmp(v, "yes") && strcmp(v, "no") ? v : "");
    }
    return end && (end == v || *end) ? -1 : 0;
}

/* A stored path as this process opens it: relative to workdir, the folder the run that
 * stored it started in (out, of len bytes); unchanged when absolute, NULL, or workdir is
 * unknown (files written before it was stored). */
static const char *stored_path(char *out, size_t len, const char *path, const char *workdir)
{
    if (!path || path[0] == '/' || !workdir || workdir[0] != '/')
        return path;
    snprintf(out, len, "%s/%s", workdir, path);
    return out;
}

/* Options a resumed run takes from its checkpoint when not given: every one but those of
 * this invocation alone: how to resume and what to print. */
static int inherited(const char *name)
{
    static const char *const own[] = {"help",  "resume",  "progress", "progress-seconds",
                                      "quiet", "verbose", NULL};
    for (int i = 0; own[i]; i++)
        if (!strcmp(name, own[i]))
            return 0;
    return 1;
}

/* The options whose values are paths (opened relative to the run's folder). */
static int is_path(const char *name)
{
    static const char *const paths[] = {"data",   "items-file", "valid-file",  "checkpoint-dir",
                                        "output", "metrics",    "dump-params", NULL};
    for (int i = 0; paths[i]; i++)
        if (!strcmp(name, paths[i]))
            return 1;
    return 0;
}

/* A given option s that must match the checkpoint's value v: usage error naming both. */
static int check_given(const OptSpec *s, const Options *o, const char *v, const char *path,
                       Status *st)
{
    char mine[1024];
    format_value(mine, sizeof mine, s, o);
    if (!strcmp(mine, v))
        return STATUS_OK;
    char theirs[1024];
    snprintf(theirs, sizeof theirs, "%s", v);
    if (s->type == OPT_DOUBLE) { /* short forms, unless only the long ones differ */
        char a[64], b[64];
        snprintf(a, sizeof a, "%g", *(const double *)((const char *)o + s->offset));
        snprintf(b, sizeof b, "%g", strtod(v, NULL));
        if (strcmp(a, b)) {
            snprintf(mine, sizeof mine, "%s", a);
            snprintf(theirs, sizeof theirs, "%s", b);
        }
    }
    return status_set(st, STATUS_USAGE,
                      "option --%s %s conflicts with the checkpoint %s, which was written with "
                      "--%s %s: a resumed run may change only --epochs, --data, the checkpoint, "
                      "output and display options (docs/FORMAT.md); drop --%s to continue with "
                      "%s, or train afresh without --resume",
                      s->name, mine, path, s->name, theirs, s->name, theirs);
}

int cli_resume_settings(CliResume *r, Options *o, const Command *cmd, const Ctx *ctx, Status *st)
{
    memset(r, 0, sizeof *r);
    if (!o->resume)
        return STATUS_OK;
    if (!strcmp(o->resume, "auto")) { /* without --checkpoint-dir: refused by the caller */
        if (!o->checkpoint_dir ||
            !ckpt_find_latest(r->path, sizeof r->path, o->checkpoint_dir, ctx))
            return STATUS_OK;
    } else {
        snprintf(r->path, sizeof r->path, "%s", o->resume);
    }
    Status ignore;
    status_clear(&ignore);
    /* An unreadable file is left to ckpt_read, which names what is wrong with it. */
    if (modelfile_read_settings(&r->mf, r->path, ctx, &ignore))
        return STATUS_OK;
    const char *workdir = modelfile_setting(&r->mf, SETTING_WORKDIR);
    for (const OptSpec *const *g = cmd->groups; *g; g++)
        for (const OptSpec *s = *g; s->name; s++) {
            const char *v = modelfile_setting(&r->mf, s->name);
            if (!v || !inherited(s->name)) /* absent: written before the option existed */
                continue;
            if (cli_option_given(o, s->name)) {
                if (!ckpt_setting_may_change(s->name) && check_given(s, o, v, r->path, st))
                    return st->code;
                continue;
            }
            if (option_from_text(o, s, v))
                return status_set(st, STATUS_DATA, "%s: setting '%s' = '%s' is not valid", r->path,
                                  s->name, v);
            const char **field = (const char **)((char *)o + s->offset);
            char path[4096];
            if (is_path(s->name) && stored_path(path, sizeof path, *field, workdir) == path &&
                r->n_paths < CLI_RESUME_PATHS)
                *field = r->paths[r->n_paths++] = xstrdup(path);
        }
    return STATUS_OK;
}

void cli_resume_free(CliResume *r)
{
    for (size_t i = 0; i < r->n_paths; i++)
        free(r->paths[i]);
    modelfile_free(&r->mf);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ trained models */

/* The training run's data options (CLI_DATA_OPTS) from the stored settings; the strings
 * point into mf. data, when not NULL, replaces the stored path. */
static int options_from_settings(Options *t, const ModelFile *mf, const char *data, Status *st)
{
    memset(t, 0, sizeof *t);
    for (const OptSpec *s = CLI_DATA_OPTS; s->name; s++) {
        const char *v = modelfile_setting(mf, s->name);
        v = v ? v : ckpt_setting_absent(s->name); /* --folds of a file older than it */
        if (!v)
            return status_set(st, STATUS_DATA,
                              "%s: setting '%s' is missing, so the training "
                              "data cannot be rebuilt",
                              mf->path, s->name);
        if (option_from_text(t, s, v))
            return status_set(st, STATUS_DATA, "%s: setting '%s' = '%s' is not valid", mf->path,
                              s->name, v);
    }
    if (data)
        t->data = data;
    return STATUS_OK;
}

/* UseLoadFn for usemodel_open: the training run's data options from mf's settings; the
 * stored paths are opened relative to the folder training ran in (a --data given now, as
 * given). */
static int load_model_data(Dataset *ds, UseTrainInfo *info, const Ctx *ctx, const ModelFile *mf,
                           const char *data, Status *st)
{
    Options t;
    if (options_from_settings(&t, mf, data, st))
        return st->code;
    info->data = t.data;
    info->valid_pct = t.valid_pct;
    info->seed = t.seed;
    info->folds = t.folds;
    info->fold = t.fold;
    const char *workdir = modelfile_setting(mf, SETTING_WORKDIR);
    char paths[3][4096];
    t.data = data ? data : stored_path(paths[0], sizeof paths[0], t.data, workdir);
    t.items_file = stored_path(paths[1], sizeof paths[1], t.items_file, workdir);
    t.valid_file = stored_path(paths[2], sizeof paths[2], t.valid_file, workdir);
    return cli_load_dataset(ds, ctx, &t, st);
}

int cli_open_model(UseModel *u, const Ctx *ctx, const Options *o, int with_data)
{
    const UseSettings s = {o->model_file, o->data, with_data, load_model_data};
    return usemodel_open(u, ctx, &s);
}
