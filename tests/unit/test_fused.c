/* test_fused.c - the fused sparse step's kernel against the unfused forward/backward.
 *
 * model_fused_user must give, for each user's ratings of a batch: the predictions of
 * model_forward, the user gradient model_backward accumulates (up to the last bits of the
 * dot product, which it sums in lanes), and each item's gradient, summed in fixed point,
 * within a few quanta of the float sum. The fixed-point totals must not depend on how the
 * ratings are split into groups (ranks), and model_fixed_to_float must invert the scale.
 * Dimension k = 20 exercises the lanes' tail. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/model/model.h"
#include "../test.h"

enum { NU = 4, NI = 5, NR = 11, K = 20, W = K + 1 };

/* Ratings grouped by user (user-major), items repeating so slots are shared. */
static const int32_t USER[NR] = {0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3};
static const int32_t ITEM[NR] = {4, 1, 2, 1, 4, 0, 1, 3, 4, 2, 1};
static const float Y[NR] = {4.0f, 3.5f, 1.0f, 5.0f, 2.0f, 3.0f, 4.5f, 0.5f, 2.5f, 4.0f, 3.0f};

static void fill(float *x, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++)
        x[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * 1.6f;
}

/* Runs the fused kernel over the groups [cut[g], cut[g+1]) and returns the fixed-point
 * item totals per item in tot (NI, W), the user gradients in gu (NU, W), pred (NR). */
static void run_fused(int64_t *tot, float *gu, float *pred, const Model *m, const size_t *cut,
                      size_t ncut, float qscale)
{
    /* One "rank" per group of users: slots are that group's distinct items. */
    memset(tot, 0, sizeof(int64_t) * NI * W);
    for (size_t g = 0; g + 1 < ncut; g++) {
        int32_t slot[NR], slot_of[NI];
        uint8_t first[NR];
        const float *vf[NI];
        float vb[NI];
        int64_t acc[NI * W], item_of[NI];
        size_t u = 0;
        for (int i = 0; i < NI; i++)
            slot_of[i] = -1;
        for (size_t j = cut[g]; j < cut[g + 1]; j++) {
            first[j] = slot_of[ITEM[j]] < 0;
            if (first[j]) {
                slot_of[ITEM[j]] = (int32_t)u;
                item_of[u] = ITEM[j];
                vf[u] = m->item_f + (size_t)ITEM[j] * K;
                vb[u] = m->item_b[ITEM[j]];
                u++;
            }
            slot[j] = slot_of[ITEM[j]];
        }
        const FusedRatings fr = {slot, first, Y, NR, vf, vb, acc, 2.0f / NR, qscale};
        for (size_t j0 = cut[g], j1; j0 < cut[g + 1]; j0 = j1) {
            for (j1 = j0 + 1; j1 < cut[g + 1] && USER[j1] == USER[j0]; j1++)
                ;
            const size_t us = (size_t)USER[j0];
            model_fused_user(gu + us * W, pred, &m->spec, m->user_f + us * K, m->user_b[us], &fr,
                             j0, j1);
        }
        for (size_t s = 0; s < u; s++)
            for (int c = 0; c < W; c++)
                tot[item_of[s] * W + c] += acc[s * W + c];
    }
}

int main(void)
{
    const ModelSpec spec = {MODEL_DOTBIAS, K, 1, 0.0f, 5.5f};
    Model m;
    model_init(&m, &spec, NU, NI);
    fill(m.params, m.n_params, 7);
    /* Reference: the unfused kernels over the whole batch (items gathered per rating). */
    float irows[NR * K], ibias[NR], pred[NR], z[NR], dpred[NR], g_irows[NR * K], g_ibias[NR];
    for (int j = 0; j < NR; j++) {
        memcpy(irows + j * K, m.item_f + ITEM[j] * K, K * sizeof(float));
        ibias[j] = m.item_b[ITEM[j]];
    }
    model_forward(pred, z, &m, USER, irows, ibias, NR);
    model_mse(dpred, pred, Y, NR, NR);
    model_backward(&m, g_irows, g_ibias, dpred, pred, z, USER, irows, NR);
    double item_ref[NI * W] = {0};
    for (int j = 0; j < NR; j++) {
        for (int c = 0; c < K; c++)
            item_ref[ITEM[j] * W + c] += g_irows[j * K + c];
        item_ref[ITEM[j] * W + K] += g_ibias[j];
    }
    /* Fused, as one group (one rank) and as three (three ranks). */
    const int e = 36;
    const float qscale = ldexpf(1.0f, e);
    int64_t tot1[NI * W], tot3[NI * W];
    float gu1[NU * W], gu3[NU * W], pred1[NR], pred3[NR];
    const size_t one[] = {0, NR}, three[] = {0, 3, 5, NR};
    run_fused(tot1, gu1, pred1, &m, one, 2, qscale);
    run_fused(tot3, gu3, pred3, &m, three, 4, qscale);
    TEST_CHECK(memcmp(tot1, tot3, sizeof tot1) == 0);
    TEST_CHECK(memcmp(gu1, gu3, sizeof gu1) == 0);
    TEST_CHECK(memcmp(pred1, pred3, sizeof pred1) == 0);
    for (int j = 0; j < NR; j++)
        TEST_CLOSE(pred1[j], pred[j], 1e-6, 1e-6);
    for (int us = 0; us < NU; us++) {
        for (int c = 0; c < K; c++)
            TEST_CLOSE(gu1[us * W + c], m.g_user_f[us * K + c], 1e-5, 1e-7);
        TEST_CLOSE(gu1[us * W + K], m.g_user_b[us], 1e-5, 1e-7);
    }
    /* Fixed point back to float: within a quantum per contribution of the float sum. */
    float g[W];
    for (int i = 0; i < NI; i++) {
        model_fixed_to_float(g, tot1 + i * W, W, ldexp(1.0, -e));
        for (int c = 0; c < W; c++)
            TEST_CLOSE(g[c], item_ref[i * W + c], 1e-5, 1e-7);
    }
    /* Exactness of the inverse on a known integer. */
    const int64_t a[2] = {3LL << 40, -(5LL << 20)};
    float back[2];
    model_fixed_to_float(back, a, 2, ldexp(1.0, -40));
    TEST_CHECK(back[0] == 3.0f && back[1] == -5.0f * 0x1p-20f);
    model_free(&m);
    return test_done("test_fused");
}
