/* nn.h - the dense head of fastai's EmbeddingNN (a TabularModel with n_cont = 0,
 * out_sz = 1), as collab_learner(use_nn=True) builds it:
 *
 *   x = concat(user embedding, item embedding)                       (B, n_in)
 *   hidden layer l = 0..L-1, LinBnDrop(lin_first=True, act=ReLU):
 *     with BatchNorm (default):  h = BN(ReLU(x W^T))          Linear without bias
 *     without (--batchnorm no):  h = ReLU(x W^T + b)          the book's CollabNN
 *   z = h w_f^T + b_f                                               (B)
 *
 * sigmoid_range and the loss are the caller's (model.h). BatchNorm1d: in training the
 * batch's own mean and biased variance normalise, and the running statistics move by
 * momentum 0.1 (the variance unbiased, B/(B-1)); in evaluation the running statistics
 * normalise. eps 1e-5. fastai's BatchNorm starts with weight 1 and bias 1e-3.
 *
 * Parameters live in one flat block (a slice of the Model's buffer) cut by NNLayout:
 * first every Linear weight (they take weight decay), then the BatchNorm weights and
 * biases and the Linear biases (fastai's wd_bn_bias=False: no weight decay). A weight is
 * stored transposed, (in, out): element (c, o) is torch's Linear.weight[o, c], so the
 * forward and the weight gradient run along contiguous rows of outputs.
 *
 * The kernels work on a whole batch of B rows and are local and allocation-free (the
 * workspace is NNWork). Every sum has a fixed order (rows in batch order, features in
 * index order), so the same inputs give the same bits on any rank. */
#ifndef COLLAB_NN_H
#define COLLAB_NN_H

#include <stddef.h>
#include <stdint.h>

enum { NN_MAX_LAYERS = 8 };

#define NN_BN_EPS 1e-5
#define NN_BN_MOMENTUM 0.1

/* Where each parameter of the head sits in its flat block, and its sizes. */
typedef struct NNLayout {
    size_t n_in;                 /* input width: user + item embedding widths */
    size_t n_layers;             /* hidden layers L */
    size_t width[NN_MAX_LAYERS]; /* their widths */
    int use_bn;                  /* 1: Linear -> ReLU -> BatchNorm1d */
    size_t w[NN_MAX_LAYERS + 1]; /* weight (in, out) of layer l; l = L: the final (n, 1) */
    size_t gamma[NN_MAX_LAYERS]; /* BatchNorm weight (width[l]); unused without BN */
    size_t beta[NN_MAX_LAYERS];  /* BatchNorm bias, or the Linear bias without BN */
    size_t b_final;              /* final Linear bias (1) */
    size_t n_decay;              /* [0, n_decay): the Linear weights, decayed */
    size_t n_params;             /* block length */
    size_t stat[NN_MAX_LAYERS];  /* running mean at stat[l], running var at +width[l] */
    size_t n_stats;              /* 2 * sum of widths with BN, else 0 */
    size_t max_width;            /* max(n_in, widths) */
} NNLayout;

/* Batch workspace for up to cap rows. */
typedef struct NNWork {
    size_t cap;
    float *a[NN_MAX_LAYERS];    /* (cap, width[l]) Linear outputs (pre-activation) */
    float *h[NN_MAX_LAYERS];    /* (cap, width[l]) layer outputs */
    float *mean[NN_MAX_LAYERS]; /* (width[l]) the statistics that normalised the batch */
    float *invstd[NN_MAX_LAYERS];
    float *d0, *d1; /* (cap, max_width) gradients flowing down */
    float *wo;      /* (max_width^2) a weight transposed to (out, in) */
    double *acc;    /* (2 max_width) per-column sums */
} NNWork;

/* fastai's emb_sz_rule: min(600, round(1.6 * n^0.56)) for a vocabulary of n (with #na#). */
size_t nn_emb_size(size_t n);

/* Fills L for the given sizes. Local. */
void nn_layout(NNLayout *L, size_t n_in, const size_t *widths, size_t n_layers, int use_bn);

/* PyTorch's default Linear init (kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(in), 1/sqrt(in))
 * for weights and biases), fastai's BatchNorm init (weight 1, bias 1e-3), running mean 0
 * and var 1, from the counter-based stream keyed by (seed, table, element): every rank
 * draws the same values. stats may be NULL. Local. */
void nn_init(float *p, float *stats, const NNLayout *L, uint64_t seed);

void nn_work_init(NNWork *w, const NNLayout *L, size_t cap);
void nn_work_free(NNWork *w);

/* Forward for B <= w->cap rows of x (B, n_in) into z (B). train: BatchNorm normalises with
 * the batch statistics and updates stats (the running statistics); otherwise it uses
 * stats. Keeps what nn_backward needs in w. Local. */
void nn_forward(float *z, NNWork *w, const float *p, float *stats, const float *x, size_t B,
                int train, const NNLayout *L);

/* Backward of the last training-mode nn_forward on the same x: adds the parameter
 * gradients of sum_i dz[i] z[i] to g (n_params) and writes dx (B, n_in). Local. */
void nn_backward(float *g, float *dx, NNWork *w, const float *p, const float *x, const float *dz,
                 size_t B, const NNLayout *L);

#endif
