/* kernel.h - the one rating kernel: sigmoid_range forward, the gradient of a rating's squared
 * error through it, and the row update with decoupled weight decay (plain SGD or row-wise
 * Adagrad). The batched model (model.c), the sparse optimizers (optim.c) and the per-rating
 * blocked kernel (blocks.c) all call these, so the three paths round the same way by
 * construction. Always-inline functions: each runs on the instruction set of the cloned
 * kernel that calls it (lanes.h).
 *
 * Dimension letters: k factors, w the width of a table row. Operation orders follow torch
 * (fastai's sigmoid_range and its autograd backward) and are part of each contract: with
 * FMA contraction off, an order written here is the order executed. */
#ifndef COLLAB_KERNEL_H
#define COLLAB_KERNEL_H

#include <math.h>
#include <stddef.h>

#include "collab/base/lanes.h"

/* sigmoid(z) = 1 / (1 + e^-z). */
LANES_INLINE float kernel_sigmoid(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

/* One rating's prediction from its score z: sigmoid_range(z) = sigmoid(z) * span + lo when
 * range is set, else z. *sg gets sigmoid(z) (0 without a range), which kernel_dz reuses. */
LANES_INLINE float kernel_predict(float *sg, float z, int range, float lo, float span)
{
    *sg = 0.0f;
    if (!range)
        return z;
    *sg = kernel_sigmoid(z);
    return *sg * span + lo;
}

/* The gradient d at the prediction taken back through sigmoid_range to the score:
 * d * span * s (1 - s), s = sigmoid(z), grouped ((d * span) * (1 - s)) * s as torch's
 * backward multiplies. */
LANES_INLINE float kernel_range_grad(float d, float sg, float span)
{
    return ((d * span) * (1.0f - sg)) * sg;
}

/* d loss / d score of one rating whose error is err = pred - y, the loss's scale folded in:
 * dscale * err (dscale = 2 for one squared error, 2 / n for a batch's mean), then through
 * sigmoid_range when range is set (sg from kernel_predict). */
LANES_INLINE float kernel_dz(float err, float sg, float dscale, int range, float span)
{
    const float d = dscale * err;
    return range ? kernel_range_grad(d, sg, span) : d;
}

/* g (w) += dz * v (w): a rating's gradient added to a row's (the user's, from the item
 * row v, or the reverse). */
LANES_INLINE void kernel_row_add(float *restrict g, const float *restrict v, size_t w, float dz)
{
    for (size_t c = 0; c < w; c++)
        g[c] += dz * v[c];
}

/* p (w) = p * decay + d (w) * scale: one row's step with decoupled weight decay (decay =
 * 1 - lr wd). d is the row's gradient and scale -lr (SGD) or kernel_adagrad_scale's; the
 * blocked kernel steps its biases this way (d = &g, w = 1) and its factor rows with
 * kernel_pair_step. */
LANES_INLINE void kernel_row_step(float *restrict p, const float *restrict d, size_t w, float decay,
                                  float scale)
{
    for (size_t c = 0; c < w; c++)
        p[c] = p[c] * decay + d[c] * scale;
}

/* The two factor rows of one rating, u (k) and v (k), stepped together from their old
 * values: u = u * decay + v * su and v = v * decay + u * sv, each element as
 * kernel_row_step rounds it (su and sv carry the rating's dz). In 16-lane vectors, the last
 * k % 16 elements one at a time. */
LANES_INLINE void kernel_pair_step(float *restrict u, float *restrict v, size_t k, float decay,
                                   float su, float sv)
{
    size_t c = 0;
    for (; c + LANES <= k; c += LANES) {
        V16 x, y;
        V16_LOAD(x, u + c), V16_LOAD(y, v + c);
        const V16 nx = x * decay + y * su, ny = y * decay + x * sv;
        memcpy(u + c, &nx, sizeof nx);
        memcpy(v + c, &ny, sizeof ny);
    }
    for (; c < k; c++) {
        const float x = u[c], y = v[c];
        u[c] = x * decay + y * su;
        v[c] = y * decay + x * sv;
    }
}

/* Row-wise Adagrad's step scale: the row's accumulator *acc gains gain (the mean of the
 * squares of the row's gradient) and the step is -lr / (sqrt(acc) + eps), formed once per
 * row (neg_lr = -lr). */
LANES_INLINE float kernel_adagrad_scale(float *acc, float gain, float neg_lr, float eps)
{
    *acc = *acc + gain;
    return neg_lr / (sqrtf(*acc) + eps);
}

#endif
