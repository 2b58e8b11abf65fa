/* cmd_synth.c - `collab-mpi synth`: validate -> create the folder -> build the model ->
 * write ratings.csv (all ranks, MPI-IO) -> movies.csv and README.txt (rank 0) -> report. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/base/log.h"
#include "collab/data/synth.h"

/* Ratings per user when --users is not given (MovieLens 25M has 154). */
#define DEFAULT_PER_USER 150
/* Items per sqrt(rating) when --items is not given: ~60000 for 25M ratings (ml-25m has
 * 59047), ~27000 for 5M. */
#define DEFAULT_ITEMS_PER_SQRT 12.0

static int check_int(int64_t v, int64_t lo, int64_t hi, const char *opt, Status *st)
{
    if (v >= lo && v <= hi)
        return STATUS_OK;
    return status_set(st, STATUS_USAGE, "option --%s: %lld is not in %lld..%lld", opt, (long long)v,
                      (long long)lo, (long long)hi);
}

static int check_real(double v, double lo, double hi, const char *opt, Status *st)
{
    if (v >= lo && v <= hi)
        return STATUS_OK;
    return status_set(st, STATUS_USAGE, "option --%s: %g is not in [%g, %g]", opt, v, lo, hi);
}

/* --users and --items when not given (0), derived from the ratings; then their ranges. */
static int synth_sizes(SynthConfig *c, const Options *o, Status *st)
{
    int64_t r = o->synth_ratings, users = o->synth_users, items = o->synth_items;
    if (users < 0 || items < 0)
        return status_set(st, STATUS_USAGE,
                          "option --%s: %lld is negative (0: derive from --ratings)",
                          users < 0 ? "users" : "items", (long long)(users < 0 ? users : items));
    if (users == 0)
        users = r / DEFAULT_PER_USER > 0 ? r / DEFAULT_PER_USER : 1;
    if (items == 0) {
        /* Enough items that every user's share fits under the cap of half the items. */
        double want = fmax(ceil(DEFAULT_ITEMS_PER_SQRT * sqrt((double)r)),
                           2.0 * ceil((double)r / (double)users));
        want = fmax(want, 2.0 * (double)o->synth_min_per_user);
        items = (int64_t)fmin(want, (double)SYNTH_MAX_ITEMS);
    }
    if (check_int(users, 1, SYNTH_MAX_USERS, "users", st) ||
        check_int(items, 2, SYNTH_MAX_ITEMS, "items", st))
        return st->code;
    c->n_users = users;
    c->n_items = items;
    return STATUS_OK;
}

/* Options -> SynthConfig, or a usage error naming the option. */
static int synth_config(SynthConfig *c, const Options *o, Status *st)
{
    if (!o->synth_output || !*o->synth_output)
        return status_set(st, STATUS_USAGE,
                          "option --output is required: the folder to write ratings.csv and "
                          "movies.csv into");
    if (check_int(o->synth_ratings, 1, SYNTH_MAX_RATINGS, "ratings", st) ||
        check_int(o->synth_rank, 1, SYNTH_MAX_RANK, "rank", st) ||
        check_int(o->synth_min_per_user, 1, SYNTH_MAX_ITEMS / 2, "min-per-user", st) ||
        check_int(o->seed, 0, INT64_MAX, "seed", st) ||
        check_real(o->synth_zipf, 0.0, SYNTH_MAX_ZIPF, "zipf", st) ||
        check_real(o->synth_noise, 0.0, 10.0, "noise", st) || synth_sizes(c, o, st))
        return st->code;
    c->n_ratings = o->synth_ratings;
    c->min_per_user = o->synth_min_per_user;
    c->rank = (int)o->synth_rank;
    c->zipf = o->synth_zipf;
    c->noise = o->synth_noise;
    c->seed = (uint64_t)o->seed;
    const int64_t half = c->n_items / 2;
    if (c->min_per_user > half)
        return status_set(st, STATUS_USAGE,
                          "option --min-per-user: %lld is more than half the %lld items (users "
                          "rate at most half): lower it or raise --items",
                          (long long)c->min_per_user, (long long)c->n_items);
    if (c->min_per_user > c->n_ratings / c->n_users)
        return status_set(st, STATUS_USAGE,
                          "option --min-per-user: %lld ratings for each of %lld users is more "
                          "than --ratings %lld: lower --min-per-user or --users, or raise "
                          "--ratings",
                          (long long)c->min_per_user, (long long)c->n_users,
                          (long long)c->n_ratings);
    if (c->n_ratings / c->n_users > half ||
        (c->n_ratings / c->n_users == half && c->n_ratings % c->n_users))
        return status_set(st, STATUS_USAGE,
                          "option --ratings: %lld ratings do not fit %lld users rating at most "
                          "half the %lld items each: raise --users or --items",
                          (long long)c->n_ratings, (long long)c->n_users, (long long)c->n_items);
    return STATUS_OK;
}

/* Rank 0: creates dir (one level) unless it is already a folder. */
static int make_folder(const char *dir, Status *st)
{
    struct stat sb;
    if (mkdir(dir, 0777) == 0)
        return STATUS_OK;
    if (errno != EEXIST)
        return status_set(st, STATUS_DATA,
                          "cannot create the output folder %s: %s (its parent must exist and "
                          "be writable)",
                          dir, strerror(errno));
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        return STATUS_OK;
    return status_set(st, STATUS_DATA,
                      "cannot use %s as the output folder: it exists and is not a folder "
                      "(choose another --output)",
                      dir);
}

/* DIR/name into buf, or a usage error when it does not fit. */
static int join_path(char *buf, size_t size, const char *dir, const char *name, Status *st)
{
    if ((size_t)snprintf(buf, size, "%s/%s", dir, name) < size)
        return STATUS_OK;
    return status_set(st, STATUS_USAGE, "option --output: the path is too long");
}

/* Rank 0, after ratings.csv: the summary, movies.csv and README.txt. */
static int finish_rank0(SynthSummary *sum, const SynthModel *m, const SynthStats *s,
                        const char *dir, double t0, Status *st)
{
    char path[4096];
    synth_summarize(sum, m, s);
    if (join_path(path, sizeof path, dir, "movies.csv", st) || synth_write_movies(m, path, st))
        return st->code;
    sum->seconds = MPI_Wtime() - t0;
    if (join_path(path, sizeof path, dir, "README.txt", st) || synth_write_readme(m, sum, path, st))
        return st->code;
    return STATUS_OK;
}

static void print_summary(const SynthSummary *sum, const SynthConfig *c, const char *dir)
{
    log_info("synth: ratings per user min %lld, median %lld, max %lld; items rated %lld of "
             "%lld, top item %.2f%% of ratings; rating mean %.3f, sd %.3f\n",
             (long long)sum->per_user_min, (long long)sum->per_user_median,
             (long long)sum->per_user_max, (long long)sum->items_rated, (long long)c->n_items,
             100.0 * sum->top_item_share, sum->mean, sum->sd);
    if (log_rank() == 0) {
        printf("synth: wrote %lld ratings (%lld users, %lld items) to %s/ratings.csv in %.2f s; "
               "oracle RMSE %.4f (noiseless generating model)\n",
               (long long)sum->n_ratings, (long long)c->n_users, (long long)c->n_items, dir,
               sum->seconds, sum->oracle_rmse);
        fflush(stdout);
    }
}

/* Collective: the folder, the model and ratings.csv, then rank 0's files; the agreed
 * status. */
static int synth_run(SynthSummary *sum, const SynthConfig *cfg, const Ctx *ctx, const char *dir,
                     double t0, Status *st)
{
    char path[4096];
    if (ctx->rank == 0)
        make_folder(dir, st);
    join_path(path, sizeof path, dir, "ratings.csv", st);
    if (status_agree(st, ctx->comm))
        return st->code;
    SynthModel m;
    synth_model_init(&m, cfg);
    SynthStats s;
    synth_stats_init(&s, &m);
    if (synth_write_ratings(&s, &m, ctx, path, st) == STATUS_OK) {
        synth_stats_reduce(&s, ctx);
        if (ctx->rank == 0)
            finish_rank0(sum, &m, &s, dir, t0, st);
        status_agree(st, ctx->comm);
    }
    synth_stats_free(&s);
    synth_model_free(&m);
    return st->code;
}

int cmd_synth(const Ctx *ctx, Options *o)
{
    SynthConfig cfg;
    Status st;
    status_clear(&st);
    if (synth_config(&cfg, o, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    o->synth_users = cfg.n_users; /* print the resolved values */
    o->synth_items = cfg.n_items;
    cli_print_settings(cli_command("synth"), o, NULL);
    SynthSummary sum;
    if (synth_run(&sum, &cfg, ctx, o->synth_output, MPI_Wtime(), &st))
        log_error("%s", st.msg);
    else
        print_summary(&sum, &cfg, o->synth_output);
    return st.code;
}
