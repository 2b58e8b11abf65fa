/* usemodel.c - opening a trained model for the commands that use it: the file, the
 * training data rebuilt from its settings, the sharded model, and shared lookups. */
#include "config.h"

#include "collab/use/usemodel.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/log.h"

/* ------------------------------------------------------------------ training data */

/* The rebuilt data must be the data the model was trained on. */
static int check_data(UseModel *u, Status *st)
{
    const Dataset *ds = &u->ds;
    const CkptData *d = &u->mf.data;
    const uint64_t got[4] = {ds->users.n, ds->items.n, ds->n_train_total, ds->n_valid_total};
    const uint64_t want[4] = {d->n_users, d->n_items, d->n_train, d->n_valid};
    static const char *const what[4] = {"users", "items", "training ratings", "validation ratings"};
    const char *path = u->train.data ? u->train.data : "the embedded data";
    for (int i = 0; i < 4; i++)
        if (got[i] != want[i])
            return status_set(st, STATUS_DATA,
                              "the training data '%s' has %llu %s where model %s was "
                              "trained on %llu: give the data it was trained on with --data",
                              path, (unsigned long long)got[i], what[i], u->mf.path,
                              (unsigned long long)want[i]);
    int same = 1;
    for (size_t i = 0; same && i < ds->users.n; i++)
        same = !strcmp(ds->users.names[i], u->mf.users.names[i]);
    for (size_t i = 0; same && i < ds->items.n; i++)
        same = !strcmp(ds->items.names[i], u->mf.items.names[i]);
    uint64_t fp = ckpt_fingerprint(ds->train_gidx, ds->train_user, ds->train_item, ds->train_rating,
                                   ds->n_train, 1, u->ctx) +
                  ckpt_fingerprint(NULL, ds->valid_user, ds->valid_item, ds->valid_rating,
                                   ds->n_valid, 2, u->ctx);
    if (!same || fp != d->fingerprint)
        return status_set(st, STATUS_DATA,
                          "the training data '%s' differs from the data model "
                          "%s was trained on (%s): give the original with --data",
                          path, u->mf.path, same ? "ratings or split" : "vocabularies");
    return STATUS_OK;
}

static int load_data(UseModel *u, const UseSettings *s, Status *st)
{
    if (s->load(&u->ds, &u->train, u->ctx, &u->mf, s->data, st)) {
        char msg[sizeof st->msg];
        snprintf(msg, sizeof msg, "%s", st->msg);
        status_clear(st);
        return status_set(st, STATUS_DATA,
                          "reading the training data of %s: %s (if the data "
                          "moved, give --data PATH)",
                          u->mf.path, msg);
    }
    u->has_data = 1;
    return check_data(u, st);
}

/* ------------------------------------------------------------------ open and free */

int usemodel_open(UseModel *u, const Ctx *ctx, const UseSettings *s)
{
    Status st;
    status_clear(&st);
    memset(u, 0, sizeof *u);
    u->ctx = ctx;
    if (!s->model_file) {
        log_error("option --model is required: a model file from train --output or a "
                  "checkpoint from train --checkpoint-dir");
        return STATUS_USAGE;
    }
    if (!modelfile_open(&u->mf, s->model_file, ctx, &st) &&
        (!s->with_data || !load_data(u, s, &st)))
        infer_init(&u->in, ctx, &u->mf, u->has_data ? &u->ds.layout : NULL, &st);
    if (status_agree(&st, ctx->comm))
        log_error("%s", st.msg);
    return st.code;
}

void usemodel_free(UseModel *u)
{
    infer_free(&u->in);
    if (u->has_data)
        dataset_free(&u->ds);
    modelfile_free(&u->mf);
    memset(u, 0, sizeof *u);
}

/* ------------------------------------------------------------------ lookups */

int32_t usemodel_user(const UseModel *u, const char *id)
{
    return vocab_find(&u->mf.users, id);
}

const char *usemodel_item_label(const UseModel *u, size_t i)
{
    return modelfile_item_label(&u->mf, i);
}

const char *usemodel_item_text(const UseModel *u, size_t i, char *buf, size_t len)
{
    const char *entry = u->mf.items.names[i], *title = usemodel_item_label(u, i);
    if (strcmp(entry, title))
        snprintf(buf, len, "%s [%s]", title, entry);
    else
        snprintf(buf, len, "%s", entry);
    return buf;
}

/* 1 when needle occurs in hay, ignoring ASCII case. */
static int contains_nocase(const char *hay, const char *needle)
{
    const size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t j = 0;
        while (j < n && hay[j] &&
               tolower((unsigned char)hay[j]) == tolower((unsigned char)needle[j]))
            j++;
        if (j == n)
            return 1;
    }
    return n == 0;
}

/* Collects the items matching query (exact title, or substring) into cand. */
static size_t match_items(const UseModel *u, const char *query, int exact, int32_t *cand,
                          size_t cap)
{
    size_t n = 0;
    for (size_t i = 1; i < u->mf.items.n; i++) {
        const char *label = usemodel_item_label(u, i);
        int hit = exact ? !strcmp(label, query) : contains_nocase(label, query);
        if (hit && n++ < cap)
            cand[n - 1] = (int32_t)i;
    }
    return n;
}

int32_t usemodel_find_item(const UseModel *u, const char *query, int32_t *cand, size_t cap,
                           size_t *n_cand)
{
    int32_t i = vocab_find(&u->mf.items, query);
    *n_cand = 0;
    if (i > 0)
        return i;
    for (int exact = 1; exact >= 0; exact--) {
        *n_cand = match_items(u, query, exact, cand, cap);
        if (*n_cand == 1 && cap > 0)
            return cand[0];
        if (*n_cand > 1)
            return 0;
    }
    return 0;
}

void usemodel_item_counts(const UseModel *u, int64_t *counts, int with_valid)
{
    const Dataset *ds = &u->ds;
    memset(counts, 0, ds->items.n * sizeof(int64_t));
    for (size_t r = 0; r < ds->n_train; r++)
        counts[ds->train_item[r]]++;
    for (size_t r = 0; with_valid && r < ds->n_valid; r++)
        counts[ds->valid_item[r]]++;
    CHECK_MPI(
        MPI_Allreduce(MPI_IN_PLACE, counts, (int)ds->items.n, MPI_INT64_T, MPI_SUM, u->ctx->comm));
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Adds rows' items to their users' segments (fill: next free slot per local user). */
static void rated_add(size_t *fill, int32_t *rated, const int32_t *user, const int32_t *item,
                      size_t n, size_t lo)
{
    for (size_t r = 0; r < n; r++)
        if (user[r] > 0) /* #na# collects unknown users' rows: not a user's history */
            rated[fill[(size_t)user[r] - lo]++] = item[r];
}

void usemodel_rated(const UseModel *u, int with_valid, size_t **start_out, int32_t **rated_out)
{
    const Dataset *ds = &u->ds;
    const size_t lo = u->in.user_lo, nu = u->in.m.n_users;
    size_t *start = xcalloc(nu + 1, sizeof(size_t)), *fill = xcalloc(nu + 1, sizeof(size_t));
    for (size_t r = 0; r < ds->n_train; r++)
        if (ds->train_user[r] > 0)
            start[(size_t)ds->train_user[r] - lo + 1]++;
    for (size_t r = 0; with_valid && r < ds->n_valid; r++)
        if (ds->valid_user[r] > 0)
            start[(size_t)ds->valid_user[r] - lo + 1]++;
    for (size_t i = 0; i < nu; i++)
        start[i + 1] += start[i];
    memcpy(fill, start, nu * sizeof(size_t));
    int32_t *rated = xmalloc((start[nu] + 1) * sizeof(int32_t));
    rated_add(fill, rated, ds->train_user, ds->train_item, ds->n_train, lo);
    if (with_valid)
        rated_add(fill, rated, ds->valid_user, ds->valid_item, ds->n_valid, lo);
    for (size_t i = 0; i < nu; i++)
        qsort(rated + start[i], start[i + 1] - start[i], sizeof(int32_t), cmp_i32);
    free(fill);
    *start_out = start;
    *rated_out = rated;
}
