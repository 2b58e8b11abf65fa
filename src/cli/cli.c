/* cli.c - option tables, parsing, --help and subcommand dispatch. No numerics here. */
#include "config.h"

#include "collab/cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/hooks.h"
#include "collab/base/log.h"
#include "collab/cli/commands.h"

/* One option's table entry; kept on one line each (clang-format would spread them). */
/* clang-format off */
#define OPT(name, type, field, metavar, help, def) \
    { name, type, offsetof(Options, field), metavar, help, def, 0 }
#define OPT_END { NULL, OPT_FLAG, 0, NULL, NULL, NULL, 0 }
/* clang-format on */

/* The reader options: how text is parsed (training, and prepare). */
#define OPTS_READ                                                                                  \
    OPT("format", OPT_STR, format, "FMT", "auto, ml-100k, ml-1m, ml-csv or delim", "auto"),        \
        OPT("item-name", OPT_STR, item_name, "KEY",                                                \
            "id: items are movie IDs; title: items are titles (duplicates merge)", "id"),          \
        OPT("sep", OPT_STR, sep, "C", "field separator of a delimited file (\\t for tab)", NULL),  \
        OPT("header", OPT_STR, header, "H", "first line names the columns: yes, no or auto",       \
            "auto"),                                                                               \
        OPT("user-col", OPT_STR, user_col, "COL", "user column (name or 0-based index)", NULL),    \
        OPT("item-col", OPT_STR, item_col, "COL", "item column (name or 0-based index)", NULL),    \
        OPT("rating-col", OPT_STR, rating_col, "COL", "rating column (name or 0-based index)",     \
            NULL),                                                                                 \
        OPT("time-col", OPT_STR, time_col, "COL", "timestamp column (optional)", NULL),            \
        OPT("items-file", OPT_STR, items_file, "PATH", "item id -> title file (delimited)", NULL), \
        OPT("rating-range", OPT_STR, rating_range, "LO,HI", "reject ratings outside [LO, HI]",     \
            NULL),                                                                                 \
        OPT("skip-bad-lines", OPT_FLAG, skip_bad_lines, NULL,                                      \
            "count, report and skip malformed lines instead of stopping", NULL)

const OptSpec CLI_DATA_OPTS[] = {
    OPT("data", OPT_STR, data, "PATH",
        "MovieLens folder, ratings file or prepared file (collab-mpi prepare; default: the "
        "embedded ml-latest-small)",
        NULL),
    OPTS_READ,
    OPT("valid-pct", OPT_DOUBLE, valid_pct, "P", "fraction of rows held out for validation", "0.2"),
    OPT("valid-file", OPT_STR, valid_file, "PATH",
        "explicit validation file (same format) instead of a random split", NULL),
    OPT("seed", OPT_INT, seed, "N", "seed of the split, the init and the batch order", "42"),
    OPT("folds", OPT_INT, folds, "K",
        "cut the rows into K folds by --seed (instead of --valid-pct); 0: no folds", "0"),
    OPT("fold", OPT_INT, fold, "I", "with --folds: hold out fold I (0..K-1) for validation", "0"),
    OPT_END,
};

const OptSpec CLI_PREPARE_OPTS[] = {
    OPT("output", OPT_STR, output, "PATH", "the prepared HDF5 file to write (required)", NULL),
    OPTS_READ,
    OPT("quiet", OPT_FLAG, quiet, NULL, "print only the summary line and errors", NULL),
    OPT_END,
};

const OptSpec CLI_MODEL_OPTS[] = {
    OPT("model", OPT_STR, model, "M",
        "dot (DotProduct), dotbias (DotProductBias) or nn (EmbeddingNN, collab_learner's "
        "use_nn=True)",
        "dotbias"),
    OPT("n-factors", OPT_INT, n_factors, "K",
        "latent factors per user and item (dot models; nn sizes its embeddings by fastai's "
        "emb_sz_rule)",
        "50"),
    OPT("layers", OPT_STR, layers, "W[,W...]",
        "nn: widths of the hidden Linear-ReLU(-BatchNorm) layers (default: 100)", NULL),
    OPT("batchnorm", OPT_STR, batchnorm, "yes|no",
        "nn: BatchNorm after each hidden ReLU, as fastai's TabularModel (yes); no gives the "
        "book's CollabNN (Linear with bias, ReLU) (default: yes)",
        NULL),
    OPT("y-range", OPT_STR, y_range, "LO,HI",
        "squeeze predictions with sigmoid_range, or none (default: 0,5.5 for dotbias and nn, "
        "none for dot)",
        NULL),
    OPT_END,
};

#define OPT_BS OPT("bs", OPT_INT, bs, "N", "ratings per training batch", "64")
#define OPT_HELP OPT("help", OPT_FLAG, help, NULL, "show this help and exit", NULL)

const OptSpec CLI_BATCH_OPTS[] = {OPT_BS, OPT_END};
const OptSpec CLI_HELP_OPTS[] = {OPT_HELP, OPT_END};

const OptSpec CLI_TRAIN_OPTS[] = {
    OPT("epochs", OPT_INT, epochs, "N", "epochs to train", "5"),
    OPT("lr", OPT_DOUBLE, lr, "LR", "maximum learning rate", "5e-3"),
    OPT("wd", OPT_DOUBLE, wd, "WD", "decoupled weight decay (fastai's default)", "0.01"),
    OPT_BS,
    OPT("opt", OPT_STR, opt, "NAME",
        "optimizer: adam, sgd (with momentum), or for large tables (touched rows only): "
        "sparse-adam (lazy), adagrad (row-wise) or sparse-sgd",
        "adam"),
    OPT("schedule", OPT_STR, schedule, "S", "one-cycle or constant", "one-cycle"),
    OPT("mom", OPT_DOUBLE, mom, "M",
        "momentum for the constant schedule (Adam beta1 / SGD momentum)", "0.9"),
    OPT("pct-start", OPT_DOUBLE, pct_start, "P", "one-cycle warm-up fraction", "0.25"),
    OPT("div", OPT_DOUBLE, div, "D", "one-cycle start lr = lr/D", "25"),
    OPT("div-final", OPT_DOUBLE, div_final, "D", "one-cycle final lr = lr/D", "1e5"),
    OPT("sqr-mom", OPT_DOUBLE, sqr_mom, "B2", "Adam beta2", "0.99"),
    OPT("eps", OPT_DOUBLE, eps, "E", "Adam and Adagrad epsilon", "1e-5"),
    OPT("max-memory", OPT_STR, max_memory, "SIZE",
        "refuse to train when a rank would need more than SIZE (e.g. 4G; default: what "
        "the node has available, shared by its ranks)",
        NULL),
    OPT_END,
};

const OptSpec CLI_BLOCKS_OPTS[] = {
    OPT("blocks", OPT_INT, blocks, "B",
        "train by blocks: per-rating updates over a BxB grid of user and item blocks (the "
        "DSGD/LIBMF schedule; --opt adagrad or sparse-sgd; -np at most B; the result "
        "depends on B, not on -np; docs/BLOCKS.md); 0: minibatches of --bs",
        "0"),
    OPT_END,
};

const OptSpec CLI_CKPT_OPTS[] = {
    OPT("checkpoint-dir", OPT_STR, checkpoint_dir, "DIR",
        "write checkpoints (and metrics.h5) into DIR", NULL),
    OPT("checkpoint-every", OPT_STR, checkpoint_every, "N[b]",
        "checkpoint every N epochs, or every N batches with a 'b' suffix (e.g. 500b)", "1"),
    OPT("checkpoint-minutes", OPT_DOUBLE, checkpoint_minutes, "M",
        "also checkpoint when M minutes have passed since the last one (0: never)", "0"),
    OPT("keep", OPT_INT, keep, "K", "keep the newest K checkpoints", "3"),
    OPT("resume", OPT_STR, resume, "PATH|auto",
        "continue from a checkpoint, with its settings for the options not given; auto: "
        "the newest in --checkpoint-dir, if any",
        NULL),
    OPT("stall-timeout", OPT_STR, stall_timeout, "S",
        "end the job (exit status 76) when no step completes for S seconds: a lost host, a "
        "frozen rank, a dead link; 0: never (default: $COLLAB_STALL_TIMEOUT, else 600)",
        NULL),
    OPT("output", OPT_STR, output, "PATH", "write the final model (HDF5) to PATH", NULL),
    OPT("metrics", OPT_STR, metrics, "PATH",
        "append per-epoch metrics to this HDF5 file (default: DIR/metrics.h5 with "
        "--checkpoint-dir)",
        NULL),
    OPT_END,
};

const OptSpec CLI_LRFIND_OPTS[] = {
    OPT("start-lr", OPT_DOUBLE, start_lr, "LR", "first learning rate of the sweep", "1e-7"),
    OPT("end-lr", OPT_DOUBLE, end_lr, "LR", "last learning rate of the sweep", "10"),
    OPT("num-it", OPT_INT, num_it, "N", "batches in the sweep", "100"),
    OPT("suggest", OPT_STR, suggest, "S", "valley, minimum or steep", "valley"),
    OPT("no-stop-div", OPT_FLAG, no_stop_div, NULL, "do not stop when the loss exceeds 4x its best",
        NULL),
    OPT("metrics", OPT_STR, metrics, "PATH",
        "save the curve and the suggestion in this HDF5 file (group lr_find)", NULL),
    OPT_END,
};

const OptSpec CLI_SHOWBATCH_OPTS[] = {
    OPT("max-n", OPT_INT, max_n, "N", "rows of the batch to show", "10"),
    OPT("info", OPT_FLAG, info, NULL, "print the dataset's sizes on one line and stop", NULL),
    OPT_END,
};

const OptSpec CLI_SYNTH_OPTS[] = {
    OPT("output", OPT_STR, synth_output, "DIR",
        "folder for ratings.csv, movies.csv and README.txt (created; required)", NULL),
    OPT("ratings", OPT_INT, synth_ratings, "N", "target number of ratings (exact total reported)",
        "5000000"),
    OPT("users", OPT_INT, synth_users, "N", "users; 0 or unset: ratings/150", NULL),
    OPT("items", OPT_INT, synth_items, "N",
        "items; 0 or unset: 12*sqrt(ratings), about 60000 for 25M ratings", NULL),
    OPT("rank", OPT_INT, synth_rank, "K", "hidden factors of the generating model", "8"),
    OPT("zipf", OPT_DOUBLE, synth_zipf, "S", "item popularity power-law exponent, 0..2", "1.0"),
    OPT("min-per-user", OPT_INT, synth_min_per_user, "N", "fewest ratings of any user", "20"),
    OPT("noise", OPT_DOUBLE, synth_noise, "SD", "rating noise before rounding to half stars",
        "0.5"),
    OPT("seed", OPT_INT, seed, "N", "seed of every draw (the files do not depend on -np)", "42"),
    OPT("quiet", OPT_FLAG, quiet, NULL, "print only the summary line and errors", NULL),
    OPT_END,
};

const OptSpec CLI_OUTPUT_OPTS[] = {
    OPT("quiet", OPT_FLAG, quiet, NULL, "print only results and errors", NULL),
    OPT("verbose", OPT_FLAG, verbose, NULL, "also print timings and exchange counters", NULL),
    OPT("progress", OPT_STR, progress, "WHEN",
        "auto: a bar for a person at a terminal, else a plain line every --progress-seconds "
        "(README, Batch logs); always: the bar; never: neither",
        "auto"),
    OPT("progress-seconds", OPT_DOUBLE, progress_seconds, "S",
        "seconds between plain progress lines when no bar is drawn (0: none)", "60"),
    OPT("dump-params", OPT_STR, dump_params, "PATH",
        "write the final parameters as raw float32 (user_f, user_b, item_f, item_b)", NULL),
    OPT_HELP,
    OPT_END,
};

const OptSpec CLI_SWEEP_OPTS[] = {
    OPT("grid", OPT_STR, grid, "SPEC",
        "the settings to sweep, 'NAME=V1,V2 NAME=V3,V4 ...' (train's model and training "
        "options): every combination; with --trials also ranges LO:HI or LO:HI:log",
        NULL),
    OPT("trials", OPT_INT, trials, "N",
        "random search: N configurations drawn from --grid's lists and ranges (0: the grid)", "0"),
    OPT("search-seed", OPT_INT, search_seed, "N", "seed of the random search's draws", "1"),
    OPT("configs", OPT_STR, configs, "PATH",
        "a file of configurations, one per line: NAME=VALUE NAME=VALUE ... (# comments)", NULL),
    OPT("pairs", OPT_STR, pairs, "LIST",
        "explicit folds TRAIN:TEST[,TRAIN:TEST...] (files; relative to a --data folder) "
        "instead of --folds",
        NULL),
    OPT("ranks-per-trial", OPT_INT, ranks_per_trial, "R",
        "ranks that train each trial together; -np / R groups train at once", "1"),
    OPT("metric", OPT_STR, metric, "M",
        "rank configurations by rmse or mae of the last epoch, averaged over the folds", "rmse"),
    OPT("sweep-dir", OPT_STR, sweep_dir, "DIR",
        "the sweep's folder: its plan, every trial's record and checkpoints, sweep.h5", "sweep"),
    OPT("resume", OPT_STR, resume, "auto",
        "continue the sweep in --sweep-dir: finished trials are kept, stopped ones resume "
        "from their checkpoints",
        NULL),
    OPT("refit", OPT_FLAG, refit, NULL,
        "then train the best configuration on all the data (no validation) into --output", NULL),
    OPT("output", OPT_STR, output, "PATH", "the model file of --refit (default: DIR/best.h5)",
        NULL),
    OPT("keep-models", OPT_FLAG, keep_models, NULL,
        "keep every trial's final model as DIR/trials/ID/model.h5", NULL),
    OPT("quiet", OPT_FLAG, quiet, NULL, "print only the table and errors", NULL),
    OPT("verbose", OPT_FLAG, verbose, NULL,
        "trials log train --verbose's timings and counters into their train.log", NULL),
    OPT_END,
};

/* ---- using a trained model ---- */

#define OPT_SHORT(name, type, field, metavar, help, def, c)                                        \
    {                                                                                              \
        name, type, offsetof(Options, field), metavar, help, def, c                                \
    }
#define OPT_NUM(what) OPT_SHORT("num", OPT_INT, num, "N", what, "10", 'n')

const OptSpec CLI_USE_OPTS[] = {
    OPT("model", OPT_STR, model_file, "PATH",
        "model or checkpoint file (from train --output or --checkpoint-dir); required", NULL),
    OPT("data", OPT_STR, data, "PATH",
        "the training data, if it moved since training (default: the path in the model)", NULL),
    OPT_END,
};

const OptSpec CLI_PAIRS_OPTS[] = {
    OPT("format", OPT_STR, format, "FMT", "auto, ml-100k, ml-1m, ml-csv or delim", "auto"),
    OPT("sep", OPT_STR, sep, "C", "field separator of a delimited file (\\t for tab)", NULL),
    OPT("header", OPT_STR, header, "H", "first line names the columns: yes, no or auto", "auto"),
    OPT("user-col", OPT_STR, user_col, "COL", "user column (name or 0-based index)", NULL),
    OPT("item-col", OPT_STR, item_col, "COL", "item column (name or 0-based index)", NULL),
    OPT("skip-bad-lines", OPT_FLAG, skip_bad_lines, NULL,
        "count, report and skip malformed lines instead of stopping", NULL),
    OPT_END,
};

const OptSpec CLI_RECOMMEND_OPTS[] = {
    OPT("user", OPT_STR, user, "ID", "the user to recommend to", NULL),
    OPT("all-users", OPT_FLAG, all_users, NULL,
        "top-N for every user, sharded over the ranks, into --output", NULL),
    OPT_NUM("items to recommend per user"),
    OPT("output", OPT_STR, output, "PATH", "HDF5 file for --all-users", "recs.h5"),
    OPT_END,
};

const OptSpec CLI_SIMILAR_OPTS[] = {
    OPT("item", OPT_STR, item, "ID|TITLE", "the item: its ID, exact title or part of it", NULL),
    OPT_NUM("similar items to show"),
    OPT("min-ratings", OPT_INT, min_ratings, "N",
        "only items with at least N training ratings (N > 0 reads the training data)", "0"),
    OPT_END,
};

const OptSpec CLI_BIASES_OPTS[] = {OPT_NUM("items and users at each end"), OPT_END};

const OptSpec CLI_PCA_OPTS[] = {
    OPT("top", OPT_INT, top, "N", "the N most-rated items (training and validation ratings)",
        "1000"),
    OPT("components", OPT_INT, components, "C", "principal components to keep", "3"),
    OPT("output", OPT_STR, output, "PATH", "HDF5 file of the projection", "pca.h5"),
    OPT("csv", OPT_STR, csv, "PATH", "CSV file of the projection (default: --output with .csv)",
        NULL),
    OPT("show", OPT_INT, show, "N", "items printed at each end of every component", "5"),
    OPT_END,
};

const OptSpec CLI_EVALUATE_OPTS[] = {
    OPT("rating-col", OPT_STR, rating_col, "COL", "rating column of FILE (name or index)", NULL),
    OPT("items-file", OPT_STR, items_file, "PATH", "item id -> title file for FILE", NULL),
    OPT("k", OPT_INT, at_k, "K", "length of the ranked lists (precision@K ...)", "10"),
    OPT("relevant", OPT_DOUBLE, relevant, "R", "a held-out rating >= R is relevant", "4"),
    OPT("protocol", OPT_STR, protocol, "P",
        "ranking candidates: heldout (the user's held-out items), catalogue (every item "
        "not rated in training) or both",
        "both"),
    OPT_END,
};

const OptSpec CLI_SHOWRESULTS_OPTS[] = {
    OPT("max-n", OPT_INT, max_n, "N", "validation rows to show", "9"),
    OPT_END,
};

static const OptSpec *const PREDICT_GROUPS[] = {CLI_USE_OPTS, CLI_PAIRS_OPTS, CLI_HELP_OPTS, NULL};
static const OptSpec *const RECOMMEND_GROUPS[] = {CLI_USE_OPTS, CLI_RECOMMEND_OPTS, CLI_HELP_OPTS,
                                                  NULL};
static const OptSpec *const SIMILAR_GROUPS[] = {CLI_USE_OPTS, CLI_SIMILAR_OPTS, CLI_HELP_OPTS,
                                                NULL};
static const OptSpec *const BIASES_GROUPS[] = {CLI_USE_OPTS, CLI_BIASES_OPTS, CLI_HELP_OPTS, NULL};
static const OptSpec *const PCA_GROUPS[] = {CLI_USE_OPTS, CLI_PCA_OPTS, CLI_HELP_OPTS, NULL};
static const OptSpec *const EVALUATE_GROUPS[] = {CLI_USE_OPTS, CLI_PAIRS_OPTS, CLI_EVALUATE_OPTS,
                                                 CLI_HELP_OPTS, NULL};
static const OptSpec *const SHOWRESULTS_GROUPS[] = {CLI_USE_OPTS, CLI_SHOWRESULTS_OPTS,
                                                    CLI_HELP_OPTS, NULL};

static const OptSpec *const TRAIN_GROUPS[] = {
    CLI_DATA_OPTS, CLI_MODEL_OPTS, CLI_TRAIN_OPTS, CLI_BLOCKS_OPTS, CLI_CKPT_OPTS, CLI_OUTPUT_OPTS,
    NULL};
static const OptSpec *const LRFIND_GROUPS[] = {CLI_DATA_OPTS,   CLI_MODEL_OPTS,  CLI_TRAIN_OPTS,
                                               CLI_LRFIND_OPTS, CLI_OUTPUT_OPTS, NULL};
static const OptSpec *const SHOWBATCH_GROUPS[] = {CLI_DATA_OPTS, CLI_BATCH_OPTS, CLI_SHOWBATCH_OPTS,
                                                  CLI_HELP_OPTS, NULL};
static const OptSpec *const SWEEP_GROUPS[] = {
    CLI_DATA_OPTS, CLI_MODEL_OPTS, CLI_TRAIN_OPTS, CLI_BLOCKS_OPTS, CLI_SWEEP_OPTS, CLI_HELP_OPTS,
    NULL};
static const OptSpec *const SYNTH_GROUPS[] = {CLI_SYNTH_OPTS, CLI_HELP_OPTS, NULL};
static const OptSpec *const PREPARE_GROUPS[] = {CLI_PREPARE_OPTS, CLI_HELP_OPTS, NULL};

const Command CLI_COMMANDS[] = {
    {"train", "train a model with fit_one_cycle and print the epoch table",
     "collab-mpi train [OPTIONS]", TRAIN_GROUPS, cmd_train, NULL},
    {"lr-find", "sweep the learning rate and suggest one (the model is left untouched)",
     "collab-mpi lr-find [OPTIONS]", LRFIND_GROUPS, cmd_lr_find, NULL},
    {"sweep", "train many configurations over folds in one job, in groups of ranks",
     "collab-mpi sweep (--grid SPEC [--trials N] | --configs PATH) [OPTIONS]", SWEEP_GROUPS,
     cmd_sweep, NULL},
    {"show-batch", "print a training batch: user, title, rating", "collab-mpi show-batch [OPTIONS]",
     SHOWBATCH_GROUPS, cmd_show_batch, NULL},
    {"synth", "write a synthetic MovieLens-shaped ratings set of any size",
     "collab-mpi synth --output DIR [OPTIONS]", SYNTH_GROUPS, cmd_synth, NULL},
    {"prepare", "parse ratings text once into an HDF5 file that training reads in parallel",
     "collab-mpi prepare INPUT --output FILE [OPTIONS]", PREPARE_GROUPS, cmd_prepare_data, "INPUT"},
    {"predict", "predict the rating of every (user, item) line of a file",
     "collab-mpi predict --model PATH [OPTIONS] PAIRS", PREDICT_GROUPS, cmd_predict, "PAIRS"},
    {"recommend", "the top-N unrated items for a user, or for every user (--all-users)",
     "collab-mpi recommend --model PATH (--user ID | --all-users) [OPTIONS]", RECOMMEND_GROUPS,
     cmd_recommend, NULL},
    {"similar", "the items nearest to an item by cosine similarity of their factors",
     "collab-mpi similar --model PATH --item ID|TITLE [OPTIONS]", SIMILAR_GROUPS, cmd_similar,
     NULL},
    {"biases", "the items and users with the lowest and the highest learned bias",
     "collab-mpi biases --model PATH [OPTIONS]", BIASES_GROUPS, cmd_biases, NULL},
    {"pca", "PCA of the factors of the most-rated items, to HDF5 and CSV",
     "collab-mpi pca --model PATH [OPTIONS]", PCA_GROUPS, cmd_pca, NULL},
    {"evaluate", "MSE, RMSE, MAE and ranking metrics on held-out ratings, beside baselines",
     "collab-mpi evaluate --model PATH [OPTIONS] [FILE]", EVALUATE_GROUPS, cmd_evaluate, "FILE"},
    {"show-results", "validation rows with the prediction beside the target",
     "collab-mpi show-results --model PATH [OPTIONS]", SHOWRESULTS_GROUPS, cmd_show_results, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

/* Parses text as the option's type into its field; usage error naming the option. */
int cli_set_option(Options *o, const OptSpec *s, const char *text, Status *st)
{
    char *field = (char *)o + s->offset, *end = NULL;
    errno = 0;
    if (s->type == OPT_STR) {
        *(const char **)field = text;
    } else if (s->type == OPT_INT) {
        long long v = strtoll(text, &end, 10);
        if (errno || end == text || *end)
            return status_set(st, STATUS_USAGE, "option --%s: '%s' is not an integer", s->name,
                              text);
        *(int64_t *)field = v;
    } else if (s->type == OPT_DOUBLE) {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v))
            return status_set(st, STATUS_USAGE, "option --%s: '%s' is not a finite number", s->name,
                              text);
        *(double *)field = v;
    } else {
        *(int *)field = 1;
    }
    return STATUS_OK;
}

static const OptSpec *opt_find(const Command *cmd, const char *name, size_t len)
{
    for (const OptSpec *const *g = cmd->groups; *g; g++)
        for (const OptSpec *s = *g; s->name; s++)
            if (strlen(s->name) == len && strncmp(s->name, name, len) == 0)
                return s;
    return NULL;
}

const OptSpec *cli_find_option(const Command *cmd, const char *name)
{
    return opt_find(cmd, name, strlen(name));
}

/* The option whose one-letter alias is "-c", or NULL. */
static const OptSpec *opt_find_short(const Command *cmd, const char *a)
{
    for (const OptSpec *const *g = cmd->groups; *g; g++)
        for (const OptSpec *s = *g; s->name; s++)
            if (s->short_name && a[1] == s->short_name && a[2] == '\0')
                return s;
    return NULL;
}

static void opt_defaults(Options *o, const Command *cmd)
{
    Status ignore;
    memset(o, 0, sizeof *o);
    status_clear(&ignore);
    for (const OptSpec *const *g = cmd->groups; *g; g++)
        for (const OptSpec *s = *g; s->name; s++)
            if (s->def)
                cli_set_option(o, s, s->def, &ignore);
}

int cli_parse(Options *o, const Command *cmd, int argc, char **argv, Status *st)
{
    opt_defaults(o, cmd);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const OptSpec *s = a[0] == '-' && a[1] != '-' ? opt_find_short(cmd, a) : NULL;
        if (!s && cmd->positional && a[0] != '-' && !o->input) {
            o->input = a;
            continue;
        }
        if (!s && strncmp(a, "--", 2) != 0)
            return status_set(st, STATUS_USAGE, "unexpected argument '%s' (see %s --help)", a,
                              cmd->name);
        const char *eq = s ? NULL : strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        s = s ? s : opt_find(cmd, a + 2, len);
        if (!s)
            return status_set(st, STATUS_USAGE, "unknown option '%.*s' for %s (see %s --help)",
                              (int)(len + 2), a, cmd->name, cmd->name);
        const char *val = eq ? eq + 1 : NULL;
        if (s->type == OPT_FLAG && val)
            return status_set(st, STATUS_USAGE, "option --%s takes no value", s->name);
        if (s->type != OPT_FLAG && !val) {
            if (i + 1 >= argc)
                return status_set(st, STATUS_USAGE, "option --%s needs a value (%s)", s->name,
                                  s->metavar);
            val = argv[++i];
        }
        if (cli_set_option(o, s, val ? val : "", st))
            return st->code;
        if (!cli_option_given(o, s->name) && o->n_given < CLI_MAX_OPTIONS)
            o->given[o->n_given++] = s;
    }
    return STATUS_OK;
}

void cli_given_all(Options *o, const Command *cmd)
{
    o->n_given = 0;
    for (const OptSpec *const *g = cmd->groups; *g; g++)
        for (const OptSpec *s = *g; s->name && o->n_given < CLI_MAX_OPTIONS; s++)
            if (!cli_option_given(o, s->name))
                o->given[o->n_given++] = s;
}

int cli_option_given(const Options *o, const char *name)
{
    for (size_t i = 0; i < o->n_given; i++)
        if (!strcmp(o->given[i]->name, name))
            return 1;
    return 0;
}

void cli_print_help(FILE *f, const Command *cmd)
{
    fprintf(f, "Usage: %s\n%s.\n", cmd->usage, cmd->summary);
    static const char *const titles[] = {
        "Data",       "Model",      "Training",     "Batches", "lr-find",
        "show-batch", "synth",      "Output",       "Other",   "Checkpoints",
        "Model file", "Input file", "recommend",    "similar", "biases",
        "pca",        "evaluate",   "show-results", "prepare", "Blocked training",
        "Sweep"};
    const OptSpec *const known[] = {CLI_DATA_OPTS,      CLI_MODEL_OPTS,    CLI_TRAIN_OPTS,
                                    CLI_BATCH_OPTS,     CLI_LRFIND_OPTS,   CLI_SHOWBATCH_OPTS,
                                    CLI_SYNTH_OPTS,     CLI_OUTPUT_OPTS,   CLI_HELP_OPTS,
                                    CLI_CKPT_OPTS,      CLI_USE_OPTS,      CLI_PAIRS_OPTS,
                                    CLI_RECOMMEND_OPTS, CLI_SIMILAR_OPTS,  CLI_BIASES_OPTS,
                                    CLI_PCA_OPTS,       CLI_EVALUATE_OPTS, CLI_SHOWRESULTS_OPTS,
                                    CLI_PREPARE_OPTS,   CLI_BLOCKS_OPTS,   CLI_SWEEP_OPTS};
    for (const OptSpec *const *g = cmd->groups; *g; g++) {
        for (size_t t = 0; t < sizeof known / sizeof *known; t++)
            if (known[t] == *g)
                fprintf(f, "\n%s options:\n", titles[t]);
        for (const OptSpec *s = *g; s->name; s++) {
            char left[64], alias[8] = "";
            if (s->short_name)
                snprintf(alias, sizeof alias, "-%c, ", s->short_name);
            snprintf(left, sizeof left, "%s--%s%s%s", alias, s->name, s->metavar ? " " : "",
                     s->metavar ? s->metavar : "");
            fprintf(f, "  %-22s %s", left, s->help);
            if (s->def)
                fprintf(f, " [%s]", s->def);
            fputc('\n', f);
        }
    }
}

static void cli_print_usage(FILE *f)
{
    fprintf(f, "Usage: collab-mpi COMMAND [OPTIONS]\n"
               "Distributed collaborative-filtering trainer (fastai chapter 8 on MPI).\n"
               "Run under mpirun/srun for several ranks.\n\nCommands:\n");
    for (const Command *c = CLI_COMMANDS; c->name; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
    fprintf(f, "\n'collab-mpi COMMAND --help' describes a command's options.\n"
               "Exit status: 0 ok, 1 data or runtime error, 2 usage error, 75 stopped by a\n"
               "signal after a checkpoint, 76 stalled (train --stall-timeout).\n");
}

const Command *cli_command(const char *name)
{
    for (const Command *c = CLI_COMMANDS; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

/* Parses c's options from argv and runs it (its --help was answered by cli_main_early). */
static int cli_run(const Ctx *ctx, const Command *c, int argc, char **argv)
{
    Options o;
    Status st;
    status_clear(&st);
    if (cli_parse(&o, c, argc, argv, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    log_init(ctx->rank, o.quiet ? LOG_QUIET : o.verbose ? LOG_VERBOSE : LOG_NORMAL);
    hooks_check(&st); /* a malformed test hook stops every rank before the command runs */
    if (status_agree(&st, ctx->comm)) {
        log_error("%s", st.msg);
        return st.code;
    }
    return c->run(ctx, &o);
}

/* The usage error of an unknown subcommand, listing the known ones. */
static int cli_unknown(const char *name)
{
    char list[512] = "";
    for (const Command *c = CLI_COMMANDS; c->name; c++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 c == CLI_COMMANDS ? "" : ", ", c->name);
    log_error("unknown command '%s' (commands: %s; see --help)", name, list);
    return 2;
}

/* What --version prints. */
static void cli_print_version(FILE *f)
{
    fprintf(f, "%s\n", PACKAGE_STRING);
}

int cli_main_early(int argc, char **argv, int print)
{
    const char *name = argc > 1 ? argv[1] : NULL;
    if (!name || !strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        if (print)
            cli_print_usage(name ? stdout : stderr);
        return name ? 0 : 2;
    }
    if (!strcmp(name, "--version")) {
        if (print)
            cli_print_version(stdout);
        return 0;
    }
    const Command *c = cli_command(name);
    Options o;
    Status st;
    status_clear(&st);
    /* COMMAND --help, when the rest parses: a parse error is reported by cli_run. */
    if (c && cli_parse(&o, c, argc - 2, argv + 2, &st) == STATUS_OK && o.help) {
        if (print)
            cli_print_help(stdout, c);
        return 0;
    }
    return -1;
}

int cli_main(const Ctx *ctx, int argc, char **argv)
{
    const int rc = cli_main_early(argc, argv, ctx->rank == 0);
    if (rc >= 0)
        return rc;
    const Command *c = cli_command(argv[1]);
    return c ? cli_run(ctx, c, argc - 2, argv + 2) : cli_unknown(argv[1]);
}
