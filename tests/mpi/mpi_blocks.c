/* mpi_blocks.c - blocked training (train --blocks) at 1, 2 and 3 ranks against a plain
 * serial reference written here from blocks.h's contract, in double precision: users cut
 * into B count-balanced blocks, items dealt to B blocks by popularity in a snake order,
 * B strata per epoch in the seeded order, each cell's ratings by user then file order, one
 * update per rating (row-wise Adagrad or SGD, decay at every update of a row), the lr at
 * each chunk's place in the stratum. The trainer's parameters must match the reference's
 * at every number of ranks: k 20 exercises the kernel's scalar tail, k 32 its vector
 * path only. */
#include "config.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/data/distribute.h"
#include "collab/base/rng.h"
#include "collab/store/params.h"
#include "collab/train/train.h"
#include "../test.h"

enum { NU = 50, NI = 30, NR = 900, NB = 6, LR_CHUNK = BLOCKS_LR_CHUNK };

typedef struct Case {
    size_t k;
    OptimKind kind;
    double lr, wd;
    int epochs;
} Case;

/* The generated ratings, in file order, and which are validation rows. */
typedef struct Gen {
    int32_t user[NR], item[NR];
    float y[NR];
    uint8_t valid[NR];
} Gen;

static void gen_ratings(Gen *g)
{
    uint64_t s = 2024;
    for (size_t r = 0; r < NR; r++) {
        /* skewed: low ids are busier, so blocks must balance */
        g->user[r] = (int32_t)(NU * test_rand_unit(&s) * test_rand_unit(&s));
        g->item[r] = (int32_t)(NI * test_rand_unit(&s) * test_rand_unit(&s));
        g->y[r] = 0.5f * (float)(1 + (int)(10 * test_rand_unit(&s)));
        g->valid[r] = test_rand_unit(&s) < 0.1;
    }
}

/* The reference's state: every row, in vocabulary order, as doubles. */
typedef struct Ref {
    size_t nu, ni, k;
    double *uf, *ub, *vf, *vb;   /* factors and biases */
    double *au, *abu, *av, *abv; /* Adagrad accumulators */
} Ref;

static double *ref_load(const float *src, size_t n)
{
    double *d = calloc(n, sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = src[i];
    return d;
}

/* Blocks of users: the first user of block r is where the count prefix reaches
 * r * total / B (shard.h's rule with B parts). */
static void ref_user_blocks(int *ublock, const int32_t *user, size_t n, size_t nu)
{
    uint64_t count[NU + 1] = {0}, total = 0, prefix = 0;
    for (size_t r = 0; r < n; r++)
        count[user[r]]++, total++;
    size_t start[NB + 1], u = 0;
    for (size_t b = 0; b < NB; b++) {
        const uint64_t share = total * b / NB;
        while (u < nu && prefix < share)
            prefix += count[u++];
        start[b] = b == 0 ? 0 : u;
    }
    start[NB] = nu;
    for (size_t b = 0; b < NB; b++)
        for (size_t v = start[b]; v < start[b + 1]; v++)
            ublock[v] = (int)b;
}

/* Blocks of items: most rated first (ties by id), dealt t -> t % B, snaking back on odd
 * rounds. */
static void ref_item_blocks(int *iblock, const int32_t *item, size_t n, size_t ni)
{
    uint64_t count[NI + 1] = {0};
    int order[NI + 1];
    for (size_t r = 0; r < n; r++)
        count[item[r]]++;
    for (size_t i = 0; i < ni; i++)
        order[i] = (int)i;
    for (size_t a = 1; a < ni; a++) /* insertion sort by (count desc, id asc) */
        for (size_t b = a; b > 0 && count[order[b - 1]] < count[order[b]]; b--) {
            const int t = order[b];
            order[b] = order[b - 1], order[b - 1] = t;
        }
    for (size_t t = 0; t < ni; t++)
        iblock[order[t]] = (int)((t / NB) % 2 ? NB - 1 - t % NB : t % NB);
}

/* One rating's update, from the old values of both rows. */
static void ref_update(Ref *m, const Case *c, size_t u, size_t i, double y, double lr)
{
    const size_t k = m->k;
    double *p = m->uf + u * k, *q = m->vf + i * k, dot = 0, pp = 0, qq = 0;
    for (size_t f = 0; f < k; f++)
        dot += p[f] * q[f], pp += p[f] * p[f], qq += q[f] * q[f];
    const double z = dot + m->ub[u] + m->vb[i], sg = 1.0 / (1.0 + exp(-z));
    const double err = sg * 5.5 - y, g = 2.0 * err * 5.5 * (1.0 - sg) * sg;
    double su = -lr, sv = -lr, sbu = -lr, sbv = -lr;
    if (c->kind == OPTIM_ADAGRAD) {
        m->au[u] += g * g * qq / (double)k;
        m->av[i] += g * g * pp / (double)k;
        m->abu[u] += g * g;
        m->abv[i] += g * g;
        su = -lr / (sqrt(m->au[u]) + 1e-5), sv = -lr / (sqrt(m->av[i]) + 1e-5);
        sbu = -lr / (sqrt(m->abu[u]) + 1e-5), sbv = -lr / (sqrt(m->abv[i]) + 1e-5);
    }
    const double decay = 1.0 - lr * c->wd;
    for (size_t f = 0; f < k; f++) {
        const double pf = p[f], qf = q[f];
        p[f] = pf * decay + qf * g * su;
        q[f] = qf * decay + pf * g * sv;
    }
    m->ub[u] = m->ub[u] * decay + g * sbu;
    m->vb[i] = m->vb[i] * decay + g * sbv;
}

/* The fit: train rows (vocabulary ids, file order) through every stratum. */
static void ref_fit(Ref *m, const Case *c, const Schedule *sched, uint64_t seed,
                    const int32_t *user, const int32_t *item, const float *y, size_t n)
{
    int ublock[NU + 1], iblock[NI + 1];
    ref_user_blocks(ublock, user, n, m->nu);
    ref_item_blocks(iblock, item, n, m->ni);
    size_t *cell = malloc(n * sizeof *cell);
    for (int e = 0; e < c->epochs; e++) {
        Perm perm;
        perm_init(&perm, NB, seed, RNG_STREAM_STRATA, (uint64_t)e);
        for (size_t s = 0; s < NB; s++) {
            const size_t sh = (size_t)perm_apply(&perm, s), iter = (size_t)e * NB + s;
            for (size_t b = 0; b < NB; b++) {
                size_t nc = 0; /* the cell's rows by user, then file order */
                for (size_t u = 0; u < m->nu; u++)
                    for (size_t r = 0; r < n; r++)
                        if ((size_t)user[r] == u && ublock[u] == (int)b &&
                            (size_t)iblock[item[r]] == (b + sh) % NB)
                            cell[nc++] = r;
                for (size_t a = 0; a < nc; a++) {
                    double lr, mom;
                    const double at = (double)(a / LR_CHUNK * LR_CHUNK) / (double)nc;
                    schedule_at_pos(sched, ((double)iter + at) / (double)sched->total, &lr, &mom);
                    const size_t r = cell[a];
                    ref_update(m, c, (size_t)user[r], (size_t)item[r], y[r], (double)(float)lr);
                }
            }
        }
    }
    free(cell);
}

/* Reads a --dump-params file: user_f, user_b, item_f, item_b. */
static float *read_dump(const char *path, size_t n)
{
    float *p = malloc(n * sizeof *p);
    FILE *f = fopen(path, "rb");
    TEST_CHECK(f && fread(p, sizeof *p, n, f) == n);
    if (f)
        fclose(f);
    return p;
}

static void check_case(const Ctx *ctx, const Gen *g, const Case *c)
{
    Dataset ds, whole;
    memset(&ds, 0, sizeof ds);
    memset(&whole, 0, sizeof whole);
    static char ukeys[NU][8], ikeys[NI][8];
    char *up[NU], *ip[NI];
    for (int i = 0; i < NU; i++)
        snprintf(ukeys[i], 8, "u%03d", i), up[i] = ukeys[i];
    for (int i = 0; i < NI; i++)
        snprintf(ikeys[i], 8, "i%03d", i), ip[i] = ikeys[i];
    Ratings r = {.n = NR,
                 .user = (int32_t *)g->user,
                 .item = (int32_t *)g->item,
                 .rating = (float *)g->y,
                 .n_user_keys = NU,
                 .user_keys = up,
                 .n_item_keys = NI,
                 .item_keys = ip};
    if (ctx->rank == 0) {
        dataset_build(&ds, &r, g->valid, 0);
        dataset_build(&whole, &r, g->valid, 0); /* the reference's copy, file order */
    }
    dataset_distribute_blocks(&ds, NB, ctx->comm);
    TrainConfig cfg = {0};
    cfg.model =
        (ModelSpec){.kind = MODEL_DOTBIAS, .k = c->k, .has_range = 1, .y_lo = 0.0f, .y_hi = 5.5f};
    cfg.optim = (OptimConfig){c->kind, c->wd, 0.99, 1e-5};
    cfg.sched = (Schedule){SCHED_ONE_CYCLE, c->lr, 25, 1e5, 0.25, {0.95, 0.85, 0.95}, 0};
    cfg.bs = 64, cfg.epochs = c->epochs, cfg.seed = 7, cfg.blocks = NB;
    Trainer t;
    trainer_init(&t, ctx, &ds, &cfg);
    char path0[64], path1[64], msg[256];
    snprintf(path0, sizeof path0, "mpi_blocks.%d.init.bin", ctx->size);
    snprintf(path1, sizeof path1, "mpi_blocks.%d.final.bin", ctx->size);
    TEST_CHECK(params_dump(&t.model, &ds.layout, ctx, path0, msg, sizeof msg) == 0);
    TEST_CHECK(trainer_fit(&t, NULL) == 0);
    TEST_CHECK(params_dump(&t.model, &ds.layout, ctx, path1, msg, sizeof msg) == 0);
    if (ctx->rank == 0) {
        const size_t nu = ds.users.n, ni = ds.items.n, k = c->k;
        const size_t n = nu * (k + 1) + ni * (k + 1);
        float *init = read_dump(path0, n), *got = read_dump(path1, n);
        Ref m = {nu,
                 ni,
                 k,
                 ref_load(init, nu * k),
                 ref_load(init + nu * k, nu),
                 ref_load(init + nu * (k + 1), ni * k),
                 ref_load(init + nu * (k + 1) + ni * k, ni),
                 calloc(nu, 8),
                 calloc(nu, 8),
                 calloc(ni, 8),
                 calloc(ni, 8)};
        ref_fit(&m, c, &t.cfg.sched, cfg.seed, whole.train_user, whole.train_item,
                whole.train_rating, whole.n_train);
        const double *want[4] = {m.uf, m.ub, m.vf, m.vb};
        const size_t len[4] = {nu * k, nu, ni * k, ni};
        size_t at = 0, bad = 0;
        double moved = 0.0;
        for (int tb = 0; tb < 4; tb++)
            for (size_t i = 0; i < len[tb]; i++, at++) {
                const double d = fabs((double)got[at] - want[tb][i]);
                bad += !(d <= 2e-5 + 2e-3 * fabs(want[tb][i]));
                moved += fabs((double)got[at] - (double)init[at]);
                if (bad == 1 && !(d <= 2e-5 + 2e-3 * fabs(want[tb][i])))
                    fprintf(stderr, "table %d row element %zu: got %.9g, reference %.9g\n", tb, i,
                            got[at], want[tb][i]);
            }
        TEST_CHECK(bad == 0);
        TEST_CHECK(moved > 1.0); /* training moved the parameters */
        double *bufs[] = {m.uf, m.ub, m.vf, m.vb, m.au, m.abu, m.av, m.abv};
        for (size_t i = 0; i < 8; i++)
            free(bufs[i]);
        free(init);
        free(got);
        remove(path0);
        remove(path1);
    }
    trainer_free(&t);
    dataset_free(&ds);
    dataset_free(&whole);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    Ctx ctx;
    ctx_init(&ctx);
    static Gen g;
    gen_ratings(&g);
    const Case cases[] = {{20, OPTIM_ADAGRAD, 0.05, 0.02, 3},
                          {32, OPTIM_SPARSE_SGD, 0.05, 0.01, 3}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_case(&ctx, &g, &cases[i]);
    int failed = test_failures, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, ctx.comm);
    char name[32];
    snprintf(name, sizeof name, "mpi_blocks[%d/%d]", ctx.rank, ctx.size);
    int rc = test_done(name);
    ctx_free(&ctx);
    MPI_Finalize();
    return any ? 1 : rc;
}
