/* synth.c - the synthetic ratings generator: model tables, per-user lines, the parallel
 * MPI-IO write of ratings.csv, movies.csv and README.txt.
 *
 * Every draw is rng_hash / rng_normal on RNG_STREAM_SYNTH keyed by a purpose and a
 * global id (synth_key), never by a position in a rank's share of the work: that is
 * what makes the files the same bytes at any number of ranks. */
#include "config.h"

#include "collab/data/synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/rng.h"

/* What a draw is for; the high bits of the first hash counter (ids stay below 2^48). */
enum {
    KEY_COUNT = 1, /* (user) ratings above the minimum */
    KEY_UBIAS,     /* (user) b_u */
    KEY_UFAC,      /* (user, k) p_u */
    KEY_DRAW,      /* (user, attempt) popularity draw */
    KEY_FALLBACK,  /* (user, rank) exponential clock of the fallback sampler */
    KEY_NOISE,     /* (user, item) e */
    KEY_START,     /* (user) first timestamp */
    KEY_TIME,      /* (user, item) timestamp */
    KEY_IBIAS,     /* (item) b_i */
    KEY_IFAC,      /* (item, k) q_i */
    KEY_PERM,      /* popularity rank -> item permutation */
    KEY_MOVIE      /* (item) year and genres in movies.csv */
};

static uint64_t synth_key(unsigned purpose, int64_t id)
{
    return (uint64_t)purpose << 48 | (uint64_t)id;
}

static double synth_normal(const SynthModel *m, unsigned purpose, int64_t id, uint64_t b)
{
    return rng_normal(m->cfg.seed, RNG_STREAM_SYNTH, synth_key(purpose, id), b);
}

static uint64_t synth_hash(const SynthModel *m, unsigned purpose, int64_t id, uint64_t b)
{
    return rng_hash(m->cfg.seed, RNG_STREAM_SYNTH, synth_key(purpose, id), b);
}

/* MovieLens' timestamp range (ml-25m: 1995-01-09 .. 2019-11-21). */
#define T_FIRST 789652009LL
#define T_LAST 1574327703LL
/* A user's ratings spread over about this many seconds each (ten a day). */
#define T_PER_RATING 8640LL
/* Most ratings per block of users: one block's text (~27 bytes a rating) per rank is in
 * memory at a time. Small jobs use at least BLOCKS_PER_RANK blocks a rank, so every rank
 * takes part. (Blocks only decide who writes which users, never the bytes written.) */
#define BLOCK_RATINGS (1LL << 20)
#define BLOCKS_PER_RANK 4
/* Largest byte count of one MPI_File_write_at_all call (the count is an int). */
#define WRITE_PIECE (1LL << 30)
/* Bytes the line formatter may write past the end of the text (fixed-size copies). */
#define TEXT_SLACK 64
#define CSV_HEADER "userId,movieId,rating,timestamp\n"

/* A hint that memory at p will soon be read (rw 0) or written (rw 1); nothing without
 * GCC's builtin. It changes timing only, never results. */
#if defined(__GNUC__)
#define PREFETCH(p, rw) __builtin_prefetch((p), (rw))
#else
#define PREFETCH(p, rw) ((void)(p))
#endif

/* ------------------------------------------------------------------ the model */

/* Where guide bucket g of n starts; the one expression both the table and the lookup
 * use, so a draw's bucket and the table agree to the last bit. */
static double bucket_start(size_t g, size_t n)
{
    return (double)g / (double)n;
}

/* Popularity: cdf over ranks with weights (r + 1)^-zipf, a guide table that narrows the
 * inverse-CDF search to a bucket, and a shuffle of the ranks into item indices so an
 * item's ID says nothing about its popularity. */
static void popularity_init(SynthModel *m)
{
    const size_t n = (size_t)m->cfg.n_items;
    m->cdf = xmalloc(n * sizeof *m->cdf);
    m->guide = xmalloc((n + 1) * sizeof *m->guide);
    m->item_of_rank = xmalloc(n * sizeof *m->item_of_rank);
    double total = 0.0;
    for (size_t r = 0; r < n; r++) {
        total += pow((double)(r + 1), -m->cfg.zipf);
        m->cdf[r] = total;
    }
    for (size_t r = 0; r < n; r++)
        m->cdf[r] /= total;
    m->cdf[n - 1] = 1.0; /* the search below always ends inside the table */
    size_t r = 0;
    for (size_t g = 0; g < n; g++) {
        while (m->cdf[r] <= bucket_start(g, n))
            r++;
        m->guide[g] = (uint32_t)r;
    }
    m->guide[n] = (uint32_t)(n - 1);
    Perm p;
    perm_init(&p, n, m->cfg.seed, RNG_STREAM_SYNTH, KEY_PERM);
    for (size_t k = 0; k < n; k++)
        m->item_of_rank[k] = (int32_t)perm_apply(&p, k);
}

/* Writes v in decimal at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* Hidden item parameters by item index, and each item's "movieId," text. */
static void items_init(SynthModel *m)
{
    const size_t n = (size_t)m->cfg.n_items, k = (size_t)m->cfg.rank;
    m->item_bias = xmalloc(n * sizeof *m->item_bias);
    m->item_f = xmalloc(n * k * sizeof *m->item_f);
    m->item_txt = xcalloc(n, 16);
    for (size_t i = 0; i < n; i++) {
        m->item_bias[i] = (float)(SYNTH_ITEM_BIAS_SD * synth_normal(m, KEY_IBIAS, (int64_t)i, 0));
        for (size_t f = 0; f < k; f++)
            m->item_f[i * k + f] = (float)(m->factor_sd * synth_normal(m, KEY_IFAC, (int64_t)i, f));
        char *t = m->item_txt + 16 * i, *end = put_u64(t, i + 1);
        *end++ = ',';
        t[15] = (char)(end - t);
    }
}

/* The s >= 0 at which sum_u min(x[u] * s, cap) reaches target (<= n * cap): the plain
 * proportional scale when no user hits the cap, else found by bisection. */
static double activity_scale(const double *x, size_t n, double target, double cap)
{
    double sum = 0.0, xmin = INFINITY, xmax = 0.0;
    for (size_t u = 0; u < n; u++) {
        sum += x[u];
        xmin = fmin(xmin, x[u]);
        xmax = fmax(xmax, x[u]);
    }
    double lo = target / sum, hi = cap / xmin;
    if (target <= 0.0 || xmax * lo <= cap)
        return lo;
    for (int it = 0; it < 200 && lo < hi; it++) {
        double mid = 0.5 * (lo + hi), got = 0.0;
        if (mid <= lo || mid >= hi)
            break;
        for (size_t u = 0; u < n; u++)
            got += fmin(x[u] * mid, cap);
        *(got < target ? &lo : &hi) = mid;
    }
    return hi;
}

/* Ratings per user: min_per_user + a lognormal share of the rest, capped at n_items / 2.
 * Cumulative rounding of the shares makes the total exactly the target. */
static void users_init(SynthModel *m)
{
    const SynthConfig *c = &m->cfg;
    const size_t n = (size_t)c->n_users;
    const int64_t cap = c->n_items / 2 - c->min_per_user;
    const double target = (double)(c->n_ratings - c->min_per_user * c->n_users);
    double *x = xmalloc(n * sizeof *x);
    for (size_t u = 0; u < n; u++)
        x[u] = exp(SYNTH_ACTIVITY_SIGMA * synth_normal(m, KEY_COUNT, (int64_t)u, 0));
    double s = activity_scale(x, n, target, (double)cap), total = 0.0;
    for (size_t u = 0; u < n; u++)
        total += fmin(x[u] * s, (double)cap);
    m->count = xmalloc(n * sizeof *m->count);
    m->first = xmalloc((n + 1) * sizeof *m->first);
    m->first[0] = 0;
    double run = 0.0;
    int64_t prev = 0;
    for (size_t u = 0; u < n; u++) {
        run += fmin(x[u] * s, (double)cap);
        int64_t cur = total > 0.0 ? llround(target * (run / total)) : 0;
        int64_t extra = cur - prev < cap ? cur - prev : cap;
        prev = cur;
        m->count[u] = (int32_t)(c->min_per_user + extra);
        m->first[u + 1] = m->first[u] + m->count[u];
    }
    free(x);
}

void synth_model_init(SynthModel *m, const SynthConfig *cfg)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    /* Var <p, q> = K * sd^4, so this keeps the interaction's spread independent of K. */
    m->factor_sd = pow(SYNTH_DOT_VAR / cfg->rank, 0.25);
    popularity_init(m);
    items_init(m);
    users_init(m);
}

void synth_model_free(SynthModel *m)
{
    free(m->cdf);
    free(m->guide);
    free(m->item_of_rank);
    free(m->item_bias);
    free(m->item_f);
    free(m->item_txt);
    free(m->count);
    free(m->first);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------ statistics */

void synth_stats_init(SynthStats *s, const SynthModel *m)
{
    memset(s, 0, sizeof *s);
    s->n_items = (size_t)m->cfg.n_items;
    s->item_count = xcalloc(s->n_items, sizeof *s->item_count);
}

void synth_stats_free(SynthStats *s)
{
    free(s->item_count);
    memset(s, 0, sizeof *s);
}

void synth_stats_reduce(SynthStats *s, const Ctx *ctx)
{
    int64_t v[6] = {s->n, s->sum_half, s->sum_half2, s->sq_err.hi, s->sq_err.lo, s->sq_err.bad};
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 6, MPI_INT64_T, MPI_SUM, ctx->comm));
    s->n = v[0], s->sum_half = v[1], s->sum_half2 = v[2];
    s->sq_err = (ExactSum){v[3], v[4], v[5]};
    /* n_items <= SYNTH_MAX_ITEMS < 2^31, so one call carries the whole table. */
    void *send = ctx->rank == 0 ? MPI_IN_PLACE : (void *)s->item_count;
    CHECK_MPI(MPI_Reduce(send, s->item_count, (int)s->n_items, MPI_INT64_T, MPI_SUM, 0, ctx->comm));
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void synth_summarize(SynthSummary *sum, const SynthModel *m, const SynthStats *s)
{
    memset(sum, 0, sizeof *sum);
    const double n = (double)s->n;
    sum->n_ratings = s->n;
    sum->oracle_rmse = sqrt(exact_value(&s->sq_err) / n);
    sum->mean = (double)s->sum_half / (2.0 * n);
    sum->sd = sqrt(fmax(0.0, (double)s->sum_half2 / (4.0 * n) - sum->mean * sum->mean));
    const size_t nu = (size_t)m->cfg.n_users;
    int32_t *c = xmalloc(nu * sizeof *c);
    memcpy(c, m->count, nu * sizeof *c);
    qsort(c, nu, sizeof *c, cmp_i32);
    sum->per_user_min = c[0];
    sum->per_user_median = c[(nu - 1) / 2];
    sum->per_user_max = c[nu - 1];
    free(c);
    int64_t top = 0;
    for (size_t i = 0; i < s->n_items; i++) {
        sum->items_rated += s->item_count[i] > 0;
        top = s->item_count[i] > top ? s->item_count[i] : top;
    }
    sum->top_item_share = (double)top / n;
}

/* ------------------------------------------------------------------ users' lines */

/* An exponential clock of the fallback sampler. */
typedef struct SynthKey {
    double t;
    int32_t id;
} SynthKey;

void synth_gen_init(SynthGen *g, const SynthModel *m)
{
    memset(g, 0, sizeof *g);
    g->stamp = xcalloc((size_t)m->cfg.n_items, sizeof *g->stamp);
    const size_t most = (size_t)(m->cfg.n_items / 2 + 1);
    g->ids = xmalloc(most * sizeof *g->ids);
    g->scratch = xmalloc(most * sizeof *g->scratch);
    g->bucket = xmalloc((most + 1) * sizeof *g->bucket);
    g->pu = xmalloc((size_t)m->cfg.rank * sizeof *g->pu);
}

void synth_gen_free(SynthGen *g)
{
    free(g->stamp);
    free(g->ids);
    free(g->scratch);
    free(g->bucket);
    free(g->pu);
    free(g->keys);
    memset(g, 0, sizeof *g);
}

/* The guide bucket g of a uniform x in [0, 1): bucket_start(g) <= x < bucket_start(g + 1). */
static size_t zipf_bucket(const SynthModel *m, double x)
{
    const size_t n = (size_t)m->cfg.n_items;
    size_t g = (size_t)(x * (double)n);
    g = g < n ? g : n - 1;
    /* x * n may round across a boundary; step back into the bucket that holds x. */
    if (g > 0 && x < bucket_start(g, n))
        g--;
    else if (g + 1 < n && x >= bucket_start(g + 1, n))
        g++;
    return g;
}

/* Popularity rank of a uniform x in [0, 1) in guide bucket g: the first rank whose cdf
 * exceeds x, which lies in [guide[g], guide[g + 1]]. */
static size_t zipf_rank(const SynthModel *m, double x, size_t g)
{
    size_t lo = m->guide[g], hi = m->guide[g + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->cdf[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int cmp_key(const void *a, const void *b)
{
    const SynthKey *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Completes user u's items when rejection sampling stalls (steep --zipf, heavy users):
 * every item not drawn yet gets an exponential clock with rate equal to its weight, and
 * the earliest ones are taken. That is the same law as continuing the draws without
 * replacement (Efraimidis-Spirakis), at O(n_items log n_items) for this user. */
static void draw_rest(SynthGen *g, const SynthModel *m, int64_t u, size_t got, size_t n)
{
    const size_t ni = (size_t)m->cfg.n_items;
    const uint32_t tag = (uint32_t)u + 1;
    if (!g->keys)
        g->keys = xmalloc(ni * sizeof *g->keys);
    size_t k = 0;
    for (size_t r = 0; r < ni; r++) {
        int32_t id = m->item_of_rank[r];
        if (g->stamp[id] == tag)
            continue;
        double e = -log(1.0 - rng_unit(synth_hash(m, KEY_FALLBACK, u, r)));
        g->keys[k++] = (SynthKey){e * pow((double)(r + 1), m->cfg.zipf), id};
    }
    qsort(g->keys, k, sizeof *g->keys, cmp_key);
    for (size_t j = 0; got < n; j++) {
        g->stamp[g->keys[j].id] = tag;
        g->ids[got++] = g->keys[j].id;
    }
}

/* Attempts computed together: the popularity lookups of a batch are independent, so
 * their cache misses overlap; the duplicate checks then run in attempt order. */
#define DRAW_BATCH 16

/* Fills g->ids with user u's n distinct item indices: popularity draws (attempt j keyed
 * by (user, j)) with duplicates rejected. Draws skip the longest prefix of ranks the user
 * already has (x uniform over the cdf above it), which leaves the law of the draws
 * unchanged and keeps steep popularity from stalling them; after a budget of attempts,
 * draw_rest completes the set. */
static void draw_items(SynthGen *g, const SynthModel *m, int64_t u, size_t n)
{
    const uint32_t tag = (uint32_t)u + 1;
    const uint64_t budget = 8 * (uint64_t)n + 256;
    size_t got = 0, taken = 0; /* ranks [0, taken) are all this user's already */
    for (uint64_t j = 0; got < n && j < budget;) {
        while (taken < (size_t)m->cfg.n_items && g->stamp[m->item_of_rank[taken]] == tag)
            taken++;
        const double lo = taken ? m->cdf[taken - 1] : 0.0;
        /* No more attempts than could still be accepted, so none is computed in vain
         * while there are no duplicates. */
        uint64_t nb = n - got < DRAW_BATCH ? n - got : DRAW_BATCH;
        nb = budget - j < nb ? budget - j : nb;
        int32_t cand[DRAW_BATCH];
        double x[DRAW_BATCH];
        size_t bucket[DRAW_BATCH];
        for (uint64_t b = 0; b < nb; b++) {
            x[b] = lo + rng_unit(synth_hash(m, KEY_DRAW, u, j + b)) * (1.0 - lo);
            bucket[b] = zipf_bucket(m, x[b]);
            PREFETCH(m->guide + bucket[b], 0);
        }
        for (uint64_t b = 0; b < nb; b++)
            cand[b] = m->item_of_rank[zipf_rank(m, x[b], bucket[b])];
        for (uint64_t b = 0; b < nb; b++)
            if (g->stamp[cand[b]] != tag) {
                g->stamp[cand[b]] = tag;
                g->ids[got++] = cand[b];
            }
        j += nb;
    }
    if (got < n)
        draw_rest(g, m, u, got, n);
}

/* Sorts a[0..n) ascending: quicksort (median of three, recursing into the smaller side)
 * down to runs of 16, then insertion sort. Inline, because the libc qsort's comparator
 * calls cost as much as generating the lines. */
static void sort_ids(int32_t *a, size_t n)
{
    while (n > 16) {
        int32_t x = a[0], y = a[n / 2], z = a[n - 1];
        int32_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare partition: a[0..j] <= pivot <= a[j+1..n) */
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            int32_t t = a[i];
            a[i++] = a[j];
            a[j--] = t;
        }
        if (j + 1 < n - j - 1) {
            sort_ids(a, j + 1);
            a += j + 1, n -= j + 1;
        } else {
            sort_ids(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        int32_t v = a[i];
        size_t k = i;
        for (; k > 0 && a[k - 1] > v; k--)
            a[k] = a[k - 1];
        a[k] = v;
    }
}

static size_t bucket_of(int32_t id, double per, size_t n)
{
    size_t b = (size_t)(id * per);
    return b < n ? b : n - 1;
}

/* Sorts a user's n distinct item indices (all < n_items). The indices are a pseudo-random
 * shuffle of popularity ranks, so about uniform: n buckets by value hold about one each,
 * and a counting scatter plus small sorts of the buckets beats comparison sorting. */
static void sort_user_items(SynthGen *g, size_t n, int64_t n_items)
{
    if (n <= 32) {
        sort_ids(g->ids, n);
        return;
    }
    uint32_t *count = g->bucket;
    memset(count, 0, (n + 1) * sizeof *count);
    const double per = (double)n / (double)n_items;
    for (size_t j = 0; j < n; j++)
        count[bucket_of(g->ids[j], per, n) + 1]++;
    for (size_t b = 0; b < n; b++)
        count[b + 1] += count[b];
    for (size_t j = 0; j < n; j++)
        g->scratch[count[bucket_of(g->ids[j], per, n)]++] = g->ids[j];
    /* count[b] is now the end of bucket b (and the start of bucket b + 1). */
    size_t start = 0;
    for (size_t b = 0; b < n; b++) {
        sort_ids(g->scratch + start, count[b] - start);
        start = count[b];
    }
    int32_t *t = g->ids;
    g->ids = g->scratch;
    g->scratch = t;
}

/* One user's constant part of every line and of every prediction. */
typedef struct UserLine {
    int64_t u;
    double base;     /* mu + b_u */
    char prefix[32]; /* "userId," (copied whole: the formatter's slack covers it) */
    size_t prefix_len;
    int64_t t0, span; /* timestamps in [t0, t0 + span) */
} UserLine;

static void user_line_init(UserLine *ul, SynthGen *g, const SynthModel *m, int64_t u)
{
    const int k = m->cfg.rank;
    memset(ul, 0, sizeof *ul);
    ul->u = u;
    for (int f = 0; f < k; f++)
        g->pu[f] = m->factor_sd * synth_normal(m, KEY_UFAC, u, (uint64_t)f);
    ul->base = SYNTH_MU + SYNTH_USER_BIAS_SD * synth_normal(m, KEY_UBIAS, u, 0);
    char *end = put_u64(ul->prefix, (uint64_t)u + 1);
    *end++ = ',';
    ul->prefix_len = (size_t)(end - ul->prefix);
    int64_t range = T_LAST - T_FIRST, span = T_PER_RATING * m->count[u];
    ul->span = span < range ? span : range;
    ul->t0 =
        T_FIRST + (int64_t)(rng_unit(synth_hash(m, KEY_START, u, 0)) * (double)(range - ul->span));
}

/* "0.5," .. "5.0," by half stars. */
static const char RATING_TXT[11][4] = {"0.0,", "0.5,", "1.0,", "1.5,", "2.0,", "2.5,",
                                       "3.0,", "3.5,", "4.0,", "4.5,", "5.0,"};

/* Writes the line of user ul rating item id at p; returns the end. Adds to acc. */
static char *rating_line(char *p, const UserLine *ul, const SynthGen *g, const SynthModel *m,
                         int32_t id, SynthStats *acc, double *sq)
{
    const size_t k = (size_t)m->cfg.rank;
    const float *q = m->item_f + (size_t)id * k;
    double pred = ul->base + m->item_bias[id];
    for (size_t f = 0; f < k; f++)
        pred += g->pu[f] * q[f];
    double r = pred + m->cfg.noise * synth_normal(m, KEY_NOISE, ul->u, (uint64_t)id);
    double h2 = floor(2.0 * r + 0.5); /* nearest half star, ties up */
    int h = h2 < 1.0 ? 1 : h2 > 10.0 ? 10 : (int)h2;
    double d = 0.5 * h - fmin(fmax(pred, 0.5), 5.0);
    *sq += d * d;
    acc->sum_half += h;
    acc->sum_half2 += h * h;
    acc->item_count[id]++;
    memcpy(p, ul->prefix, sizeof ul->prefix);
    p += ul->prefix_len;
    memcpy(p, m->item_txt + 16 * (size_t)id, 16);
    p += m->item_txt[16 * (size_t)id + 15];
    memcpy(p, RATING_TXT[h], 4);
    p += 4;
    double t = rng_unit(synth_hash(m, KEY_TIME, ul->u, (uint64_t)id)) * (double)ul->span;
    p = put_u64(p, (uint64_t)(ul->t0 + (int64_t)t));
    *p++ = '\n';
    return p;
}

/* The item rows a line reads are scattered over megabytes; asking for them a few lines
 * ahead overlaps the cache misses with the arithmetic of the lines in between. */
#define PREFETCH_AHEAD 8
static void prefetch_item(const SynthModel *m, const SynthStats *acc, int32_t id)
{
    PREFETCH(m->item_f + (size_t)id * (size_t)m->cfg.rank, 0);
    PREFETCH(m->item_bias + id, 0);
    PREFETCH(m->item_txt + 16 * (size_t)id, 0);
    PREFETCH(acc->item_count + id, 1);
}

size_t synth_text_bound(const SynthModel *m, int64_t lo, int64_t hi)
{
    char tmp[24];
    size_t line = (size_t)(put_u64(tmp, (uint64_t)m->cfg.n_users) - tmp) +
                  (size_t)(put_u64(tmp, (uint64_t)m->cfg.n_items) - tmp) +
                  (size_t)(put_u64(tmp, (uint64_t)T_LAST) - tmp) + 7; /* 3 ',' "x.y" '\n' */
    return (size_t)(m->first[hi] - m->first[lo]) * line + TEXT_SLACK;
}

size_t synth_users_text(char *out, SynthGen *g, const SynthModel *m, int64_t lo, int64_t hi,
                        SynthStats *acc)
{
    char *p = out;
    for (int64_t u = lo; u < hi; u++) {
        const size_t n = (size_t)m->count[u];
        draw_items(g, m, u, n);
        sort_user_items(g, n, m->cfg.n_items); /* MovieLens order: by movieId */
        UserLine ul;
        user_line_init(&ul, g, m, u);
        double sq = 0.0;
        for (size_t j = 0; j < n; j++) {
            if (j + PREFETCH_AHEAD < n)
                prefetch_item(m, acc, g->ids[j + PREFETCH_AHEAD]);
            p = rating_line(p, &ul, g, m, g->ids[j], acc, &sq);
        }
        acc->n += (int64_t)n;
        /* The user's sum (in its fixed order) enters the job-wide sum exactly. */
        exact_add(&acc->sq_err, sq);
    }
    return (size_t)(p - out);
}

/* ------------------------------------------------------------------ writing */

/* First user whose first rating is at index >= t (n_users when none). */
static int64_t user_at(const SynthModel *m, int64_t t)
{
    int64_t lo = 0, hi = m->cfg.n_users;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (m->first[mid] >= t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Collective: every rank writes its len bytes of buf after the lower ranks' bytes,
 * starting at *base, which moves past all ranks' bytes. Every rank makes the same
 * number of write_at_all calls (pieces of the round's total); failures go to st. */
static void write_round(MPI_File fh, const Ctx *ctx, const char *buf, size_t len, MPI_Offset *base,
                        const char *path, Status *st)
{
    int64_t mine = (int64_t)len, before = 0, total = 0;
    CHECK_MPI(MPI_Exscan(&mine, &before, 1, MPI_INT64_T, MPI_SUM, ctx->comm));
    if (ctx->rank == 0)
        before = 0; /* MPI_Exscan leaves rank 0's result undefined */
    CHECK_MPI(MPI_Allreduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, ctx->comm));
    for (int64_t from = 0; from < total; from += WRITE_PIECE) {
        int64_t start = from < mine ? from : mine;
        int64_t cnt = mine - start < WRITE_PIECE ? mine - start : WRITE_PIECE;
        MPI_Status ms;
        int done = 0;
        int rc =
            MPI_File_write_at_all(fh, *base + before + start, buf + start, (int)cnt, MPI_BYTE, &ms);
        if (rc == MPI_SUCCESS)
            MPI_Get_count(&ms, MPI_BYTE, &done);
        if (rc != MPI_SUCCESS || done != (int)cnt) {
            char err[MPI_MAX_ERROR_STRING] = "short write";
            int elen = 0;
            if (rc != MPI_SUCCESS)
                MPI_Error_string(rc, err, &elen);
            status_set(st, STATUS_DATA, "cannot write %s: %s (disk full?)", path, err);
        }
    }
    *base += total;
}

/* Collective open (created, truncated); the outcome is agreed. */
static int open_output(MPI_File *fh, const Ctx *ctx, const char *path, Status *st)
{
    int rc = MPI_File_open(ctx->comm, path, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, fh);
    if (rc == MPI_SUCCESS)
        rc = MPI_File_set_size(*fh, 0);
    if (rc != MPI_SUCCESS) {
        char err[MPI_MAX_ERROR_STRING];
        int elen = 0;
        MPI_Error_string(rc, err, &elen);
        status_set(st, STATUS_DATA, "cannot create %s: %s (check the folder is writable)", path,
                   err);
    }
    int ok = rc == MPI_SUCCESS;
    if (status_agree(st, ctx->comm) && ok)
        MPI_File_close(fh);
    return st->code;
}

int synth_write_ratings(SynthStats *acc, const SynthModel *m, const Ctx *ctx, const char *path,
                        Status *st)
{
    MPI_File fh;
    if (open_output(&fh, ctx, path, st))
        return st->code;
    const int64_t total = m->first[m->cfg.n_users];
    int64_t per = (total + BLOCKS_PER_RANK * ctx->size - 1) / (BLOCKS_PER_RANK * ctx->size);
    per = per < 1 ? 1 : per > BLOCK_RATINGS ? BLOCK_RATINGS : per;
    const int64_t blocks = (total + per - 1) / per;
    const int64_t rounds = (blocks + ctx->size - 1) / ctx->size;
    SynthGen g;
    synth_gen_init(&g, m);
    char *buf = NULL;
    size_t cap = 0;
    MPI_Offset base = 0;
    for (int64_t t = 0; t < rounds; t++) {
        const int64_t b = t * ctx->size + ctx->rank;
        const int64_t lo = b < blocks ? user_at(m, b * per) : 0;
        const int64_t hi = b < blocks ? user_at(m, (b + 1) * per) : 0;
        size_t need = synth_text_bound(m, lo, hi) + sizeof CSV_HEADER;
        if (need > cap)
            buf = xrealloc(buf, cap = need);
        size_t len = 0;
        if (t == 0 && ctx->rank == 0)
            memcpy(buf, CSV_HEADER, len = sizeof CSV_HEADER - 1);
        len += synth_users_text(buf + len, &g, m, lo, hi, acc);
        write_round(fh, ctx, buf, len, &base, path, st);
    }
    free(buf);
    synth_gen_free(&g);
    if (MPI_File_close(&fh) != MPI_SUCCESS)
        status_set(st, STATUS_DATA, "cannot close %s after writing", path);
    return status_agree(st, ctx->comm);
}

/* ------------------------------------------------------------------ movies and README */

static const char *const GENRES[] = {"Action", "Adventure",   "Animation", "Children", "Comedy",
                                     "Crime",  "Documentary", "Drama",     "Fantasy",  "Film-Noir",
                                     "Horror", "IMAX",        "Musical",   "Mystery",  "Romance",
                                     "Sci-Fi", "Thriller",    "War",       "Western"};
#define N_GENRES (sizeof GENRES / sizeof *GENRES)

/* One to three genres from the bits of h, in the list's order, joined by '|'. */
static void put_genres(FILE *f, uint64_t h)
{
    unsigned mask = 0, want = 1 + (unsigned)(h % 3);
    for (unsigned j = 0; j < want; j++)
        mask |= 1u << ((h >> (8 + 8 * j)) % N_GENRES);
    const char *sep = "";
    for (unsigned i = 0; i < N_GENRES; i++)
        if (mask & (1u << i)) {
            fprintf(f, "%s%s", sep, GENRES[i]);
            sep = "|";
        }
}

int synth_write_movies(const SynthModel *m, const char *path, Status *st)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return status_set(st, STATUS_DATA, "cannot create %s: %s", path, strerror(errno));
    fputs("movieId,title,genres\n", f);
    for (int64_t i = 0; i < m->cfg.n_items; i++) {
        uint64_t h = synth_hash(m, KEY_MOVIE, i, 0);
        /* The ID in the title keeps titles unique (--item-name title merges duplicates). */
        fprintf(f, "%lld,Synthetic item %lld (%d),", (long long)i + 1, (long long)i + 1,
                1920 + (int)((h >> 40) % 100));
        put_genres(f, h);
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) || bad)
        return status_set(st, STATUS_DATA, "cannot write %s: %s", path, strerror(errno));
    return STATUS_OK;
}

int synth_write_readme(const SynthModel *m, const SynthSummary *sum, const char *path, Status *st)
{
    const SynthConfig *c = &m->cfg;
    FILE *f = fopen(path, "w");
    if (!f)
        return status_set(st, STATUS_DATA, "cannot create %s: %s", path, strerror(errno));
    fprintf(f,
            "Synthetic MovieLens-shaped ratings written by collab-mpi synth (%s).\n\n"
            "ratings.csv  userId,movieId,rating,timestamp: %lld ratings, sorted by userId, "
            "then movieId\nmovies.csv   movieId,title,genres: %lld items\n\n"
            "Settings: --ratings %lld --users %lld --items %lld --rank %d --zipf %g "
            "--min-per-user %lld --noise %g --seed %llu\n\n",
            PACKAGE_STRING, (long long)sum->n_ratings, (long long)c->n_items,
            (long long)c->n_ratings, (long long)c->n_users, (long long)c->n_items, c->rank, c->zipf,
            (long long)c->min_per_user, c->noise, (unsigned long long)c->seed);
    fprintf(f,
            "Model: rating = clip(round to half star(mu + b_u + b_i + <p_u, q_i> + e), 0.5, 5)\n"
            "  mu = %g, b_u ~ N(0, %g^2), b_i ~ N(0, %g^2), p_u and q_i ~ N(0, %.4f^2) in %d "
            "dimensions\n  (Var <p_u, q_i> = %g), e ~ N(0, %g^2).\n"
            "Items: P(popularity rank r) ~ r^-%g; movieIds are a shuffle of the ranks.\n"
            "Users: %lld + lognormal(sigma %g) ratings each, scaled to the target total, at "
            "most %lld; distinct items.\n\n",
            SYNTH_MU, SYNTH_USER_BIAS_SD, SYNTH_ITEM_BIAS_SD, m->factor_sd, c->rank, SYNTH_DOT_VAR,
            c->noise, c->zipf, (long long)c->min_per_user, SYNTH_ACTIVITY_SIGMA,
            (long long)(c->n_items / 2));
    fprintf(f,
            "Oracle RMSE %.4f: the written ratings against the noiseless model "
            "clip(mu + b_u + b_i + <p_u, q_i>, 0.5, 5)\n(in expectation, the floor for any "
            "model of this data).\nRatings: mean %.4f, sd %.4f. Ratings per user: min %lld, "
            "median %lld, max %lld.\nItems rated: %lld; the most rated item has %.2f%% of "
            "the ratings.\n",
            sum->oracle_rmse, sum->mean, sum->sd, (long long)sum->per_user_min,
            (long long)sum->per_user_median, (long long)sum->per_user_max,
            (long long)sum->items_rated, 100.0 * sum->top_item_share);
    int bad = ferror(f);
    if (fclose(f) || bad)
        return status_set(st, STATUS_DATA, "cannot write %s: %s", path, strerror(errno));
    return STATUS_OK;
}
