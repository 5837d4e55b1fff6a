/* Guidance algorithms (SPEC §1, "Algorithms"): each approximates p_t(v | x_t) by
 * N(A x̂0(x_t), C_t). */
#ifndef GDSWEEP_ALGORITHM_H
#define GDSWEEP_ALGORITHM_H

typedef enum { GDS_ALG_NONE = 0, GDS_ALG_DPS, GDS_ALG_PIGDM, GDS_ALG_CGDM, GDS_ALG_COUNT } gds_algorithm;

const char *gds_algorithm_name(gds_algorithm a);
int gds_algorithm_from_name(const char *name, gds_algorithm *a);
/* NULL-terminated names indexed by gds_algorithm. */
const char *const *gds_algorithm_names(void);
/* Whether results depend on α_dps (only dps does). */
int gds_algorithm_uses_alpha(gds_algorithm a);

/* C_t restricted to one Fourier frequency of a Fourier-diagonal operator, with
 * λ = λ(ξ), a2 = |â(ξ)|², abar = ᾱ_t, s2 = σ²:
 *   dps   σ²/α_dps
 *   pigdm (1 − ᾱ) a2 + σ²
 *   cgdm  (1 − ᾱ) a2 λ/(ᾱλ + 1 − ᾱ) + σ²
 * (none has no C_t; returns +inf so that C_t⁻¹ = 0.) */
static inline double gds_algorithm_c_diag(gds_algorithm a, double abar, double lambda, double a2,
                                          double s2, double alpha_dps) {
  switch (a) {
  case GDS_ALG_DPS: return s2 / alpha_dps;
  case GDS_ALG_PIGDM: return (1.0 - abar) * a2 + s2;
  case GDS_ALG_CGDM: return (1.0 - abar) * a2 * lambda / (abar * lambda + 1.0 - abar) + s2;
  default: return __builtin_inf();
  }
}

#endif
