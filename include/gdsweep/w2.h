/* 2-Wasserstein distance between Gaussian laws (SPEC §2, "W2 curves"). */
#ifndef GDSWEEP_W2_H
#define GDSWEEP_W2_H

/* sqrt(mean² + cov²), NaN-propagating. */
double gds_w2_combine(double w2_mean, double w2_cov);
/* Covariance part for commuting (simultaneously diagonal) covariances with eigenvalues
 * k[i], kref[i] counted weight[i] times: sqrt(Σ w (√k − √k*)²), which equals the trace
 * formula of SPEC §2 without its cancellation. weight may be NULL (all 1). */
double gds_w2_cov_commuting(int n, const double *k, const double *kref, const double *weight);

#endif
