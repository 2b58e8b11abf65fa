/* evaluate.c - precision, recall, NDCG, hit rate and coverage of top-K lists, summed so
 * that the result does not depend on how the users were spread over the ranks. */
#include "config.h"

#include "collab/use/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/use/recs.h"

void rankm_init(RankMetrics *m, size_t k, size_t n_items)
{
    memset(m, 0, sizeof *m);
    m->k = k;
    m->n_items = n_items;
    m->covered = xcalloc(n_items ? n_items : 1, 1);
}

void rankm_free(RankMetrics *m)
{
    free(m->covered);
    memset(m, 0, sizeof *m);
}

void rankm_add(RankMetrics *m, const int32_t *list, size_t n, const int32_t *rel, size_t n_rel)
{
    const size_t len = n < m->k ? n : m->k, ideal = n_rel < m->k ? n_rel : m->k;
    double dcg = 0.0, idcg = 0.0;
    size_t hits = 0;
    for (size_t i = 0; i < len; i++) {
        m->covered[list[i]] = 1;
        if (recs_contains(rel, n_rel, list[i])) {
            hits++;
            dcg += 1.0 / log2((double)i + 2.0);
        }
    }
    for (size_t i = 0; i < ideal; i++)
        idcg += 1.0 / log2((double)i + 2.0);
    exact_add(&m->sum[RANKM_PRECISION], (double)hits / (double)m->k);
    exact_add(&m->sum[RANKM_RECALL], (double)hits / (double)n_rel);
    exact_add(&m->sum[RANKM_NDCG], idcg > 0.0 ? dcg / idcg : 0.0);
    exact_add(&m->sum[RANKM_HIT], hits > 0 ? 1.0 : 0.0);
    m->users++;
}

void rankm_reduce(RankMetrics *m, const Ctx *ctx)
{
    int64_t buf[13];
    for (int i = 0; i < 4; i++) {
        buf[3 * i] = m->sum[i].hi;
        buf[3 * i + 1] = m->sum[i].lo;
        buf[3 * i + 2] = m->sum[i].bad;
    }
    buf[12] = m->users;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, 13, MPI_INT64_T, MPI_SUM, ctx->comm));
    for (int i = 0; i < 4; i++)
        m->sum[i] = (ExactSum){buf[3 * i], buf[3 * i + 1], buf[3 * i + 2]};
    m->users = buf[12];
    CHECK_MPI(
        MPI_Allreduce(MPI_IN_PLACE, m->covered, (int)m->n_items, MPI_UINT8_T, MPI_BOR, ctx->comm));
}

void rankm_values(const RankMetrics *m, double *out)
{
    const double users = m->users > 0 ? (double)m->users : 1.0;
    for (int i = 0; i < 4; i++)
        out[i] = m->users > 0 ? exact_value(&m->sum[i]) / users : 0.0;
    size_t covered = 0;
    for (size_t i = 1; i < m->n_items; i++)
        covered += m->covered[i];
    out[RANKM_COVERAGE] = m->n_items > 1 ? (double)covered / (double)(m->n_items - 1) : 0.0;
}
