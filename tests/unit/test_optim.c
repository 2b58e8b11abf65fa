/* test_optim.c - fastai's Adam and SGD (optim.h) against the update written out here
 * element by element in float, in the operation order of optim.h's formulas (read with
 * C precedence), with scalars computed in double as fastai's Python does and rounded to
 * float once:
 *
 *   p = p * f(1 - lr*wd)
 *   m = m * f(mom) + f(1-mom) * g
 *   v = v * f(sqr_mom) + f(1-sqr_mom) * (g*g)
 *   p = p + f(-lr/db1) * m / (sqrtf(v * f(1/db2)) + f(eps))   i.e. (f(-lr/db1) * m) / denom
 *   db1, db2 = fastai's debias(mom, 1-mom, t) = (1-mom) (1-mom^t) / (1-mom), likewise db2
 *   SGD: p = p * f(1 - lr*wd); m = m * f(mom) + g; p = p + f(-lr) * m   (g when mom = 0)
 *
 * The last Adam line is PyTorch's addcdiv_(m, denom, value=s) = p + (s*m)/denom, except
 * that v is multiplied by the reciprocal of db2 instead of divided by db2: one division
 * fewer per element (see optim.c), a difference of at most an ulp inside the sqrt. (PyTorch's m and
 * v updates use fused multiply-adds on AVX2/AVX-512 machines, which no FMA-free build can match bit
 * for bit; test_reference covers agreement with PyTorch to a tolerance.)
 *
 * The optimizer is built without FMA contraction, so its vectorised body and its scalar
 * tail must round exactly like this loop: the comparison is bitwise, on length 37 (an
 * odd length leaves a tail after any vector width). */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/model/optim.h"
#define OPTIM_REF_SEED 0x1234567ull
#include "optim_ref.h"
#include "../test.h"

enum { N = 37 };

static void sgd_ref(float *p, float *m, float g, double lr, double mom, double wd)
{
    *p = *p * (float)(1 - lr * wd);
    if (mom != 0) {
        *m = *m * (float)mom + g;
        *p = *p + (float)(-lr) * *m;
    } else {
        *p = *p + (float)(-lr) * g;
    }
}

static int bitwise_equal(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t q = 0; q < n; q++)
        if (memcmp(&a[q], &b[q], sizeof(float)) != 0) {
            fprintf(stderr, "  %s[%zu] = %.9g, by hand %.9g\n", what, q, (double)a[q],
                    (double)b[q]);
            return 0;
        }
    return 1;
}

static int all_zero(const float *g, size_t n)
{
    for (size_t q = 0; q < n; q++)
        if (g[q] != 0.0f)
            return 0;
    return 1;
}

/* Three Adam steps with changing lr and mom (as a schedule sets them) against the hand
 * formula; grads are left unchanged by each step and the step counter advances. */
static void test_adam(void)
{
    const OptimConfig cfg = {OPTIM_ADAM, 0.01, 0.99, 1e-5};
    const double lrs[3] = {3e-3, 5e-2, 1e-4}, moms[3] = {0.95, 0.85, 0.9};
    float p[N], g[N], p_ref[N], m_ref[N] = {0}, v_ref[N] = {0};
    Optim o;
    optim_init(&o, &cfg, N);
    TEST_CHECK(o.step == 0);
    fill(p, N, 0.5);
    memcpy(p_ref, p, sizeof p);
    for (int s = 0; s < 3; s++) {
        fill(g, N, 0.1);
        g[3] = 0.0f; /* a zero gradient and a tiny one, near eps */
        g[4] = 2e-6f;
        for (size_t q = 0; q < N; q++)
            adam_ref(&p_ref[q], &m_ref[q], &v_ref[q], g[q], lrs[s], moms[s], cfg.wd, cfg.sqr_mom,
                     cfg.eps, s + 1);
        float g_before[N];
        memcpy(g_before, g, sizeof g);
        optim_step(&o, p, g, lrs[s], moms[s]);
        TEST_CHECK(o.step == s + 1);
        TEST_CHECK(memcmp(g, g_before, sizeof g) == 0);
        TEST_CHECK(bitwise_equal(p, p_ref, N, "adam p"));
        TEST_CHECK(bitwise_equal(o.m, m_ref, N, "adam m"));
        TEST_CHECK(bitwise_equal(o.v, v_ref, N, "adam v"));
    }

    /* optim_reset: a fresh optimizer again (moments zero, step 0) */
    optim_reset(&o);
    TEST_CHECK(o.step == 0);
    TEST_CHECK(all_zero(o.m, N));
    TEST_CHECK(all_zero(o.v, N));
    memset(m_ref, 0, sizeof m_ref);
    memset(v_ref, 0, sizeof v_ref);
    fill(g, N, 0.1);
    for (size_t q = 0; q < N; q++)
        adam_ref(&p_ref[q], &m_ref[q], &v_ref[q], g[q], 1e-2, 0.9, cfg.wd, cfg.sqr_mom, cfg.eps, 1);
    optim_step(&o, p, g, 1e-2, 0.9);
    TEST_CHECK(o.step == 1);
    TEST_CHECK(bitwise_equal(p, p_ref, N, "adam p after reset"));
    optim_free(&o);
}

/* Without weight decay, parameters whose gradient is (and has always been) zero do not
 * move: m = v = 0 gives a zero update. With weight decay they only shrink. */
static void test_adam_zero_grad(void)
{
    float p[N], p0[N], g[N];
    fill(p0, N, 1.0);
    for (int wd_on = 0; wd_on < 2; wd_on++) {
        OptimConfig cfg = {OPTIM_ADAM, wd_on ? 0.1 : 0.0, 0.99, 1e-5};
        Optim o;
        optim_init(&o, &cfg, N);
        memcpy(p, p0, sizeof p);
        for (int s = 0; s < 4; s++) {
            memset(g, 0, sizeof g);
            optim_step(&o, p, g, 0.05, 0.9);
        }
        if (!wd_on) {
            TEST_CHECK(memcmp(p, p0, sizeof p) == 0);
        } else {
            float want = p0[7];
            for (int s = 0; s < 4; s++)
                want = want * (float)(1 - 0.05 * 0.1);
            TEST_CHECK(p[7] == want);
        }
        optim_free(&o);
    }
}

/* fastai's wd_bn_bias=False: with optim_no_decay_tail(from), zero gradients leave
 * p[from..n) untouched while p[0..from) decays, for Adam and SGD; with gradients, the
 * tail steps exactly as a wd = 0 optimizer steps it. */
static void test_no_decay_tail(void)
{
    const size_t from = 20;
    for (int kind = 0; kind < 2; kind++) {
        const OptimConfig cfg = {kind ? OPTIM_SGD : OPTIM_ADAM, 0.1, 0.99, 1e-5};
        OptimConfig nowd = cfg;
        nowd.wd = 0.0;
        float p[N], p0[N], q[N], g[N];
        fill(p0, N, 1.0);
        fill(g, N, 0.5);
        Optim o, r;
        optim_init(&o, &cfg, N);
        optim_init(&r, &nowd, N);
        optim_no_decay_tail(&o, from);
        memcpy(p, p0, sizeof p);
        memcpy(q, p0, sizeof q);
        for (int s = 0; s < 3; s++) {
            optim_step(&o, p, g, 0.05, 0.9);
            optim_step(&r, q, g, 0.05, 0.9);
        }
        TEST_CHECK(memcmp(p + from, q + from, (N - from) * sizeof(float)) == 0);
        TEST_CHECK(memcmp(p, q, from * sizeof(float)) != 0); /* the head decayed */
        optim_free(&o);
        optim_free(&r);
    }
}

/* SGD with momentum (buffer mom*m + g, no dampening) and without (plain p -= lr*g). */
static void test_sgd(void)
{
    for (int with_mom = 0; with_mom < 2; with_mom++) {
        const OptimConfig cfg = {OPTIM_SGD, 0.1, 0.0, 0.0};
        const double lrs[3] = {0.5, 0.1, 0.02}, moms[3] = {0.95, 0.85, 0.9};
        float p[N], g[N], p_ref[N], m_ref[N] = {0};
        Optim o;
        optim_init(&o, &cfg, N);
        fill(p, N, 0.5);
        memcpy(p_ref, p, sizeof p);
        for (int s = 0; s < 3; s++) {
            double mom = with_mom ? moms[s] : 0.0;
            fill(g, N, 0.1);
            for (size_t q = 0; q < N; q++)
                sgd_ref(&p_ref[q], &m_ref[q], g[q], lrs[s], mom, cfg.wd);
            float g_before[N];
            memcpy(g_before, g, sizeof g);
            optim_step(&o, p, g, lrs[s], mom);
            TEST_CHECK(o.step == s + 1);
            TEST_CHECK(memcmp(g, g_before, sizeof g) == 0);
            TEST_CHECK(bitwise_equal(p, p_ref, N, with_mom ? "sgd+mom p" : "sgd p"));
        }
        if (with_mom)
            TEST_CHECK(bitwise_equal(o.m, m_ref, N, "sgd m"));
        optim_reset(&o);
        TEST_CHECK(o.step == 0);
        TEST_CHECK(o.m == NULL || all_zero(o.m, N));
        optim_free(&o);
    }
}

/* The first SGD momentum step is plain SGD: the buffer starts at zero, so m = g. */
static void test_sgd_first_step(void)
{
    const OptimConfig cfg = {OPTIM_SGD, 0.0, 0.0, 0.0};
    float p[N], q_[N], g[N], g2[N];
    Optim a, b;
    optim_init(&a, &cfg, N);
    optim_init(&b, &cfg, N);
    fill(p, N, 0.5);
    memcpy(q_, p, sizeof p);
    fill(g, N, 0.1);
    memcpy(g2, g, sizeof g);
    optim_step(&a, p, g, 0.1, 0.9);
    optim_step(&b, q_, g2, 0.1, 0.0);
    TEST_CHECK(memcmp(p, q_, sizeof p) == 0);
    optim_free(&a);
    optim_free(&b);
}

int main(void)
{
    test_adam();
    test_adam_zero_grad();
    test_no_decay_tail();
    test_sgd();
    test_sgd_first_step();
    return test_done("test_optim");
}
