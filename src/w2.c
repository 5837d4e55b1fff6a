/* Gaussian 2-Wasserstein helpers (SPEC §2, "W2 curves"). */
#include "gdsweep/w2.h"

#include <math.h>

double gds_w2_combine(double w2_mean, double w2_cov) { return sqrt(w2_mean * w2_mean + w2_cov * w2_cov); }

/* For commuting K, K*: tr K + tr K* − 2 tr (K*^{1/2} K K*^{1/2})^{1/2} = Σ (√k − √k*)²,
 * summed without the cancellation of the trace form. */
double gds_w2_cov_commuting(int n, const double *k, const double *kref, const double *weight) {
  double acc = 0.0;
  for (int i = 0; i < n; i++) {
    double dlt = sqrt(k[i]) - sqrt(kref[i]);
    acc += (weight ? weight[i] : 1.0) * dlt * dlt;
  }
  return sqrt(acc);
}
