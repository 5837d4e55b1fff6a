/* Noise schedules: the discrete DDPM schedule (SPEC §1, "Forward process" and "Sampler") or the
 * continuous VP SDE (SPEC §7.3): β(u) = β_min + u (β_max − β_min) on u ∈ [0, 1],
 * B(u) = ∫₀ᵘ β, ᾱ(u) = e^{−B(u)}. */
#ifndef GDSWEEP_SCHEDULE_H
#define GDSWEEP_SCHEDULE_H

#include "gdsweep/scheme.h"

typedef enum { GDS_VARIANCE_BETA = 0, GDS_VARIANCE_BETA_TILDE = 1 } gds_variance;

/* Discrete process: all arrays have T+1 entries indexed by t = 0..T; entry 0 is the identity
 * step (beta[0] = 0, alpha[0] = alpha_bar[0] = 1, sigma2[0] = 0). VP SDE: T = 0, no arrays,
 * beta_min/beta_max set. Read-only after create. */
typedef struct gds_schedule {
  gds_process process;
  int T;
  gds_variance variance;
  double beta_start, beta_end;
  double *beta;      /* β_t = β_start + (β_end − β_start)(t−1)/(T−1)  (β_1 = β_start if T = 1) */
  double *alpha;     /* α_t = 1 − β_t */
  double *alpha_bar; /* ᾱ_t = ∏_{s≤t} α_s */
  double *sigma2;    /* σ_t² of the backward step t → t−1 (β_t or β̃_t), σ_1² = 0 */
  double beta_min, beta_max; /* VP SDE */
} gds_schedule;

/* Default β range of SPEC §1 for T steps: β_start = 0.1/T, β_end = 20/T. */
void gds_schedule_default_betas(int T, double *beta_start, double *beta_end);
const char *gds_variance_name(gds_variance v);
/* Fails with GDS_ERR_INPUT if T < 1 or some β_t is outside (0, 1). */
int gds_schedule_create(int T, double beta_start, double beta_end, gds_variance variance,
                        gds_schedule **out);
/* The continuous VP SDE; GDS_ERR_INPUT unless 0 < β_min < β_max and both are finite. */
int gds_schedule_create_vp_sde(double beta_min, double beta_max, gds_schedule **out);
void gds_schedule_destroy(gds_schedule **s);
/* VP SDE: β(u), B(u) = β_min u + ½ u² (β_max − β_min), ᾱ(u) = e^{−B(u)} (ᾱ(0) = 1 exactly). */
double gds_schedule_vp_beta(const gds_schedule *s, double u);
double gds_schedule_vp_B(const gds_schedule *s, double u);
double gds_schedule_vp_abar(const gds_schedule *s, double u);

#endif
