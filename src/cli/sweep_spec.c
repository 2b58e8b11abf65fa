/* sweep_spec.c - a sweep's configurations from --grid, --trials or --configs
 * (cli/sweep_spec.h): the syntax, the names checked against train's options, every value
 * parsed as its option's type, the grid's combinations and the random search's draws. */
#include "config.h"

#include "collab/cli/sweep_spec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/rng.h"

/* One swept option: its values, or (random search only) a range. */
typedef struct Dim {
    const OptSpec *opt;
    size_t n;                  /* values listed (0 for a range) */
    char (*vals)[SWEEP_VALUE]; /* (n) */
    int range, log;            /* LO:HI, LO:HI:log */
    double lo, hi;
} Dim;

/* ------------------------------------------------------------------ names */

/* The groups whose options a sweep may vary (--max-memory aside). */
static const OptSpec *const *sweepable_groups(void)
{
    static const OptSpec *const groups[] = {CLI_MODEL_OPTS, CLI_TRAIN_OPTS, CLI_BLOCKS_OPTS, NULL};
    return groups;
}

static int is_sweepable(const char *name)
{
    if (!strcmp(name, "max-memory"))
        return 0;
    for (const OptSpec *const *g = sweepable_groups(); *g; g++)
        for (const OptSpec *s = *g; s->name; s++)
            if (!strcmp(s->name, name))
                return 1;
    return 0;
}

void sweep_sweepable(char *out, size_t len)
{
    out[0] = '\0';
    for (const OptSpec *const *g = sweepable_groups(); *g; g++)
        for (const OptSpec *s = *g; s->name; s++)
            if (is_sweepable(s->name))
                snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? ", " : "", s->name);
}

/* train's option called name, when a sweep may vary it; else a usage error saying why
 * not. where names the source ("option --grid", "FILE:LINE"). */
static const OptSpec *sweep_option(const char *name, const char *where, Status *st)
{
    char known[1024];
    const Command *train = cli_command("train");
    const OptSpec *s = train ? cli_find_option(train, name) : NULL;
    if (s && is_sweepable(name))
        return s;
    sweep_sweepable(known, sizeof known);
    if (!s)
        status_set(st, STATUS_USAGE, "%s: '%s' is not an option of train (a sweep varies: %s)",
                   where, name, known);
    else if (!strcmp(name, "seed") || !strcmp(name, "folds") || !strcmp(name, "fold"))
        status_set(st, STATUS_USAGE,
                   "%s: --%s cannot be swept: the seed and the folds are the sweep's, the "
                   "same for every configuration (give --%s to the sweep itself)",
                   where, name, name);
    else
        status_set(st, STATUS_USAGE,
                   "%s: --%s cannot be swept: a sweep varies the model and its training "
                   "(%s); the data and the outputs are the sweep's",
                   where, name, known);
    return NULL;
}

/* Parses value as opt's type into a scratch Options: the check every value gets. */
static int check_value(const OptSpec *opt, const char *value, const char *where, Status *st)
{
    Options scratch;
    Status inner;
    memset(&scratch, 0, sizeof scratch);
    status_clear(&inner);
    if (!value[0])
        return status_set(st, STATUS_USAGE, "%s: --%s has an empty value", where, opt->name);
    if (strlen(value) >= SWEEP_VALUE)
        return status_set(st, STATUS_USAGE, "%s: the value of --%s is longer than %d bytes", where,
                          opt->name, SWEEP_VALUE - 1);
    if (opt->type == OPT_FLAG)
        return status_set(st, STATUS_USAGE, "%s: --%s is a flag, which a sweep cannot vary", where,
                          opt->name);
    if (cli_set_option(&scratch, opt, value, &inner))
        return status_set(st, STATUS_USAGE, "%s: %s", where, inner.msg);
    return STATUS_OK;
}

/* ------------------------------------------------------------------ a grid item */

/* A range LO:HI[:log] of a numeric option into d. */
static int parse_range(Dim *d, const char *text, const char *where, Status *st)
{
    char buf[SWEEP_VALUE * 2], *end = NULL;
    snprintf(buf, sizeof buf, "%s", text);
    char *colon = strchr(buf, ':'), *second = colon ? strchr(colon + 1, ':') : NULL;
    *colon = '\0';
    if (second)
        *second = '\0';
    errno = 0;
    d->lo = strtod(buf, &end);
    int ok = end != buf && !*end;
    d->hi = strtod(colon + 1, &end);
    ok &=
        end != colon + 1 && !*end && !errno && isfinite(d->lo) && isfinite(d->hi) && d->lo < d->hi;
    d->log = second && !strcmp(second + 1, "log");
    ok &= !second || d->log;
    ok &= !d->log || d->lo > 0;
    if (ok && d->opt->type == OPT_INT)
        ok = d->lo == floor(d->lo) && d->hi == floor(d->hi);
    if (!ok)
        return status_set(st, STATUS_USAGE,
                          "%s: '%s' is not a range LO:HI or LO:HI:log of --%s (LO < HI%s%s)", where,
                          text, d->opt->name, d->log || second ? ", LO > 0 for log" : "",
                          d->opt->type == OPT_INT ? ", whole numbers" : "");
    d->range = 1;
    return STATUS_OK;
}

/* The values of item NAME=LIST into d: split on '|', and on ',' but for the options
 * whose values hold commas. */
static int parse_values(Dim *d, const char *list, const char *item, int trials, Status *st)
{
    const int commas = strcmp(d->opt->name, "y-range") && strcmp(d->opt->name, "layers");
    const char *seps = commas ? ",|" : "|";
    char where[SWEEP_TEXT + 32];
    snprintf(where, sizeof where, "option --grid: in '%.200s'", item);
    if (strchr(list, ':') && (d->opt->type == OPT_INT || d->opt->type == OPT_DOUBLE) &&
        !strpbrk(list, seps)) {
        if (!trials)
            return status_set(st, STATUS_USAGE,
                              "%s: a range can only be drawn from by a random search "
                              "(--trials N); a grid lists values, e.g. %s=1,2,3",
                              where, d->opt->name);
        return parse_range(d, list, where, st);
    }
    const size_t len = strlen(list);
    d->vals = xcalloc(len + 1, sizeof *d->vals); /* at most len + 1 values */
    for (const char *p = list;; p++) {
        const size_t k = strcspn(p, seps);
        if (k >= SWEEP_VALUE)
            return status_set(st, STATUS_USAGE, "%s: a value is longer than %d bytes", where,
                              SWEEP_VALUE - 1);
        memcpy(d->vals[d->n], p, k);
        d->vals[d->n][k] = '\0';
        if (check_value(d->opt, d->vals[d->n++], where, st))
            return st->code;
        p += k;
        if (!*p)
            break;
    }
    return STATUS_OK;
}

/* One item NAME=LIST of the grid into d; dims[0..n) are the items before it. */
static int parse_item(Dim *d, const char *item, const Dim *dims, size_t n, int trials, Status *st)
{
    char name[64];
    const char *eq = strchr(item, '=');
    memset(d, 0, sizeof *d);
    if (!eq || eq == item || (size_t)(eq - item) >= sizeof name)
        return status_set(st, STATUS_USAGE,
                          "option --grid: '%.200s' is not NAME=VALUES (e.g. lr=1e-3,3e-3)", item);
    memcpy(name, item, (size_t)(eq - item));
    name[eq - item] = '\0';
    if (!(d->opt = sweep_option(name, "option --grid", st)))
        return st->code;
    for (size_t i = 0; i < n; i++)
        if (dims[i].opt == d->opt)
            return status_set(st, STATUS_USAGE, "option --grid: %s is given twice", name);
    return parse_values(d, eq + 1, item, trials, st);
}

/* The items of --grid into dims (at most SWEEP_MAX_SETTINGS); *n of them. */
static int parse_grid(Dim *dims, size_t *n, const char *grid, int trials, Status *st)
{
    char *copy = xstrdup(grid), *save = NULL;
    *n = 0;
    for (char *item = strtok_r(copy, " \t\n", &save); item && !st->code;
         item = strtok_r(NULL, " \t\n", &save)) {
        if (*n == SWEEP_MAX_SETTINGS) {
            status_set(st, STATUS_USAGE, "option --grid: more than %d settings",
                       SWEEP_MAX_SETTINGS);
            break;
        }
        parse_item(&dims[*n], item, dims, *n, trials, st);
        (*n)++; /* its values are freed with the others, even after an error */
    }
    free(copy);
    if (!st->code && *n == 0)
        status_set(st, STATUS_USAGE, "option --grid: no settings (e.g. --grid 'lr=1e-3,3e-3')");
    return st->code;
}

/* ------------------------------------------------------------------ configurations */

/* Appends setting NAME=VALUE to c. */
static int config_add(SweepConfig *c, const OptSpec *opt, const char *value, Status *st)
{
    SweepSetting *s = &c->set[c->n++];
    s->opt = opt;
    snprintf(s->value, sizeof s->value, "%s", value);
    const size_t used = strlen(c->text);
    const int w = snprintf(c->text + used, sizeof c->text - used, "%s%s=%s", used ? " " : "",
                           opt->name, value);
    if (w < 0 || (size_t)w >= sizeof c->text - used)
        return status_set(st, STATUS_USAGE, "a configuration is longer than %d bytes: '%.100s...'",
                          SWEEP_TEXT - 1, c->text);
    return STATUS_OK;
}

/* Draw k of range d, as its setting's text. */
static void draw_range(char *out, const Dim *d, uint64_t seed, uint64_t trial, uint64_t k)
{
    const double u = rng_unit(rng_hash(seed, RNG_STREAM_SEARCH, trial, k));
    if (d->opt->type == OPT_INT) {
        const double span = d->log ? log(d->hi + 1) - log(d->lo) : d->hi - d->lo + 1;
        double v = d->log ? floor(exp(log(d->lo) + u * span)) : d->lo + floor(u * span);
        v = v < d->lo ? d->lo : v > d->hi ? d->hi : v;
        snprintf(out, SWEEP_VALUE, "%lld", (long long)v);
        return;
    }
    const double v =
        d->log ? exp(log(d->lo) + u * (log(d->hi) - log(d->lo))) : d->lo + u * (d->hi - d->lo);
    snprintf(out, SWEEP_VALUE, "%.3g", v);
}

/* Every combination of the dims, the first varying slowest. */
static int expand_grid(SweepConfigs *out, const Dim *dims, size_t n, Status *st)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        if (total > SWEEP_MAX_CONFIGS / dims[i].n)
            return status_set(st, STATUS_USAGE,
                              "option --grid: more than %d configurations; narrow it, or draw "
                              "some at random with --trials N",
                              SWEEP_MAX_CONFIGS);
        total *= dims[i].n;
    }
    out->c = xcalloc(total, sizeof *out->c);
    out->n = total;
    for (size_t k = 0; k < total && !st->code; k++) {
        size_t rest = k, stride = total;
        for (size_t i = 0; i < n && !st->code; i++) {
            stride /= dims[i].n;
            config_add(&out->c[k], dims[i].opt, dims[i].vals[rest / stride], st);
            rest %= stride;
        }
    }
    return st->code;
}

/* trials random configurations: each setting drawn by (seed, trial, setting). */
static int draw_trials(SweepConfigs *out, const Dim *dims, size_t n, int64_t trials, uint64_t seed,
                       Status *st)
{
    out->c = xcalloc((size_t)trials, sizeof *out->c);
    out->n = (size_t)trials;
    for (size_t t = 0; t < out->n && !st->code; t++)
        for (size_t i = 0; i < n && !st->code; i++) {
            char value[SWEEP_VALUE];
            if (dims[i].range) {
                draw_range(value, &dims[i], seed, t, i);
            } else {
                const double u = rng_unit(rng_hash(seed, RNG_STREAM_SEARCH, t, i));
                snprintf(value, sizeof value, "%s", dims[i].vals[(size_t)(u * (double)dims[i].n)]);
            }
            config_add(&out->c[t], dims[i].opt, value, st);
        }
    return st->code;
}

/* ------------------------------------------------------------------ --configs FILE */

/* One line's settings into c (no lists: a value is whole). */
static int parse_line(SweepConfig *c, char *line, const char *where, Status *st)
{
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r", &save); tok && !st->code;
         tok = strtok_r(NULL, " \t\r", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok)
            return status_set(st, STATUS_USAGE, "%s: '%.200s' is not NAME=VALUE", where, tok);
        *eq = '\0';
        const OptSpec *opt = sweep_option(tok, where, st);
        if (!opt)
            return st->code;
        for (size_t i = 0; i < c->n; i++)
            if (c->set[i].opt == opt)
                return status_set(st, STATUS_USAGE, "%s: %s is given twice", where, tok);
        if (c->n == SWEEP_MAX_SETTINGS)
            return status_set(st, STATUS_USAGE, "%s: more than %d settings", where,
                              SWEEP_MAX_SETTINGS);
        if (!check_value(opt, eq + 1, where, st))
            config_add(c, opt, eq + 1, st);
    }
    return st->code;
}

static int parse_file(SweepConfigs *out, const char *path, Status *st)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return status_set(st, STATUS_DATA, "option --configs: cannot open '%s': %s", path,
                          strerror(errno));
    char line[4096], where[4200];
    size_t cap = 0;
    for (long no = 1; fgets(line, sizeof line, f) && !st->code; no++) {
        snprintf(where, sizeof where, "%s:%ld", path, no);
        line[strcspn(line, "#\n")] = '\0';
        if (strspn(line, " \t\r") == strlen(line))
            continue;
        if (out->n == SWEEP_MAX_CONFIGS) {
            status_set(st, STATUS_USAGE, "%s: more than %d configurations", where,
                       SWEEP_MAX_CONFIGS);
            break;
        }
        if (out->n == cap)
            out->c = xrealloc(out->c, (cap = cap ? 2 * cap : 16) * sizeof *out->c);
        memset(&out->c[out->n], 0, sizeof *out->c);
        parse_line(&out->c[out->n++], line, where, st);
    }
    fclose(f);
    if (!st->code && out->n == 0)
        status_set(st, STATUS_USAGE, "option --configs: %s holds no configuration", path);
    return st->code;
}

/* ------------------------------------------------------------------ public */

int sweep_configs_parse(SweepConfigs *out, const Options *o, Status *st)
{
    memset(out, 0, sizeof *out);
    if (!o->grid == !o->configs)
        return status_set(st, STATUS_USAGE,
                          o->grid ? "options --grid and --configs: give one "
                                    "of them"
                                  : "sweep needs --grid SPEC or --configs "
                                    "PATH (see sweep --help)");
    if (o->trials < 0 || o->trials > SWEEP_MAX_CONFIGS)
        return status_set(st, STATUS_USAGE, "option --trials: %lld is not in 0..%d",
                          (long long)o->trials, SWEEP_MAX_CONFIGS);
    if (o->trials && o->configs)
        return status_set(st, STATUS_USAGE,
                          "option --trials draws from --grid's values and ranges, not from "
                          "--configs");
    if (o->search_seed < 0)
        return status_set(st, STATUS_USAGE, "option --search-seed: %lld is negative",
                          (long long)o->search_seed);
    if (o->configs)
        return parse_file(out, o->configs, st);
    Dim dims[SWEEP_MAX_SETTINGS];
    size_t n = 0;
    if (!parse_grid(dims, &n, o->grid, o->trials > 0, st)) {
        if (o->trials)
            draw_trials(out, dims, n, o->trials, (uint64_t)o->search_seed, st);
        else
            expand_grid(out, dims, n, st);
    }
    for (size_t i = 0; i < n; i++)
        free(dims[i].vals);
    return st->code;
}

void sweep_configs_free(SweepConfigs *s)
{
    free(s->c);
    s->c = NULL;
    s->n = 0;
}

int sweep_config_apply(Options *t, const SweepConfig *c, Status *st)
{
    for (size_t i = 0; i < c->n; i++)
        if (cli_set_option(t, c->set[i].opt, c->set[i].value, st))
            return st->code;
    return STATUS_OK;
}
