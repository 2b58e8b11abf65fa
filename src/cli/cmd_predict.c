/* cmd_predict.c - `collab-mpi predict` (a rating for every (user, item) line of a file)
 * and `collab-mpi show-results` (validation rows, prediction beside target, like fastai's
 * learn.show_results()). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collab/cli/commands.h"
#include "collab/cli/setup.h"
#include "collab/base/check.h"
#include "collab/base/log.h"
#include "collab/use/pairs.h"
#include "collab/base/rng.h"
#include "collab/use/usemodel.h"

/* Keys the rows show-results picks: a stream of its own, apart from rng.h's. */
enum { STREAM_SHOW_RESULTS = 0x53484f57 };

/* ------------------------------------------------------------------ predict */

/* The reading options of PAIRS (validated before the model is opened: usage errors
 * first). Items are keyed as the model's are, set once the model is open. */
static int pairs_options(DataOptions *d, const Options *o, Status *st)
{
    Options t = *o;
    t.data = o->input;
    t.item_name = "id";
    t.valid_pct = 0.0;
    t.seed = 0;
    t.rating_range = NULL;
    return cli_data_options(d, &t, st);
}

/* Rank 0: reads the pairs and encodes them with the model's vocabularies. */
static int read_pairs(Ratings *r, int32_t **user, int32_t **item, const DataOptions *d,
                      const UseModel *u, Status *st)
{
    if (pairs_read(r, d, u->mf.users.numeric, st))
        return st->code;
    int32_t *umap = xmalloc((r->n_user_keys + 1) * sizeof(int32_t));
    int32_t *imap = xmalloc((r->n_item_keys + 1) * sizeof(int32_t));
    for (size_t i = 0; i < r->n_user_keys; i++)
        umap[i] = vocab_find(&u->mf.users, r->user_keys[i]);
    for (size_t i = 0; i < r->n_item_keys; i++)
        imap[i] = vocab_find(&u->mf.items, r->item_keys[i]);
    *user = xmalloc((r->n + 1) * sizeof(int32_t));
    *item = xmalloc((r->n + 1) * sizeof(int32_t));
    for (size_t j = 0; j < r->n; j++) {
        (*user)[j] = umap[r->user[j]];
        (*item)[j] = imap[r->item[j]];
    }
    free(umap);
    free(imap);
    return STATUS_OK;
}

/* Rank 0: one line per pair, in file order, and a warning counting the cold starts. */
static void print_predictions(const Ratings *r, const int32_t *user, const int32_t *item,
                              const float *pred)
{
    static const char *const cold[4] = {"-", "user", "item", "user+item"};
    size_t n_cold = 0;
    printf("user\titem\tprediction\tcold_start\n");
    for (size_t j = 0; j < r->n; j++) {
        const int c = (user[j] == 0) + 2 * (item[j] == 0);
        n_cold += c != 0;
        printf("%s\t%s\t%.4f\t%s\n", r->user_keys[r->user[j]], r->item_keys[r->item[j]], pred[j],
               cold[c]);
    }
    fflush(stdout);
    if (n_cold)
        log_warn("%zu of %zu pairs have a user or item the model does not know: they got "
                 "cold-start predictions (see docs/USING.md)",
                 n_cold, r->n);
}

int cmd_predict(const Ctx *ctx, Options *o)
{
    DataOptions d;
    Status st;
    status_clear(&st);
    if (!o->input) {
        log_error("predict needs a PAIRS file: collab-mpi predict --model PATH PAIRS (see "
                  "predict --help)");
        return STATUS_USAGE;
    }
    if (pairs_options(&d, o, &st)) {
        log_error("%s", st.msg);
        return st.code;
    }
    UseModel u;
    int rc = cli_open_model(&u, ctx, o, 0);
    if (rc) {
        usemodel_free(&u);
        return rc;
    }
    const char *by = modelfile_setting(&u.mf, "item-name");
    d.item_by_title = by && !strcmp(by, "title");
    Ratings r;
    int32_t *user = NULL, *item = NULL;
    memset(&r, 0, sizeof r);
    if (ctx->rank == 0)
        read_pairs(&r, &user, &item, &d, &u, &st);
    if (status_agree(&st, ctx->comm)) {
        log_error("%s", st.msg);
    } else {
        float *pred = xmalloc((r.n + 1) * sizeof(float));
        infer_predict_root(&u.in, pred, user, item, r.n);
        if (ctx->rank == 0)
            print_predictions(&r, user, item, pred);
        free(pred);
    }
    free(user);
    free(item);
    ratings_free(&r);
    usemodel_free(&u);
    return st.code;
}

/* ------------------------------------------------------------------ show-results */

/* One shown row: its selection key, the rating and the prediction. */
typedef struct ShownRow {
    uint64_t key;
    int32_t user, item;
    float rating, pred;
} ShownRow;

static int shown_cmp(const void *a, const void *b)
{
    const ShownRow *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* This rank's n validation rows with the smallest keys (a rank-independent random
 * choice: the key is a hash of the seed, the user and the item), predicted. */
static size_t pick_local(ShownRow *out, size_t n, UseModel *u, uint64_t seed)
{
    const Dataset *ds = &u->ds;
    ShownRow *all = xmalloc((ds->n_valid + 1) * sizeof *all);
    for (size_t r = 0; r < ds->n_valid; r++)
        all[r] = (ShownRow){rng_hash(seed, STREAM_SHOW_RESULTS, (uint64_t)ds->valid_user[r],
                                     (uint64_t)ds->valid_item[r]),
                            ds->valid_user[r], ds->valid_item[r], ds->valid_rating[r], 0.0f};
    qsort(all, ds->n_valid, sizeof *all, shown_cmp);
    n = n < ds->n_valid ? n : ds->n_valid;
    int32_t *user = xmalloc((n + 1) * sizeof(int32_t)), *item = xmalloc((n + 1) * sizeof(int32_t));
    float *pred = xmalloc((n + 1) * sizeof(float));
    for (size_t j = 0; j < n; j++)
        user[j] = all[j].user, item[j] = all[j].item;
    infer_predict_local(&u->in, pred, user, item, n);
    for (size_t j = 0; j < n; j++) {
        out[j] = all[j];
        out[j].pred = pred[j];
    }
    free(all), free(user), free(item), free(pred);
    return n;
}

static void print_results(const UseModel *u, const ShownRow *rows, size_t n)
{
    printf("%-4s %-10s %-60s %-7s %s\n", "", "user", "title", "rating", "rating_pred");
    for (size_t j = 0; j < n; j++)
        printf("%-4zu %-10s %-60s %-7g %.4f\n", j, u->mf.users.names[rows[j].user],
               usemodel_item_label(u, (size_t)rows[j].item), rows[j].rating, rows[j].pred);
    fflush(stdout);
}

int cmd_show_results(const Ctx *ctx, Options *o)
{
    if (o->max_n < 1 || o->max_n > 100000) {
        log_error("option --max-n: %lld is not in 1..100000", (long long)o->max_n);
        return STATUS_USAGE;
    }
    UseModel u;
    int rc = cli_open_model(&u, ctx, o, 1);
    if (!rc && u.ds.n_valid_total == 0) {
        log_error("%s was trained without validation rows (--valid-pct 0): there are no "
                  "results to show; use evaluate FILE on held-out ratings",
                  u.mf.path);
        rc = STATUS_DATA;
    }
    if (rc) {
        usemodel_free(&u);
        return rc;
    }
    const size_t n = (size_t)o->max_n;
    ShownRow *mine = xmalloc((n + 1) * sizeof *mine);
    size_t got = pick_local(mine, n, &u, (uint64_t)u.train.seed);
    /* Every rank's candidates to rank 0, which keeps the n smallest keys. */
    int bytes = (int)(got * sizeof *mine), *cnt = xcalloc((size_t)ctx->size, sizeof(int));
    int *off = xcalloc((size_t)ctx->size, sizeof(int));
    CHECK_MPI(MPI_Gather(&bytes, 1, MPI_INT, cnt, 1, MPI_INT, 0, ctx->comm));
    for (int q = 1; q < ctx->size; q++)
        off[q] = off[q - 1] + cnt[q - 1];
    const size_t total = (size_t)(off[ctx->size - 1] + cnt[ctx->size - 1]) / sizeof *mine;
    ShownRow *all = xmalloc((size_t)ctx->size * (n + 1) * sizeof *all);
    CHECK_MPI(MPI_Gatherv(mine, bytes, MPI_BYTE, all, cnt, off, MPI_BYTE, 0, ctx->comm));
    if (ctx->rank == 0) {
        qsort(all, total, sizeof *all, shown_cmp);
        print_results(&u, all, total < n ? total : n);
    }
    free(all), free(mine), free(cnt), free(off);
    usemodel_free(&u);
    return STATUS_OK;
}
