#!/usr/bin/python3
"""gen_nn_fixture.py - writes the reference fixtures that tests/unit/test_reference.c checks
collab-mpi's EmbeddingNN head (src/nn.c) against.

    /usr/bin/python3 tests/ref/gen_nn_fixture.py tests/fixtures

Needs torch and numpy. Deterministic (seeded). The head is built from torch modules the
way fastai v2 builds it (fastai/tabular/model.py TabularModel with n_cont=0, out_sz=1,
and fastai/layers.py LinBnDrop(lin_first=True) and BatchNorm, whose bias starts at 1e-3);
the structure is written here from that source, not imported, since fastai is not a
dependency:

    hidden layer: Linear(n_in, n_out, bias=not bn) -> ReLU -> [BatchNorm1d(n_out)]
    final:        Linear(n_last, 1) (with bias) -> sigmoid_range(0, 5.5)

Files (same text format as gen_fixtures.py: '@NAME ROWS COLS' blocks):

    model_nn_bn.txt    layers [6, 4] with BatchNorm (collab_learner(use_nn=True))
    model_nn_nobn.txt  layers [6, 4] without (the book's CollabNN shape)

Blocks: x (B, n_in) the concatenated embeddings of a batch, y (B, 1) targets; params
(P, 1) the head's parameters in collab-mpi's flat layout (docs/FORMAT.md: every Linear
weight transposed to (in, out), then per layer the BatchNorm weight and bias or the
Linear bias, then the final bias); z (B, 1) the output before sigmoid_range in training
mode, loss (1, 1) the MSE of sigmoid_range(z); grad (P, 1) the gradient of the loss in
the same layout, dx (B, n_in) the gradient wrt x; stats (S, 1) the running mean and var
of each BatchNorm after that one training forward (from 0 and 1); z_eval (B, 1) the
output in evaluation mode afterwards (running statistics).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

N_IN, LAYERS, B = 9, [6, 4], 10


def make_head(bn):
    mods, n = [], N_IN
    for w in LAYERS:
        mods += [nn.Linear(n, w, bias=not bn), nn.ReLU()]
        if bn:
            norm = nn.BatchNorm1d(w)
            norm.bias.data.fill_(1e-3)   # fastai's BatchNorm init (weight 1, bias 1e-3)
            norm.weight.data.fill_(1.0)
            mods.append(norm)
        n = w
    mods.append(nn.Linear(n, 1))
    return nn.Sequential(*mods)


def flat(head, bn, grad=False):
    """collab-mpi's layout: weights (in, out), then BN weight+bias or biases, then b_f."""
    lin = [m for m in head if isinstance(m, nn.Linear)]
    norms = [m for m in head if isinstance(m, nn.BatchNorm1d)]
    get = (lambda t: t.grad) if grad else (lambda t: t.data)
    parts = [get(l.weight).t().reshape(-1) for l in lin]
    for i, l in enumerate(lin[:-1]):
        parts += [get(norms[i].weight), get(norms[i].bias)] if bn else [get(l.bias)]
    parts.append(get(lin[-1].bias))
    return torch.cat(parts)


def block(f, name, a):
    a = np.asarray(a, dtype=np.float64)
    a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    f.write(f'@{name} {a.shape[0]} {a.shape[1]}\n')
    for row in a:
        f.write(' '.join('%.9g' % v for v in row) + '\n')


def write(outdir, bn):
    torch.manual_seed(20 + bn)
    head = make_head(bn)
    # off their init, so the BatchNorm parameters' gradients are not degenerate
    with torch.no_grad():
        for m in head:
            if isinstance(m, nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    x = (torch.rand(B, N_IN) * 2 - 1).requires_grad_(True)
    y = torch.randint(1, 6, (B, 1)).float()
    params = flat(head, bn).detach().clone()
    head.train()
    z = head(x)
    pred = torch.sigmoid(z) * 5.5
    loss = ((pred.view(-1) - y.view(-1)) ** 2).mean()
    loss.backward()
    stats = torch.cat([t for m in head if isinstance(m, nn.BatchNorm1d)
                       for t in (m.running_mean, m.running_var)]) if bn else torch.zeros(0)
    head.eval()
    with torch.no_grad():
        z_eval = head(x)
    path = os.path.join(outdir, 'model_nn_%s.txt' % ('bn' if bn else 'nobn'))
    with open(path, 'w') as f:
        f.write('# EmbeddingNN head, layers %s, BatchNorm %s; written by '
                'tests/ref/gen_nn_fixture.py (torch %s)\n' % (LAYERS, bool(bn), torch.__version__))
        block(f, 'x', x.detach())
        block(f, 'y', y)
        block(f, 'params', params)
        block(f, 'z', z.detach())
        block(f, 'loss', [loss.item()])
        block(f, 'grad', flat(head, bn, grad=True))
        block(f, 'dx', x.grad)
        if bn:
            block(f, 'stats', stats)
        block(f, 'z_eval', z_eval)


if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else 'tests/fixtures'
    for bn in (1, 0):
        write(out, bn)
