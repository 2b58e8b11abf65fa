/* test_reference.c - checks the model kernels, the optimizers and the schedules against
 * fixtures that tests/ref/gen_fixtures.py computes with a plain-PyTorch replica of
 * fastai (chapter 8 of fastbook): forward, MSE loss and dense gradients of one batch,
 * one Adam step, and 20 steps of fit_one_cycle with Adam and with SGD, for DotProduct,
 * DotProduct with y_range and DotProductBias; then one-cycle lr/mom values, the
 * smoothed loss and the lr_find suggestions; and the EmbeddingNN head with and without
 * BatchNorm against torch's modules (tests/ref/gen_nn_fixture.py).
 *
 * Fixtures are read from $top_srcdir/tests/fixtures (make check sets top_srcdir), or
 * from ./tests/fixtures when it is unset. Format: '#' comment lines, and blocks
 * "@NAME ROWS COLS" followed by ROWS*COLS numbers.
 *
 * The model is driven the way one rank of the trainer drives it: item rows are gathered
 * per rating, and the per-rating item gradients are scattered back into the item table
 * in rating order (what src/exchange.c does at one rank).
 *
 * Tolerances (|got - want| <= atol + rtol |want|) are stated next to each check. Both
 * sides compute in float32 but in different operation orders (torch vectorises the
 * reductions and may fuse multiply-adds; we do not), so the yardstick is the rounding
 * noise the generator measures and records in each model fixture: the distance between
 * its float32 run and a float64 run of the same computation. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/model/model.h"
#include "collab/model/nn.h"
#include "collab/model/optim.h"
#include "collab/model/schedule.h"
#include "../test.h"

/* ============================================================================ fixtures */

typedef struct Block {
    char name[64];
    size_t rows, cols;
    double *v; /* (rows, cols) */
} Block;

typedef struct Fixture {
    char path[1024];
    size_t n;
    Block *blocks; /* (n) */
} Fixture;

/* A broken or missing fixture ends the test: every later check would be meaningless. */
static void fixture_die(const Fixture *fx, const char *what)
{
    fprintf(stderr,
            "FAIL %s: %s (regenerate with: /usr/bin/python3 tests/ref/gen_fixtures.py "
            "tests/fixtures)\n",
            fx->path, what);
    exit(1);
}

static char *slurp(const Fixture *fx)
{
    FILE *f = fopen(fx->path, "rb");
    if (!f)
        fixture_die(fx, "cannot open");
    size_t cap = 1 << 16, len = 0;
    char *buf = test_alloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                fixture_die(fx, "out of memory");
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Reads tests/fixtures/NAME below $top_srcdir into fx. */
static void fixture_load(Fixture *fx, const char *name)
{
    const char *top = getenv("top_srcdir");
    snprintf(fx->path, sizeof fx->path, "%s/tests/fixtures/%s", top && *top ? top : ".", name);
    fx->n = 0;
    fx->blocks = NULL;
    char *buf = slurp(fx), *s = buf;
    size_t cap = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (*s == '\0')
            break;
        if (*s == '#') {
            while (*s && *s != '\n')
                s++;
            continue;
        }
        if (*s != '@')
            fixture_die(fx, "expected '@NAME ROWS COLS' or a '#' comment");
        if (fx->n == cap) {
            cap = cap ? 2 * cap : 32;
            fx->blocks = realloc(fx->blocks, cap * sizeof *fx->blocks);
            if (!fx->blocks)
                fixture_die(fx, "out of memory");
        }
        Block *b = &fx->blocks[fx->n++];
        size_t len = strcspn(++s, " \t");
        if (len == 0 || len >= sizeof b->name)
            fixture_die(fx, "bad block name");
        memcpy(b->name, s, len);
        b->name[len] = '\0';
        char *end;
        b->rows = strtoul(s + len, &end, 10);
        b->cols = strtoul(end, &end, 10);
        s = end;
        b->v = test_alloc(b->rows * b->cols * sizeof *b->v);
        for (size_t q = 0; q < b->rows * b->cols; q++) {
            b->v[q] = strtod(s, &end); /* accepts "nan" */
            if (end == s)
                fixture_die(fx, b->name);
            s = end;
        }
    }
    free(buf);
}

static void fixture_free(Fixture *fx)
{
    for (size_t q = 0; q < fx->n; q++)
        free(fx->blocks[q].v);
    free(fx->blocks);
    fx->blocks = NULL;
    fx->n = 0;
}

/* The block NAME, which must have the given shape. */
static const double *fixture_get(const Fixture *fx, const char *name, size_t rows, size_t cols)
{
    for (size_t q = 0; q < fx->n; q++) {
        const Block *b = &fx->blocks[q];
        if (strcmp(b->name, name) != 0)
            continue;
        if (b->rows != rows || b->cols != cols) {
            char msg[256];
            snprintf(msg, sizeof msg, "block %s is %zu x %zu, expected %zu x %zu", name, b->rows,
                     b->cols, rows, cols);
            fixture_die(fx, msg);
        }
        return b->v;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "no block %s", name);
    fixture_die(fx, msg);
    return NULL;
}

static const Block *fixture_block(const Fixture *fx, const char *name)
{
    for (size_t q = 0; q < fx->n; q++)
        if (strcmp(fx->blocks[q].name, name) == 0)
            return &fx->blocks[q];
    fixture_die(fx, name);
    return NULL;
}

/* ============================================================================ checks */

/* One check per array: |got[q] - want[q]| <= atol + rtol |want[q]| for every q. Prints
 * the largest deviation either way (so the log shows how much margin is left) and the
 * first few failing elements. */
static void check_array(const char *what, const float *got, const double *want, size_t n,
                        double rtol, double atol)
{
    double worst = 0, worst_ratio = 0;
    int bad = 0;
    for (size_t q = 0; q < n; q++) {
        double d = fabs((double)got[q] - want[q]);
        double tol = atol + rtol * fabs(want[q]);
        if (!(d <= tol)) {
            if (bad < 4)
                fprintf(stderr, "  %s[%zu] = %.9g, expected %.9g (|diff| %.3g > %.3g)\n", what, q,
                        (double)got[q], want[q], d, tol);
            bad++;
        }
        if (d > worst)
            worst = d;
        if (d / tol > worst_ratio)
            worst_ratio = d / tol;
    }
    test_checks++;
    if (bad) {
        test_failures++;
        fprintf(stderr, "FAIL %s:%d: %s: %d of %zu elements outside rtol %.1g atol %.1g\n",
                __FILE__, __LINE__, what, bad, n, rtol, atol);
    }
    printf("  %-22s max|diff| %-9.3g (%.2f of tolerance, rtol %.0e atol %.0e)\n", what, worst,
           worst_ratio, rtol, atol);
}

/* ============================================================================ model cases */

typedef struct Case {
    Fixture fx;
    const char *name;
    ModelSpec spec;
    size_t n_users, n_items, k, n_ratings, bs, n_steps;
    int32_t *ru, *ri; /* (n_ratings) user and item of each rating */
    float *ry;        /* (n_ratings) */
    int32_t *steps;   /* (n_steps, bs) rating indices of each training step */
} Case;

/* Per-batch buffers, gathered as one rank sees them. */
typedef struct Batch {
    size_t n, k;
    int32_t *urow, *item;    /* (n) */
    float *y;                /* (n) */
    float *irows, *g_irows;  /* (n, k) */
    float *ibias, *g_ibias;  /* (n) */
    float *pred, *z, *dpred; /* (n) */
} Batch;

static void case_load(Case *c, const char *file, const char *name)
{
    fixture_load(&c->fx, file);
    c->name = name;
    const double *sz = fixture_get(&c->fx, "sizes", 1, 6);
    c->n_users = (size_t)sz[0];
    c->n_items = (size_t)sz[1];
    c->k = (size_t)sz[2];
    c->n_ratings = (size_t)sz[3];
    c->bs = (size_t)sz[4];
    c->n_steps = (size_t)sz[5];
    const double *yr = fixture_get(&c->fx, "y_range", 1, 2);
    c->spec.kind = fixture_get(&c->fx, "kind", 1, 1)[0] ? MODEL_DOTBIAS : MODEL_DOT;
    c->spec.k = c->k;
    c->spec.has_range = (int)fixture_get(&c->fx, "has_range", 1, 1)[0];
    c->spec.y_lo = (float)yr[0];
    c->spec.y_hi = (float)yr[1];
    const double *u = fixture_get(&c->fx, "rating_user", 1, c->n_ratings);
    const double *i = fixture_get(&c->fx, "rating_item", 1, c->n_ratings);
    const double *y = fixture_get(&c->fx, "rating_y", 1, c->n_ratings);
    c->ru = test_alloc(c->n_ratings * sizeof *c->ru);
    c->ri = test_alloc(c->n_ratings * sizeof *c->ri);
    c->ry = test_alloc(c->n_ratings * sizeof *c->ry);
    for (size_t j = 0; j < c->n_ratings; j++) {
        c->ru[j] = (int32_t)u[j];
        c->ri[j] = (int32_t)i[j];
        c->ry[j] = (float)y[j];
    }
    const double *st = fixture_get(&c->fx, "steps", c->n_steps, c->bs);
    c->steps = test_alloc(c->n_steps * c->bs * sizeof *c->steps);
    for (size_t q = 0; q < c->n_steps * c->bs; q++)
        c->steps[q] = (int32_t)st[q];
}

static void case_free(Case *c)
{
    free(c->ru);
    free(c->ri);
    free(c->ry);
    free(c->steps);
    fixture_free(&c->fx);
}

static void batch_init(Batch *b, size_t n, size_t k)
{
    b->n = n;
    b->k = k;
    b->urow = test_alloc(n * sizeof *b->urow);
    b->item = test_alloc(n * sizeof *b->item);
    b->y = test_alloc(n * sizeof *b->y);
    b->irows = test_alloc(n * k * sizeof *b->irows);
    b->g_irows = test_alloc(n * k * sizeof *b->g_irows);
    b->ibias = test_alloc(n * sizeof *b->ibias);
    b->g_ibias = test_alloc(n * sizeof *b->g_ibias);
    b->pred = test_alloc(n * sizeof *b->pred);
    b->z = test_alloc(n * sizeof *b->z);
    b->dpred = test_alloc(n * sizeof *b->dpred);
}

static void batch_free(Batch *b)
{
    free(b->urow);
    free(b->item);
    free(b->y);
    free(b->irows);
    free(b->g_irows);
    free(b->ibias);
    free(b->g_ibias);
    free(b->pred);
    free(b->z);
    free(b->dpred);
}

/* Copies the fixture tables PREFIX_user_f, ... into m. */
static void model_load(Model *m, const Case *c, const char *prefix)
{
    char name[64];
    snprintf(name, sizeof name, "%s_user_f", prefix);
    const double *v = fixture_get(&c->fx, name, c->n_users, c->k);
    for (size_t q = 0; q < c->n_users * c->k; q++)
        m->user_f[q] = (float)v[q];
    snprintf(name, sizeof name, "%s_item_f", prefix);
    v = fixture_get(&c->fx, name, c->n_items, c->k);
    for (size_t q = 0; q < c->n_items * c->k; q++)
        m->item_f[q] = (float)v[q];
    if (c->spec.kind == MODEL_DOTBIAS) {
        snprintf(name, sizeof name, "%s_user_b", prefix);
        v = fixture_get(&c->fx, name, c->n_users, 1);
        for (size_t q = 0; q < c->n_users; q++)
            m->user_b[q] = (float)v[q];
        snprintf(name, sizeof name, "%s_item_b", prefix);
        v = fixture_get(&c->fx, name, c->n_items, 1);
        for (size_t q = 0; q < c->n_items; q++)
            m->item_b[q] = (float)v[q];
    }
}

/* Compares the four tables of m (or the two of MODEL_DOT) with PREFIX_user_f, ... */
static void check_tables(const float *user_f, const float *user_b, const float *item_f,
                         const float *item_b, const Case *c, const char *prefix, double rtol,
                         double atol)
{
    static const char *tabs[4] = {"user_f", "user_b", "item_f", "item_b"};
    const float *got[4] = {user_f, user_b, item_f, item_b};
    size_t rows[4] = {c->n_users, c->n_users, c->n_items, c->n_items};
    size_t cols[4] = {c->k, 1, c->k, 1};
    for (int t = 0; t < 4; t++) {
        if (c->spec.kind == MODEL_DOT && (t == 1 || t == 3))
            continue;
        char name[64], what[96];
        snprintf(name, sizeof name, "%s_%s", prefix, tabs[t]);
        snprintf(what, sizeof what, "%s %s", c->name, name);
        check_array(what, got[t], fixture_get(&c->fx, name, rows[t], cols[t]), rows[t] * cols[t],
                    rtol, atol);
    }
}

/* Gathers the ratings idx[0..n) of the case into b, with the item rows of m. */
static void batch_gather(Batch *b, const Model *m, const Case *c, const int32_t *idx)
{
    size_t k = b->k;
    for (size_t j = 0; j < b->n; j++) {
        int32_t r = idx[j];
        b->urow[j] = c->ru[r];
        b->item[j] = c->ri[r];
        b->y[j] = c->ry[r];
        memcpy(b->irows + j * k, m->item_f + (size_t)b->item[j] * k, k * sizeof(float));
        b->ibias[j] = m->item_b ? m->item_b[b->item[j]] : 0.0f;
    }
}

/* Forward, loss and backward for one gathered batch; item gradients are scattered into
 * m's item tables in rating order. Returns the batch's mean squared error. */
static double batch_grads(Model *m, Batch *b)
{
    int bias = m->spec.kind == MODEL_DOTBIAS;
    size_t n = b->n, k = b->k;
    model_forward(b->pred, b->z, m, b->urow, b->irows, bias ? b->ibias : NULL, n);
    double sse = model_mse(b->dpred, b->pred, b->y, n, (double)n);
    model_backward(m, b->g_irows, bias ? b->g_ibias : NULL, b->dpred, b->pred, b->z, b->urow,
                   b->irows, n);
    for (size_t j = 0; j < n; j++) {
        float *row = m->g_item_f + (size_t)b->item[j] * k;
        for (size_t q = 0; q < k; q++)
            row[q] += b->g_irows[j * k + q];
        if (bias)
            m->g_item_b[b->item[j]] += b->g_ibias[j];
    }
    return sse / (double)n;
}

/* Forward, loss and dense gradients of batch 0, then one fresh Adam step. */
static void case_one_batch(const Case *c)
{
    Model m = {0};
    Batch b;
    model_init(&m, &c->spec, c->n_users, c->n_items);
    model_load(&m, c, "init");
    batch_init(&b, c->bs, c->k);
    batch_gather(&b, &m, c, c->steps);
    double loss = batch_grads(&m, &b);

    char what[96];
    /* z and pred: a length-5 dot product (plus biases) and a sigmoid; only the
     * summation order and expf against torch's vectorised exp differ, a few ulps
     * (measured: pred equal to the printed digits, z within 1e-11). z of the tiny
     * initial tables is ~1e-4 with cancellation, hence its absolute floor of 1e-10
     * (the generator's float32-vs-float64 noise on z: <= 1e-10). rtol 1e-6 is ~8 ulps. */
    snprintf(what, sizeof what, "%s z", c->name);
    check_array(what, b.z, fixture_get(&c->fx, "z", 1, c->bs), c->bs, 1e-6, 1e-10);
    snprintf(what, sizeof what, "%s pred", c->name);
    check_array(what, b.pred, fixture_get(&c->fx, "pred", 1, c->bs), c->bs, 1e-6, 1e-10);
    /* Our loss sums in double, torch in float32: 1e-6 relative covers torch's rounding. */
    TEST_CLOSE(loss, fixture_get(&c->fx, "loss", 1, 1)[0], 1e-6, 0);

    /* Gradients: a few float32 operations per element plus an accumulation over at most
     * 8 ratings (measured: within 1e-9 relative, i.e. equal but for summation order).
     * rtol 2e-6 is ~16 ulps; atol 1e-10 covers elements whose terms cancel to ~0. */
    check_tables(m.g_user_f, m.g_user_b, m.g_item_f, m.g_item_b, c, "grad", 2e-6, 1e-10);

    /* One fresh fastai-Adam step. The first step moves each parameter by about
     * lr * g/(|g| + eps) ~ lr: values of ~0.06 whose float32 ulp is 3.7e-9. Torch fuses
     * the moment updates into FMAs, we do not, so a couple of ulps differ (measured:
     * <= 7.5e-9). atol 5e-8 allows ~12 ulps (the generator's f32-vs-f64 noise: <= 1e-8);
     * a wrong debias or eps placement moves the result by 1e-4 or more. */
    const double *a1 = fixture_get(&c->fx, "adam1", 1, 5);
    OptimConfig cfg = {OPTIM_ADAM, a1[2], a1[3], a1[4]};
    Optim o;
    optim_init(&o, &cfg, m.n_params);
    optim_step(&o, m.params, m.grads, a1[0], a1[1]);
    check_tables(m.user_f, m.user_b, m.item_f, m.item_b, c, "adam1", 0, 5e-8);
    TEST_CHECK(o.step == 1);

    optim_free(&o);
    batch_free(&b);
    model_free(&m);
}

/* 20 steps of fit_one_cycle from the initial tables with Adam or SGD. */
static void case_fit(const Case *c, OptimKind kind)
{
    const char *tag = kind == OPTIM_ADAM ? "adam20" : "sgd20";
    const double *cyc = fixture_get(&c->fx, "cycle", 1, 6);
    const double *hp = fixture_get(&c->fx, kind == OPTIM_ADAM ? "cycle_adam" : "cycle_sgd", 1, 2);
    Schedule s = {SCHED_ONE_CYCLE,    hp[0], cyc[0], cyc[1], cyc[2], {cyc[3], cyc[4], cyc[5]},
                  (int64_t)c->n_steps};
    OptimConfig cfg = {kind, hp[1], 0.99, 1e-5};
    Model m = {0};
    Batch b;
    Optim o;
    model_init(&m, &c->spec, c->n_users, c->n_items);
    model_load(&m, c, "init");
    batch_init(&b, c->bs, c->k);
    optim_init(&o, &cfg, m.n_params);

    float *losses = test_alloc(c->n_steps * sizeof *losses);
    for (size_t it = 0; it < c->n_steps; it++) {
        double lr, mom;
        schedule_at(&s, (int64_t)it, &lr, &mom);
        batch_gather(&b, &m, c, c->steps + it * c->bs);
        losses[it] = (float)batch_grads(&m, &b);
        optim_step(&o, m.params, m.grads, lr, mom);
        memset(m.grads, 0, m.n_params * sizeof(float)); /* zero_grad */
    }
    /* After 20 steps the float32 rounding differences of each step have been carried
     * through the nonlinear updates: the generator's f32-vs-f64 distance grows to <= 9e-7
     * on tables of magnitude <= 2.6, and ours lands within 5e-7 of torch. atol 4e-6
     * plus rtol 4e-6 leaves 4x margin over that noise (libm's expf and pow may differ
     * by an ulp elsewhere); a wrong formula (a missing debias, coupled wd, unscheduled
     * mom, a batch off by one) moves parameters by 1e-4 or more. The per-step losses
     * (float32 in the fixture, ~1 ulp apart: rtol 1e-6) locate a divergence. */
    char what[96];
    snprintf(what, sizeof what, "%s %s_loss", c->name, tag);
    char name[64];
    snprintf(name, sizeof name, "%s_loss", tag);
    check_array(what, losses, fixture_get(&c->fx, name, 1, c->n_steps), c->n_steps, 1e-6, 1e-7);
    check_tables(m.user_f, m.user_b, m.item_f, m.item_b, c, tag, 4e-6, 4e-6);
    TEST_CHECK(o.step == (int64_t)c->n_steps);

    free(losses);
    optim_free(&o);
    batch_free(&b);
    model_free(&m);
}

static void test_model_case(const char *file, const char *name)
{
    Case c;
    printf("%s (%s)\n", name, file);
    case_load(&c, file, name);
    case_one_batch(&c);
    case_fit(&c, OPTIM_ADAM);
    case_fit(&c, OPTIM_SGD);
    case_free(&c);
}

/* ============================================================================ schedules */

/* One-cycle lr and mom: the same double formula on both sides; rtol 1e-12 allows for a
 * different cos/pow rounding in the last bits. */
static void test_onecycle(const Fixture *fx, const char *tag)
{
    char name[64];
    snprintf(name, sizeof name, "%s_params", tag);
    const double *p = fixture_get(fx, name, 1, 8);
    Schedule s = {SCHED_ONE_CYCLE, p[0], p[1], p[2], p[3], {p[4], p[5], p[6]}, (int64_t)p[7]};
    const Block *b = fixture_block(fx, tag);
    TEST_CHECK(b->cols == 3);
    for (size_t r = 0; r < b->rows; r++) {
        const double *row = b->v + r * 3;
        double lr = NAN, mom = NAN;
        schedule_at(&s, (int64_t)row[0], &lr, &mom);
        TEST_CLOSE(lr, row[1], 1e-12, 0);
        TEST_CLOSE(mom, row[2], 1e-12, 0);
    }
    printf("  %s: %zu iterations\n", tag, b->rows);
}

/* AvgSmoothLoss in double on both sides, same operation order: 1e-13 relative. */
static void test_smooth(const Fixture *fx)
{
    const Block *b = fixture_block(fx, "smooth");
    SmoothLoss s;
    smooth_init(&s, 0.98);
    for (size_t r = 0; r < b->rows; r++) {
        smooth_add(&s, b->v[2 * r]);
        TEST_CLOSE(smooth_value(&s), b->v[2 * r + 1], 1e-13, 0);
    }
    printf("  smooth: %zu losses\n", b->rows);
}

/* lr_find sweep values and the three suggestions: the index must match exactly, the lr
 * is then lrs[idx] (or lrs[idx]/10), so 1e-15 relative. */
static void test_lrfind(const Fixture *fx, const char *tag)
{
    char name[64];
    snprintf(name, sizeof name, "%s_meta", tag);
    const double *meta = fixture_get(fx, name, 1, 2);
    int64_t num_it = (int64_t)meta[0];
    size_t n = (size_t)meta[1];
    snprintf(name, sizeof name, "%s_lrs", tag);
    const double *lrs = fixture_get(fx, name, 1, n);
    snprintf(name, sizeof name, "%s_losses", tag);
    const double *losses = fixture_get(fx, name, 1, n);
    snprintf(name, sizeof name, "%s_suggest", tag);
    const double *sug = fixture_get(fx, name, 3, 2);

    for (size_t t = 0; t < n; t++)
        TEST_CLOSE(lrfind_lr(1e-7, 10, (int64_t)t, num_it), lrs[t], 1e-13, 0);
    static const LrSuggest which[3] = {SUGGEST_VALLEY, SUGGEST_MINIMUM, SUGGEST_STEEP};
    static const char *names[3] = {"valley", "minimum", "steep"};
    for (int w = 0; w < 3; w++) {
        size_t idx = (size_t)-1;
        double lr = lrfind_suggest(which[w], lrs, losses, n, num_it, &idx);
        if (idx != (size_t)sug[2 * w + 1] || !(fabs(lr - sug[2 * w]) <= 1e-15 * sug[2 * w]))
            fprintf(stderr, "  %s %s: lr %.17g idx %zu, expected lr %.17g idx %zu\n", tag, names[w],
                    lr, idx, sug[2 * w], (size_t)sug[2 * w + 1]);
        TEST_CHECK(idx == (size_t)sug[2 * w + 1]);
        TEST_CLOSE(lr, sug[2 * w], 1e-15, 0);
    }
    printf("  %s: num_it %lld, %zu points\n", tag, (long long)num_it, n);
}

static void test_schedules(void)
{
    Fixture fx;
    printf("schedules (schedule.txt)\n");
    fixture_load(&fx, "schedule.txt");
    test_onecycle(&fx, "onecycle_a");
    test_onecycle(&fx, "onecycle_b");
    test_smooth(&fx);
    test_lrfind(&fx, "curve_a");
    test_lrfind(&fx, "curve_b");
    test_lrfind(&fx, "curve_c");
    fixture_free(&fx);
}

/* ============================================================================ nn head */

/* |got[i] - want[i]| <= atol + rtol |want[i]| for n values; returns the worst relative. */
static void check_all(const char *what, const float *got, const double *want, size_t n, double rtol,
                      double atol)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !(fabs((double)got[i] - want[i]) <= atol + rtol * fabs(want[i]));
    if (bad)
        fprintf(stderr, "  %s: %d of %zu values off\n", what, bad, n);
    TEST_CHECK(bad == 0);
}

/* The EmbeddingNN head (layers 6, 4) against torch's modules (gen_nn_fixture.py):
 * training-mode forward, loss, every gradient, the running statistics after the step,
 * and the evaluation-mode forward. float32 on both sides in different operation orders:
 * rtol 1e-5 and atol 1e-6 (gradients 1e-5 absolute: they are differences of products). */
static void test_nn_case(const char *file, int use_bn)
{
    Fixture fx;
    fixture_load(&fx, file);
    enum { N_IN = 9, B = 10 };
    const size_t widths[2] = {6, 4};
    NNLayout L;
    nn_layout(&L, N_IN, widths, 2, use_bn);
    float *p = test_alloc(L.n_params * 4), *g = test_alloc(L.n_params * 4);
    float *stats = test_alloc((L.n_stats + 1) * 4);
    float x[B * N_IN], y[B], z[B], pred[B], dpred[B], dz[B], dx[B * N_IN];
    const double *xw = fixture_get(&fx, "x", B, N_IN), *yw = fixture_get(&fx, "y", B, 1);
    const double *pw = fixture_get(&fx, "params", L.n_params, 1);
    for (size_t i = 0; i < B * N_IN; i++)
        x[i] = (float)xw[i];
    for (size_t i = 0; i < B; i++)
        y[i] = (float)yw[i];
    for (size_t i = 0; i < L.n_params; i++)
        p[i] = (float)pw[i];
    nn_init(g, stats, &L, 1); /* running statistics from (0, 1); g is reset below */
    memset(g, 0, L.n_params * 4);
    NNWork w;
    nn_work_init(&w, &L, B);
    ModelSpec s = {.kind = MODEL_NN, .has_range = 1, .y_lo = 0.0f, .y_hi = 5.5f};
    nn_forward(z, &w, p, stats, x, B, 1, &L);
    model_squash(pred, z, &s, B);
    const double loss = model_mse(dpred, pred, y, B, (double)B) / B;
    model_squash_backward(dz, dpred, z, &s, B);
    nn_backward(g, dx, &w, p, x, dz, B, &L);
    check_all("z", z, fixture_get(&fx, "z", B, 1), B, 1e-5, 1e-6);
    TEST_CLOSE(loss, fixture_get(&fx, "loss", 1, 1)[0], 1e-5, 0);
    check_all("grad", g, fixture_get(&fx, "grad", L.n_params, 1), L.n_params, 1e-4, 1e-5);
    check_all("dx", dx, fixture_get(&fx, "dx", B, N_IN), B * N_IN, 1e-4, 1e-5);
    if (use_bn)
        check_all("stats", stats, fixture_get(&fx, "stats", L.n_stats, 1), L.n_stats, 1e-5, 1e-6);
    nn_forward(z, &w, p, stats, x, B, 0, &L);
    check_all("z_eval", z, fixture_get(&fx, "z_eval", B, 1), B, 1e-5, 1e-6);
    printf("  nn head (%s): forward, loss, gradients, running statistics and eval checked\n",
           use_bn ? "BatchNorm" : "no BatchNorm");
    nn_work_free(&w);
    free(p), free(g), free(stats);
    fixture_free(&fx);
}

int main(void)
{
    test_nn_case("model_nn_bn.txt", 1);
    test_nn_case("model_nn_nobn.txt", 0);
    test_model_case("model_dot.txt", "dot");
    test_model_case("model_dot_range.txt", "dot_range");
    test_model_case("model_dotbias.txt", "dotbias");
    test_schedules();
    return test_done("test_reference");
}
