/* pca.h - principal components of a small set of rows (the factors of the most-rated
 * items), as fastai's Tensor.pca computes them: centre the rows, take the eigenvectors
 * of their k x k covariance with the largest eigenvalues, project the rows on them.
 *
 * The eigensolver is LAPACK's (LAPACKE_dsyevd), in double precision. An eigenvector's
 * sign is arbitrary, so each component is turned so that its largest-magnitude loading
 * (the first, on a tie) is positive; the result is then a function of the input alone.
 * Local: one rank computes it. */
#ifndef COLLAB_PCA_H
#define COLLAB_PCA_H

#include <stddef.h>

typedef struct Pca {
    size_t n, k, c;     /* rows, columns, components kept */
    double *mean;       /* (k) column means */
    double *components; /* (c, k) unit principal axes, largest variance first */
    double *variance;   /* (c) variance along each axis (covariance eigenvalue, 1/(n-1)) */
    double total;       /* total variance: the covariance's trace */
    double *coords;     /* (n, c) the centred rows projected on the axes */
} Pca;

/* Fits p to x (n, k) keeping c <= k components; n >= 2. Returns 0, or LAPACK's nonzero
 * info when the eigensolver fails (p is then freeable). */
int pca_fit(Pca *p, const float *x, size_t n, size_t k, size_t c);
void pca_free(Pca *p);

#endif
