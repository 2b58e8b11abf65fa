/* cmd_explore.c - looking inside a trained model, as the chapter does after training:
 * `similar` (nearest items by cosine similarity of their factors), `biases` (the lowest
 * and highest learned biases) and `pca` (principal components of the most-rated items'
 * factors, to HDF5 and CSV). Each rank searches its own item (and user) rows; the lists
 * merge under a total order, so the output does not depend on -np. */
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
#include "collab/use/pca.h"
#include "collab/use/recs.h"
#include "collab/use/usemodel.h"

enum { MAX_CANDIDATES = 20 }; /* matches listed for an ambiguous --item */

static int check_num(const Options *o)
{
    if (o->num < 1 || o->num > 100000) {
        log_error("option --num: %lld is not in 1..100000", (long long)o->num);
        return STATUS_USAGE;
    }
    return STATUS_OK;
}

/* ------------------------------------------------------------------ similar */

/* The item --item names; 0 after printing why none (or several) match. Local. */
static int32_t resolve_item(const UseModel *u, const char *query)
{
    int32_t cand[MAX_CANDIDATES];
    size_t n = 0;
    int32_t item = usemodel_find_item(u, query, cand, MAX_CANDIDATES, &n);
    if (item > 0)
        return item;
    if (n == 0) {
        log_error("--item '%s': no item of %s matches; give its ID, its exact title or a part "
                  "of the title",
                  query, u->mf.path);
        return 0;
    }
    log_error("--item '%s' matches %zu items; give one of them exactly:", query, n);
    char text[600];
    for (size_t j = 0; log_rank() == 0 && j < n && j < MAX_CANDIDATES; j++)
        fprintf(stderr, "  %s\n", usemodel_item_text(u, (size_t)cand[j], text, sizeof text));
    if (log_rank() == 0 && n > MAX_CANDIDATES)
        fprintf(stderr, "  ... and %zu more\n", n - MAX_CANDIDATES);
    return 0;
}

/* Every rank gets item's factor row from its owner. */
static void bcast_item_row(const Infer *in, float *row, int32_t item, const Ctx *ctx)
{
    const size_t k = in->mf->spec.k;
    const int owner = layout_item_owner(&in->layout, (size_t)item);
    if (ctx->rank == owner)
        memcpy(row, in->m.item_f + ((size_t)item - in->item_lo) * k, k * sizeof(float));
    CHECK_MPI(MPI_Bcast(row, (int)k, MPI_FLOAT, owner, ctx->comm));
}

/* Cosine similarity of a and b (k), in double; 0 when either is all zeros. */
static double cosine(const float *a, const float *b, size_t k)
{
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (size_t c = 0; c < k; c++) {
        ab += (double)a[c] * b[c];
        aa += (double)a[c] * a[c];
        bb += (double)b[c] * b[c];
    }
    return aa > 0.0 && bb > 0.0 ? ab / (sqrt(aa) * sqrt(bb)) : 0.0;
}

/* Rank 0 gets the n items nearest to target among those with >= min ratings (counts
 * NULL: all). */
static void nearest(const UseModel *u, TopN *t, const float *target, int32_t item,
                    const int64_t *counts, int64_t min, const Ctx *ctx)
{
    const Infer *in = &u->in;
    const size_t k = in->mf->spec.k;
    for (size_t i = 0; i < in->m.n_items; i++) {
        const int32_t g = (int32_t)(in->item_lo + i);
        if (g == 0 || g == item || (counts && counts[g] < min))
            continue;
        topn_push(t, (float)cosine(target, in->m.item_f + i * k, k), g);
    }
    topn_merge_root(t, ctx);
}

static int similar_check_options(const Options *o)
{
    if (!o->item || !o->item[0]) {
        log_error("similar needs --item ID|TITLE (see similar --help)");
        return STATUS_USAGE;
    }
    if (check_num(o))
        return STATUS_USAGE;
    if (o->min_ratings < 0) {
        log_error("option --min-ratings: %lld is negative", (long long)o->min_ratings);
        return STATUS_USAGE;
    }
    return STATUS_OK;
}

static void print_similar(const UseModel *u, int32_t item, const TopN *t)
{
    char text[600];
    printf("items most similar to %s (cosine similarity of item factors)\n",
           usemodel_item_text(u, (size_t)item, text, sizeof text));
    printf("%-4s %-7s %s\n", "rank", "cosine", "item");
    for (size_t j = 0; j < t->n; j++)
        printf("%-4zu %-7.4f %s\n", j + 1, t->score[j],
               usemodel_item_text(u, (size_t)t->idx[j], text, sizeof text));
    fflush(stdout);
}

int cmd_similar(const Ctx *ctx, Options *o)
{
    if (similar_check_options(o))
        return STATUS_USAGE;
    UseModel u;
    int rc = cli_open_model(&u, ctx, o, o->min_ratings > 0);
    const int32_t item = rc ? 0 : resolve_item(&u, o->item);
    if (!rc && item == 0)
        rc = STATUS_DATA;
    if (rc) {
        usemodel_free(&u);
        return rc;
    }
    float *target = xmalloc(u.mf.spec.k * sizeof(float));
    int64_t *counts = NULL;
    if (o->min_ratings > 0) {
        counts = xmalloc(u.mf.items.n * sizeof(int64_t));
        usemodel_item_counts(&u, counts, 0);
    }
    bcast_item_row(&u.in, target, item, ctx);
    TopN t;
    topn_init(&t, (size_t)o->num);
    nearest(&u, &t, target, item, counts, o->min_ratings, ctx);
    if (ctx->rank == 0)
        print_similar(&u, item, &t);
    topn_free(&t);
    free(counts);
    free(target);
    usemodel_free(&u);
    return STATUS_OK;
}

/* ------------------------------------------------------------------ biases */

/* Rank 0 gets the n lowest (low) and highest (high) of bias[0..rows) (global index row0 +
 * j), row 0 (#na#) left out. Lowest: the best of -bias. */
static void extremes(TopN *low, TopN *high, const float *bias, size_t rows, size_t row0,
                     const Ctx *ctx)
{
    for (size_t j = 0; j < rows; j++) {
        if (row0 + j == 0)
            continue;
        topn_push(low, -bias[j], (int32_t)(row0 + j));
        topn_push(high, bias[j], (int32_t)(row0 + j));
    }
    topn_merge_root(low, ctx);
    topn_merge_root(high, ctx);
}

static void print_extremes(const UseModel *u, const char *what, const TopN *t, float sign,
                           int items)
{
    char text[600];
    printf("%s\n", what);
    for (size_t j = 0; j < t->n; j++)
        printf("  %8.4f  %s\n", sign * t->score[j],
               items ? usemodel_item_text(u, (size_t)t->idx[j], text, sizeof text)
                     : u->mf.users.names[t->idx[j]]);
}

int cmd_biases(const Ctx *ctx, Options *o)
{
    if (check_num(o))
        return STATUS_USAGE;
    UseModel u;
    int rc = cli_open_model(&u, ctx, o, 0);
    if (!rc && u.mf.spec.kind != MODEL_DOTBIAS) {
        log_error("%s is %s model (--model %s): it learned no biases; train with "
                  "--model dotbias",
                  u.mf.path, u.mf.spec.kind == MODEL_NN ? "an EmbeddingNN" : "a DotProduct",
                  u.mf.spec.kind == MODEL_NN ? "nn" : "dot");
        rc = STATUS_DATA;
    }
    if (rc) {
        usemodel_free(&u);
        return rc;
    }
    const Infer *in = &u.in;
    TopN t[4];
    for (int i = 0; i < 4; i++)
        topn_init(&t[i], (size_t)o->num);
    extremes(&t[0], &t[1], in->m.item_b, in->m.n_items, in->item_lo, ctx);
    extremes(&t[2], &t[3], in->m.user_b, in->m.n_users, in->user_lo, ctx);
    if (ctx->rank == 0) {
        print_extremes(&u, "items with the lowest bias", &t[0], -1.0f, 1);
        print_extremes(&u, "items with the highest bias", &t[1], 1.0f, 1);
        print_extremes(&u, "users with the lowest bias", &t[2], -1.0f, 0);
        print_extremes(&u, "users with the highest bias", &t[3], 1.0f, 0);
        fflush(stdout);
    }
    for (int i = 0; i < 4; i++)
        topn_free(&t[i]);
    usemodel_free(&u);
    return STATUS_OK;
}

/* ------------------------------------------------------------------ pca */

/* The items PCA looks at: the top most-rated (training and validation ratings, as the
 * chapter counts them), most-rated first; items nobody rated are left out. */
static size_t pca_select(int32_t **sel, int64_t **sel_counts, size_t *n_rated, const UseModel *u,
                         size_t top)
{
    const size_t ni = u->mf.items.n;
    int64_t *counts = xmalloc(ni * sizeof(int64_t));
    usemodel_item_counts(u, counts, 1);
    int32_t *order = recs_popularity_order(counts, ni);
    size_t n = 0;
    *n_rated = 0;
    while (*n_rated + 1 < ni && counts[order[*n_rated]] > 0)
        ++*n_rated;
    n = top < *n_rated ? top : *n_rated;
    *sel_counts = xmalloc((n + 1) * sizeof(int64_t));
    for (size_t j = 0; j < n; j++)
        (*sel_counts)[j] = counts[order[j]];
    free(counts);
    *sel = order;
    return n;
}

/* Rank 0 gets the factor rows of sel[0..n) (n, k); each rank sends those it owns. */
static float *gather_rows(const Infer *in, const int32_t *sel, size_t n, const Ctx *ctx)
{
    const size_t k = in->mf->spec.k, w = k + 1;
    float *mine = xmalloc((in->m.n_items * w + 1) * sizeof(float));
    int cnt = 0;
    for (size_t j = 0; j < n; j++) {
        const size_t g = (size_t)sel[j];
        if (g < in->item_lo || g >= in->item_lo + in->m.n_items)
            continue;
        mine[(size_t)cnt * w] = (float)j; /* exact: positions are below 2^24 */
        memcpy(mine + (size_t)cnt * w + 1, in->m.item_f + (g - in->item_lo) * k, k * sizeof(float));
        cnt++;
    }
    int sz = cnt * (int)w, *cnts = xcalloc((size_t)ctx->size, sizeof(int));
    int *offs = xcalloc((size_t)ctx->size, sizeof(int));
    CHECK_MPI(MPI_Gather(&sz, 1, MPI_INT, cnts, 1, MPI_INT, 0, ctx->comm));
    for (int q = 1; q < ctx->size; q++)
        offs[q] = offs[q - 1] + cnts[q - 1];
    float *all = xmalloc((n * w + 1) * sizeof(float)), *rows = xmalloc((n * k + 1) * sizeof(float));
    CHECK_MPI(MPI_Gatherv(mine, sz, MPI_FLOAT, all, cnts, offs, MPI_FLOAT, 0, ctx->comm));
    for (size_t r = 0; ctx->rank == 0 && r < n; r++)
        memcpy(rows + (size_t)all[r * w] * k, all + r * w + 1, k * sizeof(float));
    free(mine), free(cnts), free(offs), free(all);
    return rows;
}

/* A CSV field: quoted (with doubled quotes) when it holds a comma, quote or newline. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Rank 0: the CSV file: item, title, ratings, pc1..pcC. */
static int write_pca_csv(const char *path, const UseModel *u, const Pca *p, const int32_t *sel,
                         const int64_t *counts, Status *st)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return status_set(st, STATUS_DATA, "--csv: cannot create '%s'", path);
    fprintf(f, "item,title,ratings");
    for (size_t j = 0; j < p->c; j++)
        fprintf(f, ",pc%zu", j + 1);
    fputc('\n', f);
    for (size_t i = 0; i < p->n; i++) {
        csv_field(f, u->mf.items.names[sel[i]]);
        fputc(',', f);
        csv_field(f, usemodel_item_label(u, (size_t)sel[i]));
        fprintf(f, ",%lld", (long long)counts[i]);
        for (size_t j = 0; j < p->c; j++)
            fprintf(f, ",%.9g", p->coords[i * p->c + j]);
        fputc('\n', f);
    }
    if (fclose(f) != 0)
        status_set(st, STATUS_DATA, "--csv: writing '%s' failed (disk full?)", path);
    return st->code;
}

/* Collective: the HDF5 file, every table written by rank 0 (the others, which did not
 * fit p, pass no rows); n items, c components and k factors are known everywhere. */
static int write_pca_h5(const char *path, const UseModel *u, const Pca *p, const int32_t *sel,
                        const int64_t *counts, size_t n, size_t c, const Ctx *ctx, Status *st)
{
    const size_t k = u->mf.spec.k, r0 = ctx->rank == 0;
    char **names = xcalloc(n + 1, sizeof(char *)), **titles = xcalloc(n + 1, sizeof(char *));
    double *ratio = xmalloc((c + 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        names[i] = u->mf.items.names[sel[i]];
        titles[i] = (char *)usemodel_item_label(u, (size_t)sel[i]);
    }
    for (size_t j = 0; r0 && j < c; j++)
        ratio[j] = p->total > 0 ? p->variance[j] / p->total : 0.0;
    double total = p->total; /* attributes are written collectively: one value */
    CHECK_MPI(MPI_Bcast(&total, 1, MPI_DOUBLE, 0, ctx->comm));
    H5Out out = {.file = -1};
    if (!h5out_create(&out, path, "pca", u->mf.path, ctx, st) &&
        !h5out_attr_i64(&out, "top", (int64_t)n, st) &&
        !h5out_attr_f64(&out, "total_variance", total, st) &&
        !h5out_rows(&out, "items", H5OUT_I32, sel, r0 ? n : 0, 0, n, 0, ctx, st) &&
        !h5out_rows(&out, "ratings", H5OUT_I64, counts, r0 ? n : 0, 0, n, 0, ctx, st) &&
        !h5out_rows(&out, "coords", H5OUT_F64, p->coords, r0 ? n : 0, 0, n, c, ctx, st) &&
        !h5out_rows(&out, "components", H5OUT_F64, p->components, r0 ? c : 0, 0, c, k, ctx, st) &&
        !h5out_rows(&out, "variance", H5OUT_F64, p->variance, r0 ? c : 0, 0, c, 0, ctx, st) &&
        !h5out_rows(&out, "variance_ratio", H5OUT_F64, ratio, r0 ? c : 0, 0, c, 0, ctx, st) &&
        !h5out_rows(&out, "mean", H5OUT_F64, p->mean, r0 ? k : 0, 0, k, 0, ctx, st) &&
        !h5_write_strings(out.file, "names", names, n, ctx->comm, out.tmp, st) &&
        !status_agree(st, ctx->comm))
        h5_write_strings(out.file, "titles", titles, n, ctx->comm, out.tmp, st);
    h5out_close(&out, ctx, st);
    free(names), free(titles), free(ratio);
    return st->code;
}

/* Rank 0: the variance of each component and the items at both of its ends. */
static void print_pca(const UseModel *u, const Pca *p, const int32_t *sel, size_t show,
                      size_t n_rated)
{
    char text[600];
    printf("pca: the %zu most-rated items (of %zu rated), %zu factors -> %zu components\n", p->n,
           n_rated, p->k, p->c);
    size_t *idx = xmalloc(p->n * sizeof(size_t));
    for (size_t j = 0; j < p->c; j++) {
        printf("pc%zu: variance %.4f (%.1f%% of %.4f)\n", j + 1, p->variance[j],
               p->total > 0 ? 100.0 * p->variance[j] / p->total : 0.0, p->total);
        for (size_t i = 0; i < p->n; i++)
            idx[i] = i;
        for (size_t a = 1; a < p->n; a++) /* insertion sort by coordinate, then position */
            for (size_t b = a;
                 b > 0 && p->coords[idx[b - 1] * p->c + j] > p->coords[idx[b] * p->c + j]; b--) {
                size_t t = idx[b];
                idx[b] = idx[b - 1];
                idx[b - 1] = t;
            }
        const size_t m = show < p->n ? show : p->n;
        for (size_t i = 0; i < m; i++)
            printf("  low  %8.4f  %s\n", p->coords[idx[i] * p->c + j],
                   usemodel_item_text(u, (size_t)sel[idx[i]], text, sizeof text));
        for (size_t i = 0; i < m; i++)
            printf("  high %8.4f  %s\n", p->coords[idx[p->n - 1 - i] * p->c + j],
                   usemodel_item_text(u, (size_t)sel[idx[p->n - 1 - i]], text, sizeof text));
    }
    free(idx);
    fflush(stdout);
}

/* --csv, or --output with its extension replaced by .csv. */
static void csv_path(char *out, size_t len, const Options *o)
{
    if (o->csv) {
        snprintf(out, len, "%s", o->csv);
        return;
    }
    snprintf(out, len, "%s", o->output);
    char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash))
        *dot = '\0';
    strncat(out, ".csv", len - strlen(out) - 1);
}

static int pca_check_options(const Options *o)
{
    const char *bad = o->top < 2 || o->top > 10000000   ? "top"
                      : o->components < 1               ? "components"
                      : o->show < 0 || o->show > 100000 ? "show"
                                                        : NULL;
    if (bad) {
        const int64_t v = !strcmp(bad, "top")    ? o->top
                          : !strcmp(bad, "show") ? o->show
                                                 : o->components;
        log_error("option --%s: %lld is out of range (--top >= 2, --components >= 1, --show "
                  ">= 0)",
                  bad, (long long)v);
        return STATUS_USAGE;
    }
    return STATUS_OK;
}

/* Collective: fits the PCA of the n selected items on rank 0, writes both files and
 * prints the summary. Returns the agreed status. */
static int pca_run(const UseModel *u, const Options *o, const int32_t *sel, const int64_t *counts,
                   size_t n, size_t n_rated, const Ctx *ctx)
{
    Status st;
    status_clear(&st);
    float *x = gather_rows(&u->in, sel, n, ctx);
    Pca p;
    memset(&p, 0, sizeof p);
    if (ctx->rank == 0 && pca_fit(&p, x, n, u->mf.spec.k, (size_t)o->components))
        status_set(&st, STATUS_DATA, "pca: the eigensolver (LAPACKE_dsyevd) failed");
    char csv[4096];
    csv_path(csv, sizeof csv, o);
    if (ctx->rank == 0 && !st.code)
        write_pca_csv(csv, u, &p, sel, counts, &st);
    if (!status_agree(&st, ctx->comm))
        write_pca_h5(o->output, u, &p, sel, counts, n, (size_t)o->components, ctx, &st);
    if (st.code) {
        log_error("%s", st.msg);
    } else if (ctx->rank == 0) {
        print_pca(u, &p, sel, (size_t)o->show, n_rated);
        log_info("wrote %s and %s\n", o->output, csv);
    }
    pca_free(&p);
    free(x);
    return st.code;
}

int cmd_pca(const Ctx *ctx, Options *o)
{
    if (pca_check_options(o))
        return STATUS_USAGE;
    UseModel u;
    int rc = cli_open_model(&u, ctx, o, 1);
    if (!rc && (size_t)o->components > u.mf.spec.k) {
        log_error("option --components: %lld is more than the model's %zu factors",
                  (long long)o->components, u.mf.spec.k);
        rc = STATUS_USAGE;
    }
    int32_t *sel = NULL;
    int64_t *counts = NULL;
    size_t n_rated = 0, n = rc ? 0 : pca_select(&sel, &counts, &n_rated, &u, (size_t)o->top);
    if (!rc && n < 2) {
        log_error("pca needs at least 2 rated items; the training data has %zu", n);
        rc = STATUS_DATA;
    }
    if (!rc)
        rc = pca_run(&u, o, sel, counts, n, n_rated, ctx);
    free(sel);
    free(counts);
    usemodel_free(&u);
    return rc;
}
