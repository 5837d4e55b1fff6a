/* Guidance algorithms (SPEC §1 "Algorithms", §7.2 DDRM): the `algorithm` axis.
 *
 * Each algorithm is described once, by a row of a table (gds_algorithm_get), and every
 * consumer — the three exact-law backends and the samplers — reads that row instead of
 * switching on the algorithm (docs/maths.md §2):
 *  - family "score" (none, dps, pigdm, cgdm): p_t(v | x_t) ≈ N(A x̂0(x_t), C_t) and the guided
 *    score s̃(x, ᾱ) = s(x) + J Aᵀ C⁻¹ (v − A x̂0(x)) is plugged into a sampling scheme. The row
 *    gives C as three coefficients, C = c0 I + c1 A Aᵀ + c2 A Σ Σ_ᾱ⁻¹ Aᵀ (`on` = 0: no guidance),
 *    as a function of (ᾱ, σ², α_dps);
 *  - family "ddrm": the whole step is the SVD-coordinate update of Kawar et al. (2022); the
 *    row has no C, and gds_ddrm_component gives the per-component coefficients.
 * A new algorithm of an existing family is one enum value, one table row and its tests. */
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

typedef enum { GDS_FAMILY_SCORE = 0, GDS_FAMILY_DDRM } gds_algorithm_family;

/* C_ᾱ = c0 I_m + c1 A Aᵀ + c2 A Σ Σ_ᾱ⁻¹ Aᵀ (Σ_ᾱ = ᾱ Σ + (1 − ᾱ) I); on = 0 (none): C⁻¹ = 0.
 * `on` is 0.0 or 1.0 so that loops can multiply by it instead of branching. */
typedef struct gds_guidance {
  double c0, c1, c2, on;
} gds_guidance;

typedef struct gds_algorithm_info {
  const char *name;
  gds_algorithm_family family;
  /* Reference law of the W2 curves (SPEC §2 "Target", §7.5): the posterior path, or the
   * prior path (unconditional sampling). */
  int target_posterior;
  /* s̃ is the exact score of the reference path N(√ᾱ μ_ref, ᾱ Σ_ref + (1 − ᾱ) I) (none: the
   * prior; cgdm: its C is the exact Cov(v | x_ᾱ)). Then every step of every scheme is a
   * function of Σ_ref, and backends may run the law in an eigenbasis of Σ_ref. */
  int exact_score;
  int uses_alpha;  /* results depend on α_dps */
  int uses_scheme; /* results depend on the `scheme` axis */
  int has_params;  /* η, η_b are meaningful (canonical name with parameters) */
  /* family score: C at ᾱ for noise variance s2 = σ² (NULL for other families). */
  gds_guidance (*guidance)(double abar, double s2, double alpha_dps);
} gds_algorithm_info;

/* The table row of an algorithm; NULL for an invalid value. */
const gds_algorithm_info *gds_algorithm_get(gds_algorithm a);

const char *gds_algorithm_name(gds_algorithm a);
int gds_algorithm_from_name(const char *name, gds_algorithm *a);
/* NULL-terminated names indexed by gds_algorithm. */
const char *const *gds_algorithm_names(void);
/* Canonical name with parameters, as stored in /grid/algorithm: "dps",
 * "ddrm(eta=0.85,eta_b=1)" (numbers by gds_format_double). */
void gds_algorithm_spec_name(const gds_algorithm_spec *a, char *buf, size_t len);
int gds_algorithm_spec_same(const gds_algorithm_spec *a, const gds_algorithm_spec *b);
/* GDS_ERR_INPUT unless the spec is valid: a known kind, η and η_b in [0, 1] for ddrm, and
 * α_dps > 0 and finite when the algorithm uses it. */
int gds_algorithm_spec_check(const gds_algorithm_spec *a, double alpha_dps);
/* Whether results depend on α_dps (only dps does). */
int gds_algorithm_uses_alpha(gds_algorithm a);
/* Whether results depend on the `scheme` axis (ddrm has its own update and ignores it). */
int gds_algorithm_uses_scheme(gds_algorithm a);

/* ---- DDRM (SPEC §7.2; docs/maths.md §2.2) ---------------------------------------------
 * In the SVD A = U S Vᵀ, a DDRM step t → s updates every spectral coordinate i by
 *   x̄'_i = cx·x̄θ_i + ce·ε̄_i + cy·ȳ_i + √nu·z̄_i,    y_s = √ᾱ_s V x̄',
 * with x̄θ = Vᵀ x̂0 (unguided Tweedie at t), ε̄ = Vᵀ ε̂, ȳ_i = (Uᵀ v)_i / s_i; the coefficients
 * depend only on the singular value s of the coordinate (0 in ker A), ς_s and σ. The start
 * (init normal) is x̄_i = cy·ȳ_i + √nu·w̄_i, y = V x̄ (cx = ce = 0; the 1/ς of the authors'
 * code is folded in). Backends supply V and s: per frequency for blurs, per aliased block
 * for super-resolution, the mask for inpainting. */
typedef struct gds_ddrm_coef {
  double cx, ce, cy, nu;
} gds_ddrm_coef;

/* Singular values below this fraction of the largest count as 0 (SPEC §7.2). */
#define GDS_DDRM_SV_RTOL 1e-12

/* ς_t = √((1 − ᾱ_t)/ᾱ_t) (ς = 0 at ᾱ = 1). */
double gds_ddrm_vs(double abar);
/* Step coefficients of a coordinate with singular value s ≥ 0 (0: kernel, or below the
 * threshold), next VE level vs_next = ς_s, measurement noise σ. */
gds_ddrm_coef gds_ddrm_component(const gds_algorithm_spec *a, double s, double vs_next, double sigma);
/* Start coefficients (init normal) at VE level vs = ς_{τ_S}. */
gds_ddrm_coef gds_ddrm_start_component(double s, double vs, double sigma);

#endif
