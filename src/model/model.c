/* model.c - DotProduct and DotProductBias: parameters, init, forward and backward;
 * EmbeddingNN's tables and the glue around its dense head (nn.c).
 *
 * Dimension letters: n ratings in a batch (part), k factors. The item row of each rating
 * arrives gathered (irows), so these kernels touch only this rank's user rows. */
#include "config.h"

#include "collab/model/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/lanes.h"
#include "collab/base/rng.h"
#include "collab/model/kernel.h"

void model_nn_sizes(ModelSpec *s, size_t n_users, size_t n_items)
{
    if (s->kind != MODEL_NN)
        return;
    s->k_user = nn_emb_size(n_users);
    s->k = nn_emb_size(n_items);
}

int model_parse_layers(ModelSpec *s, const char *text, long long *bad)
{
    const char *at = text;
    s->n_layers = 0;
    for (;;) {
        char *end = NULL;
        errno = 0;
        const long long w = strtoll(at, &end, 10);
        if (end == at || errno || (*end && *end != ','))
            return -1;
        if (w < 1 || w > 100000) {
            *bad = w;
            return -2;
        }
        if (s->n_layers == NN_MAX_LAYERS)
            return -3;
        s->layers[s->n_layers++] = (size_t)w;
        if (!*end)
            return 0;
        at = end + 1;
    }
}

void model_nn_describe(char *out, size_t len, const ModelSpec *s, size_t n_users, size_t n_items)
{
    int at = snprintf(out, len, "users %zux%zu, items %zux%zu; Linear %zu", n_users, s->k_user,
                      n_items, s->k, s->k_user + s->k);
    for (size_t l = 0; l < s->n_layers && at > 0 && (size_t)at < len; l++)
        at += snprintf(out + at, len - (size_t)at, "-%zu", s->layers[l]);
    if (at > 0 && (size_t)at < len)
        snprintf(out + at, len - (size_t)at, "-1, ReLU%s%s", s->use_bn ? ", BatchNorm" : "",
                 s->has_range ? ", sigmoid_range" : "");
}

void model_init(Model *m, const ModelSpec *spec, size_t n_users, size_t n_items)
{
    memset(m, 0, sizeof *m);
    m->spec = *spec;
    m->n_users = n_users;
    m->n_items = n_items;
    const int nn = spec->kind == MODEL_NN;
    const size_t k = spec->k, ku = nn ? spec->k_user : k, bias = spec->kind == MODEL_DOTBIAS;
    m->ku = ku;
    if (nn)
        nn_layout(&m->nn, ku + k, spec->layers, spec->n_layers, spec->use_bn);
    m->n_params = n_users * (ku + bias) + n_items * (k + bias) + m->nn.n_params;
    m->params = xcalloc(m->n_params ? m->n_params : 1, sizeof(float));
    m->grads = xcalloc(m->n_params ? m->n_params : 1, sizeof(float));
    /* The one place the named tables are cut from the flat buffers. */
    float *p = m->params, *g = m->grads;
    m->user_f = p, m->g_user_f = g, p += n_users * ku, g += n_users * ku;
    if (bias)
        m->user_b = p, m->g_user_b = g, p += n_users, g += n_users;
    m->item_f = p, m->g_item_f = g, p += n_items * k, g += n_items * k;
    if (bias)
        m->item_b = p, m->g_item_b = g, p += n_items, g += n_items;
    if (nn) {
        m->dense = p, m->g_dense = g;
        m->stats = xcalloc(m->nn.n_stats ? m->nn.n_stats : 1, sizeof(float));
    }
}

void model_free(Model *m)
{
    free(m->params);
    free(m->grads);
    free(m->stats);
    memset(m, 0, sizeof *m);
}

/* fastai's trunc_normal_(std=0.01): x.normal_().fmod_(2).mul_(0.01), value by value. */
static void init_table(float *t, size_t rows, size_t width, uint64_t seed, int table, int64_t row0)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < width; c++) {
            uint64_t key = (uint64_t)(row0 + (int64_t)r);
            double x = rng_normal(seed, RNG_STREAM_INIT, (uint64_t)table, key * 4096 + c);
            t[r * width + c] = (float)fmod(x, 2.0) * 0.01f;
        }
}

void model_init_params(Model *m, uint64_t seed, int64_t user_row0, int64_t item_row0)
{
    const size_t k = m->spec.k;
    init_table(m->user_f, m->n_users, m->ku, seed, TABLE_USER_F, user_row0);
    init_table(m->item_f, m->n_items, k, seed, TABLE_ITEM_F, item_row0);
    if (m->dense)
        nn_init(m->dense, m->stats, &m->nn, seed);
    if (m->user_b) {
        init_table(m->user_b, m->n_users, 1, seed, TABLE_USER_B, user_row0);
        init_table(m->item_b, m->n_items, 1, seed, TABLE_ITEM_B, item_row0);
    }
}

static float dot_k(const float *a, const float *b, size_t k)
{
    float s = 0.0f;
    for (size_t c = 0; c < k; c++)
        s += a[c] * b[c];
    return s;
}

/* Four ratings' dot products at once: each is dot_k's sequential sum (the same bits),
 * but four independent chains keep the adder busy where one chain waits on latency. */
static void dot_k4(float *out, const float *const a[4], const float *const b[4], size_t k)
{
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (size_t c = 0; c < k; c++) {
        s0 += a[0][c] * b[0][c];
        s1 += a[1][c] * b[1][c];
        s2 += a[2][c] * b[2][c];
        s3 += a[3][c] * b[3][c];
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

/* z[j] = <user_f[urow[j]], irows[j]> for the n ratings. */
static void dots(float *z, const Model *m, const int32_t *urow, const float *irows, size_t n)
{
    const size_t k = m->spec.k;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *a[4], *b[4];
        for (int q = 0; q < 4; q++) {
            a[q] = m->user_f + (size_t)urow[j + q] * k;
            b[q] = irows + (j + q) * k;
        }
        dot_k4(z + j, a, b, k);
    }
    for (; j < n; j++)
        z[j] = dot_k(m->user_f + (size_t)urow[j] * k, irows + j * k, k);
}

void model_forward(float *pred, float *z, const Model *m, const int32_t *urow, const float *irows,
                   const float *ibias, size_t n)
{
    const ModelSpec *s = &m->spec;
    const float span = s->y_hi - s->y_lo;
    dots(z, m, urow, irows, n);
    for (size_t j = 0; j < n; j++) {
        const size_t u = (size_t)urow[j];
        float zj = z[j];
        if (m->user_b)
            zj = zj + (m->user_b[u] + ibias[j]); /* torch: res += (b_u + b_i) */
        z[j] = zj;
        float sg;
        pred[j] = kernel_predict(&sg, zj, s->has_range, s->y_lo, span);
    }
}

void model_forward_slots(float *pred, const Model *m, const int32_t *urow, const int32_t *slot,
                         const float *const *vf, const float *vb, size_t n)
{
    const ModelSpec *s = &m->spec;
    const size_t k = s->k;
    const float span = s->y_hi - s->y_lo;
    for (size_t j0 = 0; j0 < n; j0 += 4) {
        /* Four ratings' dot products in flight (dot_k4), each summed as model_forward's. */
        const size_t nj = n - j0 < 4 ? n - j0 : 4;
        const float *a[4], *b[4];
        float z[4];
        for (size_t q = 0; q < 4; q++) {
            const size_t j = j0 + (q < nj ? q : 0);
            a[q] = m->user_f + (size_t)urow[j] * k;
            b[q] = vf[slot[j]];
        }
        dot_k4(z, a, b, k);
        for (size_t q = 0; q < nj; q++) {
            const size_t j = j0 + q, u = (size_t)urow[j];
            float zj = z[q];
            if (m->user_b)
                zj = zj + (m->user_b[u] + vb[slot[j]]); /* as model_forward */
            float sg;
            pred[j] = kernel_predict(&sg, zj, s->has_range, s->y_lo, span);
        }
    }
}

void model_forward_items(float *pred, float *z, const ModelSpec *s, const float *uf, float ub,
                         const float *items_t, const float *ibias, size_t n)
{
    const float span = s->y_hi - s->y_lo;
    for (size_t j = 0; j < n; j++)
        z[j] = 0.0f;
    /* dot_k's sum, one term at a time for every item: the same order per item. */
    for (size_t c = 0; c < s->k; c++) {
        const float u = uf[c], *col = items_t + c * n;
        for (size_t j = 0; j < n; j++)
            z[j] += u * col[j];
    }
    if (s->kind == MODEL_DOTBIAS)
        for (size_t j = 0; j < n; j++)
            z[j] = z[j] + (ub + ibias[j]);
    float sg;
    for (size_t j = 0; j < n; j++)
        pred[j] = kernel_predict(&sg, z[j], s->has_range, s->y_lo, span);
}

double model_mse(float *dpred, const float *pred, const float *y, size_t n, double denom)
{
    double sum = 0.0;
    const float scale = (float)(2.0 / denom);
    for (size_t j = 0; j < n; j++) {
        float d = pred[j] - y[j];
        sum += (double)d * (double)d;
        dpred[j] = scale * d;
    }
    return sum;
}

void model_zero_user_grads(Model *m, const int32_t *urow, size_t n)
{
    const size_t ku = m->ku;
    for (size_t j = 0; j < n; j++) {
        memset(m->g_user_f + (size_t)urow[j] * ku, 0, ku * sizeof(float));
        if (m->g_user_b)
            m->g_user_b[urow[j]] = 0.0f;
    }
    if (m->g_dense)
        memset(m->g_dense, 0, m->nn.n_params * sizeof(float));
}

void model_nn_inputs(float *x, const Model *m, const int32_t *urow, const int32_t *slot,
                     const float *const *vf, size_t n)
{
    const size_t ku = m->ku, k = m->spec.k, w = ku + k;
    for (size_t j = 0; j < n; j++) {
        memcpy(x + j * w, m->user_f + (size_t)urow[j] * ku, ku * sizeof(float));
        memcpy(x + j * w + ku, vf[slot[j]], k * sizeof(float));
    }
}

void model_nn_take_rows(Model *m, float *pred, const float *gpred, const float *gdx,
                        const int32_t *urow, const int64_t *pos, int64_t pos0, size_t n)
{
    const size_t ku = m->ku, w = m->nn.n_in;
    for (size_t j = 0; j < n; j++) {
        const size_t r = (size_t)(pos[j] - pos0);
        const float *dx = gdx + r * w;
        float *gu = m->g_user_f + (size_t)urow[j] * ku;
        for (size_t c = 0; c < ku; c++)
            gu[c] += dx[c];
        pred[j] = gpred[r];
    }
}

void model_squash(float *pred, const float *z, const ModelSpec *s, size_t n)
{
    const float span = s->y_hi - s->y_lo;
    float sg;
    for (size_t j = 0; j < n; j++)
        pred[j] = kernel_predict(&sg, z[j], s->has_range, s->y_lo, span);
}

void model_squash_backward(float *dz, const float *dpred, const float *z, const ModelSpec *s,
                           size_t n)
{
    const float span = s->y_hi - s->y_lo;
    for (size_t j = 0; j < n; j++)
        dz[j] = s->has_range ? kernel_range_grad(dpred[j], kernel_sigmoid(z[j]), span) : dpred[j];
}

void model_backward(Model *m, float *g_irows, float *g_ibias, const float *dpred, const float *pred,
                    const float *z, const int32_t *urow, const float *irows, size_t n)
{
    const ModelSpec *s = &m->spec;
    const size_t k = s->k;
    const float span = s->y_hi - s->y_lo;
    (void)pred; /* the sigmoid is recomputed from z, which is exact */
    for (size_t j = 0; j < n; j++) {
        const size_t u = (size_t)urow[j];
        const float dz =
            s->has_range ? kernel_range_grad(dpred[j], kernel_sigmoid(z[j]), span) : dpred[j];
        const float *uf = m->user_f + u * k, *vf = irows + j * k;
        float *gv = g_irows + j * k;
        kernel_row_add(m->g_user_f + u * k, vf, k, dz);
        for (size_t c = 0; c < k; c++)
            gv[c] = dz * uf[c];
        if (m->user_b) {
            m->g_user_b[u] += dz;
            g_ibias[j] = dz;
        }
    }
}

/* ------------------------------------------------------------------ fused sparse step */

/* Ratings ahead whose item row and accumulator are prefetched. */
enum { FUSED_AHEAD = 4 };

/* acc (k) = or += trunc(dzq * uf[c]): the fixed-point item gradient of one rating. */
LANES_INLINE void acc_item(int64_t *restrict acc, const float *restrict uf, float dzq, size_t k,
                           int first)
{
    if (first)
        for (size_t c = 0; c < k; c++)
            acc[c] = (int64_t)(dzq * uf[c]);
    else
        for (size_t c = 0; c < k; c++)
            acc[c] += (int64_t)(dzq * uf[c]);
}

LANES_CLONES
void model_fused_user(float *restrict gu, float *restrict pred, const ModelSpec *s,
                      const float *restrict uf, float ub, const FusedRatings *fr, size_t j0,
                      size_t j1)
{
    const size_t k = s->k, w = k + 1;
    const float span = s->y_hi - s->y_lo;
    const int bias = s->kind == MODEL_DOTBIAS;
    for (size_t c = 0; c <= k; c++)
        gu[c] = 0.0f;
    for (size_t j = j0; j < j1; j++) {
        if (j + FUSED_AHEAD < fr->n) { /* the item row a few ratings ahead */
            const size_t sn = (size_t)fr->slot[j + FUSED_AHEAD];
            const float *next = fr->vf[sn];
            const int64_t *an = fr->acc + sn * w;
            for (size_t c = 0; c < k; c += 16)
                __builtin_prefetch(next + c);
            for (size_t c = 0; c < w; c += 8)
                __builtin_prefetch(an + c, 1);
        }
        const size_t sl = (size_t)fr->slot[j];
        const float *restrict v = fr->vf[sl];
        float z = lanes_dot(uf, v, k);
        if (bias)
            z = z + (ub + fr->vb[sl]);
        float sg;
        const float pj = kernel_predict(&sg, z, s->has_range, s->y_lo, span);
        pred[j] = pj;
        /* model_mse's dpred, then model_backward's dz, in the same operation order. */
        const float dz = kernel_dz(pj - fr->y[j], sg, fr->dscale, s->has_range, span);
        kernel_row_add(gu, v, k, dz);
        gu[k] += dz;
        const float dzq = dz * fr->qscale;
        int64_t *a = fr->acc + sl * w;
        acc_item(a, uf, dzq, k, fr->first[j]);
        if (bias)
            a[k] = (fr->first[j] ? 0 : a[k]) + (int64_t)dzq;
        else if (fr->first[j])
            a[k] = 0; /* no bias: the column travels as zeros */
    }
}

LANES_CLONES
void model_fixed_to_float(float *restrict g, const int64_t *restrict a, size_t w, double inv)
{
    for (size_t c = 0; c < w; c++)
        g[c] = (float)((double)a[c] * inv);
}
