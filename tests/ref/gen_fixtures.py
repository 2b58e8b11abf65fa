#!/usr/bin/python3
"""gen_fixtures.py - writes the reference fixtures that tests/unit/test_reference.c checks
collab-mpi's kernels, optimizers and schedules against.

    /usr/bin/python3 tests/ref/gen_fixtures.py tests/fixtures

Needs torch (Debian python3-torch 1.13) and numpy. Deterministic: every random draw is
seeded here, so rerunning on the same machine rewrites identical files.

The numerics are fastai v2's (chapter 8 of fastbook), taken from the plain-PyTorch
replica ../shared/reference/seed_replica.py, which lives outside this repository; the
few pieces needed are COPIED below (each marked "from seed_replica.py") so that the
fixtures can be regenerated without it. The fastai SGD and the lr_find suggestions
`minimum` and `steep`, absent from the replica, are written from fastai's source
(fastai/optimizer.py, fastai/callback/schedule.py) and marked so.

Files written (text; lines starting with '#' are comments):

    @NAME ROWS COLS
    ROWS lines of COLS whitespace-separated numbers

float32 tensors are printed with %.9g (round-trips float32 exactly), doubles with
%.17g, integers with %d. Files:

    model_dot.txt        DotProduct, no y_range
    model_dot_range.txt  DotProduct, y_range (0, 5.5)
    model_dotbias.txt    DotProductBias, y_range (0, 5.5)
    schedule.txt         one-cycle lr/mom, AvgSmoothLoss, lr_find curves + suggestions

Each model file holds a tiny problem (7 users, 11 items, k = 5, 40 ratings; user 6 and
item 10 are never rated, so only weight decay moves them), the initial tables from
torch's (fastai's) init, then for batch 0: z (the pre-activation), predictions, MSE
loss and the dense gradient of every table; the tables after one fresh fastai-Adam
step; and the tables after 20 steps of fit_one_cycle (Adam, and fastai SGD with the
scheduled momentum) over the fixed batch sequence `steps`, with per-step losses.
Each file also records, in comments, how far a float64 run of the same computation
lands from the float32 one: a measure of the rounding noise a C implementation with a
different operation order can be expected to show.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

N_USERS, N_ITEMS, K = 7, 11, 5
N_RATINGS, BS, N_EPOCHS = 40, 8, 4
N_STEPS = N_EPOCHS * (N_RATINGS // BS)   # 20
Y_RANGE = (0.0, 5.5)
ADAM1 = dict(lr=0.05, mom=0.9, wd=0.1, sqr_mom=0.99, eps=1e-5)
CYCLE_ADAM = dict(lr_max=0.05, wd=0.1)
CYCLE_SGD = dict(lr_max=0.5, wd=0.1)
CYCLE = dict(div=25.0, div_final=1e5, pct_start=0.25, moms=(0.95, 0.85, 0.95))


# ------------------------------------------------------------------ from seed_replica.py
def trunc_normal_(x, mean=0., std=1.):
    "fastai trunc_normal_ (approximation)"
    return x.normal_().fmod_(2).mul_(std).add_(mean)


class Embedding(nn.Embedding):
    "fastai Embedding: nn.Embedding with trunc_normal_(std=0.01) init"
    def __init__(self, ni, nf, std=0.01):
        super().__init__(ni, nf)
        trunc_normal_(self.weight.data, std=std)


def sigmoid_range(x, low, high): return torch.sigmoid(x) * (high - low) + low


class DotProduct(nn.Module):
    def __init__(self, n_users, n_movies, n_factors, y_range=None):
        super().__init__()
        self.user_factors = Embedding(n_users, n_factors)
        self.movie_factors = Embedding(n_movies, n_factors)
        self.y_range = y_range

    def forward(self, x):
        users = self.user_factors(x[:, 0])
        movies = self.movie_factors(x[:, 1])
        res = (users * movies).sum(dim=1)
        return res if self.y_range is None else sigmoid_range(res, *self.y_range)


class DotProductBias(nn.Module):
    def __init__(self, n_users, n_movies, n_factors, y_range=(0, 5.5)):
        super().__init__()
        self.user_factors = Embedding(n_users, n_factors)
        self.user_bias = Embedding(n_users, 1)
        self.movie_factors = Embedding(n_movies, n_factors)
        self.movie_bias = Embedding(n_movies, 1)
        self.y_range = y_range

    def forward(self, x):
        users = self.user_factors(x[:, 0])
        movies = self.movie_factors(x[:, 1])
        res = (users * movies).sum(dim=1, keepdim=True)
        res += self.user_bias(x[:, 0]) + self.movie_bias(x[:, 1])
        return sigmoid_range(res, *self.y_range)


class FastaiAdam:
    "fastai.optimizer.Adam (decoupled wd, dampened + debiased moments), one param group"
    def __init__(self, params, lr, mom=0.9, sqr_mom=0.99, eps=1e-5, wd=0.01):
        self.params = [p for p in params]
        self.lr, self.mom, self.sqr_mom, self.eps, self.wd = lr, mom, sqr_mom, eps, wd
        self.state = {p: {} for p in self.params}

    @torch.no_grad()
    def step(self):
        lr, mom, sqr_mom, eps, wd = self.lr, self.mom, self.sqr_mom, self.eps, self.wd
        for p in self.params:
            if p.grad is None: continue
            g = p.grad
            st = self.state[p]
            if wd != 0: p.mul_(1 - lr * wd)                                   # weight_decay
            ga = st.get('grad_avg')
            if ga is None: ga = st['grad_avg'] = torch.zeros_like(g)
            ga.mul_(mom).add_(g, alpha=1 - mom)                                # average_grad(dampening=True)
            sa = st.get('sqr_avg')
            if sa is None: sa = st['sqr_avg'] = torch.zeros_like(g)
            sa.mul_(sqr_mom).addcmul_(g, g, value=1 - sqr_mom)                 # average_sqr_grad
            step = st['step'] = st.get('step', 0) + 1                          # step_stat
            debias1 = (1 - mom) * (1 - mom ** step) / (1 - mom)                # debias(mom, 1-mom, step)
            debias2 = (1 - sqr_mom) * (1 - sqr_mom ** step) / (1 - sqr_mom)
            p.addcdiv_(ga, (sa / debias2).sqrt() + eps, value=-lr / debias1)  # adam_step

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.detach_(); p.grad.zero_()


def sched_cos(start, end, pos): return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combined_cos(pct, start, middle, end):
    "combine_scheds([pct,1-pct], [SchedCos(start,middle), SchedCos(middle,end)])"
    def _inner(pos):
        if pos < pct: return sched_cos(start, middle, pos / pct)
        return sched_cos(middle, end, (pos - pct) / (1 - pct))
    return _inner


class AvgSmoothLoss:
    def __init__(self, beta=0.98): self.beta = beta; self.reset()
    def reset(self): self.count, self.val = 0, 0.
    def accumulate(self, loss):
        self.count += 1
        self.val = loss + self.beta * (self.val - loss)   # torch.lerp(loss, val, beta)
    @property
    def value(self): return self.val / (1 - self.beta ** self.count)


def loss_func(pred, targ): return F.mse_loss(pred.view(-1), targ.float().view(-1))  # MSELossFlat


def loss_any(pred, targ):
    "loss_func in pred's dtype (float64 for the rounding-noise run)"
    if pred.dtype == torch.float32: return loss_func(pred, targ)
    return F.mse_loss(pred.view(-1), targ.to(pred.dtype).view(-1))


def valley(lrs, losses):
    "fastai valley suggestion (longest decreasing subsequence), on lists of floats"
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx]), idx


# ------------------------------------------------------------------ from fastai's source
class FastaiSGD:
    """fastai.optimizer.SGD(decouple_wd=True): cbs weight_decay, average_grad
    (dampening=False) when mom != 0, sgd_step.  [fastai/optimizer.py]"""
    def __init__(self, params, lr, mom=0., wd=0.):
        self.params = [p for p in params]
        self.lr, self.mom, self.wd = lr, mom, wd
        self.state = {p: {} for p in self.params}

    @torch.no_grad()
    def step(self):
        for p in self.params:
            if p.grad is None: continue
            if self.wd != 0: p.mul_(1 - self.lr * self.wd)     # weight_decay
            if self.mom != 0:
                st = self.state[p]
                ga = st.get('grad_avg')
                if ga is None: ga = st['grad_avg'] = torch.zeros_like(p.grad)
                ga.mul_(self.mom).add_(p.grad, alpha=1.0)      # average_grad(dampening=False)
                p.add_(ga, alpha=-self.lr)                     # sgd_step
            else:
                p.add_(p.grad, alpha=-self.lr)

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.detach_(); p.grad.zero_()


def lrfind_trim(lrs, losses, num_it):
    "Learner.lr_find: lrs[num_it//10:-5], losses likewise, cut at the first NaN"
    start = num_it // 10
    l_lrs, l_losses = list(lrs[start:-5]), list(losses[start:-5])
    nan = [i for i, v in enumerate(l_losses) if v != v]
    if nan: l_lrs, l_losses = l_lrs[:nan[0]], l_losses[:nan[0]]
    return start, np.array(l_lrs), np.array(l_losses)


def minimum(lrs, losses):
    "fastai minimum: lr_min = lrs[losses.argmin()]; suggestion lr_min/10"
    i = int(np.argmin(losses))
    return float(lrs[i]) / 10, i


def steep(lrs, losses):
    "fastai steep: steepest descent of loss against log(lr)"
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    i = int(np.argmin(grads))
    return float(lrs[i]), i


# ------------------------------------------------------------------ fixture writer
class Writer:
    def __init__(self, path, title):
        self.f = open(path, 'w')
        self.f.write(f'# {title}\n# generated by tests/ref/gen_fixtures.py; do not edit\n')

    def comment(self, text):
        for line in text.splitlines(): self.f.write(f'# {line}\n')

    def block(self, name, a, kind):
        "kind: 'f' float32 (%.9g), 'd' double (%.17g), 'i' integer"
        a = np.asarray(a)
        if a.ndim == 0: a = a.reshape(1, 1)
        elif a.ndim == 1: a = a.reshape(1, -1)
        rows, cols = a.shape
        self.f.write(f'@{name} {rows} {cols}\n')
        fmt = {'f': lambda v: '%.9g' % np.float32(v), 'd': lambda v: '%.17g' % float(v),
               'i': lambda v: '%d' % int(v)}[kind]
        for r in range(rows): self.f.write(' '.join(fmt(v) for v in a[r]) + '\n')

    def close(self): self.f.close()


# ------------------------------------------------------------------ model cases
def make_data():
    "40 ratings; users 0..5 and items 0..9 only (user 6, item 10 never rated)."
    g = torch.Generator().manual_seed(20240601)
    u = torch.randint(0, N_USERS - 1, (N_RATINGS,), generator=g)
    i = torch.randint(0, N_ITEMS - 1, (N_RATINGS,), generator=g)
    y = torch.randint(1, 6, (N_RATINGS,), generator=g).float()
    steps = torch.cat([torch.randperm(N_RATINGS, generator=g) for _ in range(N_EPOCHS)])
    return u, i, y, steps.view(N_STEPS, BS)


def make_model(case):
    torch.manual_seed({'dot': 1, 'dot_range': 2, 'dotbias': 3}[case])
    if case == 'dot': return DotProduct(N_USERS, N_ITEMS, K)
    if case == 'dot_range': return DotProduct(N_USERS, N_ITEMS, K, y_range=Y_RANGE)
    return DotProductBias(N_USERS, N_ITEMS, K, y_range=Y_RANGE)


def tables(model):
    "name -> parameter, in the order of the C Model layout (user_f, user_b, item_f, item_b)"
    names = [('user_f', 'user_factors'), ('user_b', 'user_bias'),
             ('item_f', 'movie_factors'), ('item_b', 'movie_bias')]
    return [(c, getattr(model, t).weight) for c, t in names if hasattr(model, t)]


def pre_activation(model, x):
    "z: the dot product (+ biases) before sigmoid_range, as the forward computes it"
    with torch.no_grad():
        res = (model.user_factors(x[:, 0]) * model.movie_factors(x[:, 1])).sum(dim=1)
        if hasattr(model, 'user_bias'):
            res = res + (model.user_bias(x[:, 0]) + model.movie_bias(x[:, 1])).view(-1)
    return res


def run_case(case, dtype, data):
    """All quantities of one model case, computed in dtype (float32 = the fixture,
    float64 = the rounding-noise estimate). Returns a dict of numpy arrays."""
    u, i, y, steps = data
    x = torch.stack([u, i], 1)
    y = y.to(dtype)
    base = make_model(case).to(dtype)
    out = {}
    for name, p in tables(base): out['init_' + name] = p.detach().numpy().copy()

    # one batch: forward, loss, gradients
    model = make_model(case).to(dtype)
    b = steps[0]
    out['z'] = pre_activation(model, x[b]).numpy()
    pred = model(x[b])
    loss = loss_any(pred, y[b])
    loss.backward()
    out['pred'] = pred.detach().view(-1).numpy()
    out['loss'] = np.array([loss.item()])
    for name, p in tables(model): out['grad_' + name] = p.grad.numpy().copy()

    # one fresh Adam step from the initial tables with those gradients
    opt = FastaiAdam(model.parameters(), lr=ADAM1['lr'], mom=ADAM1['mom'],
                     sqr_mom=ADAM1['sqr_mom'], eps=ADAM1['eps'], wd=ADAM1['wd'])
    opt.step()
    for name, p in tables(model): out['adam1_' + name] = p.detach().numpy().copy()

    # 20 steps of fit_one_cycle, Adam and SGD
    for tag, cfg in (('adam', CYCLE_ADAM), ('sgd', CYCLE_SGD)):
        model = make_model(case).to(dtype)
        if tag == 'adam':
            opt = FastaiAdam(model.parameters(), lr=1e-3, wd=cfg['wd'])
        else:
            opt = FastaiSGD(model.parameters(), lr=1e-3, mom=0.9, wd=cfg['wd'])
        lr_s = combined_cos(CYCLE['pct_start'], cfg['lr_max'] / CYCLE['div'], cfg['lr_max'],
                            cfg['lr_max'] / CYCLE['div_final'])
        mom_s = combined_cos(CYCLE['pct_start'], *CYCLE['moms'])
        losses = []
        for it in range(N_STEPS):
            pos = it / N_STEPS
            opt.lr, opt.mom = lr_s(pos), mom_s(pos)
            loss = loss_any(model(x[steps[it]]), y[steps[it]])
            loss.backward()
            opt.step(); opt.zero_grad()
            losses.append(loss.item())
        out[tag + '20_loss'] = np.array(losses)
        for name, p in tables(model): out[tag + '20_' + name] = p.detach().numpy().copy()
    return out


def write_case(outdir, case, data):
    r32 = run_case(case, torch.float32, data)
    r64 = run_case(case, torch.float64, data)
    u, i, y, steps = data
    w = Writer(os.path.join(outdir, f'model_{case}.txt'),
               f'collab-mpi reference fixture: model {case}')
    has_bias = case == 'dotbias'
    w.comment(
        f'kind: 0 = MODEL_DOT, 1 = MODEL_DOTBIAS; has_range, y_lo, y_hi: sigmoid_range\n'
        f'loss = mean squared error over the batch (fastai MSELossFlat); gradients are\n'
        f'dense (nn.Embedding without sparse grads). adam1_*: tables after one fresh\n'
        f'fastai-Adam step with the adam1 settings. adam20_*, sgd20_*: tables after\n'
        f'{N_STEPS} steps of fit_one_cycle (div {CYCLE["div"]:g}, '
        f'div_final {CYCLE["div_final"]:g}, pct_start {CYCLE["pct_start"]:g},\n'
        f'moms {CYCLE["moms"]}, lr and mom set before step it at pos = it/{N_STEPS}) over the\n'
        f'batches `steps` (rows of rating indices), with fastai Adam (sqr_mom 0.99, eps 1e-5)\n'
        f'and fastai SGD (momentum buffer mom*m + g); *_loss: each step\'s batch loss.')
    w.block('kind', [1 if has_bias else 0], 'i')
    w.block('has_range', [0 if case == 'dot' else 1], 'i')
    w.block('y_range', list(Y_RANGE), 'd')
    w.block('sizes', [N_USERS, N_ITEMS, K, N_RATINGS, BS, N_STEPS], 'i')
    w.block('rating_user', u.numpy(), 'i')
    w.block('rating_item', i.numpy(), 'i')
    w.block('rating_y', y.numpy(), 'd')
    w.block('steps', steps.numpy(), 'i')
    w.block('adam1', [ADAM1['lr'], ADAM1['mom'], ADAM1['wd'], ADAM1['sqr_mom'], ADAM1['eps']], 'd')
    w.block('cycle_adam', [CYCLE_ADAM['lr_max'], CYCLE_ADAM['wd']], 'd')
    w.block('cycle_sgd', [CYCLE_SGD['lr_max'], CYCLE_SGD['wd']], 'd')
    w.block('cycle', [CYCLE['div'], CYCLE['div_final'], CYCLE['pct_start'], *CYCLE['moms']], 'd')
    noise = []
    for key in r32:
        d = np.max(np.abs(r32[key].astype(np.float64) - r64[key]))
        scale = np.max(np.abs(r64[key]))
        noise.append(f'{key:18s} max|f32-f64| {d:.3g}   max|value| {scale:.3g}')
    w.comment('rounding noise: float32 fixture against the same computation in float64\n'
              + '\n'.join(noise))
    for key, val in r32.items():
        w.block(key, val if val.ndim == 2 else val.reshape(1, -1), 'f')
    w.close()
    return r32, r64


# ------------------------------------------------------------------ schedules
def lrfind_lr(start, end, it, num_it): return start * (end / start) ** (it / num_it)


def lr_curves():
    """Synthetic lr_find recordings: (name, num_it, losses). lrs follow the sweep
    1e-7 .. 10; losses are a dip in log(lr) plus seeded noise, as a real curve is."""
    rng = np.random.RandomState(7)
    curves = []
    # full sweep, clear dip near lr 3e-2 then divergence
    n = 100
    x = np.log10([lrfind_lr(1e-7, 10, t, n) for t in range(n)])
    loss = 2.0 - 1.2 / (1 + np.exp(-(x + 3.5) * 2.0)) + 0.9 * np.maximum(x + 1.5, 0) ** 2
    curves.append(('curve_a', n, n, loss + rng.normal(0, 0.01, n)))
    # stopped early at 73 points (smooth > 4*best), with a NaN at 64 that cuts the list
    loss = 3.0 - 2.0 / (1 + np.exp(-(x + 4.0) * 1.5)) + 0.4 * np.maximum(x + 2.5, 0) ** 3
    loss = loss + rng.normal(0, 0.02, n)
    loss = loss[:73].copy(); loss[64] = np.nan
    curves.append(('curve_b', n, 73, loss))
    # short sweep (num_it 50), monotone descent with noise, a late steep drop
    n = 50
    x = np.log10([lrfind_lr(1e-7, 10, t, n) for t in range(n)])
    loss = 1.5 - 0.05 * (x + 7) - 0.8 / (1 + np.exp(-(x + 2.0) * 4.0)) + rng.normal(0, 0.005, n)
    curves.append(('curve_c', n, n, loss))
    return curves


def check_f32_agrees(lrs, losses, num_it):
    """fastai runs the suggestions on float32 tensors; make sure the curve has no near
    ties, so the float64 answers written here are also fastai's."""
    s, a, b = lrfind_trim(lrs, losses, num_it)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    assert valley(a, b)[1] == valley(a32, b32)[1]
    assert minimum(a, b)[1] == minimum(a32, b32)[1]
    assert steep(a, b)[1] == steep(a32, b32)[1]


def write_schedule(outdir):
    w = Writer(os.path.join(outdir, 'schedule.txt'), 'collab-mpi reference fixture: schedules')
    w.comment('onecycle_*: fit_one_cycle lr and mom before batch it of total (double)\n'
              'columns: it, lr, mom. params: lr_max, div, div_final, pct_start, moms, total')
    for tag, lr_max, total, its in (('onecycle_a', 0.05, 20, range(21)),
                                     ('onecycle_b', 5e-3, 1000,
                                      [0, 1, 2, 100, 249, 250, 251, 400, 625, 998, 999, 1000])):
        lr_s = combined_cos(CYCLE['pct_start'], lr_max / CYCLE['div'], lr_max,
                            lr_max / CYCLE['div_final'])
        mom_s = combined_cos(CYCLE['pct_start'], *CYCLE['moms'])
        w.block(tag + '_params', [lr_max, CYCLE['div'], CYCLE['div_final'], CYCLE['pct_start'],
                                  *CYCLE['moms'], total], 'd')
        w.block(tag, [[it, lr_s(it / total), mom_s(it / total)] for it in its], 'd')

    w.comment('smooth: AvgSmoothLoss(beta 0.98); columns: loss added, value after it')
    rng = np.random.RandomState(11)
    s = AvgSmoothLoss(0.98)
    rows = []
    for t in range(15):
        loss = float(np.float32(1.0 + 2.0 * math.exp(-t / 4) + rng.normal(0, 0.05)))
        s.accumulate(loss)
        rows.append([loss, s.value])
    w.block('smooth', rows, 'd')

    w.comment('lr_find curves: <name>_meta = num_it, n; <name>_lrs, <name>_losses (n);\n'
              '<name>_suggest rows valley, minimum, steep: suggested lr, index into lrs of\n'
              'the chosen point (for minimum the minimum; the suggestion is its lr/10)')
    for name, num_it, n, losses in lr_curves():
        lrs = np.array([lrfind_lr(1e-7, 10, t, num_it) for t in range(n)])
        check_f32_agrees(lrs, losses, num_it)
        start, a, b = lrfind_trim(lrs, losses, num_it)
        sug = [valley(a, b), minimum(a, b), steep(a, b)]
        w.block(name + '_meta', [num_it, n], 'i')
        w.block(name + '_lrs', lrs.reshape(1, -1), 'd')
        w.block(name + '_losses', losses.reshape(1, -1), 'd')
        w.block(name + '_suggest', [[lr, start + idx] for lr, idx in sug], 'd')
    w.close()


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: gen_fixtures.py OUTDIR')
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    data = make_data()
    for case in ('dot', 'dot_range', 'dotbias'):
        write_case(outdir, case, data)
    write_schedule(outdir)


if __name__ == '__main__':
    main()
