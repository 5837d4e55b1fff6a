/* Guidance algorithms (SPEC §1 "Algorithms", §7.2 DDRM): the `algorithm` axis.
 * dps, pigdm and cgdm approximate p_t(v | x_t) by N(A x̂0(x_t), C_t) and guide the score;
 * ddrm replaces the whole step by the SVD-coordinate update of Kawar et al. (2022). */
#ifndef GDSWEEP_ALGORITHM_H
#define GDSWEEP_ALGORITHM_H

#include <stddef.h>

typedef enum {
  GDS_ALG_NONE = 0,
  GDS_ALG_DPS,
  GDS_ALG_PIGDM,
  GDS_ALG_CGDM,
  GDS_ALG_DDRM,
  GDS_ALG_COUNT
} gds_algorithm;

/* One entry of the algorithm axis: its kind and parameters (ddrm: η, η_b ∈ [0, 1]). */
typedef struct gds_algorithm_spec {
  gds_algorithm kind;
  double eta, eta_b; /* ddrm only; 0 otherwise */
} gds_algorithm_spec;

const char *gds_algorithm_name(gds_algorithm a);
int gds_algorithm_from_name(const char *name, gds_algorithm *a);
/* NULL-terminated names indexed by gds_algorithm. */
const char *const *gds_algorithm_names(void);
/* Canonical name with parameters, as stored in /grid/algorithm: "dps",
 * "ddrm(eta=0.85,eta_b=1)" (numbers by gds_format_double). */
void gds_algorithm_spec_name(const gds_algorithm_spec *a, char *buf, size_t len);
int gds_algorithm_spec_same(const gds_algorithm_spec *a, const gds_algorithm_spec *b);
/* Whether results depend on α_dps (only dps does). */
int gds_algorithm_uses_alpha(gds_algorithm a);
/* Whether results depend on the `scheme` axis (ddrm has its own update and ignores it). */
int gds_algorithm_uses_scheme(gds_algorithm a);

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
