/* cli.h - options of every subcommand: one table per subcommand built from shared
 * groups, parsing (checked strtol/strtod), --help, and the dispatch to a subcommand.
 * Validation and the setup every subcommand shares are in setup.h; the subcommands'
 * entry points in commands.h. */
#ifndef COLLAB_CLI_H
#define COLLAB_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collab/base/ctx.h"
#include "collab/base/status.h"

/* More than the options of any subcommand. */
enum { CLI_MAX_OPTIONS = 128 };

/* Everything a subcommand can be told, as parsed text and numbers. */
typedef struct Options {
    /* data */
    const char *data, *format, *item_name, *sep, *header, *user_col, *item_col, *rating_col;
    const char *time_col, *items_file, *rating_range, *valid_file;
    double valid_pct;
    int64_t seed, folds, fold;
    int skip_bad_lines;
    /* model */
    const char *model, *y_range, *layers, *batchnorm;
    int64_t n_factors;
    /* training */
    int64_t epochs, bs, blocks;
    double lr, wd, mom, pct_start, div, div_final, sqr_mom, eps;
    const char *opt, *schedule;
    /* lr-find */
    double start_lr, end_lr;
    int64_t num_it;
    const char *suggest;
    int no_stop_div;
    /* show-batch */
    int64_t max_n;
    int info;
    /* synth (0 for users / items means: derive from ratings) */
    const char *synth_output;
    int64_t synth_ratings, synth_users, synth_items, synth_rank, synth_min_per_user;
    double synth_zipf, synth_noise;
    /* checkpoints, resume, output files */
    const char *checkpoint_dir, *checkpoint_every, *resume, *output, *metrics;
    const char *stall_timeout; /* NULL: $COLLAB_STALL_TIMEOUT, else 600 (setup.h) */
    double checkpoint_minutes;
    int64_t keep;
    /* output */
    int quiet, verbose, help;
    const char *progress, *dump_params, *max_memory;
    double progress_seconds;
    /* using a trained model (predict, recommend, similar, biases, pca, evaluate,
     * show-results); `model` above is the kind, so the file is model_file */
    const char *model_file, *input, *user, *item, *protocol, *csv;
    int64_t num, top, components, min_ratings, at_k, show;
    double relevant;
    int all_users;
    /* sweep (resume, output and checkpoint_every above are the sweep's own there) */
    const char *grid, *configs, *pairs, *metric, *sweep_dir;
    int64_t trials, search_seed, ranks_per_trial;
    int refit, keep_models;
    /* the options given on the command line, once each (cli_option_given); the others
     * hold their defaults */
    const struct OptSpec *given[CLI_MAX_OPTIONS];
    size_t n_given;
} Options;

typedef enum OptType { OPT_STR, OPT_INT, OPT_DOUBLE, OPT_FLAG } OptType;

typedef struct OptSpec {
    const char *name; /* long name without "--" */
    OptType type;
    size_t offset;       /* offsetof(Options, field) */
    const char *metavar; /* e.g. "N", "PATH"; NULL for flags */
    const char *help;    /* one line; the default is appended from `def` */
    const char *def;     /* default as text, parsed like user input; NULL = none */
    char short_name;     /* one-letter alias, e.g. 'n' for -n; 0 = none */
} OptSpec;

/* The option groups (each terminated by a {NULL} entry). */
extern const OptSpec CLI_CKPT_OPTS[];
extern const OptSpec CLI_BLOCKS_OPTS[];
extern const OptSpec CLI_DATA_OPTS[], CLI_MODEL_OPTS[], CLI_TRAIN_OPTS[], CLI_BATCH_OPTS[],
    CLI_LRFIND_OPTS[], CLI_SHOWBATCH_OPTS[], CLI_SYNTH_OPTS[], CLI_OUTPUT_OPTS[], CLI_HELP_OPTS[],
    CLI_PREPARE_OPTS[];
extern const OptSpec CLI_SWEEP_OPTS[];
extern const OptSpec CLI_USE_OPTS[], CLI_PAIRS_OPTS[], CLI_RECOMMEND_OPTS[], CLI_SIMILAR_OPTS[],
    CLI_BIASES_OPTS[], CLI_PCA_OPTS[], CLI_EVALUATE_OPTS[], CLI_SHOWRESULTS_OPTS[];

/* A subcommand: its name, a one-line summary, and its option groups (NULL-terminated). */
typedef struct Command {
    const char *name;
    const char *summary;
    const char *usage;            /* e.g. "collab-mpi train [OPTIONS]" */
    const OptSpec *const *groups; /* NULL-terminated */
    int (*run)(const Ctx *ctx, Options *o);
    const char *positional; /* metavar of one positional argument (into o->input),
                               or NULL when none is taken */
} Command;

/* Fills o with the defaults of cmd's groups, then parses argv (after the subcommand
 * name): --name VALUE, --name=VALUE, -x VALUE for a one-letter alias, and the command's
 * positional argument if it takes one. Returns STATUS_OK or STATUS_USAGE with a message
 * naming the option. Local. */
int cli_parse(Options *o, const Command *cmd, int argc, char **argv, Status *st);

/* The option of cmd called name (without "--"), or NULL when cmd has none. Local. */
const OptSpec *cli_find_option(const Command *cmd, const char *name);

/* Parses text as option s's type into its field of o, as the command line would (a flag
 * is set whatever text is). Returns STATUS_OK or STATUS_USAGE naming the option. Local. */
int cli_set_option(Options *o, const OptSpec *s, const char *text, Status *st);
/* 1 when option name (its long name) was given on the command line cli_parse read into
 * o, 0 when it holds its default. Local. */
int cli_option_given(const Options *o, const char *name);

/* Marks every option of cmd as given: for a caller that sets o's options itself (a
 * sweep's trial), so that a resumed run keeps them rather than taking its checkpoint's
 * (setup.h, cli_resume_settings). Local. */
void cli_given_all(Options *o, const Command *cmd);

/* Prints cmd's --help to f. */
void cli_print_help(FILE *f, const Command *cmd);

/* The table of subcommands, NULL-name terminated. */
extern const Command CLI_COMMANDS[];

/* The subcommand called name in CLI_COMMANDS, or NULL when there is none. Local. */
const Command *cli_command(const char *name);

/* The command lines answered without MPI: `--help`, `-h`, `help`, `--version`, none at
 * all (the usage on stderr, status 2) and `COMMAND ... --help` when the rest parses.
 * Prints the answer on stdout when print is set (main passes "the launcher's rank is 0
 * or there is none", launch.h) and returns the exit status; returns -1 for a command
 * line that needs MPI. Local: main calls it before MPI_Init, so that these start no
 * MPI runtime, daemon or network. */
int cli_main_early(int argc, char **argv, int print);

/* Runs the program: answers what cli_main_early answers (rank 0 prints), else
 * dispatches argv[1] to a subcommand. Returns the exit status, the same on every rank.
 * Collective. */
int cli_main(const Ctx *ctx, int argc, char **argv);

#endif
