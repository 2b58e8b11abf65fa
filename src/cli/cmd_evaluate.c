/* cmd_evaluate.c - `collab-mpi evaluate`: how well a model predicts held-out ratings.
 *
 * The held-out set is the training run's validation split (rebuilt from the model's
 * settings), or FILE. Rating metrics (MSE, RMSE, MAE) cover every held-out rating,
 * unknown users and items through the cold-start policy, beside a baseline that predicts
 * the training mean. Ranking metrics (evaluate.h) compare top-K lists with each user's
 * relevant held-out items (rating >= --relevant), under two protocols, each beside a
 * popularity baseline (items by number of training ratings):
 *   heldout    candidates are the user's own held-out items: does the model put the ones
 *              the user liked first?
 *   catalogue  candidates are all items the user has not rated in training: what
 *              `recommend` does.
 * Each rank works on its own users (their held-out rows, history and model rows are on
 * it); every total is summed in fixed point, so the report is the same at any -np. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/base/check.h"
#include "collab/use/evaluate.h"
#include "collab/base/log.h"
#include "collab/use/recs.h"
#include "collab/use/usemodel.h"

/* This rank's held-out ratings (users owned here, or 0 for unknown users on rank 0). */
typedef struct Heldout {
    size_t n;
    int32_t *user, *item; /* (n) global vocabulary indices, 0 = unknown */
    float *rating, *pred; /* (n) */
    int own;              /* the arrays are ours to free (FILE), not the dataset's */
} Heldout;

/* Everything the ranking protocols need. */
typedef struct EvalRun {
    const Ctx *ctx;
    UseModel u;
    Heldout h;
    size_t k;
    double relevant;
    int heldout, catalogue; /* protocols to run */
    int64_t *counts;        /* (n_items) training ratings per item */
    int32_t *order;         /* (n_items - 1) popularity order */
    size_t *start;          /* CSR of each local user's training items */
    int32_t *rated;
    int64_t skipped[2]; /* held-out rows left out of ranking: unknown, also trained */
} EvalRun;

/* ------------------------------------------------------------------ the held-out set */

/* Rank 0 reads FILE (the training reader, items keyed as the model's) and encodes it. */
static int read_file(Heldout *h, const Options *o, const UseModel *u, Status *st)
{
    Options t = *o;
    DataOptions d;
    Ratings r;
    t.data = o->input;
    t.item_name = modelfile_setting(&u->mf, "item-name");
    t.item_name = t.item_name ? t.item_name : "id";
    t.valid_pct = 0.0, t.seed = 0, t.rating_range = NULL;
    if (cli_data_options(&d, &t, st) || data_read(&r, &d, st))
        return st->code;
    h->n = r.n;
    h->user = xmalloc((r.n + 1) * sizeof(int32_t));
    h->item = xmalloc((r.n + 1) * sizeof(int32_t));
    h->rating = xmalloc((r.n + 1) * sizeof(float));
    for (size_t j = 0; j < r.n; j++) {
        h->user[j] = vocab_find(&u->mf.users, r.user_keys[r.user[j]]);
        h->item[j] = vocab_find(&u->mf.items, r.item_keys[r.item[j]]);
        h->rating[j] = r.rating[j];
    }
    ratings_free(&r);
    return STATUS_OK;
}

/* Rank 0's rows go to their users' owners (file order kept within an owner). */
static void scatter_heldout(Heldout *h, const Layout *l, const Ctx *ctx)
{
    const int p = ctx->size;
    int *cnt = xcalloc((size_t)p, sizeof(int)), *off = xcalloc((size_t)p, sizeof(int));
    int32_t *su = NULL, *si = NULL;
    float *sr = NULL;
    if (ctx->rank == 0) {
        for (size_t j = 0; j < h->n; j++)
            cnt[layout_user_owner(l, (size_t)h->user[j])]++;
        for (int q = 1; q < p; q++)
            off[q] = off[q - 1] + cnt[q - 1];
        int *next = xmalloc((size_t)p * sizeof(int));
        memcpy(next, off, (size_t)p * sizeof(int));
        su = xmalloc((h->n + 1) * sizeof(int32_t)), si = xmalloc((h->n + 1) * sizeof(int32_t));
        sr = xmalloc((h->n + 1) * sizeof(float));
        for (size_t j = 0; j < h->n; j++) {
            int at = next[layout_user_owner(l, (size_t)h->user[j])]++;
            su[at] = h->user[j], si[at] = h->item[j], sr[at] = h->rating[j];
        }
        free(next);
        free(h->user), free(h->item), free(h->rating);
    }
    int mine = 0;
    CHECK_MPI(MPI_Scatter(cnt, 1, MPI_INT, &mine, 1, MPI_INT, 0, ctx->comm));
    h->n = (size_t)mine;
    h->user = xmalloc(((size_t)mine + 1) * sizeof(int32_t));
    h->item = xmalloc(((size_t)mine + 1) * sizeof(int32_t));
    h->rating = xmalloc(((size_t)mine + 1) * sizeof(float));
    CHECK_MPI(MPI_Scatterv(su, cnt, off, MPI_INT32_T, h->user, mine, MPI_INT32_T, 0, ctx->comm));
    CHECK_MPI(MPI_Scatterv(si, cnt, off, MPI_INT32_T, h->item, mine, MPI_INT32_T, 0, ctx->comm));
    CHECK_MPI(MPI_Scatterv(sr, cnt, off, MPI_FLOAT, h->rating, mine, MPI_FLOAT, 0, ctx->comm));
    free(su), free(si), free(sr), free(cnt), free(off);
}

/* The held-out rows of this rank: FILE's, or the validation split's. */
static int load_heldout(EvalRun *run, const Options *o)
{
    Heldout *h = &run->h;
    Status st;
    status_clear(&st);
    if (!o->input) {
        h->n = run->u.ds.n_valid;
        h->user = run->u.ds.valid_user, h->item = run->u.ds.valid_item;
        h->rating = run->u.ds.valid_rating;
        if (run->u.ds.n_valid_total == 0) {
            log_error("%s was trained without validation rows (--valid-pct 0): give the "
                      "held-out ratings as FILE",
                      run->u.mf.path);
            return STATUS_DATA;
        }
        return STATUS_OK;
    }
    h->own = 1;
    if (run->ctx->rank == 0)
        read_file(h, o, &run->u, &st);
    if (status_agree(&st, run->ctx->comm)) {
        log_error("%s", st.msg);
        return st.code;
    }
    scatter_heldout(h, &run->u.in.layout, run->ctx);
    return STATUS_OK;
}

/* ------------------------------------------------------------------ rating metrics */

/* Sums: model squared and absolute errors, baseline's, then counts (rows, cold). */
static void rating_metrics(EvalRun *run, double *out, int64_t *counts)
{
    const Heldout *h = &run->h;
    const float mean = (float)run->u.ds.train_mean;
    ExactSum s[4] = {{0}, {0}, {0}, {0}};
    int64_t c[2] = {(int64_t)h->n, 0};
    for (size_t j = 0; j < h->n; j++) {
        const double d = (double)(h->pred[j] - h->rating[j]); /* as training's validation */
        const double b = (double)(mean - h->rating[j]);
        exact_add(&s[0], d * d), exact_add(&s[1], fabs(d));
        exact_add(&s[2], b * b), exact_add(&s[3], fabs(b));
        c[1] += h->user[j] == 0 || h->item[j] == 0;
    }
    exchange_allreduce_exact(&run->u.in.x, s, 4, c, 2);
    const double n = c[0] > 0 ? (double)c[0] : 1.0;
    for (int i = 0; i < 4; i++)
        out[i] = exact_value(&s[i]) / n;
    counts[0] = c[0], counts[1] = c[1];
}

/* ------------------------------------------------------------------ ranking */

/* A held-out row of a user: item, prediction, rating. */
typedef struct Cand {
    int32_t item;
    float pred, rating;
    int64_t pop;
} Cand;

/* A held-out row's place in the user-then-item order. */
typedef struct RowKey {
    int32_t user, item;
    size_t row;
} RowKey;

static int by_user_item(const void *a, const void *b)
{
    const RowKey *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

static int by_pred(const void *a, const void *b)
{
    const Cand *x = a, *y = b;
    if (x->pred != y->pred)
        return x->pred > y->pred ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

static int by_pop(const void *a, const void *b)
{
    const Cand *x = a, *y = b;
    if (x->pop != y->pop)
        return x->pop > y->pop ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* Ranks a user's held-out candidates with cmp and adds the list to m. */
static void add_heldout(RankMetrics *m, Cand *c, size_t n, int (*cmp)(const void *, const void *),
                        const int32_t *rel, size_t n_rel, int32_t *list)
{
    qsort(c, n, sizeof *c, cmp);
    for (size_t i = 0; i < n; i++)
        list[i] = c[i].item;
    rankm_add(m, list, n, rel, n_rel);
}

/* One user's held-out rows keys[a, b) (sorted by item; j the user's local row): the
 * candidates c, one per item, and the relevant items rel, ascending. An item held out
 * twice (a title merged from two IDs) is one candidate, relevant if either rating is.
 * Rows of unknown items, or of items the user rated in training, are counted in
 * run->skipped. Returns the number of candidates; *n_rel the relevant ones. */
static size_t user_candidates(EvalRun *run, const RowKey *keys, size_t a, size_t b, size_t j,
                              Cand *c, int32_t *rel, size_t *n_rel)
{
    const Heldout *h = &run->h;
    const int32_t *hist = run->rated + run->start[j];
    const size_t n_hist = run->start[j + 1] - run->start[j];
    size_t n = 0;
    *n_rel = 0;
    for (size_t r = a; r < b; r++) {
        const size_t x = keys[r].row;
        const int32_t item = h->item[x];
        const int trained = recs_contains(hist, n_hist, item);
        if (item == 0 || trained) {
            run->skipped[trained]++;
            continue;
        }
        const int relevant = h->rating[x] >= run->relevant;
        if (n == 0 || c[n - 1].item != item)
            c[n++] = (Cand){item, h->pred[x], h->rating[x], run->counts[item]};
        if (relevant && (*n_rel == 0 || rel[*n_rel - 1] != item))
            rel[(*n_rel)++] = item;
    }
    return n;
}

/* Per local user: candidates and relevant items from the held-out rows; the heldout
 * protocol's metrics (m[0] model, m[1] popularity); the relevant sets kept in CSR form
 * (rel_start over local users) for the catalogue protocol. */
static void heldout_protocol(EvalRun *run, RankMetrics *m, size_t *rel_start, int32_t *rel)
{
    const Heldout *h = &run->h;
    RowKey *keys = xmalloc((h->n + 1) * sizeof *keys);
    for (size_t j = 0; j < h->n; j++)
        keys[j] = (RowKey){h->user[j], h->item[j], j};
    qsort(keys, h->n, sizeof *keys, by_user_item);
    Cand *c = xmalloc((h->n + 1) * sizeof *c);
    int32_t *list = xmalloc((h->n + 1) * sizeof(int32_t));
    size_t used = 0; /* entries of rel filled */
    for (size_t a = 0, b; a < h->n; a = b) {
        const int32_t user = keys[a].user;
        for (b = a; b < h->n && keys[b].user == user; b++)
            ;
        if (user == 0) {
            run->skipped[0] += (int64_t)(b - a);
            continue;
        }
        const size_t j = (size_t)user - run->u.in.user_lo;
        size_t n_rel, n = user_candidates(run, keys, a, b, j, c, rel + used, &n_rel);
        rel_start[j + 1] = n_rel;
        if (n_rel > 0 && run->heldout) {
            add_heldout(&m[0], c, n, by_pred, rel + used, n_rel, list);
            add_heldout(&m[1], c, n, by_pop, rel + used, n_rel, list);
        }
        used += n_rel;
    }
    for (size_t j = 0; j < run->u.in.m.n_users; j++)
        rel_start[j + 1] += rel_start[j];
    free(keys), free(c), free(list);
}

/* The catalogue protocol: m[0] model (the ring of recs.h), m[1] popularity. */
static void catalogue_protocol(EvalRun *run, RankMetrics *m, const size_t *rel_start,
                               const int32_t *rel)
{
    Infer *in = &run->u.in;
    const size_t nu = in->m.n_users, ni = run->u.mf.items.n;
    uint8_t *want = xcalloc(nu + 1, 1);
    for (size_t j = 0; j < nu; j++)
        want[j] = rel_start[j + 1] > rel_start[j];
    RecsLists l;
    recs_topn_all(&l, in, run->start, run->rated, want, run->k);
    int32_t *list = xmalloc((run->k + 1) * sizeof(int32_t));
    for (size_t j = 0; j < nu; j++) {
        if (!want[j])
            continue;
        const int32_t *r = rel + rel_start[j];
        const size_t nr = rel_start[j + 1] - rel_start[j];
        rankm_add(&m[0], l.item + j * l.cap, l.count[j], r, nr);
        size_t n = recs_popular(list, run->k, run->order, ni - 1, run->rated + run->start[j],
                                run->start[j + 1] - run->start[j]);
        rankm_add(&m[1], list, n, r, nr);
    }
    recs_free(&l);
    free(list);
    free(want);
}

/* ------------------------------------------------------------------ report */

static void print_ranking(const char *name, const char *what, const RankMetrics *m, size_t k)
{
    static const char *const names[RANKM_VALUES] = {"precision", "recall", "ndcg", "hit_rate",
                                                    "coverage"};
    double model[RANKM_VALUES], pop[RANKM_VALUES];
    rankm_values(&m[0], model);
    rankm_values(&m[1], pop);
    printf("\n%s protocol (%s), %lld users\n", name, what, (long long)m[0].users);
    if (m[0].users == 0) {
        printf("  (no user has a relevant held-out rating: nothing to rank)\n");
        return;
    }
    printf("  %-14s %-10s %s\n", "metric", "model", "popularity");
    for (int i = 0; i < RANKM_VALUES; i++) {
        char label[32];
        snprintf(label, sizeof label, "%s@%zu", names[i], k);
        printf("  %-14s %-10.4f %.4f\n", label, model[i], pop[i]);
    }
}

static void print_report(const EvalRun *run, const Options *o, const double *err,
                         const int64_t *counts, const RankMetrics *hm, const RankMetrics *cm)
{
    char where[600];
    if (o->input)
        snprintf(where, sizeof where, "%.500s", o->input);
    else if (run->u.train.folds)
        snprintf(where, sizeof where,
                 "the validation split of %.300s (--folds %lld --fold %lld "
                 "--seed %lld)",
                 run->u.train.data ? run->u.train.data : "the embedded data",
                 (long long)run->u.train.folds, (long long)run->u.train.fold,
                 (long long)run->u.train.seed);
    else
        snprintf(where, sizeof where,
                 "the validation split of %.300s (--valid-pct %g --seed "
                 "%lld)",
                 run->u.train.data ? run->u.train.data : "the embedded data",
                 run->u.train.valid_pct, (long long)run->u.train.seed);
    printf("evaluate: %s on %s\n", run->u.mf.path, where);
    printf("held-out ratings: %lld (%lld with a user or item unknown to the model: cold "
           "start)\n\n",
           (long long)counts[0], (long long)counts[1]);
    printf("  %-14s %-10s %s\n", "metric", "model", "training mean");
    printf("  %-14s %-10.4f %.4f\n", "mse", err[0], err[2]);
    printf("  %-14s %-10.4f %.4f\n", "rmse", sqrt(err[0]), sqrt(err[2]));
    printf("  %-14s %-10.4f %.4f\n", "mae", err[1], err[3]);
    printf("\nranking: top %zu, relevant = held-out rating >= %g; left out: %lld held-out "
           "ratings of unknown users or items, %lld of items the user rated in training\n",
           run->k, run->relevant, (long long)run->skipped[0], (long long)run->skipped[1]);
    if (run->heldout)
        print_ranking("heldout", "candidates: the user's held-out items", hm, run->k);
    if (run->catalogue)
        print_ranking("catalogue", "candidates: every item not rated in training", cm, run->k);
    fflush(stdout);
}

/* ------------------------------------------------------------------ the command */

static int check_options(EvalRun *run, const Options *o)
{
    const char *p = o->protocol;
    if (strcmp(p, "heldout") && strcmp(p, "catalogue") && strcmp(p, "both")) {
        log_error("option --protocol: '%s' is not one of: heldout, catalogue, both", p);
        return STATUS_USAGE;
    }
    if (o->at_k < 1 || o->at_k > 100000) {
        log_error("option --k: %lld is not in 1..100000", (long long)o->at_k);
        return STATUS_USAGE;
    }
    run->heldout = strcmp(p, "catalogue") != 0;
    run->catalogue = strcmp(p, "heldout") != 0;
    run->k = (size_t)o->at_k;
    run->relevant = o->relevant;
    return STATUS_OK;
}

/* Both protocols' metrics (hm, cm: model and popularity each). */
static void ranking(EvalRun *run, RankMetrics *hm, RankMetrics *cm)
{
    const size_t ni = run->u.mf.items.n, nu = run->u.in.m.n_users;
    run->counts = xmalloc(ni * sizeof(int64_t));
    usemodel_item_counts(&run->u, run->counts, 0); /* popularity: training ratings only */
    run->order = recs_popularity_order(run->counts, ni);
    usemodel_rated(&run->u, 0, &run->start, &run->rated);
    size_t *rel_start = xcalloc(nu + 1, sizeof(size_t));
    int32_t *rel = xmalloc((run->h.n + 1) * sizeof(int32_t));
    heldout_protocol(run, hm, rel_start, rel);
    if (run->catalogue)
        catalogue_protocol(run, cm, rel_start, rel);
    for (int i = 0; i < 2; i++) {
        rankm_reduce(&hm[i], run->ctx);
        rankm_reduce(&cm[i], run->ctx);
    }
    int64_t sk[2] = {run->skipped[0], run->skipped[1]};
    CHECK_MPI(MPI_Allreduce(sk, run->skipped, 2, MPI_INT64_T, MPI_SUM, run->ctx->comm));
    free(rel_start);
    free(rel);
}

int cmd_evaluate(const Ctx *ctx, Options *o)
{
    EvalRun run;
    memset(&run, 0, sizeof run);
    run.ctx = ctx;
    int rc = check_options(&run, o);
    if (!rc)
        rc = cli_open_model(&run.u, ctx, o, 1);
    if (!rc)
        rc = load_heldout(&run, o);
    if (!rc) {
        run.h.pred = xmalloc((run.h.n + 1) * sizeof(float));
        infer_predict_local(&run.u.in, run.h.pred, run.h.user, run.h.item, run.h.n);
        double err[4];
        int64_t counts[2];
        rating_metrics(&run, err, counts);
        RankMetrics hm[2], cm[2];
        for (int i = 0; i < 2; i++) {
            rankm_init(&hm[i], run.k, run.u.mf.items.n);
            rankm_init(&cm[i], run.k, run.u.mf.items.n);
        }
        ranking(&run, hm, cm);
        if (ctx->rank == 0)
            print_report(&run, o, err, counts, hm, cm);
        for (int i = 0; i < 2; i++)
            rankm_free(&hm[i]), rankm_free(&cm[i]);
    }
    if (run.h.own)
        free(run.h.user), free(run.h.item), free(run.h.rating);
    free(run.h.pred), free(run.counts), free(run.order), free(run.start), free(run.rated);
    usemodel_free(&run.u);
    return rc;
}
