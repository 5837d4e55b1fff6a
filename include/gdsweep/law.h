/* Exact law of the conditional DDPM sampler, posterior and W2 curves (SPEC §2).
 *
 * A gds_law is set up for one (prior, schedule, operator, σ); it then evaluates any
 * algorithm / α_dps for a bundle of measurements v (one per seed) at once: the covariance
 * recursion does not depend on v, so it is run once per bundle. The work is done by a
 * backend chosen from the operator's structure (Fourier-diagonal, Fourier-block, dense). */
#ifndef GDSWEEP_LAW_H
#define GDSWEEP_LAW_H

#include <mpi.h>

#include "gdsweep/error.h"
#include "gdsweep/algorithm.h"
#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"

typedef struct gds_law gds_law;

typedef struct gds_law_request {
  gds_sampler_config cfg;       /* algorithm, α_dps, scheme, steps (≤ 0: T), ε, init */
  int nseeds;                   /* number of measurements in the bundle */
  const double *const *v;       /* [nseeds][m] measurements */
  const unsigned char *w2_mask; /* [T+1]: W2 wanted at t where non-zero; NULL = every t */
  const gds_poll *poll;         /* may be NULL; when it says stop: GDS_ERR_INTERRUPTED */
} gds_law_request;

/* Caller-allocated outputs; any pointer may be NULL when not wanted. W2 entries at times
 * the mask excludes are set to NaN. */
typedef struct gds_law_result {
  double *w2_cov;   /* [T+1] covariance part (seed-independent) */
  double *var0;     /* [d] diag K_0 */
  double **w2_mean; /* [nseeds][T+1] ‖m_t − m*_t‖ */
  double **w2;      /* [nseeds][T+1] sqrt(w2_mean² + w2_cov²) */
  double **mean0;   /* [nseeds][d] m_0 */
  /* W2 between the law of the sampler's output and the target itself (SPEC §7.5). */
  double *w2_final_cov;  /* [1] (seed-independent) */
  double *w2_final_mean; /* [nseeds] */
  double *w2_final;      /* [nseeds] */
} gds_law_result;

/* GDS_ERR_INPUT unless some backend computes the exact law for this operator (checked before
 * a run creates its output). */
int gds_law_check_operator(const gds_operator *op);
/* Name of the backend a run uses for the operator ("fourier-diagonal", "fourier-block",
 * "dense-distributed"; `backend: dense` forces the last); stored in the output. */
const char *gds_law_backend_for(const gds_operator *op);
int gds_law_create(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                   double sigma, gds_law **out);
/* Same, collective on a group of ranks that share the work (the dense backend distributes
 * K_t over the group with ScaLAPACK; Fourier backends compute redundantly on each rank).
 * Every later call on the law is collective on the group. gds_law_create uses MPI_COMM_SELF. */
int gds_law_create_group(MPI_Comm group, const gds_prior *prior, const gds_schedule *sched,
                         gds_operator *op, double sigma, gds_law **out);
/* Same with the backend named explicitly ("dense-distributed" or "dense" works for every
 * operator; NULL picks by operator structure); GDS_ERR_INPUT if it cannot handle op. */
int gds_law_create_backend(MPI_Comm group, const char *backend, const gds_prior *prior,
                           const gds_schedule *sched, gds_operator *op, double sigma, gds_law **out);
void gds_law_destroy(gds_law **law);
const char *gds_law_backend_name(const gds_law *law);

/* Posterior N(μ_post, Σ_post) of x0 given v: mean (d values, may be NULL) and diag Σ_post
 * (d values, may be NULL). */
int gds_law_posterior(gds_law *law, const double *v, double *mean, double *var);
int gds_law_evaluate(gds_law *law, const gds_law_request *req, gds_law_result *res);

/* Sampler law N(m_t, K_t) at one time t (0 ≤ t ≤ T) for one v, and the reference law
 * (m*_t, K*_t) of SPEC §2 (posterior path; prior path for `none`). Dense d×d outputs
 * (row-major), any may be NULL: meant for tests and small images. */
int gds_law_moments(gds_law *law, gds_algorithm alg, double alpha_dps, const double *v, int t,
                    double *mean, double *cov, double *ref_mean, double *ref_cov);

#endif
