/* optim_ref.h - the reference the optimizer tests compare against: a deterministic
 * fill and fastai's Adam step written out element by element in float, in the operation
 * order of optim.h (scalars computed in double and rounded to float once).
 * Define OPTIM_REF_SEED before including it to pick the fill's sequence. */
#ifndef COLLAB_TEST_OPTIM_REF_H
#define COLLAB_TEST_OPTIM_REF_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifndef OPTIM_REF_SEED
#define OPTIM_REF_SEED 0x1234567ull
#endif

static uint64_t mix_state = OPTIM_REF_SEED;

/* SplitMix64 uniforms in [0, 1). */
static double mix_unit(void)
{
    uint64_t z = (mix_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* x[q] uniform in (-scale, scale). */
static void fill(float *x, size_t n, double scale)
{
    for (size_t q = 0; q < n; q++)
        x[q] = (float)((2 * mix_unit() - 1) * scale);
}

/* One Adam step, step count t (already incremented), on one element. */
static void adam_ref(float *p, float *m, float *v, float g, double lr, double mom, double wd,
                     double sqr_mom, double eps, int64_t t)
{
    double db1 = (1 - mom) * (1 - pow(mom, (double)t)) / (1 - mom);
    double db2 = (1 - sqr_mom) * (1 - pow(sqr_mom, (double)t)) / (1 - sqr_mom);
    *p = *p * (float)(1 - lr * wd);
    *m = *m * (float)mom + (float)(1 - mom) * g;
    *v = *v * (float)sqr_mom + (float)(1 - sqr_mom) * (g * g);
    *p = *p + (float)(-lr / db1) * *m / (sqrtf(*v * (float)(1 / db2)) + (float)eps);
}

#endif
