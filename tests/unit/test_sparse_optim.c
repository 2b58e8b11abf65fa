/* test_sparse_optim.c - the sparse optimizers (optim.h): lazy Adam and row-wise Adagrad,
 * with lazy decoupled weight decay (docs/OPTIMIZERS.md).
 *
 *   1. Sparse Adam with every row touched at every step is dense Adam, bit for bit
 *      (rows given in a scrambled order, with repeats: each row is updated once a step).
 *   2. A row skipped for k steps: when next touched at step t after step s it is first
 *      multiplied by float(P[t-1] / P[s]), P[i] = prod_{j<=i} (1 - lr_j*wd) in double, then
 *      gets Adam's update with the global step count; its moments are not decayed while
 *      it is skipped. optim_sync applies the pending factor float(P[now] / P[s]) to every
 *      row and restarts P at 1.
 *   3. Row-wise Adagrad by hand: acc += mean(g^2) over the row; p = p*(1 - lr*wd) +
 *      g * (-lr / (sqrt(acc) + eps)), in float, and against the same formula in double. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "collab/model/optim.h"
#define OPTIM_REF_SEED 0x51a5e0ull
#include "optim_ref.h"
#include "../test.h"

/* Five users and four items, 7 factors and a bias each, in the model's flat layout. */
enum { K = 7, NU = 5, NI = 4, NP = NU * K + NU + NI * K + NI };

static const OptimGroup GROUPS[2] = {
    {NU, {0, NU *K}, {K, 1}},
    {NI, {NU * K + NU, NU *K + NU + NI *K}, {K, 1}},
};

static void test_all_rows_is_dense(void)
{
    const OptimConfig dense_cfg = {OPTIM_ADAM, 0.1, 0.99, 1e-5};
    const OptimConfig sparse_cfg = {OPTIM_SPARSE_ADAM, 0.1, 0.99, 1e-5};
    const int32_t urows[] = {3, 0, 4, 3, 1, 2, 0}, irows[] = {2, 2, 1, 3, 0};
    const double lrs[4] = {3e-3, 5e-2, 1e-4, 2e-2}, moms[4] = {0.95, 0.85, 0.9, 0.9};
    float pd[NP], ps[NP], g[NP];
    Optim d, s;
    optim_init(&d, &dense_cfg, NP);
    optim_init(&s, &sparse_cfg, NP);
    optim_set_groups(&d, GROUPS, 2); /* no-op for a dense kind */
    optim_set_groups(&s, GROUPS, 2);
    TEST_CHECK(d.n_groups == 0 && s.n_groups == 2);
    fill(pd, NP, 0.5);
    memcpy(ps, pd, sizeof pd);
    for (int step = 0; step < 4; step++) {
        fill(g, NP, 0.1);
        optim_step(&d, pd, g, lrs[step], moms[step]);
        optim_begin_step(&s, ps, lrs[step]);
        optim_step_rows(&s, ps, g, 0, urows, sizeof urows / sizeof *urows, lrs[step], moms[step]);
        optim_step_rows(&s, ps, g, 1, irows, sizeof irows / sizeof *irows, lrs[step], moms[step]);
        TEST_CHECK(s.step == d.step);
    }
    TEST_CHECK(memcmp(pd, ps, sizeof pd) == 0);
    TEST_CHECK(memcmp(d.m, s.m, sizeof pd) == 0);
    TEST_CHECK(memcmp(d.v, s.v, sizeof pd) == 0);
    optim_sync(&s, ps); /* every row is current: nothing changes */
    TEST_CHECK(memcmp(pd, ps, sizeof pd) == 0);
    optim_free(&d);
    optim_free(&s);
}

/* Item 1 is touched at steps 1 and 5 only, item 0 at every step; the others never. */
static void test_lazy_decay(void)
{
    const OptimConfig cfg = {OPTIM_SPARSE_ADAM, 0.1, 0.99, 1e-5};
    const double lrs[7] = {1e-2, 5e-2, 3e-2, 2e-2, 1e-2, 4e-2, 5e-3}, mom = 0.9;
    float p[NP], p0[NP], g[NP], m_ref[K + 1] = {0}, v_ref[K + 1] = {0}, row[K + 1];
    Optim o;
    optim_init(&o, &cfg, NP);
    optim_set_groups(&o, GROUPS, 2);
    fill(p, NP, 0.5);
    memcpy(p0, p, sizeof p);
    const size_t f1 = GROUPS[1].off[0] + 1 * K, b1 = GROUPS[1].off[1] + 1;
    for (int c = 0; c < K; c++)
        row[c] = p[f1 + c];
    row[K] = p[b1];
    double prod[8] = {1.0}; /* P after step i */
    for (int i = 1; i <= 7; i++)
        prod[i] = prod[i - 1] * (1.0 - lrs[i - 1] * cfg.wd);
    float m_before[NP];
    /* Lazy: at step 5's start item 1's moments are still step 1's. */
    for (int i = 1; i <= 7; i++) {
        fill(g, NP, 0.1);
        const int32_t touched[2] = {0, 1};
        const size_t n = (i == 1 || i == 5) ? 2 : 1;
        if (i == 5) {
            memcpy(m_before, o.m, sizeof m_before);
            for (int c = 0; c < K; c++)
                TEST_CHECK(m_before[f1 + c] == m_ref[c]);
            TEST_CHECK(m_before[b1] == m_ref[K]);
            const float f = (float)(prod[4] / prod[1]); /* steps 2, 3, 4 skipped */
            for (int c = 0; c <= K; c++)
                row[c] *= f;
        }
        if (n == 2)
            for (int c = 0; c <= K; c++)
                adam_ref(&row[c], &m_ref[c], &v_ref[c], g[c < K ? f1 + c : b1], lrs[i - 1], mom,
                         cfg.wd, cfg.sqr_mom, cfg.eps, i);
        optim_begin_step(&o, p, lrs[i - 1]);
        optim_step_rows(&o, p, g, 1, touched, n, lrs[i - 1], mom);
        TEST_CHECK(o.decay_prod == prod[i]);
    }
    /* Users (never touched) did not move before the sync. */
    for (int c = 0; c < K; c++)
        TEST_CHECK(p[f1 + c] == row[c]);
    TEST_CHECK(p[b1] == row[K]);
    TEST_CHECK(memcmp(p, p0, (NU * K + NU) * sizeof(float)) == 0);
    /* optim_sync: item 1 owes steps 6, 7; item 2 every step; item 0 nothing. */
    float item0[K];
    memcpy(item0, p + GROUPS[1].off[0], sizeof item0);
    optim_sync(&o, p);
    for (int c = 0; c < K; c++) {
        TEST_CHECK(p[f1 + c] == row[c] * (float)(prod[7] / prod[5]));
        TEST_CHECK(p[GROUPS[1].off[0] + 2 * K + c] ==
                   p0[GROUPS[1].off[0] + 2 * K + c] * (float)prod[7]);
        TEST_CHECK(p[GROUPS[0].off[0] + c] == p0[GROUPS[0].off[0] + c] * (float)prod[7]);
    }
    TEST_CHECK(memcmp(item0, p + GROUPS[1].off[0], sizeof item0) == 0);
    TEST_CHECK(o.decay_prod == 1.0 && o.decay_at[1][1] == 1.0 && o.decay_at[0][4] == 1.0);
    optim_free(&o);
}

static void test_adagrad(void)
{
    /* One group of two entities: factors of width 3, no bias table. */
    const OptimGroup grp = {2, {0, 0}, {3, 0}};
    const OptimConfig cfg = {OPTIM_ADAGRAD, 0.5, 0.0, 1e-10};
    float p[6] = {1.0f, 2.0f, -1.0f, 0.25f, 0.5f, 0.75f}, g[6] = {0.3f, -0.4f, 0.0f, 9, 9, 9};
    Optim o;
    optim_init(&o, &cfg, 6);
    optim_set_groups(&o, &grp, 1);
    TEST_CHECK(o.m == NULL && o.v == NULL && o.acc[0][0] != NULL && o.acc[0][1] == NULL);
    const int32_t row0 = 0;
    optim_begin_step(&o, p, 0.1);
    optim_step_rows(&o, p, g, 0, &row0, 1, 0.1, 0.9);
    /* acc = (0.09 + 0.16 + 0) / 3; p = p * 0.95 - 0.1 g / sqrt(acc), by hand in double. */
    const double acc = (0.3 * 0.3 + 0.4 * 0.4) / 3.0, den = sqrt(acc);
    TEST_CLOSE(o.acc[0][0][0], acc, 1e-6, 0);
    TEST_CLOSE(p[0], 0.95 - 0.1 * 0.3 / den, 1e-6, 0);
    TEST_CLOSE(p[1], 1.90 + 0.1 * 0.4 / den, 1e-6, 0);
    TEST_CLOSE(p[2], -0.95, 1e-7, 0);
    /* The float formula exactly. */
    const float af = (0.3f * 0.3f + -0.4f * -0.4f + 0.0f) / 3.0f, df = sqrtf(af) + 1e-10f;
    TEST_CHECK(o.acc[0][0][0] == af);
    TEST_CHECK(p[0] == 1.0f * 0.95f + 0.3f * (-0.1f / df));
    /* Row 1 untouched; at step 2 it owes step 1's decay, then its own update. */
    TEST_CHECK(p[3] == 0.25f && o.acc[0][0][1] == 0.0f);
    const int32_t row1 = 1;
    const float g2[6] = {0, 0, 0, 0.2f, 0.2f, 0.2f};
    optim_begin_step(&o, p, 0.1);
    optim_step_rows(&o, p, g2, 0, &row1, 1, 0.1, 0.9);
    const float a1 = (0.2f * 0.2f + 0.2f * 0.2f + 0.2f * 0.2f) / 3.0f;
    TEST_CHECK(o.acc[0][0][1] == a1);
    TEST_CHECK(p[3] == (0.25f * 0.95f) * 0.95f + 0.2f * (-0.1f / (sqrtf(a1) + 1e-10f)));
    TEST_CLOSE(p[3], 0.25 * 0.95 * 0.95 - 0.1, 1e-6, 0); /* g / sqrt(g^2) = 1 */
    optim_free(&o);
}

int main(void)
{
    test_all_rows_is_dense();
    test_lazy_decay();
    test_adagrad();
    return test_done("test_sparse_optim");
}
