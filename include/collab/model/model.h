/* model.h - the models of fastai chapter 8 and the dot models' kernels.
 *
 *   DotProduct:      z = <u, v>                          pred = z, or sigmoid_range(z)
 *   DotProductBias:  z = <u, v> + b_u + b_i              pred = sigmoid_range(z, lo, hi)
 *   EmbeddingNN:     z = head(concat(u, v))              pred = z, or sigmoid_range(z)
 *                    (the dense head is nn.h; u and v have their own widths)
 *
 * A Model owns one flat parameter buffer and one flat gradient buffer of the same
 * layout, and cuts the named tables from them in one place (model_init). Rows are the
 * rows this rank owns; at one rank that is every user and every item. Item rows used by
 * a batch arrive gathered per rating (exchange.h), so the kernels never index the item
 * table directly: forward and backward are local and allocation-free. */
#ifndef COLLAB_MODEL_H
#define COLLAB_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "collab/model/nn.h"

typedef enum ModelKind { MODEL_DOT = 0, MODEL_DOTBIAS = 1, MODEL_NN = 2 } ModelKind;

typedef struct ModelSpec {
    ModelKind kind;
    size_t k;      /* factors per item row (--n-factors; MODEL_NN: the item embedding width) */
    int has_range; /* 1: pred = sigmoid_range(z, y_lo, y_hi) */
    float y_lo, y_hi;
    /* MODEL_NN only (zero otherwise) */
    size_t k_user;                /* user embedding width (model_nn_sizes) */
    size_t n_layers;              /* hidden layers (--layers) */
    size_t layers[NN_MAX_LAYERS]; /* their widths */
    int use_bn;                   /* BatchNorm after each hidden ReLU (--batchnorm) */
} ModelSpec;

typedef struct Model {
    ModelSpec spec;
    size_t n_users;  /* user rows held (global user vocabulary at one rank) */
    size_t n_items;  /* item rows held */
    size_t ku;       /* factors per user row: k, or k_user for MODEL_NN */
    size_t n_params; /* length of params and grads */
    float *params;   /* (n_params) flat: user_f, user_b, item_f, item_b, dense */
    float *grads;    /* (n_params) same layout; zero between steps */
    float *user_f;   /* (n_users, ku) */
    float *user_b;   /* (n_users) or NULL for MODEL_DOT */
    float *item_f;   /* (n_items, k) */
    float *item_b;   /* (n_items) or NULL */
    float *g_user_f, *g_user_b, *g_item_f, *g_item_b; /* views into grads */
    /* MODEL_NN: the dense head, replicated on every rank (NULL otherwise) */
    NNLayout nn;
    float *dense, *g_dense; /* (nn.n_params) views at the end of params and grads */
    float *stats;           /* (nn.n_stats) BatchNorm running mean and var, not trained */
} Model;

/* MODEL_NN: the embedding widths by fastai's emb_sz_rule for vocabularies of n_users and
 * n_items (with #na#): s->k_user and s->k. No-op for the dot models. Local. */
void model_nn_sizes(ModelSpec *s, size_t n_users, size_t n_items);

/* Parses "W[,W...]" into s->layers / s->n_layers. Returns 0, or -1 when text is not a
 * comma-separated list of integers, -2 when a width (in *bad) is outside 1..100000, -3
 * with more than NN_MAX_LAYERS widths. Local. */
int model_parse_layers(ModelSpec *s, const char *text, long long *bad);

/* MODEL_NN: the resolved architecture in one line, e.g. "users 944x74, items 1665x102;
 * Linear 176-100-50-1, ReLU, BatchNorm" (sizes after model_nn_sizes). Local. */
void model_nn_describe(char *out, size_t len, const ModelSpec *s, size_t n_users, size_t n_items);

/* MODEL_NN: x (n, ku + k) row j = concat(user_f[urow[j]], vf[slot[j]]), the item rows
 * given by slot as exchange_gather_slots leaves them. Local. */
void model_nn_inputs(float *x, const Model *m, const int32_t *urow, const int32_t *slot,
                     const float *const *vf, size_t n);

/* MODEL_NN, after the head's backward on a whole batch (gpred (bs) its predictions, gdx
 * (bs, ku + k) the gradient wrt its inputs, in position order): for this rank's n
 * ratings of it, at positions pos[j] - pos0, pred[j] = gpred of its row and the user
 * part of its dx is added to g_user_f[urow[j]], ratings in order. Local. */
void model_nn_take_rows(Model *m, float *pred, const float *gpred, const float *gdx,
                        const int32_t *urow, const int64_t *pos, int64_t pos0, size_t n);

/* sigmoid_range(z) or z, as the spec says, for n values. Local. */
void model_squash(float *pred, const float *z, const ModelSpec *s, size_t n);

/* dz[j] = dpred[j] * d pred / d z, in torch's operation order. Local. */
void model_squash_backward(float *dz, const float *dpred, const float *z, const ModelSpec *s,
                           size_t n);

/* Allocates the tables for n_users x n_items rows (zeroed). Local. */
void model_init(Model *m, const ModelSpec *spec, size_t n_users, size_t n_items);
/* Frees m; safe on a zeroed Model. */
void model_free(Model *m);

/* Table ids that key the initialisation random stream. */
enum { TABLE_USER_F = 0, TABLE_USER_B = 1, TABLE_ITEM_F = 2, TABLE_ITEM_B = 3 };

/* fastai's Embedding init, trunc_normal_(std=0.01) = fmod(N(0,1), 2) * 0.01, drawn
 * from the counter-based stream keyed by (seed, table, global row, column): row r of
 * the users table gets the same values whichever rank holds it. user_row0/item_row0
 * are the global ids of the first local rows. Local. */
void model_init_params(Model *m, uint64_t seed, int64_t user_row0, int64_t item_row0);

/* Forward for n ratings: z[j] = <user_f[urow[j]], irows[j]> (+ user_b[urow[j]] +
 * ibias[j]); pred[j] = z[j] or sigmoid_range(z[j]). irows (n, k) and ibias (n) hold the
 * item row gathered for each rating (ibias NULL for MODEL_DOT). */
void model_forward(float *pred, float *z, const Model *m, const int32_t *urow, const float *irows,
                   const float *ibias, size_t n);

/* model_forward's pred (the same bits) with each rating's item row given by its slot:
 * vf[slot[j]] (k) and vb[slot[j]] (unused for MODEL_DOT), as exchange_gather_slots
 * leaves them, so no row is copied per rating. Used for validation. Local. */
void model_forward_slots(float *pred, const Model *m, const int32_t *urow, const int32_t *slot,
                         const float *const *vf, const float *vb, size_t n);

/* Forward for one user against n items, vectorised across the items: the item factor
 * rows come transposed, items_t (k, n) with factor c of item j at items_t[c * n + j], and
 * ibias (n; NULL for MODEL_DOT). pred[j] and z[j] are the bits model_forward gives for the
 * pair (each item's dot product adds the same k terms in the same order). uf (k) and ub
 * are the user's factors and bias (ub unused for MODEL_DOT). Used to score whole item
 * blocks (recommendations), where model_forward's per-rating loop cannot vectorise. */
void model_forward_items(float *pred, float *z, const ModelSpec *s, const float *uf, float ub,
                         const float *items_t, const float *ibias, size_t n);

/* MSE: returns sum_j (pred[j] - y[j])^2 in double and writes dpred[j] =
 * 2 (pred[j] - y[j]) / denom, the gradient of (sum of squares) / denom. denom is the
 * global batch size, so ranks holding parts of a batch produce the gradient of the
 * batch mean. */
double model_mse(float *dpred, const float *pred, const float *y, size_t n, double denom);

/* Zeroes the user gradient rows urow[0..n) (those a batch's backward wrote), and for
 * MODEL_NN the dense head's gradient. */
void model_zero_user_grads(Model *m, const int32_t *urow, size_t n);

/* Backward for n ratings, given dpred and the forward's pred, z: accumulates into the
 * user gradient rows (g_user_f, g_user_b of m) in rating order, and writes the item
 * gradient per rating: g_irows (n, k), g_ibias (n) (NULL for MODEL_DOT). */
void model_backward(Model *m, float *g_irows, float *g_ibias, const float *dpred, const float *pred,
                    const float *z, const int32_t *urow, const float *irows, size_t n);

/* ---- The fused sparse step (train.c, sparse optimizers) ---- */

/* One batch's ratings on this rank as the fused kernel reads them: each rating's slot
 * (its item's place among the batch's distinct items, exchange.h SlotRows). */
typedef struct FusedRatings {
    const int32_t *slot;    /* (n) slot of each rating */
    const uint8_t *first;   /* (n) 1 where a rating is its slot's first in the batch */
    const float *y;         /* (n) target ratings */
    size_t n;               /* ratings of the batch on this rank */
    const float *const *vf; /* (u) factor row (k) of each slot */
    const float *vb;        /* (u) bias of each slot (unused for MODEL_DOT) */
    int64_t *acc;           /* (u, k+1) each slot's item gradient, fixed point */
    float dscale;           /* d loss / d pred = dscale * (pred - y): 2 / batch size */
    float qscale;           /* fixed-point scale of acc, a power of two */
} FusedRatings;

/* Forward, loss gradient and backward for one user's ratings j0..j1-1 of a batch, in
 * order: pred[j]; the user's gradient into gu (k factors, then the bias at gu[k]; zeroed
 * first), summed in rating order; and each rating's item gradient, truncated to an integer
 * multiple of 1/qscale, into fr->acc[slot] (set at a slot's first rating, added after).
 * Integer sums make an item's total the same bits at any number of ranks. The dot product
 * sums its k terms in 16 fixed lanes, then pairwise (it vectorises; model_forward's
 * sequential sum may differ in the last bit). Local, allocation-free. */
void model_fused_user(float *gu, float *pred, const ModelSpec *s, const float *uf, float ub,
                      const FusedRatings *fr, size_t j0, size_t j1);

/* g[c] = a[c] * inv rounded to float (inv = 1/qscale): a fixed-point gradient row of
 * width w back in float. Local. */
void model_fixed_to_float(float *g, const int64_t *a, size_t w, double inv);

#endif
