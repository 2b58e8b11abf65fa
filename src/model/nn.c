/* nn.c - EmbeddingNN's dense head: layout, init, forward and backward over a batch.
 *
 * Dimension letters: B rows, n (c) inputs and o outputs of a layer. Weights are stored
 * (in, out), so y[i, :] += x[i, c] * w[c, :] and g_w[c, :] += x[i, c] * dy[i, :] run
 * along contiguous output rows and vectorise without reordering any sum: every output
 * element is still the sequential sum over c (or over i); the input gradient runs along
 * rows of a transposed copy of the weight for the same reason. Batch statistics and the
 * BatchNorm parameter gradients are summed in double, rows in batch order. */
#include "config.h"

#include "collab/model/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/lanes.h"
#include "collab/base/rng.h"

/* Init stream table ids of the head: weights 16 + l, biases 32 + l (the embedding
 * tables use 0..3). */
enum { TABLE_NN_W = 16, TABLE_NN_B = 32 };

size_t nn_emb_size(size_t n)
{
    const double s = round(1.6 * pow((double)n, 0.56));
    return s > 600.0 ? 600 : (size_t)s;
}

void nn_layout(NNLayout *L, size_t n_in, const size_t *widths, size_t n_layers, int use_bn)
{
    memset(L, 0, sizeof *L);
    L->n_in = n_in;
    L->n_layers = n_layers;
    L->use_bn = use_bn;
    L->max_width = n_in;
    size_t at = 0, prev = n_in;
    for (size_t l = 0; l < n_layers; l++) {
        L->width[l] = widths[l];
        L->w[l] = at;
        at += prev * widths[l];
        prev = widths[l];
        L->max_width = widths[l] > L->max_width ? widths[l] : L->max_width;
    }
    L->w[n_layers] = at;
    at += prev;
    L->n_decay = at;
    for (size_t l = 0; l < n_layers; l++) {
        if (use_bn) {
            L->gamma[l] = at;
            at += widths[l];
            L->stat[l] = L->n_stats;
            L->n_stats += 2 * widths[l];
        }
        L->beta[l] = at;
        at += widths[l];
    }
    L->b_final = at++;
    L->n_params = at;
}

/* U(-bound, bound) for n values, element e keyed as (seed, table, e). */
static void init_uniform(float *t, size_t n, double bound, uint64_t seed, uint64_t table)
{
    for (size_t e = 0; e < n; e++) {
        const double u = rng_unit(rng_hash(seed, RNG_STREAM_INIT, table, (uint64_t)e));
        t[e] = (float)((2.0 * u - 1.0) * bound);
    }
}

void nn_init(float *p, float *stats, const NNLayout *L, uint64_t seed)
{
    size_t in = L->n_in;
    for (size_t l = 0; l <= L->n_layers; l++) {
        const size_t out = l < L->n_layers ? L->width[l] : 1;
        const double bound = 1.0 / sqrt((double)in);
        init_uniform(p + L->w[l], in * out, bound, seed, TABLE_NN_W + l);
        if (l == L->n_layers)
            init_uniform(p + L->b_final, 1, bound, seed, TABLE_NN_B + l);
        else if (!L->use_bn)
            init_uniform(p + L->beta[l], out, bound, seed, TABLE_NN_B + l);
        in = out;
    }
    for (size_t l = 0; l < L->n_layers && L->use_bn; l++)
        for (size_t o = 0; o < L->width[l]; o++) {
            p[L->gamma[l] + o] = 1.0f;
            p[L->beta[l] + o] = 1e-3f;
            if (stats) {
                stats[L->stat[l] + o] = 0.0f;
                stats[L->stat[l] + L->width[l] + o] = 1.0f;
            }
        }
}

void nn_work_init(NNWork *w, const NNLayout *L, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->cap = cap;
    for (size_t l = 0; l < L->n_layers; l++) {
        w->a[l] = xmalloc(cap * L->width[l] * sizeof(float));
        w->h[l] = xmalloc(cap * L->width[l] * sizeof(float));
        w->mean[l] = xmalloc(L->width[l] * sizeof(float));
        w->invstd[l] = xmalloc(L->width[l] * sizeof(float));
    }
    w->d0 = xmalloc(cap * L->max_width * sizeof(float));
    w->d1 = xmalloc(cap * L->max_width * sizeof(float));
    w->wo = xmalloc(L->max_width * L->max_width * sizeof(float));
    w->acc = xmalloc(2 * L->max_width * sizeof(double));
}

void nn_work_free(NNWork *w)
{
    for (size_t l = 0; l < NN_MAX_LAYERS; l++) {
        free(w->a[l]);
        free(w->h[l]);
        free(w->mean[l]);
        free(w->invstd[l]);
    }
    free(w->d0);
    free(w->d1);
    free(w->wo);
    free(w->acc);
    memset(w, 0, sizeof *w);
}

/* ------------------------------------------------------------------ kernels */

/* ReLU that keeps NaN (as torch's does) and compiles to a compare, not a libm call. */
static inline float relu(float a)
{
    return a < 0.0f ? 0.0f : a;
}

/* y (B, o) = x (B, n) @ wt (n, o) (+ bias (o), added last; NULL: none). */
LANES_CLONES
static void linear_forward(float *restrict y, const float *restrict x, const float *restrict wt,
                           const float *bias, size_t B, size_t n, size_t o)
{
    for (size_t i = 0; i < B; i++) {
        float *yi = y + i * o;
        const float *xi = x + i * n;
        for (size_t j = 0; j < o; j++)
            yi[j] = 0.0f;
        for (size_t c = 0; c < n; c++) {
            const float xc = xi[c], *wc = wt + c * o;
            for (size_t j = 0; j < o; j++)
                yi[j] += xc * wc[j];
        }
        if (bias)
            for (size_t j = 0; j < o; j++)
                yi[j] += bias[j];
    }
}

/* g_wt (n, o) += x^T dy, rows i in order; g_b (o) += column sums of dy (NULL: none). */
LANES_CLONES
static void linear_grad_w(float *restrict g_wt, float *g_b, const float *restrict x,
                          const float *restrict dy, size_t B, size_t n, size_t o)
{
    for (size_t i = 0; i < B; i++) {
        const float *xi = x + i * n, *dyi = dy + i * o;
        for (size_t c = 0; c < n; c++) {
            const float xc = xi[c];
            float *gc = g_wt + c * o;
            for (size_t j = 0; j < o; j++)
                gc[j] += xc * dyi[j];
        }
        if (g_b)
            for (size_t j = 0; j < o; j++)
                g_b[j] += dyi[j];
    }
}

/* wo (o, n) = wt (n, o) transposed. */
static void transpose(float *restrict wo, const float *restrict wt, size_t n, size_t o)
{
    for (size_t c = 0; c < n; c++)
        for (size_t j = 0; j < o; j++)
            wo[j * n + c] = wt[c * o + j];
}

/* dx (B, n) = dy (B, o) @ wo, wo = wt^T (o, n): dx[i, c] = sum_j dy[i, j] wt[c, j], the
 * terms added in order of j, along contiguous rows of wo. */
LANES_CLONES
static void linear_grad_x(float *restrict dx, const float *restrict dy, const float *restrict wo,
                          size_t B, size_t n, size_t o)
{
    for (size_t i = 0; i < B; i++) {
        float *dxi = dx + i * n;
        const float *dyi = dy + i * o;
        for (size_t c = 0; c < n; c++)
            dxi[c] = 0.0f;
        for (size_t j = 0; j < o; j++) {
            const float d = dyi[j], *wj = wo + j * n;
            for (size_t c = 0; c < n; c++)
                dxi[c] += d * wj[c];
        }
    }
}

/* The batch's mean and 1/sqrt(biased var + eps) per column of r (B, o) = ReLU(a); the
 * running statistics move by the momentum, the variance unbiased. Sums in double. */
static void bn_batch_stats(float *mean, float *invstd, float *run_mean, float *run_var, double *acc,
                           const float *a, size_t B, size_t o)
{
    double *sum = acc, *sq = acc + o;
    for (size_t j = 0; j < o; j++)
        sum[j] = sq[j] = 0.0;
    for (size_t i = 0; i < B; i++) /* rows in order; columns side by side */
        for (size_t j = 0; j < o; j++)
            sum[j] += (double)relu(a[i * o + j]);
    for (size_t j = 0; j < o; j++)
        sum[j] /= (double)B;
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < o; j++) {
            const double d = (double)relu(a[i * o + j]) - sum[j];
            sq[j] += d * d;
        }
    for (size_t j = 0; j < o; j++) {
        const double mu = sum[j], var = sq[j] / (double)B;
        mean[j] = (float)mu;
        invstd[j] = (float)(1.0 / sqrt(var + NN_BN_EPS));
        const double unbiased = B > 1 ? sq[j] / (double)(B - 1) : var;
        run_mean[j] = (float)((1.0 - NN_BN_MOMENTUM) * run_mean[j] + NN_BN_MOMENTUM * mu);
        run_var[j] = (float)((1.0 - NN_BN_MOMENTUM) * run_var[j] + NN_BN_MOMENTUM * unbiased);
    }
}

static void bn_eval_stats(float *mean, float *invstd, const float *run_mean, const float *run_var,
                          size_t o)
{
    for (size_t j = 0; j < o; j++) {
        mean[j] = run_mean[j];
        invstd[j] = (float)(1.0 / sqrt((double)run_var[j] + NN_BN_EPS));
    }
}

/* xhat of row i, column j: the one formula forward and backward share. */
static inline float bn_xhat(float a, float mean, float invstd)
{
    return (relu(a) - mean) * invstd;
}

/* One hidden layer's forward: a = x W (+ b), h = BN(ReLU(a)) or ReLU(a). */
static void layer_forward(NNWork *w, size_t l, const float *p, float *stats, const float *x,
                          size_t B, size_t n, int train, const NNLayout *L)
{
    const size_t o = L->width[l];
    float *a = w->a[l], *h = w->h[l];
    linear_forward(a, x, p + L->w[l], L->use_bn ? NULL : p + L->beta[l], B, n, o);
    if (!L->use_bn) {
        for (size_t e = 0; e < B * o; e++)
            h[e] = relu(a[e]);
        return;
    }
    float *rm = stats + L->stat[l], *rv = rm + o;
    if (train)
        bn_batch_stats(w->mean[l], w->invstd[l], rm, rv, w->acc, a, B, o);
    else
        bn_eval_stats(w->mean[l], w->invstd[l], rm, rv, o);
    const float *gamma = p + L->gamma[l], *beta = p + L->beta[l];
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < o; j++)
            h[i * o + j] =
                bn_xhat(a[i * o + j], w->mean[l][j], w->invstd[l][j]) * gamma[j] + beta[j];
}

void nn_forward(float *z, NNWork *w, const float *p, float *stats, const float *x, size_t B,
                int train, const NNLayout *L)
{
    const float *in = x;
    size_t n = L->n_in;
    for (size_t l = 0; l < L->n_layers; l++) {
        layer_forward(w, l, p, stats, in, B, n, train, L);
        in = w->h[l];
        n = L->width[l];
    }
    linear_forward(z, in, p + L->w[L->n_layers], p + L->b_final, B, n, 1);
}

/* dh (B, o) -> da (B, o) in place through BatchNorm (training mode) and ReLU, adding the
 * BatchNorm parameter gradients: with s = sum_i dh and t = sum_i dh xhat per column,
 * dr = gamma invstd / B (B dh - s - xhat t). */
static void bn_relu_backward(float *g, float *d, const NNWork *w, size_t l, const float *p,
                             size_t B, const NNLayout *L)
{
    const size_t o = L->width[l];
    const float *a = w->a[l], *mean = w->mean[l], *invstd = w->invstd[l];
    const float *gamma = p + L->gamma[l];
    double *s = w->acc, *t = w->acc + o;
    for (size_t j = 0; j < o; j++)
        s[j] = t[j] = 0.0;
    for (size_t i = 0; i < B; i++) /* rows in order; columns side by side */
        for (size_t j = 0; j < o; j++) {
            const size_t e = i * o + j;
            const double dh = (double)d[e];
            s[j] += dh;
            t[j] += dh * (double)bn_xhat(a[e], mean[j], invstd[j]);
        }
    for (size_t j = 0; j < o; j++) {
        g[L->gamma[l] + j] += (float)t[j];
        g[L->beta[l] + j] += (float)s[j];
    }
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < o; j++) {
            const size_t e = i * o + j;
            const double scale = (double)gamma[j] * (double)invstd[j] / (double)B;
            const double xh = (double)bn_xhat(a[e], mean[j], invstd[j]);
            const double dr = scale * ((double)B * (double)d[e] - s[j] - xh * t[j]);
            d[e] = a[e] > 0.0f ? (float)dr : 0.0f;
        }
}

void nn_backward(float *g, float *dx, NNWork *w, const float *p, const float *x, const float *dz,
                 size_t B, const NNLayout *L)
{
    const size_t nl = L->n_layers;
    float *d = w->d0, *spare = w->d1;
    size_t o = nl ? L->width[nl - 1] : L->n_in;
    const float *top = nl ? w->h[nl - 1] : x;
    linear_grad_w(g + L->w[nl], g + L->b_final, top, dz, B, o, 1);
    linear_grad_x(nl ? d : dx, dz, p + L->w[nl], B, o, 1); /* (o, 1) is its own transpose */
    for (size_t l = nl; l-- > 0;) {
        const size_t n = l ? L->width[l - 1] : L->n_in;
        const float *in = l ? w->h[l - 1] : x;
        if (L->use_bn) {
            bn_relu_backward(g, d, w, l, p, B, L);
            linear_grad_w(g + L->w[l], NULL, in, d, B, n, o);
        } else {
            for (size_t e = 0; e < B * o; e++)
                d[e] = w->a[l][e] > 0.0f ? d[e] : 0.0f;
            linear_grad_w(g + L->w[l], g + L->beta[l], in, d, B, n, o);
        }
        float *down = l ? spare : dx;
        transpose(w->wo, p + L->w[l], n, o);
        linear_grad_x(down, d, w->wo, B, n, o);
        spare = d;
        d = down;
        o = n;
    }
}
