/* Guidance algorithms: one description each (docs/maths.md §2). */
#include "gdsweep/algorithm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/operator.h"

/* ---- C_ᾱ of the score family (SPEC §1 "Algorithms"; docs/maths.md §2.1) ---- */

static gds_guidance gds_guidance_none(double abar, double s2, double alpha_dps) {
  (void)abar, (void)s2, (void)alpha_dps;
  return (gds_guidance){.c0 = 1.0, .on = 0.0};
}
/* dps: C = (σ²/α_dps) I */
static gds_guidance gds_guidance_dps(double abar, double s2, double alpha_dps) {
  (void)abar;
  return (gds_guidance){.c0 = s2 / alpha_dps, .on = 1.0};
}
/* pigdm: C = (1 − ᾱ) A Aᵀ + σ² I */
static gds_guidance gds_guidance_pigdm(double abar, double s2, double alpha_dps) {
  (void)alpha_dps;
  return (gds_guidance){.c0 = s2, .c1 = 1 - abar, .on = 1.0};
}
/* cgdm: C = (1 − ᾱ) A Σ Σ_ᾱ⁻¹ Aᵀ + σ² I = Cov(v | x_ᾱ) exactly */
static gds_guidance gds_guidance_cgdm(double abar, double s2, double alpha_dps) {
  (void)alpha_dps;
  return (gds_guidance){.c0 = s2, .c2 = 1 - abar, .on = 1.0};
}

static const gds_algorithm_info gds_algorithms_[GDS_ALG_COUNT] = {
    [GDS_ALG_NONE] = {.name = "none", .family = GDS_FAMILY_SCORE, .target_posterior = 0, .exact_score = 1,
                      .uses_scheme = 1, .guidance = gds_guidance_none},
    [GDS_ALG_DPS] = {.name = "dps", .family = GDS_FAMILY_SCORE, .target_posterior = 1, .uses_alpha = 1,
                     .uses_scheme = 1, .guidance = gds_guidance_dps},
    [GDS_ALG_PIGDM] = {.name = "pigdm", .family = GDS_FAMILY_SCORE, .target_posterior = 1, .uses_scheme = 1,
                       .guidance = gds_guidance_pigdm},
    [GDS_ALG_CGDM] = {.name = "cgdm", .family = GDS_FAMILY_SCORE, .target_posterior = 1, .exact_score = 1,
                      .uses_scheme = 1, .guidance = gds_guidance_cgdm},
    [GDS_ALG_DDRM] = {.name = "ddrm", .family = GDS_FAMILY_DDRM, .target_posterior = 1, .has_params = 1},
};

static const char *const gds_algorithm_names_[GDS_ALG_COUNT + 1] = {"none", "dps", "pigdm", "cgdm", "ddrm", NULL};

const gds_algorithm_info *gds_algorithm_get(gds_algorithm a) {
  return (a >= 0 && a < GDS_ALG_COUNT) ? &gds_algorithms_[a] : NULL;
}

const char *const *gds_algorithm_names(void) { return gds_algorithm_names_; }

const char *gds_algorithm_name(gds_algorithm a) {
  return (a >= 0 && a < GDS_ALG_COUNT) ? gds_algorithms_[a].name : "?";
}

int gds_algorithm_from_name(const char *name, gds_algorithm *a) {
  for (int i = 0; i < GDS_ALG_COUNT; i++)
    if (name && !strcmp(name, gds_algorithms_[i].name)) {
      *a = (gds_algorithm)i;
      return GDS_SUCCESS;
    }
  GDS_ERROR(GDS_ERR_INPUT, "unknown algorithm '%s' (valid: none, dps, pigdm, cgdm, ddrm)", name ? name : "");
}

void gds_algorithm_spec_name(const gds_algorithm_spec *a, char *buf, size_t len) {
  const gds_algorithm_info *in = gds_algorithm_get(a->kind);
  if (in && in->has_params) {
    char e[32], eb[32];
    gds_format_double(a->eta, e, sizeof e);
    gds_format_double(a->eta_b, eb, sizeof eb);
    snprintf(buf, len, "%s(eta=%s,eta_b=%s)", in->name, e, eb);
  } else snprintf(buf, len, "%s", gds_algorithm_name(a->kind));
}

int gds_algorithm_spec_same(const gds_algorithm_spec *a, const gds_algorithm_spec *b) {
  if (a->kind != b->kind) return 0;
  const gds_algorithm_info *in = gds_algorithm_get(a->kind);
  return !in || !in->has_params || (a->eta == b->eta && a->eta_b == b->eta_b);
}

int gds_algorithm_spec_check(const gds_algorithm_spec *a, double alpha_dps) {
  const gds_algorithm_info *in = gds_algorithm_get(a->kind);
  if (!in) GDS_ERROR(GDS_ERR_INPUT, "invalid algorithm index %d", (int)a->kind);
  if (in->has_params && !(a->eta >= 0 && a->eta <= 1 && a->eta_b >= 0 && a->eta_b <= 1))
    GDS_ERROR(GDS_ERR_INPUT, "%s: eta and eta_b must lie in [0, 1], got eta = %g, eta_b = %g", in->name, a->eta,
              a->eta_b);
  if (in->uses_alpha && !(alpha_dps > 0 && isfinite(alpha_dps)))
    GDS_ERROR(GDS_ERR_INPUT, "alpha_dps must be > 0 and finite, got %g", alpha_dps);
  return GDS_SUCCESS;
}

int gds_algorithm_uses_alpha(gds_algorithm a) {
  const gds_algorithm_info *in = gds_algorithm_get(a);
  return in && in->uses_alpha;
}

int gds_algorithm_uses_scheme(gds_algorithm a) {
  const gds_algorithm_info *in = gds_algorithm_get(a);
  return in && in->uses_scheme;
}

/* ---- DDRM (SPEC §7.2; docs/maths.md §2.2) ---- */

double gds_ddrm_vs(double abar) { return abar >= 1 ? 0.0 : sqrt((1 - abar) / abar); }

/* Three cases, as in the authors' efficient_generalized_steps (equality s ς = σ falls in the
 * last, "missing" case there too):
 *  s ς_s > σ:  x̄' = η_b ȳ + (1 − η_b) x̄θ + √(ς_s² − η_b² σ²/s²) z̄
 *  s ς_s < σ:  x̄' = x̄θ + √(1 − η²) ς_s s (ȳ − x̄θ)/σ + η ς_s z̄
 *  otherwise:  x̄' = x̄θ + √(1 − η²) ς_s ε̄ + η ς_s z̄ */
gds_ddrm_coef gds_ddrm_component(const gds_algorithm_spec *a, double s, double vs_next, double sigma) {
  double eta = a->eta, etab = a->eta_b, root = sqrt(fmax(0.0, 1 - eta * eta));
  if (s > 0 && s * vs_next > sigma) {
    double nu = vs_next * vs_next - etab * etab * sigma * sigma / (s * s);
    return (gds_ddrm_coef){.cx = 1 - etab, .ce = 0, .cy = etab, .nu = fmax(0.0, nu)};
  }
  if (s > 0 && s * vs_next < sigma) {
    double k = root * vs_next * s / sigma;
    return (gds_ddrm_coef){.cx = 1 - k, .ce = 0, .cy = k, .nu = eta * eta * vs_next * vs_next};
  }
  return (gds_ddrm_coef){.cx = 1, .ce = root * vs_next, .cy = 0, .nu = eta * eta * vs_next * vs_next};
}

/* x̄ = ȳ + √(ς² − σ²/s²) w̄ where s ς > σ, ς w̄ elsewhere; then divided by ς. */
gds_ddrm_coef gds_ddrm_start_component(double s, double vs, double sigma) {
  if (s > 0 && s * vs > sigma) {
    double r = sigma / (s * vs);
    return (gds_ddrm_coef){.cy = 1 / vs, .nu = fmax(0.0, 1 - r * r)};
  }
  return (gds_ddrm_coef){.nu = 1.0};
}
