/* synth.h - a synthetic MovieLens-shaped ratings set of any size, written in parallel.
 *
 * The generating model: item popularity follows a power law over popularity ranks
 * (P(rank r) proportional to (r + 1)^-zipf; item IDs are a shuffle of the ranks), each
 * user rates min_per_user + a lognormal number of distinct items (scaled so the total
 * hits the target, capped at n_items / 2), and a rating is
 *
 *     r = clip(round_to_half(mu + b_u + b_i + <p_u, q_i> + e), 0.5, 5),  e ~ N(0, noise^2)
 *
 * Every draw is a counter-based hash keyed by (seed, user, ...) or (seed, item, ...)
 * (rng.h, RNG_STREAM_SYNTH), so a user's lines depend on nothing but the seed and the
 * settings: ranks generate disjoint blocks of users and the written file is the same
 * bytes at any number of ranks.
 *
 * The oracle RMSE compares the written ratings with the noiseless model
 * clip(mu + b_u + b_i + <p_u, q_i>, 0.5, 5): the error a model that knew the hidden
 * parameters would make (in expectation, the floor for any model). */
#ifndef COLLAB_SYNTH_H
#define COLLAB_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/ctx.h"
#include "collab/base/exact.h"
#include "collab/base/status.h"

/* Bounds the option validation enforces (memory of the per-item and per-user tables). */
#define SYNTH_MAX_RATINGS 100000000000LL
#define SYNTH_MAX_USERS 100000000LL
#define SYNTH_MAX_ITEMS 50000000LL
#define SYNTH_MAX_RANK 256
#define SYNTH_MAX_ZIPF 2.0

/* The generator's resolved settings (every field set; see cmd_synth.c for defaults). */
typedef struct SynthConfig {
    int64_t n_ratings; /* target total; the exact total is min_per_user * n_users + the
                          rounded lognormal shares, equal to it unless capping prevents */
    int64_t n_users;
    int64_t n_items;
    int64_t min_per_user;
    int rank;     /* hidden factors K */
    double zipf;  /* popularity exponent, 0 (uniform) .. SYNTH_MAX_ZIPF */
    double noise; /* SD of e before rounding */
    uint64_t seed;
} SynthConfig;

/* Constants of the generating model, written to README.txt. */
#define SYNTH_MU 3.5 /* global mean before clipping */
#define SYNTH_USER_BIAS_SD 0.45
#define SYNTH_ITEM_BIAS_SD 0.45
#define SYNTH_DOT_VAR 0.45       /* variance of <p_u, q_i>; factor SD = (DOT_VAR / K)^(1/4) */
#define SYNTH_ACTIVITY_SIGMA 1.4 /* lognormal sigma of ratings per user above the minimum */

/* Everything every rank derives from the config alone (no communication): the
 * popularity table, the hidden item parameters and every user's rating count. */
typedef struct SynthModel {
    SynthConfig cfg;
    double factor_sd;      /* SD of every hidden factor */
    double *cdf;           /* (n_items) P(popularity rank <= r); cdf[n_items - 1] = 1 */
    uint32_t *guide;       /* (n_items + 1) first rank whose cdf exceeds g / n_items */
    int32_t *item_of_rank; /* (n_items) item index (movieId - 1) of popularity rank r */
    float *item_bias;      /* (n_items) b_i by item index */
    float *item_f;         /* (n_items, K) q_i by item index */
    char *item_txt;        /* (n_items, 16) "movieId," text; byte 15 holds its length */
    int32_t *count;        /* (n_users) ratings of each user */
    int64_t *first;        /* (n_users + 1) ratings before each user; [n_users] = total */
} SynthModel;

/* Builds m from cfg (which must be valid: see cmd_synth.c). Local; identical on every
 * rank. Cost O(n_items * K + n_users). */
void synth_model_init(SynthModel *m, const SynthConfig *cfg);
/* Frees m; safe on a zeroed or partly initialised model. */
void synth_model_free(SynthModel *m);

/* Sums over the ratings generated (per rank until synth_stats_reduce). Integer sums and
 * an ExactSum, so the job-wide totals do not depend on how users are split. */
typedef struct SynthStats {
    int64_t n;           /* ratings */
    int64_t sum_half;    /* sum of 2r (half stars), exact */
    int64_t sum_half2;   /* sum of (2r)^2, exact */
    ExactSum sq_err;     /* sum of (r - clip(noiseless model))^2 */
    int64_t *item_count; /* (n_items) ratings per item index */
    size_t n_items;
} SynthStats;

void synth_stats_init(SynthStats *s, const SynthModel *m);
void synth_stats_free(SynthStats *s);
/* Collective: every rank gets the job-wide scalars; rank 0 gets the item counts. */
void synth_stats_reduce(SynthStats *s, const Ctx *ctx);

/* Per-rank workspace for generating users' lines (no allocation per user). */
typedef struct SynthGen {
    uint32_t *stamp;       /* (n_items) user + 1 that last drew the item: duplicate check */
    int32_t *ids;          /* (max count) the current user's item indices */
    int32_t *scratch;      /* (max count) bucket sort's output */
    uint32_t *bucket;      /* (max count + 1) bucket sort's counts */
    double *pu;            /* (K) the current user's factors */
    struct SynthKey *keys; /* (n_items) fallback sampling keys, allocated when needed */
} SynthGen;

void synth_gen_init(SynthGen *g, const SynthModel *m);
void synth_gen_free(SynthGen *g);

/* Upper bound of the text bytes of users [lo, hi), including the slack the formatter
 * writes past the end of a line. */
size_t synth_text_bound(const SynthModel *m, int64_t lo, int64_t hi);
/* Writes the ratings.csv lines of users [lo, hi) (0-based; userId = index + 1) to out,
 * which holds synth_text_bound bytes; each user's lines sorted by movieId. Adds to acc.
 * Returns the bytes written. Local. */
size_t synth_users_text(char *out, SynthGen *g, const SynthModel *m, int64_t lo, int64_t hi,
                        SynthStats *acc);

/* Collective: writes path (ratings.csv: header, then every user's lines in user order)
 * with MPI-IO. Users are cut into blocks of about equal rating counts; in each round
 * rank r generates block round * size + r and all ranks write their bytes together
 * (offsets from MPI_Exscan, MPI_File_write_at_all in pieces below 2^30 bytes), so
 * memory stays bounded. Adds this rank's ratings to acc. Returns the agreed status;
 * STATUS_DATA with a message naming path when the file cannot be opened or written. */
int synth_write_ratings(SynthStats *acc, const SynthModel *m, const Ctx *ctx, const char *path,
                        Status *st);

/* Local (rank 0): writes movies.csv (movieId,title,genres), one line per item, titles
 * "Synthetic item ID (YEAR)". STATUS_DATA naming path on failure. */
int synth_write_movies(const SynthModel *m, const char *path, Status *st);

/* What the run produced, for the summary line and README.txt (valid on rank 0 after
 * synth_stats_reduce). */
typedef struct SynthSummary {
    int64_t n_ratings;
    double oracle_rmse;
    double mean, sd; /* of the written ratings */
    int64_t per_user_min, per_user_median, per_user_max;
    int64_t items_rated;   /* items with at least one rating */
    double top_item_share; /* ratings of the most rated item / all ratings */
    double seconds;        /* set by the caller */
} SynthSummary;

/* Local: fills sum from m and the reduced s (rank 0). */
void synth_summarize(SynthSummary *sum, const SynthModel *m, const SynthStats *s);

/* Local (rank 0): writes README.txt with the settings, the model and the summary. */
int synth_write_readme(const SynthModel *m, const SynthSummary *sum, const char *path, Status *st);

#endif
