/* Test helpers of the sampler tests: a small dense brute-force law of the samplers of SPEC §7
 * (respaced DDPM, DDIM(η), DDRM(η, η_b), exact start) written from the SPEC formulas with
 * d×d matrices and LAPACKE (an SVD for DDRM), and a Monte Carlo check of real trajectories
 * against a Gaussian law. Independent of src/sampler*.c and of the law backends; meant for
 * images of a few dozen pixels. */
#ifndef GDS_TESTUTIL_SAMPLER_H
#define GDS_TESTUTIL_SAMPLER_H

#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include "gdsweep/sampler.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"

/* A problem in dense form: prior N(mu, Sigma) (Sigma from the spectrum by a brute-force
 * inverse DFT), A (m×d, by applying the operator to unit vectors), σ, v, schedule. */
typedef struct gds_ts_problem {
  int H, W, d, m;
  double sigma;
  double *mu, *Sigma, *A, *v;
  const gds_schedule *sched;  /* the discrete process, or NULL: */
  double beta_min, beta_max;  /* the VP SDE of SPEC §7.3 */
} gds_ts_problem;

void gds_ts_problem_make(const gds_prior *prior, gds_operator *op, double sigma, const double *v,
                         const gds_schedule *sched, gds_ts_problem *pb);
void gds_ts_problem_free(gds_ts_problem *pb);

/* Law N(mean, cov) of the sampler cfg at training time t_snap (a time it visits; asserted; the
 * step index k for the VP SDE), by the dense affine recursion m ← P m + c, K ← P K Pᵀ + N of
 * SPEC §7.1–§7.4. */
void gds_ts_law(const gds_ts_problem *pb, const gds_sampler_config *cfg, int t_snap, double *mean, double *cov);
/* The affine map y_end = P y_start + c of a configuration without noise after its start
 * (DDIM η = 0; asserted), from its first to its last time. */
void gds_ts_flow(const gds_ts_problem *pb, const gds_sampler_config *cfg, double *P, double *c);

/* ntraj real trajectories (noise key (seed 11, sample n)) of cfg: at t_mid and at the end (t = 0,
 * or k = K for the VP SDE), the
 * empirical mean and variance per pixel and power per frequency E|DFT(y − m)(ξ)|² agree with
 * the dense law within 5 standard errors (as gds_test_mc_check). */
void gds_ts_mc_check(gds_sampler *smp, const gds_ts_problem *pb, const gds_sampler_config *cfg, int t_mid, int ntraj);
/* The same against given laws: mean[c·d ..], cov[c·d² ..] at the checkpoints ck[0], ck[1]
 * (e.g. gds_law_moments of a law backend). */
void gds_ts_mc_compare(gds_sampler *smp, const gds_sampler_config *cfg, const double *v, int H, int W, const int ck[2],
                       const double *mean, const double *cov, int ntraj);

#endif
