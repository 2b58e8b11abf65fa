/* pca.c - principal components through LAPACKE_dsyevd on the covariance matrix. */
#include "config.h"

#include "collab/use/pca.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"

/* Column means of x (n, k) into mean, and the centred copy xc (n, k) in double. */
static void centre(double *xc, double *mean, const float *x, size_t n, size_t k)
{
    memset(mean, 0, k * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < k; c++)
            mean[c] += x[i * k + c];
    for (size_t c = 0; c < k; c++)
        mean[c] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < k; c++)
            xc[i * k + c] = x[i * k + c] - mean[c];
}

/* cov (k, k) = xc^T xc / (n - 1), both triangles. */
static void covariance(double *cov, const double *xc, size_t n, size_t k)
{
    for (size_t a = 0; a < k; a++)
        for (size_t b = a; b < k; b++) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++)
                s += xc[i * k + a] * xc[i * k + b];
            cov[a * k + b] = cov[b * k + a] = s / (double)(n - 1);
        }
}

/* Turns axis v (k) so that its largest-magnitude entry (the first on a tie) is positive. */
static void fix_sign(double *v, size_t k)
{
    size_t best = 0;
    for (size_t c = 1; c < k; c++)
        if (fabs(v[c]) > fabs(v[best]))
            best = c;
    if (v[best] < 0)
        for (size_t c = 0; c < k; c++)
            v[c] = -v[c];
}

int pca_fit(Pca *p, const float *x, size_t n, size_t k, size_t c)
{
    memset(p, 0, sizeof *p);
    p->n = n, p->k = k, p->c = c;
    p->mean = xmalloc(k * sizeof(double));
    p->components = xmalloc(c * k * sizeof(double));
    p->variance = xmalloc(c * sizeof(double));
    p->coords = xcalloc(n * c, sizeof(double));
    double *xc = xmalloc(n * k * sizeof(double)), *cov = xmalloc(k * k * sizeof(double));
    double *w = xmalloc(k * sizeof(double));
    centre(xc, p->mean, x, n, k);
    covariance(cov, xc, n, k);
    /* Eigenvalues ascending in w; eigenvectors in the columns of cov (row-major). */
    lapack_int info =
        LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)k, cov, (lapack_int)k, w);
    if (info == 0) {
        for (size_t a = 0; a < k; a++)
            p->total += w[a];
        for (size_t j = 0; j < c; j++) {
            const size_t col = k - 1 - j; /* the largest first */
            p->variance[j] = w[col];
            for (size_t a = 0; a < k; a++)
                p->components[j * k + a] = cov[a * k + col];
            fix_sign(p->components + j * k, k);
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < c; j++) {
                double s = 0.0;
                for (size_t a = 0; a < k; a++)
                    s += xc[i * k + a] * p->components[j * k + a];
                p->coords[i * c + j] = s;
            }
    }
    free(xc);
    free(cov);
    free(w);
    return (int)info;
}

void pca_free(Pca *p)
{
    free(p->mean);
    free(p->components);
    free(p->variance);
    free(p->coords);
    memset(p, 0, sizeof *p);
}
