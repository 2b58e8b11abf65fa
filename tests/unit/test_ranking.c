/* test_ranking.c - the local pieces behind recommend, similar, biases, evaluate and pca:
 * top-N lists under the total order (score desc, index asc; NaN last), the popularity
 * order and its exclusions, the ranking metrics on a hand-worked example, PCA on points
 * with known principal axes (and the documented sign), and block scoring bit-identical
 * to the training forward pass. No MPI needed. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/use/evaluate.h"
#include "collab/use/infer.h"
#include "collab/model/model.h"
#include "collab/use/pca.h"
#include "collab/use/recs.h"
#include "../test.h"

static void test_topn(void)
{
    TopN t;
    topn_init(&t, 4);
    const float s[] = {0.5f, 2.0f, 1.0f, 2.0f, NAN, 3.0f, 1.0f, -1.0f};
    const int32_t i[] = {10, 7, 3, 2, 11, 9, 1, 4};
    for (size_t j = 0; j < 8; j++)
        topn_push(&t, s[j], i[j]);
    topn_sort(&t);
    /* 3.0 (9), then the tie at 2.0 by index (2 before 7), then 1.0 by index (1 before 3). */
    TEST_CHECK(t.n == 4);
    TEST_CHECK(t.idx[0] == 9 && t.idx[1] == 2 && t.idx[2] == 7 && t.idx[3] == 1);
    TEST_CHECK(t.score[0] == 3.0f && t.score[3] == 1.0f);
    topn_free(&t);
    /* Fewer offers than room: all kept, sorted; a NaN ranks last. */
    topn_init(&t, 5);
    topn_push(&t, NAN, 0);
    topn_push(&t, -2.0f, 6);
    topn_push(&t, 4.0f, 5);
    topn_sort(&t);
    TEST_CHECK(t.n == 3 && t.idx[0] == 5 && t.idx[1] == 6 && t.idx[2] == 0);
    topn_free(&t);
}

static void test_popularity(void)
{
    const int64_t counts[] = {99, 3, 5, 3, 0, 5}; /* item 0 (#na#) never ranks */
    int32_t *order = recs_popularity_order(counts, 6), out[3];
    const int32_t want[] = {2, 5, 1, 3, 4};
    TEST_CHECK(memcmp(order, want, sizeof want) == 0);
    const int32_t rated[] = {1, 5};
    size_t n = recs_popular(out, 3, order, 5, rated, 2);
    TEST_CHECK(n == 3 && out[0] == 2 && out[1] == 3 && out[2] == 4);
    TEST_CHECK(recs_contains(rated, 2, 5) && !recs_contains(rated, 2, 2));
    TEST_CHECK(!recs_contains(rated, 0, 1));
    free(order);
}

static void test_metrics(void)
{
    RankMetrics m;
    double v[RANKM_VALUES];
    rankm_init(&m, 3, 11);
    const int32_t l1[] = {5, 2, 9}, r1[] = {2, 7}, l2[] = {1}, r2[] = {4};
    rankm_add(&m, l1, 3, r1, 2); /* one hit at rank 1 of 2 relevant */
    rankm_add(&m, l2, 1, r2, 1); /* a short list, no hit */
    rankm_values(&m, v);
    const double dcg = 1.0 / log2(3.0), idcg = 1.0 + 1.0 / log2(3.0);
    TEST_CLOSE(v[RANKM_PRECISION], (1.0 / 3.0) / 2.0, 0, 1e-9);
    TEST_CLOSE(v[RANKM_RECALL], 0.5 / 2.0, 0, 1e-9);
    TEST_CLOSE(v[RANKM_NDCG], dcg / idcg / 2.0, 0, 1e-9);
    TEST_CLOSE(v[RANKM_HIT], 0.5, 0, 1e-9);
    TEST_CLOSE(v[RANKM_COVERAGE], 4.0 / 10.0, 0, 1e-12);
    TEST_CHECK(m.users == 2);
    rankm_free(&m);
}

static void test_pca(void)
{
    /* Points a * e1 + b * e2 with e1 = (1, 2)/sqrt5, e2 = (-2, 1)/sqrt5, a and b centred and
     * uncorrelated: variances 2.5 and 0.625 along e1 and e2. */
    const double a[] = {-2, -1, 0, 1, 2}, b[] = {0.5, -1, 0, 1, -0.5}, r5 = sqrt(5.0);
    float x[10];
    for (int i = 0; i < 5; i++) {
        x[2 * i] = (float)((a[i] - 2 * b[i]) / r5);
        x[2 * i + 1] = (float)((2 * a[i] + b[i]) / r5);
    }
    Pca p;
    TEST_CHECK(pca_fit(&p, x, 5, 2, 2) == 0);
    TEST_CLOSE(p.variance[0], 2.5, 0, 1e-6);
    TEST_CLOSE(p.variance[1], 0.625, 0, 1e-6);
    TEST_CLOSE(p.total, 3.125, 0, 1e-6);
    /* Signs: the largest-magnitude loading positive: e1 as is, e2 turned to (2, -1)/sqrt5. */
    TEST_CLOSE(p.components[0], 1 / r5, 0, 1e-6);
    TEST_CLOSE(p.components[1], 2 / r5, 0, 1e-6);
    TEST_CLOSE(p.components[2], 2 / r5, 0, 1e-6);
    TEST_CLOSE(p.components[3], -1 / r5, 0, 1e-6);
    for (int i = 0; i < 5; i++) {
        TEST_CLOSE(p.coords[2 * i], a[i], 0, 1e-6);
        TEST_CLOSE(p.coords[2 * i + 1], -b[i], 0, 1e-6);
    }
    TEST_CLOSE(p.mean[0], 0.0, 0, 1e-7);
    pca_free(&p);
}

/* Scoring a block of items (vectorised across items) gives model_forward's bits. */
static void test_forward_items(void)
{
    enum { N = 37, KF = 5 };
    const ModelSpec specs[2] = {{MODEL_DOTBIAS, KF, 1, 0.0f, 5.5f}, {MODEL_DOT, KF, 0, 0, 0}};
    for (int s = 0; s < 2; s++) {
        Model m;
        model_init(&m, &specs[s], 1, N);
        model_init_params(&m, 7, 3, 0);
        for (size_t e = 0; e < m.n_params; e++) /* make the values less tiny than the init */
            m.params[e] *= 100.0f;
        float t[KF * N], pred[N], z[N], pred1, z1;
        for (size_t j = 0; j < N; j++)
            for (size_t c = 0; c < KF; c++)
                t[c * N + j] = m.item_f[j * KF + c];
        model_forward_items(pred, z, &m.spec, m.user_f, m.user_b ? m.user_b[0] : 0.0f, t, m.item_b,
                            N);
        int same = 1;
        for (size_t j = 0; j < N; j++) {
            const int32_t u = 0;
            model_forward(&pred1, &z1, &m, &u, m.item_f + j * KF, m.item_b ? m.item_b + j : NULL,
                          1);
            same = same && memcmp(&pred1, &pred[j], sizeof pred1) == 0 &&
                   memcmp(&z1, &z[j], sizeof z1) == 0;
        }
        TEST_CHECK(same);
        model_free(&m);
    }
}

int main(void)
{
    test_topn();
    test_popularity();
    test_metrics();
    test_pca();
    test_forward_items();
    return test_done("test_ranking");
}
