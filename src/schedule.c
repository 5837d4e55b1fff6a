/* Schedules: DDPM (SPEC §1, "Forward process"; σ_t² of "Sampler") and the VP SDE (§7.3). */
#include "gdsweep/schedule.h"

#include <math.h>
#include <stdlib.h>

#include "gdsweep/error.h"

void gds_schedule_default_betas(int T, double *beta_start, double *beta_end) {
  *beta_start = 0.1 / T;
  *beta_end = 20.0 / T;
}

const char *gds_variance_name(gds_variance v) { return v == GDS_VARIANCE_BETA_TILDE ? "beta_tilde" : "beta"; }

/* β_t = β_start + (β_end − β_start)(t − 1)/(T − 1), α_t = 1 − β_t, ᾱ_t = ∏ α_s;
 * σ_t² = β_t or β̃_t = β_t (1 − ᾱ_{t−1})/(1 − ᾱ_t), and σ_1 = 0 (Ho et al. Algorithm 2). */
int gds_schedule_create(int T, double beta_start, double beta_end, gds_variance variance,
                        gds_schedule **out) {
  if (T < 1) GDS_ERROR(GDS_ERR_INPUT, "diffusion.steps must be >= 1, got %d", T);
  if (!(beta_start > 0 && beta_start < 1) || !(beta_end > 0 && beta_end < 1))
    GDS_ERROR(GDS_ERR_INPUT, "every beta_t must lie in (0, 1): got beta_start = %g, beta_end = %g",
              beta_start, beta_end);
  gds_schedule *s;
  GDS_CALL(GDS_ALLOC(s, 1));
  s->process = GDS_PROCESS_DDPM;
  s->T = T;
  s->variance = variance;
  s->beta_start = beta_start;
  s->beta_end = beta_end;
  double *buf;
  int ierr = gds_calloc(4 * (size_t)(T + 1), sizeof(double), &buf);
  if (ierr) { free(s); GDS_CALL(ierr); }
  s->beta = buf;
  s->alpha = buf + (T + 1);
  s->alpha_bar = buf + 2 * (T + 1);
  s->sigma2 = buf + 3 * (T + 1);
  s->alpha[0] = s->alpha_bar[0] = 1.0;
  for (int t = 1; t <= T; t++) {
    s->beta[t] = T == 1 ? beta_start : beta_start + (beta_end - beta_start) * (t - 1) / (double)(T - 1);
    s->alpha[t] = 1.0 - s->beta[t];
    s->alpha_bar[t] = s->alpha_bar[t - 1] * s->alpha[t];
  }
  for (int t = 2; t <= T; t++)
    s->sigma2[t] = variance == GDS_VARIANCE_BETA
                       ? s->beta[t]
                       : s->beta[t] * (1.0 - s->alpha_bar[t - 1]) / (1.0 - s->alpha_bar[t]);
  *out = s;
  return GDS_SUCCESS;
}

int gds_schedule_create_vp_sde(double beta_min, double beta_max, gds_schedule **out) {
  if (!(beta_min > 0 && beta_max > beta_min && isfinite(beta_max)))
    GDS_ERROR(GDS_ERR_INPUT, "vp_sde needs 0 < beta_min < beta_max (finite), got beta_min = %g, beta_max = %g", beta_min,
              beta_max);
  gds_schedule *s;
  GDS_CALL(GDS_ALLOC(s, 1));
  s->process = GDS_PROCESS_VP_SDE;
  s->beta_min = beta_min;
  s->beta_max = beta_max;
  *out = s;
  return GDS_SUCCESS;
}

/* β(u) = β_min + u (β_max − β_min), B(u) = ∫₀ᵘ β = β_min u + ½ u² (β_max − β_min) (SPEC §7.3). */
double gds_schedule_vp_beta(const gds_schedule *s, double u) { return s->beta_min + u * (s->beta_max - s->beta_min); }
double gds_schedule_vp_B(const gds_schedule *s, double u) { return u * (s->beta_min + 0.5 * u * (s->beta_max - s->beta_min)); }
double gds_schedule_vp_abar(const gds_schedule *s, double u) { return exp(-gds_schedule_vp_B(s, u)); }

void gds_schedule_destroy(gds_schedule **s) {
  if (!s || !*s) return;
  free((*s)->beta);
  free(*s);
  *s = NULL;
}
