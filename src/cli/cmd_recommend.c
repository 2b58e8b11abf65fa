/* cmd_recommend.c - `collab-mpi recommend`: the top-N items a user has not rated, with
 * predicted ratings; or, with --all-users, every user's list into an HDF5 file, each
 * rank computing its own users' lists (recs.h) and writing its own rows.
 *
 * "Rated" means any rating of the user in the training data file (training and
 * validation rows): a user has seen those. An unknown user gets the most popular items
 * (cold start, docs/USING.md), as does row 0 (#na#) of the --all-users file. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/base/check.h"
#include "collab/base/h5.h"
#include "collab/store/h5out.h"
#include "collab/base/log.h"
#include "collab/use/recs.h"
#include "collab/use/usemodel.h"

/* What every recommendation needs: the model, ratings per item, the popularity order and
 * each local user's rated items. */
typedef struct RecRun {
    const Ctx *ctx;
    UseModel u;
    size_t n;       /* N: items per list */
    int32_t *order; /* (n_items - 1) items by popularity */
    size_t *start;  /* CSR of the local users' rated items */
    int32_t *rated;
} RecRun;

static int check_options(const Options *o)
{
    if (!o->user == !o->all_users) {
        log_error("recommend needs exactly one of --user ID and --all-users");
        return STATUS_USAGE;
    }
    if (o->num < 1 || o->num > 100000) {
        log_error("option --num: %lld is not in 1..100000", (long long)o->num);
        return STATUS_USAGE;
    }
    return STATUS_OK;
}

/* Rank 0: the printed list. */
static void print_list(const RecRun *run, const char *who, const TopN *t, size_t n_rated, int cold)
{
    char text[600];
    if (cold)
        printf("recommendations for %s (unknown to the model: the most popular items, with "
               "the average user's predicted rating)\n",
               who);
    else
        printf("recommendations for user %s (%zu rated items excluded)\n", who, n_rated);
    printf("%-4s %-9s %s\n", "rank", "predicted", "item");
    for (size_t j = 0; j < t->n; j++)
        printf("%-4zu %-9.4f %s\n", j + 1, t->score[j],
               usemodel_item_text(&run->u, (size_t)t->idx[j], text, sizeof text));
    fflush(stdout);
}

/* The cold-start list: the N most popular items, scored for the average user. Rank 0
 * gets them in t (sorted by popularity, not by score). */
static void popular_list(RecRun *run, TopN *t)
{
    const size_t ni = run->u.mf.items.n, n = run->n < ni - 1 ? run->n : ni - 1;
    const int root = run->ctx->rank == 0;
    int32_t *user = xcalloc(n + 1, sizeof(int32_t));
    float *pred = xmalloc((n + 1) * sizeof(float));
    infer_predict_root(&run->u.in, pred, root ? user : NULL, root ? run->order : NULL,
                       root ? n : 0);
    t->n = root ? n : 0;
    for (size_t j = 0; j < t->n; j++) {
        t->score[j] = pred[j];
        t->idx[j] = run->order[j];
    }
    free(user);
    free(pred);
}

/* Rank 0: the cap-best unrated items of one known user. The user's owner broadcasts the
 * user's row and rated items; every rank scores its item block; the lists merge. */
static void known_list(RecRun *run, int32_t user, TopN *t, size_t *n_rated)
{
    Infer *in = &run->u.in;
    const int owner = layout_user_owner(&in->layout, (size_t)user);
    const int mine = run->ctx->rank == owner;
    float *row = xmalloc(in->uw * sizeof(float));
    uint64_t nr = 0;
    const size_t j = (size_t)user - in->user_lo;
    if (mine) {
        infer_user_row(in, row, (size_t)user);
        nr = run->start[j + 1] - run->start[j];
    }
    CHECK_MPI(MPI_Bcast(row, (int)in->uw, MPI_FLOAT, owner, run->ctx->comm));
    CHECK_MPI(MPI_Bcast(&nr, 1, MPI_UINT64_T, owner, run->ctx->comm));
    int32_t *rated = xmalloc((nr + 1) * sizeof(int32_t));
    if (mine)
        memcpy(rated, run->rated + run->start[j], nr * sizeof(int32_t));
    CHECK_MPI(MPI_Bcast(rated, (int)nr, MPI_INT32_T, owner, run->ctx->comm));
    float *pred = xmalloc((in->m.n_items + 1) * sizeof(float)), *items_t = infer_items_t(in);
    infer_score_items(in, pred, row, items_t, in->m.item_b, in->m.n_items);
    free(items_t);
    for (size_t i = 0; i < in->m.n_items; i++) {
        const int32_t g = (int32_t)(in->item_lo + i);
        if (g != 0 && !recs_contains(rated, nr, g))
            topn_push(t, pred[i], g);
    }
    topn_sort(t);
    topn_merge_root(t, run->ctx);
    *n_rated = nr;
    free(pred);
    free(rated);
    free(row);
}

static int one_user(RecRun *run, const char *id)
{
    const int32_t user = usemodel_user(&run->u, id);
    TopN t;
    size_t n_rated = 0;
    topn_init(&t, run->n);
    if (user == 0) {
        log_warn("user '%s' is not in the model's vocabulary: cold start, recommending the "
                 "most popular items",
                 id);
        popular_list(run, &t);
    } else {
        known_list(run, user, &t, &n_rated);
    }
    if (run->ctx->rank == 0)
        print_list(run, id, &t, n_rated, user == 0);
    topn_free(&t);
    return STATUS_OK;
}

/* Pads every list to N entries: item -1, score NaN (documented in docs/USING.md). */
static void pad_lists(RecsLists *l, int32_t *counts)
{
    for (size_t j = 0; j < l->n_users; j++) {
        counts[j] = (int32_t)l->count[j];
        for (size_t e = l->count[j]; e < l->cap; e++) {
            l->item[j * l->cap + e] = -1;
            l->score[j * l->cap + e] = NAN;
        }
    }
}

static int write_recs(RecRun *run, RecsLists *l, const char *path)
{
    const Ctx *ctx = run->ctx;
    const ModelFile *mf = &run->u.mf;
    const size_t nu = mf->users.n, lo = run->u.in.user_lo;
    int32_t *counts = xmalloc((l->n_users + 1) * sizeof(int32_t));
    pad_lists(l, counts);
    Status st;
    status_clear(&st);
    H5Out out = {.file = -1};
    if (!h5out_create(&out, path, "recommendations", mf->path, ctx, &st) &&
        !h5out_attr_i64(&out, "n", (int64_t)l->cap, &st) &&
        !h5out_attr_str(&out, "excluded", "the user's training and validation ratings", &st) &&
        !h5out_attr_str(&out, "cold_start", "row 0 (#na#): the most popular items", &st) &&
        !h5out_rows(&out, "items", H5OUT_I32, l->item, l->n_users, lo, nu, l->cap, ctx, &st) &&
        !h5out_rows(&out, "scores", H5OUT_F32, l->score, l->n_users, lo, nu, l->cap, ctx, &st) &&
        !h5out_rows(&out, "counts", H5OUT_I32, counts, l->n_users, lo, nu, 0, ctx, &st) &&
        !h5_write_strings(out.file, "vocab/users", mf->users.names, nu, ctx->comm, out.tmp, &st) &&
        !status_agree(&st, ctx->comm) &&
        !h5_write_strings(out.file, "vocab/items", mf->items.names, mf->items.n, ctx->comm, out.tmp,
                          &st) &&
        !status_agree(&st, ctx->comm))
        h5_write_strings(out.file, "vocab/titles", mf->titles, mf->items.n, ctx->comm, out.tmp,
                         &st);
    h5out_close(&out, ctx, &st);
    free(counts);
    if (st.code)
        log_error("--output: %s", st.msg);
    return st.code;
}

static int all_users(RecRun *run, const char *path)
{
    RecsLists l;
    recs_topn_all(&l, &run->u.in, run->start, run->rated, NULL, run->n);
    TopN pop;
    topn_init(&pop, run->n);
    popular_list(run, &pop); /* collective; rank 0 holds row 0 (#na#) */
    if (run->u.in.user_lo == 0 && l.n_users > 0) {
        l.count[0] = pop.n;
        memcpy(l.score, pop.score, pop.n * sizeof(float));
        memcpy(l.item, pop.idx, pop.n * sizeof(int32_t));
    }
    topn_free(&pop);
    int rc = write_recs(run, &l, path);
    if (!rc)
        log_info("recommend: top-%zu lists of %zu users (row 0: cold start) written to %s\n",
                 run->n, run->u.mf.users.n, path);
    recs_free(&l);
    return rc;
}

int cmd_recommend(const Ctx *ctx, Options *o)
{
    int rc = check_options(o);
    if (rc)
        return rc;
    RecRun run = {.ctx = ctx, .n = (size_t)o->num};
    rc = cli_open_model(&run.u, ctx, o, 1);
    if (!rc) {
        int64_t *counts = xmalloc(run.u.mf.items.n * sizeof(int64_t));
        usemodel_item_counts(&run.u, counts, 1);
        run.order = recs_popularity_order(counts, run.u.mf.items.n);
        free(counts);
        usemodel_rated(&run.u, 1, &run.start, &run.rated);
        rc = o->all_users ? all_users(&run, o->output) : one_user(&run, o->user);
    }
    free(run.order);
    free(run.start);
    free(run.rated);
    usemodel_free(&run.u);
    return rc;
}
