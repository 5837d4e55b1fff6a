/* Exact law of a sampler, posterior and W2 curves (SPEC §2, §7; docs/maths.md).
 *
 * A gds_law is set up for one (prior, schedule, operator, σ); it then evaluates any sampler
 * configuration (algorithm, α_dps, scheme, steps, init) for a bundle of measurements v (one
 * per seed) at once: the covariance recursion does not depend on v, so it is run once per
 * bundle. The sampler is interpreted from its plan (gds_plan, scheme.h): one driver loop in
 * src/law.c walks the steps and asks a backend, chosen from the operator's structure
 * (Fourier-diagonal, Fourier-block, dense), to apply each one. */
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
  const unsigned char *w2_mask; /* [curve length]: W2 wanted where non-zero; NULL = everywhere */
  /* May be NULL. Asked between steps; when it says stop (on any rank of the group: the
   * decision is reduced over the group) the evaluation returns GDS_ERR_INTERRUPTED and its
   * outputs are unspecified. */
  const gds_poll *poll;
} gds_law_request;

/* Caller-allocated outputs; any pointer may be NULL when not wanted. Curves have
 * gds_law_curve_length entries: the training time t = 0..T for the discrete process, the step
 * index k = 0..K (sampling order, time u_k) for vp_sde; entries at times the sampler does not
 * visit (respacing, SPEC §7.1) or the mask excludes are NaN. A law that diverges (its
 * covariance or mean overflows), or has no finite value (a score at u = 0 with a singular Σ,
 * SPEC §7.3), is reported as +inf, never NaN: the curves from there on, w2_final, and the
 * entries of mean0/var0 that are not finite. */
typedef struct gds_law_result {
  double *w2_cov;   /* [curve length] covariance part (seed-independent) */
  double *var0;     /* [d] diag K of the output law */
  double **w2_mean; /* [nseeds][curve length] ‖m_t − m*_t‖ */
  double **w2;      /* [nseeds][curve length] sqrt(w2_mean² + w2_cov²) */
  double **mean0;   /* [nseeds][d] mean of the output law */
  /* W2 between the law of the sampler's output and the target itself (SPEC §7.5): the
   * posterior, or the prior for `none`. */
  double *w2_final_cov;  /* [1] (seed-independent) */
  double *w2_final_mean; /* [nseeds] */
  double *w2_final;      /* [nseeds] */
} gds_law_result;

/* GDS_ERR_INPUT unless some backend computes the exact law for this operator (checked before
 * a run creates its output). */
int gds_law_check_operator(const gds_operator *op);
/* GDS_ERR_INPUT, with a message naming the operator and the reason, unless the backend the
 * operator uses (gds_law_backend_for) computes the exact law of algorithm `alg` on it (e.g.
 * ddrm needs the SVD of A, which the dense backend has only when A Aᵀ is diagonal). For the
 * validator and `run`, before any output exists. */
int gds_law_supports(const gds_operator *op, const gds_algorithm_spec *alg);
/* Name of the backend a run uses for the operator ("fourier-diagonal", "fourier-block",
 * "dense-distributed"; `backend: dense` forces the last); stored in the output. */
const char *gds_law_backend_for(const gds_operator *op);
/* The same knowing the prior: "eigen-diagonal" for a prior given in its own eigenbasis. */
const char *gds_law_backend_for_prior(const gds_prior *prior, const gds_operator *op);
/* sched: a discrete schedule (gds_schedule_create) or the VP SDE (gds_schedule_create_vp_sde). */
int gds_law_create(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                   double sigma, gds_law **out);
/* Same, collective on a group of ranks that share the work (the dense backend distributes
 * K_t over the group with ScaLAPACK; Fourier backends compute redundantly on each rank). The
 * backend is gds_law_backend_for_prior's.
 * Every later call on the law is collective on the group. gds_law_create uses MPI_COMM_SELF. */
int gds_law_create_group(MPI_Comm group, const gds_prior *prior, const gds_schedule *sched,
                         gds_operator *op, double sigma, gds_law **out);
/* Same with the backend named explicitly ("dense-distributed" or "dense" works for every
 * operator with a stationary prior; "eigen-diagonal" is the one for a prior given in its own
 * eigenbasis, identity operator; NULL picks by prior and operator structure); GDS_ERR_INPUT if
 * it cannot handle the prior or op. */
int gds_law_create_backend(MPI_Comm group, const char *backend, const gds_prior *prior,
                           const gds_schedule *sched, gds_operator *op, double sigma, gds_law **out);
void gds_law_destroy(gds_law **law);
const char *gds_law_backend_name(const gds_law *law);
/* Bytes an evaluation keeps and streams once per step for each seed; 0 when the shared work
 * dominates (dense backend) and a seed block is best evaluated in one call. */
size_t gds_law_seed_bytes(const gds_law *law);

/* Posterior N(μ_post, Σ_post) of x0 given v: mean (d values, may be NULL) and diag Σ_post
 * (d values, may be NULL). */
int gds_law_posterior(gds_law *law, const double *v, double *mean, double *var);
int gds_law_evaluate(gds_law *law, const gds_law_request *req, gds_law_result *res);
/* Entries of the curves of the sampler cfg (T + 1, or K + 1 for vp_sde). The times u_k of a
 * vp_sde sampler are those of its plan (gds_plan_create: plan->time). */
int gds_law_curve_length(const gds_law *law, const gds_sampler_config *cfg);

/* Law N(m, K) of the sampler `cfg` at a time it visits (curve index `time`: t for the
 * discrete process) for one v, and the reference law (m*, K*) there (SPEC §2, §7.5:
 * posterior path; prior path for `none`). GDS_ERR_INPUT if the sampler does not visit
 * `time`. Dense d×d outputs (row-major), any may be NULL: meant for tests and small images. */
int gds_law_moments(gds_law *law, const gds_sampler_config *cfg, const double *v, int time,
                    double *mean, double *cov, double *ref_mean, double *ref_cov);

#endif
