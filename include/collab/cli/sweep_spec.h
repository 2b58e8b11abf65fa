/* sweep_spec.h - what a sweep varies: its configurations, from a grid (--grid, every
 * combination), a random search over the grid's lists and ranges (--trials N,
 * --search-seed), or a file (--configs), each a list of train options and values.
 *
 * A configuration's settings are options of `train` that define the model or its
 * training (the model, training and blocked-training groups, but --max-memory); the data,
 * the split and the seed that keys the folds are the sweep's, the same for every
 * configuration. Names are checked against train's option table and every value is
 * parsed as that option's type before anything runs; a value of the right type that
 * train refuses (a negative --lr, --blocks with --opt adam) fails its trials only.
 *
 * Grid syntax: whitespace-separated NAME=V1,V2,... items; '|' also separates values, and
 * is the only separator for --y-range and --layers, whose values hold commas. With
 * --trials, a numeric option may take a range LO:HI (uniform) or LO:HI:log
 * (log-uniform), integers drawn whole and reals rounded to 3 significant digits, so the
 * drawn text is the setting. All functions are local and give the same result on every
 * rank. */
#ifndef COLLAB_SWEEP_SPEC_H
#define COLLAB_SWEEP_SPEC_H

#include <stddef.h>

#include "collab/base/status.h"
#include "collab/cli/cli.h"
#include "collab/store/sweep_file.h"

enum {
    SWEEP_MAX_SETTINGS = 16,    /* settings in one configuration */
    SWEEP_MAX_CONFIGS = 100000, /* configurations in one sweep */
    SWEEP_VALUE = 64            /* a value's text, with the NUL */
};

/* One setting: train's option and its value as text. */
typedef struct SweepSetting {
    const OptSpec *opt;
    char value[SWEEP_VALUE];
} SweepSetting;

/* One configuration. */
typedef struct SweepConfig {
    size_t n;
    SweepSetting set[SWEEP_MAX_SETTINGS];
    char text[SWEEP_TEXT]; /* "NAME=VALUE NAME=VALUE", as the table shows it */
} SweepConfig;

typedef struct SweepConfigs {
    size_t n;
    SweepConfig *c; /* (n) */
} SweepConfigs;

/* The configurations o asks for (--grid with or without --trials, or --configs), checked
 * against train's options. Returns STATUS_OK, STATUS_USAGE naming the option, the item
 * and what is wrong, or STATUS_DATA when the --configs file cannot be read. */
int sweep_configs_parse(SweepConfigs *out, const Options *o, Status *st);
void sweep_configs_free(SweepConfigs *s);

/* Sets c's settings into t, train's options. Returns STATUS_OK (the values were checked
 * by sweep_configs_parse) or STATUS_USAGE. */
int sweep_config_apply(Options *t, const SweepConfig *c, Status *st);

/* The names a sweep may vary, comma-separated, for messages and --help. */
void sweep_sweepable(char *out, size_t len);

#endif
