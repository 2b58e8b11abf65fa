/* test_gradcheck.c - model_backward against central finite differences.
 *
 * For every model (DotProduct, DotProduct with y_range, DotProductBias) and every
 * table, on small random problems, the float gradients of model_forward / model_mse /
 * model_backward (item gradients scattered per rating, as one rank does) are compared
 * with central differences of the batch-mean squared error re-implemented here in
 * double. Doing the differences in double makes them exact to ~1e-10, so the check
 * measures only the float rounding of the analytic gradient.
 *
 * Also checked: the forward agrees with the double re-implementation (so the two
 * describe the same function), rows no rating touches get exactly zero gradient, and a
 * batch split in two parts with denom = the whole batch size (as two ranks hold it)
 * gives bit-identical gradients to the whole batch, since users accumulate in rating
 * order. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/model/model.h"
#include "../test.h"

/* Problem sizes are small on purpose: every parameter is perturbed twice. */
typedef struct Problem {
    ModelSpec spec;
    size_t n_users, n_items, k, n;
    int32_t *urow, *item; /* (n) */
    float *y;             /* (n) */
} Problem;

/* ---------------------------------------------------------------- double reference */

/* Tables in double, perturbed one element at a time. */
typedef struct Tables {
    double *uf, *ub, *if_, *ib; /* (n_users,k) (n_users) (n_items,k) (n_items) */
} Tables;

static double ref_pred(const Problem *p, const Tables *t, size_t j, double *z_out)
{
    size_t k = p->k, u = (size_t)p->urow[j], i = (size_t)p->item[j];
    double z = 0;
    for (size_t c = 0; c < k; c++)
        z += t->uf[u * k + c] * t->if_[i * k + c];
    if (p->spec.kind == MODEL_DOTBIAS)
        z += t->ub[u] + t->ib[i];
    if (z_out)
        *z_out = z;
    if (!p->spec.has_range)
        return z;
    double lo = p->spec.y_lo, hi = p->spec.y_hi;
    return 1.0 / (1.0 + exp(-z)) * (hi - lo) + lo;
}

/* Batch-mean squared error in double. */
static double ref_loss(const Problem *p, const Tables *t)
{
    double s = 0;
    for (size_t j = 0; j < p->n; j++) {
        double d = ref_pred(p, t, j, NULL) - p->y[j];
        s += d * d;
    }
    return s / (double)p->n;
}

/* ---------------------------------------------------------------- our kernels */

/* Forward, MSE over [j0, j1) with denominator p->n, backward; item gradients are
 * scattered into m's item gradient tables in rating order. Returns the sum of squares. */
static double run_part(Model *m, const Problem *p, size_t j0, size_t j1, float *pred, float *z)
{
    size_t n = j1 - j0, k = p->k;
    int bias = p->spec.kind == MODEL_DOTBIAS;
    float *irows = test_alloc(n * k * sizeof(float)), *g_irows = test_alloc(n * k * sizeof(float));
    float *ibias = test_alloc(n * sizeof(float)), *g_ibias = test_alloc(n * sizeof(float));
    float *dpred = test_alloc(n * sizeof(float));
    for (size_t j = 0; j < n; j++) {
        size_t i = (size_t)p->item[j0 + j];
        memcpy(irows + j * k, m->item_f + i * k, k * sizeof(float));
        ibias[j] = bias ? m->item_b[i] : 0.0f;
    }
    model_forward(pred + j0, z + j0, m, p->urow + j0, irows, bias ? ibias : NULL, n);
    double sse = model_mse(dpred, pred + j0, p->y + j0, n, (double)p->n);
    model_backward(m, g_irows, bias ? g_ibias : NULL, dpred, pred + j0, z + j0, p->urow + j0, irows,
                   n);
    for (size_t j = 0; j < n; j++) {
        size_t i = (size_t)p->item[j0 + j];
        for (size_t c = 0; c < k; c++)
            m->g_item_f[i * k + c] += g_irows[j * k + c];
        if (bias)
            m->g_item_b[i] += g_ibias[j];
    }
    free(irows);
    free(g_irows);
    free(ibias);
    free(g_ibias);
    free(dpred);
    return sse;
}

/* ---------------------------------------------------------------- the check */

/* Random problem: parameters uniform in (-scale, scale), ratings 1..5; the last user
 * and the last item are never rated; the batch repeats users and items. */
static void problem_make(Problem *p, Model *m, ModelKind kind, int has_range, size_t k, size_t n,
                         uint64_t seed)
{
    uint64_t s = seed;
    p->spec = (ModelSpec){kind, k, has_range, 0.0f, 5.5f};
    p->n_users = 5;
    p->n_items = 6;
    p->k = k;
    p->n = n;
    p->urow = test_alloc(n * sizeof *p->urow);
    p->item = test_alloc(n * sizeof *p->item);
    p->y = test_alloc(n * sizeof *p->y);
    for (size_t j = 0; j < n; j++) {
        p->urow[j] = (int32_t)(test_rand_next(&s) % (p->n_users - 1));
        p->item[j] = (int32_t)(test_rand_next(&s) % (p->n_items - 1));
        p->y[j] = (float)(1 + test_rand_next(&s) % 5);
    }
    model_init(m, &p->spec, p->n_users, p->n_items);
    /* Factors of size ~1/sqrt(k) keep z = O(1): the sigmoid is neither linear nor flat. */
    double scale = 1.5 / sqrt((double)k);
    for (size_t q = 0; q < m->n_params; q++)
        m->params[q] = (float)((2 * test_rand_unit(&s) - 1) * scale);
}

static void problem_free(Problem *p)
{
    free(p->urow);
    free(p->item);
    free(p->y);
}

/* Compares one table's analytic gradient with central differences. Returns the largest
 * |analytic - numeric| / (gradient scale of the table). */
static double check_table(const char *what, const Problem *p, Tables *t, double *tab,
                          const float *g, size_t len)
{
    const double h = 1e-5; /* truncation ~h^2 = 1e-10, cancellation ~1e-16/h = 1e-11 */
    double *fd = test_alloc(len * sizeof *fd), gmax = 0, worst = 0;
    for (size_t q = 0; q < len; q++) {
        double x = tab[q];
        tab[q] = x + h;
        double lp = ref_loss(p, t);
        tab[q] = x - h;
        double lm = ref_loss(p, t);
        tab[q] = x;
        fd[q] = (lp - lm) / (2 * h);
        if (fabs(fd[q]) > gmax)
            gmax = fabs(fd[q]);
    }
    /* Float gradients carry ~6e-8 relative rounding per operation, so each element must
     * agree to 2e-5 of itself plus 2e-6 of the table's largest gradient (an element that
     * sums terms which cancel is only as exact as the terms; measured worst: 4e-7 of the
     * largest gradient, so 5x margin). A 1e-4 relative error in any gradient fails.
     * Untouched rows must be exactly zero. */
    int bad = 0;
    for (size_t q = 0; q < len; q++) {
        double d = fabs((double)g[q] - fd[q]);
        int ok = fd[q] == 0.0 ? g[q] == 0.0f : d <= 2e-5 * fabs(fd[q]) + 2e-6 * gmax;
        if (!ok && bad++ < 4)
            fprintf(stderr, "  %s[%zu]: analytic %.9g, numeric %.9g\n", what, q, (double)g[q],
                    fd[q]);
        if (gmax > 0 && d / gmax > worst)
            worst = d / gmax;
    }
    test_checks++;
    if (bad) {
        test_failures++;
        fprintf(stderr, "FAIL %s:%d: %s: %d of %zu gradients differ from finite differences\n",
                __FILE__, __LINE__, what, bad, len);
    }
    TEST_CHECK(gmax > 0); /* the problem exercises this table */
    free(fd);
    return worst;
}

static void gradcheck(const char *label, ModelKind kind, int has_range, size_t k, size_t n,
                      uint64_t seed)
{
    Problem p;
    Model m = {0};
    problem_make(&p, &m, kind, has_range, k, n, seed);
    float *pred = test_alloc(n * sizeof *pred), *z = test_alloc(n * sizeof *z);
    double sse = run_part(&m, &p, 0, n, pred, z);

    /* the double reference of the same tables */
    Tables t;
    size_t nu = p.n_users, ni = p.n_items;
    t.uf = test_alloc(nu * k * sizeof(double));
    t.if_ = test_alloc(ni * k * sizeof(double));
    t.ub = test_alloc(nu * sizeof(double));
    t.ib = test_alloc(ni * sizeof(double));
    for (size_t q = 0; q < nu * k; q++)
        t.uf[q] = m.user_f[q];
    for (size_t q = 0; q < ni * k; q++)
        t.if_[q] = m.item_f[q];
    for (size_t q = 0; kind == MODEL_DOTBIAS && q < nu; q++)
        t.ub[q] = m.user_b[q];
    for (size_t q = 0; kind == MODEL_DOTBIAS && q < ni; q++)
        t.ib[q] = m.item_b[q];

    /* forward and loss agree with the reference (float rounding only) */
    for (size_t j = 0; j < n; j++) {
        double zr;
        double pr = ref_pred(&p, &t, j, &zr);
        TEST_CLOSE(pred[j], pr, 1e-5, 1e-6);
        TEST_CLOSE(z[j], zr, 1e-5, 1e-6);
    }
    TEST_CLOSE(sse / (double)n, ref_loss(&p, &t), 1e-5, 0);

    char what[96];
    double w = 0;
    snprintf(what, sizeof what, "%s user_f", label);
    w = fmax(w, check_table(what, &p, &t, t.uf, m.g_user_f, nu * k));
    snprintf(what, sizeof what, "%s item_f", label);
    w = fmax(w, check_table(what, &p, &t, t.if_, m.g_item_f, ni * k));
    if (kind == MODEL_DOTBIAS) {
        snprintf(what, sizeof what, "%s user_b", label);
        w = fmax(w, check_table(what, &p, &t, t.ub, m.g_user_b, nu));
        snprintf(what, sizeof what, "%s item_b", label);
        w = fmax(w, check_table(what, &p, &t, t.ib, m.g_item_b, ni));
    }

    /* the same batch in two parts, denominators the whole batch: bit-identical */
    float *whole = test_alloc(m.n_params * sizeof(float));
    memcpy(whole, m.grads, m.n_params * sizeof(float));
    memset(m.grads, 0, m.n_params * sizeof(float));
    size_t cut = n / 3;
    double sse2 = run_part(&m, &p, 0, cut, pred, z) + run_part(&m, &p, cut, n, pred, z);
    TEST_CLOSE(sse2, sse, 1e-12, 0);
    TEST_CHECK(memcmp(whole, m.grads, m.n_params * sizeof(float)) == 0);
    printf("  %-28s max |analytic - numeric| / max|g| = %.2g\n", label, w);

    free(whole);
    free(t.uf);
    free(t.if_);
    free(t.ub);
    free(t.ib);
    free(pred);
    free(z);
    model_free(&m);
    problem_free(&p);
}

int main(void)
{
    static const struct {
        const char *name;
        ModelKind kind;
        int has_range;
    } models[3] = {
        {"dot", MODEL_DOT, 0}, {"dot_range", MODEL_DOT, 1}, {"dotbias", MODEL_DOTBIAS, 1}};
    /* k = 1, 3, 8, 17: scalar, short, one vector, vector plus tail */
    static const size_t ks[4] = {1, 3, 8, 17};
    uint64_t seed = 12345;
    for (int mi = 0; mi < 3; mi++)
        for (int ki = 0; ki < 4; ki++)
            for (size_t n = 9; n <= 23; n += 14) {
                char label[64];
                snprintf(label, sizeof label, "%s k=%zu n=%zu", models[mi].name, ks[ki], n);
                gradcheck(label, models[mi].kind, models[mi].has_range, ks[ki], n, seed++);
            }
    return test_done("test_gradcheck");
}
