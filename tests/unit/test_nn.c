/* test_nn.c - the EmbeddingNN head (nn.c) against a double re-implementation and
 * central finite differences.
 *
 * For heads with and without BatchNorm, one and two hidden layers, on small random
 * batches: the float forward (training mode: batch statistics) agrees with the double
 * one; the gradients nn_backward gives for the batch-mean squared error of
 * sigmoid_range(z) (model_squash, model_mse, model_squash_backward, as the trainer
 * chains them) agree with central differences of the double loss, for every parameter
 * and every input element; the running statistics move as PyTorch's BatchNorm1d moves
 * them (momentum 0.1, unbiased variance) and evaluation mode normalises with them. Also:
 * fastai's emb_sz_rule and the layout (weights first, undecayed tail). */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/model/model.h"
#include "collab/model/nn.h"
#include "../test.h"

/* ---------------------------------------------------------------- double reference */

typedef struct Ref {
    const NNLayout *L;
    size_t B;
    const double *y; /* (B) targets */
    double lo, hi;   /* sigmoid_range */
} Ref;

/* The head's z for every row, training-mode BatchNorm; optionally the batch means and
 * biased variances per layer (mv: 2 * width[l] per layer, in order). */
static void ref_forward(double *z, const Ref *r, const double *p, const double *x, double *mv)
{
    const NNLayout *L = r->L;
    const size_t B = r->B;
    double *cur = test_alloc(B * L->max_width * sizeof(double));
    double *nxt = test_alloc(B * L->max_width * sizeof(double));
    memcpy(cur, x, B * L->n_in * sizeof(double));
    size_t n = L->n_in;
    for (size_t l = 0; l < L->n_layers; l++) {
        const size_t o = L->width[l];
        for (size_t i = 0; i < B; i++)
            for (size_t j = 0; j < o; j++) {
                double a = L->use_bn ? 0.0 : p[L->beta[l] + j];
                for (size_t c = 0; c < n; c++)
                    a += cur[i * n + c] * p[L->w[l] + c * o + j];
                nxt[i * o + j] = a > 0 ? a : 0;
            }
        for (size_t j = 0; j < o && L->use_bn; j++) {
            double mu = 0, var = 0;
            for (size_t i = 0; i < B; i++)
                mu += nxt[i * o + j] / (double)B;
            for (size_t i = 0; i < B; i++)
                var += (nxt[i * o + j] - mu) * (nxt[i * o + j] - mu) / (double)B;
            for (size_t i = 0; i < B; i++)
                nxt[i * o + j] =
                    (nxt[i * o + j] - mu) / sqrt(var + NN_BN_EPS) * p[L->gamma[l] + j] +
                    p[L->beta[l] + j];
            if (mv) {
                *mv++ = mu;
                *mv++ = var;
            }
        }
        double *t = cur;
        cur = nxt, nxt = t, n = o;
    }
    for (size_t i = 0; i < B; i++) {
        double s = p[L->b_final];
        for (size_t c = 0; c < n; c++)
            s += cur[i * n + c] * p[L->w[L->n_layers] + c];
        z[i] = s;
    }
    free(cur);
    free(nxt);
}

static double ref_loss(const Ref *r, const double *p, const double *x)
{
    double *z = test_alloc(r->B * sizeof(double)), sum = 0;
    ref_forward(z, r, p, x, NULL);
    for (size_t i = 0; i < r->B; i++) {
        const double pred = (r->hi - r->lo) / (1.0 + exp(-z[i])) + r->lo, d = pred - r->y[i];
        sum += d * d;
    }
    free(z);
    return sum / (double)r->B;
}

/* Max |analytic - numeric| / max |numeric| over the n elements of v (perturbed in place). */
static double check_grads(const char *what, const Ref *r, double *p, double *x, double *v,
                          const float *g, size_t n)
{
    double worst = 0, gmax = 0;
    double *fd = test_alloc(n * sizeof(double));
    for (size_t e = 0; e < n; e++) {
        const double keep = v[e], h = 1e-6;
        v[e] = keep + h;
        const double up = ref_loss(r, p, x);
        v[e] = keep - h;
        const double down = ref_loss(r, p, x);
        v[e] = keep;
        fd[e] = (up - down) / (2 * h);
        gmax = fmax(gmax, fabs(fd[e]));
    }
    for (size_t e = 0; e < n; e++)
        worst = fmax(worst, fabs((double)g[e] - fd[e]));
    worst = gmax > 0 ? worst / gmax : worst;
    if (!(worst < 2e-4))
        fprintf(stderr, "  %s: relative gradient error %.3g\n", what, worst);
    TEST_CHECK(worst < 2e-4);
    TEST_CHECK(gmax > 0);
    free(fd);
    return worst;
}

/* ---------------------------------------------------------------- one problem */

enum { N_IN = 7 };

/* A head and a batch, in float (what nn.c runs) and double (the reference). */
typedef struct Problem {
    NNLayout L;
    size_t B;
    float *p, *g, *stats, *x, *y, *z, *dx; /* params, grads, running stats, (B, N_IN), (B) */
    double *pd, *xd, *yd;                  /* the same values in double */
} Problem;

static void problem_make(Problem *q, const size_t *widths, size_t nl, int use_bn, size_t B,
                         uint64_t seed)
{
    NNLayout *L = &q->L;
    nn_layout(L, N_IN, widths, nl, use_bn);
    q->B = B;
    q->p = test_alloc(L->n_params * 4), q->g = test_alloc(L->n_params * 4);
    q->stats = test_alloc((L->n_stats + 1) * 4);
    q->x = test_alloc(B * N_IN * 4), q->y = test_alloc(B * 4), q->z = test_alloc(B * 4);
    q->dx = test_alloc(B * N_IN * 4);
    q->pd = test_alloc(L->n_params * 8), q->xd = test_alloc(B * N_IN * 8);
    q->yd = test_alloc(B * 8);
    nn_init(q->p, q->stats, L, seed);
    /* BatchNorm parameters off their init, so their gradients are not degenerate */
    for (size_t l = 0; l < nl && use_bn; l++)
        for (size_t j = 0; j < widths[l]; j++) {
            q->p[L->gamma[l] + j] = (float)(0.5 + test_rand_unit(&seed));
            q->p[L->beta[l] + j] = (float)(test_rand_unit(&seed) - 0.5);
        }
    for (size_t e = 0; e < B * N_IN; e++)
        q->xd[e] = q->x[e] = (float)(2.0 * test_rand_unit(&seed) - 1.0);
    for (size_t i = 0; i < B; i++)
        q->yd[i] = q->y[i] = (float)(1 + floor(5 * test_rand_unit(&seed)));
    for (size_t e = 0; e < L->n_params; e++)
        q->pd[e] = q->p[e];
}

static void problem_free(Problem *q)
{
    void *bufs[] = {q->p, q->g, q->stats, q->x, q->y, q->z, q->dx, q->pd, q->xd, q->yd};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]);
}

/* The trainer's chain on the whole batch: forward (training mode), sigmoid_range, MSE,
 * and back: q->z, q->g (the parameter gradients) and q->dx. */
static void run_float(Problem *q, NNWork *w)
{
    const size_t B = q->B;
    float *pred = test_alloc(B * 4), *dpred = test_alloc(B * 4), *dz = test_alloc(B * 4);
    ModelSpec s = {.kind = MODEL_NN, .has_range = 1, .y_lo = 0.0f, .y_hi = 5.5f};
    nn_forward(q->z, w, q->p, q->stats, q->x, B, 1, &q->L);
    model_squash(pred, q->z, &s, B);
    model_mse(dpred, pred, q->y, B, (double)B);
    model_squash_backward(dz, dpred, q->z, &s, B);
    nn_backward(q->g, q->dx, w, q->p, q->x, dz, B, &q->L);
    free(pred), free(dpred), free(dz);
}

/* Running statistics after one step from (0, 1): momentum 0.1, the variance unbiased;
 * mv holds the reference's batch mean and biased variance per column. */
static void check_stats(const Problem *q, const double *mv)
{
    const NNLayout *L = &q->L;
    const double B = (double)q->B;
    for (size_t l = 0, at = 0; l < L->n_layers && L->use_bn; l++)
        for (size_t j = 0; j < L->width[l]; j++, at += 2) {
            TEST_CLOSE(q->stats[L->stat[l] + j], 0.1 * mv[at], 1e-5, 1e-6);
            TEST_CLOSE(q->stats[L->stat[l] + L->width[l] + j],
                       0.9 + 0.1 * mv[at + 1] * B / (B - 1.0), 1e-5, 1e-6);
        }
}

/* Evaluation mode, one layer: row 0 alone gives what the running statistics say. */
static void check_eval_row(const Problem *q, NNWork *w)
{
    const NNLayout *L = &q->L;
    const size_t o = L->width[0];
    const float *rm = q->stats + L->stat[0], *rv = rm + o;
    float z1;
    nn_forward(&z1, w, q->p, q->stats, q->x, 1, 0, L);
    double zz = q->pd[L->b_final];
    for (size_t j = 0; j < o; j++) {
        double a = 0;
        for (size_t c = 0; c < N_IN; c++)
            a += q->xd[c] * q->pd[L->w[0] + c * o + j];
        a = a > 0 ? a : 0;
        const double h = (a - rm[j]) / sqrt((double)rv[j] + NN_BN_EPS);
        zz += (h * q->pd[L->gamma[0] + j] + q->pd[L->beta[0] + j]) * q->pd[L->w[1] + j];
    }
    TEST_CLOSE(z1, zz, 1e-5, 1e-5);
}

static void check_head(const size_t *widths, size_t nl, int use_bn, size_t B, uint64_t seed)
{
    Problem q;
    problem_make(&q, widths, nl, use_bn, B, seed);
    NNWork w;
    nn_work_init(&w, &q.L, B);
    run_float(&q, &w);
    Ref r = {&q.L, B, q.yd, 0.0, 5.5};
    double *zr = test_alloc(B * 8), *mv = test_alloc((q.L.n_stats + 1) * 8);
    ref_forward(zr, &r, q.pd, q.xd, mv);
    for (size_t i = 0; i < B; i++)
        TEST_CLOSE(q.z[i], zr[i], 1e-5, 1e-5);
    char what[96];
    snprintf(what, sizeof what, "L=%zu bn=%d B=%zu", nl, use_bn, B);
    double worst = check_grads(what, &r, q.pd, q.xd, q.pd, q.g, q.L.n_params);
    worst = fmax(worst, check_grads(what, &r, q.pd, q.xd, q.xd, q.dx, B * N_IN));
    printf("  %-22s max |analytic - numeric| / max|g| = %.2g\n", what, worst);
    check_stats(&q, mv);
    if (use_bn && nl == 1)
        check_eval_row(&q, &w);
    nn_work_free(&w);
    free(zr), free(mv);
    problem_free(&q);
}

/* Layout: weights, then BatchNorm parameters / biases, then the final bias. */
static void check_layout(void)
{
    const size_t widths[2] = {100, 50};
    NNLayout L;
    nn_layout(&L, 74 + 102, widths, 2, 1);
    TEST_CHECK(L.n_decay == 176 * 100 + 100 * 50 + 50);
    TEST_CHECK(L.n_params == L.n_decay + 2 * (100 + 50) + 1);
    TEST_CHECK(L.gamma[0] >= L.n_decay && L.b_final == L.n_params - 1);
    TEST_CHECK(L.n_stats == 2 * (100 + 50));
    nn_layout(&L, 176, widths, 1, 0);
    TEST_CHECK(L.n_params == 176 * 100 + 100 + 100 + 1 && L.n_stats == 0);
    /* fastai's emb_sz_rule on ML-100k's vocabularies (titles: 1665 with #na#) */
    TEST_CHECK(nn_emb_size(944) == 74);
    TEST_CHECK(nn_emb_size(1665) == 102);
    TEST_CHECK(nn_emb_size(1635) == 101);
    TEST_CHECK(nn_emb_size(10000000) == 600);
}

int main(void)
{
    static const size_t one[1] = {5}, two[2] = {6, 4};
    uint64_t seed = 777;
    check_layout();
    for (int bn = 0; bn <= 1; bn++)
        for (size_t B = 9; B <= 16; B += 7) {
            check_head(one, 1, bn, B, seed++);
            check_head(two, 2, bn, B, seed++);
        }
    return test_done("test_nn");
}
